//! Token health through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`):
//! token requests by outcome, their latency, the current token's expiry, 401 replays, store
//! calls and the waits Zuora asked for. The crate's README has the table of every metric,
//! its labels and when it is recorded ([Metrics](crate#metrics)).
//!
//! Installing a recorder (an exporter for Prometheus, OpenTelemetry, StatsD…) is the
//! application's job; without one, recording costs next to nothing. Call [`describe`]
//! once after installing it to give every metric its unit and help text.
//!
//! Every metric carries two labels: `environment`, the SDK name of the source's environment
//! (`prod-eu`) or `custom`, and `client`, a short key of the client ([`client_label`]):
//! never the client ID in clear, never the secret, never a token.
//!
//! Nothing is recorded on a cached hit: the metrics cost nothing on the hot path.
//!
//! Without the feature this module is private and every function in it compiles to nothing.

// The crate-internal half, written twice: the reporting one (feature `metrics`) and one
// that does nothing (without it), so that the call sites need no `cfg`.

#[cfg(feature = "metrics")]
pub use on::{
    API_REPLAYS, SERVER_WAIT_SECONDS, STORE_CALLS, TOKEN_EXPIRY, TOKEN_FETCH_SECONDS,
    TOKEN_REQUESTS, client_label, describe,
};
#[cfg(feature = "metrics")]
pub(crate) use on::{Labels, answered, invalidated, replayed, timed};
#[cfg(all(feature = "metrics", store))]
pub(crate) use on::{installed, store_answered, store_failed};

#[cfg(not(feature = "metrics"))]
pub(crate) use off::{Labels, answered, invalidated, replayed, timed};
#[cfg(all(not(feature = "metrics"), store))]
pub(crate) use off::{installed, store_answered, store_failed};

/// What a store call answered, as the `outcome` label of `zuora_oauth_store_calls_total`.
#[cfg(store)]
pub(crate) trait StoreAnswer {
    /// `hit`/`miss` for a load, `ok` for every other call that answered.
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn outcome(&self) -> &'static str;
}

#[cfg(store)]
impl StoreAnswer for Option<Vec<u8>> {
    fn outcome(&self) -> &'static str {
        if self.is_some() { "hit" } else { "miss" }
    }
}

#[cfg(store)]
impl StoreAnswer for bool {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

#[cfg(store)]
impl StoreAnswer for () {
    fn outcome(&self) -> &'static str {
        "ok"
    }
}

#[cfg(feature = "metrics")]
mod on {
    use std::time::SystemTime;

    use ::metrics::{
        Label, Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge,
        histogram,
    };
    use sha2::{Digest, Sha256};
    use zuora_oauth_core::{
        Error, Outcome, Timestamp, TokenHandle, TokenRequest, TransportErrorKind,
    };

    use crate::transport::TransportResult;
    use crate::{BoxFuture, Clock};

    /// Counter: token requests that reached Zuora and were answered (or failed below HTTP),
    /// by `outcome`: `success`, `rejected` (400, 401, 403), `rate_limited` (429),
    /// `server_error` (5xx), `unexpected` (any other answer that is not a token),
    /// `transport` (no answer: connect, DNS, TLS, reset, body too large), `timeout` (no
    /// answer within the exchange's timeout), `other` (kept for failures added later).
    pub const TOKEN_REQUESTS: &str = "zuora_oauth_token_requests_total";
    /// Histogram, seconds: how long a token request took, from sending it to its outcome
    /// (any outcome).
    pub const TOKEN_FETCH_SECONDS: &str = "zuora_oauth_token_fetch_seconds";
    /// Gauge, seconds since the Unix epoch: when the token the source hands out expires, as
    /// the wall clock had it when the token was installed; `0` once that token is
    /// invalidated. Alert on `zuora_oauth_token_expiry_timestamp_seconds - time()`.
    pub const TOKEN_EXPIRY: &str = "zuora_oauth_token_expiry_timestamp_seconds";
    /// Counter: API calls sent again with a new token after the API answered 401.
    pub const API_REPLAYS: &str = "zuora_oauth_api_replays_total";
    /// Counter: calls to the shared store, by `call` (`load`, `try_lease`, `save`,
    /// `release`, `delete_if`) and `outcome` (`hit` and `miss` for a load, `ok` for the
    /// others; `unavailable`, `timeout` or `error` for a call that failed).
    pub const STORE_CALLS: &str = "zuora_oauth_store_calls_total";
    /// Histogram, seconds: the wait a failed token request's answer asked for
    /// (`Retry-After`, else `RateLimit-Reset` on a 429 or when `RateLimit-Remaining` is 0:
    /// [`ResponseMeta::server_wait_from`](zuora_oauth_core::ResponseMeta::server_wait_from)),
    /// as Zuora stated it: before the source's cap and jitter.
    pub const SERVER_WAIT_SECONDS: &str = "zuora_oauth_server_wait_seconds";

    /// Gives every metric of this crate its unit and help text, in the recorder installed
    /// now (call it once, after installing yours).
    pub fn describe() {
        describe_counter!(
            TOKEN_REQUESTS,
            Unit::Count,
            "Zuora token requests, by outcome"
        );
        describe_histogram!(
            TOKEN_FETCH_SECONDS,
            Unit::Seconds,
            "Time from sending a Zuora token request to its outcome"
        );
        describe_gauge!(
            TOKEN_EXPIRY,
            Unit::Seconds,
            "When the current Zuora token expires (Unix time); 0 once it is invalidated"
        );
        describe_counter!(
            API_REPLAYS,
            Unit::Count,
            "Zuora API calls sent again with a new token after a 401"
        );
        describe_counter!(
            STORE_CALLS,
            Unit::Count,
            "Calls to the shared token store, by call and outcome"
        );
        describe_histogram!(
            SERVER_WAIT_SECONDS,
            Unit::Seconds,
            "Waits a failed Zuora token request's answer asked for (Retry-After, RateLimit-Reset)"
        );
    }

    /// The `client` label of `request`'s metrics: the first 8 hex digits of the SHA-256 of
    /// the client ID, followed, when the request carries an entity ID, by a line feed and
    /// the entity ID (hyphenated, lower case) — so that two sources of one client for two
    /// entities report apart. Short enough to read, too short to be worth reversing (and
    /// the client ID is no secret); the secret never enters it. To find yours:
    /// `printf '%s' "$CLIENT_ID" | sha256sum | cut -c1-8` (with an entity ID:
    /// `printf '%s\n%s' "$CLIENT_ID" "$ENTITY_ID" | …`).
    pub fn client_label(request: &TokenRequest) -> String {
        let mut hash = Sha256::new();
        hash.update(request.client_id().as_str());
        if let Some(entity) = request.entity_id() {
            hash.update(b"\n");
            hash.update(entity.as_str());
        }
        hash.finalize()[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The labels every metric of a source carries.
    #[derive(Clone)]
    pub(crate) struct Labels([Label; 2]);

    impl Labels {
        /// `request`'s labels: its environment and its client's key.
        pub(crate) fn of(request: &TokenRequest) -> Self {
            let environment = request.environment().name().unwrap_or("custom");
            Self([
                Label::new("environment", environment),
                Label::new("client", client_label(request)),
            ])
        }

        /// These labels and one more.
        fn and(&self, key: &'static str, value: &'static str) -> Vec<Label> {
            let mut labels = self.0.to_vec();
            labels.push(Label::new(key, value));
            labels
        }
    }

    /// A token request's outcome, reported to the lifecycle at `now` (`wall` on the wall
    /// clock): the request by outcome, the new token's expiry, the wait Zuora asked for.
    /// An outcome the lifecycle ignored (a request superseded) is not counted.
    pub(crate) fn answered(
        labels: &Labels,
        outcome: &Outcome<'_>,
        now: Timestamp,
        wall: SystemTime,
    ) {
        match outcome {
            Outcome::Token(handle) => {
                counter!(TOKEN_REQUESTS, labels.and("outcome", "success")).increment(1);
                installed(labels, handle, now, wall);
            }
            Outcome::Failed(error) => {
                counter!(TOKEN_REQUESTS, labels.and("outcome", outcome_of(error))).increment(1);
                // The core's rule: `Retry-After`, else `RateLimit-Reset` on a 429 or when
                // `RateLimit-Remaining` is 0; a date measured from the answer's `Date`,
                // else from `wall`.
                if let Some(wait) = error
                    .response()
                    .and_then(|r| r.meta().server_wait_from(wall))
                {
                    histogram!(SERVER_WAIT_SECONDS, labels.0.iter()).record(wait.as_secs_f64());
                }
            }
            Outcome::Ignored => {}
        }
    }

    /// A token installed at `now` (fetched, or taken from the shared store): its expiry.
    pub(crate) fn installed(
        labels: &Labels,
        handle: &TokenHandle,
        now: Timestamp,
        wall: SystemTime,
    ) {
        let expires = wall + handle.expires_at().saturating_duration_since(now);
        let secs = expires
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        gauge!(TOKEN_EXPIRY, labels.0.iter()).set(secs);
    }

    /// The current token of `request` was invalidated: no token to expire.
    pub(crate) fn invalidated(request: &TokenRequest) {
        gauge!(TOKEN_EXPIRY, Labels::of(request).0.iter()).set(0.0);
    }

    /// An API call is sent again after a 401.
    pub(crate) fn replayed(source: &crate::source::Source) {
        counter!(API_REPLAYS, source.labels().0.iter()).increment(1);
    }

    /// `send`, timed from its first poll to its outcome on `clock`.
    pub(crate) fn timed(
        labels: &Labels,
        clock: &Clock,
        send: BoxFuture<'static, TransportResult>,
    ) -> BoxFuture<'static, TransportResult> {
        let (labels, clock) = (labels.clone(), clock.clone());
        Box::pin(async move {
            let start = clock.now();
            let result = send.await;
            let took = clock.now().saturating_duration_since(start);
            histogram!(TOKEN_FETCH_SECONDS, labels.0.iter()).record(took.as_secs_f64());
            result
        })
    }

    /// A store call that answered.
    #[cfg(store)]
    pub(crate) fn store_answered(
        labels: &Labels,
        call: &'static str,
        answer: &impl super::StoreAnswer,
    ) {
        store_call(labels, call, answer.outcome());
    }

    /// A store call (or the seal before a save) that failed.
    #[cfg(store)]
    pub(crate) fn store_failed(
        labels: &Labels,
        call: &'static str,
        error: &crate::store::StoreError,
    ) {
        use crate::store::StoreErrorKind;
        let outcome = match error.kind() {
            StoreErrorKind::Unavailable => "unavailable",
            StoreErrorKind::Timeout => "timeout",
            _ => "error",
        };
        store_call(labels, call, outcome);
    }

    #[cfg(store)]
    fn store_call(labels: &Labels, call: &'static str, outcome: &'static str) {
        let mut labels = labels.and("call", call);
        labels.push(Label::new("outcome", outcome));
        counter!(STORE_CALLS, labels).increment(1);
    }

    /// The `outcome` label of a failed token request.
    fn outcome_of(error: &Error) -> &'static str {
        match error {
            Error::Rejected(_) => "rejected",
            Error::RateLimited(_) => "rate_limited",
            Error::Server(_) => "server_error",
            Error::UnexpectedResponse { .. } => "unexpected",
            Error::Transport(t) if t.kind() == TransportErrorKind::Timeout => "timeout",
            Error::Transport(_) => "transport",
            _ => "other",
        }
    }
}

/// Without the feature: the same functions, doing nothing.
#[cfg(not(feature = "metrics"))]
mod off {
    use std::time::SystemTime;

    use zuora_oauth_core::{Outcome, Timestamp, TokenRequest};

    use crate::transport::TransportResult;
    use crate::{BoxFuture, Clock};

    #[derive(Clone)]
    pub(crate) struct Labels;

    impl Labels {
        #[inline(always)]
        pub(crate) fn of(_: &TokenRequest) -> Self {
            Self
        }
    }

    #[inline(always)]
    pub(crate) fn answered(_: &Labels, _: &Outcome<'_>, _: Timestamp, _: SystemTime) {}

    #[cfg(store)]
    #[inline(always)]
    pub(crate) fn installed(
        _: &Labels,
        _: &zuora_oauth_core::TokenHandle,
        _: Timestamp,
        _: SystemTime,
    ) {
    }

    #[inline(always)]
    pub(crate) fn invalidated(_: &TokenRequest) {}

    #[inline(always)]
    pub(crate) fn replayed(_: &crate::source::Source) {}

    #[inline(always)]
    pub(crate) fn timed(
        _: &Labels,
        _: &Clock,
        send: BoxFuture<'static, TransportResult>,
    ) -> BoxFuture<'static, TransportResult> {
        send
    }

    #[cfg(store)]
    #[inline(always)]
    pub(crate) fn store_answered(_: &Labels, _: &'static str, _: &impl super::StoreAnswer) {}

    #[cfg(store)]
    #[inline(always)]
    pub(crate) fn store_failed(_: &Labels, _: &'static str, _: &crate::store::StoreError) {}
}
