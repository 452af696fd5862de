//! No `Debug` of any public type prints a request body, a client secret or an access token,
//! in any spelling: raw, form-encoded (either hex case), JSON-escaped, as a list of byte
//! values, as hex or as base64.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use zuora_oauth_core::{
    AccessToken, Action, ClientId, ClientSecret, Environment, LifecycleConfig, Outcome, Timestamp,
    Token, TokenLifecycle, TokenRecord, TokenRequest, TransportError, TransportErrorKind,
};

/// Needs percent-encoding and JSON escaping (`/`, `+`, `=`, `"`).
const SECRET: &str = "m0ck+Zu0ra/S3cr3t=\"quoted\"+x";
const TOKEN: &str = "c652cbc0ea384b9f81856a93a2a74538";

/// Every spelling of `secret` this test looks for: the text as is, form-encoded (either
/// hex case) and JSON-escaped, and each of those as a list of byte values, as hex (either
/// case) and as base64.
fn spellings(secret: &str) -> Vec<String> {
    let form = serde_urlencoded::to_string([("x", secret)]).unwrap()[2..].to_owned();
    let texts = [
        secret.to_owned(),
        form.clone(),
        form.to_lowercase(), // only the %XX escapes change case
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_owned(),
    ];
    let mut all = Vec::new();
    for text in texts {
        let bytes = text.as_bytes();
        let list = |sep: &str| {
            bytes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(sep)
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        all.extend([
            list(", "),
            list(","),
            hex.to_uppercase(),
            hex,
            base64(bytes).trim_end_matches('=').to_owned(),
        ]);
        all.push(text);
    }
    all.sort();
    all.dedup();
    all
}

/// Standard base64 (no dependency for one test).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn assert_clean(what: &str, text: &str) {
    for secret in [SECRET, TOKEN] {
        for spelling in spellings(secret) {
            assert!(
                !text.contains(&spelling),
                "{what} shows {spelling:?} (a spelling of {secret:?}):\n{text}"
            );
        }
    }
}

/// `{:?}` and `{:#?}` of `value`, checked.
fn check(what: &str, value: &dyn std::fmt::Debug) {
    assert_clean(what, &format!("{value:?}"));
    assert_clean(what, &format!("{value:#?}"));
}

fn request() -> TokenRequest {
    TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new(SECRET).unwrap(),
    )
}

fn token_response() -> http::Response<Vec<u8>> {
    http::Response::builder()
        .header("content-type", "application/json")
        .body(
            format!(r#"{{"access_token":"{TOKEN}","expires_in":3599,"token_type":"bearer"}}"#)
                .into_bytes(),
        )
        .unwrap()
}

#[test]
fn the_spellings_are_the_ones_meant() {
    let s = spellings("a/b");
    assert!(s.contains(&"a%2Fb".to_owned()) && s.contains(&"a%2fb".to_owned()));
    assert!(s.contains(&"97, 47, 98".to_owned()) && s.contains(&"97, 37, 50, 70, 98".to_owned()));
    assert!(s.contains(&"612f62".to_owned()) && s.contains(&"612F62".to_owned()));
    assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
    // And the probe really finds a leak: the raw request body, as `http` prints it.
    let leaky = format!("{:?}", request().to_http());
    assert!(
        spellings(SECRET).iter().any(|s| leaky.contains(s)),
        "{leaky}"
    );
}

#[test]
fn no_public_type_prints_a_secret_or_token_in_debug() {
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_748_800);
    check("ClientSecret", &ClientSecret::new(SECRET).unwrap());
    check("TokenRequest", &request());
    let token = request().parse_response(&token_response()).unwrap();
    check("Token", &token);
    check("AccessToken", token.access_token());
    check("TokenRecord", &TokenRecord::new(&token, wall));

    let mut lc = TokenLifecycle::new(request(), LifecycleConfig::default(), 1);
    let now = Timestamp::ZERO;
    let action = lc.poll(now);
    check("Action::Send", &action);
    let Action::Send(out) = action else { panic!() };
    check("OutgoingRequest", &out);
    check("TokenLifecycle (request in flight)", &lc);
    let outcome = lc.handle_response(now, wall, out.id(), &token_response());
    check("Outcome::Token", &outcome);
    let Outcome::Token(cached) = outcome else {
        panic!()
    };
    check("TokenHandle", cached);
    check("TokenHandle::record", &cached.record());
    let action = lc.poll(now);
    check("Action::Use", &action);
    check("TokenLifecycle (token cached)", &lc);

    // Failures whose responses echo the secret back.
    let echo = format!(r#"{{"error":"invalid_client","error_description":"{SECRET}"}}"#);
    let rejected = http::Response::builder()
        .status(401)
        .header("content-type", "application/json")
        .header("zuora-request-id", SECRET.replace('"', ""))
        .body(echo.into_bytes())
        .unwrap();
    let mut lc = TokenLifecycle::new(request(), LifecycleConfig::default(), 1);
    let Action::Send(out) = lc.poll(now) else {
        panic!()
    };
    let outcome = lc.handle_response(now, wall, out.id(), &rejected);
    check("Outcome::Failed", &outcome);
    check("Action::Fail", &lc.poll(now));
    check("TokenLifecycle (failed)", &lc);
    let error = request().parse_response(&rejected).unwrap_err();
    check("Error", &error);
    check("ErrorResponse", error.response().unwrap());
    check(
        "TransportError",
        &TransportError::new(TransportErrorKind::Other, "connection reset"),
    );
    check(
        "Arc<Token> from a record",
        &Arc::new(TokenRecord::new(&token, wall).to_token()),
    );
    check(
        "Token::new",
        &Token::new(AccessToken::new(TOKEN).unwrap(), Duration::from_secs(1)),
    );
}
