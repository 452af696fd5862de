#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod connect;
mod transport;

pub use connect::ProxyConnector;
pub use transport::HyperTransport;
