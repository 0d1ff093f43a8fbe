//! One writer at a time: an exclusive lock on `.git/rebranch/lock` guards apply and
//! rollback. A lock left by a process that no longer runs is taken over with a notice (the
//! system released it when the process died), so `apply` after a crash resumes; a live
//! lock refuses, naming its holder's pid, host, command and start time.
//!
//! The exclusion is held on the state directory itself as well as on the lock file, so
//! deleting the file (by hand, or by a cleanup script) cannot let a second writer in while
//! the first still runs.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: u64,
    pub command: String,
}

/// A held lock; released when dropped (or by the system when the process dies).
#[derive(Debug)]
pub struct Lock {
    file: File,
    /// The lock's directory (`.git/rebranch/`), locked too.
    _dir: Option<File>,
    /// Set when the previous holder ended without releasing: whose it was.
    pub took_over: Option<Holder>,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another rebranch ({}) holds the lock {}: pid {} on {}, since {}",
        .holder.command, .path, .holder.pid, .holder.host, super::journal::timestamp(.holder.started)
    )]
    Held { path: String, holder: Holder },
    #[error("cannot take the lock {path}: {message}")]
    Io { path: String, message: String },
}

impl Lock {
    /// Takes the lock at `dir/lock` for `command`.
    ///
    /// The exclusion is the system's own file lock (`flock`), so it is atomic and a process
    /// that dies releases it: no pid guessing decides who may write. The file's content
    /// names the holder, for the message a second writer gets, and is cleared on release;
    /// content found on taking the lock means the previous holder ended without releasing
    /// it (a crash or a kill), which is reported so the user knows a run may need resuming.
    pub fn acquire(dir: &Path, command: &str) -> Result<Lock, LockError> {
        let path = dir.join("lock");
        let io = |e: std::io::Error| LockError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        fs::create_dir_all(dir).map_err(io)?;
        let held = |file: Option<&mut File>| LockError::Held {
            path: path.display().to_string(),
            holder: file.and_then(read_holder).unwrap_or_else(|| Holder {
                pid: 0,
                host: "(unknown: its lock file was removed)".into(),
                started: 0,
                command: "(unknown)".into(),
            }),
        };
        let dir_lock = match File::open(dir) {
            Ok(d) => match d.try_lock() {
                Ok(()) => Some(d),
                Err(TryLockError::WouldBlock) => {
                    return Err(held(File::open(&path).ok().as_mut()));
                }
                Err(TryLockError::Error(e)) => return Err(io(e)),
            },
            Err(_) => None,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(held(Some(&mut file))),
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let took_over = read_holder(&mut file);
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: crate::time::now_secs(),
            command: command.to_string(),
        };
        let body = serde_json::to_string(&me).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(body.as_bytes()))
            .and_then(|()| file.sync_all())
            .map_err(io)?;
        Ok(Lock { file, _dir: dir_lock, took_over })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // The file stays (removing it would let a waiter lock an unlinked inode); its
        // content goes, so the next holder knows this one ended cleanly.
        let _ = self.file.set_len(0);
        let _ = self.file.sync_all();
        let _ = self.file.unlock();
        if let Some(d) = &self._dir {
            let _ = d.unlock();
        }
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_while_the_first_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let first = Lock::acquire(dir.path(), "apply").unwrap();
        let err = Lock::acquire(dir.path(), "rollback").unwrap_err().to_string();
        assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
        drop(first);
        Lock::acquire(dir.path(), "rollback").unwrap();
    }

    #[test]
    fn deleting_the_lock_file_does_not_let_a_second_writer_in() {
        let git_dir = tempfile::tempdir().unwrap();
        let dir = git_dir.path().join("rebranch");
        std::fs::create_dir_all(&dir).unwrap();
        let first = Lock::acquire(&dir, "apply").unwrap();
        fs::remove_file(dir.join("lock")).unwrap();
        let err = Lock::acquire(&dir, "rollback").unwrap_err().to_string();
        assert!(err.contains("holds the lock"), "{err}");
        drop(first);
        Lock::acquire(&dir, "rollback").unwrap();
    }

    #[test]
    fn a_lock_released_cleanly_is_not_reported_as_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        drop(Lock::acquire(dir.path(), "apply").unwrap());
        assert_eq!(Lock::acquire(dir.path(), "apply").unwrap().took_over, None);
    }

    #[test]
    fn stale_lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let dead =
            Holder { pid: u32::MAX - 1, host: hostname(), started: 0, command: "apply".into() };
        fs::write(dir.path().join("lock"), serde_json::to_string(&dead).unwrap()).unwrap();
        let lock = Lock::acquire(dir.path(), "apply").unwrap();
        assert_eq!(lock.took_over, Some(dead));
    }
}
