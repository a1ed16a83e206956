//! The bundled rules on anvil: every rule meets its attack shape and a benign twin, built from
//! real contracts (OpenZeppelin presets, WETH9, Uniswap V2, test contracts compiled with solc),
//! with local history made by forwarding real transactions through Airlock. The confusion table
//! (caught / missed / false alarms) is printed and every cell asserted.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, deploy, deploy_code, send, token};

const ADDR3: &str = "0x90f79bf6eb2c4f870365e785982e1f101e93b906";
const ADDR5: &str = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc";
/// A wallet the person never dealt with: where the drainers send what they take.
const ADDR6: &str = "0x976ea74026e726554db657fa54763abd0c3a0aa9";
/// Same first and last four hex digits as ADDR1: a poisoned look-alike.
const LOOKALIKE: &str = "0x70990000000000000000000000000000000079c8";
const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

struct Chain {
    weth: String,
    router: String,
    tst: String,
    usdc: String,
    fake_usdc: String,
    nft: String,
    evasive: String,
    executor: String,
    forwarder: String,
    puller: String,
    dai: String,
    intel: IntelContracts,
}

/// tests/contracts/Intel.sol, deployed for the threat-data and provenance rows.
struct IntelContracts {
    sweeper: String,
    sink: String,
    /// Deployed after three days passed on the chain: minutes old when the table runs.
    young: String,
    proxy_by_key: String,
    proxy_by_contract: String,
    bait: String,
    /// TrapTokens in Uniswap V2 pools: a honeypot, a 90% tax on sale, a 5% tax on buying, none.
    honey: String,
    taxed: String,
    buy_taxed: String,
    plain: String,
}

/// Deploys tests/contracts/Intel.sol's contracts, pools the TrapTokens, lets three days pass
/// and deploys one more contract (the young one).
async fn intel_contracts(up: &str, router: &str, weth: &str) -> IntelContracts {
    let out = output(node("solc.mjs", &[repo().join("tests/contracts/Intel.sol").to_str().expect("utf8")])).await;
    let compiled: Value = serde_json::from_slice(&out.stdout).expect("solc output");
    let code = |n: &str| compiled[n]["bytecode"].as_str().expect("bytecode").to_owned();
    let sink = deploy_code(up, &code("Sink"), "", &[]).await;
    let pooled = async |symbol: &str, tax: &str, buy_tax: &str, trap: &str| {
        let sig = "f(string,string,uint256,uint256,bool)";
        let t = deploy_code(up, &code("TrapToken"), sig, &[symbol, symbol, tax, buy_tax, trap]).await;
        send(up, &t, "approve(address,uint256)", &[router, MAX], "0").await;
        let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
        send(up, router, add, &[&t, "100000000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether").await;
        let call = |args: &[&str]| {
            let mut a = vec!["call", "--rpc-url", up];
            a.extend_from_slice(args);
            output(cast(&a))
        };
        let factory = stdout(&call(&[router, "factory()(address)"]).await).trim().to_owned();
        let pair = stdout(&call(&[&factory, "getPair(address,address)(address)", &t, weth]).await).trim().to_owned();
        send(up, &t, "setPool(address)", &[&pair], "0").await;
        t
    };
    let c = IntelContracts {
        sweeper: deploy_code(up, &code("Sweeper"), "", &[]).await,
        proxy_by_key: deploy_code(up, &code("Proxy1967"), "f(address,address)", &[&sink, ADDR2]).await,
        proxy_by_contract: deploy_code(up, &code("Proxy1967"), "f(address,address)", &[&sink, &sink]).await,
        bait: deploy_code(up, &code("Bait"), "f(address)", &[ADDR6]).await,
        honey: pooled("HONEY", "0", "0", "true").await,
        taxed: pooled("TAXED", "90", "0", "false").await,
        buy_taxed: pooled("BTAX", "0", "5", "false").await,
        plain: pooled("PLAIN", "0", "0", "false").await,
        sink,
        young: String::new(),
    };
    // ADDR1 has sent a transaction: a key in use, not an untouched address.
    let direct = Rpc::new(up);
    direct.result("eth_sendTransaction", json!([{ "from": ADDR1, "to": ADDR2, "value": "0x1" }])).await;
    direct.result("evm_increaseTime", json!([3 * 86_400])).await;
    direct.result("evm_mine", json!([])).await;
    IntelContracts { young: deploy_code(up, &code("Sink"), "", &[]).await, ..c }
}

async fn chain(up: &str) -> Chain {
    let out = output(node("solc.mjs", &[repo().join("tests/contracts/Scenarios.sol").to_str().expect("utf8")])).await;
    let compiled: Value = serde_json::from_slice(&out.stdout).expect("solc output");
    let code = |n: &str| compiled[n]["bytecode"].as_str().expect("bytecode").to_owned();
    let (weth, router) = crate::simulate::uniswap_v2(up).await;
    let tst = token(up).await;
    let preset = "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json";
    let sig = "f(string,string,uint256,address)";
    let usdc = deploy(up, preset, sig, &["USD Coin", "USDC", "1000000000000", ADDR0]).await;
    let fake_usdc = deploy(up, preset, sig, &["USD Coin", "USDC", "1000000000000", ADDR0]).await;
    // A well-known symbol that this devnet's list does not name at all.
    let dai = deploy(up, preset, sig, &["Dai Stablecoin", "DAI", "1000000000000000000000", ADDR0]).await;
    let nft = crate::simulate::nft(up).await;
    let evasive = deploy_code(up, &code("Evasive"), "", &[]).await;
    let executor = deploy_code(up, &code("BatchExecutor"), "", &[]).await;
    let forwarder = deploy_code(up, &code("Forwarder"), "f(address)", &[ADDR6]).await;
    let puller = deploy_code(up, &code("AllowancePull"), "f(address)", &[ADDR6]).await;
    // Granted long ago, directly: the "claim" later pulls through it.
    send(up, &tst, "approve(address,uint256)", &[&puller, MAX], "0").await;
    send(up, &nft, "mint(address)", &[ADDR0], "0").await;
    send(up, &tst, "approve(address,uint256)", &[&router, MAX], "0").await;
    let add = "addLiquidityETH(address,uint256,uint256,uint256,address,uint256)";
    send(up, &router, add, &[&tst, "100000000000000000000", "0", "0", ADDR0, "9999999999"], "10ether").await;
    send(up, &weth, "deposit()", &[], "5ether").await;
    let intel = intel_contracts(up, &router, &weth).await;
    Chain { weth, router, tst, usdc, fake_usdc, nft, evasive, executor, forwarder, puller, dai, intel }
}

/// The person's own lists for this devnet: its tokens, its router and marketplace, the
/// delegates they trust, and a blocklisted address.
fn user_rules(c: &Chain) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let lists = dir.path().join("lists");
    std::fs::create_dir(&lists).expect("mkdir");
    let tokens = json!({ "source": "devnet", "tokens": [
        [31337, c.weth, "WETH", 18], [31337, c.tst, "TST", 18], [31337, c.usdc, "USDC", 6]
    ]});
    std::fs::write(lists.join("tokens.json"), tokens.to_string()).expect("write");
    let known = format!(
        "[[known]]\nchain = 31337\naddress = \"{}\"\nname = \"devnet Uniswap V2 router\"\nkind = \"router\"\nvenue = \"uniswap-v2-router\"\n\n\
         [[known]]\nchain = 31337\naddress = \"{ADDR5}\"\nname = \"devnet marketplace\"\nkind = \"marketplace\"\n",
        c.router
    );
    std::fs::write(lists.join("known.toml"), known).expect("write");
    let delegates =
        format!("[[delegate]]\nchain = 31337\naddress = \"{}\"\nname = \"devnet batch executor\"\n", c.executor);
    std::fs::write(lists.join("delegates.toml"), delegates).expect("write");
    std::fs::write(lists.join("blocklist.txt"), format!("31337:{ADDR3}  # a devnet drainer\n")).expect("write");
    dir
}

/// Holds one request, returns the ids of the rules that fired, and rejects it.
/// The rules that fired on the request, held and rejected; the item is recorded as `name`
/// (see `record_item`).
async fn fired(airlock: &Airlock, method: &str, params: Value, name: &str) -> Vec<String> {
    let rpc = Rpc::new(&airlock.rpc);
    let before = airlock.pending().len();
    let (m, p) = (method.to_owned(), params.clone());
    let task = tokio::spawn(async move { rpc.call(&m, p).await });
    let item = airlock.wait_pending(before + 1)[0].clone();
    airlock.reject(item["id"].as_str().expect("id"));
    let answer = task.await.expect("join");
    assert_eq!(answer["error"]["code"], 4001, "{method} {params}: {answer}");
    record_item(name, &item);
    let findings = item["findings"].as_array().cloned().unwrap_or_default();
    // The verdict is the highest severity.
    let worst = findings.iter().filter_map(|f| f["severity"].as_str()).max_by_key(|s| match *s {
        "danger" => 2,
        "warn" => 1,
        _ => 0,
    });
    assert_eq!(item["verdict"].as_str(), worst, "{item}");
    // The template's explanation names what moves: every recipient and asset of what the
    // sender gives (checked for every scenario of the suite).
    let ex = &item["explanation"];
    assert_eq!(ex["source"], "template", "{item}");
    let summary = ex["summary"].as_str().unwrap_or_default().to_owned();
    let report = &item["report"];
    if report["outcome"]["status"] == "success" {
        let from = report["from"].as_str().unwrap_or_default();
        for t in report["transfers"].as_array().into_iter().flatten().filter(|t| t["from"] == from && t["to"] != from) {
            let to = t["to"].as_str().unwrap_or_default();
            assert!(summary.contains(to), "the explanation names recipient {to}: {summary}");
            let asset = t["asset"]["symbol"].as_str().unwrap_or("ETH");
            assert!(summary.contains(asset), "the explanation names {asset}: {summary}");
        }
    }
    findings.iter().filter_map(|f| f["rule"].as_str().map(str::to_owned)).collect()
}

/// A JSON-RPC method and its params.
type Request<'a> = (&'a str, Value);

fn tx(to: &str, data: &str, value: &str) -> Value {
    json!([{ "from": ADDR0, "to": to, "data": data, "value": value, "gas": "0x100000" }])
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rule_catches_its_attack_and_spares_its_benign_twin() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let c = chain(&up).await;
    let rules = user_rules(&c);
    let rules_dir = rules.path().to_str().expect("utf8").to_owned();
    let direct = Rpc::new(&up);
    let i = &c.intel;

    // Local history, made the real way: sends approved through Airlock and forwarded. Five
    // from ADDR0 (four of 0.01 ETH, one of TST) make its habits: a burst of sends, a usual
    // value, a token it has sent. The config lets an address known for minutes count as long
    // known for `first-transfer-of-token`.
    let config = rules.path().join("config.toml");
    // The sweeper's code is on the person's known-drainer list.
    let runtime = direct.result("eth_getCode", json!([c.intel.sweeper, "latest"])).await;
    let sweeper_hash = stdout(&output(cast(&["keccak", runtime.as_str().expect("code")])).await).trim().to_owned();
    std::fs::write(
        &config,
        format!(
            "[rules.first-transfer-of-token.settings]\nmin_days = 0.0\n\n\
             [[intel.code]]\nhash = \"{sweeper_hash}\"\nlabel = \"a devnet sweeper\"\n"
        ),
    )
    .expect("write");
    let config = config.to_str().expect("utf8").to_owned();
    let seeding = Airlock::start(&up, &["--rules", &rules_dir, "--config", &config]);
    let cent = json!([{ "from": ADDR0, "to": ADDR1, "value": "0x2386f26fc10000" }]);
    let seeds = [
        cent.clone(),
        cent.clone(),
        cent.clone(),
        cent,
        tx(&c.tst, &calldata("transfer(address,uint256)", &[ADDR1, "1000000000000000000"]).await, "0x0"),
    ];
    for params in seeds {
        let rpc = Rpc::new(&seeding.rpc);
        let task = tokio::spawn(async move { rpc.call("eth_sendTransaction", params).await });
        let item = seeding.wait_pending(1)[0].clone();
        assert_eq!(seeding.approve(item["id"].as_str().expect("id"))["status"], "forwarded");
        task.await.expect("join");
    }
    // Pinned at the head from here on, nothing is mined: every item is verified at the pin.
    let head = direct.result("eth_getBlockByNumber", json!(["latest", false])).await["hash"].clone();
    let pin = head.as_str().expect("hash").to_owned();
    let airlock = seeding.restart_with(&[
        "--rules",
        &rules_dir,
        "--config",
        &config,
        "--verify",
        "checkpoint",
        "--checkpoint",
        &pin,
    ]);

    let approve = |spender: &str, amount: &str| {
        let (spender, amount, tst) = (spender.to_owned(), amount.to_owned(), c.tst.clone());
        async move { tx(&tst, &calldata("approve(address,uint256)", &[&spender, &amount]).await, "0x0") }
    };
    let transfer = |token: &str, to: &str, amount: &str| {
        let (token, to, amount) = (token.to_owned(), to.to_owned(), amount.to_owned());
        async move { tx(&token, &calldata("transfer(address,uint256)", &[&to, &amount]).await, "0x0") }
    };
    let eth = |to: &str, wei: &str| json!([{ "from": ADDR0, "to": to, "value": wei }]);
    // A send that names its fee: a tip and a max fee, in gwei.
    let priced = |tip: u64, max: u128| {
        let g = 1_000_000_000u128;
        json!([{ "from": ADDR0, "to": ADDR1, "value": "0x1",
            "maxPriorityFeePerGas": format!("{:#x}", u128::from(tip) * g), "maxFeePerGas": format!("{:#x}", max) }])
    };
    let one_eth = "0xde0b6b3a7640000";
    let path = format!("[{},{}]", c.weth, c.tst);
    let swap = tx(
        &c.router,
        &calldata(
            "swapExactETHForTokens(uint256,address[],address,uint256)",
            &["9000000000000000000", &path, ADDR0, "9999999999"],
        )
        .await,
        one_eth,
    );
    // Buys 0.1 ETH of `token` in its pool, for ADDR1 (not the token's owner).
    let buy = |token: &str| {
        let (token, router, weth) = (token.to_owned(), c.router.clone(), c.weth.clone());
        async move {
            let path = format!("[{weth},{token}]");
            let sig = "swapExactETHForTokens(uint256,address[],address,uint256)";
            let data = calldata(sig, &["0", &path, ADDR1, "9999999999"]).await;
            json!([{ "from": ADDR1, "to": router, "data": data, "value": "0x16345785d8a0000", "gas": "0x100000" }])
        }
    };
    let batch = |to: &str| {
        json!([{ "version": "2.0.0", "chainId": "0x7a69", "from": ADDR0, "atomicRequired": false, "calls": [
            { "to": c.tst, "data": format!("0xa9059cbb{:0>64}{:0>64}", to.trim_start_matches("0x"), "de0b6b3a7640000") },
            { "to": c.weth, "data": format!("0xa9059cbb{:0>64}{:0>64}", to.trim_start_matches("0x"), "de0b6b3a7640000") },
        ]}])
    };
    let raw = |auth: String| {
        let up = up.clone();
        async move { json!([mktx(&up, &["--auth", &auth, "--gas-limit", "100000", ADDR0]).await]) }
    };

    // A signed ETH send with the given nonce; the sender's next one, from the node.
    let signed = |nonce: u64| {
        let up = up.clone();
        async move { json!([mktx(&up, &["--nonce", &nonce.to_string(), "--value", "1", ADDR1]).await]) }
    };
    let next = hex_u64(&direct.result("eth_getTransactionCount", json!([ADDR0, "pending"])).await);
    // Most of ADDR0's TST, as the benign twin of a drain: to a wallet it has sent to before.
    let balance = direct
        .result("eth_call", json!([{ "to": c.tst, "data": calldata("balanceOf(address)", &[ADDR0]).await }, "latest"]))
        .await;
    let most = (u128::from_str_radix(balance.as_str().expect("hex").trim_start_matches("0x"), 16).expect("u128") / 100
        * 95)
        .to_string();

    // (rule, attack, benign twin): each a (method, params).
    let send = "eth_sendTransaction";
    let cases: Vec<(&str, Request, Request)> = vec![
        // First, while the seeded sends are within the last 10 minutes.
        (
            "send-burst",
            (send, eth(ADDR1, "0x2386f26fc10000")),
            (send, json!([{ "from": ADDR1, "to": ADDR0, "value": "0x2386f26fc10000" }])),
        ),
        ("unusual-value", (send, eth(ADDR1, one_eth)), (send, eth(ADDR1, "0x2386f26fc10000"))),
        (
            "first-transfer-of-token",
            (send, transfer(&c.usdc, ADDR1, "1000000").await),
            (send, transfer(&c.tst, ADDR1, "1000").await),
        ),
        ("unlimited-approval", (send, approve(&c.router, MAX).await), (send, approve(&c.router, "1000").await)),
        ("approval-to-eoa", (send, approve(ADDR2, "1000").await), (send, approve(&c.router, "1000").await)),
        (
            "approval-for-all-unknown-operator",
            (send, tx(&c.nft, &calldata("setApprovalForAll(address,bool)", &[&c.evasive, "true"]).await, "0x0")),
            (send, tx(&c.nft, &calldata("setApprovalForAll(address,bool)", &[ADDR5, "true"]).await, "0x0")),
        ),
        ("new-spender", (send, approve(&c.evasive, "1000").await), (send, approve(&c.router, "1000").await)),
        ("drainer-outflow", ("wallet_sendCalls", batch(ADDR2)), ("wallet_sendCalls", batch(ADDR1))),
        (
            "token-to-own-contract-or-zero",
            (send, transfer(&c.tst, &c.tst, "1000").await),
            (send, tx(&c.weth, &calldata("withdraw(uint256)", &["1000"]).await, "0x0")),
        ),
        ("address-poisoning", (send, eth(LOOKALIKE, "0x2386f26fc10000")), (send, eth(ADDR1, "0x2386f26fc10000"))),
        ("blocklisted", (send, eth(ADDR3, "0x1")), (send, eth(ADDR1, "0x1"))),
        (
            "impersonating-token",
            (send, transfer(&c.fake_usdc, ADDR1, "1000000").await),
            (send, transfer(&c.usdc, ADDR1, "1000000").await),
        ),
        (
            "delegation-not-allowlisted",
            ("eth_sendRawTransaction", raw(c.evasive.clone()).await),
            ("eth_sendRawTransaction", raw(c.executor.clone()).await),
        ),
        (
            "reverts",
            (send, transfer(&c.tst, ADDR1, "999999000000000000000000").await),
            (send, transfer(&c.tst, ADDR1, "1000").await),
        ),
        ("large-share-of-balance", (send, eth(ADDR1, "0x14542ba12a337c00000")), (send, eth(ADDR1, one_eth))),
        ("fresh-contract-receives", (send, eth(&c.executor, one_eth)), (send, tx(&c.weth, "0xd0e30db0", one_eth))),
        (
            // From another account than the contract's owner, whom it pays in a real block.
            "simulation-divergence",
            (send, json!([{ "from": ADDR1, "to": c.evasive, "data": "0x4e71d92d", "value": one_eth }])),
            (send, swap.clone()),
        ),
        ("gas-overpay", (send, priced(500, 600_000_000_000)), (send, priced(1, 100_000_000_000))),
        ("gas-too-low", (send, priced(0, 1)), (send, priced(1, 100_000_000_000))),
        (
            // A "claim" pulls the whole balance through an old allowance; the twin moves most of
            // it to a wallet the person has paid before.
            "token-balance-drain",
            (send, tx(&c.puller, &calldata("claim(address)", &[&c.tst]).await, "0x0")),
            (send, transfer(&c.tst, ADDR1, &most).await),
        ),
        (
            "unlisted-famous-symbol",
            (send, transfer(&c.dai, ADDR1, "1000").await),
            (send, transfer(&c.tst, ADDR1, "1000").await),
        ),
        (
            // A paid "security update" that forwards the ETH; the twin pays WETH, which keeps it.
            "value-forwarded",
            (send, tx(&c.forwarder, "0xaf347b61", one_eth)),
            (send, tx(&c.weth, "0xd0e30db0", one_eth)),
        ),
        (
            "nonce-gap",
            ("eth_sendRawTransaction", signed(next + 3).await),
            ("eth_sendRawTransaction", signed(next).await),
        ),
        ("young-spender", (send, approve(&i.young, MAX).await), (send, approve(&i.sink, MAX).await)),
        (
            "approval-to-untouched-address",
            (send, approve("0x00000000000000000000000000000000c0ffee01", MAX).await),
            (send, approve(ADDR1, MAX).await),
        ),
        (
            "proxy-with-eoa-admin",
            (send, tx(&i.proxy_by_key, "0x18178358", "0x0")),
            (send, tx(&i.proxy_by_contract, "0x18178358", "0x0")),
        ),
        (
            "drainer-code",
            ("eth_sendRawTransaction", raw(i.sweeper.clone()).await),
            ("eth_sendRawTransaction", raw(c.executor.clone()).await),
        ),
        (
            "fallback-only-delegate",
            ("eth_sendRawTransaction", raw(i.sweeper.clone()).await),
            ("eth_sendRawTransaction", raw(c.executor.clone()).await),
        ),
        ("tiny-contract", (send, tx(&i.sweeper, "0x", "0x0")), (send, tx(&i.sink, "0x18178358", "0x0"))),
        (
            "bait-payable",
            (send, tx(&i.bait, &calldata("securityUpdate()", &[]).await, one_eth)),
            (send, tx(&i.bait, &calldata("pay()", &[]).await, one_eth)),
        ),
        ("token-cannot-be-sold", (send, buy(&i.honey).await), (send, buy(&i.plain).await)),
        ("sell-or-transfer-tax", (send, buy(&i.taxed).await), (send, buy(&i.plain).await)),
        ("buy-tax", (send, buy(&i.buy_taxed).await), (send, buy(&i.plain).await)),
        (
            "raw-hash-signature",
            ("eth_sign", json!([ADDR0, format!("0x{}", "ab".repeat(32))])),
            ("personal_sign", json!(["0x68656c6c6f", ADDR0])),
        ),
    ];

    let mut table = vec![];
    for (rule, (am, attack), (bm, benign)) in cases {
        let caught = fired(&airlock, am, attack, rule).await.contains(&rule.to_owned());
        let false_alarm = fired(&airlock, bm, benign, &format!("{rule}.twin")).await.contains(&rule.to_owned());
        table.push((rule, caught, false_alarm));
    }

    // Verification: a lying upstream fails the item; the honest, pinned one does not.
    let mode = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(crate::verified::PROOF_BALANCE));
    let lying = crate::verified::tampering_upstream(up.clone(), mode).await;
    let tampered = Airlock::start(&lying, &["--rules", &rules_dir, "--verify", "checkpoint", "--checkpoint", &pin]);
    let caught = fired(&tampered, send, eth(ADDR1, "0x1"), "verification-failed")
        .await
        .contains(&"verification-failed".to_owned());
    let false_alarm = fired(&airlock, send, eth(ADDR1, "0x1"), "verification-failed.twin")
        .await
        .contains(&"verification-failed".to_owned());
    table.push(("verification-failed", caught, false_alarm));
    let unverified = Airlock::start(&up, &["--rules", &rules_dir, "--verify", "unverified"]);
    let caught = fired(&unverified, send, eth(ADDR1, "0x1"), "unverified").await.contains(&"unverified".to_owned());
    let false_alarm = fired(&airlock, send, eth(ADDR1, "0x1"), "").await.contains(&"unverified".to_owned());
    table.push(("unverified", caught, false_alarm));

    println!("\n{:<36} {:>7} {:>7} {:>12}", "rule", "caught", "missed", "false alarm");
    for (rule, caught, false_alarm) in &table {
        println!("{rule:<36} {:>7} {:>7} {:>12}", u8::from(*caught), u8::from(!caught), u8::from(*false_alarm));
    }
    let caught = table.iter().filter(|r| r.1).count();
    let alarms = table.iter().filter(|r| r.2).count();
    println!("{:<36} {caught:>7} {:>7} {alarms:>12}", "total", table.len() - caught);
    for (rule, c, f) in &table {
        assert!(c, "{rule}: missed its attack");
        assert!(!f, "{rule}: fired on its benign twin");
    }
    assert_eq!(table.len(), 36);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_spending_policy_approves_small_clean_payments_and_nothing_else() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    // On this devnet the state is unverified: the person accepts that as info for small sends.
    std::fs::write(
        &config,
        "[rules.unverified]\nseverity = \"info\"\n\n[spending]\nenabled = true\ndaily_budget = \"0.05\"\ndaily_count = 3\nmax_calldata_bytes = 0\n",
    )
    .expect("write");
    let airlock = Airlock::start(&anvil.url(), &["--config", config.to_str().expect("utf8")]);
    let rpc = Rpc::new(&airlock.rpc);

    // 0.01 ETH to a fresh EOA: nothing above info, within budget: forwarded with no one asked.
    let answer =
        rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x2386f26fc10000" }])).await;
    assert!(answer.get("result").is_some(), "auto-approved and forwarded: {answer}");
    let logged = airlock.history();
    assert_eq!(logged[0]["status"], "forwarded");
    assert_eq!(logged[0]["auto_approved"], true);
    assert_eq!(logged[0]["verdict"], "info");
    assert!(stdout(&airlock.cli(&["history"])).contains("approved by the spending policy"));

    // 0.05 more would pass the day's budget: it waits for the person.
    let over = tokio::spawn({
        let rpc = rpc.clone();
        async move {
            rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0xb1a2bc2ec50000" }])).await
        }
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["auto_approved"], Value::Null, "{item}");
    airlock.reject(item["id"].as_str().expect("id"));
    assert_eq!(over.await.expect("join")["error"]["code"], 4001);

    // A warning always goes to the person, whatever the amount: an unlimited approval.
    let data = calldata("approve(address,uint256)", &[ADDR2, MAX]).await;
    let warned = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": token, "data": data }])).await }
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["verdict"], "danger", "{item}");
    airlock.reject(item["id"].as_str().expect("id"));
    warned.await.expect("join");
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_check_names_file_and_line_and_list_shows_what_loads() {
    let run = |args: Vec<String>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"));
        cmd.arg("rules").args(args);
        output(cmd)
    };
    // The bundled files are valid.
    let out = run(vec!["check".into(), repo().join("rules/approvals.toml").display().to_string()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("6 rule(s), all valid"), "{}", stdout(&out));

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("mine.toml");
    let cases = [
        // A misspelt field is found by running the rule over sample facts.
        (
            "[[rule]]\nid = \"x\"\nseverity = \"warn\"\nsummary = \"s\"\nfor_each = \"approvals\"\nwhen = \"it.spendr == ''\"\nmessage = \"m\"\n",
            ":2: rule x: when: No such key: spendr",
        ),
        (
            "[[rule]]\nid = \"x\"\nseverity = \"warn\"\nsummary = \"s\"\n\nwhen = \"approvals.exists(a,\"\nmessage = \"m\"\n",
            ":6: when: not a valid CEL expression",
        ),
        (
            "[[rule]]\nid = \"x\"\nseverity = \"loud\"\nsummary = \"s\"\nwhen = \"true\"\nmessage = \"m\"\n",
            ":3: severity \"loud\"",
        ),
        (
            "[[rule]]\nid = \"x\"\nseverity = \"warn\"\nsummary = \"s\"\nwhen = \"true\"\nmessage = \"{{ it. }}\"\n",
            ":6: message",
        ),
        (
            "[[rule]]\nid = \"unverified\"\nseverity = \"warn\"\nsummary = \"s\"\nwhen = \"true\"\nmessage = \"m\"\n",
            "is already defined at rules/state.toml",
        ),
        ("[[rule\nid = 1\n", ":1:"),
    ];
    for (text, want) in cases {
        std::fs::write(&file, text).expect("write");
        let out = run(vec!["check".into(), dir.path().display().to_string()]).await;
        assert!(!out.status.success(), "{text}");
        let err = stderr(&out);
        assert!(err.contains(&file.display().to_string()) || want.contains("already"), "{err}");
        assert!(err.contains(want), "want {want:?} in {err}");
    }

    let out = run(vec!["list".into(), "--json".into()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let ids: Vec<&str> = v["rules"].as_array().expect("rules").iter().filter_map(|r| r["id"].as_str()).collect();
    for id in ["unlimited-approval", "address-poisoning", "simulation-divergence", "blocklisted"] {
        assert!(ids.contains(&id), "{ids:?}");
    }
}
