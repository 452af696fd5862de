//! The optional `Zuora-Entity-Ids` request header.

use crate::header_text::HeaderText;
use crate::invalid::InvalidInput;

/// The ID of one entity of a Multi-entity Zuora tenant, sent as `Zuora-Entity-Ids`.
///
/// Zuora wants the canonical hyphenated UUID form (8-4-4-4-12 hex digits). Zuora's UI also
/// shows entity IDs as 32 hex digits without hyphens; those are accepted and converted.
/// The stored form is always hyphenated and lower-case.
///
/// ```
/// use zuora_oauth_core::EntityId;
/// let a = EntityId::new("11E643F4A3EE8BADB0610025904C756D")?;
/// assert_eq!(a.as_str(), "11e643f4-a3ee-8bad-b061-0025904c756d");
/// assert_eq!(a, EntityId::new("11e643f4-a3ee-8bad-b061-0025904c756d")?);
/// # Ok::<(), zuora_oauth_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EntityId(HeaderText);

impl EntityId {
    /// Parses a hyphenated (36 characters) or bare (32 hex digits) UUID.
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidInput> {
        canonical_uuid(id.as_ref())
            .and_then(HeaderText::new)
            .map(Self)
            .ok_or_else(|| {
                InvalidInput::new(
                    "Zuora-Entity-Ids",
                    "must be a UUID: 8-4-4-4-12 hex digits with hyphens, or 32 hex digits",
                )
            })
    }

    /// The canonical form: hyphenated, lower-case.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn header(&self) -> &http::HeaderValue {
        self.0.header()
    }
}

/// Byte offsets of the hyphens in the canonical form.
const HYPHENS: [usize; 4] = [8, 13, 18, 23];

/// The canonical form (hyphenated 8-4-4-4-12, lower-case) of a hyphenated (36 characters)
/// or bare (32 hex digits) UUID in any letter case; `None` for anything else.
pub(crate) fn canonical_uuid(id: &str) -> Option<String> {
    let b = id.as_bytes();
    let hex: Vec<u8> = match b.len() {
        36 if HYPHENS.iter().all(|&i| b[i] == b'-') => b
            .iter()
            .enumerate()
            .filter(|(i, _)| !HYPHENS.contains(i))
            .map(|(_, &c)| c)
            .collect(),
        32 => b.to_vec(),
        _ => return None,
    };
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut canonical = String::with_capacity(36);
    for (i, c) in hex.iter().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            canonical.push('-');
        }
        canonical.push(c.to_ascii_lowercase() as char);
    }
    Some(canonical)
}

crate::header_text::text_impls!(EntityId);
