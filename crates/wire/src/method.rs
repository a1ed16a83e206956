//! Method names as a lenient node might read them. Nodes differ: some match names without regard
//! to case, some strip separators, and a name in look-alike characters is one a person misreads.
//! [`skeleton`] is what is left of a name after Unicode NFKC (fullwidth `ｅ` becomes `e`),
//! case-folding and the removal of separators and invisible characters; the router compares
//! skeletons, so `eth.sendRawTransaction`, `ETH-SENDRAWTRANSACTION` and a zero-width-joined
//! spelling all read as `ethsendrawtransaction`.

use unicode_normalization::UnicodeNormalization;

/// Whether a method name is plain: printable ASCII only, as every node's methods are.
pub fn is_plain(method: &str) -> bool {
    !method.is_empty() && method.bytes().all(|b| b.is_ascii_graphic())
}

/// The name after NFKC and case-folding, with everything but letters and digits removed.
/// Letters outside ASCII that NFKC does not map (Cyrillic `е`, Greek `ο`) stay, so a look-alike
/// never equals the name it imitates; callers refuse names that are not [`is_plain`] anyway.
pub fn skeleton(method: &str) -> String {
    if method.is_ascii() {
        // NFKC leaves ASCII as it is.
        return method.bytes().filter(u8::is_ascii_alphanumeric).map(|b| b.to_ascii_lowercase() as char).collect();
    }
    method.nfkc().flat_map(char::to_lowercase).filter(|c| c.is_alphanumeric() && !invisible(*c)).collect()
}

/// Characters that render as nothing (format characters, joiners, variation selectors).
fn invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F | 0x1160 | 0x17B4 | 0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_a_skeleton() {
        for name in [
            "eth_sendRawTransaction",
            "eth.sendRawTransaction",
            "eth-sendRawTransaction",
            "ethsendRawTransaction",
            "eth__sendRawTransaction",
            "ETH_SENDRAWTRANSACTION",
            "eth_send\u{200b}RawTransaction",
            "eth_send\u{2060}Raw\u{feff}Transaction",
            "ｅｔｈ＿ｓｅｎｄＲａｗＴｒａｎｓａｃｔｉｏｎ",
            " eth_sendRawTransaction\t",
        ] {
            assert_eq!(skeleton(name), "ethsendrawtransaction", "{name:?}");
        }
        assert!(is_plain("eth_sendRawTransaction"));
        for odd in ["eth_s\u{435}ndRawTransaction", "ｅｔｈ", "eth_send\u{200b}", "a b", ""] {
            assert!(!is_plain(odd), "{odd:?}");
        }
        // A Cyrillic look-alike keeps its letter, so it never equals the Latin name.
        assert_ne!(skeleton("eth_s\u{435}ndRawTransaction"), "ethsendrawtransaction");
    }
}
