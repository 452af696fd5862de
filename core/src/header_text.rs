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

/// `Debug` (the type's name and its text), `Display` (the text) and `FromStr` (`new`) for a
/// validated text type with `as_str` and `new(&str) -> Result<Self, InvalidInput>`.
macro_rules! text_impls {
    ($name:ident) => {
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_tuple(stringify!($name))
                    .field(&self.as_str())
                    .finish()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::InvalidInput;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }
    };
}
pub(crate) use text_impls;
