#![doc = include_str!("../README.md")]
//!
//! ## How it is put together
//!
//! The core (`zuora-oauth-core`) validates every input, builds the
//! request, reads the response and, through its `TokenLifecycle`, decides about retries,
//! backoff and whether a saved token is still good, and through its `FleetFetch`, which of
//! the runs sharing a store fetches; the ureq adapter sends; this program only resolves
//! the command line and the environment ([`settings`]), drives the lifecycle and sleeps
//! ([`fetch`]), drives the fleet attempt against the store ([`fleet`]), opens the store
//! ([`store`]: the file store of `--cache`, [`cache`], or Redis), prints ([`output`]) and
//! maps the core's errors to exit codes ([`failure`]). It holds no Zuora protocol rule of
//! its own, and no fleet rule.
#![forbid(unsafe_code)]

mod args;
mod cache;
mod failure;
mod fetch;
mod fleet;
mod output;
mod settings;
mod store;

use std::io::Write;
use std::process::ExitCode;

use args::Args;
use failure::Failure;
use fetch::{Fetched, Fetcher, Policy};
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

/// Resolve, reuse or fetch (through the store, if any), print.
fn run(args: &Args) -> Result<(), Failure> {
    let Settings {
        request,
        mock,
        store,
        trust,
    } = Settings::resolve(args)?;
    let store = match &store {
        Some(choice) => store::open(choice, &request, mock.is_some())?,
        None => None,
    };
    let fetcher = Fetcher::new(
        request,
        Policy {
            retries: args.retries,
            max_wait: args.max_wait,
            timeout: args.timeout,
        },
    )
    .with_trust(trust);
    let fetched = match &store {
        Some(store) => fleet::fetch(
            store,
            &fetcher,
            args.refresh,
            |call, e| warn(&store.failure(call, e)),
            |released, ttl| warn(&store.lease_after_failure(released, ttl)),
        ),
        None => fetcher.fetch(None),
    }
    .map_err(Failure::Fetch)?;
    // The mock server is no longer needed; stop it before printing.
    drop(mock);
    print(&issued(&fetched), args)
}

/// What to print of `fetched`, warning when it is a saved token kept after a failure.
fn issued(fetched: &Fetched) -> Issued {
    let (Fetched::New(token) | Fetched::Stored(token, _)) = fetched;
    let issued = Issued::new(token, matches!(fetched, Fetched::New(_)));
    if let Fetched::Stored(_, Some(error)) = fetched {
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
