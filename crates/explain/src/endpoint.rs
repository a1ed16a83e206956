//! A local OpenAI-compatible endpoint (llama-server, llama-swap, ollama): `POST
//! {url}/v1/chat/completions` with `stream: true`, temperature 0 (or a seed), no tools. The text
//! is handed on as it arrives.

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
    /// Sampling: `None` is greedy (temperature 0); `Some(seed)` samples at 0.7 with that seed.
    pub seed: Option<u64>,
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

    /// Streams the reply to `system` + `user`; `on_text` gets the whole text so far each time
    /// more arrives. Returns the whole text.
    pub async fn complete(
        &self,
        system: &str,
        user: &str,
        mut on_text: impl FnMut(&str),
    ) -> Result<String, ExplainError> {
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|e| ExplainError::Backend(e.to_string()))?;
        let mut body = json!({
            "model": self.model,
            "stream": true,
            "max_tokens": self.max_tokens,
            "messages": [{ "role": "system", "content": system }, { "role": "user", "content": user }],
        });
        match self.seed {
            None => body["temperature"] = json!(0),
            Some(seed) => {
                body["temperature"] = json!(0.7);
                body["seed"] = json!(seed);
            }
        }
        let url = format!("{}/v1/chat/completions", self.url.trim_end_matches('/'));
        let mut resp =
            http.post(&url).json(&body).send().await.map_err(|e| ExplainError::Backend(format!("{url}: {e}")))?;
        if !resp.status().is_success() {
            return Err(ExplainError::Backend(format!("{url} answered HTTP {}", resp.status())));
        }
        let mut text = String::new();
        // Bytes, not text, until a line is whole: a character may be split between chunks.
        let mut pending: Vec<u8> = vec![];
        while let Some(chunk) = resp.chunk().await.map_err(|e| ExplainError::Backend(format!("{url}: {e}")))? {
            pending.extend_from_slice(&chunk);
            // Server-sent events: `data: {json}` lines, `data: [DONE]` at the end.
            while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=nl).collect();
                let line = String::from_utf8_lossy(&line);
                let Some(data) = line.trim().strip_prefix("data:") else { continue };
                let data = data.trim();
                if data == "[DONE]" {
                    return Ok(text);
                }
                let v: Value = serde_json::from_str(data).map_err(|e| {
                    ExplainError::Backend(format!("{url} sent something that is not a completion chunk: {e}"))
                })?;
                if let Some(delta) = v["choices"][0]["delta"]["content"].as_str() {
                    text.push_str(delta);
                    on_text(&text);
                }
                if text.len() > 16_384 {
                    return Err(ExplainError::Backend("the model wrote more than 16 KiB; stopped".into()));
                }
            }
        }
        Ok(text)
    }
}
