//! The optional `Zuora-Track-Id` request header.

use crate::header_text::HeaderText;
use crate::invalid::{InvalidInput, char_count};

/// A value for the `Zuora-Track-Id` header, which Zuora echoes back so that a caller can
/// correlate a response with its own logs.
///
/// Rules: 1 to 64 characters of printable US-ASCII (`0x20`–`0x7E`), none of `:` `;` `"` `'`,
/// and no space at either end (HTTP would strip it and the echo would differ). Everything
/// that passes is a valid [`http::HeaderValue`].
///
/// ```
/// use zuora_oauth_core::TrackId;
/// assert!(TrackId::new("job-42 retry 1").is_ok());
/// assert!(TrackId::new("a:b").is_err());
/// assert!(TrackId::new(" padded").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TrackId(HeaderText);

impl TrackId {
    /// The most characters Zuora accepts.
    pub const MAX_LEN: usize = 64;

    /// Validates `id` against Zuora's rules.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidInput> {
        let id = id.into();
        let err = |rule: String| InvalidInput::new("Zuora-Track-Id", rule);
        let n = char_count(&id);
        if n == 0 {
            return Err(err("must not be empty".into()));
        }
        if n > Self::MAX_LEN {
            return Err(err(format!("must be at most 64 characters (got {n})")));
        }
        if let Some((i, c)) = id
            .chars()
            .enumerate()
            .find(|&(_, c)| !(' '..='~').contains(&c))
        {
            return Err(err(format!(
                "must be printable US-ASCII; character {} is {}",
                i + 1,
                describe(c)
            )));
        }
        if let Some(c) = id.chars().find(|c| matches!(c, ':' | ';' | '"' | '\'')) {
            return Err(err(format!(
                "must not contain `{c}` (Zuora forbids : ; \" ')"
            )));
        }
        if id.starts_with(' ') || id.ends_with(' ') {
            return Err(err(
                "must not start or end with a space (HTTP strips it, so the echo would differ)"
                    .into(),
            ));
        }
        HeaderText::new(id)
            .map(Self)
            .ok_or_else(|| err("is not a valid HTTP header value".into()))
    }

    /// The track ID as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn header(&self) -> &http::HeaderValue {
        self.0.header()
    }
}

/// Names a rejected character without printing it raw (it may be a control character).
fn describe(c: char) -> String {
    if c.is_control() {
        format!("the control character U+{:04X}", c as u32)
    } else {
        format!("`{c}` (U+{:04X}), which is not US-ASCII", c as u32)
    }
}

crate::header_text::text_impls!(TrackId);
