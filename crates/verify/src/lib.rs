//! airlock-verify: nothing the upstream says is believed until it is checked here.
//!
//! Verification is functions over data: no tokio, no I/O. Fetching (beacon API, eth_getProof)
//! lives at the edges, in the crates that call these functions.
//!
//! - [`execution`]: accounts and storage by Merkle-Patricia proof against a trusted state root,
//!   code against the proven code hash, headers by hash and by hash-linking to a pinned block.
//! - [`consensus`]: the light-client sync protocol (bootstrap from a trusted block root, updates
//!   signed by the sync committee, finality and committee branches).

pub mod consensus;
pub mod execution;

pub use execution::{ProofError, VerifiedAccount, verify_account, verify_chain, verify_code, verify_header};
