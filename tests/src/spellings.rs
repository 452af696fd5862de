//! Every spelling of a secret that a leak scan looks for, and the scan itself: one
//! definition of "in any encoding", shared by every test that claims it.
//!
//! A secret is looked for as itself, form-encoded (`%XX` in upper and in lower case, `+` for
//! a space), JSON-escaped, and each of those as a list of byte values (`1, 2` and `1,2`),
//! as hex (both cases) and as base64 (standard alphabet, padding optional).
//!
//! ```
//! use zuora_oauth_testkit::spellings;
//! let all = spellings::spellings("a/b");
//! assert!(all.contains(&"a%2Fb".to_owned()) && all.contains(&"a%2fb".to_owned()));
//! assert!(all.contains(&"612f62".to_owned()) && all.contains(&"97, 47, 98".to_owned()));
//! assert!(spellings::find("see YS9i here", "a/b").is_some()); // base64
//! // A secret of 1 to 3 characters counts only as a whole word.
//! assert!(spellings::find("client credentials", "e").is_none());
//! assert!(spellings::find("secret: e.", "e").is_some());
//! ```

/// A secret of at most this many characters is found only where it stands as a whole
/// word (no letter or digit right before or after it), as the core's scrubber redacts it:
/// any shorter spelling would match inside ordinary words and numbers by coincidence.
pub const SHORT_SECRET_MAX: usize = 3;

/// `secret` as an `application/x-www-form-urlencoded` value spells it (`%XX` upper case).
pub fn form_encoded(secret: &str) -> String {
    serde_urlencoded::to_string([("x", secret)]).expect("a string pair always encodes")[2..]
        .to_owned()
}

/// `secret` as a JSON string holds it, without the quotes.
pub fn json_escaped(secret: &str) -> String {
    let quoted = serde_json::to_string(secret).expect("a string always serializes");
    quoted[1..quoted.len() - 1].to_owned()
}

/// The texts every other spelling is made from: raw, form-encoded (both hex cases) and
/// JSON-escaped, without duplicates.
pub fn texts(secret: &str) -> Vec<String> {
    let form = form_encoded(secret);
    // Only the `%XX` escapes change case: the secret's own letters stay as they are.
    let lower_form = lower_escapes(&form);
    let mut texts = vec![secret.to_owned(), form, lower_form, json_escaped(secret)];
    dedup(&mut texts);
    texts
}

/// Every spelling of `secret` this module looks for, without duplicates: the [`texts`]
/// first, then their encodings.
pub fn spellings(secret: &str) -> Vec<String> {
    let texts = texts(secret);
    let mut all = texts.clone();
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
    }
    dedup(&mut all);
    all
}

/// A spelling of a secret found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// The spelling found.
    pub spelling: String,
    /// Its byte offset in the text.
    pub at: usize,
}

/// Finds the spellings of one secret (computed once) in any number of texts.
#[derive(Debug, Clone)]
pub struct Finder {
    spellings: Vec<String>,
    whole_words: bool,
}

impl Finder {
    /// A finder for `secret` (an empty secret is never found).
    pub fn new(secret: &str) -> Self {
        Self {
            spellings: if secret.is_empty() {
                Vec::new()
            } else {
                spellings(secret)
            },
            whole_words: secret.chars().count() <= SHORT_SECRET_MAX,
        }
    }

    /// The spellings looked for (see [`spellings`]).
    pub fn spellings(&self) -> &[String] {
        &self.spellings
    }

    /// Every place where `text` shows a spelling of the secret (as a whole word only for
    /// a secret of at most [`SHORT_SECRET_MAX`] characters), in the order of
    /// [`spellings`].
    pub fn find_all(&self, text: &str) -> Vec<Leak> {
        let mut found = Vec::new();
        for spelling in &self.spellings {
            for (at, _) in text.match_indices(spelling.as_str()) {
                if !self.whole_words || is_whole_word(text, at, at + spelling.len()) {
                    found.push(Leak {
                        spelling: spelling.clone(),
                        at,
                    });
                }
            }
        }
        found
    }

    /// The first spelling `text` shows, if any.
    pub fn find(&self, text: &str) -> Option<Leak> {
        self.find_all(text).into_iter().next()
    }

    /// How many times `text` shows each spelling, in the order of [`Finder::spellings`].
    /// For a short secret, compare the counts with those of the same text made with a
    /// neutral value in the secret's place: the structure of a message (a `line: 1`, a
    /// status) may spell a one-character secret by coincidence, but an echo must add
    /// nothing to it.
    pub fn counts(&self, text: &str) -> Vec<usize> {
        self.spellings
            .iter()
            .map(|spelling| {
                text.match_indices(spelling.as_str())
                    .filter(|&(at, _)| {
                        !self.whole_words || is_whole_word(text, at, at + spelling.len())
                    })
                    .count()
            })
            .collect()
    }
}

/// Every place where `text` shows a spelling of `secret` (see [`Finder::find_all`]).
pub fn find_all(text: &str, secret: &str) -> Vec<Leak> {
    Finder::new(secret).find_all(text)
}

/// The first spelling of `secret` that `text` shows, if any (see [`Finder::find_all`]).
pub fn find(text: &str, secret: &str) -> Option<Leak> {
    Finder::new(secret).find(text)
}

/// How many times `text` shows a spelling of `secret` (see [`Finder::counts`]).
pub fn count(text: &str, secret: &str) -> usize {
    Finder::new(secret).counts(text).iter().sum()
}

/// A piece of `secret` of `len` characters (or more) that `text` shows as itself,
/// form-encoded or JSON-escaped: what is left of a secret that was cut before it was
/// scrubbed. `None` when `secret` is shorter than `len`.
pub fn find_fragment(text: &str, secret: &str, len: usize) -> Option<String> {
    fragments(text, secret, len).into_iter().next()
}

/// Every piece of `secret` of `len` characters that `text` shows as itself, form-encoded
/// or JSON-escaped (see [`find_fragment`]).
pub fn fragments(text: &str, secret: &str, len: usize) -> Vec<String> {
    Pieces::new(secret, len).find_all(text)
}

/// The pieces of one secret that [`fragments`] looks for, spelled once.
#[derive(Debug, Clone)]
pub struct Pieces {
    spellings: Vec<String>,
}

impl Pieces {
    /// Every piece of `len` characters of `secret`, as itself, form-encoded (both hex
    /// cases) and JSON-escaped; none when `secret` is shorter than `len`.
    pub fn new(secret: &str, len: usize) -> Self {
        let chars: Vec<char> = secret.chars().collect();
        let mut spellings = Vec::new();
        if len > 0 && chars.len() >= len {
            for window in chars.windows(len) {
                spellings.extend(texts(&window.iter().collect::<String>()));
            }
        }
        dedup(&mut spellings);
        Self { spellings }
    }

    /// The pieces `text` shows.
    pub fn find_all(&self, text: &str) -> Vec<String> {
        self.spellings
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .cloned()
            .collect()
    }
}

/// Whether `text[start..end]` has no letter or digit right before or right after it.
pub fn is_whole_word(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// Standard base64 with padding (no dependency for one encoder).
pub fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `%2F` → `%2f`, every other character kept.
fn lower_escapes(form: &str) -> String {
    let mut out = String::with_capacity(form.len());
    let mut escape = 0;
    for c in form.chars() {
        if c == '%' {
            escape = 2;
            out.push(c);
        } else if escape > 0 {
            escape -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn dedup(items: &mut Vec<String>) {
    let mut seen = Vec::new();
    items.retain(|s| {
        let new = !seen.contains(s);
        if new {
            seen.push(s.clone());
        }
        new
    });
}

/// Fails if `text` holds any spelling of `secret` ([`spellings`]); `what` names the text
/// (never the secret: the message names the spelling found only by its number).
#[track_caller]
pub fn assert_no_spelling(what: &str, text: &str, secret: &str) {
    let all = spellings(secret);
    for (i, spelling) in all.iter().enumerate() {
        assert!(
            !text.contains(spelling.as_str()),
            "{what} holds a spelling of a secret (spelling #{i} of {})",
            all.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spellings_are_the_ones_meant() {
        let s = spellings("a/b");
        for expected in [
            "a/b",
            "a%2Fb",
            "a%2fb",
            "97, 47, 98",
            "97,47,98",
            "97, 37, 50, 70, 98",
            "97, 37, 50, 102, 98",
            "612f62",
            "612F62",
            "YS9i",
        ] {
            assert!(s.contains(&expected.to_owned()), "{expected} in {s:?}");
        }
        assert!(spellings("a\"b").contains(&r#"a\"b"#.to_owned()));
        assert!(spellings("a b").contains(&"a+b".to_owned()));
        assert_eq!(base64(b"any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
        assert_eq!(base64(b"a"), "YQ==");
        // The secret's own letters keep their case in the lower-case form spelling.
        assert!(spellings("A/B").contains(&"A%2fB".to_owned()));
    }

    #[test]
    fn short_secrets_count_as_whole_words_only() {
        assert_eq!(count("Bad client credentials", "e"), 0);
        assert_eq!(count("e", "e"), 1);
        assert_eq!(count("[e] e-e", "e"), 3);
        // 0x65 = `e`; 101 its byte value; `ZQ` its base64.
        assert_eq!(count("x 65 ZQ== 101,", "e"), 3);
        assert_eq!(count("6565", "e"), 0);
        // A long secret counts anywhere.
        assert_eq!(count("xxsecret-value-1yy", "secret-value-1"), 1);
    }

    #[test]
    fn fragments() {
        let secret = "m0ck+Zu0ra/S3cr3t=Fo7";
        assert_eq!(
            find_fragment("token_type is `xxxm0ck+Zu0r…`", secret, 8).as_deref(),
            Some("m0ck+Zu0")
        );
        assert_eq!(
            find_fragment("…ra%2FS3cr3…", secret, 8).as_deref(),
            Some("ra%2FS3cr3")
        );
        assert_eq!(find_fragment("m0ck+Zu", secret, 8), None);
        assert_eq!(find_fragment("anything", "short", 8), None);
    }
}
