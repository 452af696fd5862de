//! A spy on the global `fetch`: it records the `AbortSignal` of every token request the code
//! under test sends, then calls the real `fetch`. A test reads from the signal whether a
//! request was aborted, and why, which the server cannot always tell.
//!
//! wasm-bindgen's glue looks the global `fetch` up at each call, so replacing
//! `globalThis.fetch` reaches the transport in Node, pages and workers alike.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use super::{get, string_property};

const SPY: &str = "__zuoraFetchSpy";

/// The recorded token requests, installing the spy first if needed.
fn log() -> Array {
    let global: JsValue = js_sys::global().into();
    let key = JsValue::from_str(SPY);
    if let Ok(log) = Reflect::get(&global, &key)
        && log.is_object()
    {
        return log.unchecked_into();
    }
    let log = Array::new();
    let original = Reflect::get(&global, &JsValue::from_str("fetch")).unwrap();
    let wrap = Function::new_with_args(
        "original, log",
        "return function fetch(input, init) {
             if (String(input).includes('/oauth/token')) {
                 log.push(init && init.signal);
             }
             return original.call(this, input, init);
         };",
    );
    let spy = wrap.call2(&JsValue::NULL, &original, &log).unwrap();
    Reflect::set(&global, &JsValue::from_str("fetch"), &spy).unwrap();
    Reflect::set(&global, &key, &log).unwrap();
    log
}

/// Installs the spy (once per module) and forgets the requests recorded so far.
pub fn reset() {
    log().set_length(0);
}

/// How many token requests went through `fetch` since [`reset`].
pub fn count() -> u32 {
    log().length()
}

/// The signal of the `n`-th token request since [`reset`] (from 0).
pub fn signal(n: u32) -> Signal {
    let signal = log().get(n);
    assert!(signal.is_object(), "token request {n} has no AbortSignal");
    Signal(signal)
}

/// A request's `AbortSignal`.
pub struct Signal(JsValue);

impl Signal {
    /// Whether the request was aborted.
    pub fn aborted(&self) -> bool {
        get(&self.0, "aborted").as_bool().unwrap()
    }

    /// The name of the abort's reason (`AbortError` for a plain `abort()`), once aborted.
    pub fn reason(&self) -> Option<String> {
        string_property(&get(&self.0, "reason"), "name")
    }
}
