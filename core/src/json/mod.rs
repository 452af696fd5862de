//! A pull reader of JSON text (RFC 8259) for the two bodies the core reads: a token response
//! and an error body.
//!
//! Why not serde_json: in a wasm module the JSON parser was the largest single dependency of
//! the token path (about 20 KB of code and tables, BENCHMARKS.md §5), and these bodies need
//! only a few fields read out of one or two levels of objects. The reader accepts and refuses
//! exactly the texts serde_json 1.0 does for the same reading (tested against it: unit
//! tables and property tests here, the `parse_response` fuzz target):
//!
//! - the grammar of RFC 8259 (no trailing commas, no comments, no leading zeros, no control
//!   characters in strings), whitespace around values, nothing after the value;
//! - a string that is *read* (a key of an object being read, a value taken) must decode to
//!   Unicode: an unpaired surrogate escape (`"\ud800"`) is an error; a value that is
//!   *skipped* is only checked for syntax, so any `\uXXXX` escape passes there (serde_json's
//!   `IgnoredAny`);
//! - a number that is read must be finite as an `f64`: one at or past
//!   2<sup>1024</sup> − 2<sup>970</sup> in magnitude (which rounds to infinity) is an error;
//!   a skipped one is only checked for syntax. Numbers are kept as their text: the core
//!   converts the ones it uses exactly (see [`Number`]).
//!
//! Nothing here recurses: a skipped value nested to any depth takes one byte of stack per
//! level, in a `Vec` (serde_json does the same for skipped values).

use std::borrow::Cow;

/// The offset of the byte where a text stopped being the JSON expected (the length of the
/// text when it ended too soon).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syntax(pub(crate) usize);

type Result<T> = std::result::Result<T, Syntax>;

/// A value read by [`Reader::value`].
#[derive(Debug, PartialEq)]
pub(crate) enum Value<'a> {
    /// A string, borrowed from the text when it has no escapes.
    Str(Cow<'a, str>),
    /// A number, finite as an `f64`.
    Num(Number<'a>),
    Null,
    /// `true`, `false`, an array or an object.
    Other,
}

/// A number's text, as written, in JSON number syntax (checked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Number<'a>(&'a str);

/// `2^1024 - 2^970`: the least magnitude that rounds to infinity as an `f64`.
const INFINITE: &str = "179769313486231580793728971405303415079934132710037826936173778980444968292764750946649017977587207096330286416692887910946555547851940402630657488671505820681908902000708383676273854845817711531764475730270069855571366959622842914819860834936475292719074168444365510704342711559699508093042880177904174497792";

impl<'a> Number<'a> {
    /// The text, if it is a number [`Reader::value`] would read: JSON number syntax with
    /// nothing around it, finite as an `f64`.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let mut reader = Reader::new(text);
        let number = reader.number().ok()?;
        (reader.pos == text.len() && !number.is_infinite()).then_some(number)
    }

    pub(crate) fn as_str(&self) -> &'a str {
        self.0
    }

    /// The number as an integer, if it is written as one (no fraction, no exponent) and
    /// fits a `u64` (non-negative) or an `i64` (negative, not `-0`): what serde_json hands
    /// a visitor as an integer.
    pub(crate) fn integer(&self) -> Option<Integer> {
        if self.0.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            return None;
        }
        match self.0.strip_prefix('-') {
            None => self.0.parse().ok().map(Integer::Unsigned),
            Some("0") => None,
            Some(_) => self.0.parse().ok().map(Integer::Negative),
        }
    }

    /// Whether the number is positive (greater than zero).
    fn is_positive(&self) -> bool {
        !self.0.starts_with('-') && self.digits().any(|d| d != 0)
    }

    /// The significant digits (integer part then fraction, as written) and the power of ten
    /// that scales them: `12.5e3` is `[1, 2, 5]` and `2`.
    fn split(&self) -> (impl Iterator<Item = u8> + Clone + 'a, i64) {
        let text = self.0.strip_prefix('-').unwrap_or(self.0);
        let (mantissa, exponent) = match text.find(['e', 'E']) {
            Some(at) => (&text[..at], exponent(&text[at + 1..])),
            None => (text, 0),
        };
        let fraction = mantissa.find('.').map_or(0, |dot| mantissa.len() - dot - 1);
        let digits = mantissa
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0');
        (digits, exponent.saturating_sub(fraction as i64))
    }

    fn digits(&self) -> impl Iterator<Item = u8> + 'a {
        self.split().0
    }

    /// Whether the magnitude is at least [`INFINITE`], i.e. the number is infinite as a
    /// correctly rounded `f64`.
    fn is_infinite(&self) -> bool {
        // Fewer digits than the limit, and no exponent: finite.
        if self.0.len() < INFINITE.len() && !self.0.bytes().any(|b| matches!(b, b'e' | b'E')) {
            return false;
        }
        let (digits, scale) = self.split();
        let significant = digits.skip_while(|&d| d == 0);
        let count = significant.clone().count() as i64;
        if count == 0 {
            return false;
        }
        // The number is `0.d1d2d3… × 10^magnitude`.
        let magnitude = count.saturating_add(scale);
        let limit = INFINITE.len() as i64;
        if magnitude != limit {
            return magnitude > limit;
        }
        // Same magnitude: compare digit by digit (the shorter padded with zeros).
        let mut ours = significant.chain(std::iter::repeat(0));
        for limit in INFINITE.bytes().map(|b| b - b'0') {
            let ours = ours.next().unwrap_or(0);
            if ours != limit {
                return ours > limit;
            }
        }
        true
    }

    /// The number of seconds as a lifetime, exactly to the nanosecond (rounded half to
    /// even), saturating at `Duration::MAX`; `None` unless it is positive and at least half
    /// a nanosecond.
    pub(crate) fn lifetime(&self) -> Option<std::time::Duration> {
        use std::time::Duration;
        // What Zuora sends: whole seconds.
        if let Some(Integer::Unsigned(secs)) = self.integer() {
            return (secs > 0).then(|| Duration::from_secs(secs));
        }
        if !self.is_positive() {
            return None;
        }
        // Whole seconds, then nine places of nanoseconds, then the half-nanosecond place;
        // places past that only break a tie. (No `u128`: its division weighs about 1 KB in
        // a wasm module.)
        let (digits, scale) = self.split();
        let count = digits.clone().count() as i64;
        // How many places the whole seconds take (the digits then `scale` zeros).
        let whole = count.saturating_add(scale);
        let (mut secs, mut nanos, mut half, mut beyond) = (0u64, 0u32, 0u8, false);
        for (i, d) in (0i64..).zip(digits) {
            if i < whole {
                match secs
                    .checked_mul(10)
                    .and_then(|s| s.checked_add(u64::from(d)))
                {
                    Some(s) => secs = s,
                    None => return Some(Duration::MAX),
                }
            } else if i < whole.saturating_add(9) {
                nanos = nanos * 10 + u32::from(d);
            } else if i == whole.saturating_add(9) {
                half = d;
            } else {
                beyond |= d != 0;
            }
        }
        // The zeros the scale adds to the whole seconds (none are left when it is 0), and
        // the nanosecond places past the last digit.
        for _ in count..whole {
            if secs == 0 {
                break;
            }
            match secs.checked_mul(10) {
                Some(s) => secs = s,
                None => return Some(Duration::MAX),
            }
        }
        let filled = count.min(whole.saturating_add(9)).max(whole.max(0));
        for _ in filled..whole.saturating_add(9) {
            nanos *= 10;
        }
        if half > 5 || (half == 5 && (beyond || nanos % 2 == 1)) {
            nanos += 1;
            if nanos == 1_000_000_000 {
                nanos = 0;
                match secs.checked_add(1) {
                    Some(s) => secs = s,
                    None => return Some(Duration::MAX),
                }
            }
        }
        let lifetime = Duration::new(secs, nanos);
        (!lifetime.is_zero()).then_some(lifetime)
    }
}

/// An exponent's text (optional sign, digits) as a number, saturating far beyond any
/// exponent that matters.
fn exponent(text: &str) -> i64 {
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let magnitude = digits.bytes().fold(0i64, |n, d| {
        n.saturating_mul(10)
            .saturating_add(i64::from(d - b'0'))
            .min(1 << 40)
    });
    if negative { -magnitude } else { magnitude }
}

/// An integer as serde_json hands it to a visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Integer {
    Unsigned(u64),
    Negative(i64),
}

/// Reads one JSON text, value by value.
pub(crate) struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Reader { text, pos: 0 }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn error<T>(&self) -> Result<T> {
        Err(self.here())
    }

    /// The position, as the place of an error found by the caller.
    pub(crate) fn here(&self) -> Syntax {
        Syntax(self.pos)
    }

    /// The next byte that is not whitespace (not consumed).
    fn peek(&mut self) -> Option<u8> {
        while let Some(&b) = self.bytes().get(self.pos) {
            if !matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(b);
            }
            self.pos += 1;
        }
        None
    }

    /// The byte at the position, without skipping whitespace.
    fn at(&self) -> Option<u8> {
        self.bytes().get(self.pos).copied()
    }

    /// Consumes `byte` after any whitespace.
    fn expect(&mut self, byte: u8) -> Result<()> {
        if self.peek() != Some(byte) {
            return self.error();
        }
        self.pos += 1;
        Ok(())
    }

    /// The end of the text: only whitespace may be left.
    pub(crate) fn end(&mut self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(_) => self.error(),
        }
    }

    /// Opens an object if the next value is one (`true`), else leaves it (`false`).
    pub(crate) fn object(&mut self) -> Result<bool> {
        self.open(b'{')
    }

    /// Opens an array if the next value is one (`true`), else leaves it (`false`).
    pub(crate) fn array(&mut self) -> Result<bool> {
        self.open(b'[')
    }

    fn open(&mut self, bracket: u8) -> Result<bool> {
        match self.peek() {
            Some(b) if b == bracket => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) => Ok(false),
            None => self.error(),
        }
    }

    /// The next key of the object opened last (`first`: none read yet) with its colon
    /// consumed, or `None` at its end (`}` consumed). The key is read (decoded, checked).
    pub(crate) fn key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>> {
        if !self.next(first, b'}')? {
            return Ok(None);
        }
        if self.peek() != Some(b'"') {
            return self.error();
        }
        self.pos += 1;
        let key = self.string(true)?;
        self.expect(b':')?;
        Ok(Some(key))
    }

    /// Whether another element of the array opened last follows (`first`: none read yet);
    /// at its end, `false` with the `]` consumed.
    pub(crate) fn element(&mut self, first: bool) -> Result<bool> {
        self.next(first, b']')
    }

    /// Before an entry of a container: its end (consumed: `false`), or a value to come
    /// (after a comma unless `first`: `true`).
    fn next(&mut self, first: bool, close: u8) -> Result<bool> {
        match self.peek() {
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            Some(_) if first => Ok(true),
            _ => self.error(),
        }
    }

    /// Reads the next value: a string decoded, a number checked finite; an array or an
    /// object is walked, its own keys read and everything inside it skipped (what serde_json
    /// does for a visitor that takes any value and ignores a container's entries).
    pub(crate) fn value(&mut self) -> Result<Value<'a>> {
        match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                self.string(true).map(Value::Str)
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                let number = self.number()?;
                if number.is_infinite() {
                    return Err(Syntax(start));
                }
                Ok(Value::Num(number))
            }
            Some(b'n') => self.literal(b"null").map(|()| Value::Null),
            Some(b'[') => {
                self.pos += 1;
                let mut first = true;
                while self.element(first)? {
                    self.skip()?;
                    first = false;
                }
                Ok(Value::Other)
            }
            Some(b'{') => {
                self.pos += 1;
                let mut first = true;
                while self.key(first)?.is_some() {
                    self.skip()?;
                    first = false;
                }
                Ok(Value::Other)
            }
            _ => self.skip().map(|()| Value::Other),
        }
    }

    /// Skips the next value, checking its syntax only: strings are not decoded and
    /// numbers not converted (serde_json's `IgnoredAny`). Nested containers are counted in a
    /// stack of their closing brackets, not by recursion.
    pub(crate) fn skip(&mut self) -> Result<()> {
        let mut open: Vec<u8> = Vec::new();
        loop {
            // A value.
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    self.string(false)?;
                }
                Some(b'-' | b'0'..=b'9') => {
                    self.number()?;
                }
                Some(b'n') => self.literal(b"null")?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(bracket @ (b'[' | b'{')) => {
                    self.pos += 1;
                    let close = if bracket == b'[' { b']' } else { b'}' };
                    if self.next(true, close)? {
                        open.push(close);
                        if close == b'}' {
                            self.skipped_key()?;
                        }
                        continue;
                    }
                }
                _ => return self.error(),
            }
            // After a value: the next entry of the innermost container, or its end.
            loop {
                let Some(&close) = open.last() else {
                    return Ok(());
                };
                if self.next(false, close)? {
                    if close == b'}' {
                        self.skipped_key()?;
                    }
                    break;
                }
                open.pop();
            }
        }
    }

    /// A key inside a skipped object, with its colon.
    fn skipped_key(&mut self) -> Result<()> {
        if self.peek() != Some(b'"') {
            return self.error();
        }
        self.pos += 1;
        self.string(false)?;
        self.expect(b':')
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        for &b in word {
            if self.at() != Some(b) {
                return self.error();
            }
            self.pos += 1;
        }
        Ok(())
    }

    /// A number in JSON syntax, at the position.
    fn number(&mut self) -> Result<Number<'a>> {
        let start = self.pos;
        if self.at() == Some(b'-') {
            self.pos += 1;
        }
        match self.at() {
            Some(b'0') => {
                self.pos += 1;
                if self.at().is_some_and(|b| b.is_ascii_digit()) {
                    return self.error();
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.error(),
        }
        if self.at() == Some(b'.') {
            self.pos += 1;
            if !self.at().is_some_and(|b| b.is_ascii_digit()) {
                return self.error();
            }
            self.digits();
        }
        if matches!(self.at(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.at(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.at().is_some_and(|b| b.is_ascii_digit()) {
                return self.error();
            }
            self.digits();
        }
        Ok(Number(&self.text[start..self.pos]))
    }

    fn digits(&mut self) {
        while self.at().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// The rest of a string whose opening quote is consumed, up to and with its closing
    /// quote. `decode`: unescaped, and an escape must stand for Unicode (paired
    /// surrogates); else only the syntax is checked and the result is empty.
    fn string(&mut self, decode: bool) -> Result<Cow<'a, str>> {
        let start = self.pos;
        self.plain();
        match self.at() {
            Some(b'"') => {
                let end = self.pos;
                self.pos += 1;
                Ok(Cow::Borrowed(if decode {
                    &self.text[start..end]
                } else {
                    ""
                }))
            }
            Some(b'\\') => self.escaped(start, decode),
            _ => self.error(),
        }
    }

    /// The rest of [`Reader::string`] from its first escape on (`start`: where the
    /// string's text began).
    #[cold]
    fn escaped(&mut self, start: usize, decode: bool) -> Result<Cow<'a, str>> {
        // Sized once for the whole string (its decoded text is no longer than its escaped
        // text): no reallocation leaves a copy of a part of it (a token, say) in freed
        // memory.
        let mut out = decode.then(|| {
            String::with_capacity(self.pos - start + escaped_len(&self.bytes()[self.pos..]))
        });
        // The start of the text not yet copied into `out`.
        let mut copied = start;
        loop {
            match self.at() {
                Some(b'"') => {
                    let end = self.pos;
                    self.pos += 1;
                    return Ok(match out {
                        None => Cow::Borrowed(""),
                        Some(mut out) => {
                            out.push_str(&self.text[copied..end]);
                            Cow::Owned(out)
                        }
                    });
                }
                Some(b'\\') => {
                    if let Some(out) = &mut out {
                        out.push_str(&self.text[copied..self.pos]);
                    }
                    self.pos += 1;
                    self.escape(out.as_mut())?;
                    copied = self.pos;
                }
                _ => return self.error(),
            }
            self.plain();
        }
    }

    /// Moves past the bytes of a string that need no attention: all but `"`, `\` and
    /// control characters. Eight at a time (a token is most of a token response).
    fn plain(&mut self) {
        const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
        const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
        /// The high bit of each byte of `v` that is below `n` (exact for whether any is).
        fn below(v: u64, n: u8) -> u64 {
            v.wrapping_sub(ONES * u64::from(n)) & !v & HIGH
        }
        let bytes = self.bytes();
        while let Some(chunk) = bytes.get(self.pos..self.pos + 8) {
            let Ok(chunk) = <[u8; 8]>::try_from(chunk) else {
                break;
            };
            // The first byte is the lowest: the lowest flag is exact (a borrow only runs
            // upward, past a byte already flagged).
            let v = u64::from_le_bytes(chunk);
            let special = below(v ^ (ONES * u64::from(b'"')), 1)
                | below(v ^ (ONES * u64::from(b'\\')), 1)
                | below(v, 0x20);
            if special != 0 {
                self.pos += special.trailing_zeros() as usize / 8;
                return;
            }
            self.pos += 8;
        }
        while self
            .at()
            .is_some_and(|b| !matches!(b, b'"' | b'\\' | 0..=0x1f))
        {
            self.pos += 1;
        }
    }

    /// One escape after its backslash, written to `out` if decoding.
    fn escape(&mut self, out: Option<&mut String>) -> Result<()> {
        let Some(b) = self.at() else {
            return self.error();
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let unit = self.hex()?;
                if out.is_none() {
                    return Ok(());
                }
                let c = match unit {
                    0xD800..=0xDBFF => {
                        // A leading surrogate: a trailing one must follow, escaped.
                        if self.at() != Some(b'\\') {
                            return self.error();
                        }
                        self.pos += 1;
                        if self.at() != Some(b'u') {
                            return self.error();
                        }
                        self.pos += 1;
                        let low = self.hex()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return self.error();
                        }
                        let c = 0x10000
                            + ((u32::from(unit) - 0xD800) << 10)
                            + (u32::from(low) - 0xDC00);
                        char::from_u32(c)
                    }
                    0xDC00..=0xDFFF => None,
                    _ => char::from_u32(u32::from(unit)),
                };
                match c {
                    Some(c) => c,
                    None => return self.error(),
                }
            }
            _ => {
                self.pos -= 1;
                return self.error();
            }
        };
        if let Some(out) = out {
            out.push(c);
        }
        Ok(())
    }

    /// Four hexadecimal digits.
    fn hex(&mut self) -> Result<u16> {
        let mut unit = 0u16;
        for _ in 0..4 {
            let Some(digit) = self.at().and_then(|b| (b as char).to_digit(16)) else {
                return self.error();
            };
            unit = unit << 4 | digit as u16;
            self.pos += 1;
        }
        Ok(unit)
    }
}

/// How many bytes of `rest` (a string's text from an escape on) come before its closing
/// quote: all of them if there is none.
fn escaped_len(rest: &[u8]) -> usize {
    let mut i = 0;
    while let Some(&b) = rest.get(i) {
        match b {
            b'"' => return i,
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
    rest.len()
}

#[cfg(test)]
mod tests;
