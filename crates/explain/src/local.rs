//! The in-process backend: candle running a quantized GGUF model on this machine's CPU (CUDA with
//! the `cuda` feature). Architectures: llama, qwen2, qwen3. The tokenizer is the
//! `tokenizer.json` beside the model file, or the one the GGUF carries (byte-level BPE, as in
//! the qwen and SmolLM families). The model gets only the prompt: no network, no tools.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::quantized::{GgmlDType, QTensor, gguf_file};
use candle_core::{Device, Tensor};
use candle_transformers::models::quantized_qwen3;
use tokenizers::Tokenizer;

use crate::ExplainError;
use crate::decoder::Decoder;
use crate::grammar::Grammar;

enum Weights {
    /// llama and qwen2: our forward pass (see [`Decoder`]).
    Own(Decoder),
    Qwen3(quantized_qwen3::ModelWeights),
}

impl Weights {
    fn forward(&mut self, x: &Tensor, pos: usize) -> candle_core::Result<Tensor> {
        match self {
            Weights::Own(m) => m.forward(x, pos),
            Weights::Qwen3(m) => m.forward(x, pos),
        }
    }
}

struct Loaded {
    weights: Weights,
    tokenizer: Tokenizer,
    /// Each token's bytes, for constrained decoding (built at first use).
    bytes: Option<Arc<TokenTable>>,
    /// Token ids that end the answer.
    stop: Vec<u32>,
    /// ChatML (`<|im_start|>`) when the vocabulary has it; a plain transcript otherwise.
    chatml: bool,
    /// What constrained decoding has done so far, for the benches.
    speed: Speed,
}

/// Constrained decoding's work since the model was loaded: prompt tokens read and the seconds
/// it took (to the first token out), tokens written after it (forced ones included) and their
/// seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Speed {
    pub answers: usize,
    pub prompt_tokens: usize,
    pub prompt_secs: f64,
    pub tokens: usize,
    pub decode_secs: f64,
}

/// A model loaded from a GGUF file. Generation runs on a blocking thread, one at a time.
#[derive(Clone)]
pub struct Local {
    pub path: PathBuf,
    pub arch: String,
    inner: Arc<Mutex<Loaded>>,
    /// The model file's path bytes, for the source name.
    device: Device,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("path", &self.path).field("arch", &self.arch).finish()
    }
}

/// An error about the model file. candle appends a backtrace to its errors when
/// RUST_BACKTRACE is set; a person needs the first line.
fn bad(path: &Path, what: impl std::fmt::Display) -> ExplainError {
    let what = what.to_string();
    ExplainError::Backend(format!("{}: {}", path.display(), what.lines().next().unwrap_or_default()))
}

impl Local {
    /// Loads `path` (a GGUF file); a malformed or truncated file is a clear error.
    pub fn load(path: &Path) -> Result<Local, ExplainError> {
        let device = device()?;
        let mut file = std::fs::File::open(path).map_err(|e| bad(path, e))?;
        let content =
            gguf_file::Content::read(&mut file).map_err(|e| bad(path, format!("not a readable GGUF file: {e}")))?;
        let arch = match content.metadata.get("general.architecture") {
            Some(v) => v.to_string().map_err(|e| bad(path, e))?.clone(),
            None => return Err(bad(path, "the GGUF names no general.architecture")),
        };
        let tokenizer = tokenizer(path, &content)?;
        // Our decoder (llama, qwen2) handles these types itself; candle-transformers' qwen3 gets
        // a requantized file.
        let slow = if arch == "qwen3" { transcoded(&content, &mut file).map_err(|e| bad(path, e))? } else { None };
        let (content, mut file) = match slow {
            Some((content, bytes)) => (content, Reader::Memory(bytes)),
            None => (content, Reader::File(file)),
        };
        let stop = stop_tokens(&content, &tokenizer);
        let chatml = tokenizer.token_to_id("<|im_start|>").is_some();
        let weights = match arch.as_str() {
            "llama" | "qwen2" => {
                Weights::Own(Decoder::load(&content, &mut file, &arch, &device).map_err(|e| bad(path, e))?)
            }
            "qwen3" => Weights::Qwen3(
                quantized_qwen3::ModelWeights::from_gguf(content, &mut file, &device).map_err(|e| bad(path, e))?,
            ),
            other => return Err(bad(path, format!("architecture {other:?} is not supported (llama, qwen2, qwen3)"))),
        };
        Ok(Local {
            path: path.to_owned(),
            arch,
            inner: Arc::new(Mutex::new(Loaded {
                weights,
                tokenizer,
                bytes: None,
                stop,
                chatml,
                speed: Speed::default(),
            })),
            device,
        })
    }

    /// The model's next-token logits (f32, last position) after `input` at `pos`.
    fn step(&self, m: &mut Loaded, input: &[u32], pos: usize) -> Result<Tensor, ExplainError> {
        let err = |e: candle_core::Error| bad(&self.path, e);
        let x = Tensor::new(input, &self.device).and_then(|t| t.unsqueeze(0)).map_err(err)?;
        let logits = m.weights.forward(&x, pos).map_err(err)?;
        let logits = logits.squeeze(0).map_err(err)?;
        // Some models return every position's logits, others only the last.
        let logits = if logits.rank() == 2 {
            let n = logits.dim(0).map_err(err)?;
            logits.get(n - 1).map_err(err)?
        } else {
            logits
        };
        logits.to_dtype(candle_core::DType::F32).map_err(err)
    }

    /// The answer to `system` + `user` as a document of `grammar`, decoded greedily with every
    /// token that would leave the grammar masked out; it stops when the document is whole.
    /// Where the grammar allows one continuation only (a key, punctuation), its tokens are
    /// appended without asking the model, and read in the next pass with the model's own token.
    /// Blocking: call it from a blocking thread.
    pub fn complete_json_blocking(
        &self,
        system: &str,
        user: &str,
        grammar: &Grammar,
        max_tokens: usize,
    ) -> Result<String, ExplainError> {
        self.complete_json_penalized(system, user, grammar, max_tokens, 1.0)
    }

    /// [`Local::complete_json_blocking`], each word the model already wrote made less likely by
    /// `repeat_penalty` (1.0: not at all; see [`crate::REPEAT_PENALTY`]).
    pub fn complete_json_penalized(
        &self,
        system: &str,
        user: &str,
        grammar: &Grammar,
        max_tokens: usize,
        repeat_penalty: f32,
    ) -> Result<String, ExplainError> {
        if !(1.0..=MAX_REPEAT_PENALTY).contains(&repeat_penalty) {
            return Err(ExplainError::Backend(format!(
                "a repeat penalty of {repeat_penalty}: it must be from 1 to {MAX_REPEAT_PENALTY}"
            )));
        }
        let mut guard = self.inner.lock().map_err(|_| ExplainError::Backend("the model panicked earlier".into()))?;
        let m = &mut *guard;
        let table = m.bytes.get_or_insert_with(|| Arc::new(TokenTable::new(&m.tokenizer))).clone();
        let prompt = chat(m.chatml, system, user);
        let tokens = m.tokenizer.encode(prompt, false).map_err(|e| ExplainError::Backend(e.to_string()))?;
        let mut input = tokens.get_ids().to_vec();
        let (mut pos, mut at, mut out, mut written) = (0usize, grammar.start(), Vec::<u8>::new(), 0usize);
        let mut chosen = std::collections::HashSet::new();
        let started = std::time::Instant::now();
        let mut prompt_secs = 0.0;
        while written < max_tokens && !grammar.finished(&at) {
            let logits = self.step(m, &input, pos)?;
            if pos == 0 {
                prompt_secs = started.elapsed().as_secs_f64();
                m.speed.prompt_tokens += input.len();
            }
            pos += input.len();
            let mut logits: Vec<f32> = logits.to_vec1().map_err(|e| bad(&self.path, e))?;
            discourage(&mut logits, &chosen, &table.word, repeat_penalty);
            // None: the document is whole and the model would rather stop.
            let Some((id, next)) = pick(grammar, &at, &table, &logits, &m.stop) else { break };
            out.extend_from_slice(&table.bytes[id as usize]);
            chosen.insert(id);
            (at, input, written) = (next, vec![id], written + 1);
            // The one way on, if there is only one: its tokens without a pass each.
            for forced in table.cover(&grammar.forced(&at)) {
                let Some(next) = grammar.advance(&at, &table.bytes[forced as usize]) else { break };
                out.extend_from_slice(&table.bytes[forced as usize]);
                (at, written) = (next, written + 1);
                input.push(forced);
            }
        }
        m.speed.answers += 1;
        m.speed.prompt_secs += prompt_secs;
        m.speed.tokens += written;
        m.speed.decode_secs += started.elapsed().as_secs_f64() - prompt_secs;
        if !grammar.accepts(&at) {
            return Err(ExplainError::Backend(format!(
                "the model did not finish the answer within {max_tokens} tokens"
            )));
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    /// Constrained decoding's work so far (see [`Speed`]).
    pub fn speed(&self) -> Speed {
        self.inner.lock().map(|m| m.speed).unwrap_or_default()
    }

    /// Speed alone, for the benches: the prompt of `system` + `user` read in one pass, then
    /// `n` tokens decoded greedily whatever they are (end tokens included). Gives the prompt's
    /// length in tokens and the seconds each part took.
    pub fn timed(&self, system: &str, user: &str, n: usize) -> Result<(usize, f64, f64), ExplainError> {
        let mut guard = self.inner.lock().map_err(|_| ExplainError::Backend("the model panicked earlier".into()))?;
        let m = &mut *guard;
        let prompt = chat(m.chatml, system, user);
        let ids = m.tokenizer.encode(prompt, false).map_err(|e| ExplainError::Backend(e.to_string()))?;
        let ids = ids.get_ids().to_vec();
        let argmax = |l: &Tensor| -> Result<u32, ExplainError> {
            l.argmax(0).and_then(|t| t.to_scalar::<u32>()).map_err(|e| bad(&self.path, e))
        };
        let start = std::time::Instant::now();
        let mut next = argmax(&self.step(m, &ids, 0)?)?;
        let prefill = start.elapsed().as_secs_f64();
        let start = std::time::Instant::now();
        for i in 0..n {
            next = argmax(&self.step(m, &[next], ids.len() + i)?)?;
        }
        Ok((ids.len(), prefill, start.elapsed().as_secs_f64()))
    }

    /// How many tokens the chat prompt for `system` + `user` is.
    pub fn count_tokens(&self, system: &str, user: &str) -> usize {
        let Ok(m) = self.inner.lock() else { return 0 };
        m.tokenizer.encode(chat(m.chatml, system, user), false).map(|e| e.len()).unwrap_or(0)
    }

    pub fn source(&self) -> String {
        format!("candle:{}", self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default())
    }
}

/// The model file as read: the file itself, or a copy in memory with some tensors requantized.
enum Reader {
    File(std::fs::File),
    Memory(std::io::Cursor<Vec<u8>>),
}

impl std::io::Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Reader::File(f) => f.read(buf),
            Reader::Memory(m) => m.read(buf),
        }
    }
}

impl std::io::Seek for Reader {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        match self {
            Reader::File(f) => f.seek(pos),
            Reader::Memory(m) => m.seek(pos),
        }
    }
}

/// The largest file whose slow tensors are requantized (see [`transcoded`]).
const TRANSCODE_MAX_BYTES: u64 = 2 << 30;

/// candle multiplies Q4_1, Q5_0 and Q5_1 weights one scalar at a time; Q8_0 it multiplies with
/// AVX2 or VNNI. For candle-transformers' models (qwen3), a file with such tensors is rewritten
/// in memory with them requantized to Q8_0
/// (twice the bytes; each weight moves by at most 1/254 of its block's largest, well under the
/// 4- or 5-bit step it already carries). None when the file has none.
fn transcoded(
    content: &gguf_file::Content,
    file: &mut std::fs::File,
) -> candle_core::Result<Option<(gguf_file::Content, std::io::Cursor<Vec<u8>>)>> {
    let slow = |d: GgmlDType| matches!(d, GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1);
    // The copy is held in memory beside the weights: a file larger than this is read as it is
    // (slowly), not doubled.
    let size = file.metadata()?.len();
    if size > TRANSCODE_MAX_BYTES || !content.tensor_infos.values().any(|t| slow(t.ggml_dtype)) {
        return Ok(None);
    }
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(&str, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let t = content.tensor(file, name, &Device::Cpu)?;
        let t = if slow(t.dtype()) { QTensor::quantize(&t.dequantize(&Device::Cpu)?, GgmlDType::Q8_0)? } else { t };
        tensors.push((name, t));
    }
    let metadata: Vec<(&str, &gguf_file::Value)> = content.metadata.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (*n, t)).collect();
    let mut out = std::io::Cursor::new(Vec::new());
    gguf_file::write(&mut out, &metadata, &tensors)?;
    out.set_position(0);
    let content = gguf_file::Content::read(&mut out)?;
    Ok(Some((content, out)))
}

/// The conversation in the model's format: ChatML when its vocabulary has it.
fn chat(chatml: bool, system: &str, user: &str) -> String {
    if chatml {
        format!("<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n")
    } else {
        format!("{system}\n\n{user}\n\nAnswer:\n")
    }
}

fn device() -> Result<Device, ExplainError> {
    #[cfg(feature = "cuda")]
    {
        Device::new_cuda(0).map_err(|e| ExplainError::Backend(format!("no CUDA device: {e}")))
    }
    #[cfg(not(feature = "cuda"))]
    {
        Ok(Device::Cpu)
    }
}

/// The tokenizer: `tokenizer.json` beside the model, else the GGUF's own byte-level BPE.
fn tokenizer(path: &Path, content: &gguf_file::Content) -> Result<Tokenizer, ExplainError> {
    let beside = path.with_file_name("tokenizer.json");
    if beside.exists() {
        return Tokenizer::from_file(&beside).map_err(|e| bad(&beside, e));
    }
    let md = &content.metadata;
    let model = md.get("tokenizer.ggml.model").and_then(|v| v.to_string().ok()).cloned().unwrap_or_default();
    if model != "gpt2" {
        return Err(bad(
            path,
            format!(
                "its tokenizer ({model:?}) is not one Airlock reads from GGUF metadata (gpt2 BPE): put its tokenizer.json beside it"
            ),
        ));
    }
    let strings = |key: &str| -> Result<Vec<String>, ExplainError> {
        let v = md.get(key).ok_or_else(|| bad(path, format!("no {key} in the GGUF")))?;
        let list = v.to_vec().map_err(|e| bad(path, format!("{key}: {e}")))?;
        list.iter().map(|x| x.to_string().cloned().map_err(|e| bad(path, format!("{key}: {e}")))).collect()
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = match md.get("tokenizer.ggml.merges") {
        Some(_) => strings("tokenizer.ggml.merges")?,
        None => vec![],
    };
    let types: Vec<i32> = match md.get("tokenizer.ggml.token_type").and_then(|v| v.to_vec().ok()) {
        Some(list) => list.iter().map(|x| x.to_i32().unwrap_or(1)).collect(),
        None => vec![],
    };
    let vocab: tokenizers::models::bpe::Vocab = tokens.iter().enumerate().map(|(i, t)| (t.clone(), i as u32)).collect();
    let merges: Vec<(String, String)> =
        merges.iter().filter_map(|m| m.split_once(' ')).map(|(a, b)| (a.to_owned(), b.to_owned())).collect();
    let bpe = tokenizers::models::bpe::BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| bad(path, format!("its BPE tokenizer: {e}")))?;
    let mut tk = Tokenizer::new(bpe);
    tk.with_pre_tokenizer(Some(tokenizers::pre_tokenizers::byte_level::ByteLevel::new(false, true, false)));
    tk.with_decoder(Some(tokenizers::decoders::byte_level::ByteLevel::default()));
    // Control tokens (type 3) are special: never split, never shown.
    let special: Vec<tokenizers::AddedToken> = tokens
        .iter()
        .enumerate()
        .filter(|(i, _)| types.get(*i) == Some(&3))
        .map(|(_, t)| tokenizers::AddedToken::from(t.clone(), true))
        .collect();
    tk.add_special_tokens(special).map_err(|e| bad(path, format!("its special tokens: {e}")))?;
    Ok(tk)
}

/// The model's most likely token that keeps the output in the grammar, and where it leads;
/// none when the document is whole and the model would rather stop. The best 64 are tried
/// first, then every token in order.
fn pick(
    grammar: &Grammar,
    at: &crate::grammar::Cursor,
    table: &TokenTable,
    logits: &[f32],
    stop: &[u32],
) -> Option<(u32, crate::grammar::Cursor)> {
    let first = grammar.first_bytes(at);
    let n = logits.len().min(table.bytes.len());
    let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]);
    let mut order: Vec<u32> = (0..n as u32).collect();
    let k = 64.min(n);
    if k < n {
        order.select_nth_unstable_by(k, by_logit);
    }
    order[..k].sort_unstable_by(by_logit);
    let try_one = |id: u32| -> Option<Option<(u32, crate::grammar::Cursor)>> {
        if stop.contains(&id) && grammar.accepts(at) {
            return Some(None);
        }
        let bytes = &table.bytes[id as usize];
        grammar.allows(at, &first, bytes).then(|| grammar.advance(at, bytes).map(|c| (id, c)))
    };
    if let Some(found) = order[..k].iter().find_map(|id| try_one(*id)) {
        return found;
    }
    order[k..].sort_unstable_by(by_logit);
    order[k..].iter().find_map(|id| try_one(*id)).flatten()
}

/// The largest repeat penalty a request may ask for: more would forbid words outright.
const MAX_REPEAT_PENALTY: f32 = 4.0;

/// Makes each word the model already chose in this answer less likely by `p` (logits over 0
/// divided by it, under 0 multiplied). Words only (three letters or more): addresses, amounts
/// and punctuation repeat freely.
fn discourage(logits: &mut [f32], chosen: &std::collections::HashSet<u32>, word: &[bool], p: f32) {
    if p == 1.0 {
        return;
    }
    for &id in chosen {
        if let Some(l) = logits.get_mut(id as usize)
            && word.get(id as usize).copied().unwrap_or(false)
        {
            *l = if *l > 0.0 { *l / p } else { *l * p };
        }
    }
}

/// Each token's bytes, and the tokens by their bytes (the longest first when covering).
struct TokenTable {
    bytes: Vec<Vec<u8>>,
    /// Whether the token is a word: three ASCII letters or more, after a space or not.
    word: Vec<bool>,
    by_bytes: std::collections::HashMap<Vec<u8>, u32>,
    longest: usize,
}

impl TokenTable {
    fn new(tk: &Tokenizer) -> TokenTable {
        let bytes = token_bytes(tk);
        let mut by_bytes = std::collections::HashMap::new();
        for (id, b) in bytes.iter().enumerate().filter(|(_, b)| !b.is_empty()) {
            by_bytes.entry(b.clone()).or_insert(id as u32);
        }
        let longest = bytes.iter().map(Vec::len).max().unwrap_or(0);
        let word = bytes
            .iter()
            .map(|b| {
                let letters = b.strip_prefix(b" ").unwrap_or(b);
                letters.len() >= 3 && letters.iter().all(u8::is_ascii_alphabetic)
            })
            .collect();
        TokenTable { bytes, word, by_bytes, longest }
    }

    /// Tokens that spell `text`, each the longest that fits.
    fn cover(&self, text: &[u8]) -> Vec<u32> {
        let (mut out, mut i) = (vec![], 0);
        while i < text.len() {
            let fit = (1..=self.longest.min(text.len() - i))
                .rev()
                .find_map(|n| self.by_bytes.get(&text[i..i + n]).map(|id| (*id, n)));
            let Some((id, n)) = fit else { break };
            out.push(id);
            i += n;
        }
        out
    }
}

/// Each token's bytes as it writes them: byte-level BPE symbols mapped back to bytes (GPT-2's
/// table), SentencePiece's `▁` as a space and `<0xNN>` as its byte; nothing for special tokens,
/// which constrained decoding never picks.
fn token_bytes(tk: &Tokenizer) -> Vec<Vec<u8>> {
    let vocab = tk.get_vocab(true);
    let size = vocab.values().max().map_or(0, |m| *m as usize + 1);
    let special: std::collections::HashSet<u32> = tk.get_added_tokens_decoder().keys().copied().collect();
    let byte_level = vocab.keys().any(|t| t.starts_with('\u{120}'));
    let unicode_to_byte = gpt2_byte_table();
    let mut out = vec![vec![]; size];
    for (text, id) in vocab {
        if special.contains(&id) {
            continue;
        }
        out[id as usize] = if byte_level {
            match text.chars().map(|c| unicode_to_byte.get(&c).copied()).collect::<Option<Vec<u8>>>() {
                Some(b) => b,
                None => text.into_bytes(),
            }
        } else if let Some(hex) = text.strip_prefix("<0x").and_then(|t| t.strip_suffix('>')) {
            u8::from_str_radix(hex, 16).map(|b| vec![b]).unwrap_or_default()
        } else {
            text.replace('\u{2581}', " ").into_bytes()
        };
    }
    out
}

/// GPT-2's byte-to-symbol table, inverted: printable bytes stand for themselves, the others for
/// the code points from 256 up, in order.
fn gpt2_byte_table() -> std::collections::HashMap<char, u8> {
    let mut map = std::collections::HashMap::new();
    let mut next = 256u32;
    for b in 0..=255u8 {
        let printable = (b'!'..=b'~').contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b);
        let c = if printable {
            char::from(b)
        } else {
            let c = char::from_u32(next).unwrap_or('?');
            next += 1;
            c
        };
        map.insert(c, b);
    }
    map
}

fn stop_tokens(content: &gguf_file::Content, tk: &Tokenizer) -> Vec<u32> {
    let mut stop = vec![];
    if let Some(id) = content.metadata.get("tokenizer.ggml.eos_token_id").and_then(|v| v.to_u32().ok()) {
        stop.push(id);
    }
    for t in ["<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>"] {
        if let Some(id) = tk.token_to_id(t) {
            stop.push(id);
        }
    }
    stop
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words already chosen lose ground by the penalty, on either side of zero; other tokens
    /// (hex, digits, punctuation) and unchosen words keep their logits; 1.0 changes nothing.
    #[test]
    fn only_words_already_written_are_discouraged() {
        let word = [true, true, false, true];
        let chosen: std::collections::HashSet<u32> = [0, 1, 2].into_iter().collect();
        let mut logits = [6.0, -2.0, 6.0, 6.0];
        discourage(&mut logits, &chosen, &word, 1.5);
        assert_eq!(logits, [4.0, -3.0, 6.0, 6.0]);
        let mut same = [6.0, -2.0, 6.0, 6.0];
        discourage(&mut same, &chosen, &word, 1.0);
        assert_eq!(same, [6.0, -2.0, 6.0, 6.0]);
    }
}
