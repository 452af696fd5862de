//! [`RedisStore`]: the driver's [`TokenStore`] on redis-rs's connections.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{Cmd, FromRedisValue, RedisResult};
use zuora_oauth_core::LeaseId;
use zuora_oauth_driver::store::{StoreCall, StoreError, StoreErrorKind, TokenStore};

use crate::builder::RedisStoreBuilder;
use crate::protocol::{Keys, compare_and_delete, save, store_error, try_lease};

/// Idle connections kept for later calls.
const POOL: usize = 4;

/// A [`TokenStore`] on Redis: one server or a Redis Cluster, `redis://` or `rediss://`
/// (rustls), the ACL user and password from the URL. See the [crate documentation](crate)
/// for what it stores and how it fails.
///
/// It holds no credentials of Zuora's: the token source names the keys and seals the
/// records ([`zuora_oauth_driver::store`]), so one store may serve many sources. Each call
/// takes an idle connection (or connects), bounded by the source's store timeout
/// ([`StoreCall::timeout`]) for connecting, each write and each read; a pooled connection
/// that turns out to be broken (Redis restarted) is replaced once. Cloning shares the
/// connections.
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) prefix: String,
    pub(crate) target: Target,
    idle: Mutex<Vec<Connection>>,
}

/// What the store connects to.
pub(crate) enum Target {
    Node(redis::Client),
    /// The nodes and TLS roots; the client is built on the first call, with its timeout.
    Cluster {
        builder: Box<dyn Fn(Duration) -> RedisResult<ClusterClient> + Send + Sync>,
        client: Mutex<Option<(Duration, ClusterClient)>>,
    },
}

enum Connection {
    Node(redis::Connection),
    Cluster(Box<ClusterConnection>),
}

impl Connection {
    fn query<T: FromRedisValue>(&mut self, cmd: &Cmd) -> RedisResult<T> {
        match self {
            Self::Node(c) => cmd.query(c),
            Self::Cluster(c) => cmd.query(&mut **c),
        }
    }

    fn set_timeouts(&mut self, timeout: Duration) -> RedisResult<()> {
        match self {
            Self::Node(c) => {
                c.set_read_timeout(Some(timeout))?;
                c.set_write_timeout(Some(timeout))
            }
            Self::Cluster(c) => {
                c.set_read_timeout(Some(timeout))?;
                c.set_write_timeout(Some(timeout))
            }
        }
    }
}

impl RedisStore {
    /// A store on one Redis server at `url`: `redis://[user:password@]host[:port][/db]`,
    /// or `rediss://…` for TLS (Mozilla's roots). No connection is made yet.
    pub fn at(url: impl Into<String>) -> Result<Self, crate::ConfigError> {
        Self::builder(url).build()
    }

    /// A store on a Redis Cluster, found through any of `nodes` (URLs with the same user,
    /// password and scheme on each). No connection is made yet.
    pub fn cluster<I>(nodes: I) -> Result<Self, crate::ConfigError>
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::cluster_builder(nodes).build()
    }

    /// A store on one Redis server, with options (key prefix, trusted roots).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(vec![url.into()], false)
    }

    /// A store on a Redis Cluster, with options.
    pub fn cluster_builder<I>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisStoreBuilder::new(nodes.into_iter().map(Into::into).collect(), true)
    }

    pub(crate) fn new(prefix: String, target: Target) -> Self {
        Self {
            inner: Arc::new(Inner {
                prefix,
                target,
                idle: Mutex::new(Vec::new()),
            }),
        }
    }

    /// The Redis keys of a store key: the record's and the lease's.
    pub fn keys(&self, key: &str) -> (String, String) {
        let keys = Keys::new(&self.inner.prefix, key);
        (keys.record, keys.lease)
    }

    fn connect(&self, timeout: Duration) -> RedisResult<Connection> {
        let mut connection = match &self.inner.target {
            Target::Node(client) => Connection::Node(client.get_connection_with_timeout(timeout)?),
            Target::Cluster { builder, client } => {
                let client = {
                    let mut slot = client.lock().unwrap_or_else(PoisonError::into_inner);
                    match &*slot {
                        Some((t, client)) if *t == timeout => client.clone(),
                        _ => {
                            let built = builder(timeout)?;
                            *slot = Some((timeout, built.clone()));
                            built
                        }
                    }
                };
                Connection::Cluster(Box::new(client.get_connection()?))
            }
        };
        connection.set_timeouts(timeout)?;
        Ok(connection)
    }

    /// Sends `cmd` on an idle connection or a new one, within `call`'s timeout; a broken
    /// idle connection is replaced once.
    fn query<T: FromRedisValue>(&self, call: &StoreCall<'_>, cmd: &Cmd) -> Result<T, StoreError> {
        let timeout = call.timeout();
        if timeout.is_zero() {
            return Err(StoreError::new(
                StoreErrorKind::Timeout,
                "redis: no time left for the call",
            ));
        }
        let idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let reused = idle.is_some();
        let mut connection = match idle {
            Some(mut c) => {
                c.set_timeouts(timeout).map_err(|e| store_error(&e))?;
                c
            }
            None => self.connect(timeout).map_err(|e| store_error(&e))?,
        };
        let mut result = connection.query(cmd);
        if reused && result.as_ref().is_err_and(|e| e.is_connection_dropped()) {
            connection = self.connect(timeout).map_err(|e| store_error(&e))?;
            result = connection.query(cmd);
        }
        match result {
            Ok(value) => {
                self.put_back(connection);
                Ok(value)
            }
            Err(e) => {
                // An answer (a script error, say) leaves the connection usable; a timeout
                // or an I/O failure does not: a late answer would be read by the next call.
                if !e.is_io_error() && !e.is_timeout() && !e.is_unrecoverable_error() {
                    self.put_back(connection);
                }
                Err(store_error(&e))
            }
        }
    }

    fn put_back(&self, connection: Connection) {
        let mut idle = self
            .inner
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL {
            idle.push(connection);
        }
    }

    fn keys_of(&self, call: &StoreCall<'_>) -> Keys {
        Keys::new(&self.inner.prefix, call.key())
    }
}

impl TokenStore for RedisStore {
    fn load(&self, call: &StoreCall<'_>) -> Result<Option<Vec<u8>>, StoreError> {
        let mut get = redis::cmd("GET");
        get.arg(self.keys_of(call).record);
        self.query(call, &get)
    }

    fn try_lease(
        &self,
        call: &StoreCall<'_>,
        lease: LeaseId,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let taken: i64 = self.query(call, &try_lease(&self.keys_of(call), lease, ttl))?;
        Ok(taken == 1)
    }

    fn save(
        &self,
        call: &StoreCall<'_>,
        value: &[u8],
        ttl: Duration,
        release: Option<LeaseId>,
    ) -> Result<(), StoreError> {
        let _: i64 = self.query(call, &save(&self.keys_of(call), value, ttl, release))?;
        Ok(())
    }

    fn release(&self, call: &StoreCall<'_>, lease: LeaseId) -> Result<(), StoreError> {
        let keys = self.keys_of(call);
        let _: i64 = self.query(
            call,
            &compare_and_delete(&keys.lease, crate::protocol::lease_value(lease).as_bytes()),
        )?;
        Ok(())
    }

    fn delete_if(&self, call: &StoreCall<'_>, current: &[u8]) -> Result<bool, StoreError> {
        let keys = self.keys_of(call);
        Ok(self.query::<i64>(call, &compare_and_delete(&keys.record, current))? == 1)
    }
}

impl fmt::Debug for RedisStore {
    // The URLs may hold a password: not shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.inner.prefix)
            .field(
                "cluster",
                &matches!(self.inner.target, Target::Cluster { .. }),
            )
            .finish_non_exhaustive()
    }
}

/// A cluster client builder with `timeout` for connecting and answers, and one redirect or
/// reconnection per call: a call that cannot finish soon fails, and the process fetches on
/// its own.
pub(crate) fn cluster_client(
    builder: ClusterClientBuilder,
    timeout: Duration,
) -> RedisResult<ClusterClient> {
    builder
        .connection_timeout(timeout)
        .response_timeout(timeout)
        .retries(1)
        .min_retry_wait(10)
        .max_retry_wait(50)
        .build()
}
