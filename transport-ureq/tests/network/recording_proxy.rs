//! A forward proxy on 127.0.0.1 for tests, with the standard library only, as a real one
//! behaves: it records the request line and headers of every request it receives, opens
//! CONNECT tunnels (or refuses them with a status of your choice) and pipes the bytes, and
//! forwards plain requests (`POST http://host:port/path HTTP/1.1`) to their server. It keeps
//! every byte a client sent it ([`RecordingProxy::received`]): heads, bodies, tunnelled
//! bytes; [`RecordingProxy::assert_never_received`] searches them for a secret in every
//! spelling.
//!
//! Shared by the transports' tests and the CLI's (`#[path]`), so it depends on nothing.
#![allow(dead_code)] // each test crate uses its own part

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};

/// One request the proxy received.
#[derive(Debug, Clone)]
pub struct ProxyRequest {
    /// `CONNECT 127.0.0.1:443 HTTP/1.1`, `POST http://… HTTP/1.1`…
    pub line: String,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
}

impl ProxyRequest {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The proxy; stops and joins its accept thread on drop.
pub struct RecordingProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    /// `None`: tunnel; `Some("407 Proxy Authentication Required")`: refuse with it.
    refuse: Option<&'static str>,
    requests: Mutex<Vec<ProxyRequest>>,
    /// Every byte clients sent into tunnels, in arrival order.
    tunnelled: Mutex<Vec<u8>>,
    /// Every byte clients sent to the proxy (heads, bodies, tunnels), in arrival order.
    received: Mutex<Vec<u8>>,
    stop: AtomicBool,
}

impl RecordingProxy {
    /// A proxy that opens every CONNECT tunnel asked for.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// A proxy that answers every request with `status` (e.g.
    /// `"407 Proxy Authentication Required"`), after recording it.
    pub fn refusing(status: &'static str) -> Self {
        Self::spawn(Some(status))
    }

    fn spawn(refuse: Option<&'static str>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            refuse,
            requests: Mutex::new(Vec::new()),
            tunnelled: Mutex::new(Vec::new()),
            received: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let state = Arc::clone(&shared);
        let accept = thread::spawn(move || {
            for client in listener.incoming() {
                if state.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let state = Arc::clone(&state);
                thread::spawn(move || {
                    let _ = serve(client, &state);
                });
            }
        });
        Self {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://user:password@127.0.0.1:PORT`, the credentials written as given.
    pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@{}", self.addr)
    }

    /// The requests received so far. A client that went through the proxy got its answer
    /// after its request was recorded.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Every byte clients sent through tunnels so far. Bytes are kept before they are
    /// passed on, so whatever a server answered is here.
    pub fn tunnelled(&self) -> Vec<u8> {
        self.shared.tunnelled.lock().unwrap().clone()
    }

    /// Every byte clients sent to the proxy so far: request heads, the bodies of the plain
    /// requests it forwarded, and what went through tunnels.
    pub fn received(&self) -> Vec<u8> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Panics, naming the spelling, if `secret` is anywhere in what clients sent the proxy,
    /// in any of [`spellings`].
    pub fn assert_never_received(&self, secret: &str) {
        let received = self.received();
        for spelling in spellings(secret) {
            assert!(
                !contains(&received, spelling.as_bytes()),
                "the proxy received the secret as `{spelling}` in:\n{}",
                String::from_utf8_lossy(&received)
            );
        }
    }
}

/// Every spelling of `secret` looked for: the text as is, form-encoded (`%XX` in either hex
/// case, a space as `+`) and JSON-escaped; and each of those as a list of byte values, as
/// hex (either case) and as base64 (the three alignments a secret can start at in a longer
/// base64 text, without the characters its neighbours share).
pub fn spellings(secret: &str) -> Vec<String> {
    let form: String = secret
        .bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    let json: String = secret
        .chars()
        .map(|c| match c {
            '"' => "\\\"".to_owned(),
            '\\' => "\\\\".to_owned(),
            '/' => "\\/".to_owned(),
            c if (c as u32) < 0x20 => format!("\\u{:04x}", c as u32),
            c => c.to_string(),
        })
        .collect();
    let texts = [
        secret.to_owned(),
        form.clone(),
        // Only the %XX escapes change case.
        lower_escapes(&form),
        json.clone(),
        json.replace("\\/", "/"),
    ];
    let mut all = Vec::new();
    for text in texts {
        let bytes = text.as_bytes();
        let list = |sep: &str| {
            bytes
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(sep)
        };
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        all.extend([list(", "), list(","), hex.to_uppercase(), hex]);
        all.extend(base64_cores(bytes));
        all.push(text);
    }
    all.sort();
    all.dedup();
    all
}

/// `form` with the hex digits of its `%XX` escapes in lower case.
fn lower_escapes(form: &str) -> String {
    let mut out = String::new();
    let mut rest = form;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let escape = rest.get(at..at + 3).unwrap_or(&rest[at..]);
        out.push_str(&escape.to_ascii_lowercase());
        rest = &rest[at + escape.len()..];
    }
    out.push_str(rest);
    out
}

/// The base64 characters that encode `bytes` whatever precedes them, for each of the three
/// offsets they can start at in a longer text (standard and URL-safe alphabets).
fn base64_cores(bytes: &[u8]) -> Vec<String> {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut cores = Vec::new();
    for pad in 0..3 {
        let mut padded = vec![0u8; pad];
        padded.extend_from_slice(bytes);
        let mut text = String::new();
        for chunk in padded.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                text.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            }
        }
        // Characters mixing in padding (before) or unknown next bytes (after) are dropped.
        let skip = [0, 2, 3][pad];
        let tail = (bytes.len() + pad) % 3;
        let end = text.len() - if tail == 0 { 0 } else { 1 };
        if let Some(core) = text.get(skip..end).filter(|core| core.len() >= 8) {
            cores.push(core.to_owned());
            cores.push(core.replace('+', "-").replace('/', "_"));
        }
    }
    cores
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn serve(mut client: TcpStream, shared: &Shared) -> io::Result<()> {
    let (request, head) = read_head(&mut client)?;
    shared.received.lock().unwrap().extend_from_slice(&head);
    let connect = request
        .line
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split(' ').next())
        .map(str::to_owned);
    let forward = forward_target(&request.line);
    shared.requests.lock().unwrap().push(request);
    if let Some(status) = shared.refuse {
        let challenge = if status.starts_with("407") {
            "Proxy-Authenticate: Basic realm=\"test\"\r\n"
        } else {
            ""
        };
        client.write_all(
            format!(
                "HTTP/1.1 {status}\r\n{challenge}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )?;
        // Whatever else the client sends (a request body) is received all the same.
        client.set_read_timeout(Some(std::time::Duration::from_millis(500)))?;
        let mut rest = Vec::new();
        let _ = client.read_to_end(&mut rest);
        shared.received.lock().unwrap().extend_from_slice(&rest);
        return Ok(());
    }
    if let Some(target) = connect {
        let Ok(server) = TcpStream::connect(&target) else {
            return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        };
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        relay(client, server, shared, Some(&shared.tunnelled))
    } else if let Some((target, line)) = forward {
        // A plain request, forwarded as a real proxy does: its head in origin form, then
        // whatever follows (the body, more requests) piped as it comes.
        let Ok(mut server) = TcpStream::connect(&target) else {
            return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        };
        let first_line_end = head.iter().position(|&b| b == b'\r').unwrap_or(0);
        let mut origin_form_head = line.into_bytes();
        origin_form_head.extend_from_slice(&head[first_line_end..]);
        server.write_all(&origin_form_head)?;
        relay(client, server, shared, None)
    } else {
        client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    }
}

/// `POST http://host:port/path HTTP/1.1` → (`host:port`, `POST /path HTTP/1.1`).
fn forward_target(line: &str) -> Option<(String, String)> {
    let mut parts = line.split(' ');
    let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
    let rest = uri.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(at) => rest.split_at(at),
        None => (rest, "/"),
    };
    let authority = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Some((authority, format!("{method} {path} {version}")))
}

/// Pipes `client` and `server` both ways until each side ends; what the client sends is
/// kept in `received` (and in `tunnel`, if given).
fn relay(
    client: TcpStream,
    server: TcpStream,
    shared: &Shared,
    tunnel: Option<&Mutex<Vec<u8>>>,
) -> io::Result<()> {
    let (client_in, server_out) = (client.try_clone()?, server.try_clone()?);
    thread::scope(|scope| {
        scope.spawn(|| pipe(client_in, server_out, &[Some(&shared.received), tunnel]));
        pipe(server, client, &[]);
    });
    Ok(())
}

/// Copies `from` to `to` until `from` ends, keeping the bytes in each of `keep`; then ends
/// `to`.
fn pipe(mut from: TcpStream, mut to: TcpStream, keep: &[Option<&Mutex<Vec<u8>>>]) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        for keep in keep.iter().flatten() {
            keep.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Reads a request head byte by byte, so that nothing after it is consumed: the request
/// and the head's bytes.
fn read_head(stream: &mut TcpStream) -> io::Result<(ProxyRequest, Vec<u8>)> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok((ProxyRequest { line, headers }, head))
}
