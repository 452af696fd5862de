//! [`MockServer`]: the listener, its own tokio runtime on a background thread, and the
//! methods tests use to script and inspect it.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener as StdListener};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinSet;

use crate::api::PRODUCTS_PATH;
use crate::fault::Fault;
use crate::handler::{self, ConnCtl, TOKEN_PATH};
use crate::rules::FaultRule;
use crate::state::{IssuedToken, RecordedRequest, RequestKind, Shared, State};
use crate::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET};

/// Default token lifetime (`expires_in`): 3599 seconds, as Zuora sends.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
/// Default rate limit: 100 token requests per minute per client IP, as Zuora enforces.
pub const DEFAULT_RATE_LIMIT_PER_MINUTE: u32 = 100;

/// The client ID and secret of generated client `i` (see
/// [`MockServerBuilder::tenant_clients`]): a 36-character ID made from `i`, and a secret
/// with `+`, `/` and `=` in it, different for every `i`.
///
/// ```
/// let (id, secret) = zuora_oauth_testkit::tenant_client(7);
/// assert_eq!(id, "00000007-7e4a-4c1b-9d2e-5f6a7b8c9d0e");
/// assert_eq!(secret, "t3nant+7/S3cret=");
/// ```
pub fn tenant_client(i: usize) -> (String, String) {
    (
        format!("{i:08x}-7e4a-4c1b-9d2e-5f6a7b8c9d0e"),
        format!("t3nant+{i}/S3cret="),
    )
}

/// Configures and starts a [`MockServer`]. Made by [`MockServer::builder`].
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until .start() is called"]
pub struct MockServerBuilder {
    clients: Vec<(String, String)>,
    demo_client: bool,
    lifetime: Duration,
    rate_limit: Option<u32>,
    rate_window: Duration,
    ip: IpAddr,
    port: u16,
    cors: bool,
    revoke_on_rotation: bool,
    #[cfg(feature = "tls")]
    tls: bool,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        Self {
            clients: Vec::new(),
            demo_client: true,
            lifetime: DEFAULT_TOKEN_LIFETIME,
            rate_limit: Some(DEFAULT_RATE_LIMIT_PER_MINUTE),
            rate_window: Duration::from_secs(60),
            ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            cors: false,
            revoke_on_rotation: false,
            #[cfg(feature = "tls")]
            tls: false,
        }
    }
}

impl MockServerBuilder {
    /// Registers a client. The mock accepts any strings here (so tests can register
    /// malformed credentials on purpose), but requests are still validated: a `client_id`
    /// that is not 36 characters long, or a secret over 42, gets a 400 before any lookup.
    pub fn client(
        mut self,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Self {
        self.clients.push((client_id.into(), client_secret.into()));
        self
    }

    /// Registers `n` generated clients, [`tenant_client`]`(0)` to `tenant_client(n - 1)`:
    /// one per tenant, for tests of many tenants in one process.
    pub fn tenant_clients(mut self, n: usize) -> Self {
        self.clients.extend((0..n).map(tenant_client));
        self
    }

    /// Does not register [`DEMO_CLIENT_ID`] / [`DEMO_CLIENT_SECRET`].
    pub fn without_demo_client(mut self) -> Self {
        self.demo_client = false;
        self
    }

    /// Lifetime of issued tokens (default [`DEFAULT_TOKEN_LIFETIME`]). Fractions of a second
    /// are kept for expiry; `expires_in` is sent as the whole number of seconds, rounded down.
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Token requests allowed per client IP per window (default
    /// [`DEFAULT_RATE_LIMIT_PER_MINUTE`]). Every request to `/oauth/token` counts, failed
    /// ones too; over the limit the answer is 429 until the window ends. `0` refuses every
    /// request; use [`without_rate_limit`](Self::without_rate_limit) to turn it off.
    pub fn rate_limit_per_minute(mut self, limit: u32) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// No rate limit, and no rate-limit headers.
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Length of the fixed rate-limit window (default 60 s), which starts at a client IP's
    /// first request. Shorten it to test recovery from 429 without waiting a minute.
    pub fn rate_limit_window(mut self, window: Duration) -> Self {
        self.rate_window = window.max(Duration::from_millis(1));
        self
    }

    /// Whether [`MockServer::rotate_secret`] revokes the tokens issued to the client so far
    /// (default: no, they stay valid until they expire). Zuora does not document which it
    /// does when a secret is regenerated.
    pub fn revoke_tokens_on_rotation(mut self, revoke: bool) -> Self {
        self.revoke_on_rotation = revoke;
        self
    }

    /// Port (default 0: an ephemeral port chosen by the OS).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Address to listen on (default `127.0.0.1`): a loopback address only, such as
    /// `127.0.0.1`, another `127.x.y.z` or `::1`. [`start`](Self::start) refuses any other
    /// with [`io::ErrorKind::InvalidInput`]: the mock hands out tokens to anyone and shows
    /// what it received, so it never listens on a network.
    pub fn bind(mut self, ip: IpAddr) -> Self {
        self.ip = ip;
        self
    }

    /// Answers CORS (default: off), for tests that run in a browser: echoes the `Origin`
    /// on every answer, exposes Zuora's headers, answers `OPTIONS` preflights with 204
    /// (including Chromium's Private Network Access ones), and lets pages use the control
    /// API.
    ///
    /// Off, the server sends no `Access-Control-*` header at all, answers preflights with
    /// 403, and refuses control-API requests that carry an `Origin` (403): no web page can
    /// read what it recorded or script it. Turn it on only for browser tests.
    pub fn cors(mut self, on: bool) -> Self {
        self.cors = on;
        self
    }

    /// Serves HTTPS instead of HTTP (feature `tls`), with a self-signed certificate for
    /// the bound address, `127.0.0.1`, `::1` and `localhost`, made at start; clients trust it through
    /// [`MockServer::certificate_der`] or [`MockServer::certificate_pem`]. URLs then start
    /// with `https://`. HTTP/1.1 only (ALPN `http/1.1`).
    #[cfg(feature = "tls")]
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Binds the address (default `127.0.0.1`) and starts serving on a background thread
    /// with its own tokio runtime. When this returns, the port accepts connections.
    ///
    /// Fails with [`io::ErrorKind::InvalidInput`] when the address is not a loopback one,
    /// and with the operating system's error when the port cannot be bound.
    pub fn start(self) -> io::Result<MockServer> {
        if !self.ip.is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the mock Zuora server listens on loopback addresses only (127.0.0.1, \
                     another 127.x.y.z, or ::1), not on {}",
                    self.ip
                ),
            ));
        }
        let listener = StdListener::bind((self.ip, self.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .thread_name("zuora-mock-server")
            .build()?;
        let listener = {
            let _guard = runtime.enter();
            TcpListener::from_std(listener)?
        };
        let mut state = State::new(self.lifetime, self.rate_limit, self.rate_window);
        state.revoke_on_rotation = self.revoke_on_rotation;
        if self.demo_client {
            state.add_client(DEMO_CLIENT_ID.into(), DEMO_CLIENT_SECRET.into());
        }
        for (id, secret) in self.clients {
            state.add_client(id, secret);
        }
        #[cfg(feature = "tls")]
        let tls = if self.tls {
            Some(crate::tls::make(self.ip)?)
        } else {
            None
        };
        #[cfg(feature = "tls")]
        let (scheme, acceptor, certificate) = match tls {
            Some(t) => (
                "https",
                Acceptor {
                    tls: Some(t.acceptor),
                },
                Some((t.cert_der, t.cert_pem)),
            ),
            None => ("http", Acceptor::default(), None),
        };
        #[cfg(not(feature = "tls"))]
        let (scheme, acceptor) = ("http", Acceptor::default());
        let shared = Arc::new(Shared::new(state, format!("{scheme}://{addr}"), self.cors));
        let (shutdown, shutdown_rx) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("zuora-mock-server-{}", addr.port()))
            .spawn(move || {
                runtime.block_on(serve(listener, thread_shared, acceptor, shutdown_rx))
            })?;
        Ok(MockServer {
            shared,
            addr,
            shutdown: Some(shutdown),
            thread: Some(thread),
            #[cfg(feature = "tls")]
            certificate,
        })
    }
}

/// A mock Zuora token server and API on `127.0.0.1`, serving HTTP/1.1 from a background thread with
/// its own tokio runtime, so it works the same from plain `#[test]`s and from inside
/// `#[tokio::test]`s.
///
/// Dropping it (or calling [`shutdown`](MockServer::shutdown)) closes the listener, aborts
/// every connection and joins the thread: the port is closed when drop returns.
///
/// All methods take `&self` and the type is `Send + Sync`, so one server can be shared
/// between threads (e.g. in an `Arc`).
pub struct MockServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// DER and PEM of the self-signed certificate, when serving HTTPS.
    #[cfg(feature = "tls")]
    certificate: Option<(Vec<u8>, String)>,
}

impl fmt::Debug for MockServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// A builder with the defaults: demo client, 3599 s tokens, 100 requests per minute,
    /// `127.0.0.1`, ephemeral port, CORS off.
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Starts a server with the defaults (`MockServer::builder().start()`).
    pub fn start() -> io::Result<Self> {
        Self::builder().start()
    }

    /// The socket address it listens on (`127.0.0.1` unless [`MockServerBuilder::bind`]
    /// chose another loopback address).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS, `http://[::1]:PORT` on IPv6), without
    /// a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}{TOKEN_PATH}", self.shared.base_url)
    }

    /// The URL of a mock API route: `api_url("/v1/accounts/A00000001")` is
    /// `http://127.0.0.1:PORT/v1/accounts/A00000001` (a missing leading `/` is added).
    pub fn api_url(&self, path: &str) -> String {
        let slash = if path.starts_with('/') { "" } else { "/" };
        format!("{}{slash}{path}", self.shared.base_url)
    }

    /// `http://127.0.0.1:PORT/v1/catalog/products`: an API route that answers 200 to
    /// `Authorization: Bearer <live token>` and 401 otherwise.
    pub fn protected_url(&self) -> String {
        self.api_url(PRODUCTS_PATH)
    }

    /// The server's self-signed certificate in DER, when it serves HTTPS
    /// ([`MockServerBuilder::tls`]); `None` otherwise.
    #[cfg(feature = "tls")]
    pub fn certificate_der(&self) -> Option<&[u8]> {
        self.certificate.as_ref().map(|(der, _)| der.as_slice())
    }

    /// The server's self-signed certificate in PEM (`-----BEGIN CERTIFICATE-----`…), when it
    /// serves HTTPS ([`MockServerBuilder::tls`]); `None` otherwise.
    #[cfg(feature = "tls")]
    pub fn certificate_pem(&self) -> Option<&str> {
        self.certificate.as_ref().map(|(_, pem)| pem.as_str())
    }

    // ---- faults --------------------------------------------------------------------------

    /// Queues a fault for the next token request from any client (FIFO; used once). Same
    /// as `push_rule(FaultRule::new(fault))`.
    pub fn push_fault(&self, fault: Fault) {
        self.push_rule(FaultRule::new(fault));
    }

    /// Queues several faults, in order, each for one token request from any client.
    pub fn push_faults(&self, faults: impl IntoIterator<Item = Fault>) {
        let mut st = self.shared.lock();
        for fault in faults {
            st.rules.push(FaultRule::new(fault));
        }
    }

    /// Queues a scoped fault: for the token endpoint or the API, one client or any, the
    /// next `n` requests or always (see [`FaultRule`]). A request takes the oldest queued
    /// rule that matches it.
    ///
    /// # Panics
    ///
    /// When [`FaultRule::check`] refuses the rule (`Times::Next(0)`, or token fields aimed
    /// at the API).
    pub fn push_rule(&self, rule: FaultRule) {
        if let Err(e) = rule.check() {
            panic!("MockServer::push_rule: {e}");
        }
        self.shared.lock().rules.push(rule);
    }

    /// The faults of the rules still queued, oldest first.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.shared
            .lock()
            .rules
            .iter()
            .map(|r| r.fault.clone())
            .collect()
    }

    /// The rules still queued, oldest first, with what is left of their [`Times`](crate::Times).
    pub fn pending_rules(&self) -> Vec<FaultRule> {
        self.shared.lock().rules.iter().cloned().collect()
    }

    /// Drops every queued rule (including [`Times::Always`](crate::Times::Always) ones);
    /// returns how many there were.
    pub fn clear_faults(&self) -> usize {
        self.shared.lock().rules.clear()
    }

    // ---- what was received ---------------------------------------------------------------

    /// Every request to `/oauth/token` since start (or the last [`reset`](Self::reset)), in
    /// arrival order, secrets redacted (see [`RecordedRequest`]); CORS preflights excluded.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().records(Some(RequestKind::Token))
    }

    /// Every API call (`/v1/…`) since start (or the last [`reset`](Self::reset)), in
    /// arrival order, `Authorization` redacted (see [`RecordedRequest`]).
    pub fn api_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().records(Some(RequestKind::Api))
    }

    /// Token requests and API calls together, in arrival order.
    pub fn all_requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().records(None)
    }

    /// Number of `POST /oauth/token` requests received, counted as each one arrives
    /// (before any fault delays its answer).
    pub fn token_request_count(&self) -> usize {
        self.shared.lock().token_requests
    }

    /// Number of API calls (`/v1/…`, any method but a CORS preflight) received, counted as
    /// each one arrives.
    pub fn api_request_count(&self) -> usize {
        self.shared.lock().api_requests
    }

    /// The same as [`api_request_count`](Self::api_request_count) (the name from when the
    /// API was one protected endpoint).
    pub fn protected_request_count(&self) -> usize {
        self.api_request_count()
    }

    /// Blocks until at least `n` `POST /oauth/token` requests have been received (counted
    /// at arrival, before any delay fault), or `timeout` passes; returns whether they have.
    /// Returns at once when they already have. Counts restart at [`reset`](Self::reset).
    ///
    /// Use it to order a test's steps on the server's events instead of sleeping. From
    /// async code, prefer [`until_token_requests`](Self::until_token_requests): this one
    /// blocks the thread.
    pub fn wait_for_token_requests(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.token_requests >= n)
    }

    /// Blocks until at least `n` API calls have been received (counted at arrival, before
    /// any delay fault), or `timeout` passes; returns whether they have.
    pub fn wait_for_api_requests(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_until(timeout, |st| st.api_requests >= n)
    }

    /// Resolves once at least `n` `POST /oauth/token` requests have been received (counted
    /// at arrival, before any delay fault). Needs no particular runtime; bound it with your
    /// runtime's timeout (e.g. `tokio::time::timeout`).
    pub async fn until_token_requests(&self, n: usize) {
        self.shared.until(|st| st.token_requests >= n).await
    }

    /// Resolves once at least `n` API calls have been received (counted at arrival).
    pub async fn until_api_requests(&self, n: usize) {
        self.shared.until(|st| st.api_requests >= n).await
    }

    // ---- tokens and settings -------------------------------------------------------------

    /// Every token issued, oldest first (including revoked and expired ones).
    pub fn issued_tokens(&self) -> Vec<IssuedToken> {
        self.shared.lock().tokens.clone()
    }

    /// Revokes every token issued so far: the API answers 401 to them.
    /// Tokens issued later are not affected.
    pub fn revoke_all_tokens(&self) {
        self.shared.lock().revoke_all();
    }

    /// Revokes one token: its next API call gets Zuora's 401. Returns whether this mock
    /// issued it.
    pub fn revoke_token(&self, access_token: &str) -> bool {
        self.shared.lock().revoke(access_token)
    }

    /// Makes every token issued so far expire now, without waiting.
    pub fn expire_all_tokens(&self) {
        self.shared.lock().expire_all();
    }

    /// Changes the lifetime of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.shared.lock().lifetime = lifetime;
    }

    /// The lifetime given to newly issued tokens.
    pub fn token_lifetime(&self) -> Duration {
        self.shared.lock().lifetime
    }

    /// Changes the length of the rate-limit window, the current windows included (a window
    /// that has lasted longer than `window` ends at the next request).
    pub fn set_rate_limit_window(&self, window: Duration) {
        self.shared.lock().rate_window = window.max(Duration::from_millis(1));
    }

    /// Registers another client while running.
    pub fn add_client(&self, client_id: impl Into<String>, client_secret: impl Into<String>) {
        self.shared
            .lock()
            .add_client(client_id.into(), client_secret.into());
    }

    /// Rotates the secret of client `client_id` while running, as regenerating it in Zuora
    /// does: from now on the old secret gets Zuora's 401 `invalid_client` and `secret`
    /// gets tokens (the client, its user and its tokens' scope stay). The tokens issued
    /// so far stay valid until they expire, unless the server was built with
    /// [`revoke_tokens_on_rotation`](MockServerBuilder::revoke_tokens_on_rotation). Returns
    /// whether there is such a client.
    pub fn rotate_secret(&self, client_id: &str, secret: impl Into<String>) -> bool {
        let mut st = self.shared.lock();
        let revoke = st.revoke_on_rotation;
        st.rotate_secret(client_id, secret.into(), revoke).is_some()
    }

    /// Clears queued fault rules, request records, counters and rate-limit windows.
    /// Clients, token lifetime, accounts and issued tokens are kept (tokens stay live).
    pub fn reset(&self) {
        self.shared.lock().reset();
    }

    /// Stops the server and waits for its thread (what drop does).
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The thread only returns or panics; a panic there is already reported on stderr.
            let _ = thread.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How connections are accepted: plain TCP, or TLS when an acceptor is given.
#[derive(Clone, Default)]
struct Acceptor {
    #[cfg(feature = "tls")]
    tls: Option<tokio_rustls::TlsAcceptor>,
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    acceptor: Acceptor,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        shared.clone(),
                        acceptor.clone(),
                    ));
                }
                // Out of file descriptors and the like: back off a little, keep serving.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            },
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Acceptor,
) {
    let _ = stream.set_nodelay(true);
    let ctl = Arc::new(ConnCtl::default());
    let io = ConnIo {
        stream,
        ctl: ctl.clone(),
    };
    #[cfg(feature = "tls")]
    if let Some(acceptor) = acceptor.tls {
        if let Ok(Ok(tls)) =
            tokio::time::timeout(Duration::from_secs(10), acceptor.accept(io)).await
        {
            serve_http(TokioIo::new(tls), ctl, peer, shared).await;
        }
        return;
    }
    #[cfg(not(feature = "tls"))]
    let _ = acceptor;
    serve_http(TokioIo::new(io), ctl, peer, shared).await;
}

async fn serve_http<I>(io: I, ctl: Arc<ConnCtl>, peer: SocketAddr, shared: Arc<Shared>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handler::handle(shared.clone(), ctl.clone(), peer, req));
    // Errors here are the client going away or a scripted fault dropping the connection.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .auto_date_header(false)
        .keep_alive(true)
        .serve_connection(io, service)
        .await;
}

/// The TCP stream, closed with RST instead of FIN when a fault asked for a reset.
struct ConnIo {
    stream: TcpStream,
    ctl: Arc<ConnCtl>,
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        if self.ctl.reset.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
        }
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
