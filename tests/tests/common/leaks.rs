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
