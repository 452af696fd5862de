//! One ureq agent for many tenants: `AuthorizeMiddleware::new(sources)` picks each call's
//! source from the `Tenant` in its extensions, against the mock Zuora on 127.0.0.1.

use ureq::Agent;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::{BlockingTokenSources, Tenant, TokenError, TokenErrorKind};
use zuora_oauth_testkit::{MockServer, SEEDED_ACCOUNTS, tenant_client};
use zuora_oauth_ureq::{AuthorizeMiddleware, UreqTransport};

#[test]
fn the_middleware_authorizes_each_call_with_its_tenants_token() {
    let zuora = MockServer::builder()
        .tenant_clients(3)
        .without_rate_limit()
        .start()
        .unwrap();
    let sources = BlockingTokenSources::new(UreqTransport::new());
    let agent = AuthorizeMiddleware::new(sources.clone())
        .agent(|| Agent::config_builder().http_status_as_error(false));
    let tenants: Vec<Tenant> = (0..3)
        .map(|i| {
            let (id, secret) = tenant_client(i);
            Tenant::new(TokenRequest::new(
                Environment::custom(&zuora.base_url()).unwrap(),
                ClientId::new(id).unwrap(),
                ClientSecret::new(secret).unwrap(),
            ))
        })
        .collect();
    let url = zuora.api_url(&format!("/v1/accounts/{}", SEEDED_ACCOUNTS[0]));
    let call = |tenant: Option<&Tenant>| {
        let mut request = http::Request::get(&url).body(()).unwrap();
        if let Some(tenant) = tenant {
            request.extensions_mut().insert(tenant.clone());
        }
        agent.run(request)
    };

    for _ in 0..2 {
        for tenant in &tenants {
            assert_eq!(call(Some(tenant)).unwrap().status(), 200);
        }
    }
    let seen: Vec<String> = zuora
        .api_requests()
        .into_iter()
        .map(|r| r.client_id.expect("a token the mock issued"))
        .collect();
    let ids: Vec<String> = (0..3).map(|i| tenant_client(i).0).collect();
    assert_eq!(seen, [ids.clone(), ids].concat());
    assert_eq!((zuora.token_request_count(), sources.len()), (3, 3));

    // A call that names no tenant: an error, and nothing sent.
    let refused = call(None).unwrap_err();
    let error = match &refused {
        ureq::Error::Other(e) => e.downcast_ref::<TokenError>().unwrap(),
        other => panic!("not a token error: {other}"),
    };
    assert_eq!(error.kind(), TokenErrorKind::NoTenant);
    assert_eq!(zuora.api_request_count(), 6);
    assert_eq!(zuora.token_request_count(), 3);
}
