#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accounts;
mod api;
mod body;
mod control;
mod cors;
mod fault;
mod handler;
mod ids;
mod redact;
mod relay;
mod respond;
mod rules;
mod server;
pub mod spellings;
mod state;
#[cfg(feature = "tls")]
mod tls;
mod token;

pub use accounts::SEEDED_ACCOUNTS;
pub use api::API_RATE_LIMIT_PER_MINUTE;
pub use fault::{
    DEFAULT_OVERSIZED_BYTES, DEFAULT_REDIRECT_LOCATION, Fault, OversizedFill, RetryAfter, StallEnd,
    TokenFields,
};
pub use redact::REDACTED;
pub use relay::{Cut, Relay};
pub use rules::{FaultRule, FaultTarget, Times};
pub use server::{
    DEFAULT_RATE_LIMIT_PER_MINUTE, DEFAULT_TOKEN_LIFETIME, MockServer, MockServerBuilder,
    tenant_client,
};
pub use spellings::{assert_no_spelling, spellings};
pub use state::{IssuedToken, RecordedRequest, RequestKind};

/// The client ID registered by default (36 characters, like Zuora's).
pub const DEMO_CLIENT_ID: &str = "8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c";

/// The secret of [`DEMO_CLIENT_ID`]: 41 characters with `+`, `/` and `=` in it, as real
/// Zuora secrets have, so a client that forgets to percent-encode it gets a 401.
pub const DEMO_CLIENT_SECRET: &str = "m0ck+Zu0ra/S3cr3t=Fo7+Te5ts/On1y=Lo0pback";

/// The `Content-Type` of the mock's JSON answers, as Zuora sends it.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";
