//! The driver's bearer-value sequence lock (`driver/src/bearer.rs`), compiled here on its
//! own so that loom's model checker runs it with few dependencies:
//! `RUSTFLAGS="--cfg zuora_loom" cargo test -p zuora-oauth-loom --release`. Without the
//! cfg, the file's ordinary tests run (threads racing a writer).
#![forbid(unsafe_code)]
#![allow(dead_code, missing_docs)]

#[path = "../../src/bearer.rs"]
mod bearer;
