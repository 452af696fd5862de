//! The control API under `/__mock/`: the same powers as the Rust API, as JSON over HTTP.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode, header};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::fault::Fault;
use crate::handler::{PROTECTED_PATH, Plain, TOKEN_PATH};
use crate::state::{IssuedToken, RecordedRequest, Shared};

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
        "method": r.method,
        "path": r.path,
        "headers": r.headers,
        "body": String::from_utf8_lossy(&r.body),
        "form": r.form,
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
struct NewClient {
    client_id: String,
    client_secret: String,
}

/// Answers `route` (the path after `/__mock/`).
pub(crate) fn handle(shared: &Shared, method: &Method, route: &str, body: &[u8]) -> Plain {
    let route = route.trim_end_matches('/');
    let allowed = match route {
        "faults" => "GET, POST, DELETE, OPTIONS",
        "requests" | "tokens" | "info" => "GET, OPTIONS",
        "reset" | "revoke" | "expire" | "lifetime" | "clients" => "POST, OPTIONS",
        _ => return error(StatusCode::NOT_FOUND, "unknown control route"),
    };
    let post = *method == Method::POST;
    let get = *method == Method::GET;
    let delete = *method == Method::DELETE;
    let mut st = shared.lock();
    match route {
        "faults" if post => {
            let parsed = if body.trim_ascii_start().starts_with(b"[") {
                serde_json::from_slice::<Vec<Fault>>(body)
            } else {
                serde_json::from_slice::<Fault>(body).map(|f| vec![f])
            };
            let faults = match parsed {
                Ok(faults) => faults,
                Err(e) => {
                    return error(StatusCode::BAD_REQUEST, &format!("invalid fault: {e}"));
                }
            };
            let queued = faults.len();
            st.faults.extend(faults);
            ok(json!({ "queued": queued, "pending": st.faults.len() }))
        }
        "faults" if get => ok(json!({ "pending": st.faults.iter().collect::<Vec<_>>() })),
        "faults" if delete => {
            let cleared = st.faults.len();
            st.faults.clear();
            ok(json!({ "cleared": cleared }))
        }
        "requests" if get => {
            let records = st.records();
            ok(json!({
                "token_request_count": st.token_requests,
                "protected_request_count": st.protected_requests,
                "requests": records.iter().map(request_json).collect::<Vec<_>>(),
            }))
        }
        "tokens" if get => ok(json!({
            "tokens": st.tokens.iter().map(token_json).collect::<Vec<_>>(),
        })),
        "info" if get => ok(json!({
            "base_url": shared.base_url,
            "token_url": format!("{}{TOKEN_PATH}", shared.base_url),
            "protected_url": format!("{}{PROTECTED_PATH}", shared.base_url),
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
        "revoke" if post => {
            st.revoke_all();
            ok(json!({ "ok": true, "revoked": st.tokens.len() }))
        }
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
        _ => error(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this route",
        )
        .with_header(header::ALLOW, allowed),
    }
}
