//! Request routing, the answer types, and the headers every answer gets.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

use crate::body::ScriptedBody;
use crate::state::Shared;
use crate::{JSON_CONTENT_TYPE, api, control, cors, ids, token};

pub(crate) const TOKEN_PATH: &str = "/oauth/token";
pub(crate) const CONTROL_PREFIX: &str = "/__mock/";

/// Largest request body the mock reads (the answer is 413 above it).
const MAX_REQUEST_BODY: usize = 1024 * 1024;

pub(crate) const ZUORA_REQUEST_ID: HeaderName = HeaderName::from_static("zuora-request-id");
pub(crate) const ZUORA_TRACK_ID: HeaderName = HeaderName::from_static("zuora-track-id");
pub(crate) const ZUORA_ENTITY_IDS: HeaderName = HeaderName::from_static("zuora-entity-ids");

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

    pub(crate) fn oauth_error(status: StatusCode, error: &str, description: &str) -> Self {
        Self::json(
            status,
            &json!({ "error": error, "error_description": description }),
        )
    }

    /// Zuora's v1 error shape: `{"success":false,"reasons":[{"code":..,"message":".."}]}`.
    pub(crate) fn reasons(status: StatusCode, code: u64, message: &str) -> Self {
        Self::json(
            status,
            &json!({"success": false, "reasons": [{"code": code, "message": message}]}),
        )
    }

    /// An answer with no body (and no `Content-Type`).
    pub(crate) fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.append(name, v);
        }
        self
    }

    pub(crate) fn into_response(self) -> Response<ScriptedBody> {
        let mut r = Response::new(ScriptedBody::full(self.body));
        *r.status_mut() = self.status;
        *r.headers_mut() = self.headers;
        r
    }
}

/// What the mock does with a request.
pub(crate) enum Answer {
    Http(Response<ScriptedBody>),
    /// Drop the connection without a status line (RST when `reset`).
    Drop {
        reset: bool,
    },
}

impl Answer {
    /// The status sent, as recorded.
    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Answer::Http(r) => Some(r.status().as_u16()),
            Answer::Drop { .. } => None,
        }
    }
}

impl From<Plain> for Answer {
    fn from(plain: Plain) -> Self {
        Answer::Http(plain.into_response())
    }
}

/// One request as the routes see it: head, full body, and who sent it.
pub(crate) struct Req<'a> {
    pub(crate) shared: &'a Arc<Shared>,
    pub(crate) peer: SocketAddr,
    pub(crate) parts: &'a Parts,
    pub(crate) body: Bytes,
}

/// The hyper service: one request in, one response (or a dropped connection) out.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    conn: Arc<ConnCtl>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<ScriptedBody>, io::Error> {
    let (parts, body) = req.into_parts();
    let answer = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => {
            let request = Req {
                shared: &shared,
                peer,
                parts: &parts,
                body: collected.to_bytes(),
            };
            route(request).await
        }
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Plain::oauth_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "Request body too large",
        )
        .into(),
        Err(e) => return Err(io::Error::other(e)),
    };
    match answer {
        Answer::Http(mut response) => {
            decorate(response.headers_mut(), &parts, shared.cors);
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

async fn route(request: Req<'_>) -> Answer {
    let path = request.parts.uri.path();
    if request.parts.method == Method::OPTIONS
        && let Some(answer) = cors::preflight(request.parts, request.shared.cors)
    {
        return answer.into();
    }
    if path == TOKEN_PATH {
        return token::handle(request).await;
    }
    if path.starts_with(api::PREFIX) {
        return api::handle(request).await;
    }
    if let Some(route) = path.strip_prefix(CONTROL_PREFIX) {
        if let Some(refused) = cors::guard_control(request.parts, request.shared.cors) {
            return refused.into();
        }
        let parts = request.parts;
        return control::handle(
            request.shared,
            &parts.method,
            route,
            parts.uri.query(),
            &request.body,
        )
        .into();
    }
    not_found().into()
}

/// The 404 of Zuora's gateway for a path no route serves.
pub(crate) fn not_found() -> Plain {
    Plain::json(
        StatusCode::NOT_FOUND,
        &json!({"message": "no Route matched with those values"}),
    )
}

/// Headers on every response: request id, track-id echo, date, CORS (when on). Present
/// values (from a scripted [`Fault::Respond`](crate::Fault::Respond)) win.
fn decorate(headers: &mut HeaderMap, parts: &Parts, cors: bool) {
    if let Ok(id) = HeaderValue::from_str(&ids::uuid()) {
        headers.entry(ZUORA_REQUEST_ID).or_insert(id);
    }
    if let Some(track) = parts.headers.get(ZUORA_TRACK_ID) {
        headers.entry(ZUORA_TRACK_ID).or_insert(track.clone());
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(SystemTime::now())) {
        headers.entry(header::DATE).or_insert(date);
    }
    if cors {
        cors::decorate(headers, parts);
    }
}

/// A request header as text (lossy).
pub(crate) fn header_text(parts: &Parts, name: impl header::AsHeaderName) -> Option<String> {
    parts
        .headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// Path and query of the request.
pub(crate) fn path_and_query(parts: &Parts) -> String {
    parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.to_string())
}
