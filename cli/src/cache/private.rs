//! Files only their owner can use: a trusted private folder, reads that follow no link and
//! never block, atomic writes.
//!
//! The folder is checked as ssh checks `~/.ssh` ([`private_dir`]): a real folder (not a
//! symbolic link) owned by the user running this program and writable by nobody else, in
//! folders that only their owner (this user or root) may change, or that are sticky like
//! `/tmp`. Otherwise someone else could read the tokens, plant one of their choosing, or
//! swap the folder or a file for a link.
//!
//! Files are opened with `O_NOFOLLOW` (a symbolic link is an error, never followed) and
//! `O_NONBLOCK` (a FIFO does not block the open), then must be regular files. A cache
//! file is trusted only when, besides, it is owned by this user and neither readable nor
//! writable by anyone else.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Files larger than this are not ours.
const MAX_FILE: u64 = 64 * 1024;

/// Creates `dir` (mode 0700, and its missing parents) and checks that it can be trusted;
/// `Err` says why not, in words for the user.
pub fn private_dir(dir: &Path) -> Result<(), String> {
    create_dir(dir).map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))?;
    check_dir(dir)
}

#[cfg(unix)]
fn check_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;

    let me = rustix::process::geteuid().as_raw();
    let shown = dir.display();
    let meta = fs::symlink_metadata(dir).map_err(|e| format!("cannot read {shown}: {e}"))?;
    if meta.file_type().is_symlink() {
        return Err(format!(
            "{shown} is a symbolic link; make it a folder of yours (mode 700)"
        ));
    }
    if !meta.is_dir() {
        return Err(format!("{shown} is not a folder"));
    }
    if meta.uid() != me {
        return Err(format!(
            "{shown} belongs to another user (uid {}), not to you (uid {me})",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(format!(
            "{shown} is writable by others (mode {:o}); `chmod 700 {shown}` to use it",
            meta.mode() & 0o7777
        ));
    }
    // Whoever may write to a folder above may replace this one: each must belong to this
    // user or to root, and be writable by nobody else unless sticky (as /tmp).
    let parent = dir.parent().unwrap_or(dir);
    let real = fs::canonicalize(parent)
        .map_err(|e| format!("cannot resolve {}: {e}", parent.display()))?;
    for above in real.ancestors() {
        let meta =
            fs::metadata(above).map_err(|e| format!("cannot read {}: {e}", above.display()))?;
        let owner_ok = meta.uid() == me || meta.uid() == 0;
        let open = meta.mode() & 0o022 != 0 && meta.mode() & 0o1000 == 0;
        if !owner_ok || open {
            let why = if owner_ok {
                format!("writable by others (mode {:o})", meta.mode() & 0o7777)
            } else {
                format!("owned by another user (uid {})", meta.uid())
            };
            return Err(format!(
                "{} is {why}: whoever may write there may replace {shown}",
                above.display()
            ));
        }
    }
    Ok(())
}

/// Elsewhere the folder's own permissions are all there is.
#[cfg(not(unix))]
fn check_dir(_: &Path) -> Result<(), String> {
    Ok(())
}

/// The content of `path` if it is a trusted file; `Ok(None)` when it is a regular file
/// that is not ours (another owner, readable or writable by others, too large, not UTF-8). A symbolic
/// link, a FIFO or anything else that is not a regular file is an error (never followed,
/// never blocking), as is a file that cannot be read; a missing file is `NotFound`.
pub fn read(path: &Path) -> io::Result<Option<String>> {
    let mut options = OpenOptions::new();
    options.read(true);
    no_follow_no_block(&mut options);
    let file = options.open(path).map_err(not_followed)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if meta.len() > MAX_FILE || !trusted(&meta) {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes)?;
    // Not text: not one of ours.
    Ok(String::from_utf8(bytes).ok())
}

/// Replaces `path` with a new file holding `bytes`, mode 0600, atomically: a temporary
/// file in the same folder, then `rename`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = folder(path)?;
    create_dir(dir)?;
    let (tmp_path, mut tmp) = create_temp(dir, path)?;
    let written = tmp
        .write_all(bytes)
        .and_then(|()| tmp.sync_all())
        .and_then(|()| fs::rename(&tmp_path, path));
    if written.is_err() {
        let _ = fs::remove_file(&tmp_path);
    }
    written
}

/// Opens `path` (creating it, mode 0600, never truncating it), if it is a trusted file:
/// the lock file, which stays in place between runs. A symbolic link is not followed and a
/// FIFO does not block: both are errors.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    create_dir(folder(path)?)?;
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    private_mode(&mut options);
    no_follow_no_block(&mut options);
    let file = options.open(path).map_err(not_followed)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    if !trusted(&meta) {
        return Err(io::Error::other(
            "not a private file of this user; remove it",
        ));
    }
    Ok(file)
}

/// `O_NOFOLLOW`: a symbolic link as the last component fails the open (`ELOOP`) instead
/// of being followed. `O_NONBLOCK`: opening a FIFO returns at once instead of waiting for
/// a writer (it changes nothing for regular files).
fn no_follow_no_block(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// An open refused by `O_NOFOLLOW`, said in words.
fn not_followed(e: io::Error) -> io::Error {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return io::Error::other("a symbolic link, not followed; remove it");
    }
    e
}

fn not_regular() -> io::Error {
    io::Error::other("not a regular file (a FIFO, a folder, a device…); remove it")
}

/// Creates `dir` and its parents; the ones created get mode 0700.
fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

fn folder(path: &Path) -> io::Result<&Path> {
    path.parent()
        .ok_or_else(|| io::Error::other("the cache file has no folder"))
}

/// A new file next to `target`, mode 0600, that no other run can be writing.
fn create_temp(dir: &Path, target: &Path) -> io::Result<(PathBuf, File)> {
    let stem = target
        .file_name()
        .map_or_else(|| "cache".into(), |n| n.to_string_lossy().into_owned());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    for attempt in 0u32..16 {
        let path = dir.join(format!(
            ".{stem}.{}.{nanos:09}.{attempt}.tmp",
            std::process::id()
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        private_mode(&mut options);
        match options.open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "could not create a temporary file",
    ))
}

fn private_mode(options: &mut OpenOptions) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = options;
}

/// Owned by this user, and no access for anyone else.
#[cfg(unix)]
fn trusted(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o077 == 0
}

/// Elsewhere the folder's own permissions are all there is.
#[cfg(not(unix))]
fn trusted(_: &fs::Metadata) -> bool {
    true
}
