//! Plain text to an intent. The local model writes one flat JSON object under a grammar
//! ([`schema`]): an action from a fixed list and a few fields whose characters the grammar
//! bounds (an amount is digits, a recipient an address or an ENS-style name, a token a symbol
//! or an address). No action writes calldata: free text never becomes a raw call. The object is
//! then checked deterministically ([`intent_of`]) and built like any intent.

use serde_json::{Value, json};

use crate::{Intent, IntentError};

/// Tokens the model may write for one answer (the longest valid answer is about 90).
pub const MAX_TOKENS: usize = 160;

/// The instructions, with examples: small models follow examples better than rules.
pub const SYSTEM: &str = "You read one request to a crypto wallet and write it as JSON. Fields:
action: send, swap, approve, revoke, wrap (ETH to WETH), unwrap (WETH to ETH), or unclear when the request is not exactly one of these, asks for everything or all, or is ambiguous.
amount: the number as written (0.5, 100), or unlimited for an unlimited approval; null if none is given.
max_slippage_pct: the slippage in percent, only if the request gives one; else null.
to: who receives (send) or who may spend (approve, revoke): an 0x address or a name like alice.eth, exactly as written; else null.
token: the token sent, sold, approved or revoked, as a symbol (ETH, USDC) or an 0x address; else null.
token_out: the token a swap buys; else null.
Never make up an address, a name or an amount.
Examples:
send 0.5 ETH to bob.eth
{\"action\":\"send\",\"amount\":\"0.5\",\"max_slippage_pct\":null,\"to\":\"bob.eth\",\"token\":\"ETH\",\"token_out\":null}
swap 100 USDC for DAI, 1% slippage
{\"action\":\"swap\",\"amount\":\"100\",\"max_slippage_pct\":1,\"to\":null,\"token\":\"USDC\",\"token_out\":\"DAI\"}
let 0x1111111254eeb25477b68fb85ed929f73a960582 spend unlimited USDT
{\"action\":\"approve\",\"amount\":\"unlimited\",\"max_slippage_pct\":null,\"to\":\"0x1111111254eeb25477b68fb85ed929f73a960582\",\"token\":\"USDT\",\"token_out\":null}
revoke carol.eth's DAI allowance
{\"action\":\"revoke\",\"amount\":null,\"max_slippage_pct\":null,\"to\":\"carol.eth\",\"token\":\"DAI\",\"token_out\":null}
wrap 2 ETH
{\"action\":\"wrap\",\"amount\":\"2\",\"max_slippage_pct\":null,\"to\":null,\"token\":\"ETH\",\"token_out\":null}
send all my tokens to dave.eth
{\"action\":\"unclear\",\"amount\":null,\"max_slippage_pct\":null,\"to\":null,\"token\":null,\"token_out\":null}";

/// The answer's shape: one object per action, each with the same fields (written in the order
/// of their names), and only the fields the action needs may be non-null, and must be: once
/// the model has written `"action":"send"`, it writes an amount and a recipient, or it should
/// have written `unclear`.
pub fn schema() -> Value {
    let number = json!({ "type": "string", "pattern": "^[0-9]{1,30}(\\.[0-9]{1,18})?$" });
    let allowance = json!({ "type": "string", "pattern": "^(unlimited|[0-9]{1,30}(\\.[0-9]{1,18})?)$" });
    let who = json!({
        "type": "string",
        "pattern": "^(0x[0-9a-fA-F]{40}|[a-z0-9-]{1,40}(\\.[a-z0-9-]{1,40}){1,3})$",
    });
    let token = json!({ "type": "string", "pattern": "^(0x[0-9a-fA-F]{40}|[A-Za-z0-9]{1,12})$" });
    let none = json!({ "type": "null" });
    let maybe_token = json!({ "anyOf": [token, none] });
    let action = |name: &str, amount: &Value, pct: &Value, to: &Value, token: &Value, out: &Value| {
        json!({
            "type": "object",
            "properties": {
                "action": { "const": name },
                "amount": amount, "max_slippage_pct": pct, "to": to, "token": token, "token_out": out,
            },
            "required": ["action", "amount", "max_slippage_pct", "to", "token", "token_out"],
            "additionalProperties": false,
        })
    };
    let pct = json!({ "type": ["number", "null"] });
    json!({ "anyOf": [
        action("send", &number, &none, &who, &token, &none),
        action("swap", &number, &pct, &none, &token, &token),
        action("approve", &allowance, &none, &who, &token, &none),
        action("revoke", &none, &none, &who, &token, &none),
        action("wrap", &number, &none, &none, &maybe_token, &none),
        action("unwrap", &number, &none, &none, &maybe_token, &none),
        action("unclear", &none, &none, &none, &none, &none),
    ]})
}

/// The user message for `text`.
pub fn prompt(text: &str) -> String {
    text.trim().to_owned()
}

/// Whether `needle` stands in `words` on its own (case aside): not inside a longer word or
/// number, so that "1" is not read out of "10" nor "alice.eth" out of "malice.eth".
fn stands_in(words: &str, needle: &str) -> bool {
    let (w, n) = (words.to_ascii_lowercase(), needle.to_ascii_lowercase());
    let part = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-';
    w.match_indices(&n).any(|(i, _)| {
        let before = w[..i].chars().next_back();
        let after = w[i + n.len()..].chars().next();
        // A sentence's full stop after the needle is not part of it.
        let after_ok = match after {
            None => true,
            Some('.') => !w[i + n.len() + 1..].chars().next().is_some_and(part),
            Some(c) => !part(c),
        };
        !before.is_some_and(part) && after_ok
    })
}

/// The model may only copy: every address, name, amount and token in its answer must stand in
/// the person's words. A look-alike name, a recipient or amount it made up, or one an injected
/// instruction changed, is refused here, deterministically.
fn copied(answer: &Value, words: &str) -> Result<(), IntentError> {
    for key in ["to", "amount", "token", "token_out"] {
        let Some(v) = answer.get(key).and_then(Value::as_str) else { continue };
        let ok = match (key, v) {
            ("amount", "unlimited") => ["unlimited", "infinite", "max"].iter().any(|u| stands_in(words, u)),
            ("token", t) if t.eq_ignore_ascii_case("ETH") => true,
            _ => stands_in(words, v),
        };
        if !ok {
            return Err(IntentError::Invalid(format!(
                "the model read {key} {v:?}, which your words do not contain: say it exactly, or use propose"
            )));
        }
    }
    // A slippage too: "2" or "2.0" for 2, "0.5" for 0.5, as the words write it.
    if let Some(pct) = answer.get("max_slippage_pct").and_then(Value::as_f64) {
        let written = [format!("{pct}"), format!("{pct:.1}"), format!("{pct:.2}")];
        if !written.iter().any(|w| stands_in(words, w) || stands_in(words, &format!("{w}%"))) {
            return Err(IntentError::Invalid(format!(
                "the model read a slippage of {pct}%, which your words do not give: say it, or use propose"
            )));
        }
    }
    Ok(())
}

/// The intent the model's answer to `words` names, or why it names none. `from` is left to the
/// daemon.
pub fn intent_of(answer: &Value, words: &str) -> Result<Intent, IntentError> {
    copied(answer, words)?;
    let field = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
    let need = |k: &str, what: &str| {
        field(k).ok_or_else(|| IntentError::Invalid(format!("the text does not say {what}; say it, or use propose")))
    };
    let action = need("action", "what to do")?;
    let amount = || need("amount", "how much");
    Ok(match action.as_str() {
        "send" => {
            let token = field("token").filter(|t| !t.eq_ignore_ascii_case("ETH"));
            Intent::Send { from: None, to: need("to", "whom to send to")?, amount: amount()?, token }
        }
        "swap" => Intent::Swap {
            from: None,
            token_in: need("token", "what to swap")?,
            token_out: need("token_out", "what to swap it for")?,
            amount: amount()?,
            max_slippage_pct: answer.get("max_slippage_pct").and_then(Value::as_f64),
        },
        "approve" => Intent::Approve {
            from: None,
            token: need("token", "which token")?,
            spender: need("to", "who may spend it")?,
            amount: amount()?,
        },
        "revoke" => Intent::Revoke {
            from: None,
            token: Some(need("token", "which token")?),
            spender: Some(need("to", "whose allowance")?),
            approval: None,
        },
        "wrap" => Intent::Wrap { from: None, amount: amount()? },
        "unwrap" => Intent::Unwrap { from: None, amount: amount()? },
        _ => {
            return Err(IntentError::Invalid(
                "the text does not name one clear send, swap, approval, revoke, wrap or unwrap: say it plainly, or use propose".into(),
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_become_intents_and_gaps_are_named() {
        let a = json!({ "action": "send", "amount": "0.1", "max_slippage_pct": null, "to": "alice.eth", "token": "eth", "token_out": null });
        assert_eq!(
            intent_of(&a, "send 0.1 ETH to Alice.eth.").expect("intent"),
            Intent::Send { from: None, to: "alice.eth".into(), amount: "0.1".into(), token: None }
        );
        let a = json!({ "action": "swap", "amount": "5", "max_slippage_pct": 0.3, "to": null, "token": "USDC", "token_out": "DAI" });
        let swapped = intent_of(&a, "swap 5 usdc for dai at 0.3% slippage");
        assert!(matches!(swapped, Ok(Intent::Swap { max_slippage_pct: Some(p), .. }) if p == 0.3));
        for (a, words, why) in [
            (
                json!({ "action": "send", "amount": null, "to": "bob.eth", "token": "ETH" }),
                "send to bob.eth",
                "how much",
            ),
            (json!({ "action": "send", "amount": "1", "to": null, "token": "ETH" }), "send 1 ETH", "whom to send to"),
            (
                json!({ "action": "swap", "amount": "1", "token": "DAI", "token_out": null }),
                "swap 1 DAI",
                "swap it for",
            ),
            (json!({ "action": "unclear" }), "hello", "one clear"),
        ] {
            let e = intent_of(&a, words).expect_err("refused");
            assert!(e.to_string().contains(why), "{a}: {e}");
        }
    }

    #[test]
    fn the_model_may_only_copy_from_the_words() {
        let send = |to: &str, amount: &str| json!({ "action": "send", "amount": amount, "to": to, "token": "DAI" });
        // A look-alike (Cyrillic а), a made-up recipient, an amount read out of a longer number,
        // a name inside a longer name: refused.
        for (answer, words) in [
            (send("alice.eth", "1"), "send 1 DAI to \u{430}lice.eth"),
            (send("0xbad0000000000000000000000000000000000bad", "1"), "send 1 DAI to bob.eth"),
            (send("bob.eth", "1"), "send 10 DAI to bob.eth"),
            (send("alice.eth", "1"), "send 1 DAI to malice.eth"),
            (
                json!({ "action": "approve", "amount": "unlimited", "to": "bob.eth", "token": "DAI" }),
                "approve bob.eth for DAI",
            ),
        ] {
            let e = intent_of(&answer, words).expect_err("refused");
            assert!(e.to_string().contains("your words do not contain"), "{words}: {e}");
        }
        assert!(intent_of(&send("bob.eth", "1.5"), "Send 1.5 dai to BOB.ETH").is_ok());
        // A slippage the words do not give is refused; one they do is read.
        let swap = |pct: f64| json!({ "action": "swap", "amount": "1", "max_slippage_pct": pct, "token": "ETH", "token_out": "DAI" });
        let e = intent_of(&swap(50.0), "swap 1 ETH for DAI").expect_err("made up");
        assert!(e.to_string().contains("slippage of 50%"), "{e}");
        assert!(intent_of(&swap(2.0), "swap 1 ETH for DAI with 2% slippage").is_ok());
        assert!(intent_of(&swap(0.5), "swap 1 ETH for DAI, max slippage 0.5%").is_ok());
        let unlimited = json!({ "action": "approve", "amount": "unlimited", "to": "bob.eth", "token": "DAI" });
        assert!(intent_of(&unlimited, "give bob.eth an infinite DAI approval").is_ok());
    }

    #[test]
    fn the_schema_names_every_field_the_examples_use() {
        let s = schema();
        for line in SYSTEM.lines().filter(|l| l.starts_with('{')) {
            let v: Value = serde_json::from_str(line).expect("an example is JSON");
            let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
            let props: Vec<&String> = s["anyOf"][0]["properties"].as_object().expect("properties").keys().collect();
            assert_eq!(keys, props, "{line}");
        }
    }
}
