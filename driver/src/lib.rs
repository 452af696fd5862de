//! The one token source of [`zuora-oauth`](https://docs.rs/zuora-oauth), written once and
//! shared by every transport (work in progress: see the token-source issue).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod proxy;
pub use proxy::{Proxy, ProxyError, ProxyPolicy, ProxyRoute};

#[cfg(feature = "tls")]
mod trust;
#[cfg(feature = "tls")]
pub use trust::{TrustError, TrustRoots};
