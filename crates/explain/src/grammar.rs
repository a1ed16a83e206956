//! Constrained decoding: a JSON schema compiled into an automaton over bytes, so that a model
//! can only write JSON the schema allows. At each step the candidate tokens whose bytes keep the
//! output a prefix of some valid document are the only ones the model may pick; when the
//! document is complete, generation stops.
//!
//! The subset read (what Airlock's own shapes use, and what OpenAI's strict mode allows):
//! - `type`: object, array, string, number, integer, boolean, null, or a list of them;
//! - object: `properties`, every one of them (an optional property is made nullable), no
//!   others, in the order of their names (as serde_json keeps an object's keys; the order an
//!   OpenAI-compatible server sees in the schema Airlock sends it);
//! - array: `items`, `minItems`, `maxItems` (default 8);
//! - string: `enum`, `const`, `maxLength` (bytes; default 200), and `pattern` in a regex subset
//!   (literals, `[...]` classes with ranges, `.`, groups, `|`, `?`, `*`, `+`, `{m,n}`, anchors;
//!   a class names ASCII only, `.` and a negated class also take any non-ASCII character);
//!   lengths count characters; a string holds well-formed UTF-8 and no escapes, so the text a
//!   model writes is plain;
//! - `anyOf` / `oneOf` (any branch).
//!
//! The output is compact JSON: no whitespace between tokens.

use serde_json::Value;

/// A set of bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Bytes256([u64; 4]);

impl Bytes256 {
    fn one(b: u8) -> Self {
        let mut s = Self::default();
        s.add(b);
        s
    }
    fn add(&mut self, b: u8) {
        self.0[(b >> 6) as usize] |= 1 << (b & 63);
    }
    fn has(&self, b: u8) -> bool {
        self.0[(b >> 6) as usize] & (1 << (b & 63)) != 0
    }
    fn union(&mut self, o: &Self) {
        for i in 0..4 {
            self.0[i] |= o.0[i];
        }
    }
    fn minus(mut self, o: &Self) -> Self {
        for i in 0..4 {
            self.0[i] &= !o.0[i];
        }
        self
    }
    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    /// The ASCII a JSON string may hold as it is: not `"`, `\` or a control character.
    fn string_safe() -> Self {
        Self::range(0x20, 0x7e).minus(&Self::one(b'"')).minus(&Self::one(b'\\'))
    }
    fn range(lo: u8, hi: u8) -> Self {
        let mut s = Self::default();
        (lo..=hi).for_each(|b| s.add(b));
        s
    }
}

/// The most states a schema may compile to.
const MAX_STATES: usize = 200_000;

/// A compiled schema: a Thompson automaton over bytes, with each state's epsilon closure.
#[derive(Debug, Clone)]
pub struct Grammar {
    /// Byte edges out of each state.
    edges: Vec<Vec<(Bytes256, u32)>>,
    /// Each state's epsilon closure (itself included), sorted.
    closure: Vec<Vec<u32>>,
    start: u32,
    accept: u32,
}

/// Where a document is: the states the bytes so far can be in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(Vec<u32>);

#[derive(Debug, Clone, Copy)]
struct Frag {
    start: u32,
    end: u32,
}

#[derive(Default)]
struct Builder {
    edges: Vec<Vec<(Bytes256, u32)>>,
    eps: Vec<Vec<u32>>,
}

impl Builder {
    fn state(&mut self) -> Result<u32, String> {
        if self.edges.len() >= MAX_STATES {
            return Err(format!("the schema is too large (over {MAX_STATES} states)"));
        }
        self.edges.push(vec![]);
        self.eps.push(vec![]);
        Ok((self.edges.len() - 1) as u32)
    }
    fn empty(&mut self) -> Result<Frag, String> {
        let s = self.state()?;
        Ok(Frag { start: s, end: s })
    }
    fn set(&mut self, set: Bytes256) -> Result<Frag, String> {
        let (a, b) = (self.state()?, self.state()?);
        self.edges[a as usize].push((set, b));
        Ok(Frag { start: a, end: b })
    }
    fn lit(&mut self, bytes: &[u8]) -> Result<Frag, String> {
        let frags = bytes.iter().map(|b| self.set(Bytes256::one(*b))).collect::<Result<Vec<_>, _>>()?;
        self.seq(frags)
    }
    fn seq(&mut self, frags: Vec<Frag>) -> Result<Frag, String> {
        let Some(first) = frags.first().copied() else { return self.empty() };
        let mut end = first.end;
        for f in &frags[1..] {
            self.eps[end as usize].push(f.start);
            end = f.end;
        }
        Ok(Frag { start: first.start, end })
    }
    fn alt(&mut self, frags: Vec<Frag>) -> Result<Frag, String> {
        let (s, e) = (self.state()?, self.state()?);
        for f in frags {
            self.eps[s as usize].push(f.start);
            self.eps[f.end as usize].push(e);
        }
        Ok(Frag { start: s, end: e })
    }
    /// One character as a JSON string may hold it: ASCII from `ascii`, or any well-formed
    /// UTF-8 sequence of two to four bytes (no overlong forms, no surrogates).
    fn char_in(&mut self, ascii: Bytes256) -> Result<Frag, String> {
        let r = Bytes256::range;
        let cont = r(0x80, 0xbf);
        let mut e1 = r(0xe1, 0xec);
        e1.union(&r(0xee, 0xef));
        let seqs: [&[Bytes256]; 8] = [
            &[r(0xc2, 0xdf), cont],
            &[Bytes256::one(0xe0), r(0xa0, 0xbf), cont],
            &[e1, cont, cont],
            &[Bytes256::one(0xed), r(0x80, 0x9f), cont],
            &[Bytes256::one(0xf0), r(0x90, 0xbf), cont, cont],
            &[r(0xf1, 0xf3), cont, cont, cont],
            &[Bytes256::one(0xf4), r(0x80, 0x8f), cont, cont],
            &[ascii],
        ];
        let mut frags = vec![];
        for seq in seqs {
            let parts = seq.iter().map(|set| self.set(*set)).collect::<Result<Vec<_>, _>>()?;
            frags.push(self.seq(parts)?);
        }
        self.alt(frags)
    }

    /// `f` `min` to `max` times (unbounded when `max` is none), each copy built anew.
    fn repeat(
        &mut self,
        min: usize,
        max: Option<usize>,
        f: &mut dyn FnMut(&mut Builder) -> Result<Frag, String>,
    ) -> Result<Frag, String> {
        let mut parts = vec![];
        for _ in 0..min {
            parts.push(f(self)?);
        }
        match max {
            None => {
                let one = f(self)?;
                let (s, e) = (self.state()?, self.state()?);
                self.eps[s as usize].extend([one.start, e]);
                self.eps[one.end as usize].extend([one.start, e]);
                parts.push(Frag { start: s, end: e });
            }
            Some(max) => {
                // Nested optionals: (x(x(x)?)?)?, so that the copies stay in order.
                let extra = max.saturating_sub(min);
                let mut tail: Option<Frag> = None;
                for _ in 0..extra {
                    let one = f(self)?;
                    let body = match tail {
                        Some(t) => self.seq(vec![one, t])?,
                        None => one,
                    };
                    let skip = self.empty()?;
                    tail = Some(self.alt(vec![body, skip])?);
                }
                parts.extend(tail);
            }
        }
        self.seq(parts)
    }
}

impl Grammar {
    /// Compiles `schema`; an unsupported or oversized schema is an error saying what.
    pub fn from_schema(schema: &Value) -> Result<Grammar, String> {
        let mut b = Builder::default();
        let root = schema_frag(&mut b, schema, 0)?;
        let n = b.edges.len();
        let closure = (0..n).map(|s| closure_of(&b.eps, s as u32)).collect();
        Ok(Grammar { edges: b.edges, closure, start: root.start, accept: root.end })
    }

    /// Before any byte.
    pub fn start(&self) -> Cursor {
        Cursor(self.closure[self.start as usize].clone())
    }

    /// After `bytes` from `at`; none when they leave the grammar.
    pub fn advance(&self, at: &Cursor, bytes: &[u8]) -> Option<Cursor> {
        let mut cur = at.0.clone();
        for b in bytes {
            let mut next: Vec<u32> = vec![];
            for s in &cur {
                for (set, to) in &self.edges[*s as usize] {
                    if set.has(*b) {
                        next.extend_from_slice(&self.closure[*to as usize]);
                    }
                }
            }
            if next.is_empty() {
                return None;
            }
            next.sort_unstable();
            next.dedup();
            cur = next;
        }
        Some(Cursor(cur))
    }

    /// Whether the bytes so far are a whole document.
    pub fn accepts(&self, at: &Cursor) -> bool {
        at.0.binary_search(&self.accept).is_ok()
    }

    /// The bytes that may come next.
    fn next_bytes(&self, at: &Cursor) -> Bytes256 {
        let mut s = Bytes256::default();
        for st in &at.0 {
            for (set, _) in &self.edges[*st as usize] {
                s.union(set);
            }
        }
        s
    }

    /// Whether the document is whole and nothing more may follow.
    pub fn finished(&self, at: &Cursor) -> bool {
        self.accepts(at) && self.next_bytes(at).is_empty()
    }

    /// The bytes that must come next, as long as there is only one way on (a key, a colon, a
    /// closing quote): at most 64, none where the document may end.
    pub fn forced(&self, at: &Cursor) -> Vec<u8> {
        let (mut out, mut cur) = (vec![], at.clone());
        while out.len() < 64 && !self.accepts(&cur) {
            let next = self.next_bytes(&cur);
            let mut only = (0..=255u8).filter(|b| next.has(*b));
            let (Some(b), None) = (only.next(), only.next()) else { break };
            let Some(c) = self.advance(&cur, &[b]) else { break };
            out.push(b);
            cur = c;
        }
        out
    }

    /// Whether `bytes` may follow `at` (a cheap first-byte test before the walk).
    pub fn allows(&self, at: &Cursor, first: &[bool; 256], bytes: &[u8]) -> bool {
        match bytes.first() {
            None => false,
            Some(b) if !first[*b as usize] => false,
            Some(_) => self.advance(at, bytes).is_some(),
        }
    }

    /// The first-byte table for [`Grammar::allows`].
    pub fn first_bytes(&self, at: &Cursor) -> [bool; 256] {
        let set = self.next_bytes(at);
        std::array::from_fn(|b| set.has(b as u8))
    }
}

fn closure_of(eps: &[Vec<u32>], s: u32) -> Vec<u32> {
    let mut seen = vec![s];
    let mut stack = vec![s];
    while let Some(x) = stack.pop() {
        for y in &eps[x as usize] {
            if !seen.contains(y) {
                seen.push(*y);
                stack.push(*y);
            }
        }
    }
    seen.sort_unstable();
    seen
}

/// Nesting deeper than this is refused.
const MAX_DEPTH: usize = 16;

fn schema_frag(b: &mut Builder, s: &Value, depth: usize) -> Result<Frag, String> {
    if depth > MAX_DEPTH {
        return Err("the schema nests too deep".into());
    }
    if let Some(c) = s.get("const") {
        return b.lit(serde_json::to_string(c).map_err(|e| e.to_string())?.as_bytes());
    }
    if let Some(list) = s.get("enum").and_then(Value::as_array) {
        let frags = list
            .iter()
            .map(|v| b.lit(serde_json::to_string(v).unwrap_or_default().as_bytes()))
            .collect::<Result<Vec<_>, _>>()?;
        return b.alt(frags);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            let frags = list.iter().map(|v| schema_frag(b, v, depth + 1)).collect::<Result<Vec<_>, _>>()?;
            return b.alt(frags);
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => typed(b, t, s, depth),
        Some(Value::Array(ts)) => {
            let frags =
                ts.iter().map(|t| typed(b, t.as_str().unwrap_or("?"), s, depth)).collect::<Result<Vec<_>, _>>()?;
            b.alt(frags)
        }
        _ => Err(format!("a schema without a type: {}", truncate(s))),
    }
}

fn truncate(v: &Value) -> String {
    v.to_string().chars().take(80).collect()
}

fn typed(b: &mut Builder, t: &str, s: &Value, depth: usize) -> Result<Frag, String> {
    match t {
        "null" => b.lit(b"null"),
        "boolean" => {
            let (t, f) = (b.lit(b"true")?, b.lit(b"false")?);
            b.alt(vec![t, f])
        }
        "integer" => regex_frag(b, &parse_regex("-?(0|[1-9][0-9]{0,17})")?),
        "number" => regex_frag(b, &parse_regex("-?(0|[1-9][0-9]{0,14})(\\.[0-9]{1,6})?")?),
        "string" => string(b, s),
        "array" => array(b, s, depth),
        "object" => object(b, s, depth),
        other => Err(format!("type {other:?} is not read")),
    }
}

fn string(b: &mut Builder, s: &Value) -> Result<Frag, String> {
    let open = b.lit(b"\"")?;
    let body = match s.get("pattern").and_then(Value::as_str) {
        Some(p) => {
            let node = parse_regex(p)?;
            regex_frag_in(b, &node, &Bytes256::string_safe())?
        }
        None => {
            let max = s.get("maxLength").and_then(Value::as_u64).unwrap_or(200).min(4096) as usize;
            let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(0).min(max as u64) as usize;
            b.repeat(min, Some(max), &mut |b| b.char_in(Bytes256::string_safe()))?
        }
    };
    let close = b.lit(b"\"")?;
    b.seq(vec![open, body, close])
}

fn array(b: &mut Builder, s: &Value, depth: usize) -> Result<Frag, String> {
    let items = s.get("items").ok_or("an array without items")?;
    let max = s.get("maxItems").and_then(Value::as_u64).unwrap_or(8).min(64) as usize;
    let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0).min(max as u64) as usize;
    let open = b.lit(b"[")?;
    let close = b.lit(b"]")?;
    let body = if max == 0 {
        b.empty()?
    } else {
        let first = schema_frag(b, items, depth + 1)?;
        let rest = b.repeat(min.saturating_sub(1), Some(max - 1), &mut |b| {
            let comma = b.lit(b",")?;
            let item = schema_frag(b, items, depth + 1)?;
            b.seq(vec![comma, item])
        })?;
        let some = b.seq(vec![first, rest])?;
        if min == 0 {
            let none = b.empty()?;
            b.alt(vec![some, none])?
        } else {
            some
        }
    };
    b.seq(vec![open, body, close])
}

fn object(b: &mut Builder, s: &Value, depth: usize) -> Result<Frag, String> {
    let props = s.get("properties").and_then(Value::as_object).ok_or("an object without properties")?;
    let mut parts = vec![b.lit(b"{")?];
    for (i, (key, sub)) in props.iter().enumerate() {
        let prefix = format!("{}{}:", if i > 0 { "," } else { "" }, serde_json::to_string(key).unwrap_or_default());
        parts.push(b.lit(prefix.as_bytes())?);
        parts.push(schema_frag(b, sub, depth + 1)?);
    }
    parts.push(b.lit(b"}")?);
    b.seq(parts)
}

/// A regular expression, parsed.
#[derive(Debug, Clone)]
enum Re {
    Set(Bytes256),
    /// Any character (`.`, or a negated class: ASCII outside it, or any non-ASCII character).
    Char(Bytes256),
    Seq(Vec<Re>),
    Alt(Vec<Re>),
    Rep(Box<Re>, usize, Option<usize>),
}

/// Parses the regex subset the module docs name. `^` and `$` are allowed at the ends only.
fn parse_regex(p: &str) -> Result<Re, String> {
    let p = p.strip_prefix('^').unwrap_or(p);
    let p = p.strip_suffix('$').unwrap_or(p);
    let bytes = p.as_bytes();
    let mut i = 0;
    let re = alternation(bytes, &mut i)?;
    if i != bytes.len() {
        return Err(format!("pattern {p:?}: unexpected {:?} at {i}", bytes[i] as char));
    }
    Ok(re)
}

fn alternation(p: &[u8], i: &mut usize) -> Result<Re, String> {
    let mut branches = vec![sequence(p, i)?];
    while *i < p.len() && p[*i] == b'|' {
        *i += 1;
        branches.push(sequence(p, i)?);
    }
    Ok(if branches.len() == 1 { branches.remove(0) } else { Re::Alt(branches) })
}

fn sequence(p: &[u8], i: &mut usize) -> Result<Re, String> {
    let mut items = vec![];
    while *i < p.len() && p[*i] != b'|' && p[*i] != b')' {
        let atom = atom(p, i)?;
        items.push(quantified(p, i, atom)?);
    }
    Ok(Re::Seq(items))
}

fn atom(p: &[u8], i: &mut usize) -> Result<Re, String> {
    let c = p[*i];
    *i += 1;
    match c {
        b'(' => {
            if p.get(*i..*i + 2) == Some(b"?:") {
                *i += 2;
            }
            let inner = alternation(p, i)?;
            if p.get(*i) != Some(&b')') {
                return Err("pattern: a group is not closed".into());
            }
            *i += 1;
            Ok(inner)
        }
        b'[' => class(p, i),
        b'.' => Ok(Re::Char(Bytes256::string_safe())),
        b'\\' => {
            let e = *p.get(*i).ok_or("pattern: a lone backslash")?;
            *i += 1;
            Ok(Re::Set(escaped(e)))
        }
        b'*' | b'+' | b'?' | b'{' => Err(format!("pattern: {:?} with nothing before it", c as char)),
        _ => Ok(Re::Set(Bytes256::one(c))),
    }
}

fn escaped(e: u8) -> Bytes256 {
    let mut s = Bytes256::default();
    match e {
        b'd' => (b'0'..=b'9').for_each(|b| s.add(b)),
        b'w' => (0..=255u8).filter(|b| b.is_ascii_alphanumeric() || *b == b'_').for_each(|b| s.add(b)),
        b's' => s.add(b' '),
        other => s.add(other),
    }
    s
}

fn class(p: &[u8], i: &mut usize) -> Result<Re, String> {
    let negate = p.get(*i) == Some(&b'^');
    if negate {
        *i += 1;
    }
    let mut s = Bytes256::default();
    let mut first = true;
    loop {
        let c = *p.get(*i).ok_or("pattern: a class is not closed")?;
        *i += 1;
        if c == b']' && !first {
            break;
        }
        first = false;
        let lo = if c == b'\\' {
            let e = *p.get(*i).ok_or("pattern: a lone backslash")?;
            *i += 1;
            let set = escaped(e);
            if !matches!(e, b'd' | b'w' | b's') {
                e
            } else {
                s.union(&set);
                continue;
            }
        } else {
            c
        };
        if p.get(*i) == Some(&b'-') && p.get(*i + 1).is_some_and(|n| *n != b']') {
            let hi = p[*i + 1];
            *i += 2;
            (lo..=hi).for_each(|b| s.add(b));
        } else {
            s.add(lo);
        }
    }
    Ok(if negate { Re::Char(Bytes256::string_safe().minus(&s)) } else { Re::Set(s) })
}

fn quantified(p: &[u8], i: &mut usize, atom: Re) -> Result<Re, String> {
    let (min, max) = match p.get(*i) {
        Some(b'?') => (0, Some(1)),
        Some(b'*') => (0, None),
        Some(b'+') => (1, None),
        Some(b'{') => {
            let end = p[*i..].iter().position(|c| *c == b'}').ok_or("pattern: `{` is not closed")? + *i;
            let inner = std::str::from_utf8(&p[*i + 1..end]).map_err(|e| e.to_string())?;
            let num = |s: &str| s.trim().parse::<usize>().map_err(|_| format!("pattern: {{{inner}}}"));
            let (min, max) = match inner.split_once(',') {
                None => (num(inner)?, Some(num(inner)?)),
                Some((a, "")) => (num(a)?, None),
                Some((a, b)) => (num(a)?, Some(num(b)?)),
            };
            if max.is_some_and(|m| m < min || m > 4096) {
                return Err(format!("pattern: {{{inner}}} is not a bound Airlock reads"));
            }
            *i = end;
            (min, max)
        }
        _ => return Ok(atom),
    };
    *i += 1;
    Ok(Re::Rep(Box::new(atom), min, max))
}

fn regex_frag(b: &mut Builder, re: &Re) -> Result<Frag, String> {
    let all = Bytes256([u64::MAX; 4]);
    regex_frag_in(b, re, &all)
}

/// The regex's automaton, every byte set cut to `allowed`.
fn regex_frag_in(b: &mut Builder, re: &Re, allowed: &Bytes256) -> Result<Frag, String> {
    match re {
        Re::Set(s) => {
            let cut = Bytes256(std::array::from_fn(|i| s.0[i] & allowed.0[i]));
            b.set(cut)
        }
        Re::Char(ascii) => {
            let cut = Bytes256(std::array::from_fn(|i| ascii.0[i] & allowed.0[i]));
            b.char_in(cut)
        }
        Re::Seq(items) => {
            let frags = items.iter().map(|r| regex_frag_in(b, r, allowed)).collect::<Result<Vec<_>, _>>()?;
            b.seq(frags)
        }
        Re::Alt(items) => {
            let frags = items.iter().map(|r| regex_frag_in(b, r, allowed)).collect::<Result<Vec<_>, _>>()?;
            b.alt(frags)
        }
        Re::Rep(inner, min, max) => b.repeat(*min, *max, &mut |b| regex_frag_in(b, inner, allowed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full(g: &Grammar, s: &str) -> bool {
        g.advance(&g.start(), s.as_bytes()).is_some_and(|c| g.accepts(&c))
    }

    #[test]
    fn an_object_is_written_in_order_with_every_property() {
        let g = Grammar::from_schema(&json!({
            "type": "object",
            "properties": {
                "kind": { "enum": ["send", "swap"] },
                "amount": { "type": ["string", "null"], "pattern": "^[0-9]{1,4}(\\.[0-9]{1,3})?$" },
                "n": { "type": "integer" },
                "ok": { "type": "boolean" },
                "tags": { "type": "array", "items": { "type": "string", "maxLength": 3 }, "maxItems": 2 },
            }
        }))
        .expect("compiles");
        for good in [
            r#"{"amount":"0.5","kind":"send","n":-3,"ok":true,"tags":[]}"#,
            r#"{"amount":null,"kind":"swap","n":0,"ok":false,"tags":["a","xyz"]}"#,
        ] {
            assert!(full(&g, good), "{good}");
            serde_json::from_str::<Value>(good).expect("valid JSON");
        }
        for bad in [
            r#"{"kind":"send","amount":"0.5","n":1,"ok":true,"tags":[]}"#,
            r#"{"amount":"1","kind":"drain","n":1,"ok":true,"tags":[]}"#,
            r#"{"amount":"1e5","kind":"send","n":1,"ok":true,"tags":[]}"#,
            r#"{"amount":"1","kind":"send","n":01,"ok":true,"tags":[]}"#,
            r#"{"amount":"1","kind":"send","n":1,"ok":true,"tags":["abcd"]}"#,
            r#"{"amount":"1","kind":"send","n":1,"ok":true,"tags":["a","b","c"]}"#,
            r#"{"amount":"1","kind":"send","n":1,"ok":true,"tags":[],"x":1}"#,
            r#"{"amount": "1"}"#,
        ] {
            assert!(!full(&g, bad), "{bad}");
        }
        let in_amount = g.advance(&g.start(), br#"{"amount":"1"#).expect("a prefix");
        assert_eq!(g.forced(&in_amount), b"", "a digit, a point or the closing quote");
        let after_null = g.advance(&g.start(), br#"{"amount":null"#).expect("a prefix");
        assert_eq!(g.forced(&after_null), br#","kind":"s"#, "send and swap both begin with s");
        let done = g.advance(&g.start(), br#"{"amount":null,"kind":"send","n":1,"ok":true,"tags":[]}"#);
        assert!(done.is_some_and(|c| g.finished(&c)));
    }

    #[test]
    fn strings_hold_no_quote_escape_or_control() {
        let g = Grammar::from_schema(&json!({ "type": "string", "maxLength": 10 })).expect("compiles");
        assert!(full(&g, r#""héllo""#));
        assert!(full(&g, r#""ééééééééé€""#), "ten characters, more bytes");
        for bad in [&b"\"\xff\""[..], b"\"\xc3\"", b"\"\xed\xa0\x80\"", b"\"\xe0\x80\xaf\""] {
            assert!(g.advance(&g.start(), bad).is_none_or(|c| !g.accepts(&c)), "{bad:?} is not UTF-8");
        }
        for bad in ["\"a\"b\"", "\"a\\nb\"", "\"a\nb\"", "\"01234567890\""] {
            assert!(!full(&g, bad), "{bad:?}");
        }
        let g = Grammar::from_schema(&json!({ "type": "string", "pattern": "^(0x[0-9a-f]{4}|[a-z]+\\.eth)$" }))
            .expect("compiles");
        assert!(full(&g, r#""0xbeef""#) && full(&g, r#""alice.eth""#));
        assert!(!full(&g, r#""0xbee""#) && !full(&g, r#""alice.eth ""#) && !full(&g, r#""Alice.eth""#));
    }

    #[test]
    fn bad_schemas_are_refused_with_why() {
        for (s, why) in [
            (json!({ "properties": {} }), "without a type"),
            (json!({ "type": "string", "pattern": "(ab" }), "not closed"),
            (json!({ "type": "string", "pattern": "a{5,2}" }), "not a bound"),
            (json!({ "type": "tuple" }), "not read"),
        ] {
            let e = Grammar::from_schema(&s).expect_err("refused");
            assert!(e.contains(why), "{s}: {e}");
        }
        let mut deep = json!({ "type": "null" });
        for _ in 0..20 {
            deep = json!({ "type": "array", "items": deep });
        }
        assert!(Grammar::from_schema(&deep).expect_err("deep").contains("too deep"));
    }
}
