//! Every error Airlock's RPC endpoint returns, in one place: the codes, and the one mapping from
//! domain errors to JSON-RPC error objects.
//!
//! | code   | meaning |
//! |--------|---------|
//! | 4001   | the person rejected the request (EIP-1193); `data.id` is the item id |
//! | 4200   | method refused: it would send funds without the person's decision (EIP-1193 "unsupported method") |
//! | -32602 | malformed input: bad hex, RLP, signature, JSON shape, or a chain id other than the upstream's |
//! | -32002 | the upstream could not be reached or did not answer in time (EIP-1474 "resource unavailable") |
//! | -32003 | nothing was forwarded: no decision before the timeout, Airlock stopped, or the audit log failed (EIP-1474 "transaction rejected") |
//! | -32090 | the upstream's data failed verification (a proof, a header hash, a link to the pinned block): an attack or a broken node |
//! | other  | the upstream's own error, passed through unchanged |

use airlock_types::RpcError;
use jsonrpsee::types::ErrorObjectOwned;

use crate::decode::InputError;
use crate::queue::{HoldError, upstream_rpc_error};
use crate::upstream::UpstreamError;

pub const USER_REJECTED: i32 = 4001;
pub const METHOD_REFUSED: i32 = 4200;
pub const INVALID_PARAMS: i32 = -32602;
pub const UPSTREAM_UNAVAILABLE: i32 = -32002;
pub const NOT_FORWARDED: i32 = -32003;
pub const VERIFICATION_FAILED: i32 = -32090;

/// Everything that can end an RPC call without a result.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("chain id {claimed} does not match the upstream's chain id {upstream}")]
    WrongChain { claimed: u64, upstream: u64 },
    #[error(
        "Airlock refuses {0}: it would send without your confirmation; use eth_sendRawTransaction or eth_sendTransaction"
    )]
    Refused(String),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Hold(#[from] HoldError),
    #[error("Airlock: {0}")]
    Verification(String),
    #[error("Airlock: the beacon API is unreachable: {0}")]
    Beacon(String),
    /// An eth_call or eth_estimateGas answered from verified state that reverted or failed,
    /// in the form the nodes use (code 3 and the revert data for a revert).
    #[error("{}", .0.message)]
    Call(RpcError),
    #[error("Airlock: {0}")]
    StateUnavailable(String),
    /// A held request ended without a result (rejected, expired, abandoned, forward failed).
    #[error("{}", .0.message)]
    Ended(RpcError),
}

impl From<ProxyError> for ErrorObjectOwned {
    fn from(e: ProxyError) -> Self {
        let (code, data) = match &e {
            ProxyError::Input(_) | ProxyError::WrongChain { .. } => (INVALID_PARAMS, None),
            ProxyError::Refused(_) => (METHOD_REFUSED, None),
            ProxyError::Upstream(UpstreamError::Rpc(obj)) => return obj.clone(),
            ProxyError::Upstream(_) => (UPSTREAM_UNAVAILABLE, None),
            ProxyError::Hold(_) => (NOT_FORWARDED, None),
            ProxyError::Verification(_) => (VERIFICATION_FAILED, None),
            ProxyError::Beacon(_) => (UPSTREAM_UNAVAILABLE, None),
            ProxyError::Ended(err) | ProxyError::Call(err) => return rpc_error_object(err),
            ProxyError::StateUnavailable(_) => (UPSTREAM_UNAVAILABLE, None),
        };
        ErrorObjectOwned::owned::<()>(code, e.to_string(), data)
    }
}

impl From<crate::verified::VerifyError> for ProxyError {
    fn from(e: crate::verified::VerifyError) -> Self {
        match e {
            crate::verified::VerifyError::Upstream(u) => ProxyError::Upstream(u),
            crate::verified::VerifyError::Beacon(m) => ProxyError::Beacon(m),
            crate::verified::VerifyError::Failed(m) => ProxyError::Verification(format!("verification failed: {m}")),
        }
    }
}

pub fn rpc_error_object(err: &RpcError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(err.code, err.message.clone(), err.data.clone())
}

/// The upstream error as the client sees it.
pub fn upstream_error(e: &UpstreamError) -> ErrorObjectOwned {
    rpc_error_object(&upstream_rpc_error(e))
}
