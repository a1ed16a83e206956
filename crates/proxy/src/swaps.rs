//! Swaps through a Uniswap V2 router (exact input): the router's own quote on the same state
//! for the person's route and for the alternatives the router offers (direct, or through
//! WETH), next to the least the request accepts. Quotes are `getAmountsOut` calls run by the
//! simulator on the head the item was simulated on: verified state where verification is on.

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

/// The quote for `report`'s swap; None when it is not an exact-input V2 swap or the router
/// cannot quote the person's own route.
pub async fn quote(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    report: &SimulationReport,
) -> Option<SwapQuote> {
    let (router, amount_in, min_out, path) = exact_input(report)?;
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
    let mut routes = vec![SwapRoute { path: path.clone(), out: Some(expected_out) }];
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
        routes.push(SwapRoute { path: alt, out });
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
    })
}
