//! The upstream node: the one place Airlock talks to it.
//!
//! Calls carry the client's params verbatim and bring the upstream's result (or error object)
//! back verbatim. Every call is bounded in time. A WebSocket upstream that drops is reconnected
//! on the next call; HTTP reconnects by itself.

use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::http_client::{HttpClient, HttpClientBuilder};
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde_json::value::RawValue;
use tokio::sync::Mutex;

/// Largest answer Airlock accepts from the upstream (eth_getLogs over many blocks is large).
const MAX_RESPONSE_BYTES: u32 = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with a JSON-RPC error: passed to the client unchanged.
    #[error("{}", .0.message())]
    Rpc(ErrorObjectOwned),
    #[error("upstream {url} did not answer within {secs} s", secs = .after.as_secs_f32())]
    Timeout { url: String, after: Duration },
    #[error("upstream {url} is unreachable: {reason}")]
    Unavailable { url: String, reason: String },
    #[error("upstream {url} sent an answer that is not JSON-RPC: {reason}")]
    Garbage { url: String, reason: String },
    /// The URL given for the upstream (or the relay) cannot be used.
    #[error("{reason}")]
    BadUrl { url: String, reason: String },
    #[error("subscriptions need a WebSocket upstream (ws:// or wss://); {url} is HTTP")]
    NoSubscriptions { url: String },
}

/// Params passed through exactly as the client wrote them.
struct RawParams<'a>(Option<&'a RawValue>);

impl ToRpcParams for RawParams<'_> {
    fn to_rpc_params(self) -> Result<Option<Box<RawValue>>, serde_json::Error> {
        Ok(self.0.map(|p| p.to_owned()))
    }
}

#[derive(Debug)]
enum Transport {
    Http(HttpClient),
    /// The current connection, replaced when it drops. The mutex serialises reconnects only.
    Ws(Mutex<Option<Arc<WsClient>>>),
}

/// A handle to the upstream node, shared by every request.
#[derive(Debug)]
pub struct Upstream {
    /// As the person gave it; named in errors.
    url: String,
    /// The bound on every call, reconnecting included.
    timeout: Duration,
    /// HTTP, or a WebSocket that is reconnected when it drops.
    transport: Transport,
}

impl Upstream {
    /// Prepares a client for `url` (http, https, ws or wss). Does not connect yet: Airlock starts
    /// even while the upstream is down, and answers with a clear error until it is back.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, UpstreamError> {
        let bad = |reason: String| UpstreamError::BadUrl { url: url.to_owned(), reason };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let transport = match scheme.as_deref() {
            Some("http" | "https") => Transport::Http(
                HttpClientBuilder::default()
                    .request_timeout(timeout)
                    .connect_timeout(timeout.min(Duration::from_secs(5)))
                    .max_response_size(MAX_RESPONSE_BYTES)
                    .max_request_size(MAX_RESPONSE_BYTES)
                    .build(url)
                    .map_err(|e| bad(format!("bad upstream URL {url}: {e}")))?,
            ),
            Some("ws" | "wss") => Transport::Ws(Mutex::new(None)),
            _ => {
                return Err(bad(format!("upstream URL must start with http://, https://, ws:// or wss://, got {url}")));
            }
        };
        Ok(Upstream { url: url.to_owned(), timeout, transport })
    }

    /// One call: `params` go out as they came in, the result comes back as it was sent. The
    /// whole call, reconnecting included, is bounded by the upstream timeout.
    pub async fn request(&self, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, UpstreamError> {
        match &self.transport {
            Transport::Http(c) => {
                c.request::<Box<RawValue>, _>(method, RawParams(params)).await.map_err(|e| self.classify(e))
            }
            Transport::Ws(_) => {
                self.bounded(async {
                    let c = self.ws().await?;
                    c.request::<Box<RawValue>, _>(method, RawParams(params)).await.map_err(|e| self.classify(e))
                })
                .await
            }
        }
    }

    /// Runs `f` for at most the upstream timeout.
    async fn bounded<T>(&self, f: impl Future<Output = Result<T, UpstreamError>>) -> Result<T, UpstreamError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .unwrap_or_else(|_| Err(UpstreamError::Timeout { url: self.url.clone(), after: self.timeout }))
    }

    /// The chain id the upstream reports.
    pub async fn chain_id(&self) -> Result<u64, UpstreamError> {
        let raw = self.request("eth_chainId", None).await?;
        let s: String = serde_json::from_str(raw.get()).map_err(|e| self.garbage(format!("eth_chainId: {e}")))?;
        s.strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.garbage(format!("eth_chainId answered {s:?}")))
    }

    /// Opens an `eth_subscribe` subscription upstream with the client's params.
    pub async fn subscribe(&self, params: Option<&RawValue>) -> Result<Subscription<Box<RawValue>>, UpstreamError> {
        if matches!(self.transport, Transport::Http(_)) {
            return Err(UpstreamError::NoSubscriptions { url: self.url.clone() });
        }
        self.bounded(async {
            let c = self.ws().await?;
            c.subscribe::<Box<RawValue>, _>("eth_subscribe", RawParams(params), "eth_unsubscribe")
                .await
                .map_err(|e| self.classify(e))
        })
        .await
    }

    /// The live WebSocket connection, reconnecting if the last one dropped.
    async fn ws(&self) -> Result<Arc<WsClient>, UpstreamError> {
        let Transport::Ws(slot) = &self.transport else { unreachable!("ws() is only called for a WebSocket upstream") };
        let mut slot = slot.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| c.is_connected()) {
            return Ok(c.clone());
        }
        let connect = WsClientBuilder::default()
            .request_timeout(self.timeout)
            .connection_timeout(self.timeout.min(Duration::from_secs(5)))
            .max_response_size(MAX_RESPONSE_BYTES)
            .max_request_size(MAX_RESPONSE_BYTES)
            .build(&self.url);
        let client = match tokio::time::timeout(self.timeout, connect).await {
            Ok(Ok(c)) => Arc::new(c),
            Ok(Err(e)) => return Err(self.unavailable(e.to_string())),
            Err(_) => {
                return Err(UpstreamError::Timeout { url: self.url.clone(), after: self.timeout });
            }
        };
        tracing::info!(url = %self.url, "connected to upstream");
        *slot = Some(client.clone());
        Ok(client)
    }

    fn classify(&self, e: ClientError) -> UpstreamError {
        match e {
            ClientError::Call(obj) => UpstreamError::Rpc(obj),
            ClientError::RequestTimeout => UpstreamError::Timeout { url: self.url.clone(), after: self.timeout },
            ClientError::ParseError(e) => self.garbage(e.to_string()),
            ClientError::InvalidRequestId(e) => self.garbage(e.to_string()),
            ClientError::InvalidSubscriptionId => self.garbage("unknown subscription id".into()),
            ClientError::Transport(e) => {
                let reason = e.to_string();
                // The HTTP client reports non-JSON bodies and bad statuses as transport errors.
                if reason.contains("status code") || reason.contains("Parse") {
                    self.garbage(reason)
                } else {
                    self.unavailable(reason)
                }
            }
            other => self.unavailable(other.to_string()),
        }
    }

    fn unavailable(&self, reason: String) -> UpstreamError {
        UpstreamError::Unavailable { url: self.url.clone(), reason }
    }

    fn garbage(&self, reason: String) -> UpstreamError {
        UpstreamError::Garbage { url: self.url.clone(), reason }
    }
}
