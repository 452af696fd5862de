//! Every validator of the core on arbitrary text, each checked against the documented
//! rule re-implemented here (accepted ⇔ the rule holds), plus the request built from
//! whatever was accepted.
//!
//! Input: UTF-8 (lossily decoded). The whole input is one candidate, and so is each of its
//! first 16 lines, so that a seed can list several values.

#![forbid(unsafe_code)]
#![no_main]

use std::net::Ipv4Addr;
use std::time::Duration;

use http::{HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;
use zuora_oauth_core::{
    AccessToken, ClientId, ClientSecret, EntityId, Environment, InvalidInput, RetryAfter, Scope,
    ScopeItem, TokenRequest, TrackId,
};
use zuora_oauth_fuzz::{CLIENT_ID, SECRET, spells, wall_clock};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut candidates: Vec<&str> = vec![&text];
    if text.contains('\n') {
        candidates.extend(text.split('\n').take(16));
    }
    let mut accepted = Accepted::default();
    for s in &candidates {
        check_all(s, &mut accepted);
    }
    check_request(&accepted);
});

#[derive(Default)]
struct Accepted {
    client_id: Option<ClientId>,
    secret: Option<ClientSecret>,
    track_id: Option<TrackId>,
    entity_id: Option<EntityId>,
    environment: Option<Environment>,
}

fn check_all(s: &str, accepted: &mut Accepted) {
    let chars = s.chars().count();

    // client_id: exactly 36 characters.
    match ClientId::new(s) {
        Ok(id) => {
            assert_eq!(chars, 36);
            assert_eq!(id.as_str(), s);
            assert_eq!(id.to_string(), s);
            assert_eq!(s.parse::<ClientId>().ok(), Some(id.clone()));
            accepted.client_id.get_or_insert(id);
        }
        Err(e) => {
            assert_ne!(chars, 36);
            check_invalid(&e, "client_id");
        }
    }

    // client_secret: 1 to 42 characters; never printed.
    match ClientSecret::new(s) {
        Ok(secret) => {
            assert!((1..=42).contains(&chars), "{chars}");
            assert_eq!(secret.expose_secret(), s);
            assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
            accepted.secret.get_or_insert(secret);
        }
        Err(e) => {
            assert!(!(1..=42).contains(&chars), "{chars}");
            check_invalid(&e, "client_secret");
        }
    }

    // Zuora-Track-Id: 1–64 printable US-ASCII, none of : ; " ', no space at either end.
    let track_ok = (1..=64).contains(&chars)
        && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
        && !s.contains([':', ';', '"', '\''])
        && !s.starts_with(' ')
        && !s.ends_with(' ');
    match TrackId::new(s) {
        Ok(id) => {
            assert!(track_ok, "TrackId accepted {s:?}");
            assert_eq!(id.as_str(), s);
            assert_eq!(id.to_string(), s);
            let header = HeaderValue::from_str(id.as_str()).expect("a valid header value");
            // What a server echoes is what was sent: HTTP strips nothing from it.
            assert_eq!(header.to_str().ok().map(str::trim), Some(s));
            assert_eq!(s.parse::<TrackId>().ok(), Some(id.clone()));
            accepted.track_id.get_or_insert(id);
        }
        Err(e) => {
            assert!(!track_ok, "TrackId refused {s:?}");
            check_invalid(&e, "Zuora-Track-Id");
        }
    }

    // Zuora-Entity-Ids: 8-4-4-4-12 hex with hyphens, or 32 hex digits; stored canonical.
    let canonical = canonical_uuid(s);
    match EntityId::new(s) {
        Ok(e) => {
            assert_eq!(
                Some(e.as_str()),
                canonical.as_deref(),
                "EntityId accepted {s:?}"
            );
            assert!(HeaderValue::from_str(e.as_str()).is_ok());
            assert_eq!(EntityId::new(e.as_str()).ok(), Some(e.clone()));
            assert_eq!(e.to_string(), e.as_str());
            assert_eq!(s.parse::<EntityId>().ok(), Some(e.clone()));
            accepted.entity_id.get_or_insert(e);
        }
        Err(e) => {
            assert_eq!(canonical, None, "EntityId refused {s:?}");
            check_invalid(&e, "Zuora-Entity-Ids");
        }
    }

    // A custom base URL.
    match Environment::custom(s) {
        Ok(env) => {
            check_custom(s, &env);
            accepted.environment.get_or_insert(env);
        }
        Err(e) => check_invalid(&e, "base_url"),
    }

    // A named environment.
    let known = Environment::NAMES
        .iter()
        .find(|n| n.eq_ignore_ascii_case(s.trim()));
    match s.parse::<Environment>() {
        Ok(env) => {
            assert_eq!(env.name(), known.copied());
            assert!(env.base_url().starts_with("https://rest."));
            assert_eq!(
                env.token_url().to_string(),
                format!("{}/oauth/token", env.base_url())
            );
            assert_eq!(env.to_string(), *known.expect("known"));
        }
        Err(e) => {
            assert_eq!(known, None);
            check_invalid(&e, "environment");
            assert!(!e.to_string().chars().any(char::is_control));
        }
    }

    // Retry-After: whole seconds or an HTTP date.
    let t = s.trim();
    let digits = !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    match RetryAfter::parse(s) {
        Some(RetryAfter::Delay(d)) => {
            assert!(digits, "{s:?}");
            let secs = t.parse::<u64>().unwrap_or(u64::MAX);
            assert_eq!(d, Duration::from_secs(secs));
        }
        Some(r @ RetryAfter::At(at)) => {
            assert!(!digits);
            assert_eq!(httpdate::parse_http_date(t).ok(), Some(at));
            for i in 0..4 {
                let _ = r.delay_from(wall_clock(i));
            }
        }
        None => assert!(!digits && httpdate::parse_http_date(t).is_err(), "{s:?}"),
    }

    check_scope(s);

    // Access tokens: 1–4096 visible ASCII, sent as `Bearer <token>`.
    let token_ok = (1..=4096).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
    match AccessToken::new(s) {
        Ok(token) => {
            assert!(token_ok);
            assert_eq!(token.secret(), s);
            let header = token.bearer_header();
            assert!(header.is_sensitive());
            assert_eq!(header.as_bytes(), format!("Bearer {s}").as_bytes());
            assert_eq!(format!("{token:?}"), "AccessToken([redacted])");
        }
        Err(e) => {
            assert!(!token_ok);
            check_invalid(&e, "access_token");
        }
    }
}

/// The canonical form of a UUID given hyphenated or as 32 hex digits, per ZUORA.md.
fn canonical_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    let hex: Vec<u8> = match b.len() {
        36 if HYPHENS.iter().all(|&i| b[i] == b'-') => b
            .iter()
            .enumerate()
            .filter(|(i, _)| !HYPHENS.contains(i))
            .map(|(_, &c)| c)
            .collect(),
        32 => b.to_vec(),
        _ => return None,
    };
    if hex.len() != 32 || !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let hex = String::from_utf8(hex).ok()?.to_ascii_lowercase();
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn check_custom(input: &str, env: &Environment) {
    assert!(!input.contains(['?', '#']), "{input:?}");
    assert!(
        !input.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{input:?}"
    );
    assert_eq!(env.name(), None);
    let base = env.base_url();
    assert!(!base.ends_with('/'), "{base:?}");
    assert_eq!(env.to_string(), base);
    let url = env.token_url().to_string();
    assert_eq!(url, format!("{base}/oauth/token"));
    assert!(url.ends_with("/oauth/token"));
    let uri: Uri = url.parse().expect("the token URL parses");
    assert_eq!(uri.path_and_query().map(|p| p.as_str()), Some(uri.path()));
    assert!(uri.query().is_none());
    let authority = uri.authority().expect("an authority");
    assert!(!authority.as_str().contains('@'));
    let host = authority.host();
    assert!(!host.is_empty());
    // No port, or one from 1 to 65535 (the text after the last `:`, unless that closes an
    // IPv6 host), in the input as in the result.
    for authority in [authority.as_str(), input_authority(input)] {
        if let Some((_, port)) = authority
            .rsplit_once(':')
            .filter(|(_, p)| !p.ends_with(']'))
        {
            assert!(
                port.bytes().all(|b| b.is_ascii_digit())
                    && port.parse::<u16>().is_ok_and(|p| p >= 1),
                "port {port:?} accepted in {input:?}"
            );
        }
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") => assert!(is_loopback(host), "plain http to {host:?}"),
        other => panic!("scheme {other:?}"),
    }
    // Normalising is idempotent.
    let again = Environment::custom(base).expect("a normalised base URL is valid");
    assert_eq!(&again, env);
    let _ = format!("{env:?}");
}

/// The authority of an absolute URL as written: between `://` and the next `/`.
fn input_authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// ZUORA.md's loopback hosts: `localhost`, `127.0.0.0/8`, `[::1]`.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.octets()[0] == 127)
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<std::net::Ipv6Addr>().ok())
            .is_some_and(|ip| ip == std::net::Ipv6Addr::LOCALHOST)
}

fn check_scope(s: &str) {
    let scope = Scope::new(s);
    assert_eq!(scope.as_str(), s);
    assert_eq!(scope.to_string(), s);
    let raw: Vec<&str> = s.split_ascii_whitespace().collect();
    let items: Vec<ScopeItem<'_>> = scope.items().collect();
    assert_eq!(items.len(), raw.len());
    assert_eq!(scope.is_empty(), raw.is_empty());
    for (item, raw) in items.iter().zip(&raw) {
        let rebuilt = match *item {
            ScopeItem::User(id) => {
                assert!(!id.is_empty());
                format!("user.{id}")
            }
            ScopeItem::Entity(id) => {
                assert!(!id.is_empty());
                format!("entity.{id}")
            }
            ScopeItem::Tenant(n) => {
                let digits = raw.strip_prefix("tenant.").expect("tenant prefix");
                assert_eq!(digits.parse::<u64>().ok(), Some(n));
                (*raw).to_owned()
            }
            ScopeItem::PlatformWrite => "platform.write".to_owned(),
            ScopeItem::Service { name, action } => {
                assert!(!name.is_empty() && !action.is_empty());
                assert!(!action.contains('.'));
                format!("service.{name}.{action}")
            }
            ScopeItem::Other(other) => other.to_owned(),
            _ => (*raw).to_owned(),
        };
        assert_eq!(&rebuilt, raw);
    }
    let first_user = items.iter().find_map(|i| match i {
        ScopeItem::User(id) => Some(*id),
        _ => None,
    });
    assert_eq!(scope.user_id(), first_user);
    let _ = (
        scope.tenant_id(),
        scope.has_platform_write(),
        scope.entity_ids().count(),
        scope.services().count(),
        scope.allows("usage", "write"),
        format!("{scope:?}"),
    );
}

fn check_invalid(e: &InvalidInput, field: &str) {
    assert_eq!(e.field(), field);
    assert!(!e.rule().is_empty());
    let text = e.to_string();
    assert!(text.starts_with(&format!("invalid {field}: ")), "{text}");
    assert!(!text.contains(['\n', '\r']), "{text:?}");
    let _ = format!("{e:?}");
}

/// The request built from whatever was accepted (defaults otherwise).
fn check_request(accepted: &Accepted) {
    let env = accepted.environment.clone().unwrap_or(Environment::Prod);
    let client_id = accepted
        .client_id
        .clone()
        .unwrap_or_else(|| ClientId::new(CLIENT_ID).expect("valid"));
    let secret = accepted
        .secret
        .clone()
        .unwrap_or_else(|| ClientSecret::new(SECRET).expect("valid"));
    let request = with_options(
        TokenRequest::new(env.clone(), client_id.clone(), secret.clone()),
        accepted,
    );
    let http = request.to_http();
    assert_eq!(http.method(), "POST");
    assert_eq!(http.uri(), &env.token_url());
    let h = http.headers();
    assert!(h.get("authorization").is_none());
    assert_eq!(h["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(h["accept"], "application/json");
    assert_eq!(
        h.get("zuora-track-id").map(|v| v.as_bytes()),
        accepted.track_id.as_ref().map(|t| t.as_str().as_bytes())
    );
    assert_eq!(
        h.get("zuora-entity-ids").map(|v| v.as_bytes()),
        accepted.entity_id.as_ref().map(|e| e.as_str().as_bytes())
    );
    let form: Vec<(String, String)> =
        serde_urlencoded::from_bytes(http.body()).expect("the body is a form");
    assert_eq!(
        form,
        [
            ("client_id".to_owned(), client_id.as_str().to_owned()),
            (
                "client_secret".to_owned(),
                secret.expose_secret().to_owned()
            ),
            ("grant_type".to_owned(), "client_credentials".to_owned()),
        ]
    );
    // The secret never shows in the request's Debug: it is the same whatever the secret.
    let other = with_options(
        TokenRequest::new(env, client_id, ClientSecret::new("x").expect("valid")),
        accepted,
    );
    assert_eq!(format!("{request:?}"), format!("{other:?}"));

    // A track ID comes back unchanged in the response's echo.
    if let Some(t) = &accepted.track_id {
        let ok = http::Response::builder()
            .header("content-type", "application/json")
            .header("zuora-track-id", t.as_str())
            .body(
                &br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#[..],
            )
            .expect("a valid response");
        let token = request.parse_response(&ok).expect("a token");
        // …unless it holds the secret, in which case it is redacted like any response text.
        let expected = if spells(t.as_str(), secret.expose_secret()) {
            "[redacted]"
        } else {
            t.as_str()
        };
        assert_eq!(token.meta().track_id(), Some(expected));
        assert_eq!(token.entity_id(), accepted.entity_id.as_ref());
    }
}

fn with_options(mut request: TokenRequest, accepted: &Accepted) -> TokenRequest {
    if let Some(t) = &accepted.track_id {
        request = request.with_track_id(t.clone());
    }
    if let Some(e) = &accepted.entity_id {
        request = request.with_entity_id(e.clone());
    }
    request
}
