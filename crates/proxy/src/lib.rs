//! airlock-proxy: Airlock's RPC edge, and the daemon that wires the rooms together.
//!
//! [`spawn`] starts the whole daemon from a [`Config`] on the listeners it asks for (port 0 in
//! tests) and returns a [`Handle`]. The edge routes every call: reads to the chain
//! (`airlock-chain`: the upstream, verified heads, reads from proofs), every request that would
//! sign or send to the desk of the hold pipeline (`airlock-hold`), where it waits until the
//! person decides through the control API (`airlock-prompt`). The control API listens on its
//! own loopback port with a per-run token written to `control.json` in the data directory,
//! readable only by the user.
//!
//! Dependencies: edge → hold → chain → {sim, verify, store, types}; hold → {policy, explain}.

mod control;
mod edge;
mod errors;
mod guard;
mod router;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use airlock_chain::{Chain, Upstream, UpstreamError};
use airlock_hold::{Desk, Forward, Pipeline, Queue};
use airlock_prompt::ApiConfig;
use airlock_store::{Store, StoreError};
use alloy_primitives::{B128, B256};
use jsonrpsee::core::middleware::RpcServiceBuilder;
use jsonrpsee::core::traits::IdProvider;
use jsonrpsee::server::{ServerConfig, ServerHandle};
use jsonrpsee::types::SubscriptionId;

pub use airlock_chain::{LightClientMode, VerifyMode};
pub use airlock_hold::Reply;
pub use control::{ControlFile, default_data_dir};

/// Everything `airlock run` needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The node Airlock stands in front of: http(s) or ws(s).
    pub upstream: String,
    /// Where wallets connect (HTTP and WebSocket on one port).
    pub listen: SocketAddr,
    /// Where the control API and the confirmation page listen.
    pub control_listen: SocketAddr,
    /// Audit log, control file. Created with mode 0700.
    pub data_dir: PathBuf,
    /// How the state items are simulated on is checked: light client, pinned block, or not.
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
    /// When a client that sent a signed transaction or a batch gets its answer (`--reply`).
    pub reply: Reply,
    /// Threat lists and provenance (`[intel]` in the config file).
    pub intel: airlock_intel::IntelConfig,
    /// The accounts Airlock manages, unlocked (`--keystore`); none: every send is signed by
    /// whoever holds its key, as without Airlock.
    pub signer: Option<Arc<airlock_signer::Signer>>,
    /// A managed account may sign a raw hash (`eth_sign`): `[signer] allow_eth_sign`.
    pub allow_eth_sign: bool,
    /// What one request may hold: body size, batch length, JSON depth (`[limits]`).
    pub limits: airlock_wire::Limits,
    /// Bytes of request bodies read or handled at once (`[limits] max_inflight_body_bytes`).
    pub max_inflight_body_bytes: usize,
    /// Connections to an HTTP upstream at most (`--upstream-connections`).
    pub upstream_connections: usize,
    /// What one held request may carry: params, message or typed data, nesting.
    pub held_limits: airlock_hold::HeldLimits,
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
            reply: Reply::AtOnce,
            intel: airlock_intel::IntelConfig::default(),
            signer: None,
            allow_eth_sign: false,
            limits: airlock_wire::Limits::default(),
            max_inflight_body_bytes: DEFAULT_INFLIGHT_BODY_BYTES,
            upstream_connections: airlock_chain::DEFAULT_CONNECTIONS,
            held_limits: airlock_hold::HeldLimits::default(),
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
    #[error("{what}: {source}")]
    BadUpstream { what: &'static str, source: UpstreamError },
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
    #[error(transparent)]
    Chain(#[from] airlock_chain::OpenError),
    #[error("rules: {0}")]
    Rules(#[from] airlock_policy::RuleError),
    #[error("threat lists: {0}")]
    Intel(#[from] airlock_intel::IntelError),
}

/// Request bodies read or handled at once, by default: eight of the largest.
pub const DEFAULT_INFLIGHT_BODY_BYTES: usize = 64 * 1024 * 1024;
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
    /// The held items and the decisions on them (what the page and the terminal use).
    pub desk: Arc<Desk>,
    /// Removed when the daemon stops, so that clients do not find a dead endpoint.
    control_file: PathBuf,
    /// The JSON-RPC server.
    server: ServerHandle,
    /// Tells the control API to stop.
    control_stop: tokio::sync::oneshot::Sender<()>,
    /// The control API, awaited at stop.
    control_task: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Stops the daemon: open items are abandoned (their clients told so, nothing forwarded),
    /// the listeners close, and the control file is removed.
    pub async fn stop(self) {
        self.desk.shutdown();
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
    let policy = Arc::new(airlock_policy::Policy::load(&cfg.rules_dirs, &cfg.policy)?);
    tracing::info!(rules = policy.rules.iter().filter(|r| r.enabled).count(), "rules loaded");
    let store = open_store(&cfg)?;
    // The connections are shared out: three quarters to the edge (reads forwarded as bytes),
    // the rest to the pipeline; together never more than --upstream-connections (at least 2).
    let edge_share = (cfg.upstream_connections * 3 / 4).max(1);
    let pipeline_share = cfg.upstream_connections.saturating_sub(edge_share).max(1);
    let open_upstream = |n: usize| {
        Upstream::with_connections(&cfg.upstream, cfg.upstream_timeout, n)
            .map(Arc::new)
            .map_err(|source| SpawnError::BadUpstream { what: "--upstream", source })
    };
    let upstream = open_upstream(pipeline_share)?;
    let forwarder = open_upstream(edge_share)?;
    let control_listener = bind(cfg.control_listen, "the control API").await?;
    let control_addr = local_addr(&control_listener, cfg.control_listen)?;
    let chain = open_chain(&cfg, &upstream, &store).await?;
    let desk = open_desk(&cfg, chain.clone(), policy, store)?;
    let workers = tokio::runtime::Handle::current();
    let max_response_bytes = MAX_RESPONSE_BYTES as usize;
    let max_json_depth = cfg.limits.max_depth;
    let ctx =
        Arc::new(router::Ctx { chain, desk: desk.clone(), max_response_bytes, max_json_depth, forwarder, workers });
    let (server, rpc_addr) = serve_rpc(&cfg, ctx).await?;

    let token = format!("{:x}", B256::random());
    let (control_stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let api = ApiConfig {
        danger_delay: Duration::from_secs(cfg.policy.prompt.danger_delay_secs),
        ..ApiConfig::new(control_addr, token.clone())
    };
    let control_task = tokio::spawn({
        let desk = desk.clone();
        async move {
            let shutdown = async {
                let _ = stop_rx.await;
            };
            let mcp = airlock_mcp::Server::http(airlock_mcp::Daemon {
                control_url: format!("http://{control_addr}"),
                token: api.token.clone(),
            });
            if let Err(e) = airlock_prompt::serve(control_listener, desk, api, Some(mcp), shutdown).await {
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
        Err(e) => tracing::warn!(error = %e, "upstream not reachable yet; requests get an error until it is"),
    }
    tracing::info!(%rpc_addr, %control_addr, verify = ?cfg.verify, "Airlock is listening");
    Ok(Handle { rpc_addr, control_addr, token, desk, control_file, server, control_stop, control_task })
}

/// The data directory (mode 0700) and the audit log in it; items a previous run left open are
/// abandoned, never forwarded.
fn open_store(cfg: &Config) -> Result<Store, SpawnError> {
    airlock_store::create_private_dir(&cfg.data_dir)
        .map_err(|source| SpawnError::DataDir { path: cfg.data_dir.clone(), source })?;
    // A signature request's payload is logged once, in its params; `sign` is rebuilt on reading.
    let store = Store::open(&cfg.data_dir)?.with_hydrate(Arc::new(airlock_hold::decode::restore_sign));
    let abandoned = store.abandon_open(airlock_hold::errors::abandoned_at_start)?;
    if abandoned > 0 {
        tracing::warn!(abandoned, "items left open by the last run are marked abandoned; they will never be forwarded");
    }
    Ok(store)
}

async fn bind(addr: SocketAddr, what: &'static str) -> Result<tokio::net::TcpListener, SpawnError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| SpawnError::Bind { what, addr, source })
}

fn local_addr(l: &tokio::net::TcpListener, addr: SocketAddr) -> Result<SocketAddr, SpawnError> {
    l.local_addr().map_err(|source| SpawnError::Bind { what: "the control API", addr, source })
}

/// The chain in the configured verification mode; a checkpoint head is linked at once.
async fn open_chain(cfg: &Config, upstream: &Arc<Upstream>, store: &Store) -> Result<Arc<Chain>, SpawnError> {
    let chain = Chain::open(upstream.clone(), &cfg.verify, Some(store), cfg.upstream_timeout)
        .await?
        .with_verified_reads(cfg.verified_reads);
    if let Some(heads) = chain.heads() {
        match heads.refresh().await {
            Ok(head) => {
                tracing::info!(block = head.number, hash = %head.hash, "head verified against the pinned block")
            }
            Err(e) => tracing::warn!(error = %e, "could not verify the head yet"),
        }
    }
    Ok(Arc::new(chain))
}

/// The hold pipeline with the rules, the queue that forwards (to the relay for approved
/// signed swaps, when there is one), and the desk in front of them.
fn open_desk(
    cfg: &Config,
    chain: Arc<Chain>,
    policy: Arc<airlock_policy::Policy>,
    store: Store,
) -> Result<Arc<Desk>, SpawnError> {
    let relay = match cfg.private_relay.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(url) => {
            let relay = Upstream::new(url, cfg.upstream_timeout)
                .map_err(|source| SpawnError::BadUpstream { what: "--private-relay", source })?;
            tracing::info!(relay = url, "approved signed swaps go to the private relay");
            Some(Arc::new(relay))
        }
        None => None,
    };
    let signer = cfg.signer.clone().unwrap_or_else(|| Arc::new(airlock_signer::Signer::none()));
    let (upstream, allow_eth_sign) = (chain.upstream().clone(), cfg.allow_eth_sign);
    let forward = Forward { upstream, relay, signer, allow_eth_sign, chain: Some(chain.clone()) };
    let started = std::time::Instant::now();
    let intel = airlock_intel::Intel::open(&cfg.intel, Some(&cfg.data_dir), Some(store.clone()))?;
    tracing::info!(
        lists = intel.lists().lists().len(),
        addresses = intel.lists().len(),
        ms = started.elapsed().as_millis() as u64,
        "threat lists loaded"
    );
    let intel = Arc::new(intel);
    let pipeline = Arc::new(Pipeline::new(chain, policy, store.clone()).with_intel(intel));
    let queue = Queue::new(store.clone(), forward, cfg.decision_timeout, pipeline.clone());
    let (spending, veto) = (cfg.policy.spending.clone(), cfg.policy.policy.model_veto);
    let options = airlock_hold::DeskOptions {
        explainer: cfg.explainer.clone(),
        spending,
        model_veto: veto,
        reply: cfg.reply,
        limits: cfg.held_limits,
    };
    Ok(Desk::new(pipeline, queue, store, options))
}

/// The JSON-RPC server on its own thread: one event loop, like a reverse proxy's worker, so that a
/// forwarded read is never handed between threads. Everything else it receives runs on the
/// daemon's worker pool ([`router::Ctx::handle`]).
async fn serve_rpc(cfg: &Config, ctx: Arc<router::Ctx>) -> Result<(ServerHandle, SocketAddr), SpawnError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let cfg = cfg.clone();
    let listen = cfg.listen;
    let thread = std::thread::Builder::new().name("airlock-edge".into()).spawn(move || {
        let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            Err(source) => {
                let _ = tx.send(Err(SpawnError::Bind { what: "JSON-RPC", addr: cfg.listen, source }));
                return;
            }
        };
        rt.block_on(async move {
            // tokio's timer wakes its driver (a system call and an extra turn of the loop)
            // whenever a new deadline is earlier than the one it last slept until. Every
            // forwarded read sets one (the upstream timeout); with this tick pending, the driver
            // never sleeps past a second, so those deadlines are later and cost nothing.
            tokio::spawn(async {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
                loop {
                    tick.tick().await;
                }
            });
            let started = serve_rpc_here(&cfg, ctx).await;
            let handle = started.as_ref().ok().map(|(h, _)| h.clone());
            let _ = tx.send(started);
            if let Some(h) = handle {
                h.stopped().await;
            }
        });
    });
    if let Err(source) = thread {
        return Err(SpawnError::Bind { what: "JSON-RPC", addr: listen, source });
    }
    rx.await.unwrap_or_else(|_| {
        Err(SpawnError::Bind { what: "JSON-RPC", addr: listen, source: std::io::Error::other("the edge thread ended") })
    })
}

/// The JSON-RPC server on `cfg.listen`, on the current runtime: the router in front of
/// jsonrpsee's subscriptions, behind the Host and Origin guards.
async fn serve_rpc_here(cfg: &Config, ctx: Arc<router::Ctx>) -> Result<(ServerHandle, SocketAddr), SpawnError> {
    let middleware_ctx = ctx.clone();
    let rpc_middleware =
        RpcServiceBuilder::new().layer_fn(move |inner| router::Router { inner, ctx: middleware_ctx.clone() });
    let server_cfg = ServerConfig::builder()
        // Every held HTTP request keeps its connection open; leave room beyond the open-item cap.
        .max_connections(4 * airlock_hold::MAX_OPEN_ITEMS as u32)
        .max_request_body_size(cfg.limits.max_body_bytes.min(u32::MAX as usize) as u32)
        .set_batch_request_config(jsonrpsee::server::BatchRequestConfig::Limit(cfg.limits.max_batch_len as u32))
        .max_response_body_size(MAX_RESPONSE_BYTES)
        .set_id_provider(HexIds)
        .build();
    // Loopback Host names only, unless listening beyond loopback was asked for (DNS rebinding);
    // then HTTP JSON-RPC to the edge, WebSocket on to jsonrpsee.
    let edge = edge::Edge {
        ctx: ctx.clone(),
        limits: cfg.limits,
        budget: Arc::new(tokio::sync::Semaphore::new(cfg.max_inflight_body_bytes)),
        budget_bytes: cfg.max_inflight_body_bytes,
    };
    let http_middleware = tower::ServiceBuilder::new()
        .layer(guard::GuardLayer { any_host: cfg.allow_non_loopback })
        .layer(edge::EdgeLayer(Arc::new(edge)));
    let bind_error = |source| SpawnError::Bind { what: "JSON-RPC", addr: cfg.listen, source };
    let server = jsonrpsee::server::Server::builder()
        .set_config(server_cfg)
        .set_http_middleware(http_middleware)
        .set_rpc_middleware(rpc_middleware)
        .build(cfg.listen)
        .await
        .map_err(bind_error)?;
    let rpc_addr = server.local_addr().map_err(bind_error)?;
    Ok((server.start(router::subscriptions(ctx)), rpc_addr))
}
