//! airlock-prompt: where the person decides. The local page (`/`, `/history`) and the control
//! API that it and the terminal commands (`airlock pending`, `approve`, `reject`, `history`)
//! use, with server-sent events for live updates.
//!
//! Friction follows the risk and is enforced here, not only on the page: a `danger` item, or one
//! whose verification failed, is approved only with the phrase `approve ID` in the request (and
//! not before its configured delay).
//!
//! The API listens on loopback only and trusts nobody by default:
//! - every request carries the per-run token (`?token=` or `Authorization: Bearer`), else 401;
//! - the Host header must name the address we are bound to, else 421 (DNS rebinding);
//! - a state-changing request whose Origin is not our own gets 403 (CSRF);
//! - no CORS headers are ever sent, so no other origin can read a response.

use std::net::SocketAddr;
use std::sync::Arc;

mod page;

use airlock_types::{DecisionError, Decisions, Item, Severity, VerificationStatus};
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
    /// A `danger` item cannot be approved before it has been shown this long.
    pub danger_delay: std::time::Duration,
}

impl ApiConfig {
    pub fn new(bound: SocketAddr, token: String) -> Self {
        ApiConfig { bound, token, danger_delay: std::time::Duration::ZERO }
    }
}

/// What a person types to approve a risky item (`danger`, or failed verification).
pub fn confirm_phrase(item: &Item) -> String {
    format!("approve {}", item.id)
}

/// Whether approving `item` needs the typed phrase.
pub fn needs_phrase(item: &Item) -> bool {
    item.verdict == Some(Severity::Danger)
        || item.verification.as_ref().is_some_and(|v| v.status == VerificationStatus::Failed)
}

struct AppState<D> {
    decisions: Arc<D>,
    cfg: ApiConfig,
}

/// The control API as an axum router, ready to serve on a listener bound to `cfg.bound`.
pub fn router<D: Decisions>(decisions: Arc<D>, cfg: ApiConfig) -> Router {
    router_with(decisions, cfg, None)
}

/// The control API with `mcp` (the agents' MCP server over streamable HTTP) at `/mcp`, behind
/// the same token, Host and Origin checks as the rest.
pub fn router_with<D: Decisions>(decisions: Arc<D>, cfg: ApiConfig, mcp: Option<Router>) -> Router {
    let state = Arc::new(AppState { decisions, cfg });
    let base = match mcp {
        Some(m) => Router::new().nest_service("/mcp", m),
        None => Router::new(),
    };
    base.route("/", get(page::index))
        .route("/history", get(page::index))
        .route("/app.js", get(page::script))
        .route("/app.css", get(page::style))
        .route("/api/events", get(page::events::<D>))
        .route("/api/pending", get(pending::<D>))
        .route("/api/history", get(history::<D>))
        .route("/api/items/{id}", get(item::<D>))
        .route("/api/items/{id}/receipt", get(receipt::<D>))
        .route("/api/pending/{id}/approve", post(approve::<D>))
        .route("/api/pending/{id}/reject", post(reject::<D>))
        .route("/api/pending/{id}/fees", post(use_suggested_fees::<D>))
        .route("/api/approvals", get(approvals::<D>))
        .route("/api/intel", get(intel::<D>))
        .route("/api/intel/reload", post(reload_intel::<D>))
        .route("/api/propose", post(propose::<D>))
        .route("/api/simulate", post(simulate::<D>))
        .route("/api/balances", get(balances::<D>))
        .route("/api/ask", post(ask::<D>))
        .layer(middleware::from_fn_with_state(state.clone(), guard::<D>))
        .with_state(state)
}

/// Serves the router on `listener` until `shutdown` resolves.
pub async fn serve<D: Decisions>(
    listener: tokio::net::TcpListener,
    decisions: Arc<D>,
    cfg: ApiConfig,
    mcp: Option<Router>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router_with(decisions, cfg, mcp)).with_graceful_shutdown(shutdown).await
}

async fn guard<D: Decisions>(State(state): State<Arc<AppState<D>>>, req: Request, next: Next) -> Response {
    let cfg = &state.cfg;
    let headers = req.headers();
    if req.uri().authority().is_some() || req.uri().scheme().is_some() {
        return problem(StatusCode::BAD_REQUEST, "the request target must be a path, not an absolute URL");
    }
    if headers.get_all(header::HOST).iter().count() != 1 {
        return problem(StatusCode::BAD_REQUEST, "a request must carry exactly one Host header");
    }
    if !host_allowed(headers, cfg.bound) {
        return problem(StatusCode::MISDIRECTED_REQUEST, "Host header does not name this server");
    }
    // The page's shell, script and style hold no data: no token needed (the browser cannot send
    // one for them). Everything else needs it.
    if page::is_static(req.uri().path()) {
        return next.run(req).await;
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
        DecisionError::NotOpen { .. } | DecisionError::Changed { .. } | DecisionError::Unchangeable { .. } => {
            StatusCode::CONFLICT
        }
        DecisionError::Store(_) | DecisionError::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
        DecisionError::Invalid(_) => StatusCode::BAD_REQUEST,
    };
    problem(status, &e.to_string())
}

async fn pending<D: Decisions>(State(s): State<Arc<AppState<D>>>) -> Json<Vec<Item>> {
    Json(s.decisions.pending())
}

#[derive(Deserialize)]
struct HistoryQuery {
    limit: Option<usize>,
    /// The last item id of the previous page: the next page starts after it.
    before: Option<String>,
}

/// Most items one history page returns (`max_history_page`); the next page is asked for with
/// `before` = the last id seen.
pub const MAX_HISTORY_PAGE: usize = 500;

async fn history<D: Decisions>(State(s): State<Arc<AppState<D>>>, Query(q): Query<HistoryQuery>) -> Response {
    let limit = q.limit.unwrap_or(50);
    if limit > MAX_HISTORY_PAGE {
        let why = format!(
            "limit {limit} exceeds max_history_page = {MAX_HISTORY_PAGE}; ask for the next page with before=<last id>"
        );
        return problem(StatusCode::BAD_REQUEST, &why);
    }
    match s.decisions.history(limit, q.before.as_deref()) {
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

/// The receipt of a forwarded item's transaction (null while not mined, or for an item that
/// sent none), as the upstream node gives it: not checked against a verified block, and said so.
async fn receipt<D: Decisions>(State(s): State<Arc<AppState<D>>>, Path(id): Path<String>) -> Response {
    match s.decisions.receipt(&id).await {
        Ok(r) => Json(json!({ "receipt": r, "verified": false })).into_response(),
        Err(e) => decision_error(e),
    }
}

#[derive(Debug, Default, Deserialize)]
struct ApproveBody {
    /// The phrase `approve ID`, for risky items.
    confirm: Option<String>,
}

async fn approve<D: Decisions>(
    State(s): State<Arc<AppState<D>>>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body: ApproveBody = if body.iter().all(u8::is_ascii_whitespace) {
        ApproveBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return problem(StatusCode::BAD_REQUEST, &format!("the body must be {{\"confirm\": \"…\"}}: {e}"));
            }
        }
    };
    let item = match s.decisions.item(&id) {
        Ok(Some(item)) => item,
        Ok(None) => return decision_error(DecisionError::NotFound(id)),
        Err(e) => return decision_error(e),
    };
    if needs_phrase(&item) {
        let phrase = confirm_phrase(&item);
        if body.confirm.as_deref().map(str::trim) != Some(phrase.as_str()) {
            return problem(
                StatusCode::PRECONDITION_REQUIRED,
                &format!("this item is risky: approving it needs the phrase \"{phrase}\" typed (confirm)"),
            );
        }
        if item.verdict == Some(Severity::Danger) && !s.cfg.danger_delay.is_zero() {
            let ready = item.received_at.plus(s.cfg.danger_delay);
            let now = airlock_types::Timestamp::now();
            if now < ready {
                let wait = now.until(ready).as_secs() + 1;
                return problem(StatusCode::TOO_EARLY, &format!("a danger item can be approved {wait} s from now"));
            }
        }
    }
    match s.decisions.approve(&id).await {
        Ok(item) => Json(item).into_response(),
        Err(e) => decision_error(e),
    }
}

#[derive(Debug, Deserialize)]
struct ApprovalsQuery {
    owner: Option<String>,
}

/// The query's owner, or why it is not an address.
fn owner_of(q: &ApprovalsQuery) -> Result<Option<alloy_primitives::Address>, String> {
    match q.owner.as_deref().map(str::parse::<alloy_primitives::Address>) {
        None => Ok(None),
        Some(Ok(a)) => Ok(Some(a)),
        Some(Err(e)) => Err(format!("owner is not an address: {e}")),
    }
}

/// The open approvals the log holds, read again on the newest head.
async fn approvals<D: Decisions>(State(s): State<Arc<AppState<D>>>, Query(q): Query<ApprovalsQuery>) -> Response {
    let owner = match owner_of(&q) {
        Ok(o) => o,
        Err(why) => return problem(StatusCode::BAD_REQUEST, &why),
    };
    match s.decisions.approvals(owner).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => decision_error(e),
    }
}

/// ETH and token balances of the owner (or of each managed account), on the newest head.
async fn balances<D: Decisions>(State(s): State<Arc<AppState<D>>>, Query(q): Query<ApprovalsQuery>) -> Response {
    let owner = match owner_of(&q) {
        Ok(o) => o,
        Err(why) => return problem(StatusCode::BAD_REQUEST, &why),
    };
    match s.decisions.balances(owner).await {
        Ok(view) => Json(view).into_response(),
        Err(e) => decision_error(e),
    }
}

/// The longest plain-text request `ask` reads.
pub const MAX_ASK_CHARS: usize = 500;

/// Plain text to an intent, by the local model; held for the person like `propose`'s (or, with
/// `"hold": false`, simulated only).
async fn ask<D: Decisions>(State(s): State<Arc<AppState<D>>>, body: axum::body::Bytes) -> Response {
    let ask = match serde_json::from_slice::<airlock_types::Ask>(&body) {
        Ok(a) => a,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("expected {{\"text\": \"...\"}}: {e}")),
    };
    if ask.text.trim().is_empty() || ask.text.chars().count() > MAX_ASK_CHARS {
        return problem(StatusCode::BAD_REQUEST, &format!("the text must be 1 to {MAX_ASK_CHARS} characters"));
    }
    match s.decisions.ask(ask).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => decision_error(e),
    }
}

/// The threat lists that loaded, each with its size, date and (when downloaded) age.
async fn intel<D: Decisions>(State(s): State<Arc<AppState<D>>>) -> Json<Vec<airlock_types::ThreatList>> {
    Json(s.decisions.threat_lists())
}

/// An agent's intent: built, held like any send, and answered at once with the held item.
async fn propose<D: Decisions>(State(s): State<Arc<AppState<D>>>, body: axum::body::Bytes) -> Response {
    let intent: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("the intent is not JSON: {e}")),
    };
    match s.decisions.propose(intent).await {
        Ok(item) => Json(item).into_response(),
        Err(e) => decision_error(e),
    }
}

/// What an intent's request would do, holding nothing.
async fn simulate<D: Decisions>(State(s): State<Arc<AppState<D>>>, body: axum::body::Bytes) -> Response {
    let intent: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return problem(StatusCode::BAD_REQUEST, &format!("the intent is not JSON: {e}")),
    };
    match s.decisions.simulate_intent(intent).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => decision_error(e),
    }
}

/// Reads the threat lists again; answers with the lists now in use.
async fn reload_intel<D: Decisions>(State(s): State<Arc<AppState<D>>>) -> Response {
    match s.decisions.reload_threat_lists().await {
        Ok(lists) => Json(lists).into_response(),
        Err(e) => decision_error(e),
    }
}

/// Replaces an unsigned transaction's fees with the suggestion; it stays pending.
async fn use_suggested_fees<D: Decisions>(State(s): State<Arc<AppState<D>>>, Path(id): Path<String>) -> Response {
    match s.decisions.use_suggested_fees(&id).await {
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
        async fn changed(&self, seen: u64) -> u64 {
            // Generation 0 for ever: the list never changes.
            if seen == 0 {
                std::future::pending::<()>().await;
            }
            0
        }
        fn item(&self, id: &str) -> Result<Option<Item>, DecisionError> {
            Ok((id == "abc").then(|| item(id, Status::Pending)))
        }
        fn history(&self, _limit: usize, _before: Option<&str>) -> Result<Vec<Item>, DecisionError> {
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
        async fn use_suggested_fees(&self, id: &str) -> Result<Item, DecisionError> {
            Err(DecisionError::Unchangeable { id: id.into(), why: "signed".into() })
        }
        async fn approvals(
            &self,
            _: Option<alloy_primitives::Address>,
        ) -> Result<airlock_types::ApprovalsView, DecisionError> {
            Err(DecisionError::Store("none here".into()))
        }
    }

    const BOUND: &str = "127.0.0.1:8549";

    fn app() -> (Router, Arc<Recorder>) {
        let rec = Arc::new(Recorder::default());
        let cfg = ApiConfig::new(BOUND.parse().expect("addr"), "s3cret".into());
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
            // Two Host headers (the first our own), or none: refused before anything else.
            ("GET", "/api/pending?token=s3cret", &[host, ("host", "evil.example:8549")], StatusCode::BAD_REQUEST),
            ("GET", "/api/pending?token=s3cret", &[], StatusCode::BAD_REQUEST),
            // An absolute-form target naming another host.
            ("GET", "http://evil.example/api/pending?token=s3cret", &[host], StatusCode::BAD_REQUEST),
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
mod page_tests {
    use super::*;
    use airlock_types::{Severity, Status, Timestamp};
    use axum::body::Body;
    use std::sync::Mutex;
    use tower::ServiceExt;

    /// One pending item whose verdict the test sets; records approvals.
    struct One {
        item: Item,
        approved: Mutex<u32>,
    }

    impl Decisions for One {
        fn pending(&self) -> Vec<Item> {
            vec![self.item.clone()]
        }
        async fn changed(&self, seen: u64) -> u64 {
            // Generation 0 for ever: the list never changes.
            if seen == 0 {
                std::future::pending::<()>().await;
            }
            0
        }
        fn item(&self, id: &str) -> Result<Option<Item>, DecisionError> {
            Ok((id == self.item.id).then(|| self.item.clone()))
        }
        fn history(&self, _: usize, _: Option<&str>) -> Result<Vec<Item>, DecisionError> {
            Ok(vec![])
        }
        async fn approve(&self, _: &str) -> Result<Item, DecisionError> {
            *self.approved.lock().expect("lock") += 1;
            Ok(Item { status: Status::Forwarded, ..self.item.clone() })
        }
        async fn reject(&self, _: &str) -> Result<Item, DecisionError> {
            Ok(Item { status: Status::Rejected, ..self.item.clone() })
        }
        async fn use_suggested_fees(&self, _: &str) -> Result<Item, DecisionError> {
            Ok(self.item.clone())
        }
        async fn approvals(
            &self,
            _: Option<alloy_primitives::Address>,
        ) -> Result<airlock_types::ApprovalsView, DecisionError> {
            Err(DecisionError::Store("none here".into()))
        }
    }

    fn app(verdict: Option<Severity>, delay: u64) -> (Router, Arc<One>) {
        let params = serde_json::value::RawValue::from_string("[]".into()).expect("json");
        let item = Item {
            verdict,
            ..Item::pending("ab12".into(), "eth_sendTransaction".into(), params, Timestamp::now(), Timestamp(0))
        };
        let one = Arc::new(One { item, approved: Mutex::new(0) });
        let cfg = ApiConfig {
            danger_delay: std::time::Duration::from_secs(delay),
            ..ApiConfig::new("127.0.0.1:8549".parse().expect("addr"), "t".into())
        };
        (router(one.clone(), cfg), one)
    }

    async fn post(app: Router, body: &str) -> StatusCode {
        let req = axum::http::Request::builder()
            .method("POST")
            .uri("/api/pending/ab12/approve?token=t")
            .header("host", "127.0.0.1:8549")
            .body(Body::from(body.to_owned()))
            .expect("request");
        app.oneshot(req).await.expect("infallible").status()
    }

    #[tokio::test]
    async fn danger_needs_the_phrase_and_waits_out_the_delay() {
        let (a, one) = app(Some(Severity::Danger), 0);
        assert_eq!(post(a.clone(), "").await, StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(post(a.clone(), r#"{"confirm":"approve zz99"}"#).await, StatusCode::PRECONDITION_REQUIRED);
        assert_eq!(post(a.clone(), "not json").await, StatusCode::BAD_REQUEST);
        assert_eq!(*one.approved.lock().expect("lock"), 0, "nothing was approved");
        assert_eq!(post(a, r#"{"confirm":"approve ab12"}"#).await, StatusCode::OK);
        assert_eq!(*one.approved.lock().expect("lock"), 1);
        // With a delay set, even the right phrase waits.
        let (a, one) = app(Some(Severity::Danger), 60);
        assert_eq!(post(a, r#"{"confirm":"approve ab12"}"#).await, StatusCode::TOO_EARLY);
        assert_eq!(*one.approved.lock().expect("lock"), 0);
        // Warn and info need no phrase from the API (the page asks a second click for warn).
        for v in [Some(Severity::Warn), Some(Severity::Info), None] {
            let (a, one) = app(v, 60);
            assert_eq!(post(a, "").await, StatusCode::OK);
            assert_eq!(*one.approved.lock().expect("lock"), 1);
        }
    }

    #[tokio::test]
    async fn the_page_is_served_strictly_and_the_stream_needs_the_token() {
        let (a, _) = app(None, 0);
        let get = |uri: &str| {
            axum::http::Request::builder().uri(uri).header("host", "127.0.0.1:8549").body(Body::empty()).expect("req")
        };
        for path in ["/", "/history", "/app.js", "/app.css"] {
            let resp = a.clone().oneshot(get(path)).await.expect("infallible");
            assert_eq!(resp.status(), StatusCode::OK, "{path}");
            let h = resp.headers();
            assert!(h["content-security-policy"].to_str().expect("ascii").contains("frame-ancestors 'none'"));
            assert_eq!(h["x-frame-options"], "DENY");
            assert_eq!(h["referrer-policy"], "no-referrer");
            assert!(h.get("access-control-allow-origin").is_none());
        }
        // The shell holds no data; the data needs the token.
        assert_eq!(a.clone().oneshot(get("/api/events")).await.expect("x").status(), StatusCode::UNAUTHORIZED);
        assert_eq!(a.clone().oneshot(get("/api/pending")).await.expect("x").status(), StatusCode::UNAUTHORIZED);
        let resp = a.clone().oneshot(get("/api/events?token=t")).await.expect("x");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(resp.headers()["content-type"], "text/event-stream");
        // Another Host: refused even for the shell (DNS rebinding).
        let evil = axum::http::Request::builder()
            .uri("/")
            .header("host", "evil.example:8549")
            .body(Body::empty())
            .expect("req");
        assert_eq!(a.oneshot(evil).await.expect("x").status(), StatusCode::MISDIRECTED_REQUEST);
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
