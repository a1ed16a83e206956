//! A small mutator for the stable-Rust driver and the daemon-level fuzz test: byte flips, cuts,
//! insertions, repeats, splices between seeds, and tokens JSON and hex readers treat specially.

/// xorshift64*: enough randomness to mutate with, repeatable from its seed.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn draw(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.draw() % n as u64) as usize }
    }
}

/// Text that JSON and hex readers treat specially.
const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "0x",
    "-1",
    "1e999",
    "null",
    "true",
    "\\u0000",
    "\\ud800",
    "18446744073709551616",
    "0x00",
    "\"0x\"",
    "[]",
    "{}",
    "\"types\"",
    "\"EIP712Domain\"",
    "\"uint256[]\"",
    "\"bytes\"",
    "\"version\"",
    "\"deneb\"",
    "\"electra\"",
    "\"method\"",
    "\"id\"",
    "\"result\"",
    "\"error\"",
    "eth_sendRawTransaction",
    "eth\u{2024}sendRawTransaction",
    "ｅｔｈ_sign",
    "eth_callBundle",
    "\u{200b}",
];

/// One mutant of `seeds` (sorted by size, smallest first), at most `MAX_INPUT` bytes.
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    // Seeds are sorted by size: the smaller of two draws favours the quick ones (a blob
    // transaction takes a thousand times longer to read than a transfer).
    let mut b = seeds[rng.below(seeds.len()).min(rng.below(seeds.len()))].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(b.len() + 1);
        let last = at.min(b.len().saturating_sub(1));
        match rng.below(7) {
            0 if !b.is_empty() => b[last] ^= 1 << rng.below(8),
            1 if !b.is_empty() => b[last] = rng.draw() as u8,
            2 => b.insert(at, rng.draw() as u8),
            3 => {
                let end = (at + 1 + rng.below(64)).min(b.len());
                b.drain(at.min(end)..end);
            }
            4 => {
                let end = (at + 1 + rng.below(32)).min(b.len());
                let piece = b[at.min(end)..end].to_vec();
                for _ in 0..1 + rng.below(8) {
                    b.splice(at..at, piece.iter().copied());
                }
            }
            5 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let piece = &other[from..(from + 1 + rng.below(256)).min(other.len())];
                b.splice(at..at, piece.iter().copied());
            }
            _ => {
                b.splice(at..at, TOKENS[rng.below(TOKENS.len())].bytes());
            }
        }
    }
    b.truncate(crate::MAX_INPUT);
    b
}

/// The checked-in corpus of `target` (`tests/fuzz/corpus/<target>/`), smallest first.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fuzz/corpus").join(target);
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).expect("readable")).collect();
    seeds.sort_by_key(Vec::len);
    assert!(!seeds.is_empty(), "{} holds no seeds", dir.display());
    seeds
}
