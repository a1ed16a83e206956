//! airlock-prompt: where the person decides. Today that is the local control API that the
//! terminal commands (`airlock pending`, `approve`, `reject`, `history`) use; the confirmation
//! page will be served from here too.
//!
//! The API listens on loopback only and trusts nobody by default:
//! - every request carries the per-run token (`?token=` or `Authorization: Bearer`), else 401;
//! - the Host header must name the address we are bound to, else 421 (DNS rebinding);
//! - a state-changing request whose Origin is not our own gets 403 (CSRF);
//! - no CORS headers are ever sent, so no other origin can read a response.

use std::net::SocketAddr;
use std::sync::Arc;

use airlock_types::{DecisionError, Decisions, Item};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// What the control API needs to run.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The address the listener is bound to; the only Host the API answers.
    pub bound: SocketAddr,
    /// The per-run secret. Compared in constant time.
    pub token: String,
}

struct AppState<D> {
    decisions: Arc<D>,
    cfg: ApiConfig,
}

/// The control API as an axum router, ready to serve on a listener bound to `cfg.bound`.
pub fn router<D: Decisions>(decisions: Arc<D>, cfg: ApiConfig) -> Router {
    let state = Arc::new(AppState { decisions, cfg });
    Router::new()
        .route("/api/pending", get(pending::<D>))
        .route("/api/history", get(history::<D>))
        .route("/api/items/{id}", get(item::<D>))
        .route("/api/pending/{id}/approve", post(approve::<D>))
        .route("/api/pending/{id}/reject", post(reject::<D>))
        .layer(middleware::from_fn_with_state(state.clone(), guard::<D>))
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve<D: Decisions>(
    listener: tokio::net::TcpListener,
    decisions: Arc<D>,
    cfg: ApiConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(decisions, cfg)).with_graceful_shutdown(shutdown).await
}

async fn guard<D: Decisions>(State(state): State<Arc<AppState<D>>>, req: Request, next: Next) -> Response {
    let cfg = &state.cfg;
    let headers = req.headers();
    if !host_allowed(headers, cfg.bound) {
        return problem(StatusCode::MISDIRECTED_REQUEST, "Host header does not name this server");
    }
    let presented = bearer(headers).or_else(|| query_token(req.uri().query()));
    if !presented.is_some_and(|t| constant_time_eq(t.as_bytes(), cfg.token.as_bytes())) {
        return problem(StatusCode::UNAUTHORIZED, "missing or wrong token");
    }
    let state_changing = req.method() != Method::GET && req.method() != Method::HEAD;
    if state_changing && let Some(origin) = headers.get(header::ORIGIN) {
        let own = [format!("http://{}", cfg.bound), format!("http://localhost:{}", cfg.bound.port())];
        if !own.iter().any(|o| origin.as_bytes() == o.as_bytes()) {
            return problem(StatusCode::FORBIDDEN, "cross-origin request refused");
        }
    }
    next.run(req).await
}

fn host_allowed(headers: &HeaderMap, bound: SocketAddr) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let port = bound.port();
    if bound.ip().is_unspecified() {
        // Bound to every interface (only with --allow-non-loopback): any name, our port.
        return host.rsplit_once(':').is_some_and(|(_, p)| p == port.to_string());
    }
    let mut allowed = vec![bound.to_string()];
    if bound.ip().is_loopback() {
        allowed.push(format!("localhost:{port}"));
    }
    allowed.iter().any(|a| a.eq_ignore_ascii_case(host))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ")
}

fn query_token(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|kv| kv.strip_prefix("token="))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn problem(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn decision_error(e: DecisionError) -> Response {
    let status = match e {
        DecisionError::NotFound(_) => StatusCode::NOT_FOUND,
        DecisionError::NotOpen { .. } | DecisionError::Changed { .. } => StatusCode::CONFLICT,
        DecisionError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    problem(status, &e.to_string())
}

async fn pending<D: Decisions>(State(s): State<Arc<AppState<D>>>) -> Json<Vec<Item>> {
    Json(s.decisions.pending())
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
}

async fn history<D: Decisions>(State(s): State<Arc<AppState<D>>>, Query(q): Query<HistoryQuery>) -> Response {
    match s.decisions.history(q.limit.unwrap_or(50)) {
        Ok(items) => Json(items).into_response(),
        Err(e) => decision_error(e),
    }
}

async fn item<D: Decisions>(State(s): State<Arc<AppState<D>>>, Path(id): Path<String>) -> Response {
    match s.decisions.item(&id) {
        Ok(Some(item)) => Json(item).into_response(),
        Ok(None) => decision_error(DecisionError::NotFound(id)),
        Err(e) => decision_error(e),
    }
}

async fn approve<D: Decisions>(State(s): State<Arc<AppState<D>>>, Path(id): Path<String>) -> Response {
    match s.decisions.approve(&id).await {
        Ok(item) => Json(item).into_response(),
        Err(e) => decision_error(e),
    }
}

async fn reject<D: Decisions>(State(s): State<Arc<AppState<D>>>, Path(id): Path<String>) -> Response {
    match s.decisions.reject(&id).await {
        Ok(item) => Json(item).into_response(),
        Err(e) => decision_error(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use airlock_types::{Status, Timestamp};
    use axum::body::Body;
    use std::sync::Mutex;
    use tower::ServiceExt;

    /// A decision seam that records what it was asked.
    #[derive(Default)]
    struct Recorder {
        approved: Mutex<Vec<String>>,
    }

    fn item(id: &str, status: Status) -> Item {
        let params = serde_json::value::RawValue::from_string("[]".into()).expect("json");
        Item { status, ..Item::pending(id.into(), "eth_sendTransaction".into(), params, Timestamp(0), Timestamp(0)) }
    }

    impl Decisions for Recorder {
        fn pending(&self) -> Vec<Item> {
            vec![item("abc", Status::Pending)]
        }
        fn item(&self, id: &str) -> Result<Option<Item>, DecisionError> {
            Ok((id == "abc").then(|| item(id, Status::Pending)))
        }
        fn history(&self, _limit: usize) -> Result<Vec<Item>, DecisionError> {
            Ok(vec![])
        }
        async fn approve(&self, id: &str) -> Result<Item, DecisionError> {
            self.approved.lock().expect("lock").push(id.into());
            if id != "abc" {
                return Err(DecisionError::NotFound(id.into()));
            }
            Ok(item(id, Status::Forwarded))
        }
        async fn reject(&self, id: &str) -> Result<Item, DecisionError> {
            Err(DecisionError::NotOpen { id: id.into(), status: Status::Rejected })
        }
    }

    const BOUND: &str = "127.0.0.1:8549";

    fn app() -> (Router, Arc<Recorder>) {
        let rec = Arc::new(Recorder::default());
        let cfg = ApiConfig { bound: BOUND.parse().expect("addr"), token: "s3cret".into() };
        (router(rec.clone(), cfg), rec)
    }

    async fn send(app: Router, method: &str, uri: &str, headers: &[(&str, &str)]) -> StatusCode {
        let mut req = axum::http::Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let resp = app.oneshot(req.body(Body::empty()).expect("request")).await.expect("infallible");
        assert!(resp.headers().get("access-control-allow-origin").is_none(), "no CORS ever");
        resp.status()
    }

    #[tokio::test]
    async fn token_host_and_origin_are_enforced() {
        let (app, rec) = app();
        let host = ("host", BOUND);
        type Headers<'a> = &'a [(&'a str, &'a str)];
        let cases: &[(&str, &str, Headers, StatusCode)] = &[
            ("GET", "/api/pending", &[host], StatusCode::UNAUTHORIZED),
            ("GET", "/api/pending?token=wrong", &[host], StatusCode::UNAUTHORIZED),
            ("GET", "/api/pending?token=s3cre", &[host], StatusCode::UNAUTHORIZED),
            ("GET", "/api/pending?token=s3cret", &[host], StatusCode::OK),
            ("GET", "/api/pending", &[host, ("authorization", "Bearer s3cret")], StatusCode::OK),
            ("GET", "/api/pending?token=s3cret", &[("host", "localhost:8549")], StatusCode::OK),
            ("GET", "/api/pending?token=s3cret", &[("host", "evil.example:8549")], StatusCode::MISDIRECTED_REQUEST),
            ("GET", "/api/pending?token=s3cret", &[], StatusCode::MISDIRECTED_REQUEST),
            ("GET", "/api/items/abc?token=s3cret", &[host], StatusCode::OK),
            ("GET", "/api/items/nope?token=s3cret", &[host], StatusCode::NOT_FOUND),
            (
                "POST",
                "/api/pending/abc/approve?token=s3cret",
                &[host, ("origin", "http://evil.example")],
                StatusCode::FORBIDDEN,
            ),
            ("POST", "/api/pending/abc/approve", &[host], StatusCode::UNAUTHORIZED),
            ("POST", "/api/pending/abc/reject?token=s3cret", &[host], StatusCode::CONFLICT),
        ];
        for (method, uri, headers, want) in cases {
            assert_eq!(send(app.clone(), method, uri, headers).await, *want, "{method} {uri} {headers:?}");
        }
        assert!(rec.approved.lock().expect("lock").is_empty(), "refused requests never reach a decision");

        let ok = send(
            app.clone(),
            "POST",
            "/api/pending/abc/approve?token=s3cret",
            &[host, ("origin", "http://127.0.0.1:8549")],
        )
        .await;
        assert_eq!(ok, StatusCode::OK);
        let ok = send(app, "POST", "/api/pending/abc/approve", &[host, ("authorization", "Bearer s3cret")]).await;
        assert_eq!(ok, StatusCode::OK);
        assert_eq!(*rec.approved.lock().expect("lock"), ["abc", "abc"]);
    }
}

#[cfg(test)]
mod host_tests {
    use super::host_allowed;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn with_host(h: &str) -> HeaderMap {
        let mut m = HeaderMap::new();
        m.insert(header::HOST, HeaderValue::from_str(h).expect("header"));
        m
    }

    #[test]
    fn unspecified_bind_accepts_any_name_on_its_port_only() {
        let any = "0.0.0.0:8549".parse().expect("addr");
        assert!(host_allowed(&with_host("airlock.lan:8549"), any));
        assert!(!host_allowed(&with_host("airlock.lan:8545"), any));
        let lo = "127.0.0.1:8549".parse().expect("addr");
        assert!(!host_allowed(&with_host("airlock.lan:8549"), lo), "loopback bind: loopback names only");
    }
}
