//! Reading list files: CSV with a header, JSON arrays, and plain lines. A row that names no
//! address is an error with its line, so a list in another format than configured is refused
//! rather than loaded empty.

use std::io::BufRead;

use alloy_primitives::Address;
use serde_json::Value;

use serde::Deserialize;

use crate::IntelError;

/// How a list's file is read.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ListSpec {
    pub name: String,
    /// A file (relative to the manifest for bundled lists; absolute or relative to the working
    /// directory for the person's own).
    #[serde(default)]
    pub file: Option<String>,
    /// Where `airlock intel update` downloads it from (the whole list, never a per-address query).
    #[serde(default)]
    pub url: Option<String>,
    /// The download's pinned sha256 (hex); an update with another hash is refused.
    #[serde(default)]
    pub sha256: Option<String>,
    pub format: Format,
    /// The address column or key (csv, json objects).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub date_column: Option<String>,
    #[serde(default)]
    pub chain_column: Option<String>,
    /// Every entry counts on this chain only.
    #[serde(default)]
    pub chain: Option<u64>,
    /// Put before every label ("approvals to it were exploited: ").
    #[serde(default)]
    pub label_prefix: String,
    #[serde(default)]
    pub source: String,
    /// The list's date, for entries without their own.
    #[serde(default)]
    pub date: String,
    /// The licence file beside it.
    #[serde(default)]
    pub licence: String,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
    #[default]
    Lines,
}

/// The longest line read (a CSV row with notes); a longer one is an error, not a reallocation.
const MAX_LINE: usize = 64 * 1024;

/// One entry as read.
#[derive(Debug)]
pub(crate) struct Row<'a> {
    pub address: Address,
    pub label: &'a str,
    pub date: Option<&'a str>,
    pub chain: Option<u64>,
}

/// Calls `f` with every row of the list; returns how many rows were skipped as unreadable.
/// Real lists carry the odd malformed entry (a digit short); a list where most rows are
/// unreadable is in another format than configured, and refused with the first bad line.
pub(crate) fn each(spec: &ListSpec, reader: impl BufRead, mut f: impl FnMut(Row<'_>)) -> Result<usize, IntelError> {
    let bad = |line: usize, why: String| IntelError::Invalid(format!("{} line {line}: {why}", spec.name));
    match spec.format {
        Format::Json => json(spec, reader, f),
        Format::Lines => lines(reader, bad, |_, line| {
            let (entry, label) = line.split_once('#').map_or((line, ""), |(e, l)| (e.trim(), l.trim()));
            if entry.trim().is_empty() {
                return Ok(());
            }
            let (chain, address) = match entry.trim().split_once(':') {
                Some((c, a)) => (Some(c.trim().parse::<u64>().map_err(|_| format!("{c:?} is not a chain id"))?), a),
                None => (None, entry),
            };
            f(Row { address: address_of(address)?, label, date: None, chain });
            Ok(())
        }),
        Format::Csv => {
            let mut columns: Option<Columns> = None;
            lines(reader, bad, |_, line| {
                let fields = split_csv(line);
                let Some(c) = &columns else {
                    columns = Some(Columns::of(spec, &fields)?);
                    return Ok(());
                };
                if fields.iter().all(|f| f.is_empty()) {
                    return Ok(());
                }
                let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).map(|s| s.as_str());
                let chain = match get(c.chain).filter(|s| !s.is_empty()) {
                    Some(s) => Some(s.parse::<u64>().map_err(|_| format!("{s:?} is not a chain id"))?),
                    None => None,
                };
                let address = address_of(get(Some(c.address)).unwrap_or_default())?;
                f(Row {
                    address,
                    label: get(c.label).unwrap_or(""),
                    date: get(c.date).filter(|d| !d.is_empty()),
                    chain,
                });
                Ok(())
            })
        }
    }
}

/// Every line, with its number; `#` comment lines and blank lines skipped.
fn lines(
    mut reader: impl BufRead,
    bad: impl Fn(usize, String) -> IntelError,
    mut f: impl FnMut(usize, &str) -> Result<(), String>,
) -> Result<usize, IntelError> {
    let mut buf = String::new();
    let (mut n, mut good, mut skipped) = (0, 0usize, 0usize);
    let mut first: Option<IntelError> = None;
    loop {
        buf.clear();
        let read = std::io::Read::take(&mut reader, MAX_LINE as u64 + 1)
            .read_line(&mut buf)
            .map_err(|e| bad(n + 1, e.to_string()))?;
        if read == 0 {
            return match first {
                Some(e) if skipped > good => Err(e),
                _ => Ok(skipped),
            };
        }
        n += 1;
        if buf.len() > MAX_LINE {
            return Err(bad(n, format!("longer than {MAX_LINE} bytes")));
        }
        let line = buf.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match f(n, line) {
            Ok(()) => good += 1,
            // The header's problems are the whole list's.
            Err(why) if good == 0 && skipped == 0 && why.starts_with("no column") => return Err(bad(n, why)),
            Err(why) => {
                skipped += 1;
                first.get_or_insert_with(|| bad(n, why));
            }
        }
    }
}

/// An address in any case. The checksum of a mixed-case one is not checked: a list that
/// spells an address with a wrong checksum still names that address (and checking costs a
/// hash per row at start-up).
fn address_of(s: &str) -> Result<Address, String> {
    let t = s.trim();
    let mut out = [0u8; 20];
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(h) if h.len() == 40 && alloy_primitives::hex::decode_to_slice(h, &mut out).is_ok() => {
            Ok(Address::from(out))
        }
        _ => Err(format!("{t:?} is not an address (0x and 40 hex digits)")),
    }
}

/// Where the configured columns are in the header.
struct Columns {
    address: usize,
    label: Option<usize>,
    date: Option<usize>,
    chain: Option<usize>,
}

impl Columns {
    fn of(spec: &ListSpec, header: &[String]) -> Result<Columns, String> {
        let find = |name: &Option<String>| -> Result<Option<usize>, String> {
            let Some(name) = name else { return Ok(None) };
            header
                .iter()
                .position(|h| h.trim() == name)
                .map(Some)
                .ok_or_else(|| format!("no column {name:?} in the header ({})", header.join(",")))
        };
        let address = spec.address.clone().or(Some("address".into()));
        Ok(Columns {
            address: find(&address)?.unwrap_or(0),
            label: find(&spec.label)?,
            date: find(&spec.date_column)?,
            chain: find(&spec.chain_column)?,
        })
    }
}

/// One CSV record's fields (RFC 4180 quoting, within one line).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let (mut quoted, mut chars) = (false, line.chars().peekable());
    while let Some(c) = chars.next() {
        let field = fields.last_mut().expect("one field at least");
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => field.push(c),
        }
    }
    fields
}

/// A JSON array of address strings, or of objects with the configured keys.
fn json(spec: &ListSpec, reader: impl BufRead, mut f: impl FnMut(Row<'_>)) -> Result<usize, IntelError> {
    let bad = |why: String| IntelError::Invalid(format!("{}: {why}", spec.name));
    let v: Value = serde_json::from_reader(reader).map_err(|e| bad(format!("not JSON: {e}")))?;
    let Value::Array(items) = v else { return Err(bad("not a JSON array".into())) };
    let key = spec.address.as_deref().unwrap_or("address");
    let (mut skipped, mut first) = (0usize, None);
    let text =
        |o: &Value, k: &Option<String>| k.as_ref().and_then(|k| o.get(k)).and_then(Value::as_str).map(str::to_owned);
    for (i, item) in items.iter().enumerate() {
        let address = match item {
            Value::String(s) => s.as_str(),
            Value::Object(o) => o.get(key).and_then(Value::as_str).unwrap_or_default(),
            _ => "",
        };
        let address = match address_of(address) {
            Ok(a) => a,
            Err(why) => {
                skipped += 1;
                first.get_or_insert_with(|| bad(format!("entry {i}: {why}")));
                continue;
            }
        };
        let label = text(item, &spec.label).unwrap_or_default();
        let date = text(item, &spec.date_column);
        let chain = spec.chain_column.as_ref().and_then(|k| item.get(k)).and_then(Value::as_u64);
        f(Row { address, label: &label, date: date.as_deref(), chain });
    }
    match first {
        Some(e) if skipped * 2 > items.len() => Err(e),
        _ => Ok(skipped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_keep_quoted_commas() {
        assert_eq!(split_csv(r#"a,"b, c","d ""e""",,"#), vec!["a", "b, c", "d \"e\"", "", ""]);
    }

    #[test]
    fn a_list_in_another_format_is_refused_with_its_line() {
        let spec = ListSpec { name: "x".into(), format: Format::Lines, ..Default::default() };
        let e = each(&spec, "# header\n0x12\n".as_bytes(), |_| {}).expect_err("not an address");
        assert!(e.to_string().contains("x line 2"), "{e}");
        // One bad row among good ones is skipped and counted.
        let text = format!("{}\n0x12\n{}\n", Address::repeat_byte(1), Address::repeat_byte(2));
        let mut n = 0;
        assert_eq!(each(&spec, text.as_bytes(), |_| n += 1).expect("mostly good"), 1);
        assert_eq!(n, 2);
        let csv =
            ListSpec { name: "c".into(), format: Format::Csv, address: Some("addr".into()), ..Default::default() };
        let e = each(&csv, "address,label\n".as_bytes(), |_| {}).expect_err("no column");
        assert!(e.to_string().contains("no column \"addr\""), "{e}");
    }
}
