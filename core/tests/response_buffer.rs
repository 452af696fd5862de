//! A token keeps none of the response's buffer: HTTP clients (hyper, so reqwest too) hand
//! out header values that are slices of the buffer the whole response was read into, and a
//! token that kept them would keep that buffer (8 KiB and more) alive for its whole life —
//! per tenant, in a process that holds many.

use bytes::Bytes;
use http::HeaderValue;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};

#[test]
fn a_parsed_token_keeps_no_slice_of_the_response_buffer() {
    let request = TokenRequest::new(
        Environment::Prod,
        ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
        ClientSecret::new("dG9wLXNlY3JldA==").unwrap(),
    );
    // The read buffer of a client, every header value a slice of it.
    let head = "application/json;charset=utf-8\
                5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10\
                Fri, 28 Nov 2025 17:40:09 GMT\
                100, 100;w=60\
                99\
                51\
                nightly-sync";
    let mut buffer = head.as_bytes().to_vec();
    buffer.resize(8192, b' ');
    let buffer = Bytes::from(buffer);
    let mut at = 0;
    let mut slice = |len: usize| {
        let value = HeaderValue::from_maybe_shared(buffer.slice(at..at + len)).unwrap();
        at += len;
        value
    };
    let response = http::Response::builder()
        .header("content-type", slice(30))
        .header("zuora-request-id", slice(36))
        .header("date", slice(29))
        .header("ratelimit-limit", slice(13))
        .header("ratelimit-remaining", slice(2))
        .header("ratelimit-reset", slice(2))
        .header("zuora-track-id", slice(12))
        .body(r#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#)
        .unwrap();
    let token = request.parse_response(&response).unwrap();
    assert_eq!(
        token.meta().request_id(),
        Some("5b1d7a6f-0d1f-4c4e-9a67-2f1e0c8b9d10")
    );
    assert_eq!(token.meta().track_id(), Some("nightly-sync"));
    drop(response);
    assert!(
        buffer.is_unique(),
        "the token keeps a slice of the response's buffer"
    );
}
