//! Which methods are held, and turning a held request into what a person reads.
//!
//! Pure: no I/O. A request that does not parse is refused here with a message that says what is
//! wrong, before anything becomes pending. The chain-id comparison needs the upstream's chain id
//! and happens in the pipeline, with [`Request::claimed_chain_id`].

use airlock_types::{AccessListEntry, AuthorizationView, CallView, SignKind, SignView, TxView};
use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEip4844Variant, TxEnvelope, TxType};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_rpc_types_eth::{TransactionInput, TransactionRequest};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

pub use crate::errors::InputError;

/// What the proxy does with a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Passed to the upstream untouched.
    Forward,
    /// Held until the person decides.
    Hold(Kind),
    /// Would move funds by a path Airlock cannot show the person: refused outright.
    Refuse,
    /// A name that is not plain ASCII, or that a lenient node could read as a method that sends
    /// or signs: refused outright, never forwarded.
    OddName,
}

/// The shape of a held request's params.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    RawTx,
    TxObject,
    EthSign,
    PersonalSign,
    TypedDataV1,
    TypedData,
    SendCalls,
}

/// The routing table. Everything that signs or sends is held; bundle and private-relay methods,
/// and the password-bearing `personal_*` senders, are refused because they would bypass the
/// person's decision.
///
/// Names are compared without regard to ASCII case or surrounding whitespace, because some
/// nodes match them that way: `eth_SendRawTransaction` is held like `eth_sendRawTransaction`
/// (and forwarded as spelled), never passed on as an unknown read. For the same reason an
/// unknown method whose name starts with a sending verb (`zks_sendRawTransactionWith…`,
/// `eth_sendUnsignedTransaction`, `eea_sendRawTransaction`) is refused rather than forwarded.
pub fn route(method: &str) -> Route {
    let name = method.trim().to_ascii_lowercase();
    match name.as_str() {
        "eth_sendrawtransaction" | "eth_sendrawtransactionsync" | "eth_sendrawtransactionconditional" => {
            Route::Hold(Kind::RawTx)
        }
        "eth_sendtransaction" | "eth_sendtransactionsync" | "eth_signtransaction" => Route::Hold(Kind::TxObject),
        "eth_sign" => Route::Hold(Kind::EthSign),
        "personal_sign" => Route::Hold(Kind::PersonalSign),
        "eth_signtypeddata" => Route::Hold(Kind::TypedDataV1),
        "eth_signtypeddata_v3" | "eth_signtypeddata_v4" => Route::Hold(Kind::TypedData),
        "wallet_sendcalls" => Route::Hold(Kind::SendCalls),
        _ if sends(&name) => Route::Refuse,
        _ if !airlock_wire::method::is_plain(method.trim()) || looks_like_a_send(method) => Route::OddName,
        _ => Route::Forward,
    }
}

/// The skeletons (`airlock_wire::method::skeleton`) of the methods Airlock holds.
const HELD: &[&str] = &[
    "ethsendrawtransaction",
    "ethsendrawtransactionsync",
    "ethsendrawtransactionconditional",
    "ethsendtransaction",
    "ethsendtransactionsync",
    "ethsigntransaction",
    "ethsign",
    "personalsign",
    "ethsigntypeddata",
    "ethsigntypeddatav3",
    "ethsigntypeddatav4",
    "walletsendcalls",
];

/// Parts of a skeleton that name sending or signing wherever they stand
/// (`eth_eth_sendRawTransaction`, `eth_callBundle`, `ethsendRawTransaction`).
const STEMS: &[&str] = &[
    "sendrawtransaction",
    "sendtransaction",
    "signtransaction",
    "signtypeddata",
    "personalsign",
    "sendcalls",
    "bundle",
];

/// Whether a lenient node could read `method` as a method that sends or signs.
fn looks_like_a_send(method: &str) -> bool {
    let sk = airlock_wire::method::skeleton(method);
    HELD.contains(&sk.as_str()) || STEMS.iter().any(|s| sk.contains(s))
}

/// Rebuilds a signature item's `sign` (message bytes and text, typed data) from its params: the
/// audit log stores the payload once, as the client sent it (`Store::with_hydrate`).
pub fn restore_sign(item: &mut airlock_types::Item) {
    let kind = match route(&item.method) {
        Route::Hold(k @ (Kind::EthSign | Kind::PersonalSign | Kind::TypedData | Kind::TypedDataV1)) => k,
        _ => return,
    };
    if let Ok(req) = parse(kind, &item.method, Some(&item.params)) {
        item.sign = req.sign;
    }
}

/// The fields of a transaction object, as nodes spell them.
const TX_FIELDS: &[&str] = &[
    "from",
    "to",
    "gas",
    "gasPrice",
    "maxFeePerGas",
    "maxPriorityFeePerGas",
    "maxFeePerBlobGas",
    "value",
    "input",
    "data",
    "nonce",
    "chainId",
    "accessList",
    "type",
    "blobVersionedHashes",
    "sidecar",
    "blobs",
    "commitments",
    "proofs",
    "authorizationList",
];

/// Go's encoding/json (geth, erigon and others) matches object keys without regard to case,
/// Unicode folding included (`ſ` matches `s`), and the last match wins; serde matches exactly.
/// So `{"to": A, "To": B}` would be shown as a send to A and sent to B. For objects a node reads
/// as structs, Airlock refuses keys that are not ASCII, keys equal but for case, and known
/// fields spelled in another case.
fn check_keys(obj: &Value, known: &[&str], what: &str) -> Result<(), InputError> {
    let Value::Object(map) = obj else { return Ok(()) };
    let mut seen = std::collections::HashMap::new();
    for key in map.keys() {
        if !key.is_ascii() {
            return Err(bad(format!("{what}: field name {key:?} is not ASCII")));
        }
        if let Some(prev) = seen.insert(key.to_ascii_lowercase(), key) {
            return Err(bad(format!("{what}: fields {prev:?} and {key:?} differ only in case")));
        }
        if let Some(field) = known.iter().find(|f| f.eq_ignore_ascii_case(key) && **f != key) {
            return Err(bad(format!("{what}: field {key:?} must be spelled {field:?}")));
        }
    }
    Ok(())
}

/// True if the method part of `name` (after the namespace) begins with a verb that moves funds.
fn sends(name: &str) -> bool {
    let verb = name.split_once('_').map_or(name, |(_, m)| m);
    ["send", "sign", "submit", "relay", "broadcast", "execute", "bundle"].iter().any(|v| verb.starts_with(v))
}

/// A request that parsed, ready to be assessed and held.
#[derive(Debug, Clone)]
pub struct Request {
    /// As the client spelled it; forwarded so.
    pub method: String,
    /// As the client sent them; forwarded so.
    pub params: Box<RawValue>,
    /// Identity for joining retries: the same key means the same request.
    pub key: B256,
    /// The transaction it would send (for `wallet_sendCalls`: the sender and chain).
    pub tx: Option<TxView>,
    /// `wallet_sendCalls`: each call, run in order from the sender.
    pub calls: Vec<CallView>,
    /// What a signing request would sign.
    pub sign: Option<SignView>,
    /// The chain id the request names (tx, typed-data domain, or batch), if it names one.
    pub claimed_chain_id: Option<u64>,
    /// A `wallet_sendCalls` batch that must run atomically (Airlock cannot promise that).
    pub atomic_required: bool,
    /// The intent Airlock built this request from (an agent's `propose`): what it should do.
    pub intent: Option<(String, airlock_agent::Expect)>,
}

impl Request {
    /// What an item asks for, to assess it again (its key is not needed: it is held already).
    pub fn of(item: &airlock_types::Item) -> Request {
        Request {
            method: item.method.clone(),
            params: item.params.clone(),
            key: B256::ZERO,
            tx: item.tx.clone(),
            calls: item.calls.clone(),
            sign: item.sign.clone(),
            claimed_chain_id: None,
            atomic_required: false,
            intent: None,
        }
    }
}

fn bad(msg: impl Into<String>) -> InputError {
    InputError(msg.into())
}

/// Parses the params of a held method.
pub fn parse(kind: Kind, method: &str, params: Option<&RawValue>) -> Result<Request, InputError> {
    let raw = params.ok_or_else(|| bad(format!("{method} needs params")))?;
    if !raw.get().trim_start().starts_with('[') {
        return Err(bad(format!("{method}: params must be a JSON array")));
    }
    let list: Vec<Value> =
        serde_json::from_str(raw.get()).map_err(|e| bad(format!("{method}: params do not parse: {e}")))?;
    let mut req = Request {
        method: method.to_owned(),
        params: raw.to_owned(),
        key: B256::ZERO,
        tx: None,
        calls: vec![],
        sign: None,
        claimed_chain_id: None,
        atomic_required: false,
        intent: None,
    };
    let mut identity: Vec<u8> = method.as_bytes().to_vec();
    identity.push(0);
    let mine = match kind {
        Kind::RawTx => raw_tx(&list, method, &mut req)?,
        Kind::TxObject => tx_request(&list, method, &mut req)?,
        Kind::EthSign => {
            let address = address_at(&list, 0, method)?;
            let data = hex_bytes(string_at(&list, 1, method, "the data to sign")?, "data to sign")?;
            req.sign = Some(sign_view(SignKind::EthSign, address, data));
            canonical(&list)
        }
        Kind::PersonalSign => personal_sign(&list, method, &mut req)?,
        Kind::TypedDataV1 => typed_data_v1(&list, method, &mut req)?,
        Kind::TypedData => typed_data(&list, method, &mut req)?,
        Kind::SendCalls => {
            let obj = list.first().ok_or_else(|| bad(format!("{method} needs a calls object")))?;
            let (tx, calls) = send_calls(obj, method)?;
            req.atomic_required = obj.get("atomicRequired").and_then(Value::as_bool).unwrap_or(false);
            req.claimed_chain_id = tx.chain_id;
            req.tx = Some(tx);
            req.calls = calls;
            canonical(obj)
        }
    };
    identity.extend(mine);
    req.key = keccak256(&identity);
    Ok(req)
}

/// `eth_sendRawTransaction`: the signed bytes are the identity.
fn raw_tx(list: &[Value], method: &str, req: &mut Request) -> Result<Vec<u8>, InputError> {
    let s = string_at(list, 0, method, "the signed transaction")?;
    let bytes = hex_bytes(s, "signed transaction")?;
    let tx = decode_raw_tx(&bytes)?;
    req.claimed_chain_id = tx.chain_id;
    req.tx = Some(tx);
    Ok(bytes)
}

/// `eth_sendTransaction` and kin: the normalised object, and fields Airlock does not know.
fn tx_request(list: &[Value], method: &str, req: &mut Request) -> Result<Vec<u8>, InputError> {
    let obj = list.first().ok_or_else(|| bad(format!("{method} needs a transaction object")))?;
    let (tx, normalised) = tx_object(obj, method)?;
    req.claimed_chain_id = tx.chain_id;
    req.tx = Some(tx);
    // Through the typed request, "0x01" and "0x1", `data` and `input`, are one request;
    // fields Airlock does not know are part of the identity as they are.
    let mut identity = serde_json::to_vec(&normalised).map_err(|e| bad(e.to_string()))?;
    if let Value::Object(map) = obj {
        let extra: serde_json::Map<String, Value> =
            map.iter().filter(|(k, _)| !TX_FIELDS.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
        identity.extend(canonical(&extra));
    }
    Ok(identity)
}

/// `personal_sign`: standard order is [message, address]; some dapps swap them.
fn personal_sign(list: &[Value], method: &str, req: &mut Request) -> Result<Vec<u8>, InputError> {
    let (msg, addr) = match (list.first(), list.get(1)) {
        (Some(Value::String(a)), Some(Value::String(b))) if parse_address(b).is_err() && parse_address(a).is_ok() => {
            (b.as_str(), a.as_str())
        }
        (Some(Value::String(a)), Some(Value::String(b))) => (a.as_str(), b.as_str()),
        _ => return Err(bad(format!("{method} needs [message, address] as strings"))),
    };
    let address = parse_address(addr).map_err(|e| bad(format!("{method}: {e}")))?;
    let data = if msg.starts_with("0x") { hex_bytes(msg, "message")? } else { msg.as_bytes().to_vec() };
    req.sign = Some(sign_view(SignKind::PersonalSign, address, data));
    Ok(canonical(list))
}

/// `eth_signTypedData` (v1): an array of typed values and an address, in either order.
fn typed_data_v1(list: &[Value], method: &str, req: &mut Request) -> Result<Vec<u8>, InputError> {
    let (data, addr) = match (list.first(), list.get(1)) {
        (Some(d @ Value::Array(_)), Some(Value::String(a))) | (Some(Value::String(a)), Some(d @ Value::Array(_))) => {
            (d, a)
        }
        _ => return Err(bad(format!("{method} needs [typed data array, address]"))),
    };
    let address = parse_address(addr).map_err(|e| bad(format!("{method}: {e}")))?;
    req.sign =
        Some(SignView { kind: SignKind::TypedData, address, text: None, data: None, typed_data: Some(data.clone()) });
    Ok(canonical(list))
}

/// `eth_signTypedData_v3/v4`: the address and the EIP-712 object (or its JSON text).
fn typed_data(list: &[Value], method: &str, req: &mut Request) -> Result<Vec<u8>, InputError> {
    let address = address_at(list, 0, method)?;
    let typed = match list.get(1) {
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|e| bad(format!("{method}: typed data is not valid JSON: {e}")))?
        }
        Some(v @ Value::Object(_)) => v.clone(),
        _ => return Err(bad(format!("{method} needs [address, typed data]"))),
    };
    req.claimed_chain_id = check_typed_data(&typed, method)?;
    let mut identity = address.as_slice().to_vec();
    identity.extend(canonical(&typed));
    req.sign = Some(SignView { kind: SignKind::TypedData, address, text: None, data: None, typed_data: Some(typed) });
    Ok(identity)
}

/// Decodes a signed transaction of any type (legacy, 2930, 1559, 4844 with or without its
/// sidecar, 7702) and recovers its sender. Trailing bytes are an error.
pub fn decode_raw_tx(bytes: &[u8]) -> Result<TxView, InputError> {
    if bytes.is_empty() {
        return Err(bad("signed transaction is empty"));
    }
    let env = TxEnvelope::decode_2718_exact(bytes)
        .map_err(|e| bad(format!("signed transaction does not decode (RLP / EIP-2718): {e}")))?;
    let from = env.recover_signer().map_err(|e| bad(format!("signed transaction has an invalid signature: {e}")))?;
    let mut view = tx_view(&env);
    view.from = Some(from);
    view.hash = Some(*env.tx_hash());
    view.signed = true;
    if let TxEnvelope::Eip4844(signed) = &env
        && let TxEip4844Variant::TxEip4844WithSidecar(with) = signed.tx()
    {
        // The node checks the KZG proofs; that the sidecar belongs to this transaction is ours.
        let hashes: Vec<B256> = with.sidecar.versioned_hashes().collect();
        if hashes != with.tx.blob_versioned_hashes {
            return Err(bad(
                "blob sidecar does not match the transaction: its commitments hash to other blob_versioned_hashes",
            ));
        }
        view.blob_count = with.sidecar.blobs().len();
    }
    Ok(view)
}

fn tx_view(env: &TxEnvelope) -> TxView {
    let legacy_fees = matches!(env.tx_type(), TxType::Legacy | TxType::Eip2930);
    TxView {
        tx_type: Some(env.tx_type() as u8),
        hash: None,
        from: None,
        to: env.to(),
        value: env.value(),
        nonce: Some(env.nonce()),
        data: env.input().clone(),
        gas: Some(env.gas_limit()),
        gas_price: if legacy_fees { env.gas_price() } else { None },
        max_fee_per_gas: (!legacy_fees).then(|| env.max_fee_per_gas()),
        max_priority_fee_per_gas: if legacy_fees { None } else { env.max_priority_fee_per_gas() },
        max_fee_per_blob_gas: env.max_fee_per_blob_gas(),
        chain_id: env.chain_id(),
        access_list: env
            .access_list()
            .map(|l| {
                l.iter().map(|i| AccessListEntry { address: i.address, storage_keys: i.storage_keys.clone() }).collect()
            })
            .unwrap_or_default(),
        blob_versioned_hashes: env.blob_versioned_hashes().map(<[B256]>::to_vec).unwrap_or_default(),
        blob_count: 0,
        authorization_list: env
            .authorization_list()
            .map(|l| {
                l.iter()
                    .map(|a| AuthorizationView {
                        chain_id: *a.chain_id(),
                        address: *a.address(),
                        nonce: a.nonce(),
                        authority: a.recover_authority().ok(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        signed: false,
    }
}

/// An unsigned transaction object (eth_sendTransaction and friends), and the same request in a
/// normal form (one spelling of every field) for identity.
fn tx_object(obj: &Value, method: &str) -> Result<(TxView, TransactionRequest), InputError> {
    let (view, req) = request_object(obj, method)?;
    if view.from.is_none() {
        return Err(bad(format!("{method}: the transaction needs a `from` address")));
    }
    Ok((view, req))
}

/// The call object of eth_call and eth_estimateGas (`from` optional).
pub fn call_object(obj: &Value, method: &str) -> Result<TxView, InputError> {
    Ok(request_object(obj, method)?.0)
}

fn request_object(obj: &Value, method: &str) -> Result<(TxView, TransactionRequest), InputError> {
    if !obj.is_object() {
        return Err(bad(format!("{method}: the transaction must be a JSON object")));
    }
    check_keys(obj, TX_FIELDS, method)?;
    let mut req: TransactionRequest =
        serde_json::from_value(obj.clone()).map_err(|e| bad(format!("{method}: invalid transaction object: {e}")))?;
    let from = req.from;
    let data =
        req.input.clone().try_into_unique_input().map_err(|e| bad(format!("{method}: {e}")))?.unwrap_or_default();
    req.input = TransactionInput::new(data.clone());
    let view = TxView {
        tx_type: req.transaction_type,
        hash: None,
        from,
        to: req.to.and_then(|k| k.to().copied()),
        value: req.value.unwrap_or_default(),
        nonce: req.nonce,
        data,
        gas: req.gas,
        gas_price: req.gas_price,
        max_fee_per_gas: req.max_fee_per_gas,
        max_priority_fee_per_gas: req.max_priority_fee_per_gas,
        max_fee_per_blob_gas: req.max_fee_per_blob_gas,
        chain_id: req.chain_id,
        access_list: req
            .access_list
            .iter()
            .flat_map(|l| l.0.iter())
            .map(|i| AccessListEntry { address: i.address, storage_keys: i.storage_keys.clone() })
            .collect(),
        blob_versioned_hashes: req.blob_versioned_hashes.clone().unwrap_or_default(),
        blob_count: 0,
        authorization_list: req
            .authorization_list
            .iter()
            .flatten()
            .map(|a| AuthorizationView {
                chain_id: *a.chain_id(),
                address: *a.address(),
                nonce: a.nonce(),
                authority: a.recover_authority().ok(),
            })
            .collect(),
        signed: false,
    };
    Ok((view, req))
}

/// Most calls one `wallet_sendCalls` batch may hold: each is shown, simulated and sent alone.
pub const MAX_BATCH_CALLS: usize = 64;

/// EIP-5792 `wallet_sendCalls`: `{ version, chainId, from?, calls: [{ to?, data?, value? }] }`.
fn send_calls(obj: &Value, method: &str) -> Result<(TxView, Vec<CallView>), InputError> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Batch {
        chain_id: U256,
        from: Option<Address>,
        calls: Vec<Call>,
    }
    #[derive(Deserialize)]
    struct Call {
        to: Option<Address>,
        #[serde(default)]
        data: Bytes,
        #[serde(default)]
        value: U256,
    }
    check_keys(obj, &["version", "chainId", "from", "calls", "capabilities", "atomicRequired", "id"], method)?;
    for call in obj.get("calls").and_then(Value::as_array).into_iter().flatten() {
        check_keys(call, &["to", "data", "value", "capabilities"], &format!("{method}: call"))?;
    }
    let batch: Batch =
        serde_json::from_value(obj.clone()).map_err(|e| bad(format!("{method}: invalid calls object: {e}")))?;
    if batch.calls.is_empty() {
        return Err(bad(format!("{method}: `calls` is empty")));
    }
    if batch.calls.len() > MAX_BATCH_CALLS {
        return Err(bad(format!(
            "{method}: {} calls, more than the {MAX_BATCH_CALLS} a batch may hold (each is shown, simulated and sent)",
            batch.calls.len()
        )));
    }
    let chain_id = u64::try_from(batch.chain_id).map_err(|_| bad(format!("{method}: chainId out of range")))?;
    let calls: Vec<CallView> =
        batch.calls.into_iter().map(|c| CallView { to: c.to, value: c.value, data: c.data }).collect();
    let tx = TxView {
        from: batch.from,
        chain_id: Some(chain_id),
        value: calls.iter().map(|c| c.value).fold(U256::ZERO, U256::saturating_add),
        ..TxView::default()
    };
    Ok((tx, calls))
}

/// Checks the EIP-712 envelope and returns the domain's chain id, if it names one.
fn check_typed_data(typed: &Value, method: &str) -> Result<Option<u64>, InputError> {
    let obj = typed.as_object().ok_or_else(|| bad(format!("{method}: typed data must be a JSON object")))?;
    check_keys(typed, &["types", "primaryType", "domain", "message"], &format!("{method}: typed data"))?;
    if let Some(domain) = obj.get("domain") {
        check_keys(domain, &["name", "version", "chainId", "verifyingContract", "salt"], &format!("{method}: domain"))?;
    }
    let types = obj
        .get("types")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("{method}: typed data needs a `types` object")))?;
    let primary = obj
        .get("primaryType")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(format!("{method}: typed data needs a `primaryType` string")))?;
    if !types.contains_key(primary) && primary != "EIP712Domain" {
        return Err(bad(format!("{method}: primaryType {primary:?} is not among the types")));
    }
    let domain = obj
        .get("domain")
        .and_then(Value::as_object)
        .ok_or_else(|| bad(format!("{method}: typed data needs a `domain` object")))?;
    if !obj.get("message").is_some_and(Value::is_object) {
        return Err(bad(format!("{method}: typed data needs a `message` object")));
    }
    match domain.get("chainId") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            n.as_u64().map(Some).ok_or_else(|| bad(format!("{method}: domain.chainId {n} is not a chain id")))
        }
        Some(Value::String(s)) => {
            let parsed = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse::<u64>().ok(),
            };
            parsed.map(Some).ok_or_else(|| bad(format!("{method}: domain.chainId {s:?} is not a chain id")))
        }
        Some(other) => Err(bad(format!("{method}: domain.chainId {other} is not a chain id"))),
    }
}

fn sign_view(kind: SignKind, address: Address, data: Vec<u8>) -> SignView {
    let text = String::from_utf8(data.clone())
        .ok()
        .filter(|t| !t.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r'));
    SignView { kind, address, text, data: Some(Bytes::from(data)), typed_data: None }
}

fn string_at<'a>(list: &'a [Value], i: usize, method: &str, what: &str) -> Result<&'a str, InputError> {
    match list.get(i) {
        Some(Value::String(s)) => Ok(s),
        Some(other) => Err(bad(format!("{method}: param {i} ({what}) must be a hex string, got {}", kind_of(other)))),
        None => Err(bad(format!("{method}: missing param {i} ({what})"))),
    }
}

fn address_at(list: &[Value], i: usize, method: &str) -> Result<Address, InputError> {
    let s = string_at(list, i, method, "the address")?;
    parse_address(s).map_err(|e| bad(format!("{method}: {e}")))
}

fn parse_address(s: &str) -> Result<Address, String> {
    let bytes = hex_bytes(s, "address").map_err(|e| e.0)?;
    if bytes.len() != 20 {
        return Err(format!("address {s:?} must be 20 bytes, got {}", bytes.len()));
    }
    Ok(Address::from_slice(&bytes))
}

/// Strict hex: `0x` prefix, even length, hex digits only. The message says which rule broke.
pub fn hex_bytes(s: &str, what: &str) -> Result<Vec<u8>, InputError> {
    let digits = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .ok_or_else(|| bad(format!("{what} must be hex starting with 0x")))?;
    if let Some((pos, c)) = digits.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(bad(format!("{what} is not valid hex: {c:?} at position {}", pos + 2)));
    }
    if digits.len() % 2 == 1 {
        return Err(bad(format!("{what} has an odd number of hex digits ({})", digits.len())));
    }
    hex::decode(digits).map_err(|e| bad(format!("{what} is not valid hex: {e}")))
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// JSON with sorted keys (serde_json's map is ordered), for identity hashing.
fn canonical<T: serde::Serialize + ?Sized>(v: &T) -> Vec<u8> {
    serde_json::to_value(v).and_then(|v| serde_json::to_vec(&v)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{SignableTransaction, TxEip4844, TxEip4844WithSidecar, TxLegacy};
    use alloy_eips::eip2718::Encodable2718;
    use alloy_eips::eip4844::{BlobTransactionSidecar, Bytes48, kzg_to_versioned_hash};
    use alloy_primitives::{Signature, TxKind, address};
    use serde_json::json;

    fn key() -> k256::ecdsa::SigningKey {
        let bytes = hex::decode("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80").expect("hex");
        k256::ecdsa::SigningKey::from_slice(&bytes).expect("key")
    }

    fn sender() -> Address {
        Address::from_private_key(&key())
    }

    fn sign<T: SignableTransaction<Signature>>(tx: T) -> alloy_consensus::Signed<T> {
        let sig: Signature = key().sign_prehash_recoverable(tx.signature_hash().as_slice()).expect("sign").into();
        tx.into_signed(sig)
    }

    fn raw(params: serde_json::Value) -> Box<RawValue> {
        serde_json::value::to_raw_value(&params).expect("json")
    }

    const TO: Address = address!("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");

    fn blob_tx(hashes: Vec<B256>) -> TxEip4844 {
        TxEip4844 {
            chain_id: 31337,
            to: TO,
            gas_limit: 21_000,
            max_fee_per_gas: 10,
            max_fee_per_blob_gas: 7,
            blob_versioned_hashes: hashes,
            ..Default::default()
        }
    }

    /// A sidecar whose commitments hash to the versioned hashes (KZG proofs are the node's to
    /// check; the link between sidecar and transaction is ours).
    fn sidecar() -> (BlobTransactionSidecar, Vec<B256>) {
        let commitment = Bytes48::repeat_byte(0xc0);
        let sidecar = BlobTransactionSidecar {
            blobs: vec![Default::default()],
            commitments: vec![commitment],
            proofs: vec![Bytes48::repeat_byte(0x9f)],
        };
        (sidecar, vec![kzg_to_versioned_hash(commitment.as_slice())])
    }

    #[test]
    fn blob_transaction_with_and_without_sidecar() {
        let (sc, hashes) = sidecar();
        let bare = sign(blob_tx(hashes.clone()));
        let bytes = TxEnvelope::from(bare.clone()).encoded_2718();
        let view = decode_raw_tx(&bytes).expect("blob tx without sidecar decodes");
        assert_eq!(view.tx_type, Some(3));
        assert_eq!(view.blob_count, 0);
        assert_eq!(view.blob_versioned_hashes, hashes);
        assert_eq!(view.max_fee_per_blob_gas, Some(7));
        assert_eq!(view.from, Some(sender()));

        let with: TxEip4844WithSidecar<alloy_eips::eip7594::BlobTransactionSidecarVariant> =
            TxEip4844WithSidecar::from_tx_and_sidecar(blob_tx(hashes.clone()), sc.into());
        let signed = sign(TxEip4844Variant::TxEip4844WithSidecar(with));
        let bytes = TxEnvelope::from(signed).encoded_2718();
        let view = decode_raw_tx(&bytes).expect("blob tx with sidecar decodes");
        assert_eq!(view.blob_count, 1);
        assert_eq!(view.from, Some(sender()));
        assert_eq!(view.hash, Some(*bare.hash()), "the hash does not cover the sidecar");
    }

    #[test]
    fn sidecar_that_does_not_match_is_refused() {
        let (sc, _) = sidecar();
        let other = vec![B256::repeat_byte(1)];
        let with: TxEip4844WithSidecar<alloy_eips::eip7594::BlobTransactionSidecarVariant> =
            TxEip4844WithSidecar::from_tx_and_sidecar(blob_tx(other), sc.into());
        let bytes = TxEnvelope::from(sign(TxEip4844Variant::TxEip4844WithSidecar(with))).encoded_2718();
        let err = decode_raw_tx(&bytes).expect_err("mismatched sidecar");
        assert!(err.0.contains("sidecar does not match"), "{err}");
    }

    #[test]
    fn legacy_without_chain_id_is_held_and_says_so() {
        let tx =
            TxLegacy { chain_id: None, gas_limit: 21_000, gas_price: 1, to: TxKind::Call(TO), ..Default::default() };
        let bytes = TxEnvelope::from(sign(tx)).encoded_2718();
        let view = decode_raw_tx(&bytes).expect("pre-EIP-155 decodes");
        assert_eq!(view.chain_id, None);
        assert_eq!(view.tx_type, Some(0));
        let hex = format!("0x{}", hex::encode(&bytes));
        let held = parse(Kind::RawTx, "eth_sendRawTransaction", Some(&raw(json!([hex])))).expect("held");
        assert_eq!(held.claimed_chain_id, None, "no chain id to compare");
    }

    #[test]
    fn personal_sign_accepts_either_order_and_plain_text() {
        let addr = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        for params in [json!(["0x68656c6c6f", addr]), json!([addr, "0x68656c6c6f"]), json!(["hello", addr])] {
            let held = parse(Kind::PersonalSign, "personal_sign", Some(&raw(params.clone()))).expect("parses");
            let sign = held.sign.expect("sign view");
            assert_eq!(sign.address, sender(), "{params}");
            assert_eq!(sign.text.as_deref(), Some("hello"), "{params}");
        }
        // Bytes that are not text are shown as bytes only.
        let held = parse(Kind::PersonalSign, "personal_sign", Some(&raw(json!(["0x00ff01", addr])))).expect("parses");
        assert_eq!(held.sign.expect("sign").text, None);
    }

    #[test]
    fn identity_normalises_equal_requests_and_separates_different_ones() {
        let key = |v: serde_json::Value| {
            parse(Kind::TxObject, "eth_sendTransaction", Some(&raw(json!([v])))).expect("parses").key
        };
        let from = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        let a = key(json!({ "from": from, "to": TO, "value": "0x01", "data": "0xAB" }));
        let b = key(json!({ "value": "0x1", "input": "0xab", "to": TO.to_string().to_lowercase(), "from": from }));
        let c = key(json!({ "from": from, "to": TO, "value": "0x2", "data": "0xab" }));
        assert_eq!(a, b, "same fields, different spelling");
        assert_ne!(a, c, "different value");
        let sync = parse(
            Kind::TxObject,
            "eth_sendTransactionSync",
            Some(&raw(json!([{ "from": from, "to": TO, "value": "0x01", "data": "0xAB" }]))),
        )
        .expect("parses")
        .key;
        assert_ne!(a, sync, "another method is another request");
    }

    #[test]
    fn routing_table() {
        for m in [
            "eth_sendRawTransaction",
            "eth_sendTransaction",
            "eth_sign",
            "personal_sign",
            "eth_signTypedData",
            "eth_signTypedData_v3",
            "eth_signTypedData_v4",
            "wallet_sendCalls",
            "eth_signTransaction",
        ] {
            assert!(matches!(route(m), Route::Hold(_)), "{m} must be held");
        }
        // Other spellings of held methods are held too: some nodes ignore case.
        for m in ["eth_SendRawTransaction", "ETH_SIGN", " personal_sign", "eth_signtypeddata_V4\n"] {
            assert!(matches!(route(m), Route::Hold(_)), "{m:?} must be held");
        }
        for m in [
            "eth_sendBundle",
            "personal_sendTransaction",
            "eth_sendPrivateRawTransaction",
            "eth_sendUnsignedTransaction",
            "eea_sendRawTransaction",
            "zks_sendRawTransactionWithDetailedOutput",
            "ETH_SENDBUNDLE",
        ] {
            assert_eq!(route(m), Route::Refuse, "{m}");
        }
        // Spellings a lenient node could read as a send or a signature, and names that are not
        // plain ASCII: refused, never forwarded.
        for m in [
            "eth.sendRawTransaction",
            "eth-sendRawTransaction",
            "ethsendRawTransaction",
            "eth__sendRawTransaction",
            "eth_eth_sendRawTransaction",
            "eth_send\u{200b}RawTransaction",
            "eth_s\u{435}ndRawTransaction",
            "ｅｔｈ＿ｓｉｇｎ",
            "personal.sign",
            "eth.sign",
            "eth-signTypedData-v4",
            "wallet.sendCalls",
            "eth_callBundle",
            "eth_blockNumber\u{200b}",
        ] {
            assert!(matches!(route(m), Route::OddName | Route::Refuse), "{m:?}: {:?}", route(m));
        }
        for m in [
            "eth_call",
            "eth_getBalance",
            "eth_subscribe",
            "anvil_mine",
            "ots_getTransactionBySenderAndNonce",
            "eth_getTransactionReceipt",
            "debug_traceTransaction",
        ] {
            assert_eq!(route(m), Route::Forward, "{m}");
        }
    }

    #[test]
    fn fields_a_node_would_read_differently_are_refused() {
        let from = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";
        let send = |v: serde_json::Value| parse(Kind::TxObject, "eth_sendTransaction", Some(&raw(json!([v]))));
        let refused = [
            (json!({ "from": from, "to": TO, "To": from }), "\"To\""),
            (json!({ "from": from, "To": TO }), "must be spelled \"to\""),
            (json!({ "from": from, "to": TO, "ga\u{17f}": "0x1" }), "not ASCII"),
        ];
        for (tx, words) in refused {
            let err = send(tx.clone()).expect_err("refused");
            assert!(err.0.contains(words), "{tx}: {err}");
        }
        let typed = json!({ "types": { "M": [] }, "primaryType": "M", "domain": { "chainId": 1, "chainid": 2 }, "message": {} });
        let err =
            parse(Kind::TypedData, "eth_signTypedData_v4", Some(&raw(json!([from, typed])))).expect_err("refused");
        assert!(err.0.contains("differ only in case"), "{err}");
        // Unknown fields are allowed, and part of the identity.
        let a = send(json!({ "from": from, "to": TO })).expect("plain").key;
        let b = send(json!({ "from": from, "to": TO, "extra": 1 })).expect("extra field").key;
        assert_ne!(a, b, "a request with another field is another request");
    }

    /// No input panics the decoder: real signed transactions of each type with a low and a high
    /// bit flipped in every byte, truncated at every seventh byte, and random bytes, all either
    /// decode or give an error.
    #[test]
    fn mutated_transactions_never_panic() {
        let (sc, hashes) = sidecar();
        let with: TxEip4844WithSidecar<alloy_eips::eip7594::BlobTransactionSidecarVariant> =
            TxEip4844WithSidecar::from_tx_and_sidecar(blob_tx(hashes.clone()), sc.into());
        let legacy = TxLegacy { chain_id: Some(1), gas_limit: 21_000, to: TxKind::Call(TO), ..Default::default() };
        let eip1559 = alloy_consensus::TxEip1559 {
            chain_id: 1,
            to: TxKind::Call(TO),
            input: vec![1, 2, 3].into(),
            ..Default::default()
        };
        let seeds = [
            TxEnvelope::from(sign(legacy)).encoded_2718(),
            TxEnvelope::from(sign(eip1559)).encoded_2718(),
            TxEnvelope::from(sign(blob_tx(hashes))).encoded_2718(),
            TxEnvelope::from(sign(TxEip4844Variant::TxEip4844WithSidecar(with))).encoded_2718(),
        ];
        let mut decoded = 0;
        for seed in &seeds {
            // The blob sidecar is 128 KiB: flip bits in the transaction part and the sidecar's
            // framing (head and tail), everywhere else.
            let positions: Vec<usize> = if seed.len() > 4096 {
                (0..200).chain(seed.len() - 120..seed.len()).collect()
            } else {
                (0..seed.len()).collect()
            };
            for &i in &positions {
                for bit in [0, 7] {
                    let mut m = seed.clone();
                    m[i] ^= 1 << bit;
                    decoded += usize::from(decode_raw_tx(&m).is_ok());
                }
            }
            for len in (0..seed.len()).step_by(7) {
                let _ = decode_raw_tx(&seed[..len]);
            }
        }
        // xorshift: reproducible random inputs without a dependency.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 200) as usize;
            let bytes: Vec<u8> = (0..len).map(|i| (x.rotate_left(i as u32 % 64) >> 3) as u8).collect();
            let _ = decode_raw_tx(&bytes);
        }
        assert!(decoded > 0, "some flips (in value or data) still decode, so the loop did reach decoding");
    }

    /// Random JSON shapes in every held method's params give an answer, never a panic.
    #[test]
    fn arbitrary_params_never_panic() {
        let values = [
            json!(null),
            json!(true),
            json!(-1),
            json!(1e300),
            json!(""),
            json!("0x"),
            json!("0x00"),
            json!([]),
            json!({}),
            json!([[]]),
            json!({ "from": null }),
            json!({ "types": [], "primaryType": 1 }),
            json!({ "chainId": "0xffffffffffffffffffffffffffffffffffffffffff", "calls": [{}] }),
            json!("0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"),
            json!({ "domain": { "chainId": [1] } }),
        ];
        let kinds = [
            Kind::RawTx,
            Kind::TxObject,
            Kind::EthSign,
            Kind::PersonalSign,
            Kind::TypedDataV1,
            Kind::TypedData,
            Kind::SendCalls,
        ];
        for kind in kinds {
            for a in &values {
                for b in &values {
                    let _ = parse(kind, "m", Some(&raw(json!([a, b]))));
                    let _ = parse(kind, "m", Some(&raw(json!([a]))));
                }
                let _ = parse(kind, "m", Some(&raw(a.clone())));
            }
            let _ = parse(kind, "m", None);
        }
    }

    #[test]
    fn hex_errors_say_what_is_wrong() {
        assert!(hex_bytes("12", "x").expect_err("no prefix").0.contains("starting with 0x"));
        assert!(hex_bytes("0x1", "x").expect_err("odd").0.contains("odd number"));
        assert!(hex_bytes("0x0g", "x").expect_err("digit").0.contains("'g' at position 3"));
        assert_eq!(hex_bytes("0X0aFF", "x").expect("upper prefix and digits"), vec![0x0a, 0xff]);
    }

    #[test]
    fn a_batch_beyond_the_limit_is_refused() {
        let call = serde_json::json!({ "to": "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "value": "0x1" });
        let batch = |n: usize| {
            raw(serde_json::json!([{ "version": "2.0.0", "chainId": "0x1",
                "from": "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266", "calls": vec![call.clone(); n] }]))
        };
        assert!(parse(Kind::SendCalls, "wallet_sendCalls", Some(&batch(MAX_BATCH_CALLS))).is_ok());
        let err = parse(Kind::SendCalls, "wallet_sendCalls", Some(&batch(MAX_BATCH_CALLS + 1))).expect_err("too many");
        assert!(err.0.contains("more than the 64"), "{err}");
    }
}
