//! Balances, as the agent's `balances` tool and `airlock balances` read them: ETH and the tokens
//! of this chain's list (and those the log shows the account moving), on the newest head.

use std::collections::BTreeSet;

use airlock_chain::Chain;
use airlock_policy::Lists;
use airlock_store::Store;
use airlock_types::{AccountBalances, BalancesView, OutcomeStatus, TokenBalance, TxView};
use alloy_primitives::{Address, Bytes};
use alloy_sol_types::SolCall;

use airlock_sim::abi;

/// At most this many tokens are read for each account.
const MAX_TOKENS: usize = 64;
/// How many logged items are looked through for tokens the account moved.
const LOG_ITEMS: usize = 2_000;

/// The tokens read: first those the log shows the owners moving (the ones they hold most
/// likely), then the list's for `chain`; at most [`MAX_TOKENS`], and how many more were left.
fn tokens(lists: Option<&Lists>, store: &Store, chain: u64, owners: &[Address]) -> (Vec<Address>, usize) {
    let items = store.recent(LOG_ITEMS).unwrap_or_default();
    let moved = items.iter().flat_map(|i| i.report.iter().flat_map(|r| r.transfers.iter()));
    let mut seen: BTreeSet<Address> = BTreeSet::new();
    let mut out: Vec<Address> = vec![];
    for t in moved.filter(|t| owners.contains(&t.from) || owners.contains(&t.to)) {
        if let (airlock_types::AssetKind::Erc20, Some(token)) = (t.asset.kind, t.asset.token)
            && seen.insert(token)
        {
            out.push(token);
        }
    }
    let listed = lists.map(|l| l.tokens.keys().filter(|(c, _)| *c == chain).map(|(_, a)| *a).collect::<BTreeSet<_>>());
    out.extend(listed.unwrap_or_default().into_iter().filter(|a| seen.insert(*a)));
    let left = out.len().saturating_sub(MAX_TOKENS);
    out.truncate(MAX_TOKENS);
    (out, left)
}

/// What each of `owners` holds, read on the newest head.
pub async fn read(
    chain: &Chain,
    lists: Option<&Lists>,
    store: &Store,
    owners: &[Address],
) -> Result<BalancesView, String> {
    let (verification, head) = chain.head().await;
    let mut view = BalancesView { verification, block: None, accounts: vec![], unreadable: vec![] };
    let Some(head) = head else {
        let why = view.verification.error.clone().unwrap_or_else(|| "no head to read on".into());
        view.unreadable.push(why);
        return Ok(view);
    };
    view.block = Some(head.facts.number);
    let chain_id = chain.chain_id().await.map_err(|e| e.to_string())?;
    let sim = chain.simulator().await.map_err(|e| e.to_string())?;
    let wanted: Vec<_> = owners.iter().map(|o| (*o, vec![])).collect();
    let accounts = sim.accounts(&head, &wanted).await.map_err(|e| e.to_string())?;
    let (tokens, left) = tokens(lists, store, chain_id, owners);
    if left > 0 {
        view.unreadable.push(format!("{left} more listed tokens not read (at most {MAX_TOKENS} a request)"));
    }
    for account in accounts {
        let calls = tokens.iter().map(|token| {
            let data = abi::balanceOfCall { owner: account.address }.abi_encode();
            let call = TxView { to: Some(*token), data: Bytes::from(data), ..TxView::default() };
            let (sim, head) = (&sim, &head);
            async move { (*token, sim.call(head, &call).await) }
        });
        let mut held = vec![];
        for (token, answer) in futures_util::future::join_all(calls).await {
            let balance = match answer {
                Ok(r) if r.outcome.status == OutcomeStatus::Success => {
                    abi::balanceOfCall::abi_decode_returns(&r.outcome.output).ok()
                }
                Ok(_) => None,
                Err(e) => {
                    view.unreadable.push(format!("{token:#x}: {e}"));
                    continue;
                }
            };
            match balance {
                Some(b) if !b.is_zero() => {
                    let listed = lists.and_then(|l| l.token(chain_id, token));
                    held.push(TokenBalance {
                        token,
                        symbol: listed.map(|(s, _)| s.clone()),
                        decimals: listed.and_then(|(_, d)| *d),
                        balance: b,
                    });
                }
                Some(_) => {}
                None => view.unreadable.push(format!("{token:#x}: balanceOf did not answer")),
            }
        }
        view.accounts.push(AccountBalances { address: account.address, eth: account.balance, tokens: held });
    }
    Ok(view)
}
