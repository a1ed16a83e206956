//! The in-process model, run in a separate, sandboxed worker process (`airlock model-worker`).
//! Airlock talks to it over its stdin and stdout, one JSON object a line; the worker has no
//! other way out (see `sandbox.rs`). A worker that fails, exits or takes too long is killed and
//! started again for the next explanation; the template's text stays meanwhile.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};

use crate::sandbox::{self, Sandbox, SandboxChoice};
use crate::{ExplainError, Local};

/// How long a worker may take to load its model before it counts as failed.
const LOAD_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Request {
    /// A JSON answer under the grammar of `schema` (constrained decoding).
    CompleteJson {
        system: String,
        user: String,
        schema: serde_json::Value,
        max_tokens: usize,
        #[serde(default = "no_penalty")]
        repeat_penalty: f32,
    },
    /// What the sandbox lets the worker do (tests and `--model-check`): each is tried and the
    /// outcome reported, `allowed` or the error.
    Probe(Probe),
}

fn no_penalty() -> f32 {
    1.0
}

/// Things for the worker to try inside its sandbox.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Probe {
    /// A file to read.
    pub read: Option<PathBuf>,
    /// A file to open for writing (appending; nothing is written).
    pub write: Option<PathBuf>,
    /// A TCP address to connect to.
    pub connect: Option<String>,
}

/// What the worker could do: `allowed`, or the error it got.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ProbeResult {
    pub read: Option<String>,
    pub write: Option<String>,
    pub connect: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Reply {
    Ready { source: String, arch: String, sandbox: String, weights: String },
    Done(String),
    Error(String),
    Probe(ProbeResult),
}

/// The worker's side: confine this process, load the model, answer requests on stdin until it
/// closes. Call it before anything starts a thread. The exit code is 0 when stdin closed, 2
/// when the sandbox or the model failed (the reason is the one line written).
pub fn serve(model: &Path, sandbox: &str) -> i32 {
    let mut out = std::io::stdout().lock();
    let mut send = |r: &Reply| -> bool {
        let Ok(line) = serde_json::to_string(r) else { return false };
        writeln!(out, "{line}").and_then(|_| out.flush()).is_ok()
    };
    let tokenizer = sandbox::tokenizer_beside(model);
    let files: Vec<&Path> = std::iter::once(model).chain(tokenizer.as_deref()).collect();
    let confinement = match sandbox::confine(&files, sandbox != "bwrap") {
        Ok(c) => c,
        Err(e) => {
            send(&Reply::Error(format!("the model worker's sandbox: {e}")));
            return 2;
        }
    };
    let local = match Local::load(model) {
        Ok(l) => l,
        Err(e) => {
            send(&Reply::Error(e.to_string()));
            return 2;
        }
    };
    let ready = Reply::Ready {
        source: local.source(),
        arch: local.arch.clone(),
        sandbox: if sandbox == "bwrap" { format!("bubblewrap, {confinement}") } else { confinement.to_string() },
        weights: match std::env::var_os("CANDLE_DEQUANTIZE_ALL") {
            Some(_) => "f32 for prompts (expanded at load)".to_owned(),
            None => "as in the file".to_owned(),
        },
    };
    if !send(&ready) {
        return 0;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::Error(format!("a request the worker does not read: {e}")),
            Ok(Request::Probe(p)) => Reply::Probe(probe(&p)),
            Ok(Request::CompleteJson { system, user, schema, max_tokens, repeat_penalty }) => {
                match crate::grammar::Grammar::from_schema(&schema) {
                    Err(e) => Reply::Error(format!("the answer's schema: {e}")),
                    Ok(g) => match local.complete_json_penalized(&system, &user, &g, max_tokens, repeat_penalty) {
                        Ok(text) => Reply::Done(text),
                        Err(e) => Reply::Error(e.to_string()),
                    },
                }
            }
        };
        if !send(&reply) {
            break;
        }
    }
    0
}

fn probe(p: &Probe) -> ProbeResult {
    let outcome = |r: std::io::Result<()>| match r {
        Ok(()) => "allowed".to_owned(),
        Err(e) => e.to_string(),
    };
    ProbeResult {
        read: p.read.as_ref().map(|f| outcome(std::fs::read(f).map(drop))),
        write: p.write.as_ref().map(|f| outcome(std::fs::OpenOptions::new().append(true).open(f).map(drop))),
        connect: p.connect.as_ref().map(|a| {
            outcome(
                a.parse::<std::net::SocketAddr>()
                    .map_err(std::io::Error::other)
                    .and_then(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map(drop)),
            )
        }),
    }
}

struct Running {
    _child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
}

struct Spec {
    exe: PathBuf,
    model: PathBuf,
    sandbox: Sandbox,
    options: WorkerOptions,
}

/// How the worker runs its model.
#[derive(Debug, Clone, Copy, Default)]
pub struct WorkerOptions {
    /// Keep an f32 copy of the weights for reading prompts (candle's f32 matrix products beat
    /// its quantized ones on a batch); decoding still reads Q4_K and Q4_1 weights as the file
    /// has them. Memory grows by about eight times the file's size for 4-bit files.
    pub dequantize: bool,
}

/// Airlock's side: one worker process, started at once and again after a failure.
#[derive(Clone)]
pub struct Worker {
    spec: Arc<Spec>,
    running: Arc<tokio::sync::Mutex<Option<Running>>>,
    pub source: String,
    pub arch: String,
    /// The confinement the worker reported.
    pub sandbox: String,
    /// How it holds the weights: as in the file, or expanded to f32.
    pub weights: String,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker").field("source", &self.source).field("sandbox", &self.sandbox).finish()
    }
}

impl Worker {
    /// Starts `exe model-worker` for `model` in the sandbox asked for, and waits until it has
    /// loaded the model. `Auto` takes bubblewrap where it is installed and falls back to
    /// Landlock alone when bubblewrap cannot run here (a container without user namespaces).
    pub async fn start(
        exe: &Path,
        model: &Path,
        choice: SandboxChoice,
        options: WorkerOptions,
    ) -> Result<Worker, ExplainError> {
        let model =
            std::fs::canonicalize(model).map_err(|e| ExplainError::Backend(format!("{}: {e}", model.display())))?;
        let sandbox = Sandbox::choose(choice).map_err(ExplainError::Backend)?;
        let spec = Spec { exe: exe.to_owned(), model: model.clone(), sandbox, options };
        let (running, ready) = match spawn(&spec).await {
            Err(e) if choice == SandboxChoice::Auto && spec.sandbox != Sandbox::Landlock => {
                eprintln!("The model worker did not start in bubblewrap ({e}); trying Landlock alone.");
                let spec = Spec { sandbox: Sandbox::Landlock, ..spec };
                let started = spawn(&spec).await?;
                return Ok(Worker::new(spec, started));
            }
            other => other?,
        };
        Ok(Worker::new(spec, (running, ready)))
    }

    fn new(spec: Spec, (running, ready): (Running, Reply)) -> Worker {
        let (source, arch, sandbox, weights) = match ready {
            Reply::Ready { source, arch, sandbox, weights } => (source, arch, sandbox, weights),
            _ => Default::default(),
        };
        let running = Arc::new(tokio::sync::Mutex::new(Some(running)));
        Worker { spec: Arc::new(spec), running, source, arch, sandbox, weights }
    }

    /// A JSON answer under `schema`'s grammar, as in-process, with words already written made
    /// less likely by `repeat_penalty` (1.0: not at all; see [`Local::complete_json_penalized`]).
    pub async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema: &serde_json::Value,
        max_tokens: usize,
        repeat_penalty: f32,
    ) -> Result<String, ExplainError> {
        let request = Request::CompleteJson {
            system: system.to_owned(),
            user: user.to_owned(),
            schema: schema.clone(),
            max_tokens,
            repeat_penalty,
        };
        self.exchange(&request, |reply| match reply {
            Reply::Done(t) => Some(Ok(t)),
            Reply::Error(e) => Some(Err(ExplainError::Backend(e))),
            other => Some(Err(ExplainError::Backend(format!("the model worker answered out of turn: {other:?}")))),
        })
        .await
    }

    /// Asks the worker to try what `p` names inside its sandbox.
    pub async fn probe(&self, p: Probe) -> Result<ProbeResult, ExplainError> {
        self.exchange(&Request::Probe(p), |reply| match reply {
            Reply::Probe(r) => Some(Ok(r)),
            other => Some(Err(ExplainError::Backend(format!("the model worker answered out of turn: {other:?}")))),
        })
        .await
    }

    /// Sends one request and reads replies until `handle` returns the outcome. A worker left
    /// mid-request (its caller gave up) is killed: it is never read out of turn.
    async fn exchange<T>(
        &self,
        request: &Request,
        mut handle: impl FnMut(Reply) -> Option<Result<T, ExplainError>>,
    ) -> Result<T, ExplainError> {
        let mut slot = self.running.lock().await;
        if slot.is_none() {
            *slot = Some(spawn(&self.spec).await?.0);
        }
        // Until the outcome is read, the worker is mid-request: dropping this kills it.
        let mut busy = KillUnlessDone { slot: &mut slot, done: false };
        let running = busy.slot.as_mut().expect("started above");
        let line = serde_json::to_string(request).map_err(|e| ExplainError::Backend(e.to_string()))? + "\n";
        let dead = |e: std::io::Error| ExplainError::Backend(format!("the model worker stopped: {e}"));
        running.stdin.write_all(line.as_bytes()).await.map_err(dead)?;
        running.stdin.flush().await.map_err(dead)?;
        loop {
            let Some(line) = running.lines.next_line().await.map_err(dead)? else {
                return Err(ExplainError::Backend("the model worker exited".into()));
            };
            let reply = serde_json::from_str::<Reply>(&line)
                .map_err(|e| ExplainError::Backend(format!("the model worker wrote something else: {e}")))?;
            if let Some(outcome) = handle(reply) {
                busy.done = true;
                return outcome;
            }
        }
    }
}

struct KillUnlessDone<'a, 'b> {
    slot: &'a mut tokio::sync::MutexGuard<'b, Option<Running>>,
    done: bool,
}

impl Drop for KillUnlessDone<'_, '_> {
    fn drop(&mut self) {
        if !self.done {
            // kill_on_drop: the process goes with its handle.
            **self.slot = None;
        }
    }
}

/// Starts a worker and reads its first line: ready, or why not.
async fn spawn(spec: &Spec) -> Result<(Running, Reply), ExplainError> {
    // candle reads this when it builds each weight matrix.
    let env: &[(&str, &str)] = if spec.options.dequantize { &[("CANDLE_DEQUANTIZE_ALL", "1")] } else { &[] };
    let mut cmd = tokio::process::Command::from(spec.sandbox.command(&spec.exe, &spec.model, env));
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
    let mut child = cmd
        .spawn()
        .map_err(|e| ExplainError::Backend(format!("cannot start the model worker ({}): {e}", spec.sandbox.name())))?;
    let (Some(stdin), Some(stdout), Some(stderr)) = (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(ExplainError::Backend("the model worker has no pipes".into()));
    };
    let mut stderr = BufReader::new(stderr).lines();
    let mut lines = BufReader::new(stdout).lines();
    let first = match tokio::time::timeout(LOAD_TIMEOUT, lines.next_line()).await {
        Err(_) => return Err(ExplainError::Timeout(LOAD_TIMEOUT.as_secs())),
        Ok(Err(e)) => return Err(ExplainError::Backend(format!("the model worker: {e}"))),
        Ok(Ok(line)) => line,
    };
    let reply = match first.map(|l| serde_json::from_str::<Reply>(&l)) {
        Some(Ok(r @ Reply::Ready { .. })) => r,
        Some(Ok(Reply::Error(e))) => return Err(ExplainError::Backend(e)),
        Some(Ok(other)) => return Err(ExplainError::Backend(format!("the model worker began with {other:?}"))),
        Some(Err(e)) => return Err(ExplainError::Backend(format!("the model worker wrote something else: {e}"))),
        None => {
            // It exited before a word: what it (or bubblewrap) said on stderr is the reason.
            let said = tokio::time::timeout(Duration::from_secs(2), stderr.next_line()).await;
            let said = said.ok().and_then(Result::ok).flatten().unwrap_or_default();
            let status = child.wait().await.map(|s| s.to_string()).unwrap_or_default();
            return Err(ExplainError::Backend(format!("the model worker exited ({status}): {said}")));
        }
    };
    // Whatever it writes to stderr later (a panic) goes to Airlock's log.
    tokio::spawn(async move {
        while let Ok(Some(line)) = stderr.next_line().await {
            eprintln!("model worker: {line}");
        }
    });
    Ok((Running { _child: child, stdin, lines }, reply))
}
