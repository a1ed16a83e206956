//! Head checking: which head an item or a read rests on, and how far it is verified.

use std::sync::Arc;
use std::time::Duration;

use airlock_sim::Head;
use airlock_store::Store;
use airlock_types::{Verification, VerificationStatus};

use crate::upstream::Upstream;
use crate::verified::{HeadSource, HeadTracker, LightClientHead, VerifiedHead, VerifyError};
use crate::{OpenError, VerifyMode, lightclient};

/// Where verified heads come from in `mode`; `None` when unverified.
pub(crate) async fn source(
    mode: &VerifyMode,
    upstream: &Arc<Upstream>,
    store: Option<&Store>,
    timeout: Duration,
) -> Result<Option<HeadSource>, OpenError> {
    Ok(match mode {
        VerifyMode::Unverified => None,
        VerifyMode::Checkpoint(anchor) => {
            Some(HeadSource::Checkpoint(Box::new(HeadTracker::new(upstream.clone(), *anchor))))
        }
        VerifyMode::LightClient(lc) => {
            match upstream.chain_id().await {
                Ok(id) if id != lc.network.chain_id() => {
                    return Err(OpenError::WrongNetwork {
                        upstream: id,
                        network: lc.network.name(),
                        expected: lc.network.chain_id(),
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot check the upstream's chain id yet"),
            }
            let sync = lightclient::SyncConfig {
                network: lc.network,
                consensus_rpc: lc.consensus_rpc.clone(),
                checkpoint: lc.checkpoint,
                max_checkpoint_age: lc.max_checkpoint_age,
                accept_old_checkpoint: lc.accept_old_checkpoint,
                timeout,
                now: unix_now(),
            };
            let store = store.ok_or(OpenError::NoStore)?;
            let session = lightclient::Session::open(sync, store).await?;
            Some(HeadSource::LightClient(Box::new(LightClientHead::new(session, store.clone(), lc.max_head_age))))
        }
    })
}

pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// The newest head, and how far it is verified.
pub(crate) async fn checked(heads: Option<&HeadSource>, upstream: &Upstream) -> (Verification, Option<Head>) {
    let Some(heads) = heads else {
        let head = crate::sources::upstream_head(upstream).await;
        let v = Verification {
            mode: "unverified".into(),
            status: VerificationStatus::Unverified,
            block_number: head.as_ref().ok().map(|h| h.facts.number),
            block_hash: head.as_ref().ok().map(|h| h.facts.hash),
            error: None,
            note: head.as_ref().err().map(|e| format!("the upstream's head could not be read: {e}")),
        };
        return (v, head.ok());
    };
    verification_at(heads.mode(), heads.refresh().await)
}

/// Block `number`: walked down from the verified head, or the upstream's word when unverified.
pub(crate) async fn at(heads: Option<&HeadSource>, upstream: &Upstream, number: u64) -> (Verification, Option<Head>) {
    let Some(heads) = heads else {
        let (mut v, _) = checked(None, upstream).await;
        let block = serde_json::json!(format!("0x{number:x}"));
        let head = crate::verified::fetch_header(upstream, "eth_getBlockByNumber", block)
            .await
            .map(|(h, hash)| Head { facts: crate::verified::facts_of(&h, hash), state_root: h.state_root });
        v.block_number = head.as_ref().ok().map(|h| h.facts.number);
        v.block_hash = head.as_ref().ok().map(|h| h.facts.hash);
        if let Err(e) = &head {
            v.note = Some(format!("block {number} could not be read: {e}"));
        }
        return (v, head.ok());
    };
    let head = match heads.refresh().await {
        Ok(h) => crate::verified::ancestor(upstream, &h, number).await,
        Err(e) => Err(e),
    }
    // The pinned block itself is verified, whatever the head above it is.
    .map(|mut h| {
        h.trusted |= heads.pinned() == Some(h.hash);
        h
    });
    verification_at(heads.mode(), head)
}

/// How far `head` is verified, in the item's terms.
pub(crate) fn verification_at(mode: &str, head: Result<VerifiedHead, VerifyError>) -> (Verification, Option<Head>) {
    let (status, head, error, note) = match head {
        Ok(head) if head.trusted => (VerificationStatus::Verified, Some(head), None, None),
        Ok(head) => (
            VerificationStatus::Unverified,
            Some(head),
            None,
            Some("this block links back to the pinned block, but without a beacon API its state cannot be verified"),
        ),
        Err(e) => (VerificationStatus::Failed, None, Some(e.to_string()), None),
    };
    let v = Verification {
        mode: mode.to_owned(),
        status,
        block_number: head.as_ref().map(|h| h.number),
        block_hash: head.as_ref().map(|h| h.hash),
        error,
        note: note.map(str::to_owned),
    };
    (v, head.map(|h| Head { facts: h.facts, state_root: h.state_root }))
}
