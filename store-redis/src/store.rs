//! The async store: [`TokenStore`] on redis-rs's tokio connections.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue};
use tokio::sync::OnceCell;
use zuora_oauth_core::{LeaseId, TokenRecord};
use zuora_oauth_driver::{BoxFuture, StoreError, TokenStore};

use crate::builder::{RedisStoreBuilder, Target};
use crate::protocol::{LeaseBook, Protocol, store_error, timed_out};

/// A [`TokenStore`] on Redis (one server or a Cluster), for the async token sources
/// (`zuora_oauth_hyper::TokenSource`, any driver source on tokio). See the
/// [crate documentation](crate) for what it stores and how it fails.
///
/// One server: a `ConnectionManager` (one multiplexed connection, reconnected when it
/// breaks). Cluster: redis-rs's async cluster connection, made on first use. Every call is
/// cut at the store timeout. Cloning shares the connection.
pub struct RedisStore {
    protocol: Arc<Protocol>,
    connection: Connection,
    book: LeaseBook,
}

#[derive(Clone)]
enum Connection {
    Node(ConnectionManager),
    Cluster(Arc<LazyCluster>),
}

/// A cluster connection made on the first call that needs it (and again after a failed
/// attempt), so that a store can be built while the cluster is down.
struct LazyCluster {
    client: ClusterClient,
    connection: OnceCell<ClusterConnection>,
}

impl RedisStore {
    /// A store on one Redis server at `url` (`redis://…` or `rediss://…`).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(vec![url.into()], false)
    }

    /// A store on a Redis Cluster, found through any of `nodes` (URLs, the same user,
    /// password and scheme on each).
    pub fn cluster_builder<I>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        RedisStoreBuilder::new(nodes.into_iter().map(Into::into).collect(), true)
    }

    pub(crate) fn new(
        protocol: Protocol,
        target: Target,
        timeout: Duration,
    ) -> redis::RedisResult<Self> {
        let connection = match target {
            Target::Node(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(timeout))
                    .set_response_timeout(Some(timeout))
                    // One connection attempt per call that finds the connection broken:
                    // no retry loop outliving the call.
                    .set_number_of_retries(0);
                Connection::Node(ConnectionManager::new_lazy_with_config(client, config)?)
            }
            Target::Cluster(client) => Connection::Cluster(Arc::new(LazyCluster {
                client,
                connection: OnceCell::new(),
            })),
        };
        Ok(Self {
            protocol: Arc::new(protocol),
            connection,
            book: LeaseBook::default(),
        })
    }

    /// The key of the shared token record (`<prefix>{<hmac>}:token`).
    pub fn record_key(&self) -> &str {
        self.protocol.record_key()
    }

    /// The key of the fetch lease (`<prefix>{<hmac>}:lease`).
    pub fn lease_key(&self) -> &str {
        self.protocol.lease_key()
    }

    /// Sends `cmd`, within the store timeout.
    async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, StoreError> {
        let send = async {
            match &self.connection {
                Connection::Node(manager) => {
                    let mut manager = manager.clone();
                    match cmd.query_async(&mut manager).await {
                        // The manager reconnects only once a call has seen its connection
                        // broken (or its last reconnection failed, Redis being down then),
                        // and fails that call: try once more on the new connection, so
                        // that the first call after Redis comes back succeeds.
                        Err(e) if e.is_io_error() && !e.is_timeout() => {
                            cmd.query_async(&mut manager).await
                        }
                        other => other,
                    }
                }
                Connection::Cluster(lazy) => {
                    let connection = lazy
                        .connection
                        .get_or_try_init(|| lazy.client.get_async_connection())
                        .await?;
                    cmd.query_async(&mut connection.clone()).await
                }
            }
        };
        let timeout = self.protocol.timeout();
        match tokio::time::timeout(timeout, send).await {
            Ok(result) => result.map_err(|e| store_error(&e)),
            Err(_) => Err(timed_out(timeout)),
        }
    }
}

impl TokenStore for RedisStore {
    fn load(&self) -> BoxFuture<'_, Result<Option<TokenRecord>, StoreError>> {
        Box::pin(async move {
            let value = self.query(&self.protocol.get()).await?;
            Ok(self.protocol.open(value))
        })
    }

    fn try_lease(&self, lease: LeaseId, ttl: Duration) -> BoxFuture<'_, Result<bool, StoreError>> {
        Box::pin(async move {
            let answer: i64 = self.query(&self.protocol.try_lease(lease, ttl)).await?;
            let taken = answer == 1;
            if taken {
                self.book.taken(lease);
            }
            Ok(taken)
        })
    }

    fn save<'a>(
        &'a self,
        record: &'a TokenRecord,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let held = self.book.for_save();
            let _: i64 = self.query(&self.protocol.save(record, ttl, held)?).await?;
            self.book.saved(held);
            Ok(())
        })
    }

    fn release(&self, lease: LeaseId) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            if self.book.must_release(lease) {
                let _: i64 = self.query(&self.protocol.release(lease)).await?;
            }
            Ok(())
        })
    }

    fn invalidate<'a>(
        &'a self,
        reported: &'a TokenRecord,
    ) -> BoxFuture<'a, Result<bool, StoreError>> {
        Box::pin(async move {
            let value = self.query(&self.protocol.get()).await?;
            match self.protocol.invalidate(value, reported) {
                Some(delete) => Ok(self.query::<i64>(&delete).await? == 1),
                None => Ok(false),
            }
        })
    }
}

impl Clone for RedisStore {
    /// The same connection; the clone's lease bookkeeping starts empty.
    fn clone(&self) -> Self {
        Self {
            protocol: Arc::clone(&self.protocol),
            connection: self.connection.clone(),
            book: LeaseBook::default(),
        }
    }
}

impl fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisStore")
            .field("record_key", &self.record_key())
            .field(
                "cluster",
                &matches!(self.connection, Connection::Cluster(_)),
            )
            .field("timeout", &self.protocol.timeout())
            .finish_non_exhaustive()
    }
}
