//! The mock Zuora API under `/v1/`: a few routes that accept only live bearer tokens this
//! mock issued, with Zuora's error shapes, scripted faults and redacted recordings.

use std::time::SystemTime;

use bytes::Bytes;
use hyper::header;
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fault::{RetryAfter, TokenFields};
use crate::handler::{Answer, Plain, Req, ZUORA_ENTITY_IDS, not_found, path_and_query};
use crate::redact;
use crate::respond::{self, Endpoint, RateHeaders};
use crate::rules::FaultTarget;
use crate::state::{RecordedRequest, RequestKind, Shared};

pub(crate) const PREFIX: &str = "/v1/";
pub(crate) const PRODUCTS_PATH: &str = "/v1/catalog/products";
const ACCOUNTS_PATH: &str = "/v1/accounts";

/// The API rate limit shown on a scripted API 429 (`RateLimit-Limit`, `X-RateLimit-Limit-minute`).
pub const API_RATE_LIMIT_PER_MINUTE: u32 = 1000;

/// Zuora's error codes: a resource part, then the category in the last two digits
/// (10 permission denied, 11 authentication failed, 20 invalid value, 22 missing value,
/// 40 not found, 45 unsupported request, 90 malformed request).
mod code {
    pub(super) const UNAUTHENTICATED: u64 = 90000011;
    pub(super) const ENTITY_DENIED: u64 = 90000010;
    pub(super) const METHOD_NOT_ALLOWED: u64 = 90000045;
    pub(super) const ACCOUNT_NOT_FOUND: u64 = 50000040;
    pub(super) const ACCOUNT_INVALID: u64 = 50000020;
    pub(super) const ACCOUNT_MISSING: u64 = 50000022;
    pub(super) const MALFORMED: u64 = 50000090;
}

/// The routes served under `/v1/`.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Route {
    Products,
    Accounts,
    Account(String),
    Unknown,
}

impl Route {
    fn of(path: &str) -> Self {
        let path = path.trim_end_matches('/');
        if path == PRODUCTS_PATH {
            Route::Products
        } else if path == ACCOUNTS_PATH {
            Route::Accounts
        } else if let Some(key) = path.strip_prefix("/v1/accounts/")
            && !key.is_empty()
            && !key.contains('/')
        {
            Route::Account(key.to_owned())
        } else {
            Route::Unknown
        }
    }

    fn allowed(&self) -> &'static str {
        match self {
            Route::Products | Route::Account(_) => "GET, HEAD, OPTIONS",
            Route::Accounts => "POST, OPTIONS",
            Route::Unknown => "",
        }
    }
}

/// The bearer token of an `Authorization` header (scheme case-insensitive).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Counts, records (redacted) and answers one API call.
pub(crate) async fn handle(request: Req<'_>) -> Answer {
    let Req {
        shared,
        peer,
        parts,
        body,
    } = request;
    let (seq, fault) = {
        let mut st = shared.lock();
        st.api_requests += 1;
        let sent = bearer(parts);
        let (token_index, client_id) = match sent.and_then(|t| st.token(t)) {
            Some((i, t)) => (Some(i), Some(t.client_id.clone())),
            None => (None, None),
        };
        let fingerprint = match (sent, token_index) {
            (Some(_), Some(i)) => format!("[token {i}]"),
            (Some(_), None) => "[unknown token]".to_owned(),
            (None, _) => redact::REDACTED.to_owned(),
        };
        let fault = st.rules.take(FaultTarget::Api, client_id.as_deref());
        let seq = st.record(RecordedRequest {
            kind: RequestKind::Api,
            method: parts.method.to_string(),
            path: redact::path(&path_and_query(parts)),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes());
                    let recorded = redact::header(k.as_str(), &value, Some(&fingerprint));
                    (k.as_str().to_owned(), recorded)
                })
                .collect(),
            body: redact::body(&body),
            form: None,
            client_id,
            token_index,
            status: None,
            fault: fault.as_ref().map(|f| f.kind().to_owned()),
            peer,
            received_at: SystemTime::now(),
        });
        (seq, fault)
    };
    shared.arrived();
    let call = ApiCall {
        shared,
        parts,
        body: &body,
        route: Route::of(parts.uri.path()),
    };
    let mut answer = match fault {
        None => call.normal().into(),
        Some(fault) => respond::apply(&call, fault).await,
    };
    if let Answer::Http(response) = &mut answer {
        echo(parts, response.headers_mut());
    }
    shared.lock().set_status(seq, answer.status());
    answer
}

/// The API-call headers the mock sends back as they came (Zuora itself echoes only
/// `Zuora-Track-Id`), so that a test reads what its call carried from the answer.
pub(crate) const ECHOED_HEADERS: [&str; 3] =
    ["zuora-org-ids", "zuora-working-org", "zuora-version"];

/// Copies the [`ECHOED_HEADERS`] of the request to the answer (a scripted one keeps its own).
fn echo(parts: &Parts, headers: &mut header::HeaderMap) {
    for name in ECHOED_HEADERS {
        if let Some(value) = parts.headers.get(name) {
            headers.entry(name).or_insert(value.clone());
        }
    }
}

/// One API call being answered.
struct ApiCall<'a> {
    shared: &'a Shared,
    parts: &'a Parts,
    body: &'a Bytes,
    route: Route,
}

/// Zuora's answer to a call without a live bearer token.
fn unauthenticated() -> Plain {
    Plain::reasons(
        StatusCode::UNAUTHORIZED,
        code::UNAUTHENTICATED,
        "this resource is protected, please sign in first",
    )
    .with_header(
        header::WWW_AUTHENTICATE,
        r#"Bearer realm="Zuora", error="invalid_token""#,
    )
}

impl ApiCall<'_> {
    /// A live token, and an entity header (if any) naming the token's entity.
    #[allow(clippy::result_large_err)] // called once per request; boxing buys nothing
    fn authorize(&self) -> Result<(), Plain> {
        let st = self.shared.lock();
        let token = match bearer(self.parts).and_then(|t| st.token(t)) {
            Some((_, t)) if t.is_live() => t,
            _ => return Err(unauthenticated()),
        };
        if let Some(sent) = self.parts.headers.get(ZUORA_ENTITY_IDS) {
            let sent = String::from_utf8_lossy(sent.as_bytes());
            if !sent.trim().eq_ignore_ascii_case(&token.entity_id) {
                return Err(Plain::reasons(
                    StatusCode::FORBIDDEN,
                    code::ENTITY_DENIED,
                    "The entity in the Zuora-Entity-Ids header is not granted to this token",
                ));
            }
        }
        Ok(())
    }

    fn serve(&self) -> Plain {
        match &self.route {
            Route::Products => {
                Plain::json(StatusCode::OK, &json!({"products": [], "success": true}))
            }
            Route::Account(key) => match self.shared.lock().accounts.get(key) {
                Some(account) => Plain::json(StatusCode::OK, &account),
                None => Plain::reasons(
                    StatusCode::NOT_FOUND,
                    code::ACCOUNT_NOT_FOUND,
                    &format!("Cannot find entity by key: '{key}'."),
                ),
            },
            Route::Accounts => {
                let body = match serde_json::from_slice::<Value>(self.body) {
                    Ok(body) => body,
                    Err(e) => {
                        return Plain::reasons(
                            StatusCode::BAD_REQUEST,
                            code::MALFORMED,
                            &format!("Malformed JSON in the request body: {e}"),
                        );
                    }
                };
                match self.shared.lock().accounts.create(&body) {
                    Ok(created) => Plain::json(StatusCode::OK, &created),
                    Err(invalid) => Plain::reasons(
                        StatusCode::BAD_REQUEST,
                        if invalid.missing {
                            code::ACCOUNT_MISSING
                        } else {
                            code::ACCOUNT_INVALID
                        },
                        &invalid.message,
                    ),
                }
            }
            Route::Unknown => not_found(),
        }
    }
}

impl Endpoint for ApiCall<'_> {
    /// Unknown route 404, wrong method 405, then the bearer check, then the route.
    fn normal(&self) -> Plain {
        if self.route == Route::Unknown {
            return not_found();
        }
        let method = &self.parts.method;
        let method_ok = match self.route {
            Route::Accounts => method == Method::POST,
            _ => method == Method::GET || method == Method::HEAD,
        };
        if !method_ok {
            return Plain::reasons(
                StatusCode::METHOD_NOT_ALLOWED,
                code::METHOD_NOT_ALLOWED,
                &format!("Request method '{method}' is not supported on this resource"),
            )
            .with_header(header::ALLOW, self.route.allowed());
        }
        match self.authorize() {
            Ok(()) => self.serve(),
            Err(refused) => refused,
        }
    }

    /// The normal answer with another content type (token fields do not apply here).
    fn reshaped(&self, _fields: &TokenFields, content_type: &'static str) -> Plain {
        let mut plain = self.normal();
        if let Ok(v) = header::HeaderValue::from_str(content_type) {
            plain.headers.insert(header::CONTENT_TYPE, v);
        }
        plain
    }

    /// 429 with `Retry-After`, and rate-limit headers showing nothing left of
    /// [`API_RATE_LIMIT_PER_MINUTE`] until the retry time (60 s without one).
    fn rate_limited(&self, retry_after: &RetryAfter) -> Plain {
        let reset = match retry_after {
            RetryAfter::Seconds(s) | RetryAfter::HttpDateIn(s) => (*s).max(1),
            RetryAfter::Absent => 60,
        };
        respond::too_many_requests(
            retry_after,
            RateHeaders {
                limit: API_RATE_LIMIT_PER_MINUTE,
                remaining: 0,
                window: 60,
                reset,
            },
        )
    }

    fn limit(&self) -> u32 {
        API_RATE_LIMIT_PER_MINUTE
    }

    fn usual_headers(&self, _plain: &mut Plain) {}

    fn malformed_json(&self) -> String {
        r#"{"success":true,"basicInfo":{"id":"#.to_owned()
    }

    fn padded_json(&self) -> (String, String) {
        (
            r#"{"success":true,"padding":""#.to_owned(),
            r#""}"#.to_owned(),
        )
    }
}
