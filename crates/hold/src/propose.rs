//! The token list as an agent's intents read it: a symbol or an address of this chain's list.

use airlock_agent::{Book, Built, IntentError, SwapPlan, Token};
use airlock_policy::Lists;
use alloy_primitives::Address;

/// This chain's part of the lists.
pub(crate) struct ListBook<'a> {
    pub lists: &'a Lists,
    pub chain: u64,
}

impl Book for ListBook<'_> {
    fn token(&self, name: &str) -> Result<Token, IntentError> {
        let name = name.trim();
        let address = match name.parse::<Address>() {
            Ok(a) => a,
            Err(_) => match self.lists.symbols.get(&(self.chain, name.to_uppercase())).map(Vec::as_slice) {
                Some([one]) => *one,
                Some([_, _, ..]) => {
                    return Err(IntentError::Invalid(format!(
                        "{name:?} names several listed tokens: give its address"
                    )));
                }
                _ => return Err(IntentError::UnknownToken(name.to_owned())),
            },
        };
        let (symbol, decimals) =
            self.lists.token(self.chain, address).ok_or_else(|| IntentError::UnknownToken(name.to_owned()))?;
        let decimals =
            decimals.ok_or_else(|| IntentError::Invalid(format!("the list gives no decimals for {symbol}")))?;
        Ok(Token { address, symbol: symbol.clone(), decimals })
    }

    fn weth(&self) -> Option<Token> {
        self.token("WETH").ok()
    }
}

/// A planned swap, quoted by the router on the newest (verified) head and finished with the
/// least output the intent accepts; its deadline 20 minutes after that head.
pub(crate) async fn quoted(pipeline: &crate::Pipeline, plan: &SwapPlan) -> Result<Built, crate::Error> {
    let (_, head) = pipeline.chain().head().await;
    let head = head.ok_or_else(|| crate::Error::Intent("no head to quote the swap on".into()))?;
    let sim = pipeline
        .chain()
        .simulator()
        .await
        .map_err(|e| crate::Error::Intent(format!("the swap cannot be quoted: {e}")))?;
    let call = airlock_types::TxView { to: Some(plan.router), data: plan.quote_call(), ..Default::default() };
    let out =
        sim.call(&head, &call).await.map_err(|e| crate::Error::Intent(format!("the swap cannot be quoted: {e}")))?;
    if out.outcome.status != airlock_types::OutcomeStatus::Success {
        return Err(crate::Error::Intent("the router has no pool that quotes this swap".into()));
    }
    let quoted = plan.quoted(&out.outcome.output).map_err(|e| crate::Error::Intent(e.to_string()))?;
    Ok(plan.finish(quoted, head.facts.timestamp + 1200))
}
