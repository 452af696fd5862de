//! The control API under `/__mock/`: the same powers as the Rust API, as JSON over HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{API_RATE_LIMIT_PER_MINUTE, PRODUCTS_PATH};
use crate::handler::{Plain, TOKEN_PATH};
use crate::rules::FaultRule;
use crate::state::{IssuedToken, RecordedRequest, RequestKind, Shared};

fn ok(value: Value) -> Plain {
    Plain::json(StatusCode::OK, &value)
}

fn error(status: StatusCode, message: &str) -> Plain {
    Plain::json(status, &json!({ "error": message }))
}

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

pub(crate) fn request_json(r: &RecordedRequest) -> Value {
    json!({
        "kind": r.kind.as_str(),
        "method": r.method,
        "path": r.path,
        "headers": r.headers,
        "body": String::from_utf8_lossy(&r.body),
        "form": r.form,
        "client_id": r.client_id,
        "token_index": r.token_index,
        "status": r.status,
        "fault": r.fault,
        "peer": r.peer.to_string(),
        "received_at": unix_secs(r.received_at),
    })
}

pub(crate) fn token_json(t: &IssuedToken) -> Value {
    json!({
        "access_token": t.access_token,
        "jti": t.jti,
        "client_id": t.client_id,
        "entity_id": t.entity_id,
        "entity_requested": t.entity_requested,
        "issued_at": unix_secs(t.issued_at),
        "expires_at": unix_secs(t.expires_at),
        "revoked": t.revoked,
        "live": t.is_live(),
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Lifetime {
    Bare(f64),
    Object { seconds: f64 },
}

#[derive(Deserialize)]
struct Revoke {
    access_token: String,
}

#[derive(Deserialize)]
struct NewClient {
    client_id: String,
    client_secret: String,
}

#[derive(Deserialize)]
struct Rotate {
    client_id: String,
    client_secret: String,
    /// Overrides the server's `revoke_tokens_on_rotation`.
    revoke_tokens: Option<bool>,
}

/// Parses one rule or an array of them, and checks each.
fn parse_rules(body: &[u8]) -> Result<Vec<FaultRule>, String> {
    let rules = if body.trim_ascii_start().starts_with(b"[") {
        serde_json::from_slice::<Vec<FaultRule>>(body)
    } else {
        serde_json::from_slice::<FaultRule>(body).map(|f| vec![f])
    }
    .map_err(|e| e.to_string())?;
    for rule in &rules {
        rule.check()?;
    }
    Ok(rules)
}

/// The `kind=token|api` filter of `GET /__mock/requests?kind=…`.
fn kind_filter(query: Option<&str>) -> Result<Option<RequestKind>, String> {
    let kind = query
        .unwrap_or_default()
        .split('&')
        .find_map(|pair| pair.strip_prefix("kind="));
    match kind {
        None => Ok(None),
        Some("token") => Ok(Some(RequestKind::Token)),
        Some("api") => Ok(Some(RequestKind::Api)),
        Some(other) => Err(format!("kind must be token or api, not {other:?}")),
    }
}

/// Answers `route` (the path after `/__mock/`) with its query string.
pub(crate) fn handle(
    shared: &Shared,
    method: &Method,
    route: &str,
    query: Option<&str>,
    body: &[u8],
) -> Plain {
    let route = route.trim_end_matches('/');
    let allowed = match route {
        "faults" => "GET, POST, DELETE, OPTIONS",
        "requests" | "tokens" | "info" => "GET, OPTIONS",
        "reset" | "revoke" | "expire" | "lifetime" | "clients" | "rotate" => "POST, OPTIONS",
        _ => return error(StatusCode::NOT_FOUND, "unknown control route"),
    };
    let post = *method == Method::POST;
    let get = *method == Method::GET;
    let delete = *method == Method::DELETE;
    let mut st = shared.lock();
    match route {
        "faults" if post => match parse_rules(body) {
            Ok(rules) => {
                let queued = rules.len();
                for rule in rules {
                    st.rules.push(rule);
                }
                ok(json!({ "queued": queued, "pending": st.rules.len() }))
            }
            Err(e) => error(StatusCode::BAD_REQUEST, &format!("invalid fault: {e}")),
        },
        "faults" if get => ok(json!({ "pending": st.rules.iter().collect::<Vec<_>>() })),
        "faults" if delete => ok(json!({ "cleared": st.rules.clear() })),
        "requests" if get => match kind_filter(query) {
            Ok(kind) => ok(json!({
                "token_request_count": st.token_requests,
                "api_request_count": st.api_requests,
                "protected_request_count": st.api_requests,
                "requests": st.records(kind).iter().map(request_json).collect::<Vec<_>>(),
            })),
            Err(e) => error(StatusCode::BAD_REQUEST, &e),
        },
        "tokens" if get => ok(json!({
            "tokens": st.tokens.iter().map(token_json).collect::<Vec<_>>(),
        })),
        "info" if get => ok(json!({
            "base_url": shared.base_url,
            "token_url": format!("{}{TOKEN_PATH}", shared.base_url),
            "protected_url": format!("{}{PRODUCTS_PATH}", shared.base_url),
            "api_base_url": format!("{}/v1", shared.base_url),
            "accounts": crate::SEEDED_ACCOUNTS,
            "api_rate_limit_per_minute": API_RATE_LIMIT_PER_MINUTE,
            "cors": shared.cors,
            "demo_client_id": crate::DEMO_CLIENT_ID,
            "demo_client_secret": crate::DEMO_CLIENT_SECRET,
            "token_lifetime_seconds": st.lifetime.as_secs_f64(),
            "rate_limit_per_minute": st.rate_limit,
            "rate_limit_window_seconds": st.rate_window.as_secs_f64(),
            "entity_id": st.entity_id,
            "tenant": st.tenant,
        })),
        "reset" if post => {
            st.reset();
            ok(json!({ "ok": true }))
        }
        "revoke" if post && body.trim_ascii().is_empty() => {
            st.revoke_all();
            ok(json!({ "ok": true, "revoked": st.tokens.len() }))
        }
        "revoke" if post => match serde_json::from_slice::<Revoke>(body) {
            Ok(r) if st.revoke(&r.access_token) => ok(json!({ "ok": true, "revoked": 1 })),
            Ok(_) => error(StatusCode::NOT_FOUND, "this mock did not issue that token"),
            Err(e) => error(
                StatusCode::BAD_REQUEST,
                &format!("expected no body, or {{\"access_token\": ..}}: {e}"),
            ),
        },
        "expire" if post => {
            st.expire_all();
            ok(json!({ "ok": true }))
        }
        "lifetime" if post => match serde_json::from_slice::<Lifetime>(body) {
            Ok(Lifetime::Bare(s) | Lifetime::Object { seconds: s }) => {
                match Duration::try_from_secs_f64(s) {
                    Ok(d) => {
                        st.lifetime = d;
                        ok(json!({ "ok": true, "seconds": d.as_secs_f64() }))
                    }
                    Err(e) => error(StatusCode::BAD_REQUEST, &format!("invalid lifetime: {e}")),
                }
            }
            Err(e) => error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"seconds\": <number>}}: {e}"),
            ),
        },
        "clients" if post => match serde_json::from_slice::<NewClient>(body) {
            Ok(c) => {
                st.add_client(c.client_id, c.client_secret);
                ok(json!({ "ok": true }))
            }
            Err(e) => error(
                StatusCode::BAD_REQUEST,
                &format!("expected {{\"client_id\": .., \"client_secret\": ..}}: {e}"),
            ),
        },
        "rotate" if post => match serde_json::from_slice::<Rotate>(body) {
            Ok(r) => {
                let revoke = r.revoke_tokens.unwrap_or(st.revoke_on_rotation);
                match st.rotate_secret(&r.client_id, r.client_secret, revoke) {
                    Some(revoked) => ok(json!({ "ok": true, "revoked": revoked })),
                    None => error(StatusCode::NOT_FOUND, "no such client"),
                }
            }
            Err(e) => error(
                StatusCode::BAD_REQUEST,
                &format!(
                    "expected {{\"client_id\": .., \"client_secret\": .., \"revoke_tokens\": bool (optional)}}: {e}"
                ),
            ),
        },
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        )
        .with_header(header::ALLOW, allowed),
    }
}
