//! Before an approved request is forwarded it is simulated again on the newest head. What counts
//! as a material change from the report the person approved: another outcome, other asset
//! movements, other approvals or delegations. Gas and fees may move with the base fee.

use std::pin::Pin;
use std::sync::Weak;

use airlock_types::{AssetChange, Item, SimulationReport};

use crate::queue::{Recheck, Resimulate};
use crate::server::{Ctx, checked_head, simulate_item};

/// Why `after` is not what the person approved in `before`; `None` when nothing material moved.
pub fn material_change(before: &SimulationReport, after: &SimulationReport) -> Option<String> {
    if before.outcome.status != after.outcome.status {
        return Some(format!("its outcome changed from {:?} to {:?}", before.outcome.status, after.outcome.status));
    }
    let key = |c: &AssetChange| (c.address, c.asset.kind, c.asset.token, c.asset.token_id, c.sent, c.received);
    let changes = |r: &SimulationReport| r.asset_changes.iter().map(key).collect::<Vec<_>>();
    if changes(before) != changes(after) {
        return Some("its asset changes are different now".into());
    }
    let approvals = |r: &SimulationReport| {
        r.approvals.iter().map(|a| (a.kind, a.token, a.owner, a.spender, a.token_id, a.after)).collect::<Vec<_>>()
    };
    if approvals(before) != approvals(after) {
        return Some("its approvals are different now".into());
    }
    if before.delegations != after.delegations {
        return Some("its 7702 delegations are different now".into());
    }
    None
}

/// The daemon's resimulator: the same head source, upstream and simulator as held items use.
/// (Weak: the context owns the queue, which owns this.)
#[derive(Debug)]
pub struct Resimulator(pub Weak<Ctx>);

impl Resimulate for Resimulator {
    fn recheck<'a>(&'a self, item: &'a Item) -> Pin<Box<dyn Future<Output = Option<Recheck>> + Send + 'a>> {
        Box::pin(async move {
            let tx = item.tx.as_ref()?;
            if item.sign.is_some() {
                return None;
            }
            let ctx = self.0.upgrade()?;
            let (mut verification, head) = checked_head(ctx.tracker.as_ref(), &ctx.upstream).await;
            let (report, simulation_error) = match ctx.simulator().await {
                Ok(sim) => simulate_item(sim, head.as_ref(), tx, &item.calls, &mut verification).await,
                Err(e) => (None, Some(e.to_string())),
            };
            Some(Recheck { verification, report, simulation_error })
        })
    }
}
