//! Rotation without restart, the whole sequence, against a real `redis-server` and the
//! mock Zuora (whose secret is rotated too): two processes' sources — one async (hyper),
//! one blocking (ureq), each with its own Redis connection — share one token; the secret
//! is rotated in Zuora and in the secret file both read; both keep serving the current
//! token, then at the next refresh read the new secret, move to its Redis key and share
//! one new token (one token request); a wrong secret in the file is rejected, named as a
//! rotation, while the current token is served until it is no longer usable.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use support::redis_server::RedisServer;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, Rotation, TokenRequest};
use zuora_oauth_driver::store::Sealer;
use zuora_oauth_driver::{BlockingTokenSource, Clock, Status, TokenSource};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Fault, MockServer};
use zuora_oauth_ureq::UreqTransport;

const NEW_SECRET: &str = "r0tated+Zu0ra/S3cret=Tw0";
const WRONG_SECRET: &str = "r0tated+Zu0ra/S3cret=Tw0-typo";

/// How long the test waits for background work (far above what it takes).
const PATIENCE: Duration = Duration::from_secs(30);

fn request(zuora: &MockServer, secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).unwrap(),
        ClientId::new(DEMO_CLIENT_ID).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

/// The Redis key of `request`'s record (sources without a label).
fn record_key(store: &RedisStore, request: &TokenRequest) -> String {
    store.keys(Sealer::new(request, "").key()).0
}

fn get(redis: &RedisServer, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut redis.connection())
        .unwrap()
}

fn write_secret(file: &Path, secret: &str) {
    std::fs::write(file, format!("{secret}\n")).unwrap();
}

/// A monotonic clock the test moves forward (the wall clock stays true: Redis's TTLs and
/// the mock's `Date` are real), shared by both processes.
#[derive(Clone, Default)]
struct Ahead(Arc<AtomicU64>);

impl Ahead {
    fn clock(&self) -> Clock {
        let (started, ahead) = (Instant::now(), Arc::clone(&self.0));
        Clock::new(
            move || started.elapsed() + Duration::from_secs(ahead.load(Ordering::SeqCst)),
            SystemTime::now,
        )
    }

    fn skip(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

fn until(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "never: {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn generation(status: &Status) -> Option<u64> {
    status.token.map(|t| t.generation.get())
}

#[test]
fn a_rotated_secret_is_taken_without_a_restart_and_shared_through_redis() {
    let redis = RedisServer::start();
    let zuora = MockServer::builder().without_rate_limit().start().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zuora_client_secret");
    write_secret(&file, DEMO_CLIENT_SECRET);
    let ahead = Ahead::default();
    let store = RedisStore::at(redis.url()).unwrap();
    let a = TokenSource::builder(request(&zuora, DEMO_CLIENT_SECRET), HyperTransport::new())
        .with_store(RedisStore::at(redis.url()).unwrap())
        .with_secret_file(&file)
        .with_clock(ahead.clock())
        .build();
    let b = BlockingTokenSource::builder(request(&zuora, DEMO_CLIENT_SECRET), UreqTransport::new())
        .with_store(RedisStore::at(redis.url()).unwrap())
        .with_secret_file(&file)
        .with_clock(ahead.clock())
        .build();
    let a_token = || runtime.block_on(a.token());
    let secret_of = |t: &zuora_oauth_driver::TokenHandle| t.access_token().secret().to_owned();

    // 1. One token for both processes, through Redis.
    let old = a_token().unwrap();
    assert_eq!(secret_of(&b.token().unwrap()), secret_of(&old));
    assert_eq!(zuora.token_request_count(), 1);
    let old_key = record_key(&store, &request(&zuora, DEMO_CLIENT_SECRET));
    let old_record = get(&redis, &old_key).expect("the shared record");

    // 2. The secret is regenerated in Zuora and written to the file: both keep serving the
    //    current token (still valid), without a request.
    assert!(zuora.rotate_secret(DEMO_CLIENT_ID, NEW_SECRET));
    write_secret(&file, NEW_SECRET);
    for _ in 0..5 {
        assert_eq!(secret_of(&a_token().unwrap()), secret_of(&old));
        assert_eq!(secret_of(&b.token().unwrap()), secret_of(&old));
    }
    assert_eq!(zuora.token_request_count(), 1);

    // 3. The next refresh (an hour less 200 s later): each process reads the file, moves to
    //    the new secret's key, and keeps serving the current token until the new one is
    //    in; the fleet fetches it once.
    //    (Zuora takes 2 s to answer, so that the processes are seen waiting for it.)
    zuora.push_fault(Fault::delay_headers(Duration::from_secs(2)));
    let (a_old, b_old) = (generation(&a.status()), generation(&b.status()));
    ahead.skip(3400);
    assert_eq!(secret_of(&a_token().unwrap()), secret_of(&old));
    until("A switched to the new secret", || {
        a.status().rotation == Some(Rotation::Pending)
    });
    assert_eq!(secret_of(&a_token().unwrap()), secret_of(&old));
    assert_eq!(secret_of(&b.token().unwrap()), secret_of(&old));
    until("B switched to the new secret", || {
        b.status().rotation == Some(Rotation::Pending)
    });
    assert_eq!(secret_of(&b.token().unwrap()), secret_of(&old));
    assert_eq!(secret_of(&a_token().unwrap()), secret_of(&old));
    until("both processes hold the new secret's token", || {
        let (sa, sb) = (a.status(), b.status());
        generation(&sa) > a_old
            && generation(&sb) > b_old
            && sa.rotation.is_none()
            && sb.rotation.is_none()
    });
    let new = a_token().unwrap();
    assert_ne!(secret_of(&new), secret_of(&old));
    assert_eq!(secret_of(&b.token().unwrap()), secret_of(&new));
    let statuses: Vec<_> = zuora.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(200)], "one request per secret");
    // Never mixed in Redis: the new token under the new secret's key, sealed with it; the
    // old record under the old key, which the new secret neither derives nor opens.
    let new_request = request(&zuora, NEW_SECRET);
    let new_key = record_key(&store, &new_request);
    assert_ne!(new_key, old_key);
    let new_record = get(&redis, &new_key).expect("the new shared record");
    let opened = Sealer::new(&new_request, "").open(&new_record).unwrap();
    assert_eq!(opened.to_token().access_token().secret(), secret_of(&new));
    assert_eq!(get(&redis, &old_key), Some(old_record.clone()));
    assert!(Sealer::new(&new_request, "").open(&old_record).is_none());
    assert_eq!(a.status().store_failures + b.status().store_failures, 0);

    // 4. A typo in the file: the next refresh is rejected. The current token is still
    //    served, the rejection shows at once, and once the token is no longer usable the
    //    error names the rotation.
    write_secret(&file, WRONG_SECRET);
    ahead.skip(3400);
    assert_eq!(secret_of(&a_token().unwrap()), secret_of(&new));
    until("the rejection", || {
        a.status().rotation == Some(Rotation::Rejected)
    });
    for _ in 0..5 {
        assert_eq!(secret_of(&a_token().unwrap()), secret_of(&new));
    }
    let statuses: Vec<_> = zuora.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(200), Some(401)]);
    ahead.skip(300);
    let err = a_token().unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("rejected the new credentials given to `reconfigure`"),
        "{shown}"
    );
    assert!(!shown.contains(WRONG_SECRET));
    assert_eq!(
        zuora.token_request_count(),
        3,
        "no retry of a rejected secret"
    );
    assert_eq!(
        get(&redis, &record_key(&store, &request(&zuora, WRONG_SECRET))),
        None
    );
}
