//! airlock-chain: everything Airlock knows about the chain, and how it knows it.
//!
//! The [`Chain`] is the one handle the rest of the daemon holds: the [`Upstream`] client (the
//! only place Airlock talks to the node), where verified heads come from ([`HeadSource`]: the
//! light client, or a pinned checkpoint on devnets), the simulator over state read from the
//! upstream and proven against the head's state root ([`StateFrom`]), and reads answered from
//! those proofs instead of the upstream's word ([`Chain::read`], [`Chain::call`]).
//!
//! Dependencies: sim, verify, store, types. Nothing here knows about held requests, rules or
//! the person: that is `airlock-hold`.

mod head;
pub mod lightclient;
mod reads;
mod sources;
mod upstream;
mod verified;

use std::sync::Arc;
use std::time::Duration;

use airlock_sim::{Head, SimError, Simulator, SourceError};
use airlock_store::Store;
use airlock_types::Verification;
use alloy_primitives::B256;

pub use reads::{Answer, CallKind};
pub use sources::StateFrom;
pub use upstream::{DEFAULT_CONNECTIONS, Upstream, UpstreamError};
pub use verified::{HeadSource, HeadTracker, LightClientHead, VerifiedHead, VerifyError, facts_of, fetch_header};

/// How the daemon checks the state it works on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyMode {
    /// The upstream is trusted, and every report says so.
    Unverified,
    /// Chains without a beacon API: headers must hash-link back to this pinned block hash, and
    /// reads are proven against the newest such header's state root.
    Checkpoint(B256),
    /// The light client: heads signed by the sync committee, from `--consensus-rpc`.
    LightClient(Box<LightClientMode>),
}

/// Settings of the light-client mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LightClientMode {
    /// Which chain's committees and fork versions to verify with.
    pub network: airlock_verify::consensus::Network,
    /// The beacon API that serves light-client updates.
    pub consensus_rpc: String,
    /// Trusted beacon block root; without it, the state stored in the data directory.
    pub checkpoint: Option<B256>,
    /// A checkpoint older than this is refused (weak subjectivity) unless accepted on purpose.
    pub max_checkpoint_age: Duration,
    /// Verify from an old checkpoint anyway (history, tests): the person asked for it.
    pub accept_old_checkpoint: bool,
    /// A head older than this is not used: reads and items say verification failed.
    pub max_head_age: Duration,
}

/// Why the chain could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("the upstream serves chain {upstream}, but --network {network} is chain {expected}")]
    WrongNetwork { upstream: u64, network: &'static str, expected: u64 },
    #[error("the light client needs a data directory to keep its verified state in")]
    NoStore,
    #[error("the light client could not start: {0}")]
    LightClient(#[from] lightclient::SyncError),
}

/// Everything that can go wrong reading the chain for a client.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error(transparent)]
    Sim(#[from] SimError),
    /// An eth_call or eth_estimateGas run here on verified state that reverted or halted.
    #[error("{}", .0.reason.as_deref().unwrap_or("execution failed"))]
    Call(Box<airlock_types::Outcome>),
}

/// See the crate docs.
#[derive(Debug)]
pub struct Chain {
    /// The node: every read, proof and forward goes through it.
    upstream: Arc<Upstream>,
    /// Where verified heads come from; `None` in unverified mode.
    heads: Option<HeadSource>,
    /// The simulator, made on first use (it needs the chain id, which may need the upstream).
    sim: tokio::sync::OnceCell<Simulator<StateFrom>>,
    /// The chain, when the verification mode fixes it (the light client's network): then the
    /// upstream's word is not taken for it.
    chain_id: Option<u64>,
    /// Answer balance, nonce, code, storage, block-number and call reads from proofs.
    verified_reads: bool,
}

impl Chain {
    /// Opens the chain in `mode`: a light client continues from `store` (or bootstraps from its
    /// checkpoint) before this returns; a checkpoint head is linked on first use.
    pub async fn open(
        upstream: Arc<Upstream>,
        mode: &VerifyMode,
        store: Option<&Store>,
        timeout: Duration,
    ) -> Result<Chain, OpenError> {
        let heads = head::source(mode, &upstream, store, timeout).await?;
        let chain_id = match mode {
            VerifyMode::LightClient(lc) => Some(lc.network.chain_id()),
            _ => None,
        };
        Ok(Chain { upstream, heads, sim: tokio::sync::OnceCell::new(), chain_id, verified_reads: true })
    }

    /// Whether reads are answered from proofs in a verified mode (on by default).
    pub fn with_verified_reads(mut self, on: bool) -> Self {
        self.verified_reads = on;
        self
    }

    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }

    /// Where verified heads come from; `None` in unverified mode.
    pub fn heads(&self) -> Option<&HeadSource> {
        self.heads.as_ref()
    }

    /// The head a new item is simulated on, and how far it is verified. A failure is recorded
    /// and shown, never hidden: the caller still holds the item for the person's decision.
    pub async fn head(&self) -> (Verification, Option<Head>) {
        head::checked(self.heads.as_ref(), &self.upstream).await
    }

    /// Block `number` instead of the newest head: an ancestor of the verified head, linked to
    /// it by parent hashes (verified as far as the head is), or the upstream's in unverified mode.
    pub async fn head_at(&self, number: u64) -> (Verification, Option<Head>) {
        head::at(self.heads.as_ref(), &self.upstream, number).await
    }

    /// The chain id: the light client's network, or the upstream's.
    pub async fn chain_id(&self) -> Result<u64, UpstreamError> {
        match self.chain_id {
            Some(id) => Ok(id),
            None => self.upstream.chain_id().await,
        }
    }

    /// The simulator over this chain's state: proven in a verified mode, trusted otherwise.
    pub async fn simulator(&self) -> Result<&Simulator<StateFrom>, SimError> {
        self.sim
            .get_or_try_init(|| async {
                let chain_id =
                    self.chain_id().await.map_err(|e| SimError::Source(SourceError::Unavailable(e.to_string())))?;
                let source = match self.heads {
                    Some(_) => StateFrom::Proven(self.upstream.clone()),
                    None => StateFrom::Trusted(self.upstream.clone()),
                };
                Ok(Simulator::new(source, chain_id))
            })
            .await
    }
}
