//! The real parts the tests drive: anvil from npm, the `airlock` binary, and helpers to talk to
//! both. Nothing here fakes a node or a client.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// anvil's well-known development accounts (test ether only).
pub const KEY0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ADDR0: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
pub const ADDR1: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
pub const ADDR2: &str = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc";

/// With `AIRLOCK_RECORD_ITEMS=1`, writes the held `item` (as the page gets it, less its
/// explanation and its id) to testdata/explain/items/`name`.json: the
/// evaluation set of the explanations (issue 19). Otherwise does nothing.
pub fn record_item(name: &str, item: &Value) {
    if name.is_empty() || std::env::var_os("AIRLOCK_RECORD_ITEMS").is_none() {
        return;
    }
    let mut item = item.clone();
    if let Some(o) = item.as_object_mut() {
        for k in ["explanation", "id"] {
            o.remove(k);
        }
    }
    let dir = repo().join("testdata/explain/items");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let text = serde_json::to_string_pretty(&item).expect("serializes") + "\n";
    std::fs::write(dir.join(format!("{name}.json")), text).expect("write item");
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A binary installed by `npm ci --prefix tests`.
pub fn npm_bin(name: &str) -> PathBuf {
    let p = repo().join("tests/node_modules/.bin").join(name);
    assert!(p.exists(), "{} is missing: run `npm ci --prefix tests` first", p.display());
    p
}

/// A running anvil, killed on drop.
pub struct Anvil {
    child: Child,
    pub port: u16,
    args: Vec<String>,
}

impl Anvil {
    pub fn start() -> Anvil {
        Anvil::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> Anvil {
        Anvil::spawn(0, args.iter().map(|s| s.to_string()).collect())
    }

    fn spawn(port: u16, args: Vec<String>) -> Anvil {
        let mut child = Command::new(npm_bin("anvil"))
            .args(["--port", &port.to_string()])
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if !sent && let Some(addr) = line.strip_prefix("Listening on ") {
                    let _ = tx.send(addr.trim().to_owned());
                    sent = true;
                }
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).expect("anvil listens within 30 s");
        let port = addr.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port in anvil's address");
        Anvil { child, port, args }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts a fresh anvil on the same port (the upstream "comes back").
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            // The port can take a moment to be free again.
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        *self = Anvil::spawn(self.port, std::mem::take(&mut self.args));
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A running `airlock run`, with its own data directory.
pub struct Airlock {
    child: Option<Child>,
    /// The daemon's own pid (from control.json): not `child` when a wrapper (strace) runs it.
    daemon_pid: u32,
    pub dir: tempfile::TempDir,
    pub rpc: String,
    pub ws: String,
    upstream: String,
    extra: Vec<String>,
}

impl Airlock {
    /// With `--reply after-decision` unless `extra` says otherwise: the tests written before
    /// issue 14 wait for the decision on the send itself. The client matrix runs the default.
    pub fn start(upstream: &str, extra: &[&str]) -> Airlock {
        let dir = tempfile::tempdir().expect("tempdir");
        Airlock::start_in(dir, upstream, extra.iter().map(|s| s.to_string()).collect())
    }

    pub fn start_in(dir: tempfile::TempDir, upstream: &str, extra: Vec<String>) -> Airlock {
        Airlock::start_in_env(dir, upstream, extra, &[])
    }

    /// [`Airlock::start_in`], with environment variables for the daemon (its test hooks).
    pub fn start_in_env(dir: tempfile::TempDir, upstream: &str, extra: Vec<String>, env: &[(&str, &str)]) -> Airlock {
        Airlock::start_wrapped(dir, upstream, extra, env, &[])
    }

    /// [`Airlock::start_in_env`], run under `wrapper` (a command line the daemon's is appended to).
    pub fn start_wrapped(
        dir: tempfile::TempDir,
        upstream: &str,
        mut extra: Vec<String>,
        env: &[(&str, &str)],
        wrapper: &[&str],
    ) -> Airlock {
        if !extra.iter().any(|a| a == "--reply") {
            extra.extend(["--reply".into(), "after-decision".into()]);
        }
        let control = dir.path().join("control.json");
        let _ = std::fs::remove_file(&control);
        let log =
            std::fs::File::options().create(true).append(true).open(dir.path().join("airlock.log")).expect("log file");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(env!("CARGO_BIN_EXE_airlock"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_airlock")),
        };
        let child = cmd
            .args(["run", "--upstream", upstream, "--listen", "127.0.0.1:0", "--prompt-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(dir.path())
            .args(&extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("airlock starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        let cf: Value = loop {
            if let Ok(bytes) = std::fs::read(&control)
                && let Ok(v) = serde_json::from_slice(&bytes)
            {
                break v;
            }
            assert!(Instant::now() < deadline, "airlock did not write control.json within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        let rpc = cf["rpc_url"].as_str().expect("rpc_url").to_owned();
        let ws = rpc.replacen("http://", "ws://", 1);
        let daemon_pid = cf["pid"].as_u64().expect("pid") as u32;
        Airlock { child: Some(child), daemon_pid, dir, rpc, ws, upstream: upstream.to_owned(), extra }
    }

    /// POSTs `body` to the control API at `path` with the run's token; (HTTP status, body).
    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let cf: Value =
            serde_json::from_slice(&std::fs::read(self.data_dir().join("control.json")).expect("control file"))
                .expect("control JSON");
        let url = format!("{}{path}", cf["control_url"].as_str().expect("control url"));
        let resp = reqwest::Client::new()
            .post(url)
            .bearer_auth(cf["token"].as_str().expect("token"))
            .json(body)
            .send()
            .await
            .expect("control API answers");
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    /// The daemon's process id.
    pub fn pid(&self) -> u32 {
        self.daemon_pid
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops with SIGTERM (a clean stop) and waits.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &self.daemon_pid.to_string()]).status();
            let _ = c.wait();
        }
    }

    /// Kills with SIGKILL (a crash).
    pub fn crash(&mut self) {
        if let Some(mut c) = self.child.take() {
            if c.id() != self.daemon_pid {
                let _ = Command::new("kill").args(["-KILL", &self.daemon_pid.to_string()]).status();
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts again on the same data directory (new ports).
    pub fn restart(self) -> Airlock {
        let mut this = self;
        this.stop();
        let dir = std::mem::replace(&mut this.dir, tempfile::tempdir().expect("tempdir"));
        Airlock::start_in(dir, &this.upstream.clone(), std::mem::take(&mut this.extra))
    }

    /// Starts again on the same data directory with other arguments.
    pub fn restart_with(self, extra: &[&str]) -> Airlock {
        let mut this = self;
        this.stop();
        let dir = std::mem::replace(&mut this.dir, tempfile::tempdir().expect("tempdir"));
        Airlock::start_in(dir, &this.upstream.clone(), extra.iter().map(|s| s.to_string()).collect())
    }

    /// Runs an `airlock` subcommand against this daemon's data directory.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_airlock"))
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path())
            .output()
            .expect("airlock cli runs")
    }

    pub fn cli_json(&self, args: &[&str]) -> Value {
        let out = self.cli(args);
        assert!(out.status.success(), "airlock {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("--json prints JSON")
    }

    pub fn pending(&self) -> Vec<Value> {
        match self.cli_json(&["pending", "--json"]) {
            Value::Array(items) => items,
            other => panic!("pending --json is not an array: {other}"),
        }
    }

    /// Waits until at least `n` items are pending; returns them newest first.
    pub fn wait_pending(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let items = self.pending();
            if items.len() >= n {
                return items;
            }
            assert!(Instant::now() < deadline, "{n} pending items did not appear; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn history(&self) -> Vec<Value> {
        match self.cli_json(&["history", "--json"]) {
            Value::Array(items) => items,
            other => panic!("history --json is not an array: {other}"),
        }
    }

    /// Approves as a person who has read the item: with its phrase, which risky items need
    /// (the friction itself is tested in browser and prompt).
    pub fn approve(&self, id: &str) -> Value {
        self.cli_json(&["approve", id, "--confirm", &format!("approve {id}"), "--json"])
    }

    pub fn reject(&self, id: &str) -> Value {
        self.cli_json(&["reject", id, "--json"])
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("airlock.log")).unwrap_or_default()
    }
}

impl Drop for Airlock {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("--- airlock log ---\n{}", self.log());
        }
        self.crash();
    }
}

/// Sends `method` through Airlock, approves the item it holds (waiting for it), and returns the
/// client's answer once it is forwarded.
pub async fn through(airlock: &Airlock, method: &str, params: Value) -> Value {
    let rpc = Rpc::new(&airlock.rpc);
    let before = airlock.history().len();
    let m = method.to_owned();
    let task = tokio::spawn(async move { rpc.call(&m, params).await });
    let item = loop {
        if let Some(i) = airlock.pending().first().cloned() {
            break i;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(airlock.approve(item["id"].as_str().expect("id"))["status"], "forwarded");
    let answer = task.await.expect("join");
    assert!(answer.get("result").is_some(), "forwarded: {answer}");
    assert_eq!(airlock.history().len(), before + 1);
    answer
}

/// A JSON-RPC client that shows exactly what came back (the whole response object).
#[derive(Clone)]
pub struct Rpc {
    http: reqwest::Client,
    pub url: String,
}

impl Rpc {
    pub fn new(url: &str) -> Rpc {
        Rpc::with_timeout(url, Duration::from_secs(120))
    }

    pub fn with_timeout(url: &str, timeout: Duration) -> Rpc {
        let http = reqwest::Client::builder().timeout(timeout).build().expect("client");
        Rpc { http, url: url.to_owned() }
    }

    /// Posts a body as is; returns the HTTP status and the parsed answer (Null if not JSON).
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> Result<(u16, Value), reqwest::Error> {
        let resp = self.http.post(&self.url).header("content-type", "application/json").body(body).send().await?;
        let status = resp.status().as_u16();
        let bytes = resp.bytes().await?;
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    /// One call; the full response object (with `result` or `error`).
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        self.post_raw(body.to_string()).await.expect("HTTP round trip").1
    }

    /// One call that must succeed; its result.
    pub async fn result(&self, method: &str, params: Value) -> Value {
        let resp = self.call(method, params.clone()).await;
        assert!(resp.get("error").is_none(), "{method} {params} failed: {resp}");
        resp["result"].clone()
    }
}

/// Waits for the receipt of `hash` (anvil mines a moment after it accepts a transaction).
pub async fn receipt(rpc: &Rpc, hash: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = rpc.result("eth_getTransactionReceipt", json!([hash])).await;
        if !r.is_null() {
            return r;
        }
        assert!(Instant::now() < deadline, "no receipt for {hash} within 30 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A minimal HTTP server on a free loopback port: each GET path goes to `route`, which answers
/// with a JSON body (200) or `None` (404). Returns the base URL. For beacon APIs the tests serve.
pub fn serve_get(route: impl Fn(&str) -> Option<String> + Send + 'static) -> String {
    serve_with(move |path| {
        let (status, body) = match route(path) {
            Some(body) => ("200 OK", body),
            None => ("404 Not Found", r#"{"code":404,"message":"not found"}"#.to_owned()),
        };
        (status, body.len(), body)
    })
}

/// Like [`serve_get`], with the status line, the content-length promised and the body each
/// path gets: a promise longer than the body is a download cut short.
pub fn serve_with(route: impl Fn(&str) -> (&'static str, usize, String) + Send + 'static) -> String {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let mut line = String::new();
            if BufReader::new(&conn).read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let (status, promised, body) = route(path);
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {promised}\r\nconnection: close\r\n\r\n{body}"
            );
        }
    });
    url
}

pub fn hex_u64(v: &Value) -> u64 {
    let s = v.as_str().unwrap_or_else(|| panic!("not a hex quantity: {v}"));
    u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex quantity")
}

/// Runs a command to completion off the async runtime's threads.
pub async fn output(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().expect("command runs")).await.expect("join")
}

/// A Node.js script from tests/js with its arguments.
pub fn node(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("node");
    cmd.arg(repo().join("tests/js").join(script)).args(args);
    cmd
}

/// `cast` with its arguments.
pub fn cast(args: &[&str]) -> Command {
    let mut cmd = Command::new(npm_bin("cast"));
    cmd.args(args);
    cmd
}

/// Signs (does not send) a transaction with cast against `rpc` for nonce and fees.
pub async fn mktx(rpc: &str, extra: &[&str]) -> String {
    let mut args = vec!["mktx", "--rpc-url", rpc, "--private-key", KEY0];
    args.extend_from_slice(extra);
    let out = output(cast(&args)).await;
    assert!(out.status.success(), "cast mktx {extra:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_owned()
}

/// The JSON line a test script printed for `step` (`{"step": …}`), or a panic with all it
/// printed.
pub fn script_step(out: &Output, step: &str) -> Value {
    let lines: Vec<Value> = stdout(out).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    lines.iter().find(|l| l["step"] == step).cloned().unwrap_or_else(|| panic!("no {step}: {lines:?} {}", stderr(out)))
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
