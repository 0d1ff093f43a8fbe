//! The hosted services an operation talks to besides git, set up from the environment:
//! Cloudflare Pages (the hosting whose production branch a plan switches) and GitHub (the
//! forge whose pull requests, protection, rulesets, Pages site and review gate follow the
//! migration). Both take part through the [`crate::service`] seam: here each is read for a
//! plan (its [`Contribution`]), opened as a [`Service`] for an apply, a rollback or a saved
//! plan's check, and asked for hints. Another provider is added in its own module and here.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Env, Error, Kind, Notices, Progress};
use crate::cloudflare::{Config, ConfigError, PagesClient, PagesService, PollOptions};
use crate::exec::effects::GitEffects;
use crate::http::{ReqwestTransport, TransportOptions};
use crate::observe::Observation;
use crate::plan::{Action, Plan};
use crate::service::{Contribution, Service};
use crate::spec::Target;

/// A service opened for a run, with the name its settings carry.
type Opened = (String, Box<dyn Service>);

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

    /// What the hosted services bring to the plan, read for `target` given the repository
    /// as observed: the Pages project the target names, then GitHub; and, when neither
    /// moves the site that serves the renamed branch, the warning that says so.
    pub fn contributions(
        &self,
        target: &Target,
        obs: &Observation,
        notices: &dyn Notices,
    ) -> Result<Vec<Contribution>, Error> {
        let mut out = Vec::new();
        if let Some(pages) = target.pages.as_ref().filter(|p| !p.project.is_empty()) {
            let client = self.pages_client(&pages.project, &pages.account_id, notices)?;
            let state = crate::cloudflare::observe(&client, &pages.project)
                .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
            let renames: Vec<(String, String)> =
                target.renames().map(|(a, b)| (a.to_string(), b.to_string())).collect();
            let url = Some(pages.helm_repo_url.as_str()).filter(|u| !u.is_empty());
            out.push(crate::cloudflare::contribution(&state, &renames, &target.remote, url));
        }
        let github = crate::github::setup::observe(target, obs, &|k| self.env(k))
            .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
        out.extend(github);
        out.extend(unhosted(target, obs, &out));
        Ok(out)
    }

    /// `fx` with the hosted services whose settings `plans` change, for an apply or a
    /// rollback; deployment polls go to `progress`.
    pub fn with_services<'r>(
        &self,
        mut fx: GitEffects<'r>,
        plans: &[&Plan],
        progress: &dyn Progress,
    ) -> Result<GitEffects<'r>, Error> {
        for (name, service) in self.open(plans, progress, &|| progress.polls())? {
            fx = fx.with_service(&name, service);
        }
        Ok(fx)
    }

    /// The live values of the settings a saved plan recorded, by
    /// [`crate::observe::setting_key`], for its check before it runs.
    pub fn read_settings(
        &self,
        plan: &Plan,
        notices: &dyn Notices,
    ) -> Result<BTreeMap<String, Option<String>>, Error> {
        let mut services: BTreeMap<String, Box<dyn Service>> = self
            .open(&[plan], notices, &|| Box::new(crate::service::NoPolls))?
            .into_iter()
            .collect();
        let mut out = BTreeMap::new();
        for step in &plan.actions {
            let Action::Setting(change) = &step.action else { continue };
            let key = crate::observe::setting_key(change);
            if change.back || !plan.observed.refs.contains_key(&key) {
                continue;
            }
            let Some(service) = services.get_mut(&change.service) else {
                return Err(Error::new(
                    Kind::Failure,
                    format!(
                        "the plan changes {} ({}), but no {} API access is set up",
                        change.label, change.scope, change.service
                    ),
                )
                .hint("give the token the plan was made with (see README, Environment), then apply the plan again"));
            };
            let live = service.read(change).map_err(|e| Error::new(Kind::Failure, e.message))?;
            out.insert(key, Some(live.to_string()));
        }
        Ok(out)
    }

    /// The services the settings of `plans` belong to, opened with access from the
    /// environment.
    fn open(
        &self,
        plans: &[&Plan],
        notices: &dyn Notices,
        polls: &dyn Fn() -> Box<dyn crate::service::Polls>,
    ) -> Result<Vec<Opened>, Error> {
        let mut out: Vec<Opened> = Vec::new();
        let settings = plans.iter().flat_map(|p| &p.actions).filter_map(|s| match &s.action {
            Action::Setting(c) => Some(c),
            _ => None,
        });
        if let Some(c) = settings.clone().find(|c| c.service == crate::cloudflare::SERVICE) {
            let record = crate::cloudflare::Record::of(c)
                .map_err(|e| Error::new(Kind::Failure, e.message))?;
            let client = self.pages_client(&c.scope, &record.account_id, notices)?;
            let mut poll = PollOptions::default();
            if let Some(ms) = self.env("REBRANCH_PAGES_POLL_MS").and_then(|v| v.parse().ok()) {
                poll.interval = Duration::from_millis(ms);
            }
            let service = PagesService::new(client, poll, polls());
            out.push((crate::cloudflare::SERVICE.to_string(), Box::new(service)));
        }
        for plan in plans {
            let service = crate::github::setup::service(plan, &|k| self.env(k))
                .map_err(|e| Error::new(Kind::Failure, e.to_string()))?;
            if let Some(service) = service {
                out.push((crate::github::forge::SERVICE.to_string(), Box::new(service)));
                break;
            }
        }
        Ok(out)
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

/// When the target has a `[pages]` section naming no project and no service moves the site
/// that serves the renamed branch: the warning that the hosting must follow some other way
/// (and, on GitHub without a `[github]` section, what deleting the old branch does).
fn unhosted(target: &Target, obs: &Observation, found: &[Contribution]) -> Option<Contribution> {
    let pages = target.pages.as_ref()?;
    let hosted = found.iter().flat_map(|c| &c.changes).any(|(_, c)| c.serves.is_some());
    if !pages.project.is_empty() || hosted {
        return None;
    }
    let mut warnings = vec![
        "no cloudflare.project set: the Pages step is left out, so the hosting must follow the rename some other way (set it with --set cloudflare.project=NAME)".to_string(),
    ];
    if let Some(slug) =
        crate::observe::ci::github_slug(&obs.remote_url).filter(|_| found.is_empty())
    {
        for (old, new) in target.renames() {
            warnings.push(format!(
                "{slug} is on GitHub: if GitHub Pages serves `{old}`, the site (and the Helm repository behind it) is down from the moment `{old}` is deleted until Settings → Pages is switched to `{new}`; add a [github] section to the plan file (as the built-in plan has) to switch it"
            ));
        }
    }
    Some(Contribution {
        service: crate::cloudflare::SERVICE.to_string(),
        warnings,
        ..Contribution::default()
    })
}
