//! airlock-proxy: Airlock's JSON-RPC endpoint and the wiring of its pipeline.
//!
//! [`spawn`] starts the whole daemon from a [`Config`] on the listeners it asks for (port 0 in
//! tests) and returns a [`Handle`]. Reads go to the upstream verbatim; every request that would
//! sign or send is held in the [`queue::Queue`] until the person decides through the control API
//! (crate `airlock-prompt`), which listens on its own loopback port with a per-run token written
//! to `control.json` in the data directory, readable only by the user.

pub mod approvals;
pub mod control;
pub mod decode;
pub mod errors;
pub mod gas;
pub mod guard;
pub mod judge;
pub mod lightclient;
pub mod oneshot;
pub mod queue;
pub mod recheck;
pub mod server;
pub mod sources;
pub mod swaps;
pub mod upstream;
pub mod verified;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_prompt::ApiConfig;
use airlock_store::{Store, StoreError};
use alloy_primitives::{B128, B256};
use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::core::traits::IdProvider;
use jsonrpsee::server::{ServerConfig, ServerHandle};
use jsonrpsee::types::SubscriptionId;

pub use control::ControlFile;
pub use queue::Queue;

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
    pub network: airlock_verify::consensus::Network,
    pub consensus_rpc: String,
    /// Trusted beacon block root; without it, the state stored in the data directory.
    pub checkpoint: Option<B256>,
    pub max_checkpoint_age: Duration,
    pub accept_old_checkpoint: bool,
    /// A head older than this is not used: reads and items say verification failed.
    pub max_head_age: Duration,
}

/// Everything `airlock run` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node Airlock stands in front of: http(s) or ws(s).
    pub upstream: String,
    /// Where wallets connect (HTTP and WebSocket on one port).
    pub listen: SocketAddr,
    /// Where the control API (and later the prompt page) listens.
    pub control_listen: SocketAddr,
    /// Audit log, control file. Created with mode 0700.
    pub data_dir: PathBuf,
    pub verify: VerifyMode,
    /// How long a held request waits for a decision before it expires unforwarded.
    pub decision_timeout: Duration,
    /// How long any single upstream call may take.
    pub upstream_timeout: Duration,
    /// Listening on a non-loopback address exposes the endpoint to the network; only with this.
    pub allow_non_loopback: bool,
    /// In a verified mode, answer balance, nonce, code, storage and block-number reads from
    /// proofs instead of passing them through.
    pub verified_reads: bool,
    /// Directories with the person's own rule files and lists (`--rules`).
    pub rules_dirs: Vec<PathBuf>,
    /// Per-rule settings and the spending policy, from the config file.
    pub policy: airlock_policy::PolicyConfig,
    /// A local model that explains held items (none: the template only).
    pub explainer: Option<airlock_explain::Backend>,
    /// Where approved signed swaps go instead of the upstream (`--private-relay`).
    pub private_relay: Option<String>,
}

impl Config {
    /// Defaults for a daemon in front of `upstream` keeping its data in `data_dir`, on the
    /// standard ports.
    pub fn new(upstream: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Config {
            upstream: upstream.into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8545)),
            control_listen: SocketAddr::from(([127, 0, 0, 1], 8549)),
            data_dir: data_dir.into(),
            verify: VerifyMode::Unverified,
            decision_timeout: Duration::from_secs(600),
            upstream_timeout: Duration::from_secs(30),
            allow_non_loopback: false,
            verified_reads: true,
            rules_dirs: vec![],
            policy: airlock_policy::PolicyConfig::default(),
            explainer: None,
            private_relay: None,
        }
    }

    /// Like [`Config::new`] on free ports: what tests use.
    pub fn test(upstream: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        let mut cfg = Config::new(upstream, data_dir);
        cfg.listen.set_port(0);
        cfg.control_listen.set_port(0);
        cfg
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("{0}")]
    BadUpstream(String),
    #[error(
        "refusing to listen on {0}: it is not a loopback address, so anyone on the network could use the endpoint; pass --allow-non-loopback if that is really wanted"
    )]
    NotLoopback(SocketAddr),
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind { what: &'static str, addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("the upstream serves chain {upstream}, but --network {network} is chain {expected}")]
    WrongNetwork { upstream: u64, network: &'static str, expected: u64 },
    #[error("{0}")]
    Input(String),
    #[error("rules: {0}")]
    Rules(#[from] airlock_policy::RuleError),
    #[error("the light client could not start: {0}")]
    LightClient(String),
}

/// Largest request a wallet may send (a blob transaction with six blobs is about 1.6 MB in hex).
const MAX_REQUEST_BYTES: u32 = 16 * 1024 * 1024;
/// Largest answer passed back (matches what the upstream client accepts).
const MAX_RESPONSE_BYTES: u32 = 256 * 1024 * 1024;

/// A running daemon.
#[derive(Debug)]
pub struct Handle {
    /// Where wallets connect.
    pub rpc_addr: SocketAddr,
    /// Where the control API listens.
    pub control_addr: SocketAddr,
    /// The control API's per-run token.
    pub token: String,
    pub queue: Arc<Queue>,
    control_file: PathBuf,
    server: ServerHandle,
    control_stop: tokio::sync::oneshot::Sender<()>,
    control_task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Stops the daemon: open items are abandoned (their clients told so, nothing forwarded),
    /// the listeners close, and the control file is removed.
    pub async fn stop(self) {
        self.queue.shutdown();
        let _ = self.server.stop();
        self.server.stopped().await;
        let _ = self.control_stop.send(());
        let _ = self.control_task.await;
        let _ = std::fs::remove_file(&self.control_file);
        tracing::info!("stopped");
    }
}

/// Subscription ids in the form Ethereum clients expect: 0x and 32 hex digits.
#[derive(Debug)]
struct HexIds;

impl IdProvider for HexIds {
    fn next_id(&self) -> SubscriptionId<'static> {
        SubscriptionId::Str(format!("{}", B128::random()).into())
    }
}

/// Starts the daemon. Binds both listeners before returning, so the addresses in the returned
/// handle (and in `control.json`) are live.
pub async fn spawn(cfg: Config) -> Result<Handle, SpawnError> {
    for addr in [cfg.listen, cfg.control_listen] {
        if !addr.ip().is_loopback() && !cfg.allow_non_loopback {
            return Err(SpawnError::NotLoopback(addr));
        }
    }
    let upstream =
        Arc::new(upstream::Upstream::new(&cfg.upstream, cfg.upstream_timeout).map_err(SpawnError::BadUpstream)?);
    let policy = Arc::new(airlock_policy::Policy::load(&cfg.rules_dirs, &cfg.policy)?);
    tracing::info!(rules = policy.rules.iter().filter(|r| r.enabled).count(), "rules loaded");
    control::create_private_dir(&cfg.data_dir)
        .map_err(|source| SpawnError::DataDir { path: cfg.data_dir.clone(), source })?;
    let store = Store::open(&cfg.data_dir)?;
    let abandoned = store.abandon_open()?;
    if abandoned > 0 {
        tracing::warn!(abandoned, "items left open by the last run are marked abandoned; they will never be forwarded");
    }
    let queue = Queue::new(store.clone(), upstream.clone(), cfg.decision_timeout);
    if let Some(url) = cfg.private_relay.as_deref().filter(|u| !u.trim().is_empty()) {
        let relay = upstream::Upstream::new(url, cfg.upstream_timeout)
            .map_err(|e| SpawnError::BadUpstream(format!("--private-relay: {e}")))?;
        queue.set_relay(Arc::new(relay));
        tracing::info!(relay = url, "approved signed swaps go to the private relay");
    }

    let control_listener = tokio::net::TcpListener::bind(cfg.control_listen)
        .await
        .map_err(|source| SpawnError::Bind { what: "the control API", addr: cfg.control_listen, source })?;
    let control_addr = control_listener.local_addr().map_err(|source| SpawnError::Bind {
        what: "the control API",
        addr: cfg.control_listen,
        source,
    })?;

    let tracker = head_source(&cfg.verify, &upstream, Some(&store), cfg.upstream_timeout).await?;
    if let Some(t) = &tracker {
        match t.refresh().await {
            Ok(head) => {
                tracing::info!(block = head.number, hash = %head.hash, "head verified against the pinned block")
            }
            Err(e) => tracing::warn!(error = %e, "could not verify the head yet"),
        }
    }
    let ctx = Arc::new(server::Ctx {
        upstream: upstream.clone(),
        queue: queue.clone(),
        max_response_bytes: MAX_RESPONSE_BYTES as usize,
        tracker,
        verified_reads: cfg.verified_reads,
        sim: tokio::sync::OnceCell::new(),
        chain_id: match &cfg.verify {
            VerifyMode::LightClient(lc) => Some(lc.network.chain_id()),
            _ => None,
        },
        policy,
        store: store.clone(),
        spending: cfg.policy.spending.clone(),
        explainer: cfg.explainer.clone(),
        fee_history: Default::default(),
    });
    queue.set_resimulate(Arc::new(recheck::Resimulator(Arc::downgrade(&ctx))));
    let middleware_ctx = ctx.clone();
    let rpc_middleware =
        RpcServiceBuilder::new().layer_fn(move |inner| server::Router { inner, ctx: middleware_ctx.clone() });
    let server_cfg = ServerConfig::builder()
        // Every held HTTP request keeps its connection open; leave room beyond the open-item cap.
        .max_connections(4 * queue::MAX_OPEN_ITEMS as u32)
        .max_request_body_size(MAX_REQUEST_BYTES)
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .set_id_provider(HexIds)
        .build();
    // Loopback Host names only, unless listening beyond loopback was asked for (DNS rebinding).
    let hosts = (!cfg.allow_non_loopback).then(|| {
        jsonrpsee::server::middleware::http::HostFilterLayer::new(["localhost:*", "127.0.0.1:*", "[::1]:*"])
            .expect("static host patterns parse")
    });
    let http_middleware = tower::ServiceBuilder::new().option_layer(hosts).layer(guard::OriginGuardLayer);
    let server = jsonrpsee::server::Server::builder()
        .set_config(server_cfg)
        .set_http_middleware(http_middleware)
        .set_rpc_middleware(rpc_middleware)
        .build(cfg.listen)
        .await
        .map_err(|source| SpawnError::Bind { what: "JSON-RPC", addr: cfg.listen, source })?;
    let rpc_addr =
        server.local_addr().map_err(|source| SpawnError::Bind { what: "JSON-RPC", addr: cfg.listen, source })?;
    let server = server.start(server::subscriptions(ctx));

    let token = format!("{:x}", B256::random());
    let (control_stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let api = ApiConfig {
        danger_delay: Duration::from_secs(cfg.policy.prompt.danger_delay_secs),
        ..ApiConfig::new(control_addr, token.clone())
    };
    let control_task = tokio::spawn({
        let queue = queue.clone();
        async move {
            let shutdown = async {
                let _ = stop_rx.await;
            };
            if let Err(e) = airlock_prompt::serve(control_listener, queue, api, shutdown).await {
                tracing::error!(error = %e, "control API stopped");
            }
        }
    });

    let control_file = ControlFile {
        rpc_url: format!("http://{rpc_addr}"),
        control_url: format!("http://{control_addr}"),
        token: token.clone(),
        pid: std::process::id(),
        upstream: cfg.upstream.clone(),
    }
    .write(&cfg.data_dir)
    .map_err(|source| SpawnError::DataDir { path: cfg.data_dir.clone(), source })?;

    match upstream.chain_id().await {
        Ok(id) => tracing::info!(upstream = %cfg.upstream, chain_id = id, "upstream reachable"),
        Err(e) => {
            tracing::warn!(error = %e, "upstream not reachable yet; requests get an error until it is")
        }
    }
    tracing::info!(%rpc_addr, %control_addr, verify = ?cfg.verify, "Airlock is listening");
    Ok(Handle { rpc_addr, control_addr, token, queue, control_file, server, control_stop, control_task })
}

/// Where verified heads come from in `verify` mode; `None` when unverified.
pub async fn head_source(
    verify: &VerifyMode,
    upstream: &Arc<upstream::Upstream>,
    store: Option<&Store>,
    timeout: Duration,
) -> Result<Option<verified::HeadSource>, SpawnError> {
    Ok(match verify {
        VerifyMode::Unverified => None,
        VerifyMode::Checkpoint(anchor) => {
            Some(verified::HeadSource::Checkpoint(Box::new(verified::HeadTracker::new(upstream.clone(), *anchor))))
        }
        VerifyMode::LightClient(lc) => {
            match upstream.chain_id().await {
                Ok(id) if id != lc.network.chain_id() => {
                    return Err(SpawnError::WrongNetwork {
                        upstream: id,
                        network: lc.network.name(),
                        expected: lc.network.chain_id(),
                    });
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "cannot check the upstream's chain id yet"),
            }
            let now =
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
            let sync = lightclient::SyncConfig {
                network: lc.network,
                consensus_rpc: lc.consensus_rpc.clone(),
                checkpoint: lc.checkpoint,
                max_checkpoint_age: lc.max_checkpoint_age,
                accept_old_checkpoint: lc.accept_old_checkpoint,
                timeout,
                now,
            };
            let store = store.ok_or_else(|| SpawnError::LightClient("no store for the light client's state".into()))?;
            let session =
                lightclient::Session::open(sync, store).await.map_err(|e| SpawnError::LightClient(e.to_string()))?;
            Some(verified::HeadSource::LightClient(Box::new(verified::LightClientHead::new(
                session,
                store.clone(),
                lc.max_head_age,
            ))))
        }
    })
}
