//! Planning the CI/CD rewrite: every candidate file through the rewriter, the review items
//! it leaves, and the rewrite commit — whose id is computed here by hashing the objects it
//! will consist of, so the plan can show it and the apply can prove it made exactly it.

use git2::{ObjectType, Oid};
use serde::{Deserialize, Serialize};

use super::PlanError;
use super::action::{CiCommit, CiFileChange, Identity};
use crate::observe::ci::{CiSnapshot, TreeEntry};
use crate::rewrite::{self, BranchMap, RepoContext, RewriteError, Verdict};
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
pub fn plan(
    target: &Target,
    def: &RewriteDef,
    remote: &str,
    ci: &CiSnapshot,
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
        let text = file.text.as_ref().map_err(|why| PlanError {
            message: format!("{} on `{}` cannot be rewritten: {why}", file.path, def.commit_on),
            hint: "fix the file, or drop its pattern from the plan's [rewrite] files".to_string(),
        })?;
        let result = match rewrite::rewrite_file(&file.path, text, &map, &ctx, &target.resolutions)
        {
            Ok(r) => r,
            Err(RewriteError::Unsupported { .. }) => continue,
            Err(e) => {
                return Err(PlanError {
                    message: format!("{e} (on `{}`)", def.commit_on),
                    hint: "nothing was changed; fix the file on that branch, or drop its pattern from the plan's [rewrite] files".to_string(),
                });
            }
        };
        out.reviews.extend(reviews(&result, text));
        if result.changed() {
            let rewrites = result
                .occurrences
                .iter()
                .filter(|o| o.verdict == Verdict::Rewrite && o.old != o.new)
                .count();
            let new_blob = Oid::hash_object(ObjectType::Blob, result.rewritten.as_bytes())
                .map_err(hash_err)?;
            changes.push(CiFileChange {
                path: file.path.clone(),
                old_blob: file.blob.to_string(),
                new_blob: new_blob.to_string(),
                diff: result.unified_diff(),
                content: result.rewritten,
                rewrites,
                notes: result.notes,
            });
        }
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
