//! The client credentials of a Zuora OAuth client.

use std::fmt;

use zeroize::Zeroizing;

use crate::invalid::{InvalidInput, char_count};

/// The `client_id` of a Zuora OAuth client: exactly 36 characters.
///
/// Zuora shows it once, next to the secret, when an OAuth client is created in
/// *Settings → Administration → Manage Users*. It is not secret, so it prints normally.
///
/// ```
/// use zuora_oauth_core::ClientId;
/// let id = ClientId::new("8a8a8a8a-0000-1111-2222-333344445555")?;
/// assert_eq!(id.as_str().len(), 36);
/// assert!(ClientId::new("too-short").is_err());
/// # Ok::<(), zuora_oauth_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientId(Box<str>);

impl ClientId {
    /// The number of characters Zuora's client IDs have.
    pub const LEN: usize = 36;

    /// Checks that `id` has exactly 36 characters (characters, not bytes).
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidInput> {
        let id = id.as_ref();
        let n = char_count(id);
        if n != Self::LEN {
            return Err(InvalidInput::new(
                "client_id",
                format!("must be exactly 36 characters (got {n})"),
            ));
        }
        Ok(Self(id.into()))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClientId").field(&self.0).finish()
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ClientId {
    type Err = InvalidInput;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

/// The `client_secret` of a Zuora OAuth client: 1 to 42 characters.
///
/// Its `Debug` prints `ClientSecret([redacted])`; it has no `Display` and no `PartialEq`
/// (compare secrets with [`ClientSecret::expose_secret`] if you must), and its memory is
/// overwritten with zeros when it is dropped. Real secrets contain `=`, `/` and `+`: the
/// request builder percent-encodes them.
///
/// ```
/// use zuora_oauth_core::ClientSecret;
/// let secret = ClientSecret::new("s3cr/t+with=signs")?;
/// assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
/// assert_eq!(secret.expose_secret(), "s3cr/t+with=signs");
/// # Ok::<(), zuora_oauth_core::InvalidInput>(())
/// ```
#[derive(Clone)]
pub struct ClientSecret(Zeroizing<String>);

impl ClientSecret {
    /// The most characters Zuora's client secrets have.
    pub const MAX_LEN: usize = 42;

    /// Checks that `secret` has 1 to 42 characters. Takes ownership so that the only copy
    /// ends up in zeroized memory.
    pub fn new(secret: impl Into<String>) -> Result<Self, InvalidInput> {
        let secret = Zeroizing::new(secret.into());
        let n = char_count(&secret);
        if n == 0 {
            return Err(InvalidInput::new("client_secret", "must not be empty"));
        }
        if n > Self::MAX_LEN {
            return Err(InvalidInput::new(
                "client_secret",
                format!("must be at most 42 characters (got {n})"),
            ));
        }
        Ok(Self(secret))
    }

    /// The secret itself. Call this only to send it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}
