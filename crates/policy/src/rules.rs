//! Rule files: TOML holding rules whose conditions, messages and evidence are CEL expressions.
//!
//! ```toml
//! [[rule]]
//! id = "unlimited-approval"
//! severity = "warn"                       # info | warn | danger
//! summary = "An approval for an unlimited or very large amount"
//! for_each = "approvals"                  # optional: a list; each element is `it`
//! when = "it.unlimited || it.after_units >= settings.large_units"
//! message = "{{it.spender}} may spend {{it.unlimited ? 'any amount' : string(it.after_units)}} {{it.symbol}}"
//! evidence = "{'token': it.token, 'spender': it.spender}"   # optional; default `it`
//! [rule.settings]
//! large_units = 1000000.0
//! ```

use std::collections::BTreeMap;

use airlock_types::Severity;
use cel::Program;
use serde::Deserialize;
use toml::Spanned;

use crate::RuleError;

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    rule: Vec<RawRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: Spanned<String>,
    severity: Spanned<String>,
    summary: String,
    #[serde(default)]
    for_each: Option<Spanned<String>>,
    when: Spanned<String>,
    message: Spanned<String>,
    #[serde(default)]
    evidence: Option<Spanned<String>>,
    #[serde(default)]
    settings: BTreeMap<String, toml::Value>,
}

/// A piece of a message: text as is, or a CEL expression whose value is inserted.
pub(crate) enum Part {
    Text(String),
    Expr(Program),
}

/// A rule ready to run.
pub struct Rule {
    pub id: String,
    pub severity: Severity,
    pub summary: String,
    pub enabled: bool,
    /// Where it was loaded from, `file:line`.
    pub origin: String,
    pub settings: BTreeMap<String, serde_json::Value>,
    pub(crate) for_each: Option<Program>,
    pub(crate) when: Program,
    pub(crate) message: Vec<Part>,
    pub(crate) evidence: Option<Program>,
    /// The expressions as written, for `airlock rules list`.
    pub when_source: String,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("id", &self.id)
            .field("severity", &self.severity)
            .field("origin", &self.origin)
            .finish()
    }
}

/// 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].bytes().filter(|b| *b == b'\n').count() + 1
}

fn compile(file: &str, text: &str, field: &str, src: &Spanned<String>) -> Result<Program, RuleError> {
    Program::compile(src.get_ref()).map_err(|e| {
        RuleError::at(file, line_of(text, src.span().start), format!("{field}: not a valid CEL expression: {e}"))
    })
}

/// Splits `{{ expr }}` out of a message template.
fn template(file: &str, text: &str, src: &Spanned<String>) -> Result<Vec<Part>, RuleError> {
    let line = line_of(text, src.span().start);
    let mut parts = vec![];
    let mut rest = src.get_ref().as_str();
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let after = &rest[open + 2..];
        let close = after.find("}}").ok_or_else(|| RuleError::at(file, line, "message: a `{{` is never closed"))?;
        let expr = after[..close].trim();
        let program = Program::compile(expr).map_err(|e| {
            RuleError::at(file, line, format!("message: `{{{{{expr}}}}}` is not a valid CEL expression: {e}"))
        })?;
        parts.push(Part::Expr(program));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    Ok(parts)
}

/// Parses and compiles every rule of one file.
pub fn parse_file(file: &str, text: &str) -> Result<Vec<Rule>, RuleError> {
    let parsed: File = toml::from_str(text).map_err(|e| RuleError::toml(file, text, &e))?;
    let mut rules = vec![];
    for r in parsed.rule {
        let line = line_of(text, r.id.span().start);
        let id = r.id.get_ref().trim().to_owned();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
            return Err(RuleError::at(file, line, format!("id {id:?}: use lowercase letters, digits and '-'")));
        }
        let severity = Severity::parse(r.severity.get_ref()).ok_or_else(|| {
            RuleError::at(
                file,
                line_of(text, r.severity.span().start),
                format!("severity {:?}: use info, warn or danger", r.severity.get_ref()),
            )
        })?;
        let settings = r
            .settings
            .into_iter()
            .map(|(k, v)| {
                let json =
                    serde_json::to_value(&v).map_err(|e| RuleError::at(file, line, format!("settings.{k}: {e}")))?;
                Ok((k, json))
            })
            .collect::<Result<_, RuleError>>()?;
        rules.push(Rule {
            origin: format!("{file}:{line}"),
            summary: r.summary,
            enabled: true,
            settings,
            for_each: r.for_each.as_ref().map(|f| compile(file, text, "for_each", f)).transpose()?,
            when: compile(file, text, "when", &r.when)?,
            when_source: r.when.get_ref().clone(),
            message: template(file, text, &r.message)?,
            evidence: r.evidence.as_ref().map(|e| compile(file, text, "evidence", e)).transpose()?,
            severity,
            id,
        });
    }
    Ok(rules)
}
