//! The input validators, checked against Zuora's rules with fixed examples and with
//! 10,000 generated cases per property.

mod common;

use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;
use proptest::sample::select;
use zuora_oauth_core::{
    ClientId, ClientSecret, EntityId, Environment, InvalidInput, TrackId, ZUORA_ENTITY_IDS,
    ZUORA_TRACK_ID,
};

const CASES: u32 = 10_000;

// ---- generators ----

/// Strings of up to `max` characters from several alphabets: printable ASCII, anything
/// (controls, non-ASCII, astral), and a mixture biased toward the edges of the rules.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!("[a-zA-Z0-9 _.-]{{0,{max}}}")).unwrap(),
        proptest::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter),
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range('a', 'z'),
                1 => select(vec![' ', ':', ';', '"', '\'', '\t', '\n', '\r', '\0', '\x7f', '\u{85}', 'é', '€', '𝄞', '\u{a0}']),
            ],
            0..=max,
        )
        .prop_map(String::from_iter),
    ]
}

/// A character that can never appear in a header-safe ID: Zuora's forbidden four,
/// C0 and C1 controls, DEL, and anything beyond ASCII.
fn bad_char() -> impl Strategy<Value = char> {
    prop_oneof![
        select(vec![':', ';', '"', '\'']),
        proptest::char::range('\0', '\x1f'),
        Just('\x7f'),
        proptest::char::range('\u{80}', '\u{9f}'),
        proptest::char::range('\u{a0}', '\u{10ffff}'),
    ]
}

/// Printable ASCII except Zuora's forbidden four.
const TRACK_CHARS: &str = "[ !#-&(-9<-~]";

fn valid_track_id() -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[!#-&(-9<-~]({TRACK_CHARS}{{0,62}}[!#-&(-9<-~])?"))
        .unwrap()
}

/// Inserts `c` at a position chosen by `at` (taken modulo the number of positions).
fn insert_at(s: &str, at: usize, c: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let i = at % (chars.len() + 1);
    chars[..i]
        .iter()
        .chain(std::iter::once(&c))
        .chain(&chars[i..])
        .collect()
}

fn header_ok(s: &str) -> bool {
    http::HeaderValue::from_str(s).is_ok_and(|v| v.to_str().ok() == Some(s))
}

// ---- oracles: the rules as ZUORA.md states them (plus, for the track ID, one of HTTP's) ----

/// ZUORA.md: 1 to 64 US-ASCII characters, none of `: ; " '`, no control characters. HTTP
/// adds one: a header value that starts or ends with a space loses it (header values are
/// trimmed), so such a track ID would not come back as sent; the validator refuses it.
fn zuora_allows_track_id(s: &str) -> bool {
    let n = s.chars().count();
    (1..=64).contains(&n)
        && s.chars().all(|c| (' '..='~').contains(&c))
        && !s.contains([':', ';', '"', '\''])
        && !s.starts_with(' ')
        && !s.ends_with(' ')
}

fn is_uuid_shape(s: &str) -> bool {
    let hyphenated = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    let bare = s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit());
    hyphenated || bare
}

/// The canonical entity ID: hyphenated 8-4-4-4-12, lower-case.
fn canonical_entity(hex32: &str) -> String {
    let h = hex32.to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

// ---- ClientId ----

#[test]
fn client_id_fixed_examples() {
    assert!(ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").is_ok());
    assert_eq!(
        "8a8a8a8a-0000-1111-2222-333344445555"
            .parse::<ClientId>()
            .unwrap()
            .to_string(),
        "8a8a8a8a-0000-1111-2222-333344445555"
    );
    for bad in ["", "short", &"a".repeat(35), &"a".repeat(37)] {
        let err = ClientId::new(bad).unwrap_err();
        assert_eq!(err.field(), "client_id");
        assert!(err.rule().contains("exactly 36 characters"), "{err}");
    }
    // Characters, not bytes: 36 two-byte characters pass, 18 of them (36 bytes) do not.
    assert!(ClientId::new("é".repeat(36)).is_ok());
    let err = ClientId::new("é".repeat(18)).unwrap_err();
    assert!(err.rule().contains("got 18"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn client_id_is_exactly_36_characters(
        s in prop_oneof![any_text(40), "\\PC{36}", "[ -~]{36}", "[é€𝄞a]{34,38}"]
    ) {
        let n = s.chars().count();
        match ClientId::new(&s) {
            Ok(id) => {
                prop_assert_eq!(n, 36);
                prop_assert_eq!(id.as_str(), s.as_str());
                prop_assert_eq!(id.to_string(), s.clone());
                prop_assert_eq!(s.parse::<ClientId>().unwrap(), id);
            }
            Err(e) => {
                prop_assert_ne!(n, 36);
                prop_assert_eq!(e.field(), "client_id");
                let expected = format!("got {n}");
                prop_assert!(e.rule().contains(&expected), "{}", e);
            }
        }
    }
}

// ---- ClientSecret ----

#[test]
fn client_secret_fixed_examples() {
    let secret = ClientSecret::new("s3cr/t+with=signs").unwrap();
    assert_eq!(secret.expose_secret(), "s3cr/t+with=signs");
    assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
    assert!(ClientSecret::new("x".repeat(42)).is_ok());
    assert!(
        ClientSecret::new("🔑".repeat(42)).is_ok(),
        "42 characters, 168 bytes"
    );

    let err = ClientSecret::new("").unwrap_err();
    assert_eq!(err.field(), "client_secret");
    assert!(err.rule().contains("empty"), "{err}");

    let long = "TOP-SECRET-".repeat(4); // 44 characters
    let err = ClientSecret::new(long.clone()).unwrap_err();
    assert_eq!(err.field(), "client_secret");
    assert!(
        err.rule().contains("at most 42 characters (got 44)"),
        "{err}"
    );
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains("TOP-SECRET"), "{text}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn client_secret_is_1_to_42_characters_and_never_repeated(
        s in prop_oneof![any_text(60), "\\PC{40,44}", "[A-Za-z0-9=/+]{41,43}"]
    ) {
        let n = s.chars().count();
        match ClientSecret::new(s.clone()) {
            Ok(secret) => {
                prop_assert!((1..=42).contains(&n));
                prop_assert_eq!(secret.expose_secret(), s.as_str());
                prop_assert_eq!(format!("{secret:?}"), "ClientSecret([redacted])");
            }
            Err(e) => {
                prop_assert!(n == 0 || n > 42);
                prop_assert_eq!(e.field(), "client_secret");
                if n >= 8 {
                    prop_assert!(!e.to_string().contains(&s));
                    let debug = format!("{e:?}");
                    prop_assert!(!debug.contains(&s));
                }
            }
        }
    }
}

// ---- TrackId ----

#[test]
fn track_id_fixed_examples() {
    for ok in [
        "a",
        "job-42 retry 1",
        "nightly/sync#7 (x)",
        &"x".repeat(64),
        "~!@#$%^&*()_+=-`",
    ] {
        let id = TrackId::new(ok).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        assert_eq!(id.as_str(), ok);
        assert_eq!(id.to_string(), ok);
        assert_eq!(ok.parse::<TrackId>().unwrap(), id);
        assert_eq!(format!("{id:?}"), format!("TrackId({ok:?})"));
    }
    // (input, words the rule must contain)
    let cases = [
        ("", "empty"),
        (&"x".repeat(65), "at most 64 characters (got 65)"),
        ("a:b", "`:`"),
        ("a;b", "`;`"),
        ("a\"b", "`\"`"),
        ("a'b", "`'`"),
        ("a\nb", "control character U+000A"),
        ("a\rb", "control character U+000D"),
        ("a\0b", "control character U+0000"),
        ("a\x7fb", "control character U+007F"),
        ("a\tb", "control character U+0009"),
        ("café", "U+00E9"),
        (" lead", "space"),
        ("trail ", "space"),
        (" ", "space"),
    ];
    for (bad, words) in cases {
        let err = TrackId::new(bad).unwrap_err();
        assert_eq!(err.field(), "Zuora-Track-Id");
        assert!(err.rule().contains(words), "{bad:?}: {err}");
        assert!(!err.to_string().contains(['\n', '\r', '\0']), "{err:?}");
    }
    // Characters, not bytes: 40 `é` are 80 bytes but only 40 characters, so the
    // complaint is about ASCII, not length.
    let err = TrackId::new("é".repeat(40)).unwrap_err();
    assert!(err.rule().contains("US-ASCII"), "{err}");
    let err = TrackId::new("é".repeat(65)).unwrap_err();
    assert!(err.rule().contains("got 65"), "{err}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// Accepted exactly when Zuora's rule allows it; whatever is accepted is header content
    /// that survives unchanged, and is what the request sends.
    #[test]
    fn track_id_follows_zuoras_rule(s in prop_oneof![any_text(70), valid_track_id()]) {
        let allowed = zuora_allows_track_id(&s);
        match TrackId::new(s.clone()) {
            Ok(id) => {
                prop_assert!(allowed, "accepted {:?}", s);
                prop_assert!(header_ok(id.as_str()));
                prop_assert_eq!(id.as_str(), s.as_str());
                prop_assert_eq!(s.parse::<TrackId>().unwrap(), id.clone());
                let http = common::request().with_track_id(id).to_http();
                prop_assert_eq!(http.headers()[ZUORA_TRACK_ID].to_str().unwrap(), s.as_str());
            }
            Err(e) => {
                prop_assert!(!allowed, "rejected {:?}: {}", s, e);
                prop_assert_eq!(e.field(), "Zuora-Track-Id");
            }
        }
    }

    #[test]
    fn track_id_generator_yields_valid_ids(s in valid_track_id()) {
        prop_assert!(TrackId::new(s).is_ok());
    }

    #[test]
    fn track_id_with_a_bad_character_is_rejected(
        s in valid_track_id(), at in any::<usize>(), c in bad_char()
    ) {
        let bad = insert_at(&s, at, c);
        prop_assert!(TrackId::new(bad).is_err());
    }

    #[test]
    fn track_id_with_an_outer_space_is_rejected(s in valid_track_id(), front in any::<bool>()) {
        let bad = if front { format!(" {s}") } else { format!("{s} ") };
        prop_assert!(TrackId::new(bad).is_err());
    }

    #[test]
    fn track_id_over_64_characters_is_rejected(
        s in proptest::string::string_regex("[!#-&(-9<-~]{65,300}").unwrap()
    ) {
        let err = TrackId::new(s.clone()).unwrap_err();
        let expected = format!("got {}", s.len());
        prop_assert!(err.rule().contains(&expected), "{}", err);
    }
}

// ---- EntityId ----

#[test]
fn entity_id_fixed_examples() {
    let canonical = "11e643f4-a3ee-8bad-b061-0025904c756d";
    for input in [
        canonical,
        "11E643F4-A3EE-8BAD-B061-0025904C756D",
        "11e643f4a3ee8badb0610025904c756d",
        "11E643F4A3EE8BADB0610025904C756D",
    ] {
        let id = EntityId::new(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(id.as_str(), canonical);
        assert_eq!(id.to_string(), canonical);
        assert_eq!(format!("{id:?}"), format!("EntityId({canonical:?})"));
        assert_eq!(input.parse::<EntityId>().unwrap(), id);
    }
    for bad in [
        "",
        "11e643f4-a3ee-8bad-b061-0025904c756",   // 35
        "11e643f4-a3ee-8bad-b061-0025904c756dd", // 37
        "11e643f4a3ee-8bad-b061-0025904c756d-",  // hyphens misplaced
        "11e643f4-a3ee-8bad-b061_0025904c756d",  // not a hyphen
        "11e643f4-a3ee-8bad-b061-0025904c756g",  // not hex
        "11e643f4a3ee8badb0610025904c756",       // 31
        " 11e643f4a3ee8badb0610025904c756d",     // padded
        "11e643f4a3ee8badb0610025904c756d ",
        "{11e643f4-a3ee-8bad-b061-0025904c756d}", // braces
        "11e643f4-a3ee-8bad-b061-0025904c756é",   // 36 characters, 37 bytes
        "11e643f4a3ee8badb0610025904c756é",       // 32 characters, 33 bytes
    ] {
        let err = EntityId::new(bad).unwrap_err();
        assert_eq!(err.field(), "Zuora-Entity-Ids", "{bad:?}");
        assert!(err.rule().contains("8-4-4-4-12"), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn entity_id_bare_hex_becomes_hyphenated_lower_case(hex in "[0-9a-fA-F]{32}") {
        let id = EntityId::new(&hex).unwrap();
        let canonical = canonical_entity(&hex);
        prop_assert_eq!(id.as_str(), canonical.as_str());
        prop_assert_eq!(EntityId::new(id.as_str()).unwrap(), id.clone());
        prop_assert!(header_ok(id.as_str()));
        let http = common::request().with_entity_id(id).to_http();
        prop_assert_eq!(http.headers()[ZUORA_ENTITY_IDS].to_str().unwrap(), canonical.as_str());
    }

    #[test]
    fn entity_id_hyphenated_any_case_becomes_lower_case(
        uuid in "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    ) {
        let id = EntityId::new(&uuid).unwrap();
        prop_assert_eq!(id.as_str(), uuid.to_ascii_lowercase());
        prop_assert_eq!(EntityId::new(id.as_str()).unwrap(), id.clone());
        prop_assert_eq!(EntityId::new(uuid.replace('-', "")).unwrap(), id.clone());
        prop_assert!(header_ok(id.as_str()));
    }

    #[test]
    fn entity_id_is_accepted_only_in_uuid_shape(
        s in prop_oneof![
            any_text(40),
            "[0-9a-fA-F-]{30,38}",
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        ]
    ) {
        match EntityId::new(&s) {
            Ok(id) => {
                prop_assert!(is_uuid_shape(&s), "accepted {:?}", s);
                prop_assert!(header_ok(id.as_str()));
                prop_assert_eq!(id.as_str().len(), 36);
                prop_assert_eq!(id.as_str(), id.as_str().to_ascii_lowercase());
                prop_assert_eq!(id.as_str().parse::<EntityId>().unwrap(), id.clone());
            }
            Err(e) => {
                prop_assert!(!is_uuid_shape(&s), "rejected {:?}", s);
                prop_assert_eq!(e.field(), "Zuora-Entity-Ids");
            }
        }
    }

    #[test]
    fn entity_id_with_any_bad_character_is_rejected(
        uuid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        at in 0usize..36,
        c in prop_oneof![bad_char(), select(vec![' ', 'g', 'G', 'z', '-', '_', '{', '}'])],
        replace in any::<bool>(),
    ) {
        let mut chars: Vec<char> = uuid.chars().collect();
        if replace {
            prop_assume!(chars[at] != c);
            chars[at] = c;
        } else {
            chars.insert(at, c);
        }
        let bad: String = chars.into_iter().collect();
        prop_assert!(EntityId::new(&bad).is_err(), "accepted {:?}", bad);
    }
}

// ---- Environment: names ----

/// A name in random ASCII letter case with optional surrounding whitespace.
fn spelled_name() -> impl Strategy<Value = (usize, String)> {
    (
        0..Environment::NAMES.len(),
        proptest::collection::vec(any::<bool>(), 7),
        "[ \t]{0,2}",
        "[ \t\n]{0,2}",
    )
        .prop_map(|(i, upper, before, after)| {
            let name: String = Environment::NAMES[i]
                .chars()
                .zip(upper.iter().cycle())
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            (i, format!("{before}{name}{after}"))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn environment_names_parse_in_any_case((i, spelled) in spelled_name()) {
        let env: Environment = spelled.parse().unwrap();
        prop_assert_eq!(env.name(), Some(Environment::NAMES[i]));
        prop_assert_eq!(env.to_string().parse::<Environment>().unwrap(), env);
    }

    #[test]
    fn other_environment_strings_are_rejected(s in any_text(30)) {
        let known = Environment::NAMES.iter().any(|n| n.eq_ignore_ascii_case(s.trim()));
        match s.parse::<Environment>() {
            Ok(env) => {
                prop_assert!(known, "accepted {:?}", s);
                prop_assert!(env.name().is_some());
            }
            Err(e) => {
                prop_assert!(!known, "rejected {:?}", s);
                prop_assert_eq!(e.field(), "environment");
                prop_assert!(!e.to_string().chars().any(char::is_control), "{:?}", e);
            }
        }
    }
}

// ---- Environment: custom base URLs ----

/// A DNS host name in any letter case (possibly digits only, so possibly an IPv4 address).
fn dns_host() -> impl Strategy<Value = String> {
    proptest::collection::vec("[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", 1..=4)
        .prop_map(|labels| labels.join("."))
}

fn any_host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => dns_host(),
        1 => any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
        1 => any::<u128>().prop_map(|a| format!("[{}]", Ipv6Addr::from(a))),
        1 => select(vec!["localhost".to_owned(), "LOCALHOST".to_owned(), "[::1]".to_owned()]),
    ]
}

/// Any host but a loopback one.
fn remote_host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => dns_host(),
        1 => any::<[u8; 4]>().prop_map(|o| Ipv4Addr::from(o).to_string()),
        1 => any::<u128>().prop_map(|a| format!("[{}]", Ipv6Addr::from(a))),
    ]
    .prop_filter("loopback", |h| !is_loopback(h))
}

fn loopback_host() -> impl Strategy<Value = String> {
    prop_oneof![
        select(vec![
            "localhost".to_owned(),
            "LocalHost".to_owned(),
            "[::1]".to_owned(),
            "[0:0:0:0:0:0:0:1]".to_owned(),
        ]),
        any::<[u8; 3]>().prop_map(|[a, b, c]| format!("127.{a}.{b}.{c}")),
    ]
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.octets()[0] == 127)
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .and_then(|h| h.parse::<Ipv6Addr>().ok())
            == Some(Ipv6Addr::LOCALHOST)
}

/// `(":port" or "", "/path" or "", trailing slashes)`.
fn port_path_slashes() -> impl Strategy<Value = (String, String, String)> {
    (
        proptest::option::of(1u16..).prop_map(|p| p.map_or(String::new(), |p| format!(":{p}"))),
        proptest::collection::vec("[A-Za-z0-9._~-]{1,8}", 0..=3)
            .prop_map(|segments| segments.iter().map(|s| format!("/{s}")).collect()),
        "/{0,3}",
    )
}

fn assert_base(
    url: &str,
    host: &str,
    port: &str,
    path: &str,
    scheme: &str,
) -> Result<(), TestCaseError> {
    let env = Environment::custom(url).map_err(|e| TestCaseError::fail(format!("{url}: {e}")))?;
    let base = format!("{scheme}://{}{port}{path}", host.to_ascii_lowercase());
    prop_assert_eq!(env.base_url(), base.as_str());
    prop_assert_eq!(env.name(), None);
    prop_assert_eq!(env.token_url().to_string(), format!("{base}/oauth/token"));
    let http = zuora_oauth_core::TokenRequest::new(
        env,
        ClientId::new(common::CLIENT_ID).unwrap(),
        ClientSecret::new("s").unwrap(),
    )
    .to_http();
    prop_assert_eq!(http.method(), http::Method::POST);
    prop_assert_eq!(http.uri().to_string(), format!("{base}/oauth/token"));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn https_is_accepted_for_any_host(
        host in any_host(), (port, path, slashes) in port_path_slashes(),
        scheme in select(vec!["https", "HTTPS", "Https"]),
    ) {
        let url = format!("{scheme}://{host}{port}{path}{slashes}");
        assert_base(&url, &host, &port, &path, "https")?;
    }

    #[test]
    fn http_is_accepted_for_loopback_hosts(
        host in loopback_host(), (port, path, slashes) in port_path_slashes(),
    ) {
        let url = format!("http://{host}{port}{path}{slashes}");
        assert_base(&url, &host, &port, &path, "http")?;
    }

    #[test]
    fn http_is_rejected_for_other_hosts(
        host in remote_host(), (port, path, slashes) in port_path_slashes(),
    ) {
        let url = format!("http://{host}{port}{path}{slashes}");
        let err = Environment::custom(&url).unwrap_err();
        prop_assert_eq!(err.field(), "base_url");
        prop_assert!(err.rule().contains("https"), "{}", err);
    }

    #[test]
    fn query_fragment_and_user_info_are_rejected(
        host in any_host(), (port, path, slashes) in port_path_slashes(),
        scheme in select(vec!["https", "http"]),
        extra in 0..5usize,
        word in "[a-z0-9=&%]{0,8}",
    ) {
        let url = match extra {
            0 => format!("{scheme}://{host}{port}{path}{slashes}?{word}"),
            1 => format!("{scheme}://{host}{port}{path}{slashes}#{word}"),
            2 => format!("{scheme}://{word}@{host}{port}{path}{slashes}"),
            3 => format!("{scheme}://user:{word}@{host}{port}{path}{slashes}"),
            _ => format!("{scheme}://{host}{port}?{word}{path}"),
        };
        let err = Environment::custom(&url).unwrap_err();
        prop_assert_eq!(err.field(), "base_url");
        prop_assert!(!err.to_string().contains(&url), "the URL may hold credentials: {}", err);
    }

    #[test]
    fn other_schemes_are_rejected(
        host in any_host(), (port, path, slashes) in port_path_slashes(),
        scheme in select(vec!["ftp", "ws", "wss", "file", "htps", "httpss", "mailto"]),
    ) {
        let url = format!("{scheme}://{host}{port}{path}{slashes}");
        prop_assert!(Environment::custom(&url).is_err(), "accepted {}", url);
    }

    /// Whatever string comes in, an accepted URL is https (or loopback http) without
    /// query, fragment, user info or trailing slash.
    #[test]
    fn accepted_base_urls_are_always_safe(
        s in prop_oneof![
            any_text(40),
            "(https?|HTTP)://[a-z0-9.:@?#/\\[\\]%-]{0,30}",
        ]
    ) {
        if let Ok(env) = Environment::custom(&s) {
            let base = env.base_url();
            let rest = base.strip_prefix("https://").or_else(|| base.strip_prefix("http://"));
            prop_assert!(rest.is_some(), "{}", base);
            let authority = rest.unwrap().split('/').next().unwrap();
            if base.starts_with("http://") {
                let host = authority.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(authority, |(h, _)| h);
                prop_assert!(is_loopback(host), "{}", base);
            }
            prop_assert!(!authority.is_empty());
            prop_assert!(!authority.contains('@'), "{}", base);
            prop_assert!(!base.contains(['?', '#']), "{}", base);
            prop_assert!(!base.ends_with('/'), "{}", base);
            prop_assert_eq!(env.token_url().to_string(), format!("{base}/oauth/token"));
        }
    }
}

#[test]
fn base_url_ports_in_range_are_kept() {
    for url in [
        "http://127.0.0.1:1",
        "http://[::1]:65535",
        "https://rest.zuora.com:8443",
        "http://[::1]",
    ] {
        assert!(Environment::custom(url).is_ok(), "{url}");
    }
}

#[test]
fn base_url_fixed_rejections() {
    // (input, words in the rule)
    let cases = [
        ("http://rest.zuora.com", "https"),
        ("http://localhost.example.com", "https"),
        ("http://127.0.0.1.nip.io", "https"),
        ("http://128.0.0.1", "https"),
        ("http://0.0.0.0:8080", "https"),
        ("http://[::2]", "https"),
        ("http://[::ffff:127.0.0.1]", "https"),
        ("https://rest.zuora.com?x=1", "query"),
        ("https://rest.zuora.com/#top", "fragment"),
        ("https://user:pass@rest.zuora.com", "user info"),
        ("http://localhost@evil.example.com", "user info"),
        ("ftp://rest.zuora.com", "https"),
        ("rest.zuora.com", "absolute URL"),
        ("/oauth/token", "absolute URL"),
        ("https://rest.zuora.com/a b", "spaces"),
        ("https://rest.zuora.com\n", "control"),
        ("", "URL"),
        ("http://127.0.0.1:99999", "port from 1 to 65535"),
        ("http://127.0.0.1:0", "port from 1 to 65535"),
        ("http://127.0.0.1:", "port from 1 to 65535"),
        ("https://rest.zuora.com:+443", "port from 1 to 65535"),
        ("http://[::1]:65536", "port from 1 to 65535"),
    ];
    for (url, words) in cases {
        let err: InvalidInput = Environment::custom(url).unwrap_err();
        assert_eq!(err.field(), "base_url", "{url:?}");
        assert!(err.rule().contains(words), "{url:?}: {err}");
    }
}

#[test]
fn invalid_input_displays_field_and_rule() {
    let err = TrackId::new("a:b").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("invalid Zuora-Track-Id: {}", err.rule())
    );
    let _: &dyn std::error::Error = &err;
}
