//! The evasion check: the same request under other block environments that a real block could
//! have. A drainer that refunds when `block.coinbase` is zero (as in many simulators) and takes
//! everything in a real block, or that waits for a timestamp, shows up as a divergence.

use airlock_types::{AssetChange, BlockFacts, OutcomeStatus, SimulationReport, TxView};
use alloy_primitives::{Address, address};

/// A fee recipient no simulator uses by default (a well-known builder's address).
const OTHER_COINBASE: Address = address!("0x95222290DD7278Aa3Ddd389Cc1E1d165CC4BAfe5");
const LATER: u64 = 3600;

/// The environments tried, each with its description.
pub(crate) fn variants(facts: &BlockFacts, tx: &TxView) -> Vec<(String, BlockFacts)> {
    let mut out = vec![];
    let mut later = facts.clone();
    later.timestamp += LATER;
    later.number += LATER / 12;
    out.push(("a block one hour later".to_owned(), later));
    let mut coinbase = facts.clone();
    coinbase.coinbase = if facts.coinbase == OTHER_COINBASE { Address::repeat_byte(0x42) } else { OTHER_COINBASE };
    out.push((format!("fee recipient {}", coinbase.coinbase), coinbase));
    // A higher base fee, as far as the transaction's own fee cap allows (beyond it the
    // transaction is simply not includable, which says nothing about its code).
    let cap = tx.max_fee_per_gas.or(tx.gas_price).map(|c| u64::try_from(c).unwrap_or(u64::MAX));
    let higher = facts.base_fee.saturating_mul(2).max(facts.base_fee + 1_000_000_000);
    let higher = cap.map_or(higher, |c| higher.min(c));
    if higher > facts.base_fee {
        let mut fee = facts.clone();
        fee.base_fee = higher;
        out.push((format!("base fee {higher} wei instead of {}", facts.base_fee), fee));
    }
    out
}

/// What differs in `other` from `base`, in words; `None` when nothing material does.
pub(crate) fn difference(base: &SimulationReport, other: &SimulationReport) -> Option<String> {
    if base.outcome.status != other.outcome.status {
        let status = |s: OutcomeStatus| match s {
            OutcomeStatus::Success => "succeeds",
            OutcomeStatus::Revert => "reverts",
            OutcomeStatus::Halt => "fails",
        };
        let why = other.outcome.reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
        return Some(format!("it {}{why} instead of it {}", status(other.outcome.status), status(base.outcome.status)));
    }
    let key = |c: &AssetChange| (c.address, c.asset.kind, c.asset.token, c.asset.token_id, c.sent, c.received);
    let ours: Vec<_> = base.asset_changes.iter().map(key).collect();
    let theirs: Vec<_> = other.asset_changes.iter().map(key).collect();
    if ours != theirs {
        let shown: Vec<String> = other
            .asset_changes
            .iter()
            .filter(|c| !ours.contains(&key(c)))
            .take(3)
            .map(|c| {
                let what = c.asset.symbol.clone().unwrap_or_else(|| format!("{:?}", c.asset.kind));
                format!("{} sends {} and receives {} {what}", c.address, c.sent, c.received)
            })
            .collect();
        let missing = ours.iter().filter(|k| !theirs.contains(k)).count();
        let shown = if shown.is_empty() { "none of them happen".to_owned() } else { shown.join("; ") };
        let missing = match missing {
            0 => String::new(),
            1 => "; and 1 change in this report does not happen".to_owned(),
            n => format!("; and {n} changes in this report do not happen"),
        };
        return Some(format!("the asset changes differ: {shown}{missing}"));
    }
    let approvals = |r: &SimulationReport| r.approvals.iter().map(|a| a.grant()).collect::<Vec<_>>();
    if approvals(base) != approvals(other) {
        return Some("the approvals differ".into());
    }
    None
}
