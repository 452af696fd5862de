//! Async transport for zuora-oauth: hyper 1 + rustls on tokio, with a lock-free token source.
#![forbid(unsafe_code)]
