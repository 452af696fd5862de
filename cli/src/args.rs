//! The command line, as clap sees it. Environment variables are resolved in
//! [`crate::settings`], not by clap, so that `--help` never prints a secret and so that the
//! precedence rules (flags beat variables, `ZUORA_BASE_URL` beats `ZUORA_ENV`) live in one
//! place.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Command, CommandFactory, FromArgMatches, Parser, ValueEnum};
use zuora_oauth_core::{Environment, LifecycleConfig};

/// The `--help` text after the options. Environment names and URLs come from the core, so
/// this list cannot drift from what `--env` accepts.
fn after_help() -> String {
    let environments: String = Environment::NAMES
        .iter()
        .filter_map(|name| name.parse::<Environment>().ok())
        .map(|env| format!("  {:<9} {}\n", env.to_string(), env.base_url()))
        .collect();
    let config = LifecycleConfig::default();
    let window = config.refresh_window().as_secs();
    let jitter = config.refresh_jitter_percent();
    let min_remaining = config.min_remaining().as_secs();
    let default_timeout = Duration::from_secs(30);
    let lease = crate::fetch::fleet_config(&crate::fetch::Policy {
        retries: 0,
        max_wait: Duration::ZERO,
        timeout: default_timeout,
    })
    .lease_ttl()
    .as_secs();
    let lease_beyond_timeout = lease - default_timeout.as_secs();
    let window_jittered = window + window * u64::from(jitter) / 100;
    let short = window * 2 + min_remaining;
    let double_lease = lease * 2;
    let redis_timeout = crate::store::REDIS_TIMEOUT.as_secs();
    format!(
        "\
Environment variables (command-line flags win over them):
  ZUORA_CLIENT_ID       the OAuth client ID, if --client-id is not given
  ZUORA_CLIENT_SECRET   the OAuth client secret, if --client-secret-file is not given
                        (no flag takes the secret itself: it would show in `ps`)
  ZUORA_BASE_URL        the REST base URL, if neither --env nor --base-url is given
  ZUORA_ENV             the environment name, if none of --env, --base-url, ZUORA_BASE_URL is
  ZUORA_TOKEN_STORE     the Redis URL of the token store, password included, if neither
                        --store nor --store-file is given (not with --cache: both
                        together are refused)
  XDG_CACHE_HOME        where --cache keeps its files: $XDG_CACHE_HOME/zuora-token/
                        (default ~/.cache/zuora-token/)

Environments (--env NAME or ZUORA_ENV=NAME):
{environments}There is no default environment: without one, zuora-token stops with a usage error.

--cache (a file of yours, format zuora-token-cache/4) and --store (Redis, shared with other
machines and with the zuora-oauth library's processes using the same credentials) keep the
token for later runs, sealed (AES-256-GCM) under a key derived from the client secret, under
a name derived from it too: no readable token, never the secret, and another secret never
gets it.
A saved token is reused for as long as the zuora-oauth library would keep it: until
{window} s before it expires (up to {jitter} % earlier, at random: {window} to {window_jittered} s), or halfway
through its usable life (its lifetime less {min_remaining} s) for tokens shorter than {short} s,
and never with less than {min_remaining} s left; then a new one is fetched. If that fails
while the saved token is still usable, the saved token is printed with a warning, unless
Zuora refused the credentials (400, 401, 403): then the run fails (exit 3) and the saved
token is removed. Runs that find no usable token at the same time make one request: the run holding
the store's lease fetches (--cache: a lock on the entry's lock file, which the system frees
if the run dies; --store: a Redis key that expires after --timeout plus {lease_beyond_timeout} s, {lease} s by
default, so that it outlasts the run's request), the others wait for its token, and fetch on
their own if they have none {double_lease} s after finding the lease taken.
A store that fails (Redis down or slower than {redis_timeout} s, an unusable folder) never fails a
run: it fetches on its own, with one warning. So does a --cache folder that is not yours
alone (owned by another user, writable by others, a symbolic link, in a folder others may
change), or a link or FIFO where its files go: it is not used, never followed. --refresh
fetches a new token and replaces the saved one: when the API answered 401. With --mock,
the saved entry is keyed by a stand-in for the mock's URL (each run's mock server has a new
port): a reused token is printed, but the new run's mock server never issued it.

Output: stdout carries only the requested output, and nothing on failure. A failure prints
one line starting with `error:` on stderr, with the HTTP status, Zuora's error code or
message and the Zuora-Request-Id when there were any. The client secret and access tokens
never appear in it.

Exit codes:
  0  success
  1  local failure: standard output cannot be written, or the --mock server cannot start
  2  invalid input or usage (nothing was sent)
  3  Zuora rejected the request or the credentials (HTTP 400, 401, 403; never retried)
  4  rate limited (HTTP 429)
  5  server error or unexpected response (5xx, other statuses, not a token, body too large)
  6  network failure (connection refused, timeout, TLS, DNS, reset)

Examples:
  curl -H \"$(zuora-token --env prod-eu --format header)\" https://rest.eu.zuora.com/v1/…
  zuora-token --env sbx --format json | jq -r .expires_at
  zuora-token --client-secret-file ~/.config/zuora/secret --env sbx --cache
  ZUORA_TOKEN_STORE=rediss://:password@redis.internal:6380/ zuora-token --env sbx
  zuora-token --env sbx --store-file ~/.config/zuora/redis-url
  zuora-token --mock    # from a built-in mock Zuora server: no credentials, no network"
    )
}

/// The command, with its generated help text.
pub fn command() -> Command {
    Args::command().after_help(after_help())
}

impl Args {
    /// Parses the process's arguments; on a usage error (or `--help`, `--version`) prints
    /// clap's message and exits (2 for errors, 0 otherwise).
    pub fn parse_or_exit() -> Self {
        let matches = command().get_matches();
        Self::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

/// Prints an OAuth bearer token for Zuora's REST API (client-credentials grant), for shell
/// scripts and people.
#[derive(Debug, Parser)]
#[command(name = "zuora-token", version)]
pub struct Args {
    /// OAuth client ID (exactly 36 characters) [env: ZUORA_CLIENT_ID]
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,

    /// Read the client secret from the first line of PATH (`-` reads standard input);
    /// wins over ZUORA_CLIENT_SECRET. A trailing CRLF or LF is removed
    #[arg(long, value_name = "PATH")]
    pub client_secret_file: Option<PathBuf>,

    /// Zuora environment, by the name Zuora's SDKs use (listed below) [env: ZUORA_ENV]
    #[arg(long = "env", value_name = "NAME", conflicts_with = "base_url")]
    pub env: Option<String>,

    /// Custom REST base URL instead of --env (legacy hosts, proxies with a path prefix,
    /// local mocks): https, or plain http for localhost, 127.0.0.0/8 and `[::1]` only; no
    /// query or fragment [env: ZUORA_BASE_URL]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Also trust the CA certificates in the PEM file PATH, besides Mozilla's roots: a
    /// TLS-inspecting proxy's CA, a private gateway's, a test server's certificate
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,

    /// Send `Zuora-Track-Id: ID` (at most 64 US-ASCII characters, none of : ; " ')
    #[arg(long, value_name = "ID")]
    pub track_id: Option<String>,

    /// Send `Zuora-Entity-Ids: UUID` (Multi-entity tenants; 32 hex digits are accepted too)
    #[arg(long, value_name = "UUID")]
    pub entity_id: Option<String>,

    /// What to print: the token alone, an `Authorization: Bearer <token>` header line, or
    /// one JSON object: access_token, token_type, expires_in (the lifetime counted on:
    /// the server's, at most 24 h), server_expires_in (the server's, when this run got the
    /// answer), expires_at (expires_in after issue, RFC 3339 UTC), scope (null if none),
    /// jti, and request_id (the Zuora-Request-Id of the answer, when this run got a
    /// non-empty one)
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Token)]
    pub format: Format,

    /// Retry transient failures (429, 5xx, connection errors, timeouts) up to N times with
    /// exponential backoff and full jitter, never sooner than the server asks (Retry-After,
    /// else RateLimit-Reset on a 429, plus up to 10 % jitter); 400, 401 and 403 are never
    /// retried
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub retries: u32,

    /// Give up at once, instead of retrying, when the server asks to wait longer than this
    /// (Retry-After, else RateLimit-Reset on a 429)
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_max_wait)]
    pub max_wait: Duration,

    /// Limit on each attempt as a whole: connect, send and receive (fractions allowed)
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Reuse a still-fresh token from an earlier run and save new ones, in a file readable
    /// only by you under $XDG_CACHE_HOME/zuora-token/ (sealed: no readable token, never the
    /// secret), so that a script calling zuora-token before every API call does not spend
    /// Zuora's token rate limit
    #[arg(long)]
    pub cache: bool,

    /// Like --cache, through Redis: `redis://[user@]host[:port][/db]`, or `rediss://…` for
    /// TLS. Shared with every run and every zuora-oauth process using the same
    /// credentials; Redis sees only an encrypted record. A URL with a password is refused
    /// here (it would show in `ps`): put it in ZUORA_TOKEN_STORE or pass --store-file. Not
    /// with --cache [env: ZUORA_TOKEN_STORE]
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,

    /// Like --store, the URL read from the first line of PATH (`-` reads standard input),
    /// for a URL with a password: `redis://[user]:password@host[:port][/db]`. A trailing CRLF
    /// or LF is removed; wins over ZUORA_TOKEN_STORE. Not with --store or --cache
    #[arg(long, value_name = "PATH", conflicts_with = "store")]
    pub store_file: Option<PathBuf>,

    /// With --cache, --store or --store-file: fetch a new token even if the saved one is
    /// still fresh, and save it in its place (when the API answered 401)
    #[arg(long)]
    pub refresh: bool,

    /// Start a mock Zuora server on 127.0.0.1 inside this process and get a token from it
    /// with its demo client: no credentials, no network. Ignores the credential and target
    /// flags and variables, and ZUORA_TOKEN_STORE; the other options apply
    #[arg(long)]
    pub mock: bool,
}

/// The `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// The access token alone, on one line.
    Token,
    /// `Authorization: Bearer <token>`, for `curl -H`.
    Header,
    /// One single-line JSON object.
    Json,
}

/// Seconds as a decimal number: finite and not negative.
fn parse_secs(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(format!("`{s}` is not a number of seconds"));
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

fn parse_max_wait(s: &str) -> Result<Duration, String> {
    parse_secs(s)
}

/// A timeout: more than zero, at most a day.
fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = parse_secs(s)?;
    if d.is_zero() || d > Duration::from_secs(86_400) {
        return Err("must be more than 0 and at most 86400 seconds".into());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_well_formed() {
        command().debug_assert();
    }

    #[test]
    fn help_lists_every_environment() {
        let help = after_help();
        for name in Environment::NAMES {
            assert!(help.contains(&format!("  {name} ")), "{name} missing");
        }
    }

    #[test]
    fn seconds() {
        assert_eq!(parse_timeout("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_max_wait("0"), Ok(Duration::ZERO));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-1").is_err());
        assert!(parse_timeout("NaN").is_err());
        assert!(parse_timeout("inf").is_err());
        assert!(parse_max_wait("soon").is_err());
    }
}
