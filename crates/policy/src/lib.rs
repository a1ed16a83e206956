//! airlock-policy: deterministic rules over verified facts. Rules are data (rules/*.toml,
//! conditions in CEL), evaluated over [`Facts`] built from a held item's report, local history
//! and the lists; each rule that fires gives a [`Finding`], and the item's verdict is the
//! highest severity among them.
//!
//! Why CEL and not Rego: a rule here is one condition and one message over one request, which is
//! what CEL is for; it is not Turing complete (no loops, no recursion), so a rule a user adds
//! cannot hang or slow the firewall, and its syntax is the C-like one most people read at sight.

mod facts;
mod lists;
mod rules;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use airlock_types::{Finding, Item, Severity};
use cel::objects::Key;
use cel::{Context, Value};
use serde::Deserialize;

pub use facts::{Facts, HabitsFacts, History, Thresholds, imitates, lookalike};
pub use lists::Lists;
pub use rules::{Rule, parse_file};

/// Bundled rule files, built in.
pub const BUNDLED: &[(&str, &str)] = &[
    ("rules/approvals.toml", include_str!("../../../rules/approvals.toml")),
    ("rules/transfers.toml", include_str!("../../../rules/transfers.toml")),
    ("rules/contracts.toml", include_str!("../../../rules/contracts.toml")),
    ("rules/state.toml", include_str!("../../../rules/state.toml")),
    ("rules/gas.toml", include_str!("../../../rules/gas.toml")),
    ("rules/swaps.toml", include_str!("../../../rules/swaps.toml")),
    ("rules/habits.toml", include_str!("../../../rules/habits.toml")),
    ("rules/resale.toml", include_str!("../../../rules/resale.toml")),
    ("rules/intent.toml", include_str!("../../../rules/intent.toml")),
];

/// A rule file or list that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl RuleError {
    pub fn at(file: &str, line: usize, message: impl Into<String>) -> Self {
        RuleError { file: file.to_owned(), line, message: message.into() }
    }

    fn io(path: &Path, e: std::io::Error) -> Self {
        RuleError::at(&path.display().to_string(), 0, e.to_string())
    }

    fn toml(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map(|s| rules::line_of(text, s.start)).unwrap_or(0);
        RuleError::at(file, line, e.message().to_owned())
    }
}

/// The config file's policy parts: per-rule settings and the spending policy.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    #[serde(default)]
    pub rules: BTreeMap<String, RuleOverride>,
    #[serde(default)]
    pub spending: Option<Spending>,
    /// The page's settings.
    #[serde(default)]
    pub prompt: PromptSettings,
    /// `[policy]`: how the two factors (the person, the model) combine.
    #[serde(default)]
    pub policy: PolicySettings,
}

/// `[policy]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySettings {
    /// The spending policy waits for the model: a concern of the model's (or a model that does
    /// not answer) leaves the item for the person.
    #[serde(default)]
    pub model_veto: bool,
}

/// `[prompt]` in the config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptSettings {
    /// Seconds a `danger` item must have been shown before it can be approved.
    #[serde(default)]
    pub danger_delay_secs: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    pub enabled: Option<bool>,
    pub severity: Option<Severity>,
    #[serde(default)]
    pub settings: BTreeMap<String, toml::Value>,
}

/// Opt-in auto-approval for agents and small payments: an item with no finding above `info`
/// is approved without the person while it fits the day's budget, count and calldata cap.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spending {
    pub enabled: bool,
    /// ETH per UTC day, as a decimal string ("0.05").
    pub daily_budget: String,
    pub daily_count: u64,
    /// Largest calldata auto-approved, in bytes (0: plain ETH transfers only).
    #[serde(default)]
    pub max_calldata_bytes: usize,
}

impl PolicyConfig {
    /// Reads the config file (TOML); its errors name the line.
    pub fn load(path: &Path) -> Result<PolicyConfig, RuleError> {
        let text = std::fs::read_to_string(path).map_err(|e| RuleError::io(path, e))?;
        #[derive(Deserialize)]
        struct Whole {
            #[serde(flatten)]
            policy: PolicyConfig,
            /// The threat-data crate's section and the signer's: read there.
            #[serde(default)]
            #[allow(dead_code)]
            intel: Option<toml::Value>,
            #[serde(default)]
            #[allow(dead_code)]
            signer: Option<toml::Value>,
        }
        let w: Whole = toml::from_str(&text).map_err(|e| RuleError::toml(&path.display().to_string(), &text, &e))?;
        if let Some(s) = &w.policy.spending {
            parse_eth(&s.daily_budget).ok_or_else(|| {
                RuleError::at(
                    &path.display().to_string(),
                    0,
                    format!("spending.daily_budget {:?} is not an ETH amount", s.daily_budget),
                )
            })?;
        }
        Ok(w.policy)
    }
}

/// "0.05" ETH → wei.
pub fn parse_eth(s: &str) -> Option<alloy_primitives::U256> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() && frac.is_empty()
        || frac.len() > 18
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{}{frac:0<18}", if int.is_empty() { "0" } else { int });
    digits.parse().ok()
}

/// Loaded rules and lists.
#[derive(Debug)]
pub struct Policy {
    pub rules: Vec<Rule>,
    pub lists: Lists,
    pub thresholds: Thresholds,
    /// Where rules came from, for `rules list`.
    pub sources: Vec<String>,
}

impl Policy {
    /// The bundled rules and lists, then every `--rules` directory (its `*.toml` rule files and
    /// its `lists/`), then the config's per-rule settings. A rule id loaded twice is an error.
    pub fn load(dirs: &[PathBuf], config: &PolicyConfig) -> Result<Policy, RuleError> {
        let mut rules = vec![];
        let mut sources = vec![];
        for (file, text) in BUNDLED {
            rules.extend(parse_file(file, text)?);
            sources.push(format!("{file} (bundled)"));
        }
        let mut lists = Lists::bundled()?;
        for dir in dirs {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| RuleError::io(dir, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for path in files {
                let text = std::fs::read_to_string(&path).map_err(|e| RuleError::io(&path, e))?;
                rules.extend(parse_file(&path.display().to_string(), &text)?);
                sources.push(path.display().to_string());
            }
            let list_dir = dir.join("lists");
            if list_dir.is_dir() {
                lists.add_dir(&list_dir)?;
                sources.push(format!("{} (lists)", list_dir.display()));
            }
        }
        for (i, r) in rules.iter().enumerate() {
            if let Some(first) = rules[..i].iter().find(|x| x.id == r.id) {
                return Err(RuleError::at(
                    &r.origin,
                    0,
                    format!("rule id {:?} is already defined at {}", r.id, first.origin),
                ));
            }
        }
        for (id, o) in &config.rules {
            let rule = rules
                .iter_mut()
                .find(|r| &r.id == id)
                .ok_or_else(|| RuleError::at("config", 0, format!("[rules.{id}]: no rule has this id")))?;
            if let Some(e) = o.enabled {
                rule.enabled = e;
            }
            if let Some(s) = o.severity {
                rule.severity = s;
            }
            for (k, v) in &o.settings {
                if !rule.settings.contains_key(k) {
                    return Err(RuleError::at(
                        "config",
                        0,
                        format!(
                            "[rules.{id}.settings]: the rule has no setting {k:?} (it has: {:?})",
                            rule.settings.keys().collect::<Vec<_>>()
                        ),
                    ));
                }
                let v = serde_json::to_value(v).map_err(|e| RuleError::at("config", 0, e.to_string()))?;
                rule.settings.insert(k.clone(), v);
            }
        }
        let mut thresholds = Thresholds::default();
        if let Some(r) = rules.iter().find(|r| r.id == "address-poisoning") {
            let get = |k: &str| r.settings.get(k).and_then(|v| v.as_u64());
            let d = Thresholds::default();
            thresholds.lookalike_prefix = get("prefix_digits").map_or(d.lookalike_prefix, |n| n.min(20) as usize);
            thresholds.lookalike_suffix = get("suffix_digits").map_or(d.lookalike_suffix, |n| n.min(20) as usize);
            thresholds.lookalike_total = get("total_digits").map_or(d.lookalike_total, |n| n.clamp(4, 40) as usize);
            if let Some(d) = r.settings.get("dust_eth").and_then(|v| v.as_f64())
                && let Some(w) = parse_eth(&format!("{d:.18}"))
            {
                thresholds.dust_wei = w;
            }
        }
        Ok(Policy { rules, lists, thresholds, sources })
    }

    /// Facts for `item`, then every enabled rule over them; findings most severe first.
    pub fn evaluate(&self, item: &Item, chain_id: u64, history: &History) -> Vec<Finding> {
        self.evaluate_with(item, chain_id, history, None)
    }

    /// The same, knowing the sender's habits.
    pub fn evaluate_with(
        &self,
        item: &Item,
        chain_id: u64,
        history: &History,
        habits: Option<&airlock_types::Habits>,
    ) -> Vec<Finding> {
        let mut facts = Facts::build(item, chain_id, history, &self.lists, &self.thresholds);
        facts.habits = HabitsFacts::of(habits, &facts, airlock_types::Timestamp::now());
        self.evaluate_facts(&facts)
    }

    pub fn evaluate_facts(&self, facts: &Facts) -> Vec<Finding> {
        let mut findings = vec![];
        let root = match facts_context(facts) {
            Ok(c) => c,
            Err(e) => {
                return vec![Finding {
                    rule: "policy".into(),
                    severity: Severity::Warn,
                    message: format!("the rules could not be evaluated: {e}"),
                    evidence: serde_json::Value::Null,
                }];
            }
        };
        for rule in self.rules.iter().filter(|r| r.enabled) {
            if let Err(e) = run_rule(rule, &root, &mut findings) {
                // Fail closed: a rule that cannot run is shown, never silently skipped.
                findings.push(Finding {
                    rule: rule.id.clone(),
                    severity: Severity::Warn,
                    message: format!("rule {} ({}) could not be evaluated: {e}", rule.id, rule.origin),
                    evidence: serde_json::Value::Null,
                });
            }
        }
        findings.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.rule.cmp(&b.rule)));
        findings
    }
}

impl Policy {
    /// Runs every rule over `facts` and returns the rules that fail to evaluate (a misspelt
    /// field, a type error), with their origin: what `airlock rules check` reports.
    pub fn trial(&self, facts: &Facts) -> Vec<RuleError> {
        let root = match facts_context(facts) {
            Ok(c) => c,
            Err(e) => return vec![RuleError::at("facts", 0, e)],
        };
        let mut errors = vec![];
        for rule in &self.rules {
            let mut sink = vec![];
            if let Err(e) = run_rule(rule, &root, &mut sink) {
                let (file, line) = rule.origin.rsplit_once(':').unwrap_or((&rule.origin, "0"));
                errors.push(RuleError::at(file, line.parse().unwrap_or(0), format!("rule {}: {e}", rule.id)));
            }
        }
        errors
    }
}

/// The highest severity among `findings`.
pub fn verdict(findings: &[Finding]) -> Option<Severity> {
    findings.iter().map(|f| f.severity).max()
}

fn facts_context(facts: &Facts) -> Result<Context<'static, 'static>, String> {
    let mut ctx = Context::default();
    let json = serde_json::to_value(facts).map_err(|e| e.to_string())?;
    let serde_json::Value::Object(map) = json else { return Err("facts are not an object".into()) };
    for (k, v) in map {
        ctx.add_variable(k, v).map_err(|e| e.to_string())?;
    }
    Ok(ctx)
}

fn run_rule(rule: &Rule, root: &Context<'_, '_>, out: &mut Vec<Finding>) -> Result<(), String> {
    let mut scope = root.new_inner_scope();
    scope.add_variable("settings", &rule.settings).map_err(|e| e.to_string())?;
    let items: Vec<Option<Value>> = match &rule.for_each {
        Some(p) => match p.execute(&scope).map_err(|e| format!("for_each: {e}"))? {
            Value::List(l) => l.iter().cloned().map(Some).collect(),
            other => return Err(format!("for_each must give a list, it gave {}", type_name(&other))),
        },
        None => vec![None],
    };
    for it in items {
        let mut inner = scope.new_inner_scope();
        if let Some(v) = &it {
            inner.add_variable_from_value("it", v.clone());
        }
        match rule.when.execute(&inner).map_err(|e| format!("when: {e}"))? {
            Value::Bool(true) => {}
            Value::Bool(false) => continue,
            other => return Err(format!("when must give true or false, it gave {}", type_name(&other))),
        }
        let mut message = String::new();
        for part in &rule.message {
            match part {
                rules::Part::Text(t) => message.push_str(t),
                rules::Part::Expr(p) => {
                    message.push_str(&display(&p.execute(&inner).map_err(|e| format!("message: {e}"))?))
                }
            }
        }
        let evidence = match (&rule.evidence, &it) {
            (Some(p), _) => to_json(&p.execute(&inner).map_err(|e| format!("evidence: {e}"))?),
            (None, Some(v)) => to_json(v),
            (None, None) => serde_json::Value::Null,
        };
        out.push(Finding { rule: rule.id.clone(), severity: rule.severity, message: clean(&message), evidence });
    }
    Ok(())
}

/// Messages carry text from the chain (symbols): no control characters, bounded length.
fn clean(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).take(600).collect()
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::List(_) => "a list",
        Value::Map(_) => "a map",
        Value::Int(_) | Value::UInt(_) => "an integer",
        Value::Float(_) => "a number",
        Value::String(_) => "a string",
        Value::Bool(_) => "a bool",
        Value::Null => "null",
        _ => "another kind of value",
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => format_number(*f),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => to_json(other).to_string(),
    }
}

/// A double as a person reads it: no exponent for everyday amounts, at most 6 decimals.
fn format_number(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e18 {
        return format!("{f:.0}");
    }
    let s = format!("{f:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn to_json(v: &Value) -> serde_json::Value {
    match v {
        Value::List(l) => serde_json::Value::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => {
            let mut out = serde_json::Map::new();
            let mut entries: Vec<_> = m.map.iter().collect();
            entries.sort_by_key(|(k, _)| key_string(k));
            for (k, v) in entries {
                out.insert(key_string(k), to_json(v));
            }
            serde_json::Value::Object(out)
        }
        Value::Int(i) => (*i).into(),
        Value::UInt(u) => (*u).into(),
        Value::Float(f) => {
            serde_json::Number::from_f64(*f).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null)
        }
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Bool(b) => (*b).into(),
        Value::Bytes(b) => serde_json::Value::String(format!("0x{}", alloy_primitives::hex::encode(b.as_slice()))),
        _ => serde_json::Value::Null,
    }
}

fn key_string(k: &Key) -> String {
    match k {
        Key::Int(i) => i.to_string(),
        Key::Uint(u) => u.to_string(),
        Key::Bool(b) => b.to_string(),
        Key::String(s) => s.to_string(),
    }
}

/// Shared handle, for the daemon.
pub type SharedPolicy = Arc<Policy>;
