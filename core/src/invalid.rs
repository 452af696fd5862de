//! The error returned when an input fails validation.

use std::borrow::Cow;

/// An input that breaks one of Zuora's rules, caught before anything is sent.
///
/// It names the field and the rule. It never repeats the rejected value when that value
/// may be secret (client secrets, URLs that might carry credentials); for harmless values
/// such as an unknown environment name it may quote them to help the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {rule}")]
pub struct InvalidInput {
    field: &'static str,
    rule: Cow<'static, str>,
}

impl InvalidInput {
    pub(crate) fn new(field: &'static str, rule: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field,
            rule: rule.into(),
        }
    }

    /// The field that was rejected, as Zuora names it (`client_id`, `client_secret`,
    /// `Zuora-Track-Id`, `Zuora-Entity-Ids`, `environment`, `base_url`, `access_token`;
    /// for API calls, `org ID` (one ID of `Zuora-Org-Ids` or `Zuora-Working-Org`) and
    /// `Zuora-Version`).
    pub fn field(&self) -> &'static str {
        self.field
    }

    /// The rule that was broken, in words.
    pub fn rule(&self) -> &str {
        &self.rule
    }
}

/// The length in characters (not bytes), which the validators' rules are stated in.
pub(crate) fn char_count(s: &str) -> usize {
    s.chars().count()
}
