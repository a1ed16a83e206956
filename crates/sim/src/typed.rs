//! What a signature would authorise, from EIP-712 typed data: EIP-2612 Permit, Permit2
//! (PermitSingle, PermitBatch, PermitTransferFrom and their batch and witness forms) and Seaport
//! orders. Everything in typed data comes from the requesting page and is untrusted: numbers
//! that do not parse leave the field out and say so, never guess.

use airlock_types::{
    AccountKind, ApprovalChange, ApprovalKind, Asset, AssetKind, SignKind, SignView, SignatureKind, SignatureReport,
    Transfer,
};
use alloy_primitives::{Address, U256, aliases::U160};
use serde_json::Value;

/// The signature's meaning, without state (spender kinds, symbols and allowances are added by
/// the simulator from verified state).
pub fn describe(sign: &SignView) -> SignatureReport {
    let mut r = SignatureReport {
        kind: SignatureKind::OtherTypedData,
        primary_type: None,
        verifying_contract: None,
        chain_id: None,
        approvals: vec![],
        transfers: vec![],
        deadline: None,
        notes: vec![],
        unreadable: vec![],
    };
    match sign.kind {
        SignKind::PersonalSign => {
            r.kind = SignatureKind::Message;
            if sign.text.is_none() {
                r.notes.push("the message is not readable text: check what it is before signing".into());
            }
            return r;
        }
        SignKind::EthSign => {
            r.kind = SignatureKind::RawHash;
            r.notes
                .push("eth_sign signs a raw hash: it can be a transaction or a permit, and nothing shows which".into());
            return r;
        }
        SignKind::TypedData => {}
    }
    let Some(td) = &sign.typed_data else { return r };
    let domain = &td["domain"];
    r.verifying_contract = address(&domain["verifyingContract"]);
    r.chain_id = uint(&domain["chainId"]).map(|c| c.saturating_to());
    let primary = td["primaryType"].as_str().unwrap_or_default().to_owned();
    r.primary_type = Some(crate::text::clean(&primary, 64));
    let msg = &td["message"];
    let owner = sign.address;
    match primary.as_str() {
        "Permit" if msg.get("spender").is_some() && msg.get("value").is_some() => {
            r.kind = SignatureKind::Permit;
            let token = need_address(&mut r.unreadable, "domain.verifyingContract", &domain["verifyingContract"]);
            let spender = need_address(&mut r.unreadable, "message.spender", &msg["spender"]);
            if let Some(o) = address(&msg["owner"]).filter(|o| *o != owner) {
                r.notes.push(format!("the permit is for owner {o}, not the signing account {owner}"));
            }
            let value = need_uint(&mut r.unreadable, "message.value", &msg["value"]);
            r.approvals.push(approval(ApprovalKind::Erc20, token, owner, spender, None, value, None));
            r.deadline = uint(&msg["deadline"]).map(|d| d.saturating_to());
        }
        "PermitSingle" | "PermitBatch" => {
            r.kind = SignatureKind::Permit2Allowance;
            let spender = need_address(&mut r.unreadable, "message.spender", &msg["spender"]);
            let details: Vec<&Value> = match &msg["details"] {
                Value::Array(list) => list.iter().collect(),
                one => vec![one],
            };
            for d in details {
                let token = need_address(&mut r.unreadable, "message.details.token", &d["token"]);
                let amount = need_uint(&mut r.unreadable, "message.details.amount", &d["amount"]);
                let expiration = uint(&d["expiration"]).map(|e| e.saturating_to());
                r.approvals.push(approval(ApprovalKind::Permit2, token, owner, spender, None, amount, expiration));
            }
            r.deadline = uint(&msg["sigDeadline"]).map(|d| d.saturating_to());
        }
        p if p.starts_with("Permit") && p.contains("TransferFrom") => {
            r.kind = SignatureKind::Permit2Transfer;
            let spender = need_address(&mut r.unreadable, "message.spender", &msg["spender"]);
            let permitted: Vec<&Value> = match &msg["permitted"] {
                Value::Array(list) => list.iter().collect(),
                one => vec![one],
            };
            for p in permitted {
                let token = need_address(&mut r.unreadable, "message.permitted.token", &p["token"]);
                let amount = need_uint(&mut r.unreadable, "message.permitted.amount", &p["amount"]);
                r.transfers.push(Transfer { asset: erc20(token), from: owner, to: spender, amount, event: None });
            }
            r.deadline = uint(&msg["deadline"]).map(|d| d.saturating_to());
            r.notes.push(format!("{spender} may move these tokens once, to any address it chooses"));
        }
        "OrderComponents" | "Order" if msg.get("offer").is_some() => {
            r.kind = SignatureKind::SeaportOrder;
            let offerer = address(&msg["offerer"]).unwrap_or(owner);
            for item in msg["offer"].as_array().into_iter().flatten() {
                // Whoever fulfils the order receives the offer; an item that cannot be read
                // counts as given away, whatever it is.
                let (asset, amount) = order_item(item).unwrap_or_else(|| {
                    r.unreadable.push("an offer item".into());
                    (unknown_asset(), U256::MAX)
                });
                r.transfers.push(Transfer { asset, from: offerer, to: Address::ZERO, amount, event: None });
            }
            for item in msg["consideration"].as_array().into_iter().flatten() {
                match (order_item(item), address(&item["recipient"])) {
                    (Some((asset, amount)), Some(recipient)) => {
                        r.transfers.push(Transfer { asset, from: Address::ZERO, to: recipient, amount, event: None })
                    }
                    // A payment that cannot be read is not counted as paid.
                    _ => r.unreadable.push("a consideration item".into()),
                }
            }
            let to_offerer = r.transfers.iter().any(|t| t.to == offerer && !t.amount.is_zero());
            if !to_offerer {
                r.notes.push("the order gives your items away and pays you nothing".into());
            }
            r.deadline = uint(&msg["endTime"]).map(|d| d.saturating_to());
        }
        _ => r.notes.push("typed data of a kind Airlock does not decode: read it before signing".into()),
    }
    r
}

/// An allowance as the report shows it, before state fills in the spender's kind, the symbol
/// and the allowance it replaces. Unlimited: the largest value the type holds (uint256 for
/// ERC-20, uint160 for Permit2). The one constructor for transactions' logs and signatures.
pub(crate) fn approval(
    kind: ApprovalKind,
    token: Address,
    owner: Address,
    spender: Address,
    token_id: Option<U256>,
    after: U256,
    expiration: Option<u64>,
) -> ApprovalChange {
    let unlimited = match kind {
        ApprovalKind::Erc20 => after == U256::MAX,
        ApprovalKind::Permit2 => after >= U256::from(U160::MAX),
        _ => false,
    };
    ApprovalChange {
        kind,
        token,
        symbol: None,
        decimals: None,
        owner,
        spender,
        spender_kind: AccountKind::Eoa,
        token_id,
        before: None,
        after,
        expiration,
        unlimited,
    }
}

/// A field that must be an address: the zero address (no code: the worst spender) when not.
fn need_address(unreadable: &mut Vec<String>, what: &str, v: &Value) -> Address {
    address(v).unwrap_or_else(|| {
        unreadable.push(what.to_owned());
        Address::ZERO
    })
}

/// An amount: unlimited when it cannot be read.
fn need_uint(unreadable: &mut Vec<String>, what: &str, v: &Value) -> U256 {
    uint(v).unwrap_or_else(|| {
        unreadable.push(what.to_owned());
        U256::MAX
    })
}

fn unknown_asset() -> Asset {
    Asset {
        kind: AssetKind::Erc721,
        token: None,
        token_id: None,
        symbol: Some("an unreadable item".into()),
        decimals: None,
    }
}

fn erc20(token: Address) -> Asset {
    Asset { kind: AssetKind::Erc20, token: Some(token), token_id: None, symbol: None, decimals: None }
}

/// A Seaport offer or consideration item: (asset, start amount).
fn order_item(item: &Value) -> Option<(Asset, U256)> {
    let kind = match uint(&item["itemType"])?.saturating_to::<u8>() {
        0 => AssetKind::Eth,
        1 => AssetKind::Erc20,
        2 | 4 => AssetKind::Erc721,
        3 | 5 => AssetKind::Erc1155,
        _ => return None,
    };
    let token = address(&item["token"]);
    let id = uint(&item["identifierOrCriteria"]);
    let amount = uint(&item["startAmount"]).max(uint(&item["endAmount"]))?;
    let asset = Asset {
        kind,
        token: (kind != AssetKind::Eth).then_some(token).flatten(),
        token_id: matches!(kind, AssetKind::Erc721 | AssetKind::Erc1155).then_some(id).flatten(),
        symbol: (kind == AssetKind::Eth).then(|| "ETH".to_owned()),
        decimals: (kind == AssetKind::Eth).then_some(18),
    };
    Some((asset, amount))
}

fn address(v: &Value) -> Option<Address> {
    v.as_str()?.parse().ok()
}

/// A uint256 as typed data carries it: a JSON number, a decimal string or a 0x-hex string.
fn uint(v: &Value) -> Option<U256> {
    match v {
        // Wallets read 2.0 as 2: so does Airlock, for whole numbers a double holds exactly.
        Value::Number(n) => n.as_u64().map(U256::from).or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 9_007_199_254_740_992.0)
                .map(|f| U256::from(f as u64))
        }),
        Value::String(s) => match s.strip_prefix("0x") {
            Some(h) if !h.is_empty() && h.len() <= 64 => U256::from_str_radix(h, 16).ok(),
            Some(_) => None,
            None => U256::from_str_radix(s, 10).ok(),
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(primary: &str, message: Value) -> SignView {
        SignView {
            kind: SignKind::TypedData,
            address: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266".parse().expect("address"),
            text: None,
            data: None,
            typed_data: Some(json!({
                "domain": { "name": "X", "chainId": 1, "verifyingContract": "0x000000000022D473030F116dDEE9F6B43aC78BA3" },
                "primaryType": primary,
                "types": {},
                "message": message,
            })),
        }
    }

    #[test]
    fn permit2_single_is_an_allowance() {
        let r = describe(&typed(
            "PermitSingle",
            json!({
                "details": { "token": "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", "amount": "1461501637330902918203684832716283019655932542975", "expiration": "1800000000", "nonce": "0" },
                "spender": "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD",
                "sigDeadline": "0x6b49d200",
            }),
        ));
        assert_eq!(r.kind, SignatureKind::Permit2Allowance);
        assert_eq!(r.approvals.len(), 1);
        assert!(r.approvals[0].unlimited, "2^160 - 1 is Permit2's unlimited");
        assert_eq!(r.approvals[0].expiration, Some(1_800_000_000));
        assert_eq!(r.deadline, Some(1_800_000_000));
        assert_eq!(r.chain_id, Some(1));
    }

    #[test]
    fn a_seaport_order_that_pays_nothing_says_so() {
        let offerer = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        let r = describe(&typed(
            "OrderComponents",
            json!({
                "offerer": offerer,
                "offer": [{ "itemType": 2, "token": "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D", "identifierOrCriteria": "42", "startAmount": "1", "endAmount": "1" }],
                "consideration": [{ "itemType": 0, "token": "0x0000000000000000000000000000000000000000", "identifierOrCriteria": "0", "startAmount": "0", "endAmount": "0", "recipient": offerer }],
                "endTime": "1900000000",
            }),
        ));
        assert_eq!(r.kind, SignatureKind::SeaportOrder);
        assert_eq!(r.transfers[0].asset.token_id, Some(U256::from(42)));
        assert!(r.notes.iter().any(|n| n.contains("pays you nothing")), "{:?}", r.notes);
        // The review's case: an NFT offered as itemType 2.0 and a 1-wei payment to the offerer.
        let r = describe(&typed(
            "OrderComponents",
            json!({
                "offerer": offerer,
                "offer": [{ "itemType": 2.0, "token": "0xBC4CA0EdA7647A8aB7C2061c2E118A18a936f13D", "identifierOrCriteria": "42", "startAmount": "1", "endAmount": "1" }],
                "consideration": [{ "itemType": 0, "token": "0x0000000000000000000000000000000000000000", "identifierOrCriteria": "0", "startAmount": "1", "endAmount": "1", "recipient": offerer }],
            }),
        ));
        assert_eq!(r.transfers[0].asset.kind, AssetKind::Erc721, "2.0 is 2: the NFT is seen leaving");
        let r = describe(&typed(
            "OrderComponents",
            json!({ "offerer": offerer, "offer": [{ "itemType": "x" }], "consideration": [] }),
        ));
        assert_eq!(r.transfers[0].amount, U256::MAX, "an unreadable offer item counts as given away");
        assert_eq!(r.unreadable, vec!["an offer item".to_owned()]);
    }

    #[test]
    fn unknown_and_malformed_typed_data_is_not_guessed() {
        let r = describe(&typed("Mail", json!({ "contents": "hi" })));
        assert_eq!(r.kind, SignatureKind::OtherTypedData);
        assert!(r.approvals.is_empty());
        // A permit whose value does not parse is treated as unlimited, never as zero.
        let r = describe(&typed(
            "Permit",
            json!({ "spender": "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD", "value": "lots" }),
        ));
        assert!(r.approvals[0].unlimited);
    }
}
