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
use jsonrpsee::types::{ErrorObjectOwned, Request};
use serde_json::value::RawValue;
use tracing::Instrument;

use crate::decode::{self, Kind, Route};
use crate::errors::{ProxyError, upstream_error};
use crate::queue::Queue;
use crate::upstream::Upstream;

/// What every request needs.
#[derive(Debug)]
pub struct Ctx {
    pub upstream: Arc<Upstream>,
    pub queue: Arc<Queue>,
    pub max_response_bytes: usize,
    /// Set in a verified mode.
    pub tracker: Option<crate::verified::HeadSource>,
    /// Answer balance, nonce, code, storage and block-number reads from proofs.
    pub verified_reads: bool,
}

/// The middleware; `inner` is jsonrpsee's own method table (subscriptions only).
#[derive(Debug, Clone)]
pub struct Router<S> {
    pub inner: S,
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
            let result = this.ctx.handle(&method, params.as_deref()).await;
            let max = this.ctx.max_response_bytes;
            match result {
                Ok(raw) => MethodResponse::response(id, ResponsePayload::success(raw), max),
                Err(e) => MethodResponse::error(id, ErrorObjectOwned::from(e)),
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
            let mut notifications = 0usize;
            let calls = batch.into_iter().filter_map(|entry| match entry {
                Ok(BatchEntry::Call(req)) => Some(futures_util::future::Either::Left(this.call(req))),
                Ok(BatchEntry::Notification(n)) => {
                    notifications += 1;
                    drop_notification(&n);
                    None
                }
                Err(err) => {
                    let (err, id) = err.into_parts();
                    Some(futures_util::future::Either::Right(std::future::ready(MethodResponse::error(id, err))))
                }
            });
            let responses = join_all(calls.collect::<Vec<_>>()).await;
            if responses.is_empty() && notifications > 0 {
                return MethodResponse::notification();
            }
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
        drop_notification(&n);
        std::future::ready(MethodResponse::notification())
    }
}

/// A JSON-RPC notification expects no answer, so a send inside one could never be confirmed or
/// refused: it is never forwarded.
fn drop_notification(n: &Notification<'_>) {
    tracing::warn!(method = %n.method, "ignored a JSON-RPC notification (a call without id): nothing forwarded");
}

impl Ctx {
    /// Routes one call.
    pub async fn handle(&self, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, ProxyError> {
        match decode::route(method) {
            Route::Forward => {
                if let Some(tracker) =
                    self.tracker.as_ref().filter(|_| self.verified_reads && crate::verified::is_verified_read(method))
                    && let Some(answer) = crate::verified::answer(&self.upstream, tracker, method, params).await?
                {
                    return Ok(answer);
                }
                Ok(self.upstream.request(method, params).await?)
            }
            Route::Refuse => Err(ProxyError::Refused(method.to_owned())),
            Route::Hold(kind) => self.hold(kind, method, params).await,
        }
    }

    async fn hold(&self, kind: Kind, method: &str, params: Option<&RawValue>) -> Result<Box<RawValue>, ProxyError> {
        let mut held = decode::parse(kind, method, params)?;
        if let Some(claimed) = held.claimed_chain_id {
            let upstream = self.upstream.chain_id().await?;
            if claimed != upstream {
                return Err(ProxyError::WrongChain { claimed, upstream });
            }
        }
        held.verification = Some(self.verification().await);
        let mut waiter = self.queue.hold(held)?;
        let outcome = waiter.outcome().await;
        outcome.map_err(ProxyError::Ended)
    }

    /// What the state behind a new item is checked against, now. A failure is recorded and
    /// shown, never hidden: the item is still held for the person's explicit decision.
    async fn verification(&self) -> airlock_types::Verification {
        use airlock_types::{Verification, VerificationStatus as S};
        let Some(tracker) = &self.tracker else {
            return Verification {
                mode: "unverified".into(),
                status: S::Unverified,
                block_number: None,
                block_hash: None,
                error: None,
                note: None,
            };
        };
        let (status, head, error, note) = match tracker.refresh().await {
            Ok(head) if head.trusted => (S::Verified, Some(head), None, None),
            Ok(head) => (
                S::Unverified,
                Some(head),
                None,
                Some(
                    "this block links back to the pinned block, but without a beacon API its state cannot be verified",
                ),
            ),
            Err(e) => (S::Failed, None, Some(e.to_string()), None),
        };
        Verification {
            mode: tracker.mode().to_owned(),
            status,
            block_number: head.as_ref().map(|h| h.number),
            block_hash: head.as_ref().map(|h| h.hash),
            error,
            note: note.map(str::to_owned),
        }
    }
}

/// The method table behind the router: `eth_subscribe` bridged to the upstream's subscription.
pub fn subscriptions(ctx: Arc<Ctx>) -> RpcModule<Ctx> {
    let mut module = RpcModule::from_arc(ctx);
    module
        .register_subscription_raw("eth_subscribe", "eth_subscription", "eth_unsubscribe", |params, pending, ctx, _| {
            let params = params.as_str().and_then(|s| RawValue::from_string(s.to_owned()).ok());
            tokio::spawn(async move {
                let mut upstream = match ctx.upstream.subscribe(params.as_deref()).await {
                    Ok(sub) => sub,
                    Err(e) => return pending.reject(upstream_error(&e)).await,
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
