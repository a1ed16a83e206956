//! The abuse suite, in bounded counts: oversized bodies, huge and long batches, deep nesting,
//! invalid ids, several Host headers, absolute targets, odd method names. Each gets its JSON-RPC
//! error naming what was wrong (the limit by its setting's name); after each, the daemon answers
//! a read within 1 s, its resident memory stays under 256 MB, and it never holds more
//! connections to the upstream than its pool allows.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::*;

/// The bound on the daemon's resident memory through the suite.
const RSS_BOUND_KIB: u64 = 256 * 1024;

fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// TCP connections the process holds to `port` (its socket inodes matched in /proc/net/tcp).
fn connections_to(pid: u32, port: u16) -> usize {
    let inodes: std::collections::HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| l.to_str()?.strip_prefix("socket:[")?.strip_suffix(']').map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    tcp.lines()
        .skip(1)
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let remote_port =
                f.get(2).and_then(|a| a.rsplit_once(':')).and_then(|(_, p)| u16::from_str_radix(p, 16).ok());
            // 01: established.
            remote_port == Some(port) && f.get(3) == Some(&"01") && f.get(9).is_some_and(|i| inodes.contains(*i))
        })
        .count()
}

/// After each attack: a read answers within 1 s and memory stays bounded.
async fn still_fine(airlock: &Airlock, rpc: &Rpc, what: &str) {
    let started = Instant::now();
    let answer = tokio::time::timeout(Duration::from_secs(1), rpc.call("eth_chainId", json!([]))).await;
    let answer = answer.unwrap_or_else(|_| panic!("after {what}: no answer to a read within 1 s"));
    assert_eq!(answer["result"], "0x7a69", "after {what}: {answer}");
    let rss = status_kib(airlock.pid(), "VmRSS:");
    assert!(rss < RSS_BOUND_KIB, "after {what}: RSS {rss} KiB");
    eprintln!("abuse: {what}: read answered in {:?}, RSS {} MB", started.elapsed(), rss / 1024);
}

fn error_of(resp: &Value) -> (i64, String) {
    let e = &resp["error"];
    (e["code"].as_i64().unwrap_or(0), e["message"].as_str().unwrap_or_default().to_owned())
}

/// Sends raw bytes as one HTTP request and returns the status line and the body.
fn raw_http(addr: &str, request: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    s.write_all(request.as_bytes()).expect("write");
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.lines().next().unwrap_or_default().to_owned(), body.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn abuse_gets_named_errors_and_the_daemon_stays_up_and_small() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &["--upstream-connections", "8"]);
    let rpc = Rpc::with_timeout(&airlock.rpc, Duration::from_secs(60));
    still_fine(&airlock, &rpc, "start").await;
    let chain_id = json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_chainId" }).to_string();

    // Oversized bodies, twenty at once: refused by their stated length, never read whole.
    let big = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":["{}"]}}"#, "a".repeat(9 << 20));
    let sends: Vec<_> = (0..20)
        .map(|_| {
            let (rpc, big) = (Rpc::with_timeout(&airlock.rpc, Duration::from_secs(60)), big.clone());
            tokio::spawn(async move { rpc.post_raw(big).await })
        })
        .collect();
    for a in sends {
        let (_, resp) = a.await.expect("join").expect("an answer");
        let (code, message) = error_of(&resp);
        assert_eq!(code, -32084, "{resp}");
        assert!(message.contains("max_body_bytes"), "{message}");
        assert_eq!(resp["error"]["data"]["limit"], "max_body_bytes");
    }
    still_fine(&airlock, &rpc, "20 bodies of 9 MB").await;

    // The 12.6 MB batch of 174,762 eth_chainId calls from the probe: over the body limit.
    let huge = format!("[{}]", vec![chain_id.as_str(); 174_762].join(","));
    let (_, resp) = rpc.post_raw(huge).await.expect("answer");
    assert_eq!(error_of(&resp).0, -32084, "{resp}");
    still_fine(&airlock, &rpc, "a batch of 174,762 calls").await;

    // One call over the batch limit.
    let long = format!("[{}]", vec![chain_id.as_str(); 1001].join(","));
    let (_, resp) = rpc.post_raw(long).await.expect("answer");
    let (code, message) = error_of(&resp);
    assert!(code == -32084 && message.contains("max_batch_len = 1000"), "{resp}");
    still_fine(&airlock, &rpc, "a batch of 1,001 calls").await;

    // A full batch of reads: answered entry by entry, over at most the pool's connections.
    let reads: Vec<Value> = (0..1000)
        .map(|i| json!({ "jsonrpc": "2.0", "id": i, "method": "eth_getBalance", "params": [ADDR0, "latest"] }))
        .collect();
    let (_, resp) = rpc.post_raw(Value::from(reads).to_string()).await.expect("answer");
    assert_eq!(resp.as_array().map(Vec::len), Some(1000), "every read answered");
    assert!(resp.as_array().expect("array").iter().all(|r| r["result"].is_string()));
    // At least one (kept alive, so the count is seen to work), at most the pool's 8.
    let held = connections_to(airlock.pid(), anvil.port);
    assert!((1..=8).contains(&held), "{held} upstream connections; the pool allows 8");
    still_fine(&airlock, &rpc, "a batch of 1,000 reads").await;

    // A batch of refused sends beside reads: each refused alone, reads forwarded together.
    let mixed: Vec<Value> = (0..1000)
        .map(|i| match i % 2 {
            0 => json!({ "jsonrpc": "2.0", "id": i, "method": "eth_sendBundle", "params": [{ "txs": [] }] }),
            _ => json!({ "jsonrpc": "2.0", "id": i, "method": "eth_blockNumber" }),
        })
        .collect();
    let (_, resp) = rpc.post_raw(Value::from(mixed).to_string()).await.expect("answer");
    let list = resp.as_array().expect("array");
    assert_eq!(list.len(), 1000);
    for (i, r) in list.iter().enumerate() {
        assert_eq!(r["id"], i, "answers in order");
        if i % 2 == 0 {
            assert_eq!(r["error"]["code"], 4200, "{r}");
        } else {
            assert!(r["result"].is_string(), "{r}");
        }
    }
    assert!(connections_to(airlock.pid(), anvil.port) <= 8);
    still_fine(&airlock, &rpc, "a batch of 500 refused sends and 500 reads").await;

    // Deep nesting: named, not a stack overflow or a parse error.
    for depth in [65usize, 100_000] {
        let deep = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_call","params":{}{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let (_, resp) = rpc.post_raw(deep).await.expect("answer");
        let (code, message) = error_of(&resp);
        assert!(code == -32084 && message.contains("max_json_depth = 64"), "{depth}: {resp}");
    }
    still_fine(&airlock, &rpc, "nesting 100,000 deep").await;

    // Invalid ids: -32600 with a null id, alone and inside a batch beside a valid call.
    for id in ["-1", "{}", "[]", "1.5", "18446744073709551616", "true"] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_chainId"}}"#);
        let (_, resp) = rpc.post_raw(body.clone()).await.expect("answer");
        assert_eq!((error_of(&resp).0, resp["id"].is_null()), (-32600, true), "id {id}: {resp}");
        let (_, resp) = rpc.post_raw(format!("[{body},{chain_id}]")).await.expect("answer");
        assert_eq!(resp[0]["error"]["code"], -32600, "id {id} in a batch: {resp}");
        assert_eq!(resp[1]["result"], "0x7a69", "the valid call beside it: {resp}");
    }
    still_fine(&airlock, &rpc, "invalid ids").await;

    // Host headers: several (the first our own), none, a foreign one; an absolute target.
    let addr = airlock.rpc.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let post = |head: &str| {
        format!(
            "POST {head}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{chain_id}",
            chain_id.len()
        )
    };
    let many_hosts = (0..50).map(|i| format!("host: h{i}.example\r\n")).collect::<String>();
    for (what, head, status) in [
        ("two Host headers", format!("/ HTTP/1.1\r\nhost: {addr}\r\nhost: evil.example"), "400"),
        ("fifty Host headers", format!("/ HTTP/1.1\r\nhost: {addr}\r\n{}", many_hosts.trim_end()), "400"),
        ("an absolute target", format!("http://evil.example/ HTTP/1.1\r\nhost: {addr}"), "400"),
        ("a foreign Host", "/ HTTP/1.1\r\nhost: evil.example".to_owned(), "403"),
    ] {
        let (line, body) = raw_http(&addr, &post(&head));
        assert!(line.contains(status), "{what}: {line}");
        let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
        assert!(v["jsonrpc"] == "2.0" && v["id"].is_null() && v["error"]["code"].is_i64(), "{what}: {v}");
    }
    // Past a hundred headers the HTTP server itself refuses (431), before any of Airlock's code.
    let flood = (0..150).map(|i| format!("host: h{i}.example\r\n")).collect::<String>();
    let (line, _) = raw_http(&addr, &post(&format!("/ HTTP/1.1\r\nhost: {addr}\r\n{}", flood.trim_end())));
    assert!(line.contains("431"), "150 headers: {line}");
    still_fine(&airlock, &rpc, "Host headers").await;

    // Send methods in other spellings: refused, never forwarded.
    let raw_tx = "0x02f870827a69800184773594018252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c001a0a243aa6e2c9c556166678a51151b1b1337f21443dc655f146d58187c2fdbd80ea03df633138a48495a65e6230e1029da2340be19fb5e8f7f5031601e4ea8e6778c";
    for method in [
        "eth.sendRawTransaction",
        "eth-sendRawTransaction",
        "ethsendRawTransaction",
        "eth__sendRawTransaction",
        "eth_eth_sendRawTransaction",
        "eth_send\u{200b}RawTransaction",
        "eth_s\u{435}ndRawTransaction",
        "ｅｔｈ＿ｓｅｎｄＲａｗＴｒａｎｓａｃｔｉｏｎ",
        "eth_callBundle",
    ] {
        let resp = rpc.call(method, json!([raw_tx])).await;
        assert_eq!(error_of(&resp).0, 4200, "{method:?}: {resp}");
    }
    let direct = Rpc::new(&anvil.url());
    assert_eq!(
        direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await,
        "0x0",
        "nothing reached the chain"
    );
    assert!(airlock.pending().is_empty());
    still_fine(&airlock, &rpc, "odd method names").await;

    // Held requests over their limits: refused before they are held, the limit named.
    let message = format!("0x{}", "61".repeat(300 << 10));
    let mut nested = json!("x");
    for _ in 0..40 {
        nested = json!({ "a": nested });
    }
    let typed = json!({
        "types": { "EIP712Domain": [], "T": [{ "name": "a", "type": "string" }] },
        "primaryType": "T", "domain": {}, "message": nested,
    });
    for (method, params, limit) in [
        ("personal_sign", json!([message, ADDR0]), "max_sign_bytes"),
        ("eth_signTypedData_v4", json!([ADDR0, typed]), "max_typed_data_depth"),
        ("eth_sendRawTransaction", json!([format!("0x{}", "00".repeat(600 << 10))]), "max_held_bytes"),
    ] {
        let resp = rpc.call(method, params).await;
        assert_eq!((error_of(&resp).0, &resp["error"]["data"]["limit"]), (-32084, &json!(limit)), "{method}: {resp}");
    }
    assert!(airlock.pending().is_empty(), "nothing over a limit was held");
    still_fine(&airlock, &rpc, "held requests over their limits").await;

    // The history is paged: a page over the limit is refused with the limit named.
    let cf: Value = serde_json::from_slice(&std::fs::read(airlock.data_dir().join("control.json")).expect("control"))
        .expect("json");
    let url = format!("{}/api/history?limit=501", cf["control_url"].as_str().expect("url"));
    let resp =
        reqwest::Client::new().get(url).bearer_auth(cf["token"].as_str().expect("token")).send().await.expect("answer");
    assert_eq!(resp.status(), 400);
    assert!(resp.text().await.unwrap_or_default().contains("max_history_page = 500"));

    let peak = status_kib(airlock.pid(), "VmHWM:");
    eprintln!("abuse: peak RSS {} MB", peak / 1024);
    assert!(peak < RSS_BOUND_KIB, "peak RSS {peak} KiB");
}

/// Whether `v` is a JSON-RPC 2.0 answer: an id and exactly one of result and error (an error
/// with a numeric code and a message).
fn is_answer(v: &Value) -> bool {
    let Some(o) = v.as_object() else { return false };
    let error_ok = |e: &Value| e["code"].is_i64() && e["message"].is_string();
    o.get("jsonrpc") == Some(&json!("2.0"))
        && o.contains_key("id")
        && match (o.get("result"), o.get("error")) {
            (Some(_), None) => true,
            (None, Some(e)) => error_ok(e),
            _ => false,
        }
}

/// The routing middleware end to end, fuzzed: mutations of the checked-in request corpus
/// (`tests/fuzz/corpus/rpc_body`) sent to the daemon. Every body gets an HTTP answer whose body
/// is JSON-RPC (one answer, a list of answers, or nothing for notifications only); held ones
/// expire undecided; nothing reaches the chain; the daemon keeps answering and stays small.
/// `AIRLOCK_FUZZ_BODIES` sets the count (default 400).
#[tokio::test(flavor = "multi_thread")]
async fn mutated_request_bodies_each_get_a_json_rpc_answer_and_nothing_is_forwarded() {
    use airlock_fuzz::mutate::{Rng, corpus, mutate};
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &["--reply", "at-once", "--decision-timeout", "1"]);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let seeds = corpus("rpc_body");
    let count: usize = std::env::var("AIRLOCK_FUZZ_BODIES").ok().and_then(|s| s.parse().ok()).unwrap_or(400);
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1;
    let mut rng = Rng(seed);
    let bodies: Vec<Vec<u8>> = (0..count).map(|_| mutate(&mut rng, &seeds)).collect();
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in bodies.chunks(count.div_ceil(8).max(1)) {
        let (http, url, chunk) = (http.clone(), airlock.rpc.clone(), chunk.to_vec());
        tasks.spawn(async move {
            for body in chunk {
                let sent = http.post(&url).header("content-type", "application/json").body(body.clone()).send();
                let resp = sent
                    .await
                    .unwrap_or_else(|e| panic!("no HTTP answer ({e}) to {:?}", String::from_utf8_lossy(&body)));
                let status = resp.status().as_u16();
                let bytes = resp.bytes().await.expect("the whole answer");
                let answer: Value = serde_json::from_slice(&bytes).unwrap_or(json!("not JSON"));
                let shaped = match &answer {
                    _ if bytes.is_empty() => true, // notifications only: nothing to answer
                    Value::Array(list) => !list.is_empty() && list.iter().all(is_answer),
                    one => is_answer(one),
                };
                assert!(
                    shaped && (status == 200 || status == 415),
                    "HTTP {status}, not JSON-RPC: {answer} to {:?} (seed {seed})",
                    String::from_utf8_lossy(&body)
                );
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("every body answered as JSON-RPC");
    }
    still_fine(&airlock, &Rpc::new(&airlock.rpc), &format!("{count} mutated bodies")).await;
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await, "0x0", "nothing sent");
    assert!(airlock.history().iter().all(|i| i["status"] != "forwarded"), "nothing forwarded");
}

/// The WebSocket side answers bad input as the HTTP side does: an invalid id is -32600, a body
/// nested too deep or not JSON is refused, a send in another spelling is 4200, and none of it
/// reaches the upstream.
#[tokio::test(flavor = "multi_thread")]
async fn the_websocket_side_refuses_bad_ids_depth_and_odd_names() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.ws_url(), &[]);
    let raw = transfer_raw(&anvil).await;
    let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
    let cases: Vec<(String, &str)> = vec![
        (r#"{"jsonrpc":"2.0","id":-1,"method":"eth_chainId","params":[]}"#.into(), "-32600"),
        (r#"{"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId","params":[]}"#.into(), "-32600"),
        (r#"{"jsonrpc":"2.0","id":1.5,"method":"eth_chainId","params":[]}"#.into(), "-32600"),
        (format!(r#"{{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{deep}}}"#), "refused"),
        ("not json".into(), "-32700"),
        (format!(r#"{{"jsonrpc":"2.0","id":2,"method":"eth.sendRawTransaction","params":["{raw}"]}}"#), "4200"),
        (format!(r#"{{"jsonrpc":"2.0","id":3,"method":"eth_callBundle","params":[{{"txs":["{raw}"]}}]}}"#), "4200"),
        (format!(r#"{{"jsonrpc":"2.0","id":4,"method":"ｅｔｈ_sendRawTransaction","params":["{raw}"]}}"#), "4200"),
        (
            r#"[{"jsonrpc":"2.0","id":-1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}]"#
                .into(),
            "batch",
        ),
        (r#"{"jsonrpc":"2.0","id":5,"method":"eth_chainId","params":[]}"#.into(), "0x7a69"),
    ];
    let frames: Vec<&str> = cases.iter().map(|(f, _)| f.as_str()).collect();
    let out = output(node("ws_raw.mjs", &[&airlock.ws, &serde_json::to_string(&frames).expect("json")])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let replies: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(replies.len(), cases.len(), "{}", stdout(&out));
    for ((frame, want), got) in cases.iter().zip(&replies) {
        let reply: Value = got["reply"].as_str().and_then(|r| serde_json::from_str(r).ok()).unwrap_or(Value::Null);
        let code = reply["error"]["code"].as_i64();
        let ok = match *want {
            "refused" => code.is_some_and(|c| c == -32700 || c == -32600 || c == -32084),
            "0x7a69" => reply["result"] == "0x7a69",
            "batch" => {
                let codes: Vec<Value> = reply
                    .as_array()
                    .map(|l| l.iter().map(|a| a["error"]["code"].clone()).collect())
                    .unwrap_or_default();
                codes.len() == 2 && codes.contains(&json!(-32600)) && reply.to_string().contains("0x7a69")
            }
            w => code == w.parse::<i64>().ok(),
        };
        assert!(ok, "{} answered {reply}, expected {want}", &frame[..frame.len().min(120)]);
    }
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await, "0x0", "nothing sent");
}

/// A signed transfer from account 0, made (not sent) by cast against `anvil`.
async fn transfer_raw(anvil: &Anvil) -> String {
    mktx(&anvil.url(), &[ADDR1, "--value", "1"]).await
}
