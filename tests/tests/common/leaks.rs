//! Captures every `tracing` event (TRACE and up) of the test binary, so that a test can
//! check that no secret was ever logged.

use std::io::Write;
use std::sync::{Mutex, OnceLock};

static LOG: OnceLock<Mutex<String>> = OnceLock::new();

struct Sink;

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        log()
            .lock()
            .unwrap()
            .push_str(&String::from_utf8_lossy(buf));
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn log() -> &'static Mutex<String> {
    LOG.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| Sink)
            .with_ansi(false)
            .init();
        Mutex::new(String::new())
    })
}

/// Starts capturing (idempotent).
pub fn capture() {
    let _ = log();
}

/// Everything logged so far by any test of this binary.
pub fn logged() -> String {
    log().lock().unwrap().clone()
}

/// Panics if `text` shows any of `secrets` in any spelling of the testkit's
/// [`spellings`](zuora_oauth_testkit::spellings) (raw, form-encoded in both hex cases,
/// JSON-escaped, and each as a byte list, hex or base64).
pub fn assert_hidden(what: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        if let Some(leak) = zuora_oauth_testkit::spellings::find(text, secret) {
            let mut from = leak.at.saturating_sub(200);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let mut to = (leak.at + 200).min(text.len());
            while !text.is_char_boundary(to) {
                to += 1;
            }
            panic!(
                "{what} shows {:?}, a spelling of {secret:?}, at byte {}: …{}…",
                leak.spelling,
                leak.at,
                &text[from..to]
            );
        }
    }
}
