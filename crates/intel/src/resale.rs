//! Sell-side simulation: a token the request brings in is tried on the state the request
//! leaves, in the same simulator: sent on to a fresh address, and sold back through the venue
//! (the chain's Uniswap V2 router) for WETH. A token that cannot leave is a honeypot; one that
//! arrives short takes a tax.

use airlock_chain::StateFrom;
use airlock_sim::{Head, SimError, Simulator};
use airlock_types::{AssetKind, OutcomeStatus, Resale, SimulationReport, SwapQuote, Trial, TxView};
use alloy_primitives::{Address, Bytes, U256, address};
use alloy_sol_types::{SolCall, sol};

sol! {
    function transfer(address to, uint256 amount) returns (bool);
    function approve(address spender, uint256 amount) returns (bool);
    function balanceOf(address owner) returns (uint256);
    function WETH() returns (address);
    function getAmountsOut(uint256 amountIn, address[] path) returns (uint256[] amounts);
    function swapExactTokensForTokensSupportingFeeOnTransferTokens(
        uint256 amountIn, uint256 amountOutMin, address[] path, address to, uint256 deadline
    );
}

/// Where the trials send what they move: an address nobody holds a key to, with no history.
pub(crate) const FRESH: Address = address!("a11c0c0000000000000000000000000000a11c0c");

/// Tokens tried per request, at most.
const MAX_TOKENS: usize = 3;
/// Gas each follow-up may use; its fee is the base fee with no tip, so the trial costs the
/// sender as little as it can.
const TRIAL_GAS: u64 = 1_000_000;

/// The tokens `report`'s sender receives, each tried. `unchecked` gets what could not be tried.
pub(crate) async fn check(
    sim: &Simulator<StateFrom>,
    head: &Head,
    tx: &TxView,
    report: &SimulationReport,
    router: Option<Address>,
    swap: Option<&SwapQuote>,
    unchecked: &mut Vec<String>,
) -> Vec<Resale> {
    if report.outcome.status != OutcomeStatus::Success {
        return vec![];
    }
    let Some(from) = tx.from else { return vec![] };
    let received: Vec<_> = report
        .asset_changes
        .iter()
        .filter(|c| c.address == from && c.asset.kind == AssetKind::Erc20 && c.received > c.sent)
        .filter_map(|c| Some((c.asset.token?, c.asset.symbol.clone(), c.received - c.sent)))
        .collect();
    if received.len() > MAX_TOKENS {
        unchecked.push(format!(
            "sell-side simulation: {} tokens received, only the first {MAX_TOKENS} tried",
            received.len()
        ));
    }
    let weth = match router {
        Some(r) => weth_of(sim, head, r).await,
        None => None,
    };
    let trials = Trials { sim, head, tx, from };
    let mut out = vec![];
    for (token, symbol, amount) in received.into_iter().take(MAX_TOKENS) {
        let transfer = match trials.transfer(token, amount).await {
            Ok(t) => t,
            Err(e) => {
                unchecked.push(format!("sell-side simulation of {token}: not run ({e})"));
                continue;
            }
        };
        let sell = match (router, weth) {
            (Some(r), Some(w)) if w != token => match trials.sell(r, w, token, amount).await {
                Ok(Ok(t)) => Some(t),
                Ok(Err(why)) => {
                    unchecked.push(format!("selling {token} back: not tried ({why})"));
                    None
                }
                Err(e) => {
                    unchecked.push(format!("selling {token} back: not tried ({e})"));
                    None
                }
            },
            _ => {
                unchecked.push(format!("selling {token} back: not tried (no known router on this chain)"));
                None
            }
        };
        let buy_tax_pct =
            swap.filter(|q| q.token_out == token && q.expected_out > amount).map(|q| shortfall(amount, q.expected_out));
        out.push(Resale { token, symbol, received: amount, transfer, sell, buy_tax_pct });
    }
    out
}

/// The share of `quoted` that did not arrive, in percent.
fn shortfall(got: U256, quoted: U256) -> f64 {
    if quoted.is_zero() || got >= quoted {
        return 0.0;
    }
    let lost = f64::from(quoted - got) / f64::from(quoted);
    (lost * 10_000.0).round() / 100.0
}

async fn weth_of(sim: &Simulator<StateFrom>, head: &Head, router: Address) -> Option<Address> {
    let call = TxView { to: Some(router), data: WETHCall {}.abi_encode().into(), ..TxView::default() };
    let r = sim.call(head, &call).await.ok()?;
    (r.outcome.status == OutcomeStatus::Success).then(|| WETHCall::abi_decode_returns(&r.outcome.output).ok()).flatten()
}

struct Trials<'a> {
    sim: &'a Simulator<StateFrom>,
    head: &'a Head,
    tx: &'a TxView,
    from: Address,
}

impl Trials<'_> {
    fn step(&self, to: Address, data: Vec<u8>) -> TxView {
        TxView {
            from: Some(self.from),
            to: Some(to),
            data: Bytes::from(data),
            chain_id: self.tx.chain_id,
            gas: Some(TRIAL_GAS),
            max_fee_per_gas: Some(u128::from(self.head.facts.base_fee)),
            max_priority_fee_per_gas: Some(0),
            ..TxView::default()
        }
    }

    /// The request, then `steps`; the last step's output, or why a step failed. A step that
    /// could not be included at all (the sender cannot pay for it) is an error: not tried.
    async fn run(&self, steps: Vec<TxView>) -> Result<Result<Bytes, String>, SimError> {
        let mut txs = vec![self.tx.clone()];
        txs.extend(steps);
        let r = self.sim.simulate_batch(self.head, &txs).await?;
        Ok(match r.outcome.status {
            OutcomeStatus::Success => Ok(r.outcome.output),
            _ => Err(r.outcome.reason.unwrap_or_else(|| "reverted".into())),
        })
    }

    /// Sends `amount` to a fresh address and reads what arrived there.
    async fn transfer(&self, token: Address, amount: U256) -> Result<Trial, SimError> {
        let steps = vec![
            self.step(token, transferCall { to: FRESH, amount }.abi_encode()),
            self.step(token, balanceOfCall { owner: FRESH }.abi_encode()),
        ];
        Ok(match self.run(steps).await? {
            Err(why) => Trial { ok: false, tax_pct: None, detail: format!("sending it on fails: {why}") },
            Ok(out) => match balanceOfCall::abi_decode_returns(&out) {
                Ok(arrived) if arrived.is_zero() => {
                    Trial { ok: false, tax_pct: Some(100.0), detail: "sent on, nothing arrives".into() }
                }
                Ok(arrived) => Trial {
                    ok: true,
                    tax_pct: Some(shortfall(arrived, amount)),
                    detail: format!("{amount} sent, {arrived} arrived"),
                },
                Err(e) => Trial { ok: false, tax_pct: None, detail: format!("its balance cannot be read: {e}") },
            },
        })
    }

    /// Sells `amount` for WETH through `router`, against the router's own quote on the same
    /// state. Not tried (the inner error) when the router quotes no pool for it: a token traded
    /// elsewhere is not a honeypot for lacking a pool here.
    async fn sell(
        &self,
        router: Address,
        weth: Address,
        token: Address,
        amount: U256,
    ) -> Result<Result<Trial, String>, SimError> {
        let path = vec![token, weth];
        let approve = self.step(token, approveCall { spender: router, amount }.abi_encode());
        let quote = self.step(router, getAmountsOutCall { amountIn: amount, path: path.clone() }.abi_encode());
        let quoted = match self.run(vec![approve.clone(), quote]).await? {
            Ok(out) => getAmountsOutCall::abi_decode_returns(&out).ok().and_then(|a| a.last().copied()),
            Err(_) => None,
        };
        let Some(quoted) = quoted.filter(|q| !q.is_zero()) else {
            return Ok(Err(format!("the router {router} quotes no pool of it against WETH")));
        };
        let deadline = U256::from(self.head.facts.timestamp + 3600);
        let swap = swapExactTokensForTokensSupportingFeeOnTransferTokensCall {
            amountIn: amount,
            amountOutMin: U256::ZERO,
            path,
            to: FRESH,
            deadline,
        };
        let steps = vec![
            approve,
            self.step(router, swap.abi_encode()),
            self.step(weth, balanceOfCall { owner: FRESH }.abi_encode()),
        ];
        Ok(Ok(match self.run(steps).await? {
            Err(why) => Trial { ok: false, tax_pct: None, detail: format!("selling it fails: {why}") },
            Ok(out) => match balanceOfCall::abi_decode_returns(&out).unwrap_or_default() {
                got if got.is_zero() => {
                    Trial { ok: false, tax_pct: Some(100.0), detail: "sold, nothing comes back".into() }
                }
                got => Trial {
                    ok: true,
                    tax_pct: Some(shortfall(got, quoted)),
                    detail: format!("the pool quotes {quoted} WETH, the sale gives {got}"),
                },
            },
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shortfall_is_a_percentage_of_the_quote() {
        assert_eq!(shortfall(U256::from(10), U256::from(100)), 90.0);
        assert_eq!(shortfall(U256::from(100), U256::from(100)), 0.0);
        assert_eq!(shortfall(U256::from(120), U256::from(100)), 0.0);
        assert_eq!(shortfall(U256::from(1), U256::ZERO), 0.0);
    }
}
