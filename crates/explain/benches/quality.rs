//! How good the explanations are (issue 19): every report of the evaluation set
//! (testdata/explain, see tests/support/eval.rs) explained by the template, by the models in
//! candle and by the same files in llama-server, each text scored by `score::score` against what
//! a correct explanation must state. One row per engine and model:
//!
//! - facts: facts stated / facts expected, over the set;
//! - findings: the share of reports whose explanation names every warn or danger finding;
//! - no error: the share with no error (an address or amount in the wrong role, an invented
//!   status, a token or amount not in the report, a danger played down);
//! - pass: both (the bar: 90% for the 1.5B model, 100% for the template);
//! - failed: answers that did not come (not in the shape, out of tokens, timeout);
//! - first text: seconds to the first token out, on average (the prompt read);
//! - tokens/s: tokens written after it per second (forced tokens included in candle);
//! - s/report: wall time per explanation.
//!
//! Run: `cargo bench -p airlock-explain --bench quality`. The models are those tests/setup.sh
//! fetched (SmolLM2-135M always; the 1.5B with `--bench-models`) and llama-server from
//! tests/llama. `AIRLOCK_BENCH_ONLY=1.5B` keeps the rows whose name holds it;
//! `AIRLOCK_BENCH_CASES=approval,permit` the reports whose name holds one of them; `AIRLOCK_BENCH_EVERY=N`
//! takes every Nth report; `AIRLOCK_BENCH_SHOW=1` prints each text, its time and tokens (to
//! stderr); `AIRLOCK_BENCH_RESCORE=FILE` scores again the texts such a run printed, with the
//! scorer and grounding check as they are now (no model runs; the speed columns stay empty).

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../../../tests/support/eval.rs"]
mod eval;
#[path = "support/llama.rs"]
mod llama;

use airlock_explain::{Backend, Endpoint, Local, score, template};
use airlock_types::Explanation;

/// One row's tally.
#[derive(Default)]
struct Tally {
    reports: usize,
    facts: (usize, usize),
    all_findings: usize,
    no_error: usize,
    pass: usize,
    failed: usize,
    first_text: f64,
    tokens_per_s: f64,
    secs: f64,
}

impl Tally {
    fn add(&mut self, case: &eval::Case, x: Option<&Explanation>, show: bool, name: &str) {
        self.reports += 1;
        let Some(x) = x else {
            self.failed += 1;
            self.facts.1 += case.expected.facts.len();
            return;
        };
        let text = format!("{} {}", x.summary, x.concerns.join(" "));
        let s = score::score(&text, &case.expected, &x.ungrounded);
        self.facts.0 += s.facts.0;
        self.facts.1 += s.facts.1;
        let findings = s.dangers.0 == s.dangers.1;
        self.all_findings += usize::from(findings);
        self.no_error += usize::from(s.errors.is_empty());
        self.pass += usize::from(findings && s.errors.is_empty());
        if show {
            eprintln!("[{name}] {}: {text}\n    {s:?}", case.name);
        }
    }

    fn print(&self, name: &str) {
        let pct = |n: usize| 100.0 * n as f64 / self.reports.max(1) as f64;
        println!(
            "{name:<34} {:>7} {:>6.0}% {:>8.0}% {:>8.0}% {:>5.0}% {:>6} {:>10.2} {:>9.1} {:>9.2}",
            self.reports,
            100.0 * self.facts.0 as f64 / self.facts.1.max(1) as f64,
            pct(self.all_findings),
            pct(self.no_error),
            pct(self.pass),
            self.failed,
            self.first_text,
            self.tokens_per_s,
            self.secs / self.reports.max(1) as f64,
        );
    }
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let every: usize = std::env::var("AIRLOCK_BENCH_EVERY").ok().and_then(|s| s.parse().ok()).unwrap_or(1).max(1);
    let only = std::env::var("AIRLOCK_BENCH_ONLY").unwrap_or_default();
    let show = std::env::var_os("AIRLOCK_BENCH_SHOW").is_some();
    let named = std::env::var("AIRLOCK_BENCH_CASES").unwrap_or_default();
    let named: Vec<&str> = named.split(',').collect();
    let cases: Vec<eval::Case> =
        eval::cases().into_iter().filter(|c| named.iter().any(|n| c.name.contains(n))).step_by(every).collect();
    let root = eval::root();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("{} reports of the evaluation set, {cores} cores", cases.len());
    println!(
        "{:<34} {:>7} {:>7} {:>9} {:>9} {:>6} {:>6} {:>10} {:>9} {:>9}",
        "explainer", "reports", "facts", "findings", "no error", "pass", "failed", "first s", "tokens/s", "s/report"
    );
    if let Ok(file) = std::env::var("AIRLOCK_BENCH_RESCORE") {
        return rescore(&file, &cases);
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
    if "template".contains(only.as_str()) {
        let mut t = Tally::default();
        let start = Instant::now();
        for c in &cases {
            t.add(c, Some(&template(&c.item)), show, "template");
        }
        t.secs = start.elapsed().as_secs_f64();
        t.print("template");
    }
    let models = [
        ("SmolLM2-135M Q4_1", root.join("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf")),
        ("Qwen2.5-Coder-1.5B Q4_K_M", root.join("tests/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")),
    ];
    for (model, path) in models.iter().filter(|(_, p)| p.exists()) {
        let name = format!("{model}, candle");
        if name.contains(only.as_str()) {
            candle(&rt, &name, path, &cases, show).print(&name);
        }
        let name = format!("{model}, llama-server");
        let server = root.join("tests/llama/llama-server");
        if name.contains(only.as_str()) && server.exists() {
            llama_server(&rt, &name, &server, path, &cases, show).print(&name);
        }
    }
}

const TOKENS: usize = 640;

fn candle(rt: &tokio::runtime::Runtime, name: &str, path: &Path, cases: &[eval::Case], show: bool) -> Tally {
    let model = Local::load(path).expect("loads");
    let backend = Backend::Local { model: model.clone(), timeout: Duration::from_secs(600), max_tokens: TOKENS };
    let mut t = Tally::default();
    let start = Instant::now();
    for c in cases {
        let (before, at) = (model.speed(), Instant::now());
        let x = rt.block_on(backend.explain(&c.item, |_| {}));
        if let Err(e) = &x {
            eprintln!("[{name}] {}: {e}", c.name);
        }
        t.add(c, x.as_ref().ok(), show, name);
        if show {
            let s = model.speed();
            eprintln!(
                "    {:.1} s: prompt {} tokens in {:.1} s, {} tokens written in {:.1} s",
                at.elapsed().as_secs_f64(),
                s.prompt_tokens - before.prompt_tokens,
                s.prompt_secs - before.prompt_secs,
                s.tokens - before.tokens,
                s.decode_secs - before.decode_secs
            );
        }
    }
    t.secs = start.elapsed().as_secs_f64();
    let s = model.speed();
    t.first_text = s.prompt_secs / s.answers.max(1) as f64;
    t.tokens_per_s = s.tokens as f64 / s.decode_secs.max(1e-9);
    t
}

/// llama-server with `--metrics`, through the endpoint backend (the
/// schema as `response_format`); its speed from the metrics it keeps.
fn llama_server(
    rt: &tokio::runtime::Runtime,
    name: &str,
    bin: &Path,
    model: &Path,
    cases: &[eval::Case],
    show: bool,
) -> Tally {
    rt.block_on(async {
        let server = llama::Server::start(bin, model, &["-c", "8192", "--metrics"]).await;
        let url = server.url.clone();
        let backend = Backend::Endpoint(Endpoint {
            url: url.clone(),
            model: "local".into(),
            timeout: Duration::from_secs(600),
            max_tokens: TOKENS as u32,
        });
        let mut t = Tally::default();
        let start = Instant::now();
        for c in cases {
            let x = backend.explain(&c.item, |_| {}).await;
            if let Err(e) = &x {
                eprintln!("[{name}] {}: {e}", c.name);
            }
            t.add(c, x.as_ref().ok(), show, name);
        }
        t.secs = start.elapsed().as_secs_f64();
        let m = metrics(&url).await;
        let get = |k: &str| m.iter().find(|(n, _)| n == k).map(|(_, v)| *v).unwrap_or(f64::NAN);
        t.first_text = get("llamacpp:prompt_seconds_total") / cases.len().max(1) as f64;
        t.tokens_per_s = get("llamacpp:tokens_predicted_total") / get("llamacpp:tokens_predicted_seconds_total");
        t
    })
}

/// llama-server's counters (Prometheus text).
async fn metrics(url: &str) -> Vec<(String, f64)> {
    let text = reqwest::get(format!("{url}/metrics")).await.expect("metrics").text().await.expect("text");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| v.trim().parse().ok().map(|v| (k.to_owned(), v)))
        .collect()
}

/// Scores again the texts a run with `AIRLOCK_BENCH_SHOW=1` wrote to `file`: lines
/// `[row] report: text` (a text is the summary and concerns joined, as scored; its grounding
/// check is that of the same text) or `[row] report: the model failed: …`.
fn rescore(file: &str, cases: &[eval::Case]) {
    let text = std::fs::read_to_string(file).expect("the texts");
    let mut rows: Vec<(String, Tally)> = vec![];
    for line in text.lines().filter(|l| l.starts_with('[')) {
        let Some((row, rest)) = line[1..].split_once("] ") else { continue };
        let Some((name, said)) = rest.split_once(": ") else { continue };
        let Some(case) = cases.iter().find(|c| c.name == name) else { continue };
        if !rows.iter().any(|(r, _)| r == row) {
            rows.push((row.to_owned(), Tally::default()));
        }
        let tally = &mut rows.iter_mut().find(|(r, _)| r == row).expect("row").1;
        let x = (!said.starts_with("the model failed")).then(|| Explanation {
            summary: said.to_owned(),
            concerns: vec![],
            source: row.to_owned(),
            state: airlock_types::ExplanationState::Done,
            ungrounded: airlock_explain::ground::check(said, &case.item),
            error: None,
        });
        tally.add(case, x.as_ref(), false, row);
    }
    for (row, tally) in rows {
        tally.print(&format!("{row} (rescored)"));
    }
}
