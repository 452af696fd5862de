//! `zuora-oauth`: OAuth bearer tokens for Zuora's REST API, kept fresh.
//!
//! This facade re-exports the Sans-IO core ([`zuora_oauth_core`]); the features `hyper`,
//! `ureq` and `wasm` each add one transport.
#![forbid(unsafe_code)]

pub use zuora_oauth_core::*;
