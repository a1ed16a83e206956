//! Every read method a wallet uses gives the same answer through Airlock as from the node
//! directly: results, and errors with their code, message and data.

use serde_json::{Value, json};

use crate::harness::*;

/// OpenZeppelin 4.9's ERC20PresetFixedSupply, from the npm package.
fn erc20_bytecode() -> String {
    let path = repo().join("tests/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json");
    let artifact: Value = serde_json::from_slice(&std::fs::read(&path).expect("artifact")).expect("json");
    artifact["bytecode"].as_str().expect("bytecode").to_owned()
}

async fn cast_out(args: &[&str]) -> String {
    let out = output(cast(args)).await;
    assert!(out.status.success(), "cast {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn read_methods_answer_as_the_node_does() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let direct = Rpc::new(&anvil.url());
    let through = Rpc::new(&airlock.rpc);

    // A real token, a transfer, so there are logs, receipts, storage and code to read.
    let args =
        cast_out(&["abi-encode", "constructor(string,string,uint256,address)", "Test", "TST", "1000000", ADDR0]).await;
    let data = format!("{}{}", erc20_bytecode(), args.trim_start_matches("0x"));
    let deploy = direct.result("eth_sendTransaction", json!([{ "from": ADDR0, "data": data }])).await;
    let token = receipt(&direct, &deploy).await["contractAddress"].clone();
    let transfer_data = cast_out(&["calldata", "transfer(address,uint256)", ADDR1, "5"]).await;
    let transfer =
        direct.result("eth_sendTransaction", json!([{ "from": ADDR0, "to": token, "data": transfer_data }])).await;
    let block = receipt(&direct, &transfer).await;
    let (bn, bh) = (block["blockNumber"].clone(), block["blockHash"].clone());
    let balance_of = cast_out(&["calldata", "balanceOf(address)", ADDR0]).await;
    let too_much = cast_out(&["calldata", "transfer(address,uint256)", ADDR0, "1000"]).await;

    let calls: Vec<(&str, Value)> = vec![
        ("eth_chainId", json!([])),
        ("eth_blockNumber", json!([])),
        ("net_version", json!([])),
        ("net_listening", json!([])),
        ("web3_clientVersion", json!([])),
        ("web3_sha3", json!(["0x68656c6c6f"])),
        ("eth_accounts", json!([])),
        ("eth_syncing", json!([])),
        ("eth_mining", json!([])),
        ("eth_coinbase", json!([])),
        ("eth_gasPrice", json!([])),
        ("eth_maxPriorityFeePerGas", json!([])),
        ("eth_blobBaseFee", json!([])),
        ("eth_feeHistory", json!(["0x2", "latest", [25, 75]])),
        ("eth_getBalance", json!([ADDR0, "latest"])),
        ("eth_getTransactionCount", json!([ADDR0, "latest"])),
        ("eth_getTransactionCount", json!([ADDR0, "pending"])),
        ("eth_getCode", json!([token, "latest"])),
        ("eth_getStorageAt", json!([token, "0x2", "latest"])),
        ("eth_call", json!([{ "to": token, "data": balance_of }, "latest"])),
        ("eth_estimateGas", json!([{ "from": ADDR0, "to": token, "data": transfer_data }])),
        ("eth_createAccessList", json!([{ "from": ADDR0, "to": token, "data": transfer_data }, "latest"])),
        ("eth_getLogs", json!([{ "fromBlock": "0x0", "toBlock": "latest", "address": token }])),
        ("eth_getBlockByNumber", json!(["latest", false])),
        ("eth_getBlockByNumber", json!([bn, true])),
        ("eth_getBlockByHash", json!([bh, false])),
        ("eth_getBlockReceipts", json!([bn])),
        ("eth_getBlockTransactionCountByNumber", json!([bn])),
        ("eth_getBlockTransactionCountByHash", json!([bh])),
        ("eth_getTransactionByHash", json!([transfer])),
        ("eth_getTransactionByBlockNumberAndIndex", json!([bn, "0x0"])),
        ("eth_getTransactionByBlockHashAndIndex", json!([bh, "0x0"])),
        ("eth_getTransactionReceipt", json!([deploy])),
        ("eth_getUncleCountByBlockNumber", json!(["latest"])),
        ("eth_getProof", json!([token, ["0x2"], "latest"])),
        // Errors come back unchanged: a revert with its data, and a method the node lacks.
        ("eth_call", json!([{ "from": ADDR1, "to": token, "data": too_much }, "latest"])),
        ("airlock_noSuchMethod", json!([])),
    ];
    let mut read_methods = std::collections::BTreeSet::new();
    for (method, params) in &calls {
        let want = direct.call(method, params.clone()).await;
        let got = through.call(method, params.clone()).await;
        assert_eq!(got, want, "{method} {params}");
        if want.get("result").is_some() {
            read_methods.insert(*method);
        }
    }
    assert!(read_methods.len() >= 25, "only {} read methods compared", read_methods.len());
    // The revert case really is an error with data, so the comparison above covered that path.
    let revert = through.call("eth_call", calls[calls.len() - 2].1.clone()).await;
    assert!(revert["error"]["data"].as_str().is_some_and(|d| d.starts_with("0x08c379a0")), "{revert}");
    assert!(airlock.pending().is_empty(), "reads are never held");
}
