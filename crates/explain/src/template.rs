//! The template explainer: always there, no model, correct by construction. It names what
//! moves, at which amounts, to whom; what is approved; what fails. Its concerns are the rule
//! findings' own words, one per warn or danger rule (as the model's shape has them), so that
//! every explanation states every finding; the page lists them with the findings already and
//! shows the template's summary alone.

use airlock_types::{ApprovalKind, Explanation, ExplanationState, Item, SignatureKind};
use alloy_primitives::U256;

use crate::facts::{addr, amount, moves, outcome_words, units};

pub fn explain(item: &Item) -> Explanation {
    Explanation {
        summary: summary(item),
        concerns: crate::shape::finding_rules(item)
            .iter()
            .filter_map(|r| item.findings.iter().find(|f| &f.rule == r))
            .map(|f| crate::facts::full_stop(&crate::facts::clean(&f.message, 300)))
            .collect(),
        source: "template".into(),
        state: ExplanationState::Done,
        ungrounded: vec![],
        error: None,
    }
}

fn approval_words(kind: ApprovalKind, after: U256, unlimited: bool, a: &airlock_types::ApprovalChange) -> String {
    let token = a.symbol.clone().map(|s| crate::facts::clean(&s, 24)).unwrap_or_else(|| addr(a.token));
    match kind {
        ApprovalKind::ApprovalForAll if after.is_zero() => {
            format!("revokes {} as operator of every {token}", addr(a.spender))
        }
        ApprovalKind::ApprovalForAll => format!("lets {} move every {token} token it holds", addr(a.spender)),
        ApprovalKind::Erc721 => format!("lets {} move {token} #{}", addr(a.spender), a.token_id.unwrap_or_default()),
        _ if after.is_zero() => format!("revokes the {token} allowance of {}", addr(a.spender)),
        _ if unlimited => format!("lets {} spend an unlimited amount of {token}", addr(a.spender)),
        _ => format!(
            "lets {} spend {} {token}",
            addr(a.spender),
            a.decimals.map(|d| units(after, d)).unwrap_or_else(|| after.to_string())
        ),
    }
}

fn summary(item: &Item) -> String {
    if let Some(s) = &item.signature_report {
        let what = match s.kind {
            SignatureKind::Permit => "an ERC-20 permit",
            SignatureKind::Permit2Allowance => "a Permit2 allowance",
            SignatureKind::Permit2Transfer => "a Permit2 transfer",
            SignatureKind::SeaportOrder => "a Seaport order",
            SignatureKind::OtherTypedData => "typed data Airlock cannot decode",
            SignatureKind::Message => "a message",
            SignatureKind::RawHash => "a raw hash, which can authorise anything",
        };
        let mut parts = vec![format!("You are asked to sign {what}")];
        for a in &s.approvals {
            parts.push(format!("it {}", approval_words(a.kind, a.after, a.unlimited, a)));
        }
        for t in &s.transfers {
            let to = if t.to.is_zero() { "whoever fulfils it".to_owned() } else { addr(t.to) };
            parts.push(format!("it lets {} go to {to}", amount(t.amount, &t.asset)));
        }
        return sentence(&parts);
    }
    let Some(r) = &item.report else {
        return match &item.simulation_error {
            Some(e) => format!(
                "This request could not be simulated ({}), so nothing is known about what it does.",
                crate::facts::clean(e, 200)
            ),
            None => "This request was not simulated, so nothing is known about what it does.".into(),
        };
    };
    if let Some(reason) = outcome_words(item) {
        return format!(
            "This transaction would fail ({reason}): nothing would move, but the fee of about {} ETH would be spent.",
            units(r.fee, 18)
        );
    }
    let mut parts = vec![];
    let ms = moves(item);
    let sends: Vec<String> =
        ms.iter().filter(|m| m.outgoing).map(|m| format!("{} to {}", m.amount, addr(m.counterparty))).collect();
    let gets: Vec<String> =
        ms.iter().filter(|m| !m.outgoing).map(|m| format!("{} from {}", m.amount, addr(m.counterparty))).collect();
    if !sends.is_empty() {
        parts.push(format!("You send {}", sends.join(", ")));
    }
    if !gets.is_empty() {
        parts.push(format!("you receive {}", gets.join(", ")));
    }
    for a in &r.approvals {
        parts.push(format!("it {}", approval_words(a.kind, a.after, a.unlimited, a)));
    }
    for d in &r.delegations {
        match d.after {
            Some(t) => parts.push(format!("it hands control of {} to the code at {}", addr(d.authority), addr(t))),
            None => parts.push(format!("it clears the delegation of {}", addr(d.authority))),
        }
    }
    if parts.is_empty() {
        let call = r.call.as_ref().and_then(|c| c.function.clone()).map(|f| crate::facts::clean(&f, 120));
        parts.push(match call {
            Some(f) => format!("It calls {f} and moves none of your assets"),
            None => "It moves none of your assets".into(),
        });
    }
    format!("{} The fee is about {} ETH.", sentence(&parts), units(r.fee, 18))
}

fn sentence(parts: &[String]) -> String {
    let s = parts.join("; ");
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}
