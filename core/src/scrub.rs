//! Hiding the client secret and access tokens in text taken from a response, before the
//! text is kept for people to read (an error's `Display`, a `Debug`, a tracing field).

use std::borrow::Cow;

/// What a hidden secret or token reads as.
pub(crate) const REDACTED: &str = "[redacted]";

/// A secret of at most this many characters is hidden only where it stands as a word.
const SHORT_SECRET_MAX: usize = 3;

/// Removes the client secret, and access tokens, from text taken from a response.
///
/// # What is hidden
///
/// - The **value of any `access_token` field**: JSON (`"access_token" : "…"`), JSON quoted
///   in a JSON string (`\"access_token\":\"…\"`), form or query (`access_token=…`). The
///   places are found in the text as received, before anything else is replaced, so that
///   no secret can break the pattern (a secret `:` or `tok` used to turn
///   `"access_token":"…"` into `"access_[redacted]en":"…"`, showing the token).
/// - The **client secret in any spelling** a server, a proxy or a logging layer may
///   echo: each character as itself, as a JSON escape (`\uXXXX` in either case, `\/`,
///   `\"`…, the backslash escaped again any number of times), or percent-encoded
///   (`%XX` in either case, `+` for a space), mixed freely within one occurrence; and
///   the secret as itself, form-encoded (either hex case) or JSON-escaped, written as
///   hex (either case), as base64 (standard alphabet, padding optional) or as a list of
///   byte values (`109, 48` or `109,48`).
///
/// Both are replaced by `[redacted]`, and the text is cut to its length cap only
/// afterwards, so that a cap can never leave a piece of a secret that no longer matches.
///
/// # Short secrets
///
/// The token endpoint sets no minimum length for a secret. A secret of one to three
/// characters spells pieces of ordinary text (`e` is in `client`, `1` in every request ID
/// and date), so such a secret is hidden only where **a spelling of it stands as a whole
/// word**: no letter or digit right before or after it (an escape such as `\n` or `%20`
/// right before it counts as a separator). A word that merely contains the secret's
/// characters is left whole: `Bad client credentials` stays readable with the secret `e`.
///
/// What this leaves to someone reading the text: an echo glued to letters or digits
/// (`xyz` followed by the secret `ab`) stays visible, and where a whole word equals the
/// secret, the `[redacted]` in its place says so. Neither matters much: a secret of three
/// characters or fewer has at most about 850,000 values (printable ASCII), so it can be
/// guessed at the token endpoint anyway. Use Zuora's generated secrets, which are long.
///
/// # Values the library acts on
///
/// Scrubbing is for text shown to people. `Retry-After`, `Date` and the rate-limit headers
/// are read as received (the backoff and the caller use the real numbers) even when a
/// short secret spells them; only their display hides them. See
/// [`ResponseMeta`](crate::ResponseMeta).
pub(crate) struct Scrubber<'a> {
    /// The client secret.
    secret: &'a str,
}

impl<'a> Scrubber<'a> {
    pub(crate) fn new(secret: &'a str) -> Self {
        Self { secret }
    }

    /// Whether only whole words count: a short secret (decided when a search needs it, not
    /// on every response).
    fn whole_words(&self) -> bool {
        is_short(self.secret)
    }

    /// The start of `body` as one line of text, scrubbed and capped.
    pub(crate) fn excerpt(&self, body: &[u8], max: usize) -> String {
        let text = String::from_utf8_lossy(body);
        self.clean(&text, max)
    }

    /// A string from a response: scrubbed, then made one line and capped at `max`
    /// characters.
    pub(crate) fn clean(&self, text: &str, max: usize) -> String {
        cap(&self.scrub(text), max)
    }

    /// `text` (a field of a token response) with the secret hidden; borrowed when it is not
    /// there, which is the case for every sane response.
    #[inline]
    pub(crate) fn shown<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if self.leaks(text) {
            self.scrub(text)
        } else {
            Cow::Borrowed(text)
        }
    }

    /// The length of the shortest text that can hold the secret (every spelling is at
    /// least as long as the raw secret); 0 for no secret.
    pub(crate) fn min_len(&self) -> usize {
        self.secret.len()
    }

    /// Whether `text` holds the secret in any spelling this scrubber hides. Allocates
    /// nothing unless the text has an escape character (`%`, `\`).
    #[inline]
    pub(crate) fn leaks(&self, text: &str) -> bool {
        // Every spelling is at least as long as the raw secret.
        if self.secret.is_empty() || text.len() < self.secret.len() {
            return false;
        }
        self.finder(text).next().is_some()
    }

    /// `text` with every access token value and the secret replaced by `[redacted]`. All
    /// the places are found in `text` as received, then replaced at once (overlapping ones
    /// as one).
    fn scrub<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let mut ranges = access_token_values(text);
        let tokens = ranges.len();
        if !self.secret.is_empty() && text.len() >= self.secret.len() {
            ranges.extend(self.finder(text));
        }
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        // Each list is found left to right, so each is in order.
        merge_runs(&mut ranges, tokens);
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        let mut ranges = ranges.into_iter().peekable();
        while let Some((start, mut end)) = ranges.next() {
            while let Some(&(next, next_end)) = ranges.peek() {
                if next >= end {
                    break;
                }
                end = end.max(next_end);
                ranges.next();
            }
            if start >= last {
                out.push_str(&text[last..start]);
                out.push_str(REDACTED);
                last = end;
            } else if end > last {
                last = end;
            }
        }
        out.push_str(&text[last..]);
        Cow::Owned(out)
    }

    /// Every place in `text` that spells the secret, in order, never overlapping.
    fn finder<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize)> + 't {
        let raw = self.secret;
        let whole_words = self.whole_words();
        let plan = Plan::new(text, raw);
        // The distinct spellings the encodings are applied to (decided once per text).
        let targets = Target::ALL.map(|t| t.differs(raw));
        let mut from = 0;
        let mut ends = Vec::new();
        let mut next = Vec::new();
        std::iter::from_fn(move || {
            if raw.is_empty() || !plan.any() {
                return None;
            }
            if plan.literal_only() {
                // No escape in the text and no encoding possible: a plain search.
                while let Some(at) = find_bytes(text, raw, from) {
                    let end = at + raw.len();
                    if !whole_words || standalone(text, at, end) {
                        from = end;
                        return Some((at, end));
                    }
                    from = next_char(text, at);
                }
                from = text.len();
                return None;
            }
            let bytes = text.as_bytes();
            while from < bytes.len() {
                let at = from;
                from = next_char(text, at);
                let mut best: Option<usize> = None;
                let mut consider = |end: usize| {
                    if end > at
                        && best.is_none_or(|b| end > b)
                        && (!whole_words || standalone(text, at, end))
                    {
                        best = Some(end);
                    }
                };
                if plan.textual {
                    spelled_ends(bytes, at, raw, &mut ends, &mut next);
                    for &end in &ends {
                        consider(end);
                    }
                }
                if plan.hex || plan.base64 || plan.list {
                    for (target, _) in Target::ALL.into_iter().zip(targets).filter(|t| t.1) {
                        if plan.hex
                            && let Some(end) = hex_at(bytes, at, target.bytes(raw))
                        {
                            consider(end);
                        }
                        if plan.base64
                            && let Some(end) = base64_at(bytes, at, target.bytes(raw))
                        {
                            consider(end);
                        }
                        if plan.list
                            && let Some(end) = list_at(bytes, at, target.bytes(raw))
                        {
                            consider(end);
                        }
                    }
                }
                if let Some(end) = best {
                    from = end;
                    return Some((at, end));
                }
            }
            None
        })
    }
}

/// Whether `text` has at most [`SHORT_SECRET_MAX`] characters (a character is 1 to 4
/// bytes: the length alone answers most of the time).
fn is_short(text: &str) -> bool {
    text.len() <= SHORT_SECRET_MAX
        || (text.len() <= 4 * SHORT_SECRET_MAX && text.chars().nth(SHORT_SECRET_MAX).is_none())
}

/// The byte index of the character after the one at `at`.
fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(text.len(), |c| at + c.len_utf8())
}

/// Whether `text[start..end]` stands as a word: no letter or digit right after it, and
/// none right before it unless an escape ends there (`\n`, `\u0041`, `%20`: they may
/// stand for a separator, so they count as one).
fn standalone(text: &str, start: usize, end: usize) -> bool {
    let after = text[end..].chars().next();
    if after.is_some_and(char::is_alphanumeric) {
        return false;
    }
    let before = &text[..start];
    let Some(last) = before.chars().next_back() else {
        return true;
    };
    if !last.is_alphanumeric() {
        return true;
    }
    let b = before.as_bytes();
    let n = b.len();
    let hex = |s: &[u8]| s.iter().all(u8::is_ascii_hexdigit);
    // `\n`, `\t`…
    (n >= 2 && b[n - 2] == b'\\' && b[n - 1].is_ascii_alphabetic())
        // `\u0041`
        || (n >= 6 && b[n - 6] == b'\\' && b[n - 5] == b'u' && hex(&b[n - 4..]))
        // `%41`
        || (n >= 3 && b[n - 3] == b'%' && hex(&b[n - 2..]))
}

/// Which matchers can find anything in one text: decided in one pass, so that the common
/// text (a header value, a scope) is not searched at every position.
struct Plan {
    /// The secret, each character as itself or escaped (`%`, `\`).
    textual: bool,
    /// The secret holds no escape and the text has no escape character: a plain search.
    plain: bool,
    hex: bool,
    base64: bool,
    list: bool,
}

impl Plan {
    fn new(text: &str, raw: &str) -> Self {
        let n = raw.len();
        let (bytes, secret) = (text.as_bytes(), raw.as_bytes());
        let space = secret.contains(&b' ');
        // An escape character anywhere (`<[u8]>::contains` is a `memchr`); without one, a
        // textual spelling can only be the secret as is.
        let escapes =
            bytes.contains(&b'%') || bytes.contains(&b'\\') || (space && bytes.contains(&b'+'));
        let literal = !escapes && find_bytes(text, raw, 0).is_some();
        Self {
            textual: escapes || literal,
            plain: !escapes,
            hex: has_run(bytes, 2 * n, |c| c.is_ascii_hexdigit()),
            base64: has_run(bytes, (4 * n).div_ceil(3), |c| {
                CLASS[usize::from(c)] & BASE64 != 0
            }),
            // One to three digits a byte, a comma between them.
            list: has_run(bytes, (2 * n).saturating_sub(1), |c| {
                CLASS[usize::from(c)] & LIST != 0
            }),
        }
    }

    fn any(&self) -> bool {
        self.textual || self.hex || self.base64 || self.list
    }

    fn literal_only(&self) -> bool {
        self.plain && !(self.hex || self.base64 || self.list)
    }
}

const BASE64: u8 = 1;
const LIST: u8 = 2;

/// What each byte can be part of: base64 (letters, digits, `+`, `/`), a list of byte values
/// (digits, `,`, space).
const CLASS: [u8; 256] = {
    let mut class = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() || c == b'+' || c == b'/' {
            class[b] |= BASE64;
        }
        if c.is_ascii_digit() || c == b',' || c == b' ' {
            class[b] |= LIST;
        }
        b += 1;
    }
    class
};

/// Whether `bytes` has `len` bytes in a row that are all `member`s. Only every `len`-th
/// byte is looked at until one is a member (any such run holds one of them), so a short
/// text with no long run costs a few steps.
fn has_run(bytes: &[u8], len: usize, member: impl Fn(u8) -> bool) -> bool {
    if len == 0 {
        return true;
    }
    let mut probe = len - 1;
    while let Some(&c) = bytes.get(probe) {
        if !member(c) {
            probe += len;
            continue;
        }
        let left = bytes[..probe]
            .iter()
            .rev()
            .take_while(|&&b| member(b))
            .count();
        let right = bytes[probe + 1..]
            .iter()
            .take_while(|&&b| member(b))
            .count();
        if left + 1 + right >= len {
            return true;
        }
        // The next run starts after this one's end and its first sample is `len` further.
        probe += right + 1 + len;
    }
    false
}

/// The first place at or after `from` where `needle` occurs in `hay`: its first byte
/// found with a `memchr` (`str::find` of an ASCII `char`), then its last byte and the rest
/// compared. On the short texts of a token response (a scope, a header) this costs a
/// fraction of setting up `str::find`'s two-way search for a whole string (and a wasm
/// module carries no two-way searcher). `None` when `from` is not a character boundary.
fn find_bytes(hay: &str, needle: &str, from: usize) -> Option<usize> {
    let bytes = hay.as_bytes();
    let (&first, &last) = (needle.as_bytes().first()?, needle.as_bytes().last()?);
    if !hay.is_char_boundary(from) {
        return None;
    }
    let m = needle.len();
    let mut at = from;
    while at + m <= bytes.len() {
        // The needle starts a character, so a byte equal to its first one does too (a UTF-8
        // lead byte is never inside a character): no `str` search needed. An ASCII byte is
        // found with `memchr` (a `char` pattern).
        at += if first.is_ascii() {
            hay[at..].find(char::from(first))?
        } else {
            bytes[at..].iter().position(|&b| b == first)?
        };
        if at + m > bytes.len() {
            return None;
        }
        if bytes[at + m - 1] == last && bytes[at..at + m] == *needle.as_bytes() {
            return Some(at);
        }
        at += 1;
    }
    None
}

/// The spellings of the secret that an encoding is applied to: as is, form-encoded (both
/// hex cases) and JSON-escaped.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Raw,
    Form,
    FormLower,
    Json,
}

impl Target {
    const ALL: [Target; 4] = [Self::Raw, Self::Form, Self::FormLower, Self::Json];

    /// Whether this spelling of `secret` differs from the ones before it (so that each
    /// distinct one is tried once).
    fn differs(self, secret: &str) -> bool {
        let bytes = secret.as_bytes();
        match self {
            Self::Raw => true,
            Self::Form => bytes.iter().any(|&b| !form_unreserved(b)),
            Self::FormLower => bytes
                .iter()
                .any(|&b| !form_unreserved(b) && b != b' ' && (b >> 4 > 9 || b & 15 > 9)),
            Self::Json => bytes.iter().any(|&b| b == b'"' || b == b'\\' || b < 0x20),
        }
    }

    /// The bytes of this spelling of `secret`, made on the fly.
    fn bytes(self, secret: &str) -> impl Iterator<Item = u8> + '_ {
        secret.bytes().flat_map(move |b| {
            let (buf, n) = self.encode(b);
            buf.into_iter().take(n)
        })
    }

    fn encode(self, b: u8) -> ([u8; 6], usize) {
        const UPPER: &[u8; 16] = b"0123456789ABCDEF";
        const LOWER: &[u8; 16] = b"0123456789abcdef";
        let one = |c: u8| ([c, 0, 0, 0, 0, 0], 1);
        let pair = |c: u8| ([b'\\', c, 0, 0, 0, 0], 2);
        match self {
            Self::Raw => one(b),
            Self::Form | Self::FormLower if form_unreserved(b) => one(b),
            Self::Form | Self::FormLower if b == b' ' => one(b'+'),
            Self::Form | Self::FormLower => {
                let digits = if self == Self::Form { UPPER } else { LOWER };
                let (hi, lo) = (digits[usize::from(b >> 4)], digits[usize::from(b & 15)]);
                ([b'%', hi, lo, 0, 0, 0], 3)
            }
            // As serde_json writes a string.
            Self::Json => match b {
                b'"' => pair(b'"'),
                b'\\' => pair(b'\\'),
                0x08 => pair(b'b'),
                0x09 => pair(b't'),
                0x0a => pair(b'n'),
                0x0c => pair(b'f'),
                0x0d => pair(b'r'),
                0..0x20 => (
                    [
                        b'\\',
                        b'u',
                        b'0',
                        b'0',
                        LOWER[usize::from(b >> 4)],
                        LOWER[usize::from(b & 15)],
                    ],
                    6,
                ),
                _ => one(b),
            },
        }
    }
}

/// The bytes `application/x-www-form-urlencoded` keeps as they are.
fn form_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'*' | b'-' | b'.' | b'_')
}

/// Where `target`, written as hex (either case) at byte `at`, ends.
fn hex_at(text: &[u8], at: usize, target: impl Iterator<Item = u8>) -> Option<usize> {
    let mut pos = at;
    for b in target {
        let digits = text.get(pos..pos + 2)?;
        (hex_value(digits)? == u32::from(b)).then_some(())?;
        pos += 2;
    }
    Some(pos)
}

/// Where `target`, written as standard base64 at byte `at` (without its padding), ends.
fn base64_at(text: &[u8], at: usize, mut target: impl Iterator<Item = u8>) -> Option<usize> {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut pos = at;
    loop {
        let mut chunk = [0u8; 3];
        let mut n = 0;
        while n < 3 {
            match target.next() {
                Some(b) => {
                    chunk[n] = b;
                    n += 1;
                }
                None => break,
            }
        }
        if n == 0 {
            return Some(pos);
        }
        let bits = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
        for i in 0..=n {
            let c = ABC[((bits >> (18 - 6 * i)) & 63) as usize];
            (text.get(pos) == Some(&c)).then_some(())?;
            pos += 1;
        }
        if n < 3 {
            return Some(pos);
        }
    }
}

/// Where `target`, written as a list of byte values (`109, 48` or `109,48`) at byte `at`,
/// ends.
fn list_at(text: &[u8], at: usize, target: impl Iterator<Item = u8>) -> Option<usize> {
    let mut pos = at;
    for (i, b) in target.enumerate() {
        if i > 0 {
            (text.get(pos) == Some(&b',')).then_some(())?;
            pos += 1;
            if text.get(pos) == Some(&b' ') {
                pos += 1;
            }
        }
        let digits = [b / 100, b / 10 % 10, b % 10];
        let skip = if b >= 100 {
            0
        } else if b >= 10 {
            1
        } else {
            2
        };
        for &d in &digits[skip..] {
            (text.get(pos) == Some(&(b'0' + d))).then_some(())?;
            pos += 1;
        }
    }
    Some(pos)
}

/// Where a spelling of `secret` that starts at byte `at` may end (into `ends`, empty if
/// none): each character as itself, as a JSON escape (`\uXXXX` in either case — Java's
/// JSON writers escape `=` as `\u003d` —, `\/`, `\"`, `\\`…), or percent-encoded byte by
/// byte (`%XX` in either case, `+` for a space); mixed within one occurrence too. A `%`,
/// `\` or `+` may stand as itself or begin an escape, so each character may end at several
/// places: they are followed together, as a set, so that no text makes this slow.
fn spelled_ends(
    text: &[u8],
    at: usize,
    secret: &str,
    ends: &mut Vec<usize>,
    next: &mut Vec<usize>,
) {
    ends.clear();
    ends.push(at);
    for c in secret.chars() {
        next.clear();
        for &pos in ends.iter() {
            for end in spellings_of(text, pos, c).into_iter().flatten() {
                // A handful of positions at most: a linear check keeps them distinct.
                if !next.contains(&end) {
                    next.push(end);
                }
            }
        }
        std::mem::swap(ends, next);
        if ends.is_empty() {
            return;
        }
    }
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

/// Turns control characters into spaces, trims and caps at `max` characters (the last
/// one a `…` when something was cut).
fn cap(text: &str, max: usize) -> String {
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

/// Puts `ranges` in order, when `ranges[..split]` and `ranges[split..]` each are: a merge
/// of the two runs, in linear time (a general sort would bring a sort routine of about 3 KB
/// into wasm builds, for a handful of places).
fn merge_runs(ranges: &mut Vec<(usize, usize)>, split: usize) {
    if split == 0 || split >= ranges.len() || ranges[split - 1] <= ranges[split] {
        return;
    }
    let second = ranges.split_off(split);
    let first = std::mem::replace(ranges, Vec::with_capacity(split + second.len()));
    let (mut a, mut b) = (first.into_iter().peekable(), second.into_iter().peekable());
    while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
        let next = if x <= y { a.next() } else { b.next() };
        ranges.extend(next);
    }
    ranges.extend(a);
    ranges.extend(b);
}

/// The values of every `access_token` in `text`, as received: JSON fields
/// (`"access_token" : "…"`), and the spellings that are not a JSON field: form or query
/// (`access_token=…`), JSON inside a JSON string (`\"access_token\":\"…\"`), where the
/// value ends at whitespace, a quote, a backslash or `&`.
fn access_token_values(text: &str) -> Vec<(usize, usize)> {
    const KEY: &str = "access_token";
    let mut ranges = Vec::new();
    let mut from = 0;
    // `KEY` cannot overlap itself: each place is found once.
    while let Some(at) = find_bytes(text, KEY, from) {
        let after_key = at + KEY.len();
        from = after_key;
        let rest = &text[after_key..];
        let value_start = |value: &str| text.len() - value.len();
        // A JSON field: `"access_token"`, `:`, a string value up to its closing quote.
        if text[..at].ends_with('"')
            && let Some(value) = rest
                .strip_prefix('"')
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix(':'))
                .map(str::trim_start)
                .and_then(|v| v.strip_prefix('"'))
        {
            let mut escaped = false;
            let end = value
                .char_indices()
                .find(|&(_, c)| {
                    let closes = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    closes
                })
                .map_or(value.len(), |(i, _)| i);
            if end > 0 {
                let start = value_start(value);
                ranges.push((start, start + end));
            }
            continue;
        }
        // Anything else: `=` or `:`, an optional (escaped) quote, a bare value.
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
        if end > 0 {
            let start = value_start(value);
            ranges.push((start, start + end));
        }
    }
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrub(secret: &str, text: &str) -> String {
        Scrubber::new(secret).scrub(text).into_owned()
    }

    #[test]
    fn two_ordered_runs_merge_into_the_sorted_list() {
        use proptest::prelude::*;
        let run = || proptest::collection::vec((0usize..40, 0usize..40), 0..8);
        proptest!(|(mut a in run(), mut b in run())| {
            a.sort_unstable();
            b.sort_unstable();
            let split = a.len();
            let mut merged = [a, b].concat();
            let mut sorted = merged.clone();
            sorted.sort_unstable();
            merge_runs(&mut merged, split);
            prop_assert_eq!(merged, sorted);
        });
    }

    #[test]
    fn find_bytes_finds_what_str_find_finds() {
        use proptest::prelude::*;
        // Few distinct characters, ASCII and not, so that needles occur and almost occur.
        let text = |n| proptest::collection::vec(prop_oneof!["a", "b", "é", "€", "😀"], n);
        proptest!(|(hay in text(0..24), needle in text(1..4), from in 0usize..40)| {
            let (hay, needle) = (hay.concat(), needle.concat());
            let want = hay.get(from..).and_then(|h| h.find(&*needle)).map(|i| from + i);
            prop_assert_eq!(find_bytes(&hay, &needle, from), want);
        });
    }

    #[test]
    fn a_token_value_and_the_secret_in_one_text_are_both_redacted() {
        let text = "secret s3cr3t-value then access_token=tok1 and s3cr3t-value again";
        assert_eq!(
            scrub("s3cr3t-value", text),
            "secret [redacted] then access_token=[redacted] and [redacted] again"
        );
    }

    #[test]
    fn encodings_of_the_secret_are_found() {
        let s = "a/b";
        for text in [
            "x a/b y",
            "x a%2Fb y",
            "x a%2fb y",
            r"x a\/b y",
            "x 612f62 y",
            "x 612F62 y",
            "x 6125324662 y",
            "x YS9i y",
            "x YS9i== y",
            "x 97, 47, 98 y",
            "x 97,47,98 y",
            "x 97, 37, 50, 70, 98 y",
        ] {
            let out = scrub(s, text);
            assert!(out.starts_with("x [redacted]"), "{text} → {out}");
        }
        // Hex of the lower-case form spelling; base64 of the JSON spelling.
        assert_eq!(scrub("a/b", "6125326662 62"), "[redacted] 62");
        assert_eq!(scrub("a\"b", "x YVwiYg y"), "x [redacted] y");
    }

    #[test]
    fn a_short_secret_is_hidden_only_as_a_whole_word() {
        assert_eq!(
            scrub("e", "Bad client credentials: e"),
            "Bad client credentials: [redacted]"
        );
        assert_eq!(scrub("e", "e,e e"), "[redacted],[redacted] [redacted]");
        assert_eq!(scrub("1", "5b1d7a6f-0d1f 1"), "5b1d7a6f-0d1f [redacted]");
        // An escape before it counts as a separator.
        assert_eq!(scrub("ab", r"line\nab"), r"line\n[redacted]");
        assert_eq!(scrub("ab", "x%20ab"), "x%20[redacted]");
        // Its encodings too: `101` is `e`, `65` its hex, `ZQ` its base64.
        assert_eq!(
            scrub("e", "101 1010 65 ZQ== ZQx"),
            "[redacted] 1010 [redacted] [redacted]== ZQx"
        );
    }

    #[test]
    fn the_token_is_found_before_the_secret() {
        for secret in ["_", ":", "tok", "oken", "\"", "n\"", "access_token"] {
            let out = scrub(secret, r#"{"access_token":"c652cbc0","token_type":"mac"}"#);
            assert!(!out.contains("c652"), "{secret}: {out}");
        }
    }

    #[test]
    fn the_cap_comes_after_the_scrub() {
        let s = Scrubber::new("0123456789abcdef");
        let out = s.clean(&format!("{}0123456789abcdef", "x".repeat(30)), 40);
        assert_eq!(out, format!("{}[redacted]", "x".repeat(30)));
    }
}
