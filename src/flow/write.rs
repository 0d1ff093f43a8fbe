//! Writing a chart branch's commit at apply time (called by the executor's effects): the
//! tree [`super::tree`] planned, built with git from the objects already in the repository.

use git2::{Oid, Repository, Tree};

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
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let root = repo.find_tree(root)?;
    match put(repo, Some(root), &parts, dir)? {
        Some(oid) => Ok(oid),
        None => repo.treebuilder(None)?.write(),
    }
}

fn put(
    repo: &Repository,
    tree: Option<Tree<'_>>,
    parts: &[&str],
    dir: Option<Oid>,
) -> Result<Option<Oid>, git2::Error> {
    let Some((name, rest)) = parts.split_first() else { return Ok(dir) };
    let child = if rest.is_empty() {
        dir
    } else {
        let below = tree
            .as_ref()
            .and_then(|t| t.get_name(name))
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .map(|e| repo.find_tree(e.id()))
            .transpose()?;
        put(repo, below, rest, dir)?
    };
    let mut builder = repo.treebuilder(tree.as_ref())?;
    match child {
        Some(oid) => {
            builder.insert(name, oid, DIR_MODE)?;
        }
        None if builder.get(name)?.is_some() => builder.remove(name)?,
        None => {}
    }
    if builder.is_empty() {
        return Ok(None);
    }
    builder.write().map(Some)
}
