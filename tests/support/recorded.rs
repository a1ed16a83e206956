//! Recorded simulation reports (testdata/snapshots, written by the e2e suite) as held items,
//! for the tests and benches of the policy and explain crates. One copy, included with
//! `#[path = "../../../tests/support/recorded.rs"] mod recorded;`.
#![allow(dead_code)]

use airlock_types::{Item, SimulationReport, Timestamp};
use serde_json::{Value, json};

/// The snapshot `name`, with a placeholder block (snapshots leave the block out).
pub fn report(name: &str) -> SimulationReport {
    // From a crate under crates/, or from the repository root (the e2e suite).
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = if root.join("testdata").is_dir() { root.to_owned() } else { root.join("../..") };
    let path = root.join(format!("testdata/snapshots/{name}.json"));
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("snapshot")).expect("json");
    v["block"] = json!({ "number": 1, "hash": format!("0x{}", "00".repeat(32)), "timestamp": 0, "base_fee": 0,
        "gas_limit": 30000000, "coinbase": format!("0x{}", "00".repeat(20)), "prevrandao": format!("0x{}", "00".repeat(32)), "excess_blob_gas": null });
    serde_json::from_value(v).expect("a SimulationReport")
}

/// A pending eth_sendTransaction carrying `report`.
pub fn held(report: SimulationReport) -> Item {
    let params = serde_json::value::to_raw_value(&json!([])).expect("raw");
    let mut item = Item::pending("x".into(), "eth_sendTransaction".into(), params, Timestamp(0), Timestamp(0));
    item.tx = Some(airlock_types::TxView {
        from: Some(report.from),
        to: report.to,
        value: report.value,
        ..Default::default()
    });
    item.report = Some(report);
    item
}

/// The snapshot `name` as a held item.
pub fn item(name: &str) -> Item {
    held(report(name))
}
