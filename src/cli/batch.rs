//! `rebranch batch plan|apply|status|rollback --repos FILE`: the single-repository commands
//! across the repositories of a batch file, in parallel, with a summary and a report.
//!
//! Each repository runs exactly what `rebranch plan`, `apply --yes`, `status` or
//! `rollback --yes` runs for it (its own lock and journal under its `.git/rebranch/`), on its
//! own thread, through [`crate::ops::batch`] with options built from the batch file and the
//! command line; an error in one becomes that repository's result and never stops the others.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::error::{code, detailed};
use super::{CliError, Ctx, GlobalArgs, Kind};
use crate::batch::report::{RepoReport, RepoResult, Report};
use crate::batch::shard::{self, Shard};
use crate::batch::{self, BatchFile, Only, RepoEntry};
use crate::ops::batch::{BatchOptions, Op};
use crate::ops::{self, PlanOptions};
use crate::ui::Ui;

#[derive(Debug, Args)]
pub struct BatchArgs {
    #[command(subcommand)]
    command: BatchCommand,
}

#[derive(Debug, Subcommand)]
enum BatchCommand {
    /// Plan every repository; changes nothing
    #[command(after_help = AFTER_HELP)]
    Plan(BatchPlanArgs),
    /// Apply the plan to every repository (needs --yes)
    #[command(after_help = AFTER_HELP)]
    Apply(BatchApplyArgs),
    /// Say which repositories match the plan's target
    #[command(after_help = AFTER_HELP)]
    Status(BatchPlanArgs),
    /// Undo the last apply of every repository (needs --yes)
    #[command(after_help = AFTER_HELP)]
    Rollback(BatchRollbackArgs),
    /// Merge the reports of a batch's shards into the batch's summary
    #[command(after_help = REPORT_AFTER_HELP)]
    Report(BatchReportArgs),
}

#[derive(Debug, Args)]
struct Common {
    /// The batch file (TOML): [defaults] and one [[repo]] per repository
    #[arg(long, value_name = "FILE")]
    repos: PathBuf,
    /// How many repositories to work on at once [default: the number of cores]
    #[arg(long, short = 'j', value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    /// Rerun only the repositories the last report shows as failed, or as not migrated
    #[arg(long, value_enum, value_name = "WHICH")]
    only: Option<OnlyArg>,
    /// Work on shard I of N only: the repositories whose name hashes to I (the same split on
    /// every machine); merge the shards' reports with `batch report --merge`
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Where the report goes (and where --only reads the last one) [default: in the work
    /// directory, rebranch-batch-report.json, or rebranch-batch-report.shard-I-of-N.json]
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct BatchReportArgs {
    /// The shards' reports, one per shard of the same batch command and file
    #[arg(long, value_name = "REPORT", required = true, num_args = 1..)]
    merge: Vec<PathBuf>,
    /// plan/status: exit 2 when any repository has changes pending
    #[arg(long)]
    detailed_exitcode: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OnlyArg {
    Failed,
    Pending,
}

#[derive(Debug, Args)]
struct BatchPlanArgs {
    #[command(flatten)]
    common: Common,
    /// Exit 2 when any repository has changes pending
    #[arg(long)]
    detailed_exitcode: bool,
}

#[derive(Debug, Args)]
struct BatchApplyArgs {
    #[command(flatten)]
    common: Common,
    /// Apply without asking (required: a batch never asks)
    #[arg(short = 'y', long)]
    yes: bool,
    /// Switch each site without waiting for it to serve the new branch (no Pages deployment or build, no index check)
    #[arg(long)]
    no_verify: bool,
}

#[derive(Debug, Args)]
struct BatchRollbackArgs {
    #[command(flatten)]
    common: Common,
    /// Roll back without asking (required: a batch never asks)
    #[arg(short = 'y', long)]
    yes: bool,
}

pub fn cmd_batch(ctx: &Ctx<'_>, args: &BatchArgs) -> Result<u8, CliError> {
    if ctx.global.repo != Path::new(".") {
        return Err(CliError::new(
            Kind::Usage,
            format!(
                "--repo {} names one repository, and a batch takes its repositories from the --repos file",
                ctx.global.repo.display()
            ),
        )
        .hint("drop --repo, or add the repository to the batch file as a [[repo]] with `path`"));
    }
    let (op, common, detailed) = match &args.command {
        BatchCommand::Plan(a) => (Op::Plan, &a.common, a.detailed_exitcode),
        BatchCommand::Status(a) => (Op::Status, &a.common, a.detailed_exitcode),
        BatchCommand::Apply(a) => {
            refuse_without_yes(a.yes, "apply")?;
            (Op::Apply { no_verify: a.no_verify }, &a.common, false)
        }
        BatchCommand::Rollback(a) => {
            refuse_without_yes(a.yes, "rollback")?;
            (Op::Rollback, &a.common, false)
        }
        BatchCommand::Report(a) => return cmd_merge(ctx, a),
    };
    let only = common.only.map(|o| match o {
        OnlyArg::Failed => Only::Failed,
        OnlyArg::Pending => Only::Pending,
    });
    let opts = BatchOptions {
        repos: common.repos.clone(),
        op,
        only,
        shard: common.shard,
        report: common.report.clone(),
    };
    let mut batch = ops::batch::prepare(&opts)?;
    let (file, in_shard) = (&batch.file, batch.in_shard);
    let selected: Vec<RepoEntry> = batch.selected().into_iter().cloned().collect();
    let jobs = common.jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if !selected.is_empty() {
        let of = match common.shard {
            Some(s) => format!("{in_shard} in shard {s} of the {}", file.repos.len()),
            None => file.repos.len().to_string(),
        };
        ctx.ui.status(&format!(
            "batch {}: {} of {of} repositories, {} at a time",
            op.name(),
            selected.len(),
            jobs.min(selected.len())
        ));
    }
    let names: Vec<&str> = selected.iter().map(|r| r.name.as_str()).collect();
    let display = ctx.ui.batch_progress(&names);
    let file = batch.file.clone();
    let mut write_error = None;
    batch::run_parallel(
        &selected,
        jobs,
        |i, entry| {
            let mut shown = display.repo(i);
            let ui = Ui { quiet: true, ..ctx.ui };
            let mut progress = super::Sink { ui, steps: &mut shown, outcome_json: false };
            let env = ctx.lookup();
            let services = ops::Services::new(&env);
            let dir = entry.dir(&file.workdir);
            let opts = repo_options(ctx.global, &file, entry, &dir);
            let line = ops::batch::run_repo(&file, entry, op, opts, &services, &mut progress);
            let ok = !matches!(line.result, RepoResult::Failed);
            shown.finish(ok, &result_words(&line));
            line
        },
        |i, line| {
            if let Err(e) = batch.record(&selected[i], line) {
                write_error.get_or_insert(e);
            }
        },
    );
    drop(display);

    if ctx.json() {
        ctx.ui.out(&batch.report.to_json());
    } else {
        let place = format!("Report: {}", batch.report_path.display());
        ctx.ui.out(&summary(&batch.report, &place, ctx.ui));
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(exit_code(op, &batch.report, detailed))
}

fn refuse_without_yes(yes: bool, command: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    Err(CliError::new(
        Kind::Failure,
        format!("batch {command} changes many repositories and their remotes, and never asks"),
    )
    .hint(
        "review them with `rebranch batch plan --repos FILE`, then pass --yes; nothing was changed",
    ))
}

/// The options for one repository of the batch. Plan variables apply in this order, later
/// ones winning: the batch file's defaults, `--set` on the command line, the repository's
/// own `set`. Review decisions from all three apply.
fn repo_options(
    global: &GlobalArgs,
    file: &BatchFile,
    entry: &RepoEntry,
    dir: &Path,
) -> Result<PlanOptions, CliError> {
    let sets = file
        .sets
        .iter()
        .cloned()
        .chain(super::parse_sets(&global.sets)?)
        .chain(entry.sets.iter().cloned())
        .collect();
    let resolves: Vec<String> =
        file.resolve.iter().chain(&global.resolves).chain(&entry.resolve).cloned().collect();
    Ok(PlanOptions {
        repo_path: dir.to_path_buf(),
        plan_file: entry.plan.clone().or_else(|| global.plan_file.clone()).or(file.plan.clone()),
        sets,
        resolves: super::parse_resolves(&resolves)?,
        no_fetch: global.no_fetch,
    })
}

/// The exit code of the whole batch, from its report.
fn exit_code(op: Op, report: &Report, detailed_exitcode: bool) -> u8 {
    let any = |r: RepoResult| report.repos.iter().any(|l| l.result == r);
    match op {
        Op::Apply { .. } if any(RepoResult::Failed) => code(Kind::Partial),
        Op::Apply { .. } if any(RepoResult::NeedsReview) => code(Kind::Review),
        Op::Rollback if any(RepoResult::Failed) => code(Kind::Partial),
        Op::Plan | Op::Status if any(RepoResult::Failed) => code(Kind::Failure),
        Op::Plan | Op::Status => {
            detailed(detailed_exitcode, any(RepoResult::Pending) || any(RepoResult::NeedsReview))
        }
        _ => 0,
    }
}

/// `batch report --merge`: the shards' reports as the report of the whole batch, with the
/// exit code the batch command would have had unsharded.
fn cmd_merge(ctx: &Ctx<'_>, args: &BatchReportArgs) -> Result<u8, CliError> {
    let mut reports = Vec::new();
    for path in &args.merge {
        let report = Report::load(path).map_err(|e| CliError::new(Kind::Failure, e.to_string()))?;
        reports.push((path.display().to_string(), report));
    }
    let merged = shard::merge(&reports).map_err(|e| CliError::new(Kind::Failure, e.to_string()))?;
    let Some(op) = Op::from_name(&merged.command) else {
        return Err(CliError::new(
            Kind::Failure,
            format!(
                "the reports are of `batch {}`, a command this rebranch does not know",
                merged.command
            ),
        ));
    };
    if ctx.json() {
        ctx.ui.out(&merged.to_json());
    } else {
        let names: Vec<String> = args.merge.iter().map(|p| p.display().to_string()).collect();
        let place = format!("Merged from: {}", names.join(", "));
        ctx.ui.out(&summary(&merged, &place, ctx.ui));
    }
    Ok(exit_code(op, &merged, args.detailed_exitcode))
}

/// The summary table and a count per result; `place` says where the report is.
fn summary(report: &Report, place: &str, ui: Ui) -> String {
    let style = ui.out_style;
    let rows: Vec<[String; 4]> = report
        .repos
        .iter()
        .map(|l| {
            let result = match (l.result, l.previous) {
                (RepoResult::Skipped, Some(p)) => format!("skipped (was {})", p.label()),
                (r, _) => r.label().to_string(),
            };
            let detail = l.error.clone().or_else(|| l.note.clone()).unwrap_or_default();
            [l.name.clone(), result, l.changes.to_string(), detail]
        })
        .collect();
    let header = ["REPOSITORY", "RESULT", "CHANGES", "DETAIL"].map(str::to_string);
    let width =
        |c: usize| rows.iter().chain([&header]).map(|r| r[c].chars().count()).max().unwrap_or(0);
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    let mut push_row = |r: &[String; 4], bold: bool| {
        let text = format!("{:w0$}  {:w1$}  {:>w2$}  {}", r[0], r[1], r[2], r[3]);
        let text = text.trim_end().to_string();
        out.push_str(&if bold { style.bold(&text) } else { text });
        out.push('\n');
    };
    push_row(&header, true);
    for r in &rows {
        push_row(r, false);
    }
    let mut counts: Vec<(RepoResult, usize)> = Vec::new();
    for l in &report.repos {
        match counts.iter_mut().find(|(r, _)| *r == l.result) {
            Some((_, n)) => *n += 1,
            None => counts.push((l.result, 1)),
        }
    }
    let counts: Vec<String> = counts.iter().map(|(r, n)| format!("{n} {}", r.label())).collect();
    out.push_str(&format!(
        "\n{} repositories: {}.\n{place}\n",
        report.repos.len(),
        counts.join(", "),
    ));
    out
}

fn result_words(line: &RepoReport) -> String {
    let mut text = line.result.label().to_string();
    if line.changes > 0 {
        text.push_str(&format!(" ({} change(s))", line.changes));
    }
    if let Some(d) = line.error.as_ref().or(line.note.as_ref()) {
        text.push_str(&format!(": {d}"));
    }
    text
}

/// `rebranch batch --help`: examples, the file format, and what the exit codes mean here.
pub const AFTER_HELP: &str = "\
Examples:
  rebranch batch plan --repos repos.toml
  rebranch batch apply --repos repos.toml --yes --jobs 4
  rebranch batch apply --repos repos.toml --yes --only failed   # rerun what failed last time
  rebranch batch status --repos repos.toml --format json
  rebranch batch apply --repos repos.toml --yes --shard 2/8   # one machine's share of 8
  rebranch batch report --merge work/rebranch-batch-report.shard-*.json

The batch file (TOML; relative paths are relative to it):
  [defaults]
  workdir = \"work\"             # clones and the report [default: the file's directory]
  plan = \"plans/custom.toml\"   # [default: the built-in ADR-002 plan]
  set = { \"cloudflare.account_id\" = \"0123abcd\" }
  resolve = []                 # review decisions for every repository

  [[repo]]
  path = \"../helm-charts\"      # a local clone
  set = { \"cloudflare.project\" = \"acme-helm-charts\" }
  resolve = [\".github/workflows/release.yml:12:26=keep\"]

  [[repo]]
  name = \"legacy\"              # [default: the last part of the path or URL]
  url = \"https://github.com/acme/legacy-charts.git\"   # cloned into workdir/name, or fetched
  set = { from = \"gh-pages\", main = \"master\" }

Plan variables: the file's defaults, then --set, then the repository's own `set`.
Results: migrated, already migrated, pending, needs review, failed, skipped (not selected by
--only), rolled back, nothing to roll back.

Exit codes:
  0    every repository succeeded (apply: migrated or already migrated)
  1    bad batch file or report; plan/status: a repository failed; apply/rollback without --yes
  2    plan/status --detailed-exitcode: a repository has changes pending
  4    apply: none failed, but some need review (their --resolve decisions are missing)
  5    apply/rollback: a repository failed or stopped part way (the report names it)
  64   usage error";

/// `rebranch batch report --help`.
pub const REPORT_AFTER_HELP: &str = "\
Examples:
  rebranch batch report --merge work/rebranch-batch-report.shard-*.json
  rebranch batch report --merge r1.json r2.json r3.json --format json > report.json

Every shard of one split (`--shard 1/N` to `N/N`) of one batch command and file must be given,
each once. The merged report lists the repositories in the batch file's order, as one
unsharded run would have; --format json prints it in the report's format.

Exit codes: those of the batch command the reports came from, as if it had run unsharded
(plan/status: 1 if a repository failed, 2 with --detailed-exitcode if changes are pending;
apply: 5 if one failed, 4 if some need review; rollback: 5 if one failed); 1 also when the
reports cannot be merged (a shard missing or given twice, different commands or files).";
