//! Blocking transport for zuora-oauth: ureq 3, with a lock-free token source.
#![forbid(unsafe_code)]
