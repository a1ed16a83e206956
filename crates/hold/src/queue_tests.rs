//! The queue in-process: holding, waking the page, expiry on paused time, and an approved item
//! whose re-assessment diverges going back to the person instead of out.

use std::sync::Mutex as StdMutex;

use super::*;
use crate::decode::{Kind, parse};
use airlock_types::{OutcomeStatus, SimulationReport, Verification, VerificationStatus};

/// Nothing listens on port 9: a forward that happened would fail, never succeed.
const NOWHERE: &str = "http://127.0.0.1:9";

/// The seam's test double: answers every re-assessment with the report it is given.
#[derive(Debug, Default)]
struct Answers {
    next: StdMutex<Option<SimulationReport>>,
    asked: StdMutex<usize>,
    /// Answer with no report, as a simulation that failed.
    fail: StdMutex<bool>,
    /// The nonces queued ahead of each item asked about.
    aheads: StdMutex<Vec<Vec<Option<u64>>>>,
}

impl Reassess for Answers {
    fn reassess<'a>(
        &'a self,
        _: &'a Item,
        ahead: &'a [TxView],
    ) -> std::pin::Pin<Box<dyn Future<Output = Option<Assessment>> + Send + 'a>> {
        Box::pin(async move {
            *self.asked.lock().expect("lock") += 1;
            self.aheads.lock().expect("lock").push(ahead.iter().map(|t| t.nonce).collect());
            if *self.fail.lock().expect("lock") {
                let mut failed = assessed(None);
                failed.simulation_error = Some("the upstream is not answering".into());
                return Some(failed);
            }
            let report = self.next.lock().expect("lock").clone()?;
            Some(assessed(Some(report)))
        })
    }
}

fn verification() -> Verification {
    Verification {
        mode: "checkpoint".into(),
        status: VerificationStatus::Verified,
        block_number: Some(1),
        block_hash: None,
        error: None,
        note: None,
    }
}

fn queue(timeout: Duration, answers: Arc<Answers>) -> (tempfile::TempDir, Arc<Queue>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let upstream = Arc::new(Upstream::new(NOWHERE, Duration::from_secs(1)).expect("upstream"));
    let signer = Arc::new(airlock_signer::Signer::none());
    (
        dir,
        Queue::new(
            store,
            Forward { upstream, relay: None, signer, allow_eth_sign: false, chain: None },
            timeout,
            answers,
        ),
    )
}

fn sign_request(message: &str) -> Request {
    let params =
        RawValue::from_string(format!(r#"["{message}","0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"]"#)).expect("json");
    parse(Kind::PersonalSign, "personal_sign", Some(&params)).expect("parses")
}

fn send_request() -> Request {
    send_with(r#""value":"0x1""#)
}

/// An eth_sendTransaction from account 0 to account 1 with `fields` added.
fn send_with(fields: &str) -> Request {
    let params = RawValue::from_string(format!(
        r#"[{{"from":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","to":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8",{fields}}}]"#
    ))
    .expect("json");
    parse(Kind::TxObject, "eth_sendTransaction", Some(&params)).expect("parses")
}

fn report(status: &str) -> SimulationReport {
    serde_json::from_value(serde_json::json!({
        "chain_id": 1, "block": { "number": 1, "hash": format!("0x{}", "00".repeat(32)), "timestamp": 0, "base_fee": 0,
          "gas_limit": 1, "coinbase": format!("0x{}", "00".repeat(20)), "prevrandao": format!("0x{}", "00".repeat(32)), "excess_blob_gas": null },
        "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "to": null, "value": "1", "nonce": 0, "gas_limit": 21000,
        "outcome": { "status": status, "reason": null, "output": "0x" }, "gas_used": 21000, "fee": "0",
        "transfers": [], "asset_changes": [], "approvals": [], "calls": [], "created": [], "delegations": [],
        "mismatches": [], "divergences": []
    }))
    .expect("report")
}

fn assessed(report: Option<SimulationReport>) -> Assessment {
    Assessment::simulated(verification(), report, None, None)
}

/// The page's event stream waits on `changed`: every change to the open items must move
/// the generation, and reading them must not.
#[tokio::test]
async fn every_change_to_the_open_items_wakes_the_page() {
    let (_dir, queue) = queue(Duration::from_secs(60), Default::default());
    let start = queue.changed(u64::MAX).await;

    let waiting = tokio::spawn({
        let queue = queue.clone();
        async move { queue.changed(start).await }
    });
    let first = queue.hold(sign_request("0x6869"), assessed(None), false).expect("held");
    let after_hold = tokio::time::timeout(Duration::from_secs(5), waiting).await.expect("woken").expect("join");
    assert_ne!(after_hold, start);

    // Reads leave it alone.
    let _ = queue.pending();
    let _ = queue.item(first.id());
    let idle = tokio::time::timeout(Duration::from_millis(50), queue.changed(after_hold)).await;
    assert!(idle.is_err(), "nothing changed, nothing woke");

    // A new explanation and a decision each move it.
    let x = airlock_types::Explanation {
        summary: "It asks you to sign a message.".into(),
        concerns: vec![],
        source: "template".into(),
        state: airlock_types::ExplanationState::Done,
        ungrounded: vec![],
        error: None,
    };
    queue.set_explanation(first.id(), x);
    let explained = tokio::time::timeout(Duration::from_secs(5), queue.changed(after_hold)).await.expect("woken");
    queue.reject(first.id()).await.expect("rejected");
    let decided = tokio::time::timeout(Duration::from_secs(5), queue.changed(explained)).await.expect("woken");
    assert!(queue.pending().is_empty());
    assert_ne!(decided, explained);
}

/// An item nobody decides stays pending up to the decision timeout and expires at it: its
/// client gets -32003 with the item's id, the log says expired, nothing was forwarded.
#[tokio::test(start_paused = true)]
async fn an_undecided_item_expires_at_the_timeout_on_paused_time() {
    let timeout = Duration::from_secs(600);
    let (_dir, queue) = queue(timeout, Default::default());
    let mut waiter = queue.hold(sign_request("0x6869"), assessed(None), false).expect("held");
    let id = waiter.id().to_owned();

    tokio::time::sleep(timeout - Duration::from_secs(1)).await;
    assert_eq!(queue.item(&id).expect("read").expect("there").status, Status::Pending, "not yet");

    tokio::time::sleep(Duration::from_secs(2)).await;
    let err = waiter.outcome().await.expect_err("expired, not forwarded");
    assert_eq!(err.code, crate::errors::NOT_FORWARDED);
    assert!(err.message.contains("no decision within 600 s"), "{}", err.message);
    let logged = queue.item(&id).expect("read").expect("logged");
    assert_eq!(logged.status, Status::Expired);
    assert!(logged.result.is_none() && logged.sent_to.is_none(), "nothing forwarded");
    assert!(queue.pending().is_empty());
    // A late approval is refused.
    assert!(matches!(queue.approve(&id).await, Err(DecisionError::NotOpen { status: Status::Expired, .. })));
}

/// An approved transaction is assessed again before it goes out; when it now does something
/// else (here: it reverts) it goes back to pending with the new report, the approver is told
/// why, and nothing is forwarded. When the same outcome comes back, it is forwarded (here the
/// upstream is unreachable, so the forward fails, and says it may have reached it).
#[tokio::test]
async fn an_approved_item_that_now_does_otherwise_goes_back_to_the_person() {
    let answers = Arc::new(Answers::default());
    let (_dir, queue) = queue(Duration::from_secs(60), answers.clone());
    let mut waiter = queue.hold(send_request(), assessed(Some(report("success"))), false).expect("held");
    let id = waiter.id().to_owned();

    *answers.next.lock().expect("lock") = Some(report("revert"));
    match queue.approve(&id).await {
        Err(DecisionError::Changed { id: changed, why }) => {
            assert_eq!(changed, id);
            assert!(why.contains("outcome changed"), "{why}");
        }
        other => panic!("expected a change, got {other:?}"),
    }
    let back = queue.item(&id).expect("read").expect("there");
    assert_eq!(back.status, Status::Pending);
    assert_eq!(back.report.as_ref().map(|r| r.outcome.status), Some(OutcomeStatus::Revert), "the new report shown");
    assert!(back.sent_to.is_none(), "not forwarded");

    // The person sees the new report and approves again: same outcome now, so it goes out.
    let approved = queue.approve(&id).await.expect("decided");
    assert_eq!(*answers.asked.lock().expect("lock"), 2);
    assert_eq!(approved.status, Status::ForwardFailed);
    assert_eq!(approved.sent_to.as_deref(), Some("upstream"));
    let err = waiter.outcome().await.expect_err("the upstream is not there");
    // Nothing listens there: the connection was refused, so nothing reached it.
    assert_eq!(err.code, crate::errors::UPSTREAM_UNAVAILABLE, "{}", err.message);
    assert!(err.message.contains("nothing reached it"), "{}", err.message);
}

/// An approved item whose re-simulation fails goes back to the person with the report they saw
/// (and its findings), told the simulation at approval failed; approving it again, knowing
/// that, forwards it.
#[tokio::test]
async fn a_failed_re_simulation_keeps_the_report_shown_and_says_so() {
    let answers = Arc::new(Answers::default());
    let (_dir, queue) = queue(Duration::from_secs(60), answers.clone());
    let mut held = assessed(Some(report("success")));
    held.findings = vec![airlock_types::Finding {
        rule: "first-interaction".into(),
        severity: airlock_types::Severity::Warn,
        message: "a new address".into(),
        evidence: serde_json::Value::Null,
    }];
    let waiter = queue.hold(send_request(), held, false).expect("held");
    let id = waiter.id().to_owned();

    *answers.fail.lock().expect("lock") = true;
    let why = match queue.approve(&id).await {
        Err(DecisionError::Changed { why, .. }) => why,
        other => panic!("expected it back, got {other:?}"),
    };
    assert!(why.contains("could not be simulated again: the upstream is not answering"), "{why}");
    let back = queue.item(&id).expect("read").expect("there");
    assert_eq!(back.status, Status::Pending);
    assert_eq!(back.report.as_ref().map(|r| r.outcome.status), Some(OutcomeStatus::Success), "the report shown");
    assert_eq!(back.findings.len(), 1, "its findings stay");
    assert_eq!(back.verdict, Some(airlock_types::Severity::Warn));
    assert!(back.simulation_error.as_deref().is_some_and(|e| e.contains("from when it was held")), "{back:?}");

    let again = queue.approve(&id).await.expect("decided knowing it");
    assert_eq!(again.status, Status::ForwardFailed, "forwarded (to an upstream that is not there)");
}

/// Each send is re-simulated after the same sender's sends queued before it: lower nonces in
/// nonce order, whatever order they arrived in; not itself, not a signature, not another sender.
#[tokio::test]
async fn a_send_is_re_simulated_after_the_lower_nonces_queued_before_it() {
    let answers = Arc::new(Answers::default());
    let (_dir, queue) = queue(Duration::from_secs(60), answers.clone());
    let mut ids = vec![];
    for nonce in [2, 0, 1] {
        let req = send_with(&format!(r#""value":"0x1","nonce":"{nonce:#x}""#));
        ids.push(queue.hold(req, assessed(Some(report("success"))), false).expect("held").id().to_owned());
    }
    let _sign = queue.hold(sign_request("0x6869"), assessed(None), false).expect("held");
    let other = RawValue::from_string(
        r#"[{"from":"0x70997970c51812dc3a010c7d01b50e0d17dc79c8","to":"0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266","nonce":"0x0"}]"#.into(),
    )
    .expect("json");
    let _other =
        queue.hold(parse(Kind::TxObject, "eth_sendTransaction", Some(&other)).expect("parses"), assessed(None), false);

    *answers.next.lock().expect("lock") = Some(report("success"));
    let nonce2 = queue.item(&ids[0]).expect("read").expect("there");
    assert_eq!(
        queue.ahead_of(nonce2.tx.as_ref(), Some(&ids[0])).iter().map(|t| t.nonce).collect::<Vec<_>>(),
        [Some(0), Some(1)]
    );
    let mut behind = queue.behind(&ids[1]);
    behind.sort();
    let mut expected = vec![ids[0].clone(), ids[2].clone()];
    expected.sort();
    assert_eq!(behind, expected, "nonce 0 runs before 1 and 2, and no other sender's");
    let _ = queue.approve(&ids[2]).await;
    assert_eq!(answers.aheads.lock().expect("lock").last(), Some(&vec![Some(0)]), "nonce 1 runs after nonce 0");
}

/// A report that changes in the background (a refresh) is not approved unseen: the approval
/// right after it is refused with why; once the items are listed again (the page, `pending`),
/// it goes through. A failure shown by a refresh is not a failure the person was told of at
/// approval: approving still re-simulates, is sent back once, and only then forwards.
#[tokio::test]
async fn a_report_changed_in_the_background_is_not_approved_unseen() {
    let answers = Arc::new(Answers::default());
    let (_dir, queue) = queue(Duration::from_secs(60), answers.clone());
    let waiter = queue.hold(send_request(), assessed(Some(report("success"))), false).expect("held");
    let id = waiter.id().to_owned();

    // A refresh that finds it now reverts.
    let ticket = queue.want_refresh(std::slice::from_ref(&id))[0].1;
    assert!(queue.refresh(&id, ticket).is_some());
    assert!(queue.refreshed(&id, ticket, assessed(Some(report("revert"))), false), "kept");
    match queue.approve(&id).await {
        Err(DecisionError::Changed { why, .. }) => assert!(why.contains("changed while it waited"), "{why}"),
        other => panic!("refused until seen, got {other:?}"),
    }
    // A stale ticket is of no use once a newer refresh was asked for.
    let newer = queue.want_refresh(std::slice::from_ref(&id))[0].1;
    assert!(queue.refresh(&id, ticket).is_none() && queue.refresh(&id, newer).is_some());

    // A refresh that shows a failure: listed, then approved.
    let mut failed = assessed(None);
    failed.simulation_error = Some("nonce 1 too high".into());
    assert!(queue.refreshed(&id, newer, failed, true));
    assert!(queue.item(&id).expect("read").expect("there").simulation_error.is_some());
    let _ = queue.pending();
    *answers.fail.lock().expect("lock") = true;
    match queue.approve(&id).await {
        Err(DecisionError::Changed { why, .. }) => assert!(why.contains("could not be simulated again"), "{why}"),
        other => panic!("the failure is told at approval first, got {other:?}"),
    }
    let again = queue.approve(&id).await.expect("decided knowing it");
    assert_eq!(again.status, Status::ForwardFailed, "forwarded (to an upstream that is not there)");
}

/// A send without a nonce gets one when it is forwarded: at approval it follows what was approved
/// or sent before it, not a send still waiting for a decision (which, held first, it was
/// simulated after).
#[tokio::test]
async fn a_nonce_less_send_is_re_simulated_after_what_was_approved_not_what_waits() {
    let answers = Arc::new(Answers::default());
    let (_dir, queue) = queue(Duration::from_secs(60), answers.clone());
    let first = queue.hold(send_with(r#""value":"0x1""#), assessed(Some(report("success"))), false).expect("held");
    let second = queue.hold(send_with(r#""value":"0x2""#), assessed(Some(report("success"))), false).expect("held");
    let held = queue.item(second.id()).expect("read").expect("there");
    assert_eq!(queue.ahead_of(held.tx.as_ref(), Some(second.id())).len(), 1, "held after the first");
    *answers.next.lock().expect("lock") = Some(report("success"));
    let _ = queue.approve(second.id()).await;
    assert_eq!(answers.aheads.lock().expect("lock").last(), Some(&vec![]), "the first still waits: not ahead");
    drop(first);
}
