//! `plan`: connect to the remote once, find the branches the plan leaves unnamed, observe,
//! and compute the plan (plus the flow's `split` and `prune` plans).

use super::request::{self, Request};
use super::{Error, Kind, Notices, PlanOptions, Services};
use crate::detect::Detected;
use crate::git::remote::RemoteListing;
use crate::observe::{self, Observation};
use crate::plan::Plan;
use crate::spec::Target;

/// A plan and what it was made from.
pub struct Planned {
    pub target: Target,
    pub observation: Observation,
    pub plan: Plan,
}

/// The target once the remote is listed, the listing, and the branches found there for
/// variables that were not set.
pub type Detection = (Target, RemoteListing, Vec<Detected>);

/// Observes the repository and computes the plan the options ask for.
pub fn plan(
    repo: &git2::Repository,
    opts: &PlanOptions,
    services: &Services<'_>,
    notices: &dyn Notices,
) -> Result<Planned, Error> {
    let request = request::request(opts, Some(repo))?;
    let (target, listing, detected) = detect(repo, opts, &request, services)?;
    let (observation, mut plan) = plan_with(repo, &target, listing, services, notices)?;
    plan.notes.splice(0..0, crate::detect::note(&detected));
    if let Some(run) = &request.remembered {
        plan.notes.insert(0, format!(
            "the plan and variables of the last apply (run {run}) are used; give --plan or --set to plan another migration"
        ));
    }
    Ok(Planned { target, observation, plan })
}

/// Connects to the remote once (fetching the branches the plan reads, unless `no_fetch`)
/// and gives the variables that were not set and whose defaults are absent the branches
/// found there. Returns the final target, the listing and what was found.
pub fn detect(
    repo: &git2::Repository,
    opts: &PlanOptions,
    request: &Request,
    services: &Services<'_>,
) -> Result<Detection, Error> {
    let env = |k: &str| services.env(k);
    let target = request.target(&env)?;
    let explicit = request.explicit();
    let also = |l: &RemoteListing| crate::detect::candidates(&request.spec, &target, &explicit, l);
    let names = observe::target_names(&target);
    let listing = observe::connect(repo, &target.remote, &names, opts.no_fetch, &also)?;
    let holds =
        |tip: git2::Oid, files: &[String]| files.iter().all(|f| observe::has_file(repo, tip, f));
    let detected = crate::detect::detect(&request.spec, &target, &explicit, &listing, &holds)
        .map_err(|e| {
            let key = e.key.clone();
            Error::new(Kind::Failure, e.to_string())
                .hint(format!("name the one to use with --set {key}=NAME"))
        })?;
    if detected.is_empty() {
        return Ok((target, listing, detected));
    }
    let mut sets = request.sets.clone();
    sets.extend(detected.iter().map(|d| (d.key.clone(), d.value.clone())));
    let detected_request = Request { sets, ..request.clone() };
    Ok((detected_request.target(&env)?, listing, detected))
}

/// Observes the repository (its remote as `listing` shows it) and computes the plan for a
/// given target.
pub fn plan_with(
    repo: &git2::Repository,
    target: &Target,
    listing: RemoteListing,
    services: &Services<'_>,
    notices: &dyn Notices,
) -> Result<(Observation, Plan), Error> {
    let target = target.clone();
    let fetch_warnings = listing.warnings.clone();
    let mut obs = observe::observe(repo, &target, listing)?;
    obs.services = services.contributions(&target, &obs, notices)?;
    let mut plan = crate::plan::build(&target, &obs, repo)?;
    plan.warnings.extend(fetch_warnings);
    if let Some(hint) = services.suggest(&target, &obs, notices) {
        plan.warnings.push(hint);
    }
    Ok((obs, plan))
}

/// Which of the per-chart flow's plans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// A branch per chart changed on integration.
    Split,
    /// Delete the chart branches whose change is on main.
    Prune,
}

/// Plans `split` or `prune` for the migration the options name (the last run's unless
/// given). Returns the plan and the listing it was made from.
pub fn plan_flow(
    repo: &git2::Repository,
    opts: &PlanOptions,
    services: &Services<'_>,
    which: Flow,
) -> Result<(Plan, RemoteListing), Error> {
    let target = request::request(opts, Some(repo))?.target(&|k| services.env(k))?;
    let cfg = crate::flow::FlowConfig::of(&target)?;
    let obs = crate::flow::observe::observe(repo, &cfg, opts.no_fetch)?;
    let plan = match which {
        Flow::Split => {
            let plan = crate::flow::split(&cfg, &obs)?;
            with_chart_reviews(plan, &target, &obs.remote_url, &cfg.main, services)?
        }
        Flow::Prune => crate::flow::prune(&cfg, &obs)?,
    };
    Ok((plan, obs.listing))
}

/// On GitHub, each chart branch the split creates or moves gets a pull request into
/// `main`, opened right after its push (the ADR's `integration → chart → main`).
fn with_chart_reviews(
    mut plan: Plan,
    target: &Target,
    remote_url: &str,
    main: &str,
    services: &Services<'_>,
) -> Result<Plan, Error> {
    use crate::plan::{Action, Step};
    let charts: Vec<(String, String)> = plan
        .actions
        .iter()
        .filter_map(|s| match &s.action {
            Action::ChartCommit(c) => Some((c.branch.clone(), c.chart.clone())),
            _ => None,
        })
        .collect();
    let remote = plan.repository.remote.clone();
    let (reviews, warnings) =
        crate::github::setup::chart_reviews(target, &remote, remote_url, main, &charts, &|k| {
            services.env(k)
        })
        .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
    plan.warnings.extend(warnings);
    if reviews.is_empty() {
        return Ok(plan);
    }
    let mut actions = Vec::new();
    for step in std::mem::take(&mut plan.actions) {
        let branch = match &step.action {
            Action::ChartCommit(c) => Some(c.branch.clone()),
            _ => None,
        };
        actions.push(step.action);
        if let Some(review) = reviews.iter().find(|r| Some(&r.needs[0]) == branch.as_ref()) {
            actions.push(Action::Setting(Box::new(review.clone())));
        }
    }
    plan.actions = actions
        .into_iter()
        .enumerate()
        .map(|(i, action)| Step { id: i + 1, summary: action.summary(), action })
        .collect();
    Ok(plan)
}
