//! The job of `transport-wasm/examples/size_probe.rs` done with `oauth2` 5.0.0 and its
//! `reqwest` client: one exported async function that fetches a client-credentials token
//! (client id and secret in the request body, as Zuora wants) and keeps it for later calls.
//! It does less than the probe (no refresh-ahead, no single flight, no backoff, no input
//! validation, no body cap or timeout), so its size is a floor for what oauth2 would cost.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod probe {
    use std::cell::RefCell;

    use oauth2::basic::BasicClient;
    use oauth2::{AuthType, ClientId, ClientSecret, TokenResponse, TokenUrl};
    use wasm_bindgen::prelude::*;

    thread_local! {
        /// The token of the first successful call.
        static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    /// A bearer token for the client, fetched once and then served from the cache.
    #[wasm_bindgen]
    pub async fn token(
        base_url: String,
        client_id: String,
        client_secret: String,
    ) -> Result<String, JsError> {
        if let Some(token) = TOKEN.with(|t| t.borrow().clone()) {
            return Ok(token);
        }
        let client = BasicClient::new(ClientId::new(client_id))
            .set_client_secret(ClientSecret::new(client_secret))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(TokenUrl::new(format!(
                "{}/oauth/token",
                base_url.trim_end_matches('/')
            ))?);
        let http = reqwest::Client::new();
        let response = client
            .exchange_client_credentials()
            .request_async(&http)
            .await?;
        let token = response.access_token().secret().to_owned();
        TOKEN.with(|t| *t.borrow_mut() = Some(token.clone()));
        Ok(token)
    }
}
