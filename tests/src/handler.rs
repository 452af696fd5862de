//! Request routing and the answers of the token, protected and fallback routes.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::{ScriptedBody, Step};
use crate::fault::{Fault, OversizedFill, RetryAfter, StallEnd, TokenFields};
use crate::state::{IssuedToken, RateInfo, RecordedRequest, Shared};
use crate::{JSON_CONTENT_TYPE, control, ids};

pub(crate) const TOKEN_PATH: &str = "/oauth/token";
pub(crate) const PROTECTED_PATH: &str = "/v1/catalog/products";
pub(crate) const CONTROL_PREFIX: &str = "/__mock/";

/// Largest request body the mock reads (the answer is 413 above it).
const MAX_REQUEST_BODY: usize = 1024 * 1024;

pub(crate) const ZUORA_REQUEST_ID: HeaderName = HeaderName::from_static("zuora-request-id");
pub(crate) const ZUORA_TRACK_ID: HeaderName = HeaderName::from_static("zuora-track-id");
pub(crate) const ZUORA_ENTITY_IDS: HeaderName = HeaderName::from_static("zuora-entity-ids");
const X_LIMIT_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-limit-minute");
const X_REMAINING_MINUTE: HeaderName = HeaderName::from_static("x-ratelimit-remaining-minute");
const RL_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
const RL_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
const RL_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// Headers a browser script may read (`Access-Control-Expose-Headers`).
pub(crate) const EXPOSED_HEADERS: &str = "Zuora-Request-Id, Zuora-Track-Id, Retry-After, \
     X-RateLimit-Limit-minute, X-RateLimit-Remaining-minute, RateLimit-Limit, \
     RateLimit-Remaining, RateLimit-Reset, WWW-Authenticate, Location, Date";
/// `Access-Control-Allow-Headers` when a preflight does not list any.
const DEFAULT_ALLOWED_HEADERS: &str =
    "Accept, Authorization, Content-Type, Zuora-Track-Id, Zuora-Entity-Ids";
const ALLOWED_METHODS: &str = "GET, POST, OPTIONS";
const PREFLIGHT_MAX_AGE: &str = "600";

/// Per-connection switches the handler flips for the connection-level faults.
#[derive(Debug, Default)]
pub(crate) struct ConnCtl {
    /// Close the socket with RST (`SO_LINGER` 0) instead of FIN when it is dropped.
    pub(crate) reset: AtomicBool,
}

/// A response whose body is known in full.
#[derive(Debug)]
pub(crate) struct Plain {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Plain {
    pub(crate) fn new(
        status: StatusCode,
        content_type: &'static str,
        body: impl Into<Bytes>,
    ) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        Self {
            status,
            headers,
            body: body.into(),
        }
    }

    pub(crate) fn json(status: StatusCode, value: &Value) -> Self {
        Self::new(status, JSON_CONTENT_TYPE, value.to_string())
    }

    fn oauth_error(status: StatusCode, error: &str, description: &str) -> Self {
        Self::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(name, v);
        }
        self
    }

    fn into_response(self) -> Response<ScriptedBody> {
        let mut r = Response::new(ScriptedBody::full(self.body));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }
}

/// What the mock does with a request.
enum Answer {
    Http(Response<ScriptedBody>),
    /// Drop the connection without a status line (RST when `reset`).
    Drop {
        reset: bool,
    },
}

/// Per-request values every answer needs.
struct Common {
    origin: Option<HeaderValue>,
    track_id: Option<HeaderValue>,
}

/// The hyper service: one request in, one response (or a dropped connection) out.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnCtl>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ScriptedBody>, io::Error> {
    let (parts, body) = req.into_parts();
    let common = Common {
        origin: parts.headers.get(header::ORIGIN).cloned(),
        track_id: parts.headers.get(ZUORA_TRACK_ID).cloned(),
    };
    let answer = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => route(&shared, peer, &parts, collected.to_bytes()).await,
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Answer::Http(
            Plain::oauth_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "Request body too large",
            )
            .into_response(),
        ),
        Err(e) => return Err(io::Error::other(e)),
    };
    match answer {
        Answer::Http(mut response) => {
            decorate(response.headers_mut(), &common);
            Ok(response)
        }
        Answer::Drop { reset } => {
            conn.reset.store(reset, Ordering::SeqCst);
            Err(io::Error::other(if reset {
                "mock fault: connection reset"
            } else {
                "mock fault: connection closed"
            }))
        }
    }
}

async fn route(shared: &Arc<Shared>, peer: SocketAddr, parts: &Parts, body: Bytes) -> Answer {
    let path = parts.uri.path();
    if parts.method == Method::OPTIONS {
        return Answer::Http(preflight(parts));
    }
    if path == TOKEN_PATH {
        return token_request(shared, peer, parts, body).await;
    }
    let plain = if path == PROTECTED_PATH {
        protected(shared, parts)
    } else if let Some(route) = path.strip_prefix(CONTROL_PREFIX) {
        control::handle(shared, &parts.method, route, &body)
    } else {
        Plain::json(
            StatusCode::NOT_FOUND,
            &json!({"message": "no Route matched with those values"}),
        )
    };
    Answer::Http(plain.into_response())
}

/// Headers on every response: request id, track-id echo, date, CORS. Present values (from a
/// scripted [`Fault::Respond`]) win.
fn decorate(headers: &mut HeaderMap, common: &Common) {
    if let Ok(id) = HeaderValue::from_str(&ids::uuid()) {
        headers.entry(ZUORA_REQUEST_ID).or_insert(id);
    }
    if let Some(track) = &common.track_id {
        headers.entry(ZUORA_TRACK_ID).or_insert(track.clone());
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.entry(header::DATE).or_insert(date);
    }
    if let Some(origin) = &common.origin {
        headers
            .entry(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .or_insert(origin.clone());
        headers
            .entry(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .or_insert(HeaderValue::from_static(EXPOSED_HEADERS));
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

fn preflight(parts: &Parts) -> Response<ScriptedBody> {
    let mut r = Response::new(ScriptedBody::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    let h = r.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    let allowed = parts
        .headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static(DEFAULT_ALLOWED_HEADERS));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allowed);
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static(PREFLIGHT_MAX_AGE),
    );
    // Chromium's Private Network Access preflights (a page on a public origin calling
    // loopback) need an explicit yes.
    if parts
        .headers
        .get("access-control-request-private-network")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"))
    {
        h.insert(
            "access-control-allow-private-network",
            HeaderValue::from_static("true"),
        );
    }
    if parts.headers.get(header::ORIGIN).is_none() {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    r
}

fn protected(shared: &Shared, parts: &Parts) -> Plain {
    let mut st = shared.lock();
    st.protected_requests += 1;
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return Plain::json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"success": false, "reasons": [{"code": 90000005, "message": "method not allowed"}]}),
        )
        .with_header(header::ALLOW, "GET, HEAD, OPTIONS");
    }
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match token.and_then(|t| st.token(t)) {
        Some(t) if t.is_live() => {
            Plain::json(StatusCode::OK, &json!({"products": [], "success": true}))
        }
        _ => Plain::json(
            StatusCode::UNAUTHORIZED,
            &json!({"success": false, "reasons": [{"code": 90000011, "message": "this resource is protected, please sign in first"}]}),
        )
        .with_header(header::WWW_AUTHENTICATE, r#"Bearer realm="Zuora", error="invalid_token""#),
    }
}

fn header_text(parts: &Parts, name: impl header::AsHeaderName) -> Option<String> {
    parts
        .headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

async fn token_request(
    shared: &Arc<Shared>,
    peer: SocketAddr,
    parts: &Parts,
    body: Bytes,
) -> Answer {
    let content_type = header_text(parts, header::CONTENT_TYPE);
    let form = if is_form(content_type.as_deref()) {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).ok()
    } else {
        None
    };
    let (seq, fault, rate) = {
        let mut st = shared.lock();
        if parts.method == Method::POST {
            st.token_requests += 1;
        }
        let fault = st.faults.pop_front();
        let rate = st.count_rate(peer.ip(), Instant::now());
        let seq = st.record(RecordedRequest {
            method: parts.method.to_string(),
            path: parts
                .uri
                .path_and_query()
                .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.to_string()),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: body.to_vec(),
            form: form.clone(),
            status: None,
            fault: fault.as_ref().map(|f| f.kind().to_owned()),
            peer,
            received_at: SystemTime::now(),
        });
        (seq, fault, rate)
    };
    let request = TokenCall {
        shared,
        parts,
        content_type: content_type.as_deref(),
        form: form.as_deref(),
        rate,
    };
    let answer = match fault {
        None => Answer::Http(request.normal().into_response()),
        Some(fault) => request.apply(fault).await,
    };
    let status = match &answer {
        Answer::Http(r) => Some(r.status().as_u16()),
        Answer::Drop { .. } => None,
    };
    shared.lock().set_status(seq, status);
    answer
}

/// One token request being answered.
struct TokenCall<'a> {
    shared: &'a Shared,
    parts: &'a Parts,
    content_type: Option<&'a str>,
    form: Option<&'a [(String, String)]>,
    rate: Option<RateInfo>,
}

/// A successful answer's pieces, kept apart so faults can reshape them.
struct Success {
    token: IssuedToken,
    expires_in: u64,
    scope: String,
}

impl Success {
    fn json(&self, fields: &TokenFields) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("access_token".into(), json!(self.token.access_token));
        map.insert(
            "expires_in".into(),
            fields.expires_in.clone().unwrap_or(json!(self.expires_in)),
        );
        map.insert("jti".into(), json!(self.token.jti));
        map.insert("scope".into(), json!(self.scope));
        map.insert(
            "token_type".into(),
            json!(fields.token_type.as_deref().unwrap_or("bearer")),
        );
        for name in &fields.omit {
            map.remove(name);
        }
        Value::Object(map)
    }
}

impl TokenCall<'_> {
    /// Rate-limit headers of both generations (when rate limiting is on).
    fn add_rate_headers(&self, plain: &mut Plain, remaining_override: Option<u32>) {
        let Some(rate) = self.rate else { return };
        let window = self.shared.lock().rate_window.as_secs().max(1);
        let remaining = remaining_override.unwrap_or(rate.remaining).to_string();
        let limit = rate.limit.to_string();
        let pairs = [
            (X_LIMIT_MINUTE, limit.clone()),
            (X_REMAINING_MINUTE, remaining.clone()),
            (RL_LIMIT, format!("{limit}, {limit};w={window}")),
            (RL_REMAINING, remaining),
            (RL_RESET, rate.reset_secs.to_string()),
        ];
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                plain.headers.entry(name).or_insert(v);
            }
        }
    }

    fn rate_limited(&self, retry_after: &RetryAfter) -> Plain {
        let mut plain = Plain::json(
            StatusCode::TOO_MANY_REQUESTS,
            &json!({"message": "API rate limit exceeded"}),
        );
        match retry_after {
            RetryAfter::Seconds(s) => {
                plain = plain.with_header(header::RETRY_AFTER, &s.to_string())
            }
            RetryAfter::HttpDateIn(s) => {
                let at = SystemTime::now() + Duration::from_secs(*s);
                plain = plain.with_header(header::RETRY_AFTER, &httpdate::fmt_http_date(at));
            }
            RetryAfter::Absent => {}
        }
        if self.rate.is_some() {
            self.add_rate_headers(&mut plain, Some(0));
        } else {
            let limit = 100.to_string();
            for (name, value) in [
                (X_LIMIT_MINUTE, limit.clone()),
                (X_REMAINING_MINUTE, "0".into()),
                (RL_LIMIT, format!("{limit}, {limit};w=60")),
                (RL_REMAINING, "0".into()),
                (RL_RESET, "60".into()),
            ] {
                plain = plain.with_header(name, &value);
            }
        }
        plain
    }

    /// Validates the request like Zuora; `Ok` is a newly issued token.
    #[allow(clippy::result_large_err)] // called once per request; boxing buys nothing
    fn validate(&self) -> Result<Success, Plain> {
        let bad = |d: &str| Plain::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d);
        if self.parts.method != Method::POST {
            return Err(Plain::oauth_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                &format!("Request method '{}' is not supported", self.parts.method),
            )
            .with_header(header::ALLOW, "POST, OPTIONS"));
        }
        for name in ["authorization", "apiaccesskeyid", "apisecretaccesskey"] {
            if self.parts.headers.contains_key(name) {
                return Err(bad(&format!(
                    "The {name} header must not be sent: put client_id and client_secret in the form body"
                )));
            }
        }
        match self.content_type {
            None => {
                return Err(bad(
                    "Missing Content-Type: expected application/x-www-form-urlencoded",
                ));
            }
            Some(ct) if !is_form(Some(ct)) => {
                return Err(Plain::oauth_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "invalid_request",
                    &format!(
                        "Unsupported Content-Type '{ct}': expected application/x-www-form-urlencoded"
                    ),
                ));
            }
            Some(_) => {}
        }
        let form = self.form.ok_or_else(|| bad("Malformed form body"))?;
        for (i, (name, _)) in form.iter().enumerate() {
            if form[..i].iter().any(|(n, _)| n == name) {
                return Err(bad(&format!("Parameter '{name}' is repeated")));
            }
        }
        let field = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let grant = field("grant_type").ok_or_else(|| bad("Missing grant type"))?;
        if grant != "client_credentials" {
            return Err(Plain::oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {grant}"),
            ));
        }
        let client_id = field("client_id").ok_or_else(|| bad("Missing client_id"))?;
        let secret = field("client_secret").ok_or_else(|| bad("Missing client_secret"))?;
        if client_id.chars().count() != 36 {
            return Err(bad("client_id must be exactly 36 characters"));
        }
        if secret.chars().count() > 42 {
            return Err(bad("client_secret must be at most 42 characters"));
        }
        if let Some(track) = self.parts.headers.get(ZUORA_TRACK_ID) {
            let ok = track.len() <= 64
                && track
                    .as_bytes()
                    .iter()
                    .all(|&b| (0x20..0x7f).contains(&b) && !b":;\"'".contains(&b));
            if !ok {
                return Err(bad(
                    "Invalid Zuora-Track-Id: at most 64 US-ASCII characters, none of : ; \" '",
                ));
            }
        }
        let entity = match self.parts.headers.get(ZUORA_ENTITY_IDS) {
            None => None,
            Some(v) => match v.to_str().ok().map(str::trim).filter(|s| ids::is_uuid(s)) {
                Some(e) => Some(e.to_ascii_lowercase()),
                None => {
                    return Err(bad(
                        "Invalid Zuora-Entity-Ids: expected one entity ID like 11e643f4-a3ee-8bad-b061-0025904c756d",
                    ));
                }
            },
        };
        let mut st = self.shared.lock();
        let user = match st.clients.get(client_id) {
            Some(c) if c.secret == secret => c.user_id.clone(),
            _ => {
                return Err(Plain::oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Bad client credentials",
                )
                .with_header(
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="Zuora", error="invalid_client", error_description="Bad client credentials""#,
                ));
            }
        };
        let entity = entity.unwrap_or_else(|| st.entity_id.clone());
        let scope = format!(
            "user.{user} entity.{entity} platform.write service.echo.read tenant.{}",
            st.tenant
        );
        let expires_in = st.lifetime.as_secs();
        let token = st.issue(client_id);
        Ok(Success {
            token,
            expires_in,
            scope,
        })
    }

    /// The answer without faults: 429 when over the rate limit, else validation, else a token.
    fn normal(&self) -> Plain {
        self.normal_with(&TokenFields::default(), crate::JSON_CONTENT_TYPE)
    }

    fn normal_with(&self, fields: &TokenFields, content_type: &'static str) -> Plain {
        if let Some(rate) = self.rate.filter(|r| r.limited) {
            return self.rate_limited(&RetryAfter::Seconds(rate.reset_secs));
        }
        let mut plain = match self.validate() {
            Ok(success) => Plain::new(
                StatusCode::OK,
                content_type,
                success.json(fields).to_string(),
            )
            .with_header(header::CACHE_CONTROL, "no-store")
            .with_header(header::PRAGMA, "no-cache"),
            Err(error) => error,
        };
        self.add_rate_headers(&mut plain, None);
        plain
    }

    /// A fault's answer.
    async fn apply(&self, fault: Fault) -> Answer {
        let plain = match fault {
            Fault::Respond {
                status,
                headers,
                body,
            } => {
                let mut plain = Plain {
                    status: StatusCode::from_u16(status)
                        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    headers: HeaderMap::new(),
                    body: Bytes::from(body),
                };
                for (name, value) in headers {
                    if let (Ok(n), Ok(v)) = (
                        HeaderName::from_bytes(name.as_bytes()),
                        HeaderValue::from_str(&value),
                    ) {
                        plain.headers.append(n, v);
                    }
                }
                self.add_rate_headers(&mut plain, None);
                plain
            }
            Fault::RateLimited { retry_after } => self.rate_limited(&retry_after),
            Fault::DelayHeaders { delay } => {
                tokio::time::sleep(delay).await;
                self.normal()
            }
            Fault::StallBody {
                sent_bytes,
                stall,
                then,
            } => {
                let plain = self.normal();
                let tail = match then {
                    StallEnd::Finish => None,
                    StallEnd::Close => Some(Step::Abort),
                };
                return Answer::Http(cut(plain, sent_bytes, Some(stall), tail));
            }
            Fault::CloseConnection => return Answer::Drop { reset: false },
            Fault::ResetConnection => return Answer::Drop { reset: true },
            Fault::CloseMidBody { sent_bytes } => {
                let plain = self.normal();
                return Answer::Http(cut(plain, sent_bytes, None, Some(Step::Abort)));
            }
            Fault::OversizedBody {
                bytes,
                fill,
                chunked,
            } => return Answer::Http(self.oversized(bytes, fill, chunked)),
            Fault::Redirect { status, location } => {
                let mut plain = Plain {
                    status: StatusCode::from_u16(status).unwrap_or(StatusCode::FOUND),
                    headers: HeaderMap::new(),
                    body: Bytes::new(),
                }
                .with_header(header::LOCATION, &location);
                self.add_rate_headers(&mut plain, None);
                plain
            }
            Fault::MalformedJson => {
                let body = format!(
                    r#"{{"access_token":"{}","expires_in":3599,"jti":"{}","scope":"service.echo.read","token_type":"bea"#,
                    ids::hex32(),
                    ids::hex32()
                );
                let mut plain = Plain::new(StatusCode::OK, JSON_CONTENT_TYPE, body);
                self.add_rate_headers(&mut plain, None);
                plain
            }
            Fault::WrongContentType => {
                self.normal_with(&TokenFields::default(), "text/plain;charset=utf-8")
            }
            Fault::TokenFields(fields) => self.normal_with(&fields, JSON_CONTENT_TYPE),
        };
        Answer::Http(plain.into_response())
    }

    fn oversized(
        &self,
        bytes: usize,
        fill: OversizedFill,
        chunked: bool,
    ) -> Response<ScriptedBody> {
        let (prefix, suffix) = match fill {
            OversizedFill::ValidJson => (
                format!(
                    r#"{{"access_token":"{}","expires_in":3599,"jti":"{}","padding":""#,
                    ids::hex32(),
                    ids::hex32()
                ),
                r#"","scope":"service.echo.read","token_type":"bearer"}"#.to_owned(),
            ),
            OversizedFill::Padding => (r#"{"padding":""#.to_owned(), String::new()),
        };
        let pad = bytes.saturating_sub(prefix.len() + suffix.len());
        let mut body = Vec::with_capacity(prefix.len() + pad + suffix.len());
        body.extend_from_slice(prefix.as_bytes());
        body.resize(prefix.len() + pad, b'x');
        body.extend_from_slice(suffix.as_bytes());
        body.truncate(bytes);
        let body = Bytes::from(body);
        const CHUNK: usize = 64 * 1024;
        let steps = (0..body.len())
            .step_by(CHUNK)
            .map(|i| Step::Data(body.slice(i..(i + CHUNK).min(body.len()))));
        let mut r = Response::new(ScriptedBody::scripted(steps.collect::<Vec<_>>()));
        let mut plain = Plain::new(StatusCode::OK, JSON_CONTENT_TYPE, Bytes::new());
        self.add_rate_headers(&mut plain, None);
        if !chunked {
            plain
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        }
        *r.headers_mut() = plain.headers;
        r
    }
}

/// `plain` with its full `Content-Length` but a body sent as: the first `sent_bytes` (default
/// half), an optional pause, then the rest (`tail` `None`) or `tail` instead of the rest.
fn cut(
    plain: Plain,
    sent_bytes: Option<usize>,
    pause: Option<Duration>,
    tail: Option<Step>,
) -> Response<ScriptedBody> {
    let len = plain.body.len();
    let n = sent_bytes.unwrap_or(len / 2).min(len);
    let mut steps = Vec::new();
    if n > 0 {
        steps.push(Step::Data(plain.body.slice(..n)));
    }
    if let Some(d) = pause {
        steps.push(Step::Pause(d));
    }
    match tail {
        None if n < len => steps.push(Step::Data(plain.body.slice(n..))),
        None => {}
        Some(step) => {
            // Let hyper flush the headers and the bytes so far before the step (an abort
            // would otherwise drop them unsent).
            steps.push(Step::Yield);
            steps.push(step);
        }
    }
    let mut r = Response::new(ScriptedBody::scripted(steps));
    *r.status_mut() = plain.status;
    *r.headers_mut() = plain.headers;
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    r
}
