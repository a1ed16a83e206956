//! Where the state a simulation reads comes from: the seam between revm (synchronous, in memory)
//! and the upstream (asynchronous, untrusted).
//!
//! A source answers for one block, given as a [`Head`]. The verified source proves everything it
//! returns against the head's state root; the unverified one trusts the upstream. Either way the
//! simulator only ever sees what a source returned.

use std::future::Future;

use airlock_types::{BlockFacts, TxView};
use alloy_primitives::{Address, B256, Bytes, U256};

/// The block a simulation runs on: its facts, and the state root its state is proven against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub facts: BlockFacts,
    pub state_root: B256,
}

/// What the simulator asks a source for: accounts, with the slots it wants of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Want {
    pub address: Address,
    pub slots: Vec<B256>,
    /// The account's code is wanted too (false when it is already known).
    pub code: bool,
}

/// An account as the source vouches for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fetched {
    pub address: Address,
    pub balance: U256,
    pub nonce: u64,
    pub code_hash: B256,
    /// Present when it was asked for; checked against `code_hash` by a verifying source.
    pub code: Option<Bytes>,
    pub storage: Vec<(B256, U256)>,
}

/// Why a source could not answer. `Failed` is an attack or a broken node and is never retried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The upstream could not be reached or refused the request.
    #[error("{0}")]
    Unavailable(String),
    /// What the upstream sent does not verify.
    #[error("verification failed: {0}")]
    Failed(String),
}

pub trait StateSource: Send + Sync {
    /// The accounts and slots asked for, at `head`. Fetch in parallel where that helps.
    fn fetch(&self, head: &Head, want: Vec<Want>) -> impl Future<Output = Result<Vec<Fetched>, SourceError>> + Send;

    /// The hash of block `number` (below the head, within 256 blocks), as BLOCKHASH sees it.
    fn block_hash(&self, head: &Head, number: u64) -> impl Future<Output = Result<B256, SourceError>> + Send;

    /// Which accounts and slots the transaction will probably touch (eth_createAccessList).
    /// Untrusted and only a hint: a wrong answer costs a fetch round, never correctness.
    fn access_hint(&self, head: &Head, tx: &TxView) -> impl Future<Output = Vec<(Address, Vec<B256>)>> + Send;
}
