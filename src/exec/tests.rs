//! The executor in process, on a real repository and its bare origin (the demo's sample),
//! through a fault-injecting [`Effects`]: the k-th change fails, for every k. Each time the
//! apply stops with its journal consistent, and the rollback (planned against live state,
//! then run) brings every ref back.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{Oid, Repository};

use super::effects::{Effects, GitEffects};
use super::journal::Journal;
use super::{ExecError, NoProgress, undo};
use crate::git::local::{LocalBranch, Upstream};
use crate::git::remote::RefUpdate;
use crate::plan::action::{Action, ChartCommit, CiCommit, SettingChange};
use crate::service::{Service, ServiceError};

/// Wraps real effects; the `fail_at`-th change (counting from 1) fails before it is made.
struct Faulty<'r> {
    inner: GitEffects<'r>,
    changes: usize,
    fail_at: usize,
}

impl Faulty<'_> {
    fn change(&mut self, what: &str) -> Result<(), ExecError> {
        self.changes += 1;
        if self.changes == self.fail_at {
            return Err(ExecError::Fault(format!("change {} ({what})", self.changes)));
        }
        Ok(())
    }
}

impl Effects for Faulty<'_> {
    fn remote_head(&mut self, remote: &str, branch: &str) -> Result<Option<Oid>, ExecError> {
        self.inner.remote_head(remote, branch)
    }
    fn remote_heads(&mut self, remote: &str) -> Result<BTreeMap<String, Oid>, ExecError> {
        self.inner.remote_heads(remote)
    }
    fn contains(&self, tip: Oid, commit: Oid) -> bool {
        self.inner.contains(tip, commit)
    }
    fn parents(&self, commit: Oid) -> Option<Vec<Oid>> {
        self.inner.parents(commit)
    }
    fn push(&mut self, remote: &str, update: &RefUpdate) -> Result<(), ExecError> {
        self.change("push")?;
        self.inner.push(remote, update)
    }
    fn local_branch(&self, name: &str) -> Result<Option<LocalBranch>, ExecError> {
        self.inner.local_branch(name)
    }
    fn rename_local(&mut self, f: &str, t: &str, u: Option<&Upstream>) -> Result<(), ExecError> {
        self.change("rename")?;
        self.inner.rename_local(f, t, u)
    }
    fn create_local(&mut self, n: &str, o: Oid, u: Option<&Upstream>) -> Result<(), ExecError> {
        self.change("create local")?;
        self.inner.create_local(n, o, u)
    }
    fn delete_local(&mut self, name: &str, expect: Oid) -> Result<(), ExecError> {
        self.change("delete local")?;
        self.inner.delete_local(name, expect)
    }
    fn set_upstream(&mut self, name: &str, u: Option<&Upstream>) -> Result<(), ExecError> {
        self.change("upstream")?;
        self.inner.set_upstream(name, u)
    }
    fn tracking(&self, remote: &str, branch: &str) -> Option<Oid> {
        self.inner.tracking(remote, branch)
    }
    fn set_tracking(&mut self, r: &str, b: &str, oid: Option<Oid>) -> Result<(), ExecError> {
        self.change("tracking")?;
        self.inner.set_tracking(r, b, oid)
    }
    fn has_file(&self, commit: Oid, path: &str) -> bool {
        self.inner.has_file(commit, path)
    }
    fn file_at(&self, commit: Oid, path: &str) -> Option<Vec<u8>> {
        self.inner.file_at(commit, path)
    }
    fn blob_at(&self, commit: Oid, path: &str) -> Option<Oid> {
        self.inner.blob_at(commit, path)
    }
    fn fetch(&mut self, url: &str) -> Result<Vec<u8>, ExecError> {
        self.inner.fetch(url)
    }
    fn write_commit(&mut self, commit: &CiCommit) -> Result<Oid, ExecError> {
        self.inner.write_commit(commit)
    }
    fn write_chart_commit(&mut self, commit: &ChartCommit) -> Result<Oid, ExecError> {
        self.inner.write_chart_commit(commit)
    }
    fn follow_local(&mut self, branch: &str, from: Oid, to: Oid) -> Result<(), ExecError> {
        self.change("follow local")?;
        self.inner.follow_local(branch, from, to)
    }
    fn setting(&mut self, change: &SettingChange) -> Result<serde_json::Value, ExecError> {
        self.inner.setting(change)
    }
    fn checked_setting(&mut self, change: &SettingChange) -> Result<serde_json::Value, ExecError> {
        self.inner.checked_setting(change)
    }
    fn set_setting(&mut self, change: &SettingChange) -> Result<(), ExecError> {
        self.change("setting")?;
        self.inner.set_setting(change)
    }
    fn describe_setting(&mut self, change: &SettingChange) -> Option<String> {
        self.inner.describe_setting(change)
    }
    fn settled(&mut self, change: &SettingChange) -> Result<bool, ExecError> {
        self.inner.settled(change)
    }
    fn finish_setting(&mut self, change: &SettingChange) -> Result<(), ExecError> {
        self.change("finish setting")?;
        self.inner.finish_setting(change)
    }
}

/// A service whose settings live in memory, shared with the test that inspects them.
#[derive(Clone, Default)]
struct Memory(std::rc::Rc<std::cell::RefCell<BTreeMap<String, serde_json::Value>>>);

impl Service for Memory {
    fn read(&mut self, c: &SettingChange) -> Result<serde_json::Value, ServiceError> {
        Ok(self.0.borrow().get(&c.key).cloned().unwrap_or_default())
    }
    fn write(&mut self, c: &SettingChange) -> Result<(), ServiceError> {
        let mut map = self.0.borrow_mut();
        if map.get(&c.key).cloned().unwrap_or_default() != c.from {
            return Err(ServiceError::moved(format!("{} moved", c.key)));
        }
        map.insert(c.key.clone(), c.to.clone());
        Ok(())
    }
}

/// Two settings of a service: one that follows `charts` to `release` once `release`
/// exists, one created from nothing.
fn settings() -> Vec<SettingChange> {
    let change = |key: &str, from: serde_json::Value, to: serde_json::Value| SettingChange {
        service: "memory".into(),
        scope: "sample".into(),
        key: key.into(),
        label: key.into(),
        from,
        to,
        remote: "origin".into(),
        needs: vec!["release".into()],
        serves: None,
        back: false,
        ..Default::default()
    };
    vec![
        change("pulls/7/base", serde_json::json!("charts"), serde_json::json!("release")),
        change("gate", serde_json::Value::Null, serde_json::json!({"approvals": 1})),
    ]
}

/// The sample's plan with the settings placed right after `release` is created.
fn plan_with_settings(repo: &Repository) -> crate::plan::Plan {
    plan_following_release(repo, settings())
}

/// The sample's plan with `changes` right after the step that creates `release`.
fn plan_following_release(repo: &Repository, changes: Vec<SettingChange>) -> crate::plan::Plan {
    let mut plan = plan(repo);
    let at = plan
        .actions
        .iter()
        .position(|s| matches!(&s.action, Action::RemoteBranch(r) if r.branch == "release"))
        .expect("the sample's plan creates release")
        + 1;
    for (i, c) in changes.into_iter().enumerate() {
        let action = Action::Setting(Box::new(c));
        let step = crate::plan::Step { id: 0, summary: action.summary(), action };
        plan.actions.insert(at + i, step);
    }
    for (i, step) in plan.actions.iter_mut().enumerate() {
        step.id = i + 1;
    }
    plan
}

#[test]
fn settings_follow_the_apply_and_come_back_with_a_failure_at_every_change() {
    for fail_at in 1.. {
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let repo = Repository::open(&sample.clone).unwrap();
        let plan = plan_with_settings(&repo);
        let memory = Memory::default();
        memory.0.borrow_mut().insert("pulls/7/base".into(), serde_json::json!("charts"));
        let before = memory.0.borrow().clone();
        let state = dir.path().join("state");
        let mut journal = Journal::create(&state, &plan).unwrap();
        let inner = GitEffects::new(&repo).with_service("memory", Box::new(memory.clone()));
        let mut fx = Faulty { inner, changes: 0, fail_at };
        let outcome = super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap();
        if outcome.is_complete() {
            let map = memory.0.borrow();
            assert_eq!(map["pulls/7/base"], "release");
            assert_eq!(map["gate"]["approvals"], 1);
            break;
        }
        let mut chain = vec![Journal::open(&journal.path).unwrap()];
        let mut fx = GitEffects::new(&repo).with_service("memory", Box::new(memory.clone()));
        let undo = undo::plan(&chain, &mut fx).unwrap();
        let rolled = undo::run(&mut chain, &undo, &mut fx, &mut NoProgress).unwrap();
        assert!(rolled.is_complete(), "{fail_at}: {:?}", rolled.stopped);
        let after: BTreeMap<_, _> =
            memory.0.borrow().clone().into_iter().filter(|(_, v)| !v.is_null()).collect();
        assert_eq!(after, before, "{fail_at}: the settings are back");
    }
}

#[test]
fn a_setting_someone_else_changed_blocks_the_step_and_is_never_undone() {
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::demo::create(dir.path()).unwrap();
    let repo = Repository::open(&sample.clone).unwrap();
    let plan = plan_with_settings(&repo);
    let memory = Memory::default();
    // A teammate retargeted the pull request elsewhere meanwhile.
    memory.0.borrow_mut().insert("pulls/7/base".into(), serde_json::json!("main"));
    let mut journal = Journal::create(&dir.path().join("state"), &plan).unwrap();
    let mut fx = GitEffects::new(&repo).with_service("memory", Box::new(memory.clone()));
    let outcome = super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap();
    let stop = outcome.stopped.expect("the step is blocked");
    assert!(stop.reason.contains("pulls/7/base is \"main\""), "{}", stop.reason);
    assert_eq!(memory.0.borrow()["pulls/7/base"], "main");
    let mut chain = vec![Journal::open(&journal.path).unwrap()];
    let undo = undo::plan(&chain, &mut fx).unwrap();
    undo::run(&mut chain, &undo, &mut fx, &mut NoProgress).unwrap();
    assert_eq!(memory.0.borrow()["pulls/7/base"], "main", "not touched by the rollback");
}

/// Every ref of a repository, name → oid.
fn refs(path: &Path) -> BTreeMap<String, String> {
    let repo = Repository::open(path).unwrap();
    let mut out = BTreeMap::new();
    for r in repo.references().unwrap().flatten() {
        if let (Ok(name), Some(oid)) = (r.name(), r.target())
            && !name.starts_with("refs/rebranch/")
        {
            out.insert(name.to_string(), oid.to_string());
        }
    }
    out
}

/// The sample's plan, made in process.
fn plan(repo: &Repository) -> crate::plan::Plan {
    let mut target = crate::spec::Spec::builtin().resolve(&[], &|_| None).unwrap();
    for r in crate::demo::SAMPLE_RESOLUTIONS {
        let (key, verdict) = crate::spec::parse_resolve(r).unwrap();
        target.resolutions.insert(key, verdict);
    }
    let names = crate::observe::target_names(&target);
    let listing = crate::observe::connect(repo, "origin", &names, false, &|_| Vec::new()).unwrap();
    let obs = crate::observe::observe(repo, &target, listing).unwrap();
    crate::plan::build(&target, &obs, repo).unwrap()
}

#[test]
fn a_failure_at_every_change_stops_consistently_and_rolls_back_to_the_start() {
    let mut points = 0;
    for fail_at in 1.. {
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let (origin_before, clone_before) = (refs(&sample.origin), refs(&sample.clone));
        let repo = Repository::open(&sample.clone).unwrap();
        let plan = plan(&repo);
        let state = dir.path().join("state");
        let mut journal = Journal::create(&state, &plan).unwrap();
        let mut fx = Faulty { inner: GitEffects::new(&repo), changes: 0, fail_at };
        let outcome = super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap();
        if outcome.is_complete() {
            assert!(fail_at > 1, "the sample's migration makes changes");
            break;
        }
        points += 1;
        let stop = outcome.stopped.unwrap();
        assert!(stop.reason.contains("injected fault"), "{fail_at}: {}", stop.reason);
        // The journal on disk says the same as the one in memory.
        let reread = Journal::open(&journal.path).unwrap();
        assert_eq!(reread.states, journal.states, "{fail_at}");
        let mut chain = vec![reread];
        let mut fx = GitEffects::new(&repo);
        let undo = undo::plan(&chain, &mut fx).unwrap();
        let rolled = undo::run(&mut chain, &undo, &mut fx, &mut NoProgress).unwrap();
        assert!(rolled.is_complete(), "{fail_at}: {:?}", rolled.stopped);
        assert_eq!(refs(&sample.origin), origin_before, "{fail_at}: origin refs back");
        assert_eq!(refs(&sample.clone), clone_before, "{fail_at}: clone refs back");
    }
    assert!(points >= 7, "a failure point per change: {points}");
}

/// A hosted site: the branch it deploys production from (a setting), and what it serves
/// (`branch:NAME`, a deployment built from that branch, or the deployment it served before
/// the migration, `before`). A deployment can be made to fail after the setting is written.
#[derive(Clone, Default)]
struct Site(std::rc::Rc<std::cell::RefCell<SiteState>>);

#[derive(Default)]
struct SiteState {
    branch: String,
    serving: String,
    failing_deploys: usize,
    deploys: usize,
}

impl Site {
    fn new(branch: &str, serving: &str) -> Site {
        let state = SiteState {
            branch: branch.into(),
            serving: serving.into(),
            failing_deploys: 0,
            deploys: 0,
        };
        Site(std::rc::Rc::new(std::cell::RefCell::new(state)))
    }

    /// What the site serves once the change's write is done.
    fn serves_after(c: &SettingChange) -> String {
        let branch = crate::service::names_in(&c.to).remove(0);
        if c.back && !c.moved { "before".to_string() } else { format!("branch:{branch}") }
    }
}

impl Service for Site {
    fn read(&mut self, _: &SettingChange) -> Result<serde_json::Value, ServiceError> {
        Ok(serde_json::json!({"branch": self.0.borrow().branch}))
    }
    fn write(&mut self, c: &SettingChange) -> Result<(), ServiceError> {
        {
            let mut site = self.0.borrow_mut();
            if serde_json::json!({"branch": site.branch}) != c.from {
                return Err(ServiceError::moved("the site's branch moved"));
            }
            site.branch = crate::service::names_in(&c.to).remove(0);
        }
        self.finish(c)
    }
    fn finish(&mut self, c: &SettingChange) -> Result<(), ServiceError> {
        let mut site = self.0.borrow_mut();
        if c.then.is_some() {
            if site.failing_deploys > 0 {
                site.failing_deploys -= 1;
                return Err(ServiceError::new("the deployment failed"));
            }
            site.deploys += 1;
            site.serving = Site::serves_after(c);
        }
        Ok(())
    }
    fn settled(&mut self, c: &SettingChange) -> Result<bool, ServiceError> {
        Ok(c.then.is_none() || self.0.borrow().serving == Site::serves_after(c))
    }
}

/// The sample's plan with the site following `charts` to `release` right after
/// `release` is created.
fn plan_with_site(repo: &Repository) -> crate::plan::Plan {
    let change = SettingChange {
        service: "site".into(),
        scope: "sample".into(),
        key: "production".into(),
        label: "the site's production branch".into(),
        from: serde_json::json!({"branch": "charts"}),
        to: serde_json::json!({"branch": "release"}),
        remote: "origin".into(),
        needs: vec!["release".into()],
        then: Some("deploy release".into()),
        then_back: Some("put back what it served before".into()),
        ..Default::default()
    };
    plan_following_release(repo, vec![change])
}

#[test]
fn a_switch_whose_deployment_failed_is_deployed_on_resume_and_put_back_by_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::demo::create(dir.path()).unwrap();
    let repo = Repository::open(&sample.clone).unwrap();
    let site = Site::new("charts", "before");
    site.0.borrow_mut().failing_deploys = 1;
    let mut journal = Journal::create(&dir.path().join("state"), &plan_with_site(&repo)).unwrap();
    let mut fx = GitEffects::new(&repo).with_service("site", Box::new(site.clone()));
    let outcome = super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap();
    let stop = outcome.stopped.expect("the failed deployment stops the apply");
    assert!(stop.reason.contains("the deployment failed"), "{}", stop.reason);
    assert_eq!(site.0.borrow().branch, "release", "the setting was written");
    assert_eq!(site.0.borrow().serving, "before", "but nothing new is served yet");

    let outcome = super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap();
    assert!(outcome.is_complete(), "{:?}", outcome.stopped);
    assert_eq!(site.0.borrow().serving, "branch:release", "the resumed step deployed");
    assert_eq!(site.0.borrow().deploys, 1);
    let again = super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap();
    assert!(again.is_complete());
    assert_eq!(site.0.borrow().deploys, 1, "a settled switch is not deployed again");

    let mut chain = vec![Journal::open(&journal.path).unwrap()];
    let undo = undo::plan(&chain, &mut fx).unwrap();
    undo::run(&mut chain, &undo, &mut fx, &mut NoProgress).unwrap();
    assert_eq!(site.0.borrow().branch, "charts");
    assert_eq!(site.0.borrow().serving, "before", "what it served before is put back");
}

#[test]
fn a_branch_published_to_since_the_switch_is_deployed_again_by_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::demo::create(dir.path()).unwrap();
    let repo = Repository::open(&sample.clone).unwrap();
    let site = Site::new("charts", "before");
    let mut journal = Journal::create(&dir.path().join("state"), &plan_with_site(&repo)).unwrap();
    let mut fx = GitEffects::new(&repo).with_service("site", Box::new(site.clone()));
    assert!(super::apply(&mut journal, &mut fx, &mut NoProgress).unwrap().is_complete());
    // A chart is published to `release` after the migration (and this clone has it).
    let tip = repo.find_reference("refs/remotes/origin/release").unwrap().peel_to_commit().unwrap();
    let sig = git2::Signature::now("t", "t@example.com").unwrap();
    let published =
        repo.commit(None, &sig, &sig, "publish", &tip.tree().unwrap(), &[&tip]).unwrap();
    let spec = format!("{published}:refs/heads/release");
    repo.find_remote("origin").unwrap().push(&[spec.as_str()], None).unwrap();

    let mut chain = vec![Journal::open(&journal.path).unwrap()];
    let mut fx = GitEffects::new(&repo).with_service("site", Box::new(site.clone()));
    let undo = undo::plan(&chain, &mut fx).unwrap();
    let back = undo
        .undo
        .iter()
        .find_map(|u| match &u.step.action {
            Action::Setting(c) => Some(c.clone()),
            _ => None,
        })
        .expect("the switch is undone");
    assert!(back.moved, "{back:?}");
    assert!(
        back.then.as_deref().unwrap().contains("build and serve `charts` again"),
        "{:?}",
        back.then
    );
    let rolled = undo::run(&mut chain, &undo, &mut fx, &mut NoProgress).unwrap();
    assert!(rolled.is_complete(), "{:?}", rolled.stopped);
    assert_eq!(site.0.borrow().serving, "branch:charts", "not the older deployment");
}
