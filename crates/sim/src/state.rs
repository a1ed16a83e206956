//! The per-block cache of fetched state, and the revm database over it.
//!
//! revm reads synchronously; fetching is asynchronous. A run reads only the cache. Whatever it
//! misses is recorded and answered as empty, the run goes on (finding more misses in the same
//! pass), and its result is thrown away; the simulator fetches every miss at once and runs again.
//! A run whose misses are all empty is the real one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;

use alloy_primitives::{Address, B256, KECCAK256_EMPTY, U256};
use revm::Database;
use revm::bytecode::Bytecode;
use revm::state::{Account, AccountInfo};

use crate::source::{Fetched, Want};

/// Everything fetched at one block.
#[derive(Debug, Default, Clone)]
pub(crate) struct BlockState {
    /// `None`: fetched and the account holds nothing.
    accounts: HashMap<Address, Option<AccountInfo>>,
    storage: HashMap<(Address, U256), U256>,
    block_hashes: HashMap<u64, B256>,
}

impl BlockState {
    pub(crate) fn insert(&mut self, f: Fetched) {
        let code = match f.code {
            // Code that starts like a 7702 designator but is not one cannot be on chain (EIP-3541);
            // from an unverified upstream it is kept as plain bytes, never a panic.
            Some(code) if !code.is_empty() => {
                Some(Bytecode::new_raw_checked(code.clone()).unwrap_or_else(|_| Bytecode::new_legacy(code)))
            }
            Some(_) => Some(Bytecode::default()),
            // Code was not asked for because it is known already.
            None => self.accounts.get(&f.address).and_then(|a| a.as_ref()).and_then(|a| a.code.clone()),
        };
        let empty = f.nonce == 0 && f.balance.is_zero() && f.code_hash == KECCAK256_EMPTY;
        let info = (!empty || !f.storage.iter().all(|(_, v)| v.is_zero())).then(|| AccountInfo {
            balance: f.balance,
            nonce: f.nonce,
            code_hash: f.code_hash,
            code: code.or(Some(Bytecode::default())),
            account_id: None,
        });
        self.accounts.insert(f.address, info);
        for (slot, value) in f.storage {
            self.storage.insert((f.address, U256::from_be_bytes(slot.0)), value);
        }
    }

    pub(crate) fn insert_block_hash(&mut self, number: u64, hash: B256) {
        self.block_hashes.insert(number, hash);
    }

    pub(crate) fn has_block_hash(&self, number: u64) -> bool {
        self.block_hashes.contains_key(&number)
    }

    pub(crate) fn has_account(&self, address: &Address) -> bool {
        self.accounts.contains_key(address)
    }

    /// A fetched account: `Some(None)` when it holds nothing, `None` when not fetched.
    pub(crate) fn account(&self, address: &Address) -> Option<Option<&AccountInfo>> {
        self.accounts.get(address).map(|a| a.as_ref())
    }

    /// A fetched slot's value.
    pub(crate) fn slot(&self, address: Address, slot: B256) -> Option<U256> {
        self.storage.get(&(address, U256::from_be_bytes(slot.0))).copied()
    }

    pub(crate) fn has_slot(&self, address: Address, slot: B256) -> bool {
        self.storage.contains_key(&(address, U256::from_be_bytes(slot.0)))
    }
}

/// What a run read but the cache did not hold.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Misses {
    pub accounts: BTreeSet<Address>,
    pub slots: BTreeMap<Address, BTreeSet<B256>>,
    pub block_hashes: BTreeSet<u64>,
}

impl Misses {
    pub(crate) fn is_empty(&self) -> bool {
        self.accounts.is_empty() && self.slots.is_empty() && self.block_hashes.is_empty()
    }

    /// The fetches that cover these misses: one per account, its missing slots with it.
    pub(crate) fn wants(&self) -> Vec<Want> {
        let addresses: BTreeSet<Address> = self.accounts.iter().chain(self.slots.keys()).copied().collect();
        addresses
            .into_iter()
            .map(|address| Want {
                address,
                slots: self.slots.get(&address).map(|s| s.iter().copied().collect()).unwrap_or_default(),
                code: self.accounts.contains(&address),
            })
            .collect()
    }
}

/// One run's view: the cache, plus the run's own writes when it is a follow-up over the state
/// that an earlier run left (reads of balances after a transaction).
#[derive(Debug)]
pub(crate) struct RunDb<'a> {
    base: &'a BlockState,
    overlay: HashMap<Address, Account>,
    pub(crate) misses: Misses,
}

impl<'a> RunDb<'a> {
    pub(crate) fn new(base: &'a BlockState) -> Self {
        RunDb { base, overlay: HashMap::new(), misses: Misses::default() }
    }

    /// A view of `base` after the changes in `states`, in order.
    pub(crate) fn after(base: &'a BlockState, states: &[&revm::state::EvmState]) -> Self {
        let mut db = RunDb::new(base);
        for s in states {
            db.commit_state(s);
        }
        db
    }

    fn commit_state(&mut self, state: &revm::state::EvmState) {
        for (address, account) in state {
            if !account.is_touched() {
                continue;
            }
            let entry = self.overlay.entry(*address).or_insert_with(|| Account::from(AccountInfo::default()));
            if account.is_selfdestructed() {
                entry.info = AccountInfo::default();
                entry.storage.clear();
                entry.mark_selfdestruct();
                continue;
            }
            entry.info = account.info.clone();
            for (k, v) in &account.storage {
                entry.storage.insert(*k, v.clone());
            }
        }
    }

    fn account_info(&self, address: Address) -> Option<Option<AccountInfo>> {
        if let Some(a) = self.overlay.get(&address) {
            return Some(Some(a.info.clone()));
        }
        self.base.accounts.get(&address).cloned()
    }
}

impl Database for RunDb<'_> {
    type Error = Infallible;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, Infallible> {
        match self.account_info(address) {
            Some(info) => Ok(info),
            None => {
                self.misses.accounts.insert(address);
                Ok(None)
            }
        }
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, Infallible> {
        // Accounts carry their code; this is only asked for code that was never loaded.
        let found = self
            .overlay
            .values()
            .map(|a| &a.info)
            .chain(self.base.accounts.values().flatten())
            .find(|i| i.code_hash == code_hash)
            .and_then(|i| i.code.clone());
        Ok(found.unwrap_or_default())
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, Infallible> {
        if let Some(a) = self.overlay.get(&address) {
            if let Some(slot) = a.storage.get(&index) {
                return Ok(slot.present_value);
            }
            if a.is_selfdestructed() || a.is_created() {
                return Ok(U256::ZERO);
            }
        }
        match self.base.storage.get(&(address, index)) {
            Some(v) => Ok(*v),
            None => {
                self.misses.slots.entry(address).or_default().insert(B256::from(index));
                Ok(U256::ZERO)
            }
        }
    }

    fn block_hash(&mut self, number: u64) -> Result<B256, Infallible> {
        match self.base.block_hashes.get(&number) {
            Some(h) => Ok(*h),
            None => {
                self.misses.block_hashes.insert(number);
                Ok(B256::ZERO)
            }
        }
    }
}
