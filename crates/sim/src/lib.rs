//! airlock-sim: runs held requests in revm on state that a [`StateSource`] vouches for, and turns
//! the execution into a [`SimulationReport`].
//!
//! revm is synchronous and the state lives behind an asynchronous, untrusted upstream. The
//! simulator first fetches what an access-list hint names (in parallel, one proof per account),
//! then runs; whatever the run still misses is fetched in one round and the run repeated, until a
//! run misses nothing. Fetched state is cached per block, so a warm request fetches nothing.

pub mod abi;
mod analyse;
mod cache;
pub mod calldata;
mod evasion;
mod exec;
mod inspect;
mod revert;
pub mod source;
mod state;
mod text;
pub mod typed;

use std::sync::Arc;

use airlock_types::{BlockFacts, Outcome, OutcomeStatus, SimulationReport, TxView};
use alloy_primitives::{Address, B256, Bytes, U256};
use revm::Database;
use revm::context::result::ExecutionResult;

pub use revert::describe as describe_revert;
pub use source::{Fetched, Head, SourceError, StateSource, Want};
use state::{BlockState, Misses, RunDb};
pub use text::clean;

/// Fetch rounds after which a simulation gives up (each round can only be caused by a read the
/// previous round did not know about; real transactions need two or three).
const MAX_ROUNDS: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// The state could not be read or did not verify.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The transaction cannot be included as it stands (nonce, funds, gas, fields).
    #[error("the transaction is not valid at this block: {0}")]
    Invalid(String),
    #[error("the simulation kept finding state it had not fetched after {MAX_ROUNDS} rounds")]
    Unfinished,
}

/// The result of an eth_call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallResult {
    pub outcome: Outcome,
    pub gas_used: u64,
}

/// An account as the head's state has it (proven, with a verifying source): what the
/// provenance checks read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountState {
    pub address: Address,
    pub nonce: u64,
    pub balance: U256,
    pub code_hash: B256,
    /// Empty for an account without code; a 7702 designator for a delegated one.
    pub code: Bytes,
    /// The slots asked for, with their values (zero when unset).
    pub storage: Vec<(B256, U256)>,
}

#[derive(Debug)]
pub struct Simulator<S> {
    source: S,
    chain_id: u64,
    cache: cache::BlockCache,
}

impl<S: StateSource> Simulator<S> {
    pub fn new(source: S, chain_id: u64) -> Self {
        Simulator { source, chain_id, cache: Default::default() }
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// What `tx` would do if sent now, on the state of `head`.
    pub async fn simulate(&self, head: &Head, tx: &TxView) -> Result<SimulationReport, SimError> {
        self.simulate_after(head, &[], tx).await
    }

    /// What `tx` would do on the state of `head` once `ahead` has run: the same sender's sends
    /// queued before it (held, approved, or sent and not yet in a block), in nonce order. Those
    /// whose nonce the sender has used at `head` are in it already and are skipped. The report is
    /// `tx`'s own; it says how many ran before it.
    pub async fn simulate_after(
        &self,
        head: &Head,
        ahead: &[TxView],
        tx: &TxView,
    ) -> Result<SimulationReport, SimError> {
        check_ahead(ahead)?;
        let _pin = self.cache.pin(head.facts.hash);
        self.prefetch(head, ahead, tx).await?;
        let run = |facts: BlockFacts| {
            self.converge(head, move |s| analyse::simulate(s, self.chain_id, (&facts, &head.facts), ahead, tx))
        };
        let mut report = run(head.facts.clone()).await?;
        // Evasion check: code that behaves one way when it thinks it is simulated and another in
        // a real block shows a different result under another plausible environment.
        for (environment, facts) in evasion::variants(&head.facts, tx) {
            let other = match run(facts).await {
                Ok(other) => other,
                // Not includable there (the higher base fee above what the sender holds): that
                // says nothing about the code, but the item says this variant was not tried.
                Err(SimError::Invalid(why)) => {
                    report.unchecked.push(format!("{environment}: not includable there ({why})"));
                    continue;
                }
                // State that cannot be read or does not verify is an error of the whole report.
                Err(e) => return Err(e),
            };
            if let Some(difference) = evasion::difference(&report, &other) {
                report.divergences.push(airlock_types::Divergence { environment, difference });
            }
        }
        Ok(report)
    }

    /// What a batch (wallet_sendCalls) would do: its calls one after another from the sender,
    /// each on the state the previous ones left, in one merged report.
    pub async fn simulate_batch(&self, head: &Head, txs: &[TxView]) -> Result<SimulationReport, SimError> {
        self.simulate_batch_after(head, &[], txs).await
    }

    /// [`Simulator::simulate_batch`] once `ahead` has run (as in [`Simulator::simulate_after`]).
    pub async fn simulate_batch_after(
        &self,
        head: &Head,
        ahead: &[TxView],
        txs: &[TxView],
    ) -> Result<SimulationReport, SimError> {
        check_ahead(ahead)?;
        let _pin = self.cache.pin(head.facts.hash);
        for tx in txs {
            self.prefetch(head, ahead, tx).await?;
        }
        self.converge(head, |state| analyse::simulate_batch(state, self.chain_id, &head.facts, ahead, txs)).await
    }

    /// What a signature request would authorise, with the spenders' kinds, token symbols and
    /// current allowances read from the state of `head`.
    pub async fn signature(
        &self,
        head: &Head,
        sign: &airlock_types::SignView,
    ) -> Result<airlock_types::SignatureReport, SimError> {
        let _pin = self.cache.pin(head.facts.hash);
        let base = typed::describe(sign);
        let mut wanted = Misses::default();
        for ap in &base.approvals {
            wanted.accounts.extend([ap.token, ap.spender]);
        }
        wanted.accounts.extend(base.verifying_contract);
        wanted.accounts.extend(base.transfers.iter().filter_map(|t| t.asset.token));
        self.fill(head, wanted).await?;
        self.converge(head, |state| {
            let mut r = base.clone();
            let misses = analyse::enrich_signature(state, self.chain_id, &head.facts, &mut r);
            (Ok(r), misses)
        })
        .await
    }

    /// The accounts asked for, each with the slots named, read on the state of `head` (fetched
    /// at once, proven by a verifying source).
    pub async fn accounts(&self, head: &Head, wanted: &[(Address, Vec<B256>)]) -> Result<Vec<AccountState>, SimError> {
        let mut misses = Misses::default();
        for (a, slots) in wanted {
            misses.accounts.insert(*a);
            if !slots.is_empty() {
                misses.slots.entry(*a).or_default().extend(slots.iter().copied());
            }
        }
        let _pin = self.cache.pin(head.facts.hash);
        self.fill(head, misses).await?;
        let state = self.cache.snapshot(head.facts.hash);
        Ok(wanted
            .iter()
            .map(|(a, slots)| {
                let info = state.account(a).flatten();
                AccountState {
                    address: *a,
                    nonce: info.map_or(0, |i| i.nonce),
                    balance: info.map_or(U256::ZERO, |i| i.balance),
                    code_hash: info.map_or(alloy_primitives::KECCAK256_EMPTY, |i| i.code_hash),
                    code: info.and_then(|i| i.code.as_ref()).map(|c| c.original_bytes()).unwrap_or_default(),
                    storage: slots.iter().map(|s| (*s, state.slot(*a, *s).unwrap_or_default())).collect(),
                }
            })
            .collect())
    }

    /// eth_call: the output of `tx` as a call on the state of `head`.
    pub async fn call(&self, head: &Head, tx: &TxView) -> Result<CallResult, SimError> {
        let _pin = self.cache.pin(head.facts.hash);
        self.prefetch(head, &[], tx).await?;
        self.converge(head, |state| self.call_once(state, head, tx, None)).await
    }

    /// eth_estimateGas: the least gas limit with which `tx` succeeds (searched as the nodes do:
    /// a run at the cap, then bisection). A request that fails at the cap is returned as its
    /// failure.
    pub async fn estimate_gas(&self, head: &Head, tx: &TxView) -> Result<Result<u64, CallResult>, SimError> {
        let _pin = self.cache.pin(head.facts.hash);
        let at_cap = self.call(head, tx).await?;
        if at_cap.outcome.status != OutcomeStatus::Success {
            return Ok(Err(at_cap));
        }
        let spec = exec::spec(self.chain_id, head.facts.timestamp);
        let cap = tx.gas.unwrap_or_else(|| exec::default_gas(&head.facts, spec));
        // Every probe reads what the first run read; anything else it reads is fetched.
        // A probe the transaction cannot even start with (below its intrinsic gas) is too low,
        // as for the nodes: the search goes on above it.
        let ok = |gas: u64| async move {
            match self.converge(head, |state| self.call_once(state, head, tx, Some(gas))).await {
                Ok(r) => Ok(r.outcome.status == OutcomeStatus::Success),
                Err(SimError::Invalid(_)) => Ok(false),
                Err(e) => Err(e),
            }
        };
        let mut lo = at_cap.gas_used.saturating_sub(1);
        let mut hi = cap;
        // Most calls succeed with what they used, plus the 1/64 retained by every call frame.
        let guess = (at_cap.gas_used.saturating_add(2300)).saturating_mul(64) / 63;
        if guess < hi && ok(guess).await? {
            hi = guess;
        }
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            if ok(mid).await? {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Ok(Ok(hi))
    }

    fn call_once(
        &self,
        state: &BlockState,
        head: &Head,
        tx: &TxView,
        gas: Option<u64>,
    ) -> (Result<CallResult, SimError>, Misses) {
        let spec = exec::spec(self.chain_id, head.facts.timestamp);
        let mut db = RunDb::new(state);
        let from = tx.from.unwrap_or(Address::ZERO);
        let nonce = db.basic(from).ok().flatten().map(|a| a.nonce).unwrap_or(0);
        let cfg = exec::cfg(self.chain_id, spec, exec::Fill::Call, tx);
        let block = exec::block_env(&head.facts, &cfg);
        let tx_env = exec::tx_env(tx, self.chain_id, &head.facts, spec, exec::Fill::Call, nonce, gas);
        let ran = exec::run(&mut db, cfg, block, tx_env, revm::inspector::NoOpInspector);
        let result = match ran {
            Ok(out) => Ok({
                let gas_used = out.result.tx_gas_used();
                match out.result {
                    ExecutionResult::Success { output, .. } => CallResult {
                        outcome: Outcome { status: OutcomeStatus::Success, reason: None, output: output.into_data() },
                        gas_used,
                    },
                    ExecutionResult::Revert { output, .. } => CallResult {
                        outcome: Outcome {
                            status: OutcomeStatus::Revert,
                            reason: Some(revert::describe(&output)),
                            output,
                        },
                        gas_used,
                    },
                    ExecutionResult::Halt { reason, .. } => CallResult {
                        outcome: Outcome {
                            status: OutcomeStatus::Halt,
                            reason: Some(format!("{reason:?}")),
                            output: Bytes::new(),
                        },
                        gas_used,
                    },
                }
            }),
            Err(e) => Err(SimError::Invalid(e.to_string())),
        };
        (result, db.misses)
    }

    /// Fetches what the request (and the sends queued ahead of it) names and the access-list
    /// hint adds, all in one round.
    async fn prefetch(&self, head: &Head, ahead: &[TxView], tx: &TxView) -> Result<(), SimError> {
        let mut wanted = Misses::default();
        wanted.accounts.insert(head.facts.coinbase);
        for t in ahead.iter().chain([tx]) {
            named(t, &mut wanted);
        }
        // The hint costs a round trip; a warm cache for the request's own accounts skips it.
        let cold = self.cache.with(head.facts.hash, |s| wanted.accounts.iter().any(|a| !s.has_account(a)));
        if cold {
            for (address, slots) in self.source.access_hint(head, tx).await {
                wanted.accounts.insert(address);
                wanted.slots.entry(address).or_default().extend(slots);
            }
        }
        self.fill(head, wanted).await
    }

    /// Runs `job` until it misses nothing, fetching what it missed between runs.
    async fn converge<T>(
        &self,
        head: &Head,
        mut job: impl FnMut(&BlockState) -> (Result<T, SimError>, Misses),
    ) -> Result<T, SimError> {
        for _ in 0..MAX_ROUNDS {
            // A snapshot: revm runs without the lock, so simulations run side by side; a fill
            // meanwhile copies the state rather than changing what a run reads.
            let state = self.cache.snapshot(head.facts.hash);
            let (out, misses) = job(&state);
            // Let go of the snapshot before filling, or the fill would copy the state.
            drop(state);
            if misses.is_empty() {
                return out;
            }
            self.fill(head, misses).await?;
        }
        Err(SimError::Unfinished)
    }

    /// Fetches the misses that the cache does not hold yet, and stores them.
    async fn fill(&self, head: &Head, mut misses: Misses) -> Result<(), SimError> {
        self.cache.with(head.facts.hash, |state| {
            misses.accounts.retain(|a| !state.has_account(a));
            for (a, slots) in misses.slots.iter_mut() {
                slots.retain(|s| !state.has_slot(*a, *s));
            }
            misses.slots.retain(|_, s| !s.is_empty());
            misses.block_hashes.retain(|n| !state.has_block_hash(*n));
        });
        let mut hashes = vec![];
        for n in &misses.block_hashes {
            hashes.push((*n, self.source.block_hash(head, *n).await?));
        }
        let fetched = if misses.accounts.is_empty() && misses.slots.is_empty() {
            vec![]
        } else {
            self.source.fetch(head, misses.wants()).await?
        };
        self.cache.with(head.facts.hash, |state| {
            let state = Arc::make_mut(state);
            for f in fetched {
                state.insert(f);
            }
            for (n, h) in hashes {
                state.insert_block_hash(n, h);
            }
        });
        Ok(())
    }
}

/// The accounts and slots a transaction names: sender, recipient, authorities, access list.
fn named(tx: &TxView, wanted: &mut Misses) {
    wanted.accounts.insert(tx.from.unwrap_or(Address::ZERO));
    wanted.accounts.extend(tx.to);
    for a in &tx.authorization_list {
        wanted.accounts.insert(a.address);
        wanted.accounts.extend(a.authority);
    }
    for e in &tx.access_list {
        wanted.accounts.insert(e.address);
        wanted.slots.entry(e.address).or_default().extend(e.storage_keys.iter().copied());
    }
}

/// Sends queued ahead of one request that a simulation runs at most (the open items and the
/// sends followed until they are in a block are bounded by the same number).
pub const MAX_AHEAD: usize = 512;

fn check_ahead(ahead: &[TxView]) -> Result<(), SimError> {
    if ahead.len() > MAX_AHEAD {
        return Err(SimError::Invalid(format!(
            "{} sends from this account are queued ahead of it, more than the {MAX_AHEAD} Airlock simulates",
            ahead.len()
        )));
    }
    Ok(())
}
