//! A small module that fetches and caches a token, built to measure what the wasm adapter
//! costs in a release build (see the "wasm size" section of BENCHMARKS.md). It is a
//! `cdylib` exporting one async function to JavaScript:
//!
//! ```js
//! import init, { token } from "./size_probe.js";
//! await init();
//! const bearer = await token("http://127.0.0.1:8080", clientId, clientSecret);
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
    use zuora_oauth_wasm::FetchTransport;

    thread_local! {
        /// One source per module instance: later calls get the cached token.
        static SOURCE: RefCell<Option<TokenSource>> = const { RefCell::new(None) };
    }

    /// A bearer token for the client, fetched once and then served from the cache.
    #[wasm_bindgen]
    pub async fn token(
        base_url: String,
        client_id: String,
        client_secret: String,
    ) -> Result<String, JsError> {
        let source = match SOURCE.with(|s| s.borrow().clone()) {
            Some(source) => source,
            None => {
                let request = TokenRequest::new(
                    Environment::custom(&base_url)?,
                    ClientId::new(client_id)?,
                    ClientSecret::new(client_secret)?,
                );
                let source = TokenSource::new(request, FetchTransport::new());
                SOURCE.with(|s| *s.borrow_mut() = Some(source.clone()));
                source
            }
        };
        let token = source.token().await?;
        Ok(token.access_token().secret().to_owned())
    }
}
