//! The Pages switch on the [`crate::service`] seam: what the project's production-branch
//! settings are ([`value`]), what the migration changes about them ([`contribution`],
//! pure), and [`PagesService`], which reads and writes them through the API at apply and
//! rollback time, with the production deployment that makes a switch take effect.
//!
//! The setting's value is the project's branch fields in the API's own names, a field
//! left unset absent: `{"production_branch": "charts", "source.config.production_branch":
//! "charts"}`. Its `record` keeps what undoing needs beyond the value: the account, the
//! source type and the production deployment served before the switch.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::client::PagesClient;
use super::switch::{
    BranchFields, DeploymentRef, PollOptions, ProjectState, RollbackOptions, StepError, SwitchPlan,
    SwitchRecord, apply_switch, apply_switch_from, observe, plan_switch, rollback_switch,
    verify_deployment,
};
use crate::http::Transport;
use crate::service::{Contribution, Polls, Service, ServiceError, SettingChange, Stage, names_in};

/// The service name settings of a Pages project carry.
pub const SERVICE: &str = "cloudflare";
/// The key of the production-branch settings.
pub const KEY: &str = "pages/branches";

const PRODUCTION: &str = "production_branch";
const SOURCE_PRODUCTION: &str = "source.config.production_branch";
const INCLUDES: &str = "source.config.preview_branch_includes";
const EXCLUDES: &str = "source.config.preview_branch_excludes";

/// The branch fields as the setting's value.
pub fn value(fields: &BranchFields) -> Value {
    let mut o = Map::new();
    o.insert(PRODUCTION.into(), json!(fields.production_branch));
    let optional = [
        (SOURCE_PRODUCTION, fields.source_production_branch.as_ref().map(|b| json!(b))),
        (INCLUDES, fields.preview_branch_includes.as_ref().map(|l| json!(l))),
        (EXCLUDES, fields.preview_branch_excludes.as_ref().map(|l| json!(l))),
    ];
    for (key, v) in optional {
        if let Some(v) = v {
            o.insert(key.into(), v);
        }
    }
    Value::Object(o)
}

/// The branch fields a value holds.
pub fn fields(value: &Value) -> Result<BranchFields, ServiceError> {
    let bad = || ServiceError::new(format!("not a Pages branch setting in the plan: {value}"));
    let o = value.as_object().ok_or_else(bad)?;
    let text = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
    let list = |k: &str| -> Option<Vec<String>> {
        o.get(k)?.as_array().map(|a| a.iter().filter_map(Value::as_str).map(String::from).collect())
    };
    Ok(BranchFields {
        production_branch: text(PRODUCTION).ok_or_else(bad)?,
        source_production_branch: text(SOURCE_PRODUCTION),
        preview_branch_includes: list(INCLUDES),
        preview_branch_excludes: list(EXCLUDES),
    })
}

/// What the switch keeps beside the value, for the write and the undo.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_type: Option<String>,
    /// The production deployment served before the switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<DeploymentRef>,
}

impl Record {
    /// The record a change of this service carries.
    pub fn of(change: &SettingChange) -> Result<Record, ServiceError> {
        serde_json::from_value(change.record.clone()).map_err(|e| {
            ServiceError::new(format!(
                "{}: the plan's Pages record is not valid: {e}",
                change.label
            ))
        })
    }
}

/// The one branch a value names.
fn branch(value: &Value) -> String {
    names_in(value).into_iter().next().unwrap_or_default()
}

/// The switch of `state` (the project as read) for each rename, as settings at the
/// [`Stage::Follow`] stage; a project serving neither name refuses the plan. `remote` is
/// the git remote the project builds from; `helm_repo_url`, when given, must serve the new
/// branch's `index.yaml` after the switch.
pub fn contribution(
    state: &ProjectState,
    renames: &[(String, String)],
    remote: &str,
    helm_repo_url: Option<&str>,
) -> Contribution {
    let mut c = Contribution { service: SERVICE.to_string(), ..Contribution::default() };
    let live = state.canonical_deployment.as_ref().map_or_else(
        || "no production deployment yet".to_string(),
        |d| format!("serving deployment {} from {}", d.id, d.branch.as_deref().unwrap_or("?")),
    );
    let current = state.production_branch.as_str();
    c.status.push((
        renames.iter().all(|(_, new)| current == new),
        format!(
            "pages project {} deploys production from {current} (account {}, {live})",
            state.name, state.account_id
        ),
    ));
    for (old, new) in renames {
        if current != old && current != new {
            c.refusal = Some((
                format!(
                    "Pages project \"{}\" (account {}) deploys production from `{current}`, not from `{old}`",
                    state.name, state.account_id
                ),
                "check --set cloudflare.project: the plan switches the project that serves the renamed branch".to_string(),
            ));
            return c;
        }
        let Some(switch) = plan_switch(state, old, new) else { continue };
        c.warnings.extend(switch.notes.iter().cloned());
        c.changes.push((Stage::Follow, change(&switch, remote, helm_repo_url)));
    }
    c
}

/// The setting change of a planned switch.
pub fn change(switch: &SwitchPlan, remote: &str, helm_repo_url: Option<&str>) -> SettingChange {
    let record = Record {
        account_id: switch.account_id.clone(),
        source_type: switch.source_type.clone(),
        deployment: switch.canonical_deployment.clone(),
    };
    let (old, new) = (&switch.from, &switch.to);
    let then_back = match &switch.canonical_deployment {
        Some(d) => format!("put back deployment {} that served production before", d.id),
        None => format!("deploy `{old}` again"),
    };
    SettingChange {
        service: SERVICE.to_string(),
        scope: switch.project.clone(),
        key: KEY.to_string(),
        label: format!("Pages project \"{}\" production branch", switch.project),
        from: value(&switch.before),
        to: value(&switch.after),
        remote: remote.to_string(),
        needs: vec![new.clone()],
        serves: helm_repo_url.filter(|u| !u.is_empty()).map(|url| crate::service::Served {
            url: format!("{}/index.yaml", url.trim_end_matches('/')),
            branch: new.clone(),
            file: "index.yaml".to_string(),
        }),
        back: false,
        then: Some(format!("deploy from `{new}` and wait until it serves production")),
        then_back: Some(then_back),
        record: serde_json::to_value(record).unwrap_or_default(),
        moved: false,
    }
}

/// A Pages step as journals and saved plans before the settings seam recorded it: read
/// back as the [`SettingChange`] it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LegacyStep {
    pub remote: String,
    pub switch: SwitchPlan,
    #[serde(default)]
    pub back: bool,
    #[serde(default)]
    pub verify: bool,
    #[serde(default)]
    pub helm_repo_url: Option<String>,
    #[serde(default)]
    pub redeploy: bool,
}

impl From<LegacyStep> for SettingChange {
    fn from(step: LegacyStep) -> SettingChange {
        let url = step.helm_repo_url.as_deref().filter(|_| step.verify);
        let mut forward = change(&step.switch, &step.remote, url);
        if !step.verify {
            forward.then = None;
        }
        if !step.back {
            return forward;
        }
        let mut back = forward.inverse();
        back.moved = step.redeploy;
        back
    }
}

fn failed(e: StepError) -> ServiceError {
    match e {
        e @ StepError::Drift { .. } => ServiceError::moved(e.to_string()),
        e => ServiceError::new(e.to_string()),
    }
}

/// A Pages project's settings, read and written through the API, with deployments
/// followed until they serve.
pub struct PagesService<T: Transport> {
    client: PagesClient<T>,
    poll: PollOptions,
    progress: Box<dyn Polls>,
    /// The project as last read: a write right after a check starts from it.
    last: Option<ProjectState>,
}

impl<T: Transport> PagesService<T> {
    pub fn new(client: PagesClient<T>, poll: PollOptions, progress: Box<dyn Polls>) -> Self {
        Self { client, poll, progress, last: None }
    }

    fn read_project(&mut self, project: &str) -> Result<ProjectState, ServiceError> {
        let state = observe(&self.client, project).map_err(failed)?;
        self.last = Some(state.clone());
        Ok(state)
    }

    fn deploy(&self, project: &str, branch: &str) -> Result<(), ServiceError> {
        verify_deployment(&self.client, project, branch, self.progress.as_ref(), &self.poll)
            .map(drop)
            .map_err(failed)
    }
}

impl<T: Transport> Service for PagesService<T> {
    fn read(&mut self, change: &SettingChange) -> Result<Value, ServiceError> {
        Ok(value(&self.read_project(&change.scope)?.branch_fields()))
    }

    fn write(&mut self, change: &SettingChange) -> Result<(), ServiceError> {
        let record = Record::of(change)?;
        let project = change.scope.as_str();
        if !change.back {
            let switch = SwitchPlan {
                account_id: record.account_id,
                project: project.to_string(),
                from: branch(&change.from),
                to: branch(&change.to),
                source_type: record.source_type,
                before: fields(&change.from)?,
                after: fields(&change.to)?,
                canonical_deployment: record.deployment,
                notes: Vec::new(),
            };
            let done = match self.last.take().filter(|s| s.name == project) {
                Some(state) => apply_switch_from(&self.client, &switch, state),
                None => apply_switch(&self.client, &switch),
            }
            .map_err(failed)?;
            // Just switched, nothing serves the new branch yet; a resumed write that found
            // the switch made asks the project whether its deployment is live.
            if change.then.is_some() && (done.patched || !self.settled(change)?) {
                self.deploy(project, &switch.to)?;
            }
            return Ok(());
        }
        // Back: `from` is what the migration left, `to` what the project had before it.
        let old = branch(&change.to);
        let undo = SwitchRecord {
            account_id: record.account_id,
            project: project.to_string(),
            from: old.clone(),
            to: branch(&change.from),
            source_type: record.source_type,
            before: fields(&change.to)?,
            after: fields(&change.from)?,
            canonical_deployment_before: record.deployment,
            patched: true,
        };
        let restore = change.then.is_some() && !change.moved;
        let options = RollbackOptions {
            restore_deployment: restore,
            old_branch_exists: true,
            poll: self.poll,
        };
        rollback_switch(&self.client, &undo, self.progress.as_ref(), &options).map_err(failed)?;
        if change.then.is_some() && change.moved {
            self.deploy(project, &old)?;
        }
        Ok(())
    }

    fn finish(&mut self, change: &SettingChange) -> Result<(), ServiceError> {
        if change.back {
            // Switching back finds the fields back already and puts the deployment back.
            return self.write(change);
        }
        self.deploy(&change.scope, &branch(&change.to))
    }

    fn settled(&mut self, change: &SettingChange) -> Result<bool, ServiceError> {
        if change.then.is_none() {
            return Ok(true);
        }
        let record = Record::of(change)?;
        let live = self.read_project(&change.scope)?.canonical_deployment;
        let target = branch(&change.to);
        let from_target = || {
            live.as_ref().is_some_and(|d| {
                d.branch.as_deref() == Some(target.as_str()) && d.environment == "production"
            })
        };
        Ok(if !change.back || change.moved {
            from_target()
        } else {
            // The deployment served before is live again (nothing recorded: nothing to put back).
            record.deployment.as_ref().is_none_or(|d| live.as_ref().is_some_and(|l| l.id == d.id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(production: &str) -> ProjectState {
        ProjectState {
            account_id: "acc".into(),
            name: "helm".into(),
            production_branch: production.into(),
            source_type: Some("github".into()),
            source_config: Some(crate::cloudflare::SourceConfig {
                production_branch: Some(production.into()),
                ..Default::default()
            }),
            canonical_deployment: Some(DeploymentRef {
                id: "d1".into(),
                branch: Some(production.into()),
                environment: "production".into(),
            }),
        }
    }

    fn renames() -> Vec<(String, String)> {
        vec![("charts".to_string(), "release".to_string())]
    }

    #[test]
    fn the_switch_is_one_setting_that_names_the_new_branch() {
        let c = contribution(&state("charts"), &renames(), "origin", Some("https://h.example/"));
        assert_eq!(c.refusal, None);
        let [(Stage::Follow, ch)] = c.changes.as_slice() else { panic!("{c:?}") };
        assert_eq!(
            ch.from,
            json!({"production_branch": "charts", "source.config.production_branch": "charts"})
        );
        assert_eq!(ch.to["production_branch"], "release");
        assert_eq!(ch.needs, vec!["release".to_string()]);
        assert_eq!(ch.serves.as_ref().unwrap().url, "https://h.example/index.yaml");
        let record: Record = serde_json::from_value(ch.record.clone()).unwrap();
        assert_eq!(record.deployment.unwrap().id, "d1");
        let back = ch.inverse();
        assert_eq!(back.needs, vec!["charts".to_string()], "the undo needs the old branch");
        assert!(back.then.as_deref().unwrap().contains("put back deployment d1"));
        assert_eq!(fields(&back.to).unwrap(), state("charts").branch_fields());
    }

    #[test]
    fn a_project_on_the_new_branch_has_nothing_to_do_and_another_refuses() {
        let done = contribution(&state("release"), &renames(), "origin", None);
        assert!(done.changes.is_empty() && done.refusal.is_none());
        assert!(done.status[0].0, "{:?}", done.status);
        let other = contribution(&state("gh-pages"), &renames(), "origin", None);
        assert!(other.refusal.unwrap().0.contains("deploys production from `gh-pages`"));
    }

    #[test]
    fn a_legacy_step_reads_back_as_its_setting() {
        let switch = plan_switch(&state("charts"), "charts", "release").unwrap();
        let legacy = LegacyStep {
            remote: "origin".into(),
            switch: switch.clone(),
            back: true,
            verify: false,
            helm_repo_url: None,
            redeploy: true,
        };
        let back = SettingChange::from(legacy);
        assert!(back.back && back.moved);
        assert_eq!(back.from["production_branch"], "release");
        assert_eq!(back.to["production_branch"], "charts");
        assert!(back.then.is_some(), "a rollback always puts the deployment back");
        let forward = SettingChange::from(LegacyStep {
            remote: "origin".into(),
            switch,
            back: false,
            verify: false,
            helm_repo_url: None,
            redeploy: false,
        });
        assert_eq!(forward.then, None, "an unverified switch only patches");
    }
}
