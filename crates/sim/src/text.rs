//! Text from contracts (revert strings, token symbols, typed-data names) is data, not markup:
//! the one sanitizer every module uses before showing it. A leaf: it depends on no other module.

/// Replaces control characters and caps the length: text from a contract is data, not markup.
pub fn clean(s: &str, max: usize) -> String {
    let mut out: String = s.chars().map(|c| if c.is_control() { '\u{fffd}' } else { c }).take(max).collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}
