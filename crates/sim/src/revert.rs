//! Revert data in words: `Error(string)`, `Panic(uint256)`, or a custom error by its selector.

use alloy_primitives::U256;
use alloy_sol_types::{SolError, sol};

use crate::text::clean;

sol! {
    error Error(string message);
    error Panic(uint256 code);
}

/// The Solidity compiler's panic codes.
fn panic_meaning(code: U256) -> &'static str {
    match code.saturating_to::<u64>() {
        0x00 => "generic compiler panic",
        0x01 => "assertion failed",
        0x11 => "arithmetic overflow or underflow",
        0x12 => "division or modulo by zero",
        0x21 => "invalid enum value",
        0x22 => "invalid storage byte array",
        0x31 => "pop on an empty array",
        0x32 => "array index out of bounds",
        0x41 => "out of memory",
        0x51 => "call to an uninitialized function",
        _ => "unknown panic code",
    }
}

/// What revert data says, for a person. Strings from the contract are untrusted: control
/// characters are replaced and the text is capped.
pub fn describe(data: &[u8]) -> String {
    if data.is_empty() {
        return "reverted without a reason".into();
    }
    if let Ok(e) = Error::abi_decode(data) {
        return format!("Error(string): \"{}\"", clean(&e.message, 256));
    }
    if let Ok(p) = Panic::abi_decode(data) {
        return format!("Panic(0x{:x}): {}", p.code, panic_meaning(p.code));
    }
    if let Some(named) = crate::calldata::describe_error(data) {
        return format!("custom error {named}");
    }
    if data.len() >= 4 {
        let args = data.len() - 4;
        return format!("custom error 0x{} with {args} bytes of arguments", alloy_primitives::hex::encode(&data[..4]));
    }
    format!("reverted with {} bytes that are not an error", data.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::hex;

    #[test]
    fn decodes_the_three_kinds() {
        let e = Error { message: "ERC20: transfer amount exceeds balance".into() }.abi_encode();
        assert_eq!(describe(&e), "Error(string): \"ERC20: transfer amount exceeds balance\"");
        let p = Panic { code: U256::from(0x11) }.abi_encode();
        assert_eq!(describe(&p), "Panic(0x11): arithmetic overflow or underflow");
        let custom = hex!("12345678000000000000000000000000000000000000000000000000000000000000000001");
        assert_eq!(describe(&custom), "custom error 0x12345678 with 33 bytes of arguments");
        // OpenZeppelin 5's ERC20InsufficientBalance, named from rules/abi/errors.abi.
        let known = hex!(
            "e450d38c00000000000000000000000070997970c51812dc3a010c7d01b50e0d17dc79c800000000000000000000000000000000000000000000000000000000000000010000000000000000000000000000000000000000000000000000000000000002"
        );
        assert_eq!(
            describe(&known),
            "custom error ERC20InsufficientBalance(sender = 0x70997970c51812dc3a010c7d01b50e0d17dc79c8, balance = 1, needed = 2)"
        );
        assert_eq!(describe(&[]), "reverted without a reason");
        assert_eq!(describe(&[1, 2]), "reverted with 2 bytes that are not an error");
    }

    #[test]
    fn contract_text_is_cleaned() {
        let e = Error { message: "a\u{1b}[31mred\nline".into() }.abi_encode();
        assert_eq!(describe(&e), "Error(string): \"a\u{fffd}[31mred\u{fffd}line\"");
        assert_eq!(clean(&"x".repeat(300), 4), "xxxx…");
    }
}
