//! `airlock run`: the daemon.

use std::time::Duration;

use airlock_proxy::{Config, VerifyMode};
use eyre::WrapErr;

use crate::args::{RunArgs, Verify};

pub async fn run(a: RunArgs) -> eyre::Result<()> {
    let data_dir = a.data_dir.resolve();
    let cfg = Config {
        upstream: a.upstream,
        listen: a.listen,
        control_listen: a.prompt_listen,
        data_dir: data_dir.clone(),
        verify: match (a.verify, a.checkpoint.as_deref()) {
            (Verify::Unverified, _) => VerifyMode::Unverified,
            (Verify::Checkpoint, Some(c)) => VerifyMode::Checkpoint(
                c.parse()
                    .map_err(|_| eyre::eyre!("--checkpoint must be a block hash (0x + 64 hex digits), got {c:?}"))?,
            ),
            (Verify::Checkpoint, None) => {
                return Err(eyre::eyre!(
                    "--verify checkpoint needs --checkpoint BLOCKHASH: the hash of a block you trust"
                ));
            }
            (Verify::Verified, checkpoint) => {
                let network = airlock_verify::consensus::Network::from_name(&a.network)
                    .ok_or_else(|| eyre::eyre!("unknown network {:?}: use mainnet, sepolia or hoodi", a.network))?;
                let consensus_rpc = a.consensus_rpc.clone().ok_or_else(|| {
                    eyre::eyre!("--verify verified needs --consensus-rpc URL: a beacon node's REST API")
                })?;
                let checkpoint = checkpoint
                    .map(|c| {
                        c.parse().map_err(|_| {
                            eyre::eyre!("--checkpoint must be a beacon block root (0x + 64 hex digits), got {c:?}")
                        })
                    })
                    .transpose()?;
                VerifyMode::LightClient(Box::new(airlock_proxy::LightClientMode {
                    network,
                    consensus_rpc,
                    checkpoint,
                    max_checkpoint_age: Duration::from_secs(a.max_checkpoint_age),
                    accept_old_checkpoint: a.accept_old_checkpoint,
                    max_head_age: Duration::from_secs(a.max_head_age),
                }))
            }
        },
        verified_reads: a.verified_reads == crate::args::OnOff::On,
        decision_timeout: Duration::from_secs(a.decision_timeout),
        upstream_timeout: Duration::from_secs(a.upstream_timeout),
        allow_non_loopback: a.allow_non_loopback,
    };
    let cfg_verify = cfg.verify.clone();
    let handle = airlock_proxy::spawn(cfg).await?;
    eprintln!("Airlock is running. Point your wallet's RPC at http://{}", handle.rpc_addr);
    match cfg_verify {
        VerifyMode::Unverified => eprintln!("Verification: UNVERIFIED (the upstream's state is trusted)."),
        VerifyMode::Checkpoint(h) => eprintln!("Verification: checkpoint (headers must link back to block {h})."),
        VerifyMode::LightClient(lc) => {
            eprintln!("Verification: light client ({}, sync-committee signatures).", lc.network.name())
        }
    }
    eprintln!("Held requests: airlock pending --data-dir {}", data_dir.display());
    wait_for_signal().await?;
    eprintln!("Stopping; requests still waiting are abandoned, never forwarded. (Ctrl-C again to exit at once.)");
    tokio::select! {
        _ = handle.stop() => {}
        _ = wait_for_signal() => eprintln!("Exiting without a clean stop; open items are marked abandoned at the next start."),
    }
    Ok(())
}

/// Ctrl-C, SIGTERM, or the terminal closing (SIGHUP).
pub async fn wait_for_signal() -> eyre::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).wrap_err("cannot listen for SIGTERM")?;
    let mut hup = signal(SignalKind::hangup()).wrap_err("cannot listen for SIGHUP")?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.wrap_err("cannot listen for Ctrl-C")?,
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
    Ok(())
}
