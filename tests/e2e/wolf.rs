//! No crying wolf (issue 15): the evasion check counts what the person would lose, not whether
//! the call succeeds. A swap sent as Uniswap's interface sends it (a 30-minute deadline)
//! reverts in the "one hour later" environment, and that is no divergence; a time-bomb
//! drainer, harmless for its first half hour and keeping the value after, is still danger.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, deploy_code, held, send, token};

const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn rules(item: &Value) -> Vec<&str> {
    item["findings"].as_array().into_iter().flatten().filter_map(|f| f["rule"].as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_ui_style_swap_is_no_divergence_and_a_time_bomb_is_danger() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let out = output(node("solc.mjs", &[repo().join("tests/contracts/Scenarios.sol").to_str().expect("utf8")])).await;
    let compiled: Value = serde_json::from_slice(&out.stdout).expect("solc output");
    let bomb = deploy_code(&up, compiled["TimeBomb"]["bytecode"].as_str().expect("bytecode"), "", &[]).await;
    let (weth, router) = crate::simulate::uniswap_v2(&up).await;
    let tst = token(&up).await;
    send(&up, &tst, "approve(address,uint256)", &[&router, MAX], "0").await;
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(&up, &router, add, &[&tst, "100000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether").await;
    let airlock = Airlock::start(&up, &[]);

    // As the interface sends it: 0.5% slippage bound, the deadline 30 minutes from now.
    let now = hex_u64(&Rpc::new(&up).result("eth_getBlockByNumber", json!(["latest", false])).await["timestamp"]);
    let deadline = (now + 1800).to_string();
    let data = calldata(
        "swapExactETHForTokens(uint256,address[],address,uint256)",
        &["1", &format!("[{weth},{tst}]"), ADDR1, &deadline],
    )
    .await;
    let swap = held(&airlock, json!({ "from": ADDR1, "to": router, "value": "0xde0b6b3a7640000", "data": data })).await;
    assert_eq!(swap["report"]["outcome"]["status"], "success", "{swap}");
    assert_eq!(swap["report"]["divergences"], json!([]), "an hour later it reverts, taking nothing: {swap}");
    assert!(!rules(&swap).contains(&"simulation-divergence"), "{:?}", rules(&swap));
    assert_ne!(swap["verdict"], "danger", "{swap}");

    // The time bomb refunds now and keeps the value once armed: danger, naming who gets it.
    let claim =
        held(&airlock, json!({ "from": ADDR1, "to": bomb, "value": "0xde0b6b3a7640000", "data": "0x4e71d92d" })).await;
    let divergences = claim["report"]["divergences"].as_array().expect("divergences").clone();
    assert_eq!(divergences.len(), 1, "{claim}");
    assert_eq!(divergences[0]["environment"], "a block one hour later");
    let difference = divergences[0]["difference"].as_str().expect("difference").to_lowercase();
    assert!(difference.contains("instead of 1000000000000000000") && difference.contains(ADDR0), "{difference}");
    assert!(rules(&claim).contains(&"simulation-divergence"), "{:?}", rules(&claim));
    assert_eq!(claim["verdict"], "danger");

    // A paid "security update" passes the ETH on: the report follows it to where it ends up.
    let code = compiled["Forwarder"]["bytecode"].as_str().expect("bytecode");
    let forwarder = deploy_code(&up, code, "f(address)", &[ADDR2]).await;
    let paid =
        held(&airlock, json!({ "from": ADDR1, "to": forwarder, "value": "0xde0b6b3a7640000", "data": "0xaf347b61" }))
            .await;
    let onward = &paid["report"]["final_recipients"][0];
    assert_eq!((&onward["address"], &onward["via"]), (&json!(ADDR2), &json!(forwarder.to_lowercase())), "{paid}");
    assert_eq!(onward["amount"], "1000000000000000000");
    assert!(rules(&paid).contains(&"value-forwarded"), "{:?}", rules(&paid));
}

/// A token calling itself USDC on a chain with no list of its own (a devnet) is flagged as a
/// warning, not as an attack (the devnet's own copy would be called one); a token with a
/// name of its own is not flagged.
#[tokio::test(flavor = "multi_thread")]
async fn a_fake_usdc_on_a_chain_without_a_list_is_flagged() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let preset = "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json";
    let sig = "f(string,string,uint256,address)";
    let usdc = crate::simulate::deploy(&up, preset, sig, &["USD Coin", "USDC", "1000000000000", ADDR0]).await;
    let tst = token(&up).await;
    let airlock = Airlock::start(&up, &[]);
    let pay = |token: &str| {
        let token = token.to_owned();
        async move {
            json!({ "from": ADDR0, "to": token, "data": calldata("transfer(address,uint256)", &[ADDR1, "1000"]).await })
        }
    };
    let fake = held(&airlock, pay(&usdc).await).await;
    let finding = fake["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == "unlisted-famous-symbol");
    let finding = finding.unwrap_or_else(|| panic!("flagged: {fake}"));
    assert_eq!(finding["severity"], "warn");
    assert!(finding["message"].as_str().is_some_and(|m| m.contains("USDC")), "{finding}");
    // The item says which checks could not run: here, no token list for this chain.
    let unchecked = fake["unchecked"].as_array().expect("unchecked");
    assert!(
        unchecked.iter().any(|u| u.as_str().is_some_and(|u| u.starts_with("token list: none for chain 31337"))),
        "{fake}"
    );
    let shown = stdout(&airlock.cli(&["history"]));
    assert!(shown.contains("not checked: token list: none for chain 31337"), "{shown}");
    let own = held(&airlock, pay(&tst).await).await;
    assert!(!rules(&own).contains(&"unlisted-famous-symbol"), "{:?}", rules(&own));
}
