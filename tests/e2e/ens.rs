//! ENS on anvil, from the registry and resolver npm artifacts (@ensdomains/ens 0.6.2,
//! @ensdomains/resolver 0.3.1): the registry's code placed at its canonical address (where
//! Airlock reads it on every chain), a PublicResolver and the ReverseRegistrar deployed
//! against it, `alice.eth` → ADDR1 with ADDR1's reverse record, `bob.eth` → ADDR2 (no reverse).

use crate::harness::*;
use crate::simulate::deploy;

/// The ENS registry's address on mainnet and the testnets.
pub(crate) const REGISTRY: &str = "0x00000000000C2E074eC69A0dFb2997BA6C7d2e1e";
/// anvil's second account's key (ADDR1's).
const KEY1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

async fn cast_ok(args: &[&str]) -> String {
    let out = output(cast(args)).await;
    assert!(out.status.success(), "cast {args:?}: {}", stderr(&out));
    stdout(&out).trim().to_owned()
}

async fn send_as(anvil: &str, key: &str, to: &str, sig: &str, args: &[&str]) {
    let mut a = vec!["send", "--rpc-url", anvil, "--private-key", key, to, sig];
    a.extend_from_slice(args);
    cast_ok(&a).await;
}

/// Deploys ENS as the module docs say; the resolver's address.
pub(crate) async fn deploy_ens(anvil: &str) -> String {
    let reg0 = deploy(anvil, "@ensdomains/ens/build/contracts/ENSRegistry.json", "", &[]).await;
    let code = cast_ok(&["code", "--rpc-url", anvil, &reg0]).await;
    cast_ok(&["rpc", "--rpc-url", anvil, "anvil_setCode", REGISTRY, &code]).await;
    // records[0x0].owner (mapping slot 0): the root belongs to ADDR0, as the constructor set it.
    let root_owner_slot = cast_ok(&["keccak", &format!("0x{}", "0".repeat(128))]).await;
    let owner = format!("0x{:0>64}", ADDR0.trim_start_matches("0x"));
    cast_ok(&["rpc", "--rpc-url", anvil, "anvil_setStorageAt", REGISTRY, &root_owner_slot, &owner]).await;
    let res =
        deploy(anvil, "@ensdomains/resolver/build/contracts/PublicResolver.json", "f(address)", &[REGISTRY]).await;
    let rev = deploy(
        anvil,
        "@ensdomains/resolver/build/contracts/ReverseRegistrar.json",
        "f(address,address)",
        &[REGISTRY, &res],
    )
    .await;
    let zero = format!("0x{}", "0".repeat(64));
    let label = |l: &str| {
        let l = l.to_owned();
        async move { cast_ok(&["keccak", &l]).await }
    };
    let node = |n: &str| {
        let n = n.to_owned();
        async move { cast_ok(&["namehash", &n]).await }
    };
    let sub = "setSubnodeOwner(bytes32,bytes32,address)";
    send_as(anvil, KEY0, REGISTRY, sub, &[&zero, &label("eth").await, ADDR0]).await;
    for (name, addr) in [("alice", ADDR1), ("bob", ADDR2)] {
        send_as(anvil, KEY0, REGISTRY, sub, &[&node("eth").await, &label(name).await, ADDR0]).await;
        let n = node(&format!("{name}.eth")).await;
        send_as(anvil, KEY0, REGISTRY, "setResolver(bytes32,address)", &[&n, &res]).await;
        send_as(anvil, KEY0, &res, "setAddr(bytes32,address)", &[&n, addr]).await;
    }
    send_as(anvil, KEY0, REGISTRY, sub, &[&zero, &label("reverse").await, ADDR0]).await;
    send_as(anvil, KEY0, REGISTRY, sub, &[&node("reverse").await, &label("addr").await, &rev]).await;
    send_as(anvil, KEY1, &rev, "setName(string)", &["alice.eth"]).await;
    res
}
