//! The edge's side of errors: the codes and the one mapping live in `airlock_hold::errors`;
//! here they become jsonrpsee's error objects, unchanged.

use airlock_chain::UpstreamError;
use airlock_hold::Error;
use airlock_types::RpcError;
use jsonrpsee::types::ErrorObjectOwned;

fn object(err: RpcError) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(err.code, err.message, err.data)
}

/// What the client reads for `e`.
pub(crate) fn to_object(e: &Error) -> ErrorObjectOwned {
    object(RpcError::from(e))
}

/// The upstream error as the client sees it.
pub(crate) fn upstream_error(e: &UpstreamError) -> ErrorObjectOwned {
    object(airlock_hold::errors::upstream_rpc_error(e))
}
