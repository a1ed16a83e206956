//! airlock-intel: who a request deals with, found locally.
//!
//! - Threat lists ([`ThreatLists`]): the bundled ones (rules/intel), the ones `airlock intel
//!   update` downloads whole from the URLs in the config file, and the person's own files,
//!   minus the person's allow-list. Loaded at start; a lookup reads one small bucket.
//! - Provenance: each contract's age (a search over the upstream's history of its code,
//!   cached in the store), its proxy slots and who can upgrade it, and marks on its code.
//! - Sell-side simulation: a token the request brings in, sent on and sold back on the state
//!   the request leaves.
//! - ENS ([`ens`]): names resolved, and the reverse names of touched addresses, by calls to the
//!   registry and resolvers on the verified head.
//!
//! The results go to the rules as data ([`airlock_types::IntelReport`] on the item); no
//! question about an address ever leaves the machine. Dependencies: chain, sim, store, types.

pub mod ens;
mod formats;
mod lists;
mod provenance;
mod resale;
pub mod update;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use airlock_chain::Chain;
use airlock_sim::{AccountState, Head};
use airlock_store::Store;
use airlock_types::{IntelReport, Item, Provenance};
use alloy_primitives::{Address, B256};
use serde::Deserialize;

pub use formats::{Format, ListSpec};
pub use lists::{Builder, ListInfo, ThreatLists};

/// Contracts whose age is searched per request, at most (each search is a few round trips).
const MAX_CONTRACTS: usize = 12;

#[derive(Debug, thiserror::Error)]
pub enum IntelError {
    #[error("{0}")]
    Invalid(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

impl IntelError {
    fn io(path: &Path, source: std::io::Error) -> IntelError {
        IntelError::Io { path: path.to_owned(), source }
    }
}

/// `[intel]` in the config file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntelConfig {
    /// Load the lists Airlock bundles (rules/intel/lists.toml).
    #[serde(default = "yes")]
    pub bundled: bool,
    /// More lists: `file` (the person's own) or `url` with a pinned `sha256` (downloaded whole
    /// by `airlock intel update`).
    #[serde(default)]
    pub list: Vec<ListSpec>,
    /// Addresses never reported as listed.
    #[serde(default)]
    pub allow: Vec<Address>,
    /// A file of them, one a line (the `lines` format).
    #[serde(default)]
    pub allow_file: Option<PathBuf>,
    /// Code hashes of known drainer and sweeper code, with a label each.
    #[serde(default)]
    pub code: Vec<KnownCode>,
}

fn yes() -> bool {
    true
}

impl Default for IntelConfig {
    fn default() -> Self {
        IntelConfig { bundled: true, list: vec![], allow: vec![], allow_file: None, code: vec![] }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownCode {
    pub hash: B256,
    pub label: String,
}

impl IntelConfig {
    /// The `[intel]` section of a config file; the default when it has none.
    pub fn load(path: &Path) -> Result<IntelConfig, IntelError> {
        let text = std::fs::read_to_string(path).map_err(|e| IntelError::io(path, e))?;
        #[derive(Deserialize)]
        struct Whole {
            #[serde(default)]
            intel: Option<IntelConfig>,
        }
        let w: Whole =
            toml::from_str(&text).map_err(|e| IntelError::Invalid(format!("{}: [intel]: {e}", path.display())))?;
        Ok(w.intel.unwrap_or_default())
    }
}

/// The bundled manifest and files.
const MANIFEST: &str = include_str!("../../../rules/intel/lists.toml");
const BUNDLED: [(&str, &str); 6] = [
    ("mew/addresses-darklist.json", include_str!("../../../rules/intel/mew/addresses-darklist.json")),
    ("forta/labels_1_phishing_scams.csv", include_str!("../../../rules/intel/forta/labels_1_phishing_scams.csv")),
    (
        "forta/labels_1_etherscan_malicious_labels.csv",
        include_str!("../../../rules/intel/forta/labels_1_etherscan_malicious_labels.csv"),
    ),
    (
        "forta/labels_1_malicious_smart_contracts.csv",
        include_str!("../../../rules/intel/forta/labels_1_malicious_smart_contracts.csv"),
    ),
    ("revoke/exploits.csv", include_str!("../../../rules/intel/revoke/exploits.csv")),
    ("ofac/sdn-eth.txt", include_str!("../../../rules/intel/ofac/sdn-eth.txt")),
];

/// The bundled lists' specs.
pub fn bundled_specs() -> Result<Vec<ListSpec>, IntelError> {
    #[derive(Deserialize)]
    struct Manifest {
        list: Vec<ListSpec>,
    }
    let m: Manifest =
        toml::from_str(MANIFEST).map_err(|e| IntelError::Invalid(format!("rules/intel/lists.toml: {e}")))?;
    Ok(m.list)
}

/// Loads every list the config names: the bundled ones, the downloaded ones found in
/// `data_dir/intel` (one never downloaded is skipped and said so in `missing`), the person's
/// files, and the allow-list.
pub fn load(config: &IntelConfig, data_dir: Option<&Path>) -> Result<(ThreatLists, Vec<String>), IntelError> {
    let mut b = Builder::new();
    let mut missing = vec![];
    if config.bundled {
        for spec in bundled_specs()? {
            let file = spec.file.as_deref().unwrap_or_default();
            let text = BUNDLED
                .iter()
                .find(|(f, _)| *f == file)
                .map(|(_, t)| *t)
                .ok_or_else(|| IntelError::Invalid(format!("bundled list {} has no file {file}", spec.name)))?;
            b.add(&spec, text.as_bytes(), "bundled", None)?;
        }
    }
    for spec in &config.list {
        match (&spec.url, &spec.file) {
            (Some(_), _) => match data_dir.map(|d| update::downloaded(d, &spec.name)) {
                Some(Ok(Some((path, meta)))) => {
                    let f = std::fs::File::open(&path).map_err(|e| IntelError::io(&path, e))?;
                    b.add(spec, std::io::BufReader::new(f), "downloaded", Some(meta.fetched_at))?;
                }
                Some(Err(e)) => return Err(e),
                _ => missing.push(format!("threat list {}: never downloaded (run `airlock intel update`)", spec.name)),
            },
            (None, Some(file)) => {
                let path = Path::new(file);
                let f = std::fs::File::open(path).map_err(|e| IntelError::io(path, e))?;
                b.add(spec, std::io::BufReader::new(f), "file", None)?;
            }
            (None, None) => {
                return Err(IntelError::Invalid(format!("[[intel.list]] {}: give a file or a url", spec.name)));
            }
        }
    }
    b.allow(config.allow.iter().copied());
    if let Some(path) = &config.allow_file {
        let f = std::fs::File::open(path).map_err(|e| IntelError::io(path, e))?;
        let spec = ListSpec { name: path.display().to_string(), ..Default::default() };
        let mut allowed = vec![];
        formats::each(&spec, std::io::BufReader::new(f), |row| allowed.push(row.address))?;
        b.allow(allowed);
    }
    Ok((b.finish(), missing))
}

/// The daemon's threat data and provenance checks.
#[derive(Debug)]
pub struct Intel {
    /// The lists, and those configured but never downloaded (said on every item); replaced
    /// whole by [`Intel::reload`].
    loaded: RwLock<Arc<Loaded>>,
    code: Vec<(B256, String)>,
    config: IntelConfig,
    /// Where downloaded lists are kept.
    data_dir: Option<PathBuf>,
    store: Option<Store>,
}

#[derive(Debug)]
struct Loaded {
    lists: Arc<ThreatLists>,
    missing: Vec<String>,
}

impl Intel {
    /// Loads the lists `config` names (the downloaded ones from `data_dir`).
    pub fn open(config: &IntelConfig, data_dir: Option<&Path>, store: Option<Store>) -> Result<Intel, IntelError> {
        let (lists, missing) = load(config, data_dir)?;
        let code = config.code.iter().map(|c| (c.hash, c.label.clone())).collect();
        Ok(Intel {
            loaded: RwLock::new(Arc::new(Loaded { lists: Arc::new(lists), missing })),
            code,
            config: config.clone(),
            data_dir: data_dir.map(Path::to_owned),
            store,
        })
    }

    /// The lists now in use.
    pub fn lists(&self) -> Arc<ThreatLists> {
        self.current().lists.clone()
    }

    fn current(&self) -> Arc<Loaded> {
        self.loaded.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reads every list again (after `airlock intel update`) and puts the new set in place at
    /// once; on any error the lists in use stay.
    pub fn reload(&self) -> Result<Vec<airlock_types::ThreatList>, IntelError> {
        let (lists, missing) = load(&self.config, self.data_dir.as_deref())?;
        let info = lists.lists().to_vec();
        *self.loaded.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(Loaded { lists: Arc::new(lists), missing });
        Ok(info)
    }

    /// Everything this crate finds about `item` on `head`: listed addresses (from the
    /// request, its simulation's internal calls and its signature), each contract's
    /// provenance, and the resale of the tokens it brings in (`router`: the chain's Uniswap V2
    /// router, if known).
    pub async fn examine(
        &self,
        chain: &Chain,
        head: Option<&Head>,
        item: &Item,
        router: Option<Address>,
    ) -> IntelReport {
        let loaded = self.current();
        let mut r = IntelReport { unchecked: loaded.missing.clone(), ..Default::default() };
        let (touched, delegates) = touched(item);
        let chain_id = match chain.simulator().await {
            Ok(sim) => sim.chain_id(),
            Err(_) => item.tx.as_ref().and_then(|t| t.chain_id).unwrap_or(0),
        };
        for a in &touched {
            r.listed.extend(loaded.lists.lookup(chain_id, *a));
            if loaded.lists.is_allowed(*a) {
                r.allowed.push(*a);
            }
        }
        let (Some(head), Ok(sim)) = (head, chain.simulator().await) else {
            r.unchecked.push("contract age and control: not checked (no verified head to read state on)".into());
            return r;
        };
        let wanted: Vec<(Address, Vec<B256>)> = touched.iter().map(|a| (*a, provenance::SLOTS.to_vec())).collect();
        match sim.accounts(head, &wanted).await {
            Ok(accounts) => self.provenance(chain, head, sim, &accounts, &delegates, item, &mut r).await,
            Err(e) => r.unchecked.push(format!("contract age and control: not checked (state not read: {e})")),
        }
        r.names = names(sim, head, &touched).await;
        if let (Some(tx), Some(report)) = (item.tx.as_ref().filter(|_| item.calls.is_empty()), &item.report) {
            r.resale = resale::check(sim, head, tx, report, router, item.swap.as_ref(), &mut r.unchecked).await;
        }
        r
    }

    /// Each contract's marks and proxy, then its age; spenders with no code and no nonce.
    #[allow(clippy::too_many_arguments)]
    async fn provenance(
        &self,
        chain: &Chain,
        head: &Head,
        sim: &airlock_sim::Simulator<airlock_chain::StateFrom>,
        accounts: &[AccountState],
        delegates: &BTreeSet<Address>,
        item: &Item,
        r: &mut IntelReport,
    ) {
        let spenders = spenders(item);
        r.untouched_spenders = accounts
            .iter()
            .filter(|a| spenders.contains(&a.address) && a.code.is_empty() && a.nonce == 0)
            .map(|a| a.address)
            .collect();
        let contracts: Vec<&AccountState> =
            accounts.iter().filter(|a| !a.code.is_empty() && !provenance::is_designator(&a.code)).collect();
        if contracts.len() > MAX_CONTRACTS {
            r.unchecked.push(format!(
                "contract age: {} contracts touched, only the first {MAX_CONTRACTS} searched",
                contracts.len()
            ));
        }
        let chain_id = sim.chain_id();
        let mut out = vec![];
        let contracts: Vec<&AccountState> = contracts.into_iter().take(MAX_CONTRACTS).collect();
        // The age searches run side by side: each is a chain of round trips of its own.
        let ages = futures_util::future::join_all(
            contracts
                .iter()
                .map(|c| provenance::age(chain.upstream(), self.store.as_ref(), chain_id, head.facts.number, c)),
        )
        .await;
        for (c, age) in contracts.into_iter().zip(ages) {
            let mut p = Provenance {
                address: c.address,
                code_size: c.code.len() as u64,
                code_hash: c.code_hash,
                proxy: provenance::proxy_of(c),
                marks: provenance::marks(&c.code, c.code_hash, &self.code, delegates.contains(&c.address)),
                ..Default::default()
            };
            match age {
                provenance::Age::Known { block, timestamp, lookups } => {
                    p.created_block = Some(block);
                    p.age_seconds = Some(head.facts.timestamp.saturating_sub(timestamp));
                    p.age_lookups = lookups;
                }
                provenance::Age::Unknown(why) => p.age_unknown = Some(why),
            }
            out.push(p);
        }
        if let Some((to, mark)) = provenance::bait(item)
            && let Some(p) = out.iter_mut().find(|p| p.address == to)
        {
            p.marks.push(mark);
        }
        self.admins(head, sim, &mut out).await;
        if out.iter().any(|p| p.age_unknown.is_some()) {
            r.unchecked.push("contract age: unknown for some contracts (the upstream does not serve old state)".into());
        }
        r.contracts = out;
    }

    /// Whether each proxy's admin holds code.
    async fn admins(
        &self,
        head: &Head,
        sim: &airlock_sim::Simulator<airlock_chain::StateFrom>,
        out: &mut [Provenance],
    ) {
        let admins: Vec<(Address, Vec<B256>)> =
            out.iter().filter_map(|p| p.proxy.as_ref()?.admin).map(|a| (a, vec![])).collect();
        if admins.is_empty() {
            return;
        }
        let Ok(states) = sim.accounts(head, &admins).await else { return };
        for p in out.iter_mut() {
            if let Some(proxy) = p.proxy.as_mut()
                && let Some(s) = states.iter().find(|s| Some(s.address) == proxy.admin)
            {
                proxy.admin_is_eoa = s.code.is_empty() || provenance::is_designator(&s.code);
            }
        }
    }
}

/// Every address the request touches, and the ones it delegates an account to.
/// The reverse names of `touched` (the first [`MAX_CONTRACTS`]), where this chain has ENS.
async fn names(
    sim: &airlock_sim::Simulator<airlock_chain::StateFrom>,
    head: &Head,
    touched: &[Address],
) -> Vec<airlock_types::NamedAddress> {
    let has_registry = sim.accounts(head, &[(ens::REGISTRY, vec![])]).await.is_ok_and(|a| !a[0].code.is_empty());
    if !has_registry {
        return vec![];
    }
    let lookups = touched.iter().take(MAX_CONTRACTS).map(|a| async move { (*a, ens::reverse(sim, head, *a).await) });
    futures_util::future::join_all(lookups)
        .await
        .into_iter()
        .filter_map(|(address, name)| Some(airlock_types::NamedAddress { address, name: name? }))
        .collect()
}

fn touched(item: &Item) -> (Vec<Address>, BTreeSet<Address>) {
    let mut all = BTreeSet::new();
    let mut delegates = BTreeSet::new();
    if let Some(tx) = &item.tx {
        all.extend(tx.to);
        all.extend(tx.authorization_list.iter().map(|a| a.address));
        delegates.extend(tx.authorization_list.iter().map(|a| a.address));
    }
    all.extend(item.calls.iter().filter_map(|c| c.to));
    if let Some(r) = &item.report {
        all.extend(r.calls.iter().flat_map(|c| [c.to, c.code_address]));
        all.extend(r.transfers.iter().flat_map(|t| [t.to, t.from]));
        all.extend(r.approvals.iter().map(|a| a.spender));
        all.extend(r.final_recipients.iter().map(|f| f.address));
        delegates.extend(r.delegations.iter().filter_map(|d| d.after));
    }
    if let Some(s) = &item.signature_report {
        all.extend(s.approvals.iter().map(|a| a.spender));
        all.extend(s.transfers.iter().map(|t| t.to));
        all.extend(s.verifying_contract);
    }
    all.extend(delegates.iter().copied());
    if let Some(from) = item.tx.as_ref().and_then(|t| t.from) {
        all.remove(&from);
    }
    all.remove(&Address::ZERO);
    (all.into_iter().collect(), delegates)
}

fn spenders(item: &Item) -> BTreeSet<Address> {
    let mut s = BTreeSet::new();
    s.extend(item.report.iter().flat_map(|r| r.approvals.iter().map(|a| a.spender)));
    s.extend(item.signature_report.iter().flat_map(|r| r.approvals.iter().map(|a| a.spender)));
    s
}
