#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod builder;
mod protocol;
mod store;

pub use builder::{ConfigError, DEFAULT_KEY_PREFIX, RedisStoreBuilder};
pub use store::RedisStore;
