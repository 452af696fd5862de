//! The Sans-IO core of [`zuora-oauth`](https://docs.rs/zuora-oauth): everything needed to get
//! OAuth bearer tokens from Zuora's REST API (`POST /oauth/token`, client-credentials grant)
//! and keep them fresh — except the I/O.
//!
//! # In scope
//!
//! - **Validated inputs**: [`ClientId`] (36 characters), [`ClientSecret`] (1–42; redacted
//!   `Debug`, no `Display`, zeroized), [`TrackId`], [`EntityId`] (UUID, 32-hex accepted),
//!   [`Environment`] (Zuora's ten hosts by their SDK names, or a custom base URL: https, or
//!   http for loopback only). Bad input gets an [`InvalidInput`] before anything is sent.
//! - **The request**: [`TokenRequest::to_http`] builds the `http::Request<Vec<u8>>`.
//! - **The response**: [`TokenRequest::parse_response`] reads any `http::Response<impl
//!   AsRef<[u8]>>` into a [`Token`] (with its [`Scope`] and [`ResponseMeta`]: request ID,
//!   rate limits, `Retry-After`) or an [`Error`] to match on. No error text ever holds the
//!   secret or a token.
//! - **Using it**: [`Token::authorize`] sets `Authorization: Bearer …` (marked sensitive) and
//!   `Zuora-Entity-Ids` on an API request.
//! - **When to fetch**: [`TokenLifecycle`], a poll-style state machine (refresh-ahead,
//!   single flight, backoff with full jitter and a bounded `Retry-After`, one retry policy
//!   ([`Error::is_transient`]), a request budget, a deadline for the request in flight, a
//!   minimum remaining lifetime, invalidation on an API 401).
//! - **Keeping it elsewhere**: [`TokenRecord`], a token with wall-clock issue and expiry
//!   times that serialises with serde, for file caches and stores shared by a fleet;
//!   [`TokenLifecycle::adopt`] takes one back.
//!
//! # Out of scope
//!
//! Sockets, TLS, async runtimes, timers, clocks and randomness. Functions that need the time
//! take a [`Timestamp`] (a monotonic reading) and, where a wall-clock time is needed (a
//! `Retry-After` date, a token record), a `SystemTime` reading; jitter comes from a seed that
//! [`TokenLifecycle::new`] requires. So the core is deterministic in tests and builds for
//! `wasm32-unknown-unknown`. The driver (`zuora-oauth-driver`, the one token source) and the
//! transports (`zuora-oauth-hyper`, `zuora-oauth-ureq`, `zuora-oauth-wasm`) add the I/O; the
//! `custom runtime` example drives this crate over a bare `TcpStream`.
//!
//! # Example: one exchange
//!
//! ```
//! use zuora_oauth_core::{ClientId, ClientSecret, Environment, Error, TokenRequest};
//!
//! let request = TokenRequest::new(
//!     Environment::ProdEu,
//!     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
//!     ClientSecret::new("dG9wLXNlY3JldA==")?,
//! );
//! let http_request = request.to_http(); // send it with any HTTP client, redirects off
//! assert_eq!(http_request.uri(), "https://rest.eu.zuora.com/oauth/token");
//!
//! let response = http::Response::builder()
//!     .status(429)
//!     .header("retry-after", "30")
//!     .header("zuora-request-id", "2c9f7a2e-0b53-4d8c-9c1e-6b1f0c7d8e91")
//!     .body(r#"{"message":"API rate limit exceeded"}"#)?;
//! match request.parse_response(&response) {
//!     Ok(token) => println!("valid for {:?}", token.expires_in()),
//!     Err(e @ Error::RateLimited(_)) => {
//!         assert!(e.is_transient());
//!         assert_eq!(e.retry_after(), Some(std::time::Duration::from_secs(30)));
//!         assert_eq!(e.request_id(), Some("2c9f7a2e-0b53-4d8c-9c1e-6b1f0c7d8e91"));
//!     }
//!     Err(e) => return Err(e.into()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`TokenLifecycle`] shows the driving loop that keeps a token fresh.
//!
//! # Features
//!
//! - `tracing`: events from the lifecycle (requests, answers, new tokens, failures with the
//!   backoff chosen, invalidations). Off by default; never a secret.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `tracing::$level!(…)` with the feature `tracing`, nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "zuora_oauth", $($arg)*);
    };
}

mod credentials;
mod entity_id;
mod environment;
mod error;
mod fleet;
mod header_text;
mod invalid;
mod lifecycle;
mod meta;
mod record;
mod request;
mod response;
mod scope;
mod time;
mod token;
mod track_id;

pub use credentials::{ClientId, ClientSecret};
pub use entity_id::EntityId;
pub use environment::{BaseUrl, Environment};
pub use error::{
    Error, ErrorDetail, ErrorResponse, Problem, Reason, TransportError, TransportErrorKind,
};
pub use fleet::{FleetAction, FleetConfig, FleetFetch, LeaseId, may_delete};
pub use invalid::InvalidInput;
pub use lifecycle::{
    Action, CachedToken, Generation, LifecycleConfig, Outcome, OutgoingRequest, RequestId,
    TokenLifecycle,
};
pub use meta::{RateLimits, ResponseMeta, RetryAfter};
pub use record::TokenRecord;
pub use request::{TokenRequest, ZUORA_TRACK_ID};
pub use scope::{Scope, ScopeItem};
pub use time::Timestamp;
pub use token::{AccessToken, Token, ZUORA_ENTITY_IDS};
pub use track_id::TrackId;
