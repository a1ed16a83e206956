//! `airlock demo`: anvil, Airlock in front of it, and one signed transaction that waits for the
//! person. Needs nothing but this checkout, Node.js (for anvil from npm) and Rust.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use airlock_chain::Upstream;
use airlock_proxy::Config;
use airlock_types::Decisions;
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Signature, TxKind, U256, address, hex};
use eyre::{WrapErr, eyre};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::args::DemoArgs;
use crate::render;

/// anvil's first development account: a publicly known key that only ever holds test ether.
const ANVIL_KEY_0: &str = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

pub async fn demo(a: DemoArgs) -> eyre::Result<()> {
    let anvil_bin = find_anvil(a.anvil.as_deref())?;
    let (mut anvil, anvil_url) = start_anvil(&anvil_bin).await?;
    let data_dir =
        a.data_dir.unwrap_or_else(|| std::env::temp_dir().join(format!("airlock-demo-{}", std::process::id())));

    let mut cfg = Config::new(anvil_url.clone(), &data_dir);
    cfg.listen = a.listen;
    cfg.control_listen = a.prompt_listen;
    let handle = airlock_proxy::spawn(cfg).await?;
    let rpc_url = format!("http://{}", handle.rpc_addr);

    let key = k256::ecdsa::SigningKey::from_slice(&hex::decode(ANVIL_KEY_0)?).wrap_err("demo key")?;
    let from = Address::from_private_key(&key);
    let to = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    let tx = TxEip1559 {
        chain_id: 31337,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 20_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value: U256::from(10u128.pow(18)),
        ..Default::default()
    };
    let sig: Signature =
        key.sign_prehash_recoverable(tx.signature_hash().as_slice()).wrap_err("signing the demo transaction")?.into();
    let raw = TxEnvelope::from(tx.into_signed(sig)).encoded_2718();
    let params = serde_json::value::to_raw_value(&[format!("0x{}", hex::encode(raw))])?;

    println!("anvil (chain 31337) is at {anvil_url}; Airlock stands in front of it at {rpc_url}.");
    println!("Sending 1 ETH from {} to {to} through Airlock...", from);
    // As a wallet does: the node's default answer is the hash at once, then receipt polls.
    let client = Upstream::new(&rpc_url, Duration::from_secs(10)).map_err(|e| eyre!(e))?;
    let hash = client.request("eth_sendRawTransaction", Some(&params)).await.map_err(|e| eyre!(e))?;
    println!("Airlock answered at once with the transaction hash {}, as a node would;", hash.get().trim_matches('"'));
    println!("the broadcast waits for you. The sender now polls for the receipt.");

    // The item, as `airlock pending` shows it.
    let item = loop {
        if let Some(item) = handle.desk.pending().into_iter().next() {
            break item;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("\nIt is held, waiting for your decision:\n");
    print!("{}", render::items(std::slice::from_ref(&item), render::now()));
    let dd = data_dir.display();
    let page = crate::run::page_url(&handle);
    println!("Decide on the page: {page}");
    println!("or from another terminal:");
    println!("  cargo run -q --release -- pending --data-dir {dd}");
    println!("  cargo run -q --release -- approve {} --data-dir {dd}     (or: reject {})", item.id, item.id);
    if a.open {
        crate::run::open_in_browser(&page);
    }
    let interactive = std::io::stdin().is_terminal();
    if interactive {
        println!("or type a (approve) or r (reject) and Enter here.");
        tokio::spawn(read_decisions(handle.desk.clone(), item.id.clone()));
    }
    match receipt(&client, &hash).await {
        Ok(block) => println!("\nApproved, broadcast and mined in block {block}: the sender's receipt poll found it."),
        Err(e) => println!("\nNot sent: the sender's receipt poll answered: {e}"),
    }
    println!("\nAirlock keeps running: point a wallet or script at {rpc_url} (chain id 31337). Ctrl-C stops.");
    crate::run::wait_for_signal().await?;
    handle.stop().await;
    let _ = anvil.kill().await;
    Ok(())
}

/// Polls for the receipt of `hash` through Airlock, as wallets do: null while held, the
/// receipt once mined, the rejection (or expiry) as an error.
async fn receipt(client: &Upstream, hash: &serde_json::value::RawValue) -> eyre::Result<u64> {
    let params = serde_json::value::to_raw_value(&[hash])?;
    loop {
        let answer = client.request("eth_getTransactionReceipt", Some(&params)).await.map_err(|e| eyre!(e))?;
        let receipt: serde_json::Value = serde_json::from_str(answer.get())?;
        if let Some(block) = receipt["blockNumber"].as_str() {
            return Ok(u64::from_str_radix(block.trim_start_matches("0x"), 16)?);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn read_decisions(desk: Arc<airlock_hold::Desk>, id: String) {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let res = match line.trim() {
            "a" => desk.approve(&id).await,
            "r" => desk.reject(&id).await,
            _ => {
                println!("type a or r");
                continue;
            }
        };
        match res {
            Ok(item) => println!("{}", render::decision(&item)),
            Err(e) => println!("{e}"),
        }
        return;
    }
}

fn find_anvil(given: Option<&Path>) -> eyre::Result<PathBuf> {
    if let Some(p) = given {
        return Ok(p.to_path_buf());
    }
    let local = Path::new("tests/node_modules/.bin/anvil");
    if local.exists() {
        return Ok(local.to_path_buf());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("anvil"))
        .find(|p| p.is_file());
    on_path.ok_or_else(|| {
        eyre!("anvil not found: run `npm ci --prefix tests` in the checkout first (the README's first command does), or pass --anvil PATH")
    })
}

/// Starts anvil on a free port and returns it with its URL.
async fn start_anvil(bin: &Path) -> eyre::Result<(tokio::process::Child, String)> {
    let mut child = tokio::process::Command::new(bin)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .wrap_err_with(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().ok_or_else(|| eyre!("anvil has no stdout"))?;
    let mut lines = BufReader::new(stdout).lines();
    let find = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(addr) = line.strip_prefix("Listening on ") {
                return Ok::<_, std::io::Error>(Some(addr.trim().to_owned()));
            }
        }
        Ok(None)
    };
    let addr = tokio::time::timeout(Duration::from_secs(30), find)
        .await
        .map_err(|_| eyre!("anvil did not start within 30 s"))??
        .ok_or_else(|| eyre!("anvil exited before listening"))?;
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, format!("http://{addr}")))
}
