//! The one token source of [`zuora-oauth`](https://docs.rs/zuora-oauth), written once and
//! shared by every transport (work in progress: see the token-source issue).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
