//! The bundled rules over reports recorded from real simulations (testdata/snapshots): each
//! fires on its shape, and the benign reports stay quiet. The end-to-end suite (tests/e2e
//! policy) runs the same rules on anvil.

use std::collections::HashMap;

use airlock_policy::{Policy, PolicyConfig, verdict};
use airlock_types::{Item, Severity, SimulationReport, Timestamp, Verification, VerificationStatus};
use serde_json::{Value, json};

fn report(name: &str) -> SimulationReport {
    let path = format!("{}/../../testdata/snapshots/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("snapshot")).expect("json");
    v["block"] = json!({ "number": 1, "hash": format!("0x{}", "00".repeat(32)), "timestamp": 0, "base_fee": 0,
        "gas_limit": 30000000, "coinbase": format!("0x{}", "00".repeat(20)), "prevrandao": format!("0x{}", "00".repeat(32)), "excess_blob_gas": null });
    serde_json::from_value(v).expect("a SimulationReport")
}

fn item(r: SimulationReport) -> Item {
    let params = serde_json::value::to_raw_value(&json!([])).expect("raw");
    let mut item = Item::pending("x".into(), "eth_sendTransaction".into(), params, Timestamp(0), Timestamp(0));
    item.tx = Some(airlock_types::TxView { from: Some(r.from), to: r.to, value: r.value, ..Default::default() });
    item.verification = Some(Verification {
        mode: "verified".into(),
        status: VerificationStatus::Verified,
        block_number: Some(1),
        block_hash: None,
        error: None,
        note: None,
    });
    item.report = Some(r);
    item
}

fn fired(policy: &Policy, name: &str) -> Vec<String> {
    let findings = policy.evaluate(&item(report(name)), 31337, &HashMap::new());
    findings.iter().map(|f| f.rule.clone()).collect()
}

#[test]
fn bundled_rules_load_and_fire_on_their_shapes() {
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules load");
    assert!(policy.rules.len() >= 15, "{} rules", policy.rules.len());
    let unlimited = fired(&policy, "erc20-approve-unlimited");
    assert!(unlimited.contains(&"unlimited-approval".into()), "{unlimited:?}");
    assert!(unlimited.contains(&"approval-to-eoa".into()), "{unlimited:?}");
    assert!(fired(&policy, "erc20-revert").contains(&"reverts".into()));
    assert!(fired(&policy, "evasive-drainer").contains(&"simulation-divergence".into()));
    assert!(fired(&policy, "eip7702-delegation").contains(&"delegation-not-allowlisted".into()));
    assert!(fired(&policy, "erc721-approval-for-all").contains(&"approval-for-all-unknown-operator".into()));
    // A plain ETH send to a fresh EOA: nothing at warn or above but the first-send rules.
    let findings = policy.evaluate(&item(report("eth-send")), 31337, &HashMap::new());
    assert!(verdict(&findings).is_none_or(|v| v < Severity::Danger), "{findings:?}");
}

#[test]
fn messages_are_filled_from_the_facts() {
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules load");
    let findings = policy.evaluate(&item(report("erc20-approve-unlimited")), 31337, &HashMap::new());
    let f = findings.iter().find(|f| f.rule == "unlimited-approval").expect("fired");
    assert!(f.message.contains("UNLIMITED amount of TST"), "{}", f.message);
    assert_eq!(f.evidence["unlimited"], true);
    assert_eq!(f.severity, Severity::Warn);
}
