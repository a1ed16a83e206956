//! Running one transaction in revm: the fork, the block environment, and the transaction as the
//! node would fill it.

use std::convert::Infallible;

use airlock_types::{BlockFacts, TxView};
use alloy_primitives::{Address, Bytes, TxKind, U256};
use revm::context::result::{EVMError, ExecutionResult, ResultAndState};
use revm::context::{BlockEnv, CfgEnv, Context, TxEnv};
use revm::context_interface::either::Either;
use revm::context_interface::transaction::{
    AccessList, AccessListItem, Authorization, RecoveredAuthority, RecoveredAuthorization,
};
use revm::primitives::hardfork::SpecId;
use revm::{ExecuteEvm, InspectEvm, Inspector, MainBuilder, MainContext};

use crate::state::RunDb;

/// EIP-7825's cap on one transaction's gas (Osaka on).
pub(crate) const TX_GAS_CAP: u64 = 1 << 24;

/// What the node would do with missing fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fill {
    /// A transaction to send: nonce and fees as the node would fill them, checks as in a block.
    Send,
    /// eth_call / eth_estimateGas: no nonce check, no fees unless given.
    Call,
}

/// The fork a chain runs at a time. Unknown chains (devnets, anvil) run the newest fork.
pub(crate) fn spec(chain_id: u64, timestamp: u64) -> SpecId {
    // (Prague, Osaka) activation times.
    let (prague, osaka) = match chain_id {
        1 => (1_746_612_311, 1_764_798_551),
        11_155_111 => (1_741_159_776, 1_760_427_360),
        560_048 => (1_742_999_832, 1_761_677_592),
        _ => return SpecId::OSAKA,
    };
    if timestamp >= osaka {
        SpecId::OSAKA
    } else if timestamp >= prague {
        SpecId::PRAGUE
    } else {
        SpecId::CANCUN
    }
}

pub(crate) fn cfg(chain_id: u64, spec: SpecId, fill: Fill, tx: &TxView) -> CfgEnv {
    let mut cfg = CfgEnv::new_with_spec(spec).with_mainnet_gas_params();
    cfg.chain_id = chain_id;
    if fill == Fill::Call {
        cfg.disable_nonce_check = true;
        // As the nodes do: a call that names no price pays none.
        let priced = tx.gas_price.is_some() || tx.max_fee_per_gas.is_some();
        cfg.disable_base_fee = !priced;
    }
    cfg
}

pub(crate) fn block_env(facts: &BlockFacts, cfg: &CfgEnv) -> BlockEnv {
    let mut env = BlockEnv {
        number: U256::from(facts.number),
        beneficiary: facts.coinbase,
        timestamp: U256::from(facts.timestamp),
        gas_limit: facts.gas_limit,
        basefee: facts.base_fee,
        difficulty: U256::ZERO,
        prevrandao: Some(facts.prevrandao),
        ..BlockEnv::default()
    };
    if let Some(excess) = facts.excess_blob_gas {
        env.set_blob_excess_gas_and_price(excess, cfg.blob_base_fee_update_fraction());
    }
    env
}

/// The gas a request gets when it names none: the block's limit, within the fork's cap.
pub(crate) fn default_gas(facts: &BlockFacts, spec: SpecId) -> u64 {
    let cap = if spec >= SpecId::OSAKA { TX_GAS_CAP } else { u64::MAX };
    facts.gas_limit.min(cap)
}

/// The transaction revm runs. `nonce` is the sender's nonce at the head (used when the request
/// names none); `gas` overrides the request's gas (estimation).
pub(crate) fn tx_env(
    tx: &TxView,
    chain_id: u64,
    facts: &BlockFacts,
    spec: SpecId,
    fill: Fill,
    nonce: u64,
    gas: Option<u64>,
) -> TxEnv {
    let access_list = AccessList(
        tx.access_list
            .iter()
            .map(|e| AccessListItem { address: e.address, storage_keys: e.storage_keys.clone() })
            .collect(),
    );
    let authorizations: Vec<_> = tx
        .authorization_list
        .iter()
        .map(|a| {
            let auth = Authorization { chain_id: a.chain_id, address: a.address, nonce: a.nonce };
            let authority = match a.authority {
                Some(addr) => RecoveredAuthority::Valid(addr),
                None => RecoveredAuthority::Invalid,
            };
            Either::Right(RecoveredAuthorization::new_unchecked(auth, authority))
        })
        .collect();
    // The type the node would send: what the request says, or what its fields imply.
    let tx_type = tx.tx_type.unwrap_or(if !authorizations.is_empty() {
        4
    } else if !tx.blob_versioned_hashes.is_empty() {
        3
    } else if tx.gas_price.is_some() {
        if tx.access_list.is_empty() { 0 } else { 1 }
    } else {
        2
    });
    // Fees: as given; for a send the node suggests twice the base fee plus a tip of 1 gwei.
    const TIP: u128 = 1_000_000_000;
    let (gas_price, priority) = match (tx.gas_price, tx.max_fee_per_gas, tx.max_priority_fee_per_gas) {
        (Some(p), _, _) if tx_type < 2 => (p, None),
        (_, Some(max), tip) => (max, Some(tip.unwrap_or(TIP).min(max))),
        (Some(p), None, tip) => (p, Some(tip.unwrap_or(p).min(p))),
        (None, None, tip) => match fill {
            Fill::Call => (0, tip.map(|_| 0)),
            Fill::Send => {
                let tip = tip.unwrap_or(TIP);
                (u128::from(facts.base_fee) * 2 + tip, Some(tip))
            }
        },
    };
    let priority = if tx_type < 2 { None } else { priority.or(Some(0)) };
    TxEnv {
        tx_type,
        caller: tx.from.unwrap_or(Address::ZERO),
        gas_limit: gas.or(tx.gas).unwrap_or_else(|| default_gas(facts, spec)),
        gas_price,
        kind: match tx.to {
            Some(to) => TxKind::Call(to),
            None => TxKind::Create,
        },
        value: tx.value,
        data: tx.data.clone(),
        nonce: tx.nonce.unwrap_or(nonce),
        chain_id: Some(tx.chain_id.unwrap_or(chain_id)),
        access_list,
        gas_priority_fee: priority,
        blob_hashes: tx.blob_versioned_hashes.clone(),
        max_fee_per_blob_gas: tx.max_fee_per_blob_gas.unwrap_or(0),
        authorization_list: authorizations,
    }
}

pub(crate) type RunResult = Result<ResultAndState, EVMError<Infallible>>;

/// Runs `tx` over `db` with `inspector`, and leaves the database unchanged.
pub(crate) fn run<'a, 'b, I>(db: &'a mut RunDb<'b>, cfg: CfgEnv, block: BlockEnv, tx: TxEnv, inspector: I) -> RunResult
where
    I: Inspector<Context<BlockEnv, TxEnv, CfgEnv, &'a mut RunDb<'b>, revm::Journal<&'a mut RunDb<'b>>, ()>>,
{
    let mut evm =
        Context::mainnet().with_db(db).with_cfg(cfg).with_block(block).build_mainnet_with_inspector(inspector);
    evm.inspect_tx(tx)
}

/// A read-only call (token metadata, balances) at the state `db` holds. `None` when it fails.
pub(crate) fn view(
    db: &mut RunDb<'_>,
    chain_id: u64,
    spec: SpecId,
    facts: &BlockFacts,
    to: Address,
    data: Bytes,
) -> Option<Bytes> {
    let mut cfg = CfgEnv::new_with_spec(spec).with_mainnet_gas_params();
    cfg.chain_id = chain_id;
    cfg.disable_nonce_check = true;
    cfg.disable_base_fee = true;
    cfg.disable_balance_check = true;
    let block = block_env(facts, &cfg);
    let tx = TxEnv {
        caller: Address::ZERO,
        gas_limit: 1_000_000,
        gas_price: 0,
        kind: TxKind::Call(to),
        data,
        chain_id: Some(chain_id),
        ..TxEnv::default()
    };
    let mut evm = Context::mainnet().with_db(db).with_cfg(cfg).with_block(block).build_mainnet();
    match evm.transact(tx) {
        Ok(ResultAndState { result: ExecutionResult::Success { output, .. }, .. }) => Some(output.into_data()),
        _ => None,
    }
}
