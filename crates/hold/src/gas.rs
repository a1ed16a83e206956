//! Fee advice for held transactions: the next base fee from the verified head, the recent
//! median tip from the upstream's fee history (advisory, cached per head), a suggestion, and
//! what the request and the suggestion would pay. Replacing an unsigned request's fees with
//! the suggestion is `suggest_params`.

use std::sync::Mutex;

use airlock_types::{BlockFacts, GasAdvice, SimulationReport, TxView};
use alloy_eips::eip1559::BaseFeeParams;
use alloy_primitives::{B256, U256};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use airlock_chain::Upstream;

const GWEI: u128 = 1_000_000_000;
/// The tip suggested when recent blocks say nothing (empty blocks, or no fee history).
pub const DEFAULT_TIP: u128 = GWEI;
/// A suggestion never goes above this tip, whatever the upstream's fee history claims.
pub const MAX_SUGGESTED_TIP: u128 = 10 * GWEI;
/// Blocks of fee history asked for.
const HISTORY_BLOCKS: u64 = 20;

/// The recent median tip, per head block: one `eth_feeHistory` per block at most.
#[derive(Debug, Default)]
pub struct FeeHistory {
    /// The head block the tip was asked at, and the tip (None: the upstream could not say).
    last: Mutex<Option<(B256, Option<u128>)>>,
}

impl FeeHistory {
    /// The median tip of the recent non-empty blocks; None when the upstream cannot say.
    pub async fn recent_tip(&self, upstream: &Upstream, head: &BlockFacts) -> Option<u128> {
        if let Some((hash, tip)) = *self.last.lock().unwrap_or_else(|e| e.into_inner())
            && hash == head.hash
        {
            return tip;
        }
        let params = RawValue::from_string(json!([format!("{HISTORY_BLOCKS:#x}"), "latest", [50]]).to_string()).ok()?;
        let tip = match upstream.request("eth_feeHistory", Some(&params)).await {
            Ok(raw) => median_tip(raw.get()),
            Err(e) => {
                tracing::debug!(error = %e, "no fee history from the upstream");
                None
            }
        };
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some((head.hash, tip));
        tip
    }
}

/// The median of the 50th-percentile tips of the blocks that carried transactions.
pub fn median_tip(fee_history: &str) -> Option<u128> {
    let v: Value = serde_json::from_str(fee_history).ok()?;
    let rewards = v.get("reward")?.as_array()?;
    let ratios = v.get("gasUsedRatio").and_then(Value::as_array);
    let mut tips: Vec<u128> = rewards
        .iter()
        .enumerate()
        .filter(|(i, _)| ratios.and_then(|r| r.get(*i)).and_then(Value::as_f64).is_none_or(|r| r > 0.0))
        .filter_map(|(_, r)| r.get(0)?.as_str())
        .filter_map(|h| u128::from_str_radix(h.trim_start_matches("0x"), 16).ok())
        .collect();
    if tips.is_empty() {
        return None;
    }
    tips.sort_unstable();
    Some(tips[tips.len() / 2])
}

/// The advice for `tx` on `head`: what it offers next to the suggestion. `report` gives the
/// gas the transaction uses; without one the request's gas limit stands in.
pub fn advise(
    head: &BlockFacts,
    recent_tip: Option<u128>,
    tx: &TxView,
    report: Option<&SimulationReport>,
    method: &str,
) -> GasAdvice {
    let next_base =
        u128::from(BaseFeeParams::ethereum().next_block_base_fee(head.gas_used, head.gas_limit, head.base_fee));
    let suggested_tip = recent_tip.unwrap_or(DEFAULT_TIP).min(MAX_SUGGESTED_TIP);
    let suggested_max = next_base.saturating_mul(2).saturating_add(suggested_tip);
    let (max_fee, tip) = match (tx.max_fee_per_gas, tx.max_priority_fee_per_gas, tx.gas_price) {
        (Some(max), tip, _) => (Some(max), Some(tip.unwrap_or(0).min(max))),
        (None, _, Some(price)) => (Some(price), Some(price.saturating_sub(next_base))),
        (None, Some(tip), None) => (None, Some(tip)),
        (None, None, None) => (None, None),
    };
    let gas = report.map(|r| r.gas_used).filter(|g| *g > 0).or(tx.gas).unwrap_or(21_000);
    // What a block at the next base fee takes: the base fee and the tip, within the max fee.
    let pays = |max: u128, tip: u128| U256::from(max.min(next_base.saturating_add(tip))) * U256::from(gas);
    GasAdvice {
        next_base_fee: U256::from(next_base),
        recent_tip: recent_tip.map(U256::from),
        suggested_tip: U256::from(suggested_tip),
        suggested_max_fee: U256::from(suggested_max),
        max_fee: max_fee.map(U256::from),
        tip: tip.map(U256::from),
        gas,
        would_pay: max_fee.map(|m| pays(m, tip.unwrap_or(0))),
        would_pay_suggested: pays(suggested_max, suggested_tip),
        adjustable: method == "eth_sendTransaction" && !tx.signed,
        accepted: false,
    }
}

/// The params of an unsigned `eth_sendTransaction` with its fees replaced by the suggestion:
/// EIP-1559 fields, no gas price (a legacy or access-list request becomes an EIP-1559 one).
pub fn suggest_params(params: &RawValue, advice: &GasAdvice) -> Result<Box<RawValue>, String> {
    let mut v: Vec<Value> = serde_json::from_str(params.get()).map_err(|e| format!("params: {e}"))?;
    let Some(Value::Object(tx)) = v.first_mut() else {
        return Err("the request carries no transaction object".into());
    };
    tx.remove("gasPrice");
    tx.insert("maxFeePerGas".into(), json!(format!("{:#x}", advice.suggested_max_fee)));
    tx.insert("maxPriorityFeePerGas".into(), json!(format!("{:#x}", advice.suggested_tip)));
    if let Some(t) = tx.get("type").and_then(Value::as_str)
        && matches!(t, "0x0" | "0x00" | "0x1" | "0x01")
    {
        tx.insert("type".into(), json!("0x2"));
    }
    RawValue::from_string(Value::Array(v).to_string()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;

    fn head(base_fee: u64, gas_used: u64) -> BlockFacts {
        BlockFacts {
            number: 1,
            hash: B256::ZERO,
            timestamp: 0,
            base_fee,
            gas_limit: 30_000_000,
            coinbase: Address::ZERO,
            prevrandao: B256::ZERO,
            excess_blob_gas: None,
            gas_used,
        }
    }

    #[test]
    fn the_median_tip_counts_only_blocks_with_transactions() {
        let h = r#"{"reward":[["0x0"],["0x3b9aca00"],["0x77359400"],["0xee6b2800"]],"gasUsedRatio":[0.0,0.5,0.2,0.9]}"#;
        assert_eq!(median_tip(h), Some(2_000_000_000));
        assert_eq!(median_tip(r#"{"reward":[["0x0"]],"gasUsedRatio":[0.0]}"#), None);
        assert_eq!(median_tip("garbage"), None);
        assert_eq!(median_tip(r#"{"reward":"no"}"#), None);
    }

    #[test]
    fn advice_follows_eip1559_and_caps_the_suggestion() {
        // A full block raises the base fee by 1/8; an empty one lowers it by 1/8.
        let full = advise(&head(8 * GWEI as u64, 30_000_000), None, &TxView::default(), None, "eth_sendTransaction");
        assert_eq!(full.next_base_fee, U256::from(9 * GWEI));
        assert_eq!(full.suggested_tip, U256::from(DEFAULT_TIP));
        assert_eq!(full.suggested_max_fee, U256::from(19 * GWEI));
        assert_eq!((full.max_fee, full.would_pay), (None, None));
        assert!(full.adjustable);
        let tx = TxView {
            max_fee_per_gas: Some(600 * GWEI),
            max_priority_fee_per_gas: Some(500 * GWEI),
            gas: Some(21_000),
            signed: true,
            ..TxView::default()
        };
        let lying = advise(&head(8 * GWEI as u64, 0), Some(900 * GWEI), &tx, None, "eth_sendRawTransaction");
        assert_eq!(lying.next_base_fee, U256::from(7 * GWEI));
        assert_eq!(lying.suggested_tip, U256::from(MAX_SUGGESTED_TIP), "a claimed 900 gwei median is capped");
        assert_eq!(lying.would_pay, Some(U256::from(507 * GWEI * 21_000)));
        assert_eq!(lying.would_pay_suggested, U256::from(17 * GWEI * 21_000));
        assert!(!lying.adjustable);
        // A legacy price: the tip is what it leaves above the base fee.
        let legacy = TxView { gas_price: Some(10 * GWEI), ..TxView::default() };
        let l = advise(&head(8 * GWEI as u64, 15_000_000), None, &legacy, None, "eth_sendTransaction");
        assert_eq!((l.max_fee, l.tip), (Some(U256::from(10 * GWEI)), Some(U256::from(2 * GWEI))));
    }

    #[test]
    fn the_suggestion_replaces_the_fee_fields() {
        let advice =
            advise(&head(GWEI as u64, 15_000_000), Some(2 * GWEI), &TxView::default(), None, "eth_sendTransaction");
        let params = RawValue::from_string(r#"[{"from":"0x1","gasPrice":"0x1","type":"0x0","value":"0x5"}]"#.into())
            .expect("raw");
        let out: Value = serde_json::from_str(suggest_params(&params, &advice).expect("ok").get()).expect("json");
        assert_eq!(
            out,
            json!([{"from":"0x1","value":"0x5","type":"0x2","maxFeePerGas":"0xee6b2800","maxPriorityFeePerGas":"0x77359400"}])
        );
        let bad = RawValue::from_string("[]".into()).expect("raw");
        assert!(suggest_params(&bad, &advice).is_err());
    }
}
