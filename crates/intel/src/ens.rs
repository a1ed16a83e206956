//! ENS names, read on verified state: the registry (at its canonical address, the same on
//! every chain ENS is deployed to) and the name's resolver, by `eth_call` on the proven head.
//! No third-party API is asked. A reverse name counts only when its forward record points back
//! at the same address (anyone can claim any reverse name for their own address).
//!
//! Names are ASCII only: a name outside `[a-z0-9-_]` labels is refused, not normalised, so that
//! no look-alike (Cyrillic, full-width, zero-width) resolves.

use airlock_sim::{Head, Simulator};
use airlock_types::{OutcomeStatus, TxView};
use alloy_primitives::{Address, B256, Bytes, address, keccak256};
use alloy_sol_types::{SolCall, sol};

/// The ENS registry, at the address it has on mainnet, Sepolia and Holesky.
pub const REGISTRY: Address = address!("00000000000C2E074eC69A0dFb2997BA6C7d2e1e");

/// The longest name read.
pub const MAX_NAME: usize = 255;

sol! {
    function resolver(bytes32 node) returns (address);
    function addr(bytes32 node) returns (address);
    function name(bytes32 node) returns (string);
}

/// Why a name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{0:?} is not an ENS name Airlock reads (ASCII labels of a-z, 0-9, - and _, joined by dots)")]
    Malformed(String),
    #[error("{0} has no resolver on this chain")]
    NoResolver(String),
    #[error("{0} has no address record")]
    NoAddress(String),
    #[error("{name} could not be read on the verified head: {why}")]
    Unread { name: String, why: String },
}

/// Whether `s` is written as a name (labels joined by dots), not as an address.
pub fn looks_like_name(s: &str) -> bool {
    let s = s.trim();
    s.contains('.') && !s.starts_with("0x")
}

/// The name, lower-cased and checked: ASCII labels only, none empty, at most 255 bytes.
pub fn normalise(name: &str) -> Result<String, NameError> {
    let n = name.trim().to_ascii_lowercase();
    let label_ok = |l: &str| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if n.len() > MAX_NAME || !n.contains('.') || !n.split('.').all(label_ok) {
        return Err(NameError::Malformed(name.trim().chars().take(80).collect()));
    }
    Ok(n)
}

/// EIP-137's namehash of a normalised name.
pub fn namehash(name: &str) -> B256 {
    let mut node = B256::ZERO;
    if name.is_empty() {
        return node;
    }
    for label in name.rsplit('.') {
        let mut buf = [0u8; 64];
        buf[..32].copy_from_slice(node.as_slice());
        buf[32..].copy_from_slice(keccak256(label.as_bytes()).as_slice());
        node = keccak256(buf);
    }
    node
}

/// The node of `address`'s reverse record: `<hex address>.addr.reverse`.
pub fn reverse_node(address: Address) -> B256 {
    namehash(&format!("{}.addr.reverse", alloy_primitives::hex::encode(address.as_slice())))
}

type Sim = Simulator<airlock_chain::StateFrom>;

/// One read-only call on the head; its output, or why not.
async fn call(sim: &Sim, head: &Head, to: Address, data: Vec<u8>) -> Result<Bytes, String> {
    let tx = TxView { to: Some(to), data: Bytes::from(data), ..TxView::default() };
    let out = sim.call(head, &tx).await.map_err(|e| e.to_string())?;
    match out.outcome.status {
        OutcomeStatus::Success => Ok(out.outcome.output),
        _ => Err(out.outcome.reason.unwrap_or_else(|| "the call reverted".into())),
    }
}

/// The resolver the registry names for `node` (none: zero, or no registry on this chain).
async fn resolver_of(sim: &Sim, head: &Head, node: B256) -> Result<Option<Address>, String> {
    let out = call(sim, head, REGISTRY, resolverCall { node }.abi_encode()).await?;
    Ok(resolverCall::abi_decode_returns(&out).ok().filter(|a| !a.is_zero()))
}

/// The address `name` resolves to on `head`.
pub async fn resolve(sim: &Sim, head: &Head, name: &str) -> Result<Address, NameError> {
    let name = normalise(name)?;
    let node = namehash(&name);
    let unread = |why: String| NameError::Unread { name: name.clone(), why };
    let resolver = resolver_of(sim, head, node).await.map_err(unread)?;
    let resolver = resolver.ok_or_else(|| NameError::NoResolver(name.clone()))?;
    let out = call(sim, head, resolver, addrCall { node }.abi_encode()).await.map_err(unread)?;
    addrCall::abi_decode_returns(&out).ok().filter(|a| !a.is_zero()).ok_or_else(|| NameError::NoAddress(name.clone()))
}

/// `address`'s reverse name, when it has one and the name resolves back to it.
pub async fn reverse(sim: &Sim, head: &Head, address: Address) -> Option<String> {
    let node = reverse_node(address);
    let resolver = resolver_of(sim, head, node).await.ok().flatten()?;
    let out = call(sim, head, resolver, nameCall { node }.abi_encode()).await.ok()?;
    let claimed = nameCall::abi_decode_returns(&out).ok().filter(|n| !n.is_empty())?;
    let name = normalise(&claimed).ok()?;
    (resolve(sim, head, &name).await.ok()? == address).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namehash_matches_eip137() {
        assert_eq!(namehash(""), B256::ZERO);
        // EIP-137's examples.
        assert_eq!(namehash("eth").to_string(), "0x93cdeb708b7545dc668eb9280176169d1c33cfd8ed6f04690a0bcc88a93fc4ae");
        assert_eq!(
            namehash("foo.eth").to_string(),
            "0xde9b09fd7c5f901e23a3f19fecc54828e9c848539801e86591bd9801b019f84f"
        );
    }

    #[test]
    fn names_are_ascii_and_well_formed() {
        assert_eq!(normalise(" Alice.ETH ").as_deref(), Ok("alice.eth"));
        for bad in ["alice", "alice..eth", ".eth", "аlice.eth", "ａlice.eth", "al\u{200b}ice.eth", "a b.eth"] {
            assert!(normalise(bad).is_err(), "{bad:?}");
        }
        assert!(normalise(&format!("{}.eth", "a".repeat(300))).is_err());
        assert!(looks_like_name("alice.eth") && !looks_like_name("0x70997970C51812dc3A010C7d01b50e0d17dc79C8"));
    }

    #[test]
    fn reverse_node_is_the_hex_address_under_addr_reverse() {
        let a = address!("70997970C51812dc3A010C7d01b50e0d17dc79C8");
        assert_eq!(reverse_node(a), namehash("70997970c51812dc3a010c7d01b50e0d17dc79c8.addr.reverse"));
    }
}
