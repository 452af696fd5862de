//! `--cache`: reuse across runs, the file's safety, recovery from bad files.

use std::fs;
use std::time::Duration;

use serde_json::Value;
use zuora_oauth_testkit::MockServer;

use crate::helpers::{CLIENT_ID, Home, SECRET, SECRET_MARKER, server};

fn cached_run(home: &Home, server: &MockServer) -> String {
    home.cli()
        .against(server)
        .arg("--cache")
        .run()
        .token()
        .to_owned()
}

fn only_cache_file(home: &Home) -> std::path::PathBuf {
    let files = home.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    files[0].clone()
}

#[test]
fn a_second_run_reuses_the_token_without_a_request() {
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let second = cached_run(&home, &server);
    assert_eq!(first, second);
    assert_eq!(server.token_request_count(), 1);

    // Every format works from the cache, JSON with the same fields.
    let json = home
        .cli()
        .against(&server)
        .args(["--cache", "--format", "json"])
        .run();
    let v: Value = serde_json::from_str(json.success().trim_end()).unwrap();
    assert_eq!(v["access_token"], first.as_str());
    assert_eq!(v["expires_in"], 3599);
    assert_eq!(v["token_type"], "bearer");
    assert!(v["expires_at"].as_str().unwrap().ends_with('Z'));
    assert!(v["jti"].is_string() && v["scope"].is_string() && v["request_id"].is_string());
    let header = home
        .cli()
        .against(&server)
        .args(["--cache", "--format", "header"])
        .run();
    assert_eq!(header.success(), format!("Authorization: Bearer {first}\n"));
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn the_cache_file_is_private_and_never_holds_the_secret() {
    use std::os::unix::fs::PermissionsExt;
    let server = server();
    let home = Home::new();
    let token = cached_run(&home, &server);
    let file = only_cache_file(&home);
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "file mode {mode:o}");
    let dir_mode = fs::metadata(home.cache_dir()).unwrap().permissions().mode() & 0o777;
    assert_eq!(dir_mode, 0o700, "folder mode {dir_mode:o}");
    let content = fs::read_to_string(&file).unwrap();
    assert!(content.contains(&token));
    assert!(!content.contains(SECRET) && !content.contains(SECRET_MARKER));
    assert!(!content.contains("Xq7%2B"), "form-encoded secret");
    // No temporary files are left behind.
    assert_eq!(home.cache_entries(), vec![file]);
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
    for garbage in [
        &b"{not json"[..],
        b"",
        b"\xff\xfe\x00binary",
        b"[]",
        b"{\"format\":1}",
    ] {
        fs::write(&file, garbage).unwrap();
        let again = cached_run(&home, &server);
        assert_ne!(again, first);
        let content = fs::read_to_string(&file).unwrap();
        assert!(content.contains(&again), "the file was not replaced");
    }
    assert_eq!(server.token_request_count(), 6);
    // And the replacement is used.
    cached_run(&home, &server);
    assert_eq!(server.token_request_count(), 6);
}

#[test]
fn a_foreign_or_tampered_file_is_ignored_and_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let server = server();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let file = only_cache_file(&home);
    let original = fs::read_to_string(&file).unwrap();

    // Another key's content under this key's name.
    let foreign = original.replace(CLIENT_ID, "ffffffff-0000-4000-8000-000000000000");
    assert_ne!(foreign, original);
    fs::write(&file, foreign).unwrap();
    let second = cached_run(&home, &server);
    assert_ne!(second, first);

    // A file others may read is not trusted.
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).unwrap();
    let third = cached_run(&home, &server);
    assert_ne!(third, second);
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A symbolic link is not followed.
    let elsewhere = home.path().join("elsewhere.json");
    fs::write(&elsewhere, fs::read_to_string(&file).unwrap()).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o600)).unwrap();
    fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let fourth = cached_run(&home, &server);
    assert_ne!(fourth, third);
    assert!(
        !fs::symlink_metadata(&file)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(server.token_request_count(), 4);
}

#[test]
fn a_token_inside_the_refresh_window_is_not_reused() {
    // 200 s tokens are inside the 300 s refresh window from the start.
    let server = MockServer::builder()
        .client(CLIENT_ID, SECRET)
        .token_lifetime(Duration::from_secs(200))
        .start()
        .unwrap();
    let home = Home::new();
    let first = cached_run(&home, &server);
    let second = cached_run(&home, &server);
    assert_ne!(first, second);
    assert_eq!(server.token_request_count(), 2);
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
    assert_eq!(fs::read_dir(dir).unwrap().count(), 1);
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
fn concurrent_runs_are_safe() {
    let server = server();
    let home = Home::new();
    let tokens: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..6)
            .map(|_| s.spawn(|| cached_run(&home, &server)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    assert_eq!(tokens.len(), 6);
    let file = only_cache_file(&home);
    let v: Value = serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
    let saved = v["access_token"].as_str().unwrap();
    assert!(tokens.iter().any(|t| t == saved));
    assert_eq!(
        home.cache_entries(),
        vec![file],
        "temporary files left behind"
    );
    // The next run reuses the saved token.
    assert_eq!(cached_run(&home, &server), saved);
}
