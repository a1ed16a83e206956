//! From one execution to the SimulationReport: token movements and approvals from the logs,
//! cross-checked with balance reads before and after; ETH from the inspector, cross-checked with
//! the state; metadata read by simulated calls.

use std::collections::BTreeMap;

use airlock_types::{
    AccountKind, ApprovalChange, ApprovalKind, Asset, AssetChange, AssetKind, BlockFacts, CallKind, DelegationChange,
    Outcome, OutcomeStatus, SimulationReport, Transfer, TxView,
};
use alloy_primitives::{Address, B256, Bytes, Log, U256};
use alloy_sol_types::{SolCall, SolEvent};
use revm::Database;
use revm::context::result::ExecutionResult;
use revm::context_interface::{Block, Transaction};

use crate::SimError;
use crate::exec::{self, Fill};
use crate::inspect::Tracer;
use crate::revert;
use crate::state::{BlockState, Misses, RunDb};

use crate::abi::{self, permit2};

/// The first byte sequence of a 7702 delegation designator.
const DELEGATION_PREFIX: [u8; 3] = [0xef, 0x01, 0x00];

/// Runs `tx` on `state` in the block after `facts`, after the sends queued `ahead` of it (run in
/// the block after the head's `ahead_facts`: an evasion variant changes the environment of the
/// request, not of what precedes it), and builds its report. Also returns what was missing from
/// `state`; when anything was, the report is incomplete and the caller fetches and runs again.
pub(crate) fn simulate(
    state: &BlockState,
    chain_id: u64,
    (facts, ahead_facts): (&BlockFacts, &BlockFacts),
    ahead: &[TxView],
    tx: &TxView,
) -> (Result<SimulationReport, SimError>, Misses) {
    let mut a =
        Analysis { state, chain_id, facts, spec: exec::spec(chain_id, facts.timestamp), misses: Misses::default() };
    let report = a.queue(ahead, ahead_facts).and_then(|states| {
        let prior: Vec<&revm::state::EvmState> = states.iter().collect();
        let (mut r, _) = a.run(tx, &prior)?;
        r.queued_ahead = states.len();
        Ok(r)
    });
    (report, a.misses)
}

/// Runs `txs` one after another, each on the state the previous ones left (wallet_sendCalls),
/// after the sends queued `ahead`, and merges their reports: every movement, approval and call
/// of the batch; the outcome of the first call that does not succeed (the calls after it are not
/// run).
pub(crate) fn simulate_batch(
    state: &BlockState,
    chain_id: u64,
    facts: &BlockFacts,
    ahead: &[TxView],
    txs: &[TxView],
) -> (Result<SimulationReport, SimError>, Misses) {
    let mut a =
        Analysis { state, chain_id, facts, spec: exec::spec(chain_id, facts.timestamp), misses: Misses::default() };
    let mut states = match a.queue(ahead, facts) {
        Ok(states) => states,
        Err(e) => return (Err(e), a.misses),
    };
    let queued = states.len();
    let mut merged: Option<SimulationReport> = None;
    for tx in txs {
        let prior: Vec<&revm::state::EvmState> = states.iter().collect();
        let (report, changes) = match a.run(tx, &prior) {
            Ok(r) => r,
            Err(e) => return (Err(e), a.misses),
        };
        let failed = report.outcome.status != OutcomeStatus::Success;
        merged = Some(match merged {
            None => report,
            Some(mut m) => {
                m.gas_used += report.gas_used;
                m.gas_limit += report.gas_limit;
                m.fee += report.fee;
                m.value += report.value;
                m.outcome = report.outcome;
                m.transfers.extend(report.transfers);
                m.approvals.extend(report.approvals);
                m.calls.extend(report.calls);
                m.created.extend(report.created);
                m.account_kinds.extend(report.account_kinds);
                m.delegations.extend(report.delegations);
                m.mismatches.extend(report.mismatches);
                m
            }
        });
        states.push(changes);
        if failed {
            break;
        }
    }
    let Some(mut m) = merged else { return (Err(SimError::Invalid("an empty batch".into())), a.misses) };
    m.queued_ahead = queued;
    m.to = None;
    m.call = None;
    m.asset_changes = net(&m.transfers);
    (Ok(m), a.misses)
}

/// Adds what state says to a signature's report: the spender's kind, token symbols and
/// decimals, and the allowance the signature would replace.
pub(crate) fn enrich_signature(
    state: &BlockState,
    chain_id: u64,
    facts: &BlockFacts,
    report: &mut airlock_types::SignatureReport,
) -> Misses {
    let mut a =
        Analysis { state, chain_id, facts, spec: exec::spec(chain_id, facts.timestamp), misses: Misses::default() };
    let mut db = RunDb::new(state);
    let permit2 = report.verifying_contract;
    for ap in &mut report.approvals {
        ap.spender_kind = kind_of(&mut db, ap.spender);
        (ap.symbol, ap.decimals) = a.metadata(&mut db, ap.token, AssetKind::Erc20);
        ap.before = match ap.kind {
            ApprovalKind::Erc20 => {
                let data = abi::allowanceCall { owner: ap.owner, spender: ap.spender }.abi_encode().into();
                a.view(&mut db, ap.token, data).and_then(|b| abi::allowanceCall::abi_decode_returns(&b).ok())
            }
            ApprovalKind::Permit2 => permit2.and_then(|p2| {
                let data = permit2::allowanceCall { user: ap.owner, token: ap.token, spender: ap.spender }.abi_encode();
                a.view(&mut db, p2, data.into())
                    .and_then(|b| permit2::allowanceCall::abi_decode_returns(&b).ok())
                    .map(|r| U256::from(r.amount))
            }),
            _ => None,
        };
    }
    for t in &mut report.transfers {
        if let Some(token) = t.asset.token.filter(|_| t.asset.kind != AssetKind::Eth) {
            (t.asset.symbol, t.asset.decimals) = a.metadata(&mut db, token, t.asset.kind);
        }
    }
    a.absorb(db);
    a.misses
}

struct Analysis<'a> {
    state: &'a BlockState,
    chain_id: u64,
    facts: &'a BlockFacts,
    spec: revm::primitives::hardfork::SpecId,
    misses: Misses,
}

impl<'a> Analysis<'a> {
    fn absorb(&mut self, db: RunDb<'_>) {
        let m = db.misses;
        self.misses.accounts.extend(m.accounts);
        for (a, s) in m.slots {
            self.misses.slots.entry(a).or_default().extend(s);
        }
        self.misses.block_hashes.extend(m.block_hashes);
    }

    /// Runs the sends queued ahead, each on the state the previous ones left; the changes of
    /// each that ran. A send whose nonce the sender has used already is in the state (mined, or
    /// replaced) and is skipped; one that cannot be included leaves everything after it stuck.
    fn queue(&mut self, ahead: &[TxView], facts: &'a BlockFacts) -> Result<Vec<revm::state::EvmState>, SimError> {
        let own = (self.facts, self.spec);
        (self.facts, self.spec) = (facts, exec::spec(self.chain_id, facts.timestamp));
        let queued = self.run_queued(ahead);
        (self.facts, self.spec) = own;
        queued
    }

    fn run_queued(&mut self, ahead: &[TxView]) -> Result<Vec<revm::state::EvmState>, SimError> {
        let mut states: Vec<revm::state::EvmState> = vec![];
        for tx in ahead {
            let prior: Vec<&revm::state::EvmState> = states.iter().collect();
            let mut pre = RunDb::after(self.state, &prior);
            let from = tx.from.unwrap_or(Address::ZERO);
            let used = pre.basic(from).ok().flatten().map(|a| a.nonce).unwrap_or(0);
            if tx.nonce.is_some_and(|n| n < used) {
                self.absorb(pre);
                continue;
            }
            let executed = self.execute(&mut pre, tx);
            self.absorb(pre);
            match executed {
                Ok(x) => states.push(x.changes),
                Err(e) => {
                    let which = tx.nonce.map(|n| format!(" (nonce {n})")).unwrap_or_default();
                    return Err(SimError::Invalid(format!("a send queued ahead of it{which} cannot be included: {e}")));
                }
            }
        }
        Ok(states)
    }

    /// Runs `tx` on the state after `prior`; its report, and the state changes it makes.
    fn run(
        &mut self,
        tx: &TxView,
        prior: &[&revm::state::EvmState],
    ) -> Result<(SimulationReport, revm::state::EvmState), SimError> {
        let mut pre = RunDb::after(self.state, prior);
        let x = match self.execute(&mut pre, tx) {
            Ok(x) => x,
            Err(e) => {
                self.absorb(pre);
                return Err(e);
            }
        };
        let Executed { from, from_balance, nonce, gas_limit, gas_used, fee, outcome, logs, changes, tracer } = x;

        let mut post = RunDb::after(self.state, &[prior, &[&changes]].concat());
        let (mut transfers, mut approvals, permit2_at) = self.movements(&tracer, &logs);
        let mut meta = self.name_transfers(&mut post, &mut transfers);
        let mut asset_changes = net(&transfers);
        let mut mismatches = self.token_mismatches(&mut pre, &mut post, &mut asset_changes, from);
        mismatches.extend(self.eth_mismatches(&mut pre, &changes, &transfers, from, fee));
        self.complete_approvals(&mut pre, &mut post, &mut approvals, permit2_at, &mut meta);
        let delegations = delegations(&mut pre, tx, &changes);
        let created = created(&tracer, &changes);
        let account_kinds = account_kinds(&mut post, tx, &transfers, &approvals, &tracer);
        let final_recipients = final_recipients(from, &transfers);

        self.absorb(pre);
        self.absorb(post);
        let to = tx.to;
        Ok((
            SimulationReport {
                chain_id: self.chain_id,
                block: self.facts.clone(),
                from,
                to,
                value: tx.value,
                from_balance,
                nonce,
                gas_limit,
                call: to.and_then(|to| crate::calldata::decode(Some(to), &tx.data)),
                outcome,
                gas_used,
                fee,
                transfers,
                asset_changes,
                approvals,
                calls: tracer.calls,
                created,
                account_kinds,
                delegations,
                mismatches,
                final_recipients,
                divergences: vec![],
                unchecked: vec![],
                queued_ahead: 0,
            },
            changes,
        ))
    }

    /// Executes `tx` over `pre` as in the next block: the sender, gas, fee, outcome, logs, trace
    /// and state changes.
    fn execute(&self, pre: &mut RunDb<'_>, tx: &TxView) -> Result<Executed, SimError> {
        let from = tx.from.unwrap_or(Address::ZERO);
        let sender = pre.basic(from).ok().flatten();
        let nonce = sender.as_ref().map(|a| a.nonce).unwrap_or(0);
        let from_balance = sender.map(|a| a.balance).unwrap_or_default();
        // A transaction held now is included in a later block: it runs as in the next one.
        let next =
            BlockFacts { number: self.facts.number + 1, timestamp: self.facts.timestamp + 12, ..self.facts.clone() };
        let spec = exec::spec(self.chain_id, next.timestamp);
        let cfg = exec::cfg(self.chain_id, spec, Fill::Send, tx);
        let block = exec::block_env(&next, &cfg);
        let mut tx_env = exec::tx_env(tx, self.chain_id, &next, spec, Fill::Send, nonce, None);
        // Without a gas field the node would estimate; what the sender can pay for bounds it
        // (a run at the whole block limit would need a balance few accounts have).
        if tx.gas.is_none() && tx_env.gas_price > 0 {
            let spare = from_balance.saturating_sub(tx.value);
            let affordable = spare / U256::from(tx_env.gas_price);
            tx_env.gas_limit = tx_env.gas_limit.min(affordable.saturating_to::<u64>().max(21_000));
        }
        let blob_price = block.blob_gasprice().unwrap_or(0);
        let effective_price = tx_env.effective_gas_price(u128::from(next.base_fee));
        let blob_gas = tx_env.total_blob_gas();
        let (gas_limit, tx_nonce) = (tx_env.gas_limit, tx_env.nonce);
        let mut tracer = Tracer::default();
        let out = exec::run(pre, cfg, block, tx_env, &mut tracer).map_err(|e| SimError::Invalid(e.to_string()))?;
        let (result, changes) = (out.result, out.state);
        let gas_used = result.tx_gas_used();
        let fee = U256::from(gas_used) * U256::from(effective_price) + U256::from(blob_gas) * U256::from(blob_price);
        let (outcome, logs) = match result {
            ExecutionResult::Success { output, logs, .. } => {
                (Outcome { status: OutcomeStatus::Success, reason: None, output: output.into_data() }, logs)
            }
            ExecutionResult::Revert { output, .. } => {
                (Outcome { status: OutcomeStatus::Revert, reason: Some(revert::describe(&output)), output }, vec![])
            }
            ExecutionResult::Halt { reason, .. } => (
                Outcome { status: OutcomeStatus::Halt, reason: Some(format!("{reason:?}")), output: Bytes::new() },
                vec![],
            ),
        };
        Ok(Executed { from, from_balance, nonce: tx_nonce, gas_limit, gas_used, fee, outcome, logs, changes, tracer })
    }

    /// Reads the transfers (traced ETH, then the logs) and approvals, and the Permit2 contract
    /// that logged the first Permit2 approval.
    fn movements(&self, tracer: &Tracer, logs: &[Log]) -> (Vec<Transfer>, Vec<ApprovalChange>, Option<Address>) {
        let mut transfers: Vec<Transfer> = tracer
            .eth
            .iter()
            .map(|&(from, to, amount)| Transfer { asset: eth(), from, to, amount, event: None })
            .collect();
        let mut approvals = vec![];
        let mut permit2_at: Option<Address> = None;
        for log in logs {
            self.read_log(log, &mut transfers, &mut approvals);
            // Permit2's allowances live in the Permit2 contract that logged them.
            if approvals.last().is_some_and(|a| a.kind == ApprovalKind::Permit2) && permit2_at.is_none() {
                permit2_at = Some(log.address);
            }
        }
        (transfers, approvals, permit2_at)
    }

    /// Fills in the transfers' token symbols and decimals, read on the state after the
    /// transaction (the token may be new); returns what was read, by token.
    fn name_transfers(&self, post: &mut RunDb<'_>, transfers: &mut [Transfer]) -> Metadata {
        let mut meta: Metadata = BTreeMap::new();
        for t in transfers.iter().map(|t| &t.asset).filter(|a| a.kind != AssetKind::Eth) {
            let token = t.token.unwrap_or_default();
            if let std::collections::btree_map::Entry::Vacant(e) = meta.entry(token) {
                e.insert(self.metadata(post, token, t.kind));
            }
        }
        for t in transfers {
            if let Some((symbol, decimals)) = t.asset.token.and_then(|tok| meta.get(&tok)) {
                t.asset.symbol.clone_from(symbol);
                t.asset.decimals = *decimals;
            }
        }
        meta
    }

    /// Cross-checks the ERC-20 movements: what the logs say against what the balances say.
    /// Keeps the sender's balance before on its own changes (how much of it leaves).
    fn token_mismatches(
        &self,
        pre: &mut RunDb<'_>,
        post: &mut RunDb<'_>,
        asset_changes: &mut [AssetChange],
        from: Address,
    ) -> Vec<String> {
        let mut mismatches = vec![];
        for c in asset_changes.iter_mut().filter(|c| c.asset.kind == AssetKind::Erc20) {
            let token = c.asset.token.unwrap_or_default();
            let data: Bytes = abi::balanceOfCall { owner: c.address }.abi_encode().into();
            let before =
                self.view(pre, token, data.clone()).and_then(|b| abi::balanceOfCall::abi_decode_returns(&b).ok());
            let after = self.view(post, token, data).and_then(|b| abi::balanceOfCall::abi_decode_returns(&b).ok());
            if c.address == from {
                c.before = before;
            }
            if let (Some(before), Some(after)) = (before, after)
                && before.wrapping_add(c.received).wrapping_sub(c.sent) != after
            {
                mismatches.push(format!(
                    "token {token}: its logs say {} receives {} and sends {}, but its balance goes from {before} to {after}",
                    c.address, c.received, c.sent
                ));
            }
        }
        mismatches
    }

    /// Cross-checks the ETH movements: the traced transfers (and the sender's fee) against the
    /// balances every touched account ends with.
    fn eth_mismatches(
        &self,
        pre: &mut RunDb<'_>,
        changes: &revm::state::EvmState,
        transfers: &[Transfer],
        from: Address,
        fee: U256,
    ) -> Vec<String> {
        let mut mismatches = vec![];
        for (address, account) in changes.iter().filter(|(_, a)| a.is_touched()) {
            if *address == self.facts.coinbase {
                continue;
            }
            let before = pre.basic(*address).ok().flatten().map(|a| a.balance).unwrap_or_default();
            let after = account.info.balance;
            let (mut sent, received) = eth_flow(transfers, *address);
            if *address == from {
                sent += fee;
            }
            if before.wrapping_add(received).wrapping_sub(sent) != after {
                mismatches.push(format!(
                    "ETH: {address} should go from {before} to {} wei by the traced transfers, but ends at {after}",
                    before.wrapping_add(received).wrapping_sub(sent)
                ));
            }
        }
        mismatches
    }

    /// Fills in the approvals: before from the state ahead of the transaction, spender kind,
    /// symbol and decimals after it.
    fn complete_approvals(
        &self,
        pre: &mut RunDb<'_>,
        post: &mut RunDb<'_>,
        approvals: &mut [ApprovalChange],
        permit2_at: Option<Address>,
        meta: &mut Metadata,
    ) {
        for ap in approvals {
            ap.before = match ap.kind {
                ApprovalKind::Erc20 => {
                    let data = abi::allowanceCall { owner: ap.owner, spender: ap.spender }.abi_encode().into();
                    self.view(pre, ap.token, data).and_then(|b| abi::allowanceCall::abi_decode_returns(&b).ok())
                }
                ApprovalKind::ApprovalForAll => {
                    let data = abi::isApprovedForAllCall { owner: ap.owner, operator: ap.spender }.abi_encode().into();
                    self.view(pre, ap.token, data)
                        .and_then(|b| abi::isApprovedForAllCall::abi_decode_returns(&b).ok())
                        .map(|b| U256::from(u8::from(b)))
                }
                ApprovalKind::Permit2 => permit2_at.and_then(|p2| {
                    let data =
                        permit2::allowanceCall { user: ap.owner, token: ap.token, spender: ap.spender }.abi_encode();
                    self.view(pre, p2, data.into())
                        .and_then(|b| permit2::allowanceCall::abi_decode_returns(&b).ok())
                        .map(|r| U256::from(r.amount))
                }),
                ApprovalKind::Erc721 => ap.before,
            };
            ap.spender_kind = kind_of(post, ap.spender);
            let kind = if matches!(ap.kind, ApprovalKind::Erc20 | ApprovalKind::Permit2) {
                AssetKind::Erc20
            } else {
                AssetKind::Erc721
            };
            let (symbol, decimals) = match meta.get(&ap.token) {
                Some(m) => m.clone(),
                None => {
                    let m = self.metadata(post, ap.token, kind);
                    meta.insert(ap.token, m.clone());
                    m
                }
            };
            (ap.symbol, ap.decimals) = (symbol, decimals);
        }
    }

    fn view(&self, db: &mut RunDb<'_>, to: Address, data: Bytes) -> Option<Bytes> {
        exec::view(db, self.chain_id, self.spec, self.facts, to, data)
    }

    fn metadata(&self, db: &mut RunDb<'_>, token: Address, kind: AssetKind) -> (Option<String>, Option<u8>) {
        let symbol = self.view(db, token, abi::symbolCall {}.abi_encode().into()).and_then(|b| {
            abi::symbolCall::abi_decode_returns(&b).ok().or_else(|| {
                // Old tokens (MKR, SAI) return bytes32.
                (b.len() == 32).then(|| String::from_utf8_lossy(&b).trim_end_matches('\0').to_string())
            })
        });
        let symbol = symbol.map(|s| crate::text::clean(&s, 32)).filter(|s| !s.is_empty());
        let decimals = if kind == AssetKind::Erc20 {
            self.view(db, token, abi::decimalsCall {}.abi_encode().into())
                .and_then(|b| abi::decimalsCall::abi_decode_returns(&b).ok())
        } else {
            None
        };
        (symbol, decimals)
    }

    fn read_log(&self, log: &Log, transfers: &mut Vec<Transfer>, approvals: &mut Vec<ApprovalChange>) {
        let topics = log.topics();
        let token = log.address;
        let Some(&sig) = topics.first() else { return };
        let asset = |kind, token_id| Asset { kind, token: Some(token), token_id, symbol: None, decimals: None };
        let addr = |t: &B256| Address::from_word(*t);
        if sig == abi::Transfer::SIGNATURE_HASH && topics.len() == 3 && log.data.data.len() == 32 {
            let amount = U256::from_be_slice(&log.data.data);
            transfers.push(Transfer {
                asset: asset(AssetKind::Erc20, None),
                from: addr(&topics[1]),
                to: addr(&topics[2]),
                amount,
                event: Some("Transfer".into()),
            });
        } else if sig == abi::Transfer::SIGNATURE_HASH && topics.len() == 4 {
            let id = U256::from_be_bytes(topics[3].0);
            transfers.push(Transfer {
                asset: asset(AssetKind::Erc721, Some(id)),
                from: addr(&topics[1]),
                to: addr(&topics[2]),
                amount: U256::from(1),
                event: Some("Transfer".into()),
            });
        } else if let Ok(e) = abi::TransferSingle::decode_log_data(&log.data) {
            transfers.push(Transfer {
                asset: asset(AssetKind::Erc1155, Some(e.id)),
                from: e.from,
                to: e.to,
                amount: e.value,
                event: Some("TransferSingle".into()),
            });
        } else if let Ok(e) = abi::TransferBatch::decode_log_data(&log.data) {
            for (id, value) in e.ids.iter().zip(e.values.iter()) {
                transfers.push(Transfer {
                    asset: asset(AssetKind::Erc1155, Some(*id)),
                    from: e.from,
                    to: e.to,
                    amount: *value,
                    event: Some("TransferBatch".into()),
                });
            }
        } else if let Ok(e) = abi::Deposit::decode_log_data(&log.data) {
            transfers.push(Transfer {
                asset: asset(AssetKind::Erc20, None),
                from: Address::ZERO,
                to: e.dst,
                amount: e.wad,
                event: Some("Deposit".into()),
            });
        } else if let Ok(e) = abi::Withdrawal::decode_log_data(&log.data) {
            transfers.push(Transfer {
                asset: asset(AssetKind::Erc20, None),
                from: e.src,
                to: Address::ZERO,
                amount: e.wad,
                event: Some("Withdrawal".into()),
            });
        } else if sig == abi::Approval::SIGNATURE_HASH && topics.len() == 3 && log.data.data.len() == 32 {
            let after = U256::from_be_slice(&log.data.data);
            push_approval(approvals, ApprovalKind::Erc20, token, addr(&topics[1]), addr(&topics[2]), None, after, None);
        } else if sig == abi::Approval::SIGNATURE_HASH && topics.len() == 4 {
            // ERC-721: approves one token; a zero address clears it.
            let id = U256::from_be_bytes(topics[3].0);
            let spender = addr(&topics[2]);
            let after = U256::from(u8::from(!spender.is_zero()));
            push_approval(approvals, ApprovalKind::Erc721, token, addr(&topics[1]), spender, Some(id), after, None);
        } else if let Ok(e) = abi::ApprovalForAll::decode_log_data(&log.data) {
            let after = U256::from(u8::from(e.approved));
            push_approval(approvals, ApprovalKind::ApprovalForAll, token, e.owner, e.operator, None, after, None);
        } else if let Ok(e) = permit2::Approval::decode_log_data(&log.data) {
            let after = U256::from(e.amount);
            let exp = Some(e.expiration.to::<u64>());
            push_approval(approvals, ApprovalKind::Permit2, e.token, e.owner, e.spender, None, after, exp);
        } else if let Ok(e) = permit2::Permit::decode_log_data(&log.data) {
            let after = U256::from(e.amount);
            let exp = Some(e.expiration.to::<u64>());
            push_approval(approvals, ApprovalKind::Permit2, e.token, e.owner, e.spender, None, after, exp);
        }
    }
}

fn eth() -> Asset {
    Asset { kind: AssetKind::Eth, token: None, token_id: None, symbol: Some("ETH".into()), decimals: Some(18) }
}

/// ETH sent and received by `address` in `transfers`.
fn eth_flow(transfers: &[Transfer], address: Address) -> (U256, U256) {
    let mut flow = (U256::ZERO, U256::ZERO);
    for t in transfers.iter().filter(|t| t.asset.kind == AssetKind::Eth) {
        if t.from == address {
            flow.0 += t.amount;
        }
        if t.to == address {
            flow.1 += t.amount;
        }
    }
    flow
}

/// Net changes per (address, asset), sorted. The zero address (mints, burns) is left out.
fn net(transfers: &[Transfer]) -> Vec<AssetChange> {
    let mut map: BTreeMap<(Address, Asset), (U256, U256)> = BTreeMap::new();
    for t in transfers {
        if t.from == t.to {
            continue;
        }
        map.entry((t.from, t.asset.clone())).or_default().0 += t.amount;
        map.entry((t.to, t.asset.clone())).or_default().1 += t.amount;
    }
    map.into_iter()
        .filter(|((address, _), _)| !address.is_zero())
        .map(|((address, asset), (sent, received))| AssetChange { address, asset, sent, received, before: None })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn push_approval(
    list: &mut Vec<ApprovalChange>,
    kind: ApprovalKind,
    token: Address,
    owner: Address,
    spender: Address,
    token_id: Option<U256>,
    after: U256,
    expiration: Option<u64>,
) {
    // The last event for the same allowance is what stays.
    list.retain(|a| {
        !(a.kind == kind && a.token == token && a.owner == owner && a.spender == spender && a.token_id == token_id)
    });
    list.push(crate::typed::approval(kind, token, owner, spender, token_id, after, expiration));
}

/// EOA, contract, or EOA delegated by EIP-7702, by its code at the state `db` holds.
fn kind_of(db: &mut RunDb<'_>, address: Address) -> AccountKind {
    let code = db.basic(address).ok().flatten().and_then(|a| a.code).map(|c| c.original_bytes()).unwrap_or_default();
    if code.is_empty() {
        AccountKind::Eoa
    } else if code.starts_with(&DELEGATION_PREFIX) {
        AccountKind::Delegated
    } else {
        AccountKind::Contract
    }
}

/// What one execution left: the sender's nonce and balance before it, its gas and fee, its
/// outcome, logs and trace, and the state changes it makes.
struct Executed {
    from: Address,
    from_balance: U256,
    nonce: u64,
    gas_limit: u64,
    gas_used: u64,
    fee: U256,
    outcome: Outcome,
    logs: Vec<Log>,
    changes: revm::state::EvmState,
    tracer: Tracer,
}

/// Token symbol and decimals, by token.
type Metadata = BTreeMap<Address, (Option<String>, Option<u8>)>;

/// 7702: what each authority delegates to before and after.
fn delegations(pre: &mut RunDb<'_>, tx: &TxView, changes: &revm::state::EvmState) -> Vec<DelegationChange> {
    let mut delegations = vec![];
    for authority in tx.authorization_list.iter().filter_map(|a| a.authority) {
        let before = pre.basic(authority).ok().flatten().and_then(|a| a.code).and_then(|c| c.eip7702_address());
        let after = changes.get(&authority).and_then(|a| a.info.code.as_ref()).and_then(|c| c.eip7702_address());
        let after = if changes.contains_key(&authority) { after } else { before };
        if before != after && !delegations.iter().any(|d: &DelegationChange| d.authority == authority) {
            delegations.push(DelegationChange { authority, before, after });
        }
    }
    delegations
}

/// The contracts the transaction creates (in frames that did not fail, and that exist after it).
fn created(tracer: &Tracer, changes: &revm::state::EvmState) -> Vec<Address> {
    tracer
        .calls
        .iter()
        .filter(|c| matches!(c.kind, CallKind::Create | CallKind::Create2) && !c.failed)
        .map(|c| c.to)
        .filter(|a| changes.get(a).is_some_and(|acc| acc.is_created()))
        .collect()
}

/// What every address the person will read about is, after the request.
fn account_kinds(
    post: &mut RunDb<'_>,
    tx: &TxView,
    transfers: &[Transfer],
    approvals: &[ApprovalChange],
    tracer: &Tracer,
) -> BTreeMap<Address, AccountKind> {
    let mut account_kinds = BTreeMap::new();
    let involved = tx
        .to
        .into_iter()
        .chain(transfers.iter().flat_map(|t| [t.from, t.to]))
        .chain(approvals.iter().map(|a| a.spender))
        .chain(tracer.calls.iter().map(|c| c.to))
        .filter(|a| !a.is_zero());
    for address in involved {
        if let std::collections::btree_map::Entry::Vacant(e) = account_kinds.entry(address) {
            e.insert(kind_of(post, address));
        }
    }
    account_kinds
}

/// Where the sender's assets end up: each direct recipient, except that ETH paid to an address
/// that sends ETH on within the transaction is followed one hop to where it went.
fn final_recipients(from: Address, transfers: &[airlock_types::Transfer]) -> Vec<airlock_types::FinalRecipient> {
    let eth = |t: &&airlock_types::Transfer| t.asset.kind == AssetKind::Eth;
    let mut out = vec![];
    for paid in transfers.iter().filter(|t| t.from == from && t.to != from) {
        let onward: Vec<_> =
            transfers.iter().filter(eth).filter(|t| t.from == paid.to && t.to != from && t.to != paid.to).collect();
        if paid.asset.kind != AssetKind::Eth || onward.is_empty() {
            out.push(airlock_types::FinalRecipient {
                address: paid.to,
                asset: paid.asset.clone(),
                amount: paid.amount,
                via: None,
            });
            continue;
        }
        for on in onward {
            out.push(airlock_types::FinalRecipient {
                address: on.to,
                asset: on.asset.clone(),
                amount: paid.amount.min(on.amount),
                via: Some(paid.to),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Fetched;
    use alloy_primitives::address;

    const FROM: Address = address!("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266");
    const TO: Address = address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    const ETH: u128 = 1_000_000_000_000_000_000;

    fn facts() -> BlockFacts {
        BlockFacts {
            number: 100,
            hash: B256::repeat_byte(1),
            timestamp: 1_800_000_000,
            base_fee: 1_000_000_000,
            gas_limit: 30_000_000,
            coinbase: Address::repeat_byte(0xcb),
            prevrandao: B256::ZERO,
            excess_blob_gas: Some(0),
            gas_used: 0,
        }
    }

    /// The sender with 10 ETH and `nonce` used; the recipient and the coinbase empty.
    fn state(nonce: u64) -> BlockState {
        let mut s = BlockState::default();
        let empty = |address| Fetched { address, code_hash: alloy_primitives::KECCAK256_EMPTY, ..Default::default() };
        s.insert(Fetched { balance: U256::from(10 * ETH), nonce, ..empty(FROM) });
        s.insert(Fetched { code: Some(Bytes::new()), ..empty(TO) });
        s.insert(Fetched { code: Some(Bytes::new()), ..empty(facts().coinbase) });
        s
    }

    fn send(nonce: u64) -> TxView {
        TxView {
            from: Some(FROM),
            to: Some(TO),
            value: U256::from(ETH),
            nonce: Some(nonce),
            gas: Some(21_000),
            max_fee_per_gas: Some(2_000_000_000),
            max_priority_fee_per_gas: Some(1),
            tx_type: Some(2),
            ..Default::default()
        }
    }

    fn run(state: &BlockState, ahead: &[TxView], tx: &TxView) -> Result<SimulationReport, SimError> {
        let (report, misses) = simulate(state, 1337, (&facts(), &facts()), ahead, tx);
        assert!(misses.is_empty(), "everything is in the state: {misses:?}");
        report
    }

    #[test]
    fn a_send_runs_on_the_state_its_predecessors_leave() {
        let state = state(0);
        let alone = run(&state, &[], &send(2));
        assert!(matches!(&alone, Err(SimError::Invalid(why)) if why.contains("nonce")), "{alone:?}");

        let first = run(&state, &[], &send(0)).expect("nonce 0 runs on the head");
        let third = run(&state, &[send(0), send(1)], &send(2)).expect("after 0 and 1");
        assert_eq!(third.queued_ahead, 2);
        let spent = (U256::from(ETH) + first.fee) * U256::from(2);
        assert_eq!(third.from_balance, first.from_balance - spent, "it sees what the two before it spent");
        assert_eq!(third.asset_changes, first.asset_changes, "its own report is its own transfer only");
    }

    #[test]
    fn predecessors_already_in_a_block_are_skipped() {
        let mined = state(2);
        let report = run(&mined, &[send(0), send(1)], &send(2)).expect("the head has both");
        assert_eq!(report.queued_ahead, 0);
        assert_eq!(report.from_balance, U256::from(10 * ETH));
    }

    #[test]
    fn a_predecessor_that_cannot_be_included_is_named() {
        let state = state(0);
        let gap = run(&state, &[send(1)], &send(2));
        assert!(matches!(&gap, Err(SimError::Invalid(why)) if why.contains("queued ahead of it (nonce 1)")), "{gap:?}");
        let batch = simulate_batch(&state, 1337, &facts(), &[send(0)], &[send(1), send(2)]).0.expect("a batch after 0");
        assert_eq!(batch.queued_ahead, 1);
        assert_eq!(batch.value, U256::from(2 * ETH), "the batch's own two sends");
    }
}
