//! One reqwest client for many tenants: `AuthorizeMiddleware::new(sources)` picks each call's
//! source from the `Tenant` in its extensions, against the mock Zuora on 127.0.0.1.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{ClientBuilder, Middleware, Next};
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
use zuora_oauth_driver::{Tenant, TokenError, TokenErrorKind, TokenSources};
use zuora_oauth_reqwest::{AuthorizeMiddleware, ReqwestTransport};
use zuora_oauth_testkit::{MockServer, SEEDED_ACCOUNTS, tenant_client};

/// A middleware after ours: did a call reach it with a `Tenant` in its extensions?
#[derive(Default)]
struct Seen {
    saw_tenant: AtomicBool,
    calls: AtomicUsize,
}

struct Inspect(Arc<Seen>);

#[async_trait::async_trait]
impl Middleware for Inspect {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        self.0.calls.fetch_add(1, Ordering::SeqCst);
        if extensions.get::<Tenant>().is_some() {
            self.0.saw_tenant.store(true, Ordering::SeqCst);
        }
        next.run(request, extensions).await
    }
}

#[tokio::test]
async fn the_middleware_authorizes_each_call_with_its_tenants_token() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let zuora = MockServer::builder()
        .tenant_clients(3)
        .without_rate_limit()
        .start()
        .unwrap();
    let client = reqwest::Client::new();
    let sources = TokenSources::new(ReqwestTransport::with_client(client.clone()));
    let inspect = Arc::new(Seen::default());
    let api = ClientBuilder::new(client)
        .with(AuthorizeMiddleware::new(sources.clone()))
        .with(Inspect(Arc::clone(&inspect)))
        .build();
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

    for _ in 0..2 {
        for tenant in &tenants {
            let answer = api
                .get(&url)
                .with_extension(tenant.clone())
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200);
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
    assert!(
        !inspect.saw_tenant.load(Ordering::SeqCst),
        "the middleware removes the Tenant"
    );

    // A call that names no tenant: an error, and nothing sent.
    let refused = api.get(&url).send().await.unwrap_err();
    let error = match &refused {
        reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<TokenError>().unwrap(),
        other => panic!("not a token error: {other}"),
    };
    assert_eq!(error.kind(), TokenErrorKind::NoTenant);
    assert_eq!(inspect.calls.load(Ordering::SeqCst), 6);
    assert_eq!(zuora.api_request_count(), 6);
}
