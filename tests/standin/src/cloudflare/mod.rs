//! [`StandIn`]: a stateful local server of the Cloudflare Pages API, on 127.0.0.1, that
//! follows `shared/contracts/cloudflare-pages.md`: the envelope, 404 + 8000007, 10000 for a
//! bad token and for a read-only token on writes, merge-PATCH, hidden secrets, 8000069,
//! multipart deployments that build over a few polls, rollback, paging limits, and
//! scriptable faults (429 with `Retry-After`, 5xx, delays, dropped connections).
//!
//! Both rebranch's tests and `rebranch demo` run the real client against it, with no token
//! and no network.

mod api;

use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use crate::http::{self, Request, Response};
pub use api::{Access, ApiState, DeploymentRecord, ProjectRecord};

/// A project to start the stand-in with.
#[derive(Debug, Clone, PartialEq)]
pub struct StandInProject {
    pub account_id: String,
    /// The full project object as stored (secrets included).
    pub project: Value,
    /// Branches whose builds fail at the build stage.
    pub failing_branches: Vec<String>,
}

impl StandInProject {
    /// A GitHub-connected project deploying `branch`, with a secret env var.
    pub fn git(account_id: &str, name: &str, branch: &str) -> Self {
        let mut project = base_project(name, branch);
        project["source"] = json!({
            "type": "github",
            "config": {
                "owner": "example-org", "owner_id": "70562294",
                "repo_name": name, "repo_id": "1262861156",
                "production_branch": branch,
                "production_deployments_enabled": true,
                "deployments_enabled": true,
                "preview_deployment_setting": "all",
                "preview_branch_includes": ["*"], "preview_branch_excludes": [],
                "path_includes": ["*"], "path_excludes": [],
                "pr_comments_enabled": true
            }
        });
        Self::from_value(account_id, project)
    }

    /// A Direct Upload project (no `source`) whose production branch is `branch`.
    pub fn direct_upload(account_id: &str, name: &str, branch: &str) -> Self {
        let mut project = base_project(name, branch);
        project["source"] = Value::Null;
        Self::from_value(account_id, project)
    }

    /// A project from a full project object.
    pub fn from_value(account_id: &str, project: Value) -> Self {
        Self { account_id: account_id.to_owned(), project, failing_branches: Vec::new() }
    }
}

/// A token the stand-in knows, and what it may do.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRule {
    pub token: String,
    pub access: Access,
}

impl std::fmt::Debug for TokenRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRule").field("access", &self.access).finish()
    }
}

impl TokenRule {
    /// A token with "Cloudflare Pages › Edit".
    pub fn edit(token: &str) -> Self {
        Self { token: token.to_owned(), access: Access::Edit }
    }

    /// A token with only "Cloudflare Pages › Read".
    pub fn read(token: &str) -> Self {
        Self { token: token.to_owned(), access: Access::Read }
    }
}

/// A scripted misbehaviour for matching requests.
#[derive(Debug, Clone, PartialEq)]
pub struct Fault {
    /// `GET`, `POST`, …; `None` matches any method.
    pub method: Option<String>,
    /// A substring of the path and query; empty matches any.
    pub path_contains: String,
    pub kind: FaultKind,
    /// How many requests it hits; `None` is forever.
    pub times: Option<u32>,
}

impl Fault {
    /// A fault for `method` (or any) requests whose path contains `path_contains`.
    pub fn new(
        method: Option<&str>,
        path_contains: &str,
        kind: FaultKind,
        times: Option<u32>,
    ) -> Self {
        Self {
            method: method.map(str::to_owned),
            path_contains: path_contains.to_owned(),
            kind,
            times,
        }
    }

    fn matches(&self, req: &Request) -> bool {
        self.times != Some(0)
            && self.method.as_deref().is_none_or(|m| m == req.method)
            && req.target.contains(&self.path_contains)
    }
}

/// What a fault does.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultKind {
    /// HTTP 429, with `Retry-After` when given; the request is not served.
    RateLimit { retry_after_secs: Option<u64> },
    /// This 5xx status; the request is not served (502–504 come as an HTML page, as from
    /// Cloudflare's edge, other statuses in the envelope).
    ServerError { status: u16 },
    /// Wait, then serve.
    DelayBefore(Duration),
    /// Serve (the change happens), then wait before answering: a client timeout loses the answer.
    DelayAfter(Duration),
    /// Close the connection without an answer; the request is not served.
    Drop,
}

/// How the `Authorization` header looked; its value itself is never recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum BearerSeen {
    Missing,
    Malformed,
    Unknown,
    Known(Access),
}

/// One request as the stand-in received it, `Authorization` value removed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RecordedRequest {
    pub method: String,
    /// Path and query.
    pub path: String,
    /// All headers; the `Authorization` value is replaced by `<redacted>`.
    pub headers: Vec<(String, String)>,
    pub bearer: BearerSeen,
    pub body: String,
}

/// The running stand-in; it stops when dropped.
pub struct StandIn {
    server: http::Server,
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<ApiState>,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<Fault>>,
    tokens: Vec<TokenRule>,
}

impl StandIn {
    /// Starts the server on 127.0.0.1 with an ephemeral port. Each project gets a finished
    /// production deployment of its production branch (a day old), so it has a
    /// `canonical_deployment` to roll back to.
    pub fn start(projects: Vec<StandInProject>, tokens: Vec<TokenRule>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let shared = Arc::new(Shared {
            state: Mutex::new(initial_state(projects)),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            tokens,
        });
        let server = http::Server::start(listener, "pages-standin", Arc::clone(&shared), serve)?;
        Ok(Self { server, shared })
    }

    /// The base URL to give the client, e.g. `http://127.0.0.1:41234/client/v4`.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.server.addr(), api::PREFIX)
    }

    /// A snapshot of the server's state (secrets included, as stored).
    pub fn state(&self) -> ApiState {
        lock(&self.shared.state).clone()
    }

    /// Changes the state directly, e.g. to simulate someone editing the project meanwhile.
    pub fn with_state<R>(&self, f: impl FnOnce(&mut ApiState) -> R) -> R {
        f(&mut lock(&self.shared.state))
    }

    /// The requests received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Adds a fault; the first matching fault with hits left applies to a request.
    pub fn inject(&self, fault: Fault) {
        lock(&self.shared.faults).push(fault);
    }

    /// Removes all faults.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").field("addr", &self.server.addr()).finish()
    }
}

fn initial_state(projects: Vec<StandInProject>) -> ApiState {
    let mut state = ApiState::default();
    for (index, p) in projects.into_iter().enumerate() {
        let branch = p.project["production_branch"].as_str().unwrap_or_default().to_owned();
        let trigger = if p.project["source"].is_null() { "ad_hoc" } else { "github:push" };
        state.add_project(ProjectRecord {
            account_id: p.account_id,
            project: p.project,
            deployments: Vec::new(),
            canonical_deployment_id: None,
            failing_branches: p.failing_branches,
        });
        state.seed_deployment(index, &branch, trigger);
    }
    state
}

fn serve(shared: &Shared, stream: &TcpStream) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some(req) = http::read_request(stream) else {
        return;
    };
    let bearer = shared.bearer(&req);
    shared.record(&req, bearer);
    let response = match shared.take_fault(&req) {
        Some(FaultKind::Drop) => return,
        Some(FaultKind::RateLimit { retry_after_secs }) => rate_limited(retry_after_secs),
        Some(FaultKind::ServerError { status }) => server_error(status),
        Some(FaultKind::DelayBefore(wait)) => {
            std::thread::sleep(wait);
            shared.handle(&req, bearer)
        }
        Some(FaultKind::DelayAfter(wait)) => {
            let response = shared.handle(&req, bearer);
            std::thread::sleep(wait);
            response
        }
        None => shared.handle(&req, bearer),
    };
    let _ = http::write_response(stream, &response);
}

impl Shared {
    fn bearer(&self, req: &Request) -> BearerSeen {
        let Some(value) = req.header("authorization") else {
            return BearerSeen::Missing;
        };
        let Some(token) = value.strip_prefix("Bearer ") else {
            return BearerSeen::Malformed;
        };
        self.tokens
            .iter()
            .find(|rule| rule.token == token)
            .map_or(BearerSeen::Unknown, |rule| BearerSeen::Known(rule.access))
    }

    fn record(&self, req: &Request, bearer: BearerSeen) {
        let headers = req
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("authorization") { "<redacted>" } else { v };
                (k.clone(), v.to_owned())
            })
            .collect();
        lock(&self.requests).push(RecordedRequest {
            method: req.method.clone(),
            path: req.target.clone(),
            headers,
            bearer,
            body: String::from_utf8_lossy(&req.body).into_owned(),
        });
    }

    fn take_fault(&self, req: &Request) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let fault = faults.iter_mut().find(|f| f.matches(req))?;
        if let Some(times) = fault.times.as_mut() {
            *times -= 1;
        }
        Some(fault.kind.clone())
    }

    fn handle(&self, req: &Request, bearer: BearerSeen) -> Response {
        match bearer {
            BearerSeen::Missing | BearerSeen::Unknown => api::auth_error(401),
            BearerSeen::Malformed => api::failure(400, 6003, "Invalid request headers"),
            BearerSeen::Known(access) => api::route(&mut lock(&self.state), req, access),
        }
    }
}

fn rate_limited(retry_after_secs: Option<u64>) -> Response {
    let mut response =
        api::failure(429, 971, "Please wait and consider throttling your request speed");
    if let Some(secs) = retry_after_secs {
        response.headers.push(("Retry-After".to_owned(), secs.to_string()));
    }
    response
}

fn server_error(status: u16) -> Response {
    if (502..=504).contains(&status) {
        return Response {
            status,
            headers: Vec::new(),
            content_type: "text/html",
            body: format!("<html><body><h1>{status}</h1>stand-in edge error</body></html>")
                .into_bytes(),
        };
    }
    api::failure(status, 8000000, "An unknown error occurred.")
}

fn base_project(name: &str, branch: &str) -> Value {
    json!({
        "id": format!("48ddb51b-4568-4f38-94de-{:012x}", name.len()),
        "name": name,
        "subdomain": format!("{name}.pages.dev"),
        "domains": [format!("{name}.pages.dev")],
        "production_branch": branch,
        "created_on": "2023-06-02T18:29:55.944449Z",
        "build_config": {"build_command": null, "destination_dir": "", "root_dir": "",
                         "build_caching": null, "web_analytics_tag": null, "web_analytics_token": null},
        "deployment_configs": {
            "production": {"compatibility_date": "2026-02-24", "env_vars": {
                "CHART_SIGNING_KEY": {"type": "secret_text", "value": "standin-secret-value"},
                "MODE": {"type": "plain_text", "value": "production"}}},
            "preview": {"compatibility_date": "2026-02-24", "env_vars": null}
        },
        "uses_functions": false, "framework": "", "framework_version": ""
    })
}

/// Locks, recovering from a poisoned mutex (a panicking test thread must not wedge the server).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
