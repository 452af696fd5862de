//! Zuora API calls through [`AuthorizedFetch`] against the testkit's mock Zuora API, in
//! Node, headless Chromium and a dedicated worker (see `mock_server.rs` for how the server
//! is started): the token on the first call, a revoked token (401, one new token, one
//! replay of the same body), a second 401, a failed refresh, other origins and a caller's
//! own `Authorization`, concurrent 401s, answers that never refresh, the body cap, no
//! call without a token, and the Multi-Org and version headers (`Zuora-Org-Ids`,
//! `Zuora-Working-Org`, `Zuora-Version`) per source and per call, and one `AuthorizedFetch`
//! for many tenants.
#![cfg(target_arch = "wasm32")]

use futures_util::future::join_all;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use zuora_oauth_core::{
    ApiVersion, ClientId, ClientSecret, EntityId, Environment, Error, Generation, InvalidInput,
    OrgId, TokenRequest, TrackId, TransportError, TransportErrorKind,
};
use zuora_oauth_driver::api::{ApiError, ApiOptions, NotRetried, NotRetriedReason, Replayed};
use zuora_oauth_driver::{DEFAULT_MAX_BODY, Tenant, TokenErrorKind, TokenSources};
use zuora_oauth_wasm::{AuthorizedFetch, FetchTransport};

mod common;

use common::*;

const ENTITY: &str = "11e643f4-a3ee-8bad-b061-0025904c756d";

type Answer = http::Response<Vec<u8>>;

/// A fresh server (tokens live an hour) and calls authorized by the demo client's source.
async fn api() -> AuthorizedFetch {
    setup(3599).await;
    AuthorizedFetch::new(source(demo_request().await))
}

fn get_account() -> http::Request<Vec<u8>> {
    http::Request::get(format!("{}/v1/accounts/A00000001", mock_url()))
        .body(Vec::new())
        .unwrap()
}

fn create_account(name: &str) -> http::Request<Vec<u8>> {
    let json = format!(r#"{{"name":"{name}","currency":"EUR"}}"#);
    http::Request::post(format!("{}/v1/accounts", mock_url()))
        .header("content-type", "application/json")
        .body(json.into_bytes())
        .unwrap()
}

fn text(answer: &Answer) -> String {
    String::from_utf8_lossy(answer.body()).into_owned()
}

fn ok(result: Result<Answer, ApiError<TransportError>>) -> Answer {
    let answer = result.unwrap_or_else(|e| panic!("the call failed: {e}"));
    assert_eq!(answer.status(), 200, "{}", text(&answer));
    answer
}

fn request_id(answer: &Answer) -> Option<&str> {
    answer.headers().get("zuora-request-id")?.to_str().ok()
}

fn unmarked(answer: &Answer) -> bool {
    let ext = answer.extensions();
    ext.get::<Replayed>().is_none() && ext.get::<NotRetried>().is_none()
}

/// What the server recorded of one API call.
#[derive(Debug)]
struct Sent {
    status: Option<u16>,
    /// Which of the tokens the server issued (since it started) the call carried.
    token: Option<u32>,
    /// `Bearer [token N]`, `Bearer [unknown token]`, … (the server redacts the token).
    authorization: Option<String>,
    body: String,
}

async fn sent() -> Vec<Sent> {
    recorded_api_calls()
        .await
        .iter()
        .map(|call| Sent {
            status: get(&call, "status").as_f64().map(|s| s as u16),
            token: get(&call, "token_index").as_f64().map(|i| i as u32),
            authorization: recorded_header(&call, "authorization"),
            body: get(&call, "body").as_string().unwrap_or_default(),
        })
        .collect()
}

/// Revokes the token `api`'s source holds; returns its generation.
async fn revoke(api: &AuthorizedFetch) -> Generation {
    let source = api.source().expect("one source");
    assert!(source.status().token.is_some(), "a token was fetched");
    let token = source.token().await.unwrap();
    let body = format!(r#"{{"access_token":"{}"}}"#, token.access_token().secret());
    let answer = control("POST", "revoke", Some(&body)).await;
    assert_eq!(get(&answer, "revoked").as_f64(), Some(1.0), "{answer:?}");
    token.generation()
}

/// A 401 in Zuora's shape for the next `times` API calls, whatever their token.
async fn refuse_api_calls(times: u32) {
    push_fault(&format!(
        r#"{{"kind":"respond","status":401,"target":"api","times":{times},
            "headers":{{"content-type":"application/json"}},
            "body":"{{\"success\":false,\"reasons\":[{{\"code\":90000011,\"message\":\"Authentication error\"}}]}}"}}"#
    ))
    .await;
}

#[wasm_bindgen_test]
async fn first_call_carries_the_token_entity_and_track_id() {
    setup(3599).await;
    let request = demo_request()
        .await
        .with_entity_id(EntityId::new(ENTITY).unwrap());
    let options = ApiOptions::default().with_track_id(TrackId::new("wasm api test").unwrap());
    let api = AuthorizedFetch::new(source(request)).with_options(options);

    let answer = ok(api.send(get_account()).await);
    assert!(text(&answer).contains(r#""accountNumber":"A00000001""#));
    assert_eq!(request_id(&answer).map(str::len), Some(36), "readable");
    assert!(unmarked(&answer));
    let calls = recorded_api_calls().await;
    let call = calls.get(0);
    assert!(
        get(&call, "token_index").as_f64().is_some(),
        "a token it issued"
    );
    assert!(
        recorded_header(&call, "authorization").is_some_and(|a| a.starts_with("Bearer [token ")),
        "{call:?}"
    );
    assert_eq!(
        recorded_header(&call, "zuora-entity-ids").as_deref(),
        Some(ENTITY)
    );
    assert_eq!(
        recorded_header(&call, "zuora-track-id").as_deref(),
        Some("wasm api test")
    );

    // The next call, with a body, reuses the cached token.
    let created = ok(api.send(create_account("Acme")).await);
    assert!(
        text(&created).contains(r#""success":true"#)
            && text(&created).contains(r#""accountNumber":"A"#),
        "{}",
        text(&created)
    );
    assert_eq!(token_request_count().await, 1);
}

#[wasm_bindgen_test]
async fn revoked_token_is_replaced_and_the_call_replayed_once() {
    let api = api().await;
    ok(api.send(get_account()).await);
    let revoked = revoke(&api).await;

    let answer = ok(api.send(create_account("Replayed Ltd")).await);
    assert!(text(&answer).contains(r#""success":true"#));
    let replayed = answer.extensions().get::<Replayed>().expect("marked");
    assert_eq!(replayed.rejected(), revoked);
    assert_eq!(replayed.rejected_request_id().map(str::len), Some(36));
    assert!(answer.extensions().get::<NotRetried>().is_none());
    assert_eq!(token_request_count().await, 2, "one new token");
    assert_ne!(
        api.source().unwrap().status().token.unwrap().generation,
        revoked
    );

    let sent = sent().await;
    let statuses: Vec<_> = sent.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [Some(200), Some(401), Some(200)]);
    let first = sent[0].token.expect("a token the server issued");
    assert_eq!(sent[1].token, Some(first), "the revoked token");
    assert!(
        sent[2].token.is_some_and(|t| t > first),
        "a newer one: {sent:?}"
    );
    assert!(sent[2].body.contains("Replayed Ltd"), "{sent:?}");
    assert_eq!(sent[1].body, sent[2].body, "the same body, sent again");
}

#[wasm_bindgen_test]
async fn a_second_401_is_returned_not_retried() {
    let api = api().await;
    ok(api.send(get_account()).await);
    refuse_api_calls(2).await;

    let answer = api.send(get_account()).await.unwrap();
    assert_eq!(answer.status(), 401, "{}", text(&answer));
    assert!(text(&answer).contains("Authentication error"));
    assert!(
        answer.extensions().get::<Replayed>().is_some(),
        "the answer of the one replay"
    );
    assert_eq!(sent().await.len(), 3, "one replay only");
    assert_eq!(token_request_count().await, 2);
}

#[wasm_bindgen_test]
async fn a_failed_refresh_returns_the_401_marked() {
    let api = api().await;
    ok(api.send(get_account()).await);
    revoke(&api).await;
    push_fault(r#"{"kind":"respond","status":503,"body":"down"}"#).await; // the token endpoint

    let answer = api.send(get_account()).await.unwrap();
    assert_eq!(answer.status(), 401);
    let not_retried = answer.extensions().get::<NotRetried>().expect("marked");
    match not_retried.reason() {
        NotRetriedReason::RefreshFailed(e) => {
            assert!(
                matches!(e.error(), Some(Error::Server(r)) if r.status() == 503),
                "{e:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sent().await.len(), 2, "not sent again");
    assert_eq!(token_request_count().await, 2);
}

#[wasm_bindgen_test]
async fn other_origins_and_a_callers_own_authorization_get_no_token() {
    let api = api().await;
    // The same server under another host name: another origin.
    let elsewhere = mock_url().replace("://127.0.0.1:", "://localhost:");
    assert_ne!(elsewhere, mock_url());
    let call = http::Request::get(format!("{elsewhere}/v1/catalog/products"))
        .body(Vec::new())
        .unwrap();
    let answer = api.send(call).await.unwrap();
    assert_eq!(answer.status(), 401, "{}", text(&answer));
    assert!(unmarked(&answer));
    assert_eq!(sent().await[0].authorization, None);
    assert_eq!(token_request_count().await, 0, "no token was needed");

    // The caller's own Authorization is kept, and its 401 is the caller's business.
    let mut own = get_account();
    own.headers_mut().insert(
        "authorization",
        "Bearer 0123456789abcdef0123456789abcdef".parse().unwrap(),
    );
    let answer = api.send(own).await.unwrap();
    assert_eq!(answer.status(), 401);
    assert!(unmarked(&answer));
    let sent = sent().await;
    assert_eq!(sent.len(), 2);
    assert_eq!(
        sent[1].authorization.as_deref(),
        Some("Bearer [unknown token]")
    );
    assert_eq!(token_request_count().await, 0);
}

/// One event loop: `join_all` polls every call once before any answer can arrive, so all
/// of them go out with the revoked token.
#[wasm_bindgen_test]
async fn concurrent_401s_cause_one_token_request() {
    const CALLS: usize = 5;
    let api = api().await;
    ok(api.send(get_account()).await);
    let revoked = revoke(&api).await;

    let answers = join_all((0..CALLS).map(|_| api.send(get_account()))).await;
    for answer in answers {
        let answer = ok(answer);
        let replayed = answer.extensions().get::<Replayed>().expect("replayed");
        assert_eq!(replayed.rejected(), revoked);
    }
    assert_eq!(token_request_count().await, 2, "one new token for all");
    let sent = sent().await;
    let refused: Vec<_> = sent.iter().filter(|s| s.status == Some(401)).collect();
    assert_eq!(refused.len(), CALLS, "{sent:?}");
    let revoked_token = sent[0].token.expect("a token the server issued");
    assert!(refused.iter().all(|s| s.token == Some(revoked_token)));
    let new_token = sent.last().unwrap().token;
    assert!(new_token.is_some_and(|t| t > revoked_token), "{sent:?}");
    let replays = sent.iter().filter(|s| s.token == new_token);
    assert_eq!(replays.filter(|s| s.status == Some(200)).count(), CALLS);
}

#[wasm_bindgen_test]
async fn rate_limits_and_server_errors_never_refresh() {
    let api = api().await;
    ok(api.send(get_account()).await);
    push_fault(r#"{"kind":"rate_limited","retry_after":{"seconds":7},"target":"api"}"#).await;
    push_fault(r#"{"kind":"respond","status":503,"body":"down","target":"api"}"#).await;

    for status in [429, 503] {
        let answer = api.send(get_account()).await.unwrap();
        assert_eq!(answer.status(), status, "{}", text(&answer));
        assert_eq!(request_id(&answer).map(str::len), Some(36), "kept");
        assert!(unmarked(&answer));
    }
    assert_eq!(sent().await.len(), 3, "nothing sent again");
    assert_eq!(token_request_count().await, 1, "no refresh");
}

/// API answers are read whole, up to a cap far above a token response's; the cap is the
/// caller's to set.
#[wasm_bindgen_test]
async fn answers_are_read_up_to_the_api_cap() {
    let api = api().await;
    let big = r#"{"kind":"oversized_body","bytes":200000,"chunked":true,"target":"api"}"#;
    push_fault(big).await;
    let answer = ok(api.send(get_account()).await);
    assert_eq!(answer.body().len(), 200_000);

    push_fault(big).await;
    let capped = api.clone().with_max_body(DEFAULT_MAX_BODY); // the token call's 64 KiB
    match capped.send(get_account()).await {
        Err(ApiError::Send(e)) => assert_eq!(e.kind(), TransportErrorKind::BodyTooLarge, "{e}"),
        other => panic!("expected a send error, got {other:?}"),
    }
    assert_eq!(token_request_count().await, 1);
}

#[wasm_bindgen_test]
async fn no_token_no_call() {
    setup(3599).await;
    let wrong = "not/the+right=secret";
    let demo = demo_request().await;
    let request = TokenRequest::new(
        demo.environment().clone(),
        demo.client_id().clone(),
        ClientSecret::new(wrong).unwrap(),
    );
    let api = AuthorizedFetch::new(source(request));
    match api.send(get_account()).await {
        Err(ApiError::Token(e)) => {
            assert!(matches!(e.error(), Some(Error::Rejected(_))), "{e:?}");
            assert!(!chain(&e).contains(wrong));
        }
        other => panic!("expected a token error, got {other:?}"),
    }
    assert_eq!(sent().await.len(), 0, "sent without a token");
}

// ---- Multi-Org and version headers ----

const ASIA: &str = "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01";
/// `ASIA` as Zuora's UI may show it: 32 hex digits, upper-case.
const ASIA_BARE: &str = "6F1A9D2C4B7E4C1A9E3F2D8B5A7C9E01";
const CHINA: &str = "0b7e3c55-91d2-4f6a-8c1e-7a2d4e6f8b10";
const ORG_HEADERS: [&str; 3] = ["zuora-org-ids", "zuora-working-org", "zuora-version"];

fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

/// Settings read from configuration text, as a user's program builds them.
fn configured(org_ids: &[&str], working: &str, v: &str) -> Result<ApiOptions, InvalidInput> {
    let org_ids = org_ids
        .iter()
        .map(OrgId::new)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ApiOptions::default()
        .with_org_ids(org_ids)
        .with_working_org(OrgId::new(working)?)
        .with_version(ApiVersion::new(v)?))
}

fn expect(
    org_ids: Option<&str>,
    working: Option<&str>,
    version: Option<&str>,
) -> [Option<String>; 3] {
    [org_ids, working, version].map(|v| v.map(str::to_owned))
}

/// The three headers of API call `n` as the server recorded them, checked against the
/// answer's echo (which a page can read: the mock exposes them under CORS).
async fn org_headers(n: u32, answer: &Answer) -> [Option<String>; 3] {
    let calls = recorded_api_calls().await;
    let call = calls.get(n);
    ORG_HEADERS.map(|name| {
        let recorded = recorded_header(&call, name);
        let echoed = answer
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(recorded, echoed, "{name}: recorded and echoed");
        recorded
    })
}

async fn token_requests_carry_no_org_headers() {
    let answer = control("GET", "requests?kind=token", None).await;
    let requests: js_sys::Array = get(&answer, "requests").unchecked_into();
    assert!(requests.length() > 0);
    for request in requests.iter() {
        for name in ORG_HEADERS {
            assert_eq!(
                recorded_header(&request, name),
                None,
                "{name} on the token request"
            );
        }
    }
}

#[wasm_bindgen_test]
async fn org_and_version_headers_per_source_and_per_call() {
    setup(3599).await;
    let options = configured(&[ASIA_BARE, CHINA], ASIA, "2025-08-12").unwrap();
    let api = AuthorizedFetch::new(source(demo_request().await)).with_options(options);
    let both = format!("{ASIA},{CHINA}");

    let answer = ok(api.send(get_account()).await);
    assert_eq!(
        org_headers(0, &answer).await,
        expect(Some(&both), Some(ASIA), Some("2025-08-12"))
    );

    // One call's own settings replace the source's where they set one.
    let mut call = create_account("China Ltd");
    call.extensions_mut().insert(
        ApiOptions::default()
            .with_working_org(org(CHINA))
            .with_version(ApiVersion::new("211.0").unwrap()),
    );
    let answer = ok(api.send(call).await);
    assert_eq!(
        org_headers(1, &answer).await,
        expect(Some(&both), Some(CHINA), Some("211.0"))
    );

    // A header the caller set wins over both.
    let mut call = get_account();
    call.headers_mut()
        .insert("zuora-working-org", ASIA_BARE.parse().unwrap());
    call.extensions_mut()
        .insert(ApiOptions::default().with_working_org(org(CHINA)));
    let answer = ok(api.send(call).await);
    assert_eq!(
        org_headers(2, &answer).await,
        expect(Some(&both), Some(ASIA_BARE), Some("2025-08-12"))
    );

    // A replay after a 401 carries them again.
    revoke(&api).await;
    let answer = ok(api.send(create_account("Replayed Ltd")).await);
    assert!(answer.extensions().get::<Replayed>().is_some());
    let calls = recorded_api_calls().await;
    for name in ORG_HEADERS {
        assert_eq!(
            recorded_header(&calls.get(3), name),
            recorded_header(&calls.get(4), name),
            "{name}"
        );
    }
    assert_eq!(
        org_headers(4, &answer).await,
        expect(Some(&both), Some(ASIA), Some("2025-08-12"))
    );

    // Another origin (the same server as localhost), and a call with its own
    // Authorization, get none of them.
    let elsewhere = mock_url().replace("://127.0.0.1:", "://localhost:");
    let call = http::Request::get(format!("{elsewhere}/v1/catalog/products"))
        .body(Vec::new())
        .unwrap();
    assert_eq!(api.send(call).await.unwrap().status(), 401);
    let mut own = get_account();
    own.headers_mut().insert(
        "authorization",
        "Bearer 0123456789abcdef0123456789abcdef".parse().unwrap(),
    );
    assert_eq!(api.send(own).await.unwrap().status(), 401);
    let calls = recorded_api_calls().await;
    assert_eq!(calls.length(), 7);
    for n in [5, 6] {
        for name in ORG_HEADERS {
            assert_eq!(
                recorded_header(&calls.get(n), name),
                None,
                "call {n}: {name}"
            );
        }
    }
    token_requests_carry_no_org_headers().await;
    assert_eq!(token_request_count().await, 2);
}

#[wasm_bindgen_test]
async fn invalid_org_ids_and_versions_are_refused_before_anything_is_sent() {
    setup(3599).await;
    let request = demo_request().await;
    let plain = AuthorizedFetch::new(source(request.clone()));
    let two = format!("{ASIA},{CHINA}");
    let injected = format!("{ASIA}\r\nAuthorization: Bearer x");
    let bad: [(&[&str], &str, &str, &str); 5] = [
        (&["Asia"], ASIA, "2025-08-12", "org ID"),
        (&[two.as_str()], ASIA, "2025-08-12", "org ID"),
        (&[ASIA], injected.as_str(), "2025-08-12", "org ID"),
        (&[ASIA], ASIA, "2025-8-12", "Zuora-Version"),
        (&[ASIA], ASIA, "latest", "Zuora-Version"),
    ];
    for (org_ids, working, v, field) in bad {
        // Per source: the adapter is never built.
        let per_source = configured(org_ids, working, v)
            .map(|options| AuthorizedFetch::new(source(request.clone())).with_options(options));
        assert_eq!(per_source.map(drop).expect_err("refused").field(), field);
        // Per call: the call is never made.
        let per_call = match configured(org_ids, working, v) {
            Ok(options) => {
                let mut call = get_account();
                call.extensions_mut().insert(options);
                Ok(plain.send(call).await)
            }
            Err(e) => Err(e),
        };
        assert_eq!(per_call.map(drop).expect_err("refused").field(), field);
    }
    assert_eq!(token_request_count().await, 0);
    assert_eq!(recorded_api_calls().await.length(), 0, "nothing was sent");
}

/// One `AuthorizedFetch` for many tenants: each call carries its `Tenant`'s token (one token
/// request per tenant), and a call that names none fails before anything is sent.
#[wasm_bindgen_test]
async fn each_call_carries_its_tenants_token() {
    setup(3599).await;
    // Two more clients on the mock (as `zuora_oauth_testkit::tenant_client` makes them).
    let mut tenants: Vec<(String, Tenant)> = Vec::new();
    for i in 0..2 {
        let id = format!("{i:08x}-7e4a-4c1b-9d2e-5f6a7b8c9d0e");
        let secret = format!("t3nant+{i}/S3cret=");
        let body = format!(r#"{{"client_id":"{id}","client_secret":"{secret}"}}"#);
        control("POST", "clients", Some(&body)).await;
        let request = TokenRequest::new(
            Environment::custom(mock_url()).unwrap(),
            ClientId::new(id.clone()).unwrap(),
            ClientSecret::new(secret).unwrap(),
        );
        tenants.push((id, Tenant::new(request)));
    }
    let sources = TokenSources::new(FetchTransport::new());
    let api = AuthorizedFetch::for_tenants(sources.clone());
    assert!(api.source().is_none());

    for _ in 0..2 {
        for (_, tenant) in &tenants {
            let mut call = get_account();
            call.extensions_mut().insert(tenant.clone());
            ok(api.send(call).await);
        }
    }
    let seen: Vec<String> = recorded_api_calls()
        .await
        .iter()
        .map(|call| get_str(&call, "client_id"))
        .collect();
    let ids: Vec<String> = tenants.iter().map(|(id, _)| id.clone()).collect();
    assert_eq!(seen, [ids.clone(), ids].concat());
    assert_eq!((token_request_count().await, sources.len()), (2, 2));

    match api.send(get_account()).await {
        Err(ApiError::Token(e)) => assert_eq!(e.kind(), TokenErrorKind::NoTenant),
        other => panic!("a call without a tenant: {other:?}"),
    }
    assert_eq!(
        recorded_api_calls().await.length(),
        4,
        "nothing more was sent"
    );
}
