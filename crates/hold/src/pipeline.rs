//! The hold pipeline: one [`Pipeline::assess`] that turns a decoded request into what the
//! person is shown. Holding a request, simulating it again at approval, `airlock simulate` and
//! the approvals watch all go through it (the watch through its head and simulator).
//!
//! The steps, in order: the chain the request names; the head (and how far it is verified);
//! a signature's meaning or a transaction's simulation; fee advice and a swap's quote; the
//! rules over all of that; the template's explanation.

use std::sync::Arc;

use airlock_chain::{Chain, StateFrom};
use airlock_intel::Intel;
use airlock_policy::Policy;
use airlock_sim::{Head, SimError, Simulator, SourceError};
use airlock_store::Store;
use airlock_types::{
    CallView, Finding, Item, SignatureReport, SimulationReport, Timestamp, TxView, Verification, VerificationStatus,
};

use crate::assessment::Assessment;
use crate::decode::Request;
use crate::errors::Error;
use crate::queue::Reassess;

/// Which steps run, and on which head.
#[derive(Debug, Clone, Copy)]
pub enum How<'a> {
    /// A new request: every step, on the newest head. `held_next_nonce`: one past the highest
    /// nonce Airlock holds from the same sender (for a signed transaction). `ahead`: the same
    /// sender's sends queued before it, simulated first (see [`crate::ahead`]).
    Hold { held_next_nonce: Option<u64>, ahead: &'a [TxView] },
    /// An item again, on the newest head (after the sends queued `ahead` of it), before it is
    /// forwarded or after its fees changed: the outcome and the rules; its fee advice and quote
    /// stay as they were shown.
    Recheck { item: &'a Item, ahead: &'a [TxView] },
    /// `airlock simulate`: the report only, on the newest head or on block `n`.
    Simulate(Option<u64>),
}

/// The rules and the local history they read.
#[derive(Debug)]
struct Judge {
    /// The bundled and the person's rules, with their lists.
    policy: Arc<Policy>,
    /// The local history (counterparties, habits) the rules read.
    store: Store,
    /// Threat lists and provenance; none in tests that do without.
    intel: Option<Arc<Intel>>,
}

/// See the module docs.
#[derive(Debug)]
pub struct Pipeline {
    /// The chain every step reads.
    chain: Arc<Chain>,
    /// `None` for a pipeline that only reports (`airlock simulate`).
    judge: Option<Judge>,
    /// The recent median tip, asked once per head.
    fees: crate::gas::FeeHistory,
}

impl Pipeline {
    /// The daemon's pipeline: every step, with `policy` over the local history in `store`.
    pub fn new(chain: Arc<Chain>, policy: Arc<Policy>, store: Store) -> Self {
        Pipeline { chain, judge: Some(Judge { policy, store, intel: None }), fees: Default::default() }
    }

    /// The same pipeline with threat lists, provenance and sell-side simulation.
    pub fn with_intel(mut self, intel: Arc<Intel>) -> Self {
        if let Some(j) = self.judge.as_mut() {
            j.intel = Some(intel);
        }
        self
    }

    /// A pipeline that reports what a request does, with no rules (`airlock simulate`).
    pub fn reporting(chain: Arc<Chain>) -> Self {
        Pipeline { chain, judge: None, fees: Default::default() }
    }

    pub fn chain(&self) -> &Arc<Chain> {
        &self.chain
    }

    /// The token list's entries for `chain`, for building intents.
    pub fn lists(&self) -> Option<&airlock_policy::Lists> {
        self.judge.as_ref().map(|j| &j.policy.lists)
    }

    /// The threat lists that loaded (none without intel).
    pub fn threat_lists(&self) -> Vec<airlock_types::ThreatList> {
        self.judge.as_ref().and_then(|j| j.intel.as_ref()).map(|i| i.lists().lists().to_vec()).unwrap_or_default()
    }

    /// Reads the threat lists again, off the async threads (a million addresses take a while).
    pub async fn reload_threat_lists(&self) -> Result<Vec<airlock_types::ThreatList>, String> {
        let intel = self.judge.as_ref().and_then(|j| j.intel.clone()).ok_or("this daemon keeps no threat lists")?;
        match tokio::task::spawn_blocking(move || intel.reload()).await {
            Ok(Ok(lists)) => Ok(lists),
            Ok(Err(e)) => Err(format!("the lists were not reloaded (the old ones stay in use): {e}")),
            Err(e) => Err(format!("the reload failed: {e}")),
        }
    }

    /// Runs the steps `how` asks for over `req`. Only a request naming another chain than the
    /// upstream's is an error: anything that could not be verified or simulated is recorded
    /// in the assessment, for the person to see.
    pub async fn assess(&self, req: &Request, how: How<'_>) -> Result<Assessment, Error> {
        if let Some(claimed) = req.claimed_chain_id.filter(|_| !matches!(how, How::Recheck { .. })) {
            let upstream = self.chain.upstream().chain_id().await?;
            if claimed != upstream {
                return Err(Error::WrongChain { claimed, upstream });
            }
        }
        let (mut verification, head) = match how {
            How::Simulate(Some(n)) => self.chain.head_at(n).await,
            _ => self.chain.head().await,
        };
        let (mut signature_report, mut report, mut simulation_error) = (None, None, None);
        if let Some(sign) = &req.sign {
            (signature_report, simulation_error) = self.signature(head.as_ref(), sign, &mut verification).await;
        } else if let Some(tx) = &req.tx {
            let ahead = match how {
                How::Hold { ahead, .. } | How::Recheck { ahead, .. } => ahead,
                How::Simulate(_) => &[],
            };
            (report, simulation_error) = match self.chain.simulator().await {
                Ok(sim) => simulate_item(sim, head.as_ref(), ahead, tx, &req.calls, &mut verification).await,
                Err(e) => (None, Some(e.to_string())),
            };
        }
        let mut a = Assessment::simulated(verification, report, signature_report, simulation_error);
        if let How::Hold { held_next_nonce, .. } = how {
            a.next_nonce = self.next_nonce(req, held_next_nonce).await;
        }
        if let (How::Hold { .. }, Some(head)) = (how, &head) {
            self.advise(req, head, &mut a).await;
        }
        a.asked = asked(req, &a);
        if matches!(how, How::Simulate(_)) {
            return Ok(a);
        }
        if let How::Hold { .. } = how {
            a.intel = self.examine(req, head.as_ref(), &a).await;
        }
        a.unchecked = self.unchecked(req, &a).await;
        let view = view(req, how, &a);
        a.findings = self.findings(&view).await;
        if let How::Hold { .. } = how {
            a.explanation = Some(airlock_explain::template(&Item { findings: a.findings.clone(), ..view }));
        }
        Ok(a)
    }

    /// What a signature would grant, read on `head`. Without state the meaning is still
    /// known; the spenders' kinds are not.
    async fn signature(
        &self,
        head: Option<&Head>,
        sign: &airlock_types::SignView,
        verification: &mut Verification,
    ) -> (Option<SignatureReport>, Option<String>) {
        let described = || Some(airlock_sim::typed::describe(sign));
        match (self.chain.simulator().await, head) {
            (Ok(sim), Some(head)) => match sim.signature(head, sign).await {
                Ok(r) => (Some(r), None),
                Err(e) => {
                    mark_failed(&e, verification);
                    (described(), Some(e.to_string()))
                }
            },
            (Err(e), _) => (described(), Some(e.to_string())),
            (_, None) => (described(), Some("no head to read state on".into())),
        }
    }

    /// Fee advice and a swap's quote, for a single transaction on a known head.
    async fn advise(&self, req: &Request, head: &Head, a: &mut Assessment) {
        let Some(tx) = req.tx.as_ref().filter(|_| req.sign.is_none() && req.calls.is_empty()) else { return };
        let recent = self.fees.recent_tip(self.chain.upstream(), &head.facts).await;
        a.gas = Some(crate::gas::advise(&head.facts, recent, tx, a.report.as_ref(), &req.method));
        let (Some(report), Ok(sim)) = (a.report.as_ref(), self.chain.simulator().await) else { return };
        let chain = sim.chain_id();
        let lists = self.judge.as_ref().map(|j| &j.policy.lists);
        let venues = crate::swaps::Venues {
            v2_router: lists.and_then(|l| l.venue(chain, "uniswap-v2-router")),
            v3_quoter: lists.and_then(|l| l.venue(chain, "uniswap-v3-quoter")),
        };
        // Boxed: the quote's calls would otherwise grow every held request's future.
        a.swap = Box::pin(crate::swaps::quote(sim, head, tx, report, &venues)).await;
    }

    /// The sender's next nonce for a signed transaction: the node's pending count (advisory,
    /// like its fee history), or one past the nonces Airlock holds, whichever is higher.
    async fn next_nonce(&self, req: &Request, held: Option<u64>) -> Option<u64> {
        let tx = req.tx.as_ref().filter(|t| t.signed)?;
        let params = serde_json::value::to_raw_value(&serde_json::json!([tx.from?, "pending"])).ok()?;
        let node = match self.chain.upstream().request("eth_getTransactionCount", Some(&params)).await {
            Ok(raw) => serde_json::from_str::<alloy_primitives::U64>(raw.get()).ok().map(|n| n.to::<u64>()),
            Err(e) => {
                tracing::debug!(error = %e, "no pending nonce from the upstream");
                None
            }
        };
        node.max(held)
    }

    /// Threat lists, provenance and resale, for a request just held.
    async fn examine(&self, req: &Request, head: Option<&Head>, a: &Assessment) -> Option<airlock_types::IntelReport> {
        let judge = self.judge.as_ref()?;
        let intel = judge.intel.as_ref()?;
        let chain = self.chain.simulator().await.map(|s| s.chain_id()).ok();
        let router = chain.and_then(|c| judge.policy.lists.venue(c, "uniswap-v2-router"));
        let item = view(req, How::Simulate(None), a);
        // Boxed: the trials' simulations would otherwise grow every held request's future.
        Some(Box::pin(intel.examine(&self.chain, head, &item, router)).await)
    }

    /// What could not be checked for `req`, and why: shown with the item, never hidden.
    async fn unchecked(&self, req: &Request, a: &Assessment) -> Vec<String> {
        let mut out = vec![];
        let transaction = req.tx.is_some() && req.sign.is_none();
        if let Some(e) = a.verification.error.as_ref().filter(|_| a.verification.status == VerificationStatus::Failed) {
            out.push(format!("state verification: failed ({e}); nothing below rests on verified state"));
        }
        if transaction && a.report.is_none() {
            let why = a.simulation_error.as_deref().unwrap_or("no report");
            out.push(format!("simulation: not run ({why}); what it does is unknown"));
        }
        if let Some(r) = &a.report {
            out.extend(r.unchecked.iter().map(|u| format!("evasion check, {u}")));
        }
        if transaction && req.calls.is_empty() && a.gas.is_none() {
            out.push("fee advice: no head to read the base fee on".into());
        }
        // The simulator's chain id: no second question to the upstream.
        let chain = self.chain.simulator().await.map(|sim| sim.chain_id());
        if let (Some(judge), Ok(chain)) = (&self.judge, chain)
            && !judge.policy.lists.tokens.keys().any(|(c, _)| *c == chain)
        {
            out.push(format!(
                "token list: none for chain {chain}, so a fake token is recognised only by a well-known symbol"
            ));
        }
        match &a.intel {
            Some(intel) => out.extend(intel.unchecked.iter().cloned()),
            None => {
                if a.report
                    .as_ref()
                    .is_some_and(|r| r.account_kinds.values().any(|k| *k == airlock_types::AccountKind::Contract))
                {
                    out.push("threat lists, contract age and control: not checked (no threat data loaded)".into());
                }
                if a.swap.is_some() {
                    out.push("sell-side simulation: not run (no threat data loaded)".into());
                }
            }
        }
        out
    }

    /// The rules over an item, with the local history.
    async fn findings(&self, item: &Item) -> Vec<Finding> {
        let Some(judge) = &self.judge else { return vec![] };
        let chain_id = match self.chain.simulator().await {
            Ok(sim) => sim.chain_id(),
            Err(_) => item.tx.as_ref().and_then(|t| t.chain_id).unwrap_or(0),
        };
        crate::judge::findings(&judge.policy, &judge.store, item, chain_id)
    }
}

/// The item the rules and the template read: the request (or the item being rechecked, with
/// its advice as shown) and what was just found.
fn view(req: &Request, how: How<'_>, a: &Assessment) -> Item {
    let base = match how {
        How::Recheck { item, .. } => item.clone(),
        _ => Item {
            tx: req.tx.clone(),
            calls: req.calls.clone(),
            sign: req.sign.clone(),
            gas: a.gas.clone(),
            swap: a.swap.clone(),
            signature_report: a.signature_report.clone(),
            ..Item::pending(String::new(), req.method.clone(), req.params.clone(), Timestamp(0), Timestamp(0))
        },
    };
    Item {
        verification: Some(a.verification.clone()),
        report: a.report.clone(),
        simulation_error: a.simulation_error.clone(),
        next_nonce: a.next_nonce.or(base.next_nonce),
        intel: a.intel.clone().or(base.intel.clone()),
        asked: a.asked.clone().or(base.asked.clone()),
        ..base
    }
}

/// For a request built from an intent: the intent, and where the simulation departs from it
/// (a request that could not be simulated is judged on that alone, by the other rules).
fn asked(req: &Request, a: &Assessment) -> Option<airlock_types::Asked> {
    let (summary, expect) = req.intent.as_ref()?;
    let from = req.tx.as_ref().and_then(|t| t.from).unwrap_or_default();
    let mismatches = a.report.as_ref().map(|r| airlock_agent::mismatches(expect, from, r)).unwrap_or_default();
    Some(airlock_types::Asked { summary: summary.clone(), mismatches, words: None })
}

impl Reassess for Pipeline {
    fn reassess<'a>(
        &'a self,
        item: &'a Item,
        ahead: &'a [TxView],
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<Assessment>> + Send + 'a>> {
        Box::pin(async move {
            if item.sign.is_some() || item.tx.is_none() {
                return None;
            }
            self.assess(&Request::of(item), How::Recheck { item, ahead }).await.ok()
        })
    }
}

/// State that did not verify marks the verification failed.
fn mark_failed(e: &SimError, verification: &mut Verification) {
    if let SimError::Source(SourceError::Failed(m)) = e {
        verification.status = VerificationStatus::Failed;
        verification.error = Some(m.clone());
    }
}

/// Simulates a transaction (or a `wallet_sendCalls` batch) after the sends queued `ahead` of it:
/// its report, or why there is none.
async fn simulate_item(
    sim: &Simulator<StateFrom>,
    head: Option<&Head>,
    ahead: &[TxView],
    tx: &TxView,
    calls: &[CallView],
    verification: &mut Verification,
) -> (Option<SimulationReport>, Option<String>) {
    let Some(head) = head else {
        let why = match &verification.error {
            Some(e) => format!("not simulated: the state could not be verified: {e}"),
            None => "not simulated: no head to simulate on".into(),
        };
        return (None, Some(why));
    };
    let simulated = if calls.is_empty() {
        sim.simulate_after(head, ahead, tx).await
    } else {
        // wallet_sendCalls: each call a transaction from the sender, in order.
        sim.simulate_batch_after(head, ahead, &crate::ahead::sends(tx, calls)).await
    };
    simulated.map(|r| (Some(r), None)).unwrap_or_else(|e| {
        mark_failed(&e, verification);
        (None, Some(e.to_string()))
    })
}
