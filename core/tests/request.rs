//! The token request: method, URL per environment, headers and the form body.

mod common;

use std::time::Duration;

use common::{CLIENT_ID, SECRET, SUCCESS_BODY, SUCCESS_TOKEN, json, request};
use proptest::prelude::*;
use zuora_oauth_core::{
    AccessToken, ClientId, ClientSecret, EntityId, Environment, Token, TokenRequest, TrackId,
    ZUORA_ENTITY_IDS, ZUORA_TRACK_ID,
};

/// (SDK name, variant, base URL), as listed in ZUORA.md.
const ENVIRONMENTS: [(&str, Environment, &str); 10] = [
    ("prod", Environment::Prod, "https://rest.zuora.com"),
    ("prod-na", Environment::ProdNa, "https://rest.na.zuora.com"),
    ("prod-eu", Environment::ProdEu, "https://rest.eu.zuora.com"),
    ("prod-ap", Environment::ProdAp, "https://rest.ap.zuora.com"),
    ("sbx", Environment::Sbx, "https://rest.apisandbox.zuora.com"),
    (
        "sbx-na",
        Environment::SbxNa,
        "https://rest.sandbox.na.zuora.com",
    ),
    (
        "sbx-eu",
        Environment::SbxEu,
        "https://rest.sandbox.eu.zuora.com",
    ),
    ("csbx", Environment::Csbx, "https://rest.test.zuora.com"),
    (
        "csbx-eu",
        Environment::CsbxEu,
        "https://rest.test.eu.zuora.com",
    ),
    (
        "csbx-ap",
        Environment::CsbxAp,
        "https://rest.test.ap.zuora.com",
    ),
];

const ENTITY: &str = "11e643f4-a3ee-8bad-b061-0025904c756d";

fn request_for(environment: Environment, secret: &str) -> TokenRequest {
    TokenRequest::new(
        environment,
        ClientId::new(CLIENT_ID).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

/// The form body decoded, in order.
fn form(request: &http::Request<Vec<u8>>) -> Vec<(String, String)> {
    serde_urlencoded::from_bytes(request.body()).expect("the body is a valid form")
}

fn expected_form(secret: &str) -> Vec<(String, String)> {
    [
        ("client_id", CLIENT_ID),
        ("client_secret", secret),
        ("grant_type", "client_credentials"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .to_vec()
}

/// Header names, sorted.
fn header_names(request: &http::Request<Vec<u8>>) -> Vec<&str> {
    let mut names: Vec<&str> = request.headers().keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    names
}

#[test]
fn every_named_environment_posts_to_its_token_url() {
    for (name, environment, base) in ENVIRONMENTS {
        let http = request_for(environment.clone(), SECRET).to_http();
        assert_eq!(http.method(), http::Method::POST, "{name}");
        assert_eq!(
            http.uri().to_string(),
            format!("{base}/oauth/token"),
            "{name}"
        );
        assert_eq!(http.uri().scheme_str(), Some("https"), "{name}");
        assert_eq!(http.uri().path(), "/oauth/token", "{name}");
        assert_eq!(http.uri().query(), None, "{name}");
    }
}

#[test]
fn named_environments_parse_name_and_print_their_names() {
    assert_eq!(Environment::NAMES, ENVIRONMENTS.map(|(name, ..)| name));
    for (name, environment, base) in ENVIRONMENTS {
        assert_eq!(name.parse::<Environment>().unwrap(), environment);
        assert_eq!(
            name.to_uppercase().parse::<Environment>().unwrap(),
            environment
        );
        assert_eq!(environment.name(), Some(name));
        assert_eq!(environment.base_url(), base);
        assert_eq!(environment.to_string(), name);
        assert_eq!(format!("{environment:?}"), format!("Environment({name})"));
        assert_eq!(
            environment.token_url().to_string(),
            format!("{base}/oauth/token")
        );
    }
}

#[test]
fn unknown_environment_names_are_rejected_with_the_list_of_names() {
    for bad in [
        "",
        "production",
        "prod_eu",
        "prodeu",
        "sandbox",
        "https://rest.zuora.com",
    ] {
        let err = bad.parse::<Environment>().unwrap_err();
        assert_eq!(err.field(), "environment", "{bad:?}");
        assert!(err.rule().contains("prod-eu, prod-ap"), "{bad:?}: {err}");
    }
}

#[test]
fn custom_base_urls_give_the_token_url_under_their_path() {
    // (input, normalised base URL)
    let cases = [
        ("https://rest.pt1.zuora.com", "https://rest.pt1.zuora.com"),
        ("https://rest.pt1.zuora.com/", "https://rest.pt1.zuora.com"),
        (
            "https://rest.pt1.zuora.com///",
            "https://rest.pt1.zuora.com",
        ),
        (
            "https://proxy.example.com/zuora",
            "https://proxy.example.com/zuora",
        ),
        (
            "https://proxy.example.com/zuora/",
            "https://proxy.example.com/zuora",
        ),
        (
            "https://proxy.example.com/a/b/c/",
            "https://proxy.example.com/a/b/c",
        ),
        (
            "https://proxy.example.com:8443",
            "https://proxy.example.com:8443",
        ),
        (
            "https://proxy.example.com:8443/z/",
            "https://proxy.example.com:8443/z",
        ),
        (
            "HTTPS://REST.Example.COM/Path",
            "https://rest.example.com/Path",
        ),
        ("https://[2001:db8::1]:443/x", "https://[2001:db8::1]:443/x"),
        ("http://localhost", "http://localhost"),
        ("http://localhost:8080/", "http://localhost:8080"),
        ("http://LocalHost:8080/mock", "http://localhost:8080/mock"),
        ("http://127.0.0.1:9", "http://127.0.0.1:9"),
        ("http://127.255.0.42/", "http://127.255.0.42"),
        ("http://[::1]:3000/zuora/", "http://[::1]:3000/zuora"),
    ];
    for (input, base) in cases {
        let environment = Environment::custom(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(environment.base_url(), base, "{input}");
        assert_eq!(environment.name(), None, "{input}");
        assert_eq!(environment.to_string(), base, "{input}");
        let http = request_for(environment, SECRET).to_http();
        assert_eq!(http.method(), http::Method::POST, "{input}");
        assert_eq!(
            http.uri().to_string(),
            format!("{base}/oauth/token"),
            "{input}"
        );
    }
}

#[test]
fn minimal_request_has_exactly_content_type_and_accept() {
    let http = request().to_http();
    assert_eq!(header_names(&http), ["accept", "content-type"]);
    assert_eq!(
        http.headers()["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(http.headers()["accept"], "application/json");
}

#[test]
fn track_and_entity_headers_are_sent_only_when_set() {
    let track = TrackId::new("nightly-sync #42 (retry 1)").unwrap();
    let entity = EntityId::new("11E643F4A3EE8BADB0610025904C756D").unwrap();
    let cases = [
        (None, None, vec!["accept", "content-type"]),
        (
            Some(track.clone()),
            None,
            vec!["accept", "content-type", "zuora-track-id"],
        ),
        (
            None,
            Some(entity.clone()),
            vec!["accept", "content-type", "zuora-entity-ids"],
        ),
        (
            Some(track.clone()),
            Some(entity.clone()),
            vec![
                "accept",
                "content-type",
                "zuora-entity-ids",
                "zuora-track-id",
            ],
        ),
    ];
    for (track_id, entity_id, names) in cases {
        let mut request = request();
        if let Some(t) = &track_id {
            request = request.with_track_id(t.clone());
        }
        if let Some(e) = &entity_id {
            request = request.with_entity_id(e.clone());
        }
        assert_eq!(request.track_id(), track_id.as_ref());
        assert_eq!(request.entity_id(), entity_id.as_ref());
        let http = request.to_http();
        assert_eq!(header_names(&http), names);
        if track_id.is_some() {
            assert_eq!(http.headers()[ZUORA_TRACK_ID], "nightly-sync #42 (retry 1)");
            assert_eq!(http.headers().get_all("zuora-track-id").iter().count(), 1);
        }
        if entity_id.is_some() {
            assert_eq!(http.headers()[ZUORA_ENTITY_IDS], ENTITY);
        }
        // The credentials travel in the body only, whatever else is set.
        for forbidden in ["authorization", "apiaccesskeyid", "apisecretaccesskey"] {
            assert!(http.headers().get(forbidden).is_none(), "{forbidden}");
        }
        assert_eq!(form(&http), expected_form(SECRET));
    }
}

#[test]
fn header_constants_have_zuoras_names() {
    assert_eq!(ZUORA_TRACK_ID.as_str(), "zuora-track-id");
    assert_eq!(ZUORA_ENTITY_IDS.as_str(), "zuora-entity-ids");
}

#[test]
fn form_body_is_exactly_three_fields_in_order() {
    let http = request().to_http();
    assert_eq!(
        std::str::from_utf8(http.body()).unwrap(),
        "client_id=8a8a8a8a-0000-1111-2222-333344445555\
         &client_secret=dG9wLXNlY3JldC12YWx1ZQ%3D%3D&grant_type=client_credentials"
    );
    assert_eq!(form(&http), expected_form(SECRET));
}

#[test]
fn awkward_secrets_are_percent_encoded_and_round_trip() {
    // (secret, its encoding in the body)
    let cases = [
        ("a/b+c=d", "a%2Fb%2Bc%3Dd"),
        ("x&grant_type=password", "x%26grant_type%3Dpassword"),
        ("100%", "100%25"),
        ("with space", "with+space"),
        ("  leading and trailing  ", "++leading+and+trailing++"),
        ("été/ß", "%C3%A9t%C3%A9%2F%C3%9F"),
        ("🔑", "%F0%9F%94%91"),
        ("a\nb", "a%0Ab"),
        ("'\";:?#[]", "%27%22%3B%3A%3F%23%5B%5D"),
        (
            "Zm9vYmFyYmF6cXV4/+==abcdefghijklmnopqrst",
            "Zm9vYmFyYmF6cXV4%2F%2B%3D%3Dabcdefghijklmnopqrst",
        ),
    ];
    for (secret, encoded) in cases {
        let http = request_for(Environment::Sbx, secret).to_http();
        let body = std::str::from_utf8(http.body()).unwrap();
        assert!(
            body.contains(&format!("&client_secret={encoded}&")),
            "{secret:?} → {body}"
        );
        assert_eq!(body.split('&').count(), 3, "{secret:?}");
        assert_eq!(form(&http), expected_form(secret), "{secret:?}");
    }
}

#[test]
fn every_call_to_http_builds_the_same_request() {
    let request = request()
        .with_track_id(TrackId::new("t-1").unwrap())
        .with_entity_id(EntityId::new(ENTITY).unwrap());
    let (a, b) = (request.to_http(), request.clone().to_http());
    assert_eq!(a.method(), b.method());
    assert_eq!(a.uri(), b.uri());
    assert_eq!(a.headers(), b.headers());
    assert_eq!(a.body(), b.body());
}

#[test]
fn request_accessors_return_its_inputs() {
    let request = request_for(Environment::CsbxEu, SECRET);
    assert_eq!(request.environment(), &Environment::CsbxEu);
    assert_eq!(request.client_id().as_str(), CLIENT_ID);
    assert_eq!(request.track_id(), None);
    assert_eq!(request.entity_id(), None);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    /// Any valid secret (1 to 42 characters of anything) arrives intact.
    #[test]
    fn any_valid_secret_round_trips_through_the_form(secret in "\\PC{1,42}|[ -~]{1,42}") {
        let http = request_for(Environment::Prod, &secret).to_http();
        prop_assert_eq!(form(&http), expected_form(&secret));
        prop_assert_eq!(std::str::from_utf8(http.body()).unwrap().split('&').count(), 3);
    }
}

#[test]
fn bearer_header_is_sensitive_and_spells_bearer() {
    let token = AccessToken::new(SUCCESS_TOKEN).unwrap();
    let header = token.bearer_header();
    assert_eq!(header, format!("Bearer {SUCCESS_TOKEN}").as_str());
    assert!(header.is_sensitive());
    assert!(!format!("{header:?}").contains(SUCCESS_TOKEN));
    assert_eq!(token.secret(), SUCCESS_TOKEN);
}

#[test]
fn authorize_sets_authorization_and_replaces_an_old_one() {
    let token = Token::new(
        AccessToken::new(SUCCESS_TOKEN).unwrap(),
        Duration::from_secs(3599),
    );
    let mut api = http::Request::get("https://rest.zuora.com/v1/catalog/products")
        .header("authorization", "Bearer stale")
        .header("authorization", "Basic also-stale")
        .body(())
        .unwrap();
    token.authorize(&mut api);
    let values: Vec<_> = api.headers().get_all("authorization").iter().collect();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0], format!("Bearer {SUCCESS_TOKEN}").as_str());
    assert!(values[0].is_sensitive());
    assert!(api.headers().get("zuora-entity-ids").is_none());
    assert!(!format!("{api:?}").contains(SUCCESS_TOKEN));
    assert_eq!(token.bearer_header(), values[0]);
    assert!(token.bearer_header().is_sensitive());
}

#[test]
fn parsed_tokens_select_the_requests_entity() {
    let ok = json(200, SUCCESS_BODY);

    let plain = request().parse_response(&ok).unwrap();
    assert_eq!(plain.entity_id(), None);
    let mut api = http::Request::get("https://rest.zuora.com/v1/accounts")
        .body(())
        .unwrap();
    plain.authorize(&mut api);
    assert!(api.headers().get(ZUORA_ENTITY_IDS).is_none());

    let entity = EntityId::new(ENTITY).unwrap();
    let scoped = request()
        .with_entity_id(entity.clone())
        .parse_response(&ok)
        .unwrap();
    assert_eq!(scoped.entity_id(), Some(&entity));
    let mut api = http::Request::get("https://rest.zuora.com/v1/accounts")
        .header("zuora-entity-ids", "00000000-0000-0000-0000-000000000000")
        .body(())
        .unwrap();
    scoped.authorize(&mut api);
    let entities: Vec<_> = api.headers().get_all(ZUORA_ENTITY_IDS).iter().collect();
    assert_eq!(entities, [ENTITY]);
    assert_eq!(
        api.headers()["authorization"],
        format!("Bearer {SUCCESS_TOKEN}").as_str()
    );
}

#[test]
fn token_builders_set_what_they_say() {
    let entity = EntityId::new(ENTITY).unwrap();
    let token = Token::new(AccessToken::new("abc").unwrap(), Duration::from_secs(60))
        .with_jti("jti-1")
        .with_scope(zuora_oauth_core::Scope::new("tenant.7"))
        .with_entity_id(Some(entity.clone()));
    assert_eq!(token.access_token().secret(), "abc");
    assert_eq!(token.expires_in(), Duration::from_secs(60));
    assert_eq!(token.jti(), Some("jti-1"));
    assert_eq!(token.scope().tenant_id(), Some(7));
    assert_eq!(token.token_type(), "bearer");
    assert_eq!(token.entity_id(), Some(&entity));
    let mut api = http::Request::post("https://rest.zuora.com/v1/orders")
        .body(Vec::<u8>::new())
        .unwrap();
    token.authorize(&mut api);
    assert_eq!(api.headers()[ZUORA_ENTITY_IDS], ENTITY);
}
