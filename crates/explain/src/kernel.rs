//! A matrix-vector product of our own for Q4_1 weights (SmolLM2's file, among others).
//!
//! candle multiplies Q4_1 blocks one scalar at a time, and requantizing them to Q8_0 (which it
//! multiplies with AVX2) doubles the bytes every decoded token reads. Here a row's 32-weight
//! blocks are read as the file has them (two f16 scales and sixteen bytes of nibbles) and
//! multiplied with the input quantized to 8 bits per 32 values, as llama.cpp does: with AVX2
//! where the CPU has it (checked at run time), in plain Rust otherwise. Rows are split across
//! rayon's threads.

use std::sync::Mutex;

use half::f16;

/// Values per block, and bytes per block (d, m as f16, then 16 bytes of two nibbles each).
const BLOCK: usize = 32;
const BLOCK_BYTES: usize = 20;

/// Rows per unit of work handed to a thread.
const ROWS_PER_TASK: usize = 64;

/// A `rows` × `cols` matrix of Q4_1 blocks, row after row: weight = d × q + m, q in 0..16; in
/// each block byte j holds q[j] (low nibble) and q[j + 16] (high nibble).
#[derive(Debug)]
pub(crate) struct Q41 {
    rows: usize,
    cols: usize,
    bytes: Vec<u8>,
}

/// The input quantized per 32 values: x ≈ d × q, q in -127..=127; `sums[b]` is d × Σq.
struct Input {
    q: Vec<i8>,
    d: Vec<f32>,
    sums: Vec<f32>,
}

impl Q41 {
    /// The matrix in `bytes` (GGUF's Q4_1 layout); `cols` must be whole blocks.
    pub(crate) fn new(rows: usize, cols: usize, bytes: &[u8]) -> Result<Q41, String> {
        if !cols.is_multiple_of(BLOCK) || bytes.len() != rows * cols / BLOCK * BLOCK_BYTES {
            return Err(format!("{} bytes are not a {rows} x {cols} Q4_1 matrix", bytes.len()));
        }
        Ok(Q41 { rows, cols, bytes: bytes.to_vec() })
    }

    /// The matrix times `x` (`cols` values).
    pub(crate) fn times(&self, x: &[f32]) -> Vec<f32> {
        assert_eq!(x.len(), self.cols, "the input's length is the matrix's width");
        let input = quantize(x);
        let row_bytes = self.cols / BLOCK * BLOCK_BYTES;
        let avx2 = has_avx2();
        let mut out = vec![0f32; self.rows];
        // Each task owns its rows of `out` (the locks are never contended).
        let tasks: Vec<Mutex<&mut [f32]>> = out.chunks_mut(ROWS_PER_TASK).map(Mutex::new).collect();
        candle_core::utils::barrier_pool().execute_chunked(tasks.len(), |range| {
            for task in range {
                let Ok(mut chunk) = tasks[task].lock() else { continue };
                for (i, y) in chunk.iter_mut().enumerate() {
                    let r = task * ROWS_PER_TASK + i;
                    *y = dot(&self.bytes[r * row_bytes..(r + 1) * row_bytes], &input, avx2);
                }
            }
        });
        drop(tasks);
        out
    }
}

fn quantize(x: &[f32]) -> Input {
    let blocks = x.len() / BLOCK;
    let mut input = Input { q: vec![0; x.len()], d: Vec::with_capacity(blocks), sums: Vec::with_capacity(blocks) };
    for (b, values) in x.chunks_exact(BLOCK).enumerate() {
        let most = values.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = most / 127.0;
        let inv = if d > 0.0 { 1.0 / d } else { 0.0 };
        let mut sum = 0i32;
        for (q, v) in input.q[b * BLOCK..(b + 1) * BLOCK].iter_mut().zip(values) {
            *q = (v * inv).round() as i8;
            sum += i32::from(*q);
        }
        input.d.push(d);
        input.sums.push(d * sum as f32);
    }
    input
}

fn dot(row: &[u8], x: &Input, avx2: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2 {
        return dot_avx2(row, x);
    }
    let _ = avx2;
    dot_plain(row, x)
}

fn dot_plain(row: &[u8], x: &Input) -> f32 {
    let mut total = 0f32;
    for (b, block) in row.chunks_exact(BLOCK_BYTES).enumerate() {
        let d = f16::from_le_bytes([block[0], block[1]]).to_f32();
        let m = f16::from_le_bytes([block[2], block[3]]).to_f32();
        let xq = &x.q[b * BLOCK..(b + 1) * BLOCK];
        let mut sum = 0i32;
        for (j, byte) in block[4..].iter().enumerate() {
            sum += i32::from(byte & 0x0F) * i32::from(xq[j]) + i32::from(byte >> 4) * i32::from(xq[j + 16]);
        }
        total += d * x.d[b] * sum as f32 + m * x.sums[b];
    }
    total
}

fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

#[cfg(target_arch = "x86_64")]
fn dot_avx2(row: &[u8], x: &Input) -> f32 {
    let blocks = row.len() / BLOCK_BYTES;
    assert!(x.q.len() >= blocks * BLOCK && x.d.len() >= blocks && x.sums.len() >= blocks);
    // SAFETY: the CPU has AVX2, FMA and F16C (has_avx2, checked by the caller), and every
    // load stays inside `row` and `x.q` (the lengths asserted above).
    #[allow(unsafe_code)]
    unsafe {
        dot_avx2_unchecked(row, x, blocks)
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_avx2_unchecked(row: &[u8], x: &Input, blocks: usize) -> f32 {
    use std::arch::x86_64::*;
    let nibble = _mm_set1_epi8(0x0F);
    let ones = _mm256_set1_epi16(1);
    let mut acc = _mm256_setzero_ps();
    let mut mins = 0f32;
    for b in 0..blocks {
        let p = row.as_ptr().wrapping_add(b * BLOCK_BYTES);
        // SAFETY: block b's 20 bytes and input block b's 32 values are in bounds (see caller).
        let (dm, qs, xq) = unsafe {
            (
                _mm_cvtph_ps(_mm_cvtsi32_si128((p as *const i32).read_unaligned())),
                _mm_loadu_si128(p.add(4) as *const __m128i),
                _mm256_loadu_si256(x.q.as_ptr().add(b * BLOCK) as *const __m256i),
            )
        };
        let d = _mm_cvtss_f32(dm);
        let m = _mm_cvtss_f32(_mm_shuffle_ps::<1>(dm, dm));
        let low = _mm_and_si128(qs, nibble);
        let high = _mm_and_si128(_mm_srli_epi16::<4>(qs), nibble);
        let w = _mm256_set_m128i(high, low);
        let products = _mm256_madd_epi16(_mm256_maddubs_epi16(w, xq), ones);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d * x.d[b]), _mm256_cvtepi32_ps(products), acc);
        mins += m * x.sums[b];
    }
    let h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    let h = _mm_add_ss(h, _mm_movehdup_ps(h));
    _mm_cvtss_f32(h) + mins
}

/// One query position's attention (decoding), `heads` query heads over `kv_heads` key/value
/// heads of `dim` values: `q` is `[heads, dim]`, `keys` and `values` are `[kv heads, capacity,
/// dim]` with the first `len` positions filled. Head h reads key/value head h / (heads /
/// kv_heads). Returns `[heads, dim]`. candle's batched matmul for this spends more time packing
/// its operands than multiplying; here each head's scores and sums are plain dot products
/// (AVX2 where the CPU has it), one key/value head per task.
pub(crate) struct Attention<'a> {
    pub q: &'a [f32],
    pub keys: &'a [f32],
    pub values: &'a [f32],
    pub heads: usize,
    pub kv_heads: usize,
    pub dim: usize,
    pub capacity: usize,
    pub len: usize,
}

impl Attention<'_> {
    pub(crate) fn run(&self) -> Vec<f32> {
        let (group, dim) = (self.heads / self.kv_heads, self.dim);
        assert!(self.q.len() == self.heads * dim && self.len <= self.capacity);
        assert!(self.keys.len() >= self.kv_heads * self.capacity * dim && self.values.len() == self.keys.len());
        let scale = 1.0 / (dim as f32).sqrt();
        let avx2 = has_avx2();
        let mut out = vec![0f32; self.heads * dim];
        let tasks: Vec<Mutex<&mut [f32]>> = out.chunks_mut(group * dim).map(Mutex::new).collect();
        candle_core::utils::barrier_pool().execute_chunked(self.kv_heads, |range| {
            for g in range {
                let Ok(mut chunk) = tasks[g].lock() else { continue };
                let base = g * self.capacity * dim;
                let keys = &self.keys[base..base + self.len * dim];
                let values = &self.values[base..base + self.len * dim];
                let mut scores = vec![0f32; self.len];
                for j in 0..group {
                    let h = g * group + j;
                    let q = &self.q[h * dim..(h + 1) * dim];
                    for (s, k) in scores.iter_mut().zip(keys.chunks_exact(dim)) {
                        *s = dot_f32(q, k, avx2) * scale;
                    }
                    let top = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    let mut total = 0f32;
                    for s in scores.iter_mut() {
                        *s = (*s - top).exp();
                        total += *s;
                    }
                    let y = &mut chunk[j * dim..(j + 1) * dim];
                    for (s, v) in scores.iter().zip(values.chunks_exact(dim)) {
                        add_scaled(y, v, s / total, avx2);
                    }
                }
            }
        });
        drop(tasks);
        out
    }
}

fn dot_f32(a: &[f32], b: &[f32], avx2: bool) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if avx2 && a.len() == b.len() && a.len().is_multiple_of(8) {
        // SAFETY: the CPU has AVX2 and FMA (has_avx2); equal lengths, whole 8-value chunks.
        #[allow(unsafe_code)]
        return unsafe { dot_f32_avx2(a, b) };
    }
    let _ = avx2;
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn add_scaled(y: &mut [f32], v: &[f32], p: f32, avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    if avx2 && y.len() == v.len() && y.len().is_multiple_of(8) {
        // SAFETY: as in dot_f32.
        #[allow(unsafe_code)]
        return unsafe { add_scaled_avx2(y, v, p) };
    }
    let _ = avx2;
    for (y, v) in y.iter_mut().zip(v) {
        *y += p * v;
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,fma")]
unsafe fn dot_f32_avx2(a: &[f32], b: &[f32]) -> f32 {
    use std::arch::x86_64::*;
    let mut acc = _mm256_setzero_ps();
    for i in (0..a.len()).step_by(8) {
        // SAFETY: i + 8 <= len for both (the caller's checks).
        let (x, y) = unsafe { (_mm256_loadu_ps(a.as_ptr().add(i)), _mm256_loadu_ps(b.as_ptr().add(i))) };
        acc = _mm256_fmadd_ps(x, y, acc);
    }
    let h = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)))
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
#[target_feature(enable = "avx2,fma")]
unsafe fn add_scaled_avx2(y: &mut [f32], v: &[f32], p: f32) {
    use std::arch::x86_64::*;
    let p = _mm256_set1_ps(p);
    for i in (0..y.len()).step_by(8) {
        // SAFETY: i + 8 <= len for both (the caller's checks).
        unsafe {
            let at = y.as_mut_ptr().add(i);
            _mm256_storeu_ps(at, _mm256_fmadd_ps(p, _mm256_loadu_ps(v.as_ptr().add(i)), _mm256_loadu_ps(at)));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use candle_core::quantized::{GgmlDType, QTensor};
    use candle_core::{Device, Tensor};

    /// The product against candle's own (dequantized weights times the input), with the AVX2
    /// path and the plain one, on a matrix with rows left over after the last full task.
    #[test]
    fn matches_dequantized_weights() {
        let dev = Device::Cpu;
        let (rows, cols) = (200, 576);
        let w = Tensor::randn(0f32, 1.0, (rows, cols), &dev).unwrap();
        let q = QTensor::quantize(&w, GgmlDType::Q4_1).unwrap();
        let m = Q41::new(rows, cols, &q.data().unwrap()).unwrap();
        let x: Vec<f32> = (0..cols).map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 3.0).collect();
        let exact: Vec<f32> = q
            .dequantize(&dev)
            .unwrap()
            .matmul(&Tensor::new(x.as_slice(), &dev).unwrap().unsqueeze(1).unwrap())
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let input = quantize(&x);
        let row_bytes = cols / BLOCK * BLOCK_BYTES;
        let plain: Vec<f32> =
            (0..rows).map(|r| dot_plain(&m.bytes[r * row_bytes..(r + 1) * row_bytes], &input)).collect();
        let ours = m.times(&x);
        let dense: Vec<f32> = q.dequantize(&dev).unwrap().flatten_all().unwrap().to_vec1().unwrap();
        for r in 0..rows {
            // Rounding the input to 8 bits moves each value by at most half its block's step.
            let bound: f32 = (0..cols).map(|i| dense[r * cols + i].abs() * input.d[i / BLOCK] / 2.0).sum();
            assert!((ours[r] - exact[r]).abs() <= bound * 1.01 + 1e-3, "row {r}: {} against {}", ours[r], exact[r]);
            assert!((ours[r] - plain[r]).abs() < 1e-3, "row {r}: AVX2 {} against plain {}", ours[r], plain[r]);
        }
        assert!(has_avx2() || ours == plain);
    }

    #[test]
    fn bad_sizes_are_errors() {
        assert!(Q41::new(2, 33, &[0; 40]).is_err());
        assert!(Q41::new(2, 32, &[0; 39]).is_err());
        assert_eq!(Q41::new(2, 32, &[0; 40]).unwrap().times(&[1.0; 32]), vec![0.0, 0.0]);
    }
}
