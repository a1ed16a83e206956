//! Threat lists at scale: start-up with a million addresses (the bundled lists plus a list
//! file of 1M random addresses, read as the daemon reads it), its time and memory, and a
//! lookup, hit and miss; side by side with the obvious peer, a `std::collections::HashSet` of
//! the same addresses (no labels, no dates, no chains).
//!
//! Run: `cargo bench -p airlock-intel --bench lists`. Knob: AIRLOCK_BENCH_ADDRESSES (1000000).

use std::collections::HashSet;
use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use airlock_intel::{Format, IntelConfig, ListSpec};
use alloy_primitives::Address;

/// xorshift64*: the same addresses every run, without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn address(&mut self) -> Address {
        let mut b = [0u8; 20];
        for chunk in b.chunks_mut(8) {
            let v = self.next().to_be_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        Address::from(b)
    }
}

/// This process's resident and peak memory, in MiB (Linux /proc).
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn ns_per(n: usize, f: impl FnMut(usize)) -> f64 {
    let mut f = f;
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("AIRLOCK_BENCH_ADDRESSES").ok().and_then(|s| s.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("million.txt");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file).expect("file"));
        let mut rng = Rng(0x5eed);
        for _ in 0..n {
            writeln!(w, "{} # bench drainer", rng.address()).expect("write");
        }
    }
    let config = IntelConfig {
        list: vec![ListSpec {
            name: "million".into(),
            file: Some(file.to_str().expect("utf8").into()),
            format: Format::Lines,
            ..Default::default()
        }],
        ..Default::default()
    };

    let (rss0, peak0) = memory();
    let t = Instant::now();
    let (lists, _) = airlock_intel::load(&config, None).expect("loads");
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let (rss1, peak1) = memory();
    let mut rng = Rng(0x5eed);
    let hits: Vec<Address> = (0..n.min(100_000)).map(|_| rng.address()).collect();
    let mut other = Rng(0xbad);
    let misses: Vec<Address> = (0..100_000).map(|_| other.address()).collect();
    let k = hits.len();
    let hit_contains = ns_per(k, |i| assert!(black_box(lists.contains(hits[i]))));
    let hit_lookup = ns_per(k, |i| assert!(!black_box(lists.lookup(1, hits[i])).is_empty()));
    let miss = ns_per(misses.len(), |i| assert!(black_box(lists.lookup(1, misses[i])).is_empty()));

    // Where the start-up goes: reading the file, and sorting and indexing.
    let spec = &config.list[0];
    let t = Instant::now();
    let mut b = airlock_intel::Builder::new();
    let f = std::io::BufReader::new(std::fs::File::open(&file).expect("file"));
    b.add(spec, f, "file", None).expect("reads");
    let read_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    drop(black_box(b.finish()));
    let index_ms = t.elapsed().as_secs_f64() * 1e3;

    let (rss2, _) = memory();
    let t = Instant::now();
    let mut rng = Rng(0x5eed);
    let mut set: HashSet<Address> = HashSet::new();
    for _ in 0..n {
        set.insert(rng.address());
    }
    let set_ms = t.elapsed().as_secs_f64() * 1e3;
    let (rss3, _) = memory();
    let set_hit = ns_per(k, |i| assert!(black_box(set.contains(&hits[i]))));
    let set_miss = ns_per(misses.len(), |i| assert!(!black_box(set.contains(&misses[i]))));

    println!("\nThreat lists with {n} addresses plus the bundled {} (one run):", lists.len() - n);
    println!(
        "{:<34} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "", "start ms", "MiB held", "hit ns", "hit+labels", "miss ns"
    );
    println!(
        "{:<34} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
        "Airlock ThreatLists (file → table)",
        load_ms,
        rss1 - rss0,
        hit_contains,
        hit_lookup,
        miss
    );
    println!(
        "{:<34} {:>10.1} {:>10.1} {:>10.1} {:>10} {:>10.1}",
        "std HashSet<Address> (in memory)",
        set_ms,
        rss3 - rss2,
        set_hit,
        "-",
        set_miss
    );
    println!("Airlock's start-up: reading {read_ms:.1} ms, sorting and indexing {index_ms:.1} ms");
    println!(
        "Airlock's load: peak {:.1} MiB above the start, table {:.1} MiB ({} entries)",
        peak1 - peak0.max(rss0),
        lists.table_bytes() as f64 / (1 << 20) as f64,
        lists.len()
    );
}
