//! The beacon API's JSON form of the light-client objects (`/eth/v1/beacon/light_client/*`):
//! numbers as decimal strings, bytes as 0x-hex, wrapped in `{ "version": fork, "data": … }`.
//! Finality and optimistic updates are reduced updates; they become [`Update`]s with the spec's
//! empty committee, header and branches where they carry none.

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::Deserialize;
use serde::de::{DeserializeOwned, Error as _};

use super::types::{
    BeaconBlockHeader, Bootstrap, EXECUTION_PAYLOAD_GINDEX, ExecutionPayloadHeader, Fork, LightClientHeader, Preset,
    SyncAggregate, SyncCommittee, Update, depth,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JsonError {
    #[error("beacon API answer is not the expected JSON: {0}")]
    Shape(String),
    #[error("unknown or unsupported fork {0:?}")]
    Fork(String),
    #[error("{what} has {got} bytes, expected {want}")]
    Length { what: &'static str, got: usize, want: usize },
}

pub fn fork_named(name: &str) -> Result<Fork, JsonError> {
    match name.to_ascii_lowercase().as_str() {
        "capella" => Ok(Fork::Capella),
        "deneb" => Ok(Fork::Deneb),
        "electra" => Ok(Fork::Electra),
        "fulu" => Ok(Fork::Fulu),
        other => Err(JsonError::Fork(other.to_owned())),
    }
}

fn quoted_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(|_| D::Error::custom(format!("not a decimal u64: {s:?}")))
}

fn quoted_opt_u64<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| s.parse().map_err(|_| D::Error::custom(format!("not a decimal u64: {s:?}"))))
        .transpose()
}

#[derive(Deserialize)]
struct Versioned<T> {
    version: String,
    data: T,
}

#[derive(Deserialize)]
struct JBeacon {
    #[serde(deserialize_with = "quoted_u64")]
    slot: u64,
    #[serde(deserialize_with = "quoted_u64")]
    proposer_index: u64,
    parent_root: B256,
    state_root: B256,
    body_root: B256,
}

#[derive(Deserialize)]
struct JExecution {
    parent_hash: B256,
    fee_recipient: Address,
    state_root: B256,
    receipts_root: B256,
    logs_bloom: Bytes,
    prev_randao: B256,
    #[serde(deserialize_with = "quoted_u64")]
    block_number: u64,
    #[serde(deserialize_with = "quoted_u64")]
    gas_limit: u64,
    #[serde(deserialize_with = "quoted_u64")]
    gas_used: u64,
    #[serde(deserialize_with = "quoted_u64")]
    timestamp: u64,
    extra_data: Bytes,
    base_fee_per_gas: String,
    block_hash: B256,
    transactions_root: B256,
    withdrawals_root: B256,
    #[serde(default, deserialize_with = "quoted_opt_u64")]
    blob_gas_used: Option<u64>,
    #[serde(default, deserialize_with = "quoted_opt_u64")]
    excess_blob_gas: Option<u64>,
}

#[derive(Deserialize)]
struct JHeader {
    beacon: JBeacon,
    execution: JExecution,
    execution_branch: Vec<B256>,
}

#[derive(Deserialize)]
struct JCommittee {
    pubkeys: Vec<Bytes>,
    aggregate_pubkey: Bytes,
}

#[derive(Deserialize)]
struct JAggregate {
    sync_committee_bits: Bytes,
    sync_committee_signature: Bytes,
}

#[derive(Deserialize)]
struct JBootstrap {
    header: JHeader,
    current_sync_committee: JCommittee,
    current_sync_committee_branch: Vec<B256>,
}

/// A full update, a finality update (no committee) or an optimistic update (neither).
#[derive(Deserialize)]
struct JUpdate {
    attested_header: JHeader,
    next_sync_committee: Option<JCommittee>,
    next_sync_committee_branch: Option<Vec<B256>>,
    finalized_header: Option<JHeader>,
    finality_branch: Option<Vec<B256>>,
    sync_aggregate: JAggregate,
    #[serde(deserialize_with = "quoted_u64")]
    signature_slot: u64,
}

fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<Versioned<T>, JsonError> {
    serde_json::from_slice(bytes).map_err(|e| JsonError::Shape(e.to_string()))
}

fn fixed<const N: usize>(what: &'static str, b: &[u8]) -> Result<[u8; N], JsonError> {
    b.try_into().map_err(|_| JsonError::Length { what, got: b.len(), want: N })
}

fn branch(what: &'static str, b: Vec<B256>, want: usize) -> Result<Vec<B256>, JsonError> {
    if b.len() != want {
        return Err(JsonError::Length { what, got: b.len(), want });
    }
    Ok(b)
}

fn header(h: JHeader, fork: Fork) -> Result<LightClientHeader, JsonError> {
    let e = h.execution;
    if e.logs_bloom.len() != 256 {
        return Err(JsonError::Length { what: "logs_bloom", got: e.logs_bloom.len(), want: 256 });
    }
    if e.extra_data.len() > 32 {
        return Err(JsonError::Length { what: "extra_data", got: e.extra_data.len(), want: 32 });
    }
    let deneb = fork >= Fork::Deneb;
    if deneb != (e.blob_gas_used.is_some() && e.excess_blob_gas.is_some()) {
        return Err(JsonError::Shape(format!("blob gas fields do not fit fork {fork:?}")));
    }
    Ok(LightClientHeader {
        beacon: BeaconBlockHeader {
            slot: h.beacon.slot,
            proposer_index: h.beacon.proposer_index,
            parent_root: h.beacon.parent_root,
            state_root: h.beacon.state_root,
            body_root: h.beacon.body_root,
        },
        execution: ExecutionPayloadHeader {
            parent_hash: e.parent_hash,
            fee_recipient: e.fee_recipient,
            state_root: e.state_root,
            receipts_root: e.receipts_root,
            logs_bloom: e.logs_bloom,
            prev_randao: e.prev_randao,
            block_number: e.block_number,
            gas_limit: e.gas_limit,
            gas_used: e.gas_used,
            timestamp: e.timestamp,
            extra_data: e.extra_data,
            base_fee_per_gas: e
                .base_fee_per_gas
                .parse::<U256>()
                .map_err(|_| JsonError::Shape(format!("base_fee_per_gas {:?}", e.base_fee_per_gas)))?,
            block_hash: e.block_hash,
            transactions_root: e.transactions_root,
            withdrawals_root: e.withdrawals_root,
            blob_gas_used: e.blob_gas_used,
            excess_blob_gas: e.excess_blob_gas,
        },
        execution_branch: branch("execution_branch", h.execution_branch, depth(EXECUTION_PAYLOAD_GINDEX))?,
    })
}

fn committee(c: JCommittee, preset: Preset) -> Result<SyncCommittee, JsonError> {
    if c.pubkeys.len() != preset.sync_committee_size {
        return Err(JsonError::Length {
            what: "sync committee",
            got: c.pubkeys.len(),
            want: preset.sync_committee_size,
        });
    }
    Ok(SyncCommittee {
        pubkeys: c.pubkeys.iter().map(|k| fixed::<48>("pubkey", k).map(Into::into)).collect::<Result<_, _>>()?,
        aggregate_pubkey: fixed::<48>("aggregate_pubkey", &c.aggregate_pubkey)?.into(),
    })
}

fn empty_committee(preset: Preset) -> SyncCommittee {
    SyncCommittee {
        pubkeys: vec![Default::default(); preset.sync_committee_size],
        aggregate_pubkey: Default::default(),
    }
}

fn empty_header() -> LightClientHeader {
    LightClientHeader { execution_branch: vec![B256::ZERO; depth(EXECUTION_PAYLOAD_GINDEX)], ..Default::default() }
}

/// `/eth/v1/beacon/light_client/bootstrap/{root}`.
pub fn bootstrap(bytes: &[u8], preset: Preset) -> Result<Bootstrap, JsonError> {
    let v: Versioned<JBootstrap> = parse(bytes)?;
    let fork = fork_named(&v.version)?;
    Ok(Bootstrap {
        header: header(v.data.header, fork)?,
        current_sync_committee: committee(v.data.current_sync_committee, preset)?,
        current_sync_committee_branch: branch(
            "current_sync_committee_branch",
            v.data.current_sync_committee_branch,
            depth(fork.current_sync_committee_gindex()),
        )?,
    })
}

fn update_from(v: Versioned<JUpdate>, preset: Preset) -> Result<Update, JsonError> {
    let fork = fork_named(&v.version)?;
    let u = v.data;
    let bits = u.sync_aggregate.sync_committee_bits.to_vec();
    if bits.len() != preset.sync_committee_size / 8 {
        return Err(JsonError::Length {
            what: "sync_committee_bits",
            got: bits.len(),
            want: preset.sync_committee_size / 8,
        });
    }
    Ok(Update {
        attested_header: header(u.attested_header, fork)?,
        next_sync_committee: match u.next_sync_committee {
            Some(c) => committee(c, preset)?,
            None => empty_committee(preset),
        },
        next_sync_committee_branch: branch(
            "next_sync_committee_branch",
            u.next_sync_committee_branch.unwrap_or_else(|| vec![B256::ZERO; fork.committee_depth()]),
            fork.committee_depth(),
        )?,
        finalized_header: match u.finalized_header {
            Some(h) => header(h, fork)?,
            None => empty_header(),
        },
        finality_branch: branch(
            "finality_branch",
            u.finality_branch.unwrap_or_else(|| vec![B256::ZERO; fork.finality_depth()]),
            fork.finality_depth(),
        )?,
        sync_aggregate: SyncAggregate {
            bits,
            signature: fixed("sync_committee_signature", &u.sync_aggregate.sync_committee_signature)?,
        },
        signature_slot: u.signature_slot,
    })
}

/// One update (`finality_update`, `optimistic_update`, or an element of `updates`).
pub fn update(bytes: &[u8], preset: Preset) -> Result<Update, JsonError> {
    update_from(parse(bytes)?, preset)
}

/// `/eth/v1/beacon/light_client/updates?start_period=…&count=…`: an array of versioned updates.
pub fn updates(bytes: &[u8], preset: Preset) -> Result<Vec<Update>, JsonError> {
    let list: Vec<Versioned<JUpdate>> = serde_json::from_slice(bytes).map_err(|e| JsonError::Shape(e.to_string()))?;
    list.into_iter().map(|v| update_from(v, preset)).collect()
}
