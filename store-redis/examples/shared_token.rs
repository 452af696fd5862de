//! Token sources sharing one Zuora token through Redis, as the processes of a fleet do
//! (here four sources in one process, each with its own store connection). Zuora is the
//! testkit's mock server on 127.0.0.1, so no credentials are needed:
//!
//! ```sh
//! redis-server --port 6379 --bind 127.0.0.1 --save '' &
//! cargo run -p zuora-oauth-redis --example shared_token -- redis://127.0.0.1:6379/
//! ```
//!
//! `tests/readme.rs` runs [`share`] against a test Redis.

use std::error::Error;

use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::TokenSource;
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let redis_url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379/".to_owned());
    let zuora = MockServer::start()?;
    let sources = share(&redis_url, &zuora.base_url(), 4).await?;
    println!(
        "{sources} token sources served, {} token request(s) sent to Zuora",
        zuora.token_request_count()
    );
    Ok(())
}

/// `n` token sources, each with its own Redis store, all asking for a token: the first
/// fetches it and shares it, the others take it from Redis. Returns how many were served.
pub async fn share(redis_url: &str, zuora_url: &str, n: usize) -> Result<usize, Box<dyn Error>> {
    let mut served = 0;
    for _ in 0..n {
        // What each process of a fleet does (with Environment::ProdEu and your
        // credentials instead of the mock's).
        let request = TokenRequest::new(
            Environment::custom(zuora_url)?,
            ClientId::new(DEMO_CLIENT_ID)?,
            ClientSecret::new(DEMO_CLIENT_SECRET)?,
        );
        let source = TokenSource::builder(request, HyperTransport::new())
            .with_store(RedisStore::at(redis_url)?)
            .build();

        let mut call = http::Request::get(format!("{zuora_url}/v1/catalog/products")).body(())?;
        let _generation = source.authorize(&mut call).await?;
        // … send it; on a 401, `source.invalidate(generation)` drops the token here and
        // in Redis (if it is still that token there).
        served += 1;
    }
    Ok(served)
}
