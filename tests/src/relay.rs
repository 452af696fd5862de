//! A TCP relay on loopback in front of a real server (a `redis-server`, say) that cuts
//! connections on chosen commands: the network faults between a client and its server,
//! with the server itself untouched.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::Duration;

/// The longest an [`Cut::after`] cut waits for the server's answer (which it then drops).
const ANSWER_TIME: Duration = Duration::from_secs(1);

/// Which client writes a [`Relay`] cuts, and how.
///
/// A rule matches a write from the client (one `read` of the relay: a whole command for
/// small commands on loopback) that contains its marker bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cut {
    marker: Vec<u8>,
    forward: bool,
    skip: usize,
    times: Option<usize>,
}

impl Cut {
    /// Closes the connection on a write containing `marker`, before the server gets it
    /// (the command never ran).
    pub fn before(marker: impl Into<Vec<u8>>) -> Self {
        Self {
            marker: marker.into(),
            forward: false,
            skip: 0,
            times: None,
        }
    }

    /// Forwards a write containing `marker` to the server, then closes the client's
    /// connection before the answer reaches it (the command ran; the client cannot know).
    pub fn after(marker: impl Into<Vec<u8>>) -> Self {
        Self {
            forward: true,
            ..Self::before(marker)
        }
    }

    /// Lets the first `n` matching writes through.
    pub fn skip(mut self, n: usize) -> Self {
        self.skip = n;
        self
    }

    /// Cuts `n` matching writes, then no more (default: every one).
    pub fn times(mut self, n: usize) -> Self {
        self.times = Some(n);
        self
    }
}

/// A TCP relay on `127.0.0.1` to `upstream`, applying [`Cut`] rules. Stops accepting when
/// dropped (relayed connections end with their peers).
///
/// ```no_run
/// use zuora_oauth_testkit::{Cut, Relay};
/// # fn main() -> std::io::Result<()> {
/// let relay = Relay::start("127.0.0.1:6379".parse().unwrap())?;
/// // The client's `SET … NX` runs, but its answer is lost.
/// relay.cut(Cut::after("NX").times(1));
/// let url = format!("redis://{}/", relay.addr());
/// # Ok(()) }
/// ```
pub struct Relay {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

struct Shared {
    rules: Mutex<Vec<(Cut, usize)>>,
    cuts: AtomicUsize,
    stopped: AtomicBool,
}

impl Relay {
    /// Listens on a free port of `127.0.0.1` and relays every connection to `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            rules: Mutex::new(Vec::new()),
            cuts: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
        });
        let accepting = Arc::clone(&shared);
        thread::Builder::new()
            .name("relay-accept".into())
            .spawn(move || {
                for client in listener.incoming() {
                    if accepting.stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    let Ok(server) = TcpStream::connect(upstream) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    let shared = Arc::clone(&accepting);
                    let _ = thread::Builder::new()
                        .name("relay-connection".into())
                        .spawn(move || relay(client, server, &shared));
                }
            })?;
        Ok(Self { addr, shared })
    }

    /// The relay's address (give it to the client instead of the server's).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Adds a rule (the oldest matching rule applies).
    pub fn cut(&self, rule: Cut) {
        lock(&self.shared.rules).push((rule, 0));
    }

    /// Removes every rule.
    pub fn clear(&self) {
        lock(&self.shared.rules).clear();
    }

    /// How many connections a rule has cut so far.
    pub fn cuts(&self) -> usize {
        self.shared.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    /// Whether a rule cuts `chunk`, and whether it forwards it first.
    fn verdict(&self, chunk: &[u8]) -> Option<bool> {
        let mut rules = lock(&self.rules);
        let index = rules
            .iter()
            .position(|(rule, _)| contains(chunk, &rule.marker))?;
        let (rule, seen) = &mut rules[index];
        *seen += 1;
        if *seen <= rule.skip {
            return None;
        }
        let forward = rule.forward;
        if rule.times.is_some_and(|n| *seen - rule.skip >= n) {
            rules.remove(index);
        }
        Some(forward)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// Pumps `client` ⇄ `server` until either side closes or a rule cuts.
fn relay(mut client: TcpStream, mut server: TcpStream, shared: &Shared) {
    let (Ok(client_out), Ok(mut server_in)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let dropping = Arc::new(AtomicBool::new(false));
    let dropped = Arc::new(AtomicBool::new(false));
    let answers = {
        let (dropping, dropped) = (Arc::clone(&dropping), Arc::clone(&dropped));
        let mut client_out = client_out;
        thread::spawn(move || {
            let mut buf = [0u8; 16 * 1024];
            loop {
                match server_in.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) if !dropping.load(Ordering::SeqCst) => {
                        if client_out.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    Ok(_) => dropped.store(true, Ordering::SeqCst),
                }
            }
            let _ = client_out.shutdown(Shutdown::Both);
        })
    };
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        match shared.verdict(&buf[..n]) {
            None => {
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Some(forward) => {
                shared.cuts.fetch_add(1, Ordering::SeqCst);
                dropping.store(true, Ordering::SeqCst);
                if forward && server.write_all(&buf[..n]).is_ok() {
                    // The command runs; its answer is read and dropped.
                    let start = std::time::Instant::now();
                    while !dropped.load(Ordering::SeqCst) && start.elapsed() < ANSWER_TIME {
                        thread::sleep(Duration::from_millis(1));
                    }
                }
                break;
            }
        }
    }
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    let _ = answers.join();
}
