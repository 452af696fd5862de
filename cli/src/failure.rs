//! Why a run failed, its exit code and its one-line message.

use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use zuora_oauth_core::{Error, TransportErrorKind};

/// The exit codes (see `--help`).
pub mod code {
    /// A local failure that is none of the others (standard output closed…).
    pub const LOCAL: u8 = 1;
    /// Invalid input or usage; nothing was sent.
    pub const USAGE: u8 = 2;
    /// Zuora rejected the request or the credentials (400/401/403).
    pub const REJECTED: u8 = 3;
    /// Rate limited (429).
    pub const RATE_LIMITED: u8 = 4;
    /// Server error or unexpected response.
    pub const SERVER: u8 = 5;
    /// Network failure.
    pub const NETWORK: u8 = 6;
}

/// A failed run.
#[derive(Debug)]
pub enum Failure {
    /// Invalid input or usage (exit 2).
    Usage(String),
    /// A local problem that is not the user's input (exit 1).
    Local(String),
    /// The token request failed.
    Fetch(FetchFailure),
}

/// The last failure of the token request, and how the retry loop ended.
#[derive(Debug)]
pub struct FetchFailure {
    /// The last failure, from the core.
    pub error: Error,
    /// Requests sent.
    pub attempts: u32,
    /// Why no further attempt was made.
    pub stop: Stop,
    /// The token URL, for hints about network failures.
    pub token_url: String,
}

/// Why the retry loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The failure is not retried (rejection, unexpected response…).
    Permanent,
    /// `--retries` attempts were spent (or none were asked for).
    RetriesSpent {
        /// The `--retries` value.
        retries: u32,
    },
    /// The server asked to wait longer than `--max-wait` (`Retry-After`, else
    /// `RateLimit-Reset`).
    WaitTooLong {
        /// What the server asked for.
        asked: Duration,
        /// `--max-wait`.
        max_wait: Duration,
    },
}

impl Failure {
    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self::Usage(message.into())
    }

    /// A local failure (exit 1).
    pub fn local(message: impl Into<String>) -> Self {
        Self::Local(message.into())
    }

    /// The process exit code.
    pub fn code(&self) -> u8 {
        match self {
            Self::Usage(_) => code::USAGE,
            Self::Local(_) => code::LOCAL,
            Self::Fetch(f) => exit_code(&f.error),
        }
    }

    /// The exit code as an [`ExitCode`].
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code())
    }

    /// One line, starting with `error:`, control characters replaced by spaces.
    pub fn message(&self) -> String {
        let text = match self {
            Self::Usage(m) | Self::Local(m) => m.clone(),
            Self::Fetch(f) => f.describe(),
        };
        let line: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        format!("error: {line}")
    }
}

impl FetchFailure {
    fn describe(&self) -> String {
        // The core's Display already says what happened, with status, Zuora's error code or
        // message and the Zuora-Request-Id, scrubbed of secrets.
        let mut s = self.error.to_string();
        if exit_code(&self.error) == code::NETWORK {
            let _ = write!(
                s,
                "; check the network, any proxy, and the target ({})",
                self.token_url
            );
        }
        match self.stop {
            Stop::Permanent => {}
            Stop::RetriesSpent { retries: 0 } => {
                if self.error.is_transient() {
                    s.push_str("; pass --retries N to retry automatically");
                }
            }
            Stop::RetriesSpent { .. } => {
                let _ = write!(s, "; gave up after {} attempts", self.attempts);
            }
            Stop::WaitTooLong { asked, max_wait } => {
                let _ = write!(
                    s,
                    "; not retried: the server asked to wait {} s, longer than --max-wait {} s",
                    ceil_secs(asked),
                    max_wait.as_secs_f64()
                );
            }
        }
        s
    }
}

/// The core's error → the exit code scripts see.
pub fn exit_code(error: &Error) -> u8 {
    match error {
        Error::Rejected(_) => code::REJECTED,
        Error::RateLimited(_) | Error::BudgetExhausted { .. } | Error::ServerWait(_) => {
            code::RATE_LIMITED
        }
        Error::Server(_) | Error::UnexpectedResponse { .. } => code::SERVER,
        Error::Transport(t) => match t.kind() {
            TransportErrorKind::BodyTooLarge => code::SERVER,
            _ => code::NETWORK,
        },
        // `Error` is non-exhaustive: a future variant is "unexpected" until mapped.
        _ => code::SERVER,
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
