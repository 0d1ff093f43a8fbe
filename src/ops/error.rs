//! The error every operation returns: what went wrong, why, and what to do, with a kind
//! the command line turns into an exit code (in `cli::error`, the only place that does).
//! Every core error is given its kind and hints here.

use crate::exec::ExecError;
use crate::exec::journal::JournalError;
use crate::exec::lock::LockError;
use crate::git::GitError;
use crate::observe::ObserveError;
use crate::plan::PlanError;
use crate::spec::SpecError;

/// What kind of failure (the command line gives each its exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad input, configuration, git or API failure.
    Failure,
    /// The repository changed since the plan.
    Moved,
    /// Review items are unresolved in a non-interactive apply.
    Review,
    /// Stopped part way; the journal is kept.
    Partial,
    /// Waiting for people to merge a review (the CI rewrite's pull request); `apply` goes
    /// on after.
    Waiting,
    /// The command line (or a value given as on it) is wrong.
    Usage,
    /// Interrupted.
    Interrupted,
}

/// An error as the user sees it: a message, then its causes and hints.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
}

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Error {
        let message = message.into();
        let hints = stale_git_lock(&message)
            .map(|path| {
                format!("git left the lock file {path}: if no git process is using that repository, delete it and run again")
            })
            .into_iter()
            .collect();
        Error { kind, message, causes: Vec::new(), hints }
    }

    pub fn cause(mut self, cause: impl Into<String>) -> Error {
        self.causes.push(cause.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Error {
        self.hints.push(hint.into());
        self
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Error {
        let hint = match &e {
            SpecError::UnknownVariable { .. } => {
                Some("see the plan file's [variables] for what each key means")
            }
            SpecError::BadSet { .. } => Some("write --set KEY=VALUE, e.g. --set main=master"),
            _ => None,
        };
        let err = Error::new(Kind::Failure, e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

impl From<ObserveError> for Error {
    fn from(e: ObserveError) -> Error {
        let err = Error::new(Kind::Failure, e.to_string());
        match e {
            ObserveError::NotARepository { .. } => {
                err.hint("run inside a clone, or name one with --repo DIR")
            }
            ObserveError::Shallow { .. } => {
                err.hint("run `git fetch --unshallow` first, then plan again")
            }
            ObserveError::NoRemote { .. } => err.hint(
                "add it with `git remote add origin URL`, or name yours with --set remote=NAME",
            ),
            ObserveError::Git(_) => err,
        }
    }
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Error {
        Error::new(Kind::Failure, e.message).hint(e.hint)
    }
}

impl From<GitError> for Error {
    fn from(e: GitError) -> Error {
        Error::new(Kind::Failure, e.to_string())
    }
}

impl From<JournalError> for Error {
    fn from(e: JournalError) -> Error {
        let err = Error::new(Kind::Failure, e.to_string());
        match e {
            JournalError::Corrupt { .. } => err.hint(
                "nothing was changed; inspect the file, or move it out of .git/rebranch/journal/ to start afresh",
            ),
            JournalError::Io { .. } => err,
        }
    }
}

impl From<LockError> for Error {
    fn from(e: LockError) -> Error {
        let err = Error::new(Kind::Failure, e.to_string());
        match e {
            LockError::Held { .. } => err.hint("wait for it to finish; nothing was changed"),
            LockError::Io { .. } => err,
        }
    }
}

impl From<ExecError> for Error {
    fn from(e: ExecError) -> Error {
        match e {
            ExecError::Refused(why) => {
                let mut err = Error::new(
                    Kind::Moved,
                    "refused: the rollback cannot be made without dropping work pushed since the migration; nothing was changed",
                );
                for w in why {
                    err = err.cause(w);
                }
                err.hint("resolve what is named above (or keep the migration), then run `rebranch rollback` again")
            }
            ExecError::Journal(j) => j.into(),
            e => Error::new(Kind::Failure, e.to_string()),
        }
    }
}

/// The path of a git lock file named in a libgit2 message (`failed to lock file '….lock'`).
fn stale_git_lock(message: &str) -> Option<&str> {
    let end = message.find(".lock'")? + ".lock".len();
    let start = message[..end].rfind('\'')? + 1;
    Some(&message[start..end])
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_a_stale_git_lock_file() {
        let m = "push `release`: failed to lock file '/r/origin.git/refs/heads/release.lock' for writing";
        assert_eq!(super::stale_git_lock(m), Some("/r/origin.git/refs/heads/release.lock"));
        assert_eq!(super::stale_git_lock("no lock here"), None);
    }
}
