//! Address poisoning measured on a public dataset no one on the team wrote: Poison-Hunter's
//! (CCS'24) sample of real poisoning transfers, each an attacker's address and the address it
//! imitates, and its 1,154 benign Etherscan-labelled addresses. The data is read from
//! `../shared/datasets/poison_hunter` beside the repository (it carries no licence, so it is not
//! copied here). Prints the share caught and the false-positive rate, and asserts both.

use std::collections::HashMap;
use std::path::PathBuf;

use airlock_policy::{History, Thresholds, imitates, lookalike};
use airlock_types::{Counterparty, Timestamp};
use alloy_primitives::{Address, U256};

fn dataset() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/poison_hunter")
}

fn addresses(text: &str) -> Vec<Address> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

fn history(of: impl IntoIterator<Item = Address>) -> History {
    let seen = Counterparty {
        first_seen: Timestamp(0),
        last_seen: Timestamp(0),
        sends: 1,
        approvals: 0,
        max_eth_sent: U256::ZERO,
        max_token_sent: U256::ZERO,
    };
    of.into_iter().map(|a| (a, seen.clone())).collect::<HashMap<_, _>>()
}

#[test]
fn real_poisoning_pairs_are_caught_and_benign_addresses_are_not() {
    let dir = dataset();
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name)).unwrap_or_else(|e| {
            panic!("{}: {e} (the shared datasets sit beside the repository)", dir.join(name).display())
        })
    };
    let pairs: Vec<(Address, Address)> = read("phishing_transfers_sample.csv")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut cols = l.split(',');
            let attacker = cols.next()?.parse().ok()?;
            let _victim = cols.next()?;
            Some((attacker, cols.next()?.parse().ok()?))
        })
        .collect();
    let benign = addresses(&read("benign_addresses_on_etherscan.txt"));
    assert_eq!(pairs.len(), 150, "the sample's 150 poisoning transfers");
    assert_eq!(benign.len(), 1154);

    let t = Thresholds::default();
    let old = Thresholds { lookalike_prefix: 4, lookalike_suffix: 4, lookalike_total: 8, ..t };
    // The person has dealt with every imitated address and every benign one.
    let known = history(pairs.iter().map(|p| p.1).chain(benign.iter().copied()));
    let caught = |t: &Thresholds| pairs.iter().filter(|(a, target)| imitates(*a, *target, t)).count();
    let flagged_anyway = pairs.iter().filter(|(a, _)| lookalike(*a, &known, &t).is_some()).count();
    // Each benign address, sent to for the first time, against everything else the person knows.
    let false_alarms: Vec<Address> = benign
        .iter()
        .filter(|b| {
            let others = history(known.keys().copied().filter(|k| k != *b));
            lookalike(**b, &others, &t).is_some()
        })
        .copied()
        .collect();
    let (now, before) = (caught(&t), caught(&old));
    println!(
        "Poison-Hunter sample: {now}/150 poisoning pairs caught ({:.1}%); 4+4 digits caught {before}/150",
        100.0 * now as f64 / 150.0
    );
    println!("flagged against the whole history: {flagged_anyway}/150");
    println!(
        "benign addresses flagged: {}/{} ({:.2}%) {false_alarms:?}",
        false_alarms.len(),
        benign.len(),
        100.0 * false_alarms.len() as f64 / benign.len() as f64
    );
    assert!(now >= 145, "at least 96% of the real pairs: {now}");
    assert!(now > before, "better than the old 4+4 rule");
    assert!(flagged_anyway >= now);
    assert!(false_alarms.is_empty(), "no benign address is called a look-alike: {false_alarms:?}");
}

/// Shared leading zeros are vanity, not imitation: Permit2 and Seaport share ten of them.
#[test]
fn vanity_zeros_are_not_an_imitation() {
    let t = Thresholds::default();
    let permit2: Address = "0x000000000022D473030F116dDEE9F6B43aC78BA3".parse().expect("address");
    let seaport: Address = "0x00000000000000ADc04C56Bf30aC9d3c0aAF14dC".parse().expect("address");
    assert!(!imitates(permit2, seaport, &t));
    // The same prefix with the look-alike's tail matched is one.
    let poisoned: Address = "0x00000000009999999999999999999999999c8BA3".parse().expect("address");
    assert!(!imitates(poisoned, permit2, &t), "zeros and 5 trailing digits are not enough");
    let poisoned: Address = "0x0000000000229999999999999999999999C78BA3".parse().expect("address");
    assert!(imitates(poisoned, permit2, &t), "2 leading after the zeros and 6 trailing are");
    let poisoned: Address = "0x123456789012345678901234567890143aC78BA3".parse().expect("address");
    assert!(imitates(poisoned, permit2, &t), "the last 9 alone are");
}
