#![doc = include_str!("../README.md")]
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
