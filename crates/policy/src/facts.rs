//! The facts rules see: the held item's report, joined with local history and the lists, in a
//! shape that keeps CEL expressions short. Every field is documented for rule authors in
//! rules/FACTS.md, and a test keeps that page and these types in step.
//!
//! Conventions: addresses are lowercase 0x-hex strings; a missing string is "" and a missing
//! number is -1, so expressions never meet null; `*_units` are amounts divided by the token's
//! decimals (doubles, for thresholds; -1 when the decimals are unknown); raw amounts are decimal
//! strings, exact.

use std::collections::{BTreeMap, HashMap};

use airlock_types::{
    AccountKind, ApprovalKind, AssetKind, Counterparty, Item, OutcomeStatus, SignatureReport, SimulationReport,
    VerificationStatus,
};
use alloy_primitives::{Address, U256};
use serde::Serialize;

use crate::lists::Lists;

/// Everything the person has dealt with before, by address.
pub type History = HashMap<Address, Counterparty>;

#[derive(Debug, Clone, Serialize)]
pub struct Facts {
    pub request: RequestFacts,
    pub verification: VerificationFacts,
    /// True when the request was simulated (a transaction or batch with a report).
    pub simulated: bool,
    /// Why it was not simulated; "" when it was, or when it is a signature request.
    pub simulation_error: String,
    pub outcome: OutcomeFacts,
    pub eth: EthFacts,
    pub approvals: Vec<ApprovalFacts>,
    pub sends: Vec<SendFacts>,
    pub outflows: Vec<OutflowFacts>,
    /// ETH the sender pays a contract that it sends on in the same transaction.
    pub forwards: Vec<ForwardFacts>,
    pub recipients: Vec<RecipientFacts>,
    pub addresses: Vec<AddressFacts>,
    pub tokens: Vec<TokenFacts>,
    pub delegations: Vec<DelegationFacts>,
    /// Every contract the request touches: age, proxy, code marks (from the threat-data crate).
    pub contracts: Vec<ContractFacts>,
    /// The tokens the request brings in, tried for sending on and selling back.
    pub resale: Vec<ResaleFacts>,
    /// What an agent asked for, when Airlock built the request from an intent.
    pub intent: IntentFacts,
    pub divergences: Vec<DivergenceFacts>,
    pub mismatches: Vec<String>,
    pub gas: GasFacts,
    pub swap: SwapFacts,
    pub habits: HabitsFacts,
}

/// What the sender usually does (its transactions forwarded through Airlock before this one).
#[derive(Debug, Clone, Serialize)]
pub struct HabitsFacts {
    /// Forwarded transactions from the sender before.
    pub sends: u64,
    /// Days since Airlock first forwarded one from it (-1 when never).
    pub days_known: f64,
    /// The median and the largest ETH it gave in one transaction (-1 when none yet).
    pub median_eth: f64,
    pub max_eth: f64,
    /// Its forwarded transactions in the last 10 minutes and the last hour.
    pub sends_last_10_min: u64,
    pub sends_last_hour: u64,
    /// Tokens this request sends that the sender has never sent before.
    pub new_tokens: Vec<String>,
}

impl HabitsFacts {
    /// Nothing known: no history, nothing new.
    pub fn none() -> HabitsFacts {
        HabitsFacts {
            sends: 0,
            days_known: -1.0,
            median_eth: -1.0,
            max_eth: -1.0,
            sends_last_10_min: 0,
            sends_last_hour: 0,
            new_tokens: vec![],
        }
    }

    pub fn of(h: Option<&airlock_types::Habits>, facts: &Facts, now: airlock_types::Timestamp) -> HabitsFacts {
        let sent_tokens: Vec<String> = {
            let mut t: Vec<String> = facts
                .sends
                .iter()
                .filter(|s| s.kind != "eth" && !s.token.is_empty())
                .map(|s| s.token.clone())
                .collect();
            t.dedup();
            t
        };
        let Some(h) = h else {
            return HabitsFacts { new_tokens: sent_tokens, ..HabitsFacts::none() };
        };
        let mut eth: Vec<f64> = h.recent.iter().map(|s| units(s.eth, Some(18))).collect();
        eth.sort_by(|a, b| a.total_cmp(b));
        let within = |ms: u64| h.recent.iter().filter(|s| now.0.saturating_sub(s.at.0) <= ms).count() as u64;
        let known: Vec<String> = h.tokens_sent.iter().map(|a| hex(*a)).collect();
        HabitsFacts {
            sends: h.sends,
            days_known: now.0.saturating_sub(h.first_at.0) as f64 / 86_400_000.0,
            median_eth: eth.get(eth.len() / 2).copied().unwrap_or(-1.0),
            max_eth: eth.last().copied().unwrap_or(-1.0),
            sends_last_10_min: within(600_000),
            sends_last_hour: within(3_600_000),
            new_tokens: sent_tokens.into_iter().filter(|t| !known.contains(t)).collect(),
        }
    }
}

/// A swap through a Uniswap V2 router, quoted on the same state. `quoted` is false for
/// anything else.
#[derive(Debug, Clone, Serialize)]
pub struct SwapFacts {
    pub quoted: bool,
    /// An exact-output swap: the exposure is what it may pay in beyond what it needs.
    pub exact_output: bool,
    /// Exact output: the token paid in, the most it pays and what it needs on this state
    /// (units; -1 otherwise).
    pub symbol_in: String,
    pub max_in_units: f64,
    pub expected_in_units: f64,
    pub token_out: String,
    pub symbol_out: String,
    /// What the person's route gives, and the least the request accepts, in the output
    /// token's units (-1 when its decimals are unknown).
    pub expected_out_units: f64,
    pub min_out_units: f64,
    /// The share of the expected output the request lets go: `1 - min / expected` (0 to 1).
    pub slippage: f64,
    /// The same in percent, to a tenth (for messages).
    pub slippage_pct: f64,
    /// `expected - min`, in the token's units: what a sandwich can take at most.
    pub exposed_units: f64,
    /// The best other route's gain over the person's, as a share of theirs (0 when none is better).
    pub better_route_gain: f64,
    /// The same in percent, to a tenth (for messages).
    pub better_route_gain_pct: f64,
    /// That route, as addresses joined by " → ", or "".
    pub better_route: String,
}

impl SwapFacts {
    fn of(q: Option<&airlock_types::SwapQuote>) -> SwapFacts {
        let Some(q) = q else {
            return SwapFacts {
                quoted: false,
                exact_output: false,
                symbol_in: String::new(),
                max_in_units: -1.0,
                expected_in_units: -1.0,
                token_out: String::new(),
                symbol_out: String::new(),
                expected_out_units: -1.0,
                min_out_units: -1.0,
                slippage: 0.0,
                slippage_pct: 0.0,
                exposed_units: -1.0,
                better_route_gain: 0.0,
                better_route_gain_pct: 0.0,
                better_route: String::new(),
            };
        };
        let expected: f64 = q.expected_out.to_string().parse().unwrap_or(0.0);
        let min: f64 = q.min_out.to_string().parse().unwrap_or(0.0);
        let best = q.routes.iter().skip(1).filter_map(|r| Some((r.out?, r))).max_by_key(|(out, _)| *out);
        let (gain, route) = match best {
            Some((out, r)) if out > q.expected_out && expected > 0.0 => {
                let out: f64 = out.to_string().parse().unwrap_or(0.0);
                ((out - expected) / expected, r.describe(|a| hex(*a)))
            }
            _ => (0.0, String::new()),
        };
        let round = |x: f64| (x * 1e6).round() / 1e6;
        let pct = |x: f64| (x * 1000.0).round() / 10.0;
        let slippage = if expected > 0.0 { round((1.0 - min / expected).clamp(0.0, 1.0)) } else { 0.0 };
        // Exact output: the exposure is on the input side, what it may pay beyond what it needs.
        if let (Some(max_in), Some(need)) = (q.max_in, q.expected_in) {
            let max: f64 = max_in.to_string().parse().unwrap_or(0.0);
            let need_f: f64 = need.to_string().parse().unwrap_or(0.0);
            let slippage = if max > 0.0 { round((1.0 - need_f / max).clamp(0.0, 1.0)) } else { 0.0 };
            return SwapFacts {
                quoted: true,
                exact_output: true,
                token_out: hex(q.token_out),
                symbol_out: q.symbol_out.clone().unwrap_or_default(),
                expected_out_units: units(q.expected_out, q.decimals_out),
                min_out_units: units(q.min_out, q.decimals_out),
                symbol_in: q.symbol_in.clone().unwrap_or_default(),
                max_in_units: units(max_in, q.decimals_in),
                expected_in_units: units(need, q.decimals_in),
                slippage,
                slippage_pct: pct(slippage),
                exposed_units: match q.decimals_in {
                    Some(_) => round(units(max_in.saturating_sub(need), q.decimals_in)),
                    None => -1.0,
                },
                better_route_gain: 0.0,
                better_route_gain_pct: 0.0,
                better_route: String::new(),
            };
        }
        SwapFacts {
            exact_output: false,
            symbol_in: String::new(),
            max_in_units: -1.0,
            expected_in_units: -1.0,
            quoted: true,
            token_out: hex(q.token_out),
            symbol_out: q.symbol_out.clone().unwrap_or_default(),
            expected_out_units: units(q.expected_out, q.decimals_out),
            min_out_units: units(q.min_out, q.decimals_out),
            slippage,
            slippage_pct: pct(slippage),
            exposed_units: match q.decimals_out {
                Some(_) => round(units(q.expected_out.saturating_sub(q.min_out), q.decimals_out)),
                None => -1.0,
            },
            better_route_gain: round(gain),
            better_route_gain_pct: pct(gain),
            better_route: route,
        }
    }
}

/// The fee a transaction offers next to the chain's and the suggestion, in gwei (doubles, for
/// thresholds). `advised` is false for signatures, batches, and when there was no head to read.
#[derive(Debug, Clone, Serialize)]
pub struct GasFacts {
    pub advised: bool,
    /// The request names its fee (false: the node fills it).
    pub named: bool,
    /// Its tip and max fee; -1 when it names none.
    pub tip_gwei: f64,
    pub max_fee_gwei: f64,
    /// The next block's base fee, from the verified head.
    pub next_base_fee_gwei: f64,
    /// The recent median tip (the upstream's fee history; advisory), -1 when unknown.
    pub recent_tip_gwei: f64,
    pub suggested_tip_gwei: f64,
    pub suggested_max_fee_gwei: f64,
    /// What it would pay beyond the suggestion in the next block, in ETH (0 when less).
    pub overpay_eth: f64,
    /// The fee can still be replaced (an unsigned eth_sendTransaction).
    pub adjustable: bool,
}

impl GasFacts {
    fn of(advice: Option<&airlock_types::GasAdvice>) -> GasFacts {
        let gwei = |v: U256| units(v, Some(9));
        let Some(g) = advice else {
            return GasFacts {
                advised: false,
                named: false,
                tip_gwei: -1.0,
                max_fee_gwei: -1.0,
                next_base_fee_gwei: -1.0,
                recent_tip_gwei: -1.0,
                suggested_tip_gwei: -1.0,
                suggested_max_fee_gwei: -1.0,
                overpay_eth: 0.0,
                adjustable: false,
            };
        };
        GasFacts {
            advised: true,
            named: g.max_fee.is_some(),
            tip_gwei: g.tip.map(gwei).unwrap_or(-1.0),
            max_fee_gwei: g.max_fee.map(gwei).unwrap_or(-1.0),
            next_base_fee_gwei: gwei(g.next_base_fee),
            recent_tip_gwei: g.recent_tip.map(gwei).unwrap_or(-1.0),
            suggested_tip_gwei: gwei(g.suggested_tip),
            suggested_max_fee_gwei: gwei(g.suggested_max_fee),
            // To the gwei: a person reads this number in a message.
            overpay_eth: g
                .would_pay
                .map(|w| (units(w.saturating_sub(g.would_pay_suggested), Some(18)) * 1e9).round() / 1e9)
                .unwrap_or(0.0),
            adjustable: g.adjustable,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestFacts {
    pub method: String,
    /// `transaction`, `batch` or `signature`.
    pub kind: String,
    pub chain_id: u64,
    pub from: String,
    pub to: String,
    /// Wei, decimal.
    pub value: String,
    pub value_eth: f64,
    pub data_size: u64,
    /// The decoded function (`transfer(address to, uint256 amount)`), or "".
    pub function: String,
    /// For signatures: `permit`, `permit2_allowance`, `permit2_transfer`, `seaport_order`,
    /// `other_typed_data`, `message`, `raw_hash`; "" otherwise.
    pub signature_kind: String,
    /// Fields of a signature request that could not be read (each taken as the worst case).
    pub unreadable: Vec<String>,
    /// A signed transaction's nonce; -1 otherwise.
    pub nonce: i64,
    /// The sender's next nonce when it was held (the node's pending count, and the sends
    /// Airlock holds before it); -1 when unknown.
    pub next_nonce: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerificationFacts {
    /// `unverified`, `checkpoint` or `verified`.
    pub mode: String,
    /// `verified`, `unverified` or `failed`.
    pub status: String,
    pub error: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeFacts {
    /// `success`, `revert`, `halt`, or `none` when not simulated.
    pub status: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EthFacts {
    /// ETH the sender gives away (the value and internal transfers; fees not included).
    pub sent: f64,
    /// The sender's ETH balance before the request.
    pub balance: f64,
    /// `sent / balance`; 0 when nothing is sent, 1 when the balance is zero and something is.
    pub share_of_balance: f64,
    pub fee: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApprovalFacts {
    /// `transaction` (from the simulation's logs) or `signature` (what a signature grants).
    pub source: String,
    /// `erc20`, `erc721`, `approval_for_all`, `permit2`.
    pub kind: String,
    pub token: String,
    pub symbol: String,
    pub owner: String,
    pub spender: String,
    /// `eoa`, `contract`, `delegated`.
    pub spender_kind: String,
    /// The person approved or sent to the spender before (local history).
    pub spender_seen: bool,
    /// The spender is on the known list (routers, marketplaces, Permit2).
    pub spender_known: bool,
    /// `router`, `marketplace`, `permit2`, `other`, or "" when not known.
    pub spender_known_kind: String,
    pub spender_name: String,
    /// Allowance before ("" when unknown) and after, raw units.
    pub before: String,
    pub after: String,
    pub after_units: f64,
    pub unlimited: bool,
    /// Sets an allowance or operator approval to zero.
    pub revoke: bool,
    /// Seconds since the spender's code was deployed; -1 when unknown or not a contract.
    pub spender_age_seconds: i64,
    /// The spender holds no code and never sent a transaction (nonce 0).
    pub spender_untouched: bool,
}

/// One contract the request touches.
#[derive(Debug, Clone, Serialize)]
pub struct ContractFacts {
    pub address: String,
    /// Seconds since its code first appeared; -1 when unknown.
    pub age_seconds: i64,
    /// The block it first appeared in; -1 when unknown.
    pub created_block: i64,
    /// Why the age is unknown, or "".
    pub age_unknown: String,
    pub code_size: i64,
    /// `eip1967`, `eip1967-beacon`, `eip1822`, or "" for no proxy.
    pub proxy: String,
    pub implementation: String,
    pub admin: String,
    /// The proxy's admin is a single key (holds no code).
    pub admin_eoa: bool,
    /// Marks on its code: `drainer-code`, `fallback-only` (a 7702 delegate with no function
    /// selectors), `tiny-code`.
    pub marks: Vec<String>,
    /// What each mark rests on, in the same order.
    pub mark_details: Vec<String>,
    /// The request pays it through a function with a scam-bait name and it passes the ETH
    /// on: what happens, or "".
    pub bait: String,
}

/// The intent behind a request Airlock built for an agent.
#[derive(Debug, Clone, Serialize)]
pub struct IntentFacts {
    /// The request was built from an intent (`propose`), not sent by a wallet.
    pub asked: bool,
    /// The intent in plain words, or "".
    pub summary: String,
    /// Where the simulated outcome differs from the intent.
    pub mismatches: Vec<String>,
}

/// A token the request brings in, tried on the state it leaves.
#[derive(Debug, Clone, Serialize)]
pub struct ResaleFacts {
    pub token: String,
    pub symbol: String,
    /// Sending it on to a fresh address went through, and something arrived.
    pub transfer_ok: bool,
    /// The share lost sending it on, in percent; -1 when unknown.
    pub transfer_tax_pct: f64,
    pub transfer_detail: String,
    /// Selling it back was tried (a router is known on this chain).
    pub sell_tried: bool,
    pub sell_ok: bool,
    /// The share of the pool's quote the sale lost, in percent; -1 when unknown.
    pub sell_tax_pct: f64,
    pub sell_detail: String,
    /// The share of the pool's quote the buy kept back, in percent; -1 when none measured.
    pub buy_tax_pct: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SendFacts {
    /// `eth`, `erc20`, `erc721`, `erc1155`.
    pub kind: String,
    /// The token contract; "" for ETH.
    pub token: String,
    pub symbol: String,
    pub token_id: String,
    pub to: String,
    pub amount: String,
    pub amount_units: f64,
    /// The log it comes from (`Transfer`, `Withdrawal`, …), "" for ETH.
    pub event: String,
    /// Sent to the token's own contract.
    pub to_token_contract: bool,
    pub to_zero: bool,
    pub to_seen: bool,
    pub to_known: bool,
    /// `eoa`, `contract`, `delegated`, or "" when unknown.
    pub to_kind: String,
    /// The share of the sender's balance of this asset it is (ERC-20 and ETH), -1 when unknown.
    pub share_of_balance: f64,
}

/// ETH the sender gives to a contract that the contract sends on in the same transaction: where
/// the value really goes.
#[derive(Debug, Clone, Serialize)]
pub struct ForwardFacts {
    /// The contract the sender paid.
    pub via: String,
    /// Where it sent the ETH on.
    pub to: String,
    /// ETH forwarded (at most what the sender paid it).
    pub eth: f64,
    pub to_seen: bool,
    pub to_known: bool,
    /// `eoa`, `contract`, `delegated`, or "" when unknown.
    pub to_kind: String,
}

/// What the sender gives to one recipient, all assets together.
#[derive(Debug, Clone, Serialize)]
pub struct OutflowFacts {
    pub to: String,
    /// How many different assets go there.
    pub assets: u64,
    pub to_seen: bool,
    pub to_known: bool,
    pub to_kind: String,
}

/// An address that receives something from the sender (or the transaction's recipient).
#[derive(Debug, Clone, Serialize)]
pub struct RecipientFacts {
    pub address: String,
    pub seen: bool,
    /// Everything ever sent there was zero or dust (below the rule's threshold in history).
    pub dust_only: bool,
    /// A past counterparty with the same leading and trailing hex digits, or "".
    pub lookalike_of: String,
    pub known: bool,
    pub kind: String,
}

/// Every address the request involves, with the role it plays.
#[derive(Debug, Clone, Serialize)]
pub struct AddressFacts {
    pub address: String,
    /// `to`, `recipient`, `spender`, `called`, `delegate`, `verifying_contract`.
    pub role: String,
    pub blocked: bool,
    pub block_reason: String,
    /// The threat list that names it ("" for the rules directories' blocklist.txt).
    pub list: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TokenFacts {
    pub token: String,
    pub symbol: String,
    /// On the token list for this chain.
    pub listed: bool,
    /// The listed token whose symbol this one uses while being another contract, or "".
    pub impersonates: String,
    /// It uses a symbol listed on some chain (USDC, WETH, …) but is not listed on this one:
    /// a fake, or a devnet's own copy.
    pub famous_symbol: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DelegationFacts {
    pub authority: String,
    /// The code it delegates to after the request, "" when cleared.
    pub target: String,
    pub cleared: bool,
    /// The target is on the delegates allowlist.
    pub allowed: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct DivergenceFacts {
    pub environment: String,
    pub difference: String,
}

/// What makes a look-alike (matching leading and trailing hex digits), and what counts as dust.
#[derive(Debug, Clone, Copy)]
pub struct Thresholds {
    /// Leading hex digits that must match at least (a run of zeros does not count: vanity
    /// addresses share those without imitating each other).
    pub lookalike_prefix: usize,
    /// Trailing hex digits that must match at least.
    pub lookalike_suffix: usize,
    /// Leading and trailing matching digits together, at least.
    pub lookalike_total: usize,
    pub dust_wei: U256,
}

impl Default for Thresholds {
    /// Measured on Poison-Hunter's real poisoning pairs (CCS'24): attackers match 3+5, 2+7,
    /// 4+4, 3+4 and 8+6 leading+trailing digits most often, and some only the last 7. At least
    /// 4 trailing and 7 together catch 146 of its 150 pairs (4+4 caught 51; 3 at each end and 7
    /// together, 101), and none of its 1,154 benign addresses; an unrelated address matches one
    /// counterparty that way with a chance of about 1 in 70 million.
    fn default() -> Self {
        Thresholds { lookalike_prefix: 0, lookalike_suffix: 4, lookalike_total: 7, dust_wei: U256::from(10u64.pow(14)) }
    }
}

fn hex(a: Address) -> String {
    format!("{a:#x}")
}

fn units(v: U256, decimals: Option<u8>) -> f64 {
    let Some(d) = decimals else { return -1.0 };
    let v: f64 = v.to_string().parse().unwrap_or(f64::MAX);
    v / 10f64.powi(i32::from(d))
}

fn kind_name(k: AccountKind) -> &'static str {
    match k {
        AccountKind::Eoa => "eoa",
        AccountKind::Contract => "contract",
        AccountKind::Delegated => "delegated",
    }
}

fn asset_kind(k: AssetKind) -> &'static str {
    match k {
        AssetKind::Eth => "eth",
        AssetKind::Erc20 => "erc20",
        AssetKind::Erc721 => "erc721",
        AssetKind::Erc1155 => "erc1155",
    }
}

fn approval_kind(k: ApprovalKind) -> &'static str {
    match k {
        ApprovalKind::Erc20 => "erc20",
        ApprovalKind::Erc721 => "erc721",
        ApprovalKind::ApprovalForAll => "approval_for_all",
        ApprovalKind::Permit2 => "permit2",
    }
}

/// A past counterparty that `a` imitates: another address with enough of the same leading and
/// trailing hex digits (see [`Thresholds`]).
pub fn lookalike(a: Address, history: &History, t: &Thresholds) -> Option<Address> {
    if history.contains_key(&a) {
        return None;
    }
    history.keys().copied().find(|b| imitates(a, *b, t))
}

/// Whether `a` shares enough leading and trailing hex digits with `b` (a different address).
pub fn imitates(a: Address, b: Address, t: &Thresholds) -> bool {
    if a == b {
        return false;
    }
    let (x, y) = (nibbles(a), nibbles(b));
    let lead = x.iter().zip(&y).take_while(|(p, q)| p == q).count();
    // Shared leading zeros are vanity, not imitation.
    let zeros = x.iter().take(lead).take_while(|n| **n == 0).count();
    let lead = lead - zeros;
    let trail = x.iter().rev().zip(y.iter().rev()).take_while(|(p, q)| p == q).count();
    lead >= t.lookalike_prefix && trail >= t.lookalike_suffix && lead + trail >= t.lookalike_total
}

/// An address's 40 hex digits as numbers.
fn nibbles(a: Address) -> [u8; 40] {
    let mut out = [0u8; 40];
    for (i, byte) in a.iter().enumerate() {
        out[2 * i] = byte >> 4;
        out[2 * i + 1] = byte & 0x0f;
    }
    out
}

impl Facts {
    pub fn build(item: &Item, chain_id: u64, history: &History, lists: &Lists, t: &Thresholds) -> Facts {
        let cx = Context::new(item, chain_id, history, lists, t);
        let report = cx.report;
        let approvals = approval_facts(&cx);
        let sends = send_facts(&cx);
        let outflows = outflow_facts(&cx, &sends);
        let recipient_addrs = recipient_addresses(&cx, &sends);
        let recipients = recipient_facts(&cx, &recipient_addrs);
        let addresses = address_facts(&cx, &recipient_addrs);
        let tokens = token_facts(&cx, &approvals);

        Facts {
            request: request_facts(&cx),
            verification: verification_facts(item),
            simulated: report.is_some(),
            simulation_error: item.simulation_error.clone().unwrap_or_default(),
            outcome: outcome_facts(report),
            eth: eth_facts(&cx),
            approvals,
            sends,
            outflows,
            forwards: forward_facts(&cx),
            recipients,
            addresses,
            tokens,
            delegations: delegation_facts(&cx),
            contracts: contract_facts(item),
            resale: resale_facts(item),
            intent: IntentFacts {
                asked: item.asked.is_some(),
                summary: item.asked.as_ref().map(|a| a.summary.clone()).unwrap_or_default(),
                mismatches: item.asked.as_ref().map(|a| a.mismatches.clone()).unwrap_or_default(),
            },
            divergences: report
                .into_iter()
                .flat_map(|r| r.divergences.iter())
                .map(|d| DivergenceFacts { environment: d.environment.clone(), difference: d.difference.clone() })
                .collect(),
            mismatches: report.map(|r| r.mismatches.clone()).unwrap_or_default(),
            gas: GasFacts::of(item.gas.as_ref()),
            swap: SwapFacts::of(item.swap.as_ref()),
            habits: HabitsFacts::none(),
        }
    }
}

/// What every group of facts is built from: the item, its reports, the sender, history and lists.
struct Context<'a> {
    item: &'a Item,
    chain_id: u64,
    history: &'a History,
    lists: &'a Lists,
    t: &'a Thresholds,
    report: Option<&'a SimulationReport>,
    sig: Option<&'a SignatureReport>,
    from: Address,
}

impl<'a> Context<'a> {
    /// The context of `item`, with its sender taken from the report, the transaction or the signer.
    fn new(item: &'a Item, chain_id: u64, history: &'a History, lists: &'a Lists, t: &'a Thresholds) -> Self {
        let report = item.report.as_ref();
        let from = report
            .map(|r| r.from)
            .or(item.tx.as_ref().and_then(|tx| tx.from))
            .or(item.sign.as_ref().map(|s| s.address))
            .unwrap_or_default();
        Context { item, chain_id, history, lists, t, report, sig: item.signature_report.as_ref(), from }
    }

    /// The simulation's account kind of `a`, or "" when unknown.
    fn kind_of(&self, a: Address) -> String {
        self.report.and_then(|r| r.account_kinds.get(&a)).map(|k| kind_name(*k)).unwrap_or("").to_owned()
    }

    /// The person dealt with `a` before (local history).
    fn seen(&self, a: Address) -> bool {
        self.history.contains_key(&a)
    }

    /// Known: on the list of routers and marketplaces, or a listed token's own contract.
    fn known(&self, a: Address) -> bool {
        self.lists.known(self.chain_id, a).is_some() || self.lists.token(self.chain_id, a).is_some()
    }
}

/// Fills in the request facts: method, kind, sender, recipient, value, function, signature kind.
fn request_facts(cx: &Context) -> RequestFacts {
    let item = cx.item;
    RequestFacts {
        method: item.method.clone(),
        kind: if item.sign.is_some() {
            "signature".into()
        } else if !item.calls.is_empty() {
            "batch".into()
        } else {
            "transaction".into()
        },
        chain_id: cx.chain_id,
        from: hex(cx.from),
        to: item.tx.as_ref().and_then(|tx| tx.to).map(hex).unwrap_or_default(),
        value: item.tx.as_ref().map(|tx| tx.value.to_string()).unwrap_or_else(|| "0".into()),
        value_eth: item.tx.as_ref().map(|tx| units(tx.value, Some(18))).unwrap_or(0.0),
        data_size: item.tx.as_ref().map(|tx| tx.data.len() as u64).unwrap_or(0),
        function: cx.report.and_then(|r| r.call.as_ref()).and_then(|c| c.function.clone()).unwrap_or_default(),
        signature_kind: cx
            .sig
            .map(|s| serde_json::to_value(s.kind).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default())
            .unwrap_or_default(),
        unreadable: cx.sig.map(|s| s.unreadable.clone()).unwrap_or_default(),
        nonce: item.tx.as_ref().filter(|t| t.signed).and_then(|t| t.nonce).map_or(-1, clamp),
        next_nonce: item.next_nonce.map_or(-1, clamp),
    }
}

/// A nonce as CEL's int.
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Fills in how the state was verified (unverified when the item says nothing).
fn verification_facts(item: &Item) -> VerificationFacts {
    match &item.verification {
        Some(v) => VerificationFacts {
            mode: v.mode.clone(),
            status: match v.status {
                VerificationStatus::Verified => "verified",
                VerificationStatus::Unverified => "unverified",
                VerificationStatus::Failed => "failed",
            }
            .into(),
            error: v.error.clone().unwrap_or_default(),
        },
        None => VerificationFacts { mode: "unverified".into(), status: "unverified".into(), error: String::new() },
    }
}

/// Fills in the simulation's outcome (`none` when not simulated).
fn outcome_facts(report: Option<&SimulationReport>) -> OutcomeFacts {
    match report {
        Some(r) => OutcomeFacts {
            status: match r.outcome.status {
                OutcomeStatus::Success => "success",
                OutcomeStatus::Revert => "revert",
                OutcomeStatus::Halt => "halt",
            }
            .into(),
            reason: r.outcome.reason.clone().unwrap_or_default(),
        },
        None => OutcomeFacts { status: "none".into(), reason: String::new() },
    }
}

/// Fills in the approvals: from the transaction's logs and from what a signature grants.
fn approval_facts(cx: &Context) -> Vec<ApprovalFacts> {
    let (lists, chain_id) = (cx.lists, cx.chain_id);
    let mut approvals = vec![];
    let tx_approvals = cx.report.into_iter().flat_map(|r| r.approvals.iter().map(|a| ("transaction", a)));
    let sig_approvals = cx.sig.into_iter().flat_map(|s| s.approvals.iter().map(|a| ("signature", a)));
    for (source, a) in tx_approvals.chain(sig_approvals) {
        let k = lists.known(chain_id, a.spender);
        let decimals = a.decimals.or_else(|| lists.token(chain_id, a.token).and_then(|t| t.1));
        approvals.push(ApprovalFacts {
            source: source.into(),
            kind: approval_kind(a.kind).into(),
            token: hex(a.token),
            symbol: a.symbol.clone().unwrap_or_default(),
            owner: hex(a.owner),
            spender: hex(a.spender),
            spender_kind: kind_name(a.spender_kind).into(),
            spender_seen: cx.history.get(&a.spender).is_some_and(|c| c.approvals > 0 || c.sends > 0),
            spender_known: k.is_some(),
            spender_known_kind: k.map(|k| k.1.clone()).unwrap_or_default(),
            spender_name: k.map(|k| k.0.clone()).unwrap_or_default(),
            before: a.before.map(|b| b.to_string()).unwrap_or_default(),
            after: a.after.to_string(),
            after_units: match a.kind {
                ApprovalKind::Erc20 | ApprovalKind::Permit2 => units(a.after, decimals),
                _ => -1.0,
            },
            unlimited: a.unlimited,
            revoke: a.after.is_zero(),
            spender_age_seconds: cx
                .item
                .intel
                .iter()
                .flat_map(|i| i.contracts.iter())
                .find(|c| c.address == a.spender)
                .and_then(|c| c.age_seconds)
                .map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX)),
            spender_untouched: cx.item.intel.as_ref().is_some_and(|i| i.untouched_spenders.contains(&a.spender)),
        });
    }
    approvals
}

/// The threat-data crate's provenance of each contract, as facts.
fn contract_facts(item: &Item) -> Vec<ContractFacts> {
    let num = |v: Option<u64>| v.map_or(-1, |v| i64::try_from(v).unwrap_or(i64::MAX));
    let opt = |a: Option<Address>| a.map(hex).unwrap_or_default();
    item.intel
        .iter()
        .flat_map(|i| i.contracts.iter())
        .map(|c| ContractFacts {
            address: hex(c.address),
            age_seconds: num(c.age_seconds),
            created_block: num(c.created_block),
            age_unknown: c.age_unknown.clone().unwrap_or_default(),
            code_size: num(Some(c.code_size)),
            proxy: c.proxy.as_ref().map(|p| p.kind.clone()).unwrap_or_default(),
            implementation: opt(c.proxy.as_ref().and_then(|p| p.implementation)),
            admin: opt(c.proxy.as_ref().and_then(|p| p.admin)),
            admin_eoa: c.proxy.as_ref().is_some_and(|p| p.admin_is_eoa && p.admin.is_some()),
            marks: c.marks.iter().map(|m| m.kind.clone()).collect(),
            mark_details: c.marks.iter().map(|m| m.detail.clone()).collect(),
            bait: c.marks.iter().find(|m| m.kind == "bait-payable").map(|m| m.detail.clone()).unwrap_or_default(),
        })
        .collect()
}

/// The resale trials of each token brought in, as facts.
fn resale_facts(item: &Item) -> Vec<ResaleFacts> {
    item.intel
        .iter()
        .flat_map(|i| i.resale.iter())
        .map(|r| ResaleFacts {
            token: hex(r.token),
            symbol: r.symbol.clone().unwrap_or_default(),
            transfer_ok: r.transfer.ok,
            transfer_tax_pct: r.transfer.tax_pct.unwrap_or(-1.0),
            transfer_detail: r.transfer.detail.clone(),
            sell_tried: r.sell.is_some(),
            sell_ok: r.sell.as_ref().is_some_and(|t| t.ok),
            sell_tax_pct: r.sell.as_ref().and_then(|t| t.tax_pct).unwrap_or(-1.0),
            sell_detail: r.sell.as_ref().map(|t| t.detail.clone()).unwrap_or_default(),
            buy_tax_pct: r.buy_tax_pct.unwrap_or(-1.0),
        })
        .collect()
}

/// Fills in what leaves the sender: the simulation's transfers, or what a signature lets move.
fn send_facts(cx: &Context) -> Vec<SendFacts> {
    let (lists, chain_id, from) = (cx.lists, cx.chain_id, cx.from);
    let mut sends = vec![];
    let tx_transfers = cx.report.into_iter().flat_map(|r| r.transfers.iter());
    let sig_transfers = cx.sig.into_iter().flat_map(|s| s.transfers.iter());
    for tr in tx_transfers.chain(sig_transfers).filter(|t| t.from == from && t.to != from) {
        let decimals = match tr.asset.kind {
            AssetKind::Eth => Some(18),
            AssetKind::Erc20 => tr
                .asset
                .decimals
                .or_else(|| tr.asset.token.and_then(|tok| lists.token(chain_id, tok)).and_then(|t| t.1)),
            _ => Some(0),
        };
        sends.push(SendFacts {
            kind: asset_kind(tr.asset.kind).into(),
            token: tr.asset.token.map(hex).unwrap_or_default(),
            symbol: tr.asset.symbol.clone().unwrap_or_default(),
            token_id: tr.asset.token_id.map(|i| i.to_string()).unwrap_or_default(),
            to: hex(tr.to),
            amount: tr.amount.to_string(),
            amount_units: units(tr.amount, decimals),
            event: tr.event.clone().unwrap_or_default(),
            to_token_contract: tr.asset.token == Some(tr.to),
            to_zero: tr.to.is_zero(),
            to_seen: cx.seen(tr.to),
            to_known: cx.known(tr.to),
            to_kind: cx.kind_of(tr.to),
            share_of_balance: share_of_balance(cx, tr),
        });
    }
    sends
}

/// `tr`'s amount as a share of the sender's balance before (ERC-20 and ETH), or -1.
fn share_of_balance(cx: &Context, tr: &airlock_types::Transfer) -> f64 {
    let Some(r) = cx.report else { return -1.0 };
    let before = match tr.asset.kind {
        AssetKind::Eth => Some(r.from_balance),
        AssetKind::Erc20 => r
            .asset_changes
            .iter()
            .find(|c| c.address == r.from && c.asset.token == tr.asset.token && c.asset.kind == AssetKind::Erc20)
            .and_then(|c| c.before),
        _ => None,
    };
    match before {
        Some(b) if !b.is_zero() => units(tr.amount, Some(0)) / units(b, Some(0)),
        _ => -1.0,
    }
}

/// Fills in the ETH that contracts the sender pays send on, to whom (the report's final
/// recipients reached through a contract).
fn forward_facts(cx: &Context) -> Vec<ForwardFacts> {
    let Some(r) = cx.report else { return vec![] };
    let mut out: Vec<ForwardFacts> = vec![];
    for f in r.final_recipients.iter().filter(|f| f.asset.kind == AssetKind::Eth) {
        let Some(via) = f.via else { continue };
        let amount = units(f.amount, Some(18));
        match out.iter_mut().find(|o| o.via == hex(via) && o.to == hex(f.address)) {
            Some(o) => o.eth += amount,
            None => out.push(ForwardFacts {
                via: hex(via),
                to: hex(f.address),
                eth: amount,
                to_seen: cx.seen(f.address),
                to_known: cx.known(f.address),
                to_kind: cx.kind_of(f.address),
            }),
        }
    }
    out
}

/// Fills in the outflows: per recipient, how many distinct assets go there.
fn outflow_facts(cx: &Context, sends: &[SendFacts]) -> Vec<OutflowFacts> {
    let mut by_to: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for s in sends.iter().filter(|s| !s.to_zero) {
        let e = by_to.entry(s.to.clone()).or_default();
        let key = (s.kind.clone(), s.token.clone(), s.token_id.clone());
        if !e.contains(&key) {
            e.push(key);
        }
    }
    by_to
        .into_iter()
        .map(|(to, assets)| {
            let a: Address = to.parse().unwrap_or_default();
            OutflowFacts {
                assets: assets.len() as u64,
                to_seen: cx.seen(a),
                to_known: cx.known(a),
                to_kind: cx.kind_of(a),
                to,
            }
        })
        .collect()
}

/// Finds the recipients: who receives from the sender, and the transaction's own recipient.
fn recipient_addresses(cx: &Context, sends: &[SendFacts]) -> Vec<Address> {
    let item = cx.item;
    let mut recipient_addrs: Vec<Address> = vec![];
    let tx_to = item.tx.as_ref().and_then(|tx| tx.to).filter(|_| item.calls.is_empty());
    let plain_send = item.tx.as_ref().is_some_and(|tx| tx.data.is_empty());
    for a in sends
        .iter()
        .filter(|s| !s.to_zero && !s.to_token_contract)
        .filter_map(|s| s.to.parse::<Address>().ok())
        .chain(tx_to.filter(|_| plain_send))
    {
        if !recipient_addrs.contains(&a) {
            recipient_addrs.push(a);
        }
    }
    recipient_addrs
}

/// Fills in the recipient facts: seen, dust only, look-alike, known, kind.
fn recipient_facts(cx: &Context, recipient_addrs: &[Address]) -> Vec<RecipientFacts> {
    let t = cx.t;
    recipient_addrs
        .iter()
        .map(|&a| {
            let h = cx.history.get(&a);
            RecipientFacts {
                address: hex(a),
                seen: h.is_some(),
                dust_only: h
                    .is_some_and(|c| c.approvals == 0 && c.max_eth_sent < t.dust_wei && c.max_token_sent.is_zero()),
                lookalike_of: lookalike(a, cx.history, t).map(hex).unwrap_or_default(),
                known: cx.known(a),
                kind: cx.kind_of(a),
            }
        })
        .collect()
}

/// Fills in every address with its role, checked against the blocklist.
fn address_facts(cx: &Context, recipient_addrs: &[Address]) -> Vec<AddressFacts> {
    let (item, report, sig) = (cx.item, cx.report, cx.sig);
    let mut roles: Vec<(Address, &str)> = vec![];
    roles.extend(item.tx.as_ref().and_then(|tx| tx.to).map(|a| (a, "to")));
    roles.extend(item.calls.iter().filter_map(|c| c.to).map(|a| (a, "to")));
    roles.extend(recipient_addrs.iter().map(|a| (*a, "recipient")));
    roles.extend(report.into_iter().flat_map(|r| r.approvals.iter().map(|a| (a.spender, "spender"))));
    roles.extend(sig.into_iter().flat_map(|s| s.approvals.iter().map(|a| (a.spender, "spender"))));
    roles.extend(sig.into_iter().flat_map(|s| s.transfers.iter().map(|t| (t.to, "recipient"))));
    roles.extend(sig.and_then(|s| s.verifying_contract).map(|a| (a, "verifying_contract")));
    roles.extend(
        report.into_iter().flat_map(|r| r.calls.iter().flat_map(|c| [(c.to, "called"), (c.code_address, "called")])),
    );
    roles
        .extend(report.into_iter().flat_map(|r| r.delegations.iter().filter_map(|d| d.after).map(|a| (a, "delegate"))));
    roles.extend(item.tx.iter().flat_map(|tx| tx.authorization_list.iter().map(|a| (a.address, "delegate"))));
    let mut addresses: Vec<AddressFacts> = vec![];
    for (a, role) in roles.into_iter().filter(|(a, _)| !a.is_zero()) {
        if addresses.iter().any(|x| x.address == hex(a) && x.role == role) {
            continue;
        }
        let listed = cx.item.intel.iter().flat_map(|i| i.listed.iter()).find(|l| l.address == a);
        let allowed = cx.item.intel.as_ref().is_some_and(|i| i.allowed.contains(&a));
        let reason = match (cx.lists.blocked(cx.chain_id, a).filter(|_| !allowed), listed) {
            (Some(r), _) => Some(r.to_owned()),
            (None, Some(l)) => Some(format!("{} (list {}, {}; {})", l.label, l.list, l.date, l.source)),
            (None, None) => None,
        };
        addresses.push(AddressFacts {
            address: hex(a),
            role: role.into(),
            blocked: reason.is_some(),
            list: listed.map(|l| l.list.clone()).unwrap_or_default(),
            block_reason: reason.unwrap_or_default(),
        });
    }
    // Listed addresses the request reaches some other way (a token's sender, an inner call).
    for l in cx.item.intel.iter().flat_map(|i| i.listed.iter()) {
        if !addresses.iter().any(|x| x.address == hex(l.address)) {
            addresses.push(AddressFacts {
                address: hex(l.address),
                role: "touched".into(),
                blocked: true,
                block_reason: format!("{} (list {}, {}; {})", l.label, l.list, l.date, l.source),
                list: l.list.clone(),
            });
        }
    }
    addresses
}

/// Fills in the tokens moved or approved, checked against the token list.
fn token_facts(cx: &Context, approvals: &[ApprovalFacts]) -> Vec<TokenFacts> {
    let (lists, chain_id) = (cx.lists, cx.chain_id);
    let mut tokens: Vec<TokenFacts> = vec![];
    let assets = cx
        .report
        .into_iter()
        .flat_map(|r| r.transfers.iter().map(|t| &t.asset))
        .chain(cx.sig.into_iter().flat_map(|s| s.transfers.iter().map(|t| &t.asset)))
        .filter_map(|a| Some((a.token?, a.symbol.clone().unwrap_or_default())));
    let approved = approvals.iter().map(|a| (a.token.parse::<Address>().unwrap_or_default(), a.symbol.clone()));
    for (token, symbol) in assets.chain(approved) {
        if token.is_zero() || tokens.iter().any(|t| t.token == hex(token)) {
            continue;
        }
        tokens.push(TokenFacts {
            token: hex(token),
            listed: lists.token(chain_id, token).is_some(),
            impersonates: if symbol.is_empty() {
                String::new()
            } else {
                lists.impersonated(chain_id, token, &symbol).map(hex).unwrap_or_default()
            },
            famous_symbol: lists.token(chain_id, token).is_none() && lists.famous(&symbol),
            symbol,
        });
    }
    tokens
}

/// Fills in the EIP-7702 delegations the request sets or clears, checked against the allowlist.
fn delegation_facts(cx: &Context) -> Vec<DelegationFacts> {
    cx.report
        .into_iter()
        .flat_map(|r| r.delegations.iter())
        .map(|d| DelegationFacts {
            authority: hex(d.authority),
            target: d.after.map(hex).unwrap_or_default(),
            cleared: d.after.is_none(),
            allowed: d.after.is_none_or(|a| cx.lists.delegate_allowed(cx.chain_id, a)),
        })
        .collect()
}

/// Fills in the ETH facts: what the sender gives, its balance, the share of it, and the fee.
fn eth_facts(cx: &Context) -> EthFacts {
    let report = cx.report;
    let sent_wei = report
        .map(|r| {
            r.asset_changes
                .iter()
                .filter(|c| c.address == cx.from && c.asset.kind == AssetKind::Eth)
                .map(|c| c.sent.saturating_sub(c.received))
                .fold(U256::ZERO, |a, b| a + b)
        })
        .unwrap_or_default();
    let balance = report.map(|r| r.from_balance).unwrap_or_default();
    EthFacts {
        sent: units(sent_wei, Some(18)),
        balance: units(balance, Some(18)),
        share_of_balance: if sent_wei.is_zero() {
            0.0
        } else if balance.is_zero() {
            1.0
        } else {
            units(sent_wei, Some(18)) / units(balance, Some(18))
        },
        fee: report.map(|r| units(r.fee, Some(18))).unwrap_or(0.0),
    }
}

impl Facts {
    /// Facts with one of everything (every list non-empty): rule checks run every expression
    /// over it, and the reference page is tested against it.
    pub fn sample() -> Facts {
        let a = "0x1111111111111111111111111111111111111111".to_owned();
        let b = "0x2222222222222222222222222222222222222222".to_owned();
        Facts {
            request: RequestFacts {
                method: "eth_sendTransaction".into(),
                kind: "transaction".into(),
                chain_id: 1,
                from: a.clone(),
                to: b.clone(),
                value: "1000000000000000000".into(),
                value_eth: 1.0,
                data_size: 68,
                function: "transfer(address to, uint256 amount)".into(),
                signature_kind: String::new(),
                unreadable: vec!["message.spender".into()],
                nonce: 7,
                next_nonce: 5,
            },
            verification: VerificationFacts {
                mode: "verified".into(),
                status: "verified".into(),
                error: String::new(),
            },
            simulated: true,
            simulation_error: String::new(),
            outcome: OutcomeFacts { status: "success".into(), reason: String::new() },
            eth: EthFacts { sent: 1.0, balance: 4.0, share_of_balance: 0.25, fee: 0.001 },
            approvals: vec![ApprovalFacts {
                source: "transaction".into(),
                kind: "erc20".into(),
                token: b.clone(),
                symbol: "TST".into(),
                owner: a.clone(),
                spender: b.clone(),
                spender_kind: "contract".into(),
                spender_seen: false,
                spender_known: false,
                spender_known_kind: String::new(),
                spender_name: String::new(),
                before: "0".into(),
                after: "5".into(),
                after_units: 5.0,
                unlimited: false,
                revoke: false,
                spender_age_seconds: 60,
                spender_untouched: false,
            }],
            sends: vec![SendFacts {
                kind: "erc20".into(),
                token: b.clone(),
                symbol: "TST".into(),
                token_id: String::new(),
                to: b.clone(),
                amount: "5".into(),
                amount_units: 5.0,
                event: "Transfer".into(),
                to_token_contract: false,
                to_zero: false,
                to_seen: true,
                to_known: false,
                to_kind: "eoa".into(),
                share_of_balance: 0.5,
            }],
            forwards: vec![ForwardFacts {
                via: b.clone(),
                to: a.clone(),
                eth: 1.0,
                to_seen: false,
                to_known: false,
                to_kind: "eoa".into(),
            }],
            outflows: vec![OutflowFacts {
                to: b.clone(),
                assets: 1,
                to_seen: true,
                to_known: false,
                to_kind: "eoa".into(),
            }],
            recipients: vec![RecipientFacts {
                address: b.clone(),
                seen: true,
                dust_only: false,
                lookalike_of: String::new(),
                known: false,
                kind: "eoa".into(),
            }],
            addresses: vec![AddressFacts {
                address: b.clone(),
                role: "to".into(),
                blocked: false,
                block_reason: String::new(),
                list: String::new(),
            }],
            tokens: vec![TokenFacts {
                token: b.clone(),
                symbol: "TST".into(),
                listed: false,
                impersonates: String::new(),
                famous_symbol: false,
            }],
            contracts: vec![ContractFacts {
                address: b.clone(),
                age_seconds: 60,
                created_block: 10,
                age_unknown: String::new(),
                code_size: 20,
                proxy: "eip1967".into(),
                implementation: b.clone(),
                admin: a.clone(),
                admin_eoa: true,
                marks: vec!["fallback-only".into(), "drainer-code".into(), "tiny-code".into(), "bait-payable".into()],
                mark_details: vec![
                    "no function selectors".into(),
                    "a sweeper".into(),
                    "20 bytes of code".into(),
                    "claim() takes the ETH you send and passes it on to 0x11…".into(),
                ],
                bait: "claim() takes the ETH you send and passes it on to 0x11…".into(),
            }],
            intent: IntentFacts {
                asked: true,
                summary: "send 0.1 ETH to 0x2222…".into(),
                mismatches: vec!["1 ETH goes to 0x2222…, which was not asked".into()],
            },
            resale: vec![ResaleFacts {
                token: b.clone(),
                symbol: "TST".into(),
                transfer_ok: true,
                transfer_tax_pct: 0.0,
                transfer_detail: String::new(),
                sell_tried: true,
                sell_ok: true,
                sell_tax_pct: 90.0,
                sell_detail: String::new(),
                buy_tax_pct: -1.0,
            }],
            delegations: vec![DelegationFacts { authority: a, target: b, cleared: false, allowed: false }],
            divergences: vec![DivergenceFacts {
                environment: "a block one hour later".into(),
                difference: "it reverts".into(),
            }],
            mismatches: vec!["token …: its logs say …".into()],
            gas: sample_gas(),
            swap: sample_swap(),
            habits: sample_habits(),
        }
    }
}

/// The sample's fee advice (see [`Facts::sample`]).
fn sample_gas() -> GasFacts {
    GasFacts {
        advised: true,
        named: true,
        tip_gwei: 2.0,
        max_fee_gwei: 30.0,
        next_base_fee_gwei: 12.0,
        recent_tip_gwei: 1.5,
        suggested_tip_gwei: 1.5,
        suggested_max_fee_gwei: 25.5,
        overpay_eth: 0.00001,
        adjustable: true,
    }
}

/// The sample's swap quote.
fn sample_swap() -> SwapFacts {
    SwapFacts {
        quoted: true,
        exact_output: false,
        symbol_in: String::new(),
        max_in_units: -1.0,
        expected_in_units: -1.0,
        token_out: "0x3333333333333333333333333333333333333333".into(),
        symbol_out: "TST".into(),
        expected_out_units: 99.0,
        min_out_units: 0.0,
        slippage: 1.0,
        slippage_pct: 100.0,
        exposed_units: 99.0,
        better_route_gain: 0.25,
        better_route_gain_pct: 25.0,
        better_route: "0x… → 0x… → 0x…".into(),
    }
}

/// The sample's sender habits.
fn sample_habits() -> HabitsFacts {
    HabitsFacts {
        sends: 12,
        days_known: 40.5,
        median_eth: 0.01,
        max_eth: 0.2,
        sends_last_10_min: 1,
        sends_last_hour: 3,
        new_tokens: vec!["0x4444444444444444444444444444444444444444".into()],
    }
}
