//! Using the token on Zuora API calls, through every stack's middleware (reqwest +
//! reqwest-middleware, hyper-util's client under tower with a timeout layer, ureq) against
//! the mock Zuora API on 127.0.0.1: the first call, a revoked token (401, one new token, one
//! replay), a body that cannot be replayed, foreign hosts, concurrent 401s, the answers
//! that must never cause a token request, and the Multi-Org and version headers
//! (`Zuora-Org-Ids`, `Zuora-Working-Org`, `Zuora-Version`) per source and per call.

#[path = "../common/leaks.rs"]
mod leaks;
mod stacks;

use std::time::Duration;

use stacks::{Call, Outcome, Payload, Stack, UREQ_REPLAY_LIMIT, token_request};
use zuora_oauth_core::{ApiVersion, EntityId, Error, InvalidInput, OrgId, TrackId};
use zuora_oauth_driver::api::{ApiOptions, NotRetriedReason};
use zuora_oauth_testkit::{DEMO_CLIENT_ID, Fault, FaultRule, MockServer, RetryAfter};

stacks::stacks!(
    first_call_carries_the_token_entity_and_track_id,
    revoked_token_is_replaced_and_the_call_replayed_once,
    a_second_401_is_returned_not_retried,
    a_body_that_cannot_be_replayed_gets_its_401_back,
    foreign_hosts_and_callers_own_authorization_get_no_token,
    concurrent_401s_cause_one_token_request,
    rate_limits_and_server_errors_never_refresh,
    a_failed_refresh_returns_the_401_marked,
    no_token_no_call,
    org_and_version_headers_go_on_every_zuora_call_and_nowhere_else,
    a_call_overrides_the_org_and_version_headers_for_itself,
    invalid_org_ids_and_versions_are_refused_before_anything_is_sent,
);

const ENTITY: &str = "11e643f4-a3ee-8bad-b061-0025904c756d";

fn zuora() -> MockServer {
    MockServer::start().expect("the mock starts")
}

fn stack<S: Stack>(zuora: &MockServer) -> S {
    S::new(token_request(zuora), ApiOptions::default())
}

fn account(zuora: &MockServer) -> Call {
    Call::get(zuora.api_url("/v1/accounts/A00000001"))
}

fn create_account(zuora: &MockServer, name: &str) -> Call {
    let json = format!(r#"{{"name":"{name}","currency":"EUR"}}"#);
    Call::post(zuora.api_url("/v1/accounts"), Payload::Json(json))
}

/// A JSON body longer than the ureq stack's replay limit, sent as a stream.
fn streamed_account(zuora: &MockServer) -> Call {
    let padding = " ".repeat(UREQ_REPLAY_LIMIT as usize + 100);
    let json = format!(r#"{{"name":"Streamed"{padding}}}"#);
    Call::post(zuora.api_url("/v1/accounts"), Payload::Stream(json))
}

fn ok<S: Stack>(outcome: Result<Outcome, String>) -> Outcome {
    let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e}", S::NAME));
    assert_eq!(outcome.status, 200, "{}: {outcome:?}", S::NAME);
    outcome
}

/// The `Authorization` each recorded API call carried (the mock records which token).
fn bearers(zuora: &MockServer) -> Vec<Option<String>> {
    zuora
        .api_requests()
        .iter()
        .map(|r| r.header("authorization").map(str::to_owned))
        .collect()
}

fn first_call_carries_the_token_entity_and_track_id<S: Stack>() {
    let zuora = zuora();
    let request = token_request(&zuora).with_entity_id(EntityId::new(ENTITY).unwrap());
    let options = ApiOptions::default().with_track_id(TrackId::new("api-calls test").unwrap());
    let stack = S::new(request, options);

    let outcome = ok::<S>(stack.call(&account(&zuora)));
    assert!(outcome.body.contains(r#""accountNumber":"A00000001""#));
    assert_eq!(outcome.request_id.as_deref().map(str::len), Some(36));
    assert!(outcome.replayed.is_none() && outcome.not_retried.is_none());
    let sent = &zuora.api_requests()[0];
    assert_eq!(sent.header("authorization"), Some("Bearer [token 0]"));
    assert_eq!(sent.header("zuora-entity-ids"), Some(ENTITY));
    assert_eq!(sent.header("zuora-track-id"), Some("api-calls test"));

    // The next call, with a body, reuses the cached token.
    let created = ok::<S>(stack.call(&create_account(&zuora, "Acme")));
    assert!(
        created.body.contains(r#""accountNumber":"A00000003""#),
        "{created:?}"
    );
    assert_eq!(zuora.token_request_count(), 1, "{}", S::NAME);
}

fn revoked_token_is_replaced_and_the_call_replayed_once<S: Stack>() {
    leaks::capture();
    let zuora = zuora();
    let stack: S = stack(&zuora);
    ok::<S>(stack.call(&account(&zuora)));
    zuora.revoke_all_tokens();

    let outcome = ok::<S>(stack.call(&create_account(&zuora, "Replayed Ltd")));
    assert!(outcome.body.contains(r#""success":true"#), "{outcome:?}");
    let replayed = outcome.replayed.expect("marked as replayed");
    assert_eq!(replayed.rejected_request_id().map(str::len), Some(36));
    assert!(outcome.not_retried.is_none());
    assert_eq!(zuora.token_request_count(), 2, "{}: one new token", S::NAME);
    let calls = zuora.api_requests();
    let statuses: Vec<_> = calls.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(200), Some(401), Some(200)], "{}", S::NAME);
    assert_eq!(
        bearers(&zuora)[1..],
        [
            Some("Bearer [token 0]".into()),
            Some("Bearer [token 1]".into())
        ]
    );
    assert_eq!(calls[1].body, calls[2].body, "the same body, sent again");
    assert!(!calls[2].body.is_empty());

    // The span names the generation; nothing logged holds a token.
    let logged = leaks::logged();
    assert!(logged.contains("zuora_api_call") && logged.contains("generation="));
    for token in zuora.issued_tokens() {
        assert!(
            !logged.contains(&token.access_token),
            "{}: a token was logged",
            S::NAME
        );
    }
}

fn a_second_401_is_returned_not_retried<S: Stack>() {
    let zuora = zuora();
    let stack: S = stack(&zuora);
    ok::<S>(stack.call(&account(&zuora)));
    let refused = Fault::reasons_error(401, 90_000_011, "Authentication error");
    zuora.push_rule(FaultRule::new(refused).on_api().times(2));

    let outcome = stack.call(&account(&zuora)).unwrap();
    assert_eq!(outcome.status, 401, "{}: {outcome:?}", S::NAME);
    assert!(outcome.replayed.is_some(), "the answer of the one replay");
    assert_eq!(zuora.api_request_count(), 3, "{}: one replay only", S::NAME);
    assert_eq!(zuora.token_request_count(), 2);
}

fn a_body_that_cannot_be_replayed_gets_its_401_back<S: Stack>() {
    let zuora = zuora();
    let stack: S = stack(&zuora);
    ok::<S>(stack.call(&account(&zuora)));
    zuora.revoke_all_tokens();

    let outcome = stack.call(&streamed_account(&zuora)).unwrap();
    assert_eq!(outcome.status, 401, "{}: {outcome:?}", S::NAME);
    let not_retried = outcome.not_retried.expect("marked as not retried");
    assert!(matches!(
        not_retried.reason(),
        NotRetriedReason::BodyNotReplayable
    ));
    assert!(outcome.replayed.is_none());
    assert_eq!(zuora.api_request_count(), 2, "{}: not sent again", S::NAME);
    // The token was invalidated all the same: the next call gets a new one.
    ok::<S>(stack.call(&account(&zuora)));
    assert_eq!(zuora.token_request_count(), 2);
    assert_eq!(bearers(&zuora)[2].as_deref(), Some("Bearer [token 1]"));
}

fn foreign_hosts_and_callers_own_authorization_get_no_token<S: Stack>() {
    let (zuora, elsewhere) = (zuora(), zuora());
    let stack: S = stack(&zuora);
    // Another port, and the same server under another host name.
    let port = zuora.addr().port();
    for url in [
        elsewhere.api_url("/v1/catalog/products"),
        format!("http://localhost:{port}/v1/catalog/products"),
    ] {
        let outcome = stack.call(&Call::get(url.clone())).unwrap();
        assert_eq!(outcome.status, 401, "{}: {url}", S::NAME);
        assert!(outcome.replayed.is_none() && outcome.not_retried.is_none());
    }
    assert_eq!(bearers(&elsewhere), [None]);
    assert_eq!(bearers(&zuora), [None]);
    assert_eq!(
        zuora.token_request_count(),
        0,
        "{}: no token was needed",
        S::NAME
    );

    // The caller's own Authorization is kept, and its 401 is the caller's business.
    let mut own = account(&zuora);
    own.authorization = Some("Bearer 0123456789abcdef0123456789abcdef");
    let outcome = stack.call(&own).unwrap();
    assert_eq!(outcome.status, 401);
    assert_eq!(
        bearers(&zuora)[1].as_deref(),
        Some("Bearer [unknown token]")
    );
    assert_eq!(zuora.api_request_count(), 2);
    assert_eq!(zuora.token_request_count(), 0);
}

fn concurrent_401s_cause_one_token_request<S: Stack>() {
    let zuora = zuora();
    let stack: S = stack(&zuora);
    ok::<S>(stack.call(&account(&zuora)));
    zuora.revoke_all_tokens();
    // Slow answers: all ten calls are out with the revoked token before any 401 is back.
    let slow = Fault::delay_headers(Duration::from_millis(300));
    zuora.push_rule(FaultRule::new(slow).on_api().times(10));

    let outcomes = stack.concurrently(vec![account(&zuora); 10]);
    for outcome in outcomes {
        ok::<S>(outcome);
    }
    assert_eq!(
        zuora.token_request_count(),
        2,
        "{}: one new token for all",
        S::NAME
    );
    let rejected = zuora
        .api_requests()
        .iter()
        .filter(|r| r.status == Some(401))
        .count();
    assert!(
        rejected >= 2,
        "{}: {rejected} calls met the revoked token",
        S::NAME
    );
}

fn rate_limits_and_server_errors_never_refresh<S: Stack>() {
    let zuora = zuora();
    let stack: S = stack(&zuora);
    ok::<S>(stack.call(&account(&zuora)));
    zuora.push_rule(FaultRule::new(Fault::rate_limited(RetryAfter::Seconds(7))).on_api());
    zuora.push_rule(FaultRule::new(Fault::html_error(503)).on_api());

    for status in [429, 503] {
        let outcome = stack.call(&account(&zuora)).unwrap();
        assert_eq!(outcome.status, status, "{}: {outcome:?}", S::NAME);
        assert_eq!(
            outcome.request_id.as_deref().map(str::len),
            Some(36),
            "kept"
        );
        assert!(outcome.replayed.is_none() && outcome.not_retried.is_none());
    }
    assert_eq!(
        zuora.api_request_count(),
        3,
        "{}: nothing sent again",
        S::NAME
    );
    assert_eq!(zuora.token_request_count(), 1, "{}: no refresh", S::NAME);
}

fn a_failed_refresh_returns_the_401_marked<S: Stack>() {
    let zuora = zuora();
    let stack: S = stack(&zuora);
    ok::<S>(stack.call(&account(&zuora)));
    zuora.revoke_all_tokens();
    zuora.push_fault(Fault::html_error(503)); // the token endpoint, next request

    let outcome = stack.call(&account(&zuora)).unwrap();
    assert_eq!(outcome.status, 401, "{}: {outcome:?}", S::NAME);
    let not_retried = outcome.not_retried.expect("marked");
    match not_retried.reason() {
        NotRetriedReason::RefreshFailed(e) => {
            assert!(
                matches!(e.error(), Some(Error::Server(r)) if r.status() == 503),
                "{e:?}"
            )
        }
        other => panic!("{}: {other:?}", S::NAME),
    }
    assert_eq!(zuora.api_request_count(), 2);
    assert_eq!(zuora.token_request_count(), 2);
}

fn no_token_no_call<S: Stack>() {
    let zuora = zuora();
    let request = stacks::token_request_for(&zuora, DEMO_CLIENT_ID, "not/the+right=secret");
    let stack = S::new(request, ApiOptions::default());
    let error = stack.call(&account(&zuora)).unwrap_err();
    assert!(
        error.contains("Rejected") || error.contains("401"),
        "{}: {error}",
        S::NAME
    );
    assert!(!error.contains("not/the+right=secret"));
    assert_eq!(
        zuora.api_request_count(),
        0,
        "{}: sent without a token",
        S::NAME
    );
}

// ---- Multi-Org and version headers ----

const ASIA: &str = "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01";
/// `ASIA` as Zuora's UI may show it: 32 hex digits, upper-case.
const ASIA_BARE: &str = "6F1A9D2C4B7E4C1A9E3F2D8B5A7C9E01";
const CHINA: &str = "0b7e3c55-91d2-4f6a-8c1e-7a2d4e6f8b10";
const JAPAN: &str = "c3d4e5f6-a7b8-4c9d-8e0f-112233445566";
const ORG_HEADERS: [&str; 3] = ["zuora-org-ids", "zuora-working-org", "zuora-version"];

fn org(id: &str) -> OrgId {
    OrgId::new(id).unwrap()
}

fn version(v: &str) -> ApiVersion {
    ApiVersion::new(v).unwrap()
}

/// The middleware's settings of a Multi-Org integration: two orgs seen, one working org,
/// a pinned API version.
fn multi_org() -> ApiOptions {
    ApiOptions::default()
        .with_org_ids([org(ASIA), org(ASIA_BARE), org(CHINA)])
        .with_working_org(org(ASIA))
        .with_version(version("2025-08-12"))
}

/// The three headers as the API received them (the mock's recording) and as it echoed them
/// (the answer); both must agree.
fn org_headers<S: Stack>(
    zuora: &MockServer,
    call: usize,
    outcome: &Outcome,
) -> [Option<String>; 3] {
    let sent = &zuora.api_requests()[call];
    ORG_HEADERS.map(|name| {
        let recorded = sent.header(name).map(str::to_owned);
        let echoed = outcome.header(name).map(str::to_owned);
        assert_eq!(recorded, echoed, "{}: {name} recorded and echoed", S::NAME);
        recorded
    })
}

fn expect(
    org_ids: Option<&str>,
    working: Option<&str>,
    version: Option<&str>,
) -> [Option<String>; 3] {
    [org_ids, working, version].map(|v| v.map(str::to_owned))
}

/// No token request ever carries the API-call headers.
fn token_requests_carry_no_org_headers(zuora: &MockServer) {
    let requests = zuora.requests();
    assert!(!requests.is_empty());
    for request in requests {
        for name in ORG_HEADERS {
            assert_eq!(request.header(name), None, "{name} on the token request");
        }
    }
}

fn org_and_version_headers_go_on_every_zuora_call_and_nowhere_else<S: Stack>() {
    let (zuora, elsewhere) = (zuora(), zuora());
    let stack = S::new(token_request(&zuora), multi_org());
    let all = expect(
        Some(&format!("{ASIA},{CHINA}")),
        Some(ASIA),
        Some("2025-08-12"),
    );

    let outcome = ok::<S>(stack.call(&account(&zuora)));
    assert_eq!(org_headers::<S>(&zuora, 0, &outcome), all, "{}", S::NAME);
    let outcome = ok::<S>(stack.call(&create_account(&zuora, "Asia Ltd")));
    assert_eq!(org_headers::<S>(&zuora, 1, &outcome), all, "{}", S::NAME);

    // A replay after a 401 carries them again.
    zuora.revoke_all_tokens();
    let outcome = ok::<S>(stack.call(&create_account(&zuora, "Replayed Ltd")));
    assert!(outcome.replayed.is_some(), "{}: {outcome:?}", S::NAME);
    let calls = zuora.api_requests();
    assert_eq!(calls[2].status, Some(401));
    for name in ORG_HEADERS {
        assert_eq!(calls[2].header(name), calls[3].header(name), "{name}");
    }
    assert_eq!(org_headers::<S>(&zuora, 3, &outcome), all, "{}", S::NAME);

    // Other hosts get none of them (nor the token).
    let port = zuora.addr().port();
    for url in [
        elsewhere.api_url("/v1/catalog/products"),
        format!("http://localhost:{port}/v1/catalog/products"),
    ] {
        let outcome = stack.call(&Call::get(url.clone())).unwrap();
        assert_eq!(outcome.status, 401, "{}: {url}", S::NAME);
    }
    // A call with an `Authorization` of its own (another client's token, maybe another
    // tenant's) goes out untouched too.
    let mut own = account(&zuora);
    own.authorization = Some("Bearer 0123456789abcdef0123456789abcdef");
    assert_eq!(stack.call(&own).unwrap().status, 401);
    let foreign = &elsewhere.api_requests()[0];
    let aliased = &zuora.api_requests()[4];
    let own = &zuora.api_requests()[5];
    for name in ORG_HEADERS {
        assert_eq!(
            foreign.header(name),
            None,
            "{}: {name} to another host",
            S::NAME
        );
        assert_eq!(
            aliased.header(name),
            None,
            "{}: {name} to localhost",
            S::NAME
        );
        assert_eq!(
            own.header(name),
            None,
            "{}: {name} with the caller's token",
            S::NAME
        );
    }
    token_requests_carry_no_org_headers(&zuora);
    assert_eq!(zuora.token_request_count(), 2, "{}", S::NAME);
}

fn a_call_overrides_the_org_and_version_headers_for_itself<S: Stack>() {
    let zuora = zuora();
    let stack = S::new(token_request(&zuora), multi_org());
    let mut n = 0;
    let mut send = |call: Call| {
        let outcome = ok::<S>(stack.call(&call));
        n += 1;
        org_headers::<S>(&zuora, n - 1, &outcome)
    };

    // What the call sets replaces the middleware's; what it leaves unset is kept.
    let mut call = account(&zuora);
    call.options = Some(
        ApiOptions::default()
            .with_working_org(org(CHINA))
            .with_version(version("211.0")),
    );
    let both = format!("{ASIA},{CHINA}");
    assert_eq!(
        send(call),
        expect(Some(&both), Some(CHINA), Some("211.0")),
        "{}",
        S::NAME
    );

    let mut call = create_account(&zuora, "Japan KK");
    call.options = Some(ApiOptions::default().with_org_ids([org(JAPAN)]));
    assert_eq!(
        send(call),
        expect(Some(JAPAN), Some(ASIA), Some("2025-08-12")),
        "{}",
        S::NAME
    );

    // A header the caller set itself wins over both.
    let mut call = account(&zuora);
    call.headers = vec![
        ("zuora-working-org", ASIA_BARE.to_owned()),
        ("zuora-version", "196.0".to_owned()),
    ];
    call.options = Some(ApiOptions::default().with_working_org(org(CHINA)));
    assert_eq!(
        send(call),
        expect(Some(&both), Some(ASIA_BARE), Some("196.0")),
        "{}",
        S::NAME
    );

    // The next call is back to the middleware's settings.
    assert_eq!(
        send(account(&zuora)),
        expect(Some(&both), Some(ASIA), Some("2025-08-12")),
        "{}",
        S::NAME
    );

    // Without settings of its own, a stack sends the headers of the calls that ask.
    let plain = S::new(token_request(&zuora), ApiOptions::default());
    let outcome = ok::<S>(plain.call(&account(&zuora)));
    assert_eq!(
        org_headers::<S>(&zuora, 4, &outcome),
        expect(None, None, None)
    );
    let mut call = account(&zuora);
    call.options = Some(
        ApiOptions::default()
            .with_org_ids([org(CHINA)])
            .with_version(version("2024-05-20")),
    );
    let outcome = ok::<S>(plain.call(&call));
    assert_eq!(
        org_headers::<S>(&zuora, 5, &outcome),
        expect(Some(CHINA), None, Some("2024-05-20")),
        "{}",
        S::NAME
    );
    token_requests_carry_no_org_headers(&zuora);
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

fn invalid_org_ids_and_versions_are_refused_before_anything_is_sent<S: Stack>() {
    let zuora = zuora();
    let two = format!("{ASIA},{CHINA}");
    let injected = format!("{ASIA}\r\nAuthorization: Bearer x");
    let bad: [(&[&str], &str, &str, &str); 6] = [
        (&["Asia"], ASIA, "2025-08-12", "org ID"),
        (&[two.as_str()], ASIA, "2025-08-12", "org ID"),
        (&[ASIA], injected.as_str(), "2025-08-12", "org ID"),
        (&[ASIA], "", "2025-08-12", "org ID"),
        (&[ASIA], ASIA, "2025-8-12", "Zuora-Version"),
        (&[ASIA], ASIA, "latest", "Zuora-Version"),
    ];
    // Per source: the middleware is never built; per call: the call is never made.
    let plain = S::new(token_request(&zuora), ApiOptions::default());
    for (org_ids, working, v, field) in bad {
        let per_source = configured(org_ids, working, v).map(|options| {
            let stack = S::new(token_request(&zuora), options);
            stack.call(&account(&zuora))
        });
        let error = per_source.expect_err("refused");
        assert_eq!(error.field(), field, "{}: {error}", S::NAME);
        assert!(!error.to_string().contains("Bearer"), "{error}");

        let per_call = configured(org_ids, working, v).map(|options| {
            let mut call = account(&zuora);
            call.options = Some(options);
            plain.call(&call)
        });
        assert_eq!(per_call.expect_err("refused").field(), field);
    }
    assert_eq!(zuora.token_request_count(), 0, "{}", S::NAME);
    assert_eq!(
        zuora.api_request_count(),
        0,
        "{}: nothing was sent",
        S::NAME
    );

    // The same path with valid text sends the call, with its headers.
    let options = configured(&[ASIA_BARE, CHINA], CHINA, "211.0").unwrap();
    let outcome = ok::<S>(S::new(token_request(&zuora), options).call(&account(&zuora)));
    assert_eq!(
        org_headers::<S>(&zuora, 0, &outcome),
        expect(Some(&two), Some(CHINA), Some("211.0")),
        "{}",
        S::NAME
    );
}
