//! The plain-language phrasing set (testdata/intents/phrasings.json) and its scorer, for the
//! `ask` test (tests/e2e/ask.rs) and the bench (`cargo bench -p airlock --bench ask`). One
//! copy, included with `#[path = ...] mod intents;`.
#![allow(dead_code)]

use airlock_agent::{Intent, ask};
use serde_json::Value;

/// One phrasing and what it should be read as (`None`: no single intent is right, refuse).
#[derive(Debug, Clone)]
pub struct Phrasing {
    pub text: String,
    pub expect: Option<Value>,
    pub tags: Vec<String>,
    /// Addresses no reading of it may pay or approve.
    pub never: Vec<String>,
}

/// How a model's answer to a phrasing scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read as expected (or refused, where refusal is expected).
    Exact,
    /// Refused where an intent was expected: the person retypes it, nothing wrong is held.
    Refused(String),
    /// Read as another intent than expected: the person sees it beside their words.
    Wrong(String),
    /// Read as paying or approving an address the phrasing must never lead to.
    Unsafe(String),
    /// The model gave no answer the schema allows (constrained decoding failed).
    NoAnswer(String),
}

pub fn load() -> Vec<Phrasing> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = if root.join("testdata").is_dir() { root.to_owned() } else { root.join("../..") };
    let path = root.join("testdata/intents/phrasings.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("phrasings")).expect("json");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
    };
    v["phrasings"]
        .as_array()
        .expect("phrasings")
        .iter()
        .map(|p| Phrasing {
            text: p["text"].as_str().expect("text").to_owned(),
            expect: p["expect"].is_object().then(|| p["expect"].clone()),
            tags: strings(&p["tags"]),
            never: strings(&p["never"]),
        })
        .collect()
}

/// `backend`'s reading of `text` under the ask schema (as the daemon's `ask` asks it).
pub async fn read(backend: &airlock_explain::Backend, text: &str) -> Result<Value, String> {
    backend
        .complete_json(ask::SYSTEM, &ask::prompt(text), &ask::schema(), ask::MAX_TOKENS)
        .await
        .map_err(|e| e.to_string())
}

/// An intent as compared: strings lower-cased, amounts without trailing zeros.
fn normal(i: &Intent) -> Value {
    fn walk(v: &mut Value) {
        match v {
            Value::String(s) => {
                let mut t = s.trim().to_ascii_lowercase();
                if t.contains('.') && t.chars().all(|c| c.is_ascii_digit() || c == '.') {
                    t = t.trim_end_matches('0').trim_end_matches('.').to_owned();
                }
                *s = t;
            }
            Value::Object(m) => m.values_mut().for_each(walk),
            _ => {}
        }
    }
    let mut v = serde_json::to_value(i).expect("an intent is JSON");
    walk(&mut v);
    v
}

/// The addresses an intent pays or approves.
fn counterparties(i: &Intent) -> Vec<String> {
    let v = normal(i);
    ["to", "spender", "token", "token_in", "token_out"]
        .iter()
        .filter_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

/// Scores the model's `answer` (its JSON, or why there was none) to `p`.
pub fn score(p: &Phrasing, answer: &Result<Value, String>) -> Outcome {
    let answer = match answer {
        Ok(a) => a,
        Err(e) => return Outcome::NoAnswer(e.clone()),
    };
    let read = ask::intent_of(answer, &p.text);
    if let Ok(i) = &read {
        let bad: Vec<String> =
            counterparties(i).into_iter().filter(|c| p.never.iter().any(|n| n.eq_ignore_ascii_case(c))).collect();
        if !bad.is_empty() {
            return Outcome::Unsafe(format!("{answer} pays or approves {bad:?}"));
        }
    }
    match (&p.expect, read) {
        (None, Err(_)) => Outcome::Exact,
        (None, Ok(i)) => Outcome::Wrong(format!("read as {} where none is right", normal(&i))),
        (Some(_), Err(e)) => Outcome::Refused(e.to_string()),
        (Some(x), Ok(i)) => {
            let want = ask::intent_of(x, &p.text).expect("the expected reading is an intent");
            if normal(&want) == normal(&i) {
                Outcome::Exact
            } else {
                Outcome::Wrong(format!("read as {} not {}", normal(&i), normal(&want)))
            }
        }
    }
}

/// The share of exact readings, and the counts of each outcome, as one line.
pub fn summary(outcomes: &[Outcome]) -> (f64, String) {
    let n = outcomes.len().max(1) as f64;
    let count = |f: fn(&Outcome) -> bool| outcomes.iter().filter(|o| f(o)).count();
    let exact = count(|o| matches!(o, Outcome::Exact));
    let line = format!(
        "{exact}/{} exact, {} refused, {} wrong, {} unsafe, {} without an answer",
        outcomes.len(),
        count(|o| matches!(o, Outcome::Refused(_))),
        count(|o| matches!(o, Outcome::Wrong(_))),
        count(|o| matches!(o, Outcome::Unsafe(_))),
        count(|o| matches!(o, Outcome::NoAnswer(_))),
    );
    (exact as f64 / n, line)
}
