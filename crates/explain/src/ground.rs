//! The grounding check every backend's text passes: an address, an amount of a token, or a
//! well-known token name that the report does not contain, or one used in another role than
//! the report gives it, marks the text as ungrounded, and the page says so. A model can be
//! wrong; it cannot be wrong quietly.

use std::collections::HashSet;

use airlock_types::Item;

use crate::facts::{amount, moves};

/// Token names a model might invent; each is ungrounded unless the report has it.
const WELL_KNOWN: &[&str] = &[
    "ETH", "WETH", "USDC", "USDT", "DAI", "WBTC", "STETH", "WSTETH", "UNI", "LINK", "AAVE", "MKR", "PEPE", "SHIB",
    "ARB", "OP", "MATIC", "POL", "LDO", "CRV", "COMP", "SNX", "GHO", "FRAX", "LUSD", "RETH", "CBETH",
];

/// What the report lets a text mention.
struct Known {
    addresses: HashSet<String>,
    numbers: HashSet<String>,
    symbols: HashSet<String>,
}

fn known(item: &Item) -> Known {
    let json = serde_json::to_string(&(&item.tx, &item.report, &item.signature_report, &item.calls, &item.findings))
        .unwrap_or_default();
    let lower = json.to_lowercase();
    let mut addresses = HashSet::new();
    let b = lower.as_bytes();
    let mut i = 0;
    while i + 42 <= b.len() {
        if &b[i..i + 2] == b"0x" && b[i + 2..i + 42].iter().all(u8::is_ascii_hexdigit) {
            addresses.insert(lower[i..i + 42].to_owned());
            i += 42;
        } else {
            i += 1;
        }
    }
    let mut numbers = HashSet::new();
    let mut symbols: HashSet<String> = ["ETH".to_owned()].into();
    let mut add_amount = |s: String| {
        for w in s.split_whitespace() {
            numbers.insert(w.trim_start_matches('#').to_owned());
        }
    };
    for m in moves(item) {
        add_amount(m.amount);
    }
    // The rules' findings are facts too: the numbers they state (a share, a tax, a nonce).
    for f in &item.findings {
        add_amount(f.message.replace([',', ';', '(', ')', ':', '%'], " "));
    }
    let assets = item
        .report
        .iter()
        .flat_map(|r| r.transfers.iter().map(|t| (&t.asset, t.amount)))
        .chain(item.signature_report.iter().flat_map(|s| s.transfers.iter().map(|t| (&t.asset, t.amount))));
    for (a, v) in assets {
        add_amount(amount(v, a));
        if let Some(s) = &a.symbol {
            symbols.insert(s.to_uppercase());
        }
    }
    let approvals = item
        .report
        .iter()
        .flat_map(|r| r.approvals.iter())
        .chain(item.signature_report.iter().flat_map(|s| s.approvals.iter()));
    for a in approvals {
        if let Some(s) = &a.symbol {
            symbols.insert(s.to_uppercase());
        }
        if let Some(d) = a.decimals {
            add_amount(crate::facts::units(a.after, d));
        }
        add_amount(a.after.to_string());
    }
    if let Some(r) = &item.report {
        add_amount(crate::facts::units(r.fee, 18));
        add_amount(crate::facts::units(r.value, 18));
    }
    Known { addresses, numbers, symbols }
}

/// The words of `text` that the report does not back: unknown addresses, amounts next to a
/// token name that no movement has, well-known token names the report does not contain; and
/// by role: an address named in another role than the report gives it, or called an amount,
/// and an amount written next to another token than its own ([`crate::score::role_check`]).
pub fn check(text: &str, item: &Item) -> Vec<String> {
    let mut out = unbacked(text, item);
    for e in crate::score::role_check(text, item) {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

fn unbacked(text: &str, item: &Item) -> Vec<String> {
    let k = known(item);
    let mut out: Vec<String> = vec![];
    let mut push = |s: String| {
        if !out.contains(&s) {
            out.push(s);
        }
    };
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == '(' || c == ')')
        .filter(|w| !w.is_empty())
        .collect();
    for (i, raw) in words.iter().enumerate() {
        let w = raw.trim_matches(|c: char| matches!(c, '.' | ':' | '"' | '\'' | '!' | '?'));
        // Byte-wise: the text is a model's, anything at all, and must never be cut mid-character.
        let b = w.as_bytes();
        let starts_0x = b.len() > 2 && b[..2].eq_ignore_ascii_case(b"0x");
        let hex_len = if starts_0x { b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count() } else { 0 };
        if hex_len >= 40 {
            // Everything up to here is ASCII, so these are character boundaries.
            let a = w[..42].to_lowercase();
            if !k.addresses.contains(&a) {
                push(w[..42].to_owned());
            }
            continue;
        }
        // A shortened address ("0x7099…79c8", or cut off mid-way) must be part of a known one.
        if (8..40).contains(&hex_len) {
            let part = w[..2 + hex_len].to_lowercase();
            let tail: String =
                w[2 + hex_len..].chars().filter(char::is_ascii_hexdigit).collect::<String>().to_lowercase();
            if !k.addresses.iter().any(|a| a.starts_with(&part) && a.ends_with(&tail)) {
                push(w.to_owned());
            }
            continue;
        }
        let upper = w.to_uppercase();
        if WELL_KNOWN.contains(&upper.as_str())
            && w.chars().all(|c| c.is_ascii_alphanumeric())
            && !k.symbols.contains(&upper)
        {
            push(w.to_owned());
        }
        // A number followed by a token name is an amount: it must be one the report has.
        let is_number =
            !w.is_empty() && w.chars().all(|c| c.is_ascii_digit() || c == '.') && w.chars().any(|c| c.is_ascii_digit());
        if is_number && let Some(next) = words.get(i + 1) {
            let next = next.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_uppercase();
            if k.symbols.contains(&next) || WELL_KNOWN.contains(&next.as_str()) {
                let n = normalise(w);
                if !k.numbers.iter().any(|x| normalise(x) == n) {
                    push(format!("{w} {next}"));
                }
            }
        }
    }
    out
}

/// "1.50" and "1.5" and "1.500" are one number.
fn normalise(n: &str) -> String {
    let n = n.trim_end_matches('.');
    if n.contains('.') { n.trim_end_matches('0').trim_end_matches('.').to_owned() } else { n.to_owned() }
}
