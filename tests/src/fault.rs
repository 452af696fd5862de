//! Scripted faults: what the next token request gets instead of (or on top of) a normal answer.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Default size of [`Fault::OversizedBody`]: 1 MiB.
pub const DEFAULT_OVERSIZED_BYTES: usize = 1024 * 1024;

/// Default `Location` of [`Fault::Redirect`]: another loopback host, on a port nothing listens
/// on, so a client that wrongly follows the redirect fails fast and never reaches a real host.
pub const DEFAULT_REDIRECT_LOCATION: &str = "http://127.0.0.2:1/oauth/token";

/// A scripted misbehaviour, consumed by exactly one later request to `/oauth/token`.
///
/// Faults wait in a FIFO queue ([`MockServer::push_fault`](crate::MockServer::push_fault), or
/// `POST /__mock/faults` over HTTP). Each request to `/oauth/token` other than a CORS preflight
/// takes the oldest fault, if any. It is still recorded and still counts against the rate limit.
///
/// Two families:
/// - faults that **replace** the answer skip all validation: [`Respond`](Fault::Respond),
///   [`RateLimited`](Fault::RateLimited), [`RateLimitReset`](Fault::RateLimitReset),
///   [`CloseConnection`](Fault::CloseConnection),
///   [`ResetConnection`](Fault::ResetConnection), [`OversizedBody`](Fault::OversizedBody),
///   [`Redirect`](Fault::Redirect), [`MalformedJson`](Fault::MalformedJson);
/// - faults that **alter** the normal answer run the request through the usual validation
///   first: [`DelayHeaders`](Fault::DelayHeaders), [`StallBody`](Fault::StallBody) and
///   [`CloseMidBody`](Fault::CloseMidBody) apply to whatever the answer is (a token or an
///   error), [`WrongContentType`](Fault::WrongContentType) and
///   [`TokenFields`](Fault::TokenFields) change only a successful answer.
///
/// # JSON
///
/// The enum is internally tagged by `kind` (snake case), durations are milliseconds, so that
/// the control API can take faults from JavaScript:
///
/// ```
/// use std::time::Duration;
/// use zuora_oauth_testkit::{Fault, RetryAfter};
///
/// let fault: Fault = serde_json::from_str(r#"{"kind":"delay_headers","delay_ms":150}"#).unwrap();
/// assert_eq!(fault, Fault::delay_headers(Duration::from_millis(150)));
///
/// let fault: Fault = serde_json::from_str(r#"{"kind":"rate_limited","retry_after":{"seconds":2}}"#).unwrap();
/// assert_eq!(fault, Fault::rate_limited(RetryAfter::Seconds(2)));
///
/// assert_eq!(
///     serde_json::to_string(&Fault::ResetConnection).unwrap(),
///     r#"{"kind":"reset_connection"}"#,
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fault {
    /// Answer with exactly this status, these headers and this body. The mock still adds its
    /// usual headers (`Zuora-Request-Id`, `Date`, rate limits, CORS) unless `headers` names them.
    ///
    /// JSON: `{"kind":"respond","status":503,"headers":{"Content-Type":"text/plain"},"body":"down"}`
    /// (`headers` may also be a list of `[name, value]` pairs; both it and `body` are optional).
    Respond {
        /// HTTP status code.
        status: u16,
        /// Response headers, in order.
        #[serde(default, deserialize_with = "de_headers")]
        headers: Vec<(String, String)>,
        /// Response body.
        #[serde(default)]
        body: String,
    },
    /// 429 with Zuora's gateway body `{"message":"API rate limit exceeded"}`, rate-limit headers
    /// showing nothing remaining, and the given `Retry-After`.
    ///
    /// JSON: `{"kind":"rate_limited","retry_after":{"seconds":2}}`,
    /// `{"retry_after":{"http_date_in":2}}` or `{"retry_after":"absent"}`; default 1 second.
    RateLimited {
        /// The `Retry-After` header to send.
        #[serde(default)]
        retry_after: RetryAfter,
    },
    /// 429 as Zuora's rate-limit guide documents it: the gateway body
    /// `{"message":"API rate limit exceeded"}` and only the `RateLimit-*` headers —
    /// `RateLimit-Limit` (the endpoint's limit and its 60 s window), `RateLimit-Remaining: 0`
    /// and `RateLimit-Reset: <reset_secs>` — with no `Retry-After` and no older-generation
    /// `X-RateLimit-*` headers.
    ///
    /// JSON: `{"kind":"rate_limit_reset","reset_secs":40}`.
    RateLimitReset {
        /// The `RateLimit-Reset` header to send: seconds until the quota resets.
        reset_secs: u64,
    },
    /// Wait this long before sending the response headers, then answer normally.
    ///
    /// JSON: `{"kind":"delay_headers","delay_ms":200}`.
    DelayHeaders {
        /// How long to wait.
        #[serde(rename = "delay_ms", with = "millis")]
        delay: Duration,
    },
    /// Send the headers (with the full `Content-Length`) and the first `sent_bytes` of the
    /// normal answer's body, wait `stall`, then send the rest or close the connection.
    ///
    /// JSON: `{"kind":"stall_body","stall_ms":300,"sent_bytes":10,"then":"finish"}`
    /// (`sent_bytes` defaults to half the body, `then` to `"finish"`; or `"close"`).
    StallBody {
        /// How many body bytes to send before stalling (default: half the body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_bytes: Option<usize>,
        /// How long to stall.
        #[serde(rename = "stall_ms", with = "millis")]
        stall: Duration,
        /// What happens after the stall.
        #[serde(default)]
        then: StallEnd,
    },
    /// Close the connection (TCP FIN) without sending any response.
    ///
    /// JSON: `{"kind":"close_connection"}`.
    CloseConnection,
    /// Reset the connection (TCP RST, `SO_LINGER` 0) without sending any response.
    ///
    /// JSON: `{"kind":"reset_connection"}`.
    ResetConnection,
    /// Send the headers with the full `Content-Length` of the normal answer but only its first
    /// `sent_bytes` body bytes, then close the connection.
    ///
    /// JSON: `{"kind":"close_mid_body","sent_bytes":10}` (`sent_bytes` defaults to half).
    CloseMidBody {
        /// How many body bytes to send before closing (default: half the body).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sent_bytes: Option<usize>,
    },
    /// 200 `application/json` with a body of exactly `bytes` bytes.
    ///
    /// JSON: `{"kind":"oversized_body","bytes":1048576,"fill":"valid_json","chunked":false}`
    /// (all fields optional: 1 MiB, `valid_json`, `false`).
    OversizedBody {
        /// Body size in bytes (default [`DEFAULT_OVERSIZED_BYTES`]).
        #[serde(default = "default_oversized_bytes")]
        bytes: usize,
        /// What the body is made of.
        #[serde(default)]
        fill: OversizedFill,
        /// Send it with chunked transfer encoding instead of a `Content-Length`, so that a
        /// client must cap the size while reading.
        #[serde(default)]
        chunked: bool,
    },
    /// A redirect that a good token client never follows.
    ///
    /// JSON: `{"kind":"redirect","status":302,"location":"http://127.0.0.2:1/oauth/token"}`
    /// (both optional: 302 and [`DEFAULT_REDIRECT_LOCATION`]).
    Redirect {
        /// Status code (301, 302, 303, 307 or 308).
        #[serde(default = "default_redirect_status")]
        status: u16,
        /// The `Location` header.
        #[serde(default = "default_redirect_location")]
        location: String,
    },
    /// 200 `application/json;charset=utf-8` whose body is cut-off JSON.
    ///
    /// JSON: `{"kind":"malformed_json"}`.
    MalformedJson,
    /// A normal successful answer (a live token is issued) sent as `text/plain;charset=utf-8`.
    ///
    /// JSON: `{"kind":"wrong_content_type"}`.
    WrongContentType,
    /// A normal successful answer with some fields of the token JSON changed, for testing
    /// the client's parser. The token is issued and live whatever `expires_in` says (its real
    /// lifetime is the server's).
    ///
    /// JSON: `{"kind":"token_fields","expires_in":"3599"}`,
    /// `{"kind":"token_fields","token_type":"mac"}`,
    /// `{"kind":"token_fields","omit":["access_token"]}`.
    TokenFields(TokenFields),
}

/// The `Retry-After` header of [`Fault::RateLimited`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetryAfter {
    /// `Retry-After: <seconds>`. JSON: `{"seconds":2}`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this many seconds after the response is made.
    /// JSON: `{"http_date_in":2}`.
    HttpDateIn(u64),
    /// No `Retry-After` header. JSON: `"absent"`.
    Absent,
}

impl Default for RetryAfter {
    fn default() -> Self {
        Self::Seconds(1)
    }
}

/// What [`Fault::StallBody`] does after the stall.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StallEnd {
    /// Send the rest of the body: the answer completes, late. JSON: `"finish"`.
    #[default]
    Finish,
    /// Close the connection without sending the rest. JSON: `"close"`.
    Close,
}

/// What the body of [`Fault::OversizedBody`] is made of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OversizedFill {
    /// A complete, valid token JSON object padded with a long `"padding"` string field, so
    /// only a size cap (not the parser) can reject it. JSON: `"valid_json"`.
    #[default]
    ValidJson,
    /// `{"padding":"xxxx…`: a JSON prefix that never ends. JSON: `"padding"`.
    Padding,
}

/// Changes to the token JSON, for [`Fault::TokenFields`]. Build it with the `Fault`
/// constructors ([`Fault::expires_in`], [`Fault::token_type`], [`Fault::omit_field`]) or
/// with the methods below.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenFields {
    /// Raw JSON to send as `expires_in` instead of the integer number of seconds:
    /// `0`, `-5`, `1e12`, `"3599"`, `3599.5`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<serde_json::Value>,
    /// `token_type` to send instead of `bearer`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// Names of fields to leave out (`access_token`, `expires_in`, `jti`, `scope`,
    /// `token_type`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub omit: Vec<String>,
    /// `jti` to send instead of the issued token's (a server echoing something into it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// `scope` to send instead of the issued token's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// Headers added to the answer, in order; they replace the mock's usual ones of the
    /// same name (`Zuora-Request-Id`, `Date`, the rate limits…).
    #[serde(
        default,
        deserialize_with = "de_headers",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub headers: Vec<(String, String)>,
}

impl TokenFields {
    /// Sends `value` as `expires_in`.
    pub fn with_expires_in(mut self, value: serde_json::Value) -> Self {
        self.expires_in = Some(value);
        self
    }

    /// Sends `token_type` instead of `bearer`.
    pub fn with_token_type(mut self, token_type: impl Into<String>) -> Self {
        self.token_type = Some(token_type.into());
        self
    }

    /// Leaves the field `name` out.
    pub fn without(mut self, name: impl Into<String>) -> Self {
        self.omit.push(name.into());
        self
    }

    /// Sends `jti` instead of the issued token's.
    pub fn with_jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }

    /// Sends `scope` instead of the issued token's.
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Adds the header `name: value` to the answer (replacing the mock's own of that name).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

impl Fault {
    /// [`Fault::Respond`] with any status, headers and body.
    pub fn respond<K, V>(
        status: u16,
        headers: impl IntoIterator<Item = (K, V)>,
        body: impl Into<String>,
    ) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Fault::Respond {
            status,
            headers: headers
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            body: body.into(),
        }
    }

    /// A JSON error answer (`application/json;charset=utf-8`) with this body.
    pub fn json(status: u16, body: &serde_json::Value) -> Self {
        Self::respond(
            status,
            [("Content-Type", crate::JSON_CONTENT_TYPE)],
            body.to_string(),
        )
    }

    /// The OAuth error shape: `{"error":"invalid_client","error_description":"Bad client credentials"}`.
    /// A 401 also gets a `WWW-Authenticate` header.
    pub fn oauth_error(status: u16, error: &str, description: &str) -> Self {
        let mut fault = Self::json(
            status,
            &serde_json::json!({"error": error, "error_description": description}),
        );
        if let (401, Fault::Respond { headers, .. }) = (status, &mut fault) {
            headers.push((
                "WWW-Authenticate".into(),
                format!(r#"Bearer error="{error}", error_description="{description}""#),
            ));
        }
        fault
    }

    /// The gateway error shape: `{"message":"Authentication error"}`.
    pub fn message_error(status: u16, message: &str) -> Self {
        Self::json(status, &serde_json::json!({ "message": message }))
    }

    /// The Zuora v1 error shape: `{"success":false,"reasons":[{"code":..,"message":".."}]}`.
    pub fn reasons_error(status: u16, code: u64, message: &str) -> Self {
        Self::json(
            status,
            &serde_json::json!({
                "success": false,
                "reasons": [{ "code": code, "message": message }],
            }),
        )
    }

    /// A proxy's HTML error page, `text/html`:
    /// `<html><body><h1>502 Bad Gateway</h1></body></html>`.
    pub fn html_error(status: u16) -> Self {
        let reason = hyper::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Error");
        Self::respond(
            status,
            [("Content-Type", "text/html")],
            format!("<html><body><h1>{status} {reason}</h1></body></html>"),
        )
    }

    /// An answer with this status and an empty body.
    pub fn empty(status: u16) -> Self {
        Self::respond(status, Vec::<(String, String)>::new(), "")
    }

    /// [`Fault::RateLimited`].
    pub fn rate_limited(retry_after: RetryAfter) -> Self {
        Fault::RateLimited { retry_after }
    }

    /// [`Fault::RateLimitReset`]: a 429 whose only wait is `RateLimit-Reset: <reset_secs>`.
    pub fn rate_limit_reset(reset_secs: u64) -> Self {
        Fault::RateLimitReset { reset_secs }
    }

    /// [`Fault::DelayHeaders`].
    pub fn delay_headers(delay: Duration) -> Self {
        Fault::DelayHeaders { delay }
    }

    /// [`Fault::StallBody`] that stalls after half the body.
    pub fn stall_body(stall: Duration, then: StallEnd) -> Self {
        Fault::StallBody {
            sent_bytes: None,
            stall,
            then,
        }
    }

    /// [`Fault::CloseMidBody`] after half the body.
    pub fn close_mid_body() -> Self {
        Fault::CloseMidBody { sent_bytes: None }
    }

    /// [`Fault::OversizedBody`]: valid JSON of `bytes` bytes with a `Content-Length`.
    pub fn oversized_body(bytes: usize) -> Self {
        Fault::OversizedBody {
            bytes,
            fill: OversizedFill::ValidJson,
            chunked: false,
        }
    }

    /// [`Fault::Redirect`]: 302 to [`DEFAULT_REDIRECT_LOCATION`].
    pub fn redirect() -> Self {
        Fault::Redirect {
            status: default_redirect_status(),
            location: default_redirect_location(),
        }
    }

    /// [`Fault::TokenFields`] sending `value` as `expires_in`
    /// (e.g. `json!(0)`, `json!(-1)`, `json!(1e12)`, `json!("3599")`, `json!(3599.5)`).
    pub fn expires_in(value: serde_json::Value) -> Self {
        Fault::TokenFields(TokenFields::default().with_expires_in(value))
    }

    /// [`Fault::TokenFields`] sending `token_type` instead of `bearer`.
    pub fn token_type(token_type: impl Into<String>) -> Self {
        Fault::TokenFields(TokenFields::default().with_token_type(token_type))
    }

    /// [`Fault::TokenFields`] leaving the field `name` out (e.g. `"access_token"`).
    pub fn omit_field(name: impl Into<String>) -> Self {
        Fault::TokenFields(TokenFields::default().without(name))
    }

    /// The `kind` tag of this fault, as in its JSON form (`"reset_connection"`…).
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Respond { .. } => "respond",
            Fault::RateLimited { .. } => "rate_limited",
            Fault::RateLimitReset { .. } => "rate_limit_reset",
            Fault::DelayHeaders { .. } => "delay_headers",
            Fault::StallBody { .. } => "stall_body",
            Fault::CloseConnection => "close_connection",
            Fault::ResetConnection => "reset_connection",
            Fault::CloseMidBody { .. } => "close_mid_body",
            Fault::OversizedBody { .. } => "oversized_body",
            Fault::Redirect { .. } => "redirect",
            Fault::MalformedJson => "malformed_json",
            Fault::WrongContentType => "wrong_content_type",
            Fault::TokenFields(_) => "token_fields",
        }
    }
}

fn default_oversized_bytes() -> usize {
    DEFAULT_OVERSIZED_BYTES
}

fn default_redirect_status() -> u16 {
    302
}

fn default_redirect_location() -> String {
    DEFAULT_REDIRECT_LOCATION.to_owned()
}

fn de_headers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Headers {
        List(Vec<(String, String)>),
        Map(BTreeMap<String, String>),
    }
    Ok(match Headers::deserialize(d)? {
        Headers::List(list) => list,
        Headers::Map(map) => map.into_iter().collect(),
    })
}

/// `Duration` as a number of milliseconds (fractions allowed when reading).
mod millis {
    use super::*;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        let ms = d.as_secs_f64() * 1000.0;
        if ms.fract() == 0.0 && ms <= u64::MAX as f64 {
            s.serialize_u64(ms as u64)
        } else {
            s.serialize_f64(ms)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let ms = f64::deserialize(d)?;
        Duration::try_from_secs_f64(ms / 1000.0).map_err(serde::de::Error::custom)
    }
}
