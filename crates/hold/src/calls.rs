//! EIP-5792 on a node that has no wallet of its own: an approved `wallet_sendCalls` batch is
//! sent as one `eth_sendTransaction` per call, in order, from its sender (the node signs them,
//! as it does for `eth_sendTransaction`), and `wallet_getCallsStatus` is answered from the item
//! and the receipts. The calls are not atomic, and `wallet_getCapabilities` says so.

use airlock_chain::{Upstream, UpstreamError};
use airlock_types::{Item, Status};
use serde_json::value::RawValue;
use serde_json::{Value, json};

/// The batch has not completed on chain yet (held, approved, or not mined).
pub const PENDING: u16 = 100;
/// Every call is included and succeeded.
pub const CONFIRMED: u16 = 200;
/// Not included, and never will be: rejected, expired, or refused by the node.
pub const OFFCHAIN_FAILURE: u16 = 400;
/// Every call that was sent reverted.
pub const REVERTED: u16 = 500;
/// Some calls succeeded and others reverted or were never sent.
pub const PARTIAL: u16 = 600;

/// Sends each call as a transaction from the batch's sender. The result names the batch by the
/// item's id and lists the hashes sent; a call the node refuses stops the batch there (with
/// nothing sent at all, that is the node's error).
pub async fn send(upstream: &Upstream, item: &Item) -> Result<Box<RawValue>, UpstreamError> {
    let from = item.tx.as_ref().and_then(|t| t.from);
    let mut sent: Vec<Value> = vec![];
    let mut stopped = None;
    for call in &item.calls {
        let mut tx = json!({ "value": format!("{:#x}", call.value), "data": call.data });
        if let Some(from) = from {
            tx["from"] = json!(from);
        }
        if let Some(to) = call.to {
            tx["to"] = json!(to);
        }
        let params = RawValue::from_string(json!([tx]).to_string()).map_err(garbage)?;
        match upstream.request("eth_sendTransaction", Some(&params)).await {
            Ok(hash) => sent.push(serde_json::from_str(hash.get()).map_err(garbage)?),
            Err(e) if sent.is_empty() => return Err(e),
            Err(e) => {
                stopped = Some(e.to_string());
                break;
            }
        }
    }
    let mut result = json!({ "id": item.id, "transactions": sent });
    if let Some(why) = stopped {
        result["stopped"] = json!(why);
    }
    RawValue::from_string(result.to_string()).map_err(garbage)
}

fn garbage(e: serde_json::Error) -> UpstreamError {
    UpstreamError::Garbage { url: "the batch".into(), reason: e.to_string() }
}

/// `wallet_getCallsStatus` for the batch `item` (EIP-5792 v2), reading receipts from `upstream`.
pub async fn status(upstream: &Upstream, item: &Item, chain_id: u64) -> Value {
    let mut out = json!({
        "version": "2.0.0",
        "id": item.id,
        "chainId": format!("{chain_id:#x}"),
        "atomic": false,
        "status": PENDING,
    });
    match item.status {
        Status::Pending | Status::Approved => {}
        Status::Rejected | Status::Expired | Status::Abandoned | Status::ForwardFailed => {
            out["status"] = json!(OFFCHAIN_FAILURE);
            // Not in the EIP: why it will never be included (the rejection, with the item id).
            out["error"] = json!(item.error);
        }
        Status::Forwarded => {
            let hashes: Vec<Value> = item
                .result
                .as_ref()
                .and_then(|r| serde_json::from_str::<Value>(r.get()).ok())
                .and_then(|r| r["transactions"].as_array().cloned())
                .unwrap_or_default();
            let (status, receipts) = mined(upstream, &hashes, item.calls.len()).await;
            out["status"] = json!(status);
            if !receipts.is_empty() {
                out["receipts"] = json!(receipts);
            }
        }
    }
    out
}

/// The batch's status from its transactions' receipts, and the receipts in EIP-5792's shape.
async fn mined(upstream: &Upstream, hashes: &[Value], calls: usize) -> (u16, Vec<Value>) {
    let mut receipts = vec![];
    for hash in hashes {
        let Ok(params) = RawValue::from_string(json!([hash]).to_string()) else { return (PENDING, vec![]) };
        let receipt = match upstream.request("eth_getTransactionReceipt", Some(&params)).await {
            Ok(r) => serde_json::from_str::<Value>(r.get()).unwrap_or(Value::Null),
            Err(_) => Value::Null,
        };
        if receipt.is_null() {
            return (PENDING, vec![]);
        }
        let logs: Vec<Value> = receipt["logs"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|l| json!({ "address": l["address"], "data": l["data"], "topics": l["topics"] }))
            .collect();
        receipts.push(json!({
            "logs": logs,
            "status": receipt["status"],
            "blockHash": receipt["blockHash"],
            "blockNumber": receipt["blockNumber"],
            "gasUsed": receipt["gasUsed"],
            "transactionHash": receipt["transactionHash"],
        }));
    }
    let ok = receipts.iter().filter(|r| r["status"] == "0x1").count();
    let status = if ok == calls {
        CONFIRMED
    } else if ok == 0 {
        REVERTED
    } else {
        PARTIAL
    };
    (status, receipts)
}

/// What Airlock offers on `chain_id`: calls are sent one after another, not atomically.
pub fn capabilities(chain_id: u64) -> Value {
    json!({ format!("{chain_id:#x}"): { "atomic": { "status": "unsupported" } } })
}
