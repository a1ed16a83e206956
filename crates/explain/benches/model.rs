//! The in-process model's speed: time to first token (the whole prompt processed, the first
//! token out) and decoding tokens per second, for the tiny test model and for random weights in
//! the shapes of Qwen2-0.5B (Q4_K where rows allow, Q4_0 otherwise), with the real prompt of a
//! Uniswap V2 swap's report. CPU here; `--features cuda` on a GPU machine.
//!
//! Where tests/setup.sh has fetched SmolLM2-135M-Instruct and built llama-server, the same
//! prompt also runs on that real model in-process and through llama-server, to compare the two
//! engines on one machine. The prompt is the one explanations use (the shape's system prompt and
//! a Uniswap V2 swap's report). The peer is `tests/llama/llama-server-avx512` where
//! `tests/setup.sh --bench-models` built it (a CPU with AVX-512 VNNI, which candle also uses),
//! `tests/llama/llama-server` (AVX2) otherwise.
//!
//! Run: `cargo bench -p airlock-explain --bench model` (writes the 0.5B file once, ~350 MB, in
//! the system temp dir). AIRLOCK_BENCH_TOKENS: tokens to decode (default 64).
//! `AIRLOCK_BENCH_REAL_ONLY=1` runs the side-by-side table alone; `AIRLOCK_BENCH_ONLY=Smol` one
//! of its models.
//! `CANDLE_DEQUANTIZE_ALL=1 cargo bench …` measures what `--model-dequantize` does (weights
//! expanded to f32 at load).

use std::time::Instant;

#[path = "support/llama.rs"]
mod llama;

#[path = "../../../tests/support/recorded.rs"]
mod recorded;

use airlock_explain::testkit::{Dims, write_model};
use airlock_explain::{Local, prompt, shape};
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
    if std::env::var_os("AIRLOCK_BENCH_REAL_ONLY").is_some() {
        return side_by_side(&user, tokens);
    }
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
    for (name, path) in &models {
        let mb = std::fs::metadata(path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
        let model = Local::load(path).expect("loads");
        let _ = model.timed(shape::SYSTEM, &user, 2); // warm
        let (n, prefill, decode) = model.timed(shape::SYSTEM, &user, tokens).expect("runs");
        println!("{name:<26} {mb:>10.1} {n:>12} {prefill:>10.3} s {:>10.1}", tokens as f64 / decode);
    }
    side_by_side(&user, tokens);
}

/// The real files tests/setup.sh fetched, in candle and in llama-server on the same cores, in
/// one run: the same ChatML prompt read in one pass (prefill) and `tokens` tokens decoded.
fn side_by_side(user: &str, tokens: usize) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let fast = root.join("tests/llama/llama-server-avx512");
    let server = if fast.exists() { fast } else { root.join("tests/llama/llama-server") };
    let files = [
        ("SmolLM2-135M Q4_1", root.join("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf")),
        ("Qwen2.5-Coder-1.5B Q4_K_M", root.join("tests/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")),
    ];
    let peer = server.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    println!("\nside by side with {peer}, {tokens} tokens decoded after the prompt (prefill and decode in tokens/s):");
    println!(
        "{:<28} {:>8} {:>12} {:>12} {:>12} {:>12} {:>8} {:>8}",
        "model", "prompt", "candle pre", "llama pre", "candle dec", "llama dec", "pre x", "dec x"
    );
    let only = std::env::var("AIRLOCK_BENCH_ONLY").unwrap_or_default();
    for (name, path) in files.iter().filter(|(n, p)| p.exists() && n.contains(only.as_str())) {
        let model = Local::load(path).expect("loads");
        let _ = model.timed(shape::SYSTEM, user, 2); // warm
        let (n, prefill, decode) = model.timed(shape::SYSTEM, user, tokens).expect("runs");
        drop(model);
        let (pre, dec) = (n as f64 / prefill, tokens as f64 / decode);
        let chatml = format!(
            "<|im_start|>system\n{}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n",
            shape::SYSTEM
        );
        let (lpre, ldec) =
            if server.exists() { llama_server(&server, path, &chatml, tokens) } else { (f64::NAN, f64::NAN) };
        println!(
            "{name:<28} {n:>8} {pre:>12.1} {lpre:>12.1} {dec:>12.1} {ldec:>12.1} {:>8.2} {:>8.2}",
            pre / lpre,
            dec / ldec
        );
    }
}

/// Prefill and decode tokens/s of llama-server for `prompt` (its own timings; one warm-up
/// request first, no prompt cache, end tokens ignored so that `tokens` are decoded).
fn llama_server(bin: &std::path::Path, model: &std::path::Path, prompt: &str, tokens: usize) -> (f64, f64) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let server = llama::Server::start(bin, model, &["-c", "4096"]).await;
        let url = &server.url;
        let body = serde_json::json!({ "prompt": prompt, "n_predict": tokens, "ignore_eos": true,
            "cache_prompt": false, "temperature": 0.0, "top_k": 1 });
        let client = reqwest::Client::new();
        let mut last = serde_json::Value::Null;
        for _ in 0..2 {
            let r = client.post(format!("{url}/completion")).json(&body).send().await.expect("answers");
            last = r.json().await.expect("json");
        }
        let t = &last["timings"];
        (t["prompt_per_second"].as_f64().unwrap_or(f64::NAN), t["predicted_per_second"].as_f64().unwrap_or(f64::NAN))
    })
}
