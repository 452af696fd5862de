//! Reading an HTTP client's error chain, for the transports that classify errors by their
//! causes (hyper, reqwest).

use std::error::Error as StdError;
use std::io;

/// The error, then each cause. An `io::Error`'s own `source` skips the error it wraps (a
/// rustls error inside the one tokio-rustls returns, say); this visits it.
pub fn causes<'a>(
    error: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(error), |&e| {
        match e.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(wrapped) => Some(wrapped as &(dyn StdError + 'static)),
            None => e.source(),
        }
    })
}

/// The error and its causes in one line, each text once.
pub fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    for e in causes(error) {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
    }
    text
}

/// The transport error kind an I/O error's kind means, if it means one.
pub fn io_kind(error: &io::Error) -> Option<zuora_oauth_core::TransportErrorKind> {
    use io::ErrorKind as Io;
    use zuora_oauth_core::TransportErrorKind as K;
    Some(match error.kind() {
        Io::ConnectionRefused | Io::HostUnreachable | Io::NetworkUnreachable => K::Connect,
        Io::TimedOut => K::Timeout,
        Io::ConnectionReset | Io::ConnectionAborted | Io::BrokenPipe | Io::UnexpectedEof => {
            K::Reset
        }
        _ => return None,
    })
}
