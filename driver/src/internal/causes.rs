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

/// The transport error kind an error of a hyper-based stack means, from its causes: TLS,
/// I/O, hyper's own (an incomplete message, a closed or canceled connection, a timeout),
/// a resolver failure; `specific` is asked first about each cause (the stack's own error
/// types). `None`: nothing tells.
#[cfg(feature = "__hyper")]
pub fn classify(
    error: &(dyn StdError + 'static),
    specific: impl Fn(&(dyn StdError + 'static)) -> Option<zuora_oauth_core::TransportErrorKind>,
) -> Option<zuora_oauth_core::TransportErrorKind> {
    use zuora_oauth_core::TransportErrorKind as K;
    for e in causes(error) {
        if let Some(kind) = specific(e) {
            return Some(kind);
        }
        if e.is::<rustls::Error>() {
            return Some(K::Tls);
        }
        if let Some(kind) = e.downcast_ref::<io::Error>().and_then(io_kind) {
            return Some(kind);
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_closed() || h.is_canceled() {
                return Some(K::Reset);
            }
            if h.is_timeout() {
                return Some(K::Timeout);
            }
        }
        // hyper-util's resolver error is private; it names itself.
        if e.to_string().starts_with("dns error") {
            return Some(K::Dns);
        }
    }
    None
}
