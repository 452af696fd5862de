#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// `tracing::$level!(…)` with the feature `tracing`, nothing without it.
macro_rules! event {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "tracing")]
        tracing::$level!(target: "zuora_oauth", $($arg)*);
    };
}

mod blocking;
mod builder;
mod protocol;
mod seal;
mod store;

pub use blocking::BlockingRedisStore;
pub use builder::{ConfigError, DEFAULT_KEY_PREFIX, DEFAULT_TIMEOUT, RedisStoreBuilder};
pub use store::RedisStore;
