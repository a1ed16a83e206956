//! What the pipeline finds about a request, and the queue keeps on its item.

use airlock_types::{
    Explanation, Finding, GasAdvice, IntelReport, SignatureReport, SimulationReport, SwapQuote, Verification,
};

/// What assessing a request found: everything a held item shows beside the request itself.
#[derive(Debug, Clone)]
pub struct Assessment {
    /// The head it was assessed on, and how far that head is verified.
    pub verification: Verification,
    /// What the transaction would do.
    pub report: Option<SimulationReport>,
    /// What the signature would grant.
    pub signature_report: Option<SignatureReport>,
    /// Why there is no report, when there is none.
    pub simulation_error: Option<String>,
    /// Fee advice, for single transactions on a known head.
    pub gas: Option<GasAdvice>,
    /// The swap's quote, for swaps Airlock can quote.
    pub swap: Option<SwapQuote>,
    /// The rules' findings (none when the pipeline has no rules: `airlock simulate`).
    pub findings: Vec<Finding>,
    /// The template's explanation (a model's comes later, from the desk).
    pub explanation: Option<Explanation>,
    /// For a signed transaction: the sender's next nonce (see `Item::next_nonce`).
    pub next_nonce: Option<u64>,
    /// The checks that did not run, each with why (see `Item::unchecked`).
    pub unchecked: Vec<String>,
    /// Threat lists, provenance and resale (none for `airlock simulate`, or without intel).
    pub intel: Option<IntelReport>,
    /// What an agent asked for, beside what the simulation shows (requests built from intents).
    pub asked: Option<airlock_types::Asked>,
}

impl Assessment {
    /// On a head verified as `verification` says, with what the simulation found: the rest
    /// (advice, findings, explanation) is filled in by the steps that follow.
    pub fn simulated(
        verification: Verification,
        report: Option<SimulationReport>,
        signature_report: Option<SignatureReport>,
        simulation_error: Option<String>,
    ) -> Self {
        Assessment {
            verification,
            report,
            signature_report,
            simulation_error,
            gas: None,
            swap: None,
            findings: vec![],
            explanation: None,
            next_nonce: None,
            unchecked: vec![],
            intel: None,
            asked: None,
        }
    }
}
