//! The pending queue: every held request waits here for the person's decision.
//!
//! An item is written to the audit log when it arrives and at every change, before the change
//! is visible outside; an approval is on disk before the request is forwarded. A client waiting
//! on an item holds a [`Waiter`]; identical retries join the same item and wait on the same
//! outcome. When the last waiter goes away (the client disconnected or gave up) the item stays
//! open and is marked so.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use airlock_chain::Upstream;
use airlock_store::Store;
use airlock_types::{DecisionError, Item, RpcError, Status, Timestamp, TxView};
use alloy_primitives::{B256, FixedBytes};
use serde_json::value::RawValue;
use tokio::sync::watch;

use crate::ahead::{Queued, SentLog, Stage};
use crate::assessment::Assessment;
use crate::decode::Request;
use crate::errors::{HoldError, abandoned_error, expired_error, forward_error, rejected_error};

/// How a held request ended, as its waiting clients see it: the upstream's answer verbatim, or
/// the error they receive (rejection, expiry, the upstream's refusal...).
pub type Outcome = Result<Box<RawValue>, RpcError>;

/// The one question the queue asks before it forwards an approved item: what does it do now,
/// on the newest head? `None` when there is nothing to simulate again (a signature).
/// `ahead`: the same sender's sends queued before it (see [`crate::ahead`]).
pub trait Reassess: Send + Sync + std::fmt::Debug {
    fn reassess<'a>(
        &'a self,
        item: &'a Item,
        ahead: &'a [TxView],
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<Assessment>> + Send + 'a>>;
}

/// Where approved requests go.
#[derive(Debug, Clone)]
pub struct Forward {
    /// The node everything goes to by default (and every unsigned request from an account
    /// Airlock does not manage: the node signs those).
    pub upstream: Arc<Upstream>,
    /// Where approved signed swaps go instead (`--private-relay`), out of the public mempool.
    pub relay: Option<Arc<Upstream>>,
    /// The accounts Airlock manages: their approved items are signed here, never by the node.
    pub signer: Arc<airlock_signer::Signer>,
    /// Whether a managed account may sign a raw hash (`eth_sign`); refused when it is not.
    pub allow_eth_sign: bool,
    /// Where a managed account's nonce is read from proofs (none in tests without a chain).
    pub chain: Option<Arc<airlock_chain::Chain>>,
}

struct Live {
    /// The item as the page shows it and the log holds it.
    item: Item,
    /// Its request's identity: a retry with the same key joins it.
    key: B256,
    /// Sends the outcome to every client waiting on it.
    done: watch::Sender<Option<Outcome>>,
    /// Clients waiting on it now; at zero the item stays open, marked as having none.
    waiters: usize,
    /// Arrival order: the order of its sender's sends that have no nonce.
    seq: u64,
    /// Re-simulations asked for because a send queued ahead of it arrived or was rejected;
    /// only the newest one runs to the end and is kept.
    refreshes: u64,
    /// Its report changed in the background (a refresh) and nobody has listed it since: an
    /// approval now is refused with why, as the person may have read the old report.
    unseen: Option<String>,
    /// The person was told, by an approval sent back, that it could not be simulated again:
    /// approving it once more sends it without a report made now.
    failure_told: bool,
}

#[derive(Default)]
struct State {
    /// Open items (pending, or approved and being forwarded), by id.
    live: HashMap<String, Live>,
    /// Open items by request identity, for joining retries.
    by_key: HashMap<B256, String>,
    /// Set at shutdown: nothing new is held.
    closed: bool,
    /// The next arrival's `Live::seq`.
    next_seq: u64,
    /// Sends that went out and may not be in a block yet: the sends after them are simulated on
    /// the state they leave.
    sent: SentLog,
}

/// More open items than a person can review means something is flooding the queue.
pub const MAX_OPEN_ITEMS: usize = 256;

/// The locked state. Whoever changes it (every change goes through here) moves the generation
/// on when the lock is let go, which wakes the page's event streams.
struct Guard<'a> {
    state: MutexGuard<'a, State>,
    generation: &'a watch::Sender<u64>,
    changed: bool,
}

impl std::ops::Deref for Guard<'_> {
    type Target = State;
    fn deref(&self) -> &State {
        &self.state
    }
}

impl std::ops::DerefMut for Guard<'_> {
    fn deref_mut(&mut self) -> &mut State {
        self.changed = true;
        &mut self.state
    }
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // Before the lock itself is let go: a stream woken by this sees the change when it
        // locks to read.
        if self.changed {
            self.generation.send_modify(|g| *g = g.wrapping_add(1));
        }
    }
}

/// See the module docs.
#[derive(Debug)]
pub struct Queue {
    /// The audit log: every item is written here before a change to it is visible.
    store: Store,
    /// Where approved requests go.
    forward: Forward,
    /// How long an item waits for a decision before it expires unforwarded.
    decision_timeout: Duration,
    /// The open items.
    state: Mutex<State>,
    /// A handle to ourselves for the expiry timers and forwarding tasks, which must not keep
    /// the queue alive.
    this: Weak<Queue>,
    /// Approved items are simulated again through this before they are forwarded.
    reassess: Arc<dyn Reassess>,
    /// Moves on with every change to the open items.
    generation: watch::Sender<u64>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State").field("live", &self.live.len()).field("closed", &self.closed).finish()
    }
}

impl Queue {
    pub fn new(store: Store, forward: Forward, decision_timeout: Duration, reassess: Arc<dyn Reassess>) -> Arc<Self> {
        Arc::new_cyclic(|this| Queue {
            store,
            forward,
            decision_timeout,
            state: Mutex::new(State::default()),
            this: this.clone(),
            reassess,
            generation: watch::Sender::new(0),
        })
    }

    /// Simulates an approved item again (after the sends queued ahead of it); `Err` (the item
    /// back to pending, with the new report and findings) when it no longer does what the
    /// person approved.
    async fn recheck(&self, item: &Item, failure_told: bool) -> Result<(), DecisionError> {
        let ahead = self.ahead_of_approved(item.tx.as_ref(), &item.id);
        let Some(now) = self.reassess.reassess(item, &ahead).await else { return Ok(()) };
        let why = match (&item.report, &now.report) {
            (Some(before), Some(after)) => crate::recheck::material_change(before, after),
            // Approved as not simulated, and still not: the person decided knowing that.
            (None, None) => None,
            // Approved after an approval was sent back because it could not be simulated again:
            // the same.
            (Some(_), None) if failure_told => None,
            (None, Some(_)) => Some("it can be simulated now, and you have not seen its report".into()),
            (Some(_), None) => Some(format!(
                "it could not be simulated again: {}",
                now.simulation_error.as_deref().unwrap_or("no report")
            )),
        };
        let Some(why) = why else { return Ok(()) };
        tracing::warn!(id = %item.id, %why, "approved item changed since it was shown; back to pending, not forwarded");
        let failed = now.report.is_none();
        let mut st = self.lock();
        if let Some(live) = st.live.get_mut(&item.id) {
            live.item.status = Status::Pending;
            live.item.decided_at = None;
            live.failure_told = failed;
            // A refresh begun on the report it had is of no use now.
            live.refreshes += 1;
            crate::recheck::show_again(&mut live.item, now);
            if let Err(e) = self.store.put(&live.item) {
                tracing::error!(id = %item.id, error = %e, "could not log the new report");
            }
            // Its expiry timer fired (or not) while it was approved: arm it again.
            let left = Timestamp::now().until(live.item.expires_at);
            drop(st);
            self.arm_expiry(&item.id, left);
        }
        Err(DecisionError::Changed { id: item.id.clone(), why })
    }

    /// The pending sends that `id` runs before (held after it, as sends do arrive out of order
    /// in a burst): their reports were made without it.
    pub(crate) fn behind(&self, id: &str) -> Vec<String> {
        let st = self.lock();
        let Some(this) = st.live.get(id).and_then(|l| Queued::of(&l.item, Stage::Pending, l.seq)) else {
            return vec![];
        };
        // Read in place: no other item's transactions are copied.
        st.live
            .iter()
            .filter(|(k, l)| k.as_str() != id && l.item.status == Status::Pending && l.item.sign.is_none())
            .filter_map(|(k, l)| Some((k, l.item.tx.as_ref()?, l.seq)))
            .filter(|(_, t, seq)| t.from == Some(this.from) && crate::ahead::runs_before(&this, t.nonce, Some(*seq)))
            .map(|(k, _, _)| k.clone())
            .collect()
    }

    /// Asks for the pending items `ids` to be simulated again; the tickets to run them with
    /// ([`Queue::refresh`]). A later ask supersedes an earlier one not yet run.
    pub(crate) fn want_refresh(&self, ids: &[String]) -> Vec<(String, u64)> {
        let mut st = self.lock();
        ids.iter()
            .filter_map(|id| {
                let live = st.live.get_mut(id).filter(|l| l.item.status == Status::Pending)?;
                live.refreshes += 1;
                Some((id.clone(), live.refreshes))
            })
            .collect()
    }

    /// A pending item to simulate again on what is queued ahead of it now, with `ticket`: the
    /// item and those sends; none when it was decided or a newer refresh was asked for.
    pub(crate) fn refresh(&self, id: &str, ticket: u64) -> Option<(Item, Vec<TxView>)> {
        let item = {
            let st = self.lock();
            let live = st.live.get(id).filter(|l| l.item.status == Status::Pending && l.refreshes == ticket)?;
            live.item.clone()
        };
        let ahead = self.ahead_of(item.tx.as_ref(), Some(id));
        Some((item, ahead))
    }

    /// The new report of [`Queue::refresh`], kept when the item is still pending and no newer
    /// refresh was asked for meanwhile. A send that could not be simulated keeps the report it
    /// has, unless `show_failure`. Whether it was kept (and the item is to be explained again).
    pub(crate) fn refreshed(&self, id: &str, ticket: u64, now: Assessment, show_failure: bool) -> bool {
        let mut st = self.lock();
        let Some(live) = st.live.get_mut(id).filter(|l| l.item.status == Status::Pending && l.refreshes == ticket)
        else {
            return false;
        };
        if now.report.is_none() && live.item.report.is_some() && !show_failure {
            return false;
        }
        let before = (live.item.report.clone(), live.item.simulation_error.clone());
        crate::recheck::show_again(&mut live.item, now);
        let why = match (&before.0, &live.item.report) {
            (Some(b), Some(a)) => crate::recheck::material_change(b, a),
            (None, Some(_)) => Some("it can be simulated now".into()),
            _ => (before.1 != live.item.simulation_error).then(|| "it could not be simulated again".into()),
        };
        if let Some(why) = why {
            live.unseen = Some(format!("its report changed while it waited ({why}): look at it again"));
        }
        live.failure_told = false;
        live.item.explanation = Some(airlock_explain::template(&live.item));
        if let Err(e) = self.store.put(&live.item) {
            tracing::error!(id, error = %e, "could not log the new report");
        }
        true
    }

    /// The sends ahead of the approved item `id` as it goes out. A send without a nonce gets
    /// one when it is forwarded, so it follows only what was approved or sent before it, not
    /// sends still waiting for a decision.
    fn ahead_of_approved(&self, tx: Option<&TxView>, id: &str) -> Vec<TxView> {
        let waiting_too = tx.is_some_and(|t| t.nonce.is_some());
        self.gather(tx, Some(id), waiting_too)
    }

    /// The sends queued ahead of `tx` (the item `id` itself left out; none: a request arriving
    /// now), in the order they run.
    pub(crate) fn ahead_of(&self, tx: Option<&TxView>, id: Option<&str>) -> Vec<TxView> {
        self.gather(tx, id, true)
    }

    /// The sends from `tx`'s sender that run before it: those sent, those approved, and with
    /// `waiting` those pending too.
    fn gather(&self, tx: Option<&TxView>, id: Option<&str>, waiting: bool) -> Vec<TxView> {
        let Some(from) = tx.and_then(|t| t.from) else { return vec![] };
        let st = self.lock();
        let seq = id.and_then(|id| st.live.get(id)).map(|l| l.seq);
        let stage = |s: Status| if s == Status::Approved { Stage::Approved } else { Stage::Pending };
        let mut queued: Vec<Queued> = st
            .live
            .iter()
            .filter(|(k, l)| Some(k.as_str()) != id && (waiting || l.item.status == Status::Approved))
            .filter(|(_, l)| l.item.tx.as_ref().is_some_and(|t| t.from == Some(from)))
            .filter_map(|(_, l)| Queued::of(&l.item, stage(l.item.status), l.seq))
            .collect();
        queued.extend(st.sent.from(from).cloned());
        drop(st);
        crate::ahead::ahead(tx.and_then(|t| t.nonce), seq, queued)
    }

    fn lock(&self) -> Guard<'_> {
        // A panic while holding the lock cannot leave an item half-decided on disk (every change
        // is written whole), so the state is still consistent: keep going.
        Guard {
            state: self.state.lock().unwrap_or_else(|p| p.into_inner()),
            generation: &self.generation,
            changed: false,
        }
    }

    /// Holds a request: a new pending item, or the open item an identical request created.
    /// `answered`: the client gets its answer now (`--reply at-once`), not on this waiter.
    pub fn hold(self: &Arc<Self>, held: Request, a: Assessment, answered: bool) -> Result<Waiter, HoldError> {
        let mut st = self.lock();
        if st.closed {
            return Err(HoldError::ShuttingDown);
        }
        if st.live.len() >= MAX_OPEN_ITEMS && !st.by_key.contains_key(&held.key) {
            return Err(HoldError::TooMany(MAX_OPEN_ITEMS));
        }
        if let Some(id) = st.by_key.get(&held.key).cloned() {
            let live = st.live.get_mut(&id).expect("by_key and live agree");
            live.item.joined += 1;
            live.item.client_connected = true;
            self.store.put(&live.item)?;
            live.waiters += 1;
            tracing::info!(id, method = %held.method, "identical request joined a pending item");
            return Ok(Waiter { queue: self.clone(), id, rx: live.done.subscribe() });
        }
        let id = self.fresh_id(&st)?;
        let now = Timestamp::now();
        let item = Item {
            tx: held.tx,
            calls: held.calls,
            sign: held.sign,
            verification: Some(a.verification),
            report: a.report,
            signature_report: a.signature_report,
            simulation_error: a.simulation_error,
            verdict: airlock_policy::verdict(&a.findings),
            findings: a.findings,
            explanation: a.explanation,
            gas: a.gas,
            swap: a.swap,
            answered,
            next_nonce: a.next_nonce,
            unchecked: a.unchecked,
            intel: a.intel,
            asked: a.asked,
            ..Item::pending(id.clone(), held.method, held.params, now, now.plus(self.decision_timeout))
        };
        self.store.put(&item)?;
        tracing::info!(id, method = %item.method, "holding request for a decision");
        let (done, rx) = watch::channel(None);
        st.by_key.insert(held.key, id.clone());
        let seq = st.next_seq;
        st.next_seq += 1;
        st.live.insert(
            id.clone(),
            Live { item, key: held.key, done, waiters: 1, seq, refreshes: 0, unseen: None, failure_told: false },
        );
        drop(st);

        self.arm_expiry(&id, self.decision_timeout);
        Ok(Waiter { queue: self.clone(), id, rx })
    }

    /// Expires `id` after `after` unless it was decided by then.
    fn arm_expiry(&self, id: &str, after: Duration) {
        let queue = self.this.clone();
        let expiring = id.to_owned();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            if let Some(q) = queue.upgrade() {
                q.expire(&expiring);
            }
        });
    }

    fn fresh_id(&self, st: &State) -> Result<String, HoldError> {
        loop {
            let id = hex::encode(FixedBytes::<4>::random());
            if !st.live.contains_key(&id) && !self.store.contains(&id)? {
                return Ok(id);
            }
        }
    }

    /// Ends an open item: writes it, wakes its waiters, forgets it.
    fn finish(&self, st: &mut State, id: &str, status: Status, outcome: Outcome) -> Result<Item, DecisionError> {
        let live = st.live.get_mut(id).ok_or_else(|| DecisionError::NotFound(id.into()))?;
        live.item.status = status;
        live.item.decided_at = Some(Timestamp::now());
        match &outcome {
            Ok(raw) => live.item.result = Some(raw.clone()),
            Err(e) => live.item.error = Some(e.clone()),
        }
        let write = self.store.put(&live.item);
        let live = st.live.remove(id).expect("present above");
        st.by_key.remove(&live.key);
        if status == Status::Forwarded
            && let Some(q) = Queued::of(&live.item, Stage::Sent, live.seq)
        {
            st.sent.record(q);
        }
        // Waiters learn the outcome even if the log write failed: the decision was taken.
        let _ = live.done.send(Some(outcome));
        write.map_err(|e| DecisionError::Store(e.to_string()))?;
        Ok(live.item)
    }

    fn not_open(&self, id: &str) -> DecisionError {
        match self.store.get(id) {
            Ok(Some(item)) => DecisionError::NotOpen { id: id.into(), status: item.status },
            Ok(None) => DecisionError::NotFound(id.into()),
            Err(e) => DecisionError::Store(e.to_string()),
        }
    }

    fn expire(&self, id: &str) {
        let mut st = self.lock();
        if st.live.get(id).is_some_and(|l| l.item.status == Status::Pending) {
            tracing::info!(id, "no decision in time: expired, nothing forwarded");
            if let Err(e) = self.finish(&mut st, id, Status::Expired, Err(expired_error(id, self.decision_timeout))) {
                tracing::error!(id, error = %e, "could not log the expiry");
            }
        }
    }

    /// A waiter went away. When none is left the item stays open, marked as having no client.
    fn leave(&self, id: &str) {
        let mut st = self.lock();
        let Some(live) = st.live.get_mut(id) else {
            return;
        };
        live.waiters = live.waiters.saturating_sub(1);
        // A client answered at once polls for the outcome: it never "stopped waiting".
        if live.waiters == 0 && live.item.client_connected && !live.item.answered {
            live.item.client_connected = false;
            tracing::info!(id, "the client stopped waiting; the item stays pending");
            if let Err(e) = self.store.put(&live.item) {
                tracing::error!(id, error = %e, "could not log the disconnect");
            }
        }
    }

    /// Closes the queue: every item still waiting for a decision is abandoned and its clients
    /// told so. Items being forwarded right now finish on their own.
    pub fn shutdown(&self) {
        let mut st = self.lock();
        st.closed = true;
        let ids: Vec<String> =
            st.live.iter().filter(|(_, l)| l.item.status == Status::Pending).map(|(id, _)| id.clone()).collect();
        for id in ids {
            if let Err(e) = self.finish(&mut st, &id, Status::Abandoned, Err(abandoned_error(&id))) {
                tracing::error!(id, error = %e, "could not log the abandoned item");
            }
        }
    }
}

/// The decisions, as `airlock_types::Decisions` asks them (the desk answers that trait).
impl Queue {
    pub fn changed(&self, seen: u64) -> impl Future<Output = u64> + Send + use<> {
        let mut rx = self.generation.subscribe();
        async move {
            let now = rx.wait_for(|g| *g != seen).await.map(|g| *g);
            match now {
                Ok(g) => g,
                // The queue is gone: nothing changes any more.
                Err(_) => std::future::pending().await,
            }
        }
    }

    /// The open items, newest first. Listing them is showing them: a report that changed in the
    /// background counts as seen from now on.
    pub fn pending(&self) -> Vec<Item> {
        let mut st = self.lock();
        if st.live.values().any(|l| l.unseen.is_some()) {
            st.live.values_mut().for_each(|l| l.unseen = None);
        }
        let mut items: Vec<Item> = st.live.values().map(|l| l.item.clone()).collect();
        items.sort_by(|a, b| b.received_at.cmp(&a.received_at).then_with(|| a.id.cmp(&b.id)));
        items
    }

    pub fn item(&self, id: &str) -> Result<Option<Item>, DecisionError> {
        if let Some(live) = self.lock().live.get(id) {
            return Ok(Some(live.item.clone()));
        }
        self.store.get(id).map_err(|e| DecisionError::Store(e.to_string()))
    }

    /// A page of the log, newest first, older than the item `before` when given.
    pub fn history(&self, limit: usize, before: Option<&str>) -> Result<Vec<Item>, DecisionError> {
        match self.store.page(limit, before).map_err(|e| DecisionError::Store(e.to_string()))? {
            Some(items) => Ok(items),
            None => Err(DecisionError::NotFound(before.unwrap_or_default().to_owned())),
        }
    }

    pub async fn approve(&self, id: &str) -> Result<Item, DecisionError> {
        let approved = {
            let mut st = self.lock();
            let Some(live) = st.live.get_mut(id) else {
                return Err(self.not_open(id));
            };
            if live.item.status != Status::Pending {
                return Err(DecisionError::NotOpen { id: id.into(), status: live.item.status });
            }
            // The expiry timer does not run while the machine sleeps; the wall clock decides.
            if Timestamp::now() >= live.item.expires_at {
                drop(st);
                self.expire(id);
                return Err(DecisionError::NotOpen { id: id.into(), status: Status::Expired });
            }
            // Told once: the next approval is of what the person can see now.
            if let Some(why) = live.unseen.take() {
                return Err(DecisionError::Changed { id: id.into(), why });
            }
            live.item.status = Status::Approved;
            live.item.decided_at = Some(Timestamp::now());
            // Fail closed: an approval that is not in the log is not acted on.
            if let Err(e) = self.store.put(&live.item) {
                live.item.status = Status::Pending;
                live.item.decided_at = None;
                return Err(DecisionError::Store(e.to_string()));
            }
            (live.item.clone(), live.failure_told)
        };
        let (approved, failure_told) = approved;
        // The re-simulation and the forward run in their own task: if whoever approved goes away
        // (a closed terminal, a timed-out HTTP client), the approved item still reaches its end
        // (back to pending, or forwarded) and its waiters learn it.
        let queue = self.this.upgrade().ok_or_else(|| DecisionError::Store("Airlock is stopping".into()))?;
        let id = id.to_owned();
        tokio::spawn(async move {
            // What goes out must still do what the person saw.
            queue.recheck(&approved, failure_told).await?;
            // A managed account's item is signed here; anything else goes as it came.
            let managed = crate::signing::managed_sender(&queue.forward.signer, &approved);
            // A signed swap goes to the private relay when there is one: a sandwich needs to see
            // it in the public mempool first. Unsigned requests need the node that signs them.
            let relayed = approved.swap.is_some() && (approved.method == "eth_sendRawTransaction" || managed.is_some());
            let (target, sent_to) = match &queue.forward.relay {
                Some(relay) if relayed => (relay.clone(), "private relay"),
                _ => (queue.forward.upstream.clone(), "upstream"),
            };
            if let Some(live) = queue.lock().live.get_mut(&id) {
                live.item.sent_to = Some(match managed {
                    // Signed here: the audit record says so beside the report the person saw.
                    Some(_) if approved.sign.is_some() => "signed by Airlock (nothing sent)".to_owned(),
                    Some(_) => format!("{sent_to}, signed by Airlock"),
                    None => sent_to.to_owned(),
                });
            }
            let approved_calls = approved.clone();
            let (method, params) = (approved.method, approved.params);
            tracing::info!(id, %method, sent_to, "approved: forwarding");
            let batch = method.trim().eq_ignore_ascii_case("wallet_sendCalls");
            let signer = &queue.forward.signer;
            // A managed account's nonce: never below what the verified head proves it used.
            let floor = match (managed, &queue.forward.chain) {
                (Some(from), Some(chain)) => crate::signing::proven_nonce(chain, from).await,
                _ => None,
            };
            let mut signed_with = None;
            let outcome = match managed {
                Some(from) if batch => {
                    crate::signing::deliver_calls(signer, &target, &approved_calls, from, floor).await
                }
                Some(from) => {
                    let nonce = (floor, &mut signed_with);
                    crate::signing::deliver(signer, &target, &approved_calls, from, nonce).await
                }
                // A node has no wallet_sendCalls: each call goes as its own transaction.
                None if batch => crate::calls::send(&target, &approved_calls).await.map_err(|e| forward_error(&e)),
                None => target.request(&method, Some(&params)).await.map_err(|e| forward_error(&e)),
            };
            let status = if outcome.is_ok() { Status::Forwarded } else { Status::ForwardFailed };
            // Signed here with a nonce of Airlock's choosing: the record says which, and the
            // sends after it are simulated on it until it is in a block.
            if let (Some(n), Some(live)) = (signed_with, queue.lock().live.get_mut(&id))
                && let Some(tx) = live.item.tx.as_mut()
            {
                tx.nonce = Some(n);
            }
            if status == Status::Forwarded {
                // The local history: whom the person has now dealt with.
                let view = approved_view(&queue, &id);
                let dealt = view.as_ref().map(crate::judge::interactions).unwrap_or_default();
                if let Err(e) = queue.store.record(&dealt, Timestamp::now()) {
                    tracing::error!(id, error = %e, "could not add to the local history");
                }
                // The sender's habits: what it gave, and which tokens.
                if let Some((from, eth, tokens)) = view.as_ref().and_then(crate::judge::habit)
                    && let Err(e) = queue.store.record_habit(from, eth, &tokens, Timestamp::now())
                {
                    tracing::error!(id, error = %e, "could not add to the sender's habits");
                }
            }
            let mut st = queue.lock();
            queue.finish(&mut st, &id, status, outcome)
        })
        .await
        .map_err(|e| DecisionError::Store(format!("forwarding task failed: {e}")))?
    }

    /// The accounts Airlock manages.
    pub fn signer(&self) -> &airlock_signer::Signer {
        &self.forward.signer
    }

    /// Why `req` is refused before it is held, when Airlock would have to sign what it must not.
    pub(crate) fn refuses(&self, req: &crate::decode::Request) -> Option<crate::errors::Error> {
        let sign = req.sign.as_ref()?;
        let raw_hash = sign.kind == airlock_types::SignKind::EthSign;
        (raw_hash && self.forward.signer.manages(sign.address) && !self.forward.allow_eth_sign)
            .then_some(crate::errors::Error::RawHashRefused(sign.address))
    }

    pub async fn use_suggested_fees(&self, id: &str) -> Result<Item, DecisionError> {
        let changed = {
            let st = self.lock();
            let Some(live) = st.live.get(id) else { return Err(self.not_open(id)) };
            if live.item.status != Status::Pending {
                return Err(DecisionError::NotOpen { id: id.into(), status: live.item.status });
            }
            with_suggested_fees(&live.item)?
        };
        // The rules run again on what will now be sent, simulated on the newest head.
        let ahead = self.ahead_of(changed.tx.as_ref(), Some(id));
        let rechecked = self.reassess.reassess(&changed, &ahead).await;
        let mut st = self.lock();
        let Some(live) = st.live.get_mut(id) else { return Err(self.not_open(id)) };
        if live.item.status != Status::Pending {
            return Err(DecisionError::NotOpen { id: id.into(), status: live.item.status });
        }
        // The live item as it is now (retries may have joined it meanwhile), with the new fees.
        let mut item = Item { params: changed.params, tx: changed.tx, gas: changed.gas, ..live.item.clone() };
        if let Some(now) = rechecked {
            item.verification = Some(now.verification);
            item.report = now.report;
            item.simulation_error = now.simulation_error;
            item.verdict = airlock_policy::verdict(&now.findings);
            item.findings = now.findings;
        }
        // The old explanation named the old fee: the template's, written again for what is sent.
        item.explanation = Some(airlock_explain::template(&item));
        // Fail closed: a change that is not in the log is not made.
        self.store.put(&item).map_err(|e| DecisionError::Store(e.to_string()))?;
        tracing::info!(id, "fees replaced with the suggestion");
        live.item = item;
        // A refresh begun on the old fees is of no use now.
        live.refreshes += 1;
        Ok(live.item.clone())
    }

    pub async fn reject(&self, id: &str) -> Result<Item, DecisionError> {
        let mut st = self.lock();
        match st.live.get(id).map(|l| l.item.status) {
            None => Err(self.not_open(id)),
            Some(Status::Pending) => {
                tracing::info!(id, "rejected");
                self.finish(&mut st, id, Status::Rejected, Err(rejected_error(id)))
            }
            Some(status) => Err(DecisionError::NotOpen { id: id.into(), status }),
        }
    }
}

/// The live item `id` as it stands (its newest report).
fn approved_view(queue: &Queue, id: &str) -> Option<Item> {
    queue.lock().live.get(id).map(|l| l.item.clone())
}

impl Queue {
    /// The model's explanation as it is written (kept in memory, for the page) or done (logged).
    /// A model's concerns raise the verdict to `warn` at most, and never lower it.
    pub fn set_explanation(&self, id: &str, x: airlock_types::Explanation) {
        let mut st = self.lock();
        let Some(live) = st.live.get_mut(id) else { return };
        let done = x.state != airlock_types::ExplanationState::Generating;
        if done && !x.concerns.is_empty() && live.item.verdict.is_none_or(|v| v < airlock_types::Severity::Warn) {
            live.item.verdict = Some(airlock_types::Severity::Warn);
        }
        live.item.explanation = Some(x);
        if done && let Err(e) = self.store.put(&live.item) {
            tracing::error!(id, error = %e, "could not log the explanation");
        }
    }

    /// The open signed transactions from `from`, for the nonces they take.
    pub fn open_sends(&self, from: alloy_primitives::Address) -> Vec<Item> {
        let st = self.lock();
        st.live
            .values()
            .filter(|l| l.item.tx.as_ref().is_some_and(|t| t.signed && t.from == Some(from)))
            .map(|l| l.item.clone())
            .collect()
    }

    /// The newest item that held the signed transaction `hash`: open, or from the log.
    pub fn by_tx_hash(&self, hash: B256) -> Result<Option<Item>, DecisionError> {
        let st = self.lock();
        let live = st.live.values().find(|l| l.item.tx.as_ref().is_some_and(|t| t.signed && t.hash == Some(hash)));
        if let Some(l) = live {
            return Ok(Some(l.item.clone()));
        }
        drop(st);
        self.store.by_tx_hash(hash).map_err(|e| DecisionError::Store(e.to_string()))
    }

    /// Marks a live item as approved by the spending policy (shown in the log and the prompt).
    pub fn mark_auto_approved(&self, id: &str) {
        let mut st = self.lock();
        if let Some(live) = st.live.get_mut(id) {
            live.item.auto_approved = true;
            if let Err(e) = self.store.put(&live.item) {
                tracing::error!(id, error = %e, "could not log the auto-approval");
            }
        }
    }
}

/// A client waiting on an item. Dropping it (the client went away) leaves the item open.
#[derive(Debug)]
pub struct Waiter {
    /// Told when the waiter goes away.
    queue: Arc<Queue>,
    /// The item waited on.
    id: String,
    /// Where the outcome arrives.
    rx: watch::Receiver<Option<Outcome>>,
}

impl Waiter {
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Waits for the decision.
    pub async fn outcome(&mut self) -> Outcome {
        match self.rx.wait_for(Option::is_some).await {
            Ok(o) => o.clone().expect("waited for Some"),
            // The queue dropped the sender without a word: only at shutdown.
            Err(_) => Err(abandoned_error(&self.id)),
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        self.queue.leave(&self.id);
    }
}

/// `item` with its fees replaced by the suggestion in its advice: params, transaction view and
/// advice together. Only an unsigned `eth_sendTransaction` can change.
fn with_suggested_fees(item: &Item) -> Result<Item, DecisionError> {
    let refuse = |why: String| DecisionError::Unchangeable { id: item.id.clone(), why };
    let Some(advice) = item.gas.clone() else {
        return Err(refuse("it has no fee advice (not a transaction, or no verified head when it was held)".into()));
    };
    if !advice.adjustable {
        return Err(refuse(format!(
            "a signed transaction's fees cannot change: to pay less, sign it again with maxFeePerGas {} and \
             maxPriorityFeePerGas {} (wei)",
            advice.suggested_max_fee, advice.suggested_tip
        )));
    }
    if advice.accepted {
        return Ok(item.clone());
    }
    let params = crate::gas::suggest_params(&item.params, &advice).map_err(refuse)?;
    let mut changed = Item { params, ..item.clone() };
    if let Some(tx) = changed.tx.as_mut() {
        tx.gas_price = None;
        tx.max_fee_per_gas = Some(advice.suggested_max_fee.saturating_to());
        tx.max_priority_fee_per_gas = Some(advice.suggested_tip.saturating_to());
        if matches!(tx.tx_type, Some(0 | 1)) {
            tx.tx_type = Some(2);
        }
    }
    changed.gas = Some(airlock_types::GasAdvice {
        max_fee: Some(advice.suggested_max_fee),
        tip: Some(advice.suggested_tip),
        would_pay: Some(advice.would_pay_suggested),
        accepted: true,
        ..advice
    });
    Ok(changed)
}

#[cfg(test)]
#[path = "queue_tests.rs"]
mod tests;
