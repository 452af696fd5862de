//! The JSON reader against serde_json, which the core used before: the same texts accepted
//! and refused, the same values read, for skipped values (`IgnoredAny`), read values
//! (`deserialize_any`) and objects walked key by key. Texts come from a generator of JSON
//! (escapes, surrogates, numbers of every form, nesting, whitespace) and from one-byte
//! mutations of it, so near misses are covered as well as valid texts.

use std::fmt;
use std::time::Duration;

use proptest::prelude::*;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::{Number, Reader, Value};

/// What serde_json hands a visitor that takes any value and ignores a container's entries
/// (the core's old visitors).
#[derive(Debug, PartialEq)]
enum Seen {
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
    Null,
    Other,
}

struct SeenVisitor;

impl<'de> Visitor<'de> for SeenVisitor {
    type Value = Seen;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E>(self, v: &str) -> Result<Seen, E> {
        Ok(Seen::Str(v.to_owned()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Seen, E> {
        Ok(Seen::U64(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Seen, E> {
        Ok(Seen::I64(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Seen, E> {
        Ok(Seen::F64(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Seen, E> {
        Ok(Seen::Other)
    }
    fn visit_unit<E>(self) -> Result<Seen, E> {
        Ok(Seen::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Seen, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Seen::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Seen, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Seen::Other)
    }
}

impl<'de> de::Deserialize<'de> for Seen {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SeenVisitor)
    }
}

/// An object walked key by key, every value read (`Seen`): what the core's token visitor
/// did. Anything but an object reads as `None`.
#[derive(Debug, PartialEq)]
struct Entries(Option<Vec<(String, Seen)>>);

impl<'de> de::Deserialize<'de> for Entries {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    entries.push((key, map.next_value::<Seen>()?));
                }
                Ok(Entries(Some(entries)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Entries, A::Error> {
                SeenVisitor.visit_seq(seq).map(|_| Entries(None))
            }
            fn visit_str<E>(self, _: &str) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Entries, E> {
                Ok(Entries(None))
            }
            fn visit_unit<E>(self) -> Result<Entries, E> {
                Ok(Entries(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// The reader's value in serde_json's terms.
fn seen(value: Value<'_>) -> Seen {
    match value {
        Value::Str(s) => Seen::Str(s.into_owned()),
        Value::Num(n) => match n.integer() {
            Some(super::Integer::Unsigned(u)) => Seen::U64(u),
            Some(super::Integer::Negative(i)) => Seen::I64(i),
            // Correctly rounded; serde_json's default parser may be one unit in the last
            // place off (compared with a tolerance below).
            None => Seen::F64(n.as_str().parse().unwrap()),
        },
        Value::Null => Seen::Null,
        Value::Other => Seen::Other,
    }
}

fn same(ours: &Seen, theirs: &Seen) -> bool {
    match (ours, theirs) {
        (Seen::F64(a), Seen::F64(b)) => a == b || ((a - b) / a).abs() < 1e-15,
        _ => ours == theirs,
    }
}

fn skipped(text: &str) -> bool {
    let mut reader = Reader::new(text);
    reader.skip().and_then(|()| reader.end()).is_ok()
}

fn read(text: &str) -> Option<Seen> {
    let mut reader = Reader::new(text);
    let value = reader.value().ok()?;
    reader.end().ok()?;
    Some(seen(value))
}

fn entries(text: &str) -> Option<Entries> {
    let mut reader = Reader::new(text);
    if !reader.object().ok()? {
        reader.value().ok()?;
        reader.end().ok()?;
        return Some(Entries(None));
    }
    let mut out = Vec::new();
    let mut first = true;
    while let Some(key) = reader.key(first).ok()? {
        first = false;
        out.push((key.into_owned(), seen(reader.value().ok()?)));
    }
    reader.end().ok()?;
    Some(Entries(Some(out)))
}

/// Whether `text` has a number within a rounding of `f64::MAX`: serde_json's default float
/// parser is not correctly rounded, so there one may read a number as finite and the other
/// as infinite (the reader follows std's correctly rounded parser: see
/// `numbers_are_infinite_as_an_f64_is`).
fn near_the_float_limit(text: &str) -> bool {
    text.split(|c: char| !"0123456789eE+-.".contains(c))
        .any(|piece| {
            let (mantissa, exp) = piece.split_once(['e', 'E']).unwrap_or((piece, "0"));
            match (mantissa.parse::<f64>(), exp.parse::<f64>()) {
                (Ok(m), Ok(e)) => (m.abs().log10() + e - f64::MAX.log10()).abs() < 1e-12,
                _ => false,
            }
        })
}

/// The reader and serde_json agree on `text`, in all three readings.
fn check(text: &str) {
    if near_the_float_limit(text) {
        // Only the syntax is compared.
        let theirs = serde_json::from_str::<IgnoredAny>(text).is_ok();
        assert_eq!(skipped(text), theirs, "skipped: {text:?}");
        return;
    }
    let theirs = serde_json::from_str::<IgnoredAny>(text).is_ok();
    assert_eq!(skipped(text), theirs, "skipped: {text:?}");

    match (read(text), serde_json::from_str::<Seen>(text).ok()) {
        (Some(ours), Some(theirs)) => {
            assert!(same(&ours, &theirs), "{text:?}: {ours:?} vs {theirs:?}")
        }
        (ours, theirs) => assert_eq!(
            ours.is_some(),
            theirs.is_some(),
            "read: {text:?}: {ours:?} vs {theirs:?}"
        ),
    }

    match (entries(text), serde_json::from_str::<Entries>(text).ok()) {
        (Some(Entries(Some(ours))), Some(Entries(Some(theirs)))) => {
            assert_eq!(ours.len(), theirs.len(), "{text:?}");
            for ((k1, v1), (k2, v2)) in ours.iter().zip(&theirs) {
                assert_eq!(k1, k2, "{text:?}");
                assert!(same(v1, v2), "{text:?}: {v1:?} vs {v2:?}");
            }
        }
        (ours, theirs) => assert_eq!(ours, theirs, "entries: {text:?}"),
    }
}

#[test]
fn a_table_of_texts_reads_as_with_serde_json() {
    let texts = [
        "",
        " ",
        "{}",
        "[]",
        " { } ",
        "[ ]",
        "null",
        "true",
        "false",
        "nul",
        "tru",
        "nulll",
        "0",
        "-0",
        "00",
        "01",
        "-",
        "-a",
        "1.",
        "1.5",
        ".5",
        "1e",
        "1e+",
        "1e5",
        "1E-5",
        "1.5e3",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "1e308",
        "1e309",
        "-1e309",
        "1.7976931348623157e308",
        "1.7976931348623159e308",
        "1e-400",
        "123456789012345678901234567890",
        r#""""#,
        r#""a""#,
        r#""\"""#,
        r#""\\""#,
        r#""\/""#,
        r#""\b\f\n\r\t""#,
        r#""\x""#,
        r#""\u0041""#,
        r#""\u00e9""#,
        r#""\uD83D\uDE00""#,
        r#""\ud800""#,
        r#""\udc00""#,
        r#""\ud800\u0041""#,
        r#""\ud800\ud800""#,
        r#""\ud800x""#,
        r#""\ud800\n""#,
        r#""\u12""#,
        r#""\u12G4""#,
        "\"a\u{1}\"",
        "\"a\u{1f}\"",
        "\"\u{0}\"",
        "\"a\u{7f}\"",
        "\"é\"",
        "\"unterminated",
        r#"{"a":1}"#,
        r#"{"a":1,}"#,
        r#"{"a" 1}"#,
        r#"{a:1}"#,
        r#"{"a":1 "b":2}"#,
        r#"{"a":[1,2,{"b":null}],"c":{"d":"\ud800"}}"#,
        r#"{"\ud800":1}"#,
        r#"{"a":{"\ud800":1}}"#,
        r#"{"a":[{"\ud800":1}]}"#,
        r#"{"a":{"b":{"\ud800":1}}}"#,
        r#"[1,]"#,
        r#"[,1]"#,
        r#"[1 2]"#,
        r#"[[[]]]"#,
        r#"[[["\ud800"]]]"#,
        r#"["\ud800"]"#,
        r#"{"a":1e400}"#,
        r#"{"a":[1e400]}"#,
        r#"{"a":{"b":1e400}}"#,
        r#"[1e400]"#,
        r#"{"a":1}x"#,
        r#"{"a":1} "#,
        "{\"a\":1}\n}",
        r#"{"a":1,"a":2}"#,
        "\u{feff}{}",
        "{\"a\"\t:\r\n1}",
        "{\"a\":\u{a0}1}",
    ];
    for text in texts {
        check(text);
    }
    // A special byte at every place of the eight-byte scan, and past it.
    for at in 0..20 {
        for special in ["\"", "\\", "\\n", "\u{1}", "\u{1f}", "é", "\u{7f}", " "] {
            check(&format!("\"{}{special}{}\"", "a".repeat(at), "b".repeat(9)));
            check(&format!("{{\"{}{special}\":1}}", "k".repeat(at)));
        }
    }
    let deep = "[".repeat(200) + &"]".repeat(200);
    check(&deep);
    check(&format!("{{\"a\":{deep}}}"));
    check(&format!(
        "{{\"a\":{}}}",
        "{\"b\":".repeat(150) + "1" + &"}".repeat(150)
    ));
}

/// JSON text with the spellings that matter: escapes (paired and lone surrogates),
/// control characters, numbers of every form, nesting, whitespace.
fn json_text() -> impl Strategy<Value = String> {
    let ws = prop::sample::select(vec!["", "", "", " ", "\n", "\t", "\r\n  "]);
    let string_piece = prop::sample::select(vec![
        "a",
        "é",
        "😀",
        "\\\"",
        "\\\\",
        "\\/",
        "\\n",
        "\\u0041",
        "\\u00e9",
        "\\uD83D\\uDE00",
        "\\ud800",
        "\\udc00",
        "\\ud800\\u0041",
        "\\u12",
        "\\x",
        "\u{1}",
        "\u{1f}",
        "\u{7f}",
        " ",
        "\"",
        "\\",
    ]);
    let string =
        prop::collection::vec(string_piece, 0..4).prop_map(|p| format!("\"{}\"", p.concat()));
    let number = (
        prop::sample::select(vec!["", "-"]),
        prop::sample::select(vec![
            "0",
            "1",
            "7",
            "3599",
            "00",
            "01",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775808",
            "17976931348623157",
            "1797693134862315807",
        ]),
        prop::sample::select(vec!["", "", ".5", ".0", ".", ".25e1", ".000000001"]),
        prop::sample::select(vec![
            "", "", "e5", "E-3", "e+308", "e291", "e292", "e-400", "e", "e+",
        ]),
    )
        .prop_map(|(s, i, f, e)| format!("{s}{i}{f}{e}"));
    let scalar = prop_oneof![
        string.clone(),
        number,
        prop::sample::select(vec!["null", "true", "false", "nul", "True"]).prop_map(String::from),
    ];
    let key = prop_oneof![
        prop::sample::select(vec![
            "\"access_token\"",
            "\"expires_in\"",
            "\"a\"",
            "\"\\ud800\"",
            "\"\\u0061\"",
            "a",
        ])
        .prop_map(String::from),
        string,
    ];
    scalar.prop_recursive(4, 24, 4, move |inner| {
        let ws = ws.clone();
        prop_oneof![
            (
                prop::collection::vec(inner.clone(), 0..4),
                ws.clone(),
                any::<bool>()
            )
                .prop_map(|(items, ws, trailing)| {
                    let comma = if trailing && !items.is_empty() {
                        ","
                    } else {
                        ""
                    };
                    format!("[{ws}{}{comma}]", items.join(&format!(",{ws}")))
                }),
            (prop::collection::vec((key.clone(), inner), 0..4), ws).prop_map(|(entries, ws)| {
                let entries: Vec<String> = entries
                    .into_iter()
                    .map(|(k, v)| format!("{k}{ws}:{ws}{v}"))
                    .collect();
                format!("{{{ws}{}}}", entries.join(","))
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_json_reads_as_with_serde_json(text in json_text()) {
        check(&text);
    }

    #[test]
    fn one_byte_mutations_read_as_with_serde_json(
        text in json_text(),
        at in any::<prop::sample::Index>(),
        byte in prop::sample::select(b"{}[],:\"\\ 0-.eE1nu\x01".to_vec()),
        how in 0..3u8,
    ) {
        let mut bytes = text.into_bytes();
        let at = at.index(bytes.len() + 1);
        match how {
            0 => bytes.insert(at, byte),
            1 if at < bytes.len() => { bytes.remove(at); }
            _ if at < bytes.len() => bytes[at] = byte,
            _ => bytes.push(byte),
        }
        if let Ok(text) = String::from_utf8(bytes) {
            check(&text);
        }
    }

    #[test]
    fn any_text_reads_as_with_serde_json(text in "[\\[\\]{}\",:0-9a-z\\\\ .eE+-]{0,24}") {
        check(&text);
    }

    /// A string with escapes is decoded into a buffer sized once, for its whole escaped
    /// text: no reallocation leaves a copy of a part of it in freed memory.
    #[test]
    fn decoded_strings_are_sized_once(
        pieces in prop::collection::vec(
            prop::sample::select(vec![
                "a", "é", "😀", "\\\"", "\\\\", "\\n", "\\u0041", "\\u00e9",
                "\\uD83D\\uDE00", "0123456789abcdef",
            ]),
            1..40,
        ),
    ) {
        let text = format!("\"{}\"", pieces.concat());
        let value = Reader::new(&text).value();
        match value {
            Ok(Value::Str(std::borrow::Cow::Owned(s))) => {
                prop_assert_eq!(s.capacity(), text.len() - 2, "{}", text);
            }
            Ok(Value::Str(std::borrow::Cow::Borrowed(s))) => {
                prop_assert!(!text.contains('\\'), "{}", s);
            }
            other => prop_assert!(false, "{:?}", other),
        }
    }

    /// Infinite exactly when a correctly rounded `f64` is (std's parser is).
    #[test]
    fn numbers_are_infinite_as_an_f64_is(
        digits in "[1-9][0-9]{0,40}",
        point in any::<prop::sample::Index>(),
        exp in 250i32..330,
    ) {
        let at = point.index(digits.len()).max(1);
        let text = format!("{}.{}e{exp}", &digits[..at], &digits[at..]);
        let text = text.replace(".e", "e");
        let number = Number::parse(&text);
        let float: f64 = text.parse().unwrap();
        prop_assert_eq!(number.is_none(), float.is_infinite(), "{}", text);
    }

    /// The lifetime from the decimal text is the `f64` reading's to within the float's
    /// rounding (and exact for whole seconds).
    #[test]
    fn lifetimes_match_the_float_reading(
        int in "(0|[1-9][0-9]{0,12})",
        frac in "[0-9]{0,12}",
        exp in -15i32..15,
    ) {
        let text = if frac.is_empty() { format!("{int}e{exp}") } else { format!("{int}.{frac}e{exp}") };
        let number = Number::parse(&text).unwrap();
        let float: f64 = text.parse().unwrap();
        let expected = (float > 0.0)
            .then(|| Duration::try_from_secs_f64(float).unwrap_or(Duration::MAX))
            .filter(|d| !d.is_zero());
        match (number.lifetime(), expected) {
            (Some(ours), Some(theirs)) => {
                let gap = ours.abs_diff(theirs);
                let tolerance = Duration::from_nanos(1)
                    + Duration::from_secs_f64(theirs.as_secs_f64() * f64::EPSILON);
                prop_assert!(gap <= tolerance, "{}: {:?} vs {:?}", text, ours, theirs);
            }
            // Within a nanosecond's rounding of zero.
            (ours, theirs) => prop_assert!(
                ours.max(theirs) <= Some(Duration::from_nanos(1)),
                "{}: {:?} vs {:?}", text, ours, theirs
            ),
        }
    }
}

#[test]
fn lifetimes_are_exact_to_the_nanosecond() {
    let cases: [(&str, Option<Duration>); 25] = [
        ("3599", Some(Duration::from_secs(3599))),
        ("3599.5", Some(Duration::new(3599, 500_000_000))),
        ("3.599e3", Some(Duration::from_secs(3599))),
        ("359900e-2", Some(Duration::from_secs(3599))),
        ("0.0000000015", Some(Duration::from_nanos(2))),
        ("0.0000000025", Some(Duration::from_nanos(2))),
        ("0.00000000250001", Some(Duration::from_nanos(3))),
        ("5e-10", None),
        ("5.000001e-10", Some(Duration::from_nanos(1))),
        ("1e-400", None),
        ("0", None),
        ("-0", None),
        ("-1", None),
        ("0.0", None),
        ("18446744073709551615", Some(Duration::from_secs(u64::MAX))),
        ("18446744073709551616", Some(Duration::MAX)),
        ("18446744073709551615.9999999994", Some(Duration::MAX)),
        ("18446744073709551615.9999999995", Some(Duration::MAX)),
        (
            "18446744073709551614.9999999995",
            Some(Duration::from_secs(u64::MAX)),
        ),
        ("1.0000000005", Some(Duration::new(1, 0))),
        ("1.0000000015", Some(Duration::new(1, 2))),
        ("0.9999999995", Some(Duration::from_secs(1))),
        ("12e-1", Some(Duration::new(1, 200_000_000))),
        ("0.000000001e9", Some(Duration::from_secs(1))),
        (
            "1844674407370955161.5e1",
            Some(Duration::from_secs(u64::MAX)),
        ),
    ];
    for (text, lifetime) in cases {
        assert_eq!(Number::parse(text).unwrap().lifetime(), lifetime, "{text}");
    }
    // Past a float's exact integers, still exact.
    let big = (1u64 << 53) + 1;
    assert_eq!(
        Number::parse(&big.to_string()).unwrap().lifetime(),
        Some(Duration::from_secs(big))
    );
    assert_eq!(
        Number::parse("1e300").unwrap().lifetime(),
        Some(Duration::MAX)
    );
    assert_eq!(Number::parse("1e400"), None);
    assert_eq!(Number::parse(" 1"), None);
    assert_eq!(Number::parse("+1"), None);
}

#[test]
fn the_reference_walks_every_key_in_order() {
    // The reference walks keys in order, as the reader does (a repeated key twice).
    let mut d = serde_json::Deserializer::from_str(r#"{"a":1,"a":"x"}"#);
    let entries: Entries = de::Deserialize::deserialize(&mut d).unwrap();
    assert_eq!(
        entries,
        Entries(Some(vec![
            ("a".into(), Seen::U64(1)),
            ("a".into(), Seen::Str("x".into()))
        ]))
    );
}
