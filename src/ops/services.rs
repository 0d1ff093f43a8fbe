//! The providers an operation talks to besides git, set up from the environment: the
//! Cloudflare Pages API (the hosting whose production branch a plan switches) and GitHub
//! (the forge whose pull requests, protection, rulesets, Pages site and review gate follow
//! the migration, through the [`crate::service`] seam). Observing them for a plan, the
//! access an apply or rollback needs, and the project suggestion are all here, so that
//! another provider is added in this file.

use std::time::Duration;

use super::{Env, Error, Kind, Notices, Progress};
use crate::cloudflare::{Config, ConfigError, PagesClient, PollOptions, ProjectState};
use crate::exec::effects::{GitEffects, PagesAccess};
use crate::http::{ReqwestTransport, TransportOptions};
use crate::observe::Observation;
use crate::plan::{Action, Plan};
use crate::spec::Target;

/// The providers, configured from an environment lookup.
#[derive(Clone, Copy)]
pub struct Services<'a> {
    env: Env<'a>,
}

impl<'a> Services<'a> {
    pub fn new(env: Env<'a>) -> Services<'a> {
        Services { env }
    }

    /// An environment variable, as the services see it.
    pub fn env(&self, key: &str) -> Option<String> {
        (self.env)(key)
    }

    /// Reads the Pages project `target` names, if any.
    pub fn observe(
        &self,
        target: &Target,
        notices: &dyn Notices,
    ) -> Result<Option<ProjectState>, Error> {
        let Some(pages) = target.pages.as_ref().filter(|p| !p.project.is_empty()) else {
            return Ok(None);
        };
        let client = self.pages_client(&pages.project, &pages.account_id, notices)?;
        let state = crate::cloudflare::observe(&client, &pages.project)
            .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
        Ok(Some(state))
    }

    /// What the hosted services (GitHub) bring to the plan, read for `target` given the
    /// repository as observed.
    pub fn contributions(
        &self,
        target: &Target,
        obs: &Observation,
    ) -> Result<Vec<crate::service::Contribution>, Error> {
        let github = crate::github::setup::observe(target, obs, &|k| self.env(k))
            .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
        Ok(github.into_iter().collect())
    }

    /// `fx` with the hosted services whose settings `plans` change, for an apply or a
    /// rollback.
    pub fn with_services<'r>(
        &self,
        fx: GitEffects<'r>,
        plans: &[&Plan],
    ) -> Result<GitEffects<'r>, Error> {
        for plan in plans {
            let service = crate::github::setup::service(plan, &|k| self.env(k))
                .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
            if let Some(service) = service {
                return Ok(fx.with_service(crate::github::forge::SERVICE, Box::new(service)));
            }
        }
        Ok(fx)
    }

    /// Reads, as it is now, the Pages project a plan switches (a saved plan's drift check).
    pub fn observe_plan(
        &self,
        plan: &Plan,
        notices: &dyn Notices,
    ) -> Result<Option<ProjectState>, Error> {
        let Some(switch) = pages_switch(plan) else { return Ok(None) };
        let client = self.pages_client(&switch.project, &switch.account_id, notices)?;
        let state = crate::cloudflare::observe(&client, &switch.project)
            .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
        Ok(Some(state))
    }

    /// Everything a plan's Pages step needs at apply or rollback time, with deployment
    /// polls going to `progress`.
    pub fn access(
        &self,
        plan: &Plan,
        progress: &dyn Progress,
    ) -> Result<Option<PagesAccess>, Error> {
        let Some(switch) = pages_switch(plan) else { return Ok(None) };
        let client = self.pages_client(&switch.project, &switch.account_id, progress)?;
        let mut poll = PollOptions::default();
        if let Some(ms) = self.env("REBRANCH_PAGES_POLL_MS").and_then(|v| v.parse().ok()) {
            poll.interval = Duration::from_millis(ms);
        }
        Ok(Some(PagesAccess { client, poll, progress: progress.deployments() }))
    }

    /// When no Pages project is named but the API is reachable, the projects of the account
    /// whose git source is this repository, as a hint.
    pub fn suggest(
        &self,
        target: &Target,
        obs: &Observation,
        notices: &dyn Notices,
    ) -> Option<String> {
        let pages = target.pages.as_ref().filter(|p| p.project.is_empty())?;
        self.env("CLOUDFLARE_API_TOKEN").filter(|t| !t.is_empty())?;
        let slug = crate::observe::ci::github_slug(&obs.remote_url)?;
        let (owner, name) = slug.split_once('/')?;
        let client = self.pages_client("(any)", &pages.account_id, notices).ok()?;
        let found = crate::cloudflare::projects_for_repository(&client, owner, name).ok()?;
        match found.as_slice() {
            [] => None,
            [one] => Some(format!(
                "Pages project \"{one}\" in this account builds from {slug}: to switch it too, run with --set cloudflare.project={one}"
            )),
            many => Some(format!(
                "Pages projects building from {slug} in this account: {}; name the one that serves the Helm index with --set cloudflare.project=NAME",
                many.join(", ")
            )),
        }
    }

    /// The names of the Pages projects in `account` (empty when they cannot be listed).
    pub fn projects(&self, account: &str, notices: &dyn Notices) -> Vec<String> {
        self.pages_client("(any)", account, notices)
            .ok()
            .and_then(|c| c.list_projects().ok())
            .map(|ps| ps.into_iter().map(|p| p.name).collect())
            .unwrap_or_default()
    }

    /// A Pages API client for `project` in `account` (empty: from the environment).
    fn pages_client(
        &self,
        project: &str,
        account: &str,
        notices: &dyn Notices,
    ) -> Result<PagesClient<ReqwestTransport>, Error> {
        let pages_err = |e: ConfigError| {
            Error::new(Kind::Failure, e.to_string())
                .cause(format!("the plan switches Pages project \"{project}\""))
        };
        let mut config = Config::from_env(|k| self.env(k)).map_err(pages_err)?;
        if !account.is_empty() {
            config.account_id = Some(account.to_string());
        }
        config.require_account().map_err(pages_err)?;
        for w in &config.warnings {
            notices.warn(w);
        }
        let millis =
            |key: &str| self.env(key).and_then(|v| v.parse().ok()).map(Duration::from_millis);
        let mut options = TransportOptions::default();
        if let Some(t) = millis("REBRANCH_HTTP_TIMEOUT_MS") {
            options.timeout = t;
            options.connect_timeout = options.connect_timeout.min(t);
        }
        let transport = ReqwestTransport::new(options).map_err(|e| {
            Error::new(Kind::Failure, format!("cannot set up HTTPS: {}", e.message))
        })?;
        let client = PagesClient::new(transport, &config).map_err(pages_err)?;
        Ok(match millis("REBRANCH_API_DEADLINE_MS") {
            Some(deadline) => {
                let policy = crate::cloudflare::RetryPolicy { deadline, ..*client.policy() };
                client.with_retry_policy(policy)
            }
            None => client,
        })
    }
}

/// The Pages switch a plan makes, if any.
fn pages_switch(plan: &Plan) -> Option<&crate::cloudflare::SwitchPlan> {
    plan.actions.iter().find_map(|s| match &s.action {
        Action::Pages(p) => Some(&p.switch),
        _ => None,
    })
}
