//! The token endpoint, `POST /oauth/token`: validation like Zuora's, tokens, rate limits.

use std::time::{Instant, SystemTime};

use hyper::header::{self, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};

use crate::fault::{RetryAfter, TokenFields};
use crate::handler::{Answer, Plain, Req, ZUORA_ENTITY_IDS, ZUORA_TRACK_ID, header_text};
use crate::respond::{self, Endpoint, RateHeaders};
use crate::rules::FaultTarget;
use crate::state::{IssuedToken, RateInfo, RecordedRequest, RequestKind, Shared};
use crate::{DEFAULT_RATE_LIMIT_PER_MINUTE, JSON_CONTENT_TYPE, ids, redact};

fn is_form(content_type: Option<&str>) -> bool {
    content_type.is_some_and(|ct| {
        ct.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

/// Counts, records (redacted) and answers one request to `/oauth/token`.
pub(crate) async fn handle(request: Req<'_>) -> Answer {
    let Req {
        shared,
        peer,
        parts,
        body,
    } = request;
    let content_type = header_text(parts, header::CONTENT_TYPE);
    let form = if is_form(content_type.as_deref()) {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body).ok()
    } else {
        None
    };
    let client_id = form
        .as_ref()
        .and_then(|f| f.iter().find(|(k, _)| k == "client_id"))
        .map(|(_, v)| v.clone());
    let counted = parts.method == Method::POST;
    let (seq, fault, rate) = {
        let mut st = shared.lock();
        if counted {
            st.token_requests += 1;
        }
        let fault = st.rules.take(FaultTarget::Token, client_id.as_deref());
        let rate = st.count_rate(peer.ip(), Instant::now());
        let seq = st.record(RecordedRequest {
            kind: RequestKind::Token,
            method: parts.method.to_string(),
            path: redact::path(&crate::handler::path_and_query(parts)),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    let value = String::from_utf8_lossy(v.as_bytes());
                    (
                        k.as_str().to_owned(),
                        redact::header(k.as_str(), &value, None),
                    )
                })
                .collect(),
            body: redact::body(&body),
            form: form.as_deref().map(redact::form),
            client_id,
            token_index: None,
            status: None,
            fault: fault.as_ref().map(|f| f.kind().to_owned()),
            peer,
            received_at: SystemTime::now(),
        });
        (seq, fault, rate)
    };
    if counted {
        shared.arrived();
    }
    let call = TokenCall {
        shared,
        parts,
        content_type: content_type.as_deref(),
        form: form.as_deref(),
        rate,
    };
    let answer = match fault {
        None => call.normal().into(),
        Some(fault) => respond::apply(&call, fault).await,
    };
    shared.lock().set_status(seq, answer.status());
    answer
}

/// One token request being answered.
struct TokenCall<'a> {
    shared: &'a Shared,
    parts: &'a Parts,
    content_type: Option<&'a str>,
    form: Option<&'a [(String, String)]>,
    rate: Option<RateInfo>,
}

/// A successful answer's pieces, kept apart so faults can reshape them.
struct Success {
    token: IssuedToken,
    expires_in: u64,
    scope: String,
}

impl Success {
    fn json(&self, fields: &TokenFields) -> Value {
        let mut map = serde_json::Map::new();
        map.insert("access_token".into(), json!(self.token.access_token));
        map.insert(
            "expires_in".into(),
            fields.expires_in.clone().unwrap_or(json!(self.expires_in)),
        );
        map.insert(
            "jti".into(),
            json!(fields.jti.as_deref().unwrap_or(&self.token.jti)),
        );
        map.insert(
            "scope".into(),
            json!(fields.scope.as_deref().unwrap_or(&self.scope)),
        );
        map.insert(
            "token_type".into(),
            json!(fields.token_type.as_deref().unwrap_or("bearer")),
        );
        for name in &fields.omit {
            map.remove(name);
        }
        Value::Object(map)
    }
}

impl TokenCall<'_> {
    fn rate_headers(&self, remaining_override: Option<u32>) -> Option<RateHeaders> {
        let rate = self.rate?;
        Some(RateHeaders {
            limit: rate.limit,
            remaining: remaining_override.unwrap_or(rate.remaining),
            window: self.shared.lock().rate_window.as_secs().max(1),
            reset: rate.reset_secs,
        })
    }

    /// Validates the request like Zuora; `Ok` is a newly issued token.
    #[allow(clippy::result_large_err)] // called once per request; boxing buys nothing
    fn validate(&self) -> Result<Success, Plain> {
        let bad = |d: &str| Plain::oauth_error(StatusCode::BAD_REQUEST, "invalid_request", d);
        if self.parts.method != Method::POST {
            return Err(Plain::oauth_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                &format!("Request method '{}' is not supported", self.parts.method),
            )
            .with_header(header::ALLOW, "POST, OPTIONS"));
        }
        for name in ["authorization", "apiaccesskeyid", "apisecretaccesskey"] {
            if self.parts.headers.contains_key(name) {
                return Err(bad(&format!(
                    "The {name} header must not be sent: put client_id and client_secret in the form body"
                )));
            }
        }
        match self.content_type {
            None => {
                return Err(bad(
                    "Missing Content-Type: expected application/x-www-form-urlencoded",
                ));
            }
            Some(ct) if !is_form(Some(ct)) => {
                return Err(Plain::oauth_error(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "invalid_request",
                    &format!(
                        "Unsupported Content-Type '{ct}': expected application/x-www-form-urlencoded"
                    ),
                ));
            }
            Some(_) => {}
        }
        let form = self.form.ok_or_else(|| bad("Malformed form body"))?;
        for (i, (name, _)) in form.iter().enumerate() {
            if form[..i].iter().any(|(n, _)| n == name) {
                return Err(bad(&format!("Parameter '{name}' is repeated")));
            }
        }
        let field = |name: &str| {
            form.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .filter(|v| !v.is_empty())
        };
        let grant = field("grant_type").ok_or_else(|| bad("Missing grant type"))?;
        if grant != "client_credentials" {
            return Err(Plain::oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("Unsupported grant type: {grant}"),
            ));
        }
        let client_id = field("client_id").ok_or_else(|| bad("Missing client_id"))?;
        let secret = field("client_secret").ok_or_else(|| bad("Missing client_secret"))?;
        if client_id.chars().count() != 36 {
            return Err(bad("client_id must be exactly 36 characters"));
        }
        if secret.chars().count() > 42 {
            return Err(bad("client_secret must be at most 42 characters"));
        }
        if let Some(track) = self.parts.headers.get(ZUORA_TRACK_ID) {
            let ok = track.len() <= 64
                && track
                    .as_bytes()
                    .iter()
                    .all(|&b| (0x20..0x7f).contains(&b) && !b":;\"'".contains(&b));
            if !ok {
                return Err(bad(
                    "Invalid Zuora-Track-Id: at most 64 US-ASCII characters, none of : ; \" '",
                ));
            }
        }
        let entity = match self.parts.headers.get(ZUORA_ENTITY_IDS) {
            None => None,
            Some(v) => match v.to_str().ok().map(str::trim).filter(|s| ids::is_uuid(s)) {
                Some(e) => Some(e.to_ascii_lowercase()),
                None => {
                    return Err(bad(
                        "Invalid Zuora-Entity-Ids: expected one entity ID like 11e643f4-a3ee-8bad-b061-0025904c756d",
                    ));
                }
            },
        };
        let mut st = self.shared.lock();
        let user = match st.clients.get(client_id) {
            Some(c) if c.secret == secret => c.user_id.clone(),
            _ => {
                return Err(Plain::oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "Bad client credentials",
                )
                .with_header(
                    header::WWW_AUTHENTICATE,
                    r#"Bearer realm="Zuora", error="invalid_client", error_description="Bad client credentials""#,
                ));
            }
        };
        let expires_in = st.lifetime.as_secs();
        let token = st.issue(client_id, entity);
        let scope = format!(
            "user.{user} entity.{} platform.write service.echo.read tenant.{}",
            token.entity_id, st.tenant
        );
        Ok(Success {
            token,
            expires_in,
            scope,
        })
    }
}

impl Endpoint for TokenCall<'_> {
    /// 429 when over the rate limit, else validation, else a token.
    fn normal(&self) -> Plain {
        self.reshaped(&TokenFields::default(), JSON_CONTENT_TYPE)
    }

    fn reshaped(&self, fields: &TokenFields, content_type: &'static str) -> Plain {
        if let Some(rate) = self.rate.filter(|r| r.limited) {
            return self.rate_limited(&RetryAfter::Seconds(rate.reset_secs));
        }
        let mut plain = match self.validate() {
            Ok(success) => Plain::new(
                StatusCode::OK,
                content_type,
                success.json(fields).to_string(),
            )
            .with_header(header::CACHE_CONTROL, "no-store")
            .with_header(header::PRAGMA, "no-cache"),
            Err(error) => error,
        };
        for (name, value) in &fields.headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                plain.headers.append(n, v);
            }
        }
        self.usual_headers(&mut plain);
        plain
    }

    /// Rate-limit headers show nothing remaining; without a rate limit, Zuora's numbers
    /// for authentication requests (100 a minute).
    fn rate_limited(&self, retry_after: &RetryAfter) -> Plain {
        let rate = self.rate_headers(Some(0)).unwrap_or(RateHeaders {
            limit: DEFAULT_RATE_LIMIT_PER_MINUTE,
            remaining: 0,
            window: 60,
            reset: 60,
        });
        respond::too_many_requests(retry_after, rate)
    }

    /// The mock's limit, else Zuora's for authentication requests (100 a minute).
    fn limit(&self) -> u32 {
        self.rate.map_or(DEFAULT_RATE_LIMIT_PER_MINUTE, |r| r.limit)
    }

    fn usual_headers(&self, plain: &mut Plain) {
        if let Some(rate) = self.rate_headers(None) {
            rate.add_to(plain);
        }
    }

    fn malformed_json(&self) -> String {
        format!(
            r#"{{"access_token":"{}","expires_in":3599,"jti":"{}","scope":"service.echo.read","token_type":"bea"#,
            ids::hex32(),
            ids::hex32()
        )
    }

    fn padded_json(&self) -> (String, String) {
        (
            format!(
                r#"{{"access_token":"{}","expires_in":3599,"jti":"{}","padding":""#,
                ids::hex32(),
                ids::hex32()
            ),
            r#"","scope":"service.echo.read","token_type":"bearer"}"#.to_owned(),
        )
    }
}
