//! Sending one token request with reqwest.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use reqwest::{Client, Url, redirect};
use zuora_oauth_core::{TransportError, TransportErrorKind};
use zuora_oauth_driver::internal::{self, ProxyRoute, describe, tls_config};
use zuora_oauth_driver::{
    BoxFuture, ConnectOptions, Limits, Proxy, ProxyPolicy, Transport, TransportResult, TrustRoots,
};

/// Sends token requests with a [`reqwest::Client`]: yours ([`with_client`](Self::with_client),
/// sharing its pool, proxy and TLS settings) or its own ([`new`](Self::new),
/// [`with_options`](Self::with_options)). Returns every status as a response, enforces a timeout and
/// a body cap, and never lets a redirect through (see [`with_client`](Self::with_client)).
/// Holds no Zuora rules.
///
/// `Debug` shows the settings, never the client (whose proxies may hold credentials).
#[derive(Clone)]
pub struct ReqwestTransport {
    client: Clients,
}

#[derive(Clone)]
enum Clients {
    /// The transport's own client, built for the connect timeout the source asks for.
    Own(Arc<Own>),
    /// Yours, for https; for plain http, a client of the transport's own that never goes
    /// through a proxy (see [`ReqwestTransport::with_client`]).
    Yours { client: Client, direct: Arc<Own> },
}

struct Own {
    options: ConnectOptions,
    built: Mutex<Option<(Duration, Client)>>,
}

impl Own {
    fn new(options: ConnectOptions) -> Arc<Self> {
        Arc::new(Self {
            options,
            built: Mutex::new(None),
        })
    }

    /// The client whose connections are bounded by `connect_timeout`.
    fn client(&self, connect_timeout: Duration) -> Client {
        let mut slot = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Some((timeout, client)) if *timeout == connect_timeout => client.clone(),
            _ => {
                let client = own_client(&self.options, connect_timeout);
                *slot = Some((connect_timeout, client.clone()));
                client
            }
        }
    }
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl ReqwestTransport {
    /// A transport with its own client and the default settings: proxy from the
    /// environment ([`ProxyPolicy::from_env`](zuora_oauth_driver::ProxyPolicy::from_env)),
    /// Mozilla's roots ([`ConnectOptions::default`]), no redirects.
    pub fn new() -> Self {
        Self::with_options(ConnectOptions::default())
    }

    /// A transport with its own client, connecting as `options` say: rustls (the driver's
    /// one TLS configuration) trusting its roots, no redirects, the proxy policy's routes
    /// (never reqwest's own reading of the environment), the source's connect timeout.
    pub fn with_options(options: ConnectOptions) -> Self {
        Self {
            client: Clients::Own(Own::new(options)),
        }
    }

    /// Sends token requests with your client, sharing its connection pool, proxies and TLS
    /// setup, for https token URLs (every Zuora environment).
    ///
    /// **Plain http never goes through your client.** A plain-http token URL (the core
    /// allows one only for a loopback host: a mock server, a local gateway) is sent by a
    /// client the transport builds itself, which connects directly, never through a proxy,
    /// and follows no redirect. The reason: a proxy carrying plain http reads the form, client
    /// secret included, in clear; reqwest's clients, `reqwest::Client::new()` included, send
    /// plain http through `HTTP_PROXY` / `ALL_PROXY` (loopback hosts too) unless told
    /// otherwise, and nothing in reqwest's API lets the transport see a client's proxies. So
    /// your client's settings (headers, timeouts, resolver, proxies) do not apply to those
    /// requests. An https token request through your client's proxy is safe: the proxy
    /// carries a CONNECT tunnel and sees the host, never the request. Your client's own
    /// connect timeout applies to https, not the source's.
    ///
    /// **Redirects.** reqwest follows redirects per client, and the token call must never
    /// follow one. Whatever your client's [`redirect::Policy`], the token call is sent with
    /// a body reqwest cannot replay, so a 307 or 308 is never followed and comes back as the
    /// core's redirect error. A 301, 302 or 303 is followed by reqwest as a `GET` without
    /// the body (the secret is not sent again); the transport sees that the answer came from
    /// another URL and refuses it as the core's redirect error too, with that URL as its
    /// location (if that URL cannot be reached, reqwest reports a connection error under the
    /// token URL, and so does the transport). To not make the extra request at all, build
    /// your client with `redirect::Policy::none()`.
    ///
    /// **TLS.** This crate builds reqwest without a rustls crypto provider of its own (its
    /// own clients are given `ring`'s). `reqwest::Client::new()` then panics unless your
    /// program enables one through reqwest's default `rustls` feature, or installs one
    /// first: `rustls::crypto::ring::default_provider().install_default()`.
    pub fn with_client(client: Client) -> Self {
        let direct_only = ConnectOptions::default()
            .with_proxy(ProxyPolicy::none())
            .with_trust(TrustRoots::empty());
        Self {
            client: Clients::Yours {
                client,
                direct: Own::new(direct_only),
            },
        }
    }
}

impl Transport for ReqwestTransport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
        limits: Limits,
    ) -> BoxFuture<'static, TransportResult> {
        let client = match &self.client {
            Clients::Own(own) => {
                if let Err(error) = own.options.proxy().route(request.uri()) {
                    let error = TransportError::new(TransportErrorKind::Other, error.to_string());
                    return Box::pin(async move { Err(error) });
                }
                own.client(limits.connect_timeout())
            }
            Clients::Yours { client, direct } => {
                let https = request
                    .uri()
                    .scheme_str()
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"));
                if https {
                    client.clone()
                } else {
                    direct.client(limits.connect_timeout())
                }
            }
        };
        Box::pin(exchange(client, request, limits))
    }
}

/// The transport's own client: rustls with `options`' roots, no redirects, the proxy
/// policy's routes, `connect_timeout`.
fn own_client(options: &ConnectOptions, connect_timeout: Duration) -> Client {
    let policy = options.proxy().clone();
    let proxy =
        reqwest::Proxy::custom(move |url| match policy.route(&url.as_str().parse().ok()?) {
            Ok(ProxyRoute::Tunnel(proxy)) => proxy_url(proxy),
            _ => None,
        });
    // Never reqwest's own reading of the environment: the policy's routes only.
    Client::builder()
        .tls_backend_preconfigured(tls_config(options))
        .redirect(redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .no_proxy()
        .proxy(proxy)
        .user_agent(concat!("zuora-oauth-reqwest/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| unreachable!("a reqwest client with a preconfigured rustls builds"))
}

/// Sends `request` and reads the whole response, whatever its status.
async fn exchange(
    client: Client,
    request: http::Request<Vec<u8>>,
    limits: Limits,
) -> TransportResult {
    {
        // Not replayable: reqwest never re-sends it on a 307/308. Its size is exact, so it
        // still goes with a Content-Length.
        let request = request.map(|body| reqwest::Body::wrap(Full::new(Bytes::from(body))));
        let request = reqwest::Request::try_from(request).map_err(|e| map_error(&e))?;
        let sent_to = request.url().clone();
        let exchange = async {
            let mut response = client.execute(request).await.map_err(|e| map_error(&e))?;
            if *response.url() != sent_to {
                return Ok(refused_redirect(response.url()));
            }
            let too_large = || {
                TransportError::new(
                    TransportErrorKind::BodyTooLarge,
                    format!("response body larger than {} bytes", limits.max_body()),
                )
            };
            if response
                .content_length()
                .is_some_and(|n| n > limits.max_body() as u64)
            {
                return Err(too_large());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| map_error(&e))? {
                if body.len() + chunk.len() > limits.max_body() {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            let mut out = http::Response::new(body);
            *out.status_mut() = response.status();
            *out.version_mut() = response.version();
            *out.headers_mut() = std::mem::take(response.headers_mut());
            Ok(out)
        };
        internal::within(limits.timeout(), exchange).await
    }
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ReqwestTransport");
        match &self.client {
            Clients::Own(own) => d.field("proxy", own.options.proxy()),
            Clients::Yours { .. } => d.field("client", &"yours"),
        };
        d.finish_non_exhaustive()
    }
}

/// The policy's proxy as reqwest's: its URL, with the credentials reqwest sends as
/// `Proxy-Authorization: Basic` on the CONNECT request only.
fn proxy_url(proxy: &Proxy) -> Option<Url> {
    let mut url = Url::parse(&proxy.uri().to_string()).ok()?;
    if let (Some(user), Some(password)) = (proxy.username(), proxy.password()) {
        url.set_username(user).ok()?;
        url.set_password(Some(password)).ok()?;
    }
    Some(url)
}

/// The answer came from `reached`, not where the request was sent: a redirect was
/// followed. Reported as one, so that the core refuses it.
fn refused_redirect(reached: &Url) -> http::Response<Vec<u8>> {
    let mut response = http::Response::new(Vec::new());
    *response.status_mut() = http::StatusCode::FOUND;
    if let Ok(location) = http::HeaderValue::from_str(reached.as_str()) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    response
}

/// Classifies an error by walking its causes.
fn map_error(error: &reqwest::Error) -> TransportError {
    TransportError::new(classify(error), describe(error))
}

fn classify(error: &reqwest::Error) -> TransportErrorKind {
    use TransportErrorKind as K;
    if let Some(kind) = internal::classify(error, |_| None) {
        return kind;
    }
    if error.is_timeout() {
        K::Timeout
    } else if error.is_connect() {
        K::Connect
    } else if error.is_body() || error.is_decode() {
        K::Reset
    } else {
        K::Other
    }
}
