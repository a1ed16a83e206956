//! `run --verify verified` offline, end to end: a beacon API served by the test whose sync
//! committee (512 real BLS keys) signs beacon headers carrying anvil's execution payloads, so
//! Airlock's light client verifies anvil's head, and reads are proven against its state root.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use airlock_verify::consensus::ssz::{hash2, merkleize};
use airlock_verify::consensus::sync::signing_root;
use airlock_verify::consensus::types::{BeaconBlockHeader, ExecutionPayloadHeader, SyncCommittee};
use airlock_verify::consensus::{Network, Preset};
use alloy_primitives::{Address, B256, Bytes, FixedBytes, U256};
use blst::min_pk::{AggregateSignature, SecretKey};
use serde_json::{Value, json};

use crate::harness::*;
use crate::verified::{PROOF_BALANCE, tampering_upstream};

const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";

/// A Merkle tree given by the nodes that are set (by generalized index), zero elsewhere.
struct Sparse {
    set: HashMap<u64, [u8; 32]>,
    depth: u32,
}

impl Sparse {
    fn node(&self, g: u64) -> [u8; 32] {
        if let Some(v) = self.set.get(&g) {
            return *v;
        }
        if 63 - g.leading_zeros() == self.depth || !self.set.keys().any(|&k| is_below(k, g)) {
            return zero(self.depth - (63 - g.leading_zeros()));
        }
        hash2(&self.node(2 * g), &self.node(2 * g + 1))
    }

    fn branch(&self, mut g: u64) -> Vec<B256> {
        let mut out = vec![];
        while g > 1 {
            out.push(B256::from(self.node(g ^ 1)));
            g >>= 1;
        }
        out
    }
}

fn is_below(k: u64, g: u64) -> bool {
    let mut k = k;
    while k > g {
        k >>= 1;
    }
    k == g
}

fn zero(levels: u32) -> [u8; 32] {
    merkleize(&[], 1usize << levels)
}

fn q(n: u64) -> Value {
    Value::from(n.to_string())
}

fn hexq(v: &Value) -> u64 {
    hex_u64(v)
}

/// The execution payload header of an anvil block.
fn payload(block: &Value) -> ExecutionPayloadHeader {
    let b256 = |k: &str| block[k].as_str().expect(k).parse::<B256>().expect("32 bytes");
    ExecutionPayloadHeader {
        parent_hash: b256("parentHash"),
        fee_recipient: block["miner"].as_str().expect("miner").parse::<Address>().expect("address"),
        state_root: b256("stateRoot"),
        receipts_root: b256("receiptsRoot"),
        logs_bloom: block["logsBloom"].as_str().expect("bloom").parse::<Bytes>().expect("hex"),
        prev_randao: b256("mixHash"),
        block_number: hexq(&block["number"]),
        gas_limit: hexq(&block["gasLimit"]),
        gas_used: hexq(&block["gasUsed"]),
        timestamp: hexq(&block["timestamp"]),
        extra_data: block["extraData"].as_str().expect("extra").parse::<Bytes>().expect("hex"),
        base_fee_per_gas: U256::from(hexq(&block["baseFeePerGas"])),
        block_hash: b256("hash"),
        transactions_root: b256("transactionsRoot"),
        withdrawals_root: b256("withdrawalsRoot"),
        blob_gas_used: Some(hexq(&block["blobGasUsed"])),
        excess_blob_gas: Some(hexq(&block["excessBlobGas"])),
    }
}

fn beacon_json(h: &BeaconBlockHeader) -> Value {
    json!({ "slot": q(h.slot), "proposer_index": q(h.proposer_index), "parent_root": h.parent_root,
            "state_root": h.state_root, "body_root": h.body_root })
}

fn execution_json(e: &ExecutionPayloadHeader) -> Value {
    json!({
        "parent_hash": e.parent_hash, "fee_recipient": e.fee_recipient, "state_root": e.state_root,
        "receipts_root": e.receipts_root, "logs_bloom": e.logs_bloom, "prev_randao": e.prev_randao,
        "block_number": q(e.block_number), "gas_limit": q(e.gas_limit), "gas_used": q(e.gas_used),
        "timestamp": q(e.timestamp), "extra_data": e.extra_data, "base_fee_per_gas": e.base_fee_per_gas.to_string(),
        "block_hash": e.block_hash, "transactions_root": e.transactions_root, "withdrawals_root": e.withdrawals_root,
        "blob_gas_used": q(e.blob_gas_used.expect("deneb")), "excess_blob_gas": q(e.excess_blob_gas.expect("deneb")),
    })
}

/// A light-client header: the beacon header whose body commits to `exec`, and its JSON.
fn light_client_header(slot: u64, state_root: B256, exec: &ExecutionPayloadHeader) -> (BeaconBlockHeader, Value) {
    let body = Sparse { set: HashMap::from([(25, exec.hash_tree_root().0)]), depth: 4 };
    let beacon = BeaconBlockHeader {
        slot,
        proposer_index: 7,
        parent_root: B256::repeat_byte(0x11),
        state_root,
        body_root: B256::from(body.node(1)),
    };
    let json = json!({ "beacon": beacon_json(&beacon), "execution": execution_json(exec), "execution_branch": body.branch(25) });
    (beacon, json)
}

/// The beacon API of a synthetic chain on top of anvil. `tamper` 1 breaks the signature.
pub(crate) struct BeaconSim {
    pub url: String,
    pub checkpoint: B256,
    pub head_number: u64,
}

pub(crate) async fn beacon_sim(anvil: &Anvil, tamper: Arc<AtomicU8>) -> BeaconSim {
    beacon_sim_signed_by(anvil, tamper, 512).await
}

/// As [`beacon_sim`], with the attested header signed by the first `signers` members only.
async fn beacon_sim_signed_by(anvil: &Anvil, tamper: Arc<AtomicU8>, signers: usize) -> BeaconSim {
    let direct = Rpc::new(&anvil.url());
    let finalized_block = direct.result("eth_getBlockByNumber", json!(["0x1", false])).await;
    let head_block = direct.result("eth_getBlockByNumber", json!(["latest", false])).await;
    let (fin_exec, head_exec) = (payload(&finalized_block), payload(&head_block));

    // The committee: 512 real BLS keys.
    let keys: Vec<SecretKey> = (0..512u32)
        .map(|i| SecretKey::key_gen(&[&i.to_le_bytes()[..], &[7u8; 28]].concat(), &[]).expect("key"))
        .collect();
    let pubkeys: Vec<FixedBytes<48>> = keys.iter().map(|k| FixedBytes::from(k.sk_to_pk().compress())).collect();
    let refs: Vec<_> = keys.iter().map(|k| k.sk_to_pk()).collect();
    let agg = blst::min_pk::AggregatePublicKey::aggregate(&refs.iter().collect::<Vec<_>>(), false).expect("aggregate");
    let committee = SyncCommittee { pubkeys, aggregate_pubkey: FixedBytes::from(agg.to_public_key().compress()) };
    let committee_root = committee.hash_tree_root();

    // Slots of now on mainnet, all within one committee period.
    let spec = Network::Mainnet.spec();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let mut signature_slot = (now - Network::Mainnet.genesis_time()) / 12;
    let per_period = Preset::MAINNET.slots_per_epoch * Preset::MAINNET.epochs_per_sync_committee_period;
    if signature_slot % per_period < 8 {
        signature_slot -= signature_slot % per_period + 1;
    }
    let (attested_slot, finalized_slot) = (signature_slot - 1, signature_slot - 6);

    // The finalized (bootstrap) header: its state holds the current committee (Electra+ gindex 86).
    let fin_state = Sparse { set: HashMap::from([(86, committee_root.0)]), depth: 7 };
    let (fin_beacon, fin_json) = light_client_header(finalized_slot, B256::from(fin_state.node(1)), &fin_exec);
    let checkpoint = fin_beacon.hash_tree_root();
    // The attested header: its state holds the committee and the finalized root (gindex 169).
    let att_state = Sparse { set: HashMap::from([(86, committee_root.0), (169, checkpoint.0)]), depth: 7 };
    let (att_beacon, att_json) = light_client_header(attested_slot, B256::from(att_state.node(1)), &head_exec);

    let fork_version = spec.fork_version((signature_slot - 1) / 32);
    let msg = signing_root(att_beacon.hash_tree_root(), fork_version, spec.genesis_validators_root);
    let sigs: Vec<_> = keys.iter().take(signers).map(|k| k.sign(msg.as_slice(), DST, &[])).collect();
    let signature =
        AggregateSignature::aggregate(&sigs.iter().collect::<Vec<_>>(), false).expect("aggregate").to_signature();
    let mut sig_bytes = signature.compress().to_vec();

    let bootstrap = json!({ "version": "fulu", "data": {
        "header": fin_json,
        "current_sync_committee": { "pubkeys": committee.pubkeys, "aggregate_pubkey": committee.aggregate_pubkey },
        "current_sync_committee_branch": fin_state.branch(86),
    }})
    .to_string();
    let mut bits = vec![0u8; 64];
    for i in 0..signers {
        bits[i / 8] |= 1 << (i % 8);
    }
    let bits = Bytes::from(bits);
    let aggregate =
        |sig: &[u8]| json!({ "sync_committee_bits": bits, "sync_committee_signature": Bytes::copy_from_slice(sig) });
    let finality = |sig: &[u8]| {
        json!({ "version": "fulu", "data": { "attested_header": att_json, "finalized_header": fin_json,
            "finality_branch": att_state.branch(169), "sync_aggregate": aggregate(sig), "signature_slot": q(signature_slot) }})
        .to_string()
    };
    let optimistic = |sig: &[u8]| {
        json!({ "version": "fulu", "data": { "attested_header": att_json, "sync_aggregate": aggregate(sig),
            "signature_slot": q(signature_slot) }})
        .to_string()
    };
    let honest = (finality(&sig_bytes), optimistic(&sig_bytes));
    sig_bytes[40] ^= 1;
    let forged = (finality(&sig_bytes), optimistic(&sig_bytes));

    let boot_path = format!("/eth/v1/beacon/light_client/bootstrap/{checkpoint}");
    let url = serve_get(move |path| {
        let (fin, opt) = if tamper.load(Ordering::SeqCst) == 1 { &forged } else { &honest };
        if path == boot_path {
            Some(bootstrap.clone())
        } else if path.starts_with("/eth/v1/beacon/light_client/updates") {
            Some("[]".to_owned())
        } else if path == "/eth/v1/beacon/light_client/finality_update" {
            Some(fin.clone())
        } else if path == "/eth/v1/beacon/light_client/optimistic_update" {
            Some(opt.clone())
        } else {
            None
        }
    });
    BeaconSim { url, checkpoint, head_number: head_exec.block_number }
}

/// anvil as chain 1 (so the mainnet light client accepts it) with a few blocks.
pub(crate) async fn anvil_as_mainnet() -> Anvil {
    let anvil = Anvil::start_with(&["--chain-id", "1"]);
    let direct = Rpc::new(&anvil.url());
    for value in ["0x1", "0x2"] {
        let h = direct.result("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR2, "value": value }])).await;
        receipt(&direct, &h).await;
    }
    anvil
}

pub(crate) fn verified_args<'a>(sim: &'a BeaconSim, checkpoint: &'a str) -> Vec<&'a str> {
    vec!["--verify", "verified", "--network", "mainnet", "--consensus-rpc", &sim.url, "--checkpoint", checkpoint]
}

#[tokio::test(flavor = "multi_thread")]
async fn the_light_client_verifies_anvil_and_reads_are_proven() {
    let anvil = anvil_as_mainnet().await;
    let sim = beacon_sim(&anvil, Arc::new(AtomicU8::new(0))).await;
    let checkpoint = sim.checkpoint.to_string();
    let airlock = Airlock::start(&anvil.url(), &verified_args(&sim, &checkpoint));
    let (direct, through) = (Rpc::new(&anvil.url()), Rpc::new(&airlock.rpc));

    assert_eq!(hex_u64(&through.result("eth_blockNumber", json!([])).await), sim.head_number, "the signed head");
    // The upstream moves on, but no committee signed that block: Airlock stays at the signed head.
    direct.result("evm_mine", json!([])).await;
    assert_eq!(hex_u64(&direct.result("eth_blockNumber", json!([])).await), sim.head_number + 1);
    assert_eq!(
        hex_u64(&through.result("eth_blockNumber", json!([])).await),
        sim.head_number,
        "only signed heads count"
    );
    for params in [json!([ADDR0, "latest"]), json!([ADDR2, "latest"])] {
        assert_eq!(through.call("eth_getBalance", params.clone()).await, direct.call("eth_getBalance", params).await);
    }
    assert_eq!(
        through.call("eth_getTransactionCount", json!([ADDR0, "latest"])).await,
        direct.call("eth_getTransactionCount", json!([ADDR0, "latest"])).await
    );
    // eth_call and eth_estimateGas run in revm on state proven at the signed head: the node's
    // answers at that block.
    let at_head = format!("0x{:x}", sim.head_number);
    for method in ["eth_call", "eth_estimateGas"] {
        let call = json!({ "from": ADDR0, "to": ADDR1, "value": "0x3" });
        assert_eq!(
            through.call(method, json!([call, "latest"])).await["result"],
            direct.call(method, json!([call, at_head])).await["result"],
            "{method}"
        );
    }

    // A held send records the verified head it was checked against, and what it would do there.
    let rpc = through.clone();
    let send = tokio::spawn(async move {
        rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x3" }])).await
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["verification"]["mode"], "verified");
    assert_eq!(item["verification"]["status"], "verified");
    assert_eq!(item["verification"]["block_number"], sim.head_number);
    assert_eq!(item["report"]["block"]["number"], sim.head_number, "{item}");
    assert_eq!(item["report"]["outcome"]["status"], "success");
    assert_eq!(item["report"]["transfers"][0]["amount"], "3");
    airlock.approve(item["id"].as_str().expect("id"));
    assert!(send.await.expect("join").get("result").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn altered_proofs_and_forged_signatures_are_caught() {
    let anvil = anvil_as_mainnet().await;
    let tamper_beacon = Arc::new(AtomicU8::new(0));
    let sim = beacon_sim(&anvil, tamper_beacon.clone()).await;
    let mode = Arc::new(AtomicU8::new(PROOF_BALANCE));
    let upstream = tampering_upstream(anvil.url(), mode).await;
    let checkpoint = sim.checkpoint.to_string();
    let airlock = Airlock::start(&upstream, &verified_args(&sim, &checkpoint));
    let through = Rpc::new(&airlock.rpc);
    let resp = through.call("eth_getBalance", json!([ADDR0, "latest"])).await;
    assert_eq!(resp["error"]["code"], -32090, "an altered proof: {resp}");

    // A beacon API whose committee signature is forged: no head, reads refused, items marked failed.
    tamper_beacon.store(1, Ordering::SeqCst);
    let forged = Airlock::start(&anvil.url(), &verified_args(&sim, &checkpoint));
    let rpc = Rpc::new(&forged.rpc);
    let resp = rpc.call("eth_getBalance", json!([ADDR0, "latest"])).await;
    assert_eq!(resp["error"]["code"], -32090, "{resp}");
    assert!(resp["error"]["message"].as_str().is_some_and(|m| m.contains("signature")), "{resp}");
    let send = tokio::spawn(async move {
        rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x4" }])).await
    });
    let item = forged.wait_pending(1)[0].clone();
    assert_eq!(item["verification"]["status"], "failed", "{item}");
    forged.reject(item["id"].as_str().expect("id"));
    assert_eq!(send.await.expect("join")["error"]["code"], 4001, "nothing forwarded without a decision");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_network_must_match_the_upstream() {
    let anvil = Anvil::start(); // chain 31337, not mainnet
    let sim_anvil = anvil_as_mainnet().await;
    let sim = beacon_sim(&sim_anvil, Arc::new(AtomicU8::new(0))).await;
    let checkpoint = sim.checkpoint.to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["run", "--upstream", &anvil.url(), "--listen", "127.0.0.1:0", "--prompt-listen", "127.0.0.1:0"])
        .args(verified_args(&sim, &checkpoint))
        .arg("--data-dir")
        .arg(tempfile::tempdir().expect("tempdir").path())
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("chain 31337") && stderr(&out).contains("mainnet"), "{}", stderr(&out));
}

/// On a network Airlock knows, the light client is the default: without a beacon API, `run`
/// refuses and says what to pass; with one, it verifies; elsewhere the default stays unverified.
#[tokio::test(flavor = "multi_thread")]
async fn verified_is_the_default_on_known_networks() {
    let anvil = anvil_as_mainnet().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["run", "--upstream", &anvil.url(), "--listen", "127.0.0.1:0", "--prompt-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(!out.status.success(), "no silent fallback to unverified on mainnet");
    let err = stderr(&out);
    assert!(err.contains("--consensus-rpc") && err.contains("--verify unverified"), "{err}");

    let sim = beacon_sim(&anvil, Arc::new(AtomicU8::new(0))).await;
    let checkpoint = sim.checkpoint.to_string();
    let airlock = Airlock::start(&anvil.url(), &["--consensus-rpc", &sim.url, "--checkpoint", &checkpoint]);
    let rpc = Rpc::new(&airlock.rpc);
    let send = tokio::spawn(async move {
        rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x5" }])).await
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["verification"]["mode"], "verified", "{item}");
    airlock.reject(item["id"].as_str().expect("id"));
    send.await.expect("join");
}

/// Review finding: right after a bootstrap the spec's optimistic header may rest on a single
/// signature. Airlock vouches only for heads signed by at least 2/3 of the committee: with one
/// signer, reads stay at the finalized (bootstrap) block.
#[tokio::test(flavor = "multi_thread")]
async fn one_signer_does_not_move_the_head_airlock_vouches_for() {
    let anvil = anvil_as_mainnet().await;
    let sim = beacon_sim_signed_by(&anvil, Arc::new(AtomicU8::new(0)), 1).await;
    assert!(sim.head_number > 1);
    let checkpoint = sim.checkpoint.to_string();
    let airlock = Airlock::start(&anvil.url(), &verified_args(&sim, &checkpoint));
    let through = Rpc::new(&airlock.rpc);
    assert_eq!(
        hex_u64(&through.result("eth_blockNumber", json!([])).await),
        1,
        "the bootstrap block, not the 1-signer head"
    );
}
