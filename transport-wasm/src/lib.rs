#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Off wasm32 these modules are only documented: rustdoc does not type-check function
// bodies, which hold JavaScript futures that are not `Send` (as the host's `Runtime` wants).
#[cfg(any(target_arch = "wasm32", doc))]
mod api;
#[cfg(any(target_arch = "wasm32", doc))]
mod js;
#[cfg(any(target_arch = "wasm32", doc))]
mod transport;

#[cfg(any(target_arch = "wasm32", doc))]
pub use api::{AuthorizedFetch, DEFAULT_API_MAX_BODY};
#[cfg(any(target_arch = "wasm32", doc))]
pub use transport::FetchTransport;
