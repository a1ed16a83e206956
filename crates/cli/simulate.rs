//! `airlock simulate`: what a transaction would do, on verified state, without sending it.

use std::time::Duration;

use airlock_hold::decode;
use airlock_hold::simulate::{SimulateRequest, simulate as run_simulation};

use crate::args::SimulateArgs;
use crate::render;

pub async fn simulate(a: SimulateArgs) -> eyre::Result<()> {
    let tx = match (&a.raw, &a.tx) {
        (Some(raw), _) => {
            let bytes = decode::hex_bytes(raw.trim(), "signed transaction").map_err(|e| eyre::eyre!(e.0))?;
            decode::decode_raw_tx(&bytes).map_err(|e| eyre::eyre!(e.0))?
        }
        (None, Some(json)) => {
            let obj: serde_json::Value =
                serde_json::from_str(json).map_err(|e| eyre::eyre!("--tx is not a JSON object: {e}"))?;
            let tx = decode::call_object(&obj, "--tx").map_err(|e| eyre::eyre!(e.0))?;
            if tx.from.is_none() {
                return Err(eyre::eyre!("--tx needs a `from` address: the account that would send it"));
            }
            tx
        }
        (None, None) => return Err(eyre::eyre!("give a signed transaction (RAW_TX_HEX) or --tx JSON")),
    };
    let verify = crate::run::verify_mode(&a.upstream, a.upstream_timeout, a.verify).await?;
    let out = run_simulation(SimulateRequest {
        upstream: a.upstream,
        data_dir: a.data_dir.resolve(),
        verify,
        timeout: Duration::from_secs(a.upstream_timeout),
        tx,
        block: a.block,
    })
    .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        let mut text = String::new();
        render::verification(&mut text, &out.verification);
        match &out.report {
            Some(r) => render::report(&mut text, r),
            None => text.push_str(&format!(
                "  NOT SIMULATED: {}\n",
                render::clean(out.simulation_error.as_deref().unwrap_or("?"), 400)
            )),
        }
        print!("{text}");
    }
    if out.report.is_none() {
        return Err(eyre::eyre!("the transaction could not be simulated"));
    }
    Ok(())
}
