//! JSON-RPC over HTTP, in front of jsonrpsee (which serves only WebSocket connections).
//!
//! A body is read within the size limit and an in-flight byte budget, then read as envelopes
//! (`airlock_wire::envelope`): method names and ids only. A call, or a batch, of reads that
//! nothing in Airlock answers is forwarded as the very bytes the client sent, over the bounded
//! upstream pool, and the upstream's answer streams back untouched. Anything else is answered
//! entry by entry: sends and signatures are held, reads about held items answered from the desk,
//! verified reads from proofs, and the remaining reads of a batch go upstream together as one
//! batch.

use std::sync::Arc;

use bytes::Bytes;
use futures_util::future::join_all;
use http_body_util::BodyExt;
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use serde_json::value::RawValue;
use tokio::sync::Semaphore;

use airlock_hold::Error;
use airlock_hold::decode::{self, Route};
use airlock_types::RpcError;
use airlock_wire::envelope::{self, Call, Entry, Id, Message, WireError};

use crate::router::Ctx;

/// The edge's settings: the client-facing limits and the in-flight body budget.
#[derive(Debug)]
pub(crate) struct Edge {
    pub ctx: Arc<Ctx>,
    pub limits: airlock_wire::Limits,
    /// Bytes of request bodies being read or handled at once, across all connections.
    pub budget: Arc<Semaphore>,
    pub budget_bytes: usize,
}

impl Edge {
    /// Answers one HTTP JSON-RPC request.
    pub async fn serve<B>(self: Arc<Self>, body: B, content_length: Option<usize>) -> HttpResponse
    where
        B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
        B::Error: Into<BoxError>,
    {
        let max = self.limits.max_body_bytes;
        let too_big = || reply(error_entry(None, &wire_error(&WireError::Limit { limit: "max_body_bytes", max })));
        if content_length.is_some_and(|n| n > max) {
            // Read and dropped (up to a bound), so that the client, still sending, reads the answer.
            drain(body).await;
            return too_big();
        }
        // Room in the budget for the whole body before a byte is read (chunked: the maximum).
        let want = content_length.unwrap_or(max).clamp(1, self.budget_bytes.min(u32::MAX as usize)) as u32;
        let Ok(_permit) = self.budget.acquire_many(want).await else {
            return reply(error_entry(None, &wire_error(&WireError::Invalid("Airlock is stopping".into()))));
        };
        let bytes = match collect(body, max).await {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return too_big(),
            Err(e) => return reply(error_entry(None, &wire_error(&WireError::Parse(format!("body: {e}"))))),
        };
        self.answer(&bytes).await
    }

    async fn answer(&self, bytes: &Bytes) -> HttpResponse {
        let message = match envelope::parse(bytes, &self.limits) {
            Ok(m) => m,
            Err(e) => return reply(error_entry(None, &wire_error(&e))),
        };
        if self.passes_through(&message) {
            return self.pass_through(bytes.clone(), &message).await;
        }
        match message {
            Message::Single(entry) => match self.entries(vec![entry]).await.pop() {
                Some(answer) => self.bounded(answer),
                None => empty(),
            },
            Message::Batch(entries) => {
                let answers = self.entries(entries).await;
                if answers.is_empty() { empty() } else { self.bounded(join(&answers)) }
            }
        }
    }

    /// An answer built here, within the largest answer passed back (`max_response_bytes`).
    fn bounded(&self, answer: Vec<u8>) -> HttpResponse {
        let max = self.ctx.max_response_bytes;
        if answer.len() > max {
            return reply(error_entry(None, &wire_error(&WireError::Limit { limit: "max_response_bytes", max })));
        }
        reply(answer)
    }

    /// Whether the body is read calls only, each with an id, that nothing in Airlock answers.
    fn passes_through(&self, m: &Message<'_>) -> bool {
        let plain = |e: &Entry<'_>| matches!(e, Ok(c) if c.id.is_some() && self.ctx.forwards_as_bytes(&c.method));
        match m {
            Message::Single(e) => plain(e),
            Message::Batch(es) => es.iter().all(plain),
        }
    }

    /// The body as the client sent it, to the upstream; its answer back as it comes.
    async fn pass_through(&self, bytes: Bytes, m: &Message<'_>) -> HttpResponse {
        let Some(sent) = self.ctx.forwarder.forward(bytes).await else {
            return reply(b"[]".to_vec()); // unreachable: only an HTTP upstream passes through
        };
        let failed = |e: &RpcError| match m {
            Message::Single(Ok(c)) => reply(error_entry(c.id, e)),
            Message::Batch(es) => {
                reply(join(&es.iter().map(|e2| error_entry(envelope::entry_id(e2), e)).collect::<Vec<_>>()))
            }
            Message::Single(Err(_)) => reply(error_entry(None, e)),
        };
        let resp = match sent {
            Ok(resp) => resp,
            Err(e) => return failed(&airlock_hold::errors::upstream_rpc_error(&e)),
        };
        let status = resp.status();
        let small = http_body::Body::size_hint(resp.body()).upper().is_some_and(|n| n <= CHECKED_ANSWER_BYTES as u64);
        let mut body = resp.into_body();
        if small && status.is_success() {
            // Small answers (nearly all) are checked whole: JSON-RPC, with the ids asked for.
            let bytes = match body.collect().await {
                Ok(c) => c.to_bytes(),
                Err(e) => return failed(&self.bad_answer(format!("{e}"))),
            };
            return match envelope::check_answer(&bytes, m) {
                Ok(()) => json_response(HttpBody::new(http_body_util::Full::new(bytes))),
                Err(why) => failed(&self.bad_answer(why)),
            };
        }
        // Large ones stream; the first bytes show whether it is JSON at all (not an HTML page).
        let first = match body.frame().await {
            Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
            Some(Err(e)) => return failed(&self.bad_answer(format!("{e}"))),
            None => Bytes::new(),
        };
        let json = first.iter().find(|b| !b.is_ascii_whitespace()).is_some_and(|b| matches!(b, b'{' | b'['));
        if !status.is_success() || !json {
            let snippet = airlock_wire::clip(&String::from_utf8_lossy(&first), 200);
            return failed(&self.bad_answer(format!("HTTP {status}: {snippet}")));
        }
        json_response(HttpBody::new(Prepended { first: Some(first), rest: body }))
    }

    fn bad_answer(&self, reason: String) -> RpcError {
        let url = self.ctx.forwarder.url().to_owned();
        airlock_hold::errors::upstream_rpc_error(&airlock_chain::UpstreamError::Garbage { url, reason })
    }

    /// Each entry's answer, in order (notifications have none). Reads the upstream answers go
    /// to it as one batch; the rest run concurrently.
    async fn entries(&self, entries: Vec<Entry<'_>>) -> Vec<Vec<u8>> {
        let mut forwarded: Vec<(&str, Option<&RawValue>)> = vec![];
        let mut slots: Vec<Slot<'_>> = Vec::with_capacity(entries.len());
        for entry in &entries {
            slots.push(match entry {
                Err((id, e)) => Slot::Done(error_entry(*id, &wire_error(e))),
                Ok(c) if c.id.is_none() => {
                    tracing::warn!(method = %c.method, "ignored a JSON-RPC notification (a call without id): nothing forwarded");
                    Slot::Notification
                }
                Ok(c) if self.ctx.forwards_as_bytes(&c.method) => {
                    forwarded.push((&c.method, c.params));
                    Slot::Upstream(c.id)
                }
                Ok(c) => Slot::Local(c),
            });
        }
        let upstream = async { if forwarded.is_empty() { vec![] } else { self.ctx.forwarder.batch(&forwarded).await } };
        let local = join_all(slots.iter().filter_map(|s| match s {
            Slot::Local(c) => Some(self.ctx.handle(&c.method, c.params)),
            _ => None,
        }));
        let (upstream, local) = futures_util::future::join(upstream, local).await;
        let (mut upstream, mut local) = (upstream.into_iter(), local.into_iter());
        slots
            .into_iter()
            .filter_map(|slot| match slot {
                Slot::Done(bytes) => Some(bytes),
                Slot::Notification => None,
                Slot::Upstream(id) => upstream.next().map(|r| result_entry(id, r.map_err(Error::from))),
                Slot::Local(c) => local.next().map(|r| result_entry(c.id, r)),
            })
            .collect()
    }
}

/// Bytes of an oversized body read and dropped before the refusal is sent.
const DRAIN_BYTES: usize = 64 << 20;

/// The whole body, or `None` when it is longer than `max` (the rest read and dropped).
async fn collect<B>(mut body: B, max: usize) -> Result<Option<Bytes>, BoxError>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    let mut out = bytes::BytesMut::new();
    loop {
        let frame = match body.frame().await {
            Some(frame) => frame.map_err(Into::into)?,
            None => break,
        };
        let Ok(data) = frame.into_data() else { continue };
        if out.len() + data.len() > max {
            drain(body).await;
            return Ok(None);
        }
        out.extend_from_slice(&data);
    }
    Ok(Some(out.freeze()))
}

/// Reads up to [`DRAIN_BYTES`] of a body and drops them.
async fn drain<B>(mut body: B)
where
    B: http_body::Body<Data = Bytes> + Unpin,
{
    let mut seen = 0usize;
    while seen < DRAIN_BYTES {
        match body.frame().await {
            Some(Ok(frame)) => seen += frame.data_ref().map_or(0, Bytes::len),
            _ => return,
        }
    }
}

/// The tower layer that sends HTTP POSTs to the [`Edge`] and everything else (WebSocket
/// upgrades) on to jsonrpsee.
#[derive(Debug, Clone)]
pub(crate) struct EdgeLayer(pub Arc<Edge>);

impl<S> tower::Layer<S> for EdgeLayer {
    type Service = EdgeService<S>;
    fn layer(&self, inner: S) -> EdgeService<S> {
        EdgeService { inner, edge: self.0.clone() }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EdgeService<S> {
    inner: S,
    edge: Arc<Edge>,
}

type BoxFuture = std::pin::Pin<Box<dyn Future<Output = Result<HttpResponse, BoxError>> + Send + 'static>>;

impl<S, B> tower::Service<HttpRequest<B>> for EdgeService<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = BoxError;
    type Future = BoxFuture;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: HttpRequest<B>) -> BoxFuture {
        if req.method() != http::Method::POST {
            let fut = self.inner.call(req);
            return Box::pin(async move { fut.await.map_err(Into::into) });
        }
        let json = req
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
        if !json {
            // A web page can POST text/plain without a preflight; a wallet sends JSON.
            let e = wire_error(&WireError::Invalid("Content-Type must be application/json".into()));
            let resp = refusal(http::StatusCode::UNSUPPORTED_MEDIA_TYPE, &e);
            return Box::pin(async move { Ok(resp) });
        }
        let length =
            req.headers().get(http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let edge = self.edge.clone();
        Box::pin(async move { Ok(edge.serve(req.into_body(), length).await) })
    }
}

/// Answers up to this size, with a known length, are read whole and checked before they are
/// passed on; larger ones stream.
const CHECKED_ANSWER_BYTES: usize = 1 << 20;

/// The upstream's answer with its first bytes (already read) put back in front.
struct Prepended {
    first: Option<Bytes>,
    rest: airlock_wire::PooledBody,
}

impl http_body::Body for Prepended {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, hyper::Error>>> {
        if let Some(first) = self.first.take().filter(|b| !b.is_empty()) {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(first))));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }
}

/// What becomes of one entry of a body.
enum Slot<'a> {
    Done(Vec<u8>),
    Notification,
    /// Forwarded in the upstream batch, in order.
    Upstream(Option<Id<'a>>),
    Local(&'a Call<'a>),
}

impl Ctx {
    /// Whether a call with this method goes to the upstream as it is: a read that neither the
    /// desk (items it holds) nor the chain (verified reads) answers, over an HTTP upstream.
    pub(crate) fn forwards_as_bytes(&self, method: &str) -> bool {
        decode::route(method) == Route::Forward
            && !airlock_hold::Desk::answers(method)
            && !self.chain.answers(method)
            && self.forwarder.is_http()
    }
}

fn wire_error(e: &WireError) -> RpcError {
    let data = e.data().and_then(|d| serde_json::value::to_raw_value(&d).ok());
    RpcError { code: e.code(), message: format!("Airlock: {e}"), data }
}

/// `{"jsonrpc":"2.0","id":…,"result":…}` or `…"error":…}` for one call.
fn result_entry(id: Option<Id<'_>>, r: Result<Box<RawValue>, Error>) -> Vec<u8> {
    match r {
        Ok(result) => {
            let id = id.map_or("null", |i| i.get());
            let mut out = Vec::with_capacity(result.get().len() + id.len() + 40);
            out.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
            out.extend_from_slice(id.as_bytes());
            out.extend_from_slice(b",\"result\":");
            out.extend_from_slice(result.get().as_bytes());
            out.push(b'}');
            out
        }
        Err(e) => error_entry(id, &RpcError::from(&e)),
    }
}

fn error_entry(id: Option<Id<'_>>, e: &RpcError) -> Vec<u8> {
    let id = id.map_or("null", |i| i.get());
    let error = serde_json::to_string(e).unwrap_or_else(|_| r#"{"code":-32603,"message":"internal error"}"#.into());
    format!(r#"{{"jsonrpc":"2.0","id":{id},"error":{error}}}"#).into_bytes()
}

fn join(answers: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(answers.iter().map(|a| a.len() + 1).sum::<usize>() + 2);
    out.push(b'[');
    for (i, a) in answers.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(a);
    }
    out.push(b']');
    out
}

fn reply(bytes: Vec<u8>) -> HttpResponse {
    json_response(HttpBody::new(http_body_util::Full::new(Bytes::from(bytes))))
}

/// A body of notifications only: nothing to answer.
fn empty() -> HttpResponse {
    json_response(HttpBody::empty())
}

fn json_response(body: HttpBody) -> HttpResponse {
    let mut resp = HttpResponse::new(body);
    resp.headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json; charset=utf-8"));
    resp
}

/// What a guard refuses a request with: a JSON-RPC error with a null id, and an HTTP status.
pub(crate) fn refusal(status: http::StatusCode, e: &RpcError) -> HttpResponse {
    let mut resp = reply(error_entry(None, e));
    *resp.status_mut() = status;
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_json_rpc() {
        let raw = RawValue::from_string("7".into()).expect("raw");
        let id = Id::check(&raw).expect("id");
        let ok = result_entry(Some(id), Ok(RawValue::from_string("\"0x1\"".into()).expect("raw")));
        assert_eq!(String::from_utf8(ok).expect("utf8"), r#"{"jsonrpc":"2.0","id":7,"result":"0x1"}"#);
        let err = error_entry(None, &RpcError { code: -32600, message: "x\"y".into(), data: None });
        let v: serde_json::Value = serde_json::from_slice(&err).expect("json");
        assert_eq!((v["id"].is_null(), v["error"]["message"].as_str()), (true, Some("x\"y")));
        assert_eq!(join(&[b"1".to_vec(), b"2".to_vec()]), b"[1,2]");
    }
}
