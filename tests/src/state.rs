//! The server's shared state: clients, tokens, accounts, fault rules, records, rate-limit
//! windows, and the signals tests wait on.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::Notify;

use crate::accounts::Accounts;
use crate::ids;
use crate::rules::Rules;

/// Which endpoint a [`RecordedRequest`] went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// `/oauth/token`.
    Token,
    /// The mock Zuora API, `/v1/…`.
    Api,
}

impl RequestKind {
    /// `"token"` or `"api"`, as in the control API's JSON.
    pub fn as_str(&self) -> &'static str {
        match self {
            RequestKind::Token => "token",
            RequestKind::Api => "api",
        }
    }
}

/// One request to `/oauth/token` or to the API (`/v1/…`) as the mock received it, with its
/// secrets redacted (CORS preflights and control calls are not recorded).
///
/// Redacted: the value of every `client_secret` field, in [`body`](Self::body) (as a form,
/// or as JSON when the body is JSON), in [`form`](Self::form) and in the query string of
/// [`path`](Self::path), becomes [`REDACTED`](crate::REDACTED); the `Authorization` header
/// keeps only its scheme, followed on API calls by which issued token it carried
/// (`Bearer [token 0]`, the index in [`MockServer::issued_tokens`](crate::MockServer::issued_tokens),
/// or `Bearer [unknown token]`), and on token requests by `[redacted]`. The server itself
/// validates the real values: a wrongly encoded secret still gets a 401.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The token endpoint or the API.
    pub kind: RequestKind,
    /// Request method (`POST`, `GET`…).
    pub method: String,
    /// Request target: path and query, e.g. `/oauth/token`.
    pub path: String,
    /// Request headers in the order received, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The request body.
    pub body: Vec<u8>,
    /// The body parsed as `application/x-www-form-urlencoded`, in order, when the request
    /// said it was a form and the body parsed; `None` otherwise (and on API calls).
    pub form: Option<Vec<(String, String)>>,
    /// The client: on the token endpoint, the `client_id` the form names; on the API, the
    /// client the bearer token was issued to. `None` when there is none.
    pub client_id: Option<String>,
    /// On the API, the index in [`MockServer::issued_tokens`](crate::MockServer::issued_tokens)
    /// of the token the `Authorization` header carried, when this mock issued it (live or
    /// not).
    pub token_index: Option<usize>,
    /// The status sent back; `None` while the answer is still being made, or when a fault
    /// closed or reset the connection without a status line.
    pub status: Option<u16>,
    /// The `kind` of the fault this request took, if any (see [`Fault::kind`](crate::Fault::kind)).
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
    /// The entity it is valid for (the `entity.<uuid>` of its scope): the one the token
    /// request named in `Zuora-Entity-Ids`, else the tenant's default entity. API calls with
    /// this token that send `Zuora-Entity-Ids` must name this one.
    pub entity_id: String,
    /// Whether the token request named the entity (`Zuora-Entity-Ids`).
    pub entity_requested: bool,
    /// When it was issued.
    pub issued_at: SystemTime,
    /// When it stops being accepted by the API.
    pub expires_at: SystemTime,
    /// Whether it was revoked ([`MockServer::revoke_all_tokens`](crate::MockServer::revoke_all_tokens),
    /// [`MockServer::revoke_token`](crate::MockServer::revoke_token)).
    pub revoked: bool,
}

impl IssuedToken {
    /// Whether the API accepts this token now (not expired, not revoked).
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
    pub(crate) rules: Rules,
    records: Vec<(u64, RecordedRequest)>,
    next_seq: u64,
    pub(crate) token_requests: usize,
    pub(crate) api_requests: usize,
    pub(crate) tokens: Vec<IssuedToken>,
    token_index: HashMap<String, usize>,
    pub(crate) accounts: Accounts,
    pub(crate) entity_id: String,
    pub(crate) tenant: u32,
    /// Whether rotating a client's secret revokes the tokens issued to it so far.
    pub(crate) revoke_on_rotation: bool,
}

impl State {
    pub(crate) fn new(lifetime: Duration, rate_limit: Option<u32>, rate_window: Duration) -> Self {
        Self {
            clients: HashMap::new(),
            lifetime,
            rate_limit,
            rate_window,
            windows: HashMap::new(),
            rules: Rules::default(),
            records: Vec::new(),
            next_seq: 0,
            token_requests: 0,
            api_requests: 0,
            tokens: Vec::new(),
            token_index: HashMap::new(),
            accounts: Accounts::seeded(),
            entity_id: ids::uuid(),
            tenant: 1 + ids::random_u32() % 99_999,
            revoke_on_rotation: false,
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
        if let Some((_, r)) = self.records.iter_mut().rev().find(|(s, _)| *s == seq) {
            r.status = status;
        }
    }

    /// Recorded requests of `kind` (all of them for `None`), in arrival order.
    pub(crate) fn records(&self, kind: Option<RequestKind>) -> Vec<RecordedRequest> {
        self.records
            .iter()
            .filter(|(_, r)| kind.is_none_or(|k| r.kind == k))
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub(crate) fn issue(&mut self, client_id: &str, entity: Option<String>) -> IssuedToken {
        let issued_at = SystemTime::now();
        let token = IssuedToken {
            access_token: ids::hex32(),
            jti: ids::hex32(),
            client_id: client_id.to_owned(),
            entity_requested: entity.is_some(),
            entity_id: entity.unwrap_or_else(|| self.entity_id.clone()),
            issued_at,
            expires_at: issued_at + self.lifetime,
            revoked: false,
        };
        self.token_index
            .insert(token.access_token.clone(), self.tokens.len());
        self.tokens.push(token.clone());
        token
    }

    /// The issued token `access_token` and its index, live or not.
    pub(crate) fn token(&self, access_token: &str) -> Option<(usize, &IssuedToken)> {
        self.token_index
            .get(access_token)
            .map(|&i| (i, &self.tokens[i]))
    }

    /// Gives client `client_id` the secret `secret` (the old one gets Zuora's 401 from now
    /// on); revokes its tokens if `revoke` (else they stay valid until they expire).
    /// Returns how many tokens were revoked, or `None` if there is no such client.
    pub(crate) fn rotate_secret(
        &mut self,
        client_id: &str,
        secret: String,
        revoke: bool,
    ) -> Option<usize> {
        self.clients.get_mut(client_id)?.secret = secret;
        let mut revoked = 0;
        if revoke {
            for t in self.tokens.iter_mut().filter(|t| t.client_id == client_id) {
                revoked += usize::from(!t.revoked);
                t.revoked = true;
            }
        }
        Some(revoked)
    }

    pub(crate) fn revoke_all(&mut self) {
        for t in &mut self.tokens {
            t.revoked = true;
        }
    }

    /// Revokes one token; says whether this mock issued it.
    pub(crate) fn revoke(&mut self, access_token: &str) -> bool {
        match self.token_index.get(access_token) {
            Some(&i) => {
                self.tokens[i].revoked = true;
                true
            }
            None => false,
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
        self.rules.clear();
        self.records.clear();
        self.windows.clear();
        self.token_requests = 0;
        self.api_requests = 0;
    }
}

/// The state behind a mutex that shrugs off poisoning (a panicking test thread must not
/// take the server down with it), and the signals of request arrivals.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    /// Notified (all waiters) whenever a request is counted, for blocking waiters.
    arrived: Condvar,
    /// The same, for async waiters.
    arrived_async: Notify,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base_url: String,
    /// Whether the server answers CORS.
    pub(crate) cors: bool,
}

impl Shared {
    pub(crate) fn new(state: State, base_url: String, cors: bool) -> Self {
        Self {
            state: Mutex::new(state),
            arrived: Condvar::new(),
            arrived_async: Notify::new(),
            base_url,
            cors,
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Wakes every waiter: a request was counted (call it after the lock is released).
    pub(crate) fn arrived(&self) {
        self.arrived.notify_all();
        self.arrived_async.notify_waiters();
    }

    /// Blocks until `done` holds or `timeout` passes; returns whether it holds.
    pub(crate) fn wait_until(&self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let guard = self.lock();
        let (guard, _) = self
            .arrived
            .wait_timeout_while(guard, timeout, |st| !done(st))
            .unwrap_or_else(|e| e.into_inner());
        done(&guard)
    }

    /// Waits until `done` holds, without blocking a thread.
    pub(crate) async fn until(&self, done: impl Fn(&State) -> bool) {
        loop {
            let notified = self.arrived_async.notified();
            let mut notified = std::pin::pin!(notified);
            // Registered before the check, so an arrival in between is not missed.
            notified.as_mut().enable();
            if done(&self.lock()) {
                return;
            }
            notified.await;
        }
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
    fn a_rotated_secret_replaces_the_old_one_and_may_revoke_the_tokens() {
        let mut st = State::new(Duration::from_secs(60), None, Duration::from_secs(60));
        st.add_client("c".into(), "old".into());
        st.add_client("d".into(), "other".into());
        let user = st.clients["c"].user_id.clone();
        let (a, b) = (st.issue("c", None), st.issue("d", None));
        assert_eq!(st.rotate_secret("c", "new".into(), false), Some(0));
        assert_eq!(st.clients["c"].secret, "new");
        assert_eq!(st.clients["c"].user_id, user, "the same OAuth client");
        assert!(st.token(&a.access_token).unwrap().1.is_live());
        assert_eq!(st.rotate_secret("c", "newer".into(), true), Some(1));
        assert!(!st.token(&a.access_token).unwrap().1.is_live());
        assert!(st.token(&b.access_token).unwrap().1.is_live());
        assert_eq!(st.rotate_secret("nobody", "x".into(), true), None);
    }

    #[test]
    fn tokens_revoke_and_expire() {
        let mut st = State::new(Duration::from_secs(60), None, Duration::from_secs(60));
        let t = st.issue("c", None);
        assert_eq!(t.entity_id, st.entity_id);
        assert!(!t.entity_requested);
        assert!(st.token(&t.access_token).unwrap().1.is_live());
        st.expire_all();
        assert!(!st.token(&t.access_token).unwrap().1.is_live());
        let u = st.issue("c", Some("e".into()));
        assert_eq!((u.entity_id.as_str(), u.entity_requested), ("e", true));
        let v = st.issue("c", None);
        assert!(st.revoke(&u.access_token));
        assert!(!st.revoke("nope"));
        assert_eq!(
            st.token(&u.access_token).map(|(i, t)| (i, t.revoked)),
            Some((1, true))
        );
        assert!(st.token(&v.access_token).unwrap().1.is_live());
        st.revoke_all();
        let v = st.token(&v.access_token).unwrap().1;
        assert!(v.revoked && !v.is_live());
        assert!(st.token("nope").is_none());
    }
}
