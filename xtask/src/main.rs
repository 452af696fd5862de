//! `cargo xtask test`: every check CI runs, in order, installing what is missing.
//!
//! Steps: formatting, clippy, `redis-server` (installed when missing), the native test
//! suite, the loom model of the driver's bearer value, docs, then the release checks (see below), the core on wasm32, the wasm
//! adapter's tests in Node, headless Chromium and a dedicated worker (against the mock
//! server, started here), the fuzz smoke run and the custom-runtime example.
//!
//! The release checks, what a user who depends on the published crates relies on:
//!
//! - **MSRV**: every locked dependency's `rust-version` is at most that of each published
//!   crate that uses it (clippy's `incompatible_msrv`, denied in every clippy run here,
//!   checks the std APIs each crate calls against its own `rust-version`);
//! - **feature powerset**: `cargo hack check` and `cargo hack clippy --all-targets` on every
//!   combination of features (`--no-default-features` included) of every published crate,
//!   and on wasm32 for the crates that target it (cargo-hack installed when missing);
//! - **public API**: each library crate's API, listed from nightly rustdoc's JSON, equals
//!   its snapshot in `api/<crate>.txt` (`cargo xtask public-api --bless` rewrites them);
//! - **packaging**: `cargo publish --workspace --dry-run`, which builds every crate from
//!   the `.crate` file it would upload.
//!
//! Every cargo call here that reads `Cargo.lock` passes `--locked`, so the checks run on the
//! dependency versions that are committed (the `xtask` alias itself runs with `--locked`).
//!
//! `cargo xtask test --native` skips everything that needs wasm tooling or a browser (the
//! fuzz smoke run still runs); `cargo xtask test --wasm` runs only that part.
//!
//! `cargo xtask release-checks` runs only the release checks (native and wasm32).
//!
//! `cargo xtask public-api [--bless]` compares the public API snapshots (or rewrites them).
//!
//! `cargo xtask fuzz-smoke` runs only the fuzz smoke run: each target of `fuzz/` for
//! 25 seconds from its committed seeds, on the nightly toolchain with cargo-fuzz (both
//! installed when missing). See fuzz/README.md.
//!
//! `cargo xtask wasm-size` builds the wasm adapter's size probe (a small module that fetches
//! and caches a token) the way BENCHMARKS.md says, with the stable recipe and with the
//! smallest one (nightly `build-std`, panic immediate-abort; skipped without a nightly
//! toolchain), prints their raw, optimised and gzipped sizes, and fails if the stable
//! module is past its mark (`WASM_SIZE_MARK`). It also sizes, with both recipes, a module
//! that calls the API (`size_api_probe`: the probe's source behind an `AuthorizedFetch`) and
//! the floor under the probe (`size_floor`: the same function written by hand on `fetch`,
//! without the library). `cargo xtask test --wasm` checks the mark too.
#![forbid(unsafe_code)]

mod public_api;

use std::collections::BTreeMap;
use std::env;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// The wasm adapter, whose tests run in Node, headless Chromium and a dedicated worker.
const WASM_CRATE: &str = "zuora-oauth-wasm";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("wasm-size") => wasm_size(),
        Some("release-checks") => in_workspace_root().and_then(|()| {
            release_checks_native()?;
            step("wasm32 target", ensure_wasm_target)?;
            release_checks_wasm()
        }),
        Some("public-api") => in_workspace_root().and_then(|()| {
            let bless = args[1..].iter().any(|a| a == "--bless");
            step("public API snapshots", || public_api_check(bless))
        }),
        Some("fuzz-smoke") => in_workspace_root().and_then(|()| step("fuzz smoke", fuzz_smoke)),
        _ => Err(
            "usage: cargo xtask test [--native | --wasm] | cargo xtask release-checks | \
             cargo xtask public-api [--bless] | cargo xtask wasm-size | cargo xtask fuzz-smoke"
                .into(),
        ),
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
    let wasm_only = args.iter().any(|a| a == "--wasm");
    in_workspace_root()?;
    if wasm_only {
        eprintln!("xtask: --wasm: only the wasm and browser steps");
        return wasm_steps();
    }

    // `cargo fmt` reads no lock file (and takes no `--locked`).
    step("format", || cargo(&["fmt", "--all", "--check"]))?;
    step("clippy", || {
        cargo(&[
            "clippy",
            "--locked",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
            "-D",
            "clippy::incompatible_msrv",
        ])
    })?;
    step("redis-server and redis-cli", ensure_redis)?;
    step("tests", || {
        cargo(&["test", "--locked", "--workspace", "--all-features"])
    })?;
    step("loom: the driver's bearer-value sequence lock", loom_model)?;
    step("docs", || {
        run(Command::new("cargo")
            .args([
                "doc",
                "--locked",
                "--workspace",
                "--no-deps",
                "--all-features",
            ])
            .env("RUSTDOCFLAGS", "-Dwarnings"))
    })?;
    release_checks_native()?;
    if native_only {
        eprintln!("xtask: --native: skipping wasm and browser steps");
        return step("fuzz smoke", fuzz_smoke);
    }
    wasm_steps()?;
    step("fuzz smoke", fuzz_smoke)
}

/// Makes the workspace root the current directory (the paths here are relative to it).
fn in_workspace_root() -> Result {
    let root = workspace_root();
    env::set_current_dir(&root).map_err(|e| format!("cd {}: {e}", root.display()))
}

/// The features the host's powerset leaves out: `default`, which only names other features
/// (see [`WASM32_CRATES`]); the driver's `__hyper`, internal to the transports that enable
/// it (built with each of them); the facade's `wasm`, whose crate only holds documentation
/// off wasm32 (its combinations are checked on wasm32, [`WASM32_CRATES`]).
const NATIVE_EXCLUDED_FEATURES: &str = "default,__hyper,wasm";

/// The release checks that need no wasm tooling: MSRV, the feature powerset on the host
/// (but [`NATIVE_EXCLUDED_FEATURES`]), the public API snapshots and the packaging dry run.
fn release_checks_native() -> Result {
    step("MSRV: dependencies' rust-version", msrv_check)?;
    step("cargo-hack", ensure_cargo_hack)?;
    step("feature powerset: check", || {
        cargo(&[
            "hack",
            "check",
            "--locked",
            "--workspace",
            "--ignore-private",
            "--feature-powerset",
            "--exclude-features",
            NATIVE_EXCLUDED_FEATURES,
        ])
    })?;
    step("feature powerset: clippy, all targets", || {
        cargo(&[
            "hack",
            "clippy",
            "--locked",
            "--workspace",
            "--ignore-private",
            "--feature-powerset",
            "--exclude-features",
            NATIVE_EXCLUDED_FEATURES,
            "--all-targets",
            "--",
            "-D",
            "warnings",
            "-D",
            "clippy::incompatible_msrv",
        ])
    })?;
    step("public API snapshots", || public_api_check(false))?;
    // `--allow-dirty`: nothing is uploaded, and a local run with uncommitted changes checks
    // them too (CI's clone is clean anyway).
    step("packaging: cargo publish --workspace --dry-run", || {
        remove_unpacked_workspace_packages()?;
        cargo(&[
            "publish",
            "--locked",
            "--workspace",
            "--dry-run",
            "--allow-dirty",
        ])
    })
}

/// The crates that build for wasm32, with the features that do not (the driver's `tls`
/// reads the operating system's certificate store, its `tokio` spawns `Send` tasks on
/// tokio, its `__hyper` serves the native transports; the facade's native transports and
/// Redis store need sockets). `default` is left out everywhere: it only names other
/// features (the driver's `store`, the testkit's `bin`), so cargo-hack would check the
/// same sets twice.
const WASM32_CRATES: [(&str, &str); 4] = [
    ("zuora-oauth-core", "default"),
    ("zuora-oauth-driver", "default,tls,tokio,__hyper"),
    (WASM_CRATE, "default"),
    ("zuora-oauth", "default,hyper,ureq,reqwest,redis"),
];

/// The feature powerset on wasm32 (check and clippy) and the wasm adapter's docs as docs.rs
/// builds them.
fn release_checks_wasm() -> Result {
    step("cargo-hack", ensure_cargo_hack)?;
    for (krate, excluded) in WASM32_CRATES {
        step(&format!("feature powerset on wasm32: {krate}"), || {
            let hack = |subcommand: &str| {
                let mut cmd = Command::new("cargo");
                cmd.args(["hack", subcommand, "--locked", "-p", krate])
                    .args(["--target", WASM_TARGET, "--feature-powerset"])
                    .args(["--exclude-features", excluded]);
                cmd
            };
            run(&mut hack("check"))?;
            let mut clippy = hack("clippy");
            // Only the wasm adapter's tests and examples build for wasm32 (the others'
            // tests start servers on sockets).
            if krate == WASM_CRATE {
                clippy.arg("--all-targets");
            }
            run(clippy.args(["--", "-D", "warnings", "-D", "clippy::incompatible_msrv"]))
        })?;
    }
    step(
        "docs on wasm32 (docs.rs's target for the wasm adapter)",
        || {
            run(Command::new("cargo")
                .args([
                    "doc",
                    "--locked",
                    "-p",
                    WASM_CRATE,
                    "--no-deps",
                    "--all-features",
                ])
                .args(["--target", WASM_TARGET])
                .env("RUSTDOCFLAGS", "-Dwarnings"))
        },
    )
}

/// The wasm32 build, the wasm32 release checks (lints included) and the wasm adapter's
/// tests in Node, Chromium and a worker.
fn wasm_steps() -> Result {
    step("wasm32 target", ensure_wasm_target)?;
    step("core on wasm32", || {
        cargo(&[
            "build",
            "--locked",
            "-p",
            "zuora-oauth-core",
            "--target",
            WASM_TARGET,
        ])
    })?;
    // Clippy on wasm32 (every feature combination) is part of these.
    release_checks_wasm()?;
    step("wasm-bindgen-cli", ensure_wasm_bindgen_cli)?;
    let chromedriver = step_with("chromium and chromedriver", ensure_chromium)?;
    step(
        "wasm adapter tests (Node, headless Chromium, dedicated worker)",
        || wasm_tests(&chromedriver),
    )?;
    step("wasm size (the probe against its mark)", wasm_size_mark)?;
    step("wasm size probes answer (Node)", probes_answer)?;
    Ok(())
}

/// Runs one named step, timing it.
fn step(name: &str, f: impl FnOnce() -> Result) -> Result {
    step_with(name, f)
}

/// Runs one named step that produces a value, timing it.
fn step_with<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("\n==> {name}");
    let start = Instant::now();
    let value = f().map_err(|e| format!("step `{name}` failed: {e}"))?;
    eprintln!("<== {name}: ok in {:.1} s", start.elapsed().as_secs_f64());
    Ok(value)
}

/// The driver's bearer-value sequence lock under loom's model checker (`driver/loom`), built
/// with `--cfg zuora_loom` in a target directory of its own (other flags would rebuild the
/// main one).
fn loom_model() -> Result {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("loom");
    run(Command::new("cargo")
        .args(["test", "--locked", "-p", "zuora-oauth-loom", "--release"])
        .env("RUSTFLAGS", "--cfg zuora_loom")
        .env("CARGO_TARGET_DIR", target))
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

/// The workspace this xtask was run from: `cargo run` sets `CARGO_MANIFEST_DIR` for the
/// process (read at run time, so that a binary shared through one `CARGO_TARGET_DIR` by two
/// clones works on the clone that ran it), else the directory it was built from.
fn workspace_root() -> PathBuf {
    let manifest = env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest.parent().unwrap_or(&manifest).to_path_buf()
}

fn ensure_wasm_target() -> Result {
    let installed =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// The `wasm-bindgen` version locked in `Cargo.lock` (the test runner must match it).
fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string("Cargo.lock").map_err(|e| format!("Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == r#"name = "wasm-bindgen""#
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

/// Installs wasm-bindgen-cli at the locked `wasm-bindgen` version, unless
/// `wasm-bindgen-test-runner --version` already prints it.
fn ensure_wasm_bindgen_cli() -> Result {
    let version = locked_wasm_bindgen_version()?;
    let installed = output(Command::new("wasm-bindgen-test-runner").arg("--version"));
    let matches = |out: &str| out.split_whitespace().any(|w| w == version);
    match installed {
        Some(out) if matches(&out) => {
            eprintln!("xtask: {} (matches Cargo.lock)", out.trim());
            return Ok(());
        }
        Some(out) => eprintln!(
            "xtask: {} does not match wasm-bindgen {version} in Cargo.lock; installing",
            out.trim()
        ),
        None => eprintln!("xtask: wasm-bindgen-test-runner not found; installing {version}"),
    }
    // Not `--locked`: wasm-bindgen-cli's own lock file names versions the registry here
    // lacks (webpki-roots 1.0.11 for 0.2.130), so `--locked` cannot resolve; the version is
    // pinned to the locked `wasm-bindgen` instead.
    cargo(&["install", "wasm-bindgen-cli", "--version", &version])?;
    match output(Command::new("wasm-bindgen-test-runner").arg("--version")) {
        Some(out) if matches(&out) => Ok(()),
        other => Err(format!(
            "after installing wasm-bindgen-cli {version}, `wasm-bindgen-test-runner --version` \
             prints {other:?}: is ~/.cargo/bin on PATH?"
        )),
    }
}

/// Finds an executable on `PATH`.
fn which(name: &str) -> Option<PathBuf> {
    env::split_paths(&env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Chromium and its WebDriver, for the browser and worker runs; returns chromedriver's path.
/// Installs Debian's `chromium` and `chromium-driver` when missing and running as root.
fn ensure_chromium() -> Result<PathBuf> {
    let find = || {
        let browser = [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ]
        .iter()
        .find_map(|b| which(b));
        let driver = env::var_os("CHROMEDRIVER")
            .map(PathBuf::from)
            .filter(|p| p.is_file())
            .or_else(|| which("chromedriver"));
        browser.zip(driver)
    };
    if let Some((browser, driver)) = find() {
        eprintln!("xtask: {} and {}", browser.display(), driver.display());
        return Ok(driver);
    }
    let root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root || which("apt-get").is_none() {
        return Err(
            "the browser tests need Chromium and chromedriver: install them (Debian: \
                    `apt-get install chromium chromium-driver`, as root) or set CHROMEDRIVER, \
                    or run `cargo xtask test --native` to skip the wasm and browser steps"
                .into(),
        );
    }
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "chromium", "chromium-driver"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    find()
        .map(|(_, driver)| driver)
        .ok_or_else(|| "chromium or chromedriver still missing after apt-get install".into())
}

/// `redis-server` and `redis-cli`, which the Redis store's tests start (one server per test,
/// and a 3-node Cluster, on 127.0.0.1). Installs Debian's `redis-server` package (it brings
/// `redis-cli`) when missing and running as root. Nothing is left running: the package's
/// service is not started without systemd, and the tests stop their servers.
fn ensure_redis() -> Result {
    let found = || which("redis-server").zip(which("redis-cli"));
    if let Some((server, cli)) = found() {
        eprintln!("xtask: {} and {}", server.display(), cli.display());
        return Ok(());
    }
    let root = output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0");
    if !root || which("apt-get").is_none() {
        return Err(
            "the Redis store's tests need redis-server and redis-cli: install them \
                    (Debian: `apt-get install redis-server`, as root)"
                .into(),
        );
    }
    run(Command::new("apt-get").arg("update"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "redis-server"])
        .env("DEBIAN_FRONTEND", "noninteractive"))?;
    found()
        .map(|_| ())
        .ok_or_else(|| "redis-server or redis-cli still missing after apt-get install".into())
}

/// Node 18 or later (for the global `fetch`), which runs the default wasm test run.
fn ensure_node() -> Result {
    let version = output(Command::new("node").arg("--version")).ok_or(
        "Node.js is needed for the wasm tests (Node 18 or later; Debian: `apt-get install nodejs`)",
    )?;
    let major = version
        .trim()
        .trim_start_matches('v')
        .split('.')
        .next()
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(0);
    if major < 18 {
        return Err(format!(
            "Node {} is too old: the wasm tests need Node 18+",
            version.trim()
        ));
    }
    Ok(())
}

/// Runs the wasm adapter's tests against one mock server in Node, headless Chromium and a
/// dedicated worker. The server's URL reaches the tests at compile time (`ZUORA_MOCK_URL`).
fn wasm_tests(chromedriver: &Path) -> Result {
    ensure_node()?;
    let (server, url) = start_mock_server()?;
    eprintln!("xtask: mock Zuora server at {url}");
    let runs: [(&str, &[(&str, &str)]); 3] = [
        ("Node", &[]),
        ("headless Chromium", &[("WASM_BINDGEN_USE_BROWSER", "1")]),
        (
            "a dedicated worker",
            &[("WASM_BINDGEN_USE_DEDICATED_WORKER", "1")],
        ),
    ];
    for (name, vars) in runs {
        eprintln!("\nxtask: wasm tests in {name}");
        let mut cmd = Command::new("cargo");
        cmd.args([
            "test",
            "--locked",
            "-p",
            WASM_CRATE,
            "--target",
            WASM_TARGET,
        ])
        .env("ZUORA_MOCK_URL", &url)
        .env("CHROMEDRIVER", chromedriver);
        for var in [
            "WASM_BINDGEN_USE_BROWSER",
            "WASM_BINDGEN_USE_DEDICATED_WORKER",
            "WASM_BINDGEN_USE_SHARED_WORKER",
            "WASM_BINDGEN_USE_SERVICE_WORKER",
            "WASM_BINDGEN_USE_DENO",
            "WASM_BINDGEN_TEST_ONLY_NODE",
            "WASM_BINDGEN_TEST_ONLY_WEB",
        ] {
            cmd.env_remove(var);
        }
        cmd.envs(vars.iter().copied());
        run(&mut cmd).map_err(|e| format!("wasm tests in {name}: {e}"))?;
    }
    drop(server);
    Ok(())
}

/// A child process stopped when dropped: its stdin is closed first (the mock server is
/// started with `--exit-on-stdin-close`, which also reaches it through `cargo run`), then
/// it is killed if it has not exited after a few seconds.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the mock Zuora server and returns it with its base URL.
fn start_mock_server() -> Result<(Guard, String)> {
    // Build first, so that a build failure is reported as such (and not as a missing URL).
    cargo(&[
        "build",
        "--locked",
        "--quiet",
        "-p",
        "zuora-oauth-testkit",
        "--bin",
        "zuora-mock-server",
    ])?;
    let mut child = Command::new("cargo")
        .args([
            "run",
            "--locked",
            "--quiet",
            "-p",
            "zuora-oauth-testkit",
            "--bin",
            "zuora-mock-server",
            "--",
        ])
        // The tests run in a browser page and workers too: they need CORS, which is opt-in.
        .args(["--port", "0", "--cors", "--exit-on-stdin-close"])
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
        return Err(format!(
            "unexpected first line from zuora-mock-server: {url:?}"
        ));
    }
    Ok((guard, url))
}

/// The fuzz targets in `fuzz/`, a workspace of its own (see fuzz/README.md).
const FUZZ_TARGETS: [&str; 4] = ["parse_response", "validators", "lifecycle", "fleet"];
/// How long each fuzz target runs in the smoke run.
const FUZZ_SMOKE_SECONDS: u32 = 25;

/// Runs each fuzz target for [`FUZZ_SMOKE_SECONDS`] from its committed seeds
/// (`fuzz/seeds/<target>`) and fails on the first crash, whose input libFuzzer leaves in
/// `fuzz/artifacts/<target>/`. Builds into `$CARGO_TARGET_DIR/fuzz` when `CARGO_TARGET_DIR`
/// is set (so that CI can cache it outside the clone), else into `fuzz/target`.
fn fuzz_smoke() -> Result {
    ensure_nightly()?;
    ensure_cargo_fuzz()?;
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .filter(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("fuzz"));
    let cargo_fuzz = |subcommand: &str| {
        // `rustup run nightly` rather than `cargo +nightly`: it works even when the `cargo`
        // on PATH is a toolchain's own binary rather than rustup's proxy (only the proxy
        // understands `+nightly`).
        let mut cmd = Command::new("rustup");
        cmd.args(["run", "nightly", "cargo", "fuzz", subcommand])
            .args(["--sanitizer", "none"]);
        if let Some(dir) = &target_dir {
            cmd.arg("--target-dir").arg(dir);
        }
        cmd
    };
    // cargo-fuzz has no `--locked`: assert first that fuzz/Cargo.lock needs no change, so
    // that its build resolves nothing new.
    run(Command::new("rustup").args([
        "run",
        "nightly",
        "cargo",
        "fetch",
        "--locked",
        "--manifest-path",
        "fuzz/Cargo.toml",
    ]))?;
    // One build for every target (they share every dependency).
    run(&mut cargo_fuzz("build"))?;
    // New inputs go to a scratch corpus, emptied first, so that every run starts from the
    // seeds alone (`fuzz/corpus` is ignored by git).
    let scratch = Path::new("fuzz/corpus/smoke");
    if scratch.exists() {
        std::fs::remove_dir_all(scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    }
    for target in FUZZ_TARGETS {
        let corpus = scratch.join(target);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("{}: {e}", corpus.display()))?;
        let mut cmd = cargo_fuzz("run");
        cmd.arg(target)
            .arg(&corpus)
            .arg(Path::new("fuzz/seeds").join(target))
            .arg("--")
            .arg(format!("-max_total_time={FUZZ_SMOKE_SECONDS}"))
            .args(["-rss_limit_mb=2048", "-print_final_stats=1"]);
        eprintln!("\nxtask: fuzzing {target} for {FUZZ_SMOKE_SECONDS} s");
        let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = log.lines().collect();
        if out.status.success() {
            // libFuzzer logs every new input: show the summary only.
            let summary = [
                "INITED cov:",
                "DONE   cov:",
                "stat::number_of_executed_units",
                "stat::average_exec_per_sec",
            ];
            for line in lines
                .iter()
                .filter(|l| summary.iter().any(|s| l.contains(s)))
            {
                eprintln!("{line}");
            }
            continue;
        }
        // From the first sign of trouble (a panic, a libFuzzer or sanitizer error) to the end.
        let markers = [
            "panicked at",
            "ERROR: libFuzzer",
            "==ERROR",
            "error:",
            "error[",
        ];
        let from = lines
            .iter()
            .position(|l| markers.iter().any(|m| l.contains(m)))
            .unwrap_or(lines.len().saturating_sub(100));
        for line in &lines[from..] {
            eprintln!("{line}");
        }
        eprint!("{}", String::from_utf8_lossy(&out.stdout));
        return Err(format!(
            "fuzz target `{target}` failed ({}); the input is in fuzz/artifacts/{target}/ \
             (reproduce: cargo +nightly fuzz run -s none {target} <file>)",
            out.status
        ));
    }
    Ok(())
}

/// The nightly toolchain, which cargo-fuzz needs.
fn ensure_nightly() -> Result {
    let toolchains = output(Command::new("rustup").args(["toolchain", "list"])).unwrap_or_default();
    if toolchains.lines().any(|l| l.starts_with("nightly")) {
        return Ok(());
    }
    run(Command::new("rustup").args(["toolchain", "install", "nightly", "--profile", "minimal"]))
}

/// The cargo-fuzz release installed when it is missing.
const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// cargo-fuzz, installed unless `cargo fuzz --version` already works.
fn ensure_cargo_fuzz() -> Result {
    if let Some(version) = output(Command::new("cargo").args(["fuzz", "--version"])) {
        eprintln!("xtask: {}", version.trim());
        return Ok(());
    }
    cargo(&[
        "install",
        "--locked",
        "cargo-fuzz",
        "--version",
        CARGO_FUZZ_VERSION,
    ])?;
    output(Command::new("cargo").args(["fuzz", "--version"]))
        .map(|_| ())
        .ok_or_else(|| {
            "`cargo fuzz --version` fails after installing cargo-fuzz: is ~/.cargo/bin on PATH?"
                .into()
        })
}

/// binaryen's `wasm-opt`, from npm (Debian's binaryen 108 writes modules that fail to load).
const BINARYEN: &str = "binaryen@132.0.0";

/// The most bytes the size probe may take after `wasm-opt -Oz` (stable recipe): the last
/// measurement (148,978 B, BENCHMARKS.md §5) plus a margin of 1,822 B (1.2 %), for a
/// dependency's patch release or a small fix. Past it, `cargo xtask wasm-size` (and CI's
/// wasm steps) fail: either the growth is worth it (raise the mark, and say why in
/// BENCHMARKS.md) or it is not. Lower it with every measured gain.
const WASM_SIZE_MARK: u64 = 150_800;

/// A way of building the size probe (BENCHMARKS.md §5).
struct SizeRecipe {
    /// Printed before the sizes.
    name: &'static str,
    /// The toolchain (`+nightly`), if not the default.
    toolchain: Option<&'static str>,
    /// The cargo profile, defined on the command line with [`SizeRecipe::settings`].
    profile: &'static str,
    settings: &'static [&'static str],
    /// Extra `cargo build` arguments.
    extra: &'static [&'static str],
}

/// What every user can do on stable: the release profile with opt-level `z`, LTO, one
/// codegen unit and `panic = "abort"`. A dedicated profile, defined on the command line:
/// the workspace's release profile stays as it is for everyone else.
const STABLE_RECIPE: SizeRecipe = SizeRecipe {
    name: "stable (opt-level z, LTO, 1 codegen unit, panic abort)",
    toolchain: None,
    profile: "wasm-size",
    settings: &[
        "profile.wasm-size.inherits=\"release\"",
        "profile.wasm-size.opt-level=\"z\"",
        "profile.wasm-size.lto=true",
        "profile.wasm-size.codegen-units=1",
        "profile.wasm-size.panic=\"abort\"",
    ],
    extra: &[],
};

/// The smallest recipe for a size-sensitive edge user: nightly, the standard library rebuilt
/// with the same profile (`-Zbuild-std`), and panics that abort at once, without formatting
/// a message (`panic = "immediate-abort"`, nightly's replacement of the
/// `panic_immediate_abort` feature of std).
const NIGHTLY_RECIPE: SizeRecipe = SizeRecipe {
    name: "nightly build-std, panic immediate-abort",
    toolchain: Some("+nightly"),
    profile: "wasm-min",
    settings: &[
        "profile.wasm-min.inherits=\"release\"",
        "profile.wasm-min.opt-level=\"z\"",
        "profile.wasm-min.lto=true",
        "profile.wasm-min.codegen-units=1",
        "profile.wasm-min.panic=\"immediate-abort\"",
    ],
    extra: &["-Zbuild-std=std,panic_abort", "-Zpanic-immediate-abort"],
};

/// Sizes of one build of the probe, in bytes.
struct Sizes {
    raw: u64,
    optimised: u64,
    gzipped: u64,
}

/// `cargo xtask wasm-size`: the size probe, the API-call probe and the floor built with each
/// recipe, then `wasm-bindgen`, then `wasm-opt -Oz`; prints raw, optimised and gzipped
/// bytes, and fails if the stable recipe's optimised probe is past [`WASM_SIZE_MARK`]. The nightly lines are
/// skipped (with a note) where no nightly toolchain is installed.
fn wasm_size() -> Result {
    in_workspace_root()?;
    ensure_wasm_target()?;
    ensure_wasm_bindgen_cli()?;
    let nightly = output(Command::new("rustc").args(["+nightly", "--version"])).is_some();
    if nightly {
        // build-std needs the standard library's sources.
        run(Command::new("rustup").args([
            "component",
            "add",
            "rust-src",
            "--toolchain",
            "nightly",
        ]))?;
    }
    let mut stable = None;
    let mut lines = Vec::new();
    for (example, what) in [
        (PROBE, "size probe"),
        (API_PROBE, "API-call probe (AuthorizedFetch)"),
        (FLOOR, "floor (by hand on fetch)"),
    ] {
        for recipe in [&STABLE_RECIPE, &NIGHTLY_RECIPE] {
            let name = format!("{what}, {}", recipe.name);
            if recipe.toolchain.is_some() && !nightly {
                lines.push(format!("{name:<80} skipped: no nightly toolchain"));
                continue;
            }
            let s = measure(example, recipe)?;
            lines.push(format!(
                "{name:<80} raw {:>7} B   optimised {:>7} B   gzipped {:>6} B",
                s.raw, s.optimised, s.gzipped
            ));
            if example == PROBE && recipe.toolchain.is_none() {
                stable = Some(s);
            }
        }
    }
    for line in lines {
        println!("{line}");
    }
    println!("files: {}", target_dir()?.join("wasm-size-probe").display());
    check_size_mark(&stable.ok_or("the stable probe was not measured")?)
}

/// The stable recipe's size against [`WASM_SIZE_MARK`] (CI's wasm steps run it).
fn wasm_size_mark() -> Result {
    ensure_wasm_bindgen_cli()?;
    let sizes = measure(PROBE, &STABLE_RECIPE)?;
    println!(
        "size probe: optimised {} B, gzipped {} B (mark {WASM_SIZE_MARK} B)",
        sizes.optimised, sizes.gzipped
    );
    check_size_mark(&sizes)
}

fn check_size_mark(sizes: &Sizes) -> Result {
    if sizes.optimised > WASM_SIZE_MARK {
        return Err(format!(
            "the size probe is {} bytes optimised, past the mark of {WASM_SIZE_MARK} \
             (xtask WASM_SIZE_MARK; see BENCHMARKS.md §5)",
            sizes.optimised
        ));
    }
    Ok(())
}

/// The wasm adapter's example that the mark is about.
const PROBE: &str = "size_probe";
/// The probe of a module that calls the API through `AuthorizedFetch`.
const API_PROBE: &str = "size_api_probe";
/// The probe's exported function written by hand on `fetch`, without the library.
const FLOOR: &str = "size_floor";

/// Builds the wasm adapter's `example` (a probe or the floor) with `recipe`, runs
/// `wasm-bindgen` and `wasm-opt -Oz`, and sizes it.
fn measure(example: &str, recipe: &SizeRecipe) -> Result<Sizes> {
    let built = build_example(example, recipe)?;
    let out = target_dir()?
        .join("wasm-size-probe")
        .join(recipe.profile)
        .join(example);
    run(Command::new("wasm-bindgen")
        .args(["--target", "web", "--out-dir"])
        .arg(&out)
        .arg(&built))?;
    let raw = out.join(format!("{example}_bg.wasm"));
    let opt = out.join(format!("{example}_bg.opt.wasm"));
    run(Command::new("npx")
        .args(["--yes", "-p", BINARYEN, "wasm-opt", "-Oz"])
        .arg(&raw)
        .arg("-o")
        .arg(&opt))?;
    let size = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.len())
            .map_err(|e| format!("{}: {e}", p.display()))
    };
    let gzipped = Command::new("gzip")
        .args(["-9", "-c"])
        .arg(&opt)
        .output()
        .map_err(|e| format!("gzip: {e}"))?
        .stdout
        .len();
    Ok(Sizes {
        raw: size(&raw)?,
        optimised: size(&opt)?,
        gzipped: gzipped as u64,
    })
}

/// Builds the wasm adapter's `example` with `recipe`; returns the module's path.
fn build_example(example: &str, recipe: &SizeRecipe) -> Result<PathBuf> {
    let mut build = Command::new("cargo");
    if let Some(toolchain) = recipe.toolchain {
        build.arg(toolchain);
    }
    build.args([
        "build",
        "--locked",
        "-p",
        WASM_CRATE,
        "--example",
        example,
        "--target",
        WASM_TARGET,
    ]);
    build.args(recipe.extra);
    for setting in recipe.settings {
        build.args(["--config", setting]);
    }
    run(build.args(["--profile", recipe.profile]))?;
    Ok(target_dir()?
        .join(WASM_TARGET)
        .join(recipe.profile)
        .join(format!("examples/{example}.wasm")))
}

/// What the probes do, checked in Node against the mock server: the size probe and the
/// floor return a token (the probe the same one twice: cached), the API-call probe an
/// account. So a size measured is the size of a module that works.
const PROBES_CHECK: &str = r#"
(async () => {
  const url = process.env.ZUORA_MOCK_URL, dir = process.env.PROBES;
  const info = await (await fetch(`${url}/__mock/info`)).json();
  const id = info.demo_client_id, secret = info.demo_client_secret;
  const hex = (t, who) => {
    if (!/^[0-9a-f]{32}$/.test(t)) throw new Error(`${who}: not a token: ${t}`);
  };
  const { token } = require(`${dir}/size_probe/size_probe.js`);
  const first = await token(url, id, secret);
  hex(first, "size_probe");
  if ((await token(url, id, secret)) !== first) throw new Error("size_probe: not cached");
  hex(await require(`${dir}/size_floor/size_floor.js`).token(url, id, secret), "size_floor");
  const { call } = require(`${dir}/size_api_probe/size_api_probe.js`);
  const answer = await call(url, id, secret, "/v1/accounts/A00000001");
  if (!answer.startsWith("200 ") || !answer.includes('"accountNumber":"A00000001"')) {
    throw new Error(`size_api_probe: ${answer}`);
  }
  console.log("the probes answer: a token (cached), a token, an account");
})().catch((e) => { console.error(e); process.exit(1); });
"#;

/// Builds the probes and the floor with the stable recipe, binds them for Node, and runs
/// [`PROBES_CHECK`] against a mock server.
fn probes_answer() -> Result {
    ensure_node()?;
    let dir = target_dir()?.join("wasm-size-probe").join("node");
    for example in [PROBE, API_PROBE, FLOOR] {
        let built = build_example(example, &STABLE_RECIPE)?;
        run(Command::new("wasm-bindgen")
            .args(["--target", "nodejs", "--out-dir"])
            .arg(dir.join(example))
            .arg(&built))?;
    }
    let (server, url) = start_mock_server()?;
    run(Command::new("node")
        .args(["-e", PROBES_CHECK])
        .env("ZUORA_MOCK_URL", &url)
        .env("PROBES", &dir))?;
    drop(server);
    Ok(())
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or the workspace's `target/`).
fn target_dir() -> Result<PathBuf> {
    let meta = output(Command::new("cargo").args([
        "metadata",
        "--locked",
        "--format-version",
        "1",
        "--no-deps",
    ]))
    .ok_or("cargo metadata failed")?;
    let key = "\"target_directory\":\"";
    let start = meta
        .find(key)
        .ok_or("no target_directory in cargo metadata")?
        + key.len();
    let end = meta[start..].find('"').ok_or("malformed cargo metadata")? + start;
    Ok(PathBuf::from(&meta[start..end]))
}

/// The cargo-hack release installed when it is missing (`cargo install --locked` works for it).
const CARGO_HACK_VERSION: &str = "0.6.46";

/// cargo-hack, installed unless `cargo hack --version` already prints [`CARGO_HACK_VERSION`].
fn ensure_cargo_hack() -> Result {
    let installed = output(Command::new("cargo").args(["hack", "--version"]));
    if let Some(out) = &installed
        && out.split_whitespace().any(|w| w == CARGO_HACK_VERSION)
    {
        eprintln!("xtask: {}", out.trim());
        return Ok(());
    }
    cargo(&[
        "install",
        "--locked",
        "cargo-hack",
        "--version",
        CARGO_HACK_VERSION,
    ])?;
    output(Command::new("cargo").args(["hack", "--version"]))
        .map(|_| ())
        .ok_or_else(|| {
            "`cargo hack --version` fails after installing cargo-hack: is ~/.cargo/bin on PATH?"
                .into()
        })
}

/// `cargo metadata` (with dependencies) as JSON.
fn metadata(no_deps: bool) -> Result<serde_json::Value> {
    let mut cmd = Command::new("cargo");
    cmd.args(["metadata", "--locked", "--format-version", "1"]);
    if no_deps {
        cmd.arg("--no-deps");
    }
    let out = output(&mut cmd).ok_or("cargo metadata --locked failed")?;
    serde_json::from_str(&out).map_err(|e| format!("cargo metadata: {e}"))
}

/// `cargo publish --workspace --dry-run` verifies each package from a local registry whose
/// sources it unpacks under `$CARGO_HOME/registry/src/-<hash>/<name>-<version>`, and keeps
/// them: a later run of the same version finds the directory there and builds the earlier
/// run's sources against the new manifest (a change that drops a dependency then fails to
/// build, on any machine that ran the check before). Those directories of the workspace's
/// published packages are removed first; crates.io's are not touched.
fn remove_unpacked_workspace_packages() -> Result {
    let meta = metadata(true)?;
    let home = env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .ok_or("neither CARGO_HOME nor HOME is set")?;
    let Ok(registries) = std::fs::read_dir(home.join("registry").join("src")) else {
        return Ok(());
    };
    for registry in registries.flatten() {
        // Local registries' directories have no host name: `-<hash>`.
        if !registry.file_name().to_string_lossy().starts_with('-') {
            continue;
        }
        for package in published(&meta) {
            let (Some(name), Some(version)) =
                (package["name"].as_str(), package["version"].as_str())
            else {
                continue;
            };
            let dir = registry.path().join(format!("{name}-{version}"));
            if dir.exists() {
                std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            }
        }
    }
    Ok(())
}

/// Workspace packages that are published (no `publish = false`).
fn published(meta: &serde_json::Value) -> Vec<&serde_json::Value> {
    meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["publish"].as_array().is_none_or(|to| !to.is_empty()))
        .filter(|p| p["source"].is_null())
        .collect()
}

/// A `rust-version` as (major, minor, patch).
fn rust_version(v: &str) -> Option<(u32, u32, u32)> {
    let mut parts = v.split('.').map(str::parse::<u32>);
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    Some((major, minor, patch))
}

/// Each published crate's locked dependencies (normal and build, for any target: what a
/// user's build compiles) state a `rust-version` no newer than the crate's own.
fn msrv_check() -> Result {
    let meta = metadata(false)?;
    let packages: BTreeMap<&str, &serde_json::Value> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut failures = Vec::new();
    for krate in published(&meta) {
        let name = krate["name"].as_str().unwrap_or("?");
        let stated = krate["rust_version"]
            .as_str()
            .ok_or(format!("{name} states no rust-version"))?;
        let msrv = rust_version(stated).ok_or(format!("{name}: rust-version {stated}?"))?;
        // The dependency closure, dev-dependencies left out (a user's build has none).
        let mut seen = std::collections::BTreeSet::new();
        let mut todo = vec![krate["id"].as_str().unwrap_or("")];
        while let Some(id) = todo.pop() {
            let Some(node) = nodes.get(id) else { continue };
            for dep in node["deps"].as_array().into_iter().flatten() {
                let used = dep["dep_kinds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|k| k["kind"] != "dev");
                if let Some(pkg) = dep["pkg"].as_str()
                    && used
                    && seen.insert(pkg)
                {
                    todo.push(pkg);
                }
            }
        }
        let mut newest: Option<((u32, u32, u32), &str)> = None;
        for id in &seen {
            let Some(dep) = packages.get(id) else {
                continue;
            };
            let dep_name = dep["name"].as_str().unwrap_or("?");
            let Some(needs) = dep["rust_version"].as_str().and_then(rust_version) else {
                continue;
            };
            if needs > msrv {
                failures.push(format!(
                    "{name} states rust-version {stated}, but its dependency {dep_name} {} \
                     needs {}",
                    dep["version"].as_str().unwrap_or("?"),
                    dep["rust_version"].as_str().unwrap_or("?")
                ));
            }
            if newest.is_none_or(|(v, _)| needs > v) {
                newest = Some((needs, dep_name));
            }
        }
        let newest = newest
            .map(|((a, b, c), n)| format!("the newest needs {a}.{b}.{c} ({n})"))
            .unwrap_or_else(|| "none states a rust-version".into());
        eprintln!(
            "xtask: {name} (rust-version {stated}): {} dependencies, {newest}",
            seen.len()
        );
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Where the public API snapshots live, one `<crate>.txt` per library crate.
const API_DIR: &str = "api";

/// Lists each published library crate's public API (all features, on the host, from
/// nightly rustdoc's JSON) and compares it with `api/<crate>.txt`, printing the lines that
/// differ; `bless` rewrites the snapshots instead.
fn public_api_check(bless: bool) -> Result {
    ensure_nightly()?;
    let meta = metadata(true)?;
    let target = target_dir()?;
    // Every crate's JSON first: each listing names the other crates' items by the public
    // paths their own walks find.
    let mut crates = Vec::new();
    for krate in published(&meta) {
        let is_lib = krate["targets"].as_array().into_iter().flatten().any(|t| {
            t["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "lib"))
        });
        if !is_lib {
            continue;
        }
        let name = krate["name"].as_str().unwrap_or("?");
        let version = krate["version"].as_str().unwrap_or("?");
        run(Command::new("rustup")
            .args(["run", "nightly", "cargo", "rustdoc", "--locked", "--quiet"])
            .args(["-p", name, "--lib", "--all-features", "--"])
            .args(["-Z", "unstable-options", "--output-format", "json"]))?;
        let json = target
            .join("doc")
            .join(format!("{}.json", name.replace('-', "_")));
        let doc: serde_json::Value = std::fs::read_to_string(&json)
            .map_err(|e| format!("{}: {e}", json.display()))
            .and_then(|s| {
                serde_json::from_str(&s).map_err(|e| format!("{}: {e}", json.display()))
            })?;
        crates.push((name, version, doc));
    }
    let mut workspace = public_api::PublicPaths::new();
    for (name, _, doc) in &crates {
        workspace.extend(public_api::public_paths(doc).map_err(|e| format!("{name}: {e}"))?);
    }
    let mut changed = Vec::new();
    for (name, version, doc) in &crates {
        let lines = public_api::listing(doc, &workspace).map_err(|e| format!("{name}: {e}"))?;
        let text = format!(
            "# The public API of {name} {version}: {} items (all features, host target).\n\
             # `cargo xtask test` fails when it differs from this file; after a deliberate\n\
             # change, `cargo xtask public-api --bless` rewrites it (review the diff).\n{}\n",
            lines.len(),
            lines.join("\n")
        );
        let path = Path::new(API_DIR).join(format!("{name}.txt"));
        let old = std::fs::read_to_string(&path).unwrap_or_default();
        eprintln!("xtask: {name}: {} public items", lines.len());
        if old == text {
            continue;
        }
        if bless {
            std::fs::create_dir_all(API_DIR).map_err(|e| format!("{API_DIR}: {e}"))?;
            std::fs::write(&path, &text).map_err(|e| format!("{}: {e}", path.display()))?;
            eprintln!("xtask: wrote {}", path.display());
            continue;
        }
        let before: std::collections::BTreeSet<&str> =
            old.lines().filter(|l| !l.starts_with('#')).collect();
        let after: std::collections::BTreeSet<&str> =
            text.lines().filter(|l| !l.starts_with('#')).collect();
        eprintln!(
            "xtask: {} differs from {name}'s public API:",
            path.display()
        );
        for line in before.difference(&after) {
            eprintln!("- {line}");
        }
        for line in after.difference(&before) {
            eprintln!("+ {line}");
        }
        changed.push(path.display().to_string());
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the public API changed but its snapshot did not: {}. If the change is meant, run \
             `cargo xtask public-api --bless` and commit the snapshot with it",
            changed.join(", ")
        ))
    }
}
