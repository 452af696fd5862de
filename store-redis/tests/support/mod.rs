//! Shared by the integration tests and the benchmark.
#![allow(dead_code)] // each test file uses a part

pub mod fleet;
pub mod redis_server;
