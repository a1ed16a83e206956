//! airlock-agent: what an agent (or a person typing) asks for, as a structured intent, and the
//! request Airlock builds from it itself. Free text never becomes a transaction: an intent is
//! validated deterministically (a token the list knows, an amount that parses, an address) and
//! built into an `eth_sendTransaction` for the same hold pipeline any wallet's request goes
//! through. After simulation, [`mismatches`] says where what it does differs from what was
//! asked; the rules make any difference danger.
//!
//! Pure: no I/O. Dependencies: types.

mod amount;
pub mod ask;

use airlock_types::{AssetKind, OpenApproval, SimulationReport};
use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::{SolCall, sol};
use serde::{Deserialize, Serialize};

pub use amount::parse_units;

sol! {
    function transfer(address to, uint256 amount) returns (bool);
    function approve(address spender, uint256 amount) returns (bool);
    function deposit();
    function withdraw(uint256 amount);
    function swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline);
    function swapExactTokensForETH(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
    function swapExactTokensForTokens(uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline);
    /// Uniswap V3's SwapRouter (v3-periphery).
    struct ExactInputParams { bytes path; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; }
    function exactInput(ExactInputParams params) returns (uint256 amountOut);
    function unwrapWETH9(uint256 amountMinimum, address recipient);
    function multicall(bytes[] data) returns (bytes[] results);
}

/// What is asked, structured. `from` may be left out when Airlock manages one account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Intent {
    /// ETH (no `token`) or a listed ERC-20, `amount` in whole units ("0.1").
    Send { from: Option<String>, to: String, amount: String, token: Option<String> },
    /// An ERC-20 allowance; `amount` in whole units or "unlimited".
    Approve { from: Option<String>, token: String, spender: String, amount: String },
    /// Sets an allowance or operator approval back to zero: the one the approvals watch lists
    /// as `approval` (its id), or the token's allowance to `spender`.
    Revoke { from: Option<String>, token: Option<String>, spender: Option<String>, approval: Option<String> },
    /// ETH into WETH.
    Wrap { from: Option<String>, amount: String },
    /// WETH back into ETH.
    Unwrap { from: Option<String>, amount: String },
    /// Anything else, as calldata: judged like any other call.
    Call { from: Option<String>, to: String, data: Option<String>, value: Option<String> },
    /// `amount` of `token_in` ("ETH" or a listed token) for as much `token_out` as the chain's
    /// Uniswap V2 router quotes, accepting at most `max_slippage_pct` less (default 0.5).
    Swap { from: Option<String>, token_in: String, token_out: String, amount: String, max_slippage_pct: Option<f64> },
}

/// A swap, planned: what to quote, before its minimum output is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapPlan {
    pub from: Address,
    pub router: Address,
    pub path: Vec<Address>,
    pub amount_in: U256,
    /// ETH in (paid as the transaction's value), ETH out, or neither.
    pub eth_in: bool,
    pub eth_out: bool,
    pub slippage_bps: u32,
    pub asked: String,
}

impl SwapPlan {
    /// The least output accepted for `quoted`: the quote less the slippage allowed.
    fn min_out(&self, quoted: U256) -> U256 {
        quoted * U256::from(10_000 - self.slippage_bps) / U256::from(10_000)
    }

    /// The swap through a Uniswap V3 SwapRouter on `path` (V3's encoding: token, then fee and
    /// token for each hop), with the least output accepted. ETH in is paid as the value (the
    /// router wraps it); ETH out is swapped to the router and unwrapped to the sender, in one
    /// multicall.
    pub fn finish_v3(&self, router: Address, path: Bytes, quoted: U256, deadline: u64, pool: &str) -> Built {
        let min_out = self.min_out(quoted);
        let (recipient, deadline) = (if self.eth_out { Address::ZERO } else { self.from }, U256::from(deadline));
        let params =
            ExactInputParams { path, recipient, deadline, amountIn: self.amount_in, amountOutMinimum: min_out };
        let swap = exactInputCall { params }.abi_encode();
        let data = if self.eth_out {
            let unwrap = unwrapWETH9Call { amountMinimum: min_out, recipient: self.from }.abi_encode();
            multicallCall { data: vec![swap.into(), unwrap.into()] }.abi_encode()
        } else {
            swap
        };
        let value = if self.eth_in { self.amount_in } else { U256::ZERO };
        let params = serde_json::json!([{
            "from": self.from, "to": router, "value": format!("{value:#x}"), "data": Bytes::from(data),
        }]);
        Built {
            params,
            asked: format!("{} via Uniswap V3 ({pool})", self.asked),
            expect: Expect { sends: vec![self.input(router)], approvals: vec![] },
        }
    }

    /// What leaves: the input, to the router (ETH) or a pool (a token; any address).
    fn input(&self, router: Address) -> (Option<Address>, Address, U256) {
        if self.eth_in { (None, router, self.amount_in) } else { (Some(self.path[0]), Address::ZERO, self.amount_in) }
    }

    /// The swap, with the least output accepted: the quote less the slippage allowed.
    pub fn finish(&self, quoted: U256, deadline: u64) -> Built {
        let min_out = self.min_out(quoted);
        let (path, to, deadline) = (self.path.clone(), self.from, U256::from(deadline));
        let (value, data) = match (self.eth_in, self.eth_out) {
            (true, _) => {
                (self.amount_in, swapExactETHForTokensCall { amountOutMin: min_out, path, to, deadline }.abi_encode())
            }
            (false, true) => {
                let call =
                    swapExactTokensForETHCall { amountIn: self.amount_in, amountOutMin: min_out, path, to, deadline };
                (U256::ZERO, call.abi_encode())
            }
            (false, false) => {
                let call = swapExactTokensForTokensCall {
                    amountIn: self.amount_in,
                    amountOutMin: min_out,
                    path,
                    to,
                    deadline,
                };
                (U256::ZERO, call.abi_encode())
            }
        };
        let params = serde_json::json!([{
            "from": self.from, "to": self.router, "value": format!("{value:#x}"), "data": Bytes::from(data),
        }]);
        Built {
            params,
            asked: format!("{} via Uniswap V2", self.asked),
            expect: Expect { sends: vec![self.input(self.router)], approvals: vec![] },
        }
    }
}

/// A token as the lists know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub address: Address,
    pub symbol: String,
    pub decimals: u8,
}

/// Where names are looked up: the token list of the chain Airlock is on.
pub trait Book {
    /// The listed token with this symbol or address.
    fn token(&self, name: &str) -> Result<Token, IntentError>;
    /// The chain's WETH.
    fn weth(&self) -> Option<Token>;
    /// The address an ENS name resolved to (resolved before building, on verified state).
    fn name(&self, name: &str) -> Result<Address, IntentError> {
        Err(IntentError::BadAddress(name.to_owned()))
    }
}

/// An intent that cannot be built, and why: the agent gets this as a tool error, and nothing
/// is held.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntentError {
    #[error("{0}")]
    Invalid(String),
    #[error("unknown token {0:?}: name a token on this chain's list, by symbol or address")]
    UnknownToken(String),
    #[error("{0:?} is not an address (0x and 40 hex digits) or an ENS name that resolves")]
    BadAddress(String),
}

/// What Airlock built: the `eth_sendTransaction` params, and the intent in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    pub params: serde_json::Value,
    pub asked: String,
    /// What the person should see leave and be granted, for the mismatch check.
    pub expect: Expect,
}

/// What a built request should do, and nothing more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expect {
    /// Assets that may leave the sender: (token, or none for ETH; recipient; amount).
    pub sends: Vec<(Option<Address>, Address, U256)>,
    /// Allowances that may be set: (token, spender, amount).
    pub approvals: Vec<(Address, Address, U256)>,
}

impl Intent {
    /// Names the account it sends from.
    pub fn set_from(&mut self, account: String) {
        match self {
            Intent::Send { from, .. }
            | Intent::Approve { from, .. }
            | Intent::Revoke { from, .. }
            | Intent::Wrap { from, .. }
            | Intent::Unwrap { from, .. }
            | Intent::Call { from, .. }
            | Intent::Swap { from, .. } => *from = Some(account),
        }
    }

    fn from(&self) -> Option<&str> {
        match self {
            Intent::Send { from, .. }
            | Intent::Approve { from, .. }
            | Intent::Revoke { from, .. }
            | Intent::Wrap { from, .. }
            | Intent::Unwrap { from, .. }
            | Intent::Call { from, .. }
            | Intent::Swap { from, .. } => from.as_deref(),
        }
    }
}

/// The account an intent sends from: its own `from`, or `default_from`.
pub fn sender(intent: &Intent, default_from: Option<Address>) -> Result<Address, IntentError> {
    match intent.from() {
        Some(f) => address(&NoNames, f).map(|(a, _)| a),
        None => default_from.ok_or_else(|| IntentError::Invalid("name the account to send from (`from`)".into())),
    }
}

/// Plans a swap through `router` (the chain's Uniswap V2 router): the path through WETH when
/// neither side is WETH, the input amount, the slippage allowed (0.5% unless given, at most 50%).
pub fn plan_swap(
    intent: &Intent,
    default_from: Option<Address>,
    router: Option<Address>,
    book: &impl Book,
) -> Result<SwapPlan, IntentError> {
    let Intent::Swap { token_in, token_out, amount, max_slippage_pct, .. } = intent else {
        return Err(IntentError::Invalid("not a swap".into()));
    };
    let from = sender(intent, default_from)?;
    let router = router.ok_or_else(|| IntentError::Invalid("no Uniswap router is known on this chain".into()))?;
    let weth = book.weth().ok_or_else(|| IntentError::Invalid("no WETH is listed for this chain".into()))?;
    let side = |name: &str| -> Result<(Token, bool), IntentError> {
        if name.trim().eq_ignore_ascii_case("ETH") { Ok((weth.clone(), true)) } else { Ok((book.token(name)?, false)) }
    };
    let ((tin, eth_in), (tout, eth_out)) = (side(token_in)?, side(token_out)?);
    if tin.address == tout.address {
        return Err(IntentError::Invalid("a swap needs two different tokens".into()));
    }
    let pct = max_slippage_pct.unwrap_or(0.5);
    if !(0.0..=50.0).contains(&pct) || pct.is_nan() {
        return Err(IntentError::Invalid(format!("max_slippage_pct {pct} is not between 0 and 50")));
    }
    let path = if tin.address == weth.address || tout.address == weth.address {
        vec![tin.address, tout.address]
    } else {
        vec![tin.address, weth.address, tout.address]
    };
    let amount_in = parse_units(amount, tin.decimals)?;
    let (sym_in, sym_out) =
        (if eth_in { "ETH".into() } else { tin.symbol }, if eth_out { "ETH".into() } else { tout.symbol });
    let asked = format!("swap {amount} {sym_in} for {sym_out}, at most {pct}% below the quote");
    Ok(SwapPlan { from, router, path, amount_in, eth_in, eth_out, slippage_bps: (pct * 100.0).round() as u32, asked })
}

/// Builds `intent` from `default_from` (when the intent names no sender). A swap needs a quote
/// first: [`plan_swap`].
pub fn build(intent: &Intent, default_from: Option<Address>, book: &impl Book) -> Result<Built, IntentError> {
    let from = sender(intent, default_from)?;
    let (to, value, data, asked, expect) = match intent {
        Intent::Send { to, amount, token: None, .. } => {
            let ((to, shown), wei) = (address(book, to)?, parse_units(amount, 18)?);
            let expect = Expect { sends: vec![(None, to, wei)], ..Default::default() };
            (to, wei, Bytes::new(), format!("send {amount} ETH to {shown}"), expect)
        }
        Intent::Send { to, amount, token: Some(t), .. } => {
            let ((to, shown), t) = (address(book, to)?, book.token(t)?);
            let units = parse_units(amount, t.decimals)?;
            let data = transferCall { to, amount: units }.abi_encode();
            let expect = Expect { sends: vec![(Some(t.address), to, units)], ..Default::default() };
            (t.address, U256::ZERO, data.into(), format!("send {amount} {} to {shown}", t.symbol), expect)
        }
        Intent::Approve { token, spender, amount, .. } => {
            let (t, (spender, shown)) = (book.token(token)?, address(book, spender)?);
            let units = if amount.trim().eq_ignore_ascii_case("unlimited") {
                U256::MAX
            } else {
                parse_units(amount, t.decimals)?
            };
            let data = approveCall { spender, amount: units }.abi_encode();
            let expect = Expect { approvals: vec![(t.address, spender, units)], ..Default::default() };
            (t.address, U256::ZERO, data.into(), format!("let {shown} spend {amount} {}", t.symbol), expect)
        }
        Intent::Revoke { token: Some(token), spender: Some(spender), approval: None, .. } => {
            let (t, (spender, shown)) = (book.token(token)?, address(book, spender)?);
            let data = approveCall { spender, amount: U256::ZERO }.abi_encode();
            let expect = Expect { approvals: vec![(t.address, spender, U256::ZERO)], ..Default::default() };
            (t.address, U256::ZERO, data.into(), format!("revoke {shown}'s {} allowance", t.symbol), expect)
        }
        Intent::Wrap { amount, .. } => {
            let weth = book.weth().ok_or_else(|| IntentError::Invalid("no WETH is listed for this chain".into()))?;
            let wei = parse_units(amount, 18)?;
            let expect = Expect { sends: vec![(None, weth.address, wei)], ..Default::default() };
            (weth.address, wei, depositCall {}.abi_encode().into(), format!("wrap {amount} ETH"), expect)
        }
        Intent::Unwrap { amount, .. } => {
            let weth = book.weth().ok_or_else(|| IntentError::Invalid("no WETH is listed for this chain".into()))?;
            let wad = parse_units(amount, 18)?;
            let expect = Expect { sends: vec![(Some(weth.address), Address::ZERO, wad)], ..Default::default() };
            (
                weth.address,
                U256::ZERO,
                withdrawCall { amount: wad }.abi_encode().into(),
                format!("unwrap {amount} WETH"),
                expect,
            )
        }
        Intent::Call { to, data, value, .. } => {
            let (to, _) = address(book, to)?;
            let data: Bytes = match data.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                Some(d) => d.parse().map_err(|_| IntentError::Invalid(format!("data {d:?} is not hex")))?,
                None => Bytes::new(),
            };
            let wei = match value {
                Some(v) => parse_units(v, 18)?,
                None => U256::ZERO,
            };
            let expect = Expect { sends: vec![(None, to, wei)], ..Default::default() };
            let asked = format!("call {to:#x} with {} bytes of data", data.len());
            (to, wei, data, asked, expect)
        }
        Intent::Revoke { approval: Some(_), .. } => {
            return Err(IntentError::Invalid("a revoke by approval id is built from the approvals watch".into()));
        }
        Intent::Revoke { .. } => {
            return Err(IntentError::Invalid(
                "a revoke names the approval (its id from `approvals`), or both token and spender".into(),
            ));
        }
        Intent::Swap { .. } => return Err(IntentError::Invalid("a swap is planned and quoted first".into())),
    };
    let mut params = serde_json::json!({ "from": from, "to": to, "value": format!("{value:#x}") });
    if !data.is_empty() {
        params["data"] = serde_json::json!(data);
    }
    Ok(Built { params: serde_json::json!([params]), asked, expect })
}

/// The revoke of an approval the watch lists: its own transaction (an ERC-20 or Permit2
/// allowance to zero, an NFT's approval cleared, an operator unset), from its owner.
pub fn revoke_open(open: &OpenApproval) -> Built {
    let r = &open.revoke;
    let params = serde_json::json!([{ "from": r.from, "to": r.to, "value": "0x0", "data": r.data }]);
    let what = open.symbol.clone().unwrap_or_else(|| format!("{:#x}", open.token));
    Built {
        params,
        asked: format!("revoke {:#x}'s {what} approval (watch id {})", open.spender, open.id),
        expect: Expect { approvals: vec![(open.token, open.spender, U256::ZERO)], ..Default::default() },
    }
}

/// An address written as hex, or an ENS name the book resolved; with how to show it.
fn address(book: &impl Book, s: &str) -> Result<(Address, String), IntentError> {
    let t = s.trim();
    match t.strip_prefix("0x") {
        Some(h) if h.len() == 40 && h.chars().all(|c| c.is_ascii_hexdigit()) => {
            let a: Address = t.parse().map_err(|_| IntentError::BadAddress(t.to_owned()))?;
            Ok((a, format!("{a:#x}")))
        }
        None if t.contains('.') => {
            let a = book.name(t)?;
            Ok((a, format!("{} ({a:#x})", t.to_ascii_lowercase())))
        }
        _ => Err(IntentError::BadAddress(t.to_owned())),
    }
}

/// No names: the sender is always written as an address.
struct NoNames;

impl Book for NoNames {
    fn token(&self, name: &str) -> Result<Token, IntentError> {
        Err(IntentError::UnknownToken(name.to_owned()))
    }
    fn weth(&self) -> Option<Token> {
        None
    }
}

/// The ENS names an intent writes where an address goes (`to`, `spender`).
pub fn names(intent: &Intent) -> Vec<String> {
    let fields: Vec<Option<&String>> = match intent {
        Intent::Send { to, .. } | Intent::Call { to, .. } => vec![Some(to)],
        Intent::Approve { spender, .. } => vec![Some(spender)],
        Intent::Revoke { spender, .. } => vec![spender.as_ref()],
        Intent::Wrap { .. } | Intent::Unwrap { .. } | Intent::Swap { .. } => vec![],
    };
    fields
        .into_iter()
        .flatten()
        .map(|f| f.trim())
        .filter(|f| f.contains('.') && !f.starts_with("0x"))
        .map(str::to_owned)
        .collect()
}

/// Where what the simulation shows differs from what was asked: another token, another
/// amount, another recipient, an allowance nobody asked for. Empty when they agree.
pub fn mismatches(expect: &Expect, from: Address, report: &SimulationReport) -> Vec<String> {
    let mut out = vec![];
    for t in report.transfers.iter().filter(|t| t.from == from && !t.amount.is_zero()) {
        let token = match t.asset.kind {
            AssetKind::Eth => None,
            _ => t.asset.token,
        };
        let asked = expect.sends.iter().any(|(tok, to, amount)| {
            *tok == token && (*to == t.to || (token.is_some() && to.is_zero())) && t.amount <= *amount
        });
        if !asked {
            let what = token.map_or("ETH".to_owned(), |a| format!("token {a:#x}"));
            out.push(format!("{} of {what} goes to {:#x}, which was not asked", t.amount, t.to));
        }
    }
    for a in &report.approvals {
        let asked =
            expect.approvals.iter().any(|(tok, sp, amt)| *tok == a.token && *sp == a.spender && a.after <= *amt);
        if !asked && !a.after.is_zero() {
            out.push(format!("{:#x} may spend {} of {:#x}, which was not asked", a.spender, a.after, a.token));
        }
    }
    out
}

#[cfg(test)]
mod tests;
