//! Sending one token request with reqwest.

use std::fmt;
use std::io;

use bytes::Bytes;
use http_body_util::Full;
use reqwest::{Client, Url, redirect};
use zuora_oauth_core::{TransportError, TransportErrorKind};
use zuora_oauth_driver::causes::{causes, describe, io_kind};
use zuora_oauth_driver::{
    ConnectOptions, Limits, Proxy, ProxyPolicy, ProxyRoute, TransportResult, TrustRoots,
};

/// Sends token requests with a [`reqwest::Client`]: yours ([`with_client`](Self::with_client),
/// sharing its pool, proxy and TLS settings for https) or its own ([`new`](Self::new),
/// [`with_options`](Self::with_options)). Returns every status as a response, enforces a
/// timeout and a body cap, never lets a redirect through, and never sends plain http through
/// a proxy (see [`with_client`](Self::with_client)). Holds no Zuora rules.
///
/// `Debug` shows the settings, never the client (whose proxies may hold credentials).
#[derive(Clone)]
pub struct ReqwestTransport {
    /// Sends the https requests.
    client: Client,
    /// Sends the plain-http requests: a client that never uses a proxy (the transport's
    /// own one, or with your client one the transport built for them).
    direct: Client,
    /// The proxy policy of the transport's own client (checked before sending); `None`
    /// with your client, whose proxies are yours.
    proxy: Option<ProxyPolicy>,
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl ReqwestTransport {
    /// A transport with its own client and the default settings: proxy from the
    /// environment ([`ProxyPolicy::from_env`]), Mozilla's roots, a 30 s connect timeout
    /// ([`ConnectOptions::default`]), no redirects.
    pub fn new() -> Self {
        Self::with_options(ConnectOptions::default())
    }

    /// A transport with its own client, connecting as `options` say: rustls (the driver's
    /// one TLS configuration, [`ConnectOptions::tls_config`]) trusting its roots, no
    /// redirects, the proxy policy's routes (never reqwest's own reading of the
    /// environment: plain http is never proxied), the connect timeout.
    pub fn with_options(options: ConnectOptions) -> Self {
        let policy = options.proxy().clone();
        let proxy =
            reqwest::Proxy::custom(move |url| match policy.route(&url.as_str().parse().ok()?) {
                Ok(ProxyRoute::Tunnel(proxy)) => proxy_url(proxy),
                _ => None,
            });
        let client = own_client(&options, Some(proxy));
        ReqwestTransport {
            direct: client.clone(),
            client,
            proxy: Some(options.proxy().clone()),
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
    /// requests: they are sent with the transport's user agent and a 30 s connect timeout
    /// ([`DEFAULT_CONNECT_TIMEOUT`](zuora_oauth_driver::DEFAULT_CONNECT_TIMEOUT)). An https
    /// token request through your client's proxy is safe: the proxy carries a CONNECT tunnel
    /// and sees the host, never the request.
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
            client,
            direct: own_client(&direct_only, None),
            proxy: None,
        }
    }

    /// The client https requests are sent with: yours ([`with_client`](Self::with_client))
    /// or the transport's own, which never sends plain http through a proxy either.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Sends `request` and reads the whole response, whatever its status.
    pub async fn send(&self, request: http::Request<Vec<u8>>, limits: Limits) -> TransportResult {
        if let Some(Err(error)) = self.proxy.as_ref().map(|p| p.route(request.uri())) {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                error.to_string(),
            ));
        }
        // Not replayable: reqwest never re-sends it on a 307/308. Its size is exact, so it
        // still goes with a Content-Length.
        let request = request.map(|body| reqwest::Body::wrap(Full::new(Bytes::from(body))));
        let request = reqwest::Request::try_from(request).map_err(|e| map_error(&e))?;
        let sent_to = request.url().clone();
        let client = if sent_to.scheme() == "https" {
            &self.client
        } else {
            &self.direct
        };
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
        let timeout = limits.timeout();
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(TransportError::new(
                    TransportErrorKind::Timeout,
                    format!("no complete response within {timeout:?}"),
                ))
            })
    }
}

impl fmt::Debug for ReqwestTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReqwestTransport")
            .field("proxy", &self.proxy)
            .finish_non_exhaustive()
    }
}

/// A client of the transport's own: rustls as `options` say, no redirects, `proxy` or none
/// at all (never reqwest's reading of the environment), the connect timeout.
fn own_client(options: &ConnectOptions, proxy: Option<reqwest::Proxy>) -> Client {
    let builder = Client::builder()
        .tls_backend_preconfigured(options.tls_config())
        .redirect(redirect::Policy::none())
        .connect_timeout(options.connect_timeout())
        .user_agent(concat!("zuora-oauth-reqwest/", env!("CARGO_PKG_VERSION")));
    let builder = match proxy {
        Some(proxy) => builder.proxy(proxy),
        None => builder.no_proxy(),
    };
    builder
        .build()
        .unwrap_or_else(|_| unreachable!("a reqwest client with a preconfigured rustls builds"))
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
    for e in causes(error) {
        if e.is::<rustls::Error>() {
            return K::Tls;
        }
        if let Some(kind) = e.downcast_ref::<io::Error>().and_then(io_kind) {
            return kind;
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return K::Reset;
            }
            if h.is_timeout() {
                return K::Timeout;
            }
        }
        // hyper-util's resolver error is private; it names itself.
        if e.to_string().starts_with("dns error") {
            return K::Dns;
        }
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
