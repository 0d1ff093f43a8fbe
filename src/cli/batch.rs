//! `rebranch batch plan|apply|status|rollback --repos FILE`: the single-repository commands
//! across the repositories of a batch file, in parallel, with a summary and a report.
//!
//! Each repository runs exactly what `rebranch plan`, `apply --yes`, `status` or
//! `rollback --yes` runs for it (its own lock and journal under its `.git/rebranch/`), on its
//! own thread, through the same operations ([`crate::ops`]) with options built from the
//! batch file; an error in one becomes that repository's result and never stops the others.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};

use super::error::{code, detailed};
use super::{CliError, Ctx, GlobalArgs, Kind, Sink, write_atomic};
use crate::batch::report::{self, RepoReport, RepoResult, Report};
use crate::batch::shard::{self, Shard};
use crate::batch::{self, BatchFile, Location, Only, RepoEntry};
use crate::ops::apply::{Applied, ApplyOptions};
use crate::ops::rollback::{RollbackOptions, RolledBack};
use crate::ops::{self, PlanOptions};
use crate::ui::{RepoProgress, Ui};

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
    /// Skip the production deployment that checks each Pages switch
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

/// What runs for each repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Plan,
    Status,
    Apply { no_verify: bool },
    Rollback,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Plan => "plan",
            Op::Status => "status",
            Op::Apply { .. } => "apply",
            Op::Rollback => "rollback",
        }
    }
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
    let file =
        BatchFile::load(&common.repos).map_err(|e| CliError::new(Kind::Failure, e.to_string()))?;
    let report_path = match (&common.report, common.shard) {
        (Some(path), _) => path.clone(),
        (None, Some(shard)) => shard.report_path(&file.workdir),
        (None, None) => Report::path(&file.workdir),
    };
    // A shard works on its own repositories only, and its report lists just those.
    let in_shard: Vec<(usize, &RepoEntry)> = file
        .repos
        .iter()
        .enumerate()
        .filter(|(_, r)| common.shard.is_none_or(|s| s.takes(&r.name)))
        .collect();
    let last = match common.only {
        None => Report::load(&report_path).ok(),
        Some(_) => Some(
            Report::load(&report_path).map_err(|e| CliError::new(Kind::Failure, e.to_string()))?,
        ),
    };
    let only = common.only.map(|o| match o {
        OnlyArg::Failed => Only::Failed,
        OnlyArg::Pending => Only::Pending,
    });
    let selected: Vec<&RepoEntry> = in_shard
        .iter()
        .map(|(_, r)| *r)
        .filter(|r| match (only, &last) {
            (Some(only), Some(last)) => last.selects(&r.name, only),
            _ => true,
        })
        .collect();
    std::fs::create_dir_all(&file.workdir).map_err(|e| {
        CliError::new(
            Kind::Failure,
            format!("cannot create the work directory {}: {e}", file.workdir.display()),
        )
    })?;

    let mut report = Report {
        format_version: report::FORMAT_VERSION,
        command: op.name().to_string(),
        repos_file: file.source.clone(),
        shard: common.shard,
        repos: in_shard
            .iter()
            .map(|(i, r)| RepoReport {
                position: common.shard.map(|_| *i),
                ..initial(&file, r, &selected, last.as_ref())
            })
            .collect(),
    };
    write_atomic(&report_path, report.to_json().as_bytes())?;

    let jobs = common.jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    if !selected.is_empty() {
        let of = match common.shard {
            Some(s) => format!("{} in shard {s} of the {}", in_shard.len(), file.repos.len()),
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
    let mut write_error = None;
    batch::run_parallel(
        &selected,
        jobs,
        |i, entry| {
            let progress = display.repo(i);
            let line = run_repo(ctx, &file, entry, op, progress.clone());
            progress.finish(!matches!(line.result, RepoResult::Failed), &result_words(&line));
            line
        },
        |i, line| {
            let entry = selected[i];
            let line = line.unwrap_or_else(|panic| RepoReport {
                name: entry.name.clone(),
                path: entry.dir(&file.workdir).display().to_string(),
                result: RepoResult::Failed,
                changes: 0,
                error: Some(panic),
                note: None,
                previous: None,
                position: None,
            });
            if let Some(slot) = report.repos.iter_mut().find(|r| r.name == entry.name) {
                *slot = RepoReport { position: slot.position, ..line };
            }
            if let Err(e) = write_atomic(&report_path, report.to_json().as_bytes()) {
                write_error.get_or_insert(e);
            }
        },
    );
    drop(display);

    if ctx.json() {
        ctx.ui.out(&report.to_json());
    } else {
        let place = format!("Report: {}", report_path.display());
        ctx.ui.out(&summary(&report, &place, ctx.ui));
    }
    if let Some(e) = write_error {
        return Err(e);
    }
    Ok(exit_code(op, &report, detailed))
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

/// A repository's line before the run: pending when selected, skipped otherwise.
fn initial(
    file: &BatchFile,
    entry: &RepoEntry,
    selected: &[&RepoEntry],
    last: Option<&Report>,
) -> RepoReport {
    let before = last.and_then(|l| l.repo(&entry.name));
    let path = entry.dir(&file.workdir).display().to_string();
    if selected.iter().any(|s| s.name == entry.name) {
        return RepoReport {
            name: entry.name.clone(),
            path,
            result: RepoResult::Pending,
            changes: 0,
            error: None,
            note: None,
            previous: None,
            position: None,
        };
    }
    RepoReport {
        name: entry.name.clone(),
        path,
        result: RepoResult::Skipped,
        changes: before.map_or(0, |b| b.changes),
        error: before.and_then(|b| b.error.clone()),
        note: before.and_then(|b| b.note.clone()),
        previous: before.map(RepoReport::standing),
        position: None,
    }
}

/// Runs `op` on one repository and says how it went; never fails itself.
fn run_repo(
    ctx: &Ctx<'_>,
    file: &BatchFile,
    entry: &RepoEntry,
    op: Op,
    progress: RepoProgress,
) -> RepoReport {
    let dir = entry.dir(&file.workdir);
    let mut line = RepoReport {
        name: entry.name.clone(),
        path: dir.display().to_string(),
        result: RepoResult::Failed,
        changes: 0,
        error: None,
        note: None,
        previous: None,
        position: None,
    };
    match run_repo_inner(ctx, file, entry, op, &dir, progress) {
        Ok((result, changes, note)) => {
            line.result = result;
            line.changes = changes;
            line.note = note;
        }
        Err(e) if e.kind == Kind::Review => {
            line.result = RepoResult::NeedsReview;
            line.note = Some(first_line(&e.message));
        }
        Err(e) => line.error = Some(first_line(&e.message)),
    }
    line
}

fn run_repo_inner(
    ctx: &Ctx<'_>,
    file: &BatchFile,
    entry: &RepoEntry,
    op: Op,
    dir: &Path,
    mut progress: RepoProgress,
) -> Result<(RepoResult, usize, Option<String>), CliError> {
    let opts = repo_options(ctx.global, file, entry, dir)?;
    let ui = Ui { quiet: true, ..ctx.ui };
    let env = ctx.lookup();
    let services = ops::Services::new(&env);
    // A clone already there is planned as it is under --no-fetch; a missing one is made.
    let fetch = !(opts.no_fetch && dir.exists());
    if let (Location::Url(url), true) = (&entry.location, fetch) {
        progress.phase(if dir.exists() { "fetching" } else { "cloning" });
        ops::clone::clone_or_fetch(url, &opts, &env)?;
    }
    match op {
        Op::Plan | Op::Status => {
            progress.phase("planning");
            let repo = ops::open(&opts.repo_path)?;
            let plan = ops::plan::plan(&repo, &opts, &services, &ui)?.plan;
            let unfinished = ops::status::unfinished_note(&repo)?;
            let note = unfinished.or_else(|| {
                (!plan.reviews.is_empty()).then(|| {
                    format!("{} occurrence(s) in CI files need review", plan.reviews.len())
                })
            });
            let result = if !plan.reviews.is_empty() {
                RepoResult::NeedsReview
            } else if plan.is_empty() {
                RepoResult::AlreadyMigrated
            } else {
                RepoResult::Pending
            };
            Ok((result, plan.actions.len(), note.or_else(|| plan.warnings.first().cloned())))
        }
        Op::Apply { no_verify } => {
            progress.phase("applying");
            let opts = ApplyOptions { plan: opts, saved_plan: None, no_verify };
            // A batch never asks: `--yes` is required, and nothing is shown.
            let mut sink = Sink { ui, steps: &mut progress, outcome_json: false };
            match ops::apply::apply(&opts, &services, &mut sink, &mut |_| Ok(()))? {
                Applied::NoChanges { .. } => Ok((RepoResult::AlreadyMigrated, 0, None)),
                Applied::Complete { applied, already, .. } => {
                    let note = (already > 0).then(|| format!("{already} step(s) already done"));
                    Ok((RepoResult::Migrated, applied, note))
                }
            }
        }
        Op::Rollback => {
            progress.phase("rolling back");
            let opts = RollbackOptions { repo_path: opts.repo_path, no_fetch: opts.no_fetch };
            let mut sink = Sink { ui, steps: &mut progress, outcome_json: false };
            match ops::rollback::rollback(&opts, &services, &mut sink, &mut |_| Ok(()))? {
                RolledBack::Nothing => Ok((RepoResult::NothingToRollBack, 0, None)),
                RolledBack::Complete { undone, .. } => Ok((RepoResult::RolledBack, undone, None)),
            }
        }
    }
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
    let op = match merged.command.as_str() {
        "plan" => Op::Plan,
        "status" => Op::Status,
        "apply" => Op::Apply { no_verify: false },
        "rollback" => Op::Rollback,
        other => {
            return Err(CliError::new(
                Kind::Failure,
                format!(
                    "the reports are of `batch {other}`, a command this rebranch does not know"
                ),
            ));
        }
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

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
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
