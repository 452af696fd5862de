//! A thread-safe [`TokenLifecycle`] for drivers with many concurrent callers.

use std::cell::RefCell;
use std::fmt;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{
    Action, Error, RequestId, Timestamp, Token, TokenError, TokenLifecycle, TransportError,
};

/// A [`TokenLifecycle`] shared by every caller of a token source, with a lock-free path
/// for the common case: a fresh token is already cached.
///
/// This is still Sans-IO: it reads no clock and does no I/O. A driver adds a clock, a way
/// to send requests and a way to wait (see the transport adapters). What it adds over the
/// bare machine:
///
/// - [`with_fresh`](Self::with_fresh) reads the cached token without taking a lock and
///   without touching any counter shared between threads: each thread keeps its own
///   reference to the published token and checks a version number that changes only when
///   a new token (or a new refresh time) is published. A hit costs a thread-local lookup,
///   one atomic load and a comparison.
/// - [`poll`](Self::poll) runs the machine under a mutex and returns owned values.
/// - A [`Fetch`] that is dropped before it completes (its caller was cancelled) tells the
///   machine, so waiting callers are never wedged.
/// - `on_change` is called whenever waiting callers should poll again.
pub struct SharedLifecycle {
    key: u64,
    version: AtomicU64,
    machine: Mutex<TokenLifecycle>,
    published: Mutex<Option<TokenHandle>>,
    on_change: Box<dyn Fn() + Send + Sync>,
}

/// A token handed out by a [`SharedLifecycle`]: the token, its generation (for
/// [`SharedLifecycle::invalidate`]) and its expiry. Cloning it is cheap.
#[derive(Clone)]
pub struct TokenHandle(Arc<Published>);

struct Published {
    token: Arc<Token>,
    generation: u64,
    /// The fast path serves the token until then; the slow path decides afterwards.
    fresh_until: Timestamp,
    expires_at: Timestamp,
}

impl TokenHandle {
    /// The token, shared.
    pub fn token(&self) -> &Arc<Token> {
        &self.0.token
    }

    /// Which token this is; report it to [`SharedLifecycle::invalidate`] if the API
    /// answers 401 to it.
    pub fn generation(&self) -> u64 {
        self.0.generation
    }

    /// When the token stops being handed out.
    pub fn expires_at(&self) -> Timestamp {
        self.0.expires_at
    }
}

impl Deref for TokenHandle {
    type Target = Token;
    fn deref(&self) -> &Token {
        &self.0.token
    }
}

impl fmt::Debug for TokenHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHandle")
            .field("generation", &self.0.generation)
            .field("expires_at", &self.0.expires_at)
            .field("token", &self.0.token)
            .finish()
    }
}

/// What [`SharedLifecycle::poll`] asks of a caller.
#[derive(Debug)]
// `Send` is big (an `http::Request`) but a `Step` is consumed at once.
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// Use this token.
    Use(TokenHandle),
    /// Send `request` and report the result with [`Fetch::complete`]. `current` is a
    /// still-valid token the caller may use meanwhile (a refresh-ahead), if there is one.
    Send {
        /// The token request (it holds the client secret: never log it).
        request: http::Request<Vec<u8>>,
        /// The obligation to report the outcome; dropping it cancels the request.
        fetch: Fetch,
        /// A still-valid token, when this is a refresh-ahead.
        current: Option<TokenHandle>,
    },
    /// Another caller's request is in flight: wait for `on_change`, then poll again.
    Wait,
    /// No token can be handed out now.
    Fail(TokenError),
}

/// A request in flight. Report its outcome with [`Fetch::complete`]; dropping it without
/// doing so (the caller was cancelled or panicked) cancels the request so that another
/// caller can take over.
pub struct Fetch {
    shared: Arc<SharedLifecycle>,
    id: RequestId,
    done: bool,
}

impl Fetch {
    /// Reports the outcome: a response of any status, or a transport failure.
    pub fn complete<B: AsRef<[u8]>>(
        mut self,
        now: Timestamp,
        result: Result<http::Response<B>, TransportError>,
    ) -> FetchOutcome {
        self.done = true;
        self.shared.update(now, |lc| {
            let outcome = match &result {
                Ok(response) => lc.handle_response(now, self.id, response),
                Err(e) => lc.handle_transport_error(now, self.id, e.clone()),
            };
            match outcome {
                crate::Outcome::Token(c) => FetchOutcome::Token {
                    generation: c.generation(),
                },
                crate::Outcome::Failed(e) => FetchOutcome::Failed(e.clone()),
                crate::Outcome::Ignored => FetchOutcome::Ignored,
            }
        })
    }

    /// The request's ID.
    pub fn id(&self) -> RequestId {
        self.id
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        if !self.done {
            let id = self.id;
            // No clock here: the cancellation does not need one.
            let now = self.shared.machine().latest_time();
            self.shared.update(now, |lc| lc.cancel(id));
        }
    }
}

impl fmt::Debug for Fetch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetch").field("id", &self.id).finish()
    }
}

/// What became of a completed [`Fetch`] (for logging; poll again to act on it).
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// A new token was installed.
    Token {
        /// Its generation.
        generation: u64,
    },
    /// The request failed.
    Failed(Error),
    /// The request had been superseded; nothing changed.
    Ignored,
}

/// Per-thread references to published tokens, so that a hit touches no shared counter.
struct Slot {
    key: u64,
    version: u64,
    handle: Option<TokenHandle>,
}

/// Slots kept per thread (one per live `SharedLifecycle` it reads; older ones are evicted).
const SLOTS_PER_THREAD: usize = 8;

thread_local! {
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

static NEXT_KEY: AtomicU64 = AtomicU64::new(1);

impl SharedLifecycle {
    /// Shares `lifecycle`. `on_change` is called (without any lock held) whenever callers
    /// that got [`Step::Wait`] should poll again.
    pub fn new(lifecycle: TokenLifecycle, on_change: impl Fn() + Send + Sync + 'static) -> Self {
        Self {
            key: NEXT_KEY.fetch_add(1, Ordering::Relaxed),
            version: AtomicU64::new(1),
            machine: Mutex::new(lifecycle),
            published: Mutex::new(None),
            on_change: Box::new(on_change),
        }
    }

    /// Calls `f` with the cached token if it is fresh at `now` (before its refresh time,
    /// and not invalidated). Takes no lock and changes no shared counter unless a new token
    /// was published since this thread last looked. `None`: use [`poll`](Self::poll).
    pub fn with_fresh<R>(&self, now: Timestamp, mut f: impl FnMut(&TokenHandle) -> R) -> Option<R> {
        let version = self.version.load(Ordering::Acquire);
        let answered = SLOTS
            .try_with(|slots| {
                let slots = slots.try_borrow().ok()?;
                let slot = slots
                    .iter()
                    .find(|s| s.key == self.key && s.version == version)?;
                Some(
                    slot.handle
                        .as_ref()
                        .filter(|h| now < h.0.fresh_until)
                        .map(&mut f),
                )
            })
            .ok()
            .flatten();
        if let Some(answer) = answered {
            return answer;
        }
        // This thread's view is stale: take the published token (once per publication).
        let handle = lock(&self.published).clone();
        let _ = SLOTS.try_with(|slots| {
            if let Ok(mut slots) = slots.try_borrow_mut() {
                slots.retain(|s| s.key != self.key);
                if slots.len() >= SLOTS_PER_THREAD {
                    slots.remove(0);
                }
                slots.push(Slot {
                    key: self.key,
                    version,
                    handle: handle.clone(),
                });
            }
        });
        handle.filter(|h| now < h.0.fresh_until).map(|h| f(&h))
    }

    /// The cached token if it is fresh at `now`; see [`with_fresh`](Self::with_fresh).
    pub fn fresh(&self, now: Timestamp) -> Option<TokenHandle> {
        self.with_fresh(now, TokenHandle::clone)
    }

    /// Runs the machine at `now` and says what this caller should do.
    pub fn poll(self: &Arc<Self>, now: Timestamp) -> Step {
        let mut lc = self.machine();
        let step = match lc.poll(now) {
            Action::Use(_) => None,
            Action::Send(out) => {
                let id = out.id();
                Some(Step::Send {
                    request: out.into_request(),
                    fetch: Fetch {
                        shared: Arc::clone(self),
                        id,
                        done: false,
                    },
                    current: None,
                })
            }
            Action::Wait => Some(Step::Wait),
            Action::Fail { error, retry_at } => {
                let retry_in = retry_at.map(|t| t.saturating_duration_since(now));
                Some(Step::Fail(TokenError::new(error.clone(), retry_in)))
            }
        };
        let current = self.publish(&lc, now);
        drop(lc);
        match step {
            Some(Step::Send { request, fetch, .. }) => Step::Send {
                request,
                fetch,
                current,
            },
            Some(step) => step,
            None => current.map_or(Step::Wait, Step::Use),
        }
    }

    /// The Zuora API answered 401 to token `generation`: stop handing it out. Returns
    /// whether this changed anything (see [`TokenLifecycle::invalidate`]).
    pub fn invalidate(&self, now: Timestamp, generation: u64) -> bool {
        self.update(now, |lc| lc.invalidate(now, generation))
    }

    /// Runs `f` on the machine (to [`adopt`](TokenLifecycle::adopt) a token from a shared
    /// store, [`reset`](TokenLifecycle::reset), [`reconfigure`](TokenLifecycle::reconfigure)…),
    /// then publishes and wakes waiting callers.
    pub fn update<R>(&self, now: Timestamp, f: impl FnOnce(&mut TokenLifecycle) -> R) -> R {
        let mut lc = self.machine();
        let r = f(&mut lc);
        self.publish(&lc, now);
        drop(lc);
        (self.on_change)();
        r
    }

    /// Reads the machine's state (for diagnostics and metrics: the last error, the request
    /// in flight, requests in the last minute…) under its lock.
    pub fn inspect<R>(&self, f: impl FnOnce(&TokenLifecycle) -> R) -> R {
        f(&self.machine())
    }

    fn machine(&self) -> MutexGuard<'_, TokenLifecycle> {
        lock(&self.machine)
    }

    /// Publishes what the machine would hand out at `now`, if that changed; returns it.
    fn publish(&self, lc: &TokenLifecycle, now: Timestamp) -> Option<TokenHandle> {
        let wanted = lc.token(now).map(|c| {
            let fresh_until = lc
                .next_wakeup()
                .map_or(c.expires_at(), |w| w.min(c.expires_at()));
            (c, fresh_until)
        });
        let mut published = lock(&self.published);
        let unchanged = match (&*published, &wanted) {
            (Some(p), Some((c, fresh_until))) => {
                p.0.generation == c.generation() && p.0.fresh_until == *fresh_until
            }
            (None, None) => true,
            _ => false,
        };
        if !unchanged {
            *published = wanted.map(|(c, fresh_until)| {
                TokenHandle(Arc::new(Published {
                    token: Arc::clone(c.token()),
                    generation: c.generation(),
                    fresh_until,
                    expires_at: c.expires_at(),
                }))
            });
            self.version.fetch_add(1, Ordering::Release);
        }
        published.clone()
    }
}

impl fmt::Debug for SharedLifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLifecycle")
            .field("machine", &*self.machine())
            .finish_non_exhaustive()
    }
}

/// Locks, ignoring poisoning: every critical section leaves the state consistent.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::sync::{Barrier, Condvar};
    use std::time::Duration;

    use super::*;
    use crate::{
        ClientId, ClientSecret, Environment, LifecycleConfig, TokenRequest, TransportErrorKind,
    };

    fn shared_with(on_change: impl Fn() + Send + Sync + 'static) -> Arc<SharedLifecycle> {
        let request = TokenRequest::new(
            Environment::custom("http://127.0.0.1:9").unwrap(),
            ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new("dG9wLXNlY3JldC12YWx1ZQ==").unwrap(),
        );
        let lc = TokenLifecycle::new(request, LifecycleConfig::default());
        Arc::new(SharedLifecycle::new(lc, on_change))
    }

    fn ok(token: &str, expires_in: u64) -> http::Response<Vec<u8>> {
        http::Response::builder()
            .header("content-type", "application/json")
            .body(
                format!(r#"{{"access_token":"{token}","expires_in":{expires_in},"token_type":"bearer"}}"#)
                    .into_bytes(),
            )
            .unwrap()
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_duration(Duration::from_secs(secs))
    }

    fn secret(h: &TokenHandle) -> String {
        h.access_token().secret().to_owned()
    }

    /// Fetches a first token at `t`.
    fn prime(shared: &Arc<SharedLifecycle>, t: Timestamp, token: &str, expires_in: u64) {
        match shared.poll(t) {
            Step::Send { fetch, current, .. } => {
                assert!(current.is_none());
                let _ = fetch.complete(t, Ok(ok(token, expires_in)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fast_path_serves_until_refresh_time_then_defers_to_poll() {
        let shared = shared_with(|| {});
        assert!(shared.fresh(at(0)).is_none());
        prime(&shared, at(0), "first", 3599);
        let h = shared.fresh(at(1)).unwrap();
        assert_eq!(secret(&h), "first");
        assert_eq!(
            shared.with_fresh(at(3000), |h| h.generation()),
            Some(h.generation())
        );
        // In the refresh window the fast path steps aside; poll starts one refresh and hands
        // the old token to everyone else.
        let window = at(3599 - 299);
        assert!(shared.fresh(window).is_none());
        let Step::Send { fetch, current, .. } = shared.poll(window) else {
            panic!()
        };
        assert_eq!(secret(&current.unwrap()), "first");
        // While the refresh is in flight, the old token is fresh again for the fast path.
        assert_eq!(secret(&shared.fresh(window).unwrap()), "first");
        assert!(matches!(shared.poll(window), Step::Use(h) if secret(&h) == "first"));
        let _ = fetch.complete(window, Ok(ok("second", 3599)));
        assert_eq!(secret(&shared.fresh(window).unwrap()), "second");
    }

    #[test]
    fn dropped_fetch_cancels_and_wakes_waiters() {
        let wakeups = Arc::new(AtomicUsize::new(0));
        let w = Arc::clone(&wakeups);
        let shared = shared_with(move || {
            w.fetch_add(1, Ordering::SeqCst);
        });
        let Step::Send { fetch, .. } = shared.poll(at(0)) else {
            panic!()
        };
        assert!(matches!(shared.poll(at(0)), Step::Wait));
        drop(fetch); // the fetching caller was cancelled
        assert!(wakeups.load(Ordering::SeqCst) >= 1);
        assert!(
            matches!(shared.poll(at(0)), Step::Send { .. }),
            "another caller takes over"
        );
    }

    #[test]
    fn invalidate_reaches_every_thread_at_once() {
        let shared = shared_with(|| {});
        prime(&shared, at(0), "first", 3599);
        let generation = shared.fresh(at(1)).unwrap().generation();
        let barrier = Arc::new(Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (shared, barrier) = (Arc::clone(&shared), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    // Warm every thread's cache, then report the token bad.
                    assert!(shared.fresh(at(1)).is_some());
                    barrier.wait();
                    shared.invalidate(at(2), generation);
                    assert!(
                        shared.fresh(at(2)).is_none(),
                        "an invalidated token is never fresh"
                    );
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let Step::Send { current, .. } = shared.poll(at(2)) else {
            panic!()
        };
        assert!(current.is_none());
    }

    #[test]
    fn two_sources_on_one_thread_do_not_mix() {
        let (a, b) = (shared_with(|| {}), shared_with(|| {}));
        prime(&a, at(0), "token-a", 3599);
        prime(&b, at(0), "token-b", 3599);
        for _ in 0..3 {
            assert_eq!(secret(&a.fresh(at(1)).unwrap()), "token-a");
            assert_eq!(secret(&b.fresh(at(1)).unwrap()), "token-b");
        }
        // Many sources evict older per-thread slots without harm.
        let many: Vec<_> = (0..20).map(|_| shared_with(|| {})).collect();
        for (i, s) in many.iter().enumerate() {
            prime(s, at(0), &format!("t{i}"), 3599);
            assert_eq!(secret(&s.fresh(at(1)).unwrap()), format!("t{i}"));
        }
        assert_eq!(secret(&a.fresh(at(1)).unwrap()), "token-a");
    }

    #[test]
    fn nested_reads_do_not_panic() {
        let (a, b) = (shared_with(|| {}), shared_with(|| {}));
        prime(&a, at(0), "token-a", 3599);
        prime(&b, at(0), "token-b", 3599);
        let inner = a.with_fresh(at(1), |_| b.with_fresh(at(1), secret));
        assert_eq!(inner.flatten().as_deref(), Some("token-b"));
    }

    #[test]
    fn many_threads_one_request() {
        let changed = Arc::new((Mutex::new(0u64), Condvar::new()));
        let c = Arc::clone(&changed);
        let shared = shared_with(move || {
            *lock(&c.0) += 1;
            c.1.notify_all();
        });
        let sends = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(Barrier::new(16));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (shared, sends, barrier, changed) = (
                    Arc::clone(&shared),
                    Arc::clone(&sends),
                    Arc::clone(&barrier),
                    Arc::clone(&changed),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    loop {
                        if let Some(h) = shared.fresh(at(0)) {
                            return secret(&h);
                        }
                        let epoch = *lock(&changed.0);
                        match shared.poll(at(0)) {
                            Step::Use(h) => return secret(&h),
                            Step::Send { fetch, .. } => {
                                sends.fetch_add(1, Ordering::SeqCst);
                                std::thread::sleep(Duration::from_millis(20));
                                let _ = fetch.complete(at(0), Ok(ok("only", 3599)));
                            }
                            Step::Wait => {
                                let mut e = lock(&changed.0);
                                while *e == epoch {
                                    e = changed.1.wait(e).unwrap_or_else(PoisonError::into_inner);
                                }
                            }
                            Step::Fail(e) => panic!("{e}"),
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), "only");
        }
        assert_eq!(sends.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn failure_reaches_callers_with_next_attempt() {
        let shared = shared_with(|| {});
        let Step::Send { fetch, .. } = shared.poll(at(0)) else {
            panic!()
        };
        let e = TransportError::new(TransportErrorKind::Connect, "refused");
        assert!(matches!(
            fetch.complete(at(0), Err::<http::Response<Vec<u8>>, _>(e)),
            FetchOutcome::Failed(_)
        ));
        match shared.poll(at(0)) {
            Step::Fail(e) => {
                assert!(e.is_transient());
                assert!(e.retry_in().unwrap() <= Duration::from_secs(1));
                assert!(e.to_string().contains("connection failed"), "{e}");
            }
            Step::Send { .. } => {} // full jitter may have drawn zero
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn handle_and_source_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<SharedLifecycle>();
        check::<TokenHandle>();
        check::<Fetch>();
        check::<Step>();
    }
}
