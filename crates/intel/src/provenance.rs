//! What the chain says about a contract: when it was deployed (a search over the upstream's
//! history of its code, cached in the store), whether it is an upgradeable proxy and who can
//! upgrade it (slots read on the verified head), and what its code looks like.

use airlock_chain::Upstream;
use airlock_sim::AccountState;
use airlock_store::Store;
use airlock_types::{CodeMark, ProxyInfo};
use alloy_primitives::{Address, B256, Bytes, U256, b256};
use serde_json::json;

/// EIP-1967 slots: bytes32(uint256(keccak256("eip1967.proxy.implementation")) - 1), and the
/// admin's and beacon's likewise.
pub(crate) const IMPLEMENTATION_SLOT: B256 = b256!("360894a13ba1a3210667c828492db98dca3e2076cc3735a920a3ca505d382bbc");
pub(crate) const ADMIN_SLOT: B256 = b256!("b53127684a568b3173ae13b9f8a6016e243e63b6e8ee1178d6a717850b5d6103");
pub(crate) const BEACON_SLOT: B256 = b256!("a3f0ad74e5423aebfd80d3ef4346578335a9a72aeaee59ff6cb3582b35133d50");
/// EIP-1822 (UUPS): keccak256("PROXIABLE").
pub(crate) const PROXIABLE_SLOT: B256 = b256!("c5f16f0fcc639fa48a6947836d9850f504798523bf8c9a3a87d5876cf622bcf7");

/// The slots read of every contract.
pub(crate) const SLOTS: [B256; 4] = [IMPLEMENTATION_SLOT, ADMIN_SLOT, BEACON_SLOT, PROXIABLE_SLOT];

/// Code shorter than this that is not a minimal proxy is marked `tiny-code`.
const TINY: usize = 64;

/// When a contract's code first appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Age {
    /// The block and its timestamp, and the round trips it took (0: from the cache).
    Known {
        block: u64,
        timestamp: u64,
        lookups: u32,
    },
    Unknown(String),
}

/// The first block at which `address` has code, by galloping back from the head and then
/// bisecting: a contract deployed k blocks ago costs about 2·log2(k) reads, so the young ones
/// (the dangerous ones) are found fastest. Cached by (chain, address, code hash).
pub(crate) async fn age(
    upstream: &Upstream,
    store: Option<&Store>,
    chain: u64,
    head: u64,
    account: &AccountState,
) -> Age {
    let key = format!("created:{chain}:{}:{}", account.address, account.code_hash);
    if let Some(Ok(Some(v))) = store.map(|s| s.get_state(&key))
        && let Ok(b) = <[u8; 16]>::try_from(v.as_slice())
    {
        let (block, ts) = b.split_at(8);
        let block = u64::from_be_bytes(block.try_into().unwrap_or_default());
        let timestamp = u64::from_be_bytes(ts.try_into().unwrap_or_default());
        return Age::Known { block, timestamp, lookups: 0 };
    }
    let mut lookups = 0u32;
    let mut has_code = async |n: u64| -> Result<bool, String> {
        lookups += 1;
        code_at(upstream, account.address, n).await.map(|c| !c.is_empty())
    };
    // hi has code; lo does not (or is below block 0).
    let (mut lo, mut hi): (Option<u64>, u64) = (None, head);
    let mut step = 1u64;
    loop {
        let Some(n) = hi.checked_sub(step) else {
            match has_code(0).await {
                Ok(true) => hi = 0,
                Ok(false) => lo = Some(0),
                Err(e) => return Age::Unknown(unserved(0, &e)),
            }
            break;
        };
        match has_code(n).await {
            Ok(true) => {
                hi = n;
                step = step.saturating_mul(2);
            }
            Ok(false) => {
                lo = Some(n);
                break;
            }
            Err(e) => return Age::Unknown(unserved(n, &e)),
        }
    }
    if let Some(mut lo) = lo {
        while lo + 1 < hi {
            let mid = lo + (hi - lo) / 2;
            match has_code(mid).await {
                Ok(true) => hi = mid,
                Ok(false) => lo = mid,
                Err(e) => return Age::Unknown(unserved(mid, &e)),
            }
        }
    }
    let timestamp = match timestamp_of(upstream, hi).await {
        Ok(t) => t,
        Err(e) => return Age::Unknown(format!("block {hi}'s time could not be read: {e}")),
    };
    lookups += 1;
    if let Some(s) = store {
        let mut v = hi.to_be_bytes().to_vec();
        v.extend(timestamp.to_be_bytes());
        if let Err(e) = s.put_state(&key, &v) {
            tracing::debug!(error = %e, "the contract's age was not cached");
        }
    }
    Age::Known { block: hi, timestamp, lookups }
}

fn unserved(block: u64, e: &str) -> String {
    format!("the upstream does not serve the state of block {block} ({e})")
}

async fn code_at(upstream: &Upstream, address: Address, block: u64) -> Result<Bytes, String> {
    let params =
        serde_json::value::to_raw_value(&json!([address, format!("0x{block:x}")])).map_err(|e| e.to_string())?;
    let raw = upstream.request("eth_getCode", Some(&params)).await.map_err(|e| e.to_string())?;
    serde_json::from_str(raw.get()).map_err(|e| format!("not code: {e}"))
}

async fn timestamp_of(upstream: &Upstream, block: u64) -> Result<u64, String> {
    let params = serde_json::value::to_raw_value(&json!([format!("0x{block:x}"), false])).map_err(|e| e.to_string())?;
    let raw = upstream.request("eth_getBlockByNumber", Some(&params)).await.map_err(|e| e.to_string())?;
    #[derive(serde::Deserialize)]
    struct Block {
        timestamp: alloy_primitives::U64,
    }
    let b: Option<Block> = serde_json::from_str(raw.get()).map_err(|e| format!("not a block: {e}"))?;
    b.map(|b| b.timestamp.to::<u64>()).ok_or_else(|| format!("no block {block}"))
}

/// The proxy a contract's slots describe, with its admin's and beacon's addresses; none when
/// every proxy slot is empty.
pub(crate) fn proxy_of(account: &AccountState) -> Option<ProxyInfo> {
    let slot = |s: B256| {
        account.storage.iter().find(|(k, _)| *k == s).map(|(_, v)| *v).filter(|v| !v.is_zero()).map(address_in)
    };
    let (implementation, admin, beacon, uups) =
        (slot(IMPLEMENTATION_SLOT), slot(ADMIN_SLOT), slot(BEACON_SLOT), slot(PROXIABLE_SLOT));
    let kind = match (implementation, beacon, uups) {
        (_, Some(_), _) => "eip1967-beacon",
        (Some(_), _, _) => "eip1967",
        (None, None, Some(_)) => "eip1822",
        (None, None, None) if admin.is_some() => "eip1967",
        _ => return None,
    };
    Some(ProxyInfo { kind: kind.into(), implementation: implementation.or(uups), beacon, admin, admin_is_eoa: false })
}

fn address_in(v: U256) -> Address {
    Address::from_word(B256::from(v))
}

/// Marks on code: a known hash, a delegate that is only a fallback, code too small to be a
/// real contract. `delegate`: the code runs as an EOA's 7702 delegate.
pub(crate) fn marks(code: &[u8], code_hash: B256, known: &[(B256, String)], delegate: bool) -> Vec<CodeMark> {
    let mut out = vec![];
    if let Some((_, label)) = known.iter().find(|(h, _)| *h == code_hash) {
        out.push(CodeMark { kind: "drainer-code".into(), detail: label.clone() });
    }
    if code.is_empty() || is_designator(code) {
        return out;
    }
    if delegate && !dispatches(code) {
        out.push(CodeMark {
            kind: "fallback-only".into(),
            detail: "no function selectors: whatever is called, or whatever is sent, runs the same code".into(),
        });
    }
    if code.len() < TINY && !is_minimal_proxy(code) {
        out.push(CodeMark { kind: "tiny-code".into(), detail: format!("{} bytes of code", code.len()) });
    }
    out
}

/// Function names that phishing pages give a payable function ("claim your reward", "security
/// update"), with no arguments: paying one that passes the ETH on is the scam's whole shape.
const BAIT: [&str; 18] = [
    "claim",
    "Claim",
    "claimReward",
    "ClaimReward",
    "claimRewards",
    "ClaimRewards",
    "claimAirdrop",
    "ClaimAirdrop",
    "airdrop",
    "Airdrop",
    "securityUpdate",
    "SecurityUpdate",
    "connect",
    "Connect",
    "verify",
    "Verify",
    "enable",
    "Enable",
];

/// The bait-named function the request pays, when the contract passes that ETH on: the mark
/// for the called contract.
pub(crate) fn bait(item: &airlock_types::Item) -> Option<(Address, CodeMark)> {
    let tx = item.tx.as_ref()?;
    let (to, report) = (tx.to?, item.report.as_ref()?);
    if tx.value.is_zero() || tx.data.len() != 4 {
        return None;
    }
    let name = BAIT.iter().find(|n| alloy_primitives::keccak256(format!("{n}()"))[..4] == tx.data[..])?;
    let onward: Vec<String> =
        report.final_recipients.iter().filter(|f| f.via == Some(to)).map(|f| format!("{:#x}", f.address)).collect();
    if onward.is_empty() {
        return None;
    }
    let detail = format!("{name}() takes the ETH you send and passes it on to {}", onward.join(", "));
    Some((to, CodeMark { kind: "bait-payable".into(), detail }))
}

/// An EIP-7702 delegation designator (0xef0100 ‖ address).
pub(crate) fn is_designator(code: &[u8]) -> bool {
    code.len() == 23 && code.starts_with(&[0xef, 0x01, 0x00])
}

/// An EIP-1167 minimal proxy (a clone): 45 bytes that forward to one implementation.
fn is_minimal_proxy(code: &[u8]) -> bool {
    code.len() == 45 && code.starts_with(&[0x36, 0x3d, 0x3d, 0x37, 0x3d, 0x3d, 0x3d, 0x36, 0x3d, 0x73])
}

/// Whether the code compares the call's selector with a PUSH4 constant (solc's and vyper's
/// dispatchers do: `PUSH4 sel EQ`, or `PUSH4 sel DUP2 EQ`, or a `GT` split).
pub(crate) fn dispatches(code: &[u8]) -> bool {
    let ops = opcodes(code);
    ops.windows(3)
        .any(|w| w[0] == 0x63 && (w[1] == 0x14 || w[1] == 0x11 || (0x80..=0x8f).contains(&w[1]) && w[2] == 0x14))
}

/// The opcodes in order, push data skipped.
fn opcodes(code: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(code.len());
    let mut i = 0;
    while i < code.len() {
        let op = code[i];
        out.push(op);
        i += 1;
        if (0x60..=0x7f).contains(&op) {
            i += usize::from(op - 0x5f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slots_are_the_standards() {
        let minus_one = |s: &str| B256::from(U256::from_be_bytes(alloy_primitives::keccak256(s).0) - U256::from(1));
        assert_eq!(IMPLEMENTATION_SLOT, minus_one("eip1967.proxy.implementation"));
        assert_eq!(ADMIN_SLOT, minus_one("eip1967.proxy.admin"));
        assert_eq!(BEACON_SLOT, minus_one("eip1967.proxy.beacon"));
        assert_eq!(PROXIABLE_SLOT, alloy_primitives::keccak256("PROXIABLE"));
    }

    #[test]
    fn a_dispatcher_is_seen_and_a_bare_fallback_is_not() {
        // PUSH1 0 CALLDATALOAD PUSH1 0xe0 SHR DUP1 PUSH4 a9059cbb EQ PUSH2 0010 JUMPI
        let dispatch = hex::decode("60003560e01c8063a9059cbb1461001057").expect("hex");
        assert!(dispatches(&dispatch));
        // A sweeper: CALL(gas, coinbase-ish PUSH20, SELFBALANCE, …) with no selector at all;
        // a PUSH4 inside PUSH20's data must not count.
        let sweep =
            hex::decode(format!("{}{}{}", "6000600060006000477363a9059cbb14", "00".repeat(14), "5af100")).expect("hex");
        assert!(!dispatches(&sweep));
        let marks = marks(&sweep, B256::ZERO, &[], true);
        let kinds: Vec<&str> = marks.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, ["fallback-only", "tiny-code"]);
    }

    #[test]
    fn a_minimal_proxy_is_not_tiny() {
        let clone =
            hex::decode("363d3d373d3d3d363d73bebebebebebebebebebebebebebebebebebebebe5af43d82803e903d91602b57fd5bf3")
                .expect("hex");
        assert!(marks(&clone, B256::ZERO, &[], false).is_empty());
    }
}
