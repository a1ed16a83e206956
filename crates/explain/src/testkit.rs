//! Writes GGUF models of the real llama and qwen2 architectures with deterministic random
//! weights and a byte-level BPE tokenizer in their metadata: the tiny models the tests load,
//! and the full-size shapes the benchmark measures. Not for anything else.

use std::path::Path;

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};

/// A model's shape.
#[derive(Debug, Clone, Copy)]
pub struct Dims {
    pub embedding: usize,
    pub heads: usize,
    pub kv_heads: usize,
    pub ffn: usize,
    pub layers: usize,
    /// At least 258 (the byte alphabet and two control tokens); filler tokens make up the rest.
    pub vocab: usize,
}

impl Dims {
    /// Small enough to write and run in a test.
    pub const TINY: Dims = Dims { embedding: 64, heads: 4, kv_heads: 2, ffn: 128, layers: 2, vocab: 258 };
    /// The shapes of Qwen2-0.5B.
    pub const QWEN2_0_5B: Dims = Dims { embedding: 896, heads: 14, kv_heads: 2, ffn: 4864, layers: 24, vocab: 151_936 };
}

/// The byte-level alphabet, filler tokens, and the two control tokens last.
pub fn vocab(size: usize) -> Vec<String> {
    let mut chars: Vec<char> = tokenizers::pre_tokenizers::byte_level::ByteLevel::alphabet().into_iter().collect();
    chars.sort();
    let mut v: Vec<String> = chars.into_iter().map(|c| c.to_string()).collect();
    let mut i = 0;
    while v.len() + 2 < size {
        v.push(format!("<filler{i}>"));
        i += 1;
    }
    v.push("<|im_start|>".into());
    v.push("<|im_end|>".into());
    v
}

/// Deterministic "random" weights, quantized: Q4_K where the rows allow it (multiples of 256),
/// else Q4_0 (multiples of 32), as llama.cpp falls back; Q4_1 when asked; F32 for
/// `quant = None` and vectors.
fn weights(shape: &[usize], seed: u64, quant: Option<GgmlDType>, scale: f32) -> candle_core::Result<QTensor> {
    let n: usize = shape.iter().product();
    let mut x = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let data: Vec<f32> = (0..n)
        .map(|_| {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * scale
        })
        .collect();
    let t = Tensor::from_vec(data, shape, &Device::Cpu)?;
    let row = *shape.last().unwrap_or(&1);
    let dtype = match quant {
        Some(GgmlDType::Q4K) if shape.len() == 2 && row.is_multiple_of(256) => GgmlDType::Q4K,
        Some(GgmlDType::Q4_1) if shape.len() == 2 && row.is_multiple_of(32) => GgmlDType::Q4_1,
        Some(_) if shape.len() == 2 && row.is_multiple_of(32) => GgmlDType::Q4_0,
        _ => GgmlDType::F32,
    };
    QTensor::quantize(&t, dtype)
}

/// Writes a model of `arch` (`llama` or `qwen2`) with shape `d` to `path`.
pub fn write_model(path: &Path, arch: &str, d: Dims, quant: Option<GgmlDType>) -> candle_core::Result<()> {
    write_scaled(path, arch, d, quant, 0.2)
}

/// [`write_model`] with weights spread over ±`scale`/2: larger weights give sharper
/// attention, so that a position or a mask out of place shows in the logits.
pub fn write_scaled(path: &Path, arch: &str, d: Dims, quant: Option<GgmlDType>, scale: f32) -> candle_core::Result<()> {
    let (e, hd) = (d.embedding, d.embedding / d.heads);
    let tokens = vocab(d.vocab);
    let v = tokens.len();
    let w = |shape: &[usize], seed: u64| weights(shape, seed, quant, scale);
    let mut tensors: Vec<(String, QTensor)> = vec![
        ("token_embd.weight".into(), w(&[v, e], 1)?),
        ("output_norm.weight".into(), w(&[e], 2)?),
        ("output.weight".into(), w(&[v, e], 3)?),
    ];
    for l in 0..d.layers {
        let p = format!("blk.{l}");
        let s = 100 * (l as u64 + 1);
        tensors.push((format!("{p}.attn_q.weight"), w(&[e, e], s + 1)?));
        tensors.push((format!("{p}.attn_k.weight"), w(&[d.kv_heads * hd, e], s + 2)?));
        tensors.push((format!("{p}.attn_v.weight"), w(&[d.kv_heads * hd, e], s + 3)?));
        tensors.push((format!("{p}.attn_output.weight"), w(&[e, e], s + 4)?));
        tensors.push((format!("{p}.ffn_gate.weight"), w(&[d.ffn, e], s + 5)?));
        tensors.push((format!("{p}.ffn_down.weight"), w(&[e, d.ffn], s + 6)?));
        tensors.push((format!("{p}.ffn_up.weight"), w(&[d.ffn, e], s + 7)?));
        tensors.push((format!("{p}.attn_norm.weight"), w(&[e], s + 8)?));
        tensors.push((format!("{p}.ffn_norm.weight"), w(&[e], s + 9)?));
        if arch == "qwen2" {
            tensors.push((format!("{p}.attn_q.bias"), w(&[e], s + 10)?));
            tensors.push((format!("{p}.attn_k.bias"), w(&[d.kv_heads * hd], s + 11)?));
            tensors.push((format!("{p}.attn_v.bias"), w(&[d.kv_heads * hd], s + 12)?));
        }
    }
    use gguf_file::Value as V;
    let u = |n: usize| V::U32(n as u32);
    let key = |k: &str| format!("{arch}.{k}");
    let md: Vec<(String, V)> = vec![
        ("general.architecture".into(), V::String(arch.into())),
        (key("attention.head_count"), u(d.heads)),
        (key("attention.head_count_kv"), u(d.kv_heads)),
        (key("block_count"), u(d.layers)),
        (key("embedding_length"), u(e)),
        (key("feed_forward_length"), u(d.ffn)),
        (key("context_length"), u(4096)),
        (key("rope.dimension_count"), u(hd)),
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
    let mut f = std::fs::File::create(path)?;
    gguf_file::write(&mut f, &md_refs, &t_refs)
}
