//! The floor under the size probe (BENCHMARKS.md §5): the same exported function as
//! `size_probe`, written by hand on `fetch` with none of this library: one POST with a form
//! body, the JSON read by the host's `JSON.parse`, the `access_token` field taken out, the
//! token kept in a `thread_local`. No validation, no timeout, no body cap, no retry, no
//! refresh, no secret scrubbing. What it weighs is what any wasm-bindgen module that fetches
//! a token pays (executor, allocator, glue, `String`s, `JsError`); the probe's bytes above
//! it are the library's.
//!
//! Only its wasm32 build means anything; on other targets it is empty.
#![forbid(unsafe_code)]

#[cfg(target_arch = "wasm32")]
mod floor {
    use std::cell::RefCell;

    use js_sys::{JSON, Promise, Reflect};
    use wasm_bindgen::prelude::*;
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{Headers, RequestInit, Response};

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_name = fetch)]
        fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;
    }

    thread_local! {
        static TOKEN: RefCell<Option<String>> = const { RefCell::new(None) };
    }

    fn js(error: JsValue) -> JsError {
        JsError::new(
            &error
                .as_string()
                .unwrap_or_else(|| "JavaScript error".into()),
        )
    }

    /// A bearer token for the client, fetched once and then served from memory.
    #[wasm_bindgen]
    pub async fn token(
        base_url: String,
        client_id: String,
        client_secret: String,
    ) -> Result<String, JsError> {
        if let Some(token) = TOKEN.with(|t| t.borrow().clone()) {
            return Ok(token);
        }
        let encode = |s: &str| String::from(js_sys::encode_uri_component(s));
        let body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            encode(&client_id),
            encode(&client_secret)
        );
        let headers = Headers::new().map_err(js)?;
        headers
            .append("content-type", "application/x-www-form-urlencoded")
            .map_err(js)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&body));
        let url = format!("{}/oauth/token", base_url.trim_end_matches('/'));
        let response: Response = JsFuture::from(global_fetch(&url, &init).map_err(js)?)
            .await
            .map_err(js)?
            .unchecked_into();
        if !response.ok() {
            return Err(JsError::new(&format!(
                "the token endpoint answered {}",
                response.status()
            )));
        }
        let text = JsFuture::from(response.text().map_err(js)?)
            .await
            .map_err(js)?;
        let json = JSON::parse(&text.as_string().unwrap_or_default()).map_err(js)?;
        let token = Reflect::get(&json, &JsValue::from_str("access_token"))
            .map_err(js)?
            .as_string()
            .ok_or_else(|| JsError::new("no access_token in the response"))?;
        TOKEN.with(|t| *t.borrow_mut() = Some(token.clone()));
        Ok(token)
    }
}
