//! `rewrite`: the CI/CD rewriter on its own, over files and directories of a work tree.
//! Finds the files (never following links), rewrites each in memory, and with `write`
//! replaces each changed file atomically.

use std::path::{Path, PathBuf};

use super::{Error, Kind};
use crate::rewrite::{self, BranchMap, FileRewrite, RepoContext, Resolutions};

/// The options of a rewrite.
pub struct RewriteOptions {
    /// The branch renames to apply.
    pub map: BranchMap,
    /// Files or directories to rewrite.
    pub paths: Vec<PathBuf>,
    /// The repository's owner/name, for raw.githubusercontent.com URLs (default: from the
    /// `origin` of the repository holding the first path).
    pub slug: Option<String>,
    /// Write the changed files in place.
    pub write: bool,
    /// Review decisions.
    pub resolutions: Resolutions,
}

/// What a rewrite found and did.
pub struct Rewritten {
    /// Every file read, rewritten in memory (written too with `write`), in order.
    pub files: Vec<FileRewrite>,
    /// Paths not looked at, and why.
    pub skipped: Vec<String>,
    /// `path:line  why` for occurrences in walked files the rewriter could not read.
    pub not_covered: Vec<String>,
    /// Files that could not be rewritten (left untouched), with why.
    pub errors: Vec<String>,
}

/// Rewrites the files `opts` name; fails only when a path cannot be read or a changed
/// file cannot be written (naming those written before it).
pub fn rewrite(opts: &RewriteOptions) -> Result<Rewritten, Error> {
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for path in &opts.paths {
        collect(path, path.is_dir(), &mut candidates, &mut skipped)?;
    }
    let repo_ctx = RepoContext {
        slug: opts.slug.clone().or_else(|| opts.paths.first().and_then(|p| slug_of(p))),
        main_branch: "main".into(),
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut not_covered = Vec::new();
    for c in &candidates {
        match rewrite_one(c, &opts.map, &repo_ctx, &opts.resolutions) {
            Ok(Outcome::Rewritten(r)) => results.push((c, r)),
            Ok(Outcome::NotCovered(lines, why)) => {
                not_covered.extend(lines.into_iter().map(|l| format!("{}:{l}  {why}", c.shown)))
            }
            Err(e) => errors.push(e),
        }
    }
    if opts.write {
        for (c, r) in results.iter().filter(|(_, r)| r.changed()) {
            crate::atomic::write_atomic(&c.disk, r.rewritten.as_bytes()).map_err(|e| {
                Error::new(Kind::Failure, format!("cannot write {}: {e}", c.disk.display()))
                    .cause(format!("files written before it: {}", written_before(&results, c)))
            })?;
        }
    }
    let files = results.into_iter().map(|(_, r)| r).collect();
    Ok(Rewritten { files, skipped, not_covered, errors })
}

/// One file found under the given paths.
struct Candidate {
    /// Where it is on disk.
    disk: PathBuf,
    /// The name it goes by in output and `--resolve`: relative to the repository root
    /// when inside one, as given otherwise.
    shown: String,
    /// Found in a directory rather than named: such a file of other YAML that does not
    /// parse (a chart template) is listed as not covered instead of failing the run.
    walked: bool,
}

/// Why a file was not rewritten although it may name an old branch.
enum Outcome {
    Rewritten(FileRewrite),
    /// Lines naming an old branch in a walked file the rewriter could not read.
    NotCovered(Vec<usize>, String),
}

fn rewrite_one(
    c: &Candidate,
    map: &BranchMap,
    ctx: &RepoContext,
    res: &Resolutions,
) -> Result<Outcome, String> {
    let bytes = std::fs::read(&c.disk).map_err(|e| format!("{}: {e}", c.shown))?;
    if bytes.len() > crate::observe::ci::MAX_FILE_BYTES {
        return Err(format!(
            "{}: {} bytes, over the {}-byte limit for CI files",
            c.shown,
            bytes.len(),
            crate::observe::ci::MAX_FILE_BYTES
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        format!("{}: not UTF-8 text (byte {})", c.shown, e.utf8_error().valid_up_to())
    })?;
    match rewrite::rewrite_file(&c.shown, &text, map, ctx, res) {
        Ok(r) => Ok(Outcome::Rewritten(r)),
        Err(rewrite::RewriteError::Parse { message, .. })
            if c.walked
                && rewrite::classify(&c.shown, &text) == Some(rewrite::FileKind::OtherYaml) =>
        {
            let why = format!("does not parse as YAML ({message})");
            Ok(Outcome::NotCovered(rewrite::occurrence_lines(&text, map), why))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Adds the files under `path`: every file of a kind the rewriter understands in a
/// directory (by [`rewrite::classify`]), or the file itself. Links are never followed: a link could lead the write outside the tree.
fn collect(
    path: &Path,
    walk: bool,
    out: &mut Vec<Candidate>,
    skipped: &mut Vec<String>,
) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(path)
        .map_err(|e| Error::new(Kind::Failure, format!("cannot read {}: {e}", path.display())))?;
    if meta.file_type().is_symlink() {
        skipped.push(format!("{} (a symbolic link: not followed)", path.display()));
        return Ok(());
    }
    if meta.is_file() {
        let shown = shown_name(path);
        if !walk || rewrite::classify(&shown, &first_line(path)).is_some() {
            out.push(Candidate { disk: path.to_path_buf(), shown, walked: walk });
        }
        return Ok(());
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if matches!(name, ".git" | "node_modules" | "target" | "vendor") {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| Error::new(Kind::Failure, format!("cannot list {}: {e}", path.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        collect(&entry, true, out, skipped)?;
    }
    Ok(())
}

/// The first line of a file (for its shebang), or nothing when it cannot be read.
fn first_line(path: &Path) -> String {
    use std::io::{BufRead, BufReader, Read};
    let mut line = String::new();
    if let Ok(f) = std::fs::File::open(path) {
        let _ = BufReader::new(f).take(512).read_line(&mut line);
    }
    line
}

/// The path relative to its repository's root, when it is inside one.
fn shown_name(path: &Path) -> String {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let root =
        git2::Repository::discover(&abs).ok().and_then(|r| r.workdir().map(Path::to_path_buf));
    let root = root.and_then(|r| std::fs::canonicalize(r).ok());
    match root.as_deref().and_then(|r| abs.strip_prefix(r).ok()) {
        Some(rel) => rel.to_string_lossy().replace('\\', "/"),
        None => path.to_string_lossy().into_owned(),
    }
}

/// `owner/name` from the `origin` of the repository holding `path`.
fn slug_of(path: &Path) -> Option<String> {
    let repo = git2::Repository::discover(path).ok()?;
    let remote = repo.find_remote("origin").ok()?;
    crate::observe::ci::github_slug(remote.url().ok()?)
}

fn written_before(results: &[(&Candidate, FileRewrite)], failed: &Candidate) -> String {
    let names: Vec<&str> = results
        .iter()
        .filter(|(_, r)| r.changed())
        .map(|(c, _)| c.shown.as_str())
        .take_while(|s| *s != failed.shown)
        .collect();
    if names.is_empty() { "none".to_string() } else { names.join(", ") }
}
