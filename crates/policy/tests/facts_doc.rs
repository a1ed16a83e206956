//! rules/FACTS.md documents exactly the fields rule authors see: every path in the facts (as
//! serialized for CEL) is in the page's table, and every path in the table exists.

use std::collections::BTreeSet;

use airlock_policy::Facts;
use serde_json::Value;

fn paths(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let p = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                paths(&p, v, out);
            }
        }
        Value::Array(items) => {
            let p = format!("{prefix}[]");
            match items.first() {
                Some(first @ Value::Object(_)) => paths(&p, first, out),
                _ => {
                    out.insert(p);
                }
            }
        }
        _ => {
            out.insert(prefix.to_owned());
        }
    }
}

#[test]
fn the_reference_page_matches_the_types() {
    let mut real = BTreeSet::new();
    paths("", &serde_json::to_value(Facts::sample()).expect("serializes"), &mut real);
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/FACTS.md")).expect("page");
    let documented: BTreeSet<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(p, _)| p.to_owned()))
        .collect();
    let normalise = |p: &String| p.trim_end_matches("[]").to_owned();
    let real: BTreeSet<String> = real.iter().map(normalise).collect();
    let documented: BTreeSet<String> = documented.iter().map(normalise).collect();
    let missing: Vec<_> = real.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&real).collect();
    assert!(missing.is_empty(), "fields not documented in rules/FACTS.md: {missing:?}");
    assert!(stale.is_empty(), "rules/FACTS.md documents fields that do not exist: {stale:?}");
}
