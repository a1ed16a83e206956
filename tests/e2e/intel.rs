//! Who a request deals with (issue 16), on anvil with contracts written for these tests
//! (tests/contracts/Intel.sol), each with its benign twin: bundled threat lists and the
//! allow-list, `airlock intel update` from a local HTTP server (success, a bad hash, a download
//! cut short), a contract's age (young and aged, and unknown without history), an EIP-1967
//! proxy with a key for admin, a 7702 delegate that is only a fallback, and a honeypot and a
//! 90%-tax token caught by selling them back.

use std::io::Write;

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, deploy_code, held, send, token, uniswap_v2};

/// The first address of the bundled Forta phishing list (labels_1_phishing_scams.csv).
const PHISHER: &str = "0x000000000532b45f47779fce440748893b257865";
const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

async fn compiled() -> Value {
    let out = output(node("solc.mjs", &[repo().join("tests/contracts/Intel.sol").to_str().expect("utf8")])).await;
    assert!(out.status.success(), "solc: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("solc output")
}

fn code(c: &Value, name: &str) -> String {
    c[name]["bytecode"].as_str().expect("bytecode").to_owned()
}

fn rules_of(item: &Value) -> Vec<String> {
    item["findings"].as_array().into_iter().flatten().filter_map(|f| f["rule"].as_str().map(str::to_owned)).collect()
}

fn finding<'a>(item: &'a Value, rule: &str) -> &'a Value {
    item["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} finding: {}", item["findings"]))
}

/// What `item` says of the contract at `address`.
fn provenance<'a>(item: &'a Value, address: &str) -> &'a Value {
    item["intel"]["contracts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["address"] == address)
        .unwrap_or_else(|| panic!("no provenance of {address}: {}", item["intel"]))
}

fn write_config(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join(format!("config-{}.toml", sha256_hex(text.as_bytes())));
    std::fs::write(&path, text).expect("config");
    path.to_str().expect("utf8").to_owned()
}

async fn rpc(up: &str, method: &str, params: Value) -> Value {
    Rpc::new(up).result(method, params).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_send_to_a_listed_address_is_danger_with_its_source_and_an_allowed_one_is_not() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let item = held(&airlock, json!({ "from": ADDR0, "to": PHISHER, "value": "0x1" })).await;
    let f = finding(&item, "blocklisted");
    assert_eq!(f["severity"], "danger");
    let message = f["message"].as_str().expect("message");
    assert!(message.contains("Fake_Phishing3901") && message.contains("forta-phishing"), "{message}");
    assert!(message.contains("forta-network/labelled-datasets"), "the source is named: {message}");
    assert_eq!(item["intel"]["listed"][0]["list"], "forta-phishing", "{}", item["intel"]);
    // The benign twin: a plain send to an address on no list.
    let item = held(&airlock, json!({ "from": ADDR0, "to": ADDR2, "value": "0x1" })).await;
    assert!(!rules_of(&item).contains(&"blocklisted".to_owned()), "{}", item["findings"]);

    // On the person's allow-list, the same address is never flagged: not by a bundled list, and
    // not by a rules directory's blocklist.txt either.
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&dir, &format!("[intel]\nallow = [\"{PHISHER}\"]\n"));
    std::fs::create_dir(dir.path().join("lists")).expect("mkdir");
    std::fs::write(dir.path().join("lists/blocklist.txt"), format!("{PHISHER} # mine\n")).expect("blocklist");
    let rules = dir.path().to_str().expect("utf8");
    let airlock = Airlock::start(&anvil.url(), &["--config", &config, "--rules", rules]);
    let item = held(&airlock, json!({ "from": ADDR0, "to": PHISHER, "value": "0x1" })).await;
    assert!(!rules_of(&item).contains(&"blocklisted".to_owned()), "{}", item["findings"]);
    assert!(item["intel"]["listed"].is_null(), "{}", item["intel"]);
}

/// Serves `/good` and `/bad` whole, and `/cut` as a body that stops halfway (its
/// content-length promises more).
fn list_server(good: String, bad: String) -> String {
    serve_with(move |path| match path {
        "/good" => ("200 OK", good.len(), good.clone()),
        "/bad" => ("200 OK", bad.len(), bad.clone()),
        _ => ("200 OK", good.len(), good[..good.len() / 2].to_owned()),
    })
}

fn sha256_hex(bytes: &[u8]) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().expect("stdin").write_all(bytes)?;
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().expect("hash").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn intel_update_replaces_a_list_only_when_whole_and_pinned() {
    let listed = "0x00000000000000000000000000000000000d7a1e";
    let good = format!("# a drainer list\n{listed} # devnet drainer\n{} # another\n", ADDR2);
    let bad = format!("{listed} # tampered\n");
    let server = list_server(good.clone(), bad);
    let dir = tempfile::tempdir().expect("tempdir");
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = &data.path().to_str().expect("utf8").to_owned();
    let config_for = |path: &str, sha: &str| {
        write_config(
            &dir,
            &format!(
                "[[intel.list]]\nname = \"drainers\"\nurl = \"{server}{path}\"\nformat = \"lines\"\n{sha}\
                 source = \"a local server\"\n"
            ),
        )
    };
    let airlock_cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_airlock")).args(args).output().expect("airlock runs")
    };
    let status = |config: &str| -> Value {
        let out = airlock_cli(&["intel", "status", "--json", "--config", config, "--data-dir", data_dir]);
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_slice(&out.stdout).expect("status JSON")
    };
    let drainers = |s: &Value| s["lists"].as_array().expect("lists").iter().find(|l| l["name"] == "drainers").cloned();

    // Not downloaded yet: said so, nothing loaded.
    let pinned = format!("sha256 = \"{}\"\n", sha256_hex(good.as_bytes()));
    let config = config_for("/good", &pinned);
    assert!(drainers(&status(&config)).is_none());
    assert!(status(&config)["missing"][0].as_str().expect("missing").contains("never downloaded"));

    // Unpinned: refused, with the hash to pin.
    let out = airlock_cli(&["intel", "update", "--config", &config_for("/good", ""), "--data-dir", data_dir]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&sha256_hex(good.as_bytes())), "{}", stderr(&out));

    // A daemon started before the list was ever downloaded says so on its items.
    let anvil = Anvil::start();
    let airlock = Airlock::start_in(data, &anvil.url(), vec!["--config".into(), config.clone()]);
    let send = json!({ "from": ADDR0, "to": listed, "value": "0x1" });
    let item = held(&airlock, send.clone()).await;
    assert!(!rules_of(&item).contains(&"blocklisted".to_owned()));
    assert!(item["unchecked"].to_string().contains("threat list drainers: never downloaded"), "{}", item["unchecked"]);

    // Pinned and whole: in place, with its size and age, and the running daemon uses it at once.
    let out = airlock_cli(&["intel", "update", "--config", &config, "--data-dir", data_dir]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("The running Airlock now uses them"), "{}", stderr(&out));
    let list = drainers(&status(&config)).expect("loaded");
    assert_eq!((list["entries"].as_u64(), list["origin"].as_str()), (Some(2), Some("downloaded")), "{list}");
    assert!(list["fetched_at"].as_u64().is_some());
    let human = stdout(&airlock_cli(&["intel", "status", "--config", &config, "--data-dir", data_dir]));
    assert!(human.contains("drainers") && human.contains("downloaded") && human.contains("ago"), "{human}");
    let item = held(&airlock, send.clone()).await;
    let f = finding(&item, "blocklisted");
    assert!(f["message"].as_str().expect("message").contains("devnet drainer (list drainers"), "{f}");

    // Another body under the same pin, and a download cut short: refused, the old list kept,
    // and the daemon still uses it.
    for (path, why) in [("/bad", "is not the pinned"), ("/cut", "cut short")] {
        let out = airlock_cli(&["intel", "update", "--config", &config_for(path, &pinned), "--data-dir", data_dir]);
        assert!(!out.status.success(), "{path}");
        assert!(stderr(&out).contains(why) && stderr(&out).contains("old list is kept"), "{path}: {}", stderr(&out));
        assert_eq!(drainers(&status(&config)).expect("kept")["entries"], 2, "{path}");
    }
    assert!(rules_of(&held(&airlock, send).await).contains(&"blocklisted".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_young_spender_is_danger_an_aged_one_is_not_and_an_eoa_admin_is_reported() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let c = compiled().await;
    let tst = token(&up).await;
    let aged = deploy_code(&up, &code(&c, "Sink"), "", &[]).await;
    // Three days pass: the first contract is old by the time the second is deployed.
    rpc(&up, "evm_increaseTime", json!([3 * 86_400])).await;
    rpc(&up, "evm_mine", json!([])).await;
    let young = deploy_code(&up, &code(&c, "Sink"), "", &[]).await;
    let airlock = Airlock::start(&up, &[]);
    let approve = |spender: String| {
        let tst = tst.clone();
        async move {
            json!({ "from": ADDR0, "to": tst, "data": calldata("approve(address,uint256)", &[&spender, MAX]).await })
        }
    };

    let item = held(&airlock, approve(young.clone()).await).await;
    let f = finding(&item, "young-spender");
    assert_eq!(f["severity"], "danger", "{f}");
    let contract = provenance(&item, &young).clone();
    assert!(contract["age_seconds"].as_u64().expect("age") < 60, "{contract}");
    let lookups = contract["age_lookups"].as_u64().expect("lookups");
    assert!((1..=8).contains(&lookups), "a contract one block old is found in a few reads: {contract}");

    let item = held(&airlock, approve(aged.clone()).await).await;
    assert!(!rules_of(&item).contains(&"young-spender".to_owned()), "{}", item["findings"]);
    let contract = provenance(&item, &aged).clone();
    assert!(contract["age_seconds"].as_u64().expect("age") >= 3 * 86_400, "{contract}");
    // Asked again: from the cache, no round trip.
    let again = held(&airlock, approve(aged.clone()).await).await;
    let cached = provenance(&again, &aged).clone();
    assert_eq!(cached["age_lookups"], 0, "{cached}");
    assert_eq!(cached["created_block"], contract["created_block"]);

    // An approval to an address that holds no code and never sent a transaction; the twin is
    // a key that has sent one.
    let untouched = "0x00000000000000000000000000000000c0ffee01";
    let item = held(&airlock, approve(untouched.into()).await).await;
    assert_eq!(finding(&item, "approval-to-untouched-address")["severity"], "danger");
    rpc(&up, "eth_sendTransaction", json!([{ "from": ADDR1, "to": ADDR2, "value": "0x1" }])).await;
    let item = held(&airlock, approve(ADDR1.into()).await).await;
    assert!(!rules_of(&item).contains(&"approval-to-untouched-address".to_owned()), "{}", item["findings"]);
    assert!(rules_of(&item).contains(&"approval-to-eoa".to_owned()), "still an approval to a key");

    // An EIP-1967 proxy whose admin is a key is reported; one run by a contract is not flagged.
    let by_key = deploy_code(&up, &code(&c, "Proxy1967"), "f(address,address)", &[&aged, ADDR2]).await;
    let by_contract = deploy_code(&up, &code(&c, "Proxy1967"), "f(address,address)", &[&aged, &young]).await;
    let poke = calldata("poke()", &[]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": by_key, "data": poke })).await;
    let f = finding(&item, "proxy-with-eoa-admin");
    assert_eq!(f["severity"], "warn");
    assert!(f["message"].as_str().expect("message").contains(ADDR2), "{f}");
    let proxy = &item["intel"]["contracts"][0]["proxy"];
    assert_eq!((proxy["kind"].as_str(), proxy["admin_is_eoa"].as_bool()), (Some("eip1967"), Some(true)), "{proxy}");
    assert_eq!(proxy["implementation"], aged.as_str());
    let item = held(&airlock, json!({ "from": ADDR0, "to": by_contract, "data": poke })).await;
    assert!(!rules_of(&item).contains(&"proxy-with-eoa-admin".to_owned()), "{}", item["findings"]);
    let proxy = provenance(&item, &by_contract)["proxy"].clone();
    assert_eq!(proxy["admin_is_eoa"], false, "{proxy}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_history_the_age_is_unknown_and_the_item_says_so() {
    let anvil = Anvil::start_with(&["--prune-history"]);
    let up = anvil.url();
    let c = compiled().await;
    let tst = token(&up).await;
    let sink = deploy_code(&up, &code(&c, "Sink"), "", &[]).await;
    for _ in 0..3 {
        rpc(&up, "evm_mine", json!([])).await;
    }
    let airlock = Airlock::start(&up, &[]);
    let data = calldata("approve(address,uint256)", &[&sink, MAX]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": tst, "data": data })).await;
    let contract = provenance(&item, &sink).clone();
    assert!(contract["age_seconds"].is_null(), "{contract}");
    assert!(contract["age_unknown"].as_str().expect("why").contains("does not serve the state"), "{contract}");
    let unchecked = item["unchecked"].to_string();
    assert!(unchecked.contains("contract age: unknown"), "{unchecked}");
    // Unknown is not young: no danger from an age nobody knows, and no claim that it is old.
    assert!(!rules_of(&item).contains(&"young-spender".to_owned()), "{}", item["findings"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delegate_that_is_only_a_fallback_is_flagged_and_a_real_one_is_not() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let c = compiled().await;
    let sweeper = deploy_code(&up, &code(&c, "Sweeper"), "", &[]).await;
    let sink = deploy_code(&up, &code(&c, "Sink"), "", &[]).await;
    // The sweeper's code hash on the person's known-drainer list.
    let runtime = rpc(&up, "eth_getCode", json!([sweeper, "latest"])).await;
    let hash = stdout(&output(cast(&["keccak", runtime.as_str().expect("code")])).await).trim().to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(&dir, &format!("[[intel.code]]\nhash = \"{hash}\"\nlabel = \"a 7702 sweeper\"\n"));
    let airlock = Airlock::start(&up, &["--config", &config]);
    let delegate = |to: String| {
        let up = up.clone();
        async move { mktx(&up, &["--auth", &to, "--gas-limit", "100000", ADDR0]).await }
    };
    let held_raw = async |raw: String| {
        let rpc = Rpc::new(&airlock.rpc);
        let before = airlock.pending().len();
        let task = tokio::spawn(async move { rpc.call("eth_sendRawTransaction", json!([raw])).await });
        let item = airlock.wait_pending(before + 1)[0].clone();
        airlock.reject(item["id"].as_str().expect("id"));
        task.await.expect("join");
        item
    };
    let item = held_raw(delegate(sweeper.clone()).await).await;
    let f = finding(&item, "fallback-only-delegate");
    assert_eq!(f["severity"], "danger");
    assert!(f["message"].as_str().expect("message").contains(&sweeper), "{f}");
    let f = finding(&item, "drainer-code");
    assert_eq!(f["severity"], "danger");
    assert!(f["evidence"]["details"].to_string().contains("a 7702 sweeper"), "{f}");
    assert_eq!(finding(&item, "tiny-contract")["severity"], "info");
    let item = held_raw(delegate(sink).await).await;
    let fired = rules_of(&item);
    assert!(
        !fired.iter().any(|r| ["fallback-only-delegate", "drainer-code", "tiny-contract"].contains(&r.as_str())),
        "{fired:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paid_bait_function_that_passes_the_eth_on_is_danger() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let c = compiled().await;
    let bait = deploy_code(&up, &code(&c, "Bait"), "f(address)", &[ADDR2]).await;
    let airlock = Airlock::start(&up, &[]);
    let pay = |function: &str| {
        let (bait, function) = (bait.clone(), function.to_owned());
        async move {
            json!({ "from": ADDR0, "to": bait, "data": calldata(&function, &[]).await, "value": "0xde0b6b3a7640000" })
        }
    };
    let item = held(&airlock, pay("securityUpdate()").await).await;
    let f = finding(&item, "bait-payable");
    assert_eq!(f["severity"], "danger");
    let message = f["message"].as_str().expect("message");
    assert!(message.contains("securityUpdate()") && message.contains(ADDR2), "{message}");
    // Twins: a bait name that keeps the ETH, and a plain name that passes it on.
    for function in ["claim()", "pay()"] {
        let item = held(&airlock, pay(function).await).await;
        assert!(!rules_of(&item).contains(&"bait-payable".to_owned()), "{function}: {}", item["findings"]);
    }
}

/// A TrapToken paired with WETH in the Uniswap V2 pool, its pool set: (token, pair).
async fn listed_token(up: &str, c: &Value, v2: (&str, &str), symbol: &str, taxes: (&str, &str), trap: &str) -> String {
    let ((router, weth), (tax, buy_tax)) = (v2, taxes);
    let sig = "f(string,string,uint256,uint256,bool)";
    let t = deploy_code(up, &code(c, "TrapToken"), sig, &[symbol, symbol, tax, buy_tax, trap]).await;
    send(up, &t, "approve(address,uint256)", &[router, MAX], "0").await;
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(up, router, add, &[&t, "100000000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether").await;
    let factory =
        stdout(&output(cast(&["call", "--rpc-url", up, router, "factory()(address)"])).await).trim().to_owned();
    let pair = stdout(
        &output(cast(&["call", "--rpc-url", up, &factory, "getPair(address,address)(address)", &t, weth])).await,
    )
    .trim()
    .to_owned();
    send(up, &t, "setPool(address)", &[&pair], "0").await;
    t
}

#[tokio::test(flavor = "multi_thread")]
async fn a_honeypot_and_a_ninety_percent_tax_token_are_caught_by_selling_them_back() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let c = compiled().await;
    let (weth, router) = uniswap_v2(&up).await;
    let v2 = (router.as_str(), weth.as_str());
    let honey = listed_token(&up, &c, v2, "HONEY", ("0", "0"), "true").await;
    let taxed = listed_token(&up, &c, v2, "TAXED", ("90", "0"), "false").await;
    let buy_taxed = listed_token(&up, &c, v2, "BTAX", ("0", "5"), "false").await;
    let plain = listed_token(&up, &c, v2, "PLAIN", ("0", "0"), "false").await;
    // The router is this devnet's known Uniswap V2 router: the venue to sell back through.
    let rules = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(rules.path().join("lists")).expect("mkdir");
    std::fs::write(
        rules.path().join("lists/known.toml"),
        format!(
            "[[known]]\nchain = 31337\naddress = \"{router}\"\nname = \"devnet Uniswap V2\"\nkind = \"router\"\nvenue = \"uniswap-v2-router\"\n"
        ),
    )
    .expect("known");
    let airlock = Airlock::start(&up, &["--rules", rules.path().to_str().expect("utf8")]);
    let buy = |token: String| {
        let (router, weth) = (router.clone(), weth.clone());
        async move {
            let path = format!("[{weth},{token}]");
            let data = calldata(
                "swapExactETHForTokens(uint256,address[],address,uint256)",
                &["0", &path, ADDR1, "9999999999"],
            )
            .await;
            json!({ "from": ADDR1, "to": router, "data": data, "value": "0x16345785d8a0000" })
        }
    };

    let item = held(&airlock, buy(honey).await).await;
    let f = finding(&item, "token-cannot-be-sold");
    assert_eq!(f["severity"], "danger");
    assert!(f["message"].as_str().expect("message").contains("trading is not enabled"), "{f}");

    let item = held(&airlock, buy(taxed).await).await;
    let f = finding(&item, "sell-or-transfer-tax");
    assert_eq!(f["severity"], "warn");
    let resale = &item["intel"]["resale"][0];
    let sell_tax = resale["sell"]["tax_pct"].as_f64().expect("sell tax");
    let transfer_tax = resale["transfer"]["tax_pct"].as_f64().expect("transfer tax");
    assert!((88.0..=91.0).contains(&sell_tax), "about 90% lost selling it: {resale}");
    assert!((transfer_tax - 90.0).abs() < 0.01, "90% lost sending it on: {resale}");
    assert!(f["message"].as_str().expect("message").contains("% when"), "{f}");
    assert!(!rules_of(&item).contains(&"token-cannot-be-sold".to_owned()));

    // A 5% buy tax: the swap gives less than the pool's own quote; selling back is untaxed.
    let item = held(&airlock, buy(buy_taxed).await).await;
    let f = finding(&item, "buy-tax");
    assert_eq!(f["severity"], "warn");
    let buy_tax = item["intel"]["resale"][0]["buy_tax_pct"].as_f64().expect("buy tax");
    assert!((buy_tax - 5.0).abs() < 0.01, "{}", item["intel"]);
    assert!(!rules_of(&item).iter().any(|r| r == "token-cannot-be-sold" || r == "sell-or-transfer-tax"));

    // A token with no pool at all, received from a faucet: sending it on works, selling it is
    // not tried (said on the item), and nothing is flagged.
    let t = deploy_code(
        &up,
        &code(&c, "TrapToken"),
        "f(string,string,uint256,uint256,bool)",
        &["LONE", "LONE", "0", "0", "false"],
    )
    .await;
    let faucet = deploy_code(&up, &code(&c, "Faucet"), "", &[]).await;
    send(&up, &t, "transfer(address,uint256)", &[&faucet, "10000000000000000000"], "0").await;
    let data = calldata("drip(address)", &[&t]).await;
    let item = held(&airlock, json!({ "from": ADDR1, "to": faucet, "data": data })).await;
    assert!(!rules_of(&item).iter().any(|r| r == "token-cannot-be-sold"), "{}", item["findings"]);
    assert_eq!(item["intel"]["resale"][0]["transfer"]["ok"], true, "{}", item["intel"]);
    assert!(item["intel"]["resale"][0]["sell"].is_null(), "{}", item["intel"]);
    assert!(item["unchecked"].to_string().contains("quotes no pool of it"), "{}", item["unchecked"]);

    // The twin: a plain token sells back at the pool's quote.
    let item = held(&airlock, buy(plain).await).await;
    let fired = rules_of(&item);
    assert!(
        !fired.iter().any(|r| r == "token-cannot-be-sold" || r == "sell-or-transfer-tax" || r == "buy-tax"),
        "{fired:?}"
    );
    let resale = &item["intel"]["resale"][0];
    assert_eq!(
        (resale["transfer"]["ok"].as_bool(), resale["sell"]["ok"].as_bool()),
        (Some(true), Some(true)),
        "{resale}"
    );
    assert_eq!(resale["sell"]["tax_pct"].as_f64(), Some(0.0), "{resale}");
}
