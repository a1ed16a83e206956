//! The Universal Router: `execute(commands, inputs[, deadline])`. A call with one exact-input
//! swap command (`V2_SWAP_EXACT_IN` or `V3_SWAP_EXACT_IN`) is quoted by running the same call
//! with that command replaced by each other route, on V2 and V3 pools, direct and through WETH,
//! with no minimum on the swap or on the payout after it (`UNWRAP_WETH`, `SWEEP`). What a
//! route gives is what the simulation shows its beneficiary receiving.

use airlock_sim::Head;
use airlock_types::{OutcomeStatus, SimulationReport, SwapQuote, SwapRoute, TxView};
use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::{SolCall, SolValue};

use super::{candidates, v3_path, v3_route};
use airlock_chain::StateFrom;

mod abi {
    alloy_sol_types::sol! {
        function execute(bytes commands, bytes[] inputs, uint256 deadline);
        /// The inputs of the commands read here, as the router decodes them.
        struct V2ExactIn { address recipient; uint256 amountIn; uint256 amountOutMin; address[] path; bool payerIsUser; }
        struct V3ExactIn { address recipient; uint256 amountIn; uint256 amountOutMin; bytes path; bool payerIsUser; }
        struct Unwrap { address recipient; uint256 amountMin; }
        struct Sweep { address token; address recipient; uint256 amountMin; }
    }
    /// The form without a deadline.
    pub mod plain {
        alloy_sol_types::sol! {
            function execute(bytes commands, bytes[] inputs);
        }
    }
}

const V3_SWAP_EXACT_IN: u8 = 0x00;
const SWEEP: u8 = 0x04;
const V2_SWAP_EXACT_IN: u8 = 0x08;
const WRAP_ETH: u8 = 0x0b;
const UNWRAP_WETH: u8 = 0x0c;
/// The router's recipient constants: the caller, and the router itself.
const MSG_SENDER: Address = Address::with_last_byte(1);
const ADDRESS_THIS: Address = Address::with_last_byte(2);
/// WETH where a call does not name it (by wrapping or unwrapping).
const MAINNET_WETH: Address = address!("c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2");

/// A decoded `execute` call, and how to encode it again.
struct Execute {
    commands: Vec<u8>,
    inputs: Vec<Bytes>,
    deadline: Option<U256>,
}

impl Execute {
    fn decode(data: &[u8]) -> Option<Execute> {
        if let Ok(c) = abi::executeCall::abi_decode(data) {
            return Some(Execute { commands: c.commands.to_vec(), inputs: c.inputs, deadline: Some(c.deadline) });
        }
        let c = abi::plain::executeCall::abi_decode(data).ok()?;
        Some(Execute { commands: c.commands.to_vec(), inputs: c.inputs, deadline: None })
    }

    fn encode(&self) -> Vec<u8> {
        let (commands, inputs) = (Bytes::from(self.commands.clone()), self.inputs.clone());
        match self.deadline {
            Some(deadline) => abi::executeCall { commands, inputs, deadline }.abi_encode(),
            None => abi::plain::executeCall { commands, inputs }.abi_encode(),
        }
    }

    /// The command at `i`, without its allow-revert flag.
    fn command(&self, i: usize) -> u8 {
        self.commands[i] & 0x3f
    }
}

/// The one exact-input swap of `call`: where it is, its route, and its input.
struct Swap {
    at: usize,
    route: SwapRoute,
    recipient: Address,
    amount_in: U256,
    min_out: U256,
    payer_is_user: bool,
}

impl Swap {
    fn find(call: &Execute) -> Option<Swap> {
        let mut swaps = (0..call.commands.len().min(call.inputs.len()))
            .filter(|i| matches!(call.command(*i), V2_SWAP_EXACT_IN | V3_SWAP_EXACT_IN));
        let at = swaps.next()?;
        if swaps.next().is_some() {
            return None;
        }
        let input = &call.inputs[at];
        if call.command(at) == V2_SWAP_EXACT_IN {
            let s = <abi::V2ExactIn as SolValue>::abi_decode_params(input).ok()?;
            if s.path.len() < 2 {
                return None;
            }
            let route = SwapRoute { venue: SwapRoute::V2.into(), path: s.path, fees: vec![], out: None };
            Some(Swap {
                at,
                route,
                recipient: s.recipient,
                amount_in: s.amountIn,
                min_out: s.amountOutMin,
                payer_is_user: s.payerIsUser,
            })
        } else {
            let s = <abi::V3ExactIn as SolValue>::abi_decode_params(input).ok()?;
            Some(Swap {
                at,
                route: v3_route(&s.path)?,
                recipient: s.recipient,
                amount_in: s.amountIn,
                min_out: s.amountOutMin,
                payer_is_user: s.payerIsUser,
            })
        }
    }

    /// The swap's command and input through `route`, with no minimum.
    fn through(&self, route: &SwapRoute) -> (u8, Bytes) {
        let (recipient, amount_in, payer) = (self.recipient, self.amount_in, self.payer_is_user);
        if route.venue == SwapRoute::V2 {
            let path = route.path.clone();
            let input =
                abi::V2ExactIn { recipient, amountIn: amount_in, amountOutMin: U256::ZERO, path, payerIsUser: payer };
            (V2_SWAP_EXACT_IN, Bytes::from(input.abi_encode_params()))
        } else {
            let path = Bytes::from(v3_path(route));
            let input =
                abi::V3ExactIn { recipient, amountIn: amount_in, amountOutMin: U256::ZERO, path, payerIsUser: payer };
            (V3_SWAP_EXACT_IN, Bytes::from(input.abi_encode_params()))
        }
    }
}

/// Where the swap's output ends up: who receives it, in which asset (None: ETH, after
/// UNWRAP_WETH), the least the call accepts, and the later command paying it out, if any.
struct Payout {
    to: Address,
    asset: Option<Address>,
    least: U256,
    by: Option<usize>,
}

fn payout(call: &Execute, swap: &Swap, from: Address, router: Address) -> Payout {
    let token_out = swap.route.path[swap.route.path.len() - 1];
    let who = |a: Address| match a {
        MSG_SENDER => from,
        ADDRESS_THIS => router,
        a => a,
    };
    let mut p = Payout { to: who(swap.recipient), asset: Some(token_out), least: swap.min_out, by: None };
    if swap.recipient != ADDRESS_THIS {
        return p;
    }
    // Kept by the router: paid out by a later command.
    for i in swap.at + 1..call.inputs.len().min(call.commands.len()) {
        let input = &call.inputs[i];
        match call.command(i) {
            UNWRAP_WETH => {
                if let Ok(u) = <abi::Unwrap as SolValue>::abi_decode_params(input) {
                    p = Payout { to: who(u.recipient), asset: None, least: p.least.max(u.amountMin), by: Some(i) };
                    break;
                }
            }
            SWEEP => {
                if let Ok(s) = <abi::Sweep as SolValue>::abi_decode_params(input)
                    && s.token == token_out
                {
                    p = Payout {
                        to: who(s.recipient),
                        asset: Some(token_out),
                        least: p.least.max(s.amountMin),
                        by: Some(i),
                    };
                    break;
                }
            }
            _ => {}
        }
    }
    p
}

/// What `report` shows `payout`'s beneficiary receiving.
fn received(report: &SimulationReport, payout: &Payout) -> Option<U256> {
    if report.outcome.status != OutcomeStatus::Success {
        return None;
    }
    let c = report.asset_changes.iter().find(|c| c.address == payout.to && c.asset.token == payout.asset)?;
    Some(c.received.saturating_sub(c.sent))
}

/// The same call with the payout's minimum set to zero.
fn without_least(call: &Execute, payout: &Payout) -> Vec<Bytes> {
    let mut inputs = call.inputs.clone();
    if let Some(i) = payout.by {
        let input = &inputs[i];
        inputs[i] = match call.command(i) {
            UNWRAP_WETH => <abi::Unwrap as SolValue>::abi_decode_params(input)
                .map(|u| Bytes::from(abi::Unwrap { amountMin: U256::ZERO, ..u }.abi_encode_params())),
            _ => <abi::Sweep as SolValue>::abi_decode_params(input)
                .map(|s| Bytes::from(abi::Sweep { amountMin: U256::ZERO, ..s }.abi_encode_params())),
        }
        .unwrap_or_else(|_| input.clone());
    }
    inputs
}

pub(super) async fn quote(
    sim: &airlock_sim::Simulator<StateFrom>,
    head: &Head,
    tx: &TxView,
    report: &SimulationReport,
) -> Option<SwapQuote> {
    let router = report.to?;
    let call = Execute::decode(&tx.data)?;
    let swap = Swap::find(&call)?;
    let (token_in, token_out) = (swap.route.path[0], swap.route.path[swap.route.path.len() - 1]);
    let payout = payout(&call, &swap, report.from, router);
    let expected_out = received(report, &payout)?;
    // WETH as the call names it, wrapping what it pays or unwrapping what it gets.
    let weth = (0..call.commands.len())
        .find_map(|i| match call.command(i) {
            WRAP_ETH => Some(token_in),
            UNWRAP_WETH => Some(token_out),
            _ => None,
        })
        .or((sim.chain_id() == 1).then_some(MAINNET_WETH));

    let mut routes = vec![SwapRoute { out: Some(expected_out), ..swap.route.clone() }];
    let inputs = without_least(&call, &payout);
    for mut route in candidates(token_in, token_out, weth, true, true) {
        if route.same_route(&swap.route) {
            continue;
        }
        let (command, input) = swap.through(&route);
        let mut other = Execute { commands: call.commands.clone(), inputs: inputs.clone(), deadline: call.deadline };
        other.commands[swap.at] = (call.commands[swap.at] & 0xc0) | command;
        other.inputs[swap.at] = input;
        let run = TxView {
            from: Some(report.from),
            to: Some(router),
            value: report.value,
            data: Bytes::from(other.encode()),
            ..TxView::default()
        };
        route.out = match sim.simulate_batch(head, std::slice::from_ref(&run)).await {
            Ok(r) => received(&r, &payout),
            Err(_) => None,
        };
        routes.push(route);
    }
    let out_asset = report.asset_changes.iter().find(|c| c.asset.token == Some(token_out)).map(|c| &c.asset);
    let (symbol_out, decimals_out) = match payout.asset {
        None => (Some("ETH".to_owned()), Some(18)),
        Some(_) => (out_asset.and_then(|a| a.symbol.clone()), out_asset.and_then(|a| a.decimals)),
    };
    // The router's "its whole balance" amount: what the call sends in.
    let amount_in = if swap.amount_in.bit(255) { report.value } else { swap.amount_in };
    Some(SwapQuote {
        router,
        token_in,
        token_out,
        symbol_out,
        decimals_out,
        amount_in,
        min_out: payout.least,
        expected_out,
        routes,
        ..SwapQuote::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execute(commands: Vec<u8>, inputs: Vec<Vec<u8>>) -> Execute {
        Execute { commands, inputs: inputs.into_iter().map(Bytes::from).collect(), deadline: Some(U256::from(9)) }
    }

    #[test]
    fn the_swap_is_replaced_and_the_payout_minimum_dropped() {
        let (a, weth) = (Address::repeat_byte(0xaa), Address::repeat_byte(0xee));
        let v3 = SwapRoute { venue: SwapRoute::V3.into(), path: vec![a, weth], fees: vec![3000], out: None };
        let swap_in = abi::V3ExactIn {
            recipient: ADDRESS_THIS,
            amountIn: U256::from(5),
            amountOutMin: U256::from(4),
            path: Bytes::from(v3_path(&v3)),
            payerIsUser: true,
        };
        let unwrap = abi::Unwrap { recipient: MSG_SENDER, amountMin: U256::from(7) };
        // The allow-revert flag on the swap is kept.
        let call = execute(
            vec![0x80 | V3_SWAP_EXACT_IN, UNWRAP_WETH],
            vec![swap_in.abi_encode_params(), unwrap.abi_encode_params()],
        );
        let round = Execute::decode(&call.encode()).expect("decodes");
        assert_eq!(round.commands, call.commands);
        let swap = Swap::find(&round).expect("one swap");
        assert_eq!(swap.route.path, vec![a, weth]);
        assert_eq!(swap.route.fees, vec![3000]);
        let from = Address::repeat_byte(0x11);
        let p = payout(&round, &swap, from, Address::repeat_byte(0x22));
        assert_eq!((p.to, p.asset, p.least, p.by), (from, None, U256::from(7), Some(1)));
        let inputs = without_least(&round, &p);
        let u = <abi::Unwrap as SolValue>::abi_decode_params(&inputs[1]).expect("unwrap");
        assert_eq!(u.amountMin, U256::ZERO);
        let v2 = SwapRoute { venue: SwapRoute::V2.into(), path: vec![a, weth], fees: vec![], out: None };
        let (command, input) = swap.through(&v2);
        assert_eq!(command, V2_SWAP_EXACT_IN);
        let s = <abi::V2ExactIn as SolValue>::abi_decode_params(&input).expect("v2 input");
        assert_eq!(
            (s.recipient, s.amountIn, s.amountOutMin, s.path, s.payerIsUser),
            (ADDRESS_THIS, U256::from(5), U256::ZERO, vec![a, weth], true)
        );
        // Two swaps: not quoted (which one is the person's trade is not clear).
        let two = execute(
            vec![V3_SWAP_EXACT_IN, V3_SWAP_EXACT_IN],
            vec![swap_in.abi_encode_params(), swap_in.abi_encode_params()],
        );
        assert!(Swap::find(&two).is_none());
    }
}
