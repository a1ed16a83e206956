//! A bounded keep-alive pool of HTTP/1.1 connections to one upstream URL.
//!
//! At most `max` requests are in flight, each on its own connection; a connection is opened
//! only when no idle one is left, so the pool never holds more than `max` connections (in use
//! and idle together). A request waits its turn (first come, first served) when all are busy.
//! A connection goes back to the pool when its answer has been read to the end; one whose
//! answer was dropped half-read is closed. A request on an idle connection the server had
//! already closed is sent again on another, and only when it provably never left.
//!
//! A connection has no task of its own: the request that holds it drives it (hyper's connection
//! future is polled beside the request, and beside the answer's body while it streams), so a
//! forwarded read costs no hand-over between tasks or threads.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue};
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request through the pool got no answer.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("bad URL: {0}")]
    BadUrl(String),
    /// Nothing was sent.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The request may have been sent.
    #[error("the connection failed: {0}")]
    Io(String),
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
}

/// hyper's connection future: reads and writes the socket when polled.
type Driver = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// One connection: the handle requests are sent on, and the future that does its I/O (`None`
/// once it has ended).
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    driver: Option<Driver>,
}

impl Conn {
    fn is_closed(&self) -> bool {
        self.driver.is_none() || self.sender.is_closed()
    }
}

/// Polls a connection's I/O; the driver is dropped when the connection has ended.
fn poll_driver(driver: &mut Option<Driver>, cx: &mut Context<'_>) {
    if let Some(d) = driver.as_mut()
        && let Poll::Ready(r) = d.as_mut().poll(cx)
    {
        if let Err(e) = r {
            tracing::debug!(error = %e, "upstream connection ended");
        }
        *driver = None;
    }
}

/// Runs `f` (which needs the connection's I/O) to completion while driving the connection.
async fn drive<T>(driver: &mut Option<Driver>, f: impl Future<Output = T>) -> T {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = f.as_mut().poll(cx) {
            return Poll::Ready(v);
        }
        poll_driver(driver, cx);
        f.as_mut().poll(cx)
    })
    .await
}

#[derive(Clone)]
enum Dial {
    Http(HttpConnector),
    Https(HttpsConnector<HttpConnector>),
}

struct Inner {
    /// The request target (path and query) and the Host header.
    target: Uri,
    host: HeaderValue,
    /// From user:password in the URL.
    auth: Option<HeaderValue>,
    dial: Dial,
    connect_timeout: Duration,
    idle: Mutex<Vec<Conn>>,
    permits: Arc<Semaphore>,
    max: usize,
    opened: AtomicU64,
}

/// See the module docs. Cheap to clone.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("host", &self.inner.host).field("max", &self.inner.max).finish()
    }
}

impl Pool {
    /// A pool for `url` (http or https) of at most `max` connections (at least 1).
    pub fn new(url: &str, max: usize, connect_timeout: Duration) -> Result<Self, PoolError> {
        let uri: Uri = url.parse().map_err(|e| PoolError::BadUrl(format!("{url}: {e}")))?;
        let authority = uri.authority().ok_or_else(|| PoolError::BadUrl(format!("{url}: no host")))?.clone();
        let mut http = HttpConnector::new();
        http.set_nodelay(true);
        http.set_connect_timeout(Some(connect_timeout));
        let dial = match uri.scheme_str() {
            Some("http") => Dial::Http(http),
            Some("https") => {
                http.enforce_http(false);
                let tls = rustls_tls();
                Dial::Https(
                    hyper_rustls::HttpsConnectorBuilder::new()
                        .with_tls_config(tls)
                        .https_only()
                        .enable_http1()
                        .wrap_connector(http),
                )
            }
            _ => return Err(PoolError::BadUrl(format!("{url}: not http:// or https://"))),
        };
        let host_port = authority.as_str().rsplit_once('@').map_or(authority.as_str(), |(_, h)| h);
        let host = HeaderValue::from_str(host_port).map_err(|e| PoolError::BadUrl(e.to_string()))?;
        let auth = authority.as_str().rsplit_once('@').map(|(userinfo, _)| basic_auth(userinfo));
        let target = uri.path_and_query().map_or_else(|| Uri::from_static("/"), |p| Uri::from(p.clone()));
        let max = max.max(1);
        Ok(Pool {
            inner: Arc::new(Inner {
                target,
                host,
                auth,
                dial,
                connect_timeout,
                idle: Mutex::new(Vec::new()),
                permits: Arc::new(Semaphore::new(max)),
                max,
                opened: AtomicU64::new(0),
            }),
        })
    }

    /// Connections opened since the pool was made.
    pub fn connections_opened(&self) -> u64 {
        self.inner.opened.load(Ordering::Relaxed)
    }

    /// POSTs `body` as JSON and returns the answer's head; its body streams from the connection,
    /// which returns to the pool when the body has been read to the end.
    pub async fn post(&self, body: Bytes) -> Result<Response<PooledBody>, PoolError> {
        let permit =
            self.inner.permits.clone().acquire_owned().await.map_err(|_| PoolError::Connect("pool closed".into()))?;
        loop {
            let (mut conn, fresh) = match self.take_idle() {
                Some(c) => (c, false),
                None => (self.connect().await?, true),
            };
            let Conn { sender, driver } = &mut conn;
            let ready = drive(driver, std::future::poll_fn(|cx| sender.poll_ready(cx))).await;
            if ready.is_err() {
                if fresh {
                    return Err(PoolError::Connect("the new connection closed at once".into()));
                }
                continue;
            }
            let sent = drive(&mut conn.driver, conn.sender.try_send_request(self.request(body.clone()))).await;
            match sent {
                Ok(resp) => {
                    let lease = Lease { conn: Some(conn), pool: self.inner.clone(), _permit: permit };
                    return Ok(resp.map(|body| PooledBody { body, lease: Some(lease) }));
                }
                Err(mut e) => {
                    // An idle connection the server had closed, before any byte left: try another.
                    if !fresh && e.take_message().is_some() {
                        continue;
                    }
                    return Err(PoolError::Io(e.into_error().to_string()));
                }
            }
        }
    }

    /// POSTs `body` and reads the whole answer (at most `max` bytes): the status and the bytes.
    pub async fn post_collect(&self, body: Bytes, max: usize) -> Result<(http::StatusCode, Bytes), PoolError> {
        let resp = self.post(body).await?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), max).collect().await.map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() {
                PoolError::TooLarge(max)
            } else {
                PoolError::Io(e.to_string())
            }
        })?;
        Ok((status, bytes.to_bytes()))
    }

    fn take_idle(&self) -> Option<Conn> {
        let mut idle = self.inner.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(c) = idle.pop() {
            if !c.is_closed() {
                return Some(c);
            }
        }
        None
    }

    fn request(&self, body: Bytes) -> Request<Full<Bytes>> {
        let mut req = Request::new(Full::new(body));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.inner.target.clone();
        let h = req.headers_mut();
        h.insert(HOST, self.inner.host.clone());
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(auth) = &self.inner.auth {
            h.insert(AUTHORIZATION, auth.clone());
        }
        req
    }

    async fn connect(&self) -> Result<Conn, PoolError> {
        let (uri, limit) = (self.origin(), self.inner.connect_timeout);
        let conn = match self.inner.dial.clone() {
            Dial::Http(c) => dial(c, uri, limit).await?,
            Dial::Https(c) => dial(c, uri, limit).await?,
        };
        self.inner.opened.fetch_add(1, Ordering::Relaxed);
        Ok(conn)
    }

    /// scheme://host:port, what the connector dials.
    fn origin(&self) -> Uri {
        let scheme = if matches!(self.inner.dial, Dial::Https(_)) { "https" } else { "http" };
        let host = self.inner.host.to_str().unwrap_or_default();
        format!("{scheme}://{host}/").parse().unwrap_or_else(|_| Uri::from_static("http://invalid/"))
    }
}

/// Opens a connection through `connector` within `limit` and shakes hands on it.
async fn dial<C>(mut connector: C, uri: Uri, limit: Duration) -> Result<Conn, PoolError>
where
    C: tower_service::Service<Uri>,
    C::Response: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    C::Error: std::fmt::Display,
{
    let io = tokio::time::timeout(limit, connector.call(uri))
        .await
        .map_err(|_| PoolError::Connect(format!("no connection within {limit:?}")))?
        .map_err(|e| PoolError::Connect(e.to_string()))?;
    handshake(io).await
}

async fn handshake<T>(io: T) -> Result<Conn, PoolError>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (sender, conn) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| PoolError::Connect(e.to_string()))?;
    Ok(Conn { sender, driver: Some(Box::pin(conn)) })
}

fn rustls_tls() -> rustls::ClientConfig {
    use rustls_platform_verifier::ConfigVerifierExt;
    rustls::ClientConfig::with_platform_verifier()
}

/// `Authorization: Basic …` from `user:password`.
fn basic_auth(userinfo: &str) -> HeaderValue {
    let mut v = HeaderValue::from_str(&format!("Basic {}", base64(userinfo.as_bytes())))
        .unwrap_or_else(|_| HeaderValue::from_static(""));
    v.set_sensitive(true);
    v
}

fn base64(input: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A connection on loan with its place in the pool.
struct Lease {
    conn: Option<Conn>,
    pool: Arc<Inner>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// The answer was read to the end: the connection can carry the next request.
    fn give_back(mut self) {
        if let Some(c) = self.conn.take().filter(|c| !c.is_closed()) {
            self.pool.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
        }
    }
}

/// An answer's body; its connection goes back to the pool at the end of it.
pub struct PooledBody {
    body: Incoming,
    lease: Option<Lease>,
}

impl std::fmt::Debug for PooledBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PooledBody").finish_non_exhaustive()
    }
}

impl Body for PooledBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        // The connection's I/O first (it fills the body), then the body.
        if let Some(conn) = self.lease.as_mut().and_then(|l| l.conn.as_mut()) {
            poll_driver(&mut conn.driver, cx);
        }
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if (matches!(polled, Poll::Ready(None)) || self.body.is_end_stream())
            && let Some(lease) = self.lease.take()
        {
            lease.give_back();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_is_base64() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b""), "");
    }

    #[test]
    fn urls_are_checked() {
        assert!(Pool::new("ftp://x", 1, Duration::from_secs(1)).is_err());
        assert!(Pool::new("http://", 1, Duration::from_secs(1)).is_err());
        let p = Pool::new("http://u:p@127.0.0.1:1/rpc?k=v", 0, Duration::from_secs(1)).expect("ok");
        assert_eq!((p.inner.host.to_str().ok(), p.inner.max), (Some("127.0.0.1:1"), 1));
        assert_eq!(p.inner.target.to_string(), "/rpc?k=v");
        assert!(p.inner.auth.is_some());
    }
}
