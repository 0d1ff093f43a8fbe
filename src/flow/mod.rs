//! The ADR's living flow after the migration, `feature/* → integration → <chart branch> →
//! main`: each chart's change on `integration` moves to `main` on a branch of its own
//! (`rebranch split`), and that branch goes once its change is on `main` (`rebranch prune`).
//!
//! Both are pure planners over a [`FlowObservation`] that yield the same [`Plan`]s and
//! [`Action`]s as a migration, so rendering, JSON, the journal, compare-and-swap pushes and
//! rollback are shared: a split is a [`ChartCommit`] per chart (the commit id computed here),
//! a prune a [`RemoteBranch`] delete per merged branch. [`health`] is what `status` says
//! about the flow.
//!
//! Pull requests are not opened here: there is no forge client yet. The seam is the split
//! plan itself: each [`ChartCommit`] names its branch, chart and `main`, which is what a
//! forge step ("open or reuse a pull request from the branch to `main`") needs.

pub mod naming;
pub mod observe;
pub mod tree;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};

use git2::Oid;

pub use observe::{Chart, ChartBranch, FlowObservation};

use crate::plan::action::{Action, ChartCommit, Identity, RemoteBranch};
use crate::plan::{
    FORMAT_VERSION, Plan, PlanError, PlanInfo, RefFingerprint, RepositoryInfo, Step,
};
use crate::spec::Target;
use naming::Pattern;

/// The flow's names, from a plan's target.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowConfig {
    pub remote: String,
    pub main: String,
    pub integration: String,
    pub pattern: Pattern,
    /// Branches the plan creates, keeps or renames (`main`, `integration`, `release`,
    /// `charts`, …): never a chart branch, whatever the pattern.
    pub planned: BTreeSet<String>,
    pub plan_name: String,
    pub plan_source: String,
    pub variables: BTreeMap<String, String>,
}

impl FlowConfig {
    /// The flow of a migration plan: its stable branch, the branch it creates from it, and
    /// its `chart_branch` pattern (the default when the plan has none).
    pub fn of(target: &Target) -> Result<FlowConfig, PlanError> {
        let main = target.existing().next().unwrap_or("main").to_string();
        let integration = target
            .creations()
            .find(|(_, src)| *src == main)
            .map_or("integration".to_string(), |(new, _)| new.to_string());
        let text =
            target.variables.get("chart_branch").map_or(naming::DEFAULT_PATTERN, String::as_str);
        Ok(FlowConfig {
            remote: target.remote.clone(),
            main,
            integration,
            pattern: Pattern::parse(text)?,
            planned: target
                .branches
                .iter()
                .map(|b| b.name.clone())
                .chain(target.renames().map(|(old, _)| old.to_string()))
                .collect(),
            plan_name: target.plan_name.clone(),
            plan_source: target.plan_source.clone(),
            variables: target.variables.clone(),
        })
    }
}

/// The split: a branch per chart whose directory differs between `integration` and `main`,
/// holding exactly `main` plus that directory as on `integration`.
pub fn split(cfg: &FlowConfig, obs: &FlowObservation) -> Result<Plan, PlanError> {
    let names = observe::all_names(obs, &cfg.planned);
    cfg.pattern.check_clash(&names)?;
    let Some(source) = obs.integration_tip else {
        return Err(PlanError {
            message: format!("remote `{}` has no branch `{}`", obs.remote, cfg.integration),
            hint: "the flow starts after the migration: run `rebranch apply` first".to_string(),
        });
    };
    let changed: Vec<&Chart> =
        obs.charts.iter().filter(|c| c.on_main != c.on_integration).collect();
    let branches = chart_branches(cfg, &changed, &names)?;
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    for (chart, branch) in changed.iter().zip(branches) {
        match split_one(cfg, obs, chart, &branch, source)? {
            Split::Commit(c) => actions.push(Action::ChartCommit(c)),
            Split::UpToDate => {}
            Split::Kept(why) => notes.push(why),
        }
    }
    Ok(flow_plan(cfg, obs, "split", actions, notes))
}

/// The prune: deletes each chart branch whose change is on `main`; keeps the others, and
/// says why.
pub fn prune(cfg: &FlowConfig, obs: &FlowObservation) -> Result<Plan, PlanError> {
    let mut actions = Vec::new();
    let mut notes = Vec::new();
    for (name, b) in obs.branches.iter().filter(|(n, _)| !cfg.planned.contains(*n)) {
        if b.unmerged.is_empty() {
            let why = format!("chart {}: its change is on {}", b.chart, cfg.main);
            actions.push(Action::RemoteBranch(RemoteBranch {
                remote: obs.remote.clone(),
                branch: name.clone(),
                from: Some(b.tip.to_string()),
                to: None,
                kept_by: None,
                kept_files: Vec::new(),
                why,
            }));
        } else {
            notes.push(format!("kept `{name}`: {}", unmerged_reason(cfg, b)));
        }
    }
    Ok(flow_plan(cfg, obs, "prune", actions, notes))
}

/// Whether a plan is one of the flow's (`split`, `prune`) rather than a migration.
pub fn is_flow_plan(plan: &Plan) -> bool {
    plan.actions.iter().any(|s| matches!(s.action, Action::ChartCommit(_)))
        || [" split", " prune"].iter().any(|k| plan.plan.name.ends_with(k))
}

/// One finding of `status` about the flow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub branch: String,
    pub problem: String,
}

/// What is wrong with the chart branches: stale (behind `main`), merged but not pruned,
/// or named against the pattern.
pub fn health(cfg: &FlowConfig, obs: &FlowObservation) -> Vec<Finding> {
    let charts: BTreeSet<&str> = obs.charts.iter().map(|c| c.name.as_str()).collect();
    let mut out = Vec::new();
    let mut add = |branch: &str, problem: String| {
        out.push(Finding { branch: branch.to_string(), problem });
    };
    for (name, b) in &obs.branches {
        if !charts.contains(b.chart.as_str()) {
            add(
                name,
                format!(
                    "named for no chart: there is no chart `{}` under {}",
                    b.chart,
                    obs.chart_dirs.join(", ")
                ),
            );
            continue;
        }
        if b.unmerged.is_empty() {
            add(
                name,
                format!(
                    "merged but not pruned: its change is on {}; `rebranch prune` deletes it",
                    cfg.main
                ),
            );
        } else if !b.descends_from_main {
            add(
                name,
                format!(
                    "stale: behind {} (it does not contain {}'s tip); `rebranch split` rebuilds it",
                    cfg.main, cfg.main
                ),
            );
        }
    }
    for name in obs.heads.keys() {
        if cfg.pattern.chart_of(name).is_some() || cfg.planned.contains(name) {
            continue;
        }
        // Only names that read as a chart branch: `integration/x`, `chart-x`, `charts_x`, …
        // (a `feature/x` is someone's work on chart x, not its branch).
        let prefixes = [cfg.integration.as_str(), "chart", "charts"];
        let per_chart = charts.iter().find(|c| {
            name.strip_suffix(**c)
                .and_then(|rest| rest.strip_suffix(['/', '-', '_']))
                .is_some_and(|p| prefixes.contains(&p))
        });
        if let Some(chart) = per_chart {
            add(
                name,
                format!(
                    "named against the pattern: chart {chart}'s branch is `{}`",
                    cfg.pattern.branch(chart)
                ),
            );
        }
    }
    out
}

/// A pull request a forge step would open (or reuse) for a split branch.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PullRequest {
    pub head: String,
    pub base: String,
    pub title: String,
}

/// The pull requests the split plan calls for, one per chart branch it pushes: the seam a
/// forge provider (GitHub) plugs into once there is a client; nothing opens them yet.
pub fn pull_requests(cfg: &FlowConfig, plan: &Plan) -> Vec<PullRequest> {
    plan.actions
        .iter()
        .filter_map(|s| match &s.action {
            Action::ChartCommit(c) => Some(PullRequest {
                head: c.branch.clone(),
                base: cfg.main.clone(),
                title: format!("{}: {} from {}", c.branch, c.chart, cfg.integration),
            }),
            _ => None,
        })
        .collect()
}

enum Split {
    Commit(Box<ChartCommit>),
    UpToDate,
    Kept(String),
}

fn split_one(
    cfg: &FlowConfig,
    obs: &FlowObservation,
    chart: &Chart,
    branch: &str,
    source: Oid,
) -> Result<Split, PlanError> {
    let tree =
        tree::with_dir(&obs.main_trees, &chart.path, chart.on_integration).map_err(hash_err)?;
    let existing = obs.branches.get(branch);
    let parent = match existing {
        Some(b) if !b.foreign.is_empty() => {
            return Ok(Split::Kept(format!(
                "kept `{branch}` as it is: it has commits `split` did not make ({}); merge them into {} or delete the branch, then split again",
                b.foreign.iter().take(3).cloned().collect::<Vec<_>>().join("; "),
                cfg.integration
            )));
        }
        Some(b) if b.descends_from_main && b.tree == tree => return Ok(Split::UpToDate),
        Some(b) if b.descends_from_main => b.tip,
        _ => obs.main_tip,
    };
    let (name, email) = obs.identity.clone().ok_or_else(|| PlanError {
        message:
            "a chart branch's commit needs an author, and git has no user.name or user.email here"
                .to_string(),
        hint: "set them with `git config user.name \"…\"` and `git config user.email …`"
            .to_string(),
    })?;
    let author = Identity { name, email, time: obs.now };
    let message = format!(
        "chart {}: from {} {}\n\n{} as on {} at {source},\non top of {} at {}.\n\n{} {}\n",
        chart.name,
        cfg.integration,
        crate::git::short(source),
        chart.path,
        cfg.integration,
        cfg.main,
        obs.main_tip,
        observe::TRAILER,
        chart.name
    );
    let commit = crate::plan::rewrite::commit_id(tree, parent, &author, &message)?;
    Ok(Split::Commit(Box::new(ChartCommit {
        remote: obs.remote.clone(),
        branch: branch.to_string(),
        chart: chart.name.clone(),
        path: chart.path.clone(),
        from: existing.map(|b| b.tip.to_string()),
        parent: parent.to_string(),
        base: obs.main_tip.to_string(),
        source: source.to_string(),
        chart_tree: chart.on_integration.map(|o| o.to_string()),
        tree: tree.to_string(),
        commit: commit.to_string(),
        author,
        message,
        files: chart.files.clone(),
    })))
}

/// Each changed chart's branch, or a refusal naming every chart that cannot have one.
fn chart_branches(
    cfg: &FlowConfig,
    changed: &[&Chart],
    names: &BTreeSet<String>,
) -> Result<Vec<String>, PlanError> {
    let mut problems = Vec::new();
    let mut branches = Vec::new();
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for chart in changed {
        match cfg.pattern.branch_for(&chart.name) {
            Err(why) => problems.push(format!("{why} ({})", chart.path)),
            Ok(branch) if cfg.planned.contains(&branch) => problems.push(format!(
                "chart {}'s branch would be `{branch}`, a branch of the plan itself",
                chart.name
            )),
            Ok(branch) => {
                if let Some(other) = seen.insert(branch.clone(), &chart.path) {
                    problems.push(format!(
                        "{other} and {} would both use branch `{branch}`",
                        chart.path
                    ));
                }
                if let Some(b) = naming::ref_conflict(&branch, names) {
                    problems.push(format!("chart {}'s branch `{branch}` cannot exist beside branch `{b}` (git keeps one inside the other's name)", chart.name));
                }
                branches.push(branch);
            }
        }
    }
    if problems.is_empty() {
        return Ok(branches);
    }
    Err(PlanError {
        message: format!("refused: {}; nothing was changed", problems.join("; ")),
        hint: "rename the chart's directory, or choose another pattern with --set chart_branch=…"
            .to_string(),
    })
}

fn unmerged_reason(cfg: &FlowConfig, b: &ChartBranch) -> String {
    let mut paths: Vec<String> = b.unmerged.iter().take(3).cloned().collect();
    if b.unmerged.len() > 3 {
        paths.push(format!("and {} more", b.unmerged.len() - 3));
    }
    let mut why =
        format!("unmerged work: {} (as on the branch, not on {})", paths.join(", "), cfg.main);
    if !b.foreign.is_empty() {
        why.push_str(&format!(
            "; commits `split` did not make: {}",
            b.foreign.iter().take(3).cloned().collect::<Vec<_>>().join("; ")
        ));
    }
    why
}

fn flow_plan(
    cfg: &FlowConfig,
    obs: &FlowObservation,
    name: &str,
    actions: Vec<Action>,
    notes: Vec<String>,
) -> Plan {
    let mut refs = BTreeMap::new();
    let mut watch: Vec<&String> = vec![&cfg.main, &cfg.integration];
    watch.extend(obs.branches.keys());
    for n in watch {
        refs.insert(format!("remote {n}"), obs.heads.get(n).map(Oid::to_string));
    }
    for a in &actions {
        if let Action::ChartCommit(c) = a {
            refs.insert(format!("remote {}", c.branch), c.from.clone());
        }
    }
    Plan {
        format_version: FORMAT_VERSION,
        plan: PlanInfo {
            name: format!("{} {name}", cfg.plan_name),
            source: cfg.plan_source.clone(),
        },
        repository: RepositoryInfo {
            path: obs.workdir.display().to_string(),
            remote: obs.remote.clone(),
            remote_url: obs.remote_url.clone(),
        },
        variables: cfg.variables.clone(),
        observed: RefFingerprint::new(refs),
        actions: actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| Step { id: i + 1, summary: action.summary(), action })
            .collect(),
        warnings: Vec::new(),
        notes,
        reviews: Vec::new(),
        not_covered: Vec::new(),
    }
}

fn hash_err(e: git2::Error) -> PlanError {
    PlanError {
        message: format!("cannot compute a chart branch's tree: {}", e.message()),
        hint: String::new(),
    }
}

#[cfg(test)]
mod tests;
