//! `--cache`: reuse across runs by the library's refresh rule, the file's safety (sealed:
//! no readable token, bound to the secret), recovery from bad files, `--refresh`, one
//! request for many concurrent runs, a dead lock holder.
//!
//! The tests read and edit the files as a library process with the same credentials
//! could: through the driver's [`Sealer`](zuora_oauth_driver::store::Sealer).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;
use zuora_oauth_core::{AccessToken, Token, TokenRecord};
use zuora_oauth_testkit::{Fault, MockServer};

use crate::helpers::{
    CACHE_FORMAT, CLIENT_ID, Cli, Home, Outcome, SECRET, assert_no_spelling, cache_value,
    mock_sealer, read_cache_record, sealer_for, sealer_of, server, write_cache_record,
    write_cache_value,
};

fn cached_run(home: &Home, server: &MockServer) -> String {
    home.cli()
        .against(server)
        .arg("--cache")
        .run()
        .token()
        .to_owned()
}

fn only_cache_file(home: &Home) -> PathBuf {
    let files = home.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

/// The lock file next to `file`.
fn lock_file(file: &std::path::Path) -> PathBuf {
    file.with_extension("lock")
}

/// The record saved for runs against `server` (with [`CLIENT_ID`] and [`SECRET`]), opened
/// as a library process with the same credentials would.
#[track_caller]
fn saved_record(home: &Home, server: &MockServer) -> TokenRecord {
    let sealer = sealer_for(server);
    assert_eq!(only_cache_file(home), home.cache_file(&sealer));
    read_cache_record(&home.cache_file(&sealer), &sealer).expect("the saved record opens")
}

/// The access token saved for runs against `server`.
#[track_caller]
fn saved_token(home: &Home, server: &MockServer) -> String {
    saved_record(home, server)
        .to_token()
        .access_token()
        .secret()
        .to_owned()
}

/// Makes the token saved for runs against `server` `secs` older, as if it had been saved
/// that much earlier: opened, changed and sealed back with the run's credentials.
fn age_saved_token(home: &Home, server: &MockServer, secs: u64) {
    let sealer = sealer_for(server);
    let file = home.cache_file(&sealer);
    let record = read_cache_record(&file, &sealer).expect("the saved record opens");
    let mut v = serde_json::to_value(&record).unwrap();
    for field in ["issued_at_ms", "expires_at_ms"] {
        let ms = v[field].as_u64().expect("a time in ms");
        v[field] = (ms - secs * 1000).into();
    }
    let aged: TokenRecord = serde_json::from_value(v).unwrap();
    write_cache_record(&file, &sealer, &aged);
}

/// A record of a token the test server never issued, issued now for an hour.
fn planted_record(access_token: &str) -> TokenRecord {
    TokenRecord::new(
        &Token::new(
            AccessToken::new(access_token).unwrap(),
            Duration::from_secs(3599),
        ),
        SystemTime::now(),
    )
}

fn server_with_lifetime(secs: u64) -> MockServer {
    MockServer::builder()
        .client(CLIENT_ID, SECRET)
        .token_lifetime(Duration::from_secs(secs))
        .start()
        .unwrap()
}

#[test]
fn a_second_run_reuses_the_token_without_a_request() {
    let server = server();
    let home = Home::new();
    let fetched = home
        .cli()
        .against(&server)
        .args(["--cache", "--format", "json"])
        .run();
    let fetched: Value = serde_json::from_str(fetched.success().trim_end()).unwrap();
    let first = fetched["access_token"].as_str().unwrap().to_owned();
    assert_eq!(cached_run(&home, &server), first);
    assert_eq!(server.token_request_count(), 1);

    // Every format works from the cache, JSON with the same fields, less the request ID,
    // which belongs to a response this run did not get.
    let json = home
        .cli()
        .against(&server)
        .args(["--cache", "--format", "json"])
        .run();
    let v: Value = serde_json::from_str(json.success().trim_end()).unwrap();
    for field in [
        "access_token",
        "token_type",
        "expires_in",
        "expires_at",
        "scope",
        "jti",
    ] {
        assert_eq!(v[field], fetched[field], "{field}");
    }
    assert!(fetched["request_id"].is_string());
    assert!(v.get("request_id").is_none(), "{v}");
    let header = home
        .cli()
        .against(&server)
        .args(["--cache", "--format", "header"])
        .run();
    assert_eq!(header.success(), format!("Authorization: Bearer {first}\n"));
    assert_eq!(server.token_request_count(), 1);
}

/// The cache folder's entries, sorted, that a run leaves: the token file and its lock.
fn file_and_lock(file: &std::path::Path) -> Vec<PathBuf> {
    let mut entries = vec![file.to_owned(), lock_file(file)];
    entries.sort();
    entries
}

#[test]
fn the_cache_file_is_the_cores_record_sealed_private_and_without_the_secret() {
    let server = server();
    let home = Home::new();
    let token = cached_run(&home, &server);
    let file = only_cache_file(&home);
    for path in [&file, &lock_file(&file)] {
        let mode = fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{path:?} mode {mode:o}");
    }
    let dir_mode = fs::metadata(home.cache_dir()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "folder mode {dir_mode:o}");
    let content = fs::read_to_string(&file).unwrap();
    assert_no_spelling("the cache file", &content, SECRET);

    // Named by the driver's key for the credentials: a 128-bit HMAC of target, client ID
    // and entity ID under a key derived from the secret, as a library source names its
    // Redis entry.
    let sealer = sealer_for(&server);
    let name = file.file_stem().unwrap().to_str().unwrap();
    assert!(
        name.len() == 32 && name.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    assert_eq!(name, sealer.key());
    assert_eq!(file.extension().unwrap(), "token");
    // The format line, then the core's TokenRecord sealed as a library source seals it.
    assert!(
        content.starts_with(&format!("{CACHE_FORMAT}\n")),
        "{content}"
    );
    let record = read_cache_record(&file, &sealer).expect("the record opens");
    assert_eq!(record.lifetime(), Duration::from_secs(3599));
    assert_eq!(record.jti(), Some(server.issued_tokens()[0].jti.as_str()));
    assert_eq!(record.to_token().access_token().secret(), token);

    // No temporary files are left behind; the lock file stays.
    assert_eq!(home.cache_entries(), file_and_lock(&file));
}

#[test]
fn without_cache_nothing_is_read_or_written() {
    let server = server();
    let home = Home::new();
    home.cli().against(&server).run().token();
    assert!(!home.cache_dir().exists(), "a cache folder appeared");
    let cached = cached_run(&home, &server);
    let fresh = home.cli().against(&server).run().token().to_owned();
    assert_ne!(cached, fresh);
    assert_eq!(server.token_request_count(), 3);
}

#[test]
fn a_corrupt_file_is_ignored_and_replaced() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let file = only_cache_file(&home);
    let good = fs::read_to_string(&file).unwrap();
    let sealed = cache_value(&file);
    let body = good.strip_prefix(CACHE_FORMAT).unwrap().to_owned();
    let mut truncated = format!("{CACHE_FORMAT}\n");
    truncated.push_str(&body[1..body.len() / 2]);
    let mut garbage: Vec<Vec<u8>> = [
        &b"{not json"[..],
        b"",
        b"\xff\xfe\x00binary",
        b"[]",
        b"{\"format\":1}",
        // The sealed record under an older format's line, or no format line.
        format!("zuora-token-cache/3{body}").as_bytes(),
        body.trim_start().as_bytes(),
        // The format line, then what is not base64, or half the record.
        format!("{CACHE_FORMAT}\nnot base64!\n").as_bytes(),
        truncated.as_bytes(),
    ]
    .map(<[u8]>::to_vec)
    .to_vec();
    // Valid base64 of a value that is not a sealed record, or of the record with one
    // byte changed (its version, its nonce, its ciphertext, its tag).
    let mut values = vec![b"not a sealed record".to_vec()];
    for i in [0, 5, sealed.len() / 2, sealed.len() - 1] {
        let mut tampered = sealed.clone();
        tampered[i] ^= 0x01;
        values.push(tampered);
    }
    for value in values {
        write_cache_value(&file, &value);
        garbage.push(fs::read(&file).unwrap());
    }
    let count = garbage.len();
    for bad in garbage {
        fs::write(&file, &bad).unwrap();
        let again = cached_run(&home, &server);
        assert_ne!(again, first, "{:?}", String::from_utf8_lossy(&bad));
        assert_eq!(
            saved_token(&home, &server),
            again,
            "the file was not replaced"
        );
    }
    assert_eq!(server.token_request_count(), 1 + count);
    // And the replacement is used.
    cached_run(&home, &server);
    assert_eq!(server.token_request_count(), 1 + count);
}

#[test]
fn a_foreign_or_tampered_file_is_ignored_and_replaced() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let file = only_cache_file(&home);

    // A record sealed for this key is used: what a library process would save.
    let sealer = sealer_for(&server);
    write_cache_record(
        &file,
        &sealer,
        &planted_record("d763dcd1fb495c0a92967b04b3b85649"),
    );
    assert_eq!(
        cached_run(&home, &server),
        "d763dcd1fb495c0a92967b04b3b85649"
    );
    assert_eq!(server.token_request_count(), 1);

    // Another key's record under this key's name: another client with the same secret.
    let other = sealer_of(
        &server.base_url(),
        "ffffffff-0000-4000-8000-000000000000",
        SECRET,
    );
    write_cache_record(
        &file,
        &other,
        &planted_record("e874ede2ac5a6d1ba3a78c15c4c96750"),
    );
    let second = cached_run(&home, &server);
    assert!(![first.as_str(), "e874ede2ac5a6d1ba3a78c15c4c96750"].contains(&second.as_str()));
    assert_eq!(saved_token(&home, &server), second, "not replaced");

    // A file others may read is not trusted.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let third = cached_run(&home, &server);
    assert_ne!(third, second);
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    assert_eq!(server.token_request_count(), 3);
    // (A symbolic link in its place is never followed: see cache_folder.rs; a record
    // sealed with another secret, or copied under another key: below.)
}

#[test]
fn a_file_owned_by_another_user_is_ignored_and_replaced() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let file = only_cache_file(&home);
    let me = fs::metadata(home.path()).unwrap().uid();
    // Private to its owner, but its owner is someone else: only root can make one.
    let nobody = 65_534;
    if let Err(e) = std::os::unix::fs::chown(&file, Some(nobody), Some(nobody)) {
        assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
        eprintln!("skipped: giving a file to another user needs root");
        return;
    }
    assert_eq!(fs::metadata(&file).unwrap().mode() & 0o777, 0o600);
    let second = cached_run(&home, &server);
    assert_ne!(second, first, "another user's file was trusted");
    assert_eq!(server.token_request_count(), 2);
    assert_eq!(fs::metadata(&file).unwrap().uid(), me, "not replaced");
    assert_eq!(cached_run(&home, &server), second);
}

#[test]
fn short_tokens_are_reused_for_about_half_their_life() {
    // 250 s tokens, with the library's rule: the usable life is 250 − 30 s (never handed
    // out with less than 30 s left), and tokens shorter than twice the 300 s refresh
    // window are refreshed halfway through it, 110 s after issue.
    let server = server_with_lifetime(250);
    let home = Home::new();
    let first = cached_run(&home, &server);
    assert_eq!(cached_run(&home, &server), first);
    age_saved_token(&home, &server, 90);
    assert_eq!(cached_run(&home, &server), first, "90 s old");
    assert_eq!(server.token_request_count(), 1);
    age_saved_token(&home, &server, 30);
    let second = cached_run(&home, &server);
    assert_ne!(second, first, "120 s old");
    assert_eq!(server.token_request_count(), 2);
    assert_eq!(cached_run(&home, &server), second);
}

#[test]
fn long_tokens_are_reused_until_the_refresh_window() {
    // 3599 s tokens are refreshed 300 s before expiry, up to 10 % (30 s) earlier.
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    age_saved_token(&home, &server, 3599 - 400);
    assert_eq!(cached_run(&home, &server), first, "400 s left");
    age_saved_token(&home, &server, 110);
    let second = cached_run(&home, &server);
    assert_ne!(second, first, "290 s left");
    assert_eq!(server.token_request_count(), 2);

    // An expired token, naturally, too.
    age_saved_token(&home, &server, 4000);
    assert_ne!(cached_run(&home, &server), second);
    assert_eq!(server.token_request_count(), 3);
}

#[test]
fn a_failed_refresh_keeps_the_saved_token_while_it_is_usable() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    // In the refresh window: 200 s left.
    age_saved_token(&home, &server, 3399);
    for fault in [
        Fault::empty(503),
        Fault::ResetConnection,
        Fault::rate_limited(zuora_oauth_testkit::RetryAfter::Seconds(1)),
    ] {
        server.push_fault(fault);
        let outcome = home.cli().against(&server).arg("--cache").run();
        assert_eq!(outcome.code, 0, "{outcome:?}");
        assert_eq!(outcome.stdout, format!("{first}\n"));
        assert!(
            outcome
                .stderr
                .starts_with("warning: could not refresh the saved token"),
            "{outcome:?}"
        );
        assert!(!outcome.stderr.trim_end().contains('\n'), "{outcome:?}");
    }
    assert_eq!(server.token_request_count(), 4, "one refresh attempt a run");
    // The file still holds it, and the next run refreshes it.
    assert_eq!(saved_token(&home, &server), first);
    assert_ne!(cached_run(&home, &server), first);

    // Past its usable life (under 30 s left), a saved token is never printed.
    age_saved_token(&home, &server, 3599 - 20);
    server.push_fault(Fault::empty(503));
    let outcome = home.cli().against(&server).arg("--cache").run();
    outcome.failure(5);
}

#[test]
fn a_rejected_refresh_never_prints_the_saved_token() {
    // Zuora refusing the credentials (revoked, rotated) is not a failure to cover with the
    // saved token: the run fails with the credentials error, and the saved token, issued
    // to credentials Zuora now refuses, is not printed by later runs either.
    for (kind, fault) in [
        (
            401,
            Fault::oauth_error(401, "invalid_client", "Bad client credentials"),
        ),
        (
            400,
            Fault::oauth_error(400, "invalid_client", "Bad client credentials"),
        ),
        (403, Fault::message_error(403, "Forbidden")),
    ] {
        let server = server();
        let home = Home::new();
        let first = cached_run(&home, &server);
        // In the refresh window: 200 s left, still usable.
        age_saved_token(&home, &server, 3399);
        server.push_fault(fault);
        let outcome = home.cli().against(&server).arg("--cache").run();
        let line = outcome.failure(3);
        assert!(!outcome.stderr.contains(&first), "{kind}: {outcome:?}");
        assert!(line.contains("rejected"), "{kind}: {line}");
        assert_eq!(server.token_request_count(), 2, "{kind}");
        assert_eq!(
            home.cache_files(),
            Vec::<PathBuf>::new(),
            "{kind}: still saved"
        );
        // Zuora accepts the credentials again: the next run fetches.
        let next = cached_run(&home, &server);
        assert_ne!(
            next, first,
            "{kind}: the refused credentials' token was kept"
        );
        assert_eq!(server.token_request_count(), 3, "{kind}");
    }
}

#[test]
fn a_rejected_forced_refresh_forgets_the_saved_token_too() {
    // --refresh on rejected credentials: a failure, and the saved token is gone.
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    server.push_fault(Fault::oauth_error(
        401,
        "invalid_client",
        "Bad client credentials",
    ));
    home.cli()
        .against(&server)
        .args(["--cache", "--refresh"])
        .run()
        .failure(3);
    assert_ne!(cached_run(&home, &server), first);
    assert_eq!(server.token_request_count(), 3);
}

/// A secret the test server does not know for [`CLIENT_ID`]; it holds the leak marker.
const WRONG_SECRET: &str = "Wr0ng+LeakCanary/Guess=42";
/// The secret after a rotation.
const ROTATED_SECRET: &str = "R0tated+LeakCanary/Key=7Q";

/// A `--cache` run with `secret`.
fn run_with_secret(home: &Home, server: &MockServer, secret: &str) -> Outcome {
    let outcome = home
        .cli()
        .target(server)
        .env("ZUORA_CLIENT_ID", CLIENT_ID)
        .env("ZUORA_CLIENT_SECRET", secret)
        .arg("--cache")
        .run();
    for text in [&outcome.stdout, &outcome.stderr] {
        assert_no_spelling("output", text, secret);
    }
    outcome
}

#[test]
fn a_wrong_or_rotated_secret_never_gets_the_cached_token() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);

    // The right client ID with a wrong secret: what Zuora says, never the saved token.
    let wrong = run_with_secret(&home, &server, WRONG_SECRET);
    wrong.failure(3);
    assert!(!wrong.stderr.contains(&first), "{wrong:?}");
    assert_eq!(server.token_request_count(), 2);

    // The secret is rotated: the new one gets a token of its own (not the one saved with
    // the old secret), reused by the next run with it.
    server.add_client(CLIENT_ID, ROTATED_SECRET);
    let rotated = run_with_secret(&home, &server, ROTATED_SECRET);
    let rotated = rotated.token().to_owned();
    assert_ne!(rotated, first);
    assert_eq!(
        run_with_secret(&home, &server, ROTATED_SECRET).token(),
        rotated
    );
    assert_eq!(server.token_request_count(), 3);
    // The wrong secret still gets nothing, now that two entries are saved.
    run_with_secret(&home, &server, WRONG_SECRET).failure(3);
    assert_eq!(server.token_request_count(), 4);

    // No file name or content holds any spelling of any of the secrets.
    for entry in home.cache_entries() {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        let content = String::from_utf8_lossy(&fs::read(&entry).unwrap()).into_owned();
        for secret in [SECRET, WRONG_SECRET, ROTATED_SECRET] {
            assert_no_spelling("a cache file name", &name, secret);
            assert_no_spelling("a cache file", &content, secret);
        }
    }
}

#[test]
fn the_cache_file_holds_no_readable_token() {
    let server = server();
    let home = Home::new();
    let token = cached_run(&home, &server);
    let jti = server.issued_tokens()[0].jti.clone();
    let entries = home.cache_entries();
    assert!(!entries.is_empty());
    for entry in entries {
        let content = String::from_utf8_lossy(&fs::read(&entry).unwrap()).into_owned();
        assert_no_spelling("a cache file", &content, &token);
        assert_no_spelling("a cache file", &content, &jti);
        assert_no_spelling("a cache file", &content, SECRET);
        assert_no_spelling("a cache file", &content, CLIENT_ID);
    }
    let file = only_cache_file(&home);
    let saved = fs::read(&file).unwrap();
    let base = server.base_url();

    // Sealed with another secret under this key's name, a record is a miss.
    let other_secret = sealer_of(&base, CLIENT_ID, ROTATED_SECRET);
    write_cache_record(
        &file,
        &other_secret,
        &planted_record("d763dcd1fb495c0a92967b04b3b85649"),
    );
    let mine = cached_run(&home, &server);
    assert!(![token.as_str(), "d763dcd1fb495c0a92967b04b3b85649"].contains(&mine.as_str()));
    assert_eq!(server.token_request_count(), 2);
    assert_eq!(saved_token(&home, &server), mine, "not replaced");

    // Copied under another key, the file is a miss: under the key of another client with
    // the same secret, and under the key of the same client after its secret was rotated.
    const OTHER_CLIENT: &str = "aaaaaaaa-0000-4000-8000-000000000000";
    server.add_client(OTHER_CLIENT, SECRET);
    server.add_client(CLIENT_ID, ROTATED_SECRET);
    for (client, secret) in [(OTHER_CLIENT, SECRET), (CLIENT_ID, ROTATED_SECRET)] {
        let copy = home.cache_file(&sealer_of(&base, client, secret));
        assert_ne!(copy, file);
        fs::write(&copy, &saved).unwrap();
        fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).unwrap();
        let before = server.token_request_count();
        let theirs = home
            .cli()
            .target(&server)
            .env("ZUORA_CLIENT_ID", client)
            .env("ZUORA_CLIENT_SECRET", secret)
            .arg("--cache")
            .run();
        assert_ne!(theirs.token(), token, "{client}: a copied file was used");
        assert_eq!(server.token_request_count(), before + 1, "{client}");
        assert_ne!(fs::read(&copy).unwrap(), saved, "{client}: not replaced");
    }
}

#[test]
fn refresh_fetches_and_replaces_the_saved_token() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let refresh = |home: &Home| {
        home.cli()
            .against(&server)
            .args(["--cache", "--refresh"])
            .run()
    };
    let second = refresh(&home).token().to_owned();
    assert_ne!(second, first);
    assert_eq!(server.token_request_count(), 2);
    assert_eq!(saved_token(&home, &server), second);
    assert_eq!(cached_run(&home, &server), second);

    // It wants the new token: a failure is reported, not covered with the saved one.
    server.push_fault(Fault::empty(503));
    refresh(&home).failure(5);
    assert_eq!(cached_run(&home, &server), second);

    // Without --cache there is nothing to refresh.
    let outcome = home.cli().against(&server).arg("--refresh").run();
    assert!(outcome.usage_error().contains("--cache"), "{outcome:?}");
    assert_eq!(server.token_request_count(), 3);
}

#[test]
fn mock_runs_share_one_cache_entry() {
    let home = Home::new();
    let run = || {
        home.cli()
            .args(["--mock", "--cache"])
            .run()
            .token()
            .to_owned()
    };
    let first = run();
    assert_eq!(run(), first, "each --mock run's server has another port");
    // One file, under the key of the --mock stand-in.
    let sealer = mock_sealer();
    assert_eq!(only_cache_file(&home), home.cache_file(&sealer));
    let record = read_cache_record(&home.cache_file(&sealer), &sealer).expect("it opens");
    assert_eq!(record.to_token().access_token().secret(), first);
}

#[test]
fn base_url_client_and_entity_each_get_their_own_file() {
    let server = server();
    let home = Home::new();
    cached_run(&home, &server);
    // A trailing slash is the same base URL, so the same entry.
    home.cli()
        .creds()
        .args(["--base-url", &format!("{}/", server.base_url()), "--cache"])
        .run()
        .token();
    assert_eq!(server.token_request_count(), 1);

    // Another entity is another entry, reused for that entity only.
    let entity = [
        "--cache",
        "--entity-id",
        "11e643f4-a3ee-8bad-b061-0025904c756d",
    ];
    home.cli().against(&server).args(entity).run().token();
    home.cli()
        .against(&server)
        .args(["--cache", "--entity-id", "11E643F4A3EE8BADB0610025904C756D"])
        .run()
        .token();
    assert_eq!(server.token_request_count(), 2);

    // Another client ID is another entry.
    server.add_client("aaaaaaaa-0000-4000-8000-000000000000", SECRET);
    home.cli()
        .target(&server)
        .env("ZUORA_CLIENT_ID", "aaaaaaaa-0000-4000-8000-000000000000")
        .env("ZUORA_CLIENT_SECRET", SECRET)
        .arg("--cache")
        .run()
        .token();
    assert_eq!(server.token_request_count(), 3);

    // Another server (base URL) is another entry.
    let other = crate::helpers::server();
    cached_run(&home, &other);
    assert_eq!(other.token_request_count(), 1);
    assert_eq!(home.cache_files().len(), 4);
}

#[test]
fn without_xdg_cache_home_the_cache_is_under_home() {
    let server = server();
    let home = Home::new();
    home.cli()
        .against(&server)
        .env_remove("XDG_CACHE_HOME")
        .arg("--cache")
        .run()
        .token();
    let dir = home.path().join(".cache").join("zuora-token");
    let files = fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("token".as_ref()))
        .count();
    assert_eq!(files, 1);
    assert!(!home.cache_dir().exists());
}

#[test]
fn an_unusable_cache_folder_only_warns() {
    let server = server();
    let home = Home::new();
    // The cache "folder" is a file: nothing can be read or written there.
    fs::write(home.xdg_cache(), "not a folder").unwrap();
    let outcome = home.cli().against(&server).arg("--cache").run();
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert_eq!(
        outcome.stdout.trim_end(),
        server.issued_tokens()[0].access_token
    );
    assert!(outcome.stderr.starts_with("warning: "), "{outcome:?}");

    // No usable folder at all.
    let outcome = home
        .cli()
        .against(&server)
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .arg("--cache")
        .run();
    assert_eq!(outcome.code, 0, "{outcome:?}");
    assert!(outcome.stderr.starts_with("warning: "), "{outcome:?}");
}

#[test]
fn two_hundred_concurrent_runs_make_one_request() {
    let server = server();
    let home = Home::new();
    // The one request is answered late, so that the runs pile up behind it (the count
    // must be 1 whatever the order).
    server.push_fault(Fault::delay_headers(Duration::from_secs(1)));
    let started = Instant::now();
    let tokens: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..200)
            .map(|_| s.spawn(|| cached_run(&home, &server)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    eprintln!("200 concurrent --cache runs: {:?}", started.elapsed());
    assert_eq!(server.token_request_count(), 1);
    let issued = &server.issued_tokens()[0].access_token;
    assert!(tokens.iter().all(|t| t == issued), "{tokens:?}");
    let file = only_cache_file(&home);
    assert_eq!(
        home.cache_entries(),
        file_and_lock(&file),
        "temporary files left behind"
    );
    assert_eq!(cached_run(&home, &server), *issued);
}

#[test]
fn a_run_killed_while_holding_the_lock_blocks_nobody() {
    let server = server();
    let home = Home::new();
    // The first run takes the lock and sends its request, which the server holds.
    server.push_fault(Fault::delay_headers(Duration::from_secs(120)));
    let mut holder = home.cli().against(&server).arg("--cache").spawn();
    assert!(
        server.wait_for_token_requests(1, Duration::from_secs(30)),
        "the first run never asked"
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    // The system freed its lock: the next run takes it, so it saves what it fetches (a run
    // that gave up on a taken lock would fetch without saving).
    let token = cached_run(&home, &server);
    assert_eq!(server.token_request_count(), 2);
    assert_eq!(saved_token(&home, &server), token);
}

#[test]
fn cache_and_a_store_together_are_refused() {
    let server = server();
    for (cli, named) in [
        (
            Cli::new().args(["--cache", "--store", "redis://127.0.0.1:1/"]),
            "--store",
        ),
        (
            Cli::new()
                .arg("--cache")
                .env("ZUORA_TOKEN_STORE", "redis://127.0.0.1:1/"),
            "ZUORA_TOKEN_STORE",
        ),
    ] {
        let outcome = cli.against(&server).run();
        let message = outcome.usage_error();
        assert!(
            message.contains("--cache") && message.contains(named),
            "{outcome:?}"
        );
    }
    assert_eq!(server.token_request_count(), 0);
}
