//! The in-process backend on tiny models of the real llama and qwen2 architectures, written here
//! with candle's GGUF writer, random weights and a byte-level BPE tokenizer in the GGUF's own
//! metadata: they load, tokenize, generate and parse, the same text on every run; a malformed
//! or truncated GGUF is a clear error.

use std::path::Path;

use airlock_explain::{Backend, Local};
use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};

const E: usize = 64;
const HEADS: usize = 4;
const KV: usize = 2;
const HD: usize = E / HEADS;
const FFN: usize = 128;
const LAYERS: usize = 2;

/// The byte-level alphabet and two control tokens: a vocabulary that can spell anything.
fn vocab() -> Vec<String> {
    let mut chars: Vec<char> = tokenizers::pre_tokenizers::byte_level::ByteLevel::alphabet().into_iter().collect();
    chars.sort();
    let mut v: Vec<String> = chars.into_iter().map(|c| c.to_string()).collect();
    v.push("<|im_start|>".into());
    v.push("<|im_end|>".into());
    v
}

/// Deterministic "random" weights (a fixed linear congruential sequence).
fn weights(shape: &[usize], seed: u64) -> QTensor {
    let n: usize = shape.iter().product();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let data: Vec<f32> = (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2
        })
        .collect();
    let t = Tensor::from_vec(data, shape, &Device::Cpu).expect("tensor");
    QTensor::quantize(&t, GgmlDType::F32).expect("quantize")
}

fn write_model(path: &Path, arch: &str) {
    let tokens = vocab();
    let v = tokens.len();
    let mut tensors: Vec<(String, QTensor)> = vec![
        ("token_embd.weight".into(), weights(&[v, E], 1)),
        ("output_norm.weight".into(), weights(&[E], 2)),
        ("output.weight".into(), weights(&[v, E], 3)),
    ];
    for l in 0..LAYERS {
        let p = format!("blk.{l}");
        let s = 100 * (l as u64 + 1);
        tensors.push((format!("{p}.attn_q.weight"), weights(&[E, E], s + 1)));
        tensors.push((format!("{p}.attn_k.weight"), weights(&[KV * HD, E], s + 2)));
        tensors.push((format!("{p}.attn_v.weight"), weights(&[KV * HD, E], s + 3)));
        tensors.push((format!("{p}.attn_output.weight"), weights(&[E, E], s + 4)));
        tensors.push((format!("{p}.ffn_gate.weight"), weights(&[FFN, E], s + 5)));
        tensors.push((format!("{p}.ffn_down.weight"), weights(&[E, FFN], s + 6)));
        tensors.push((format!("{p}.ffn_up.weight"), weights(&[FFN, E], s + 7)));
        tensors.push((format!("{p}.attn_norm.weight"), weights(&[E], s + 8)));
        tensors.push((format!("{p}.ffn_norm.weight"), weights(&[E], s + 9)));
        if arch == "qwen2" {
            tensors.push((format!("{p}.attn_q.bias"), weights(&[E], s + 10)));
            tensors.push((format!("{p}.attn_k.bias"), weights(&[KV * HD], s + 11)));
            tensors.push((format!("{p}.attn_v.bias"), weights(&[KV * HD], s + 12)));
        }
    }
    use gguf_file::Value as V;
    let u = |n: usize| V::U32(n as u32);
    let key = |k: &str| format!("{arch}.{k}");
    let md: Vec<(String, V)> = vec![
        ("general.architecture".into(), V::String(arch.into())),
        (key("attention.head_count"), u(HEADS)),
        (key("attention.head_count_kv"), u(KV)),
        (key("block_count"), u(LAYERS)),
        (key("embedding_length"), u(E)),
        (key("feed_forward_length"), u(FFN)),
        (key("context_length"), u(512)),
        (key("rope.dimension_count"), u(HD)),
        (key("rope.freq_base"), V::F32(10000.0)),
        (key("attention.layer_norm_rms_epsilon"), V::F32(1e-5)),
        ("tokenizer.ggml.model".into(), V::String("gpt2".into())),
        ("tokenizer.ggml.tokens".into(), V::Array(tokens.iter().map(|t| V::String(t.clone())).collect())),
        (
            "tokenizer.ggml.token_type".into(),
            V::Array((0..v).map(|i| V::I32(if i >= v - 2 { 3 } else { 1 })).collect()),
        ),
        ("tokenizer.ggml.merges".into(), V::Array(vec![])),
        ("tokenizer.ggml.eos_token_id".into(), u(v - 1)),
    ];
    let md_refs: Vec<(&str, &V)> = md.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let t_refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, t)| (k.as_str(), t)).collect();
    let mut f = std::fs::File::create(path).expect("create");
    gguf_file::write(&mut f, &md_refs, &t_refs).expect("write gguf");
}

#[test]
fn tiny_llama_and_qwen2_load_generate_and_repeat_themselves() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    for arch in ["llama", "qwen2"] {
        let path = dir.join(format!("tiny-{arch}.gguf"));
        write_model(&path, arch);
        let model = Local::load(&path).unwrap_or_else(|e| panic!("{arch}: {e}"));
        assert_eq!(model.arch, arch);
        assert_eq!(model.source(), format!("candle:tiny-{arch}.gguf"));
        let mut partials = 0;
        let first = model.complete_blocking("system", "user: explain", 12, None, |_| partials += 1).expect("generates");
        let again = model.complete_blocking("system", "user: explain", 12, None, |_| {}).expect("generates");
        assert_eq!(first, again, "{arch}: greedy decoding is deterministic");
        assert!(partials > 0 || first.is_empty(), "{arch}: text is handed on as it is written");
        let seeded = model.complete_blocking("system", "user: explain", 12, Some(7), |_| {}).expect("samples");
        let seeded_again = model.complete_blocking("system", "user: explain", 12, Some(7), |_| {}).expect("samples");
        assert_eq!(seeded, seeded_again, "{arch}: the same seed, the same text");
    }
}

#[tokio::test]
async fn the_backend_parses_the_tiny_models_text() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let path = dir.join("tiny-backend.gguf");
    write_model(&path, "qwen2");
    let model = Local::load(&path).expect("loads");
    let backend = Backend::Local { model, timeout: std::time::Duration::from_secs(120), seed: None, max_tokens: 10 };
    let params = serde_json::value::to_raw_value(&serde_json::json!([])).expect("raw");
    let item = airlock_types::Item::pending(
        "x".into(),
        "eth_sendTransaction".into(),
        params,
        airlock_types::Timestamp(0),
        airlock_types::Timestamp(0),
    );
    let x = backend.explain(&item, |_| {}).await.expect("explains");
    assert_eq!(x.source, "candle:tiny-backend.gguf");
    assert_eq!(x.state, airlock_types::ExplanationState::Done);
}

#[test]
fn malformed_and_truncated_files_are_clear_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let garbage = dir.join("garbage.gguf");
    std::fs::write(&garbage, b"this is not a model").expect("write");
    let e = Local::load(&garbage).expect_err("garbage");
    assert!(e.to_string().contains("not a readable GGUF"), "{e}");
    let good = dir.join("whole.gguf");
    write_model(&good, "llama");
    let bytes = std::fs::read(&good).expect("read");
    let cut = dir.join("truncated.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).expect("write");
    let e = Local::load(&cut).expect_err("truncated");
    assert!(e.to_string().contains("truncated.gguf"), "{e}");
    let missing = Local::load(&dir.join("nope.gguf")).expect_err("missing");
    assert!(missing.to_string().contains("nope.gguf"), "{missing}");
}
