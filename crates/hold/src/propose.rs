//! An agent's intent built into a request: tokens read from this chain's list (a symbol or an
//! address), a swap quoted by the router on the newest head, a revoke taken from the approvals
//! watch.

use std::collections::HashMap;

use airlock_agent::{Book, Built, Intent, IntentError, SwapPlan, Token};
use airlock_policy::Lists;
use airlock_store::Store;
use alloy_primitives::{Address, U256};

use crate::Pipeline;

/// The request `intent` names, from `managed`'s only account when it names no sender.
pub(crate) async fn build(
    pipeline: &Pipeline,
    store: &Store,
    managed: &[Address],
    intent: &Intent,
) -> Result<Built, crate::Error> {
    let chain = pipeline.chain().chain_id().await?;
    let lists = pipeline.lists().ok_or_else(|| crate::Error::Intent("this daemon has no token list".into()))?;
    let book = ListBook { lists, chain, names: resolve_names(pipeline, intent).await };
    let default_from = (managed.len() == 1).then(|| managed[0]);
    let invalid = |e: IntentError| crate::Error::Intent(e.to_string());
    match intent {
        Intent::Swap { .. } => {
            let v2 = lists.venue(chain, "uniswap-v2-router");
            let v3 = lists.venue(chain, "uniswap-v3-router").zip(lists.venue(chain, "uniswap-v3-quoter"));
            let plan =
                airlock_agent::plan_swap(intent, default_from, v2.or(v3.map(|v| v.0)), &book).map_err(invalid)?;
            let weth = book.weth().map(|w| w.address);
            quoted(pipeline, plan, weth, v2, v3).await
        }
        Intent::Revoke { .. } => revoke(pipeline, store, &book, default_from, intent).await,
        _ => airlock_agent::build(intent, default_from, &book).map_err(invalid),
    }
}

/// A revoke: of the approval the watch lists under its id, or of the token's approval to the
/// spender as the watch knows it (an NFT's or Permit2's too); else an ERC-20 allowance to zero.
async fn revoke(
    pipeline: &Pipeline,
    store: &Store,
    book: &ListBook<'_>,
    default_from: Option<Address>,
    intent: &Intent,
) -> Result<Built, crate::Error> {
    let Intent::Revoke { token, spender, approval, from } = intent else { unreachable!("a revoke") };
    let invalid = |e: IntentError| crate::Error::Intent(e.to_string());
    let owner = match (from, approval) {
        (None, Some(_)) => None,
        _ => Some(airlock_agent::sender(intent, default_from).map_err(invalid)?),
    };
    let view = crate::approvals::open(pipeline.chain(), store, owner).await.map_err(crate::Error::Intent)?;
    if let Some(id) = approval {
        let id = id.trim().to_ascii_lowercase();
        let open = view.approvals.iter().find(|a| a.id == id).ok_or_else(|| {
            crate::Error::Intent(format!("no open approval has the id {id:?}: `approvals` lists them"))
        })?;
        return Ok(airlock_agent::revoke_open(open));
    }
    if let (Some(t), Some(s)) = (token, spender) {
        let token = book.token(t).map_err(invalid)?.address;
        let found = view.approvals.iter().find(|a| a.token == token && s.trim().parse() == Ok(a.spender));
        if let Some(open) = found {
            return Ok(airlock_agent::revoke_open(open));
        }
    }
    airlock_agent::build(intent, default_from, book).map_err(invalid)
}

/// This chain's part of the lists, and the ENS names the intent uses, resolved.
pub(crate) struct ListBook<'a> {
    pub lists: &'a Lists,
    pub chain: u64,
    pub names: HashMap<String, Result<Address, String>>,
}

impl Book for ListBook<'_> {
    fn token(&self, name: &str) -> Result<Token, IntentError> {
        let name = name.trim();
        let address = match name.parse::<Address>() {
            Ok(a) => a,
            Err(_) => match self.lists.symbols.get(&(self.chain, name.to_uppercase())).map(Vec::as_slice) {
                Some([one]) => *one,
                Some([_, _, ..]) => {
                    return Err(IntentError::Invalid(format!(
                        "{name:?} names several listed tokens: give its address"
                    )));
                }
                _ => return Err(IntentError::UnknownToken(name.to_owned())),
            },
        };
        let (symbol, decimals) =
            self.lists.token(self.chain, address).ok_or_else(|| IntentError::UnknownToken(name.to_owned()))?;
        let decimals =
            decimals.ok_or_else(|| IntentError::Invalid(format!("the list gives no decimals for {symbol}")))?;
        Ok(Token { address, symbol: symbol.clone(), decimals })
    }

    fn weth(&self) -> Option<Token> {
        self.token("WETH").ok()
    }

    fn name(&self, name: &str) -> Result<Address, IntentError> {
        match self.names.get(name.trim()) {
            Some(Ok(a)) => Ok(*a),
            Some(Err(why)) => Err(IntentError::Invalid(why.clone())),
            None => Err(IntentError::BadAddress(name.to_owned())),
        }
    }
}

/// The ENS names `intent` uses, each resolved on the newest verified head (or why not).
async fn resolve_names(pipeline: &Pipeline, intent: &Intent) -> HashMap<String, Result<Address, String>> {
    let wanted = airlock_agent::names(intent);
    let mut out = HashMap::new();
    if wanted.is_empty() {
        return out;
    }
    let (verification, head) = pipeline.chain().head().await;
    let sim = pipeline.chain().simulator().await;
    for name in wanted {
        let resolved = match (&head, &sim) {
            (Some(head), Ok(sim)) => airlock_intel::ens::resolve(sim, head, &name).await.map_err(|e| e.to_string()),
            (None, _) => Err(format!(
                "{name} cannot be resolved: no verified head ({})",
                verification.error.clone().unwrap_or_default()
            )),
            (_, Err(e)) => Err(format!("{name} cannot be resolved: {e}")),
        };
        out.insert(name, resolved);
    }
    out
}

/// A planned swap, routed and quoted on the newest (verified) head: every route the chain's
/// venues quote (its Uniswap V2 router; V3 through the QuoterV2, swapped through the
/// SwapRouter), the best taken, finished with the least output the intent accepts and a
/// deadline 20 minutes after that head.
pub(crate) async fn quoted(
    pipeline: &crate::Pipeline,
    mut plan: SwapPlan,
    weth: Option<Address>,
    v2: Option<Address>,
    v3: Option<(Address, Address)>,
) -> Result<Built, crate::Error> {
    let (_, head) = pipeline.chain().head().await;
    let head = head.ok_or_else(|| crate::Error::Intent("no head to quote the swap on".into()))?;
    let sim = pipeline
        .chain()
        .simulator()
        .await
        .map_err(|e| crate::Error::Intent(format!("the swap cannot be quoted: {e}")))?;
    let venues = crate::swaps::Venues { v2_router: v2, v3_quoter: v3.map(|v| v.1) };
    let ends = (plan.path[0], plan.path[plan.path.len() - 1], weth);
    let routes = crate::swaps::best_routes(sim, &head, ends, plan.amount_in, &venues).await;
    let best = routes.first().ok_or_else(|| crate::Error::Intent("no pool quotes this swap".into()))?;
    let (out, deadline) = (best.out.unwrap_or_default(), head.facts.timestamp + 1200);
    match (best.venue.as_str(), v3) {
        (airlock_types::SwapRoute::V3, Some((router, _))) => {
            let pool = best.fees.iter().map(|f| format!("{}%", *f as f64 / 10_000.0)).collect::<Vec<_>>().join(" + ");
            let path = crate::swaps::encoded_v3_path(best);
            Ok(overspent(plan.finish_v3(router, path, out, deadline, &format!("{pool} pool"))))
        }
        _ => {
            plan.path = best.path.clone();
            if let Some(router) = v2 {
                plan.router = router;
            }
            Ok(overspent(plan.finish(out, deadline)))
        }
    }
}

/// A test hook, in debug builds only (release builds ignore it): `AIRLOCK_TEST_OVERSPEND=N`
/// multiplies a proposed swap's ETH value by N after it is built and leaves what was asked as
/// it was, so that the end-to-end suite shows the mismatch check catching a builder that
/// spends more than the intent said.
fn overspent(mut built: Built) -> Built {
    if !cfg!(debug_assertions) {
        return built;
    }
    let Some(n) = std::env::var("AIRLOCK_TEST_OVERSPEND").ok().and_then(|v| v.parse::<u64>().ok()) else {
        return built;
    };
    let value =
        built.params[0]["value"].as_str().and_then(|v| U256::from_str_radix(v.trim_start_matches("0x"), 16).ok());
    if let Some(v) = value {
        built.params[0]["value"] = serde_json::json!(format!("{:#x}", v.saturating_mul(U256::from(n))));
    }
    built
}
