#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub use zuora_oauth_core::*;

/// The one token source every transport uses, and its seam for runtimes of your own.
pub use zuora_oauth_driver as driver;
pub use zuora_oauth_driver::{TokenError, TokenHandle};

/// The async transport and token source (feature `hyper`).
#[cfg(feature = "hyper")]
pub use zuora_oauth_hyper as hyper;

/// The async transport over reqwest, its token source and middleware (feature `reqwest`).
#[cfg(feature = "reqwest")]
pub use zuora_oauth_reqwest as reqwest;

/// The blocking transport and token source (feature `ureq`).
#[cfg(feature = "ureq")]
pub use zuora_oauth_ureq as ureq;

/// The wasm32 transport and token source (feature `wasm`).
#[cfg(feature = "wasm")]
pub use zuora_oauth_wasm as wasm;

/// The shared token store on Redis (feature `redis`).
#[cfg(feature = "redis")]
pub use zuora_oauth_redis as redis;
