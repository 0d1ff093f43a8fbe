//! What GitHub brings to a plan, from what was seen: pure, no requests.

use std::collections::BTreeMap;

use serde_json::json;

use super::*;
use crate::github::{PagesSource, Permissions};

fn repo(admin: bool, push: bool) -> RepoInfo {
    RepoInfo {
        default_branch: "main".into(),
        private: false,
        permissions: Some(Permissions { admin, maintain: false, push, triage: push, pull: true }),
        html_url: "https://github.com/acme/charts".into(),
        full_name: "acme/charts".into(),
    }
}

fn pull(number: u64, base: &str, head: &str) -> Pull {
    Pull {
        number,
        title: format!("PR {number}"),
        html_url: format!("https://github.com/acme/charts/pull/{number}"),
        state: "open".into(),
        base: base.into(),
        head: head.into(),
        head_repo: Some("acme/charts".into()),
        draft: false,
    }
}

fn site(branch: &str) -> PagesSite {
    PagesSite {
        build_type: Some("legacy".into()),
        source: Some(PagesSource { branch: branch.into(), path: "/".into() }),
        cname: Some("charts.example.org".into()),
        html_url: Some("https://charts.example.org/".into()),
        status: Some("built".into()),
    }
}

fn wants() -> Wants {
    Wants {
        remote: "origin".into(),
        renames: vec![("charts".into(), "release".into())],
        created: vec!["integration".into()],
        ci_branch: Some("main".into()),
        ci_title: "ci: follow the rename".into(),
        approvals: 1,
        leave_pages: false,
        helm_repo_url: None,
        remote_heads: ["main", "charts"].map(String::from).into(),
        has_index: ["charts".to_string()].into(),
    }
}

/// A repository as the issue describes it: Pages from `charts`, one PR based on it, a
/// protected `charts`, rulesets available.
fn seen(admin: bool) -> Seen {
    let protection = json!({"required_status_checks": null, "enforce_admins": true,
        "required_pull_request_reviews": null, "restrictions": null,
        "allow_deletions": false, "required_signatures": false});
    Seen {
        repository: "acme/charts".into(),
        token: Some("GH_TOKEN".into()),
        repo: Some(Ok(repo(admin, true))),
        branches: [(
            "charts".to_string(),
            Ok(BranchLookup::Found { sha: "c".repeat(40), protected: true }),
        )]
        .into(),
        protection: [("charts".to_string(), Ok(Some(protection)))].into(),
        rulesets: Some(Ok(vec![(
            7,
            json!({"name": "publish", "target": "branch", "enforcement": "active",
                "conditions": {"ref_name": {"include": ["refs/heads/charts"], "exclude": []}},
                "rules": [{"type": "non_fast_forward"}]}),
        )])),
        pulls_base: [("charts".to_string(), Ok(vec![pull(12, "charts", "cr-podinfo-1.2.0")]))]
            .into(),
        pulls_head: [("charts".to_string(), Ok(vec![pull(13, "main", "charts")]))].into(),
        pages: Some(Ok(Some(site("charts")))),
        ci_rules: Some(Ok(Vec::new())),
        old_rules: BTreeMap::new(),
        round_trips: 9,
    }
}

fn keys(c: &Contribution) -> Vec<(Stage, String)> {
    c.changes.iter().map(|(s, c)| (*s, c.key.clone())).collect()
}

#[test]
fn everything_that_names_the_old_branch_follows_and_integration_gets_a_gate() {
    let c = contribution(&seen(true), &wants());
    assert_eq!(c.refusal, None);
    assert_eq!(
        keys(&c),
        [
            (Stage::Follow, "pulls/12/base".to_string()),
            (Stage::Follow, "branches/release/protection".to_string()),
            (Stage::Release, "branches/charts/protection".to_string()),
            (Stage::Follow, "rulesets/7".to_string()),
            (Stage::Follow, "pages/source".to_string()),
            (Stage::Guard, "rulesets/named/rebranch: review gate on integration".to_string()),
        ]
    );
    let pages = &c.changes[4].1;
    assert_eq!(pages.from, json!({"branch": "charts", "path": "/"}));
    assert_eq!(pages.to, json!({"branch": "release", "path": "/"}));
    assert_eq!(pages.needs, ["release"]);
    let served = pages.serves.as_ref().unwrap();
    assert_eq!(served.url, "https://charts.example.org/index.yaml");
    let ruleset = &c.changes[3].1;
    assert_eq!(ruleset.to["conditions"]["ref_name"]["include"], json!(["refs/heads/release"]));
    assert_eq!(ruleset.to["rules"], ruleset.from["rules"]);
    // The PR from `charts` is named: deleting the branch closes it.
    assert!(
        c.warnings.iter().any(|w| w.contains("#13") && w.contains("closes it")),
        "{:?}",
        c.warnings
    );
    assert_eq!(c.round_trips, 9);
}

#[test]
fn a_protected_old_branch_without_admin_is_refused_with_the_fix() {
    let c = contribution(&seen(false), &wants());
    let (message, hint) = c.refusal.unwrap();
    assert!(message.contains("`charts` is protected"), "{message}");
    assert!(hint.contains("GH_TOKEN"), "{hint}");
}

#[test]
fn pages_that_cannot_be_switched_refuse_unless_told_to_leave_them() {
    let mut s = seen(false);
    s.protection.clear();
    s.branches
        .insert("charts".into(), Ok(BranchLookup::Found { sha: "c".repeat(40), protected: false }));
    let c = contribution(&s, &wants());
    let (message, hint) = c.refusal.expect("refused");
    assert!(message.contains("go down"), "{message}");
    assert!(hint.contains("github.pages=leave"), "{hint}");
    let w = Wants { leave_pages: true, ..wants() };
    let c = contribution(&s, &w);
    assert_eq!(c.refusal, None);
    assert!(c.warnings.iter().any(|w| w.contains("Settings → Pages")), "{:?}", c.warnings);
}

#[test]
fn without_a_token_the_plan_says_what_it_cannot_see_or_do() {
    let mut s = seen(false);
    s.token = None;
    s.repo = Some(Ok(RepoInfo { permissions: None, ..repo(false, false) }));
    s.protection = [("charts".to_string(), Err("401 Requires authentication".to_string()))].into();
    s.pages = Some(Err("404 Not Found".into()));
    s.rulesets = Some(Err("401 Requires authentication".into()));
    let c = contribution(&s, &wants());
    assert_eq!(c.refusal, None);
    assert!(c.changes.is_empty());
    let all = c.warnings.join("\n");
    for expected in [
        "no token",
        "retarget pull request #12",
        "protection of `charts`",
        "GitHub Pages",
        "review gate",
    ] {
        assert!(all.contains(expected), "{expected} in {all}");
    }
}

#[test]
fn a_rename_in_progress_is_refused() {
    let mut s = seen(true);
    s.branches.insert(
        "charts".into(),
        Ok(BranchLookup::Moved { location: Some("…/branches/release".into()) }),
    );
    let c = contribution(&s, &wants());
    assert!(c.refusal.unwrap().0.contains("rename is in progress"));
}

#[test]
fn a_migrated_repository_needs_nothing_more() {
    let mut s = seen(true);
    let w = Wants {
        renames: Vec::new(),
        remote_heads: ["main", "release", "integration"].map(String::from).into(),
        ..wants()
    };
    s.rulesets = Some(Ok(vec![(9, gate_ruleset("integration", 1))]));
    let c = contribution(&s, &w);
    assert!(c.changes.is_empty(), "{:?}", keys(&c));
}

#[test]
fn without_rulesets_the_gate_is_classic_protection_and_zero_approvals_means_none() {
    let mut s = seen(true);
    s.rulesets = Some(Err("403 Upgrade to GitHub Pro".into()));
    let c = contribution(&s, &wants());
    let gate = c.changes.iter().find(|(st, _)| *st == Stage::Guard).unwrap();
    assert_eq!(gate.1.key, "branches/integration/protection");
    assert_eq!(gate.1.to, gate_protection(1));
    let c = contribution(&s, &Wants { approvals: 0, ..wants() });
    assert!(c.changes.iter().all(|(st, _)| *st != Stage::Guard));
}

#[test]
fn a_pages_site_built_by_a_workflow_is_only_noted() {
    let mut s = seen(true);
    let mut site = site("charts");
    site.build_type = Some("workflow".into());
    s.pages = Some(Ok(Some(site)));
    let c = contribution(&s, &wants());
    assert!(c.changes.iter().all(|(_, c)| c.key != "pages/source"));
    assert!(c.notes.iter().any(|n| n.contains("built by a workflow")));
}

#[test]
fn a_main_that_requires_pull_requests_is_named() {
    let mut s = seen(true);
    s.ci_rules = Some(Ok(vec![json!({"type": "pull_request", "parameters": {}})]));
    let c = contribution(&s, &wants());
    let review = c.review.expect("the rewrite goes through a pull request");
    assert_eq!((review.branch.as_str(), review.head.as_str()), ("main", "rebranch/ci-main"));
    assert_eq!(review.open.key, "pulls/open/rebranch/ci-main");
    assert_eq!(review.open.to["base"], "main");
    assert!(review.hint.contains("https://github.com/acme/charts/pulls?q="), "{}", review.hint);
    assert!(c.notes.iter().any(|n| n.contains("exit 6")));
    // A token that cannot open one: named, and the apply stops at the push.
    s.repo = Some(Ok(repo(false, false)));
    let c = contribution(&s, &wants());
    assert!(c.review.is_none());
    assert!(c.warnings.iter().any(|w| w.contains("cannot open one")));
}

#[test]
fn holds_reads_defaults_as_unset_and_extra_keys_as_anything() {
    let want = gate_protection(1);
    let live = json!({"required_status_checks": null, "enforce_admins": false,
        "required_pull_request_reviews": {"required_approving_review_count": 1, "dismiss_stale_reviews": false},
        "restrictions": null, "allow_force_pushes": false, "required_signatures": false});
    assert!(holds(&live, &want));
    let two = json!({"required_pull_request_reviews": {"required_approving_review_count": 2}});
    assert!(!holds(&live, &two));
    assert!(!holds(&json!(null), &want));
    assert!(holds(&json!({"a": [1, 2]}), &json!({"a": [1, 2]})));
    assert!(!holds(&json!({"a": [1]}), &json!({"a": [1, 2]})));
}

#[test]
fn rules_inherited_from_the_organisation_are_named_and_a_deletion_rule_refuses() {
    let mut s = seen(true);
    let rule = |kind: &str| json!({"type": kind, "ruleset_source_type": "Organization", "ruleset_source": "acme", "ruleset_id": 42});
    s.old_rules.insert("charts".into(), Ok(vec![rule("non_fast_forward")]));
    let c = contribution(&s, &wants());
    assert_eq!(c.refusal, None);
    assert!(
        c.warnings.iter().any(
            |w| w.contains("Organization ruleset 42 of acme") && w.contains("non_fast_forward")
        ),
        "{:?}",
        c.warnings
    );
    s.old_rules.insert("charts".into(), Ok(vec![rule("deletion")]));
    let (message, hint) = contribution(&s, &wants()).refusal.expect("refused");
    assert!(message.contains("forbids deleting `charts`"), "{message}");
    assert!(hint.contains("organization"), "{hint}");
    // The repository's own rulesets are moved, not refused.
    let own = json!({"type": "deletion", "ruleset_source_type": "Repository", "ruleset_id": 7});
    s.old_rules.insert("charts".into(), Ok(vec![own]));
    assert_eq!(contribution(&s, &wants()).refusal, None);
}
