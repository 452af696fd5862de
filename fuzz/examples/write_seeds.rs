//! Writes the committed seed corpora into `fuzz/seeds/<target>/` (replacing what is
//! there): every response shape of ZUORA.md, the validators' example values and named
//! lifecycle scenarios. Checks on the way that each input decodes to what was meant.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example write_seeds`

#![forbid(unsafe_code)]

use std::fs;
use std::path::{Path, PathBuf};

use zuora_oauth_fuzz::fleet::{FleetOp, FleetSpec, decode_fleet, encode_fleet};
use zuora_oauth_fuzz::{
    ConfigSpec, Op, SECRET, SECRET_FORM, SECRET_JSON_UNICODE, SHAPES, decode_lifecycle,
    encode_lifecycle, framing, shape,
};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let n = parse_response(&dir(&root, "parse_response"));
    println!("parse_response: {n} seeds");
    let n = validators(&dir(&root, "validators"));
    println!("validators: {n} seeds");
    let n = lifecycle(&dir(&root, "lifecycle"));
    println!("lifecycle: {n} seeds");
    let n = fleet(&dir(&root, "fleet"));
    println!("fleet: {n} seeds");
}

fn dir(root: &Path, target: &str) -> PathBuf {
    let d = root.join(target);
    if d.exists() {
        fs::remove_dir_all(&d).expect("clear the seed directory");
    }
    fs::create_dir_all(&d).expect("create the seed directory");
    d
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::write(dir.join(name), bytes).expect("write a seed");
}

/// The ZUORA.md token.
const TOKEN: &str = "c652cbc0ea384b9f81856a93a2a74538";

fn parse_response(d: &Path) -> usize {
    let mut n = 0;
    for index in 0..SHAPES {
        // param 0 gives the usual values (3599 s, no wait); 30 a Retry-After of 30 s.
        for param in [0u16, 30] {
            let s = shape(index, param, TOKEN);
            let framed = s.framed();
            // The framing round-trips.
            let decoded = framing::decode(&framed);
            let expected = s.to_http();
            assert_eq!(decoded.status(), expected.status(), "{}", s.name);
            assert_eq!(decoded.headers(), expected.headers(), "{}", s.name);
            assert_eq!(*decoded.body(), expected.body().as_slice(), "{}", s.name);
            write(d, &format!("{:02}-{}-{param}.txt", index, s.name), &framed);
            n += 1;
        }
    }
    let extra: &[(&str, String)] = &[
        (
            "crlf-and-indexed-names",
            "200\r\n#0: application/json\r\n#1: 5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10\r\n#5: 100\r\n#6: 0\r\n\r\n{\"access_token\":\"abc12345\",\"expires_in\":\"3599\",\"token_type\":\"BEARER\"}".into(),
        ),
        (
            "429-every-limit-header",
            "429\ncontent-type: application/json\nretry-after: Wed, 21 Oct 2015 07:28:00 GMT\ndate: Wed, 21 Oct 2015 07:27:00 GMT\nx-ratelimit-limit-minute: 100\nx-ratelimit-remaining-minute: 0\nratelimit-limit: 2250000, 50000;w=60, 2250000;w=3600\nratelimit-remaining: 0\nratelimit-reset: 17\n\n{\"message\":\"API rate limit exceeded\"}".into(),
        ),
        (
            "repeated-headers",
            "503\nretry-after: 5\nretry-after: 120\nzuora-request-id: first\nzuora-request-id: second\n\n".into(),
        ),
        (
            "secret-in-v1-reasons",
            format!(
                "403\ncontent-type: application/json\n\n{{\"success\":false,\"reasons\":[{{\"code\":\"{SECRET}\",\"message\":\"secret {SECRET_FORM} rejected\"}}]}}"
            ),
        ),
        (
            "secret-in-plain-text-429",
            format!("429\ncontent-type: text/plain\n\nrate limited: client_id=x&client_secret={SECRET_FORM}&grant_type=client_credentials"),
        ),
        (
            "token-in-form-echo-500",
            "500\ncontent-type: text/plain\n\naccess_token=c652cbc0ea384b9f81856a93a2a74538&expires_in=3599".into(),
        ),
        (
            "1xx-and-odd-status",
            "103\nlink: </style.css>; rel=preload\n\n".into(),
        ),
        (
            "json-problem-201",
            "201\ncontent-type: application/problem+json\n\n{\"access_token\":\"c652cbc0ea384b9f81856a93a2a74538\",\"expires_in\":86400.0,\"token_type\":\"bearer\",\"scope\":\"platform.write service.usage.write tenant.0\"}".into(),
        ),
        (
            "malformed-json-line-2",
            "200\ncontent-type: application/json\n\n{\"access_token\":\n \"abc\" \"expires_in\"}".into(),
        ),
        (
            // Finding 9 (fixed): an error description quoting an upstream JSON document
            // written by a Java encoder: in the raw body the secret's `=` is escaped twice
            // (`\\u003d`).
            "secret-java-escaped-inside-a-json-string-401",
            format!(
                r#"401
content-type: application/json

{{"error":"invalid_client","error_description":"upstream: {{\"client_secret\":\"{}\"}}"}}"#,
                SECRET_JSON_UNICODE.replace('\\', "\\\\")
            ),
        ),
        (
            // Finding 5 (fixed): a Java (Gson) encoder escapes `=` as `\u003d`.
            "secret-echo-java-json-escape-401",
            format!(
                r#"401
content-type: application/json

{{"error":"invalid_client","error_description":"Bad client credentials: client_secret={SECRET_JSON_UNICODE}"}}"#
            ),
        ),
        (
            // Finding 6 (fixed): the secret with only its `/` percent-encoded (lower case).
            "secret-partly-percent-encoded-200",
            format!("200\n\n{}", SECRET.replace('/', "%2f")),
        ),
        (
            // Every kind of spelling mixed in one occurrence, in the IDs the meta shows.
            "secret-mixed-spellings-in-headers-503",
            format!(
                "503\nzuora-track-id: {mixed}\nzuora-request-id: id {mixed} end\nwww-authenticate: {mixed}\n\n{{\"message\":\"{mixed}\"}}",
                mixed = r"f\u0055zZ\/s3cr3t%2bM4rk\u003DQ7vX9kL2pN8wR4tY6u%4a"
            ),
        ),
        (
            "empty-request-and-track-ids",
            "500\nzuora-request-id: \nzuora-track-id:    \ncontent-type: application/json\n\n{\"message\":\"x\"}".into(),
        ),
        (
            // Fields of the wrong type read as absent; integers are text.
            "error-detail-field-types-400",
            "400\ncontent-type: application/json\n\n{\"error\":1.5,\"error_description\":null,\"message\":[\"m\"],\"reasons\":[7,{\"code\":-53100020},{\"message\":{}},{\"code\":true,\"message\":\"why\"}]}".into(),
        ),
        (
            "utf8-and-nul-body",
            "400\ncontent-type: application/json\n\n{\"error\":\"invalid_request\",\"error_description\":\"caf\u{e9} \\u0000 \\n\u{2028}ok\"}".into(),
        ),
    ];
    for (name, text) in extra {
        write(d, &format!("x-{name}.txt"), text.as_bytes());
        n += 1;
    }
    n
}

fn validators(d: &Path) -> usize {
    let a4096 = "a".repeat(4096);
    let lists: &[(&str, Vec<&str>)] = &[
        (
            "client-ids",
            vec![
                "8a8a8a8a-0000-1111-2222-333344445555",
                "8a8a8a8a-0000-1111-2222-33334444555",
                "8a8a8a8a-0000-1111-2222-3333444455556",
                "ééééééééé-0000-1111-2222-33334444555",
                "",
            ],
        ),
        (
            "client-secrets",
            vec![
                "dG9wLXNlY3JldA==",
                "s3cr/t+with=signs",
                SECRET,
                "123456789012345678901234567890123456789012",
                "1234567890123456789012345678901234567890123",
                "秘密",
            ],
        ),
        (
            "track-ids",
            vec![
                "job-42 retry 1",
                "nightly-sync",
                "a:b",
                "a;b",
                "say \"hi\"",
                "it's",
                " padded",
                "padded ",
                "tab\there",
                "café",
                "0123456789012345678901234567890123456789012345678901234567890123",
                "01234567890123456789012345678901234567890123456789012345678901234",
                "~!@#$%^&*()_+`-={}[]|\\<>,.?/",
            ],
        ),
        (
            "entity-ids",
            vec![
                "11e643f4-a3ee-8bad-b061-0025904c756d",
                "11E643F4A3EE8BADB0610025904C756D",
                "11e643f4a3ee8badb0610025904c756d",
                "11e643f4-a3ee-8bad-b061-0025904c756",
                "11e643f4-a3ee8-bad-b061-0025904c756d",
                "11e643f4-a3ee-8bad-b061-0025904c756g",
                "{11e643f4-a3ee-8bad-b061-0025904c756d}",
                "11e643f4+a3ee+8bad+b061+0025904c756d",
            ],
        ),
        (
            "environment-names",
            vec![
                "prod",
                "prod-na",
                "prod-eu",
                "prod-ap",
                "sbx",
                "sbx-na",
                "sbx-eu",
                "csbx",
                "csbx-eu",
                "csbx-ap",
                "PROD-EU",
                " sbx ",
                "prod_eu",
                "production",
            ],
        ),
        (
            "base-urls",
            vec![
                "https://rest.pt1.zuora.com",
                "https://zuora-proxy.example.com/zuora/",
                "https://rest.zuora.com//",
                "HTTPS://REST.ZUORA.COM:443/",
                "http://127.0.0.1:8080",
                "http://127.1.2.3/mock",
                "http://localhost:9/",
                "http://LOCALHOST",
                "http://[::1]:8080",
                "http://[::ffff:127.0.0.1]",
                "http://zuora.example.com",
                "http://10.0.0.1",
                "https://user:pw@rest.zuora.com",
                "https://rest.zuora.com?x=1",
                "https://rest.zuora.com#frag",
                "ftp://rest.zuora.com",
                "rest.zuora.com",
                "/oauth/token",
                "https://",
                "https://rest.zuora.com/a b",
                "https://rest.zuora.com/%2F",
                "https://rest.zuora.com:0",
                "https://rest.zuora.com:1",
                "https://rest.zuora.com:65535/zuora",
                "https://rest.zuora.com:65536",
                "https://rest.zuora.com:",
                "https://rest.zuora.com:+443",
                "http://[::1]:",
                "http://127.0.0.1:0080",
            ],
        ),
        (
            "retry-after",
            vec![
                "30",
                " 120 ",
                "0",
                "Wed, 21 Oct 2015 07:28:00 GMT",
                "Sunday, 06-Nov-94 08:49:37 GMT",
                "Sun Nov  6 08:49:37 1994",
                "Fri, 31 Dec 9999 23:59:59 GMT",
                "99999999999999999999999",
                "-1",
                "1.5",
                "30s",
            ],
        ),
        (
            "scopes",
            vec![
                "user.7c4d5433dc234c369a01b9719ecd059f entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc entity.c92ed977-510c-4c48-9b51-8d5e848671e9 service.echo.read tenant.19",
                "platform.write service.usage.write tenant.0 new.thing",
                "user. entity. tenant. tenant.x tenant.18446744073709551616 service. service.a service..b service.a.b.c",
                "  \t user.x\x0c tenant.-1  ",
            ],
        ),
        (
            "access-tokens",
            vec![
                "c652cbc0ea384b9f81856a93a2a74538",
                "with space",
                "x",
                "tab\tinside",
                "é",
                "!~",
            ],
        ),
    ];
    let mut n = 0;
    for (name, values) in lists {
        write(d, &format!("{name}.txt"), values.join("\n").as_bytes());
        n += 1;
        // Each value on its own too, so that the whole-input path starts from it.
        for (i, v) in values.iter().enumerate() {
            write(d, &format!("{name}-{i:02}.txt"), v.as_bytes());
            n += 1;
        }
    }
    write(d, "access-token-4096.txt", a4096.as_bytes());
    write(d, "access-token-4097.txt", format!("{a4096}b").as_bytes());
    n + 2
}

fn lifecycle(d: &Path) -> usize {
    use Op::*;
    let default = ConfigSpec {
        seed: 7,
        budget: 9,  // 10 per minute, the default
        jitter: 10, // the default
        ..ConfigSpec::default()
    };
    let mut scenarios: Vec<(String, ConfigSpec, Vec<Op>)> = Vec::new();
    let ok = |param| Respond { shape: 0, param };
    scenarios.push((
        "first-fetch-then-refresh".into(),
        default,
        vec![
            Poll,
            Poll,
            ok(0),
            Poll,
            AdvanceSecs(3000),
            Poll,
            AdvanceSecs(299),
            Poll,
            Poll,
            ok(0),
            Poll,
            Probe,
        ],
    ));
    // Every shape as the answer to the first request, then time passes.
    for shape_index in 0..SHAPES {
        let s = shape(shape_index, 30, "x");
        scenarios.push((
            format!("shape-{shape_index:02}-{}", s.name),
            default,
            vec![
                Poll,
                Respond {
                    shape: shape_index,
                    param: 30,
                },
                Poll,
                Probe,
                AdvanceSecs(31),
                Poll,
                Drive { shape: 0, param: 0 },
                Poll,
                Probe,
            ],
        ));
    }
    scenarios.push((
        "refresh-failures-back-off-then-expire".into(),
        default,
        vec![
            Drive { shape: 0, param: 0 },
            AdvanceSecs(3599 - 290),
            Drive {
                shape: 11,
                param: 0,
            },
            Poll,
            AdvanceSecs(1),
            Drive {
                shape: 7,
                param: 30,
            },
            AdvanceSecs(29),
            Poll,
            AdvanceSecs(1),
            Drive {
                shape: 8,
                param: 40,
            },
            AdvanceSecs(40),
            Drive {
                shape: 12,
                param: 5,
            },
            AdvanceSecs(300),
            Poll,
            Probe,
            AdvanceSecs(600),
            Drive { shape: 0, param: 0 },
            Poll,
        ],
    ));
    // Zuora's own signals: a 429 with only `RateLimit-Reset` (42 s), a token whose answer
    // says nothing remains (reset in 20 s) then refused by the API, a token from elsewhere
    // during the wait, a reset that ends it.
    scenarios.push((
        "ratelimit-reset-holds-requests-back".into(),
        default,
        vec![
            Drive { shape: 9, param: 0 },
            Poll,
            AdvanceSecs(41),
            Poll,
            Probe,
            AdvanceSecs(1),
            Poll,
            AdvanceSecs(4),
            Drive {
                shape: 30,
                param: 20,
            },
            Poll,
            InvalidateCurrent,
            Poll,
            Probe,
            AdvanceSecs(5),
            Adopt { life: 6, age: 0 },
            InvalidateCurrent,
            Poll,
            AdvanceSecs(16),
            Poll,
            Drive {
                shape: 30,
                param: 600,
            },
            InvalidateCurrent,
            Poll,
            Reset,
            Poll,
            Probe,
        ],
    ));
    // Found by the lifecycle target: a rejection whose answer asked to wait (a
    // `Retry-After` date), then a token from elsewhere refused by the API: pollers got the
    // rejection back with a retry time. They get the wait (`Error::ServerWait`), transient.
    scenarios.push((
        "rejection-with-a-wait-then-adopted-token-refused".into(),
        ConfigSpec {
            reprobe: 128 + 1, // every second
            ..default
        },
        vec![
            Poll,
            RetryAfterDate {
                status: 4,
                offset: 60,
            },
            Poll,
            AdvanceSecs(1),
            Adopt { life: 6, age: 0 },
            InvalidateCurrent,
            Poll,
            Probe,
            AdvanceSecs(60),
            Poll,
        ],
    ));
    scenarios.push((
        "rejection-is-permanent-until-reset".into(),
        default,
        vec![
            Drive { shape: 3, param: 0 },
            Poll,
            AdvanceSecs(3600),
            Poll,
            Probe,
            Reset,
            Drive { shape: 5, param: 0 },
            Poll,
            Reconfigure(1),
            Drive { shape: 0, param: 0 },
            Poll,
        ],
    ));
    scenarios.push((
        "rejection-reprobe".into(),
        ConfigSpec {
            reprobe: 128 + 3, // every 600 s
            ..default
        },
        vec![
            Drive { shape: 6, param: 0 },
            Poll,
            AdvanceSecs(599),
            Poll,
            AdvanceSecs(1),
            Drive { shape: 4, param: 0 },
            AdvanceSecs(600),
            Drive { shape: 0, param: 0 },
            Poll,
        ],
    ));
    scenarios.push((
        "invalidate-storm-small-budget".into(),
        ConfigSpec {
            budget: 2,
            ..default
        },
        vec![
            Drive { shape: 0, param: 0 },
            Poll,
            InvalidateCurrent,
            InvalidateCurrent,
            Drive { shape: 0, param: 0 },
            InvalidateCurrent,
            Drive { shape: 0, param: 0 },
            InvalidateCurrent,
            Poll,
            Probe,
            AdvanceSecs(60),
            Poll,
            Invalidate(1),
            Invalidate(200),
        ],
    ));
    scenarios.push((
        "cancel-and-stale-answers".into(),
        ConfigSpec {
            budget: 1,
            ..default
        },
        vec![
            Poll,
            Cancel,
            Poll,
            AdvanceSecs(60),
            Poll,
            StaleRespond { which: 0, shape: 0 },
            StaleTransport { which: 0 },
            StaleCancel { which: 0 },
            Transport(2),
            Poll,
            AdvanceSecs(61),
            Drive { shape: 0, param: 0 },
            StaleRespond { which: 1, shape: 0 },
            Poll,
        ],
    ));
    scenarios.push((
        "reconfigure-mid-flight".into(),
        default,
        vec![
            Poll,
            Reconfigure(2),
            StaleRespond { which: 0, shape: 0 },
            Poll,
            Reconfigure(3),
            Poll,
            ok(0),
            Poll,
            Probe,
        ],
    ));
    scenarios.push((
        "time-backwards-and-huge-jumps".into(),
        default,
        vec![
            AdvanceSecs(1000),
            Drive { shape: 0, param: 0 },
            BackMs(60_000),
            Poll,
            Jump(0),
            Poll,
            Jump(4),
            Drive { shape: 0, param: 0 },
            Jump(3),
            Poll,
            Transport(0),
            Poll,
            Transport(4),
            Poll,
            Cancel,
            Poll,
            Probe,
            Adopt { life: 9, age: 0 },
            Poll,
        ],
    ));
    scenarios.push((
        "adopted-tokens".into(),
        default,
        vec![
            Adopt { life: 6, age: 0 },
            Poll,
            Adopt { life: 3, age: 0 },
            AdoptSecs {
                secs: 1800,
                age_ms: 0,
            },
            Adopt { life: 0, age: 0 },
            AdvanceSecs(1600),
            Poll,
            ok(0),
            Adopt { life: 8, age: 0 },
            Poll,
            Adopt { life: 9, age: 0 },
            Poll,
            Probe,
        ],
    ));
    scenarios.push((
        "huge-window-adopt-forever".into(),
        ConfigSpec {
            window: 11,
            jitter: 100,
            ..default
        },
        vec![
            Adopt { life: 9, age: 0 },
            Poll,
            Adopt { life: 8, age: 0 },
            Poll,
            Drive { shape: 0, param: 6 },
            Probe,
        ],
    ));
    scenarios.push((
        "zero-window-tiny-lifetimes".into(),
        ConfigSpec {
            window: 1,
            backoff: 0x22,
            ..default
        },
        vec![
            Drive {
                shape: 24,
                param: 0,
            },
            AdvanceMs(1),
            Drive {
                shape: 24,
                param: 0,
            },
            AdvanceMs(1),
            Drive { shape: 1, param: 1 },
            AdvanceMs(1),
            Drive { shape: 0, param: 2 },
            Poll,
            Probe,
        ],
    ));
    scenarios.push((
        "raw-zuora-success-body".into(),
        default,
        vec![
            Poll,
            RespondRaw {
                status: 200,
                content_type: 2,
                body: br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"jti":"c652cbc0ea384b9f81856a93a2a74539","scope":"tenant.19","token_type":"bearer"}"#.to_vec(),
            },
            Poll,
            AdvanceSecs(3400),
            Poll,
            RespondRaw {
                status: 503,
                content_type: 3,
                body: b"<html>503</html>".to_vec(),
            },
            Poll,
        ],
    ));
    scenarios.push((
        "backoff-caps-and-long-retry-after".into(),
        ConfigSpec {
            backoff: 0x99, // base and cap Duration::MAX
            ..default
        },
        vec![
            Drive {
                shape: 10,
                param: 0,
            },
            Poll,
            Probe,
            Jump(1),
            Drive {
                shape: 7,
                param: 65535,
            },
            Poll,
            Jump(2),
            Poll,
        ],
    ));
    lifecycle_policy(&mut scenarios, default);
    let mut n = 0;
    for (name, config, ops) in &scenarios {
        let bytes = encode_lifecycle(config, ops);
        let (c, o) = decode_lifecycle(&bytes);
        assert_eq!((&c, &o), (config, ops), "{name} does not round-trip");
        write(d, &format!("{name}.bin"), &bytes);
        n += 1;
    }
    n
}

/// Scenarios for the rules of the core's policy: the request deadline, the minimum
/// remaining lifetime, long lifetimes clamped, the one retry policy, the `Retry-After` cap
/// (and dates without `Date`), adopted records and records from a shared store.
fn lifecycle_policy(scenarios: &mut Vec<(String, ConfigSpec, Vec<Op>)>, default: ConfigSpec) {
    use Op::*;
    let ok = Drive { shape: 0, param: 0 };
    let mut add = |name: &str, config: ConfigSpec, ops: Vec<Op>| {
        scenarios.push((name.into(), config, ops));
    };
    add(
        "lost-outcome-times-out-at-the-deadline",
        default,
        vec![
            Poll,
            AdvanceSecs(34),
            Poll,
            AdvanceMs(999),
            Poll,
            AdvanceMs(1),
            Poll,
            StaleRespond { which: 0, shape: 0 },
            Poll,
            Probe,
            AdvanceSecs(1),
            Poll,
            AdvanceSecs(40),
            Respond { shape: 0, param: 0 },
            Poll,
            Probe,
        ],
    );
    add(
        "lost-refresh-keeps-the-token",
        ConfigSpec {
            deadline: 4, // 10 s
            ..default
        },
        vec![
            ok.clone(),
            AdvanceSecs(3300),
            Poll,
            AdvanceSecs(10),
            Poll,
            Probe,
            AdvanceSecs(1),
            Drive { shape: 0, param: 0 },
            Probe,
        ],
    );
    add(
        "zero-deadline",
        ConfigSpec {
            deadline: 1,
            budget: 2,
            ..default
        },
        vec![
            Poll,
            Poll,
            Poll,
            Poll,
            Probe,
            AdvanceSecs(60),
            ok.clone(),
            Poll,
        ],
    );
    add(
        "retry-after-capped",
        default,
        vec![
            Drive {
                shape: 7,
                param: 65535,
            },
            Poll,
            Probe,
            AdvanceSecs(899),
            Poll,
            AdvanceSecs(1),
            Drive {
                shape: 12,
                param: 3600,
            },
            AdvanceSecs(900),
            ok.clone(),
            Poll,
        ],
    );
    add(
        "retry-after-cap-of-90-seconds",
        ConfigSpec {
            max_wait: 4,
            ..default
        },
        vec![
            Drive {
                shape: 8,
                param: 3600,
            },
            Poll,
            AdvanceSecs(90),
            Drive {
                shape: 27,
                param: 600,
            },
            Poll,
            AdvanceSecs(90),
            ok.clone(),
        ],
    );
    add(
        "retry-after-date-without-date-header",
        default,
        vec![
            Poll,
            RetryAfterDate {
                status: 0,
                offset: 45,
            },
            Poll,
            AdvanceSecs(44),
            Poll,
            AdvanceSecs(1),
            Poll,
            WallSkew(-30),
            RetryAfterDate {
                status: 1,
                offset: 3600,
            },
            Poll,
            AdvanceSecs(900),
            Poll,
            RetryAfterDate {
                status: 4,
                offset: -60,
            },
            Poll,
            Probe,
        ],
    );
    add(
        "not-handed-out-in-the-last-30-seconds",
        default,
        vec![
            ok.clone(),
            AdvanceSecs(3300),
            Drive {
                shape: 12,
                param: 600,
            },
            AdvanceSecs(268),
            AdvanceMs(999),
            Poll,
            AdvanceMs(1),
            Poll,
            Probe,
            AdvanceSecs(600),
            ok.clone(),
        ],
    );
    add(
        "min-remaining-longer-than-the-window",
        ConfigSpec {
            min_remaining: 4, // 300 s
            window: 4,        // 60 s
            ..default
        },
        vec![
            ok.clone(),
            AdvanceSecs(3000),
            Poll,
            AdvanceSecs(239),
            Poll,
            Respond { shape: 0, param: 3 }, // a 30 s token
            Poll,
            AdvanceSecs(15),
            Poll,
            Probe,
        ],
    );
    add(
        "long-lifetimes-clamped",
        default,
        vec![
            Drive {
                shape: 28,
                param: 0,
            }, // ten days
            AdvanceSecs(60_000),
            Poll,
            AdvanceSecs(26_100),
            Poll,
            Respond {
                shape: 28,
                param: 3,
            }, // 1e300
            Probe,
            Jump(1),
            Poll,
            Respond {
                shape: 28,
                param: 2,
            },
            Poll,
        ],
    );
    add(
        "short-max-lifetime",
        ConfigSpec {
            max_lifetime: 4, // 60 s
            ..default
        },
        vec![
            ok.clone(),
            Poll,
            AdvanceSecs(15),
            Poll,
            AdvanceSecs(15),
            Drive {
                shape: 28,
                param: 1,
            },
            Probe,
        ],
    );
    add(
        "zero-max-lifetime",
        ConfigSpec {
            max_lifetime: 1,
            budget: 3,
            ..default
        },
        vec![ok.clone(), Poll, ok.clone(), Poll, ok.clone(), Poll, Probe],
    );
    add(
        "permanent-failures-wait-for-reset",
        default,
        vec![
            Drive {
                shape: 15,
                param: 0,
            },
            Poll,
            AdvanceSecs(3600),
            Poll,
            Reset,
            Poll,
            Transport(3), // TLS
            Jump(0),
            Poll,
            Reset,
            Poll,
            Transport(5), // body too large
            Reset,
            Drive {
                shape: 16,
                param: 0,
            },
            Reset,
            Drive {
                shape: 17,
                param: 0,
            },
            Reset,
            Drive {
                shape: 26,
                param: 0,
            }, // 408: transient
            AdvanceSecs(2),
            Drive {
                shape: 27,
                param: 5,
            }, // 425: transient
            Probe,
        ],
    );
    add(
        "permanent-failure-reprobe",
        ConfigSpec {
            reprobe: 128 + 2, // every 60 s
            ..default
        },
        vec![
            Drive {
                shape: 15,
                param: 0,
            },
            AdvanceSecs(59),
            Poll,
            AdvanceSecs(1),
            Poll,
            Transport(3),
            AdvanceSecs(60),
            Drive {
                shape: 12,
                param: 30,
            },
            Poll,
            AdvanceSecs(30),
            ok.clone(),
        ],
    );
    add(
        "shared-store-records",
        default,
        vec![
            Poll,
            Record { life: 6, age: 0 },
            Poll,
            AdvanceSecs(3300),
            Poll,
            Record { life: 6, age: 4 },
            Poll,
            Record { life: 0, age: 0 },
            Poll,
            StaleRecord { which: 0 },
            Record { life: 7, age: 2 },
            Probe,
            Poll,
            AdvanceSecs(40),
            Record { life: 6, age: 0 },
            Probe,
        ],
    );
    add(
        "adopt-at-the-minimum-remaining-lifetime",
        ConfigSpec {
            min_remaining: 4, // 300 s
            ..default
        },
        vec![
            AdoptSecs {
                secs: 60,
                age_ms: 30_000,
            }, // 30 s left: not over half of 60
            AdoptSecs {
                secs: 60,
                age_ms: 29_999,
            }, // 30.001 s left: over half of 60
            Poll,
            Reconfigure(0),
            Adopt { life: 5, age: 3 }, // 600 s issued 299 s ago: 301 s left
            Poll,
            AdoptSecs {
                secs: 600,
                age_ms: 0,
            },
            AdoptSecs {
                secs: 700,
                age_ms: 40_000,
            }, // 660 s left, half of 700 is 350
            AdoptSecs {
                secs: 700,
                age_ms: 50_000,
            }, // 650 s left: outlives nothing
            AdvanceSecs(300),
            Poll,
            Poll,
            Probe,
        ],
    );
    add(
        // Finding 7 (fixed): a refresh window of `Duration::MAX` and a token that lives for
        // ever, fetched at time zero with no minimum remaining lifetime and no maximum
        // lifetime: its usable life is not shorter than twice the window, so the lead is
        // the window plus the jitter, which overflowed.
        "endless-token-with-an-endless-window",
        ConfigSpec {
            seed: 7,
            budget: 9,
            window: 11,       // Duration::MAX
            jitter: 10,       // the default
            min_remaining: 1, // zero
            max_lifetime: 7,  // Duration::MAX
            ..ConfigSpec::default()
        },
        vec![
            Poll,
            Respond {
                shape: 28,
                param: 2, // expires_in 2^64 s: Duration::MAX
            },
            Poll,
        ],
    );
    add(
        // Finding 8 (fixed): a request sent at time zero with an endless deadline, and the
        // clock at the end of time: the request times out, and its message rounded the
        // deadline up to whole seconds, which overflowed for `Duration::MAX`.
        "endless-deadline-at-the-end-of-time",
        ConfigSpec {
            seed: 7,
            budget: 9,
            jitter: 10,
            deadline: 8, // Duration::MAX
            ..ConfigSpec::default()
        },
        vec![Poll, Jump(3), Poll],
    );
    add(
        // Finding 5 (fixed): a 401 echoing the secret Java-escaped.
        "secret-echo-java-json-escape-401",
        default,
        vec![
            Poll,
            RespondRaw {
                status: 401,
                content_type: 0,
                body: format!(
                    r#"{{"error":"invalid_client","error_description":"Bad client credentials: client_secret={SECRET_JSON_UNICODE}"}}"#
                )
                .into_bytes(),
            },
            Poll,
        ],
    );
    add(
        // A 250 s token (220 s of use at the default 30 s minimum) adopted 60 s after its
        // issue refreshes 50 s later, 10 s after its issue 100 s later (halfway through
        // its use counted from its issue); a 100 s token 60 s old is past halfway: due.
        "adopted-short-token-refreshes-from-its-issue",
        default,
        vec![
            AdoptSecs {
                secs: 250,
                age_ms: 60_000,
            },
            Reconfigure(0),
            AdoptSecs {
                secs: 250,
                age_ms: 10_000,
            },
            Poll,
            AdvanceSecs(99),
            Poll,
            AdvanceSecs(1),
            Poll,
            Respond { shape: 0, param: 0 },
            Reconfigure(0),
            AdoptSecs {
                secs: 100,
                age_ms: 60_000,
            }, // 70 s of use since its issue, 60 s of it gone: due at once
            Poll,
            Probe,
        ],
    );
    add(
        // A record the machine does not take leaves the request in flight: answered
        // afterwards by Zuora, by a better record, or timed out at the deadline.
        "record-not-taken-stays-in-flight",
        default,
        vec![
            Poll,
            Record { life: 0, age: 0 }, // lifetime zero
            Probe,
            Record { life: 6, age: 4 }, // 3599 s issued 3000 s ago: fine
            Poll,
            AdvanceSecs(300),
            Poll,
            Record { life: 3, age: 0 }, // 1 s: not over half of it left
            Record { life: 4, age: 0 }, // 299 s: expires with the token in hand, not after
            AdvanceSecs(10),
            Respond { shape: 0, param: 0 },
            Poll,
            AdvanceSecs(3300),
            Poll,
            Record { life: 0, age: 0 },
            AdvanceSecs(35),
            Record { life: 6, age: 0 }, // too late: the request timed out
            Poll,
            Probe,
        ],
    );
    add(
        // A window equal to the minimum remaining lifetime counts back from the end of
        // use (the window alone decides; the jitter does not move the refresh to just
        // before the end of use).
        "window-equal-to-the-minimum-remaining",
        ConfigSpec {
            min_remaining: 4, // 300 s
            jitter: 100,
            ..default
        },
        vec![
            ok.clone(),
            Poll,
            AdvanceSecs(2700),
            Poll,
            AdvanceSecs(300),
            Poll,
            Respond { shape: 0, param: 0 },
            Probe,
        ],
    );
    add(
        "records-with-skewed-clocks",
        default,
        vec![
            Adopt { life: 6, age: 6 },
            Adopt { life: 6, age: 7 },
            Poll,
            WallSkew(3000),
            Probe,
            Poll,
            WallSkew(-6000),
            Adopt { life: 5, age: 3 },
            Adopt { life: 8, age: 5 },
            Adopt { life: 9, age: 7 },
            Poll,
            InvalidateCurrent,
            Poll,
            Invalidate(0),
            Record { life: 6, age: 1 },
            Probe,
        ],
    );
}

/// Named attempts of one process sharing tokens through a store (the answers of `Step`:
/// a load `kind % 5` with its record living `RECORD_LIFETIMES[answer / 5]`, a lease `% 3`,
/// the rest `& 1`; see `zuora_oauth_fuzz::fleet::FleetOp`).
fn fleet(d: &Path) -> usize {
    use FleetOp::*;
    // Step answers.
    const NONE: u8 = 3; // load: no record
    const DOWN: u8 = 4; // load: store failure
    const HOUR_RECORD: u8 = 30; // load: a new 3599 s record issued now
    const TAKEN: u8 = 0; // lease taken
    const HELD: u8 = 1; // lease held by another process
    const OK: u8 = 1;
    const FAILED: u8 = 0;
    let default = FleetSpec {
        seed: 7,
        ..FleetSpec::default()
    };
    let replacing = FleetSpec {
        current: 7,     // a 3599 s token…
        current_age: 4, // …issued 3000 s ago
        ..default
    };
    let scenarios: Vec<(&str, FleetSpec, Vec<FleetOp>)> = vec![
        (
            "first-process-fetches-saves-releases",
            default,
            vec![
                Step(NONE),
                Step(TAKEN),
                Step(NONE),
                Step(OK),
                Step(OK),
                Step(OK),
                Poll,
            ],
        ),
        (
            "adopts-a-shared-record",
            default,
            vec![Step(HOUR_RECORD), Step(OK), Poll],
        ),
        (
            "record-not-taken-goes-to-the-lease",
            default,
            vec![
                Step(HOUR_RECORD),
                Step(FAILED),
                Step(TAKEN),
                Step(HOUR_RECORD),
                Step(FAILED),
                Step(OK),
                Step(OK),
                Step(OK),
                Poll,
            ],
        ),
        (
            "holder-adopts-what-another-stored",
            default,
            vec![
                Step(NONE),
                Step(TAKEN),
                Step(HOUR_RECORD),
                Step(OK),
                Step(OK),
                Poll,
            ],
        ),
        (
            "waits-for-the-holder-then-adopts",
            default,
            vec![
                Step(NONE),
                Step(HELD),
                Poll,
                Step(0),
                Step(NONE),
                Step(0),
                Step(NONE),
                Step(0),
                Step(HOUR_RECORD),
                Step(OK),
                Poll,
            ],
        ),
        (
            "lease-expires-then-taken",
            default,
            vec![
                Step(NONE),
                Step(HELD),
                AdvanceSecs(40),
                Step(NONE), // one TTL (40 s) after the refusal: try again
                Step(TAKEN),
                Step(NONE),
                Step(OK),
                Step(OK),
                Step(OK),
                Poll,
            ],
        ),
        (
            "lease-never-free-fetch-without-it",
            default,
            vec![
                Step(NONE),
                Step(HELD),
                AdvanceSecs(40),
                Step(NONE),
                Step(HELD),
                AdvanceSecs(40),
                Step(NONE),
                Step(HELD), // twice the TTL: fetch without the store
                Step(OK),
                Poll,
            ],
        ),
        (
            "store-failures-fetch-locally",
            default,
            vec![
                Step(DOWN),
                Step(OK),
                Poll,
                // A failed lease command may have taken the lease: fetch, save, release.
                Restart { current: 0, age: 0 },
                Step(NONE),
                Leased(2),
                Step(OK),
                Step(OK),
                Step(OK),
                Poll,
                // The holder's second look fails: fetch, then save and release.
                Restart { current: 0, age: 0 },
                Step(NONE),
                Step(TAKEN),
                Step(DOWN),
                Step(OK),
                Step(FAILED),
                Step(OK),
                Poll,
                // As holder, everything fails after the lease: the release is still asked.
                Restart { current: 0, age: 0 },
                Step(NONE),
                Step(TAKEN),
                Step(DOWN),
                Step(FAILED),
                Step(FAILED),
                Poll,
            ],
        ),
        (
            "failed-save-and-fetch-still-release",
            default,
            vec![
                Step(NONE),
                Step(TAKEN),
                Step(NONE),
                Step(OK),
                Step(FAILED),
                Step(FAILED),
                Poll,
                Restart { current: 0, age: 0 },
                Step(NONE),
                Step(TAKEN),
                Step(NONE),
                Step(FAILED),
                Step(OK),
                Poll,
            ],
        ),
        (
            "the-token-being-replaced-is-not-adopted",
            replacing,
            vec![
                Step(1), // the same token again
                Step(TAKEN),
                Step(2), // another token expiring with it: newer is not needed
                Step(OK),
                Step(OK),
                Poll,
            ],
        ),
        (
            "records-near-the-skew-margin",
            FleetSpec {
                min_remaining: 3, // 300 s
                skew: 3,          // 600 s
                ..default
            },
            vec![
                Loaded {
                    kind: 0,
                    life: 6, // 3599 s
                    age: 4,  // 3000 s ago: 599 s left, not over 900
                },
                Poll,
                Leased(0),
                Loaded {
                    kind: 0,
                    life: 7, // a day
                    age: 4,
                },
                Poll,
                Adopted(true),
                Poll,
                Released(true),
                Poll,
            ],
        ),
        (
            "reports-nobody-asked-for",
            default,
            vec![
                Fetched(true),
                Saved(true),
                Released(true),
                Adopted(true),
                Leased(0),
                Poll,
                Poll,
                Loaded {
                    kind: 3,
                    life: 0,
                    age: 0,
                },
                Loaded {
                    kind: 0,
                    life: 6,
                    age: 0,
                },
                Poll,
                Leased(1),
                Leased(0),
                Poll,
                BackMs(1000),
                Poll,
                AdvanceMs(250),
                Poll,
            ],
        ),
        (
            "shortest-ttl-and-zero-polls",
            FleetSpec {
                ttl: 1,            // no least TTL…
                fetch_deadline: 1, // …and a zero fetch deadline: the 5 s margin alone
                poll: 1,
                ..default
            },
            vec![
                Step(NONE),
                Step(HELD),
                AdvanceSecs(5),
                Step(NONE),
                Step(HELD),
                AdvanceSecs(5),
                Step(NONE),
                Step(HELD),
                Step(OK),
                Poll,
            ],
        ),
        (
            "lease-as-long-as-a-slow-fetch",
            FleetSpec {
                fetch_deadline: 4, // 120 s: a 125 s lease
                ..default
            },
            vec![
                Step(NONE),
                Step(HELD),
                AdvanceSecs(60), // a 10 s TTL would have run out
                Step(NONE),
                Step(0),
                Step(NONE),
                AdvanceSecs(70),
                Step(NONE),
                Step(TAKEN),
                Step(NONE),
                Step(OK),
                Step(OK),
                Step(OK),
                Poll,
            ],
        ),
        (
            "endless-lease-and-polls",
            FleetSpec {
                ttl: 5,
                poll: 6,
                skew: 5,
                min_remaining: 5,
                ..default
            },
            vec![
                Step(HOUR_RECORD),
                Step(HELD),
                Poll,
                Step(0),
                Step(NONE),
                Poll,
            ],
        ),
        (
            "wall-clock-skew",
            replacing,
            vec![
                WallSkew(-600),
                Step(HOUR_RECORD),
                Step(OK),
                Restart { current: 7, age: 0 },
                WallSkew(4000),
                Step(HOUR_RECORD),
                Step(OK),
            ],
        ),
    ];
    for (name, spec, ops) in &scenarios {
        let bytes = encode_fleet(spec, ops);
        let (s, o) = decode_fleet(&bytes);
        assert_eq!((&s, &o), (spec, ops), "{name} does not round-trip");
        write(d, &format!("{name}.bin"), &bytes);
    }
    scenarios.len()
}
