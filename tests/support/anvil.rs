//! anvil from npm (`tests/node_modules`, as `tests/setup.sh` installs it) on a free port, for
//! in-process tests and benches outside the e2e suite. One copy, included with
//! `#[path = "../../../tests/support/anvil.rs"] mod anvil;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The repository root, from a crate under crates/ or from the root package.
pub fn repo() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if here.join("tests/node_modules").is_dir() || here.join("tests/setup.sh").is_file() {
        here
    } else {
        here.join("../..")
    }
}

/// A running anvil, killed when dropped.
pub struct Anvil {
    child: Child,
    /// Its HTTP endpoint.
    pub url: String,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts anvil on a free port with `args` added, and waits until it listens.
pub fn start(args: &[&str]) -> Anvil {
    let bin = repo().join("tests/node_modules/.bin/anvil");
    assert!(bin.exists(), "anvil is missing: run tests/setup.sh (the README's test command does)");
    let mut child = Command::new(bin)
        .args(["--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("anvil starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let addr = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("Listening on ").map(str::to_owned))
        .expect("anvil listens");
    // Keep reading, so that anvil never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    Anvil { child, url: format!("http://{}", addr.trim()) }
}
