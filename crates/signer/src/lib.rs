//! airlock-signer: the accounts Airlock manages, and the one place that holds their keys.
//!
//! - [`Keystore`]: a directory of Web3 Secret Storage v3 files (scrypt; read and written by the
//!   `eth-keystore` crate, never by hand), mode 0700, each file 0600 and named after its
//!   address. `airlock keys new | import | list | export-address` work on it.
//! - [`Signer`]: the unlocked keys, behind a narrow API: sign this transaction, this message,
//!   this typed data, from this managed account. Nothing here decides whether to sign: the hold
//!   pipeline calls it only for an item the person approved (or the spending policy did).
//!
//! Key material lives in zeroized buffers while it is decrypted and in the k256 signing keys
//! (zeroized on drop) after; it is never formatted: [`Signer`]'s `Debug` prints addresses only.

mod keystore;
mod sign;

pub use keystore::{KeyFile, Keystore};
pub use sign::{SignedTx, Signer};

use std::path::PathBuf;

/// A password, a private key or a mnemonic as the person typed or stored it: zeroized when
/// dropped, and never printed.
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(zeroize::Zeroizing::new(s))
    }

    /// Reads a secret from a file: its first line, without the line ending. A file over 64 KiB
    /// is not a password, a key or a mnemonic: refused.
    pub fn from_file(path: &std::path::Path) -> Result<Secret, SignerError> {
        let io = |e| SignerError::Io { path: path.to_owned(), source: e };
        if std::fs::metadata(path).map_err(io)?.len() > 64 * 1024 {
            return Err(SignerError::Invalid(format!("{}: larger than 64 KiB, not a secret file", path.display())));
        }
        let text = zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(io)?);
        Ok(Secret::new(text.lines().next().unwrap_or_default().to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

/// `[signer]` in the config file.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Let a managed account sign a raw 32-byte hash (`eth_sign`). Off: such a signature can
    /// authorise anything, and no wallet needs it any more.
    #[serde(default)]
    pub allow_eth_sign: bool,
    /// The environment variable holding the keystore's password (when no --password-file or
    /// --password-env is given).
    #[serde(default)]
    pub password_env: Option<String>,
}

impl SignerConfig {
    /// The `[signer]` section of a config file; the default when it has none.
    pub fn load(path: &std::path::Path) -> Result<SignerConfig, SignerError> {
        let text = std::fs::read_to_string(path).map_err(|e| SignerError::Io { path: path.to_owned(), source: e })?;
        #[derive(serde::Deserialize)]
        struct Whole {
            #[serde(default)]
            signer: Option<SignerConfig>,
        }
        let w: Whole =
            toml::from_str(&text).map_err(|e| SignerError::Invalid(format!("{}: [signer]: {e}", path.display())))?;
        Ok(w.signer.unwrap_or_default())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: wrong password, or the file is not a keystore this password opens")]
    WrongPassword { path: PathBuf },
    #[error("{path}: not a keystore file: {why}")]
    Corrupt { path: PathBuf, why: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0:#x} is not an account Airlock manages")]
    NotManaged(alloy_primitives::Address),
    #[error("signing failed: {0}")]
    Sign(String),
}
