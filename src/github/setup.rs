//! Wiring GitHub into a command: which repository, the client from the environment, what
//! the plan asks of it, and the service an apply or rollback writes through.

use std::time::Duration;

use super::forge::{self, Wants};
use super::service::{BuildWait, GitHubService};
use super::{Config, ConfigError, GitHub, Pace};
use crate::http::{ReqwestTransport, TransportOptions};
use crate::observe::Observation;
use crate::plan::{Action, Plan};
use crate::service::Contribution;
use crate::spec::Target;

/// Why GitHub could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot set up HTTPS for the GitHub API: {0}")]
    Transport(String),
}

/// A client for the repository the target names (or its remote's URL says), when it is on
/// GitHub and the plan file has a `[github]` section.
pub fn client(
    target: &Target,
    remote_url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<GitHub<ReqwestTransport>>, SetupError> {
    let Some(def) = &target.github else { return Ok(None) };
    let repository = Some(def.repository.as_str()).filter(|r| !r.is_empty());
    connect(remote_url, repository, env)
}

/// A paced client for `repository` (or the one `remote_url` names), from the environment;
/// `None` when it is not on GitHub.
fn connect(
    remote_url: &str,
    repository: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<GitHub<ReqwestTransport>>, SetupError> {
    let Some(config) = Config::from_env(Some(remote_url), repository, env)? else {
        return Ok(None);
    };
    Ok(Some(GitHub::new(transport(env)?, config).with_shared_pace(pace(env))))
}

/// What the plan asks of GitHub, given what the remote holds.
pub fn wants(target: &Target, obs: &Observation) -> Wants {
    let heads = &obs.remote_heads;
    let renames: Vec<(String, String)> = target
        .renames()
        .filter(|(old, _)| heads.contains_key(*old))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let has_index = renames
        .iter()
        .filter(|(old, _)| {
            heads.get(old).is_some_and(|tip| obs.files.contains(&(*tip, "index.yaml".to_string())))
        })
        .map(|(old, _)| old.clone())
        .collect();
    Wants {
        remote: obs.remote.clone(),
        renames,
        created: target.creations().map(|(b, _)| b.to_string()).collect(),
        ci_branch: target.rewrite.as_ref().map(|r| r.commit_on.clone()),
        ci_title: target
            .rewrite
            .as_ref()
            .map(|r| r.message.lines().next().unwrap_or_default().to_string())
            .unwrap_or_default(),
        approvals: target.github.as_ref().map_or(0, |g| g.integration_approvals),
        leave_pages: target.github.as_ref().is_some_and(|g| g.leave_pages),
        helm_repo_url: target
            .pages
            .as_ref()
            .map(|p| p.helm_repo_url.clone())
            .filter(|u| !u.is_empty()),
        remote_heads: heads.keys().cloned().collect(),
        has_index,
    }
}

/// Reads GitHub for the plan: `None` when the repository is not on GitHub.
pub fn observe(
    target: &Target,
    obs: &Observation,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Contribution>, SetupError> {
    let Some(gh) = client(target, &obs.remote_url, env)? else { return Ok(None) };
    let wants = wants(target, obs);
    let mut seen = forge::read(&gh, &wants);
    seen.token = gh.config().token_source.map(str::to_string);
    Ok(Some(forge::contribution(&seen, &wants)))
}

/// The pull requests `split` opens for the chart branches it creates or moves, `(branch,
/// chart)`, into `base`; none when the repository is not on GitHub, and none for a chart
/// branch that has an open pull request already or when the token cannot list them.
pub fn chart_reviews(
    target: &Target,
    remote: &str,
    remote_url: &str,
    base: &str,
    charts: &[(String, String)],
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(Vec<crate::service::SettingChange>, Vec<String>), SetupError> {
    let Some(gh) = client(target, remote_url, env)? else { return Ok((Vec::new(), Vec::new())) };
    if gh.config().token.is_none() || charts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut open = std::collections::BTreeSet::new();
    for (branch, _) in charts {
        match gh.open_pulls(Some(base), Some(branch)) {
            Ok(pulls) if !pulls.is_empty() => {
                open.insert(branch.clone());
            }
            Ok(_) => {}
            Err(e) => {
                let warning = format!(
                    "GitHub {}: cannot list the pull requests of `{branch}` ({e}); no pull request is opened for the chart branches",
                    gh.repository_name()
                );
                return Ok((Vec::new(), vec![warning]));
            }
        }
    }
    let repository = gh.repository_name().to_string();
    Ok((forge::chart_reviews(&repository, remote, base, charts, &open), Vec::new()))
}

/// The service an apply or rollback of `plan` writes GitHub settings through, when the
/// plan has any (for the repository they name).
pub fn service(
    plan: &Plan,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<GitHubService<ReqwestTransport>>, SetupError> {
    let scope = plan.actions.iter().find_map(|s| match &s.action {
        Action::Setting(c) if c.service == forge::SERVICE => Some(c.scope.clone()),
        _ => None,
    });
    let Some(scope) = scope else { return Ok(None) };
    let Some(gh) = connect(&plan.repository.remote_url, Some(&scope), env)? else {
        return Ok(None);
    };
    let mut wait = BuildWait::default();
    if let Some(ms) = env("REBRANCH_PAGES_POLL_MS").and_then(|v| v.parse().ok()) {
        wait.interval = Duration::from_millis(ms);
    }
    Ok(Some(GitHubService::new(gh, wait)))
}

/// The pace: `REBRANCH_GITHUB_MUTATION_GAP_MS` between changes (default 1000),
/// `REBRANCH_GITHUB_RESERVE` requests of the token's hour left for others (default 100).
fn pace(env: &dyn Fn(&str) -> Option<String>) -> Pace {
    let mut pace = Pace::default();
    if let Some(ms) = env("REBRANCH_GITHUB_MUTATION_GAP_MS").and_then(|v| v.parse().ok()) {
        pace.mutation_gap = Duration::from_millis(ms);
    }
    if let Some(n) = env("REBRANCH_GITHUB_RESERVE").and_then(|v| v.parse().ok()) {
        pace.reserve = n;
    }
    pace
}

fn transport(env: &dyn Fn(&str) -> Option<String>) -> Result<ReqwestTransport, SetupError> {
    let mut options = TransportOptions::default();
    if let Some(ms) = env("REBRANCH_HTTP_TIMEOUT_MS").and_then(|v| v.parse().ok()) {
        options.timeout = Duration::from_millis(ms);
        options.connect_timeout = options.connect_timeout.min(options.timeout);
    }
    ReqwestTransport::new(options).map_err(|e| SetupError::Transport(e.message))
}
