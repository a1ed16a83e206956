//! The unlocked keys, and the three things they sign.

use alloy_consensus::{SignableTransaction, TxEnvelope, TypedTransaction};
use alloy_dyn_abi::TypedData;
use alloy_primitives::{Address, B256, Bytes};
use alloy_signer::SignerSync;
use alloy_signer_local::PrivateKeySigner;

use crate::SignerError;

/// The accounts Airlock manages, unlocked.
pub struct Signer {
    keys: Vec<PrivateKeySigner>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("accounts", &self.accounts()).finish()
    }
}

/// A signed transaction: its raw bytes (for `eth_sendRawTransaction`) and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedTx {
    pub raw: Bytes,
    pub hash: B256,
}

impl Signer {
    pub(crate) fn new(keys: Vec<PrivateKeySigner>) -> Signer {
        Signer { keys }
    }

    /// No managed accounts: every request behaves as without a keystore.
    pub fn none() -> Signer {
        Signer { keys: vec![] }
    }

    pub fn accounts(&self) -> Vec<Address> {
        self.keys.iter().map(|k| k.address()).collect()
    }

    pub fn manages(&self, address: Address) -> bool {
        self.keys.iter().any(|k| k.address() == address)
    }

    fn key(&self, from: Address) -> Result<&PrivateKeySigner, SignerError> {
        self.keys.iter().find(|k| k.address() == from).ok_or(SignerError::NotManaged(from))
    }

    /// Signs a complete transaction (nonce, gas, fees and chain id filled in) from `from`.
    pub fn sign_transaction(&self, from: Address, tx: TypedTransaction) -> Result<SignedTx, SignerError> {
        let key = self.key(from)?;
        let signature = key.sign_hash_sync(&tx.signature_hash()).map_err(|e| SignerError::Sign(e.to_string()))?;
        let envelope = TxEnvelope::from(tx.into_signed(signature));
        let raw = alloy_eips_encode(&envelope);
        Ok(SignedTx { hash: *envelope.tx_hash(), raw })
    }

    /// `personal_sign`: the EIP-191 signature of `message`, 65 bytes.
    pub fn sign_message(&self, from: Address, message: &[u8]) -> Result<Bytes, SignerError> {
        let sig = self.key(from)?.sign_message_sync(message).map_err(|e| SignerError::Sign(e.to_string()))?;
        Ok(Bytes::from(sig.as_bytes().to_vec()))
    }

    /// `eth_signTypedData_v4`: the EIP-712 signature of `typed` (its JSON), 65 bytes.
    pub fn sign_typed_data(&self, from: Address, typed: &serde_json::Value) -> Result<Bytes, SignerError> {
        let data: TypedData = serde_json::from_value(typed.clone())
            .map_err(|e| SignerError::Invalid(format!("not EIP-712 typed data: {e}")))?;
        let hash = data.eip712_signing_hash().map_err(|e| SignerError::Invalid(format!("typed data: {e}")))?;
        let sig = self.key(from)?.sign_hash_sync(&hash).map_err(|e| SignerError::Sign(e.to_string()))?;
        Ok(Bytes::from(sig.as_bytes().to_vec()))
    }
}

fn alloy_eips_encode(envelope: &TxEnvelope) -> Bytes {
    use alloy_eips::eip2718::Encodable2718;
    Bytes::from(envelope.encoded_2718())
}
