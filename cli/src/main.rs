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
//! request, reads the response and, through its `TokenLifecycle`, decides about retries,
//! backoff and whether a saved token is still good; the ureq adapter sends; this program
//! only resolves the command line and the environment ([`settings`]), drives the lifecycle
//! and sleeps ([`fetch`]), prints ([`output`]), keeps the optional cache and its lock
//! ([`cache`]) and maps the core's errors to exit codes ([`failure`]). It holds no Zuora
//! protocol rule of its own.
#![forbid(unsafe_code)]

mod args;
mod cache;
mod failure;
mod fetch;
mod output;
mod settings;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use args::Args;
use cache::FileStore;
use failure::Failure;
use fetch::{Fetched, Fetcher, Policy};
use output::Issued;
use settings::Settings;

/// How long a `--cache` run waits for another run fetching a token for the same entry
/// before fetching one itself.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

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
    let store = if args.cache {
        match FileStore::for_request(&request, mock.is_some()) {
            Ok(store) => Some(store),
            Err(why) => {
                warn(&format!("--cache is off for this run: {why}"));
                None
            }
        }
    } else {
        None
    };
    let fetcher = Fetcher::new(
        request,
        Policy {
            retries: args.retries,
            max_wait: args.max_wait,
            timeout: args.timeout,
        },
    );
    let Some(store) = store else {
        let fetched = fetcher.fetch(None).map_err(Failure::Fetch)?;
        drop(mock);
        return print(&issued(&fetched), args);
    };

    // A usable saved token needs no lock.
    let reuse = |record: &Option<_>| {
        record
            .as_ref()
            .filter(|_| !args.refresh)
            .and_then(|r| fetcher.reuse(r))
    };
    if let Some(token) = reuse(&store.load()) {
        return print(&Issued::from_cached(&token), args);
    }
    // Fetch under the lock; another run may have saved a token while this one waited.
    let lease = store
        .lock(LOCK_WAIT)
        .map_err(|e| warn(&format!("fetching without the cache's lock: {e}")))
        .ok();
    let saved = store.load();
    if let Some(token) = reuse(&saved) {
        return print(&Issued::from_cached(&token), args);
    }
    // With --refresh the saved token is not wanted, even as a fallback.
    let fallback = saved.as_ref().filter(|_| !args.refresh);
    let fetched = fetcher.fetch(fallback).map_err(Failure::Fetch)?;
    // The mock server is no longer needed; stop it before printing.
    drop(mock);
    if let Fetched::New(token) = &fetched
        && let Err(e) = store.save(&token.record())
    {
        warn(&format!(
            "could not save the token in the cache ({}): {e}",
            store.path().display()
        ));
    }
    drop(lease);
    print(&issued(&fetched), args)
}

/// What to print of `fetched`, warning when it is a saved token kept after a failure.
fn issued(fetched: &Fetched) -> Issued {
    let (Fetched::New(token) | Fetched::Kept(token, _)) = fetched;
    let issued = Issued::from_cached(token);
    if let Fetched::Kept(_, Some(error)) = fetched {
        warn(&format!(
            "could not refresh the saved token ({error}); printing it, as it is valid until {}",
            output::rfc3339(issued.expires_at)
        ));
    }
    issued
}

fn print(issued: &Issued, args: &Args) -> Result<(), Failure> {
    let text = issued.render(args.format);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::local(format!("cannot write to standard output: {e}")))
}

/// A problem that does not stop the run: one line, control characters replaced by spaces.
fn warn(message: &str) {
    let line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    eprintln!("warning: {line}");
}
