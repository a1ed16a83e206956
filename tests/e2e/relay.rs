//! `--private-relay`: an approved signed swap goes to the relay (a second anvil, forked from the
//! first, standing in for a private relay), not to the public upstream; a plain send still goes
//! to the upstream; each item says where it went.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, send, token, uniswap_v2};

/// Sends `raw` through Airlock and approves it; the decided item.
async fn approved(airlock: &Airlock, raw: String) -> Value {
    through(airlock, "eth_sendRawTransaction", json!([raw])).await;
    airlock.history()[0].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_swap_goes_to_the_private_relay_and_a_send_to_the_upstream() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let (weth, router) = uniswap_v2(&up).await;
    let tst = token(&up).await;
    send(&up, &tst, "approve(address,uint256)", &[&router, &u128::MAX.to_string()], "0").await;
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(&up, &router, add, &[&tst, "100000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether").await;
    // The relay: its own chain, forked from the upstream's state.
    let relay = Anvil::start_with(&["--fork-url", &up]);
    let airlock = Airlock::start(&up, &["--private-relay", &relay.url()]);

    let data = calldata(
        "swapExactETHForTokens(uint256,address[],address,uint256)",
        &["1", &format!("[{weth},{tst}]"), ADDR0, "9999999999"],
    )
    .await;
    let raw = mktx(&up, &[&router, &data, "--value", "1ether"]).await;
    let item = approved(&airlock, raw).await;
    assert!(item["swap"].is_object(), "recognised as a swap: {item}");
    assert_eq!(item["sent_to"], "private relay", "{item}");
    let hash = item["result"].as_str().expect("hash").to_owned();
    // Received and mined by the relay. (Not its status: a forked anvil reads the upstream's
    // state lazily, and under load a read can fail and the swap revert there.)
    let on_relay = Rpc::new(&relay.url()).result("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(on_relay["transactionHash"], hash.as_str(), "mined by the relay: {on_relay}");
    let on_upstream = Rpc::new(&up).result("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(on_upstream, Value::Null, "never seen by the public upstream");
    let shown = stdout(&airlock.cli(&["history"]));
    assert!(shown.contains("sent   to the private relay"), "{shown}");

    // A plain send is not a swap: it goes to the upstream.
    let raw = mktx(&up, &[ADDR1, "--value", "1"]).await;
    let item = approved(&airlock, raw).await;
    assert_eq!(item["sent_to"], "upstream", "{item}");
    let hash = item["result"].as_str().expect("hash").to_owned();
    assert_eq!(Rpc::new(&up).result("eth_getTransactionReceipt", json!([hash])).await["status"], "0x1");
}
