//! Airlock holds the keys (issue 17): an account in Airlock's keystore that anvil does not
//! know, and viem with no key at all (a JSON-RPC account, viem's defaults). Every send and
//! signature waits for the person; approved ones are signed by Airlock and only
//! `eth_sendRawTransaction` reaches the upstream; a rejected one leaves nothing signed. The
//! key's bytes appear in no log line and no audit record.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::token;

/// A key anvil does not know, and its address.
const AGENT_KEY: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
const AGENT: &str = "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23";

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_without_a_key_sends_through_airlock_and_the_person_decides() {
    let anvil = Anvil::start();
    let direct = Rpc::new(&anvil.url());
    let tst = token(&anvil.url()).await;
    // Fund the managed account: ETH for fees, TST to send.
    direct.result("anvil_setBalance", json!([AGENT, "0x8ac7230489e80000"])).await;
    crate::simulate::send(&anvil.url(), &tst, "transfer(address,uint256)", &[AGENT, "1000"], "0").await;
    // Every method that reaches the upstream, recorded.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let upstream = crate::verified::proxy_upstream(anvil.url(), move |req: &Value, _: &mut Value| {
        let reqs = req.as_array().cloned().unwrap_or_else(|| vec![req.clone()]);
        let mut log = log.lock().expect("log");
        log.extend(reqs.iter().filter_map(|r| r["method"].as_str().map(str::to_owned)));
    })
    .await;

    // The keystore: the agent's key imported from a file, the password in another.
    let dir = tempfile::tempdir().expect("tempdir");
    let (key_file, pw_file) = (dir.path().join("key"), dir.path().join("pw"));
    std::fs::write(&key_file, AGENT_KEY).expect("key");
    std::fs::write(&pw_file, "hunter2 but longer\n").expect("pw");
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = data.path().to_str().expect("utf8").to_owned();
    let pw = pw_file.to_str().expect("utf8");
    let airlock_cli = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_airlock")).args(args).output().expect("airlock runs")
    };
    let out = airlock_cli(&[
        "keys",
        "import",
        "--data-dir",
        &data_dir,
        "--password-file",
        pw,
        "--private-key-file",
        key_file.to_str().expect("utf8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), AGENT);
    let out = airlock_cli(&["keys", "export-address", "--data-dir", &data_dir]);
    assert_eq!(stdout(&out).trim(), AGENT);

    // A wrong password: a clear error, and nothing starts.
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not it").expect("wrong");
    let out = airlock_cli(&[
        "run",
        "--upstream",
        &upstream,
        "--data-dir",
        &data_dir,
        "--listen",
        "127.0.0.1:0",
        "--prompt-listen",
        "127.0.0.1:0",
        "--password-file",
        wrong.to_str().expect("utf8"),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("wrong password"), "{}", stderr(&out));

    // A model explains every item: what it is given must not hold the key either.
    let (model, prompts) = crate::explain::model("SUMMARY: A send.\nCONCERNS:\n- none").await;
    let args = ["--password-file", pw, "--reply", "at-once", "--model-endpoint", &model];
    let airlock = Airlock::start_in(data, &upstream, args.iter().map(|a| a.to_string()).collect());
    seen.lock().expect("log").clear();
    let mut agent = tokio::process::Command::from(node("viem_agent.mjs", &[&airlock.rpc, AGENT, &tst, ADDR2]));
    agent.kill_on_drop(true);
    let run = tokio::spawn(async move { agent.output().await });

    // The person decides each one as it comes: approve four, reject the fifth.
    for (n, decide) in [(1, "approve"), (2, "approve"), (3, "approve"), (4, "approve"), (5, "reject")] {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let item = loop {
            let history = airlock.history();
            if history.len() + airlock.pending().len() >= n
                && let Some(p) = airlock.pending().first()
            {
                break p.clone();
            }
            assert!(std::time::Instant::now() < deadline, "item {n} never arrived");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let id = item["id"].as_str().expect("id");
        let decided = if decide == "approve" { airlock.approve(id) } else { airlock.reject(id) };
        assert!(decided["status"] == "forwarded" || decided["status"] == "rejected", "{decided}");
    }
    let out = run.await.expect("join").expect("node runs");
    let step = |name: &str| script_step(&out, name);
    let accounts = step("accounts")["accounts"].to_string().to_ascii_lowercase();
    assert_eq!(accounts, json!([AGENT]).to_string(), "eth_accounts answers the managed account");
    let eth = step("eth");
    assert_eq!((eth["ok"].as_bool(), eth["status"].as_str()), (Some(true), Some("success")), "{eth}");
    let signer = eth["from"].as_str().unwrap_or_default().to_ascii_lowercase();
    assert_eq!(signer, AGENT, "mined, signed by Airlock for the managed account");
    assert_eq!(step("erc20")["status"], "success", "{}", stdout(&out));
    let typed = step("typed");
    assert_eq!(typed["valid"], true, "the typed-data signature recovers to the managed account: {typed}");
    let batch = step("batch");
    assert_eq!(batch["status"], "success", "{batch}");
    assert_eq!(batch["receipts"], json!(["success", "success"]), "{batch}");
    let rejected = step("rejected");
    assert_eq!((rejected["ok"].as_bool(), rejected["rejected"].as_bool()), (Some(false), Some(true)), "{rejected}");

    // The audit record says who signed, beside the report the person saw.
    let history = airlock.history();
    let signed: Vec<&str> = history.iter().filter_map(|i| i["sent_to"].as_str()).collect();
    assert!(signed.contains(&"upstream, signed by Airlock"), "{signed:?}");
    assert!(signed.contains(&"signed by Airlock (nothing sent)"), "the typed data: {signed:?}");
    // ...and the nonce a send it signed went out with (the sends after it run on it).
    let sent: Vec<&Value> = history
        .iter()
        .filter(|i| i["sent_to"] == "upstream, signed by Airlock" && i["method"] == "eth_sendTransaction")
        .collect();
    assert!(!sent.is_empty() && sent.iter().all(|i| i["tx"]["nonce"].is_u64()), "{sent:#?}");
    assert!(
        history
            .iter()
            .all(|i| i["status"] == "rejected" || i["report"].is_object() || i["signature_report"].is_object())
    );

    // The upstream saw raw transactions only: no eth_sendTransaction, no signing request.
    let methods = seen.lock().expect("log").clone();
    assert_eq!(methods.iter().filter(|m| *m == "eth_sendRawTransaction").count(), 4, "{methods:?}");
    for m in
        ["eth_sendTransaction", "eth_signTypedData_v4", "personal_sign", "eth_sign", "eth_accounts", "wallet_sendCalls"]
    {
        assert!(!methods.iter().any(|x| x == m), "{m} reached the upstream: {methods:?}");
    }
    // The rejected send was never signed: the agent's nonce is 4 (two sends and two calls).
    let nonce = direct.result("eth_getTransactionCount", json!([AGENT, "latest"])).await;
    assert_eq!(hex_u64(&nonce), 4);

    // eth_signTransaction: signed after approval, answered with the raw bytes, never sent.
    let rpc = Rpc::new(&airlock.rpc);
    let task = tokio::spawn({
        let rpc = rpc.clone();
        async move { rpc.call("eth_signTransaction", json!([{ "from": AGENT, "to": ADDR2, "value": "0x3" }])).await }
    });
    let item = airlock.wait_pending(1)[0].clone();
    airlock.approve(item["id"].as_str().expect("id"));
    let raw = task.await.expect("join")["result"].as_str().expect("raw transaction").to_owned();
    let decoded = stdout(&output(cast(&["decode-transaction", &raw])).await);
    assert!(decoded.to_ascii_lowercase().contains(&AGENT[2..]), "signed by the managed account: {decoded}");
    assert_eq!(hex_u64(&direct.result("eth_getTransactionCount", json!([AGENT, "latest"])).await), 4, "not sent");

    // A raw hash is not signed for a managed account: refused at once, never held.
    let raw_hash = format!("0x{}", "ab".repeat(32));
    let refused = Rpc::new(&airlock.rpc).call("eth_sign", json!([AGENT, raw_hash])).await;
    assert!(
        refused["error"]["message"].as_str().unwrap_or_default().contains("does not sign a raw 32-byte hash"),
        "{refused}"
    );
    assert!(airlock.pending().is_empty());

    // The spending policy: a small clean send is approved without the person, and signed; one
    // over the day's budget waits.
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[rules.unverified]\nseverity = \"info\"\n\n[spending]\nenabled = true\ndaily_budget = \"0.01\"\ndaily_count = 5\nmax_calldata_bytes = 0\n",
    )
    .expect("config");
    let airlock = airlock.restart_with(&["--password-file", pw, "--config", config.to_str().expect("utf8")]);
    let rpc = Rpc::new(&airlock.rpc);
    let small = json!([{ "from": AGENT, "to": ADDR2, "value": "0x2386f26fc1000" }]);
    let answer = rpc.call("eth_sendTransaction", small).await;
    let hash = answer["result"].clone();
    assert!(hash.is_string(), "auto-approved, signed and sent: {answer}");
    assert_eq!(receipt(&direct, &hash).await["status"], "0x1");
    assert_eq!(airlock.history()[0]["auto_approved"], true);
    let over = tokio::spawn({
        let rpc = rpc.clone();
        async move {
            rpc.call("eth_sendTransaction", json!([{ "from": AGENT, "to": ADDR2, "value": "0x2386f26fc10000" }])).await
        }
    });
    let item = airlock.wait_pending(1)[0].clone();
    airlock.reject(item["id"].as_str().expect("id"));
    assert_eq!(over.await.expect("join")["error"]["code"], 4001);

    // The key is in no log line and no audit record.
    let mut airlock = airlock;
    airlock.stop();
    let key_bytes = AGENT_KEY.to_ascii_lowercase();
    let mut everything = airlock.log();
    for entry in walk(airlock.data_dir()) {
        if entry.starts_with(airlock.data_dir().join("keystore")) {
            continue;
        }
        everything.push_str(&String::from_utf8_lossy(&std::fs::read(&entry).unwrap_or_default()));
    }
    everything.push_str(&prompts.lock().expect("prompts").join("\n"));
    assert!(!prompts.lock().expect("prompts").is_empty(), "the model was asked");
    assert!(!everything.to_ascii_lowercase().contains(&key_bytes), "the private key leaked");
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// The nonce Airlock signs with is never below what the verified head proves: an upstream that
/// under-reports the pending count cannot make a managed send reuse a nonce.
#[tokio::test(flavor = "multi_thread")]
async fn a_managed_nonce_never_goes_below_the_proven_one() {
    let anvil = Anvil::start();
    let direct = Rpc::new(&anvil.url());
    direct.result("anvil_setBalance", json!([AGENT, "0x8ac7230489e80000"])).await;
    direct.result("evm_mine", json!([])).await;
    // Pinned at the head: state is proven against headers that link back to it.
    let genesis = direct.result("eth_getBlockByNumber", json!(["latest", false])).await["hash"].clone();
    // Every pending count the upstream gives is 0.
    let upstream = crate::verified::proxy_upstream(anvil.url(), |req: &Value, answer: &mut Value| {
        if req["method"] == "eth_getTransactionCount" && req["params"][1] == "pending" {
            answer["result"] = json!("0x0");
        }
    })
    .await;
    let dir = tempfile::tempdir().expect("tempdir");
    let (key_file, pw_file) = (dir.path().join("key"), dir.path().join("pw"));
    std::fs::write(&key_file, AGENT_KEY).expect("key");
    std::fs::write(&pw_file, "pw for the nonce test").expect("pw");
    let data = tempfile::tempdir().expect("tempdir");
    let pw = pw_file.to_str().expect("utf8");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_airlock"))
        .args(["keys", "import", "--password-file", pw, "--private-key-file", key_file.to_str().expect("utf8")])
        .arg("--data-dir")
        .arg(data.path())
        .output()
        .expect("airlock runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let pin = genesis.as_str().expect("hash");
    let args = ["--password-file", pw, "--verify", "checkpoint", "--checkpoint", pin];
    let airlock = Airlock::start_in(data, &upstream, args.iter().map(|a| a.to_string()).collect());
    for n in 1..=2u64 {
        let rpc = Rpc::new(&airlock.rpc);
        let task = tokio::spawn(async move {
            rpc.call("eth_sendTransaction", json!([{ "from": AGENT, "to": ADDR2, "value": "0x1" }])).await
        });
        let item = airlock.wait_pending(1)[0].clone();
        assert_ne!(item["verification"]["status"], "failed", "proven against the pin: {item}");
        airlock.approve(item["id"].as_str().expect("id"));
        let answer = task.await.expect("join");
        let hash = answer["result"].clone();
        assert!(hash.is_string(), "send {n}: {answer}");
        assert_eq!(receipt(&direct, &hash).await["status"], "0x1", "send {n} mined");
        let nonce = direct.result("eth_getTransactionCount", json!([AGENT, "latest"])).await;
        assert_eq!(hex_u64(&nonce), n);
    }
}
