//! The in-process model's speed: time to first token (the whole prompt processed, the first
//! token out) and decoding tokens per second, for the tiny test model and for random weights in
//! the shapes of Qwen2-0.5B (Q4_K where rows allow, Q4_0 otherwise), with the real prompt of a
//! Uniswap V2 swap's report. CPU here; `--features cuda` on a GPU machine.
//!
//! Run: `cargo bench -p airlock-explain --bench model` (writes the 0.5B file once, ~350 MB, in
//! the system temp dir). AIRLOCK_BENCH_TOKENS: tokens to decode (default 64).

use std::time::Instant;

#[path = "../../../tests/support/recorded.rs"]
mod recorded;

use airlock_explain::testkit::{Dims, write_model};
use airlock_explain::{Local, prompt};
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
        let mb = std::fs::metadata(&path).map(|m| m.len() as f64 / 1e6).unwrap_or(0.0);
        let model = Local::load(&path).expect("loads");
        let start = Instant::now();
        let mut first = None;
        let mut count = 0usize;
        let _ = model.complete_blocking(prompt::SYSTEM, &user, tokens, None, |_| {
            count += 1;
            if first.is_none() {
                first = Some(start.elapsed());
            }
        });
        let total = start.elapsed();
        let first = first.unwrap_or(total);
        let decode = total.saturating_sub(first).as_secs_f64();
        let rate = if count > 1 && decode > 0.0 { (count - 1) as f64 / decode } else { 0.0 };
        let prompt_tokens = model.count_tokens(prompt::SYSTEM, &user);
        println!("{name:<26} {mb:>10.1} {prompt_tokens:>12} {:>10.3} s {rate:>10.1}", first.as_secs_f64());
    }
}
