//! Shared pieces of the fuzz targets: the fixed request, the input formats (with encoders,
//! so that the seed writer can spell meaningful inputs) and the response shapes of
//! `/work/shared/ZUORA.md`.
//!
//! The inputs are small hand-rolled formats rather than `arbitrary`-derived structures:
//! every byte string decodes to something, libFuzzer mutates them directly, and the
//! seeds in `seeds/` are readable (`parse_response`, `validators`) or written from named
//! scenarios (`lifecycle`). See README.md.

#![forbid(unsafe_code)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use zuora_oauth_core::{ClientId, ClientSecret, EntityId, Environment, TokenRequest, TrackId};

pub mod fleet;
pub mod json_reference;

/// A distinctive client secret (36 characters, with the `/`, `+` and `=` real secrets
/// have), so that finding it in a `Display` or `Debug` is never a coincidence.
pub const SECRET: &str = "fUzZ/s3cr3t+M4rk=Q7vX9kL2pN8wR4tY6uJ";
/// The secret as the form body spells it.
pub const SECRET_FORM: &str = "fUzZ%2Fs3cr3t%2BM4rk%3DQ7vX9kL2pN8wR4tY6uJ";
/// The secret as JSON may escape it (`\/`).
pub const SECRET_JSON_SLASH: &str = r"fUzZ\/s3cr3t+M4rk=Q7vX9kL2pN8wR4tY6uJ";
/// The secret as a Java (Gson) encoder escapes it: `=` as `\u003d`.
pub const SECRET_JSON_UNICODE: &str = r"fUzZ/s3cr3t+M4rk\u003dQ7vX9kL2pN8wR4tY6uJ";

pub const CLIENT_ID: &str = "8a8a8a8a-0000-1111-2222-333344445555";
pub const TRACK_ID: &str = "fuzz-track-42";
pub const ENTITY_ID: &str = "11e643f4-a3ee-8bad-b061-0025904c756d";
pub const REQUEST_ID: &str = "5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10";

/// The request every target parses with: production, the fixed secret, a track ID and an
/// entity ID.
pub fn request() -> TokenRequest {
    TokenRequest::new(
        Environment::Prod,
        ClientId::new(CLIENT_ID).expect("valid client id"),
        ClientSecret::new(SECRET).expect("valid secret"),
    )
    .with_track_id(TrackId::new(TRACK_ID).expect("valid track id"))
    .with_entity_id(EntityId::new(ENTITY_ID).expect("valid entity id"))
}

/// A secret of at most this many characters is found only where it stands as a word.
pub const SHORT_SECRET_MAX: usize = 3;

/// Whether `text` spells `secret` the way the core documents that it finds it (and so
/// hides a header value or scrubs a body holding it): each character as itself, as a
/// JSON escape (`\uXXXX`, four hex digits in either case, or `\/`, `\"`, `\\`, `\b`, `\f`,
/// `\n`, `\r`, `\t`; for any character but `\`, the escape's backslash may be escaped again,
/// any number of times) or percent-encoded byte by byte (`%XX` in either case, `+` for a
/// space), mixed freely within one occurrence; or the secret as itself, form-encoded (either
/// hex case) or JSON-escaped, written as hex (either case), standard base64 (no padding
/// needed) or a list of byte values (`109, 48` or `109,48`). A secret of at most
/// [`SHORT_SECRET_MAX`] characters counts only where a spelling stands as a whole word:
/// no letter or digit right after it, and none right before it unless an escape (`\n`,
/// `\u0041`, `%41`) ends there. An empty secret is never found.
pub fn spells(text: &str, secret: &str) -> bool {
    // Every spelling is at least as long as the secret.
    if secret.is_empty() || text.len() < secret.len() {
        return false;
    }
    let short = secret.chars().count() <= SHORT_SECRET_MAX;
    let counts = |start: usize, end: usize| !short || standalone(text, start, end);
    let bytes = text.as_bytes();
    let textual = (0..text.len())
        .filter(|&start| text.is_char_boundary(start))
        .any(|start| {
            spelled_from(bytes, start, secret)
                .into_iter()
                .any(|end| counts(start, end))
        });
    // Hex in either case: search the text with its ASCII letters lowered.
    let lowered = text.to_ascii_lowercase();
    textual
        || encoded_spellings(secret)
            .iter()
            .any(|(spelling, any_case)| {
                let haystack = if *any_case { &lowered } else { text };
                haystack
                    .match_indices(spelling.as_str())
                    .any(|(at, _)| counts(at, at + spelling.len()))
            })
}

/// Whether `text[start..end]` stands as a word, as the core documents it.
fn standalone(text: &str, start: usize, end: usize) -> bool {
    if text[end..]
        .chars()
        .next()
        .is_some_and(char::is_alphanumeric)
    {
        return false;
    }
    let before = &text[..start];
    match before.chars().next_back() {
        None => true,
        Some(c) if !c.is_alphanumeric() => true,
        Some(_) => {
            let hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
            let n = before.len();
            let tail = |k: usize| before.get(n.saturating_sub(k)..).filter(|_| n >= k);
            tail(2).is_some_and(|t| t.starts_with('\\') && t.as_bytes()[1].is_ascii_alphabetic())
                || tail(6).is_some_and(|t| t.starts_with("\\u") && hex(&t[2..]))
                || tail(3).is_some_and(|t| t.starts_with('%') && hex(&t[1..]))
        }
    }
}

/// The secret as itself, form-encoded (upper- and lower-case escapes) and JSON-escaped,
/// each written as hex (searched in any case: `true`), standard base64 without padding and
/// lists of byte values.
pub fn encoded_spellings(secret: &str) -> Vec<(String, bool)> {
    let form =
        serde_urlencoded::to_string([("x", secret)]).expect("a string encodes")[2..].to_owned();
    let mut lower_form = String::new();
    let mut pending = 0;
    for c in form.chars() {
        if c == '%' {
            pending = 2;
            lower_form.push(c);
        } else if pending > 0 {
            pending -= 1;
            lower_form.push(c.to_ascii_lowercase());
        } else {
            lower_form.push(c);
        }
    }
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json[1..json.len() - 1].to_owned();
    let mut out = Vec::new();
    for text in [secret.to_owned(), form, lower_form, json] {
        let bytes = text.as_bytes();
        let list = |sep: &str| {
            bytes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(sep)
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        for spelling in [
            (hex, true),
            (base64(bytes), false),
            (list(", "), false),
            (list(","), false),
        ] {
            if !out.contains(&spelling) {
                out.push(spelling);
            }
        }
    }
    out
}

/// Standard base64, without padding.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Where a spelling of `secret` that starts at byte `start` may end: the ends reachable
/// after each character, followed as a set (a `%` or `\` in the secret may be spelled as
/// itself or start an escape, so paths fork).
fn spelled_from(text: &[u8], start: usize, secret: &str) -> Vec<usize> {
    let mut ends = vec![start];
    for c in secret.chars() {
        let mut next: Vec<usize> = Vec::new();
        for &at in &ends {
            for end in char_spellings(text, at, c).into_iter().flatten() {
                if !next.contains(&end) {
                    next.push(end);
                }
            }
        }
        if next.is_empty() {
            return next;
        }
        ends = next;
    }
    ends
}

/// Where each documented spelling of `c` starting at byte `at` of `text` ends.
fn char_spellings(text: &[u8], at: usize, c: char) -> [Option<usize>; 4] {
    let mut buf = [0; 4];
    let utf8 = c.encode_utf8(&mut buf).as_bytes();
    let rest = text.get(at..).unwrap_or_default();
    let hex = |digits: &[u8]| -> Option<u32> {
        (!digits.is_empty() && digits.iter().all(u8::is_ascii_hexdigit))
            .then(|| u32::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok())
            .flatten()
    };
    let literal = rest.starts_with(utf8).then_some(at + utf8.len());
    // JSON: `\uXXXX`, or one of the two-character escapes, whose backslash may itself be
    // escaped any number of times (a run of backslashes introduces one escape), except for
    // `\` itself, always a pair.
    let backslashes = rest.iter().position(|&b| b != b'\\').unwrap_or(rest.len());
    let k = if c == '\\' {
        backslashes.min(1)
    } else {
        backslashes
    };
    let unicode = (backslashes >= 1
        && rest.len() >= k + 5
        && rest[k] == b'u'
        && hex(&rest[k + 1..k + 5]).and_then(char::from_u32) == Some(c))
    .then_some(at + k + 5);
    let short = match c {
        '/' => Some(b'/'),
        '"' => Some(b'"'),
        '\\' => Some(b'\\'),
        '\u{8}' => Some(b'b'),
        '\u{c}' => Some(b'f'),
        '\n' => Some(b'n'),
        '\r' => Some(b'r'),
        '\t' => Some(b't'),
        _ => None,
    };
    let short = short
        .filter(|&e| backslashes >= 1 && rest.len() > k && rest[k] == e)
        .map(|_| at + k + 1);
    // Percent-encoded, byte by byte.
    let mut pos = Some(at);
    for &b in utf8 {
        pos = pos.and_then(|p| {
            let r = text.get(p..)?;
            if b == b' ' && r.first() == Some(&b'+') {
                return Some(p + 1);
            }
            (r.len() >= 3 && r[0] == b'%' && hex(&r[1..3]) == Some(u32::from(b))).then_some(p + 3)
        });
    }
    [literal, unicode, short, pos]
}

/// Whether `text` shows [`SECRET`] in any encoding a reader would undo (see [`shows`]).
pub fn leaks_secret(text: &str) -> bool {
    shows(text, SECRET)
}

/// Whether `text` shows `secret` in any encoding a reader would undo: as is, in a `Debug`
/// string (`\\` for `\`), JSON-escaped (`\/`, `\uXXXX` in either hex case, as Java's
/// Gson writes `=`), percent-encoded (either hex case, in full or in part), or
/// JSON-escaped then `Debug`-escaped; or any of those of [`encoded_spellings`] (hex,
/// base64, byte lists).
pub fn shows(text: &str, secret: &str) -> bool {
    // Hex (any case), base64 and byte lists of the secret's spellings.
    let lowered = text.to_ascii_lowercase();
    if encoded_spellings(secret).iter().any(|(s, any_case)| {
        if *any_case {
            lowered.contains(s.as_str())
        } else {
            text.contains(s.as_str())
        }
    }) {
        return true;
    }
    // None of the other encodings touches letters or digits: a text without the secret's
    // longest alphanumeric run cannot show it.
    let run = secret
        .split(|c: char| !c.is_ascii_alphanumeric())
        .max_by_key(|r| r.len())
        .unwrap_or(secret);
    if !text.contains(run) {
        return false;
    }
    let debug = text.replace("\\\\", "\\");
    [text, debug.as_str()].into_iter().any(|t| {
        let json = json_unescape(t);
        [t, &json, &percent_decode(t), &percent_decode(&json)]
            .iter()
            .any(|d| d.contains(secret))
    })
}

/// `\uXXXX`, `\/`, `\\` and `\"` undone; anything else kept.
fn json_unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let unicode = after
            .strip_prefix('u')
            .and_then(|h| h.get(..4))
            // Four hex digits: `from_str_radix` alone would take `+03d` (a sign) as 0x3d.
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .and_then(char::from_u32);
        match (unicode, after.chars().next()) {
            (Some(c), _) => {
                out.push(c);
                rest = &after[5..];
            }
            (None, Some(c @ ('/' | '\\' | '"'))) => {
                out.push(c);
                rest = &after[1..];
            }
            _ => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `%XX` (either hex case) undone where it makes UTF-8; anything else kept.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A byte reader that never fails: missing bytes read as zero.
pub struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self(data)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    /// Big-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Big-endian, two's complement.
    pub fn i16(&mut self) -> i16 {
        i16::from_be_bytes([self.u8(), self.u8()])
    }

    /// Big-endian.
    pub fn u32(&mut self) -> u32 {
        u32::from_be_bytes([self.u8(), self.u8(), self.u8(), self.u8()])
    }

    /// A length byte, then up to that many bytes.
    pub fn bytes(&mut self) -> &'a [u8] {
        let n = usize::from(self.u8()).min(self.0.len());
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }
}

// ---- parse_response: a tiny text framing of an HTTP response ---------------------------

/// The input format of `parse_response`, an HTTP response in text:
///
/// ```text
/// 429                      <- status: leading digits; 100–599 kept, others folded in
/// retry-after: 30          <- `name: value` lines (CR before LF ignored)
/// #3: 30                   <- `#<n>` names the n-th of INTERESTING_HEADERS
/// <empty line>
/// {"message":"API rate limit exceeded"}   <- everything after is the body
/// ```
///
/// A line whose name or value `http` refuses is skipped; repeated headers are kept.
pub mod framing {
    use http::{HeaderName, HeaderValue, Response, StatusCode};

    /// Header names the core reads, plus a few it should not care about.
    pub const INTERESTING_HEADERS: [&str; 16] = [
        "content-type",
        "zuora-request-id",
        "zuora-track-id",
        "retry-after",
        "date",
        "x-ratelimit-limit-minute",
        "x-ratelimit-remaining-minute",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "location",
        "www-authenticate",
        "content-length",
        "transfer-encoding",
        "set-cookie",
        "authorization",
    ];

    /// The status a decimal number stands for: 100–599 as is, anything else folded in.
    pub fn status_of(n: u64) -> u16 {
        let n = if (100..=599).contains(&n) {
            n
        } else {
            100 + n % 500
        };
        u16::try_from(n).unwrap_or(500)
    }

    /// Decodes an input; never fails.
    pub fn decode(data: &[u8]) -> Response<&[u8]> {
        let mut lines = Lines(data);
        let status_line = lines.next().unwrap_or_default();
        let digits: Vec<u8> = status_line
            .iter()
            .copied()
            .take_while(u8::is_ascii_digit)
            .collect();
        let n = if digits.is_empty() {
            200
        } else {
            digits.iter().fold(0u64, |n, d| {
                n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            })
        };
        let mut response = Response::new(&b""[..]);
        *response.status_mut() = StatusCode::from_u16(status_of(n)).unwrap_or_default();
        while let Some(line) = lines.next() {
            if line.is_empty() {
                *response.body_mut() = lines.0;
                break;
            }
            let (name, value) = match line.iter().position(|&b| b == b':') {
                Some(i) => (&line[..i], &line[i + 1..]),
                None => (line, &b""[..]),
            };
            let value = value.strip_prefix(b" ").unwrap_or(value);
            let name = match name.strip_prefix(b"#") {
                Some(index) => {
                    let i = index.iter().fold(0usize, |n, &d| {
                        n.wrapping_mul(10)
                            .wrapping_add(usize::from(d.wrapping_sub(b'0')))
                    });
                    HeaderName::from_static(INTERESTING_HEADERS[i % INTERESTING_HEADERS.len()])
                }
                None => match HeaderName::from_bytes(name) {
                    Ok(name) => name,
                    Err(_) => continue,
                },
            };
            if let Ok(value) = HeaderValue::from_bytes(value) {
                response.headers_mut().append(name, value);
            }
        }
        response
    }

    /// Lines ending in LF (a CR before it dropped); the rest stays readable in `.0`.
    struct Lines<'a>(&'a [u8]);

    impl<'a> Iterator for Lines<'a> {
        type Item = &'a [u8];
        fn next(&mut self) -> Option<&'a [u8]> {
            if self.0.is_empty() {
                return None;
            }
            let (line, rest) = match self.0.iter().position(|&b| b == b'\n') {
                Some(i) => (&self.0[..i], &self.0[i + 1..]),
                None => (self.0, &b""[..]),
            };
            self.0 = rest;
            Some(line.strip_suffix(b"\r").unwrap_or(line))
        }
    }

    /// Encodes a response (header values must not contain a line break).
    pub fn encode(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
        let mut out = format!("{status}\n").into_bytes();
        for (name, value) in headers {
            out.extend_from_slice(format!("{name}: {value}\n").as_bytes());
        }
        out.push(b'\n');
        out.extend_from_slice(body);
        out
    }
}

// ---- response shapes of ZUORA.md --------------------------------------------------------

/// What the core must make of a [`Shape`].
#[derive(Debug, Clone, PartialEq)]
pub enum Expect {
    /// A token with this text and lifetime.
    Token { text: String, lifetime: Duration },
    /// `Error::Rejected` (permanent).
    Rejected,
    /// `Error::RateLimited` or `Error::Server` (transient), with this `Error::retry_after`.
    Transient { retry_after: Option<Duration> },
    /// `Error::UnexpectedResponse`: permanent, but for a 408 or 425 status (see
    /// [`transient_status`]).
    Unexpected,
}

/// Whether a failed response with this status is transient (`Error::is_transient`'s
/// table): 429, 5xx, and the unexpected 408 and 425; every other status is permanent.
pub fn transient_status(status: u16) -> bool {
    matches!(status, 408 | 425 | 429 | 500..=599)
}

/// A response in one of the shapes Zuora (or something in front of it) sends.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: &'static str,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect: Expect,
}

impl Shape {
    pub fn to_http(&self) -> http::Response<Vec<u8>> {
        let mut b = http::Response::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        b.body(self.body.clone())
            .expect("shapes are valid responses")
    }

    /// The `parse_response` framing of this shape.
    pub fn framed(&self) -> Vec<u8> {
        framing::encode(self.status, &self.headers, &self.body)
    }
}

/// The number of shapes [`shape`] knows; `index` is taken modulo this.
pub const SHAPES: u8 = 31;

// ---- the server's wait, restated from the docs -------------------------------------------

/// The integer `t` starts with (absurdly long ones saturate), and what follows it.
pub fn leading_integer(t: &str) -> Option<(u64, &str)> {
    let end = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    (end > 0).then(|| (t[..end].parse().unwrap_or(u64::MAX), &t[end..]))
}

/// `RateLimit-Remaining` as the core reads it: the smallest number of the windows it
/// lists (`49990, 0;w=60`), items without a number skipped.
pub fn least_remaining(value: &str) -> Option<u64> {
    value
        .split(',')
        .filter_map(|item| leading_integer(item.trim()).map(|(n, _)| n))
        .min()
}

/// `RateLimit-Reset` as the core reads it: whole seconds, a fraction rounded up.
pub fn reset_seconds(value: &str) -> Option<Duration> {
    let (secs, rest) = leading_integer(value)?;
    let fraction = rest
        .strip_prefix('.')
        .is_some_and(|f| f.chars().take_while(char::is_ascii_digit).any(|c| c != '0'));
    Some(Duration::from_secs(
        secs.saturating_add(u64::from(fraction)),
    ))
}

/// The wait a response asks of the next token request, as documented: `Retry-After` if
/// present (a date measured from the response's `Date`, else from `wall`), else
/// `RateLimit-Reset` on a 429 or when `RateLimit-Remaining` is 0; a success asks for one
/// only when nothing remains. First values of repeated headers; values trimmed.
pub fn server_wait<B>(response: &http::Response<B>, wall: SystemTime) -> Option<Duration> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let spent = header("ratelimit-remaining").and_then(least_remaining) == Some(0);
    let status = response.status();
    if status.is_success() && !spent {
        return None;
    }
    if let Some(value) = header("retry-after") {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
        }
        if let Ok(at) = httpdate::parse_http_date(value) {
            let from = header("date")
                .and_then(|d| httpdate::parse_http_date(d).ok())
                .unwrap_or(wall);
            return Some(at.duration_since(from).unwrap_or(Duration::ZERO));
        }
    }
    if spent || status == http::StatusCode::TOO_MANY_REQUESTS {
        header("ratelimit-reset").and_then(reset_seconds)
    } else {
        None
    }
}

/// The `Date` that date-form `Retry-After` values are relative to.
const DATE: &str = "Sun, 06 Nov 1994 08:49:37 GMT";

fn date_plus(secs: u64) -> String {
    let base = httpdate::parse_http_date(DATE).unwrap_or(UNIX_EPOCH);
    httpdate::fmt_http_date(base + Duration::from_secs(secs))
}

fn hdr(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// The success body of ZUORA.md with `token` and `expires_in` (JSON text) filled in.
pub fn success_body(token: &str, expires_in: &str, token_type: &str) -> String {
    format!(
        r#"{{"access_token":"{token}","expires_in":{expires_in},
 "jti":"c652cbc0ea384b9f81856a93a2a74539",
 "scope":"user.7c4d5433dc234c369a01b9719ecd059f entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc entity.c92ed977-510c-4c48-9b51-8d5e848671e9 service.echo.read tenant.19",
 "token_type":"{token_type}"}}"#
    )
}

/// Lifetimes for whole-second `expires_in` values: the usual ones, then a spread that
/// includes 0 (refused) and values above a day (accepted; the lifecycle clamps them).
fn whole_seconds(param: u16) -> u64 {
    const USUAL: [u64; 8] = [3599, 3598, 1, 30, 400, 600, 86_400, 601];
    if param < 0x8000 {
        USUAL[usize::from(param) % USUAL.len()]
    } else {
        u64::from(param & 0x7fff) * 3
    }
}

/// What the parser makes of `expires_in: secs`: any positive lifetime that does not round
/// to zero is a token, huge ones saturating at `Duration::MAX`.
fn token_or_unexpected(text: &str, secs: f64) -> Expect {
    match lifetime_of(secs) {
        Some(lifetime) => Expect::Token {
            text: text.to_owned(),
            lifetime,
        },
        None => Expect::Unexpected,
    }
}

/// The lifetime `expires_in: secs` stands for: positive, not rounding to zero, saturating
/// at `Duration::MAX`.
pub fn lifetime_of(secs: f64) -> Option<Duration> {
    if secs.is_nan() || secs <= 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)).filter(|d| !d.is_zero())
}

/// `expires_in` texts above a day: ten days, a year and a half, and values past what a
/// `Duration` holds.
const LONG_LIFETIMES: [&str; 5] = [
    "864000",
    "47304000.5",
    "18446744073709551616",
    "1e300",
    "\"99999999999999999999999\"",
];

/// Shape `index` (modulo [`SHAPES`]); `param` varies lifetimes and `Retry-After`;
/// `token` is the access token a success carries.
pub fn shape(index: u8, param: u16, token: &str) -> Shape {
    let json = ("content-type", "application/json");
    let json_utf8 = ("content-type", "application/json;charset=utf-8");
    let html = ("content-type", "text/html");
    let rid = ("zuora-request-id", REQUEST_ID);
    let limits = [
        ("x-ratelimit-limit-minute", "100"),
        ("x-ratelimit-remaining-minute", "99"),
        ("ratelimit-limit", "2250000, 50000;w=60, 2250000;w=3600"),
        ("ratelimit-remaining", "49999"),
        ("ratelimit-reset", "42"),
    ];
    let secs = u64::from(param);
    let s = |name, status, headers: Vec<(String, String)>, body: &str, expect| Shape {
        name,
        status,
        headers,
        body: body.as_bytes().to_vec(),
        expect,
    };
    match index % SHAPES {
        0 => {
            let e = whole_seconds(param);
            let mut h = hdr(&[json_utf8, rid, ("zuora-track-id", TRACK_ID)]);
            h.extend(hdr(&limits));
            let body = success_body(token, &e.to_string(), "bearer");
            s(
                "success",
                200,
                h,
                &body,
                token_or_unexpected(token, e as f64),
            )
        }
        1 => {
            // A float that binary floating point holds exactly: param / 4.
            let e = f64::from(param) / 4.0;
            let body = success_body(token, &format!("{e:?}"), "bearer");
            s(
                "success-float",
                200,
                hdr(&[json, rid]),
                &body,
                token_or_unexpected(token, e),
            )
        }
        2 => {
            let e = whole_seconds(param);
            let body = success_body(token, &format!("\" {e}\""), "Bearer");
            let h = hdr(&[("content-type", "application/json; charset=UTF-8")]);
            s(
                "success-string",
                200,
                h,
                &body,
                token_or_unexpected(token, e as f64),
            )
        }
        3 => s(
            "oauth-401",
            401,
            hdr(&[
                json,
                rid,
                (
                    "www-authenticate",
                    "Bearer realm=\"zuora\", error=\"invalid_client\"",
                ),
            ]),
            r#"{"error":"invalid_client","error_description":"Bad client credentials"}"#,
            Expect::Rejected,
        ),
        4 => s(
            "oauth-400",
            400,
            hdr(&[json, rid]),
            r#"{"error":"unsupported_grant_type","error_description":"Unsupported grant type: password"}"#,
            Expect::Rejected,
        ),
        5 => s(
            "v1-403",
            403,
            hdr(&[json_utf8, rid]),
            r#"{"success":false,"reasons":[{"code":90000011,"message":"this resource is protected, please sign in first"}]}"#,
            Expect::Rejected,
        ),
        6 => s(
            "gateway-401",
            401,
            hdr(&[json]),
            r#"{"message":"Authentication error"}"#,
            Expect::Rejected,
        ),
        7 => {
            let mut h = hdr(&[json, rid]);
            h.push(("retry-after".into(), secs.to_string()));
            h.extend(hdr(&limits[..2]));
            let body = r#"{"message":"API rate limit exceeded"}"#;
            let expect = Expect::Transient {
                retry_after: Some(Duration::from_secs(secs)),
            };
            s("gateway-429-retry-after-seconds", 429, h, body, expect)
        }
        8 => {
            let mut h = hdr(&[json, rid, ("date", DATE)]);
            h.push(("retry-after".into(), date_plus(secs)));
            let body = r#"{"message":"API rate limit exceeded"}"#;
            let expect = Expect::Transient {
                retry_after: Some(Duration::from_secs(secs)),
            };
            s("gateway-429-retry-after-date", 429, h, body, expect)
        }
        9 => {
            let mut h = hdr(&[json, rid]);
            h.extend(hdr(&limits[2..]));
            let body = r#"{"message":"API rate limit exceeded"}"#;
            s(
                "429-ratelimit-windows",
                429,
                h,
                body,
                Expect::Transient { retry_after: None },
            )
        }
        10 => s(
            "v1-500",
            500,
            hdr(&[json, rid]),
            r#"{"success":false,"reasons":[{"code":"50000060","message":"Internal server error"}]}"#,
            Expect::Transient { retry_after: None },
        ),
        11 => s(
            "html-502",
            502,
            hdr(&[html]),
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n",
            Expect::Transient { retry_after: None },
        ),
        12 => {
            let mut h = hdr(&[("content-type", "text/html; charset=iso-8859-1")]);
            h.push(("retry-after".into(), secs.to_string()));
            let body = "<!DOCTYPE html><html><body><h1>503 Service Unavailable</h1>No server is available to handle this request.</body></html>";
            let expect = Expect::Transient {
                retry_after: Some(Duration::from_secs(secs)),
            };
            s("html-503", 503, h, body, expect)
        }
        13 => s(
            "html-504",
            504,
            hdr(&[html]),
            "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>",
            Expect::Transient { retry_after: None },
        ),
        14 => s(
            "empty-502",
            502,
            Vec::new(),
            "",
            Expect::Transient { retry_after: None },
        ),
        15 => s(
            "redirect-302",
            302,
            hdr(&[(
                "location",
                "https://login.example.com/sso?next=%2Foauth%2Ftoken",
            )]),
            "",
            Expect::Unexpected,
        ),
        16 => s(
            "not-found-404",
            404,
            hdr(&[json, rid]),
            r#"{"message":"no Route matched with those values"}"#,
            Expect::Unexpected,
        ),
        17 => s(
            "html-200",
            200,
            hdr(&[html]),
            "<html><body>Zuora is down for maintenance</body></html>",
            Expect::Unexpected,
        ),
        18 => s("empty-200", 200, hdr(&[json]), "", Expect::Unexpected),
        19 => {
            let body = success_body(token, "3599", "mac");
            s(
                "token-type-mac",
                200,
                hdr(&[json]),
                &body,
                Expect::Unexpected,
            )
        }
        20 => {
            let body = format!(r#"{{"access_token":"{token}","token_type":"bearer"}}"#);
            s(
                "missing-expires-in",
                200,
                hdr(&[json]),
                &body,
                Expect::Unexpected,
            )
        }
        21 => {
            let body = success_body(&format!("{token} x"), "3599", "bearer");
            s(
                "token-with-space",
                200,
                hdr(&[json]),
                &body,
                Expect::Unexpected,
            )
        }
        22 => {
            let echoed = [SECRET, SECRET_FORM, SECRET_JSON_SLASH][usize::from(param) % 3];
            let body = format!(
                r#"{{"error":"invalid_client","error_description":"Bad client credentials: client_secret={echoed}"}}"#
            );
            s(
                "secret-echo-401",
                401,
                hdr(&[json, rid]),
                &body,
                Expect::Rejected,
            )
        }
        23 => {
            let body = format!(
                r#"{{"message":"upstream said: {{\"access_token\":\"{token}\",\"expires_in\":3599}}","access_token":"{token}"}}"#
            );
            let expect = Expect::Transient { retry_after: None };
            s("token-echo-500", 500, hdr(&[json, rid]), &body, expect)
        }
        24 => {
            let body = success_body(token, "1e-7", "BEARER");
            let expect = token_or_unexpected(token, 1e-7);
            s(
                "success-tiny-lifetime",
                201,
                hdr(&[("content-type", "application/vnd.zuora+json")]),
                &body,
                expect,
            )
        }
        25 => {
            let body = success_body(token, "3599", "bearer");
            let h = hdr(&[("content-type", "text/plain")]);
            s(
                "success-body-wrong-content-type",
                200,
                h,
                &body,
                Expect::Unexpected,
            )
        }
        26 => s(
            "request-timeout-408",
            408,
            hdr(&[html]),
            "<html><body><h1>408 Request Time-out</h1></body></html>",
            Expect::Unexpected,
        ),
        27 => {
            let mut h = hdr(&[json]);
            h.push(("retry-after".into(), secs.to_string()));
            s(
                "too-early-425",
                425,
                h,
                r#"{"message":"Too Early"}"#,
                Expect::Unexpected,
            )
        }
        28 => {
            let e = LONG_LIFETIMES[usize::from(param) % LONG_LIFETIMES.len()];
            let body = success_body(token, e, "bearer");
            let secs: f64 = serde_json::from_str::<serde_json::Value>(e.trim_matches('"'))
                .ok()
                .and_then(|v| v.as_f64())
                .unwrap_or(f64::MAX);
            s(
                "success-long-lifetime",
                200,
                hdr(&[json, rid]),
                &body,
                token_or_unexpected(token, secs),
            )
        }
        29 => {
            // A bare, minimal token body (the lifecycle test suite's shape).
            let e = whole_seconds(param);
            let body =
                format!(r#"{{"access_token":"{token}","expires_in":{e},"token_type":"bearer"}}"#);
            s(
                "success-minimal",
                200,
                hdr(&[json]),
                &body,
                token_or_unexpected(token, e as f64),
            )
        }
        _ => {
            // A token whose answer says the quota is spent: no token request before the
            // reset, `param` seconds.
            let mut h = hdr(&[json, rid, ("ratelimit-limit", "100, 100;w=60")]);
            h.extend(hdr(&[("ratelimit-remaining", "0")]));
            h.push(("ratelimit-reset".into(), secs.to_string()));
            let body = success_body(token, "3599", "bearer");
            s(
                "success-quota-spent",
                200,
                h,
                &body,
                token_or_unexpected(token, 3599.0),
            )
        }
    }
}

// ---- lifecycle: configuration and operations as byte code ------------------------------

/// Refresh windows the lifecycle target configures (index taken modulo the length).
pub const WINDOWS: [Duration; 12] = [
    Duration::from_secs(300),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(86_400),
    Duration::from_secs(u64::MAX / 4),
    Duration::MAX,
];

/// Backoff bases and caps.
pub const BACKOFFS: [Duration; 10] = [
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_millis(500),
    Duration::from_secs(10),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::from_secs(u64::MAX / 4),
    Duration::MAX,
];

/// Re-probe intervals after a permanent failure (when enabled).
pub const REPROBES: [Duration; 6] = [
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::from_secs(600),
    Duration::from_secs(3600),
    Duration::MAX,
];

/// Request deadlines; the first is the default (the transports' 30 s plus 5 s).
pub const DEADLINES: [Duration; 9] = [
    Duration::from_secs(35),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(3600),
    Duration::MAX,
];

/// Caps on the wait after a failure (`Retry-After` included); the first is the default.
pub const MAX_WAITS: [Duration; 8] = [
    Duration::from_secs(15 * 60),
    Duration::ZERO,
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::from_secs(90),
    Duration::from_secs(3600),
    Duration::from_secs(86_400),
    Duration::MAX,
];

/// Minimum remaining lifetimes; the first is the default.
pub const MIN_REMAININGS: [Duration; 8] = [
    Duration::from_secs(30),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(300),
    Duration::from_secs(3600),
    Duration::from_secs(86_400),
    Duration::MAX,
];

/// Maximum cached lifetimes; the first is the default.
pub const MAX_LIFETIMES: [Duration; 8] = [
    Duration::from_secs(86_400),
    Duration::ZERO,
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(60),
    Duration::from_secs(3600),
    Duration::from_secs(864_000),
    Duration::MAX,
];

/// Lifetimes of the token records handed to `adopt` and `handle_record`.
pub const RECORD_LIFETIMES: [Duration; 10] = [
    Duration::ZERO,
    Duration::from_nanos(1),
    Duration::from_millis(1),
    Duration::from_secs(1),
    Duration::from_secs(299),
    Duration::from_secs(600),
    Duration::from_secs(3599),
    Duration::from_secs(86_400),
    Duration::from_secs(u64::MAX / 2),
    Duration::MAX,
];

/// How long before the wall clock a record was issued, in seconds; negative: after it (the
/// clock of the process that fetched it is ahead).
pub const RECORD_AGES: [i64; 8] = [0, 1, 30, 299, 3000, 86_400, -5, -3600];

/// Statuses of `Op::RetryAfterDate`: transient ones, and a rejection (which is not retried,
/// but whose wait holds a re-probe back).
pub const RETRY_STATUSES: [u16; 5] = [429, 503, 408, 425, 401];

/// The wall clock when the monotonic clock reads zero (2025-12-03), in Unix seconds.
pub const WALL_ORIGIN_SECS: u64 = 1_764_748_800;

/// The targets' wall clock when the monotonic clock reads `clock`: [`WALL_ORIGIN_SECS`] on,
/// moved by `skew` seconds (never before the Unix epoch); the monotonic part is capped at
/// 2^32 s so that huge jumps stay representable.
pub fn skewed_wall(clock: zuora_oauth_core::Timestamp, skew: i64) -> SystemTime {
    let base = UNIX_EPOCH
        + Duration::from_secs(WALL_ORIGIN_SECS)
        + clock.as_duration().min(Duration::from_secs(1 << 32));
    let by = Duration::from_secs(skew.unsigned_abs());
    if skew >= 0 {
        base + by
    } else {
        base.checked_sub(by).unwrap_or(UNIX_EPOCH)
    }
}

/// How the lifecycle target configures its machine (the first 13 bytes of an input). Each
/// index byte is taken modulo its table's length; 0 is the default where the core has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigSpec {
    pub seed: u32,
    /// Budget: `1 + budget % 24` requests per minute.
    pub budget: u8,
    /// Index into [`WINDOWS`].
    pub window: u8,
    /// Jitter percentage (clamped to 100 by the core).
    pub jitter: u8,
    /// Low nibble: backoff base, high nibble: cap (indices into [`BACKOFFS`]).
    pub backoff: u8,
    /// Below 128: no re-probe; else index into [`REPROBES`].
    pub reprobe: u8,
    /// Index into [`DEADLINES`].
    pub deadline: u8,
    /// Index into [`MAX_WAITS`].
    pub max_wait: u8,
    /// Index into [`MIN_REMAININGS`].
    pub min_remaining: u8,
    /// Index into [`MAX_LIFETIMES`].
    pub max_lifetime: u8,
}

fn pick<T: Copy>(table: &[T], i: u8) -> T {
    table[usize::from(i) % table.len()]
}

impl ConfigSpec {
    pub fn budget(&self) -> u32 {
        1 + u32::from(self.budget % 24)
    }
    pub fn window(&self) -> Duration {
        pick(&WINDOWS, self.window)
    }
    /// `(base, cap)` as given; the core raises the cap to the base.
    pub fn backoff(&self) -> (Duration, Duration) {
        (
            pick(&BACKOFFS, self.backoff & 0xf),
            pick(&BACKOFFS, self.backoff >> 4),
        )
    }
    pub fn reprobe(&self) -> Option<Duration> {
        (self.reprobe >= 128).then(|| pick(&REPROBES, self.reprobe))
    }
    pub fn deadline(&self) -> Duration {
        pick(&DEADLINES, self.deadline)
    }
    pub fn max_wait(&self) -> Duration {
        pick(&MAX_WAITS, self.max_wait)
    }
    pub fn min_remaining(&self) -> Duration {
        pick(&MIN_REMAININGS, self.min_remaining)
    }
    pub fn max_lifetime(&self) -> Duration {
        pick(&MAX_LIFETIMES, self.max_lifetime)
    }
    /// The jitter seed handed to `TokenLifecycle::new`.
    pub fn seed(&self) -> u64 {
        u64::from(self.seed).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }
}

/// Huge time jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    Day,
    Year,
    Century,
    /// To `Timestamp::MAX`.
    EndOfTime,
    /// To a minute and a second before the end of time.
    NearEnd,
    /// To half of `Timestamp::MAX`.
    Half,
}

pub const JUMPS: [Jump; 6] = [
    Jump::Day,
    Jump::Year,
    Jump::Century,
    Jump::EndOfTime,
    Jump::NearEnd,
    Jump::Half,
];

/// One operation on the lifecycle; the byte code is the opcode (modulo [`OPS`]) followed
/// by the arguments (`u16`s and `i16`s big-endian, byte strings as a length byte then the
/// bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Poll at the current clock.
    Poll,
    AdvanceMs(u16),
    AdvanceSecs(u16),
    BackMs(u16),
    Jump(u8),
    /// Answer the request in flight with `shape(shape, param)`.
    Respond {
        shape: u8,
        param: u16,
    },
    /// Answer the request in flight with anything.
    RespondRaw {
        status: u16,
        content_type: u8,
        body: Vec<u8>,
    },
    /// The request in flight got no response (kind index).
    Transport(u8),
    Cancel,
    /// Answer an earlier (superseded or finished) request again.
    StaleRespond {
        which: u8,
        shape: u8,
    },
    StaleTransport {
        which: u8,
    },
    StaleCancel {
        which: u8,
    },
    /// Report the last token installed as rejected by the API.
    InvalidateCurrent,
    /// Report one of the generations seen so far (index modulo their number).
    Invalidate(u8),
    Reset,
    /// Adopt a record living `RECORD_LIFETIMES[life]`, issued `RECORD_AGES[age]` before
    /// the wall clock.
    Adopt {
        life: u8,
        age: u8,
    },
    /// Adopt a record living `secs` seconds, issued `age_ms` milliseconds before the wall
    /// clock (so that the minimum-remaining boundary is reachable to the millisecond).
    AdoptSecs {
        secs: u16,
        age_ms: u16,
    },
    /// New credentials or environment.
    Reconfigure(u8),
    /// Read every getter (`next_wakeup`, `token`, `requests_last_minute`…).
    Probe,
    /// Poll, and if that asks for a request, answer it at once with a shape.
    Drive {
        shape: u8,
        param: u16,
    },
    /// Answer the request in flight with a record from a shared store (`handle_record`).
    Record {
        life: u8,
        age: u8,
    },
    /// Answer an earlier request with a record.
    StaleRecord {
        which: u8,
    },
    /// Answer the request in flight with `RETRY_STATUSES[status]` and a `Retry-After` HTTP
    /// date `offset` seconds from the wall clock, without a `Date` header.
    RetryAfterDate {
        status: u8,
        offset: i16,
    },
    /// Move the wall clock by this many seconds against the monotonic one (NTP, skew).
    WallSkew(i16),
}

/// The number of opcodes.
pub const OPS: u8 = 24;

/// Decodes a lifecycle input; never fails.
pub fn decode_lifecycle(data: &[u8]) -> (ConfigSpec, Vec<Op>) {
    let mut r = Reader::new(data);
    let config = ConfigSpec {
        seed: r.u32(),
        budget: r.u8(),
        window: r.u8(),
        jitter: r.u8(),
        backoff: r.u8(),
        reprobe: r.u8(),
        deadline: r.u8(),
        max_wait: r.u8(),
        min_remaining: r.u8(),
        max_lifetime: r.u8(),
    };
    let mut ops = Vec::new();
    while !r.is_empty() {
        let op = match r.u8() % OPS {
            0 => Op::Poll,
            1 => Op::AdvanceMs(r.u16()),
            2 => Op::AdvanceSecs(r.u16()),
            3 => Op::BackMs(r.u16()),
            4 => Op::Jump(r.u8()),
            5 => Op::Respond {
                shape: r.u8(),
                param: r.u16(),
            },
            6 => Op::RespondRaw {
                status: r.u16(),
                content_type: r.u8(),
                body: r.bytes().to_vec(),
            },
            7 => Op::Transport(r.u8()),
            8 => Op::Cancel,
            9 => Op::StaleRespond {
                which: r.u8(),
                shape: r.u8(),
            },
            10 => Op::StaleTransport { which: r.u8() },
            11 => Op::StaleCancel { which: r.u8() },
            12 => Op::InvalidateCurrent,
            13 => Op::Invalidate(r.u8()),
            14 => Op::Reset,
            15 => Op::Adopt {
                life: r.u8(),
                age: r.u8(),
            },
            16 => Op::AdoptSecs {
                secs: r.u16(),
                age_ms: r.u16(),
            },
            17 => Op::Reconfigure(r.u8()),
            18 => Op::Probe,
            19 => Op::Drive {
                shape: r.u8(),
                param: r.u16(),
            },
            20 => Op::Record {
                life: r.u8(),
                age: r.u8(),
            },
            21 => Op::StaleRecord { which: r.u8() },
            22 => Op::RetryAfterDate {
                status: r.u8(),
                offset: r.i16(),
            },
            _ => Op::WallSkew(r.i16()),
        };
        ops.push(op);
    }
    (config, ops)
}

/// Encodes a lifecycle input (the inverse of [`decode_lifecycle`]).
pub fn encode_lifecycle(config: &ConfigSpec, ops: &[Op]) -> Vec<u8> {
    let mut out = config.seed.to_be_bytes().to_vec();
    out.extend([
        config.budget,
        config.window,
        config.jitter,
        config.backoff,
        config.reprobe,
        config.deadline,
        config.max_wait,
        config.min_remaining,
        config.max_lifetime,
    ]);
    for op in ops {
        let u16 = |out: &mut Vec<u8>, v: u16| out.extend(v.to_be_bytes());
        let i16 = |out: &mut Vec<u8>, v: i16| out.extend(v.to_be_bytes());
        match op {
            Op::Poll => out.push(0),
            Op::AdvanceMs(v) => {
                out.push(1);
                u16(&mut out, *v);
            }
            Op::AdvanceSecs(v) => {
                out.push(2);
                u16(&mut out, *v);
            }
            Op::BackMs(v) => {
                out.push(3);
                u16(&mut out, *v);
            }
            Op::Jump(v) => out.extend([4, *v]),
            Op::Respond { shape, param } => {
                out.extend([5, *shape]);
                u16(&mut out, *param);
            }
            Op::RespondRaw {
                status,
                content_type,
                body,
            } => {
                out.push(6);
                u16(&mut out, *status);
                out.push(*content_type);
                let body = &body[..body.len().min(255)];
                out.push(body.len() as u8);
                out.extend_from_slice(body);
            }
            Op::Transport(v) => out.extend([7, *v]),
            Op::Cancel => out.push(8),
            Op::StaleRespond { which, shape } => out.extend([9, *which, *shape]),
            Op::StaleTransport { which } => out.extend([10, *which]),
            Op::StaleCancel { which } => out.extend([11, *which]),
            Op::InvalidateCurrent => out.push(12),
            Op::Invalidate(v) => out.extend([13, *v]),
            Op::Reset => out.push(14),
            Op::Adopt { life, age } => out.extend([15, *life, *age]),
            Op::AdoptSecs { secs, age_ms } => {
                out.push(16);
                u16(&mut out, *secs);
                u16(&mut out, *age_ms);
            }
            Op::Reconfigure(v) => out.extend([17, *v]),
            Op::Probe => out.push(18),
            Op::Drive { shape, param } => {
                out.extend([19, *shape]);
                u16(&mut out, *param);
            }
            Op::Record { life, age } => out.extend([20, *life, *age]),
            Op::StaleRecord { which } => out.extend([21, *which]),
            Op::RetryAfterDate { status, offset } => {
                out.extend([22, *status]);
                i16(&mut out, *offset);
            }
            Op::WallSkew(v) => {
                out.push(23);
                i16(&mut out, *v);
            }
        }
    }
    out
}

/// The requests `Op::Reconfigure` switches between.
pub fn reconfigured_request(which: u8) -> TokenRequest {
    match which % 4 {
        0 => request(),
        1 => TokenRequest::new(
            Environment::SbxEu,
            ClientId::new(CLIENT_ID).expect("valid"),
            ClientSecret::new("an0ther/secret+value=").expect("valid"),
        ),
        2 => TokenRequest::new(
            Environment::custom("http://127.0.0.1:8080/zuora/").expect("valid"),
            ClientId::new(CLIENT_ID).expect("valid"),
            ClientSecret::new(SECRET).expect("valid"),
        ),
        _ => TokenRequest::new(
            Environment::Csbx,
            ClientId::new(CLIENT_ID).expect("valid"),
            ClientSecret::new(SECRET).expect("valid"),
        ),
    }
}

/// A wall-clock instant for `RetryAfter::delay_from` checks.
pub fn wall_clock(i: u8) -> SystemTime {
    match i % 4 {
        0 => UNIX_EPOCH,
        1 => httpdate::parse_http_date(DATE).unwrap_or(UNIX_EPOCH),
        2 => UNIX_EPOCH + Duration::from_secs(253_402_300_799), // 9999-12-31
        _ => UNIX_EPOCH + Duration::from_secs(1_700_000_000),
    }
}
