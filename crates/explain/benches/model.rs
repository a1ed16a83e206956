//! The in-process model's speed: time to first token (the whole prompt processed, the first
//! token out) and decoding tokens per second, for the tiny test model and for random weights in
//! the shapes of Qwen2-0.5B (Q4_K where rows allow, Q4_0 otherwise), with the real prompt of a
//! Uniswap V2 swap's report. CPU here; `--features cuda` on a GPU machine.
//!
//! Where tests/setup.sh has fetched SmolLM2-135M-Instruct and built llama-server, the same
//! prompt also runs on that real model in-process and through llama-server (the endpoint
//! backend, streamed), to compare the two engines on one machine.
//!
//! Run: `cargo bench -p airlock-explain --bench model` (writes the 0.5B file once, ~350 MB, in
//! the system temp dir). AIRLOCK_BENCH_TOKENS: tokens to decode (default 64).
//! `CANDLE_DEQUANTIZE_ALL=1 cargo bench …` measures what `--model-dequantize` does (weights
//! expanded to f32 at load).

use std::time::Instant;

#[path = "../../../tests/support/recorded.rs"]
mod recorded;

use airlock_explain::testkit::{Dims, write_model};
use airlock_explain::{Endpoint, Local, prompt};
use candle_core::quantized::GgmlDType;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let tokens: usize = std::env::var("AIRLOCK_BENCH_TOKENS").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    let user = prompt::build(&recorded::item("uniswap-v2-swap"));
    let dir = std::env::temp_dir().join("airlock-bench-models");
    std::fs::create_dir_all(&dir).expect("mkdir");
    println!(
        "{} cores; prompt of the swap report: {} bytes; decoding {tokens} tokens",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        user.len()
    );
    println!("{:<26} {:>10} {:>12} {:>12} {:>10}", "model", "file MB", "prompt tok", "first token", "tokens/s");
    let mut models = vec![];
    for (name, dims, quant) in
        [("tiny qwen2 (F32)", Dims::TINY, None), ("qwen2 0.5B shape (Q4_K)", Dims::QWEN2_0_5B, Some(GgmlDType::Q4K))]
    {
        let path =
            dir.join(format!("{}.gguf", name.split(' ').next().unwrap_or("m").to_owned() + &dims.layers.to_string()));
        if !path.exists() {
            let t = Instant::now();
            write_model(&path, "qwen2", dims, quant).expect("write model");
            eprintln!("wrote {} in {:.1} s", path.display(), t.elapsed().as_secs_f64());
        }
        models.push((name.to_owned(), path));
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let smollm2 = root.join("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if smollm2.exists() {
        models.push(("SmolLM2-135M (Q4_1)".to_owned(), smollm2.clone()));
    }
    for (name, path) in &models {
        let mb = std::fs::metadata(path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
        let model = Local::load(path).expect("loads");
        let start = Instant::now();
        let mut stamps = vec![];
        let _ = model.complete_blocking(prompt::SYSTEM, &user, tokens, None, |_| stamps.push(start.elapsed()));
        let prompt_tokens = model.count_tokens(prompt::SYSTEM, &user);
        report(name, mb, &prompt_tokens.to_string(), &stamps, start.elapsed());
    }
    let server = root.join("tests/llama/llama-server");
    if server.exists() && smollm2.exists() {
        llama_server(&server, &smollm2, &user, tokens);
    }
}

/// Time to first text and decoding rate from the times each piece of text arrived.
fn report(name: &str, mb: f64, prompt_tokens: &str, stamps: &[std::time::Duration], total: std::time::Duration) {
    let first = stamps.first().copied().unwrap_or(total);
    let last = stamps.last().copied().unwrap_or(total);
    let decode = last.saturating_sub(first).as_secs_f64();
    let rate = if stamps.len() > 1 && decode > 0.0 { (stamps.len() - 1) as f64 / decode } else { 0.0 };
    println!("{name:<26} {mb:>10.1} {prompt_tokens:>12} {:>10.3} s {rate:>10.1}", first.as_secs_f64());
}

/// The same prompt through llama-server and the endpoint backend (one warm-up request first).
fn llama_server(bin: &std::path::Path, model: &std::path::Path, user: &str, tokens: usize) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("port");
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).to_string();
    let mut child = std::process::Command::new(bin)
        .arg("-m")
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-c", "4096", "-np", "1", "-t", &threads])
        .args(["--cache-reuse", "0", "--no-cache-prompt"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("llama-server");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + std::time::Duration::from_secs(120);
        while !reqwest::get(format!("{url}/health")).await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "llama-server did not start");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        let e = Endpoint {
            url,
            model: "m".into(),
            timeout: std::time::Duration::from_secs(120),
            seed: None,
            max_tokens: tokens as u32,
        };
        let _ = e.complete(prompt::SYSTEM, user, |_| {}).await;
        let start = Instant::now();
        let mut stamps = vec![];
        let _ = e.complete(prompt::SYSTEM, user, |_| stamps.push(start.elapsed())).await;
        report(
            "SmolLM2 via llama-server",
            std::fs::metadata(model).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0),
            "-",
            &stamps,
            start.elapsed(),
        );
    });
    let _ = child.kill();
    let _ = child.wait();
}
