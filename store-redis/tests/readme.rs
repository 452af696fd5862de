//! The README's example, against a test Redis: `examples/shared_token.rs`, whose
//! [`share`](example::share) holds the code the README shows.

mod support;

#[path = "../examples/shared_token.rs"]
#[allow(dead_code)] // its `main` is for `cargo run --example`
mod example;

use support::redis_server::RedisServer;
use zuora_oauth_testkit::MockServer;

#[tokio::test]
async fn the_readme_example_shares_one_token_between_four_sources() {
    let redis = RedisServer::start();
    let zuora = MockServer::start().unwrap();
    let served = example::share(&redis.url(), &zuora.base_url(), 4)
        .await
        .unwrap();
    assert_eq!(served, 4);
    assert_eq!(zuora.token_request_count(), 1);
}
