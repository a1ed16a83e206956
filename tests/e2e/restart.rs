//! The audit log survives restarts and crashes; what was open when the daemon stopped is shown
//! as abandoned and never forwarded.

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn restart_keeps_history_and_abandons_open_items() {
    let anvil = Anvil::start();
    let mut airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);

    // One decided item...
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "1"]).await;
    let first = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let rejected = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.reject(&rejected);
    assert_eq!(first.await.expect("join")["error"]["code"], 4001);

    // ...and one still open when the daemon stops.
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "2"]).await;
    let second = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_sendRawTransaction", json!([raw])).await }
    });
    let open = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.stop();
    let told = second.await.expect("join");
    assert_eq!(told["error"]["code"], -32080, "the waiting client is told nothing was forwarded: {told}");

    // With no daemon running, history reads the log directly.
    let history = airlock.history();
    let status = |id: &str| history.iter().find(|i| i["id"] == id).map(|i| i["status"].clone());
    assert_eq!(status(&rejected), Some(json!("rejected")));
    assert_eq!(status(&open), Some(json!("abandoned")));
    assert!(!airlock.data_dir().join("control.json").exists(), "a clean stop removes the control file");

    let airlock = airlock.restart();
    assert!(airlock.pending().is_empty(), "nothing from the last run is pending again");
    let history = airlock.history();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["id"], open.as_str(), "newest first");
    assert_eq!(history[0]["status"], "abandoned");
    assert_eq!(history[1]["status"], "rejected");
    assert!(!airlock.cli(&["approve", &open]).status.success(), "an abandoned item cannot be approved");
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x0");
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_leaves_open_items_abandoned_on_next_start() {
    let anvil = Anvil::start();
    let mut airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &[ADDR1, "--value", "3"]).await;
    let rpc = Rpc::new(&airlock.rpc);
    let held = tokio::spawn(async move {
        rpc.post_raw(json!({"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":[raw]}).to_string()).await
    });
    let id = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.crash();
    assert!(held.await.expect("join").is_err(), "the connection died with the daemon");

    let airlock = airlock.restart();
    assert!(airlock.pending().is_empty());
    let item = &airlock.history()[0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["status"], "abandoned");
    assert!(item["error"]["message"].as_str().is_some_and(|m| m.contains("nothing was forwarded")));
    let direct = Rpc::new(&anvil.url());
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x0");
}
