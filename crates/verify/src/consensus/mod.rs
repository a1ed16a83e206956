//! The consensus light client: sync-committee signatures and SSZ Merkle branches, per the
//! consensus spec's light-client sync protocol. Pure: bytes in, verified headers out.

pub mod ssz;
pub mod sync;
pub mod types;

pub use sync::{ChainSpec, Committee, ConsensusError, Store};
pub use types::{Bootstrap, Fork, LightClientHeader, Preset, Update};
