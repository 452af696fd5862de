//! Files only their owner can use: a private folder, trusted reads, atomic writes.
//!
//! A file is trusted only when it is a regular file (not a symbolic link), owned by the
//! user running this program, and neither readable nor writable by anyone else: another
//! user could otherwise plant a token of their choosing, or read one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// Files larger than this are not ours.
const MAX_FILE: u64 = 64 * 1024;

/// The content of `path` if it is a trusted file; `Ok(None)` when it exists but is not.
pub fn read(path: &Path) -> io::Result<Option<String>> {
    // Checked before opening too: opening a FIFO would block.
    if !fs::symlink_metadata(path)?.is_file() {
        return Ok(None);
    }
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > MAX_FILE || !trusted(&meta) {
        return Ok(None);
    }
    let mut text = String::new();
    file.take(MAX_FILE).read_to_string(&mut text)?;
    Ok(Some(text))
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
/// the lock file, which stays in place between runs.
pub fn open_lock_file(path: &Path) -> io::Result<File> {
    create_dir(folder(path)?)?;
    // Checked before opening too: opening a FIFO would block, a symbolic link would be
    // followed.
    if fs::symlink_metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(io::Error::other(format!(
            "{} is not a regular file",
            path.display()
        )));
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    private_mode(&mut options);
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || !trusted(&meta) {
        return Err(io::Error::other(format!(
            "{} is not a private file of this user",
            path.display()
        )));
    }
    Ok(file)
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
