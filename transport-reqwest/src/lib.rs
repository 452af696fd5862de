//! Async transport for [`zuora-oauth`](https://docs.rs/zuora-oauth) over
//! [reqwest](https://docs.rs/reqwest): sends the core's token request with **your**
//! `reqwest::Client` (sharing its pool, proxies and TLS setup) or one of its own (rustls
//! with the `ring` provider), keeps a token fresh for any number of tasks, and authorizes
//! your Zuora API calls with a [reqwest-middleware](https://docs.rs/reqwest-middleware).
//!
//! - [`ReqwestTransport`] sends one token request: every status returned as a response, a
//!   timeout (30 s) and a body cap (64 KiB), and no redirect let through, even with a
//!   client of yours that follows them (see [`ReqwestTransport::with_client`]).
//! - [`TokenSource`] is the driver's token source (`zuora-oauth-driver`) on this transport:
//!   cached hits without locks, one request however many tasks ask, sent in a spawned task
//!   that a caller's timeout never cancels, refresh-ahead, backoff, nothing left running once
//!   the last clone is dropped.
//! - [`AuthorizeMiddleware`] puts the token on the calls to the token's Zuora environment,
//!   and after a 401 fetches a new token once and sends the call again once.
//!
//! # Proxies and trust
//!
//! With your client, its proxies and roots apply. The transport's own client follows the
//! driver's [`ProxyPolicy`] (by default `https_proxy` / `HTTPS_PROXY` / `all_proxy` /
//! `ALL_PROXY` except hosts in `no_proxy` / `NO_PROXY`; plain http, loopback only, never
//! through a proxy; reqwest's own reading of the environment is not used) and trusts
//! Mozilla's roots or the [`TrustRoots`] you give ([`ReqwestTransport::with_options`]).
//!
//! # Features
//!
//! - `tracing`: a span per token request and per authorized API call (its field
//!   `generation` names the token, never the token itself), plus the core's lifecycle
//!   events. Off by default; never a secret.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod middleware;
mod source;
mod transport;

pub use middleware::AuthorizeMiddleware;
pub use source::{TokenSource, TokenSourceBuilder};
pub use transport::ReqwestTransport;
pub use zuora_oauth_driver::replay::{ApiOptions, NotRetried, NotRetriedReason, Replayed};
pub use zuora_oauth_driver::{
    ConnectOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits, Proxy,
    ProxyError, ProxyPolicy, TrustError, TrustRoots,
};
