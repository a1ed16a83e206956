//! Egress: the daemon is run under strace through reads (single and batched), a held send that
//! the model explains and the person approves, a signature rejected, and the confirmation page,
//! and every outbound connection the process (threads and the model worker included) makes is
//! recorded. Only the configured upstream, relay and model endpoint may be contacted: no DNS, no
//! telemetry, no per-address lookup.

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

#[tokio::test(flavor = "multi_thread")]
async fn only_the_configured_endpoints_are_contacted() {
    // strace must be installed and allowed to trace here (some containers forbid ptrace).
    let works = std::process::Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=connect", "-o", "/dev/null", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        assert!(std::env::var_os("AIRLOCK_REQUIRE_STRACE").is_none(), "strace is missing or may not trace here");
        eprintln!("SKIPPED: strace is missing or may not trace here (tests/setup.sh installs it)");
        return;
    }
    let anvil = Anvil::start();
    let relay = Anvil::start_with(&["--fork-url", &anvil.url()]);
    let (endpoint, _) = model("SUMMARY: You send a little ETH.\nCONCERNS:\n- none").await;
    let dir = tempfile::tempdir().expect("tempdir");
    let trace = dir.path().join("connect.trace");
    let trace_arg = trace.to_str().expect("utf8").to_owned();
    let wrapper = ["strace", "-f", "-qq", "-e", "trace=connect", "-o", &trace_arg];
    let extra: Vec<String> =
        ["--private-relay", &relay.url(), "--model-endpoint", &endpoint].iter().map(|s| s.to_string()).collect();
    let work = tempfile::tempdir().expect("tempdir");
    let mut airlock = Airlock::start_wrapped(work, &anvil.url(), extra, &[], &wrapper);
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
    let log = std::fs::read_to_string(&trace).expect("the strace log");
    let seen = connects(&log);
    let allowed: BTreeSet<u16> = [port_of(&anvil.url()), port_of(&relay.url()), port_of(&endpoint)].into();
    let stray: Vec<_> = seen.iter().filter(|(addr, port)| !(addr == "127.0.0.1" && allowed.contains(port))).collect();
    assert!(stray.is_empty(), "connections beyond the configured endpoints: {stray:?}\n{log}");
    assert!(seen.contains(&("127.0.0.1".into(), port_of(&anvil.url()))), "the upstream was reached: {seen:?}");
    assert!(seen.contains(&("127.0.0.1".into(), port_of(&endpoint))), "the model endpoint was reached: {seen:?}");
    eprintln!("egress: {} distinct endpoints contacted: {seen:?}", seen.len());
}
