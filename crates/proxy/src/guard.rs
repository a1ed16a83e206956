//! HTTP-level guards on the wallet endpoint, in front of JSON-RPC.
//!
//! Browsers let any web page open a WebSocket to 127.0.0.1 (there is no CORS for WebSocket), and
//! a page can reach loopback through DNS rebinding. So the endpoint refuses requests whose
//! Origin is a web page that is not itself on this machine, and (unless told to listen beyond
//! loopback) requests whose Host is not a loopback name. Wallets' background pages send
//! extension origins (`chrome-extension://…`, `moz-extension://…`); scripts and the CLI send
//! none; both pass.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use jsonrpsee::types::ErrorObject;
use tower::{Layer, Service};

/// See the module docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct OriginGuardLayer;

impl<S> Layer<S> for OriginGuardLayer {
    type Service = OriginGuard<S>;
    fn layer(&self, inner: S) -> OriginGuard<S> {
        OriginGuard { inner }
    }
}

#[derive(Debug, Clone)]
pub struct OriginGuard<S> {
    inner: S,
}

/// True if a request with this Origin header may use the endpoint.
pub fn origin_allowed(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        // "null" (sandboxed frames, file pages) and anything unparseable.
        return false;
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" | "https" => {
            let host = rest.split('/').next().unwrap_or_default();
            let host = match host.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None => host.rsplit_once(':').map_or(host, |(h, _)| h),
            };
            matches!(host.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1")
        }
        // Browser extensions (wallets) and native apps.
        _ => true,
    }
}

impl<S, B> Service<HttpRequest<B>> for OriginGuard<S>
where
    S: Service<HttpRequest<B>, Response = HttpResponse<HttpBody>>,
    S::Error: Into<BoxError> + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse<HttpBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send + 'static>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: HttpRequest<B>) -> Self::Future {
        let origin = req.headers().get(http::header::ORIGIN).map(|o| o.to_str().unwrap_or("").to_owned());
        if let Some(origin) = origin.filter(|o| !origin_allowed(o)) {
            tracing::warn!(%origin, "refused a request from a web page");
            let e = airlock_hold::errors::origin_refused(&origin);
            let err = ErrorObject::owned(e.code, e.message, e.data);
            let mut resp = jsonrpsee::server::http::response::error_response(err);
            *resp.status_mut() = http::StatusCode::FORBIDDEN;
            return Box::pin(async move { Ok(resp) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::origin_allowed;

    #[test]
    fn web_pages_are_refused_unless_local() {
        for ok in [
            "chrome-extension://nkbihfbeogaeaoehlefnkodbefgpgknn",
            "moz-extension://1234",
            "http://localhost:3000",
            "http://127.0.0.1:8080",
            "http://[::1]:5173",
            "https://LOCALHOST",
        ] {
            assert!(origin_allowed(ok), "{ok}");
        }
        for bad in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.nip.io",
            "null",
            "",
            "https://[::2]:1",
        ] {
            assert!(!origin_allowed(bad), "{bad}");
        }
    }
}
