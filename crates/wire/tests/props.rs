//! Property tests of the envelope reader and the method skeleton: any bytes get an answer, never
//! a panic; a valid call reads back as written; the skeleton ignores spelling.

use airlock_wire::envelope::{self, Message};
use airlock_wire::{Limits, method};
use proptest::prelude::*;

fn limits() -> Limits {
    Limits { max_body_bytes: 1 << 16, max_batch_len: 8, max_depth: 16 }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bytes: an error or a message, never a panic.
    #[test]
    fn any_bytes_are_answered(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = envelope::parse(&body, &limits());
    }

    /// JSON-ish text built from the characters that matter: never a panic, and depth is held.
    #[test]
    fn json_like_text_is_answered(body in "[\\[\\]{}\",:0-9a-z\\\\ ]{0,300}") {
        if let Ok(m) = envelope::parse(body.as_bytes(), &limits()) {
            prop_assert!(envelope::check_depth(body.as_bytes(), 16).is_ok());
            if let Message::Batch(b) = m { prop_assert!(!b.is_empty() && b.len() <= 8); }
        }
    }

    /// A well-formed call reads back with its method, id and params as written.
    #[test]
    fn valid_calls_read_back(method in "[a-zA-Z_]{1,30}", id in any::<u64>(), n in any::<u32>()) {
        let body = format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":[{n}]}}"#);
        let Message::Single(Ok(call)) = envelope::parse(body.as_bytes(), &limits()).expect("parses") else {
            panic!("a call");
        };
        prop_assert_eq!(call.method.as_ref(), method.as_str());
        let got_id = call.id.map(|i| i.get().to_owned());
        prop_assert_eq!(got_id, Some(id.to_string()));
        let got_params = call.params.map(|p| p.get().to_owned());
        prop_assert_eq!(got_params, Some(format!("[{n}]")));
    }

    /// Separators, case and invisible characters never change a skeleton.
    #[test]
    fn skeletons_ignore_spelling(name in "[a-z]{1,12}(_[a-z]{1,12}){0,2}", seps in "[._\\- \u{200b}\u{2060}]{0,3}", upper in any::<bool>()) {
        let spelled: String = name.split('_').collect::<Vec<_>>().join(if seps.is_empty() { "_" } else { &seps });
        let spelled = if upper { spelled.to_uppercase() } else { spelled };
        prop_assert_eq!(method::skeleton(&spelled), method::skeleton(&name));
    }
}
