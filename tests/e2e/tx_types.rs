//! Every transaction type a wallet can sign, decoded (sender recovered) and simulated while held,
//! then mined after approval.

use serde_json::{Value, json};

use crate::harness::*;

/// Signs with cast, sends through Airlock, checks the held item with `check`, approves, and
/// checks the chain mined it.
async fn held_and_mined(cast_args: &[&str], want_type: u64, check: impl FnOnce(&Value)) {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let mut args = vec![ADDR1, "--value", "12345"];
    args.extend_from_slice(cast_args);
    let raw = mktx(&anvil.url(), &args).await;
    let rpc = Rpc::new(&airlock.rpc);
    let call = tokio::spawn({
        let raw = raw.clone();
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let item = airlock.wait_pending(1)[0].clone();
    let tx = &item["tx"];
    assert_eq!(tx["type"], want_type, "{tx}");
    assert_eq!(tx["from"], ADDR0, "sender recovered from the signature");
    assert_eq!(tx["to"], ADDR1);
    assert_eq!(tx["value"], "12345");
    assert_eq!(tx["chain_id"], 31337);
    assert_eq!(tx["signed"], true);
    assert_eq!(item["params"][0], raw.as_str(), "the raw bytes are kept verbatim");
    check(tx);
    // Every type simulates (blob fields and 7702 authorizations included) to the value moving.
    let report = &item["report"];
    assert_eq!(report["outcome"]["status"], "success", "{item}");
    assert_eq!(report["transfers"][0]["amount"], "12345", "{report}");

    airlock.approve(item["id"].as_str().expect("id"));
    let resp = call.await.expect("join");
    assert_eq!(resp["result"], tx["hash"], "the client gets the node's answer: {resp}");
    let receipt = receipt(&Rpc::new(&anvil.url()), &tx["hash"]).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(hex_u64(&receipt["type"]), want_type);
}

#[tokio::test(flavor = "multi_thread")]
async fn legacy() {
    held_and_mined(&["--legacy"], 0, |tx| {
        assert!(tx["gas_price"].as_str().is_some());
        assert!(tx["max_fee_per_gas"].is_null());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn access_list_2930() {
    let list = format!(
        r#"[{{"address":"{ADDR2}","storageKeys":["0x0000000000000000000000000000000000000000000000000000000000000001"]}}]"#
    );
    held_and_mined(&["--legacy", "--access-list", &list], 1, |tx| {
        assert_eq!(tx["access_list"][0]["address"], ADDR2);
        assert_eq!(tx["access_list"][0]["storage_keys"].as_array().map(Vec::len), Some(1));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn eip1559() {
    held_and_mined(&[], 2, |tx| {
        assert!(tx["max_fee_per_gas"].as_str().is_some());
        assert!(tx["max_priority_fee_per_gas"].as_str().is_some());
        assert!(tx["gas_price"].is_null());
    })
    .await;
}

fn blob_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(f.path(), b"Airlock holds blobs too").expect("write");
    f
}

#[tokio::test(flavor = "multi_thread")]
async fn blob_4844_with_sidecar() {
    let blob = blob_file();
    let path = blob.path().to_str().expect("utf8 path");
    held_and_mined(&["--blob", "--eip4844", "--path", path], 3, |tx| {
        assert_eq!(tx["blob_count"], 1);
        assert_eq!(tx["blob_versioned_hashes"].as_array().map(Vec::len), Some(1));
        assert!(tx["max_fee_per_blob_gas"].as_str().is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn set_code_7702() {
    held_and_mined(&["--auth", ADDR2], 4, |tx| {
        let auth = &tx["authorization_list"][0];
        assert_eq!(auth["address"], ADDR2, "delegation target");
        assert_eq!(auth["authority"], ADDR0, "authority recovered from the authorization's signature");
    })
    .await;
}
