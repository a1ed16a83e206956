//! The evasion check: the same request under other block environments that a real block could
//! have. A drainer that refunds when `block.coinbase` is zero (as in many simulators) and takes
//! everything in a real block, or that waits for a timestamp, shows up as a divergence. What
//! counts is what the person loses, not whether the call succeeds: a swap whose deadline has
//! passed an hour later reverts there, and that takes nothing from anyone.

use airlock_types::{ApprovalChange, AssetChange, AssetKind, BlockFacts, SimulationReport, TxView};
use alloy_primitives::{Address, U256, address};

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

/// One asset, whatever moves it.
type AssetKey = (AssetKind, Option<Address>, Option<U256>);

fn asset_key(c: &AssetChange) -> AssetKey {
    (c.asset.kind, c.asset.token, c.asset.token_id)
}

/// What the sender sends and receives of each asset.
fn sender_changes(r: &SimulationReport) -> Vec<(AssetKey, U256, U256, String)> {
    r.asset_changes
        .iter()
        .filter(|c| c.address == r.from)
        .map(|c| {
            let name = c.asset.symbol.clone().unwrap_or_else(|| format!("{:?}", c.asset.kind));
            (asset_key(c), c.sent, c.received, name)
        })
        .collect()
}

/// How `other` takes more from the sender than `base` does, in words; `None` when it takes no
/// more. Only that is a divergence: a variant that merely reverts or does less (a deadline or
/// an expiry that has passed an hour later) is what the sender's own limits are for. More is:
/// more of an asset sent; less received while still paying; a new or larger approval; the
/// sender's assets going to someone they do not go to in the report.
pub(crate) fn difference(base: &SimulationReport, other: &SimulationReport) -> Option<String> {
    let why = takes_more(base, other)?;
    Some(match gainers(base, other) {
        g if g.is_empty() => why,
        g => format!("{why}; {g}"),
    })
}

/// Who gains in `other` beyond what they gain in `base` (not the sender), in words.
fn gainers(base: &SimulationReport, other: &SimulationReport) -> String {
    let before = |c: &AssetChange| {
        base.asset_changes
            .iter()
            .find(|b| b.address == c.address && asset_key(b) == asset_key(c))
            .map_or(U256::ZERO, |b| b.received)
    };
    let shown: Vec<String> = other
        .asset_changes
        .iter()
        .filter(|c| c.address != other.from && c.received > before(c))
        .take(3)
        .map(|c| {
            let name = c.asset.symbol.clone().unwrap_or_else(|| format!("{:?}", c.asset.kind));
            format!("{} receives {} {name} instead of {}", c.address, c.received, before(c))
        })
        .collect();
    shown.join("; ")
}

fn takes_more(base: &SimulationReport, other: &SimulationReport) -> Option<String> {
    let (mine, theirs) = (sender_changes(base), sender_changes(other));
    let in_base = |k: &AssetKey| mine.iter().find(|m| m.0 == *k).map_or((U256::ZERO, U256::ZERO), |m| (m.1, m.2));
    for (key, sent, _, name) in &theirs {
        let (was, _) = in_base(key);
        if *sent > was {
            return Some(format!("you would send {sent} {name} instead of {was}"));
        }
    }
    if let Some(why) = paid_for_less(&mine, &theirs) {
        return Some(why);
    }
    let grants = |r: &SimulationReport| {
        r.approvals.iter().filter(|a| a.owner == r.from && !a.after.is_zero()).map(|a| a.grant()).collect::<Vec<_>>()
    };
    let granted = grants(base);
    if let Some(new) = other
        .approvals
        .iter()
        .filter(|a| a.owner == other.from && !a.after.is_zero())
        .find(|a| !granted.contains(&a.grant()) && larger_or_new(base, a))
    {
        return Some(format!("it grants {} an approval on {} that the report does not show", new.spender, new.token));
    }
    let recipients = |r: &SimulationReport| {
        r.transfers.iter().filter(|t| t.from == r.from && t.to != r.from).map(|t| t.to).collect::<Vec<_>>()
    };
    let shown = recipients(base);
    if let Some(to) = recipients(other).into_iter().find(|to| !shown.contains(to)) {
        return Some(format!("your assets would go to {to}, who receives nothing in the report"));
    }
    if other.delegations.iter().any(|d| !base.delegations.contains(d)) {
        return Some("it sets a 7702 delegation the report does not show".into());
    }
    None
}

/// The sender pays (at least in part) and receives proportionally less: the share received of
/// some asset is below the largest share paid of any (1% allowed for rounding). A revert pays
/// nothing; a smaller swap pays and receives in proportion.
fn paid_for_less(mine: &[(AssetKey, U256, U256, String)], theirs: &[(AssetKey, U256, U256, String)]) -> Option<String> {
    let share = |now: U256, was: U256| f64::from(now) / f64::from(was);
    let of = |k: &AssetKey| theirs.iter().find(|t| t.0 == *k);
    let paid = mine
        .iter()
        .filter(|m| !m.1.is_zero())
        .map(|m| share(of(&m.0).map_or(U256::ZERO, |t| t.1), m.1))
        .fold(0.0_f64, f64::max);
    if paid <= 0.0 {
        return None;
    }
    mine.iter().filter(|m| !m.2.is_zero()).find_map(|(key, _, received, name)| {
        let now = of(key).map_or(U256::ZERO, |t| t.2);
        (share(now, *received) < paid * 0.99)
            .then(|| format!("you would receive {now} {name} instead of {received}, and still pay"))
    })
}

/// Whether `a` is new in `base`'s approvals or allows more than the same approval there.
fn larger_or_new(base: &SimulationReport, a: &ApprovalChange) -> bool {
    let same = |b: &&ApprovalChange| {
        b.kind == a.kind
            && b.owner == a.owner
            && b.token == a.token
            && b.spender == a.spender
            && b.token_id == a.token_id
    };
    base.approvals.iter().find(same).is_none_or(|b| a.after > b.after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const ME: &str = "0x1111111111111111111111111111111111111111";
    const POOL: &str = "0x2222222222222222222222222222222222222222";
    const THIEF: &str = "0x3333333333333333333333333333333333333333";
    const TOKEN: &str = "0x4444444444444444444444444444444444444444";

    fn eth() -> Value {
        json!({ "kind": "eth", "token": null, "token_id": null, "symbol": "ETH", "decimals": 18 })
    }

    fn tst() -> Value {
        json!({ "kind": "erc20", "token": TOKEN, "token_id": null, "symbol": "TST", "decimals": 18 })
    }

    /// A report from `ME`: its status, the sender's (asset, sent, received), transfers, approvals.
    fn report(status: &str, mine: &[(Value, &str, &str)], transfers: Value, approvals: Value) -> SimulationReport {
        let changes: Vec<Value> = mine
            .iter()
            .map(|(asset, sent, received)| json!({ "address": ME, "asset": asset, "sent": sent, "received": received }))
            .collect();
        serde_json::from_value(json!({
            "chain_id": 1, "block": { "number": 1, "hash": format!("0x{}", "00".repeat(32)), "timestamp": 0, "base_fee": 0,
              "gas_limit": 1, "coinbase": format!("0x{}", "00".repeat(20)), "prevrandao": format!("0x{}", "00".repeat(32)), "excess_blob_gas": null },
            "from": ME, "to": POOL, "value": "0", "nonce": 0, "gas_limit": 100000,
            "outcome": { "status": status, "reason": null, "output": "0x" }, "gas_used": 21000, "fee": "0",
            "transfers": transfers, "asset_changes": changes, "approvals": approvals, "calls": [], "created": [],
            "delegations": [], "mismatches": [], "divergences": []
        }))
        .expect("report")
    }

    fn sent(to: &str, asset: Value, amount: &str) -> Value {
        json!([{ "asset": asset, "from": ME, "to": to, "amount": amount, "event": null }])
    }

    /// A swap whose deadline has passed an hour later reverts there: it takes nothing.
    #[test]
    fn a_swap_past_its_deadline_is_no_divergence() {
        let swap = report("success", &[(eth(), "1000", "0"), (tst(), "0", "99")], sent(POOL, eth(), "1000"), json!([]));
        let later = report("revert", &[], json!([]), json!([]));
        assert_eq!(difference(&swap, &later), None);
        // Doing less is no divergence either: a smaller amount out, nothing more paid.
        let smaller =
            report("success", &[(eth(), "500", "0"), (tst(), "0", "50")], sent(POOL, eth(), "500"), json!([]));
        assert_eq!(difference(&swap, &smaller), None);
    }

    /// The evasive drainer: refunded in the simulator's block, kept in a real one.
    #[test]
    fn paying_the_same_and_getting_less_back_is_a_divergence() {
        let refunded = report("success", &[(eth(), "1000", "1000")], sent(POOL, eth(), "1000"), json!([]));
        let kept = report("success", &[(eth(), "1000", "0")], sent(POOL, eth(), "1000"), json!([]));
        let why = difference(&refunded, &kept).expect("a divergence");
        assert!(why.contains("receive 0 ETH instead of 1000"), "{why}");
    }

    /// A time bomb: nothing moves now, the token balance leaves an hour later.
    #[test]
    fn sending_more_later_is_a_divergence() {
        let now = report("success", &[], json!([]), json!([]));
        let later = report("success", &[(tst(), "500", "0")], sent(THIEF, tst(), "500"), json!([]));
        let why = difference(&now, &later).expect("a divergence");
        assert!(why.contains("send 500 TST instead of 0"), "{why}");
    }

    /// A new approval, or the same assets going to someone else, is taking more.
    #[test]
    fn a_new_approval_or_another_recipient_is_a_divergence() {
        let base = report("success", &[(tst(), "5", "0")], sent(POOL, tst(), "5"), json!([]));
        let approval = json!([{ "kind": "erc20", "token": TOKEN, "symbol": "TST", "decimals": 18, "owner": ME,
            "spender": THIEF, "spender_kind": "eoa", "token_id": null, "before": "0", "after": "1000",
            "unlimited": false }]);
        let granting = report("success", &[(tst(), "5", "0")], sent(POOL, tst(), "5"), approval);
        assert!(difference(&base, &granting).is_some_and(|w| w.contains("approval")));
        let elsewhere = report("success", &[(tst(), "5", "0")], sent(THIEF, tst(), "5"), json!([]));
        assert!(difference(&base, &elsewhere).is_some_and(|w| w.contains(&THIEF.to_lowercase()[2..10])));
        assert_eq!(difference(&base, &base.clone()), None, "the same report is no divergence");
    }
}
