//! Bad input of every kind gets a clear JSON-RPC error; nothing becomes pending; the daemon
//! keeps answering.

use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Signature, TxKind, U256, address, hex};
use serde_json::{Value, json};

use crate::harness::*;

fn signed_1559(chain_id: u64) -> String {
    let tx = TxEip1559 {
        chain_id,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8")),
        value: U256::from(1u64),
        ..Default::default()
    };
    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(KEY0).expect("hex")).expect("key");
    let sig: Signature = key.sign_prehash_recoverable(tx.signature_hash().as_slice()).expect("sign").into();
    format!("0x{}", hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718()))
}

fn bad_signature_tx() -> String {
    let tx = TxLegacy { chain_id: Some(31337), gas_limit: 21_000, gas_price: 1, ..Default::default() };
    // r = 0 is not a point on the curve: no sender can be recovered.
    let sig = Signature::new(U256::ZERO, U256::from(1u64), false);
    format!("0x{}", hex::encode(TxEnvelope::from(tx.into_signed(sig)).encoded_2718()))
}

fn call(method: &str, params: Value) -> String {
    json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params }).to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_inputs_each_get_their_error() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);
    let good = signed_1559(31337);
    let typed = |t: Value| call("eth_signTypedData_v4", json!([ADDR0, t]));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));

    // (what, body, code, words the message must contain)
    let cases: Vec<(&str, String, i64, &str)> = vec![
        (
            "truncated JSON",
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x"#.into(),
            -32700,
            "Parse error",
        ),
        ("not UTF-8 / not JSON", "\u{1}\u{2}garbage".into(), -32700, "Parse error"),
        ("empty batch", "[]".into(), -32600, ""),
        (
            "deeply nested params",
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":{deep}}}"#),
            -32084,
            "max_json_depth = 64",
        ),
        ("no 0x prefix", call("eth_sendRawTransaction", json!(["deadbeef"])), -32602, "must be hex starting with 0x"),
        ("bad hex digit", call("eth_sendRawTransaction", json!(["0xzz"])), -32602, "not valid hex: 'z' at position 2"),
        ("odd hex length", call("eth_sendRawTransaction", json!(["0x123"])), -32602, "odd number of hex digits"),
        ("empty tx", call("eth_sendRawTransaction", json!(["0x"])), -32602, "signed transaction is empty"),
        ("truncated RLP", call("eth_sendRawTransaction", json!(["0xf8"])), -32602, "does not decode"),
        ("trailing bytes", call("eth_sendRawTransaction", json!([format!("{good}00")])), -32602, "does not decode"),
        (
            "unknown tx type",
            call("eth_sendRawTransaction", json!([format!("0x05{}", &good[4..])])),
            -32602,
            "does not decode",
        ),
        ("bad signature", call("eth_sendRawTransaction", json!([bad_signature_tx()])), -32602, "invalid signature"),
        (
            "other chain id",
            call("eth_sendRawTransaction", json!([signed_1559(1)])),
            -32602,
            "chain id 1 does not match the upstream's chain id 31337",
        ),
        (
            "params not an array",
            call("eth_sendRawTransaction", json!({ "tx": good })),
            -32602,
            "params must be a JSON array",
        ),
        (
            "no params",
            json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_sendRawTransaction" }).to_string(),
            -32602,
            "needs params",
        ),
        ("number for hex", call("eth_sendRawTransaction", json!([123])), -32602, "must be a hex string, got a number"),
        ("tx object not an object", call("eth_sendTransaction", json!(["0x00"])), -32602, "must be a JSON object"),
        ("tx without from", call("eth_sendTransaction", json!([{ "to": ADDR1 }])), -32602, "needs a `from` address"),
        (
            "tx with bad address",
            call("eth_sendTransaction", json!([{ "from": "0x1234", "to": ADDR1 }])),
            -32602,
            "invalid transaction object",
        ),
        (
            "tx with bad value",
            call("eth_sendTransaction", json!([{ "from": ADDR0, "value": "lots" }])),
            -32602,
            "invalid transaction object",
        ),
        (
            "tx for another chain",
            call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "chainId": "0x1" }])),
            -32602,
            "does not match the upstream's chain id",
        ),
        (
            "personal_sign bad address",
            call("personal_sign", json!(["0x68656c6c6f", "0x1234"])),
            -32602,
            "must be 20 bytes",
        ),
        ("personal_sign one param", call("personal_sign", json!(["0x68656c6c6f"])), -32602, "needs [message, address]"),
        ("eth_sign bad data", call("eth_sign", json!([ADDR0, "0xg0"])), -32602, "not valid hex"),
        ("typed data not JSON", typed(json!("{not json")), -32602, "typed data is not valid JSON"),
        (
            "typed data missing primaryType",
            typed(json!({ "types": {}, "domain": {}, "message": {} })),
            -32602,
            "primaryType",
        ),
        (
            "typed data unknown primaryType",
            typed(json!({ "types": {}, "primaryType": "Mail", "domain": {}, "message": {} })),
            -32602,
            "not among the types",
        ),
        (
            "typed data other chain",
            typed(json!({ "types": { "Mail": [] }, "primaryType": "Mail", "domain": { "chainId": 1 }, "message": {} })),
            -32602,
            "chain id 1 does not match",
        ),
        (
            "sendCalls other chain",
            call("wallet_sendCalls", json!([{ "chainId": "0x1", "calls": [{ "to": ADDR1 }] }])),
            -32602,
            "does not match the upstream's chain id",
        ),
        (
            "sendCalls no calls",
            call("wallet_sendCalls", json!([{ "chainId": "0x7a69", "calls": [] }])),
            -32602,
            "`calls` is empty",
        ),
        (
            "sendCalls bad call",
            call("wallet_sendCalls", json!([{ "chainId": "0x7a69", "calls": [{ "to": "nope" }] }])),
            -32602,
            "invalid calls object",
        ),
        (
            "bundle bypass",
            call("eth_sendBundle", json!([{ "txs": [good] }])),
            4200,
            "would send without your confirmation",
        ),
        (
            "private tx bypass",
            call("eth_sendPrivateTransaction", json!([{ "tx": good }])),
            4200,
            "would send without your confirmation",
        ),
    ];
    for (what, body, code, words) in &cases {
        let (status, resp) = rpc.post_raw(body.clone()).await.expect("an answer, not a hang");
        // Bodies that are not JSON at all get HTTP 400, still with a JSON-RPC error object.
        let want_status = if *code == -32700 && !body.starts_with('{') { [200, 400] } else { [200, 200] };
        assert!(want_status.contains(&status), "{what}: HTTP status {status}");
        let err = &resp["error"];
        assert_eq!(err["code"], *code, "{what}: {resp}");
        let message = err["message"].as_str().unwrap_or_default();
        assert!(!message.is_empty() && message.contains(words), "{what}: message {message:?} should say {words:?}");
    }
    assert!(airlock.pending().is_empty(), "no malformed request became pending");
    assert!(airlock.history().is_empty(), "nor entered the audit log");
    // Still alive and answering.
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x7a69");
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x0");
}

#[tokio::test(flavor = "multi_thread")]
async fn web_pages_cannot_reach_the_endpoint() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let http = reqwest::Client::new();
    let body = call("eth_chainId", json!([])).to_string();
    let post = |headers: &[(&str, &str)]| {
        let mut req = http.post(&airlock.rpc).header("content-type", "application/json").body(body.clone());
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    let evil = post(&[("origin", "https://evil.example")]).await.expect("answer");
    assert_eq!(evil.status(), 403);
    let err: Value = evil.json().await.expect("json error");
    assert_eq!(
        (err["jsonrpc"].as_str(), err["id"].is_null(), &err["error"]["code"]),
        (Some("2.0"), true, &json!(4100)),
        "a JSON-RPC envelope: {err}"
    );
    let port = airlock.rpc.rsplit(':').next().expect("port");
    let rebound = post(&[("host", &format!("evil.example:{port}"))]).await.expect("answer");
    assert_eq!(rebound.status(), 403, "DNS rebinding: a foreign Host is refused");
    for ok in [
        &[("origin", "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn")][..],
        &[("origin", "http://localhost:3000")],
        &[],
    ] {
        let resp = post(ok).await.expect("answer");
        assert_eq!(resp.status(), 200, "{ok:?}");
        assert_eq!(resp.json::<Value>().await.expect("json")["result"], "0x7a69");
    }

    // Browsers allow cross-origin WebSockets: the Origin check covers them too.
    let mut headers = jsonrpsee::http_client::HeaderMap::new();
    headers.insert("origin", "https://evil.example".parse().expect("header"));
    let ws = jsonrpsee::ws_client::WsClientBuilder::default().set_headers(headers).build(&airlock.ws).await;
    assert!(ws.is_err(), "a web page's WebSocket is refused");
    let ws = jsonrpsee::ws_client::WsClientBuilder::default().build(&airlock.ws).await;
    assert!(ws.is_ok(), "a client without Origin connects");
}
