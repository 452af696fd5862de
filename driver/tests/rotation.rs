//! Rotation without restart, against the mock Zuora (whose secret is rotated too): a new
//! secret given to `reconfigure` keeps the current token until it produces one, its
//! rejection is named, and a secret read again (a file, a function) is taken without a
//! restart. (With a shared Redis store: store-redis/tests/rotation.rs.)

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use zuora_oauth_core::{ClientId, ClientSecret, Environment, Error, Rotation, TokenRequest};
use zuora_oauth_driver::{Clock, TokenErrorKind, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};

const NEW_SECRET: &str = "r0tated+Zu0ra/S3cret=Tw0";

/// How often a source reads a rejected secret again (documented on `with_secret_file`).
const RECHECK_EVERY: Duration = Duration::from_secs(5);

/// How long a test waits for background work (far above what it takes).
const PATIENCE: Duration = Duration::from_secs(20);

fn request(zuora: &MockServer, secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

fn zuora() -> MockServer {
    MockServer::builder().without_rate_limit().start().unwrap()
}

/// Waits (polling) until `done` holds; panics after [`PATIENCE`] with `what`.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The statuses the mock answered the token requests with, in order.
fn statuses(zuora: &MockServer) -> Vec<Option<u16>> {
    zuora.requests().iter().map(|r| r.status).collect()
}

/// Clocks that a test can move forward (monotonic and wall clock together).
#[derive(Clone, Default)]
struct Ahead(Arc<AtomicU64>);

impl Ahead {
    fn clock(&self) -> Clock {
        let (started, a, b) = (Instant::now(), self.0.clone(), self.0.clone());
        Clock::new(
            move || started.elapsed() + Duration::from_secs(a.load(Ordering::SeqCst)),
            move || SystemTime::now() + Duration::from_secs(b.load(Ordering::SeqCst)),
        )
    }

    fn skip(&self, d: Duration) {
        self.0.fetch_add(d.as_secs(), Ordering::SeqCst);
    }
}

/// A new secret keeps the current token handed out at once, and a request with the new
/// secret goes out at once, in the background; then its token is handed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_secret_keeps_the_token_until_it_produces_one() {
    let zuora = zuora();
    let source = TokenSource::new(request(&zuora, DEMO_CLIENT_SECRET), HyperTransport::new());
    let first = source.token().await.unwrap();
    assert!(zuora.rotate_secret(DEMO_CLIENT_ID, NEW_SECRET));
    source.reconfigure(request(&zuora, NEW_SECRET));
    // No wait: the kept token.
    let during = source.token().await.unwrap();
    assert_eq!(during.generation(), first.generation());
    assert_eq!(
        during.access_token().secret(),
        first.access_token().secret()
    );
    until("the new secret's token", || {
        source
            .status()
            .token
            .is_some_and(|t| t.generation > first.generation())
    })
    .await;
    let after = source.token().await.unwrap();
    assert_ne!(after.access_token().secret(), first.access_token().secret());
    assert_eq!(source.status().rotation, None);
    assert_eq!(
        statuses(&zuora),
        [Some(200), Some(200)],
        "one request per secret"
    );
}

/// A new secret Zuora rejects: the current token is still handed out (no other request),
/// the rejection shows at once in `status`, and once the token is no longer usable the
/// error names the rotation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_new_secret_is_named_and_the_token_served_until_unusable() {
    let zuora = zuora();
    let ahead = Ahead::default();
    let source = TokenSource::builder(request(&zuora, DEMO_CLIENT_SECRET), HyperTransport::new())
        .with_clock(ahead.clock())
        .build();
    let first = source.token().await.unwrap();
    // Not the secret Zuora has.
    source.reconfigure(request(&zuora, NEW_SECRET));
    assert_eq!(
        source.token().await.unwrap().generation(),
        first.generation()
    );
    until("the rejection", || {
        source.status().rotation == Some(Rotation::Rejected)
    })
    .await;
    let status = source.status();
    assert!(
        matches!(&status.last_error, Some(Error::Rejected(r)) if r.status() == 401),
        "{status:?}"
    );
    assert_eq!(status.token.map(|t| t.generation), Some(first.generation()));
    for _ in 0..10 {
        let token = source.token().await.unwrap();
        assert_eq!(token.access_token().secret(), first.access_token().secret());
    }
    // Half an hour on: still usable.
    ahead.skip(Duration::from_secs(1800));
    assert_eq!(
        source.token().await.unwrap().generation(),
        first.generation()
    );
    // An hour on: no token left; the error says why.
    ahead.skip(Duration::from_secs(1800));
    let err = source.token().await.unwrap_err();
    assert_eq!(err.kind(), TokenErrorKind::Failed);
    assert!(matches!(err.error(), Some(Error::Rejected(_))), "{err:?}");
    assert_eq!(err.retry_in(), None);
    let shown = err.to_string();
    assert!(
        shown.contains("rejected the new credentials given to `reconfigure`"),
        "{shown}"
    );
    assert!(!shown.contains(NEW_SECRET) && !shown.contains(DEMO_CLIENT_SECRET));
    assert_eq!(statuses(&zuora), [Some(200), Some(401)], "no retry");
}

/// A secret file changed between two token requests: the next request uses the new
/// secret (read before it is sent; the request made with the old one is never sent), and
/// the current token is kept until then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secret_file_is_read_again_before_each_token_request() {
    let zuora = zuora();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("client_secret");
    std::fs::write(&file, format!("{DEMO_CLIENT_SECRET}\n")).unwrap();
    let source = TokenSource::builder(request(&zuora, DEMO_CLIENT_SECRET), HyperTransport::new())
        .with_secret_file(&file)
        .build();
    let first = source.token().await.unwrap();
    assert!(zuora.rotate_secret(DEMO_CLIENT_ID, NEW_SECRET));
    std::fs::write(&file, format!("{NEW_SECRET}\r\nignored second line\n")).unwrap();
    // Nothing is read until a token request is due.
    assert_eq!(
        source.token().await.unwrap().generation(),
        first.generation()
    );
    assert_eq!(zuora.token_request_count(), 1);
    // The API refused the token: the next request reads the file first.
    assert!(source.invalidate(first.generation()));
    let second = source.token().await.unwrap();
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    assert_eq!(statuses(&zuora), [Some(200), Some(200)]);
    // A file that cannot be read keeps the last secret.
    std::fs::remove_file(&file).unwrap();
    assert!(source.invalidate(second.generation()));
    let third = source.token().await.unwrap();
    assert_ne!(third.generation(), second.generation());
    assert_eq!(statuses(&zuora), [Some(200), Some(200), Some(200)]);
}

/// Zuora rejects the secret the request carried, but the source had already changed: it is
/// read again at once after the rejection, and one request with the new secret follows
/// (without waiting for the periodic re-read). A secret that stays rejected is read again
/// every few seconds, and a fix is taken without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_secret_is_read_again_at_once_then_until_it_changes() {
    let zuora = zuora();
    let secret = Arc::new(Mutex::new(DEMO_CLIENT_SECRET.to_owned()));
    let reads = Arc::new(AtomicUsize::new(0));
    let source = TokenSource::builder(request(&zuora, DEMO_CLIENT_SECRET), HyperTransport::new())
        .with_secret_from({
            let (secret, reads) = (Arc::clone(&secret), Arc::clone(&reads));
            move || {
                reads.fetch_add(1, Ordering::SeqCst);
                ClientSecret::new(secret.lock().unwrap().clone())
            }
        })
        .build();
    let first = source.token().await.unwrap();
    assert_eq!(reads.load(Ordering::SeqCst), 1);
    // Zuora's secret changes; the source's changes while its request is on the way.
    assert!(zuora.rotate_secret(DEMO_CLIENT_ID, NEW_SECRET));
    zuora.push_fault(Fault::delay_headers(Duration::from_millis(500)));
    assert!(source.invalidate(first.generation()));
    let asked = Instant::now();
    let waiting = tokio::spawn({
        let source = source.clone();
        async move { source.token().await }
    });
    until("the read before the request", || {
        reads.load(Ordering::SeqCst) == 2
    })
    .await;
    *secret.lock().unwrap() = NEW_SECRET.to_owned();
    // The caller gets the rejection, or the new secret's token if the retry came first.
    if let Err(err) = waiting.await.unwrap() {
        assert!(matches!(err.error(), Some(Error::Rejected(_))), "{err}");
    }
    until("a token with the new secret", || {
        source.status().token.is_some()
    })
    .await;
    assert!(
        asked.elapsed() < RECHECK_EVERY - Duration::from_secs(1),
        "read again at once after the rejection (500 ms after the ask), not at the \
         periodic re-read"
    );
    assert_eq!(statuses(&zuora), [Some(200), Some(401), Some(200)]);
    let second = source.token().await.unwrap();
    // Rotated in Zuora again, and the source's secret is wrong for a while.
    assert!(zuora.rotate_secret(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET));
    assert!(source.invalidate(second.generation()));
    let err = source.token().await.unwrap_err();
    assert!(matches!(err.error(), Some(Error::Rejected(_))), "{err}");
    let reads_then = reads.load(Ordering::SeqCst);
    until("a read again", || reads.load(Ordering::SeqCst) > reads_then).await;
    assert_eq!(
        zuora.token_request_count(),
        4,
        "no request with an unchanged secret"
    );
    *secret.lock().unwrap() = DEMO_CLIENT_SECRET.to_owned();
    until("the fixed secret's token", || {
        source.status().token.is_some()
    })
    .await;
    assert_eq!(
        statuses(&zuora),
        [Some(200), Some(401), Some(200), Some(401), Some(200)]
    );
    // Rejected once more, and the source dropped meanwhile: the re-reads end with it.
    let third = source.token().await.unwrap();
    assert!(zuora.rotate_secret(DEMO_CLIENT_ID, NEW_SECRET));
    assert!(source.invalidate(third.generation()));
    source.token().await.unwrap_err();
    let reads_then = reads.load(Ordering::SeqCst);
    until("a read again", || reads.load(Ordering::SeqCst) > reads_then).await;
    drop(source);
    let reads_then = reads.load(Ordering::SeqCst);
    tokio::time::sleep(RECHECK_EVERY + Duration::from_secs(1)).await;
    assert_eq!(reads.load(Ordering::SeqCst), reads_then);
}
