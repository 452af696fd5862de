//! wasm32 transport for [`zuora-oauth`](https://docs.rs/zuora-oauth): sends the core's token
//! request with the JavaScript runtime's **global `fetch`** and keeps a token fresh for any
//! number of concurrent futures, on `wasm32-unknown-unknown` with
//! [wasm-bindgen](https://docs.rs/wasm-bindgen).
//!
//! - [`FetchTransport`] sends one request: redirects not followed (`redirect: "manual"`),
//!   every status returned as a response with all its readable headers, a timeout through an
//!   `AbortController` (30 s) and a body cap (64 KiB).
//! - [`TokenSource`] is the driver's token source (`zuora-oauth-driver`) on this
//!   transport: cached hits without any JS call but the clock, one request however many
//!   futures ask at once, sent in a task spawned with `spawn_local` (a dropped future never
//!   cancels it), refresh-ahead, backoff. It is not `Send`: wasm32 without threads runs one
//!   event loop.
//! - [`AuthorizedFetch`] sends your Zuora API calls with the same global `fetch`, carrying
//!   that source's token, with the driver's 401 rule: on a 401 the token is invalidated, one
//!   new token comes through the single flight and the call is sent again once (its body is
//!   bytes, always replayable); the answer says so in its extensions ([`Replayed`]).
//!
//! The Zuora rules (form fields, endpoint path, status classification) all live in
//! [`zuora_oauth_core`]; this crate only moves bytes and waits.
//!
//! # Where it runs
//!
//! It calls the global `fetch` and `setTimeout` (never `window`), and reads the clock from
//! `performance.now()` (or `Date.now()` where there is no `performance`), so the same module
//! works in:
//!
//! - **Node 18+** (undici's `fetch`): server-side code, CLIs, tests;
//! - **worker-style runtimes**: Deno, Cloudflare Workers and other edge functions,
//!   service workers, dedicated and shared workers;
//! - **a web page**, when the token endpoint is reachable from it — in practice a
//!   same-origin proxy of your own (see the warnings below).
//!
//! On other targets the crate compiles to these docs and the two constants, so that a
//! workspace containing it still builds, lints and documents on the host; the API itself is
//! `wasm32`-only.
//!
//! # Warnings
//!
//! - **Never ship a client secret to end users' browsers.** Anything compiled into a page or
//!   sent to it can be read by whoever loads it; a Zuora OAuth client secret there is a
//!   secret given away, with all of that client's API permissions. Fetch tokens in a place
//!   you control (a server, a worker, an edge function) and hand the browser only what it
//!   needs, or put a same-origin proxy in front of Zuora that adds the credentials itself.
//! - **CORS.** Zuora's token endpoint is not known to send CORS headers, so a page on
//!   another origin calling it directly gets a `TypeError` from `fetch` (reported as
//!   [`TransportErrorKind::NetworkOrCors`]: the browser does not say which of the two it
//!   was). Non-browser runtimes (Node, Deno, edge workers) do not apply CORS. Through a
//!   proxy, note that a browser only lets the code read response headers that are
//!   CORS-safelisted or listed in `Access-Control-Expose-Headers`; expose
//!   `Zuora-Request-Id`, `Zuora-Track-Id`, `Retry-After` and the rate-limit headers if the
//!   proxy is cross-origin.
//! - **Redirects** are never followed on the token call. Node and edge runtimes return the
//!   3xx response, which the core reports as an unexpected redirect; browsers hide it (an
//!   "opaque-redirect" response with status 0), which this crate hands to the core as a bare
//!   `302`: the same permanent error as on native, without the target.
//!
//! # Example
//!
//! ```no_run
//! # #[cfg(target_arch = "wasm32")]
//! # mod demo {
//! use wasm_bindgen::prelude::*;
//! use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
//! use zuora_oauth_wasm::TokenSource;
//!
//! // In a worker or on Node: the credentials come from the environment, never from a page.
//! #[wasm_bindgen]
//! pub async fn bearer(client_id: String, client_secret: String) -> Result<String, JsError> {
//!     let source = TokenSource::new(TokenRequest::new(
//!         Environment::Sbx,
//!         ClientId::new(client_id)?,
//!         ClientSecret::new(client_secret)?,
//!     ));
//!     // Keep `source` around (it is cheap to clone): later calls get the cached token,
//!     // and concurrent calls share one request.
//!     let token = source.token().await?;
//!     Ok(token.access_token().secret().to_owned())
//! }
//! # }
//! # fn main() {}
//! ```
//!
//! [`TransportErrorKind::NetworkOrCors`]: zuora_oauth_core::TransportErrorKind::NetworkOrCors
//!
//! # Features
//!
//! - `tracing`: a span per token request, refresh-ahead at DEBUG,
//!   plus the core's lifecycle events (status, `Zuora-Request-Id`, failures, backoff). Off
//!   by default; never a secret. Install a subscriber that works on wasm32 (one that
//!   writes to the console, say) to see them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Off wasm32 these modules are only documented: rustdoc does not type-check function
// bodies, which hold JavaScript futures that are not `Send` (as the host's `Runtime` wants).
#[cfg(any(target_arch = "wasm32", doc))]
mod api;
#[cfg(any(target_arch = "wasm32", doc))]
mod js;
#[cfg(any(target_arch = "wasm32", doc))]
mod source;
#[cfg(any(target_arch = "wasm32", doc))]
mod transport;

#[cfg(any(target_arch = "wasm32", doc))]
pub use api::{AuthorizedFetch, DEFAULT_API_MAX_BODY};
#[cfg(any(target_arch = "wasm32", doc))]
pub use source::{TokenSource, TokenSourceBuilder};
#[cfg(any(target_arch = "wasm32", doc))]
pub use transport::FetchTransport;
#[cfg(any(target_arch = "wasm32", doc))]
pub use zuora_oauth_driver::replay::{
    ApiError, ApiOptions, NotRetried, NotRetriedReason, Replayed,
};

pub use zuora_oauth_driver::{DEFAULT_MAX_BODY, DEFAULT_TIMEOUT, Limits};
