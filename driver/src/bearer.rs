//! The current bearer value, published for readers that write nothing shared: a sequence
//! lock over plain atomics.
//!
//! The writer (always under the machine's lock: one writer at a time) makes the sequence
//! odd, writes the fields, and makes it even again; a reader reads the sequence, the fields,
//! and the sequence again, and keeps what it read only if the sequence was even and did not
//! move. Every field is an atomic, so a torn read is never undefined behaviour: it is only
//! thrown away. A reader takes no lock, bumps no counter and allocates nothing: on a cached
//! hit, threads read the same cache lines and none of them writes one.
//!
//! What it holds: `Bearer <token>` (up to [`CAPACITY`] bytes; a longer token is not
//! published here and callers take the slower path), the token's generation, and until when
//! it may be handed out without asking the machine. It is cleared (the length set to zero,
//! the bytes overwritten) when the token is invalidated or replaced and when the source is
//! dropped, so no copy of a token is handed out after `invalidate` returns.

#[cfg(all(test, zuora_loom))]
use loom::sync::atomic::{AtomicU64, Ordering, fence};
#[cfg(not(all(test, zuora_loom)))]
use std::sync::atomic::{AtomicU64, Ordering, fence};

use zuora_oauth_core::{Generation, Timestamp};

/// The most bytes of `Bearer <token>` published: Zuora's tokens are 32 hex digits (39
/// bytes with the scheme); 128 leaves room for much longer ones. (Loom's model checks the
/// protocol on two words.)
#[cfg(not(all(test, zuora_loom)))]
pub(crate) const CAPACITY: usize = 128;
#[cfg(all(test, zuora_loom))]
pub(crate) const CAPACITY: usize = 16;
const WORDS: usize = CAPACITY / 8;

/// Between the bearer value and the entity ID in what is published: a byte neither header
/// value can hold.
pub(crate) const SEPARATOR: u8 = b'\n';

/// A copy of the published bearer value, read without writing anything shared.
#[derive(Clone, Copy)]
pub(crate) struct BearerCopy {
    bytes: [u8; CAPACITY],
    len: usize,
    generation: u64,
}

impl BearerCopy {
    /// What was published: `Bearer <token>`, then the entity ID if the token has one.
    pub(crate) fn value(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// `Bearer <token>`, and the entity ID if the token has one.
    pub(crate) fn headers(&self) -> (&[u8], Option<&[u8]>) {
        let value = self.value();
        match value.iter().position(|&b| b == SEPARATOR) {
            Some(at) => (&value[..at], Some(&value[at + 1..])),
            None => (value, None),
        }
    }

    /// The token's generation.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }
}

/// The published bearer value (see the module docs).
pub(crate) struct PublishedBearer {
    seq: AtomicU64,
    /// `Bearer <token>`'s length; 0: nothing published.
    len: AtomicU64,
    generation: AtomicU64,
    /// Until when (nanoseconds on the source's clock) the value may be handed out.
    fresh_until: AtomicU64,
    words: [AtomicU64; WORDS],
}

impl PublishedBearer {
    pub(crate) fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            len: AtomicU64::new(0),
            generation: AtomicU64::new(0),
            fresh_until: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Publishes `value` (`Bearer <token>`) for token `generation` until `fresh_until`, or
    /// nothing (`None`, or a value too long for [`CAPACITY`]). Call it from one writer at a
    /// time (the machine's lock).
    pub(crate) fn publish(&self, value: Option<(&[u8], Generation, Timestamp)>) {
        match value.filter(|(bytes, ..)| bytes.len() <= CAPACITY) {
            Some((bytes, generation, until)) => self.write(bytes, generation.get(), nanos(until)),
            None => self.write(&[], 0, 0),
        }
    }

    /// Writes the fields under the sequence (at most [`CAPACITY`] bytes).
    fn write(&self, bytes: &[u8], generation: u64, until: u64) {
        // Odd: readers retry until the writer is done.
        let seq = self.seq.load(Ordering::Relaxed);
        self.seq.store(seq.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        self.len.store(bytes.len() as u64, Ordering::Relaxed);
        self.generation.store(generation, Ordering::Relaxed);
        self.fresh_until.store(until, Ordering::Relaxed);
        // Every word is written: a cleared value leaves no byte of the old token behind.
        for (i, word) in self.words.iter().enumerate() {
            let mut chunk = [0u8; 8];
            let start = (i * 8).min(bytes.len());
            let end = (start + 8).min(bytes.len());
            chunk[..end - start].copy_from_slice(&bytes[start..end]);
            word.store(u64::from_ne_bytes(chunk), Ordering::Relaxed);
        }
        self.seq.store(seq.wrapping_add(2), Ordering::Release);
    }

    /// The published value if it is still fresh at `now`: no lock, nothing shared written.
    #[inline]
    pub(crate) fn read(&self, now: Timestamp) -> Option<BearerCopy> {
        loop {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 1 {
                #[cfg(all(test, zuora_loom))]
                loom::thread::yield_now();
                #[cfg(not(all(test, zuora_loom)))]
                std::hint::spin_loop();
                continue;
            }
            let len = self.len.load(Ordering::Relaxed) as usize;
            let generation = self.generation.load(Ordering::Relaxed);
            let fresh_until = self.fresh_until.load(Ordering::Relaxed);
            let fresh = len != 0 && nanos(now) < fresh_until;
            let mut copy = BearerCopy {
                bytes: [0; CAPACITY],
                len: if fresh { len.min(CAPACITY) } else { 0 },
                generation,
            };
            let words = copy.len.div_ceil(8);
            for (i, word) in self.words[..words].iter().enumerate() {
                let chunk = word.load(Ordering::Relaxed).to_ne_bytes();
                copy.bytes[i * 8..i * 8 + 8].copy_from_slice(&chunk);
            }
            fence(Ordering::Acquire);
            if self.seq.load(Ordering::Relaxed) != before {
                #[cfg(all(test, zuora_loom))]
                loom::thread::yield_now();
                continue;
            }
            return fresh.then_some(copy);
        }
    }
}

/// A timestamp in nanoseconds, saturating (585 years of uptime).
fn nanos(t: Timestamp) -> u64 {
    u64::try_from(t.as_duration().as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(zuora_loom)))]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    /// The generation of the `n`th token a lifecycle installs (generations have no public
    /// constructor).
    fn generation(n: u64) -> Generation {
        use zuora_oauth_core::{
            Action, ClientId, ClientSecret, Environment, LifecycleConfig, Outcome, TokenLifecycle,
            TokenRequest,
        };
        let request = TokenRequest::new(
            Environment::custom("http://127.0.0.1:9").unwrap(),
            ClientId::new("8a8a8a8a-0000-1111-2222-333344445555").unwrap(),
            ClientSecret::new("s").unwrap(),
        );
        let mut lc = TokenLifecycle::new(request, LifecycleConfig::default(), 1);
        let body = br#"{"access_token":"c652cbc0ea384b9f81856a93a2a74538","expires_in":3599,"token_type":"bearer"}"#;
        let mut generation = None;
        for _ in 0..n {
            let Action::Send(out) = lc.poll(Timestamp::ZERO) else {
                unreachable!("every token is invalidated: the next poll sends")
            };
            let response = http::Response::builder()
                .header("content-type", "application/json")
                .body(body.to_vec())
                .unwrap();
            let now = std::time::SystemTime::now();
            let Outcome::Token(t) = lc.handle_response(Timestamp::ZERO, now, out.id(), &response)
            else {
                unreachable!("a token")
            };
            let g = t.generation();
            lc.invalidate(Timestamp::ZERO, g);
            generation = Some(g);
        }
        generation.unwrap()
    }

    #[test]
    fn a_published_value_is_read_until_it_is_stale_or_cleared() {
        let p = PublishedBearer::new();
        let t0 = Timestamp::ZERO;
        assert!(p.read(t0).is_none());
        let g = generation(1);
        let until = t0 + Duration::from_secs(10);
        p.publish(Some((b"Bearer c652cbc0ea384b9f81856a93a2a74538", g, until)));
        let copy = p.read(t0).unwrap();
        assert_eq!(copy.value(), b"Bearer c652cbc0ea384b9f81856a93a2a74538");
        assert_eq!(copy.generation(), g.get());
        assert!(p.read(until).is_none(), "stale at its end");
        p.publish(None);
        assert!(p.read(t0).is_none(), "cleared");
        // Cleared means every word is zero: no byte of the token stays behind.
        assert!(p.words.iter().all(|w| w.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn a_value_too_long_is_not_published() {
        let p = PublishedBearer::new();
        let long = vec![b'a'; CAPACITY + 1];
        p.publish(Some((&long, generation(1), Timestamp::MAX)));
        assert!(p.read(Timestamp::ZERO).is_none());
        let exact = vec![b'b'; CAPACITY];
        p.publish(Some((&exact, generation(1), Timestamp::MAX)));
        assert_eq!(p.read(Timestamp::ZERO).unwrap().value(), &exact[..]);
    }

    /// Readers racing a writer that flips between two values of different lengths never
    /// see a mix of the two (the equally strong check beside the loom model).
    #[test]
    fn readers_never_see_a_torn_value() {
        let p = Arc::new(PublishedBearer::new());
        let a: Vec<u8> = b"Bearer ".iter().copied().chain([b'a'; 32]).collect();
        let b: Vec<u8> = b"Bearer ".iter().copied().chain([b'b'; 100]).collect();
        let (ga, gb) = (generation(1), generation(2));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (p, stop, a, b) = (Arc::clone(&p), Arc::clone(&stop), a.clone(), b.clone());
                std::thread::spawn(move || {
                    let mut seen = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        if let Some(copy) = p.read(Timestamp::ZERO) {
                            let ok = (copy.value() == a && copy.generation() == ga.get())
                                || (copy.value() == b && copy.generation() == gb.get());
                            assert!(ok, "a torn value: {:?}", copy.value());
                            seen += 1;
                        }
                    }
                    seen
                })
            })
            .collect();
        for i in 0..200_000 {
            match i % 3 {
                0 => p.publish(Some((&a, ga, Timestamp::MAX))),
                1 => p.publish(Some((&b, gb, Timestamp::MAX))),
                _ => p.publish(None),
            }
        }
        stop.store(true, Ordering::Relaxed);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
    }
}

/// The protocol under loom's model checker: every interleaving (up to three preemptions) of
/// a writer that replaces a value twice with a reader, under the C11 memory model. Run by
/// the crate `driver/loom`, which compiles this file:
/// `RUSTFLAGS="--cfg zuora_loom" cargo test -p zuora-oauth-loom --release`.
#[cfg(all(test, zuora_loom))]
mod loom_model {
    use loom::sync::Arc;

    use super::*;

    #[test]
    fn a_reader_sees_one_whole_value_or_none() {
        // Every interleaving with up to three preemptions (loom's usual bound: the runs
        // that find ordering bugs need far fewer).
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let p = Arc::new(PublishedBearer::new());
            let reader = {
                let p = Arc::clone(&p);
                loom::thread::spawn(move || p.read(Timestamp::ZERO))
            };
            // Two writes: a long value then a short one; the reader may see either, or none.
            p.write(b"Bearer aaaaaaaa", 1, u64::MAX);
            p.write(b"Bearer bb", 2, u64::MAX);
            if let Some(copy) = reader.join().unwrap() {
                let whole = (copy.value() == b"Bearer aaaaaaaa" && copy.generation() == 1)
                    || (copy.value() == b"Bearer bb" && copy.generation() == 2);
                assert!(whole, "torn: {:?} {}", copy.value(), copy.generation());
            }
        });
    }
}
