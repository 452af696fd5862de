//! Helpers shared by the core's integration tests: a request, literal responses and
//! shortcuts to the parsed outcome.
#![allow(dead_code)] // Each test binary uses a different subset.

use zuora_oauth_core::{
    ClientId, ClientSecret, Environment, Error, ErrorResponse, Problem, Token, TokenRequest,
};

pub const CLIENT_ID: &str = "8a8a8a8a-0000-1111-2222-333344445555";
pub const SECRET: &str = "dG9wLXNlY3JldC12YWx1ZQ==";
pub const REQUEST_ID: &str = "5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10";

/// The success body exactly as ZUORA.md shows it (including its line break).
pub const SUCCESS_BODY: &str = r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,
 "jti":"c652cbc0ea384b9f81856a93a2a74539",
 "scope":"user.7c4d5433dc234c369a01b9719ecd059f entity.1a2b7a37-3e7d-4cb3-b0e2-883de9e766cc entity.c92ed977-510c-4c48-9b51-8d5e848671e9 service.echo.read tenant.19",
 "token_type":"bearer"}"#;
pub const SUCCESS_TOKEN: &str = "c652cbc0ea384b9f81856a93a2a74538";

/// A production request with the default test credentials.
pub fn request() -> TokenRequest {
    request_with_secret(SECRET)
}

pub fn request_with_secret(secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::Prod,
        ClientId::new(CLIENT_ID).unwrap(),
        ClientSecret::new(secret).unwrap(),
    )
}

/// A literal response: status, headers in order, body.
pub fn response(status: u16, headers: &[(&str, &str)], body: &str) -> http::Response<Vec<u8>> {
    let mut builder = http::Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.as_bytes().to_vec()).unwrap()
}

/// A response with `Content-Type: application/json`.
pub fn json(status: u16, body: &str) -> http::Response<Vec<u8>> {
    response(status, &[("content-type", "application/json")], body)
}

/// A token body with the three required fields, each given as JSON text
/// (`token_body(r#""abc""#, "3599", r#""bearer""#)`).
pub fn token_body(access_token: &str, expires_in: &str, token_type: &str) -> String {
    format!(
        r#"{{"access_token":{access_token},"expires_in":{expires_in},"token_type":{token_type}}}"#
    )
}

pub fn parse(response: &http::Response<Vec<u8>>) -> Result<Token, Error> {
    request().parse_response(response)
}

pub fn parse_ok(response: &http::Response<Vec<u8>>) -> Token {
    match parse(response) {
        Ok(token) => token,
        Err(e) => panic!("expected a token, got {e:?}"),
    }
}

pub fn parse_err(response: &http::Response<Vec<u8>>) -> Error {
    match parse(response) {
        Ok(token) => panic!("expected an error, got {token:?}"),
        Err(e) => e,
    }
}

/// The problem of an `Error::UnexpectedResponse`; panics on any other outcome.
pub fn problem(response: &http::Response<Vec<u8>>) -> Problem {
    unexpected(parse_err(response)).0
}

pub fn unexpected(error: Error) -> (Problem, ErrorResponse) {
    match error {
        Error::UnexpectedResponse { problem, response } => (problem, response),
        other => panic!("expected UnexpectedResponse, got {other:?}"),
    }
}

/// Every text a caller could print or log about an error.
pub fn error_texts(error: &Error) -> Vec<String> {
    let mut texts = vec![
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    if let Some(r) = error.response() {
        texts.push(r.body_excerpt().to_owned());
        texts.push(format!("{r:?}"));
        texts.push(format!("{:?}", r.detail()));
        texts.push(format!("{:?}", r.meta()));
        texts.extend(r.detail().code().map(str::to_owned));
        texts.extend(r.detail().description().map(str::to_owned));
    }
    if let Error::UnexpectedResponse { problem, .. } = error {
        texts.push(problem.to_string());
        texts.push(format!("{problem:?}"));
    }
    texts
}
