//! What a node would say of the transactions Airlock holds. A client answered at once holds a
//! hash and polls for it: while the item is open the transaction reads as pending in a mempool
//! (found, no block; no receipt yet), and the sender's pending nonce counts it. After a reject
//! or an expiry, the poll itself gets the error (4001, -32003, with the item id), so the
//! client's own wait ends with it. Once forwarded, the node answers.

use airlock_types::{Item, Status};
use alloy_consensus::TxEnvelope;
use alloy_consensus::transaction::{Recovered, SignerRecoverable};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::desk::Desk;
use crate::errors::{Error, InputError};

/// What the read answers with: the answer, or `None` to ask the node.
type Read = Option<Result<Box<RawValue>, Error>>;

impl Desk {
    /// Answers `method` from the held items when it is about them; `None` for the node.
    /// Whether the desk may answer a read with this method (about items it holds, the accounts
    /// it manages, its capabilities); every other read goes to the node as it is.
    pub fn answers(method: &str) -> bool {
        matches!(
            method,
            "eth_getTransactionByHash"
                | "eth_getTransactionReceipt"
                | "eth_getTransactionCount"
                | "wallet_getCallsStatus"
                | "wallet_showCallsStatus"
                | "wallet_getCapabilities"
                | "eth_accounts"
                | "eth_requestAccounts"
        )
    }

    pub async fn read(&self, method: &str, params: Option<&RawValue>) -> Read {
        if !Self::answers(method) {
            // Every other read goes to the node untouched, its params not even parsed.
            return None;
        }
        let list: Vec<Value> = params.and_then(|p| serde_json::from_str(p.get()).ok()).unwrap_or_default();
        match method {
            "eth_getTransactionByHash" | "eth_getTransactionReceipt" => {
                let hash = list.first()?.as_str()?.parse::<B256>().ok()?;
                let item = match self.queue().by_tx_hash(hash) {
                    Ok(item) => item?,
                    Err(e) => return Some(Err(Error::Ended(crate::errors::log_unreadable(&e)))),
                };
                about(&item, method == "eth_getTransactionByHash")
            }
            "eth_getTransactionCount" if list.get(1).and_then(Value::as_str) == Some("pending") => {
                let from = list.first()?.as_str()?.parse::<Address>().ok()?;
                self.pending_count(from, method, params).await
            }
            "wallet_getCallsStatus" => Some(self.calls_status(&list).await),
            "wallet_showCallsStatus" => Some(Ok(raw(&Value::Null))),
            // The accounts Airlock manages: a client holding no key sends from them. Without a
            // keystore, the node answers as before.
            "eth_accounts" | "eth_requestAccounts" => {
                let accounts = self.queue().signer().accounts();
                (!accounts.is_empty()).then(|| Ok(raw(&serde_json::json!(accounts))))
            }
            "wallet_getCapabilities" => {
                let chain = self.pipeline().chain().chain_id().await.map_err(Error::from);
                Some(chain.map(|id| raw(&crate::calls::capabilities(id))))
            }
            _ => None,
        }
    }

    /// The node's pending count, or one past the highest nonce Airlock holds for `from`.
    async fn pending_count(&self, from: Address, method: &str, params: Option<&RawValue>) -> Read {
        let held = self.held_next_nonce(from)?;
        let node = match self.pipeline().chain().upstream().request(method, params).await {
            Ok(raw) => serde_json::from_str::<alloy_primitives::U64>(raw.get()).map(|n| n.to::<u64>()).unwrap_or(0),
            Err(e) => return Some(Err(e.into())),
        };
        Some(Ok(raw(&Value::from(format!("{:#x}", node.max(held))))))
    }

    /// One past the highest nonce among the open signed transactions from `from`.
    pub(crate) fn held_next_nonce(&self, from: Address) -> Option<u64> {
        let open = self.queue().open_sends(from);
        open.iter().filter(|i| i.status.is_open()).filter_map(|i| i.tx.as_ref()?.nonce).max().map(|n| n + 1)
    }

    /// `wallet_getCallsStatus [id]` for a batch Airlock holds or held.
    async fn calls_status(&self, list: &[Value]) -> Result<Box<RawValue>, Error> {
        let id = list.first().and_then(Value::as_str).unwrap_or_default();
        let item = self
            .queue()
            .item(id)
            .map_err(|e| Error::Ended(crate::errors::log_unreadable(&e)))?
            .filter(|i| i.method.eq_ignore_ascii_case("wallet_sendCalls"))
            .ok_or_else(|| Error::UnknownBatch(id.to_owned()))?;
        let chain = self.pipeline().chain();
        let chain_id = chain.chain_id().await?;
        Ok(raw(&crate::calls::status(chain.upstream(), &item, chain_id).await))
    }
}

/// A held signed transaction as a node reports one in its mempool; its end, once it ended
/// without being sent; `None` once the node has it.
fn about(item: &Item, by_hash: bool) -> Read {
    match item.status {
        Status::Pending | Status::Approved if by_hash => Some(pending_tx(item)),
        Status::Pending | Status::Approved => Some(Ok(raw(&Value::Null))),
        Status::Forwarded => None,
        Status::Rejected | Status::Expired | Status::Abandoned | Status::ForwardFailed => {
            let err = item.error.clone().unwrap_or_else(|| crate::errors::abandoned_error(&item.id));
            Some(Err(Error::Ended(err)))
        }
    }
}

/// The transaction object a node gives for a pending transaction: no block, no index.
fn pending_tx(item: &Item) -> Result<Box<RawValue>, Error> {
    let list: Vec<String> = serde_json::from_str(item.params.get()).map_err(|e| InputError(e.to_string()))?;
    let bytes = crate::decode::hex_bytes(list.first().map(String::as_str).unwrap_or_default(), "transaction")?;
    let env = TxEnvelope::decode_2718_exact(&bytes).map_err(|e| InputError(e.to_string()))?;
    let from = env.recover_signer().map_err(|e| InputError(e.to_string()))?;
    let tx = alloy_rpc_types_eth::Transaction {
        inner: Recovered::new_unchecked(env, from),
        block_hash: None,
        block_number: None,
        transaction_index: None,
        effective_gas_price: None,
        block_timestamp: None,
    };
    serde_json::value::to_raw_value(&tx).map_err(|e| Error::Input(InputError(e.to_string())))
}

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null"))
}
