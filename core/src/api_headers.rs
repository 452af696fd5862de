//! Values for the headers of Zuora API calls (never of the token call): the Multi-Org
//! headers `Zuora-Org-Ids` and `Zuora-Working-Org`, and `Zuora-Version`.

use http::HeaderName;

use crate::entity_id::canonical_uuid;
use crate::header_text::HeaderText;
use crate::invalid::InvalidInput;

/// `Zuora-Org-Ids`: the orgs (one or more [`OrgId`]s, comma-separated) a Multi-Org
/// tenant's API call sees; without it, every org the user may access.
pub const ZUORA_ORG_IDS: HeaderName = HeaderName::from_static("zuora-org-ids");

/// `Zuora-Working-Org`: the org (one [`OrgId`]) that labels what an API call creates when
/// nothing else decides it.
pub const ZUORA_WORKING_ORG: HeaderName = HeaderName::from_static("zuora-working-org");

/// `Zuora-Version`: the API minor version ([`ApiVersion`]) of one API call; without it, the
/// tenant's default.
pub const ZUORA_VERSION: HeaderName = HeaderName::from_static("zuora-version");

/// The ID of one org of a Multi-Org Zuora tenant, for `Zuora-Org-Ids` and
/// `Zuora-Working-Org` on API calls.
///
/// Zuora's org IDs are UUIDs. Like entity IDs, they are accepted hyphenated (8-4-4-4-12 hex
/// digits) or as 32 hex digits without hyphens, in any letter case, and kept in the
/// canonical form: hyphenated, lower-case. Anything else is refused, an org's label
/// (`Asia`) and a comma-separated list included: a list is built from separate IDs.
///
/// ```
/// use zuora_oauth_core::OrgId;
/// let asia = OrgId::new("6F1A9D2C4B7E4C1A9E3F2D8B5A7C9E01")?;
/// assert_eq!(asia.as_str(), "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01");
/// assert!(OrgId::new("Asia").is_err());
/// # Ok::<(), zuora_oauth_core::InvalidInput>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct OrgId(HeaderText);

impl OrgId {
    /// Parses a hyphenated (36 characters) or bare (32 hex digits) UUID.
    pub fn new(id: impl AsRef<str>) -> Result<Self, InvalidInput> {
        canonical_uuid(id.as_ref())
            .and_then(HeaderText::new)
            .map(Self)
            .ok_or_else(|| {
                InvalidInput::new(
                    "org ID",
                    "must be a UUID: 8-4-4-4-12 hex digits with hyphens, or 32 hex digits \
                     (one ID; not an org's name, not a list)",
                )
            })
    }

    /// The canonical form: hyphenated, lower-case.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// A Zuora API minor version, for `Zuora-Version` on API calls.
///
/// Zuora documents two forms ("Introduction to Zuora API Versions" on
/// developer.zuora.com): a date, `YYYY-MM-DD` (`2024-05-20`, `2025-08-12`), and the legacy
/// numbers such as `196.0` or `211.0`, still accepted for existing integrations. Those two
/// forms are accepted as written (a date's month 01–12 and day 01–31; a number's digits, a
/// dot, digits, at most [`MAX_LEN`](Self::MAX_LEN) characters), and nothing else: a typo
/// is caught before a call is sent rather than answered with the tenant's default version.
/// Whether Zuora knows that version is Zuora's to say.
///
/// ```
/// use zuora_oauth_core::ApiVersion;
/// assert!(ApiVersion::new("2025-08-12").is_ok());
/// assert!(ApiVersion::new("211.0").is_ok());
/// assert!(ApiVersion::new("2025-8-12").is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiVersion(HeaderText);

impl ApiVersion {
    /// The most characters of a legacy numbered version.
    pub const MAX_LEN: usize = 16;

    /// Validates `version`: `YYYY-MM-DD`, or digits, a dot, digits.
    pub fn new(version: impl AsRef<str>) -> Result<Self, InvalidInput> {
        let version = version.as_ref();
        let valid = is_date(version) || is_legacy_number(version);
        valid
            .then(|| HeaderText::new(version.to_owned()))
            .flatten()
            .map(Self)
            .ok_or_else(|| {
                InvalidInput::new(
                    "Zuora-Version",
                    "must be a date, YYYY-MM-DD (e.g. 2025-08-12), or a legacy version number \
                     such as 211.0",
                )
            })
    }

    /// The version as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

/// `YYYY-MM-DD` with a month 01–12 and a day 01–31.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u16> {
        let part = &b[range];
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u16::from(d - b'0')))
    };
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && number(0..4).is_some()
        && number(5..7).is_some_and(|m| (1..=12).contains(&m))
        && number(8..10).is_some_and(|d| (1..=31).contains(&d))
}

/// Digits, a dot, digits; at most [`ApiVersion::MAX_LEN`] characters.
fn is_legacy_number(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    s.len() <= ApiVersion::MAX_LEN
        && s.split_once('.')
            .is_some_and(|(major, minor)| digits(major) && digits(minor))
}

crate::header_text::text_impls!(OrgId);
crate::header_text::text_impls!(ApiVersion);
