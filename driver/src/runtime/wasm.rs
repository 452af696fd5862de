//! The runtime on a JavaScript event loop (`wasm32`): `spawn_local`, the global
//! `setTimeout`, `performance.now()` and `Date.now()`, `Math.random()`. The globals are looked
//! up on the global object, so pages, workers, Node and edge runtimes all work.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use zuora_oauth_core::Timestamp;

use super::{BoxFuture, Runtime};
use crate::Clock;

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout(handler, ms)`; the handle is a number in browsers and an
    /// object in Node.
    #[wasm_bindgen(catch, js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: i32) -> Result<JsValue, JsValue>;

    /// The global `clearTimeout(handle)`.
    #[wasm_bindgen(catch, js_name = clearTimeout)]
    fn clear_timeout(handle: &JsValue) -> Result<(), JsValue>;

    /// `performance`, whatever the global object is.
    type Performance;

    #[wasm_bindgen(method)]
    fn now(this: &Performance) -> f64;
}

/// The longest delay `setTimeout` honours (2^31 − 1 ms, about 24.8 days); longer delays
/// would fire at once.
const MAX_TIMER_MS: u64 = i32::MAX as u64;

/// The event loop the source was made on.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WasmRuntime;

impl Runtime for WasmRuntime {
    fn spawn(&self, task: BoxFuture<'static, ()>) {
        wasm_bindgen_futures::spawn_local(task);
    }

    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(Sleep::new(duration))
    }

    /// The global `setTimeout` must exist (every timeout and wait needs it); without it, a
    /// caller gets this error instead of a wait that could never end.
    fn check(&self) -> Result<(), String> {
        let global: JsValue = js_sys::global().into();
        if property(&global, "setTimeout").is_some_and(|f| f.is_function()) {
            Ok(())
        } else {
            Err(
                "this JavaScript runtime has no global `setTimeout`, which timeouts and \
                 waits need"
                    .into(),
            )
        }
    }

    /// `performance.now()` when the global object has it, else `Date.now()` (not
    /// monotonic; the core treats a step back as time standing still); the wall clock is
    /// `Date.now()`.
    fn clock(&self) -> Clock {
        let global: JsValue = js_sys::global().into();
        // Through the core's clamping conversion, which cannot panic: no panic message
        // (and its formatting) for a clock that never fails.
        let wall = || UNIX_EPOCH + Timestamp::from_millis_f64(js_sys::Date::now()).as_duration();
        match property(&global, "performance") {
            Some(p) if property(&p, "now").is_some_and(|now| now.is_function()) => {
                let performance: Performance = p.unchecked_into();
                Clock::new(
                    move || Timestamp::from_millis_f64(performance.now()).as_duration(),
                    wall,
                )
            }
            _ => Clock::new(
                || Timestamp::from_millis_f64(js_sys::Date::now()).as_duration(),
                wall,
            ),
        }
    }

    /// A jitter seed from `Math.random()` (two draws of 32 bits). Not for secrets: it only
    /// spreads refresh and retry times across processes.
    fn seed(&self) -> u64 {
        let draw = || (js_sys::Math::random() * 4_294_967_296.0) as u64 & 0xffff_ffff;
        (draw() << 32) | draw()
    }
}

/// A property of a JS value, if it is an object that has it.
fn property(value: &JsValue, name: &str) -> Option<JsValue> {
    if !value.is_object() {
        return None;
    }
    Reflect::get(value, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// A future that completes after a delay (`setTimeout`); dropping it clears the timer, so
/// that no timer keeps Node's event loop alive.
struct Sleep {
    timer: Option<(JsValue, Closure<dyn FnMut()>)>,
    fired: Rc<Cell<bool>>,
    waker: Rc<Cell<Option<Waker>>>,
}

impl Sleep {
    fn new(duration: Duration) -> Self {
        let fired = Rc::new(Cell::new(false));
        let waker: Rc<Cell<Option<Waker>>> = Rc::new(Cell::new(None));
        let on_timeout = {
            let (fired, waker) = (Rc::clone(&fired), Rc::clone(&waker));
            Closure::<dyn FnMut()>::new(move || {
                fired.set(true);
                if let Some(w) = waker.take() {
                    w.wake();
                }
            })
        };
        // Rounded up: a timer that fires before the time asked for would have a waiter look
        // again too early, and go back to sleep.
        // (In `u64`: a `u128` division weighs about 1 KB in a wasm module.)
        let ms = duration
            .as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(duration.subsec_nanos().div_ceil(1_000_000)))
            .min(MAX_TIMER_MS) as i32;
        // Without a `setTimeout` (which `Runtime::check` reports before anyone waits), the
        // sleep never completes: completing at once would have a waiter poll in a loop that
        // never yields to the event loop.
        let timer = set_timeout(on_timeout.as_ref().unchecked_ref(), ms)
            .ok()
            .map(|handle| (handle, on_timeout));
        Self {
            timer,
            fired,
            waker,
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.get() {
            return Poll::Ready(());
        }
        self.waker.set(Some(cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((handle, closure)) = self.timer.take() {
            let _ = clear_timeout(&handle);
            drop(closure);
        }
    }
}
