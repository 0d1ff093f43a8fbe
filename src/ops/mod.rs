//! The operations: what each command does, as library functions over typed options, below
//! the command line and above the core (as cargo's `ops`). [`plan`] observes and plans,
//! [`apply`] runs a plan under the lock (resuming a stopped run, planning the rest again
//! when it no longer holds), [`rollback`] undoes the last migration, [`status`] reads the
//! journal's state, [`saved`] is the format of `plan --out`, [`services`] sets up the
//! hosting provider (Cloudflare Pages) from the environment; [`rewrite`] runs the CI
//! rewriter over files on disk; [`batch`] runs them across a batch file's repositories,
//! which [`clone`] clones or fetches.
//!
//! Every front end (the commands, `batch`, `migrate`, `demo`, `split` and `prune`) builds
//! the options and calls these. None of them touches the terminal: they report through
//! [`Notices`] and [`Progress`], ask through a [`Confirm`] callback, and fail with
//! [`Error`], whose [`Kind`] the command line turns into an exit code.

pub mod apply;
pub mod batch;
pub mod clone;
pub mod error;
pub mod lockfiles;
pub mod plan;
pub mod request;
pub mod rewrite;
pub mod rollback;
pub mod saved;
pub mod services;
pub mod status;

use std::path::{Path, PathBuf};

pub use error::{Error, Kind};
pub use request::PlanOptions;
pub use services::Services;

use crate::exec::Outcome;
use crate::exec::journal::Journal;
use crate::plan::{Plan, Step};

/// An environment lookup: the process environment, or the demo's overrides over it.
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Where an operation's notices go.
pub trait Notices {
    /// What is happening (the command line: stderr, silenced by `--quiet`).
    fn status(&self, text: &str);
    /// Something the user should know whatever happens next.
    fn warn(&self, text: &str);
}

/// Where a run's progress goes: its notices, each step's events, and the polls of what a
/// service's write waits for (a deployment going live).
pub trait Progress: Notices + crate::exec::Progress {
    /// Where a service's polls go.
    fn polls(&self) -> Box<dyn crate::service::Polls>;
    /// Steps are about to run: from here on an interrupt should stop the run between steps.
    fn started(&mut self) {}
    /// What a batch's repository is doing (cloning, planning, applying…).
    fn phase(&mut self, _what: &str) {}
    /// A run of `command` (`apply` or `rollback`) ended, complete or not.
    fn finished(&mut self, _command: &str, _journal: &Journal, _outcome: &Outcome) {}
}

/// What an operation asks its caller before it changes anything.
pub enum Question<'a> {
    /// A fresh plan is about to be applied: show it, and confirm.
    Apply(&'a Plan),
    /// A fresh plan has review items nobody decided: show it; the apply is refused after.
    Review(&'a Plan),
    /// A rollback of `runs` is about to undo `steps` (last first): show them, and confirm.
    Rollback { runs: &'a [String], steps: &'a [Step], notes: &'a [String] },
}

/// The caller's answer to a [`Question`]: `Ok` goes on, an error stops with nothing changed.
pub type Confirm<'a> = &'a mut dyn FnMut(Question<'_>) -> Result<(), Error>;

/// Opens the repository at `path`.
pub fn open(path: &Path) -> Result<git2::Repository, Error> {
    Ok(crate::observe::open(path)?)
}

/// `.git/rebranch/` of a repository (shared by all its worktrees).
pub fn state_dir(repo: &git2::Repository) -> PathBuf {
    repo.commondir().join("rebranch")
}
