//! Which Zuora data center to talk to.

use std::fmt;
use std::str::FromStr;

use http::Uri;

use crate::invalid::InvalidInput;

/// A Zuora environment: one of the ten public REST hosts, or a custom base URL.
///
/// The names are those of Zuora's own SDKs. The token URL is always `{base}/oauth/token`.
///
/// ```
/// use zuora_oauth_core::Environment;
/// let eu: Environment = "prod-eu".parse()?;
/// assert_eq!(eu.base_url(), "https://rest.eu.zuora.com");
///
/// // A proxy with a path prefix; trailing slashes are dropped.
/// let proxy = Environment::custom("https://zuora-proxy.example.com/zuora/")?;
/// assert_eq!(proxy.token_url().to_string(), "https://zuora-proxy.example.com/zuora/oauth/token");
///
/// // Plain http only for loopback hosts.
/// assert!(Environment::custom("http://127.0.0.1:8080").is_ok());
/// assert!(Environment::custom("http://zuora.example.com").is_err());
/// # Ok::<(), zuora_oauth_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Environment {
    /// `prod`: US Production, Cloud 2 — `https://rest.zuora.com`.
    Prod,
    /// `prod-na`: US Production, Cloud 1 — `https://rest.na.zuora.com`.
    ProdNa,
    /// `prod-eu`: EU Production — `https://rest.eu.zuora.com`.
    ProdEu,
    /// `prod-ap`: APAC Production — `https://rest.ap.zuora.com`.
    ProdAp,
    /// `sbx`: US API Sandbox, Cloud 2 — `https://rest.apisandbox.zuora.com`.
    Sbx,
    /// `sbx-na`: US API Sandbox, Cloud 1 — `https://rest.sandbox.na.zuora.com`.
    SbxNa,
    /// `sbx-eu`: EU API Sandbox — `https://rest.sandbox.eu.zuora.com`.
    SbxEu,
    /// `csbx`: US Developer & Central Sandbox — `https://rest.test.zuora.com`.
    Csbx,
    /// `csbx-eu`: EU Developer & Central Sandbox — `https://rest.test.eu.zuora.com`.
    CsbxEu,
    /// `csbx-ap`: APAC Developer & Central Sandbox — `https://rest.test.ap.zuora.com`.
    CsbxAp,
    /// Any other base URL (legacy hosts, proxies, local mocks), made by
    /// [`Environment::custom`].
    Custom(BaseUrl),
}

/// (variant, name, base URL, token URL) for every named environment.
#[rustfmt::skip]
const NAMED: [(Environment, &str, &str, &str); 10] = [
    (Environment::Prod, "prod", "https://rest.zuora.com", "https://rest.zuora.com/oauth/token"),
    (Environment::ProdNa, "prod-na", "https://rest.na.zuora.com", "https://rest.na.zuora.com/oauth/token"),
    (Environment::ProdEu, "prod-eu", "https://rest.eu.zuora.com", "https://rest.eu.zuora.com/oauth/token"),
    (Environment::ProdAp, "prod-ap", "https://rest.ap.zuora.com", "https://rest.ap.zuora.com/oauth/token"),
    (Environment::Sbx, "sbx", "https://rest.apisandbox.zuora.com", "https://rest.apisandbox.zuora.com/oauth/token"),
    (Environment::SbxNa, "sbx-na", "https://rest.sandbox.na.zuora.com", "https://rest.sandbox.na.zuora.com/oauth/token"),
    (Environment::SbxEu, "sbx-eu", "https://rest.sandbox.eu.zuora.com", "https://rest.sandbox.eu.zuora.com/oauth/token"),
    (Environment::Csbx, "csbx", "https://rest.test.zuora.com", "https://rest.test.zuora.com/oauth/token"),
    (Environment::CsbxEu, "csbx-eu", "https://rest.test.eu.zuora.com", "https://rest.test.eu.zuora.com/oauth/token"),
    (Environment::CsbxAp, "csbx-ap", "https://rest.test.ap.zuora.com", "https://rest.test.ap.zuora.com/oauth/token"),
];

impl Environment {
    /// The names of the ten named environments, in Zuora's order.
    pub const NAMES: [&'static str; 10] = [
        "prod", "prod-na", "prod-eu", "prod-ap", "sbx", "sbx-na", "sbx-eu", "csbx", "csbx-eu",
        "csbx-ap",
    ];

    /// A custom base URL: `https://…`, or `http://…` when the host is loopback
    /// (`localhost`, `127.0.0.0/8`, `[::1]`). It may carry a port and a path prefix; trailing
    /// slashes are dropped; user info, a query or a fragment are rejected.
    pub fn custom(url: &str) -> Result<Self, InvalidInput> {
        BaseUrl::parse(url).map(Self::Custom)
    }

    fn named(&self) -> Option<&'static (Environment, &'static str, &'static str, &'static str)> {
        NAMED.iter().find(|(env, ..)| env == self)
    }

    /// The SDK name (`"prod-eu"`), or `None` for a custom base URL.
    pub fn name(&self) -> Option<&'static str> {
        self.named().map(|(_, name, ..)| *name)
    }

    /// The REST base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        match self {
            Self::Custom(base) => base.as_str(),
            named => named.named().map_or("", |(_, _, base, _)| base),
        }
    }

    /// The token endpoint, `{base}/oauth/token`.
    pub fn token_url(&self) -> Uri {
        match self {
            Self::Custom(base) => base.token_uri.clone(),
            named => named
                .named()
                .map_or_else(Uri::default, |(.., token)| Uri::from_static(token)),
        }
    }
}

impl FromStr for Environment {
    type Err = InvalidInput;

    /// Parses one of the ten names (case-insensitive). Use [`Environment::custom`] for URLs.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NAMED
            .iter()
            .find(|(_, name, ..)| name.eq_ignore_ascii_case(s.trim()))
            .map(|(env, ..)| env.clone())
            .ok_or_else(|| {
                let shown: String = s.chars().take(40).filter(|c| !c.is_control()).collect();
                InvalidInput::new(
                    "environment",
                    format!(
                        "unknown Zuora environment `{shown}`; expected one of {} (or a custom base URL)",
                        Self::NAMES.join(", ")
                    ),
                )
            })
    }
}

impl fmt::Debug for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Environment({name})"),
            None => write!(f, "Environment({})", self.base_url()),
        }
    }
}

impl fmt::Display for Environment {
    /// The name for a named environment, the base URL otherwise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name().unwrap_or_else(|| self.base_url()))
    }
}

/// A validated custom base URL; see [`Environment::custom`].
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    base: Box<str>,
    token_uri: Uri,
}

impl BaseUrl {
    fn parse(url: &str) -> Result<Self, InvalidInput> {
        let err = |rule: &'static str| InvalidInput::new("base_url", rule);
        if url.contains(['?', '#']) {
            return Err(err("must not contain a query (`?`) or a fragment (`#`)"));
        }
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("must not contain spaces or control characters"));
        }
        let uri: Uri = url
            .parse()
            .map_err(|_| err("is not a valid absolute URL such as https://rest.zuora.com"))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(err(
                "must be an absolute URL such as https://rest.zuora.com",
            ));
        };
        if authority.as_str().contains('@') {
            return Err(err("must not carry user info (`user:password@`)"));
        }
        let host = authority.host();
        if host.is_empty() {
            return Err(err("must name a host"));
        }
        // `Authority::port_u16` reads both "no port" and a bad one as `None`: look at the text.
        if let Some((_, port)) = authority
            .as_str()
            .rsplit_once(':')
            .filter(|(_, p)| !p.ends_with(']'))
            && !(port.bytes().all(|b| b.is_ascii_digit()) && matches!(port.parse::<u16>(), Ok(1..)))
        {
            return Err(err("must have a port from 1 to 65535, or none"));
        }
        let scheme = scheme.to_ascii_lowercase();
        match scheme.as_str() {
            "https" => {}
            "http" if crate::loopback::is_loopback(host) => {}
            "http" => {
                return Err(err(
                    "must use https; plain http is allowed only for loopback hosts (localhost, 127.0.0.0/8, [::1])",
                ));
            }
            _ => return Err(err("must use the https scheme")),
        }
        let path = uri.path().trim_end_matches('/');
        let base = format!(
            "{scheme}://{}{path}",
            authority.as_str().to_ascii_lowercase()
        );
        let token_uri = format!("{base}/oauth/token")
            .parse()
            .map_err(|_| err("does not make a valid token URL"))?;
        Ok(Self {
            base: base.into_boxed_str(),
            token_uri,
        })
    }

    /// The normalised base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.base).finish()
    }
}
