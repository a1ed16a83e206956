//! The SimulationReport: what a held request would do, as computed by running it on verified
//! state. Rules, the model and the prompt all read this and nothing else about the execution.
//!
//! Amounts are decimal strings (exact in every JSON reader); lists are sorted so that the same
//! execution always gives the same JSON.

use alloy_primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};

use crate::{decimal_opt_u256, decimal_u256};

/// What running a request on the verified head showed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimulationReport {
    pub chain_id: u64,
    /// The block whose state the request ran on; it runs as if in the block after it.
    pub block: BlockFacts,
    /// The transaction as simulated: for unsigned requests, with the fields the node would fill.
    pub from: Address,
    /// None for a contract creation.
    pub to: Option<Address>,
    #[serde(with = "decimal_u256")]
    pub value: U256,
    /// The sender's ETH balance before the request.
    #[serde(with = "decimal_u256", default)]
    pub from_balance: U256,
    pub nonce: u64,
    pub gas_limit: u64,
    /// The calldata as a named call; none for a plain transfer or a creation.
    #[serde(default)]
    pub call: Option<DecodedCall>,
    pub outcome: Outcome,
    pub gas_used: u64,
    /// What the sender pays in fees at the simulated gas price (gas used × effective price).
    #[serde(with = "decimal_u256")]
    pub fee: U256,
    /// Every movement of value that the execution keeps (reverted frames are left out), in
    /// execution order: ETH (the transaction's value, internal calls, self-destructs) and tokens
    /// (from the Transfer / TransferSingle / TransferBatch / Deposit / Withdrawal logs).
    pub transfers: Vec<Transfer>,
    /// Net changes per address and asset, from `transfers`; fees are not included.
    pub asset_changes: Vec<AssetChange>,
    /// Allowances and operator approvals the request sets or changes.
    pub approvals: Vec<ApprovalChange>,
    /// Every call frame, in execution order: calls, delegatecalls, static calls, creations.
    pub calls: Vec<CallFact>,
    /// Contracts the request creates.
    pub created: Vec<Address>,
    /// What each address in the report is after the request (EOA, contract, delegated EOA).
    #[serde(default)]
    pub account_kinds: std::collections::BTreeMap<Address, AccountKind>,
    /// EIP-7702 delegations the request sets, changes or clears.
    pub delegations: Vec<DelegationChange>,
    /// Token balances read before and after that do not match what the logs say: a token that
    /// lies in its events, or one with fees or rebasing. Each is a sentence a person can read.
    pub mismatches: Vec<String>,
    /// Outcomes under other block environments that differ from this one (evasion check).
    #[serde(default)]
    pub divergences: Vec<Divergence>,
    /// Where the sender's assets end up: direct recipients, and where the contracts it paid sent
    /// the ETH on (the value really goes there).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub final_recipients: Vec<FinalRecipient>,
    /// Environments of the evasion check that could not be tried, and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
    /// The same sender's sends that ran before this one, on the state they leave: queued in
    /// Airlock (held or approved) or sent and not yet in a block.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub queued_ahead: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// The block a simulation ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockFacts {
    pub number: u64,
    pub hash: B256,
    pub timestamp: u64,
    pub base_fee: u64,
    pub gas_limit: u64,
    pub coinbase: Address,
    pub prevrandao: B256,
    /// None before Cancun.
    pub excess_blob_gas: Option<u64>,
    /// Gas the block used: with its limit and base fee it fixes the next block's base fee.
    #[serde(default)]
    pub gas_used: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: OutcomeStatus,
    /// Why it reverted or halted, decoded where possible: `Error(string)`, `Panic(uint256)`,
    /// a custom error by selector, or the halt reason.
    pub reason: Option<String>,
    /// The raw return or revert data.
    pub output: Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeStatus {
    Success,
    /// REVERT: the transaction is included, pays its gas, and changes nothing else.
    Revert,
    /// An exceptional halt: out of gas, invalid opcode, stack errors...
    Halt,
}

/// What moves: ETH or a token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Asset {
    pub kind: AssetKind,
    /// The token contract; none for ETH.
    pub token: Option<Address>,
    /// ERC-721 and ERC-1155 token id.
    #[serde(with = "decimal_opt_u256")]
    pub token_id: Option<U256>,
    /// As the token reports it (untrusted: anyone can name a token "USDC").
    pub symbol: Option<String>,
    pub decimals: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    Eth,
    Erc20,
    Erc721,
    Erc1155,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    pub asset: Asset,
    pub from: Address,
    pub to: Address,
    #[serde(with = "decimal_u256")]
    pub amount: U256,
    /// The log it was read from (`Transfer`, `TransferSingle`, `TransferBatch`, `Deposit`,
    /// `Withdrawal`); none for ETH and for what a signature authorises.
    #[serde(default)]
    pub event: Option<String>,
}

/// Where some of the sender's assets end up within the transaction: a direct recipient, or
/// where a contract the sender paid sent the ETH on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalRecipient {
    pub address: Address,
    pub asset: Asset,
    #[serde(with = "decimal_u256")]
    pub amount: U256,
    /// The contract the sender paid, which passed it on; none for a direct recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Address>,
}

/// How one address's holdings of one asset change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetChange {
    pub address: Address,
    pub asset: Asset,
    #[serde(with = "decimal_u256")]
    pub sent: U256,
    #[serde(with = "decimal_u256")]
    pub received: U256,
    /// The sender's balance of this token before the transaction (ERC-20, read on the same
    /// state); none for other addresses and assets (the sender's ETH is `from_balance`).
    #[serde(default, with = "decimal_opt_u256", skip_serializing_if = "Option::is_none")]
    pub before: Option<U256>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalChange {
    pub kind: ApprovalKind,
    /// The token (for Permit2: the token the allowance is for).
    pub token: Address,
    /// As the token reports them (untrusted).
    pub symbol: Option<String>,
    pub decimals: Option<u8>,
    pub owner: Address,
    pub spender: Address,
    pub spender_kind: AccountKind,
    /// ERC-721 single-token approval.
    #[serde(with = "decimal_opt_u256")]
    pub token_id: Option<U256>,
    /// Allowance before and after (ERC-20, Permit2); 1/0 for operator approvals.
    #[serde(with = "decimal_opt_u256")]
    pub before: Option<U256>,
    #[serde(with = "decimal_u256")]
    pub after: U256,
    /// Permit2 expiration (unix seconds).
    pub expiration: Option<u64>,
    /// The allowance is the largest value the type holds: unlimited in practice.
    pub unlimited: bool,
}

impl ApprovalChange {
    /// What the approval grants, without what Airlock learned about it (symbols, kinds, the
    /// value before): two reports grant the same approvals when these are equal.
    pub fn grant(&self) -> (ApprovalKind, Address, Address, Address, Option<U256>, U256) {
        (self.kind, self.token, self.owner, self.spender, self.token_id, self.after)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    /// ERC-20 `approve` / `increaseAllowance` / EIP-2612 `permit`.
    Erc20,
    /// ERC-721 `approve` of one token.
    Erc721,
    /// `setApprovalForAll` (ERC-721 or ERC-1155): every token of the collection.
    ApprovalForAll,
    /// Permit2 `approve` or `permit`.
    Permit2,
}

/// What an address is at the simulated block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// No code: a key holder (or an address nobody holds).
    Eoa,
    Contract,
    /// An EOA whose code is an EIP-7702 delegation: it runs someone's contract code.
    Delegated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFact {
    /// 0 for the transaction's own call.
    pub depth: u64,
    pub kind: CallKind,
    pub from: Address,
    /// The account whose storage and balance the frame uses (the created address for creates).
    pub to: Address,
    /// Whose code runs: differs from `to` for delegatecall and callcode, and for 7702 accounts.
    pub code_address: Address,
    #[serde(with = "decimal_u256")]
    pub value: U256,
    /// The first four bytes of the input, when there are four.
    pub selector: Option<Bytes>,
    /// The frame reverted or halted (its effects are undone).
    pub failed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    Call,
    StaticCall,
    DelegateCall,
    CallCode,
    Create,
    Create2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegationChange {
    pub authority: Address,
    /// The code the account delegated to before; none if it had none.
    pub before: Option<Address>,
    /// None when the delegation is cleared.
    pub after: Option<Address>,
}

/// A different result under another block environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Divergence {
    /// What was varied, in words ("timestamp + 1 hour").
    pub environment: String,
    /// What differs, in words.
    pub difference: String,
}

/// Calldata as a named call, from the selector and the ABI data shipped in rules/abi.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecodedCall {
    /// The contract called (for calls inside a multicall or batch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Address>,
    /// The first four bytes (for a Universal Router command: its one command byte).
    pub selector: Bytes,
    /// The function as the ABI data names it, e.g. `transfer(address to, uint256 amount)`; none
    /// for a selector Airlock does not know, whose data is then shown raw in `raw`.
    pub function: Option<String>,
    /// Which file of rules/abi it comes from.
    pub source: Option<String>,
    pub arguments: Vec<Argument>,
    /// Calls made on the caller's behalf by a multicall, a batch executor or router commands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inner: Vec<DecodedCall>,
    /// The arguments, undecoded, when the selector is unknown or the data does not fit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<Bytes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Argument {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// Addresses and bytes as hex, integers as decimal strings, tuples as objects by name.
    pub value: serde_json::Value,
}

/// What a signature request would authorise: the approvals and transfers a contract would
/// accept on the strength of the signature, decoded from EIP-712 typed data (EIP-2612 Permit,
/// Permit2, Seaport orders), or the message for personal_sign and eth_sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignatureReport {
    pub kind: SignatureKind,
    /// The typed data's primary type, as sent.
    pub primary_type: Option<String>,
    /// The contract that would accept the signature (the typed data's domain).
    pub verifying_contract: Option<Address>,
    pub chain_id: Option<u64>,
    /// Allowances the signature grants (Permit, Permit2 PermitSingle / PermitBatch).
    pub approvals: Vec<ApprovalChange>,
    /// Movements it authorises (Permit2 transfers, Seaport offer and consideration items).
    /// For an order, `to` is the zero address where whoever fulfils the order receives.
    pub transfers: Vec<Transfer>,
    /// Until when the signature can be used (unix seconds).
    pub deadline: Option<u64>,
    /// Plain-language facts that do not fit the lists.
    pub notes: Vec<String>,
    /// Fields that could not be read; each was taken as the worst case (an unknown spender,
    /// an unlimited amount, an item given away), never skipped.
    #[serde(default)]
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureKind {
    /// EIP-2612 `Permit`: an ERC-20 allowance without a transaction.
    Permit,
    /// Permit2 `PermitSingle` / `PermitBatch`: allowances held by Permit2.
    Permit2Allowance,
    /// Permit2 `PermitTransferFrom` / `PermitBatchTransferFrom` (witness forms too): a one-time
    /// transfer the spender can execute.
    Permit2Transfer,
    /// A Seaport order: what the signer offers and what it asks for.
    SeaportOrder,
    /// Typed data of a shape Airlock does not know: shown raw.
    OtherTypedData,
    /// personal_sign: a message.
    Message,
    /// eth_sign: a raw 32-byte hash, which can be anything, a transaction included.
    RawHash,
}

/// How much a finding matters. Ordered: `Info < Warn < Danger`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warn,
    Danger,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warn => "warn",
            Severity::Danger => "danger",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warn" => Some(Severity::Warn),
            "danger" => Some(Severity::Danger),
            _ => None,
        }
    }
}

/// What one rule found about one request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule's id (`unlimited-approval`).
    pub rule: String,
    pub severity: Severity,
    /// The rule's message, filled from the facts.
    pub message: String,
    /// The facts that made it fire.
    pub evidence: serde_json::Value,
}

/// What the local history knows about one address the person has dealt with. Kept in sled on
/// this machine only; it feeds the first-interaction and address-poisoning rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterparty {
    pub first_seen: crate::Timestamp,
    pub last_seen: crate::Timestamp,
    /// Forwarded requests that sent it ETH or tokens.
    pub sends: u64,
    /// Forwarded requests that gave it an allowance or operator approval.
    pub approvals: u64,
    /// The largest ETH value (wei) ever sent to it in one request.
    #[serde(with = "decimal_u256")]
    pub max_eth_sent: U256,
    /// The largest token amount (raw units) ever sent to it in one request.
    #[serde(with = "decimal_u256")]
    pub max_token_sent: U256,
}

/// The model's factor: a plain-language account of the request and the concerns it sees.
/// Advisory: shown apart from the rule findings; it can raise an item to `warn`, never lower it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Explanation {
    pub summary: String,
    pub concerns: Vec<String>,
    /// `template`, `candle:<model file>` or `endpoint:<url>`.
    pub source: String,
    /// `done`, `generating` (text arrives as it is written), or `failed` (the template's text
    /// stays, `error` says why).
    pub state: ExplanationState,
    /// Amounts, addresses or tokens the text names that are not in the report: the text is not
    /// grounded in the facts, and the page says so.
    #[serde(default)]
    pub ungrounded: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExplanationState {
    Done,
    Generating,
    Failed,
}

/// What a transaction offers to pay for gas, what the chain asks, and Airlock's suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GasAdvice {
    /// The next block's base fee, by EIP-1559's rule from the verified head (its base fee, gas
    /// used and gas limit).
    #[serde(with = "decimal_u256")]
    pub next_base_fee: U256,
    /// The median tip of recent non-empty blocks (the upstream's `eth_feeHistory`, 50th
    /// percentile). Advisory: fee history is not proven. None when there is none.
    #[serde(with = "decimal_opt_u256")]
    pub recent_tip: Option<U256>,
    /// The suggested tip: the recent median, 1 gwei when there is none, at most 10 gwei.
    #[serde(with = "decimal_u256")]
    pub suggested_tip: U256,
    /// The suggested max fee: twice the next base fee plus the suggested tip.
    #[serde(with = "decimal_u256")]
    pub suggested_max_fee: U256,
    /// The request's own max fee and tip (a legacy gas price counts as both); None when it
    /// names none and the node fills them.
    #[serde(with = "decimal_opt_u256")]
    pub max_fee: Option<U256>,
    #[serde(with = "decimal_opt_u256")]
    pub tip: Option<U256>,
    /// The gas the amounts below are figured on: the simulation's gas used, else the
    /// request's gas limit (21000 when it names none).
    pub gas: u64,
    /// What it would pay in the next block with its own fields; None when it names none.
    #[serde(with = "decimal_opt_u256")]
    pub would_pay: Option<U256>,
    /// What it would pay in the next block with the suggestion.
    #[serde(with = "decimal_u256")]
    pub would_pay_suggested: U256,
    /// The fields can be replaced before forwarding (an unsigned `eth_sendTransaction`); a
    /// signed transaction cannot change.
    pub adjustable: bool,
    /// The person replaced the request's fees with the suggestion.
    #[serde(default)]
    pub accepted: bool,
}

/// An allowance or operator approval the person granted through Airlock that is still open:
/// from the audit log, with its current value read on the chain's (verified) state, and the
/// transaction that revokes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenApproval {
    /// A short name for it, stable while it stands (kind, owner, token, spender, token id):
    /// a `revoke` intent may name it as `approval`.
    pub id: String,
    pub kind: ApprovalKind,
    pub owner: Address,
    /// The token or collection (for Permit2: the token the allowance is for).
    pub token: Address,
    /// As the token reports them (untrusted).
    pub symbol: Option<String>,
    pub decimals: Option<u8>,
    pub spender: Address,
    /// ERC-721 single-token approval.
    #[serde(with = "decimal_opt_u256")]
    pub token_id: Option<U256>,
    /// The allowance now; 1 for an operator or single-token approval that stands.
    #[serde(with = "decimal_u256")]
    pub current: U256,
    pub unlimited: bool,
    /// Permit2: when the allowance expires (unix seconds).
    pub expiration: Option<u64>,
    /// The held request that granted it, and when it was decided.
    pub granted_by: String,
    pub granted_at: Option<crate::Timestamp>,
    /// A transaction that sets it to zero, for the person's wallet to send.
    pub revoke: RevokeTx,
}

/// An unsigned transaction: what a wallet needs to send it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevokeTx {
    pub from: Address,
    pub to: Address,
    pub data: Bytes,
}

/// `airlock approvals`: the open approvals, and on what state they were read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalsView {
    pub verification: crate::Verification,
    pub approvals: Vec<OpenApproval>,
    /// Approvals from the log whose current value could not be read, each with why.
    pub unreadable: Vec<String>,
}

/// `airlock balances` / the agent's `balances` tool: what each account holds of ETH and of the
/// listed (and previously touched) tokens, read on the newest (verified) head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancesView {
    pub verification: crate::Verification,
    /// The block they were read at.
    pub block: Option<u64>,
    pub accounts: Vec<AccountBalances>,
    /// Tokens whose balance could not be read, each with why.
    pub unreadable: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountBalances {
    pub address: Address,
    #[serde(with = "decimal_u256")]
    pub eth: U256,
    /// The tokens it holds (none with a zero balance).
    pub tokens: Vec<TokenBalance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBalance {
    pub token: Address,
    /// From the token list (trusted) when listed, else as the token reports it.
    pub symbol: Option<String>,
    pub decimals: Option<u8>,
    #[serde(with = "decimal_u256")]
    pub balance: U256,
}

/// A swap through a Uniswap router, quoted on the same (verified) state: what the person's
/// route is expected to give, what the request accepts at least, and the other routes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapQuote {
    pub router: Address,
    /// The token paid in (WETH for ETH) and the token out (WETH for ETH).
    pub token_in: Address,
    pub token_out: Address,
    /// As the token reports them (untrusted).
    pub symbol_out: Option<String>,
    pub decimals_out: Option<u8>,
    #[serde(with = "decimal_u256")]
    pub amount_in: U256,
    /// The least the request accepts (amountOutMin).
    #[serde(with = "decimal_u256")]
    pub min_out: U256,
    /// What the person's route gives on this state (the V2 router's own getAmountsOut, or what
    /// the simulation gave the recipient).
    #[serde(with = "decimal_u256")]
    pub expected_out: U256,
    /// Every route quoted, the person's first.
    pub routes: Vec<SwapRoute>,
    /// Exact-output swaps: the most the request pays in (amountInMax), and what the simulation
    /// shows it paying; None for exact-input swaps.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "decimal_opt_u256")]
    pub max_in: Option<U256>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "decimal_opt_u256")]
    pub expected_in: Option<U256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol_in: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decimals_in: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapRoute {
    /// Which pools: "Uniswap V2" or "Uniswap V3".
    #[serde(default)]
    pub venue: String,
    pub path: Vec<Address>,
    /// Uniswap V3: each hop's fee tier, in hundredths of a basis point (3000 is 0.3%); empty
    /// for V2.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<u32>,
    /// What it gives; None when it cannot be quoted (no such pool).
    #[serde(with = "decimal_opt_u256")]
    pub out: Option<U256>,
}

impl SwapRoute {
    pub const V2: &'static str = "Uniswap V2";
    pub const V3: &'static str = "Uniswap V3";

    /// "Uniswap V3 A → WETH → B (0.05%, 0.3% fee pools)", each token named by `name`.
    pub fn describe(&self, name: impl Fn(&Address) -> String) -> String {
        let path: Vec<String> = self.path.iter().map(name).collect();
        let mut text = format!("{} {}", self.venue, path.join(" → ")).trim_start().to_owned();
        if !self.fees.is_empty() {
            let fees: Vec<String> = self.fees.iter().map(|f| format!("{}%", f64::from(*f) / 10_000.0)).collect();
            let pools = if self.fees.len() == 1 { "fee pool" } else { "fee pools" };
            text.push_str(&format!(" ({} {pools})", fees.join(", ")));
        }
        text
    }

    /// The same pools and path.
    pub fn same_route(&self, other: &SwapRoute) -> bool {
        self.venue == other.venue && self.path == other.path && self.fees == other.fees
    }
}

/// What one sender usually does, from its requests forwarded through Airlock. Kept in sled on
/// this machine only; it feeds the rules about departures from the person's own habits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Habits {
    /// When Airlock first forwarded a request from this address.
    pub first_at: crate::Timestamp,
    /// Forwarded transactions from it.
    pub sends: u64,
    /// The newest of them (at most [`Habits::KEPT`]): when, and the ETH it gave (wei).
    pub recent: Vec<HabitSend>,
    /// Tokens it has sent before.
    pub tokens_sent: Vec<Address>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HabitSend {
    pub at: crate::Timestamp,
    #[serde(with = "decimal_u256")]
    pub eth: U256,
}

impl Habits {
    /// How many recent sends are kept.
    pub const KEPT: usize = 200;
}
