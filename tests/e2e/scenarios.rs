//! Simulation reports for real contracts from npm (WETH9, Uniswap V2, OpenZeppelin ERC-721 and
//! ERC-1155 presets) and test contracts compiled with solc from npm (an evasive drainer, a custom
//! error, a 7702 batch executor), on anvil, through `airlock run --verify checkpoint`.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, change, deploy, deploy_code, held, nft, send, snapshot, token};

/// tests/contracts/Scenarios.sol, compiled: {"Name": {"bytecode", "abi"}}.
async fn compiled() -> Value {
    let out =
        output(node("solc.mjs", &[repo().join("tests/contracts/Scenarios.sol").to_str().expect("utf8 path")])).await;
    assert!(out.status.success(), "solc: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("solc output")
}

async fn checkpointed(anvil: &Anvil) -> Airlock {
    let genesis = Rpc::new(&anvil.url()).result("eth_getBlockByNumber", json!(["0x0", false])).await["hash"].clone();
    Airlock::start(&anvil.url(), &["--verify", "checkpoint", "--checkpoint", genesis.as_str().expect("hash")])
}

/// A signed transaction held, its item returned, then rejected.
async fn held_raw(airlock: &Airlock, raw: String) -> Value {
    let rpc = Rpc::new(&airlock.rpc);
    let before = airlock.pending().len();
    let task = tokio::spawn(async move { rpc.call("eth_sendRawTransaction", json!([raw])).await });
    let item = airlock.wait_pending(before + 1)[0].clone();
    airlock.reject(item["id"].as_str().expect("id"));
    assert_eq!(task.await.expect("join")["error"]["code"], 4001);
    item
}

const ONE: &str = "1000000000000000000";

#[tokio::test(flavor = "multi_thread")]
async fn weth_wrap_unwrap_and_a_uniswap_v2_swap() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let (weth, router) = crate::simulate::uniswap_v2(&up).await;
    let tst = token(&up).await;
    // A pool: 100 TST against 10 ETH.
    send(&up, &tst, "approve(address,uint256)", &[&router, &format!("{}", u128::MAX)], "0").await;
    let deadline = "9999999999";
    let add = ["addLiquidityETH(address,uint256,uint256,uint256,address,uint256)"];
    send(&up, &router, add[0], &[&tst, "100000000000000000000", "0", "0", ADDR0, deadline], "10ether").await;
    let airlock = checkpointed(&anvil).await;

    // Wrap: ETH into the WETH contract, WETH minted to the sender.
    let item =
        held(&airlock, json!({ "from": ADDR1, "to": weth, "value": "0xde0b6b3a7640000", "data": "0xd0e30db0" })).await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "success", "{item}");
    assert_eq!(change(r, ADDR1, "eth")["sent"], ONE);
    let wrapped = change(r, ADDR1, "erc20");
    assert_eq!(wrapped["received"], ONE);
    assert_eq!(wrapped["asset"]["symbol"], "WETH");
    assert_eq!(r["mismatches"], json!([]), "{r}");
    snapshot("weth-wrap", r);

    // Unwrap: WETH burned, ETH back (an internal call from the WETH contract).
    send(&up, &weth, "deposit()", &[], "2ether").await;
    let data = calldata("withdraw(uint256)", &[ONE]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": weth, "data": data })).await;
    let r = &item["report"];
    assert_eq!(change(r, ADDR0, "erc20")["sent"], ONE, "{item}");
    assert_eq!(change(r, ADDR0, "eth")["received"], ONE);
    assert!(r["calls"].as_array().expect("calls").iter().any(|c| c["depth"] == 1 && c["value"] == ONE), "{r}");
    assert_eq!(r["mismatches"], json!([]), "{r}");
    snapshot("weth-unwrap", r);

    // A swap: 1 ETH in, TST out, through the router, WETH and the pair.
    let path = format!("[{weth},{tst}]");
    let data =
        calldata("swapExactETHForTokens(uint256,address[],address,uint256)", &["0", &path, ADDR1, deadline]).await;
    let item = held(&airlock, json!({ "from": ADDR1, "to": router, "value": "0xde0b6b3a7640000", "data": data })).await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "success", "{item}");
    assert_eq!(change(r, ADDR1, "eth")["sent"], ONE);
    let got = change(r, ADDR1, "erc20");
    assert_eq!(got["asset"]["symbol"], "TST");
    // x·y = k with the 0.3% fee: 100·1·0.997 / (10 + 0.997) TST.
    assert_eq!(got["received"], "9066108938801491315");
    assert_eq!(r["mismatches"], json!([]), "{r}");
    assert!(r["divergences"].as_array().is_some_and(|d| d.is_empty()), "{r}");
    snapshot("uniswap-v2-swap", r);
}

#[tokio::test(flavor = "multi_thread")]
async fn nfts_minted_transferred_and_approved() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let nft = nft(&up).await;
    let multi = deploy(
        &up,
        "@openzeppelin/contracts/build/contracts/ERC1155PresetMinterPauser.json",
        "f(string)",
        &["https://example.invalid/{id}"],
    )
    .await;
    send(&up, &nft, "mint(address)", &[ADDR0], "0").await;
    send(&up, &multi, "mintBatch(address,uint256[],uint256[],bytes)", &[ADDR0, "[1,2]", "[10,20]", "0x"], "0").await;
    let airlock = checkpointed(&anvil).await;

    // Mint: token #1 appears at ADDR1.
    let data = calldata("mint(address)", &[ADDR1]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": nft, "data": data })).await;
    let got = change(&item["report"], ADDR1, "erc721");
    assert_eq!(got["received"], "1", "{item}");
    assert_eq!(got["asset"]["token_id"], "1");
    assert_eq!(got["asset"]["symbol"], "TNFT");
    snapshot("erc721-mint", &item["report"]);

    // Transfer of token #0.
    let data = calldata("transferFrom(address,address,uint256)", &[ADDR0, ADDR2, "0"]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": nft, "data": data })).await;
    assert_eq!(change(&item["report"], ADDR0, "erc721")["sent"], "1", "{item}");
    assert_eq!(change(&item["report"], ADDR2, "erc721")["asset"]["token_id"], "0");

    // setApprovalForAll: every token of the collection, to an EOA.
    let data = calldata("setApprovalForAll(address,bool)", &[ADDR2, "true"]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": nft, "data": data })).await;
    let ap = &item["report"]["approvals"][0];
    assert_eq!(ap["kind"], "approval_for_all", "{item}");
    assert_eq!(ap["before"], "0");
    assert_eq!(ap["after"], "1");
    assert_eq!(ap["spender_kind"], "eoa");
    snapshot("erc721-approval-for-all", &item["report"]);

    // ERC-1155 batch transfer: two ids, two amounts.
    let data = calldata(
        "safeBatchTransferFrom(address,address,uint256[],uint256[],bytes)",
        &[ADDR0, ADDR1, "[1,2]", "[3,4]", "0x"],
    )
    .await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": multi, "data": data })).await;
    let changes = item["report"]["asset_changes"].as_array().expect("changes");
    let received: Vec<(&Value, &Value)> = changes
        .iter()
        .filter(|c| c["address"] == ADDR1 && c["asset"]["kind"] == "erc1155")
        .map(|c| (&c["asset"]["token_id"], &c["received"]))
        .collect();
    assert_eq!(received, vec![(&json!("1"), &json!("3")), (&json!("2"), &json!("4"))], "{item}");
    snapshot("erc1155-batch", &item["report"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_errors_evasion_and_7702_delegation() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let contracts = compiled().await;
    let code = |name: &str| contracts[name]["bytecode"].as_str().expect("bytecode").to_owned();
    let evasive = deploy_code(&up, &code("Evasive"), "", &[]).await;
    let strict = deploy_code(&up, &code("Strict"), "", &[]).await;
    let executor = deploy_code(&up, &code("BatchExecutor"), "", &[]).await;
    let permit2 = deploy_code(&up, &code("Permit2Allowances"), "", &[]).await;
    let tst = token(&up).await;
    send(&up, &permit2, "approve(address,address,uint160,uint48)", &[&tst, ADDR2, "7", "1900000000"], "0").await;
    let airlock = checkpointed(&anvil).await;

    // A Permit2-style allowance: read from the event, with the allowance it replaces.
    let max160 = "1461501637330902918203684832716283019655932542975";
    let data = calldata("approve(address,address,uint160,uint48)", &[&tst, ADDR2, max160, "1900000000"]).await;
    let item = held(&airlock, json!({ "from": ADDR0, "to": permit2, "data": data })).await;
    let ap = &item["report"]["approvals"][0];
    assert_eq!(ap["kind"], "permit2", "{item}");
    assert_eq!(ap["token"], tst.to_lowercase());
    assert_eq!(ap["symbol"], "TST");
    assert_eq!(ap["before"], "7", "the allowance it replaces, read from the Permit2 contract");
    assert_eq!(ap["unlimited"], true);
    assert_eq!(ap["expiration"], 1_900_000_000);
    assert_eq!(item["report"]["call"]["source"], "permit2");

    // A custom error: reverted, its selector and arguments kept.
    let data = calldata("need(uint256)", &["5"]).await;
    let item = held(&airlock, json!({ "from": ADDR1, "to": strict, "data": data, "gas": "0x20000" })).await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "revert", "{item}");
    let error = calldata("ERC20InsufficientBalance(address,uint256,uint256)", &[ADDR1, "1", "5"]).await;
    assert_eq!(r["outcome"]["output"], error, "the revert data is the error, ABI-encoded");
    assert_eq!(
        r["outcome"]["reason"],
        format!("custom error ERC20InsufficientBalance(sender = {ADDR1}, balance = 1, needed = 5)"),
        "named from rules/abi/errors.abi"
    );
    assert_eq!(r["call"]["function"], Value::Null, "need(uint256) is no known function: shown raw");
    assert_eq!(r["call"]["selector"], &data[..10]);
    snapshot("custom-error", r);

    // The evasive drainer refunds on anvil (coinbase zero); in a block with a real fee
    // recipient it keeps the value. The report records the divergence.
    let item =
        held(&airlock, json!({ "from": ADDR1, "to": evasive, "value": "0xde0b6b3a7640000", "data": "0x4e71d92d" }))
            .await;
    let r = &item["report"];
    assert_eq!(r["outcome"]["status"], "success", "{item}");
    assert_eq!(change(r, ADDR1, "eth")["received"], ONE, "refunded in the simulated block");
    let divergences = r["divergences"].as_array().expect("divergences");
    assert_eq!(divergences.len(), 1, "{r}");
    assert!(divergences[0]["environment"].as_str().is_some_and(|e| e.starts_with("fee recipient")), "{r}");
    assert!(
        divergences[0]["difference"].as_str().is_some_and(|d| d.to_lowercase().contains(ADDR0)),
        "the owner gets it: {r}"
    );
    snapshot("evasive-drainer", r);

    // EIP-7702: the account delegates to the batch executor; the report says so.
    let raw = mktx(&up, &["--auth", &executor, ADDR0]).await;
    let item = held_raw(&airlock, raw).await;
    let d = &item["report"]["delegations"];
    assert_eq!(d[0]["authority"], ADDR0, "{item}");
    assert_eq!(d[0]["before"], Value::Null);
    assert_eq!(d[0]["after"], executor.to_lowercase());
    snapshot("eip7702-delegation", &item["report"]);
}
