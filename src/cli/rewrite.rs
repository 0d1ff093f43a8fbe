//! `rebranch rewrite`: the CI/CD rewriter on its own ([`ops::rewrite`]), over files and
//! directories of a work tree. Shows the diff and the review list; `--write` replaces each
//! changed file atomically.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{CliError, Ctx, Kind};
use crate::ops::{self, rewrite::RewriteOptions, rewrite::Rewritten};
use crate::rewrite::BranchMap;

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

pub fn cmd_rewrite(ctx: &Ctx<'_>, args: &RewriteArgs) -> Result<u8, CliError> {
    let map = BranchMap::parse_pairs(&args.branches).map_err(|e| {
        CliError::new(Kind::Usage, e.to_string())
            .hint("write --branch OLD=NEW, e.g. --branch charts=release")
    })?;
    let resolutions = ops::request::target(&ctx.plan_options()?, &ctx.lookup())?.resolutions;
    let opts = RewriteOptions {
        map,
        paths: args.paths.clone(),
        slug: args.slug.clone(),
        write: args.write,
        resolutions,
    };
    let done = ops::rewrite::rewrite(&opts)?;
    if ctx.json() {
        ctx.ui.out(&json_report(&done));
    } else {
        ctx.ui.out(&text_report(ctx, &done, args.write));
    }
    if done.errors.is_empty() {
        return Ok(0);
    }
    let mut err = CliError::new(
        Kind::Failure,
        format!("{} file(s) could not be rewritten and were left untouched", done.errors.len()),
    );
    for e in &done.errors {
        err = err.cause(e.clone());
    }
    Err(err.hint(
        "fix the files named above (the position is where the parser stopped), then run again",
    ))
}

fn text_report(ctx: &Ctx<'_>, done: &Rewritten, wrote: bool) -> String {
    let (results, skipped, not_covered) = (&done.files, &done.skipped, &done.not_covered);
    let style = ctx.ui.out_style;
    let mut out = String::new();
    for r in results {
        for line in r.unified_diff().lines() {
            out.push_str(&style.diff_line(line));
            out.push('\n');
        }
        for n in &r.notes {
            out.push_str(&format!("{} {}: {n}\n", style.paint("33", "note:"), r.path));
        }
    }
    let reviews: Vec<_> = results.iter().flat_map(|r| r.reviews().map(move |o| (r, o))).collect();
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
    let changed = results.iter().filter(|r| r.changed()).count();
    let refs: usize =
        results.iter().map(|r| r.occurrences.iter().filter(|o| o.old != o.new).count()).sum();
    let verb = if wrote { "rewrote" } else { "would rewrite" };
    out.push_str(&format!(
        "\n{} file(s) read; {verb} {refs} reference(s) in {changed} file(s); {} to review.{}\n",
        results.len(),
        reviews.len(),
        if wrote || changed == 0 { "" } else { " Run with --write to write them." }
    ));
    out
}

fn json_report(done: &Rewritten) -> String {
    let (results, errors, not_covered) = (&done.files, &done.errors, &done.not_covered);
    let files: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
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
