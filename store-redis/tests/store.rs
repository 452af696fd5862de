//! The store against a real `redis-server` and the mock Zuora server, in one process: what
//! it stores, what a source refuses to use, invalidation, round trips, ACL, TLS and a
//! stalled Redis. (The multi-process fleet is in `fleet.rs`.)

mod support;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use support::redis_server::RedisServer;
use zuora_oauth_core::{
    AccessToken, ClientId, ClientSecret, Environment, Token, TokenRecord, TokenRequest,
};
use zuora_oauth_driver::store::{Sealer, StoreCall, StoreErrorKind, TokenStore};
use zuora_oauth_driver::{BlockingTokenSource, TokenSource, TrustRoots};
use zuora_oauth_hyper::HyperTransport;
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};
use zuora_oauth_ureq::UreqTransport;

const OTHER_CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";

/// The bound of the store calls a test makes itself.
const CALL_TIMEOUT: Duration = Duration::from_secs(2);

fn zuora() -> MockServer {
    MockServer::builder()
        .without_rate_limit()
        .start()
        .expect("the mock Zuora server")
}

fn request_for(zuora: &MockServer, id: &str, secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(&zuora.base_url()).expect("the mock's URL"),
        ClientId::new(id).expect("a client ID"),
        ClientSecret::new(secret).expect("a secret"),
    )
}

fn request(zuora: &MockServer) -> TokenRequest {
    request_for(zuora, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
}

fn source(request: &TokenRequest, store: RedisStore) -> TokenSource {
    TokenSource::builder(request.clone(), HyperTransport::new())
        .with_store(store)
        .build()
}

/// The sealer a source of `request` uses (no label): its store key, and its records.
fn sealer(request: &TokenRequest) -> Sealer {
    Sealer::new(request, "")
}

/// A store call about `sealer`'s key, as a source makes it.
fn call(sealer: &Sealer) -> StoreCall<'_> {
    StoreCall::new(sealer.key(), CALL_TIMEOUT)
}

/// The Redis key of the record of `request`'s tokens in `store`.
fn record_key(store: &RedisStore, request: &TokenRequest) -> String {
    store.keys(sealer(request).key()).0
}

/// A record issued now (to the millisecond, as records keep times).
fn record(access_token: &str, lifetime: Duration) -> TokenRecord {
    let token = Token::new(AccessToken::new(access_token).expect("a token"), lifetime);
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_millis(since_epoch.as_millis() as u64);
    TokenRecord::new(&token, now)
}

fn get(redis: &RedisServer, key: &str) -> Option<Vec<u8>> {
    redis::cmd("GET")
        .arg(key)
        .query(&mut redis.connection())
        .expect("GET")
}

fn set(redis: &RedisServer, key: &str, value: &[u8]) {
    let () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .query(&mut redis.connection())
        .expect("SET");
}

/// Waits until `key` holds something other than `value` (a spawned task changed it).
async fn wait_until_changed(redis: &RedisServer, key: &str, value: &Option<Vec<u8>>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(redis, key) == *value {
        assert!(Instant::now() < deadline, "{key} did not change");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Two stores on one Redis (two processes, say) name the same keys for one source's key,
/// share its records, and share one lease that only its holder releases.
#[test]
fn two_stores_share_records_and_one_lease() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    let sealer = sealer(&request);
    let call = call(&sealer);
    let a = RedisStore::at(redis.url()).unwrap();
    let b = RedisStore::at(redis.url()).unwrap();
    let (record_key, lease_key) = a.keys(sealer.key());
    assert_eq!(
        b.keys(sealer.key()),
        (record_key.clone(), lease_key.clone())
    );
    assert!(record_key.starts_with("zuora-oauth:{"), "{record_key}");
    assert!(record_key.ends_with("}:token"), "{record_key}");
    assert_eq!(lease_key, record_key.replace(":token", ":lease"));

    assert_eq!(a.load(&call).unwrap(), None);
    let (l1, l2) = (support::lease(1), support::lease(2));
    assert!(a.try_lease(&call, l1, Duration::from_secs(5)).unwrap());
    assert!(
        a.try_lease(&call, l1, Duration::from_secs(5)).unwrap(),
        "a retried call for the lease it holds"
    );
    assert!(!b.try_lease(&call, l2, Duration::from_secs(5)).unwrap());

    let shared = record(
        "c652cbc0ea384b9f81856a93a2a74538",
        Duration::from_secs(3599),
    );
    let sealed = sealer.seal(&shared).unwrap();
    a.save(&call, &sealed, Duration::from_secs(60), Some(l1))
        .unwrap();
    let loaded = b.load(&call).unwrap().expect("the record");
    assert_eq!(loaded, sealed);
    let opened = sealer.open(&loaded).expect("a record of ours");
    assert!(opened.same_token(&shared));
    assert_eq!(opened.expires_at(), shared.expires_at());
    // The record expires with the token; the save released the lease.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&record_key)
        .query(&mut redis.connection())
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
    assert_eq!(get(&redis, &lease_key), None);
    a.release(&call, l1).unwrap();

    // Only the holder releases a lease, alone or with a save.
    assert!(b.try_lease(&call, l2, Duration::from_secs(5)).unwrap());
    a.release(&call, l1).unwrap();
    assert!(get(&redis, &lease_key).is_some());
    a.save(&call, &sealed, Duration::from_secs(60), Some(l1))
        .unwrap();
    assert!(get(&redis, &lease_key).is_some());
    b.release(&call, l2).unwrap();
    assert_eq!(get(&redis, &lease_key), None);

    // A compare-and-delete deletes only the exact value it read.
    assert!(!a.delete_if(&call, b"another value").unwrap());
    assert!(get(&redis, &record_key).is_some());
    assert!(b.delete_if(&call, &sealed).unwrap());
    assert_eq!(get(&redis, &record_key), None);
    assert!(
        !a.delete_if(&call, &sealed).unwrap(),
        "nothing left to delete"
    );
}

/// An async source (hyper on tokio) and a blocking one (ureq) with the same credentials,
/// each with its own store on one Redis, share one token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_and_a_blocking_source_share_one_token() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    let async_source = source(&request, RedisStore::at(redis.url()).unwrap());
    let blocking_source = BlockingTokenSource::builder(request.clone(), UreqTransport::new())
        .with_store(RedisStore::at(redis.url()).unwrap())
        .build();

    let token = async_source.token().await.unwrap();
    let blocking = tokio::task::spawn_blocking(move || blocking_source.token())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        blocking.access_token().secret(),
        token.access_token().secret()
    );
    assert_eq!(zuora.token_request_count(), 1);

    // And the other way round, for another client: the blocking source fetches, the async
    // one takes its token from Redis.
    zuora.add_client(OTHER_CLIENT_ID, DEMO_CLIENT_SECRET);
    let other = request_for(&zuora, OTHER_CLIENT_ID, DEMO_CLIENT_SECRET);
    let blocking_source = BlockingTokenSource::builder(other.clone(), UreqTransport::new())
        .with_store(RedisStore::at(redis.url()).unwrap())
        .build();
    let blocking = tokio::task::spawn_blocking(move || blocking_source.token())
        .await
        .unwrap()
        .unwrap();
    let async_source = source(&other, RedisStore::at(redis.url()).unwrap());
    let token = async_source.token().await.unwrap();
    assert_eq!(
        token.access_token().secret(),
        blocking.access_token().secret()
    );
    assert_eq!(zuora.token_request_count(), 2);
}

/// One store serves sources of several clients, each with its own token under its own key;
/// a reconfigured source (another client, a rotated secret) moves to its new credentials'
/// key, and shares its new token there.
#[tokio::test]
async fn one_store_serves_many_clients_each_its_own_token() {
    let redis = RedisServer::start();
    let zuora = zuora();
    zuora.add_client(OTHER_CLIENT_ID, DEMO_CLIENT_SECRET);
    let (ours, theirs) = (
        request(&zuora),
        request_for(&zuora, OTHER_CLIENT_ID, DEMO_CLIENT_SECRET),
    );
    let store = RedisStore::at(redis.url()).unwrap();
    let a = source(&ours, store.clone());
    let b = source(&theirs, store.clone());
    let (token_a, token_b) = (a.token().await.unwrap(), b.token().await.unwrap());
    assert_ne!(
        token_a.access_token().secret(),
        token_b.access_token().secret()
    );
    assert_eq!(zuora.token_request_count(), 2);
    assert_ne!(record_key(&store, &ours), record_key(&store, &theirs));

    // A moves to the other client: it takes that client's token from Redis.
    a.reconfigure(theirs.clone());
    let moved = a.token().await.unwrap();
    assert_eq!(
        moved.access_token().secret(),
        token_b.access_token().secret()
    );
    assert_eq!(zuora.token_request_count(), 2);
    // The first client's record is still its own (saved in the background once its token
    // was handed out).
    let ours_key = record_key(&store, &ours);
    wait_until_changed(&redis, &ours_key, &None).await;
    let kept = get(&redis, &ours_key).expect("the first client's record");
    let kept = sealer(&ours)
        .open(&kept)
        .expect("a record of the first client");
    assert_eq!(
        kept.to_token().access_token().secret(),
        token_a.access_token().secret()
    );
    assert_eq!(a.status().store_failures, 0);
}

/// Redis's count of each command since `CONFIG RESETSTAT`.
fn command_counts(redis: &RedisServer) -> Vec<(String, u64)> {
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut redis.connection())
        .unwrap();
    info.lines()
        .filter_map(|l| {
            let (name, stats) = l.strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = stats
                .strip_prefix("calls=")?
                .split(',')
                .next()?
                .parse()
                .ok()?;
            Some((name.to_owned(), calls))
        })
        .filter(|(name, _)| !name.starts_with("info") && !name.starts_with("config"))
        .collect()
}

fn reset_counts(redis: &RedisServer) {
    let () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut redis.connection())
        .unwrap();
}

#[tokio::test]
async fn a_fetch_costs_four_round_trips_and_a_shared_hit_one() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    reset_counts(&redis);

    let first = source(&request, RedisStore::at(redis.url()).unwrap());
    first.token().await.unwrap();
    // Four round trips: GET (a miss), EVAL (take the lease: GET, SET PX), GET (the re-check
    // as holder), EVAL (save and release: SET PX, GET, DEL). Redis counts the scripts' own
    // commands too. The save and release follow the token's hand-over (the caller does not
    // wait for them): counted once they are done.
    let expected = [("del", 1), ("eval", 2), ("get", 2 + 2), ("set", 1 + 1)]
        .map(|(name, calls)| (name.to_owned(), calls));
    let deadline = Instant::now() + Duration::from_secs(10);
    let counts = loop {
        let mut counts = command_counts(&redis);
        counts.sort();
        if counts == expected || Instant::now() > deadline {
            break counts;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(counts, expected);
    assert_eq!(zuora.token_request_count(), 1);

    reset_counts(&redis);
    let second = source(&request, RedisStore::at(redis.url()).unwrap());
    second.token().await.unwrap();
    assert_eq!(command_counts(&redis), [("get".to_owned(), 1)]);
    assert_eq!(zuora.token_request_count(), 1);
}

#[tokio::test]
async fn records_that_do_not_open_are_misses_never_used() {
    let redis = RedisServer::start();
    let zuora = zuora();
    zuora.add_client(OTHER_CLIENT_ID, DEMO_CLIENT_SECRET);
    let request = request(&zuora);
    let ours = sealer(&request);
    let store = RedisStore::at(redis.url()).unwrap();
    let key = record_key(&store, &request);

    // Valid records of someone else, copied under our key.
    let foreign = record(
        "0123456789abcdef0123456789abcdef",
        Duration::from_secs(3599),
    );
    let sealed_by = |sealer: Sealer| sealer.seal(&foreign).unwrap();
    let other_secret = sealed_by(sealer(&request_for(
        &zuora,
        DEMO_CLIENT_ID,
        "rotated+S3cret/value=",
    )));
    let other_client = sealed_by(sealer(&request_for(
        &zuora,
        OTHER_CLIENT_ID,
        DEMO_CLIENT_SECRET,
    )));
    let other_label = sealed_by(Sealer::new(&request, "reporting"));
    // One of ours, cut short or tampered with.
    let good = ours.seal(&foreign).unwrap();
    assert!(ours.open(&good).is_some());
    let truncated = good[..good.len() - 5].to_vec();
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0x80;

    let cases: [(&str, Vec<u8>); 7] = [
        ("garbage", b"not a record at all".to_vec()),
        ("empty", Vec::new()),
        ("truncated", truncated),
        ("tampered", flipped),
        ("sealed under another secret", other_secret),
        ("sealed for another client ID", other_client),
        ("sealed for another label", other_label),
    ];
    for (what, value) in cases {
        set(&redis, &key, &value);
        // What the store hands back is what Redis holds, and it does not open.
        let loaded = store.load(&call(&ours)).unwrap().unwrap_or_default();
        assert_eq!(loaded, value, "{what}");
        assert!(ours.open(&loaded).is_none(), "{what}");

        // A source fetches its own token, and replaces the bad record with it.
        let before = zuora.token_request_count();
        let source = source(&request, store.clone());
        let token = source.token().await.unwrap();
        assert_eq!(zuora.token_request_count(), before + 1, "{what}");
        let issued = zuora.issued_tokens().last().unwrap().access_token.clone();
        assert_eq!(token.access_token().secret(), issued, "{what}");
        assert_ne!(
            token.access_token().secret(),
            "0123456789abcdef0123456789abcdef"
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        let now_shared = loop {
            // Saved in the background once the token is handed out.
            let value = get(&redis, &key).unwrap_or_default();
            if let Some(record) = ours.open(&value) {
                break record;
            }
            assert!(Instant::now() < deadline, "{what}: the bad record stayed");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        assert_eq!(
            now_shared.to_token().access_token().secret(),
            issued,
            "{what}"
        );
    }
}

/// Every form a secret could take in Redis: raw, hex, base64 (any alignment, either
/// alphabet) and form-encoded.
fn encodings(secret: &str) -> Vec<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let bytes = secret.as_bytes();
    let mut out = vec![
        bytes.to_vec(),
        bytes
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
            .into_bytes(),
        bytes
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
            .into_bytes(),
    ];
    let form: String = bytes
        .iter()
        .map(|&b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    out.push(form.clone().into_bytes());
    out.push(form.to_lowercase().into_bytes());
    // In a base64 blob the secret may start at any byte: the characters that depend on
    // its bytes alone, for each of the three alignments.
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for offset in 0..3usize {
            let mut shifted = vec![0u8; offset];
            shifted.extend_from_slice(bytes);
            let encoded = engine.encode(&shifted);
            let first = (offset * 8).div_ceil(6);
            let last = (shifted.len() * 8) / 6;
            out.push(encoded.as_bytes()[first..last].to_vec());
        }
    }
    out
}

/// Every key and string value in Redis.
fn everything(redis: &RedisServer) -> Vec<Vec<u8>> {
    let mut connection = redis.connection();
    let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut connection).unwrap();
    let mut out = keys.clone();
    for key in keys {
        let value: Option<Vec<u8>> = redis::cmd("GET").arg(&key).query(&mut connection).unwrap();
        out.extend(value);
    }
    out
}

#[tokio::test]
async fn redis_holds_neither_the_token_nor_the_client_id_nor_the_secret() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    let a = source(&request, RedisStore::at(redis.url()).unwrap());
    let b = source(&request, RedisStore::at(redis.url()).unwrap());
    let token = a.token().await.unwrap();
    assert_eq!(
        b.token().await.unwrap().access_token().secret(),
        token.access_token().secret()
    );
    // Hold a lease too, so that its key and value are scanned as well.
    let sealer = sealer(&request);
    let store = RedisStore::at(redis.url()).unwrap();
    assert!(
        store
            .try_lease(&call(&sealer), support::lease(1), Duration::from_secs(30))
            .unwrap()
    );

    // The scan finds a secret that is there, in any of these forms.
    {
        use base64::Engine as _;
        let blob = [&b"x"[..], DEMO_CLIENT_SECRET.as_bytes(), b"yz"].concat();
        let encoded = base64::engine::general_purpose::URL_SAFE.encode(&blob);
        assert!(encodings(DEMO_CLIENT_SECRET).iter().any(|n| {
            encoded
                .as_bytes()
                .windows(n.len())
                .any(|w| w == n.as_slice())
        }));
    }
    let contents = everything(&redis);
    assert_eq!(contents.len(), 4, "two keys, two values");
    let mut secrets = vec![
        DEMO_CLIENT_ID.to_owned(),
        DEMO_CLIENT_ID.replace('-', ""),
        DEMO_CLIENT_SECRET.to_owned(),
    ];
    secrets.extend(zuora.issued_tokens().into_iter().map(|t| t.access_token));
    for secret in &secrets {
        for needle in encodings(secret) {
            for item in &contents {
                assert!(
                    !item.windows(needle.len()).any(|w| w == needle.as_slice()),
                    "a form of a secret is readable in Redis"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_401_deletes_the_shared_record_once_and_never_a_newer_one() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    let sealer = sealer(&request);
    let store_a = RedisStore::at(redis.url()).unwrap();
    let store_b = RedisStore::at(redis.url()).unwrap();
    let key = record_key(&store_a, &request);
    let a = source(&request, store_a.clone());
    let b = source(&request, store_b.clone());

    let old_a = a.token().await.unwrap();
    let old_b = b.token().await.unwrap();
    assert_eq!(old_a.access_token().secret(), old_b.access_token().secret());
    assert_eq!(zuora.token_request_count(), 1);

    // The API answers 401 to A: the shared record goes.
    let shared = get(&redis, &key);
    let old_value = shared.clone().expect("the shared record");
    assert!(sealer.open(&old_value).unwrap().same_token(&old_a.record()));
    assert!(a.invalidate(old_a.generation()));
    wait_until_changed(&redis, &key, &shared).await;
    assert_eq!(get(&redis, &key), None);
    // Reported again (by anyone): nothing left to delete.
    assert!(!store_b.delete_if(&call(&sealer), &old_value).unwrap());

    // A fetches and shares a new token.
    let new_a = a.token().await.unwrap();
    assert_ne!(new_a.access_token().secret(), old_a.access_token().secret());
    assert_eq!(zuora.token_request_count(), 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    let new_shared = loop {
        // Saved in the background once the token is handed out.
        if let Some(value) = get(&redis, &key) {
            break value;
        }
        assert!(Instant::now() < deadline, "the new token was not shared");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert!(
        sealer
            .open(&new_shared)
            .unwrap()
            .same_token(&new_a.record())
    );

    // B reports the old token: the new record stays, and B takes it from the store.
    assert!(!store_b.delete_if(&call(&sealer), &old_value).unwrap());
    assert!(b.invalidate(old_b.generation()));
    let new_b = b.token().await.unwrap();
    assert_eq!(new_b.access_token().secret(), new_a.access_token().secret());
    assert_eq!(get(&redis, &key), Some(new_shared));
    assert_eq!(
        zuora.token_request_count(),
        2,
        "one new token request in all"
    );
}

#[tokio::test]
async fn an_acl_user_from_the_url_and_its_key_pattern() {
    let redis = RedisServer::start();
    let () = redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                "fleet",
                "on",
                ">Fl33t-Pa55",
                "~zuora-oauth:*",
                "+@all",
            ][..],
        )
        .query(&mut redis.connection())
        .unwrap();
    let zuora = zuora();
    let request = request(&zuora);
    let sealer = sealer(&request);
    let call = call(&sealer);
    let url = |user: &str| format!("redis://{user}@127.0.0.1:{}/", redis.port());
    let shared = sealer
        .seal(&record(
            "c652cbc0ea384b9f81856a93a2a74538",
            Duration::from_secs(3599),
        ))
        .unwrap();

    let store = RedisStore::at(url("fleet:Fl33t-Pa55")).unwrap();
    store
        .save(&call, &shared, Duration::from_secs(60), None)
        .unwrap();
    assert_eq!(store.load(&call).unwrap(), Some(shared.clone()));
    // A source with that store shares its token through it.
    let source = source(&request, store.clone());
    source.token().await.unwrap();
    assert_eq!(source.status().store_failures, 0);

    // Outside the user's key pattern: refused.
    let outside = RedisStore::builder(url("fleet:Fl33t-Pa55"))
        .with_key_prefix("elsewhere:")
        .build()
        .unwrap();
    let error = outside.load(&call).unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Other, "{error}");

    // A wrong password: unavailable, and the password is not in the error.
    let wrong = RedisStore::at(url("fleet:Wr0ng-Pa55")).unwrap();
    let error = wrong.load(&call).unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    for text in [
        error.to_string(),
        format!("{error:?}"),
        format!("{wrong:?}"),
        format!("{:?}", RedisStore::builder(url("fleet:Wr0ng-Pa55"))),
    ] {
        assert!(!text.contains("Pa55"), "{text}");
    }
}

/// A self-signed certificate for 127.0.0.1: (certificate PEM, key PEM).
fn certificate() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let certificate = params.self_signed(&key).unwrap();
    (certificate.pem(), key.serialize_pem())
}

#[tokio::test]
async fn rediss_with_rustls_and_the_roots_you_trust() {
    let (cert, key) = certificate();
    let redis = RedisServer::start_with(|dir| {
        std::fs::write(dir.join("cert.pem"), &cert).unwrap();
        std::fs::write(dir.join("key.pem"), &key).unwrap();
        let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
        let tls_port = support::redis_server::free_port().to_string();
        vec![
            "--tls-port".into(),
            tls_port,
            "--tls-cert-file".into(),
            path("cert.pem"),
            "--tls-key-file".into(),
            path("key.pem"),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
    });
    let tls_port = redis
        .args()
        .windows(2)
        .find(|w| w[0] == "--tls-port")
        .map(|w| w[1].clone())
        .unwrap();
    let url = format!("rediss://127.0.0.1:{tls_port}/");
    let zuora = zuora();
    let request = request(&zuora);
    let trust = TrustRoots::empty().with_pem(&cert).unwrap();
    let sealer = sealer(&request);
    let call = call(&sealer);
    let shared = record(
        "c652cbc0ea384b9f81856a93a2a74538",
        Duration::from_secs(3599),
    );

    let store = RedisStore::builder(&url)
        .with_trust(trust.clone())
        .build()
        .unwrap();
    store
        .save(
            &call,
            &sealer.seal(&shared).unwrap(),
            Duration::from_secs(60),
            None,
        )
        .unwrap();
    let other = RedisStore::builder(&url).with_trust(trust).build().unwrap();
    let loaded = other.load(&call).unwrap().expect("the record");
    assert!(sealer.open(&loaded).unwrap().same_token(&shared));
    // The plain port has the same data: it went over TLS to the same server.
    assert!(get(&redis, &record_key(&store, &request)).is_some());
    // A source over TLS takes the token from there.
    let source = source(&request, other);
    let token = source.token().await.unwrap();
    assert_eq!(
        token.access_token().secret(),
        "c652cbc0ea384b9f81856a93a2a74538"
    );
    assert_eq!(zuora.token_request_count(), 0);

    // Mozilla's roots do not include a self-signed certificate.
    let untrusted = RedisStore::at(&url).unwrap();
    let error = untrusted.load(&call).unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
}

fn signal(redis: &RedisServer, signal: &str) {
    let status = Command::new("kill")
        .args([signal, &redis.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_times_out_and_tokens_still_flow() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    let timeout = Duration::from_millis(100);
    let store = RedisStore::at(redis.url()).unwrap();
    // A store call bounded as a source with `with_store_timeout(100 ms)` bounds it.
    let load = |store: &RedisStore| {
        let store = store.clone();
        let key = sealer(&request).key().to_owned();
        tokio::task::spawn_blocking(move || store.load(&StoreCall::new(&key, timeout)))
    };
    // Connected before the stall.
    assert_eq!(load(&store).await.unwrap().unwrap(), None);

    signal(&redis, "-STOP");
    let error = load(&store).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Timeout, "{error}");
    // A new connection to a stalled server times out too (the kernel accepts it).
    let fresh = RedisStore::at(redis.url()).unwrap();
    let error = load(&fresh).await.unwrap().unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Timeout, "{error}");

    // A source still gets its token, from Zuora.
    let source = TokenSource::builder(request.clone(), HyperTransport::new())
        .with_store(store.clone())
        .with_store_timeout(timeout)
        .build();
    source.token().await.unwrap();
    assert_eq!(zuora.token_request_count(), 1);
    assert!(source.status().store_failures >= 1);

    signal(&redis, "-CONT");
    assert_eq!(load(&store).await.unwrap().unwrap(), None);
    load(&fresh).await.unwrap().unwrap();
}

#[test]
fn configuration_errors_name_no_url() {
    let error = RedisStore::builder("redis://127.0.0.1/")
        .with_key_prefix("bad{prefix}")
        .build()
        .unwrap_err();
    assert!(error.to_string().contains("prefix"), "{error}");
    for url in [
        "http://user:S3cr3t@example.com/",
        "redis://user:S3cr3t@[::1/",
    ] {
        let error = RedisStore::at(url).unwrap_err();
        assert!(!error.to_string().contains("S3cr3t"), "{error}");
    }
    let error = RedisStore::cluster([
        "redis://a:S3cr3t@127.0.0.1:7000/",
        "redis://b:other@127.0.0.1:7001/",
    ])
    .unwrap_err();
    assert!(!error.to_string().contains("S3cr3t"), "{error}");
    // The store needs no runtime: it is built, and answers, outside any.
    let redis = RedisServer::start();
    let store = RedisStore::at(redis.url()).unwrap();
    let key = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        store.load(&StoreCall::new(key, CALL_TIMEOUT)).unwrap(),
        None
    );
}
