//! The validators of the API-call headers (`Zuora-Org-Ids`, `Zuora-Working-Org`,
//! `Zuora-Version`), checked against the rules as Zuora documents them, with fixed examples
//! and 10,000 generated cases per property.

use proptest::prelude::*;
use proptest::sample::select;
use zuora_oauth_core::{ApiVersion, OrgId, ZUORA_ORG_IDS, ZUORA_VERSION, ZUORA_WORKING_ORG};

const CASES: u32 = 10_000;

// ---- generators ----

/// Strings of up to `max` characters: printable ASCII, anything (controls, non-ASCII,
/// astral), and text close to the accepted shapes.
fn any_text(max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("[ -~]{{0,{max}}}")).unwrap(),
        proptest::string::string_regex(&format!("[0-9a-fA-F.,-]{{0,{max}}}")).unwrap(),
        proptest::collection::vec(any::<char>(), 0..=max).prop_map(String::from_iter),
        proptest::collection::vec(
            prop_oneof![
                4 => proptest::char::range('0', '9'),
                1 => select(vec![' ', ',', '.', '-', ':', '\t', '\n', '\r', '\0', '\x7f', 'é', '€', '𝄞', '\u{a0}']),
            ],
            0..=max,
        )
        .prop_map(String::from_iter),
    ]
}

/// A character that can never be part of an org ID or a version: controls, non-ASCII,
/// the list separator, spaces and a few look-alikes.
fn bad_char() -> impl Strategy<Value = char> {
    prop_oneof![
        select(vec![
            ',', ' ', ';', ':', '"', '{', '}', '_', 'g', 'G', 'z', '/'
        ]),
        proptest::char::range('\0', '\x1f'),
        Just('\x7f'),
        proptest::char::range('\u{80}', '\u{10ffff}'),
    ]
}

fn header_ok(s: &str) -> bool {
    http::HeaderValue::from_str(s).is_ok_and(|v| v.to_str().ok() == Some(s))
}

// ---- oracles: the rules as Zuora states them ----

/// Zuora's org IDs are UUIDs (its Multi-Org guide); like entity IDs, they are also met as 32
/// hex digits without hyphens.
fn is_uuid_shape(s: &str) -> bool {
    let hyphenated = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        });
    let bare = s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit());
    hyphenated || bare
}

/// The canonical UUID: hyphenated 8-4-4-4-12, lower-case.
fn canonical_uuid(s: &str) -> String {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    let h = hex.to_ascii_lowercase();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Zuora's API versions: `YYYY-MM-DD` (e.g. `2024-05-20`), or a legacy number such as
/// `196.0` (developer.zuora.com, "Introduction to Zuora API Versions").
fn zuora_allows_version(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let date = s.len() == 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && digits(&s[..4])
        && digits(&s[5..7])
        && digits(&s[8..])
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap())
        && (1..=31).contains(&s[8..].parse::<u8>().unwrap());
    let legacy = s.len() <= ApiVersion::MAX_LEN
        && s.split_once('.')
            .is_some_and(|(major, minor)| digits(major) && digits(minor));
    date || legacy
}

// ---- header names ----

#[test]
fn header_names_are_zuoras() {
    assert_eq!(ZUORA_ORG_IDS, "zuora-org-ids");
    assert_eq!(ZUORA_WORKING_ORG, "zuora-working-org");
    assert_eq!(ZUORA_VERSION, "zuora-version");
}

// ---- OrgId ----

#[test]
fn org_id_fixed_examples() {
    let canonical = "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01";
    for input in [
        canonical,
        "6F1A9D2C-4B7E-4C1A-9E3F-2D8B5A7C9E01",
        "6f1a9d2c4b7e4c1a9e3f2d8b5a7c9e01",
        "6F1A9D2C4B7E4C1A9E3F2D8B5A7C9E01",
    ] {
        let id = OrgId::new(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(id.as_str(), canonical);
        assert_eq!(id.to_string(), canonical);
        assert_eq!(format!("{id:?}"), format!("OrgId({canonical:?})"));
        assert_eq!(input.parse::<OrgId>().unwrap(), id);
    }
    for bad in [
        "",
        "Asia",                                  // an org's label, not its ID
        "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e0",   // 35
        "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e011", // 37
        "6f1a9d2c4b7e-4c1a-9e3f-2d8b5a7c9e01-",  // hyphens misplaced
        "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e0g",  // not hex
        " 6f1a9d2c4b7e4c1a9e3f2d8b5a7c9e01",     // padded
        "6f1a9d2c4b7e4c1a9e3f2d8b5a7c9e01 ",
        // Two IDs in one: the list is built from separate IDs, never passed through.
        "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01,6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e02",
        "6f1a9d2c4b7e4c1a,9e3f2d8b5a7c9e01",
        "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01\r\nX-Injected: 1",
        "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9eé", // 36 characters, 37 bytes
    ] {
        let err = OrgId::new(bad).unwrap_err();
        assert_eq!(err.field(), "org ID", "{bad:?}");
        assert!(err.rule().contains("8-4-4-4-12"), "{err}");
        assert!(!err.to_string().contains("X-Injected"), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn org_id_is_accepted_only_in_uuid_shape_and_normalised(
        s in prop_oneof![
            any_text(40),
            "[0-9a-fA-F-]{30,38}",
            "[0-9a-fA-F]{32}",
            "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        ]
    ) {
        match OrgId::new(&s) {
            Ok(id) => {
                prop_assert!(is_uuid_shape(&s), "accepted {:?}", s);
                prop_assert_eq!(id.as_str(), canonical_uuid(&s));
                prop_assert!(header_ok(id.as_str()));
                prop_assert!(!id.as_str().contains(','));
                prop_assert_eq!(OrgId::new(id.as_str()).unwrap(), id.clone());
                prop_assert_eq!(id.as_str().parse::<OrgId>().unwrap(), id);
            }
            Err(e) => {
                prop_assert!(!is_uuid_shape(&s), "rejected {:?}", s);
                prop_assert_eq!(e.field(), "org ID");
            }
        }
    }

    #[test]
    fn org_id_with_any_bad_character_is_rejected(
        uuid in "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        at in 0usize..36,
        c in bad_char(),
        replace in any::<bool>(),
    ) {
        let mut chars: Vec<char> = uuid.chars().collect();
        if replace {
            chars[at] = c;
        } else {
            chars.insert(at, c);
        }
        let bad: String = chars.into_iter().collect();
        prop_assert!(OrgId::new(&bad).is_err(), "accepted {:?}", bad);
    }
}

// ---- ApiVersion ----

#[test]
fn api_version_fixed_examples() {
    for good in [
        "2024-05-20",
        "2025-08-12",
        "186.0",
        "196.0",
        "341.0",
        "211.5",
    ] {
        let v = ApiVersion::new(good).unwrap_or_else(|e| panic!("{good}: {e}"));
        assert_eq!(v.as_str(), good);
        assert_eq!(v.to_string(), good);
        assert_eq!(format!("{v:?}"), format!("ApiVersion({good:?})"));
        assert_eq!(good.parse::<ApiVersion>().unwrap(), v);
    }
    for bad in [
        "",
        "211",
        "v211.0",
        "211.0 ",
        " 2024-05-20",
        "2024-5-20",
        "2024-13-01",
        "2024-00-10",
        "2024-05-32",
        "2024-05-00",
        "2024/05/20",
        "20240520",
        "211.0,2024-05-20",
        "211..0",
        ".0",
        "211.",
        "latest",
        "2024-05-20\r\nX-Injected: 1",
        "１９６.0", // full-width digits
        "12345678901234567.0",
    ] {
        let err = ApiVersion::new(bad).unwrap_err();
        assert_eq!(err.field(), "Zuora-Version", "{bad:?}");
        assert!(err.rule().contains("YYYY-MM-DD"), "{err}");
        assert!(!err.to_string().contains("X-Injected"), "{err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn api_version_is_accepted_exactly_in_zuoras_two_shapes(
        s in prop_oneof![
            any_text(20),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "[0-9]{1,10}\\.[0-9]{1,10}",
            "[0-9.-]{1,12}",
        ]
    ) {
        match ApiVersion::new(&s) {
            Ok(v) => {
                prop_assert!(zuora_allows_version(&s), "accepted {:?}", s);
                prop_assert_eq!(v.as_str(), s.as_str());
                prop_assert!(header_ok(v.as_str()));
                prop_assert!(v.as_str().len() <= ApiVersion::MAX_LEN);
            }
            Err(e) => {
                prop_assert!(!zuora_allows_version(&s), "rejected {:?}", s);
                prop_assert_eq!(e.field(), "Zuora-Version");
            }
        }
    }

    #[test]
    fn api_version_with_any_bad_character_is_rejected(
        good in prop_oneof!["20[0-9]{2}-0[1-9]-[12][0-9]", "[1-9][0-9]{2}\\.[0-9]"],
        at in 0usize..10,
        c in bad_char(),
    ) {
        let mut chars: Vec<char> = good.chars().collect();
        chars.insert(at.min(chars.len()), c);
        let bad: String = chars.into_iter().collect();
        prop_assert!(ApiVersion::new(&bad).is_err(), "accepted {:?}", bad);
    }
}
