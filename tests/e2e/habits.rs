//! The person's own habits on anvil, made the real way (sends approved through Airlock and
//! forwarded): a value far above the usual, a burst of sends, and the first transfer of a token
//! are flagged; their benign twins are not.

use serde_json::{Value, json};

use crate::harness::*;
use crate::simulate::{calldata, token};

/// Holds `tx`, rejects it; the rules that fired.
async fn fired(airlock: &Airlock, tx: Value) -> Vec<String> {
    let item = crate::simulate::held(airlock, tx).await;
    item["findings"].as_array().into_iter().flatten().filter_map(|f| f["rule"].as_str().map(str::to_owned)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn departures_from_the_senders_own_habits_are_flagged() {
    let anvil = Anvil::start();
    let tst = token(&anvil.url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    // "Known for 30 days" cannot be waited for here: the setting says 0.
    std::fs::write(&config, "[rules.first-transfer-of-token.settings]\nmin_days = 0.0\n").expect("write");
    let airlock = Airlock::start(&anvil.url(), &["--config", config.to_str().expect("utf8")]);
    let small = json!({ "from": ADDR0, "to": ADDR1, "value": "0x2386f26fc10000" });
    let large = json!({ "from": ADDR0, "to": ADDR1, "value": "0xde0b6b3a7640000" });
    let send_tst =
        json!({ "from": ADDR0, "to": tst, "data": calldata("transfer(address,uint256)", &[ADDR1, "1000"]).await });

    // No history yet: nothing about habits fires, even for a large value.
    let first = fired(&airlock, large.clone()).await;
    for rule in ["unusual-value", "send-burst", "first-transfer-of-token"] {
        assert!(!first.contains(&rule.to_owned()), "{rule} with no history: {first:?}");
    }
    // Four sends of 0.01 ETH, forwarded: a habit, not yet a burst.
    for _ in 0..4 {
        through(&airlock, "eth_sendTransaction", json!([small])).await;
    }
    let usual = fired(&airlock, small.clone()).await;
    assert!(!usual.contains(&"unusual-value".to_owned()) && !usual.contains(&"send-burst".to_owned()), "{usual:?}");
    // The fifth: 1 ETH is a hundred times the usual, and five sends in ten minutes a burst.
    through(&airlock, "eth_sendTransaction", json!([small])).await;
    let unusual = fired(&airlock, large).await;
    assert!(unusual.contains(&"unusual-value".to_owned()), "{unusual:?}");
    assert!(unusual.contains(&"send-burst".to_owned()), "{unusual:?}");
    assert!(!fired(&airlock, small).await.contains(&"unusual-value".to_owned()));

    // A token never sent before, then again once it has been.
    assert!(fired(&airlock, send_tst.clone()).await.contains(&"first-transfer-of-token".to_owned()));
    through(&airlock, "eth_sendTransaction", json!([send_tst])).await;
    assert!(!fired(&airlock, send_tst).await.contains(&"first-transfer-of-token".to_owned()));
}
