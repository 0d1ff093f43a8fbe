//! `status`: whether the repository matches the plan's target, and whether an apply stopped
//! part way.

use std::collections::BTreeMap;

use super::{Error, Notices, PlanOptions, Services, state_dir};
use crate::exec::journal::{Journal, StepState};
use crate::flow::{self, Finding, FlowConfig};
use crate::spec::Target;

/// An apply that stopped part way: its run and how far it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unfinished {
    pub run: String,
    pub done: usize,
    pub steps: usize,
}

impl Unfinished {
    /// The run, as `run R, D of N steps done`.
    pub fn describe(&self) -> String {
        format!("run {}, {} of {} steps done", self.run, self.done, self.steps)
    }

    /// A note naming the way on.
    pub fn note(&self) -> String {
        format!(
            "an apply stopped part way ({}): `rebranch apply` resumes it, `rebranch rollback` undoes it",
            self.describe()
        )
    }
}

/// The last apply, when it stopped part way.
pub fn unfinished(repo: &git2::Repository) -> Result<Option<Unfinished>, Error> {
    let Some(journal) = Journal::latest(&Journal::dir(&state_dir(repo)))? else {
        return Ok(None);
    };
    if !journal.is_unfinished() {
        return Ok(None);
    }
    let done = journal.states.iter().filter(|s| **s == StepState::Done).count();
    Ok(Some(Unfinished { run: journal.run, done, steps: journal.states.len() }))
}

/// A note when the last apply stopped part way, naming the way on.
pub fn unfinished_note(repo: &git2::Repository) -> Result<Option<String>, Error> {
    Ok(unfinished(repo)?.map(|u| u.note()))
}

/// The repository against the plan's target: what the plan still has to do, an apply
/// that stopped part way, and the per-chart flow's health once it can have one.
pub struct Status {
    pub planned: super::plan::Planned,
    pub unfinished: Option<String>,
    pub flow: Option<FlowHealth>,
}

/// The per-chart flow's health.
pub enum FlowHealth {
    /// Its branches could not be observed: why.
    Unchecked(String),
    /// The chart branches (named by `pattern`, on `remote`) and what is wrong with them.
    Checked { pattern: String, remote: String, branches: Vec<String>, findings: Vec<Finding> },
}

/// Observes the repository and says how far it is from the target.
pub fn status(
    repo: &git2::Repository,
    opts: &PlanOptions,
    services: &Services<'_>,
    notices: &dyn Notices,
) -> Result<Status, Error> {
    let planned = super::plan::plan(repo, opts, services, notices)?;
    let unfinished = unfinished_note(repo)?;
    let heads = &planned.observation.remote_heads;
    let flow = flow_health(repo, &planned.target, heads, opts.no_fetch);
    Ok(Status { planned, unfinished, flow })
}

/// The flow of `target` (the migration `status` checked), once its stable and staging
/// branches exist on the remote (`heads`) and the staging one is observed.
fn flow_health(
    repo: &git2::Repository,
    target: &Target,
    heads: &BTreeMap<String, git2::Oid>,
    no_fetch: bool,
) -> Option<FlowHealth> {
    let cfg = FlowConfig::of(target).ok()?;
    if !heads.contains_key(&cfg.main) || !heads.contains_key(&cfg.integration) {
        return None;
    }
    let obs = match flow::observe::observe(repo, &cfg, no_fetch) {
        Ok(obs) => obs,
        Err(e) => return Some(FlowHealth::Unchecked(e.to_string())),
    };
    obs.integration_tip?;
    Some(FlowHealth::Checked {
        findings: flow::health(&cfg, &obs),
        pattern: cfg.pattern.text,
        remote: obs.remote,
        branches: obs.branches.into_keys().collect(),
    })
}
