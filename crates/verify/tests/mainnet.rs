//! The real mainnet Capella chain as a beacon API serves it: bootstrap from a checkpoint, six
//! committee periods of updates, a finality and an optimistic update; then the 126 transactions
//! of the verified execution block 17923113 decode, and both their SSZ root and, through the
//! rebuilt execution header, the block hash match what the sync committee signed.

use std::path::PathBuf;

use airlock_verify::consensus::ssz::{merkleize, mix_in_length, pack};
use airlock_verify::consensus::{ConsensusError, LightClientHeader, Network, Store, json};
use alloy_consensus::{EMPTY_OMMER_ROOT_HASH, Header, TxEnvelope};
use alloy_eips::eip2718::Decodable2718;
use alloy_eips::eip4895::Withdrawal;
use alloy_primitives::{Address, B256, Bytes, b256};

fn read(name: &str) -> Vec<u8> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/mainnet-capella").join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

const CHECKPOINT: B256 = b256!("0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275");

fn synced() -> Store {
    let spec = Network::Mainnet.spec();
    let preset = spec.preset;
    let bootstrap = json::bootstrap(&read("bootstrap.json"), preset).expect("bootstrap decodes");
    let mut store = Store::bootstrap(&spec, CHECKPOINT, bootstrap).expect("bootstrap verifies");
    assert_eq!(store.finalized_header.beacon.slot, 7_069_376);

    let updates = json::updates(&read("updates.json"), preset).expect("updates decode");
    assert_eq!(updates.len(), 6);
    let mut period = spec.preset.period(store.finalized_header.beacon.slot);
    for u in &updates {
        store.process(&spec, u, u.signature_slot).unwrap_or_else(|e| panic!("update at {}: {e}", u.signature_slot));
        let now = spec.preset.period(store.finalized_header.beacon.slot);
        assert!(now >= period, "finality never goes back");
        period = now;
    }
    assert_eq!(period, 867, "six periods on from 862");

    let finality = json::update(&read("finality.json"), preset).expect("finality update decodes");
    store.process(&spec, &finality, finality.signature_slot).expect("finality update verifies");
    assert_eq!(store.finalized_header.beacon.slot, 7_109_344);
    assert_eq!(store.finalized_header.execution.block_number, 17_923_026);

    let optimistic = json::update(&read("optimistic.json"), preset).expect("optimistic update decodes");
    store.process(&spec, &optimistic, optimistic.signature_slot).expect("optimistic update verifies");
    assert_eq!(store.optimistic_header.beacon.slot, 7_109_431);
    store
}

#[test]
fn mainnet_capella_syncs_from_the_checkpoint() {
    let store = synced();
    assert_eq!(store.optimistic_header.execution.block_number, 17_923_113);
    assert!(store.next_sync_committee.is_some(), "the next committee is known after the last update");
}

#[test]
fn a_tampered_mainnet_update_is_refused() {
    let spec = Network::Mainnet.spec();
    let bootstrap = json::bootstrap(&read("bootstrap.json"), spec.preset).expect("bootstrap");
    let store = Store::bootstrap(&spec, CHECKPOINT, bootstrap).expect("store");
    let mut u = json::updates(&read("updates.json"), spec.preset).expect("updates").remove(0);
    u.attested_header.execution.state_root.0[31] ^= 1;
    assert!(matches!(store.validate(&spec, &u, u.signature_slot), Err(ConsensusError::ExecutionBranch(_))));
    // Sepolia's fork versions sign differently: the same update does not verify there.
    let mut u = json::updates(&read("updates.json"), spec.preset).expect("updates").remove(0);
    let sepolia = Network::Sepolia.spec();
    let mut wrong = spec.clone();
    wrong.fork_versions = sepolia.fork_versions;
    assert!(matches!(store.validate(&wrong, &u, u.signature_slot), Err(ConsensusError::BadSignature { .. })));
    u.sync_aggregate.signature[0] ^= 0x20;
    assert!(matches!(store.validate(&spec, &u, u.signature_slot), Err(ConsensusError::BadSignature { .. })));
}

/// The execution header Ethereum hashes into the block hash, rebuilt from the verified payload
/// header and the trie roots of the block's own transactions and withdrawals.
fn execution_header(h: &LightClientHeader, transactions_root: B256, withdrawals_root: B256) -> Header {
    let e = &h.execution;
    Header {
        parent_hash: e.parent_hash,
        ommers_hash: EMPTY_OMMER_ROOT_HASH,
        beneficiary: e.fee_recipient,
        state_root: e.state_root,
        transactions_root,
        receipts_root: e.receipts_root,
        logs_bloom: alloy_primitives::Bloom::from_slice(&e.logs_bloom),
        difficulty: Default::default(),
        number: e.block_number,
        gas_limit: e.gas_limit,
        gas_used: e.gas_used,
        timestamp: e.timestamp,
        extra_data: e.extra_data.clone(),
        mix_hash: e.prev_randao,
        nonce: Default::default(),
        base_fee_per_gas: Some(u64::try_from(e.base_fee_per_gas).expect("base fee fits u64")),
        withdrawals_root: Some(withdrawals_root),
        ..Default::default()
    }
}

#[test]
fn block_17923113_transactions_match_the_verified_header() {
    let store = synced();
    let verified = &store.optimistic_header;
    let block: serde_json::Value = serde_json::from_slice(&read("block_7109431.json")).expect("json");
    let payload = &block["data"]["message"]["body"]["execution_payload"];
    let raw: Vec<Bytes> = serde_json::from_value(payload["transactions"].clone()).expect("transactions");
    assert_eq!(raw.len(), 126);
    let txs: Vec<TxEnvelope> = raw
        .iter()
        .map(|t| TxEnvelope::decode_2718_exact(t).unwrap_or_else(|e| panic!("transaction decodes: {e}")))
        .collect();

    // SSZ: List[ByteList[2^30], 2^20], as in the beacon block body.
    let leaves: Vec<[u8; 32]> = raw.iter().map(|t| mix_in_length(merkleize(&pack(t), 1 << 25), t.len())).collect();
    let ssz_root = B256::from(mix_in_length(merkleize(&leaves, 1 << 20), leaves.len()));
    assert_eq!(ssz_root, verified.execution.transactions_root, "SSZ transactions root");

    // The execution block hash, through the Merkle-Patricia roots.
    let withdrawals: Vec<Withdrawal> = payload["withdrawals"]
        .as_array()
        .expect("withdrawals")
        .iter()
        .map(|w| {
            let n = |k: &str| w[k].as_str().expect(k).parse::<u64>().expect("decimal");
            Withdrawal {
                index: n("index"),
                validator_index: n("validator_index"),
                address: w["address"].as_str().expect("address").parse::<Address>().expect("address"),
                amount: n("amount"),
            }
        })
        .collect();
    let header = execution_header(
        verified,
        alloy_consensus::proofs::calculate_transaction_root(&txs),
        alloy_consensus::proofs::calculate_withdrawals_root(&withdrawals),
    );
    assert_eq!(header.hash_slow(), verified.execution.block_hash, "execution block hash");

    // One transaction changed: neither root matches any more.
    let mut forged = raw.clone();
    let mut t = forged[7].to_vec();
    let last = t.len() - 1;
    t[last] ^= 1;
    forged[7] = t.into();
    let leaves: Vec<[u8; 32]> = forged.iter().map(|t| mix_in_length(merkleize(&pack(t), 1 << 25), t.len())).collect();
    assert_ne!(
        B256::from(mix_in_length(merkleize(&leaves, 1 << 20), leaves.len())),
        verified.execution.transactions_root
    );
}

/// Mainnet Deneb, SSZ-encoded: the committee of period 1151 arrives in an update of period 1150,
/// then signs an update of period 1151 and becomes the current committee.
#[test]
fn mainnet_deneb_committee_rotation() {
    use airlock_verify::consensus::{Bootstrap, Fork, Update};
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/mainnet-deneb-rotation");
    let read = |f: &str| std::fs::read(dir.join(f)).expect(f);
    let spec = Network::Mainnet.spec();
    let checkpoint = b256!("0xefb4338d596b9d335b2da176dc85ee97469fc80c7e2d35b9b9c1558b4602077a");
    let bootstrap =
        Bootstrap::decode(&read("LightClientBootstrapDeneb.ssz"), Fork::Deneb, spec.preset).expect("bootstrap");
    let mut store = Store::bootstrap(&spec, checkpoint, bootstrap).expect("bootstrap verifies");
    assert_eq!(spec.preset.period(store.finalized_header.beacon.slot), 1150);
    let first_committee = store.current_sync_committee.ssz.clone();

    let carrying = Update::decode(&read("LightClientUpdateDeneb.ssz"), Fork::Deneb, spec.preset).expect("update 1150");
    assert!(carrying.is_sync_committee_update());
    let signed_by_next =
        Update::decode(&read("LightClientUpdateNewPeriodDeneb.ssz"), Fork::Deneb, spec.preset).expect("update 1151");
    assert_eq!(spec.preset.period(signed_by_next.signature_slot), 1151);

    // Before the next committee is known, the period-1151 update cannot be checked.
    assert!(matches!(
        store.validate(&spec, &signed_by_next, signed_by_next.signature_slot),
        Err(ConsensusError::WrongPeriod { .. })
    ));
    store.process(&spec, &carrying, carrying.signature_slot).expect("update 1150 verifies");
    let next = store.next_sync_committee.as_ref().expect("next committee known").ssz.clone();
    assert_eq!(next, carrying.next_sync_committee);
    store.process(&spec, &signed_by_next, signed_by_next.signature_slot).expect("signed by the new committee");
    assert_eq!(spec.preset.period(store.finalized_header.beacon.slot), 1151, "finality moved into period 1151");
    assert_eq!(store.current_sync_committee.ssz, next, "the committee rotated");
    assert_ne!(first_committee, next);
}
