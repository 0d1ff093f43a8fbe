//! Planning the CI/CD rewrite: every candidate file through the rewriter, the review items
//! it leaves, and the rewrite commit — whose id is computed here by hashing the objects it
//! will consist of, so the plan can show it and the apply can prove it made exactly it.
//!
//! The files are streamed: each text is read when its file's turn comes (or taken from the
//! ones the snapshot's search kept) and dropped once it is rewritten, and the rewriting runs on as many threads as there are cores (see
//! [`stream`]). The result does not depend on the number of threads.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use git2::{ObjectType, Oid};
use serde::{Deserialize, Serialize};

use super::PlanError;
use super::action::{CiCommit, CiFileChange, Identity};
use crate::observe::ci::{CiFile, CiSnapshot, Texts, TreeEntry, Uncovered};
use crate::rewrite::{self, BranchMap, FileKind, RepoContext, Resolutions, RewriteError, Verdict};
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
    /// The snapshot's occurrences outside the rewrite, and those in files the rewriter
    /// could not parse but needs not (YAML that is not a CI file, e.g. a chart template).
    pub not_covered: Vec<Uncovered>,
}

/// At most this many threads rewrite files.
const MAX_WORKERS: usize = 8;
/// Each thread gets at least this many files (about a millisecond of rewriting, against
/// tens of microseconds to start a thread), so that a small repository is planned on the
/// calling thread alone.
const MIN_FILES_PER_WORKER: usize = 32;
/// Texts go to the threads in chunks of about this many bytes (a few dozen typical CI
/// files), so that handing them over costs a few wake-ups, not one per file.
const CHUNK_BYTES: usize = 16 * 1024;
/// How many chunks may wait for a free thread, per thread.
const QUEUE_PER_WORKER: usize = 2;

/// How the files are streamed through the rewriter.
#[derive(Debug, Clone, Copy)]
struct Streaming {
    /// Threads that rewrite; with one, everything runs on the calling thread.
    workers: usize,
    /// A chunk of texts is handed over once it holds this many bytes.
    chunk_bytes: usize,
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
    let how = Streaming { workers: workers_for(ci.files.len()), chunk_bytes: CHUNK_BYTES };
    plan_with(target, def, remote, ci, texts, how)
}

/// How many threads rewrite `files` files: one per core up to [`MAX_WORKERS`], and no
/// more than give each [`MIN_FILES_PER_WORKER`] files.
fn workers_for(files: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    cores.min(MAX_WORKERS).min(files / MIN_FILES_PER_WORKER).max(1)
}

/// [`plan`], streamed as `how` says.
fn plan_with(
    target: &Target,
    def: &RewriteDef,
    remote: &str,
    ci: &CiSnapshot,
    texts: &dyn Texts,
    how: Streaming,
) -> Result<CiPlan, PlanError> {
    let map = BranchMap::new(def.branches.clone()).map_err(|e| PlanError {
        message: format!("the plan's [rewrite] branches are not usable: {e}"),
        hint: "check the plan file's [rewrite] branches table and the from/to variables"
            .to_string(),
    })?;
    let ctx = RepoContext { slug: ci.slug.clone(), main_branch: def.commit_on.clone() };
    // The texts the snapshot's search kept are not read again.
    let texts = |blob: Oid| ci.kept.get(&blob).map_or_else(|| texts.text(blob), |t| Ok(t.clone()));
    let outcomes = stream(&ci.files, &texts, how, |file, text| {
        rewrite_one(file, text, &map, &ctx, &target.resolutions, &def.commit_on)
    })?;
    let mut out = CiPlan::default();
    let mut changes = Vec::new();
    out.not_covered = ci.not_covered.clone();
    for outcome in outcomes {
        out.reviews.extend(outcome.reviews);
        out.not_covered.extend(outcome.not_covered);
        changes.extend(outcome.change);
    }
    out.not_covered.sort();
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
        head: None,
    });
    Ok(out)
}

/// What one file contributes to the plan. The file's original text is not in it: it is
/// dropped as soon as the file is rewritten.
#[derive(Debug, Default)]
struct FileOutcome {
    reviews: Vec<ReviewItem>,
    change: Option<CiFileChange>,
    not_covered: Vec<Uncovered>,
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
        // YAML that is not a CI or tool config (a chart template with `{{ }}`, …) need not
        // parse: its occurrences are listed as not covered rather than failing the plan.
        Err(RewriteError::Parse { message, .. })
            if rewrite::classify(&file.path, &text) == Some(FileKind::OtherYaml) =>
        {
            let reason = format!("does not parse as YAML ({message})");
            let not_covered = rewrite::occurrence_lines(&text, map)
                .into_iter()
                .map(|line| Uncovered { path: file.path.clone(), line, reason: reason.clone() })
                .collect();
            return Ok(FileOutcome { not_covered, ..FileOutcome::default() });
        }
        Err(e) => {
            return Err(PlanError {
                message: format!("{e} (on `{commit_on}`)"),
                hint: "nothing was changed; fix the file on that branch, or drop its pattern from the plan's [rewrite] files".to_string(),
            });
        }
    };
    let reviews = reviews(&result, &text);
    if !result.changed() {
        return Ok(FileOutcome { reviews, change: None, not_covered: Vec::new() });
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
    Ok(FileOutcome { reviews, change: Some(change), not_covered: Vec::new() })
}

/// Runs `work` on each file with its text, and returns the results in file order, or the
/// error of the first failing file in that order.
///
/// The texts are read on the calling thread, one file after another (a repository handle
/// cannot be shared between threads), and go in chunks of about `how.chunk_bytes` to
/// `how.workers` threads through a queue of [`QUEUE_PER_WORKER`] chunks per thread. So at
/// most one chunk per thread, the queue's and the one being read are held at once, however
/// many files there are; `work` owns each text and drops it when done. With one worker no
/// thread is started and one text is held at a time.
///
/// Which error is reported does not depend on the threads' timing: once a file has failed,
/// files after it are no longer read or rewritten, and every file before it still is, in
/// case one of them fails too.
fn stream<R: Send>(
    files: &[CiFile],
    texts: &dyn Texts,
    how: Streaming,
    work: impl Fn(&CiFile, Result<String, String>) -> Result<R, PlanError> + Sync,
) -> Result<Vec<R>, PlanError> {
    if how.workers <= 1 {
        return files.iter().map(|file| work(file, texts.text(file.blob))).collect();
    }
    type Chunk = Vec<(usize, Result<String, String>)>;
    // The lowest index of a file that failed so far.
    let first_failure = AtomicUsize::new(usize::MAX);
    let (tx, rx) = mpsc::sync_channel::<Chunk>(how.workers * QUEUE_PER_WORKER);
    // Held by the workers only: if they all die, the reader's sends fail instead of waiting.
    let rx = Arc::new(Mutex::new(rx));
    let mut results: Vec<(usize, Result<R, PlanError>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..how.workers)
            .map(|_| {
                let (rx, work, first_failure) = (Arc::clone(&rx), &work, &first_failure);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    // The lock is held only while waiting for the next chunk.
                    while let Ok(Ok(chunk)) = rx.lock().map(|rx| rx.recv()) {
                        for (i, text) in chunk {
                            if i > first_failure.load(Ordering::Relaxed) {
                                continue;
                            }
                            let result = work(&files[i], text);
                            if result.is_err() {
                                first_failure.fetch_min(i, Ordering::Relaxed);
                            }
                            done.push((i, result));
                        }
                    }
                    done
                })
            })
            .collect();
        drop(rx);
        let mut chunk = Chunk::new();
        let mut bytes = 0;
        for (i, file) in files.iter().enumerate() {
            if i > first_failure.load(Ordering::Relaxed) {
                break;
            }
            let text = texts.text(file.blob);
            bytes += text.as_ref().map_or(0, String::len);
            chunk.push((i, text));
            if bytes >= how.chunk_bytes {
                bytes = 0;
                if tx.send(std::mem::take(&mut chunk)).is_err() {
                    break;
                }
            }
        }
        if !chunk.is_empty() {
            // Fails only when no worker is left, and then the join below says why.
            let _ = tx.send(chunk);
        }
        drop(tx);
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
            .collect()
    });
    results.sort_unstable_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
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
        let oid = TreeEntry::tree_id(&entries).map_err(hash_err)?;
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
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::*;
    use crate::spec::Spec;

    const CHANGED: &str = "on:\n  push:\n    branches: [charts]\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: git push origin HEAD:charts\n";
    const REVIEWED: &str = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - name: push to charts\n        run: echo\n";
    const UNCHANGED: &str =
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo\n";
    const BROKEN: &str = "on:\n  push:\n    branches: [charts\n";

    fn streaming(workers: usize, chunk_bytes: usize) -> Streaming {
        Streaming { workers, chunk_bytes }
    }

    /// The ways a plan may be streamed: on the calling thread, and on several threads with
    /// chunks of one text, of a few texts, and of the real size.
    fn every_streaming() -> Vec<Streaming> {
        vec![
            streaming(1, CHUNK_BYTES),
            streaming(2, 1),
            streaming(3, 300),
            streaming(4, CHUNK_BYTES),
            streaming(8, 1),
        ]
    }

    /// `n` files named `f000` … whose text is their index.
    fn numbered(n: usize) -> Vec<CiFile> {
        (0..n)
            .map(|i| CiFile {
                path: format!("f{i:03}"),
                blob: Oid::hash_object(ObjectType::Blob, i.to_string().as_bytes()).unwrap(),
            })
            .collect()
    }

    fn failure(i: usize) -> PlanError {
        PlanError { message: format!("file {i} failed"), hint: String::new() }
    }

    #[test]
    fn streamed_results_come_in_file_order_with_any_number_of_threads() {
        let files = numbered(300);
        let by_blob: BTreeMap<Oid, usize> =
            files.iter().enumerate().map(|(i, f)| (f.blob, i)).collect();
        let texts = |blob: Oid| Ok(by_blob[&blob].to_string());
        for how in every_streaming() {
            let got = stream(&files, &texts, how, |file, text| {
                let text = text.unwrap();
                // Later files finish sooner, so threads complete out of order.
                let i: usize = text.parse().unwrap();
                std::thread::sleep(Duration::from_micros(((300 - i) % 7) as u64 * 50));
                Ok(format!("{}={text}", file.path))
            })
            .unwrap();
            let want: Vec<String> = (0..300).map(|i| format!("f{i:03}={i}")).collect();
            assert_eq!(got, want, "{how:?}");
        }
    }

    #[test]
    fn the_first_failing_file_in_path_order_is_the_one_reported() {
        let files = numbered(300);
        let by_blob: BTreeMap<Oid, usize> =
            files.iter().enumerate().map(|(i, f)| (f.blob, i)).collect();
        let texts = |blob: Oid| {
            let i = by_blob[&blob];
            if i == 250 { Err("unreadable".to_string()) } else { Ok(i.to_string()) }
        };
        for how in every_streaming() {
            for _ in 0..5 {
                let err = stream(&files, &texts, how, |_, text| {
                    let Ok(text) = text else { return Err(failure(250)) };
                    let i: usize = text.parse().unwrap();
                    match i {
                        // The first failure in file order is the slowest to fail.
                        40 => {
                            std::thread::sleep(Duration::from_millis(20));
                            Err(failure(i))
                        }
                        41 | 120 | 299 => Err(failure(i)),
                        _ => Ok(i),
                    }
                })
                .unwrap_err();
                assert_eq!(err, failure(40), "{how:?}");
            }
        }
    }

    #[test]
    fn files_after_a_failure_are_not_read() {
        let files = numbered(2000);
        let read = AtomicUsize::new(0);
        let by_blob: BTreeMap<Oid, usize> =
            files.iter().enumerate().map(|(i, f)| (f.blob, i)).collect();
        let texts = |blob: Oid| {
            read.fetch_add(1, Ordering::Relaxed);
            Ok(format!("{:0100}", by_blob[&blob]))
        };
        for how in every_streaming() {
            read.store(0, Ordering::Relaxed);
            let err = stream(&files, &texts, how, |_, text| match text.unwrap().parse().unwrap() {
                3 => Err(failure(3)),
                i => {
                    std::thread::sleep(Duration::from_micros(200));
                    Ok(i)
                }
            })
            .unwrap_err();
            assert_eq!(err, failure(3), "{how:?}");
            // With small chunks, reading stops about a queue's length after the failure
            // (a generous bound: the thread that meets the failure may be descheduled
            // while the others go on).
            if how.chunk_bytes < CHUNK_BYTES {
                let read = read.load(Ordering::Relaxed);
                assert!(read < 1000, "{how:?}: {read} read");
            }
        }
    }

    #[test]
    fn only_a_bounded_number_of_texts_is_held_at_once() {
        let files = numbered(600);
        let (live, peak) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let texts = |_: Oid| {
            let now = live.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            Ok("x".repeat(100))
        };
        for how in every_streaming() {
            peak.store(0, Ordering::SeqCst);
            stream(&files, &texts, how, |_, text| {
                std::thread::sleep(Duration::from_micros(30));
                drop(text);
                live.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
            .unwrap();
            // A chunk is handed over once it holds `chunk_bytes`: texts of 100 bytes.
            let per_chunk = how.chunk_bytes.div_ceil(100);
            let chunks =
                if how.workers == 1 { 1 } else { how.workers * (QUEUE_PER_WORKER + 1) + 1 };
            let bound = (chunks * per_chunk).min(600);
            let peak = peak.load(Ordering::SeqCst);
            assert!(peak <= bound, "{how:?}: {peak} texts held at once, over {bound}");
            if how.chunk_bytes < CHUNK_BYTES {
                assert!(peak < 100, "{how:?}: {peak} texts held at once");
            }
        }
    }

    #[test]
    fn threads_are_started_only_for_enough_files() {
        assert_eq!(workers_for(0), 1);
        assert_eq!(workers_for(MIN_FILES_PER_WORKER * 2 - 1), 1);
        assert!(workers_for(100_000) <= MAX_WORKERS);
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(workers_for(100_000), cores.min(MAX_WORKERS));
    }

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
            not_covered: Vec::new(),
            kept: BTreeMap::new(),
        };
        (ci, blobs)
    }

    /// `n` workflows, `w000.yml`…, in turn changed, reviewed and unchanged by the rewrite.
    fn workflows(n: usize) -> (CiSnapshot, BTreeMap<Oid, Result<String, String>>) {
        let names: Vec<String> = (0..n).map(|i| format!("w{i:03}.yml")).collect();
        let kinds = [CHANGED, REVIEWED, UNCHANGED];
        let texts: Vec<(&str, Result<&str, &str>)> =
            names.iter().enumerate().map(|(i, n)| (n.as_str(), Ok(kinds[i % 3]))).collect();
        snapshot(&texts)
    }

    fn plan_as(ci: &CiSnapshot, texts: &dyn Texts, how: Streaming) -> Result<CiPlan, PlanError> {
        let target = Spec::builtin().resolve(&[], &|_| None).unwrap();
        let def = target.rewrite.clone().unwrap();
        plan_with(&target, &def, "origin", ci, texts, how)
    }

    #[test]
    fn each_file_is_read_once_in_path_order_and_planned() {
        let (ci, blobs) = workflows(30);
        let target = Spec::builtin().resolve(&[], &|_| None).unwrap();
        let def = target.rewrite.clone().unwrap();
        let read = std::cell::RefCell::new(Vec::new());
        let texts = |blob: Oid| {
            read.borrow_mut().push(blob);
            blobs[&blob].clone()
        };
        let planned = plan(&target, &def, "origin", &ci, &texts).unwrap();
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
    fn texts_the_snapshot_kept_are_not_read_again() {
        let (mut ci, blobs) = workflows(30);
        let texts = |blob: Oid| blobs[&blob].clone();
        let read_all = plan_as(&ci, &texts, streaming(1, CHUNK_BYTES)).unwrap();
        // The first half kept, as the search keeps texts until its budget is spent.
        let kept: Vec<Oid> = ci.files[..15].iter().map(|f| f.blob).collect();
        ci.kept = kept.iter().map(|b| (*b, blobs[b].clone().unwrap())).collect();
        let read = std::sync::Mutex::new(Vec::new());
        let counted = |blob: Oid| {
            read.lock().unwrap().push(blob);
            blobs[&blob].clone()
        };
        for how in every_streaming() {
            read.lock().unwrap().clear();
            let got = plan_as(&ci, &counted, how).unwrap();
            assert_eq!(got.commit, read_all.commit, "{how:?}");
            assert_eq!(got.reviews, read_all.reviews, "{how:?}");
            let read = read.lock().unwrap();
            assert_eq!(*read, ci.files[15..].iter().map(|f| f.blob).collect::<Vec<_>>(), "{how:?}");
        }
    }

    #[test]
    fn the_plan_is_the_same_with_one_thread_or_many() {
        let (ci, blobs) = workflows(200);
        let texts = |blob: Oid| blobs[&blob].clone();
        let alone = plan_as(&ci, &texts, streaming(1, CHUNK_BYTES)).unwrap();
        let commit = alone.commit.clone().expect("a commit");
        assert_eq!(commit.files.len(), 67);
        assert!(commit.files.windows(2).all(|w| w[0].path < w[1].path));
        assert_eq!(alone.reviews.len(), 67);
        for how in every_streaming() {
            let got = plan_as(&ci, &texts, how).unwrap();
            assert_eq!(got.commit, alone.commit, "{how:?}");
            assert_eq!(got.reviews, alone.reviews, "{how:?}");
        }
    }

    #[test]
    fn the_first_unusable_file_by_path_is_reported_with_any_number_of_threads() {
        let mut texts: Vec<(String, Result<&str, &str>)> =
            (0..200).map(|i| (format!("w{i:03}.yml"), Ok(CHANGED))).collect();
        texts[170].1 = Ok(BROKEN);
        texts[120].1 = Err("it is not UTF-8 text (byte 7)");
        texts[190].1 = Ok(BROKEN);
        let texts: Vec<(&str, Result<&str, &str>)> =
            texts.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let (ci, blobs) = snapshot(&texts);
        let read = AtomicUsize::new(0);
        let counted = |blob: Oid| {
            read.fetch_add(1, Ordering::Relaxed);
            blobs[&blob].clone()
        };
        for how in every_streaming() {
            read.store(0, Ordering::Relaxed);
            let err = plan_as(&ci, &counted, how).unwrap_err();
            assert_eq!(
                err.message,
                ".github/workflows/w120.yml on `main` cannot be rewritten: it is not UTF-8 text (byte 7)",
                "{how:?}"
            );
            assert_eq!(
                err.hint,
                "fix the file, or drop its pattern from the plan's [rewrite] files"
            );
            if how.workers == 1 {
                assert_eq!(read.load(Ordering::Relaxed), 121, "no file after it is read");
            }
        }
        // Without the unreadable file: the first of the two that do not parse.
        let (mut ci, blobs) = snapshot(&texts);
        ci.files.remove(120);
        let texts = |blob: Oid| blobs[&blob].clone();
        for how in every_streaming() {
            let err = plan_as(&ci, &texts, how).unwrap_err();
            assert!(
                err.message.starts_with(".github/workflows/w170.yml:4:1: "),
                "{how:?}: {}",
                err.message
            );
            assert!(err.message.ends_with(" (on `main`)"), "{}", err.message);
        }
    }
}
