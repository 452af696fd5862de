#![doc = include_str!("../README.md")]
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
