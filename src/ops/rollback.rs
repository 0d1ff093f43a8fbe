//! `rollback`: undoes the last migration (its last run and every stopped run that run
//! carries on) under the repository's lock. The whole rollback is planned against live
//! state and checked first, confirmed through the caller, then run.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::apply::ids;
use super::{Confirm, Error, Kind, Progress, Question, Services, lockfiles, state_dir};
use crate::exec::effects::{Effects, GitEffects};
use crate::exec::journal::{Event, Journal, StepState};
use crate::exec::{self};
use crate::observe;
use crate::plan::{Action, Step};

/// The options of a rollback.
#[derive(Debug, Clone)]
pub struct RollbackOptions {
    /// The repository (a clone).
    pub repo_path: PathBuf,
    /// Check against the remote-tracking refs as they are: fetch nothing first.
    pub no_fetch: bool,
}

/// What a rollback did, when it did not fail.
#[derive(Debug, Clone, PartialEq)]
pub enum RolledBack {
    /// No apply has changed the repository.
    Nothing,
    /// Every step of the run is undone.
    Complete { run: String, undone: usize, already: usize },
}

/// Undoes the last migration of the repository; `confirm` sees the steps first.
pub fn rollback(
    opts: &RollbackOptions,
    services: &Services<'_>,
    progress: &mut dyn Progress,
    confirm: Confirm<'_>,
) -> Result<RolledBack, Error> {
    let repo = super::open(&opts.repo_path)?;
    let dir = state_dir(&repo);
    let _lock = lockfiles::take(&dir, "rollback", progress)?;
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
    let names = super::apply::remote_names(chain.iter().map(|j| &j.plan));
    let listing = observe::connect(&repo, &remote, &names, opts.no_fetch, &|_| Vec::new())?;
    // A service's settings may be in an earlier run of the chain than the last one.
    let fx = GitEffects::new(&repo).with_listing(&remote, listing);
    let plans: Vec<&crate::plan::Plan> = chain.iter().map(|j| &j.plan).collect();
    let mut fx = services.with_services(fx, &plans, progress)?;
    let undo = exec::undo::plan(&chain, &mut fx)?;
    let runs: Vec<String> = chain.iter().map(|j| j.run.clone()).collect();
    let steps: Vec<Step> = undo.undo.iter().map(|u| u.step.clone()).collect();
    confirm(Question::Rollback { runs: &runs, steps: &steps, notes: &undo.notes })?;
    progress.started();
    let outcome = exec::undo::run(&mut chain, &undo, &mut fx, progress)?;
    for note in local_left_behind(&chain[0], &mut fx) {
        progress.warn(&note);
    }
    progress.finished("rollback", &chain[0], &outcome);
    match &outcome.stopped {
        None => Ok(RolledBack::Complete {
            run: runs.join(" and "),
            undone: outcome.applied.len(),
            already: outcome.already.len(),
        }),
        Some(stop) if stop.interrupted => Err(Error::new(
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
            Err(Error::new(Kind::Partial, format!("rollback stopped at step {}: {}", stop.step, stop.reason))
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
    let mut notes = Vec::new();
    let branches: BTreeSet<(String, String)> = journal
        .plan
        .actions
        .iter()
        .filter_map(|s| match &s.action {
            Action::CiCommit(c) => Some((c.remote.clone(), c.branch.clone())),
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
fn chain_of(latest: Journal) -> Result<Vec<Journal>, Error> {
    let mut chain = vec![latest];
    while let Some(prev) = chain.last().and_then(|j| j.continues.clone()) {
        let older = chain.last().map(|j| j.open_run(&prev)).transpose()?;
        chain.extend(older);
    }
    Ok(chain)
}
