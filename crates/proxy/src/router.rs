//! The JSON-RPC endpoint. Routing happens in an RPC middleware in front of jsonrpsee's method
//! table, so that every method, known or not, is seen: reads are forwarded verbatim, sends and
//! signatures are held, and only `eth_subscribe` / `eth_unsubscribe` reach the method table,
//! where jsonrpsee's subscription machinery bridges them to the upstream's.

use std::sync::Arc;

use futures_util::future::join_all;
use jsonrpsee::ResponsePayload;
use jsonrpsee::core::middleware::{Batch, BatchEntry, Notification, RpcServiceT};
use jsonrpsee::core::server::BatchResponseBuilder;
use jsonrpsee::server::{MethodResponse, RpcModule, SubscriptionMessage};
use jsonrpsee::types::Request;
use serde_json::value::RawValue;
use tracing::Instrument;

use airlock_chain::{CallKind, Chain};
use airlock_hold::decode::{self, Route};
use airlock_hold::{Desk, Error};

/// What every request needs.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The chain: the upstream reads go to, and verified reads are answered from.
    pub chain: Arc<Chain>,
    /// Where held requests go: assessed, queued, decided, forwarded.
    pub desk: Arc<Desk>,
    /// Largest answer passed back to a client (single or batch).
    pub max_response_bytes: usize,
    /// `--max-json-depth`: the edge checks it on HTTP bodies; the router on WebSocket calls.
    pub max_json_depth: usize,
    /// The upstream as the edge's thread reaches it (its own share of the connections, opened
    /// and driven on that thread): reads forwarded as bytes, and a batch's reads.
    pub forwarder: Arc<airlock_chain::Upstream>,
    /// The daemon's worker pool, where every call that is not a plain forward runs: the edge's
    /// own thread only moves bytes.
    pub workers: tokio::runtime::Handle,
}

/// The middleware; `inner` is jsonrpsee's own method table (subscriptions only).
#[derive(Debug, Clone)]
pub(crate) struct Router<S> {
    /// jsonrpsee's own method table, which only subscriptions reach.
    pub inner: S,
    /// What every request needs.
    pub ctx: Arc<Ctx>,
}

impl<S> RpcServiceT for Router<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, req: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let this = self.clone();
        let span = tracing::debug_span!("rpc", method = %req.method);
        async move {
            if matches!(req.method_name(), "eth_subscribe" | "eth_unsubscribe") {
                return this.inner.call(req).await;
            }
            let Request { id, method, params, extensions, .. } = req;
            // The call's envelope is one level above its params.
            let max = this.ctx.max_json_depth;
            let deep = params.as_deref().is_some_and(|p| {
                airlock_wire::envelope::check_depth(p.get().as_bytes(), max.saturating_sub(1)).is_err()
            });
            if deep {
                let e = airlock_wire::envelope::WireError::Limit { limit: "max_json_depth", max };
                let object = jsonrpsee::types::ErrorObject::owned(e.code(), format!("Airlock: {e}"), e.data());
                return MethodResponse::error(id, object).with_extensions(extensions);
            }
            let result = this.ctx.handle(&method, params.as_deref()).await;
            let max = this.ctx.max_response_bytes;
            match result {
                Ok(raw) => MethodResponse::response(id, ResponsePayload::success(raw), max),
                Err(e) => MethodResponse::error(id, crate::errors::to_object(&e)),
            }
            .with_extensions(extensions)
        }
        .instrument(span)
    }

    /// Entries of a batch run concurrently: a held send does not delay the reads beside it, and
    /// the batch answers when its last entry does.
    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let this = self.clone();
        async move {
            let calls = batch.into_iter().map(|entry| match entry {
                Ok(BatchEntry::Call(req)) => futures_util::future::Either::Left(this.call(req)),
                Ok(BatchEntry::Notification(n)) => {
                    futures_util::future::Either::Right(std::future::ready(not_a_call(&n)))
                }
                Err(err) => {
                    let (err, id) = err.into_parts();
                    futures_util::future::Either::Right(std::future::ready(MethodResponse::error(id, err)))
                }
            });
            let responses = join_all(calls.collect::<Vec<_>>()).await;
            let mut builder = BatchResponseBuilder::new_with_limit(this.ctx.max_response_bytes);
            for rp in responses {
                if let Err(too_big) = builder.append(rp) {
                    return too_big;
                }
            }
            MethodResponse::from_batch(builder.finish())
        }
    }

    fn notification<'a>(&self, n: Notification<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        std::future::ready(not_a_call(&n))
    }
}

/// A notification is never forwarded: it expects no answer, so a send inside one could never be
/// confirmed or refused. On WebSocket it is answered all the same: jsonrpsee reads a call whose
/// id is not valid (`-1`, `1.5`, an object) as a notification, and such a call must not go
/// unanswered. A real client sends no notifications.
fn not_a_call(n: &Notification<'_>) -> MethodResponse {
    tracing::warn!(method = %n.method, "a call without a valid id (or a notification): answered -32600, nothing forwarded");
    let message = "Airlock: not a call: an id must be a string, null or an unsigned 64-bit integer (notifications are not taken); nothing was forwarded";
    MethodResponse::error(jsonrpsee::types::Id::Null, jsonrpsee::types::ErrorObject::owned(-32600, message, None::<()>))
}

impl Ctx {
    /// [`Ctx::route`] on the worker pool.
    pub async fn handle(self: &Arc<Self>, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, Error> {
        let (ctx, method, params) = (self.clone(), method.to_owned(), params.map(|p| p.to_owned()));
        let task = self.workers.spawn(async move { ctx.route(&method, params.as_deref()).await });
        // A client that goes away drops this future: the call is dropped with it, as if it ran
        // here (a held request then learns that its client left).
        let _abort = AbortOnDrop(task.abort_handle());
        match task.await {
            Ok(answer) => answer,
            Err(e) => Err(Error::Ended(airlock_types::RpcError {
                code: -32603,
                message: format!("Airlock: the call stopped: {e}"),
                data: None,
            })),
        }
    }

    /// Routes one call: reads about held items to the desk, other reads to the chain (from
    /// proofs where it can), sends and signatures to the desk, bypasses refused.
    async fn route(&self, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, Error> {
        match decode::route(method) {
            Route::Forward => {
                // About a transaction or batch Airlock holds: answered from the item.
                if let Some(answer) = self.desk.read(method, params).await {
                    return answer;
                }
                if let Some(answer) = self.verified_read(method, params).await? {
                    return Ok(answer);
                }
                Ok(self.chain.upstream().request(method, params).await?)
            }
            Route::Refuse => Err(Error::Refused(method.to_owned())),
            Route::OddName => Err(Error::OddName(method.to_owned())),
            Route::Hold(kind) => self.desk.submit(kind, method, params).await,
        }
    }

    /// A read answered from verified state, or `None` to pass it through.
    async fn verified_read(&self, method: &str, params: Option<&RawValue>) -> Result<Option<Box<RawValue>>, Error> {
        let kind = match method {
            "eth_call" => CallKind::Call,
            "eth_estimateGas" => CallKind::EstimateGas,
            _ => return Ok(self.chain.read(method, params).await?),
        };
        if !self.chain.runs_calls() {
            return Ok(None);
        }
        let list: Vec<serde_json::Value> = match params {
            Some(p) => serde_json::from_str(p.get()).map_err(|e| decode::InputError(format!("{method}: {e}")))?,
            None => vec![],
        };
        let obj = list.first().ok_or_else(|| decode::InputError(format!("{method} needs a call object")))?;
        let tx = decode::call_object(obj, method)?;
        Ok(self.chain.call(kind, &tx, &list[1..]).await?)
    }
}

/// Aborts a task on the worker pool when the call waiting for it is dropped.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The method table behind the router: `eth_subscribe` bridged to the upstream's subscription.
pub(crate) fn subscriptions(ctx: Arc<Ctx>) -> RpcModule<Ctx> {
    let mut module = RpcModule::from_arc(ctx);
    module
        .register_subscription_raw("eth_subscribe", "eth_subscription", "eth_unsubscribe", |params, pending, ctx, _| {
            let params = params.as_str().and_then(|s| RawValue::from_string(s.to_owned()).ok());
            tokio::spawn(async move {
                let mut upstream = match ctx.chain.upstream().subscribe(params.as_deref()).await {
                    Ok(sub) => sub,
                    Err(e) => return pending.reject(crate::errors::upstream_error(&e)).await,
                };
                let Ok(sink) = pending.accept().await else { return };
                loop {
                    tokio::select! {
                        _ = sink.closed() => break,
                        next = upstream.next() => match next {
                            Some(Ok(msg)) => {
                                if sink.send(SubscriptionMessage::from(msg)).await.is_err() {
                                    break;
                                }
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "upstream subscription sent garbage; closing it");
                                break;
                            }
                            None => {
                                tracing::info!("upstream closed the subscription");
                                break;
                            }
                        },
                    }
                }
                // Dropping `upstream` unsubscribes there.
            });
        })
        .expect("eth_subscribe is registered once");
    module
}
