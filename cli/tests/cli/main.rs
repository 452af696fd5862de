//! Integration tests of the `zuora-token` binary: each test runs the built program in a
//! clean environment (only `PATH`, and `HOME` / `XDG_CACHE_HOME` in a temporary folder)
//! against the testkit's mock Zuora server started in the test process (and, for
//! `--store`, a real `redis-server` started by the test).
//!
//! Every run checks that no client secret appears on stdout or stderr (see
//! [`helpers::Cli::run`]).

mod helpers;

#[cfg(unix)] // file modes and symbolic links
mod cache;
#[cfg(unix)] // file modes, owners, symbolic links and FIFOs
mod cache_folder;
mod failures;
mod inputs;
mod output;
mod proxy;
mod redis_server;
mod retries;
mod secrets;
mod store;
mod store_fleet;
