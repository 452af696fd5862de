//! Where an HTTP request goes, and whether it may carry a Zuora token: the one rule every
//! way of attaching a token follows (`TokenSource::authorize`, the middlewares, your own).

use http::Uri;

use crate::Environment;

/// Where a request goes: scheme, host, port and path. What decides whether it may carry a
/// token of an [`Environment`] ([`Environment::covers`]).
#[derive(Debug, Clone, Copy)]
pub struct Destination<'a> {
    scheme: &'a str,
    host: &'a str,
    port: Option<u16>,
    path: &'a str,
}

impl<'a> Destination<'a> {
    /// A destination; `port` is `None` for the scheme's default port. An IPv6 host keeps its
    /// brackets (`[::1]`), as `http::Uri` and `url::Url` give it; `path` is the URL's path,
    /// without the query.
    pub fn new(scheme: &'a str, host: &'a str, port: Option<u16>, path: &'a str) -> Self {
        Self {
            scheme,
            host,
            port,
            path,
        }
    }

    /// The destination of an absolute URI; `None` for a relative one.
    pub fn of_uri(uri: &'a Uri) -> Option<Self> {
        // The authority taken apart once (`Uri::host` and `Uri::port_u16` would each parse
        // it again): `[user@]host[:port]`, the host of an IPv6 address in brackets.
        let authority = uri.authority()?.as_str();
        let authority = authority
            .rsplit_once('@')
            .map_or(authority, |(_, rest)| rest);
        let (host, port) = match authority.rsplit_once(':') {
            // A port that is not a number (or out of range) is no destination at all.
            Some((host, port)) if !port.contains(']') => (host, Some(port.parse().ok()?)),
            _ => (authority, None),
        };
        Some(Self::new(uri.scheme_str()?, host, port, uri.path()))
    }

    fn port_or_default(&self) -> Option<u16> {
        self.port.or(if self.scheme.eq_ignore_ascii_case("https") {
            Some(443)
        } else if self.scheme.eq_ignore_ascii_case("http") {
            Some(80)
        } else {
            None
        })
    }
}

impl Environment {
    /// Whether a request to `destination` may carry this environment's token: the same
    /// scheme, host (both case-insensitive) and port (the default one if left out) as the
    /// base URL, and a path inside the base URL's path, if it has one (`/prefix` covers
    /// `/prefix` and `/prefix/…`, never `/prefix-other` nor a path with `.` or `..`
    /// segments, which a server may resolve outside it). A token sent anywhere else would be
    /// handed to a server that has no business with it. [`Audience`] is the same rule with
    /// the base URL taken apart once, for checks on every call.
    ///
    /// ```
    /// use zuora_oauth_core::{Destination, Environment};
    /// let gateway = Environment::custom("https://gateway.example/zuora")?;
    /// let to = |url: &'static str| gateway.covers(&Destination::of_uri(&url.parse().unwrap()).unwrap());
    /// assert!(to("https://gateway.example/zuora/v1/accounts"));
    /// assert!(to("https://GATEWAY.example:443/zuora/v1/accounts"));
    /// assert!(!to("https://gateway.example/other/v1/accounts"));
    /// assert!(!to("https://gateway.example/zuora-other/v1"));
    /// assert!(!to("https://gateway.example/zuora/../other"));
    /// assert!(!to("http://gateway.example/zuora/v1/accounts"));
    /// assert!(Environment::ProdEu.covers(&Destination::of_uri(&"https://rest.eu.zuora.com/v1/accounts".parse().unwrap()).unwrap()));
    /// # Ok::<(), zuora_oauth_core::InvalidInput>(())
    /// ```
    pub fn covers(&self, destination: &Destination<'_>) -> bool {
        self.audience().covers(destination)
    }

    /// Where this environment's token may go ([`Environment::covers`]), taken apart once.
    pub fn audience(&self) -> Audience {
        let base = self.base_url();
        // A base URL is `scheme://…` (a `char` search: no two-way string searcher linked).
        let (scheme, rest) = base
            .split_once(':')
            .and_then(|(scheme, rest)| Some((scheme, rest.strip_prefix("//")?)))
            .unwrap_or(("", base));
        let (authority, prefix) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()),
            _ => (authority, None),
        };
        let scheme = scheme.to_ascii_lowercase();
        let port = port.or_else(|| default_port(&scheme));
        Audience {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
            prefix: prefix.to_owned(),
        }
    }
}

/// Where an environment's token may go: [`Environment::covers`]'s rule, with the base URL
/// taken apart once ([`Environment::audience`]), for a check on every API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audience {
    scheme: String,
    host: String,
    /// `None`: a base URL whose port could not be read covers nothing.
    port: Option<u16>,
    prefix: String,
}

impl Audience {
    /// Whether a request to `destination` may carry the token: see [`Environment::covers`].
    pub fn covers(&self, destination: &Destination<'_>) -> bool {
        destination.scheme.eq_ignore_ascii_case(&self.scheme)
            && destination.host.eq_ignore_ascii_case(&self.host)
            && self.port.is_some()
            && destination.port_or_default() == self.port
            && inside(destination.path, &self.prefix)
    }
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "https" => Some(443),
        "http" => Some(80),
        _ => None,
    }
}

/// Whether `path` is `prefix` or below it (with no dot segment anywhere, when there is a
/// prefix to escape from).
fn inside(path: &str, prefix: &str) -> bool {
    if prefix.is_empty() {
        return true;
    }
    let dot_segment = path.split('/').any(|segment| {
        let s = segment.to_ascii_lowercase();
        matches!(s.as_str(), "." | ".." | "%2e" | "%2e%2e" | ".%2e" | "%2e.")
    });
    if dot_segment {
        return false;
    }
    match path.strip_prefix(prefix) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}
