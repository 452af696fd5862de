//! The mock Zuora API under `/v1/`: routes, bearer and entity checks, revocation, API
//! faults, and redacted recordings of API calls.

use zuora_oauth_testkit::{API_RATE_LIMIT_PER_MINUTE, FaultRule, RequestKind, SEEDED_ACCOUNTS};

use super::*;

const OTHER_ID: &str = "abcdefab-cdef-4abc-8def-abcdefabcdef";
const OTHER_SECRET: &str = "an0ther/s3cret+=";
const ENTITY_A: &str = "11e643f4-a3ee-8bad-b061-0025904c756d";
const ENTITY_B: &str = "c92ed977-510c-4c48-9b51-8d5e848671e9";

fn unauthenticated() -> Value {
    json!({"success":false,"reasons":[{"code":90000011,"message":"this resource is protected, please sign in first"}]})
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

#[test]
fn accounts_are_served_to_a_live_bearer_by_number_or_id() {
    let server = MockServer::start().unwrap();
    let auth = bearer(&access_token(&server));
    let r = call_api(
        &server,
        "GET",
        &format!("/v1/accounts/{}", SEEDED_ACCOUNTS[0]),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("application/json")
    );
    assert!(r.header("zuora-request-id").is_some());
    let account = r.json();
    assert_eq!(account["success"], true);
    assert_eq!(account["basicInfo"]["accountNumber"], SEEDED_ACCOUNTS[0]);
    assert_eq!(account["basicInfo"]["status"], "Active");
    assert!(account["billingAndPayment"]["billCycleDay"].is_number());
    assert!(account["metrics"]["balance"].is_number());
    let id = account["basicInfo"]["id"].as_str().unwrap().to_owned();
    assert!(is_hex32(&id), "{id}");

    let by_id = call_api(
        &server,
        "GET",
        &format!("/v1/accounts/{id}"),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!((by_id.status, by_id.json()), (200, account));
    let other = call_api(
        &server,
        "GET",
        &format!("/v1/accounts/{}", SEEDED_ACCOUNTS[1]),
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(other.status, 200);
    assert_ne!(other.json()["basicInfo"]["id"], id);

    // The catalog is still there.
    let r = call_api(
        &server,
        "GET",
        "/v1/catalog/products",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(
        (r.status, r.json()),
        (200, json!({"products":[],"success":true}))
    );
}

#[test]
fn an_unknown_account_gets_zuoras_404() {
    let server = MockServer::start().unwrap();
    let auth = bearer(&access_token(&server));
    let r = call_api(
        &server,
        "GET",
        "/v1/accounts/A99999999",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        r.json(),
        json!({"success":false,"reasons":[{"code":50000040,"message":"Cannot find entity by key: 'A99999999'."}]})
    );
    // An unknown route under /v1/ is the gateway's 404, before any token check.
    let r = call_api(&server, "GET", "/v1/nope", &[], None);
    assert_eq!(r.status, 404);
    assert!(r.json()["message"].is_string());
}

#[test]
fn every_route_wants_a_live_bearer_token_from_this_mock() {
    let server = MockServer::start().unwrap();
    let token = access_token(&server);
    let routes: [(&str, &str, Option<&str>); 3] = [
        ("GET", "/v1/catalog/products", None),
        ("GET", "/v1/accounts/A00000001", None),
        ("POST", "/v1/accounts", Some(r#"{"name":"Initech"}"#)),
    ];
    let refused = [
        None,
        Some("Bearer 0123456789abcdef0123456789abcdef".to_owned()),
        Some(format!("Basic {token}")),
        Some("Bearer".to_owned()),
        Some(token.clone()),
    ];
    for (method, path, body) in routes {
        for auth in &refused {
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("Authorization", a.as_str())).collect();
            let r = call_api(&server, method, path, &headers, body);
            assert_eq!(
                (r.status, r.json()),
                (401, unauthenticated()),
                "{method} {path} {auth:?}"
            );
            assert!(r.header("www-authenticate").unwrap().starts_with("Bearer"));
        }
        let r = call_api(
            &server,
            method,
            path,
            &[("Authorization", &bearer(&token))],
            body,
        );
        assert_eq!(r.status, 200, "{method} {path}: {r:?}");
        let r = call_api(
            &server,
            method,
            path,
            &[("Authorization", &format!("bearer {token}"))],
            body,
        );
        assert_eq!(r.status, 200, "the scheme is case-insensitive");
    }
    // Wrong methods.
    let auth = bearer(&token);
    let r = call_api(
        &server,
        "GET",
        "/v1/accounts",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("POST, OPTIONS"));
    assert_eq!(r.json()["success"], false);
    let r = call_api(
        &server,
        "DELETE",
        "/v1/accounts/A00000001",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(r.status, 405);
    assert!(r.header("allow").unwrap().contains("GET"));
    // None of that was a token request.
    assert_eq!(server.token_request_count(), 1);
    assert_eq!(server.api_request_count(), 3 * 7 + 2);
}

#[test]
fn accounts_are_created_from_json_and_can_be_read_back() {
    let server = MockServer::start().unwrap();
    let auth = bearer(&access_token(&server));
    let h = [("Authorization", auth.as_str())];
    let r = call_api(
        &server,
        "POST",
        "/v1/accounts",
        &h,
        Some(
            r#"{"name":"Initech","currency":"EUR","billCycleDay":15,"billToContact":{"firstName":"Bill","lastName":"Lumbergh","country":"Germany"}}"#,
        ),
    );
    assert_eq!(r.status, 200, "{r:?}");
    let created = r.json();
    assert_eq!(created["success"], true);
    assert_eq!(created["accountNumber"], "A00000003");
    let id = created["accountId"].as_str().unwrap();
    assert!(is_hex32(id));

    let got = call_api(&server, "GET", "/v1/accounts/A00000003", &h, None).json();
    assert_eq!(got["basicInfo"]["id"], id);
    assert_eq!(got["basicInfo"]["name"], "Initech");
    assert_eq!(got["billingAndPayment"]["currency"], "EUR");
    assert_eq!(got["billingAndPayment"]["billCycleDay"], 15);
    assert_eq!(got["billToContact"]["lastName"], "Lumbergh");

    // Refusals, in Zuora's shape.
    for (body, code) in [
        (r#"{"currency":"USD"}"#, 50000022),
        (r#"{"name":null}"#, 50000022),
        (r#"{"name":""}"#, 50000020),
        (r#"{"name":42}"#, 50000020),
        (r#"{"name":"x","billCycleDay":0}"#, 50000020),
        (r#"["name"]"#, 50000020),
        ("name=Initech", 50000090),
        ("", 50000090),
    ] {
        let r = call_api(&server, "POST", "/v1/accounts", &h, Some(body));
        assert_eq!(r.status, 400, "{body}");
        let v = r.json();
        assert_eq!(v["success"], false, "{body}");
        assert_eq!(v["reasons"][0]["code"], code, "{body}: {v}");
        assert!(v["reasons"][0]["message"].is_string());
    }
    assert_eq!(
        call_api(&server, "GET", "/v1/accounts/A00000004", &h, None).status,
        404,
        "refused accounts were not made"
    );
}

#[test]
fn a_revoked_token_gets_zuoras_401_and_only_that_one() {
    let server = MockServer::start().unwrap();
    let first = access_token(&server);
    let second = access_token(&server);
    let products = |token: &str| {
        call_api(
            &server,
            "GET",
            "/v1/catalog/products",
            &[("Authorization", &bearer(token))],
            None,
        )
    };
    assert_eq!(products(&first).status, 200);

    assert!(server.revoke_token(&first));
    let r = products(&first);
    assert_eq!((r.status, r.json()), (401, unauthenticated()));
    assert_eq!(products(&second).status, 200, "other tokens stay live");
    assert!(!server.revoke_token("0123456789abcdef0123456789abcdef"));
    let tokens = server.issued_tokens();
    assert!(tokens[0].revoked && !tokens[0].is_live());
    assert!(tokens[1].is_live());

    // The same through the control API.
    let r = control(
        &server,
        "POST",
        "revoke",
        Some(&json!({"access_token": second}).to_string()),
    );
    assert_eq!((r.status, r.json()), (200, json!({"ok":true,"revoked":1})));
    assert_eq!(products(&second).status, 401);
    let r = control(
        &server,
        "POST",
        "revoke",
        Some(r#"{"access_token":"nope"}"#),
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        control(&server, "POST", "revoke", Some(r#"{"token":1}"#)).status,
        400
    );

    // Revoking everything still works, with no body.
    let third = access_token(&server);
    assert_eq!(
        control(&server, "POST", "revoke", None).json()["revoked"],
        3
    );
    assert_eq!(products(&third).status, 401);
}

#[test]
fn the_entity_header_must_name_the_tokens_entity() {
    let server = MockServer::start().unwrap();
    let for_a = token_for(&server, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Some(ENTITY_A));
    let call = |token: &str, entity: Option<&str>| {
        let auth = bearer(token);
        let mut headers = vec![("Authorization", auth.as_str())];
        headers.extend(entity.map(|e| ("Zuora-Entity-Ids", e)));
        call_api(&server, "GET", "/v1/accounts/A00000001", &headers, None)
    };
    assert_eq!(call(&for_a, Some(ENTITY_A)).status, 200);
    assert_eq!(call(&for_a, Some(&ENTITY_A.to_uppercase())).status, 200);
    assert_eq!(
        call(&for_a, None).status,
        200,
        "one entity: the header may be left out"
    );
    let r = call(&for_a, Some(ENTITY_B));
    assert_eq!(r.status, 403);
    assert_eq!(
        r.json(),
        json!({"success":false,"reasons":[{"code":90000010,"message":"The entity in the Zuora-Entity-Ids header is not granted to this token"}]})
    );
    assert_eq!(call(&for_a, Some("not-an-entity")).status, 403);

    // A token issued without the header is for the tenant's default entity.
    let plain = access_token(&server);
    let default_entity = server.issued_tokens()[1].entity_id.clone();
    assert!(!server.issued_tokens()[1].entity_requested);
    assert!(server.issued_tokens()[0].entity_requested);
    assert_eq!(server.issued_tokens()[0].entity_id, ENTITY_A);
    assert_eq!(call(&plain, Some(&default_entity)).status, 200);
    assert_eq!(call(&plain, Some(ENTITY_A)).status, 403);
    // The bearer check comes first: a dead token is a 401 whatever the entity.
    server.expire_all_tokens();
    assert_eq!(call(&for_a, Some(ENTITY_B)).status, 401);
}

#[test]
fn api_faults_429_with_rate_headers_and_5xx_leave_token_requests_alone() {
    let server = MockServer::start().unwrap();
    let auth = bearer(&access_token(&server));
    let h = [("Authorization", auth.as_str())];
    server.push_rule(FaultRule::new(Fault::rate_limited(RetryAfter::Seconds(7))).on_api());
    server.push_rule(FaultRule::new(Fault::html_error(502)).on_api());
    server
        .push_rule(FaultRule::new(Fault::reasons_error(500, 90000060, "internal error")).on_api());

    // A token request does not take an API fault.
    assert_eq!(get_token(&server).status, 200);
    assert_eq!(server.pending_rules().len(), 3);

    let r = call_api(&server, "GET", "/v1/accounts/A00000001", &h, None);
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), json!({"message":"API rate limit exceeded"}));
    assert_eq!(r.header("retry-after"), Some("7"));
    let limit = API_RATE_LIMIT_PER_MINUTE.to_string();
    assert_eq!(
        r.header("ratelimit-limit"),
        Some(format!("{limit}, {limit};w=60").as_str())
    );
    assert_eq!(r.header("ratelimit-remaining"), Some("0"));
    assert_eq!(r.header("ratelimit-reset"), Some("7"));
    assert_eq!(r.header("x-ratelimit-limit-minute"), Some(limit.as_str()));
    assert_eq!(r.header("x-ratelimit-remaining-minute"), Some("0"));
    assert!(r.header("zuora-request-id").is_some());

    let r = call_api(&server, "POST", "/v1/accounts", &h, Some(r#"{"name":"x"}"#));
    assert_eq!(r.status, 502);
    assert!(r.body.contains("Bad Gateway"));
    let r = call_api(&server, "GET", "/v1/catalog/products", &h, None);
    assert_eq!(r.status, 500);
    assert_eq!(r.json()["reasons"][0]["code"], 90000060);
    assert_eq!(
        call_api(&server, "GET", "/v1/catalog/products", &h, None).status,
        200
    );

    // Faults that alter the answer apply to the API's, and connection faults are real.
    server.push_rule(FaultRule::new(Fault::WrongContentType).on_api());
    server.push_rule(FaultRule::new(Fault::ResetConnection).on_api());
    let r = call_api(&server, "GET", "/v1/catalog/products", &h, None);
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let raw = raw_exchange(
        server.addr(),
        format!(
            "GET /v1/catalog/products HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert!(raw.bytes.is_empty(), "{}", raw.text());
    assert_eq!(raw.error, Some(io::ErrorKind::ConnectionReset));
    let faults: Vec<_> = server
        .api_requests()
        .iter()
        .map(|r| r.fault.clone())
        .collect();
    assert_eq!(
        faults,
        [
            Some("rate_limited".to_owned()),
            Some("respond".to_owned()),
            Some("respond".to_owned()),
            None,
            Some("wrong_content_type".to_owned()),
            Some("reset_connection".to_owned()),
        ]
    );
    assert_eq!(server.api_requests().last().unwrap().status, None);
}

#[test]
fn api_faults_are_scoped_by_the_tokens_client() {
    let server = MockServer::builder()
        .client(OTHER_ID, OTHER_SECRET)
        .start()
        .unwrap();
    let demo = bearer(&access_token(&server));
    let other = bearer(&token_for(&server, OTHER_ID, OTHER_SECRET, None));
    server.push_rule(
        FaultRule::new(Fault::empty(503))
            .on_api()
            .for_client(OTHER_ID)
            .times(2),
    );
    let products = |auth: &str| {
        call_api(
            &server,
            "GET",
            "/v1/catalog/products",
            &[("Authorization", auth)],
            None,
        )
        .status
    };
    assert_eq!(products(&demo), 200);
    assert_eq!(
        products("Bearer unknown"),
        401,
        "no client: only unscoped rules"
    );
    assert_eq!(products(&other), 503);
    assert_eq!(products(&demo), 200);
    assert_eq!(products(&other), 503);
    assert_eq!(products(&other), 200);
    assert!(server.pending_rules().is_empty());
}

#[test]
fn api_calls_are_recorded_with_authorization_redacted() {
    let server = MockServer::start().unwrap();
    let first = token_for(&server, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, Some(ENTITY_A));
    let second = access_token(&server);
    call_api(
        &server,
        "POST",
        "/v1/accounts?x=1",
        &[
            ("Authorization", &bearer(&second)),
            ("Zuora-Track-Id", "t1"),
        ],
        Some(r#"{"name":"Recorded"}"#),
    );
    call_api(
        &server,
        "GET",
        "/v1/accounts/A00000001",
        &[
            ("Authorization", &bearer(&first)),
            ("Zuora-Entity-Ids", ENTITY_A),
        ],
        None,
    );
    call_api(
        &server,
        "GET",
        "/v1/catalog/products",
        &[("Authorization", "Bearer 0123456789abcdef0123456789abcdef")],
        None,
    );
    call_api(
        &server,
        "GET",
        "/v1/catalog/products",
        &[("Authorization", "Basic dXNlcjpwYXNz")],
        None,
    );
    call_api(&server, "GET", "/v1/catalog/products", &[], None);

    let api = server.api_requests();
    assert_eq!(api.len(), 5);
    assert!(api.iter().all(|r| r.kind == RequestKind::Api));
    assert_eq!(
        server.requests().len(),
        2,
        "requests() is token requests only"
    );
    let all = server.all_requests();
    assert_eq!(all.len(), 7);
    assert_eq!(
        all.iter().map(|r| r.kind).collect::<Vec<_>>()[1..3],
        [RequestKind::Token, RequestKind::Api]
    );

    let post = &api[0];
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/v1/accounts?x=1")
    );
    assert_eq!(post.body, br#"{"name":"Recorded"}"#);
    assert_eq!(post.form, None);
    assert_eq!(post.status, Some(200));
    assert_eq!(post.header("authorization"), Some("Bearer [token 1]"));
    assert_eq!(post.token_index, Some(1));
    assert_eq!(post.client_id.as_deref(), Some(DEMO_CLIENT_ID));
    assert_eq!(post.header("zuora-track-id"), Some("t1"));
    let get = &api[1];
    assert_eq!(get.header("authorization"), Some("Bearer [token 0]"));
    assert_eq!(get.header("zuora-entity-ids"), Some(ENTITY_A));
    assert_eq!(get.token_index, Some(0));
    assert_eq!(get.status, Some(200));
    assert_eq!(
        api[2].header("authorization"),
        Some("Bearer [unknown token]")
    );
    assert_eq!(
        (api[2].token_index, api[2].client_id.as_deref()),
        (None, None)
    );
    assert_eq!(api[2].status, Some(401));
    assert_eq!(
        api[3].header("authorization"),
        Some(&*format!("Basic {REDACTED}"))
    );
    assert_eq!(api[4].header("authorization"), None);

    // No token, in any recording: Rust, Debug, and the control API's JSON.
    let json = control(&server, "GET", "requests", None).body;
    let debug = format!("{all:?}");
    for token in [
        &first,
        &second,
        "0123456789abcdef0123456789abcdef",
        "dXNlcjpwYXNz",
    ] {
        assert!(!json.contains(token), "{token} in {json}");
        assert!(!debug.contains(token), "{token} in {debug}");
    }
    let v: Value = serde_json::from_str(&json).unwrap();
    let recorded = &v["requests"][3];
    assert_eq!(recorded["kind"], "api");
    assert_eq!(recorded["token_index"], 0);
    assert_eq!(recorded["client_id"], DEMO_CLIENT_ID);
    assert!(
        recorded["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["authorization", "Bearer [token 0]"]))
    );
    assert!(
        recorded["headers"]
            .as_array()
            .unwrap()
            .contains(&json!(["zuora-entity-ids", ENTITY_A]))
    );
}

#[test]
fn api_url_joins_paths() {
    let server = MockServer::start().unwrap();
    let base = server.base_url();
    assert_eq!(
        server.api_url("/v1/accounts"),
        format!("{base}/v1/accounts")
    );
    assert_eq!(server.api_url("v1/accounts"), format!("{base}/v1/accounts"));
    assert_eq!(
        server.protected_url(),
        format!("{base}/v1/catalog/products")
    );
    let info = control(&server, "GET", "info", None).json();
    assert_eq!(info["api_base_url"], format!("{base}/v1"));
    assert_eq!(info["accounts"], json!(SEEDED_ACCOUNTS));
    assert_eq!(info["cors"], false);
}

#[test]
fn org_and_version_headers_are_echoed_on_every_answer() {
    let server = MockServer::builder().cors(true).start().unwrap();
    let auth = bearer(&access_token(&server));
    let sent = [
        (
            "Zuora-Org-Ids",
            "6f1a9d2c-4b7e-4c1a-9e3f-2d8b5a7c9e01,0b7e3c55-91d2-4f6a-8c1e-7a2d4e6f8b10",
        ),
        ("Zuora-Working-Org", "0b7e3c55-91d2-4f6a-8c1e-7a2d4e6f8b10"),
        ("Zuora-Version", "2025-08-12"),
    ];
    let echoed = |r: &Reply| sent.map(|(name, _)| r.header(name).map(str::to_owned));
    let expected = sent.map(|(_, value)| Some(value.to_owned()));
    let mut with_auth = sent.to_vec();
    with_auth.push(("Authorization", &auth));

    // A success, a refusal (no token) and a scripted fault all echo them.
    let ok = call_api(&server, "GET", "/v1/accounts/A00000001", &with_auth, None);
    assert_eq!(ok.status, 200);
    assert_eq!(echoed(&ok), expected);
    let refused = call_api(&server, "GET", "/v1/catalog/products", &sent, None);
    assert_eq!(refused.status, 401);
    assert_eq!(echoed(&refused), expected);
    server.push_rule(FaultRule::new(Fault::html_error(503)).on_api());
    let fault = call_api(&server, "GET", "/v1/catalog/products", &with_auth, None);
    assert_eq!(fault.status, 503);
    assert_eq!(echoed(&fault), expected);
    // None sent, none echoed; the recordings have them.
    let plain = call_api(
        &server,
        "GET",
        "/v1/catalog/products",
        &[("Authorization", &auth)],
        None,
    );
    assert_eq!(echoed(&plain), [None, None, None]);
    let recorded = &server.api_requests()[0];
    for (name, value) in sent {
        assert_eq!(recorded.header(name), Some(value));
    }

    // A page may read them.
    with_auth.push(("Origin", "http://localhost:8000"));
    let page = call_api(&server, "GET", "/v1/accounts/A00000001", &with_auth, None);
    assert_eq!(echoed(&page), expected);
    let exposed = page.header("access-control-expose-headers").unwrap();
    for (name, _) in sent {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
}
