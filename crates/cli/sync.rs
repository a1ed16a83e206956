//! `airlock sync`: the light client, once, from the command line.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use airlock_chain::lightclient::{HeadView, SyncConfig, sync as run_sync};
use airlock_verify::consensus::Network;
use eyre::{WrapErr, eyre};

use crate::args::SyncArgs;

pub async fn sync(a: SyncArgs) -> eyre::Result<()> {
    let network = Network::from_name(&a.network)
        .ok_or_else(|| eyre!("unknown network {:?}: use mainnet, sepolia or hoodi", a.network))?;
    let checkpoint = a
        .checkpoint
        .as_deref()
        .map(|c| {
            c.parse()
                .map_err(|_| eyre!("--checkpoint must be a 32-byte hex block root (0x + 64 hex digits), got {c:?}"))
        })
        .transpose()?;
    let dir = a.data_dir.resolve();
    airlock_store::create_private_dir(&dir).wrap_err_with(|| format!("data directory {}", dir.display()))?;
    let log = airlock_store::Store::open(&dir)?;
    let cfg = SyncConfig {
        network,
        consensus_rpc: a.consensus_rpc,
        checkpoint,
        max_checkpoint_age: Duration::from_secs(a.max_checkpoint_age),
        accept_old_checkpoint: a.accept_old_checkpoint,
        timeout: Duration::from_secs(30),
        now: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    };
    let report = run_sync(&cfg, &log).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{}: verified by the light client (sync-committee signatures and Merkle branches), from the {}; {} updates applied.",
        report.network, report.started_from, report.updates_applied
    );
    line("finalized", &report.finalized);
    line("latest signed", &report.optimistic);
    Ok(())
}

fn line(what: &str, h: &HeadView) {
    println!(
        "  {what:<14} slot {}  block {}  hash {}  state root {}  age {}",
        h.slot,
        h.block_number,
        h.block_hash,
        h.state_root,
        crate::render::ago(h.age_secs)
    );
}
