//! Parsing a token response into a [`Token`] or an [`Error`].

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use zeroize::Zeroize;

use crate::error::{Error, ErrorDetail, ErrorResponse, Problem, Reason};
use crate::json::{Number, Reader, Syntax, Value};
use crate::meta::{FoundHeaders, ResponseMeta};
use crate::scope::Scope;
use crate::scrub::Scrubber;
use crate::token::{AccessToken, Token};

/// The most characters kept of any one string taken from an error body.
const DETAIL_LEN: usize = 200;
/// The most characters kept of a `token_type` that is not `bearer`.
const TOKEN_TYPE_LEN: usize = 40;
/// The most characters kept of a `Content-Type` that is not JSON.
const CONTENT_TYPE_LEN: usize = 80;

/// `clean_scope` is a scope already found clean for this scrubber's secret (filled here
/// the first time one is).
pub(crate) fn parse<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    scrubber: &Scrubber<'_>,
    clean_scope: &OnceLock<Scope>,
) -> Result<Token, Error> {
    let status = response.status();
    let headers = response.headers();
    let body = response.body().as_ref();
    let (found, content_type) = ResponseMeta::find(status, headers);
    if status.is_success() {
        return parse_token(content_type, body, found, scrubber, clean_scope).map_err(|problem| {
            let excerpt = scrubber.excerpt(body, ErrorResponse::EXCERPT_LEN);
            let meta = kept(&found, None, scrubber);
            let response = ErrorResponse::new(meta, ErrorDetail::default(), excerpt);
            Error::UnexpectedResponse { problem, response }
        });
    }
    let meta = kept(&found, None, scrubber);
    let redirect_location = status.is_redirection().then(|| {
        headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| scrubber.clean(l, DETAIL_LEN))
    });
    let excerpt = scrubber.excerpt(body, ErrorResponse::EXCERPT_LEN);
    let response = ErrorResponse::new(meta, error_detail(body, scrubber), excerpt);
    Err(match status {
        StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
            Error::Rejected(response)
        }
        StatusCode::TOO_MANY_REQUESTS => Error::RateLimited(response),
        s if s.is_server_error() => Error::Server(response),
        _ => Error::UnexpectedResponse {
            problem: match redirect_location {
                Some(location) => Problem::Redirect { location },
                None => Problem::Status,
            },
            response,
        },
    })
}

/// The metadata of a response: its kept header values (and the token's `jti`) copied
/// into one buffer. The values stay as received (the library acts on them); the ones that
/// spell the secret are marked, and shown as `[redacted]`.
fn kept(found: &FoundHeaders<'_>, jti: Option<&str>, scrubber: &Scrubber<'_>) -> ResponseMeta {
    let mut meta = found.keep(jti);
    meta.hide(scrubber.min_len(), |value| scrubber.leaks(value));
    meta
}

/// A 2xx response: JSON object with the token fields. On failure the problem, for the
/// error (with the metadata the caller keeps).
fn parse_token(
    content_type: Option<&HeaderValue>,
    body: &[u8],
    found: FoundHeaders<'_>,
    scrubber: &Scrubber<'_>,
    clean_scope: &OnceLock<Scope>,
) -> Result<Token, Problem> {
    // The token is built in place, with no struct of fields in between (a parse is
    // counted in instructions: benches/callgrind.sh).
    macro_rules! fail {
        ($problem:expr) => {
            return Err($problem)
        };
    }
    // What Zuora sends, compared as bytes; anything else read as text and parsed.
    let usual = content_type.is_some_and(|v| {
        matches!(
            v.as_bytes(),
            b"application/json;charset=utf-8" | b"application/json"
        )
    });
    if !usual
        && !content_type
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json)
    {
        let content_type = content_type.map(|v| v.to_str().unwrap_or("(not text)"));
        fail!(Problem::ContentType {
            found: content_type.map(|t| scrubber.clean(t, CONTENT_TYPE_LEN)),
        });
    }
    let Some(first) = body.iter().position(|b| !b.is_ascii_whitespace()) else {
        fail!(Problem::EmptyBody);
    };
    if body[first] != b'{' {
        let (line, column) = line_column(body, first);
        fail!(Problem::MalformedJson { line, column });
    }
    // One UTF-8 check of the whole body, then the JSON is read as `str`.
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(body, e.valid_up_to());
            fail!(Problem::MalformedJson { line, column });
        }
    };
    let raw = match read_token(text) {
        Ok(raw) => raw,
        Err(Syntax(at)) => {
            let (line, column) = line_column(body, at);
            fail!(Problem::MalformedJson { line, column });
        }
    };

    let access_token = match raw.access_token {
        None | Some(Value::Null) => fail!(Problem::MissingField("access_token")),
        Some(Value::Str(s)) => {
            let token = AccessToken::new(&s);
            // A token written with escapes was decoded into a copy of its own.
            if let Cow::Owned(mut copy) = s {
                copy.zeroize();
            }
            match token {
                Ok(token) => token,
                Err(_) => fail!(invalid(
                    "access_token",
                    "1 to 4096 visible US-ASCII characters"
                )),
            }
        }
        Some(_) => fail!(invalid("access_token", "a string")),
    };
    let token_type = match raw.token_type {
        None | Some(Value::Null) => fail!(Problem::MissingField("token_type")),
        Some(Value::Str(s)) if s == "bearer" || s.eq_ignore_ascii_case("bearer") => s,
        Some(Value::Str(s)) => fail!(Problem::TokenType(scrubber.clean(&s, TOKEN_TYPE_LEN))),
        Some(_) => fail!(invalid("token_type", "the string `bearer`")),
    };
    let expires_in = match raw.expires_in {
        None | Some(Value::Null) => fail!(Problem::MissingField("expires_in")),
        Some(Value::Num(n)) => n.lifetime(),
        Some(Value::Str(s)) => numeric_string(s.trim()),
        Some(Value::Other) => None,
    };
    let Some(expires_in) = expires_in else {
        fail!(invalid("expires_in", "a positive number of seconds"));
    };
    // The fields a `Debug` shows, and a store keeps, with any echo of the secret hidden:
    // borrowed, so no work, unless there is one.
    let jti = match &raw.jti {
        Some(Value::Str(s)) => Some(scrubber.shown(s)),
        _ => None,
    };
    let scope = match raw.scope {
        // The scope this client got last time, already searched: a comparison, and the
        // same (shared) scope.
        Some(Value::Str(s)) if clean_scope.get().is_some_and(|clean| clean.as_str() == s) => {
            clean_scope.get().cloned().unwrap_or_default()
        }
        Some(Value::Str(s)) => match scrubber.shown(&s) {
            Cow::Borrowed(_) => {
                // Remembered once per request (shared by its tokens from then on).
                let scope = Scope::new(s.into_owned());
                let _ = clean_scope.set(scope.clone());
                scope
            }
            Cow::Owned(shown) => Scope::new(shown),
        },
        _ => Scope::default(),
    };
    let token_type = scrubber.shown(&token_type);
    // The kept headers and the `jti`: one allocation.
    let meta = kept(&found, jti.as_deref(), scrubber);
    Ok(Token::from_response(
        access_token,
        expires_in,
        scope,
        &token_type,
        meta,
    ))
}

fn invalid(field: &'static str, expected: &'static str) -> Problem {
    Problem::InvalidField { field, expected }
}

/// A number sent as a string, as a lifetime: an integer (`"3599"`, `"+3599"`), else a
/// JSON number (`"3599.5"`, `"3.599e3"`). Not `str::parse::<f64>`: its float-parsing tables
/// add about 14 KB to an optimised wasm module, and the lifetime is taken from the decimal
/// text exactly.
fn numeric_string(s: &str) -> Option<Duration> {
    match s.parse::<u64>() {
        Ok(0) => None,
        Ok(n) => Some(Duration::from_secs(n)),
        Err(_) => Number::parse(s)?.lifetime(),
    }
}

/// `application/json` or `application/<x>+json`, with any parameters, in any case.
fn is_json(content_type: &str) -> bool {
    // Byte searches: `;` and `/` are ASCII, so their positions are char boundaries.
    let bytes = content_type.as_bytes();
    let end = bytes.iter().position(|&b| b == b';').unwrap_or(bytes.len());
    let essence = content_type[..end].trim();
    let Some(slash) = essence.bytes().position(|b| b == b'/') else {
        return false;
    };
    let (kind, subtype) = (&essence[..slash], &essence[slash + 1..]);
    kind.eq_ignore_ascii_case("application")
        && (subtype.eq_ignore_ascii_case("json")
            || subtype.len() > 5 && subtype[subtype.len() - 5..].eq_ignore_ascii_case("+json"))
}

fn line_column(body: &[u8], offset: usize) -> (usize, usize) {
    let before = &body[..offset];
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let column = 1 + before.iter().rev().take_while(|&&b| b != b'\n').count();
    (line, column)
}

/// The known error-body shapes, best-effort: anything else gives an empty detail (a body
/// that is not JSON included). Fields of an unexpected type read as absent.
fn error_detail(body: &[u8], scrubber: &Scrubber<'_>) -> ErrorDetail {
    let Ok(text) = std::str::from_utf8(body) else {
        return ErrorDetail::default();
    };
    let Ok(raw) = read_error_body(text) else {
        return ErrorDetail::default();
    };
    let clean = |t: Option<Cow<'_, str>>| t.map(|t| scrubber.clean(&t, DETAIL_LEN));
    ErrorDetail {
        error: clean(raw.error),
        error_description: clean(raw.error_description),
        message: clean(raw.message),
        reasons: raw
            .reasons
            .into_iter()
            .map(|r| Reason {
                code: clean(r.code),
                message: clean(r.message),
            })
            .collect(),
    }
}

/// The fields of the known error-body shapes, borrowed from the body.
#[derive(Default)]
struct ErrorBody<'a> {
    error: Option<Cow<'a, str>>,
    error_description: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
    reasons: Vec<RawReason<'a>>,
}

/// One entry of `reasons`.
#[derive(Default)]
struct RawReason<'a> {
    code: Option<Cow<'a, str>>,
    message: Option<Cow<'a, str>>,
}

/// An error body: an object with `error`, `error_description`, `message` and `reasons`
/// (the last of each if repeated); any other value reads as an empty body.
fn read_error_body(text: &str) -> Result<ErrorBody<'_>, Syntax> {
    let mut reader = Reader::new(text);
    let mut body = ErrorBody::default();
    if reader.object()? {
        let mut first = true;
        while let Some(key) = reader.key(first)? {
            first = false;
            match &*key {
                "error" => body.error = text_value(&mut reader)?,
                "error_description" => body.error_description = text_value(&mut reader)?,
                "message" => body.message = text_value(&mut reader)?,
                "reasons" => body.reasons = reasons(&mut reader)?,
                _ => reader.skip()?,
            }
        }
    } else {
        reader.value()?;
    }
    reader.end()?;
    Ok(body)
}

/// `reasons`: the entries that are objects with a `code` or a `message`, if it is an array;
/// nothing otherwise.
fn reasons<'a>(reader: &mut Reader<'a>) -> Result<Vec<RawReason<'a>>, Syntax> {
    let mut items = Vec::new();
    if !reader.array()? {
        reader.value()?;
        return Ok(items);
    }
    let mut first = true;
    while reader.element(first)? {
        first = false;
        if !reader.object()? {
            reader.value()?;
            continue;
        }
        let mut reason = RawReason::default();
        let mut first = true;
        while let Some(key) = reader.key(first)? {
            first = false;
            match &*key {
                "code" => reason.code = text_value(reader)?,
                "message" => reason.message = text_value(reader)?,
                _ => reader.skip()?,
            }
        }
        if reason.code.is_some() || reason.message.is_some() {
            items.push(reason);
        }
    }
    Ok(items)
}

/// A value read as text if it is a string, or an integer (as written: codes come as
/// either); absent otherwise.
fn text_value<'a>(reader: &mut Reader<'a>) -> Result<Option<Cow<'a, str>>, Syntax> {
    Ok(match reader.value()? {
        Value::Str(s) => Some(s),
        Value::Num(n) => n.integer().map(|_| Cow::Borrowed(n.as_str())),
        Value::Null | Value::Other => None,
    })
}

/// The fields of a token response, each any JSON value, so that a wrong type is reported
/// by field name. Unknown keys are skipped; a repeated field is an error.
#[derive(Default)]
struct RawToken<'a> {
    access_token: Option<Value<'a>>,
    expires_in: Option<Value<'a>>,
    jti: Option<Value<'a>>,
    scope: Option<Value<'a>>,
    token_type: Option<Value<'a>>,
}

/// A token response's object (the caller checked that the body starts with `{`).
fn read_token(text: &str) -> Result<RawToken<'_>, Syntax> {
    let mut reader = Reader::new(text);
    let mut raw = RawToken::default();
    if !reader.object()? {
        // Not reached: the body starts with `{`.
        return Err(Syntax(0));
    }
    let mut first = true;
    while let Some(key) = reader.key(first)? {
        first = false;
        // The length first: one comparison of bytes per key at most.
        let slot = match (key.len(), key.as_bytes()) {
            (12, b"access_token") => &mut raw.access_token,
            (10, b"expires_in") => &mut raw.expires_in,
            (3, b"jti") => &mut raw.jti,
            (5, b"scope") => &mut raw.scope,
            (10, b"token_type") => &mut raw.token_type,
            _ => {
                reader.skip()?;
                continue;
            }
        };
        if slot.is_some() {
            return Err(reader.here());
        }
        *slot = Some(reader.value()?);
    }
    reader.end()?;
    Ok(raw)
}
