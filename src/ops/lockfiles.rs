//! The repository's lock for apply and rollback, and the clean-up after a holder that was
//! killed: its scratch refs, and git's lock files for the refs it was writing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::{Error, Notices};
use crate::exec::journal::Journal;
use crate::exec::lock::Lock;
use crate::plan::Action;

/// Takes the lock of the repository whose state directory is `dir` for `command`; a lock
/// left by a process that no longer runs is taken over, and what it left behind removed.
pub fn take(dir: &Path, command: &str, notices: &dyn Notices) -> Result<Lock, Error> {
    let lock = Lock::acquire(dir, command)?;
    // Scratch refs (the source of a push) of a run killed mid-push: only a run holding the
    // lock writes them, so any found now are left over.
    if let Some(repo) = dir.parent().and_then(|g| git2::Repository::open(g).ok()) {
        let names: Vec<String> = repo
            .references_glob("refs/rebranch/*")
            .map(|refs| refs.flatten().filter_map(|r| r.name().ok().map(str::to_string)).collect())
            .unwrap_or_default();
        for name in names {
            if let Ok(mut r) = repo.find_reference(&name) {
                let _ = r.delete();
            }
        }
    }
    if let Some(h) = &lock.took_over {
        notices.warn(&format!(
            "took over the lock left by `{}` (pid {} on {}), which no longer runs",
            h.command, h.pid, h.host
        ));
        // A holder killed while writing one of rebranch's scratch refs (refs/rebranch/)
        // leaves git's lock file behind; nothing else writes there, so it is stale. The
        // same goes for the branches and remote-tracking refs its last run was writing:
        // their lock files are named and removed, or the next write of them would fail.
        if let Some(git_dir) = dir.parent() {
            remove_lock_files(&git_dir.join("refs/rebranch"));
            for stale in stale_ref_locks(git_dir, dir) {
                if std::fs::remove_file(&stale).is_ok() {
                    notices.warn(&format!(
                        "removed {}, left by the run that was killed while writing that ref",
                        stale.display()
                    ));
                }
            }
        }
    }
    Ok(lock)
}

/// git's lock files for the refs the last run writes (its branches, local and
/// remote-tracking), when that run was killed.
fn stale_ref_locks(git_dir: &Path, state_dir: &Path) -> Vec<PathBuf> {
    let Ok(Some(last)) = Journal::latest(&Journal::dir(state_dir)) else { return Vec::new() };
    let remote = &last.plan.repository.remote;
    let mut names = BTreeSet::new();
    for step in &last.plan.actions {
        match &step.action {
            Action::RemoteBranch(a) => names.insert(a.branch.clone()),
            Action::CiCommit(a) => names.insert(a.head.clone().unwrap_or_else(|| a.branch.clone())),
            Action::ChartCommit(a) => names.insert(a.branch.clone()),
            Action::LocalRename(a) => names.insert(a.from.clone()) | names.insert(a.to.clone()),
            Action::LocalBranch(a) => names.insert(a.branch.clone()),
            Action::Tracking(a) => names.insert(a.branch.clone()),
            Action::Setting(_) | Action::Await(_) => false,
        };
    }
    names
        .iter()
        .flat_map(|b| {
            [
                git_dir.join(format!("refs/heads/{b}.lock")),
                git_dir.join(format!("refs/remotes/{remote}/{b}.lock")),
            ]
        })
        .filter(|p| p.is_file())
        .collect()
}

fn remove_lock_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_lock_files(&path);
        } else if path.extension().is_some_and(|x| x == "lock") {
            let _ = std::fs::remove_file(&path);
        }
    }
}
