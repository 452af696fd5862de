//! Calls the Zuora API with a token kept fresh by zuora-oauth: starts the testkit's mock
//! Zuora on 127.0.0.1 (no credentials, no network), builds a token source, and makes one
//! API call, `GET /v1/accounts/A00000001`, through a middleware that puts the token on it.
//!
//! ```sh
//! cargo run --example call_api --features reqwest      # reqwest + reqwest-middleware
//! cargo run --example call_api --features hyper,tower  # hyper-util's client under tower
//! ```
//!
//! Against the real Zuora, use `Environment::ProdEu` (or another) and your credentials
//! instead of the mock's.

#[cfg(any(feature = "reqwest", all(feature = "hyper", feature = "tower")))]
use zuora_oauth::{ClientId, ClientSecret, Environment, TokenRequest, TokenSource};
#[cfg(any(feature = "reqwest", all(feature = "hyper", feature = "tower")))]
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

#[cfg(any(feature = "reqwest", all(feature = "hyper", feature = "tower")))]
fn token_request(zuora: &MockServer) -> Result<TokenRequest, zuora_oauth::InvalidInput> {
    Ok(TokenRequest::new(
        Environment::custom(&zuora.base_url())?,
        ClientId::new(DEMO_CLIENT_ID)?,
        ClientSecret::new(DEMO_CLIENT_SECRET)?,
    ))
}

#[cfg(feature = "reqwest")]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    use reqwest_middleware::reqwest;
    use zuora_oauth::reqwest::{AuthorizeMiddleware, ReqwestTransport};

    let zuora = MockServer::start()?;
    // reqwest's TLS needs a rustls crypto provider: reqwest's default `rustls` feature
    // brings one; with only zuora-oauth's features, install one before building a client.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // One reqwest client for the token call and the API calls: an https token call goes
    // through it (its pool, proxies and TLS), while a plain-http one like this mock's is
    // sent directly, never through a proxy.
    let client = reqwest::Client::new();
    let source = TokenSource::new(
        token_request(&zuora)?,
        ReqwestTransport::with_client(client.clone()),
    );
    let api = reqwest_middleware::ClientBuilder::new(client)
        .with(AuthorizeMiddleware::new(source))
        .build();

    let response = api
        .get(zuora.api_url("/v1/accounts/A00000001"))
        .send()
        .await?;
    println!(
        "{} (Zuora-Request-Id {:?})",
        response.status(),
        response.headers().get("zuora-request-id")
    );
    println!("{}", response.text().await?);

    // The token is revoked on the server (Zuora would answer 401): the middleware drops it,
    // gets a new one (one token request, however many calls were refused) and sends the
    // call once more.
    zuora.revoke_all_tokens();
    let response = api
        .get(zuora.api_url("/v1/accounts/A00000001"))
        .send()
        .await?;
    println!(
        "after a revoked token: {}, replayed: {}, token requests in all: {}",
        response.status(),
        response
            .extensions()
            .get::<zuora_oauth::api::Replayed>()
            .is_some(),
        zuora.token_request_count()
    );
    Ok(())
}

#[cfg(all(feature = "hyper", feature = "tower", not(feature = "reqwest")))]
#[tokio::main]
async fn main() -> Result<(), tower::BoxError> {
    use std::time::Duration;

    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use tower::{Service, ServiceBuilder, ServiceExt};
    use zuora_oauth::hyper::HyperTransport;
    use zuora_oauth::tower::AuthorizeLayer;

    let zuora = MockServer::start()?;
    let source = TokenSource::new(token_request(&zuora)?, HyperTransport::new());
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Empty<Bytes>>();
    let mut api = ServiceBuilder::new()
        .timeout(Duration::from_secs(30))
        .layer(AuthorizeLayer::new(source))
        .service(client);

    let call = http::Request::get(zuora.api_url("/v1/accounts/A00000001")).body(Empty::new())?;
    let response = api.ready().await?.call(call).await?;
    println!(
        "{} (Zuora-Request-Id {:?})",
        response.status(),
        response.headers().get("zuora-request-id")
    );
    let body = response.into_body().collect().await?.to_bytes();
    println!("{}", String::from_utf8_lossy(&body));
    Ok(())
}

#[cfg(not(any(feature = "reqwest", all(feature = "hyper", feature = "tower"))))]
fn main() {
    eprintln!(
        "run it with a transport: cargo run --example call_api --features reqwest (or \
         hyper,tower)"
    );
}
