//! A mock of Zuora's OAuth token endpoint (`POST /oauth/token`, client-credentials grant),
//! served over real HTTP/1.1 on `127.0.0.1`, for testing token clients: zuora-oauth's own
//! transports, its CLI's `--mock` mode, browser and Node tests, and your test suites.
//!
//! # What it does
//!
//! - **Validates token requests like Zuora**: `POST` only, `application/x-www-form-urlencoded`,
//!   `client_id` of exactly 36 characters, `client_secret` of at most 42,
//!   `grant_type=client_credentials`, no `Authorization` header; a well-formed
//!   `Zuora-Track-Id` (echoed back) and `Zuora-Entity-Ids` (used in the `scope`).
//!   Errors use Zuora's shapes: `{"error":"invalid_client","error_description":"Bad client credentials"}`
//!   (401, with `WWW-Authenticate`), `{"error":"invalid_request",..}` (400/405/415),
//!   `{"error":"unsupported_grant_type",..}` (400).
//! - **Issues tokens** shaped like Zuora's: `200 application/json;charset=utf-8`,
//!   `{"access_token":"<32 hex>","expires_in":3599,"jti":"<32 hex>","scope":"user.<32 hex>
//!   entity.<uuid> platform.write service.echo.read tenant.<n>","token_type":"bearer"}`.
//! - **Sends Zuora's headers**: `Zuora-Request-Id` (a fresh UUID) and `Date` on every
//!   response, `Zuora-Track-Id` echoed, and on token responses both generations of rate-limit
//!   headers (`X-RateLimit-Limit-minute`, `X-RateLimit-Remaining-minute`, `RateLimit-Limit`,
//!   `RateLimit-Remaining`, `RateLimit-Reset`).
//! - **Rate limits** each client IP (default 100 token requests a minute, failed ones
//!   included): 429 `{"message":"API rate limit exceeded"}` with `Retry-After`.
//! - **Misbehaves on request**: queue [`Fault`]s (error bodies of every shape, HTML 502s,
//!   429s, delays, stalls, resets, truncated or oversized bodies, redirects, malformed JSON,
//!   odd token fields); each one is consumed by one token request. Connection faults are
//!   real at the TCP level: a client sees a reset or an early EOF.
//! - **Guards a protected endpoint**, `GET /v1/catalog/products`, that accepts only
//!   `Authorization: Bearer <live token>` (issued, not expired, not revoked), so you can
//!   test "use the token, get a 401, refresh".
//! - **Answers CORS** (echoes `Origin`, answers `OPTIONS` preflights, exposes the Zuora
//!   headers), so tests running in a browser can call it with `fetch`.
//! - **Records** every token request (method, path, headers, body, parsed form, status,
//!   fault) and every token it issued.
//! - **Can be driven over HTTP** through a control API under `/__mock/` (see below), for
//!   processes that cannot call Rust, and ships as a binary, `zuora-mock-server`.
//!
//! The server runs on its own tokio runtime on a background thread: start it from a plain
//! `#[test]` with a blocking client or from inside `#[tokio::test]` alike. Dropping the
//! [`MockServer`] closes the port and joins the thread.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::builder()
//!     .token_lifetime(Duration::from_secs(600))
//!     .start()?;
//!
//! // Any HTTP client works; this is ureq 3, told to return error statuses as responses.
//! let agent: ureq::Agent = ureq::Agent::config_builder()
//!     .http_status_as_error(false)
//!     .max_redirects(0)
//!     .build()
//!     .into();
//! let form = [
//!     ("client_id", DEMO_CLIENT_ID),
//!     ("client_secret", DEMO_CLIENT_SECRET),
//!     ("grant_type", "client_credentials"),
//! ];
//!
//! // A good request gets a token…
//! let mut response = agent.post(server.token_url()).send_form(form)?;
//! assert_eq!(response.status(), 200);
//! assert!(response.headers().contains_key("zuora-request-id"));
//! let token: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
//! assert_eq!(token["expires_in"], 600);
//! assert_eq!(token["token_type"], "bearer");
//!
//! // …that the protected endpoint accepts.
//! let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
//! let response = agent.get(server.protected_url()).header("Authorization", &bearer).call()?;
//! assert_eq!(response.status(), 200);
//!
//! // Script the next answer: Zuora's gateway is overloaded.
//! server.push_fault(Fault::html_error(502));
//! let mut response = agent.post(server.token_url()).send_form(form)?;
//! assert_eq!(response.status(), 502);
//! assert!(response.body_mut().read_to_string()?.contains("Bad Gateway"));
//!
//! // Inspect what the client sent.
//! assert_eq!(server.token_request_count(), 2);
//! let first = &server.requests()[0];
//! assert_eq!(first.form_value("grant_type"), Some("client_credentials"));
//! assert_eq!(first.status, Some(200));
//!
//! // Revoked tokens are refused.
//! server.revoke_all_tokens();
//! let response = agent.get(server.protected_url()).header("Authorization", &bearer).call()?;
//! assert_eq!(response.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! # Faults
//!
//! [`Fault`] lists them all, with their JSON form. Faults that **replace** the answer skip
//! validation; faults that **alter** the normal answer (delay, stall, cut, wrong content type,
//! token fields) apply after it. A request that takes a fault is still recorded and still
//! counts against the rate limit; CORS preflights never take one.
//!
//! # Control API
//!
//! Every route answers JSON, takes JSON bodies, and answers CORS like the rest of the server.
//! Control requests are not recorded, take no fault and do not count against the rate limit.
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `POST /__mock/faults` | a [`Fault`] or an array of them, e.g. `{"kind":"reset_connection"}` | `{"queued":1,"pending":1}` |
//! | `GET /__mock/faults` | | `{"pending":[<fault>…]}` |
//! | `DELETE /__mock/faults` | | `{"cleared":n}` |
//! | `GET /__mock/requests` | | `{"token_request_count":n,"protected_request_count":m,"requests":[{"method","path","headers":[[name,value]…],"body","form":[[name,value]…]\|null,"status"\|null,"fault"\|null,"peer","received_at"}…]}` |
//! | `GET /__mock/tokens` | | `{"tokens":[{"access_token","jti","client_id","issued_at","expires_at","revoked","live"}…]}` (times in Unix seconds) |
//! | `GET /__mock/info` | | URLs, demo credentials, lifetime, rate limit, entity and tenant |
//! | `POST /__mock/reset` | | `{"ok":true}`: like [`MockServer::reset`] |
//! | `POST /__mock/revoke` | | `{"ok":true,"revoked":n}`: like [`MockServer::revoke_all_tokens`] |
//! | `POST /__mock/expire` | | `{"ok":true}`: like [`MockServer::expire_all_tokens`] |
//! | `POST /__mock/lifetime` | `{"seconds":1.5}` or `1.5` | `{"ok":true,"seconds":1.5}` |
//! | `POST /__mock/clients` | `{"client_id":"…","client_secret":"…"}` | `{"ok":true}` |
//!
//! Errors are `{"error":"…"}` with 400 (bad body), 404 (unknown route) or 405.
//!
//! ```
//! # use zuora_oauth_testkit::MockServer;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start()?;
//! let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
//! let response = agent
//!     .post(format!("{}/__mock/faults", server.base_url()))
//!     .content_type("application/json")
//!     .send(r#"[{"kind":"delay_headers","delay_ms":10},{"kind":"respond","status":503}]"#)?;
//! assert_eq!(response.status(), 200);
//! assert_eq!(server.pending_faults().len(), 2);
//! # Ok(())
//! # }
//! ```
//!
//! # The binary
//!
//! `zuora-mock-server` (feature `bin`, on by default) serves until killed (SIGINT/SIGTERM) or,
//! with `--exit-on-stdin-close`, until its standard input closes. The first line it prints
//! on stdout is its base URL:
//!
//! ```text
//! $ zuora-mock-server --port 8080 --lifetime 30 --client 0123456789abcdef0123456789abcdef0123:s3cret
//! http://127.0.0.1:8080
//! ```
//!
//! Options: `--port P` (default 0, ephemeral), `--lifetime SECS` (default 3599, fractions
//! allowed), `--rate-limit N` (default 100; 0 turns it off), `--client ID:SECRET`
//! (repeatable), `--without-demo-client`, `--exit-on-stdin-close`.
//!
//! # Out of scope
//!
//! HTTP/2 and the rest of Zuora's API. Only loopback addresses are served.
//!
//! # Features
//!
//! - `bin` (default): the `zuora-mock-server` binary (clap, tokio signals).
//! - `tls`: `MockServerBuilder::tls()` serves HTTPS with a self-signed certificate made at
//!   start (rcgen, rustls with the ring provider); `MockServer::certificate_der()` and
//!   `MockServer::certificate_pem()` give it to clients to trust. The binary gets `--tls`
//!   and `--cert-out PATH`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod accounts;
mod api;
mod body;
mod control;
mod cors;
mod fault;
mod handler;
mod ids;
mod redact;
mod respond;
mod rules;
mod server;
mod state;
#[cfg(feature = "tls")]
mod tls;
mod token;

pub use accounts::SEEDED_ACCOUNTS;
pub use api::API_RATE_LIMIT_PER_MINUTE;
pub use fault::{
    DEFAULT_OVERSIZED_BYTES, DEFAULT_REDIRECT_LOCATION, Fault, OversizedFill, RetryAfter, StallEnd,
    TokenFields,
};
pub use redact::REDACTED;
pub use rules::{FaultRule, FaultTarget, Times};
pub use server::{
    DEFAULT_RATE_LIMIT_PER_MINUTE, DEFAULT_TOKEN_LIFETIME, MockServer, MockServerBuilder,
};
pub use state::{IssuedToken, RecordedRequest, RequestKind};

/// The client ID registered by default (36 characters, like Zuora's).
pub const DEMO_CLIENT_ID: &str = "8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c";

/// The secret of [`DEMO_CLIENT_ID`]: 41 characters with `+`, `/` and `=` in it, as real
/// Zuora secrets have, so a client that forgets to percent-encode it gets a 401.
pub const DEMO_CLIENT_SECRET: &str = "m0ck+Zu0ra/S3cr3t=Fo7+Te5ts/On1y=Lo0pback";

/// The `Content-Type` of the mock's JSON answers, as Zuora sends it.
pub const JSON_CONTENT_TYPE: &str = "application/json;charset=utf-8";
