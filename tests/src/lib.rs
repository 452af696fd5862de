//! A mock of Zuora's OAuth token endpoint (`POST /oauth/token`, client-credentials grant)
//! and of a few Zuora API routes, served over real HTTP/1.1 on a loopback address, for
//! testing token clients and the integrations built on them: zuora-oauth's own transports,
//! its CLI's `--mock` mode, browser and Node tests, and your test suites, end to end and
//! with no network.
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
//! - **Serves a mock Zuora API** (see [The API](#the-api)) that accepts only
//!   `Authorization: Bearer <live token>` issued by this mock (not expired, not revoked), so
//!   you can test "use the token, get a 401, refresh" and your own calls to Zuora.
//! - **Sends Zuora's headers**: `Zuora-Request-Id` (a fresh UUID) and `Date` on every
//!   response, `Zuora-Track-Id` echoed, and on token responses both generations of rate-limit
//!   headers (`X-RateLimit-Limit-minute`, `X-RateLimit-Remaining-minute`, `RateLimit-Limit`,
//!   `RateLimit-Remaining`, `RateLimit-Reset`).
//! - **Rate limits** token requests per client IP (default 100 a minute, failed ones
//!   included): 429 `{"message":"API rate limit exceeded"}` with `Retry-After`.
//! - **Misbehaves on request**: queue [`Fault`]s (error bodies of every shape, HTML 502s,
//!   429s, delays, stalls, resets, truncated or oversized bodies, redirects, malformed JSON,
//!   odd token fields) for the token endpoint or the API, for one client or any, for the next
//!   request, the next N or all of them ([`FaultRule`]). Connection faults are real at the
//!   TCP level: a client sees a reset or an early EOF.
//! - **Records** every token request and API call (method, path, headers, body, parsed form,
//!   client, status, fault), with secrets redacted, and every token it issued; tests can
//!   **wait for arrivals** ([`MockServer::wait_for_token_requests`],
//!   [`MockServer::until_token_requests`] and the same for the API) instead of sleeping.
//! - **Can be driven over HTTP** through a control API under `/__mock/` (see below), for
//!   processes that cannot call Rust, and ships as a binary, `zuora-mock-server`.
//!
//! The server runs on its own tokio runtime on a background thread: start it from a plain
//! `#[test]` with a blocking client or from inside `#[tokio::test]` alike. Dropping the
//! [`MockServer`] closes the port and joins the thread.
//!
//! # Safe beside real work
//!
//! - It listens on loopback addresses only: `127.0.0.1` by default,
//!   [`MockServerBuilder::bind`] for another `127.x.y.z` or `::1`; any other address is
//!   refused.
//! - **CORS is off by default**: no `Access-Control-*` header, preflights answered 403, so no
//!   web page can read the mock's answers. Browser tests turn it on with
//!   [`MockServerBuilder::cors`] (`--cors` on the binary).
//! - The control API answers only requests addressed to a loopback host (`Host:` 127.x,
//!   `[::1]` or `localhost`, against DNS rebinding) and, while CORS is off, refuses requests
//!   that carry an `Origin` (a page's cross-site form posts): 403.
//! - **Recordings hold no secret**: `client_secret` becomes [`REDACTED`] in the raw body,
//!   the parsed form, the query string and the control API's JSON; `Authorization` keeps
//!   only its scheme and, on API calls, which issued token it carried (`Bearer [token 0]`).
//!   The mock validates the real values, so a wrongly encoded secret still gets a 401: test
//!   the encoding through the answer, not through the recording.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer, REDACTED};
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
//! // …that the API accepts.
//! let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
//! let mut response = agent
//!     .get(server.api_url("/v1/accounts/A00000001"))
//!     .header("Authorization", &bearer)
//!     .call()?;
//! assert_eq!(response.status(), 200);
//! let account: serde_json::Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
//! assert_eq!(account["basicInfo"]["accountNumber"], "A00000001");
//!
//! // Script the next answer: Zuora's gateway is overloaded.
//! server.push_fault(Fault::html_error(502));
//! let mut response = agent.post(server.token_url()).send_form(form)?;
//! assert_eq!(response.status(), 502);
//! assert!(response.body_mut().read_to_string()?.contains("Bad Gateway"));
//!
//! // Inspect what the client sent (secrets redacted).
//! assert_eq!(server.token_request_count(), 2);
//! let first = &server.requests()[0];
//! assert_eq!(first.form_value("grant_type"), Some("client_credentials"));
//! assert_eq!(first.form_value("client_secret"), Some(REDACTED));
//! assert_eq!(first.status, Some(200));
//! assert_eq!(server.api_requests()[0].header("authorization"), Some("Bearer [token 0]"));
//!
//! // Revoked tokens are refused.
//! server.revoke_all_tokens();
//! let response = agent.get(server.protected_url()).header("Authorization", &bearer).call()?;
//! assert_eq!(response.status(), 401);
//! # Ok(())
//! # }
//! ```
//!
//! # The API
//!
//! Base URL: [`MockServer::base_url`] (Zuora's REST base URL; the token URL is
//! `{base}/oauth/token`); [`MockServer::api_url`] joins a path to it. Every route wants
//! `Authorization: Bearer <token>` with a live token this mock issued; without one the
//! answer is Zuora's 401 with `WWW-Authenticate: Bearer …`:
//! `{"success":false,"reasons":[{"code":90000011,"message":"this resource is protected, please sign in first"}]}`.
//! A token issued for an entity ([`IssuedToken::entity_id`]: the one the token request
//! named in `Zuora-Entity-Ids`, else the tenant's default) may leave `Zuora-Entity-Ids` out;
//! a call that sends another entity gets 403
//! `{"success":false,"reasons":[{"code":90000010,"message":"The entity in the Zuora-Entity-Ids header is not granted to this token"}]}`.
//!
//! | Route | Answer |
//! |---|---|
//! | `GET /v1/catalog/products` | `{"products":[],"success":true}` |
//! | `GET /v1/accounts/{key}` | the account by number or ID, in the shape of Zuora's "Retrieve an account" (`basicInfo`, `billingAndPayment`, `metrics`, `billToContact`, `soldToContact`, `"success":true`); [`SEEDED_ACCOUNTS`] exist from the start. Unknown: 404 `{"success":false,"reasons":[{"code":50000040,"message":"Cannot find entity by key: 'A9'."}]}` |
//! | `POST /v1/accounts` | a JSON object with at least a non-empty `name` (optional: `currency`, `billCycleDay` 1–31, `billToContact`, `soldToContact`, `paymentTerm`, `autoPay`, `batch`, `notes`, `crmId`) → `{"success":true,"accountId":"<32 hex>","accountNumber":"A00000003","billToContactId":..,"soldToContactId":..}`; the account can then be read. Refused: 400 with `reasons` code 50000022 (missing `name`), 50000020 (invalid value) or 50000090 (not JSON) |
//! | any other `/v1/…` | 404 `{"message":"no Route matched with those values"}` |
//!
//! Checks run in this order: route (404), method (405, `reasons` code 90000045, `Allow`),
//! bearer (401), entity (403). Error codes follow Zuora's scheme (the last two digits are
//! the category: 10 permission, 11 authentication, 20 invalid value, 22 missing value, 40 not
//! found, 45 unsupported, 90 malformed); the resource part of the account codes is the
//! mock's own. The mock answers errors with their HTTP status; some Zuora tenants answer
//! 200 with `"success":false`, so check `success` in your code too. API faults
//! ([`FaultRule::on_api`]) script 429s (with `Retry-After`, `RateLimit-*` and
//! `X-RateLimit-*` headers showing nothing left of [`API_RATE_LIMIT_PER_MINUTE`]), 5xx,
//! delays and dropped connections. The API is not rate limited otherwise.
//!
//! # Faults
//!
//! [`Fault`] lists them all, with their JSON form; [`FaultRule`] scopes one. Faults that
//! **replace** the answer skip validation (and, on the API, the bearer check); faults that
//! **alter** the normal answer (delay, stall, cut, wrong content type, token fields) apply
//! after it. A request that takes a fault is still recorded and still counts against the
//! rate limit; CORS preflights never take one. A request takes the oldest queued rule that
//! matches it: same target (token endpoint or API), and the rule names its client or none
//! (on the API, the client is the one the bearer token was issued to).
//!
//! ```
//! # use zuora_oauth_testkit::{DEMO_CLIENT_ID, Fault, FaultRule, MockServer};
//! # let server = MockServer::start().unwrap();
//! server.push_fault(Fault::empty(503)); // the next token request, any client
//! server.push_rule(FaultRule::new(Fault::empty(503)).for_client(DEMO_CLIENT_ID).times(2));
//! server.push_rule(FaultRule::new(Fault::html_error(502)).on_api().always());
//! assert_eq!(server.clear_faults(), 3);
//! ```
//!
//! # Control API
//!
//! Every route answers JSON and takes JSON bodies. Control requests are not recorded, take no
//! fault and do not count against the rate limit. They must be addressed to a loopback host
//! and, unless CORS is on, carry no `Origin` (else 403).
//!
//! | Route | Body | Answer |
//! |---|---|---|
//! | `POST /__mock/faults` | a fault rule or an array of them: a [`Fault`]'s JSON, e.g. `{"kind":"reset_connection"}`, plus optional `"target":"token"\|"api"` (default `token`), `"client_id":"…"` (default: any client) and `"times":3` or `"times":"always"` (default 1) | `{"queued":1,"pending":1}` |
//! | `GET /__mock/faults` | | `{"pending":[<rule>…]}` (defaults left out, `times` is what is left) |
//! | `DELETE /__mock/faults` | | `{"cleared":n}` (`always` rules included) |
//! | `GET /__mock/requests` | | `{"token_request_count":n,"api_request_count":m,"protected_request_count":m,"requests":[{"kind":"token"\|"api","method","path","headers":[[name,value]…],"body","form":[[name,value]…]\|null,"client_id"\|null,"token_index"\|null,"status"\|null,"fault"\|null,"peer","received_at"}…]}`, secrets redacted; `?kind=token` or `?kind=api` keeps one kind |
//! | `GET /__mock/tokens` | | `{"tokens":[{"access_token","jti","client_id","entity_id","entity_requested","issued_at","expires_at","revoked","live"}…]}` (times in Unix seconds) |
//! | `GET /__mock/info` | | URLs (`base_url`, `token_url`, `protected_url`, `api_base_url`), demo credentials, lifetime, rate limits, entity, tenant, seeded `accounts`, `cors` |
//! | `POST /__mock/reset` | | `{"ok":true}`: like [`MockServer::reset`] |
//! | `POST /__mock/revoke` | none, or `{"access_token":"…"}` | `{"ok":true,"revoked":n}`: like [`MockServer::revoke_all_tokens`], or [`MockServer::revoke_token`] (404 for a token it did not issue) |
//! | `POST /__mock/expire` | | `{"ok":true}`: like [`MockServer::expire_all_tokens`] |
//! | `POST /__mock/lifetime` | `{"seconds":1.5}` or `1.5` | `{"ok":true,"seconds":1.5}` |
//! | `POST /__mock/clients` | `{"client_id":"…","client_secret":"…"}` | `{"ok":true}` |
//!
//! Errors are `{"error":"…"}` with 400 (bad body), 403 (refused), 404 (unknown route) or 405.
//!
//! ```
//! # use zuora_oauth_testkit::MockServer;
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = MockServer::start()?;
//! let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
//! let response = agent
//!     .post(format!("{}/__mock/faults", server.base_url()))
//!     .content_type("application/json")
//!     .send(r#"[{"kind":"delay_headers","delay_ms":10},{"kind":"respond","status":503,"target":"api","times":"always"}]"#)?;
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
//! on stdout is its base URL, printed once the signal handlers are in place (a parent may
//! send SIGTERM as soon as it has read it):
//!
//! ```text
//! $ zuora-mock-server --port 8080 --lifetime 30 --client 0123456789abcdef0123456789abcdef0123:s3cret
//! http://127.0.0.1:8080
//! ```
//!
//! Options: `--bind IP` (`127.0.0.1` by default, another `127.x.y.z` or `::1`; anything else
//! is a usage error), `--port P` (default 0, ephemeral), `--cors` (answer CORS, for browser
//! tests), `--lifetime SECS` (default 3599, fractions allowed), `--rate-limit N` (default
//! 100; 0 turns it off), `--client ID:SECRET` (repeatable), `--without-demo-client`,
//! `--exit-on-stdin-close`.
//!
//! # Out of scope
//!
//! HTTP/2, and the rest of Zuora's API. Only loopback addresses are served.
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
