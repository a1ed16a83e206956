//! The bundled threat lists against public sets we did not write (`../shared/datasets`, read in
//! place: their licences do not allow bundling them). Printed and asserted:
//! - how many addresses of ScamSniffer's drainer feed (2026), Poison-Hunter's address-poisoning
//!   ground truth and CryptoScamDB's scam-site addresses the bundled lists name: the lists' reach
//!   on sets gathered by others (2,952 of 2,967, 40 of 2,530 and 0 of 5,890 when written);
//! - how many of Poison-Hunter's 1,154 benign Etherscan-labelled addresses they name: false
//!   alarms, which must be none.

use std::path::PathBuf;

use alloy_primitives::Address;

fn shared(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets").join(path);
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{}: {e} (the shared datasets sit beside the repository)", p.display()))
}

fn addresses(text: &str) -> Vec<Address> {
    let mut out = vec![];
    for word in text.split(|c: char| !c.is_ascii_alphanumeric()) {
        if word.len() == 42
            && word.starts_with("0x")
            && let Ok(a) = word.parse::<Address>()
        {
            out.push(a);
        }
    }
    out.sort();
    out.dedup();
    out
}

#[test]
fn the_bundled_lists_reach_others_sets_and_name_no_benign_address() {
    let (lists, missing) =
        airlock_intel::load(&airlock_intel::IntelConfig::default(), None).expect("bundled lists load");
    assert!(missing.is_empty());
    let names: Vec<&str> = lists.lists().iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "forta-phishing",
            "forta-malicious-labels",
            "forta-malicious-contracts",
            "revoke-exploits",
            "ofac-sdn",
            "mew-darklist"
        ]
    );
    let mew = &lists.lists()[5];
    assert_eq!((mew.entries, mew.skipped), (692, 1), "one MEW entry is a digit short");

    println!("\n{:<52} {:>8} {:>8} {:>7}", "set", "size", "listed", "share");
    let row = |name: &str, set: &[Address]| {
        let hit = set.iter().filter(|a| !lists.lookup(1, **a).is_empty()).count();
        println!("{name:<52} {:>8} {hit:>8} {:>6.1}%", set.len(), 100.0 * hit as f64 / set.len() as f64);
        hit
    };
    let scamsniffer = addresses(&shared("scamsniffer/address.json"));
    let poisoners = addresses(&shared("poison_hunter/phishing_address_groundtruth.txt"));
    let scam_sites = addresses(&shared("cryptoscamdb/eth_addresses_from_urls_yaml.csv"));
    let benign = addresses(&shared("poison_hunter/benign_addresses_on_etherscan.txt"));
    let reach = [
        row("ScamSniffer drainer feed (2026-08)", &scamsniffer),
        row("Poison-Hunter address-poisoning ground truth", &poisoners),
        row("CryptoScamDB scam-site addresses (2022)", &scam_sites),
    ];
    let alarms = row("Poison-Hunter benign Etherscan-labelled (false alarms)", &benign);
    assert_eq!(alarms, 0, "a benign address is on a bundled list");
    // Etherscan's phish-hack labels (Forta's source) took in CryptoScamDB: nearly all of it.
    // ScamSniffer's 2026 feed is mostly newer than the 2023 labels: a few dozen. Address
    // poisoners are not on these lists at all: the look-alike rule catches them (146 of 150 in
    // crates/policy/tests/poisoning.rs). Fresher lists come by `airlock intel update`.
    assert!(reach[2] * 100 >= scam_sites.len() * 95, "{reach:?}");
    assert!(reach[0] >= 40, "{reach:?}");
    assert_eq!(reach[1], 0, "{reach:?}");
}
