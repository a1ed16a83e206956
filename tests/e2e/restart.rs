//! The audit log survives restarts and crashes; what was open when the daemon stopped is shown
//! as abandoned and never forwarded.

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_history_and_abandons_open_items() {
    let anvil = Anvil::start();
    let mut airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);

    // One decided item...
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "1"]).await;
    let first = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let rejected = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.reject(&rejected);
    assert_eq!(first.await.expect("join")["error"]["code"], 4001);

    // ...and one still open when the daemon stops.
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "2"]).await;
    let second = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let open = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.stop();
    let told = second.await.expect("join");
    assert_eq!(told["error"]["code"], -32080, "the waiting client is told nothing was forwarded: {told}");

    // With no daemon running, history reads the log directly.
    let history = airlock.history();
    let status = |id: &str| history.iter().find(|i| i["id"] == id).map(|i| i["status"].clone());
    assert_eq!(status(&rejected), Some(json!("rejected")));
    assert_eq!(status(&open), Some(json!("abandoned")));
    assert!(!airlock.data_dir().join("control.json").exists(), "a clean stop removes the control file");

    let airlock = airlock.restart();
    assert!(airlock.pending().is_empty(), "nothing from the last run is pending again");
    let history = airlock.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["id"], open.as_str(), "newest first");
    assert_eq!(history[0]["status"], "abandoned");
    assert_eq!(history[1]["status"], "rejected");
    assert!(!airlock.cli(&["approve", &open]).status.success(), "an abandoned item cannot be approved");
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x0");
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_leaves_open_items_abandoned_on_next_start() {
    let anvil = Anvil::start();
    let mut airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "3"]).await;
    let rpc = Rpc::new(&airlock.rpc);
    let held = tokio::spawn(async move {
        rpc.post_raw(json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[raw]}).to_string()).await
    });
    let id = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.crash();
    assert!(held.await.expect("join").is_err(), "the connection died with the daemon");

    let airlock = airlock.restart();
    assert!(airlock.pending().is_empty());
    let item = &airlock.history()[0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["status"], "abandoned");
    assert!(item["error"]["message"].as_str().is_some_and(|m| m.contains("nothing was forwarded")));
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x0");
}

/// An HTTP relay to `upstream` that holds back (never forwards, never answers) any request
/// sending a transaction, and says when it has one: a node that took a send and went silent.
async fn swallowing_relay(upstream: String) -> (String, std::sync::Arc<tokio::sync::Notify>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let swallowed = std::sync::Arc::new(tokio::sync::Notify::new());
    let seen = swallowed.clone();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let (upstream, seen) = (upstream.clone(), seen.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut buf = Vec::new();
                loop {
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                        let mut chunk = [0u8; 65536];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:").and_then(|v| v.trim().parse().ok()))
                        .unwrap_or(0);
                    if buf.len() < end + 4 + len {
                        let mut chunk = [0u8; 65536];
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                        continue;
                    }
                    let body = buf[end + 4..end + 4 + len].to_vec();
                    buf.drain(..end + 4 + len);
                    if String::from_utf8_lossy(&body).contains("eth_send") {
                        seen.notify_one();
                        // Hold the connection open, silent, until the client goes away.
                        let mut sink = [0u8; 1024];
                        while matches!(conn.read(&mut sink).await, Ok(n) if n > 0) {}
                        return;
                    }
                    let answer = http
                        .post(&upstream)
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .expect("upstream")
                        .bytes()
                        .await
                        .expect("body");
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        answer.len()
                    );
                    if conn.write_all(head.as_bytes()).await.is_err() || conn.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (url, swallowed)
}

/// kill -9 while one approved item is being forwarded and another waits: after the restart the
/// first says it may or may not have reached the upstream, the second that nothing was
/// forwarded, and neither is ever forwarded (again).
#[tokio::test(flavor = "multi_thread")]
async fn a_crash_while_forwarding_leaves_every_status_truthful() {
    let anvil = Anvil::start();
    let (relay, swallowed) = swallowing_relay(anvil.url()).await;
    let mut airlock = Airlock::start(&relay, &["--upstream-timeout", "20"]);
    let rpc = Rpc::new(&airlock.rpc);
    let send = |value: &str| {
        let (rpc, value) = (rpc.clone(), value.to_owned());
        tokio::spawn(async move {
            rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": value }])).await
        })
    };
    let _first = send("0x1");
    let forwarding = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    let _second = send("0x2");
    let waiting = airlock
        .wait_pending(2)
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .find(|id| *id != forwarding)
        .expect("second");

    // Approve the first through the control API; its forward reaches the silent node.
    let (status, _) = tokio::join!(
        async {
            tokio::time::timeout(
                std::time::Duration::from_millis(500),
                airlock.post(&format!("/api/pending/{forwarding}/approve"), &json!({})),
            )
            .await
        },
        async {
            tokio::time::timeout(std::time::Duration::from_secs(20), swallowed.notified())
                .await
                .expect("the send reached the node")
        },
    );
    assert!(status.is_err(), "the approval waits on the silent node");
    airlock.crash();

    let airlock = airlock.restart_with(&["--upstream-timeout", "20"]);
    let history = airlock.history();
    let item = |id: &str| history.iter().find(|i| i["id"] == id).cloned().expect("logged");
    let (a, b) = (item(&forwarding), item(&waiting));
    assert_eq!((&a["status"], &a["error"]["code"]), (&json!("abandoned"), &json!(-32081)), "{a}");
    assert!(a["error"]["message"].as_str().is_some_and(|m| m.contains("may or may not have reached")), "{a}");
    assert_eq!((&b["status"], &b["error"]["code"]), (&json!("abandoned"), &json!(-32080)), "{b}");
    assert!(airlock.pending().is_empty(), "nothing is open after the restart");
    // The relay swallowed the one send; nothing reached the chain, before or after the restart.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await, "0x0");
}
