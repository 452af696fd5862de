//! Blocking transport for [`zuora-oauth`](https://docs.rs/zuora-oauth): sends the core's
//! token request with [ureq](https://docs.rs/ureq) 3 and keeps a token fresh for any
//! number of threads.
//!
//! - [`UreqTransport`] sends one request: no redirects, 4xx/5xx returned as responses
//!   (so Zuora's error bodies can be read), a connect timeout and a timeout (30 s each) and
//!   a body cap (64 KiB).
//! - [`TokenSource`] is the driver's blocking token source (`zuora-oauth-driver`) on this
//!   transport: cached hits without locks, one request however many threads ask, sent from
//!   a thread of its own (a caller may stop waiting with `token_within`), refresh-ahead,
//!   backoff.
//!
//! ```no_run
//! use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
//! use zuora_oauth_ureq::TokenSource;
//!
//! let source = TokenSource::new(TokenRequest::new(
//!     Environment::Sbx,
//!     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
//!     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
//! ));
//! let token = source.token()?;
//! println!("token expires in {:?}", token.expires_in());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Proxies and trust
//!
//! - **Proxies**: the driver's [`ProxyPolicy`] decides, for every request, and this crate
//!   sets ureq's proxy accordingly (ureq's own reading of the environment, which would send
//!   plain http through a proxy too, is never used). By default https goes through
//!   `https_proxy` / `HTTPS_PROXY` / `all_proxy` / `ALL_PROXY` (lower case first), except to
//!   hosts in `no_proxy` / `NO_PROXY`, in a CONNECT tunnel with TLS to Zuora end to end
//!   inside it; credentials in the proxy URL go in `Proxy-Authorization: Basic` on the
//!   CONNECT request only. Plain http (loopback only) never goes through a proxy.
//!   [`ProxyPolicy::none`] and [`ProxyPolicy::via`] replace the environment, also for an
//!   agent of your own that has a proxy set. Only `http://` proxies are supported.
//! - **Trust**: Mozilla's roots by default; [`TrustRoots`] adds the operating system's store
//!   and your own roots (DER or PEM), or replaces them ([`UreqTransport::with_options`] with [`ConnectOptions`]).
//! - **Connect timeout**: TCP, the proxy's CONNECT and the TLS handshake together, 30 s by
//!   default, set on every request, so an agent of your own keeps it too.
//!
//! ```no_run
//! use std::time::Duration;
//! use zuora_oauth_ureq::{ConnectOptions, Proxy, ProxyPolicy, TokenSource, TrustRoots, UreqTransport};
//!
//! # fn demo(request: zuora_oauth_core::TokenRequest, corporate_ca: &str)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let transport = UreqTransport::with_options(
//!     ConnectOptions::default()
//!         .with_proxy(ProxyPolicy::via(Proxy::parse("http://proxy.corp.example:3128")?))
//!         .with_trust(TrustRoots::webpki().with_os_store()?.with_pem(corporate_ca)?)
//!         .with_connect_timeout(Duration::from_secs(5)),
//! );
//! let source = TokenSource::builder_with(request, transport).build();
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `tracing`: a span per token request, refresh-ahead at
//!   DEBUG, plus the core's lifecycle events (status, `Zuora-Request-Id`, failures, backoff).
//!   Off by default; never a secret.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod middleware;
mod source;
mod transport;

pub use middleware::{AuthorizeMiddleware, DEFAULT_REPLAY_LIMIT};
pub use source::{TokenSource, TokenSourceBuilder};
pub use transport::UreqTransport;
pub use zuora_oauth_driver::replay::{ApiOptions, NotRetried, NotRetriedReason, Replayed};
pub use zuora_oauth_driver::{
    ConnectOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits, Proxy,
    ProxyError, ProxyPolicy, TrustError, TrustRoots,
};
