//! The CI/CD files a plan may rewrite, read from git objects on the branch the rewrite
//! commit goes to (never from the work tree), with the tree entries along their paths so
//! the planner can compute the rewrite commit's id without writing anything.
//!
//! The snapshot lists the files (path and blob id) and keeps the texts its search read of
//! the first of them, up to [`KEPT_TEXT_BYTES`] in all; the planner reads each other one
//! through [`Texts`] when it rewrites it and drops it after, so a plan over thousands of
//! files never holds them all at once.
//!
//! Coverage: every blob of the tree (within [`MAX_FILE_BYTES`], binary ones skipped) is
//! searched for the old branch names as whole words. A file of a kind the rewriter
//! understands ([`rewrite::classify`]) inside the plan's `files` globs becomes a candidate
//! when it names an old branch or may need an implicit default made explicit; every other
//! occurrence is listed as [`Uncovered`], so none goes unmentioned.

use std::collections::BTreeMap;

use git2::{ObjectType, Oid, Repository, Tree};

use serde::{Deserialize, Serialize};

use crate::git::GitError;
use crate::rewrite::{self, BranchMap, FileKind};

/// Files larger than this are refused rather than rewritten.
pub const MAX_FILE_BYTES: usize = 5 * 1024 * 1024;

/// The search keeps the candidate texts it read, up to this many bytes in all, so that the
/// planner does not read those blobs again; the planner reads the others when their turn
/// comes (as it streams them, this bounds what a snapshot adds to a plan's memory).
pub const KEPT_TEXT_BYTES: usize = 2 * 1024 * 1024;

/// What the rewrite is planned from.
#[derive(Debug, Clone, PartialEq)]
pub struct CiSnapshot {
    /// The remote tip of the branch the commit goes on.
    pub base: Oid,
    /// The candidate files, ordered by path.
    pub files: Vec<CiFile>,
    /// Directory (`""` for the root) → its entries, for every directory on a file's path.
    pub trees: BTreeMap<String, Vec<TreeEntry>>,
    /// `user.name` and `user.email` from git config, when set.
    pub identity: Option<(String, String)>,
    /// When the plan was made (Unix seconds): the rewrite commit's time.
    pub now: i64,
    /// `owner/name` of the remote, when it is a GitHub-style URL.
    pub slug: Option<String>,
    /// Matching paths that are symbolic links: never followed, so never rewritten.
    pub links: Vec<String>,
    /// Occurrences of an old name the rewrite does not read, by path and line.
    pub not_covered: Vec<Uncovered>,
    /// Candidate texts the search already read, by blob id (see [`KEPT_TEXT_BYTES`]).
    pub kept: BTreeMap<Oid, String>,
}

/// An occurrence of an old branch name that the CI rewrite does not read.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Uncovered {
    pub path: String,
    /// 1-based line.
    pub line: usize,
    /// Why it is not read: outside the plan's files, or a kind the rewriter does not know.
    pub reason: String,
}

/// One candidate file; its text is read through [`Texts`] when it is rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiFile {
    pub path: String,
    pub blob: Oid,
}

/// Where the planner reads the candidate files' texts from, one blob at a time: the
/// repository in a real plan, anything else in tests. Only the thread that plans calls it.
pub trait Texts {
    /// The blob's text, or why it cannot be read as text (shown to the user as is).
    fn text(&self, blob: Oid) -> Result<String, String>;
}

/// Blobs read from the repository's object database, within [`MAX_FILE_BYTES`].
impl Texts for Repository {
    fn text(&self, blob: Oid) -> Result<String, String> {
        read_text(self, blob)
    }
}

/// Any `Fn(Oid) -> Result<String, String>`, e.g. a lookup in a map in tests.
impl<F: Fn(Oid) -> Result<String, String>> Texts for F {
    fn text(&self, blob: Oid) -> Result<String, String> {
        self(blob)
    }
}

/// One entry of a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeEntry {
    pub name: String,
    pub mode: i32,
    pub oid: Oid,
}

impl TreeEntry {
    /// A tree's entries, in their stored order (names that are not UTF-8 are left out).
    pub fn list(tree: &git2::Tree<'_>) -> Vec<TreeEntry> {
        tree.iter()
            .filter_map(|e| {
                Some(TreeEntry {
                    name: e.name().ok()?.to_string(),
                    mode: e.filemode(),
                    oid: e.id(),
                })
            })
            .collect()
    }

    /// The id git gives a tree of these entries (`<mode> <name>\0<20-byte id>` each, in
    /// order), without writing it.
    pub fn tree_id(entries: &[TreeEntry]) -> Result<Oid, git2::Error> {
        let mut bytes = Vec::new();
        for e in entries {
            bytes.extend_from_slice(format!("{:o} {}\0", e.mode, e.name).as_bytes());
            bytes.extend_from_slice(e.oid.as_bytes());
        }
        Oid::hash_object(git2::ObjectType::Tree, &bytes)
    }
}

/// Reads the tree at commit `base`: the candidate files of kinds the rewriter understands
/// that match `patterns`, and every other occurrence of the old names in `branches`.
pub fn snapshot(
    repo: &Repository,
    base: Oid,
    patterns: &[String],
    branches: &[(String, String)],
    remote_url: &str,
) -> Result<CiSnapshot, GitError> {
    let doing = format!("read the CI files at {}", crate::git::short(base));
    let root = repo.find_commit(base).and_then(|c| c.tree()).map_err(GitError::from_git(&doing))?;
    let map = BranchMap::new(branches.to_vec()).ok();
    let mut files = BTreeMap::new();
    let mut trees = BTreeMap::new();
    let mut links = Vec::new();
    let mut not_covered = Vec::new();
    let mut blobs = Vec::new();
    root.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if let Ok(name) = entry.name() {
            let path = format!("{dir}{name}");
            if entry.filemode() == 0o120000 {
                if in_scope(patterns, &path) && rewrite::detect_kind(&path).is_some() {
                    links.push(path);
                }
            } else if matches!(entry.filemode(), 0o100644 | 0o100755)
                && entry.kind() == Some(ObjectType::Blob)
            {
                blobs.push((path, entry.id()));
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(GitError::from_git(&doing))?;
    let mut dirs = Dirs { repo, found: BTreeMap::from([(String::new(), Some(root))]) };
    let mut kept = BTreeMap::new();
    let mut room = KEPT_TEXT_BYTES;
    for (path, oid) in blobs {
        let in_scope = in_scope(patterns, &path);
        match scan(repo, &path, oid, map.as_ref(), if in_scope { room } else { 0 }) {
            Scan::Candidate { text, .. } if in_scope => {
                if let Some(text) = text {
                    room -= text.len();
                    kept.insert(oid, text);
                }
                let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_string();
                files.insert(path.clone(), CiFile { path, blob: oid });
                record_trees(&mut dirs, &dir, &mut trees);
            }
            Scan::Skip => {}
            Scan::Candidate { lines, .. } | Scan::Uncovered { lines, .. } if !in_scope => {
                not_covered.extend(lines.into_iter().map(|line| Uncovered {
                    path: path.clone(),
                    line,
                    reason: "outside the plan's [rewrite] files".to_string(),
                }));
            }
            Scan::Candidate { .. } => {}
            Scan::Uncovered { lines, reason } => {
                not_covered.extend(lines.into_iter().map(|line| Uncovered {
                    path: path.clone(),
                    line,
                    reason: reason.to_string(),
                }));
            }
        }
    }
    let identity = repo
        .signature()
        .ok()
        .and_then(|s| Some((s.name().ok()?.to_string(), s.email().ok()?.to_string())));
    Ok(CiSnapshot {
        base,
        files: files.into_values().collect(),
        trees,
        identity,
        now: commit_time(),
        slug: github_slug(remote_url),
        links,
        not_covered,
        kept,
    })
}

/// What the scan of one blob found.
enum Scan {
    /// A file the rewriter reads: it names an old branch (on these lines), or may rely on
    /// a default; its text when it was kept.
    Candidate {
        lines: Vec<usize>,
        text: Option<String>,
    },
    /// The old names occur on these lines, in a file the rewriter does not read, for this
    /// reason.
    Uncovered {
        lines: Vec<usize>,
        reason: &'static str,
    },
    Skip,
}

/// Reads one blob (once) and tells what it is to the rewrite; a candidate's text is kept
/// when it fits in `room` bytes, else dropped.
fn scan(repo: &Repository, path: &str, oid: Oid, map: Option<&BranchMap>, room: usize) -> Scan {
    let Some(map) = map else { return Scan::Skip };
    let Ok(blob) = repo.find_blob(oid) else {
        // Missing from a partial clone: nothing to read, so nothing to cover.
        return Scan::Skip;
    };
    let by_path = rewrite::detect_kind(path);
    let bytes = blob.content();
    if blob.size() > MAX_FILE_BYTES {
        return unreadable(by_path, bytes, map, "over the size limit for files the rewriter reads");
    }
    let binary = bytes[..bytes.len().min(8000)].contains(&0);
    if binary && by_path.is_none() {
        return Scan::Skip;
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return unreadable(by_path, bytes, map, "not UTF-8 text");
    };
    let kind = rewrite::classify(path, text);
    let lines = rewrite::occurrence_lines(text, map);
    match kind {
        Some(kind) if !lines.is_empty() || rewrite::may_rely_on_default(kind, text, map) => {
            // The same text the planner would read (`read_text`): UTF-8, within the limit.
            let text = (text.len() <= room).then(|| text.to_string());
            Scan::Candidate { lines, text }
        }
        _ if lines.is_empty() => Scan::Skip,
        _ => Scan::Uncovered { lines, reason: "not a kind of file the rewriter understands" },
    }
}

/// A file the rewriter cannot read (too large, not UTF-8). A CI or tool config stays a
/// candidate, so that the plan refuses it and says why, as it always did; any other file is
/// only searched, and its occurrences listed.
fn unreadable(by_path: Option<FileKind>, bytes: &[u8], map: &BranchMap, why: &'static str) -> Scan {
    if by_path.is_some_and(|k| {
        !matches!(k, FileKind::OtherYaml | FileKind::ShellScript | FileKind::Makefile)
    }) {
        return Scan::Candidate { lines: Vec::new(), text: None };
    }
    let lines = rewrite::occurrence_lines(&String::from_utf8_lossy(bytes), map);
    if lines.is_empty() { Scan::Skip } else { Scan::Uncovered { lines, reason: why } }
}

/// Whether `path` is inside the plan's `files` globs.
fn in_scope(patterns: &[String], path: &str) -> bool {
    patterns.iter().any(|p| path_glob_match(p, path))
}

/// A glob over a whole path: `*` and `?` match within one segment, `**` across segments
/// (`**/` also matches no directory at all).
pub fn path_glob_match(glob: &str, path: &str) -> bool {
    fn go(g: &[u8], p: &[u8]) -> bool {
        match g.first() {
            None => p.is_empty(),
            Some(b'*') if g.get(1) == Some(&b'*') => {
                let rest = if g.get(2) == Some(&b'/') { &g[3..] } else { &g[2..] };
                (0..=p.len()).any(|i| go(rest, &p[i..]))
            }
            Some(b'*') => (0..=p.len())
                .take_while(|&i| i == 0 || p[i - 1] != b'/')
                .any(|i| go(&g[1..], &p[i..])),
            Some(b'?') => p.first().is_some_and(|&c| c != b'/') && go(&g[1..], &p[1..]),
            Some(&c) => p.first() == Some(&c) && go(&g[1..], &p[1..]),
        }
    }
    go(glob.as_bytes(), path.as_bytes())
}

/// `*` matches any run of characters, `?` one character; no `/` is ever matched.
pub fn glob_match(glob: &str, name: &str) -> bool {
    fn go(g: &[char], n: &[char]) -> bool {
        match (g.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&g[1..], n) || (!n.is_empty() && go(g, &n[1..])),
            (Some('?'), Some(_)) => go(&g[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&g[1..], &n[1..]),
            _ => false,
        }
    }
    let g: Vec<char> = glob.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&g, &n)
}

/// `owner/name` from `https://github.com/owner/name.git`, `git@github.com:owner/name`, ….
pub fn github_slug(url: &str) -> Option<String> {
    let rest =
        url.split_once("github.com/").or_else(|| url.split_once("github.com:")).map(|(_, r)| r)?;
    let rest = rest.trim_end_matches('/').trim_end_matches(".git");
    let mut parts = rest.split('/');
    let (owner, name) = (parts.next()?, parts.next()?);
    (parts.next().is_none() && !owner.is_empty() && !name.is_empty())
        .then(|| format!("{owner}/{name}"))
}

/// The trees of directories at the base commit, each read once however many patterns
/// and files name it.
struct Dirs<'r> {
    repo: &'r Repository,
    found: BTreeMap<String, Option<Tree<'r>>>,
}

impl<'r> Dirs<'r> {
    /// The tree of `dir` (`""` for the root), if it is a directory.
    fn get(&mut self, dir: &str) -> Option<Tree<'r>> {
        if let Some(tree) = self.found.get(dir) {
            return tree.clone();
        }
        let (parent, name) = dir.rsplit_once('/').unwrap_or(("", dir));
        let tree = self.get(parent).and_then(|parent| {
            let entry = parent.get_name(name)?;
            (entry.kind() == Some(ObjectType::Tree))
                .then(|| self.repo.find_tree(entry.id()).ok())?
        });
        self.found.insert(dir.to_string(), tree.clone());
        tree
    }
}

/// Records the entries of the root and of each directory down to `dir`.
fn record_trees(dirs: &mut Dirs<'_>, dir: &str, trees: &mut BTreeMap<String, Vec<TreeEntry>>) {
    let mut prefix = String::new();
    let mut all = vec![String::new()];
    for part in dir.split('/').filter(|p| !p.is_empty()) {
        prefix = if prefix.is_empty() { part.to_string() } else { format!("{prefix}/{part}") };
        all.push(prefix.clone());
    }
    for d in all {
        if trees.contains_key(&d) {
            continue;
        }
        let Some(tree) = dirs.get(&d) else { continue };
        trees.insert(d, TreeEntry::list(&tree));
    }
}

fn read_text(repo: &Repository, blob: Oid) -> Result<String, String> {
    let blob = repo.find_blob(blob).map_err(|e| e.message().to_string())?;
    if blob.size() > MAX_FILE_BYTES {
        return Err(format!(
            "it is {} bytes, over the {MAX_FILE_BYTES}-byte limit for CI files",
            blob.size()
        ));
    }
    String::from_utf8(blob.content().to_vec())
        .map_err(|e| format!("it is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()))
}

/// The rewrite commit's time: `SOURCE_DATE_EPOCH` when set (reproducible plans), else now.
pub fn commit_time() -> i64 {
    if let Some(t) = std::env::var("SOURCE_DATE_EPOCH").ok().and_then(|v| v.parse().ok()) {
        return t;
    }
    i64::try_from(crate::time::now_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_one_segment() {
        assert!(glob_match("*.yml", "release.yml"));
        assert!(!glob_match("*.yml", "release.yaml"));
        assert!(glob_match("cr.yaml", "cr.yaml"));
        assert!(glob_match("?r.yaml", "cr.yaml"));
        assert!(!glob_match("*.yml", "a.yml.bak"));
    }

    #[test]
    fn path_globs() {
        assert!(path_glob_match("**", "hack/publish.sh"));
        assert!(path_glob_match(".github/workflows/*.yml", ".github/workflows/a.yml"));
        assert!(!path_glob_match(".github/workflows/*.yml", ".github/workflows/x/a.yml"));
        assert!(!path_glob_match("*.yml", "a/b.yml"));
        assert!(path_glob_match("**/*.sh", "publish.sh"));
        assert!(path_glob_match("**/*.sh", "hack/ci/publish.sh"));
        assert!(path_glob_match("hack/**", "hack/ci/publish.sh"));
        assert!(!path_glob_match("hack/**", "hacks/publish.sh"));
        assert!(path_glob_match("?r.yaml", "cr.yaml"));
    }

    #[test]
    fn slugs_come_from_github_urls() {
        assert_eq!(
            github_slug("https://github.com/acme/helm-charts.git").as_deref(),
            Some("acme/helm-charts")
        );
        assert_eq!(
            github_slug("git@github.com:acme/helm-charts").as_deref(),
            Some("acme/helm-charts")
        );
        assert_eq!(github_slug("https://***@github.com/acme/x/").as_deref(), Some("acme/x"));
        assert_eq!(github_slug("/tmp/origin.git"), None);
    }
}
