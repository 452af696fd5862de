//! No `Debug` of any public type prints a request body, a client secret or an access token,
//! in any spelling (`zuora_oauth_testkit::spellings`: raw, form-encoded in either hex case,
//! JSON-escaped, and each as a list of byte values, as hex or as base64), even when every
//! field and header of the responses echoes the secret, for secrets of 1 to 42 characters.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use zuora_oauth_core::{
    AccessToken, Action, ClientId, ClientSecret, Environment, LifecycleConfig, Outcome, Timestamp,
    Token, TokenLifecycle, TokenRecord, TokenRequest, TransportError, TransportErrorKind,
};
use zuora_oauth_testkit::spellings::{self, Finder};

/// Needs percent-encoding and JSON escaping (`/`, `+`, `=`, `"`).
const SECRET: &str = "m0ck+Zu0ra/S3cr3t=\"quoted\"+x";
const TOKEN: &str = "c652cbc0ea384b9f81856a93a2a74538";
const REDACTED: &str = "[redacted]";
/// A secret that no response echoes.
const NEUTRAL: &str = "Neutral-secret/never+echoed=by-any-reply";

/// Secrets of 1, 2, 3, 16 and 42 characters, of the characters of `"access_token":`, of
/// digits and of `=/+`.
const SECRETS: &[&str] = &[
    SECRET,
    ":",
    "\"",
    "7",
    "+",
    "_t",
    "42",
    "=/",
    "tok",
    "=/+",
    "\"access_token\":\"",
    "1234567890123456",
    "m0ck+Zu0ra/S3cr3t=Fo7+Te5ts/On1y=Lo0pback4",
];

/// Every header a token response may carry that a user could see.
const HEADERS: &[&str] = &[
    "zuora-request-id",
    "zuora-track-id",
    "retry-after",
    "date",
    "x-ratelimit-limit-minute",
    "x-ratelimit-remaining-minute",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "www-authenticate",
    "location",
];

fn request(secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom("http://127.0.0.1:9").unwrap(),
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

/// A response whose every kept header is `echo` (a header `http` refuses is left out).
fn echoing(status: u16, echo: &str, body: serde_json::Value) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder()
        .status(status)
        .header("content-type", "application/json");
    if http::HeaderValue::from_str(echo).is_ok() {
        for name in HEADERS {
            builder = builder.header(*name, echo);
        }
    }
    builder.body(body.to_string().into_bytes()).unwrap()
}

/// A good token response; `echo` in its headers, its `jti` and its `scope`.
fn token_response(echo: &str) -> http::Response<Vec<u8>> {
    echoing(
        200,
        echo,
        serde_json::json!({
            "access_token": TOKEN,
            "expires_in": 3599,
            "token_type": "bearer",
            "jti": echo,
            "scope": format!("tenant.19 {echo} service.echo.read"),
        }),
    )
}

/// A rejection; `echo` in its headers and in every field of its body.
fn rejected_response(echo: &str) -> http::Response<Vec<u8>> {
    echoing(
        401,
        echo,
        serde_json::json!({
            "error": echo,
            "error_description": format!("Bad client credentials: {echo}"),
            "message": echo,
            "reasons": [{"code": echo, "message": echo}],
        }),
    )
}

/// `{:?}` and `{:#?}` of every public type met along the way, `echo` being what the
/// responses echo. Named, in a fixed order.
fn debug_texts(secret: &str, echo: &str) -> Vec<(&'static str, String)> {
    let mut texts = Vec::new();
    let mut check = |what: &'static str, value: &dyn std::fmt::Debug| {
        texts.push((what, format!("{value:?}")));
        texts.push((what, format!("{value:#?}")));
    };
    let wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_748_800);
    check("ClientSecret", &ClientSecret::new(secret).unwrap());
    check("TokenRequest", &request(secret));
    let token = request(secret)
        .parse_response(&token_response(echo))
        .unwrap();
    check("Token", &token);
    check("Token::meta", token.meta());
    check("Token::scope", token.scope());
    check("Token::jti", &token.jti());
    check("AccessToken", token.access_token());
    check("TokenRecord", &TokenRecord::new(&token, wall));

    let mut lc = TokenLifecycle::new(request(secret), LifecycleConfig::default(), 1);
    let now = Timestamp::ZERO;
    let action = lc.poll(now);
    check("Action::Send", &action);
    let Action::Send(out) = action else { panic!() };
    check("OutgoingRequest", &out);
    check("TokenLifecycle (request in flight)", &lc);
    let outcome = lc.handle_response(now, wall, out.id(), &token_response(echo));
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
    let mut lc = TokenLifecycle::new(request(secret), LifecycleConfig::default(), 1);
    let Action::Send(out) = lc.poll(now) else {
        panic!()
    };
    let outcome = lc.handle_response(now, wall, out.id(), &rejected_response(echo));
    check("Outcome::Failed", &outcome);
    check("Action::Fail", &lc.poll(now));
    check("TokenLifecycle (failed)", &lc);
    let error = request(secret)
        .parse_response(&rejected_response(echo))
        .unwrap_err();
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
    texts
}

/// Nothing printed holds the access token or a spelling of `secret` that the echo added:
/// compared with what a perfect redaction shows (the same responses echoing `[redacted]`
/// to a client whose secret they do not hold), since a one-character secret may already
/// be spelled by a `Debug`'s own numbers and quotes.
fn check_secret(secret: &str) {
    let finder = Finder::new(secret);
    let tokens = Finder::new(TOKEN);
    let long = secret.chars().count() > spellings::SHORT_SECRET_MAX;
    let perfect = debug_texts(NEUTRAL, REDACTED);
    for spelling in finder.spellings() {
        let texts = debug_texts(secret, spelling);
        assert_eq!(texts.len(), perfect.len());
        for ((what, text), (_, clean)) in texts.iter().zip(&perfect) {
            assert_eq!(tokens.find(text), None, "{what} shows the token:\n{text}");
            if long {
                assert_eq!(
                    finder.find(text),
                    None,
                    "{what} shows {secret:?} (echoed as {spelling:?}):\n{text}"
                );
            }
            let (got, want) = (finder.counts(text), finder.counts(clean));
            for ((spelled, got), want) in finder.spellings().iter().zip(got).zip(want) {
                assert!(
                    got <= want,
                    "{what} shows {spelled:?}, a spelling of {secret:?} (echoed as \
                     {spelling:?}), {got} times ({want} with a redacted echo):\n{text}"
                );
            }
        }
    }
}

#[test]
fn the_secrets_have_the_lengths_meant() {
    let lengths: Vec<usize> = SECRETS.iter().map(|s| s.chars().count()).collect();
    for n in [1, 2, 3, 16, 42] {
        assert!(lengths.contains(&n), "no secret of {n} characters");
    }
}

#[test]
fn the_probe_finds_a_leak() {
    // The raw request body, as `http` prints it, holds the secret: the scan sees it.
    let leaky = format!("{:?}", request(SECRET).to_http());
    assert!(spellings::find(&leaky, SECRET).is_some(), "{leaky}");
    // And an echo left as it came would be seen, for a short secret too.
    assert!(spellings::find(r#"Scope("tenant.19 7 x")"#, "7").is_some());
}

#[test]
fn no_public_type_prints_a_secret_or_token_in_debug() {
    for secret in SECRETS {
        check_secret(secret);
    }
}
