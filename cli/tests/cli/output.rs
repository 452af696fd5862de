//! What is printed: `--format token|header|json`, `--help`, and `--mock`.

use std::time::Duration;

use serde_json::{Value, json};
use zuora_oauth_testkit::{Fault, JSON_CONTENT_TYPE, MockServer, TokenFields};

use crate::helpers::{Cli, parse_rfc3339_utc, secs_between, server};

fn json_line(stdout: &str) -> Value {
    let line = stdout.strip_suffix('\n').expect("newline-terminated");
    assert!(!line.contains('\n'), "one line: {stdout:?}");
    serde_json::from_str(line).expect("valid JSON")
}

fn is_hex32(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn token_format_prints_the_token_alone() {
    let server = server();
    let outcome = Cli::new().against(&server).run();
    let token = outcome.token();
    assert_eq!(outcome.stdout, format!("{token}\n"));
    assert_eq!(token, server.issued_tokens()[0].access_token);
    assert_eq!(server.token_request_count(), 1);
}

#[test]
fn token_is_the_default_and_explicit_format() {
    let server = server();
    let explicit = Cli::new()
        .against(&server)
        .args(["--format", "token"])
        .run();
    assert_eq!(explicit.token(), server.issued_tokens()[0].access_token);
}

#[test]
fn header_format_prints_an_authorization_header() {
    let server = server();
    let outcome = Cli::new()
        .against(&server)
        .args(["--format", "header"])
        .run();
    let token = &server.issued_tokens()[0].access_token;
    assert_eq!(
        outcome.success(),
        format!("Authorization: Bearer {token}\n")
    );
}

#[test]
fn json_format_has_every_field_on_one_line() {
    let server = server();
    let outcome = Cli::new().against(&server).args(["--format", "json"]).run();
    let v = json_line(outcome.success());
    let issued = &server.issued_tokens()[0];
    assert_eq!(v["access_token"], issued.access_token.as_str());
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], json!(3599));
    assert_eq!(v["jti"], issued.jti.as_str());
    let scope = v["scope"].as_str().expect("scope is a string");
    assert!(
        scope.contains("tenant.") && scope.contains("user."),
        "{scope}"
    );
    let request_id = v["request_id"].as_str().expect("request_id is known");
    assert_eq!(request_id.len(), 36, "{request_id}");

    // expires_at: RFC 3339, UTC, `Z`; counted from when the request was sent, so never
    // after the server's expiry, and close to it.
    let expires_at = v["expires_at"].as_str().expect("expires_at is a string");
    let at = parse_rfc3339_utc(expires_at);
    let gap = secs_between(issued.expires_at, at);
    assert!(
        (0.0..3.0).contains(&gap),
        "{expires_at} vs {:?}",
        issued.expires_at
    );

    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "access_token",
        "token_type",
        "scope",
        "expires_in",
        "jti",
        "expires_at",
        "request_id",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
}

#[test]
fn json_keeps_token_type_and_expires_in_as_the_server_sent_them() {
    let server = server();
    server.push_faults([
        Fault::token_type("Bearer"),
        Fault::expires_in(json!("3599")),
        Fault::expires_in(json!(1800.5)),
    ]);
    let run = || {
        json_line(
            &Cli::new()
                .against(&server)
                .args(["--format", "json"])
                .run()
                .stdout,
        )
    };
    let first = run();
    assert_eq!(first["token_type"], "Bearer");
    assert_eq!(first["expires_in"], json!(3599));
    assert_eq!(run()["expires_in"], json!(3599));
    assert_eq!(run()["expires_in"], json!(1800.5));
}

#[test]
fn json_leaves_out_an_empty_request_id() {
    let server = server();
    let body = json!({
        "access_token": "c652cbc0ea384b9f81856a93a2a74538",
        "expires_in": 3599,
        "token_type": "bearer",
    });
    for empty in ["", "   "] {
        server.push_fault(Fault::respond(
            200,
            [
                ("Content-Type", JSON_CONTENT_TYPE),
                ("Zuora-Request-Id", empty),
            ],
            body.to_string(),
        ));
        let v = json_line(
            Cli::new()
                .against(&server)
                .args(["--format", "json"])
                .run()
                .success(),
        );
        assert_eq!(v["access_token"], "c652cbc0ea384b9f81856a93a2a74538");
        assert!(v.get("request_id").is_none(), "{empty:?}: {v}");
    }
}

#[test]
fn json_without_jti_or_scope() {
    let server = server();
    server.push_fault(Fault::TokenFields(
        TokenFields::default().without("jti").without("scope"),
    ));
    let v = json_line(
        Cli::new()
            .against(&server)
            .args(["--format", "json"])
            .run()
            .success(),
    );
    assert_eq!(v["jti"], Value::Null);
    // Absent, not empty: present as null.
    assert_eq!(v.get("scope"), Some(&Value::Null), "{v}");
    assert!(is_hex32(v["access_token"].as_str().unwrap()));
}

#[test]
fn track_id_and_entity_id_are_sent() {
    let server = server();
    Cli::new()
        .against(&server)
        .args(["--track-id", "nightly sync 42"])
        .args(["--entity-id", "11E643F4A3EE8BADB0610025904C756D"])
        .run()
        .token();
    let request = &server.requests()[0];
    assert_eq!(request.header("zuora-track-id"), Some("nightly sync 42"));
    assert_eq!(
        request.header("zuora-entity-ids"),
        Some("11e643f4-a3ee-8bad-b061-0025904c756d")
    );
}

#[test]
fn help_documents_every_option_variable_environment_and_exit_code() {
    let outcome = Cli::new().arg("--help").run();
    let help = outcome.success();
    for needle in [
        "--client-id",
        "--client-secret-file",
        "--env",
        "--base-url",
        "--track-id",
        "--entity-id",
        "--format",
        "token",
        "header",
        "json",
        "--retries",
        "--max-wait",
        "--timeout",
        "--cache",
        "--store",
        "--store-file",
        "--refresh",
        "--mock",
        "ZUORA_CLIENT_ID",
        "ZUORA_CLIENT_SECRET",
        "ZUORA_BASE_URL",
        "ZUORA_ENV",
        "XDG_CACHE_HOME",
        "ZUORA_TOKEN_STORE",
        "Retry-After",
        "Exit codes",
    ] {
        assert!(help.contains(needle), "--help lacks {needle}");
    }
    for name in [
        "prod", "prod-na", "prod-eu", "prod-ap", "sbx", "sbx-na", "sbx-eu", "csbx", "csbx-eu",
        "csbx-ap",
    ] {
        assert!(
            help.contains(&format!("\n  {name} ")),
            "--help lacks {name}"
        );
    }
    for code in ["0", "1", "2", "3", "4", "5", "6"] {
        assert!(
            help.contains(&format!("\n  {code}  ")),
            "--help lacks exit code {code}"
        );
    }
}

#[cfg(target_os = "linux")]
#[test]
fn an_unwritable_standard_output_exits_1() {
    // /dev/full refuses every write (ENOSPC).
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let server = server();
    let outcome = Cli::new().against(&server).stdout_to(full.into()).run();
    assert_eq!(outcome.code, 1, "{outcome:?}");
    assert!(
        outcome
            .stderr
            .starts_with("error: cannot write to standard output"),
        "{outcome:?}"
    );
}

#[test]
fn version_is_printed() {
    let outcome = Cli::new().arg("--version").run();
    assert!(outcome.success().starts_with("zuora-token "));
}

#[test]
fn mock_prints_a_token_with_no_credentials_and_no_network() {
    let outcome = Cli::new().arg("--mock").run();
    assert!(is_hex32(outcome.token()), "{outcome:?}");
}

#[test]
fn mock_ignores_credentials_and_targets_from_flags_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = Cli::new()
        .arg("--mock")
        .env("ZUORA_CLIENT_ID", "not-36-characters")
        .env(
            "ZUORA_CLIENT_SECRET",
            "a-real-looking-secret-from-the-shell",
        )
        .env("ZUORA_ENV", "prod")
        .env("ZUORA_BASE_URL", "http://zuora.example.com")
        .args(["--client-id", "also-wrong"])
        .arg("--client-secret-file")
        .arg(dir.path().join("does-not-exist"))
        .args(["--env", "moon"])
        .run();
    assert!(is_hex32(outcome.token()), "{outcome:?}");
    outcome.assert_no_secret("a-real-looking-secret-from-the-shell");
}

#[test]
fn mock_applies_the_other_options() {
    let outcome = Cli::new()
        .args([
            "--mock",
            "--format",
            "json",
            "--track-id",
            "demo",
            "--timeout",
            "5",
        ])
        .run();
    let v = json_line(outcome.success());
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], json!(3599));
    // Invalid values of those options are still refused.
    let bad = Cli::new().args(["--mock", "--track-id", "a:b"]).run();
    assert!(bad.usage_error().contains("Zuora-Track-Id"), "{bad:?}");
}

#[test]
fn a_lifetime_over_the_librarys_cap_prints_both_named() {
    // A 10-day token: the library keeps it for at most 24 h, and says so; expires_at
    // agrees with the lifetime it uses.
    let ten_days = 10 * 86_400;
    let server = MockServer::builder()
        .client(crate::helpers::CLIENT_ID, crate::helpers::SECRET)
        .token_lifetime(Duration::from_secs(ten_days))
        .start()
        .unwrap();
    let home = crate::helpers::Home::new();
    let run = || {
        let outcome = home
            .cli()
            .against(&server)
            .args(["--format", "json", "--cache"])
            .run();
        json_line(outcome.success())
    };
    let started = std::time::SystemTime::now();
    let v = run();
    assert_eq!(v["expires_in"], json!(86_400), "{v}");
    assert_eq!(v["server_expires_in"], json!(ten_days), "{v}");
    let at = parse_rfc3339_utc(v["expires_at"].as_str().unwrap());
    let gap = secs_between(at, started);
    assert!(
        (86_390.0..86_410.0).contains(&gap),
        "expires_at {gap} s away"
    );
    // From the cache: the lifetime used; the server's answer is not this run's.
    let cached = run();
    assert_eq!(cached["expires_in"], json!(86_400), "{cached}");
    assert_eq!(cached["expires_at"], v["expires_at"]);
    assert!(cached.get("server_expires_in").is_none(), "{cached}");
    assert_eq!(server.token_request_count(), 1);

    // Within the cap, both are the server's.
    let ordinary = json_line(
        crate::helpers::Cli::new()
            .against(&crate::helpers::server())
            .args(["--format", "json"])
            .run()
            .success(),
    );
    assert_eq!(ordinary["expires_in"], json!(3599));
    assert_eq!(ordinary["server_expires_in"], json!(3599));
}

#[test]
fn short_lived_tokens_print_like_long_ones() {
    let server = MockServer::builder()
        .client(crate::helpers::CLIENT_ID, crate::helpers::SECRET)
        .token_lifetime(Duration::from_secs(90))
        .start()
        .unwrap();
    let v = json_line(
        Cli::new()
            .against(&server)
            .args(["--format", "json"])
            .run()
            .success(),
    );
    assert_eq!(v["expires_in"], json!(90));
}
