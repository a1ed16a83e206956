//! Plain language to intents: the phrasing set (testdata/intents/phrasings.json) read by each
//! model present, in candle (the sandboxed model worker, as the daemon runs it) under the ask
//! schema's grammar and, where llama-server is built, by llama-server with the schema as
//! `response_format`, side by side. For each: the share read
//! exactly, the outcome counts, and the time per phrasing on this machine.
//!
//! Run: `cargo bench --bench ask`. Models: the test model (tests/setup.sh), and the larger one
//! where present (`tests/setup.sh --bench-models`, or AIRLOCK_BENCH_MODEL=path.gguf).
//! AIRLOCK_BENCH_THREADS sets llama-server's threads (default 2).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock_explain::{Backend, Endpoint, SandboxChoice, Worker, WorkerOptions};

#[path = "../../../tests/support/intents.rs"]
mod intents;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn models() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> =
        ["tests/models/SmolLM2-135M-Instruct.Q4_1.gguf", "tests/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"]
            .iter()
            .map(|p| repo().join(p))
            .filter(|p| p.exists())
            .collect();
    if let Some(p) = std::env::var_os("AIRLOCK_BENCH_MODEL").map(PathBuf::from).filter(|p| p.exists()) {
        out.push(p);
    }
    out
}

/// Runs the set through `backend`; (share exact, outcome line, seconds per phrasing).
async fn run(backend: &Backend) -> (f64, String, f64) {
    let set = intents::load();
    let mut outcomes = vec![];
    let started = Instant::now();
    for p in &set {
        let answer = intents::read(backend, &p.text).await;
        let o = intents::score(p, &answer);
        if std::env::var_os("AIRLOCK_BENCH_VERBOSE").is_some() {
            eprintln!("  {:?} -> {o:?}", p.text);
        }
        outcomes.push(o);
    }
    let per = started.elapsed().as_secs_f64() / set.len() as f64;
    let (share, line) = intents::summary(&outcomes);
    (share, line, per)
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// llama-server on `model`, ready; none when it is not built.
async fn llama_server(model: &Path) -> Option<(Server, String)> {
    let bin = repo().join("tests/llama/llama-server");
    if !bin.exists() {
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let threads = std::env::var("AIRLOCK_BENCH_THREADS").unwrap_or_else(|_| "2".into());
    let child = std::process::Command::new(bin)
        .arg("-m")
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-c", "4096", "-np", "1", "-t", &threads])
        .arg("--no-cache-prompt")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let server = Server(child);
    let url = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        if reqwest::get(format!("{url}/health")).await.is_ok_and(|r| r.status().is_success()) {
            return Some((server, url));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[tokio::main]
async fn main() {
    let found = models();
    if found.is_empty() {
        println!("no model present: run tests/setup.sh");
        return;
    }
    println!(
        "{} phrasings; cores: {}",
        intents::load().len(),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("{:<48} {:>8} {:>10}  outcomes", "model, runtime", "exact", "s/phrase");
    for path in found {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let small = std::fs::metadata(&path).is_ok_and(|m| m.len() < 600 << 20);
        // As in the file; and expanded to f32 at load (faster on a batch) where that fits.
        for dequantize in [false, true].into_iter().filter(|d| !d || small) {
            let worker = Worker::start(
                Path::new(env!("CARGO_BIN_EXE_airlock")),
                &path,
                SandboxChoice::Auto,
                WorkerOptions { dequantize },
            )
            .await
            .expect("the model worker starts");
            let weights = if dequantize { "f32" } else { "as in the file" };
            let backend = Backend::Worker { worker, timeout: Duration::from_secs(600), max_tokens: 0 };
            let (share, line, per) = run(&backend).await;
            println!("{:<48} {:>7.0}% {per:>10.2}  {line}", format!("{name}, candle ({weights})"), share * 100.0);
        }
        if let Some((_server, url)) = llama_server(&path).await {
            let endpoint = Endpoint { url, model: "local".into(), timeout: Duration::from_secs(600), max_tokens: 200 };
            let (share, line, per) = run(&Backend::Endpoint(endpoint)).await;
            println!("{:<48} {:>7.0}% {per:>10.2}  {line}", format!("{name}, llama-server"), share * 100.0);
        }
    }
}
