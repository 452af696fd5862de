//! `zuora-mock-server`: the testkit's mock Zuora token server and API as a process.
//!
//! Prints its base URL (`http://127.0.0.1:PORT`) as the first line of stdout, then serves
//! until SIGINT/SIGTERM, or until stdin closes with `--exit-on-stdin-close`. The signal
//! handlers are in place before the URL is printed: a parent may send SIGTERM as soon as it
//! has read the line.
#![forbid(unsafe_code)]

use std::io::{Read, Write};
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use zuora_oauth_testkit::{DEFAULT_RATE_LIMIT_PER_MINUTE, MockServer};

/// A mock Zuora OAuth token server and API on 127.0.0.1, for tests and demos.
///
/// Serves POST /oauth/token (client-credentials grant), a few API routes that accept a live
/// bearer token (GET /v1/catalog/products, GET /v1/accounts/{key}, POST /v1/accounts) and a
/// JSON control API under /__mock/ (faults, requests, tokens, reset, revoke, expire,
/// lifetime, clients, info). The first line on stdout is the base URL.
#[derive(Debug, Parser)]
#[command(name = "zuora-mock-server", version)]
struct Args {
    /// Port (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Loopback address to listen on: 127.0.0.1 (default), another 127.x.y.z, or ::1.
    #[arg(long, value_name = "IP", default_value = "127.0.0.1", value_parser = parse_loopback)]
    bind: IpAddr,
    /// Answer CORS (echo Origin, answer preflights, allow Private Network Access), for tests
    /// that run in a browser. Off by default: then no web page can read or script the mock.
    #[arg(long)]
    cors: bool,
    /// Lifetime of issued tokens in seconds (fractions allowed); expires_in is its whole part.
    #[arg(long, value_name = "SECS", default_value_t = 3599.0)]
    lifetime: f64,
    /// Token requests allowed per client IP per minute (0 turns rate limiting off).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_RATE_LIMIT_PER_MINUTE)]
    rate_limit: u32,
    /// Register a client (repeatable). The secret is everything after the first ':'.
    #[arg(long = "client", value_name = "ID:SECRET", value_parser = parse_client)]
    clients: Vec<(String, String)>,
    /// Do not register the built-in demo client.
    #[arg(long)]
    without_demo_client: bool,
    /// Serve HTTPS with a self-signed certificate for 127.0.0.1 and localhost.
    #[cfg(feature = "tls")]
    #[arg(long)]
    tls: bool,
    /// With --tls: write the certificate (PEM) to this file before printing the URL.
    #[cfg(feature = "tls")]
    #[arg(long, value_name = "PATH", requires = "tls")]
    cert_out: Option<std::path::PathBuf>,
    /// Exit when standard input reaches end of file (for parents that may die without
    /// killing their children): give it a pipe the parent holds open, not /dev/null.
    #[arg(long)]
    exit_on_stdin_close: bool,
}

fn parse_client(s: &str) -> Result<(String, String), String> {
    match s.split_once(':') {
        Some((id, secret)) if !id.is_empty() => Ok((id.to_owned(), secret.to_owned())),
        _ => Err("expected ID:SECRET".to_owned()),
    }
}

fn parse_loopback(s: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = s
        .parse()
        .map_err(|_| format!("{s:?} is not an IP address"))?;
    if ip.is_loopback() {
        Ok(ip)
    } else {
        Err(format!(
            "{ip} is not a loopback address: the mock listens on 127.0.0.1, another 127.x.y.z, or ::1 only"
        ))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let lifetime = match Duration::try_from_secs_f64(args.lifetime) {
        Ok(d) => d,
        Err(e) => {
            eprintln!(
                "zuora-mock-server: invalid --lifetime {}: {e}",
                args.lifetime
            );
            return ExitCode::from(2);
        }
    };
    let mut builder = MockServer::builder()
        .bind(args.bind)
        .port(args.port)
        .cors(args.cors)
        .token_lifetime(lifetime);
    builder = if args.rate_limit == 0 {
        builder.without_rate_limit()
    } else {
        builder.rate_limit_per_minute(args.rate_limit)
    };
    if args.without_demo_client {
        builder = builder.without_demo_client();
    }
    for (id, secret) in args.clients {
        builder = builder.client(id, secret);
    }
    #[cfg(feature = "tls")]
    if args.tls {
        builder = builder.tls();
    }
    let server = match builder.start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("zuora-mock-server: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    #[cfg(feature = "tls")]
    if let (Some(path), Some(pem)) = (&args.cert_out, server.certificate_pem())
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("zuora-mock-server: cannot write {}: {e}", path.display());
        return ExitCode::FAILURE;
    }
    // Signal handlers first: once the URL is out, SIGTERM must find them in place.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zuora-mock-server: cannot start the signal runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let installed = {
        let _context = runtime.enter();
        Signals::install()
    };
    let signals = match installed {
        Ok(signals) => signals,
        Err(e) => {
            eprintln!("zuora-mock-server: cannot install the signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        if writeln!(out, "{}", server.base_url())
            .and_then(|()| out.flush())
            .is_err()
        {
            return ExitCode::FAILURE;
        }
    }
    eprintln!(
        "zuora-mock-server: token URL {} (demo client {}), API {}/v1/, control API {}/__mock/, CORS {}",
        server.token_url(),
        if args.without_demo_client {
            "off"
        } else {
            zuora_oauth_testkit::DEMO_CLIENT_ID
        },
        server.base_url(),
        server.base_url(),
        if args.cors { "on" } else { "off" },
    );

    let reason = runtime.block_on(wait_for_exit(signals, args.exit_on_stdin_close));
    eprintln!("zuora-mock-server: {reason}, shutting down");
    drop(server);
    ExitCode::SUCCESS
}

/// SIGINT and SIGTERM, registered with the OS when made (not when first awaited).
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl Signals {
    /// Needs a runtime context with I/O enabled.
    fn install() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(windows)]
        {
            Ok(Self {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
            })
        }
    }

    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => "interrupted",
                _ = self.terminate.recv() => "terminated",
            }
        }
        #[cfg(windows)]
        {
            self.ctrl_c.recv().await;
            "interrupted"
        }
    }
}

async fn wait_for_exit(mut signals: Signals, exit_on_stdin_close: bool) -> &'static str {
    let stdin_closed = async {
        if !exit_on_stdin_close {
            return std::future::pending().await;
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1024];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
            let _ = tx.send(());
        });
        let _ = rx.await;
    };
    tokio::select! {
        _ = stdin_closed => "stdin closed",
        reason = signals.recv() => reason,
    }
}
