//! The few JavaScript globals this crate uses, looked up on the global object so that pages,
//! workers, Node and edge runtimes all work: `fetch` and `setTimeout`/`clearTimeout` (the
//! runtime's own timers and clocks are the driver's).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{AbortController, RequestInit};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch(input, init)`. `catch`: a runtime without `fetch` throws instead of
    /// returning a promise.
    #[wasm_bindgen(catch, js_name = fetch)]
    pub(crate) fn global_fetch(input: &str, init: &RequestInit) -> Result<Promise, JsValue>;

    /// The global `setTimeout(handler, ms)`; the handle is a number in browsers and an
    /// object in Node.
    #[wasm_bindgen(catch, js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> Result<JsValue, JsValue>;

    /// The global `clearTimeout(handle)`.
    #[wasm_bindgen(catch, js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue) -> Result<(), JsValue>;
}

/// The longest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days); longer delays
/// would fire at once.
const MAX_TIMER_MS: u128 = i32::MAX as u128;

/// A property of a JS value, if it is an object that has it.
fn property(value: &JsValue, name: &str) -> Option<JsValue> {
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Whether `text` holds `part` (a byte comparison: short messages, and no two-way string
/// searcher linked into the module).
fn holds(text: &str, part: &str) -> bool {
    text.as_bytes()
        .windows(part.len())
        .any(|window| window == part.as_bytes())
}

/// A string property of a JS value.
pub(crate) fn string_property(value: &JsValue, name: &str) -> Option<String> {
    property(value, name)?.as_string()
}

/// What a thrown or rejected JS value says about itself: its `name` (`TypeError`,
/// `AbortError`…) and a one-line message including its `cause`'s (Node puts the real
/// reason of `fetch failed` there, e.g. `connect ECONNREFUSED 127.0.0.1:1`).
pub(crate) struct JsFailure {
    pub(crate) name: String,
    pub(crate) message: String,
}

impl JsFailure {
    pub(crate) fn from_value(value: &JsValue) -> Self {
        let name = string_property(value, "name").unwrap_or_default();
        let mut message = string_property(value, "message")
            .or_else(|| value.as_string())
            .unwrap_or_default();
        if let Some(cause) = property(value, "cause") {
            let detail = string_property(&cause, "message")
                .or_else(|| string_property(&cause, "code"))
                .or_else(|| cause.as_string());
            if let Some(detail) = detail.filter(|d| !d.is_empty() && !holds(&message, d)) {
                if message.is_empty() {
                    message = detail;
                } else {
                    message = format!("{message} ({detail})");
                }
            }
        }
        if message.is_empty() {
            message = if name.is_empty() {
                "unknown JavaScript error".to_owned()
            } else {
                name.clone()
            };
        }
        Self { name, message }
    }

    /// `Name: message`, or the message alone when the name adds nothing.
    pub(crate) fn describe(&self) -> String {
        if self.name.is_empty() || self.message.starts_with(&self.name) {
            self.message.clone()
        } else {
            format!("{}: {}", self.name, self.message)
        }
    }

    /// A `TypeError`: `fetch`'s way of saying "network error" (and CORS rejection).
    pub(crate) fn is_type_error(&self) -> bool {
        self.name == "TypeError"
    }

    /// An abort (ours or the runtime's): `AbortError`, or `TimeoutError` from
    /// `AbortSignal.timeout`.
    pub(crate) fn is_abort(&self) -> bool {
        self.name == "AbortError" || self.name == "TimeoutError"
    }
}

/// An `AbortController` that aborts itself after a timeout, and when dropped before
/// [`finish`](Deadline::finish) (the caller's future was dropped: the request is abandoned).
/// Dropping it always clears the timer, so that no timer keeps Node's event loop alive.
pub(crate) struct Deadline {
    controller: AbortController,
    expired: Rc<Cell<bool>>,
    timer: Option<(JsValue, Closure<dyn FnMut()>)>,
    finished: bool,
}

impl Deadline {
    pub(crate) fn start(timeout: Duration) -> Result<Self, JsValue> {
        let controller = AbortController::new()?;
        let expired = Rc::new(Cell::new(false));
        let on_timeout = {
            let (controller, expired) = (controller.clone(), Rc::clone(&expired));
            Closure::<dyn FnMut()>::new(move || {
                expired.set(true);
                controller.abort();
            })
        };
        let ms = timeout.as_millis().min(MAX_TIMER_MS) as i32;
        let handle = set_timeout(on_timeout.as_ref().unchecked_ref(), ms)?;
        Ok(Self {
            controller,
            expired,
            timer: Some((handle, on_timeout)),
            finished: false,
        })
    }

    pub(crate) fn controller(&self) -> &AbortController {
        &self.controller
    }

    /// Whether the timer fired.
    pub(crate) fn expired(&self) -> bool {
        self.expired.get()
    }

    /// Aborts the request now (body too large, or a refused redirect).
    pub(crate) fn abort(&self) {
        self.controller.abort();
    }

    /// The exchange is complete: stop the timer without aborting.
    pub(crate) fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let Some((handle, closure)) = self.timer.take() {
            let _ = clear_timeout(&handle);
            drop(closure);
        }
        if !self.finished && !self.expired.get() {
            self.controller.abort();
        }
    }
}
