//! airlock-types: the fact model Airlock reasons over and the traits at its seams.
//!
//! Nothing here does I/O. The proxy creates [`Item`]s, the store persists them, the control API
//! and the CLI show them, and every one of those agrees on these types, so the JSON written by
//! `airlock pending --json` is exactly the serde form of [`Item`].

use std::future::Future;

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

mod intel;
mod report;
mod time;
pub use intel::*;
pub use report::*;
pub use time::Timestamp;

/// Short id a person types on the command line (`airlock approve 3f9a1c2e`).
pub type ItemId = String;

/// Where a held request stands. Every status but `Pending` and `Approved` is final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for the person's decision.
    Pending,
    /// The person approved; Airlock is forwarding it now.
    Approved,
    /// Approved and handed to the upstream, which accepted it (see `result`).
    Forwarded,
    /// Approved, but the upstream refused it or could not be reached (see `error`).
    ForwardFailed,
    /// The person rejected it; the client got error 4001.
    Rejected,
    /// Nobody decided within the decision timeout; nothing was forwarded.
    Expired,
    /// Airlock stopped while the item was open; it is never forwarded later.
    Abandoned,
}

impl Status {
    /// True while a decision can still change the item.
    pub fn is_open(self) -> bool {
        matches!(self, Status::Pending | Status::Approved)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Forwarded => "forwarded",
            Status::ForwardFailed => "forward_failed",
            Status::Rejected => "rejected",
            Status::Expired => "expired",
            Status::Abandoned => "abandoned",
        }
    }
}

/// One held request and everything that happened to it: the unit of the audit log.
///
/// This is a stable interface (`airlock pending --json`, `airlock history --json`, the control
/// API). Fields are only ever added.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub id: ItemId,
    /// The JSON-RPC method as the client sent it.
    pub method: String,
    pub status: Status,
    pub received_at: Timestamp,
    /// When the item stops waiting for a decision and expires.
    pub expires_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    /// False once every client waiting on this item has gone away (disconnected or gave up).
    /// The item stays decidable; a forward then happens with nobody waiting for the answer.
    pub client_connected: bool,
    /// How many identical retries joined this item instead of creating a new one.
    pub joined: u32,
    /// The transaction, for methods that carry one (raw, unsigned, or a batch's sender).
    pub tx: Option<TxView>,
    /// The calls of a `wallet_sendCalls` batch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<CallView>,
    /// The message, for signature requests.
    pub sign: Option<SignView>,
    /// The params exactly as received; forwarded verbatim on approval.
    pub params: Box<RawValue>,
    /// What the state behind this item was checked against, when it was held.
    #[serde(default)]
    pub verification: Option<Verification>,
    /// What the request would do, simulated on the state in `verification`; none when it could
    /// not be simulated (see `simulation_error`).
    #[serde(default)]
    pub report: Option<SimulationReport>,
    /// For signature requests: what the signature would authorise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_report: Option<SignatureReport>,
    /// The highest severity among `findings`; none when no rule fired.
    #[serde(default)]
    pub verdict: Option<Severity>,
    /// What the rules found, most severe first.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// The plain-language explanation: the template's at once, a model's when it is written.
    #[serde(default)]
    pub explanation: Option<Explanation>,
    /// Approved by the spending policy, not by the person (see `findings`: none above info).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub auto_approved: bool,
    /// Why there is no report: the request could not be simulated or the state not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulation_error: Option<String>,
    /// For transactions: the fee it offers next to what the chain asks, and a suggestion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas: Option<GasAdvice>,
    /// For a swap through a known router: the expected output and the other routes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swap: Option<SwapQuote>,
    /// Where an approved request was sent: `upstream` or `private relay`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// The client was answered when the item was held (`--reply at-once`): with the
    /// transaction's hash, or a `wallet_sendCalls` batch id. It learns the outcome where it
    /// looks (the receipt, the batch status), not on this connection, so it is never "gone".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub answered: bool,
    /// For a signed transaction: the sender's next nonce when it was held (the node's pending
    /// count, and the sends Airlock holds before this one). A higher nonce leaves a gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_nonce: Option<u64>,
    /// The checks that did not run on this item, each with why: the person decides knowing
    /// what Airlock could not look at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
    /// What the threat lists and the chain say about whom it deals with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intel: Option<IntelReport>,
    /// The intent an agent proposed, when Airlock built this request from one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<Asked>,
    /// The upstream's answer after forwarding (a tx hash, a signature, ...).
    pub result: Option<Box<RawValue>>,
    /// Why the item ended without a result: the upstream's error, or Airlock's.
    pub error: Option<RpcError>,
}

impl Item {
    /// A request just held: pending, its client waiting, nothing decided yet.
    pub fn pending(
        id: ItemId,
        method: String,
        params: Box<RawValue>,
        received_at: Timestamp,
        expires_at: Timestamp,
    ) -> Item {
        Item {
            id,
            method,
            status: Status::Pending,
            received_at,
            expires_at,
            decided_at: None,
            client_connected: true,
            joined: 0,
            tx: None,
            calls: vec![],
            sign: None,
            params,
            verification: None,
            report: None,
            signature_report: None,
            verdict: None,
            findings: vec![],
            explanation: None,
            auto_approved: false,
            simulation_error: None,
            gas: None,
            swap: None,
            sent_to: None,
            answered: false,
            next_nonce: None,
            unchecked: vec![],
            intel: None,
            asked: None,
            result: None,
            error: None,
        }
    }
}

/// How far the state behind an item could be verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// `unverified`, `checkpoint` (or, later, `verified` by the light client).
    pub mode: String,
    pub status: VerificationStatus,
    /// The verified head the item refers to.
    pub block_number: Option<u64>,
    pub block_hash: Option<B256>,
    /// Why verification failed.
    pub error: Option<String>,
    /// What the status means here, where it needs saying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// Checked: the head links to what the person trusts.
    Verified,
    /// Nothing was checked: the upstream is trusted.
    Unverified,
    /// The upstream's data did not verify: an attack or a broken node.
    Failed,
}

/// A JSON-RPC error object, kept verbatim (code, message, data).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i32,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
}

/// A transaction as a person reads it. Value and fee fields are decimal strings in wei (exact in
/// every JSON reader); nonce, gas, chain id and type are JSON numbers (u64: exact in Rust, Python
/// and jq, but JavaScript's `JSON.parse` rounds above 2^53).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TxView {
    /// EIP-2718 type: 0 legacy, 1 access list, 2 EIP-1559, 3 blob, 4 set-code (EIP-7702).
    #[serde(rename = "type")]
    pub tx_type: Option<u8>,
    /// Hash of a signed transaction; none for unsigned requests.
    pub hash: Option<B256>,
    /// Sender: recovered from the signature for raw transactions, as given otherwise.
    pub from: Option<Address>,
    /// Recipient; none for contract creation.
    pub to: Option<Address>,
    #[serde(with = "decimal_u256")]
    pub value: U256,
    pub nonce: Option<u64>,
    pub data: Bytes,
    pub gas: Option<u64>,
    #[serde(with = "decimal_opt_u128")]
    pub gas_price: Option<u128>,
    #[serde(with = "decimal_opt_u128")]
    pub max_fee_per_gas: Option<u128>,
    #[serde(with = "decimal_opt_u128")]
    pub max_priority_fee_per_gas: Option<u128>,
    #[serde(with = "decimal_opt_u128")]
    pub max_fee_per_blob_gas: Option<u128>,
    /// None for a legacy transaction without replay protection (pre EIP-155).
    pub chain_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_list: Vec<AccessListEntry>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blob_versioned_hashes: Vec<B256>,
    /// Blobs carried with the transaction (0 when sent without a sidecar).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub blob_count: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorization_list: Vec<AuthorizationView>,
    /// True for a signed (raw) transaction: it cannot be changed, only sent or not.
    pub signed: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessListEntry {
    pub address: Address,
    pub storage_keys: Vec<B256>,
}

/// One EIP-7702 authorization: `authority` delegates its code to `address`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationView {
    /// Decimal string, like every other U256 here; 0 means valid on every chain.
    #[serde(with = "decimal_u256")]
    pub chain_id: U256,
    pub address: Address,
    pub nonce: u64,
    /// The account that signed the authorization; none if its signature does not recover
    /// (the node will skip such an authorization).
    pub authority: Option<Address>,
}

/// One call of a `wallet_sendCalls` batch (EIP-5792).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallView {
    pub to: Option<Address>,
    #[serde(with = "decimal_u256")]
    pub value: U256,
    pub data: Bytes,
}

/// What a signature request asks the person to sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignView {
    /// `eth_sign`, `personal_sign` or `typed_data`.
    pub kind: SignKind,
    /// The account asked to sign.
    pub address: Address,
    /// The message as text when it is valid UTF-8 without control characters.
    pub text: Option<String>,
    /// The raw bytes (eth_sign, personal_sign).
    pub data: Option<Bytes>,
    /// EIP-712 typed data (eth_signTypedData*), as sent.
    pub typed_data: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignKind {
    EthSign,
    PersonalSign,
    TypedData,
}

/// Why a decision could not be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("no item with id {0}")]
    NotFound(ItemId),
    #[error("item {id} is {status} and can no longer be decided", status = .status.as_str())]
    NotOpen { id: ItemId, status: Status },
    #[error("audit log: {0}")]
    Store(String),
    /// Simulated again on the newest head before forwarding, the request no longer does what
    /// the person approved: nothing was forwarded, and the item is pending with the new report.
    #[error("item {id} was not forwarded: {why}; it is pending again with the new report")]
    Changed { id: ItemId, why: String },
    /// The item cannot take the change asked for (a signed transaction's fees).
    #[error("item {id}: {why}")]
    Unchangeable { id: ItemId, why: String },
    /// Something the daemon was asked to do besides a decision could not be done.
    #[error("{0}")]
    Failed(String),
    /// What was asked is not well formed (a bad intent): nothing was held.
    #[error("{0}")]
    Invalid(String),
}

/// The seam between whoever shows items to the person (control API, page, terminal) and the
/// queue that holds them.
pub trait Decisions: Send + Sync + 'static {
    /// Items waiting for a decision (and those being forwarded), newest first.
    fn pending(&self) -> Vec<Item>;
    /// Resolves once the open items have changed since generation `seen` (at once when they
    /// already have), with the generation now.
    fn changed(&self, seen: u64) -> impl Future<Output = u64> + Send;
    /// Any item, open or from the audit log.
    fn item(&self, id: &str) -> Result<Option<Item>, DecisionError>;
    /// The audit log, newest first, at most `limit` items.
    fn history(&self, limit: usize, before: Option<&str>) -> Result<Vec<Item>, DecisionError>;
    /// Approve: forward to the upstream, and return the item with the upstream's answer.
    fn approve(&self, id: &str) -> impl Future<Output = Result<Item, DecisionError>> + Send;
    /// Reject: the waiting client gets error 4001, nothing is forwarded.
    fn reject(&self, id: &str) -> impl Future<Output = Result<Item, DecisionError>> + Send;
    /// Replace a pending unsigned transaction's fees with the suggestion in `gas`; the rules
    /// run again. The item stays pending for the person to approve.
    fn use_suggested_fees(&self, id: &str) -> impl Future<Output = Result<Item, DecisionError>> + Send;
    /// The open approvals the log holds (of `owner`, or everyone's), read on the newest head.
    fn approvals(&self, owner: Option<Address>) -> impl Future<Output = Result<ApprovalsView, DecisionError>> + Send;
    /// The threat lists that loaded: what the page shows of each (size, date, age).
    fn threat_lists(&self) -> Vec<ThreatList> {
        vec![]
    }
    /// Reads the threat lists again (after `airlock intel update`): the new ones in use at
    /// once, the old ones kept on any error.
    fn reload_threat_lists(&self) -> impl Future<Output = Result<Vec<ThreatList>, DecisionError>> + Send {
        async { Err(DecisionError::Failed("this daemon keeps no threat lists".into())) }
    }
    /// Builds the request an intent names (JSON), holds it like any send and answers at once
    /// with the held item; a bad intent is `Invalid` and nothing is held.
    fn propose(&self, intent: serde_json::Value) -> impl Future<Output = Result<Item, DecisionError>> + Send {
        let _ = intent;
        async { Err(DecisionError::Failed("this daemon takes no intents".into())) }
    }
    /// The receipt of a forwarded item's transaction, as the node gives it (null while it is
    /// not mined); none for an item that sent no transaction.
    fn receipt(&self, id: &str) -> impl Future<Output = Result<Option<serde_json::Value>, DecisionError>> + Send {
        let _ = id;
        async { Ok(None) }
    }
    /// What `owner` (or each account Airlock manages) holds of ETH and tokens, read on the
    /// newest head.
    fn balances(&self, owner: Option<Address>) -> impl Future<Output = Result<BalancesView, DecisionError>> + Send {
        let _ = owner;
        async { Err(DecisionError::Failed("this daemon reads no balances".into())) }
    }
    /// Plain text to an intent, by the local model under a grammar, checked and built as
    /// `propose` builds one: held for the person when `hold` (answered with the item), else
    /// simulated only. A text that names no clear intent is `Invalid`, and nothing is held.
    fn ask(&self, ask: Ask) -> impl Future<Output = Result<serde_json::Value, DecisionError>> + Send {
        let _ = ask;
        async { Err(DecisionError::Failed("this daemon reads no plain text".into())) }
    }
    /// What the request an intent names would do, simulated on the newest head, holding
    /// nothing: `asked`, `verification`, `report` (or `simulation_error`).
    fn simulate_intent(
        &self,
        intent: serde_json::Value,
    ) -> impl Future<Output = Result<serde_json::Value, DecisionError>> + Send {
        let _ = intent;
        async { Err(DecisionError::Failed("this daemon takes no intents".into())) }
    }
}

/// A plain-language request: the words, the account to send from (when Airlock manages more
/// than one, or none), and whether to hold what it reads as or only simulate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ask {
    pub text: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default = "held")]
    pub hold: bool,
}

fn held() -> bool {
    true
}

/// Wei amounts as decimal strings: exact in every JSON reader.
pub mod decimal_u256 {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &U256, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<U256, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<U256>().map_err(D::Error::custom)
    }
}

/// Optional amounts as decimal strings.
pub mod decimal_opt_u256 {
    use alloy_primitives::U256;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &Option<U256>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<U256>, D::Error> {
        Option::<String>::deserialize(d)?.map(|s| s.parse::<U256>().map_err(D::Error::custom)).transpose()
    }
}

/// Optional fee fields as decimal strings.
pub mod decimal_opt_u128 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        Option::<String>::deserialize(d)?.map(|s| s.parse::<u128>().map_err(D::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_are_exact_decimal_strings() {
        let tx = TxView { value: U256::from(10u128.pow(30)), max_fee_per_gas: Some(u128::MAX), ..TxView::default() };
        let json = serde_json::to_value(&tx).expect("serializes");
        assert_eq!(json["value"], "1000000000000000000000000000000");
        assert_eq!(json["max_fee_per_gas"], u128::MAX.to_string());
        assert!(json["gas_price"].is_null());
        let back: TxView = serde_json::from_value(json).expect("round trip");
        assert_eq!(back, tx);
    }

    #[test]
    fn status_names_match_serde() {
        for s in [
            Status::Pending,
            Status::Approved,
            Status::Forwarded,
            Status::ForwardFailed,
            Status::Rejected,
            Status::Expired,
            Status::Abandoned,
        ] {
            let json = serde_json::to_string(&s).expect("serializes");
            assert_eq!(json, format!("\"{}\"", s.as_str()));
            assert_eq!(s.is_open(), matches!(s, Status::Pending | Status::Approved));
        }
    }
}
