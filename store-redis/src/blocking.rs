//! The blocking store: [`BlockingTokenStore`] on redis-rs's synchronous connections.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::cluster::ClusterConnection;
use redis::{Cmd, FromRedisValue, RedisResult};
use zuora_oauth_core::{LeaseId, TokenRecord};
use zuora_oauth_driver::{BlockingTokenStore, StoreError};

use crate::builder::{RedisStoreBuilder, Target};
use crate::protocol::{LeaseBook, Protocol, store_error};

/// Idle connections kept for later calls.
const POOL: usize = 4;

/// A [`BlockingTokenStore`] on Redis (one server or a Cluster), for the blocking token
/// sources (`zuora_oauth_ureq::TokenSource`, the CLI). The same keys, records and rules as
/// the async [`RedisStore`](crate::RedisStore): the two kinds of process share one token.
///
/// Each call takes an idle connection (or connects, within the store timeout), and bounds
/// itself with socket timeouts: the store timeout for connecting, for each write and for
/// each read. A pooled connection that turns out to be broken (Redis restarted) is replaced
/// once. Cloning shares the connections.
pub struct BlockingRedisStore {
    protocol: Arc<Protocol>,
    pool: Arc<Pool>,
    book: LeaseBook,
}

struct Pool {
    target: Target,
    idle: Mutex<Vec<Connection>>,
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
}

impl BlockingRedisStore {
    /// A store on one Redis server at `url`; see [`RedisStore::builder`](crate::RedisStore::builder).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(vec![url.into()], false)
    }

    /// A store on a Redis Cluster; see
    /// [`RedisStore::cluster_builder`](crate::RedisStore::cluster_builder).
    pub fn cluster_builder<I>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisStoreBuilder::new(nodes.into_iter().map(Into::into).collect(), true)
    }

    pub(crate) fn new(protocol: Protocol, target: Target) -> Self {
        Self {
            protocol: Arc::new(protocol),
            pool: Arc::new(Pool {
                target,
                idle: Mutex::new(Vec::new()),
            }),
            book: LeaseBook::default(),
        }
    }

    /// The key of the shared token record (`<prefix>{<hmac>}:token`).
    pub fn record_key(&self) -> &str {
        self.protocol.record_key()
    }

    /// The key of the fetch lease (`<prefix>{<hmac>}:lease`).
    pub fn lease_key(&self) -> &str {
        self.protocol.lease_key()
    }

    fn connect(&self) -> RedisResult<Connection> {
        let timeout = Some(self.protocol.timeout());
        match &self.pool.target {
            Target::Node(client) => {
                let connection = client.get_connection_with_timeout(self.protocol.timeout())?;
                connection.set_read_timeout(timeout)?;
                connection.set_write_timeout(timeout)?;
                Ok(Connection::Node(connection))
            }
            Target::Cluster(client) => {
                // The builder set the connect and read timeouts of every node connection.
                let connection = client.get_connection()?;
                connection.set_write_timeout(timeout)?;
                Ok(Connection::Cluster(Box::new(connection)))
            }
        }
    }

    /// Sends `cmd` on an idle connection or a new one; a broken idle connection is
    /// replaced once.
    fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let idle = self
            .pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let reused = idle.is_some();
        let mut connection = match idle {
            Some(c) => c,
            None => self.connect().map_err(|e| store_error(&e))?,
        };
        let mut result = connection.query(cmd);
        if reused && result.as_ref().is_err_and(|e| e.is_connection_dropped()) {
            connection = self.connect().map_err(|e| store_error(&e))?;
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
            .pool
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if idle.len() < POOL {
            idle.push(connection);
        }
    }
}

impl BlockingTokenStore for BlockingRedisStore {
    fn load(&self) -> Result<Option<TokenRecord>, StoreError> {
        let value = self.query(&self.protocol.get())?;
        Ok(self.protocol.open(value))
    }

    fn try_lease(&self, lease: LeaseId, ttl: Duration) -> Result<bool, StoreError> {
        let answer: i64 = self.query(&self.protocol.try_lease(lease, ttl))?;
        let taken = answer == 1;
        if taken {
            self.book.taken(lease);
        }
        Ok(taken)
    }

    fn save(&self, record: &TokenRecord, ttl: Duration) -> Result<(), StoreError> {
        let held = self.book.for_save();
        let _: i64 = self.query(&self.protocol.save(record, ttl, held)?)?;
        self.book.saved(held);
        Ok(())
    }

    fn release(&self, lease: LeaseId) -> Result<(), StoreError> {
        if self.book.must_release(lease) {
            let _: i64 = self.query(&self.protocol.release(lease))?;
        }
        Ok(())
    }

    fn invalidate(&self, reported: &TokenRecord) -> Result<bool, StoreError> {
        let value = self.query(&self.protocol.get())?;
        match self.protocol.invalidate(value, reported) {
            Some(delete) => Ok(self.query::<i64>(&delete)? == 1),
            None => Ok(false),
        }
    }
}

impl Clone for BlockingRedisStore {
    /// The same connections; the clone's lease bookkeeping starts empty.
    fn clone(&self) -> Self {
        Self {
            protocol: Arc::clone(&self.protocol),
            pool: Arc::clone(&self.pool),
            book: LeaseBook::default(),
        }
    }
}

impl fmt::Debug for BlockingRedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockingRedisStore")
            .field("record_key", &self.record_key())
            .field("cluster", &matches!(self.pool.target, Target::Cluster(_)))
            .field("timeout", &self.protocol.timeout())
            .finish_non_exhaustive()
    }
}
