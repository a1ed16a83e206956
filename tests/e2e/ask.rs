//! Plain language (issue 18): the fixed phrasing set read by the real small model of
//! tests/setup.sh (SmolLM2-135M-Instruct, in candle, under the ask schema's grammar), scored
//! against the readings it should give; and `ask` through the daemon, held like any intent.

use std::time::Instant;

use airlock_explain::{Backend, SandboxChoice, Worker, WorkerOptions};
use serde_json::{Value, json};

#[path = "../support/intents.rs"]
mod intents;
use intents::Outcome;

use crate::harness::*;

fn small_model() -> Option<std::path::PathBuf> {
    let path = repo().join("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if path.exists() {
        return Some(path);
    }
    assert!(std::env::var_os("AIRLOCK_REQUIRE_MODEL").is_none(), "{} is missing: run tests/setup.sh", path.display());
    eprintln!("SKIPPED: {} is missing (tests/setup.sh installs it)", path.display());
    None
}

#[test]
fn every_expected_reading_is_an_intent_the_grammar_allows() {
    let grammar = airlock_explain::grammar::Grammar::from_schema(&airlock_agent::ask::schema()).expect("compiles");
    let set = intents::load();
    assert!(set.len() >= 30, "at least 30 phrasings");
    for p in &set {
        if let Some(x) = &p.expect {
            let compact = x.to_string();
            assert!(
                grammar.advance(&grammar.start(), compact.as_bytes()).is_some_and(|c| grammar.finished(&c)),
                "{compact}"
            );
            assert_eq!(intents::score(p, &Ok(x.clone())), Outcome::Exact, "{}", p.text);
        }
    }
    for line in airlock_agent::ask::SYSTEM.lines().filter(|l| l.starts_with('{')) {
        assert!(grammar.advance(&grammar.start(), line.as_bytes()).is_some_and(|c| grammar.finished(&c)), "{line}");
    }
}

/// The whole set through SmolLM2-135M: every answer is a document of the schema (the grammar
/// holds whatever the model prefers), no reading pays or approves an address an injected
/// instruction named, and the share read exactly stays at least what it was measured at.
#[tokio::test(flavor = "multi_thread")]
async fn the_phrasing_set_through_the_small_model() {
    let Some(path) = small_model() else { return };
    // As the daemon runs it: the sandboxed worker; f32 weights (candle's Q4_1 kernel has no SIMD
    // path: as in the file, each phrasing takes about 20 s on 2 cores, f32 a few).
    let exe = std::path::Path::new(env!("CARGO_BIN_EXE_airlock"));
    let options = WorkerOptions { dequantize: true };
    let worker = Worker::start(exe, &path, SandboxChoice::Auto, options).await.expect("the worker starts");
    let backend = Backend::Worker { worker, timeout: std::time::Duration::from_secs(120), max_tokens: 0 };
    let mut outcomes = vec![];
    let started = Instant::now();
    for p in intents::load() {
        let answer = intents::read(&backend, &p.text).await;
        let o = intents::score(&p, &answer);
        eprintln!("{:?} → {} → {o:?}", p.text, answer.as_ref().map(Value::to_string).unwrap_or_default());
        outcomes.push(o);
    }
    let (share, line) = intents::summary(&outcomes);
    eprintln!("SmolLM2-135M: {line} ({:.1} s each)", started.elapsed().as_secs_f64() / outcomes.len() as f64);
    assert!(!outcomes.iter().any(|o| matches!(o, Outcome::NoAnswer(_))), "every answer follows the schema");
    assert!(!outcomes.iter().any(|o| matches!(o, Outcome::Unsafe(_))), "no reading pays an injected address");
    assert!(share >= MEASURED_FLOOR, "{line}: below the measured floor {MEASURED_FLOOR}");
}

/// SmolLM2-135M (f32 in candle) read 9 of the 32 exactly when measured (2026-12-03), refusing
/// most of the rest; the floor leaves room for another CPU's rounding to flip a near tie.
const MEASURED_FLOOR: f64 = 0.15;

/// `ask` through the daemon with the small model in its sandboxed worker, on anvil with ENS
/// and a listed token: the words are read, checked and held like `propose`'s, with the words
/// beside what they were read as; approved, the ETH reaches alice.eth's address. Words that
/// name no single intent hold nothing. Then the same from the page's box, in Chromium.
#[tokio::test(flavor = "multi_thread")]
async fn ask_holds_what_the_words_say_from_the_api_and_the_page() {
    let Some(model) = small_model() else { return };
    let anvil = Anvil::start();
    let up = anvil.url();
    crate::ens::deploy_ens(&up).await;
    let args = ["--model", model.to_str().expect("utf8"), "--model-dequantize", "--model-max-tokens", "8"];
    let airlock = Airlock::start(&up, &args);
    let (status, refused) =
        airlock.post("/api/ask", &json!({ "text": "send everything to bob.eth", "from": ADDR0 })).await;
    assert_eq!(status, 400, "{refused}");
    assert!(airlock.pending().is_empty(), "nothing held: {refused}");

    let before = balance(&up, ADDR1).await;
    let (status, answer) =
        airlock.post("/api/ask", &json!({ "text": "send 0.1 ETH to alice.eth", "from": ADDR0 })).await;
    assert_eq!(status, 200, "{answer}");
    let item = &answer["item"];
    assert_eq!(item["status"], "pending", "{answer}");
    assert_eq!(item["asked"]["summary"], format!("send 0.1 ETH to alice.eth ({ADDR1})"), "{answer}");
    assert_eq!(item["asked"]["words"], "send 0.1 ETH to alice.eth", "{answer}");
    assert_eq!(answer["read"]["action"], "send", "the model's own reading is shown: {answer}");
    assert_eq!(airlock.approve(item["id"].as_str().expect("id"))["status"], "forwarded");
    assert_eq!(balance(&up, ADDR1).await - before, 100_000_000_000_000_000u128);

    // Dry run: read and simulated, nothing held.
    let (status, dry) =
        airlock.post("/api/ask", &json!({ "text": "send 0.1 ETH to alice.eth", "from": ADDR0, "hold": false })).await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["simulated"]["report"]["outcome"]["status"], "success", "{dry}");
    assert!(airlock.pending().is_empty());

    // The page's box.
    let Some(browser) = crate::browser::Browser::start().await else { return };
    browser.goto(&crate::browser::page_url(&airlock)).await;
    browser.wait_text("#status", "live").await;
    let text = browser.find("#ask-text").await;
    browser.type_text(&text, "send 0.1 ETH to alice.eth").await;
    let from = browser.find("#ask-from").await;
    browser.type_text(&from, ADDR0).await;
    let go = browser.find("#ask-go").await;
    browser.click(&go).await;
    browser.wait_text("#ask-result", "held").await;
    let asked = browser.wait_text("#asked", "alice.eth").await;
    assert!(asked.contains(ADDR1), "{asked}");
    let words = browser.wait_text("#asked-words", "From your words").await;
    assert!(words.contains("send 0.1 ETH to alice.eth"), "{words}");
    browser.screenshot("ask-box").await;
    assert_eq!(airlock.pending().len(), 1, "held from the page");
}

async fn balance(rpc: &str, who: &str) -> u128 {
    let v = Rpc::new(rpc).result("eth_getBalance", json!([who, "latest"])).await;
    u128::from_str_radix(v.as_str().expect("hex").trim_start_matches("0x"), 16).expect("u128")
}
