//! The Pages step of the migration: observe the project, plan the production-branch switch
//! as a diff, apply it with one PATCH and check it, verify with a production deployment,
//! and roll it back from the record the apply returned.
//!
//! Everything here goes into the plan or the journal, so all of it is serde data and none of
//! it holds the token.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::client::PagesClient;
use super::error::{ApiError, ErrorContext, human_message};
use super::types::{Deployment, Project, ProjectPatch, Source, SourceConfig};
use crate::http::Transport;
use crate::service::Polls;

/// A deployment as recorded for rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentRef {
    pub id: String,
    pub branch: Option<String>,
    pub environment: String,
}

impl DeploymentRef {
    fn from_deployment(d: &Deployment) -> Self {
        Self {
            id: d.id.clone(),
            branch: d.branch().map(str::to_owned),
            environment: d.environment.clone(),
        }
    }
}

/// The settings that name branches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchFields {
    pub production_branch: String,
    /// `source.config.production_branch`; `None` for a Direct Upload project.
    pub source_production_branch: Option<String>,
    pub preview_branch_includes: Option<Vec<String>>,
    pub preview_branch_excludes: Option<Vec<String>>,
}

/// What observe records about the project (one GET).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectState {
    pub account_id: String,
    pub name: String,
    pub production_branch: String,
    /// `github` / `gitlab`; `None` for a Direct Upload project.
    pub source_type: Option<String>,
    /// The writable `source.config` keys as read (no secrets live there).
    pub source_config: Option<SourceConfig>,
    pub canonical_deployment: Option<DeploymentRef>,
}

impl ProjectState {
    /// Extracts the state from a GET answer.
    pub fn from_project(account_id: &str, project: &Project) -> Self {
        Self {
            account_id: account_id.to_owned(),
            name: project.name.clone(),
            production_branch: project.production_branch.clone(),
            source_type: project.source.as_ref().map(|s| s.kind.clone()),
            source_config: project.source.as_ref().map(|s| s.config.clone()),
            canonical_deployment: project
                .canonical_deployment
                .as_ref()
                .map(DeploymentRef::from_deployment),
        }
    }

    /// The branch-naming settings.
    pub fn branch_fields(&self) -> BranchFields {
        let config = self.source_config.as_ref();
        BranchFields {
            production_branch: self.production_branch.clone(),
            source_production_branch: config.and_then(|c| c.production_branch.clone()),
            preview_branch_includes: config.and_then(|c| c.preview_branch_includes.clone()),
            preview_branch_excludes: config.and_then(|c| c.preview_branch_excludes.clone()),
        }
    }
}

/// The planned change of the project's branch settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchPlan {
    pub account_id: String,
    pub project: String,
    pub from: String,
    pub to: String,
    pub source_type: Option<String>,
    /// The settings as observed: the apply's precondition.
    pub before: BranchFields,
    /// The settings after the switch.
    pub after: BranchFields,
    pub canonical_deployment: Option<DeploymentRef>,
    /// Things the user should know (a field that names neither branch, a pattern left alone).
    pub notes: Vec<String>,
}

impl SwitchPlan {
    /// One `~` line per changed setting, e.g.
    /// `~ pages project "helm-charts": production_branch "charts" → "release"`.
    pub fn diff_lines(&self) -> Vec<String> {
        field_changes(&self.before, &self.after)
            .into_iter()
            .map(|(field, old, new)| {
                format!("~ pages project \"{}\": {field} {old} → {new}", self.project)
            })
            .collect()
    }
}

/// What the apply did and everything rollback needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SwitchRecord {
    pub account_id: String,
    pub project: String,
    pub from: String,
    pub to: String,
    pub source_type: Option<String>,
    pub before: BranchFields,
    pub after: BranchFields,
    /// The live production deployment before the switch.
    pub canonical_deployment_before: Option<DeploymentRef>,
    /// False when the project already held `after` (a resumed apply).
    pub patched: bool,
}

impl SwitchRecord {
    /// What rollback needs to undo `plan`, as the plan saw the project: what a journal
    /// holding the plan can rebuild at any time.
    pub fn of_plan(plan: &SwitchPlan, patched: bool) -> Self {
        Self {
            account_id: plan.account_id.clone(),
            project: plan.project.clone(),
            from: plan.from.clone(),
            to: plan.to.clone(),
            source_type: plan.source_type.clone(),
            before: plan.before.clone(),
            after: plan.after.clone(),
            canonical_deployment_before: plan.canonical_deployment.clone(),
            patched,
        }
    }
}

/// How to wait for a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollOptions {
    pub interval: Duration,
    pub timeout: Duration,
}

impl Default for PollOptions {
    fn default() -> Self {
        Self { interval: Duration::from_secs(5), timeout: Duration::from_secs(15 * 60) }
    }
}

/// A production deployment that went live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentOutcome {
    pub deployment_id: String,
    pub short_id: String,
    pub url: String,
    pub branch: String,
    pub environment: String,
    pub polls: u32,
}

/// What rollback should do about the served content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackOptions {
    /// Also put the previous production deployment back (on by default).
    pub restore_deployment: bool,
    /// Whether the old branch still exists, so a new build from it is possible.
    pub old_branch_exists: bool,
    pub poll: PollOptions,
}

impl Default for RollbackOptions {
    fn default() -> Self {
        Self { restore_deployment: true, old_branch_exists: true, poll: PollOptions::default() }
    }
}

/// How the served content was restored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestoredDeployment {
    /// The rollback endpoint made the recorded deployment live again.
    RolledBackTo(String),
    /// The recorded deployment was still live.
    AlreadyLive(String),
    /// A new build from the old branch.
    Rebuilt(DeploymentOutcome),
    /// Not asked for, or nothing recorded and no old branch to build.
    Skipped(String),
}

/// What rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackOutcome {
    /// False when the fields already held their old values.
    pub fields_restored: bool,
    pub deployment: RestoredDeployment,
}

/// A failed step, with one message for the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum StepError {
    #[error("{}", human_message(.error, .context))]
    Api { context: Box<ErrorContext>, error: ApiError },
    #[error(
        "Pages project \"{project}\" in account {account} changed since the plan: {field} is \
         {found}, the plan expected {expected}; nothing was changed. Run `rebranch plan` again"
    )]
    Drift { project: String, account: String, field: String, expected: String, found: String },
    #[error(
        "Pages project \"{project}\" in account {account} did not take the change: after the \
         PATCH, {field} is {found}, not {expected}. Check the project in the dashboard, then \
         run `rebranch apply` again or `rebranch rollback`"
    )]
    NotApplied { project: String, account: String, field: String, expected: String, found: String },
    #[error(
        "deployment {deployment_id} of Pages project \"{project}\" in account {account} did not \
         go live: {message}"
    )]
    Deployment { project: String, account: String, deployment_id: String, message: String },
    #[error(
        "refusing to roll back Pages project \"{project}\" in account {account}: {field} is \
         {found}, not {expected} as the apply left it, so someone changed it since; nothing was \
         changed. Set it by hand if the old value is still wanted"
    )]
    RollbackRefused {
        project: String,
        account: String,
        field: String,
        expected: String,
        found: String,
    },
}

/// Reads the project (one GET). When it does not exist, the error lists the account's
/// projects, if they can be read.
pub fn observe<T: Transport>(
    client: &PagesClient<T>,
    project: &str,
) -> Result<ProjectState, StepError> {
    let account = client.account_id().to_owned();
    match client.get_project(project) {
        Ok(p) => Ok(ProjectState::from_project(&account, &p)),
        Err(error) => {
            let mut context = ErrorContext::new(&account, project, "read the project", false);
            if error.is_not_found() {
                context.known_projects = client
                    .list_projects()
                    .map(|ps| ps.into_iter().map(|p| p.name).collect())
                    .unwrap_or_default();
            }
            Err(StepError::Api { context: Box::new(context), error })
        }
    }
}

/// Lists the account's projects connected to `owner/repo`, to offer when the plan names none.
pub fn projects_for_repository<T: Transport>(
    client: &PagesClient<T>,
    owner: &str,
    repo: &str,
) -> Result<Vec<String>, StepError> {
    let projects = client.list_projects().map_err(|error| StepError::Api {
        context: Box::new(ErrorContext {
            account: client.account_id().to_owned(),
            action: "list the Pages projects".to_owned(),
            ..ErrorContext::default()
        }),
        error,
    })?;
    Ok(projects
        .into_iter()
        .filter(|p| {
            p.source.as_ref().is_some_and(|s| {
                s.config.owner.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(owner))
                    && s.config.repo_name.as_deref().is_some_and(|r| r.eq_ignore_ascii_case(repo))
            })
        })
        .map(|p| p.name)
        .collect())
}

/// Plans the switch from `from` to `to`; `None` when the project already serves `to`.
pub fn plan_switch(state: &ProjectState, from: &str, to: &str) -> Option<SwitchPlan> {
    let before = state.branch_fields();
    let mut notes = Vec::new();
    for (field, value) in [
        ("production_branch", Some(&before.production_branch)),
        ("source.config.production_branch", before.source_production_branch.as_ref()),
    ] {
        if let Some(value) = value.filter(|v| *v != from && *v != to) {
            notes.push(format!(
                "{field} is \"{value}\", neither \"{from}\" nor \"{to}\": the switch would move it \
                 from \"{value}\""
            ));
        }
    }
    let after = BranchFields {
        production_branch: to.to_owned(),
        source_production_branch: before.source_production_branch.as_ref().map(|_| to.to_owned()),
        preview_branch_includes: rename_in_list(&before.preview_branch_includes, from, to),
        preview_branch_excludes: rename_in_list(&before.preview_branch_excludes, from, to),
    };
    notes.extend(pattern_notes(&before, from));
    if let Some(config) = &state.source_config
        && config.production_deployments_enabled == Some(false)
    {
        notes.push(format!(
            "production_deployments_enabled is false: pushes to \"{to}\" will not build \
             production automatically"
        ));
    }
    if after == before {
        return None;
    }
    Some(SwitchPlan {
        account_id: state.account_id.clone(),
        project: state.name.clone(),
        from: from.to_owned(),
        to: to.to_owned(),
        source_type: state.source_type.clone(),
        before,
        after,
        canonical_deployment: state.canonical_deployment.clone(),
        notes,
    })
}

/// Applies the plan: re-reads the project (compare-and-swap against `plan.before`), sends one
/// PATCH with only what changes, then checks the answer and a fresh GET.
pub fn apply_switch<T: Transport>(
    client: &PagesClient<T>,
    plan: &SwitchPlan,
) -> Result<SwitchRecord, StepError> {
    apply_switch_from(client, plan, observe(client, &plan.project)?)
}

/// Like [`apply_switch`], starting from `current`, the project as just read: the caller
/// that has checked its precondition with a GET saves the second one.
pub fn apply_switch_from<T: Transport>(
    client: &PagesClient<T>,
    plan: &SwitchPlan,
    current: ProjectState,
) -> Result<SwitchRecord, StepError> {
    let fields = current.branch_fields();
    let mut record = SwitchRecord {
        account_id: client.account_id().to_owned(),
        source_type: current.source_type.clone(),
        canonical_deployment_before: current.canonical_deployment.clone(),
        ..SwitchRecord::of_plan(plan, false)
    };
    if fields == plan.after {
        // A resumed apply: the PATCH went through before; keep the plan's view of "before".
        record.canonical_deployment_before = plan.canonical_deployment.clone();
        return Ok(record);
    }
    if let Some((field, expected, found)) = first_difference(&plan.before, &fields) {
        return Err(StepError::Drift {
            project: plan.project.clone(),
            account: record.account_id,
            field,
            expected,
            found,
        });
    }
    let patch = build_patch(&current, &plan.after);
    let ctx = || {
        ErrorContext::new(client.account_id(), &plan.project, "switch the production branch", true)
    };
    let answered = client
        .patch_project(&plan.project, &patch)
        .map_err(|error| StepError::Api { context: Box::new(ctx()), error })?;
    let answered = ProjectState::from_project(client.account_id(), &answered);
    check_fields(&plan.project, client.account_id(), &plan.after, &answered)?;
    let reread = observe(client, &plan.project)?;
    check_fields(&plan.project, client.account_id(), &plan.after, &reread)?;
    check_repository_kept(&plan.project, client.account_id(), &current, &reread)?;
    record.patched = true;
    Ok(record)
}

/// Starts a deployment of `branch` and polls it until it is live; a preview, a failed build,
/// another branch or a timeout is an error.
pub fn verify_deployment<T: Transport>(
    client: &PagesClient<T>,
    project: &str,
    branch: &str,
    progress: &dyn Polls,
    poll: &PollOptions,
) -> Result<DeploymentOutcome, StepError> {
    let account = client.account_id().to_owned();
    let api = |action: String, write: bool| {
        let account = account.clone();
        move |error| StepError::Api {
            context: Box::new(ErrorContext::new(&account, project, &action, write)),
            error,
        }
    };
    let mut deployment = client
        .create_deployment(project, branch)
        .map_err(api(format!("start a deployment of branch \"{branch}\""), true))?;
    let mut polls = 0;
    let mut waited = Duration::ZERO;
    report(progress, &deployment);
    while !deployment.is_finished() {
        if waited >= poll.timeout {
            let stage = stage_text(&deployment);
            return Err(deployment_error(
                client,
                project,
                &deployment.id,
                format!(
                    "still at {stage} after {}s; it may still finish: check the dashboard",
                    waited.as_secs()
                ),
            ));
        }
        client.sleep(poll.interval);
        waited += poll.interval;
        polls += 1;
        deployment = client
            .get_deployment(project, &deployment.id)
            .map_err(api("follow the deployment".to_owned(), false))?;
        report(progress, &deployment);
    }
    check_live(client, project, branch, &deployment)?;
    Ok(DeploymentOutcome {
        deployment_id: deployment.id.clone(),
        short_id: deployment.short_id.clone(),
        url: deployment.url.clone(),
        branch: branch.to_owned(),
        environment: deployment.environment.clone(),
        polls,
    })
}

/// Undoes [`apply_switch`]: PATCHes the fields back only if they still hold what the apply
/// set, then puts the previous production deployment back (rollback endpoint, or a new
/// build from the old branch).
pub fn rollback_switch<T: Transport>(
    client: &PagesClient<T>,
    record: &SwitchRecord,
    progress: &dyn Polls,
    options: &RollbackOptions,
) -> Result<RollbackOutcome, StepError> {
    let current = observe(client, &record.project)?;
    let fields = current.branch_fields();
    let fields_restored = if fields == record.before {
        false
    } else if let Some((field, expected, found)) = first_difference(&record.after, &fields) {
        return Err(StepError::RollbackRefused {
            project: record.project.clone(),
            account: client.account_id().to_owned(),
            field,
            expected,
            found,
        });
    } else {
        restore_fields(client, record, &current)?;
        true
    };
    let deployment = if options.restore_deployment {
        restore_deployment(client, record, progress, options)?
    } else {
        RestoredDeployment::Skipped("not asked for".to_owned())
    };
    Ok(RollbackOutcome { fields_restored, deployment })
}

/// The PATCH that moves `current` to `target`: top-level `production_branch` if it changes;
/// for a git project, `source` with its type and full config, only if the config changes.
pub fn build_patch(current: &ProjectState, target: &BranchFields) -> ProjectPatch {
    let production_branch = (current.production_branch != target.production_branch)
        .then(|| target.production_branch.clone());
    let source = match (&current.source_type, &current.source_config) {
        (Some(kind), Some(config)) => {
            let mut new_config = config.clone();
            if target.source_production_branch.is_some() {
                new_config.production_branch = target.source_production_branch.clone();
            }
            new_config.preview_branch_includes = target.preview_branch_includes.clone();
            new_config.preview_branch_excludes = target.preview_branch_excludes.clone();
            (new_config != *config).then(|| Source { kind: kind.clone(), config: new_config })
        }
        _ => None,
    };
    ProjectPatch { production_branch, source }
}

fn restore_fields<T: Transport>(
    client: &PagesClient<T>,
    record: &SwitchRecord,
    current: &ProjectState,
) -> Result<(), StepError> {
    let patch = build_patch(current, &record.before);
    let context = ErrorContext::new(
        client.account_id(),
        &record.project,
        "switch the production branch back",
        true,
    );
    client
        .patch_project(&record.project, &patch)
        .map_err(|error| StepError::Api { context: Box::new(context), error })?;
    let reread = observe(client, &record.project)?;
    check_fields(&record.project, client.account_id(), &record.before, &reread)
}

fn restore_deployment<T: Transport>(
    client: &PagesClient<T>,
    record: &SwitchRecord,
    progress: &dyn Polls,
    options: &RollbackOptions,
) -> Result<RestoredDeployment, StepError> {
    let live = observe(client, &record.project)?.canonical_deployment;
    let rebuild = |reason: String| {
        if options.old_branch_exists {
            verify_deployment(client, &record.project, &record.from, progress, &options.poll)
                .map(RestoredDeployment::Rebuilt)
        } else {
            Ok(RestoredDeployment::Skipped(reason))
        }
    };
    let Some(old) = &record.canonical_deployment_before else {
        return rebuild(
            "no production deployment was recorded and the old branch is gone".to_owned(),
        );
    };
    if live.as_ref().is_some_and(|l| l.id == old.id) {
        return Ok(RestoredDeployment::AlreadyLive(old.id.clone()));
    }
    match client.rollback_deployment(&record.project, &old.id) {
        Ok(_) => Ok(RestoredDeployment::RolledBackTo(old.id.clone())),
        Err(error) if options.old_branch_exists && !error.is_auth() => rebuild(String::new()),
        Err(error) => Err(StepError::Api {
            context: Box::new(ErrorContext::new(
                client.account_id(),
                &record.project,
                &format!("roll production back to deployment {}", old.id),
                true,
            )),
            error,
        }),
    }
}

fn check_live<T: Transport>(
    client: &PagesClient<T>,
    project: &str,
    branch: &str,
    d: &Deployment,
) -> Result<(), StepError> {
    let problem = if !d.succeeded() {
        Some(format!("the build ended at {}; see its build log in the dashboard", stage_text(d)))
    } else if d.environment != "production" {
        Some(format!(
            "it came out as a {} deployment, not production: the project's production_branch is \
             not \"{branch}\"",
            d.environment
        ))
    } else if d.branch() != Some(branch) {
        Some(format!(
            "it was built from {:?}, not \"{branch}\"",
            d.branch().unwrap_or("an unknown branch")
        ))
    } else {
        None
    };
    if let Some(message) = problem {
        return Err(deployment_error(client, project, &d.id, message));
    }
    let state = observe(client, project)?;
    match state.canonical_deployment {
        Some(c) if c.id == d.id => Ok(()),
        other => Err(deployment_error(
            client,
            project,
            &d.id,
            format!(
                "it succeeded, but the live production deployment is {}",
                other.map_or("none".to_owned(), |c| c.id)
            ),
        )),
    }
}

fn deployment_error<T: Transport>(
    client: &PagesClient<T>,
    project: &str,
    id: &str,
    message: String,
) -> StepError {
    StepError::Deployment {
        project: project.to_owned(),
        account: client.account_id().to_owned(),
        deployment_id: id.to_owned(),
        message,
    }
}

fn report(progress: &dyn Polls, d: &Deployment) {
    if let Some(stage) = &d.latest_stage {
        progress.on_poll(&stage.name, &stage.status);
    }
}

fn stage_text(d: &Deployment) -> String {
    d.latest_stage
        .as_ref()
        .map_or("an unknown stage".to_owned(), |s| format!("stage {} ({})", s.name, s.status))
}

fn check_fields(
    project: &str,
    account: &str,
    expected: &BranchFields,
    state: &ProjectState,
) -> Result<(), StepError> {
    match first_difference(expected, &state.branch_fields()) {
        None => Ok(()),
        Some((field, expected, found)) => Err(StepError::NotApplied {
            project: project.to_owned(),
            account: account.to_owned(),
            field,
            expected,
            found,
        }),
    }
}

fn check_repository_kept(
    project: &str,
    account: &str,
    before: &ProjectState,
    after: &ProjectState,
) -> Result<(), StepError> {
    let pick = |s: &ProjectState| {
        let c = s.source_config.clone().unwrap_or_default();
        json!([
            s.source_type,
            c.owner,
            c.repo_name,
            c.preview_deployment_setting,
            c.production_deployments_enabled
        ])
    };
    if pick(before) == pick(after) {
        return Ok(());
    }
    Err(StepError::NotApplied {
        project: project.to_owned(),
        account: account.to_owned(),
        field: "source (type, owner, repo_name, preview_deployment_setting, production_deployments_enabled)".to_owned(),
        expected: pick(before).to_string(),
        found: pick(after).to_string(),
    })
}

/// `(field, old, new)` for each setting that differs, values shown as JSON.
fn field_changes(a: &BranchFields, b: &BranchFields) -> Vec<(String, String, String)> {
    let show = |v: serde_json::Value| {
        if v.is_null() { "(unset)".to_owned() } else { v.to_string() }
    };
    [
        ("production_branch", json!(a.production_branch), json!(b.production_branch)),
        (
            "source.config.production_branch",
            json!(a.source_production_branch),
            json!(b.source_production_branch),
        ),
        (
            "source.config.preview_branch_includes",
            json!(a.preview_branch_includes),
            json!(b.preview_branch_includes),
        ),
        (
            "source.config.preview_branch_excludes",
            json!(a.preview_branch_excludes),
            json!(b.preview_branch_excludes),
        ),
    ]
    .into_iter()
    .filter(|(_, old, new)| old != new)
    .map(|(field, old, new)| (field.to_owned(), show(old), show(new)))
    .collect()
}

/// The first setting where `found` differs from `expected`: `(field, expected, found)`.
fn first_difference(
    expected: &BranchFields,
    found: &BranchFields,
) -> Option<(String, String, String)> {
    field_changes(expected, found).into_iter().next()
}

/// Replaces exact entries `from` by `to` (once, keeping order); patterns are left alone.
fn rename_in_list(list: &Option<Vec<String>>, from: &str, to: &str) -> Option<Vec<String>> {
    let list = list.as_ref()?;
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for item in list {
        let item = if item == from { to.to_owned() } else { item.clone() };
        if !out.contains(&item) {
            out.push(item);
        }
    }
    Some(out)
}

fn pattern_notes(fields: &BranchFields, from: &str) -> Vec<String> {
    let lists = [
        ("preview_branch_includes", &fields.preview_branch_includes),
        ("preview_branch_excludes", &fields.preview_branch_excludes),
    ];
    lists
        .into_iter()
        .flat_map(|(name, list)| {
            list.iter().flatten().filter(|p| *p != from && p.contains(from)).map(move |p| {
                format!("source.config.{name} has the pattern \"{p}\", which names \"{from}\": left as it is")
            })
        })
        .collect()
}
