use super::*;

struct Devnet;

const TST: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const WETH: &str = "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512";
const BOB: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

impl Book for Devnet {
    fn token(&self, name: &str) -> Result<Token, IntentError> {
        match name.trim().to_ascii_uppercase().as_str() {
            "TST" => Ok(Token { address: TST.parse().expect("address"), symbol: "TST".into(), decimals: 18 }),
            "USDC" => Ok(Token { address: Address::repeat_byte(0xcc), symbol: "USDC".into(), decimals: 6 }),
            _ => Err(IntentError::UnknownToken(name.into())),
        }
    }
    fn weth(&self) -> Option<Token> {
        Some(Token { address: WETH.parse().expect("address"), symbol: "WETH".into(), decimals: 18 })
    }
}

fn intent(v: serde_json::Value) -> Intent {
    serde_json::from_value(v).expect("intent")
}

#[test]
fn amounts_parse_as_people_write_them_and_nothing_else() {
    assert_eq!(parse_units("0.1", 18).expect("ok"), U256::from(10u64.pow(17)));
    assert_eq!(parse_units("1000", 6).expect("ok"), U256::from(1_000_000_000u64));
    assert_eq!(parse_units(" 2.5 ", 6).expect("ok"), U256::from(2_500_000u64));
    assert_eq!(parse_units(".5", 1).expect("ok"), U256::from(5));
    for bad in ["-1", "", ".", "1e18", "1,5", "0x10", "0", "0.0", "1.0000001", "abc"] {
        assert!(parse_units(bad, 6).is_err(), "{bad:?} must be refused");
    }
    assert!(parse_units(&"9".repeat(80), 18).is_err(), "too large");
}

#[test]
fn each_intent_builds_the_request_it_names() {
    let from: Address = BOB.parse().expect("address");
    let b = build(&intent(serde_json::json!({ "kind": "send", "to": TST, "amount": "0.5" })), Some(from), &Devnet)
        .expect("builds");
    assert_eq!(b.params[0]["value"], "0x6f05b59d3b20000");
    assert_eq!(b.params[0]["from"], BOB);
    assert!(b.params[0].get("data").is_none());
    assert_eq!(b.asked, format!("send 0.5 ETH to {TST}"));

    let b = build(
        &intent(serde_json::json!({ "kind": "send", "to": BOB, "amount": "2", "token": "usdc" })),
        Some(from),
        &Devnet,
    )
    .expect("builds");
    let data = b.params[0]["data"].as_str().expect("data");
    assert!(data.starts_with("0xa9059cbb") && data.ends_with(&format!("{:064x}", 2_000_000u64)), "{data}");

    let b = build(
        &intent(serde_json::json!({ "kind": "approve", "token": "TST", "spender": BOB, "amount": "unlimited" })),
        Some(from),
        &Devnet,
    )
    .expect("builds");
    assert!(b.params[0]["data"].as_str().expect("data").ends_with(&"f".repeat(64)));
    assert_eq!(b.expect.approvals[0].2, U256::MAX);

    let b =
        build(&intent(serde_json::json!({ "kind": "revoke", "token": "TST", "spender": BOB })), Some(from), &Devnet)
            .expect("builds");
    assert!(b.params[0]["data"].as_str().expect("data").ends_with(&"0".repeat(64)));
    let b = build(&intent(serde_json::json!({ "kind": "wrap", "amount": "1" })), Some(from), &Devnet).expect("builds");
    assert_eq!((b.params[0]["to"].as_str(), b.params[0]["data"].as_str()), (Some(WETH), Some("0xd0e30db0")));
}

/// The devnet's book with alice.eth resolved (as the daemon resolves names before building).
struct Named;

impl Book for Named {
    fn token(&self, name: &str) -> Result<Token, IntentError> {
        Devnet.token(name)
    }
    fn weth(&self) -> Option<Token> {
        Devnet.weth()
    }
    fn name(&self, name: &str) -> Result<Address, IntentError> {
        match name {
            "alice.eth" => Ok(BOB.parse().expect("address")),
            _ => Err(IntentError::Invalid(format!("{name} has no resolver on this chain"))),
        }
    }
}

#[test]
fn names_resolve_through_the_book_and_show_beside_the_address() {
    let i = intent(serde_json::json!({ "kind": "send", "to": "alice.eth", "amount": "1", "token": "TST" }));
    assert_eq!(names(&i), vec!["alice.eth".to_owned()]);
    let b = build(&i, Some(Address::repeat_byte(1)), &Named).expect("builds");
    assert_eq!(b.asked, format!("send 1 TST to alice.eth ({BOB})"));
    assert_eq!(b.expect.sends[0].1, BOB.parse::<Address>().expect("address"));
    let i = intent(serde_json::json!({ "kind": "approve", "token": "TST", "spender": "nobody.eth", "amount": "1" }));
    let e = build(&i, Some(Address::repeat_byte(1)), &Named).expect_err("no resolver");
    assert!(e.to_string().contains("no resolver"), "{e}");
    let swap = intent(serde_json::json!({ "kind": "swap", "token_in": "ETH", "token_out": "TST", "amount": "1" }));
    assert!(names(&swap).is_empty());
}

#[test]
fn bad_intents_are_refused_with_why() {
    let from = Some(Address::repeat_byte(1));
    let cases = [
        (serde_json::json!({ "kind": "send", "to": BOB, "amount": "1", "token": "SHIB" }), "unknown token"),
        (serde_json::json!({ "kind": "send", "to": BOB, "amount": "-1" }), "negative"),
        (serde_json::json!({ "kind": "send", "to": "0x1234", "amount": "1" }), "not an address"),
        (serde_json::json!({ "kind": "send", "to": "vitalik.eth", "amount": "1" }), "an ENS name that resolves"),
        (serde_json::json!({ "kind": "revoke", "token": "TST" }), "both token and spender"),
        (
            serde_json::json!({ "kind": "send", "to": BOB, "amount": "0.0000001", "token": "USDC" }),
            "more than 6 digits",
        ),
    ];
    for (v, why) in cases {
        let e = build(&intent(v.clone()), from, &Devnet).expect_err("refused");
        assert!(e.to_string().contains(why), "{v}: {e}");
    }
    let e = build(&intent(serde_json::json!({ "kind": "wrap", "amount": "1" })), None, &Devnet).expect_err("no sender");
    assert!(e.to_string().contains("`from`"), "{e}");
    let unknown: Result<Intent, _> =
        serde_json::from_value(serde_json::json!({ "kind": "send", "to": BOB, "amount": "1", "memo": "x" }));
    assert!(unknown.is_err(), "unknown fields are refused");
    let swap: Result<Intent, _> = serde_json::from_value(serde_json::json!({ "kind": "drain", "to": BOB }));
    assert!(swap.is_err());
}
