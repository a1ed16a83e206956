//! The upstream node: the one place Airlock talks to it.
//!
//! Calls carry the client's params verbatim and bring the upstream's result (or error object)
//! back verbatim. Every call is bounded in time. An HTTP upstream is reached through a bounded
//! keep-alive pool (`airlock_wire::Pool`); reads can be forwarded through it as bytes
//! ([`Upstream::forward`]). A WebSocket upstream that drops is reconnected on the next call.

use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::core::client::{ClientT, Error as ClientError, Subscription, SubscriptionClientT};
use jsonrpsee::core::traits::ToRpcParams;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::ws_client::{WsClient, WsClientBuilder};
use serde_json::value::RawValue;
use tokio::sync::Mutex;

/// Largest answer Airlock reads whole from the upstream (eth_getLogs over many blocks is large);
/// reads forwarded as bytes stream through without this bound.
const MAX_RESPONSE_BYTES: u32 = 256 * 1024 * 1024;

/// Connections to an HTTP upstream at most, unless configured (`--upstream-connections`).
pub const DEFAULT_CONNECTIONS: usize = 64;

#[derive(Debug, Clone, thiserror::Error)]
pub enum UpstreamError {
    /// The upstream answered with a JSON-RPC error: passed to the client unchanged.
    #[error("{}", .0.message())]
    Rpc(ErrorObjectOwned),
    #[error("upstream {url} did not answer within {secs} s", secs = .after.as_secs_f32())]
    Timeout { url: String, after: Duration },
    #[error("upstream {url} is unreachable: {reason}")]
    Unavailable { url: String, reason: String },
    /// It answered, but not with JSON-RPC (an HTML page, HTTP 500, a cut-off body).
    #[error("upstream {url} sent an answer that is not JSON-RPC: {reason}")]
    Garbage { url: String, reason: String },
    /// The request went out and the connection failed before an answer: it may have arrived.
    #[error("the connection to upstream {url} failed before it answered: {reason}")]
    Lost { url: String, reason: String },
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
    Http(airlock_wire::Pool),
    /// The current connection, replaced when it drops. The mutex serialises reconnects only.
    Ws(Mutex<Option<Arc<WsClient>>>),
}

/// A request envelope Airlock writes itself.
#[derive(serde::Serialize)]
struct Envelope<'a> {
    jsonrpc: &'static str,
    id: u64,
    method: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a RawValue>,
}

/// The answer's numeric id, if it has one.
type AnswerId = Option<u64>;

/// An answer to one call, read once: its id, and its result or its error object; `Err` for
/// anything else.
fn answer(bytes: &[u8]) -> Result<(AnswerId, Result<Box<RawValue>, UpstreamError>), String> {
    #[derive(serde::Deserialize)]
    struct Answer {
        #[serde(default)]
        id: Option<u64>,
        /// `"result": null` is a result (no receipt yet), unlike a missing one.
        #[serde(default, deserialize_with = "present")]
        result: Option<Box<RawValue>>,
        error: Option<ErrorObjectOwned>,
    }
    let a: Answer = serde_json::from_slice(bytes)
        .map_err(|e| format!("{e}: {}", airlock_wire::clip(&String::from_utf8_lossy(bytes), 200)))?;
    match (a.result, a.error) {
        (None, Some(err)) => Ok((a.id, Err(UpstreamError::Rpc(err)))),
        (Some(result), None) => Ok((a.id, Ok(result))),
        (None, None) => Err("neither a result nor an error".into()),
        (Some(_), Some(_)) => Err("both a result and an error".into()),
    }
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    <Box<RawValue> as serde::Deserialize>::deserialize(d).map(Some)
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
        Self::with_connections(url, timeout, DEFAULT_CONNECTIONS)
    }

    /// Like [`Upstream::new`], with at most `max_connections` connections to an HTTP upstream.
    pub fn with_connections(url: &str, timeout: Duration, max_connections: usize) -> Result<Self, UpstreamError> {
        let bad = |reason: String| UpstreamError::BadUrl { url: url.to_owned(), reason };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        let transport = match scheme.as_deref() {
            Some("http" | "https") => Transport::Http(
                airlock_wire::Pool::new(url, max_connections, timeout.min(Duration::from_secs(5)))
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
            Transport::Http(pool) => self.bounded(self.http_call(pool, method, params)).await,
            Transport::Ws(_) => {
                self.bounded(async {
                    let c = self.ws().await?;
                    c.request::<Box<RawValue>, _>(method, RawParams(params)).await.map_err(|e| self.classify(e))
                })
                .await
            }
        }
    }

    /// One call over the pool: the envelope written here, the answer read whole.
    async fn http_call(
        &self,
        pool: &airlock_wire::Pool,
        method: &str,
        params: Option<&RawValue>,
    ) -> Result<Box<RawValue>, UpstreamError> {
        let body = serde_json::to_vec(&Envelope { jsonrpc: "2.0", id: 1, method, params })
            .map_err(|e| self.garbage(format!("cannot write the request: {e}")))?;
        let (status, bytes) =
            pool.post_collect(body.into(), MAX_RESPONSE_BYTES as usize).await.map_err(|e| self.pool_error(e))?;
        let (id, one) = answer(&bytes).map_err(|reason| match status.is_success() {
            true => self.garbage(reason),
            false => {
                self.garbage(format!("HTTP {status}: {}", airlock_wire::clip(&String::from_utf8_lossy(&bytes), 200)))
            }
        })?;
        if status.is_success() && id != Some(1) {
            return Err(self.garbage(format!(
                "not an answer to call 1: {}",
                airlock_wire::clip(&String::from_utf8_lossy(&bytes), 200)
            )));
        }
        one
    }

    /// Several calls as one upstream batch (a WebSocket upstream gets them one by one on its one
    /// connection). Each call gets its own answer; an upstream that answers the batch with one
    /// error gives every call that error.
    pub async fn batch(&self, calls: &[(&str, Option<&RawValue>)]) -> Vec<Result<Box<RawValue>, UpstreamError>> {
        let Transport::Http(pool) = &self.transport else {
            let each = calls.iter().map(|(m, p)| self.request(m, *p));
            return futures_util::future::join_all(each).await;
        };
        match self.bounded(self.http_batch(pool, calls)).await {
            Ok(answers) => answers,
            Err(e) => calls.iter().map(|_| Err(e.clone())).collect(),
        }
    }

    async fn http_batch(
        &self,
        pool: &airlock_wire::Pool,
        calls: &[(&str, Option<&RawValue>)],
    ) -> Result<Vec<Result<Box<RawValue>, UpstreamError>>, UpstreamError> {
        let envelopes: Vec<Envelope<'_>> = calls
            .iter()
            .enumerate()
            .map(|(i, (method, params))| Envelope { jsonrpc: "2.0", id: i as u64, method, params: *params })
            .collect();
        let body = serde_json::to_vec(&envelopes).map_err(|e| self.garbage(format!("cannot write the batch: {e}")))?;
        let (status, bytes) =
            pool.post_collect(body.into(), MAX_RESPONSE_BYTES as usize).await.map_err(|e| self.pool_error(e))?;
        let bad = |reason: String| match status.is_success() {
            true => self.garbage(reason),
            false => {
                self.garbage(format!("HTTP {status}: {}", airlock_wire::clip(&String::from_utf8_lossy(&bytes), 200)))
            }
        };
        let list: Vec<&RawValue> = match serde_json::from_slice(&bytes) {
            Ok(list) => list,
            // One answer for the whole batch: an error (a node without batches) or garbage.
            Err(_) => {
                let (_, one) = answer(&bytes).map_err(bad)?;
                let err = one.err().unwrap_or_else(|| self.garbage("a single result for a batch".into()));
                return Ok(calls.iter().map(|_| Err(err.clone())).collect());
            }
        };
        let mut out: Vec<Option<Result<Box<RawValue>, UpstreamError>>> = calls.iter().map(|_| None).collect();
        for entry in list {
            let (id, one) = answer(entry.get().as_bytes()).map_err(bad)?;
            if let Some(slot) = id.and_then(|i| out.get_mut(i as usize)).filter(|s| s.is_none()) {
                *slot = Some(one);
            }
        }
        let missing = || Err(self.garbage("the upstream's batch answer has no answer to this call".into()));
        Ok(out.into_iter().map(|a| a.unwrap_or_else(missing)).collect())
    }

    /// Forwards a request body as it is (one call or a batch) and returns the answer's head with
    /// its body streaming from the upstream; `None` for a WebSocket upstream. The answer is not
    /// checked beyond its status: the caller passes a success through and reports the rest.
    pub async fn forward(
        &self,
        body: bytes::Bytes,
    ) -> Option<Result<http::Response<airlock_wire::PooledBody>, UpstreamError>> {
        let Transport::Http(pool) = &self.transport else { return None };
        Some(self.bounded(async { pool.post(body).await.map_err(|e| self.pool_error(e)) }).await)
    }

    /// Whether it is an HTTP upstream (reads can be forwarded to it as bytes).
    pub fn is_http(&self) -> bool {
        matches!(self.transport, Transport::Http(_))
    }

    /// The upstream as named in errors.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn pool_error(&self, e: airlock_wire::PoolError) -> UpstreamError {
        use airlock_wire::PoolError as P;
        match e {
            P::Connect(reason) | P::BadUrl(reason) => self.unavailable(reason),
            P::Io(reason) => UpstreamError::Lost { url: self.url.clone(), reason },
            P::TooLarge(max) => self.garbage(format!("the answer is larger than {max} bytes")),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_results_errors_or_garbage() {
        let (id, ok) = answer(br#"{"jsonrpc":"2.0","id":1,"result":null}"#).expect("json-rpc");
        assert_eq!((id, ok.expect("result").get()), (Some(1), "null"));
        let err = answer(br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"nonce too low"}}"#)
            .expect("json-rpc")
            .1
            .expect_err("error");
        assert!(matches!(err, UpstreamError::Rpc(o) if o.code() == -32000));
        assert!(answer(b"<html>502 Bad Gateway</html>").is_err());
        assert!(answer(br#"{"jsonrpc":"2.0","id":1}"#).is_err());
    }
}
