//! Writing a chart branch's commit at apply time (called by the executor's effects): the
//! tree [`super::tree`] planned, built with git from the objects already in the repository.

use git2::{Oid, Repository};

use super::tree::DIR_MODE;
use crate::git::{GitError, parse_oid};
use crate::plan::action::ChartCommit;

/// Writes the commit's tree and the commit; returns the id git gave the commit.
pub fn chart_commit(repo: &Repository, c: &ChartCommit) -> Result<Oid, GitError> {
    let doing = format!("write the commit of chart {} for {}", c.chart, c.branch);
    let err = GitError::from_git(&doing);
    let base = repo.find_commit(parse_oid(&c.base)?).and_then(|b| b.tree());
    let base = base.map_err(GitError::from_git(&doing))?;
    let dir = c.chart_tree.as_deref().map(parse_oid).transpose()?;
    let tree = tree_with_dir(repo, base.id(), &c.path, dir).map_err(GitError::from_git(&doing))?;
    let tree = repo.find_tree(tree).map_err(GitError::from_git(&doing))?;
    let parent = repo.find_commit(parse_oid(&c.parent)?).map_err(GitError::from_git(&doing))?;
    let when = git2::Time::new(c.author.time, 0);
    let sig = git2::Signature::new(&c.author.name, &c.author.email, &when)
        .map_err(GitError::from_git(&doing))?;
    repo.commit(None, &sig, &sig, &c.message, &tree, &[&parent]).map_err(err)
}

/// The id of `root` with the directory at `path` set to `dir` (`None`: removed), written.
pub fn tree_with_dir(
    repo: &Repository,
    root: Oid,
    path: &str,
    dir: Option<Oid>,
) -> Result<Oid, git2::Error> {
    crate::git::tree::set_path(repo, root, path, dir.map(|d| (d, DIR_MODE)))
}
