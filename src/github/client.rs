//! [`GitHub`]: typed calls to the REST API over any [`Transport`], with the pinned API
//! version, bounded retries on rate limits and server errors, `Link` pagination, and no
//! redirects followed.
//!
//! Branch names go into paths with each `/`-separated segment percent-encoded and the `/`
//! itself kept: the API declares `{branch}` multi-segment and accepts `feature/x` as is.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::config::{Config, Repository};
use super::error::ApiError;
use super::types::{BranchLookup, PagesSite, Pull, RepoInfo, RulesetSummary, WireBranch, WirePull};
use crate::http::{
    Body, HttpRequest, HttpResponse, Method, Sleeper, ThreadSleeper, Transport, TransportError,
    retry_after,
};

/// The API version every request pins.
pub const API_VERSION: &str = "2022-11-28";
/// The media type every request accepts.
pub const ACCEPT: &str = "application/vnd.github+json";
/// The User-Agent every request sends (GitHub refuses requests without one).
pub const USER_AGENT: &str = concat!("rebranch/", env!("CARGO_PKG_VERSION"));
/// Items per page on lists.
const PER_PAGE: u32 = 100;
/// A bound on list paging, against a server that never ends its list.
const MAX_PAGES: usize = 100;
/// The first wait after a secondary rate limit that names no wait.
const SECONDARY_WAIT: Duration = Duration::from_secs(60);
/// The first wait after a server or connection error; it doubles per attempt.
const BASE_BACKOFF: Duration = Duration::from_secs(1);

/// How hard the client tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The longest single wait; a rate limit asking for longer fails at once.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 4, max_wait: Duration::from_secs(90) }
    }
}

/// How the client paces itself, beyond answering rate limits: changes at least
/// `mutation_gap` apart (GitHub's advice against its secondary limits), and no request while
/// the token has `reserve` requests or fewer left in its hour. Processes that share a token
/// (the shards of a batch, on one machine or many) share that hourly budget: each reads
/// what is left from the `x-ratelimit-*` headers of its own answers and waits for the reset
/// before spending the reserve, so together they never run it dry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub mutation_gap: Duration,
    pub reserve: u32,
}

impl Default for Pace {
    fn default() -> Self {
        Self { mutation_gap: Duration::from_secs(1), reserve: 100 }
    }
}

/// What the client knows of its budget and its last change.
#[derive(Debug, Default)]
struct Budget {
    last_mutation: Option<std::time::Instant>,
    remaining: Option<u32>,
    limit: Option<u32>,
    reset: Option<u64>,
}

/// A GitHub REST API client for one repository.
pub struct GitHub<T: Transport> {
    transport: T,
    config: Config,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    sent: AtomicUsize,
    pace: Option<Pace>,
    budget: Arc<std::sync::Mutex<Budget>>,
}

impl<T: Transport> std::fmt::Debug for GitHub<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHub")
            .field("config", &self.config)
            .field("policy", &self.policy)
            .field("requests_sent", &self.requests_sent())
            .finish()
    }
}

/// What one attempt came to.
enum Step {
    Answer(HttpResponse),
    Retry(Duration, ApiError),
    Fail(ApiError),
}

impl<T: Transport> GitHub<T> {
    /// A client with the default retry policy and real sleeps.
    pub fn new(transport: T, config: Config) -> Self {
        Self {
            transport,
            config,
            policy: RetryPolicy::default(),
            sleeper: Arc::new(ThreadSleeper),
            sent: AtomicUsize::new(0),
            pace: None,
            budget: Arc::default(),
        }
    }

    /// Paces requests (see [`Pace`]); without it, only rate-limit answers slow the client.
    pub fn with_pace(mut self, pace: Pace) -> Self {
        self.pace = Some(pace);
        self
    }

    /// Paces requests with the budget every client of this process shares for the same API
    /// and token: the repositories a batch runs at once together keep the gap between
    /// changes and the reserve, not each on its own.
    pub fn with_shared_pace(mut self, pace: Pace) -> Self {
        type Budgets = std::sync::Mutex<Vec<(String, Arc<std::sync::Mutex<Budget>>)>>;
        static SHARED: std::sync::OnceLock<Budgets> = std::sync::OnceLock::new();
        // The token's own digest keys it, so two tokens keep two budgets and none is stored.
        let token = self.config.token.as_ref().map(|t| t.expose()).unwrap_or_default();
        let key = format!("{} {:x}", self.config.api_base, fnv(token.as_bytes()));
        let mut all =
            SHARED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        self.budget = match all.iter().find(|(k, _)| *k == key) {
            Some((_, b)) => Arc::clone(b),
            None => {
                let b = Arc::<std::sync::Mutex<Budget>>::default();
                all.push((key, Arc::clone(&b)));
                b
            }
        };
        drop(all);
        self.with_pace(pace)
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Replaces the sleeper (tests record waits instead of waiting).
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Round trips so far, retries included.
    pub fn requests_sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }

    /// The repository this client works on.
    pub fn repository_name(&self) -> &Repository {
        &self.config.repository
    }

    /// Waits `duration` with the client's sleeper (for callers that poll, e.g. after a
    /// rename).
    pub fn sleep(&self, duration: Duration) {
        self.sleeper.sleep(duration);
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// `GET /repos/{o}/{r}`.
    pub fn repository(&self) -> Result<RepoInfo, ApiError> {
        self.json(Method::Get, &self.repo_path(""), None)
    }

    /// `GET /repos/{o}/{r}/branches/{b}`: 200 → `Found` (or `Moved` when the body names
    /// another branch, which is what a followed redirect would look like), 301 → `Moved`,
    /// 404 → `Missing`.
    pub fn branch(&self, name: &str) -> Result<BranchLookup, ApiError> {
        let path = self.branch_path(name, "");
        let r = self.exchange(Method::Get, &path, None)?;
        match r.status {
            200..=299 => {
                let b: WireBranch = decode(&r, &request(Method::Get, &path))?;
                if b.name == name {
                    Ok(BranchLookup::Found { sha: b.commit.sha, protected: b.protected })
                } else {
                    Ok(BranchLookup::Moved { location: b.links.and_then(|l| l.this) })
                }
            }
            301 => Ok(BranchLookup::Moved { location: r.header("location").map(str::to_owned) }),
            404 => Ok(BranchLookup::Missing),
            _ => Err(self.error(Method::Get, &path, &r)),
        }
    }

    /// The branch's classic protection in the shape `PUT …/protection` expects (see
    /// [`protection_put_body`]), plus a `"required_signatures": bool` key; `None` when the
    /// answer is 404 "Branch not protected". Any other 404 is an error.
    pub fn protection(&self, branch: &str) -> Result<Option<Value>, ApiError> {
        let path = self.branch_path(branch, "/protection");
        let r = self.exchange(Method::Get, &path, None)?;
        match r.status {
            200..=299 => {
                let got: Value = decode(&r, &request(Method::Get, &path))?;
                Ok(Some(protection_put_body(&got)))
            }
            404 if not_protected(&r) => Ok(None),
            _ => Err(self.error(Method::Get, &path, &r)),
        }
    }

    /// `Some(body)`: `PUT …/protection` with the body less `required_signatures`, then
    /// `POST` or `DELETE …/protection/required_signatures` to match it (left alone when the
    /// key is absent). `None`: `DELETE …/protection`, where 404 "Branch not protected" means
    /// already done.
    pub fn set_protection(&self, branch: &str, body: Option<&Value>) -> Result<(), ApiError> {
        let path = self.branch_path(branch, "/protection");
        let Some(body) = body else {
            let r = self.exchange(Method::Delete, &path, None)?;
            return match r.status {
                200..=299 => Ok(()),
                404 if not_protected(&r) => Ok(()),
                _ => Err(self.error(Method::Delete, &path, &r)),
            };
        };
        let mut put = body.clone();
        let signatures = match put.as_object_mut() {
            Some(map) => map.remove("required_signatures").and_then(|v| v.as_bool()),
            None => None,
        };
        self.expect_success(Method::Put, &path, Some(put))?;
        let sig_path = self.branch_path(branch, "/protection/required_signatures");
        match signatures {
            Some(true) => self.expect_success(Method::Post, &sig_path, None),
            Some(false) => {
                let r = self.exchange(Method::Delete, &sig_path, None)?;
                match r.status {
                    200..=299 | 404 => Ok(()),
                    _ => Err(self.error(Method::Delete, &sig_path, &r)),
                }
            }
            None => Ok(()),
        }
    }

    /// `GET /repos/{o}/{r}/rulesets?includes_parents=false`, all pages.
    pub fn rulesets(&self) -> Result<Vec<RulesetSummary>, ApiError> {
        let path = self.repo_path(&format!("/rulesets?includes_parents=false&per_page={PER_PAGE}"));
        self.all_pages(&path)
    }

    /// `GET /repos/{o}/{r}/rulesets/{id}`, reduced to the POST/PUT body's keys: `name`,
    /// `target`, `enforcement`, `conditions`, `rules`, `bypass_actors` (absent keys
    /// omitted).
    pub fn ruleset(&self, id: u64) -> Result<Value, ApiError> {
        let full: Value =
            self.json(Method::Get, &self.repo_path(&format!("/rulesets/{id}")), None)?;
        Ok(ruleset_body(&full))
    }

    /// `POST /repos/{o}/{r}/rulesets`; returns the new ruleset's id.
    pub fn create_ruleset(&self, body: &Value) -> Result<u64, ApiError> {
        let path = self.repo_path("/rulesets");
        let created: Value = self.json(Method::Post, &path, Some(body.clone()))?;
        created["id"].as_u64().ok_or_else(|| ApiError::Decode {
            what: request(Method::Post, &path),
            message: "the created ruleset has no numeric id".to_owned(),
        })
    }

    /// `PUT /repos/{o}/{r}/rulesets/{id}`.
    pub fn update_ruleset(&self, id: u64, body: &Value) -> Result<(), ApiError> {
        let path = self.repo_path(&format!("/rulesets/{id}"));
        self.expect_success(Method::Put, &path, Some(body.clone()))
    }

    /// `DELETE /repos/{o}/{r}/rulesets/{id}`; 404 means already done.
    pub fn delete_ruleset(&self, id: u64) -> Result<(), ApiError> {
        let path = self.repo_path(&format!("/rulesets/{id}"));
        let r = self.exchange(Method::Delete, &path, None)?;
        match r.status {
            200..=299 | 404 => Ok(()),
            _ => Err(self.error(Method::Delete, &path, &r)),
        }
    }

    /// `GET /repos/{o}/{r}/rules/branches/{b}`: the active rules for the branch from every
    /// level, all pages.
    pub fn branch_rules(&self, branch: &str) -> Result<Vec<Value>, ApiError> {
        let path = self
            .repo_path(&format!("/rules/branches/{}?per_page={PER_PAGE}", encode_branch(branch)));
        self.all_pages(&path)
    }

    /// `GET /repos/{o}/{r}/pulls?state=open`, filtered by base branch and by head branch
    /// (in this repository's owner), all pages.
    pub fn open_pulls(
        &self,
        base: Option<&str>,
        head: Option<&str>,
    ) -> Result<Vec<Pull>, ApiError> {
        let mut query = format!("/pulls?state=open&per_page={PER_PAGE}");
        if let Some(base) = base {
            query.push_str(&format!("&base={}", encode_query(base)));
        }
        if let Some(head) = head {
            let owner = &self.config.repository.owner;
            query.push_str(&format!("&head={owner}:{}", encode_query(head)));
        }
        let wire: Vec<WirePull> = self.all_pages(&self.repo_path(&query))?;
        Ok(wire.into_iter().map(Pull::from).collect())
    }

    /// `GET /repos/{o}/{r}/pulls/{n}`.
    pub fn pull(&self, number: u64) -> Result<Pull, ApiError> {
        let wire: WirePull =
            self.json(Method::Get, &self.repo_path(&format!("/pulls/{number}")), None)?;
        Ok(wire.into())
    }

    /// `PATCH /repos/{o}/{r}/pulls/{n}` with `{"base": base}`.
    pub fn set_pull_base(&self, number: u64, base: &str) -> Result<Pull, ApiError> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        let wire: WirePull = self.json(Method::Patch, &path, Some(json!({ "base": base })))?;
        Ok(wire.into())
    }

    /// `PATCH /repos/{o}/{r}/pulls/{n}` `{"state": "closed"}`.
    pub fn close_pull(&self, number: u64) -> Result<Pull, ApiError> {
        let path = self.repo_path(&format!("/pulls/{number}"));
        let wire: WirePull = self.json(Method::Patch, &path, Some(json!({ "state": "closed" })))?;
        Ok(wire.into())
    }

    /// `POST /repos/{o}/{r}/pulls`.
    pub fn create_pull(
        &self,
        head: &str,
        base: &str,
        title: &str,
        body: &str,
    ) -> Result<Pull, ApiError> {
        let payload = json!({ "title": title, "head": head, "base": base, "body": body });
        let wire: WirePull = self.json(Method::Post, &self.repo_path("/pulls"), Some(payload))?;
        Ok(wire.into())
    }

    /// `GET /repos/{o}/{r}/pages`; `None` when Pages is off (404).
    pub fn pages(&self) -> Result<Option<PagesSite>, ApiError> {
        let path = self.repo_path("/pages");
        let r = self.exchange(Method::Get, &path, None)?;
        match r.status {
            200..=299 => decode(&r, &request(Method::Get, &path)).map(Some),
            404 => Ok(None),
            _ => Err(self.error(Method::Get, &path, &r)),
        }
    }

    /// `PUT /repos/{o}/{r}/pages` with `{"source": {"branch", "path"}}` (204).
    pub fn set_pages_source(&self, branch: &str, path: &str) -> Result<(), ApiError> {
        let body = json!({ "source": { "branch": branch, "path": path } });
        self.expect_success(Method::Put, &self.repo_path("/pages"), Some(body))
    }

    fn repo_path(&self, suffix: &str) -> String {
        let repo = &self.config.repository;
        format!("/repos/{}/{}{suffix}", repo.owner, repo.name)
    }

    fn branch_path(&self, branch: &str, suffix: &str) -> String {
        self.repo_path(&format!("/branches/{}{suffix}", encode_branch(branch)))
    }

    /// Sends and decodes a 2xx answer; any other status is an error.
    fn json<R: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<R, ApiError> {
        let r = self.exchange(method, path, body)?;
        if !(200..300).contains(&r.status) {
            return Err(self.error(method, path, &r));
        }
        decode(&r, &request(method, path))
    }

    fn expect_success(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(), ApiError> {
        let r = self.exchange(method, path, body)?;
        if (200..300).contains(&r.status) { Ok(()) } else { Err(self.error(method, path, &r)) }
    }

    /// Every page of a list, following `Link: <…>; rel="next"` within the API base.
    fn all_pages<R: DeserializeOwned>(&self, first: &str) -> Result<Vec<R>, ApiError> {
        let mut all = Vec::new();
        let mut path = first.to_owned();
        for _ in 0..MAX_PAGES {
            let r = self.exchange(Method::Get, &path, None)?;
            if !(200..300).contains(&r.status) {
                return Err(self.error(Method::Get, &path, &r));
            }
            let items: Vec<R> = decode(&r, &request(Method::Get, &path))?;
            all.extend(items);
            let Some(next) = r.header("link").and_then(next_link) else {
                return Ok(all);
            };
            path = match next.strip_prefix(&self.config.api_base) {
                Some(rest) if rest.starts_with('/') => rest.to_owned(),
                _ => {
                    return Err(ApiError::Decode {
                        what: request(Method::Get, &path),
                        message: format!(
                            "the next page is outside the API base ({}); not followed",
                            crate::git::redact_url(&next)
                        ),
                    });
                }
            };
        }
        Err(ApiError::Decode {
            what: request(Method::Get, first),
            message: format!("the list did not end after {MAX_PAGES} pages"),
        })
    }

    /// Sends one request, retrying per the policy; returns the final answer whatever its
    /// status, unless retries ran out on a rate limit or a failure without an answer.
    fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<HttpResponse, ApiError> {
        let secret = self.config.token.as_ref().map(|t| t.expose()).unwrap_or_default();
        self.pace_before(method, path)?;
        let mut attempt = 0u32;
        let mut backoff = BASE_BACKOFF;
        let mut secondary = SECONDARY_WAIT;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.max_attempts.max(1);
            let step = self.attempt(method, path, body.clone(), &mut backoff, &mut secondary);
            match step {
                Step::Answer(r) => return Ok(r),
                Step::Fail(e) => return Err(e.redacted(secret)),
                Step::Retry(_, e) if last => return Err(e.redacted(secret)),
                Step::Retry(wait, _) => self.sleeper.sleep(wait),
            }
        }
    }

    /// Waits as the pace says before a request: after the last change, and for the reset
    /// when the budget is down to the reserve.
    fn pace_before(&self, method: Method, path: &str) -> Result<(), ApiError> {
        let Some(pace) = self.pace else { return Ok(()) };
        let (gap, budget_wait) = {
            let b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
            let gap = match (method, b.last_mutation) {
                (Method::Get, _) | (_, None) => None,
                (_, Some(at)) => pace.mutation_gap.checked_sub(at.elapsed()),
            };
            // A small budget (60 an hour without a token) keeps a tenth of it.
            let reserve = b.limit.map_or(pace.reserve, |l| pace.reserve.min(l / 10));
            let low = b.remaining.is_some_and(|r| r <= reserve);
            let wait = match (low, b.reset) {
                (true, Some(reset)) => Some((
                    reset,
                    Duration::from_secs(reset.saturating_sub(crate::time::now_secs())),
                )),
                _ => None,
            };
            (gap, wait)
        };
        if let Some((reset, wait)) = budget_wait {
            if wait > self.policy.max_wait {
                return Err(ApiError::RateLimited {
                    request: request(method, path),
                    status: 429,
                    reset: Some(reset),
                    message: format!(
                        "the token's requests left this hour are kept in reserve for other processes sharing it; it resets in {} s: run again then (a batch: `--only failed`)",
                        wait.as_secs()
                    ),
                });
            }
            self.sleeper.sleep(wait);
            self.budget.lock().unwrap_or_else(|e| e.into_inner()).remaining = None;
        }
        if let Some(gap) = gap.filter(|g| !g.is_zero()) {
            self.sleeper.sleep(gap);
        }
        Ok(())
    }

    /// Notes what an answer says of the budget, and when the last change was sent.
    fn pace_after(&self, method: Method, r: &HttpResponse) {
        let mut b = self.budget.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(left) = r.header("x-ratelimit-remaining").and_then(|v| v.trim().parse().ok()) {
            b.remaining = Some(left);
        }
        if let Some(reset) = r.header("x-ratelimit-reset").and_then(|v| v.trim().parse().ok()) {
            b.reset = Some(reset);
        }
        if let Some(limit) = r.header("x-ratelimit-limit").and_then(|v| v.trim().parse().ok()) {
            b.limit = Some(limit);
        }
        if method != Method::Get {
            b.last_mutation = Some(std::time::Instant::now());
        }
    }

    fn attempt(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        backoff: &mut Duration,
        secondary: &mut Duration,
    ) -> Step {
        let label = request(method, path);
        let mut headers = vec![
            ("Accept".to_owned(), ACCEPT.to_owned()),
            ("X-GitHub-Api-Version".to_owned(), API_VERSION.to_owned()),
            ("User-Agent".to_owned(), USER_AGENT.to_owned()),
        ];
        if let Some(token) = &self.config.token {
            headers.push(("Authorization".to_owned(), format!("Bearer {}", token.expose())));
        }
        let req = HttpRequest {
            method,
            url: format!("{}{path}", self.config.api_base),
            headers,
            body: body.map_or(Body::Empty, Body::Json),
        };
        self.sent.fetch_add(1, Ordering::Relaxed);
        let r = match self.transport.send(req) {
            Ok(r) => {
                self.pace_after(method, &r);
                r
            }
            Err(e) => {
                let err = ApiError::Transport(TransportError::new(
                    e.kind,
                    format!("{label}: {}", e.message),
                ));
                // Without an answer a POST may have acted: never send it again blindly.
                if !method.is_idempotent() {
                    return Step::Fail(err);
                }
                let wait = next_backoff(backoff, self.policy.max_wait);
                return Step::Retry(wait, err);
            }
        };
        if matches!(r.status, 403 | 429)
            && let Some(step) = self.rate_limit(method, path, &r, secondary)
        {
            return step;
        }
        if r.status >= 500 && method.is_idempotent() {
            let wait = next_backoff(backoff, self.policy.max_wait);
            return Step::Retry(wait, self.error(method, path, &r));
        }
        Step::Answer(r)
    }

    /// The step for a 403/429 that is a rate limit, or `None` for a plain 403.
    fn rate_limit(
        &self,
        method: Method,
        path: &str,
        r: &HttpResponse,
        secondary: &mut Duration,
    ) -> Option<Step> {
        let message = error_message(r);
        let reset = r.header("x-ratelimit-reset").and_then(|v| v.trim().parse::<u64>().ok());
        let limited = |reset| ApiError::RateLimited {
            request: request(method, path),
            status: r.status,
            reset,
            message: message.clone(),
        };
        let demanded = if let Some(wait) = retry_after(r) {
            Some(wait)
        } else if r.header("x-ratelimit-remaining").map(str::trim) == Some("0") {
            reset.map(|at| Duration::from_secs(at.saturating_sub(crate::time::now_secs())))
        } else {
            None
        };
        if let Some(wait) = demanded {
            if wait > self.policy.max_wait {
                return Some(Step::Fail(limited(reset)));
            }
            return Some(Step::Retry(wait, limited(reset)));
        }
        let secondary_hit = r.status == 429
            || message.to_ascii_lowercase().contains("secondary rate limit")
            || r.header("x-ratelimit-remaining").map(str::trim) == Some("0");
        if !secondary_hit {
            return None;
        }
        let wait = (*secondary).min(self.policy.max_wait);
        *secondary = secondary.saturating_mul(2);
        Some(Step::Retry(wait, limited(reset)))
    }

    /// The typed error for a non-success answer.
    fn error(&self, method: Method, path: &str, r: &HttpResponse) -> ApiError {
        let request = request(method, path);
        let message = error_message(r);
        let err = match r.status {
            301 | 302 | 307 | 308 => {
                ApiError::Moved { request, location: r.header("location").map(str::to_owned) }
            }
            401 => ApiError::Unauthorized { request, message },
            403 => ApiError::Forbidden {
                request,
                message,
                accepted_permissions: r.header("x-accepted-github-permissions").map(str::to_owned),
            },
            404 => ApiError::NotFound { request, message },
            400 | 409 | 422 => ApiError::Validation {
                request,
                status: r.status,
                message,
                errors: error_details(r),
            },
            429 => ApiError::RateLimited {
                request,
                status: 429,
                reset: r.header("x-ratelimit-reset").and_then(|v| v.trim().parse().ok()),
                message,
            },
            status => ApiError::Server { request, status, message },
        };
        let secret = self.config.token.as_ref().map(|t| t.expose()).unwrap_or_default();
        err.redacted(secret)
    }
}

/// `GET …/protection`'s answer turned into the body `PUT …/protection` takes, plus
/// `"required_signatures": bool` (set through its own endpoint).
///
/// `{enabled}` objects become booleans; users, teams and apps become logins and slugs;
/// status checks keep `checks` when there are any (GitHub refuses `contexts` and `checks`
/// together), else `contexts`; a check's null `app_id` ("any source") becomes -1. The four keys PUT requires are always present, null when off.
pub fn protection_put_body(got: &Value) -> Value {
    let mut out = Map::new();
    let checks = got.get("required_status_checks").filter(|v| v.is_object()).map(|rsc| {
        let mut c = Map::new();
        c.insert("strict".into(), Value::Bool(rsc["strict"].as_bool().unwrap_or(false)));
        let listed: Vec<Value> = rsc["checks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|check| {
                        let mut one = Map::new();
                        one.insert("context".into(), check.get("context")?.clone());
                        // GET says null for "any source"; PUT spells that -1 (an absent
                        // app_id would pin the check to whichever app reported it last).
                        let app = check.get("app_id").filter(|v| v.is_i64());
                        one.insert("app_id".into(), app.cloned().unwrap_or_else(|| json!(-1)));
                        Some(Value::Object(one))
                    })
                    .collect()
            })
            .unwrap_or_default();
        if listed.is_empty() {
            let contexts = rsc.get("contexts").filter(|v| v.is_array()).cloned();
            c.insert("contexts".into(), contexts.unwrap_or_else(|| json!([])));
        } else {
            c.insert("checks".into(), Value::Array(listed));
        }
        Value::Object(c)
    });
    out.insert("required_status_checks".into(), checks.unwrap_or(Value::Null));
    out.insert("enforce_admins".into(), Value::Bool(enabled(got, "enforce_admins")));
    let reviews = got.get("required_pull_request_reviews").filter(|v| v.is_object()).map(|p| {
        let mut r = Map::new();
        if let Some(d) = p.get("dismissal_restrictions").filter(|v| v.is_object()) {
            r.insert("dismissal_restrictions".into(), actors(d));
        }
        for key in
            ["dismiss_stale_reviews", "require_code_owner_reviews", "require_last_push_approval"]
        {
            r.insert(key.into(), Value::Bool(p[key].as_bool().unwrap_or(false)));
        }
        if let Some(n) = p.get("required_approving_review_count").filter(|v| v.is_u64()) {
            r.insert("required_approving_review_count".into(), n.clone());
        }
        if let Some(b) = p.get("bypass_pull_request_allowances").filter(|v| v.is_object()) {
            r.insert("bypass_pull_request_allowances".into(), actors(b));
        }
        Value::Object(r)
    });
    out.insert("required_pull_request_reviews".into(), reviews.unwrap_or(Value::Null));
    let restrictions = got.get("restrictions").filter(|v| v.is_object()).map(actors);
    out.insert("restrictions".into(), restrictions.unwrap_or(Value::Null));
    for key in [
        "required_linear_history",
        "allow_force_pushes",
        "allow_deletions",
        "block_creations",
        "required_conversation_resolution",
        "lock_branch",
        "allow_fork_syncing",
    ] {
        if got.get(key).is_some_and(|v| v.is_object()) {
            out.insert(key.into(), Value::Bool(enabled(got, key)));
        }
    }
    out.insert("required_signatures".into(), Value::Bool(enabled(got, "required_signatures")));
    Value::Object(out)
}

/// `GET /rulesets/{id}`'s answer reduced to the keys POST and PUT take.
///
/// The keys come out in serde_json's map order (sorted: this crate does not enable
/// `preserve_order`); the API does not care about order.
pub fn ruleset_body(full: &Value) -> Value {
    let mut out = Map::new();
    for key in ["name", "target", "enforcement", "conditions", "rules", "bypass_actors"] {
        if let Some(v) = full.get(key).filter(|v| !v.is_null()) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

fn enabled(got: &Value, key: &str) -> bool {
    got.get(key).and_then(|v| v.get("enabled")).and_then(Value::as_bool).unwrap_or(false)
}

/// `{users: [{login}], teams: [{slug}], apps: [{slug}]}` → `{users: [login], …}`.
fn actors(v: &Value) -> Value {
    let names = |list: &str, field: &str| -> Value {
        let items = v[list]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x.get(field).cloned()).collect::<Vec<Value>>());
        Value::Array(items.unwrap_or_default())
    };
    let mut out = Map::new();
    out.insert("users".into(), names("users", "login"));
    out.insert("teams".into(), names("teams", "slug"));
    if v.get("apps").is_some() {
        out.insert("apps".into(), names("apps", "slug"));
    }
    Value::Object(out)
}

fn next_backoff(backoff: &mut Duration, max: Duration) -> Duration {
    let wait = (*backoff).min(max);
    *backoff = backoff.saturating_mul(2);
    wait
}

/// `METHOD /path` for messages.
/// FNV-1a, 64 bits: a key for a token that is not the token.
fn fnv(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn request(method: Method, path: &str) -> String {
    format!("{method} {path}")
}

fn decode<R: DeserializeOwned>(r: &HttpResponse, what: &str) -> Result<R, ApiError> {
    serde_json::from_slice(&r.body)
        .map_err(|e| ApiError::Decode { what: what.to_owned(), message: e.to_string() })
}

/// The body's `message`, or a short piece of the body.
fn error_message(r: &HttpResponse) -> String {
    match serde_json::from_slice::<Value>(&r.body) {
        Ok(v) if v["message"].is_string() => v["message"].as_str().unwrap_or_default().to_owned(),
        _ => {
            let text: String = String::from_utf8_lossy(&r.body).chars().take(200).collect();
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.is_empty() { format!("HTTP {}", r.status) } else { text }
        }
    }
}

/// A 422's `errors`: strings, or objects with a `message` or a `code`.
fn error_details(r: &HttpResponse) -> Vec<String> {
    let Ok(v) = serde_json::from_slice::<Value>(&r.body) else {
        return Vec::new();
    };
    let Some(errors) = v["errors"].as_array() else {
        return Vec::new();
    };
    errors
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            Value::Object(o) => {
                let text = |k: &str| o.get(k).and_then(Value::as_str);
                match (text("message"), text("field"), text("code")) {
                    (Some(m), _, _) => m.to_owned(),
                    (None, Some(f), Some(c)) => format!("{f}: {c}"),
                    (None, _, Some(c)) => c.to_owned(),
                    _ => e.to_string(),
                }
            }
            other => other.to_string(),
        })
        .collect()
}

/// A 404 whose message says the branch is not protected (GitHub: "Branch not protected").
fn not_protected(r: &HttpResponse) -> bool {
    error_message(r).to_ascii_lowercase().contains("not protected")
}

/// The `rel="next"` URL of a `Link` header.
pub(crate) fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.trim().split_once(';')?;
        let url = url.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next")
        });
        is_next.then(|| url.to_owned())
    })
}

/// A branch name for a path: each `/`-separated segment percent-encoded, the `/` kept.
pub fn encode_branch(name: &str) -> String {
    name.split('/').map(encode_segment).collect::<Vec<_>>().join("/")
}

fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A query value: like a path segment, with `/` kept.
fn encode_query(s: &str) -> String {
    encode_branch(s)
}
