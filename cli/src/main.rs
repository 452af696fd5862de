//! zuora-token
#![forbid(unsafe_code)]
fn main() {}
