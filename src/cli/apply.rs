//! `rebranch apply` and `rebranch rollback`: the only commands that change anything, each
//! under the repository's lock and journaled step by step.

use std::path::{Path, PathBuf};

use clap::Args;

use super::{CliError, Ctx, Kind, state_dir};
use crate::exec::effects::GitEffects;
use crate::exec::journal::{Event, Journal, StepState};
use crate::exec::lock::Lock;
use crate::exec::{self, Outcome, Progress};
use crate::git::remote::RemoteListing;
use crate::plan::{FORMAT_VERSION, Observed, Plan, Step};
use crate::{observe, render};

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `rebranch plan --out FILE`, applied exactly as reviewed
    #[arg(value_name = "PLAN_JSON")]
    saved: Option<PathBuf>,
    /// Apply without asking
    #[arg(short = 'y', long)]
    yes: bool,
    /// Skip the production deployment that checks the Pages switch
    #[arg(long)]
    no_verify: bool,
}

impl ApplyArgs {
    /// `apply --yes`.
    pub fn yes() -> ApplyArgs {
        ApplyArgs { saved: None, yes: true, no_verify: false }
    }

    /// `apply --yes`, with `--no-verify` when `no_verify`.
    pub fn yes_verify(no_verify: bool) -> ApplyArgs {
        ApplyArgs { saved: None, yes: true, no_verify }
    }
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Roll back without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
}

/// How an apply or rollback shows itself while it runs.
pub enum Echo<'a> {
    /// The single-repository commands: plans and results on stdout, steps on stderr.
    Terminal,
    /// A batch: nothing on stdout; steps go to this sink.
    Quiet(&'a mut dyn Progress),
}

impl Echo<'_> {
    fn terminal(&self) -> bool {
        matches!(self, Echo::Terminal)
    }
}

/// What an apply did, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum Applied {
    /// The repository already matched the plan: nothing was done.
    NoChanges { plan: String },
    /// A run completed. `notes` are the plan's (what was detected, a checked-out branch
    /// left where it was and the command that brings it in line).
    Complete { run: String, journal: PathBuf, applied: usize, already: usize, notes: Vec<String> },
}

/// What a rollback did, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum RolledBack {
    /// No apply has changed the repository.
    Nothing,
    /// Every step of the run is undone.
    Complete { run: String, undone: usize, already: usize },
}

pub fn cmd_apply(ctx: &Ctx<'_>, args: &ApplyArgs) -> Result<u8, CliError> {
    match apply_repo(ctx, args, Echo::Terminal)? {
        Applied::NoChanges { plan } => {
            ctx.ui.out(&format!("No changes: the repository already matches {plan}.\n"));
        }
        Applied::Complete { run, journal, applied, already, notes } => {
            if !ctx.json() {
                ctx.ui.out(&format!(
                    "Applied run {run}: {applied} step(s) applied, {already} already done.\nJournal: {}\nUndo it with `rebranch rollback`.\n",
                    journal.display()
                ));
            }
            for note in notes.iter().filter(|n| n.starts_with("local ")) {
                ctx.ui.warn(note);
            }
        }
    }
    Ok(0)
}

/// Applies the plan to `ctx`'s repository (or resumes a stopped run) under its lock.
pub fn apply_repo(ctx: &Ctx<'_>, args: &ApplyArgs, echo: Echo<'_>) -> Result<Applied, CliError> {
    let terminal = echo.terminal();
    let repo = ctx.open()?;
    let dir = state_dir(&repo);
    let lock = take_lock(ctx, &dir, "apply")?;
    let journal_dir = Journal::dir(&dir);
    let (mut journal, listing) = match Journal::latest(&journal_dir)? {
        Some(j) if j.is_unfinished() => {
            // Refuses --set values that differ from the stopped run's.
            ctx.request(Some(&repo))?;
            (resume(ctx, j, args)?, None)
        }
        _ => match new_run(ctx, &repo, args, &journal_dir, terminal)? {
            Ok((j, listing)) => (j, Some(listing)),
            Err(plan) => return Ok(Applied::NoChanges { plan }),
        },
    };
    if args.no_verify {
        for step in &mut journal.plan.actions {
            if let crate::plan::Action::Pages(p) = &mut step.action {
                p.verify = false;
            }
        }
    }
    let mut fx = GitEffects::new(&repo).with_pages(ctx.pages_access(&journal.plan)?);
    if let Some(listing) = listing {
        fx = fx.with_listing(&journal.plan.repository.remote, listing);
    }
    let mut lines = ctx.ui.progress("applying");
    let progress: &mut dyn Progress = match echo {
        Echo::Terminal => &mut lines,
        Echo::Quiet(p) => p,
    };
    super::stop_on_interrupt();
    let outcome = exec::apply(&mut journal, &mut fx, progress)?;
    let result = report_apply(ctx, &mut journal, &outcome, terminal);
    drop(lock);
    result
}

pub fn cmd_rollback(ctx: &Ctx<'_>, args: &RollbackArgs) -> Result<u8, CliError> {
    match rollback_repo(ctx, args, Echo::Terminal)? {
        RolledBack::Nothing => {
            ctx.ui.out("Nothing to roll back: no apply has changed this repository.\n");
        }
        RolledBack::Complete { run, undone, already } => {
            if !ctx.json() {
                ctx.ui.out(&format!(
                    "Rolled back run {run}: {undone} step(s) undone, {already} already undone. Every ref the apply touched is back.\n",
                ));
            }
        }
    }
    Ok(0)
}

/// Undoes the last apply of `ctx`'s repository from its journal, under its lock.
pub fn rollback_repo(
    ctx: &Ctx<'_>,
    args: &RollbackArgs,
    echo: Echo<'_>,
) -> Result<RolledBack, CliError> {
    let terminal = echo.terminal();
    let repo = ctx.open()?;
    let dir = state_dir(&repo);
    let _lock = take_lock(ctx, &dir, "rollback")?;
    let latest = Journal::latest(&Journal::dir(&dir))?;
    let Some(mut journal) = latest.filter(Journal::has_undoable) else {
        // An apply that stopped before any step started is closed here, so that neither
        // `status` nor a later `apply` takes it for unfinished work.
        if let Some(mut idle) = Journal::latest(&Journal::dir(&dir))?.filter(Journal::is_unfinished)
        {
            idle.record(Event::Abandoned {
                reason: "rolled back before any step took effect".to_string(),
            })?;
        }
        return Ok(RolledBack::Nothing);
    };
    let undo: Vec<Step> = undoable(&journal)
        .map(|s| Step {
            id: s.id,
            summary: s.action.inverse().summary(),
            action: s.action.inverse(),
        })
        .collect();
    let mut text =
        format!("Rolling back run {} ({} steps, last first):\n", journal.run, undo.len());
    render::steps(&mut text, &undo, ctx.ui.out_style);
    if terminal && !ctx.json() && !ctx.ui.quiet {
        ctx.ui.out(&text);
    }
    confirm(ctx, args.yes, "Roll back these steps?", "rollback")?;
    let mut fx = GitEffects::new(&repo).with_pages(ctx.pages_access(&journal.plan)?);
    let mut lines = ctx.ui.progress("undoing");
    let progress: &mut dyn Progress = match echo {
        Echo::Terminal => &mut lines,
        Echo::Quiet(p) => p,
    };
    super::stop_on_interrupt();
    let outcome = exec::rollback(&mut journal, &mut fx, progress)?;
    if terminal && ctx.json() {
        ctx.ui.out(&outcome_json(&journal, &outcome, "rollback"));
    }
    match &outcome.stopped {
        None => Ok(RolledBack::Complete {
            run: journal.run.clone(),
            undone: outcome.applied.len(),
            already: outcome.already.len(),
        }),
        Some(stop) if stop.interrupted => Err(CliError::new(
            Kind::Interrupted,
            format!(
                "rollback interrupted before undoing step {}; the journal is consistent",
                stop.step
            ),
        )
        .hint("`rebranch rollback` continues")),
        Some(stop) => {
            let still: Vec<usize> = undoable(&journal).map(|s| s.id).collect();
            Err(CliError::new(Kind::Partial, format!("rollback stopped at step {}: {}", stop.step, stop.reason))
                .cause(format!("undone: {}", ids(&outcome.applied)))
                .cause(format!("still applied: {}", ids(&still)))
                .hint("nothing that changed after the migration was overwritten; resolve the cause, then run `rebranch rollback` again")
                .hint(format!("journal: {}", journal.path.display())))
        }
    }
}

pub(super) fn take_lock(ctx: &Ctx<'_>, dir: &Path, command: &str) -> Result<Lock, CliError> {
    let lock = Lock::acquire(dir, command)?;
    if let Some(h) = &lock.took_over {
        ctx.ui.warn(&format!(
            "took over the lock left by `{}` (pid {} on {}), which no longer runs",
            h.command, h.pid, h.host
        ));
        // A holder killed while writing one of rebranch's scratch refs (refs/rebranch/)
        // leaves git's lock file behind; nothing else writes there, so it is stale.
        if let Some(git_dir) = dir.parent() {
            remove_lock_files(&git_dir.join("refs/rebranch"));
        }
    }
    Ok(lock)
}

fn remove_lock_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_lock_files(&path);
        } else if path.extension().is_some_and(|x| x == "lock") {
            let _ = std::fs::remove_file(&path);
        }
    }
}

fn resume(ctx: &Ctx<'_>, journal: Journal, args: &ApplyArgs) -> Result<Journal, CliError> {
    if let Some(path) = &args.saved {
        let saved = load_saved(path)?;
        if saved.observed.fingerprint != journal.plan.observed.fingerprint {
            return Err(CliError::new(
                Kind::Failure,
                format!("an apply of another plan stopped part way (run {})", journal.run),
            )
            .hint("run `rebranch apply` without a file to resume it, or `rebranch rollback` to undo it, then apply this plan"));
        }
    }
    let done = journal.states.iter().filter(|s| **s == StepState::Done).count();
    ctx.ui.status(&format!(
        "Resuming run {}: {done} of {} steps were done.",
        journal.run,
        journal.states.len()
    ));
    Ok(journal)
}

/// Starts a run: a saved plan checked against live state, or a fresh plan confirmed.
/// `Ok(Err(name))` when the repository already matches plan `name`.
fn new_run(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    args: &ApplyArgs,
    dir: &Path,
    terminal: bool,
) -> Result<Result<(Journal, RemoteListing), String>, CliError> {
    let (plan, listing) = match &args.saved {
        Some(path) => {
            let plan = load_saved(path)?;
            let listing = check_saved(ctx, repo, &plan, path)?;
            (plan, listing)
        }
        None => {
            let (_, obs, plan) = ctx.plan(repo)?;
            (plan, obs.listing)
        }
    };
    if plan.is_empty() {
        return Ok(Err(plan.plan.name));
    }
    let show = terminal && !ctx.json() && !ctx.ui.quiet;
    if !plan.reviews.is_empty() {
        if show && args.saved.is_none() {
            ctx.ui.out(&render::plan_text(&plan, ctx.ui.out_style));
        }
        return Err(unresolved(&plan));
    }
    if args.saved.is_none() {
        if show {
            ctx.ui.out(&render::plan_text(&plan, ctx.ui.out_style));
        }
        confirm(ctx, args.yes, "Apply these changes?", "apply")?;
    }
    Ok(Ok((Journal::create(dir, &plan)?, listing)))
}

fn confirm(ctx: &Ctx<'_>, yes: bool, question: &str, command: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !ctx.ui.can_prompt() {
        let how = if command == "apply" {
            "pass --yes, or apply a reviewed plan file"
        } else {
            "pass --yes"
        };
        return Err(CliError::new(Kind::Failure, format!("{command} changes the repository and its remote, and there is no terminal to confirm it"))
            .hint(format!("{how}; nothing was changed")));
    }
    if ctx.ui.confirm(question) {
        Ok(())
    } else {
        Err(CliError::new(Kind::Failure, "declined: nothing was changed"))
    }
}

fn load_saved(path: &Path) -> Result<Plan, CliError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(Kind::Failure, format!("cannot read plan {}: {e}", path.display()))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::new(
            Kind::Failure,
            format!("{}:{}:{}: not a plan document: {e}", path.display(), e.line(), e.column()),
        )
        .hint("save a plan with `rebranch plan --out FILE`")
    })?;
    let version = value.get("format_version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(CliError::new(
            Kind::Failure,
            format!("{}: plan format_version {version:?} is not {FORMAT_VERSION}, the one this rebranch reads", path.display()),
        )
        .hint("make the plan again with this version of rebranch"));
    }
    let mut value = value;
    let sealed = value.as_object_mut().and_then(|o| o.remove("digest"));
    if sealed.as_ref().and_then(serde_json::Value::as_str) != Some(digest(&value).as_str()) {
        return Err(CliError::new(
            Kind::Failure,
            format!(
                "{}: the plan was changed after `rebranch plan --out` saved it (its digest does not match); nothing was changed",
                path.display()
            ),
        )
        .hint("a saved plan is applied exactly as reviewed: make and review it again with `rebranch plan --out FILE`"));
    }
    serde_json::from_value(value).map_err(|e| {
        CliError::new(Kind::Failure, format!("{}: not a valid plan: {e}", path.display()))
            .hint("save a plan with `rebranch plan --out FILE`; do not edit it by hand")
    })
}

/// A plan as `plan --out` saves it: the JSON document with a `digest` of its content, so
/// that a plan changed after review (by hand, or by a broken copy) is refused before it runs.
pub(super) fn seal(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    let sum = digest(&value);
    if let Some(o) = value.as_object_mut() {
        o.insert("digest".to_string(), serde_json::Value::String(sum));
    }
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// The digest of a plan document: the git blob id of its compact JSON (keys sorted).
fn digest(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// The saved plan must be for this repository, and what it observed must still hold.
fn check_saved(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    plan: &Plan,
    path: &Path,
) -> Result<RemoteListing, CliError> {
    let remote = &plan.repository.remote;
    let url = repo
        .find_remote(remote)
        .ok()
        .and_then(|r| r.url().ok().map(crate::git::redact_url))
        .unwrap_or_default();
    if url != plan.repository.remote_url {
        return Err(CliError::new(
            Kind::Failure,
            format!(
                "{} was made for another repository (remote `{remote}` at {}), not this one ({})",
                path.display(),
                plan.repository.remote_url,
                if url.is_empty() { "no such remote" } else { &url }
            ),
        )
        .hint("make the plan in this repository with `rebranch plan --out FILE`"));
    }
    let pages = match plan.actions.iter().find_map(|s| match &s.action {
        crate::plan::Action::Pages(p) => Some(&p.switch),
        _ => None,
    }) {
        Some(sw) => {
            let client = ctx.pages_client_for(&sw.project, &sw.account_id)?;
            Some(
                crate::cloudflare::observe(&client, &sw.project)
                    .map_err(|e| CliError::new(Kind::Failure, e.to_string()))?,
            )
        }
        None => None,
    };
    let (refs, listing) = observe::current_refs(repo, remote, &plan.observed.refs, pages.as_ref())?;
    let moved = plan.observed.moved(&Observed::new(refs));
    if moved.is_empty() {
        return Ok(listing);
    }
    let mut err = CliError::new(
        Kind::Moved,
        format!(
            "refused: the repository changed since {} was made; nothing was changed",
            path.display()
        ),
    );
    for m in moved {
        err = err.cause(m);
    }
    Err(err.hint("run `rebranch plan` again and review the new plan"))
}

fn report_apply(
    ctx: &Ctx<'_>,
    journal: &mut Journal,
    outcome: &Outcome,
    terminal: bool,
) -> Result<Applied, CliError> {
    if terminal && ctx.json() {
        ctx.ui.out(&outcome_json(journal, outcome, "apply"));
    }
    let Some(stop) = &outcome.stopped else {
        return Ok(Applied::Complete {
            run: journal.run.clone(),
            journal: journal.path.clone(),
            applied: outcome.applied.len(),
            already: outcome.already.len(),
            notes: journal.plan.notes.clone(),
        });
    };
    if stop.interrupted {
        return Err(CliError::new(
            Kind::Interrupted,
            format!("interrupted before step {}; the journal is consistent", stop.step),
        )
        .hint("`rebranch apply` resumes; `rebranch rollback` undoes what was done")
        .hint(format!("journal: {}", journal.path.display())));
    }
    let nothing_done = journal.states.iter().all(|s| *s == StepState::Pending);
    if nothing_done && stop.moved {
        journal.record(Event::Abandoned { reason: stop.reason.clone() })?;
        return Err(CliError::new(
            Kind::Moved,
            format!("refused at step {}: {}", stop.step, stop.reason),
        )
        .cause("nothing was changed")
        .hint("run `rebranch plan` again and review the new plan"));
    }
    let (done, not_done) = (journal.step_ids(true), journal.step_ids(false));
    Err(CliError::new(
        Kind::Partial,
        format!("apply stopped at step {}: {}", stop.step, stop.reason),
    )
    .cause(format!("done: {}", ids(&done)))
    .cause(format!("not done: {}", ids(&not_done)))
    .hint("`rebranch apply` resumes from where it stopped once the cause is fixed")
    .hint("`rebranch rollback` undoes the steps that were done")
    .hint(format!("journal: {}", journal.path.display())))
}

fn outcome_json(journal: &Journal, outcome: &Outcome, command: &str) -> String {
    let doc = serde_json::json!({
        "format_version": FORMAT_VERSION,
        "command": command,
        "run": journal.run,
        "journal": journal.path.display().to_string(),
        "applied": outcome.applied,
        "already": outcome.already,
        "complete": outcome.is_complete(),
        "stopped": outcome.stopped.as_ref().map(|s| serde_json::json!({"step": s.step, "reason": s.reason, "moved": s.moved})),
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
}

fn undoable(journal: &Journal) -> impl Iterator<Item = &Step> {
    journal
        .plan
        .actions
        .iter()
        .zip(journal.states.iter().zip(&journal.acted))
        .rev()
        .filter(|(_, (s, acted))| {
            **acted && matches!(s, StepState::Started | StepState::Done | StepState::Undoing)
        })
        .map(|(a, _)| a)
}

fn ids(ids: &[usize]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    let list: Vec<String> = ids.iter().map(|i| format!("step {i}")).collect();
    list.join(", ")
}

/// The refusal for review items nobody has decided (exit 4).
fn unresolved(plan: &Plan) -> CliError {
    let mut err = CliError::new(
        Kind::Review,
        format!(
            "{} occurrence(s) in CI files need review before apply; nothing was changed",
            plan.reviews.len()
        ),
    );
    for r in plan.reviews.iter().take(10) {
        err = err.cause(format!("{}:{}:{}: {}", r.path, r.line, r.column, r.text.trim()));
    }
    if plan.reviews.len() > 10 {
        err = err.cause(format!("… and {} more (see `rebranch plan`)", plan.reviews.len() - 10));
    }
    err.hint("decide each with --resolve PATH:LINE:COLUMN=rewrite|keep, then plan or apply again")
}
