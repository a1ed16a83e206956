//! airlock-fuzz: the bodies of the fuzz targets. Each takes arbitrary bytes, feeds them to a
//! decoder that reads what a client or the upstream sent, and checks what must hold whatever
//! came in: no panic, and for the router, that no spelling of a send is ever forwarded.
//!
//! Two drivers call them: cargo-fuzz (`tests/fuzz`, nightly, libFuzzer) and, on stable Rust, the
//! crate's corpus test, which replays `tests/fuzz/corpus/<target>/` and then mutates it for a
//! bounded time (`AIRLOCK_FUZZ_SECS`). What either finds becomes a named test in
//! `tests/regressions.rs`.
//!
//! Dependencies: hold (held-request decoding and routing), sim (calldata, typed data), verify
//! (light-client JSON and SSZ, account proofs), wire (envelopes, upstream answers).

pub mod mutate;

use airlock_hold::decode::{self, Kind, Route};
use airlock_verify::consensus::{Bootstrap, Fork, Preset, Update, json};
use airlock_wire::envelope::{self, Message};
use alloy_primitives::{Address, B256, b256};
use serde_json::value::RawValue;

/// Inputs are cut to this many bytes: every reader ahead of these decoders bounds its input.
pub const MAX_INPUT: usize = 1 << 20;

/// A target: arbitrary bytes in, a panic on what must not happen.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus folder and cargo-fuzz binary have.
pub const TARGETS: &[(&str, Target)] = &[
    ("raw_tx", raw_tx),
    ("tx_object", tx_object),
    ("typed_data", typed_data),
    ("calldata", calldata),
    ("light_client_json", light_client_json),
    ("light_client_ssz", light_client_ssz),
    ("account_proof", account_proof),
    ("rpc_body", rpc_body),
    ("upstream_answer", upstream_answer),
];

const SENDER: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

fn cut(data: &[u8]) -> &[u8] {
    &data[..data.len().min(MAX_INPUT)]
}

fn params(v: serde_json::Value) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(&v).ok()
}

/// `eth_sendRawTransaction`: the bytes as a signed transaction, directly and as the hex param.
pub fn raw_tx(data: &[u8]) {
    let data = cut(data);
    let direct = decode::decode_raw_tx(data);
    let hex = format!("0x{}", alloy_primitives::hex::encode(data));
    let parsed = decode::parse(Kind::RawTx, "eth_sendRawTransaction", params(serde_json::json!([hex])).as_deref());
    assert_eq!(direct.is_ok(), parsed.is_ok(), "the param decodes as the bytes do");
    if let Ok(req) = parsed {
        let tx = req.tx.expect("a decoded signed transaction has its view");
        assert!(tx.signed && tx.from.is_some() && tx.hash.is_some(), "signed, with a sender and a hash");
    }
}

/// `eth_sendTransaction` and `wallet_sendCalls` objects: the bytes as JSON text.
pub fn tx_object(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(cut(data)) else { return };
    let Ok(raw) = RawValue::from_string(format!("[{text}]")) else { return };
    let _ = decode::parse(Kind::TxObject, "eth_sendTransaction", Some(&raw));
    let _ = decode::parse(Kind::SendCalls, "wallet_sendCalls", Some(&raw));
}

/// `eth_signTypedData_v4` (the bytes as the JSON object and as a string of it) and v1, and what
/// a signature would grant.
pub fn typed_data(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(cut(data)) else { return };
    let mut tries = vec![params(serde_json::json!([SENDER, text]))];
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        tries.push(params(serde_json::json!([SENDER, v.clone()])));
        let v1 =
            decode::parse(Kind::TypedDataV1, "eth_signTypedData", params(serde_json::json!([v, SENDER])).as_deref());
        if let Some(sign) = v1.ok().and_then(|r| r.sign) {
            let _ = airlock_sim::typed::describe(&sign);
        }
    }
    for p in tries.into_iter().flatten() {
        if let Some(sign) = decode::parse(Kind::TypedData, "eth_signTypedData_v4", Some(&p)).ok().and_then(|r| r.sign) {
            let _ = airlock_sim::typed::describe(&sign);
        }
    }
}

/// Calldata as a named call (to a known router and to an unknown address), and revert data.
pub fn calldata(data: &[u8]) {
    let data = cut(data);
    let router: Address = "0x3fc91a3afd70395cd496c647d5a6cc9d4b2b7fad".parse().expect("address");
    let _ = airlock_sim::calldata::decode(Some(router), data);
    let _ = airlock_sim::calldata::decode(None, data);
    let _ = airlock_sim::calldata::describe_error(data);
    let _ = airlock_sim::describe_revert(data);
}

/// The beacon API's light-client JSON: bootstrap, update, a list of updates.
pub fn light_client_json(data: &[u8]) {
    let data = cut(data);
    for preset in [Preset::MAINNET, Preset::MINIMAL] {
        let _ = json::bootstrap(data, preset);
        let _ = json::update(data, preset);
        let _ = json::updates(data, preset);
    }
}

/// The light-client objects in SSZ, for each fork and preset.
pub fn light_client_ssz(data: &[u8]) {
    let data = cut(data);
    for fork in [Fork::Capella, Fork::Deneb, Fork::Electra, Fork::Fulu] {
        for preset in [Preset::MAINNET, Preset::MINIMAL] {
            let _ = Bootstrap::decode(data, fork, preset);
            let _ = Update::decode(data, fork, preset);
        }
    }
}

/// The state root of the block `testdata/anvil-proofs` was recorded at.
const ANVIL_STATE_ROOT: B256 = b256!("0x3c87c88e7394b1f622de0123d3017cb45eac8d28805805c2f97d946b4308099d");

/// An `eth_getProof` answer, checked against a real state root: a proof that does not verify is
/// an error, never a panic.
pub fn account_proof(data: &[u8]) {
    let Ok(proof) = serde_json::from_slice::<alloy_rpc_types_eth::EIP1186AccountProofResponse>(cut(data)) else {
        return;
    };
    let slots: Vec<B256> = proof.storage_proof.iter().map(|s| s.key.as_b256()).collect();
    let _ = airlock_verify::verify_account(ANVIL_STATE_ROOT, proof.address, &slots, &proof);
}

/// The stems of method names that send or sign (the issue's spellings). Written out here, not
/// taken from the router: an oracle that read the router's own list would check nothing.
const STEMS: &[&str] = &[
    "sendrawtransaction",
    "sendtransaction",
    "signtransaction",
    "signtypeddata",
    "personalsign",
    "sendcalls",
    "bundle",
];

/// A request body as the edge reads it: envelopes, then each method's route. What must hold: a
/// method forwarded as it stands is plain, and no normalisation of it names a send or signature.
pub fn rpc_body(data: &[u8]) {
    let Ok(message) = envelope::parse(cut(data), &airlock_wire::Limits::default()) else { return };
    let calls: Vec<&envelope::Call<'_>> = match &message {
        Message::Single(e) => e.iter().collect(),
        Message::Batch(es) => es.iter().flatten().collect(),
    };
    for call in calls {
        let method = call.method.as_ref();
        if decode::route(method) == Route::Forward {
            let sk = airlock_wire::method::skeleton(method);
            assert!(airlock_wire::method::is_plain(method.trim()), "forwarded, but not plain: {method:?}");
            assert!(!STEMS.iter().any(|s| sk.contains(s)), "forwarded, but it names a send: {method:?}");
        }
    }
}

/// An upstream's answer to a batch of three reads (ids 1, "a", null) and to one call: accepted
/// only as JSON-RPC answers to those ids, never a panic.
pub fn upstream_answer(data: &[u8]) {
    let data = cut(data);
    let limits = airlock_wire::Limits::default();
    let batch = br#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},{"jsonrpc":"2.0","id":"a","method":"eth_blockNumber"},{"jsonrpc":"2.0","id":null,"method":"net_version"}]"#;
    let single = br#"{"jsonrpc":"2.0","id":7,"method":"eth_chainId"}"#;
    for asked in [&batch[..], &single[..]] {
        let m = envelope::parse(asked, &limits).expect("a valid request");
        let _ = envelope::check_answer(data, &m);
    }
}
