//! [`PagesClient`]: typed calls to the Pages API over any [`Transport`], with bounded
//! retries, `Retry-After` handling, a total deadline, and a deployment POST that is never
//! repeated blindly.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use serde::de::DeserializeOwned;

use super::config::{Config, ConfigError, Token, validate_account};
use super::error::ApiError;
use super::types::{Deployment, Envelope, Environment, Page, Project, ProjectPatch};
use crate::http::{
    Body, HttpRequest, HttpResponse, Method, Transport, TransportErrorKind, retry_after,
};
pub use crate::http::{Sleeper, ThreadSleeper};
use crate::time::{epoch_millis, parse_rfc3339_millis};

/// The most the deployments list returns per page (more is refused with 8000024).
pub const MAX_DEPLOYMENTS_PER_PAGE: u32 = 25;
/// Page size for the projects list (wrangler's).
const PROJECTS_PER_PAGE: u32 = 10;
/// A bound on list paging, against a server that never ends its list.
const MAX_PAGES: u32 = 100;

/// How hard the client tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// The first backoff; it doubles per attempt up to `max_delay`.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A 429 asking for a longer wait fails at once (wrangler's rule).
    pub retry_after_cap: Duration,
    /// The wait after a 429 without `Retry-After`, at least.
    pub min_rate_limit_wait: Duration,
    /// The total time one call may take, waits included.
    pub deadline: Duration,
    /// Clock skew allowed when adopting a deployment created by a POST whose answer was lost.
    pub adopt_skew: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            retry_after_cap: Duration::from_secs(60),
            min_rate_limit_wait: Duration::from_secs(1),
            deadline: Duration::from_secs(180),
            adopt_skew: Duration::from_secs(120),
        }
    }
}

/// A Pages API client for one account.
pub struct PagesClient<T: Transport> {
    transport: T,
    base_url: String,
    token: Token,
    account_id: String,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
}

impl<T: Transport> std::fmt::Debug for PagesClient<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagesClient")
            .field("base_url", &self.base_url)
            .field("token", &self.token)
            .field("account_id", &self.account_id)
            .field("policy", &self.policy)
            .finish()
    }
}

/// Whether a failed attempt may be sent again as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// GET, PATCH, rollback: repeat on 429, 5xx and connection errors.
    Idempotent,
    /// Deployment POST: repeat only on 429 (refused before any work); the caller decides the rest.
    CreateOnce,
}

impl<T: Transport> PagesClient<T> {
    /// Builds a client for `config`'s account, which must be set.
    pub fn new(transport: T, config: &Config) -> Result<Self, ConfigError> {
        let account_id = config.require_account()?.to_owned();
        Ok(Self {
            transport,
            base_url: config.base_url.clone(),
            token: config.token.clone(),
            account_id,
            policy: RetryPolicy::default(),
            sleeper: Arc::new(ThreadSleeper),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the sleeper (tests record waits instead of waiting).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Returns the account this client works in.
    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    /// Returns the retry policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Waits `duration` with the client's sleeper (used by pollers).
    pub fn sleep(&self, duration: Duration) {
        self.sleeper.sleep(duration);
    }

    /// `GET …/pages/projects/{name}`.
    pub fn get_project(&self, name: &str) -> Result<Project, ApiError> {
        let url = self.project_url(name)?;
        self.fetch(Method::Get, &url, Body::Empty, Mode::Idempotent)
    }

    /// All projects of the account, page by page (`GET …/pages/projects?page=&per_page=`).
    pub fn list_projects(&self) -> Result<Vec<Project>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let url = format!("{}?page={page}&per_page={PROJECTS_PER_PAGE}", self.projects_url());
            let env = self.call(Method::Get, &url, Body::Empty, Mode::Idempotent)?;
            let info = env.result_info;
            let items: Vec<Project> = decode(env.result, &url)?;
            let short = items.len() < PROJECTS_PER_PAGE as usize;
            all.extend(items);
            let total_reached = info
                .is_some_and(|i| i.total_count > 0 && page * PROJECTS_PER_PAGE >= i.total_count);
            if short || total_reached {
                break;
            }
        }
        Ok(all)
    }

    /// `PATCH …/pages/projects/{name}` with exactly `patch`; returns the updated project.
    pub fn patch_project(&self, name: &str, patch: &ProjectPatch) -> Result<Project, ApiError> {
        let url = self.project_url(name)?;
        let body = serde_json::to_value(patch)
            .map_err(|e| ApiError::Decode { url: url.clone(), message: e.to_string() })?;
        self.fetch(Method::Patch, &url, Body::Json(body), Mode::Idempotent)
    }

    /// Starts a deployment of `branch` (multipart `branch=…`).
    ///
    /// After a timeout, a broken connection or a 5xx, the POST may have created a deployment
    /// anyway, so the client first lists recent deployments and adopts one of `branch` created
    /// since the first attempt started; only when there is none does it send the POST again.
    pub fn create_deployment(&self, project: &str, branch: &str) -> Result<Deployment, ApiError> {
        let url = format!("{}/deployments", self.project_url(project)?);
        let started = SystemTime::now();
        let mut retry = RetryState::new();
        loop {
            let body = Body::Multipart(vec![("branch".to_owned(), branch.to_owned())]);
            let err = match self.call(Method::Post, &url, body, Mode::CreateOnce) {
                Ok(env) => return decode(env.result, &url),
                Err(e) if is_ambiguous(&e) => e,
                Err(e) => return Err(e),
            };
            if let Some(found) = self.adoptable_deployment(project, branch, started)? {
                return Ok(found);
            }
            retry.wait_or_give_up(&self.policy, &*self.sleeper, err, None)?;
        }
    }

    /// `GET …/deployments/{id}`.
    pub fn get_deployment(&self, project: &str, id: &str) -> Result<Deployment, ApiError> {
        let url = self.deployment_url(project, id)?;
        self.fetch(Method::Get, &url, Body::Empty, Mode::Idempotent)
    }

    /// One page of deployments, newest first; `per_page` is clamped to 1..=25.
    pub fn list_deployments(
        &self,
        project: &str,
        env: Option<Environment>,
        page: u32,
        per_page: u32,
    ) -> Result<Page<Deployment>, ApiError> {
        let per_page = per_page.clamp(1, MAX_DEPLOYMENTS_PER_PAGE);
        let mut url = format!(
            "{}/deployments?page={}&per_page={per_page}",
            self.project_url(project)?,
            page.max(1)
        );
        if let Some(env) = env {
            url.push_str("&env=");
            url.push_str(env.as_str());
        }
        let envelope = self.call(Method::Get, &url, Body::Empty, Mode::Idempotent)?;
        let info = envelope.result_info;
        let items = decode(envelope.result, &url)?;
        Ok(Page { items, info })
    }

    /// `POST …/deployments/{id}/rollback`: makes that earlier successful production
    /// deployment live again. Repeating it has the same effect, so it is retried like a PATCH.
    pub fn rollback_deployment(&self, project: &str, id: &str) -> Result<Deployment, ApiError> {
        let url = format!("{}/rollback", self.deployment_url(project, id)?);
        self.fetch(Method::Post, &url, Body::Empty, Mode::Idempotent)
    }

    fn adoptable_deployment(
        &self,
        project: &str,
        branch: &str,
        started: SystemTime,
    ) -> Result<Option<Deployment>, ApiError> {
        let skew = i64::try_from(self.policy.adopt_skew.as_millis()).unwrap_or(i64::MAX);
        let not_before = epoch_millis(started).saturating_sub(skew);
        let page = self.list_deployments(project, None, 1, MAX_DEPLOYMENTS_PER_PAGE)?;
        Ok(page.items.into_iter().find(|d| {
            let manual = d
                .deployment_trigger
                .as_ref()
                .is_none_or(|t| t.kind.is_empty() || t.kind == "ad_hoc");
            let recent = parse_rfc3339_millis(&d.created_on).is_some_and(|t| t >= not_before);
            d.branch() == Some(branch) && manual && recent
        }))
    }

    fn fetch<R: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Body,
        mode: Mode,
    ) -> Result<R, ApiError> {
        let env = self.call(method, url, body, mode)?;
        decode(env.result, url)
    }

    /// Sends one logical call, retrying per `mode` and the policy; errors come out redacted.
    fn call(
        &self,
        method: Method,
        url: &str,
        body: Body,
        mode: Mode,
    ) -> Result<Envelope, ApiError> {
        let mut retry = RetryState::new();
        loop {
            let (err, wait) = match self.attempt(method, url, body.clone(), mode) {
                Attempt::Done(env) => return Ok(env),
                Attempt::Fail(e) => return Err(e.redacted(self.token.expose())),
                Attempt::Retry(e, wait) => (e, wait),
            };
            let err = err.redacted(self.token.expose());
            retry.wait_or_give_up(&self.policy, &*self.sleeper, err, wait)?;
        }
    }

    fn attempt(&self, method: Method, url: &str, body: Body, mode: Mode) -> Attempt {
        let request = HttpRequest {
            method,
            url: url.to_owned(),
            headers: vec![
                ("Authorization".to_owned(), format!("Bearer {}", self.token.expose())),
                ("Accept".to_owned(), "application/json".to_owned()),
            ],
            body,
        };
        match self.transport.send(request) {
            Ok(response) => self.judge_response(method, url, response, mode),
            Err(e) => {
                let err = if e.kind == TransportErrorKind::Timeout {
                    ApiError::Timeout {
                        method: method.to_string(),
                        url: url.to_owned(),
                        message: e.message,
                    }
                } else {
                    ApiError::Transport {
                        method: method.to_string(),
                        url: url.to_owned(),
                        kind: e.kind,
                        message: e.message,
                    }
                };
                match mode {
                    Mode::Idempotent => Attempt::Retry(err, None),
                    Mode::CreateOnce => Attempt::Fail(err),
                }
            }
        }
    }

    fn judge_response(&self, method: Method, url: &str, r: HttpResponse, mode: Mode) -> Attempt {
        let status = r.status;
        if status == 429 {
            let err = error_from_body(status, url, &r.body);
            return match retry_after(&r) {
                Some(wait) if wait > self.policy.retry_after_cap => {
                    Attempt::Fail(ApiError::RateLimited {
                        url: url.to_owned(),
                        retry_after_secs: wait.as_secs(),
                        cap_secs: self.policy.retry_after_cap.as_secs(),
                    })
                }
                Some(wait) => Attempt::Retry(err, Some(wait)),
                None => Attempt::Retry(err, Some(self.policy.min_rate_limit_wait)),
            };
        }
        if status >= 500 {
            let err = error_from_body(status, url, &r.body);
            return match mode {
                Mode::Idempotent => Attempt::Retry(err, None),
                Mode::CreateOnce => Attempt::Fail(err),
            };
        }
        if !(200..300).contains(&status) {
            return Attempt::Fail(error_from_body(status, url, &r.body));
        }
        match serde_json::from_slice::<Envelope>(&r.body) {
            Ok(env) if env.success => Attempt::Done(env),
            Ok(env) => Attempt::Fail(ApiError::Api {
                status,
                url: url.to_owned(),
                errors: env.errors,
                messages: env.messages,
            }),
            Err(e) => Attempt::Fail(ApiError::Decode {
                url: url.to_owned(),
                message: format!("{method} answer is not the API envelope: {e}"),
            }),
        }
    }

    fn projects_url(&self) -> String {
        format!("{}/accounts/{}/pages/projects", self.base_url, self.account_id)
    }

    fn project_url(&self, name: &str) -> Result<String, ApiError> {
        check_project_name(name)?;
        validate_account(&self.account_id).map_err(|e| ApiError::InvalidInput {
            what: "account id".to_owned(),
            value: self.account_id.clone(),
            reason: e.to_string(),
        })?;
        Ok(format!("{}/{name}", self.projects_url()))
    }

    fn deployment_url(&self, project: &str, id: &str) -> Result<String, ApiError> {
        let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(ApiError::InvalidInput {
                what: "deployment id".to_owned(),
                value: id.to_owned(),
                reason: "expected letters, digits and '-'".to_owned(),
            });
        }
        Ok(format!("{}/deployments/{id}", self.project_url(project)?))
    }
}

/// Checks a project name against the API's pattern `^[a-z0-9][a-z0-9-]*$`.
pub fn check_project_name(name: &str) -> Result<(), ApiError> {
    let mut bytes = name.bytes();
    let first_ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(ApiError::InvalidInput {
            what: "Pages project name".to_owned(),
            value: name.to_owned(),
            reason: "a project name is lowercase letters, digits and '-', not starting with '-'"
                .to_owned(),
        })
    }
}

enum Attempt {
    Done(Envelope),
    /// Retry after the given wait, or after the policy's backoff.
    Retry(ApiError, Option<Duration>),
    Fail(ApiError),
}

/// Attempts and time spent by one logical call.
struct RetryState {
    start: Instant,
    /// Time handed to the sleeper; with a fake sleeper it is the only time that passes.
    waited: Duration,
    attempts: u32,
}

impl RetryState {
    fn new() -> Self {
        Self { start: Instant::now(), waited: Duration::ZERO, attempts: 0 }
    }

    /// Counts the failed attempt, then waits, or returns `GaveUp` when attempts or time ran out.
    fn wait_or_give_up(
        &mut self,
        policy: &RetryPolicy,
        sleeper: &dyn Sleeper,
        err: ApiError,
        wait: Option<Duration>,
    ) -> Result<(), ApiError> {
        self.attempts += 1;
        let wait = wait.unwrap_or_else(|| backoff(policy, self.attempts));
        let spent = self.start.elapsed().max(self.waited);
        let deadline_hit = spent + wait > policy.deadline;
        if self.attempts >= policy.max_attempts || deadline_hit {
            return Err(ApiError::GaveUp {
                attempts: self.attempts,
                elapsed_ms: u64::try_from(spent.as_millis()).unwrap_or(u64::MAX),
                deadline_hit: deadline_hit && self.attempts < policy.max_attempts,
                last: Box::new(err),
            });
        }
        sleeper.sleep(wait);
        self.waited += wait;
        Ok(())
    }
}

fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    policy.base_delay.saturating_mul(factor).min(policy.max_delay)
}

/// A failure after which a POST may or may not have taken effect.
fn is_ambiguous(err: &ApiError) -> bool {
    match err {
        ApiError::Timeout { .. } | ApiError::Transport { .. } => true,
        other => other.http_status().is_some_and(|s| s >= 500),
    }
}

fn error_from_body(status: u16, url: &str, body: &[u8]) -> ApiError {
    match serde_json::from_slice::<Envelope>(body) {
        Ok(env) if !env.errors.is_empty() => ApiError::Api {
            status,
            url: url.to_owned(),
            errors: env.errors,
            messages: env.messages,
        },
        _ => ApiError::Status {
            code: status,
            url: url.to_owned(),
            body: String::from_utf8_lossy(body).chars().take(2000).collect(),
        },
    }
}

fn decode<R: DeserializeOwned>(result: serde_json::Value, url: &str) -> Result<R, ApiError> {
    serde_json::from_value(result)
        .map_err(|e| ApiError::Decode { url: url.to_owned(), message: e.to_string() })
}
