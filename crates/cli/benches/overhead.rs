//! What Airlock adds to a read: the same requests straight to anvil and through Airlock, side by
//! side in one run, at concurrency 1 and 64, for eth_blockNumber and eth_call (an ERC-20
//! balanceOf on OpenZeppelin's token); the same eth_call answered from proofs by a daemon in
//! `--verify checkpoint` mode (revm on proven state, warm cache); then the idle daemon's
//! resident memory.
//!
//! Run: `cargo bench --bench overhead` (needs `npm ci --prefix tests` for anvil).
//! Knobs: AIRLOCK_BENCH_SECS (seconds per measurement, default 3).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ADDR0: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[path = "../../../tests/support/anvil.rs"]
mod anvil;

fn start_airlock(upstream: &str, dir: &std::path::Path, extra: &[&str]) -> (Proc, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["run", "--upstream", upstream, "--listen", "127.0.0.1:0", "--prompt-listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(dir)
        .args(extra)
        .env("RUST_LOG", "warn")
        .envs(std::env::var("AIRLOCK_BENCH_DAEMON_THREADS").ok().map(|n| ("TOKIO_WORKER_THREADS", n)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("airlock");
    let control = dir.join("control.json");
    let deadline = Instant::now() + Duration::from_secs(30);
    let cf: Value = loop {
        if let Some(v) = std::fs::read(&control).ok().and_then(|b| serde_json::from_slice(&b).ok()) {
            break v;
        }
        assert!(Instant::now() < deadline, "airlock did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    (Proc(child), cf["rpc_url"].as_str().expect("rpc_url").to_owned())
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

async fn rpc(client: &reqwest::Client, url: &str, body: &str) -> Value {
    let resp = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    resp.json().await.expect("json")
}

/// ERC20PresetFixedSupply("Test", "TST", 10^24, ADDR0), constructor arguments encoded by hand.
fn erc20_deploy_data() -> String {
    let path = repo().join("tests/node_modules/@openzeppelin/contracts/build/contracts/ERC20PresetFixedSupply.json");
    let artifact: Value = serde_json::from_slice(&std::fs::read(path).expect("artifact")).expect("json");
    let word = |hex: &str| format!("{hex:0>64}");
    let text = |s: &str| format!("{}{:0<64}", word(&format!("{:x}", s.len())), alloy_primitives::hex::encode(s));
    format!(
        "{}{}{}{}{}{}{}",
        artifact["bytecode"].as_str().expect("bytecode"),
        word("80"),
        word("c0"),
        word(&format!("{:x}", 10u128.pow(24))),
        word(ADDR0.trim_start_matches("0x")),
        text("Test"),
        text("TST"),
    )
}

struct Stats {
    p50_us: f64,
    p99_us: f64,
    rps: f64,
    n: usize,
}

/// Sends `body` from `conc` concurrent clients for `secs`; every answer must be a result.
async fn measure(url: &str, body: &str, conc: usize, secs: f64) -> Stats {
    let client = reqwest::Client::builder().pool_max_idle_per_host(conc).build().expect("client");
    // Warm the connections and both processes' caches.
    for _ in 0..200 {
        rpc(&client, url, body).await;
    }
    let stop = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let body: Arc<str> = body.into();
    let url: Arc<str> = url.into();
    let tasks: Vec<_> = (0..conc)
        .map(|_| {
            let (client, body, url) = (client.clone(), body.clone(), url.clone());
            tokio::spawn(async move {
                let mut lat = Vec::with_capacity(100_000);
                while Instant::now() < stop {
                    let t = Instant::now();
                    let v = rpc(&client, &url, &body).await;
                    lat.push(t.elapsed());
                    assert!(v.get("result").is_some(), "{v}");
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("join"));
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1e6;
    Stats { p50_us: pct(0.50), p99_us: pct(0.99), rps: all.len() as f64 / elapsed, n: all.len() }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` would too: only run when benching.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let secs: f64 = std::env::var("AIRLOCK_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let anvil = anvil::start(&[]);
    let anvil_url = anvil.url.clone();
    let dir = tempfile::tempdir().expect("tempdir");
    let (airlock, airlock_url) = start_airlock(&anvil_url, dir.path(), &[]);
    let pid = airlock.0.id();
    std::thread::sleep(Duration::from_secs(1));
    let rss_start = rss_kib(pid);

    rt.block_on(async {
        let client = reqwest::Client::new();
        let deploy = json!({"jsonrpc":"2.0","id":1,"method":"eth_sendTransaction",
            "params":[{"from": ADDR0, "data": erc20_deploy_data()}]});
        let hash = rpc(&client, &anvil_url, &deploy.to_string()).await["result"].clone();
        let mut token = Value::Null;
        while token.is_null() {
            let r = json!({"jsonrpc":"2.0","id":1,"method":"eth_getTransactionReceipt","params":[hash]});
            token = rpc(&client, &anvil_url, &r.to_string()).await["result"]["contractAddress"].clone();
        }
        let balance_of = format!("0x70a08231{:0>64}", ADDR0.trim_start_matches("0x"));
        let bodies = [
            ("eth_blockNumber", json!({"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]})),
            (
                "eth_call",
                json!({"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"to": token, "data": balance_of}, "latest"]}),
            ),
        ];
        println!("Airlock read overhead: anvil direct vs through Airlock, {secs} s per cell, {} cores", num_cpus());
        println!(
            "{:<16} {:>4}  {:>10} {:>10} {:>10}   {:>10} {:>10} {:>10}   {:>9} {:>9} {:>7}",
            "method", "conc", "direct p50", "p99", "req/s", "airlock p50", "p99", "req/s", "+p50", "+p99", "thru"
        );
        for (name, body) in &bodies {
            let body = body.to_string();
            for conc in [1usize, 64] {
                let d = measure(&anvil_url, &body, conc, secs).await;
                let a = measure(&airlock_url, &body, conc, secs).await;
                println!(
                    "{:<16} {:>4}  {:>8.0}us {:>8.0}us {:>10.0}   {:>9.0}us {:>8.0}us {:>10.0}   {:>+7.0}us {:>+7.0}us {:>6.1}%   (n={}/{})",
                    name,
                    conc,
                    d.p50_us,
                    d.p99_us,
                    d.rps,
                    a.p50_us,
                    a.p99_us,
                    a.rps,
                    a.p50_us - d.p50_us,
                    a.p99_us - d.p99_us,
                    100.0 * a.rps / d.rps,
                    d.n,
                    a.n
                );
            }
        }
        // Verified: the same eth_call, run by Airlock in revm on state proven against a header
        // linked to the pinned genesis block (the head is re-read and linked on every call).
        let genesis = json!({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x0", false]});
        let genesis = rpc(&client, &anvil_url, &genesis.to_string()).await["result"]["hash"].clone();
        let vdir = tempfile::tempdir().expect("tempdir");
        let pin = genesis.as_str().expect("hash");
        let (_verified, verified_url) = start_airlock(&anvil_url, vdir.path(), &["--verify", "checkpoint", "--checkpoint", pin]);
        let body = bodies[1].1.to_string();
        println!("verified eth_call (checkpoint mode, warm cache) vs anvil direct:");
        for conc in [1usize, 64] {
            let d = measure(&anvil_url, &body, conc, secs).await;
            let v = measure(&verified_url, &body, conc, secs).await;
            println!(
                "{:<16} {:>4}  {:>8.0}us {:>8.0}us {:>10.0}   {:>9.0}us {:>8.0}us {:>10.0}   p50 {:>4.2}x  thru {:>5.1}%",
                "eth_call", conc, d.p50_us, d.p99_us, d.rps, v.p50_us, v.p99_us, v.rps,
                v.p50_us / d.p50_us, 100.0 * v.rps / d.rps
            );
        }
        propose_latency(&client, dir.path(), &anvil_url).await;
    });
    std::thread::sleep(Duration::from_secs(2));
    println!(
        "idle daemon RSS: {:.1} MiB at start, {:.1} MiB idle after the load",
        rss_start as f64 / 1024.0,
        rss_kib(pid) as f64 / 1024.0
    );
}

/// An agent's `propose` (control API) to a held item with its report, warm, beside anvil's
/// own simulation of the same send (`eth_estimateGas` direct): 30 rounds each, sequential.
async fn propose_latency(client: &reqwest::Client, dir: &std::path::Path, anvil_url: &str) {
    let cf: Value = serde_json::from_slice(&std::fs::read(dir.join("control.json")).expect("control")).expect("json");
    let url = format!("{}/api/propose", cf["control_url"].as_str().expect("url"));
    let token = cf["token"].as_str().expect("token").to_owned();
    let intent =
        json!({ "kind": "send", "from": ADDR0, "to": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "amount": "0.001" });
    let estimate = json!({"jsonrpc":"2.0","id":1,"method":"eth_estimateGas","params":[{
        "from": ADDR0, "to": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "value": "0x38d7ea4c68000"}]});
    let (mut held, mut node) = (vec![], vec![]);
    for round in 0..31 {
        let t = Instant::now();
        let r = client.post(&url).bearer_auth(&token).json(&intent).send().await.expect("propose");
        assert!(r.status().is_success(), "propose: {}", r.status());
        let item: Value = r.json().await.expect("item");
        assert!(item["report"].is_object(), "held with its report");
        let e = t.elapsed();
        let t = Instant::now();
        rpc(client, anvil_url, &estimate.to_string()).await;
        if round > 0 {
            // The first round warms the caches.
            held.push(e);
            node.push(t.elapsed());
        }
    }
    held.sort();
    node.sort();
    let ms = |v: &[Duration], p: f64| v[((v.len() as f64 * p) as usize).min(v.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "propose → held item with report (warm, 30 rounds): p50 {:.2} ms, p90 {:.2} ms; anvil's eth_estimateGas of the same send direct: p50 {:.2} ms",
        ms(&held, 0.5),
        ms(&held, 0.9),
        ms(&node, 0.5)
    );
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
