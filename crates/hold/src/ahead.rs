//! The sends queued ahead of a request: the same sender's sends that Airlock holds, approved or
//! sent and that may not be in a block yet. A request is simulated on the state they leave, in
//! nonce order, both when it is held and again at approval; the simulation skips any whose nonce
//! the sender has used by then (mined, or replaced).
//!
//! The order: a request with a nonce runs after every queued send with a lower one. A request
//! without one (the node or Airlock's signer fills it in when it goes out) runs after every
//! queued send with a nonce and every one without that arrived before it. Of several sends with
//! the same nonce (a replacement), the one furthest along is taken: sent, then approved, then
//! pending; the newest among equals.

use std::cmp::Ordering;
use std::collections::VecDeque;
use std::time::Duration;

use airlock_types::{Item, Timestamp, TxView};
use alloy_primitives::Address;

/// Sent sends followed until they are in a block, at most (the oldest are forgotten first).
const MAX_SENT: usize = 256;
/// How long a sent send is followed: the mempool drops what sits longer than this.
const SENT_FOR: Duration = Duration::from_secs(3 * 3600);

/// How far along a queued send is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    Pending,
    Approved,
    Sent,
}

/// A send queued ahead of some request.
#[derive(Debug, Clone)]
pub(crate) struct Queued {
    pub from: Address,
    pub nonce: Option<u64>,
    pub stage: Stage,
    /// Arrival order among the items Airlock held since it started.
    pub seq: u64,
    /// The transactions it sends (a batch's calls one by one).
    pub txs: Vec<TxView>,
}

impl Queued {
    /// An item's place in its sender's queue; none for a signature or an item without a sender.
    pub fn of(item: &Item, stage: Stage, seq: u64) -> Option<Queued> {
        let tx = item.tx.as_ref().filter(|_| item.sign.is_none())?;
        Some(Queued { from: tx.from?, nonce: tx.nonce, stage, seq, txs: sends(tx, &item.calls) })
    }
}

/// The transactions a request sends: itself, or for `wallet_sendCalls` each call from the sender.
pub fn sends(tx: &TxView, calls: &[airlock_types::CallView]) -> Vec<TxView> {
    if calls.is_empty() {
        return vec![tx.clone()];
    }
    calls
        .iter()
        .map(|c| TxView {
            from: tx.from,
            to: c.to,
            value: c.value,
            data: c.data.clone(),
            chain_id: tx.chain_id,
            ..TxView::default()
        })
        .collect()
}

/// Sent sends with a known nonce, kept until they are surely in a block or dropped.
#[derive(Debug, Default)]
pub(crate) struct SentLog(VecDeque<(Timestamp, Queued)>);

impl SentLog {
    /// Follows a send that just went out. One without a nonce cannot be told from the state once
    /// mined, so it is not followed.
    pub fn record(&mut self, mut q: Queued) {
        if q.nonce.is_none() {
            return;
        }
        q.stage = Stage::Sent;
        self.prune(Timestamp::now());
        if self.0.len() >= MAX_SENT {
            self.0.pop_front();
        }
        self.0.push_back((Timestamp::now(), q));
    }

    /// The followed sends from `from`.
    pub fn from(&self, from: Address) -> impl Iterator<Item = &Queued> {
        let now = Timestamp::now();
        self.0.iter().filter(move |(at, q)| q.from == from && at.until(now) <= SENT_FOR).map(|(_, q)| q)
    }

    fn prune(&mut self, now: Timestamp) {
        while self.0.front().is_some_and(|(at, _)| at.until(now) > SENT_FOR) {
            self.0.pop_front();
        }
    }
}

/// The transactions to run before a request with `nonce` that arrived as `seq` (none: it is
/// arriving now, after everything queued), from `queued` (the sender's, itself left out).
pub(crate) fn ahead(nonce: Option<u64>, seq: Option<u64>, mut queued: Vec<Queued>) -> Vec<TxView> {
    queued.retain(|q| runs_before(q, nonce, seq));
    queued.sort_by(order);
    queued.dedup_by(|later, kept| later.nonce.is_some() && later.nonce == kept.nonce);
    queued.into_iter().flat_map(|q| q.txs).collect()
}

/// Whether `q` runs before a send with `nonce` that arrived as `seq` (none: arriving now).
pub(crate) fn runs_before(q: &Queued, nonce: Option<u64>, seq: Option<u64>) -> bool {
    match (nonce, q.nonce) {
        (Some(n), Some(k)) => k < n,
        (Some(_), None) => false,
        (None, Some(_)) => true,
        (None, None) => seq.is_none_or(|s| q.seq < s),
    }
}

/// By nonce, then those without one in arrival order. Of one nonce, the furthest along first,
/// then the newest (the one [`ahead`] keeps).
fn order(a: &Queued, b: &Queued) -> Ordering {
    match (a.nonce, b.nonce) {
        (Some(x), Some(y)) => x.cmp(&y).then(b.stage.cmp(&a.stage)).then(b.seq.cmp(&a.seq)),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.seq.cmp(&b.seq),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U256;

    fn q(nonce: Option<u64>, stage: Stage, seq: u64) -> Queued {
        // The value tells the sends apart.
        let tx = TxView { value: U256::from(seq), nonce, ..TxView::default() };
        Queued { from: Address::ZERO, nonce, stage, seq, txs: vec![tx] }
    }

    fn seqs(txs: &[TxView]) -> Vec<u64> {
        txs.iter().map(|t| t.value.to::<u64>()).collect()
    }

    #[test]
    fn a_send_with_a_nonce_runs_after_the_lower_ones_in_nonce_order() {
        let queued = vec![q(Some(7), Stage::Pending, 1), q(Some(5), Stage::Approved, 2), q(Some(6), Stage::Sent, 3)];
        assert_eq!(seqs(&ahead(Some(7), None, queued.clone())), [2, 3]);
        assert_eq!(seqs(&ahead(Some(6), None, queued.clone())), [2]);
        assert!(ahead(Some(5), None, queued).is_empty(), "nothing below the lowest nonce");
    }

    #[test]
    fn sends_without_a_nonce_follow_the_nonces_in_arrival_order() {
        let queued = vec![q(None, Stage::Pending, 4), q(Some(3), Stage::Pending, 9), q(None, Stage::Approved, 2)];
        assert_eq!(seqs(&ahead(None, None, queued.clone())), [9, 2, 4], "a new one runs after all of them");
        assert_eq!(seqs(&ahead(None, Some(4), queued.clone())), [9, 2], "one held earlier, after what came before it");
        assert!(ahead(Some(3), None, queued).is_empty(), "a nonce puts it before the ones without");
    }

    #[test]
    fn of_one_nonce_the_furthest_along_is_taken() {
        let queued = vec![q(Some(1), Stage::Pending, 5), q(Some(1), Stage::Sent, 1), q(Some(1), Stage::Approved, 3)];
        assert_eq!(seqs(&ahead(Some(2), None, queued)), [1]);
        let replaced = vec![q(Some(1), Stage::Pending, 5), q(Some(1), Stage::Pending, 6)];
        assert_eq!(seqs(&ahead(Some(2), None, replaced)), [6], "the newest of equals");
    }

    #[test]
    fn only_sends_with_a_nonce_are_followed_once_sent() {
        let mut log = SentLog::default();
        log.record(q(None, Stage::Approved, 1));
        log.record(q(Some(4), Stage::Approved, 2));
        let followed: Vec<_> = log.from(Address::ZERO).cloned().collect();
        assert_eq!(followed.len(), 1);
        assert_eq!(followed[0].stage, Stage::Sent);
        assert_eq!(log.from(Address::repeat_byte(1)).count(), 0, "another sender's are not its");
        for n in 0..MAX_SENT as u64 + 10 {
            log.record(q(Some(n), Stage::Approved, n));
        }
        assert_eq!(log.0.len(), MAX_SENT, "bounded");
    }
}
