//! A JSON-RPC batch that mixes reads with a send: the reads answer, the send waits for the
//! person, and the batch answers once with every entry in place.

use serde_json::{Value, json};

use crate::harness::*;

fn by_id(resp: &Value) -> std::collections::BTreeMap<u64, Value> {
    resp.as_array()
        .unwrap_or_else(|| panic!("a batch answers with an array: {resp}"))
        .iter()
        .map(|e| (e["id"].as_u64().expect("numeric id"), e.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_with_a_send_inside() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "1000"]).await;
    let body = json!([
        { "jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": [] },
        { "jsonrpc": "2.0", "id": 2, "method": "eth_sendRawTransaction", "params": [raw] },
        { "jsonrpc": "2.0", "id": 3, "method": "eth_getBalance", "params": [ADDR1, "latest"] },
        { "jsonrpc": "2.0", "id": 4, "method": "eth_getTransactionCount", "params": [ADDR0, "latest"] },
    ]);
    let rpc = Rpc::new(&airlock.rpc);
    let call = tokio::spawn(async move { rpc.post_raw(body.to_string()).await.expect("round trip").1 });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["method"], "eth_sendRawTransaction");
    airlock.approve(item["id"].as_str().expect("id"));

    let answers = by_id(&call.await.expect("join"));
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[&1]["result"], "0x7a69");
    assert_eq!(answers[&2]["result"], item["tx"]["hash"]);
    assert_eq!(answers[&3]["result"], "0x21e19e0c9bab2400000", "read before the send was mined");
    assert_eq!(answers[&4]["result"], "0x0");
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_with_a_rejected_send_keeps_the_other_answers() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "1000"]).await;
    let body = json!([
        { "jsonrpc": "2.0", "id": 7, "method": "eth_sendRawTransaction", "params": [raw] },
        { "jsonrpc": "2.0", "id": 8, "method": "eth_blockNumber", "params": [] },
        { "jsonrpc": "2.0", "id": 9, "method": "eth_sendRawTransaction", "params": ["0xnothex"] },
        // A notification (no id) of a send is never forwarded, and gets no answer.
        { "jsonrpc": "2.0", "method": "eth_sendRawTransaction", "params": [raw] },
    ]);
    let rpc = Rpc::new(&airlock.rpc);
    let call = tokio::spawn(async move { rpc.post_raw(body.to_string()).await.expect("round trip").1 });
    let items = airlock.wait_pending(1);
    assert_eq!(items.len(), 1, "the malformed entry and the notification hold nothing");
    airlock.reject(items[0]["id"].as_str().expect("id"));

    let answers = by_id(&call.await.expect("join"));
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[&7]["error"]["code"], 4001);
    assert_eq!(answers[&7]["error"]["data"]["id"], items[0]["id"]);
    assert_eq!(answers[&8]["result"], "0x0");
    assert_eq!(answers[&9]["error"]["code"], -32602);
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x0");
}
