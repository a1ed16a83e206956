//! The policy's place in the daemon: findings for held items, local history after forwarding,
//! and the opt-in spending policy.

use airlock_policy::{Policy, Spending, verdict};
use airlock_store::{Interaction, Store};
use airlock_types::{AssetKind, Finding, Item, Severity, Timestamp};
use alloy_primitives::{Address, U256};

/// The rules over `item`, with the local history from `store`. A history that cannot be read
/// is a finding too (first-interaction and poisoning rules would be blind without it).
pub fn findings(policy: &Policy, store: &Store, item: &Item, chain_id: u64) -> Vec<Finding> {
    let (history, error) = match store.counterparties() {
        Ok(h) => (h, None),
        Err(e) => (Default::default(), Some(e.to_string())),
    };
    let from = item.report.as_ref().map(|r| r.from).or(item.tx.as_ref().and_then(|t| t.from));
    let habits = from.and_then(|f| store.habits(f).ok().flatten());
    let mut out = policy.evaluate_with(item, chain_id, &history, habits.as_ref());
    if let Some(e) = error {
        out.push(Finding {
            rule: "history".into(),
            severity: Severity::Warn,
            message: format!("the local history could not be read, so first interactions are not recognised: {e}"),
            evidence: serde_json::Value::Null,
        });
    }
    out
}

/// What a forwarded transaction tells about its sender's habits: the sender, the ETH it gave
/// (value and internal transfers, from the report; the value without one) and the tokens it
/// sent. None for signatures.
pub fn habit(item: &Item) -> Option<(Address, alloy_primitives::U256, Vec<Address>)> {
    let tx = item.tx.as_ref().filter(|_| item.sign.is_none())?;
    let Some(r) = &item.report else { return Some((tx.from?, tx.value, vec![])) };
    let mine = r.asset_changes.iter().filter(|c| c.address == r.from && !c.sent.is_zero());
    let eth = mine.clone().filter(|c| c.asset.token.is_none()).map(|c| c.sent).sum();
    let tokens = mine.filter_map(|c| c.asset.token).collect();
    Some((r.from, eth, tokens))
}

/// Who a forwarded item dealt with: recipients of what the sender gave, spenders it approved
/// (for signatures: what the signature granted), and a plain send's recipient.
pub fn interactions(item: &Item) -> Vec<(Address, Interaction)> {
    let mut out: Vec<(Address, Interaction)> = vec![];
    let mut add = |a: Address, i: Interaction| {
        if a.is_zero() {
            return;
        }
        match out.iter_mut().find(|(x, y)| *x == a && y.approval == i.approval) {
            Some((_, e)) => {
                e.eth_sent += i.eth_sent;
                e.token_sent = e.token_sent.max(i.token_sent);
            }
            None => out.push((a, i)),
        }
    };
    let send = |eth: U256, token: U256| Interaction { eth_sent: eth, token_sent: token, approval: false };
    let approval = Interaction { eth_sent: U256::ZERO, token_sent: U256::ZERO, approval: true };
    if let Some(r) = &item.report {
        for t in r.transfers.iter().filter(|t| t.from == r.from) {
            match t.asset.kind {
                AssetKind::Eth => add(t.to, send(t.amount, U256::ZERO)),
                _ => add(t.to, send(U256::ZERO, t.amount)),
            }
        }
        for a in r.approvals.iter().filter(|a| !a.after.is_zero()) {
            add(a.spender, approval);
        }
    } else if let Some(tx) = &item.tx
        && let Some(to) = tx.to
    {
        add(to, send(tx.value, U256::ZERO));
    }
    if let Some(s) = &item.signature_report {
        for a in s.approvals.iter().filter(|a| !a.after.is_zero()) {
            add(a.spender, approval);
        }
    }
    out
}

/// Whether the spending policy approves `item` without the person, and for how much ETH.
/// Only transactions, with no finding above `info`, within the day's budget, count and
/// calldata cap. Everything else goes to the person.
pub fn auto_approvable(spending: &Spending, store: &Store, item: &Item) -> Result<Option<U256>, String> {
    if !spending.enabled || item.sign.is_some() {
        return Ok(None);
    }
    let Some(tx) = &item.tx else { return Ok(None) };
    if item.report.is_none() || verdict(&item.findings).max(item.verdict).is_some_and(|v| v > Severity::Info) {
        return Ok(None);
    }
    // State that failed verification always goes to the person, whatever the rules say (a
    // config can disable or soften any rule; it cannot make unverifiable data trusted).
    if item.verification.as_ref().is_none_or(|v| v.status == airlock_types::VerificationStatus::Failed) {
        return Ok(None);
    }
    let data: usize = tx.data.len() + item.calls.iter().map(|c| c.data.len()).sum::<usize>();
    if data > spending.max_calldata_bytes {
        return Ok(None);
    }
    // What leaves the sender in ETH: the value and anything sent on by internal calls.
    let sent = item
        .report
        .as_ref()
        .map(|r| {
            r.asset_changes
                .iter()
                .filter(|c| c.address == r.from && c.asset.kind == AssetKind::Eth)
                .map(|c| c.sent)
                .fold(U256::ZERO, |a, b| a + b)
        })
        .unwrap_or_default()
        .max(tx.value);
    let budget = airlock_policy::parse_eth(&spending.daily_budget).ok_or("the daily budget does not parse")?;
    let (count, spent) = store.spent(&today()).map_err(|e| e.to_string())?;
    if count + 1 > spending.daily_count || spent + sent > budget {
        return Ok(None);
    }
    Ok(Some(sent))
}

/// Today's date in UTC, as the tally's key.
pub fn today() -> String {
    Timestamp::now().to_string().chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_types::{OutcomeStatus, SimulationReport, TxView, Verification, VerificationStatus};

    fn item(status: VerificationStatus) -> Item {
        let params = serde_json::value::to_raw_value(&serde_json::json!([])).expect("raw");
        let mut i = Item::pending("a1".into(), "eth_sendTransaction".into(), params, Timestamp(0), Timestamp(0));
        i.tx = Some(TxView { value: U256::from(1u64), ..TxView::default() });
        i.verification = Some(Verification {
            mode: "checkpoint".into(),
            status,
            block_number: None,
            block_hash: None,
            error: None,
            note: None,
        });
        let report: SimulationReport = serde_json::from_value(serde_json::json!({
            "chain_id": 1, "block": { "number": 1, "hash": format!("0x{}", "00".repeat(32)), "timestamp": 0, "base_fee": 0,
              "gas_limit": 1, "coinbase": format!("0x{}", "00".repeat(20)), "prevrandao": format!("0x{}", "00".repeat(32)), "excess_blob_gas": null },
            "from": format!("0x{}", "11".repeat(20)), "to": null, "value": "1", "nonce": 0, "gas_limit": 21000,
            "outcome": { "status": "success", "reason": null, "output": "0x" }, "gas_used": 21000, "fee": "0",
            "transfers": [], "asset_changes": [], "approvals": [], "calls": [], "created": [], "delegations": [],
            "mismatches": [], "divergences": []
        }))
        .expect("report");
        assert_eq!(report.outcome.status, OutcomeStatus::Success);
        i.report = Some(report);
        i
    }

    #[test]
    fn failed_verification_is_never_auto_approved_whatever_the_rules_say() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("store");
        let spending = Spending { enabled: true, daily_budget: "1".into(), daily_count: 10, max_calldata_bytes: 0 };
        // No findings at all (as if every rule were disabled in the config).
        assert!(auto_approvable(&spending, &store, &item(VerificationStatus::Verified)).expect("ok").is_some());
        assert!(auto_approvable(&spending, &store, &item(VerificationStatus::Failed)).expect("ok").is_none());
        // A verdict raised by the model counts too.
        let mut raised = item(VerificationStatus::Verified);
        raised.verdict = Some(Severity::Warn);
        assert!(auto_approvable(&spending, &store, &raised).expect("ok").is_none());
    }
}
