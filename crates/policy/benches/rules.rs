//! Time to judge one held request: the facts built from a real report (the Uniswap V2 swap and
//! the unlimited approval recorded in testdata/snapshots) with a local history of 1000
//! counterparties, then every bundled rule evaluated over them.
//!
//! Run: `cargo bench -p airlock-policy --bench rules`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

#[path = "../../../tests/support/recorded.rs"]
mod recorded;
use recorded::item;

use airlock_policy::{Facts, Policy, PolicyConfig};
use airlock_types::{Counterparty, Timestamp};
use alloy_primitives::{Address, U256};

fn stats(mut v: Vec<Duration>) -> (f64, f64, f64) {
    v.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let mean = v.iter().map(|d| us(*d)).sum::<f64>() / v.len() as f64;
    (mean, us(v[v.len() / 2]), us(v[v.len() * 99 / 100]))
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules");
    let mut history = HashMap::new();
    for i in 0..1000u64 {
        let c = Counterparty {
            first_seen: Timestamp(0),
            last_seen: Timestamp(0),
            sends: 1,
            approvals: 0,
            max_eth_sent: U256::from(10u64.pow(16)),
            max_token_sent: U256::ZERO,
        };
        history.insert(Address::left_padding_from(&i.to_be_bytes()), c);
    }
    let rounds = 2000;
    println!("{} bundled rules, history of {} counterparties, {rounds} rounds, µs:", policy.rules.len(), history.len());
    println!(
        "{:<26} {:>10} {:>8} {:>8}   {:>14} {:>8}",
        "report", "facts+rules", "p50", "p99", "rules only p50", "p99"
    );
    for name in ["uniswap-v2-swap", "erc20-approve-unlimited", "eth-send"] {
        let item = item(name);
        let facts = Facts::build(&item, 31337, &history, &policy.lists, &policy.thresholds);
        for _ in 0..100 {
            policy.evaluate(&item, 31337, &history);
        }
        let whole: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(policy.evaluate(&item, 31337, &history));
                t.elapsed()
            })
            .collect();
        let rules: Vec<Duration> = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(policy.evaluate_facts(&facts));
                t.elapsed()
            })
            .collect();
        let (m, p50, p99) = stats(whole);
        let (_, r50, r99) = stats(rules);
        println!("{name:<26} {m:>10.1} {p50:>8.1} {p99:>8.1}   {r50:>14.1} {r99:>8.1}");
    }
}
