//! Fault rules: which requests a queued [`Fault`] is for (the token endpoint or the API, one
//! client or any) and how many of them it hits.

use std::collections::VecDeque;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::fault::Fault;

/// The requests a [`FaultRule`] is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FaultTarget {
    /// Requests to `/oauth/token` (CORS preflights excepted). JSON: `"token"` (the default).
    #[default]
    Token,
    /// Requests to the mock Zuora API, `/v1/…` (CORS preflights excepted). JSON: `"api"`.
    Api,
}

impl FaultTarget {
    fn is_token(&self) -> bool {
        *self == FaultTarget::Token
    }
}

/// How many matching requests a [`FaultRule`] hits.
///
/// JSON: a number for [`Times::Next`] (`"times":3`), or `"always"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Times {
    /// The next `n` matching requests, then the rule is gone. `Next(0)` is refused.
    Next(u32),
    /// Every matching request until the rule is cleared
    /// ([`MockServer::clear_faults`](crate::MockServer::clear_faults),
    /// [`MockServer::reset`](crate::MockServer::reset), `DELETE /__mock/faults`).
    Always,
}

impl Default for Times {
    /// `Next(1)`: one request.
    fn default() -> Self {
        Times::Next(1)
    }
}

impl Times {
    fn is_once(&self) -> bool {
        *self == Times::Next(1)
    }
}

impl Serialize for Times {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Times::Next(n) => s.serialize_u32(*n),
            Times::Always => s.serialize_str("always"),
        }
    }
}

impl<'de> Deserialize<'de> for Times {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TimesVisitor;
        impl Visitor<'_> for TimesVisitor {
            type Value = Times;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a positive number of requests or "always""#)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Times, E> {
                match u32::try_from(n) {
                    Ok(n) if n > 0 => Ok(Times::Next(n)),
                    _ => Err(E::custom(format!(
                        "times must be between 1 and {}, or \"always\"; got {n}",
                        u32::MAX
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Times, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!(
                        "times must be positive or \"always\"; got {n}"
                    ))),
                }
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Times, E> {
                if s == "always" {
                    Ok(Times::Always)
                } else {
                    Err(E::custom(format!(
                        "times must be a number or \"always\"; got {s:?}"
                    )))
                }
            }
        }
        d.deserialize_any(TimesVisitor)
    }
}

/// A [`Fault`] with its scope: which endpoint, which client, how many times.
///
/// [`MockServer::push_fault`](crate::MockServer::push_fault) queues
/// `FaultRule::new(fault)`: the next one token request, from any client. Scope it so that
/// parallel tests, or a background refresh, do not take each other's faults:
///
/// ```
/// use zuora_oauth_testkit::{Fault, FaultRule, FaultTarget, Times};
///
/// // The next two token requests of this client get a 503; other clients are served.
/// let rule = FaultRule::new(Fault::empty(503))
///     .for_client("8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c")
///     .times(2);
/// assert_eq!(rule.times, Times::Next(2));
///
/// // Every API call answers 429 until the rule is cleared.
/// let rule = FaultRule::new(Fault::rate_limited(Default::default())).on_api().always();
/// assert_eq!((rule.target, rule.times), (FaultTarget::Api, Times::Always));
/// ```
///
/// A request takes the oldest queued rule that matches it (same target, and the rule's
/// client is the request's or the rule has none). On the token endpoint, the request's
/// client is the `client_id` of its form; on the API, the client the bearer token was issued
/// to (an API call without a token this mock issued matches only rules without a client).
///
/// # JSON
///
/// The fault's own fields, plus `target` (`"token"`, the default, or `"api"`), `client_id`
/// (absent: any client) and `times` (a number, default 1, or `"always"`):
///
/// ```
/// use zuora_oauth_testkit::{Fault, FaultRule, Times};
///
/// let rule: FaultRule = serde_json::from_str(
///     r#"{"kind":"respond","status":503,"client_id":"8f14e45f-ceea-4672-9b3c-5d6e7f8a9b0c","times":"always"}"#,
/// ).unwrap();
/// assert_eq!(rule.times, Times::Always);
/// // A plain fault is a rule with the defaults, and prints as before.
/// let rule: FaultRule = serde_json::from_str(r#"{"kind":"reset_connection"}"#).unwrap();
/// assert_eq!(rule, FaultRule::new(Fault::ResetConnection));
/// assert_eq!(serde_json::to_string(&rule).unwrap(), r#"{"kind":"reset_connection"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FaultRule {
    /// What the matching requests get.
    #[serde(flatten)]
    pub fault: Fault,
    /// The token endpoint or the API.
    #[serde(default, skip_serializing_if = "FaultTarget::is_token")]
    pub target: FaultTarget,
    /// Only requests of this client; `None`: any client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// How many matching requests it hits.
    #[serde(default, skip_serializing_if = "Times::is_once")]
    pub times: Times,
}

impl From<Fault> for FaultRule {
    fn from(fault: Fault) -> Self {
        Self::new(fault)
    }
}

impl FaultRule {
    /// `fault` for the next one token request, from any client.
    pub fn new(fault: Fault) -> Self {
        Self {
            fault,
            target: FaultTarget::Token,
            client_id: None,
            times: Times::Next(1),
        }
    }

    /// For the token endpoint or the API.
    pub fn target(mut self, target: FaultTarget) -> Self {
        self.target = target;
        self
    }

    /// For API calls (`/v1/…`) instead of token requests.
    pub fn on_api(self) -> Self {
        self.target(FaultTarget::Api)
    }

    /// Only for requests of this client.
    pub fn for_client(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// For the next `n` matching requests (`n` ≥ 1).
    pub fn times(mut self, n: u32) -> Self {
        self.times = Times::Next(n);
        self
    }

    /// For every matching request until cleared.
    pub fn always(mut self) -> Self {
        self.times = Times::Always;
        self
    }

    /// Why the server would refuse this rule: `Times::Next(0)`, or a fault that only makes
    /// sense on the token endpoint ([`Fault::TokenFields`]) aimed at the API.
    pub fn check(&self) -> Result<(), String> {
        if self.times == Times::Next(0) {
            return Err("times must be at least 1 (or \"always\")".into());
        }
        if self.target == FaultTarget::Api && matches!(self.fault, Fault::TokenFields(_)) {
            return Err(format!(
                "the fault {:?} changes token fields: it applies to the token endpoint only",
                self.fault.kind()
            ));
        }
        Ok(())
    }

    /// Whether a request to `target` from `client_id` takes this rule.
    fn matches(&self, target: FaultTarget, client_id: Option<&str>) -> bool {
        self.target == target
            && self
                .client_id
                .as_deref()
                .is_none_or(|wanted| Some(wanted) == client_id)
    }
}

/// The queue of rules, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    queue: VecDeque<FaultRule>,
}

impl Rules {
    pub(crate) fn push(&mut self, rule: FaultRule) {
        self.queue.push_back(rule);
    }

    /// The fault for a request to `target` from `client_id`, counting one use of its rule.
    pub(crate) fn take(&mut self, target: FaultTarget, client_id: Option<&str>) -> Option<Fault> {
        let i = self
            .queue
            .iter()
            .position(|r| r.matches(target, client_id))?;
        let rule = &mut self.queue[i];
        match &mut rule.times {
            Times::Always => Some(rule.fault.clone()),
            Times::Next(n) if *n > 1 => {
                *n -= 1;
                Some(rule.fault.clone())
            }
            Times::Next(_) => self.queue.remove(i).map(|r| r.fault),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &FaultRule> {
        self.queue.iter()
    }

    pub(crate) fn clear(&mut self) -> usize {
        let n = self.queue.len();
        self.queue.clear();
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "client-a";
    const B: &str = "client-b";

    #[test]
    fn oldest_matching_rule_wins_and_counts_down() {
        let mut rules = Rules::default();
        rules.push(FaultRule::new(Fault::empty(500)).for_client(A).times(2));
        rules.push(FaultRule::new(Fault::empty(502)).on_api());
        rules.push(FaultRule::new(Fault::empty(503)));
        let status = |f: Option<Fault>| match f {
            Some(Fault::Respond { status, .. }) => Some(status),
            _ => None,
        };
        assert_eq!(status(rules.take(FaultTarget::Token, Some(B))), Some(503));
        assert_eq!(status(rules.take(FaultTarget::Token, Some(B))), None);
        assert_eq!(status(rules.take(FaultTarget::Token, None)), None);
        assert_eq!(status(rules.take(FaultTarget::Token, Some(A))), Some(500));
        assert_eq!(status(rules.take(FaultTarget::Token, Some(A))), Some(500));
        assert_eq!(status(rules.take(FaultTarget::Token, Some(A))), None);
        assert_eq!(status(rules.take(FaultTarget::Api, Some(A))), Some(502));
        assert_eq!(rules.len(), 0);
    }

    #[test]
    fn always_stays_until_cleared() {
        let mut rules = Rules::default();
        rules.push(FaultRule::new(Fault::MalformedJson).always());
        for _ in 0..5 {
            assert_eq!(
                rules.take(FaultTarget::Token, None),
                Some(Fault::MalformedJson)
            );
        }
        assert_eq!(rules.take(FaultTarget::Api, None), None);
        assert_eq!(rules.clear(), 1);
        assert_eq!(rules.take(FaultTarget::Token, None), None);
    }

    #[test]
    fn json_form_and_checks() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"kind":"close_connection","target":"api","times":3}"#)
                .unwrap();
        assert_eq!(
            rule,
            FaultRule::new(Fault::CloseConnection).on_api().times(3)
        );
        assert_eq!(
            serde_json::to_value(&rule).unwrap(),
            serde_json::json!({"kind":"close_connection","target":"api","times":3})
        );
        for bad in [
            r#"{"kind":"close_connection","times":0}"#,
            r#"{"kind":"close_connection","times":-1}"#,
            r#"{"kind":"close_connection","times":"twice"}"#,
            r#"{"kind":"close_connection","target":"elsewhere"}"#,
        ] {
            assert!(serde_json::from_str::<FaultRule>(bad).is_err(), "{bad}");
        }
        assert!(FaultRule::new(Fault::token_type("mac")).check().is_ok());
        assert!(
            FaultRule::new(Fault::token_type("mac"))
                .on_api()
                .check()
                .is_err()
        );
        assert!(
            FaultRule::new(Fault::MalformedJson)
                .times(0)
                .check()
                .is_err()
        );
    }
}
