//! The entry's lock: an exclusive advisory lock on `<name>.lock`, so that of the runs that
//! find no usable token at the same time, one fetches and the others wait, then read what
//! it saved.
//!
//! The lock file is never removed: removing it would let a run lock a file that another
//! run has just unlinked. The lock is released when the process lets go of the file (at
//! the latest when it exits, however it exits).

use std::fs::{File, TryLockError};
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::private;

/// The longest pause between two looks at a lock held by another run.
const MAX_PAUSE: Duration = Duration::from_millis(50);

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct Lease {
    file: File,
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Closing the file releases it anyway; this says so.
        let _ = self.file.unlock();
    }
}

/// Locks `path`, waiting at most `wait` for another holder to let go.
pub fn acquire(path: &Path, wait: Duration) -> io::Result<Lease> {
    let file = private::open_lock_file(path)?;
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(1);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(Lease { file }),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => return Err(e),
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
        let held = acquire(&path, Duration::ZERO).unwrap();
        let refused = acquire(&path, Duration::ZERO).unwrap_err();
        assert_eq!(refused.kind(), io::ErrorKind::TimedOut);
        drop(held);
        acquire(&path, Duration::ZERO).expect("free again once dropped");
    }
}
