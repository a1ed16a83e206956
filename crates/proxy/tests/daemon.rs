//! The daemon in-process: `spawn(Config::test())` in front of a real anvil (from npm, as
//! `tests/setup.sh` installs it), a held send going through the whole hold pipeline, and an
//! approved send whose re-assessment no longer matches what the person saw.

use std::time::Duration;

use airlock_proxy::{Config, Handle, spawn};
use airlock_types::{DecisionError, Decisions, Item, OutcomeStatus, Status};
use serde_json::{Value, json};

const ACCOUNT0: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
const ACCOUNT1: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
const ACCOUNT2: &str = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";

#[path = "../../../tests/support/anvil.rs"]
mod anvil;

use anvil::Anvil;

fn anvil() -> Anvil {
    anvil::start(&[])
}

async fn call(url: &str, method: &str, params: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    reqwest::Client::new().post(url).json(&body).send().await.expect("sent").json().await.expect("json")
}

async fn started(anvil: &Anvil, dir: &tempfile::TempDir) -> Handle {
    spawn(Config::test(anvil.url.clone(), dir.path())).await.expect("the daemon starts")
}

/// Waits until `n` items are pending.
async fn pending(handle: &Handle, n: usize) -> Vec<Item> {
    for _ in 0..400 {
        let items = handle.desk.pending();
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{n} items never became pending");
}

/// A daemon in front of a fresh anvil, with one ETH from `from` to `to` sent through it by a
/// client that waits for the answer, and held.
struct Held {
    anvil: Anvil,
    _dir: tempfile::TempDir,
    handle: Handle,
    client: tokio::task::JoinHandle<Value>,
    item: Item,
}

async fn held_send(from: &str, to: &str) -> Held {
    let anvil = anvil();
    let dir = tempfile::tempdir().expect("tempdir");
    let handle = started(&anvil, &dir).await;
    let url = format!("http://{}", handle.rpc_addr);
    let params = json!([{ "from": from, "to": to, "value": "0xde0b6b3a7640000" }]);
    let client = tokio::spawn(async move { call(&url, "eth_sendTransaction", params).await });
    let item = pending(&handle, 1).await.remove(0);
    Held { anvil, _dir: dir, handle, client, item }
}

/// hold → assess → approve → forward: the item carries its report, its verification and the
/// template's explanation; approving it forwards it, and the client gets anvil's hash.
#[tokio::test]
async fn a_held_send_is_assessed_approved_and_forwarded() {
    let Held { anvil, _dir, handle, client, item } = held_send(ACCOUNT0, ACCOUNT1).await;
    assert_eq!(item.status, Status::Pending);
    let report = item.report.as_ref().expect("simulated");
    assert_eq!(report.outcome.status, OutcomeStatus::Success);
    assert_eq!(item.verification.as_ref().map(|v| v.mode.as_str()), Some("unverified"));
    assert!(item.explanation.as_ref().is_some_and(|x| !x.summary.is_empty()), "the template explains at once");
    assert!(item.gas.is_some(), "fee advice on a single transaction");

    let decided = handle.desk.approve(&item.id).await.expect("approved");
    assert_eq!(decided.status, Status::Forwarded);
    assert_eq!(decided.sent_to.as_deref(), Some("upstream"));
    let answer = client.await.expect("client");
    let hash = answer["result"].as_str().unwrap_or_else(|| panic!("a hash, got {answer}")).to_owned();
    let receipt = call(&anvil.url, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["result"]["status"], "0x1", "mined: {receipt}");
    handle.stop().await;
}

/// An approved send is simulated again before it goes out. The sender's balance is taken away
/// between hold and approval (directly on anvil, in a new block): the approval is refused with
/// the reason, the item is back to pending with nothing sent, and rejecting it gives the client
/// 4001.
#[tokio::test]
async fn an_approved_send_that_no_longer_does_what_was_shown_goes_back() {
    let Held { anvil, _dir, handle, client, item } = held_send(ACCOUNT1, ACCOUNT2).await;
    assert!(item.report.is_some(), "shown with its report");

    // On a chain, state moves with blocks: drain the sender and mine one.
    let drained = call(&anvil.url, "anvil_setBalance", json!([ACCOUNT1, "0x0"])).await;
    assert!(drained.get("error").is_none(), "{drained}");
    let mined = call(&anvil.url, "evm_mine", json!([])).await;
    assert!(mined.get("error").is_none(), "{mined}");
    match handle.desk.approve(&item.id).await {
        Err(DecisionError::Changed { id, why }) => assert_eq!(id, item.id, "{why}"),
        other => panic!("expected the approval refused as changed, got {other:?}"),
    }
    let back = handle.desk.item(&item.id).expect("read").expect("there");
    assert_eq!(back.status, Status::Pending);
    assert!(back.sent_to.is_none(), "nothing forwarded");
    let nonce = call(&anvil.url, "eth_getTransactionCount", json!([ACCOUNT1, "latest"])).await;
    assert_eq!(nonce["result"], "0x0", "the sender sent nothing");

    handle.desk.reject(&item.id).await.expect("rejected");
    let answer = client.await.expect("client");
    assert_eq!(answer["error"]["code"], 4001, "{answer}");
    handle.stop().await;
}
