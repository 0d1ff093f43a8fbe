//! `apply`: a plan run under the repository's lock, journaled step by step. A fresh plan is
//! shown and confirmed through the caller, a saved plan is checked against live state and
//! applied exactly, and a stopped run is resumed (its rest planned again when it no longer
//! holds).

use std::path::{Path, PathBuf};

use super::{
    Confirm, Error, Kind, PlanOptions, Progress, Question, Services, lockfiles, state_dir,
};
use crate::exec::effects::GitEffects;
use crate::exec::journal::{Event, Journal, StepState};
use crate::exec::lock::Lock;
use crate::exec::{self, Outcome};
use crate::git::remote::RemoteListing;
use crate::plan::{Action, Plan};

/// The options of an apply.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// The repository and the migration it asks for.
    pub plan: PlanOptions,
    /// A plan saved with `plan --out`, applied exactly as reviewed.
    pub saved_plan: Option<PathBuf>,
    /// Skip the production deployment that checks the Pages switch.
    pub no_verify: bool,
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

/// Applies the plan to the repository (or resumes a stopped run) under its lock.
///
/// A resumed run whose next step no longer holds (a teammate pushed to `main` since) is
/// not retried as it was: the rest is planned again against live state (the CI commit made
/// again on the new tip, so the teammate's commit is kept) and applied as a run that
/// carries the stopped one on. A saved plan is never planned again: it is applied exactly
/// or refused. A fresh plan runs only once `confirm` accepts it.
pub fn apply(
    opts: &ApplyOptions,
    services: &Services<'_>,
    progress: &mut dyn Progress,
    confirm: Confirm<'_>,
) -> Result<Applied, Error> {
    apply_with(opts, services, progress, confirm, None)
}

/// Applies a plan another planner made (`split`, `prune`) and its caller showed and
/// confirmed: journaled and applied as [`apply`] does, so `apply` resumes it and
/// `rollback` undoes it. An unfinished run is never mixed with it: that is refused.
pub fn apply_given(
    opts: &ApplyOptions,
    plan: Plan,
    listing: RemoteListing,
    services: &Services<'_>,
    progress: &mut dyn Progress,
) -> Result<Applied, Error> {
    apply_with(opts, services, progress, &mut |_| Ok(()), Some((plan, listing)))
}

fn apply_with(
    opts: &ApplyOptions,
    services: &Services<'_>,
    progress: &mut dyn Progress,
    confirm: Confirm<'_>,
    given: Option<(Plan, RemoteListing)>,
) -> Result<Applied, Error> {
    let repo = super::open(&opts.plan.repo_path)?;
    let dir = state_dir(&repo);
    let lock = lockfiles::take(&dir, "apply", progress)?;
    let journal_dir = Journal::dir(&dir);
    let latest = Journal::latest(&journal_dir)?;
    let resumed = latest.as_ref().is_some_and(Journal::is_unfinished);
    let mut run = Starter { opts, services, repo: &repo, dir: &journal_dir };
    let (mut journal, listing) = match (latest, given) {
        (Some(j), Some(_)) if j.is_unfinished() => {
            return Err(Error::new(
                Kind::Failure,
                format!("an apply stopped part way (run {}); nothing was changed", j.run),
            )
            .hint("`rebranch apply` resumes it, `rebranch rollback` undoes it; then try again"));
        }
        (Some(j), None) if j.is_unfinished() => {
            // Refuses variables that differ from the stopped run's.
            super::request::request(&opts.plan, Some(&repo))?;
            let journal = resume(j, opts, progress)?;
            // The commits the rest checks may be on the remote only (a review merged).
            let remote = journal.plan.repository.remote.clone();
            let names = remote_names(std::iter::once(&journal.plan));
            let listing =
                crate::observe::connect(&repo, &remote, &names, opts.plan.no_fetch, &|_| {
                    Vec::new()
                })?;
            (journal, Some(listing))
        }
        (_, Some((plan, _))) if plan.is_empty() => {
            return Ok(Applied::NoChanges { plan: plan.plan.name });
        }
        (_, Some((plan, listing))) => {
            (Journal::create(&journal_dir, &without_verify(plan, opts))?, Some(listing))
        }
        (_, None) => match run.new_run(progress, confirm, None)? {
            Ok((j, listing)) => (j, Some(listing)),
            Err(plan) => return Ok(Applied::NoChanges { plan }),
        },
    };
    let mut outcome = run_journal(&repo, &mut journal, listing, opts, services, progress)?;
    let moved = outcome.stopped.as_ref().filter(|s| s.moved && !s.interrupted).cloned();
    // A stopped split or prune is not planned again as a migration: it stops, and says so.
    let replan = resumed && !crate::flow::is_flow_plan(&journal.plan);
    if let (true, None, Some(stop)) = (replan, &opts.saved_plan, moved) {
        progress.status(&format!(
            "Step {} of run {} no longer holds ({}); planning the rest again against the repository as it is now.",
            stop.step, journal.run, stop.reason
        ));
        match run.new_run(progress, confirm, Some(journal.run.clone()))? {
            Ok((mut next, listing)) => {
                journal.record(Event::Continued { by: next.run.clone() })?;
                outcome = run_journal(&repo, &mut next, Some(listing), opts, services, progress)?;
                journal = next;
            }
            Err(_) => {
                // What is left already holds: the migration is complete.
                journal.record(Event::Finished)?;
                outcome = Outcome::default();
            }
        }
    }
    progress.finished("apply", &journal, &outcome);
    let result = report(&mut journal, &outcome);
    drop(lock);
    result
}

/// A confirmed plan applied as a new run, kept with its effects and lock so that the
/// caller can roll it back at once when it stops (`migrate`).
pub struct Run<'r> {
    pub journal: Journal,
    pub outcome: Outcome,
    fx: GitEffects<'r>,
    _lock: Lock,
}

/// Applies `plan` (which the caller showed and confirmed) as a new run under the lock,
/// taken for `command`.
pub fn run_plan<'r>(
    repo: &'r git2::Repository,
    plan: Plan,
    listing: RemoteListing,
    no_verify: bool,
    command: &str,
    services: &Services<'_>,
    progress: &mut dyn Progress,
) -> Result<Run<'r>, Error> {
    let plan = if no_verify { strip_verify(plan) } else { plan };
    let dir = state_dir(repo);
    let lock = lockfiles::take(&dir, command, progress)?;
    let mut journal = Journal::create(&Journal::dir(&dir), &plan)?;
    let remote = plan.repository.remote.clone();
    let fx = GitEffects::new(repo).with_listing(&remote, listing);
    let mut fx = services.with_services(fx, &[&journal.plan], progress)?;
    progress.started();
    let outcome = exec::apply(&mut journal, &mut fx, progress)?;
    Ok(Run { journal, outcome, fx, _lock: lock })
}

impl Run<'_> {
    /// Undoes what the run did, planned against live state and checked first.
    pub fn undo(&mut self, progress: &mut dyn Progress) -> Result<Outcome, Error> {
        let undo = exec::undo::plan(std::slice::from_ref(&self.journal), &mut self.fx)?;
        let journals = std::slice::from_mut(&mut self.journal);
        Ok(exec::undo::run(journals, &undo, &mut self.fx, progress)?)
    }
}

/// The refusal for review items nobody has decided.
pub fn unresolved(plan: &Plan) -> Error {
    let mut err = Error::new(
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

/// Step ids as `step 1, step 2`, or `none`.
pub fn ids(ids: &[usize]) -> String {
    if ids.is_empty() {
        return "none".to_string();
    }
    let list: Vec<String> = ids.iter().map(|i| format!("step {i}")).collect();
    list.join(", ")
}

/// What starting a run needs: the options, the repository and its journal directory.
struct Starter<'s> {
    opts: &'s ApplyOptions,
    services: &'s Services<'s>,
    repo: &'s git2::Repository,
    dir: &'s Path,
}

impl Starter<'_> {
    /// Starts a run: a saved plan checked against live state, or a fresh plan confirmed.
    /// `Ok(Err(name))` when the repository already matches plan `name`.
    fn new_run(
        &mut self,
        progress: &mut dyn Progress,
        confirm: Confirm<'_>,
        continues: Option<String>,
    ) -> Result<Result<(Journal, RemoteListing), String>, Error> {
        let saved = self.opts.saved_plan.as_deref();
        let (plan, listing) = match saved {
            Some(path) => {
                let plan = super::saved::load(path)?;
                let listing = super::saved::check(self.repo, &plan, path, self.services, progress)?;
                (plan, listing)
            }
            None => {
                let planned =
                    super::plan::plan(self.repo, &self.opts.plan, self.services, progress)?;
                (planned.plan, planned.observation.listing)
            }
        };
        if plan.is_empty() {
            return Ok(Err(plan.plan.name));
        }
        if !plan.reviews.is_empty() {
            if saved.is_none() {
                confirm(Question::Review(&plan))?;
            }
            return Err(unresolved(&plan));
        }
        if saved.is_none() {
            confirm(Question::Apply(&plan))?;
        }
        // The journal records the plan that runs, --no-verify included.
        let plan = without_verify(plan, self.opts);
        Ok(Ok((Journal::create_continuing(self.dir, &plan, continues)?, listing)))
    }
}

/// Runs a journal's steps from where it stands.
fn run_journal(
    repo: &git2::Repository,
    journal: &mut Journal,
    listing: Option<RemoteListing>,
    opts: &ApplyOptions,
    services: &Services<'_>,
    progress: &mut dyn Progress,
) -> Result<Outcome, Error> {
    if opts.no_verify {
        // A resumed run keeps its recorded plan; --no-verify still skips the check now.
        journal.plan = strip_verify(journal.plan.clone());
    }
    let mut fx = services.with_services(GitEffects::new(repo), &[&journal.plan], progress)?;
    if let Some(listing) = listing {
        fx = fx.with_listing(&journal.plan.repository.remote, listing);
    }
    progress.started();
    Ok(exec::apply(journal, &mut fx, progress)?)
}

fn without_verify(plan: Plan, opts: &ApplyOptions) -> Plan {
    if opts.no_verify { strip_verify(plan) } else { plan }
}

/// The plan with its settings' changes made but not verified: no deployment waited for,
/// no served file checked.
fn strip_verify(mut plan: Plan) -> Plan {
    for step in &mut plan.actions {
        if let Action::Setting(c) = &mut step.action {
            c.serves = None;
            c.then = None;
        }
    }
    plan
}

/// The remote branches the plans' steps read or write: fetched before a resume or a
/// rollback, so the commits they check (a review merged on the remote) are here.
pub(crate) fn remote_names<'p>(
    plans: impl Iterator<Item = &'p Plan>,
) -> std::collections::BTreeSet<String> {
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

fn resume(
    journal: Journal,
    opts: &ApplyOptions,
    progress: &dyn Progress,
) -> Result<Journal, Error> {
    if let Some(path) = &opts.saved_plan {
        let saved = super::saved::load(path)?;
        if saved.observed.fingerprint != journal.plan.observed.fingerprint {
            return Err(Error::new(
                Kind::Failure,
                format!("an apply of another plan stopped part way (run {})", journal.run),
            )
            .hint("run `rebranch apply` without a file to resume it, or `rebranch rollback` to undo it, then apply this plan"));
        }
    }
    let done = journal.states.iter().filter(|s| **s == StepState::Done).count();
    progress.status(&format!(
        "Resuming run {}: {done} of {} steps were done.",
        journal.run,
        journal.states.len()
    ));
    Ok(journal)
}

/// The result of a run, or the error that says what was done, what was not, and the ways on.
fn report(journal: &mut Journal, outcome: &Outcome) -> Result<Applied, Error> {
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
        return Err(Error::new(
            Kind::Interrupted,
            format!("interrupted before step {}; the journal is consistent", stop.step),
        )
        .hint("`rebranch apply` resumes; `rebranch rollback` undoes what was done")
        .hint(format!("journal: {}", journal.path.display())));
    }
    if stop.waiting {
        return Err(Error::new(
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
        return Err(Error::new(
            Kind::Moved,
            format!("refused at step {}: {}", stop.step, stop.reason),
        )
        .cause("nothing was changed")
        .hint("run `rebranch plan` again and review the new plan"));
    }
    let (done, not_done) = (journal.step_ids(true), journal.step_ids(false));
    Err(Error::new(Kind::Partial, format!("apply stopped at step {}: {}", stop.step, stop.reason))
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
