//! `airlock run`: the daemon.

use std::time::Duration;

use airlock_proxy::{Config, VerifyMode};
use airlock_verify::consensus::Network;
use eyre::WrapErr;

use airlock_explain::SandboxChoice;

use crate::args::{ModelProcess, ModelSandbox, RunArgs, Verify, VerifyArgs};

/// The model backend the flags ask for; None: the template alone.
async fn explainer(a: &RunArgs) -> eyre::Result<Option<airlock_explain::Backend>> {
    let timeout = Duration::from_secs(a.model_timeout);
    let max_tokens = a.model_max_tokens;
    if let Some(path) = a.model.as_deref().filter(|p| !p.as_os_str().is_empty()) {
        eprintln!("Loading the model {} …", path.display());
        if a.model_process == ModelProcess::InProcess {
            if a.model_dequantize {
                eyre::bail!("--model-dequantize applies to the model worker; drop --model-process in-process");
            }
            let model = airlock_explain::Local::load(path)?;
            eprintln!("Model loaded in-process: {} ({})", model.source(), model.arch);
            return Ok(Some(airlock_explain::Backend::Local { model, timeout, max_tokens }));
        }
        let choice = match a.model_sandbox {
            ModelSandbox::Auto => SandboxChoice::Auto,
            ModelSandbox::Bwrap => SandboxChoice::Bwrap,
            ModelSandbox::Landlock => SandboxChoice::Landlock,
        };
        let options = airlock_explain::WorkerOptions { dequantize: a.model_dequantize };
        let exe = std::env::current_exe().wrap_err("cannot find Airlock's own executable for the model worker")?;
        let worker = airlock_explain::Worker::start(&exe, path, choice, options)
            .await
            .wrap_err("the model worker did not start (--model-process in-process runs the model without a sandbox)")?;
        eprintln!(
            "Model loaded in a worker: {} ({}, weights {}); sandbox: {}",
            worker.source, worker.arch, worker.weights, worker.sandbox
        );
        return Ok(Some(airlock_explain::Backend::Worker { worker, timeout, max_tokens }));
    }
    Ok(a.model_endpoint.as_deref().filter(|u| !u.trim().is_empty()).map(|url| {
        airlock_explain::Backend::Endpoint(airlock_explain::Endpoint {
            url: url.to_owned(),
            model: a.model_name.clone(),
            timeout,
            max_tokens: max_tokens as u32,
        })
    }))
}

/// The managed accounts, unlocked: when --keystore names a directory, or the data directory's
/// keystore holds keys. A wrong password stops the start: nothing runs half-unlocked.
fn signer(a: &RunArgs, data_dir: &std::path::Path) -> eyre::Result<Option<std::sync::Arc<airlock_signer::Signer>>> {
    let dir = crate::keys::dir(&a.keys, data_dir);
    let ks = match (&a.keys.keystore, dir.is_dir()) {
        (Some(_), _) | (None, true) => airlock_signer::Keystore::open(&dir)?,
        (None, false) => return Ok(None),
    };
    let files = ks.list()?;
    if files.is_empty() {
        if a.keys.keystore.is_some() {
            eyre::bail!(
                "the keystore {} holds no keys: `airlock keys new` or `airlock keys import` adds one",
                dir.display()
            );
        }
        return Ok(None);
    }
    for w in files.iter().filter_map(|f| f.warning.as_ref()) {
        eprintln!("warning: {w}");
    }
    let mut keys = a.keys.clone();
    if keys.password_file.is_none() && keys.password_env.is_none() {
        keys.password_env = signer_config(a)?.password_env;
    }
    let password = crate::keys::password(&keys)?;
    let started = std::time::Instant::now();
    let signer = ks.unlock(&password)?;
    eprintln!(
        "Unlocked {} managed account(s) in {} ms: {}",
        files.len(),
        started.elapsed().as_millis(),
        signer.accounts().iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>().join(", ")
    );
    Ok(Some(std::sync::Arc::new(signer)))
}

fn signer_config(a: &RunArgs) -> eyre::Result<airlock_signer::SignerConfig> {
    Ok(match a.policy.config_file() {
        Some(path) => airlock_signer::SignerConfig::load(&path)?,
        None => airlock_signer::SignerConfig::default(),
    })
}

pub async fn run(a: RunArgs) -> eyre::Result<()> {
    let open_page = a.open;
    let data_dir = a.data_dir.resolve();
    let signer = signer(&a, &data_dir)?;
    let allow_eth_sign = signer_config(&a)?.allow_eth_sign;
    let explainer = explainer(&a).await?;
    let cfg = Config {
        upstream: a.upstream.clone(),
        listen: a.listen,
        control_listen: a.prompt_listen,
        data_dir: data_dir.clone(),
        verify: verify_mode(&a.upstream, a.upstream_timeout, a.verify).await?,
        verified_reads: a.verified_reads == crate::args::OnOff::On,
        decision_timeout: Duration::from_secs(a.decision_timeout),
        upstream_timeout: Duration::from_secs(a.upstream_timeout),
        allow_non_loopback: a.allow_non_loopback,
        explainer,
        private_relay: a.private_relay.clone(),
        reply: match a.reply {
            crate::args::ReplyWhen::AtOnce => airlock_proxy::Reply::AtOnce,
            crate::args::ReplyWhen::AfterDecision => airlock_proxy::Reply::AfterDecision,
        },
        rules_dirs: a.policy.rules.clone(),
        policy: match a.policy.config_file() {
            Some(path) => airlock_policy::PolicyConfig::load(&path)?,
            None => airlock_policy::PolicyConfig::default(),
        },
        signer,
        allow_eth_sign,
        limits: a.limits.limits(),
        max_inflight_body_bytes: (a.limits.max_inflight_body_bytes as usize).max(a.limits.max_body_bytes as usize),
        upstream_connections: a.limits.upstream_connections as usize,
        held_limits: a.limits.held(),
        intel: match a.policy.config_file() {
            Some(path) => airlock_intel::IntelConfig::load(&path)?,
            None => airlock_intel::IntelConfig::default(),
        },
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
    let page = page_url(&handle);
    eprintln!("Decide on the page: {page}");
    eprintln!("Held requests: airlock pending --data-dir {}", data_dir.display());
    if open_page {
        open_in_browser(&page);
    }
    wait_for_signal().await?;
    eprintln!("Stopping; requests still waiting are abandoned, never forwarded. (Ctrl-C again to exit at once.)");
    tokio::select! {
        _ = handle.stop() => {}
        _ = wait_for_signal() => eprintln!("Exiting without a clean stop; open items are marked abandoned at the next start."),
    }
    Ok(())
}

/// The verification mode the arguments ask for, checked; without --verify, the light client on
/// the networks it knows and unverified elsewhere.
pub async fn verify_mode(upstream: &str, timeout: u64, mut a: VerifyArgs) -> eyre::Result<VerifyMode> {
    // Empty environment variables (as compose passes unset ones) mean "not given".
    for v in [&mut a.checkpoint, &mut a.consensus_rpc, &mut a.network] {
        if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
            *v = None;
        }
    }
    Ok(match (resolve_mode(upstream, timeout, &a).await?, a.checkpoint.as_deref()) {
        (Verify::Unverified, _) => VerifyMode::Unverified,
        (Verify::Checkpoint, Some(c)) => VerifyMode::Checkpoint(
            c.parse().map_err(|_| eyre::eyre!("--checkpoint must be a block hash (0x + 64 hex digits), got {c:?}"))?,
        ),
        (Verify::Checkpoint, None) => {
            return Err(eyre::eyre!("--verify checkpoint needs --checkpoint BLOCKHASH: the hash of a block you trust"));
        }
        (Verify::Verified, checkpoint) => {
            let network = match &a.network {
                Some(name) => Network::from_name(name)
                    .ok_or_else(|| eyre::eyre!("unknown network {name:?}: use mainnet, sepolia or hoodi"))?,
                None => upstream_network(upstream, timeout).await?.ok_or_else(|| {
                    eyre::eyre!("the upstream's chain is not mainnet, sepolia or hoodi: pass --network, or use --verify checkpoint")
                })?,
            };
            let consensus_rpc = a
                .consensus_rpc
                .clone()
                .ok_or_else(|| eyre::eyre!("--verify verified needs --consensus-rpc URL: a beacon node's REST API"))?;
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
    })
}

/// The known network the upstream serves, by its chain id (`None` for any other chain).
async fn upstream_network(upstream: &str, timeout: u64) -> eyre::Result<Option<Network>> {
    let upstream =
        airlock_chain::Upstream::new(upstream, Duration::from_secs(timeout.min(10))).map_err(|e| eyre::eyre!(e))?;
    let id = upstream.chain_id().await.map_err(|e| {
        eyre::eyre!("cannot tell which chain the upstream serves ({e}), so cannot choose how to verify it: pass --verify explicitly")
    })?;
    Ok([Network::Mainnet, Network::Sepolia, Network::Hoodi].into_iter().find(|n| n.chain_id() == id))
}

/// `--verify` as given; without it, the light client on the networks it knows (fail closed:
/// it then needs a beacon API) and unverified elsewhere.
async fn resolve_mode(upstream: &str, timeout: u64, a: &VerifyArgs) -> eyre::Result<Verify> {
    if let Some(v) = a.mode {
        return Ok(v);
    }
    let network = match upstream_network(upstream, timeout).await {
        Ok(n) => n,
        // Airlock starts while the upstream is down (it reconnects later); it cannot know the
        // chain, so it runs unverified and every item says so. --verify verified insists.
        Err(e) => {
            tracing::warn!("{e:#}; starting UNVERIFIED (pass --verify verified to require the light client)");
            None
        }
    };
    match network {
        Some(n) if a.consensus_rpc.is_none() => Err(eyre::eyre!(
            "the upstream serves {} (chain {}), which Airlock verifies with its light client by default: pass \
             --consensus-rpc URL (a beacon node's REST API; and --checkpoint ROOT the first time), or \
             --verify unverified to trust the upstream",
            n.name(),
            n.chain_id()
        )),
        Some(_) => Ok(Verify::Verified),
        None => Ok(Verify::Unverified),
    }
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

/// The confirmation page's address, with this run's token.
pub fn page_url(handle: &airlock_proxy::Handle) -> String {
    format!("http://{}/?token={}", handle.control_addr, handle.token)
}

/// Opens `page` in the person's own browser (xdg-open); Airlock itself never fetches anything.
pub fn open_in_browser(page: &str) {
    let opened = std::process::Command::new("xdg-open")
        .arg(page)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = opened {
        eprintln!("could not open a browser ({e}); open the address above yourself");
    }
}
