//! Reads answered from verified state instead of the upstream's word: balance, nonce, code,
//! storage and block number from proofs, and eth_call / eth_estimateGas run here by revm on
//! proven state. A read about another block than the verified head passes through.

use airlock_sim::Head;
use airlock_types::{OutcomeStatus, TxView};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{Chain, ChainError, VerifyError};

/// What a verified read answers with: the result, or `None` to pass the request through.
pub type Answer = Option<Box<RawValue>>;

/// eth_call, or eth_estimateGas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallKind {
    Call,
    EstimateGas,
}

impl Chain {
    /// Whether eth_call and eth_estimateGas are run here (a verified mode with verified reads).
    pub fn runs_calls(&self) -> bool {
        self.verified_reads && self.heads.is_some()
    }

    /// Whether a read with this method may be answered here rather than by the upstream.
    pub fn answers(&self, method: &str) -> bool {
        self.verified_reads
            && self.heads.is_some()
            && (crate::verified::is_verified_read(method) || matches!(method, "eth_call" | "eth_estimateGas"))
    }

    /// A balance, nonce, code, storage or block-number read answered from proofs.
    pub async fn read(&self, method: &str, params: Option<&RawValue>) -> Result<Answer, ChainError> {
        let Some(heads) = self.heads.as_ref().filter(|_| self.verified_reads) else { return Ok(None) };
        if !crate::verified::is_verified_read(method) {
            return Ok(None);
        }
        Ok(crate::verified::answer(&self.upstream, heads, method, params).await?)
    }

    /// `tx` run on the verified head; `rest` is what follows the call object in the params.
    /// `None` for requests about another block (or with state overrides): those pass through.
    pub async fn call(&self, kind: CallKind, tx: &TxView, rest: &[Value]) -> Result<Answer, ChainError> {
        let Some(heads) = self.heads.as_ref().filter(|_| self.verified_reads) else { return Ok(None) };
        if rest.len() > 1 {
            return Ok(None);
        }
        // EIP-1898 objects ({"blockHash": …}) and anything else name another block: passed through.
        let wanted = match rest.first() {
            None | Some(Value::Null) => "latest",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Ok(None),
        };
        let head = heads.refresh().await?;
        match wanted {
            "latest" | "pending" => {}
            n if n.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()) == Some(head.number) => {}
            _ => return Ok(None),
        }
        let head = Head { facts: head.facts, state_root: head.state_root };
        let sim = self.simulator().await?;
        let to_raw = |v: Value| serde_json::value::to_raw_value(&v).map_err(|e| VerifyError::Failed(e.to_string()));
        match kind {
            CallKind::Call => {
                let r = sim.call(&head, tx).await?;
                if r.outcome.status == OutcomeStatus::Success {
                    return Ok(Some(to_raw(serde_json::json!(r.outcome.output))?));
                }
                Err(ChainError::Call(Box::new(r.outcome)))
            }
            CallKind::EstimateGas => match sim.estimate_gas(&head, tx).await? {
                Ok(gas) => Ok(Some(to_raw(serde_json::json!(format!("0x{gas:x}")))?)),
                Err(r) => Err(ChainError::Call(Box::new(r.outcome))),
            },
        }
    }
}
