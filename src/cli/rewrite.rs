//! `rebranch rewrite`: the CI/CD rewriter on its own, over files and directories of a work
//! tree. Shows the diff and the review list; `--write` replaces each changed file atomically.

use std::path::{Path, PathBuf};

use clap::Args;
use serde_json::json;

use super::{CliError, Ctx, Kind};
use crate::ops;
use crate::rewrite::{self, BranchMap, FileRewrite, RepoContext};

#[derive(Debug, Args)]
pub struct RewriteArgs {
    /// A branch rename to apply, OLD=NEW (repeatable)
    #[arg(long = "branch", value_name = "OLD=NEW", required = true)]
    branches: Vec<String>,
    /// Write the changed files in place (atomically)
    #[arg(long)]
    write: bool,
    /// The repository's owner/name, for raw.githubusercontent.com URLs [default: from origin]
    #[arg(long, value_name = "OWNER/NAME")]
    slug: Option<String>,
    /// Files or directories to rewrite (in a directory: YAML, shell scripts by extension or
    /// shebang, Makefiles and *.mk, TOML, Renovate JSON)
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
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

pub fn cmd_rewrite(ctx: &Ctx<'_>, args: &RewriteArgs) -> Result<u8, CliError> {
    let map = BranchMap::parse_pairs(&args.branches).map_err(|e| {
        CliError::new(Kind::Usage, e.to_string())
            .hint("write --branch OLD=NEW, e.g. --branch charts=release")
    })?;
    let resolutions = ops::request::target(&ctx.plan_options()?, &ctx.lookup())?.resolutions;
    let mut candidates = Vec::new();
    let mut skipped = Vec::new();
    for path in &args.paths {
        collect(path, path.is_dir(), &mut candidates, &mut skipped)?;
    }
    let repo_ctx = RepoContext {
        slug: args.slug.clone().or_else(|| slug_of(&args.paths[0])),
        main_branch: "main".into(),
    };
    let mut results = Vec::new();
    let mut errors = Vec::new();
    let mut not_covered = Vec::new();
    for c in &candidates {
        match rewrite_one(c, &map, &repo_ctx, &resolutions) {
            Ok(Outcome::Rewritten(r)) => results.push((c, r)),
            Ok(Outcome::NotCovered(lines, why)) => {
                not_covered.extend(lines.into_iter().map(|l| format!("{}:{l}  {why}", c.shown)))
            }
            Err(e) => errors.push(e),
        }
    }
    if args.write {
        for (c, r) in results.iter().filter(|(_, r)| r.changed()) {
            crate::atomic::write_atomic(&c.disk, r.rewritten.as_bytes()).map_err(|e| {
                CliError::new(Kind::Failure, format!("cannot write {}: {e}", c.disk.display()))
                    .cause(format!("files written before it: {}", written_before(&results, c)))
            })?;
        }
    }
    if ctx.json() {
        ctx.ui.out(&json_report(&results, &errors, &not_covered));
    } else {
        ctx.ui.out(&text_report(ctx, &results, &skipped, &not_covered, args.write));
    }
    if errors.is_empty() {
        return Ok(0);
    }
    let mut err = CliError::new(
        Kind::Failure,
        format!("{} file(s) could not be rewritten and were left untouched", errors.len()),
    );
    for e in &errors {
        err = err.cause(e.clone());
    }
    Err(err.hint(
        "fix the files named above (the position is where the parser stopped), then run again",
    ))
}

fn rewrite_one(
    c: &Candidate,
    map: &BranchMap,
    ctx: &RepoContext,
    res: &rewrite::Resolutions,
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
) -> Result<(), CliError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| {
        CliError::new(Kind::Failure, format!("cannot read {}: {e}", path.display()))
    })?;
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
        .map_err(|e| CliError::new(Kind::Failure, format!("cannot list {}: {e}", path.display())))?
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

fn text_report(
    ctx: &Ctx<'_>,
    results: &[(&Candidate, FileRewrite)],
    skipped: &[String],
    not_covered: &[String],
    wrote: bool,
) -> String {
    let style = ctx.ui.out_style;
    let mut out = String::new();
    for (_, r) in results {
        for line in r.unified_diff().lines() {
            out.push_str(&style.diff_line(line));
            out.push('\n');
        }
        for n in &r.notes {
            out.push_str(&format!("{} {}: {n}\n", style.paint("33", "note:"), r.path));
        }
    }
    let reviews: Vec<_> =
        results.iter().flat_map(|(_, r)| r.reviews().map(move |o| (r, o))).collect();
    if !reviews.is_empty() {
        out.push_str(&format!(
            "\n{} occurrence(s) need review; each is left unchanged unless resolved with --resolve PATH:LINE:COLUMN=rewrite|keep:\n",
            reviews.len()
        ));
        for (r, o) in &reviews {
            let text = r.original.lines().nth(o.line - 1).unwrap_or_default().trim();
            out.push_str(&format!(
                "  {} {}:{}:{}  {text}\n",
                style.paint("33", "?"),
                r.path,
                o.line,
                o.column
            ));
            out.push_str(&format!(
                "      {}\n",
                style.dim(&format!("{} — {}", o.context, o.reason))
            ));
        }
    }
    for s in skipped {
        out.push_str(&format!("skipped {s}\n"));
    }
    for n in not_covered {
        out.push_str(&format!("{} {n}\n", style.paint("33", "not covered:")));
    }
    let changed = results.iter().filter(|(_, r)| r.changed()).count();
    let refs: usize =
        results.iter().map(|(_, r)| r.occurrences.iter().filter(|o| o.old != o.new).count()).sum();
    let verb = if wrote { "rewrote" } else { "would rewrite" };
    out.push_str(&format!(
        "\n{} file(s) read; {verb} {refs} reference(s) in {changed} file(s); {} to review.{}\n",
        results.len(),
        reviews.len(),
        if wrote || changed == 0 { "" } else { " Run with --write to write them." }
    ));
    out
}

fn json_report(
    results: &[(&Candidate, FileRewrite)],
    errors: &[String],
    not_covered: &[String],
) -> String {
    let files: Vec<serde_json::Value> = results
        .iter()
        .map(|(_, r)| {
            let occurrences: Vec<serde_json::Value> = r
                .occurrences
                .iter()
                .map(|o| json!({"line": o.line, "column": o.column, "verdict": o.verdict, "context": o.context, "old": o.old, "new": o.new, "reason": o.reason}))
                .collect();
            json!({"path": r.path, "changed": r.changed(), "occurrences": occurrences, "notes": r.notes})
        })
        .collect();
    let doc =
        json!({"format_version": 1, "files": files, "errors": errors, "not_covered": not_covered});
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
}
