//! `zuora-token`: prints an OAuth bearer token for Zuora's REST API, for shell scripts and
//! people.
//!
//! ```text
//! curl -H "$(zuora-token --env prod-eu --format header)" https://rest.eu.zuora.com/v1/…
//! zuora-token --mock      # from a built-in mock Zuora server: no credentials, no network
//! ```
//!
//! `zuora-token --help` documents every option, environment variable and exit code.
//!
//! How it is put together: the core (`zuora-oauth-core`) validates every input, builds the
//! request, reads the response and, through its `TokenLifecycle`, decides about retries
//! and backoff; the ureq adapter sends; this program only resolves the command line and
//! the environment ([`settings`]), drives the lifecycle and sleeps ([`fetch`]), prints
//! ([`output`]), keeps the optional cache ([`cache`]) and maps the core's errors to exit
//! codes ([`failure`]). It holds no Zuora protocol rule of its own.
#![forbid(unsafe_code)]

mod args;
mod cache;
mod failure;
mod fetch;
mod output;
mod settings;

use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use args::Args;
use cache::Cache;
use failure::Failure;
use fetch::Policy;
use output::Issued;
use settings::Settings;

fn main() -> ExitCode {
    let args = Args::parse_or_exit();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("{}", failure.message());
            failure.exit_code()
        }
    }
}

/// Resolve, reuse or fetch, print.
fn run(args: &Args) -> Result<(), Failure> {
    let Settings { request, mock } = Settings::resolve(args)?;
    let cache = if args.cache {
        match Cache::for_request(&request) {
            Ok(cache) => Some(cache),
            Err(why) => {
                warn(&format!("--cache is off for this run: {why}"));
                None
            }
        }
    } else {
        None
    };

    if let Some(issued) = cache.as_ref().and_then(|c| c.load(SystemTime::now())) {
        return print(&issued.render(args.format));
    }

    let policy = Policy {
        retries: args.retries,
        max_wait: args.max_wait,
        timeout: args.timeout,
    };
    let fetched = fetch::fetch(request, &policy).map_err(Failure::Fetch)?;
    // The mock server is no longer needed; stop it before printing.
    drop(mock);
    let issued = Issued::from_token(&fetched.token, fetched.sent_at);
    if let Some(cache) = &cache
        && let Err(e) = cache.store(&issued)
    {
        warn(&format!(
            "could not save the token in the cache ({}): {e}",
            cache.path().display()
        ));
    }
    print(&issued.render(args.format))
}

fn print(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::local(format!("cannot write to standard output: {e}")))
}

/// A problem that does not stop the run.
fn warn(message: &str) {
    eprintln!("warning: {message}");
}
