//! An issued access token and how to use it.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use http::header::AUTHORIZATION;
use http::{HeaderName, HeaderValue};
use zeroize::Zeroizing;

use crate::entity_id::EntityId;
use crate::invalid::InvalidInput;
use crate::meta::ResponseMeta;
use crate::scope::Scope;

/// `Zuora-Entity-Ids`, the header that selects an entity of a Multi-entity tenant.
pub const ZUORA_ENTITY_IDS: HeaderName = HeaderName::from_static("zuora-entity-ids");

const BEARER_PREFIX: &str = "Bearer ";

/// A bearer access token. `Debug` prints `AccessToken([redacted])`; there is no `Display`;
/// memory is zeroized on drop.
#[derive(Clone)]
pub struct AccessToken(
    /// `Bearer <token>`, so that the `Authorization` header is one copy away.
    Zeroizing<String>,
);

impl AccessToken {
    /// The longest token accepted (Zuora's are 32 characters).
    pub const MAX_LEN: usize = 4096;

    /// Checks that `token` is 1 to 4096 visible US-ASCII characters (no spaces), so that
    /// it can always be sent in an `Authorization: Bearer` header.
    pub fn new(token: &str) -> Result<Self, InvalidInput> {
        if token.is_empty() || token.len() > Self::MAX_LEN {
            return Err(InvalidInput::new(
                "access_token",
                "must be 1 to 4096 characters long",
            ));
        }
        // One pass with no early exit, which the compiler vectorises.
        if !token
            .bytes()
            .fold(true, |ok, b| ok & (b.wrapping_sub(0x21) < 0x5e))
        {
            return Err(InvalidInput::new(
                "access_token",
                "must be visible US-ASCII without spaces",
            ));
        }
        let mut s = Zeroizing::new(String::with_capacity(BEARER_PREFIX.len() + token.len()));
        s.push_str(BEARER_PREFIX);
        s.push_str(token);
        Ok(Self(s))
    }

    /// The token itself. Call this only to send it.
    pub fn secret(&self) -> &str {
        &self.0[BEARER_PREFIX.len()..]
    }

    /// `Bearer <token>` as a header value marked sensitive (HTTP/2 never indexes it and
    /// `http`'s `Debug` hides it).
    pub fn bearer_header(&self) -> HeaderValue {
        // Validated in `new`: visible ASCII and a space can always be a header value.
        let mut v = HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static(""));
        v.set_sensitive(true);
        v
    }
}

/// As derived: the fields in order, the `jti` (kept in the metadata's buffer) among them.
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("access_token", &self.access_token)
            .field("expires_in", &self.expires_in)
            .field("jti", &self.jti())
            .field("scope", &self.scope)
            .field("token_type", &self.token_type)
            .field("entity_id", &self.entity_id)
            .field("meta", &self.meta)
            .finish()
    }
}

/// Constant-time comparison (the length is not hidden).
impl PartialEq for AccessToken {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl Eq for AccessToken {}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessToken([redacted])")
    }
}

/// A token issued by Zuora's `POST /oauth/token`.
///
/// Zuora issues no refresh token: renewing means asking again (see
/// [`TokenLifecycle`](crate::TokenLifecycle) for when).
#[derive(Clone)]
pub struct Token {
    access_token: AccessToken,
    expires_in: Duration,
    scope: Scope,
    token_type: Cow<'static, str>,
    entity_id: Option<EntityId>,
    /// The response's metadata, and the token's `jti` (kept in the same buffer: one
    /// allocation less per token).
    meta: ResponseMeta,
}

impl Token {
    /// A token obtained elsewhere (for example read back from a shared store), valid for
    /// `expires_in` from now. `token_type` is `bearer`, the scope empty, no `jti`.
    pub fn new(access_token: AccessToken, expires_in: Duration) -> Self {
        Self {
            access_token,
            expires_in,
            scope: Scope::default(),
            token_type: Cow::Borrowed("bearer"),
            entity_id: None,
            meta: ResponseMeta::default(),
        }
    }

    pub(crate) fn from_response(
        access_token: AccessToken,
        expires_in: Duration,
        scope: Scope,
        token_type: &str,
        meta: ResponseMeta,
    ) -> Self {
        Self {
            access_token,
            expires_in,
            scope,
            token_type: if token_type == "bearer" {
                Cow::Borrowed("bearer")
            } else {
                Cow::Owned(token_type.to_owned())
            },
            entity_id: None,
            meta,
        }
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Sets the token ID (`jti`).
    pub fn with_jti(mut self, jti: impl Into<String>) -> Self {
        self.meta = self.meta.with_jti(Some(&jti.into()));
        self
    }

    /// Sets the entity that [`Token::authorize`] selects with `Zuora-Entity-Ids`.
    /// Tokens parsed by [`TokenRequest::parse_response`](crate::TokenRequest::parse_response)
    /// carry the request's entity, if it had one.
    pub fn with_entity_id(mut self, entity_id: Option<EntityId>) -> Self {
        self.entity_id = entity_id;
        self
    }

    /// The access token (a secret).
    pub fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    /// The lifetime Zuora granted (`expires_in`), counted from when the response was made.
    pub fn expires_in(&self) -> Duration {
        self.expires_in
    }

    /// The token's ID (`jti`), if Zuora sent one; an echo of the client secret in it reads
    /// `[redacted]`.
    pub fn jti(&self) -> Option<&str> {
        self.meta.jti()
    }

    /// What the token may do; an echo of the client secret in it reads `[redacted]` (the
    /// other items are kept).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// `token_type` as the server sent it (always `bearer` in some letter case; should that
    /// spell the client secret, `[redacted]` in its place).
    pub fn token_type(&self) -> &str {
        &self.token_type
    }

    /// The entity this token's requests are sent for, if one was configured.
    pub fn entity_id(&self) -> Option<&EntityId> {
        self.entity_id.as_ref()
    }

    /// Metadata of the response that carried the token (request ID, rate limits…).
    pub fn meta(&self) -> &ResponseMeta {
        &self.meta
    }

    /// `Authorization: Bearer <token>` as a sensitive header value.
    pub fn bearer_header(&self) -> HeaderValue {
        self.access_token.bearer_header()
    }

    /// Prepares a request to Zuora's REST API: sets `Authorization: Bearer <token>` and,
    /// if an entity was configured, `Zuora-Entity-Ids`. Existing values are replaced.
    ///
    /// ```
    /// # use std::time::Duration;
    /// # use zuora_oauth_core::{AccessToken, Token};
    /// let token = Token::new(AccessToken::new("c652cbc0ea384b9f81856a93a2a74538")?, Duration::from_secs(3599));
    /// let mut req = http::Request::get("https://rest.zuora.com/v1/catalog/products").body(())?;
    /// token.authorize(&mut req);
    /// assert!(req.headers()["authorization"].is_sensitive());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn authorize<B>(&self, request: &mut http::Request<B>) {
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.bearer_header());
        if let Some(entity) = &self.entity_id {
            headers.insert(ZUORA_ENTITY_IDS, entity.header().clone());
        }
    }
}
