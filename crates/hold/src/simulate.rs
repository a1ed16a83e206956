//! `airlock simulate`: one request assessed and reported, without a daemon.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_chain::{Chain, OpenError, Upstream, UpstreamError, VerifyMode};
use airlock_store::{Store, StoreError};
use airlock_types::{SimulationReport, TxView, Verification};
use serde::Serialize;

use crate::decode::Request;
use crate::pipeline::{How, Pipeline};

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

/// Why `airlock simulate` could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SimulateError {
    #[error("the upstream: {0}")]
    Upstream(#[from] UpstreamError),
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Assess(#[from] crate::errors::Error),
}

pub async fn simulate(req: SimulateRequest) -> Result<Simulated, SimulateError> {
    let upstream = Arc::new(Upstream::new(&req.upstream, req.timeout)?);
    let store = match &req.verify {
        VerifyMode::LightClient(_) => {
            airlock_store::create_private_dir(&req.data_dir)
                .map_err(|source| SimulateError::DataDir { path: req.data_dir.clone(), source })?;
            Some(Store::open(&req.data_dir)?)
        }
        _ => None,
    };
    let chain = Arc::new(Chain::open(upstream.clone(), &req.verify, store.as_ref(), req.timeout).await?);
    // Unreachable upstream: say so, rather than report a simulation that could not start.
    upstream.chain_id().await?;
    let request = Request {
        method: "airlock_simulate".into(),
        params: serde_json::value::to_raw_value(&serde_json::json!([]))
            .map_err(|e| crate::errors::Error::Input(crate::errors::InputError(e.to_string())))?,
        key: Default::default(),
        claimed_chain_id: req.tx.chain_id,
        tx: Some(req.tx),
        calls: vec![],
        sign: None,
        atomic_required: false,
        intent: None,
    };
    let a = Pipeline::reporting(chain).assess(&request, How::Simulate(req.block)).await?;
    Ok(Simulated { verification: a.verification, report: a.report, simulation_error: a.simulation_error })
}
