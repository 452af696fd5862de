//! The server's shared state: clients, tokens, faults, records and rate-limit windows.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use crate::fault::Fault;
use crate::ids;

/// One request to `/oauth/token` as the mock received it (CORS preflights are not recorded).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// Request method (`POST`, `GET`…).
    pub method: String,
    /// Request target: path and query, e.g. `/oauth/token`.
    pub path: String,
    /// Request headers in the order received, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The raw request body.
    pub body: Vec<u8>,
    /// The body parsed as `application/x-www-form-urlencoded`, in order, when the request
    /// said it was a form and the body parsed; `None` otherwise.
    pub form: Option<Vec<(String, String)>>,
    /// The status sent back; `None` while the answer is still being made, or when a fault
    /// closed or reset the connection without a status line.
    pub status: Option<u16>,
    /// The `kind` of the fault this request consumed, if any (see [`Fault::kind`]).
    pub fault: Option<String>,
    /// The client's socket address.
    pub peer: std::net::SocketAddr,
    /// When the request arrived.
    pub received_at: SystemTime,
}

impl RecordedRequest {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first form field named `name`.
    pub fn form_value(&self, name: &str) -> Option<&str> {
        self.form
            .as_ref()?
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A token the mock issued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The bearer token (32 lower-case hex digits).
    pub access_token: String,
    /// Its `jti` (32 lower-case hex digits).
    pub jti: String,
    /// The client it was issued to.
    pub client_id: String,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it stops being accepted by the protected endpoint.
    pub expires_at: SystemTime,
    /// Whether it was revoked ([`MockServer::revoke_all_tokens`](crate::MockServer::revoke_all_tokens)).
    pub revoked: bool,
}

impl IssuedToken {
    /// Whether the protected endpoint accepts this token now (not expired, not revoked).
    pub fn is_live(&self) -> bool {
        !self.revoked && SystemTime::now() < self.expires_at
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Client {
    pub(crate) secret: String,
    pub(crate) user_id: String,
}

/// Rate-limit verdict for one token request.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RateInfo {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    /// Seconds until the window resets (at least 1).
    pub(crate) reset_secs: u64,
    pub(crate) limited: bool,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start: Instant,
    count: u32,
}

#[derive(Debug)]
pub(crate) struct State {
    pub(crate) clients: HashMap<String, Client>,
    pub(crate) lifetime: Duration,
    pub(crate) rate_limit: Option<u32>,
    pub(crate) rate_window: Duration,
    windows: HashMap<IpAddr, Window>,
    pub(crate) faults: VecDeque<Fault>,
    records: Vec<(u64, RecordedRequest)>,
    next_seq: u64,
    pub(crate) token_requests: usize,
    pub(crate) protected_requests: usize,
    pub(crate) tokens: Vec<IssuedToken>,
    token_index: HashMap<String, usize>,
    pub(crate) entity_id: String,
    pub(crate) tenant: u32,
}

impl State {
    pub(crate) fn new(lifetime: Duration, rate_limit: Option<u32>, rate_window: Duration) -> Self {
        Self {
            clients: HashMap::new(),
            lifetime,
            rate_limit,
            rate_window,
            windows: HashMap::new(),
            faults: VecDeque::new(),
            records: Vec::new(),
            next_seq: 0,
            token_requests: 0,
            protected_requests: 0,
            tokens: Vec::new(),
            token_index: HashMap::new(),
            entity_id: ids::uuid(),
            tenant: 1 + ids::random_u32() % 99_999,
        }
    }

    pub(crate) fn add_client(&mut self, id: String, secret: String) {
        self.clients.insert(
            id,
            Client {
                secret,
                user_id: ids::hex32(),
            },
        );
    }

    /// Counts one token request from `ip` and says whether it is over the limit.
    pub(crate) fn count_rate(&mut self, ip: IpAddr, now: Instant) -> Option<RateInfo> {
        let limit = self.rate_limit?;
        let window_len = self.rate_window;
        let w = self.windows.entry(ip).or_insert(Window {
            start: now,
            count: 0,
        });
        if now.duration_since(w.start) >= window_len {
            *w = Window {
                start: now,
                count: 0,
            };
        }
        w.count = w.count.saturating_add(1);
        let left = window_len.saturating_sub(now.duration_since(w.start));
        let reset_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        Some(RateInfo {
            limit,
            remaining: limit.saturating_sub(w.count),
            reset_secs: reset_secs.max(1),
            limited: w.count > limit,
        })
    }

    /// Records a request; the returned number identifies it for [`State::set_status`].
    pub(crate) fn record(&mut self, request: RecordedRequest) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.records.push((seq, request));
        seq
    }

    pub(crate) fn set_status(&mut self, seq: u64, status: Option<u16>) {
        if let Some((_, r)) = self.records.iter_mut().find(|(s, _)| *s == seq) {
            r.status = status;
        }
    }

    pub(crate) fn records(&self) -> Vec<RecordedRequest> {
        self.records.iter().map(|(_, r)| r.clone()).collect()
    }

    pub(crate) fn issue(&mut self, client_id: &str) -> IssuedToken {
        let issued_at = SystemTime::now();
        let token = IssuedToken {
            access_token: ids::hex32(),
            jti: ids::hex32(),
            client_id: client_id.to_owned(),
            issued_at,
            expires_at: issued_at + self.lifetime,
            revoked: false,
        };
        self.token_index
            .insert(token.access_token.clone(), self.tokens.len());
        self.tokens.push(token.clone());
        token
    }

    pub(crate) fn token(&self, access_token: &str) -> Option<&IssuedToken> {
        self.token_index.get(access_token).map(|&i| &self.tokens[i])
    }

    pub(crate) fn revoke_all(&mut self) {
        for t in &mut self.tokens {
            t.revoked = true;
        }
    }

    pub(crate) fn expire_all(&mut self) {
        let now = SystemTime::now();
        for t in &mut self.tokens {
            if t.expires_at > now {
                t.expires_at = now;
            }
        }
    }

    pub(crate) fn reset(&mut self) {
        self.faults.clear();
        self.records.clear();
        self.windows.clear();
        self.token_requests = 0;
        self.protected_requests = 0;
    }
}

/// The state behind a mutex that shrugs off poisoning (a panicking test thread must not
/// take the server down with it).
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
}

impl Shared {
    pub(crate) fn new(state: State, base_url: String) -> Self {
        Self {
            state: Mutex::new(state),
            base_url,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn fixed_window_per_ip() {
        let mut st = State::new(Duration::from_secs(1), Some(2), Duration::from_secs(60));
        let a = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let b = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let t0 = Instant::now();
        let r = st.count_rate(a, t0).unwrap();
        assert_eq!((r.remaining, r.limited, r.reset_secs), (1, false, 60));
        let r = st.count_rate(a, t0 + Duration::from_millis(1500)).unwrap();
        assert_eq!((r.remaining, r.limited, r.reset_secs), (0, false, 59));
        let r = st.count_rate(a, t0 + Duration::from_secs(2)).unwrap();
        assert_eq!((r.remaining, r.limited), (0, true));
        // Another IP has its own window.
        assert!(
            !st.count_rate(b, t0 + Duration::from_secs(2))
                .unwrap()
                .limited
        );
        // The window ends 60 s after its first request.
        let r = st.count_rate(a, t0 + Duration::from_secs(60)).unwrap();
        assert_eq!((r.remaining, r.limited, r.reset_secs), (1, false, 60));
        st.rate_limit = None;
        assert!(st.count_rate(a, t0).is_none());
    }

    #[test]
    fn tokens_revoke_and_expire() {
        let mut st = State::new(Duration::from_secs(60), None, Duration::from_secs(60));
        let t = st.issue("c");
        assert!(st.token(&t.access_token).unwrap().is_live());
        st.expire_all();
        assert!(!st.token(&t.access_token).unwrap().is_live());
        let u = st.issue("c");
        st.revoke_all();
        let u = st.token(&u.access_token).unwrap();
        assert!(u.revoked && !u.is_live());
        assert!(st.token("nope").is_none());
    }
}
