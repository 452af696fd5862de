//! The entry's lock: an exclusive advisory lock (`flock(2)`, through
//! [`File::try_lock`]) on `<key>.lock`. It is the file store's fetch lease: of the runs
//! that find no usable token at the same time, the one holding it fetches and the others
//! wait for what it saves.
//!
//! An advisory lock belongs to the open file: the operating system releases it when the
//! holder closes the file or exits, however it exits (crash, `kill -9`). So a dead holder
//! never blocks anyone, on Linux and macOS alike (both implement `flock` with the same
//! semantics), and no expiry time is needed.
//!
//! The lock file is never removed: removing it would let a run lock a file that another
//! run has just unlinked.

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::private;

/// The longest pause between two looks at a lock held by another run.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lock {
    file: File,
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Closing the file releases it anyway; this says so.
        let _ = self.file.unlock();
    }
}

/// Locks `path` if nobody holds it, without waiting; `Ok(None)` if another holder does.
pub fn try_acquire(path: &Path) -> io::Result<Option<Lock>> {
    let file = private::open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(Lock { file })),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(e)) => Err(e),
    }
}

/// Locks `path`, waiting at most `wait` for another holder to let go.
pub fn acquire(path: &Path, wait: Duration) -> io::Result<Lock> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(lock) = try_acquire(path)? {
            return Ok(lock);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "another zuora-token run has held {} for {} s",
                    path.display(),
                    wait.as_secs_f64()
                ),
            ));
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.lock");
        let held = try_acquire(&path).unwrap().expect("free");
        // Another open file description of the same file, even in this process, is
        // refused while the first holds it.
        assert!(try_acquire(&path).unwrap().is_none());
        let refused = acquire(&path, Duration::ZERO).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::TimedOut);
        drop(held);
        try_acquire(&path)
            .unwrap()
            .expect("free again once dropped");
    }
}
