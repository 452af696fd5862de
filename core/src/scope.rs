//! The `scope` of a Zuora token.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The space-separated `scope` string of a token, with typed accessors.
///
/// The raw string is kept exactly as received; the items are parsed when read, so no
/// allocation is made for them. Items this crate does not know are kept
/// ([`ScopeItem::Other`]), never rejected. Order is not significant (Zuora's is not stable).
///
/// ```
/// use zuora_oauth_core::{Scope, ScopeItem};
/// let scope = Scope::new("user.7c4d5433dc234c369a01b9719ecd059f entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc \
///                         service.echo.read tenant.19 platform.write new.thing");
/// assert_eq!(scope.user_id(), Some("7c4d5433dc234c369a01b9719ecd059f"));
/// assert_eq!(scope.tenant_id(), Some(19));
/// assert_eq!(scope.entity_ids().count(), 1);
/// assert!(scope.has_platform_write());
/// assert!(scope.allows("echo", "read"));
/// assert!(scope.items().any(|i| i == ScopeItem::Other("new.thing")));
/// ```
#[derive(Clone, Default)]
pub struct Scope(
    /// Shared: the tokens of one client get the same scope every time, so a new token
    /// takes a reference to the last one's, not a copy (`None` is the empty scope).
    Option<Arc<str>>,
);

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Scope {}

impl Hash for Scope {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// One item of a [`Scope`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeItem<'a> {
    /// `user.<id>`: the user that owns the OAuth client.
    User(&'a str),
    /// `entity.<uuid>`: an entity the token may act in.
    Entity(&'a str),
    /// `tenant.<number>`: the tenant.
    Tenant(u64),
    /// `platform.write`: API write access.
    PlatformWrite,
    /// `service.<name>.<action>`, e.g. `service.usage.write`.
    Service {
        /// The service, e.g. `usage`.
        name: &'a str,
        /// The action, e.g. `write`.
        action: &'a str,
    },
    /// Anything else, verbatim.
    Other(&'a str),
}

impl<'a> ScopeItem<'a> {
    fn parse(item: &'a str) -> Self {
        let non_empty = |s: &'a str| Some(s).filter(|s| !s.is_empty());
        if let Some(id) = item.strip_prefix("user.").and_then(non_empty) {
            return Self::User(id);
        }
        if let Some(id) = item.strip_prefix("entity.").and_then(non_empty) {
            return Self::Entity(id);
        }
        if let Some(n) = item.strip_prefix("tenant.").and_then(|n| n.parse().ok()) {
            return Self::Tenant(n);
        }
        if item == "platform.write" {
            return Self::PlatformWrite;
        }
        let service = item
            .strip_prefix("service.")
            .and_then(|rest| rest.rsplit_once('.'))
            .filter(|(name, action)| !name.is_empty() && !action.is_empty());
        if let Some((name, action)) = service {
            return Self::Service { name, action };
        }
        Self::Other(item)
    }
}

impl Scope {
    /// Wraps a scope string as received.
    pub fn new(raw: impl Into<String>) -> Self {
        let raw = raw.into();
        Self((!raw.is_empty()).then(|| Arc::from(raw)))
    }

    /// The scope string exactly as received.
    pub fn as_str(&self) -> &str {
        self.0.as_deref().unwrap_or_default()
    }

    /// Whether the scope has no items.
    pub fn is_empty(&self) -> bool {
        self.items().next().is_none()
    }

    /// Every item, in the order received.
    pub fn items(&self) -> impl Iterator<Item = ScopeItem<'_>> + '_ {
        self.as_str().split_ascii_whitespace().map(ScopeItem::parse)
    }

    /// The ID of the user that owns the OAuth client (`user.<id>`).
    pub fn user_id(&self) -> Option<&str> {
        self.items().find_map(|i| match i {
            ScopeItem::User(id) => Some(id),
            _ => None,
        })
    }

    /// The entities granted (`entity.<uuid>`), zero or more.
    pub fn entity_ids(&self) -> impl Iterator<Item = &str> + '_ {
        self.items().filter_map(|i| match i {
            ScopeItem::Entity(id) => Some(id),
            _ => None,
        })
    }

    /// The tenant number (`tenant.<n>`).
    pub fn tenant_id(&self) -> Option<u64> {
        self.items().find_map(|i| match i {
            ScopeItem::Tenant(n) => Some(n),
            _ => None,
        })
    }

    /// Whether `platform.write` (API write access) was granted.
    pub fn has_platform_write(&self) -> bool {
        self.items().any(|i| i == ScopeItem::PlatformWrite)
    }

    /// Every `service.<name>.<action>` permission, as `(name, action)`.
    pub fn services(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.items().filter_map(|i| match i {
            ScopeItem::Service { name, action } => Some((name, action)),
            _ => None,
        })
    }

    /// Whether `service.<name>.<action>` was granted.
    pub fn allows(&self, name: &str, action: &str) -> bool {
        self.services().any(|(n, a)| n == name && a == action)
    }
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Scope").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
