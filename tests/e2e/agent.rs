//! An agent's intents through the control API (`POST /api/propose`), the first piece of issue
//! 18: Airlock builds the request from a structured intent, holds it through the same pipeline
//! as any wallet's, and answers at once with the item; a bad intent gets a clear error and
//! nothing is held; a request that would do more than was asked is danger.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, token};

/// POSTs `intent` to the daemon's control API; (HTTP status, body).
pub(crate) async fn propose(airlock: &Airlock, intent: Value) -> (u16, Value) {
    airlock.post("/api/propose", &intent).await
}

/// A rules directory for a devnet: its token list (`[chain, address, symbol, decimals]` rows)
/// and its known venues (address, name, venue).
pub(crate) fn devnet_rules(tokens: Value, venues: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let rules = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(rules.path().join("lists")).expect("mkdir");
    let tokens = json!({ "source": "devnet", "tokens": tokens });
    std::fs::write(rules.path().join("lists/tokens.json"), tokens.to_string()).expect("tokens");
    let known: String = venues
        .iter()
        .map(|(address, name, venue)| {
            format!("[[known]]\nchain = 31337\naddress = \"{address}\"\nname = \"{name}\"\nkind = \"router\"\nvenue = \"{venue}\"\n\n")
        })
        .collect();
    std::fs::write(rules.path().join("lists/known.toml"), known).expect("known");
    rules
}

/// `who`'s balance of `token`, read straight from the node.
pub(crate) async fn token_balance(rpc: &Rpc, token: &str, who: &str) -> alloy_primitives::U256 {
    let data = calldata("balanceOf(address)", &[who]).await;
    let out = rpc.result("eth_call", json!([{ "to": token, "data": data }, "latest"])).await;
    alloy_primitives::U256::from_str_radix(out.as_str().expect("hex").trim_start_matches("0x"), 16).expect("u256")
}

#[tokio::test(flavor = "multi_thread")]
async fn intents_are_built_held_and_judged_like_any_send() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let tst = token(&up).await;
    // This devnet's token list: TST.
    let rules = devnet_rules(json!([[31337, tst, "TST", 18]]), &[]);
    let airlock = Airlock::start(&up, &["--rules", rules.path().to_str().expect("utf8")]);

    // ETH and a token by its symbol: held at once, with what was asked beside what it does.
    let (status, item) =
        propose(&airlock, json!({ "kind": "send", "from": ADDR0, "to": ADDR2, "amount": "0.01" })).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!((item["status"].as_str(), item["method"].as_str()), (Some("pending"), Some("eth_sendTransaction")));
    assert_eq!(item["asked"]["summary"], format!("send 0.01 ETH to {ADDR2}"), "{item}");
    assert!(item["report"]["outcome"]["status"] == "success", "simulated like any send: {item}");
    assert!(item["asked"]["mismatches"].is_null(), "{item}");
    let approved = airlock.approve(item["id"].as_str().expect("id"));
    assert_eq!(approved["status"], "forwarded", "{approved}");

    let intent = json!({ "kind": "send", "from": ADDR0, "to": ADDR2, "amount": "5", "token": "tst" });
    let (status, item) = propose(&airlock, intent).await;
    assert_eq!(status, 200, "{item}");
    let sent = item["report"]["transfers"][0].clone();
    assert_eq!((sent["amount"].as_str(), sent["to"].as_str()), (Some("5000000000000000000"), Some(ADDR2)), "{item}");
    assert!(!item["findings"].to_string().contains("intent-mismatch"), "{item}");
    assert_eq!(airlock.approve(item["id"].as_str().expect("id"))["status"], "forwarded");

    // Bad intents: a clear error, nothing held.
    let bad = [
        (json!({ "kind": "send", "from": ADDR0, "to": ADDR2, "amount": "1", "token": "SHIB" }), "unknown token"),
        (json!({ "kind": "send", "from": ADDR0, "to": ADDR2, "amount": "-1" }), "negative"),
        (json!({ "kind": "send", "from": ADDR0, "to": "0xdeadbeef", "amount": "1" }), "not an address"),
        (json!({ "kind": "send", "to": ADDR2, "amount": "1" }), "`from`"),
        (json!({ "kind": "teleport", "to": ADDR2 }), "not an intent"),
    ];
    for (intent, why) in bad {
        let (status, body) = propose(&airlock, intent.clone()).await;
        assert_eq!(status, 400, "{intent}: {body}");
        assert!(body.to_string().contains(why), "{intent}: {body}");
    }
    assert!(airlock.pending().is_empty(), "nothing held for a bad intent");

    // A call asked to move no tokens that moves some: danger, naming what was asked.
    let data = calldata("transfer(address,uint256)", &[ADDR2, "7"]).await;
    let (status, item) = propose(&airlock, json!({ "kind": "call", "from": ADDR0, "to": tst, "data": data })).await;
    assert_eq!(status, 200, "{item}");
    let f = item["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == "intent-mismatch").cloned();
    let f = f.unwrap_or_else(|| panic!("no intent-mismatch: {}", item["findings"]));
    assert_eq!(f["severity"], "danger");
    assert!(f["message"].as_str().expect("message").contains("which was not asked"), "{f}");
    assert_eq!(item["verdict"], "danger");
    // `airlock pending` shows what was asked beside what it does.
    let shown = stdout(&airlock.cli(&["pending"]));
    assert!(shown.contains(&format!("you asked  call {}", tst.to_lowercase())), "{shown}");
    assert!(shown.contains("!! BUT") && shown.contains("which was not asked"), "{shown}");
    airlock.reject(item["id"].as_str().expect("id"));
}

/// The same through MCP: the official TypeScript SDK's client starts `airlock mcp`, proposes a
/// send (approved here), follows it with `status` to its forward, and gets tool errors for
/// bad intents, with nothing held.
#[tokio::test(flavor = "multi_thread")]
async fn an_mcp_client_proposes_and_follows_through_the_sdk() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let data_dir = airlock.data_dir().to_str().expect("utf8").to_owned();
    let mut agent =
        tokio::process::Command::from(node("mcp_agent.mjs", &[env!("CARGO_BIN_EXE_airlock"), &data_dir, ADDR0, ADDR2]));
    agent.kill_on_drop(true);
    let run = tokio::spawn(async move { agent.output().await });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["asked"]["summary"], format!("send 0.02 ETH to {ADDR2}"), "{item}");
    assert_eq!(airlock.approve(item["id"].as_str().expect("id"))["status"], "forwarded");
    let out = run.await.expect("join").expect("node runs");
    let step = |name: &str| script_step(&out, name);
    assert_eq!(
        step("tools")["names"],
        json!(["approvals", "ask", "balances", "pending", "propose", "simulate", "status"])
    );
    let sim = step("simulate");
    assert_eq!((sim["isError"].as_bool(), sim["outcome"].as_str()), (Some(false), Some("success")), "{sim}");
    assert_eq!(
        (sim["asked"].as_str(), sim["sent"].as_str()),
        (Some(format!("send 0.03 ETH to {ADDR2}").as_str()), Some("30000000000000000")),
        "{sim}"
    );
    let approvals = step("approvals");
    assert_eq!(approvals["isError"], false, "{approvals}");
    assert!(approvals["body"].is_object(), "{approvals}");
    let schema = step("tools")["propose_schema"].to_string();
    assert!(schema.contains("\"send\"") && schema.contains("\"revoke\""), "the intent's schema: {schema}");
    let proposed = step("propose");
    assert_eq!((proposed["isError"].as_bool(), proposed["status"].as_str()), (Some(false), Some("pending")));
    assert_eq!(proposed["id"], item["id"]);
    let status = step("status");
    assert_eq!(status["status"], "forwarded", "{status}");
    assert!(status["result"].as_str().is_some_and(|h| h.starts_with("0x")), "the node's answer: {status}");
    let bad = step("bad");
    assert_eq!(bad["isError"], true);
    assert!(bad["text"].as_str().expect("text").contains("unknown token"), "{bad}");
    let malformed = step("malformed");
    assert_eq!(malformed["isError"], true, "{malformed}");
    assert!(airlock.pending().is_empty(), "nothing held for bad intents");
}

/// `propose` a swap: Airlock quotes it on the chain's Uniswap V2 router itself, sets the least
/// output from the intent's slippage, holds it, and once approved it is mined with the quoted
/// output. A swap with no pool, and one that asks for too much slippage, are refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_proposed_swap_is_quoted_held_and_mined_with_the_expected_output() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let (weth, router) = crate::simulate::uniswap_v2(&up).await;
    let tst = token(&up).await;
    let lonely = token(&up).await;
    crate::simulate::send(&up, &tst, "approve(address,uint256)", &[&router, "1000000000000000000000"], "0").await;
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    crate::simulate::send(
        &up,
        &router,
        add,
        &[&tst, "100000000000000000000", "0", "0", ADDR0, "9999999999"],
        "10ether",
    )
    .await;
    let tokens = json!([[31337, tst, "TST", 18], [31337, weth, "WETH", 18], [31337, lonely, "LONE", 18]]);
    let rules = devnet_rules(tokens, &[(&router, "devnet Uniswap V2", "uniswap-v2-router")]);
    let airlock = Airlock::start(&up, &["--rules", rules.path().to_str().expect("utf8")]);
    let direct = Rpc::new(&up);
    let before = token_balance(&direct, &tst, ADDR1).await;
    let intent = json!({ "kind": "swap", "from": ADDR1, "token_in": "ETH", "token_out": "TST", "amount": "0.1", "max_slippage_pct": 1.0 });
    let (status, item) = propose(&airlock, intent).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["asked"]["summary"], "swap 0.1 ETH for TST, at most 1% below the quote via Uniswap V2", "{item}");
    assert!(!item["findings"].to_string().contains("intent-mismatch"), "{item}");
    let expected = item["swap"]["expected_out"].as_str().expect("the swap is quoted on the page too").to_owned();
    let min_out = item["swap"]["min_out"].as_str().expect("min out").parse::<u128>().expect("u128");
    assert_eq!(min_out, expected.parse::<u128>().expect("u128") * 99 / 100, "1% below the quote: {}", item["swap"]);
    assert!(!item["findings"].to_string().contains("swap-slippage"), "{}", item["findings"]);
    // Airlock sets the gas limit from its own simulation, not the node's estimate at forward time.
    let gas = u64::from_str_radix(item["params"][0]["gas"].as_str().expect("gas set").trim_start_matches("0x"), 16);
    let used = item["report"]["gas_used"].as_u64().expect("gas used");
    assert_eq!(gas.expect("hex"), used * 125 / 100, "{item}");
    let approved = airlock.approve(item["id"].as_str().expect("id"));
    assert_eq!(approved["status"], "forwarded", "{approved}");
    let mined = receipt(&direct, &approved["result"]).await;
    if mined["status"] != "0x1" {
        let why =
            stdout(&output(cast(&["run", "--rpc-url", &up, approved["result"].as_str().unwrap_or_default()])).await);
        panic!("the swap reverted on chain: {mined}\n{why}\nitem: {item}");
    }
    let got = token_balance(&direct, &tst, ADDR1).await - before;
    assert_eq!(got.to_string(), expected, "mined with the quoted output");

    for (intent, why) in [
        (json!({ "kind": "swap", "from": ADDR1, "token_in": "ETH", "token_out": "LONE", "amount": "0.1" }), "no pool"),
        (
            json!({ "kind": "swap", "from": ADDR1, "token_in": "ETH", "token_out": "TST", "amount": "0.1", "max_slippage_pct": 90.0 }),
            "between 0 and 50",
        ),
        (
            json!({ "kind": "swap", "from": ADDR1, "token_in": "TST", "token_out": "TST", "amount": "1" }),
            "two different tokens",
        ),
    ] {
        let (status, body) = propose(&airlock, intent.clone()).await;
        assert_eq!(status, 400, "{intent}: {body}");
        assert!(body.to_string().contains(why), "{intent}: {body}");
    }
    assert!(airlock.pending().is_empty());

    // A builder that spends more than asked (the test hook: ten times the ETH): danger, with
    // what was asked and what it does side by side.
    let dir = tempfile::tempdir().expect("tempdir");
    let args = vec!["--rules".to_owned(), rules.path().to_str().expect("utf8").to_owned()];
    let hooked = Airlock::start_in_env(dir, &up, args, &[("AIRLOCK_TEST_OVERSPEND", "10")]);
    let intent = json!({ "kind": "swap", "from": ADDR1, "token_in": "ETH", "token_out": "TST", "amount": "0.1" });
    let (status, item) = propose(&hooked, intent).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(item["params"][0]["value"], "0xde0b6b3a7640000", "1 ETH, where 0.1 was asked: {item}");
    let f = item["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == "intent-mismatch").cloned();
    let f = f.unwrap_or_else(|| panic!("no intent-mismatch: {}", item["findings"]));
    assert_eq!((f["severity"].as_str(), item["verdict"].as_str()), (Some("danger"), Some("danger")), "{item}");
    assert!(item["asked"]["mismatches"][0].as_str().expect("shown").contains("1000000000000000000"), "{item}");
}

/// MCP over streamable HTTP on the control port, with the SDK's client: no token, no session;
/// names resolved through ENS on verified state (the registry and resolver from npm, on anvil)
/// and reverse names checked forward; balances read; an approval revoked by its id from the
/// approvals watch; names that do not resolve, look-alike names and `ask` without a model are
/// tool errors, with nothing held.
#[tokio::test(flavor = "multi_thread")]
async fn an_agent_over_http_uses_names_balances_and_revokes_from_the_watch() {
    let anvil = Anvil::start();
    let up = anvil.url();
    crate::ens::deploy_ens(&up).await;
    let tst = token(&up).await;
    let (weth, router) = crate::simulate::uniswap_v2(&up).await;
    crate::simulate::send(&up, &tst, "approve(address,uint256)", &[&router, "100000000000000000000"], "0").await;
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    let liquidity = ["100000000000000000000", "0", "0", ADDR0, "9999999999"];
    let args: Vec<&str> = std::iter::once(tst.as_str()).chain(liquidity).collect();
    crate::simulate::send(&up, &router, add, &args, "10ether").await;
    let tokens = json!([[31337, tst, "TST", 18], [31337, weth, "WETH", 18]]);
    let rules = devnet_rules(tokens, &[(&router, "devnet V2 router", "uniswap-v2-router")]);
    let airlock = Airlock::start(&up, &["--rules", rules.path().to_str().expect("utf8")]);
    let cf: Value =
        serde_json::from_slice(&std::fs::read(airlock.data_dir().join("control.json")).expect("control file"))
            .expect("control JSON");
    let (url, tok) = (cf["control_url"].as_str().expect("url"), cf["token"].as_str().expect("token"));
    let mut agent = tokio::process::Command::from(node("mcp_http_agent.mjs", &[url, tok, ADDR0]));
    agent.kill_on_drop(true);
    let run = tokio::spawn(async move { agent.output().await });

    // The person decides each proposal as it comes: the send to alice.eth, the approval to
    // bob.eth, the revoke, the swap.
    let mut seen = vec![];
    for n in 0..4 {
        let item = airlock.wait_pending(1)[0].clone();
        let id = item["id"].as_str().expect("id").to_owned();
        if n == 0 {
            assert_eq!(item["asked"]["summary"], format!("send 1 TST to alice.eth ({ADDR1})"), "{item}");
            let names = item["intel"]["names"].clone();
            assert_eq!(names, json!([{ "address": ADDR1, "name": "alice.eth" }]), "the reverse name: {item}");
            assert_eq!(item["report"]["transfers"][0]["to"], ADDR1, "{item}");
        }
        assert_eq!(airlock.approve(&id)["status"], "forwarded", "{item}");
        seen.push(item);
        while airlock.pending().iter().any(|i| i["id"] == id.as_str()) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
    let out = run.await.expect("join").expect("node runs");
    let step = |name: &str| script_step(&out, name);
    assert_eq!(step("unauth")["connected"], false, "no token, no MCP: {}", step("unauth"));
    assert_eq!(
        step("tools")["names"],
        json!(["approvals", "ask", "balances", "pending", "propose", "simulate", "status"])
    );
    let balances = step("balances");
    assert_eq!(balances["isError"], false, "{balances}");
    let account = &balances["body"]["accounts"][0];
    assert_eq!(account["address"], ADDR0, "{balances}");
    assert_eq!(account["tokens"][0]["symbol"], "TST", "{balances}");
    assert_eq!(account["tokens"][0]["balance"], "900000000000000000000", "less the pool's 100: {balances}");
    let sim = step("simulate");
    assert_eq!((sim["isError"].as_bool(), sim["outcome"].as_str()), (Some(false), Some("success")), "{sim}");
    assert_eq!(sim["asked"], format!("send 0.01 ETH to bob.eth ({ADDR2})"), "{sim}");
    assert!(balances["body"]["block"].as_u64().is_some(), "read at a block: {balances}");

    let send = step("send");
    assert_eq!((send["status"].as_str(), send["receipt"].as_str()), (Some("forwarded"), Some("0x1")), "{send}");
    assert!(send["pending"].as_array().is_some_and(|p| p.contains(&send["id"])), "seen waiting: {send}");
    assert_eq!(send["receipt_verified"], false, "the node's receipt, said to be unchecked: {send}");
    let approve = step("approve");
    assert_eq!(approve["asked"], format!("let bob.eth ({ADDR2}) spend unlimited TST"), "{approve}");
    assert_eq!(approve["names"], Value::Null, "bob.eth has no reverse record: {approve}");
    assert_eq!(approve["status"], "forwarded");
    let open = step("approvals");
    assert_eq!((open["count"].as_u64(), open["spender"].as_str()), (Some(1), Some(ADDR2)), "{open}");
    let revoke = step("revoke");
    assert_eq!(revoke["isError"], false, "{revoke}");
    let id = open["id"].as_str().expect("id");
    assert_eq!(revoke["asked"], format!("revoke {ADDR2}'s TST approval (watch id {id})"), "{revoke}");
    assert_eq!(revoke["status"], "forwarded", "{revoke}");
    assert_eq!(step("after")["count"], 0, "revoked: {}", step("after"));
    let revoke_item = &seen[2];
    assert_eq!(revoke_item["report"]["approvals"][0]["after"], "0", "{revoke_item}");

    for (name, why) in [
        ("unresolved", "nobody.eth has no resolver"),
        ("lookalike", "is not an ENS name Airlock reads"),
        ("bad-id", "no open approval has the id"),
        ("ask", "propose"),
    ] {
        let s = step(name);
        assert_eq!(s["isError"], true, "{s}");
        assert!(s["text"].as_str().expect("text").contains(why), "{name}: {s}");
    }
    let swap = step("swap");
    assert_eq!((swap["status"].as_str(), swap["receipt"].as_str()), (Some("forwarded"), Some("0x1")), "{swap}");
    assert!(swap["asked"].as_str().is_some_and(|a| a.contains("via Uniswap V2")), "{swap}");
    let amount =
        |k: &str| swap[k].as_str().and_then(|v| v.parse::<u128>().ok()).unwrap_or_else(|| panic!("{k}: {swap}"));
    assert_eq!(amount("after") - amount("before"), amount("expected"), "mined with the quoted output: {swap}");
    assert!(airlock.pending().is_empty(), "nothing held for bad intents");
}

/// `propose` a swap where the chain has both Uniswap V2 and V3: Airlock quotes every route on
/// both (V2's router, V3's QuoterV2; each fee tier), takes the best (a deep 0.05% V3 pool over
/// a shallow V2 pair), builds it for the V3 SwapRouter, and once approved it is mined with the
/// quoted output. ETH out goes through the router's multicall (swap, then unwrap to the sender).
#[tokio::test(flavor = "multi_thread")]
async fn a_proposed_swap_takes_the_best_pool_on_v2_or_v3() {
    const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    let anvil = Anvil::start_with(&["--code-size-limit", "50000"]);
    let up = anvil.url();
    let (weth, v2_router) = crate::simulate::uniswap_v2(&up).await;
    let (factory, positions, v3_router) = crate::swaps::uniswap_v3(&up, &weth).await;
    let quoter = crate::simulate::deploy(
        &up,
        "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
        "f(address,address)",
        &[&factory, &weth],
    )
    .await;
    let tst = token(&up).await;
    let send = crate::simulate::send;
    send(&up, &weth, "deposit()", &[], "200ether").await;
    for (t, spender) in [(&tst, &v2_router), (&tst, &positions), (&weth, &positions), (&tst, &v3_router)] {
        send(&up, t, "approve(address,uint256)", &[spender, MAX], "0").await;
    }
    // V2: 1 TST and 1 ETH, shallow. V3: 100 of each at 1:1 in the 0.05% pool, deep.
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(&up, &v2_router, add, &[&tst, "1000000000000000000", "0", "0", ADDR0, "9999999999"], "1ether").await;
    let (t0, t1) = if tst.to_lowercase() < weth.to_lowercase() { (&tst, &weth) } else { (&weth, &tst) };
    let init = "createAndInitializePoolIfNecessary(address,address,uint24,uint160)";
    send(&up, &positions, init, &[t0, t1, "500", "79228162514264337593543950336"], "0").await;
    let mint = "mint((address,address,uint24,int24,int24,uint256,uint256,uint256,uint256,address,uint256))";
    let hundred = "100000000000000000000";
    let params = format!("({t0},{t1},500,-887270,887270,{hundred},{hundred},0,0,{ADDR0},9999999999)");
    send(&up, &positions, mint, &[&params], "0").await;

    let venues = [
        (v2_router.as_str(), "devnet V2 router", "uniswap-v2-router"),
        (v3_router.as_str(), "devnet SwapRouter", "uniswap-v3-router"),
        (quoter.as_str(), "devnet QuoterV2", "uniswap-v3-quoter"),
    ];
    let rules = devnet_rules(json!([[31337, tst, "TST", 18], [31337, weth, "WETH", 18]]), &venues);
    let airlock = Airlock::start(&up, &["--rules", rules.path().to_str().expect("utf8")]);
    let direct = Rpc::new(&up);

    let before = token_balance(&direct, &tst, ADDR1).await;
    let intent = json!({ "kind": "swap", "from": ADDR1, "token_in": "ETH", "token_out": "TST", "amount": "0.1" });
    let (status, item) = propose(&airlock, intent).await;
    assert_eq!(status, 200, "{item}");
    assert_eq!(
        item["asked"]["summary"], "swap 0.1 ETH for TST, at most 0.5% below the quote via Uniswap V3 (0.05% pool)",
        "{item}"
    );
    assert_eq!(item["params"][0]["to"].as_str().map(str::to_lowercase), Some(v3_router.to_lowercase()), "{item}");
    assert!(!item["findings"].to_string().contains("intent-mismatch"), "{item}");
    assert!(!item["findings"].to_string().contains("swap-better-route"), "the best route was taken: {item}");
    let expected: alloy_primitives::U256 =
        item["swap"]["expected_out"].as_str().expect("quoted").parse().expect("u256");
    let approved = airlock.approve(item["id"].as_str().expect("id"));
    assert_eq!(approved["status"], "forwarded", "{approved}");
    assert_eq!(receipt(&direct, &approved["result"]).await["status"], "0x1");
    assert_eq!(token_balance(&direct, &tst, ADDR1).await - before, expected, "mined with the quoted output");

    // TST for ETH on V3: the swap to the router, then unwrapped to the sender.
    let intent = json!({ "kind": "swap", "from": ADDR0, "token_in": "TST", "token_out": "ETH", "amount": "1" });
    let (status, item) = propose(&airlock, intent).await;
    assert_eq!(status, 200, "{item}");
    assert!(item["asked"]["summary"].as_str().expect("asked").contains("via Uniswap V3"), "{item}");
    let got_eth = item["report"]["asset_changes"].as_array().expect("changes").iter().any(|c| {
        c["address"] == ADDR0 && c["asset"]["kind"] == "eth" && c["received"].as_str().is_some_and(|r| r != "0")
    });
    assert!(got_eth, "ETH arrives: {item}");
    let approved = airlock.approve(item["id"].as_str().expect("id"));
    assert_eq!(receipt(&direct, &approved["result"]).await["status"], "0x1", "{approved}");
}
