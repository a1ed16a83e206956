//! Before an approved request is forwarded it is simulated again on the newest head. What counts
//! as a material change from the report the person approved: another outcome, other asset
//! movements, other approvals or delegations. Gas and fees may move with the base fee.

use airlock_types::{AssetChange, AssetKind, Item, SimulationReport};
use alloy_primitives::{Address, U256};

/// How much less the sender may receive of an asset than it was shown (pools move every
/// block; the transaction's own slippage bound still holds, and its revert is an outcome change).
const RECEIVE_TOLERANCE_BPS: u64 = 100;

/// A pending item simulated again (`now`: at approval, or because the sends ahead of it
/// changed): what the person sees next. A report that could not be made again leaves the one the
/// person saw, its findings kept (new ones added), and says the simulation failed.
pub fn show_again(item: &mut Item, now: crate::Assessment) {
    item.verification = Some(now.verification);
    // What could not be checked about the simulation is as it is now; the rest (threat lists,
    // fee advice) was checked when it was held and stays.
    item.unchecked.retain(|u| !about_simulation(u));
    item.unchecked.extend(now.unchecked.into_iter().filter(|u| about_simulation(u)));
    match (now.report, &item.report) {
        (None, Some(_)) => {
            let why = now.simulation_error.as_deref().unwrap_or("no report");
            item.simulation_error =
                Some(format!("it could not be simulated again ({why}); the report shown is from when it was held"));
            for f in now.findings {
                if !item.findings.contains(&f) {
                    item.findings.push(f);
                }
            }
        }
        (report, _) => {
            item.report = report;
            item.simulation_error = now.simulation_error;
            item.findings = now.findings;
        }
    }
    item.verdict = airlock_policy::verdict(&item.findings);
}

/// An `unchecked` line about the state or the simulation (see `Pipeline::unchecked`).
fn about_simulation(line: &str) -> bool {
    ["state verification:", "simulation:", "evasion check,"].iter().any(|p| line.starts_with(p))
}

/// Why `after` is not what the person approved in `before`; `None` when nothing material moved.
/// Material: another outcome; a divergence or a log/balance mismatch that was not there; other
/// approvals or delegations; assets moving that did not, or no longer, move; the sender giving
/// more of anything, or receiving more than 1% less.
pub fn material_change(before: &SimulationReport, after: &SimulationReport) -> Option<String> {
    if before.outcome.status != after.outcome.status {
        return Some(format!("its outcome changed from {:?} to {:?}", before.outcome.status, after.outcome.status));
    }
    if after.divergences.iter().any(|d| !before.divergences.contains(d)) {
        return Some("it now behaves differently in another block environment".into());
    }
    if after.mismatches.iter().any(|m| !before.mismatches.contains(m)) {
        return Some("a token's logs and balances now disagree".into());
    }
    let approvals = |r: &SimulationReport| r.approvals.iter().map(|a| a.grant()).collect::<Vec<_>>();
    if approvals(before) != approvals(after) {
        return Some("its approvals are different now".into());
    }
    if before.delegations != after.delegations {
        return Some("its 7702 delegations are different now".into());
    }
    type Key = (Address, AssetKind, Option<Address>, Option<U256>, bool, bool);
    let key = |c: &AssetChange| -> Key {
        (c.address, c.asset.kind, c.asset.token, c.asset.token_id, !c.sent.is_zero(), !c.received.is_zero())
    };
    let keys = |r: &SimulationReport| r.asset_changes.iter().map(key).collect::<Vec<_>>();
    if keys(before) != keys(after) {
        return Some("other assets move now".into());
    }
    let sender = before.from;
    for (b, a) in before.asset_changes.iter().zip(&after.asset_changes).filter(|(b, _)| b.address == sender) {
        if a.sent > b.sent {
            return Some(format!("you would send {} instead of {} of an asset", a.sent, b.sent));
        }
        let floor = b.received - b.received * U256::from(RECEIVE_TOLERANCE_BPS) / U256::from(10_000u64);
        if a.received < floor {
            return Some(format!("you would receive {} instead of {} of an asset", a.received, b.received));
        }
    }
    None
}
