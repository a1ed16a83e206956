//! Command-line arguments. Every flag of `run` can also come from an `AIRLOCK_*` environment
//! variable (flags win), which is how the Docker image is configured.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "airlock",
    version,
    about = "A local wallet transaction firewall: every send waits for your decision."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the firewall in front of an upstream node.
    Run(Box<RunArgs>),
    /// Start anvil, put Airlock in front of it and send a sample transaction that waits for you.
    Demo(DemoArgs),
    /// List the requests waiting for a decision.
    Pending(ListArgs),
    /// Approve a held request: Airlock forwards it and prints the upstream's answer.
    Approve(DecideArgs),
    /// Reject a held request: the wallet gets error 4001, nothing is forwarded.
    Reject(DecideArgs),
    /// Print the confirmation page's URL (with the per-run token) of the running daemon.
    PromptUrl(ListArgs),
    /// Show past decisions from the audit log, newest first.
    History(HistoryArgs),
    /// Verify the chain head with the light client and print the newest verified headers.
    Sync(SyncArgs),
    /// Simulate a transaction on verified state and print what it would do.
    Simulate(SimulateArgs),
    /// Check or list the rules that judge held requests.
    Rules(RulesArgs),
    /// List the allowances and operator approvals you granted through Airlock that are still
    /// open, read on the newest (verified) head, with a transaction that revokes each.
    Approvals(ApprovalsArgs),
    /// Plain language: "swap 0.1 ETH for USDC". The running daemon's local model reads it into
    /// a structured intent under a grammar; Airlock checks and builds it, and holds it for you
    /// to confirm (or, with --dry-run, only simulates it)
    Ask(AskArgs),
    /// Threat lists: download the ones the config file names, or show what loads.
    Intel(IntelArgs),
    /// The MCP server for agents, over stdin and stdout: tools that propose, follow and list
    /// held requests through the running daemon (found by its data directory)
    Mcp(McpArgs),
    /// The accounts Airlock manages: an encrypted keystore (Web3 Secret Storage v3, scrypt).
    /// Give an agent Airlock's RPC URL, never a key: Airlock signs what you approve
    Keys(KeysArgs),
    /// The sandboxed model process `run --model` starts (not for direct use).
    #[command(hide = true)]
    ModelWorker(ModelWorkerArgs),
}

#[derive(Debug, Args)]
pub struct ModelWorkerArgs {
    #[arg(long)]
    pub model: PathBuf,
    /// bwrap (running inside bubblewrap) or landlock (its own confinement only)
    #[arg(long)]
    pub sandbox: String,
}

/// Where the model given by --model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelProcess {
    /// A separate process in a sandbox: it can read the model file and nothing else, and has no network
    Worker,
    /// Inside Airlock's own process (no sandbox beyond what Airlock itself has)
    InProcess,
}

/// The model worker's sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelSandbox {
    /// bubblewrap where installed, else Landlock
    Auto,
    Bwrap,
    Landlock,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// mainnet, sepolia or hoodi
    #[arg(long, env = "AIRLOCK_NETWORK", default_value = "mainnet")]
    pub network: String,
    /// The beacon node's REST API (serves /eth/v1/beacon/light_client/*)
    #[arg(long, env = "AIRLOCK_CONSENSUS_RPC", value_name = "URL")]
    pub consensus_rpc: String,
    /// A trusted finalized beacon block root to start from [default: the state stored in --data-dir]
    #[arg(long, value_name = "ROOT")]
    pub checkpoint: Option<String>,
    /// Refuse a checkpoint (or stored state) older than this many seconds (weak subjectivity)
    #[arg(long, default_value_t = airlock_chain::lightclient::DEFAULT_MAX_CHECKPOINT_AGE.as_secs(), value_name = "SECS")]
    pub max_checkpoint_age: u64,
    /// Verify from an older checkpoint anyway (auditing history)
    #[arg(long)]
    pub accept_old_checkpoint: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Verify {
    /// Trust the upstream's state (every report says so).
    Unverified,
    /// Chains without a beacon API: headers hash-link back to the block pinned by --checkpoint.
    Checkpoint,
    /// The light client: heads signed by the sync committee, from --consensus-rpc.
    Verified,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReplyWhen {
    /// The hash (or batch id) at once; the outcome where the client looks for it.
    AtOnce,
    /// The node's answer once approved and forwarded, or the rejection.
    AfterDecision,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Args)]
pub struct DataDir {
    /// Audit log and control file [default: $XDG_DATA_HOME/airlock or ~/.local/share/airlock]
    #[arg(long, env = "AIRLOCK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl DataDir {
    pub fn resolve(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(airlock_proxy::default_data_dir)
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The node to stand in front of: http://, https://, ws:// or wss://
    #[arg(long, env = "AIRLOCK_UPSTREAM", value_name = "URL")]
    pub upstream: String,
    /// The accounts Airlock manages: unlocked at start when --keystore is given or
    /// DATA_DIR/keystore holds keys; their approved sends are signed by Airlock
    #[command(flatten)]
    pub keys: KeystoreArgs,
    /// Where wallets connect (JSON-RPC over HTTP and WebSocket)
    #[arg(long, env = "AIRLOCK_LISTEN", default_value = "127.0.0.1:8545")]
    pub listen: SocketAddr,
    /// Where the control API (and the prompt page) listens
    #[arg(long, env = "AIRLOCK_PROMPT_LISTEN", default_value = "127.0.0.1:8549")]
    pub prompt_listen: SocketAddr,
    #[command(flatten)]
    pub data_dir: DataDir,
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// In a verified mode, answer balance, nonce, code, storage and block-number reads from proofs
    #[arg(long, env = "AIRLOCK_VERIFIED_READS", value_enum, default_value = "on")]
    pub verified_reads: OnOff,
    /// Seconds a held request waits for a decision before it expires, unforwarded
    #[arg(long, env = "AIRLOCK_DECISION_TIMEOUT", default_value_t = 600, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub decision_timeout: u64,
    /// Seconds any single upstream call may take
    #[arg(long, env = "AIRLOCK_UPSTREAM_TIMEOUT", default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_timeout: u64,
    /// Allow listening on a non-loopback address (containers); anyone who can reach it can use it
    #[arg(long, env = "AIRLOCK_ALLOW_NON_LOOPBACK")]
    pub allow_non_loopback: bool,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    /// Send approved signed swaps (eth_sendRawTransaction) to this relay instead of the upstream,
    /// out of the public mempool (e.g. a Flashbots Protect style endpoint); the page says where
    /// each transaction went
    #[arg(long, env = "AIRLOCK_PRIVATE_RELAY", value_name = "URL")]
    pub private_relay: Option<String>,
    /// When a client that sends a signed transaction (eth_sendRawTransaction) or a batch
    /// (wallet_sendCalls) gets its answer: at once with the hash (or batch id), as a node
    /// answers, the broadcast still waiting for you; or after your decision (4001 on reject).
    /// Unsigned sends and signatures always wait: no hash exists before signing
    #[arg(long, env = "AIRLOCK_REPLY", value_enum, default_value_t = ReplyWhen::AtOnce)]
    pub reply: ReplyWhen,
    /// Open the confirmation page in the browser at start (xdg-open)
    #[arg(long)]
    pub open: bool,
    /// A quantized GGUF model (llama, qwen2, qwen3) that explains held items, run by candle on
    /// the CPU (CUDA with the `cuda` feature) in a sandboxed worker; its tokenizer is the GGUF's
    /// or a tokenizer.json beside it
    #[arg(long, env = "AIRLOCK_MODEL", value_name = "PATH", conflicts_with = "model_endpoint")]
    pub model: Option<PathBuf>,
    /// Where the --model runs
    #[arg(long, env = "AIRLOCK_MODEL_PROCESS", value_enum, default_value_t = ModelProcess::Worker)]
    pub model_process: ModelProcess,
    /// The model worker's sandbox: bubblewrap, or the worker's own Landlock, seccomp and network
    /// namespace confinement (which also runs inside bubblewrap)
    #[arg(long, env = "AIRLOCK_MODEL_SANDBOX", value_enum, default_value_t = ModelSandbox::Auto)]
    pub model_sandbox: ModelSandbox,
    /// Keep an f32 copy of the model's weights in the worker for reading prompts (candle's f32
    /// matmul reads a batch fastest; decoding still reads Q4_K and Q4_1 weights as the file has
    /// them): about eight times the file's size more memory. Small Q4_1 models (an f32 copy
    /// under 1 GiB, such as SmolLM2-135M) get that copy anyway
    #[arg(long, env = "AIRLOCK_MODEL_DEQUANTIZE")]
    pub model_dequantize: bool,
    /// Most tokens a model writes for one explanation (the shape's keys and punctuation count)
    #[arg(long, default_value_t = 640, value_name = "N")]
    pub model_max_tokens: usize,
    /// A local OpenAI-compatible server that explains held items (llama-server, llama-swap,
    /// ollama), e.g. http://127.0.0.1:8080. Without it the template explains
    #[arg(long, env = "AIRLOCK_MODEL_ENDPOINT", value_name = "URL")]
    pub model_endpoint: Option<String>,
    /// The model name sent to the endpoint (ollama needs it)
    #[arg(long, env = "AIRLOCK_MODEL_NAME", default_value = "local")]
    pub model_name: String,
    /// Seconds the model may take for one explanation before the template's text stays
    #[arg(long, default_value_t = 60, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub model_timeout: u64,
}

/// The bounds on what clients may send and on what Airlock asks of the upstream. A request over
/// one gets a JSON-RPC error that names the setting.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest request body in bytes (a raw blob transaction with 21 blobs is about 5.8 MB in hex)
    #[arg(long, env = "AIRLOCK_MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub max_body_bytes: u64,
    /// Most calls in one JSON-RPC batch
    #[arg(long, env = "AIRLOCK_MAX_BATCH_LEN", default_value_t = 1000, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub max_batch_len: u64,
    /// Deepest nesting of arrays and objects in a request
    #[arg(long, env = "AIRLOCK_MAX_JSON_DEPTH", default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(4..=120))]
    pub max_json_depth: u64,
    /// Request bytes read or handled at once, over all connections (requests beyond wait)
    #[arg(long, env = "AIRLOCK_MAX_INFLIGHT_BODY_BYTES", default_value_t = 64 * 1024 * 1024, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1024..=1 << 32))]
    pub max_inflight_body_bytes: u64,
    /// Largest held request's params in bytes (raise it for raw blob transactions of 4+ blobs)
    #[arg(long, env = "AIRLOCK_MAX_HELD_BYTES", default_value_t = 1 << 20, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub max_held_bytes: u64,
    /// Largest message to sign, or typed data as JSON, in bytes
    #[arg(long, env = "AIRLOCK_MAX_SIGN_BYTES", default_value_t = 256 << 10, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(1024..=1 << 30))]
    pub max_sign_bytes: u64,
    /// Deepest nesting of arrays and objects in typed data
    #[arg(long, env = "AIRLOCK_MAX_TYPED_DATA_DEPTH", default_value_t = 32, value_name = "N",
          value_parser = clap::value_parser!(u64).range(2..=120))]
    pub max_typed_data_depth: u64,
    /// Connections to an HTTP upstream at most, all together: three quarters for reads
    /// forwarded as they are, the rest for held requests' checks (requests beyond wait their turn)
    #[arg(long, env = "AIRLOCK_UPSTREAM_CONNECTIONS", default_value_t = 64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(2..=4096))]
    pub upstream_connections: u64,
}

impl LimitArgs {
    pub fn held(&self) -> airlock_hold::HeldLimits {
        airlock_hold::HeldLimits {
            max_held_bytes: self.max_held_bytes as usize,
            max_sign_bytes: self.max_sign_bytes as usize,
            max_typed_data_depth: self.max_typed_data_depth as usize,
        }
    }

    pub fn limits(&self) -> airlock_wire::Limits {
        airlock_wire::Limits {
            max_body_bytes: self.max_body_bytes as usize,
            max_batch_len: self.max_batch_len as usize,
            max_depth: self.max_json_depth as usize,
        }
    }
}

/// Where rules and their settings come from: shared by `run` and `rules`.
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// A directory of your own rule files (*.toml) and lists (lists/); repeatable. The bundled
    /// rules in rules/ always load first
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Config file: per-rule settings ([rules.ID]) and the spending policy ([spending])
    /// [default: $XDG_CONFIG_HOME/airlock/config.toml or ~/.config/airlock/config.toml, if present]
    #[arg(long, env = "AIRLOCK_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl PolicyArgs {
    /// The config file to read: the one given (which must exist), or the default if present.
    pub fn config_file(&self) -> Option<PathBuf> {
        if let Some(c) = self.config.as_ref().filter(|c| !c.as_os_str().is_empty()) {
            return Some(c.clone());
        }
        let base = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
        Some(base.join("airlock/config.toml")).filter(|p| p.exists())
    }
}

/// Where the keystore is and how its password is read: shared by `keys` and `run`.
#[derive(Debug, Args, Clone)]
pub struct KeystoreArgs {
    /// The keystore directory [default: DATA_DIR/keystore]
    #[arg(long, env = "AIRLOCK_KEYSTORE", value_name = "DIR")]
    pub keystore: Option<PathBuf>,
    /// Read the keystore's password from this file (its first line) instead of asking on the
    /// terminal
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// Read the keystore's password from this environment variable instead of asking
    #[arg(long, value_name = "NAME")]
    pub password_env: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new random account; prints its address
    New {
        #[command(flatten)]
        data_dir: DataDir,
        #[command(flatten)]
        keystore: KeystoreArgs,
    },
    /// Import a private key or a BIP-39 mnemonic, read from a file or typed at a prompt (never
    /// from the command line, where other users and the shell history would see it)
    Import {
        #[command(flatten)]
        data_dir: DataDir,
        #[command(flatten)]
        keystore: KeystoreArgs,
        /// A file holding the private key as hex
        #[arg(long, value_name = "FILE", conflicts_with = "mnemonic_file")]
        private_key_file: Option<PathBuf>,
        /// A file holding the mnemonic's words
        #[arg(long, value_name = "FILE")]
        mnemonic_file: Option<PathBuf>,
        /// Type a mnemonic at the prompt instead of a private key
        #[arg(long, conflicts_with_all = ["private_key_file", "mnemonic_file"])]
        mnemonic: bool,
        /// Which account of the mnemonic (m/44'/60'/0'/0/INDEX)
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// The accounts in the keystore, with a warning for files others can read
    List {
        #[command(flatten)]
        data_dir: DataDir,
        #[command(flatten)]
        keystore: KeystoreArgs,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
    /// Print the managed addresses, one a line (for scripts and agent configuration)
    ExportAddress {
        #[command(flatten)]
        data_dir: DataDir,
        #[command(flatten)]
        keystore: KeystoreArgs,
    },
}

#[derive(Debug, Args)]
pub struct IntelArgs {
    #[command(subcommand)]
    pub command: IntelCommand,
}

#[derive(Debug, Subcommand)]
pub enum IntelCommand {
    /// Download every list with a `url` in the config file's [intel] section: the whole list,
    /// never a question about one address. Each must match its pinned sha256 and parse; only
    /// then does it replace the old one (kept on any failure). The daemon reads lists at start
    Update {
        #[command(flatten)]
        data_dir: DataDir,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Seconds each download may take
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
    /// Every list that loads: where it comes from, its date, entries and age
    Status {
        #[command(flatten)]
        data_dir: DataDir,
        #[command(flatten)]
        policy: PolicyArgs,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub command: RulesCommand,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Validate rule files (a file or a directory): TOML, CEL and a trial run over sample facts
    Check {
        /// A rule file or a directory of them (and its lists/)
        path: PathBuf,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Show the rules that load: id, severity, enabled, origin, summary
    List {
        #[command(flatten)]
        policy: PolicyArgs,
        /// Print as JSON
        #[arg(long)]
        json: bool,
    },
}

/// How state is checked: shared by `run` and `simulate`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// How state is checked [default: verified on mainnet, sepolia and hoodi; unverified elsewhere]
    #[arg(long = "verify", env = "AIRLOCK_VERIFY", value_enum)]
    pub mode: Option<Verify>,
    /// With --verify checkpoint: the hash of a block you trust. With --verify verified: a trusted
    /// finalized beacon block root [default: the light-client state stored in --data-dir]
    #[arg(long, env = "AIRLOCK_CHECKPOINT", value_name = "HASH")]
    pub checkpoint: Option<String>,
    /// With --verify verified: mainnet, sepolia or hoodi [default: the upstream's chain]
    #[arg(long, env = "AIRLOCK_NETWORK")]
    pub network: Option<String>,
    /// With --verify verified: the beacon node's REST API
    #[arg(long, env = "AIRLOCK_CONSENSUS_RPC", value_name = "URL")]
    pub consensus_rpc: Option<String>,
    /// With --verify verified: the oldest head (seconds) reads and reports may rest on
    #[arg(long, env = "AIRLOCK_MAX_HEAD_AGE", default_value_t = 120, value_name = "SECS")]
    pub max_head_age: u64,
    /// With --verify verified: refuse a checkpoint (or stored state) older than this (seconds)
    #[arg(long, default_value_t = airlock_chain::lightclient::DEFAULT_MAX_CHECKPOINT_AGE.as_secs(), value_name = "SECS")]
    pub max_checkpoint_age: u64,
    /// With --verify verified: start from an older checkpoint anyway
    #[arg(long)]
    pub accept_old_checkpoint: bool,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A signed transaction (0x-hex, as eth_sendRawTransaction takes it)
    #[arg(value_name = "RAW_TX_HEX", required_unless_present = "tx", conflicts_with = "tx")]
    pub raw: Option<String>,
    /// An unsigned transaction as a JSON object (as eth_sendTransaction takes it; `from` needed)
    #[arg(long, value_name = "JSON")]
    pub tx: Option<String>,
    /// The node to read state from
    #[arg(long, env = "AIRLOCK_UPSTREAM", value_name = "URL")]
    pub upstream: String,
    #[command(flatten)]
    pub verify: VerifyArgs,
    /// Simulate on this block (at or below the verified head) instead of the newest head
    #[arg(long, value_name = "N")]
    pub block: Option<u64>,
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Seconds any single upstream call may take
    #[arg(long, env = "AIRLOCK_UPSTREAM_TIMEOUT", default_value_t = 30, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub upstream_timeout: u64,
    /// Print the whole report as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// The anvil binary [default: tests/node_modules/.bin/anvil, then anvil on PATH]
    #[arg(long, value_name = "PATH")]
    pub anvil: Option<PathBuf>,
    /// Where wallets connect
    #[arg(long, default_value = "127.0.0.1:8545")]
    pub listen: SocketAddr,
    /// Where the control API listens
    #[arg(long, default_value = "127.0.0.1:8549")]
    pub prompt_listen: SocketAddr,
    /// Data directory for the demo [default: a new directory under the system temp dir]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Open the confirmation page in the browser (xdg-open)
    #[arg(long)]
    pub open: bool,
}

#[derive(Debug, Args)]
pub struct McpArgs {
    #[command(flatten)]
    pub data_dir: DataDir,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Print the items as a JSON array (the stable interface)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    /// Only this owner's approvals [default: every address in the log]
    #[arg(long, value_name = "ADDR")]
    pub address: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Print them as JSON (with the revoke transactions)
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AskArgs {
    /// What to do, in plain words (at most 500 characters)
    #[arg(value_name = "TEXT", required = true, num_args = 1..)]
    pub text: Vec<String>,
    /// Only show what it reads as and what that would do; hold nothing
    #[arg(long)]
    pub dry_run: bool,
    /// The account to send from [default: the one account Airlock manages]
    #[arg(long, value_name = "ADDR")]
    pub from: Option<String>,
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Print the answer as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecideArgs {
    /// The item id, as `airlock pending` shows it
    pub id: String,
    /// For a `danger` item (or one whose verification failed): the phrase `approve ID`
    #[arg(long, value_name = "PHRASE")]
    pub confirm: Option<String>,
    /// Approve: first replace the fees of an unsigned transaction with Airlock's suggestion
    /// (`airlock pending` shows it)
    #[arg(long)]
    pub use_suggested_fees: bool,
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Print the decided item as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub data_dir: DataDir,
    /// Print the items as a JSON array
    #[arg(long)]
    pub json: bool,
    /// How many of the newest items to show
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}
