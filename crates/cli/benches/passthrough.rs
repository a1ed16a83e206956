//! Pass-through at proxy speed: `wrk` posting eth_blockNumber straight to anvil, through nginx
//! (one worker, keep-alive upstream) and through Airlock (`--verify unverified`), side by side in
//! one run on the same cores, at concurrency 1 and 64. Each proxy's throughput is reported as a
//! share of direct, with the CPU time it spent per request (from /proc) and its peak RSS.
//!
//! Run: `cargo bench --bench passthrough` (needs `tests/setup.sh --bench-tools` for wrk and
//! nginx; without nginx the nginx row is skipped and said so).
//! Knobs: AIRLOCK_BENCH_SECS (seconds per measurement, default 5), AIRLOCK_BENCH_ROUNDS
//! (rounds of the three, default 3; the median round is reported).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../../../tests/support/anvil.rs"]
mod anvil;

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        // SIGTERM first: nginx's master takes its worker down with it (SIGKILL would orphan it).
        let _ = Command::new("kill").arg("-TERM").arg(self.0.id().to_string()).status();
        for _ in 0..100 {
            if matches!(self.0.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const BODY: &str = r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#;

fn which(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// nginx with one worker in front of `upstream` (host:port), keep-alive both ways.
fn start_nginx(bin: &Path, dir: &Path, upstream: &str) -> (Proc, String) {
    let port = free_port();
    let conf = dir.join("nginx.conf");
    let text = format!(
        "daemon off;\nworker_processes 1;\npid {pid};\nerror_log stderr error;\nevents {{ worker_connections 1024; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {tmp};\n  proxy_temp_path {tmp};\n  fastcgi_temp_path {tmp};\n  uwsgi_temp_path {tmp};\n  scgi_temp_path {tmp};\n\
         upstream node {{ server {upstream}; keepalive 64; }}\n\
         server {{ listen 127.0.0.1:{port}; keepalive_requests 100000;\n    location / {{ proxy_pass http://node; proxy_http_version 1.1; proxy_set_header Connection \"\"; }} }}\n}}\n",
        pid = dir.join("nginx.pid").display(),
        tmp = dir.display(),
    );
    std::fs::write(&conf, text).expect("nginx.conf");
    let child = Command::new(bin)
        .args(["-e", "stderr", "-p"])
        .arg(dir)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .spawn()
        .expect("nginx");
    wait_listening(port);
    (Proc(child), format!("http://127.0.0.1:{port}/"))
}

fn start_airlock(upstream: &str, dir: &Path) -> (Proc, String) {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["run", "--upstream", upstream, "--verify", "unverified", "--prompt-listen", "127.0.0.1:0"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("airlock");
    wait_listening(port);
    (Proc(child), format!("http://127.0.0.1:{port}/"))
}

/// CPU seconds (user + system) a process and its children have used, and its peak RSS in KiB.
fn cpu_and_peak(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, r)| r).split_whitespace().collect();
    let ticks: f64 = [11, 12, 13, 14].iter().filter_map(|i| fields.get(*i)?.parse::<f64>().ok()).sum();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let peak = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    (ticks / 100.0, peak)
}

/// nginx does its work in its worker, a child of the master.
fn worker_of(pid: u32) -> u32 {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(pid)
}

/// Requests per second from wrk at `conc` connections for `secs`; checks that every answer was
/// a 2xx with a result.
fn wrk(script: &Path, url: &str, conc: usize, secs: u64) -> f64 {
    let threads = conc.min(2).to_string();
    let out = Command::new(which("wrk").expect("wrk"))
        .args(["-t", &threads, "-c", &conc.to_string(), "-d", &format!("{secs}s"), "-s"])
        .arg(script)
        .arg(url)
        .output()
        .expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("Non-2xx"), "non-2xx answers through {url}:\n{text}");
    assert!(!text.contains("bad answers"), "answers without a result through {url}:\n{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no figure from wrk:\n{text}"))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let secs: u64 = std::env::var("AIRLOCK_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let rounds: usize = std::env::var("AIRLOCK_BENCH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3);
    if which("wrk").is_none() {
        eprintln!("wrk is not installed: run tests/setup.sh --bench-tools");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("post.lua");
    let mut f = std::fs::File::create(&script).expect("script");
    // Counts answers that are not a result, so a proxy that fails fast cannot look fast.
    write!(
        f,
        "wrk.method = \"POST\"\nwrk.body = '{BODY}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n\
         bad = 0\nresponse = function(status, headers, body) if not string.find(body, '\"result\"') then bad = bad + 1 end end\n\
         done = function(summary, latency, requests) if bad > 0 then io.write(\"bad answers: \" .. bad .. \"\\n\") end end\n"
    )
    .expect("write");

    let node = anvil::start(&[]);
    let upstream = node.url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let nginx_dir = dir.path().join("nginx");
    std::fs::create_dir_all(&nginx_dir).expect("dir");
    let nginx = which("nginx").map(|bin| start_nginx(&bin, &nginx_dir, &upstream));
    if nginx.is_none() {
        println!("nginx is not installed (tests/setup.sh --bench-tools): its row is skipped");
    }
    let (airlock, airlock_url) = start_airlock(&node.url, &dir.path().join("airlock"));
    let airlock_pid = airlock.0.id();
    let nginx_pid = nginx.as_ref().map(|(p, _)| worker_of(p.0.id()));

    println!("pass-through: wrk POST eth_blockNumber, {secs} s per run, median of {rounds} rounds");
    println!(
        "| concurrency | direct req/s | nginx req/s (share) | Airlock req/s (share) | CPU µs/req nginx | CPU µs/req Airlock |"
    );
    println!("|---|---|---|---|---|---|");
    for conc in [1usize, 64] {
        let (mut direct, mut via_nginx, mut via_airlock) = (vec![], vec![], vec![]);
        let (mut cpu_nginx, mut cpu_airlock) = (vec![], vec![]);
        for _ in 0..rounds {
            direct.push(wrk(&script, &node.url, conc, secs));
            if let (Some((_, url)), Some(pid)) = (&nginx, nginx_pid) {
                let before = cpu_and_peak(pid).0;
                let rps = wrk(&script, url, conc, secs);
                cpu_nginx.push((cpu_and_peak(pid).0 - before) / (rps * secs as f64) * 1e6);
                via_nginx.push(rps);
            }
            let before = cpu_and_peak(airlock_pid).0;
            let rps = wrk(&script, &airlock_url, conc, secs);
            cpu_airlock.push((cpu_and_peak(airlock_pid).0 - before) / (rps * secs as f64) * 1e6);
            via_airlock.push(rps);
        }
        let d = median(direct);
        let share = |v: f64| format!("{v:.0} ({:.0}%)", 100.0 * v / d);
        let nginx_cell = if via_nginx.is_empty() { "—".to_owned() } else { share(median(via_nginx)) };
        let nginx_cpu = if cpu_nginx.is_empty() { "—".to_owned() } else { format!("{:.1}", median(cpu_nginx)) };
        println!(
            "| {conc} | {d:.0} | {nginx_cell} | {} | {nginx_cpu} | {:.1} |",
            share(median(via_airlock)),
            median(cpu_airlock)
        );
    }
    let (_, peak) = cpu_and_peak(airlock_pid);
    println!("Airlock peak RSS: {:.1} MB", peak as f64 / 1024.0);
    drop(nginx);
    drop(airlock);
}
