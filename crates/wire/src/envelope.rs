//! A JSON-RPC request body read as envelopes: each call's method, id and params are borrowed from
//! the bytes, nothing else is built. The whole body is still checked to be one JSON value with no
//! trailing bytes, nested no deeper than the limit, and every envelope to have exactly the four
//! JSON-RPC members. An envelope with any other member is refused: Go's JSON decoder (geth,
//! erigon) matches member names without regard to case, so `"Method"` beside `"method"` would
//! route on one name here and run the other upstream.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;

use serde::de::{self, SeqAccess, Visitor};
use serde_json::value::RawValue;

use crate::Limits;

/// JSON-RPC's "invalid request" code: the envelope itself is wrong.
pub const INVALID_REQUEST: i32 = -32600;
/// JSON-RPC's "parse error" code: the body is not JSON.
pub const PARSE_ERROR: i32 = -32700;
/// One of Airlock's named limits was exceeded; `data.limit` names it.
pub const LIMIT_EXCEEDED: i32 = -32084;

/// What is wrong with a body or an envelope, as the client will read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("Parse error: {0}")]
    Parse(String),
    #[error("Invalid request: {0}")]
    Invalid(String),
    /// `limit` is the setting's name, `max` its value.
    #[error("request exceeds Airlock's limit {limit} = {max}{unit}", unit = unit(limit))]
    Limit { limit: &'static str, max: usize },
}

fn unit(limit: &str) -> &'static str {
    if limit.ends_with("_bytes") { " bytes" } else { "" }
}

impl WireError {
    /// The JSON-RPC error code.
    pub fn code(&self) -> i32 {
        match self {
            WireError::Parse(_) => PARSE_ERROR,
            WireError::Invalid(_) => INVALID_REQUEST,
            WireError::Limit { .. } => LIMIT_EXCEEDED,
        }
    }

    /// The error object's `data`: the limit's name and value.
    pub fn data(&self) -> Option<serde_json::Value> {
        match self {
            WireError::Limit { limit, max } => Some(serde_json::json!({ "limit": limit, "max": max })),
            _ => None,
        }
    }
}

/// A call's id, checked: a string, null, or an unsigned integer that fits 64 bits, kept as the
/// client wrote it.
#[derive(Debug, Clone, Copy)]
pub struct Id<'a>(pub &'a RawValue);

impl<'a> Id<'a> {
    /// The id as written, or why it is not one Airlock accepts.
    pub fn check(raw: &'a RawValue) -> Result<Self, WireError> {
        let s = raw.get();
        let ok = match s.as_bytes().first() {
            Some(b'"') | Some(b'n') => true,
            Some(b'0'..=b'9') => s.bytes().all(|b| b.is_ascii_digit()) && s.parse::<u64>().is_ok(),
            _ => false,
        };
        if ok {
            Ok(Id(raw))
        } else {
            Err(WireError::Invalid(format!(
                "id {} is not a string, null or an unsigned 64-bit integer",
                crate::clip(s, 40)
            )))
        }
    }

    /// The id as written.
    pub fn get(&self) -> &'a str {
        self.0.get()
    }
}

/// One well-formed call.
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// `None`: a notification (no answer expected).
    pub id: Option<Id<'a>>,
    /// Unescaped: `"eth_send\u0052awTransaction"` reads as the node will read it.
    pub method: Cow<'a, str>,
    pub params: Option<&'a RawValue>,
}

/// One entry of a body: a call, or what is wrong with it (and its id where that could be read).
pub type Entry<'a> = Result<Call<'a>, (Option<Id<'a>>, WireError)>;

/// A body: one call, or a batch.
#[derive(Debug)]
pub enum Message<'a> {
    Single(Entry<'a>),
    Batch(Vec<Entry<'a>>),
}

/// The members of an envelope, exactly as JSON-RPC 2.0 names them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    #[serde(borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    method: Option<&'a RawValue>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
}

/// A JSON string's value, borrowed when it has no escapes (serde would copy it inside an Option).
fn string(raw: &RawValue) -> Option<Cow<'_, str>> {
    let s = raw.get();
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) if !inner.contains('\\') => Some(Cow::Borrowed(inner)),
        Some(_) => serde_json::from_str::<String>(s).ok().map(Cow::Owned),
        None => None,
    }
}

/// A member that is present, `null` included (`"id": null` is a call with a null id, unlike a
/// missing id; `"result": null` is a result), for `#[serde(default, deserialize_with)]`.
pub fn present<'de, D: de::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// The id of a batch entry, valid call or not.
pub fn entry_id<'a>(e: &Entry<'a>) -> Option<Id<'a>> {
    match e {
        Ok(c) => c.id,
        Err((id, _)) => *id,
    }
}

/// Whether `bytes` answer `m`: one answer with the call's id, or for a batch an array of answers
/// each with one of the batch's ids, each id once.
pub fn check_answer(bytes: &[u8], m: &Message<'_>) -> Result<(), String> {
    #[derive(serde::Deserialize)]
    struct Answer<'a> {
        #[serde(borrow)]
        id: &'a RawValue,
        #[serde(borrow, default, deserialize_with = "present")]
        result: Option<&'a RawValue>,
        #[serde(borrow, default, deserialize_with = "present")]
        error: Option<&'a RawValue>,
    }
    let snippet = || crate::clip(&String::from_utf8_lossy(bytes), 200);
    let one = |raw: &str| -> Result<String, String> {
        let a: Answer<'_> = serde_json::from_str(raw).map_err(|e| format!("{e}: {}", snippet()))?;
        if a.result.is_some() == a.error.is_some() {
            return Err(format!("not one result or one error: {}", snippet()));
        }
        Ok(a.id.get().to_owned())
    };
    match m {
        Message::Single(Ok(Call { id: Some(want), .. })) => {
            let got = one(std::str::from_utf8(bytes).map_err(|e| e.to_string())?)?;
            if got != want.get() {
                return Err(format!("it answered id {got} to a call with id {}", want.get()));
            }
            Ok(())
        }
        Message::Batch(entries) => {
            let list: Vec<&RawValue> = serde_json::from_slice(bytes).map_err(|e| format!("{e}: {}", snippet()))?;
            let mut asked: Vec<&str> = entries.iter().filter_map(|e| entry_id(e).map(|i| i.get())).collect();
            for raw in list {
                let got = one(raw.get())?;
                let Some(at) = asked.iter().position(|w| *w == got) else {
                    return Err(format!("it answered id {got}, which the batch did not ask for (or twice)"));
                };
                asked.swap_remove(at);
            }
            Ok(())
        }
        Message::Single(_) => Err("nothing was asked".into()),
    }
}

/// Reads `body` as one call or a batch, within `limits`. `Err` for a body that is not JSON, is
/// nested too deep, or is a batch too long or empty: the whole body is refused. A batch entry
/// that is not a valid call is an `Err` entry; the others stand.
pub fn parse<'a>(body: &'a [u8], limits: &Limits) -> Result<Message<'a>, WireError> {
    if body.len() > limits.max_body_bytes {
        return Err(WireError::Limit { limit: "max_body_bytes", max: limits.max_body_bytes });
    }
    check_depth(body, limits.max_depth)?;
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let mut de = serde_json::Deserializer::from_slice(body);
        let entries = de::Deserializer::deserialize_seq(&mut de, Entries { max: limits.max_batch_len })
            .map_err(|e| batch_error(e, limits))?;
        de.end().map_err(|e| WireError::Parse(e.to_string()))?;
        if entries.is_empty() {
            return Err(WireError::Invalid("empty batch".into()));
        }
        return Ok(Message::Batch(entries.into_iter().map(entry).collect()));
    }
    // One call: read as an envelope straight from the body; only when that fails is it read
    // again to tell bad JSON (-32700) from a bad envelope (-32600).
    if let Ok(env) = serde_json::from_slice::<Envelope<'_>>(body) {
        return Ok(Message::Single(check(env)));
    }
    let raw: &RawValue = serde_json::from_slice(body).map_err(|e| WireError::Parse(e.to_string()))?;
    Ok(Message::Single(entry(raw)))
}

/// The batch's entries, refused as soon as there are more than `max`.
struct Entries {
    max: usize,
}

/// Marks the batch-length error so that it is reported as the limit, not as bad JSON.
const TOO_LONG: &str = "airlock: batch too long";

impl<'de> de::DeserializeSeed<'de> for Entries {
    type Value = Vec<&'de RawValue>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Entries {
    type Value = Vec<&'de RawValue>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a batch of JSON-RPC calls")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(self.max));
        while let Some(v) = seq.next_element::<&RawValue>()? {
            if out.len() == self.max {
                return Err(de::Error::custom(TOO_LONG));
            }
            out.push(v);
        }
        Ok(out)
    }
}

fn batch_error(e: serde_json::Error, limits: &Limits) -> WireError {
    if e.to_string().starts_with(TOO_LONG) {
        WireError::Limit { limit: "max_batch_len", max: limits.max_batch_len }
    } else {
        WireError::Parse(e.to_string())
    }
}

/// One envelope, checked.
fn entry(raw: &RawValue) -> Entry<'_> {
    let env: Envelope<'_> = match serde_json::from_str(raw.get()) {
        Ok(env) => env,
        // The id of an envelope that does not parse cannot be trusted: answered with a null id.
        Err(e) => return Err((None, WireError::Invalid(e.to_string()))),
    };
    check(env)
}

/// The parts of an envelope, checked: its id, version and method.
fn check(env: Envelope<'_>) -> Entry<'_> {
    let id = match env.id.map(Id::check).transpose() {
        Ok(id) => id,
        Err(e) => return Err((None, e)),
    };
    if env.jsonrpc.and_then(string).as_deref() != Some("2.0") {
        return Err((id, WireError::Invalid("\"jsonrpc\" must be \"2.0\"".into())));
    }
    let Some(method) = env.method.and_then(string) else {
        return Err((id, WireError::Invalid("\"method\" must be a string".into())));
    };
    Ok(Call { id, method, params: env.params })
}

/// Refuses a body whose arrays and objects nest deeper than `max` (counted outside strings).
/// serde_json's own limit (128) stops a stack overflow; this one is Airlock's setting.
pub fn check_depth(body: &[u8], max: usize) -> Result<(), WireError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &b in body {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(WireError::Limit { limit: "max_json_depth", max });
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { max_body_bytes: 1 << 20, max_batch_len: 3, max_depth: 8 }
    }

    fn single(body: &str) -> Entry<'_> {
        match parse(body.as_bytes(), &limits()).expect("parses") {
            Message::Single(e) => e,
            Message::Batch(_) => panic!("not a batch"),
        }
    }

    #[test]
    fn a_call_is_read_without_copying() {
        let call = single(r#"{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber","params":[]}"#).expect("valid");
        assert_eq!((call.id.map(|i| i.get()), &*call.method), (Some("7"), "eth_blockNumber"));
        assert!(matches!(call.method, Cow::Borrowed(_)));
        assert_eq!(call.params.map(|p| p.get()), Some("[]"));
    }

    #[test]
    fn escaped_method_names_read_as_the_node_reads_them() {
        let call = single(r#"{"jsonrpc":"2.0","id":1,"method":"eth_send\u0052awTransaction"}"#).expect("valid");
        assert_eq!(call.method, "eth_sendRawTransaction");
    }

    #[test]
    fn ids_other_than_string_null_or_u64_are_invalid() {
        for id in ["-1", "1.5", "1e3", "{}", "[]", "true", "18446744073709551616"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_chainId"}}"#);
            let (eid, e) = single(&body).expect_err(id);
            assert!(eid.is_none(), "{id}");
            assert_eq!(e.code(), INVALID_REQUEST, "{id}");
        }
        for id in ["\"a\"", "null", "0", "18446744073709551615"] {
            let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_chainId"}}"#);
            assert_eq!(single(&body).expect(id).id.map(|i| i.get().to_owned()), Some(id.to_owned()));
        }
        let note = single(r#"{"jsonrpc":"2.0","method":"eth_chainId"}"#).expect("notification");
        assert!(note.id.is_none());
    }

    /// Members a Go decoder would match case-insensitively, duplicates and strangers are refused.
    #[test]
    fn envelopes_have_exactly_the_json_rpc_members() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","Method":"eth_sendRawTransaction"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","method":"eth_sendRawTransaction"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","extra":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","paramſ":[]}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
        ] {
            let (_, e) = single(body).expect_err(body);
            assert_eq!(e.code(), INVALID_REQUEST, "{body}");
        }
    }

    #[test]
    fn limits_are_named() {
        let l = limits();
        let deep = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":{}{}}}"#, "[".repeat(9), "]".repeat(9));
        assert_eq!(
            parse(deep.as_bytes(), &l).expect_err("refused"),
            WireError::Limit { limit: "max_json_depth", max: 8 }
        );
        // Brackets inside strings do not count.
        let quoted = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"x","params":["{}\"["]}}"#, "[".repeat(20));
        assert!(parse(quoted.as_bytes(), &l).is_ok());
        let call = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#;
        let batch = format!("[{call},{call},{call},{call}]");
        assert_eq!(
            parse(batch.as_bytes(), &l).expect_err("refused"),
            WireError::Limit { limit: "max_batch_len", max: 3 }
        );
        let big = Limits { max_body_bytes: 10, ..l };
        assert_eq!(parse(call.as_bytes(), &big).expect_err("refused").code(), LIMIT_EXCEEDED);
        assert!(
            WireError::Limit { limit: "max_body_bytes", max: 10 }.to_string().contains("max_body_bytes = 10 bytes")
        );
    }

    #[test]
    fn batches_keep_good_entries_beside_bad_ones() {
        let body = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}, 5, {"jsonrpc":"2.0","id":-1,"method":"x"}]"#;
        let Message::Batch(entries) = parse(body.as_bytes(), &limits()).expect("batch") else { panic!("batch") };
        assert!(entries[0].is_ok() && entries[1].is_err() && entries[2].is_err());
        assert_eq!(parse(b"[]", &limits()).expect_err("refused").code(), INVALID_REQUEST);
        assert_eq!(parse(b"[1,", &limits()).expect_err("refused").code(), PARSE_ERROR);
        assert_eq!(parse(b"{} {}", &limits()).expect_err("refused").code(), PARSE_ERROR);
    }
}
