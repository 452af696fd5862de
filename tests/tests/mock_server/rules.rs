//! Scoped faults (one client, the next N, always) and the waits on request arrivals.

use zuora_oauth_testkit::{FaultRule, FaultTarget, Times};

use super::*;

const B_ID: &str = "abcdefab-cdef-4abc-8def-abcdefabcdef";
const B_SECRET: &str = "b+s3cret/=";

fn server_with_b() -> MockServer {
    MockServer::builder()
        .client(B_ID, B_SECRET)
        .without_rate_limit()
        .start()
        .unwrap()
}

fn token_status_of_b(server: &MockServer) -> u16 {
    post_form(
        &server.token_url(),
        &[
            ("client_id", B_ID),
            ("client_secret", B_SECRET),
            ("grant_type", "client_credentials"),
        ],
    )
    .status
}

#[test]
fn a_clients_fault_is_not_taken_by_another_client() {
    let server = server_with_b();
    server.push_rule(FaultRule::new(Fault::empty(503)).for_client(DEMO_CLIENT_ID));
    // B, and a request naming no client, pass by the demo client's fault.
    assert_eq!(token_status_of_b(&server), 200);
    assert_eq!(
        post_form(&server.token_url(), &[("grant_type", "client_credentials")]).status,
        400
    );
    assert_eq!(server.pending_faults(), [Fault::empty(503)]);
    assert_eq!(get_token(&server).status, 503);
    assert_eq!(get_token(&server).status, 200);
    assert!(server.pending_rules().is_empty());
    let taken: Vec<_> = server
        .requests()
        .iter()
        .map(|r| (r.client_id.clone(), r.fault.clone()))
        .collect();
    assert_eq!(
        taken,
        [
            (Some(B_ID.to_owned()), None),
            (None, None),
            (Some(DEMO_CLIENT_ID.to_owned()), Some("respond".to_owned())),
            (Some(DEMO_CLIENT_ID.to_owned()), None),
        ]
    );
}

#[test]
fn next_n_is_taken_exactly_n_times() {
    let server = server_with_b();
    server.push_rule(FaultRule::new(Fault::html_error(502)).times(2));
    assert_eq!(
        server.pending_rules()[0],
        FaultRule::new(Fault::html_error(502)).times(2)
    );
    assert_eq!(get_token(&server).status, 502);
    assert_eq!(server.pending_rules()[0].times, Times::Next(1));
    assert_eq!(
        token_status_of_b(&server),
        502,
        "no client named: any client"
    );
    assert_eq!(get_token(&server).status, 200);
    assert_eq!(token_status_of_b(&server), 200);
    assert!(server.pending_rules().is_empty());
}

#[test]
fn always_hits_until_cleared() {
    let server = server_with_b();
    server.push_rule(FaultRule::new(Fault::empty(500)).for_client(B_ID).always());
    server.push_fault(Fault::empty(503));
    for _ in 0..4 {
        assert_eq!(token_status_of_b(&server), 500);
    }
    // The demo client skips B's rule and takes the next one.
    assert_eq!(get_token(&server).status, 503);
    assert_eq!(get_token(&server).status, 200);
    assert_eq!(server.pending_rules().len(), 1);
    assert_eq!(server.clear_faults(), 1);
    assert_eq!(token_status_of_b(&server), 200);

    // Cleared by the control API and by reset too.
    server.push_rule(FaultRule::new(Fault::empty(500)).always());
    assert_eq!(get_token(&server).status, 500);
    assert_eq!(
        control(&server, "DELETE", "faults", None).json(),
        json!({"cleared":1})
    );
    assert_eq!(get_token(&server).status, 200);
    server.push_rule(FaultRule::new(Fault::empty(500)).always());
    server.reset();
    assert_eq!(get_token(&server).status, 200);
}

#[test]
fn scoped_rules_through_the_control_api() {
    let server = server_with_b();
    let r = control(
        &server,
        "POST",
        "faults",
        Some(
            &json!([
                {"kind": "respond", "status": 503, "client_id": B_ID, "times": 2},
                {"kind": "rate_limited", "target": "api", "times": "always"},
                {"kind": "close_connection"},
            ])
            .to_string(),
        ),
    );
    assert_eq!((r.status, r.json()), (200, json!({"queued":3,"pending":3})));
    assert_eq!(
        server.pending_rules(),
        [
            FaultRule::new(Fault::empty(503)).for_client(B_ID).times(2),
            FaultRule::new(Fault::rate_limited(RetryAfter::Seconds(1)))
                .target(FaultTarget::Api)
                .always(),
            FaultRule::new(Fault::CloseConnection),
        ]
    );
    let pending = control(&server, "GET", "faults", None).json();
    assert_eq!(
        pending["pending"][0],
        json!({"kind":"respond","status":503,"headers":[],"body":"","client_id":B_ID,"times":2})
    );
    assert_eq!(pending["pending"][1]["times"], "always");
    assert_eq!(pending["pending"][1]["target"], "api");
    assert_eq!(pending["pending"][2], json!({"kind":"close_connection"}));

    assert_eq!(token_status_of_b(&server), 503);
    assert!(
        agent()
            .post(server.token_url())
            .send_form(GOOD_FORM)
            .is_err()
    );
    assert_eq!(get_token(&server).status, 200);
    assert_eq!(token_status_of_b(&server), 503);
    assert_eq!(token_status_of_b(&server), 200);
    assert_eq!(call_protected(&server, None).status, 429);
    assert_eq!(call_protected(&server, None).status, 429);

    // Refused rules queue nothing.
    server.clear_faults();
    for (body, needle) in [
        (r#"{"kind":"empty","times":0}"#, "invalid fault"),
        (r#"{"kind":"respond","status":500,"times":0}"#, "times"),
        (
            r#"{"kind":"respond","status":500,"times":"twice"}"#,
            "times",
        ),
        (
            r#"{"kind":"respond","status":500,"target":"nowhere"}"#,
            "expected `token` or `api`",
        ),
        (
            r#"[{"kind":"respond","status":500},{"kind":"token_fields","token_type":"mac","target":"api"}]"#,
            "token endpoint only",
        ),
    ] {
        let r = control(&server, "POST", "faults", Some(body));
        assert_eq!(r.status, 400, "{body}");
        let error = r.json()["error"].as_str().unwrap().to_owned();
        assert!(error.contains(needle), "{body}: {error}");
    }
    assert!(server.pending_rules().is_empty());
}

#[test]
fn push_fault_is_still_the_next_token_request_of_any_client() {
    let server = server_with_b();
    server.push_fault(Fault::empty(500));
    assert_eq!(server.pending_rules(), [FaultRule::new(Fault::empty(500))]);
    assert_eq!(
        call_protected(&server, None).status,
        401,
        "API calls do not take it"
    );
    assert_eq!(token_status_of_b(&server), 500);
    assert_eq!(token_status_of_b(&server), 200);
}

#[test]
fn push_rule_refuses_invalid_rules() {
    let server = MockServer::start().unwrap();
    for rule in [
        FaultRule::new(Fault::empty(500)).times(0),
        FaultRule::new(Fault::omit_field("jti")).on_api(),
    ] {
        let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            server.push_rule(rule.clone())
        }));
        assert!(refused.is_err(), "{rule:?}");
    }
    assert!(server.pending_rules().is_empty());
}

// ---------------------------------------------------------------------------------------
// waiting for arrivals

/// Sends a token request from another thread; its answer is delayed by `delay`.
fn delayed_token_request(server: &MockServer, delay: Duration) -> std::thread::JoinHandle<Raw> {
    server.push_fault(Fault::delay_headers(delay));
    let addr = server.addr();
    let body = form_body();
    let request = format!(
        "POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || raw_exchange(addr, request.as_bytes()))
}

#[test]
fn waiting_for_token_requests_returns_at_arrival_before_a_delayed_answer() {
    let server = MockServer::start().unwrap();
    assert!(
        server.wait_for_token_requests(0, Duration::ZERO),
        "already true"
    );
    assert!(!server.wait_for_token_requests(1, Duration::from_millis(20)));

    // The answer waits for a minute; the request is counted as it arrives.
    let client = delayed_token_request(&server, Duration::from_secs(60));
    assert!(server.wait_for_token_requests(1, Duration::from_secs(20)));
    assert_eq!(server.requests()[0].status, None, "not answered yet");
    assert!(!server.wait_for_token_requests(2, Duration::from_millis(20)));
    // Dropping the server ends the delayed exchange.
    drop(server);
    assert!(client.join().unwrap().bytes.is_empty());
}

#[test]
fn waiting_for_api_requests_and_from_many_threads() {
    let server = MockServer::start().unwrap();
    std::thread::scope(|s| {
        let waiters: Vec<_> = (0..4)
            .map(|_| s.spawn(|| server.wait_for_api_requests(3, Duration::from_secs(20))))
            .collect();
        for _ in 0..3 {
            assert_eq!(call_protected(&server, None).status, 401);
        }
        for waiter in waiters {
            assert!(waiter.join().unwrap());
        }
    });
    assert!(server.wait_for_api_requests(3, Duration::ZERO));
    assert!(!server.wait_for_api_requests(4, Duration::from_millis(20)));
    // Token requests are not API calls.
    assert_eq!(get_token(&server).status, 200);
    assert!(!server.wait_for_api_requests(4, Duration::from_millis(20)));
}

#[tokio::test]
async fn async_waits_resolve_at_arrival_on_a_single_thread_runtime() {
    let server = MockServer::start().unwrap();
    server.until_token_requests(0).await;
    let client = delayed_token_request(&server, Duration::from_secs(60));
    tokio::time::timeout(Duration::from_secs(20), server.until_token_requests(1))
        .await
        .expect("the request arrived");
    assert_eq!(server.requests()[0].status, None, "not answered yet");

    let url = server.protected_url();
    let api =
        tokio::task::spawn_blocking(move || agent().get(url).call().unwrap().status().as_u16());
    tokio::time::timeout(Duration::from_secs(20), server.until_api_requests(1))
        .await
        .expect("the API call arrived");
    assert_eq!(api.await.unwrap(), 401);
    drop(server);
    assert!(client.join().unwrap().bytes.is_empty());
}
