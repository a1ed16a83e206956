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
    let mut out = policy.evaluate(item, chain_id, &history);
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
    if item.report.is_none() || verdict(&item.findings).is_some_and(|v| v > Severity::Info) {
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
