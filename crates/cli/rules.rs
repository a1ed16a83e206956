//! `airlock rules check PATH` and `airlock rules list`.

use std::path::Path;

use airlock_policy::{Facts, Policy, PolicyConfig, parse_file};

use crate::args::{PolicyArgs, RulesArgs, RulesCommand};

pub fn rules(a: RulesArgs) -> eyre::Result<()> {
    match a.command {
        RulesCommand::Check { path, policy } => check(&path, &policy),
        RulesCommand::List { policy, json } => list(&policy, json),
    }
}

fn config(p: &PolicyArgs) -> eyre::Result<PolicyConfig> {
    Ok(match p.config_file() {
        Some(path) => PolicyConfig::load(&path)?,
        None => PolicyConfig::default(),
    })
}

/// Every rule file at `path` parses and compiles, loads beside the bundled rules (no duplicate
/// ids), and every expression runs over sample facts. Errors name file and line.
fn check(path: &Path, p: &PolicyArgs) -> eyre::Result<()> {
    let mut dirs = p.rules.clone();
    let mut count = 0usize;
    if path.is_dir() {
        dirs.push(path.to_owned());
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| eyre::eyre!("{}: {e}", path.display()))?;
        count += parse_file(&path.display().to_string(), &text)?.len();
    }
    let policy = Policy::load(&dirs, &config(p)?)?;
    let mut errors = policy.trial(&Facts::sample());
    if !path.is_dir() {
        // A single file is not in a --rules directory: try its rules on their own too.
        let text = std::fs::read_to_string(path)?;
        let own = Policy {
            rules: parse_file(&path.display().to_string(), &text)?,
            ..Policy::load(&[], &PolicyConfig::default())?
        };
        errors = own.trial(&Facts::sample());
    } else {
        count = policy.rules.iter().filter(|r| r.origin.starts_with(&path.display().to_string())).count();
    }
    if !errors.is_empty() {
        for e in &errors {
            eprintln!("{e}");
        }
        return Err(eyre::eyre!("{} rule(s) do not evaluate", errors.len()));
    }
    println!("{}: {count} rule(s), all valid", path.display());
    Ok(())
}

fn list(p: &PolicyArgs, json: bool) -> eyre::Result<()> {
    let policy = Policy::load(&p.rules, &config(p)?)?;
    if json {
        let rules: Vec<serde_json::Value> = policy
            .rules
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "severity": r.severity, "enabled": r.enabled, "origin": r.origin,
                    "summary": r.summary, "when": r.when_source, "settings": r.settings,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "sources": policy.sources, "rules": rules }))?
        );
        return Ok(());
    }
    for s in &policy.sources {
        println!("# {s}");
    }
    for r in &policy.rules {
        let state = if r.enabled { "" } else { " (disabled)" };
        println!("{:<36} {:<6} {}{state}\n    {}", r.id, r.severity.as_str(), r.origin, r.summary);
    }
    println!(
        "lists: {} tokens ({}), {} known contracts, {} delegates, {} blocklisted",
        policy.lists.tokens.len(),
        policy.lists.token_sources.join(", "),
        policy.lists.known.len(),
        policy.lists.delegates.len(),
        policy.lists.blocked.len()
    );
    Ok(())
}
