//! A token as it is kept outside the process: absolute wall-clock times, serialisable.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::entity_id::EntityId;
use crate::scope::Scope;
use crate::token::{AccessToken, Token};

/// A token with the wall-clock times it was issued and expires at: what a file cache or a
/// store shared by several processes keeps, and what
/// [`TokenLifecycle::adopt`](crate::TokenLifecycle::adopt) takes back.
///
/// It serialises (serde) to a small JSON-friendly object with times in Unix milliseconds:
///
/// ```text
/// {"access_token":"…","issued_at_ms":1764748800000,"expires_at_ms":1764752399000,
///  "jti":"…","scope":"tenant.19 platform.write","entity_id":"…"}
/// ```
///
/// It never holds the client secret. It does hold the access token, which is a secret:
/// keep records where only the owner can read them (the Redis store encrypts them; the
/// CLI's cache file is private to its user). `Debug` redacts the token. Deserialising
/// validates every field the way a token response is validated, and refuses a record
/// that expires before it was issued.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use zuora_oauth_core::{AccessToken, Token, TokenRecord};
///
/// let issued = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_748_800);
/// let token = Token::new(AccessToken::new("c652cbc0ea384b9f81856a93a2a74538")?, Duration::from_secs(3599));
/// let record = TokenRecord::new(&token, issued);
/// assert_eq!(record.expires_at(), issued + Duration::from_secs(3599));
///
/// let json = serde_json::to_string(&record)?;
/// let back: TokenRecord = serde_json::from_str(&json)?;
/// assert_eq!(back.remaining(issued + Duration::from_secs(599)), Duration::from_secs(3000));
/// assert!(!format!("{back:?}").contains("c652cbc0"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    token: RecordToken,
    issued_at: SystemTime,
    expires_at: SystemTime,
}

/// The parts of a [`Token`] a record keeps (not the response metadata).
#[derive(Clone, PartialEq, Eq)]
struct RecordToken {
    access_token: AccessToken,
    jti: Option<String>,
    scope: Scope,
    entity_id: Option<EntityId>,
}

impl TokenRecord {
    /// The record of `token`, issued at `issued_at` (the response's `Date`, or the wall
    /// clock when the request was sent) and expiring its `expires_in` later.
    pub fn new(token: &Token, issued_at: SystemTime) -> Self {
        Self::with_lifetime(token, issued_at, token.expires_in())
    }

    /// The record of `token`, issued at `issued_at` and living `lifetime` from then.
    pub(crate) fn with_lifetime(token: &Token, issued_at: SystemTime, lifetime: Duration) -> Self {
        Self {
            token: RecordToken {
                access_token: token.access_token().clone(),
                jti: token.jti().map(str::to_owned),
                scope: token.scope().clone(),
                entity_id: token.entity_id().cloned(),
            },
            issued_at,
            expires_at: saturating_add(issued_at, lifetime),
        }
    }

    /// When the token was issued (wall clock).
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    /// When the token expires (wall clock).
    pub fn expires_at(&self) -> SystemTime {
        self.expires_at
    }

    /// The token's ID (`jti`), if Zuora sent one.
    pub fn jti(&self) -> Option<&str> {
        self.token.jti.as_deref()
    }

    /// The lifetime left at wall-clock time `now` (zero once expired).
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires_at
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    }

    /// The same record, expiring `by` earlier (not before it was issued): what a process
    /// whose clock may be `by` behind the writer's can count on.
    pub(crate) fn expiring_earlier(mut self, by: Duration) -> Self {
        self.expires_at = self
            .expires_at
            .checked_sub(by)
            .map_or(self.issued_at, |t| t.max(self.issued_at));
        self
    }

    /// Whether `other` holds the same access token (compared in constant time).
    pub fn same_token(&self, other: &TokenRecord) -> bool {
        self.token.access_token == other.token.access_token
    }

    /// The whole lifetime the token was issued with.
    pub fn lifetime(&self) -> Duration {
        self.expires_at
            .duration_since(self.issued_at)
            .unwrap_or(Duration::ZERO)
    }

    /// The token, with `expires_in` the whole lifetime it was issued with.
    pub fn to_token(&self) -> Token {
        let mut token = Token::new(self.token.access_token.clone(), self.lifetime())
            .with_scope(self.token.scope.clone())
            .with_entity_id(self.token.entity_id.clone());
        if let Some(jti) = &self.token.jti {
            token = token.with_jti(jti.clone());
        }
        token
    }
}

impl fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRecord")
            .field("access_token", &self.token.access_token)
            .field("jti", &self.token.jti)
            .field("scope", &self.token.scope)
            .field("entity_id", &self.token.entity_id)
            .field("issued_at_ms", &unix_ms(self.issued_at))
            .field("expires_at_ms", &unix_ms(self.expires_at))
            .finish()
    }
}

/// The serialised form.
#[derive(Serialize)]
struct Wire<'a> {
    access_token: &'a str,
    issued_at_ms: u64,
    expires_at_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    entity_id: Option<&'a str>,
}

/// `t + d`, or as far as the platform's `SystemTime` reaches (for lifetimes like
/// `Duration::MAX`).
fn saturating_add(t: SystemTime, d: Duration) -> SystemTime {
    const FAR: Duration = Duration::from_secs(1 << 40); // about 35,000 years
    t.checked_add(d)
        .or_else(|| t.checked_add(d.min(FAR)))
        .unwrap_or(t)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn from_unix_ms(ms: u64) -> SystemTime {
    saturating_add(UNIX_EPOCH, Duration::from_millis(ms))
}

impl Serialize for TokenRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            access_token: self.token.access_token.secret(),
            issued_at_ms: unix_ms(self.issued_at),
            expires_at_ms: unix_ms(self.expires_at),
            jti: self.token.jti.as_deref(),
            scope: self.token.scope.as_str(),
            entity_id: self.token.entity_id.as_ref().map(EntityId::as_str),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TokenRecord {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        // Owned strings: borrowing would refuse JSON-escaped input.
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Owned {
            access_token: String,
            issued_at_ms: u64,
            expires_at_ms: u64,
            #[serde(default)]
            jti: Option<String>,
            #[serde(default)]
            scope: String,
            #[serde(default)]
            entity_id: Option<String>,
        }
        let mut w = Owned::deserialize(deserializer)?;
        let raw = zeroize::Zeroizing::new(std::mem::take(&mut w.access_token));
        // The messages never quote the values: the token is a secret.
        let access_token =
            AccessToken::new(&raw).map_err(|_| D::Error::custom("invalid access_token"))?;
        let entity_id = w
            .entity_id
            .map(EntityId::new)
            .transpose()
            .map_err(|_| D::Error::custom("invalid entity_id"))?;
        if w.expires_at_ms <= w.issued_at_ms {
            return Err(D::Error::custom("expires_at_ms must be after issued_at_ms"));
        }
        Ok(Self {
            token: RecordToken {
                access_token,
                jti: w.jti,
                scope: Scope::new(w.scope),
                entity_id,
            },
            issued_at: from_unix_ms(w.issued_at_ms),
            expires_at: from_unix_ms(w.expires_at_ms),
        })
    }
}
