#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod middleware;
mod transport;

pub use middleware::AuthorizeMiddleware;
pub use transport::ReqwestTransport;
