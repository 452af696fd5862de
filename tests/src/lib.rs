//! A mock Zuora OAuth token server on loopback for tests, plus zuora-oauth's cross-transport integration tests.
#![forbid(unsafe_code)]
