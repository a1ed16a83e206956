//! The keystore directory: one Web3 Secret Storage v3 file a key.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use alloy_primitives::Address;
use alloy_signer_local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};
use zeroize::Zeroizing;

use crate::{Secret, Signer, SignerError};

/// A keystore directory.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

/// One key file, as listed without a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFile {
    pub address: Address,
    pub path: PathBuf,
    /// The file or its directory can be read by others than its owner.
    pub warning: Option<String>,
}

impl Keystore {
    /// The keystore at `dir`, created (mode 0700) when missing.
    pub fn open(dir: &Path) -> Result<Keystore, SignerError> {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| io(dir, e))?;
        }
        Ok(Keystore { dir: dir.to_owned() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every key file: its address from the file's name or its `address` field (geth's files
    /// carry one), with a warning for loose permissions. A file that is not a keystore is an
    /// error naming it.
    pub fn list(&self) -> Result<Vec<KeyFile>, SignerError> {
        let mut out = vec![];
        let entries = std::fs::read_dir(&self.dir).map_err(|e| io(&self.dir, e))?;
        for entry in entries {
            let path = entry.map_err(|e| io(&self.dir, e))?.path();
            if !path.is_file() || path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
                continue;
            }
            out.push(KeyFile { address: address_of(&path)?, warning: loose(&path).or_else(|| loose(&self.dir)), path });
        }
        out.sort_by_key(|k| k.address);
        Ok(out)
    }

    /// A new random key, encrypted with `password`; its address.
    pub fn create(&self, password: &Secret) -> Result<Address, SignerError> {
        let key = PrivateKeySigner::random();
        self.store(&key, password)
    }

    /// Imports a private key given as hex (with or without 0x).
    pub fn import_key(&self, key: &Secret, password: &Secret) -> Result<Address, SignerError> {
        let hex = key.expose().trim().trim_start_matches("0x");
        let mut bytes = Zeroizing::new([0u8; 32]);
        alloy_primitives::hex::decode_to_slice(hex, bytes.as_mut())
            .map_err(|_| SignerError::Invalid("the private key is not 64 hex digits".into()))?;
        let signer = PrivateKeySigner::from_slice(bytes.as_ref())
            .map_err(|_| SignerError::Invalid("that is not a valid secp256k1 private key".into()))?;
        self.store(&signer, password)
    }

    /// Imports the key at `m/44'/60'/0'/0/index` of a BIP-39 mnemonic (English).
    pub fn import_mnemonic(&self, phrase: &Secret, index: u32, password: &Secret) -> Result<Address, SignerError> {
        let words = Zeroizing::new(phrase.expose().split_whitespace().collect::<Vec<_>>().join(" "));
        let signer = MnemonicBuilder::<English>::default()
            .phrase(words.as_str())
            .index(index)
            .and_then(|b| b.build())
            .map_err(|e| SignerError::Invalid(format!("not a usable BIP-39 mnemonic: {e}")))?;
        self.store(&signer, password)
    }

    fn store(&self, signer: &PrivateKeySigner, password: &Secret) -> Result<Address, SignerError> {
        if password.expose().is_empty() {
            return Err(SignerError::Invalid("an empty password would leave the key unprotected".into()));
        }
        let address = signer.address();
        let name = format!("{address:#x}.json");
        if self.dir.join(&name).exists() {
            return Err(SignerError::Invalid(format!("{address:#x} is in the keystore already")));
        }
        let secret = Zeroizing::new(signer.to_bytes().0);
        let mut rng = rand::thread_rng();
        eth_keystore::encrypt_key(&self.dir, &mut rng, secret.as_ref(), password.expose(), Some(&name))
            .map_err(|e| SignerError::Sign(format!("the keystore file could not be written: {e}")))?;
        let path = self.dir.join(&name);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).map_err(|e| io(&path, e))?;
        Ok(address)
    }

    /// Decrypts every key with `password`. A file it does not open is an error naming the file:
    /// nothing is unlocked then.
    pub fn unlock(&self, password: &Secret) -> Result<Signer, SignerError> {
        let mut keys = vec![];
        for file in self.list()? {
            let secret = Zeroizing::new(eth_keystore::decrypt_key(&file.path, password.expose()).map_err(|e| {
                match e {
                    eth_keystore::KeystoreError::MacMismatch => SignerError::WrongPassword { path: file.path.clone() },
                    eth_keystore::KeystoreError::ScryptInvalidParams(_) => SignerError::Corrupt {
                        path: file.path.clone(),
                        why: "its scrypt parameters are outside RFC 7914 (n must be below 2^(16·r)); \
                              re-encrypt it with standard ones (n = 2^18, r = 8, p = 1)"
                            .into(),
                    },
                    other => SignerError::Corrupt { path: file.path.clone(), why: other.to_string() },
                }
            })?);
            let signer = PrivateKeySigner::from_slice(secret.as_ref())
                .map_err(|_| SignerError::Corrupt { path: file.path.clone(), why: "not a secp256k1 key".into() })?;
            if signer.address() != file.address {
                return Err(SignerError::Corrupt {
                    path: file.path,
                    why: format!("it holds the key of {:#x}, not of the address it is named for", signer.address()),
                });
            }
            keys.push(signer);
        }
        Ok(Signer::new(keys))
    }
}

/// The address a key file is for: `address` in its JSON, or its name.
fn address_of(path: &Path) -> Result<Address, SignerError> {
    let corrupt = |why: String| SignerError::Corrupt { path: path.to_owned(), why };
    // A keystore file is under a kilobyte; anything far larger is not one (and is not read).
    if std::fs::metadata(path).map_err(|e| io(path, e))?.len() > 1 << 20 {
        return Err(corrupt("larger than 1 MiB".into()));
    }
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| corrupt(format!("not JSON ({e})")))?;
    if json["version"] != 3 || !json["crypto"].is_object() && !json["Crypto"].is_object() {
        return Err(corrupt("not a version 3 keystore".into()));
    }
    let from_field = json["address"].as_str().map(|a| format!("0x{}", a.trim_start_matches("0x")));
    let name = path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let from_name = name.rsplit("--").next().map(|a| format!("0x{}", a.trim_start_matches("0x")));
    from_field
        .iter()
        .chain(from_name.iter())
        .find_map(|a| a.parse::<Address>().ok())
        .ok_or_else(|| corrupt("it names no address (neither an `address` field nor an address as its name)".into()))
}

/// Why `path` is readable by others, if it is.
fn loose(path: &Path) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| format!("{} is mode {mode:o}: others can read it (chmod go-rwx)", path.display()))
}

fn io(path: &Path, source: std::io::Error) -> SignerError {
    SignerError::Io { path: path.to_owned(), source }
}
