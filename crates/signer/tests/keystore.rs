//! The keystore: the Web3 Secret Storage spec's scrypt test vector, round trips through
//! `keys new` and `import` (key and mnemonic), a wrong password, loose permissions, a corrupt
//! file, and what the three signatures recover to.

use std::os::unix::fs::PermissionsExt;

use airlock_signer::{Keystore, Secret, SignerError};
use alloy_primitives::{Address, Signature, address, keccak256};

fn secret(s: &str) -> Secret {
    Secret::new(s.to_owned())
}

/// The PBKDF2-SHA-256 test vector of the Web3 Secret Storage Definition (password
/// "testpassword", key 7a28…fe9d).
const SPEC_PBKDF2: &str = r#"{
    "crypto" : {
        "cipher" : "aes-128-ctr",
        "cipherparams" : { "iv" : "6087dab2f9fdbbfaddc31a909735c1e6" },
        "ciphertext" : "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
        "kdf" : "pbkdf2",
        "kdfparams" : {
            "c" : 262144, "dklen" : 32, "prf" : "hmac-sha256",
            "salt" : "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd"
        },
        "mac" : "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2"
    },
    "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version" : 3
}"#;

/// The spec's scrypt vector uses r = 1 with n = 2^18, outside RFC 7914's bound (n < 2^(16·r)),
/// which the scrypt crate enforces: such a file is refused with a clear error, not opened.
const SPEC_SCRYPT_R1: &str = r#"{
    "crypto" : {
        "cipher" : "aes-128-ctr",
        "cipherparams" : { "iv" : "83dbcc02d8ccb40e466191a123791e0e" },
        "ciphertext" : "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
        "kdf" : "scrypt",
        "kdfparams" : {
            "dklen" : 32, "n" : 262144, "p" : 8, "r" : 1,
            "salt" : "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19"
        },
        "mac" : "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097"
    },
    "id" : "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version" : 3
}"#;

#[test]
fn the_spec_vector_unlocks_to_its_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The key 7a28…fe9d is the account 0x008aeeda4d805471df9b2a5b0f38a0c3bcba786b.
    let account = address!("008aeeda4d805471df9b2a5b0f38a0c3bcba786b");
    let path = dir.path().join(format!("{account:#x}.json"));
    std::fs::write(&path, SPEC_PBKDF2).expect("write");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let ks = Keystore::open(dir.path()).expect("open");
    assert_eq!(ks.list().expect("list")[0].address, account);
    let signer = ks.unlock(&secret("testpassword")).expect("the spec's password opens it");
    assert_eq!(signer.accounts(), [account]);
    // A personal_sign recovers to that account: the key inside is the spec's key.
    let sig = signer.sign_message(account, b"hello").expect("signs");
    let sig = Signature::try_from(sig.as_ref()).expect("65 bytes");
    assert_eq!(sig.recover_address_from_msg(b"hello").expect("recovers"), account);

    match ks.unlock(&secret("wrongpassword")) {
        Err(SignerError::WrongPassword { path: p }) => assert_eq!(p, path),
        other => panic!("a wrong password is refused by name: {other:?}"),
    }

    std::fs::write(&path, SPEC_SCRYPT_R1).expect("write");
    match ks.unlock(&secret("testpassword")) {
        Err(SignerError::Corrupt { why, .. }) => assert!(why.contains("RFC 7914"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn new_and_imported_keys_round_trip_with_their_permissions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = Keystore::open(&dir.path().join("keys")).expect("open");
    let mode = |p: &std::path::Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(ks.dir()), 0o700);
    let pw = secret("correct horse");
    let fresh = ks.create(&pw).expect("new");
    // anvil's first account, by its key and by its mnemonic's second index.
    let key = secret("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
    let imported = ks.import_key(&key, &pw).expect("import key");
    assert_eq!(imported, address!("f39fd6e51aad88f6f4ce6ab8827279cfffb92266"));
    let words = secret("test test test test test test test test test test test junk");
    let second = ks.import_mnemonic(&words, 1, &pw).expect("import mnemonic");
    assert_eq!(second, address!("70997970c51812dc3a010c7d01b50e0d17dc79c8"));
    assert!(matches!(ks.import_key(&key, &pw), Err(SignerError::Invalid(_))), "the same key twice");
    assert!(matches!(ks.create(&secret("")), Err(SignerError::Invalid(_))), "an empty password");

    let files = ks.list().expect("list");
    assert_eq!(files.len(), 3);
    for f in &files {
        assert_eq!(mode(&f.path), 0o600, "{}", f.path.display());
        assert!(f.warning.is_none());
        // Encrypted on disk: the key's bytes appear nowhere in the file.
        let text = std::fs::read_to_string(&f.path).expect("read");
        assert!(!text.contains("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"));
    }
    let signer = ks.unlock(&pw).expect("unlocks");
    let mut want = vec![fresh, imported, second];
    want.sort();
    assert_eq!(signer.accounts(), want);
    assert!(!format!("{signer:?}").contains("ac0974"), "Debug shows addresses only");

    // Loose permissions are said; a corrupt file is named and nothing unlocks.
    std::fs::set_permissions(&files[0].path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let listed = ks.list().expect("list");
    assert!(listed[0].warning.as_deref().is_some_and(|w| w.contains("mode 644")), "{listed:?}");
    let bad = ks.dir().join("0x1111111111111111111111111111111111111111.json");
    std::fs::write(&bad, "{\"version\": 3, \"crypto\": {\"kdf\": \"scrypt\"}}").expect("write");
    match ks.unlock(&pw) {
        Err(SignerError::Corrupt { path, .. }) => assert_eq!(path, bad),
        other => panic!("a corrupt file is refused by name: {other:?}"),
    }
    std::fs::write(&bad, "not json").expect("write");
    assert!(matches!(ks.list(), Err(SignerError::Corrupt { .. })));
}

#[test]
fn signatures_recover_to_the_managed_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ks = Keystore::open(dir.path()).expect("open");
    let pw = secret("pw");
    let from = ks
        .import_key(&secret("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"), &pw)
        .expect("import");
    let signer = ks.unlock(&pw).expect("unlock");

    let tx = alloy_consensus::TxEip1559 {
        chain_id: 31337,
        nonce: 7,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: alloy_primitives::TxKind::Call(Address::repeat_byte(0x22)),
        value: alloy_primitives::U256::from(5),
        ..Default::default()
    };
    let signed = signer.sign_transaction(from, tx.into()).expect("signs");
    use alloy_eips::eip2718::Decodable2718;
    let envelope = alloy_consensus::TxEnvelope::decode_2718(&mut signed.raw.as_ref()).expect("decodes");
    use alloy_consensus::transaction::SignerRecoverable;
    assert_eq!(envelope.recover_signer().expect("recovers"), from);
    assert_eq!(signed.hash, keccak256(&signed.raw));

    let typed = serde_json::json!({
        "types": { "EIP712Domain": [{ "name": "name", "type": "string" }], "Mail": [{ "name": "note", "type": "string" }] },
        "primaryType": "Mail", "domain": { "name": "Airlock" }, "message": { "note": "hi" }
    });
    let sig = signer.sign_typed_data(from, &typed).expect("signs");
    let data: alloy_dyn_abi::TypedData = serde_json::from_value(typed).expect("typed");
    let sig = Signature::try_from(sig.as_ref()).expect("65 bytes");
    assert_eq!(sig.recover_address_from_prehash(&data.eip712_signing_hash().expect("hash")).expect("recovers"), from);

    let other = Address::repeat_byte(9);
    assert!(matches!(signer.sign_message(other, b"x"), Err(SignerError::NotManaged(a)) if a == other));
}
