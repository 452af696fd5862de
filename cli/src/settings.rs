//! From the command line and the environment to a validated [`TokenRequest`], and the
//! store to share it through.
//!
//! Precedence, in one place: `--client-id` over `ZUORA_CLIENT_ID`;
//! `--client-secret-file` over `ZUORA_CLIENT_SECRET`; `--env` or `--base-url` (not both:
//! clap refuses that) over `ZUORA_BASE_URL`, which is over `ZUORA_ENV`; `--store` or
//! `--store-file` (not both) over `ZUORA_TOKEN_STORE`, and any of them with `--cache` is
//! refused. Secrets never come from a flag's value, which anyone can read in `ps`: the
//! client secret comes from a variable or a file, and a Redis URL holding a password is
//! refused in `--store`. Every value is checked by the core's own types; nothing here
//! knows a Zuora rule.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use zuora_oauth_core::{
    ClientId, ClientSecret, EntityId, Environment, InvalidInput, TokenRequest, TrackId,
};
use zuora_oauth_driver::TrustRoots;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

use crate::args::Args;
use crate::failure::Failure;

/// The most bytes read from a secret or store URL file or standard input: a secret's
/// first line is at most 42 characters, a Redis URL a few hundred, so a few KiB is
/// generous, and a huge file without a newline is not read whole.
const SECRET_READ_LIMIT: u64 = 4096;

/// The variable naming the Redis store when `--store` is not given.
pub const STORE_VAR: &str = "ZUORA_TOKEN_STORE";

/// Everything needed to ask for a token.
pub struct Settings {
    /// The validated request.
    pub request: TokenRequest,
    /// The mock server of `--mock`, kept alive while the request is made.
    pub mock: Option<MockServer>,
    /// The store the token is shared through, if any.
    pub store: Option<StoreChoice>,
    /// The roots https servers are trusted by: Mozilla's, and `--ca-cert`'s.
    pub trust: TrustRoots,
}

/// The store a run shares its token through (opened in [`crate::store`]).
pub enum StoreChoice {
    /// `--cache`: the per-user file store.
    Cache,
    /// `--store`, `--store-file` or [`STORE_VAR`]: Redis.
    Redis {
        /// `redis://…` or `rediss://…`, the scheme in lower case. It may hold a password:
        /// never shown.
        url: String,
        /// Where it came from (`--store`, `--store-file` or [`STORE_VAR`]), for messages.
        from: &'static str,
    },
}

/// Where a value came from, for error messages.
#[derive(Clone, Copy)]
enum Source {
    Flag(&'static str),
    Var(&'static str),
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Self::Flag(name) | Self::Var(name) => name,
        }
    }
}

/// Reads one environment variable; unset and empty are the same, non-UTF-8 is an error.
fn var(name: &'static str) -> Result<Option<(String, Source)>, Failure> {
    match std::env::var_os(name) {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => v
            .into_string()
            .map(|s| Some((s, Source::Var(name))))
            .map_err(|_: OsString| Failure::usage(format!("{name} is not valid UTF-8"))),
    }
}

/// A flag's value if given, else the variable's.
fn flag_or_var(
    flag: Option<String>,
    flag_name: &'static str,
    var_name: &'static str,
) -> Result<Option<(String, Source)>, Failure> {
    match flag {
        Some(v) => Ok(Some((v, Source::Flag(flag_name)))),
        None => var(var_name),
    }
}

/// `invalid client_id (from --client-id): must be exactly 36 characters (got 8)`.
fn invalid(e: InvalidInput, source: Source) -> Failure {
    Failure::usage(format!(
        "invalid {} (from {}): {}",
        e.field(),
        source.name(),
        e.rule()
    ))
}

impl Settings {
    /// Validates everything; nothing is sent and no file is written here. With `--mock`,
    /// starts the mock server.
    pub fn resolve(args: &Args) -> Result<Self, Failure> {
        let store = store_choice(args)?;
        let trust = trust(args)?;
        let track_id = args
            .track_id
            .as_deref()
            .map(|t| TrackId::new(t).map_err(|e| invalid(e, Source::Flag("--track-id"))))
            .transpose()?;
        let entity_id = args
            .entity_id
            .as_deref()
            .map(|t| EntityId::new(t).map_err(|e| invalid(e, Source::Flag("--entity-id"))))
            .transpose()?;

        let (request, mock) = if args.mock {
            let server = MockServer::builder().start().map_err(|e| {
                Failure::local(format!(
                    "cannot start the mock Zuora server on 127.0.0.1: {e}"
                ))
            })?;
            let environment = Environment::custom(&server.base_url())
                .map_err(|e| Failure::local(format!("the mock server's URL is unusable: {e}")))?;
            let id = ClientId::new(DEMO_CLIENT_ID)
                .map_err(|e| Failure::local(format!("the mock's demo client: {e}")))?;
            let secret = ClientSecret::new(DEMO_CLIENT_SECRET)
                .map_err(|e| Failure::local(format!("the mock's demo client: {e}")))?;
            (TokenRequest::new(environment, id, secret), Some(server))
        } else {
            let environment = target(args)?;
            let client_id = client_id(args)?;
            let secret = client_secret(args)?;
            (TokenRequest::new(environment, client_id, secret), None)
        };

        let mut request = request;
        if let Some(track_id) = track_id {
            request = request.with_track_id(track_id);
        }
        if let Some(entity_id) = entity_id {
            request = request.with_entity_id(entity_id);
        }
        Ok(Self {
            request,
            mock,
            store,
            trust,
        })
    }
}

/// Mozilla's roots, plus the certificates of `--ca-cert`'s PEM file.
fn trust(args: &Args) -> Result<TrustRoots, Failure> {
    let Some(path) = &args.ca_cert else {
        return Ok(TrustRoots::webpki());
    };
    let unusable = |reason: String| {
        Failure::usage(format!("cannot use --ca-cert {}: {reason}", path.display()))
    };
    let pem = std::fs::read(path).map_err(|e| unusable(e.to_string()))?;
    TrustRoots::webpki()
        .with_pem(pem)
        .map_err(|e| unusable(e.to_string()))
}

/// `--cache`, or `--store` / `--store-file` / [`STORE_VAR`]; not both. `--refresh` needs
/// one. `--mock` ignores the variable, like every `ZUORA_*` variable: it may name a
/// production Redis.
fn store_choice(args: &Args) -> Result<Option<StoreChoice>, Failure> {
    let flag = match (&args.store, &args.store_file) {
        (Some(_), _) => Some(Source::Flag("--store")),
        (None, Some(_)) => Some(Source::Flag("--store-file")),
        (None, None) => None,
    };
    if args.cache {
        let other = match flag {
            Some(source) => Some(source),
            None if args.mock => None,
            None => var(STORE_VAR)?.map(|(_, source)| source),
        };
        if let Some(source) = other {
            return Err(Failure::usage(format!(
                "--cache and {} cannot be used together: share the token through one store \
                 (a file for this user, or Redis)",
                source.name()
            )));
        }
    }
    let url = match (&args.store, &args.store_file, args.mock) {
        (Some(url), _, _) => {
            if !crate::store::password(url).is_empty() {
                return Err(Failure::usage(format!(
                    "the --store URL holds a password, which anyone on this machine can read \
                     in the process list (`ps`): pass the URL in {STORE_VAR}, or in a file \
                     with --store-file PATH (the URL is not shown)"
                )));
            }
            Some((url.clone(), Source::Flag("--store")))
        }
        (None, Some(path), _) => {
            if path.as_os_str() == "-"
                && !args.mock
                && args
                    .client_secret_file
                    .as_ref()
                    .is_some_and(|p| p.as_os_str() == "-")
            {
                return Err(Failure::usage(
                    "--client-secret-file - and --store-file - cannot both read standard input: \
                     give one of them a file",
                ));
            }
            let url = read_first_line(path, "the store URL", "--store-file")?;
            Some((url, Source::Flag("--store-file")))
        }
        (None, None, true) => None,
        (None, None, false) => var(STORE_VAR)?,
    };
    let choice = match url {
        Some((url, source)) => Some(StoreChoice::Redis {
            url: redis_url(&url, source)?,
            from: source.name(),
        }),
        None if args.cache => Some(StoreChoice::Cache),
        None => None,
    };
    if args.refresh && choice.is_none() {
        return Err(Failure::usage(format!(
            "--refresh replaces a saved token: it needs --cache, --store or --store-file \
             (or {STORE_VAR})"
        )));
    }
    Ok(choice)
}

/// `url` if its scheme is `redis` or `rediss` (in any case; returned in lower case). The
/// rest is checked when the store is built. No message quotes the URL: it may hold a
/// password.
fn redis_url(url: &str, source: Source) -> Result<String, Failure> {
    match url.split_once("://") {
        Some((scheme, rest))
            if scheme.eq_ignore_ascii_case("redis") || scheme.eq_ignore_ascii_case("rediss") =>
        {
            Ok(format!("{}://{rest}", scheme.to_ascii_lowercase()))
        }
        _ => Err(Failure::usage(format!(
            "invalid store URL (from {}): it must start with redis:// or rediss:// \
             (the URL is not shown: it may hold a password)",
            source.name()
        ))),
    }
}

/// `--env` / `--base-url`, else `ZUORA_BASE_URL`, else `ZUORA_ENV`.
fn target(args: &Args) -> Result<Environment, Failure> {
    let named = |(name, source): (String, Source)| {
        name.parse::<Environment>().map_err(|e| invalid(e, source))
    };
    // The core refuses a port out of range (or an empty one) before anything is sent.
    let custom =
        |(url, source): (String, Source)| Environment::custom(&url).map_err(|e| invalid(e, source));
    if let Some(name) = args.env.clone() {
        return named((name, Source::Flag("--env")));
    }
    if let Some(url) = args.base_url.clone() {
        return custom((url, Source::Flag("--base-url")));
    }
    if let Some(url) = var("ZUORA_BASE_URL")? {
        return custom(url);
    }
    if let Some(name) = var("ZUORA_ENV")? {
        return named(name);
    }
    Err(Failure::usage(format!(
        "no Zuora environment given: pass --env NAME, where NAME is one of {}, or --base-url URL \
         (or set ZUORA_ENV or ZUORA_BASE_URL); there is no default",
        Environment::NAMES.join(", ")
    )))
}

fn client_id(args: &Args) -> Result<ClientId, Failure> {
    let Some((id, source)) = flag_or_var(args.client_id.clone(), "--client-id", "ZUORA_CLIENT_ID")?
    else {
        return Err(Failure::usage(
            "no client ID given: pass --client-id ID or set ZUORA_CLIENT_ID",
        ));
    };
    ClientId::new(id).map_err(|e| invalid(e, source))
}

/// `--client-secret-file`, else `ZUORA_CLIENT_SECRET`. The secret is moved, never copied,
/// into the core's zeroizing `ClientSecret`.
fn client_secret(args: &Args) -> Result<ClientSecret, Failure> {
    let (secret, source) = match &args.client_secret_file {
        Some(path) => (
            read_first_line(path, "the client secret", "--client-secret-file")?,
            Source::Flag("--client-secret-file"),
        ),
        None => var("ZUORA_CLIENT_SECRET")?.ok_or_else(|| {
            Failure::usage(
                "no client secret given: set ZUORA_CLIENT_SECRET or pass --client-secret-file PATH \
                 (`-` reads standard input)",
            )
        })?,
    };
    ClientSecret::new(secret).map_err(|e| invalid(e, source))
}

/// The first line of `path` (`-`: standard input) without its line ending: `what` (for
/// messages, which never quote the content), read for the option `flag`.
fn read_first_line(path: &Path, what: &str, flag: &str) -> Result<String, Failure> {
    let shown = path.display();
    let mut line = String::new();
    let read = if path.as_os_str() == "-" {
        io::stdin()
            .lock()
            .take(SECRET_READ_LIMIT)
            .read_line(&mut line)
    } else {
        File::open(path)
            .and_then(|f| BufReader::new(f.take(SECRET_READ_LIMIT)).read_line(&mut line))
    };
    read.map_err(|e| {
        let from = if path.as_os_str() == "-" {
            "standard input".to_owned()
        } else {
            format!("`{shown}`")
        };
        Failure::usage(format!("cannot read {what} from {from} ({flag}): {e}"))
    })?;
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}
