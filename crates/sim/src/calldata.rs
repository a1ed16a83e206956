//! Calldata as a named call. The ABI data is in rules/abi (human-readable signatures, one per
//! line), shipped inside the binary; an unknown selector is shown raw and says so. Calls made
//! inside a multicall, a batch executor or Universal Router commands are decoded too.

use std::collections::HashMap;
use std::sync::OnceLock;

use airlock_types::{Argument, DecodedCall};
use alloy_dyn_abi::{DynSolType, DynSolValue, JsonAbiExt, Specifier};
use alloy_json_abi::{Function, Param};
use alloy_primitives::{Address, Bytes, hex};
use serde_json::{Value, json};

use crate::text::clean;

/// rules/abi, as built in.
const BUNDLED: &[(&str, &str)] = &[
    ("erc20", include_str!("../../../rules/abi/erc20.abi")),
    ("erc721", include_str!("../../../rules/abi/erc721.abi")),
    ("erc1155", include_str!("../../../rules/abi/erc1155.abi")),
    ("weth", include_str!("../../../rules/abi/weth.abi")),
    ("permit2", include_str!("../../../rules/abi/permit2.abi")),
    ("uniswap-v2", include_str!("../../../rules/abi/uniswap-v2.abi")),
    ("uniswap-v3", include_str!("../../../rules/abi/uniswap-v3.abi")),
    ("universal-router", include_str!("../../../rules/abi/universal-router.abi")),
    ("seaport", include_str!("../../../rules/abi/seaport.abi")),
    ("multicall", include_str!("../../../rules/abi/multicall.abi")),
    ("batch-executors", include_str!("../../../rules/abi/batch-executors.abi")),
    ("errors", include_str!("../../../rules/abi/errors.abi")),
];

/// How deep calls inside calls are followed.
const MAX_DEPTH: usize = 4;

struct Known {
    function: Function,
    text: String,
    source: &'static str,
}

struct Abi {
    by_selector: HashMap<[u8; 4], Vec<Known>>,
    commands: HashMap<u8, Known>,
    errors: HashMap<[u8; 4], Known>,
}

fn abi() -> &'static Abi {
    static ABI: OnceLock<Abi> = OnceLock::new();
    ABI.get_or_init(|| {
        let mut abi = Abi { by_selector: HashMap::new(), commands: HashMap::new(), errors: HashMap::new() };
        for (source, text) in BUNDLED {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                if let Some(rest) = line.strip_prefix("command ") {
                    let Some((byte, sig)) = rest.split_once(' ') else { continue };
                    let Ok(byte) = u8::from_str_radix(byte.trim_start_matches("0x"), 16) else { continue };
                    if let Some(function) = parse_signature(sig) {
                        abi.commands.insert(byte, Known { function, text: sig.to_owned(), source });
                    }
                    continue;
                }
                if let Some(sig) = line.strip_prefix("error ") {
                    if let Some(function) = parse_signature(sig) {
                        abi.errors.insert(function.selector().0, Known { function, text: sig.to_owned(), source });
                    }
                    continue;
                }
                // The bundled data is tested to parse (tests below); a line that does not is skipped.
                let Some(function) = parse_signature(line) else { continue };
                let text = line.trim_start_matches("function ").to_owned();
                abi.by_selector.entry(function.selector().0).or_default().push(Known { function, text, source });
            }
        }
        abi
    })
}

/// A human-readable signature with named parameters, tuples included:
/// `function f(address to, (address token, uint160 amount)[] details)`. (alloy's own parser
/// takes names only at the top level.)
pub fn parse_signature(line: &str) -> Option<Function> {
    let line = line.trim().trim_start_matches("function ").trim();
    let open = line.find('(')?;
    let name = line[..open].trim();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let body = line[open + 1..].strip_suffix(')')?;
    Some(Function {
        name: name.to_owned(),
        inputs: parse_params(body)?,
        outputs: vec![],
        state_mutability: alloy_json_abi::StateMutability::NonPayable,
    })
}

fn parse_params(s: &str) -> Option<Vec<Param>> {
    let mut out = vec![];
    let (mut depth, mut start) = (0usize, 0usize);
    let s = s.trim();
    if s.is_empty() {
        return Some(out);
    }
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                out.push(parse_param(&s[start..i])?);
                start = i + 1;
            }
            _ => {}
        }
    }
    (depth == 0).then_some(())?;
    out.push(parse_param(&s[start..])?);
    Some(out)
}

fn parse_param(s: &str) -> Option<Param> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('(') {
        let mut depth = 1usize;
        let close = inner.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(i)
        })?;
        let components = parse_params(&inner[..close])?;
        let rest = inner[close + 1..].trim_start();
        let suffix_end = rest.find(|c: char| !(c == '[' || c == ']' || c.is_ascii_digit())).unwrap_or(rest.len());
        let (suffix, name) = rest.split_at(suffix_end);
        if name.split_whitespace().count() > 1 {
            return None;
        }
        return Some(Param {
            ty: format!("tuple{suffix}"),
            name: name.trim().to_owned(),
            components,
            internal_type: None,
        });
    }
    let mut words = s.split_whitespace();
    let ty = words.next()?.to_owned();
    DynSolType::parse(&ty).ok()?;
    let name = words.next().unwrap_or_default().to_owned();
    words.next().is_none().then_some(())?;
    Some(Param { ty, name, components: vec![], internal_type: None })
}

/// Revert data of a known custom error, in words: `Name(arg = value, ...)`.
pub fn describe_error(data: &[u8]) -> Option<String> {
    let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
    let known = abi().errors.get(&selector)?;
    let values = known.function.abi_decode_input(&data[4..]).ok()?;
    let args: Vec<String> = arguments(&known.function.inputs, &values)
        .into_iter()
        .map(|a| format!("{} = {}", a.name, a.value.as_str().map(str::to_owned).unwrap_or_else(|| a.value.to_string())))
        .collect();
    Some(format!("{}({})", known.function.name, args.join(", ")))
}

/// `data` sent to `to`, decoded.
pub fn decode(to: Option<Address>, data: &[u8]) -> Option<DecodedCall> {
    decode_at(to, data, 0)
}

fn decode_at(to: Option<Address>, data: &[u8], depth: usize) -> Option<DecodedCall> {
    if data.len() < 4 {
        return None;
    }
    let selector: [u8; 4] = data[..4].try_into().ok()?;
    for known in abi().by_selector.get(&selector).into_iter().flatten() {
        let Ok(values) = known.function.abi_decode_input(&data[4..]) else { continue };
        let mut call = DecodedCall {
            to,
            selector: Bytes::copy_from_slice(&selector),
            function: Some(known.text.clone()),
            source: Some(known.source.to_owned()),
            arguments: arguments(&known.function.inputs, &values),
            inner: vec![],
            raw: None,
        };
        if depth < MAX_DEPTH {
            call.inner = inner_calls(to, &known.function, &values, depth + 1);
        }
        return Some(call);
    }
    Some(DecodedCall {
        to,
        selector: Bytes::copy_from_slice(&selector),
        function: None,
        source: None,
        arguments: vec![],
        inner: vec![],
        raw: Some(Bytes::copy_from_slice(&data[4..])),
    })
}

fn arguments(params: &[Param], values: &[DynSolValue]) -> Vec<Argument> {
    params
        .iter()
        .zip(values)
        .enumerate()
        .map(|(i, (p, v))| Argument {
            name: if p.name.is_empty() { format!("arg{i}") } else { p.name.clone() },
            ty: p.selector_type().into_owned(),
            value: to_json(p, v),
        })
        .collect()
}

fn to_json(p: &Param, v: &DynSolValue) -> Value {
    match v {
        DynSolValue::Address(a) => json!(a),
        DynSolValue::Bool(b) => json!(b),
        DynSolValue::Int(i, _) => json!(i.to_string()),
        DynSolValue::Uint(u, _) => json!(u.to_string()),
        DynSolValue::FixedBytes(w, size) => json!(format!("0x{}", hex::encode(&w[..*size]))),
        DynSolValue::Bytes(b) => json!(format!("0x{}", hex::encode(b))),
        DynSolValue::String(s) => json!(clean(s, 256)),
        DynSolValue::Tuple(items) => {
            let mut obj = serde_json::Map::new();
            for (i, (c, item)) in p.components.iter().zip(items).enumerate() {
                let name = if c.name.is_empty() { format!("field{i}") } else { c.name.clone() };
                obj.insert(name, to_json(c, item));
            }
            Value::Object(obj)
        }
        DynSolValue::Array(items) | DynSolValue::FixedArray(items) => {
            // An array's element has the array's components (for arrays of tuples).
            let element =
                Param { ty: p.ty.trim_end_matches(|c| c != '[').trim_end_matches('[').to_owned(), ..p.clone() };
            Value::Array(items.iter().map(|i| to_json(&element, i)).collect())
        }
        other => json!(format!("{other:?}")),
    }
}

/// Calls that a multicall, batch or router makes for the caller.
fn inner_calls(to: Option<Address>, f: &Function, values: &[DynSolValue], depth: usize) -> Vec<DecodedCall> {
    let mut out = vec![];
    // Universal Router: one command byte per input.
    if f.name == "execute"
        && let (Some(DynSolValue::Bytes(commands)), Some(DynSolValue::Array(inputs))) = (values.first(), values.get(1))
    {
        for (cmd, input) in commands.iter().zip(inputs) {
            let Some(input) = input.as_bytes() else { continue };
            out.push(command(*cmd, input));
        }
        return out;
    }
    // multicall(bytes[]) and friends: calls to the same contract.
    for v in values {
        if let DynSolValue::Array(items) = v {
            for item in items {
                match item {
                    DynSolValue::Bytes(b) => out.extend(decode_at(to, b, depth)),
                    // (address target, ..., bytes data) tuples: calls to their targets.
                    DynSolValue::Tuple(fields) => {
                        let target = fields.iter().find_map(|f| f.as_address());
                        if let Some(data) = fields.iter().rev().find_map(|f| f.as_bytes()) {
                            if data.is_empty() {
                                continue;
                            }
                            out.extend(decode_at(target, data, depth));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    // executeBatch(address[] dest, uint256[] value, bytes[] func): zipped.
    if let (Some(DynSolValue::Array(dest)), Some(DynSolValue::Array(funcs))) = (values.first(), values.get(2))
        && dest.len() == funcs.len()
        && !out.is_empty()
    {
        out = dest.iter().zip(funcs).filter_map(|(d, f)| decode_at(d.as_address(), f.as_bytes()?, depth)).collect();
    }
    // execute(address target, uint256 value, bytes data): one call.
    if let (Some(DynSolValue::Address(target)), Some(DynSolValue::Bytes(data))) = (values.first(), values.get(2))
        && values.len() == 3
    {
        out.extend(decode_at(Some(*target), data, depth));
    }
    out
}

/// One Universal Router command and its input.
fn command(cmd: u8, input: &[u8]) -> DecodedCall {
    let byte = cmd & 0x3f;
    let raw = || Some(Bytes::copy_from_slice(input));
    let Some(known) = abi().commands.get(&byte) else {
        return DecodedCall {
            to: None,
            selector: Bytes::copy_from_slice(&[cmd]),
            function: None,
            source: Some("universal-router".into()),
            arguments: vec![],
            inner: vec![],
            raw: raw(),
        };
    };
    let types: Vec<DynSolType> = known.function.inputs.iter().filter_map(|p| p.resolve().ok()).collect();
    let decoded = DynSolType::Tuple(types).abi_decode_params(input).ok();
    let (arguments, raw) = match decoded {
        Some(DynSolValue::Tuple(values)) => (arguments(&known.function.inputs, &values), None),
        _ => (vec![], raw()),
    };
    DecodedCall {
        to: None,
        selector: Bytes::copy_from_slice(&[cmd]),
        function: Some(known.text.clone()),
        source: Some(known.source.to_owned()),
        arguments,
        inner: vec![],
        raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_line_parses() {
        for (source, text) in BUNDLED {
            for line in text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
                let sig = match line.strip_prefix("command ") {
                    Some(rest) => rest.split_once(' ').map(|(_, s)| s).unwrap_or(""),
                    None => line.strip_prefix("error ").unwrap_or(line),
                };
                assert!(parse_signature(sig).is_some(), "rules/abi/{source}.abi: {line}");
            }
        }
    }

    #[test]
    fn a_transfer_is_named_and_an_unknown_selector_is_raw() {
        let data = hex!(
            "a9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000000000000000005"
        );
        let call = decode(None, &data).expect("decoded");
        assert_eq!(call.function.as_deref(), Some("transfer(address to, uint256 amount)"));
        assert_eq!(call.source.as_deref(), Some("erc20"));
        assert_eq!(call.arguments[0].name, "to");
        assert_eq!(call.arguments[0].value, json!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"));
        assert_eq!(call.arguments[1].value, json!("5"));
        let unknown = decode(None, &hex!("deadbeef0102")).expect("raw");
        assert!(unknown.function.is_none());
        assert_eq!(unknown.raw.as_ref().map(|b| b.to_vec()), Some(vec![1, 2]));
        assert!(decode(None, &[1, 2]).is_none());
    }

    #[test]
    fn named_tuples_keep_their_names_and_selectors() {
        let f = parse_signature(
            "function permit(address owner, ((address token, uint160 amount, uint48 expiration, uint48 nonce) details, address spender, uint256 sigDeadline) permitSingle, bytes signature)",
        )
        .expect("parses");
        // Permit2's permit(PermitSingle) selector.
        assert_eq!(f.selector().0, hex!("2b67b570"));
        assert_eq!(f.inputs[1].components[0].components[1].name, "amount");
        assert!(parse_signature("function f(address to, uint257 x)").is_none());
        assert!(parse_signature("function f((address a) x").is_none());
    }

    #[test]
    fn multicall_inner_calls_are_decoded() {
        let transfer = DynSolValue::Bytes(
            hex!("a9059cbb00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c80000000000000000000000000000000000000000000000000000000000000005").to_vec(),
        );
        let f = parse_signature("function multicall(bytes[] data)").expect("parses");
        let data = f.abi_encode_input(&[DynSolValue::Array(vec![transfer.clone(), transfer])]).expect("encodes");
        let call = decode(None, &data).expect("decoded");
        assert_eq!(call.inner.len(), 2);
        assert_eq!(call.inner[1].function.as_deref(), Some("transfer(address to, uint256 amount)"));
    }
}
