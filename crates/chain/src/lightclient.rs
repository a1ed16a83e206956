//! The light client's I/O: fetch from a beacon API, verify with `airlock-verify`, keep the
//! verified state in the store. `airlock sync` runs [`sync`] once; the daemon keeps a
//! [`Session`] open and advances it whenever a head is asked for and the last advance is older
//! than a slot (`verified::LightClientHead::refresh`), so there is no timer.

use std::time::Duration;

use airlock_store::Store as Log;
use airlock_verify::consensus::{ConsensusError, LightClientHeader, Network, Snapshot, Store, json};
use alloy_primitives::B256;
use serde::Serialize;

/// Helios' default, and well inside mainnet's weak-subjectivity period with today's validator
/// set: a checkpoint older than this could belong to a chain its validators long abandoned,
/// which they could then sign freely.
pub const DEFAULT_MAX_CHECKPOINT_AGE: Duration = Duration::from_secs(14 * 24 * 3600);

/// How many updates one request asks for (the beacon API's MAX_REQUEST_LIGHT_CLIENT_UPDATES).
const UPDATES_PER_REQUEST: u64 = 128;

#[derive(Debug, Clone)]
pub struct SyncConfig {
    pub network: Network,
    pub consensus_rpc: String,
    /// Trusted beacon block root to bootstrap from; without it, the stored state is used.
    pub checkpoint: Option<B256>,
    pub max_checkpoint_age: Duration,
    /// Verify from an old checkpoint anyway (history, tests); the person asked for it.
    pub accept_old_checkpoint: bool,
    pub timeout: Duration,
    /// Unix seconds "now" (a parameter so that verification is a function of its inputs).
    pub now: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("the beacon API at {url} failed: {reason}")]
    Fetch { url: String, reason: String },
    #[error("the beacon API sent something that is not a light-client object ({url}): {reason}")]
    Garbage { url: String, reason: String },
    #[error("verification failed, refusing the beacon API's data: {0}")]
    Verify(ConsensusError),
    #[error(
        "the checkpoint at slot {slot} is {age_days} days old, older than the weak-subjectivity limit of {limit_days} days: \
         its validators may have left and could sign a different chain. Take a recent checkpoint (finalized block root) \
         from a source you trust, or pass --accept-old-checkpoint to verify history on purpose"
    )]
    OldCheckpoint { slot: u64, age_days: u64, limit_days: u64 },
    #[error(
        "no verified state for {network} is stored in this data directory: pass --checkpoint ROOT (a trusted finalized beacon block root)"
    )]
    NoState { network: &'static str },
    #[error("the stored light-client state is damaged: {0}")]
    Stored(String),
    #[error(transparent)]
    Log(#[from] airlock_store::StoreError),
}

// Not `#[from]`: that would make the cause a `source` too, and reports print it twice.
impl From<ConsensusError> for SyncError {
    fn from(e: ConsensusError) -> Self {
        SyncError::Verify(e)
    }
}

/// A verified header as a person reads it.
#[derive(Debug, Clone, Serialize)]
pub struct HeadView {
    pub slot: u64,
    pub beacon_root: B256,
    pub block_number: u64,
    pub block_hash: B256,
    pub state_root: B256,
    /// Unix seconds of the execution block.
    pub timestamp: u64,
    pub age_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    pub network: &'static str,
    /// `checkpoint` when bootstrapped now, `stored` when continued from the data directory.
    pub started_from: &'static str,
    pub updates_applied: usize,
    pub finalized: HeadView,
    pub optimistic: HeadView,
}

fn head(h: &LightClientHeader, now: u64) -> HeadView {
    HeadView {
        slot: h.beacon.slot,
        beacon_root: h.beacon.hash_tree_root(),
        block_number: h.execution.block_number,
        block_hash: h.execution.block_hash,
        state_root: h.execution.state_root,
        timestamp: h.execution.timestamp,
        age_secs: now.saturating_sub(h.execution.timestamp),
    }
}

struct Beacon {
    /// Bounded by the configured timeout.
    http: reqwest::Client,
    /// The beacon API's base URL.
    base: String,
}

impl Beacon {
    async fn get(&self, path: &str) -> Result<Vec<u8>, SyncError> {
        let url = format!("{}{path}", self.base.trim_end_matches('/'));
        let fail = |reason: String| SyncError::Fetch { url: url.clone(), reason };
        let resp =
            self.http.get(&url).header("accept", "application/json").send().await.map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| fail(e.to_string()))?;
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
            return Err(fail(format!("HTTP {status}: {text}")));
        }
        Ok(body.to_vec())
    }

    fn garbage(&self, path: &str, e: impl ToString) -> SyncError {
        SyncError::Garbage { url: format!("{}{path}", self.base.trim_end_matches('/')), reason: e.to_string() }
    }
}

fn state_key(network: Network) -> String {
    format!("light_client/{}", network.name())
}

/// A light client in progress: the verified store and where to fetch more.
#[derive(Debug)]
pub struct Session {
    /// How it was opened.
    cfg: SyncConfig,
    /// The network's forks, domains and preset.
    spec: airlock_verify::consensus::ChainSpec,
    /// Where updates come from.
    beacon: Beacon,
    /// The verified light-client store (finalized and newest supermajority headers).
    pub store: Store,
    /// "checkpoint" or "stored": where this run began.
    pub started_from: &'static str,
}

impl std::fmt::Debug for Beacon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Beacon").field("base", &self.base).finish()
    }
}

impl Session {
    /// Bootstraps from `cfg.checkpoint`, or continues from the state stored in `log`.
    pub async fn open(cfg: SyncConfig, log: &Log) -> Result<Self, SyncError> {
        let spec = cfg.network.spec();
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(cfg.timeout.min(Duration::from_secs(5)))
            .build()
            .map_err(|e| SyncError::Fetch { url: cfg.consensus_rpc.clone(), reason: e.to_string() })?;
        let beacon = Beacon { http, base: cfg.consensus_rpc.clone() };
        let (store, started_from) = match cfg.checkpoint {
            Some(root) => {
                let path = format!("/eth/v1/beacon/light_client/bootstrap/{root}");
                let bytes = beacon.get(&path).await?;
                let bootstrap = json::bootstrap(&bytes, spec.preset).map_err(|e| beacon.garbage(&path, e))?;
                check_age(&cfg, &bootstrap.header)?;
                (Store::bootstrap(&spec, root, bootstrap)?, "checkpoint")
            }
            None => {
                let stored = log
                    .get_state(&state_key(cfg.network))?
                    .ok_or(SyncError::NoState { network: cfg.network.name() })?;
                let snapshot: Snapshot =
                    serde_json::from_slice(&stored).map_err(|e| SyncError::Stored(e.to_string()))?;
                let store = Store::restore(snapshot).map_err(|e| SyncError::Stored(e.to_string()))?;
                check_age(&cfg, &store.finalized_header)?;
                (store, "stored")
            }
        };
        Ok(Session { cfg, spec, beacon, store, started_from })
    }

    /// Verifies what the beacon API has beyond the store: committee periods, then the newest
    /// finality and optimistic updates. Returns how many updates were applied.
    pub async fn advance(&mut self, now: u64) -> Result<usize, SyncError> {
        let preset = self.spec.preset;
        let current_slot = now.saturating_sub(self.cfg.network.genesis_time()) / 12;
        let mut applied = 0;
        // One request per committee period (~27 h on mainnet): ten years is plenty.
        for _ in 0..4096 {
            let period = preset.period(self.store.finalized_header.beacon.slot);
            let path = format!("/eth/v1/beacon/light_client/updates?start_period={period}&count={UPDATES_PER_REQUEST}");
            let bytes = self.beacon.get(&path).await?;
            let updates = json::updates(&bytes, preset).map_err(|e| self.beacon.garbage(&path, e))?;
            for u in &updates {
                // Older periods than ours carry nothing new; anything else must verify.
                if preset.period(u.attested_header.beacon.slot) < period {
                    continue;
                }
                match self.store.process(&self.spec, u, current_slot) {
                    Ok(()) => applied += 1,
                    Err(e) if nothing_to_learn(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if preset.period(self.store.finalized_header.beacon.slot) == period {
                break;
            }
        }
        for path in ["/eth/v1/beacon/light_client/finality_update", "/eth/v1/beacon/light_client/optimistic_update"] {
            let bytes = self.beacon.get(path).await?;
            let u = json::update(&bytes, preset).map_err(|e| self.beacon.garbage(path, e))?;
            match self.store.process(&self.spec, &u, current_slot) {
                Ok(()) => applied += 1,
                Err(e) if nothing_to_learn(&e) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(applied)
    }

    /// Keeps the verified store in `log`, so a restart does not bootstrap again.
    pub fn persist(&self, log: &Log) -> Result<(), SyncError> {
        let snapshot = serde_json::to_vec(&self.store.snapshot()).map_err(|e| SyncError::Stored(e.to_string()))?;
        log.put_state(&state_key(self.cfg.network), &snapshot)?;
        Ok(())
    }
}

/// Refusals that are not attacks, only nothing new: an update we already applied (a restart
/// asks for the current period again, a node lags behind our head), or one signed a slot or
/// two ahead of our clock (skew: it is fetched again later). Every other refusal stops the sync.
fn nothing_to_learn(e: &ConsensusError) -> bool {
    match e {
        ConsensusError::NotNewer { .. } => true,
        ConsensusError::SlotOrder { current, signature, .. } => *signature > *current && signature - current <= 2,
        _ => false,
    }
}

fn check_age(cfg: &SyncConfig, h: &LightClientHeader) -> Result<(), SyncError> {
    let age = cfg.now.saturating_sub(h.execution.timestamp);
    if !cfg.accept_old_checkpoint && age > cfg.max_checkpoint_age.as_secs() {
        return Err(SyncError::OldCheckpoint {
            slot: h.beacon.slot,
            age_days: age / 86_400,
            limit_days: cfg.max_checkpoint_age.as_secs() / 86_400,
        });
    }
    Ok(())
}

/// Verifies as far as the beacon API goes and keeps the result in `log`.
pub async fn sync(cfg: &SyncConfig, log: &Log) -> Result<SyncReport, SyncError> {
    let now = cfg.now;
    let mut session = Session::open(cfg.clone(), log).await?;
    let applied = session.advance(now).await?;
    session.persist(log)?;
    Ok(SyncReport {
        network: cfg.network.name(),
        started_from: session.started_from,
        updates_applied: applied,
        finalized: head(&session.store.finalized_header, now),
        optimistic: head(&session.store.optimistic_header, now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_repeats_and_slight_clock_skew_are_harmless() {
        let order = |current, signature| ConsensusError::SlotOrder { current, signature, attested: 5, finalized: 1 };
        assert!(nothing_to_learn(&ConsensusError::NotNewer { attested: 5, finalized: 9 }));
        assert!(nothing_to_learn(&order(100, 101)), "one slot ahead of our clock");
        assert!(nothing_to_learn(&order(100, 102)), "two slots ahead");
        assert!(!nothing_to_learn(&order(100, 103)), "further ahead is not skew");
        assert!(!nothing_to_learn(&order(100, 5)), "a stale signature slot is refused");
        assert!(!nothing_to_learn(&ConsensusError::BadSignature { fork_version: [0; 4] }));
        assert!(!nothing_to_learn(&ConsensusError::FinalityBranch));
    }
}
