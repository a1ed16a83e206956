//! The token list as an agent's intents read it: a symbol or an address of this chain's list.

use airlock_agent::{Book, IntentError, Token};
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
