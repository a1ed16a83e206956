//! The prompt: the facts in a fixed structure. Every string that comes from the chain or the
//! request (symbols, function names, revert reasons, rule messages quoting them) is untrusted:
//! cleaned of control characters, capped, and quoted as a JSON string, so it reads as data.

use airlock_types::Item;

use crate::facts::{addr, amount, clean, moves, outcome_words};

/// A string from the outside, as data.
pub fn quote(s: &str) -> String {
    serde_json::to_string(&clean(s, 160)).unwrap_or_else(|_| "\"\"".into())
}

/// The user message: the facts of `item`, in a fixed order.
pub fn build(item: &Item) -> String {
    // The findings first: the answer must speak to each.
    let mut out = String::new();
    if item.findings.is_empty() {
        out.push_str("rule findings: none\n");
    } else {
        out.push_str("rule findings (from deterministic rules; they stand whatever you say):\n");
        for f in &item.findings {
            out.push_str(&format!("- {} {}: {}\n", f.severity.as_str(), f.rule, quote(&f.message)));
        }
    }
    out.push_str("FACTS\n");
    let tx = item.tx.as_ref();
    out.push_str(&format!("request: {}\n", quote(&item.method)));
    if let Some(tx) = tx {
        out.push_str(&format!(
            "from: {}\nto: {}\n",
            tx.from.map(addr).unwrap_or_else(|| "unknown".into()),
            tx.to.map(addr).unwrap_or_else(|| "a new contract".into())
        ));
    }
    if let Some(v) = &item.verification {
        out.push_str(&format!("state: {:?} ({})\n", v.status, quote(&v.mode)).to_lowercase());
    }
    if let Some(r) = &item.report {
        match outcome_words(item) {
            Some(reason) => out.push_str(&format!("outcome: fails, reason {}\n", quote(&reason))),
            None => out.push_str("outcome: succeeds\n"),
        }
        out.push_str("moves (you = the sender):\n");
        let ms = moves(item);
        if ms.is_empty() {
            out.push_str("- nothing\n");
        }
        for m in ms {
            let dir = if m.outgoing { "you send" } else { "you receive" };
            let with = if m.outgoing { "to" } else { "from" };
            out.push_str(&format!("- {dir} {} {with} {}\n", quote(&m.amount), addr(m.counterparty)));
        }
        if !r.approvals.is_empty() {
            out.push_str("approvals:\n");
            for a in &r.approvals {
                out.push_str(&format!(
                    "- {} may spend {} of token {} {} (spender is {:?})\n",
                    addr(a.spender),
                    if a.unlimited { "UNLIMITED".to_owned() } else { a.after.to_string() },
                    addr(a.token),
                    quote(a.symbol.as_deref().unwrap_or("")),
                    a.spender_kind
                ));
            }
        }
        if let Some(c) = &r.call {
            out.push_str(&format!("call: {}\n", quote(c.function.as_deref().unwrap_or("an unknown function"))));
        }
        for d in &r.divergences {
            out.push_str(&format!("behaves differently with {}: {}\n", quote(&d.environment), quote(&d.difference)));
        }
    }
    if let Some(s) = &item.signature_report {
        out.push_str(&format!("signature: {:?}\n", s.kind));
        for a in &s.approvals {
            out.push_str(&format!(
                "- grants {} an allowance of {} on token {}\n",
                addr(a.spender),
                if a.unlimited { "UNLIMITED".into() } else { a.after.to_string() },
                addr(a.token)
            ));
        }
        for t in &s.transfers {
            out.push_str(&format!("- lets {} go to {}\n", quote(&amount(t.amount, &t.asset)), addr(t.to)));
        }
    }
    out
}
