//! `batch`: the single-repository operations across the repositories of a batch file. Which
//! repositories run (the shard, `--only`), the report written as each finishes, and the
//! operation on one repository (cloned or fetched first when named by URL), whose error
//! becomes that repository's result and never stops the others.

use std::path::{Path, PathBuf};

use super::apply::{Applied, ApplyOptions};
use super::rollback::{RollbackOptions, RolledBack};
use super::{Error, Kind, PlanOptions, Progress, Services};
use crate::batch::report::{self, RepoReport, RepoResult, Report};
use crate::batch::shard::Shard;
use crate::batch::{BatchFile, Location, Only, RepoEntry};

/// What runs for each repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Plan,
    Status,
    Apply { no_verify: bool },
    Rollback,
}

impl Op {
    /// The command's name, as in the report.
    pub fn name(self) -> &'static str {
        match self {
            Op::Plan => "plan",
            Op::Status => "status",
            Op::Apply { .. } => "apply",
            Op::Rollback => "rollback",
        }
    }

    /// The operation a report's `command` names.
    pub fn from_name(name: &str) -> Option<Op> {
        match name {
            "plan" => Some(Op::Plan),
            "status" => Some(Op::Status),
            "apply" => Some(Op::Apply { no_verify: false }),
            "rollback" => Some(Op::Rollback),
            _ => None,
        }
    }
}

/// The options of a batch.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// The batch file.
    pub repos: PathBuf,
    pub op: Op,
    /// Rerun only the repositories the last report shows as failed, or as not migrated.
    pub only: Option<Only>,
    /// Work on this shard's repositories only.
    pub shard: Option<Shard>,
    /// Where the report goes (and where `only` reads the last one) [default: in the work
    /// directory].
    pub report: Option<PathBuf>,
}

/// A batch ready to run: its file, which repositories run, and the report so far.
pub struct Batch {
    pub file: BatchFile,
    pub report_path: PathBuf,
    pub report: Report,
    /// How many repositories are in this shard (all of them when unsharded).
    pub in_shard: usize,
    /// Which of them run, as indices into `file.repos`.
    pub selected: Vec<usize>,
}

/// Reads the batch file, selects the repositories, creates the work directory and writes
/// the report's first version (each selected repository pending, the others skipped).
pub fn prepare(opts: &BatchOptions) -> Result<Batch, Error> {
    let failure = |e: &dyn std::fmt::Display| Error::new(Kind::Failure, e.to_string());
    let file = BatchFile::load(&opts.repos).map_err(|e| failure(&e))?;
    let report_path = match (&opts.report, opts.shard) {
        (Some(path), _) => path.clone(),
        (None, Some(shard)) => shard.report_path(&file.workdir),
        (None, None) => Report::path(&file.workdir),
    };
    // A shard works on its own repositories only, and its report lists just those.
    let in_shard: Vec<usize> = (0..file.repos.len())
        .filter(|&i| opts.shard.is_none_or(|s| s.takes(&file.repos[i].name)))
        .collect();
    let last = match opts.only {
        None => Report::load(&report_path).ok(),
        Some(_) => Some(Report::load(&report_path).map_err(|e| failure(&e))?),
    };
    let selected: Vec<usize> = in_shard
        .iter()
        .copied()
        .filter(|&i| match (opts.only, &last) {
            (Some(only), Some(last)) => last.selects(&file.repos[i].name, only),
            _ => true,
        })
        .collect();
    std::fs::create_dir_all(&file.workdir).map_err(|e| {
        Error::new(
            Kind::Failure,
            format!("cannot create the work directory {}: {e}", file.workdir.display()),
        )
    })?;
    let report = Report {
        format_version: report::FORMAT_VERSION,
        command: opts.op.name().to_string(),
        repos_file: file.source.clone(),
        shard: opts.shard,
        repos: in_shard
            .iter()
            .map(|&i| RepoReport {
                position: opts.shard.map(|_| i),
                ..initial(&file, &file.repos[i], selected.contains(&i), last.as_ref())
            })
            .collect(),
    };
    let batch = Batch { file, report_path, report, in_shard: in_shard.len(), selected };
    batch.write()?;
    Ok(batch)
}

impl Batch {
    /// The repositories that run.
    pub fn selected(&self) -> Vec<&RepoEntry> {
        self.selected.iter().map(|&i| &self.file.repos[i]).collect()
    }

    /// Records how a repository went (`Err`: its run panicked, with why) and writes the
    /// report.
    pub fn record(
        &mut self,
        entry: &RepoEntry,
        line: Result<RepoReport, String>,
    ) -> Result<(), Error> {
        let line = line.unwrap_or_else(|panic| RepoReport {
            error: Some(panic),
            ..blank(entry, &self.file.workdir)
        });
        if let Some(slot) = self.report.repos.iter_mut().find(|r| r.name == entry.name) {
            *slot = RepoReport { position: slot.position, ..line };
        }
        self.write()
    }

    fn write(&self) -> Result<(), Error> {
        crate::atomic::write_atomic(&self.report_path, self.report.to_json().as_bytes()).map_err(
            |e| {
                Error::new(
                    Kind::Failure,
                    format!("cannot write {}: {e}", self.report_path.display()),
                )
            },
        )
    }
}

/// Runs `op` on one repository of `file` with its options (or the reason they could not be
/// made) and says how it went; never fails itself.
pub fn run_repo(
    file: &BatchFile,
    entry: &RepoEntry,
    op: Op,
    opts: Result<PlanOptions, Error>,
    services: &Services<'_>,
    progress: &mut dyn Progress,
) -> RepoReport {
    let mut line = blank(entry, &file.workdir);
    match opts.and_then(|opts| run_one(entry, op, opts, services, progress)) {
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

fn run_one(
    entry: &RepoEntry,
    op: Op,
    opts: PlanOptions,
    services: &Services<'_>,
    progress: &mut dyn Progress,
) -> Result<(RepoResult, usize, Option<String>), Error> {
    let dir = &opts.repo_path;
    // A clone already there is planned as it is under --no-fetch; a missing one is made.
    let fetch = !(opts.no_fetch && dir.exists());
    if let (Location::Url(url), true) = (&entry.location, fetch) {
        progress.phase(if dir.exists() { "fetching" } else { "cloning" });
        super::clone::clone_or_fetch(url, &opts, &|k| services.env(k))?;
    }
    match op {
        Op::Plan | Op::Status => {
            progress.phase("planning");
            let repo = super::open(&opts.repo_path)?;
            let plan = super::plan::plan(&repo, &opts, services, progress)?.plan;
            let unfinished = super::status::unfinished_note(&repo)?;
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
            // A batch never asks (`--yes` is required) and shows no plan.
            match super::apply::apply(&opts, services, progress, &mut |_| Ok(()))? {
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
            match super::rollback::rollback(&opts, services, progress, &mut |_| Ok(()))? {
                RolledBack::Nothing => Ok((RepoResult::NothingToRollBack, 0, None)),
                RolledBack::Complete { undone, .. } => Ok((RepoResult::RolledBack, undone, None)),
            }
        }
    }
}

/// A repository's line before the run: pending when selected, skipped otherwise.
fn initial(
    file: &BatchFile,
    entry: &RepoEntry,
    selected: bool,
    last: Option<&Report>,
) -> RepoReport {
    let before = last.and_then(|l| l.repo(&entry.name));
    if selected {
        return RepoReport { result: RepoResult::Pending, ..blank(entry, &file.workdir) };
    }
    RepoReport {
        result: RepoResult::Skipped,
        changes: before.map_or(0, |b| b.changes),
        error: before.and_then(|b| b.error.clone()),
        note: before.and_then(|b| b.note.clone()),
        previous: before.map(RepoReport::standing),
        ..blank(entry, &file.workdir)
    }
}

/// A repository's line that says nothing yet: failed, no changes.
fn blank(entry: &RepoEntry, workdir: &Path) -> RepoReport {
    RepoReport {
        name: entry.name.clone(),
        path: entry.dir(workdir).display().to_string(),
        result: RepoResult::Failed,
        changes: 0,
        error: None,
        note: None,
        previous: None,
        position: None,
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}
