//! Async transport for [`zuora-oauth`](https://docs.rs/zuora-oauth): sends the core's
//! token request with [hyper](https://docs.rs/hyper) 1 (hyper-util client, rustls with the
//! `ring` provider) on tokio, and keeps a token fresh for any number of tasks.
//!
//! - [`HyperTransport`] sends one request: no redirects, every status returned as a
//!   response, a connect timeout and a timeout (30 s each) and a body cap (64 KiB).
//! - [`TokenSource`] is the driver's token source (`zuora-oauth-driver`) on this transport:
//!   cached hits without locks, one request however many tasks ask, sent in a spawned task
//!   that a caller's timeout never cancels, refresh-ahead, backoff, nothing left running once
//!   the last clone is dropped. Works on multi-thread and `current_thread` tokio runtimes.
//!
//! ```no_run
//! use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
//! use zuora_oauth_hyper::TokenSource;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let source = TokenSource::new(TokenRequest::new(
//!     Environment::Sbx,
//!     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
//!     ClientSecret::new(std::env::var("ZUORA_CLIENT_SECRET")?)?,
//! ));
//! let token = source.token().await?;
//! println!("token expires in {:?}", token.expires_in());
//! # Ok(()) }
//! ```
//!
//! # Proxies and trust
//!
//! - **Proxies**: the driver's [`ProxyPolicy`] decides, this crate carries it out. By default
//!   https goes through `https_proxy` / `HTTPS_PROXY` / `all_proxy` / `ALL_PROXY` (lower case
//!   first), except to hosts in `no_proxy` / `NO_PROXY`, in a CONNECT tunnel (hyper-util's
//!   `Tunnel`) with TLS to Zuora end to end inside it; credentials in the proxy URL go in
//!   `Proxy-Authorization: Basic` on the CONNECT request only. Plain http (loopback only)
//!   never goes through a proxy. [`ProxyPolicy::none`] and [`ProxyPolicy::via`] replace the
//!   environment. Only `http://` proxies are supported.
//! - **Trust**: Mozilla's roots by default; [`TrustRoots`] adds the operating system's store
//!   and your own roots (DER or PEM), or replaces them.
//! - **Connect timeout**: TCP, the proxy's CONNECT and the TLS handshake together, 30 s by
//!   default, kept with a connector of your own ([`HyperTransport::with_connector`]).
//!
//! ```no_run
//! use std::time::Duration;
//! use zuora_oauth_hyper::{ConnectOptions, HyperTransport, Proxy, ProxyPolicy, TokenSource, TrustRoots};
//!
//! # async fn demo(request: zuora_oauth_core::TokenRequest, corporate_ca: &str)
//! #     -> Result<(), Box<dyn std::error::Error>> {
//! let transport = HyperTransport::with_options(ConnectOptions::default()
//!     .with_proxy(ProxyPolicy::via(Proxy::parse("http://proxy.corp.example:3128")?))
//!     .with_trust(TrustRoots::webpki().with_os_store()?.with_pem(corporate_ca)?)
//!     .with_connect_timeout(Duration::from_secs(5)));
//! let source = TokenSource::builder_with(request, transport).build();
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `tracing`: a span per token request, refresh-ahead at DEBUG, plus the core's lifecycle
//!   events (status, `Zuora-Request-Id`, failures, backoff). Off by default; never a secret.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod layer;
mod source;
mod transport;

pub use connect::{ConnectTimeout, ProxyConnector};
pub use layer::{Authorize, AuthorizeLayer, ReplayBody};
pub use source::{TokenSource, TokenSourceBuilder};
pub use transport::{DefaultConnector, HyperTransport};
pub use zuora_oauth_driver::replay::{
    ApiError, ApiOptions, NotRetried, NotRetriedReason, Replayed,
};
pub use zuora_oauth_driver::{
    ConnectOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits, Proxy,
    ProxyError, ProxyPolicy, TrustError, TrustRoots,
};
