//! An upstream that is down, silent, or talking garbage gets a clear error within a bounded
//! time, never a hang; when it comes back, Airlock reconnects by itself.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use serde_json::json;

use crate::harness::*;

async fn down_then_back(ws: bool) {
    let mut anvil = Anvil::start();
    let upstream = if ws { anvil.ws_url() } else { anvil.url() };
    let airlock = Airlock::start(&upstream, &["--upstream-timeout", "3"]);
    let rpc = Rpc::new(&airlock.rpc);
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x7a69");

    anvil.kill();
    let resp = rpc.call("eth_blockNumber", json!([])).await;
    assert_eq!(resp["error"]["code"], -32082, "unreachable: {resp}");
    let msg = resp["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("upstream") && msg.contains(&upstream), "{msg}");
    // A send cannot be checked against the chain id, so it is refused, not held.
    let raw = "0x02f870827a69800184773594018252089470997970c51812dc3a010c7d01b50e0d17dc79c8880de0b6b3a764000080c001a0a243aa6e2c9c556166678a51151b1b1337f21443dc655f146d58187c2fdbd80ea03df633138a48495a65e6230e1029da2340be19fb5e8f7f5031601e4ea8e6778c";
    let resp = rpc.call("eth_sendRawTransaction", json!([raw])).await;
    assert_eq!(resp["error"]["code"], -32082, "{resp}");
    assert!(airlock.pending().is_empty());

    anvil.restart();
    assert_eq!(rpc.result("eth_chainId", json!([])).await, "0x7a69", "reconnected");
    assert_eq!(rpc.result("eth_blockNumber", json!([])).await, "0x0");
}

#[tokio::test(flavor = "multi_thread")]
async fn http_upstream_down_then_back() {
    down_then_back(false).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ws_upstream_down_then_back() {
    down_then_back(true).await;
}

/// A server that accepts connections and answers each request with `answer` (or never).
fn fake_server(answer: Option<&'static str>) -> u16 {
    fake_server_status(200, answer)
}

/// Like [`fake_server`], with this HTTP status.
fn fake_server_status(status: u16, answer: Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for mut conn in listener.incoming().flatten() {
            match answer {
                None => held.push(conn), // read nothing, say nothing
                Some(body) => {
                    let mut buf = [0u8; 4096];
                    let _ = conn.read(&mut buf);
                    let resp = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = conn.write_all(resp.as_bytes());
                }
            }
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_upstream_times_out_with_a_clear_error() {
    let port = fake_server(None);
    let airlock = Airlock::start(&format!("http://127.0.0.1:{port}"), &["--upstream-timeout", "2"]);
    // The client would wait 60 s; Airlock answers after its own 2 s bound.
    let rpc = Rpc::with_timeout(&airlock.rpc, Duration::from_secs(60));
    let resp = rpc.call("eth_blockNumber", json!([])).await;
    assert_eq!(resp["error"]["code"], -32082, "{resp}");
    assert!(resp["error"]["message"].as_str().is_some_and(|m| m.contains("did not answer within 2 s")), "{resp}");
}

#[tokio::test(flavor = "multi_thread")]
async fn garbage_from_the_upstream_is_a_clear_error() {
    for garbage in [
        "<html>not json</html>",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"0x1\",\"error\":{\"code\":1,\"message\":\"x\"}}",
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0","id":999,"result":"0x1"}"#,
        "[1,2,3]",
    ]
    .into_iter()
    .map(|g| (200, g))
    .chain([(500, "Internal Server Error"), (502, "<html>Bad Gateway</html>")])
    {
        let (status, garbage) = garbage;
        let port = fake_server_status(status, Some(garbage));
        let airlock = Airlock::start(&format!("http://127.0.0.1:{port}"), &["--upstream-timeout", "2"]);
        let rpc = Rpc::new(&airlock.rpc);
        // A read passed through as bytes is still checked: JSON-RPC, with the id asked for.
        let resp = rpc.call("eth_getBalance", json!([ADDR0, "latest"])).await;
        assert_eq!(resp["error"]["code"], -32083, "{garbage}: {resp}");
        assert!(resp["error"]["message"].as_str().is_some_and(|m| m.contains("upstream")), "{garbage}: {resp}");
        // And a send through such an upstream is never held on its word.
        let resp = rpc.call("eth_sendTransaction", json!([{ "from": ADDR0, "to": ADDR1, "chainId": "0x7a69" }])).await;
        assert!(resp["error"]["code"] == -32083, "{garbage}: {resp}");
        assert!(airlock.pending().is_empty());
    }
}

/// Review finding: an approval whose approver goes away mid-forward must still end, and say
/// that the request may have reached the upstream.
#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_approval_still_ends_and_says_the_outcome_is_unknown() {
    let port = fake_server(None);
    let airlock = Airlock::start(&format!("http://127.0.0.1:{port}"), &["--upstream-timeout", "2"]);
    let rpc = Rpc::new(&airlock.rpc);
    // A signature request needs no chain id, so it is held even though the upstream is silent.
    let held = tokio::spawn(async move { rpc.call("personal_sign", json!(["0x68656c6c6f", ADDR0])).await });
    let id = airlock.wait_pending(1)[0]["id"].as_str().expect("id").to_owned();

    let cf: serde_json::Value =
        serde_json::from_slice(&std::fs::read(airlock.data_dir().join("control.json")).expect("control file"))
            .expect("json");
    let url = format!("{}/api/pending/{id}/approve", cf["control_url"].as_str().expect("url"));
    let impatient = reqwest::Client::builder().timeout(Duration::from_millis(300)).build().expect("client");
    let gone = impatient.post(url).bearer_auth(cf["token"].as_str().expect("token")).send().await;
    assert!(gone.is_err(), "the approver gave up before the upstream answered");

    let told = held.await.expect("join");
    assert_eq!(told["error"]["code"], -32081, "may or may not have been forwarded: {told}");
    let item = &airlock.history()[0];
    assert_eq!(item["status"], "forward_failed", "{item}");
    let msg = item["error"]["message"].as_str().unwrap_or_default();
    assert!(msg.contains("may or may not have reached"), "{msg}");
}
