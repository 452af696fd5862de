//! The one token source of [`zuora-oauth`](https://docs.rs/zuora-oauth), written once and
//! shared by every transport.
//!
//! [`zuora_oauth_core`] decides *when* to fetch (its [`TokenLifecycle`] is Sans-IO). This
//! crate decides *who* fetches, *when* callers wait and *what outlives whom*, and does it
//! once for every runtime:
//!
//! - a **cached hit** takes no lock, writes no shared counter and allocates nothing;
//! - **single flight**: one token request however many callers ask at once;
//! - the request runs **detached**, in a task (or thread) of its own: a caller's timeout or
//!   drop ends only its own wait, never the request the others are waiting for;
//! - **refresh ahead** of expiry in the background while the current token is handed out;
//! - **invalidate** (the API answered 401 to a token), **reset**, **reconfigure**;
//! - **nothing outlives the source**: dropping the last clone aborts the request in flight
//!   and frees the token.
//!
//! A transport only implements the seam: [`Runtime`] (async: send one request, spawn,
//! sleep, clocks) or [`BlockingTransport`] (send one request, blocking). The transports
//! `zuora-oauth-hyper`, `zuora-oauth-ureq`, `zuora-oauth-reqwest` and `zuora-oauth-wasm` do;
//! use this crate directly only to run on a runtime of your own.
//!
//! Native async and wasm share one async path ([`TokenSource`]): the only differences are
//! `Send` bounds ([`BoxFuture`], [`MaybeSend`]) and the clocks, which the runtime gives.
//! Blocking code has its own, shorter loop ([`blocking::TokenSource`]), which waits on a
//! condition variable and fetches on a thread: driving futures from blocking code would need
//! an executor, which reads worse than the 30 lines it replaces.
//!
//! # Example: a client of your own
//!
//! ```
//! use std::time::Duration;
//! use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
//! use zuora_oauth_driver::{BoxFuture, Limits, Runtime, TokenSource, TransportResult};
//!
//! /// tokio, with an "HTTP client" that answers every request with a canned token.
//! #[derive(Default)]
//! struct Canned;
//!
//! impl Runtime for Canned {
//!     fn send(&self, _request: http::Request<Vec<u8>>, _limits: Limits) -> BoxFuture<'static, TransportResult> {
//!         Box::pin(async {
//!             Ok(http::Response::builder()
//!                 .header("content-type", "application/json")
//!                 .body(br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#.to_vec())
//!                 .unwrap())
//!         })
//!     }
//!     fn spawn(&self, task: BoxFuture<'static, ()>) {
//!         tokio::spawn(task);
//!     }
//!     fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
//!         Box::pin(tokio::time::sleep(duration))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let source: TokenSource<Canned> = TokenSource::new(TokenRequest::new(
//!     Environment::Sbx,
//!     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
//!     ClientSecret::new("dG9wLXNlY3JldA==")?,
//! ));
//! let token = source.token().await?;
//! assert_eq!(token.expires_in(), Duration::from_secs(3599));
//! // The next call is a cached hit.
//! assert_eq!(source.cached().unwrap().generation(), token.generation());
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! - `store` (default): sharing one token between processes through a store
//!   ([`TokenStore`], [`BlockingTokenStore`]; the Redis store is `zuora-oauth-redis`).
//! - `tls`: [`TrustRoots`], the certificate authorities the native transports trust.
//! - `tracing`: a span per token request and the core lifecycle's events. Never a secret.
//!
//! [`TokenLifecycle`]: zuora_oauth_core::TokenLifecycle
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `tracing::$level!(…)` with the feature `tracing`, nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "zuora_oauth", $($arg)*);
    };
}

#[cfg(not(target_arch = "wasm32"))]
pub mod blocking;
pub mod causes;
mod clock;
mod error;
mod handle;
mod limits;
mod notify;
pub mod replay;
mod runtime;
mod shared;
mod source;
#[cfg(feature = "store")]
mod store;
/// The shared parts of a runtime on tokio (feature `tokio`).
#[cfg(feature = "tokio")]
pub mod tokio_rt;

pub use clock::Clock;
#[cfg(feature = "tls")]
pub use connect::{ConnectOptions, DEFAULT_CONNECT_TIMEOUT};
pub use error::TokenError;
pub use handle::TokenHandle;
pub use limits::{DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits};
#[cfg(not(target_arch = "wasm32"))]
pub use runtime::BlockingTransport;
pub use runtime::{BoxFuture, DEADLINE_MARGIN, MaybeSend, Runtime, TransportResult};
pub use source::{TokenSource, TokenSourceBuilder};
#[cfg(all(feature = "store", not(target_arch = "wasm32")))]
pub use store::BlockingTokenStore;
#[cfg(feature = "store")]
pub use store::{StoreError, StoreErrorKind, StoreOptions, TokenStore};

mod proxy;
pub use proxy::{Proxy, ProxyError, ProxyPolicy, ProxyRoute};

#[cfg(feature = "tls")]
mod connect;
#[cfg(feature = "tls")]
mod trust;
#[cfg(feature = "tls")]
pub use trust::{TrustError, TrustRoots};
