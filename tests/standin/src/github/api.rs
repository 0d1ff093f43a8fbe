//! Routes: each request is recorded, counted against renames in progress, checked
//! (User-Agent, faults, token, rate limit) and served from the state and the bare repository.

use serde_json::{Value, json};

use super::model::{Pages, RepoState, State, now_secs, ref_name_matches};
use super::{GhAccess, GhFault, GhRecorded, git};
use crate::http::{Request, Response};

const DOCS: &str = "https://docs.github.com/rest";
const USER_AGENT_MESSAGE: &str = "Request forbidden by administrative rules. Please make sure your request has a User-Agent header (https://docs.github.com/en/rest/overview/resources-in-the-rest-api#user-agent-required). Check https://developer.github.com for other possible causes.";
const SECONDARY_MESSAGE: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.";
const UPGRADE_MESSAGE: &str =
    "Upgrade to GitHub Pro or make this repository public to enable this feature.";

/// Who is asking.
#[derive(Debug, Clone)]
struct Caller {
    /// The token as sent ("" when none).
    token: String,
    access: Option<GhAccess>,
}

/// A response in the making: status, JSON body, extra headers.
fn json_response(status: u16, body: &Value) -> Response {
    Response {
        status,
        headers: Vec::new(),
        content_type: "application/json; charset=utf-8",
        body: if status == 204 { Vec::new() } else { body.to_string().into_bytes() },
    }
}

fn message(status: u16, text: &str) -> Response {
    json_response(
        status,
        &json!({"message": text, "documentation_url": DOCS, "status": status.to_string()}),
    )
}

fn not_found() -> Response {
    message(404, "Not Found")
}

fn validation_failed(errors: Value) -> Response {
    json_response(
        422,
        &json!({"message": "Validation Failed", "errors": errors, "documentation_url": DOCS, "status": "422"}),
    )
}

fn invalid_request(detail: &str) -> Response {
    message(422, &format!("Invalid request.\n\n{detail}"))
}

fn no_content() -> Response {
    json_response(204, &Value::Null)
}

fn with_header(mut r: Response, k: &str, v: &str) -> Response {
    r.headers.push((k.to_owned(), v.to_owned()));
    r
}

/// Serves one request.
pub fn handle(state: &mut State, req: &Request) -> Response {
    state.requests.push(GhRecorded {
        method: req.method.clone(),
        path: req.target.clone(),
        headers: req.headers.clone(),
        body: String::from_utf8_lossy(&req.body).into_owned(),
    });
    state.tick_renames();
    let path = percent_decode(req.path());
    if let Some(rest) = path.strip_prefix("/__pages/") {
        return serve_site(state, rest);
    }
    let anonymous = Caller { token: String::new(), access: None };
    if req.header("user-agent").is_none_or(|v| v.trim().is_empty()) {
        let r = json_response(403, &json!({"message": USER_AGENT_MESSAGE}));
        return with_rate_headers(state, &anonymous, r);
    }
    if let Some(r) = take_fault(state, req) {
        return with_rate_headers(state, &anonymous, r);
    }
    let caller = match caller(state, req) {
        Ok(c) => c,
        Err(r) => return with_rate_headers(state, &anonymous, r),
    };
    if path != "/rate_limit" {
        *state.used.entry(caller.token.clone()).or_default() += 1;
    }
    let response = route(state, req, &path, &caller);
    with_rate_headers(state, &caller, response)
}

/// Every API response carries the caller's budget (a faulted primary limit brings its own).
fn with_rate_headers(state: &State, caller: &Caller, mut response: Response) -> Response {
    let (limit, used) = budget(state, caller);
    let has = |k: &str| response.headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(k));
    let mut extra = Vec::new();
    for (k, v) in [
        ("x-ratelimit-limit", limit.to_string()),
        ("x-ratelimit-remaining", limit.saturating_sub(used).to_string()),
        ("x-ratelimit-used", used.to_string()),
        ("x-ratelimit-reset", state.reset_at.to_string()),
        ("x-ratelimit-resource", "core".to_owned()),
        ("x-github-api-version-selected", "2022-11-28".to_owned()),
    ] {
        if !has(k) {
            extra.push((k.to_owned(), v));
        }
    }
    response.headers.extend(extra);
    response
}

fn budget(state: &State, caller: &Caller) -> (u64, u64) {
    let limit = if caller.access.is_some() { 5000 } else { 60 };
    (limit, state.used.get(&caller.token).copied().unwrap_or(0))
}

fn caller(state: &State, req: &Request) -> Result<Caller, Response> {
    let Some(value) = req.header("authorization") else {
        return Ok(Caller { token: String::new(), access: None });
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .or_else(|| value.strip_prefix("token "))
        .map(str::trim);
    let known = token.and_then(|t| state.tokens.iter().find(|(k, _)| k == t));
    match known {
        Some((t, access)) => Ok(Caller { token: t.clone(), access: Some(*access) }),
        None => Err(message(401, "Bad credentials")),
    }
}

fn take_fault(state: &mut State, req: &Request) -> Option<Response> {
    let used = state.used.values().sum::<u64>();
    let fault = state.faults.iter_mut().find(|f| match f {
        GhFault::SecondaryRateLimit { times, .. } | GhFault::PrimaryRateLimit { times, .. } => {
            *times > 0
        }
        GhFault::Status { method, path_contains, times, .. } => {
            *times > 0
                && method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(&req.method))
                && req.target.contains(path_contains.as_str())
        }
    })?;
    let response = match fault {
        GhFault::SecondaryRateLimit { times, retry_after } => {
            *times -= 1;
            let r = message(403, SECONDARY_MESSAGE);
            match retry_after {
                Some(secs) => with_header(r, "retry-after", &secs.to_string()),
                None => r,
            }
        }
        GhFault::PrimaryRateLimit { times, reset_in_secs } => {
            *times -= 1;
            let r = message(
                403,
                "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID.",
            );
            let r = with_header(r, "x-ratelimit-limit", "5000");
            let r = with_header(r, "x-ratelimit-remaining", "0");
            let r = with_header(r, "x-ratelimit-used", &used.max(5000).to_string());
            let r = with_header(r, "x-ratelimit-resource", "core");
            with_header(r, "x-ratelimit-reset", &(now_secs() + *reset_in_secs).to_string())
        }
        GhFault::Status { status, times, .. } => {
            *times -= 1;
            let text = match *status {
                500 => "Server Error",
                502 => "Bad Gateway",
                503 => "Service Unavailable",
                409 => "Conflict",
                _ => "Stand-in fault",
            };
            message(*status, text)
        }
    };
    Some(response)
}

fn serve_site(state: &State, rest: &str) -> Response {
    let mut parts = rest.splitn(3, '/');
    let (Some(owner), Some(name)) = (parts.next(), parts.next()) else {
        return site_404();
    };
    let file = parts.next().unwrap_or("");
    match state.repo(owner, name).and_then(|r| r.site_file(file)) {
        Some(bytes) => Response {
            status: 200,
            headers: Vec::new(),
            content_type: content_type_of(file),
            body: bytes,
        },
        None => site_404(),
    }
}

fn site_404() -> Response {
    Response {
        status: 404,
        headers: Vec::new(),
        content_type: "text/html; charset=utf-8",
        body: b"<html><body><h1>404</h1>There isn't a GitHub Pages site here.</body></html>"
            .to_vec(),
    }
}

fn content_type_of(file: &str) -> &'static str {
    match file.rsplit('.').next() {
        Some("yaml" | "yml") => "application/x-yaml",
        Some("html") => "text/html; charset=utf-8",
        Some("tgz" | "gz") => "application/gzip",
        Some("json") => "application/json",
        _ if file.is_empty() || file.ends_with('/') => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn route(state: &mut State, req: &Request, path: &str, caller: &Caller) -> Response {
    if path == "/rate_limit" {
        return rate_limit(state, caller);
    }
    let Some(rest) = path.strip_prefix("/repos/") else {
        return not_found();
    };
    let mut parts = rest.splitn(3, '/');
    let (Some(owner), Some(name)) = (parts.next(), parts.next()) else {
        return not_found();
    };
    let sub = parts.next().unwrap_or("").trim_end_matches('/').to_owned();
    let Some(index) = state.repos.iter().position(|r| r.info.owner == owner && r.info.name == name)
    else {
        return not_found();
    };
    if state.repos[index].info.private && caller.access.is_none() {
        return not_found();
    }
    let body = if req.body.is_empty() {
        Value::Null
    } else {
        match serde_json::from_slice::<Value>(&req.body) {
            Ok(v) => v,
            Err(_) => return message(400, "Problems parsing JSON"),
        }
    };
    let ctx = Ctx { method: req.method.as_str(), caller, body: &body, query: req.query() };
    ctx.dispatch(state, index, &sub)
}

struct Ctx<'a> {
    method: &'a str,
    caller: &'a Caller,
    body: &'a Value,
    query: Vec<(&'a str, &'a str)>,
}

impl Ctx<'_> {
    fn query(&self, key: &str) -> Option<String> {
        self.query.iter().find(|(k, _)| *k == key).map(|(_, v)| percent_decode(v))
    }

    /// `Err(response)` unless the caller has `needed`; `permission` names it for the
    /// `X-Accepted-GitHub-Permissions` header.
    fn need(&self, needed: GhAccess, permission: &str) -> Result<(), Response> {
        match self.caller.access {
            None => Err(message(401, "Requires authentication")),
            Some(a) if a >= needed => Ok(()),
            Some(_) => Err(with_header(
                message(403, "Resource not accessible by personal access token"),
                "X-Accepted-GitHub-Permissions",
                permission,
            )),
        }
    }

    fn dispatch(&self, state: &mut State, index: usize, sub: &str) -> Response {
        let m = self.method;
        let result = if sub.is_empty() {
            match m {
                "GET" => Ok(self.get_repo(state, index)),
                _ => Err(not_found()),
            }
        } else if sub == "branches" {
            match m {
                "GET" => Ok(self.list_branches(state, index)),
                _ => Err(not_found()),
            }
        } else if let Some(rest) = sub.strip_prefix("branches/") {
            self.branches(state, index, rest)
        } else if sub == "pulls" {
            match m {
                "GET" => Ok(self.list_pulls(state, index)),
                "POST" => self.create_pull(state, index),
                _ => Err(not_found()),
            }
        } else if let Some(rest) = sub.strip_prefix("pulls/") {
            self.pull(state, index, rest)
        } else if sub == "rulesets" || sub.starts_with("rulesets/") {
            self.rulesets(
                state,
                index,
                sub.strip_prefix("rulesets").unwrap_or("").trim_start_matches('/'),
            )
        } else if let Some(branch) = sub.strip_prefix("rules/branches/") {
            match m {
                "GET" => {
                    let repo = &state.repos[index];
                    let url = format!("{}/rules/branches/{branch}", repo.api_url(&state.base));
                    Ok(self.paged(&url, repo.rules_for(branch)))
                }
                _ => Err(not_found()),
            }
        } else if sub == "pages" {
            self.pages(state, index)
        } else if sub == "git/refs" {
            self.create_ref(state, index)
        } else if let Some(r) = sub.strip_prefix("git/ref/") {
            match m {
                "GET" => Ok(self.get_ref(state, index, r)),
                _ => Err(not_found()),
            }
        } else if let Some(r) = sub.strip_prefix("git/refs/") {
            self.update_ref(state, index, r)
        } else {
            Err(not_found())
        };
        let response = result.unwrap_or_else(|r| r);
        if m != "GET" && (200..300).contains(&response.status) {
            state.write_all_rules();
        }
        response
    }

    fn get_repo(&self, state: &State, index: usize) -> Response {
        let repo = &state.repos[index];
        let base = &state.base;
        let mut v = json!({
            "id": repo.id,
            "node_id": format!("R_standin{}", repo.id),
            "name": repo.info.name,
            "full_name": repo.full_name(),
            "owner": {"login": repo.info.owner, "id": 1, "type": "User"},
            "private": repo.info.private,
            "visibility": if repo.info.private { "private" } else { "public" },
            "html_url": repo.html_url(base),
            "url": repo.api_url(base),
            "fork": false,
            "archived": false,
            "disabled": false,
            "default_branch": repo.info.default_branch,
            "has_pages": repo.pages.is_some(),
        });
        if let Some(access) = self.caller.access {
            let admin = access == GhAccess::Admin;
            let push = access >= GhAccess::Write;
            v["permissions"] = json!({"admin": admin, "maintain": admin, "push": push, "triage": push, "pull": true});
        }
        json_response(200, &v)
    }

    // --- branches

    fn branches(&self, state: &mut State, index: usize, rest: &str) -> Result<Response, Response> {
        for (suffix, kind) in [
            ("/protection/required_signatures", "signatures"),
            ("/protection", "protection"),
            ("/rename", "rename"),
        ] {
            if let Some(branch) = rest.strip_suffix(suffix) {
                return match kind {
                    "signatures" => self.signatures(state, index, branch),
                    "protection" => self.protection(state, index, branch),
                    _ => self.rename(state, index, branch),
                };
            }
        }
        match self.method {
            "GET" => Ok(get_branch(state, index, rest)),
            _ => Err(not_found()),
        }
    }

    /// `GET /branches`: `{name, commit{sha,url}, protected}` of every branch, paged.
    fn list_branches(&self, state: &State, index: usize) -> Response {
        let repo = &state.repos[index];
        let api = repo.api_url(&state.base);
        let only_protected = self.query("protected").as_deref() == Some("true");
        let all: Vec<Value> = git::branches(repo.git_dir())
            .into_iter()
            .filter(|(name, _)| !only_protected || repo.is_protected(name))
            .map(|(name, sha)| {
                json!({"name": name, "commit": {"sha": sha, "url": format!("{api}/commits/{sha}")},
                       "protected": repo.is_protected(&name)})
            })
            .collect();
        self.paged(&format!("{api}/branches"), all)
    }

    /// One page of `items` with GitHub's `Link` header (`per_page` default 30, at most 100).
    fn paged(&self, url: &str, items: Vec<Value>) -> Response {
        let per_page = self
            .query("per_page")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(30)
            .clamp(1, 100);
        let page = self.query("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
        let last = items.len().div_ceil(per_page).max(1);
        let shown: Vec<Value> =
            items.into_iter().skip((page - 1) * per_page).take(per_page).collect();
        let link_to = |n: usize| {
            let mut q: Vec<String> = self
                .query
                .iter()
                .filter(|(k, _)| *k != "page" && *k != "per_page")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            q.push(format!("per_page={per_page}"));
            q.push(format!("page={n}"));
            format!("<{url}?{}>", q.join("&"))
        };
        let mut links = Vec::new();
        if page < last {
            links.push(format!("{}; rel=\"next\"", link_to(page + 1)));
            links.push(format!("{}; rel=\"last\"", link_to(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", link_to(page - 1)));
            links.push(format!("{}; rel=\"first\"", link_to(1)));
        }
        let response = json_response(200, &Value::Array(shown));
        if links.is_empty() { response } else { with_header(response, "Link", &links.join(", ")) }
    }

    fn rename(&self, state: &mut State, index: usize, branch: &str) -> Result<Response, Response> {
        if self.method != "POST" {
            return Err(not_found());
        }
        let repo = &state.repos[index];
        let tip = git::tip(repo.git_dir(), branch)
            .filter(|_| repo.renaming_from(branch).is_none())
            .ok_or_else(|| message(404, "Branch not found"))?;
        let admin_needed = branch == repo.info.default_branch || repo.is_protected(branch);
        if admin_needed {
            self.need(GhAccess::Admin, "administration=write")?;
        } else {
            self.need(GhAccess::Write, "contents=write")?;
        }
        let new_name = self.body.get("new_name").and_then(Value::as_str).unwrap_or("").to_owned();
        if new_name.is_empty()
            || new_name.contains("..")
            || new_name.starts_with('/')
            || new_name.ends_with('/')
        {
            return Err(validation_failed(
                json!([{"resource": "Branch", "field": "new_name", "code": "invalid"}]),
            ));
        }
        if git::tip(repo.git_dir(), &new_name).is_some() || repo.renaming_to(&new_name).is_some() {
            return Err(validation_failed(
                json!([{"resource": "Branch", "field": "new_name", "code": "already_exists"}]),
            ));
        }
        let delay = state.rename_delay;
        let build_delay = state.build_delay;
        let repo = &mut state.repos[index];
        if delay == 0 {
            repo.land_rename(branch, &new_name, build_delay);
        } else {
            repo.renaming.push(super::model::Rename {
                from: branch.to_owned(),
                to: new_name.clone(),
                requests_left: delay,
            });
        }
        let mut v = branch_value(state, index, &new_name, &tip);
        v["name"] = json!(new_name);
        Ok(json_response(201, &v))
    }

    fn protection(
        &self,
        state: &mut State,
        index: usize,
        branch: &str,
    ) -> Result<Response, Response> {
        let repo = &state.repos[index];
        let url = repo.api_url(&state.base);
        match self.method {
            "GET" => {
                if self.caller.access.is_none() {
                    return Err(message(401, "Requires authentication"));
                }
                if self.caller.access != Some(GhAccess::Admin) {
                    // GitHub answers 404 here, as for an unprotected branch but "Not Found".
                    return Err(not_found());
                }
                branch_exists(repo, branch)?;
                let p = repo
                    .protections
                    .get(branch)
                    .ok_or_else(|| message(404, "Branch not protected"))?;
                Ok(json_response(200, &p.get_shape(&url, branch)))
            }
            "PUT" => {
                self.need(GhAccess::Admin, "administration=write")?;
                branch_exists(repo, branch)?;
                validate_protection(self.body)?;
                let repo = &mut state.repos[index];
                let signatures =
                    repo.protections.get(branch).is_some_and(|p| p.required_signatures);
                let mut p = super::model::Protection::from_put(self.body.clone());
                p.required_signatures = signatures;
                let shape = p.get_shape(&url, branch);
                repo.protections.insert(branch.to_owned(), p);
                Ok(json_response(200, &shape))
            }
            "DELETE" => {
                self.need(GhAccess::Admin, "administration=write")?;
                branch_exists(repo, branch)?;
                let repo = &mut state.repos[index];
                repo.protections
                    .remove(branch)
                    .ok_or_else(|| message(404, "Branch not protected"))?;
                Ok(no_content())
            }
            _ => Err(not_found()),
        }
    }

    fn signatures(
        &self,
        state: &mut State,
        index: usize,
        branch: &str,
    ) -> Result<Response, Response> {
        self.need(GhAccess::Admin, "administration=write")?;
        let url = format!(
            "{}/branches/{branch}/protection/required_signatures",
            state.repos[index].api_url(&state.base)
        );
        let repo = &mut state.repos[index];
        branch_exists(repo, branch)?;
        let p =
            repo.protections.get_mut(branch).ok_or_else(|| message(404, "Branch not protected"))?;
        match self.method {
            "GET" => Ok(json_response(200, &json!({"url": url, "enabled": p.required_signatures}))),
            "POST" => {
                p.required_signatures = true;
                Ok(json_response(200, &json!({"url": url, "enabled": true})))
            }
            "DELETE" => {
                p.required_signatures = false;
                Ok(no_content())
            }
            _ => Err(not_found()),
        }
    }

    // --- pull requests

    fn list_pulls(&self, state: &mut State, index: usize) -> Response {
        let base_url = state.base.clone();
        let repo = &mut state.repos[index];
        repo.close_orphaned_pulls();
        let want_state = self.query("state").unwrap_or_else(|| "open".to_owned());
        let want_base = self.query("base");
        let want_head = self.query("head").map(|h| match h.split_once(':') {
            Some((_, b)) => b.to_owned(),
            None => h,
        });
        let selected: Vec<&super::model::Pull> = repo
            .pulls
            .iter()
            .filter(|p| match want_state.as_str() {
                "all" => true,
                "closed" => !p.open,
                _ => p.open,
            })
            .filter(|p| want_base.as_deref().is_none_or(|b| p.base == b))
            .filter(|p| want_head.as_deref().is_none_or(|h| p.head == h))
            .collect();
        let items: Vec<Value> = selected.iter().map(|p| repo.pull_value(&base_url, p)).collect();
        let url = format!("{}/pulls", repo.api_url(&base_url));
        self.paged(&url, items)
    }

    fn create_pull(&self, state: &mut State, index: usize) -> Result<Response, Response> {
        self.need(GhAccess::Write, "pull_requests=write")?;
        let base_url = state.base.clone();
        let repo = &mut state.repos[index];
        repo.close_orphaned_pulls();
        let text = |k: &str| self.body.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(title), Some(head), Some(base)) = (text("title"), text("head"), text("base"))
        else {
            return Err(validation_failed(
                json!([{"resource": "PullRequest", "code": "missing_field", "field": "head"}]),
            ));
        };
        let head = head.split_once(':').map_or(head.clone(), |(_, b)| b.to_owned());
        let branches = git::branches(repo.git_dir());
        for (field, branch) in [("base", &base), ("head", &head)] {
            if !branches.contains_key(branch.as_str()) {
                return Err(validation_failed(
                    json!([{"resource": "PullRequest", "field": field, "code": "invalid"}]),
                ));
            }
        }
        if repo.pulls.iter().any(|p| p.open && p.head == head && p.base == base) {
            return Err(validation_failed(json!([{"resource": "PullRequest", "code": "custom",
                "message": format!("A pull request already exists for {}:{head}.", repo.info.owner)}])));
        }
        if git::is_ancestor(repo.git_dir(), &branches[&head], &branches[&base]) {
            return Err(validation_failed(json!([{"resource": "PullRequest", "code": "custom",
                "message": format!("No commits between {base} and {head}")}])));
        }
        let body = text("body").unwrap_or_default();
        let number = repo.add_pull(&head, &base, &title, &body);
        let v = repo.pull_value(&base_url, repo.pull(number).expect("just added"));
        Ok(json_response(201, &v))
    }

    fn pull(&self, state: &mut State, index: usize, rest: &str) -> Result<Response, Response> {
        let (number, merge) = match rest.strip_suffix("/merge") {
            Some(n) => (n, true),
            None => (rest, false),
        };
        let number: u64 = number.parse().map_err(|_| not_found())?;
        let base_url = state.base.clone();
        let repo = &mut state.repos[index];
        repo.close_orphaned_pulls();
        repo.pull(number).ok_or_else(not_found)?;
        match (self.method, merge) {
            ("GET", false) => Ok(json_response(
                200,
                &repo.pull_value(&base_url, repo.pull(number).expect("found")),
            )),
            ("PATCH", false) => {
                self.need(GhAccess::Write, "pull_requests=write")?;
                if let Some(base) = self.body.get("base").and_then(Value::as_str)
                    && git::tip(repo.git_dir(), base).is_none()
                {
                    return Err(validation_failed(
                        json!([{"resource": "PullRequest", "field": "base", "code": "invalid"}]),
                    ));
                }
                let p = repo.pulls.iter_mut().find(|p| p.number == number).expect("found");
                if let Some(base) = self.body.get("base").and_then(Value::as_str) {
                    base.clone_into(&mut p.base);
                }
                if let Some(title) = self.body.get("title").and_then(Value::as_str) {
                    title.clone_into(&mut p.title);
                }
                if let Some(body) = self.body.get("body").and_then(Value::as_str) {
                    body.clone_into(&mut p.body);
                }
                match self.body.get("state").and_then(Value::as_str) {
                    Some("closed") if p.open => {
                        p.open = false;
                        p.closed_at = Some(super::model::now_iso());
                    }
                    Some("open") if !p.open && !p.merged => {
                        p.open = true;
                        p.closed_at = None;
                    }
                    _ => {}
                }
                repo.close_orphaned_pulls();
                Ok(json_response(
                    200,
                    &repo.pull_value(&base_url, repo.pull(number).expect("found")),
                ))
            }
            ("GET", true) => {
                let merged = repo.pull(number).is_some_and(|p| p.merged);
                Ok(if merged { no_content() } else { message(404, "Not Found") })
            }
            ("PUT", true) => {
                self.need(GhAccess::Write, "contents=write")?;
                self.merge(repo, number)
            }
            _ => Err(not_found()),
        }
    }

    fn merge(&self, repo: &mut RepoState, number: u64) -> Result<Response, Response> {
        let p = repo.pull(number).expect("found").clone();
        if !p.open {
            return Err(message(405, "Pull Request is not mergeable"));
        }
        if let Some(sha) = self.body.get("sha").and_then(Value::as_str)
            && sha != p.head_sha
        {
            return Err(message(409, "Head branch was modified. Review and try the merge again."));
        }
        let method = self.body.get("merge_method").and_then(Value::as_str).unwrap_or("merge");
        let git_dir = repo.git_dir().to_path_buf();
        let tree = git::tree_of(&git_dir, &p.head_sha)
            .ok_or_else(|| message(405, "Pull Request is not mergeable"))?;
        let title = self.body.get("commit_title").and_then(Value::as_str);
        let extra = self.body.get("commit_message").and_then(Value::as_str);
        let sha = match method {
            "squash" => {
                let title = title.map_or_else(|| format!("{} (#{number})", p.title), str::to_owned);
                let text = extra.map_or(title.clone(), |m| format!("{title}\n\n{m}"));
                git::commit_tree(&git_dir, &tree, &[&p.base_sha], &text)
            }
            "merge" => {
                if !git::is_ancestor(&git_dir, &p.base_sha, &p.head_sha) {
                    return Err(message(405, "Pull Request is not mergeable"));
                }
                let title = title.map_or_else(
                    || format!("Merge pull request #{number} from {}/{}", repo.info.owner, p.head),
                    str::to_owned,
                );
                let text = format!("{title}\n\n{}", extra.unwrap_or(&p.title));
                git::commit_tree(&git_dir, &tree, &[&p.base_sha, &p.head_sha], &text)
            }
            _ => {
                return Err(validation_failed(
                    json!([{"resource": "PullRequest", "field": "merge_method", "code": "invalid"}]),
                ));
            }
        }
        .ok_or_else(|| message(405, "Pull Request is not mergeable"))?;
        if !git::update_ref(&git_dir, &p.base, &sha, &p.base_sha) {
            return Err(message(409, "Base branch was modified. Review and try the merge again."));
        }
        let now = super::model::now_iso();
        let pull = repo.pulls.iter_mut().find(|x| x.number == number).expect("found");
        pull.open = false;
        pull.merged = true;
        pull.merge_commit_sha = Some(sha.clone());
        pull.merged_at = Some(now.clone());
        pull.closed_at = Some(now);
        Ok(json_response(
            200,
            &json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}),
        ))
    }

    // --- rulesets

    fn rulesets(&self, state: &mut State, index: usize, id: &str) -> Result<Response, Response> {
        if !state.repos[index].info.rulesets_available {
            return Err(message(403, UPGRADE_MESSAGE));
        }
        let base = state.base.clone();
        if id.is_empty() {
            return match self.method {
                "GET" => {
                    let summaries: Vec<Value> = state.repos[index]
                        .rulesets
                        .iter()
                        .map(|r| {
                            let mut s = serde_json::Map::new();
                            for k in [
                                "id",
                                "name",
                                "target",
                                "source_type",
                                "source",
                                "enforcement",
                                "node_id",
                                "_links",
                                "created_at",
                                "updated_at",
                            ] {
                                s.insert(k.into(), r[k].clone());
                            }
                            Value::Object(s)
                        })
                        .collect();
                    let url = format!("{}/rulesets", state.repos[index].api_url(&base));
                    Ok(self.paged(&url, summaries))
                }
                "POST" => {
                    self.need(GhAccess::Admin, "administration=write")?;
                    validate_ruleset(self.body, true)?;
                    let name = &self.body["name"];
                    if state.repos[index].rulesets.iter().any(|r| &r["name"] == name) {
                        return Err(validation_failed(json!(["Name must be unique"])));
                    }
                    let new_id = state.next_ruleset_id();
                    let repo = &mut state.repos[index];
                    repo.insert_ruleset(&base, new_id, self.body.clone());
                    Ok(json_response(201, repo.rulesets.last().expect("just added")))
                }
                _ => Err(not_found()),
            };
        }
        let id: u64 = id.parse().map_err(|_| not_found())?;
        let repo = &mut state.repos[index];
        let at = repo.rulesets.iter().position(|r| r["id"] == id).ok_or_else(not_found)?;
        match self.method {
            "GET" => Ok(json_response(200, &repo.rulesets[at])),
            "PUT" => {
                self.need(GhAccess::Admin, "administration=write")?;
                validate_ruleset(self.body, false)?;
                if let Some(name) = self.body.get("name")
                    && repo.rulesets.iter().any(|r| &r["name"] == name && r["id"] != id)
                {
                    return Err(validation_failed(json!(["Name must be unique"])));
                }
                let r = &mut repo.rulesets[at];
                for k in ["name", "target", "enforcement", "bypass_actors", "conditions", "rules"] {
                    if let Some(v) = self.body.get(k) {
                        r[k] = v.clone();
                    }
                }
                r["updated_at"] = json!(super::model::now_iso());
                Ok(json_response(200, r))
            }
            "DELETE" => {
                self.need(GhAccess::Admin, "administration=write")?;
                repo.rulesets.remove(at);
                Ok(no_content())
            }
            _ => Err(not_found()),
        }
    }

    // --- Pages

    fn pages(&self, state: &mut State, index: usize) -> Result<Response, Response> {
        let base = state.base.clone();
        let build_delay = state.build_delay;
        let repo = &mut state.repos[index];
        match self.method {
            "GET" => {
                repo.pages.as_ref().ok_or_else(not_found)?;
                repo.poll_pages();
                let repo = &state.repos[index];
                Ok(json_response(200, &repo.pages.as_ref().expect("on").value(&base, repo)))
            }
            "PUT" => {
                self.need(GhAccess::Admin, "pages=write")?;
                repo.pages.as_ref().ok_or_else(not_found)?;
                let keys = ["build_type", "source", "cname", "public", "https_enforced"];
                if !self.body.is_object() || !keys.iter().any(|k| self.body.get(k).is_some()) {
                    return Err(message(
                        400,
                        "Invalid request.\n\nNo subschema in \"anyOf\" matched.",
                    ));
                }
                let source = match self.body.get("source") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => {
                        let mut it = s.split_whitespace();
                        Some((
                            it.next().unwrap_or("").to_owned(),
                            it.next().unwrap_or("/").to_owned(),
                        ))
                    }
                    Some(v) => Some((
                        v.get("branch").and_then(Value::as_str).unwrap_or("").to_owned(),
                        v.get("path").and_then(Value::as_str).unwrap_or("/").to_owned(),
                    )),
                };
                if let Some((branch, path)) = &source {
                    if git::tip(repo.git_dir(), branch).is_none() {
                        return Err(invalid_request(&format!(
                            "The branch \"{branch}\" does not exist."
                        )));
                    }
                    if path != "/" && path != "/docs" {
                        return Err(invalid_request("path must be \"/\" or \"/docs\"."));
                    }
                }
                let pages: &mut Pages = repo.pages.as_mut().expect("on");
                if let Some(t) = self.body.get("build_type").and_then(Value::as_str) {
                    t.clone_into(&mut pages.build_type);
                }
                if let Some(c) = self.body.get("cname") {
                    pages.cname = c.as_str().map(str::to_owned);
                }
                if let Some(b) = self.body.get("public").and_then(Value::as_bool) {
                    pages.public = b;
                }
                if let Some(b) = self.body.get("https_enforced").and_then(Value::as_bool) {
                    pages.https_enforced = b;
                }
                let mut rebuild = false;
                if let Some((branch, path)) = source {
                    rebuild = pages.branch != branch || pages.path != path;
                    pages.branch = branch;
                    pages.path = path;
                }
                if rebuild {
                    repo.start_pages_build(build_delay);
                }
                Ok(no_content())
            }
            _ => Err(not_found()),
        }
    }

    // --- refs

    fn get_ref(&self, state: &State, index: usize, r: &str) -> Response {
        let repo = &state.repos[index];
        let Some(branch) = r.strip_prefix("heads/") else { return not_found() };
        match git::tip(repo.git_dir(), branch) {
            Some(sha) => json_response(200, &ref_value(state, index, branch, &sha)),
            None => not_found(),
        }
    }

    fn create_ref(&self, state: &mut State, index: usize) -> Result<Response, Response> {
        if self.method != "POST" {
            return Err(not_found());
        }
        self.need(GhAccess::Write, "contents=write")?;
        let repo = &state.repos[index];
        let r = self.body.get("ref").and_then(Value::as_str).unwrap_or("");
        let sha = self.body.get("sha").and_then(Value::as_str).unwrap_or("");
        let Some(branch) = r.strip_prefix("refs/heads/").filter(|b| !b.is_empty()) else {
            return Err(message(
                422,
                "Reference name must start with 'refs/' and have at least two slashes.",
            ));
        };
        if !git::is_commit(repo.git_dir(), sha) {
            return Err(message(422, "Object does not exist"));
        }
        if repo.renaming_to(branch).is_some() || !git::update_ref(repo.git_dir(), branch, sha, "") {
            return Err(message(422, "Reference already exists"));
        }
        let v = ref_value(state, index, branch, sha);
        let location = v["url"].as_str().unwrap_or_default().to_owned();
        Ok(with_header(json_response(201, &v), "Location", &location))
    }

    fn update_ref(&self, state: &mut State, index: usize, r: &str) -> Result<Response, Response> {
        self.need(GhAccess::Write, "contents=write")?;
        let repo = &state.repos[index];
        let branch = r.strip_prefix("heads/").ok_or_else(not_found)?;
        let old = git::tip(repo.git_dir(), branch)
            .ok_or_else(|| message(422, "Reference does not exist"))?;
        match self.method {
            "DELETE" => {
                if branch == repo.info.default_branch {
                    return Err(message(
                        422,
                        "Validation failed, an attempt was made to delete the default branch",
                    ));
                }
                if let Some(why) = repo.refusal(branch, &old, None) {
                    return Err(message(422, why));
                }
                if !git::update_ref(repo.git_dir(), branch, "0", &old) {
                    return Err(message(422, "Reference does not exist"));
                }
                Ok(no_content())
            }
            "PATCH" => {
                let sha = self.body.get("sha").and_then(Value::as_str).unwrap_or("");
                let force = self.body.get("force").and_then(Value::as_bool).unwrap_or(false);
                if !git::is_commit(repo.git_dir(), sha) {
                    return Err(message(422, "Object does not exist"));
                }
                if !force && !git::is_ancestor(repo.git_dir(), &old, sha) {
                    return Err(message(422, "Update is not a fast forward"));
                }
                if let Some(why) = repo.refusal(branch, &old, Some(sha)) {
                    return Err(message(422, why));
                }
                if !git::update_ref(repo.git_dir(), branch, sha, &old) {
                    return Err(message(422, "Reference cannot be updated"));
                }
                Ok(json_response(200, &ref_value(state, index, branch, sha)))
            }
            _ => Err(not_found()),
        }
    }
}

fn ref_value(state: &State, index: usize, branch: &str, sha: &str) -> Value {
    let api = state.repos[index].api_url(&state.base);
    json!({
        "ref": format!("refs/heads/{branch}"),
        "node_id": format!("REF_standin_{branch}"),
        "url": format!("{api}/git/refs/heads/{branch}"),
        "object": {"sha": sha, "type": "commit", "url": format!("{api}/git/commits/{sha}")},
    })
}

fn branch_exists(repo: &RepoState, branch: &str) -> Result<(), Response> {
    match git::tip(repo.git_dir(), branch) {
        Some(_) => Ok(()),
        None => Err(message(404, "Branch not found")),
    }
}

fn get_branch(state: &State, index: usize, branch: &str) -> Response {
    let repo = &state.repos[index];
    let moved_to = repo.renaming_from(branch).map(|r| r.to.clone()).or_else(|| {
        repo.renamed.get(branch).cloned().filter(|_| git::tip(repo.git_dir(), branch).is_none())
    });
    if let Some(to) = moved_to {
        let url = format!("{}/branches/{to}", repo.api_url(&state.base));
        return with_header(
            json_response(
                301,
                &json!({"message": "Moved Permanently", "url": url, "documentation_url": DOCS}),
            ),
            "Location",
            &url,
        );
    }
    if repo.renaming_to(branch).is_some() {
        return message(404, "Branch not found");
    }
    match git::tip(repo.git_dir(), branch) {
        Some(sha) => json_response(200, &branch_value(state, index, branch, &sha)),
        None => message(404, "Branch not found"),
    }
}

/// The `branch-with-protection` shape.
fn branch_value(state: &State, index: usize, branch: &str, sha: &str) -> Value {
    let repo = &state.repos[index];
    let api = repo.api_url(&state.base);
    let protected = repo.is_protected(branch);
    let contexts: Vec<Value> = repo
        .protections
        .get(branch)
        .and_then(|p| p.body["required_status_checks"]["contexts"].as_array().cloned())
        .unwrap_or_default();
    json!({
        "name": branch,
        "commit": {"sha": sha, "url": format!("{api}/commits/{sha}"), "node_id": format!("C_{sha}")},
        "_links": {"self": format!("{api}/branches/{branch}"), "html": format!("{}/tree/{branch}", repo.html_url(&state.base))},
        "protected": protected,
        "protection": {"enabled": protected, "required_status_checks": {
            "enforcement_level": if contexts.is_empty() { "off" } else { "non_admins" },
            "contexts": contexts, "checks": []}},
        "protection_url": format!("{api}/branches/{branch}/protection"),
        "pattern": if repo.protections.contains_key(branch) { json!(branch) } else { Value::Null },
        "required_approving_review_count": repo.protections.get(branch)
            .and_then(|p| p.body["required_pull_request_reviews"]["required_approving_review_count"].as_u64())
            .unwrap_or(0),
    })
}

fn validate_protection(body: &Value) -> Result<(), Response> {
    if !body.is_object() {
        return Err(message(400, "Problems parsing JSON"));
    }
    for key in [
        "required_status_checks",
        "enforce_admins",
        "required_pull_request_reviews",
        "restrictions",
    ] {
        if body.get(key).is_none() {
            return Err(invalid_request(&format!("\"{key}\" wasn't supplied.")));
        }
    }
    let checks = &body["required_status_checks"];
    if !checks.is_null()
        && (checks.get("strict").is_none()
            || (checks.get("contexts").is_none() && checks.get("checks").is_none()))
    {
        return Err(invalid_request(
            "No subschema in \"anyOf\" matched.\n\"strict\" and \"contexts\" or \"checks\" are required in required_status_checks.",
        ));
    }
    let restrictions = &body["restrictions"];
    if !restrictions.is_null()
        && (restrictions.get("users").is_none() || restrictions.get("teams").is_none())
    {
        return Err(invalid_request("\"users\", \"teams\" wasn't supplied in restrictions."));
    }
    if !body["enforce_admins"].is_null() && !body["enforce_admins"].is_boolean() {
        return Err(invalid_request(
            "For 'properties/enforce_admins', value is not a boolean or null.",
        ));
    }
    Ok(())
}

const PULL_REQUEST_PARAMS: [(&str, &str); 5] = [
    ("dismiss_stale_reviews_on_push", "boolean"),
    ("require_code_owner_review", "boolean"),
    ("require_last_push_approval", "boolean"),
    ("required_approving_review_count", "integer"),
    ("required_review_thread_resolution", "boolean"),
];

fn validate_ruleset(body: &Value, creating: bool) -> Result<(), Response> {
    if !body.is_object() {
        return Err(message(400, "Problems parsing JSON"));
    }
    if creating {
        for key in ["name", "enforcement"] {
            if body.get(key).is_none() {
                return Err(invalid_request(&format!("\"{key}\" wasn't supplied.")));
            }
        }
    }
    if let Some(e) = body.get("enforcement")
        && !matches!(e.as_str(), Some("active" | "evaluate" | "disabled"))
    {
        return Err(invalid_request(
            "Invalid property /enforcement: is not one of [\"disabled\", \"active\", \"evaluate\"].",
        ));
    }
    if let Some(t) = body.get("target")
        && !matches!(t.as_str(), Some("branch" | "tag" | "push"))
    {
        return Err(invalid_request("Invalid property /target."));
    }
    if let Some(cond) = body.get("conditions")
        && !cond.is_null()
    {
        let rn = &cond["ref_name"];
        if !rn.is_null() && (!rn["include"].is_array() || !rn["exclude"].is_array()) {
            return Err(invalid_request(
                "Invalid property /conditions/ref_name: \"include\", \"exclude\" are required.",
            ));
        }
        // A probe that must parse as a pattern list; unknown strings are allowed, as on GitHub.
        let _ = ref_name_matches(cond, "main", "main");
    }
    for (i, rule) in body.get("rules").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let Some(kind) = rule.get("type").and_then(Value::as_str) else {
            return Err(invalid_request(&format!(
                "Invalid property /rules/{i}: \"type\" wasn't supplied."
            )));
        };
        if kind == "pull_request" {
            let params = &rule["parameters"];
            for (key, ty) in PULL_REQUEST_PARAMS {
                let ok = match ty {
                    "integer" => params[key].as_u64().is_some_and(|n| n <= 10),
                    _ => params[key].is_boolean(),
                };
                if !ok {
                    return Err(invalid_request(&format!(
                        "Invalid property /rules/{i}: data matches no possible input. \"{key}\" is missing or is not a {ty}."
                    )));
                }
            }
        }
    }
    Ok(())
}

fn rate_limit(state: &State, caller: &Caller) -> Response {
    let (limit, used) = budget(state, caller);
    let core = json!({"limit": limit, "remaining": limit.saturating_sub(used), "reset": state.reset_at, "used": used, "resource": "core"});
    json_response(200, &json!({"resources": {"core": core}, "rate": core}))
}

/// `%XX` decoding (and `+` left as is: paths and query values here never use it for space).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
