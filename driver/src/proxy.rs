//! The one proxy policy of the native transports: which proxy, if any, carries a request.
//! Each transport asks [`ProxyPolicy::route`] for every request and carries out the answer;
//! none decides by itself.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::uri::Authority;
use http::{HeaderValue, Uri};
use percent_encoding::percent_decode_str;

mod no_proxy;

use no_proxy::NoProxy;

/// Which proxy, if any, carries each request: from the environment
/// ([`from_env`](ProxyPolicy::from_env)), none at all ([`none`](ProxyPolicy::none)) or
/// one you name ([`via`](ProxyPolicy::via)). The transports ask it for every request
/// ([`route`](ProxyPolicy::route)) and carry out its answer: a direct connection, or a
/// CONNECT tunnel through a [`Proxy`].
///
/// - **`https://`** goes through the proxy named by the first non-empty one of
///   `https_proxy`, `HTTPS_PROXY`, `all_proxy`, `ALL_PROXY` (lower case first, as curl
///   reads them), unless `no_proxy` / `NO_PROXY` names the host. The transport opens a
///   CONNECT tunnel and speaks TLS to the server inside it: the proxy sees the host and
///   port, never the request.
/// - **Plain `http://`** (which the core allows only for loopback hosts) never goes through
///   a proxy, whatever the environment or an explicit policy says. A proxy would see the
///   form, client secret included, in clear text; there is no opt-in.
/// - **An explicit policy** ([`none`](ProxyPolicy::none), [`via`](ProxyPolicy::via))
///   replaces the environment entirely, `no_proxy` included.
/// - Only `http://` proxies are supported (the CONNECT method). A proxy URL of another
///   scheme (`https://`, `socks5://`…) is refused, and one found in the environment makes
///   https requests fail with a [`ProxyError`] rather than silently bypass the proxy.
///
/// `Debug` shows the proxy's host and port, never its credentials.
///
/// ```
/// use zuora_oauth_driver::ProxyPolicy;
/// // How the transports read a policy (not public API).
/// use zuora_oauth_driver::internal::ProxyRoute;
///
/// let env = |name: &str| match name {
///     "HTTPS_PROXY" => Some("http://proxy.corp.example:3128".to_owned()),
///     "NO_PROXY" => Some("localhost,.internal.example".to_owned()),
///     _ => None,
/// };
/// let policy = ProxyPolicy::from_env_with(env);
/// let route = |uri: &str| policy.route(&uri.parse().unwrap()).unwrap();
///
/// assert!(matches!(route("https://rest.zuora.com/oauth/token"),
///                  ProxyRoute::Tunnel(proxy) if proxy.host() == "proxy.corp.example"));
/// assert!(matches!(route("https://zuora.internal.example/oauth/token"), ProxyRoute::Direct));
/// // Plain http never goes through a proxy.
/// assert!(matches!(route("http://127.0.0.1:8080/oauth/token"), ProxyRoute::Direct));
/// ```
#[derive(Clone)]
pub struct ProxyPolicy {
    mode: Mode,
}

#[derive(Clone)]
enum Mode {
    Direct,
    Via(Proxy),
    Env {
        proxy: Result<Proxy, ProxyError>,
        no_proxy: NoProxy,
    },
}

/// How one request reaches its server: [`ProxyPolicy::route`]'s answer.
#[derive(Debug, Clone, Copy)]
pub enum ProxyRoute<'a> {
    /// Connect to the server itself.
    Direct,
    /// Connect to this proxy, open a CONNECT tunnel to the server's host and port, and speak
    /// TLS to the server inside it.
    Tunnel(&'a Proxy),
}

/// The environment variables naming the https proxy, in the order they are read.
const PROXY_VARIABLES: [&str; 4] = ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"];
/// The environment variables listing the hosts reached directly, in the order they are read.
const NO_PROXY_VARIABLES: [&str; 2] = ["no_proxy", "NO_PROXY"];

impl ProxyPolicy {
    /// The policy the process environment describes (`https_proxy`, `HTTPS_PROXY`,
    /// `all_proxy`, `ALL_PROXY`, `no_proxy`, `NO_PROXY`): [`from_env_with`] over
    /// [`std::env::var`].
    ///
    /// [`from_env_with`]: ProxyPolicy::from_env_with
    pub fn from_env() -> Self {
        Self::from_env_with(|name| std::env::var(name).ok())
    }

    /// The policy described by the variables `lookup` returns (`None` for an unset
    /// variable; an empty value counts as unset): the first of `https_proxy`, `HTTPS_PROXY`,
    /// `all_proxy`, `ALL_PROXY` names the proxy, the first of `no_proxy`, `NO_PROXY` the
    /// hosts reached directly.
    ///
    /// `no_proxy` is a comma-separated list of host names (`example.com` and
    /// `.example.com` both match `example.com` and every name under it; `*.example.com`
    /// is the same), IP addresses (`10.1.2.3`, `::1`, `[::1]`), networks (`10.0.0.0/8`,
    /// `fd00::/8`), each with an optional port (`example.com:8443`, `[::1]:443`), or `*`
    /// for every host. Names are compared without regard to case and never resolved.
    ///
    /// A proxy URL that cannot be used is not an error here: https requests fail with a
    /// [`ProxyError`] naming the variable, so a proxy the environment requires is never
    /// bypassed silently.
    pub fn from_env_with(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&'static str]| {
            names.iter().find_map(|&name| {
                let value = lookup(name)?;
                let value = value.trim();
                (!value.is_empty()).then(|| (name, value.to_owned()))
            })
        };
        let Some((variable, url)) = first(&PROXY_VARIABLES) else {
            return Self::none();
        };
        let no_proxy = first(&NO_PROXY_VARIABLES)
            .map(|(_, list)| NoProxy::parse(&list))
            .unwrap_or_default();
        let proxy = Proxy::parse(&url).map_err(|e| e.in_variable(variable));
        Self {
            mode: Mode::Env { proxy, no_proxy },
        }
    }

    /// No proxy for any request, whatever the environment says.
    pub fn none() -> Self {
        Self { mode: Mode::Direct }
    }

    /// Every https request through `proxy`, whatever the environment says (`no_proxy`
    /// included). Plain http still never goes through it.
    pub fn via(proxy: Proxy) -> Self {
        Self {
            mode: Mode::Via(proxy),
        }
    }

    /// How a request to `uri` reaches its server. Fails only for an https request that
    /// should use a proxy from the environment whose URL cannot be used.
    pub fn route(&self, uri: &Uri) -> Result<ProxyRoute<'_>, ProxyError> {
        let https = uri
            .scheme_str()
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https"));
        if !https {
            return Ok(ProxyRoute::Direct);
        }
        match &self.mode {
            Mode::Direct => Ok(ProxyRoute::Direct),
            Mode::Via(proxy) => Ok(ProxyRoute::Tunnel(proxy)),
            Mode::Env { proxy, no_proxy } => {
                let port = uri.port_u16().unwrap_or(443);
                if uri.host().is_some_and(|host| no_proxy.matches(host, port)) {
                    Ok(ProxyRoute::Direct)
                } else {
                    proxy.as_ref().map(ProxyRoute::Tunnel).map_err(Clone::clone)
                }
            }
        }
    }
}

impl fmt::Debug for ProxyPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.mode {
            Mode::Direct => f.write_str("ProxyPolicy::None"),
            Mode::Via(proxy) => f.debug_tuple("ProxyPolicy::Via").field(proxy).finish(),
            Mode::Env { proxy, no_proxy } => f
                .debug_struct("ProxyPolicy::FromEnv")
                .field("proxy", proxy)
                .field("no_proxy", no_proxy)
                .finish(),
        }
    }
}

/// An HTTP proxy that tunnels with CONNECT: host, port and optional credentials, parsed from
/// a URL such as `http://user:password@proxy.example:3128`.
///
/// - The scheme is `http` (or absent); the port defaults to 80.
/// - Credentials are percent-decoded (`p%40ss` is `p@ss`) and sent as
///   `Proxy-Authorization: Basic …` on the CONNECT request only.
/// - `Debug` and `Display` show `http://host:port`, never the credentials; neither do
///   errors.
#[derive(Clone)]
pub struct Proxy {
    host: String,
    port: u16,
    credentials: Option<(String, String)>,
}

impl Proxy {
    /// Parses a proxy URL (see the [type](Proxy) for the accepted forms).
    pub fn parse(url: &str) -> Result<Self, ProxyError> {
        let url = url.trim();
        let rest = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
            Some((scheme, _)) => return Err(ProxyError::new(Reason::Scheme(printable(scheme)))),
            None => url,
        };
        // The authority ends where a path, query or fragment starts; those are ignored.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((userinfo, host_port)) => (Some(userinfo), host_port),
            None => (None, authority),
        };
        if host_port.is_empty() {
            return Err(ProxyError::new(Reason::NoHost));
        }
        let parsed = Authority::from_str(host_port)
            .ok()
            // Anything after the host must be a port that parses.
            .filter(|a| {
                !a.host().is_empty()
                    && (a.host().len() == host_port.len() || a.port_u16().is_some())
            })
            .ok_or(ProxyError::new(Reason::HostOrPort))?;
        let credentials = userinfo
            .map(|userinfo| {
                let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
                Ok::<_, ProxyError>((decode(user)?, decode(password)?))
            })
            .transpose()?;
        Ok(Self {
            host: parsed.host().to_owned(),
            port: parsed.port_u16().unwrap_or(80),
            credentials,
        })
    }

    /// The host, as written in a URL (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (80 when the URL names none).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://host:port`, without credentials: where to connect.
    pub fn uri(&self) -> Uri {
        Uri::builder()
            .scheme("http")
            .authority(format!("{}:{}", self.host, self.port))
            .path_and_query("/")
            .build()
            .expect("host and port were parsed as an authority")
    }

    /// The user name, percent-decoded, if the URL has credentials.
    pub fn username(&self) -> Option<&str> {
        self.credentials.as_ref().map(|(user, _)| user.as_str())
    }

    /// The password, percent-decoded (empty when the URL gives only a user name), if the
    /// URL has credentials.
    pub fn password(&self) -> Option<&str> {
        self.credentials
            .as_ref()
            .map(|(_, password)| password.as_str())
    }

    /// `Basic base64(user:password)` for the CONNECT request's `Proxy-Authorization`,
    /// marked sensitive, if the URL has credentials.
    pub fn basic_auth(&self) -> Option<HeaderValue> {
        let (user, password) = self.credentials.as_ref()?;
        let encoded = BASE64.encode(format!("{user}:{password}"));
        let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
            .expect("base64 is a valid header value");
        value.set_sensitive(true);
        Some(value)
    }
}

impl FromStr for Proxy {
    type Err = ProxyError;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Self::parse(url)
    }
}

impl fmt::Display for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "http://{}:{}", self.host, self.port)
    }
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Proxy");
        debug.field("url", &format_args!("{self}"));
        if self.credentials.is_some() {
            debug.field("credentials", &format_args!("<redacted>"));
        }
        debug.finish()
    }
}

fn decode(part: &str) -> Result<String, ProxyError> {
    percent_decode_str(part)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| ProxyError::new(Reason::Credentials))
}

/// A scheme worth repeating in an error message: short and made of scheme characters, so a
/// mangled URL never carries a credential into the message.
fn printable(scheme: &str) -> Option<String> {
    let plain = scheme.len() <= 16
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    plain.then(|| scheme.to_ascii_lowercase())
}

/// A proxy URL that cannot be used. Its message names the problem and, for a URL from the
/// environment, the variable; never the URL itself, which may hold credentials.
#[derive(Debug, Clone)]
pub struct ProxyError {
    variable: Option<&'static str>,
    reason: Reason,
}

#[derive(Debug, Clone)]
enum Reason {
    Scheme(Option<String>),
    NoHost,
    HostOrPort,
    Credentials,
}

impl ProxyError {
    fn new(reason: Reason) -> Self {
        Self {
            variable: None,
            reason,
        }
    }

    fn in_variable(mut self, variable: &'static str) -> Self {
        self.variable = Some(variable);
        self
    }

    /// The environment variable the URL came from, if it came from one.
    pub fn variable(&self) -> Option<&'static str> {
        self.variable
    }
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.variable {
            Some(variable) => write!(f, "the proxy URL in {variable} cannot be used: ")?,
            None => f.write_str("the proxy URL cannot be used: ")?,
        }
        match &self.reason {
            Reason::Scheme(scheme) => {
                match scheme {
                    Some(scheme) => write!(f, "its scheme `{scheme}` is not supported")?,
                    None => f.write_str("its scheme is not supported")?,
                }
                f.write_str(" (only http:// proxies, which tunnel with CONNECT)")
            }
            Reason::NoHost => f.write_str("it names no host"),
            Reason::HostOrPort => f.write_str("its host or port is not valid"),
            Reason::Credentials => {
                f.write_str("its user name or password is not valid percent-encoded UTF-8")
            }
        }
    }
}

impl std::error::Error for ProxyError {}
