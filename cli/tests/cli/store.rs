//! `--store URL` / `--store-file PATH` / `ZUORA_TOKEN_STORE`: tokens shared through a real
//! Redis with other runs and with the library's processes; one request for many concurrent
//! runs; Redis down is only a warning; the URL's password is never printed, and never
//! taken from a flag; bad URLs are refused before anything is sent; a wrong secret or
//! refused credentials never get the shared token.

use std::time::{Duration, Instant, SystemTime};

use zuora_oauth_core::{AccessToken, Token, TokenRecord};
use zuora_oauth_driver::BlockingTokenSource;
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{Fault, MockServer};
use zuora_oauth_ureq::UreqTransport;

use crate::helpers::{
    CLIENT_ID, Cli, Home, LibraryStore, Outcome, SECRET, assert_no_spelling, mock_sealer, request,
    server,
};
use crate::redis_server::{RedisServer, free_port};

/// A password that must never show.
const PASSWORD: &str = "LeakyRedis+Pass/W0rd";
/// [`PASSWORD`] as written in a URL.
const PASSWORD_IN_URL: &str = "LeakyRedis%2BPass%2FW0rd";
/// The part of it no legitimate output contains: a spelling of the password cut or
/// mangled still holds it.
const PASSWORD_MARKER: &str = "LeakyRedis";

fn stored_run(home: &Home, server: &MockServer, url: &str) -> String {
    home.cli()
        .against(server)
        .args(["--store", url])
        .run()
        .token()
        .to_owned()
}

/// The library's view of the Redis store for the test server's client: what any process
/// of the fleet would read and write.
fn library_store(server: &MockServer, url: &str) -> LibraryStore {
    LibraryStore::for_server(server, url)
}

/// A long-running library process for the test server's client, sharing the Redis store
/// at `url`: the library's own token source with its default store options.
fn library_process(server: &MockServer, url: &str) -> BlockingTokenSource {
    BlockingTokenSource::builder(
        request(&server.base_url(), CLIENT_ID, SECRET),
        UreqTransport::new(),
    )
    .with_store(RedisStore::at(url).unwrap())
    .build()
}

/// Exit 0, one token on stdout, and exactly one `warning:` line on stderr; returns both.
#[track_caller]
fn token_with_one_warning(outcome: &Outcome) -> (&str, &str) {
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let token = outcome.stdout.trim_end();
    assert!(!token.is_empty() && !token.contains('\n'), "{outcome:?}");
    let warning = outcome.stderr.strip_suffix('\n').unwrap_or(&outcome.stderr);
    assert!(
        warning.starts_with("warning: ") && !warning.contains('\n'),
        "expected one warning line: {outcome:?}"
    );
    (token, warning)
}

#[track_caller]
fn assert_no_password(outcome: &Outcome) {
    for text in [&outcome.stdout, &outcome.stderr] {
        assert_no_spelling("output", text, PASSWORD);
    }
    for hidden in [PASSWORD_IN_URL, PASSWORD_MARKER] {
        outcome.assert_no_secret(hidden);
    }
}

#[test]
fn the_password_marker_is_part_of_the_password() {
    // Otherwise the check above could never fail on it.
    assert!(PASSWORD.contains(PASSWORD_MARKER));
    assert!(PASSWORD_IN_URL.contains(PASSWORD_MARKER));
}

/// A URL of `redis` with `password` (as written in a URL).
fn url_with_password(redis: &RedisServer, password: &str) -> String {
    format!("redis://:{password}@127.0.0.1:{}/", redis.port())
}

/// A private file holding `text` and a newline, in `home`.
fn url_file(home: &Home, text: &str) -> std::path::PathBuf {
    let path = home.path().join("store-url");
    std::fs::write(&path, format!("{text}\n")).unwrap();
    path
}

#[test]
fn two_hundred_concurrent_runs_make_one_request() {
    let redis = RedisServer::start();
    let server = server();
    let home = Home::new();
    let url = redis.url();
    // The one request is answered late, so that the runs pile up behind it (the count
    // must be 1 whatever the order).
    server.push_fault(Fault::delay_headers(Duration::from_secs(1)));
    let started = Instant::now();
    let tokens: Vec<String> = std::thread::scope(|s| {
        let runs: Vec<_> = (0..200)
            .map(|_| s.spawn(|| stored_run(&home, &server, &url)))
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    eprintln!("200 concurrent --store runs: {:?}", started.elapsed());
    assert_eq!(server.token_request_count(), 1);
    let issued = &server.issued_tokens()[0].access_token;
    assert!(tokens.iter().all(|t| t == issued), "{tokens:?}");
    // Nothing was written under the user's cache folder.
    assert!(!home.cache_dir().exists());
}

#[test]
fn runs_and_library_processes_share_one_token() {
    let redis = RedisServer::start();
    let server = server();
    let home = Home::new();
    let library = library_store(&server, &redis.url());

    // What a run fetches is what the library's processes find, and use without a request
    // of their own.
    let first = stored_run(&home, &server, &redis.url());
    let shared = library.load().expect("a shared record");
    assert_eq!(shared.to_token().access_token().secret(), first);
    let process = library_process(&server, &redis.url());
    let theirs = process.token().expect("the library process gets a token");
    assert_eq!(theirs.access_token().secret(), first);
    assert_eq!(server.token_request_count(), 1);
    // The next run, through the variable this time, reuses it.
    let again = home
        .cli()
        .against(&server)
        .env("ZUORA_TOKEN_STORE", redis.url())
        .run();
    assert_eq!(again.token(), first);
    assert_eq!(server.token_request_count(), 1);

    // And a token a library process stored is what a run prints.
    let theirs = TokenRecord::new(
        &Token::new(
            AccessToken::new("d763dcd1fb495c0a92967b04b3b85649").unwrap(),
            Duration::from_secs(3599),
        ),
        SystemTime::now(),
    );
    library.save(&theirs, Duration::from_secs(3599));
    assert_eq!(
        stored_run(&home, &server, &redis.url()),
        "d763dcd1fb495c0a92967b04b3b85649"
    );
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn the_flag_wins_over_the_variable() {
    let redis = RedisServer::start();
    let server = server();
    let home = Home::new();
    // The variable names a Redis that is not there: a quiet success shows it was not used.
    let down = format!("redis://127.0.0.1:{}/", free_port());
    let token = home
        .cli()
        .against(&server)
        .env("ZUORA_TOKEN_STORE", &down)
        .args(["--store", &redis.url()])
        .run()
        .token()
        .to_owned();
    let shared = library_store(&server, &redis.url()).load();
    assert_eq!(shared.unwrap().to_token().access_token().secret(), token);
}

#[test]
fn redis_down_still_prints_a_token_with_one_warning() {
    let server = server();
    let down = format!("redis://:{PASSWORD_IN_URL}@127.0.0.1:{}/", free_port());
    let down_without_password = format!("redis://127.0.0.1:{}/", free_port());
    let home = Home::new();
    let file = url_file(&home, &down);
    for cli in [
        Cli::new().args(["--store", &down_without_password]),
        Cli::new().env("ZUORA_TOKEN_STORE", &down),
        Cli::new().env("ZUORA_TOKEN_STORE", &down).arg("--refresh"),
        Cli::new().arg("--store-file").arg(&file),
    ] {
        let before = server.token_request_count();
        let outcome = cli.against(&server).run();
        let (token, warning) = token_with_one_warning(&outcome);
        assert_eq!(server.token_request_count(), before + 1);
        assert_eq!(
            token,
            server.issued_tokens().last().unwrap().access_token,
            "{outcome:?}"
        );
        assert!(
            warning.starts_with("warning: --store: ")
                || warning.starts_with("warning: ZUORA_TOKEN_STORE: ")
                || warning.starts_with("warning: --store-file: "),
            "the warning names the option: {warning}"
        );
        assert_no_password(&outcome);
    }
}

#[test]
fn the_url_password_is_never_printed() {
    let redis = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let server = server();
    let home = Home::new();
    let with = |password: &str| url_with_password(&redis, password);
    let run = |url: &str| {
        home.cli()
            .against(&server)
            .env("ZUORA_TOKEN_STORE", url)
            .run()
    };

    // The right password: a quiet success, and the next run reuses the token.
    let first = run(&with(PASSWORD_IN_URL)).token().to_owned();
    assert_eq!(run(&with(PASSWORD_IN_URL)).token(), first);
    assert_eq!(server.token_request_count(), 1);

    // A wrong one (that leaks nothing either): Redis refuses, the run fetches on its own.
    let wrong = "LeakyRedis%2BWr0ng%2FGuess";
    let outcome = run(&with(wrong));
    token_with_one_warning(&outcome);
    outcome.assert_no_secret(wrong);
    outcome.assert_no_secret("LeakyRedis+Wr0ng/Guess");
    assert_no_password(&outcome);

    // URLs that cannot be used, with the password in them: refused, never quoted.
    for bad in [
        format!("redis://:{PASSWORD_IN_URL}@127.0.0.1:notaport/"),
        format!("http://:{PASSWORD_IN_URL}@127.0.0.1:{}/", redis.port()),
        format!("redis:/:{PASSWORD_IN_URL}@127.0.0.1/"),
    ] {
        for cli in [
            home.cli().args(["--store", &bad]),
            home.cli().env("ZUORA_TOKEN_STORE", &bad),
            home.cli().arg("--store-file").arg(url_file(&home, &bad)),
        ] {
            let outcome = cli.against(&server).run();
            outcome.usage_error();
            assert_no_password(&outcome);
        }
    }
    // --help never shows the variable's value.
    let help = home
        .cli()
        .env("ZUORA_TOKEN_STORE", with(PASSWORD_IN_URL))
        .arg("--help")
        .run();
    assert!(help.success().contains("--store"));
    assert_no_password(&help);
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn a_store_url_other_than_redis_is_refused_before_sending() {
    let server = server();
    for (url, from) in [
        ("http://127.0.0.1:6379/", "--store"),
        ("unix:///tmp/redis.sock", "--store"),
        ("127.0.0.1:6379", "--store"),
        ("", "--store"),
        ("memcached://127.0.0.1:11211", "ZUORA_TOKEN_STORE"),
    ] {
        let cli = if from == "--store" {
            Cli::new().args(["--store", url])
        } else {
            Cli::new().env("ZUORA_TOKEN_STORE", url)
        };
        let outcome = cli.against(&server).run();
        let message = outcome.usage_error();
        assert!(
            message.contains(from),
            "the message names {from}: {outcome:?}"
        );
    }
    assert_eq!(server.token_request_count(), 0);
}

#[test]
fn refresh_replaces_the_shared_token() {
    let redis = RedisServer::start();
    let server = server();
    let home = Home::new();
    let first = stored_run(&home, &server, &redis.url());
    let refreshed = home
        .cli()
        .against(&server)
        .args(["--store", &redis.url(), "--refresh"])
        .run()
        .token()
        .to_owned();
    assert_ne!(refreshed, first);
    let shared = library_store(&server, &redis.url()).load().unwrap();
    assert_eq!(shared.to_token().access_token().secret(), refreshed);
    assert_eq!(stored_run(&home, &server, &redis.url()), refreshed);
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn mock_runs_share_one_redis_entry_and_ignore_the_variable() {
    let redis = RedisServer::start();
    let home = Home::new();
    let run = || {
        home.cli()
            .args(["--mock", "--store", &redis.url()])
            .run()
            .token()
            .to_owned()
    };
    let first = run();
    assert_eq!(run(), first, "each --mock run's server has another port");
    // One entry, under the --mock stand-in's key.
    let shared = LibraryStore::new(&redis.url(), mock_sealer()).load();
    assert_eq!(shared.unwrap().to_token().access_token().secret(), first);

    // Like every ZUORA_* variable, ZUORA_TOKEN_STORE is not read with --mock: a quiet
    // success although it names a Redis that is not there (and --cache is not refused).
    let down = format!("redis://127.0.0.1:{}/", free_port());
    for mock in [&["--mock"][..], &["--mock", "--cache"]] {
        home.cli()
            .args(mock)
            .env("ZUORA_TOKEN_STORE", &down)
            .run()
            .token();
    }
}

#[test]
fn a_password_in_the_store_flag_is_refused_before_anything_is_sent() {
    // Anyone on the machine can read a process's arguments (`ps`): like the client secret,
    // a Redis password is not taken as a flag.
    let redis = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let server = server();
    for url in [
        url_with_password(&redis, PASSWORD_IN_URL),
        format!(
            "redis://default:{PASSWORD_IN_URL}@127.0.0.1:{}/0",
            redis.port()
        ),
        format!("REDISS://:{PASSWORD_IN_URL}@127.0.0.1:{}", redis.port()),
    ] {
        let outcome = Cli::new().against(&server).args(["--store", &url]).run();
        let message = outcome.usage_error();
        assert!(
            message.contains("--store")
                && message.contains("ZUORA_TOKEN_STORE")
                && message.contains("--store-file"),
            "the message says where the URL goes instead: {outcome:?}"
        );
        assert_no_password(&outcome);
    }
    assert_eq!(server.token_request_count(), 0);

    // A URL without a password stays fine as a flag, a user name included.
    let open = RedisServer::start();
    let home = Home::new();
    let first = stored_run(&home, &server, &open.url());
    let with_user = format!("redis://default@127.0.0.1:{}/", open.port());
    assert_eq!(stored_run(&home, &server, &with_user), first);
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn store_file_reads_the_url_from_a_file_or_standard_input() {
    let redis = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let server = server();
    let home = Home::new();
    let url = url_with_password(&redis, PASSWORD_IN_URL);
    let file = url_file(&home, &url);
    let first = home
        .cli()
        .against(&server)
        .arg("--store-file")
        .arg(&file)
        .run()
        .token()
        .to_owned();
    // Shared with the other ways of naming the same store (CRLF ending too).
    std::fs::write(&file, format!("{url}\r\n")).unwrap();
    let again = home
        .cli()
        .against(&server)
        .arg("--store-file")
        .arg(&file)
        .run();
    assert_eq!(again.token(), first);
    let from_stdin = home
        .cli()
        .against(&server)
        .args(["--store-file", "-"])
        .stdin(format!("{url}\n"))
        .run();
    assert_eq!(from_stdin.token(), first);
    let from_var = home
        .cli()
        .against(&server)
        .env("ZUORA_TOKEN_STORE", &url)
        .run();
    assert_eq!(from_var.token(), first);
    assert_eq!(server.token_request_count(), 1);
    // It wins over the variable, like --store.
    let down = format!("redis://127.0.0.1:{}/", free_port());
    let wins = home
        .cli()
        .against(&server)
        .env("ZUORA_TOKEN_STORE", &down)
        .arg("--store-file")
        .arg(&file)
        .run();
    assert_eq!(wins.token(), first);
    assert_eq!(server.token_request_count(), 1);

    // Refused: with --store, with --cache, a missing file, and standard input for both the
    // secret and the URL.
    let missing = home.path().join("no-such-file");
    for (cli, named) in [
        (
            home.cli()
                .arg("--store-file")
                .arg(&file)
                .args(["--store", &down]),
            "--store",
        ),
        (
            home.cli().arg("--store-file").arg(&file).arg("--cache"),
            "--cache",
        ),
        (home.cli().arg("--store-file").arg(&missing), "--store-file"),
        (
            home.cli()
                .args(["--client-secret-file", "-", "--store-file", "-"])
                .stdin(format!("{SECRET}\n{url}\n")),
            "standard input",
        ),
    ] {
        let outcome = cli.creds().target(&server).run();
        let message = outcome.usage_error();
        assert!(message.contains(named), "names {named}: {outcome:?}");
        assert_no_password(&outcome);
    }
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn a_wrong_secret_gets_no_shared_token() {
    let redis = RedisServer::start();
    let server = server();
    let home = Home::new();
    let first = stored_run(&home, &server, &redis.url());
    let wrong = home
        .cli()
        .target(&server)
        .env("ZUORA_CLIENT_ID", CLIENT_ID)
        .env("ZUORA_CLIENT_SECRET", "Wr0ng+LeakCanary/Guess=42")
        .args(["--store", &redis.url()])
        .run();
    wrong.failure(3);
    assert!(!wrong.stderr.contains(&first), "{wrong:?}");
    assert_eq!(server.token_request_count(), 2);
}

#[test]
fn a_rejected_refresh_never_prints_the_shared_token() {
    let redis = RedisServer::start();
    let server = server();
    let home = Home::new();
    // A token a library process stored 3399 s ago: in the refresh window, still usable.
    let library = library_store(&server, &redis.url());
    let old = TokenRecord::new(
        &Token::new(
            AccessToken::new("d763dcd1fb495c0a92967b04b3b85649").unwrap(),
            Duration::from_secs(3599),
        ),
        SystemTime::now() - Duration::from_secs(3399),
    );
    library.save(&old, Duration::from_secs(200));
    // A refused refresh: a failure, not the saved token.
    server.push_fault(Fault::oauth_error(
        401,
        "invalid_client",
        "Bad client credentials",
    ));
    let outcome = home
        .cli()
        .against(&server)
        .args(["--store", &redis.url()])
        .run();
    outcome.failure(3);
    assert!(!outcome.stderr.contains("d763dcd1"), "{outcome:?}");
    // The token of the refused credentials is not handed out later either.
    assert_eq!(library.load(), None);
    let next = stored_run(&home, &server, &redis.url());
    assert_ne!(next, "d763dcd1fb495c0a92967b04b3b85649");
    assert_eq!(server.token_request_count(), 2);

    // While a transient failure keeps it, with a warning.
    let kept = TokenRecord::new(
        &Token::new(
            AccessToken::new("e874ede2ac5a6d1ba3a78c15c4c96750").unwrap(),
            Duration::from_secs(3599),
        ),
        SystemTime::now() - Duration::from_secs(3399),
    );
    library.save(&kept, Duration::from_secs(200));
    server.push_fault(Fault::empty(503));
    let outcome = home
        .cli()
        .against(&server)
        .args(["--store", &redis.url()])
        .run();
    let (token, warning) = token_with_one_warning(&outcome);
    assert_eq!(token, "e874ede2ac5a6d1ba3a78c15c4c96750");
    assert!(warning.contains("could not refresh"), "{warning}");
}
