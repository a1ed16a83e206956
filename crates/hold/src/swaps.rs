//! Swaps through Uniswap routers, quoted on the state the item was simulated on (verified
//! state where verification is on), next to the least the request accepts:
//! - V2 routers: the router's own `getAmountsOut` for the person's route and the alternatives
//!   the router offers (direct, or through WETH);
//! - V3 SwapRouter and SwapRouter02 (`exactInputSingle`, `exactInput`): the person's expected
//!   output is what the simulation gave the recipient; the other routes (each fee tier direct,
//!   and through WETH) are quoted by running the same call with that path (and no minimum)
//!   through the simulator;
//! - the Universal Router (one exact-input swap command, V2 or V3): the same, and there the
//!   alternatives cover V2 and V3 pools both, as the router reaches both ([`universal`]);
//! - any other exact-input swap Airlock decodes: the output the simulation gave the recipient,
//!   next to the least it accepts.
//!
//! Each exact-input swap is then quoted on the kind of pools it does not use, through the V2
//! router or V3 QuoterV2 the known list names for the chain ([`Venues`]).

mod universal;

use airlock_sim::Head;
use airlock_types::{OutcomeStatus, SimulationReport, SwapQuote, SwapRoute, TxView};
use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;

use airlock_chain::StateFrom;

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
            struct ExactInputParams { bytes path; address recipient; uint256 deadline; uint256 amountIn; uint256 amountOutMinimum; }
            function exactInput(ExactInputParams params) returns (uint256 amountOut);
            function WETH9() returns (address);
        }
    }
    /// QuoterV2 (v3-periphery's lens): a V3 path's output, without sending anything.
    pub mod quoter {
        alloy_sol_types::sol! {
            function quoteExactInput(bytes path, uint256 amountIn) returns (uint256 amountOut, uint160[] sqrtPriceX96AfterList, uint32[] initializedTicksCrossedList, uint256 gasEstimate);
        }
    }
    /// SwapRouter02 (no deadline in the structs).
    pub mod v3b {
        alloy_sol_types::sol! {
            struct ExactInputSingleParams { address tokenIn; address tokenOut; uint24 fee; address recipient; uint256 amountIn; uint256 amountOutMinimum; uint160 sqrtPriceLimitX96; }
            function exactInputSingle(ExactInputSingleParams params) returns (uint256 amountOut);
            struct ExactInputParams { bytes path; address recipient; uint256 amountIn; uint256 amountOutMinimum; }
            function exactInput(ExactInputParams params) returns (uint256 amountOut);
        }
    }
}

/// The fee tiers a V3 factory enables by default (0.01%, 0.05%, 0.3%, 1%).
const V3_FEES: [u32; 4] = [100, 500, 3000, 10000];
/// The tiers tried on each hop of a V3 route through WETH (the deep ones on most chains).
const V3_HOP_FEES: [u32; 2] = [500, 3000];

/// The routes worth quoting from `token_in` to `token_out`: direct, and through WETH where it
/// is known and neither end is WETH; on V2 pools, V3 pools, or both.
fn candidates(token_in: Address, token_out: Address, weth: Option<Address>, v2: bool, v3: bool) -> Vec<SwapRoute> {
    let route =
        |venue: &str, path: Vec<Address>, fees: Vec<u32>| SwapRoute { venue: venue.into(), path, fees, out: None };
    let via = weth.filter(|w| *w != token_in && *w != token_out);
    let mut out = vec![];
    if v2 {
        out.push(route(SwapRoute::V2, vec![token_in, token_out], vec![]));
        out.extend(via.map(|w| route(SwapRoute::V2, vec![token_in, w, token_out], vec![])));
    }
    if v3 {
        out.extend(V3_FEES.map(|f| route(SwapRoute::V3, vec![token_in, token_out], vec![f])));
        if let Some(w) = via {
            for a in V3_HOP_FEES {
                out.extend(V3_HOP_FEES.map(|b| route(SwapRoute::V3, vec![token_in, w, token_out], vec![a, b])));
            }
        }
    }
    out
}

/// A V3 path as the routers take it: token, then (fee, token) for each hop.
fn v3_path(route: &SwapRoute) -> Vec<u8> {
    let mut out = route.path[0].to_vec();
    for (fee, token) in route.fees.iter().zip(&route.path[1..]) {
        out.extend_from_slice(&fee.to_be_bytes()[1..]);
        out.extend_from_slice(token.as_slice());
    }
    out
}

/// The route an encoded V3 path takes; None when it is not one.
fn v3_route(path: &[u8]) -> Option<SwapRoute> {
    if path.len() < 43 || !(path.len() - 20).is_multiple_of(23) {
        return None;
    }
    let mut tokens = vec![Address::from_slice(&path[..20])];
    let mut fees = vec![];
    for hop in path[20..].chunks(23) {
        fees.push(u32::from_be_bytes([0, hop[0], hop[1], hop[2]]));
        tokens.push(Address::from_slice(&hop[3..]));
    }
    Some(SwapRoute { venue: SwapRoute::V3.into(), path: tokens, fees, out: None })
}

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

/// Contracts on this chain that quote the pools a request does not go through: a Uniswap V2
/// Router02 (its `getAmountsOut`) and a V3 QuoterV2 (`quoteExactInput`), from the known list.
#[derive(Debug, Clone, Default)]
pub struct Venues {
    /// A Uniswap V2 Router02 whose getAmountsOut quotes the V2 pairs.
    pub v2_router: Option<Address>,
    /// A Uniswap V3 QuoterV2 whose quoteExactInput quotes the V3 pools.
    pub v3_quoter: Option<Address>,
}

/// The quote for `report`'s swap (of `tx`); None when it is not a swap Airlock knows, or its
/// own route cannot be quoted. An exact-input swap through one kind of pools (V2 or V3) is
/// also quoted on the other kind, where `venues` names a contract for it.
pub async fn quote(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    tx: &TxView,
    report: &SimulationReport,
    venues: &Venues,
) -> Option<SwapQuote> {
    let quoted = match report.call.as_ref()?.source.as_deref() {
        Some("uniswap-v3") => quote_v3(sim, head, tx, report).await,
        Some("universal-router") => universal::quote(sim, head, tx, report).await,
        _ => None,
    };
    let quoted = match quoted {
        Some(q) => Some(q),
        None => match exact_input(report) {
            Some(swap) => quote_v2(sim, head, report, swap).await,
            None => simulated(report),
        },
    };
    let mut q = quoted?;
    if q.max_in.is_none() {
        other_venues(sim, head, &mut q, venues).await;
    }
    Some(q)
}

/// A read-only call's output, when it succeeds.
async fn read(sim: &airlock_sim::Simulator<StateFrom>, head: &Head, to: Address, data: Vec<u8>) -> Option<Bytes> {
    let call = TxView { to: Some(to), data: Bytes::from(data), ..TxView::default() };
    match sim.call(head, &call).await {
        Ok(r) if r.outcome.status == OutcomeStatus::Success => Some(r.outcome.output),
        _ => None,
    }
}

/// What a V2 router's `getAmountsOut` gives at the end of `path`.
async fn v2_out(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    router: Address,
    amount_in: U256,
    path: Vec<Address>,
) -> Option<U256> {
    let out = read(sim, head, router, abi::getAmountsOutCall { amountIn: amount_in, path }.abi_encode()).await?;
    abi::getAmountsOutCall::abi_decode_returns(&out).ok()?.last().copied()
}

/// A swap through a V2 router: its own quote for the person's path and the others it offers.
async fn quote_v2(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    report: &SimulationReport,
    (router, amount_in, min_out, path): (Address, U256, U256, Vec<Address>),
) -> Option<SwapQuote> {
    let expected_out = v2_out(sim, head, router, amount_in, path.clone()).await?;
    let weth = read(sim, head, router, abi::WETHCall {}.abi_encode()).await;
    let weth = weth.and_then(|out| abi::WETHCall::abi_decode_returns(&out).ok());
    let (first, last) = (path[0], path[path.len() - 1]);
    let own = SwapRoute { venue: SwapRoute::V2.into(), path, fees: vec![], out: Some(expected_out) };
    let mut routes = vec![own.clone()];
    for mut route in candidates(first, last, weth, true, false) {
        if !route.same_route(&own) {
            route.out = v2_out(sim, head, router, amount_in, route.path.clone()).await;
            routes.push(route);
        }
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
        ..SwapQuote::default()
    })
}

/// What `route` gives for `amount_in`: a V2 route by the router's getAmountsOut, a V3 route by
/// the QuoterV2; none without a venue for it or a pool on it.
async fn route_out(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    route: &SwapRoute,
    amount_in: U256,
    venues: &Venues,
) -> Option<U256> {
    match (route.venue.as_str(), venues.v2_router, venues.v3_quoter) {
        (SwapRoute::V2, Some(router), _) => v2_out(sim, head, router, amount_in, route.path.clone()).await,
        (SwapRoute::V3, _, Some(quoter)) => {
            let call = abi::quoter::quoteExactInputCall { path: Bytes::from(v3_path(route)), amountIn: amount_in };
            read(sim, head, quoter, call.abi_encode())
                .await
                .and_then(|out| abi::quoter::quoteExactInputCall::abi_decode_returns(&out).ok())
                .map(|r| r.amountOut)
        }
        _ => None,
    }
}

/// Every route from `token_in` to `token_out` that `venues` quote for `amount_in` (direct and
/// through `weth`, on V2 and V3 pools), best first; routes with no pool are left out. A
/// proposed swap takes the first.
pub(crate) async fn best_routes(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    (token_in, token_out, weth): (Address, Address, Option<Address>),
    amount_in: U256,
    venues: &Venues,
) -> Vec<SwapRoute> {
    let mut out = vec![];
    for mut route in candidates(token_in, token_out, weth, venues.v2_router.is_some(), venues.v3_quoter.is_some()) {
        route.out = route_out(sim, head, &route, amount_in, venues).await.filter(|o| !o.is_zero());
        if route.out.is_some() {
            out.push(route);
        }
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.out));
    out
}

/// A V3 route as SwapRouter's `exactInput` takes it.
pub(crate) fn encoded_v3_path(route: &SwapRoute) -> Bytes {
    Bytes::from(v3_path(route))
}

/// Adds the kind of pools `q` has no route on (V2 or V3), quoted through `venues`: the same
/// amount in, direct and through WETH.
async fn other_venues(sim: &airlock_sim::Simulator<StateFrom>, head: &Head, q: &mut SwapQuote, venues: &Venues) {
    let has = |q: &SwapQuote, venue: &str| q.routes.iter().any(|r| r.venue == venue);
    let v2 = venues.v2_router.filter(|_| !has(q, SwapRoute::V2));
    let v3 = venues.v3_quoter.filter(|_| !has(q, SwapRoute::V3));
    if v2.is_none() && v3.is_none() {
        return;
    }
    // WETH as the venue knows it (the router's WETH(), the quoter's WETH9()).
    let weth = match (v2, v3) {
        (Some(router), _) => read(sim, head, router, abi::WETHCall {}.abi_encode())
            .await
            .and_then(|out| abi::WETHCall::abi_decode_returns(&out).ok()),
        (None, Some(quoter)) => read(sim, head, quoter, abi::v3::WETH9Call {}.abi_encode())
            .await
            .and_then(|out| abi::v3::WETH9Call::abi_decode_returns(&out).ok()),
        (None, None) => None,
    };
    let only = Venues { v2_router: v2, v3_quoter: v3 };
    for mut route in candidates(q.token_in, q.token_out, weth, v2.is_some(), v3.is_some()) {
        route.out = route_out(sim, head, &route, q.amount_in, &only).await;
        q.routes.push(route);
    }
}

/// A V3 router's exact-input call, of either router (SwapRouter takes a deadline in its
/// structs, SwapRouter02 does not), one hop or a path.
enum V3Call {
    Single(abi::v3::ExactInputSingleParams),
    Single02(abi::v3b::ExactInputSingleParams),
    Path(abi::v3::ExactInputParams),
    Path02(abi::v3b::ExactInputParams),
}

impl V3Call {
    fn decode(data: &[u8]) -> Option<V3Call> {
        use abi::{v3, v3b};
        (v3::exactInputSingleCall::abi_decode(data).map(|c| V3Call::Single(c.params)).ok())
            .or_else(|| v3b::exactInputSingleCall::abi_decode(data).map(|c| V3Call::Single02(c.params)).ok())
            .or_else(|| v3::exactInputCall::abi_decode(data).map(|c| V3Call::Path(c.params)).ok())
            .or_else(|| v3b::exactInputCall::abi_decode(data).map(|c| V3Call::Path02(c.params)).ok())
    }

    /// The route the call takes.
    fn route(&self) -> Option<SwapRoute> {
        let single = |tin: Address, tout: Address, fee: u32| SwapRoute {
            venue: SwapRoute::V3.into(),
            path: vec![tin, tout],
            fees: vec![fee],
            out: None,
        };
        match self {
            V3Call::Single(p) => Some(single(p.tokenIn, p.tokenOut, p.fee.to())),
            V3Call::Single02(p) => Some(single(p.tokenIn, p.tokenOut, p.fee.to())),
            V3Call::Path(p) => v3_route(&p.path),
            V3Call::Path02(p) => v3_route(&p.path),
        }
    }

    /// The same call (recipient, amount, deadline) through `route`, with no minimum.
    fn through(&self, route: &SwapRoute) -> Vec<u8> {
        use abi::{v3, v3b};
        let path = Bytes::from(v3_path(route));
        let with_deadline = |recipient, deadline, amount_in| {
            let params = v3::ExactInputParams {
                path: path.clone(),
                recipient,
                deadline,
                amountIn: amount_in,
                amountOutMinimum: U256::ZERO,
            };
            v3::exactInputCall { params }.abi_encode()
        };
        let without = |recipient, amount_in| {
            let params = v3b::ExactInputParams {
                path: path.clone(),
                recipient,
                amountIn: amount_in,
                amountOutMinimum: U256::ZERO,
            };
            v3b::exactInputCall { params }.abi_encode()
        };
        match self {
            V3Call::Single(p) => with_deadline(p.recipient, p.deadline, p.amountIn),
            V3Call::Path(p) => with_deadline(p.recipient, p.deadline, p.amountIn),
            V3Call::Single02(p) => without(p.recipient, p.amountIn),
            V3Call::Path02(p) => without(p.recipient, p.amountIn),
        }
    }
}

/// A V3 router's exact-input swap: the person's route as the simulation ran it, and each other
/// route (every fee tier direct, and through the router's WETH) by running the same call
/// through it.
async fn quote_v3(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    tx: &TxView,
    report: &SimulationReport,
) -> Option<SwapQuote> {
    let call = V3Call::decode(&tx.data)?;
    let own = call.route()?;
    let mut q = simulated(report)?;
    q.routes[0] = SwapRoute { out: Some(q.expected_out), ..own.clone() };
    let weth = read(sim, head, report.to?, abi::v3::WETH9Call {}.abi_encode()).await;
    let weth = weth.and_then(|out| abi::v3::WETH9Call::abi_decode_returns(&out).ok());
    for mut route in candidates(q.token_in, q.token_out, weth, false, true) {
        if route.same_route(&own) {
            continue;
        }
        let run = TxView {
            from: Some(report.from),
            to: report.to,
            value: report.value,
            data: Bytes::from(call.through(&route)),
            ..TxView::default()
        };
        route.out = match sim.call(head, &run).await {
            Ok(r) if r.outcome.status == OutcomeStatus::Success => {
                abi::v3::exactInputCall::abi_decode_returns(&r.outcome.output).ok()
            }
            _ => None,
        };
        q.routes.push(route);
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
    let route = match args.get("path") {
        Some(serde_json::Value::Array(p)) => {
            let path: Vec<Address> = p.iter().filter_map(|v| v.as_str()?.parse().ok()).collect();
            if path.len() < 2 {
                return None;
            }
            SwapRoute { venue: SwapRoute::V2.into(), path, fees: vec![], out: None }
        }
        // A V3 path: token (20 bytes), then fee (3) and token for each hop.
        Some(serde_json::Value::String(h)) => v3_route(&alloy_primitives::hex::decode(h).ok()?)?,
        _ => SwapRoute {
            venue: SwapRoute::V3.into(),
            path: vec![address("tokenIn")?, address("tokenOut")?],
            fees: number("fee").map(|f| vec![f.saturating_to()]).unwrap_or_default(),
            out: None,
        },
    };
    let (token_in, token_out) = (route.path[0], route.path[route.path.len() - 1]);
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
        routes: vec![SwapRoute { out: Some(got.received), ..route }],
        ..SwapQuote::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_paths_round_trip_and_routes_cover_both_pools() {
        let (a, w, b) = (Address::repeat_byte(1), Address::repeat_byte(2), Address::repeat_byte(3));
        let two_hops =
            SwapRoute { venue: SwapRoute::V3.into(), path: vec![a, w, b], fees: vec![500, 10000], out: None };
        let path = v3_path(&two_hops);
        assert_eq!(path.len(), 20 + 2 * 23);
        assert_eq!(&path[20..23], &[0x00, 0x01, 0xf4]);
        assert_eq!(v3_route(&path), Some(two_hops.clone()));
        assert_eq!(v3_route(&path[..50]), None, "a cut path is not a route");
        assert_eq!(two_hops.describe(|x| format!("{}", x.0[0])), "Uniswap V3 1 → 2 → 3 (0.05%, 1% fee pools)");

        // Both kinds of pools, direct and through WETH: 2 V2, 4 tiers, 4 tier pairs.
        let all = candidates(a, b, Some(w), true, true);
        assert_eq!(all.len(), 10);
        assert!(all.iter().any(|r| r.venue == SwapRoute::V2 && r.path == [a, w, b]));
        assert!(all.iter().any(|r| r.fees == [3000, 500] && r.path == [a, w, b]));
        // Paying in WETH: nothing goes through it.
        assert!(candidates(w, b, Some(w), true, true).iter().all(|r| r.path.len() == 2));
        assert_eq!(candidates(a, b, None, false, true).len(), 4);
    }
}
