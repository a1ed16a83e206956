//! Threat lists in memory: every entry of every list in one table sorted by address, with an
//! index on the first two bytes, so a lookup reads one small bucket (addresses are uniform:
//! about 15 entries a bucket at a million), and scans that bucket's 4-byte fingerprints before
//! touching an entry. 36 bytes an entry with its fingerprint; labels and dates interned.

use std::collections::{HashMap, HashSet};

use crate::IntelError;
use crate::formats::ListSpec;
use airlock_types::Listing;
use alloy_primitives::Address;

/// Entries all lists may hold together: 36 bytes each, so about 1.3 GiB at most.
pub const MAX_ENTRIES: usize = 40_000_000;

fn bucket_of(a: &[u8; 20]) -> usize {
    usize::from(u16::from_be_bytes([a[0], a[1]]))
}

fn fingerprint(a: &[u8; 20]) -> u32 {
    u32::from_be_bytes([a[2], a[3], a[4], a[5]])
}

/// One entry, 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    address: [u8; 20],
    list: u16,
    /// Index into `chains`; 0: every chain.
    chain: u16,
    label: u32,
    date: u32,
}

/// What a loaded list says of itself: `airlock intel status` and the page show it.
pub type ListInfo = airlock_types::ThreatList;

/// Every list, and the person's allow-list.
#[derive(Debug, Default)]
pub struct ThreatLists {
    entries: Vec<Entry>,
    /// Bytes 2..6 of each entry's address, in the same order: what a lookup scans.
    fingerprints: Vec<u32>,
    /// `starts[b]`: the first entry whose address begins with the two bytes `b`.
    starts: Vec<u32>,
    lists: Vec<ListInfo>,
    strings: Vec<Box<str>>,
    chains: Vec<u64>,
    allow: HashSet<Address>,
}

/// Builds a [`ThreatLists`]: lists added one by one, then [`Builder::finish`] sorts and indexes.
#[derive(Debug, Default)]
pub struct Builder {
    lists: ThreatLists,
    interned: HashMap<Box<str>, u32>,
}

impl Builder {
    pub fn new() -> Builder {
        let mut b = Builder::default();
        b.lists.chains.push(0);
        b.intern("");
        b
    }

    fn intern(&mut self, s: &str) -> u32 {
        if let Some(i) = self.interned.get(s) {
            return *i;
        }
        let i = self.lists.strings.len() as u32;
        self.lists.strings.push(s.into());
        self.interned.insert(s.into(), i);
        i
    }

    fn chain(&mut self, chain: Option<u64>) -> u16 {
        let Some(c) = chain else { return 0 };
        match self.lists.chains.iter().position(|x| *x == c) {
            Some(i) => i as u16,
            None => {
                self.lists.chains.push(c);
                (self.lists.chains.len() - 1) as u16
            }
        }
    }

    /// Reads a list as `spec` says, line by line (a whole JSON document at once); `origin` and
    /// `fetched_at` are shown with it.
    pub fn add(
        &mut self,
        spec: &ListSpec,
        reader: impl std::io::BufRead,
        origin: &str,
        fetched_at: Option<u64>,
    ) -> Result<(), IntelError> {
        let list = u16::try_from(self.lists.lists.len())
            .map_err(|_| IntelError::Invalid(format!("{}: too many lists", spec.name)))?;
        let mut full = false;
        let before = self.lists.entries.len();
        let mut label_buf = String::new();
        // The row before's label as read, and its index: rows of a list mostly repeat it.
        let mut last: (String, u32) = (String::from("\0"), 0);
        let list_date = self.intern(&spec.date);
        let list_chain = self.chain(spec.chain);
        let skipped = crate::formats::each(spec, reader, |row| {
            let raw = row.label.trim();
            let label = if raw == last.0 {
                last.1
            } else {
                label_buf.clear();
                label_buf.push_str(&spec.label_prefix);
                label_buf.push_str(if raw.is_empty() { "listed" } else { raw });
                let i = self.intern(&label_buf);
                last = (raw.to_owned(), i);
                i
            };
            let date = row.date.map_or(list_date, |d| self.intern(d));
            let chain = if row.chain.is_none() { list_chain } else { self.chain(row.chain) };
            if self.lists.entries.len() >= MAX_ENTRIES {
                full = true;
                return;
            }
            self.lists.entries.push(Entry { address: row.address.0.0, list, chain, label, date });
        })?;
        if full {
            return Err(IntelError::Invalid(format!(
                "{}: the lists hold more than {MAX_ENTRIES} entries together (about {} MiB)",
                spec.name,
                (MAX_ENTRIES * 36) >> 20
            )));
        }
        self.lists.lists.push(ListInfo {
            name: spec.name.clone(),
            source: spec.source.clone(),
            date: spec.date.clone(),
            entries: self.lists.entries.len() - before,
            skipped,
            origin: origin.into(),
            fetched_at,
        });
        Ok(())
    }

    /// Addresses that never get a `blocked` finding, whatever a list says.
    pub fn allow(&mut self, addresses: impl IntoIterator<Item = Address>) {
        self.lists.allow.extend(addresses);
    }

    /// Sorts by address, in place, and builds the index and the fingerprints.
    pub fn finish(self) -> ThreatLists {
        let mut l = self.lists;
        // Integer keys: comparing 20-byte arrays goes through memcmp, a third of the start-up.
        l.entries.sort_unstable_by_key(|e| {
            let a = &e.address;
            let hi = u64::from_be_bytes([a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]]);
            let mid = u64::from_be_bytes([a[8], a[9], a[10], a[11], a[12], a[13], a[14], a[15]]);
            let lo = u32::from_be_bytes([a[16], a[17], a[18], a[19]]);
            (hi, mid, lo, e.list, e.chain, e.label, e.date)
        });
        l.entries.dedup();
        l.entries.shrink_to_fit();
        l.starts = vec![0; 65537];
        let mut next = 0usize;
        for (i, e) in l.entries.iter().enumerate() {
            let b = bucket_of(&e.address);
            while next <= b {
                l.starts[next] = i as u32;
                next += 1;
            }
        }
        while next <= 65536 {
            l.starts[next] = l.entries.len() as u32;
            next += 1;
        }
        l.fingerprints = l.entries.iter().map(|e| fingerprint(&e.address)).collect();
        l
    }
}

impl ThreatLists {
    /// What the lists say of `address` on `chain`: nothing for an allow-listed address.
    pub fn lookup(&self, chain: u64, address: Address) -> Vec<Listing> {
        if self.allow.contains(&address) {
            return vec![];
        }
        self.entries_of(address)
            .iter()
            .filter(|e| e.chain == 0 || self.chains[usize::from(e.chain)] == chain)
            .map(|e| {
                let info = &self.lists[usize::from(e.list)];
                Listing {
                    address,
                    list: info.name.clone(),
                    label: self.strings[e.label as usize].to_string(),
                    date: self.strings[e.date as usize].to_string(),
                    source: info.source.clone(),
                }
            })
            .collect()
    }

    /// Whether any list names `address` (on any chain), allow-list aside: the cheap question.
    pub fn contains(&self, address: Address) -> bool {
        !self.entries_of(address).is_empty()
    }

    fn entries_of(&self, address: Address) -> &[Entry] {
        if self.starts.len() != 65537 {
            return &[];
        }
        let a = address.0.0;
        let b = bucket_of(&a);
        let (start, end) = (self.starts[b] as usize, self.starts[b + 1] as usize);
        // The bucket's fingerprints sit in one or two cache lines: scan them, then read only the
        // entries whose fingerprint matches.
        let want = fingerprint(&a);
        let Some(first) = (start..end).find(|i| self.fingerprints[*i] == want && self.entries[*i].address == a) else {
            return &[];
        };
        let from = first;
        let mut to = from;
        while to < end && self.entries[to].address == a {
            to += 1;
        }
        &self.entries[from..to]
    }

    pub fn is_allowed(&self, address: Address) -> bool {
        self.allow.contains(&address)
    }

    pub fn lists(&self) -> &[ListInfo] {
        &self.lists
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Bytes the table and its index hold (not the label strings).
    pub fn table_bytes(&self) -> usize {
        self.entries.capacity() * std::mem::size_of::<Entry>()
            + self.fingerprints.capacity() * 4
            + self.starts.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::formats::Format;

    fn spec(format: Format) -> ListSpec {
        ListSpec { name: "t".into(), format, date: "2024-01-01".into(), source: "test".into(), ..Default::default() }
    }

    #[test]
    fn an_entry_is_found_with_its_label_and_date_and_only_on_its_chain() {
        let mut b = Builder::new();
        let text = "0x00000000000000000000000000000000000000aa # a drainer\n\
                    5:0x00000000000000000000000000000000000000bb\n\
                    0xffffffffffffffffffffffffffffffffffffffff # the last bucket\n";
        b.add(&spec(Format::Lines), text.as_bytes(), "file", None).expect("adds");
        let l = b.finish();
        let aa: Address = "0x00000000000000000000000000000000000000aa".parse().expect("address");
        let bb: Address = "0x00000000000000000000000000000000000000bb".parse().expect("address");
        let hit = l.lookup(1, aa);
        assert_eq!(hit.len(), 1);
        assert_eq!(
            (hit[0].label.as_str(), hit[0].date.as_str(), hit[0].list.as_str()),
            ("a drainer", "2024-01-01", "t")
        );
        assert!(l.lookup(1, bb).is_empty(), "listed for chain 5 only");
        assert_eq!(l.lookup(5, bb)[0].label, "listed");
        assert_eq!(l.lookup(1, Address::repeat_byte(0xff)).len(), 1);
        assert!(l.lookup(1, Address::repeat_byte(0x11)).is_empty());
        assert_eq!(std::mem::size_of::<Entry>(), 32);
    }

    #[test]
    fn an_allowed_address_is_never_listed() {
        let mut b = Builder::new();
        let a = Address::repeat_byte(0x42);
        b.add(&spec(Format::Lines), format!("{a} # bad\n").as_bytes(), "file", None).expect("adds");
        b.allow([a]);
        let l = b.finish();
        assert!(l.contains(a));
        assert!(l.lookup(1, a).is_empty());
    }
}
