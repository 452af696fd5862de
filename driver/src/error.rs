//! Why a token source handed out no token.

use std::fmt;
use std::time::Duration;

use zuora_oauth_core::Error;

/// Why a token source handed out no token, and when it will try again.
///
/// Its `Display` says what happened at the source ("no Zuora token; next attempt in 4 s");
/// [`source`](std::error::Error::source) is the cause: the core's [`Error`] (Zuora's answer,
/// or the transport's failure), which chains further. Print the whole chain (`{:#}` with
/// `anyhow`, or walk `source()`) to see it all.
#[derive(Debug, Clone)]
pub struct TokenError {
    kind: Kind,
}

#[derive(Debug, Clone)]
enum Kind {
    Failed {
        error: Error,
        retry_in: Option<Duration>,
        /// Zuora rejected the credentials given to `reconfigure`.
        rotation: bool,
    },
    NoRuntime(String),
    #[cfg_attr(target_arch = "wasm32", allow(dead_code))]
    GaveUp,
    ForeignUrl(String),
    /// The source moved to another environment while the call waited for its token.
    Moved,
    NoTenant,
}

/// What kind of [`TokenError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenErrorKind {
    /// The last token request failed ([`TokenError::error`] says how: rejected credentials,
    /// rate limited, a network failure…) and no usable token is left.
    Failed,
    /// The source cannot run here: no runtime (called outside tokio, say). A programming
    /// error: retrying does not help.
    NoRuntime,
    /// The caller's own wait ended first
    /// ([`BlockingTokenSource::token_within`](crate::BlockingTokenSource::token_within));
    /// the request goes on for the other callers.
    GaveUp,
    /// The request to authorize does not go to the token's environment
    /// ([`Environment::covers`](zuora_oauth_core::Environment::covers)), or no longer does
    /// (the source was [reconfigured](crate::TokenSource::reconfigure) for another
    /// environment while it waited for its token): it was given no token. Retrying does
    /// not help.
    ForeignUrl,
    /// A middleware serving a set of sources ([`TokenSources`](crate::TokenSources)) was
    /// given a call without a [`Tenant`](crate::Tenant) in its extensions: nothing was
    /// sent. A programming error: retrying does not help.
    NoTenant,
}

impl TokenError {
    /// The last request failed with `error`; the next attempt is `retry_in` from now
    /// (`None`: not automatically).
    pub(crate) fn failed(error: Error, retry_in: Option<Duration>) -> Self {
        Self {
            kind: Kind::Failed {
                error,
                retry_in,
                rotation: false,
            },
        }
    }

    /// The failure is Zuora's rejection of the credentials given to `reconfigure`.
    pub(crate) fn in_rotation(mut self) -> Self {
        if let Kind::Failed { rotation, .. } = &mut self.kind {
            *rotation = true;
        }
        self
    }

    /// The source was reconfigured for another environment while a call waited for its
    /// token, and the call does not go to the new one: it gets no token.
    pub(crate) fn moved() -> Self {
        Self { kind: Kind::Moved }
    }

    /// No runtime: `detail` says which and how to fix it.
    pub(crate) fn no_runtime(detail: String) -> Self {
        Self {
            kind: Kind::NoRuntime(detail),
        }
    }

    /// The caller's own deadline passed first.
    #[cfg(not(target_arch = "wasm32"))]
    pub(crate) fn gave_up() -> Self {
        Self { kind: Kind::GaveUp }
    }

    /// `authorize` was asked to put the token on a request to `uri`, outside the token's
    /// environment.
    pub(crate) fn foreign(uri: &http::Uri) -> Self {
        // Scheme, authority and path: never the query.
        let shown = match (uri.scheme_str(), uri.authority()) {
            (Some(scheme), Some(authority)) => format!("{scheme}://{authority}{}", uri.path()),
            _ => uri.path().to_owned(),
        };
        Self {
            kind: Kind::ForeignUrl(shown),
        }
    }

    /// A call to authorize named no tenant.
    pub(crate) fn no_tenant() -> Self {
        Self {
            kind: Kind::NoTenant,
        }
    }

    /// What kind of failure.
    pub fn kind(&self) -> TokenErrorKind {
        match self.kind {
            Kind::Failed { .. } => TokenErrorKind::Failed,
            Kind::NoRuntime(_) => TokenErrorKind::NoRuntime,
            Kind::GaveUp => TokenErrorKind::GaveUp,
            Kind::ForeignUrl(_) | Kind::Moved => TokenErrorKind::ForeignUrl,
            Kind::NoTenant => TokenErrorKind::NoTenant,
        }
    }

    /// The failure of the last token request, for [`TokenErrorKind::Failed`]: its status,
    /// Zuora's error, `Zuora-Request-Id`, the transport's failure…
    pub fn error(&self) -> Option<&Error> {
        match &self.kind {
            Kind::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    /// How long until the next attempt may be made; `None` if none will be made
    /// automatically (a permanent failure: see [`Error::is_transient`]; a missing runtime).
    pub fn retry_in(&self) -> Option<Duration> {
        match &self.kind {
            Kind::Failed { retry_in, .. } => *retry_in,
            Kind::NoRuntime(_) | Kind::ForeignUrl(_) | Kind::Moved | Kind::NoTenant => None,
            Kind::GaveUp => Some(Duration::ZERO),
        }
    }

    /// Whether trying again later can help: a transient failure of Zuora or the network
    /// ([`Error::is_transient`]), or a wait the caller ended. Rejected credentials and a
    /// missing runtime are not.
    pub fn is_transient(&self) -> bool {
        match &self.kind {
            Kind::Failed { error, .. } => error.is_transient(),
            Kind::NoRuntime(_) | Kind::ForeignUrl(_) | Kind::Moved | Kind::NoTenant => false,
            Kind::GaveUp => true,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Failed {
                retry_in, rotation, ..
            } => {
                f.write_str("no Zuora token")?;
                if *rotation {
                    f.write_str(
                        ": Zuora rejected the new credentials given to `reconfigure` (a rotated \
                         client secret?), and no token of the previous ones is left",
                    )?;
                }
                match retry_in {
                    Some(d) if d.is_zero() => f.write_str("; the next attempt may be made now"),
                    Some(d) => write!(
                        f,
                        "; next attempt in {} s",
                        d.as_secs() + u64::from(d.subsec_nanos() > 0)
                    ),
                    None => f.write_str(
                        "; no further attempt until the credentials are changed or the \
                         source is reset",
                    ),
                }
            }
            Kind::NoRuntime(detail) => write!(f, "the token source cannot run: {detail}"),
            Kind::GaveUp => f.write_str(
                "gave up waiting for the token request in flight (it goes on for the other \
                 callers)",
            ),
            Kind::ForeignUrl(url) => write!(
                f,
                "refusing to put the Zuora token on a request to {url}: it is outside the \
                 token's environment"
            ),
            Kind::Moved => f.write_str(
                "refusing to put the Zuora token on the request: the token source was \
                 reconfigured for another environment while the call waited for its token",
            ),
            Kind::NoTenant => f.write_str(
                "the call names no tenant (a `Tenant` in its extensions): it was not sent",
            ),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error().map(|e| e as _)
    }
}
