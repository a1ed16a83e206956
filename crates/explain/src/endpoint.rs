//! A local OpenAI-compatible endpoint (llama-server, llama-swap, ollama): `POST
//! {url}/v1/chat/completions` at temperature 0, no tools, the answer's JSON schema as
//! `response_format`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::ExplainError;

#[derive(Debug, Clone)]
pub struct Endpoint {
    /// Base URL, e.g. `http://127.0.0.1:8080`.
    pub url: String,
    /// The `model` field sent (llama-server ignores it; ollama needs it).
    pub model: String,
    pub timeout: Duration,
    pub max_tokens: u32,
}

impl Endpoint {
    /// The answer to `system` + `user` as JSON under `schema`: sent as `response_format`
    /// (`json_schema`, strict), which llama-server turns into a grammar. Not streamed.
    pub async fn complete_json(&self, system: &str, user: &str, schema: &Value) -> Result<String, ExplainError> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| ExplainError::Backend(e.to_string()))?;
        let body = json!({
            "model": self.model,
            "stream": false,
            "max_tokens": self.max_tokens,
            "temperature": 0,
            "messages": [{ "role": "system", "content": system }, { "role": "user", "content": user }],
            "response_format": {
                "type": "json_schema",
                "json_schema": { "name": "answer", "strict": true, "schema": schema },
            },
        });
        let url = format!("{}/v1/chat/completions", self.url.trim_end_matches('/'));
        let resp =
            http.post(&url).json(&body).send().await.map_err(|e| ExplainError::Backend(format!("{url}: {e}")))?;
        if !resp.status().is_success() {
            let status = resp.status();
            let said: String = resp.text().await.unwrap_or_default().chars().take(300).collect();
            return Err(ExplainError::Backend(format!("{url} answered HTTP {status}: {said}")));
        }
        let v: Value = resp.json().await.map_err(|e| ExplainError::Backend(format!("{url}: {e}")))?;
        v["choices"][0]["message"]["content"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ExplainError::Backend(format!("{url} sent no message content")))
    }
}
