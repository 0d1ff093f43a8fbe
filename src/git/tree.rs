//! Writing a tree with one path changed: the CI rewrite commit (a file at its new blob)
//! and a chart branch's commit (a directory as on `integration`) are both built this way,
//! from objects already in the repository.

use git2::{Oid, Repository, Tree};

/// The mode of a directory entry.
pub const DIR_MODE: i32 = 0o040000;

/// Writes `root` with the entry at `path` set to `leaf` (`(id, mode)`; `None`: removed) and
/// returns the new root's id. Directories missing along `path` are created; a directory
/// left empty disappears, as git keeps no empty trees.
pub fn set_path(
    repo: &Repository,
    root: Oid,
    path: &str,
    leaf: Option<(Oid, i32)>,
) -> Result<Oid, git2::Error> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let root = repo.find_tree(root)?;
    match put(repo, Some(root), &parts, leaf)? {
        Some(oid) => Ok(oid),
        None => repo.treebuilder(None)?.write(),
    }
}

fn put(
    repo: &Repository,
    tree: Option<Tree<'_>>,
    parts: &[&str],
    leaf: Option<(Oid, i32)>,
) -> Result<Option<Oid>, git2::Error> {
    let Some((name, rest)) = parts.split_first() else { return Ok(leaf.map(|(oid, _)| oid)) };
    let child = if rest.is_empty() {
        leaf
    } else {
        let below = tree
            .as_ref()
            .and_then(|t| t.get_name(name))
            .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
            .map(|e| repo.find_tree(e.id()))
            .transpose()?;
        put(repo, below, rest, leaf)?.map(|oid| (oid, DIR_MODE))
    };
    let mut builder = repo.treebuilder(tree.as_ref())?;
    match child {
        Some((oid, mode)) => {
            builder.insert(name, oid, mode)?;
        }
        None if builder.get(name)?.is_some() => builder.remove(name)?,
        None => {}
    }
    if builder.is_empty() {
        return Ok(None);
    }
    builder.write().map(Some)
}
