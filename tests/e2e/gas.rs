//! Fee advice on anvil: a 500 gwei tip is flagged with what it overpays; an unsigned send takes
//! the suggestion and is mined with exactly the suggested fields; a signed one is told what to
//! sign again with; the next base fee is the node's own.

use serde_json::{Value, json};

use crate::harness::*;

const GWEI: u128 = 1_000_000_000;

fn hex(v: u128) -> String {
    format!("{v:#x}")
}

fn wei(v: &Value) -> u128 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("a decimal wei string: {v}"))
}

fn rules(item: &Value) -> Vec<String> {
    item["findings"].as_array().into_iter().flatten().filter_map(|f| f["rule"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_500_gwei_tip_is_flagged_and_the_suggested_fee_is_what_is_mined() {
    let anvil = Anvil::start();
    let direct = Rpc::new(&anvil.url());
    // Past genesis, whose child anvil gives the genesis base fee; from there on, EIP-1559.
    for _ in 0..2 {
        direct.result("evm_mine", json!([])).await;
    }
    let airlock = Airlock::start(&anvil.url(), &[]);
    let rpc = Rpc::new(&airlock.rpc);
    let tx = json!({ "from": ADDR0, "to": ADDR1, "value": "0x1", "type": "0x2",
        "maxPriorityFeePerGas": hex(500 * GWEI), "maxFeePerGas": hex(600 * GWEI) });
    let task = tokio::spawn(async move { rpc.call("eth_sendTransaction", json!([tx])).await });
    let item = airlock.wait_pending(1)[0].clone();
    let id = item["id"].as_str().expect("id").to_owned();
    assert!(rules(&item).contains(&"gas-overpay".to_owned()), "{item}");
    let finding = item["findings"].as_array().expect("findings").iter().find(|f| f["rule"] == "gas-overpay").cloned();
    let message = finding.expect("finding")["message"].as_str().unwrap_or_default().to_owned();
    assert!(message.contains("500") && message.contains("suggested fee"), "{message}");

    // The next base fee is the node's own answer for the next block.
    let g = &item["gas"];
    let history = direct.result("eth_feeHistory", json!(["0x1", "latest", []])).await;
    let node_next =
        u128::from_str_radix(history["baseFeePerGas"][1].as_str().expect("hex").trim_start_matches("0x"), 16)
            .expect("hex");
    assert_eq!(wei(&g["next_base_fee"]), node_next, "{g}");
    let (tip, max) = (wei(&g["suggested_tip"]), wei(&g["suggested_max_fee"]));
    assert!(tip <= 10 * GWEI, "{g}");
    assert_eq!(max, 2 * node_next + tip);
    assert_eq!(wei(&g["tip"]), 500 * GWEI);
    assert_eq!(g["adjustable"], true);
    // What it would pay beyond the suggestion: the tip's difference on 21000 gas.
    assert_eq!(wei(&g["would_pay"]), (node_next + 500 * GWEI) * 21_000);
    assert_eq!(wei(&g["would_pay_suggested"]), (node_next + tip) * 21_000);
    let shown = stdout(&airlock.cli(&["pending"]));
    assert!(shown.contains("--use-suggested-fees"), "{shown}");

    // Approved with the suggestion: the fields are replaced before forwarding.
    let out = airlock.cli(&["approve", &id, "--use-suggested-fees", "--confirm", &format!("approve {id}"), "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("Fees replaced"), "{}", stderr(&out));
    let answer = task.await.expect("join");
    let hash = answer["result"].as_str().unwrap_or_else(|| panic!("forwarded: {answer}")).to_owned();
    let mined = direct.result("eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(mined["maxPriorityFeePerGas"], hex(tip), "{mined}");
    assert_eq!(mined["maxFeePerGas"], hex(max), "{mined}");
    let receipt = direct.result("eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1");
    let logged = airlock.history()[0].clone();
    assert_eq!(logged["gas"]["accepted"], true, "{logged}");
    assert!(!rules(&logged).contains(&"gas-overpay".to_owned()), "the rules ran again: {logged}");
    // The explanation was written again for the fee that was sent.
    let fee_was = item["explanation"]["summary"].as_str().unwrap_or_default().to_owned();
    let fee_now = logged["explanation"]["summary"].as_str().unwrap_or_default().to_owned();
    assert_ne!(fee_was, fee_now, "the old text named the old fee: {fee_now}");
    let params: Value = logged["params"].clone();
    assert_eq!(params[0]["maxPriorityFeePerGas"], hex(tip), "the audit log has what was sent: {params}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_transaction_is_told_what_to_sign_again_with() {
    let anvil = Anvil::start();
    let airlock = Airlock::start(&anvil.url(), &[]);
    let raw = mktx(&anvil.url(), &["--priority-gas-price", "500gwei", "--gas-price", "600gwei", ADDR1]).await;
    let rpc = Rpc::new(&airlock.rpc);
    let task = tokio::spawn(async move { rpc.call("eth_sendRawTransaction", json!([raw])).await });
    let item = airlock.wait_pending(1)[0].clone();
    let id = item["id"].as_str().expect("id").to_owned();
    assert!(rules(&item).contains(&"gas-overpay".to_owned()), "{item}");
    assert_eq!(item["gas"]["adjustable"], false);
    let out = airlock.cli(&["approve", &id, "--use-suggested-fees"]);
    assert!(!out.status.success(), "a signed transaction's fees cannot change");
    let err = stderr(&out);
    assert!(err.contains("sign it again with maxFeePerGas") && err.contains("HTTP 409"), "{err}");
    // Nothing changed, nothing went out.
    assert_eq!(airlock.pending()[0]["params"], item["params"]);
    airlock.reject(&id);
    assert_eq!(task.await.expect("join")["error"]["code"], 4001);
}
