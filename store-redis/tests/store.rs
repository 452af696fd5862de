//! The store against a real `redis-server` and the mock Zuora server, in one process: what
//! it stores, what it refuses to use, invalidation, round trips, ACL, TLS and a stalled
//! Redis. (The multi-process fleet is in `fleet.rs`.)

mod support;

use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use support::redis_server::RedisServer;
use zuora_oauth_core::{
    AccessToken, ClientId, ClientSecret, Environment, Token, TokenRecord, TokenRequest,
};
use zuora_oauth_driver::{
    BlockingTokenStore, StoreErrorKind, StoreOptions, TokenStore, TrustRoots,
};
use zuora_oauth_redis::{BlockingRedisStore, RedisStore};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

const OTHER_CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";

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

fn source(request: &TokenRequest, store: RedisStore) -> zuora_oauth_hyper::TokenSource {
    zuora_oauth_hyper::TokenSource::builder(request.clone())
        .store(store, StoreOptions::default())
        .build()
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

#[tokio::test]
async fn the_async_and_the_blocking_store_share_records_and_one_lease() {
    let redis = RedisServer::start();
    let zuora = zuora();
    let request = request(&zuora);
    let a = RedisStore::builder(redis.url()).build(&request).unwrap();
    let b = BlockingRedisStore::builder(redis.url())
        .build_blocking(&request)
        .unwrap();
    assert_eq!(a.record_key(), b.record_key());
    assert!(a.record_key().starts_with("zuora-oauth:{"));
    assert!(a.record_key().ends_with("}:token"));
    assert_eq!(a.lease_key(), a.record_key().replace(":token", ":lease"));

    assert_eq!(TokenStore::load(&a).await.unwrap(), None);
    let (l1, l2) = (support::lease(1), support::lease(2));
    assert!(a.try_lease(l1, Duration::from_secs(5)).await.unwrap());
    assert!(!BlockingTokenStore::try_lease(&b, l2, Duration::from_secs(5)).unwrap());

    let shared = record(
        "c652cbc0ea384b9f81856a93a2a74538",
        Duration::from_secs(3599),
    );
    TokenStore::save(&a, &shared, Duration::from_secs(60))
        .await
        .unwrap();
    let loaded = BlockingTokenStore::load(&b).unwrap().expect("the record");
    assert!(loaded.same_token(&shared));
    assert_eq!(loaded.expires_at(), shared.expires_at());
    // The record expires with the token; the save released the lease.
    let ttl: i64 = redis::cmd("PTTL")
        .arg(a.record_key())
        .query(&mut redis.connection())
        .unwrap();
    assert!((1..=60_000).contains(&ttl), "PTTL {ttl}");
    assert_eq!(get(&redis, a.lease_key()), None);
    TokenStore::release(&a, l1).await.unwrap();

    // Only the holder releases a lease.
    assert!(BlockingTokenStore::try_lease(&b, l2, Duration::from_secs(5)).unwrap());
    TokenStore::release(&a, l1).await.unwrap();
    assert!(get(&redis, a.lease_key()).is_some());
    BlockingTokenStore::release(&b, l2).unwrap();
    assert_eq!(get(&redis, a.lease_key()), None);
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

    let first = source(
        &request,
        RedisStore::builder(redis.url()).build(&request).unwrap(),
    );
    first.token().await.unwrap();
    let mut counts = command_counts(&redis);
    counts.sort();
    // Four round trips: GET (a miss), EVAL (take the lease), GET (the re-check as holder),
    // EVAL (save and release). Redis counts the scripts' own GET, SET and DEL too.
    let expected = [("del", 1), ("eval", 2), ("get", 2 + 1 + 1), ("set", 1 + 1)];
    assert_eq!(
        counts,
        expected.map(|(name, calls)| (name.to_owned(), calls))
    );
    assert_eq!(zuora.token_request_count(), 1);

    reset_counts(&redis);
    let second = source(
        &request,
        RedisStore::builder(redis.url()).build(&request).unwrap(),
    );
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
    let store = RedisStore::builder(redis.url()).build(&request).unwrap();
    let key = store.record_key().to_owned();

    // Valid records of someone else, copied under our key.
    let foreign = record(
        "0123456789abcdef0123456789abcdef",
        Duration::from_secs(3599),
    );
    let sealed_by = |request: &TokenRequest| {
        let other = BlockingRedisStore::builder(redis.url())
            .build_blocking(request)
            .unwrap();
        BlockingTokenStore::save(&other, &foreign, Duration::from_secs(60)).unwrap();
        get(&redis, other.record_key()).expect("the other store's record")
    };
    let other_secret = sealed_by(&request_for(
        &zuora,
        DEMO_CLIENT_ID,
        "rotated+S3cret/value=",
    ));
    let other_client = sealed_by(&request_for(&zuora, OTHER_CLIENT_ID, DEMO_CLIENT_SECRET));
    let other_label = {
        let other = BlockingRedisStore::builder(redis.url())
            .label("reporting")
            .build_blocking(&request)
            .unwrap();
        BlockingTokenStore::save(&other, &foreign, Duration::from_secs(60)).unwrap();
        get(&redis, other.record_key()).unwrap()
    };
    // One of ours, cut short.
    TokenStore::save(&store, &foreign, Duration::from_secs(60))
        .await
        .unwrap();
    let ours = get(&redis, &key).unwrap();
    assert!(TokenStore::load(&store).await.unwrap().is_some());
    let truncated = ours[..ours.len() - 5].to_vec();
    let mut flipped = ours.clone();
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
        assert_eq!(TokenStore::load(&store).await.unwrap(), None, "{what}");
        let blocking = BlockingRedisStore::builder(redis.url())
            .build_blocking(&request)
            .unwrap();
        assert_eq!(BlockingTokenStore::load(&blocking).unwrap(), None, "{what}");

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
        let now_shared = TokenStore::load(&store)
            .await
            .unwrap()
            .expect("a good record");
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
    let a = source(
        &request,
        RedisStore::builder(redis.url()).build(&request).unwrap(),
    );
    let b = source(
        &request,
        RedisStore::builder(redis.url()).build(&request).unwrap(),
    );
    let token = a.token().await.unwrap();
    assert_eq!(
        b.token().await.unwrap().access_token().secret(),
        token.access_token().secret()
    );
    // Hold a lease too, so that its key and value are scanned as well.
    let blocking = BlockingRedisStore::builder(redis.url())
        .build_blocking(&request)
        .unwrap();
    assert!(
        BlockingTokenStore::try_lease(&blocking, support::lease(1), Duration::from_secs(30))
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
    let store_a = RedisStore::builder(redis.url()).build(&request).unwrap();
    let store_b = RedisStore::builder(redis.url()).build(&request).unwrap();
    let key = store_a.record_key().to_owned();
    let a = source(&request, store_a.clone());
    let b = source(&request, store_b.clone());

    let old_a = a.token().await.unwrap();
    let old_b = b.token().await.unwrap();
    assert_eq!(old_a.access_token().secret(), old_b.access_token().secret());
    assert_eq!(zuora.token_request_count(), 1);
    let old_record = a.inspect(|lc| lc.token(a.now()).unwrap().record());

    // The API answers 401 to A: the shared record goes.
    let shared = get(&redis, &key);
    assert!(a.invalidate(old_a.generation()));
    wait_until_changed(&redis, &key, &shared).await;
    assert_eq!(get(&redis, &key), None);
    // Reported again (by anyone): nothing left to delete.
    assert!(!store_b.invalidate(&old_record).await.unwrap());

    // A fetches and shares a new token.
    let new_a = a.token().await.unwrap();
    assert_ne!(new_a.access_token().secret(), old_a.access_token().secret());
    assert_eq!(zuora.token_request_count(), 2);
    let new_shared = get(&redis, &key).expect("the new record");

    // B reports the old token: the new record stays, and B takes it from the store.
    assert!(!store_b.invalidate(&old_record).await.unwrap());
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
    let url = |user: &str| format!("redis://{user}@127.0.0.1:{}/", redis.port());
    let shared = record(
        "c652cbc0ea384b9f81856a93a2a74538",
        Duration::from_secs(3599),
    );

    let store = RedisStore::builder(url("fleet:Fl33t-Pa55"))
        .build(&request)
        .unwrap();
    TokenStore::save(&store, &shared, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(TokenStore::load(&store).await.unwrap().is_some());
    let blocking = BlockingRedisStore::builder(url("fleet:Fl33t-Pa55"))
        .build_blocking(&request)
        .unwrap();
    assert!(BlockingTokenStore::load(&blocking).unwrap().is_some());

    // Outside the user's key pattern: refused.
    let outside = RedisStore::builder(url("fleet:Fl33t-Pa55"))
        .key_prefix("elsewhere:")
        .build(&request)
        .unwrap();
    let error = TokenStore::load(&outside).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Other, "{error}");

    // A wrong password: unavailable, and the password is not in the error.
    let wrong = RedisStore::builder(url("fleet:Wr0ng-Pa55"))
        .build(&request)
        .unwrap();
    let error = TokenStore::load(&wrong).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    let blocking = BlockingRedisStore::builder(url("fleet:Wr0ng-Pa55"))
        .build_blocking(&request)
        .unwrap();
    let blocking_error = BlockingTokenStore::load(&blocking).unwrap_err();
    assert_eq!(blocking_error.kind(), StoreErrorKind::Unavailable);
    for text in [
        error.to_string(),
        format!("{error:?}"),
        blocking_error.to_string(),
        format!("{wrong:?}"),
        format!("{blocking:?}"),
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
    let shared = record(
        "c652cbc0ea384b9f81856a93a2a74538",
        Duration::from_secs(3599),
    );

    let store = RedisStore::builder(&url)
        .trust(trust.clone())
        .build(&request)
        .unwrap();
    TokenStore::save(&store, &shared, Duration::from_secs(60))
        .await
        .unwrap();
    let blocking = BlockingRedisStore::builder(&url)
        .trust(trust)
        .build_blocking(&request)
        .unwrap();
    let loaded = BlockingTokenStore::load(&blocking)
        .unwrap()
        .expect("the record");
    assert!(loaded.same_token(&shared));
    // The plain port has the same data: it went over TLS to the same server.
    assert!(get(&redis, store.record_key()).is_some());

    // Mozilla's roots do not include a self-signed certificate.
    let untrusted = RedisStore::builder(&url).build(&request).unwrap();
    let error = TokenStore::load(&untrusted).await.unwrap_err();
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
    let store = RedisStore::builder(redis.url())
        .timeout(Duration::from_millis(100))
        .build(&request)
        .unwrap();
    let blocking = BlockingRedisStore::builder(redis.url())
        .timeout(Duration::from_millis(100))
        .build_blocking(&request)
        .unwrap();
    // Connected before the stall.
    assert_eq!(TokenStore::load(&store).await.unwrap(), None);
    assert_eq!(BlockingTokenStore::load(&blocking).unwrap(), None);

    signal(&redis, "-STOP");
    let error = TokenStore::load(&store).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Timeout, "{error}");
    let blocking_for_thread = blocking.clone();
    let error = tokio::task::spawn_blocking(move || BlockingTokenStore::load(&blocking_for_thread))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Timeout, "{error}");
    // A new connection to a stalled server times out too (the kernel accepts it).
    let fresh = BlockingRedisStore::builder(redis.url())
        .timeout(Duration::from_millis(100))
        .build_blocking(&request)
        .unwrap();
    let error = tokio::task::spawn_blocking(move || BlockingTokenStore::load(&fresh))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Timeout, "{error}");

    // A source still gets its token, from Zuora.
    let source = source(&request, store.clone());
    source.token().await.unwrap();
    assert_eq!(zuora.token_request_count(), 1);
    assert!(source.store_failures() >= 1);

    signal(&redis, "-CONT");
    assert_eq!(TokenStore::load(&store).await.unwrap(), None);
    let blocking_for_thread = blocking.clone();
    tokio::task::spawn_blocking(move || BlockingTokenStore::load(&blocking_for_thread))
        .await
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn configuration_errors_name_no_url() {
    let zuora = zuora();
    let request = request(&zuora);
    let error = RedisStore::builder("redis://127.0.0.1/")
        .key_prefix("bad{prefix}")
        .build(&request)
        .unwrap_err();
    assert!(error.to_string().contains("prefix"), "{error}");
    for url in [
        "http://user:S3cr3t@example.com/",
        "redis://user:S3cr3t@[::1/",
    ] {
        let error = RedisStore::builder(url).build(&request).unwrap_err();
        assert!(!error.to_string().contains("S3cr3t"), "{error}");
    }
    let error = RedisStore::cluster_builder([
        "redis://a:S3cr3t@127.0.0.1:7000/",
        "redis://b:other@127.0.0.1:7001/",
    ])
    .build(&request)
    .unwrap_err();
    assert!(!error.to_string().contains("S3cr3t"), "{error}");
    // Outside a tokio runtime the async store cannot be built.
    let error = std::thread::spawn(move || {
        RedisStore::builder("redis://127.0.0.1/")
            .build(&request)
            .unwrap_err()
    })
    .join()
    .unwrap();
    assert!(error.to_string().contains("tokio"), "{error}");
}
