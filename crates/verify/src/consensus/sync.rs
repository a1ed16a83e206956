//! The light-client sync protocol of the consensus spec (specs/altair/light-client/
//! sync-protocol.md, with the Capella, Deneb and Electra changes): a store initialised from a
//! trusted block root, then advanced by updates signed by the sync committee.

use alloy_primitives::B256;
use blst::BLST_ERROR;
use blst::min_pk::{PublicKey, Signature};

use super::ssz::{hash2, merkleize, valid_branch, valid_normalized_branch};
use super::types::{Bootstrap, EXECUTION_PAYLOAD_GINDEX, Fork, LightClientHeader, Preset, SyncCommittee, Update};

const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
const DOMAIN_SYNC_COMMITTEE: [u8; 4] = [7, 0, 0, 0];
const MIN_SYNC_COMMITTEE_PARTICIPANTS: usize = 1;

/// A network's parameters: genesis validators root, preset, fork schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainSpec {
    pub genesis_validators_root: B256,
    pub preset: Preset,
    /// (activation epoch, fork version) for every fork since genesis, oldest first.
    pub fork_versions: Vec<(u64, [u8; 4])>,
    /// Activation epochs of the forks the light client decodes.
    pub forks: Vec<(u64, Fork)>,
    /// First epoch of a fork this light client does not know (its containers may differ):
    /// slots from there on are refused, never verified under the wrong rules.
    pub unsupported_from_epoch: Option<u64>,
}

impl ChainSpec {
    pub fn epoch(&self, slot: u64) -> u64 {
        slot / self.preset.slots_per_epoch
    }

    pub fn fork_version(&self, epoch: u64) -> [u8; 4] {
        self.fork_versions.iter().rev().find(|(e, _)| *e <= epoch).map(|(_, v)| *v).unwrap_or([0; 4])
    }

    /// The fork at `slot`, or `None` before Capella or from an unknown later fork on.
    pub fn fork_at_slot(&self, slot: u64) -> Option<Fork> {
        let epoch = self.epoch(slot);
        if self.unsupported_from_epoch.is_some_and(|e| epoch >= e) {
            return None;
        }
        self.forks.iter().rev().find(|(e, _)| *e <= epoch).map(|(_, f)| *f)
    }

    fn period(&self, slot: u64) -> u64 {
        self.preset.period(slot)
    }
}

/// Why the light client refused something. Each is an attack or a broken beacon API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsensusError {
    #[error("the bootstrap header's root {got} is not the trusted checkpoint {want}")]
    CheckpointMismatch { want: B256, got: B256 },
    #[error("slot {0} is outside the forks this light client supports (Capella to Fulu)")]
    UnsupportedSlot(u64),
    #[error("the execution payload branch of the header at slot {0} does not verify against its body root")]
    ExecutionBranch(u64),
    #[error("the current sync committee branch does not verify against the bootstrap's state root")]
    CurrentCommitteeBranch,
    #[error("the next sync committee branch does not verify against the attested state root")]
    NextCommitteeBranch,
    #[error("the finality branch does not verify against the attested state root")]
    FinalityBranch,
    #[error("the update's next sync committee differs from the one already known for that period")]
    CommitteeMismatch,
    #[error("a sync committee public key is not a valid BLS12-381 G1 point")]
    BadPublicKey,
    #[error("only {got} sync committee members signed (at least {need} needed)")]
    TooFewParticipants { got: usize, need: usize },
    #[error(
        "slots out of order: current {current} ≥ signature {signature} > attested {attested} ≥ finalized {finalized} does not hold"
    )]
    SlotOrder { current: u64, signature: u64, attested: u64, finalized: u64 },
    #[error("signature period {signature} is not the store's period {store} (or the next, when known)")]
    WrongPeriod { signature: u64, store: u64 },
    #[error(
        "the update is not newer than the finalized header (slot {attested} ≤ {finalized}) and brings no new committee"
    )]
    NotNewer { attested: u64, finalized: u64 },
    #[error("an update without finality must carry an empty finalized header")]
    UnexpectedFinalizedHeader,
    #[error("an update without a committee branch must carry an empty next committee")]
    UnexpectedNextCommittee,
    #[error("the sync committee's aggregate signature does not verify (fork version {fork_version:?})")]
    BadSignature { fork_version: [u8; 4] },
    #[error("the update's finalized period is not the store's period")]
    FinalizedPeriod,
}

/// A sync committee, its public keys checked and decompressed once.
#[derive(Debug, Clone)]
pub struct Committee {
    pub ssz: SyncCommittee,
    keys: Vec<PublicKey>,
}

impl Committee {
    pub fn new(ssz: SyncCommittee) -> Result<Self, ConsensusError> {
        let keys = ssz
            .pubkeys
            .iter()
            .map(|k| PublicKey::key_validate(k.as_slice()).map_err(|_| ConsensusError::BadPublicKey))
            .collect::<Result<_, _>>()?;
        Ok(Committee { ssz, keys })
    }

    /// The spec's empty `SyncCommittee()` means "not known yet": `None`.
    pub fn known(ssz: &SyncCommittee) -> Result<Option<Self>, ConsensusError> {
        if ssz.is_empty() { Ok(None) } else { Committee::new(ssz.clone()).map(Some) }
    }
}

/// What the light client knows: the spec's LightClientStore.
#[derive(Debug, Clone)]
pub struct Store {
    pub finalized_header: LightClientHeader,
    pub current_sync_committee: Committee,
    pub next_sync_committee: Option<Committee>,
    pub best_valid_update: Option<Update>,
    pub optimistic_header: LightClientHeader,
    /// The newest header signed by at least 2/3 of the committee (or the finalized one). The
    /// spec's optimistic header may rest on a single signature right after a bootstrap; state
    /// that Airlock vouches for rests on this one instead.
    pub supermajority_header: LightClientHeader,
    pub previous_max_active_participants: usize,
    pub current_max_active_participants: usize,
}

/// What is kept of a store across restarts: everything but the best pending update (which only
/// speeds up a forced update, and is fetched again).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub finalized_header: LightClientHeader,
    pub optimistic_header: LightClientHeader,
    #[serde(default)]
    pub supermajority_header: Option<LightClientHeader>,
    pub current_sync_committee: SyncCommittee,
    pub next_sync_committee: Option<SyncCommittee>,
    pub previous_max_active_participants: usize,
    pub current_max_active_participants: usize,
}

impl Store {
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            finalized_header: self.finalized_header.clone(),
            optimistic_header: self.optimistic_header.clone(),
            supermajority_header: Some(self.supermajority_header.clone()),
            current_sync_committee: self.current_sync_committee.ssz.clone(),
            next_sync_committee: self.next_sync_committee.as_ref().map(|c| c.ssz.clone()),
            previous_max_active_participants: self.previous_max_active_participants,
            current_max_active_participants: self.current_max_active_participants,
        }
    }

    /// A store from a snapshot this client wrote itself after verifying it.
    pub fn restore(s: Snapshot) -> Result<Self, ConsensusError> {
        Ok(Store {
            supermajority_header: s.supermajority_header.unwrap_or_else(|| s.finalized_header.clone()),
            finalized_header: s.finalized_header,
            optimistic_header: s.optimistic_header,
            current_sync_committee: Committee::new(s.current_sync_committee)?,
            next_sync_committee: s.next_sync_committee.map(Committee::new).transpose()?,
            best_valid_update: None,
            previous_max_active_participants: s.previous_max_active_participants,
            current_max_active_participants: s.current_max_active_participants,
        })
    }
}

/// is_valid_light_client_header, Capella on.
pub fn check_header(spec: &ChainSpec, header: &LightClientHeader) -> Result<(), ConsensusError> {
    let slot = header.beacon.slot;
    spec.fork_at_slot(slot).ok_or(ConsensusError::UnsupportedSlot(slot))?;
    let root = header.execution.hash_tree_root();
    if !valid_branch(root, &header.execution_branch, EXECUTION_PAYLOAD_GINDEX, header.beacon.body_root) {
        return Err(ConsensusError::ExecutionBranch(slot));
    }
    Ok(())
}

impl Store {
    /// initialize_light_client_store: trust `trusted_block_root`, check the bootstrap against it.
    pub fn bootstrap(spec: &ChainSpec, trusted_block_root: B256, b: Bootstrap) -> Result<Self, ConsensusError> {
        check_header(spec, &b.header)?;
        let got = b.header.beacon.hash_tree_root();
        if got != trusted_block_root {
            return Err(ConsensusError::CheckpointMismatch { want: trusted_block_root, got });
        }
        let fork =
            spec.fork_at_slot(b.header.beacon.slot).ok_or(ConsensusError::UnsupportedSlot(b.header.beacon.slot))?;
        if !valid_normalized_branch(
            b.current_sync_committee.hash_tree_root(),
            &b.current_sync_committee_branch,
            fork.current_sync_committee_gindex(),
            b.header.beacon.state_root,
        ) {
            return Err(ConsensusError::CurrentCommitteeBranch);
        }
        Ok(Store {
            supermajority_header: b.header.clone(),
            finalized_header: b.header.clone(),
            current_sync_committee: Committee::new(b.current_sync_committee)?,
            next_sync_committee: None,
            best_valid_update: None,
            optimistic_header: b.header,
            previous_max_active_participants: 0,
            current_max_active_participants: 0,
        })
    }

    fn safety_threshold(&self) -> usize {
        self.previous_max_active_participants.max(self.current_max_active_participants) / 2
    }

    /// validate_light_client_update. Returns the committee that signed, for the caller's use.
    pub fn validate(&self, spec: &ChainSpec, u: &Update, current_slot: u64) -> Result<(), ConsensusError> {
        let participants = u.sync_aggregate.participants();
        if participants < MIN_SYNC_COMMITTEE_PARTICIPANTS {
            return Err(ConsensusError::TooFewParticipants {
                got: participants,
                need: MIN_SYNC_COMMITTEE_PARTICIPANTS,
            });
        }
        check_header(spec, &u.attested_header)?;
        let attested = u.attested_header.beacon.slot;
        let finalized = u.finalized_header.beacon.slot;
        if !(current_slot >= u.signature_slot && u.signature_slot > attested && attested >= finalized) {
            return Err(ConsensusError::SlotOrder {
                current: current_slot,
                signature: u.signature_slot,
                attested,
                finalized,
            });
        }
        let store_period = spec.period(self.finalized_header.beacon.slot);
        let signature_period = spec.period(u.signature_slot);
        let next_known = self.next_sync_committee.is_some();
        let period_ok = if next_known {
            signature_period == store_period || signature_period == store_period + 1
        } else {
            signature_period == store_period
        };
        if !period_ok {
            return Err(ConsensusError::WrongPeriod { signature: signature_period, store: store_period });
        }
        let attested_period = spec.period(attested);
        let brings_next = !next_known && u.is_sync_committee_update() && attested_period == store_period;
        if !(attested > self.finalized_header.beacon.slot || brings_next) {
            return Err(ConsensusError::NotNewer { attested, finalized: self.finalized_header.beacon.slot });
        }
        let attested_fork = spec.fork_at_slot(attested).ok_or(ConsensusError::UnsupportedSlot(attested))?;

        if !u.is_finality_update() {
            if !u.finalized_header.is_empty() {
                return Err(ConsensusError::UnexpectedFinalizedHeader);
            }
        } else {
            let finalized_root = if finalized == 0 {
                if !u.finalized_header.is_empty() {
                    return Err(ConsensusError::UnexpectedFinalizedHeader);
                }
                B256::ZERO
            } else {
                check_header(spec, &u.finalized_header)?;
                u.finalized_header.beacon.hash_tree_root()
            };
            if !valid_normalized_branch(
                finalized_root,
                &u.finality_branch,
                attested_fork.finalized_root_gindex(),
                u.attested_header.beacon.state_root,
            ) {
                return Err(ConsensusError::FinalityBranch);
            }
        }

        if !u.is_sync_committee_update() {
            if !u.next_sync_committee.is_empty() {
                return Err(ConsensusError::UnexpectedNextCommittee);
            }
        } else {
            if attested_period == store_period
                && let Some(next) = &self.next_sync_committee
                && next.ssz != u.next_sync_committee
            {
                return Err(ConsensusError::CommitteeMismatch);
            }
            if !valid_normalized_branch(
                u.next_sync_committee.hash_tree_root(),
                &u.next_sync_committee_branch,
                attested_fork.next_sync_committee_gindex(),
                u.attested_header.beacon.state_root,
            ) {
                return Err(ConsensusError::NextCommitteeBranch);
            }
        }

        let committee = if signature_period == store_period {
            &self.current_sync_committee
        } else {
            self.next_sync_committee
                .as_ref()
                .ok_or(ConsensusError::WrongPeriod { signature: signature_period, store: store_period })?
        };
        let keys: Vec<&PublicKey> = committee
            .keys
            .iter()
            .enumerate()
            .filter(|(i, _)| u.sync_aggregate.participated(*i))
            .map(|(_, k)| k)
            .collect();
        let fork_version = spec.fork_version(spec.epoch(u.signature_slot.max(1) - 1));
        let signing_root =
            signing_root(u.attested_header.beacon.hash_tree_root(), fork_version, spec.genesis_validators_root);
        let ok = Signature::sig_validate(&u.sync_aggregate.signature, true)
            .map(|sig| {
                sig.fast_aggregate_verify(false, signing_root.as_slice(), DST, &keys) == BLST_ERROR::BLST_SUCCESS
            })
            .unwrap_or(false);
        if !ok {
            return Err(ConsensusError::BadSignature { fork_version });
        }
        Ok(())
    }

    /// process_light_client_update.
    pub fn process(&mut self, spec: &ChainSpec, u: &Update, current_slot: u64) -> Result<(), ConsensusError> {
        self.validate(spec, u, current_slot)?;
        if self.best_valid_update.as_ref().is_none_or(|best| is_better_update(spec, u, best)) {
            self.best_valid_update = Some(u.clone());
        }
        let participants = u.sync_aggregate.participants();
        self.current_max_active_participants = self.current_max_active_participants.max(participants);
        if participants > self.safety_threshold() && u.attested_header.beacon.slot > self.optimistic_header.beacon.slot
        {
            self.optimistic_header = u.attested_header.clone();
        }
        let size = u.sync_aggregate.bits.len() * 8;
        if participants * 3 >= size * 2 && u.attested_header.beacon.slot > self.supermajority_header.beacon.slot {
            self.supermajority_header = u.attested_header.clone();
        }
        let finalized_slot = u.finalized_header.beacon.slot;
        let has_finalized_next = self.next_sync_committee.is_none()
            && u.is_sync_committee_update()
            && u.is_finality_update()
            && spec.period(finalized_slot) == spec.period(u.attested_header.beacon.slot);
        if participants * 3 >= size * 2 && (finalized_slot > self.finalized_header.beacon.slot || has_finalized_next) {
            self.apply(spec, u)?;
            self.best_valid_update = None;
        }
        Ok(())
    }

    /// apply_light_client_update.
    fn apply(&mut self, spec: &ChainSpec, u: &Update) -> Result<(), ConsensusError> {
        let store_period = spec.period(self.finalized_header.beacon.slot);
        let finalized_period = spec.period(u.finalized_header.beacon.slot);
        if self.next_sync_committee.is_none() {
            if finalized_period != store_period {
                return Err(ConsensusError::FinalizedPeriod);
            }
            self.next_sync_committee = Committee::known(&u.next_sync_committee)?;
        } else if finalized_period == store_period + 1 {
            let next = Committee::known(&u.next_sync_committee)?;
            self.current_sync_committee =
                std::mem::replace(&mut self.next_sync_committee, next).expect("checked is_some above");
            self.previous_max_active_participants = self.current_max_active_participants;
            self.current_max_active_participants = 0;
        }
        if u.finalized_header.beacon.slot > self.finalized_header.beacon.slot {
            self.finalized_header = u.finalized_header.clone();
            if self.finalized_header.beacon.slot > self.optimistic_header.beacon.slot {
                self.optimistic_header = self.finalized_header.clone();
            }
            if self.finalized_header.beacon.slot > self.supermajority_header.beacon.slot {
                self.supermajority_header = self.finalized_header.clone();
            }
        }
        Ok(())
    }

    /// process_light_client_store_force_update: after a period without finality, take the best
    /// update seen so far.
    pub fn force_update(&mut self, spec: &ChainSpec, current_slot: u64) -> Result<(), ConsensusError> {
        let timeout = spec.preset.slots_per_epoch * spec.preset.epochs_per_sync_committee_period;
        if current_slot > self.finalized_header.beacon.slot + timeout
            && let Some(mut best) = self.best_valid_update.take()
        {
            if best.finalized_header.beacon.slot <= self.finalized_header.beacon.slot {
                best.finalized_header = best.attested_header.clone();
            }
            self.apply(spec, &best)?;
        }
        Ok(())
    }
}

/// compute_signing_root(header, compute_domain(DOMAIN_SYNC_COMMITTEE, fork_version, gvr)).
pub fn signing_root(object_root: B256, fork_version: [u8; 4], genesis_validators_root: B256) -> B256 {
    let mut version = [0u8; 32];
    version[..4].copy_from_slice(&fork_version);
    let fork_data_root = merkleize(&[version, genesis_validators_root.0], 2);
    let mut domain = [0u8; 32];
    domain[..4].copy_from_slice(&DOMAIN_SYNC_COMMITTEE);
    domain[4..].copy_from_slice(&fork_data_root[..28]);
    B256::from(hash2(&object_root.0, &domain))
}

/// is_better_update: the spec's ranking of updates for the force-update fallback.
pub fn is_better_update(spec: &ChainSpec, new: &Update, old: &Update) -> bool {
    let max = new.sync_aggregate.bits.len() * 8;
    let (n, o) = (new.sync_aggregate.participants(), old.sync_aggregate.participants());
    let (n_super, o_super) = (n * 3 >= max * 2, o * 3 >= max * 2);
    if n_super != o_super {
        return n_super;
    }
    if !n_super && n != o {
        return n > o;
    }
    let relevant = |u: &Update| {
        u.is_sync_committee_update() && spec.period(u.attested_header.beacon.slot) == spec.period(u.signature_slot)
    };
    if relevant(new) != relevant(old) {
        return relevant(new);
    }
    if new.is_finality_update() != old.is_finality_update() {
        return new.is_finality_update();
    }
    if new.is_finality_update() {
        let committee_final =
            |u: &Update| spec.period(u.finalized_header.beacon.slot) == spec.period(u.attested_header.beacon.slot);
        if committee_final(new) != committee_final(old) {
            return committee_final(new);
        }
    }
    if n != o {
        return n > o;
    }
    if new.attested_header.beacon.slot != old.attested_header.beacon.slot {
        return new.attested_header.beacon.slot < old.attested_header.beacon.slot;
    }
    new.signature_slot < old.signature_slot
}
