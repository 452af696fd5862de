//! Validated text that doubles as an HTTP header value.

use http::HeaderValue;

/// Text already checked to be printable US-ASCII, kept both as `str` and as a ready
/// [`HeaderValue`] so that building a request does not validate or allocate it again.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct HeaderText {
    text: Box<str>,
    header: HeaderValue,
}

impl HeaderText {
    /// `text` must be printable US-ASCII (`0x20..=0x7E`); callers check that first.
    /// Returns `None` only if that promise was broken.
    pub(crate) fn new(text: String) -> Option<Self> {
        let header = HeaderValue::from_str(&text).ok()?;
        Some(Self {
            text: text.into_boxed_str(),
            header,
        })
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.text
    }

    pub(crate) fn header(&self) -> &HeaderValue {
        &self.header
    }
}
