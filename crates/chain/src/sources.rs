//! The state simulations read, from the upstream: proven against the head's state root in the
//! verified modes, taken on the upstream's word in unverified mode. Every account is fetched in
//! its own request, all at once.

use std::sync::Arc;

use airlock_sim::{Fetched, Head, SourceError, StateSource, Want};
use airlock_types::TxView;
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use alloy_rpc_types_eth::EIP1186AccountProofResponse;
use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::upstream::Upstream;
use crate::verified::{VerifyError, fetch_header};

/// How far BLOCKHASH sees back.
const BLOCKHASH_WINDOW: u64 = 256;

#[derive(Debug, Clone)]
pub enum StateFrom {
    /// eth_getProof, checked against the head's state root; code against the proven hash.
    Proven(Arc<Upstream>),
    /// Plain reads, trusted.
    Trusted(Arc<Upstream>),
}

impl StateFrom {
    fn upstream(&self) -> &Upstream {
        match self {
            StateFrom::Proven(u) | StateFrom::Trusted(u) => u,
        }
    }

    /// An upstream answer that does not parse: for a proving source that is a failed check
    /// (an attack or a broken node); for a trusting one, an unusable upstream.
    fn garbage(&self, what: String) -> SourceError {
        match self {
            StateFrom::Proven(_) => SourceError::Failed(what),
            StateFrom::Trusted(_) => SourceError::Unavailable(what),
        }
    }

    async fn rpc<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, SourceError> {
        let params = serde_json::value::to_raw_value(&params).map_err(|e| SourceError::Unavailable(e.to_string()))?;
        let raw = self
            .upstream()
            .request(method, Some(&params))
            .await
            .map_err(|e| SourceError::Unavailable(format!("{method}: {e}")))?;
        serde_json::from_str(raw.get())
            .map_err(|e| self.garbage(format!("{method} answered something unexpected: {e}")))
    }

    async fn proven(&self, head: &Head, want: Want) -> Result<Fetched, SourceError> {
        let block = format!("0x{:x}", head.facts.number);
        let proof = self.rpc::<EIP1186AccountProofResponse>("eth_getProof", json!([want.address, want.slots, block]));
        let code = async {
            if want.code {
                self.rpc::<Bytes>("eth_getCode", json!([want.address, block])).await.map(Some)
            } else {
                Ok(None)
            }
        };
        let (proof, code) = futures_util::future::try_join(proof, code).await?;
        let acc = airlock_verify::verify_account(head.state_root, want.address, &want.slots, &proof)
            .map_err(|e| SourceError::Failed(e.to_string()))?;
        if let Some(code) = &code {
            airlock_verify::verify_code(&acc, code).map_err(|e| SourceError::Failed(e.to_string()))?;
        }
        Ok(Fetched {
            address: want.address,
            balance: acc.balance,
            nonce: acc.nonce,
            code_hash: acc.code_hash,
            code,
            storage: acc.storage,
        })
    }

    async fn trusted(&self, head: &Head, want: Want) -> Result<Fetched, SourceError> {
        let block = format!("0x{:x}", head.facts.number);
        let a = want.address;
        let balance = self.rpc::<U256>("eth_getBalance", json!([a, block]));
        let nonce = self.rpc::<U256>("eth_getTransactionCount", json!([a, block]));
        let code = self.rpc::<Bytes>("eth_getCode", json!([a, block]));
        let slots = try_join_all(want.slots.iter().map(|s| {
            let block = block.clone();
            async move {
                let v = self.rpc::<B256>("eth_getStorageAt", json!([a, s, block])).await?;
                Ok::<_, SourceError>((*s, U256::from_be_bytes(v.0)))
            }
        }));
        let (balance, nonce, code, storage) = futures_util::future::try_join4(balance, nonce, code, slots).await?;
        let code_hash = if code.is_empty() { KECCAK256_EMPTY } else { keccak256(&code) };
        Ok(Fetched {
            address: a,
            balance,
            nonce: nonce.saturating_to(),
            code_hash,
            code: want.code.then_some(code),
            storage,
        })
    }
}

impl StateSource for StateFrom {
    async fn fetch(&self, head: &Head, want: Vec<Want>) -> Result<Vec<Fetched>, SourceError> {
        try_join_all(want.into_iter().map(|w| async move {
            match self {
                StateFrom::Proven(_) => self.proven(head, w).await,
                StateFrom::Trusted(_) => self.trusted(head, w).await,
            }
        }))
        .await
    }

    async fn block_hash(&self, head: &Head, number: u64) -> Result<B256, SourceError> {
        let top = head.facts.number;
        if number > top || top - number > BLOCKHASH_WINDOW {
            return Ok(B256::ZERO);
        }
        if number == top {
            return Ok(head.facts.hash);
        }
        let fail = |e: VerifyError| match e {
            VerifyError::Failed(m) => SourceError::Failed(m),
            other => SourceError::Unavailable(other.to_string()),
        };
        if let StateFrom::Trusted(u) = self {
            return Ok(fetch_header(u, "eth_getBlockByNumber", json!(format!("0x{number:x}"))).await.map_err(fail)?.1);
        }
        // Proven: every header from `number` up to the head, each hashed, each linked to the next.
        let upstream = self.upstream();
        let headers = try_join_all(
            (number..=top).map(|n| fetch_header(upstream, "eth_getBlockByNumber", json!(format!("0x{n:x}")))),
        )
        .await
        .map_err(fail)?;
        let (last, last_hash) = headers.last().ok_or_else(|| SourceError::Unavailable("no headers".into()))?;
        if *last_hash != head.facts.hash || last.number != top {
            return Err(SourceError::Failed(format!(
                "block {top} from the upstream has hash {last_hash}, the verified head is {}",
                head.facts.hash
            )));
        }
        for pair in headers.windows(2) {
            let ((_, lower_hash), (upper, _)) = (&pair[0], &pair[1]);
            if upper.parent_hash != *lower_hash {
                return Err(SourceError::Failed(format!("block {} does not link to its parent", upper.number)));
            }
        }
        Ok(headers[0].1)
    }

    async fn access_hint(&self, head: &Head, tx: &TxView) -> Vec<(Address, Vec<B256>)> {
        let mut call =
            json!({ "from": tx.from.unwrap_or(Address::ZERO), "value": format!("{:#x}", tx.value), "input": tx.data });
        if let Some(to) = tx.to {
            call["to"] = json!(to);
        }
        if let Some(gas) = tx.gas {
            call["gas"] = json!(format!("0x{gas:x}"));
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Answer {
            access_list: alloy_eips::eip2930::AccessList,
        }
        let block = format!("0x{:x}", head.facts.number);
        match self.rpc::<Answer>("eth_createAccessList", json!([call, block])).await {
            Ok(a) => a.access_list.0.into_iter().map(|i| (i.address, i.storage_keys)).collect(),
            Err(e) => {
                tracing::debug!(error = %e, "no access-list hint; the simulation fetches as it goes");
                vec![]
            }
        }
    }
}

/// The newest head as the upstream states it, for unverified mode: its header hashes to its
/// hash, and nothing more is known.
pub async fn upstream_head(upstream: &Upstream) -> Result<Head, VerifyError> {
    let (h, hash) = fetch_header(upstream, "eth_getBlockByNumber", json!("latest")).await?;
    Ok(Head { facts: crate::verified::facts_of(&h, hash), state_root: h.state_root })
}
