//! Networks built in: genesis validators root, genesis time and fork schedule, from each
//! network's published config.yaml (eth-clients/{mainnet,sepolia,hoodi}).
//!
//! The schedule ends at Fulu: a slot after a later fork (Gloas, whose light-client containers
//! change) is refused as unsupported, never verified under the wrong rules.

use alloy_primitives::{B256, b256};

use super::sync::ChainSpec;
use super::types::{Fork, Preset};

/// A network Airlock knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network {
    Mainnet,
    Sepolia,
    Hoodi,
}

impl Network {
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "mainnet" => Some(Network::Mainnet),
            "sepolia" => Some(Network::Sepolia),
            "hoodi" => Some(Network::Hoodi),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Sepolia => "sepolia",
            Network::Hoodi => "hoodi",
        }
    }

    /// Execution-layer chain id, to match against the upstream's.
    pub fn chain_id(self) -> u64 {
        match self {
            Network::Mainnet => 1,
            Network::Sepolia => 11_155_111,
            Network::Hoodi => 560_048,
        }
    }

    /// Unix time of slot 0.
    pub fn genesis_time(self) -> u64 {
        match self {
            Network::Mainnet => 1_606_824_023,
            Network::Sepolia => 1_655_733_600,
            Network::Hoodi => 1_742_213_400,
        }
    }

    pub fn spec(self) -> ChainSpec {
        // (fork version, activation epoch) from genesis through Fulu.
        let (gvr, schedule): (B256, [([u8; 4], u64); 7]) = match self {
            Network::Mainnet => (
                b256!("0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95"),
                [
                    ([0, 0, 0, 0], 0),
                    ([1, 0, 0, 0], 74_240),
                    ([2, 0, 0, 0], 144_896),
                    ([3, 0, 0, 0], 194_048),
                    ([4, 0, 0, 0], 269_568),
                    ([5, 0, 0, 0], 364_032),
                    ([6, 0, 0, 0], 411_392),
                ],
            ),
            Network::Sepolia => (
                b256!("0xd8ea171f3c94aea21ebc42a1ed61052acf3f9209c00e4efbaaddac09ed9b8078"),
                [
                    ([0x90, 0, 0, 0x69], 0),
                    ([0x90, 0, 0, 0x70], 50),
                    ([0x90, 0, 0, 0x71], 100),
                    ([0x90, 0, 0, 0x72], 56_832),
                    ([0x90, 0, 0, 0x73], 132_608),
                    ([0x90, 0, 0, 0x74], 222_464),
                    ([0x90, 0, 0, 0x75], 272_640),
                ],
            ),
            Network::Hoodi => (
                b256!("0x212f13fc4df078b6cb7db228f1c8307566dcecf900867401a92023d7ba99cb5f"),
                [
                    ([0x10, 0, 0x09, 0x10], 0),
                    ([0x20, 0, 0x09, 0x10], 0),
                    ([0x30, 0, 0x09, 0x10], 0),
                    ([0x40, 0, 0x09, 0x10], 0),
                    ([0x50, 0, 0x09, 0x10], 0),
                    ([0x60, 0, 0x09, 0x10], 2_048),
                    ([0x70, 0, 0x09, 0x10], 50_688),
                ],
            ),
        };
        let fork_versions = schedule.iter().map(|(v, e)| (*e, *v)).collect();
        let forks = [Fork::Capella, Fork::Deneb, Fork::Electra, Fork::Fulu]
            .into_iter()
            .zip(&schedule[3..])
            .map(|(f, (_, e))| (*e, f))
            .collect();
        // Forks scheduled past Fulu that this light client does not implement yet.
        let unsupported_from_epoch = match self {
            Network::Sepolia => Some(353_024), // Gloas
            Network::Mainnet | Network::Hoodi => None,
        };
        ChainSpec {
            genesis_validators_root: gvr,
            preset: Preset::MAINNET,
            fork_versions,
            forks,
            unsupported_from_epoch,
        }
    }
}
