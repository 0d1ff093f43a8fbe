//! The tree of a chart branch's commit, computed without writing anything: `main`'s trees
//! along the chart's path with the chart's directory put in (or taken out), hashed the way
//! git hashes them. [`super::write`] builds the same tree with git at apply time.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use git2::{ObjectType, Oid};

use crate::observe::ci::TreeEntry;

pub use crate::git::tree::DIR_MODE;

/// The id of the root tree `trees[""]` with the directory at `path` set to `dir` (`None`:
/// removed). `trees` maps each directory along `path` (`""` for the root) to its entries;
/// a directory that is not there is empty, and a directory left empty disappears, as git
/// keeps no empty trees.
pub fn with_dir(
    trees: &BTreeMap<String, Vec<TreeEntry>>,
    path: &str,
    dir: Option<Oid>,
) -> Result<Oid, git2::Error> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match put(trees, "", &parts, dir)? {
        Some(root) => Ok(root),
        None => Oid::hash_object(ObjectType::Tree, b""),
    }
}

fn put(
    trees: &BTreeMap<String, Vec<TreeEntry>>,
    at: &str,
    parts: &[&str],
    dir: Option<Oid>,
) -> Result<Option<Oid>, git2::Error> {
    let Some((name, rest)) = parts.split_first() else { return Ok(dir) };
    let child = if rest.is_empty() {
        dir
    } else {
        let below = if at.is_empty() { name.to_string() } else { format!("{at}/{name}") };
        put(trees, &below, rest, dir)?
    };
    let mut entries: Vec<TreeEntry> = trees
        .get(at)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|e| e.name != *name)
        .collect();
    if let Some(oid) = child {
        entries.push(TreeEntry { name: name.to_string(), mode: DIR_MODE, oid });
    }
    if entries.is_empty() {
        return Ok(None);
    }
    entries.sort_by(git_order);
    TreeEntry::tree_id(&entries).map(Some)
}

/// Git sorts a tree's entries by name, a directory's name compared as if it ended in `/`.
fn git_order(a: &TreeEntry, b: &TreeEntry) -> Ordering {
    let key = |e: &TreeEntry| {
        let mut k = e.name.as_bytes().to_vec();
        if e.mode == DIR_MODE {
            k.push(b'/');
        }
        k
    };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(text: &str) -> Oid {
        Oid::hash_object(ObjectType::Blob, text.as_bytes()).unwrap()
    }

    /// The hashes agree with what git writes, for a replaced, an added and a removed chart.
    #[test]
    fn hashes_match_the_trees_git_writes() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let mk = |files: &[(&str, &str)]| {
            let mut b = repo.treebuilder(None).unwrap();
            for (n, t) in files {
                b.insert(n, repo.blob(t.as_bytes()).unwrap(), 0o100644).unwrap();
            }
            b.write().unwrap()
        };
        let a = mk(&[("Chart.yaml", "name: a\n")]);
        let a2 = mk(&[("Chart.yaml", "name: a\nversion: 2\n")]);
        let b = mk(&[("Chart.yaml", "name: b\n")]);
        let mut charts = repo.treebuilder(None).unwrap();
        charts.insert("a", a, DIR_MODE).unwrap();
        charts.insert("b", b, DIR_MODE).unwrap();
        let charts = charts.write().unwrap();
        let mut root = repo.treebuilder(None).unwrap();
        root.insert("charts", charts, DIR_MODE).unwrap();
        root.insert("charts.md", repo.blob(b"x").unwrap(), 0o100644).unwrap();
        root.insert("README.md", repo.blob(b"r").unwrap(), 0o100644).unwrap();
        let root = repo.find_tree(root.write().unwrap()).unwrap();
        let entries = |t: &git2::Tree<'_>| {
            t.iter()
                .map(|e| TreeEntry {
                    name: e.name().unwrap().into(),
                    mode: e.filemode(),
                    oid: e.id(),
                })
                .collect::<Vec<_>>()
        };
        let trees = BTreeMap::from([
            (String::new(), entries(&root)),
            ("charts".to_string(), entries(&repo.find_tree(charts).unwrap())),
        ]);
        for (path, dir) in [
            ("charts/a", Some(a2)),
            ("charts/c", Some(b)),
            ("charts/b", None),
            ("charts-x/a", Some(a)),
            ("new/deep/c", Some(a)),
        ] {
            let planned = with_dir(&trees, path, dir).unwrap();
            let written = super::super::write::tree_with_dir(&repo, root.id(), path, dir).unwrap();
            assert_eq!(planned, written, "{path}");
        }
        assert_ne!(blob("a"), blob("b"));
    }
}
