//! Parsing a token response into a [`Token`] or an [`Error`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::sync::OnceLock;
use std::time::Duration;

use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorDetail, ErrorResponse, Problem, Reason};
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
    // One UTF-8 check of the whole body, then serde_json reads it as `str` (its slice reader
    // would validate every string again, which costs more).
    let text = match std::str::from_utf8(body) {
        Ok(text) => text,
        Err(e) => {
            let (line, column) = line_column(body, e.valid_up_to());
            fail!(Problem::MalformedJson { line, column });
        }
    };
    let raw: RawToken<'_> = match serde_json::from_str(text) {
        Ok(raw) => raw,
        Err(e) => fail!(Problem::MalformedJson {
            line: e.line(),
            column: e.column(),
        }),
    };

    let access_token = match raw.access_token {
        None | Some(Json::Null) => fail!(Problem::MissingField("access_token")),
        Some(Json::Str(s)) => match AccessToken::new(&s) {
            Ok(token) => token,
            Err(_) => fail!(invalid(
                "access_token",
                "1 to 4096 visible US-ASCII characters"
            )),
        },
        Some(_) => fail!(invalid("access_token", "a string")),
    };
    let token_type = match raw.token_type {
        None | Some(Json::Null) => fail!(Problem::MissingField("token_type")),
        Some(Json::Str(s)) if s == "bearer" || s.eq_ignore_ascii_case("bearer") => s,
        Some(Json::Str(s)) => fail!(Problem::TokenType(scrubber.clean(&s, TOKEN_TYPE_LEN))),
        Some(_) => fail!(invalid("token_type", "the string `bearer`")),
    };
    let expires_in = match raw.expires_in {
        None | Some(Json::Null) => fail!(Problem::MissingField("expires_in")),
        Some(Json::Int(n)) => whole_lifetime(n),
        Some(Json::Num(n)) => lifetime(n),
        Some(Json::Str(s)) => numeric_string(s.trim()),
        Some(_) => None,
    };
    let Some(expires_in) = expires_in else {
        fail!(invalid("expires_in", "a positive number of seconds"));
    };
    // The fields a `Debug` shows, and a store keeps, with any echo of the secret hidden:
    // borrowed, so no work, unless there is one.
    let jti = match &raw.jti {
        Some(Json::Str(s)) => Some(scrubber.shown(s)),
        _ => None,
    };
    let scope = match raw.scope {
        // The scope this client got last time, already searched: a comparison, and the
        // same (shared) scope.
        Some(Json::Str(s)) if clean_scope.get().is_some_and(|clean| clean.as_str() == s) => {
            clean_scope.get().cloned().unwrap_or_default()
        }
        Some(Json::Str(s)) => match scrubber.shown(&s) {
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

/// A number sent as a string, as a lifetime: an integer (`"3599"`, `"+3599"`), else JSON
/// number syntax (`"3599.5"`, `"3.599e3"`). Not `str::parse::<f64>`: its float-parsing
/// tables add about 14 KB to an optimised wasm module, and serde_json's number parser is
/// already there.
fn numeric_string(s: &str) -> Option<Duration> {
    match s.parse::<u64>() {
        Ok(n) => whole_lifetime(n),
        // Through the token's own value visitor: `from_str::<f64>` would instantiate serde's
        // invalid-type error, whose message formatting (`Unexpected`, `{:?}` of strings and
        // their Unicode tables) weighs about 5 KB in a wasm module.
        Err(_) => match serde_json::from_str::<Json<'_>>(s) {
            Ok(Json::Int(n)) => whole_lifetime(n),
            Ok(Json::Num(n)) => lifetime(n),
            _ => None,
        },
    }
}

/// A whole number of seconds → a lifetime, if it is positive: the same as [`lifetime`]
/// of it as a float, without the float for the integers a float holds exactly.
fn whole_lifetime(secs: u64) -> Option<Duration> {
    const EXACT: u64 = 1 << f64::MANTISSA_DIGITS;
    match secs {
        0 => None,
        1..=EXACT => Some(Duration::from_secs(secs)),
        _ => lifetime(secs as f64),
    }
}

/// `expires_in` seconds → a lifetime, if it is positive. A positive value below a
/// nanosecond (`1e-73`) would round to a zero lifetime: it is refused like zero. Any longer
/// lifetime is believed (saturating at `Duration::MAX`); the lifecycle clamps what it
/// caches ([`LifecycleConfig::with_max_lifetime`](crate::LifecycleConfig::with_max_lifetime)).
fn lifetime(secs: f64) -> Option<Duration> {
    (secs > 0.0)
        .then(|| Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        .filter(|d| !d.is_zero())
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

/// The known error-body shapes, best-effort: anything else gives an empty detail.
fn error_detail(body: &[u8], scrubber: &Scrubber<'_>) -> ErrorDetail {
    let Ok(text) = std::str::from_utf8(body) else {
        return ErrorDetail::default();
    };
    let Ok(raw) = serde_json::from_str::<ErrorBody<'_>>(text) else {
        return ErrorDetail::default();
    };
    let clean = |t: Option<Text<'_>>| t.map(|t| scrubber.clean(t.as_str(), DETAIL_LEN));
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

/// The fields of the known error-body shapes, borrowed from the body. Read with small
/// visitors rather than through a `serde_json::Value` (whose code weighs about 5 KB in a
/// wasm module): a field of an unexpected type reads as absent, a body that is not an
/// object as empty.
#[derive(Default)]
struct ErrorBody<'a> {
    error: Option<Text<'a>>,
    error_description: Option<Text<'a>>,
    message: Option<Text<'a>>,
    reasons: Vec<RawReason<'a>>,
}

/// One entry of `reasons`.
#[derive(Default)]
struct RawReason<'a> {
    code: Option<Text<'a>>,
    message: Option<Text<'a>>,
}

/// A string, or an integer as its decimal text (codes come as either).
enum Text<'a> {
    Str(Cow<'a, str>),
    Int(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Self::Str(s) => s,
            Self::Int(s) => s,
        }
    }
}

/// The keys this parser reads.
enum Key {
    Error,
    ErrorDescription,
    Message,
    Reasons,
    Code,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "error" => Key::Error,
                    "error_description" => Key::ErrorDescription,
                    "message" => Key::Message,
                    "reasons" => Key::Reasons,
                    "code" => Key::Code,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// A value read as [`Text`] if it is one, else skipped.
struct MaybeText<'a>(Option<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for MaybeText<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = MaybeText<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Str(Cow::Borrowed(v)))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Str(Cow::Owned(v.to_owned())))))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Int(v.to_string()))))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Text::Int(v.to_string()))))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(MaybeText(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(MaybeText(None))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An object read field by field (others skipped); anything else read as the default.
struct Object<T>(T);

/// How an [`Object`] takes one field: `true` if it read the value.
trait Fields<'de>: Default {
    fn field<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<bool, A::Error>;
}

impl<'de> Fields<'de> for ErrorBody<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<bool, A::Error> {
        match key {
            Key::Error => self.error = map.next_value::<MaybeText<'de>>()?.0,
            Key::ErrorDescription => {
                self.error_description = map.next_value::<MaybeText<'de>>()?.0;
            }
            Key::Message => self.message = map.next_value::<MaybeText<'de>>()?.0,
            Key::Reasons => self.reasons = map.next_value::<Reasons<'de>>()?.0,
            Key::Code | Key::Other => return Ok(false),
        }
        Ok(true)
    }
}

impl<'de> Fields<'de> for RawReason<'de> {
    fn field<A: MapAccess<'de>>(&mut self, key: Key, map: &mut A) -> Result<bool, A::Error> {
        match key {
            Key::Code => self.code = map.next_value::<MaybeText<'de>>()?.0,
            Key::Message => self.message = map.next_value::<MaybeText<'de>>()?.0,
            _ => return Ok(false),
        }
        Ok(true)
    }
}

impl<'de, T: Fields<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Fields<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = T::default();
                while let Some(key) = map.next_key::<Key>()? {
                    if !out.field(key, &mut map)? {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(Object(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Object(T::default()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Object(T::default()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de> Deserialize<'de> for ErrorBody<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Object::deserialize(d).map(|o| o.0)
    }
}

/// `reasons`: the entries that are objects, if it is an array; nothing otherwise.
struct Reasons<'a>(Vec<RawReason<'a>>);

impl<'de> Deserialize<'de> for Reasons<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de> Visitor<'de> for V<'de> {
            type Value = Reasons<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(Object(r)) = seq.next_element::<Object<RawReason<'de>>>()? {
                    if r.code.is_some() || r.message.is_some() {
                        items.push(r);
                    }
                }
                Ok(Reasons(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Reasons(Vec::new()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Reasons(Vec::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Reasons(Vec::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Reasons(Vec::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Reasons(Vec::new()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Reasons(Vec::new()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Reasons(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// The fields of a token response. Every field takes any JSON value, so that a wrong type
/// is reported by field name (serde's own messages may quote the value, which may be the
/// token). Read by one hand-written visitor: the keys are matched as bytes, unknown ones
/// skipped, and a repeated field is an error (as it was with serde's derive).
#[derive(Default)]
struct RawToken<'a> {
    access_token: Option<Json<'a>>,
    expires_in: Option<Json<'a>>,
    jti: Option<Json<'a>>,
    scope: Option<Json<'a>>,
    token_type: Option<Json<'a>>,
}

impl<'de> Deserialize<'de> for RawToken<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `deserialize_any` and every other kind of value refused here, not
        // `deserialize_map`: serde's invalid-type error (and its formatting) is never built.
        // The parser checks that a body starts with `{` first, so these are not reached.
        d.deserialize_any(RawTokenVisitor)
    }
}

/// The error for a token response that is not an object (not reached: see above).
fn not_an_object<E: de::Error>() -> E {
    E::custom("a token response must be a JSON object")
}

struct RawTokenVisitor;

impl<'de> Visitor<'de> for RawTokenVisitor {
    type Value = RawToken<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawToken::default();
        while let Some(key) = map.next_key::<TokenKey>()? {
            let (slot, name) = match key {
                TokenKey::AccessToken => (&mut raw.access_token, "access_token"),
                TokenKey::ExpiresIn => (&mut raw.expires_in, "expires_in"),
                TokenKey::Jti => (&mut raw.jti, "jti"),
                TokenKey::Scope => (&mut raw.scope, "scope"),
                TokenKey::TokenType => (&mut raw.token_type, "token_type"),
                TokenKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            if slot.is_some() {
                return Err(de::Error::duplicate_field(name));
            }
            *slot = Some(map.next_value::<Json<'de>>()?);
        }
        Ok(raw)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(not_an_object())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Err(not_an_object())
    }
}

/// The keys of a token response this parser reads.
enum TokenKey {
    AccessToken,
    ExpiresIn,
    Jti,
    Scope,
    TokenType,
    Other,
}

impl<'de> Deserialize<'de> for TokenKey {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = TokenKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<TokenKey, E> {
                // The length first: one comparison of bytes per key at most.
                Ok(match (v.len(), v.as_bytes()) {
                    (12, b"access_token") => TokenKey::AccessToken,
                    (10, b"expires_in") => TokenKey::ExpiresIn,
                    (3, b"jti") => TokenKey::Jti,
                    (5, b"scope") => TokenKey::Scope,
                    (10, b"token_type") => TokenKey::TokenType,
                    _ => TokenKey::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON value reduced to what the parser needs; strings borrow from the body when they
/// have no escapes.
enum Json<'a> {
    Str(Cow<'a, str>),
    /// A non-negative integer, kept exact.
    Int(u64),
    Num(f64),
    Null,
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Json::Str(Cow::Owned(v)))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Json::Int(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Json::Num(v as f64))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Json::Num(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Json::Other)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Json::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Json::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Json::Other)
    }
}
