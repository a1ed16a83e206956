//! The consensus light client: sync-committee signatures and SSZ Merkle branches, per the
//! consensus spec's light-client sync protocol. Pure: bytes in, verified headers out.

pub mod json;
pub mod networks;
pub mod ssz;
pub mod sync;
pub mod types;

pub use networks::Network;
pub use sync::{ChainSpec, Committee, ConsensusError, Snapshot, Store};
pub use types::{Bootstrap, Fork, LightClientHeader, Preset, Update};
