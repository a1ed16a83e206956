//! What Airlock's own threat data and the chain say about whom a request deals with: the
//! addresses on a threat list, each contract's age, proxy and code, and whether the tokens it
//! brings in can be sold or sent on. Found locally: no question about an address leaves the
//! machine.

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};

/// The threat data and provenance of one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IntelReport {
    /// Addresses the request touches that a threat list names (none on the allow-list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<Listing>,
    /// Addresses the request touches that are on the person's allow-list: never blocked, by
    /// any list (the rules directories' blocklist.txt included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed: Vec<Address>,
    /// Every contract the request touches (called, paid, approved, delegated to).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contracts: Vec<Provenance>,
    /// Approval spenders that hold no code and never sent a transaction (nonce 0): a key
    /// nobody has used, or an address a drainer's contract will be deployed at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub untouched_spenders: Vec<Address>,
    /// The tokens the request brings in, tried for sending on and selling back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resale: Vec<Resale>,
    /// ENS reverse names of the addresses the request touches, each checked forward (the name
    /// resolves back to the address) on the verified head.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<NamedAddress>,
    /// Checks that did not run, each with why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

/// An address and its ENS name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedAddress {
    pub address: Address,
    pub name: String,
}

/// One threat list's entry for an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listing {
    pub address: Address,
    /// The list's name (`forta-phishing`, `revoke-exploits`, the person's own, …).
    pub list: String,
    /// What the list says of it ("Fake_Phishing1772", "BitKeep Swap Hack").
    pub label: String,
    /// The entry's date, or the list's when entries carry none (YYYY-MM-DD, or "").
    pub date: String,
    /// Where the list comes from (repository and commit, or the URL it was downloaded from).
    pub source: String,
}

/// What the chain says about one contract.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    pub address: Address,
    /// Bytes of code at the head (for a 7702-delegated account: its delegate's).
    pub code_size: u64,
    pub code_hash: B256,
    /// The first block with this code, from a search over the upstream's history.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_block: Option<u64>,
    /// Seconds from that block to the head; none when unknown (see `age_unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<u64>,
    /// Why the age is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_unknown: Option<String>,
    /// Round trips the age search took (0 when it came from the cache).
    #[serde(default)]
    pub age_lookups: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyInfo>,
    /// What the code is known or seen to be: `drainer-code`, `fallback-only`, `tiny-code`,
    /// `bait-payable`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<CodeMark>,
}

/// A finding about a contract's code, with what it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeMark {
    pub kind: String,
    pub detail: String,
}

/// An upgradeable proxy: where its code lives and who can change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyInfo {
    /// `eip1967`, `eip1967-beacon` or `eip1822`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implementation: Option<Address>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<Address>,
    /// Who may upgrade it (the EIP-1967 admin slot), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<Address>,
    /// The admin holds no code: one key can replace the contract's code.
    #[serde(default)]
    pub admin_is_eoa: bool,
}

/// A token the request brings in, tried on the state it leaves: sent to a fresh address, and
/// sold back through the venue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Resale {
    pub token: Address,
    pub symbol: Option<String>,
    /// What the sender receives.
    #[serde(with = "crate::decimal_u256")]
    pub received: U256,
    /// Sending it on.
    pub transfer: Trial,
    /// Selling it back for ETH; none when there is no venue to sell on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sell: Option<Trial>,
    /// The share the buy kept back against the pool's own quote, in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buy_tax_pct: Option<f64>,
}

/// One follow-up simulation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trial {
    /// It went through.
    pub ok: bool,
    /// The share lost on the way (what arrived against what was sent or quoted), in percent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_pct: Option<f64>,
    /// Why it failed, or how it was measured.
    #[serde(default)]
    pub detail: String,
}

/// A loaded threat list, as `airlock intel status` and the page show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreatList {
    pub name: String,
    pub source: String,
    /// The list's own date (YYYY-MM-DD, or "").
    pub date: String,
    pub entries: usize,
    /// Rows that name no readable address, left out.
    pub skipped: usize,
    /// `bundled`, `downloaded` or `file`.
    pub origin: String,
    /// When a downloaded list was fetched (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fetched_at: Option<u64>,
}

/// What an agent asked for (an intent Airlock built the request from), beside what the request
/// does: the page shows "you asked" next to "this does".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asked {
    /// The intent in plain words ("send 0.1 ETH to 0x…").
    pub summary: String,
    /// Where the simulated outcome differs from it: another token, amount or recipient, an
    /// allowance nobody asked for. Any is danger.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mismatches: Vec<String>,
    /// The person's (or agent's) own words, when the intent was read from plain text by the
    /// local model: shown beside the intent it was read as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub words: Option<String>,
}
