//! A forward proxy on 127.0.0.1 for tests, with the standard library only: it records the
//! request line and headers of every request it receives, opens CONNECT tunnels (or refuses
//! them with a status of your choice) and pipes the bytes, keeping what the client sent
//! through each tunnel. Anything but CONNECT is recorded and answered 502: it forwards no
//! plain request.
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
    let request = read_head(&mut client)?;
    let target = request
        .line
        .strip_prefix("CONNECT ")
        .and_then(|rest| rest.split(' ').next())
        .map(str::to_owned);
    shared.requests.lock().unwrap().push(request);
    let (Some(target), None) = (target, shared.refuse) else {
        let status = shared.refuse.unwrap_or("502 Bad Gateway");
        let challenge = if status.starts_with("407") {
            "Proxy-Authenticate: Basic realm=\"test\"\r\n"
        } else {
            ""
        };
        return client.write_all(
            format!(
                "HTTP/1.1 {status}\r\n{challenge}Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        );
    };
    let server = match TcpStream::connect(&target) {
        Ok(server) => server,
        Err(_) => {
            return client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        }
    };
    client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    let (client_in, server_out) = (client.try_clone()?, server.try_clone()?);
    thread::scope(|scope| {
        scope.spawn(|| pipe(client_in, server_out, Some(&shared.tunnelled)));
        pipe(server, client, None);
    });
    Ok(())
}

/// Copies `from` to `to` until `from` ends, keeping the bytes in `keep`; then ends `to`.
fn pipe(mut from: TcpStream, mut to: TcpStream, keep: Option<&Mutex<Vec<u8>>>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        if let Some(keep) = keep {
            keep.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

/// Reads a request head byte by byte, so that nothing after it is consumed.
fn read_head(stream: &mut TcpStream) -> io::Result<ProxyRequest> {
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
    Ok(ProxyRequest { line, headers })
}
