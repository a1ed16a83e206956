//! HTTP-level guards on the wallet endpoint, in front of JSON-RPC.
//!
//! Browsers let any web page open a WebSocket to 127.0.0.1 (there is no CORS for WebSocket), and
//! a page can reach loopback through DNS rebinding. So the endpoint refuses requests whose
//! Origin is a web page that is not itself on this machine, and (unless told to listen beyond
//! loopback) requests whose Host is not a loopback name. Wallets' background pages send
//! extension origins (`chrome-extension://…`, `moz-extension://…`); scripts and the CLI send
//! none; both pass.
//!
//! A request must name one Host, in origin form (`POST / HTTP/1.1`, not `POST http://other/`).
//! Every refusal is a JSON-RPC error object with a null id.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use airlock_types::RpcError;
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use tower::{Layer, Service};

/// See the module docs. `any_host`: listening beyond loopback was asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct GuardLayer {
    pub any_host: bool,
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;
    fn layer(&self, inner: S) -> Guard<S> {
        Guard { inner, any_host: self.any_host }
    }
}

#[derive(Debug, Clone)]
pub struct Guard<S> {
    inner: S,
    any_host: bool,
}

/// Why a request is refused before it is read: the status and the message.
pub fn refused<B>(req: &HttpRequest<B>, any_host: bool) -> Option<(http::StatusCode, RpcError)> {
    let bad = |m: String| Some((http::StatusCode::BAD_REQUEST, RpcError { code: -32600, message: m, data: None }));
    if req.uri().authority().is_some() || req.uri().scheme().is_some() {
        return bad(format!("Airlock: the request target must be a path, not {}", req.uri()));
    }
    let mut hosts = req.headers().get_all(http::header::HOST).iter();
    let (Some(host), None) = (hosts.next(), hosts.next()) else {
        return bad("Airlock: a request must carry exactly one Host header".into());
    };
    let host = host.to_str().unwrap_or("");
    if !any_host && !host_is_loopback(host) {
        tracing::warn!(%host, "refused a request for another host name (DNS rebinding?)");
        let message = format!("Airlock answers only to loopback host names, not {host:?}");
        return Some((http::StatusCode::FORBIDDEN, RpcError { code: -32600, message, data: None }));
    }
    let origin = req.headers().get(http::header::ORIGIN).map(|o| o.to_str().unwrap_or("").to_owned());
    if let Some(origin) = origin.filter(|o| !origin_allowed(o)) {
        tracing::warn!(%origin, "refused a request from a web page");
        return Some((http::StatusCode::FORBIDDEN, airlock_hold::errors::origin_refused(&origin)));
    }
    None
}

/// localhost, 127.0.0.1 or [::1], with or without a port.
pub fn host_is_loopback(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split_once(']').map_or("", |(h, rest)| if rest.is_empty() || port(rest) { h } else { "" }),
        None => match host.rsplit_once(':') {
            Some((h, p)) if port(p) => h,
            Some(_) => "",
            None => host,
        },
    };
    matches!(name.to_ascii_lowercase().as_str(), "localhost" | "127.0.0.1" | "::1")
}

fn port(s: &str) -> bool {
    let digits = s.strip_prefix(':').unwrap_or(s);
    !digits.is_empty() && digits.len() <= 5 && digits.bytes().all(|b| b.is_ascii_digit())
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

impl<S, B> Service<HttpRequest<B>> for Guard<S>
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
        if let Some((status, e)) = refused(&req, self.any_host) {
            let resp = crate::edge::refusal(status, &e);
            return Box::pin(async move { Ok(resp) });
        }
        let fut = self.inner.call(req);
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

#[cfg(test)]
mod tests {
    use super::{host_is_loopback, origin_allowed, refused};

    #[test]
    fn hosts_must_be_one_loopback_name_and_targets_paths() {
        for ok in ["localhost", "localhost:8545", "127.0.0.1:1", "[::1]:8545", "[::1]", "LOCALHOST:1"] {
            assert!(host_is_loopback(ok), "{ok}");
        }
        for bad in ["evil.example", "localhost.evil:1", "127.0.0.1:x", "[::2]:1", "", "127.0.0.1:"] {
            assert!(!host_is_loopback(bad), "{bad}");
        }
        let req = |uri: &str, hosts: &[&str]| {
            let mut b = http::Request::builder().method("POST").uri(uri);
            for h in hosts {
                b = b.header(http::header::HOST, *h);
            }
            b.body(()).expect("request")
        };
        assert!(refused(&req("/", &["localhost:8545"]), false).is_none());
        let status = |r: &http::Request<()>| refused(r, false).map(|(s, _)| s.as_u16());
        assert_eq!(status(&req("/", &["localhost:8545", "evil.example"])), Some(400));
        assert_eq!(status(&req("/", &[])), Some(400));
        assert_eq!(status(&req("http://evil.example/", &["localhost:8545"])), Some(400));
        assert_eq!(status(&req("/", &["evil.example"])), Some(403));
        assert!(refused(&req("/", &["evil.example"]), true).is_none());
    }

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
