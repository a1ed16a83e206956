//! `airlock keys new | import | list | export-address`.

use std::path::{Path, PathBuf};

use airlock_signer::{Keystore, Secret};
use eyre::{WrapErr, eyre};

use crate::args::{KeysArgs, KeysCommand, KeystoreArgs};

pub fn keys(a: KeysArgs) -> eyre::Result<()> {
    match a.command {
        KeysCommand::New { data_dir, keystore } => {
            let ks = open(&keystore, &data_dir.resolve())?;
            let password = new_password(&keystore)?;
            let address = ks.create(&password)?;
            println!("{address:#x}");
            eprintln!(
                "New account {address:#x} in {}. Fund it, then point your agent at Airlock's RPC URL.",
                ks.dir().display()
            );
            Ok(())
        }
        KeysCommand::Import { data_dir, keystore, private_key_file, mnemonic_file, mnemonic, index } => {
            let ks = open(&keystore, &data_dir.resolve())?;
            let address = match (private_key_file, mnemonic_file) {
                (Some(f), _) => ks.import_key(&Secret::from_file(&f)?, &new_password(&keystore)?)?,
                (None, Some(f)) => ks.import_mnemonic(&Secret::from_file(&f)?, index, &new_password(&keystore)?)?,
                (None, None) if mnemonic => {
                    let words = prompt("Mnemonic (the words are not shown): ")?;
                    ks.import_mnemonic(&words, index, &new_password(&keystore)?)?
                }
                (None, None) => {
                    let key = prompt("Private key, hex (not shown): ")?;
                    ks.import_key(&key, &new_password(&keystore)?)?
                }
            };
            println!("{address:#x}");
            Ok(())
        }
        KeysCommand::List { data_dir, keystore, json } => {
            let ks = open(&keystore, &data_dir.resolve())?;
            let files = ks.list()?;
            if json {
                let v: Vec<_> = files
                    .iter()
                    .map(|f| serde_json::json!({ "address": f.address, "file": f.path, "warning": f.warning }))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            if files.is_empty() {
                eprintln!(
                    "No accounts in {}: `airlock keys new` or `airlock keys import` adds one.",
                    ks.dir().display()
                );
            }
            for f in files {
                println!("{:#x}  {}", f.address, f.path.display());
                if let Some(w) = f.warning {
                    eprintln!("  warning: {w}");
                }
            }
            Ok(())
        }
        KeysCommand::ExportAddress { data_dir, keystore } => {
            for f in open(&keystore, &data_dir.resolve())?.list()? {
                println!("{:#x}", f.address);
            }
            Ok(())
        }
    }
}

/// The keystore directory: the one given, or DATA_DIR/keystore.
pub fn dir(k: &KeystoreArgs, data_dir: &Path) -> PathBuf {
    k.keystore.clone().unwrap_or_else(|| data_dir.join("keystore"))
}

fn open(k: &KeystoreArgs, data_dir: &Path) -> eyre::Result<Keystore> {
    Ok(Keystore::open(&dir(k, data_dir))?)
}

/// The keystore's password: from the file or the environment variable named, or typed.
pub fn password(k: &KeystoreArgs) -> eyre::Result<Secret> {
    if let Some(f) = &k.password_file {
        return Secret::from_file(f).wrap_err("reading the password file");
    }
    if let Some(name) = &k.password_env {
        return std::env::var(name)
            .map(Secret::new)
            .map_err(|_| eyre!("the environment variable {name} (--password-env) is not set"));
    }
    prompt("Keystore password: ")
}

/// A password for a new key: typed twice when typed.
fn new_password(k: &KeystoreArgs) -> eyre::Result<Secret> {
    if k.password_file.is_some() || k.password_env.is_some() {
        return password(k);
    }
    let first = prompt("New keystore password: ")?;
    let again = prompt("Again: ")?;
    if first.expose() != again.expose() {
        return Err(eyre!("the two passwords differ; nothing was written"));
    }
    Ok(first)
}

/// Reads a line from the terminal without echoing it.
fn prompt(label: &str) -> eyre::Result<Secret> {
    rpassword::prompt_password(label)
        .map(Secret::new)
        .map_err(|e| eyre!("cannot read from the terminal ({e}); use --password-file or --password-env"))
}
