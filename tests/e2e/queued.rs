//! Sends queued behind each other: a burst of signed sends from one account with consecutive
//! nonces. Each is simulated on the state the ones before it leave (held, approved or sent but
//! not yet in a block), when held and again at approval, so approving the whole burst forwards
//! every one on the first approval.

use std::time::{Duration, Instant};

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Signature, TxKind, U256, hex};
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::harness::*;

const BURST: u64 = 50;
const ONE_ETH: u128 = 1_000_000_000_000_000_000;

/// A 1 ETH transfer from account 0 to account 1 with `nonce`, signed here.
fn transfer(nonce: u64) -> String {
    let tx = TxEip1559 {
        chain_id: 31337,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(ADDR1.parse().expect("address")),
        value: U256::from(ONE_ETH),
        ..Default::default()
    };
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(KEY0).expect("hex")).expect("key");
    let sig: Signature = key.sign_prehash_recoverable(tx.signature_hash().as_slice()).expect("sign").into();
    format!("0x{}", hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718()))
}

fn decimal(v: &Value) -> U256 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("not a decimal amount: {v}"))
}

/// The pending items, by nonce, once every one has a report made after all the sends before it
/// (a burst arrives out of order: a report made too early is made again).
fn settled(airlock: &Airlock) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let mut items = airlock.wait_pending(BURST as usize);
        items.sort_by_key(|i| i["tx"]["nonce"].as_u64());
        let behind = |i: &Value| i["report"]["queued_ahead"].as_u64().unwrap_or(0);
        let stale: Vec<String> = items
            .iter()
            .filter(|i| i["report"].is_null() || Some(behind(i)) != i["tx"]["nonce"].as_u64())
            .map(|i| format!("nonce {}: {}", i["tx"]["nonce"], i["simulation_error"]))
            .collect();
        if stale.is_empty() {
            return items;
        }
        assert!(Instant::now() < deadline, "reports still made without the sends before them: {stale:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_fifty_sends_is_simulated_in_nonce_order_and_forwarded_on_first_approval() {
    let anvil = Anvil::start();
    let airlock = std::sync::Arc::new(Airlock::start(&anvil.url(), &["--reply", "at-once"]));
    let direct = Rpc::new(&anvil.url());

    // The whole burst at once, as a script with Promise.all sends it: arrival order is anyone's.
    let mut sends = JoinSet::new();
    for nonce in 0..BURST {
        let rpc = Rpc::new(&airlock.rpc);
        sends.spawn(async move { rpc.call("eth_sendRawTransaction", json!([transfer(nonce)])).await });
    }
    while let Some(answer) = sends.join_next().await {
        let answer = answer.expect("join");
        assert!(answer["result"].is_string(), "the hash at once: {answer}");
    }
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await, "0x0", "nothing sent yet");

    // Each report is made on its predecessors' state: the sender holds what they leave.
    let items = settled(&airlock);
    for (k, item) in items.iter().enumerate() {
        assert_eq!(item["tx"]["nonce"], k, "one item per nonce");
        let report = &item["report"];
        assert_eq!(report["outcome"]["status"], "success", "nonce {k}: {report}");
        let unchecked = item["unchecked"].to_string();
        assert!(!unchecked.contains("simulation: not run"), "nonce {k} says what holds now: {unchecked}");
        if k == 0 {
            continue;
        }
        let before = &items[k - 1]["report"];
        assert_eq!(report["block"]["hash"], before["block"]["hash"], "one head for the whole burst");
        let left = decimal(&before["from_balance"]) - U256::from(ONE_ETH) - decimal(&before["fee"]);
        assert_eq!(decimal(&report["from_balance"]), left, "nonce {k} runs on what nonce {} leaves", k - 1);
    }

    let shown = stdout(&airlock.cli(&["pending"]));
    assert!(shown.contains("after  49 earlier send(s) from this account"), "the terminal says so: {shown}");

    // Approved 16 at a time, in nonce order, as a person clearing a queue would: every mined
    // send moves the head under the next re-simulation.
    let ids: Vec<String> = items.iter().map(|i| i["id"].as_str().expect("id").to_owned()).collect();
    for group in ids.chunks(16) {
        let mut approvals = JoinSet::new();
        for id in group {
            let (airlock, id) = (airlock.clone(), id.clone());
            approvals.spawn(async move {
                let body = json!({ "confirm": format!("approve {id}") });
                (id.clone(), airlock.post(&format!("/api/pending/{id}/approve"), &body).await)
            });
        }
        while let Some(done) = approvals.join_next().await {
            let (id, (status, item)) = done.expect("join");
            assert_eq!(status, 200, "{id} forwarded on its first approval: {item}");
            assert_eq!(item["status"], "forwarded", "{id}: {item}");
        }
    }

    // All fifty reach the chain, each once.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mined = hex_u64(&direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await);
        if mined == BURST {
            break;
        }
        assert!(Instant::now() < deadline, "{mined} of {BURST} mined");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let history = airlock.history();
    assert_eq!(history.iter().filter(|i| i["status"] == "forwarded").count(), BURST as usize);
}

/// The other side: a send whose predecessor was rejected is no longer simulated on it. It cannot
/// be included as it stands (its nonce is a gap now), and it says so before anyone approves it,
/// keeping the report that was shown, marked as from when it was held.
#[tokio::test(flavor = "multi_thread")]
async fn a_send_behind_a_rejected_one_says_it_cannot_be_included() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &["--reply", "at-once"]);
    let rpc = Rpc::new(&airlock.rpc);
    for nonce in 0..2 {
        let answer = rpc.call("eth_sendRawTransaction", json!([transfer(nonce)])).await;
        assert!(answer["result"].is_string(), "{answer}");
    }
    let mut items = airlock.wait_pending(2);
    items.sort_by_key(|i| i["tx"]["nonce"].as_u64());
    assert_eq!(items[1]["report"]["queued_ahead"], 1, "held behind nonce 0: {}", items[1]);
    assert!(items[1]["simulation_error"].is_null());
    airlock.reject(items[0]["id"].as_str().expect("id"));

    let id = items[1]["id"].as_str().expect("id");
    let deadline = Instant::now() + Duration::from_secs(30);
    let item = loop {
        let item = airlock.pending().into_iter().find(|i| i["id"] == id).expect("still pending");
        if !item["simulation_error"].is_null() {
            break item;
        }
        assert!(Instant::now() < deadline, "not simulated again after the reject: {item}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let why = item["simulation_error"].as_str().unwrap_or_default();
    assert!(why.contains("could not be simulated again") && why.contains("nonce 1 too high"), "{why}");
    assert!(why.contains("the report shown is from when it was held"), "{why}");
    assert_eq!(item["report"]["outcome"]["status"], "success", "the report shown stays");
    airlock.reject(id);
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await, "0x0");
}
