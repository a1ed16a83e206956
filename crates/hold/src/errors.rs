//! Every error Airlock's RPC endpoint returns, in one place: the codes, the builders of the
//! errors a held request ends with, and the one exhaustive mapping from domain errors to
//! JSON-RPC error objects. The edge turns [`RpcError`] into its server's error type and adds
//! nothing of its own.
//!
//! Airlock's own codes never collide with a node's: besides the standard JSON-RPC codes (used in
//! their standard meaning) and the EIP-1193 / EIP-5792 provider codes (which nodes do not
//! return), they sit in -32080…-32090, a band no node we know of uses. Every other code is the
//! upstream's own, passed through unchanged.
//!
//! | code   | meaning |
//! |--------|---------|
//! | 4001   | the person rejected the request (EIP-1193); `data.id` is the item id |
//! | 4100   | a web page's origin may not use the endpoint (EIP-1193 "unauthorized") |
//! | 4200   | method refused: it would send funds without the person's decision, or its name is not plain or reads as a send (EIP-1193 "unsupported method") |
//! | 3      | an eth_call run on verified state reverted; `data` is the revert data (as geth) |
//! | -32000 | an eth_call or eth_estimateGas run on verified state that cannot run (as geth) |
//! | -32700 | the body is not JSON |
//! | -32600 | not a JSON-RPC call: a bad envelope or id |
//! | -32602 | malformed input: bad hex, RLP, signature, JSON shape, or a chain id other than the upstream's |
//! | -32080 | nothing was forwarded: no decision in time, Airlock stopped, too many items waiting, not signed, or the audit log failed |
//! | -32081 | the request may or may not have reached the upstream: Airlock stopped, or the connection failed, after it was sent |
//! | -32082 | the upstream could not be reached or did not answer in time; nothing reached it |
//! | -32083 | the upstream answered with something that is not JSON-RPC (an HTML page, HTTP 500) |
//! | -32084 | the request exceeds one of Airlock's limits; `data.limit` names the setting |
//! | -32090 | the upstream's data failed verification (a proof, a header hash, a link to the pinned block): an attack or a broken node |
//! | 5730   | `wallet_getCallsStatus` for a batch id Airlock never held (EIP-5792 "unknown bundle id") |
//! | 5760   | `wallet_sendCalls` with `atomicRequired`: Airlock sends calls one by one (EIP-5792) |
//! | other  | the upstream's own error, passed through unchanged |

use std::time::Duration;

use airlock_chain::{ChainError, UpstreamError, VerifyError};
use airlock_sim::{SimError, SourceError};
use airlock_types::{Outcome, OutcomeStatus, RpcError};
use serde_json::value::RawValue;

pub const USER_REJECTED: i32 = 4001;
pub const UNAUTHORIZED: i32 = 4100;
pub const METHOD_REFUSED: i32 = 4200;
pub const EXECUTION_REVERTED: i32 = 3;
pub const EXECUTION_ERROR: i32 = -32000;
pub const INVALID_PARAMS: i32 = -32602;
pub const NOT_FORWARDED: i32 = -32080;
pub const MAYBE_FORWARDED: i32 = -32081;
pub const UPSTREAM_UNAVAILABLE: i32 = -32082;
pub const UPSTREAM_BAD_ANSWER: i32 = -32083;
pub const LIMIT_EXCEEDED: i32 = airlock_wire::envelope::LIMIT_EXCEEDED;
pub const VERIFICATION_FAILED: i32 = -32090;
pub const UNKNOWN_BATCH: i32 = 5730;
pub const ATOMICITY_NOT_SUPPORTED: i32 = 5760;

/// What is wrong with a request: becomes JSON-RPC error -32602 with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InputError(pub String);

/// Why a request could not be held.
#[derive(Debug, thiserror::Error)]
pub enum HoldError {
    #[error("Airlock is shutting down; nothing was forwarded")]
    ShuttingDown,
    #[error("{0} requests are already waiting for a decision; decide those first (nothing was forwarded)")]
    TooMany(usize),
    #[error("the audit log could not be written, so the request was not held: {0}")]
    Store(#[from] airlock_store::StoreError),
}

/// Everything that can end an RPC call without a result.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("chain id {claimed} does not match the upstream's chain id {upstream}")]
    WrongChain { claimed: u64, upstream: u64 },
    #[error(
        "Airlock refuses {0}: it would send without your confirmation; use eth_sendRawTransaction or eth_sendTransaction"
    )]
    Refused(String),
    #[error(
        "Airlock refuses the method {0:?}: its name is not plain ASCII, or a node could read it as a method that sends or signs; nothing was forwarded"
    )]
    OddName(String),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error(transparent)]
    Hold(#[from] HoldError),
    #[error("no batch with id {0:?} was sent through Airlock")]
    UnknownBatch(String),
    #[error(
        "Airlock does not sign a raw 32-byte hash (eth_sign) for {0:#x}, an account it manages: such a signature can authorise anything, a transaction included. Use personal_sign or eth_signTypedData_v4; `[signer] allow_eth_sign = true` in the config file allows it"
    )]
    RawHashRefused(alloy_primitives::Address),
    /// An agent's intent that cannot be built: nothing was held.
    #[error("{0}")]
    Intent(String),
    #[error(
        "Airlock sends a batch's calls one after another, not atomically (see wallet_getCapabilities); send it without atomicRequired"
    )]
    AtomicityNotSupported,
    /// A request over one of Airlock's limits (named by its setting).
    #[error("request exceeds Airlock's limit {limit} = {max}")]
    Limit { limit: &'static str, max: usize },
    /// A held request ended without a result (rejected, expired, abandoned, forward failed).
    #[error("{}", .0.message)]
    Ended(RpcError),
}

impl From<UpstreamError> for Error {
    fn from(e: UpstreamError) -> Self {
        Error::Chain(ChainError::Upstream(e))
    }
}

impl From<&Error> for RpcError {
    /// The one mapping from what went wrong to what the client reads.
    fn from(e: &Error) -> RpcError {
        match e {
            Error::Input(_) | Error::WrongChain { .. } => plain(INVALID_PARAMS, e),
            Error::Refused(_) | Error::OddName(_) | Error::RawHashRefused(_) => plain(METHOD_REFUSED, e),
            Error::Intent(_) => plain(INVALID_PARAMS, e),
            Error::Chain(c) => chain_error(c),
            Error::Hold(_) => plain(NOT_FORWARDED, e),
            Error::UnknownBatch(_) => plain(UNKNOWN_BATCH, e),
            Error::AtomicityNotSupported => plain(ATOMICITY_NOT_SUPPORTED, e),
            Error::Limit { limit, max } => RpcError {
                code: LIMIT_EXCEEDED,
                message: format!("Airlock: {e}"),
                data: raw(&serde_json::json!({ "limit": limit, "max": max })),
            },
            Error::Ended(err) => err.clone(),
        }
    }
}

fn plain(code: i32, e: &impl std::fmt::Display) -> RpcError {
    RpcError { code, message: e.to_string(), data: None }
}

fn chain_error(e: &ChainError) -> RpcError {
    match e {
        ChainError::Upstream(u) | ChainError::Verify(VerifyError::Upstream(u)) => upstream_rpc_error(u),
        ChainError::Verify(VerifyError::Beacon(m)) => {
            plain(UPSTREAM_UNAVAILABLE, &format!("Airlock: the beacon API is unreachable: {m}"))
        }
        ChainError::Verify(VerifyError::Failed(m)) | ChainError::Sim(SimError::Source(SourceError::Failed(m))) => {
            plain(VERIFICATION_FAILED, &format!("Airlock: verification failed: {m}"))
        }
        ChainError::Sim(SimError::Source(SourceError::Unavailable(m))) => {
            plain(UPSTREAM_UNAVAILABLE, &format!("Airlock: {m}"))
        }
        ChainError::Sim(SimError::Invalid(m)) => plain(EXECUTION_ERROR, m),
        ChainError::Sim(s @ SimError::Unfinished) => plain(UPSTREAM_UNAVAILABLE, &format!("Airlock: {s}")),
        ChainError::Call(outcome) => call_failed(outcome),
    }
}

/// A call that did not succeed, as geth reports it: code 3 with the revert data for a revert.
fn call_failed(outcome: &Outcome) -> RpcError {
    let reason = outcome.reason.clone().unwrap_or_default();
    match outcome.status {
        OutcomeStatus::Revert => {
            let message = match reason.strip_prefix("Error(string): \"").and_then(|r| r.strip_suffix('"')) {
                Some(text) => format!("execution reverted: {text}"),
                None => "execution reverted".to_owned(),
            };
            let data = serde_json::value::to_raw_value(&outcome.output).ok();
            RpcError { code: EXECUTION_REVERTED, message, data }
        }
        _ => RpcError { code: EXECUTION_ERROR, message: reason, data: None },
    }
}

/// The upstream's error object verbatim, or Airlock's description of why it could not answer.
pub fn upstream_rpc_error(e: &UpstreamError) -> RpcError {
    match e {
        UpstreamError::Rpc(obj) => {
            RpcError { code: obj.code(), message: obj.message().to_owned(), data: obj.data().map(|d| d.to_owned()) }
        }
        UpstreamError::Garbage { .. } => plain(UPSTREAM_BAD_ANSWER, e),
        UpstreamError::Lost { .. } => plain(MAYBE_FORWARDED, e),
        other => plain(UPSTREAM_UNAVAILABLE, other),
    }
}

/// After an approval: the upstream's refusal verbatim; or, when it did not answer, a warning
/// that the request may have reached it all the same.
pub fn forward_error(e: &UpstreamError) -> RpcError {
    match e {
        UpstreamError::Rpc(_) => upstream_rpc_error(e),
        // Refused before a byte left: nothing reached it.
        UpstreamError::Unavailable { .. } | UpstreamError::BadUrl { .. } | UpstreamError::NoSubscriptions { .. } => {
            plain(UPSTREAM_UNAVAILABLE, &format!("{e}; nothing reached it"))
        }
        other => plain(
            MAYBE_FORWARDED,
            &format!("{other}; the request may or may not have reached it: check the chain before sending again"),
        ),
    }
}

/// A managed account's approved item that could not be filled in or signed: nothing went out.
pub fn not_signed(why: &str) -> RpcError {
    plain(NOT_FORWARDED, &format!("Airlock did not sign it, and nothing was sent: {why}"))
}

/// EIP-1193 code 4001, with the item id in `data`.
pub fn rejected_error(id: &str) -> RpcError {
    RpcError {
        code: USER_REJECTED,
        message: "User rejected the request.".into(),
        data: raw(&serde_json::json!({ "id": id, "reason": "rejected in Airlock" })),
    }
}

pub fn expired_error(id: &str, after: Duration) -> RpcError {
    RpcError {
        code: NOT_FORWARDED,
        message: format!("Airlock: no decision within {} s; nothing was forwarded", after.as_secs()),
        data: raw(&serde_json::json!({ "id": id, "status": "expired" })),
    }
}

pub fn abandoned_error(id: &str) -> RpcError {
    RpcError {
        code: NOT_FORWARDED,
        message: "Airlock stopped before a decision; nothing was forwarded".into(),
        data: raw(&serde_json::json!({ "id": id, "status": "abandoned" })),
    }
}

/// What an item a previous run left open ended with, by the status it had then: an approved
/// one was being forwarded and may have reached the upstream.
pub fn abandoned_at_start(was: airlock_types::Status) -> RpcError {
    match was {
        airlock_types::Status::Approved => plain(
            MAYBE_FORWARDED,
            &"Airlock stopped while forwarding this approved request: it may or may not have reached the upstream",
        ),
        _ => plain(NOT_FORWARDED, &"Airlock stopped before a decision; nothing was forwarded"),
    }
}

/// The audit log could not be read to answer about an item.
pub fn log_unreadable(e: &airlock_types::DecisionError) -> RpcError {
    plain(NOT_FORWARDED, &format!("Airlock: the audit log could not be read: {e}"))
}

/// A web page whose origin may not use the endpoint (EIP-1193 4100), with the origin named.
pub fn origin_refused(origin: &str) -> RpcError {
    RpcError {
        code: UNAUTHORIZED,
        message: format!("Airlock refuses requests from the web page {origin}; connect through your wallet"),
        data: None,
    }
}

fn raw(v: &serde_json::Value) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_types::Status;

    /// An item left open by the last run: an approved one may have gone out, a pending one not.
    #[test]
    fn items_abandoned_at_start_say_whether_they_may_have_gone_out() {
        let approved = abandoned_at_start(Status::Approved);
        assert_eq!(approved.code, MAYBE_FORWARDED);
        assert!(approved.message.contains("may or may not have reached"), "{}", approved.message);
        let pending = abandoned_at_start(Status::Pending);
        assert_eq!(pending.code, NOT_FORWARDED);
        assert!(pending.message.contains("nothing was forwarded"));
    }

    /// A revert answered from verified state reads as geth's: code 3, the reason, the data.
    #[test]
    fn a_reverted_call_reads_as_the_node_would_answer() {
        let outcome = Outcome {
            status: OutcomeStatus::Revert,
            reason: Some("Error(string): \"no\"".into()),
            output: alloy_primitives::Bytes::from(vec![1, 2]),
        };
        let e = RpcError::from(&Error::Chain(ChainError::Call(Box::new(outcome))));
        assert_eq!((e.code, e.message.as_str()), (EXECUTION_REVERTED, "execution reverted: no"));
        assert_eq!(e.data.map(|d| d.get().to_owned()).as_deref(), Some("\"0x0102\""));
    }
}
