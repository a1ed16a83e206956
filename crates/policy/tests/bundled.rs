//! The bundled rules over reports recorded from real simulations (testdata/snapshots): each
//! fires on its shape, and the benign reports stay quiet. The end-to-end suite (tests/e2e
//! policy) runs the same rules on anvil.

use std::collections::HashMap;

#[path = "../../../tests/support/recorded.rs"]
mod recorded;
use recorded::report;

use airlock_policy::{Policy, PolicyConfig, verdict};
use airlock_types::{Item, Severity, Verification, VerificationStatus};

fn item(r: airlock_types::SimulationReport) -> Item {
    let mut item = recorded::held(r);
    item.verification = Some(Verification {
        mode: "verified".into(),
        status: VerificationStatus::Verified,
        block_number: Some(1),
        block_hash: None,
        error: None,
        note: None,
    });
    item
}

fn fired(policy: &Policy, name: &str) -> Vec<String> {
    let findings = policy.evaluate(&item(report(name)), 31337, &HashMap::new());
    findings.iter().map(|f| f.rule.clone()).collect()
}

#[test]
fn bundled_rules_load_and_fire_on_their_shapes() {
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules load");
    assert!(policy.rules.len() >= 15, "{} rules", policy.rules.len());
    let unlimited = fired(&policy, "erc20-approve-unlimited");
    assert!(unlimited.contains(&"unlimited-approval".into()), "{unlimited:?}");
    assert!(unlimited.contains(&"approval-to-eoa".into()), "{unlimited:?}");
    assert!(fired(&policy, "erc20-revert").contains(&"reverts".into()));
    assert!(fired(&policy, "evasive-drainer").contains(&"simulation-divergence".into()));
    assert!(fired(&policy, "eip7702-delegation").contains(&"delegation-not-allowlisted".into()));
    assert!(fired(&policy, "erc721-approval-for-all").contains(&"approval-for-all-unknown-operator".into()));
    // A plain ETH send to a fresh EOA: nothing at warn or above but the first-send rules.
    let findings = policy.evaluate(&item(report("eth-send")), 31337, &HashMap::new());
    assert!(verdict(&findings).is_none_or(|v| v < Severity::Danger), "{findings:?}");
}

#[test]
fn messages_are_filled_from_the_facts() {
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules load");
    let findings = policy.evaluate(&item(report("erc20-approve-unlimited")), 31337, &HashMap::new());
    let f = findings.iter().find(|f| f.rule == "unlimited-approval").expect("fired");
    assert!(f.message.contains("UNLIMITED amount of TST"), "{}", f.message);
    assert_eq!(f.evidence["unlimited"], true);
    assert_eq!(f.severity, Severity::Warn);
}

#[test]
fn the_rules_without_an_anvil_scenario_fire_and_stay_quiet() {
    use airlock_policy::Facts;
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules load");
    let rules = |f: &Facts| policy.evaluate_facts(f).into_iter().map(|x| x.rule).collect::<Vec<_>>();
    let mut quiet = Facts::sample();
    quiet.mismatches.clear();
    quiet.request.unreadable.clear();
    let base = rules(&quiet);
    for id in ["balance-mismatch", "not-simulated", "unknown-typed-data", "unreadable-signature", "raw-hash-signature"]
    {
        assert!(!base.contains(&id.to_owned()), "{id} fired on the quiet sample: {base:?}");
    }
    let mut f = quiet.clone();
    f.mismatches = vec!["token 0x…: its logs say 0x… receives 5, but its balance goes from 0 to 4".into()];
    assert!(rules(&f).contains(&"balance-mismatch".into()));
    let mut f = quiet.clone();
    f.simulated = false;
    f.simulation_error = "the upstream is unreachable".into();
    let fired = policy.evaluate_facts(&f);
    let ns = fired.iter().find(|x| x.rule == "not-simulated").expect("not-simulated fires");
    assert_eq!(ns.message, "not simulated: the upstream is unreachable");
    let mut f = quiet.clone();
    f.request.kind = "signature".into();
    f.request.signature_kind = "other_typed_data".into();
    assert!(rules(&f).contains(&"unknown-typed-data".into()));
    let mut f = quiet;
    f.request.unreadable = vec!["message.spender".into()];
    let fired = policy.evaluate_facts(&f);
    let u = fired.iter().find(|x| x.rule == "unreadable-signature").expect("fires");
    assert!(u.message.contains("message.spender"), "{}", u.message);
    assert_eq!(verdict(&fired), Some(Severity::Danger));
}

#[test]
fn a_user_rule_and_config_overrides_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("mine.toml"),
        "[[rule]]\nid = \"big-eth\"\nseverity = \"info\"\nsummary = \"s\"\nwhen = \"eth.sent >= settings.eth\"\nmessage = \"sends {{eth.sent}} ETH\"\n[rule.settings]\neth = 0.5\n",
    )
    .expect("write");
    let config: PolicyConfig = toml::from_str(
        "[rules.big-eth]\nseverity = \"danger\"\n[rules.big-eth.settings]\neth = 2.0\n[rules.unverified]\nenabled = false\n",
    )
    .expect("config");
    let policy = Policy::load(&[dir.path().to_owned()], &config).expect("loads");
    let mut f = airlock_policy::Facts::sample();
    f.eth.sent = 1.0;
    assert!(policy.evaluate_facts(&f).iter().all(|x| x.rule != "big-eth"), "threshold raised to 2 ETH by config");
    f.eth.sent = 3.0;
    let found = policy.evaluate_facts(&f);
    let big = found.iter().find(|x| x.rule == "big-eth").expect("fires");
    assert_eq!(big.severity, Severity::Danger, "severity raised by config");
    assert_eq!(big.message, "sends 3 ETH");
    // Overrides for unknown rules or settings are errors, not silently ignored.
    let bad: PolicyConfig = toml::from_str("[rules.nope]\nenabled = false\n").expect("config");
    assert!(Policy::load(&[], &bad).expect_err("unknown rule").message.contains("no rule has this id"));
}

/// Every bundled rule's `when`, message and evidence run over facts where each fires: a type
/// error (an unsigned setting times a signed fact) is caught here, not on a person's item.
#[test]
fn every_bundled_rule_runs_over_the_sample_facts() {
    let policy = Policy::load(&[], &PolicyConfig::default()).expect("bundled rules load");
    let errors = policy.trial(&airlock_policy::Facts::sample());
    assert!(errors.is_empty(), "{errors:?}");
}
