//! Lists as data: the token list, known routers and marketplaces, allowed 7702 delegates and
//! the person's blocklist. The bundled ones are in rules/lists; every `lists/` directory under
//! a `--rules` directory adds to them (a `blocklist.txt` there too). The threat lists Airlock
//! bundles and downloads are the threat-data crate's (airlock-intel); its findings reach the
//! facts on the item.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use alloy_primitives::Address;
use serde::Deserialize;

use crate::RuleError;

pub(crate) const BUNDLED_TOKENS: &str = include_str!("../../../rules/lists/tokens.json");
pub(crate) const BUNDLED_KNOWN: &str = include_str!("../../../rules/lists/known.toml");
pub(crate) const BUNDLED_DELEGATES: &str = include_str!("../../../rules/lists/delegates.toml");

#[derive(Debug, Default, Clone)]
pub struct Lists {
    /// (chain, token) → (symbol, decimals)
    pub tokens: HashMap<(u64, Address), (String, Option<u8>)>,
    /// (chain, upper-case symbol) → the listed tokens with it
    pub symbols: HashMap<(u64, String), Vec<Address>>,
    /// (chain, address) → (name, kind)
    pub known: HashMap<(u64, Address), (String, String)>,
    pub delegates: HashSet<(u64, Address)>,
    /// address → (only on this chain, reason)
    pub blocked: HashMap<Address, Vec<(Option<u64>, String)>>,
    /// Where the token list came from.
    pub token_sources: Vec<String>,
    /// (chain, venue) → the contracts that quote it, in the order added (later lists last).
    pub venues: HashMap<(u64, String), Vec<Address>>,
}

/// The venues a known entry may be (its `venue`): a Uniswap V2 Router02, whose
/// `getAmountsOut` quotes V2 pools, a Uniswap V3 QuoterV2, which quotes V3 paths, and a Uniswap
/// V3 SwapRouter (with deadlines), through which a proposed swap on V3 pools is sent.
pub const VENUES: [&str; 3] = ["uniswap-v2-router", "uniswap-v3-quoter", "uniswap-v3-router"];

#[derive(Deserialize)]
struct TokenFile {
    source: String,
    tokens: Vec<(u64, Address, String, Option<u8>)>,
}

#[derive(Deserialize)]
struct KnownFile {
    #[serde(default)]
    known: Vec<KnownEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownEntry {
    chain: u64,
    address: Address,
    name: String,
    kind: String,
    /// One of [`VENUES`]: swaps on this chain are also quoted through it.
    #[serde(default)]
    venue: Option<String>,
}

#[derive(Deserialize)]
struct DelegateFile {
    #[serde(default)]
    delegate: Vec<DelegateEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DelegateEntry {
    chain: u64,
    address: Address,
    #[allow(dead_code)]
    name: String,
}

impl Lists {
    /// The bundled lists.
    pub fn bundled() -> Result<Lists, RuleError> {
        let mut l = Lists::default();
        l.add_tokens(BUNDLED_TOKENS, "rules/lists/tokens.json")?;
        l.add_known(BUNDLED_KNOWN, "rules/lists/known.toml")?;
        l.add_delegates(BUNDLED_DELEGATES, "rules/lists/delegates.toml")?;
        Ok(l)
    }

    /// Adds the lists found in `dir` (tokens.json, known.toml, delegates.toml, blocklist.txt;
    /// each optional).
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), RuleError> {
        let read = |name: &str| -> Result<Option<(String, String)>, RuleError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some((text, path.display().to_string()))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(RuleError::io(&path, e)),
            }
        };
        if let Some((t, p)) = read("tokens.json")? {
            self.add_tokens(&t, &p)?;
        }
        if let Some((t, p)) = read("known.toml")? {
            self.add_known(&t, &p)?;
        }
        if let Some((t, p)) = read("delegates.toml")? {
            self.add_delegates(&t, &p)?;
        }
        if let Some((t, p)) = read("blocklist.txt")? {
            self.add_blocklist(&t, &p)?;
        }
        Ok(())
    }

    fn add_tokens(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        let f: TokenFile = serde_json::from_str(text).map_err(|e| RuleError::at(file, e.line(), e.to_string()))?;
        for (chain, address, symbol, decimals) in f.tokens {
            self.symbols.entry((chain, symbol.to_uppercase())).or_default().push(address);
            self.tokens.insert((chain, address), (symbol, decimals));
        }
        self.token_sources.push(f.source);
        Ok(())
    }

    fn add_known(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        let f: KnownFile = toml::from_str(text).map_err(|e| RuleError::toml(file, text, &e))?;
        for k in f.known {
            if let Some(venue) = k.venue {
                if !VENUES.contains(&venue.as_str()) {
                    let quoted = format!("\"{venue}\"");
                    let line = text.lines().position(|l| l.contains(&quoted)).map_or(0, |i| i + 1);
                    return Err(RuleError::at(
                        file,
                        line,
                        format!("unknown venue {venue:?} (known: {})", VENUES.join(", ")),
                    ));
                }
                self.venues.entry((k.chain, venue)).or_default().push(k.address);
            }
            self.known.insert((k.chain, k.address), (k.name, k.kind));
        }
        Ok(())
    }

    fn add_delegates(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        let f: DelegateFile = toml::from_str(text).map_err(|e| RuleError::toml(file, text, &e))?;
        for d in f.delegate {
            self.delegates.insert((d.chain, d.address));
        }
        Ok(())
    }

    fn add_blocklist(&mut self, text: &str, file: &str) -> Result<(), RuleError> {
        for (i, line) in text.lines().enumerate() {
            let (entry, reason) = match line.split_once('#') {
                Some((e, r)) => (e.trim(), r.trim()),
                None => (line.trim(), ""),
            };
            if entry.is_empty() {
                continue;
            }
            let (chain, address) = match entry.split_once(':') {
                Some((c, a)) => (
                    Some(c.trim().parse::<u64>().map_err(|_| {
                        RuleError::at(file, i + 1, format!("{c:?} is not a chain id (write CHAIN:ADDRESS)"))
                    })?),
                    a.trim(),
                ),
                None => (None, entry),
            };
            let address: Address = address.parse().map_err(|_| {
                RuleError::at(file, i + 1, format!("{address:?} is not an address (0x and 40 hex digits)"))
            })?;
            let reason = if reason.is_empty() { format!("listed in {file}") } else { reason.to_owned() };
            self.blocked.entry(address).or_default().push((chain, reason));
        }
        Ok(())
    }

    pub fn token(&self, chain: u64, address: Address) -> Option<&(String, Option<u8>)> {
        self.tokens.get(&(chain, address))
    }

    /// Whether `symbol` is a listed token's symbol on any chain (USDC, WETH, DAI, …).
    pub fn famous(&self, symbol: &str) -> bool {
        let wanted = symbol.trim().to_uppercase();
        !wanted.is_empty() && self.symbols.keys().any(|(_, s)| *s == wanted)
    }

    /// The listed token whose symbol `symbol` claims, when `address` is not it.
    pub fn impersonated(&self, chain: u64, address: Address, symbol: &str) -> Option<Address> {
        if self.tokens.contains_key(&(chain, address)) {
            return None;
        }
        self.symbols.get(&(chain, symbol.trim().to_uppercase())).and_then(|l| l.first()).copied()
    }

    pub fn known(&self, chain: u64, address: Address) -> Option<&(String, String)> {
        self.known.get(&(chain, address))
    }

    /// The contract that quotes `venue` on `chain`: the one listed last (a user's list after
    /// the bundled one).
    pub fn venue(&self, chain: u64, venue: &str) -> Option<Address> {
        self.venues.get(&(chain, venue.to_owned()))?.last().copied()
    }

    pub fn blocked(&self, chain: u64, address: Address) -> Option<&str> {
        self.blocked.get(&address)?.iter().find(|(c, _)| c.is_none_or(|c| c == chain)).map(|(_, r)| r.as_str())
    }

    pub fn delegate_allowed(&self, chain: u64, address: Address) -> bool {
        self.delegates.contains(&(chain, address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venues_come_from_the_known_list_and_a_user_list_comes_last() {
        let bundled = Lists::bundled().expect("bundled");
        let router: Address = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D".parse().expect("address");
        assert_eq!(bundled.venue(1, "uniswap-v2-router"), Some(router));
        assert!(bundled.venue(1, "uniswap-v3-quoter").is_some());
        assert_eq!(bundled.venue(31337, "uniswap-v2-router"), None);

        let mut l = bundled.clone();
        let mine = Address::repeat_byte(7);
        let text = format!(
            "[[known]]\nchain = 1\naddress = \"{mine}\"\nname = \"mine\"\nkind = \"router\"\nvenue = \"uniswap-v2-router\"\n"
        );
        l.add_known(&text, "mine.toml").expect("adds");
        assert_eq!(l.venue(1, "uniswap-v2-router"), Some(mine));

        let typo = text.replace("uniswap-v2-router", "uniswap-v2");
        let e = l.add_known(&typo, "mine.toml").expect_err("unknown venue");
        assert!(e.message.contains("unknown venue \"uniswap-v2\"") && e.line == 6, "{e:?}");
    }
}
