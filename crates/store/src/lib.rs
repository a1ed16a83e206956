//! airlock-store: the audit log and local state, in sled.
//!
//! Every held item is written when it arrives and again at every change, and flushed to disk
//! before the change takes effect outside (an approval is on disk before it is forwarded). Items
//! are keyed by a monotonic sequence number so the log reads in arrival order; a second tree maps
//! the short item id to that key.
//!
//! The schema is versioned in the `meta` tree: a data directory written by a newer Airlock is
//! refused rather than misread.

use std::path::{Path, PathBuf};

use std::collections::HashMap;

use airlock_types::{Counterparty, HabitSend, Habits, Item, Status, Timestamp};
use alloy_primitives::{Address, U256};

/// The most bytes of logged items one page of history carries (each page has at least one).
pub const MAX_PAGE_BYTES: usize = 16 << 20;

/// Version of the on-disk layout this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

const ITEMS: &str = "items";
const IDS: &str = "item_ids";
const META: &str = "meta";
const STATE: &str = "state";
const COUNTERPARTIES: &str = "counterparties";
const SPENDING: &str = "spending";
const HABITS: &str = "habits";
const TX_HASHES: &str = "tx_hashes";
const OPEN: &str = "open_items";
const SCHEMA_KEY: &[u8] = b"schema_version";
/// Set once `open_items` lists every open item (new logs at once; older ones after one scan).
const OPEN_INDEX_KEY: &[u8] = b"open_index";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the data directory {path}: {source}. Is another Airlock running with the same --data-dir?")]
    Open { path: PathBuf, source: sled::Error },
    #[error("{path} was written by a newer Airlock (schema {found}, this build reads {SCHEMA_VERSION})")]
    NewerSchema { path: PathBuf, found: u32 },
    #[error("the audit log is damaged: {0}")]
    Corrupt(String),
    #[error("the audit log could not be written: {0}")]
    Io(#[from] sled::Error),
}

/// The audit log. Cheap to clone; all clones share one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: sled::Db,
    items: sled::Tree,
    ids: sled::Tree,
    /// Verified state other parts keep across restarts (the light client's store), by name.
    state: sled::Tree,
    /// Local history: every address the person sent to or approved (never leaves the machine).
    counterparties: sled::Tree,
    /// The spending policy's tally per UTC day.
    spending: sled::Tree,
    /// Each sender's habits (never leaves the machine).
    habits: sled::Tree,
    /// Signed transactions' hashes → the newest item that holds each, so that a client
    /// polling for its receipt learns what became of it.
    tx_hashes: sled::Tree,
    /// The ids of open items: start-up reads these, not the whole log.
    open: sled::Tree,
    meta: sled::Tree,
    /// Rebuilds what a signature request's params already say (message, text, typed data),
    /// which the log does not store twice.
    hydrate: Hydrate,
}

/// Rebuilds an item's derived fields from its params when it is read ([`Store::with_hydrate`]).
pub type HydrateFn = std::sync::Arc<dyn Fn(&mut Item) + Send + Sync>;

/// See [`Store::with_hydrate`].
#[derive(Clone, Default)]
struct Hydrate(Option<HydrateFn>);

impl std::fmt::Debug for Hydrate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "Hydrate(set)" } else { "Hydrate(none)" })
    }
}

/// One forwarded interaction with an address, for the local history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interaction {
    pub eth_sent: U256,
    pub token_sent: U256,
    pub approval: bool,
}

impl Store {
    /// Opens (creating if needed) the store under `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let path = dir.join("db");
        // A small cache: the daemon reads the log rarely and should stay light when idle.
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(4 * 1024 * 1024)
            .open()
            .map_err(|source| StoreError::Open { path: path.clone(), source })?;
        let meta = db.open_tree(META)?;
        match meta.get(SCHEMA_KEY)? {
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())?;
                meta.insert(OPEN_INDEX_KEY, &[1u8])?;
            }
            Some(v) => {
                let found = <[u8; 4]>::try_from(v.as_ref())
                    .map(u32::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt("schema version is not 4 bytes".into()))?;
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema { path, found });
                }
            }
        }
        Ok(Store {
            items: db.open_tree(ITEMS)?,
            ids: db.open_tree(IDS)?,
            state: db.open_tree(STATE)?,
            counterparties: db.open_tree(COUNTERPARTIES)?,
            spending: db.open_tree(SPENDING)?,
            habits: db.open_tree(HABITS)?,
            tx_hashes: db.open_tree(TX_HASHES)?,
            open: db.open_tree(OPEN)?,
            meta,
            hydrate: Hydrate::default(),
            db,
        })
    }

    /// A signature request's payload is stored once, in `params` as the client sent it; the
    /// copies in `sign` (the message's bytes and text, the typed data) are left out of the log
    /// and rebuilt by `f` from the params when an item is read.
    pub fn with_hydrate(mut self, f: HydrateFn) -> Self {
        self.hydrate = Hydrate(Some(f));
        self
    }

    fn decode(&self, bytes: &[u8]) -> Result<Item, StoreError> {
        let mut item = decode(bytes)?;
        if let (Some(f), Some(sign)) = (&self.hydrate.0, &item.sign)
            && sign.data.is_none()
            && sign.typed_data.is_none()
        {
            f(&mut item);
        }
        Ok(item)
    }

    /// The item as the log keeps it: without the copies of the payload that `params` holds
    /// (only when they can be rebuilt on reading).
    fn encode(&self, item: &Item) -> Result<Vec<u8>, StoreError> {
        let copies = item.sign.as_ref().is_some_and(|s| s.data.is_some() || s.typed_data.is_some());
        let bytes = if copies && self.hydrate.0.is_some() {
            let mut lean = item.clone();
            if let Some(sign) = lean.sign.as_mut() {
                (sign.data, sign.text, sign.typed_data) = (None, None, None);
            }
            serde_json::to_vec(&lean)
        } else {
            serde_json::to_vec(item)
        };
        bytes.map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// Everything the person has dealt with, by address.
    pub fn counterparties(&self) -> Result<HashMap<Address, Counterparty>, StoreError> {
        let mut out = HashMap::new();
        for entry in self.counterparties.iter() {
            let (k, v) = entry?;
            let address = Address::try_from(k.as_ref())
                .map_err(|_| StoreError::Corrupt("a history key is not an address".into()))?;
            let c: Counterparty = serde_json::from_slice(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            out.insert(address, c);
        }
        Ok(out)
    }

    /// Adds forwarded interactions to the local history, and flushes.
    pub fn record(&self, interactions: &[(Address, Interaction)], now: Timestamp) -> Result<(), StoreError> {
        for (address, i) in interactions {
            let mut c = match self.counterparties.get(address.as_slice())? {
                Some(v) => {
                    serde_json::from_slice::<Counterparty>(&v).map_err(|e| StoreError::Corrupt(e.to_string()))?
                }
                None => Counterparty {
                    first_seen: now,
                    last_seen: now,
                    sends: 0,
                    approvals: 0,
                    max_eth_sent: U256::ZERO,
                    max_token_sent: U256::ZERO,
                },
            };
            c.last_seen = now;
            if i.approval {
                c.approvals += 1;
            } else {
                c.sends += 1;
            }
            c.max_eth_sent = c.max_eth_sent.max(i.eth_sent);
            c.max_token_sent = c.max_token_sent.max(i.token_sent);
            let v = serde_json::to_vec(&c).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            self.counterparties.insert(address.as_slice(), v)?;
        }
        self.counterparties.flush()?;
        Ok(())
    }

    /// What `from` usually does; None before its first forwarded transaction.
    pub fn habits(&self, from: Address) -> Result<Option<Habits>, StoreError> {
        match self.habits.get(from.as_slice())? {
            Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
            None => Ok(None),
        }
    }

    /// Adds a forwarded transaction from `from` that gave `eth` and sent `tokens`, and flushes.
    pub fn record_habit(&self, from: Address, eth: U256, tokens: &[Address], now: Timestamp) -> Result<(), StoreError> {
        let mut h =
            self.habits(from)?.unwrap_or(Habits { first_at: now, sends: 0, recent: vec![], tokens_sent: vec![] });
        h.sends += 1;
        h.recent.push(HabitSend { at: now, eth });
        if h.recent.len() > Habits::KEPT {
            h.recent.remove(0);
        }
        for t in tokens {
            if !h.tokens_sent.contains(t) {
                h.tokens_sent.push(*t);
            }
        }
        let v = serde_json::to_vec(&h).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.habits.insert(from.as_slice(), v)?;
        self.habits.flush()?;
        Ok(())
    }

    /// The spending policy's tally for `day` (YYYY-MM-DD): (count, wei).
    pub fn spent(&self, day: &str) -> Result<(u64, U256), StoreError> {
        match self.spending.get(day.as_bytes())? {
            Some(v) => serde_json::from_slice::<(u64, String)>(&v)
                .ok()
                .and_then(|(n, w)| Some((n, w.parse().ok()?)))
                .ok_or_else(|| StoreError::Corrupt("a spending tally does not parse".into())),
            None => Ok((0, U256::ZERO)),
        }
    }

    /// Adds one auto-approved item of `wei` to `day`'s tally, and flushes.
    pub fn add_spent(&self, day: &str, wei: U256) -> Result<(), StoreError> {
        let (n, w) = self.spent(day)?;
        let v = serde_json::to_vec(&(n + 1, (w + wei).to_string())).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.spending.insert(day.as_bytes(), v)?;
        self.spending.flush()?;
        Ok(())
    }

    /// Writes the item (new or changed) and flushes it to disk.
    pub fn put(&self, item: &Item) -> Result<(), StoreError> {
        let value = self.encode(item)?;
        let key = match self.ids.get(item.id.as_bytes())? {
            Some(key) => key,
            None => {
                let key = sled::IVec::from(&self.db.generate_id()?.to_be_bytes());
                self.ids.insert(item.id.as_bytes(), key.clone())?;
                key
            }
        };
        self.items.insert(key, value)?;
        if item.status.is_open() {
            self.open.insert(item.id.as_bytes(), &[])?;
        } else {
            self.open.remove(item.id.as_bytes())?;
        }
        if let Some(hash) = item.tx.as_ref().filter(|t| t.signed).and_then(|t| t.hash) {
            self.tx_hashes.insert(hash.as_slice(), item.id.as_bytes())?;
        }
        self.db.flush()?;
        Ok(())
    }

    /// Writes many items and flushes once (imports, and the start-up bench's large logs).
    pub fn put_all<'a>(&self, items: impl IntoIterator<Item = &'a Item>) -> Result<(), StoreError> {
        for item in items {
            let value = self.encode(item)?;
            let key = sled::IVec::from(&self.db.generate_id()?.to_be_bytes());
            self.ids.insert(item.id.as_bytes(), key.clone())?;
            self.items.insert(key, value)?;
            if item.status.is_open() {
                self.open.insert(item.id.as_bytes(), &[])?;
            }
        }
        self.db.flush()?;
        Ok(())
    }

    /// Keeps `value` under `key` (replacing what was there), flushed to disk.
    pub fn put_state(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.state.insert(key.as_bytes(), value)?;
        self.db.flush()?;
        Ok(())
    }

    pub fn get_state(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.state.get(key.as_bytes())?.map(|v| v.to_vec()))
    }

    /// True if an item with this id was ever logged.
    pub fn contains(&self, id: &str) -> Result<bool, StoreError> {
        Ok(self.ids.contains_key(id.as_bytes())?)
    }

    pub fn get(&self, id: &str) -> Result<Option<Item>, StoreError> {
        let Some(key) = self.ids.get(id.as_bytes())? else {
            return Ok(None);
        };
        self.items.get(key)?.map(|v| self.decode(&v)).transpose()
    }

    /// The newest item that held the signed transaction `hash`, if Airlock held one.
    pub fn by_tx_hash(&self, hash: alloy_primitives::B256) -> Result<Option<Item>, StoreError> {
        let Some(id) = self.tx_hashes.get(hash.as_slice())? else { return Ok(None) };
        let id = std::str::from_utf8(&id).map_err(|_| StoreError::Corrupt("an item id is not text".into()))?;
        self.get(id)
    }

    /// The newest `limit` items, newest first.
    pub fn recent(&self, limit: usize) -> Result<Vec<Item>, StoreError> {
        self.items.iter().rev().take(limit).map(|kv| self.decode(&kv?.1)).collect()
    }

    /// One page of the log, newest first: at most `limit` items older than the item `before`
    /// (from the newest without it), and no more than [`MAX_PAGE_BYTES`] of them (at least one).
    /// `None` when `before` names no item.
    pub fn page(&self, limit: usize, before: Option<&str>) -> Result<Option<Vec<Item>>, StoreError> {
        let iter = match before {
            Some(id) => match self.ids.get(id.as_bytes())? {
                Some(key) => self.items.range(..key),
                None => return Ok(None),
            },
            None => self.items.range::<&[u8], _>(..),
        };
        let (mut out, mut bytes) = (Vec::new(), 0usize);
        for kv in iter.rev().take(limit) {
            let (_, v) = kv?;
            bytes += v.len();
            if bytes > MAX_PAGE_BYTES && !out.is_empty() {
                break;
            }
            out.push(self.decode(&v)?);
        }
        Ok(Some(out))
    }

    /// Marks every item that was still open as abandoned: called at start-up, so that a request
    /// held when the daemon stopped is never forwarded later. An item that was being forwarded
    /// when the daemon stopped may have reached the upstream, and says so. Returns how many were
    /// marked.
    /// `ended` says what each item's client would have been told, by the status it had.
    pub fn abandon_open(&self, ended: impl Fn(Status) -> airlock_types::RpcError) -> Result<usize, StoreError> {
        // A log from before the open-item index: one full scan builds it.
        if self.meta.get(OPEN_INDEX_KEY)?.is_none() {
            for kv in self.items.iter() {
                let item = decode(&kv?.1)?;
                if item.status.is_open() {
                    self.open.insert(item.id.as_bytes(), &[])?;
                }
            }
            self.meta.insert(OPEN_INDEX_KEY, &[1u8])?;
        }
        let mut marked = 0;
        for kv in self.open.iter() {
            let (id, _) = kv?;
            let id = std::str::from_utf8(&id).map_err(|_| StoreError::Corrupt("an item id is not text".into()))?;
            let Some(mut item) = self.get(id)? else {
                self.open.remove(id.as_bytes())?;
                continue;
            };
            if item.status.is_open() {
                let was = item.status;
                item.status = Status::Abandoned;
                item.decided_at = Some(Timestamp::now());
                item.client_connected = false;
                item.error = Some(ended(was));
                self.put(&item)?;
                marked += 1;
            } else {
                self.open.remove(id.as_bytes())?;
            }
        }
        self.db.flush()?;
        Ok(marked)
    }
}

fn decode(bytes: &[u8]) -> Result<Item, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Creates `dir` (and parents) with mode 0700, and tightens an existing one: the data
/// directory holds the audit log and the control token, readable by the user alone.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn item(id: &str, status: Status) -> Item {
        let params = RawValue::from_string("[\"0x01\"]".into()).expect("valid json");
        let now = Timestamp::now();
        Item { status, ..Item::pending(id.into(), "eth_sendRawTransaction".into(), params, now, now) }
    }

    /// A signature request's message is logged once (in `params`); `sign` comes back whole.
    #[test]
    fn a_signature_payload_is_stored_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let message = format!("0x{}", "61".repeat(100_000));
        let rebuild = |item: &mut Item| {
            let hex: Vec<String> = serde_json::from_str(item.params.get()).expect("params");
            let bytes = alloy_primitives::hex::decode(&hex[0]).expect("hex");
            let sign = item.sign.as_mut().expect("sign");
            sign.text = String::from_utf8(bytes.clone()).ok();
            sign.data = Some(bytes.into());
        };
        let store = Store::open(dir.path()).expect("open").with_hydrate(std::sync::Arc::new(rebuild));
        let params = RawValue::from_string(serde_json::json!([message]).to_string()).expect("json");
        let now = Timestamp::now();
        let mut item = Item::pending("s".into(), "personal_sign".into(), params, now, now);
        let bytes = vec![b'a'; 100_000];
        item.sign = Some(airlock_types::SignView {
            kind: airlock_types::SignKind::PersonalSign,
            address: Address::repeat_byte(1),
            text: Some("a".repeat(100_000)),
            data: Some(bytes.clone().into()),
            typed_data: None,
        });
        store.put(&item).expect("put");
        let key = store.ids.get(b"s").expect("id").expect("key");
        let stored = store.items.get(key).expect("get").expect("value");
        assert!(
            stored.len() < 210_000 && stored.len() > 200_000,
            "the message once, in params: {} bytes",
            stored.len()
        );
        let back = store.get("s").expect("get").expect("there");
        let sign = back.sign.expect("sign");
        assert_eq!(sign.data.map(|d| d.to_vec()), Some(bytes));
        assert_eq!(sign.text.as_deref().map(str::len), Some(100_000));
    }

    #[test]
    fn habits_keep_the_newest_sends_and_each_token_once_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let from = Address::repeat_byte(7);
        let token = Address::repeat_byte(9);
        {
            let store = Store::open(dir.path()).expect("open");
            assert_eq!(store.habits(from).expect("read"), None);
            for i in 0..(Habits::KEPT as u64 + 5) {
                store.record_habit(from, U256::from(i), &[token, token], Timestamp(i)).expect("record");
            }
        }
        let h = Store::open(dir.path()).expect("reopen").habits(from).expect("read").expect("kept");
        assert_eq!(h.sends, Habits::KEPT as u64 + 5);
        assert_eq!(h.first_at, Timestamp(0));
        assert_eq!(h.recent.len(), Habits::KEPT);
        assert_eq!(h.recent[0].eth, U256::from(5), "the oldest five were dropped");
        assert_eq!(h.tokens_sent, [token]);
    }

    #[test]
    fn log_survives_reopen_in_arrival_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            store.put(&item("a", Status::Rejected)).expect("put");
            store.put(&item("b", Status::Forwarded)).expect("put");
            let mut c = item("c", Status::Pending);
            store.put(&c).expect("put");
            c.status = Status::Expired;
            store.put(&c).expect("update keeps position");
        }
        let store = Store::open(dir.path()).expect("reopen");
        let ids: Vec<_> = store.recent(10).expect("recent").into_iter().map(|i| i.id).collect();
        assert_eq!(ids, ["c", "b", "a"]);
        assert_eq!(store.get("c").expect("get").map(|i| i.status), Some(Status::Expired));
        assert_eq!(store.recent(1).expect("recent").len(), 1);
        // Pages follow each other by the last id seen, newest first, and end empty.
        let all: Vec<_> = store.recent(100).expect("recent").into_iter().map(|i| i.id).collect();
        let mut paged = vec![];
        let mut before: Option<String> = None;
        loop {
            let page = store.page(2, before.as_deref()).expect("page").expect("known cursor");
            if page.is_empty() {
                break;
            }
            before = page.last().map(|i| i.id.clone());
            paged.extend(page.into_iter().map(|i| i.id));
        }
        assert_eq!(paged, all);
        assert!(store.page(2, Some("no-such-id")).expect("page").is_none());
        assert!(store.get("zz").expect("get").is_none());
    }

    #[test]
    fn open_items_become_abandoned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.put(&item("p", Status::Pending)).expect("put");
        store.put(&item("q", Status::Approved)).expect("put");
        store.put(&item("r", Status::Rejected)).expect("put");
        let ended = |was: Status| airlock_types::RpcError { code: 1, message: format!("{was:?}"), data: None };
        assert_eq!(store.abandon_open(ended).expect("abandon"), 2);
        let message = |id: &str| {
            let it = store.get(id).expect("get").expect("present");
            assert_eq!(it.status, Status::Abandoned);
            it.error.expect("error set").message
        };
        assert_eq!(message("p"), "Pending", "told by the status it had");
        assert_eq!(message("q"), "Approved");
        assert_eq!(store.get("r").expect("get").expect("present").status, Status::Rejected);
        assert_eq!(store.abandon_open(ended).expect("abandon"), 0);
        // An item that was open and is decided leaves the index.
        store.put(&item("s", Status::Pending)).expect("put");
        store.put(&item("s", Status::Rejected)).expect("put");
        assert_eq!(store.abandon_open(ended).expect("abandon"), 0);
    }

    /// A log written before the open-item index: the first start scans it once.
    #[test]
    fn an_older_log_gets_its_open_index_on_first_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        store.put(&item("p", Status::Pending)).expect("put");
        store.open.clear().expect("clear");
        store.meta.remove(OPEN_INDEX_KEY).expect("remove");
        let ended = |_: Status| airlock_types::RpcError { code: 1, message: "x".into(), data: None };
        assert_eq!(store.abandon_open(ended).expect("abandon"), 1);
        assert!(store.meta.get(OPEN_INDEX_KEY).expect("get").is_some());
    }

    #[test]
    fn state_survives_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            assert_eq!(store.get_state("light_client/mainnet").expect("get"), None);
            store.put_state("light_client/mainnet", b"v1").expect("put");
            store.put_state("light_client/mainnet", b"v2").expect("replace");
        }
        let store = Store::open(dir.path()).expect("reopen");
        assert_eq!(store.get_state("light_client/mainnet").expect("get").as_deref(), Some(&b"v2"[..]));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = Store::open(dir.path()).expect("open");
            let meta = store.db.open_tree(META).expect("meta");
            meta.insert(SCHEMA_KEY, &(SCHEMA_VERSION + 1).to_be_bytes()).expect("insert");
            store.db.flush().expect("flush");
        }
        let err = Store::open(dir.path()).expect_err("newer schema must be refused");
        assert!(matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1));
    }
}
