//! Real wallet clients sending through Airlock, and the person's decisions reaching them.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::*;

const ONE_ETH: &str = "1000000000000000000";

fn cast_send(rpc: &str) -> std::process::Command {
    cast(&["send", "--rpc-url", rpc, "--private-key", KEY0, ADDR1, "--value", "1ether", "--timeout", "120"])
}

#[tokio::test(flavor = "multi_thread")]
async fn cast_send_approved_is_mined() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let send = tokio::spawn(output(cast_send(&airlock.rpc)));

    let items = airlock.wait_pending(1);
    let item = &items[0];
    assert_eq!(item["method"], "eth_sendRawTransaction");
    assert_eq!(item["status"], "pending");
    assert_eq!(item["client_connected"], true);
    let tx = &item["tx"];
    assert_eq!(tx["from"], ADDR0);
    assert_eq!(tx["to"], ADDR1);
    assert_eq!(tx["value"], ONE_ETH);
    assert_eq!(tx["chain_id"], 31337);
    assert_eq!(tx["type"], 2);
    assert_eq!(tx["nonce"], 0);
    assert!(tx["gas"].as_u64().is_some_and(|g| g >= 21_000), "{tx}");
    assert!(tx["max_fee_per_gas"].as_str().is_some(), "{tx}");
    assert!(item["received_at"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(item["verification"]["mode"], "unverified");
    assert_eq!(item["verification"]["status"], "unverified", "the person is told nothing was verified");

    // Nothing reached the chain while it was held.
    let direct = Rpc::new(&anvil.url());
    assert_eq!(hex_u64(&direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await), 0);

    let decided = airlock.approve(item["id"].as_str().expect("id"));
    assert_eq!(decided["status"], "forwarded");
    assert_eq!(decided["result"], tx["hash"]);

    let out = send.await.expect("join");
    assert!(out.status.success(), "cast send: {}", stderr(&out));
    assert!(stdout(&out).contains("1 (success)"), "{}", stdout(&out));
    assert_eq!(hex_u64(&direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await), 1);
    let receipt = receipt(&direct, &json!(tx["hash"])).await;
    assert_eq!(receipt["status"], "0x1");

    let history = airlock.history();
    assert_eq!(history[0]["id"], item["id"]);
    assert_eq!(history[0]["status"], "forwarded");
    assert!(airlock.pending().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn cast_send_rejected_sees_4001() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let send = tokio::spawn(output(cast_send(&airlock.rpc)));
    let id = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    let decided = airlock.reject(&id);
    assert_eq!(decided["status"], "rejected");
    assert_eq!(decided["error"]["code"], 4001);

    let out = send.await.expect("join");
    assert!(!out.status.success(), "a rejected send must fail in the client");
    let err = stderr(&out);
    assert!(err.contains("4001") && err.contains("User rejected"), "{err}");
    let direct = Rpc::new(&anvil.url());
    assert_eq!(hex_u64(&direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await), 0);
    // A decided item cannot be decided again.
    let again = airlock.cli(&["approve", &id]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("rejected"), "{}", stderr(&again));
}

async fn node_json(script: &str, rpc: &str) -> tokio::task::JoinHandle<Value> {
    let cmd = node(script, &[rpc, KEY0, ADDR1, ONE_ETH]);
    tokio::spawn(async move {
        let out = output(cmd).await;
        assert!(out.status.success(), "{}", stderr(&out));
        let line = stdout(&out);
        serde_json::from_str(line.trim()).unwrap_or_else(|_| panic!("not JSON: {line} {}", stderr(&out)))
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn ethers_send_approved_and_rejected() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);

    let sent = node_json("ethers_send.mjs", &airlock.rpc).await;
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["tx"]["from"], ADDR0);
    airlock.approve(item["id"].as_str().expect("id"));
    let seen = sent.await.expect("join");
    assert_eq!(seen["ok"], true, "{seen}");
    assert_eq!(seen["status"], 1);
    assert_eq!(seen["hash"], item["tx"]["hash"]);

    let sent = node_json("ethers_send.mjs", &airlock.rpc).await;
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["tx"]["nonce"], 1);
    airlock.reject(item["id"].as_str().expect("id"));
    let seen = sent.await.expect("join");
    assert_eq!(seen["ok"], false, "{seen}");
    // ethers' local Wallet surfaces the node's error object as is.
    assert_eq!(seen["rpcCode"], 4001, "{seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn viem_send_approved_and_rejected() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);

    let sent = node_json("viem_send.mjs", &airlock.rpc).await;
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["method"], "eth_sendRawTransaction");
    airlock.approve(item["id"].as_str().expect("id"));
    let seen = sent.await.expect("join");
    assert_eq!(seen["ok"], true, "{seen}");
    assert_eq!(seen["status"], "success");
    assert_eq!(seen["hash"], item["tx"]["hash"]);

    let sent = node_json("viem_send.mjs", &airlock.rpc).await;
    let item = airlock.wait_pending(1)[0].clone();
    airlock.reject(item["id"].as_str().expect("id"));
    let seen = sent.await.expect("join");
    assert_eq!(seen["ok"], false, "{seen}");
    assert_eq!(seen["rejected"], true, "viem sees UserRejectedRequestError (4001): {seen}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_decision_in_time_expires_and_forwards_nothing() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &["--decision-timeout", "2"]);
    let out = output(cast_send(&airlock.rpc)).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("-32080") && err.contains("no decision within 2 s"), "{err}");

    let history = airlock.history();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["status"], "expired");
    assert!(airlock.pending().is_empty());
    // Too late to approve, and the chain never saw it.
    let id = history[0]["id"].as_str().expect("id");
    assert!(!airlock.cli(&["approve", id]).status.success());
    let direct = Rpc::new(&anvil.url());
    assert_eq!(hex_u64(&direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn unsigned_send_is_held_then_signed_by_the_node() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);
    let tx = json!({ "from": ADDR0, "to": ADDR2, "value": "0x2a", "data": "0xdeadbeef" });
    let call = tokio::spawn({
        let rpc = rpc.clone();
        let tx = tx.clone();
        async move { rpc.call("eth_sendTransaction", json!([tx])).await }
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["method"], "eth_sendTransaction");
    assert_eq!(item["tx"]["from"], ADDR0);
    assert_eq!(item["tx"]["to"], ADDR2);
    assert_eq!(item["tx"]["value"], "42");
    assert_eq!(item["tx"]["data"], "0xdeadbeef");
    assert_eq!(item["tx"]["signed"], false);
    assert_eq!(item["params"], json!([tx]), "params are kept verbatim");

    airlock.approve(item["id"].as_str().expect("id"));
    let resp = call.await.expect("join");
    let hash = resp["result"].as_str().unwrap_or_else(|| panic!("{resp}"));
    let receipt = receipt(&Rpc::new(&anvil.url()), &json!(hash)).await;
    assert_eq!(receipt["to"], ADDR2);
}

#[tokio::test(flavor = "multi_thread")]
async fn signature_requests_are_held_and_answered_by_the_node() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);
    let direct = Rpc::new(&anvil.url());
    let typed = json!({
        "types": {
            "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "chainId", "type": "uint256"}],
            "Mail": [{"name": "contents", "type": "string"}]
        },
        "primaryType": "Mail",
        "domain": {"name": "Airlock test", "chainId": 31337},
        "message": {"contents": "hello"}
    });
    let requests = [
        ("personal_sign", json!(["0x68656c6c6f", ADDR0])),
        ("eth_sign", json!([ADDR0, "0x68656c6c6f"])),
        ("eth_signTypedData_v4", json!([ADDR0, typed.to_string()])),
    ];
    for (method, params) in requests {
        let call = tokio::spawn({
            let (rpc, params) = (rpc.clone(), params.clone());
            async move { rpc.call(method, params).await }
        });
        let item = airlock.wait_pending(1)[0].clone();
        assert_eq!(item["method"], method);
        assert_eq!(item["sign"]["address"], ADDR0, "{item}");
        if method != "eth_signTypedData_v4" {
            assert_eq!(item["sign"]["text"], "hello");
        } else {
            assert_eq!(item["sign"]["typed_data"]["primaryType"], "Mail");
        }
        airlock.approve(item["id"].as_str().expect("id"));
        let through = call.await.expect("join");
        // Deterministic ECDSA: the node signs the same bytes the same way.
        let want = direct.call(method, params).await;
        assert_eq!(through["result"], want["result"], "{method}: {through} vs {want}");
        assert!(through["result"].as_str().is_some_and(|s| s.len() == 132), "{through}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn identical_retry_joins_the_pending_item() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "1"]).await;
    let rpc = Rpc::new(&airlock.rpc);
    let first = tokio::spawn({
        let (rpc, raw) = (rpc.clone(), raw.clone());
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let id = airlock.wait_pending(1)[0]["id"].clone();
    let second = tokio::spawn({
        let (rpc, raw) = (rpc.clone(), raw.clone());
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while airlock.pending()[0]["joined"] != 1 {
        assert!(std::time::Instant::now() < deadline, "the retry did not join");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let items = airlock.pending();
    assert_eq!(items.len(), 1, "one item for two identical requests");
    assert_eq!(items[0]["id"], id);
    airlock.approve(id.as_str().expect("id"));
    let (a, b) = (first.await.expect("join"), second.await.expect("join"));
    assert_eq!(a["result"], items[0]["tx"]["hash"]);
    assert_eq!(b["result"], a["result"], "both callers get the upstream's answer");
    assert_eq!(airlock.history().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_leaves_keeps_its_item() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "7"]).await;
    let impatient = Rpc::with_timeout(&airlock.rpc, Duration::from_millis(500));
    let gave_up = impatient
        .post_raw(json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[raw]}).to_string())
        .await;
    assert!(gave_up.is_err(), "the client timed out while the request was held");

    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let item = loop {
        let items = airlock.pending();
        assert_eq!(items.len(), 1, "the item stays after the client leaves");
        if items[0]["client_connected"] == false {
            break items[0].clone();
        }
        assert!(std::time::Instant::now() < deadline, "the item was not marked disconnected");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let human = stdout(&airlock.cli(&["pending"]));
    assert!(human.contains("stopped waiting"), "{human}");
    // Approving still sends it.
    let decided = airlock.approve(item["id"].as_str().expect("id"));
    assert_eq!(decided["status"], "forwarded");
    let receipt = receipt(&Rpc::new(&anvil.url()), &json!(item["tx"]["hash"])).await;
    assert_eq!(receipt["status"], "0x1");
}

#[tokio::test(flavor = "multi_thread")]
async fn wallet_send_calls_is_held_and_the_upstream_answer_returned() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);
    let params = json!([{ "version": "2.0.0", "chainId": "0x7a69", "from": ADDR0, "atomicRequired": false,
        "calls": [{ "to": ADDR1, "value": "0x1" }, { "to": ADDR2, "value": "0x2", "data": "0x" }] }]);
    let call = tokio::spawn({
        let (rpc, params) = (rpc.clone(), params.clone());
        async move { rpc.call("wallet_sendCalls", params).await }
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["method"], "wallet_sendCalls");
    assert_eq!(item["calls"].as_array().map(Vec::len), Some(2));
    assert_eq!(item["calls"][1]["to"], ADDR2);
    assert_eq!(item["tx"]["value"], "3");
    // Simulated as the calls one after another from the sender: one merged report.
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "success", "{item}");
    let got: Vec<(&Value, &Value)> =
        r["transfers"].as_array().expect("transfers").iter().map(|t| (&t["to"], &t["amount"])).collect();
    assert_eq!(got, vec![(&json!(ADDR1), &json!("1")), (&json!(ADDR2), &json!("2"))], "{r}");
    assert_eq!(r["gas_used"], 42000);
    // `approve` exits non-zero when the upstream refuses, and still prints the item.
    let out = airlock.cli(&["approve", item["id"].as_str().expect("id"), "--json"]);
    let decided: Value = serde_json::from_slice(&out.stdout).expect("item JSON");
    assert_eq!(out.status.success(), decided["status"] == "forwarded");
    let through = call.await.expect("join");
    // Whatever anvil makes of it (an id, or an error), the client sees exactly that.
    match decided["status"].as_str() {
        Some("forwarded") => assert_eq!(through["result"], decided["result"]),
        Some("forward_failed") => {
            assert_eq!(through["error"]["code"], decided["error"]["code"]);
            assert_eq!(through["error"]["message"], decided["error"]["message"]);
        }
        other => panic!("unexpected status {other:?}"),
    }
}
