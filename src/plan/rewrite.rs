//! Planning the CI/CD rewrite: every candidate file through the rewriter, the review items
//! it leaves, and the rewrite commit — whose id is computed here by hashing the objects it
//! will consist of, so the plan can show it and the apply can prove it made exactly it.
//!
//! The files are streamed: each text is read when its file's turn comes and dropped once
//! it is rewritten, so the texts of all candidate files are never held at once.

use git2::{ObjectType, Oid};
use serde::{Deserialize, Serialize};

use super::PlanError;
use super::action::{CiCommit, CiFileChange, Identity};
use crate::observe::ci::{CiFile, CiSnapshot, Texts, TreeEntry};
use crate::rewrite::{self, BranchMap, RepoContext, Resolutions, RewriteError, Verdict};
use crate::spec::{RewriteDef, Target};

/// An occurrence the rewriter cannot decide: shown, left unchanged unless resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub path: String,
    pub line: usize,
    pub column: usize,
    pub word: String,
    pub context: String,
    pub reason: String,
    /// The source line, for display.
    pub text: String,
    /// Up to two numbered lines before and after it, for context.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<(usize, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<(usize, String)>,
}

/// What the rewrite contributes to a plan.
#[derive(Debug, Default)]
pub struct CiPlan {
    pub commit: Option<CiCommit>,
    pub reviews: Vec<ReviewItem>,
}

/// Rewrites each candidate file in memory and plans the commit, if anything changes.
///
/// Each file's text is read through `texts` when its turn comes and dropped once it is
/// rewritten: what stays is a changed file's new content and diff, and the review items.
pub fn plan(
    target: &Target,
    def: &RewriteDef,
    remote: &str,
    ci: &CiSnapshot,
    texts: &dyn Texts,
) -> Result<CiPlan, PlanError> {
    let map = BranchMap::new(def.branches.clone()).map_err(|e| PlanError {
        message: format!("the plan's [rewrite] branches are not usable: {e}"),
        hint: "check the plan file's [rewrite] branches table and the from/to variables"
            .to_string(),
    })?;
    let ctx = RepoContext { slug: ci.slug.clone(), main_branch: def.commit_on.clone() };
    let mut out = CiPlan::default();
    let mut changes = Vec::new();
    for file in &ci.files {
        let text = texts.text(file.blob);
        let outcome = rewrite_one(file, text, &map, &ctx, &target.resolutions, &def.commit_on)?;
        out.reviews.extend(outcome.reviews);
        changes.extend(outcome.change);
    }
    if changes.is_empty() {
        return Ok(out);
    }
    let (name, email) = ci.identity.clone().ok_or_else(|| PlanError {
        message: "the CI rewrite needs a commit author, and git has no user.name or user.email here".to_string(),
        hint: "set them with `git config user.name \"…\"` and `git config user.email …`, then plan again".to_string(),
    })?;
    let author = Identity { name, email, time: ci.now };
    let message = if def.message.ends_with('\n') {
        def.message.clone()
    } else {
        format!("{}\n", def.message)
    };
    let tree = tree_id(ci, &changes)?;
    let commit = commit_id(tree, ci.base, &author, &message)?;
    out.commit = Some(CiCommit {
        remote: remote.to_string(),
        branch: def.commit_on.clone(),
        parent: ci.base.to_string(),
        commit: commit.to_string(),
        author,
        message,
        files: changes,
        back: false,
    });
    Ok(out)
}

/// What one file contributes to the plan. The file's original text is not in it: it is
/// dropped as soon as the file is rewritten.
#[derive(Debug, Default)]
struct FileOutcome {
    reviews: Vec<ReviewItem>,
    change: Option<CiFileChange>,
}

/// Rewrites one file, whose text (or why it could not be read) is `text`.
fn rewrite_one(
    file: &CiFile,
    text: Result<String, String>,
    map: &BranchMap,
    ctx: &RepoContext,
    resolutions: &Resolutions,
    commit_on: &str,
) -> Result<FileOutcome, PlanError> {
    let text = text.map_err(|why| PlanError {
        message: format!("{} on `{commit_on}` cannot be rewritten: {why}", file.path),
        hint: "fix the file, or drop its pattern from the plan's [rewrite] files".to_string(),
    })?;
    let result = match rewrite::rewrite_file(&file.path, &text, map, ctx, resolutions) {
        Ok(r) => r,
        Err(RewriteError::Unsupported { .. }) => return Ok(FileOutcome::default()),
        Err(e) => {
            return Err(PlanError {
                message: format!("{e} (on `{commit_on}`)"),
                hint: "nothing was changed; fix the file on that branch, or drop its pattern from the plan's [rewrite] files".to_string(),
            });
        }
    };
    let reviews = reviews(&result, &text);
    if !result.changed() {
        return Ok(FileOutcome { reviews, change: None });
    }
    let rewrites = result
        .occurrences
        .iter()
        .filter(|o| o.verdict == Verdict::Rewrite && o.old != o.new)
        .count();
    let new_blob =
        Oid::hash_object(ObjectType::Blob, result.rewritten.as_bytes()).map_err(hash_err)?;
    let change = CiFileChange {
        path: file.path.clone(),
        old_blob: file.blob.to_string(),
        new_blob: new_blob.to_string(),
        diff: result.unified_diff(),
        content: result.rewritten,
        rewrites,
        notes: result.notes,
    };
    Ok(FileOutcome { reviews, change: Some(change) })
}

fn reviews(result: &rewrite::FileRewrite, text: &str) -> Vec<ReviewItem> {
    let lines: Vec<&str> = text.lines().collect();
    let numbered = |from: usize, to: usize| -> Vec<(usize, String)> {
        (from..to.min(lines.len())).map(|i| (i + 1, lines[i].trim_end().to_string())).collect()
    };
    result
        .reviews()
        .map(|o| ReviewItem {
            path: result.path.clone(),
            line: o.line,
            column: o.column,
            word: o.old.clone(),
            context: o.context.clone(),
            reason: o.reason.clone(),
            text: lines.get(o.line - 1).unwrap_or(&"").trim_end().to_string(),
            before: numbered(o.line.saturating_sub(3), o.line - 1),
            after: numbered(o.line, o.line + 2),
        })
        .collect()
}

/// The id of the root tree after replacing the changed files' blobs.
fn tree_id(ci: &CiSnapshot, changes: &[CiFileChange]) -> Result<Oid, PlanError> {
    let mut trees = ci.trees.clone();
    let mut dirs: Vec<String> = trees.keys().cloned().collect();
    // Deepest first, so each directory's new id is known before its parent is hashed.
    dirs.sort_by_key(|d| {
        std::cmp::Reverse(if d.is_empty() { 0 } else { d.matches('/').count() + 1 })
    });
    for change in changes {
        let (dir, name) = change.path.rsplit_once('/').unwrap_or(("", &change.path));
        let oid = Oid::from_str(&change.new_blob).map_err(hash_err)?;
        set_entry(&mut trees, dir, name, oid);
    }
    let mut root = None;
    for dir in dirs {
        let entries = trees.get(&dir).cloned().unwrap_or_default();
        let oid = Oid::hash_object(ObjectType::Tree, &tree_bytes(&entries)).map_err(hash_err)?;
        match dir.rsplit_once('/') {
            _ if dir.is_empty() => root = Some(oid),
            Some((parent, name)) => set_entry(&mut trees, parent, name, oid),
            None => set_entry(&mut trees, "", &dir, oid),
        }
    }
    root.ok_or_else(|| hash_err(git2::Error::from_str("no root tree")))
}

fn set_entry(
    trees: &mut std::collections::BTreeMap<String, Vec<TreeEntry>>,
    dir: &str,
    name: &str,
    oid: Oid,
) {
    if let Some(entry) = trees.get_mut(dir).and_then(|es| es.iter_mut().find(|e| e.name == name)) {
        entry.oid = oid;
    }
}

/// A tree object's content: `<mode> <name>\0<20-byte id>` per entry, in the stored order.
fn tree_bytes(entries: &[TreeEntry]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        out.extend_from_slice(format!("{:o} {}\0", e.mode, e.name).as_bytes());
        out.extend_from_slice(e.oid.as_bytes());
    }
    out
}

/// The id git gives a commit with this tree, parent, author (as committer too) and message.
pub fn commit_id(
    tree: Oid,
    parent: Oid,
    author: &Identity,
    message: &str,
) -> Result<Oid, PlanError> {
    let who = format!("{} <{}> {} +0000", author.name, author.email, author.time);
    let body = format!("tree {tree}\nparent {parent}\nauthor {who}\ncommitter {who}\n\n{message}");
    Oid::hash_object(ObjectType::Commit, body.as_bytes()).map_err(hash_err)
}

fn hash_err(e: git2::Error) -> PlanError {
    PlanError {
        message: format!("cannot compute the rewrite commit: {}", e.message()),
        hint: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::collections::BTreeMap;

    use super::*;
    use crate::spec::Spec;

    const CHANGED: &str = "on:\n  push:\n    branches: [charts]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: git push origin HEAD:charts\n";
    const REVIEWED: &str = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - name: push to charts\n        run: echo\n";
    const UNCHANGED: &str =
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";
    const BROKEN: &str = "on:\n  push:\n    branches: [charts\n";

    /// A snapshot of workflows with these texts, and the texts by blob.
    fn snapshot(
        texts: &[(&str, Result<&str, &str>)],
    ) -> (CiSnapshot, BTreeMap<Oid, Result<String, String>>) {
        let dir = ".github/workflows";
        let mut files = Vec::new();
        let mut blobs = BTreeMap::new();
        let mut entries = Vec::new();
        for (name, text) in texts {
            let bytes = text.unwrap_or_else(|why| why);
            let blob =
                Oid::hash_object(ObjectType::Blob, format!("{name}{bytes}").as_bytes()).unwrap();
            files.push(CiFile { path: format!("{dir}/{name}"), blob });
            entries.push(TreeEntry { name: name.to_string(), mode: 0o100644, oid: blob });
            blobs.insert(blob, text.map(str::to_string).map_err(str::to_string));
        }
        let tree =
            |name: &str| TreeEntry { name: name.to_string(), mode: 0o040000, oid: Oid::ZERO_SHA1 };
        let trees = BTreeMap::from([
            (String::new(), vec![tree(".github")]),
            (".github".to_string(), vec![tree("workflows")]),
            (dir.to_string(), entries),
        ]);
        let ci = CiSnapshot {
            base: Oid::from_str(&"a".repeat(40)).unwrap(),
            files,
            trees,
            identity: Some(("Bench".into(), "bench@example.invalid".into())),
            now: 1_700_000_000,
            slug: Some("acme/helm-charts".into()),
            links: Vec::new(),
        };
        (ci, blobs)
    }

    fn plan_as(ci: &CiSnapshot, texts: &dyn Texts) -> Result<CiPlan, PlanError> {
        let target = Spec::builtin().resolve(&[], &|_| None).unwrap();
        let def = target.rewrite.clone().unwrap();
        plan(&target, &def, "origin", ci, texts)
    }

    #[test]
    fn each_file_is_read_once_in_path_order_and_planned() {
        let names: Vec<String> = (0..30).map(|i| format!("w{i:03}.yml")).collect();
        let kinds = [CHANGED, REVIEWED, UNCHANGED];
        let texts: Vec<(&str, Result<&str, &str>)> =
            names.iter().enumerate().map(|(i, n)| (n.as_str(), Ok(kinds[i % 3]))).collect();
        let (ci, blobs) = snapshot(&texts);
        let read = std::cell::RefCell::new(Vec::new());
        let planned = plan_as(&ci, &|blob: Oid| {
            read.borrow_mut().push(blob);
            blobs[&blob].clone()
        })
        .unwrap();
        assert_eq!(*read.borrow(), ci.files.iter().map(|f| f.blob).collect::<Vec<_>>());
        let commit = planned.commit.expect("a commit");
        let changed: Vec<&str> = commit.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(changed.len(), 10);
        assert!(changed.iter().all(|p| ci.files.iter().step_by(3).any(|f| f.path == *p)));
        assert_eq!(commit.files[0].content, CHANGED.replace("charts", "release"));
        assert_eq!(planned.reviews.len(), 10);
        assert_eq!(planned.reviews[0].path, ".github/workflows/w001.yml");
        assert_eq!(planned.reviews[0].text, "      - name: push to charts");
    }

    #[test]
    fn the_first_unusable_file_by_path_is_reported_and_no_later_file_is_read() {
        let mut texts: Vec<(String, Result<&str, &str>)> =
            (0..200).map(|i| (format!("w{i:03}.yml"), Ok(CHANGED))).collect();
        texts[170].1 = Ok(BROKEN);
        texts[120].1 = Err("it is not UTF-8 text (byte 7)");
        texts[190].1 = Ok(BROKEN);
        let texts: Vec<(&str, Result<&str, &str>)> =
            texts.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let (ci, blobs) = snapshot(&texts);
        let read = Cell::new(0);
        let counted = |blob: Oid| {
            read.set(read.get() + 1);
            blobs[&blob].clone()
        };
        let err = plan_as(&ci, &counted).unwrap_err();
        assert_eq!(
            err.message,
            ".github/workflows/w120.yml on `main` cannot be rewritten: it is not UTF-8 text (byte 7)"
        );
        assert_eq!(err.hint, "fix the file, or drop its pattern from the plan's [rewrite] files");
        assert_eq!(read.get(), 121);
        // Without the unreadable file: the first of the two that do not parse.
        let (mut ci, blobs) = snapshot(&texts);
        ci.files.remove(120);
        let err = plan_as(&ci, &|blob: Oid| blobs[&blob].clone()).unwrap_err();
        assert!(err.message.starts_with(".github/workflows/w170.yml:4:1: "), "{}", err.message);
        assert!(err.message.ends_with(" (on `main`)"), "{}", err.message);
    }
}
