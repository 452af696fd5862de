#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod middleware;
mod source;
mod transport;

pub use middleware::{AuthorizeMiddleware, DEFAULT_REPLAY_LIMIT};
pub use source::{TokenSource, TokenSourceBuilder};
pub use transport::UreqTransport;
pub use zuora_oauth_driver::replay::{ApiOptions, NotRetried, NotRetriedReason, Replayed};
pub use zuora_oauth_driver::{
    ConnectOptions, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits, Proxy,
    ProxyError, ProxyPolicy, TrustError, TrustRoots,
};
