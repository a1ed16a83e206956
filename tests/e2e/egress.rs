//! Egress: the daemon is run under strace through reads (single and batched), a held send that
//! the model explains and the person approves, a signature rejected, and the confirmation page,
//! and every outbound connection the process (threads and the model worker included) makes is
//! recorded. Only the configured upstream, relay and model endpoint may be contacted: no DNS, no
//! telemetry, no per-address lookup. With the light client on, the same holds with the beacon
//! API added to the list.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::explain::{explained, model};
use crate::harness::*;

/// (address, port) of every AF_INET / AF_INET6 connect() in an strace log.
fn connects(log: &str) -> BTreeSet<(String, u16)> {
    let mut out = BTreeSet::new();
    for line in log.lines().filter(|l| l.contains("connect(") && l.contains("AF_INET")) {
        let port = line.split("htons(").nth(1).and_then(|r| r.split(')').next()).and_then(|p| p.parse().ok());
        let addr = ["inet_addr(\"", "inet_pton(AF_INET6, \""]
            .iter()
            .find_map(|k| line.split(k).nth(1).and_then(|r| r.split('"').next()))
            .unwrap_or("?");
        if let Some(port) = port {
            out.insert((addr.to_owned(), port));
        }
    }
    out
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':').next().and_then(|p| p.trim_end_matches('/').parse().ok()).expect("a port")
}

/// Whether strace is installed and allowed to trace here (some containers forbid ptrace).
fn strace_works() -> bool {
    let works = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=connect", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        assert!(std::env::var_os("AIRLOCK_REQUIRE_STRACE").is_none(), "strace is missing or may not trace here");
        eprintln!("SKIPPED: strace is missing or may not trace here (tests/setup.sh installs it)");
    }
    works
}

/// The daemon in `work`, with `extra` arguments, under strace writing to `trace`.
fn traced(work: tempfile::TempDir, upstream: &str, extra: &[&str], trace: &std::path::Path) -> Airlock {
    let trace_arg = trace.to_str().expect("utf8").to_owned();
    let wrapper = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", &trace_arg];
    let extra: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    Airlock::start_wrapped(work, upstream, extra, &[], &wrapper)
}

/// The connections in `trace`: each to 127.0.0.1 on one of `allowed`, and each of `reached` among
/// them.
fn only(trace: &std::path::Path, allowed: &[u16], reached: &[(&str, u16)]) {
    let log = std::fs::read_to_string(trace).expect("the strace log");
    let seen = connects(&log);
    let stray: Vec<_> = seen.iter().filter(|(addr, port)| !(addr == "127.0.0.1" && allowed.contains(port))).collect();
    assert!(stray.is_empty(), "connections beyond the configured endpoints: {stray:?}\n{log}");
    for (what, port) in reached {
        assert!(seen.contains(&("127.0.0.1".into(), *port)), "{what} was reached: {seen:?}");
    }
    eprintln!("egress: {} distinct endpoints contacted: {seen:?}", seen.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_configured_endpoints_are_contacted() {
    if !strace_works() {
        return;
    }
    let anvil = Anvil::start();
    let relay = Anvil::start_with(&["--fork-url", &anvil.url()]);
    let (endpoint, _) = model("SUMMARY: You send a little ETH.\nCONCERNS:\n- none").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("connect.trace");
    let extra = ["--private-relay", &relay.url(), "--model-endpoint", &endpoint];
    let mut airlock = traced(tempfile::tempdir().expect("tempdir"), &anvil.url(), &extra, &trace);
    let rpc = Rpc::new(&airlock.rpc);

    // Reads, alone and in a batch beside a send.
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x7a69");
    rpc.result("eth_getBalance", json!([ADDR0, "latest"])).await;
    let batch = json!([
        { "jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber" },
        { "jsonrpc": "2.0", "id": 2, "method": "eth_gasPrice" },
    ]);
    let (_, answers) = rpc.post_raw(batch.to_string()).await.expect("batch");
    assert_eq!(answers.as_array().map(Vec::len), Some(2));
    // A send the model explains, approved and forwarded.
    let item = explained(&airlock, json!({ "from": ADDR0, "to": ADDR1, "value": "0x1" })).await;
    assert_eq!(item["explanation"]["source"], format!("endpoint:{endpoint}"), "{item}");
    let sent = tokio::spawn({
        let rpc = Rpc::new(&airlock.rpc);
        async move { rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x2" }])).await }
    });
    let id = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.approve(&id);
    assert!(sent.await.expect("join")["result"].is_string(), "forwarded");
    // A signature, rejected.
    let signed = tokio::spawn({
        let rpc = Rpc::new(&airlock.rpc);
        async move { rpc.call("personal_sign", json!(["0x68656c6c6f", ADDR0])).await }
    });
    let id = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();
    airlock.reject(&id);
    assert_eq!(signed.await.expect("join")["error"]["code"], 4001);
    // The page and its API.
    let cf: Value = serde_json::from_slice(&std::fs::read(airlock.data_dir().join("control.json")).expect("control"))
        .expect("json");
    let page = format!("{}/?token={}", cf["control_url"].as_str().expect("url"), cf["token"].as_str().expect("token"));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    assert!(http.get(&page).send().await.expect("page").status().is_success());
    let history = page.replacen("/?token=", "/api/history?token=", 1);
    assert!(http.get(&history).send().await.expect("history").status().is_success());

    airlock.stop();
    let (upstream, model) = (port_of(&anvil.url()), port_of(&endpoint));
    only(
        &trace,
        &[upstream, port_of(&relay.url()), model],
        &[("the upstream", upstream), ("the model endpoint", model)],
    );
}

/// The light client on: a beacon API (served by the test, its sync committee signing anvil's
/// heads) is contacted beside the upstream, and nothing else, through reads proven against the
/// signed head and a held send approved.
#[tokio::test(flavor = "multi_thread")]
async fn with_the_light_client_only_the_upstream_and_beacon_api_are_contacted() {
    use crate::lightclient::{anvil_as_mainnet, beacon_sim, verified_args};
    if !strace_works() {
        return;
    }
    let anvil = anvil_as_mainnet().await;
    let sim = beacon_sim(&anvil, Default::default()).await;
    let checkpoint = sim.checkpoint.to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("connect.trace");
    let mut airlock =
        traced(tempfile::tempdir().expect("tempdir"), &anvil.url(), &verified_args(&sim, &checkpoint), &trace);
    let rpc = Rpc::new(&airlock.rpc);
    assert_eq!(hex_u64(&rpc.result("eth_blockNumber", json!([])).await), sim.head_number, "the signed head");
    rpc.result("eth_getBalance", json!([ADDR0, "latest"])).await;
    let sent = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "value": "0x2" }])).await }
    });
    let item = airlock.wait_pending(1)[0].clone();
    assert_eq!(item["verification"]["status"], "verified", "{item}");
    airlock.approve(item["id"].as_str().expect("id"));
    assert!(sent.await.expect("join")["result"].is_string(), "forwarded");
    airlock.stop();
    let (upstream, beacon) = (port_of(&anvil.url()), port_of(&sim.url));
    only(&trace, &[upstream, beacon], &[("the upstream", upstream), ("the beacon API", beacon)]);
}
