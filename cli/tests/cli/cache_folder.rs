//! `--cache` in a folder it cannot trust: a symbolic link or a FIFO planted where a cache
//! or lock file goes, a folder owned by another user or writable by others. Each run ends
//! (no hang), follows no link, says so in one warning, and still prints a token.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use zuora_oauth_testkit::MockServer;

use crate::helpers::{Home, Outcome, server};

/// Long enough for any run on a loaded machine; a run blocked on a FIFO never ends.
const NO_HANG: Duration = Duration::from_secs(30);

/// The user `nobody` on Debian and most Linux systems.
const NOBODY: u32 = 65_534;

fn cached_run(home: &Home, server: &MockServer) -> Outcome {
    home.cli()
        .against(server)
        .arg("--cache")
        .run_within(NO_HANG)
}

/// Exit 0, one token on stdout, exactly one `warning:` line on stderr; returns both.
#[track_caller]
fn token_with_one_warning(outcome: &Outcome) -> (&str, &str) {
    assert_eq!(outcome.code, 0, "{outcome:?}");
    let token = outcome.stdout.trim_end();
    assert!(
        !token.is_empty() && !token.contains(char::is_whitespace),
        "{outcome:?}"
    );
    let warning = outcome.stderr.strip_suffix('\n').unwrap_or(&outcome.stderr);
    assert!(
        warning.starts_with("warning: ") && !warning.contains('\n'),
        "expected one warning line: {outcome:?}"
    );
    (token, warning)
}

/// A first run's token, and the paths of its cache file and lock file.
fn saved(home: &Home, server: &MockServer) -> (String, PathBuf, PathBuf) {
    let token = cached_run(home, server).token().to_owned();
    let files = home.cache_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let lock = files[0].with_extension("lock");
    assert!(lock.exists());
    (token, files[0].clone(), lock)
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {path:?}");
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn a_symlink_planted_as_the_cache_file_is_not_followed() {
    let server = server();
    let home = Home::new();
    let (first, file, _) = saved(&home, &server);
    // A private file of the same user holding a valid entry, linked in its place.
    let elsewhere = home.path().join("elsewhere.json");
    fs::rename(&file, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
    let before = fs::read(&elsewhere).unwrap();

    let outcome = cached_run(&home, &server);
    let (token, warning) = token_with_one_warning(&outcome);
    assert_ne!(token, first, "the link was followed");
    assert!(warning.contains("--cache"), "{warning}");
    assert_eq!(server.token_request_count(), 2);
    // Neither the link nor what it points to was written through.
    assert!(is_symlink(&file));
    assert_eq!(fs::read(&elsewhere).unwrap(), before);
}

#[test]
fn a_symlink_planted_as_the_lock_file_is_not_followed() {
    let server = server();
    let home = Home::new();
    let (_, file, lock) = saved(&home, &server);
    fs::remove_file(&file).unwrap();
    fs::remove_file(&lock).unwrap();
    let outside = home.path().join("outside.lock");
    std::os::unix::fs::symlink(&outside, &lock).unwrap();

    let outcome = cached_run(&home, &server);
    let (token, _) = token_with_one_warning(&outcome);
    assert_eq!(token, server.issued_tokens()[1].access_token);
    assert!(
        !outside.exists(),
        "the link was followed: {outside:?} created"
    );
    assert!(is_symlink(&lock));
}

#[test]
fn a_fifo_planted_as_the_cache_file_neither_blocks_nor_is_read() {
    let server = server();
    let home = Home::new();
    let (first, file, _) = saved(&home, &server);
    fs::remove_file(&file).unwrap();
    mkfifo(&file);

    let outcome = cached_run(&home, &server);
    let (token, warning) = token_with_one_warning(&outcome);
    assert_ne!(token, first);
    assert!(warning.contains("--cache"), "{warning}");
    assert!(fs::symlink_metadata(&file).unwrap().file_type().is_fifo());
}

#[test]
fn a_fifo_planted_as_the_lock_file_does_not_block() {
    let server = server();
    let home = Home::new();
    let (_, file, lock) = saved(&home, &server);
    fs::remove_file(&file).unwrap();
    fs::remove_file(&lock).unwrap();
    mkfifo(&lock);

    let outcome = cached_run(&home, &server);
    let (token, _) = token_with_one_warning(&outcome);
    assert_eq!(token, server.issued_tokens()[1].access_token);
}

/// Whether this process may give a file to another user (only root may).
fn can_chown(path: &Path) -> bool {
    match std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)) {
        Ok(()) => true,
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied, "{e}");
            eprintln!("skipped: giving a folder to another user needs root");
            false
        }
    }
}

/// The cache folder is not used: a fresh token, one warning naming the folder, and
/// nothing in the folder changed.
#[track_caller]
fn not_used(home: &Home, server: &MockServer, first: &str, why: &str) {
    let dir = home.cache_dir();
    let before: Vec<(PathBuf, Vec<u8>)> = home
        .cache_entries()
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap_or_default()))
        .collect();
    let requests = server.token_request_count();
    let outcome = cached_run(home, server);
    let (token, warning) = token_with_one_warning(&outcome);
    assert_ne!(token, first, "{why}: the saved token was used");
    assert!(
        warning.contains(&dir.display().to_string()),
        "{why}: the warning names the folder: {warning}"
    );
    assert_eq!(server.token_request_count(), requests + 1, "{why}");
    let after: Vec<(PathBuf, Vec<u8>)> = home
        .cache_entries()
        .into_iter()
        .map(|p| (p.clone(), fs::read(&p).unwrap_or_default()))
        .collect();
    assert_eq!(after, before, "{why}: the folder was written to");
}

#[test]
fn a_cache_folder_owned_by_another_user_is_not_used() {
    let server = server();
    let home = Home::new();
    let (first, _, _) = saved(&home, &server);
    let dir = home.cache_dir();
    if !can_chown(&dir) {
        return;
    }
    assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    not_used(&home, &server, &first, "owned by nobody");
}

#[test]
fn a_cache_folder_writable_by_others_is_not_used() {
    let server = server();
    let home = Home::new();
    let (first, _, _) = saved(&home, &server);
    let dir = home.cache_dir();
    for mode in [0o777, 0o770, 0o702] {
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).unwrap();
        not_used(&home, &server, &first, &format!("mode {mode:o}"));
    }
    // Put right, it is used again, quietly.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(cached_run(&home, &server).token(), first);
}

#[test]
fn a_cache_folder_in_a_folder_writable_by_others_is_not_used() {
    // Whoever may write to the folder above may replace the cache folder.
    let server = server();
    let home = Home::new();
    let (first, _, _) = saved(&home, &server);
    let above = home.xdg_cache();
    fs::set_permissions(&above, fs::Permissions::from_mode(0o777)).unwrap();
    not_used(&home, &server, &first, "XDG_CACHE_HOME mode 777");
    // With the sticky bit (as /tmp), nobody else may rename or remove it: used quietly.
    fs::set_permissions(&above, fs::Permissions::from_mode(0o1777)).unwrap();
    assert_eq!(cached_run(&home, &server).token(), first);
}

#[test]
fn a_cache_folder_that_is_a_symlink_is_not_used() {
    let server = server();
    let home = Home::new();
    let (first, _, _) = saved(&home, &server);
    let dir = home.cache_dir();
    let real = home.path().join("real-cache");
    fs::rename(&dir, &real).unwrap();
    std::os::unix::fs::symlink(&real, &dir).unwrap();
    let outcome = cached_run(&home, &server);
    let (token, warning) = token_with_one_warning(&outcome);
    assert_ne!(token, first);
    assert!(warning.contains(&dir.display().to_string()), "{warning}");
    assert!(is_symlink(&dir));
}
