//! The pool against a real TCP server that counts its connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use airlock_wire::Pool;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// A keep-alive HTTP/1.1 server that answers every POST with its body after `delay`; returns
/// its URL, the connections it accepted, and the most open at once.
async fn echo_server(delay: Duration) -> (String, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let (accepted, peak, open) =
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (a, p) = (accepted.clone(), peak.clone());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            a.fetch_add(1, Ordering::SeqCst);
            let now = open.fetch_add(1, Ordering::SeqCst) + 1;
            p.fetch_max(now, Ordering::SeqCst);
            let open = open.clone();
            tokio::spawn(async move {
                let mut r = BufReader::new(sock);
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                            open.fetch_sub(1, Ordering::SeqCst);
                            return;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; len];
                    let _ = r.read_exact(&mut body).await;
                    tokio::time::sleep(delay).await;
                    let head =
                        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len}\r\n\r\n");
                    let _ = r.get_mut().write_all(head.as_bytes()).await;
                    let _ = r.get_mut().write_all(&body).await;
                }
            });
        }
    });
    (url, accepted, peak)
}

/// 200 concurrent requests through a pool of 4: never more than 4 connections, all answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_more_connections_than_the_pool_allows() {
    let (url, accepted, peak) = echo_server(Duration::from_millis(2)).await;
    let pool = Pool::new(&url, 4, Duration::from_secs(2)).expect("pool");
    let calls = (0..200).map(|i| {
        let pool = pool.clone();
        tokio::spawn(async move {
            let body = format!("{{\"n\":{i}}}");
            let (status, got) = pool.post_collect(body.clone().into(), 1024).await.expect("answer");
            assert_eq!((status.as_u16(), &got[..]), (200, body.as_bytes()));
        })
    });
    for c in calls.collect::<Vec<_>>() {
        c.await.expect("task");
    }
    assert!(accepted.load(Ordering::SeqCst) <= 4, "opened {}", accepted.load(Ordering::SeqCst));
    assert!(peak.load(Ordering::SeqCst) <= 4);
    assert_eq!(pool.connections_opened() as usize, accepted.load(Ordering::SeqCst));
}

/// Answers larger than asked for are refused, and the pool keeps working after.
#[tokio::test]
async fn large_answers_are_refused() {
    let (url, _, _) = echo_server(Duration::ZERO).await;
    let pool = Pool::new(&url, 1, Duration::from_secs(2)).expect("pool");
    let err = pool.post_collect(vec![b'x'; 100].into(), 10).await.expect_err("too large");
    assert!(matches!(err, airlock_wire::PoolError::TooLarge(10)), "{err}");
    assert!(pool.post_collect("{}".into(), 10).await.is_ok());
}

/// Nothing listening: a connect error, quickly.
#[tokio::test]
async fn a_closed_port_is_a_connect_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let pool = Pool::new(&format!("http://127.0.0.1:{port}/"), 2, Duration::from_secs(2)).expect("pool");
    let err = pool.post_collect("{}".into(), 10).await.expect_err("refused");
    assert!(matches!(err, airlock_wire::PoolError::Connect(_)), "{err}");
}
