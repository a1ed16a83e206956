//! Real clients at their library defaults (issue 14): viem, ethers v6, web3.py and cast, with
//! no timeout or retry setting changed, send signed transactions through Airlock (`--reply
//! at-once`, the default). Each send is decided from the control API 15 s after it is held,
//! longer than every default timeout here. Approved: the client's own wait reports the mined
//! receipt. Rejected: the client's own wait fails with 4001 and the item id. The same client's
//! next send then goes through with the nonce the rejected one had.
//!
//! anvil mines a block every second here, as a chain does: clients look for receipts when a
//! block arrives, and a devnet that never mines would leave them looking at nothing.

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{ChildStdout, Command};

use crate::harness::*;

/// Longer than every default timeout in the matrix (viem's transport: 10 s).
const DECIDE_AFTER: Duration = Duration::from_secs(15);

/// What is done with each send, in order: the third follows a rejected one.
const STEPS: [&str; 3] = ["approve", "reject", "next"];

fn chain() -> (Anvil, Airlock) {
    let anvil = Anvil::start_with(&["--block-time", "1"]);
    let airlock = Airlock::start(&anvil.url(), &["--reply", "at-once"]);
    (anvil, airlock)
}

/// Waits for the newest held item, lets `DECIDE_AFTER` pass since it was held, and decides.
async fn decide(airlock: &Airlock, step: &str) -> Value {
    let item = tokio::task::block_in_place(|| airlock.wait_pending(1))[0].clone();
    assert_eq!(item["method"], "eth_sendRawTransaction", "{item}");
    assert_eq!(item["answered"], true, "the client got the hash at once: {item}");
    tokio::time::sleep(DECIDE_AFTER).await;
    let id = item["id"].as_str().expect("id");
    let decided = tokio::task::block_in_place(|| match step {
        "reject" => airlock.reject(id),
        _ => airlock.approve(id),
    });
    assert_eq!(decided["status"], if step == "reject" { "rejected" } else { "forwarded" }, "{decided}");
    item
}

/// The next JSON line the client prints, within two minutes.
async fn line(lines: &mut Lines<BufReader<ChildStdout>>, client: &str) -> Value {
    let next = tokio::time::timeout(Duration::from_secs(120), lines.next_line()).await;
    let text = next.unwrap_or_else(|_| panic!("{client}: no output within 120 s")).expect("read").unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("{client} printed {text:?}"))
}

/// Runs a client script that sends once per step and prints each send and each wait's end.
async fn scripted(client: &str, mut cmd: Command) {
    let (_anvil, airlock) = chain();
    let mut child = cmd
        .args([&airlock.rpc, KEY0, ADDR1])
        .args(STEPS)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("{client}: {e}"));
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut rejected_nonce = None;
    for step in STEPS {
        let started = Instant::now();
        let sent = line(&mut lines, client).await;
        assert_eq!((sent["step"].as_str(), sent["event"].as_str()), (Some(step), Some("sent")), "{client}: {sent}");
        let item = decide(&airlock, step).await;
        assert_eq!(item["tx"]["hash"], sent["hash"], "{client}: the hash it got is the held one");
        let end = line(&mut lines, client).await;
        let waited = started.elapsed();
        assert!(waited >= DECIDE_AFTER, "{client}: the decision came {waited:?} after the send");
        match step {
            "reject" => {
                assert_eq!(end["event"], "failed", "{client}: its wait ends with the rejection: {end}");
                assert_eq!(end["code"], 4001, "{client}: {end}");
                assert_eq!(end["id"], item["id"], "{client}: the error names the item: {end}");
                rejected_nonce = item["tx"]["nonce"].as_u64();
            }
            _ => {
                assert_eq!(end["event"], "mined", "{client}: {end}");
                assert_eq!(end["status"], "success", "{client}: {end}");
            }
        }
        if step == "next" {
            assert_eq!(end["nonce"].as_u64(), rejected_nonce, "{client}: the rejected nonce is used again");
        }
    }
    assert!(child.wait().await.expect("exit").success(), "{client} exits cleanly");
}

#[tokio::test(flavor = "multi_thread")]
async fn viem_at_its_defaults() {
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/js/viem_defaults.mjs"));
    scripted("viem", cmd).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ethers_at_its_defaults() {
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/js/ethers_defaults.mjs"));
    scripted("ethers", cmd).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn web3_py_at_its_defaults() {
    let mut cmd = Command::new("python3");
    cmd.arg(repo().join("tests/py/web3_defaults.py")).env("PYTHONPATH", repo().join("tests/python"));
    scripted("web3.py", cmd).await;
}

/// `cast send` waits for the receipt by default; one run per send.
#[tokio::test(flavor = "multi_thread")]
async fn cast_at_its_defaults() {
    let (_anvil, airlock) = chain();
    let mut rejected_nonce = None;
    for step in STEPS {
        let started = Instant::now();
        let send = Command::new(npm_bin("cast"))
            .args(["send", "--rpc-url", &airlock.rpc, "--private-key", KEY0, "--value", "1", "--json", ADDR1])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("cast");
        let item = decide(&airlock, step).await;
        let out = tokio::time::timeout(Duration::from_secs(120), send.wait_with_output())
            .await
            .expect("cast ends within 120 s")
            .expect("cast");
        assert!(started.elapsed() >= DECIDE_AFTER);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if step == "reject" {
            assert!(!out.status.success(), "cast fails on a rejected send: {stdout}");
            assert!(stderr.contains("4001"), "cast says 4001: {stderr}");
            assert!(stderr.contains(item["id"].as_str().expect("id")), "cast names the item: {stderr}");
            rejected_nonce = item["tx"]["nonce"].as_u64();
            continue;
        }
        assert!(out.status.success(), "cast {step}: {stderr}");
        let receipt: Value = serde_json::from_str(&stdout).expect("receipt JSON");
        assert_eq!(receipt["status"], "0x1", "{receipt}");
        assert_eq!(receipt["transactionHash"], item["tx"]["hash"]);
        if step == "next" {
            assert_eq!(item["tx"]["nonce"].as_u64(), rejected_nonce, "the rejected nonce is used again");
        }
    }
}

/// A signed transaction whose client is long gone (it had its hash at once) is still
/// broadcast and mined when approved; while it is held, the node-shaped answers hold.
#[tokio::test(flavor = "multi_thread")]
async fn a_held_transaction_reads_as_pending_and_is_mined_after_its_client_left() {
    let (anvil, airlock) = chain();
    let raw = mktx(&anvil.url(), &["--value", "1", ADDR1]).await;
    let rpc = Rpc::new(&airlock.rpc);
    let hash = rpc.result("eth_sendRawTransaction", json!([raw])).await;
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["tx"]["hash"], hash);
    // As a node answers about a transaction in its mempool.
    let tx = rpc.result("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!((&tx["hash"], &tx["blockHash"], &tx["from"]), (&hash, &Value::Null, &json!(ADDR0)), "{tx}");
    assert_eq!(rpc.call("eth_getTransactionReceipt", json!([hash])).await["result"], Value::Null);
    let latest = hex_u64(&rpc.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await);
    let pending = hex_u64(&rpc.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await);
    assert_eq!(pending, latest + 1, "the held send takes its nonce");
    drop(rpc);
    assert_eq!(airlock.pending()[0]["client_connected"], true, "a client with its hash is not gone");

    assert_eq!(airlock.approve(item["id"].as_str().expect("id"))["status"], "forwarded");
    let receipt = receipt(&Rpc::new(&anvil.url()), &hash).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    // Now the node answers, through Airlock too.
    let through = Rpc::new(&airlock.rpc).result("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(through["blockHash"], receipt["blockHash"]);
}

/// EIP-5792: the batch id at once; pending while held; confirmed with a receipt per call once
/// approved; a rejected batch says so (never pending for ever); atomicity is refused up front.
#[tokio::test(flavor = "multi_thread")]
async fn wallet_send_calls_answers_its_id_at_once_and_its_status_from_the_item() {
    let (_anvil, airlock) = chain();
    let rpc = Rpc::new(&airlock.rpc);
    let batch = |atomic: bool| {
        json!([{ "version": "2.0.0", "chainId": "0x7a69", "from": ADDR0, "atomicRequired": atomic,
            "calls": [{ "to": ADDR1, "value": "0x1" }, { "to": ADDR2, "value": "0x2" }] }])
    };
    let caps = rpc.result("wallet_getCapabilities", json!([ADDR0, ["0x7a69"]])).await;
    assert_eq!(caps["0x7a69"]["atomic"]["status"], "unsupported", "{caps}");
    let refused = rpc.call("wallet_sendCalls", batch(true)).await;
    assert_eq!(refused["error"]["code"], 5760, "{refused}");

    let status = |id: Value| {
        let rpc = rpc.clone();
        async move { rpc.result("wallet_getCallsStatus", json!([id])).await }
    };
    let sent = rpc.result("wallet_sendCalls", batch(false)).await;
    let id = sent["id"].clone();
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["id"], id);
    assert_eq!(status(id.clone()).await["status"], 100);
    assert_eq!(rpc.call("wallet_showCallsStatus", json!([id])).await["result"], Value::Null);
    assert_eq!(airlock.approve(id.as_str().expect("id"))["status"], "forwarded");
    let deadline = Instant::now() + Duration::from_secs(30);
    let confirmed = loop {
        let s = status(id.clone()).await;
        if s["status"] != 100 || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(confirmed["status"], 200, "{confirmed}");
    assert_eq!(confirmed["receipts"].as_array().map(Vec::len), Some(2), "{confirmed}");
    assert_eq!(confirmed["receipts"][1]["status"], "0x1");

    let second = rpc.result("wallet_sendCalls", batch(false)).await["id"].clone();
    airlock.wait_pending(1);
    airlock.reject(second.as_str().expect("id"));
    let rejected = status(second).await;
    assert_eq!(rejected["status"], 400, "{rejected}");
    assert_eq!(rejected["error"]["code"], 4001, "{rejected}");
    let unknown = rpc.call("wallet_getCallsStatus", json!(["nope"])).await;
    assert_eq!(unknown["error"]["code"], 5730, "{unknown}");
}
