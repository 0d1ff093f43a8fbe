//! Planning: a pure function of a [`Target`] and an [`Observation`] (and of the CI files'
//! texts, read one at a time through [`Texts`]) that yields the ordered actions of a
//! migration, or refuses with the reason and the fix.
//!
//! The order follows ADR-002's two invariants (the published branch stays served at every
//! moment; no CI run points at a branch that does not exist):
//!
//! 1. copy each renamed branch to its new name on the remote;
//! 2. (hosted services: the Pages project, and with a forge the pull requests, protection
//!    and site that name the old branch, follow the new name);
//! 3. (the CI rewrite commit on the stable branch);
//! 4. create the new branches from their sources (so they carry the rewrite);
//! 5. (hosted services: the review gate on the new branches, then what would refuse the
//!    old names' deletion, such as their protection, is released);
//! 6. delete each renamed branch's old name, only when the new name holds its tip;
//! 7. bring this clone in line: local renames with upstreams, local branches, tracking refs.
//!
//! Actions whose effect already holds are left out, so a plan against a migrated repository
//! is empty: that is what makes `apply` idempotent.

pub mod action;
pub mod preflight;
pub mod rewrite;

use std::collections::BTreeMap;

use git2::Oid;
use serde::{Deserialize, Serialize};

pub use action::Action;
use action::{LocalBranchChange, LocalRename, LocalState, RemoteBranch, Tracking};

use crate::git::local::Upstream;
use crate::observe::ci::Texts;
use crate::observe::{self, Observation};
use crate::service::Stage;
use crate::spec::Target;

/// The version of the plan document's JSON shape.
pub const FORMAT_VERSION: u32 = 1;

/// A computed migration: what was observed, and the actions in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    pub plan: PlanInfo,
    pub repository: RepositoryInfo,
    pub variables: BTreeMap<String, String>,
    pub observed: RefFingerprint,
    pub actions: Vec<Step>,
    pub warnings: Vec<String>,
    /// What the plan found or assumed that a reviewer should know: branches detected on the
    /// remote, what happens to a checked-out branch that cannot follow.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Occurrences the CI rewrite leaves unchanged until resolved.
    #[serde(default)]
    pub reviews: Vec<rewrite::ReviewItem>,
    /// Occurrences of the old names that the CI rewrite does not read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_covered: Vec<crate::observe::ci::Uncovered>,
}

/// Which plan file this came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    pub name: String,
    pub source: String,
}

/// The repository the plan was made for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositoryInfo {
    pub path: String,
    pub remote: String,
    pub remote_url: String,
}

/// The observation the plan depends on: each ref it reads, and their fingerprint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefFingerprint {
    pub fingerprint: String,
    pub refs: BTreeMap<String, Option<String>>,
}

/// One numbered action with its human summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub id: usize,
    pub summary: String,
    #[serde(flatten)]
    pub action: Action,
}

/// Why no plan can be made, with the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct PlanError {
    pub message: String,
    pub hint: String,
}

impl Plan {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// The actions alone, in order.
    pub fn action_list(&self) -> Vec<Action> {
        self.actions.iter().map(|s| s.action.clone()).collect()
    }
}

impl RefFingerprint {
    /// Records the refs and computes their fingerprint.
    pub fn new(refs: BTreeMap<String, Option<String>>) -> RefFingerprint {
        let mut canon = String::new();
        for (k, v) in &refs {
            canon.push_str(&format!("{k}={}\n", v.as_deref().unwrap_or("-")));
        }
        let fingerprint = Oid::hash_object(git2::ObjectType::Blob, canon.as_bytes())
            .map(|o| o.to_string())
            .unwrap_or_default();
        RefFingerprint { fingerprint, refs }
    }

    /// The refs that differ from `now`, one line each: `remote charts: 9c0ffee → 1a2b3c4`.
    pub fn moved(&self, now: &RefFingerprint) -> Vec<String> {
        let show = |v: Option<&Option<String>>| match v.cloned().flatten() {
            // An object id is shown short; a setting's value (JSON) whole.
            Some(o) if o.len() == 40 && o.bytes().all(|b| b.is_ascii_hexdigit()) => {
                action::short(&o).to_string()
            }
            Some(o) => o,
            None => "(absent)".to_string(),
        };
        self.refs
            .keys()
            .chain(now.refs.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| self.refs.get(*k).cloned().flatten() != now.refs.get(*k).cloned().flatten())
            .map(|k| format!("{k}: {} → {}", show(self.refs.get(k)), show(now.refs.get(k))))
            .collect()
    }
}

/// Computes the plan. Pure: no git, no network, no file system; the CI files' texts are
/// read one at a time through `texts`, the only thing it reads.
pub fn build(target: &Target, obs: &Observation, texts: &dyn Texts) -> Result<Plan, PlanError> {
    let mut b = Builder {
        target,
        obs,
        texts,
        phases: Default::default(),
        warnings: Vec::new(),
        notes: Vec::new(),
        reviews: Vec::new(),
        not_covered: Vec::new(),
        tips_after: BTreeMap::new(),
    };
    b.check_existing()?;
    b.rewrite()?;
    for (old, new) in target.renames() {
        b.rename(old, new)?;
    }
    for (new, src) in target.creations() {
        b.create(new, src)?;
    }
    b.services()?;
    let ordered: Vec<Action> = b.phases.into_values().flatten().collect();
    preflight::check_names(target, obs, &ordered)?;
    for action in &ordered {
        if let Action::CiCommit(c) = action {
            b.notes.extend(preflight::checkout_notes(obs, c));
        }
    }
    let actions: Vec<Step> = ordered
        .into_iter()
        .enumerate()
        .map(|(i, action)| Step { id: i + 1, summary: action.summary(), action })
        .collect();
    Ok(Plan {
        format_version: FORMAT_VERSION,
        plan: PlanInfo { name: target.plan_name.clone(), source: target.plan_source.clone() },
        repository: RepositoryInfo {
            path: obs.workdir.display().to_string(),
            remote: obs.remote.clone(),
            remote_url: obs.remote_url.clone(),
        },
        variables: target.variables.clone(),
        observed: RefFingerprint::new(obs.refs(&observe::target_names(target))),
        actions,
        warnings: b.warnings,
        notes: b.notes,
        reviews: b.reviews,
        not_covered: b.not_covered,
    })
}

/// The ADR-002 phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    CopyRenamed,
    Hosting,
    CiRewrite,
    CreateBranches,
    /// What guards the new branches (a hosted service's review gate).
    Guard,
    /// What would refuse or lose the old names' deletion, released just before it.
    Release,
    DeleteRenamed,
    Local,
}

struct Builder<'a> {
    target: &'a Target,
    obs: &'a Observation,
    /// Where the CI files' texts are read from.
    texts: &'a dyn Texts,
    phases: BTreeMap<Phase, Vec<Action>>,
    warnings: Vec<String>,
    notes: Vec<String>,
    reviews: Vec<rewrite::ReviewItem>,
    not_covered: Vec<crate::observe::ci::Uncovered>,
    /// Branches an earlier phase moves on the remote (the rewrite commit's branch).
    tips_after: BTreeMap<String, Oid>,
}

impl Builder<'_> {
    fn push(&mut self, phase: Phase, action: Action) {
        self.phases.entry(phase).or_default().push(action);
    }

    fn remote(&self) -> &str {
        &self.obs.remote
    }

    fn remote_tip(&self, branch: &str) -> Option<Oid> {
        self.obs.remote_heads.get(branch).copied()
    }

    /// The branch's remote tip once the earlier phases have run.
    fn tip_after(&self, branch: &str) -> Option<Oid> {
        self.tips_after.get(branch).copied().or_else(|| self.remote_tip(branch))
    }

    /// The CI rewrite commit on its branch (ADR-002 step 3).
    fn rewrite(&mut self) -> Result<(), PlanError> {
        let (Some(def), Some(ci)) = (&self.target.rewrite, &self.obs.ci) else { return Ok(()) };
        let planned = rewrite::plan(self.target, def, self.remote(), ci, self.texts)?;
        for link in &ci.links {
            self.warnings.push(format!(
                "{link} on `{}` is a symbolic link: links are never followed, so it is not rewritten; check what it points to by hand",
                def.commit_on
            ));
        }
        self.reviews = planned.reviews;
        self.not_covered = planned.not_covered;
        if let Some(mut commit) = planned.commit {
            let oid = Oid::from_str(&commit.commit).map_err(|e| PlanError {
                message: format!("bad rewrite commit id: {e}"),
                hint: String::new(),
            })?;
            self.tips_after.insert(def.commit_on.clone(), oid);
            let review = self
                .obs
                .services
                .iter()
                .find_map(|c| c.review.clone().filter(|r| r.branch == def.commit_on));
            let Some(review) = review else {
                self.push(Phase::CiRewrite, Action::CiCommit(Box::new(commit)));
                return Ok(());
            };
            // The branch takes changes only through a review: the commit goes to its own
            // branch, the review is opened, and the apply waits for people to merge it.
            commit.head = Some(review.head.clone());
            let wait = action::Await {
                remote: commit.remote.clone(),
                branch: commit.branch.clone(),
                commit: commit.commit.clone(),
                files: commit.files.iter().map(|f| (f.path.clone(), f.new_blob.clone())).collect(),
                hint: review.hint.clone(),
                review: Some(Box::new(review.open.clone())),
            };
            self.push(Phase::CiRewrite, Action::CiCommit(Box::new(commit)));
            self.push(Phase::CiRewrite, Action::Setting(Box::new(review.open)));
            self.push(Phase::CiRewrite, Action::Await(Box::new(wait)));
        }
        Ok(())
    }

    fn upstream(&self, branch: &str) -> Upstream {
        Upstream { remote: self.remote().to_string(), branch: branch.to_string() }
    }

    fn check_existing(&self) -> Result<(), PlanError> {
        for name in self.target.existing() {
            if self.remote_tip(name).is_none() {
                return Err(self.missing_branch(name, "the stable branch"));
            }
        }
        Ok(())
    }

    fn missing_branch(&self, name: &str, role: &str) -> PlanError {
        let remote = self.remote();
        let hint = if name == "main" {
            "if the stable branch is called `master`, run with --set main=master".to_string()
        } else {
            format!(
                "check the branch name, or choose another with --set; `git ls-remote --heads {remote}` lists the remote's branches"
            )
        };
        PlanError {
            message: format!("remote `{remote}` has no branch `{name}` ({role} of the plan)"),
            hint,
        }
    }

    /// Copy-then-delete on the remote, then the local rename.
    fn rename(&mut self, old: &str, new: &str) -> Result<(), PlanError> {
        let remote = self.remote().to_string();
        match (self.remote_tip(old), self.remote_tip(new)) {
            (None, None) => {
                return Err(PlanError {
                    message: format!("remote `{remote}` has neither `{old}` nor `{new}`"),
                    hint: format!(
                        "the plan renames `{old}` to `{new}`: set the publishing branch with --set from=NAME"
                    ),
                });
            }
            (Some(o), None) => {
                self.need_object(o, &format!("{remote}/{old}"))?;
                self.push(
                    Phase::CopyRenamed,
                    remote_change(&remote, new, None, Some(o), None, &format!("tip of {old}")),
                );
                self.delete_renamed(old, new, o, o)?;
            }
            (Some(o), Some(n)) => {
                if !self.obs.holds(n, o) {
                    self.need_object(n, &format!("{remote}/{new}"))?;
                    return Err(PlanError {
                        message: format!(
                            "remote branch `{new}` already exists at {}, which does not contain the tip of `{old}` ({})",
                            crate::git::short(n),
                            crate::git::short(o)
                        ),
                        hint: format!(
                            "renaming would lose `{old}`'s history: compare them (`git log {remote}/{new}...{remote}/{old}`), then delete or merge one by hand, or choose another name with --set to=NAME"
                        ),
                    });
                }
                self.delete_renamed(old, new, o, n)?;
            }
            (None, Some(_)) => {}
        }
        self.rename_local(old, new)?;
        self.fix_tracking(old);
        Ok(())
    }

    /// Deletes the old name once the new one (at `keeper`) holds its tip and the files
    /// the plan requires.
    fn delete_renamed(
        &mut self,
        old: &str,
        new: &str,
        tip: Oid,
        keeper: Oid,
    ) -> Result<(), PlanError> {
        let remote = self.remote().to_string();
        let files = self.target.must_contain(new).to_vec();
        for path in &files {
            if !self.obs.files.contains(&(keeper, path.clone())) {
                return Err(PlanError {
                    message: format!(
                        "`{remote}/{new}` would have no {path} (at {}), so `{old}` cannot go",
                        crate::git::short(keeper)
                    ),
                    hint: format!(
                        "publish {path} on `{old}` first: chart-releaser starts an empty index when it is missing, dropping every published version"
                    ),
                });
            }
        }
        let mut action =
            remote_change(&remote, old, Some(tip), None, Some(new), &format!("renamed to {new}"));
        if let Action::RemoteBranch(r) = &mut action {
            r.kept_files = files;
        }
        self.push(Phase::DeleteRenamed, action);
        Ok(())
    }

    /// Each hosted service's changes, at their stage; a service that refuses stops the plan.
    fn services(&mut self) -> Result<(), PlanError> {
        for c in &self.obs.services {
            if let Some((message, hint)) = &c.refusal {
                return Err(PlanError { message: message.clone(), hint: hint.clone() });
            }
        }
        for c in &self.obs.services {
            self.warnings.extend(c.warnings.iter().cloned());
            self.notes.extend(c.notes.iter().cloned());
            for (stage, change) in &c.changes {
                let phase = match stage {
                    Stage::Follow => Phase::Hosting,
                    Stage::Guard => Phase::Guard,
                    Stage::Release => Phase::Release,
                };
                self.push(phase, Action::Setting(Box::new(change.clone())));
            }
        }
        Ok(())
    }

    fn rename_local(&mut self, old: &str, new: &str) -> Result<(), PlanError> {
        let lo = self.obs.local.get(old).cloned();
        let ln = self.obs.local.get(new).cloned();
        let Some(lo) = lo else { return Ok(()) };
        self.check_not_ahead(old, lo.oid)?;
        match ln {
            None => {
                let upstream_after = match &lo.upstream {
                    Some(u) if u.remote == self.remote() && u.branch == old => {
                        Some(self.upstream(new))
                    }
                    other => other.clone(),
                };
                self.push(
                    Phase::Local,
                    Action::LocalRename(LocalRename {
                        from: old.to_string(),
                        to: new.to_string(),
                        oid: lo.oid.to_string(),
                        upstream_before: lo.upstream.clone(),
                        upstream_after,
                    }),
                );
            }
            Some(ln) if self.obs.holds(ln.oid, lo.oid) && !self.obs.checkouts.contains_key(old) => {
                self.push(
                    Phase::Local,
                    Action::LocalBranch(LocalBranchChange {
                        branch: old.to_string(),
                        from: Some(LocalState {
                            oid: lo.oid.to_string(),
                            upstream: lo.upstream.clone(),
                        }),
                        to: None,
                        kept_by: Some(new.to_string()),
                    }),
                );
            }
            Some(ln) => {
                return Err(PlanError {
                    message: format!(
                        "local branches `{old}` ({}) and `{new}` ({}) both exist and `{new}` does not hold `{old}`'s tip",
                        crate::git::short(lo.oid),
                        crate::git::short(ln.oid)
                    ),
                    hint: format!(
                        "merge or delete one of them by hand (`git branch -D {old}` if its commits are on the remote), then plan again"
                    ),
                });
            }
        }
        Ok(())
    }

    /// A local branch with commits its remote branch lacks would lose them in the rename.
    fn check_not_ahead(&self, branch: &str, local: Oid) -> Result<(), PlanError> {
        let remote = self.remote();
        let Some(r) = self.remote_tip(branch) else {
            return Ok(());
        };
        if self.obs.holds(r, local) {
            return Ok(());
        }
        let how = if self.obs.holds(local, r) { "is ahead of" } else { "has diverged from" };
        Err(PlanError {
            message: format!(
                "local branch `{branch}` ({}) {how} `{remote}/{branch}` ({})",
                crate::git::short(local),
                crate::git::short(r)
            ),
            hint: format!(
                "push its commits (`git push {remote} {branch}`) or reset it to `{remote}/{branch}`, then plan again"
            ),
        })
    }

    /// Creation from a source branch, on the remote and locally.
    fn create(&mut self, new: &str, src: &str) -> Result<(), PlanError> {
        let remote = self.remote().to_string();
        let Some(s) = self.tip_after(src) else {
            return Err(self.missing_branch(src, &format!("the source of `{new}`")));
        };
        let tip = match self.remote_tip(new) {
            None => {
                self.push(
                    Phase::CreateBranches,
                    remote_change(&remote, new, None, Some(s), None, &format!("tip of {src}")),
                );
                s
            }
            Some(n) => {
                if !self.obs.holds(n, s) {
                    self.warnings.push(format!(
                        "`{remote}/{new}` exists and does not contain `{remote}/{src}`: it is kept as it is"
                    ));
                }
                n
            }
        };
        if !self.obs.local.contains_key(new) && self.obs.missing.contains(&tip) {
            self.need_object(tip, &format!("{remote}/{new}"))?;
        }
        if !self.obs.local.contains_key(new) {
            let to = LocalState { oid: tip.to_string(), upstream: Some(self.upstream(new)) };
            self.push(
                Phase::Local,
                Action::LocalBranch(LocalBranchChange {
                    branch: new.to_string(),
                    from: None,
                    to: Some(to),
                    kept_by: None,
                }),
            );
        }
        Ok(())
    }

    /// A remote-tracking ref for a branch the remote no longer has is dropped.
    fn fix_tracking(&mut self, branch: &str) {
        let (Some(t), None) = (self.obs.tracking.get(branch), self.remote_tip(branch)) else {
            return;
        };
        let will_delete = self.phases.get(&Phase::DeleteRenamed).is_some_and(|v| {
            v.iter().any(|a| matches!(a, Action::RemoteBranch(r) if r.branch == branch))
        });
        if !will_delete {
            self.push(
                Phase::Local,
                Action::Tracking(Tracking {
                    remote: self.remote().to_string(),
                    branch: branch.to_string(),
                    from: Some(t.to_string()),
                    to: None,
                }),
            );
        }
    }

    fn need_object(&self, oid: Oid, what: &str) -> Result<(), PlanError> {
        if !self.obs.missing.contains(&oid) {
            return Ok(());
        }
        Err(PlanError {
            message: format!("this clone does not have commit {} ({what})", crate::git::short(oid)),
            hint: format!("run `git fetch {}` and plan again", self.remote()),
        })
    }
}

fn remote_change(
    remote: &str,
    branch: &str,
    from: Option<Oid>,
    to: Option<Oid>,
    kept_by: Option<&str>,
    why: &str,
) -> Action {
    Action::RemoteBranch(RemoteBranch {
        remote: remote.to_string(),
        branch: branch.to_string(),
        from: from.map(|o| o.to_string()),
        to: to.map(|o| o.to_string()),
        kept_by: kept_by.map(str::to_string),
        kept_files: Vec::new(),
        why: why.to_string(),
    })
}

#[cfg(test)]
mod tests;
