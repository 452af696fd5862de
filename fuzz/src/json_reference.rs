//! serde_json's reading of a token response, as the core did it before it had a JSON reader
//! of its own: the reference the `parse_response` target holds that reader to. An object
//! walked key by key (every key decoded), the five token fields read whole (a string must
//! decode to Unicode, a number must be finite; a container's entries skipped), every other
//! value skipped (`IgnoredAny`: syntax only), a repeated token field an error.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Whether serde_json reads `text` as a token response's object as the core did.
pub fn token_object_reads(text: &str) -> bool {
    serde_json::from_str::<TokenObject>(text).is_ok()
}

/// Whether `text` has a number within a rounding of `f64::MAX`: serde_json's default float
/// parser is not correctly rounded, so there it and the core (which follows std's correctly
/// rounded parser) may disagree on whether the number is finite.
pub fn near_the_float_limit(text: &str) -> bool {
    text.split(|c: char| !"0123456789eE+-.".contains(c)).any(|piece| {
        let (mantissa, exp) = piece.split_once(['e', 'E']).unwrap_or((piece, "0"));
        match (mantissa.parse::<f64>(), exp.parse::<f64>()) {
            (Ok(m), Ok(e)) => (m.abs().log10() + e - f64::MAX.log10()).abs() < 1e-12,
            _ => false,
        }
    })
}

const FIELDS: [&str; 5] = ["access_token", "expires_in", "jti", "scope", "token_type"];

struct TokenObject;

impl<'de> Deserialize<'de> for TokenObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(TokenVisitor)
    }
}

struct TokenVisitor;

impl<'de> Visitor<'de> for TokenVisitor {
    type Value = TokenObject;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TokenObject, A::Error> {
        let mut seen = [false; FIELDS.len()];
        while let Some(key) = map.next_key::<String>()? {
            match FIELDS.iter().position(|f| *f == key) {
                Some(i) if seen[i] => return Err(de::Error::duplicate_field(FIELDS[i])),
                Some(i) => {
                    seen[i] = true;
                    map.next_value::<AnyValue>()?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(TokenObject)
    }
}

/// Any value, read whole (`deserialize_any`); a container's entries skipped.
struct AnyValue;

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = AnyValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E>(self, _: &str) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }
    fn visit_u64<E>(self, _: u64) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }
    fn visit_i64<E>(self, _: i64) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }
    fn visit_f64<E>(self, _: f64) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }
    fn visit_bool<E>(self, _: bool) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }
    fn visit_unit<E>(self) -> Result<AnyValue, E> {
        Ok(AnyValue)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(AnyValue)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyValue, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(AnyValue)
    }
}
