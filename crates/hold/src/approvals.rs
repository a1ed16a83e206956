//! The approvals watch: every allowance and operator approval the person granted through
//! Airlock (from the audit log: forwarded transactions, and signed permits), read again on the
//! newest (verified) head, with a transaction that revokes each one still open.

use std::collections::BTreeMap;

use airlock_types::{
    ApprovalChange, ApprovalKind, ApprovalsView, Item, OpenApproval, OutcomeStatus, RevokeTx, Status, TxView,
};
use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::SolCall;

use airlock_chain::Chain;
use airlock_store::Store;

/// The canonical Permit2 (the same address on every chain Uniswap deployed it to).
pub const PERMIT2: Address = address!("000000000022D473030F116dDEE9F6B43aC78BA3");

/// How many logged items are looked through.
const LOG_ITEMS: usize = 100_000;

use airlock_sim::abi;

/// What identifies one approval: a later grant of the same replaces an earlier one.
type Key = (u8, Address, Address, Address, Option<U256>);

fn key(a: &ApprovalChange) -> Key {
    (a.kind as u8, a.owner, a.token, a.spender, a.token_id)
}

/// Every approval the log holds, newest grant of each, for `owner` (or every owner).
fn granted(items: &[Item], owner: Option<Address>) -> Vec<(ApprovalChange, &Item)> {
    let mut latest: BTreeMap<Key, (ApprovalChange, &Item)> = BTreeMap::new();
    // Oldest first, so that a later grant (or revoke) replaces an earlier one.
    for item in items.iter().rev().filter(|i| i.status == Status::Forwarded) {
        let from_tx = item.report.iter().flat_map(|r| r.approvals.iter());
        let from_sig = item.signature_report.iter().flat_map(|r| r.approvals.iter());
        for a in from_tx.chain(from_sig).filter(|a| owner.is_none_or(|o| a.owner == o)) {
            latest.insert(key(a), (a.clone(), item));
        }
    }
    latest.into_values().collect()
}

/// The approval's short id: 10 hex digits of the hash of what identifies it.
pub(crate) fn approval_id(a: &ApprovalChange) -> String {
    let mut bytes = vec![a.kind as u8];
    for addr in [a.owner, a.token, a.spender] {
        bytes.extend_from_slice(addr.as_slice());
    }
    bytes.extend_from_slice(&a.token_id.unwrap_or_default().to_be_bytes::<32>());
    alloy_primitives::hex::encode(&alloy_primitives::keccak256(&bytes)[..5])
}

/// The transaction that sets `a` to zero.
fn revoke(a: &ApprovalChange) -> RevokeTx {
    let (to, data) = match a.kind {
        ApprovalKind::Erc20 => (a.token, abi::approveCall { spender: a.spender, amount: U256::ZERO }.abi_encode()),
        ApprovalKind::Erc721 => {
            (a.token, abi::approveCall { spender: Address::ZERO, amount: a.token_id.unwrap_or_default() }.abi_encode())
        }
        ApprovalKind::ApprovalForAll => {
            (a.token, abi::setApprovalForAllCall { operator: a.spender, approved: false }.abi_encode())
        }
        ApprovalKind::Permit2 => (
            PERMIT2,
            abi::permit2::approveCall {
                token: a.token,
                spender: a.spender,
                amount: Default::default(),
                expiration: Default::default(),
            }
            .abi_encode(),
        ),
    };
    RevokeTx { from: a.owner, to, data: Bytes::from(data) }
}

/// The open approvals of `owner` (every owner in the log when None), read on the newest head.
pub async fn open(chain: &Chain, store: &Store, owner: Option<Address>) -> Result<ApprovalsView, String> {
    let items = store.recent(LOG_ITEMS).map_err(|e| e.to_string())?;
    let candidates = granted(&items, owner);
    let (verification, head) = chain.head().await;
    let mut view = ApprovalsView { verification, approvals: vec![], unreadable: vec![] };
    if candidates.is_empty() {
        return Ok(view);
    }
    let Some(head) = head else {
        let why = view.verification.error.clone().unwrap_or_else(|| "no head to read on".into());
        view.unreadable = candidates.iter().map(|(a, _)| format!("{} → {}: {why}", a.token, a.spender)).collect();
        return Ok(view);
    };
    let sim = chain.simulator().await.map_err(|e| e.to_string())?;
    let now = head.facts.timestamp;
    for (a, item) in candidates {
        let (to, data) = match a.kind {
            ApprovalKind::Erc20 => (a.token, abi::allowanceCall { owner: a.owner, spender: a.spender }.abi_encode()),
            ApprovalKind::ApprovalForAll => {
                (a.token, abi::isApprovedForAllCall { owner: a.owner, operator: a.spender }.abi_encode())
            }
            ApprovalKind::Erc721 => {
                (a.token, abi::getApprovedCall { tokenId: a.token_id.unwrap_or_default() }.abi_encode())
            }
            ApprovalKind::Permit2 => (
                PERMIT2,
                abi::permit2::allowanceCall { user: a.owner, token: a.token, spender: a.spender }.abi_encode(),
            ),
        };
        let call = TxView { from: Some(a.owner), to: Some(to), data: Bytes::from(data), ..TxView::default() };
        let out = match sim.call(&head, &call).await {
            Ok(r) if r.outcome.status == OutcomeStatus::Success => r.outcome.output,
            Ok(r) => {
                view.unreadable.push(format!(
                    "{} → {}: the read failed ({})",
                    a.token,
                    a.spender,
                    r.outcome.reason.unwrap_or_default()
                ));
                continue;
            }
            Err(e) => {
                view.unreadable.push(format!("{} → {}: {e}", a.token, a.spender));
                continue;
            }
        };
        let (current, expiration) = match a.kind {
            ApprovalKind::Erc20 => (abi::allowanceCall::abi_decode_returns(&out).ok(), None),
            ApprovalKind::ApprovalForAll => {
                (abi::isApprovedForAllCall::abi_decode_returns(&out).ok().map(|b| U256::from(u8::from(b))), None)
            }
            ApprovalKind::Erc721 => (
                abi::getApprovedCall::abi_decode_returns(&out).ok().map(|s| U256::from(u8::from(s == a.spender))),
                None,
            ),
            ApprovalKind::Permit2 => match abi::permit2::allowanceCall::abi_decode_returns(&out) {
                Ok(r) => {
                    let exp: u64 = r.expiration.to();
                    // An expired Permit2 allowance cannot be spent.
                    let amount = if exp < now { U256::ZERO } else { U256::from(r.amount) };
                    (Some(amount), Some(exp))
                }
                Err(_) => (None, None),
            },
        };
        let Some(current) = current else {
            view.unreadable.push(format!("{} → {}: the answer does not decode", a.token, a.spender));
            continue;
        };
        if current.is_zero() {
            continue;
        }
        let max_bits = if a.kind == ApprovalKind::Permit2 { 160 } else { 256 };
        view.approvals.push(OpenApproval {
            id: approval_id(&a),
            kind: a.kind,
            owner: a.owner,
            token: a.token,
            symbol: a.symbol.clone(),
            decimals: a.decimals,
            spender: a.spender,
            token_id: a.token_id,
            unlimited: matches!(a.kind, ApprovalKind::Erc20 | ApprovalKind::Permit2)
                && current >= (U256::MAX >> (256 - max_bits)) >> 1,
            current,
            expiration,
            granted_by: item.id.clone(),
            granted_at: item.decided_at,
            revoke: revoke(&a),
        });
    }
    Ok(view)
}
