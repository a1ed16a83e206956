//! The JSON-RPC endpoint. Routing happens in an RPC middleware in front of jsonrpsee's method
//! table, so that every method, known or not, is seen: reads are forwarded verbatim, sends and
//! signatures are held, and only `eth_subscribe` / `eth_unsubscribe` reach the method table,
//! where jsonrpsee's subscription machinery bridges them to the upstream's.

use std::sync::Arc;

use futures_util::future::join_all;
use jsonrpsee::ResponsePayload;
use jsonrpsee::core::middleware::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::core::server::BatchResponseBuilder;
use jsonrpsee::server::{MethodResponse, RpcModule, SubscriptionMessage};
use jsonrpsee::types::{ErrorObjectOwned, Request};
use serde_json::value::RawValue;
use tracing::Instrument;

use airlock_sim::{Head, SimError, Simulator, SourceError};
use airlock_types::{Decisions, Item, OutcomeStatus, RpcError, Timestamp, Verification, VerificationStatus};

use crate::decode::{self, Kind, Route};
use crate::errors::{ProxyError, upstream_error};
use crate::queue::Queue;
use crate::sources::StateFrom;
use crate::upstream::Upstream;

/// What every request needs.
#[derive(Debug)]
pub struct Ctx {
    pub upstream: Arc<Upstream>,
    pub queue: Arc<Queue>,
    pub max_response_bytes: usize,
    /// Set in a verified mode.
    pub tracker: Option<crate::verified::HeadSource>,
    /// Answer balance, nonce, code, storage and block-number reads from proofs.
    pub verified_reads: bool,
    /// The simulator, made on first use (it needs the upstream's chain id).
    pub sim: tokio::sync::OnceCell<Simulator<StateFrom>>,
    /// The chain, when the verification mode fixes it (the light client's network): then the
    /// upstream's word is not taken for it.
    pub chain_id: Option<u64>,
    pub policy: Arc<airlock_policy::Policy>,
    pub store: airlock_store::Store,
    pub spending: Option<airlock_policy::Spending>,
    pub explainer: Option<airlock_explain::Backend>,
    /// The recent median tip, asked once per head.
    pub fee_history: crate::gas::FeeHistory,
}

/// The middleware; `inner` is jsonrpsee's own method table (subscriptions only).
#[derive(Debug, Clone)]
pub struct Router<S> {
    pub inner: S,
    pub ctx: Arc<Ctx>,
}

impl<S> RpcServiceT for Router<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let this = self.clone();
        let span = tracing::debug_span!("rpc", method = %req.method);
        async move {
            if matches!(req.method_name(), "eth_subscribe" | "eth_unsubscribe") {
                return this.inner.call(req).await;
            }
            let Request { id, method, params, extensions, .. } = req;
            let result = this.ctx.handle(&method, params.as_deref()).await;
            let max = this.ctx.max_response_bytes;
            match result {
                Ok(raw) => MethodResponse::response(id, ResponsePayload::success(raw), max),
                Err(e) => MethodResponse::error(id, ErrorObjectOwned::from(e)),
            }
            .with_extensions(extensions)
        }
        .instrument(span)
    }

    /// Entries of a batch run concurrently: a held send does not delay the reads beside it, and
    /// the batch answers when its last entry does.
    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let this = self.clone();
        async move {
            let mut notifications = 0usize;
            let calls = batch.into_iter().filter_map(|entry| match entry {
                Ok(BatchEntry::Call(req)) => Some(futures_util::future::Either::Left(this.call(req))),
                Ok(BatchEntry::Notification(n)) => {
                    notifications += 1;
                    drop_notification(&n);
                    None
                }
                Err(err) => {
                    let (err, id) = err.into_parts();
                    Some(futures_util::future::Either::Right(std::future::ready(MethodResponse::error(id, err))))
                }
            });
            let responses = join_all(calls.collect::<Vec<_>>()).await;
            if responses.is_empty() && notifications > 0 {
                return MethodResponse::notification();
            }
            let mut builder = BatchResponseBuilder::new_with_limit(this.ctx.max_response_bytes);
            for rp in responses {
                if let Err(too_big) = builder.append(rp) {
                    return too_big;
                }
            }
            MethodResponse::from_batch(builder.finish())
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        drop_notification(&n);
        std::future::ready(MethodResponse::notification())
    }
}

/// A JSON-RPC notification expects no answer, so a send inside one could never be confirmed or
/// refused: it is never forwarded.
fn drop_notification(n: &Notification<'_>) {
    tracing::warn!(method = %n.method, "ignored a JSON-RPC notification (a call without id): nothing forwarded");
}

impl Ctx {
    /// Routes one call.
    pub async fn handle(&self, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, ProxyError> {
        match decode::route(method) {
            Route::Forward => {
                if self.verified_reads
                    && self.tracker.is_some()
                    && matches!(method, "eth_call" | "eth_estimateGas")
                    && let Some(answer) = self.verified_call(method, params).await?
                {
                    return Ok(answer);
                }
                if let Some(tracker) =
                    self.tracker.as_ref().filter(|_| self.verified_reads && crate::verified::is_verified_read(method))
                    && let Some(answer) = crate::verified::answer(&self.upstream, tracker, method, params).await?
                {
                    return Ok(answer);
                }
                Ok(self.upstream.request(method, params).await?)
            }
            Route::Refuse => Err(ProxyError::Refused(method.to_owned())),
            Route::Hold(kind) => self.hold(kind, method, params).await,
        }
    }

    async fn hold(&self, kind: Kind, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, ProxyError> {
        let mut held = decode::parse(kind, method, params)?;
        if let Some(claimed) = held.claimed_chain_id {
            let upstream = self.upstream.chain_id().await?;
            if claimed != upstream {
                return Err(ProxyError::WrongChain { claimed, upstream });
            }
        }
        let (mut verification, head) = checked_head(self.tracker.as_ref(), &self.upstream).await;
        if let Some(sign) = &held.sign {
            (held.signature_report, held.simulation_error) = match (self.simulator().await, &head) {
                (Ok(sim), Some(head)) => match sim.signature(head, sign).await {
                    Ok(r) => (Some(r), None),
                    Err(e) => {
                        if let SimError::Source(SourceError::Failed(m)) = &e {
                            verification.status = VerificationStatus::Failed;
                            verification.error = Some(m.clone());
                        }
                        // Without state the meaning is still known: the spenders' kinds are not.
                        (Some(airlock_sim::typed::describe(sign)), Some(e.to_string()))
                    }
                },
                (Err(e), _) => (Some(airlock_sim::typed::describe(sign)), Some(e.to_string())),
                (_, None) => (Some(airlock_sim::typed::describe(sign)), Some("no head to read state on".into())),
            };
        }
        if let Some(tx) = held.tx.as_ref().filter(|_| held.sign.is_none()) {
            (held.report, held.simulation_error) = match self.simulator().await {
                Ok(sim) => simulate_item(sim, head.as_ref(), tx, &held.calls, &mut verification).await,
                Err(e) => (None, Some(e.to_string())),
            };
        }
        if let (Some(tx), Some(head)) =
            (held.tx.as_ref().filter(|_| held.sign.is_none() && held.calls.is_empty()), &head)
        {
            let recent = self.fee_history.recent_tip(&self.upstream, &head.facts).await;
            held.gas = Some(crate::gas::advise(&head.facts, recent, tx, held.report.as_ref(), &held.method));
            if let (Some(report), Ok(sim)) = (held.report.as_ref(), self.simulator().await) {
                // Boxed: the quote's calls would otherwise grow every held request's future.
                let chain = sim.chain_id();
                let venues = crate::swaps::Venues {
                    v2_router: self.policy.lists.venue(chain, "uniswap-v2-router"),
                    v3_quoter: self.policy.lists.venue(chain, "uniswap-v3-quoter"),
                };
                held.swap = Box::pin(crate::swaps::quote(sim, head, tx, report, &venues)).await;
            }
        }
        held.verification = Some(verification);
        let view = Item {
            tx: held.tx.clone(),
            calls: held.calls.clone(),
            sign: held.sign.clone(),
            verification: held.verification.clone(),
            report: held.report.clone(),
            signature_report: held.signature_report.clone(),
            simulation_error: held.simulation_error.clone(),
            gas: held.gas.clone(),
            swap: held.swap.clone(),
            ..Item::pending(String::new(), held.method.clone(), held.params.clone(), Timestamp(0), Timestamp(0))
        };
        held.findings = self.findings_for(&view).await;
        // The template's explanation at once; a model's, if any, when it is written.
        let view = Item { findings: held.findings.clone(), ..view };
        held.explanation = Some(airlock_explain::template(&view));
        let mut waiter = self.queue.hold(held)?;
        self.explain_later(waiter.id(), view);
        self.maybe_auto_approve(waiter.id());
        let outcome = waiter.outcome().await;
        outcome.map_err(ProxyError::Ended)
    }

    /// The rules over an item (held now, or simulated again).
    pub async fn findings_for(&self, item: &Item) -> Vec<airlock_types::Finding> {
        let chain_id = match self.simulator().await {
            Ok(sim) => sim.chain_id(),
            Err(_) => item.tx.as_ref().and_then(|t| t.chain_id).unwrap_or(0),
        };
        crate::judge::findings(&self.policy, &self.store, item, chain_id)
    }

    /// The same, for the fields a re-simulation produced.
    pub async fn findings(
        &self,
        item: &Item,
        verification: &Verification,
        report: &Option<airlock_types::SimulationReport>,
        simulation_error: &Option<String>,
    ) -> Vec<airlock_types::Finding> {
        let view = Item {
            verification: Some(verification.clone()),
            report: report.clone(),
            simulation_error: simulation_error.clone(),
            ..item.clone()
        };
        self.findings_for(&view).await
    }

    /// Starts the model on a held item; the item never waits for it. A model that fails or
    /// times out leaves the template's explanation, marked with why.
    fn explain_later(&self, id: &str, item: Item) {
        let Some(backend) = self.explainer.clone() else { return };
        let queue = self.queue.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let mut last = std::time::Instant::now();
            let result = backend
                .explain(&item, |partial| {
                    // The page shows the text as it is written, a few times a second.
                    if last.elapsed() >= std::time::Duration::from_millis(150) {
                        last = std::time::Instant::now();
                        queue.set_explanation(&id, partial);
                    }
                })
                .await;
            let x = match result {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(id, error = %e, "the model did not explain; the template's text stays");
                    airlock_types::Explanation {
                        state: airlock_types::ExplanationState::Failed,
                        error: Some(format!("{} ({e})", backend.source())),
                        ..airlock_explain::template(&item)
                    }
                }
            };
            queue.set_explanation(&id, x);
        });
    }

    /// The opt-in spending policy: approves an item with no finding above info within the
    /// day's budget, count and calldata cap, and says so on the item.
    fn maybe_auto_approve(&self, id: &str) {
        let Some(spending) = &self.spending else { return };
        let Ok(Some(item)) = self.queue.item(id) else { return };
        if item.joined > 0 || item.status != airlock_types::Status::Pending {
            return;
        }
        let amount = match crate::judge::auto_approvable(spending, &self.store, &item) {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => {
                tracing::warn!(id, error = %e, "spending policy: not auto-approved");
                return;
            }
        };
        if let Err(e) = self.store.add_spent(&crate::judge::today(), amount) {
            tracing::error!(id, error = %e, "spending policy: the tally could not be written; not auto-approved");
            return;
        }
        self.queue.mark_auto_approved(id);
        tracing::info!(id, wei = %amount, "spending policy: auto-approved (no finding above info, within budget)");
        let queue = self.queue.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            if let Err(e) = queue.approve(&id).await {
                tracing::warn!(id, error = %e, "spending policy: the auto-approval did not go through");
            }
        });
    }

    pub async fn simulator(&self) -> Result<&Simulator<StateFrom>, SimError> {
        self.sim
            .get_or_try_init(|| async {
                let chain_id = match self.chain_id {
                    Some(id) => id,
                    None => self
                        .upstream
                        .chain_id()
                        .await
                        .map_err(|e| SimError::Source(SourceError::Unavailable(e.to_string())))?,
                };
                let source = match self.tracker {
                    Some(_) => StateFrom::Proven(self.upstream.clone()),
                    None => StateFrom::Trusted(self.upstream.clone()),
                };
                Ok(Simulator::new(source, chain_id))
            })
            .await
    }

    /// eth_call and eth_estimateGas on the verified head, run here on proven state. `None` for
    /// requests about another block (or with state overrides): those pass through, unverified.
    async fn verified_call(
        &self,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Option<Box<RawValue>>, ProxyError> {
        let list: Vec<serde_json::Value> = match params {
            Some(p) => serde_json::from_str(p.get()).map_err(|e| decode::InputError(format!("{method}: {e}")))?,
            None => vec![],
        };
        let obj = list.first().ok_or_else(|| decode::InputError(format!("{method} needs a call object")))?;
        let tx = decode::call_object(obj, method)?;
        if list.len() > 2 {
            return Ok(None);
        }
        let Some(tracker) = &self.tracker else { return Ok(None) };
        // EIP-1898 objects ({"blockHash": …}) and anything else name another block: passed through.
        let wanted = match list.get(1) {
            None | Some(serde_json::Value::Null) => "latest",
            Some(serde_json::Value::String(s)) => s.as_str(),
            Some(_) => return Ok(None),
        };
        let head = tracker.refresh().await?;
        match wanted {
            "latest" | "pending" => {}
            n if n.strip_prefix("0x").and_then(|h| u64::from_str_radix(h, 16).ok()) == Some(head.number) => {}
            _ => return Ok(None),
        }
        let head = Head { facts: head.facts, state_root: head.state_root };
        let sim = self.simulator().await.map_err(sim_error)?;
        let to_raw = |v: serde_json::Value| {
            serde_json::value::to_raw_value(&v).map_err(|e| ProxyError::StateUnavailable(e.to_string()))
        };
        if method == "eth_call" {
            let r = sim.call(&head, &tx).await.map_err(sim_error)?;
            if r.outcome.status == OutcomeStatus::Success {
                return Ok(Some(to_raw(serde_json::json!(r.outcome.output))?));
            }
            return Err(call_failed(&r.outcome));
        }
        match sim.estimate_gas(&head, &tx).await.map_err(sim_error)? {
            Ok(gas) => Ok(Some(to_raw(serde_json::json!(format!("0x{gas:x}")))?)),
            Err(r) => Err(call_failed(&r.outcome)),
        }
    }
}

/// The head a new item is simulated on, and how far it is verified. A failure is recorded and
/// shown, never hidden: the item is still held for the person's explicit decision.
pub async fn checked_head(
    tracker: Option<&crate::verified::HeadSource>,
    upstream: &Upstream,
) -> (Verification, Option<Head>) {
    let Some(tracker) = tracker else {
        let head = crate::sources::upstream_head(upstream).await;
        let v = Verification {
            mode: "unverified".into(),
            status: VerificationStatus::Unverified,
            block_number: head.as_ref().ok().map(|h| h.facts.number),
            block_hash: head.as_ref().ok().map(|h| h.facts.hash),
            error: None,
            note: head.as_ref().err().map(|e| format!("the upstream's head could not be read: {e}")),
        };
        return (v, head.ok());
    };
    verification_at(tracker.mode(), tracker.refresh().await)
}

/// How far `head` is verified, in the item's terms.
pub fn verification_at(
    mode: &str,
    head: Result<crate::verified::VerifiedHead, crate::verified::VerifyError>,
) -> (Verification, Option<Head>) {
    let (status, head, error, note) = match head {
        Ok(head) if head.trusted => (VerificationStatus::Verified, Some(head), None, None),
        Ok(head) => (
            VerificationStatus::Unverified,
            Some(head),
            None,
            Some("this block links back to the pinned block, but without a beacon API its state cannot be verified"),
        ),
        Err(e) => (VerificationStatus::Failed, None, Some(e.to_string()), None),
    };
    let v = Verification {
        mode: mode.to_owned(),
        status,
        block_number: head.as_ref().map(|h| h.number),
        block_hash: head.as_ref().map(|h| h.hash),
        error,
        note: note.map(str::to_owned),
    };
    (v, head.map(|h| Head { facts: h.facts, state_root: h.state_root }))
}

/// Simulates a held transaction: its report, or why there is none. State that does not verify
/// marks the verification failed.
pub async fn simulate_item(
    sim: &Simulator<StateFrom>,
    head: Option<&Head>,
    tx: &airlock_types::TxView,
    calls: &[airlock_types::CallView],
    verification: &mut Verification,
) -> (Option<airlock_types::SimulationReport>, Option<String>) {
    let Some(head) = head else {
        let why = match &verification.error {
            Some(e) => format!("not simulated: the state could not be verified: {e}"),
            None => "not simulated: no head to simulate on".into(),
        };
        return (None, Some(why));
    };
    let simulated = if calls.is_empty() {
        sim.simulate(head, tx).await
    } else {
        // wallet_sendCalls: each call a transaction from the sender, in order.
        let txs: Vec<airlock_types::TxView> = calls
            .iter()
            .map(|c| airlock_types::TxView {
                from: tx.from,
                to: c.to,
                value: c.value,
                data: c.data.clone(),
                chain_id: tx.chain_id,
                ..airlock_types::TxView::default()
            })
            .collect();
        sim.simulate_batch(head, &txs).await
    };
    match simulated {
        Ok(report) => (Some(report), None),
        Err(e) => {
            if let SimError::Source(SourceError::Failed(m)) = &e {
                verification.status = VerificationStatus::Failed;
                verification.error = Some(m.clone());
            }
            (None, Some(e.to_string()))
        }
    }
}

fn sim_error(e: SimError) -> ProxyError {
    match e {
        SimError::Source(SourceError::Failed(m)) => ProxyError::Verification(format!("verification failed: {m}")),
        SimError::Source(SourceError::Unavailable(m)) => ProxyError::StateUnavailable(m),
        SimError::Invalid(m) => ProxyError::Call(RpcError { code: -32000, message: m, data: None }),
        SimError::Unfinished => ProxyError::StateUnavailable(e.to_string()),
    }
}

/// A call that did not succeed, as geth reports it: code 3 with the revert data for a revert.
fn call_failed(outcome: &airlock_types::Outcome) -> ProxyError {
    let reason = outcome.reason.clone().unwrap_or_default();
    match outcome.status {
        OutcomeStatus::Revert => {
            let message = match reason.strip_prefix("Error(string): \"").and_then(|r| r.strip_suffix('"')) {
                Some(text) => format!("execution reverted: {text}"),
                None => "execution reverted".to_owned(),
            };
            let data = serde_json::value::to_raw_value(&outcome.output).ok();
            ProxyError::Call(RpcError { code: 3, message, data })
        }
        _ => ProxyError::Call(RpcError { code: -32000, message: reason, data: None }),
    }
}

/// The method table behind the router: `eth_subscribe` bridged to the upstream's subscription.
pub fn subscriptions(ctx: Arc<Ctx>) -> RpcModule<Ctx> {
    let mut module = RpcModule::from_arc(ctx);
    module
        .register_subscription_raw("eth_subscribe", "eth_subscription", "eth_unsubscribe", |params, pending, ctx, _| {
            let params = params.as_str().and_then(|s| RawValue::from_string(s.to_owned()).ok());
            tokio::spawn(async move {
                let mut upstream = match ctx.upstream.subscribe(params.as_deref()).await {
                    Ok(sub) => sub,
                    Err(e) => return pending.reject(upstream_error(&e)).await,
                };
                let Ok(sink) = pending.accept().await else { return };
                loop {
                    tokio::select! {
                        _ = sink.closed() => break,
                        next = upstream.next() => match next {
                            Some(Ok(msg)) => {
                                if sink.send(SubscriptionMessage::from(msg)).await.is_err() {
                                    break;
                                }
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "upstream subscription sent garbage; closing it");
                                break;
                            }
                            None => {
                                tracing::info!("upstream closed the subscription");
                                break;
                            }
                        },
                    }
                }
                // Dropping `upstream` unsubscribes there.
            });
        })
        .expect("eth_subscribe is registered once");
    module
}
