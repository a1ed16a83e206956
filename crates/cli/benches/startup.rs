//! Start-up time against the audit log's size: `airlock run` on data directories whose logs
//! hold 10 MB, 100 MB and 1 GB of decided items (real recorded items, ~5 KB each, one of them
//! still pending), timed from spawn to `control.json` (the daemon listening), beside the time
//! sled alone takes to open the same log. The one pending item must be found and abandoned.
//!
//! Run: `cargo bench --bench startup`. Knob: AIRLOCK_BENCH_LOG_MB (comma-separated sizes,
//! default 10,100,1000).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use airlock_types::{Item, ItemId, Status};

fn template() -> Item {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/explain/items/approval-to-eoa.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).expect("item")).expect("json");
    // The recorded items leave out their id (they are compared across runs).
    v["id"] = serde_json::json!("00000000");
    serde_json::from_value(v).expect("an item")
}

/// A log of about `mb` megabytes; the last item is pending.
fn fill(dir: &Path, mb: usize) -> usize {
    let store = airlock_store::Store::open(dir).expect("store");
    let mut item = template();
    item.status = Status::Rejected;
    let size = serde_json::to_vec(&item).expect("json").len();
    let n = mb * 1_000_000 / size;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..n {
        let mut it = item.clone();
        it.id = ItemId::from(format!("{i:08x}"));
        if i + 1 == n {
            it.status = Status::Pending;
        }
        batch.push(it);
        if batch.len() == 10_000 || i + 1 == n {
            store.put_all(&batch).expect("write");
            batch.clear();
        }
    }
    n
}

fn du(dir: &Path) -> u64 {
    walk(dir).iter().filter_map(|p| p.metadata().ok()).map(|m| m.len()).sum()
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

fn start(dir: &Path) -> Duration {
    let _ = std::fs::remove_file(dir.join("control.json"));
    let t = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["run", "--upstream", "http://127.0.0.1:9", "--verify", "unverified"])
        .args(["--listen", "127.0.0.1:0", "--prompt-listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("airlock");
    while !dir.join("control.json").exists() {
        assert!(t.elapsed() < Duration::from_secs(120), "no start within 120 s");
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = t.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    took
}

fn main() {
    let sizes: Vec<usize> = std::env::var("AIRLOCK_BENCH_LOG_MB")
        .unwrap_or_else(|_| "10,100,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    println!("start-up against the audit log (spawn to listening; median of 3 starts)");
    println!("| log | items | on disk | sled open | Airlock start |");
    println!("|---|---|---|---|---|");
    for mb in sizes {
        let dir = tempfile::tempdir().expect("tempdir");
        let n = fill(dir.path(), mb);
        let t = Instant::now();
        drop(airlock_store::Store::open(dir.path()).expect("open"));
        let open = t.elapsed();
        let mut starts: Vec<Duration> = (0..3).map(|_| start(dir.path())).collect();
        starts.sort();
        let store = airlock_store::Store::open(dir.path()).expect("open");
        let last = store.recent(1).expect("recent").pop().expect("an item");
        assert_eq!(last.status, Status::Abandoned, "the pending item was abandoned at start");
        drop(store);
        println!(
            "| {mb} MB | {n} | {:.0} MB | {:.0} ms | {:.0} ms |",
            du(dir.path()) as f64 / 1e6,
            open.as_secs_f64() * 1e3,
            starts[1].as_secs_f64() * 1e3
        );
    }
}
