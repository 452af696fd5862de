//! A client secret the source can read again (a file whose contents change, a secret
//! manager): read before each token request, and after Zuora rejects the secret, so that
//! a long-running process takes a rotated secret without a restart. Every read is blocking
//! work, run off the executor ([`run_blocking`](crate::runtime::run_blocking)) by the task
//! that fetches; a read that fails keeps the last secret and is logged (never the secret).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use zeroize::Zeroizing;
use zuora_oauth_core::ClientSecret;

use crate::notify::lock;

/// How often the secret is read again while Zuora rejects the current one (and no request
/// is in flight): a small read, so that a fixed file is taken within seconds.
pub(crate) const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// The most bytes read from a secret file: a secret's first line is at most 42 characters,
/// so a few KiB is generous, and a huge file without a newline is not read whole.
const READ_LIMIT: usize = 4096;

type Reader = dyn Fn() -> Result<ClientSecret, String> + Send + Sync;

/// Where the secret is read from, and what the reads found.
pub(crate) struct SecretSource {
    read: Box<Reader>,
    /// The last failure logged (warned once, until a read succeeds or fails otherwise).
    last_failure: Mutex<Option<String>>,
    /// Whether a task is re-reading the secret while Zuora rejects it (one at a time).
    watching: AtomicBool,
}

impl SecretSource {
    /// The first line of the file at `path` (its line ending dropped).
    pub(crate) fn file(path: PathBuf) -> Self {
        Self::from_fn(move || read_first_line(&path))
    }

    /// What `read` returns; its error's `Display` is logged.
    pub(crate) fn from_fn<E: std::fmt::Display>(
        read: impl Fn() -> Result<ClientSecret, E> + Send + Sync + 'static,
    ) -> Self {
        Self {
            read: Box::new(move || read().map_err(|e| e.to_string())),
            last_failure: Mutex::new(None),
            watching: AtomicBool::new(false),
        }
    }

    /// Reads the secret (blocking). A failure is logged at WARN once (until it changes or a
    /// read succeeds), and gives `None`: the source keeps its secret.
    pub(crate) fn read(&self) -> Option<ClientSecret> {
        let read = (self.read)();
        let mut last = lock(&self.last_failure);
        match read {
            Ok(secret) => {
                *last = None;
                Some(secret)
            }
            Err(error) => {
                if last.as_deref() != Some(error.as_str()) {
                    event!(
                        warn,
                        error = %error,
                        "cannot read the client secret again; keeping the last one"
                    );
                    *last = Some(error);
                }
                None
            }
        }
    }

    /// Takes the watch (re-reads while Zuora rejects the secret) if no task holds it.
    pub(crate) fn start_watch(&self) -> bool {
        !self.watching.swap(true, Ordering::AcqRel)
    }

    /// Gives the watch back.
    pub(crate) fn end_watch(&self) {
        self.watching.store(false, Ordering::Release);
    }
}

/// The first line of `path`, without its line ending (`\n` or `\r\n`), as a secret: what
/// `zuora-token --client-secret-file` reads. Errors name the file, never its content.
fn read_first_line(path: &Path) -> Result<ClientSecret, String> {
    let shown = path.display();
    // Room for the limit and the end-of-file probe: the buffer never moves, so no copy of
    // the secret is left behind in freed memory.
    let mut bytes = Zeroizing::new(Vec::with_capacity(READ_LIMIT + 1));
    std::fs::File::open(path)
        .and_then(|f| f.take(READ_LIMIT as u64).read_to_end(&mut bytes))
        .map_err(|e| format!("cannot read the client secret file `{shown}`: {e}"))?;
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let mut line = &bytes[..end];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    let text = std::str::from_utf8(line)
        .map_err(|_| format!("the client secret file `{shown}` is not UTF-8 text"))?;
    ClientSecret::new(text)
        .map_err(|e| format!("the client secret file `{shown}` holds no valid secret: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_without_its_ending_is_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        for (content, expected) in [
            ("a/b+c=\n", Some("a/b+c=")),
            ("a/b+c=\r\nsecond line\n", Some("a/b+c=")),
            ("no-newline", Some("no-newline")),
            (" spaced \n", Some(" spaced ")),
            ("\n", None),
            ("", None),
            (&"x".repeat(43), None),
        ] {
            std::fs::write(&path, content).unwrap();
            let read = read_first_line(&path);
            assert_eq!(
                read.as_ref().ok().map(ClientSecret::expose_secret),
                expected,
                "{content:?}"
            );
            if let Err(e) = read {
                assert!(e.contains("holds no valid secret"), "{e}");
                assert!(e.contains(&*path.to_string_lossy()), "{e}");
            }
        }
        std::fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
        assert!(read_first_line(&path).unwrap_err().contains("not UTF-8"));
        let missing = dir.path().join("missing");
        let e = read_first_line(&missing).unwrap_err();
        assert!(
            e.contains("cannot read the client secret file") && e.contains("missing"),
            "{e}"
        );
    }

    #[test]
    fn a_failed_read_keeps_nothing_and_names_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let long = format!("{}\n", "s3cr3t".repeat(8));
        std::fs::write(&path, &long).unwrap();
        let source = SecretSource::file(path);
        assert!(source.read().is_none());
        let logged = lock(&source.last_failure).clone().unwrap();
        assert!(!logged.contains("s3cr3t"), "{logged}");
    }
}
