//! A token handed out by a token source.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use zuora_oauth_core::{Generation, Timestamp, Token};

/// A valid token handed out by a [`TokenSource`](crate::TokenSource): the token, its
/// [`Generation`] (to report with `invalidate` if the API answers 401 to it) and its
/// schedule. It derefs to [`Token`] (`authorize`, `bearer_header`, `scope`…). Cloning is
/// cheap; `Debug` never shows the access token.
#[derive(Clone)]
pub struct TokenHandle {
    pub(crate) token: Arc<Token>,
    pub(crate) generation: Generation,
    /// The hit path serves the token until then; the slow path decides afterwards.
    pub(crate) fresh_until: Timestamp,
    pub(crate) usable_until: Timestamp,
    pub(crate) expires_at: Timestamp,
}

impl TokenHandle {
    /// The token, shared.
    pub fn token(&self) -> &Arc<Token> {
        &self.token
    }

    /// Which token this is: report it to `invalidate` if the API answers 401 to it.
    pub fn generation(&self) -> Generation {
        self.generation
    }

    /// Until when (on the source's monotonic clock) the token is handed out: its expiry
    /// less the minimum remaining lifetime.
    pub fn usable_until(&self) -> Timestamp {
        self.usable_until
    }

    /// When the token expires, on the source's monotonic clock.
    pub fn expires_at(&self) -> Timestamp {
        self.expires_at
    }
}

impl Deref for TokenHandle {
    type Target = Token;
    fn deref(&self) -> &Token {
        &self.token
    }
}

impl fmt::Debug for TokenHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHandle")
            .field("generation", &self.generation)
            .field("usable_until", &self.usable_until)
            .field("expires_at", &self.expires_at)
            .field("token", &self.token)
            .finish()
    }
}
