//! The one error type of the command line: what went wrong, why, and what to do, with the
//! exit code its kind stands for. Every core error is mapped to a kind here.

use crate::exec::ExecError;
use crate::exec::journal::JournalError;
use crate::exec::lock::LockError;
use crate::git::GitError;
use crate::observe::ObserveError;
use crate::plan::PlanError;
use crate::spec::SpecError;
use crate::ui::Ui;

/// What kind of failure, and so which exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 1: bad input, configuration, git or API failure.
    Failure,
    /// 3: the repository changed since the plan.
    Moved,
    /// 4: review items are unresolved in a non-interactive apply.
    Review,
    /// 5: stopped part way; the journal is kept.
    Partial,
    /// 6: waiting for people to merge a review (the CI rewrite's pull request); `apply`
    /// goes on after.
    Waiting,
    /// 64: the command line is wrong.
    Usage,
    /// 130: interrupted.
    Interrupted,
}

/// The exit code of `plan`, `status`, `split --dry-run` and `prune --dry-run`: 2 when
/// `--detailed-exitcode` is given and changes are pending, else 0.
pub fn detailed(detailed_exitcode: bool, pending: bool) -> u8 {
    if detailed_exitcode && pending { 2 } else { 0 }
}

impl Kind {
    pub fn code(self) -> u8 {
        match self {
            Kind::Failure => 1,
            Kind::Moved => 3,
            Kind::Review => 4,
            Kind::Partial => 5,
            Kind::Waiting => 6,
            Kind::Usage => 64,
            Kind::Interrupted => 130,
        }
    }
}

/// An error as the user sees it: `error:`, then `cause:` and `hint:` lines.
#[derive(Debug, Clone, PartialEq)]
pub struct CliError {
    pub kind: Kind,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
}

impl CliError {
    pub fn new(kind: Kind, message: impl Into<String>) -> CliError {
        let message = message.into();
        let hints = stale_git_lock(&message)
            .map(|path| {
                format!("git left the lock file {path}: if no git process is using that repository, delete it and run again")
            })
            .into_iter()
            .collect();
        CliError { kind, message, causes: Vec::new(), hints }
    }

    pub fn cause(mut self, cause: impl Into<String>) -> CliError {
        self.causes.push(cause.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> CliError {
        self.hints.push(hint.into());
        self
    }

    /// Prints the error on stderr.
    pub fn print(&self, ui: &Ui) {
        let style = ui.err_style;
        // Messages carry names from the repository (paths, review texts): escaped, so they
        // cannot move the cursor or forge lines.
        let clean = |t: &str| {
            t.split('\n')
                .map(|l| crate::render::escape(l).into_owned())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut text = format!("{} {}\n", style.paint("1;31", "error:"), clean(&self.message));
        for c in &self.causes {
            text.push_str(&format!("{} {}\n", style.paint("1", "cause:"), clean(c)));
        }
        for h in &self.hints {
            text.push_str(&format!("{} {}\n", style.paint("1;36", "hint:"), clean(h)));
        }
        eprint!("{text}");
    }
}

impl From<SpecError> for CliError {
    fn from(e: SpecError) -> CliError {
        let hint = match &e {
            SpecError::UnknownVariable { .. } => {
                Some("see the plan file's [variables] for what each key means")
            }
            SpecError::BadSet { .. } => Some("write --set KEY=VALUE, e.g. --set main=master"),
            _ => None,
        };
        let err = CliError::new(Kind::Failure, e.to_string());
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

impl From<ObserveError> for CliError {
    fn from(e: ObserveError) -> CliError {
        let err = CliError::new(Kind::Failure, e.to_string());
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

impl From<PlanError> for CliError {
    fn from(e: PlanError) -> CliError {
        CliError::new(Kind::Failure, e.message).hint(e.hint)
    }
}

impl From<GitError> for CliError {
    fn from(e: GitError) -> CliError {
        CliError::new(Kind::Failure, e.to_string())
    }
}

impl From<JournalError> for CliError {
    fn from(e: JournalError) -> CliError {
        let err = CliError::new(Kind::Failure, e.to_string());
        match e {
            JournalError::Corrupt { .. } => err.hint(
                "nothing was changed; inspect the file, or move it out of .git/rebranch/journal/ to start afresh",
            ),
            JournalError::Io { .. } => err,
        }
    }
}

impl From<LockError> for CliError {
    fn from(e: LockError) -> CliError {
        let err = CliError::new(Kind::Failure, e.to_string());
        match e {
            LockError::Held { .. } => err.hint("wait for it to finish; nothing was changed"),
            LockError::Io { .. } => err,
        }
    }
}

impl From<ExecError> for CliError {
    fn from(e: ExecError) -> CliError {
        match e {
            ExecError::Refused(why) => {
                let mut err = CliError::new(
                    Kind::Moved,
                    "refused: the rollback cannot be made without dropping work pushed since the migration; nothing was changed",
                );
                for w in why {
                    err = err.cause(w);
                }
                err.hint("resolve what is named above (or keep the migration), then run `rebranch rollback` again")
            }
            ExecError::Journal(j) => j.into(),
            e => CliError::new(Kind::Failure, e.to_string()),
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
