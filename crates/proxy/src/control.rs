//! The control file: how `airlock pending` and friends find a running daemon.
//!
//! The daemon writes `control.json` (its addresses and the per-run token) into the data
//! directory, mode 0600 in a 0700 directory, atomically; it removes the file when it stops.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub const CONTROL_FILE: &str = "control.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlFile {
    /// Where wallets connect.
    pub rpc_url: String,
    /// The control API.
    pub control_url: String,
    /// Per-run secret for the control API.
    pub token: String,
    pub pid: u32,
    pub upstream: String,
}

impl ControlFile {
    /// Writes the file into `dir` readable by the owner only. Returns its path.
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        let path = dir.join(CONTROL_FILE);
        let tmp = dir.join(format!(".{CONTROL_FILE}.{}", std::process::id()));
        {
            let mut f = fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            f.write_all(&serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?)?;
            f.sync_all()?;
        }
        fs::rename(&tmp, &path)?;
        Ok(path)
    }

    /// Reads the file a running daemon wrote into `dir`.
    pub fn read(dir: &Path) -> Result<Self, String> {
        let path = dir.join(CONTROL_FILE);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("no Airlock is running with data dir {} ({} not found)", dir.display(), path.display())
            }
            _ => format!("cannot read {}: {e}", path.display()),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{} is damaged: {e}", path.display()))
    }
}

/// `$AIRLOCK_DATA_DIR`, else `$XDG_DATA_HOME/airlock`, else `~/.local/share/airlock`.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("airlock");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/airlock"),
        None => PathBuf::from(".airlock"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn written_private_and_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("nested/data");
        airlock_store::create_private_dir(&data).expect("mkdir");
        assert_eq!(fs::metadata(&data).expect("meta").permissions().mode() & 0o777, 0o700);
        let cf = ControlFile {
            rpc_url: "http://127.0.0.1:1".into(),
            control_url: "http://127.0.0.1:2".into(),
            token: "t".into(),
            pid: 7,
            upstream: "http://u".into(),
        };
        let path = cf.write(&data).expect("write");
        assert_eq!(fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        assert_eq!(ControlFile::read(&data).expect("read"), cf);
        let missing = ControlFile::read(dir.path()).expect_err("no file");
        assert!(missing.contains("no Airlock is running"), "{missing}");
    }
}
