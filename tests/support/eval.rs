//! The explanations' evaluation set (issue 19): held items recorded by the e2e suite
//! (testdata/explain/items: every bundled rule's attack and its benign twin, permits,
//! failed verification; `AIRLOCK_RECORD_ITEMS=1` writes them), and what a correct explanation
//! of each must state (testdata/explain/expected.json, `items`). One copy, included with
//! `#[path = "../../../tests/support/eval.rs"] mod eval;`.
#![allow(dead_code)]

use std::path::PathBuf;

use airlock_explain::score::{self, Expected};
use airlock_types::{Item, Severity};
use serde_json::Value;

/// One report of the set: its name (the rule, `.twin` for the benign twin), the held item and
/// what its explanation must state, with the roles and amounts of its report.
pub struct Case {
    pub name: String,
    pub item: Item,
    pub expected: Expected,
}

pub fn root() -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    if here.join("testdata").is_dir() { here.to_owned() } else { here.join("../..") }
}

/// Every recorded item, by name.
pub fn items() -> Vec<(String, Item)> {
    let dir = root().join("testdata/explain/items");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/explain/items")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|p| {
            let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&p).expect("read");
            let mut v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            v["id"] = Value::String(name.clone());
            let item: Item = serde_json::from_value(v).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, item)
        })
        .collect()
}

/// The set: every recorded item with what its explanation must state.
pub fn cases() -> Vec<Case> {
    let expected = read("expected.json");
    items()
        .into_iter()
        .map(|(name, item)| {
            let e = expected["items"].get(&name).unwrap_or_else(|| panic!("{name} is not in expected.json"));
            let mut e: Expected = serde_json::from_value(e.clone()).expect("an Expected");
            let by_role = score::roles_of(&item);
            (e.roles, e.amounts) = (by_role.roles, by_role.amounts);
            Case { name, item, expected: e }
        })
        .collect()
}

fn read(file: &str) -> Value {
    let path = root().join("testdata/explain").join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json")
}

fn short(a: alloy_primitives::Address) -> String {
    format!("{a:#x}")[..10].to_owned()
}

/// What a correct explanation of `item` must state, read off its report by a fixed procedure
/// (what leaves with its recipient, what arrives, who may spend which token, a failure) and
/// the danger phrasings of each warn or danger rule (testdata/explain/dangers.json). Used to
/// write expected.json, which is then read and corrected by hand.
pub fn proposed(item: &Item) -> Expected {
    let dangers = read("dangers.json");
    let mut facts: Vec<Vec<String>> = vec![];
    for m in airlock_explain::facts::moves(item) {
        let amount = m.amount.to_lowercase();
        facts.push(if m.outgoing { vec![amount, short(m.counterparty)] } else { vec![amount] });
    }
    let approvals =
        item.report.iter().flat_map(|r| &r.approvals).chain(item.signature_report.iter().flat_map(|s| &s.approvals));
    for a in approvals {
        let token = a.symbol.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| short(a.token)).to_lowercase();
        facts.push(vec![short(a.spender), token]);
    }
    for d in item.report.iter().flat_map(|r| &r.delegations) {
        facts.push(vec![d.after.map(short).unwrap_or_else(|| "clear".into())]);
    }
    if let Some(s) = &item.signature_report {
        match s.kind {
            airlock_types::SignatureKind::Message => facts.push(vec!["message".into()]),
            airlock_types::SignatureKind::RawHash => facts.push(vec!["raw hash".into()]),
            _ => {}
        }
    }
    if airlock_explain::facts::outcome_words(item).is_some() {
        facts.push(vec!["fail".into()]);
    }
    let mut rules: Vec<&str> = vec![];
    for f in item.findings.iter().filter(|f| f.severity >= Severity::Warn) {
        if !rules.contains(&f.rule.as_str()) {
            rules.push(&f.rule);
        }
    }
    let dangers = rules
        .iter()
        .map(|r| {
            let phrases =
                dangers["rules"][r].as_array().unwrap_or_else(|| panic!("no phrasings for {r} in dangers.json"));
            phrases.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect()
        })
        .collect();
    facts.dedup();
    Expected { facts, dangers, ..Expected::default() }
}
