//! The house's shape (issue 13): dependencies between Airlock's crates point one way, as the
//! README's Layout section draws them, and no crate's modules import each other in a circle.
//! Fails on a new upward edge (say hold → proxy, or chain → hold) or a new module circle.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::harness::repo;

/// Every library dependency between Airlock's crates that the design allows. Dev-dependencies
/// (tests, benches) are not checked: a test may use anything.
const ALLOWED: &[(&str, &[&str])] = &[
    ("airlock-types", &[]),
    ("airlock-wire", &[]),
    ("airlock-store", &["airlock-types"]),
    ("airlock-verify", &["airlock-types"]),
    ("airlock-sim", &["airlock-types"]),
    ("airlock-policy", &["airlock-types"]),
    ("airlock-explain", &["airlock-types"]),
    ("airlock-prompt", &["airlock-types"]),
    ("airlock-chain", &["airlock-sim", "airlock-verify", "airlock-store", "airlock-types", "airlock-wire"]),
    ("airlock-signer", &[]),
    ("airlock-agent", &["airlock-types"]),
    ("airlock-mcp", &["airlock-agent"]),
    ("airlock-intel", &["airlock-chain", "airlock-sim", "airlock-store", "airlock-types"]),
    (
        "airlock-hold",
        &[
            "airlock-agent",
            "airlock-chain",
            "airlock-intel",
            "airlock-policy",
            "airlock-explain",
            "airlock-signer",
            "airlock-sim",
            "airlock-store",
            "airlock-types",
            "airlock-wire",
        ],
    ),
    (
        "airlock-proxy",
        &[
            "airlock-hold",
            "airlock-chain",
            "airlock-intel",
            "airlock-mcp",
            "airlock-signer",
            "airlock-prompt",
            "airlock-policy",
            "airlock-explain",
            "airlock-store",
            "airlock-types",
            "airlock-wire",
        ],
    ),
    ("airlock-fuzz", &["airlock-hold", "airlock-sim", "airlock-verify", "airlock-wire"]),
    (
        "airlock",
        &[
            "airlock-proxy",
            "airlock-hold",
            "airlock-intel",
            "airlock-mcp",
            "airlock-signer",
            "airlock-chain",
            "airlock-verify",
            "airlock-policy",
            "airlock-explain",
            "airlock-store",
            "airlock-types",
            "airlock-wire",
        ],
    ),
];

#[test]
fn crate_dependencies_point_down_only() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(repo())
        .output()
        .expect("cargo metadata runs");
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let allowed: BTreeMap<&str, &[&str]> = ALLOWED.iter().copied().collect();
    let mut wrong = vec![];
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("name");
        let Some(ok) = allowed.get(name) else {
            wrong.push(format!("{name} is not placed in the layout (add it to ALLOWED and the README)"));
            continue;
        };
        for dep in package["dependencies"].as_array().expect("dependencies") {
            let (dep_name, kind) = (dep["name"].as_str().expect("name"), &dep["kind"]);
            if dep_name.starts_with("airlock") && kind.is_null() && !ok.contains(&dep_name) {
                wrong.push(format!("{name} → {dep_name}"));
            }
        }
    }
    assert!(wrong.is_empty(), "dependencies against the layout: {wrong:?}");
}

/// The crate's top-level modules each refers to through `crate::…` paths, outside tests.
fn module_graph(src: &std::path::Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut files = vec![src.to_path_buf()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).expect("read dir").map(|e| e.expect("entry").path()));
            continue;
        }
        let rel = path.strip_prefix(src).expect("inside src");
        let top = rel.iter().next().expect("a name").to_string_lossy().trim_end_matches(".rs").to_owned();
        if path.extension().is_none_or(|e| e != "rs") || top == "lib" || top == "main" || top.ends_with("_tests") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        let mut refs = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let names: Vec<&str> = match rest.strip_prefix('{') {
                Some(list) => list.split('}').next().unwrap_or_default().split(',').collect(),
                None => vec![rest],
            };
            for n in names {
                let n: String = n.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if !n.is_empty() && n != top && n.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
                    refs.insert(n);
                }
            }
        }
        graph.entry(top).or_default().extend(refs);
    }
    graph
}

/// A circle through `from`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in graph.get(&node).into_iter().flatten() {
            if next == from {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn no_crate_has_an_import_circle_between_its_modules() {
    let mut circles = vec![];
    for entry in std::fs::read_dir(repo().join("crates")).expect("crates") {
        let src = entry.expect("entry").path().join("src");
        if !src.is_dir() {
            continue;
        }
        let graph = module_graph(&src);
        if let Some(c) = graph.keys().find_map(|m| circle(&graph, m)) {
            circles.push(format!("{}: {}", src.display(), c.join(" → ")));
        }
    }
    assert!(circles.is_empty(), "module import circles: {circles:?}");
}

/// The check itself sees a circle when there is one.
#[test]
fn the_circle_check_finds_a_circle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("queue".into()).or_default().insert("pipeline".into());
    g.entry("pipeline".into()).or_default().insert("errors".into());
    assert_eq!(circle(&g, "queue"), None);
    g.entry("errors".into()).or_default().insert("queue".into());
    assert_eq!(circle(&g, "queue").map(|c| c.join(" → ")), Some("queue → pipeline → errors → queue".into()));
}
