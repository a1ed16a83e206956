//! What signing adds to an approval, and what unlocking costs at start.
//! - signing an EIP-1559 transfer, a personal_sign message and EIP-712 typed data (mean of
//!   2,000 each);
//! - unlocking: a keystore file as `airlock keys new` writes it (eth-keystore's parameters:
//!   scrypt n = 2^13, r = 8, p = 1), and the scrypt derivation a file with geth's standard
//!   parameters (n = 2^18, r = 8, p = 1) costs, which is all its unlock adds.
//!
//! Run: `cargo bench -p airlock-signer --bench sign`.

use std::time::Instant;

use airlock_signer::{Keystore, Secret};
use alloy_primitives::{Address, TxKind, U256};

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = Keystore::open(dir.path()).expect("open");
    let pw = Secret::new("bench password".into());
    let from = ks.create(&pw).expect("new");
    let t = Instant::now();
    let signer = ks.unlock(&pw).expect("unlock");
    let unlock_ms = t.elapsed().as_secs_f64() * 1e3;

    let n = 2000;
    let tx = |nonce: u64| alloy_consensus::TxEip1559 {
        chain_id: 1,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 30_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(Address::repeat_byte(0x22)),
        value: U256::from(1),
        ..Default::default()
    };
    let t = Instant::now();
    for i in 0..n {
        std::hint::black_box(signer.sign_transaction(from, tx(i).into()).expect("signs"));
    }
    let tx_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(signer.sign_message(from, b"hello from the bench").expect("signs"));
    }
    let msg_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    let typed = serde_json::json!({
        "types": { "EIP712Domain": [{ "name": "name", "type": "string" }], "Mail": [{ "name": "note", "type": "string" }] },
        "primaryType": "Mail", "domain": { "name": "Airlock" }, "message": { "note": "hi" }
    });
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(signer.sign_typed_data(from, &typed).expect("signs"));
    }
    let typed_us = t.elapsed().as_secs_f64() * 1e6 / n as f64;

    let standard = scrypt::Params::new(18, 8, 1).expect("params");
    let mut key = [0u8; 32];
    let t = Instant::now();
    scrypt::scrypt(b"bench password", &[7u8; 32], &standard, &mut key).expect("scrypt");
    let standard_ms = t.elapsed().as_secs_f64() * 1e3;

    println!(
        "\nSigning (mean of {n}), µs: transaction {tx_us:.1}, personal_sign {msg_us:.1}, typed data {typed_us:.1}"
    );
    println!(
        "Unlocking one key: as `airlock keys new` writes it {unlock_ms:.0} ms; geth's standard scrypt (n = 2^18, r = 8, p = 1) {standard_ms:.0} ms"
    );
}
