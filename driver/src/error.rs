//! Why a token source handed out no token.

use std::fmt;
use std::time::Duration;

use zuora_oauth_core::Error;

/// Why a token source could not hand out a token: the last failure, and when the next
/// attempt will be made. `Display` gives both in one sentence.
#[derive(Debug, Clone)]
pub struct TokenError {
    error: Error,
    retry_in: Option<Duration>,
}

impl TokenError {
    /// `error`, with the next attempt `retry_in` from now (`None`: not automatically).
    pub fn new(error: Error, retry_in: Option<Duration>) -> Self {
        Self { error, retry_in }
    }

    /// The failure.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// Takes the failure.
    pub fn into_error(self) -> Error {
        self.error
    }

    /// How long until the next attempt may be made; `None` if none will be made
    /// automatically (a permanent failure: see [`Error::is_transient`]).
    pub fn retry_in(&self) -> Option<Duration> {
        self.retry_in
    }

    /// See [`Error::is_transient`].
    pub fn is_transient(&self) -> bool {
        self.error.is_transient()
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)?;
        match self.retry_in {
            Some(d) if d.is_zero() => f.write_str("; the next attempt may be made now"),
            Some(d) => write!(
                f,
                "; next attempt in {} s",
                d.as_secs() + u64::from(d.subsec_nanos() > 0)
            ),
            None => f.write_str(
                "; no further attempt until the credentials are changed or the source is reset",
            ),
        }
    }
}

impl std::error::Error for TokenError {
    /// `None`: `Display` already includes the inner error's text, so reporting it again as
    /// the source would print it twice. Use [`TokenError::error`] to inspect it.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        None
    }
}

impl From<TokenError> for Error {
    fn from(e: TokenError) -> Self {
        e.error
    }
}
