//! The confirmation page in a real browser: Debian's chromium driven through chromedriver with
//! the W3C WebDriver protocol (a small client here, over reqwest). Transactions sent by cast
//! through Airlock to anvil appear on the page, Approve gets them mined, Reject gives the
//! client 4001, and a `danger` item cannot be approved without its phrase. Screenshots go to
//! target/tmp/screenshots.
//!
//! Needs `chromium` and `chromium-driver` (`.ci/run` installs them). Without them the tests say
//! so and pass, unless AIRLOCK_REQUIRE_BROWSER is set, as CI does.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, token};

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// chromedriver, killed on drop.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Browser {
    _driver: Driver,
    base: String,
    http: reqwest::Client,
    session: String,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl Browser {
    /// Headless chromium, or `None` (with a note) where it is not installed.
    pub async fn start() -> Option<Browser> {
        let (chromium, driver) = (PathBuf::from("/usr/bin/chromium"), PathBuf::from("/usr/bin/chromedriver"));
        if !chromium.exists() || !driver.exists() {
            assert!(
                std::env::var_os("AIRLOCK_REQUIRE_BROWSER").is_none(),
                "chromium and chromedriver are required: apt-get install chromium chromium-driver"
            );
            eprintln!(
                "SKIPPED: the browser tests need Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)"
            );
            return None;
        }
        let port = free_port();
        let driver = Driver(
            Command::new(&driver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts"),
        );
        let base = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--no-first-run", "--disable-quic", "--window-size=1280,1000",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }}});
        let resp: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("chromedriver answers")
            .json()
            .await
            .expect("a WebDriver answer");
        let session = resp["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {resp}")).to_owned();
        Some(Browser { _driver: driver, base, http, session, _profile: profile })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut req = self.http.request(method, url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req.send().await.expect("webdriver").json().await.expect("webdriver JSON");
        v["value"].clone()
    }

    pub async fn goto(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    /// The first element matching `css`, waiting up to 30 s for it.
    pub async fn find(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self
                .cmd(reqwest::Method::POST, "/element", Some(json!({ "using": "css selector", "value": css })))
                .await;
            if let Some(id) = v[ELEMENT].as_str() {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css} on the page");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn click(&self, el: &str) {
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/click"), Some(json!({}))).await;
    }

    pub async fn type_text(&self, el: &str, text: &str) {
        self.cmd(reqwest::Method::POST, &format!("/element/{el}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn text(&self, el: &str) -> String {
        self.cmd(reqwest::Method::GET, &format!("/element/{el}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    pub async fn enabled(&self, el: &str) -> bool {
        self.cmd(reqwest::Method::GET, &format!("/element/{el}/enabled"), None).await.as_bool().unwrap_or(false)
    }

    /// Waits until the element's text contains `want` (ignoring case: CSS may upper-case it).
    pub async fn wait_text(&self, css: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let t = self.text(&self.find(css).await).await;
            if t.to_lowercase().contains(&want.to_lowercase()) {
                return t;
            }
            assert!(Instant::now() < deadline, "{css} never said {want:?}; it says {t:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let b64 = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(b64.as_str().unwrap_or_default()).expect("png");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}

/// cast sends through Airlock (unlocked account: eth_sendTransaction) and waits for the receipt.
fn cast_send(rpc: &str, args: &[&str]) -> tokio::task::JoinHandle<std::process::Output> {
    let mut a = vec!["send", "--rpc-url", rpc, "--unlocked", "--from", ADDR0, "--json"];
    a.extend_from_slice(args);
    let cmd = cast(&a);
    tokio::spawn(output(cmd))
}

pub(crate) fn page_url(airlock: &Airlock) -> String {
    let out = airlock.cli(&["prompt-url"]);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_shows_held_requests_and_takes_the_decision() {
    let Some(browser) = Browser::start().await else { return };
    let anvil = Anvil::start();
    let tst = token(&anvil.url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    // A devnet the person accepts as unverified: that finding is only info here.
    std::fs::write(&config, "[rules.unverified]\nseverity = \"info\"\n").expect("write");
    let airlock = Airlock::start(&anvil.url(), &["--config", config.to_str().expect("utf8")]);
    let url = page_url(&airlock);
    assert!(url.contains("/?token="), "{url}");
    browser.goto(&url).await;
    browser.wait_text("#status", "live").await;
    // The threat lists that loaded, with their size and date, at the foot of the page.
    let lists = browser.wait_text("#intel", "forta-phishing").await;
    assert!(lists.contains("6,726 addresses") && lists.contains("dated 2023-01-26"), "{lists}");
    browser.screenshot("0-empty").await;

    // 1. A plain send: info, approved with one click, mined.
    let sent = cast_send(&airlock.rpc, &[ADDR1, "--value", "0.5ether"]);
    let summary = browser.wait_text("#summary", "You send 0.5 ETH").await;
    assert!(summary.contains("0.5 ETH"), "{summary}");
    browser.wait_text("#verdict", "info").await;
    browser.wait_text("#detail", "UNVERIFIED").await;
    browser.screenshot("1-send").await;
    let approve = browser.find("#approve").await;
    browser.click(&approve).await;
    browser.wait_text("#result", "Approved").await;
    let out = sent.await.expect("join");
    assert!(out.status.success(), "cast: {}", stderr(&out));
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("receipt");
    assert_eq!(receipt["status"], "0x1", "mined: {receipt}");
    browser.screenshot("2-approved").await;

    // 2. Reject: the client gets 4001, nothing is sent.
    let sent = cast_send(&airlock.rpc, &[ADDR2, "--value", "0.25ether"]);
    browser.wait_text("#summary", "0.25 ETH").await;
    let reject = browser.find("#reject").await;
    browser.click(&reject).await;
    browser.wait_text("#result", "Rejected").await;
    let out = sent.await.expect("join");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("4001"), "{}", stderr(&out));

    // 3. A warning asks for a second click: the first one decides nothing.
    let data = calldata("transfer(address,uint256)", &[ADDR1, "5000000000000000000000"]).await;
    let sent = cast_send(&airlock.rpc, &[&tst, &data, "--gas-limit", "100000"]);
    browser.wait_text("#verdict", "warn").await;
    browser.wait_text("#detail", "would fail").await;
    // Who it deals with: the token contract, with its age from the chain's history.
    browser.wait_text("#deals-with", "deployed").await;
    let approve = browser.find("#approve").await;
    browser.click(&approve).await;
    browser.wait_text("#approve", "Confirm").await;
    browser.screenshot("3-warn-confirm").await;
    assert_eq!(airlock.pending().len(), 1, "one click on a warning decides nothing");
    browser.click(&approve).await;
    browser.wait_text("#result", "Approved").await;
    let out = sent.await.expect("join");
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    assert!(receipt["status"] == "0x0" || !out.status.success(), "a reverting transaction, approved, fails on chain");

    // 4. Danger: Approve stays disabled until the phrase is typed.
    let data = calldata("approve(address,uint256)", &[ADDR2, &format!("0x{}", "f".repeat(64))]).await;
    let sent = cast_send(&airlock.rpc, &[&tst, &data]);
    browser.wait_text("#verdict", "danger").await;
    let item = airlock.pending()[0].clone();
    let id = item["id"].as_str().expect("id").to_owned();
    browser.wait_text("#detail", "approval-to-eoa").await;
    browser.wait_text("#detail", &format!("approve {id}")).await;
    let approve = browser.find("#approve").await;
    assert!(!browser.enabled(&approve).await, "danger: approve is disabled before the phrase");
    browser.click(&approve).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(airlock.pending().len(), 1, "a click on the disabled button decides nothing");
    let input = browser.find("#phrase-input").await;
    browser.type_text(&input, "approve wrong").await;
    assert!(!browser.enabled(&approve).await, "a wrong phrase does not unlock it");
    browser.screenshot("4-danger-locked").await;
    // The API refuses it too without the phrase: the friction is not only on the page.
    let token = url.split("token=").nth(1).expect("token");
    let control = url.split("/?").next().expect("base");
    let refused = reqwest::Client::new()
        .post(format!("{control}/api/pending/{id}/approve"))
        .bearer_auth(token)
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), 428);
    let cli = airlock.cli(&["approve", &id]);
    assert!(!cli.status.success() && stderr(&cli).contains("--confirm"), "{}", stderr(&cli));
    // Typed right, it goes through.
    let input = browser.find("#phrase-input").await;
    browser.cmd(reqwest::Method::POST, &format!("/element/{input}/clear"), Some(json!({}))).await;
    browser.type_text(&input, &format!("approve {id}")).await;
    let approve = browser.find("#approve").await;
    assert!(browser.enabled(&approve).await, "the phrase unlocks it");
    browser.screenshot("5-danger-unlocked").await;
    browser.click(&approve).await;
    browser.wait_text("#result", "Approved").await;
    assert!(sent.await.expect("join").status.success());

    // 5. A wallet that stopped waiting: the page says so, and approving asks to broadcast anyway.
    let leaving = Rpc::with_timeout(&airlock.rpc, Duration::from_millis(500));
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": "eth_sendTransaction",
        "params": [{ "from": ADDR0, "to": ADDR2, "value": "0x3" }] });
    assert!(leaving.post_raw(body.to_string()).await.is_err(), "the client gives up");
    browser.wait_text("#detail", "stopped waiting").await;
    let approve = browser.find("#approve").await;
    assert!(!browser.enabled(&approve).await, "nobody is waiting: approve asks first");
    let anyway = browser.find("#broadcast-anyway").await;
    browser.click(&anyway).await;
    assert!(browser.enabled(&approve).await);
    browser.screenshot("6-wallet-gone").await;
    browser.click(&approve).await;
    browser.wait_text("#result", "Approved").await;
    assert_eq!(airlock.history()[0]["status"], "forwarded");

    // 6. A 500 gwei tip: the page shows the fee next to the suggestion, and takes it.
    let sent =
        cast_send(&airlock.rpc, &[ADDR1, "--value", "1", "--priority-gas-price", "500gwei", "--gas-price", "600gwei"]);
    browser.wait_text("#detail", "gas-overpay").await;
    browser.wait_text("#fees", "Suggested: tip").await;
    browser.screenshot("8-fee-overpay").await;
    let use_fees = browser.find("#use-fees").await;
    browser.click(&use_fees).await;
    browser.wait_text("#fees", "It now carries the suggested fee").await;
    let item = airlock.pending()[0].clone();
    assert_eq!(item["gas"]["accepted"], true, "{item}");
    assert!(!item["findings"].to_string().contains("gas-overpay"), "the rules ran again: {item}");
    browser.screenshot("9-fee-accepted").await;
    let approve = browser.find("#approve").await;
    browser.click(&approve).await;
    browser.wait_text("#result", "Approved").await;
    let out = sent.await.expect("join");
    let receipt: Value = serde_json::from_slice(&out.stdout).expect("receipt");
    let mined = Rpc::new(&anvil.url()).result("eth_getTransactionByHash", json!([receipt["transactionHash"]])).await;
    let tip: u128 = item["gas"]["suggested_tip"].as_str().and_then(|t| t.parse().ok()).expect("tip");
    assert_eq!(mined["maxPriorityFeePerGas"], format!("{tip:#x}"), "mined with the suggestion: {mined}");

    // 7. An agent's intent: the page says what was asked above what the request does.
    let (status, proposed) =
        crate::agent::propose(&airlock, json!({ "kind": "send", "from": ADDR0, "to": ADDR2, "amount": "0.01" })).await;
    assert_eq!(status, 200, "{proposed}");
    let asked = browser.wait_text("#asked", &format!("send 0.01 ETH to {ADDR2}")).await;
    assert!(!asked.contains("BUT"), "{asked}");
    browser.screenshot("9b-asked").await;
    airlock.reject(proposed["id"].as_str().expect("id"));

    // The approvals tab: the unlimited approval of step 4, with its revoke transaction.
    browser.goto(&format!("{url}#approvals")).await;
    browser.wait_text("#list", "UNLIMITED").await;
    browser.wait_text("#detail", "\"data\": \"0x095ea7b3").await;
    browser.screenshot("10-approvals").await;

    // The history page lists the decisions with their reports.
    browser.goto(&url.replace("/?", "/history?")).await;
    browser.wait_text("#list", "rejected").await;
    browser.wait_text("#list", "forwarded").await;
    browser.screenshot("7-history").await;
}

/// A signed transaction answered at once (issue 14): the page says the wallet has its hash and
/// waits for the receipt, asks for no "broadcast anyway", and Approve gets it mined.
#[tokio::test(flavor = "multi_thread")]
async fn an_item_answered_at_once_needs_no_broadcast_anyway() {
    let Some(browser) = Browser::start().await else { return };
    let anvil = Anvil::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[rules.unverified]\nseverity = \"info\"\n").expect("write");
    let airlock = Airlock::start(&anvil.url(), &["--reply", "at-once", "--config", config.to_str().expect("utf8")]);
    let raw = mktx(&anvil.url(), &["--value", "1", ADDR1]).await;
    let hash = Rpc::new(&airlock.rpc).result("eth_sendRawTransaction", json!([raw])).await;
    browser.goto(&page_url(&airlock)).await;
    browser.wait_text("#detail", "has the transaction hash and waits for its receipt").await;
    let approve = browser.find("#approve").await;
    assert!(browser.enabled(&approve).await, "nothing to confirm about a gone wallet");
    let anyway = browser
        .cmd(reqwest::Method::POST, "/elements", Some(json!({ "using": "css selector", "value": "#broadcast-anyway" })))
        .await;
    assert_eq!(anyway.as_array().map(Vec::len), Some(0), "no broadcast-anyway box: {anyway}");
    browser.screenshot("8-answered-at-once").await;
    browser.click(&approve).await;
    browser.wait_text("#result", "Approved").await;
    assert_eq!(receipt(&Rpc::new(&anvil.url()), &hash).await["status"], "0x1");
}
