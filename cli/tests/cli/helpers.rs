//! Running the built `zuora-token` binary in a clean environment, the mock server it
//! talks to, and what a library process sharing its store sees: its Redis entry and its
//! cache files, keyed and sealed by the driver's [`Sealer`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use tempfile::TempDir;
use zuora_oauth_core::{ClientId, ClientSecret, Environment, LeaseId, TokenRecord, TokenRequest};
use zuora_oauth_driver::store::{Sealer, StoreCall, StoreError, TokenStore};
use zuora_oauth_redis::RedisStore;
use zuora_oauth_testkit::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, MockServer};

/// A client ID registered on the test servers (36 characters).
pub const CLIENT_ID: &str = "0c6f1d2e-3a4b-4c5d-8e9f-a0b1c2d3e4f5";
/// Its secret: distinctive (so a leak is unmistakable) and with `+`, `/` and `=`, as real
/// Zuora secrets have.
pub const SECRET: &str = "Xq7+LeakCanary/9zZ=Sec+ret/42Wp";
/// [`SECRET`] as it appears in the form body.
pub const SECRET_FORM_ENCODED: &str = "Xq7%2BLeakCanary%2F9zZ%3DSec%2Bret%2F42Wp";
/// The part of [`SECRET`] that no legitimate output contains.
pub const SECRET_MARKER: &str = "LeakCanary";
/// Another valid-looking client ID that no test server knows.
pub const UNKNOWN_CLIENT_ID: &str = "ffffffff-0000-4000-8000-000000000000";

/// A mock server that knows [`CLIENT_ID`] / [`SECRET`].
pub fn server() -> MockServer {
    MockServer::builder()
        .client(CLIENT_ID, SECRET)
        .start()
        .expect("mock server starts")
}

/// A temporary home folder (`HOME`, with `XDG_CACHE_HOME` = `<home>/cache`), shared by the
/// runs made from it.
pub struct Home {
    dir: TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary folder"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `$XDG_CACHE_HOME` of the runs.
    pub fn xdg_cache(&self) -> PathBuf {
        self.path().join("cache")
    }

    /// Where `--cache` keeps its files.
    pub fn cache_dir(&self) -> PathBuf {
        self.xdg_cache().join("zuora-token")
    }

    /// The token files (`<key>.token`) in the cache folder.
    pub fn cache_files(&self) -> Vec<PathBuf> {
        list(&self.cache_dir(), |name| {
            name.ends_with(".token") && !name.starts_with('.')
        })
    }

    /// Where `--cache` keeps the token of `sealer`'s credentials: `<key>.token`.
    pub fn cache_file(&self, sealer: &Sealer) -> PathBuf {
        self.cache_dir().join(format!("{}.token", sealer.key()))
    }

    /// Every entry in the cache folder, hidden ones included.
    pub fn cache_entries(&self) -> Vec<PathBuf> {
        list(&self.cache_dir(), |_| true)
    }

    /// A run of `zuora-token` with this home.
    pub fn cli(&self) -> Cli {
        Cli::with_home(self.path(), &self.xdg_cache())
    }
}

fn list(dir: &Path, keep: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(&keep))
        .collect();
    files.sort();
    files
}

/// One invocation of the binary, built up like a `Command`.
pub struct Cli {
    cmd: Command,
    stdin: Option<Vec<u8>>,
    /// Where stdout goes instead of a pipe ([`Outcome::stdout`] is then empty).
    stdout: Option<Stdio>,
    /// A home of its own, when not given one.
    _home: Option<Home>,
}

impl Cli {
    /// A run with a fresh temporary home.
    pub fn new() -> Self {
        let home = Home::new();
        let mut cli = home.cli();
        cli._home = Some(home);
        cli
    }

    fn with_home(home: &Path, xdg_cache: &Path) -> Self {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_zuora-token"));
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home)
            .env("XDG_CACHE_HOME", xdg_cache);
        Self {
            cmd,
            stdin: None,
            stdout: None,
            _home: None,
        }
    }

    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Sends stdout to `out` instead of capturing it.
    pub fn stdout_to(mut self, out: Stdio) -> Self {
        self.stdout = Some(out);
        self
    }

    /// `--base-url <the server>`.
    pub fn target(self, server: &MockServer) -> Self {
        self.arg("--base-url").arg(server.base_url())
    }

    /// [`CLIENT_ID`] and [`SECRET`] in the environment variables.
    pub fn creds(self) -> Self {
        self.env("ZUORA_CLIENT_ID", CLIENT_ID)
            .env("ZUORA_CLIENT_SECRET", SECRET)
    }

    /// Target and credentials for `server`.
    pub fn against(self, server: &MockServer) -> Self {
        self.target(server).creds()
    }

    /// Starts the run without waiting for it (stdout and stderr piped, stdin closed).
    pub fn spawn(mut self) -> std::process::Child {
        self.cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("zuora-token starts")
    }

    /// Runs to completion. Whatever the scenario, the client secrets must appear in no
    /// output: checked here for every run of every test.
    pub fn run(self) -> Outcome {
        self.run_inner(None)
    }

    /// Like [`run`](Self::run), but a run still going after `limit` is killed and the test
    /// fails: for runs that must not hang (a FIFO where a file was expected…).
    pub fn run_within(self, limit: Duration) -> Outcome {
        self.run_inner(Some(limit))
    }

    fn run_inner(mut self, limit: Option<Duration>) -> Outcome {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(self.stdout.take().unwrap_or_else(Stdio::piped))
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("zuora-token starts");
        if let Some(bytes) = self.stdin.take() {
            let mut stdin = child.stdin.take().expect("piped stdin");
            // The program may exit without reading it all; that is not a test failure.
            let _ = stdin.write_all(&bytes);
        }
        if let Some(limit) = limit {
            let deadline = Instant::now() + limit;
            while child.try_wait().expect("zuora-token runs").is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let output = child.wait_with_output().expect("zuora-token is killed");
                    panic!(
                        "zuora-token still running after {limit:?} (killed): stderr {:?}",
                        String::from_utf8_lossy(&output.stderr)
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let output = child.wait_with_output().expect("zuora-token runs");
        let outcome = Outcome {
            code: output.status.code().expect("zuora-token exits with a code"),
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        };
        for secret in [SECRET, DEMO_CLIENT_SECRET] {
            assert_no_spelling("stdout", &outcome.stdout, secret);
            assert_no_spelling("stderr", &outcome.stderr, secret);
        }
        outcome.assert_no_secret(SECRET_FORM_ENCODED);
        outcome.assert_no_secret(SECRET_MARKER);
        outcome
    }
}

/// What a run did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn assert_no_secret(&self, secret: &str) {
        assert!(
            !self.stdout.contains(secret) && !self.stderr.contains(secret),
            "a secret leaked into the output: {self:?}"
        );
    }

    /// Exit 0, nothing on stderr; returns stdout.
    #[track_caller]
    pub fn success(&self) -> &str {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        assert_eq!(self.stderr, "", "expected a quiet success: {self:?}");
        &self.stdout
    }

    /// Exit 0 and stdout is one access token; returns it.
    #[track_caller]
    pub fn token(&self) -> &str {
        let out = self.success();
        let token = out
            .strip_suffix('\n')
            .expect("one line, newline-terminated");
        assert!(
            !token.is_empty() && !token.contains(char::is_whitespace),
            "not a token: {out:?}"
        );
        token
    }

    /// A runtime failure: this exit code, nothing on stdout, one `error:` line on stderr.
    /// Returns the line.
    #[track_caller]
    pub fn failure(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        assert_eq!(self.stdout, "", "stdout must be empty on failure: {self:?}");
        let line = self.stderr.strip_suffix('\n').unwrap_or(&self.stderr);
        assert!(
            line.starts_with("error: ") && !line.contains('\n'),
            "expected one `error:` line: {self:?}"
        );
        line
    }

    /// A usage error (exit 2) reported by clap or by zuora-token: nothing on stdout, a
    /// message starting with `error:`.
    #[track_caller]
    pub fn usage_error(&self) -> &str {
        assert_eq!(self.code, 2, "expected a usage error: {self:?}");
        assert_eq!(self.stdout, "", "stdout must be empty on failure: {self:?}");
        assert!(self.stderr.starts_with("error: "), "{self:?}");
        &self.stderr
    }
}

/// The request of a run with `client_id` and `secret` against `base_url`.
pub fn request(base_url: &str, client_id: &str, secret: &str) -> TokenRequest {
    TokenRequest::new(
        Environment::custom(base_url).expect("a valid base URL"),
        ClientId::new(client_id).expect("a valid client ID"),
        ClientSecret::new(secret).expect("a valid secret"),
    )
}

/// What keys and seals the tokens of runs against `server` with [`CLIENT_ID`] and
/// [`SECRET`] (and of the library's sources with the same request and no label).
pub fn sealer_for(server: &MockServer) -> Sealer {
    sealer_of(&server.base_url(), CLIENT_ID, SECRET)
}

/// The sealer of runs with `client_id` and `secret` against `base_url`.
pub fn sealer_of(base_url: &str, client_id: &str, secret: &str) -> Sealer {
    Sealer::new(&request(base_url, client_id, secret), "")
}

/// The sealer of `--mock` runs: each run's mock server has another port, so the CLI keys
/// their tokens with a stand-in target and a label of their own (`mock_key` and
/// `MOCK_LABEL` in `cli/src/store.rs`).
pub fn mock_sealer() -> Sealer {
    Sealer::new(
        &request("http://localhost", DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
        "zuora-token --mock",
    )
}

/// The first line of every `--cache` token file.
pub const CACHE_FORMAT: &str = "zuora-token-cache/4";

/// The sealed value in a `--cache` token file (the format line, then base64). Panics if
/// the file is not in that format.
#[track_caller]
pub fn cache_value(path: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(path).expect("a readable cache file");
    let (format, value) = text.split_once('\n').expect("a format line");
    assert_eq!(format, CACHE_FORMAT, "{path:?}");
    BASE64
        .decode(value.trim_end())
        .expect("base64 after the format line")
}

/// Writes `value` as a `--cache` token file at `path`, private to this user (mode 0600,
/// so that a run trusts it as its own).
#[cfg(unix)]
pub fn write_cache_value(path: &Path, value: &[u8]) {
    use std::os::unix::fs::PermissionsExt;
    let content = format!("{CACHE_FORMAT}\n{}\n", BASE64.encode(value));
    std::fs::write(path, content).expect("the cache file is written");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// The record in the `--cache` token file at `path`, opened with `sealer`; `None` if it
/// does not open.
#[track_caller]
pub fn read_cache_record(path: &Path, sealer: &Sealer) -> Option<TokenRecord> {
    sealer.open(&cache_value(path))
}

/// Seals `record` with `sealer` into the `--cache` token file at `path`.
#[cfg(unix)]
pub fn write_cache_record(path: &Path, sealer: &Sealer, record: &TokenRecord) {
    write_cache_value(path, &sealer.seal(record).expect("the record is sealed"));
}

/// A library process's view of a Redis store: the same [`RedisStore`] and [`Sealer`] a
/// token source with the same request (and no label) uses.
pub struct LibraryStore {
    store: RedisStore,
    sealer: Sealer,
}

impl LibraryStore {
    /// The store at `url`, for the tokens of runs against `server` with [`CLIENT_ID`] and
    /// [`SECRET`].
    pub fn for_server(server: &MockServer, url: &str) -> Self {
        Self::new(url, sealer_for(server))
    }

    /// The store at `url`, for `sealer`'s tokens.
    pub fn new(url: &str, sealer: Sealer) -> Self {
        Self {
            store: RedisStore::at(url).expect("a valid Redis URL"),
            sealer,
        }
    }

    fn call(&self) -> StoreCall<'_> {
        StoreCall::new(self.sealer.key(), Duration::from_secs(5))
    }

    /// The shared record, if there is one that opens. Panics if Redis fails.
    #[track_caller]
    pub fn load(&self) -> Option<TokenRecord> {
        let value = self.store.load(&self.call()).expect("Redis answers");
        value.map(|v| self.sealer.open(&v).expect("a record sealed for this key"))
    }

    /// Seals and saves `record` for `ttl`, as a source does after a fetch.
    #[track_caller]
    pub fn save(&self, record: &TokenRecord, ttl: Duration) {
        let sealed = self.sealer.seal(record).expect("the record is sealed");
        self.store
            .save(&self.call(), &sealed, ttl, None)
            .expect("Redis answers");
    }

    /// Takes the fetch lease, as a source about to fetch does.
    pub fn try_lease(&self, lease: LeaseId, ttl: Duration) -> Result<bool, StoreError> {
        self.store.try_lease(&self.call(), lease, ttl)
    }

    /// The Redis keys of the record and of the lease.
    pub fn keys(&self) -> (String, String) {
        self.store.keys(self.sealer.key())
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (the CLI's `expires_at`) into a time, with the inverse of
/// the CLI's algorithm (Howard Hinnant's `days_from_civil`), as a cross-check.
pub fn parse_rfc3339_utc(s: &str) -> SystemTime {
    assert_eq!(s.len(), 20, "{s}");
    assert!(s.ends_with('Z') && &s[10..11] == "T", "{s}");
    let n = |r: std::ops::Range<usize>| s[r].parse::<i64>().expect("digits");
    let (y, m, d) = (n(0..4), n(5..7), n(8..10));
    let (hh, mm, ss) = (n(11..13), n(14..16), n(17..19));
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).expect("after 1970"))
}

/// `a - b` as signed seconds.
pub fn secs_between(a: SystemTime, b: SystemTime) -> f64 {
    match a.duration_since(b) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

/// Every spelling of `secret` a leak check looks for: the text as is, form-encoded (either
/// hex case) and JSON-escaped, and each of those as a list of byte values, as hex (either
/// case) and as base64 (at each of the three alignments a longer text can give it).
pub fn spellings(secret: &str) -> Vec<String> {
    let form = |upper: bool| -> String {
        secret
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                    char::from(b).to_string()
                }
                b' ' => "+".to_owned(),
                _ if upper => format!("%{b:02X}"),
                _ => format!("%{b:02x}"),
            })
            .collect()
    };
    let json = serde_json::to_string(secret).expect("a string serializes");
    let json = json.trim_matches('"');
    let texts = [
        secret.to_owned(),
        form(true),
        form(false),
        json.to_owned(),
        // JSON may escape `/` too.
        json.replace('/', "\\/"),
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
    all.retain(|s| !s.is_empty());
    all.sort();
    all.dedup();
    all
}

/// The base64 characters that `bytes` always produces inside a longer text, at each of the
/// three alignments it may start at (the characters mixed with its neighbours dropped).
fn base64_cores(bytes: &[u8]) -> Vec<String> {
    (0..3)
        .map(|pad| {
            let mut padded = vec![0u8; pad];
            padded.extend_from_slice(bytes);
            let encoded = base64(&padded);
            let encoded = encoded.trim_end_matches('=');
            // The first characters mix the padding in; the last may mix in what follows.
            let skip = if pad == 0 { 0 } else { (pad * 8).div_ceil(6) };
            let whole = (padded.len() / 3) * 4;
            encoded
                .get(skip..whole.max(skip))
                .unwrap_or_default()
                .to_owned()
        })
        .filter(|core| core.len() >= 8)
        .collect()
}

/// Standard base64 (no dependency for one helper).
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Fails if `text` holds any spelling of `secret` ([`spellings`]); `what` names the text.
#[track_caller]
pub fn assert_no_spelling(what: &str, text: &str, secret: &str) {
    for spelling in spellings(secret) {
        assert!(
            !text.contains(&spelling),
            "{what} holds {spelling:?}, a spelling of a secret"
        );
    }
}
