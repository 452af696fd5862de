#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// What a user writes first: credentials and environment, the sources, their token and errors.
pub use zuora_oauth_core::{
    ApiVersion, ClientId, ClientSecret, EntityId, Environment, Error, Generation, InvalidInput,
    OrgId, TokenHandle, TokenRequest, TrackId,
};
#[cfg(not(target_arch = "wasm32"))]
pub use zuora_oauth_driver::{BlockingTokenSource, BlockingTokenSourceBuilder};
#[cfg(not(target_arch = "wasm32"))]
pub use zuora_oauth_driver::{BlockingTokenSources, BlockingTokenSourcesBuilder};
pub use zuora_oauth_driver::{
    Status, TokenError, TokenErrorKind, TokenSource, TokenSourceBuilder, TokenStatus,
};
// Many tenants in one process: a source per OAuth client, and the tenant of a call.
pub use zuora_oauth_driver::{Tenant, TokenSources, TokenSourcesBuilder};

/// The Sans-IO core (`zuora-oauth-core`): the token request and its parser, the
/// [`TokenLifecycle`](sansio::TokenLifecycle) state machine, the fleet's decisions
/// ([`FleetFetch`](sansio::FleetFetch)), every type they use. Drive it from a runtime of your
/// own.
pub mod sansio {
    pub use zuora_oauth_core::*;
}

/// The token sources' machinery (`zuora-oauth-driver`): the seams for a transport or a runtime
/// of your own ([`Transport`](driver::Transport), [`Runtime`](driver::Runtime)), connection
/// options, the store seam, the API-call rules.
pub use zuora_oauth_driver as driver;

/// Authorizing Zuora API calls: the rules every middleware follows.
pub use zuora_oauth_driver::api;

/// Sharing one token between processes (a fleet) through a store.
#[cfg(not(target_arch = "wasm32"))]
pub use zuora_oauth_driver::store;

/// Token health through the `metrics` facade (feature `metrics`): the metric names,
/// [`describe`](metrics::describe) and the `client` label.
#[cfg(feature = "metrics")]
pub use zuora_oauth_driver::metrics;

/// A tower layer that authorizes Zuora API calls (feature `tower`).
#[cfg(feature = "tower")]
pub use zuora_oauth_driver::tower;

/// The async transport on hyper and tokio (feature `hyper`).
#[cfg(feature = "hyper")]
pub use zuora_oauth_hyper as hyper;

/// The async transport over reqwest and its middleware (feature `reqwest`).
#[cfg(feature = "reqwest")]
pub use zuora_oauth_reqwest as reqwest;

/// The blocking transport on ureq and its middleware (feature `ureq`).
#[cfg(feature = "ureq")]
pub use zuora_oauth_ureq as ureq;

/// The wasm32 transport, the global `fetch` (feature `wasm`).
#[cfg(feature = "wasm")]
pub use zuora_oauth_wasm as wasm;

/// The shared token store on Redis (feature `redis`).
#[cfg(feature = "redis")]
pub use zuora_oauth_redis as redis;
