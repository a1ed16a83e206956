//! Execution-layer verification: what an upstream says about accounts, storage, code and block
//! headers, checked against a state root or block hash that is already trusted.
//!
//! Pure functions over data. The upstream's `eth_getProof` answer is untrusted input: every
//! field that is used is proven by the Merkle-Patricia proof, and everything else is refused.

use alloy_consensus::Header;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use alloy_trie::{EMPTY_ROOT_HASH, Nibbles, TrieAccount, proof::verify_proof};

/// Why something the upstream sent does not match the trusted root. Any of these is either an
/// attack or a broken node; none is retried silently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("the proof is for account {got}, not the requested {want}")]
    WrongAccount { want: Address, got: Address },
    #[error("account {address}: its proof does not verify against state root {root}: {reason}")]
    Account { address: Address, root: B256, reason: String },
    #[error("account {address}: no proof for storage slot {slot}")]
    MissingSlot { address: Address, slot: B256 },
    #[error("account {address}, slot {slot}: its proof does not verify against storage root {root}: {reason}")]
    Storage { address: Address, slot: B256, root: B256, reason: String },
    #[error("account {address}: its code hashes to {actual}, the proven code hash is {expected}")]
    Code { address: Address, expected: B256, actual: B256 },
    #[error("block {number}: its header hashes to {actual}, expected {expected}")]
    HeaderHash { number: u64, expected: B256, actual: B256 },
    #[error("block {number}: its parent hash {parent} is not the hash {expected} of block {prev}")]
    Unlinked { number: u64, parent: B256, prev: u64, expected: B256 },
}

/// An account as proven against a state root, with the storage slots that were asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAccount {
    pub address: Address,
    pub nonce: u64,
    pub balance: U256,
    pub storage_root: B256,
    pub code_hash: B256,
    /// Proven values of the requested slots (zero for slots that are absent from the trie).
    pub storage: Vec<(B256, U256)>,
}

impl VerifiedAccount {
    /// True for an account that the trie does not hold (never used, or emptied per EIP-161).
    pub fn is_empty(&self) -> bool {
        self.nonce == 0 && self.balance.is_zero() && self.code_hash == KECCAK256_EMPTY
    }

    pub fn slot(&self, slot: B256) -> Option<U256> {
        self.storage.iter().find(|(s, _)| *s == slot).map(|(_, v)| *v)
    }
}

/// Verifies an `eth_getProof` answer for `address` against `state_root`, and the proofs of the
/// `slots` the caller asked for against the proven storage root.
///
/// An account absent from the trie must come with an exclusion proof and all-empty fields; a
/// slot absent from the storage trie must come with an exclusion proof and the value zero.
pub fn verify_account(
    state_root: B256,
    address: Address,
    slots: &[B256],
    proof: &EIP1186AccountProofResponse,
) -> Result<VerifiedAccount, ProofError> {
    if proof.address != address {
        return Err(ProofError::WrongAccount { want: address, got: proof.address });
    }
    let account = TrieAccount {
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root: proof.storage_hash,
        code_hash: proof.code_hash,
    };
    // Nodes report an absent account with zero fields; some give a zero storage/code hash.
    let absent = proof.nonce == 0
        && proof.balance.is_zero()
        && matches!(proof.code_hash, KECCAK256_EMPTY | B256::ZERO)
        && matches!(proof.storage_hash, EMPTY_ROOT_HASH | B256::ZERO);
    let expected = (!absent).then(|| alloy_rlp::encode(account));
    verify_proof(state_root, Nibbles::unpack(keccak256(address)), expected, &proof.account_proof)
        .map_err(|e| ProofError::Account { address, root: state_root, reason: e.to_string() })?;

    let storage_root = if absent { EMPTY_ROOT_HASH } else { proof.storage_hash };
    let mut storage = Vec::with_capacity(slots.len());
    for &slot in slots {
        let entry = proof
            .storage_proof
            .iter()
            .find(|p| p.key.as_b256() == slot)
            .ok_or(ProofError::MissingSlot { address, slot })?;
        // A zero slot is absent from a consensus client's trie. Some devnets (anvil) keep a leaf
        // holding RLP(0) for a slot written back to zero; that proves the value zero just as well.
        let expected = alloy_rlp::encode(entry.value);
        let checked = match entry.value.is_zero() {
            false => verify_storage(storage_root, slot, Some(expected), &entry.proof),
            true => verify_storage(storage_root, slot, None, &entry.proof)
                .or_else(|absent| verify_storage(storage_root, slot, Some(expected), &entry.proof).map_err(|_| absent)),
        };
        checked.map_err(|reason| ProofError::Storage { address, slot, root: storage_root, reason })?;
        storage.push((slot, entry.value));
    }
    Ok(VerifiedAccount {
        address,
        nonce: proof.nonce,
        balance: proof.balance,
        storage_root,
        code_hash: if absent { KECCAK256_EMPTY } else { proof.code_hash },
        storage,
    })
}

fn verify_storage(root: B256, slot: B256, expected: Option<Vec<u8>>, proof: &[Bytes]) -> Result<(), String> {
    verify_proof(root, Nibbles::unpack(keccak256(slot)), expected, proof).map_err(|e| e.to_string())
}

/// Checks code from `eth_getCode` against the code hash proven for `account`.
pub fn verify_code(account: &VerifiedAccount, code: &[u8]) -> Result<(), ProofError> {
    let actual = keccak256(code);
    if actual != account.code_hash {
        return Err(ProofError::Code { address: account.address, expected: account.code_hash, actual });
    }
    Ok(())
}

/// Checks that `header` hashes to `expected` (a hash that is already trusted).
pub fn verify_header(header: &Header, expected: B256) -> Result<(), ProofError> {
    let actual = header.hash_slow();
    if actual != expected {
        return Err(ProofError::HeaderHash { number: header.number, expected, actual });
    }
    Ok(())
}

/// Checkpoint mode: `headers` are consecutive, oldest first, and the first one hashes to the
/// pinned `anchor`. Each must name the previous one's hash as its parent. Returns the hash of the
/// newest header, now trusted as much as the anchor.
pub fn verify_chain(anchor: B256, headers: &[Header]) -> Result<B256, ProofError> {
    let Some(first) = headers.first() else { return Ok(anchor) };
    verify_header(first, anchor)?;
    let mut prev = (first.number, anchor);
    for h in &headers[1..] {
        if h.parent_hash != prev.1 || h.number != prev.0 + 1 {
            return Err(ProofError::Unlinked {
                number: h.number,
                parent: h.parent_hash,
                prev: prev.0,
                expected: prev.1,
            });
        }
        prev = (h.number, h.hash_slow());
    }
    Ok(prev.1)
}
