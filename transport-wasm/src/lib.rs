#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(any(target_arch = "wasm32", doc))]
mod js;
#[cfg(any(target_arch = "wasm32", doc))]
mod source;
#[cfg(any(target_arch = "wasm32", doc))]
mod transport;

#[cfg(any(target_arch = "wasm32", doc))]
pub use source::{TokenSource, TokenSourceBuilder};
#[cfg(any(target_arch = "wasm32", doc))]
pub use transport::FetchTransport;

pub use zuora_oauth_driver::{DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits};
