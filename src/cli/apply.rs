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
///
/// A resumed run whose next step no longer holds (a teammate pushed to `main` since) is
/// not retried as it was: the rest is planned again against live state (the CI commit made
/// again on the new tip, so the teammate's commit is kept) and applied as a run that
/// carries the stopped one on. A saved plan is never planned again: it is applied exactly
/// or refused.
pub fn apply_repo(ctx: &Ctx<'_>, args: &ApplyArgs, echo: Echo<'_>) -> Result<Applied, CliError> {
    apply_repo_with(ctx, args, echo, None)
}

/// [`apply_repo`], or with `given`, a plan another planner made (`split`, `prune`) and its
/// caller showed and confirmed: journaled and applied the same way, so `apply` resumes it
/// and `rollback` undoes it. An unfinished run is never mixed with it: that is refused.
pub fn apply_repo_with(
    ctx: &Ctx<'_>,
    args: &ApplyArgs,
    mut echo: Echo<'_>,
    given: Option<(Plan, RemoteListing)>,
) -> Result<Applied, CliError> {
    let terminal = echo.terminal();
    let repo = ctx.open()?;
    let dir = state_dir(&repo);
    let lock = take_lock(ctx, &dir, "apply")?;
    let journal_dir = Journal::dir(&dir);
    let latest = Journal::latest(&journal_dir)?;
    let resumed = latest.as_ref().is_some_and(Journal::is_unfinished);
    let (mut journal, listing) = match (latest, given) {
        (Some(j), Some(_)) if j.is_unfinished() => {
            return Err(CliError::new(
                Kind::Failure,
                format!("an apply stopped part way (run {}); nothing was changed", j.run),
            )
            .hint("`rebranch apply` resumes it, `rebranch rollback` undoes it; then try again"));
        }
        (Some(j), None) if j.is_unfinished() => {
            // Refuses --set values that differ from the stopped run's.
            ctx.request(Some(&repo))?;
            let journal = resume(ctx, j, args)?;
            let remote = journal.plan.repository.remote.clone();
            let names = remote_names(std::iter::once(&journal.plan));
            let listing =
                observe::connect(&repo, &remote, &names, ctx.global.no_fetch, &|_| Vec::new())?;
            (journal, Some(listing))
        }
        (_, Some((plan, _))) if plan.is_empty() => {
            return Ok(Applied::NoChanges { plan: plan.plan.name });
        }
        (_, Some((plan, listing))) => (Journal::create(&journal_dir, &plan)?, Some(listing)),
        (_, None) => match new_run(ctx, &repo, args, &journal_dir, terminal, None)? {
            Ok((j, listing)) => (j, Some(listing)),
            Err(plan) => return Ok(Applied::NoChanges { plan }),
        },
    };
    let mut outcome = run_journal(ctx, &repo, &mut journal, listing, args, &mut echo)?;
    let moved = outcome.stopped.as_ref().filter(|s| s.moved && !s.interrupted).cloned();
    // A stopped split or prune is not planned again as a migration: it stops, and says so.
    let replan = resumed && !crate::flow::is_flow_plan(&journal.plan);
    if let (true, None, Some(stop)) = (replan, &args.saved, moved) {
        ctx.ui.status(&format!(
            "Step {} of run {} no longer holds ({}); planning the rest again against the repository as it is now.",
            stop.step, journal.run, stop.reason
        ));
        match new_run(ctx, &repo, args, &journal_dir, terminal, Some(journal.run.clone()))? {
            Ok((mut next, listing)) => {
                journal.record(Event::Continued { by: next.run.clone() })?;
                outcome = run_journal(ctx, &repo, &mut next, Some(listing), args, &mut echo)?;
                journal = next;
            }
            Err(_) => {
                // What is left already holds: the migration is complete.
                journal.record(Event::Finished)?;
                outcome = Outcome::default();
            }
        }
    }
    let result = report_apply(ctx, &mut journal, &outcome, terminal);
    drop(lock);
    result
}

/// The remote branches the plans' steps read or write: fetched before a resume or a
/// rollback, so the commits they check (a review merged on the remote) are here.
fn remote_names<'p>(plans: impl Iterator<Item = &'p Plan>) -> std::collections::BTreeSet<String> {
    use crate::plan::Action;
    plans
        .flat_map(|p| &p.actions)
        .flat_map(|s| match &s.action {
            Action::RemoteBranch(r) => vec![r.branch.clone()],
            Action::CiCommit(c) => c.head.iter().cloned().chain([c.branch.clone()]).collect(),
            Action::Await(a) => vec![a.branch.clone()],
            _ => Vec::new(),
        })
        .collect()
}

/// Runs a journal's steps from where it stands.
fn run_journal(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    journal: &mut Journal,
    listing: Option<RemoteListing>,
    args: &ApplyArgs,
    echo: &mut Echo<'_>,
) -> Result<Outcome, CliError> {
    if args.no_verify {
        for step in &mut journal.plan.actions {
            match &mut step.action {
                crate::plan::Action::Pages(p) => p.verify = false,
                crate::plan::Action::Setting(c) => c.serves = None,
                _ => {}
            }
        }
    }
    let fx = GitEffects::new(repo).with_pages(ctx.pages_access(&journal.plan)?);
    let mut fx = ctx.with_services(fx, &[&journal.plan])?;
    if let Some(listing) = listing {
        fx = fx.with_listing(&journal.plan.repository.remote, listing);
    }
    let mut lines = ctx.ui.progress("applying");
    let progress: &mut dyn Progress = match echo {
        Echo::Terminal => &mut lines,
        Echo::Quiet(p) => &mut **p,
    };
    super::stop_on_interrupt();
    Ok(exec::apply(journal, &mut fx, progress)?)
}

pub fn cmd_rollback(ctx: &Ctx<'_>, args: &RollbackArgs) -> Result<u8, CliError> {
    match rollback_repo(ctx, args, Echo::Terminal)? {
        RolledBack::Nothing => {
            ctx.ui.out("Nothing to roll back: no apply has changed this repository.\n");
        }
        RolledBack::Complete { run, undone, already } => {
            if !ctx.json() {
                ctx.ui.out(&format!(
                    "Rolled back run {run}: {undone} step(s) undone, {already} already undone; nothing pushed since the migration was dropped.\n",
                ));
            }
        }
    }
    Ok(0)
}

/// Undoes the last migration of `ctx`'s repository (its last run and every stopped run
/// that run carries on) under its lock: the whole rollback is planned against live state
/// and checked first, shown, confirmed, then run.
pub fn rollback_repo(
    ctx: &Ctx<'_>,
    args: &RollbackArgs,
    mut echo: Echo<'_>,
) -> Result<RolledBack, CliError> {
    let terminal = echo.terminal();
    let repo = ctx.open()?;
    let dir = state_dir(&repo);
    let _lock = take_lock(ctx, &dir, "rollback")?;
    let latest = Journal::latest(&Journal::dir(&dir))?;
    let Some(latest) = latest.filter(|j| !j.rolled_back) else { return Ok(RolledBack::Nothing) };
    let mut chain = chain_of(latest)?;
    if !chain.iter().any(Journal::has_undoable) {
        // A run that stopped before any step took effect is closed here, so that neither
        // `status` nor a later `apply` takes it for unfinished work.
        for journal in chain.iter_mut().filter(|j| j.is_unfinished()) {
            journal.record(Event::Abandoned {
                reason: "rolled back before any step took effect".to_string(),
            })?;
        }
        return Ok(RolledBack::Nothing);
    }
    let plan = chain[0].plan.clone();
    let remote = plan.repository.remote.clone();
    let names = remote_names(chain.iter().map(|j| &j.plan));
    let listing = observe::connect(&repo, &remote, &names, ctx.global.no_fetch, &|_| Vec::new())?;
    // The Pages step may be in an earlier run of the chain than the last one.
    let with_pages = chain
        .iter()
        .map(|j| &j.plan)
        .find(|p| p.actions.iter().any(|s| matches!(s.action, crate::plan::Action::Pages(_))))
        .unwrap_or(&plan);
    let access = ctx.pages_access(with_pages)?;
    let fx = GitEffects::new(&repo).with_pages(access).with_listing(&remote, listing);
    let plans: Vec<&Plan> = chain.iter().map(|j| &j.plan).collect();
    let mut fx = ctx.with_services(fx, &plans)?;
    let undo = exec::undo::plan(&chain, &mut fx)?;
    let runs: Vec<String> = chain.iter().map(|j| j.run.clone()).collect();
    let steps: Vec<Step> = undo.undo.iter().map(|u| u.step.clone()).collect();
    let mut text = format!(
        "Rolling back run {} ({} step(s), last first; checked against the repository as it is now):\n",
        runs.join(" and "),
        steps.len()
    );
    render::steps(&mut text, &steps, ctx.ui.out_style);
    for n in &undo.notes {
        text.push_str(&format!("note: {}\n", render::escape(n)));
    }
    if terminal && !ctx.json() && !ctx.ui.quiet {
        ctx.ui.out(&text);
    }
    confirm(ctx, args.yes, "Roll back these steps?", "rollback")?;
    let mut lines = ctx.ui.progress("undoing");
    let progress: &mut dyn Progress = match &mut echo {
        Echo::Terminal => &mut lines,
        Echo::Quiet(p) => &mut **p,
    };
    super::stop_on_interrupt();
    let outcome = exec::undo::run(&mut chain, &undo, &mut fx, progress)?;
    for note in local_left_behind(&chain[0], &mut fx) {
        ctx.ui.warn(&note);
    }
    if terminal && ctx.json() {
        ctx.ui.out(&outcome_json(&chain[0], &outcome, "rollback"));
    }
    match &outcome.stopped {
        None => Ok(RolledBack::Complete {
            run: runs.join(" and "),
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
            let still: Vec<usize> = chain
                .iter()
                .flat_map(|j| {
                    j.plan.actions.iter().zip(j.states.iter().zip(&j.acted)).filter(
                        |(_, (s, a))| {
                            **a && matches!(
                                s,
                                StepState::Started | StepState::Done | StepState::Undoing
                            )
                        },
                    )
                })
                .map(|(step, _)| step.id)
                .collect();
            Err(CliError::new(Kind::Partial, format!("rollback stopped at step {}: {}", stop.step, stop.reason))
                .cause(format!("undone: {}", ids(&outcome.applied)))
                .cause(format!("still applied: {}", ids(&still)))
                .hint("the rest was checked before the first change; something changed while it ran: `rebranch rollback` plans what is left again")
                .hint(format!("journal: {}", chain[0].path.display())))
        }
    }
}

/// A line for each local branch that a rollback's CI step moved on the remote but that
/// stayed (checked out with changes): never silently on a commit the remote no longer has.
fn local_left_behind(journal: &Journal, fx: &mut GitEffects<'_>) -> Vec<String> {
    use crate::exec::effects::Effects;
    let mut notes = Vec::new();
    let branches: std::collections::BTreeSet<(String, String)> = journal
        .plan
        .actions
        .iter()
        .filter_map(|s| match &s.action {
            crate::plan::Action::CiCommit(c) => Some((c.remote.clone(), c.branch.clone())),
            _ => None,
        })
        .collect();
    for (remote, branch) in branches {
        let (Ok(Some(local)), Ok(Some(tip))) =
            (fx.local_branch(&branch), fx.remote_head(&remote, &branch))
        else {
            continue;
        };
        if local.oid == tip {
            continue;
        }
        let at = crate::git::short(local.oid);
        if fx.contains(tip, local.oid) {
            notes.push(format!("local `{branch}` stays at {at}, behind `{remote}/{branch}`: `git pull --ff-only` brings it in line"));
        } else {
            notes.push(format!("local `{branch}` stays at {at}, which `{remote}/{branch}` no longer has (the rewrite commit); bring it in line with `git reset --keep {remote}/{branch}` (uncommitted changes are kept), or `git rebase --onto {remote}/{branch} {at} {branch}` if you committed on top of it"));
        }
    }
    notes
}

/// The run and every stopped run it carries on, the newest first.
fn chain_of(latest: Journal) -> Result<Vec<Journal>, CliError> {
    let mut chain = vec![latest];
    while let Some(prev) = chain.last().and_then(|j| j.continues.clone()) {
        let older = chain.last().map(|j| j.open_run(&prev)).transpose()?;
        chain.extend(older);
    }
    Ok(chain)
}

pub(super) fn take_lock(ctx: &Ctx<'_>, dir: &Path, command: &str) -> Result<Lock, CliError> {
    let lock = Lock::acquire(dir, command)?;
    // Scratch refs (the source of a push) of a run killed mid-push: only a run holding the
    // lock writes them, so any found now are left over.
    if let Some(repo) = dir.parent().and_then(|g| git2::Repository::open(g).ok()) {
        let names: Vec<String> = repo
            .references_glob("refs/rebranch/*")
            .map(|refs| refs.flatten().filter_map(|r| r.name().ok().map(str::to_string)).collect())
            .unwrap_or_default();
        for name in names {
            if let Ok(mut r) = repo.find_reference(&name) {
                let _ = r.delete();
            }
        }
    }
    if let Some(h) = &lock.took_over {
        ctx.ui.warn(&format!(
            "took over the lock left by `{}` (pid {} on {}), which no longer runs",
            h.command, h.pid, h.host
        ));
        // A holder killed while writing one of rebranch's scratch refs (refs/rebranch/)
        // leaves git's lock file behind; nothing else writes there, so it is stale. The
        // same goes for the branches and remote-tracking refs its last run was writing:
        // their lock files are named and removed, or the next write of them would fail.
        if let Some(git_dir) = dir.parent() {
            remove_lock_files(&git_dir.join("refs/rebranch"));
            for stale in stale_ref_locks(git_dir, dir) {
                if std::fs::remove_file(&stale).is_ok() {
                    ctx.ui.warn(&format!(
                        "removed {}, left by the run that was killed while writing that ref",
                        stale.display()
                    ));
                }
            }
        }
    }
    Ok(lock)
}

/// git's lock files for the refs the last run writes (its branches, local and
/// remote-tracking), when that run was killed.
fn stale_ref_locks(git_dir: &Path, state_dir: &Path) -> Vec<PathBuf> {
    let Ok(Some(last)) = Journal::latest(&Journal::dir(state_dir)) else { return Vec::new() };
    let remote = &last.plan.repository.remote;
    let mut names = std::collections::BTreeSet::new();
    for step in &last.plan.actions {
        use crate::plan::Action;
        match &step.action {
            Action::RemoteBranch(a) => names.insert(a.branch.clone()),
            Action::CiCommit(a) => names.insert(a.head.clone().unwrap_or_else(|| a.branch.clone())),
            Action::ChartCommit(a) => names.insert(a.branch.clone()),
            Action::LocalRename(a) => names.insert(a.from.clone()) | names.insert(a.to.clone()),
            Action::LocalBranch(a) => names.insert(a.branch.clone()),
            Action::Tracking(a) => names.insert(a.branch.clone()),
            Action::Pages(_) | Action::Setting(_) | Action::Await(_) => false,
        };
    }
    names
        .iter()
        .flat_map(|b| {
            [
                git_dir.join(format!("refs/heads/{b}.lock")),
                git_dir.join(format!("refs/remotes/{remote}/{b}.lock")),
            ]
        })
        .filter(|p| p.is_file())
        .collect()
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
    continues: Option<String>,
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
    Ok(Ok((Journal::create_continuing(dir, &plan, continues)?, listing)))
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
    if stop.waiting {
        return Err(CliError::new(
            Kind::Waiting,
            format!("waiting at step {}: {}", stop.step, stop.reason),
        )
        .cause(format!("done: {}", ids(&journal.step_ids(true))))
        .hint(
            "`rebranch apply` goes on once it is merged; `rebranch rollback` undoes what was done",
        )
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
    .hint(if stop.moved {
        "`rebranch apply` plans the rest again against the repository as it is now, keeping what was pushed since"
    } else {
        "`rebranch apply` resumes from where it stopped once the cause is fixed"
    })
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
        "stopped": outcome.stopped.as_ref().map(|s| serde_json::json!({"step": s.step, "reason": s.reason, "moved": s.moved, "waiting": s.waiting})),
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
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
