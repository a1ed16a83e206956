//! The approvals watch on anvil: approvals granted through Airlock (an ERC-20 allowance, an
//! unlimited one, an operator approval on an OpenZeppelin ERC-721) are listed with the chain's
//! current values; sending one's revoke transaction through Airlock removes it from the list.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, nft, token};

const ADDR5: &str = "0x9965507d1a55bcc2695c58ba16fb37d819b0a4dc";
const MAX: &str = "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

fn listed(airlock: &Airlock, extra: &[&str]) -> Value {
    let mut args = vec!["approvals", "--json"];
    args.extend_from_slice(extra);
    airlock.cli_json(&args)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_list_follows_the_chain_through_approve_and_revoke() {
    let anvil = Anvil::start();
    let up = anvil.url();
    let direct = Rpc::new(&up);
    let tst = token(&up).await;
    let nft = nft(&up).await;
    let airlock = Airlock::start(&up, &[]);
    assert_eq!(listed(&airlock, &[])["approvals"], json!([]), "nothing granted yet");

    let approve = |spender: &str, amount: &str| {
        let (spender, amount, tst) = (spender.to_owned(), amount.to_owned(), tst.clone());
        async move {
            json!({ "from": ADDR0, "to": tst, "data": calldata("approve(address,uint256)", &[&spender, &amount]).await })
        }
    };
    through(&airlock, "eth_sendTransaction", json!([approve(ADDR1, "1000").await])).await;
    through(&airlock, "eth_sendTransaction", json!([approve(ADDR2, MAX).await])).await;
    let operator = calldata("setApprovalForAll(address,bool)", &[ADDR5, "true"]).await;
    through(&airlock, "eth_sendTransaction", json!([{ "from": ADDR0, "to": nft, "data": operator }])).await;
    // A later grant replaces an earlier one of the same spender.
    through(&airlock, "eth_sendTransaction", json!([approve(ADDR1, "2500").await])).await;

    let view = listed(&airlock, &[]);
    let open = view["approvals"].as_array().expect("list").clone();
    assert_eq!(open.len(), 3, "{view}");
    let find = |spender: &str| {
        open.iter()
            .find(|a| a["spender"].as_str() == Some(spender))
            .cloned()
            .unwrap_or_else(|| panic!("{spender}: {view}"))
    };
    // Each current value is the chain's.
    for spender in [ADDR1, ADDR2] {
        let a = find(spender);
        let data = calldata("allowance(address,address)", &[ADDR0, spender]).await;
        let on_chain = direct.result("eth_call", json!([{ "to": tst, "data": data }, "latest"])).await;
        let on_chain =
            alloy_primitives::U256::from_str_radix(on_chain.as_str().expect("hex").trim_start_matches("0x"), 16)
                .expect("uint");
        assert_eq!(a["current"].as_str(), Some(on_chain.to_string().as_str()), "{a}");
        assert_eq!(a["kind"], "erc20");
        assert_eq!(a["owner"].as_str().map(str::to_lowercase).as_deref(), Some(ADDR0));
    }
    assert_eq!(find(ADDR1)["current"], "2500");
    assert_eq!(find(ADDR2)["unlimited"], true);
    let op = find(ADDR5);
    assert_eq!((op["kind"].as_str(), op["current"].as_str()), (Some("approval_for_all"), Some("1")));
    assert_eq!(listed(&airlock, &["--address", ADDR1])["approvals"], json!([]), "ADDR1 granted nothing");
    let text = stdout(&airlock.cli(&["approvals"]));
    assert!(text.contains("UNLIMITED") && text.contains("revoke: send from"), "{text}");

    // Revoke the unlimited one and the operator with the prepared transactions, through Airlock.
    for a in [find(ADDR2), op] {
        let r = &a["revoke"];
        through(&airlock, "eth_sendTransaction", json!([{ "from": r["from"], "to": r["to"], "data": r["data"] }]))
            .await;
    }
    let after = listed(&airlock, &[]);
    let left: Vec<&str> =
        after["approvals"].as_array().expect("list").iter().filter_map(|a| a["spender"].as_str()).collect();
    assert_eq!(left, [ADDR1], "{after}");
    let allowance = direct
        .result(
            "eth_call",
            json!([{ "to": tst, "data": calldata("allowance(address,address)", &[ADDR0, ADDR2]).await }, "latest"]),
        )
        .await;
    assert_eq!(allowance, format!("0x{}", "0".repeat(64)), "revoked on chain too");

    let bad = airlock.cli(&["approvals", "--address", "0x123"]);
    assert!(!bad.status.success() && stderr(&bad).contains("is not an address"), "{}", stderr(&bad));
}
