//! The stand-in's model of the Pages API: projects, deployments and the routes over them,
//! following `shared/contracts/cloudflare-pages.md`.

use serde_json::{Map, Value, json};

use crate::http::{Request, Response};
use crate::time::{epoch_millis, format_rfc3339};

/// The path prefix of the v4 API.
pub(super) const PREFIX: &str = "/client/v4";
const STAGES: [&str; 5] = ["queued", "initialize", "clone_repo", "build", "deploy"];
const MAX_DEPLOYMENTS_PER_PAGE: usize = 25;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Access {
    /// "Pages Read": GETs only.
    Read,
    /// "Pages Edit" (API reference: "Pages Write").
    Edit,
}

/// One project and its deployments, as the server holds them (secrets included).
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectRecord {
    pub account_id: String,
    /// The project object without `canonical_deployment` / `latest_deployment`.
    pub project: Value,
    /// Oldest first.
    pub deployments: Vec<DeploymentRecord>,
    pub canonical_deployment_id: Option<String>,
    /// Branches whose builds fail at the build stage.
    pub failing_branches: Vec<String>,
}

impl ProjectRecord {
    /// The project's name.
    pub fn name(&self) -> &str {
        self.project["name"].as_str().unwrap_or_default()
    }

    /// The top-level production branch.
    pub fn production_branch(&self) -> &str {
        self.project["production_branch"].as_str().unwrap_or_default()
    }

    /// The project as GET shows it: secrets hidden, canonical and latest deployment filled in.
    pub fn render(&self) -> Value {
        let mut project = self.project.clone();
        hide_secrets(&mut project);
        let canonical = self
            .canonical_deployment_id
            .as_deref()
            .and_then(|id| self.deployment(id))
            .map_or(Value::Null, DeploymentRecord::render);
        let latest = self.deployments.last().map_or(Value::Null, DeploymentRecord::render);
        project["canonical_deployment"] = canonical;
        project["latest_deployment"] = latest;
        project
    }

    fn deployment(&self, id: &str) -> Option<&DeploymentRecord> {
        self.deployments.iter().find(|d| d.id() == id)
    }
}

/// A deployment and how far its build has come.
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentRecord {
    pub value: Value,
    /// Index into the stages: queued, initialize, clone_repo, build, deploy.
    pub stage: usize,
    /// `active`, `success` or `failure`.
    pub status: String,
    fails: bool,
}

impl DeploymentRecord {
    /// The deployment's id.
    pub fn id(&self) -> &str {
        self.value["id"].as_str().unwrap_or_default()
    }

    /// The deployment as the API shows it.
    pub fn render(&self) -> Value {
        let mut value = self.value.clone();
        let stages: Vec<Value> = STAGES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let status = match i.cmp(&self.stage) {
                    std::cmp::Ordering::Less => "success",
                    std::cmp::Ordering::Equal => self.status.as_str(),
                    std::cmp::Ordering::Greater => "idle",
                };
                json!({"name": name, "status": status, "started_on": null, "ended_on": null})
            })
            .collect();
        value["latest_stage"] = stages[self.stage].clone();
        value["stages"] = Value::Array(stages);
        value
    }

    /// Moves the build one step on, as one poll's worth of time; true when it just succeeded.
    fn advance(&mut self) -> bool {
        if self.status != "active" {
            return false;
        }
        if self.fails && STAGES[self.stage] == "build" {
            self.status = "failure".to_owned();
        } else if self.stage + 1 < STAGES.len() {
            self.stage += 1;
        } else {
            self.status = "success".to_owned();
            return true;
        }
        false
    }

    fn is_live_production(&self) -> bool {
        self.status == "success" && self.value["environment"] == "production"
    }
}

/// Everything the stand-in holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApiState {
    pub projects: Vec<ProjectRecord>,
    next_id: u64,
}

impl ApiState {
    /// Finds a project by account and name.
    pub fn project(&self, account_id: &str, name: &str) -> Option<&ProjectRecord> {
        self.projects.iter().find(|p| p.account_id == account_id && p.name() == name)
    }

    pub(super) fn add_project(&mut self, record: ProjectRecord) {
        self.projects.push(record);
    }

    /// Adds a finished deployment (used for the initial production deployment).
    pub(super) fn seed_deployment(&mut self, index: usize, branch: &str, trigger: &str) {
        let id = self.new_id();
        let a_day_ago = epoch_millis(std::time::SystemTime::now()) - 86_400_000;
        if let Some(project) = self.projects.get_mut(index) {
            let mut record = new_deployment(project, &id, branch, trigger, a_day_ago);
            record.stage = STAGES.len() - 1;
            record.status = "success".to_owned();
            if record.is_live_production() {
                project.canonical_deployment_id = Some(id);
            }
            project.deployments.push(record);
        }
    }

    fn new_id(&mut self) -> String {
        self.next_id += 1;
        let n = self.next_id;
        let short = (n.wrapping_mul(0x9E37_79B9) & 0xffff_ffff) as u32;
        format!("{short:08x}-{:04x}-4000-8000-{n:012x}", n & 0xffff)
    }
}

/// Serves one authorised request.
pub(super) fn route(state: &mut ApiState, req: &Request, access: Access) -> Response {
    let Some(rest) = req.path().strip_prefix(PREFIX) else {
        return no_route();
    };
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let (account, tail) = match segments.as_slice() {
        ["accounts", account, "pages", "projects", tail @ ..] => (*account, tail),
        _ => return no_route(),
    };
    let write = req.method != "GET";
    if write && access != Access::Edit {
        return auth_error(403);
    }
    match (req.method.as_str(), tail) {
        ("GET", []) => list_projects(state, account, req),
        ("GET", [name]) => with_project(state, account, name, |p, _| ok(p.render())),
        ("PATCH", [name]) => with_project(state, account, name, |p, _| patch_project(p, req)),
        ("GET", [name, "deployments"]) => {
            with_project(state, account, name, |p, _| list_deployments(p, req))
        }
        ("POST", [name, "deployments"]) => {
            let id = state.new_id();
            with_project(state, account, name, |p, _| create_deployment(p, req, &id))
        }
        ("GET", [name, "deployments", id]) => {
            with_project(state, account, name, |p, _| poll_deployment(p, id))
        }
        ("POST", [name, "deployments", id, "rollback"]) => {
            with_project(state, account, name, |p, _| rollback(p, id))
        }
        _ => no_route(),
    }
}

/// The envelope of a failure.
pub(super) fn failure(status: u16, code: i64, message: &str) -> Response {
    json_response(
        status,
        &json!({
            "success": false,
            "errors": [{"code": code, "message": message}],
            "messages": [],
            "result": null
        }),
    )
}

/// 10000, the answer to a bad token and to a token without the needed permission.
pub(super) fn auth_error(status: u16) -> Response {
    failure(status, 10000, "Authentication error")
}

fn ok(result: Value) -> Response {
    json_response(200, &json!({"success": true, "errors": [], "messages": [], "result": result}))
}

fn ok_page(items: Vec<Value>, page: usize, per_page: usize, total: usize) -> Response {
    let body = json!({
        "success": true, "errors": [], "messages": [], "result": items.clone(),
        "result_info": {
            "page": page, "per_page": per_page, "count": items.len(),
            "total_count": total, "total_pages": total.div_ceil(per_page),
        }
    });
    json_response(200, &body)
}

fn json_response(status: u16, body: &Value) -> Response {
    Response {
        status,
        headers: Vec::new(),
        content_type: "application/json",
        body: body.to_string().into_bytes(),
    }
}

fn no_route() -> Response {
    failure(404, 7003, "No route for the URI")
}

fn with_project(
    state: &mut ApiState,
    account: &str,
    name: &str,
    f: impl FnOnce(&mut ProjectRecord, &str) -> Response,
) -> Response {
    let found = state.projects.iter_mut().find(|p| p.account_id == account && p.name() == name);
    match found {
        Some(project) => f(project, account),
        None => failure(
            404,
            8000007,
            "Project not found. The specified project name does not match any of your existing \
             projects.",
        ),
    }
}

fn poll_deployment(project: &mut ProjectRecord, id: &str) -> Response {
    let Some(d) = project.deployments.iter_mut().find(|d| d.id() == id) else {
        return deployment_not_found();
    };
    let finished_now = d.advance();
    let live = finished_now && d.is_live_production();
    let rendered = d.render();
    if live {
        project.canonical_deployment_id = Some(id.to_owned());
    }
    ok(rendered)
}

fn deployment_not_found() -> Response {
    failure(
        404,
        8000009,
        "The deployment ID you have specified does not exist. Update the deployment ID and try \
         again.",
    )
}

/// Reads `page` / `per_page`; `Err` is the 8000024 answer.
fn paging(req: &Request, default: usize, max: Option<usize>) -> Result<(usize, usize), Response> {
    let bad = || {
        failure(
            400,
            8000024,
            "Invalid list options provided. Review the `page` or `per_page` parameter.",
        )
    };
    let mut page = 1;
    let mut per_page = default;
    for (k, v) in req.query() {
        match k {
            "page" => page = v.parse().map_err(|_| bad())?,
            "per_page" => per_page = v.parse().map_err(|_| bad())?,
            _ => {}
        }
    }
    if page == 0 || per_page == 0 || max.is_some_and(|m| per_page > m) {
        return Err(bad());
    }
    Ok((page, per_page))
}

fn page_of(items: Vec<Value>, page: usize, per_page: usize) -> Response {
    let total = items.len();
    let slice = items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
    ok_page(slice, page, per_page, total)
}

fn list_projects(state: &ApiState, account: &str, req: &Request) -> Response {
    let (page, per_page) = match paging(req, 10, None) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let items = state
        .projects
        .iter()
        .filter(|p| p.account_id == account)
        .map(ProjectRecord::render)
        .collect();
    page_of(items, page, per_page)
}

fn list_deployments(project: &ProjectRecord, req: &Request) -> Response {
    let (page, per_page) = match paging(req, MAX_DEPLOYMENTS_PER_PAGE, Some(25)) {
        Ok(p) => p,
        Err(response) => return response,
    };
    let env = req.query().into_iter().find(|(k, _)| *k == "env").map(|(_, v)| v);
    let items = project
        .deployments
        .iter()
        .rev()
        .filter(|d| env.is_none_or(|e| d.value["environment"] == e))
        .map(DeploymentRecord::render)
        .collect();
    page_of(items, page, per_page)
}

fn patch_project(project: &mut ProjectRecord, req: &Request) -> Response {
    let Ok(Value::Object(patch)) = serde_json::from_slice::<Value>(&req.body) else {
        return failure(400, 8000000, "The request body is not a JSON object.");
    };
    if let Some(source) = patch.get("source") {
        if project.project["source"].is_null() {
            return failure(
                400,
                8000069,
                "You cannot update the `source` object in a Direct Uploads project.",
            );
        }
        if source.get("type").is_none() || source.get("config").is_none() {
            return failure(400, 8000000, "source requires `type` and `config`.");
        }
    }
    if patch.get("production_branch").is_some_and(|b| !b.is_string()) {
        return failure(400, 8000033, "You must set a production branch.");
    }
    let kept = keep_repository(&project.project);
    for key in ["production_branch", "source", "build_config", "deployment_configs"] {
        if let Some(value) = patch.get(key) {
            merge(&mut project.project[key], value);
        }
    }
    restore_repository(&mut project.project, kept);
    ok(project.render())
}

/// The repository a git project is connected to, which a PATCH cannot change.
fn keep_repository(project: &Value) -> Option<Value> {
    let source = project.get("source").filter(|s| !s.is_null())?;
    let config = &source["config"];
    Some(json!({
        "type": source["type"],
        "owner": config["owner"], "owner_id": config["owner_id"],
        "repo_name": config["repo_name"], "repo_id": config["repo_id"],
    }))
}

fn restore_repository(project: &mut Value, kept: Option<Value>) {
    let Some(kept) = kept else { return };
    project["source"]["type"] = kept["type"].clone();
    for key in ["owner", "owner_id", "repo_name", "repo_id"] {
        project["source"]["config"][key] = kept[key].clone();
    }
}

/// JSON merge patch (RFC 7386): objects merge, `null` deletes, arrays and scalars replace.
fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// GET never returns the value of a `secret_text` env var.
fn hide_secrets(project: &mut Value) {
    let Some(configs) = project.get_mut("deployment_configs").and_then(Value::as_object_mut) else {
        return;
    };
    for env in configs.values_mut() {
        let Some(vars) = env.get_mut("env_vars").and_then(Value::as_object_mut) else {
            continue;
        };
        for var in vars.values_mut() {
            if var["type"] == "secret_text"
                && let Some(var) = var.as_object_mut()
            {
                var.remove("value");
            }
        }
    }
}

fn create_deployment(project: &mut ProjectRecord, req: &Request, id: &str) -> Response {
    let fields = req.form_fields();
    let branch = fields
        .iter()
        .find(|(k, _)| k == "branch")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| project.production_branch().to_owned());
    let now = epoch_millis(std::time::SystemTime::now());
    let record = new_deployment(project, id, &branch, "ad_hoc", now);
    let rendered = record.render();
    project.deployments.push(record);
    ok(rendered)
}

fn new_deployment(
    project: &ProjectRecord,
    id: &str,
    branch: &str,
    trigger: &str,
    created_millis: i64,
) -> DeploymentRecord {
    let short_id = &id[..8.min(id.len())];
    let subdomain = project.project["subdomain"].as_str().unwrap_or_default();
    let production = branch == project.production_branch();
    let alias = branch.replace(|c: char| !c.is_ascii_alphanumeric(), "-").to_lowercase();
    let now = format_rfc3339(created_millis);
    let value = json!({
        "id": id, "short_id": short_id,
        "project_id": project.project["id"], "project_name": project.name(),
        "environment": if production { "production" } else { "preview" },
        "url": format!("https://{short_id}.{subdomain}"),
        "created_on": now, "modified_on": now,
        "deployment_trigger": {"type": trigger, "metadata": {
            "branch": branch, "commit_hash": format!("{:0>40}", short_id),
            "commit_message": "stand-in build", "commit_dirty": false}},
        "aliases": if production { Value::Null } else { json!([format!("https://{alias}.{subdomain}")]) },
        "is_skipped": false,
        "production_branch": project.production_branch(),
    });
    DeploymentRecord {
        value,
        stage: 0,
        status: "active".to_owned(),
        fails: project.failing_branches.iter().any(|b| b == branch),
    }
}

fn rollback(project: &mut ProjectRecord, id: &str) -> Response {
    let Some(target) = project.deployment(id) else {
        return deployment_not_found();
    };
    if !target.is_live_production() {
        return failure(400, 8000000, "You can only rollback to successful builds on production.");
    }
    let rendered = target.render();
    project.canonical_deployment_id = Some(id.to_owned());
    ok(rendered)
}
