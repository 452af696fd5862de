#![doc = include_str!("../README.md")]
// The crate docs link to items of optional features (`tls`, `tower`); docs.rs and the
// workspace's doc build have every feature on. A build without them keeps its text.
#![cfg_attr(
    not(all(feature = "tls", feature = "tower")),
    allow(rustdoc::broken_intra_doc_links)
)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `tracing::$level!(…)` with the feature `tracing`, nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "zuora_oauth", $($arg)*);
    };
}

pub mod api;
mod bearer;
mod clock;
mod credentials;
mod error;
mod fronts;
#[cfg(feature = "metrics")]
pub mod metrics;
#[cfg(not(feature = "metrics"))]
mod metrics;
mod notify;
mod proxy;
mod runtime;
#[cfg(not(target_arch = "wasm32"))]
mod secret;
mod source;
mod sources;
mod state;
mod status;
#[cfg(store)]
pub mod store;
#[cfg(feature = "tower")]
pub mod tower;
mod transport;

#[cfg(feature = "tls")]
mod connect;
#[cfg(feature = "tls")]
mod trust;

pub use clock::Clock;
pub use error::{TokenError, TokenErrorKind};
#[cfg(not(target_arch = "wasm32"))]
pub use fronts::{BlockingTokenSource, BlockingTokenSourceBuilder};
pub use fronts::{TokenSource, TokenSourceBuilder};
pub use proxy::{Proxy, ProxyError, ProxyPolicy};
#[cfg(not(target_arch = "wasm32"))]
pub use runtime::BlockingJob;
pub use runtime::{BoxFuture, MaybeSend, Runtime};
#[cfg(store)]
pub use source::DEFAULT_STORE_TIMEOUT;
#[cfg(not(target_arch = "wasm32"))]
pub use sources::{BlockingTokenSources, BlockingTokenSourcesBuilder};
pub use sources::{Tenant, TokenSources, TokenSourcesBuilder};
pub use status::{Status, TokenStatus};
#[cfg(not(target_arch = "wasm32"))]
pub use transport::BlockingTransport;
pub use transport::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits, Transport, TransportResult,
};
pub use zuora_oauth_core::TokenHandle;

#[cfg(feature = "tls")]
pub use connect::ConnectOptions;
#[cfg(feature = "tls")]
pub use trust::{TrustError, TrustRoots};

/// What the transport crates of this workspace share. Not public API: it may change in any
/// release.
#[doc(hidden)]
pub mod internal {
    pub use crate::api::copy_request;
    #[cfg(feature = "tls")]
    pub use crate::connect::tls_config;
    pub use crate::proxy::ProxyRoute;

    /// Whether `source` holds a fresh token, read as `authorize` and the middlewares read
    /// it (the bearer value's sequence lock and the clock: no lock, nothing shared written,
    /// no allocation). For the hit benchmark.
    #[inline]
    pub fn bearer_is_fresh(source: &crate::TokenSource) -> bool {
        source.source().bearer_is_fresh()
    }

    /// `exchange`, cut at `timeout` (a timed-out transport failure past it): the whole
    /// exchange's bound in the transports on tokio.
    #[cfg(feature = "__hyper")]
    pub async fn within(
        timeout: std::time::Duration,
        exchange: impl std::future::Future<Output = crate::TransportResult>,
    ) -> crate::TransportResult {
        tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(zuora_oauth_core::TransportError::new(
                    zuora_oauth_core::TransportErrorKind::Timeout,
                    format!("no complete response within {timeout:?}"),
                ))
            })
    }

    mod causes;
    #[cfg(feature = "__hyper")]
    pub use causes::classify;
    pub use causes::{causes, describe, io_kind};
}
