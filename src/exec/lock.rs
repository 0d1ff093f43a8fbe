//! One writer at a time: an exclusive lock file under `.git/rebranch/` guards apply and
//! rollback. A lock left by a process that no longer runs on this host is taken over with a
//! notice, so `apply` after a crash resumes; a live lock refuses, naming its holder.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Who holds the lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub pid: u32,
    pub host: String,
    pub started: u64,
    pub command: String,
}

/// A held lock; released when dropped.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    /// Set when a stale lock was taken over: whose it was.
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
    pub fn acquire(dir: &Path, command: &str) -> Result<Lock, LockError> {
        let path = dir.join("lock");
        let io = |e: std::io::Error| LockError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        fs::create_dir_all(dir).map_err(io)?;
        let me = Holder {
            pid: std::process::id(),
            host: hostname(),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            command: command.to_string(),
        };
        let mut took_over = None;
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let body = serde_json::to_string(&me).unwrap_or_default();
                    f.write_all(body.as_bytes()).and_then(|_| f.sync_all()).map_err(io)?;
                    return Ok(Lock { path, took_over });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = read_holder(&path);
                    match holder {
                        Some(h) if is_alive(&h) => {
                            return Err(LockError::Held {
                                path: path.display().to_string(),
                                holder: h,
                            });
                        }
                        stale => {
                            fs::remove_file(&path).map_err(io)?;
                            took_over = stale;
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        Err(LockError::Io {
            path: path.display().to_string(),
            message: "it keeps reappearing".to_string(),
        })
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

fn read_holder(path: &Path) -> Option<Holder> {
    let text = fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// A holder on another host is presumed alive: its process cannot be checked from here.
fn is_alive(h: &Holder) -> bool {
    if h.host != hostname() {
        return true;
    }
    process_exists(h.pid)
}

#[cfg(target_os = "linux")]
fn process_exists(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

#[cfg(not(target_os = "linux"))]
fn process_exists(_pid: u32) -> bool {
    true
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
    fn stale_lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let dead =
            Holder { pid: u32::MAX - 1, host: hostname(), started: 0, command: "apply".into() };
        fs::write(dir.path().join("lock"), serde_json::to_string(&dead).unwrap()).unwrap();
        let lock = Lock::acquire(dir.path(), "apply").unwrap();
        assert_eq!(lock.took_over, Some(dead));
    }
}
