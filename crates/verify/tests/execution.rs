//! Execution proofs on real data: mainnet block 21925176 (from a16z/helios' test data) and a
//! recording of anvil (testdata/anvil-proofs/record.sh), and every kind of tampering refused.

use std::path::PathBuf;

use airlock_verify::{ProofError, verify_account, verify_chain, verify_code, verify_header};
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, U256, address, b256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use serde::de::DeserializeOwned;

fn load<T: DeserializeOwned>(path: &str) -> T {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(path);
    let bytes = std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn header(path: &str) -> (Header, B256) {
    let h: alloy_rpc_types_eth::Header = load(path);
    (h.inner, h.hash)
}

const DEPOSIT: Address = address!("0x00000000219ab540356cbb839cbe05303d7705fa");
const SLOT1: B256 = b256!("0x0000000000000000000000000000000000000000000000000000000000000001");

fn mainnet() -> (B256, EIP1186AccountProofResponse) {
    let (h, hash) = header("mainnet-21925176/block.json");
    verify_header(&h, hash).expect("the block's header hashes to its hash");
    (h.state_root, load("mainnet-21925176/proof.json"))
}

#[test]
fn mainnet_contract_and_storage_verify() {
    let (root, proof) = mainnet();
    assert_eq!(root, b256!("0x7b3d5a01f69b7d2ea7479fd7ae35f4bac2700ab6d6d7b4807a7fedf53ced710e"));
    let acc = verify_account(root, DEPOSIT, &[SLOT1], &proof).expect("verifies");
    assert_eq!(acc.nonce, 1);
    assert!(!acc.is_empty());
    assert_eq!(
        acc.slot(SLOT1),
        Some(U256::from_be_bytes(b256!("0x2394e3bc4086a9625ae88307145a40ff4a4bf2c9a6755435bff86b22d6175d5f").0))
    );
    // The code from the same block matches the proven code hash.
    let account: serde_json::Value = load("mainnet-21925176/account.json");
    let code: Bytes = serde_json::from_value(account["code"].clone()).expect("code hex");
    verify_code(&acc, &code).expect("code matches");
}

#[test]
fn mainnet_eoa_verifies() {
    let (root, _) = mainnet();
    let proof: EIP1186AccountProofResponse = load("mainnet-21925176/block_miner_proof.json");
    let acc = verify_account(root, proof.address, &[], &proof).expect("verifies");
    assert!(acc.balance > U256::ZERO);
    verify_code(&acc, &[]).expect("an EOA has empty code");
}

fn anvil() -> B256 {
    let (h, hash) = header("anvil-proofs/block.json");
    verify_header(&h, hash).expect("anvil's header hashes to its hash");
    h.state_root
}

#[test]
fn anvil_inclusion_and_exclusion_verify() {
    let root = anvil();
    let eoa: EIP1186AccountProofResponse = load("anvil-proofs/eoa.json");
    let acc = verify_account(root, eoa.address, &[], &eoa).expect("funded EOA");
    assert_eq!(acc.nonce, 1, "it deployed the token");

    let absent: EIP1186AccountProofResponse = load("anvil-proofs/absent.json");
    let slot2 = B256::with_last_byte(2);
    let acc = verify_account(root, absent.address, &[slot2], &absent).expect("exclusion proof");
    assert!(acc.is_empty());
    assert_eq!(acc.slot(slot2), Some(U256::ZERO));

    let token: EIP1186AccountProofResponse = load("anvil-proofs/token.json");
    let (set, unset) = (B256::with_last_byte(2), B256::with_last_byte(7));
    let acc = verify_account(root, token.address, &[set, unset], &token).expect("contract");
    assert_eq!(acc.slot(set), Some(U256::from(1_000_000u64)), "totalSupply");
    assert_eq!(acc.slot(unset), Some(U256::ZERO), "storage exclusion proof");
    let code: Bytes = load("anvil-proofs/token_code.json");
    verify_code(&acc, &code).expect("code matches");
}

/// Each kind of lie an upstream could tell, and the error it gets.
#[test]
fn tampering_is_refused() {
    let (root, good) = mainnet();
    let check = |p: &EIP1186AccountProofResponse| verify_account(root, DEPOSIT, &[SLOT1], p);
    let is_account = |r: Result<_, ProofError>| matches!(r, Err(ProofError::Account { .. }));
    let is_storage = |r: Result<_, ProofError>| matches!(r, Err(ProofError::Storage { .. }));

    let mut p = good.clone();
    let mut node = p.account_proof[3].to_vec();
    node[40] ^= 1;
    p.account_proof[3] = node.into();
    assert!(is_account(check(&p)), "a flipped bit in an account proof node");

    let mut p = good.clone();
    p.balance += U256::from(1u64);
    assert!(is_account(check(&p)), "a balance one wei higher");

    let mut p = good.clone();
    p.code_hash = B256::repeat_byte(7);
    assert!(is_account(check(&p)), "another code hash");

    let mut p = good.clone();
    (p.nonce, p.balance, p.code_hash, p.storage_hash) = (0, U256::ZERO, B256::ZERO, B256::ZERO);
    assert!(is_account(check(&p)), "claiming an existing account does not exist");

    let mut p = good.clone();
    p.storage_proof[0].value += U256::from(1u64);
    assert!(is_storage(check(&p)), "a storage value changed");

    let mut p = good.clone();
    p.storage_proof[0].value = U256::ZERO;
    assert!(is_storage(check(&p)), "claiming a set slot is empty");

    let mut p = good.clone();
    let mut node = p.storage_proof[0].proof[1].to_vec();
    node[10] ^= 0x80;
    p.storage_proof[0].proof[1] = node.into();
    assert!(is_storage(check(&p)), "a flipped bit in a storage proof node");

    assert!(is_account(verify_account(B256::repeat_byte(1), DEPOSIT, &[SLOT1], &good)), "another state root");
    assert!(matches!(verify_account(root, Address::repeat_byte(1), &[], &good), Err(ProofError::WrongAccount { .. })));
    assert!(matches!(
        verify_account(root, DEPOSIT, &[B256::repeat_byte(9)], &good),
        Err(ProofError::MissingSlot { .. })
    ));

    let acc = verify_account(root, DEPOSIT, &[], &good).expect("good proof");
    let account: serde_json::Value = load("mainnet-21925176/account.json");
    let mut code: Vec<u8> = serde_json::from_value::<Bytes>(account["code"].clone()).expect("hex").to_vec();
    code[100] ^= 1;
    assert!(matches!(verify_code(&acc, &code), Err(ProofError::Code { .. })), "a flipped code byte");
}

#[test]
fn headers_are_checked_by_hash_and_by_link() {
    let (h, hash) = header("mainnet-21925176/block.json");
    let mut forged = h.clone();
    forged.state_root = B256::repeat_byte(1);
    assert!(matches!(verify_header(&forged, hash), Err(ProofError::HeaderHash { .. })), "a forged state root");

    // Checkpoint mode: children link back to the pinned block by parent hash.
    let child = Header { parent_hash: hash, number: h.number + 1, ..h.clone() };
    let grandchild = Header { parent_hash: child.hash_slow(), number: h.number + 2, ..h.clone() };
    let tip = verify_chain(hash, &[h.clone(), child.clone(), grandchild.clone()]).expect("linked");
    assert_eq!(tip, grandchild.hash_slow());

    let stranger = Header { parent_hash: B256::repeat_byte(3), number: h.number + 2, ..h.clone() };
    assert!(matches!(verify_chain(hash, &[h.clone(), child.clone(), stranger]), Err(ProofError::Unlinked { .. })));
    assert!(
        matches!(verify_chain(B256::repeat_byte(5), &[h, child]), Err(ProofError::HeaderHash { .. })),
        "wrong anchor"
    );
}
