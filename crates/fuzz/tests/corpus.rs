//! Every fuzz target on stable Rust: its checked-in corpus (`tests/fuzz/corpus/<target>/`)
//! replayed, then mutations of it (byte flips, cuts, insertions, repeats, splices between seeds,
//! and JSON tokens) for a bounded time: `AIRLOCK_FUZZ_SECS` seconds a target (default 3).
//! `AIRLOCK_FUZZ_SEED` repeats a run. An input that panics is written to
//! `target/fuzz-found/<target>-<hash>` and named in the failure, to become a regression test.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use airlock_fuzz::mutate::{Rng, corpus, mutate};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs `target` on `input`; on a panic, keeps the input and fails naming it.
fn run(name: &str, target: fn(&[u8]), input: &[u8], seed: u64) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_ok() {
        return;
    }
    let dir = repo().join("target/fuzz-found");
    std::fs::create_dir_all(&dir).expect("target/fuzz-found");
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    let path = dir.join(format!("{name}-{hash:016x}"));
    std::fs::write(&path, input).expect("written");
    panic!("{name} panicked on {} (seed {seed}); make it a named test in tests/regressions.rs", path.display());
}

fn fuzz(name: &str) {
    let target = airlock_fuzz::TARGETS.iter().find(|(n, _)| *n == name).expect("a target").1;
    let seeds = corpus(name);
    for s in &seeds {
        run(name, target, s, 0);
    }
    let secs = std::env::var("AIRLOCK_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    let seed = std::env::var("AIRLOCK_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    let mut rng = Rng(seed);
    let (start, mut runs) = (Instant::now(), 0u64);
    while start.elapsed() < Duration::from_secs(secs) {
        let input = mutate(&mut rng, &seeds);
        run(name, target, &input, seed);
        runs += 1;
    }
    eprintln!("{name}: {} seeds, {runs} mutations in {secs} s (seed {seed})", seeds.len());
}

#[test]
fn every_target_has_a_corpus() {
    for (name, _) in airlock_fuzz::TARGETS {
        corpus(name);
    }
}

#[test]
fn raw_tx() {
    fuzz("raw_tx");
}

#[test]
fn tx_object() {
    fuzz("tx_object");
}

#[test]
fn typed_data() {
    fuzz("typed_data");
}

#[test]
fn calldata() {
    fuzz("calldata");
}

#[test]
fn light_client_json() {
    fuzz("light_client_json");
}

#[test]
fn light_client_ssz() {
    fuzz("light_client_ssz");
}

#[test]
fn account_proof() {
    fuzz("account_proof");
}

#[test]
fn rpc_body() {
    fuzz("rpc_body");
}

#[test]
fn upstream_answer() {
    fuzz("upstream_answer");
}
