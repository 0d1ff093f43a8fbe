//! The stand-in's state: repositories with their pull requests, classic protection,
//! rulesets, Pages site and renames in progress; branches themselves live in git.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::git;
use super::{GhAccess, GhFault, GhRecorded, GhRepo};
use crate::time::{epoch_millis, format_rfc3339};

pub fn site_url(base: &str, owner: &str, name: &str) -> String {
    format!("{base}/__pages/{owner}/{name}/")
}

pub fn now_iso() -> String {
    let millis = epoch_millis(std::time::SystemTime::now());
    // GitHub's timestamps have no fraction.
    format!("{}Z", &format_rfc3339(millis)[..19])
}

pub fn now_secs() -> u64 {
    u64::try_from(epoch_millis(std::time::SystemTime::now()) / 1000).unwrap_or(0)
}

/// Everything the server holds.
pub struct State {
    pub base: String,
    pub repos: Vec<RepoState>,
    pub tokens: Vec<(String, GhAccess)>,
    pub faults: Vec<GhFault>,
    pub requests: Vec<GhRecorded>,
    pub build_delay: u32,
    pub rename_delay: u32,
    /// Requests counted per token ("" = unauthenticated) for the rate-limit headers.
    pub used: BTreeMap<String, u64>,
    pub reset_at: u64,
    last_ruleset_id: u64,
}

impl State {
    pub fn new(base: String, repos: Vec<GhRepo>, tokens: Vec<(String, GhAccess)>) -> Self {
        Self {
            base,
            repos: repos.into_iter().enumerate().map(|(i, r)| RepoState::new(r, i)).collect(),
            tokens,
            faults: Vec::new(),
            requests: Vec::new(),
            build_delay: 0,
            rename_delay: 0,
            used: BTreeMap::new(),
            reset_at: now_secs() + 3600,
            last_ruleset_id: 41,
        }
    }

    pub fn repo(&self, owner: &str, name: &str) -> Option<&RepoState> {
        self.repos.iter().find(|r| r.info.owner == owner && r.info.name == name)
    }

    pub fn repo_mut(&mut self, owner: &str, name: &str) -> Option<&mut RepoState> {
        self.repos.iter_mut().find(|r| r.info.owner == owner && r.info.name == name)
    }

    pub fn next_ruleset_id(&mut self) -> u64 {
        self.last_ruleset_id += 1;
        self.last_ruleset_id
    }

    /// Rewrites every repository's hook rules file.
    pub fn write_all_rules(&self) {
        for repo in &self.repos {
            let _ = repo.write_rules();
        }
    }

    /// One request went by: renames in progress count down, and land when done.
    pub fn tick_renames(&mut self) {
        let delay = self.build_delay;
        let mut changed = false;
        for repo in &mut self.repos {
            changed |= repo.tick_renames(delay);
        }
        if changed {
            self.write_all_rules();
        }
    }
}

/// A pull request.
#[derive(Debug, Clone)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub open: bool,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub head_sha: String,
    pub base_sha: String,
    pub created_at: String,
    pub closed_at: Option<String>,
    pub merged_at: Option<String>,
}

/// Classic branch protection, kept as the PUT body it came from, plus the signatures flag
/// that has its own endpoint.
#[derive(Debug, Clone)]
pub struct Protection {
    pub body: Value,
    pub required_signatures: bool,
}

impl Protection {
    pub fn from_put(body: Value) -> Self {
        Self { body, required_signatures: false }
    }

    pub fn flag(&self, key: &str) -> bool {
        self.body.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    pub fn requires_pull_requests(&self) -> bool {
        self.body.get("required_pull_request_reviews").is_some_and(|v| !v.is_null())
    }

    pub fn allows_deletions(&self) -> bool {
        self.flag("allow_deletions")
    }

    pub fn allows_force_pushes(&self) -> bool {
        self.flag("allow_force_pushes")
    }

    /// The `branch-protection` shape `GET …/protection` answers.
    pub fn get_shape(&self, repo_url: &str, branch: &str) -> Value {
        let url = format!("{repo_url}/branches/{branch}/protection");
        let b = &self.body;
        let mut out = Map::new();
        out.insert("url".into(), json!(url));
        if let Some(checks) = b.get("required_status_checks").filter(|v| !v.is_null()) {
            let contexts: Vec<Value> = match checks.get("checks").and_then(Value::as_array) {
                Some(list) => list.iter().filter_map(|c| c.get("context").cloned()).collect(),
                None => {
                    checks.get("contexts").and_then(Value::as_array).cloned().unwrap_or_default()
                }
            };
            let check_objs: Vec<Value> = match checks.get("checks").and_then(Value::as_array) {
                Some(list) => list
                    .iter()
                    .map(|c| json!({"context": c.get("context"), "app_id": c.get("app_id").cloned().unwrap_or(Value::Null)}))
                    .collect(),
                None => contexts.iter().map(|c| json!({"context": c, "app_id": null})).collect(),
            };
            out.insert(
                "required_status_checks".into(),
                json!({
                    "url": format!("{url}/required_status_checks"),
                    "strict": checks.get("strict").and_then(Value::as_bool).unwrap_or(false),
                    "enforcement_level": if self.flag("enforce_admins") { "everyone" } else { "non_admins" },
                    "contexts": contexts,
                    "contexts_url": format!("{url}/required_status_checks/contexts"),
                    "checks": check_objs,
                }),
            );
        }
        if let Some(reviews) = b.get("required_pull_request_reviews").filter(|v| !v.is_null()) {
            let mut r = Map::new();
            r.insert("url".into(), json!(format!("{url}/required_pull_request_reviews")));
            for (key, default) in [
                ("dismiss_stale_reviews", json!(false)),
                ("require_code_owner_reviews", json!(false)),
                ("required_approving_review_count", json!(1)),
                ("require_last_push_approval", json!(false)),
            ] {
                r.insert(key.into(), reviews.get(key).cloned().unwrap_or(default));
            }
            if let Some(d) = reviews.get("dismissal_restrictions").filter(|v| !v.is_null()) {
                r.insert(
                    "dismissal_restrictions".into(),
                    json!({
                        "url": format!("{url}/dismissal_restrictions"),
                        "users_url": format!("{url}/dismissal_restrictions/users"),
                        "teams_url": format!("{url}/dismissal_restrictions/teams"),
                        "users": logins(d.get("users")),
                        "teams": slugs(d.get("teams")),
                        "apps": slugs(d.get("apps")),
                    }),
                );
            }
            if let Some(d) = reviews.get("bypass_pull_request_allowances").filter(|v| !v.is_null())
            {
                r.insert(
                    "bypass_pull_request_allowances".into(),
                    json!({"users": logins(d.get("users")), "teams": slugs(d.get("teams")), "apps": slugs(d.get("apps"))}),
                );
            }
            out.insert("required_pull_request_reviews".into(), Value::Object(r));
        }
        out.insert(
            "required_signatures".into(),
            json!({"url": format!("{url}/required_signatures"), "enabled": self.required_signatures}),
        );
        out.insert(
            "enforce_admins".into(),
            json!({"url": format!("{url}/enforce_admins"), "enabled": self.flag("enforce_admins")}),
        );
        for key in [
            "required_linear_history",
            "allow_force_pushes",
            "allow_deletions",
            "block_creations",
            "required_conversation_resolution",
            "lock_branch",
            "allow_fork_syncing",
        ] {
            out.insert(key.into(), json!({"enabled": self.flag(key)}));
        }
        if let Some(r) = b.get("restrictions").filter(|v| !v.is_null()) {
            out.insert(
                "restrictions".into(),
                json!({
                    "url": format!("{url}/restrictions"),
                    "users_url": format!("{url}/restrictions/users"),
                    "teams_url": format!("{url}/restrictions/teams"),
                    "apps_url": format!("{url}/restrictions/apps"),
                    "users": logins(r.get("users")),
                    "teams": slugs(r.get("teams")),
                    "apps": slugs(r.get("apps")),
                }),
            );
        }
        Value::Object(out)
    }
}

fn logins(v: Option<&Value>) -> Value {
    let list = v.and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(list.into_iter().map(|l| json!({"login": l, "type": "User"})).collect())
}

fn slugs(v: Option<&Value>) -> Value {
    let list = v.and_then(Value::as_array).cloned().unwrap_or_default();
    Value::Array(list.into_iter().map(|s| json!({"slug": s, "name": s})).collect())
}

/// The Pages site.
#[derive(Debug, Clone)]
pub struct Pages {
    pub branch: String,
    /// "/" or "/docs".
    pub path: String,
    pub cname: Option<String>,
    pub build_type: String,
    pub public: bool,
    pub https_enforced: bool,
    pub status: String,
    /// `GET /pages` answers left before a build in progress finishes.
    pub gets_left: u32,
    /// What the site serves; `None` before the first build.
    pub site: Option<BTreeMap<String, Vec<u8>>>,
}

impl Pages {
    pub fn new(branch: &str, path: &str, cname: Option<&str>) -> Self {
        Self {
            branch: branch.to_owned(),
            path: path.to_owned(),
            cname: cname.map(str::to_owned),
            build_type: "legacy".to_owned(),
            public: true,
            https_enforced: cname.is_none(),
            status: "building".to_owned(),
            gets_left: 0,
            site: None,
        }
    }

    /// The `page` shape.
    pub fn value(&self, base: &str, repo: &RepoState) -> Value {
        json!({
            "url": format!("{}/pages", repo.api_url(base)),
            "status": self.status,
            "cname": self.cname,
            "custom_404": false,
            "html_url": site_url(base, &repo.info.owner, &repo.info.name),
            "build_type": self.build_type,
            "source": {"branch": self.branch, "path": self.path},
            "public": self.public,
            "https_enforced": self.https_enforced,
            "protected_domain_state": null,
            "pending_domain_unverified_at": null,
        })
    }
}

/// A rename that has been accepted but has not landed in git yet.
#[derive(Debug, Clone)]
pub struct Rename {
    pub from: String,
    pub to: String,
    pub requests_left: u32,
}

/// One repository.
pub struct RepoState {
    pub info: GhRepo,
    pub id: u64,
    pub pulls: Vec<Pull>,
    pub protections: BTreeMap<String, Protection>,
    pub rulesets: Vec<Value>,
    pub pages: Option<Pages>,
    pub renaming: Vec<Rename>,
    /// Landed renames, old → new, for the 301s.
    pub renamed: BTreeMap<String, String>,
}

impl RepoState {
    fn new(info: GhRepo, index: usize) -> Self {
        Self {
            info,
            id: 1_296_269 + index as u64,
            pulls: Vec::new(),
            protections: BTreeMap::new(),
            rulesets: Vec::new(),
            pages: None,
            renaming: Vec::new(),
            renamed: BTreeMap::new(),
        }
    }

    pub fn git_dir(&self) -> &Path {
        &self.info.git_dir
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.info.owner, self.info.name)
    }

    pub fn api_url(&self, base: &str) -> String {
        format!("{base}/repos/{}/{}", self.info.owner, self.info.name)
    }

    pub fn html_url(&self, base: &str) -> String {
        format!("{base}/{}/{}", self.info.owner, self.info.name)
    }

    // --- pull requests

    pub fn add_pull(&mut self, head: &str, base: &str, title: &str, body: &str) -> u64 {
        let number = self.pulls.iter().map(|p| p.number).max().unwrap_or(0) + 1;
        let branches = git::branches(self.git_dir());
        self.pulls.push(Pull {
            number,
            title: title.to_owned(),
            body: body.to_owned(),
            head: head.to_owned(),
            base: base.to_owned(),
            open: true,
            merged: false,
            merge_commit_sha: None,
            head_sha: branches.get(head).cloned().unwrap_or_default(),
            base_sha: branches.get(base).cloned().unwrap_or_default(),
            created_at: now_iso(),
            closed_at: None,
            merged_at: None,
        });
        number
    }

    pub fn pull(&self, number: u64) -> Option<&Pull> {
        self.pulls.iter().find(|p| p.number == number)
    }

    /// Open pull requests whose base or head branch is gone from git are closed, as GitHub
    /// does; the others learn their branches' tips.
    pub fn close_orphaned_pulls(&mut self) {
        let branches = git::branches(self.git_dir());
        let now = now_iso();
        for p in self.pulls.iter_mut().filter(|p| p.open) {
            match (branches.get(&p.head), branches.get(&p.base)) {
                (Some(h), Some(b)) => {
                    p.head_sha.clone_from(h);
                    p.base_sha.clone_from(b);
                }
                _ => {
                    p.open = false;
                    p.closed_at = Some(now.clone());
                }
            }
        }
    }

    pub fn pull_value(&self, base: &str, p: &Pull) -> Value {
        let api = self.api_url(base);
        let owner = &self.info.owner;
        let repo = json!({"id": self.id, "name": self.info.name, "full_name": self.full_name(),
                          "private": self.info.private, "url": api});
        json!({
            "url": format!("{api}/pulls/{}", p.number),
            "id": 1_000_000 + p.number,
            "node_id": format!("PR_standin{}", p.number),
            "html_url": format!("{}/pull/{}", self.html_url(base), p.number),
            "number": p.number,
            "state": if p.open { "open" } else { "closed" },
            "locked": false,
            "title": p.title,
            "body": p.body,
            "user": {"login": owner, "id": 1, "type": "User"},
            "created_at": p.created_at,
            "updated_at": p.closed_at.clone().unwrap_or_else(|| p.created_at.clone()),
            "closed_at": p.closed_at,
            "merged_at": p.merged_at,
            "merge_commit_sha": p.merge_commit_sha,
            "draft": false,
            "head": {"label": format!("{owner}:{}", p.head), "ref": p.head, "sha": p.head_sha,
                     "user": {"login": owner}, "repo": repo},
            "base": {"label": format!("{owner}:{}", p.base), "ref": p.base, "sha": p.base_sha,
                     "user": {"login": owner}, "repo": repo},
            "merged": p.merged,
            "mergeable": if p.open { json!(true) } else { Value::Null },
            "mergeable_state": if p.open { "clean" } else { "unknown" },
        })
    }

    // --- rulesets

    pub fn insert_ruleset(&mut self, base: &str, id: u64, body: Value) {
        let mut full = Map::new();
        full.insert("id".into(), json!(id));
        full.insert("name".into(), body.get("name").cloned().unwrap_or(json!("")));
        full.insert("target".into(), body.get("target").cloned().unwrap_or(json!("branch")));
        full.insert("source_type".into(), json!("Repository"));
        full.insert("source".into(), json!(self.full_name()));
        full.insert(
            "enforcement".into(),
            body.get("enforcement").cloned().unwrap_or(json!("active")),
        );
        full.insert(
            "bypass_actors".into(),
            body.get("bypass_actors").cloned().unwrap_or(json!([])),
        );
        full.insert("current_user_can_bypass".into(), json!("never"));
        full.insert(
            "conditions".into(),
            body.get("conditions")
                .cloned()
                .unwrap_or(json!({"ref_name": {"include": [], "exclude": []}})),
        );
        full.insert("rules".into(), body.get("rules").cloned().unwrap_or(json!([])));
        full.insert("node_id".into(), json!(format!("RRS_standin{id}")));
        full.insert(
            "_links".into(),
            json!({"self": {"href": format!("{}/rulesets/{id}", self.api_url(base))},
                   "html": {"href": format!("{}/rules/{id}", self.html_url(base))}}),
        );
        let now = now_iso();
        full.insert("created_at".into(), json!(now));
        full.insert("updated_at".into(), json!(now));
        self.rulesets.push(Value::Object(full));
    }

    /// Active branch rulesets whose `ref_name` condition selects `branch`.
    pub fn rulesets_for(&self, branch: &str) -> Vec<&Value> {
        self.rulesets
            .iter()
            .filter(|r| r["enforcement"] == "active" && r["target"] == "branch")
            .filter(|r| ref_name_matches(&r["conditions"], branch, &self.info.default_branch))
            .collect()
    }

    /// The effective rules of `branch` (`repository-rule-detailed[]`).
    pub fn rules_for(&self, branch: &str) -> Vec<Value> {
        let mut out = Vec::new();
        for ruleset in self.rulesets_for(branch) {
            for rule in ruleset["rules"].as_array().into_iter().flatten() {
                let mut r = rule.as_object().cloned().unwrap_or_default();
                r.insert("ruleset_source_type".into(), json!("Repository"));
                r.insert("ruleset_source".into(), json!(self.full_name()));
                r.insert("ruleset_id".into(), ruleset["id"].clone());
                out.push(Value::Object(r));
            }
        }
        out
    }

    fn has_rule(&self, branch: &str, kind: &str) -> bool {
        self.rules_for(branch).iter().any(|r| r["type"] == kind)
    }

    /// `protected` of the branch object: classic protection or any active ruleset.
    pub fn is_protected(&self, branch: &str) -> bool {
        self.protections.contains_key(branch) || !self.rulesets_for(branch).is_empty()
    }

    // --- renames

    /// The rename in progress from `branch`, if any.
    pub fn renaming_from(&self, branch: &str) -> Option<&Rename> {
        self.renaming.iter().find(|r| r.from == branch)
    }

    pub fn renaming_to(&self, branch: &str) -> Option<&Rename> {
        self.renaming.iter().find(|r| r.to == branch)
    }

    /// Counts one request; lands the renames whose wait is over. Whether anything landed.
    fn tick_renames(&mut self, build_delay: u32) -> bool {
        let mut due = Vec::new();
        for r in &mut self.renaming {
            if r.requests_left == 0 {
                due.push(r.clone());
            } else {
                r.requests_left -= 1;
            }
        }
        self.renaming.retain(|r| r.requests_left > 0 || !due.iter().any(|d| d.from == r.from));
        for r in &due {
            self.land_rename(&r.from, &r.to, build_delay);
        }
        !due.is_empty()
    }

    /// The rename happens in git and everything GitHub moves with it moves: open PRs based
    /// on it are retargeted, PRs from it are closed, classic protection naming it exactly
    /// and the Pages source follow, and so does the default branch. Rulesets do not.
    pub fn land_rename(&mut self, from: &str, to: &str, build_delay: u32) {
        if !git::rename_branch(self.git_dir(), from, to) {
            return;
        }
        let now = now_iso();
        for p in self.pulls.iter_mut().filter(|p| p.open) {
            if p.base == from {
                p.base = to.to_owned();
            }
            if p.head == from {
                p.open = false;
                p.closed_at = Some(now.clone());
            }
        }
        if let Some(protection) = self.protections.remove(from) {
            self.protections.insert(to.to_owned(), protection);
        }
        if self.info.default_branch == from {
            self.info.default_branch = to.to_owned();
        }
        self.renamed.remove(to);
        self.renamed.insert(from.to_owned(), to.to_owned());
        let moved_pages = self.pages.as_mut().is_some_and(|p| {
            let moved = p.branch == from;
            if moved {
                p.branch = to.to_owned();
            }
            moved
        });
        if moved_pages {
            self.start_pages_build(build_delay);
        }
    }

    // --- Pages

    /// A source change: "building" for `delay` polls, then built.
    pub fn start_pages_build(&mut self, delay: u32) {
        if delay == 0 {
            self.build_pages_now();
        } else if let Some(p) = self.pages.as_mut() {
            p.status = "building".to_owned();
            p.gets_left = delay;
        }
    }

    /// Builds the site from its source branch now.
    pub fn build_pages_now(&mut self) {
        let git_dir = self.info.git_dir.clone();
        let Some(p) = self.pages.as_mut() else { return };
        p.gets_left = 0;
        let dir = p.path.trim_matches('/').to_owned();
        match git::tip(&git_dir, &p.branch).and_then(|tip| git::snapshot(&git_dir, &tip, &dir)) {
            Some(files) => {
                p.site = Some(files);
                p.status = "built".to_owned();
            }
            None => p.status = "errored".to_owned(),
        }
    }

    /// A `GET /pages` poll: a build in progress moves on.
    pub fn poll_pages(&mut self) {
        let Some(p) = self.pages.as_mut() else { return };
        if p.status != "building" {
            return;
        }
        if p.gets_left > 0 {
            p.gets_left -= 1;
        } else {
            self.build_pages_now();
        }
    }

    /// What the site serves at `path`: nothing when its source branch is gone.
    pub fn site_file(&self, path: &str) -> Option<Vec<u8>> {
        let pages = self.pages.as_ref()?;
        git::tip(self.git_dir(), &pages.branch)?;
        let site = pages.site.as_ref()?;
        let path = path.trim_start_matches('/');
        let path = if path.is_empty() || path.ends_with('/') {
            format!("{path}index.html")
        } else {
            path.to_owned()
        };
        site.get(&path).cloned()
    }

    // --- the hook's rules file

    /// Rewrites `<git_dir>/standin-rules`, one rule a line: `KIND INCLUDE [EXCLUDE…]`, with
    /// branch-name patterns in `sh` `case` syntax.
    pub fn write_rules(&self) -> std::io::Result<()> {
        let mut lines = Vec::new();
        for (branch, p) in &self.protections {
            let b = sh_literal(branch);
            if !p.allows_deletions() {
                lines.push(format!("nodelete {b}"));
            }
            if !p.allows_force_pushes() {
                lines.push(format!("noforce {b}"));
            }
            if p.requires_pull_requests() {
                lines.push(format!("pr {b}"));
            }
            if p.flag("lock_branch") {
                lines.push(format!("locked {b}"));
            }
        }
        for ruleset in
            self.rulesets.iter().filter(|r| r["enforcement"] == "active" && r["target"] == "branch")
        {
            let cond = &ruleset["conditions"]["ref_name"];
            let excludes: Vec<String> = strings(&cond["exclude"])
                .iter()
                .filter_map(|p| sh_pattern(p, &self.info.default_branch))
                .collect();
            for rule in ruleset["rules"].as_array().into_iter().flatten() {
                let kind = match rule["type"].as_str() {
                    Some("deletion") => "nodelete",
                    Some("non_fast_forward") => "noforce",
                    Some("pull_request") => "pr",
                    _ => continue,
                };
                for include in strings(&cond["include"]) {
                    if let Some(inc) = sh_pattern(&include, &self.info.default_branch) {
                        let mut line = format!("{kind} {inc}");
                        for e in &excludes {
                            line.push(' ');
                            line.push_str(e);
                        }
                        lines.push(line);
                    }
                }
            }
        }
        // Both names are frozen until the rename lands.
        for r in &self.renaming {
            lines.push(format!("renaming {}", sh_literal(&r.from)));
            lines.push(format!("renaming {}", sh_literal(&r.to)));
        }
        let mut text = lines.join("\n");
        text.push('\n');
        let path = self.git_dir().join("standin-rules");
        let tmp = self.git_dir().join("standin-rules.tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)
    }

    pub fn would_block_delete(&self, branch: &str) -> bool {
        self.protections.get(branch).is_some_and(|p| !p.allows_deletions())
            || self.has_rule(branch, "deletion")
    }

    /// Why GitHub refuses this change of `branch` (`new` `None`: a delete), as the hook does.
    pub fn refusal(&self, branch: &str, old: &str, new: Option<&str>) -> Option<&'static str> {
        if self.renaming_from(branch).is_some() || self.renaming_to(branch).is_some() {
            return Some(
                "This branch is being renamed; pushes to it are refused until the rename is done.",
            );
        }
        if self.protections.get(branch).is_some_and(|p| p.flag("lock_branch")) {
            return Some("Cannot change this locked branch");
        }
        let Some(new) = new else {
            return self
                .would_block_delete(branch)
                .then_some("Cannot delete this protected branch");
        };
        let classic = self.protections.get(branch);
        if classic.is_some_and(Protection::requires_pull_requests)
            || self.has_rule(branch, "pull_request")
        {
            return Some("Changes must be made through a pull request.");
        }
        let no_force = classic.is_some_and(|p| !p.allows_force_pushes())
            || self.has_rule(branch, "non_fast_forward");
        (no_force && !git::is_ancestor(self.git_dir(), old, new))
            .then_some("Cannot force-push to this branch")
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect()
}

/// A branch name as a `case` pattern that matches only itself.
fn sh_literal(branch: &str) -> String {
    let mut out = String::new();
    for c in branch.chars() {
        if "*?[]\\".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A ruleset `ref_name` pattern as a `case` pattern on the branch name (`*` there also
/// crosses `/`: the hook is a little stricter than GitHub for patterns with `*`).
fn sh_pattern(pattern: &str, default_branch: &str) -> Option<String> {
    match pattern {
        "~ALL" => Some("*".to_owned()),
        "~DEFAULT_BRANCH" => Some(sh_literal(default_branch)),
        p => {
            let p = p.strip_prefix("refs/heads/").unwrap_or(p);
            if p.starts_with("refs/") {
                return None;
            }
            Some(p.replace("**", "*"))
        }
    }
}

/// Whether a `conditions` object's `ref_name` selects `branch`.
pub fn ref_name_matches(conditions: &Value, branch: &str, default_branch: &str) -> bool {
    let cond = &conditions["ref_name"];
    let full = format!("refs/heads/{branch}");
    let hit = |pattern: &str| match pattern {
        "~ALL" => true,
        "~DEFAULT_BRANCH" => branch == default_branch,
        p => {
            let p = if p.starts_with("refs/") { p.to_owned() } else { format!("refs/heads/{p}") };
            fnmatch(p.as_bytes(), full.as_bytes())
        }
    };
    strings(&cond["include"]).iter().any(|p| hit(p))
        && !strings(&cond["exclude"]).iter().any(|p| hit(p))
}

/// `fnmatch` as rulesets use it: `*` and `?` stop at `/`, `**` crosses it, `[…]` classes.
pub fn fnmatch(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.first() {
        None => text.is_empty(),
        Some(b'*') if pattern.get(1) == Some(&b'*') => {
            let rest = &pattern[2..];
            (0..=text.len()).any(|i| fnmatch(rest, &text[i..]))
        }
        Some(b'*') => {
            let rest = &pattern[1..];
            for i in 0..=text.len() {
                if fnmatch(rest, &text[i..]) {
                    return true;
                }
                if text.get(i) == Some(&b'/') {
                    return false;
                }
            }
            false
        }
        Some(b'?') => {
            text.first().is_some_and(|c| *c != b'/') && fnmatch(&pattern[1..], &text[1..])
        }
        Some(b'[') => {
            let Some(close) = pattern.iter().skip(1).position(|c| *c == b']').map(|i| i + 1) else {
                return text.first() == Some(&b'[') && fnmatch(&pattern[1..], &text[1..]);
            };
            let Some(c) = text.first() else { return false };
            let class = &pattern[1..close];
            let (negate, class) = match class.first() {
                Some(b'!' | b'^') => (true, &class[1..]),
                _ => (false, class),
            };
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    hit |= (class[i]..=class[i + 2]).contains(c);
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit != negate && fnmatch(&pattern[close + 1..], &text[1..])
        }
        Some(p) => text.first() == Some(p) && fnmatch(&pattern[1..], &text[1..]),
    }
}
