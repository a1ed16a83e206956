//! Scoring an explanation against what a correct one must state (issue 19's evaluation): the
//! facts it covers, the dangers it names, and its errors: an address or amount in the wrong
//! role, a status it invents, a token or amount the report does not have, a danger played down.
//! Sentence by sentence, with plain word matching: what a person reading it would take from it.

use serde::{Deserialize, Serialize};

/// What a correct explanation of one report must state, recorded beside the report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Facts: each stated when one sentence holds all its words (case aside), e.g. what leaves
    /// `["1000", "TST"]`, who can spend it `["0x1111", "spend"]`.
    #[serde(default)]
    pub facts: Vec<Vec<String>>,
    /// Dangers: each named when the text holds any one of its phrasings, e.g.
    /// `["unlimited", "all of your", "any amount"]`.
    #[serde(default)]
    pub dangers: Vec<Vec<String>>,
    /// Addresses (or their first hex digits) and the only roles a sentence may give them:
    /// `token`, `spender`, `recipient`, `sender`, `contract`. An address named as an amount is
    /// always an error.
    #[serde(default)]
    pub roles: Vec<(String, Vec<String>)>,
    /// Amounts and the token each belongs to: `("1000", "TST")`.
    #[serde(default)]
    pub amounts: Vec<(String, String)>,
}

/// How one explanation scored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Score {
    pub facts: (usize, usize),
    pub dangers: (usize, usize),
    pub errors: Vec<String>,
}

impl Score {
    /// Every fact and danger stated, and no error.
    pub fn perfect(&self) -> bool {
        self.facts.0 == self.facts.1 && self.dangers.0 == self.dangers.1 && self.errors.is_empty()
    }
}

/// The roles and amounts `item`'s report gives (for grounding by role): each token is a token
/// (and a contract), each spender a spender, each recipient a recipient, the sender a sender;
/// each amount that moves belongs to its token.
pub fn roles_of(item: &airlock_types::Item) -> Expected {
    use std::collections::BTreeMap;
    let mut roles: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut give = |a: alloy_primitives::Address, role: &str| {
        let r = roles.entry(format!("{a:#x}")).or_default();
        if !r.iter().any(|x| x == role) {
            r.push(role.to_owned());
        }
    };
    let mut amounts = vec![];
    if let Some(r) = &item.report {
        give(r.from, "sender");
        for t in &r.transfers {
            if let Some(token) = t.asset.token {
                give(token, "token");
                give(token, "contract");
            }
            give(t.to, "recipient");
            give(t.from, "sender");
            if let Some((n, sym)) = crate::facts::amount(t.amount, &t.asset).split_once(' ') {
                amounts.push((n.to_owned(), sym.split_whitespace().next().unwrap_or(sym).to_owned()));
            }
        }
        for c in &r.calls {
            give(c.to, "contract");
        }
        // What the transaction is sent to, contract or not, is what "you send to" names.
        if let Some(to) = r.to {
            give(to, "recipient");
        }
        for (a, kind) in &r.account_kinds {
            if *kind == airlock_types::AccountKind::Contract {
                give(*a, "contract");
            }
        }
    }
    let approvals =
        item.report.iter().flat_map(|r| &r.approvals).chain(item.signature_report.iter().flat_map(|s| &s.approvals));
    for a in approvals {
        give(a.token, "token");
        give(a.token, "contract");
        give(a.spender, "spender");
        if a.spender_kind == airlock_types::AccountKind::Contract {
            give(a.spender, "contract");
        }
    }
    Expected { roles: roles.into_iter().collect(), amounts, ..Expected::default() }
}

/// The role errors in `text` against `item`'s report (see [`roles_of`]).
pub fn role_check(text: &str, item: &airlock_types::Item) -> Vec<String> {
    let expected = roles_of(item);
    sentences(text).iter().flat_map(|s| role_errors(s, &expected)).collect()
}

/// `text` without the sentences that state the request's status or the person's decision
/// (the model knows neither: "it is being rejected" of a pending item).
pub fn without_status(text: &str) -> String {
    let kept: Vec<&str> = split_sentences(text)
        .into_iter()
        .filter(|s| {
            let lower = s.to_lowercase();
            !STATUS.iter().any(|w| lower.contains(w))
        })
        .collect();
    kept.concat().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Words that state the request's status or the person's decision: the model knows neither.
const STATUS: &[&str] = &[
    "is being rejected",
    "was rejected",
    "has been rejected",
    "is rejected",
    "was approved",
    "has been approved",
    "is approved",
    "has been sent",
    "was sent",
    "has been executed",
    "was executed",
    "is confirmed",
    "was confirmed",
    "has been confirmed",
    "is being processed",
    "has been processed",
    "is complete",
    "was successful",
];

/// Words that say a danger does not matter.
const PLAYED_DOWN: &[&str] =
    &["nothing to worry", "is safe", "no risk", "not a concern", "harmless", "can be ignored", "nothing unusual"];

/// The role words a sentence may put right before an address or an amount.
const ROLE_WORDS: &[(&str, &str)] = &[
    ("token", "token"),
    ("spender", "spender"),
    ("recipient", "recipient"),
    ("to", "recipient"),
    ("from", "sender"),
    ("sender", "sender"),
    ("contract", "contract"),
];

/// Words between a role word and the address it names: "to the address 0x…".
const FILLER: &[&str] = &["the", "a", "an", "address", "wallet", "account"];

/// `text` cut into sentences, each with its end mark: at `.`, `!`, `?` or `;` before a space
/// or the end (not inside "0.5"), and at line breaks.
fn split_sentences(text: &str) -> Vec<&str> {
    let (mut out, mut start) = (vec![], 0);
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let next = chars.peek().map(|(_, n)| *n);
        let ends = c == '\n' || (matches!(c, '.' | '!' | '?' | ';') && next.is_none_or(char::is_whitespace));
        if ends {
            out.push(&text[start..i + c.len_utf8()]);
            start = i + c.len_utf8();
        }
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

fn sentences(text: &str) -> Vec<String> {
    split_sentences(text)
        .iter()
        .map(|s| s.trim().trim_end_matches(['.', '!', '?', ';']).to_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn words(s: &str) -> Vec<&str> {
    s.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')' || c == ':' || c == '"')
        .filter(|w| !w.is_empty())
        .collect()
}

/// Scores `text` against `expected`; `ungrounded` is what the grounding check found.
pub fn score(text: &str, expected: &Expected, ungrounded: &[String]) -> Score {
    let ss = sentences(text);
    let whole = text.to_lowercase();
    let states = |fact: &[String]| ss.iter().any(|s| fact.iter().all(|w| s.contains(&w.to_lowercase())));
    let facts = expected.facts.iter().filter(|f| states(f)).count();
    let named = |d: &[String]| d.iter().any(|w| whole.contains(&w.to_lowercase()));
    let dangers = expected.dangers.iter().filter(|d| named(d)).count();
    let mut errors: Vec<String> = ungrounded.iter().map(|u| format!("not in the report: {u}")).collect();
    for s in &ss {
        if let Some(w) = STATUS.iter().find(|w| s.contains(*w)) {
            errors.push(format!("states a status it cannot know: {w:?}"));
        }
        if !expected.dangers.is_empty()
            && let Some(w) = PLAYED_DOWN.iter().find(|w| s.contains(*w))
        {
            errors.push(format!("plays a danger down: {w:?}"));
        }
        errors.extend(role_errors(s, expected));
    }
    Score { facts: (facts, expected.facts.len()), dangers: (dangers, expected.dangers.len()), errors }
}

/// An address given a role the report does not give it, or called an amount; an amount
/// written next to another token than its own.
fn role_errors(sentence: &str, expected: &Expected) -> Vec<String> {
    let w = words(sentence);
    let mut out = vec![];
    for (i, word) in w.iter().enumerate() {
        let word = word.trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '…');
        if let Some((addr, roles)) = expected
            .roles
            .iter()
            .find(|(a, _)| a.len() >= 8 && word.len() >= 8 && word.starts_with(&a.to_lowercase()[..8]))
        {
            // "amount 0x…", "amount of 0x…", "0x…, the amount": not "an amount of TST from 0x…".
            let before = &w[i.saturating_sub(2)..i];
            let called = before.last() == Some(&"amount") || before == ["amount", "of"] || before == ["amount", "is"];
            if called || w.get(i + 1..i + 3).is_some_and(|n| n.contains(&"amount")) {
                out.push(format!("{addr} is called an amount"));
            }
            // The role word before it, over filler ("to the address 0x…"); "approval to 0x…"
            // names the spender, whatever the preposition.
            let mut p = i;
            while p > 0 && i - p < 3 && FILLER.contains(&w[p - 1]) {
                p -= 1;
            }
            let approving = p >= 2 && w[p - 2].starts_with("approv");
            if let Some(prev) = p.checked_sub(1).map(|p| w[p])
                && !approving
                && let Some((_, role)) = ROLE_WORDS.iter().find(|(r, _)| *r == prev)
                && !roles.iter().any(|r| r == role)
            {
                out.push(format!("{addr} is called the {role}; it is the {}", roles.join(" and ")));
            }
        }
        if let Some(next) = w.get(i + 1) {
            let next = next.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_uppercase();
            let of = |a: &str, t: &str| expected.amounts.iter().any(|(x, y)| x == a && y.eq_ignore_ascii_case(t));
            let mine = expected.amounts.iter().find(|(a, _)| a == word);
            let token_named = expected.amounts.iter().any(|(_, t)| t.eq_ignore_ascii_case(&next));
            if let Some((a, t)) = mine
                && token_named
                && !of(a, &next)
            {
                out.push(format!("{a} is an amount of {t}, written as {next}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0x0000000000085d4780b73119b644ae5ecd22b376";
    const SPENDER: &str = "0x1111111111111111111111111111111111111111";

    /// An unlimited TUSD approval to an address with no code, as the issue tried it.
    fn expected() -> Expected {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        Expected {
            facts: vec![s(&["0x1111", "spend"]), s(&["unlimited", "tusd"])],
            dangers: vec![s(&["all of your tusd", "unlimited", "any amount"])],
            roles: vec![(TOKEN.into(), s(&["token", "contract"])), (SPENDER.into(), s(&["spender", "recipient"]))],
            amounts: vec![("1000".into(), "TUSD".into()), ("5".into(), "ETH".into())],
        }
    }

    #[test]
    fn a_correct_text_states_every_fact_and_danger_with_no_error() {
        let text = format!(
            "This lets {SPENDER} spend an unlimited amount of your TUSD (token {TOKEN}). It can take all of your TUSD at any time."
        );
        let s = score(&text, &expected(), &[]);
        assert!(s.perfect(), "{s:?}");
    }

    #[test]
    fn a_role_swap_is_an_error() {
        // The fault: the token's address called the amount, and the spender called the token.
        let text = format!(
            "It approves {TOKEN}, the amount of TUSD to be approved, for token {SPENDER}. Unlimited TUSD can be spent by 0x1111 … to spend."
        );
        let s = score(&text, &expected(), &[]);
        assert!(s.errors.iter().any(|e| e.contains("is called an amount")), "{s:?}");
        assert!(s.errors.iter().any(|e| e.contains("is called the token")), "{s:?}");
        let filler = score(&format!("It sends TUSD to the address {TOKEN}."), &expected(), &[]);
        assert!(filler.errors.iter().any(|e| e.contains("is called the recipient")), "{filler:?}");
        let swapped = score("You send 1000 ETH and 5 TUSD.", &expected(), &[]);
        assert!(swapped.errors.iter().any(|e| e.contains("1000 is an amount of TUSD")), "{swapped:?}");
    }

    #[test]
    fn an_invented_status_is_an_error() {
        let text = format!("The request is being rejected. {SPENDER} could spend unlimited TUSD.");
        let s = score(&text, &expected(), &[]);
        assert!(s.errors.iter().any(|e| e.contains("status")), "{s:?}");
    }

    #[test]
    fn a_dropped_or_played_down_danger_is_counted() {
        let dropped = score(&format!("This approves {SPENDER} to spend TUSD."), &expected(), &[]);
        assert_eq!(dropped.dangers, (0, 1), "{dropped:?}");
        assert!(!dropped.perfect());
        let down =
            score("Unlimited TUSD for 0x1111 to spend, which is safe and nothing to worry about.", &expected(), &[]);
        assert!(down.errors.iter().any(|e| e.contains("plays a danger down")), "{down:?}");
        let ungrounded = score("Unlimited TUSD for 0x1111 to spend.", &expected(), &["500 USDC".to_owned()]);
        assert!(ungrounded.errors.iter().any(|e| e.contains("not in the report: 500 USDC")), "{ungrounded:?}");
    }
}
