//! Parsing a token response into a [`Token`] or an [`Error`].

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use http::header::LOCATION;
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, ErrorDetail, ErrorResponse, Problem, Reason};
use crate::meta::ResponseMeta;
use crate::scope::Scope;
use crate::token::{AccessToken, Token};

/// The most characters kept of any one string taken from an error body.
const DETAIL_LEN: usize = 200;

const REDACTED: &str = "[redacted]";

pub(crate) fn parse<B: AsRef<[u8]>>(
    response: &http::Response<B>,
    scrubber: &Scrubber<'_>,
) -> Result<Token, Error> {
    let status = response.status();
    let headers = response.headers();
    let body = response.body().as_ref();
    let (mut meta, content_type) = ResponseMeta::with_content_type(status, headers);
    // Header values are shown too (`Display` quotes the request ID): scrub them as well.
    meta.redact(|value| scrubber.leaks_value(value));
    if status.is_success() {
        return parse_token(content_type, body, meta).map_err(|(problem, meta)| {
            let response = ErrorResponse::new(meta, ErrorDetail::default(), scrubber.excerpt(body));
            // The texts a problem quotes come from the response: scrub them too.
            let problem = match problem {
                Problem::TokenType(t) => Problem::TokenType(scrubber.clean(&t, 40)),
                Problem::ContentType { found: Some(t) } => Problem::ContentType {
                    found: Some(scrubber.clean(&t, 80)),
                },
                other => other,
            };
            Error::UnexpectedResponse { problem, response }
        });
    }
    let redirect_location = status.is_redirection().then(|| {
        headers
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .map(|l| scrubber.clean(l, DETAIL_LEN))
    });
    let response = ErrorResponse::new(meta, error_detail(body, scrubber), scrubber.excerpt(body));
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

/// A 2xx response: JSON object with the token fields. On failure the metadata comes back
/// with the problem, for the error.
// The `Err` is as large as the `Ok` (a `Token` holds the same metadata); boxing it would
// add an allocation to the error path for nothing.
#[allow(clippy::result_large_err)]
fn parse_token(
    content_type: Option<&HeaderValue>,
    body: &[u8],
    meta: ResponseMeta,
) -> Result<Token, (Problem, ResponseMeta)> {
    // Every failure hands `meta` back; the token is built in place, with no struct of
    // fields in between (a parse is counted in instructions: benches/callgrind.sh).
    macro_rules! fail {
        ($problem:expr) => {
            return Err(($problem, meta))
        };
    }
    let content_type = content_type.map(|v| v.to_str().unwrap_or("(not text)"));
    if !content_type.is_some_and(is_json) {
        fail!(Problem::ContentType {
            found: content_type.map(|t| clean(t, None, 80)),
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
        Some(Json::Str(s)) if s.eq_ignore_ascii_case("bearer") => s,
        Some(Json::Str(s)) => fail!(Problem::TokenType(clean(&s, None, 40))),
        Some(_) => fail!(invalid("token_type", "the string `bearer`")),
    };
    let expires_in = match raw.expires_in {
        None | Some(Json::Null) => fail!(Problem::MissingField("expires_in")),
        Some(Json::Num(n)) => lifetime(n),
        Some(Json::Str(s)) => numeric_string(s.trim()).and_then(lifetime),
        Some(_) => None,
    };
    let Some(expires_in) = expires_in else {
        fail!(invalid("expires_in", "a positive number of seconds"));
    };
    let jti = match raw.jti {
        Some(Json::Str(s)) => Some(s.into_owned()),
        _ => None,
    };
    let scope = match raw.scope {
        Some(Json::Str(s)) => Scope::new(s),
        _ => Scope::default(),
    };
    Ok(Token::from_response(
        access_token,
        expires_in,
        jti,
        scope,
        &token_type,
        meta,
    ))
}

fn invalid(field: &'static str, expected: &'static str) -> Problem {
    Problem::InvalidField { field, expected }
}

/// A number sent as a string: an integer (`"3599"`, `"+3599"`), else JSON number syntax
/// (`"3599.5"`, `"3.599e3"`). Not `str::parse::<f64>`: its float-parsing tables add about
/// 14 KB to an optimised wasm module, and serde_json's number parser is already there.
fn numeric_string(s: &str) -> Option<f64> {
    match s.parse::<u64>() {
        Ok(n) => Some(n as f64),
        Err(_) => serde_json::from_str::<f64>(s).ok(),
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

/// Removes secrets from text taken from a response before it is kept anywhere: the client
/// secret (raw and form-encoded) and the value of any JSON `access_token` field.
pub(crate) struct Scrubber<'a> {
    secrets: [&'a str; 2],
}

impl<'a> Scrubber<'a> {
    pub(crate) fn new(secrets: [&'a str; 2]) -> Self {
        Self { secrets }
    }

    /// The start of `body` as one line of text, scrubbed and capped.
    pub(crate) fn excerpt(&self, body: &[u8]) -> String {
        // Scrub before cutting, so a secret cut in half cannot survive.
        let text = String::from_utf8_lossy(body);
        clean(&self.scrub(&text), None, ErrorResponse::EXCERPT_LEN)
    }

    /// A string field from a body: scrubbed, one line, capped at `max` characters.
    pub(crate) fn clean(&self, text: &str, max: usize) -> String {
        clean(text, Some(self), max)
    }

    /// Whether `text` holds the secret in any spelling. Allocates only for text with an
    /// escape (`%` or `\`), which every spelling but the raw and the form one has.
    pub(crate) fn leaks(&self, text: &str) -> bool {
        let [raw, encoded] = self.secrets;
        // Every spelling is at least as long as the raw secret (escaping only lengthens):
        // shorter text, such as most header values, cannot hold one. No search needed.
        if !raw.is_empty() && text.len() < raw.len() {
            return false;
        }
        if text.contains(raw) || (!encoded.is_empty() && text.contains(encoded)) {
            return true;
        }
        // Every other spelling has an escape (`%`, `\\`), or `+` for a space.
        (text.contains(['%', '\\']) || (raw.contains(' ') && text.contains('+')))
            && spelled_ranges(text, raw).next().is_some()
    }

    /// [`leaks`](Self::leaks) for a header value; one shorter than the secret is not even
    /// read as text. A value that is not visible ASCII is never shown, so never leaks.
    pub(crate) fn leaks_value(&self, value: &HeaderValue) -> bool {
        let [raw, _] = self.secrets;
        if !raw.is_empty() && value.len() < raw.len() {
            return false;
        }
        value.to_str().is_ok_and(|text| self.leaks(text))
    }

    fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let [raw, _] = self.secrets;
        let mut text = Cow::Borrowed(text);
        if !raw.is_empty() && text.len() >= raw.len() {
            let ranges: Vec<_> = spelled_ranges(&text, raw).collect();
            if !ranges.is_empty() {
                let mut out = String::with_capacity(text.len());
                let mut last = 0;
                for (start, end) in ranges {
                    out.push_str(&text[last..start]);
                    out.push_str(REDACTED);
                    last = end;
                }
                out.push_str(&text[last..]);
                text = Cow::Owned(out);
            }
        }
        redact_loose_access_token(redact_json_string_field(text, "\"access_token\""))
    }
}

/// Every place in `text` that spells `secret` in any way a server or a proxy might echo it:
/// each character as itself, as a JSON escape (`\uXXXX` in either case — Java's JSON writers
/// escape `=` as `\u003d` —, `\/`, `\"`, `\\`…), or percent-encoded byte by byte (`%XX`
/// in either case, `+` for a space); mixed within one occurrence too. Byte ranges, in order,
/// never overlapping.
fn spelled_ranges<'t>(text: &'t str, secret: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if secret.is_empty() {
            return None;
        }
        while start < bytes.len() {
            if let Some(end) = spelled_at(bytes, start, secret) {
                let found = (start, end);
                start = end;
                return Some(found);
            }
            start += 1;
            // Only start at character boundaries.
            while start < bytes.len() && !text.is_char_boundary(start) {
                start += 1;
            }
        }
        None
    })
}

/// Where a spelling of `secret` that starts at byte `at` ends, if one does (the longest).
/// A `%`, `\\` or `+` may stand as itself or begin an escape, so each character may end at
/// several places: they are followed together, as a set, so that no text makes this slow.
fn spelled_at(text: &[u8], at: usize, secret: &str) -> Option<usize> {
    let mut ends = vec![at];
    for c in secret.chars() {
        // A handful of positions at most: a linear check keeps them distinct (and no sort
        // routine in the wasm module).
        let mut next: Vec<usize> = Vec::new();
        for end in ends
            .iter()
            .flat_map(|&pos| spellings_of(text, pos, c))
            .flatten()
        {
            if !next.contains(&end) {
                next.push(end);
            }
        }
        if next.is_empty() {
            return None;
        }
        ends = next;
    }
    ends.into_iter().max()
}

/// Where each spelling of `c` that starts at byte `at` ends: as itself, as a JSON escape,
/// percent-encoded.
///
/// A JSON escape may have its backslash escaped again, any number of times (`\\u003d`,
/// `\\\"`: JSON quoted inside a JSON string, as an upstream error often is), so a run of
/// backslashes introduces one escape; for `\` itself, the escape is a backslash pair.
fn spellings_of(text: &[u8], at: usize, c: char) -> [Option<usize>; 3] {
    let mut buf = [0; 4];
    let utf8 = c.encode_utf8(&mut buf).as_bytes();
    let rest = text.get(at..).unwrap_or_default();
    let literal = rest.starts_with(utf8).then_some(at + utf8.len());
    let run = rest.iter().take_while(|&&b| b == b'\\').count();
    let escape_at = if c == '\\' { run.min(1) } else { run };
    let json = match rest
        .get(escape_at..)
        .filter(|_| run > 0)
        .unwrap_or_default()
    {
        [b'u', a, b, c2, d, ..] => hex_value(&[*a, *b, *c2, *d])
            .and_then(char::from_u32)
            .filter(|&d| d == c)
            .map(|_| at + escape_at + 5),
        [escape, ..] => {
            let decoded = match escape {
                b'/' => Some('/'),
                b'"' => Some('"'),
                b'\\' => Some('\\'),
                b'b' => Some('\u{8}'),
                b'f' => Some('\u{c}'),
                b'n' => Some('\n'),
                b'r' => Some('\r'),
                b't' => Some('\t'),
                _ => None,
            };
            (decoded == Some(c)).then_some(at + escape_at + 1)
        }
        [] => None,
    };
    // Percent-encoded byte by byte, either hex case; `+` for a space.
    let mut pos = Some(at);
    for &b in utf8 {
        pos = pos.and_then(|p| match text.get(p..)? {
            [b'+', ..] if b == b' ' => Some(p + 1),
            [b'%', hi, lo, ..] => (hex_value(&[*hi, *lo])? == u32::from(b)).then_some(p + 3),
            _ => None,
        });
    }
    [literal, json, pos]
}

/// The value of hex digits (either case), or `None` when any byte is not one (`+` and `-`
/// included, which `from_str_radix` would take as a sign).
fn hex_value(digits: &[u8]) -> Option<u32> {
    digits
        .iter()
        .try_fold(0, |acc, &d| Some(acc * 16 + char::from(d).to_digit(16)?))
}

/// Scrubs (when given a scrubber), turns control characters into spaces, trims and caps.
fn clean(text: &str, scrubber: Option<&Scrubber<'_>>, max: usize) -> String {
    let text = match scrubber {
        Some(s) => s.scrub(text),
        None => Cow::Borrowed(text),
    };
    let text = text.trim();
    let truncated = text.chars().nth(max).is_some();
    let keep = if truncated {
        max.saturating_sub(1)
    } else {
        max
    };
    let mut out: String = text
        .chars()
        .take(keep)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if truncated {
        out.push('…');
    }
    out
}

/// Replaces the string value after each occurrence of `key` (a quoted JSON key) with
/// `[redacted]`. Tolerates broken JSON: it only needs `key`, `:` and an opening quote.
fn redact_json_string_field<'t>(text: Cow<'t, str>, key: &str) -> Cow<'t, str> {
    if !text.contains(key) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.find(key) {
        let after_key = at + key.len();
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let value_start = rest
            .trim_start()
            .strip_prefix(':')
            .map(str::trim_start)
            .and_then(|v| v.strip_prefix('"'));
        let Some(value) = value_start else { continue };
        // Copy up to and including the opening quote, then skip the value.
        let opening = rest.len() - value.len();
        out.push_str(&rest[..opening]);
        out.push_str(REDACTED);
        let mut escaped = false;
        let end = value
            .char_indices()
            .find(|&(_, c)| {
                let closes = c == '"' && !escaped;
                escaped = c == '\\' && !escaped;
                closes
            })
            .map_or(value.len(), |(i, _)| i);
        rest = &value[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// Replaces the value after each `access_token` in the spellings that are not a JSON field:
/// form or query (`access_token=…`) and JSON inside a JSON string
/// (`\"access_token\":\"…\"`). The value ends at whitespace, a quote, a backslash or `&`.
fn redact_loose_access_token(text: Cow<'_, str>) -> Cow<'_, str> {
    const KEY: &str = "access_token";
    if !text.contains(KEY) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest: &str = &text;
    while let Some(at) = rest.find(KEY) {
        let after_key = at + KEY.len();
        out.push_str(&rest[..after_key]);
        rest = &rest[after_key..];
        let value = rest.strip_prefix("\\\"").unwrap_or(rest).trim_start();
        let Some(value) = value.strip_prefix([':', '=']).map(str::trim_start) else {
            continue;
        };
        let value = value
            .strip_prefix("\\\"")
            .or_else(|| value.strip_prefix('"'))
            .unwrap_or(value);
        let end = value
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '&'))
            .unwrap_or(value.len());
        out.push_str(&rest[..rest.len() - value.len()]);
        if end > 0 {
            out.push_str(REDACTED);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// The fields of a token response. Every field takes any JSON value, so that a wrong type
/// is reported by field name (serde's own messages may quote the value, which may be the
/// token).
#[derive(Deserialize)]
struct RawToken<'a> {
    #[serde(borrow)]
    access_token: Option<Json<'a>>,
    #[serde(borrow)]
    expires_in: Option<Json<'a>>,
    #[serde(borrow)]
    jti: Option<Json<'a>>,
    #[serde(borrow)]
    scope: Option<Json<'a>>,
    #[serde(borrow)]
    token_type: Option<Json<'a>>,
}

/// A JSON value reduced to what the parser needs; strings borrow from the body when they
/// have no escapes.
enum Json<'a> {
    Str(Cow<'a, str>),
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
        Ok(Json::Num(v as f64))
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
