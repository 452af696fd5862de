//! OAuth bearer tokens for Zuora's REST API (`POST /oauth/token`, client-credentials
//! grant), kept fresh.
//!
//! This facade re-exports the Sans-IO core, [`zuora_oauth_core`], at its root: validated
//! inputs ([`ClientId`], [`ClientSecret`], [`Environment`], [`TrackId`], [`EntityId`]), the
//! [`TokenRequest`] that builds the HTTP request and parses the response, the [`Error`]
//! to match on, and the [`TokenLifecycle`] that decides when to fetch; and the token source
//! written once for every runtime, [`driver`] (its [`TokenHandle`] and [`TokenError`] at the
//! root). One feature per transport adds a ready token source:
//!
//! | feature | module | transport |
//! |---|---|---|
//! | `hyper` | `zuora_oauth::hyper` | async, hyper 1 + rustls on tokio; a tower layer for API calls |
//! | `reqwest` | `zuora_oauth::reqwest` | async, your `reqwest::Client` (or one with rustls); a reqwest-middleware for API calls |
//! | `ureq` | `zuora_oauth::ureq` | blocking, ureq 3; a ureq middleware for API calls |
//! | `wasm` | `zuora_oauth::wasm` | the global `fetch` (browsers, workers, Node, edge) |
//!
//! The feature `redis` adds `zuora_oauth::redis`, a token store on Redis (one server or a
//! Cluster) through which a fleet of processes shares one token: one token request per
//! token lifetime for the whole fleet, encrypted so that Redis learns nothing.
//!
//! No transport is compiled unless its feature is on. The feature `tracing` adds `tracing`
//! events (target `zuora_oauth`) from the lifecycle and from the chosen transport: each
//! token request with its status, `Zuora-Request-Id` and outcome, backoff. They never hold a secret.
//!
//! ```
//! use zuora_oauth::{ClientId, ClientSecret, Environment, TokenRequest};
//!
//! let request = TokenRequest::new(
//!     "prod-eu".parse::<Environment>()?,
//!     ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?,
//!     ClientSecret::new("dG9wLXNlY3JldA==")?,
//! );
//! let http = request.to_http(); // send it with any HTTP client…
//! assert_eq!(http.uri(), "https://rest.eu.zuora.com/oauth/token");
//! # Ok::<(), zuora_oauth::InvalidInput>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use zuora_oauth_core::*;

/// The one token source every transport uses, and its seam for runtimes of your own.
pub use zuora_oauth_driver as driver;
pub use zuora_oauth_driver::{TokenError, TokenHandle};

/// The async transport and token source (feature `hyper`).
#[cfg(feature = "hyper")]
pub use zuora_oauth_hyper as hyper;

/// The async transport over reqwest, its token source and middleware (feature `reqwest`).
#[cfg(feature = "reqwest")]
pub use zuora_oauth_reqwest as reqwest;

/// The blocking transport and token source (feature `ureq`).
#[cfg(feature = "ureq")]
pub use zuora_oauth_ureq as ureq;

/// The wasm32 transport and token source (feature `wasm`).
#[cfg(feature = "wasm")]
pub use zuora_oauth_wasm as wasm;

/// The shared token store on Redis (feature `redis`).
#[cfg(feature = "redis")]
pub use zuora_oauth_redis as redis;

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
