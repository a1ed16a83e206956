//! Property tests of the held-request decoders: any params get a decoded request or an input
//! error, never a panic. Signed transactions are mutated from a real one (byte flips,
//! truncations, insertions), so the decoder is exercised past its first byte.

use airlock_hold::decode::{self, Kind};
use proptest::prelude::*;
use serde_json::value::RawValue;

/// A signed EIP-1559 transfer on chain 31337 (anvil's first key).
const RAW: &str = "02f870827a69800184773594018252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c001a0a243aa6e2c9c556166678a51151b1b1337f21443dc655f146d58187c2fdbd80ea03df633138a48495a65e6230e1029da2340be19fb5e8f7f5031601e4ea8e6778c";

fn seed() -> Vec<u8> {
    (0..RAW.len()).step_by(2).map(|i| u8::from_str_radix(&RAW[i..i + 2], 16).expect("hex")).collect()
}

fn params(v: serde_json::Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(&v).expect("raw")
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, u8),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(
        prop_oneof![
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
            any::<usize>().prop_map(Edit::Cut),
            (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        ],
        1..6,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_signed_transactions_decode_or_are_refused(edits in edits()) {
        let mut bytes = seed();
        for e in edits {
            let n = bytes.len().max(1);
            match e {
                Edit::Flip(i, b) => { if !bytes.is_empty() { bytes[i % n] ^= b; } }
                Edit::Cut(i) => bytes.truncate(i % n),
                Edit::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            }
        }
        let _ = decode::decode_raw_tx(&bytes);
        let hex = format!("0x{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let _ = decode::parse(Kind::RawTx, "eth_sendRawTransaction", Some(&params(serde_json::json!([hex]))));
    }

    #[test]
    fn arbitrary_bytes_as_a_signed_transaction(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decode::decode_raw_tx(&bytes);
    }

    /// Transaction objects with fields of any JSON kind.
    #[test]
    fn transaction_objects_of_any_shape(
        to in prop_oneof![Just(serde_json::json!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8")), any::<i64>().prop_map(|n| serde_json::json!(n)), "[ -~]{0,50}".prop_map(|s| serde_json::json!(s))],
        value in prop_oneof![Just(serde_json::json!("0x1")), "0x[0-9a-fA-F]{0,70}".prop_map(|s| serde_json::json!(s)), any::<f64>().prop_map(|n| serde_json::json!(n))],
        chain in prop_oneof![Just(serde_json::Value::Null), "0x[0-9a-f]{0,20}".prop_map(|s| serde_json::json!(s))],
        data in "0x[0-9a-f]{0,80}",
    ) {
        let tx = serde_json::json!([{ "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "to": to, "value": value, "chainId": chain, "data": data }]);
        let _ = decode::parse(Kind::TxObject, "eth_sendTransaction", Some(&params(tx)));
    }

    /// Typed data built from random pieces: names, types and values.
    #[test]
    fn typed_data_of_any_shape(
        ty in "(uint256|address|bytes32|string|bool|T|T\\[\\]|uint8\\[2\\]|[a-z]{1,8})",
        value in prop_oneof![Just(serde_json::json!("0x01")), any::<i64>().prop_map(|n| serde_json::json!(n)), Just(serde_json::json!({"a": 1})), Just(serde_json::json!([1, 2]))],
        chain in prop_oneof![Just(serde_json::json!(31337)), Just(serde_json::json!("0x7a69")), any::<i64>().prop_map(|n| serde_json::json!(n))],
    ) {
        let typed = serde_json::json!({
            "types": { "EIP712Domain": [{ "name": "chainId", "type": "uint256" }], "T": [{ "name": "a", "type": ty }] },
            "primaryType": "T",
            "domain": { "chainId": chain },
            "message": { "a": value },
        });
        let p = serde_json::json!(["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", typed]);
        let _ = decode::parse(Kind::TypedData, "eth_signTypedData_v4", Some(&params(p)));
        let as_text = serde_json::json!(["0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", typed.to_string()]);
        let _ = decode::parse(Kind::TypedData, "eth_signTypedData_v4", Some(&params(as_text)));
    }

    /// Method names of any characters: routed without a panic, and a name that is not plain
    /// ASCII is never forwarded.
    #[test]
    fn any_method_name_is_routed(name in "\\PC{0,40}") {
        let route = decode::route(&name);
        if !airlock_wire::method::is_plain(name.trim()) && !name.trim().is_empty() {
            prop_assert_ne!(route, decode::Route::Forward);
        }
    }
}
