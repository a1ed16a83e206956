//! The light-client containers of the consensus spec (Capella to Fulu), decoded from SSZ and
//! hashed with hash_tree_root.

use alloy_primitives::{Address, B256, Bytes, FixedBytes, U256};
use serde::{Deserialize, Serialize};

use super::ssz::{Reader, SszError, err, merkleize, mix_in_length, pack, u64_root};

/// Forks the light client knows, in order. Their containers differ only in branch depths
/// (Electra deepened the state tree) and the blob fields of the execution header (Deneb).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fork {
    Capella,
    Deneb,
    Electra,
    Fulu,
}

impl Fork {
    pub fn finalized_root_gindex(self) -> u64 {
        if self >= Fork::Electra { 169 } else { 105 }
    }
    pub fn current_sync_committee_gindex(self) -> u64 {
        if self >= Fork::Electra { 86 } else { 54 }
    }
    pub fn next_sync_committee_gindex(self) -> u64 {
        if self >= Fork::Electra { 87 } else { 55 }
    }
    pub fn finality_depth(self) -> usize {
        depth(self.finalized_root_gindex())
    }
    pub fn committee_depth(self) -> usize {
        depth(self.next_sync_committee_gindex())
    }
}

/// The execution payload header's place in the beacon block body.
pub const EXECUTION_PAYLOAD_GINDEX: u64 = 25;

pub fn depth(gindex: u64) -> usize {
    63 - gindex.leading_zeros() as usize
}

/// Sizes that differ between the mainnet and minimal presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub sync_committee_size: usize,
    pub slots_per_epoch: u64,
    pub epochs_per_sync_committee_period: u64,
}

impl Preset {
    pub const MAINNET: Preset =
        Preset { sync_committee_size: 512, slots_per_epoch: 32, epochs_per_sync_committee_period: 256 };
    pub const MINIMAL: Preset =
        Preset { sync_committee_size: 32, slots_per_epoch: 8, epochs_per_sync_committee_period: 8 };

    pub fn period(&self, slot: u64) -> u64 {
        slot / self.slots_per_epoch / self.epochs_per_sync_committee_period
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BeaconBlockHeader {
    pub slot: u64,
    pub proposer_index: u64,
    pub parent_root: B256,
    pub state_root: B256,
    pub body_root: B256,
}

impl BeaconBlockHeader {
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, SszError> {
        Ok(BeaconBlockHeader {
            slot: r.u64()?,
            proposer_index: r.u64()?,
            parent_root: r.b256()?,
            state_root: r.b256()?,
            body_root: r.b256()?,
        })
    }

    pub fn hash_tree_root(&self) -> B256 {
        let fields = [
            u64_root(self.slot),
            u64_root(self.proposer_index),
            self.parent_root.0,
            self.state_root.0,
            self.body_root.0,
        ];
        B256::from(merkleize(&fields, 8))
    }
}

/// The execution block as the beacon chain commits to it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionPayloadHeader {
    pub parent_hash: B256,
    pub fee_recipient: Address,
    pub state_root: B256,
    pub receipts_root: B256,
    pub logs_bloom: Bytes,
    pub prev_randao: B256,
    pub block_number: u64,
    pub gas_limit: u64,
    pub gas_used: u64,
    pub timestamp: u64,
    pub extra_data: Bytes,
    pub base_fee_per_gas: U256,
    pub block_hash: B256,
    pub transactions_root: B256,
    pub withdrawals_root: B256,
    /// Deneb on: `None` before.
    pub blob_gas_used: Option<u64>,
    pub excess_blob_gas: Option<u64>,
}

impl ExecutionPayloadHeader {
    pub fn decode(bytes: &[u8], fork: Fork) -> Result<Self, SszError> {
        let mut r = Reader::new("ExecutionPayloadHeader", bytes);
        let parent_hash = r.b256()?;
        let fee_recipient = Address::from_slice(r.take(20)?);
        let state_root = r.b256()?;
        let receipts_root = r.b256()?;
        let logs_bloom = Bytes::copy_from_slice(r.take(256)?);
        let prev_randao = r.b256()?;
        let (block_number, gas_limit, gas_used, timestamp) = (r.u64()?, r.u64()?, r.u64()?, r.u64()?);
        let extra_offset = r.offset()?;
        let base_fee_per_gas = U256::from_le_slice(r.take(32)?);
        let block_hash = r.b256()?;
        let transactions_root = r.b256()?;
        let withdrawals_root = r.b256()?;
        let (blob_gas_used, excess_blob_gas) =
            if fork >= Fork::Deneb { (Some(r.u64()?), Some(r.u64()?)) } else { (None, None) };
        let extra = r.parts(&[extra_offset])?[0];
        if extra.len() > 32 {
            return Err(err("ExecutionPayloadHeader", format!("extra_data of {} bytes (at most 32)", extra.len())));
        }
        Ok(ExecutionPayloadHeader {
            parent_hash,
            fee_recipient,
            state_root,
            receipts_root,
            logs_bloom,
            prev_randao,
            block_number,
            gas_limit,
            gas_used,
            timestamp,
            extra_data: Bytes::copy_from_slice(extra),
            base_fee_per_gas,
            block_hash,
            transactions_root,
            withdrawals_root,
            blob_gas_used,
            excess_blob_gas,
        })
    }

    pub fn hash_tree_root(&self) -> B256 {
        let mut fee_recipient = [0u8; 32];
        fee_recipient[..20].copy_from_slice(self.fee_recipient.as_slice());
        let mut fields = vec![
            self.parent_hash.0,
            fee_recipient,
            self.state_root.0,
            self.receipts_root.0,
            merkleize(&pack(&self.logs_bloom), 8),
            self.prev_randao.0,
            u64_root(self.block_number),
            u64_root(self.gas_limit),
            u64_root(self.gas_used),
            u64_root(self.timestamp),
            mix_in_length(merkleize(&pack(&self.extra_data), 1), self.extra_data.len()),
            self.base_fee_per_gas.to_le_bytes::<32>(),
            self.block_hash.0,
            self.transactions_root.0,
            self.withdrawals_root.0,
        ];
        if let (Some(used), Some(excess)) = (self.blob_gas_used, self.excess_blob_gas) {
            fields.push(u64_root(used));
            fields.push(u64_root(excess));
        }
        B256::from(merkleize(&fields, fields.len()))
    }
}

/// A beacon block header with the execution header it commits to and the branch proving it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LightClientHeader {
    pub beacon: BeaconBlockHeader,
    pub execution: ExecutionPayloadHeader,
    pub execution_branch: Vec<B256>,
}

impl LightClientHeader {
    pub fn decode(bytes: &[u8], fork: Fork) -> Result<Self, SszError> {
        let mut r = Reader::new("LightClientHeader", bytes);
        let beacon = BeaconBlockHeader::decode(&mut r)?;
        let exec_offset = r.offset()?;
        let execution_branch = r.branch(depth(EXECUTION_PAYLOAD_GINDEX))?;
        let exec = r.parts(&[exec_offset])?[0];
        Ok(LightClientHeader { beacon, execution: ExecutionPayloadHeader::decode(exec, fork)?, execution_branch })
    }

    /// The empty header of the spec (`LightClientHeader()`, all zero), which an update without
    /// finality carries.
    pub fn is_empty(&self) -> bool {
        let e = &self.execution;
        self.beacon == BeaconBlockHeader::default()
            && self.execution_branch.iter().all(|b| b.is_zero())
            && [
                e.parent_hash,
                e.state_root,
                e.receipts_root,
                e.prev_randao,
                e.block_hash,
                e.transactions_root,
                e.withdrawals_root,
            ]
            .iter()
            .all(|h| h.is_zero())
            && e.fee_recipient.is_zero()
            && e.logs_bloom.iter().all(|b| *b == 0)
            && e.extra_data.is_empty()
            && e.base_fee_per_gas.is_zero()
            && [
                e.block_number,
                e.gas_limit,
                e.gas_used,
                e.timestamp,
                e.blob_gas_used.unwrap_or(0),
                e.excess_blob_gas.unwrap_or(0),
            ]
            .iter()
            .all(|n| *n == 0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncCommittee {
    pub pubkeys: Vec<FixedBytes<48>>,
    pub aggregate_pubkey: FixedBytes<48>,
}

impl SyncCommittee {
    pub fn decode(r: &mut Reader<'_>, size: usize) -> Result<Self, SszError> {
        let mut pubkeys = Vec::with_capacity(size);
        for _ in 0..size {
            pubkeys.push(FixedBytes::<48>::from_slice(r.take(48)?));
        }
        let aggregate_pubkey = FixedBytes::<48>::from_slice(r.take(48)?);
        Ok(SyncCommittee { pubkeys, aggregate_pubkey })
    }

    pub fn is_empty(&self) -> bool {
        self.aggregate_pubkey.is_zero() && self.pubkeys.iter().all(|p| p.is_zero())
    }

    pub fn hash_tree_root(&self) -> B256 {
        let key_root = |k: &FixedBytes<48>| merkleize(&pack(k.as_slice()), 2);
        let keys: Vec<[u8; 32]> = self.pubkeys.iter().map(key_root).collect();
        B256::from(merkleize(&[merkleize(&keys, keys.len()), key_root(&self.aggregate_pubkey)], 2))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncAggregate {
    /// One bit per committee member, little-endian within each byte.
    pub bits: Vec<u8>,
    pub signature: [u8; 96],
}

impl SyncAggregate {
    pub fn participants(&self) -> usize {
        self.bits.iter().map(|b| b.count_ones() as usize).sum()
    }

    pub fn participated(&self, i: usize) -> bool {
        self.bits.get(i / 8).is_some_and(|b| (b >> (i % 8)) & 1 == 1)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    pub header: LightClientHeader,
    pub current_sync_committee: SyncCommittee,
    pub current_sync_committee_branch: Vec<B256>,
}

impl Bootstrap {
    pub fn decode(bytes: &[u8], fork: Fork, preset: Preset) -> Result<Self, SszError> {
        let mut r = Reader::new("LightClientBootstrap", bytes);
        let header_offset = r.offset()?;
        let current_sync_committee = SyncCommittee::decode(&mut r, preset.sync_committee_size)?;
        let current_sync_committee_branch = r.branch(depth(fork.current_sync_committee_gindex()))?;
        let header = r.parts(&[header_offset])?[0];
        Ok(Bootstrap {
            header: LightClientHeader::decode(header, fork)?,
            current_sync_committee,
            current_sync_committee_branch,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub attested_header: LightClientHeader,
    pub next_sync_committee: SyncCommittee,
    pub next_sync_committee_branch: Vec<B256>,
    pub finalized_header: LightClientHeader,
    pub finality_branch: Vec<B256>,
    pub sync_aggregate: SyncAggregate,
    pub signature_slot: u64,
}

impl Update {
    pub fn decode(bytes: &[u8], fork: Fork, preset: Preset) -> Result<Self, SszError> {
        let mut r = Reader::new("LightClientUpdate", bytes);
        let attested_offset = r.offset()?;
        let next_sync_committee = SyncCommittee::decode(&mut r, preset.sync_committee_size)?;
        let next_sync_committee_branch = r.branch(fork.committee_depth())?;
        let finalized_offset = r.offset()?;
        let finality_branch = r.branch(fork.finality_depth())?;
        let bits = r.take(preset.sync_committee_size / 8)?.to_vec();
        let signature = <[u8; 96]>::try_from(r.take(96)?).map_err(|_| err("LightClientUpdate", "signature"))?;
        let signature_slot = r.u64()?;
        let parts = r.parts(&[attested_offset, finalized_offset])?;
        Ok(Update {
            attested_header: LightClientHeader::decode(parts[0], fork)?,
            next_sync_committee,
            next_sync_committee_branch,
            finalized_header: LightClientHeader::decode(parts[1], fork)?,
            finality_branch,
            sync_aggregate: SyncAggregate { bits, signature },
            signature_slot,
        })
    }

    pub fn is_sync_committee_update(&self) -> bool {
        self.next_sync_committee_branch.iter().any(|b| !b.is_zero())
    }

    pub fn is_finality_update(&self) -> bool {
        self.finality_branch.iter().any(|b| !b.is_zero())
    }
}
