//! Blocking transport for [`zuora-oauth`](https://docs.rs/zuora-oauth): sends the core's
//! token request with [ureq](https://docs.rs/ureq) 3 and keeps a token fresh for any
//! number of threads.
//!
//! - [`UreqTransport`] sends one request: no redirects, 4xx/5xx returned as responses
//!   (so Zuora's error bodies can be read), a timeout (30 s) and a body cap (64 KiB).
//! - [`TokenSource`] drives the core's lifecycle: cached hits without locks, one request
//!   however many threads ask, refresh-ahead in a background thread, backoff.
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
//! # Features
//!
//! - `tracing`: a span per token request, cache hits at TRACE, refresh-ahead at
//!   DEBUG, plus the core's lifecycle events (status, `Zuora-Request-Id`, failures, backoff).
//!   Off by default; never a secret.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `tracing::$level!(…)` with the feature `tracing`, nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "zuora_oauth", $($arg)*);
    };
}

mod source;
mod transport;

pub use source::{TokenSource, TokenSourceBuilder};
pub use transport::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, UreqTransport};
pub use zuora_oauth_driver::{Proxy, ProxyError, ProxyPolicy, TrustError, TrustRoots};
