//! The confirmation page: one HTML file, one script, one style sheet, all served from here (no
//! third-party anything), and a server-sent event stream of the pending items.
//!
//! The page is strict about what it runs: a Content-Security-Policy that allows only this
//! origin's script and style and no framing (an attacker's page cannot overlay it and click for
//! the person), no referrer (the URL holds the token), nothing cached.

use std::sync::Arc;
use std::time::Duration;

use airlock_types::Decisions;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::Stream;

use crate::AppState;

const INDEX: &str = include_str!("../assets/index.html");
const SCRIPT: &str = include_str!("../assets/app.js");
const STYLE: &str = include_str!("../assets/app.css");

/// The page's shell, script and style: the same for everyone and holding no data (the data
/// comes from the API, with the token). A reload of the page, whose address no longer carries
/// the token, still loads.
pub(crate) fn is_static(path: &str) -> bool {
    matches!(path, "/" | "/history" | "/app.js" | "/app.css")
}

fn with_headers(body: &'static str, content_type: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; \
             base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub(crate) async fn index() -> Response {
    with_headers(INDEX, "text/html; charset=utf-8")
}

pub(crate) async fn script() -> Response {
    with_headers(SCRIPT, "text/javascript; charset=utf-8")
}

pub(crate) async fn style() -> Response {
    with_headers(STYLE, "text/css; charset=utf-8")
}

/// `event: pending` with the pending items (newest first) at once on connecting and whenever
/// they change, and a keep-alive comment while nothing does.
pub(crate) async fn events<D: Decisions>(
    State(s): State<Arc<AppState<D>>>,
) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    // (state, the last list sent, the generation it was read at; None before the first).
    let start = (s, String::new(), None::<u64>);
    let stream = futures_util::stream::unfold(start, |(s, last, seen)| async move {
        let mut seen = seen;
        loop {
            // u64::MAX is never a generation the queue is at: the first read is at once.
            let generation = s.decisions.changed(seen.unwrap_or(u64::MAX)).await;
            let now = serde_json::to_string(&s.decisions.pending()).unwrap_or_else(|_| "[]".into());
            // A change to an item that is not open (one that ended) leaves the list alike.
            if now != last || seen.is_none() {
                let event = Event::default().event("pending").data(now.clone());
                return Some((Ok(event), (s, now, Some(generation))));
            }
            seen = Some(generation);
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
