//! airlock-wire: JSON-RPC on the wire, below every other crate that speaks it.
//!
//! - [`envelope`]: a request body read as envelopes (method, id, params borrowed from the bytes),
//!   within [`Limits`], with errors that name the limit.
//! - [`method`]: method names as a lenient node might read them.
//! - [`pool`]: a bounded keep-alive HTTP/1.1 pool to the upstream.

pub mod envelope;
pub mod method;
pub mod pool;

pub use envelope::{Call, Entry, Id, Message, WireError};
pub use pool::{Pool, PoolError, PooledBody};

/// The bounds on what a client may send in one request. Each is a named setting; a request over
/// one is refused with an error that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `max_body_bytes`: a raw blob transaction with 21 blobs and their cell proofs, in hex, is
    /// about 5.8 MB.
    pub max_body_bytes: usize,
    /// `max_batch_len`: calls in one batch (geth's default is 1,000).
    pub max_batch_len: usize,
    /// `max_json_depth`: nesting of arrays and objects, counted over the whole body.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_body_bytes: 8 * 1024 * 1024, max_batch_len: 1000, max_depth: 64 }
    }
}

/// At most `max` characters of `s`, marked when cut.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}
