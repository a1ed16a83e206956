//! Swap quotes on anvil, with Uniswap V2 (factory, router, WETH9 from npm) seeded here: a
//! shallow direct pool and deep pools through WETH. A swap with amountOutMin 0 gets the
//! slippage finding with the router's own expected output; the deeper route through WETH is
//! shown as the better one; a swap on that route with a tight minimum gets neither.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, deploy, send};

const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const DEADLINE: &str = "9999999999";

/// Holds `tx`, rejects it; the held item.
async fn held(airlock: &Airlock, tx: Value) -> Value {
    let rpc = Rpc::new(&airlock.rpc);
    let task = tokio::spawn(async move { rpc.call("eth_sendTransaction", json!([tx])).await });
    let item = airlock.wait_pending(1)[0].clone();
    airlock.reject(item["id"].as_str().expect("id"));
    task.await.expect("join");
    item
}

fn finding(item: &Value, rule: &str) -> Option<String> {
    item["findings"]
        .as_array()?
        .iter()
        .find(|f| f["rule"] == rule)
        .and_then(|f| f["message"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_swap_that_accepts_anything_is_flagged_and_the_deeper_route_is_shown() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let (weth, router) = crate::simulate::uniswap_v2(&up).await;
    let preset = "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json";
    let sig = "f(string,string,uint256,address)";
    let supply = "1000000000000000000000000";
    let tka = deploy(&up, preset, sig, &["Token A", "TKA", supply, ADDR0]).await;
    let tkb = deploy(&up, preset, sig, &["Token B", "TKB", supply, ADDR0]).await;
    for t in [&tka, &tkb] {
        send(&up, t, "approve(address,uint256)", &[&router, MAX], "0").await;
    }
    // Direct: 1 TKA to 1 TKB, shallow. Through WETH: 1000 of each token to 10 ETH, deep.
    let one = "1000000000000000000";
    let add = "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)";
    send(&up, &router, add, &[&tka, &tkb, one, one, "0", "0", ADDR0, DEADLINE], "0").await;
    let add_eth = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    for t in [&tka, &tkb] {
        send(&up, &router, add_eth, &[t, "1000000000000000000000", "0", "0", ADDR0, DEADLINE], "10ether").await;
    }

    let airlock = Airlock::start(&up, &[]);
    let swap = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)";
    let direct_path = format!("[{tka},{tkb}]");
    let data = calldata(swap, &[one, "0", &direct_path, ADDR0, DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    let q = &item["swap"];
    // The expected output is the router's own quote on the chain.
    let quote = calldata("getAmountsOut(uint256,address[])", &[one, &direct_path]).await;
    let answer = Rpc::new(&up).result("eth_call", json!([{ "to": router, "data": quote }, "latest"])).await;
    let answer = answer.as_str().expect("hex");
    let last = &answer[answer.len() - 64..];
    let on_chain = alloy_primitives::U256::from_str_radix(last, 16).expect("uint");
    assert_eq!(q["expected_out"].as_str(), Some(on_chain.to_string().as_str()), "{q}");
    assert_eq!(q["min_out"], "0");
    let slippage = finding(&item, "swap-slippage").unwrap_or_else(|| panic!("slippage finding: {item}"));
    assert!(slippage.contains("TKB") && slippage.contains("100%"), "{slippage}");
    // The route through WETH is deeper: quoted, and shown as better.
    let routes = q["routes"].as_array().expect("routes");
    assert_eq!(routes.len(), 2, "{q}");
    assert_eq!(routes[1]["path"][1].as_str().map(str::to_lowercase), Some(weth.to_lowercase()));
    let via: alloy_primitives::U256 = routes[1]["out"].as_str().expect("quoted").parse().expect("uint");
    assert!(via > on_chain, "the deep route gives more: {via} vs {on_chain}");
    let better = finding(&item, "swap-better-route").unwrap_or_else(|| panic!("better route: {item}"));
    assert!(better.contains(&weth.to_lowercase()), "{better}");
    let shown = stdout(&airlock.cli(&["history"]));
    assert!(shown.contains("swap"), "{shown}");

    // The deep route with a minimum 1% under its quote: neither finding.
    let weth_path = format!("[{tka},{weth},{tkb}]");
    let min = (via * alloy_primitives::U256::from(99) / alloy_primitives::U256::from(100)).to_string();
    let data = calldata(swap, &[one, &min, &weth_path, ADDR0, DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    assert_eq!(item["swap"]["expected_out"].as_str(), Some(via.to_string().as_str()), "{item}");
    assert_eq!(finding(&item, "swap-slippage"), None, "{item}");
    assert_eq!(finding(&item, "swap-better-route"), None, "{item}");
}
