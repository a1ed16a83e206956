//! The consensus-spec light-client sync vectors (deneb and electra, minimal preset), driven from
//! their steps.yaml: bootstrap from the trusted block root, then every process_update and
//! force_update step, checking the finalized and optimistic headers after each.

use std::path::{Path, PathBuf};

use airlock_verify::consensus::{Bootstrap, ChainSpec, Fork, Preset, Store, Update};
use alloy_primitives::B256;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/consensus-spec")
}

fn ssz_snappy(path: &Path) -> Vec<u8> {
    let compressed = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    snap::raw::Decoder::new().decompress_vec(&compressed).expect("snappy")
}

/// `KEY: value` lines of a flat YAML file.
fn yaml_value<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(&format!("{key}:"))? + key.len() + 1;
    let rest = text[at..].trim_start();
    let end = rest.find(['\n', ',', '}']).unwrap_or(rest.len());
    Some(rest[..end].trim().trim_matches('\''))
}

fn hex4(s: &str) -> [u8; 4] {
    let v = alloy_primitives::hex::decode(s).expect("hex");
    v.try_into().expect("4 bytes")
}

fn spec(config: &str, gvr: B256) -> ChainSpec {
    let epoch = |name: &str| yaml_value(config, &format!("{name}_FORK_EPOCH")).and_then(|e| e.parse::<u64>().ok());
    let mut fork_versions = vec![(0, hex4(yaml_value(config, "GENESIS_FORK_VERSION").expect("genesis version")))];
    let mut forks = vec![];
    for (name, fork) in [
        ("ALTAIR", None),
        ("BELLATRIX", None),
        ("CAPELLA", Some(Fork::Capella)),
        ("DENEB", Some(Fork::Deneb)),
        ("ELECTRA", Some(Fork::Electra)),
        ("FULU", Some(Fork::Fulu)),
    ] {
        let Some(e) = epoch(name).filter(|&e| e != u64::MAX) else { continue };
        fork_versions.push((e, hex4(yaml_value(config, &format!("{name}_FORK_VERSION")).expect("version"))));
        if let Some(f) = fork {
            forks.push((e, f));
        }
    }
    ChainSpec {
        genesis_validators_root: gvr,
        preset: Preset::MINIMAL,
        fork_versions,
        forks,
        unsupported_from_epoch: None,
    }
}

struct Check {
    slot: u64,
    beacon_root: B256,
    execution_root: B256,
}

fn check_after(block: &str, anchor: &str) -> Check {
    let at = block.find(anchor).unwrap_or_else(|| panic!("no {anchor} in {block}"));
    let part = &block[at..];
    Check {
        slot: yaml_value(part, "slot").expect("slot").parse().expect("number"),
        beacon_root: yaml_value(part, "beacon_root").expect("beacon_root").parse().expect("root"),
        execution_root: yaml_value(part, "execution_root").expect("execution_root").parse().expect("root"),
    }
}

fn assert_header(what: &str, h: &airlock_verify::consensus::LightClientHeader, want: &Check) {
    assert_eq!(h.beacon.slot, want.slot, "{what} slot");
    assert_eq!(h.beacon.hash_tree_root(), want.beacon_root, "{what} beacon root");
    assert_eq!(h.execution.hash_tree_root(), want.execution_root, "{what} execution root");
}

fn run(fork_dir: &str, fork: Fork) -> usize {
    let mut steps_run = 0;
    let mut cases: Vec<_> =
        std::fs::read_dir(root().join(fork_dir)).expect("dir").map(|e| e.expect("entry").path()).collect();
    cases.sort();
    assert!(!cases.is_empty());
    for case in cases {
        let read = |f: &str| std::fs::read_to_string(case.join(f)).expect(f);
        let meta = read("meta.yaml");
        let gvr: B256 = yaml_value(&meta, "genesis_validators_root").expect("gvr").parse().expect("root");
        let trusted: B256 = yaml_value(&meta, "trusted_block_root").expect("trusted").parse().expect("root");
        let spec = spec(&read("config.yaml"), gvr);
        let bootstrap = Bootstrap::decode(&ssz_snappy(&case.join("bootstrap.ssz_snappy")), fork, spec.preset)
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let mut store =
            Store::bootstrap(&spec, trusted, bootstrap).unwrap_or_else(|e| panic!("{}: {e}", case.display()));

        let steps = read("steps.yaml");
        for (i, block) in steps.split("\n- ").enumerate() {
            let block = block.trim_start_matches("- ");
            let what = format!("{} step {i}", case.display());
            let current_slot: u64 = yaml_value(block, "current_slot").expect("current_slot").parse().expect("slot");
            if block.starts_with("process_update") {
                // Not the `update:` inside `process_update:` nor `update_fork_digest`.
                let at = block.find("update: update_").expect("update name");
                let name = yaml_value(&block[at..], "update").expect("name");
                let bytes = ssz_snappy(&case.join(format!("{name}.ssz_snappy")));
                let update = Update::decode(&bytes, fork, spec.preset).unwrap_or_else(|e| panic!("{what}: {e}"));
                store.process(&spec, &update, current_slot).unwrap_or_else(|e| panic!("{what}: {e}"));
            } else if block.starts_with("force_update") {
                store.force_update(&spec, current_slot).unwrap_or_else(|e| panic!("{what}: {e}"));
            } else {
                panic!("{what}: unknown step {block}");
            }
            assert_header(
                &format!("{what} finalized"),
                &store.finalized_header,
                &check_after(block, "finalized_header"),
            );
            assert_header(
                &format!("{what} optimistic"),
                &store.optimistic_header,
                &check_after(block, "optimistic_header"),
            );
            steps_run += 1;
        }
    }
    steps_run
}

#[test]
fn deneb_vectors() {
    assert!(run("deneb", Fork::Deneb) >= 16);
}

#[test]
fn electra_vectors() {
    assert!(run("electra", Fork::Electra) >= 16);
}

/// The first update of deneb/light_client_sync, and a store bootstrapped for it.
fn first_update() -> (ChainSpec, Store, Update, u64, Vec<u8>) {
    let case = root().join("deneb/light_client_sync");
    let read = |f: &str| std::fs::read_to_string(case.join(f)).expect(f);
    let meta = read("meta.yaml");
    let gvr: B256 = yaml_value(&meta, "genesis_validators_root").expect("gvr").parse().expect("root");
    let trusted: B256 = yaml_value(&meta, "trusted_block_root").expect("trusted").parse().expect("root");
    let spec = spec(&read("config.yaml"), gvr);
    let bootstrap = Bootstrap::decode(&ssz_snappy(&case.join("bootstrap.ssz_snappy")), Fork::Deneb, spec.preset)
        .expect("bootstrap");
    let store = Store::bootstrap(&spec, trusted, bootstrap).expect("store");
    let bytes = ssz_snappy(
        &case.join("update_0xbccdacbfe0f0bfd10367dfc318b479e2830ed7c5119151ad0eb917fc66d51203_sf.ssz_snappy"),
    );
    let update = Update::decode(&bytes, Fork::Deneb, spec.preset).expect("update");
    (spec, store, update, 41, bytes)
}

#[test]
fn tampering_is_refused_with_a_specific_error() {
    use airlock_verify::consensus::ConsensusError as E;
    let (spec, store, good, slot, _) = first_update();
    assert!(good.is_finality_update() && good.is_sync_committee_update());
    store.validate(&spec, &good, slot).expect("the untouched update is valid");
    let try_update = |f: &dyn Fn(&mut Update)| {
        let mut u = good.clone();
        f(&mut u);
        store.validate(&spec, &u, slot).expect_err("tampered update accepted")
    };

    assert!(matches!(try_update(&|u| u.sync_aggregate.signature[20] ^= 1), E::BadSignature { .. }), "signature bit");
    assert!(matches!(try_update(&|u| u.sync_aggregate.bits[0] ^= 1), E::BadSignature { .. }), "participation bit");
    assert!(matches!(try_update(&|u| u.sync_aggregate.bits.fill(0)), E::TooFewParticipants { got: 0, .. }));
    assert!(matches!(try_update(&|u| u.finality_branch[2].0[5] ^= 1), E::FinalityBranch));
    assert!(matches!(try_update(&|u| u.next_sync_committee_branch[1].0[0] ^= 1), E::NextCommitteeBranch));
    assert!(matches!(try_update(&|u| u.next_sync_committee.pubkeys.swap(0, 1)), E::NextCommitteeBranch));
    assert!(matches!(try_update(&|u| u.attested_header.execution.block_number += 1), E::ExecutionBranch(_)));
    assert!(matches!(try_update(&|u| u.finalized_header.execution.state_root.0[0] ^= 1), E::ExecutionBranch(_)));
    assert!(matches!(try_update(&|u| u.attested_header.beacon.state_root.0[0] ^= 1), E::FinalityBranch));
    assert!(matches!(try_update(&|u| u.finalized_header.beacon.slot += 1), E::FinalityBranch));
    // From the future: signed after the current slot.
    assert!(matches!(store.validate(&spec, &good, good.signature_slot - 1), Err(E::SlotOrder { .. })));
    // Stale: signed no later than the header it attests.
    assert!(matches!(try_update(&|u| u.signature_slot = u.attested_header.beacon.slot), E::SlotOrder { .. }));
    // Signed in a period whose committee is unknown.
    let far = good.signature_slot + 3 * 64;
    assert!(matches!(
        {
            let mut u = good.clone();
            u.signature_slot = far;
            store.validate(&spec, &u, far)
        },
        Err(E::WrongPeriod { .. })
    ));
    // The right signature under another fork version (another network or fork) fails.
    let mut other = spec.clone();
    for (_, v) in other.fork_versions.iter_mut() {
        v[3] ^= 0xff;
    }
    assert!(matches!(store.validate(&other, &good, slot), Err(E::BadSignature { .. })));
    let mut other = spec.clone();
    other.genesis_validators_root.0[0] ^= 1;
    assert!(matches!(store.validate(&other, &good, slot), Err(E::BadSignature { .. })));
}

#[test]
fn a_bootstrap_that_is_not_the_checkpoint_is_refused() {
    use airlock_verify::consensus::ConsensusError as E;
    let case = root().join("deneb/light_client_sync");
    let meta = std::fs::read_to_string(case.join("meta.yaml")).expect("meta");
    let gvr: B256 = yaml_value(&meta, "genesis_validators_root").expect("gvr").parse().expect("root");
    let trusted: B256 = yaml_value(&meta, "trusted_block_root").expect("trusted").parse().expect("root");
    let spec = spec(&std::fs::read_to_string(case.join("config.yaml")).expect("config"), gvr);
    let b = Bootstrap::decode(&ssz_snappy(&case.join("bootstrap.ssz_snappy")), Fork::Deneb, spec.preset)
        .expect("bootstrap");
    assert!(matches!(Store::bootstrap(&spec, B256::repeat_byte(1), b.clone()), Err(E::CheckpointMismatch { .. })));
    let mut bad = b.clone();
    bad.current_sync_committee_branch[0].0[0] ^= 1;
    assert!(matches!(Store::bootstrap(&spec, trusted, bad), Err(E::CurrentCommitteeBranch)));
    let mut bad = b;
    bad.current_sync_committee.pubkeys.swap(3, 4);
    assert!(matches!(Store::bootstrap(&spec, trusted, bad), Err(E::CurrentCommitteeBranch)));
}

#[test]
fn mangled_ssz_never_panics() {
    let (spec, store, _, slot, bytes) = first_update();
    for len in (0..bytes.len()).step_by(3) {
        assert!(Update::decode(&bytes[..len], Fork::Deneb, spec.preset).is_err(), "truncated at {len}");
    }
    let mut accepted = 0;
    for i in 0..bytes.len() {
        let mut m = bytes.clone();
        m[i] ^= 0x41;
        if let Ok(u) = Update::decode(&m, Fork::Deneb, spec.preset)
            && store.validate(&spec, &u, slot).is_ok()
        {
            accepted += 1;
        }
    }
    // Every byte is covered: headers by the signature and the branches, the committee by its
    // branch, offsets and lengths by the decoder. No changed byte may pass.
    assert_eq!(accepted, 0, "a changed byte slipped through validation");
}
