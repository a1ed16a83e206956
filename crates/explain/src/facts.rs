//! The facts an explanation may speak of, in words and numbers a person reads: what moves, at
//! which amounts, to and from whom. The template writes from these; the prompt lists them; the
//! grounding check accepts only these.

use airlock_types::{Asset, AssetKind, Item, OutcomeStatus};
use alloy_primitives::{Address, U256};

/// Amount in token units, every significant digit ("1.5", "0.000000000000000001").
pub fn units(v: U256, decimals: u8) -> String {
    let s = v.to_string();
    let d = usize::from(decimals);
    let (int, frac) = if s.len() > d {
        let (i, f) = s.split_at(s.len() - d);
        (i.to_string(), f.to_string())
    } else {
        ("0".to_string(), format!("{s:0>d$}"))
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() { int } else { format!("{int}.{frac}") }
}

/// Control characters out, length capped: text from the chain or the request is data.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

/// `s` ending as a sentence does (a full stop added where it has no end mark).
pub fn full_stop(s: &str) -> String {
    let s = s.trim();
    if s.is_empty() || s.ends_with(['.', '!', '?', '…']) { s.to_owned() } else { format!("{s}.") }
}

/// An asset's name: ETH, or the token's symbol (cleaned) with its address.
pub fn symbol(a: &Asset) -> String {
    match a.kind {
        AssetKind::Eth => "ETH".into(),
        _ => a
            .symbol
            .as_deref()
            .map(|s| clean(s, 24))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| "tokens".into()),
    }
}

/// "1.5 ETH", "#42 of TNFT", "3 × #1 of ITEMS", or raw units when the decimals are unknown.
pub fn amount(v: U256, a: &Asset) -> String {
    let name = symbol(a);
    match a.kind {
        AssetKind::Eth => format!("{} ETH", units(v, 18)),
        AssetKind::Erc721 => format!("#{} of {name}", a.token_id.unwrap_or_default()),
        AssetKind::Erc1155 => format!("{v} × #{} of {name}", a.token_id.unwrap_or_default()),
        AssetKind::Erc20 => match a.decimals {
            Some(d) => format!("{} {name}", units(v, d)),
            None => format!("{v} raw units of {name}"),
        },
    }
}

pub fn addr(a: Address) -> String {
    format!("{a:#x}")
}

/// One movement out of or into the sender.
#[derive(Debug, Clone)]
pub struct Move {
    pub outgoing: bool,
    pub counterparty: Address,
    pub amount: String,
}

/// What the sender gives and gets, in order.
pub fn moves(item: &Item) -> Vec<Move> {
    let Some(r) = &item.report else { return vec![] };
    let mut out = vec![];
    for t in &r.transfers {
        if t.from == r.from && t.to != r.from {
            out.push(Move { outgoing: true, counterparty: t.to, amount: amount(t.amount, &t.asset) });
        } else if t.to == r.from && t.from != r.from {
            out.push(Move { outgoing: false, counterparty: t.from, amount: amount(t.amount, &t.asset) });
        }
    }
    out
}

pub fn outcome_words(item: &Item) -> Option<String> {
    let r = item.report.as_ref()?;
    match r.outcome.status {
        OutcomeStatus::Success => None,
        _ => Some(clean(r.outcome.reason.as_deref().unwrap_or("no reason given"), 200)),
    }
}
