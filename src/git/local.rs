//! Local branches: read one with its upstream, create, rename (moving the upstream), and
//! delete with a compare-and-swap on its oid.

use git2::{BranchType, Oid, Repository};
use serde::{Deserialize, Serialize};

use super::GitError;

/// Where a local branch pulls from: `branch.<name>.remote` and `.merge`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upstream {
    pub remote: String,
    pub branch: String,
}

impl std::fmt::Display for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.remote, self.branch)
    }
}

/// A local branch's tip and upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalBranch {
    pub oid: Oid,
    pub upstream: Option<Upstream>,
}

/// Reads a local branch, or `None` when it does not exist.
pub fn read(repo: &Repository, name: &str) -> Result<Option<LocalBranch>, GitError> {
    let branch = match repo.find_branch(name, BranchType::Local) {
        Ok(b) => b,
        Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(e) => return Err(GitError::from_git(&format!("read branch `{name}`"))(e)),
    };
    let oid = branch.get().target().ok_or_else(|| GitError::Op {
        doing: format!("read branch `{name}`"),
        message: "it is a symbolic reference".to_string(),
    })?;
    Ok(Some(LocalBranch { oid, upstream: upstream(repo, name)? }))
}

/// The branch HEAD points at, if HEAD is attached to a branch.
pub fn checked_out(repo: &Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    let target = head.symbolic_target().ok()??;
    target.strip_prefix("refs/heads/").map(str::to_string)
}

/// A work tree of this repository (the main one or a linked one, `git worktree add`) with
/// a branch checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    /// Its top directory.
    pub path: std::path::PathBuf,
    /// Whether it is the work tree this command runs in.
    pub current: bool,
    /// No tracked file differs from HEAD or the index.
    pub clean: bool,
}

/// Which of `branches` are checked out, and where: in this work tree, the main one or any
/// linked one (git refuses to check a branch out twice, so there is at most one each).
pub fn checkouts(
    repo: &Repository,
    branches: &std::collections::BTreeSet<String>,
) -> std::collections::BTreeMap<String, Checkout> {
    let mut found = std::collections::BTreeMap::new();
    let here = repo.workdir().map(|p| p.to_path_buf());
    for tree in work_trees(repo) {
        let Some(branch) = checked_out(&tree) else { continue };
        let Some(path) = tree.workdir().map(|p| p.to_path_buf()) else { continue };
        if branches.contains(&branch) && !found.contains_key(&branch) {
            let current = here.as_deref().map(same_dir).unwrap_or_default() == same_dir(&path);
            found.insert(branch, Checkout { path, current, clean: is_clean(&tree) });
        }
    }
    found
}

/// Opens the work tree that has `branch` checked out, if any.
pub fn work_tree_of(repo: &Repository, branch: &str) -> Option<Repository> {
    work_trees(repo).into_iter().find(|t| checked_out(t).as_deref() == Some(branch))
}

/// No tracked file differs from HEAD or the index.
pub fn is_clean(repo: &Repository) -> bool {
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false).include_ignored(false);
    repo.statuses(Some(&mut opts)).is_ok_and(|s| s.is_empty())
}

/// Every non-bare work tree of the repository: this one, the main one, the linked ones.
fn work_trees(repo: &Repository) -> Vec<Repository> {
    let mut trees = Vec::new();
    if let Some(dir) = repo.workdir() {
        trees.extend(Repository::open(dir).ok());
    }
    if repo.is_worktree() {
        trees.extend(Repository::open(repo.commondir()).ok().filter(|r| !r.is_bare()));
    }
    let names: Vec<String> = repo
        .worktrees()
        .map(|n| n.iter().flatten().flatten().map(str::to_string).collect())
        .unwrap_or_default();
    for name in names {
        let opened = repo.find_worktree(&name).and_then(|w| Repository::open_from_worktree(&w));
        trees.extend(opened.ok());
    }
    trees
}

fn same_dir(p: &std::path::Path) -> std::path::PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Creates a local branch at `oid` with an optional upstream; refuses if it exists.
pub fn create(
    repo: &Repository,
    name: &str,
    oid: Oid,
    upstream: Option<&Upstream>,
) -> Result<(), GitError> {
    let commit = repo
        .find_commit(oid)
        .map_err(GitError::from_git(&format!("find commit {oid} for branch `{name}`")))?;
    repo.branch(name, &commit, false)
        .map_err(GitError::from_git(&format!("create branch `{name}`")))?;
    set_upstream(repo, name, upstream)
}

/// Renames a local branch (reflog and worktree HEADs follow) and sets its upstream.
pub fn rename(
    repo: &Repository,
    from: &str,
    to: &str,
    upstream: Option<&Upstream>,
) -> Result<(), GitError> {
    let doing = format!("rename branch `{from}` to `{to}`");
    let mut branch =
        repo.find_branch(from, BranchType::Local).map_err(GitError::from_git(&doing))?;
    branch.rename(to, false).map_err(GitError::from_git(&doing))?;
    set_upstream(repo, to, upstream)
}

/// Deletes a local branch if it is still at `expect` and not checked out.
pub fn delete(repo: &Repository, name: &str, expect: Oid) -> Result<(), GitError> {
    let doing = format!("delete branch `{name}`");
    if checked_out(repo).as_deref() == Some(name) {
        return Err(GitError::Op {
            doing,
            message: "it is checked out; switch to another branch first".to_string(),
        });
    }
    let mut branch =
        repo.find_branch(name, BranchType::Local).map_err(GitError::from_git(&doing))?;
    let oid = branch.get().target();
    if oid != Some(expect) {
        return Err(GitError::Op {
            doing,
            message: format!(
                "it moved to {} since; left as it is",
                oid.map_or("?".into(), super::short)
            ),
        });
    }
    branch.delete().map_err(GitError::from_git(&doing))
}

/// Writes `branch.<name>.remote` and `.merge`, or removes them for `None`. Every value a
/// key had goes first: a rename killed after libgit2 copied the old branch's section, and
/// before it removed it, leaves that section behind, and renaming back onto it doubles each
/// key (`git config` then calls it a multivar, and a plain set refuses it).
pub fn set_upstream(
    repo: &Repository,
    name: &str,
    upstream: Option<&Upstream>,
) -> Result<(), GitError> {
    let doing = format!("set the upstream of `{name}`");
    let mut config = repo.config().map_err(GitError::from_git(&doing))?;
    let remote_key = format!("branch.{name}.remote");
    let merge_key = format!("branch.{name}.merge");
    for key in [&remote_key, &merge_key] {
        match config.remove_multivar(key, ".*") {
            Ok(()) => {}
            Err(e) if e.code() == git2::ErrorCode::NotFound => {}
            Err(e) => return Err(GitError::from_git(&doing)(e)),
        }
    }
    if let Some(u) = upstream {
        config.set_str(&remote_key, &u.remote).map_err(GitError::from_git(&doing))?;
        let merge = format!("refs/heads/{}", u.branch);
        config.set_str(&merge_key, &merge).map_err(GitError::from_git(&doing))?;
    }
    Ok(())
}

fn upstream(repo: &Repository, name: &str) -> Result<Option<Upstream>, GitError> {
    let config = repo.config().map_err(GitError::from_git("read git config"))?;
    let snapshot = |key: &str| config.get_string(key).ok();
    let remote = snapshot(&format!("branch.{name}.remote"));
    let merge = snapshot(&format!("branch.{name}.merge"));
    Ok(match (remote, merge) {
        (Some(remote), Some(merge)) => Some(Upstream {
            remote,
            branch: merge.strip_prefix("refs/heads/").unwrap_or(&merge).to_string(),
        }),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_is_set_over_a_section_a_killed_rename_doubled() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let mut config = repo.config().unwrap().open_level(git2::ConfigLevel::Local).unwrap();
        for remote in ["origin", "origin"] {
            config.set_multivar("branch.charts.remote", "^$", remote).unwrap();
            config.set_multivar("branch.charts.merge", "^$", "refs/heads/release").unwrap();
        }
        let count = |key: &str| {
            let config = repo.config().unwrap();
            let mut entries = config.multivar(key, None).unwrap();
            let mut n = 0;
            while entries.next().is_some() {
                n += 1;
            }
            n
        };
        assert_eq!(count("branch.charts.remote"), 2, "the state the kill left");
        let upstream = Upstream { remote: "origin".into(), branch: "charts".into() };
        set_upstream(&repo, "charts", Some(&upstream)).unwrap();
        assert_eq!(count("branch.charts.remote"), 1);
        assert_eq!(count("branch.charts.merge"), 1);
        assert_eq!(upstream_of(&repo, "charts"), Some(upstream));
        set_upstream(&repo, "charts", None).unwrap();
        assert_eq!(count("branch.charts.merge"), 0);
    }

    fn upstream_of(repo: &Repository, name: &str) -> Option<Upstream> {
        upstream(repo, name).unwrap()
    }
}
