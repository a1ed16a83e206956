//! The desk: where a held request comes in and its decision goes out. It assesses a request
//! through the [`Pipeline`], holds it in the [`Queue`], has the model explain it, applies the
//! opt-in spending policy, and answers the person's decisions (`airlock_types::Decisions`) for
//! the page, the terminal and the control API.

use std::sync::Arc;

use airlock_policy::Spending;
use airlock_store::Store;
use airlock_types::{ApprovalsView, BalancesView, DecisionError, Decisions, Item, Status, TxView};
use alloy_primitives::Address;
use serde_json::value::RawValue;

use crate::decode::{self, Kind};
use crate::errors::{Error, InputError};
use crate::pipeline::{How, Pipeline};
use crate::queue::Queue;

/// When a client that sent a signed transaction or a batch gets its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reply {
    /// At once, as a node answers: the transaction's hash (a batch's id). The broadcast waits
    /// for the person; the client learns the outcome where it looks (receipt, batch status).
    #[default]
    AtOnce,
    /// After the decision: the node's answer once forwarded, or the rejection (4001).
    AfterDecision,
}

/// The bounds on what one held request may carry. A request over one is refused with a
/// JSON-RPC error that names the setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeldLimits {
    /// `max_held_bytes`: a held request's params as sent (a raw transaction with three blobs is
    /// about 0.8 MB in hex; raise it for more).
    pub max_held_bytes: usize,
    /// `max_sign_bytes`: a message to sign, or typed data as JSON (Seaport orders and Permit2
    /// batches are tens of kilobytes).
    pub max_sign_bytes: usize,
    /// `max_typed_data_depth`: nesting of arrays and objects in typed data.
    pub max_typed_data_depth: usize,
}

impl Default for HeldLimits {
    fn default() -> Self {
        HeldLimits { max_held_bytes: 1 << 20, max_sign_bytes: 256 << 10, max_typed_data_depth: 32 }
    }
}

impl HeldLimits {
    /// Refuses a request over a limit, before it is decoded: its size, and for typed data its
    /// nesting (the address and the params array are the two outer levels).
    pub fn check_params(&self, kind: Kind, params: Option<&RawValue>) -> Result<(), Error> {
        let Some(p) = params else { return Ok(()) };
        if p.get().len() > self.max_held_bytes {
            return Err(Error::Limit { limit: "max_held_bytes", max: self.max_held_bytes });
        }
        let typed = matches!(kind, Kind::TypedData | Kind::TypedDataV1);
        if typed && airlock_wire::envelope::check_depth(p.get().as_bytes(), self.max_typed_data_depth + 1).is_err() {
            return Err(Error::Limit { limit: "max_typed_data_depth", max: self.max_typed_data_depth });
        }
        Ok(())
    }

    /// Refuses a signature request whose message or typed data is over a limit.
    pub fn check_sign(&self, sign: Option<&airlock_types::SignView>) -> Result<(), Error> {
        let Some(sign) = sign else { return Ok(()) };
        let bytes =
            sign.data.as_ref().map_or(0, |d| d.len()) + sign.typed_data.as_ref().map_or(0, |t| t.to_string().len());
        if bytes > self.max_sign_bytes {
            return Err(Error::Limit { limit: "max_sign_bytes", max: self.max_sign_bytes });
        }
        if sign.typed_data.as_ref().is_some_and(|t| depth(t) > self.max_typed_data_depth) {
            return Err(Error::Limit { limit: "max_typed_data_depth", max: self.max_typed_data_depth });
        }
        Ok(())
    }
}

/// Nesting of arrays and objects (a scalar is 0).
fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// How the desk behaves, beside the pipeline, the queue and the log.
#[derive(Debug, Clone, Default)]
pub struct DeskOptions {
    /// A local model that explains held items (none: the template only).
    pub explainer: Option<airlock_explain::Backend>,
    /// The opt-in spending policy.
    pub spending: Option<Spending>,
    /// The spending policy waits for the model's explanation, and a concern vetoes it.
    pub model_veto: bool,
    /// When senders of signed transactions and batches get their answer.
    pub reply: Reply,
    /// What one held request may carry.
    pub limits: HeldLimits,
}

/// See the module docs.
#[derive(Debug)]
pub struct Desk {
    /// Assesses every request that comes in, and every approved one again.
    pipeline: Arc<Pipeline>,
    /// The open items and the audit log behind them.
    queue: Arc<Queue>,
    /// The audit log, for the approvals watch.
    store: Store,
    /// A local model that explains held items (none: the template only).
    explainer: Option<airlock_explain::Backend>,
    /// The opt-in spending policy: approves small, clean transactions without the person.
    spending: Option<Spending>,
    /// The spending policy waits for the model's explanation, and a concern vetoes it.
    model_veto: bool,
    /// When senders of signed transactions and batches get their answer.
    reply: Reply,
    /// What one held request may carry.
    limits: HeldLimits,
}

impl Desk {
    pub fn new(pipeline: Arc<Pipeline>, queue: Arc<Queue>, store: Store, o: DeskOptions) -> Arc<Desk> {
        let DeskOptions { explainer, spending, model_veto, reply, limits } = o;
        Arc::new(Desk { pipeline, queue, store, explainer, spending, model_veto, reply, limits })
    }

    pub fn queue(&self) -> &Arc<Queue> {
        &self.queue
    }

    pub fn pipeline(&self) -> &Arc<Pipeline> {
        &self.pipeline
    }

    /// A request that would sign or send: decoded, assessed, held until the person decides,
    /// and answered with the upstream's result once forwarded (or the error it ended with).
    pub async fn submit(&self, kind: Kind, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, Error> {
        self.limits.check_params(kind, params)?;
        let req = decode::parse(kind, method, params)?;
        self.limits.check_sign(req.sign.as_ref())?;
        if req.atomic_required {
            return Err(Error::AtomicityNotSupported);
        }
        if let Some(refused) = self.queue.refuses(&req) {
            return Err(refused);
        }
        let held_next_nonce = req.tx.as_ref().filter(|t| t.signed).and_then(|t| self.held_next_nonce(t.from?));
        let ahead = self.queue.ahead_of(req.tx.as_ref().filter(|_| req.sign.is_none()), None);
        let a = self.pipeline.assess(&req, How::Hold { held_next_nonce, ahead: &ahead }).await?;
        // A signed transaction has its hash, a batch its id, before anyone decides: a client
        // asked at once gets it now. `…Sync` methods promise a receipt, so they wait.
        let at_once = self.reply == Reply::AtOnce
            && match kind {
                Kind::RawTx => !method.trim().to_ascii_lowercase().ends_with("sync"),
                Kind::SendCalls => true,
                _ => false,
            };
        let hash = req.tx.as_ref().and_then(|t| t.hash);
        let mut waiter = self.queue.hold(req, a, at_once)?;
        self.after_hold(waiter.id(), &ahead);
        if at_once {
            let answer = match (kind, hash) {
                (Kind::RawTx, Some(hash)) => serde_json::json!(hash),
                _ => serde_json::json!({ "id": waiter.id() }),
            };
            return serde_json::value::to_raw_value(&answer).map_err(|e| Error::Input(InputError(e.to_string())));
        }
        waiter.outcome().await.map_err(Error::Ended)
    }

    /// Starts the model on a held item; the item never waits for it. A model that fails or
    /// times out leaves the template's explanation, marked with why.
    /// What follows holding an item: the model explains it (the live one: the same the page
    /// shows), and the spending policy looks at it (after the model, with its veto on).
    /// `ahead`: what it was simulated after.
    fn after_hold(&self, id: &str, ahead: &[TxView]) {
        self.refresh_behind(id, ahead);
        let veto = self.model_veto && self.explainer.is_some() && self.spending.is_some();
        if let Ok(Some(item)) = self.queue.item(id) {
            self.explain_later(id, item, veto);
        }
        if !veto {
            auto_approve(self.spending.as_ref(), &self.store, &self.queue, id);
        }
    }

    /// Sends arrive out of order in a burst. The pending sends that run after `id` but were
    /// held before it are simulated again on the state it leaves, one after another; so is `id`
    /// itself when a send ahead of it was held while it was being simulated after `ahead`.
    fn refresh_behind(&self, id: &str, ahead: &[TxView]) {
        let mut behind = self.queue.behind(id);
        let tx = self.queue.item(id).ok().flatten().and_then(|i| i.tx);
        if self.queue.ahead_of(tx.as_ref(), Some(id)) != ahead {
            behind.insert(0, id.to_owned());
        }
        self.refresh(behind, Failure::KeepReport);
    }

    /// Simulates the pending items `ids` again, one after another, on what is queued ahead of
    /// each now; an item asked for again meanwhile is left to the later ask. Each item whose new
    /// report is kept is explained again.
    fn refresh(&self, ids: Vec<String>, failure: Failure) {
        let tickets = self.queue.want_refresh(&ids);
        if tickets.is_empty() {
            return;
        }
        let (queue, pipeline, explainer) = (self.queue.clone(), self.pipeline.clone(), self.explainer.clone());
        tokio::spawn(async move {
            for (id, ticket) in tickets {
                let Some((item, ahead)) = queue.refresh(&id, ticket) else { continue };
                let Some(now) = crate::Reassess::reassess(&*pipeline, &item, &ahead).await else { continue };
                if queue.refreshed(&id, ticket, now, failure == Failure::Show)
                    && let (Some(backend), Ok(Some(item))) = (explainer.as_ref(), queue.item(&id))
                {
                    model_explains(backend, &queue, &id, &item).await;
                }
            }
        });
    }

    /// The request an intent names, built by Airlock (a bad intent is an error, nothing held).
    async fn intended(&self, intent: serde_json::Value) -> Result<decode::Request, Error> {
        let intent: airlock_agent::Intent =
            serde_json::from_value(intent).map_err(|e| Error::Intent(format!("not an intent: {e}")))?;
        let managed = self.queue.signer().accounts();
        let built = crate::propose::build(&self.pipeline, &self.store, &managed, &intent).await?;
        let params = serde_json::value::to_raw_value(&built.params).map_err(|e| Error::Intent(e.to_string()))?;
        let mut req = decode::parse(Kind::TxObject, "eth_sendTransaction", Some(&params))?;
        req.intent = Some((built.asked, built.expect));
        Ok(req)
    }

    /// What an intent's request would do on the newest head, holding nothing.
    pub async fn simulate_intent(&self, intent: serde_json::Value) -> Result<serde_json::Value, Error> {
        let req = self.intended(intent).await?;
        let a = self.pipeline.assess(&req, How::Simulate(None)).await?;
        Ok(serde_json::json!({
            "asked": a.asked,
            "verification": a.verification,
            "report": a.report,
            "simulation_error": a.simulation_error,
        }))
    }

    /// Plain text, read into an intent by the local model under a grammar (never into
    /// calldata), then checked and built like any intent: held (`ask.hold`) or simulated only.
    /// Answered with the model's reading, the intent, and the item or the simulation.
    pub async fn ask(&self, ask: &airlock_types::Ask) -> Result<serde_json::Value, Error> {
        let (text, hold) = (ask.text.as_str(), ask.hold);
        use airlock_agent::ask;
        let backend = self.explainer.as_ref().ok_or_else(|| {
            Error::Intent(
                "no local model is configured to read plain text (start Airlock with --model or --model-endpoint): use `propose` with a structured intent".into(),
            )
        })?;
        let read = backend
            .complete_json(ask::SYSTEM, &ask::prompt(text), &ask::schema(), ask::MAX_TOKENS)
            .await
            .map_err(|e| Error::Intent(format!("the model could not read it: {e}")))?;
        let mut intent = ask::intent_of(&read, text).map_err(|e| Error::Intent(e.to_string()))?;
        if let Some(from) = ask.from.clone() {
            intent.set_from(from);
        }
        let value = serde_json::to_value(&intent).map_err(|e| Error::Intent(e.to_string()))?;
        if !hold {
            let simulated = self.simulate_intent(value.clone()).await?;
            return Ok(serde_json::json!({ "read": read, "intent": value, "simulated": simulated }));
        }
        let item = self.propose_words(value.clone(), Some(text.trim().to_owned())).await?;
        Ok(serde_json::json!({ "read": read, "intent": value, "item": item }))
    }

    /// An agent's intent: built into a request by Airlock, held like any send, and answered at
    /// once with the held item (the agent follows it by id). A bad intent holds nothing.
    pub async fn propose(&self, intent: serde_json::Value) -> Result<Item, Error> {
        self.propose_words(intent, None).await
    }

    /// [`Desk::propose`], with the words the intent was read from (shown beside it).
    async fn propose_words(&self, intent: serde_json::Value, words: Option<String>) -> Result<Item, Error> {
        let mut req = self.intended(intent).await?;
        let ahead = self.queue.ahead_of(req.tx.as_ref(), None);
        let mut a = self.pipeline.assess(&req, How::Hold { held_next_nonce: None, ahead: &ahead }).await?;
        if let Some(asked) = a.asked.as_mut() {
            asked.words = words;
        }
        // Airlock built the whole transaction: its gas limit too, from its own simulation with
        // a margin, rather than the node's estimate at forward time (which can fall short when
        // the block it lands in differs from the one it estimated on).
        if let Some(r) = a.report.as_ref().filter(|r| r.outcome.status == airlock_types::OutcomeStatus::Success) {
            req = with_gas(req, r.gas_used.saturating_mul(125) / 100)?;
        }
        // Answered already: the agent has the id, and follows the item by it.
        let waiter = self.queue.hold(req, a, true)?;
        let id = waiter.id().to_owned();
        self.after_hold(&id, &ahead);
        self.queue.item(&id).ok().flatten().ok_or_else(|| Error::Intent("the item was not kept".into()))
    }

    fn explain_later(&self, id: &str, item: Item, then_auto_approve: bool) {
        let Some(backend) = self.explainer.clone() else { return };
        let queue = self.queue.clone();
        let (spending, store) = (self.spending.clone(), self.store.clone());
        let id = id.to_owned();
        tokio::spawn(async move {
            let answered = model_explains(&backend, &queue, &id, &item).await;
            // The model's concerns have raised the verdict by now; one that did not answer
            // leaves the item for the person (its factor did not run).
            match (then_auto_approve, answered) {
                (true, true) => auto_approve(spending.as_ref(), &store, &queue, &id),
                (true, false) => tracing::info!(id, "model veto: the model did not answer; left for the person"),
                _ => {}
            }
        });
    }

    /// Closes the queue: open items are abandoned, their clients told so, nothing forwarded.
    pub fn shutdown(&self) {
        self.queue.shutdown();
    }
}

impl Decisions for Desk {
    fn pending(&self) -> Vec<Item> {
        self.queue.pending()
    }

    fn threat_lists(&self) -> Vec<airlock_types::ThreatList> {
        self.pipeline.threat_lists()
    }

    async fn reload_threat_lists(&self) -> Result<Vec<airlock_types::ThreatList>, airlock_types::DecisionError> {
        self.pipeline.reload_threat_lists().await.map_err(airlock_types::DecisionError::Failed)
    }

    fn changed(&self, seen: u64) -> impl Future<Output = u64> + Send {
        self.queue.changed(seen)
    }

    fn item(&self, id: &str) -> Result<Option<Item>, DecisionError> {
        self.queue.item(id)
    }

    fn history(&self, limit: usize, before: Option<&str>) -> Result<Vec<Item>, DecisionError> {
        self.queue.history(limit, before)
    }

    fn approve(&self, id: &str) -> impl Future<Output = Result<Item, DecisionError>> + Send {
        self.queue.approve(id)
    }

    /// The pending sends behind a rejected one cannot be included as they stand (their nonces
    /// are a gap now): they are simulated again without it, and say so before anyone approves.
    async fn reject(&self, id: &str) -> Result<Item, DecisionError> {
        let behind = self.queue.behind(id);
        let rejected = self.queue.reject(id).await?;
        self.refresh(behind, Failure::Show);
        Ok(rejected)
    }

    fn use_suggested_fees(&self, id: &str) -> impl Future<Output = Result<Item, DecisionError>> + Send {
        self.queue.use_suggested_fees(id)
    }

    async fn propose(&self, intent: serde_json::Value) -> Result<Item, DecisionError> {
        Desk::propose(self, intent).await.map_err(intent_error)
    }

    async fn simulate_intent(&self, intent: serde_json::Value) -> Result<serde_json::Value, DecisionError> {
        Desk::simulate_intent(self, intent).await.map_err(intent_error)
    }

    async fn approvals(&self, owner: Option<Address>) -> Result<ApprovalsView, DecisionError> {
        crate::approvals::open(self.pipeline.chain(), &self.store, owner).await.map_err(DecisionError::Store)
    }

    async fn receipt(&self, id: &str) -> Result<Option<serde_json::Value>, DecisionError> {
        let item = self.queue.item(id).map_err(|e| DecisionError::Store(e.to_string()))?;
        let item = item.ok_or_else(|| DecisionError::NotFound(id.to_owned()))?;
        let hash = item.result.as_ref().and_then(|r| serde_json::from_str::<alloy_primitives::B256>(r.get()).ok());
        let Some(hash) = hash.filter(|_| item.status == Status::Forwarded) else { return Ok(None) };
        let params = serde_json::value::to_raw_value(&[hash]).map_err(|e| DecisionError::Failed(e.to_string()))?;
        let upstream = self.pipeline.chain().upstream();
        let raw = upstream
            .request("eth_getTransactionReceipt", Some(&params))
            .await
            .map_err(|e| DecisionError::Failed(format!("the receipt could not be read: {e}")))?;
        serde_json::from_str(raw.get()).map(Some).map_err(|e| DecisionError::Failed(e.to_string()))
    }

    async fn ask(&self, ask: airlock_types::Ask) -> Result<serde_json::Value, DecisionError> {
        Desk::ask(self, &ask).await.map_err(intent_error)
    }

    async fn balances(&self, owner: Option<Address>) -> Result<BalancesView, DecisionError> {
        let owners = match owner {
            Some(o) => vec![o],
            None => self.queue.signer().accounts(),
        };
        if owners.is_empty() {
            return Err(DecisionError::Invalid("name the owner: Airlock manages no account here".into()));
        }
        crate::balances::read(self.pipeline.chain(), self.pipeline.lists(), &self.store, &owners)
            .await
            .map_err(DecisionError::Failed)
    }
}

/// The opt-in spending policy: approves an item with no finding above info within the
/// day's budget, count and calldata cap, and says so on the item.
fn auto_approve(spending: Option<&Spending>, store: &Store, queue: &Arc<Queue>, id: &str) {
    let Some(spending) = spending else { return };
    let Ok(Some(item)) = queue.item(id) else { return };
    if item.joined > 0 || item.status != Status::Pending {
        return;
    }
    let amount = match crate::judge::auto_approvable(spending, store, &item) {
        Ok(Some(a)) => a,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(id, error = %e, "spending policy: not auto-approved");
            return;
        }
    };
    if let Err(e) = store.add_spent(&crate::judge::today(), amount) {
        tracing::error!(id, error = %e, "spending policy: the tally could not be written; not auto-approved");
        return;
    }
    queue.mark_auto_approved(id);
    tracing::info!(id, wei = %amount, "spending policy: auto-approved (no finding above info, within budget)");
    let queue = queue.clone();
    let id = id.to_owned();
    tokio::spawn(async move {
        if let Err(e) = queue.approve(&id).await {
            tracing::warn!(id, error = %e, "spending policy: the auto-approval did not go through");
        }
    });
}

/// A bad intent is the agent's to fix; anything else is Airlock's.
fn intent_error(e: Error) -> DecisionError {
    match e {
        Error::Intent(why) => DecisionError::Invalid(why),
        Error::Input(why) => DecisionError::Invalid(why.to_string()),
        other => DecisionError::Failed(other.to_string()),
    }
}

/// `req` with `gas` set in its transaction and its params (forwarded as they are).
fn with_gas(req: decode::Request, gas: u64) -> Result<decode::Request, Error> {
    let mut params: serde_json::Value =
        serde_json::from_str(req.params.get()).map_err(|e| Error::Intent(format!("params: {e}")))?;
    params[0]["gas"] = serde_json::json!(format!("{gas:#x}"));
    let raw = serde_json::value::to_raw_value(&params).map_err(|e| Error::Intent(e.to_string()))?;
    let mut out = decode::parse(Kind::TxObject, &req.method, Some(&raw))?;
    out.intent = req.intent;
    Ok(out)
}

/// What a refresh does with a send it could not simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// Keep the report there is (a send ahead arrived: the old report stands until a new one).
    KeepReport,
    /// Show that it failed (a send ahead was rejected: the failure is the news).
    Show,
}

/// The model explains `item`, its text written to the live item as it comes (the template's
/// stays, marked with why, when the model fails); whether it answered.
async fn model_explains(backend: &airlock_explain::Backend, queue: &Queue, id: &str, item: &Item) -> bool {
    let mut last = std::time::Instant::now();
    let result = backend
        .explain(item, |partial| {
            // The page shows the text as it is written, a few times a second.
            if last.elapsed() >= std::time::Duration::from_millis(150) {
                last = std::time::Instant::now();
                queue.set_explanation(id, partial);
            }
        })
        .await;
    let x = result.unwrap_or_else(|e| {
        tracing::warn!(id, error = %e, "the model did not explain; the template's text stays");
        airlock_types::Explanation {
            state: airlock_types::ExplanationState::Failed,
            error: Some(format!("{} ({e})", backend.source())),
            ..airlock_explain::template(item)
        }
    });
    let answered = x.state != airlock_types::ExplanationState::Failed;
    queue.set_explanation(id, x);
    answered
}
