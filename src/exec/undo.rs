//! Rollback as a plan: every inverse is computed from the journal and live state, and
//! checked, before the first change.
//!
//! Where a ref is still where the migration left it, it is restored exactly. Where newer
//! work landed on top, the inverse goes on top of that work instead of replacing it: the CI
//! rewrite is reverted by a new commit on the branch's current tip, a renamed branch goes
//! back to its old name at its current tip (so a chart published to `release` since is kept
//! on `charts`), and the Pages project goes back to the old branch with a deployment of that
//! tip rather than the older deployment it served before. Where no such inverse exists the
//! rollback is refused, naming what moved, and nothing is changed. No ref is ever moved off
//! commits that no other branch holds, and a step that a run did not act on (it failed
//! before taking effect, or its effect already held) is not undone.

use std::collections::BTreeMap;

use git2::Oid;

use super::effects::Effects;
use super::journal::{Event, Journal, StepState};
use super::{ExecError, Outcome, Progress, StepEvent, Stopped, Way, fault, interrupted, steps};
use crate::git::short;
use crate::plan::Step;
use crate::plan::action::{
    Action, Await, ChartCommit, CiCommit, CiFileChange, LocalBranchChange, LocalRename,
    RemoteBranch, SettingChange,
};

/// One inverse, and the journal step it undoes.
#[derive(Debug, Clone)]
pub struct Undo {
    /// Index of the run in the chain (0: the newest).
    pub run: usize,
    /// Index of the step in that run's plan.
    pub index: usize,
    /// The inverse, concrete: what it expects and what it leaves.
    pub step: Step,
}

/// A whole rollback, checked: the inverses in the order they run, the steps whose inverse
/// already holds, and what the user should know about this clone afterwards.
#[derive(Debug, Clone, Default)]
pub struct UndoPlan {
    pub undo: Vec<Undo>,
    pub already: Vec<(usize, usize)>,
    pub notes: Vec<String>,
}

/// Why a rollback cannot be made without dropping someone's work, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub Vec<String>);

/// Computes the rollback of `chain` (the newest run first, then each run it carries on)
/// against live state, reading through `fx` only.
pub fn plan(chain: &[Journal], fx: &mut dyn Effects) -> Result<UndoPlan, ExecError> {
    let mut p = Planner { fx, heads: BTreeMap::new(), out: UndoPlan::default(), refused: vec![] };
    for (run, journal) in chain.iter().enumerate() {
        for index in (0..journal.plan.actions.len()).rev() {
            let acted = journal.acted[index];
            let state = journal.states[index];
            let step = &journal.plan.actions[index];
            if let Action::Await(a) = &step.action {
                // Never acted on (people merge), but what they merged is named.
                p.awaited(a)?;
                continue;
            }
            if !acted || !matches!(state, StepState::Started | StepState::Done | StepState::Undoing)
            {
                continue;
            }
            match p.inverse(chain, &step.action)? {
                Some(action) => p.out.undo.push(Undo {
                    run,
                    index,
                    step: Step { id: step.id, summary: action.summary(), action },
                }),
                None => p.out.already.push((run, index)),
            }
        }
    }
    if p.refused.is_empty() { Ok(p.out) } else { Err(ExecError::Refused(p.refused)) }
}

/// Runs a checked rollback: each inverse is checked against live state right before it
/// runs (a change since the plan stops it), journaled in the run it undoes.
pub fn run(
    chain: &mut [Journal],
    plan: &UndoPlan,
    fx: &mut dyn Effects,
    progress: &mut dyn Progress,
) -> Result<Outcome, ExecError> {
    let mut outcome = Outcome::default();
    for &(run, index) in &plan.already {
        chain[run].record(Event::Undone { step: index, already: true })?;
        outcome.already.push(chain[run].plan.actions[index].id);
    }
    for u in &plan.undo {
        if interrupted() {
            outcome.stopped = Some(Stopped::interrupted(u.step.id));
            return Ok(outcome);
        }
        progress.event(&u.step, StepEvent::Starting);
        let journal = &mut chain[u.run];
        let result = fault::at("undo", u.step.id)
            .and_then(|()| steps::check(&u.step.action, fx))
            .and_then(|r| super::run_one(journal, u.index, &u.step, r, fx, Way::Undo))
            .map_err(|e| super::stopped(&u.step, e));
        match result {
            Ok(applied) => {
                let list = if applied { &mut outcome.applied } else { &mut outcome.already };
                list.push(u.step.id);
                let event = if applied { StepEvent::Applied } else { StepEvent::AlreadyDone };
                progress.event(&u.step, event);
            }
            Err(stop) => {
                progress.event(&u.step, StepEvent::Failed(&stop.reason));
                outcome.stopped = Some(stop);
                return Ok(outcome);
            }
        }
    }
    sync_tracking(chain, fx)?;
    for journal in chain.iter_mut() {
        journal.record(Event::RolledBack)?;
    }
    Ok(outcome)
}

/// Brings the remote-tracking refs of every branch the chain touched on the remote in line
/// with the remote (a rollback killed between a push and its tracking ref leaves one stale,
/// and the next rollback finds that push's inverse already holds).
fn sync_tracking(chain: &[Journal], fx: &mut dyn Effects) -> Result<(), ExecError> {
    let mut branches = std::collections::BTreeSet::new();
    for step in chain.iter().flat_map(|j| &j.plan.actions) {
        match &step.action {
            Action::RemoteBranch(a) => branches.insert((a.remote.clone(), a.branch.clone())),
            Action::CiCommit(a) => branches.insert((a.remote.clone(), a.branch.clone())),
            Action::ChartCommit(a) => branches.insert((a.remote.clone(), a.branch.clone())),
            _ => false,
        };
    }
    for (remote, branch) in branches {
        let live = fx.remote_head(&remote, &branch)?;
        if fx.tracking(&remote, &branch) != live {
            fx.set_tracking(&remote, &branch, live)?;
        }
    }
    Ok(())
}

struct Planner<'a> {
    fx: &'a mut dyn Effects,
    /// Remote branches as they will be once the inverses planned so far have run.
    heads: BTreeMap<(String, String), Option<Oid>>,
    out: UndoPlan,
    refused: Vec<String>,
}

impl Planner<'_> {
    fn head(&mut self, remote: &str, branch: &str) -> Result<Option<Oid>, ExecError> {
        let key = (remote.to_string(), branch.to_string());
        if let Some(v) = self.heads.get(&key) {
            return Ok(*v);
        }
        let live = self.fx.remote_head(remote, branch)?;
        self.heads.insert(key, live);
        Ok(live)
    }

    fn set(&mut self, remote: &str, branch: &str, oid: Option<Oid>) {
        self.heads.insert((remote.to_string(), branch.to_string()), oid);
    }

    /// Whether some remote branch other than `except` will hold `oid`.
    fn held_elsewhere(&mut self, remote: &str, except: &str, oid: Oid) -> Result<bool, ExecError> {
        let mut names: Vec<String> = self.fx.remote_heads(remote)?.into_keys().collect();
        names.extend(self.heads.keys().filter(|(r, _)| r == remote).map(|(_, b)| b.clone()));
        names.sort();
        names.dedup();
        for name in names.iter().filter(|n| *n != except) {
            if let Some(tip) = self.head(remote, name)?
                && self.fx.contains(tip, oid)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn refuse(&mut self, why: String) -> Option<Action> {
        self.refused.push(why);
        None
    }

    /// The inverse of `action` given live state, `None` when it already holds (or when it
    /// is refused: the refusal is recorded).
    fn inverse(&mut self, chain: &[Journal], action: &Action) -> Result<Option<Action>, ExecError> {
        Ok(match action {
            Action::RemoteBranch(a) => self.remote_branch(a)?,
            Action::CiCommit(a) if !a.back && a.head.is_some() => {
                let back = Action::CiCommit(Box::new(CiCommit { back: true, ..(**a).clone() }));
                self.checked(back)?
            }
            Action::CiCommit(a) if !a.back => self.ci_commit(a)?,
            Action::Await(_) => None,
            Action::LocalRename(a) => self.local_rename(a)?,
            Action::LocalBranch(a) => self.local_branch(a)?,
            Action::ChartCommit(a) => self.chart_commit(a)?,
            Action::Setting(a) if !a.back => self.setting(chain, a)?,
            other => Some(other.inverse()),
        })
    }

    fn remote_branch(&mut self, a: &RemoteBranch) -> Result<Option<Action>, ExecError> {
        let (r, b) = (a.remote.as_str(), a.branch.as_str());
        let from = oid(&a.from)?;
        let to = oid(&a.to)?;
        let live = self.head(r, b)?;
        if live == from {
            return Ok(None);
        }
        let change = |from: Option<Oid>, to: Option<Oid>, kept_by: Option<String>, why: &str| {
            Action::RemoteBranch(RemoteBranch {
                remote: r.to_string(),
                branch: b.to_string(),
                from: from.map(|o| o.to_string()),
                to: to.map(|o| o.to_string()),
                kept_by,
                kept_files: Vec::new(),
                why: why.to_string(),
            })
        };
        match (from, live) {
            // Created (or moved) by the migration: it goes (or goes back) only when what it
            // holds now is held by another branch.
            (_, Some(now)) if Some(now) != from => {
                let shown = if Some(now) == to {
                    String::new()
                } else {
                    format!(" (it moved from {} since the migration)", show(to))
                };
                if !self.held_elsewhere(r, b, now)? {
                    let why = format!(
                        "`{r}/{b}` is at {}{shown}, which no other branch holds: undoing it would drop those commits; merge or move them, then roll back",
                        short(now)
                    );
                    return Ok(self.refuse(why));
                }
                let keeper = self.keeper(r, b, now)?;
                self.set(r, b, from);
                Ok(Some(change(Some(now), from, keeper, &format!("undo: {}", a.why))))
            }
            // Deleted by the migration: it comes back at the tip of the branch that kept it,
            // which holds its old tip and whatever was published on top since.
            (Some(old), None) => {
                if !self.fx.contains(old, old) {
                    let why = format!(
                        "the journal names commit {} for `{r}/{b}`, which this clone does not have",
                        short(old)
                    );
                    return Ok(self.refuse(why));
                }
                let keeper_tip = match &a.kept_by {
                    Some(k) => self.head(r, k)?,
                    None => None,
                };
                let at = match keeper_tip {
                    Some(k) if self.fx.contains(k, old) => k,
                    _ => old,
                };
                let why = if at == old {
                    format!("undo: {}", a.why)
                } else {
                    format!(
                        "undo: {}; at the tip of {}, which holds {} and what was published since",
                        a.why,
                        a.kept_by.as_deref().unwrap_or("?"),
                        short(old)
                    )
                };
                self.set(r, b, Some(at));
                Ok(Some(change(None, Some(at), None, &why)))
            }
            _ => Ok(None),
        }
    }

    /// A chart branch `split` set goes back only while it is still at the commit `split`
    /// made: that commit holds nothing but `main` and a chart from `integration`, so moving
    /// off it drops no one's work; anything pushed on top since is refused, named.
    fn chart_commit(&mut self, a: &ChartCommit) -> Result<Option<Action>, ExecError> {
        let (r, b) = (a.remote.as_str(), a.branch.as_str());
        let (from, made) = (oid(&a.from)?, Some(crate::git::parse_oid(&a.commit)?));
        let live = self.head(r, b)?;
        if live == from {
            return Ok(None);
        }
        if live != made {
            let why = format!(
                "`{r}/{b}` is {}, not at {} where split left it: work was pushed on top since; merge or move it, then roll back",
                show(live),
                short(made.unwrap_or(Oid::ZERO_SHA1))
            );
            return Ok(self.refuse(why));
        }
        self.set(r, b, from);
        Ok(Some(Action::ChartCommit(Box::new(a.clone())).inverse()))
    }

    /// A branch other than `except` that holds `oid` once the inverses so far have run.
    fn keeper(
        &mut self,
        remote: &str,
        except: &str,
        oid: Oid,
    ) -> Result<Option<String>, ExecError> {
        let names: Vec<String> = self.fx.remote_heads(remote)?.into_keys().collect();
        let mut all: Vec<String> = self
            .heads
            .keys()
            .filter(|(r, _)| r == remote)
            .map(|(_, b)| b.clone())
            .chain(names)
            .collect();
        all.sort();
        all.dedup();
        for name in all.into_iter().filter(|n| n != except) {
            if let Some(tip) = self.head(remote, &name)?
                && self.fx.contains(tip, oid)
            {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    fn ci_commit(&mut self, a: &CiCommit) -> Result<Option<Action>, ExecError> {
        let (parent, commit) =
            (crate::git::parse_oid(&a.parent)?, crate::git::parse_oid(&a.commit)?);
        let (r, b) = (a.remote.as_str(), a.branch.as_str());
        let live = self.head(r, b)?;
        if live == Some(parent) {
            // Never pushed (a run stopped before), or already taken back on the remote: the
            // local branch may still have to follow (a rollback killed between the two).
            let back = Action::CiCommit(Box::new(CiCommit { back: true, ..a.clone() }));
            return self.checked(back);
        }
        match self.fx.parents(commit) {
            Some(p) if p == [parent] => {}
            Some(p) => {
                let why = format!(
                    "the journal says the rewrite commit {} has parent {}, but its parent is {}: the journal does not match the repository",
                    short(commit),
                    short(parent),
                    p.first().map_or("(none)".to_string(), |o| short(*o))
                );
                return Ok(self.refuse(why));
            }
            None => {
                let why = format!(
                    "the journal names the rewrite commit {}, which this clone does not have",
                    short(commit)
                );
                return Ok(self.refuse(why));
            }
        }
        match live {
            Some(now) if now == commit => {
                self.set(r, b, Some(parent));
                Ok(Some(Action::CiCommit(Box::new(CiCommit { back: true, ..a.clone() }))))
            }
            Some(now) if self.fx.contains(now, commit) => self.revert(a, now),
            _ => {
                let why = format!(
                    "`{r}/{b}` is {}, which no longer contains the rewrite commit {} (its history was rewritten): revert the rewrite by hand",
                    show(live),
                    short(commit)
                );
                Ok(self.refuse(why))
            }
        }
    }

    /// A commit on top of `tip` that puts each rewritten file back, when nobody changed it
    /// since.
    fn revert(&mut self, a: &CiCommit, tip: Oid) -> Result<Option<Action>, ExecError> {
        let parent = crate::git::parse_oid(&a.parent)?;
        let (r, b) = (a.remote.as_str(), a.branch.as_str());
        let mut files = Vec::new();
        for f in &a.files {
            let now_blob = self.fx.blob_at(tip, &f.path);
            if now_blob.map(|o| o.to_string()).as_deref() != Some(f.new_blob.as_str()) {
                let why = format!(
                    "{} was changed on `{r}/{b}` since the rewrite: the rewrite cannot be reverted without undoing that change; revert it by hand",
                    f.path
                );
                return Ok(self.refuse(why));
            }
            let old = self.fx.file_at(parent, &f.path).unwrap_or_default();
            let old = String::from_utf8_lossy(&old).into_owned();
            let diff = similar::TextDiff::from_lines(f.content.as_str(), old.as_str())
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{}", f.path), &format!("b/{}", f.path))
                .to_string();
            files.push(CiFileChange {
                path: f.path.clone(),
                old_blob: f.new_blob.clone(),
                new_blob: f.old_blob.clone(),
                content: old,
                diff,
                rewrites: f.rewrites,
                notes: Vec::new(),
            });
        }
        let subject = a.message.lines().next().unwrap_or_default();
        let mut revert = CiCommit {
            head: None,
            remote: a.remote.clone(),
            branch: a.branch.clone(),
            parent: tip.to_string(),
            commit: String::new(),
            author: crate::plan::action::Identity {
                time: crate::observe::ci::commit_time(),
                ..a.author.clone()
            },
            message: format!(
                "Revert \"{subject}\"\n\nThis reverts commit {}: rebranch rollback, on top of the work pushed since.\n",
                a.commit
            ),
            files,
            back: false,
        };
        revert.commit = self.fx.write_commit(&revert)?.to_string();
        self.set(r, b, Some(crate::git::parse_oid(&revert.commit)?));
        self.out.notes.push(format!(
            "`{r}/{b}` moved since the migration ({}): the rewrite is reverted by a new commit on top, so that work is kept",
            short(tip)
        ));
        Ok(Some(Action::CiCommit(Box::new(revert))))
    }

    /// A setting goes back only from the value the migration left; one changed since is
    /// someone's decision, named and left alone.
    fn setting(
        &mut self,
        chain: &[Journal],
        a: &SettingChange,
    ) -> Result<Option<Action>, ExecError> {
        let mut back = a.inverse();
        // When a branch the setting was moved to has commits made since the migration (a
        // chart published to it), what a site served before is out of date: it is built from
        // the old branch again (back at that branch's tip) instead of put back. Only a change
        // that does something after its write (a deployment, a build) has such a state.
        let follows = back.then.is_some();
        for branch in crate::service::names_in(&a.to).into_iter().filter(|_| follows) {
            let created =
                chain.iter().flat_map(|j| &j.plan.actions).find_map(|s| match &s.action {
                    Action::RemoteBranch(r) if r.branch == branch && r.from.is_none() => {
                        r.to.clone()
                    }
                    _ => None,
                });
            let now = self.head(&a.remote, &branch)?.map(|o| o.to_string());
            if created.is_some() && now.is_some() && created != now {
                let old = crate::service::names_in(&a.from).into_iter().next().unwrap_or_default();
                back.moved = true;
                back.then = Some(format!(
                    "build and serve `{old}` again: it comes back at the tip of `{branch}`, with what was published there since the migration"
                ));
            }
        }
        let live = self.fx.setting(a)?;
        if live == a.from {
            // Back already: done once what follows the write is too (a rollback stopped
            // between the two has that still to do).
            return Ok(if self.fx.settled(&back)? {
                None
            } else {
                Some(Action::Setting(Box::new(back)))
            });
        }
        if live != a.to {
            let (live, left) = SettingChange::show_pair(&live, &a.to);
            let why = format!("{} is {live} now, not {left} as the migration left it", a.label);
            return Ok(self.refuse(why));
        }
        Ok(Some(Action::Setting(Box::new(back))))
    }

    /// A rewrite merged through review is on the branch as people merged it: it is not
    /// taken back by a push (the branch takes changes only through review), but named.
    fn awaited(&mut self, a: &Await) -> Result<Option<Action>, ExecError> {
        let tip = self.head(&a.remote, &a.branch)?;
        if tip.is_some_and(|t| steps::has_rewrite(a, t, self.fx)) {
            self.out.notes.push(format!(
                "`{}/{}` has the CI rewrite, merged through its review: it stays; revert it through a pull request (`git revert` of the merge) so CI names the old branch again",
                a.remote, a.branch
            ));
        }
        Ok(None)
    }

    fn local_rename(&mut self, a: &LocalRename) -> Result<Option<Action>, ExecError> {
        let new = self.fx.local_branch(&a.to)?;
        // Renamed back at its current tip, whatever was committed on it since.
        let oid = new.map_or_else(|| a.oid.clone(), |b| b.oid.to_string());
        let back = Action::LocalRename(LocalRename {
            from: a.to.clone(),
            to: a.from.clone(),
            oid,
            upstream_before: a.upstream_after.clone(),
            upstream_after: a.upstream_before.clone(),
        });
        // Local state is not moved by the inverses before this one: live state decides,
        // including a rename killed half way (its config still under the new name).
        self.checked(back)
    }

    /// `action` unless live state says it already holds; refused when live state blocks it.
    fn checked(&mut self, action: Action) -> Result<Option<Action>, ExecError> {
        Ok(match steps::check(&action, self.fx)? {
            steps::Readiness::Done => None,
            steps::Readiness::Ready => Some(action),
            steps::Readiness::Blocked(why) | steps::Readiness::Waiting(why) => self.refuse(why),
        })
    }

    fn local_branch(&mut self, a: &LocalBranchChange) -> Result<Option<Action>, ExecError> {
        let live = self.fx.local_branch(&a.branch)?;
        let to = a.to.as_ref().map(|s| crate::git::parse_oid(&s.oid)).transpose()?;
        let from = a.from.as_ref().map(|s| crate::git::parse_oid(&s.oid)).transpose()?;
        let live_oid = live.as_ref().map(|b| b.oid);
        if live_oid == from {
            return Ok(None);
        }
        match (live_oid, from) {
            (Some(now), None) if Some(now) != to => {
                // Created by the migration and moved since: it goes only if the remote
                // holds what it points at.
                let remote =
                    a.to.as_ref().and_then(|s| s.upstream.as_ref()).map(|u| u.remote.clone());
                let held = match remote {
                    Some(r) => self.held_elsewhere(&r, "", now)?,
                    None => false,
                };
                if !held {
                    return Ok(self.refuse(format!(
                        "local branch `{}` is at {}, with commits no remote branch holds: push or move them, then roll back",
                        a.branch,
                        short(now)
                    )));
                }
                let current = crate::plan::action::LocalState {
                    oid: now.to_string(),
                    upstream: live.and_then(|b| b.upstream),
                };
                Ok(Some(Action::LocalBranch(LocalBranchChange {
                    branch: a.branch.clone(),
                    from: Some(current),
                    to: None,
                    kept_by: None,
                })))
            }
            _ => self.checked(Action::LocalBranch(a.clone()).inverse()),
        }
    }
}

fn oid(hex: &Option<String>) -> Result<Option<Oid>, ExecError> {
    Ok(hex.as_deref().map(crate::git::parse_oid).transpose()?)
}

fn show(oid: Option<Oid>) -> String {
    oid.map_or_else(|| "absent".to_string(), |o| format!("at {}", short(o)))
}
