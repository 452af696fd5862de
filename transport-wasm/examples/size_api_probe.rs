//! The size probe of a module that calls Zuora's API (see the "wasm size" section of
//! BENCHMARKS.md): `size_probe`'s token source behind an `AuthorizedFetch`, which puts the
//! token on each call, answers a 401 with one new token and one replay, and returns the
//! API's answer with every header. A `cdylib` exporting one async function to JavaScript:
//!
//! ```js
//! import init, { call } from "./size_api_probe.js";
//! await init();
//! const answer = await call("http://127.0.0.1:8080", clientId, clientSecret, "/v1/accounts/A00000001");
//! ```
//!
//! Only its wasm32 build means anything; on other targets it is empty.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod probe {
    use std::cell::RefCell;

    use wasm_bindgen::prelude::*;
    use zuora_oauth_core::{ClientId, ClientSecret, Environment, TokenRequest};
    use zuora_oauth_driver::TokenSource;
    use zuora_oauth_wasm::{AuthorizedFetch, FetchTransport};

    thread_local! {
        /// One authorizer per module instance: later calls reuse its cached token.
        static API: RefCell<Option<AuthorizedFetch>> = const { RefCell::new(None) };
    }

    /// `GET base_url + path` with the client's token; the answer's status and body.
    #[wasm_bindgen]
    pub async fn call(
        base_url: String,
        client_id: String,
        client_secret: String,
        path: String,
    ) -> Result<String, JsError> {
        let api = match API.with(|a| a.borrow().clone()) {
            Some(api) => api,
            None => {
                let request = TokenRequest::new(
                    Environment::custom(&base_url)?,
                    ClientId::new(client_id)?,
                    ClientSecret::new(client_secret)?,
                );
                let api = AuthorizedFetch::new(TokenSource::new(request, FetchTransport::new()));
                API.with(|a| *a.borrow_mut() = Some(api.clone()));
                api
            }
        };
        let call = http::Request::get(format!("{}{path}", base_url.trim_end_matches('/')))
            .body(Vec::new())?;
        let answer = api.send(call).await?;
        Ok(format!(
            "{} {}",
            answer.status().as_u16(),
            String::from_utf8_lossy(answer.body())
        ))
    }
}
