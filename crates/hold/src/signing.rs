//! Approved items from the accounts Airlock manages: filled in, signed by the signer crate and
//! broadcast with `eth_sendRawTransaction`, or answered with the signature. The upstream never
//! sees `eth_sendTransaction` or a signing request for a managed account, so any public node
//! serves. Called only after the person's (or the spending policy's) decision.

use airlock_chain::Upstream;
use airlock_signer::Signer;
use airlock_types::{Item, RpcError, SignKind, TxView};
use alloy_consensus::{TxEip1559, TxEip2930, TxLegacy, TypedTransaction};
use alloy_primitives::{Address, TxKind, U64};
use serde_json::value::RawValue;

/// The gas limit Airlock sets above what the simulation used, when the request names none.
const GAS_MARGIN_PCT: u64 = 25;

/// The account `item` asks to sign with, when Airlock manages it.
pub(crate) fn managed_sender(signer: &Signer, item: &Item) -> Option<Address> {
    let from = match (&item.tx, &item.sign) {
        (Some(tx), None) if !tx.signed => tx.from?,
        (None, Some(sign)) => sign.address,
        _ => return None,
    };
    signer.manages(from).then_some(from)
}

/// Signs the approved `item` from `from` and delivers it: a transaction broadcast to `target`
/// (its hash is the answer), `eth_signTransaction`'s raw bytes, or a signature. `nonce` is set
/// to the nonce a broadcast transaction was signed with (the sends after it are simulated on it
/// until it is in a block).
pub(crate) async fn deliver(
    signer: &Signer,
    target: &Upstream,
    item: &Item,
    from: Address,
    (floor, nonce): (Option<u64>, &mut Option<u64>),
) -> Result<Box<RawValue>, RpcError> {
    let method = item.method.trim().to_ascii_lowercase();
    let to_raw = |v: serde_json::Value| serde_json::value::to_raw_value(&v).map_err(|e| refused(e.to_string()));
    if let Some(sign) = &item.sign {
        let sig = match sign.kind {
            SignKind::PersonalSign => signer.sign_message(from, sign.data.as_ref().map_or(&[][..], |d| d.as_ref())),
            SignKind::TypedData => {
                signer.sign_typed_data(from, sign.typed_data.as_ref().unwrap_or(&serde_json::Value::Null))
            }
            SignKind::EthSign => {
                return Err(refused("eth_sign of a raw hash is not signed for a managed account".into()));
            }
        }
        .map_err(|e| refused(e.to_string()))?;
        return to_raw(serde_json::json!(sig));
    }
    let tx = item.tx.as_ref().ok_or_else(|| refused("no transaction to sign".into()))?;
    let unsigned = fill(target, item, tx, from, floor).await?;
    let signed_with = alloy_consensus::Transaction::nonce(&unsigned);
    let signed = signer.sign_transaction(from, unsigned).map_err(|e| refused(e.to_string()))?;
    tracing::info!(id = %item.id, hash = %signed.hash, "signed by Airlock for a managed account");
    if method == "eth_signtransaction" {
        return to_raw(serde_json::json!(signed.raw));
    }
    *nonce = Some(signed_with);
    // `eth_sendTransactionSync` promises the receipt: the raw send's Sync form keeps that.
    let send = if method.ends_with("sync") { "eth_sendRawTransactionSync" } else { "eth_sendRawTransaction" };
    broadcast(target, send, &signed.raw).await
}

/// Sends signed bytes with `method` (`eth_sendRawTransaction` or its Sync form).
async fn broadcast(target: &Upstream, method: &str, raw: &alloy_primitives::Bytes) -> Result<Box<RawValue>, RpcError> {
    let params = serde_json::value::to_raw_value(&serde_json::json!([raw])).map_err(|e| refused(e.to_string()))?;
    target.request(method, Some(&params)).await.map_err(|e| crate::errors::forward_error(&e))
}

/// The transaction as it will be signed: what the request gave, and what it left out filled
/// in: the nonce (the node's pending count, never below `floor`: what the verified head proves
/// the account has used), the gas limit (the simulation's use plus a
/// margin), the fees (the person's accepted ones are in the request; otherwise Airlock's
/// suggestion), the chain id.
async fn fill(
    target: &Upstream,
    item: &Item,
    tx: &TxView,
    from: Address,
    floor: Option<u64>,
) -> Result<TypedTransaction, RpcError> {
    if !tx.authorization_list.is_empty() || !tx.blob_versioned_hashes.is_empty() {
        return Err(refused("Airlock does not sign blob or 7702 transactions for managed accounts yet".into()));
    }
    let nonce = match tx.nonce {
        Some(n) => n,
        None => quantity(target, "eth_getTransactionCount", serde_json::json!([from, "pending"]))
            .await?
            .max(floor.unwrap_or(0)),
    };
    let chain_id = match tx.chain_id {
        Some(c) => c,
        None => target.chain_id().await.map_err(|e| crate::errors::not_signed(&e.to_string()))?,
    };
    let gas_limit = tx.gas.or_else(|| item.report.as_ref().map(|r| r.gas_used * (100 + GAS_MARGIN_PCT) / 100));
    let gas_limit =
        gas_limit.ok_or_else(|| refused("no gas limit: the request names none and was not simulated".into()))?;
    let to = tx.to.map_or(TxKind::Create, TxKind::Call);
    let (value, input) = (tx.value, tx.data.clone());
    let access_list = alloy_eips::eip2930::AccessList(
        tx.access_list
            .iter()
            .map(|e| alloy_eips::eip2930::AccessListItem { address: e.address, storage_keys: e.storage_keys.clone() })
            .collect(),
    );
    if let Some(gas_price) = tx.gas_price.filter(|_| tx.max_fee_per_gas.is_none()) {
        return Ok(if access_list.0.is_empty() {
            TxLegacy { chain_id: Some(chain_id), nonce, gas_price, gas_limit, to, value, input }.into()
        } else {
            TxEip2930 { chain_id, nonce, gas_price, gas_limit, to, value, input, access_list }.into()
        });
    }
    let (max_fee_per_gas, max_priority_fee_per_gas) = fees(target, item, tx).await?;
    Ok(TxEip1559 {
        chain_id,
        nonce,
        gas_limit,
        max_fee_per_gas,
        max_priority_fee_per_gas,
        to,
        value,
        access_list,
        input,
    }
    .into())
}

/// The fees: the request's; else the fee advice the person saw; else (a batch, which has no
/// advice) twice the node's gas price with a tip of at most 1 gwei.
async fn fees(target: &Upstream, item: &Item, tx: &TxView) -> Result<(u128, u128), RpcError> {
    const TIP: u128 = 1_000_000_000;
    let advice = item.gas.as_ref();
    let max_fee = match tx.max_fee_per_gas.or_else(|| advice.map(|g| g.suggested_max_fee.saturating_to::<u128>())) {
        Some(f) => f,
        None => u128::from(quantity(target, "eth_gasPrice", serde_json::json!([])).await?).saturating_mul(2),
    };
    let tip = tx.max_priority_fee_per_gas.or_else(|| advice.map(|g| g.suggested_tip.saturating_to::<u128>()));
    Ok((max_fee, tip.unwrap_or(TIP).min(max_fee)))
}

/// A `wallet_sendCalls` batch from a managed account: each call filled in (consecutive nonces,
/// the batch's simulated gas plus a margin as each call's limit), signed and broadcast in
/// order; the answer names the batch and its hashes as for any batch. A call the node refuses
/// stops the batch there.
pub(crate) async fn deliver_calls(
    signer: &Signer,
    target: &Upstream,
    item: &Item,
    from: Address,
    floor: Option<u64>,
) -> Result<Box<RawValue>, RpcError> {
    let pending = quantity(target, "eth_getTransactionCount", serde_json::json!([from, "pending"])).await?;
    let first = pending.max(floor.unwrap_or(0));
    let chain_id = item.tx.as_ref().and_then(|t| t.chain_id);
    let mut sent: Vec<serde_json::Value> = vec![];
    let mut stopped = None;
    for (i, call) in item.calls.iter().enumerate() {
        let tx = TxView {
            from: Some(from),
            to: call.to,
            value: call.value,
            data: call.data.clone(),
            nonce: Some(first + i as u64),
            chain_id,
            ..TxView::default()
        };
        let signed = match fill(target, item, &tx, from, None)
            .await
            .and_then(|t| signer.sign_transaction(from, t).map_err(|e| refused(e.to_string())))
        {
            Ok(s) => s,
            Err(e) if sent.is_empty() => return Err(e),
            Err(e) => {
                stopped = Some(e.message);
                break;
            }
        };
        match broadcast(target, "eth_sendRawTransaction", &signed.raw).await {
            Ok(_) => sent.push(serde_json::json!(signed.hash)),
            Err(e) if sent.is_empty() => return Err(e),
            Err(e) => {
                stopped = Some(e.message);
                break;
            }
        }
    }
    let mut result = serde_json::json!({ "id": item.id, "transactions": sent });
    if let Some(why) = stopped {
        result["stopped"] = serde_json::json!(why);
    }
    serde_json::value::to_raw_value(&result).map_err(|e| refused(e.to_string()))
}

/// The account's nonce at the verified head, read from proofs; none when reads are not
/// verified (the node's word is all there is then).
pub(crate) async fn proven_nonce(chain: &airlock_chain::Chain, from: Address) -> Option<u64> {
    let params = serde_json::value::to_raw_value(&serde_json::json!([from, "latest"])).ok()?;
    let raw = chain.read("eth_getTransactionCount", Some(&params)).await.ok()??;
    serde_json::from_str::<U64>(raw.get()).ok().map(|n| n.to::<u64>())
}

async fn quantity(target: &Upstream, method: &str, params: serde_json::Value) -> Result<u64, RpcError> {
    let params = serde_json::value::to_raw_value(&params).map_err(|e| refused(e.to_string()))?;
    let raw = target.request(method, Some(&params)).await.map_err(|e| crate::errors::not_signed(&e.to_string()))?;
    serde_json::from_str::<U64>(raw.get()).map(|n| n.to::<u64>()).map_err(|e| refused(format!("{method}: {e}")))
}

/// A signing step that could not be done: nothing was signed or sent.
fn refused(why: String) -> RpcError {
    crate::errors::not_signed(&why)
}
