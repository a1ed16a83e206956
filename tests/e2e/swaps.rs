//! Swap quotes on anvil, with Uniswap V2 (factory, router, WETH9 from npm), V3 (v3-core,
//! v3-periphery) and the Universal Router (1.6.0) deployed and seeded here. A swap with
//! amountOutMin 0 gets the slippage finding with the expected output; a deeper route (through
//! WETH, another fee tier, or V2 next to V3 through the Universal Router) is shown as the
//! better one; a swap on that route with a tight minimum gets neither.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, deploy, held, send};

const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
const DEADLINE: &str = "9999999999";

/// The change in `token` for `who` in the item's report.
fn token_change(item: &Value, who: &str, token: &str) -> Value {
    item["report"]["asset_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| {
            c["address"].as_str().map(str::to_lowercase).as_deref() == Some(who)
                && c["asset"]["token"].as_str().map(str::to_lowercase) == Some(token.to_lowercase())
        })
        .cloned()
        .unwrap_or_else(|| panic!("{token} for {who}: {item}"))
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
    assert!(shown.contains("  swap   expects") && shown.contains("accepts at least 0 TKB"), "{shown}");

    // The deep route with a minimum 1% under its quote: neither finding.
    let weth_path = format!("[{tka},{weth},{tkb}]");
    let min = (via * alloy_primitives::U256::from(99) / alloy_primitives::U256::from(100)).to_string();
    let data = calldata(swap, &[one, &min, &weth_path, ADDR0, DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    assert_eq!(item["swap"]["expected_out"].as_str(), Some(via.to_string().as_str()), "{item}");
    assert_eq!(finding(&item, "swap-slippage"), None, "{item}");
    assert_eq!(finding(&item, "swap-better-route"), None, "{item}");

    // Exact output: 0.5 TKB for at most 10 TKA, where the route through WETH needs about 0.5.
    let exact = "swapTokensForExactTokens(uint256,uint256,address[],address,uint256)";
    let half = "500000000000000000";
    let data = calldata(exact, &[half, "10000000000000000000", &weth_path, ADDR0, DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    let q = &item["swap"];
    assert_eq!(q["max_in"], "10000000000000000000", "{item}");
    let paid: alloy_primitives::U256 = q["expected_in"].as_str().expect("paid").parse().expect("uint");
    let half_in = alloy_primitives::U256::from(400_000_000_000_000_000u64);
    assert!(paid > half_in && paid < alloy_primitives::U256::from(one.parse::<u128>().expect("one")), "{q}");
    let over = finding(&item, "swap-slippage").unwrap_or_else(|| panic!("exact-output slippage: {item}"));
    assert!(over.contains("may pay up to 10 TKA"), "{over}");
    // With a bound 2% over what it needs: no finding.
    let bound = (paid * alloy_primitives::U256::from(102) / alloy_primitives::U256::from(100)).to_string();
    let data = calldata(exact, &[half, &bound, &weth_path, ADDR0, DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    assert!(item["swap"]["max_in"].is_string(), "{item}");
    assert_eq!(finding(&item, "swap-slippage"), None, "{item}");
}

/// Uniswap V3 from npm (v3-core 1.0.1, v3-periphery 1.4.4): factory, position manager,
/// SwapRouter; (factory, position manager, router).
pub(crate) async fn uniswap_v3(up: &str, weth: &str) -> (String, String, String) {
    let core = "@uniswap/v3-core/artifacts/contracts";
    let periphery = "@uniswap/v3-periphery/artifacts/contracts";
    let factory = deploy(up, &format!("{core}/UniswapV3Factory.sol/UniswapV3Factory.json"), "", &[]).await;
    let zero = "0x0000000000000000000000000000000000000000";
    let positions = deploy(
        up,
        &format!("{periphery}/NonfungiblePositionManager.sol/NonfungiblePositionManager.json"),
        "f(address,address,address)",
        &[&factory, weth, zero],
    )
    .await;
    let router =
        deploy(up, &format!("{periphery}/SwapRouter.sol/SwapRouter.json"), "f(address,address)", &[&factory, weth])
            .await;
    (factory, positions, router)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_v3_swap_is_quoted_against_the_other_fee_tiers() {
    let anvil = Anvil::start_with(&["--code-size-limit", "50000"]);
    let up = anvil.url();
    let (weth, v2_router) = crate::simulate::uniswap_v2(&up).await;
    let (factory, positions, router) = uniswap_v3(&up, &weth).await;
    let quoter = deploy(
        &up,
        "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
        "f(address,address)",
        &[&factory, &weth],
    )
    .await;
    let preset = "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json";
    let sig = "f(string,string,uint256,address)";
    let supply = "1000000000000000000000000";
    let a = deploy(&up, preset, sig, &["Token A", "TKA", supply, ADDR0]).await;
    let b = deploy(&up, preset, sig, &["Token B", "TKB", supply, ADDR0]).await;
    let (t0, t1) = if a.to_lowercase() < b.to_lowercase() { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
    for t in [&a, &b] {
        for spender in [&positions, &router, &v2_router] {
            send(&up, t, "approve(address,uint256)", &[spender, MAX], "0").await;
        }
    }
    // A V2 pair of the same tokens, 100 of each: deeper than the 0.3% pool, shallower than the
    // 0.05% one.
    let hundred = "100000000000000000000";
    let add = "addLiquidity(address,address,uint256,uint256,uint256,uint256,address,uint256)";
    send(&up, &v2_router, add, &[&a, &b, hundred, hundred, "0", "0", ADDR0, DEADLINE], "0").await;
    // Two pools at the same price (1:1): 0.3% shallow (1 of each), 0.05% deep (1000 of each).
    let price = "79228162514264337593543950336";
    let init = "createAndInitializePoolIfNecessary(address,address,uint24,uint160)";
    let mint = "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))";
    for (fee, tick, amount) in [("3000", "887220", "1000000000000000000"), ("500", "887270", "1000000000000000000000")]
    {
        send(&up, &positions, init, &[&t0, &t1, fee, price], "0").await;
        let params = format!("({t0},{t1},{fee},-{tick},{tick},{amount},{amount},0,0,{ADDR0},{DEADLINE})");
        send(&up, &positions, mint, &[&params], "0").await;
    }

    // The devnet's venues, as a user's list names them: V3 swaps are also quoted on V2 pools
    // through the router, V2 swaps on V3 pools through the quoter.
    let rules = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(rules.path().join("lists")).expect("mkdir");
    let entry = |address: &str, name: &str, kind: &str, venue: &str| {
        format!(
            "[[known]]\nchain = 31337\naddress = \"{address}\"\nname = \"{name}\"\nkind = \"{kind}\"\nvenue = \"{venue}\"\n\n"
        )
    };
    let known = entry(&v2_router, "devnet V2 router", "router", "uniswap-v2-router")
        + &entry(&quoter, "devnet QuoterV2", "other", "uniswap-v3-quoter");
    std::fs::write(rules.path().join("lists/known.toml"), known).expect("write");
    let airlock = Airlock::start(&up, &["--rules", rules.path().to_str().expect("utf8")]);
    let swap = "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))";
    let one = "1000000000000000000";
    let params = format!("({a},{b},3000,{ADDR0},{DEADLINE},{one},0,0)");
    let data = calldata(swap, &[&params]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    let q = &item["swap"];
    // Expected: what the simulation gave the recipient.
    let got = token_change(&item, ADDR0, &b);
    assert_eq!(q["expected_out"], got["received"], "{q}");
    assert_eq!(q["min_out"], "0");
    assert!(finding(&item, "swap-slippage").is_some_and(|m| m.contains("TKB")), "{item}");
    // The 0.05% pool is deeper: quoted higher, and shown.
    let tier = |q: &Value, fee: u64| {
        q["routes"]
            .as_array()
            .expect("routes")
            .iter()
            .find(|r| r["fees"] == json!([fee]) && r["path"].as_array().map(Vec::len) == Some(2))
            .cloned()
    };
    let deep = tier(q, 500).expect("the 500 tier");
    let deep_out: alloy_primitives::U256 = deep["out"].as_str().expect("quoted").parse().expect("uint");
    let own: alloy_primitives::U256 = q["expected_out"].as_str().expect("expected").parse().expect("uint");
    assert!(deep_out > own, "{q}");
    let better = finding(&item, "swap-better-route").unwrap_or_else(|| panic!("better route: {item}"));
    assert!(better.contains("0.05% fee pool"), "{better}");
    // Tiers without a pool are quoted as such.
    assert!(tier(q, 10000).is_some_and(|r| r["out"].is_null()), "{q}");
    // The V2 pair is quoted through the listed router: its own getAmountsOut, read here.
    let v2_direct = format!("[{a},{b}]");
    let read = calldata("getAmountsOut(uint256,address[])", &[one, &v2_direct]).await;
    let answer = Rpc::new(&up).result("eth_call", json!([{ "to": v2_router, "data": read }, "latest"])).await;
    let answer = answer.as_str().expect("hex");
    let v2_out = alloy_primitives::U256::from_str_radix(&answer[answer.len() - 64..], 16).expect("uint");
    let routes = q["routes"].as_array().expect("routes");
    let v2 = routes.iter().find(|r| r["venue"] == "Uniswap V2" && r["path"].as_array().map(Vec::len) == Some(2));
    assert_eq!(v2.map(|r| &r["out"]), Some(&json!(v2_out.to_string())), "{q}");
    assert!(v2_out > own && v2_out < deep_out, "{q}");

    // A multi-hop path (exactInput): what the simulation gives, next to the minimum.
    let path = format!("0x{}0001f4{}", a.trim_start_matches("0x"), b.trim_start_matches("0x"));
    let multi = "exactInput((bytes,address,uint256,uint256,uint256))";
    let data = calldata(multi, &[&format!("({path},{ADDR0},{DEADLINE},{one},0)")]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": router, "data": data })).await;
    let q = &item["swap"];
    assert_eq!(q["token_out"].as_str().map(str::to_lowercase), Some(b.to_lowercase()), "{item}");
    assert_eq!(q["expected_out"].as_str(), Some(deep_out.to_string().as_str()), "the 0.05% pool's output: {q}");
    assert!(finding(&item, "swap-slippage").is_some(), "{item}");
    // Its alternatives are quoted too: the shallow 0.3% pool gives less, so no better route.
    let shallow = tier(q, 3000).expect("the 3000 tier");
    let shallow_out: alloy_primitives::U256 = shallow["out"].as_str().expect("quoted").parse().expect("uint");
    assert_eq!(shallow_out, own, "the same trade in the 0.3% pool as the first request: {q}");
    assert_eq!(finding(&item, "swap-better-route"), None, "{item}");
    // Through WETH: tried, and no pools there.
    let via_weth = q["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .filter(|r| r["venue"] == "Uniswap V3" && r["path"].as_array().map(Vec::len) == Some(3));
    assert!(via_weth.clone().count() == 4 && via_weth.clone().all(|r| r["out"].is_null()), "{q}");

    // A V2 router's swap of the same trade, with no minimum: quoted on the V3 pools through the
    // QuoterV2, which gives what the simulated SwapRouter calls gave for each tier.
    let v2_swap = "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)";
    let data = calldata(v2_swap, &[one, "0", &v2_direct, ADDR0, DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": v2_router, "data": data })).await;
    let q = &item["swap"];
    assert_eq!(q["expected_out"].as_str(), Some(v2_out.to_string().as_str()), "{item}");
    assert_eq!(tier(q, 500).map(|r| r["out"].clone()), Some(json!(deep_out.to_string())), "{q}");
    assert_eq!(tier(q, 3000).map(|r| r["out"].clone()), Some(json!(own.to_string())), "{q}");
    let better = finding(&item, "swap-better-route").unwrap_or_else(|| panic!("better route: {item}"));
    assert!(better.contains("Uniswap V3") && better.contains("0.05% fee pool"), "{better}");
}

/// Universal Router 1.6.0 from npm, on the V2 and V3 factories here: its constructor's
/// parameters are (permit2, weth9, 14 marketplace addresses, v2Factory, v3Factory, pair and
/// pool init code hashes). The hashes are those the V2 and V3 periphery packages carry, which
/// the routers of the other tests already use on these factories.
async fn universal_router(up: &str, weth: &str, v2_factory: &str, v3_factory: &str) -> String {
    let zero = "0x0000000000000000000000000000000000000000";
    let pair_hash = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f";
    let pool_hash = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54";
    let mut fields = vec![zero, weth];
    fields.extend([zero; 14]);
    fields.extend([v2_factory, v3_factory, pair_hash, pool_hash]);
    let types = format!("f(({}))", ["address"; 18].into_iter().chain(["bytes32"; 2]).collect::<Vec<_>>().join(","));
    let artifact = "@uniswap/universal-router/artifacts/contracts/UniversalRouter.sol/UniversalRouter.json";
    deploy(up, artifact, &types, &[&format!("({})", fields.join(","))]).await
}

async fn abi_encode(signature: &str, args: &[&str]) -> String {
    let mut a = vec!["abi-encode", signature];
    a.extend_from_slice(args);
    stdout(&output(cast(&a)).await).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_universal_router_swap_is_quoted_on_v2_and_v3_pools() {
    let anvil = Anvil::start_with(&["--code-size-limit", "50000"]);
    let up = anvil.url();
    let (weth, v2_router) = crate::simulate::uniswap_v2(&up).await;
    let factory = Rpc::new(&up)
        .result("eth_call", json!([{ "to": v2_router, "data": calldata("factory()", &[]).await }, "latest"]))
        .await;
    let v2_factory = format!("0x{}", &factory.as_str().expect("word")[26..]);
    let (v3_factory, positions, _) = uniswap_v3(&up, &weth).await;
    let preset = "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json";
    let sig = "f(string,string,uint256,address)";
    let tkb = deploy(&up, preset, sig, &["Token B", "TKB", "1000000000000000000000000", ADDR0]).await;
    // WETH to TKB at 1:1 in two places: a deep V2 pair (100 of each) and a shallow V3 pool at
    // 0.3% (1 of each).
    let hundred = "100000000000000000000";
    send(&up, &tkb, "approve(address,uint256)", &[&v2_router, MAX], "0").await;
    let add_eth = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(&up, &v2_router, add_eth, &[&tkb, hundred, "0", "0", ADDR0, DEADLINE], "100ether").await;
    send(&up, &weth, "deposit()", &[], "1ether").await;
    for t in [&weth, &tkb] {
        send(&up, t, "approve(address,uint256)", &[&positions, MAX], "0").await;
    }
    let (t0, t1) = if weth.to_lowercase() < tkb.to_lowercase() { (&weth, &tkb) } else { (&tkb, &weth) };
    let init = "createAndInitializePoolIfNecessary(address,address,uint24,uint160)";
    send(&up, &positions, init, &[t0, t1, "3000", "79228162514264337593543950336"], "0").await;
    let one = "1000000000000000000";
    let mint = "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))";
    let params = format!("({t0},{t1},3000,-887220,887220,{one},{one},0,0,{ADDR0},{DEADLINE})");
    send(&up, &positions, mint, &[&params], "0").await;
    let ur = universal_router(&up, &weth, &v2_factory, &v3_factory).await;

    let airlock = Airlock::start(&up, &[]);
    // 1 ETH for TKB as the Uniswap app sends it: WRAP_ETH to the router, then the swap, paid by
    // the router, to the caller; here through the shallow V3 pool with no minimum.
    let (caller, router_itself) =
        ("0x0000000000000000000000000000000000000001", "0x0000000000000000000000000000000000000002");
    let wrap = abi_encode("f(address,uint256)", &[router_itself, one]).await;
    let path = format!("0x{}000bb8{}", weth.trim_start_matches("0x"), tkb.trim_start_matches("0x"));
    let swap = abi_encode("f(address,uint256,uint256,bytes,bool)", &[caller, one, "0", &path, "false"]).await;
    let execute = "execute(bytes,bytes[],uint256)";
    let data = calldata(execute, &["0x0b00", &format!("[{wrap},{swap}]"), DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": ur, "data": data, "value": "0xde0b6b3a7640000" })).await;
    let q = &item["swap"];
    let got = token_change(&item, ADDR0, &tkb);
    assert_eq!(q["expected_out"], got["received"], "what the simulation gave the caller: {item}");
    assert_eq!(q["min_out"], "0");
    assert_eq!(q["routes"][0]["venue"], "Uniswap V3", "{q}");
    assert!(finding(&item, "swap-slippage").is_some_and(|m| m.contains("TKB")), "{item}");
    // The deep V2 pair is quoted through the same router, and shown as the better route.
    let routes = q["routes"].as_array().expect("routes");
    let v2 = routes.iter().find(|r| r["venue"] == "Uniswap V2").cloned().unwrap_or_else(|| panic!("V2 route: {q}"));
    let v2_out: alloy_primitives::U256 = v2["out"].as_str().expect("quoted").parse().expect("uint");
    let own: alloy_primitives::U256 = q["expected_out"].as_str().expect("expected").parse().expect("uint");
    assert!(v2_out > own, "{q}");
    let better = finding(&item, "swap-better-route").unwrap_or_else(|| panic!("better route: {item}"));
    assert!(better.contains("Uniswap V2"), "{better}");
    // The other V3 tiers have no pool here.
    assert!(routes.iter().any(|r| r["fees"] == json!([500]) && r["out"].is_null()), "{q}");
    let shown = stdout(&airlock.cli(&["history"]));
    assert!(shown.contains("via Uniswap V2"), "{shown}");

    // The same trade on the V2 pair with a minimum 1% under that quote: the simulation of the
    // person's own call gives what the alternative said, and neither finding fires.
    let min = (v2_out * alloy_primitives::U256::from(99) / alloy_primitives::U256::from(100)).to_string();
    let v2_swap = abi_encode(
        "f(address,uint256,uint256,address[],bool)",
        &[caller, one, &min, &format!("[{weth},{tkb}]"), "false"],
    )
    .await;
    let data = calldata(execute, &["0x0b08", &format!("[{wrap},{v2_swap}]"), DEADLINE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": ur, "data": data, "value": "0xde0b6b3a7640000" })).await;
    let q = &item["swap"];
    assert_eq!(q["expected_out"].as_str(), Some(v2_out.to_string().as_str()), "{item}");
    assert_eq!(finding(&item, "swap-slippage"), None, "{item}");
    assert_eq!(finding(&item, "swap-better-route"), None, "{item}");
    let v3 =
        q["routes"].as_array().expect("routes").iter().find(|r| r["fees"] == json!([3000])).cloned().expect("3000");
    assert_eq!(v3["out"].as_str(), Some(own.to_string().as_str()), "the V3 pool quoted as the first request ran: {q}");
}
