//! What GitHub brings to a migration: [`read`] looks (a few GETs, read only), and
//! [`contribution`] (pure) turns what was seen into settings to move, warnings and notes.
//!
//! Every change is explicit, with the exact value before and after, in ADR-002's order so
//! nothing served goes down and no pull request is lost:
//!
//! - *follow* (once the new name exists): open pull requests based on the old branch are
//!   retargeted; its classic protection is copied to the new branch; rulesets that name it
//!   name the new one; a GitHub Pages site built from it is built from the new one, and
//!   the served index is checked;
//! - *guard* (once `integration` exists): a review gate, as a ruleset (or classic
//!   protection where rulesets are unavailable);
//! - *release* (right before the old name is deleted): its protection, which would refuse
//!   the delete, is removed.
//!
//! The rename endpoint is not used: it moves pull requests, protection and Pages at once
//! but has no compare-and-swap on the branch and finishes in the background.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::{ApiError, BranchLookup, GitHub, PagesSite, Pull, RepoInfo};
use crate::http::Transport;
use crate::service::{Contribution, Served, SettingChange, Stage};

/// The service name settings carry.
pub const SERVICE: &str = "github";

/// What the plan asks of GitHub.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wants {
    pub remote: String,
    /// `(old, new)` for each renamed branch whose old name is still on the remote.
    pub renames: Vec<(String, String)>,
    /// Branches the plan creates (each gets the review gate).
    pub created: Vec<String>,
    /// The branch the CI rewrite commits on, when there is a rewrite.
    pub ci_branch: Option<String>,
    /// The rewrite commit's subject: a review's title.
    pub ci_title: String,
    pub approvals: u32,
    pub leave_pages: bool,
    /// Where the Helm index is served, when the plan says (else the site's own URL).
    pub helm_repo_url: Option<String>,
    /// Branches on the remote now.
    pub remote_heads: BTreeSet<String>,
    /// Old branches whose tip holds `index.yaml` at the top.
    pub has_index: BTreeSet<String>,
}

/// A read that may have failed: the error says why it could not be seen.
pub type Known<T> = Result<T, String>;

/// What GitHub showed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Seen {
    /// `OWNER/NAME`.
    pub repository: String,
    /// Where the token came from (`GH_TOKEN`, …); `None`: unauthenticated.
    pub token: Option<String>,
    pub repo: Option<Known<RepoInfo>>,
    pub branches: BTreeMap<String, Known<BranchLookup>>,
    /// Classic protection in PUT shape, by branch (`None`: not protected).
    pub protection: BTreeMap<String, Known<Option<Value>>>,
    /// Repository rulesets in body shape, by id; `Err`: unavailable or not readable.
    pub rulesets: Option<Known<Vec<(u64, Value)>>>,
    pub pulls_base: BTreeMap<String, Known<Vec<Pull>>>,
    pub pulls_head: BTreeMap<String, Known<Vec<Pull>>>,
    pub pages: Option<Known<Option<PagesSite>>>,
    /// Rules that apply to the CI branch (rulesets at every level).
    pub ci_rules: Option<Known<Vec<Value>>>,
    /// Rules that apply to each renamed branch, from rulesets at every level.
    pub old_rules: BTreeMap<String, Known<Vec<Value>>>,
    pub round_trips: usize,
}

fn known<T>(r: Result<T, ApiError>) -> Known<T> {
    r.map_err(|e| e.to_string())
}

/// Reads what the plan needs from GitHub. Failures are kept, not raised: the plan says
/// what it could not see.
pub fn read<T: Transport>(gh: &GitHub<T>, w: &Wants) -> Seen {
    let mut seen = Seen { repository: gh.repository_name().to_string(), ..Seen::default() };
    seen.repo = Some(known(gh.repository()));
    if matches!(seen.repo, Some(Err(_))) {
        // Unreachable or unreadable: the rest would fail the same way (each after its own
        // retries), and nothing is planned on GitHub without the repository.
        seen.round_trips = gh.requests_sent();
        return seen;
    }
    for (old, new) in &w.renames {
        let lookup = known(gh.branch(old));
        let protected = matches!(lookup, Ok(BranchLookup::Found { protected: true, .. }));
        seen.branches.insert(old.clone(), lookup);
        if protected {
            seen.protection.insert(old.clone(), known(gh.protection(old)));
        }
        if w.remote_heads.contains(new) {
            seen.protection.insert(new.clone(), known(gh.protection(new)));
        }
        seen.old_rules.insert(old.clone(), known(gh.branch_rules(old)));
        seen.pulls_base.insert(old.clone(), known(gh.open_pulls(Some(old), None)));
        seen.pulls_head.insert(old.clone(), known(gh.open_pulls(None, Some(old))));
    }
    let rulesets = gh.rulesets().and_then(|summaries| {
        summaries
            .iter()
            .filter(|s| s.source_type.as_deref().is_none_or(|t| t == "Repository"))
            .map(|s| Ok((s.id, gh.ruleset(s.id)?)))
            .collect::<Result<Vec<_>, ApiError>>()
    });
    seen.rulesets = Some(known(rulesets));
    let gate_by_protection = !matches!(seen.rulesets, Some(Ok(_)));
    for b in &w.created {
        if gate_by_protection && w.remote_heads.contains(b) {
            seen.protection.insert(b.clone(), known(gh.protection(b)));
        }
    }
    if !w.renames.is_empty() {
        seen.pages = Some(known(gh.pages()));
    }
    if let Some(ci) = &w.ci_branch {
        seen.ci_rules = Some(known(gh.branch_rules(ci)));
        if !seen.protection.contains_key(ci) {
            seen.protection.insert(ci.clone(), known(gh.protection(ci)));
        }
    }
    seen.round_trips = gh.requests_sent();
    seen
}

/// The pull requests the per-chart flow opens: one from each chart branch `split` creates
/// or moves into `base`, unless one is open already (`open_heads`). Each is a setting the
/// split's run opens and its rollback closes.
pub fn chart_reviews(
    repository: &str,
    remote: &str,
    base: &str,
    charts: &[(String, String)],
    open_heads: &BTreeSet<String>,
) -> Vec<SettingChange> {
    charts
        .iter()
        .filter(|(branch, _)| !open_heads.contains(branch))
        .map(|(branch, chart)| SettingChange {
            service: SERVICE.to_string(),
            scope: repository.to_string(),
            key: format!("pulls/open/{branch}"),
            label: format!("pull request from `{branch}` into `{base}` (chart {chart})"),
            from: Value::Null,
            to: json!({"base": base, "head": branch, "title": format!("chart {chart}: from integration")}),
            remote: remote.to_string(),
            needs: vec![branch.clone()],
            serves: None,
            back: false,
            ..Default::default()
        })
        .collect()
}

/// The name of the review gate's ruleset on `branch`.
pub fn gate_name(branch: &str) -> String {
    format!("rebranch: review gate on {branch}")
}

/// The review gate's ruleset: pull requests with `approvals` approvals, no deletion, no
/// force push.
pub fn gate_ruleset(branch: &str, approvals: u32) -> Value {
    json!({
        "name": gate_name(branch),
        "target": "branch",
        "enforcement": "active",
        "conditions": {"ref_name": {"include": [format!("refs/heads/{branch}")], "exclude": []}},
        "rules": [
            {"type": "pull_request", "parameters": {
                "required_approving_review_count": approvals,
                "dismiss_stale_reviews_on_push": false,
                "require_code_owner_review": false,
                "require_last_push_approval": false,
                "required_review_thread_resolution": false
            }},
            {"type": "deletion"},
            {"type": "non_fast_forward"}
        ]
    })
}

/// The review gate as classic protection, where rulesets are unavailable.
pub fn gate_protection(approvals: u32) -> Value {
    json!({
        "required_status_checks": null,
        "enforce_admins": null,
        "required_pull_request_reviews": {"required_approving_review_count": approvals},
        "restrictions": null
    })
}

/// Whether `live` holds everything `want` says: objects key by key (a key `want` does not
/// name may hold anything), arrays element by element; a `null` in `want` matches an unset
/// value (`null`, `false`, empty, or missing), as GitHub reads back defaults it was not sent.
pub fn holds(live: &Value, want: &Value) -> bool {
    match (want, live) {
        (Value::Null, l) => is_unset(l),
        (Value::Object(w), Value::Object(l)) => {
            w.iter().all(|(k, v)| holds(l.get(k).unwrap_or(&Value::Null), v))
        }
        (Value::Array(w), Value::Array(l)) => {
            w.len() == l.len() && w.iter().zip(l).all(|(w, l)| holds(l, w))
        }
        (w, l) => w == l,
    }
}

fn is_unset(v: &Value) -> bool {
    crate::service::is_unset(Some(v))
}

struct Builder<'a> {
    seen: &'a Seen,
    w: &'a Wants,
    out: Contribution,
}

/// What the migration does on GitHub, from what was seen.
pub fn contribution(seen: &Seen, w: &Wants) -> Contribution {
    let mut b = Builder {
        seen,
        w,
        out: Contribution {
            service: SERVICE.to_string(),
            round_trips: seen.round_trips,
            ..Contribution::default()
        },
    };
    if b.token_note() {
        for (old, new) in &w.renames {
            b.rename(old, new);
        }
        for branch in &w.created {
            b.gate(branch);
        }
        b.ci_branch();
    }
    b.out
}

impl Builder<'_> {
    fn permissions(&self) -> (bool, bool, bool) {
        match &self.seen.repo {
            Some(Ok(RepoInfo { permissions: Some(p), .. })) => {
                (p.admin, p.admin || p.maintain, p.push || p.admin || p.maintain)
            }
            _ => (false, false, false),
        }
    }

    fn change(&self, key: String, label: String, from: Value, to: Value) -> SettingChange {
        SettingChange {
            service: SERVICE.to_string(),
            scope: self.seen.repository.clone(),
            key,
            label,
            from,
            to,
            remote: self.w.remote.clone(),
            needs: Vec::new(),
            serves: None,
            back: false,
            ..Default::default()
        }
    }

    /// Records a reason to refuse; several are given together, each with its fix.
    fn refuse(&mut self, (message, hint): (String, String)) {
        self.out.refusal = Some(match self.out.refusal.take() {
            None => (message, hint),
            Some((m, h)) => (format!("{m}; and {message}"), format!("{h}; {hint}")),
        });
    }

    fn cannot(&mut self, what: &str, why: &str, breaks: &str) {
        self.out
            .warnings
            .push(format!("GitHub {}: cannot {what} ({why}); {breaks}", self.seen.repository));
    }

    /// Says what an unauthenticated plan cannot do; false when the repository itself
    /// could not be read (nothing else is planned then).
    fn token_note(&mut self) -> bool {
        let repo = self.seen.repository.clone();
        match &self.seen.repo {
            Some(Err(e)) => {
                let e = e.clone();
                self.out.warnings.push(format!(
                    "GitHub {repo}: cannot read the repository ({e}); its pull requests, protection, Pages site and review gate are left as they are{}",
                    if self.seen.token.is_none() { ": set GH_TOKEN (or GITHUB_TOKEN) to a token that can read it" } else { "" }
                ));
                false
            }
            _ => {
                if self.seen.token.is_none() {
                    self.out.warnings.push(format!(
                        "GitHub {repo}: no token (GH_TOKEN or GITHUB_TOKEN), so only public reads are tried and nothing on GitHub is changed: pull requests based on a renamed branch, its protection, a Pages site built from it and the review gate are named below where they could be seen"
                    ));
                }
                true
            }
        }
    }

    fn rename(&mut self, old: &str, new: &str) {
        if let Some(Ok(BranchLookup::Moved { location })) = self.seen.branches.get(old) {
            let to = location.clone().unwrap_or_default();
            self.refuse((
                format!(
                    "GitHub answers that `{old}` was renamed (301 {to}), while the remote still has it: a rename is in progress"
                ),
                "wait until GitHub finishes the rename, then plan again".to_string(),
            ));
            return;
        }
        self.pulls(old, new);
        self.protection(old, new);
        self.rulesets(old, new);
        self.inherited_rules(old, new);
        self.pages(old, new);
    }

    /// Rules that reach the old branch from rulesets above the repository (organisation,
    /// enterprise): rebranch cannot move them; one that forbids deletion would stop the
    /// apply at the delete, so it is refused now.
    fn inherited_rules(&mut self, old: &str, new: &str) {
        let Some(Ok(rules)) = self.seen.old_rules.get(old) else { return };
        let mut inherited: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in rules {
            let level =
                r.get("ruleset_source_type").and_then(Value::as_str).unwrap_or("Repository");
            if level == "Repository" {
                continue;
            }
            let source = r.get("ruleset_source").and_then(Value::as_str).unwrap_or("?");
            let id = r.get("ruleset_id").map(Value::to_string).unwrap_or_default();
            let kind = r.get("type").and_then(Value::as_str).unwrap_or("?").to_string();
            inherited.entry(format!("{level} ruleset {id} of {source}")).or_default().push(kind);
        }
        for (ruleset, kinds) in inherited {
            if kinds.iter().any(|k| k == "deletion") {
                self.refuse((
                    format!("the {ruleset} forbids deleting `{old}`, and rebranch cannot change it: the apply would stop before deleting `{old}`"),
                    format!("ask an admin of that {} to exclude `{old}` (and cover `{new}`), then plan again", ruleset.split(' ').next().unwrap_or("ruleset").to_lowercase()),
                ));
            } else {
                self.out.warnings.push(format!(
                    "the {ruleset} applies to `{old}` ({}); it is not moved to `{new}`: ask its admin to cover `{new}` too",
                    kinds.join(", ")
                ));
            }
        }
    }

    fn pulls(&mut self, old: &str, new: &str) {
        let (_, _, push) = self.permissions();
        match self.seen.pulls_base.get(old) {
            Some(Ok(pulls)) => {
                for p in pulls {
                    if !push {
                        self.cannot(
                            &format!("retarget pull request #{} ({}) from `{old}` to `{new}`", p.number, p.title),
                            "the token cannot write pull requests",
                            &format!("GitHub closes it when `{old}` is deleted: give a token with write access (pull requests: write)"),
                        );
                        continue;
                    }
                    let mut c = self.change(
                        format!("pulls/{}/base", p.number),
                        format!("pull request #{} \"{}\": base", p.number, p.title),
                        json!(old),
                        json!(new),
                    );
                    c.needs = vec![new.to_string()];
                    self.out.changes.push((Stage::Follow, c));
                }
            }
            Some(Err(e)) => {
                let e = e.clone();
                self.cannot(
                    &format!("list open pull requests based on `{old}`"),
                    &e,
                    &format!("any such pull request is closed when `{old}` is deleted"),
                );
            }
            None => {}
        }
        if let Some(Ok(heads)) = self.seen.pulls_head.get(old) {
            let own = self.seen.repository.clone();
            for p in heads.iter().filter(|p| p.head_repo.as_deref().is_none_or(|r| r == own)) {
                self.out.warnings.push(format!(
                    "pull request #{} \"{}\" ({}) is opened from `{old}`: deleting `{old}` closes it, and it cannot be reopened from `{new}`; merge or close it first, or open it again from `{new}` afterwards",
                    p.number, p.title, p.html_url
                ));
            }
        }
    }

    fn protection(&mut self, old: &str, new: &str) {
        let (admin, _, _) = self.permissions();
        let body = match self.seen.protection.get(old) {
            Some(Ok(Some(body))) => body.clone(),
            Some(Ok(None)) | None => return,
            Some(Err(e)) => {
                let e = e.clone();
                self.cannot(
                    &format!("read the protection of `{old}`"),
                    &e,
                    &format!("it does not follow to `{new}`, and if it forbids deletion, the apply stops before deleting `{old}` (nothing is lost; rollback or apply again)"),
                );
                return;
            }
        };
        if !admin {
            self.refuse((
                format!("`{old}` is protected on GitHub, and the token cannot change protection (it needs admin): the protection could not follow to `{new}`, and deleting `{old}` would be refused"),
                "use a token with admin access to the repository (fine-grained: Administration: write) in GH_TOKEN, or remove the protection of the old branch yourself, then plan again".to_string(),
            ));
            return;
        }
        match self.seen.protection.get(new) {
            Some(Ok(Some(existing))) if holds(existing, &body) => {}
            Some(Ok(Some(_))) => self.out.warnings.push(format!(
                "`{new}` has its own protection on GitHub, so `{old}`'s is not copied to it"
            )),
            _ => {
                let mut c = self.change(
                    format!("branches/{new}/protection"),
                    format!("protection of `{new}` (copied from `{old}`)"),
                    Value::Null,
                    body.clone(),
                );
                c.needs = vec![new.to_string()];
                self.out.changes.push((Stage::Follow, c));
            }
        }
        let c = self.change(
            format!("branches/{old}/protection"),
            format!("protection of `{old}` (released so it can be deleted)"),
            body,
            Value::Null,
        );
        self.out.changes.push((Stage::Release, c));
    }

    fn rulesets(&mut self, old: &str, new: &str) {
        let (admin, _, _) = self.permissions();
        let Some(Ok(rulesets)) = &self.seen.rulesets else { return };
        let exact = format!("refs/heads/{old}");
        let mut found = Vec::new();
        for (id, body) in rulesets {
            let names = |side: &str| -> Vec<String> {
                body.pointer(&format!("/conditions/ref_name/{side}"))
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default()
            };
            let (include, exclude) = (names("include"), names("exclude"));
            if !include.contains(&exact) && !exclude.contains(&exact) {
                continue;
            }
            let name = body.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
            let swap = |list: Vec<String>| -> Vec<String> {
                list.into_iter()
                    .map(|n| if n == exact { format!("refs/heads/{new}") } else { n })
                    .collect()
            };
            let mut to = body.clone();
            to["conditions"]["ref_name"]["include"] = json!(swap(include));
            to["conditions"]["ref_name"]["exclude"] = json!(swap(exclude));
            found.push((*id, name, body.clone(), to));
        }
        for (id, name, from, to) in found {
            if !admin {
                self.cannot(
                    &format!("point ruleset \"{name}\" at `{new}`"),
                    "the token cannot change rulesets (it needs admin)",
                    &format!("it keeps naming `{old}`, so `{new}` is not covered by it"),
                );
                continue;
            }
            let c = self.change(
                format!("rulesets/{id}"),
                format!("ruleset \"{name}\" ({id}): branches"),
                from,
                to,
            );
            self.out.changes.push((Stage::Follow, c));
        }
    }

    fn pages(&mut self, old: &str, new: &str) {
        let (_, manage, _) = self.permissions();
        let site = match &self.seen.pages {
            Some(Ok(Some(site))) => site.clone(),
            Some(Ok(None)) | None => return,
            Some(Err(e)) => {
                let e = e.clone();
                self.cannot(
                    "read the GitHub Pages site",
                    &e,
                    &format!("if it is built from `{old}`, the site (and the Helm repository it serves) goes down when `{old}` is deleted"),
                );
                return;
            }
        };
        let Some(source) = site.source.clone().filter(|s| s.branch == old) else { return };
        let url = site.html_url.clone().unwrap_or_default();
        if site.build_type.as_deref() == Some("workflow") {
            self.out.notes.push(format!(
                "GitHub Pages ({url}) is built by a workflow, so its source branch is not used; the workflow's references to `{old}` are part of the CI rewrite"
            ));
            return;
        }
        if !manage {
            let message = format!(
                "GitHub Pages ({url}) is built from `{old}`, and the token cannot switch it (it needs admin or maintain): the site and the Helm repository it serves go down when `{old}` is deleted"
            );
            if self.w.leave_pages {
                self.out.warnings.push(format!("{message}; going on as github.pages=leave says: switch Settings → Pages to `{new}` right after the apply"));
            } else {
                self.refuse((
                    message,
                    "use a token with admin access in GH_TOKEN, or go on anyway with --set github.pages=leave and switch Settings → Pages yourself".to_string(),
                ));
            }
            return;
        }
        let mut c = self.change(
            "pages/source".to_string(),
            "GitHub Pages source".to_string(),
            json!({"branch": old, "path": source.path}),
            json!({"branch": new, "path": source.path}),
        );
        c.needs = vec![new.to_string()];
        c.then = Some(format!("wait until GitHub Pages has built the site from `{new}`"));
        c.then_back = Some(format!("wait until GitHub Pages has built the site from `{old}`"));
        if source.path == "/" && self.w.has_index.contains(old) {
            let base = self.w.helm_repo_url.clone().unwrap_or(url);
            if !base.is_empty() {
                c.serves = Some(Served {
                    url: format!("{}/index.yaml", base.trim_end_matches('/')),
                    branch: new.to_string(),
                    file: "index.yaml".to_string(),
                });
            }
        }
        self.out.changes.push((Stage::Follow, c));
    }

    fn gate(&mut self, branch: &str) {
        let approvals = self.w.approvals;
        if approvals == 0 {
            return;
        }
        let (admin, _, _) = self.permissions();
        match &self.seen.rulesets {
            Some(Ok(rulesets)) => {
                let name = gate_name(branch);
                let want = gate_ruleset(branch, approvals);
                let existing = rulesets
                    .iter()
                    .find(|(_, b)| b.get("name").and_then(Value::as_str) == Some(name.as_str()));
                if existing.is_some_and(|(_, b)| holds(b, &want)) {
                    return;
                }
                if !admin {
                    self.cannot(&format!("create the review gate on `{branch}`"), "the token cannot change rulesets (it needs admin)", &format!("`{branch}` takes pushes without review until a ruleset requires pull requests"));
                    return;
                }
                let from = existing.map_or(Value::Null, |(_, b)| b.clone());
                let mut c = self.change(
                    format!("rulesets/named/{name}"),
                    format!(
                        "review gate on `{branch}` (ruleset \"{name}\", {approvals} approval(s))"
                    ),
                    from,
                    want,
                );
                c.needs = vec![branch.to_string()];
                self.out.changes.push((Stage::Guard, c));
            }
            _ => {
                let want = gate_protection(approvals);
                let current = match self.seen.protection.get(branch) {
                    Some(Ok(p)) => p.clone(),
                    _ => None,
                };
                if let Some(p) = &current {
                    if !holds(p, &want) {
                        self.out.warnings.push(format!("`{branch}` has its own protection on GitHub; the review gate is not added to it"));
                    }
                    return;
                }
                if !admin {
                    self.cannot(
                        &format!("protect `{branch}` with a review gate"),
                        "the token cannot change protection (it needs admin)",
                        &format!("`{branch}` takes pushes without review"),
                    );
                    return;
                }
                let mut c = self.change(
                    format!("branches/{branch}/protection"),
                    format!("review gate on `{branch}` (classic protection, {approvals} approval(s); rulesets are unavailable)"),
                    Value::Null,
                    want,
                );
                c.needs = vec![branch.to_string()];
                self.out.changes.push((Stage::Guard, c));
            }
        }
    }

    /// Whether the CI branch takes pushes: a pull-request rule refuses the rewrite commit.
    fn ci_branch(&mut self) {
        let Some(ci) = self.w.ci_branch.clone() else { return };
        let by_rules = matches!(&self.seen.ci_rules, Some(Ok(rules)) if rules.iter().any(|r| r.get("type").and_then(Value::as_str) == Some("pull_request")));
        let by_protection = matches!(self.seen.protection.get(&ci), Some(Ok(Some(p))) if !is_unset(p.get("required_pull_request_reviews").unwrap_or(&Value::Null)));
        if !(by_rules || by_protection) {
            return;
        }
        let (_, _, push) = self.permissions();
        if !push {
            self.out.warnings.push(format!(
                "`{ci}` requires pull requests on GitHub and the token cannot open one: the CI rewrite commit cannot be pushed to it, so the apply stops at that step"
            ));
            return;
        }
        let head = format!("rebranch/ci-{ci}");
        let url = match &self.seen.repo {
            Some(Ok(r)) => format!("{}/pulls?q=is%3Apr+head%3A{head}", r.html_url),
            _ => String::new(),
        };
        let mut open = self.change(
            format!("pulls/open/{head}"),
            format!("pull request from `{head}` into `{ci}` (the CI rewrite)"),
            Value::Null,
            json!({"base": ci, "head": head, "title": self.w.ci_title}),
        );
        open.needs = vec![head.clone()];
        self.out.notes.push(format!(
            "`{ci}` requires pull requests on GitHub: the CI rewrite goes to `{head}` with a pull request, and the apply stops (exit 6) until it is merged; `rebranch apply` then goes on"
        ));
        self.out.review = Some(crate::service::ReviewRoute {
            branch: ci.clone(),
            head: head.clone(),
            open,
            hint: format!("merge the pull request from `{head}` into `{ci}` {url}")
                .trim_end()
                .to_string(),
        });
    }
}

#[cfg(test)]
#[path = "forge_tests.rs"]
mod tests;
