//! [`GitHubStandIn`]: a stateful local server of the part of the GitHub REST API that a
//! branch migration touches, on 127.0.0.1, written from `shared/contracts/github-and-git2.md`
//! §A and the OpenAPI excerpt beside it: branches (read from a bare repository through the
//! git CLI on every request, so real pushes are seen), the asynchronous rename with its 301s,
//! classic protection with its asymmetric GET/PUT shapes, rulesets and the effective rules of
//! a branch, pull requests (list with `Link` paging, retarget, merge with the git CLI), Pages
//! with a build delay and a site that goes down with its branch, rate-limit headers, tokens
//! with admin/write/read permission, and scriptable faults.
//!
//! [`GitHubStandIn::install_hooks`] puts a `pre-receive` hook into the bare repository that
//! refuses pushes the way GitHub's protection does, from a rules file the stand-in rewrites
//! on every change.
//!
//! | route (under `/repos/{owner}/{repo}`) | what it does |
//! | --- | --- |
//! | `GET ` (the repository) | `default_branch`, `private`, `visibility`, `html_url`, `full_name`; `permissions` for a token |
//! | `GET /branches`, `GET /branches/{b}` | from `git for-each-ref`; 301 + `Location` for a renamed branch (also while in progress), 404 for the new name until it lands |
//! | `POST /branches/{b}/rename` | 201 at once; lands (`git branch -m`) after the rename delay, moving PR bases, closing PRs from it, classic protection, Pages source, default branch; rulesets stay |
//! | `GET/PUT/DELETE /branches/{b}/protection` | classic protection: flat PUT body (four required nullable keys, else 422), GET in the `{enabled,url}` shape, 404 "Branch not protected" / "Branch not found" |
//! | `GET/POST/DELETE …/protection/required_signatures` | the signatures flag |
//! | `GET/POST /rulesets`, `GET/PUT/DELETE /rulesets/{id}` | summaries / full rulesets; 422 on a missing `name`/`enforcement`, a taken name, bad `pull_request` parameters; 403 "Upgrade to GitHub Pro…" without rulesets |
//! | `GET /rules/branches/{b}` | the active rulesets' rules matching `b` (`refs/heads/x`, `~DEFAULT_BRANCH`, `~ALL`, `*`/`**`, minus exclude), with `ruleset_*` fields; classic protection is not listed |
//! | `GET/POST /pulls`, `GET/PATCH /pulls/{n}`, `GET/PUT /pulls/{n}/merge` | `state`/`base`/`head` filters, `per_page`/`page` with `Link`; 422 for a missing base; merge and squash done with `git commit-tree` + `update-ref`; PRs whose branches are gone close on the next read |
//! | `GET/PUT /pages` | `page` shape; a source change is "building" for the build delay, then the site is a snapshot of the branch under `path` |
//! | `POST /git/refs`, `GET /git/ref/heads/{b}`, `PATCH/DELETE /git/refs/heads/{b}` | refs through `git update-ref`, refused as the hook refuses |
//! | `GET /rate_limit` (no prefix) | the caller's budget, not counted |
//! | `GET /__pages/{owner}/{repo}/{file}` (no prefix) | the Pages site: 404 for everything once its source branch is gone |
//!
//! Every API request needs a `User-Agent` (else 403); `Bearer`/`token` credentials: unknown
//! → 401 "Bad credentials"; none → public repositories readable, writes 401, private ones
//! 404; too little access → 403 with `X-Accepted-GitHub-Permissions`. Every API answer
//! carries `x-ratelimit-*` headers counted per token.

mod api;
mod git;
mod hooks;
mod model;
#[cfg(test)]
mod tests;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;

use crate::http;
use model::State;

/// A repository the stand-in serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhRepo {
    pub owner: String,
    pub name: String,
    /// A bare repository, often served by `git daemon` too.
    pub git_dir: PathBuf,
    pub default_branch: String,
    pub private: bool,
    /// `false`: the rulesets endpoints answer 403 "Upgrade to GitHub Pro…", like a private
    /// repository on a free plan.
    pub rulesets_available: bool,
}

impl GhRepo {
    /// A public repository whose default branch is `main`, with rulesets available.
    pub fn new(owner: &str, name: &str, git_dir: impl Into<PathBuf>) -> Self {
        Self {
            owner: owner.to_owned(),
            name: name.to_owned(),
            git_dir: git_dir.into(),
            default_branch: "main".to_owned(),
            private: false,
            rulesets_available: true,
        }
    }
}

/// A token's permission, the same on every repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GhAccess {
    Read,
    Write,
    Admin,
}

/// A scripted misbehaviour; faulted requests are not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GhFault {
    /// The next `times` API requests get 403 "You have exceeded a secondary rate limit…",
    /// with `retry-after` when given.
    SecondaryRateLimit { times: u32, retry_after: Option<u64> },
    /// The next `times` API requests get 403 "API rate limit exceeded…" with
    /// `x-ratelimit-remaining: 0` and a reset `reset_in_secs` from now.
    PrimaryRateLimit { times: u32, reset_in_secs: u64 },
    /// The next `times` requests whose method matches (`None`: any) and whose path and query
    /// contain `path_contains` get this status and `{"message": …}`.
    Status { method: Option<String>, path_contains: String, status: u16, times: u32 },
}

/// One request as the stand-in received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhRecorded {
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// All headers as sent, `Authorization` included, so tests can assert what was sent.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl GhRecorded {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// The running stand-in; it stops when dropped.
pub struct GitHubStandIn {
    server: http::Server,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
}

impl GitHubStandIn {
    /// Starts the server on 127.0.0.1 with an ephemeral port.
    pub fn start(repos: Vec<GhRepo>, tokens: Vec<(String, GhAccess)>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let addr = listener.local_addr()?;
        let base = format!("http://{addr}");
        let state = State::new(base, repos, tokens);
        state.write_all_rules();
        let shared = Arc::new(Shared { state: Mutex::new(state) });
        let server = http::Server::start(listener, "github-standin", Arc::clone(&shared), serve)?;
        Ok(Self { server, shared })
    }

    /// `http://127.0.0.1:PORT`, to give the client as `GITHUB_API_URL`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// Where a repository's Pages site is served: what its `html_url` points at.
    pub fn site_url(&self, owner: &str, name: &str) -> String {
        model::site_url(&self.base_url(), owner, name)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.shared.state)
    }

    /// Opens a pull request; its number.
    pub fn add_pull(&self, owner: &str, name: &str, head: &str, base: &str, title: &str) -> u64 {
        let mut state = self.state();
        let repo = state.repo_mut(owner, name).expect("a repository of the stand-in");
        repo.add_pull(head, base, title, "")
    }

    /// A pull request as `GET /pulls/{n}` shows it (Null when there is none).
    pub fn pull_json(&self, owner: &str, name: &str, number: u64) -> Value {
        let mut state = self.state();
        let base = state.base.clone();
        let repo = state.repo_mut(owner, name).expect("a repository of the stand-in");
        repo.close_orphaned_pulls();
        repo.pull(number).map_or(Value::Null, |p| repo.pull_value(&base, p))
    }

    /// Protects `branch` as if by `PUT …/protection` with this body (not validated).
    pub fn protect(&self, owner: &str, name: &str, branch: &str, put_body: Value) {
        let mut state = self.state();
        let repo = state.repo_mut(owner, name).expect("a repository of the stand-in");
        repo.protections.insert(branch.to_owned(), model::Protection::from_put(put_body));
        state.write_all_rules();
    }

    /// The protection of `branch` in the shape `GET …/protection` answers.
    pub fn protection_json(&self, owner: &str, name: &str, branch: &str) -> Option<Value> {
        let state = self.state();
        let repo = state.repo(owner, name).expect("a repository of the stand-in");
        repo.protections.get(branch).map(|p| p.get_shape(&repo.api_url(&state.base), branch))
    }

    /// Adds a ruleset as if by `POST /rulesets` (not validated); its id.
    pub fn add_ruleset(&self, owner: &str, name: &str, body: Value) -> u64 {
        let mut state = self.state();
        let id = state.next_ruleset_id();
        let base = state.base.clone();
        let repo = state.repo_mut(owner, name).expect("a repository of the stand-in");
        repo.insert_ruleset(&base, id, body);
        state.write_all_rules();
        id
    }

    /// Every ruleset of the repository, in full.
    pub fn rulesets_json(&self, owner: &str, name: &str) -> Vec<Value> {
        let state = self.state();
        state.repo(owner, name).expect("a repository of the stand-in").rulesets.clone()
    }

    /// Turns Pages on (legacy build from `branch` under `path`, "/" or "/docs"), built at once.
    pub fn enable_pages(
        &self,
        owner: &str,
        name: &str,
        branch: &str,
        path: &str,
        cname: Option<&str>,
    ) {
        let mut state = self.state();
        let repo = state.repo_mut(owner, name).expect("a repository of the stand-in");
        repo.pages = Some(model::Pages::new(branch, path, cname));
        repo.build_pages_now();
    }

    /// The Pages site as `GET /pages` shows it, without counting as a poll.
    pub fn pages_json(&self, owner: &str, name: &str) -> Option<Value> {
        let state = self.state();
        let base = state.base.clone();
        let repo = state.repo(owner, name).expect("a repository of the stand-in");
        repo.pages.as_ref().map(|p| p.value(&base, repo))
    }

    /// What the Pages site serves at `path` now; `None` when it does not (the site is down
    /// when its source branch is gone).
    pub fn site_file(&self, owner: &str, name: &str, path: &str) -> Option<Vec<u8>> {
        let state = self.state();
        state.repo(owner, name).expect("a repository of the stand-in").site_file(path)
    }

    /// A Pages source change leaves the status "building" for this many `GET /pages`.
    pub fn set_build_delay(&self, gets: u32) {
        self.state().build_delay = gets;
    }

    /// A rename stays in progress for this many requests before it lands in git.
    pub fn set_rename_delay(&self, requests: u32) {
        self.state().rename_delay = requests;
    }

    /// Adds a fault; faults apply in the order they were added.
    pub fn inject(&self, fault: GhFault) {
        self.state().faults.push(fault);
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<GhRecorded> {
        self.state().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Writes an executable `pre-receive` hook into the bare repository that refuses pushes
    /// as GitHub's protection would, from `<git_dir>/standin-rules`.
    pub fn install_hooks(&self, owner: &str, name: &str) -> std::io::Result<()> {
        let state = self.state();
        let repo = state.repo(owner, name).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no repository {owner}/{name}"),
            )
        })?;
        hooks::install(&repo.info.git_dir)?;
        repo.write_rules()
    }
}

impl std::fmt::Debug for GitHubStandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitHubStandIn").field("addr", &self.server.addr()).finish()
    }
}

fn serve(shared: &Shared, stream: &TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(req) = http::read_request(stream) else {
        return;
    };
    let response = api::handle(&mut lock(&shared.state), &req);
    let _ = http::write_response(stream, &response);
}

/// Locks, recovering from a poisoned mutex (a panicking test thread must not wedge the server).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
