//! airlock-explain: the model's factor. A plain-language explanation and a list of concerns for
//! a held request, from the template (always, at once) and, when the person configured one, a
//! local model. The model only advises: its concerns are shown apart from the rule findings,
//! can raise an item to `warn`, and never lower a finding. Every model's text passes the
//! grounding check.
//!
//! Weights are never downloaded by Airlock: the person points to a model they run.

mod decoder;
mod endpoint;
pub mod facts;
pub mod grammar;
pub mod ground;
mod kernel;
mod local;
pub mod prompt;
pub mod sandbox;
pub mod score;
pub mod shape;
pub mod template;
#[doc(hidden)]
pub mod testkit;
mod worker;

use airlock_types::{Explanation, ExplanationState, Item};

pub use endpoint::Endpoint;
pub use local::{Local, Speed};
pub use sandbox::{Sandbox, SandboxChoice};
pub use template::explain as template;
pub use worker::{Probe, ProbeResult, Worker, WorkerOptions, serve as serve_worker};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("the model failed: {0}")]
    Backend(String),
    #[error("the model took longer than {0} s")]
    Timeout(u64),
}

/// How much less likely a word the model already wrote in an explanation becomes, in candle
/// (see [`Local::complete_json_penalized`]): without it the 1.5B model often writes the first
/// concern's sentence again for every finding, and so names only the first. On the evaluation
/// set's 22 reports about approvals, permits, drainers, value forwarded, buy taxes and large
/// shares, 1.2 fixed 8 of the 9 that failed and broke none (README, "How good the explanations
/// are").
pub const REPEAT_PENALTY: f32 = 1.2;

/// Where a model explanation comes from.
#[derive(Debug, Clone)]
pub enum Backend {
    Endpoint(Endpoint),
    /// In-process candle, with its generation settings.
    Local {
        model: Local,
        timeout: std::time::Duration,
        max_tokens: usize,
    },
    /// candle in a sandboxed worker process, with its generation settings.
    Worker {
        worker: Worker,
        timeout: std::time::Duration,
        max_tokens: usize,
    },
}

impl Backend {
    pub fn source(&self) -> String {
        match self {
            Backend::Endpoint(e) => format!("endpoint:{}", e.url),
            Backend::Local { model, .. } => model.source(),
            Backend::Worker { worker, .. } => worker.source.clone(),
        }
    }

    /// The model's explanation of `item`, written in the fixed shape (see [`shape`]) by
    /// constrained decoding and rendered by Airlock. `on_update` gets the template's text marked
    /// as still being written while the model works (the shape arrives whole). Sentences stating
    /// the request's status are removed, and the grounding check (by role) runs over all of it.
    pub async fn explain(
        &self,
        item: &Item,
        mut on_update: impl FnMut(Explanation),
    ) -> Result<Explanation, ExplainError> {
        let source = self.source();
        on_update(Explanation { state: ExplanationState::Generating, ..crate::template(item) });
        let max_tokens = match self {
            Backend::Endpoint(e) => e.max_tokens as usize,
            Backend::Local { max_tokens, .. } | Backend::Worker { max_tokens, .. } => *max_tokens,
        };
        let (user, schema) = (prompt::build(item), shape::schema(item));
        let answer = self.complete_json_penalized(shape::SYSTEM, &user, &schema, max_tokens, REPEAT_PENALTY).await?;
        let written: shape::Shape = serde_json::from_value(answer)
            .map_err(|e| ExplainError::Backend(format!("the answer is not in the shape: {e}")))?;
        let mut x = shape::render(&written, item, &source);
        // What the model cannot know (the request's status, the person's decision) goes.
        x.summary = score::without_status(&x.summary);
        x.concerns = x.concerns.iter().map(|c| score::without_status(c)).filter(|c| !c.is_empty()).collect();
        let all = format!("{} {}", x.summary, x.concerns.join(" "));
        x.ungrounded = ground::check(&all, item);
        Ok(x)
    }
}

impl Backend {
    /// The model's answer to `system` + `user` as a JSON document of `schema`, by constrained
    /// decoding (a grammar in candle; `response_format` for an endpoint). The answer is checked
    /// against the same grammar here whichever backend wrote it: an endpoint that ignores the
    /// schema is an error, not a document.
    pub async fn complete_json(
        &self,
        system: &str,
        user: &str,
        schema: &serde_json::Value,
        max_tokens: usize,
    ) -> Result<serde_json::Value, ExplainError> {
        self.complete_json_penalized(system, user, schema, max_tokens, 1.0).await
    }

    /// [`Backend::complete_json`], each word already written made less likely by
    /// `repeat_penalty` in candle (an endpoint samples as it does).
    async fn complete_json_penalized(
        &self,
        system: &str,
        user: &str,
        schema: &serde_json::Value,
        max_tokens: usize,
        repeat_penalty: f32,
    ) -> Result<serde_json::Value, ExplainError> {
        let grammar = grammar::Grammar::from_schema(schema).map_err(ExplainError::Backend)?;
        let limit = |t: std::time::Duration| move |_| ExplainError::Timeout(t.as_secs());
        let text = match self {
            Backend::Endpoint(e) => {
                let run = e.complete_json(system, user, schema);
                tokio::time::timeout(e.timeout, run).await.map_err(limit(e.timeout))??
            }
            Backend::Local { model, timeout, .. } => {
                let (model, g) = (model.clone(), grammar.clone());
                let (system, user) = (system.to_owned(), user.to_owned());
                let job = tokio::task::spawn_blocking(move || {
                    model.complete_json_penalized(&system, &user, &g, max_tokens, repeat_penalty)
                });
                let run =
                    async { job.await.map_err(|e| ExplainError::Backend(format!("the model's thread failed: {e}")))? };
                tokio::time::timeout(*timeout, run).await.map_err(limit(*timeout))??
            }
            Backend::Worker { worker, timeout, .. } => {
                let run = worker.complete_json(system, user, schema, max_tokens, repeat_penalty);
                tokio::time::timeout(*timeout, run).await.map_err(limit(*timeout))??
            }
        };
        let shown: String = text.chars().take(200).collect();
        let value: serde_json::Value = serde_json::from_str(text.trim())
            .map_err(|e| ExplainError::Backend(format!("the answer is not JSON ({e}): {shown:?}")))?;
        // Compact, keys in name order: the form the grammar reads (an endpoint may space it).
        let compact = value.to_string();
        if !grammar.advance(&grammar.start(), compact.as_bytes()).is_some_and(|c| grammar.accepts(&c)) {
            return Err(ExplainError::Backend(format!("the answer does not follow the schema: {shown:?}")));
        }
        Ok(value)
    }
}
