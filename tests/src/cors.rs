//! Who may talk to the mock from a browser. CORS is opt-in
//! ([`MockServerBuilder::cors`](crate::MockServerBuilder::cors), `--cors`); the control API
//! also refuses requests addressed to a host name other than a loopback one (DNS rebinding)
//! and, while CORS is off, requests that carry an `Origin` (a web page's form posts).

use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::json;

use crate::handler::Plain;

/// Headers a browser script may read (`Access-Control-Expose-Headers`).
const EXPOSED_HEADERS: &str = "Zuora-Request-Id, Zuora-Track-Id, Retry-After, \
     X-RateLimit-Limit-minute, X-RateLimit-Remaining-minute, RateLimit-Limit, \
     RateLimit-Remaining, RateLimit-Reset, WWW-Authenticate, Location, Date, \
     Zuora-Org-Ids, Zuora-Working-Org, Zuora-Version";
/// `Access-Control-Allow-Headers` when a preflight does not list any.
const DEFAULT_ALLOWED_HEADERS: &str = "Accept, Authorization, Content-Type, Zuora-Track-Id, \
     Zuora-Entity-Ids, Zuora-Org-Ids, Zuora-Working-Org, Zuora-Version";
const ALLOWED_METHODS: &str = "GET, POST, DELETE, OPTIONS";
const PREFLIGHT_MAX_AGE: &str = "600";

fn is_preflight(parts: &Parts) -> bool {
    parts.headers.contains_key(header::ORIGIN)
        && parts
            .headers
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
}

/// The answer to an `OPTIONS` request, or `None` to route it like any other method.
///
/// CORS on: every `OPTIONS` is a preflight and gets 204 with the allowances. CORS off: a
/// preflight gets 403 (so the browser blocks the call) and a plain `OPTIONS` goes on to its
/// route, which answers 405.
pub(crate) fn preflight(parts: &Parts, cors: bool) -> Option<Plain> {
    if !cors {
        return is_preflight(parts).then(|| {
            Plain::json(
                StatusCode::FORBIDDEN,
                &json!({"message": "CORS is off on this mock server: start it with --cors (MockServerBuilder::cors(true)) to call it from a browser"}),
            )
        });
    }
    let mut plain = Plain::empty(StatusCode::NO_CONTENT);
    let h = &mut plain.headers;
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
    Some(plain)
}

/// CORS headers of a real answer (CORS on): the `Origin` echoed, the Zuora headers exposed.
pub(crate) fn decorate(headers: &mut HeaderMap, parts: &Parts) {
    if let Some(origin) = parts.headers.get(header::ORIGIN) {
        headers
            .entry(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .or_insert(origin.clone());
        headers
            .entry(header::ACCESS_CONTROL_EXPOSE_HEADERS)
            .or_insert(HeaderValue::from_static(EXPOSED_HEADERS));
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// Whether `host` (a `Host` header: name or IP, optional port) names this machine's
/// loopback: `localhost`, `127.x.x.x` or `[::1]`.
fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => ip,
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The control API's gate: a loopback `Host`, and no `Origin` unless CORS is on. `Some` is
/// the refusal.
pub(crate) fn guard_control(parts: &Parts, cors: bool) -> Option<Plain> {
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()));
    if !host.is_some_and(is_loopback_host) {
        return Some(refuse(
            "the control API answers only requests addressed to 127.0.0.1, [::1] or localhost",
        ));
    }
    if !cors && parts.headers.contains_key(header::ORIGIN) && parts.method != Method::OPTIONS {
        return Some(refuse(
            "CORS is off on this mock server: browser requests (with an Origin) may not use the control API; start it with --cors (MockServerBuilder::cors(true))",
        ));
    }
    None
}

fn refuse(message: &str) -> Plain {
    Plain::json(StatusCode::FORBIDDEN, &json!({ "error": message }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "localhost",
            "LOCALHOST:80",
            "[::1]",
            "[::1]:443",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.1:80",
            "[::2]:80",
            "[::1]x",
            "::1",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
