//! The `airlock` binary: parse arguments, run the command, map the outcome to an exit code.
//! Everything it does lives in the library crates; see README.md for the layout.

mod args;
mod client;
mod demo;
mod intel;
mod keys;
mod render;
mod rules;
mod run;
mod simulate;
mod sync;

use clap::Parser;

use args::{Cli, Command};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // The model worker confines itself before any thread starts: no runtime, no logger.
    if let Command::ModelWorker(a) = &cli.command {
        return std::process::ExitCode::from(airlock_explain::serve_worker(&a.model, &a.sandbox) as u8);
    }
    init_tracing(&cli);
    // 8 MiB stacks: a blob transaction's 128 KiB blobs pass through the stack by value in
    // places (decoding, the sidecar), several at a time in unoptimized builds.
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 << 20).build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("airlock: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(a) => run::run(*a).await,
            Command::Demo(a) => demo::demo(a).await,
            Command::Pending(a) => client::pending(a).await,
            Command::Approve(a) => client::decide(a, client::Decision::Approve).await,
            Command::Reject(a) => client::decide(a, client::Decision::Reject).await,
            Command::History(a) => client::history(a).await,
            Command::PromptUrl(a) => client::prompt_url(a),
            Command::Sync(a) => sync::sync(a).await,
            Command::Simulate(a) => simulate::simulate(a).await,
            Command::Rules(a) => rules::rules(a),
            Command::Intel(a) => intel::intel(a).await,
            Command::Keys(a) => keys::keys(a),
            Command::Mcp(a) => mcp(a).await,
            Command::Approvals(a) => client::approvals(a).await,
            Command::Ask(a) => client::ask(a).await,
            Command::ModelWorker(_) => unreachable!("served above"),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("airlock: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` overrides the level the command chose.
fn init_tracing(cli: &Cli) {
    let default = match cli.command {
        Command::Run(_) | Command::Demo(_) => "info",
        _ => "warn",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colours only for a person at a terminal, never into a log file or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
}

/// `airlock mcp`: the MCP server on stdio, in front of the daemon running on the data directory.
async fn mcp(a: args::McpArgs) -> eyre::Result<()> {
    let dir = a.data_dir.resolve();
    let cf = airlock_proxy::ControlFile::read(&dir).map_err(|e| eyre::eyre!(e))?;
    let daemon = airlock_mcp::Daemon { control_url: cf.control_url, token: cf.token };
    airlock_mcp::Server::new(daemon).serve_stdio().await.map_err(|e| eyre::eyre!("MCP: {e}"))
}
