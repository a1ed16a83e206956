//! `airlock intel update` and `airlock intel status`.

use std::time::Duration;

use airlock_intel::IntelConfig;
use airlock_intel::update::Outcome;

use crate::args::{IntelArgs, IntelCommand, PolicyArgs};

pub async fn intel(a: IntelArgs) -> eyre::Result<()> {
    match a.command {
        IntelCommand::Update { data_dir, policy, timeout } => update(&data_dir.resolve(), &policy, timeout).await,
        IntelCommand::Status { data_dir, policy, json } => status(&data_dir.resolve(), &policy, json),
    }
}

fn config(p: &PolicyArgs) -> eyre::Result<IntelConfig> {
    Ok(match p.config_file() {
        Some(path) => IntelConfig::load(&path)?,
        None => IntelConfig::default(),
    })
}

async fn update(data_dir: &std::path::Path, p: &PolicyArgs, timeout: u64) -> eyre::Result<()> {
    let cfg = config(p)?;
    if !cfg.list.iter().any(|l| l.url.is_some()) {
        eprintln!("No list to download: add [[intel.list]] entries with a url and sha256 to the config file.");
        return Ok(());
    }
    let results =
        airlock_intel::update::update_all(&cfg, data_dir, Duration::from_secs(timeout), |name, done| match done {
            None => eprintln!("{name}: downloading…"),
            Some(Outcome::Updated(m)) => {
                eprintln!("{name}: updated, {} addresses ({} bytes, sha256 {})", m.entries, m.bytes, m.sha256)
            }
            Some(Outcome::Unchanged(m)) => eprintln!("{name}: unchanged, {} addresses", m.entries),
            Some(Outcome::Failed(why)) => eprintln!("{name}: FAILED, the old list is kept: {why}"),
        })
        .await;
    if results.iter().any(|(_, o)| matches!(o, Outcome::Updated(_))) {
        tell_the_daemon(data_dir).await;
    }
    let failed = results.iter().filter(|(_, o)| matches!(o, Outcome::Failed(_))).count();
    if failed > 0 {
        eyre::bail!("{failed} of {} lists failed to update (their old versions are kept)", results.len());
    }
    Ok(())
}

/// A daemon running on this data directory reads the lists again at once.
async fn tell_the_daemon(data_dir: &std::path::Path) {
    let Ok(api) = crate::client::Api::connect(data_dir) else {
        eprintln!("No Airlock is running with data dir {}: the lists load when it starts.", data_dir.display());
        return;
    };
    match api.send::<Vec<airlock_types::ThreatList>>(api.http.post(api.url("/api/intel/reload"))).await {
        Ok(lists) => {
            let n: usize = lists.iter().map(|l| l.entries).sum();
            eprintln!("The running Airlock now uses them: {n} entries in {} lists.", lists.len());
        }
        Err(e) => eprintln!("The running Airlock did not take them ({e}); they load when it restarts."),
    }
}

fn status(data_dir: &std::path::Path, p: &PolicyArgs, json: bool) -> eyre::Result<()> {
    let cfg = config(p)?;
    let started = std::time::Instant::now();
    let (lists, missing) = airlock_intel::load(&cfg, Some(data_dir))?;
    let took = started.elapsed();
    if json {
        let v = serde_json::json!({ "lists": lists.lists(), "missing": missing, "addresses": lists.len() });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    for l in lists.lists() {
        let age = match l.fetched_at {
            Some(t) => format!("downloaded {} ago", crate::render::ago(now.saturating_sub(t))),
            None => format!("dated {}", if l.date.is_empty() { "unknown" } else { &l.date }),
        };
        let skipped = if l.skipped > 0 { format!(", {} unreadable rows skipped", l.skipped) } else { String::new() };
        println!("{:<26} {:>7} addresses  {:<10} {age}{skipped}\n{:<26} {}", l.name, l.entries, l.origin, "", l.source);
    }
    for m in &missing {
        println!("{m}");
    }
    println!("{} entries in all, loaded in {} ms", lists.len(), took.as_millis());
    Ok(())
}
