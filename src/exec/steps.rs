//! How each kind of action checks its precondition against live state and applies itself.
//! Adding a kind of action means adding its data in [`crate::plan::action`] and its
//! behaviour here; the executor only calls [`check`] and [`run`].

use git2::Oid;

use super::ExecError;
use super::effects::Effects;
use crate::git::parse_oid;
use crate::git::remote::RefUpdate;
use crate::plan::action::{
    Action, Await, ChartCommit, CiCommit, LocalBranchChange, LocalRename, RemoteBranch,
    SettingChange, Tracking, short,
};

/// What live state says about an action right before it would run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// The expected state holds: the action can run.
    Ready,
    /// The effect already holds: nothing to do.
    Done,
    /// Neither: something else changed it. Says what.
    Blocked(String),
    /// Not yet: people have to act first (merge a review). Says what to do.
    Waiting(String),
}

/// Checks the action's precondition against live state.
pub fn check(action: &Action, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    match action {
        Action::RemoteBranch(a) => check_remote(a, fx),
        Action::LocalRename(a) => check_rename(a, fx),
        Action::LocalBranch(a) => check_local(a, fx),
        Action::Tracking(a) => check_tracking(a, fx),
        Action::CiCommit(a) => check_ci(a, fx),
        Action::ChartCommit(a) => check_chart(a, fx),
        Action::Setting(a) => check_setting(a, fx),
        Action::Await(a) => check_await(a, fx),
    }
}

/// Applies the action; its precondition was checked just before.
pub fn run(action: &Action, fx: &mut dyn Effects) -> Result<(), ExecError> {
    match action {
        Action::RemoteBranch(a) => {
            let to = oid(&a.to)?;
            if fx.remote_head(&a.remote, &a.branch)? == to {
                // Pushed by a run that stopped before the remote-tracking ref followed.
                return fx.set_tracking(&a.remote, &a.branch, to);
            }
            fx.push(
                &a.remote,
                &RefUpdate { branch: a.branch.clone(), expect: oid(&a.from)?, new: to },
            )
        }
        Action::LocalRename(a) => match fx.local_branch(&a.from)? {
            Some(_) => fx.rename_local(&a.from, &a.to, a.upstream_after.as_ref()),
            // Renamed by a run that stopped before its config followed: drop what is left
            // under the old name, and set the upstream; if it stopped before the new ref was
            // written, write it at the tip the plan recorded.
            None => {
                fx.set_upstream(&a.from, None)?;
                match fx.local_branch(&a.to)? {
                    Some(_) => fx.set_upstream(&a.to, a.upstream_after.as_ref()),
                    None => fx.create_local(&a.to, parse_oid(&a.oid)?, a.upstream_after.as_ref()),
                }
            }
        },
        Action::LocalBranch(a) => run_local(a, fx),
        Action::Tracking(a) => fx.set_tracking(&a.remote, &a.branch, oid(&a.to)?),
        Action::CiCommit(a) => run_ci(a, fx),
        Action::ChartCommit(a) => run_chart(a, fx),
        Action::Setting(a) => run_setting(a, fx),
        // Only people make it hold: its check says what to do.
        Action::Await(a) => Err(ExecError::Waiting(a.hint.clone())),
    }
}

fn check_remote(a: &RemoteBranch, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let (from, to) = (oid(&a.from)?, oid(&a.to)?);
    if let Some(r) = remote_ends(fx, &a.remote, &a.branch, from, to)? {
        return Ok(r);
    }
    if let (Some(keeper), Some(from)) = (&a.kept_by, from) {
        let kept = fx.remote_head(&a.remote, keeper)?;
        if let Some(blocked) = kept.and_then(|k| check_files(a, k, fx)) {
            return Ok(blocked);
        }
        if !kept.is_some_and(|k| fx.contains(k, from)) {
            return Ok(Readiness::Blocked(format!(
                "`{}/{keeper}` does not hold {} (it is {}), so deleting `{}` could lose it",
                a.remote,
                short(&from.to_string()),
                show(kept),
                a.branch
            )));
        }
    }
    Ok(Readiness::Ready)
}

/// The keeper's tip must have every file the plan requires before the old name goes.
fn check_files(a: &RemoteBranch, keeper_tip: Oid, fx: &mut dyn Effects) -> Option<Readiness> {
    let missing = a.kept_files.iter().find(|f| !fx.has_file(keeper_tip, f))?;
    Some(Readiness::Blocked(format!(
        "`{}/{}` has no {missing} at {}, so deleting `{}` would lose the published index",
        a.remote,
        a.kept_by.as_deref().unwrap_or("?"),
        crate::git::short(keeper_tip),
        a.branch
    )))
}

fn check_setting(a: &SettingChange, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let live = fx.setting(a)?;
    if live == a.to {
        // In effect; a forward step with a served check runs again (its write is then
        // skipped), so an apply stopped before the check does not skip it on resume; and
        // so does one whose write stopped before what follows it was done (a deployment).
        let check_again = !a.back && a.serves.is_some();
        return Ok(if check_again || !fx.settled(a)? { Readiness::Ready } else { Readiness::Done });
    }
    if live != a.from {
        let (live, expected) = SettingChange::show_pair(&live, &a.from);
        return Ok(Readiness::Blocked(format!(
            "{} is {live}, but the plan expects {expected}",
            a.label
        )));
    }
    for branch in &a.needs {
        if fx.remote_head(&a.remote, branch)?.is_none() {
            return Ok(Readiness::Blocked(format!(
                "{} can only move once `{}/{branch}` exists, and it does not",
                a.label, a.remote
            )));
        }
    }
    Ok(Readiness::Ready)
}

fn run_setting(a: &SettingChange, fx: &mut dyn Effects) -> Result<(), ExecError> {
    // The check just read the setting: no second read right before the change, which
    // neither a read nor a write of these APIs could make any safer (they have no
    // compare-and-swap; the check is what makes a change from any other value stop).
    if fx.checked_setting(a)? != a.to {
        fx.set_setting(a)?;
    } else if !fx.settled(a)? {
        fx.finish_setting(a)?;
    }
    if let Some(served) = &a.serves {
        check_served(&a.remote, served, fx)?;
    }
    Ok(())
}

/// The site must serve the branch's file; a site that rebuilds after the change may take a
/// while, so a few reads, a few seconds apart, are allowed before giving up.
fn check_served(
    remote: &str,
    served: &crate::service::Served,
    fx: &mut dyn Effects,
) -> Result<(), ExecError> {
    const ATTEMPTS: u32 = 5;
    let tip = fx.remote_head(remote, &served.branch)?;
    let expected = tip.and_then(|t| fx.file_at(t, &served.file));
    let mut got = Vec::new();
    for attempt in 1..=ATTEMPTS {
        got = fx.fetch(&served.url)?;
        if expected.as_deref() == Some(got.as_slice()) {
            return Ok(());
        }
        if attempt < ATTEMPTS {
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
    }
    Err(ExecError::Config(format!(
        "{} does not serve the {} of `{remote}/{}` ({} bytes served, {} expected); the switch is done, the site may still be catching up: check it, then `rebranch apply` again or `rebranch rollback`",
        served.url,
        served.file,
        served.branch,
        got.len(),
        expected.map_or(0, |e| e.len())
    )))
}

/// Whether `tip` has every rewritten file of the awaited review at its new blob.
pub(crate) fn has_rewrite(a: &Await, tip: Oid, fx: &dyn Effects) -> bool {
    a.files.iter().all(|(path, blob)| fx.blob_at(tip, path).is_some_and(|o| o.to_string() == *blob))
}

fn check_await(a: &Await, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let tip = fx.remote_head(&a.remote, &a.branch)?;
    if tip.map(|t| t.to_string()).as_deref() == Some(a.commit.as_str()) {
        return Ok(Readiness::Done);
    }
    match tip {
        Some(t) if has_rewrite(a, t, fx) => Ok(Readiness::Blocked(format!(
            "`{}/{}` took the CI rewrite through its review, as {} (not {} as planned): what follows is planned again from there",
            a.remote,
            a.branch,
            crate::git::short(t),
            short(&a.commit)
        ))),
        _ => {
            let what = match a.review.as_ref().and_then(|r| fx.describe_setting(r)) {
                Some(page) => format!("merge {page} into `{}`", a.branch),
                None => a.hint.clone(),
            };
            Ok(Readiness::Waiting(format!(
                "`{}/{}` does not have the CI rewrite yet: {what}; then run `rebranch apply` again",
                a.remote, a.branch
            )))
        }
    }
}

/// `(expected, target)` tips of the commit's branch, in the action's direction.
fn ci_ends(a: &CiCommit) -> Result<(Oid, Oid), ExecError> {
    let (parent, commit) = (parse_oid(&a.parent)?, parse_oid(&a.commit)?);
    Ok(if a.back { (commit, parent) } else { (parent, commit) })
}

/// The rewrite commit on its own new branch, for review: created, or (back) deleted.
fn check_ci_head(a: &CiCommit, head: &str, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let commit = parse_oid(&a.commit)?;
    let (from, to) = if a.back { (Some(commit), None) } else { (None, Some(commit)) };
    if let Some(r) = remote_ends(fx, &a.remote, head, from, to)? {
        return Ok(r);
    }
    let base = fx.remote_head(&a.remote, &a.branch)?;
    if !a.back && base.map(|b| b.to_string()).as_deref() != Some(a.parent.as_str()) {
        return Ok(Readiness::Blocked(format!(
            "remote branch `{}/{}` is {}, but the plan expects it at {}",
            a.remote,
            a.branch,
            show(base),
            short(&a.parent)
        )));
    }
    Ok(Readiness::Ready)
}

fn run_ci_head(a: &CiCommit, head: &str, fx: &mut dyn Effects) -> Result<(), ExecError> {
    let commit = parse_oid(&a.commit)?;
    if a.back {
        let update = RefUpdate { branch: head.to_string(), expect: Some(commit), new: None };
        return fx.push(&a.remote, &update);
    }
    if fx.remote_head(&a.remote, head)? != Some(commit) {
        let made = fx.write_commit(a)?;
        if made != commit {
            return Err(ExecError::Config(format!(
                "the rewrite commit came out as {}, not {} as planned; nothing was pushed",
                crate::git::short(made),
                crate::git::short(commit)
            )));
        }
        let update = RefUpdate { branch: head.to_string(), expect: None, new: Some(commit) };
        fx.push(&a.remote, &update)?;
    }
    Ok(())
}

fn check_ci(a: &CiCommit, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    if let Some(head) = &a.head {
        return check_ci_head(a, head, fx);
    }
    let (expect, target) = ci_ends(a)?;
    let live = fx.remote_head(&a.remote, &a.branch)?;
    if live == Some(target) {
        // The push happened; the local branch may not have followed yet (a run stopped
        // between the two): then the step still has that to do.
        let lagging = fx.local_branch(&a.branch)?.is_some_and(|b| b.oid == expect);
        return Ok(if lagging { Readiness::Ready } else { Readiness::Done });
    }
    if live != Some(expect) {
        return Ok(Readiness::Blocked(format!(
            "remote branch `{}/{}` is {}, but the plan expects it at {}",
            a.remote,
            a.branch,
            show(live),
            crate::git::short(expect)
        )));
    }
    Ok(Readiness::Ready)
}

fn run_ci(a: &CiCommit, fx: &mut dyn Effects) -> Result<(), ExecError> {
    if let Some(head) = &a.head {
        return run_ci_head(a, head, fx);
    }
    let (expect, target) = ci_ends(a)?;
    if fx.remote_head(&a.remote, &a.branch)? == Some(target) {
        // Pushed by the run that stopped; only the local branch is left to follow.
        return fx.follow_local(&a.branch, expect, target);
    }
    if !a.back {
        let made = fx.write_commit(a)?;
        if made != target {
            return Err(ExecError::Config(format!(
                "the rewrite commit came out as {}, not {} as planned; nothing was pushed",
                crate::git::short(made),
                crate::git::short(target)
            )));
        }
    }
    fx.push(
        &a.remote,
        &RefUpdate { branch: a.branch.clone(), expect: Some(expect), new: Some(target) },
    )?;
    fx.follow_local(&a.branch, expect, target)
}

/// What a remote branch going from `from` to `to` says before anything else is checked:
/// done (once its remote-tracking ref followed: a run may stop between the two), or moved
/// by someone else; `None` when it is still at `from`.
fn remote_ends(
    fx: &mut dyn Effects,
    remote: &str,
    branch: &str,
    from: Option<Oid>,
    to: Option<Oid>,
) -> Result<Option<Readiness>, ExecError> {
    let live = fx.remote_head(remote, branch)?;
    if live == to {
        let tracked = fx.tracking(remote, branch) == to;
        return Ok(Some(if tracked { Readiness::Done } else { Readiness::Ready }));
    }
    if live != from {
        return Ok(Some(Readiness::Blocked(format!(
            "remote branch `{remote}/{branch}` is {}, but the plan expects it {}",
            show(live),
            show(from)
        ))));
    }
    Ok(None)
}

fn check_chart(a: &ChartCommit, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let (from, target) = (oid(&a.from)?, parse_oid(&a.commit)?);
    if let Some(r) = remote_ends(fx, &a.remote, &a.branch, from, Some(target))? {
        return Ok(r);
    }
    Ok(Readiness::Ready)
}

fn run_chart(a: &ChartCommit, fx: &mut dyn Effects) -> Result<(), ExecError> {
    let target = parse_oid(&a.commit)?;
    if fx.remote_head(&a.remote, &a.branch)? == Some(target) {
        return fx.set_tracking(&a.remote, &a.branch, Some(target));
    }
    let made = fx.write_chart_commit(a)?;
    if made != target {
        return Err(ExecError::Config(format!(
            "the commit of chart {} came out as {}, not {} as planned; nothing was pushed",
            a.chart,
            crate::git::short(made),
            crate::git::short(target)
        )));
    }
    fx.push(
        &a.remote,
        &RefUpdate { branch: a.branch.clone(), expect: oid(&a.from)?, new: Some(target) },
    )
}

fn check_rename(a: &LocalRename, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let from = fx.local_branch(&a.from)?;
    let to = fx.local_branch(&a.to)?;
    Ok(match (from, to) {
        (Some(_), None) => Readiness::Ready,
        // Renamed; done once its upstream is set too (a run may stop between the two).
        (None, Some(b)) if b.upstream.as_ref() == a.upstream_after.as_ref() => Readiness::Done,
        (None, Some(b)) if b.oid.to_string() == a.oid => Readiness::Ready,
        (None, Some(_)) => Readiness::Done,
        // A rename killed after the old ref went and before the new one was written (git
        // renames a loose ref that way): the journal holds its tip, so it is finished.
        (None, None) => Readiness::Ready,
        (Some(_), Some(_)) => Readiness::Blocked(format!(
            "local branches `{}` and `{}` both exist; the rename would overwrite one",
            a.from, a.to
        )),
    })
}

fn check_local(a: &LocalBranchChange, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    let branch = fx.local_branch(&a.branch)?;
    let live = branch.as_ref().map(|b| b.oid);
    let from = a.from.as_ref().map(|s| parse_oid(&s.oid)).transpose()?;
    let to = a.to.as_ref().map(|s| parse_oid(&s.oid)).transpose()?;
    if live == to {
        // Created; done once its upstream is set too (a run may stop between the two).
        let upstream = branch.and_then(|b| b.upstream);
        let want = a.to.as_ref().and_then(|s| s.upstream.clone());
        return Ok(if to.is_none() || upstream == want {
            Readiness::Done
        } else {
            Readiness::Ready
        });
    }
    if live != from {
        return Ok(Readiness::Blocked(format!(
            "local branch `{}` is {}, but the plan expects it {}",
            a.branch,
            show(live),
            show(from)
        )));
    }
    Ok(Readiness::Ready)
}

fn check_tracking(a: &Tracking, fx: &mut dyn Effects) -> Result<Readiness, ExecError> {
    // A remote-tracking ref is a cache of the remote: it is set whatever it holds.
    let live = fx.tracking(&a.remote, &a.branch);
    Ok(if live == oid(&a.to)? { Readiness::Done } else { Readiness::Ready })
}

fn run_local(a: &LocalBranchChange, fx: &mut dyn Effects) -> Result<(), ExecError> {
    if let (Some(to), Some(live)) = (&a.to, fx.local_branch(&a.branch)?)
        && live.oid == parse_oid(&to.oid)?
    {
        // Created by a run that stopped before setting the upstream.
        return fx.set_upstream(&a.branch, to.upstream.as_ref());
    }
    match (&a.from, &a.to) {
        (None, Some(to)) => fx.create_local(&a.branch, parse_oid(&to.oid)?, to.upstream.as_ref()),
        (Some(from), None) => fx.delete_local(&a.branch, parse_oid(&from.oid)?),
        (Some(from), Some(to)) => {
            fx.delete_local(&a.branch, parse_oid(&from.oid)?)?;
            fx.create_local(&a.branch, parse_oid(&to.oid)?, to.upstream.as_ref())
        }
        (None, None) => Ok(()),
    }
}

fn oid(hex: &Option<String>) -> Result<Option<Oid>, ExecError> {
    Ok(hex.as_deref().map(parse_oid).transpose()?)
}

fn show(oid: Option<Oid>) -> String {
    match oid {
        Some(o) => format!("at {}", crate::git::short(o)),
        None => "absent".to_string(),
    }
}
