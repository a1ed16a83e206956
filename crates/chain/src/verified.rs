//! Verified state for the proxy: which head to trust, and reads answered from Merkle proofs
//! against its state root instead of from the upstream's word.
//!
//! Checkpoint mode (chains without a beacon API: devnets, anvil): the person pins a block hash.
//! Only that block is verified: a hash commits to its parent, not to its children, so a newer
//! header that links back to the pin proves the upstream is on the pinned chain, not that the
//! header is real. Items at newer heads are marked unverified (with the link checked); reads
//! are still proof-checked against the linked header, which catches an inconsistent upstream
//! but not one that invents a whole consistent block.

use std::sync::Arc;

use airlock_types::BlockFacts;
use airlock_verify::{ProofError, VerifiedAccount, verify_account, verify_code, verify_header};
use alloy_consensus::Header;
use alloy_primitives::{Address, B256, U256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use serde_json::value::RawValue;
use tokio::sync::Mutex;

use crate::upstream::{Upstream, UpstreamError};

/// How many headers one refresh may walk back to link a new head (a devnet that moved further
/// than this since the last refresh is re-anchored only through the pinned block).
const MAX_LINK_WALK: usize = 4096;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The beacon API could not be reached and no fresh verified head is left.
    #[error("{0}")]
    Beacon(String),
    /// The upstream's data does not verify: an attack or a broken node.
    #[error("verification failed: {0}")]
    Failed(String),
}

impl From<ProofError> for VerifyError {
    fn from(e: ProofError) -> Self {
        VerifyError::Failed(e.to_string())
    }
}

/// The head reads and items rest on.
#[derive(Debug, Clone)]
pub struct VerifiedHead {
    /// Its block number.
    pub number: u64,
    /// Its block hash.
    pub hash: B256,
    /// The state root reads and simulations are proven against.
    pub state_root: B256,
    /// True when the head itself is verified (signed by the committee, or the pinned block);
    /// false for a checkpoint-mode head newer than the pin, which is only linked to it.
    pub trusted: bool,
    /// The block environment a simulation on this head uses.
    pub facts: BlockFacts,
}

/// The block environment in an execution header (verified by its hash).
pub fn facts_of(h: &Header, hash: B256) -> BlockFacts {
    BlockFacts {
        number: h.number,
        hash,
        timestamp: h.timestamp,
        base_fee: h.base_fee_per_gas.unwrap_or(0),
        gas_limit: h.gas_limit,
        coinbase: h.beneficiary,
        prevrandao: h.mix_hash,
        excess_blob_gas: h.excess_blob_gas,
        gas_used: h.gas_used,
    }
}

/// Tracks the newest header linked to the pinned block.
#[derive(Debug)]
pub struct HeadTracker {
    /// Where headers come from (each checked against its hash).
    upstream: Arc<Upstream>,
    /// The block hash the person pinned.
    anchor: B256,
    /// The newest linked head, and when the refresh that found it asked for the latest block.
    newest: Mutex<Option<(VerifiedHead, std::time::Instant)>>,
}

impl HeadTracker {
    pub fn new(upstream: Arc<Upstream>, anchor: B256) -> Self {
        HeadTracker { upstream, anchor, newest: Mutex::new(None) }
    }

    async fn header(&self, method: &str, param: serde_json::Value) -> Result<(Header, B256), VerifyError> {
        fetch_header(&self.upstream, method, param).await
    }

    /// The newest upstream header, verified by hash and linked to the pinned block.
    pub async fn refresh(&self) -> Result<VerifiedHead, VerifyError> {
        let arrived = std::time::Instant::now();
        let mut newest = self.newest.lock().await;
        // Callers that queued behind a refresh which asked for the latest block after they
        // arrived share its answer: as fresh as asking themselves, one request instead of many.
        if let Some((head, asked)) = &*newest
            && *asked >= arrived
        {
            return Ok(head.clone());
        }
        let asked = std::time::Instant::now();
        let (latest, latest_hash) = self.header("eth_getBlockByNumber", serde_json::json!("latest")).await?;
        let pinned = match newest.as_ref().map(|(h, _)| h.clone()) {
            Some(known) => match self.link(&latest, latest_hash, &known).await {
                Ok(()) => None,
                // Blocks after the pin were only ever linked, never trusted: a devnet that
                // reorganised them is linked again from the pin itself.
                Err(e) if known.hash != self.anchor => {
                    tracing::info!(error = %e, "the chain changed after the pinned block; linking from the pin again");
                    Some(self.pinned().await?)
                }
                Err(e) => return Err(e),
            },
            None => Some(self.pinned().await?),
        };
        if let Some(pinned) = pinned {
            self.link(&latest, latest_hash, &pinned).await?;
        }
        let head = VerifiedHead {
            number: latest.number,
            hash: latest_hash,
            state_root: latest.state_root,
            trusted: latest_hash == self.anchor,
            facts: facts_of(&latest, latest_hash),
        };
        *newest = Some((head.clone(), asked));
        Ok(head)
    }

    /// The pinned block, fetched and checked against its hash.
    async fn pinned(&self) -> Result<VerifiedHead, VerifyError> {
        let (pinned, hash) = self.header("eth_getBlockByHash", serde_json::json!(self.anchor)).await?;
        if hash != self.anchor {
            return Err(VerifyError::Failed(format!("asked for the pinned block {}, got block {hash}", self.anchor)));
        }
        Ok(VerifiedHead {
            number: pinned.number,
            hash: self.anchor,
            state_root: pinned.state_root,
            trusted: true,
            facts: facts_of(&pinned, self.anchor),
        })
    }

    /// Walks parent hashes from `latest` back to `known`'s height and checks it arrives at `known`.
    async fn link(&self, latest: &Header, latest_hash: B256, known: &VerifiedHead) -> Result<(), VerifyError> {
        if latest.number < known.number {
            return Err(VerifyError::Failed(format!(
                "the upstream's latest block {} is older than the verified block {}",
                latest.number, known.number
            )));
        }
        let (mut cursor, mut cursor_hash) = (latest.clone(), latest_hash);
        for _ in 0..MAX_LINK_WALK {
            if cursor.number == known.number {
                if cursor_hash != known.hash {
                    return Err(VerifyError::Failed(format!(
                        "block {} has hash {cursor_hash}, but the verified chain has {} there",
                        cursor.number, known.hash
                    )));
                }
                return Ok(());
            }
            let parent = cursor.parent_hash;
            let (h, hash) = self.header("eth_getBlockByHash", serde_json::json!(parent)).await?;
            if hash != parent || h.number.checked_add(1) != Some(cursor.number) {
                return Err(VerifyError::Failed(format!("block {} does not link to its parent", cursor.number)));
            }
            (cursor, cursor_hash) = (h, hash);
        }
        Err(VerifyError::Failed(format!("the latest block is more than {MAX_LINK_WALK} blocks past the verified one")))
    }
}

/// Block `number` at or below `head`, reached by walking parent hashes down from it: a hash
/// commits to its parent, so an ancestor of a verified block is verified too.
pub async fn ancestor(upstream: &Upstream, head: &VerifiedHead, number: u64) -> Result<VerifiedHead, VerifyError> {
    if number > head.number {
        return Err(VerifyError::Failed(format!("block {number} is newer than the verified head {}", head.number)));
    }
    if head.number - number > MAX_LINK_WALK as u64 {
        return Err(VerifyError::Failed(format!(
            "block {number} is more than {MAX_LINK_WALK} blocks below the verified head {}",
            head.number
        )));
    }
    let (mut cursor, mut cursor_hash) =
        fetch_header(upstream, "eth_getBlockByHash", serde_json::json!(head.hash)).await?;
    if cursor_hash != head.hash {
        return Err(VerifyError::Failed(format!("asked for block {}, got {cursor_hash}", head.hash)));
    }
    while cursor.number > number {
        let parent = cursor.parent_hash;
        let (h, hash) = fetch_header(upstream, "eth_getBlockByHash", serde_json::json!(parent)).await?;
        if hash != parent || h.number.checked_add(1) != Some(cursor.number) {
            return Err(VerifyError::Failed(format!("block {} does not link to its parent", cursor.number)));
        }
        (cursor, cursor_hash) = (h, hash);
    }
    Ok(VerifiedHead {
        number,
        hash: cursor_hash,
        state_root: cursor.state_root,
        trusted: head.trusted,
        facts: facts_of(&cursor, cursor_hash),
    })
}

/// A header from the upstream, checked to hash to the hash the upstream gives with it.
pub async fn fetch_header(
    upstream: &Upstream,
    method: &str,
    param: serde_json::Value,
) -> Result<(Header, B256), VerifyError> {
    let params = serde_json::value::to_raw_value(&serde_json::json!([param, false]))
        .map_err(|e| VerifyError::Failed(e.to_string()))?;
    let raw = upstream.request(method, Some(&params)).await?;
    let h: alloy_rpc_types_eth::Header = serde_json::from_str(raw.get())
        .map_err(|e| VerifyError::Failed(format!("{method} answered something that is not a block header: {e}")))?;
    // The hash the upstream claims must be the header's own.
    verify_header(&h.inner, h.hash)?;
    Ok((h.inner, h.hash))
}

/// Where verified heads come from.
#[derive(Debug)]
pub enum HeadSource {
    Checkpoint(Box<HeadTracker>),
    LightClient(Box<LightClientHead>),
}

impl HeadSource {
    /// The mode's name in reports.
    pub fn mode(&self) -> &'static str {
        match self {
            HeadSource::Checkpoint(_) => "checkpoint",
            HeadSource::LightClient(_) => "verified",
        }
    }

    /// The pinned block hash, in checkpoint mode.
    pub fn pinned(&self) -> Option<B256> {
        match self {
            HeadSource::Checkpoint(t) => Some(t.anchor),
            HeadSource::LightClient(_) => None,
        }
    }

    pub async fn refresh(&self) -> Result<VerifiedHead, VerifyError> {
        match self {
            HeadSource::Checkpoint(t) => t.refresh().await,
            HeadSource::LightClient(l) => l.refresh().await,
        }
    }
}

/// The light client's newest header signed by at least 2/3 of the sync committee, kept fresh
/// from the beacon API.
#[derive(Debug)]
pub struct LightClientHead {
    /// The light client, and when it last asked the beacon API for updates.
    session: Mutex<(crate::lightclient::Session, Option<std::time::Instant>)>,
    /// Where its verified state is kept between runs.
    log: airlock_store::Store,
    /// A head older than this is refused.
    max_age: std::time::Duration,
}

/// Slot time on the networks Airlock knows: asking the beacon API more often gains nothing.
const ADVANCE_EVERY: std::time::Duration = std::time::Duration::from_secs(6);

impl LightClientHead {
    pub fn new(session: crate::lightclient::Session, log: airlock_store::Store, max_age: std::time::Duration) -> Self {
        LightClientHead { session: Mutex::new((session, None)), log, max_age }
    }

    pub async fn refresh(&self) -> Result<VerifiedHead, VerifyError> {
        use crate::lightclient::SyncError;
        let mut guard = self.session.lock().await;
        let (session, last) = &mut *guard;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        let mut unreachable = None;
        if last.is_none_or(|t| t.elapsed() >= ADVANCE_EVERY) {
            match session.advance(now).await {
                Ok(_) => {
                    *last = Some(std::time::Instant::now());
                    if let Err(e) = session.persist(&self.log) {
                        tracing::warn!(error = %e, "could not keep the verified light-client state");
                    }
                }
                // A beacon API that is briefly away: the last verified head serves while fresh.
                Err(e @ SyncError::Fetch { .. }) => unreachable = Some(e.to_string()),
                Err(e) => return Err(VerifyError::Failed(e.to_string())),
            }
        }
        // Not the spec's optimistic header: it may rest on one signature after a bootstrap.
        let h = &session.store.supermajority_header;
        fresh(h.execution.block_number, h.execution.timestamp, now, self.max_age, unreachable)?;
        Ok(VerifiedHead {
            number: h.execution.block_number,
            hash: h.execution.block_hash,
            state_root: h.execution.state_root,
            trusted: true,
            facts: BlockFacts {
                number: h.execution.block_number,
                hash: h.execution.block_hash,
                timestamp: h.execution.timestamp,
                base_fee: h.execution.base_fee_per_gas.saturating_to(),
                gas_limit: h.execution.gas_limit,
                coinbase: h.execution.fee_recipient,
                prevrandao: h.execution.prev_randao,
                excess_blob_gas: h.execution.excess_blob_gas,
                gas_used: h.execution.gas_used,
            },
        })
    }
}

/// A verified head older than `max_age` at `now` (unix seconds, the wall clock: a monotonic
/// clock stops while the machine sleeps, and a head must not look younger after a suspend) is
/// not used. With the beacon API unreachable that is the beacon's fault; reachable, it is
/// behind, which the person must hear about as a failed verification.
fn fresh(
    block: u64,
    timestamp: u64,
    now: u64,
    max_age: std::time::Duration,
    unreachable: Option<String>,
) -> Result<(), VerifyError> {
    let age = now.saturating_sub(timestamp);
    if age <= max_age.as_secs() {
        return Ok(());
    }
    let why = format!(
        "the newest verified head (block {block}) is {age} s old, more than the {} s allowed",
        max_age.as_secs()
    );
    Err(match unreachable {
        Some(u) => VerifyError::Beacon(format!("{why}, and {u}")),
        None => VerifyError::Failed(format!("{why}: is the beacon API behind?")),
    })
}

/// An account (and slots) at `head`, proven against its state root.
pub async fn account(
    upstream: &Upstream,
    head: &VerifiedHead,
    address: Address,
    slots: &[B256],
) -> Result<VerifiedAccount, VerifyError> {
    let params = serde_json::value::to_raw_value(&serde_json::json!([address, slots, format!("0x{:x}", head.number)]))
        .map_err(|e| VerifyError::Failed(e.to_string()))?;
    let raw = upstream.request("eth_getProof", Some(&params)).await?;
    let proof: EIP1186AccountProofResponse = serde_json::from_str(raw.get())
        .map_err(|e| VerifyError::Failed(format!("eth_getProof answered something that is not a proof: {e}")))?;
    Ok(verify_account(head.state_root, address, slots, &proof)?)
}

enum BlockWanted {
    Head,
    Number(u64),
}

/// The read methods answered from verified state, and how.
pub fn is_verified_read(method: &str) -> bool {
    matches!(
        method,
        "eth_blockNumber" | "eth_getBalance" | "eth_getTransactionCount" | "eth_getCode" | "eth_getStorageAt"
    )
}

/// Answers a verified read, or `None` when the request asks about a block other than the
/// verified head (an explicit older block, "pending") or is malformed: those pass through,
/// unverified, and the node answers them as it would.
pub async fn answer(
    upstream: &Upstream,
    tracker: &HeadSource,
    method: &str,
    params: Option<&RawValue>,
) -> Result<Option<Box<RawValue>>, VerifyError> {
    let list: Vec<serde_json::Value> = match params {
        Some(p) => serde_json::from_str(p.get()).unwrap_or_default(),
        None => vec![],
    };
    let to_raw =
        |v: serde_json::Value| serde_json::value::to_raw_value(&v).map_err(|e| VerifyError::Failed(e.to_string()));
    if method == "eth_blockNumber" {
        let head = tracker.refresh().await?;
        return Ok(Some(to_raw(serde_json::Value::from(format!("0x{:x}", head.number)))?));
    }
    let block_at = if method == "eth_getStorageAt" { 2 } else { 1 };
    // Which block the request asks about. A missing parameter is the node's to refuse; "safe",
    // "finalized", other numbers and block hashes are other blocks than the head: they pass
    // through, unverified, as documented.
    let wanted = match list.get(block_at) {
        Some(serde_json::Value::String(tag)) if tag == "latest" || tag == "pending" => BlockWanted::Head,
        Some(serde_json::Value::String(n)) if n.starts_with("0x") => match u64::from_str_radix(&n[2..], 16) {
            Ok(n) => BlockWanted::Number(n),
            Err(_) => return Ok(None),
        },
        _ => return Ok(None),
    };
    let Some(addr) = list.first().and_then(|v| v.as_str()).and_then(|a| a.parse::<Address>().ok()) else {
        return Ok(None);
    };
    let head = tracker.refresh().await?;
    if let BlockWanted::Number(n) = wanted
        && n != head.number
    {
        return Ok(None);
    }
    let quantity = |v: U256| to_raw(serde_json::Value::from(format!("{v:#x}")));
    match method {
        "eth_getBalance" | "eth_getTransactionCount" => {
            let acc = account(upstream, &head, addr, &[]).await?;
            let v = if method == "eth_getBalance" { acc.balance } else { U256::from(acc.nonce) };
            Ok(Some(quantity(v)?))
        }
        "eth_getCode" => {
            let acc = account(upstream, &head, addr, &[]).await?;
            let params = to_raw(serde_json::json!([addr, format!("0x{:x}", head.number)]))?;
            let raw = upstream.request("eth_getCode", Some(&params)).await?;
            let code: alloy_primitives::Bytes = serde_json::from_str(raw.get())
                .map_err(|e| VerifyError::Failed(format!("eth_getCode answered something that is not code: {e}")))?;
            verify_code(&acc, &code)?;
            // The checked bytes, in one spelling, not the upstream's text.
            Ok(Some(to_raw(serde_json::json!(code))?))
        }
        "eth_getStorageAt" => {
            // Only 0x-hex of at most 32 bytes: "10" is 0x10 to some nodes and 10 to others.
            let Some(slot) = list
                .get(1)
                .and_then(|v| v.as_str())
                .and_then(|s| s.strip_prefix("0x"))
                .filter(|h| !h.is_empty() && h.len() <= 64 && h.chars().all(|c| c.is_ascii_hexdigit()))
                .and_then(|h| U256::from_str_radix(h, 16).ok())
            else {
                return Ok(None);
            };
            let slot = B256::from(slot);
            let acc = account(upstream, &head, addr, &[slot]).await?;
            let value = acc.slot(slot).unwrap_or_default();
            Ok(Some(to_raw(serde_json::Value::from(format!("{}", B256::from(value))))?))
        }
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The head-age limit, at the edge and past it, with the beacon API there and away.
    #[test]
    fn a_head_older_than_the_limit_is_refused_and_says_why() {
        let max = Duration::from_secs(60);
        assert!(fresh(7, 1_000, 1_060, max, None).is_ok(), "exactly the limit is still fresh");
        assert!(fresh(7, 1_000, 990, max, None).is_ok(), "a clock slightly behind the header is fine");
        match fresh(7, 1_000, 1_061, max, None) {
            Err(VerifyError::Failed(m)) => {
                assert!(m.contains("block 7") && m.contains("61 s old") && m.contains("beacon API behind"), "{m}")
            }
            other => panic!("expected a failed verification, got {other:?}"),
        }
        match fresh(7, 1_000, 5_000, max, Some("the beacon API at http://b failed".into())) {
            Err(VerifyError::Beacon(m)) => assert!(m.contains("4000 s old") && m.contains("http://b"), "{m}"),
            other => panic!("expected the beacon API blamed, got {other:?}"),
        }
    }
}
