//! `airlock sync` against a beacon API served by the test from real mainnet data (the Capella
//! chain of testdata/mainnet-capella): verified from the checkpoint, refused when old unless
//! asked, continued from the stored state, and refused when the API tampers.

use std::process::Command;

use serde_json::Value;

use crate::harness::*;

const CHECKPOINT: &str = "0x5afc212a7924789b2bc86acad3ab3a6ffb1f6e97253ea50bee7f4f51422c9275";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(repo().join("testdata/mainnet-capella").join(name)).expect("fixture")
}

/// Serves the light-client endpoints; `tamper` flips one signature byte of the second update.
fn beacon_api(tamper: bool) -> String {
    let mut updates: Vec<Value> = serde_json::from_str(&fixture("updates.json")).expect("updates");
    if tamper {
        let sig = updates[1]["data"]["sync_aggregate"]["sync_committee_signature"].as_str().expect("sig").to_owned();
        let flipped = if &sig[10..11] == "0" { "1" } else { "0" };
        let sig = format!("{}{}{}", &sig[..10], flipped, &sig[11..]);
        updates[1]["data"]["sync_aggregate"]["sync_committee_signature"] = Value::from(sig);
    }
    let (bootstrap, finality, optimistic) =
        (fixture("bootstrap.json"), fixture("finality.json"), fixture("optimistic.json"));
    serve_get(move |path| {
        if path == format!("/eth/v1/beacon/light_client/bootstrap/{CHECKPOINT}") {
            Some(bootstrap.clone())
        } else if let Some(q) = path.strip_prefix("/eth/v1/beacon/light_client/updates?start_period=") {
            let start: u64 = q.split('&').next().and_then(|p| p.parse().ok()).unwrap_or(0);
            let period = |u: &Value| {
                u["data"]["attested_header"]["beacon"]["slot"].as_str().and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
                    / 8192
            };
            let list: Vec<&Value> = updates.iter().filter(|u| period(u) >= start).collect();
            Some(serde_json::to_string(&list).expect("json"))
        } else if path == "/eth/v1/beacon/light_client/finality_update" {
            Some(finality.clone())
        } else if path == "/eth/v1/beacon/light_client/optimistic_update" {
            Some(optimistic.clone())
        } else {
            None
        }
    })
}

fn sync(dir: &std::path::Path, api: &str, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["sync", "--network", "mainnet", "--consensus-rpc", api, "--json", "--data-dir"])
        .arg(dir)
        .args(extra)
        .output()
        .expect("airlock sync runs")
}

#[test]
fn sync_verifies_mainnet_from_a_checkpoint_and_continues_from_stored_state() {
    let api = beacon_api(false);
    let dir = tempfile::tempdir().expect("tempdir");

    // A 2023 checkpoint is far older than the weak-subjectivity limit: refused, with the reason.
    let old = sync(dir.path(), &api, &["--checkpoint", CHECKPOINT]);
    assert!(!old.status.success());
    assert!(
        stderr(&old).contains("weak-subjectivity") && stderr(&old).contains("--accept-old-checkpoint"),
        "{}",
        stderr(&old)
    );

    let out = sync(dir.path(), &api, &["--checkpoint", CHECKPOINT, "--accept-old-checkpoint"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["started_from"], "checkpoint");
    assert_eq!(report["finalized"]["slot"], 7_109_344);
    assert_eq!(report["finalized"]["block_number"], 17_923_026);
    assert_eq!(report["optimistic"]["slot"], 7_109_431);
    assert_eq!(report["optimistic"]["block_number"], 17_923_113);
    assert!(
        report["optimistic"]["age_secs"].as_u64().is_some_and(|a| a > 365 * 86_400),
        "old data is shown with its age"
    );

    // A restart needs no checkpoint: the verified state is in the data directory.
    let again = sync(dir.path(), &api, &["--accept-old-checkpoint"]);
    assert!(again.status.success(), "{}", stderr(&again));
    let report: Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(report["started_from"], "stored");
    assert_eq!(report["finalized"]["slot"], 7_109_344);

    let human = Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["sync", "--consensus-rpc", &api, "--accept-old-checkpoint", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("runs");
    assert!(stdout(&human).contains("block 17923113"), "{}", stdout(&human));
}

#[test]
fn sync_refuses_a_tampering_beacon_api_and_stores_nothing() {
    let api = beacon_api(true);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sync(dir.path(), &api, &["--checkpoint", CHECKPOINT, "--accept-old-checkpoint"]);
    assert!(!out.status.success(), "a bad signature must fail the sync");
    assert!(stderr(&out).contains("verification failed") && stderr(&out).contains("signature"), "{}", stderr(&out));
    let next = sync(dir.path(), &api, &["--accept-old-checkpoint"]);
    assert!(stderr(&next).contains("no verified state"), "nothing was stored: {}", stderr(&next));
}

#[test]
fn sync_without_a_checkpoint_or_state_says_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sync(dir.path(), "http://127.0.0.1:9", &[]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--checkpoint"), "{}", stderr(&out));
    let bad = sync(dir.path(), "http://127.0.0.1:9", &["--checkpoint", "0x1234"]);
    assert!(stderr(&bad).contains("32-byte"), "{}", stderr(&bad));
}
