//! Simulation on proven state: held items carry a report of what they would do (ETH and token
//! movements, approvals, reverts), eth_call and eth_estimateGas are answered from proofs exactly
//! as the node answers them, and proofs that do not verify leave no report and a failed item.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use serde_json::{Value, json};

use crate::harness::*;
use crate::verified::{PROOF_BALANCE, tampering_upstream};

/// Deploys a contract from an npm build artifact with ABI-encoded constructor arguments.
pub(crate) async fn deploy(anvil: &str, artifact: &str, signature: &str, args: &[&str]) -> String {
    let path = repo().join("tests/node_modules").join(artifact);
    let json: Value = serde_json::from_slice(&std::fs::read(&path).expect("artifact")).expect("artifact JSON");
    let bytecode = json["bytecode"].as_str().expect("bytecode");
    deploy_code(anvil, bytecode, signature, args).await
}

/// Deploys `bytecode` (hex) with ABI-encoded constructor arguments; the new contract's address.
pub(crate) async fn deploy_code(anvil: &str, bytecode: &str, signature: &str, args: &[&str]) -> String {
    let encoded = if args.is_empty() {
        String::new()
    } else {
        let mut encode = vec!["abi-encode", signature];
        encode.extend_from_slice(args);
        stdout(&output(cast(&encode)).await).trim().trim_start_matches("0x").to_owned()
    };
    let code = format!("0x{}{encoded}", bytecode.trim_start_matches("0x"));
    let out = output(cast(&["send", "--rpc-url", anvil, "--private-key", KEY0, "--json", "--create", &code])).await;
    assert!(out.status.success(), "deploy: {}", stderr(&out));
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("receipt JSON");
    receipt["contractAddress"].as_str().expect("contract address").to_owned()
}

/// OpenZeppelin 4.9's ERC20PresetFixedSupply: 1000 TST (18 decimals) to ADDR0.
pub(crate) async fn token(anvil: &str) -> String {
    deploy(
        anvil,
        "@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json",
        "f(string,string,uint256,address)",
        &["Test Token", "TST", "1000000000000000000000", ADDR0],
    )
    .await
}

/// OpenZeppelin 4.9's ERC721PresetMinterPauserAutoId ("Test NFT", TNFT), minted by ADDR0.
pub(crate) async fn nft(anvil: &str) -> String {
    deploy(
        anvil,
        "@openzeppelin/contracts/build/contracts/ERC721PresetMinterPauserAutoId.json",
        "f(string,string,string)",
        &["Test NFT", "TNFT", "https://example.invalid/"],
    )
    .await
}

/// `cast send` from ADDR0 straight to the chain (setting up, not through Airlock).
pub(crate) async fn send(anvil: &str, to: &str, signature: &str, args: &[&str], value: &str) {
    let mut a = vec!["send", "--rpc-url", anvil, "--private-key", KEY0, "--value", value, to, signature];
    a.extend_from_slice(args);
    let out = output(cast(&a)).await;
    assert!(out.status.success(), "{signature}: {}", stderr(&out));
}

/// Uniswap V2 from npm: WETH9, the factory, Router02; (weth, router).
pub(crate) async fn uniswap_v2(anvil: &str) -> (String, String) {
    let weth = deploy(anvil, "@uniswap/v2-periphery/build/WETH9.json", "", &[]).await;
    let factory = deploy(anvil, "@uniswap/v2-core/build/UniswapV2Factory.json", "f(address)", &[ADDR0]).await;
    let router =
        deploy(anvil, "@uniswap/v2-periphery/build/UniswapV2Router02.json", "f(address,address)", &[&factory, &weth])
            .await;
    (weth, router)
}

pub(crate) async fn calldata(signature: &str, args: &[&str]) -> String {
    let mut a = vec!["calldata", signature];
    a.extend_from_slice(args);
    stdout(&output(cast(&a)).await).trim().to_owned()
}

/// Holds an unsigned send, returns its pending item, and rejects it.
pub(crate) async fn held(airlock: &Airlock, tx: Value) -> Value {
    let rpc = Rpc::new(&airlock.rpc);
    let before = airlock.pending().len();
    let task = tokio::spawn(async move { rpc.call("eth_sendTransaction", json!([tx])).await });
    let item = airlock.wait_pending(before + 1)[0].clone();
    airlock.reject(item["id"].as_str().expect("id"));
    assert_eq!(task.await.expect("join")["error"]["code"], 4001);
    item
}

pub(crate) fn change<'a>(report: &'a Value, address: &str, kind: &str) -> &'a Value {
    report["asset_changes"]
        .as_array()
        .expect("asset_changes")
        .iter()
        .find(|c| c["address"] == address && c["asset"]["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} change for {address} in {report}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn held_sends_carry_what_they_would_do() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let genesis = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    let airlock =
        Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", genesis.as_str().expect("hash")]);

    // ETH: the value moves, the fee is apart from it, the balances agree with the trace.
    let item = held(&airlock, json!({ "from": ADDR0, "to": ADDR1, "value": "0xde0b6b3a7640000" })).await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "success", "{item}");
    assert_eq!(r["gas_used"], 21000);
    assert_eq!(change(r, ADDR0, "eth")["sent"], "1000000000000000000");
    assert_eq!(change(r, ADDR1, "eth")["received"], "1000000000000000000");
    assert!(r["fee"].as_str().is_some_and(|f| f != "0"), "{r}");
    assert_eq!(r["mismatches"], json!([]));
    assert_eq!(r["calls"][0]["kind"], "call");
    snapshot("eth-send", r);

    // ERC-20 transfer: from the Transfer log, with the token's symbol and decimals.
    let data = calldata("transfer(address,uint256)", &[ADDR1, "5000000000000000000"]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": token, "data": data })).await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "success", "{item}");
    let sent = change(r, ADDR0, "erc20");
    assert_eq!(sent["sent"], "5000000000000000000");
    assert_eq!(sent["asset"]["symbol"], "TST");
    assert_eq!(sent["asset"]["decimals"], 18);
    assert_eq!(sent["asset"]["token"], token.to_lowercase());
    assert_eq!(change(r, ADDR1, "erc20")["received"], "5000000000000000000");
    assert_eq!(r["mismatches"], json!([]));
    assert_eq!(r["call"]["function"], "transfer(address to, uint256 amount)");
    assert_eq!(r["call"]["source"], "erc20");
    assert_eq!(
        r["call"]["arguments"][1],
        json!({ "name": "amount", "type": "uint256", "value": "5000000000000000000" })
    );
    snapshot("erc20-transfer", r);

    // Unlimited approval to an EOA: before and after, the spender's kind.
    let data = calldata("approve(address,uint256)", &[ADDR2, &format!("0x{}", "f".repeat(64))]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": token, "data": data })).await;
    let ap = &item["report"]["approvals"][0];
    assert_eq!(ap["kind"], "erc20", "{item}");
    assert_eq!(ap["owner"], ADDR0);
    assert_eq!(ap["spender"], ADDR2);
    assert_eq!(ap["spender_kind"], "eoa");
    assert_eq!(ap["before"], "0");
    assert_eq!(ap["unlimited"], true);
    assert!(item["report"]["transfers"].as_array().is_some_and(|t| t.is_empty()));
    snapshot("erc20-approve-unlimited", &item["report"]);

    // A revert, with the reason decoded; nothing moves.
    let data = calldata("transfer(address,uint256)", &[ADDR1, "2000000000000000000000"]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": token, "data": data, "gas": "0x30000" })).await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "revert", "{item}");
    assert_eq!(r["outcome"]["reason"], "Error(string): \"ERC20: transfer amount exceeds balance\"");
    assert_eq!(r["asset_changes"], json!([]));
    assert_eq!(r["calls"][0]["failed"], true);
    snapshot("erc20-revert", r);
}

#[tokio::test(flavor = "multi_thread")]
async fn verified_calls_answer_as_the_node() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let genesis = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    let airlock =
        Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", genesis.as_str().expect("hash")]);
    let (direct, through) = (Rpc::new(&anvil.url()), Rpc::new(&airlock.rpc));
    let balance_of = calldata("balanceOf(address)", &[ADDR0]).await;
    let symbol = calldata("symbol()", &[]).await;
    let transfer = calldata("transfer(address,uint256)", &[ADDR1, "7"]).await;
    let too_much = calldata("transfer(address,uint256)", &[ADDR1, "2000000000000000000000"]).await;
    let cases = [
        ("eth_call", json!([{ "to": token, "data": balance_of }, "latest"])),
        ("eth_call", json!([{ "to": token, "input": symbol }])),
        ("eth_call", json!([{ "from": ADDR0, "to": token, "data": transfer }, "latest"])),
        ("eth_call", json!([{ "from": ADDR0, "to": token, "data": too_much }, "latest"])),
        ("eth_call", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x1" }, "pending"])),
        ("eth_estimateGas", json!([{ "from": ADDR0, "to": token, "data": transfer }])),
        ("eth_estimateGas", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x1" }, "latest"])),
        ("eth_estimateGas", json!([{ "from": ADDR0, "to": token, "data": too_much }])),
    ];
    for (method, params) in &cases {
        let (a, b) = (through.call(method, params.clone()).await, direct.call(method, params.clone()).await);
        assert_eq!(a["result"], b["result"], "{method} {params}: {a} vs {b}");
        // Reverts come back in the node's form: code 3, the reason, the revert data.
        assert_eq!(a["error"]["code"], b["error"]["code"], "{method} {params}: {a} vs {b}");
        assert_eq!(a["error"]["data"], b["error"]["data"], "{method} {params}: {a} vs {b}");
    }
    let reverted = through.call("eth_call", cases[3].1.clone()).await;
    assert_eq!(reverted["error"]["message"], "execution reverted: ERC20: transfer amount exceeds balance");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_that_does_not_verify_gives_no_report_and_a_failed_item() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let genesis = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    let mode = Arc::new(AtomicU8::new(0));
    let upstream = tampering_upstream(anvil.url(), mode.clone()).await;
    let airlock =
        Airlock::start(&upstream, &["--verify", "checkpoint", "--checkpoint", genesis.as_str().expect("hash")]);
    let balance_of = calldata("balanceOf(address)", &[ADDR0]).await;
    let through = Rpc::new(&airlock.rpc);
    assert!(through.call("eth_call", json!([{ "to": token, "data": balance_of }])).await.get("result").is_some());

    mode.store(PROOF_BALANCE, Ordering::SeqCst);
    let resp = through.call("eth_call", json!([{ "from": ADDR1, "to": token, "data": balance_of }])).await;
    assert_eq!(resp["error"]["code"], -32090, "{resp}");
    let item = held(&airlock, json!({ "from": ADDR0, "to": ADDR1, "value": "0x1" })).await;
    assert_eq!(item["verification"]["status"], "failed", "{item}");
    assert!(item["report"].is_null(), "{item}");
    assert!(item["simulation_error"].as_str().is_some_and(|e| e.contains("verification failed")), "{item}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_simulate_command_prints_the_report() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let direct = Rpc::new(&anvil.url());
    let genesis = direct.result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    let run = |args: Vec<String>| async move {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"));
        cmd.arg("simulate").args(args);
        output(cmd).await
    };
    let up = anvil.url();
    // A signed transaction, on checkpoint-verified state: the readable table.
    let data = calldata("transfer(address,uint256)", &[ADDR1, "1500000000000000000"]).await;
    let raw = mktx(&up, &[&token, &data]).await;
    let out = run(vec![
        "--upstream".into(),
        up.clone(),
        "--verify".into(),
        "checkpoint".into(),
        "--checkpoint".into(),
        genesis.as_str().expect("hash").into(),
        raw.clone(),
    ])
    .await;
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(text.contains("succeeds at block"), "{text}");
    assert!(text.contains("sends    1.5 TST"), "{text}");
    assert!(text.contains("receives 1.5 TST"), "{text}");
    // Nothing was sent: simulating is not sending.
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x1");

    // The unsigned form, as JSON: the same report a held item carries.
    let tx = json!({ "from": ADDR0, "to": token, "data": data }).to_string();
    let out = run(vec!["--upstream".into(), up.clone(), "--tx".into(), tx, "--json".into()]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["verification"]["status"], "unverified");
    assert_eq!(v["report"]["transfers"][0]["amount"], "1500000000000000000");
    assert_eq!(v["report"]["transfers"][0]["asset"]["symbol"], "TST");

    // --block: the state of an older block (before the token existed: the call finds no code).
    let out = run(vec![
        "--upstream".into(),
        up.clone(),
        "--tx".into(),
        json!({ "from": ADDR0, "to": token, "data": data }).to_string(),
        "--block".into(),
        "0".into(),
        "--json".into(),
    ])
    .await;
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["report"]["block"]["number"], 0, "{v}");
    assert_eq!(v["report"]["transfers"], json!([]), "{v}");

    // Bad input: a clear error, non-zero exit.
    for bad in [
        vec!["0x1234".to_string()],
        vec!["--tx".into(), "{\"to\":\"0x00\"}".into()],
        vec!["--tx".into(), json!({ "to": token }).to_string()],
    ] {
        let mut args = vec!["--upstream".to_string(), up.clone()];
        args.extend(bad.clone());
        let out = run(args).await;
        assert!(!out.status.success(), "{bad:?}");
        assert!(stderr(&out).starts_with("airlock: "), "{bad:?}: {}", stderr(&out));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_approved_send_that_changed_since_it_was_shown_is_not_forwarded() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let direct = Rpc::new(&anvil.url());
    let genesis = direct.result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    let airlock =
        Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", genesis.as_str().expect("hash")]);
    let rpc = Rpc::new(&airlock.rpc);
    let data = calldata("transfer(address,uint256)", &[ADDR1, "5000000000000000000"]).await;
    let tx = json!({ "from": ADDR0, "to": token, "data": data, "gas": "0x30000" });
    let task = tokio::spawn(async move { rpc.call("eth_sendTransaction", json!([tx])).await });
    let item = airlock.wait_pending(1)[0].clone();
    let id = item["id"].as_str().expect("id").to_owned();
    assert_eq!(item["report"]["outcome"]["status"], "success", "{item}");

    // Behind the person's back, the tokens leave the account: the same request would revert now.
    let all = calldata("transfer(address,uint256)", &[ADDR2, "1000000000000000000000"]).await;
    direct.result("eth_sendTransaction", json!([{ "from": ADDR0, "to": token, "data": all }])).await;

    let out = airlock.cli(&["approve", &id]);
    assert!(!out.status.success(), "approve must refuse: {}", stdout(&out));
    assert!(stderr(&out).contains("not forwarded"), "{}", stderr(&out));
    let again = airlock.pending();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0]["status"], "pending");
    assert_eq!(again[0]["report"]["outcome"]["status"], "revert", "the new report: {}", again[0]);
    // Nothing reached the chain: the sender's nonce moved only by the transfer made directly.
    assert_eq!(direct.result("eth_getTransactionCount", json!([ADDR0, "latest"])).await, "0x2");
    airlock.reject(&id);
    assert_eq!(task.await.expect("join")["error"]["code"], 4001);
}

/// An EIP-712 request as wallets send it.
fn typed_data(primary: &str, contract: &str, types: Value, message: Value) -> Value {
    let mut all = json!({
        "EIP712Domain": [
            { "name": "name", "type": "string" },
            { "name": "chainId", "type": "uint256" },
            { "name": "verifyingContract", "type": "address" }
        ]
    });
    for (k, v) in types.as_object().expect("types") {
        all[k] = v.clone();
    }
    json!({
        "types": all,
        "primaryType": primary,
        "domain": { "name": "Test", "chainId": 31337, "verifyingContract": contract },
        "message": message,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn signature_requests_say_what_they_authorise() {
    let anvil = Anvil::start();
    let token = token(&anvil.url()).await;
    let genesis = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    let airlock =
        Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", genesis.as_str().expect("hash")]);
    let airlock = &airlock;
    let sign = |payload: Value| {
        let rpc = Rpc::new(&airlock.rpc);
        async move {
            let before = airlock.pending().len();
            let task =
                tokio::spawn(
                    async move { rpc.call("eth_signTypedData_v4", json!([ADDR0, payload.to_string()])).await },
                );
            let item = airlock.wait_pending(before + 1)[0].clone();
            airlock.reject(item["id"].as_str().expect("id"));
            assert_eq!(task.await.expect("join")["error"]["code"], 4001);
            item
        }
    };

    // EIP-2612 Permit for the token, to a contract spender: the allowance now, from state.
    let permit_types = json!({ "Permit": [
        { "name": "owner", "type": "address" }, { "name": "spender", "type": "address" },
        { "name": "value", "type": "uint256" }, { "name": "nonce", "type": "uint256" },
        { "name": "deadline", "type": "uint256" }
    ]});
    let message = json!({ "owner": ADDR0, "spender": token, "value": "2500000000000000000", "nonce": "0", "deadline": "1900000000" });
    let item = sign(typed_data("Permit", &token, permit_types, message)).await;
    record_item("permit", &item);
    let r = &item["signature_report"];
    assert_eq!(r["kind"], "permit", "{item}");
    let ap = &r["approvals"][0];
    assert_eq!(ap["token"], token.to_lowercase());
    assert_eq!(ap["symbol"], "TST", "the token's symbol, read from verified state");
    assert_eq!(ap["spender_kind"], "contract");
    assert_eq!(ap["before"], "0");
    assert_eq!(ap["after"], "2500000000000000000");
    assert_eq!(r["deadline"], 1_900_000_000);
    let text = stdout(&airlock.cli(&["history"]));
    assert!(text.contains("grants") && text.contains("2.5 TST"), "{text}");

    // Permit2 PermitSingle: an allowance held by Permit2, unlimited at 2^160 - 1.
    let permit2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3";
    let types = json!({
        "PermitDetails": [
            { "name": "token", "type": "address" }, { "name": "amount", "type": "uint160" },
            { "name": "expiration", "type": "uint48" }, { "name": "nonce", "type": "uint48" }
        ],
        "PermitSingle": [
            { "name": "details", "type": "PermitDetails" }, { "name": "spender", "type": "address" },
            { "name": "sigDeadline", "type": "uint256" }
        ]
    });
    let message = json!({
        "details": { "token": token, "amount": "1461501637330902918203684832716283019655932542975", "expiration": "1900000000", "nonce": "0" },
        "spender": ADDR2, "sigDeadline": "1900000000"
    });
    let item = sign(typed_data("PermitSingle", permit2, types, message)).await;
    record_item("permit2-unlimited-to-eoa", &item);
    let r = &item["signature_report"];
    assert_eq!(r["kind"], "permit2_allowance", "{item}");
    assert_eq!(r["approvals"][0]["unlimited"], true);
    assert_eq!(r["approvals"][0]["spender_kind"], "eoa");
    assert_eq!(r["approvals"][0]["expiration"], 1_900_000_000);

    // personal_sign: a message; nothing to decode, and the report says what it is.
    let rpc = Rpc::new(&airlock.rpc);
    let task = tokio::spawn(async move { rpc.call("personal_sign", json!(["0x68656c6c6f", ADDR0])).await });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["signature_report"]["kind"], "message", "{item}");
    airlock.reject(item["id"].as_str().expect("id"));
    task.await.expect("join");
}

/// Compares a report with its snapshot in testdata/snapshots (sorted JSON). The block it ran on
/// (hash, timestamp, randomness) differs per run and is left out. `AIRLOCK_UPDATE_SNAPSHOTS=1`
/// writes the snapshots instead.
pub(crate) fn snapshot(name: &str, report: &Value) {
    let mut r = report.clone();
    if let Some(obj) = r.as_object_mut() {
        obj.remove("block");
    }
    let text = serde_json::to_string_pretty(&r).expect("serializes") + "\n";
    let path = repo().join("testdata/snapshots").join(format!("{name}.json"));
    if std::env::var_os("AIRLOCK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, &text).expect("write snapshot");
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("no snapshot {}: run with AIRLOCK_UPDATE_SNAPSHOTS=1", path.display()));
    assert!(want == text, "report {name} differs from {}:\n{text}", path.display());
}
