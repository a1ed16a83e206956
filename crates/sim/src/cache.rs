//! The fetched state of the last few blocks, shared by every simulation on them.
//!
//! A simulation fetches in rounds and reads the cache between them, so the block it runs on must
//! stay cached until it is done: a simulation pins its block, and only unpinned blocks are
//! dropped. (Without the pin, a burst of approvals, each mined into a new head, dropped blocks
//! under simulations still fetching on them, which then fetched the same state round after
//! round until they gave up.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use alloy_primitives::B256;

use crate::state::BlockState;

/// Unpinned blocks whose state stays cached.
const CACHED_BLOCKS: usize = 4;

struct Cached {
    hash: B256,
    state: Arc<BlockState>,
    /// Simulations running on this block now.
    pins: usize,
}

#[derive(Default)]
pub(crate) struct BlockCache(Mutex<VecDeque<Cached>>);

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache").field("blocks", &self.lock().len()).finish()
    }
}

/// Keeps a block cached while it lives.
pub(crate) struct Pin<'a> {
    cache: &'a BlockCache,
    hash: B256,
}

impl Drop for Pin<'_> {
    fn drop(&mut self) {
        let mut blocks = self.cache.lock();
        if let Some(b) = blocks.iter_mut().find(|b| b.hash == self.hash) {
            b.pins = b.pins.saturating_sub(1);
        }
        trim(&mut blocks);
    }
}

impl BlockCache {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Cached>> {
        // Every change is a whole insert: a panic elsewhere cannot leave a half-written block.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps block `hash` cached (created empty when new) until the pin is dropped.
    pub(crate) fn pin(&self, hash: B256) -> Pin<'_> {
        let mut blocks = self.lock();
        entry(&mut blocks, hash).pins += 1;
        Pin { cache: self, hash }
    }

    /// The state of block `hash` as it is now; a fill meanwhile copies it rather than changing
    /// what this snapshot reads.
    pub(crate) fn snapshot(&self, hash: B256) -> Arc<BlockState> {
        entry(&mut self.lock(), hash).state.clone()
    }

    /// Runs `f` on block `hash`'s state, to read or to change it (a change copies the state only
    /// while a snapshot of it is held).
    pub(crate) fn with<T>(&self, hash: B256, f: impl FnOnce(&mut Arc<BlockState>) -> T) -> T {
        f(&mut entry(&mut self.lock(), hash).state)
    }
}

/// Block `hash`, created empty when new (and the oldest unpinned ones dropped).
fn entry(blocks: &mut VecDeque<Cached>, hash: B256) -> &mut Cached {
    if let Some(i) = blocks.iter().position(|b| b.hash == hash) {
        return &mut blocks[i];
    }
    blocks.push_back(Cached { hash, state: Arc::default(), pins: 0 });
    trim(blocks);
    blocks.iter_mut().find(|b| b.hash == hash).expect("just pushed, and a new block is kept")
}

/// Drops the oldest unpinned blocks beyond [`CACHED_BLOCKS`], never the newest one.
fn trim(blocks: &mut VecDeque<Cached>) {
    while blocks.len() > CACHED_BLOCKS {
        let last = blocks.len() - 1;
        let Some(i) = blocks.iter().take(last).position(|b| b.pins == 0) else { return };
        blocks.remove(i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: u8) -> B256 {
        B256::repeat_byte(n)
    }

    #[test]
    fn a_pinned_block_outlives_newer_ones() {
        let cache = BlockCache::default();
        let pin = cache.pin(hash(1));
        cache.with(hash(1), |s| Arc::make_mut(s).insert_block_hash(7, hash(9)));
        for n in 2..20 {
            cache.snapshot(hash(n));
        }
        assert!(cache.snapshot(hash(1)).has_block_hash(7), "the pinned block kept what was fetched");
        drop(pin);
        for n in 20..30 {
            cache.snapshot(hash(n));
        }
        assert!(!cache.snapshot(hash(1)).has_block_hash(7), "unpinned, it was dropped like any other");
        assert_eq!(cache.lock().len(), CACHED_BLOCKS);
    }

    #[test]
    fn unpinned_blocks_stay_bounded() {
        let cache = BlockCache::default();
        let pins: Vec<_> = (0..10).map(|n| cache.pin(hash(n))).collect();
        assert_eq!(cache.lock().len(), 10, "every pinned block is kept");
        drop(pins);
        assert_eq!(cache.lock().len(), CACHED_BLOCKS);
    }
}
