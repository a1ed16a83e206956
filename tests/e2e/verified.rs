//! `run --verify checkpoint`: reads answered from proofs against headers that hash-link back
//! to a pinned block; an upstream that lies about a proof, a header or code is caught.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::harness::*;

/// What the tampering upstream alters.
const HONEST: u8 = 0;
pub(crate) const PROOF_BALANCE: u8 = 1;
const HEADER_STATE_ROOT: u8 = 2;
const CODE: u8 = 3;
const STORAGE_VALUE: u8 = 4;

/// An HTTP JSON-RPC proxy in front of anvil that alters answers as `mode` says.
pub(crate) async fn tampering_upstream(anvil: String, mode: Arc<AtomicU8>) -> String {
    proxy_upstream(anvil, move |req: &Value, answer: &mut Value| {
        let method = req["method"].as_str().unwrap_or_default();
        match (mode.load(Ordering::SeqCst), method) {
            (PROOF_BALANCE, "eth_getProof") => answer["result"]["balance"] = json!("0x21e19e0c9bab2400001"),
            (HEADER_STATE_ROOT, "eth_getBlockByNumber") => {
                answer["result"]["stateRoot"] = json!(format!("0x{}", "11".repeat(32)))
            }
            (CODE, "eth_getCode") => answer["result"] = json!("0x6001"),
            (STORAGE_VALUE, "eth_getProof") => answer["result"]["storageProof"][0]["value"] = json!("0x1"),
            _ => {}
        }
    })
    .await
}

/// An HTTP JSON-RPC proxy in front of anvil: `hook` sees each request and may change the
/// answer before it goes back.
pub(crate) async fn proxy_upstream(anvil: String, hook: impl Fn(&Value, &mut Value) + Send + Sync + 'static) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let http = reqwest::Client::new();
    let hook = Arc::new(hook);
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { return };
            let (http, anvil, hook) = (http.clone(), anvil.clone(), hook.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let body = loop {
                    let Ok(n) = conn.read(&mut chunk).await else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
                    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break buf[end + 4..end + 4 + len].to_vec();
                    }
                };
                let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let resp = http.post(&anvil).header("content-type", "application/json").body(body).send().await;
                let Ok(resp) = resp else { return };
                let mut answer: Value = resp.json().await.unwrap_or(Value::Null);
                hook(&req, &mut answer);
                let out = answer.to_string();
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    out.len()
                );
                let _ = conn.write_all(head.as_bytes()).await;
                let _ = conn.write_all(out.as_bytes()).await;
            });
        }
    });
    url
}

/// anvil with a token deployed (code and storage to read) and block 0's hash to pin.
async fn chain() -> (Anvil, String, Value) {
    let anvil = Anvil::start();
    let direct = Rpc::new(&anvil.url());
    let genesis =
        direct.result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].as_str().expect("hash").to_owned();
    // The tiny logger contract of the subscription tests: code, and a nonce on the deployer.
    let deploy = direct
        .result("eth_sendTransaction", json!([{ "from": ADDR0, "data": "0x6006600c60003960066000f360006000a000" }]))
        .await;
    let contract = receipt(&direct, &deploy).await["contractAddress"].clone();
    (anvil, genesis, contract)
}

#[tokio::test(flavor = "multi_thread")]
async fn verified_reads_answer_as_the_node_and_follow_the_head() {
    let (anvil, genesis, contract) = chain().await;
    let airlock = Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", &genesis]);
    let (direct, through) = (Rpc::new(&anvil.url()), Rpc::new(&airlock.rpc));
    let reads = [
        ("eth_blockNumber", json!([])),
        ("eth_getBalance", json!([ADDR0, "latest"])),
        ("eth_getBalance", json!([ADDR2, "latest"])),
        ("eth_getBalance", json!([ADDR2])),
        ("eth_getTransactionCount", json!([ADDR0, "latest"])),
        ("eth_getCode", json!([contract, "latest"])),
        ("eth_getCode", json!([ADDR1, "latest"])),
        ("eth_getStorageAt", json!([contract, "0x0", "latest"])),
        ("eth_getBalance", json!(["0x000000000000000000000000000000000000dEaD", "latest"])),
        ("eth_getTransactionCount", json!([ADDR0, "pending"])),
        ("eth_getBalance", json!([ADDR0, "0x1"])),
        ("eth_getBalance", json!([ADDR0, "0x0"])),
        ("eth_getBalance", json!([ADDR0, "finalized"])),
        ("eth_getBalance", json!([ADDR0, "safe"])),
        ("eth_getStorageAt", json!([contract, "0", "latest"])),
        ("eth_getStorageAt", json!([contract, "0x00", "0x1"])),
    ];
    for (method, params) in &reads {
        assert_eq!(
            through.call(method, params.clone()).await,
            direct.call(method, params.clone()).await,
            "{method} {params}"
        );
    }
    // A new block: the verified head follows, linked by parent hash.
    direct.result("eth_sendTransaction", json!([{ "from": ADDR1, "to": ADDR2, "value": "0x5" }])).await;
    direct.result("evm_mine", json!([])).await;
    assert_eq!(through.result("eth_blockNumber", json!([])).await, direct.result("eth_blockNumber", json!([])).await);
    let balance = json!([ADDR2, "latest"]);
    assert_eq!(through.result("eth_getBalance", balance.clone()).await, direct.result("eth_getBalance", balance).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lying_upstream_is_caught() {
    let (anvil, genesis, contract) = chain().await;
    let mode = Arc::new(AtomicU8::new(HONEST));
    let upstream = tampering_upstream(anvil.url(), mode.clone()).await;
    let airlock = Airlock::start(&upstream, &["--verify", "checkpoint", "--checkpoint", &genesis]);
    let through = Rpc::new(&airlock.rpc);
    assert!(through.call("eth_getBalance", json!([ADDR0, "latest"])).await.get("result").is_some(), "honest: answered");

    let cases = [
        (PROOF_BALANCE, "eth_getBalance", json!([ADDR0, "latest"]), "state root"),
        (HEADER_STATE_ROOT, "eth_getBalance", json!([ADDR0, "latest"]), "hashes to"),
        (CODE, "eth_getCode", json!([contract, "latest"]), "code hashes to"),
        (STORAGE_VALUE, "eth_getStorageAt", json!([contract, "0x0", "latest"]), "storage root"),
        // "pending" and the head's own number are answered from proofs too, not passed through.
        (PROOF_BALANCE, "eth_getTransactionCount", json!([ADDR0, "pending"]), "state root"),
        (PROOF_BALANCE, "eth_getBalance", json!([ADDR0, "0x1"]), "state root"),
    ];
    for (tamper, method, params, words) in cases {
        mode.store(tamper, Ordering::SeqCst);
        let resp = through.call(method, params).await;
        assert_eq!(resp["error"]["code"], -32090, "tamper {tamper}: {resp}");
        let msg = resp["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.contains("verification failed") && msg.contains(words), "tamper {tamper}: {msg}");
    }
    // "finalized" is another block than the head: passed through to the node, as documented
    // (the tampering here alters proofs only, so the node's own answer comes back).
    mode.store(PROOF_BALANCE, Ordering::SeqCst);
    let direct = Rpc::new(&anvil.url());
    let finalized = json!([ADDR0, "finalized"]);
    assert_eq!(through.call("eth_getBalance", finalized.clone()).await, direct.call("eth_getBalance", finalized).await);
    mode.store(HONEST, Ordering::SeqCst);
    assert!(through.call("eth_getBalance", json!([ADDR0, "latest"])).await.get("result").is_some(), "honest again");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chain_that_does_not_link_to_the_pinned_block_is_refused() {
    let (anvil, _, _) = chain().await;
    let stranger = format!("0x{}", "ab".repeat(32));
    let airlock = Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", &stranger]);
    let resp = Rpc::new(&airlock.rpc).call("eth_getBalance", json!([ADDR0, "latest"])).await;
    assert_eq!(resp["error"]["code"], -32090, "{resp}");
    // Reads that are not verified pass through; sends are still held.
    assert_eq!(Rpc::new(&airlock.rpc).result("eth_chainId", json!([])).await, "0x7a69");
    let off =
        Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", &stranger, "--verified-reads", "off"]);
    assert!(Rpc::new(&off.rpc).call("eth_getBalance", json!([ADDR0, "latest"])).await.get("result").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn held_items_carry_their_verification_and_failure_is_shown_not_hidden() {
    let (anvil, genesis, _) = chain().await;
    let mode = Arc::new(AtomicU8::new(HONEST));
    let upstream = tampering_upstream(anvil.url(), mode.clone()).await;
    let airlock = Airlock::start(&upstream, &["--verify", "checkpoint", "--checkpoint", &genesis]);
    let rpc = Rpc::new(&airlock.rpc);
    let send = |value: &str| {
        let (rpc, value) = (rpc.clone(), value.to_owned());
        tokio::spawn(async move {
            rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": value }])).await
        })
    };

    // Review finding: a hash commits to its parent, not its children. A head newer than the pin
    // only links back to it: the item says so, unverified, with the block it refers to.
    let first = send("0x1");
    let item = airlock.wait_pending(1)[0].clone();
    let head = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(item["verification"]["mode"], "checkpoint");
    assert_eq!(item["verification"]["status"], "unverified", "{item}");
    assert!(item["verification"]["note"].as_str().is_some_and(|n| n.contains("links back to the pinned block")));
    assert_eq!(item["verification"]["block_hash"], head["hash"]);
    assert!(stdout(&airlock.cli(&["pending"])).contains("UNVERIFIED (checkpoint)"));
    airlock.approve(item["id"].as_str().expect("id"));
    assert!(first.await.expect("join").get("result").is_some());

    // Pinned at the current head itself: that block is verified.
    let head = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["latest", false])).await;
    let pinned_head = head["hash"].as_str().expect("hash").to_owned();
    let at_pin = Airlock::start(&upstream, &["--verify", "checkpoint", "--checkpoint", &pinned_head]);
    let pin_rpc = Rpc::new(&at_pin.rpc);
    let pinned_send = tokio::spawn(async move {
        pin_rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x9" }])).await
    });
    let item = at_pin.wait_pending(1)[0].clone();
    assert_eq!(item["verification"]["status"], "verified", "{item}");
    assert_eq!(item["verification"]["block_hash"], head["hash"]);
    at_pin.reject(item["id"].as_str().expect("id"));
    pinned_send.await.expect("join");

    // The upstream lies about the head: the item is held all the same, marked failed.
    mode.store(HEADER_STATE_ROOT, Ordering::SeqCst);
    let second = send("0x2");
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["verification"]["status"], "failed", "{item}");
    assert!(item["verification"]["error"].as_str().is_some_and(|e| e.contains("hashes to")), "{item}");
    let human = stdout(&airlock.cli(&["pending"]));
    assert!(human.contains("FAILED"), "{human}");
    // Nothing goes out until the person decides; here they refuse.
    airlock.reject(item["id"].as_str().expect("id"));
    assert_eq!(second.await.expect("join")["error"]["code"], 4001);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_devnet_that_reorganises_after_the_pin_is_followed() {
    let (anvil, genesis, _) = chain().await;
    let airlock = Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", &genesis]);
    let (direct, through) = (Rpc::new(&anvil.url()), Rpc::new(&airlock.rpc));
    let snapshot = direct.result("evm_snapshot", json!([])).await;
    for _ in 0..3 {
        direct.result("evm_mine", json!([])).await;
    }
    assert_eq!(through.result("eth_blockNumber", json!([])).await, direct.result("eth_blockNumber", json!([])).await);
    // Back to the snapshot, and a different chain of the same and greater height on top of it.
    assert_eq!(direct.result("evm_revert", json!([snapshot])).await, true);
    direct.result("eth_sendTransaction", json!([{ "from": ADDR1, "to": ADDR2, "value": "0x7" }])).await;
    for _ in 0..3 {
        direct.result("evm_mine", json!([])).await;
    }
    let head = direct.result("eth_getBlockByNumber", json!(["latest", false])).await;
    assert_eq!(through.result("eth_blockNumber", json!([])).await, head["number"], "{}", airlock.log());
    let balance = json!([ADDR2, "latest"]);
    assert_eq!(through.result("eth_getBalance", balance.clone()).await, direct.result("eth_getBalance", balance).await);
}
