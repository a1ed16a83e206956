//! Swaps through Uniswap routers (exact input), quoted on the state the item was simulated on
//! (verified state where verification is on), next to the least the request accepts:
//! - V2 routers: the router's own `getAmountsOut` for the person's route and the alternatives
//!   the router offers (direct, or through WETH);
//! - V3 SwapRouter and SwapRouter02 (`exactInputSingle`): the person's expected output is what
//!   the simulation gave the recipient; the other fee tiers are quoted by running the same call
//!   with that tier (and no minimum) through the simulator;
//! - any other exact-input swap Airlock decodes (V3 `exactInput` paths, the Universal Router's
//!   `V2_SWAP_EXACT_IN` and `V3_SWAP_EXACT_IN` commands): the output the simulation gave the
//!   recipient, next to the least it accepts, with no alternatives quoted.

use airlock_sim::Head;
use airlock_types::{OutcomeStatus, SimulationReport, SwapQuote, SwapRoute, TxView};
use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;

use crate::sources::StateFrom;

mod abi {
    alloy_sol_types::sol! {
        function getAmountsOut(uint256 amountIn, address[] path) returns (uint256[] amounts);
        function WETH() returns (address);
    }
    /// SwapRouter (with a deadline).
    pub mod v3 {
        alloy_sol_types::sol! {
            struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            function exactInputSingle(ExactInputSingleParams params) returns (uint256 amountOut);
        }
    }
    /// SwapRouter02 (no deadline in the struct).
    pub mod v3b {
        alloy_sol_types::sol! {
            struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            function exactInputSingle(ExactInputSingleParams params) returns (uint256 amountOut);
        }
    }
}

/// The fee tiers a V3 factory enables by default (0.01%, 0.05%, 0.3%, 1%).
const V3_FEES: [u32; 4] = [100, 500, 3000, 10000];

/// The parts of an exact-input V2 swap: amount in, least out, path.
fn exact_input(report: &SimulationReport) -> Option<(Address, U256, U256, Vec<Address>)> {
    let call = report.call.as_ref()?;
    if call.source.as_deref() != Some("uniswap-v2") {
        return None;
    }
    let name = call.function.as_deref()?.split('(').next()?;
    if !name.starts_with("swapExact") {
        return None;
    }
    let arg = |n: &str| call.arguments.iter().find(|a| a.name == n).map(|a| &a.value);
    let number = |n: &str| arg(n)?.as_str()?.parse::<U256>().ok();
    let path: Vec<Address> =
        arg("path")?.as_array()?.iter().filter_map(|v| v.as_str()?.parse().ok()).collect::<Vec<_>>();
    if path.len() < 2 {
        return None;
    }
    let amount_in = if name.starts_with("swapExactETH") { report.value } else { number("amountIn")? };
    Some((report.to?, amount_in, number("amountOutMin")?, path))
}

/// The quote for `report`'s swap (of `tx`); None when it is not an exact-input swap Airlock
/// knows, or its own route cannot be quoted.
pub async fn quote(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    tx: &TxView,
    report: &SimulationReport,
) -> Option<SwapQuote> {
    if report.call.as_ref()?.source.as_deref() == Some("uniswap-v3")
        && let Some(q) = quote_v3(sim, head, tx, report).await
    {
        return Some(q);
    }
    let Some((router, amount_in, min_out, path)) = exact_input(report) else {
        return simulated(report);
    };
    let read = |data: Vec<u8>| TxView { to: Some(router), data: Bytes::from(data), ..TxView::default() };
    let amounts_out = |path: Vec<Address>| {
        let tx = read(abi::getAmountsOutCall { amountIn: amount_in, path }.abi_encode());
        async move {
            let r = sim.call(head, &tx).await.ok()?;
            if r.outcome.status != OutcomeStatus::Success {
                return None;
            }
            abi::getAmountsOutCall::abi_decode_returns(&r.outcome.output).ok()?.last().copied()
        }
    };
    let expected_out = amounts_out(path.clone()).await?;
    let weth = {
        let r = sim.call(head, &read(abi::WETHCall {}.abi_encode())).await.ok()?;
        abi::WETHCall::abi_decode_returns(&r.outcome.output).ok()
    };
    let (first, last) = (path[0], path[path.len() - 1]);
    let mut routes = vec![SwapRoute { path: path.clone(), fee: None, out: Some(expected_out) }];
    let mut alternatives = vec![];
    if path.len() > 2 {
        alternatives.push(vec![first, last]);
    }
    if let Some(weth) = weth
        && first != weth
        && last != weth
        && path != [first, weth, last]
    {
        alternatives.push(vec![first, weth, last]);
    }
    for alt in alternatives {
        let out = amounts_out(alt.clone()).await;
        routes.push(SwapRoute { path: alt, fee: None, out });
    }
    let out_asset = report.asset_changes.iter().find(|c| c.asset.token == Some(last)).map(|c| &c.asset);
    Some(SwapQuote {
        router,
        token_in: first,
        token_out: last,
        symbol_out: out_asset.and_then(|a| a.symbol.clone()),
        decimals_out: out_asset.and_then(|a| a.decimals),
        amount_in,
        min_out,
        expected_out,
        routes,
        max_in: None,
        expected_in: None,
        symbol_in: None,
        decimals_in: None,
    })
}

/// Another fee tier, and the calldata of the same call through it.
type OtherTier = (u32, Vec<u8>);

/// The fee tier of a V3 `exactInputSingle` (either router's), and the calldata of the same call
/// through each other tier with no minimum.
fn v3_single(data: &[u8]) -> Option<(u32, Vec<OtherTier>)> {
    macro_rules! variant {
        ($m:ident) => {
            if let Ok(c) = abi::$m::exactInputSingleCall::abi_decode(data) {
                let p = c.params;
                let fee = p.fee.to::<u32>();
                let others = V3_FEES
                    .into_iter()
                    .filter(|f| *f != fee)
                    .map(|f| {
                        let mut q = p.clone();
                        q.fee = alloy_primitives::Uint::from(f);
                        q.amountOutMinimum = U256::ZERO;
                        (f, abi::$m::exactInputSingleCall { params: q }.abi_encode())
                    })
                    .collect();
                return Some((fee, others));
            }
        };
    }
    variant!(v3);
    variant!(v3b);
    None
}

async fn quote_v3(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    tx: &TxView,
    report: &SimulationReport,
) -> Option<SwapQuote> {
    let (fee, others) = v3_single(&tx.data)?;
    // The person's own call: what the simulation gave the recipient.
    let mut q = simulated(report)?;
    q.routes[0].fee = Some(fee);
    for (other, data) in others {
        let call = TxView {
            from: Some(report.from),
            to: report.to,
            value: report.value,
            data: Bytes::from(data),
            ..TxView::default()
        };
        let out = match sim.call(head, &call).await {
            Ok(r) if r.outcome.status == OutcomeStatus::Success => {
                abi::v3::exactInputSingleCall::abi_decode_returns(&r.outcome.output).ok()
            }
            _ => None,
        };
        q.routes.push(SwapRoute { path: vec![q.token_in, q.token_out], fee: Some(other), out });
    }
    Some(q)
}

/// The least-output swap inside `report`'s call (or the calls it makes): its arguments by name,
/// from the call itself or its `params` tuple.
fn swap_args(call: &airlock_types::DecodedCall) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut args: serde_json::Map<String, serde_json::Value> =
        call.arguments.iter().map(|a| (a.name.clone(), a.value.clone())).collect();
    if let Some(serde_json::Value::Object(p)) = args.get("params").cloned() {
        args.extend(p);
    }
    let exact_output = ["amountInMax", "amountInMaximum"].iter().any(|k| args.contains_key(*k))
        || call.function.as_deref().is_some_and(|f| f.starts_with("swapETHForExactTokens("));
    if args.contains_key("amountOutMin") || args.contains_key("amountOutMinimum") || exact_output {
        return Some(args);
    }
    call.inner.iter().find_map(swap_args)
}

/// An exact-output swap: what the simulation shows the sender paying, next to the most it
/// accepts to pay.
fn simulated_exact_output(
    report: &SimulationReport,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Option<SwapQuote> {
    let number = |n: &str| args.get(n)?.as_str()?.parse::<U256>().ok();
    let address = |n: &str| args.get(n)?.as_str()?.parse::<Address>().ok();
    let amount_out = number("amountOut")?;
    // None: ETH paid in (swapETHForExactTokens), bounded by the value sent.
    let (token_in, token_out, eth_in) = match args.get("path") {
        Some(serde_json::Value::Array(p)) => {
            let p: Vec<Address> = p.iter().filter_map(|v| v.as_str()?.parse().ok()).collect();
            (*p.first()?, *p.last()?, !args.contains_key("amountInMax"))
        }
        // A V3 exact-output path runs backwards: the token out first.
        Some(serde_json::Value::String(h)) => {
            let b = alloy_primitives::hex::decode(h).ok()?;
            if b.len() < 43 {
                return None;
            }
            (Address::from_slice(&b[b.len() - 20..]), Address::from_slice(&b[..20]), false)
        }
        _ => (address("tokenIn")?, address("tokenOut")?, false),
    };
    let max_in = if eth_in { report.value } else { number("amountInMax").or_else(|| number("amountInMaximum"))? };
    let mine = |token: Option<Address>| {
        report.asset_changes.iter().find(|c| c.address == report.from && c.asset.token == token)
    };
    let paid = mine(if eth_in { None } else { Some(token_in) })?;
    let out = report.asset_changes.iter().find(|c| c.asset.token == Some(token_out) && !c.received.is_zero());
    Some(SwapQuote {
        router: report.to?,
        token_in,
        token_out,
        symbol_out: out.and_then(|c| c.asset.symbol.clone()),
        decimals_out: out.and_then(|c| c.asset.decimals),
        amount_in: paid.sent.saturating_sub(paid.received),
        min_out: amount_out,
        expected_out: amount_out,
        routes: vec![],
        max_in: Some(max_in),
        expected_in: Some(paid.sent.saturating_sub(paid.received)),
        symbol_in: if eth_in { Some("ETH".into()) } else { paid.asset.symbol.clone() },
        decimals_in: if eth_in { Some(18) } else { paid.asset.decimals },
    })
}

/// Any exact-input swap Airlock decodes: what the simulation gave the recipient, next to the
/// least the request accepts.
fn simulated(report: &SimulationReport) -> Option<SwapQuote> {
    if report.outcome.status != OutcomeStatus::Success {
        return None;
    }
    let args = swap_args(report.call.as_ref()?)?;
    if !args.contains_key("amountOutMin") && !args.contains_key("amountOutMinimum") {
        return simulated_exact_output(report, &args);
    }
    let number = |n: &str| args.get(n)?.as_str()?.parse::<U256>().ok();
    let address = |n: &str| args.get(n)?.as_str()?.parse::<Address>().ok();
    let min_out = number("amountOutMin").or_else(|| number("amountOutMinimum"))?;
    let (token_in, token_out) = match args.get("path") {
        Some(serde_json::Value::Array(p)) => {
            let p: Vec<Address> = p.iter().filter_map(|v| v.as_str()?.parse().ok()).collect();
            (*p.first()?, *p.last()?)
        }
        // A V3 path: token (20 bytes), then fee (3) and token for each hop.
        Some(serde_json::Value::String(h)) => {
            let b = alloy_primitives::hex::decode(h).ok()?;
            if b.len() < 43 {
                return None;
            }
            (Address::from_slice(&b[..20]), Address::from_slice(&b[b.len() - 20..]))
        }
        _ => (address("tokenIn")?, address("tokenOut")?),
    };
    // The Universal Router's recipient constants: 1 is the caller, 2 the router itself.
    let recipient = match address("recipient").or_else(|| address("to")) {
        Some(r) if r == Address::with_last_byte(1) || r == Address::with_last_byte(2) => report.from,
        Some(r) => r,
        None => report.from,
    };
    let got = report.asset_changes.iter().find(|c| c.address == recipient && c.asset.token == Some(token_out))?;
    Some(SwapQuote {
        router: report.to?,
        token_in,
        token_out,
        symbol_out: got.asset.symbol.clone(),
        decimals_out: got.asset.decimals,
        amount_in: number("amountIn").unwrap_or(report.value),
        min_out,
        expected_out: got.received,
        routes: vec![SwapRoute { path: vec![token_in, token_out], fee: None, out: Some(got.received) }],
        max_in: None,
        expected_in: None,
        symbol_in: None,
        decimals_in: None,
    })
}
