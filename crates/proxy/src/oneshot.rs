//! `airlock simulate`: one request simulated and reported, without a daemon.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_sim::Simulator;
use airlock_store::Store;
use airlock_types::{SimulationReport, TxView, Verification};
use serde::Serialize;

use crate::server::{checked_head, simulate_item, verification_at};
use crate::sources::StateFrom;
use crate::upstream::Upstream;
use crate::{SpawnError, VerifyMode, head_source};

#[derive(Debug)]
pub struct SimulateRequest {
    pub upstream: String,
    /// Holds the light client's stored state (verified mode).
    pub data_dir: PathBuf,
    pub verify: VerifyMode,
    pub timeout: Duration,
    pub tx: TxView,
    /// Simulate on this block instead of the newest verified head (at or below it).
    pub block: Option<u64>,
}

/// What `airlock simulate --json` prints: the same fields a held item carries.
#[derive(Debug, Serialize)]
pub struct Simulated {
    pub verification: Verification,
    pub report: Option<SimulationReport>,
    pub simulation_error: Option<String>,
}

pub async fn simulate(req: SimulateRequest) -> Result<Simulated, SpawnError> {
    let upstream = Arc::new(Upstream::new(&req.upstream, req.timeout).map_err(SpawnError::BadUpstream)?);
    let store = match &req.verify {
        VerifyMode::LightClient(_) => {
            crate::control::create_private_dir(&req.data_dir)
                .map_err(|source| SpawnError::DataDir { path: req.data_dir.clone(), source })?;
            Some(Store::open(&req.data_dir)?)
        }
        _ => None,
    };
    let tracker = head_source(&req.verify, &upstream, store.as_ref(), req.timeout).await?;
    let chain_id = upstream.chain_id().await.map_err(|e| SpawnError::BadUpstream(format!("the upstream: {e}")))?;
    if let Some(claimed) = req.tx.chain_id
        && claimed != chain_id
    {
        return Err(SpawnError::Input(format!(
            "the transaction is for chain {claimed}, but the upstream serves chain {chain_id}"
        )));
    }
    let (mut verification, head) = match (req.block, &tracker) {
        (None, _) => checked_head(tracker.as_ref(), &upstream).await,
        (Some(n), Some(t)) => {
            let head = match t.refresh().await {
                Ok(h) => crate::verified::ancestor(&upstream, &h, n).await,
                Err(e) => Err(e),
            }
            // The pinned block itself is verified, whatever the head above it is.
            .map(|mut h| {
                h.trusted |= t.pinned() == Some(h.hash);
                h
            });
            verification_at(t.mode(), head)
        }
        (Some(n), None) => {
            let (mut v, _) = checked_head(None, &upstream).await;
            let head =
                crate::verified::fetch_header(&upstream, "eth_getBlockByNumber", serde_json::json!(format!("0x{n:x}")))
                    .await
                    .map(|(h, hash)| airlock_sim::Head {
                        facts: crate::verified::facts_of(&h, hash),
                        state_root: h.state_root,
                    });
            v.block_number = head.as_ref().ok().map(|h| h.facts.number);
            v.block_hash = head.as_ref().ok().map(|h| h.facts.hash);
            if let Err(e) = &head {
                v.note = Some(format!("block {n} could not be read: {e}"));
            }
            (v, head.ok())
        }
    };
    let source = match tracker {
        Some(_) => StateFrom::Proven(upstream.clone()),
        None => StateFrom::Trusted(upstream.clone()),
    };
    let sim = Simulator::new(source, chain_id);
    let (report, simulation_error) = simulate_item(&sim, head.as_ref(), &req.tx, &[], &mut verification).await;
    Ok(Simulated { verification, report, simulation_error })
}
