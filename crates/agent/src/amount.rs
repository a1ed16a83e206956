//! Amounts as people write them: "0.1", "1000".

use alloy_primitives::U256;

use crate::IntentError;

/// `text` in whole units, as raw units of a token with `decimals`: digits with at most one
/// point, no sign, no exponent, at most `decimals` digits after the point. Zero is refused:
/// nothing would move.
pub fn parse_units(text: &str, decimals: u8) -> Result<U256, IntentError> {
    let t = text.trim();
    let bad = |why: &str| IntentError::Invalid(format!("amount {t:?}: {why}"));
    if t.starts_with('-') {
        return Err(bad("an amount cannot be negative"));
    }
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() || !(int.chars().chain(frac.chars())).all(|c| c.is_ascii_digit()) {
        return Err(bad("write it as digits with at most one decimal point, e.g. 0.1"));
    }
    if frac.len() > usize::from(decimals) {
        return Err(bad(&format!("more than {decimals} digits after the point")));
    }
    let digits = format!("{int}{frac:0<width$}", width = usize::from(decimals));
    let units = U256::from_str_radix(digits.trim_start_matches('0').max("0"), 10).map_err(|_| bad("too large"))?;
    if units.is_zero() {
        return Err(bad("zero: nothing would move"));
    }
    Ok(units)
}
