//! The terminal side of decisions: `pending`, `approve`, `reject`, `history` talk to the running
//! daemon's control API, found through `control.json` in the data directory. `history` also
//! works with no daemon running, by reading the audit log directly.

use std::path::Path;
use std::time::Duration;

use airlock_proxy::ControlFile;
use airlock_types::Item;
use eyre::{WrapErr, eyre};

use crate::args::{ApprovalsArgs, AskArgs, DecideArgs, HistoryArgs, ListArgs};
use crate::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Reject,
}

/// The running daemon's control API, found through the control file in its data directory.
pub(crate) struct Api {
    pub(crate) http: reqwest::Client,
    cf: ControlFile,
}

impl Api {
    pub(crate) fn connect(dir: &Path) -> eyre::Result<Self> {
        let cf = ControlFile::read(dir).map_err(|e| eyre!(e))?;
        // A crash leaves the file behind; never hand its token to whatever listens there now.
        if !Path::new(&format!("/proc/{}", cf.pid)).exists() {
            return Err(eyre!(
                "no Airlock is running with data dir {} (the control file names pid {}, which has exited)",
                dir.display(),
                cf.pid
            ));
        }
        // Approval waits for the upstream's answer, bounded by the daemon's upstream timeout.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .wrap_err("cannot build an HTTP client")?;
        Ok(Api { http, cf })
    }

    pub(crate) async fn send<T: serde::de::DeserializeOwned>(&self, req: reqwest::RequestBuilder) -> eyre::Result<T> {
        let resp = req.bearer_auth(&self.cf.token).send().await.map_err(|e| {
            if e.is_connect() {
                eyre!(
                    "the Airlock daemon (pid {}) does not answer at {}; is it still running?",
                    self.cf.pid,
                    self.cf.control_url
                )
            } else {
                eyre!("control API request failed: {e}")
            }
        })?;
        let status = resp.status();
        let body = resp.bytes().await.wrap_err("reading the control API's answer")?;
        if !status.is_success() {
            let msg = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(eyre!("{msg} (HTTP {status})"));
        }
        serde_json::from_slice(&body).wrap_err("the control API answered something that is not an item list")
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cf.control_url)
    }
}

pub async fn pending(a: ListArgs) -> eyre::Result<()> {
    let api = Api::connect(&a.data_dir.resolve())?;
    let items: Vec<Item> = api.send(api.http.get(api.url("/api/pending"))).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else if items.is_empty() {
        println!("Nothing is waiting for a decision.");
    } else {
        print!("{}", render::items(&items, render::now()));
    }
    Ok(())
}

/// `airlock approvals`: the open approvals, from the daemon (it reads them on its head).
pub async fn approvals(a: ApprovalsArgs) -> eyre::Result<()> {
    if let Some(addr) = &a.address
        && addr.parse::<alloy_primitives::Address>().is_err()
    {
        eyre::bail!("--address {addr:?} is not an address (0x and 40 hex digits)");
    }
    let api = Api::connect(&a.data_dir.resolve())?;
    let path = match &a.address {
        Some(addr) => format!("/api/approvals?owner={addr}"),
        None => "/api/approvals".to_owned(),
    };
    let view: airlock_types::ApprovalsView = api.send(api.http.get(api.url(&path))).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&view)?);
    } else {
        print!("{}", render::approvals(&view));
    }
    Ok(())
}

/// `airlock ask TEXT`: the daemon's model reads the text into an intent; held (or simulated).
pub async fn ask(a: AskArgs) -> eyre::Result<()> {
    let text = a.text.join(" ");
    let api = Api::connect(&a.data_dir.resolve())?;
    let body = serde_json::json!({ "text": text, "hold": !a.dry_run, "from": a.from });
    let answer: serde_json::Value = api.send(api.http.post(api.url("/api/ask")).json(&body)).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(());
    }
    println!("Read as: {}", answer["intent"]);
    if let Some(item) = answer.get("item") {
        let asked = item["asked"]["summary"].as_str().unwrap_or_default();
        println!("Held as {}: {asked}", item["id"].as_str().unwrap_or_default());
        for m in item["asked"]["mismatches"].as_array().into_iter().flatten() {
            println!("  BUT: {}", m.as_str().unwrap_or_default());
        }
        println!(
            "Verdict: {}. Decide with `airlock approve` / `airlock reject`, or on the page.",
            item["verdict"].as_str().unwrap_or("no findings")
        );
    } else {
        let s = &answer["simulated"];
        println!("Would do: {}", s["asked"]["summary"].as_str().unwrap_or_default());
        match s["report"]["outcome"]["status"].as_str() {
            Some(status) => println!("Simulated: {status} (nothing held)"),
            None => println!("Not simulated: {}", s["simulation_error"].as_str().unwrap_or("no report")),
        }
    }
    Ok(())
}

pub async fn decide(a: DecideArgs, d: Decision) -> eyre::Result<()> {
    let api = Api::connect(&a.data_dir.resolve())?;
    let verb = match d {
        Decision::Approve => "approve",
        Decision::Reject => "reject",
    };
    if a.use_suggested_fees {
        if d != Decision::Approve {
            eyre::bail!("--use-suggested-fees goes with approve");
        }
        let fees = format!("/api/pending/{}/fees", a.id);
        let item: Item = api.send(api.http.post(api.url(&fees))).await?;
        if let Some(g) = &item.gas {
            eprintln!(
                "Fees replaced: maxFeePerGas {} wei, maxPriorityFeePerGas {} wei.",
                g.suggested_max_fee, g.suggested_tip
            );
        }
    }
    let path = format!("/api/pending/{}/{verb}", a.id);
    let mut req = api.http.post(api.url(&path));
    if let (Decision::Approve, Some(phrase)) = (d, &a.confirm) {
        req = req.json(&serde_json::json!({ "confirm": phrase }));
    }
    let item: Item = api.send(req).await.map_err(|e| {
        if e.to_string().contains("HTTP 428") {
            eyre!("{e}\nrun: airlock approve {} --confirm \"approve {}\"", a.id, a.id)
        } else {
            e
        }
    })?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&item)?);
    } else {
        println!("{}", render::decision(&item));
    }
    match item.status {
        airlock_types::Status::ForwardFailed => Err(eyre!("the upstream did not accept the request")),
        _ => Ok(()),
    }
}

/// `airlock prompt-url`: the page's address with the per-run token.
pub fn prompt_url(a: ListArgs) -> eyre::Result<()> {
    let api = Api::connect(&a.data_dir.resolve())?;
    println!("{}", page_url(&api.cf));
    Ok(())
}

pub fn page_url(cf: &ControlFile) -> String {
    format!("{}/?token={}", cf.control_url, cf.token)
}

pub async fn history(a: HistoryArgs) -> eyre::Result<()> {
    let dir = a.data_dir.resolve();
    let from_daemon = async {
        let api = Api::connect(&dir)?;
        // Page by page (the API returns at most 500 at a time), each after the last id seen.
        let mut items: Vec<Item> = vec![];
        while items.len() < a.limit {
            let want = (a.limit - items.len()).min(500);
            let mut path = format!("/api/history?limit={want}");
            if let Some(last) = items.last() {
                path.push_str(&format!("&before={}", last.id));
            }
            let page = api.send::<Vec<Item>>(api.http.get(api.url(&path))).await?;
            if page.is_empty() {
                break;
            }
            items.extend(page);
        }
        Ok::<_, eyre::Report>(items)
    };
    let items = match from_daemon.await {
        Ok(items) => items,
        // No daemon answers: read the log itself (sled refuses if a daemon holds it).
        Err(daemon_err) if dir.join("db").exists() => airlock_store::Store::open(&dir)
            .map(|s| s.with_hydrate(std::sync::Arc::new(airlock_hold::decode::restore_sign)))
            .and_then(|s| s.recent(a.limit))
            .map_err(|e| eyre!("{daemon_err}; reading the audit log directly failed too: {e}"))?,
        Err(e) => return Err(e),
    };
    if a.json {
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else if items.is_empty() {
        println!("The audit log is empty.");
    } else {
        print!("{}", render::items(&items, render::now()));
    }
    Ok(())
}
