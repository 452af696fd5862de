//! What is printed: the token, a header line, or one JSON object.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
#[cfg(doc)]
use zuora_oauth_core::LifecycleConfig;
use zuora_oauth_core::{AccessToken, TokenHandle};

use crate::args::Format;

/// A token ready to print, whether just fetched or read back from the cache.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The bearer token (zeroized on drop by the core's type).
    pub access_token: AccessToken,
    /// `token_type` as the server sent it (`bearer` for a cached token: the cache keeps
    /// only tokens whose type the core accepted).
    pub token_type: String,
    /// `scope` as the server sent it; `None` if it sent none (or an empty one).
    pub scope: Option<String>,
    /// The lifetime the library counts on, in seconds: the server's `expires_in`, at most
    /// the lifecycle's cap ([`LifecycleConfig::max_lifetime`], 24 h).
    pub expires_in: Duration,
    /// `expires_in` as the server sent it, if this run got the answer (a saved record
    /// keeps only the lifetime counted on).
    pub server_expires_in: Option<Duration>,
    /// `jti`, if the server sent one.
    pub jti: Option<String>,
    /// When the token expires by the wall clock: [`expires_in`](Self::expires_in) after it
    /// was issued (the response's `Date`, else when the request was sent), so never later
    /// than Zuora's own expiry.
    pub expires_at: SystemTime,
    /// `Zuora-Request-Id` of the response that issued the token, if this run got it and
    /// it is not empty.
    pub request_id: Option<String>,
}

impl Issued {
    /// The token the lifecycle handed out: fetched by this run (`fetched`), or adopted
    /// from a store (whose records keep no response metadata).
    pub fn new(cached: &TokenHandle, fetched: bool) -> Self {
        let token = cached.token();
        let record = cached.record();
        let scope = token.scope().as_str();
        Self {
            access_token: token.access_token().clone(),
            token_type: token.token_type().to_owned(),
            scope: (!scope.is_empty()).then(|| scope.to_owned()),
            expires_in: record.lifetime(),
            server_expires_in: fetched.then(|| token.expires_in()),
            jti: token.jti().map(str::to_owned),
            expires_at: record.expires_at(),
            request_id: token
                .meta()
                .request_id()
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
        }
    }

    /// The output for `format`, with its final newline.
    pub fn render(&self, format: Format) -> String {
        let token = self.access_token.secret();
        match format {
            Format::Token => format!("{token}\n"),
            Format::Header => format!("Authorization: Bearer {token}\n"),
            Format::Json => {
                let json = JsonOutput {
                    access_token: token,
                    token_type: &self.token_type,
                    expires_in: seconds_number(self.expires_in),
                    server_expires_in: self.server_expires_in.map(seconds_number),
                    expires_at: rfc3339(self.expires_at),
                    scope: self.scope.as_deref(),
                    jti: self.jti.as_deref(),
                    request_id: self.request_id.as_deref(),
                };
                let mut line = serde_json::to_string(&json)
                    .unwrap_or_else(|_| unreachable!("strings and numbers always serialize"));
                line.push('\n');
                line
            }
        }
    }
}

/// `--format json`, in this field order.
#[derive(Serialize)]
struct JsonOutput<'a> {
    access_token: &'a str,
    token_type: &'a str,
    expires_in: serde_json::Number,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_expires_in: Option<serde_json::Number>,
    expires_at: String,
    scope: Option<&'a str>,
    jti: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

/// A lifetime as the JSON number the server would have sent: an integer when it is whole
/// seconds (Zuora's `3599`), else a decimal (`3599.5`).
pub fn seconds_number(d: Duration) -> serde_json::Number {
    if d.subsec_nanos() == 0 {
        serde_json::Number::from(d.as_secs())
    } else {
        serde_json::Number::from_f64(d.as_secs_f64()).unwrap_or_else(|| d.as_secs().into())
    }
}

/// RFC 3339 in UTC with a `Z`, to the second (rounded down): `2026-01-31T12:00:00Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar
/// (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both are in range by construction: 1..=12 and 1..=31.
    let small = |v: i64| u32::try_from(v).unwrap_or(0);
    (year, small(month), small(day))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
        assert_eq!(at(1_709_164_800), "2024-02-29T00:00:00Z");
        assert_eq!(
            rfc3339(UNIX_EPOCH + Duration::from_millis(1_700_000_000_999)),
            "2023-11-14T22:13:20Z"
        );
    }

    #[test]
    fn numbers_as_the_server_sent_them() {
        assert_eq!(
            seconds_number(Duration::from_secs(3599)).to_string(),
            "3599"
        );
        assert_eq!(
            seconds_number(Duration::from_secs_f64(3599.5)).to_string(),
            "3599.5"
        );
    }

    #[test]
    fn formats() {
        let mut issued = Issued {
            access_token: AccessToken::new("c652cbc0ea384b9f81856a93a2a74538").unwrap(),
            token_type: "bearer".into(),
            scope: None,
            expires_in: Duration::from_secs(3599),
            server_expires_in: None,
            jti: Some("j1".into()),
            expires_at: UNIX_EPOCH + Duration::from_secs(1_700_003_599),
            request_id: None,
        };
        assert_eq!(
            issued.render(Format::Token),
            "c652cbc0ea384b9f81856a93a2a74538\n"
        );
        assert_eq!(
            issued.render(Format::Header),
            "Authorization: Bearer c652cbc0ea384b9f81856a93a2a74538\n"
        );
        assert_eq!(
            issued.render(Format::Json),
            "{\"access_token\":\"c652cbc0ea384b9f81856a93a2a74538\",\"token_type\":\"bearer\",\
             \"expires_in\":3599,\"expires_at\":\"2023-11-14T23:13:19Z\",\"scope\":null,\
             \"jti\":\"j1\"}\n"
        );
        issued.scope = Some("tenant.19".into());
        issued.server_expires_in = Some(Duration::from_secs(864_000));
        assert!(issued.render(Format::Json).contains(
            "\"expires_in\":3599,\"server_expires_in\":864000,\"expires_at\":\"2023-11-14T23:13:19Z\",\
             \"scope\":\"tenant.19\""
        ));
        issued.request_id = Some("9c1b2d3e-0000-4000-8000-000000000001".into());
        assert!(
            issued
                .render(Format::Json)
                .ends_with(",\"request_id\":\"9c1b2d3e-0000-4000-8000-000000000001\"}\n")
        );
    }
}
