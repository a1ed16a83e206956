//! Time to verify one account proof and one storage proof (mainnet, block 21925176, the deposit
//! contract: an 8-node account proof), one header hash, one mainnet sync-committee update (512
//! keys), and a whole sync from a checkpoint through six updates (mainnet Capella).
//! Run: `cargo bench -p airlock-verify --bench proofs`

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Instant;

use airlock_verify::{verify_account, verify_header};
use alloy_primitives::B256;
use alloy_rpc_types_eth::EIP1186AccountProofResponse;

fn load<T: serde::de::DeserializeOwned>(path: &str) -> T {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(path);
    serde_json::from_slice(&std::fs::read(full).expect("fixture")).expect("json")
}

/// Median of `rounds` timings of `iters` calls each, per call.
fn time(name: &str, iters: u32, mut f: impl FnMut()) {
    let mut per_call: Vec<f64> = (0..15)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                f();
            }
            t.elapsed().as_secs_f64() * 1e6 / f64::from(iters)
        })
        .collect();
    per_call.sort_by(f64::total_cmp);
    println!("{name:<44} median {:>8.2} µs   (min {:.2}, max {:.2})", per_call[7], per_call[0], per_call[14]);
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let header: alloy_rpc_types_eth::Header = load("mainnet-21925176/block.json");
    let root = header.inner.state_root;
    let proof: EIP1186AccountProofResponse = load("mainnet-21925176/proof.json");
    let slot = B256::with_last_byte(1);
    time("account proof (8 nodes)", 2000, || {
        black_box(verify_account(root, proof.address, &[], black_box(&proof)).expect("ok"));
    });
    time("account + one storage proof", 2000, || {
        black_box(verify_account(root, proof.address, &[slot], black_box(&proof)).expect("ok"));
    });
    time("header hash (RLP + keccak)", 20000, || {
        verify_header(black_box(&header.inner), header.hash).expect("ok");
    });

    use airlock_verify::consensus::{Network, Store, json};
    let spec = Network::Mainnet.spec();
    let capella = |f: &str| {
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/mainnet-capella").join(f))
            .expect(f)
    };
    let (boot, ups) = (capella("bootstrap.json"), capella("updates.json"));
    let checkpoint: B256 = "0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275".parse().expect("root");
    let store = Store::bootstrap(&spec, checkpoint, json::bootstrap(&boot, spec.preset).expect("json")).expect("ok");
    let update = json::updates(&ups, spec.preset).expect("json").remove(0);
    time("sync-committee update (512 keys, BLS + branches)", 50, || {
        store.validate(&spec, black_box(&update), update.signature_slot).expect("ok");
    });
    time("sync from checkpoint through 6 updates (JSON in)", 3, || {
        let mut s =
            Store::bootstrap(&spec, checkpoint, json::bootstrap(&boot, spec.preset).expect("json")).expect("ok");
        for u in json::updates(&ups, spec.preset).expect("json") {
            s.process(&spec, &u, u.signature_slot).expect("ok");
        }
        black_box(s);
    });
}
