//! The model outside Airlock's process: the sandboxed worker (`airlock model-worker`, in
//! bubblewrap and in Landlock alone) and a real OpenAI-compatible server (llama-server, built
//! by tests/setup.sh from llama.cpp's source on PyPI) serving the real small model.
//!
//! The sandbox is checked from inside the running worker: it reads its model file, and cannot
//! read a file beside it, write to its model, or connect to a listening port. Its answer equals
//! the in-process model's for the same prompt and grammar.

use std::path::{Path, PathBuf};
use std::time::Duration;

use airlock_explain::testkit::{Dims, write_model};
use airlock_explain::{
    Backend, Endpoint, ExplainError, Local, Probe, SandboxChoice, Worker, WorkerOptions, ground, shape,
};
use serde_json::json;

use crate::explain::{explained, explained_within};
use crate::harness::{ADDR0, ADDR1, Airlock, Anvil};

#[path = "../support/recorded.rs"]
mod recorded;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_airlock"))
}

fn tiny(dir: &Path) -> PathBuf {
    let path = dir.join("tiny-qwen2.gguf");
    write_model(&path, "qwen2", Dims::TINY, None).expect("write gguf");
    path
}

fn bwrap_here() -> bool {
    airlock_explain::Sandbox::choose(SandboxChoice::Bwrap).is_ok()
}

/// Every sandbox this machine has; bubblewrap must be among them where CI asks for it.
fn sandboxes() -> Vec<SandboxChoice> {
    let mut all = vec![SandboxChoice::Landlock];
    if bwrap_here() {
        all.push(SandboxChoice::Bwrap);
    } else {
        assert!(std::env::var_os("AIRLOCK_REQUIRE_SANDBOX").is_none(), "bwrap is missing: run tests/setup.sh");
        eprintln!("SKIPPED for bubblewrap: bwrap is not installed (tests/setup.sh installs it)");
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_reads_its_model_and_nothing_else() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = tiny(tmp.path());
    let secret = tmp.path().join("wallet-keys.txt");
    std::fs::write(&secret, "not for the model").expect("write");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let local = Local::load(&model).expect("loads in-process");
    let schema = json!({ "type": "object", "additionalProperties": false, "required": ["summary"],
        "properties": { "summary": { "type": "string", "minLength": 1, "maxLength": 24 } } });
    let grammar = airlock_explain::grammar::Grammar::from_schema(&schema).expect("grammar");
    let expected = local.complete_json_blocking(shape::SYSTEM, "explain this", &grammar, 200).expect("generates");

    for choice in sandboxes() {
        let worker = Worker::start(exe(), &model, choice, WorkerOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{choice:?}: {e}"));
        eprintln!("{choice:?}: {}", worker.sandbox);
        assert_eq!(worker.source, "candle:tiny-qwen2.gguf");
        assert_eq!(worker.arch, "qwen2");
        assert_eq!(worker.weights, "as in the file");
        assert!(worker.sandbox.contains("landlock enforced"), "{choice:?}: {}", worker.sandbox);
        assert!(worker.sandbox.contains("seccomp"), "{choice:?}: {}", worker.sandbox);
        if choice == SandboxChoice::Bwrap {
            assert!(worker.sandbox.starts_with("bubblewrap"), "{}", worker.sandbox);
        }

        let may = worker.probe(Probe { read: Some(model.clone()), ..Probe::default() }).await.expect("probe");
        assert_eq!(may.read.as_deref(), Some("allowed"), "{choice:?}: the model file is readable");
        let denied = worker
            .probe(Probe {
                read: Some(secret.clone()),
                write: Some(model.clone()),
                connect: Some(format!("127.0.0.1:{port}")),
            })
            .await
            .expect("probe");
        for (what, outcome) in [("read a file beside it", &denied.read), ("write its model", &denied.write)] {
            let outcome = outcome.as_deref().expect("tried");
            assert!(outcome != "allowed", "{choice:?}: the worker could {what}");
        }
        let connect = denied.connect.as_deref().expect("tried");
        assert_ne!(connect, "allowed", "{choice:?}: the worker reached 127.0.0.1:{port}");

        // Same model, same prompt, same greedy document as in-process.
        let text = worker.complete_json(shape::SYSTEM, "explain this", &schema, 200, 1.0).await.expect("text");
        assert_eq!(text, expected, "{choice:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn dequantizing_is_passed_to_the_worker() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = tiny(tmp.path());
    for choice in sandboxes() {
        let worker = Worker::start(exe(), &model, choice, WorkerOptions { dequantize: true }).await.expect("starts");
        assert_eq!(worker.weights, "f32 for prompts (expanded at load)", "{choice:?}");
        let schema = json!({ "type": "object", "additionalProperties": false, "required": ["summary"],
            "properties": { "summary": { "type": "string", "minLength": 1, "maxLength": 8 } } });
        let text = worker.complete_json(shape::SYSTEM, "explain this", &schema, 100, 1.0).await;
        assert!(text.is_ok(), "{choice:?}: {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_that_takes_too_long_is_killed_and_the_next_one_answers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = tiny(tmp.path());
    let worker = Worker::start(exe(), &model, SandboxChoice::Landlock, WorkerOptions::default()).await.expect("starts");
    let slow = Backend::Worker { worker: worker.clone(), timeout: Duration::from_millis(1), max_tokens: 64 };
    let item = recorded::item("eth-send");
    match slow.explain(&item, |_| {}).await {
        Err(ExplainError::Timeout(_)) => {}
        other => panic!("expected a timeout: {other:?}"),
    }
    // The next request gets a fresh worker and its whole answer.
    // Enough tokens for the tiny model (one byte a token) to finish the shape.
    let patient = Backend::Worker { worker, timeout: Duration::from_secs(60), max_tokens: 4000 };
    let x = patient.explain(&item, |_| {}).await.expect("a fresh worker answers");
    assert_eq!(x.source, "candle:tiny-qwen2.gguf");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_model_file_stops_the_worker_with_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = tiny(tmp.path());
    let bytes = std::fs::read(&model).expect("read");
    let cut = tmp.path().join("cut.gguf");
    std::fs::write(&cut, &bytes[..bytes.len() / 3]).expect("write");
    let garbage = tmp.path().join("garbage.gguf");
    std::fs::write(&garbage, b"not a model at all").expect("write");
    for (file, says) in [(&cut, "cut.gguf"), (&garbage, "not a readable GGUF file")] {
        let err =
            Worker::start(exe(), file, SandboxChoice::Landlock, WorkerOptions::default()).await.expect_err("refused");
        assert!(err.to_string().contains(says), "{err}");
    }
    // Through `airlock run`: it does not start, and says why.
    let out = std::process::Command::new(exe())
        .args(["run", "--upstream", "http://127.0.0.1:9", "--verify", "unverified", "--model"])
        .arg(&garbage)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("model worker did not start") && err.contains("not a readable GGUF"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_explains_with_the_sandboxed_worker() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let model = tiny(tmp.path());
    let anvil = Anvil::start();
    let airlock =
        Airlock::start(&anvil.url(), &["--model", model.to_str().expect("utf-8"), "--model-max-tokens", "4000"]);
    let item = explained(&airlock, json!({ "from": ADDR0, "to": ADDR1, "value": "0x1" })).await;
    assert_eq!(item["explanation"]["source"], "candle:tiny-qwen2.gguf", "{item}");
    assert_eq!(item["explanation"]["state"], "done", "{item}");
    assert!(item["explanation"]["ungrounded"].is_array(), "{item}");
    assert!(airlock.log().contains("sandbox: "), "the start says how the model is confined");
}

/// llama-server with the real small model, on a free port; None when it is not installed.
struct LlamaServer {
    child: std::process::Child,
    url: String,
}

impl Drop for LlamaServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn llama_server() -> Option<LlamaServer> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = root.join("tests/llama/llama-server");
    let model = root.join("tests/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !bin.exists() || !model.exists() {
        assert!(
            std::env::var_os("AIRLOCK_REQUIRE_MODEL").is_none(),
            "llama-server or the model is missing: run tests/setup.sh"
        );
        eprintln!("SKIPPED: llama-server or the model is missing (tests/setup.sh builds and installs them)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let child = std::process::Command::new(bin)
        .arg("-m")
        .arg(&model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "-c", "4096", "-np", "1", "-t", "2"])
        // Its prompt cache computes a repeated prompt in other batches, which changes the
        // floating-point sums and so, on near-ties, the greedy text: off, for repeatable text.
        .arg("--no-cache-prompt")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("llama-server starts");
    let server = LlamaServer { child, url: format!("http://127.0.0.1:{port}") };
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(r) = http.get(format!("{}/health", server.url)).send().await
            && r.status().is_success()
        {
            return Some(server);
        }
        assert!(std::time::Instant::now() < deadline, "llama-server did not become ready");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn llama_server_explains_through_the_endpoint_backend() {
    let Some(server) = llama_server().await else { return };
    // A generous timeout: this checks the endpoint path, not its speed. llama-server does not
    // hold the shape's strings to their maxLength, so SmolLM2 may write up to max_tokens, and
    // beside the suite's other tests on 2 cores one answer has taken over 60 s.
    let backend = Backend::Endpoint(Endpoint {
        url: server.url.clone(),
        model: "local".into(),
        timeout: Duration::from_secs(300),
        max_tokens: 1200,
    });
    for name in ["eth-send", "erc20-approve-unlimited", "uniswap-v2-swap"] {
        let item = recorded::item(name);
        let mut partials = 0;
        let x = backend.explain(&item, |_| partials += 1).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(x.source, format!("endpoint:{}", server.url));
        assert!(!x.summary.is_empty(), "{name}: the model wrote something");
        assert_eq!(partials, 1, "{name}: the template's text, marked as being written, then the shape");
        let text = format!("{} {}", x.summary, x.concerns.join(" "));
        assert_eq!(x.ungrounded, ground::check(&text, &item), "{name}: grounding-checked");
        // Temperature 0: the same request, the same text.
        let again = backend.explain(&item, |_| {}).await.expect("again");
        assert_eq!((&again.summary, &again.concerns), (&x.summary, &x.concerns), "{name}: deterministic");
        eprintln!("{name}: {:?} concerns {:?} ungrounded {:?}", x.summary, x.concerns, x.ungrounded);
    }

    // Through the daemon: a held send gets llama-server's explanation, shown apart, checked.
    let anvil = Anvil::start();
    // llama-server does not hold strings to the schema's maxLength: room for SmolLM2 to repeat.
    // As above, a slow answer beside the suite's other tests is waited for (up to 300 s).
    let airlock = Airlock::start(
        &anvil.url(),
        &["--model-endpoint", &server.url, "--model-max-tokens", "2000", "--model-timeout", "300"],
    );
    let item = explained_within(&airlock, json!({ "from": ADDR0, "to": ADDR1, "value": "0x1" }), 300).await;
    assert_eq!(item["explanation"]["state"], "done", "{item}");
    assert_eq!(item["explanation"]["source"], format!("endpoint:{}", server.url));
}

/// The endpoint path of constrained decoding: the ask schema goes to llama-server as
/// `response_format`, and its answer comes back as a document of that schema (checked against
/// the same grammar here), the same on every run.
#[tokio::test(flavor = "multi_thread")]
async fn llama_server_answers_under_the_schema_sent_as_response_format() {
    let Some(server) = llama_server().await else { return };
    let backend = Backend::Endpoint(Endpoint {
        url: server.url.clone(),
        model: "local".into(),
        timeout: Duration::from_secs(120),
        max_tokens: 200,
    });
    let (schema, grammar) = (
        airlock_agent::ask::schema(),
        airlock_explain::grammar::Grammar::from_schema(&airlock_agent::ask::schema()).expect("compiles"),
    );
    for text in ["send 0.1 ETH to alice.eth", "swap 50 USDC to DAI", "what is my balance?"] {
        let answer = backend
            .complete_json(airlock_agent::ask::SYSTEM, text, &schema, airlock_agent::ask::MAX_TOKENS)
            .await
            .unwrap_or_else(|e| panic!("{text}: {e}"));
        let compact = answer.to_string();
        assert!(
            grammar.advance(&grammar.start(), compact.as_bytes()).is_some_and(|c| grammar.finished(&c)),
            "{compact}"
        );
        let again = backend
            .complete_json(airlock_agent::ask::SYSTEM, text, &schema, airlock_agent::ask::MAX_TOKENS)
            .await
            .expect("again");
        assert_eq!(answer, again, "{text}: temperature 0");
        eprintln!("{text} → {compact}");
    }
}
