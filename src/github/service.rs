//! [`GitHubService`]: the settings [`super::forge`] plans, read and written through the
//! API. Values are read in the shape the plan holds them; a value GitHub reads back with
//! defaults filled in counts as the planned one when it holds everything the plan says
//! ([`super::forge::holds`]).

use std::time::Duration;

use serde_json::{Value, json};

use super::forge::holds;
use super::{ApiError, GitHub};
use crate::http::Transport;
use crate::service::{Service, ServiceError, SettingChange};

/// How long a Pages build is waited for after its source moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildWait {
    pub interval: Duration,
    pub attempts: u32,
}

impl Default for BuildWait {
    fn default() -> Self {
        Self { interval: Duration::from_secs(2), attempts: 90 }
    }
}

/// The GitHub settings of one repository.
pub struct GitHubService<T: Transport> {
    gh: GitHub<T>,
    wait: BuildWait,
}

impl<T: Transport> GitHubService<T> {
    pub fn new(gh: GitHub<T>, wait: BuildWait) -> Self {
        Self { gh, wait }
    }
}

/// For a Pages source change that waits for its build (`then`): the branch built.
fn built_from(change: &SettingChange) -> Option<&str> {
    (change.key == "pages/source" && change.then.is_some())
        .then(|| change.to.get("branch").and_then(Value::as_str))
        .flatten()
}

/// The setting a key names.
enum Key<'a> {
    PullBase(u64),
    /// An open pull request from this branch.
    PullFrom(&'a str),
    Protection(&'a str),
    Ruleset(u64),
    NamedRuleset(&'a str),
    PagesSource,
}

fn parse(key: &str) -> Result<Key<'_>, ApiError> {
    let bad = || ApiError::Decode {
        what: "plan".into(),
        message: format!("unknown GitHub setting `{key}` in the plan"),
    };
    if key == "pages/source" {
        return Ok(Key::PagesSource);
    }
    if let Some(head) = key.strip_prefix("pulls/open/") {
        return Ok(Key::PullFrom(head));
    }
    if let Some(rest) = key.strip_prefix("pulls/") {
        let n = rest.strip_suffix("/base").ok_or_else(bad)?;
        return n.parse().map(Key::PullBase).map_err(|_| bad());
    }
    if let Some(name) = key.strip_prefix("rulesets/named/") {
        return Ok(Key::NamedRuleset(name));
    }
    if let Some(id) = key.strip_prefix("rulesets/") {
        return id.parse().map(Key::Ruleset).map_err(|_| bad());
    }
    if let Some(rest) = key.strip_prefix("branches/") {
        return rest.strip_suffix("/protection").map(Key::Protection).ok_or_else(bad);
    }
    Err(bad())
}

fn failed(change: &SettingChange, doing: &str, e: ApiError) -> ServiceError {
    let mut message = format!("GitHub {}: cannot {doing} {}: {e}", change.scope, change.label);
    if e.is_forbidden() {
        message.push_str(" (give GH_TOKEN a token with admin access to the repository)");
    }
    ServiceError::new(message)
}

impl<T: Transport> GitHubService<T> {
    fn live(&self, change: &SettingChange) -> Result<Value, ApiError> {
        Ok(match parse(&change.key)? {
            Key::PullBase(n) => {
                let pull = self.gh.pull(n)?;
                if pull.state != "open" {
                    // Closed or merged since: nothing to move either way.
                    return Ok(change.to.clone());
                }
                json!(pull.base)
            }
            Key::PullFrom(head) => {
                let want = change.to.get("base").or_else(|| change.from.get("base"));
                match self.gh.open_pulls(None, Some(head))?.first() {
                    // The title is people's to edit: base and head say which review it is.
                    Some(p) if want.and_then(Value::as_str) == Some(p.base.as_str()) => {
                        if change.to.is_null() { change.from.clone() } else { change.to.clone() }
                    }
                    Some(p) => json!({"base": p.base, "head": p.head}),
                    None => Value::Null,
                }
            }
            Key::Protection(branch) => match self.gh.protection(branch) {
                Ok(p) => p.unwrap_or(Value::Null),
                // The branch is gone (deleted by the migration): nothing protects it.
                Err(e) if e.is_not_found() => Value::Null,
                Err(e) => return Err(e),
            },
            Key::Ruleset(id) => match self.gh.ruleset(id) {
                Ok(body) => body,
                Err(e) if e.is_not_found() => Value::Null,
                Err(e) => return Err(e),
            },
            Key::NamedRuleset(name) => match self.named(name)? {
                Some(id) => self.gh.ruleset(id)?,
                None => Value::Null,
            },
            Key::PagesSource => match self.gh.pages()?.and_then(|site| site.source) {
                Some(s) => json!({"branch": s.branch, "path": s.path}),
                None => Value::Null,
            },
        })
    }

    fn named(&self, name: &str) -> Result<Option<u64>, ApiError> {
        Ok(self
            .gh
            .rulesets()?
            .into_iter()
            .find(|r| r.name == name && r.source_type.as_deref().is_none_or(|t| t == "Repository"))
            .map(|r| r.id))
    }

    fn put(&self, change: &SettingChange) -> Result<(), ApiError> {
        let to = &change.to;
        match parse(&change.key)? {
            Key::PullBase(n) => {
                let base = to.as_str().unwrap_or_default();
                self.gh.set_pull_base(n, base).map(drop)
            }
            Key::PullFrom(head) => match to.get("base").and_then(Value::as_str) {
                Some(base) => {
                    let title = to.get("title").and_then(Value::as_str).unwrap_or(head);
                    let body = "The CI/CD rewrite of a branch migration, opened by `rebranch apply` because the branch takes changes only through pull requests. Merge it, then run `rebranch apply` again to go on.";
                    self.gh.create_pull(head, base, title, body).map(drop)
                }
                None => match self.gh.open_pulls(None, Some(head))?.first() {
                    Some(p) => self.gh.close_pull(p.number).map(drop),
                    None => Ok(()),
                },
            },
            Key::Protection(branch) => {
                self.gh.set_protection(branch, Some(to).filter(|v| !v.is_null()))
            }
            Key::Ruleset(id) if to.is_null() => self.gh.delete_ruleset(id),
            Key::Ruleset(id) => self.gh.update_ruleset(id, to),
            Key::NamedRuleset(name) => match (self.named(name)?, to.is_null()) {
                (Some(id), true) => self.gh.delete_ruleset(id),
                (None, true) => Ok(()),
                (Some(id), false) => self.gh.update_ruleset(id, to),
                (None, false) => self.gh.create_ruleset(to).map(drop),
            },
            Key::PagesSource => {
                let branch = to.get("branch").and_then(Value::as_str).unwrap_or_default();
                let path = to.get("path").and_then(Value::as_str).unwrap_or("/");
                self.gh.set_pages_source(branch, path)
            }
        }
    }

    /// Polls the site until GitHub says it is built from `branch`.
    fn wait_for_build(&self, change: &SettingChange, branch: &str) -> Result<(), ServiceError> {
        let scope = &change.scope;
        for attempt in 0..self.wait.attempts {
            let site = self.gh.pages().map_err(|e| failed(change, "read", e))?;
            let source = site.as_ref().and_then(|s| s.source.as_ref());
            if source.is_some_and(|s| s.branch == branch) {
                match site.as_ref().and_then(|s| s.status.as_deref()) {
                    Some("errored") => {
                        return Err(ServiceError::new(format!(
                            "GitHub {scope}: the Pages build from `{branch}` failed: see Settings → Pages; the source is switched: apply again once it builds, or roll back"
                        )));
                    }
                    Some("built") | None => return Ok(()),
                    _ => {}
                }
            }
            if attempt + 1 < self.wait.attempts {
                std::thread::sleep(self.wait.interval);
            }
        }
        let waited = self.wait.interval * self.wait.attempts;
        Err(ServiceError::new(format!(
            "GitHub {scope}: the Pages build from `{branch}` did not finish in {} s; the source is switched: check the site, then apply again or roll back",
            waited.as_secs()
        )))
    }
}

impl<T: Transport> Service for GitHubService<T> {
    fn read(&mut self, change: &SettingChange) -> Result<Value, ServiceError> {
        let live = self.live(change).map_err(|e| failed(change, "read", e))?;
        // GitHub reads back defaults it was not sent: the planned values win when they hold.
        Ok(if live == change.to || (!change.to.is_null() && holds(&live, &change.to)) {
            change.to.clone()
        } else if live == change.from || (!change.from.is_null() && holds(&live, &change.from)) {
            change.from.clone()
        } else {
            live
        })
    }

    fn write(&mut self, change: &SettingChange) -> Result<(), ServiceError> {
        self.put(change).map_err(|e| failed(change, "change", e))?;
        self.finish(change)
    }

    fn settled(&mut self, change: &SettingChange) -> Result<bool, ServiceError> {
        let Some(branch) = built_from(change) else { return Ok(true) };
        let site = self.gh.pages().map_err(|e| failed(change, "read", e))?;
        Ok(site.is_some_and(|s| {
            s.source.is_some_and(|src| src.branch == branch)
                && s.status.as_deref().is_none_or(|st| st == "built")
        }))
    }

    fn finish(&mut self, change: &SettingChange) -> Result<(), ServiceError> {
        match built_from(change) {
            Some(branch) => self.wait_for_build(change, branch),
            None => Ok(()),
        }
    }

    fn describe(&mut self, change: &SettingChange) -> Option<String> {
        let pull = match parse(&change.key).ok()? {
            Key::PullFrom(head) => self.gh.open_pulls(None, Some(head)).ok()?.into_iter().next()?,
            Key::PullBase(n) => self.gh.pull(n).ok()?,
            _ => return None,
        };
        Some(format!("pull request #{} ({})", pull.number, pull.html_url))
    }

    fn round_trips(&self) -> usize {
        self.gh.requests_sent()
    }
}
