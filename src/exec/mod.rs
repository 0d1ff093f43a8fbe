//! Apply and rollback: one action at a time, each checked against live state right before
//! it runs, journaled before and after, stopping at the first failure.
//!
//! The executor knows actions only through [`steps::check`], [`steps::run`] and
//! [`crate::plan::Action::inverse`]; it never matches on their kinds.

pub mod effects;
pub mod journal;
pub mod lock;
pub mod steps;
pub mod undo;

use crate::git::GitError;
use crate::git::remote::PushError;
use crate::plan::Step;
use effects::Effects;
use journal::{Event, Journal, JournalError, StepState};
use steps::Readiness;

/// An action that could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Push(#[from] PushError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("{0}")]
    Config(String),
    /// A hosted service refused or failed a read or a change.
    #[error("{0}")]
    Service(String),
    /// People have to act before the step can go on (merge a review): says what to do.
    #[error("{0}")]
    Waiting(String),
    #[error("{0}")]
    Moved(String),
    #[error("injected fault: {0}")]
    Fault(String),
    /// A rollback that would drop someone's work: each line names what moved.
    #[error("{}", .0.join("; "))]
    Refused(Vec<String>),
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Asks a running apply or rollback to stop after the step in progress (Ctrl-C).
pub fn interrupt() {
    INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Whether [`interrupt`] was called.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// What the executor reports as it goes.
pub trait Progress {
    fn event(&mut self, step: &Step, event: StepEvent<'_>);
}

/// A moment in an action's life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepEvent<'a> {
    Starting,
    Applied,
    AlreadyDone,
    Failed(&'a str),
}

/// A progress sink that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&mut self, _: &Step, _: StepEvent<'_>) {}
}

/// How a run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Step ids that took effect in this run.
    pub applied: Vec<usize>,
    /// Step ids whose effect already held.
    pub already: Vec<usize>,
    /// Where and why the run stopped, if it did.
    pub stopped: Option<Stopped>,
}

/// The step a run stopped at.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    pub step: usize,
    pub reason: String,
    /// True when live state differs from what the step expects (nothing was attempted).
    pub moved: bool,
    /// True when the run stopped because it was interrupted, before this step.
    #[doc(hidden)]
    pub interrupted: bool,
    /// True when the step waits for people (a review to merge): `apply` goes on after.
    pub waiting: bool,
}

impl Outcome {
    pub fn is_complete(&self) -> bool {
        self.stopped.is_none()
    }
}

/// Applies the journal's plan from where it stands: steps already done are skipped, so an
/// interrupted run resumes.
pub fn apply(
    journal: &mut Journal,
    fx: &mut dyn Effects,
    progress: &mut dyn Progress,
) -> Result<Outcome, JournalError> {
    let mut outcome = Outcome::default();
    let steps = journal.plan.actions.clone();
    for (i, step) in steps.iter().enumerate() {
        if journal.states[i] == StepState::Done {
            continue;
        }
        if interrupted() {
            outcome.stopped = Some(Stopped::interrupted(step.id));
            return Ok(outcome);
        }
        progress.event(step, StepEvent::Starting);
        let result = fault::at("before", step.id)
            .and_then(|()| steps::check(&step.action, fx))
            .and_then(|r| run_one(journal, i, step, r, fx, Way::Apply))
            .map_err(|e| stopped(step, e));
        match result {
            Ok(true) => outcome.applied.push(step.id),
            Ok(false) => outcome.already.push(step.id),
            Err(stop) => {
                journal.record(Event::Failed {
                    step: i,
                    error: stop.reason.clone(),
                    untouched: stop.moved,
                })?;
                progress.event(step, StepEvent::Failed(&stop.reason));
                outcome.stopped = Some(stop);
                return Ok(outcome);
            }
        }
        let applied = outcome.applied.last() == Some(&step.id);
        progress.event(step, if applied { StepEvent::Applied } else { StepEvent::AlreadyDone });
        if let Err(e) = fault::at("after", step.id) {
            let stop = stopped(step, e);
            journal.record(Event::Failed {
                step: i,
                error: stop.reason.clone(),
                untouched: false,
            })?;
            outcome.stopped = Some(stop);
            return Ok(outcome);
        }
    }
    journal.record(Event::Finished)?;
    Ok(outcome)
}

/// Which way a step runs: its journal lines differ, nothing else.
#[derive(Clone, Copy)]
pub(crate) enum Way {
    Apply,
    Undo,
}

impl Way {
    fn start(self, step: usize) -> Event {
        match self {
            Way::Apply => Event::Start { step },
            Way::Undo => Event::Undo { step },
        }
    }

    fn done(self, step: usize, already: bool) -> Event {
        match self {
            Way::Apply => Event::Done { step, already },
            Way::Undo => Event::Undone { step, already },
        }
    }
}

/// Runs one checked step between its journal lines; `Ok(false)` when it was already done.
pub(crate) fn run_one(
    journal: &mut Journal,
    i: usize,
    step: &Step,
    r: Readiness,
    fx: &mut dyn Effects,
    way: Way,
) -> Result<bool, ExecError> {
    match r {
        Readiness::Done => {
            journal.record(way.done(i, true))?;
            Ok(false)
        }
        Readiness::Blocked(why) => Err(ExecError::Moved(why)),
        Readiness::Waiting(what) => Err(ExecError::Waiting(what)),
        Readiness::Ready => {
            journal.record(way.start(i))?;
            if matches!(way, Way::Apply) {
                fault::at("during", step.id)?;
            }
            steps::run(&step.action, fx)?;
            journal.record(way.done(i, false))?;
            Ok(true)
        }
    }
}

pub(crate) fn stopped(step: &Step, e: ExecError) -> Stopped {
    let moved = matches!(&e, ExecError::Moved(_) | ExecError::Push(PushError::Moved { .. }));
    let waiting = matches!(e, ExecError::Waiting(_));
    Stopped { step: step.id, reason: e.to_string(), moved, interrupted: false, waiting }
}

impl Stopped {
    pub(crate) fn interrupted(step: usize) -> Stopped {
        Stopped {
            step,
            reason: "interrupted".to_string(),
            moved: false,
            interrupted: true,
            waiting: false,
        }
    }
}

/// Test-only fault injection, read from `REBRANCH_FAULT` (`fail-before:N`, `fail-during:N`,
/// `fail-after:N`, `fail-undo:N`, or `crash-…` to abort the process there). Compiled only
/// into debug builds: release binaries never read it.
pub(crate) mod fault {
    use super::ExecError;

    #[cfg(debug_assertions)]
    pub fn at(point: &str, step: usize) -> Result<(), ExecError> {
        let Ok(spec) = std::env::var("REBRANCH_FAULT") else {
            return Ok(());
        };
        for item in spec.split(',') {
            let Some((what, n)) = item.trim().split_once(':') else {
                continue;
            };
            if n.parse::<usize>().ok() != Some(step) {
                continue;
            }
            if what == format!("fail-{point}") {
                return Err(ExecError::Fault(format!("{point} step {step}")));
            }
            if what == format!("crash-{point}") {
                std::process::abort();
            }
        }
        Ok(())
    }

    #[cfg(not(debug_assertions))]
    pub fn at(_point: &str, _step: usize) -> Result<(), ExecError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
