//! `airlock intel update`: each configured list downloaded whole from its URL (never a
//! question about one address), checked against its pinned sha256, read in full, and only
//! then put in place with a rename, so a failure at any step keeps the list that was there.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{IntelConfig, IntelError, ListSpec};

/// The largest list downloaded.
pub const MAX_LIST_BYTES: usize = 256 * 1024 * 1024;

/// What is kept beside a downloaded list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub url: String,
    pub sha256: String,
    /// Seconds since the epoch.
    pub fetched_at: u64,
    pub bytes: u64,
    pub entries: usize,
}

/// What happened to one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Updated(Meta),
    /// The download matched what is there.
    Unchanged(Meta),
    /// Refused or failed; the list that was there (if any) is kept.
    Failed(String),
}

fn dir(data_dir: &Path) -> PathBuf {
    data_dir.join("intel")
}

/// The downloaded file of list `name` and its meta, if it was ever downloaded.
pub fn downloaded(data_dir: &Path, name: &str) -> Result<Option<(PathBuf, Meta)>, IntelError> {
    check_name(name)?;
    let (file, meta) = (dir(data_dir).join(format!("{name}.list")), dir(data_dir).join(format!("{name}.json")));
    let text = match std::fs::read_to_string(&meta) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(IntelError::io(&meta, e)),
    };
    let m: Meta = serde_json::from_str(&text).map_err(|e| IntelError::Invalid(format!("{}: {e}", meta.display())))?;
    Ok(file.exists().then_some((file, m)))
}

/// A list's name becomes a file name: letters, digits, `-` and `_` only.
fn check_name(name: &str) -> Result<(), IntelError> {
    let ok =
        !name.is_empty() && name.len() <= 64 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok { Ok(()) } else { Err(IntelError::Invalid(format!("list name {name:?}: use letters, digits, - and _"))) }
}

/// Updates every list in `config` that has a URL, one after another; `progress` hears of
/// each as it starts and ends.
pub async fn update_all(
    config: &IntelConfig,
    data_dir: &Path,
    timeout: Duration,
    mut progress: impl FnMut(&str, Option<&Outcome>),
) -> Vec<(String, Outcome)> {
    let client = reqwest::Client::builder().timeout(timeout).build();
    let mut out = vec![];
    for spec in config.list.iter().filter(|s| s.url.is_some()) {
        progress(&spec.name, None);
        let outcome = match &client {
            Ok(c) => match update_one(c, spec, data_dir).await {
                Ok(o) => o,
                Err(e) => Outcome::Failed(e.to_string()),
            },
            Err(e) => Outcome::Failed(format!("no HTTP client: {e}")),
        };
        progress(&spec.name, Some(&outcome));
        out.push((spec.name.clone(), outcome));
    }
    out
}

async fn update_one(client: &reqwest::Client, spec: &ListSpec, data_dir: &Path) -> Result<Outcome, IntelError> {
    check_name(&spec.name)?;
    let url = spec.url.as_deref().unwrap_or_default();
    let body = download(client, url).await.map_err(IntelError::Invalid)?;
    let got = hex_of(&Sha256::digest(&body));
    let Some(pinned) = spec.sha256.as_deref().map(|s| s.trim().trim_start_matches("0x").to_ascii_lowercase()) else {
        return Ok(Outcome::Failed(format!(
            "no sha256 pinned for it: nothing was replaced. What was downloaded has sha256 {got}; \
             check the list and pin that in the config to accept it"
        )));
    };
    if pinned != got {
        return Ok(Outcome::Failed(format!("sha256 {got} is not the pinned {pinned}: the list was not replaced")));
    }
    // Read in full before anything is replaced: a list that does not parse is refused.
    let mut entries = 0usize;
    let skipped = crate::formats::each(spec, body.as_slice(), |_| entries += 1)?;
    if entries == 0 {
        return Ok(Outcome::Failed(format!("no address in it ({skipped} unreadable rows): the list was not replaced")));
    }
    let fetched_at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let meta = Meta { url: url.into(), sha256: got, fetched_at, bytes: body.len() as u64, entries };
    if let Some((_, old)) = downloaded(data_dir, &spec.name)?
        && old.sha256 == meta.sha256
    {
        write_atomic(
            &dir(data_dir).join(format!("{}.json", spec.name)),
            &serde_json::to_vec_pretty(&meta).unwrap_or_default(),
        )?;
        return Ok(Outcome::Unchanged(meta));
    }
    airlock_store::create_private_dir(&dir(data_dir)).map_err(|e| IntelError::io(&dir(data_dir), e))?;
    write_atomic(&dir(data_dir).join(format!("{}.list", spec.name)), &body)?;
    write_atomic(
        &dir(data_dir).join(format!("{}.json", spec.name)),
        &serde_json::to_vec_pretty(&meta).unwrap_or_default(),
    )?;
    Ok(Outcome::Updated(meta))
}

/// The whole body, or why not: an HTTP error, a body cut short, or one over the limit.
async fn download(client: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut resp = client.get(url).send().await.map_err(|e| format!("download failed: {e}"))?;
    if !resp.status().is_success() {
        return Err(format!("download failed: HTTP {}", resp.status()));
    }
    let expected = resp.content_length();
    let mut body = vec![];
    while let Some(chunk) = resp.chunk().await.map_err(|e| format!("download cut short: {e}"))? {
        if body.len() + chunk.len() > MAX_LIST_BYTES {
            return Err(format!("larger than {} MiB", MAX_LIST_BYTES >> 20));
        }
        body.extend_from_slice(&chunk);
    }
    if let Some(n) = expected.filter(|n| *n != body.len() as u64) {
        return Err(format!("download cut short: {} of {n} bytes", body.len()));
    }
    Ok(body)
}

/// Writes `path` by writing a temporary file beside it and renaming it over.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), IntelError> {
    let tmp = path.with_extension("partial");
    let mut f = std::fs::File::create(&tmp).map_err(|e| IntelError::io(&tmp, e))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| IntelError::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| IntelError::io(path, e))
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
