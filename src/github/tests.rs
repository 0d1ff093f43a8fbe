//! The client against a scripted in-process transport: it records each request and answers
//! from a queue, and the sleeper records waits instead of waiting.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::http::{
    Body, HttpRequest, HttpResponse, Method, Transport, TransportError, TransportErrorKind,
};

const TOKEN: &str = "ghp_sentinelTOKEN0123456789abcdef";
const BASE: &str = "https://api.github.com";

#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<Result<HttpResponse, TransportError>>>,
    seen: Mutex<Vec<HttpRequest>>,
}

impl Script {
    fn new(answers: Vec<Result<HttpResponse, TransportError>>) -> Self {
        Self { answers: Mutex::new(answers.into()), seen: Mutex::default() }
    }

    fn seen(&self) -> Vec<HttpRequest> {
        self.seen.lock().expect("seen").clone()
    }

    fn lines(&self) -> Vec<String> {
        self.seen().iter().map(|r| format!("{} {}", r.method, r.url)).collect()
    }
}

impl Transport for Script {
    fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.lock().expect("seen").push(req);
        self.answers.lock().expect("answers").pop_front().expect("an answer is scripted")
    }
}

#[derive(Default)]
struct Waits(Mutex<Vec<Duration>>);

impl Sleeper for Waits {
    fn sleep(&self, d: Duration) {
        self.0.lock().expect("waits").push(d);
    }
}

impl Waits {
    fn all(&self) -> Vec<Duration> {
        self.0.lock().expect("waits").clone()
    }
}

fn ok(status: u16, body: Value) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse { status, headers: vec![], body: body.to_string().into_bytes() })
}

fn with_headers(
    status: u16,
    headers: &[(&str, &str)],
    body: Value,
) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse {
        status,
        headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        body: body.to_string().into_bytes(),
    })
}

fn empty(status: u16) -> Result<HttpResponse, TransportError> {
    Ok(HttpResponse { status, headers: vec![], body: vec![] })
}

fn config(token: Option<&str>) -> Config {
    Config {
        api_base: BASE.to_owned(),
        repository: "octo/charts-repo".parse().expect("repo"),
        token: token.and_then(Token::new),
        token_source: token.map(|_| "GH_TOKEN"),
    }
}

fn client(script: &Script) -> (GitHub<&Script>, Arc<Waits>) {
    let waits = Arc::new(Waits::default());
    let gh = GitHub::new(script, config(Some(TOKEN))).with_sleeper(waits.clone());
    (gh, waits)
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: Vec<(String, String)> =
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    move |name| map.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

fn from_env(
    remote: Option<&str>,
    repo: Option<&str>,
    pairs: &[(&str, &str)],
) -> Result<Option<Config>, ConfigError> {
    let lookup = env(pairs);
    Config::from_env(remote, repo, &lookup)
}

/// The `branch-protection` example of the OpenAPI description (repos/get-branch-protection),
/// with `required_signatures` and a `checks` list as the live API returns them.
fn protection_example() -> Value {
    let user = json!({"login": "octocat", "id": 1, "type": "User", "site_admin": false,
        "url": "https://api.github.com/users/octocat"});
    let team = json!({"id": 1, "name": "Justice League", "slug": "justice-league",
        "permission": "admin", "parent": null});
    let app = json!({"id": 1, "slug": "octoapp", "name": "Octocat App",
        "owner": {"login": "github", "id": 1}, "permissions": {"metadata": "read"}});
    let p = "https://api.github.com/repos/octocat/Hello-World/branches/master/protection";
    json!({
        "url": p,
        "required_status_checks": {
            "url": format!("{p}/required_status_checks"),
            "contexts": ["continuous-integration/travis-ci"],
            "contexts_url": format!("{p}/required_status_checks/contexts"),
            "enforcement_level": "non_admins"
        },
        "enforce_admins": {"url": format!("{p}/enforce_admins"), "enabled": true},
        "required_pull_request_reviews": {
            "url": format!("{p}/required_pull_request_reviews"),
            "dismissal_restrictions": {
                "url": format!("{p}/dismissal_restrictions"),
                "users_url": format!("{p}/dismissal_restrictions/users"),
                "teams_url": format!("{p}/dismissal_restrictions/teams"),
                "users": [user], "teams": [team], "apps": [app]
            },
            "dismiss_stale_reviews": true,
            "require_code_owner_reviews": true,
            "required_approving_review_count": 2,
            "require_last_push_approval": true
        },
        "restrictions": {
            "url": format!("{p}/restrictions"),
            "users_url": format!("{p}/restrictions/users"),
            "teams_url": format!("{p}/restrictions/teams"),
            "apps_url": format!("{p}/restrictions/apps"),
            "users": [user], "teams": [team], "apps": [app]
        },
        "required_linear_history": {"enabled": true},
        "allow_force_pushes": {"enabled": true},
        "allow_deletions": {"enabled": true},
        "required_conversation_resolution": {"enabled": true},
        "lock_branch": {"enabled": true},
        "allow_fork_syncing": {"enabled": true},
        "required_signatures": {"url": format!("{p}/required_signatures"), "enabled": true}
    })
}

fn expected_put() -> Value {
    json!({
        "required_status_checks": {"strict": false, "contexts": ["continuous-integration/travis-ci"]},
        "enforce_admins": true,
        "required_pull_request_reviews": {
            "dismissal_restrictions": {"users": ["octocat"], "teams": ["justice-league"], "apps": ["octoapp"]},
            "dismiss_stale_reviews": true,
            "require_code_owner_reviews": true,
            "required_approving_review_count": 2,
            "require_last_push_approval": true
        },
        "restrictions": {"users": ["octocat"], "teams": ["justice-league"], "apps": ["octoapp"]},
        "required_linear_history": true,
        "allow_force_pushes": true,
        "allow_deletions": true,
        "required_conversation_resolution": true,
        "lock_branch": true,
        "allow_fork_syncing": true,
        "required_signatures": true
    })
}

#[test]
fn every_request_carries_the_headers_and_the_token_only_when_set() {
    let script = Script::new(vec![ok(
        200,
        json!({"default_branch": "main", "private": true, "html_url": "https://github.com/octo/charts-repo",
            "full_name": "octo/charts-repo", "permissions": {"admin": true, "push": true}}),
    )]);
    let (gh, _) = client(&script);
    let info = gh.repository().expect("repo");
    assert_eq!(info.default_branch, "main");
    assert!(info.private);
    let perms = info.permissions.expect("permissions");
    assert!(perms.admin && perms.push && !perms.maintain && !perms.pull);
    let req = &script.seen()[0];
    assert_eq!(req.url, "https://api.github.com/repos/octo/charts-repo");
    let header = |name: &str| {
        req.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    };
    assert_eq!(header("accept").as_deref(), Some("application/vnd.github+json"));
    assert_eq!(header("x-github-api-version").as_deref(), Some("2022-11-28"));
    assert_eq!(header("user-agent"), Some(format!("rebranch/{}", env!("CARGO_PKG_VERSION"))));
    assert_eq!(header("authorization"), Some(format!("Bearer {TOKEN}")));
    assert_eq!(gh.requests_sent(), 1);

    let script = Script::new(vec![ok(200, json!({"name": "main", "commit": {"sha": "abc"}}))]);
    let gh = GitHub::new(&script, config(None));
    gh.branch("main").expect("branch");
    assert!(script.seen()[0].headers.iter().all(|(k, _)| !k.eq_ignore_ascii_case("authorization")));
}

#[test]
fn branch_lookup_found_moved_missing_and_encoded() {
    let script = Script::new(vec![
        ok(200, json!({"name": "feature/a b", "commit": {"sha": "1111"}, "protected": true})),
        with_headers(
            301,
            &[("Location", "https://api.github.com/repos/octo/charts-repo/branches/release")],
            json!({"message": "Moved Permanently"}),
        ),
        ok(
            200,
            json!({"name": "release", "commit": {"sha": "2222"}, "protected": false,
            "_links": {"self": "https://api.github.com/repos/octo/charts-repo/branches/release"}}),
        ),
        ok(404, json!({"message": "Branch not found"})),
    ]);
    let (gh, _) = client(&script);
    assert_eq!(
        gh.branch("feature/a b").expect("found"),
        BranchLookup::Found { sha: "1111".into(), protected: true }
    );
    let moved = BranchLookup::Moved {
        location: Some("https://api.github.com/repos/octo/charts-repo/branches/release".into()),
    };
    assert_eq!(gh.branch("charts").expect("301"), moved);
    assert_eq!(gh.branch("charts").expect("followed elsewhere"), moved);
    assert_eq!(gh.branch("gone").expect("404"), BranchLookup::Missing);
    assert_eq!(
        script.lines()[0],
        "GET https://api.github.com/repos/octo/charts-repo/branches/feature/a%20b"
    );
    assert_eq!(encode_branch("x/y#z?%"), "x/y%23z%3F%25");
}

#[test]
fn a_moved_repository_is_a_typed_error() {
    let script = Script::new(vec![with_headers(
        301,
        &[("location", "https://api.github.com/repositories/42")],
        json!({"message": "Moved Permanently"}),
    )]);
    let (gh, _) = client(&script);
    let err = gh.repository().expect_err("moved");
    assert!(
        matches!(&err, ApiError::Moved { location: Some(l), .. } if l.ends_with("/repositories/42"))
    );
    assert_eq!(err.status(), Some(301));
    assert!(err.to_string().starts_with("GET /repos/octo/charts-repo: moved permanently"), "{err}");
}

#[test]
fn protection_get_becomes_the_put_body() {
    assert_eq!(protection_put_body(&protection_example()), expected_put());

    let minimal = json!({"url": "u", "enforce_admins": {"url": "u", "enabled": false},
        "required_status_checks": {"strict": true, "contexts": ["ci"],
            "checks": [{"context": "ci", "app_id": 15368}, {"context": "lint", "app_id": null}]}});
    assert_eq!(
        protection_put_body(&minimal),
        json!({
            "required_status_checks": {"strict": true,
                "checks": [{"context": "ci", "app_id": 15368}, {"context": "lint", "app_id": -1}]},
            "enforce_admins": false,
            "required_pull_request_reviews": null,
            "restrictions": null,
            "required_signatures": false
        })
    );

    let script = Script::new(vec![
        ok(200, protection_example()),
        ok(404, json!({"message": "Branch not protected", "documentation_url": "x"})),
        ok(404, json!({"message": "Not Found", "documentation_url": "x"})),
    ]);
    let (gh, _) = client(&script);
    assert_eq!(gh.protection("main").expect("protected"), Some(expected_put()));
    assert_eq!(gh.protection("integration").expect("unprotected"), None);
    let err = gh.protection("secret").expect_err("hidden");
    assert!(err.is_not_found(), "{err:?}");
    assert!(err.to_string().contains("GET /repos/octo/charts-repo/branches/secret/protection"));
}

#[test]
fn set_protection_puts_then_matches_signatures_and_deletes() {
    let script = Script::new(vec![
        ok(200, json!({})),
        ok(200, json!({"enabled": true})),
        ok(200, json!({})),
        empty(204),
        empty(204),
        ok(404, json!({"message": "Branch not protected"})),
        ok(403, json!({"message": "Resource not accessible by integration"})),
    ]);
    let (gh, _) = client(&script);
    gh.set_protection("integration", Some(&expected_put())).expect("with signatures");
    let mut off = expected_put();
    off["required_signatures"] = json!(false);
    gh.set_protection("integration", Some(&off)).expect("without signatures");
    gh.set_protection("integration", None).expect("delete");
    gh.set_protection("integration", None).expect("already unprotected");
    let err = gh.set_protection("integration", None).expect_err("forbidden");
    assert!(err.is_forbidden());
    let p = "https://api.github.com/repos/octo/charts-repo/branches/integration/protection";
    assert_eq!(
        script.lines(),
        [
            format!("PUT {p}"),
            format!("POST {p}/required_signatures"),
            format!("PUT {p}"),
            format!("DELETE {p}/required_signatures"),
            format!("DELETE {p}"),
            format!("DELETE {p}"),
            format!("DELETE {p}"),
        ]
    );
    let Body::Json(put) = &script.seen()[0].body else { panic!("a json body") };
    assert!(put.get("required_signatures").is_none());
    assert_eq!(put["enforce_admins"], json!(true));
}

#[test]
fn lists_follow_link_next_within_the_api_base() {
    let page1 = json!([{"id": 42, "name": "gate", "source_type": "Repository",
        "source": "octo/charts-repo", "enforcement": "active"}]);
    let page2 = json!([{"id": 314, "name": "other", "enforcement": "disabled"}]);
    let next = "<https://api.github.com/repositories/1/rulesets?includes_parents=false&per_page=100&page=2>; rel=\"next\", <https://api.github.com/repositories/1/rulesets?page=2>; rel=\"last\"";
    let script = Script::new(vec![
        with_headers(200, &[("Link", next)], page1),
        with_headers(200, &[("Link", "<https://api.github.com/x?page=1>; rel=\"prev\"")], page2),
    ]);
    let (gh, _) = client(&script);
    let sets = gh.rulesets().expect("rulesets");
    assert_eq!(sets.iter().map(|s| s.id).collect::<Vec<_>>(), [42, 314]);
    assert_eq!(sets[0].source_type.as_deref(), Some("Repository"));
    assert_eq!(sets[1].source, None);
    assert_eq!(
        script.lines(),
        [
            "GET https://api.github.com/repos/octo/charts-repo/rulesets?includes_parents=false&per_page=100",
            "GET https://api.github.com/repositories/1/rulesets?includes_parents=false&per_page=100&page=2",
        ]
    );

    // A next page on another host is not followed (the token would go with it).
    let script = Script::new(vec![with_headers(
        200,
        &[("link", "<https://evil.example/rules?page=2>; rel=\"next\"")],
        json!([]),
    )]);
    let (gh, _) = client(&script);
    let err = gh.branch_rules("main").expect_err("foreign next");
    assert!(matches!(err, ApiError::Decode { .. }), "{err:?}");
    assert_eq!(script.seen().len(), 1);
}

#[test]
fn rulesets_read_create_update_delete() {
    let full = json!({"id": 42, "name": "gate", "target": "branch", "source_type": "Repository",
        "source": "octo/charts-repo", "enforcement": "active",
        "bypass_actors": [{"actor_id": 234, "actor_type": "Team", "bypass_mode": "always"}],
        "conditions": {"ref_name": {"include": ["refs/heads/integration"], "exclude": []}},
        "rules": [{"type": "deletion"}], "node_id": "RRS_x", "_links": {},
        "created_at": "2023-07-15T08:43:03Z", "updated_at": "2023-08-23T16:29:47Z"});
    let script = Script::new(vec![
        ok(200, full),
        ok(201, json!({"id": 77, "name": "gate"})),
        ok(200, json!({"id": 77})),
        empty(204),
        ok(404, json!({"message": "Not Found"})),
    ]);
    let (gh, _) = client(&script);
    let body = gh.ruleset(42).expect("ruleset");
    let keys: Vec<&String> = body.as_object().expect("object").keys().collect();
    assert_eq!(keys.len(), 6, "{keys:?}");
    assert!(body.get("id").is_none() && body.get("source").is_none());
    assert_eq!(body["conditions"]["ref_name"]["include"][0], "refs/heads/integration");
    assert_eq!(gh.create_ruleset(&body).expect("create"), 77);
    gh.update_ruleset(77, &body).expect("update");
    gh.delete_ruleset(77).expect("delete");
    gh.delete_ruleset(77).expect("already deleted");
    let lines = script.lines();
    assert_eq!(lines[1], "POST https://api.github.com/repos/octo/charts-repo/rulesets");
    assert_eq!(lines[2], "PUT https://api.github.com/repos/octo/charts-repo/rulesets/77");
    assert_eq!(lines[3], "DELETE https://api.github.com/repos/octo/charts-repo/rulesets/77");
}

#[test]
fn pulls_and_pages() {
    let pull = |n: u64, head_repo: Value| {
        json!({"number": n, "title": "t", "html_url": "h", "state": "open", "draft": false,
            "base": {"ref": "charts", "repo": {"full_name": "octo/charts-repo"}},
            "head": {"ref": "fix/x", "repo": head_repo}})
    };
    let script = Script::new(vec![
        ok(200, json!([pull(1, json!({"full_name": "fork/charts-repo"})), pull(2, Value::Null)])),
        ok(200, pull(3, json!({"full_name": "octo/charts-repo"}))),
        ok(201, pull(4, json!({"full_name": "octo/charts-repo"}))),
        ok(
            200,
            json!({"url": "u", "status": "built", "cname": "charts.example.com", "build_type": "legacy",
            "html_url": "https://charts.example.com", "source": {"branch": "gh-pages", "path": "/"}, "public": true}),
        ),
        empty(204),
        ok(404, json!({"message": "Not Found"})),
    ]);
    let (gh, _) = client(&script);
    let open = gh.open_pulls(Some("charts"), Some("fix/x")).expect("pulls");
    assert_eq!(open[0].head_repo.as_deref(), Some("fork/charts-repo"));
    assert_eq!(open[1].head_repo, None);
    assert_eq!((open[0].base.as_str(), open[0].head.as_str()), ("charts", "fix/x"));
    let moved = gh.set_pull_base(3, "release").expect("patch");
    assert_eq!(moved.number, 3);
    gh.create_pull("integration", "release", "Release", "body").expect("create");
    let site = gh.pages().expect("pages").expect("on");
    assert_eq!(site.source, Some(PagesSource { branch: "gh-pages".into(), path: "/".into() }));
    assert_eq!(site.build_type.as_deref(), Some("legacy"));
    gh.set_pages_source("release", "/").expect("put pages");
    assert_eq!(gh.pages().expect("pages"), None);
    let seen = script.seen();
    assert_eq!(
        seen[0].url,
        "https://api.github.com/repos/octo/charts-repo/pulls?state=open&per_page=100&base=charts&head=octo:fix/x"
    );
    assert_eq!(seen[1].method, Method::Patch);
    assert_eq!(seen[1].body, Body::Json(json!({"base": "release"})));
    assert_eq!(
        seen[2].body,
        Body::Json(
            json!({"title": "Release", "head": "integration", "base": "release", "body": "body"})
        )
    );
    assert_eq!(seen[4].body, Body::Json(json!({"source": {"branch": "release", "path": "/"}})));
}

#[test]
fn retry_after_is_waited_through_the_sleeper() {
    let script = Script::new(vec![
        with_headers(
            403,
            &[("retry-after", "7")],
            json!({"message": "You have exceeded a secondary rate limit."}),
        ),
        ok(200, json!({"name": "main", "commit": {"sha": "abc"}})),
    ]);
    let (gh, waits) = client(&script);
    assert!(matches!(gh.branch("main").expect("retried"), BranchLookup::Found { .. }));
    assert_eq!(waits.all(), [Duration::from_secs(7)]);
    assert_eq!(gh.requests_sent(), 2);
}

#[test]
fn primary_limit_waits_until_reset_or_fails_at_once() {
    let soon = (crate::time::now_secs() + 30).to_string();
    let script = Script::new(vec![
        with_headers(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &soon)],
            json!({"message": "API rate limit exceeded"}),
        ),
        ok(200, json!([])),
    ]);
    let (gh, waits) = client(&script);
    gh.rulesets().expect("after the reset");
    let waited = waits.all();
    assert_eq!(waited.len(), 1);
    assert!(waited[0] >= Duration::from_secs(28) && waited[0] <= Duration::from_secs(30));

    let late = crate::time::now_secs() + 3600;
    let late_s = late.to_string();
    let script = Script::new(vec![with_headers(
        429,
        &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &late_s)],
        json!({"message": "API rate limit exceeded for user"}),
    )]);
    let (gh, waits) = client(&script);
    let err = gh.rulesets().expect_err("too far");
    assert!(
        matches!(&err, ApiError::RateLimited { reset: Some(r), status: 429, .. } if *r == late),
        "{err:?}"
    );
    assert!(waits.all().is_empty());
    assert_eq!(gh.requests_sent(), 1);
    let text = err.to_string();
    assert!(text.contains("resets at") && text.contains("GET /repos/octo/charts-repo/rulesets"));
}

#[test]
fn secondary_limit_without_headers_backs_off_from_a_minute() {
    let limited =
        || ok(403, json!({"message": "You have exceeded a secondary rate limit. Please wait."}));
    let script = Script::new(vec![limited(), limited(), limited(), limited()]);
    let waits = Arc::new(Waits::default());
    let gh = GitHub::new(&script, config(Some(TOKEN)))
        .with_sleeper(waits.clone())
        .with_retry(RetryPolicy { max_attempts: 4, max_wait: Duration::from_secs(600) });
    let err = gh.pages().expect_err("gave up");
    assert!(err.is_rate_limited(), "{err:?}");
    assert_eq!(
        waits.all(),
        [Duration::from_secs(60), Duration::from_secs(120), Duration::from_secs(240)]
    );
    assert_eq!(gh.requests_sent(), 4);

    // A plain 403 is not a rate limit: no retry.
    let script = Script::new(vec![with_headers(
        403,
        &[("X-Accepted-GitHub-Permissions", "administration=write")],
        json!({"message": "Resource not accessible by personal access token"}),
    )]);
    let (gh, waits) = client(&script);
    let err = gh.protection("main").expect_err("forbidden");
    assert!(
        matches!(&err, ApiError::Forbidden { accepted_permissions: Some(p), .. } if p == "administration=write")
    );
    assert!(err.to_string().contains("administration=write"));
    assert!(waits.all().is_empty());
}

#[test]
fn server_and_connection_errors_are_retried_for_idempotent_methods_only() {
    let script = Script::new(vec![
        ok(502, json!({"message": "Bad Gateway"})),
        Err(TransportError::new(TransportErrorKind::Connect, "connection refused")),
        ok(200, json!({"name": "main", "commit": {"sha": "abc"}})),
    ]);
    let (gh, waits) = client(&script);
    gh.branch("main").expect("third time");
    assert_eq!(waits.all(), [Duration::from_secs(1), Duration::from_secs(2)]);

    let script = Script::new(vec![ok(500, json!({"message": "boom"}))]);
    let (gh, waits) = client(&script);
    let err = gh.create_ruleset(&json!({"name": "x"})).expect_err("post 5xx");
    assert!(matches!(err, ApiError::Server { status: 500, .. }), "{err:?}");
    assert!(waits.all().is_empty());

    let script =
        Script::new(vec![Err(TransportError::new(TransportErrorKind::Timeout, "timed out"))]);
    let (gh, _) = client(&script);
    let err = gh.create_pull("a", "b", "t", "").expect_err("post timeout");
    assert!(err.to_string().starts_with("POST /repos/octo/charts-repo/pulls: timed out"), "{err}");
    assert_eq!(gh.requests_sent(), 1);

    let fails = || ok(503, json!({"message": "unavailable"}));
    let script = Script::new(vec![fails(), fails(), fails(), fails()]);
    let (gh, waits) = client(&script);
    let err = gh.set_pages_source("release", "/").expect_err("put gives up");
    assert_eq!(err.status(), Some(503));
    assert_eq!(waits.all().len(), 3);
    assert_eq!(gh.requests_sent(), 4);
}

#[test]
fn validation_errors_keep_the_details() {
    let script = Script::new(vec![ok(
        422,
        json!({"message": "Validation Failed", "errors": [
            {"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for octo:integration."},
            "Only one of contexts or checks can be specified"]}),
    )]);
    let (gh, _) = client(&script);
    let err = gh.create_pull("integration", "release", "t", "").expect_err("422");
    let ApiError::Validation { errors, status, .. } = &err else { panic!("{err:?}") };
    assert_eq!(*status, 422);
    assert_eq!(errors.len(), 2);
    assert!(err.to_string().contains("A pull request already exists"));
}

#[test]
fn config_from_remote_urls() {
    for url in [
        "https://github.com/octo/charts-repo",
        "https://github.com/octo/charts-repo.git",
        "https://github.com/octo/charts-repo/",
        "https://x-access-token:tok@github.com/octo/charts-repo.git",
        "ssh://git@github.com/octo/charts-repo.git",
        "git@github.com:octo/charts-repo.git",
        "http://user@GitHub.com/octo/charts-repo",
    ] {
        let repo = repository_from_url(url, None).unwrap_or_else(|| panic!("{url}"));
        assert_eq!(repo.to_string(), "octo/charts-repo", "{url}");
    }
    for url in [
        "https://gitlab.com/octo/charts-repo",
        "https://github.com/octo",
        "https://github.com/octo/charts-repo/tree/main",
        "/tmp/origin.git",
        "file:///tmp/octo/charts-repo",
    ] {
        assert_eq!(repository_from_url(url, None), None, "{url}");
    }
    assert_eq!(
        repository_from_url("git@ghe.corp.example:team/charts.git", Some("ghe.corp.example"))
            .map(|r| r.to_string())
            .as_deref(),
        Some("team/charts")
    );
    assert!("octo/charts".parse::<Repository>().is_ok());
    assert!("octo".parse::<Repository>().is_err());
    assert!("oc to/charts".parse::<Repository>().is_err());
    assert!("octo/..".parse::<Repository>().is_err());
}

#[test]
fn config_derivation_hosts_api_base_and_tokens() {
    let c = from_env(Some("git@github.com:octo/charts-repo.git"), None, &[])
        .expect("ok")
        .expect("on github");
    assert_eq!(c.api_base, "https://api.github.com");
    assert_eq!((c.token.as_ref(), c.token_source), (None, None));

    assert_eq!(from_env(Some("https://gitlab.com/a/b"), None, &[]).expect("ok"), None);
    assert_eq!(from_env(None, None, &[("GH_TOKEN", "t")]).expect("ok"), None);

    // The explicit repository wins.
    let c = from_env(Some("https://gitlab.com/a/b"), Some("octo/other"), &[])
        .expect("ok")
        .expect("given");
    assert_eq!(c.repository.to_string(), "octo/other");
    assert_eq!(c.api_base, "https://api.github.com");
    assert!(matches!(
        from_env(None, Some("not a repo"), &[]),
        Err(ConfigError::BadRepository { .. })
    ));

    // Token order on github.com; empty counts as unset.
    let both = [("GH_TOKEN", "one"), ("GITHUB_TOKEN", "two"), ("GH_ENTERPRISE_TOKEN", "ent")];
    let c = from_env(None, Some("o/r"), &both).expect("ok").expect("cfg");
    assert_eq!(
        (c.token.as_ref().map(Token::expose), c.token_source),
        (Some("one"), Some("GH_TOKEN"))
    );
    let c = from_env(None, Some("o/r"), &[("GH_TOKEN", " "), ("GITHUB_TOKEN", "two")])
        .expect("ok")
        .expect("cfg");
    assert_eq!(c.token_source, Some("GITHUB_TOKEN"));

    // A GitHub Enterprise Server host from GITHUB_SERVER_URL.
    let ghes = [
        ("GITHUB_SERVER_URL", "https://ghe.corp.example/"),
        ("GH_TOKEN", "plain"),
        ("GITHUB_ENTERPRISE_TOKEN", "ent2"),
    ];
    let c = from_env(Some("https://ghe.corp.example/team/charts.git"), None, &ghes)
        .expect("ok")
        .expect("ghes");
    assert_eq!(c.api_base, "https://ghe.corp.example/api/v3");
    assert_eq!(c.repository.to_string(), "team/charts");
    assert_eq!(c.token_source, Some("GITHUB_ENTERPRISE_TOKEN"));
    let c = from_env(
        Some("git@ghe.corp.example:team/charts.git"),
        None,
        &[
            ("GITHUB_SERVER_URL", "https://ghe.corp.example"),
            ("GH_ENTERPRISE_TOKEN", "e1"),
            ("GITHUB_ENTERPRISE_TOKEN", "e2"),
        ],
    )
    .expect("ok")
    .expect("ghes");
    assert_eq!(c.token_source, Some("GH_ENTERPRISE_TOKEN"));
    let c = from_env(
        Some("git@ghe.corp.example:team/charts.git"),
        None,
        &[("GITHUB_SERVER_URL", "https://ghe.corp.example"), ("GITHUB_TOKEN", "g")],
    )
    .expect("ok")
    .expect("ghes");
    assert_eq!(c.token_source, Some("GITHUB_TOKEN"));

    // Actions on github.com sets GITHUB_SERVER_URL to github.com itself.
    let actions = [("GITHUB_SERVER_URL", "https://github.com"), ("GITHUB_TOKEN", "a")];
    let c = from_env(None, Some("o/r"), &actions).expect("ok").expect("cfg");
    assert_eq!((c.api_base.as_str(), c.token_source), (DEFAULT_API_BASE, Some("GITHUB_TOKEN")));
    // An explicit repository with no remote goes to the server named by GITHUB_SERVER_URL.
    let c = from_env(None, Some("team/charts"), &[("GITHUB_SERVER_URL", "http://127.0.0.1:9/")])
        .expect("ok")
        .expect("cfg");
    assert_eq!(c.api_base, "http://127.0.0.1:9/api/v3");

    // GHE.com and GITHUB_API_URL.
    let c = from_env(Some("https://acme.ghe.com/o/r"), None, &[("GH_TOKEN", "t")])
        .expect("ok")
        .expect("ghe.com");
    assert_eq!(c.api_base, "https://api.acme.ghe.com");
    assert_eq!(c.token_source, Some("GH_TOKEN"));
    let c = from_env(
        Some("https://github.com/o/r"),
        None,
        &[("GITHUB_API_URL", "http://127.0.0.1:8080/")],
    )
    .expect("ok")
    .expect("cfg");
    assert_eq!(c.api_base, "http://127.0.0.1:8080");
    for bad in ["http://api.example.com", "https://user:pw@api.github.com", "ftp://127.0.0.1"] {
        let err = from_env(Some("https://github.com/o/r"), None, &[("GITHUB_API_URL", bad)])
            .expect_err(bad);
        assert!(matches!(err, ConfigError::BadApiUrl { .. }), "{bad}");
        assert!(err.to_string().contains("GITHUB_API_URL") && !err.to_string().contains("pw@"));
    }
    let err = from_env(None, Some("o/r"), &[("GITHUB_SERVER_URL", "ghe.corp.example")])
        .expect_err("no scheme");
    assert!(err.to_string().contains("GITHUB_SERVER_URL"));
    let err = from_env(None, Some("o/r"), &[("GITHUB_SERVER_URL", "http://ghe.corp.example")])
        .expect_err("plain http");
    assert!(matches!(err, ConfigError::BadServerUrl { .. }), "{err:?}");
    let err = from_env(None, Some("o/r"), &[("GH_TOKEN", "to ken")]).expect_err("malformed");
    assert_eq!(err, ConfigError::MalformedToken { variable: "GH_TOKEN" });
}

#[test]
fn the_token_never_appears_in_errors_or_debug_output() {
    let echo = |status: u16| {
        ok(
            status,
            json!({"message": format!("bad credentials {TOKEN}"),
        "errors": [format!("token {TOKEN}")]}),
        )
    };
    let script = Script::new(vec![
        echo(401),
        echo(403),
        echo(404),
        echo(422),
        echo(409),
        with_headers(429, &[("retry-after", "3600")], json!({"message": TOKEN})),
        echo(501),
        Err(TransportError::new(TransportErrorKind::Other, format!("reset {TOKEN}"))),
        ok(200, json!({"unexpected": TOKEN})),
        with_headers(301, &[("location", &format!("https://h/{TOKEN}"))], json!({})),
    ]);
    let gh = GitHub::new(&script, config(Some(TOKEN)))
        .with_sleeper(Arc::new(Waits::default()))
        .with_retry(RetryPolicy { max_attempts: 1, ..RetryPolicy::default() });
    let mut shown = Vec::new();
    for _ in 0..7 {
        shown.push(gh.pull(1).expect_err("error"));
    }
    shown.push(gh.create_pull("a", "b", "c", "d").expect_err("transport"));
    shown.push(gh.pull(1).expect_err("decode"));
    shown.push(gh.repository().expect_err("moved"));
    assert_eq!(shown.len(), 10);
    let statuses: Vec<Option<u16>> = shown.iter().map(ApiError::status).collect();
    assert_eq!(
        statuses,
        [
            Some(401),
            Some(403),
            Some(404),
            Some(422),
            Some(409),
            Some(429),
            Some(501),
            None,
            None,
            Some(301)
        ]
    );
    for err in &shown {
        let text = format!("{err} {err:?}");
        assert!(!text.contains(TOKEN), "{text}");
        assert_eq!(err.to_string().lines().count(), 1, "{err}");
    }
    let c = from_env(None, Some("o/r"), &[("GH_TOKEN", TOKEN)]).expect("ok").expect("cfg");
    let token = c.token.clone().expect("token");
    let text = format!("{c:?} {token} {token:?} {gh:?}");
    assert!(!text.contains(TOKEN), "{text}");
    let request = &script.seen()[0];
    assert!(!format!("{request:?}").contains(TOKEN));
    for e in [
        ConfigError::MalformedToken { variable: "GH_TOKEN" },
        from_env(None, Some("o/r"), &[("GITHUB_API_URL", &format!("https://x:{TOKEN}@h"))])
            .expect_err("creds"),
    ] {
        assert!(!format!("{e} {e:?}").contains(TOKEN));
    }
}

#[test]
fn link_headers_and_names() {
    use super::client::next_link;
    assert_eq!(
        next_link("<https://a/x?page=3>; rel=\"next\", <https://a/x?page=9>; rel=\"last\"")
            .as_deref(),
        Some("https://a/x?page=3")
    );
    assert_eq!(
        next_link("<https://a/x?page=1>; rel=\"first\", <https://a/x?page=2>; rel=\"prev\""),
        None
    );
    let repo: Repository = "octo/charts-repo".parse().expect("repo");
    assert_eq!(repo.to_string(), "octo/charts-repo");
    let script = Script::default();
    let (gh, _) = client(&script);
    assert_eq!(gh.repository_name(), &repo);
    assert_eq!(gh.requests_sent(), 0);
}

/// One canned HTTP answer per connection on a loopback socket; returns the base URL and the
/// raw requests received.
fn loopback(answers: Vec<String>) -> (String, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for answer in answers {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).expect("read") == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            seen.push(head);
            let mut stream = stream;
            stream.write_all(answer.as_bytes()).expect("write");
        }
        seen
    });
    (base, handle)
}

#[test]
fn over_real_sockets_a_301_is_an_answer_and_the_headers_arrive_once() {
    use crate::http::{ReqwestTransport, TransportOptions};
    let moved =
        "HTTP/1.1 301 Moved Permanently\r\nLocation: /repos/octo/charts-repo/branches/release\r\n\
                 Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            .to_owned();
    let (base, server) = loopback(vec![moved]);
    let mut cfg = config(Some(TOKEN));
    cfg.api_base = base;
    let transport = ReqwestTransport::new(TransportOptions {
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
    })
    .expect("transport");
    let gh = GitHub::new(transport, cfg).with_sleeper(Arc::new(Waits::default()));
    assert_eq!(
        gh.branch("charts").expect("answer"),
        BranchLookup::Moved { location: Some("/repos/octo/charts-repo/branches/release".into()) }
    );
    assert_eq!(gh.requests_sent(), 1);
    let seen = server.join().expect("server");
    assert_eq!(seen.len(), 1, "the redirect was not followed");
    let head = seen[0].to_ascii_lowercase();
    assert!(head.starts_with("get /repos/octo/charts-repo/branches/charts http/1.1"), "{head}");
    assert_eq!(head.matches("user-agent: rebranch/").count(), 1, "{head}");
    assert!(head.contains("x-github-api-version: 2022-11-28"), "{head}");
    assert!(head.contains("accept: application/vnd.github+json"), "{head}");
    assert!(head.contains(&format!("authorization: bearer {}", TOKEN.to_ascii_lowercase())));
}

#[test]
fn paced_changes_are_a_gap_apart_and_a_low_budget_waits_for_its_reset() {
    let soon = (crate::time::now_secs() + 20).to_string();
    let script = Script::new(vec![
        with_headers(
            200,
            &[("x-ratelimit-remaining", "500"), ("x-ratelimit-reset", &soon)],
            json!({"number": 1, "title": "t", "html_url": "u", "state": "open", "base": {"ref": "b"}, "head": {"ref": "h", "repo": null}}),
        ),
        with_headers(
            200,
            &[("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", &soon)],
            json!({"number": 1, "title": "t", "html_url": "u", "state": "open", "base": {"ref": "b"}, "head": {"ref": "h", "repo": null}}),
        ),
        ok(
            200,
            json!({"number": 1, "title": "t", "html_url": "u", "state": "open", "base": {"ref": "b"}, "head": {"ref": "h", "repo": null}}),
        ),
    ]);
    let (gh, waits) = client(&script);
    let gh = gh.with_pace(Pace { mutation_gap: Duration::from_secs(1), reserve: 10 });
    gh.set_pull_base(1, "b").unwrap();
    gh.set_pull_base(1, "b").unwrap();
    // The second change waited for the gap; the budget was fine before it.
    assert_eq!(waits.all().len(), 1);
    assert!(waits.all()[0] <= Duration::from_secs(1));
    // Now 3 are left, under the reserve of 10: the next request waits for the reset.
    gh.pull(1).unwrap();
    let all = waits.all();
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1] >= Duration::from_secs(18) && all[1] <= Duration::from_secs(20), "{all:?}");
}

#[test]
fn a_budget_that_resets_too_late_fails_at_once_naming_the_reset() {
    let late = (crate::time::now_secs() + 3600).to_string();
    let script = Script::new(vec![with_headers(
        200,
        &[("x-ratelimit-remaining", "1"), ("x-ratelimit-reset", &late)],
        json!({"number": 1, "title": "t", "html_url": "u", "state": "open", "base": {"ref": "b"}, "head": {"ref": "h", "repo": null}}),
    )]);
    let (gh, waits) = client(&script);
    let gh = gh.with_pace(Pace::default());
    gh.pull(1).unwrap();
    let e = gh.pull(1).unwrap_err();
    assert!(e.is_rate_limited(), "{e}");
    assert!(e.to_string().contains("in reserve"), "{e}");
    assert!(waits.all().is_empty());
    assert_eq!(script.seen().len(), 1, "nothing sent once the budget is spent");
}

#[test]
fn a_small_budget_keeps_only_a_tenth_in_reserve() {
    let late = (crate::time::now_secs() + 3600).to_string();
    let pull = json!({"number": 1, "title": "t", "html_url": "u", "state": "open", "base": {"ref": "b"}, "head": {"ref": "h", "repo": null}});
    let headers = [
        ("x-ratelimit-limit", "60"),
        ("x-ratelimit-remaining", "10"),
        ("x-ratelimit-reset", late.as_str()),
    ];
    let script = Script::new(vec![with_headers(200, &headers, pull.clone()), ok(200, pull)]);
    let (gh, waits) = client(&script);
    let gh = gh.with_pace(Pace::default());
    gh.pull(1).unwrap();
    gh.pull(1).expect("10 left of 60 is above the reserve of 6");
    assert!(waits.all().is_empty());
}

#[test]
fn clients_of_one_process_share_the_pace_of_one_token() {
    let soon = (crate::time::now_secs() + 20).to_string();
    let pull = json!({"number": 1, "title": "t", "html_url": "u", "state": "open", "base": {"ref": "b"}, "head": {"ref": "h", "repo": null}});
    let low = [("x-ratelimit-remaining", "3"), ("x-ratelimit-reset", soon.as_str())];
    let a_script = Script::new(vec![with_headers(200, &low, pull.clone())]);
    let b_script = Script::new(vec![ok(200, pull.clone())]);
    let c_script = Script::new(vec![ok(200, pull)]);
    let shared = |script, token: &str| {
        let waits = Arc::new(Waits::default());
        let config = Config { api_base: "https://shared.example".into(), ..config(Some(token)) };
        let gh = GitHub::new(script, config)
            .with_sleeper(waits.clone())
            .with_shared_pace(Pace { mutation_gap: Duration::ZERO, reserve: 10 });
        (gh, waits)
    };
    let (a, _) = shared(&a_script, TOKEN);
    let (b, b_waits) = shared(&b_script, TOKEN);
    a.pull(1).unwrap();
    // B learnt nothing itself, yet waits for the reset A saw.
    b.pull(1).unwrap();
    assert_eq!(b_waits.all().len(), 1, "{:?}", b_waits.all());
    // Another token keeps its own budget.
    let (c, c_waits) = shared(&c_script, "ghp_anotherTOKEN");
    c.pull(1).unwrap();
    assert!(c_waits.all().is_empty());
}
