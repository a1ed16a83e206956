//! eth_subscribe through Airlock over WebSocket, bridged to the upstream's subscriptions.

use std::time::Duration;

use jsonrpsee::core::client::{Subscription, SubscriptionClientT};
use jsonrpsee::rpc_params;
use jsonrpsee::ws_client::WsClientBuilder;
use serde_json::{Value, json};

use crate::harness::*;

/// Init code that deploys a contract whose every call emits one empty LOG0.
const LOGGER_INITCODE: &str = "0x6006600c60003960066000f360006000a000";

async fn next(sub: &mut Subscription<Value>) -> Value {
    tokio::time::timeout(Duration::from_secs(30), sub.next())
        .await
        .expect("a notification within 30 s")
        .expect("subscription open")
        .expect("notification decodes")
}

#[tokio::test(flavor = "multi_thread")]
async fn new_heads_logs_and_pending_transactions_pass_through() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.ws_url(), &[]);
    let direct = Rpc::new(&anvil.url());
    let deploy = direct.result("eth_sendTransaction", json!([{ "from": ADDR0, "data": LOGGER_INITCODE }])).await;
    let logger = receipt(&direct, &deploy).await["contractAddress"].clone();

    let ws = WsClientBuilder::default().build(&airlock.ws).await.expect("ws connects to Airlock");
    let mut heads: Subscription<Value> =
        ws.subscribe("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe").await.expect("newHeads");
    let mut logs: Subscription<Value> = ws
        .subscribe("eth_subscribe", rpc_params!["logs", json!({ "address": logger })], "eth_unsubscribe")
        .await
        .expect("logs");
    let mut pending: Subscription<Value> = ws
        .subscribe("eth_subscribe", rpc_params!["newPendingTransactions"], "eth_unsubscribe")
        .await
        .expect("newPendingTransactions");
    for sub in [&heads, &logs, &pending] {
        match sub.kind() {
            jsonrpsee::core::client::SubscriptionKind::Subscription(jsonrpsee::types::SubscriptionId::Str(id)) => {
                assert!(id.starts_with("0x") && id.len() == 34, "Ethereum-style subscription id: {id}")
            }
            other => panic!("unexpected subscription id {other:?}"),
        }
    }

    // A transaction sent straight to the node shows up on all three.
    let hash = direct.result("eth_sendTransaction", json!([{ "from": ADDR1, "to": logger }])).await;
    let mined = receipt(&direct, &hash).await;
    assert_eq!(next(&mut pending).await, hash);
    let log = next(&mut logs).await;
    assert_eq!(log["address"], logger);
    assert_eq!(log["transactionHash"], hash);
    // The first head may be the deploy's block or the call's; read until the call's block.
    let block = loop {
        let head = next(&mut heads).await;
        if head["number"] == mined["blockNumber"] {
            break head;
        }
    };
    let want = direct.result("eth_getBlockByNumber", json!([mined["blockNumber"], false])).await;
    assert_eq!(block["hash"], want["hash"]);
    assert_eq!(block["stateRoot"], want["stateRoot"]);

    for sub in [heads, logs, pending] {
        sub.unsubscribe().await.expect("eth_unsubscribe");
    }
    // Reads still work on the same connection afterwards.
    let n: String =
        jsonrpsee::core::client::ClientT::request(&ws, "eth_blockNumber", rpc_params![]).await.expect("read over ws");
    assert_eq!(Value::from(n), mined["blockNumber"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn subscription_over_an_http_upstream_is_a_clear_error() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let ws = WsClientBuilder::default().build(&airlock.ws).await.expect("ws connects");
    let err = ws
        .subscribe::<Value, _>("eth_subscribe", rpc_params!["newHeads"], "eth_unsubscribe")
        .await
        .expect_err("no subscriptions through an HTTP upstream");
    assert!(err.to_string().contains("subscriptions need a WebSocket upstream"), "{err}");
}
