//! The GitHub stand-in over real sockets, with a std-only HTTP client, on real bare
//! repositories; the hook test pushes through a loopback `git daemon`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};

use super::model::fnmatch;
use super::*;

const ADMIN: &str = "admin-tok-1a2b";
const WRITER: &str = "write-tok-3c4d";
const READER: &str = "read-tok-5e6f";
const UA: &str = "rebranch-test";

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One request over a fresh connection; the body is parsed as JSON (Null when empty or not).
fn call(
    s: &GitHubStandIn,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    raw(s, method, path, token, Some(UA), body.map(|b| b.to_string()))
}

fn raw(
    s: &GitHubStandIn,
    method: &str,
    path: &str,
    token: Option<&str>,
    user_agent: Option<&str>,
    body: Option<String>,
) -> Reply {
    let mut stream =
        TcpStream::connect(s.base_url().trim_start_matches("http://")).expect("connect");
    let body = body.unwrap_or_default();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/vnd.github+json\r\n"
    );
    if let Some(ua) = user_agent {
        head.push_str(&format!("User-Agent: {ua}\r\n"));
    }
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body.as_bytes()).expect("write");
    let mut out = Vec::new();
    stream.read_to_end(&mut out).expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Reply { status, headers, body: serde_json::from_str(body).unwrap_or(Value::Null) }
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git runs")
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = git(dir, args);
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A bare `origin.git` with `main` (README), `charts` (index.yaml, docs/index.yaml) and
/// `feature` (one commit ahead of main); the work clone beside it.
fn repo(root: &Path) -> (PathBuf, PathBuf) {
    let bare = root.join("origin.git");
    let work = root.join("work");
    ok(root, &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()]);
    ok(root, &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    std::fs::write(work.join("README.md"), "main\n").unwrap();
    ok(&work, &["add", "-A"]);
    ok(&work, &["commit", "-q", "-m", "main"]);
    ok(&work, &["checkout", "-q", "-b", "feature"]);
    std::fs::write(work.join("feature.txt"), "feature\n").unwrap();
    ok(&work, &["add", "-A"]);
    ok(&work, &["commit", "-q", "-m", "feature"]);
    ok(&work, &["checkout", "-q", "--orphan", "charts"]);
    ok(&work, &["rm", "-q", "-rf", "."]);
    std::fs::create_dir_all(work.join("docs")).unwrap();
    std::fs::write(work.join("index.yaml"), "apiVersion: v1\nentries: {}\n").unwrap();
    std::fs::write(work.join("docs/index.yaml"), "docs\n").unwrap();
    ok(&work, &["add", "-A"]);
    ok(&work, &["commit", "-q", "-m", "charts"]);
    ok(&work, &["push", "-q", bare.to_str().unwrap(), "main", "feature", "charts"]);
    (bare, work)
}

fn standin(bare: &Path) -> GitHubStandIn {
    // The other two have no repository on disk: only their settings are used.
    let mut private = GhRepo::new("acme", "secret", bare.with_file_name("secret.git"));
    private.private = true;
    let mut free = GhRepo::new("acme", "free", bare.with_file_name("free.git"));
    free.rulesets_available = false;
    GitHubStandIn::start(
        vec![GhRepo::new("acme", "charts", bare), private, free],
        vec![
            (ADMIN.to_owned(), GhAccess::Admin),
            (WRITER.to_owned(), GhAccess::Write),
            (READER.to_owned(), GhAccess::Read),
        ],
    )
    .expect("starts")
}

const R: &str = "/repos/acme/charts";

fn review_gate() -> Value {
    json!({"required_status_checks": null, "enforce_admins": null,
           "required_pull_request_reviews": {"required_approving_review_count": 1},
           "restrictions": null})
}

#[test]
fn user_agent_tokens_and_rate_limit_headers() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repo(dir.path());
    let s = standin(&bare);

    let r = raw(&s, "GET", R, Some(ADMIN), None, None);
    assert_eq!(r.status, 403);
    assert!(r.body["message"].as_str().unwrap().contains("User-Agent"));

    let r = call(&s, "GET", R, Some("nope"), None);
    assert_eq!((r.status, r.body["message"].as_str()), (401, Some("Bad credentials")));

    let r = call(&s, "GET", R, None, None);
    assert_eq!(r.status, 200);
    assert!(r.body.get("permissions").is_none());
    assert_eq!(r.body["default_branch"], "main");
    assert_eq!(r.body["full_name"], "acme/charts");
    assert_eq!(call(&s, "GET", "/repos/acme/secret", None, None).status, 404);
    assert_eq!(call(&s, "GET", "/repos/acme/secret", Some(READER), None).status, 200);

    let r = call(&s, "GET", R, Some(READER), None);
    assert_eq!(
        r.body["permissions"],
        json!({"admin": false, "maintain": false, "push": false, "triage": false, "pull": true})
    );
    let r = call(&s, "GET", R, Some(ADMIN), None);
    assert_eq!(r.body["permissions"]["admin"], true);
    assert_eq!(r.header("x-ratelimit-limit"), Some("5000"));
    let before: u64 = r.header("x-ratelimit-remaining").unwrap().parse().unwrap();
    let r = call(&s, "GET", R, Some(ADMIN), None);
    assert_eq!(r.header("x-ratelimit-remaining").unwrap().parse::<u64>().unwrap(), before - 1);
    assert_eq!(r.header("x-ratelimit-resource"), Some("core"));

    let put = "/repos/acme/charts/branches/main/protection";
    let r = call(&s, "PUT", put, None, Some(review_gate()));
    assert_eq!((r.status, r.body["message"].as_str()), (401, Some("Requires authentication")));
    let r = call(&s, "PUT", put, Some(WRITER), Some(review_gate()));
    assert_eq!(r.status, 403);
    assert_eq!(r.header("X-Accepted-GitHub-Permissions"), Some("administration=write"));
    let r = call(&s, "PUT", "/repos/acme/charts/pages", Some(READER), Some(json!({"cname": null})));
    assert_eq!(r.header("X-Accepted-GitHub-Permissions"), Some("pages=write"));

    let r = raw(&s, "PUT", put, Some(ADMIN), Some(UA), Some("{not json".to_owned()));
    assert_eq!((r.status, r.body["message"].as_str()), (400, Some("Problems parsing JSON")));
    let r = call(&s, "GET", "/repos/acme/charts/nothing-here", Some(ADMIN), None);
    assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Not Found")));

    let recorded = s.requests();
    assert_eq!(recorded.last().unwrap().header("authorization"), Some(&*format!("Bearer {ADMIN}")));

    s.inject(GhFault::SecondaryRateLimit { times: 1, retry_after: Some(7) });
    let r = call(&s, "GET", R, Some(ADMIN), None);
    assert_eq!((r.status, r.header("retry-after")), (403, Some("7")));
    assert!(r.body["message"].as_str().unwrap().contains("secondary rate limit"));
    s.inject(GhFault::PrimaryRateLimit { times: 1, reset_in_secs: 30 });
    let r = call(&s, "GET", R, Some(ADMIN), None);
    assert_eq!((r.status, r.header("x-ratelimit-remaining")), (403, Some("0")));
    s.inject(GhFault::Status {
        method: Some("GET".into()),
        path_contains: "/pulls".into(),
        status: 502,
        times: 1,
    });
    assert_eq!(call(&s, "GET", "/repos/acme/charts/pulls", Some(ADMIN), None).status, 502);
    assert_eq!(call(&s, "GET", "/repos/acme/charts/pulls", Some(ADMIN), None).status, 200);
    let r = call(&s, "GET", "/rate_limit", Some(ADMIN), None);
    assert_eq!(r.body["resources"]["core"]["limit"], 5000);
}

#[test]
fn protection_round_trips_in_the_asymmetric_shapes() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repo(dir.path());
    let s = standin(&bare);
    let url = "/repos/acme/charts/branches/main/protection";

    let r = call(&s, "GET", url, Some(ADMIN), None);
    assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Branch not protected")));
    let r = call(&s, "GET", "/repos/acme/charts/branches/nope/protection", Some(ADMIN), None);
    assert_eq!((r.status, r.body["message"].as_str()), (404, Some("Branch not found")));
    let mut missing = review_gate();
    missing.as_object_mut().unwrap().remove("enforce_admins");
    assert_eq!(call(&s, "PUT", url, Some(ADMIN), Some(missing)).status, 422);

    let mut body = review_gate();
    body["enforce_admins"] = json!(true);
    body["allow_force_pushes"] = json!(false);
    let r = call(&s, "PUT", url, Some(ADMIN), Some(body));
    assert_eq!(r.status, 200);
    let got = call(&s, "GET", url, Some(ADMIN), None).body;
    assert_eq!(got, r.body);
    assert_eq!(got["enforce_admins"]["enabled"], true);
    assert!(
        got["enforce_admins"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/branches/main/protection/enforce_admins")
    );
    assert_eq!(got["required_pull_request_reviews"]["required_approving_review_count"], 1);
    assert!(got["required_pull_request_reviews"]["url"].is_string());
    assert_eq!(got["allow_force_pushes"], json!({"enabled": false}));
    assert_eq!(got["required_signatures"]["enabled"], false);
    assert!(got.get("required_status_checks").is_none() && got.get("restrictions").is_none());
    assert_eq!(s.protection_json("acme", "charts", "main"), Some(got));

    let full = json!({"required_status_checks": {"strict": true, "contexts": ["ci"]},
        "enforce_admins": false, "required_pull_request_reviews": null,
        "restrictions": {"users": ["octo"], "teams": ["core"]}, "allow_deletions": true});
    let got =
        call(&s, "PUT", "/repos/acme/charts/branches/charts/protection", Some(ADMIN), Some(full))
            .body;
    assert_eq!(got["required_status_checks"]["contexts"], json!(["ci"]));
    assert_eq!(got["required_status_checks"]["checks"], json!([{"context": "ci", "app_id": null}]));
    assert_eq!(got["required_status_checks"]["strict"], true);
    assert_eq!(got["restrictions"]["users"][0]["login"], "octo");
    assert_eq!(got["restrictions"]["teams"][0]["slug"], "core");
    assert_eq!(got["allow_deletions"], json!({"enabled": true}));
    assert!(got.get("required_pull_request_reviews").is_none());
    let bad = json!({"required_status_checks": {"contexts": []}, "enforce_admins": null,
        "required_pull_request_reviews": null, "restrictions": null});
    assert_eq!(
        call(&s, "PUT", "/repos/acme/charts/branches/charts/protection", Some(ADMIN), Some(bad))
            .status,
        422
    );

    let sig = "/repos/acme/charts/branches/main/protection/required_signatures";
    assert_eq!(call(&s, "POST", sig, Some(ADMIN), None).body["enabled"], true);
    assert_eq!(
        call(&s, "GET", url, Some(ADMIN), None).body["required_signatures"]["enabled"],
        true
    );
    assert_eq!(call(&s, "DELETE", sig, Some(ADMIN), None).status, 204);

    let branch = call(&s, "GET", "/repos/acme/charts/branches/main", Some(READER), None);
    assert_eq!(branch.body["protected"], true);
    assert_eq!(branch.body["commit"]["sha"].as_str().unwrap().len(), 40);
    // Classic protection and rulesets are separate.
    assert_eq!(
        call(&s, "GET", "/repos/acme/charts/rules/branches/main", Some(READER), None).body,
        json!([])
    );

    assert_eq!(call(&s, "DELETE", url, Some(ADMIN), None).status, 204);
    assert_eq!(call(&s, "DELETE", url, Some(ADMIN), None).status, 404);
    assert_eq!(
        call(&s, "GET", "/repos/acme/charts/branches/main", Some(READER), None).body["protected"],
        false
    );
}

#[test]
fn rulesets_are_validated_listed_and_matched_to_branches() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repo(dir.path());
    let s = standin(&bare);
    let url = "/repos/acme/charts/rulesets";
    let pr_rule = json!({"type": "pull_request", "parameters": {"required_approving_review_count": 1,
        "dismiss_stale_reviews_on_push": false, "require_code_owner_review": false,
        "require_last_push_approval": false, "required_review_thread_resolution": false}});
    let gate = json!({"name": "integration-review-gate", "target": "branch", "enforcement": "active",
        "conditions": {"ref_name": {"include": ["refs/heads/integration"], "exclude": []}},
        "rules": [pr_rule, {"type": "deletion"}]});

    let mut no_enforcement = gate.clone();
    no_enforcement.as_object_mut().unwrap().remove("enforcement");
    assert_eq!(call(&s, "POST", url, Some(ADMIN), Some(no_enforcement)).status, 422);
    let mut bad_params = gate.clone();
    bad_params["rules"][0]["parameters"]
        .as_object_mut()
        .unwrap()
        .remove("require_last_push_approval");
    assert_eq!(call(&s, "POST", url, Some(ADMIN), Some(bad_params)).status, 422);
    assert_eq!(call(&s, "POST", url, Some(WRITER), Some(gate.clone())).status, 403);

    let created = call(&s, "POST", url, Some(ADMIN), Some(gate.clone()));
    assert_eq!(created.status, 201);
    let id = created.body["id"].as_u64().unwrap();
    assert_eq!(created.body["source_type"], "Repository");
    assert_eq!(created.body["source"], "acme/charts");
    let dup = call(&s, "POST", url, Some(ADMIN), Some(gate));
    assert_eq!((dup.status, dup.body["errors"][0].as_str()), (422, Some("Name must be unique")));

    let list = call(&s, "GET", url, Some(READER), None).body;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "integration-review-gate");
    assert!(list[0].get("rules").is_none(), "summaries carry no rules");
    assert_eq!(call(&s, "GET", &format!("{url}/{id}"), Some(READER), None).body, created.body);

    let rules =
        call(&s, "GET", "/repos/acme/charts/rules/branches/integration", Some(READER), None).body;
    let kinds: Vec<&str> =
        rules.as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["pull_request", "deletion"]);
    assert_eq!(rules[0]["ruleset_id"], id);
    assert_eq!(rules[0]["ruleset_source_type"], "Repository");
    assert_eq!(rules[0]["ruleset_source"], "acme/charts");
    assert_eq!(
        call(&s, "GET", "/repos/acme/charts/rules/branches/main", None, None).body,
        json!([])
    );

    s.add_ruleset("acme", "charts", json!({"name": "releases", "enforcement": "active", "target": "branch",
        "conditions": {"ref_name": {"include": ["refs/heads/release/*", "~DEFAULT_BRANCH"], "exclude": ["refs/heads/release/old"]}},
        "rules": [{"type": "non_fast_forward"}]}));
    s.add_ruleset("acme", "charts", json!({"name": "off", "enforcement": "evaluate", "target": "branch",
        "conditions": {"ref_name": {"include": ["~ALL"], "exclude": []}}, "rules": [{"type": "deletion"}]}));
    let count = |b: &str| {
        call(&s, "GET", &format!("/repos/acme/charts/rules/branches/{b}"), None, None)
            .body
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count("release/1.0"), 1);
    assert_eq!(count("release/1.0/x"), 0, "* does not cross /");
    assert_eq!(count("release/old"), 0, "excluded");
    assert_eq!(count("main"), 1, "~DEFAULT_BRANCH");
    assert_eq!(s.rulesets_json("acme", "charts").len(), 3);
    let paged = call(
        &s,
        "GET",
        "/repos/acme/charts/rulesets?includes_parents=false&per_page=2",
        None,
        None,
    );
    assert_eq!(paged.body.as_array().unwrap().len(), 2);
    let next = paged.header("link").unwrap();
    assert!(
        next.contains("/rulesets?includes_parents=false&per_page=2&page=2>; rel=\"next\""),
        "{next}"
    );

    let put = call(
        &s,
        "PUT",
        &format!("{url}/{id}"),
        Some(ADMIN),
        Some(json!({"enforcement": "disabled"})),
    );
    assert_eq!(put.body["enforcement"], "disabled");
    assert_eq!(count("integration"), 0);
    assert_eq!(call(&s, "DELETE", &format!("{url}/{id}"), Some(ADMIN), None).status, 204);
    assert_eq!(call(&s, "GET", &format!("{url}/{id}"), Some(ADMIN), None).status, 404);

    let r = call(&s, "GET", "/repos/acme/free/rulesets", Some(ADMIN), None);
    assert_eq!(r.status, 403);
    assert!(r.body["message"].as_str().unwrap().starts_with("Upgrade to GitHub Pro"));
}

#[test]
fn fnmatch_follows_ruleset_patterns() {
    assert!(fnmatch(b"refs/heads/release/*", b"refs/heads/release/1"));
    assert!(!fnmatch(b"refs/heads/release/*", b"refs/heads/release/1/2"));
    assert!(fnmatch(b"refs/heads/release/**", b"refs/heads/release/1/2"));
    assert!(fnmatch(b"refs/heads/v[0-9]*", b"refs/heads/v1.2"));
    assert!(!fnmatch(b"refs/heads/main", b"refs/heads/mainline"));
}

#[test]
fn pulls_page_retarget_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, work) = repo(dir.path());
    let s = standin(&bare);
    let first = s.add_pull("acme", "charts", "feature", "main", "one");
    for title in ["two", "three"] {
        s.add_pull("acme", "charts", "feature", "main", title);
    }
    let page = call(
        &s,
        "GET",
        "/repos/acme/charts/pulls?state=open&base=main&per_page=2",
        Some(READER),
        None,
    );
    assert_eq!(page.body.as_array().unwrap().len(), 2);
    let link = page.header("link").unwrap();
    assert!(link.contains("page=2>; rel=\"next\""), "{link}");
    let second = call(
        &s,
        "GET",
        "/repos/acme/charts/pulls?state=open&base=main&per_page=2&page=2",
        Some(READER),
        None,
    );
    assert_eq!(second.body.as_array().unwrap().len(), 1);
    let by_head =
        call(&s, "GET", "/repos/acme/charts/pulls?head=acme%3Afeature", Some(READER), None);
    assert_eq!(by_head.body.as_array().unwrap().len(), 3);

    let r = call(
        &s,
        "PATCH",
        &format!("/repos/acme/charts/pulls/{first}"),
        Some(WRITER),
        Some(json!({"base": "nope"})),
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        r.body["errors"],
        json!([{"resource": "PullRequest", "field": "base", "code": "invalid"}])
    );
    let r = call(
        &s,
        "PATCH",
        &format!("/repos/acme/charts/pulls/{first}"),
        Some(READER),
        Some(json!({"base": "charts"})),
    );
    assert_eq!(r.status, 403);
    let r = call(
        &s,
        "PATCH",
        &format!("/repos/acme/charts/pulls/{first}"),
        Some(WRITER),
        Some(json!({"state": "closed"})),
    );
    assert_eq!(r.body["state"], "closed");

    let created = call(
        &s,
        "POST",
        "/repos/acme/charts/pulls",
        Some(WRITER),
        Some(json!({"title": "t", "head": "acme:feature", "base": "charts", "body": "b"})),
    );
    assert_eq!(created.status, 201);
    assert!(
        created.body["html_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/pull/{}", created.body["number"]))
    );

    let main_before = ok(&bare, &["rev-parse", "main"]);
    let feature = ok(&bare, &["rev-parse", "feature"]);
    let merged = call(
        &s,
        "PUT",
        "/repos/acme/charts/pulls/2/merge",
        Some(WRITER),
        Some(json!({"merge_method": "squash"})),
    );
    assert_eq!((merged.status, merged.body["merged"].as_bool()), (200, Some(true)));
    let main_after = ok(&bare, &["rev-parse", "main"]);
    assert_eq!(merged.body["sha"], main_after.as_str());
    assert_eq!(ok(&bare, &["rev-parse", "main^"]), main_before);
    assert_eq!(
        ok(&bare, &["rev-parse", "main^{tree}"]),
        ok(&bare, &["rev-parse", "feature^{tree}"])
    );
    assert_eq!(s.pull_json("acme", "charts", 2)["merged"], true);
    // main moved past the feature's base: a real merge is refused, a squash is not.
    let r = call(
        &s,
        "PUT",
        "/repos/acme/charts/pulls/3/merge",
        Some(WRITER),
        Some(json!({"merge_method": "merge"})),
    );
    assert_eq!(r.status, 405);
    let _ = (feature, work);

    // A PR whose head branch is deleted is closed on the next read.
    ok(&bare, &["branch", "-D", "feature"]);
    assert_eq!(s.pull_json("acme", "charts", 3)["state"], "closed");
}

#[test]
fn pages_builds_after_a_delay_and_the_site_goes_down_with_its_branch() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, work) = repo(dir.path());
    let s = standin(&bare);
    assert_eq!(call(&s, "GET", "/repos/acme/charts/pages", Some(ADMIN), None).status, 404);
    s.enable_pages("acme", "charts", "charts", "/", None);
    let page = call(&s, "GET", "/repos/acme/charts/pages", Some(READER), None).body;
    assert_eq!(page["status"], "built");
    assert_eq!(page["source"], json!({"branch": "charts", "path": "/"}));
    assert_eq!(page["html_url"], s.site_url("acme", "charts"));
    assert_eq!(
        s.site_file("acme", "charts", "index.yaml").unwrap(),
        b"apiVersion: v1\nentries: {}\n"
    );

    s.enable_pages("acme", "charts", "charts", "/docs", Some("charts.example.com"));
    assert_eq!(s.site_file("acme", "charts", "index.yaml").unwrap(), b"docs\n");
    assert_eq!(s.pages_json("acme", "charts").unwrap()["cname"], "charts.example.com");
    s.enable_pages("acme", "charts", "charts", "/", None);

    // A new branch `release` with a different index.
    ok(&work, &["checkout", "-q", "-b", "release", "charts"]);
    std::fs::write(work.join("index.yaml"), "release\n").unwrap();
    ok(&work, &["commit", "-q", "-am", "release"]);
    ok(&work, &["push", "-q", bare.to_str().unwrap(), "release"]);

    let url = "/repos/acme/charts/pages";
    assert_eq!(call(&s, "PUT", url, Some(ADMIN), Some(json!({}))).status, 400);
    assert_eq!(
        call(&s, "PUT", url, Some(ADMIN), Some(json!({"source": {"branch": "nope", "path": "/"}})))
            .status,
        422
    );
    s.set_build_delay(2);
    assert_eq!(
        call(
            &s,
            "PUT",
            url,
            Some(ADMIN),
            Some(json!({"source": {"branch": "release", "path": "/"}}))
        )
        .status,
        204
    );
    let statuses: Vec<Value> =
        (0..3).map(|_| call(&s, "GET", url, Some(ADMIN), None).body["status"].clone()).collect();
    assert_eq!(statuses, [json!("building"), json!("building"), json!("built")]);
    let site = raw(&s, "GET", "/__pages/acme/charts/index.yaml", None, None, None);
    assert_eq!(site.status, 200);
    assert_eq!(s.site_file("acme", "charts", "index.yaml").unwrap(), b"release\n");
    assert_eq!(s.pages_json("acme", "charts").unwrap()["source"]["branch"], "release");

    ok(&bare, &["branch", "-D", "release"]);
    assert_eq!(s.site_file("acme", "charts", "index.yaml"), None);
    assert_eq!(raw(&s, "GET", "/__pages/acme/charts/index.yaml", None, None, None).status, 404);
}

#[test]
fn a_rename_is_in_progress_then_lands_with_everything_github_moves() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repo(dir.path());
    let s = standin(&bare);
    let based = s.add_pull("acme", "charts", "feature", "charts", "based on charts");
    let from = s.add_pull("acme", "charts", "charts", "main", "from charts");
    s.protect("acme", "charts", "charts", review_gate());
    s.add_ruleset("acme", "charts", json!({"name": "charts", "enforcement": "active", "target": "branch",
        "conditions": {"ref_name": {"include": ["refs/heads/charts"], "exclude": []}}, "rules": [{"type": "deletion"}]}));
    s.enable_pages("acme", "charts", "charts", "/", None);

    let rename = "/repos/acme/charts/branches/charts/rename";
    let r = call(&s, "POST", rename, Some(WRITER), Some(json!({"new_name": "release"})));
    assert_eq!(
        (r.status, r.header("X-Accepted-GitHub-Permissions")),
        (403, Some("administration=write")),
        "protected: admin only"
    );
    let r = call(&s, "POST", rename, Some(ADMIN), Some(json!({"new_name": "main"})));
    assert_eq!(r.status, 422);

    s.set_rename_delay(2);
    let r = call(&s, "POST", rename, Some(ADMIN), Some(json!({"new_name": "release"})));
    assert_eq!((r.status, r.body["name"].as_str()), (201, Some("release")));
    let old = call(&s, "GET", "/repos/acme/charts/branches/charts", Some(ADMIN), None);
    assert_eq!(old.status, 301);
    assert!(old.header("location").unwrap().ends_with("/branches/release"));
    assert_eq!(old.body["message"], "Moved Permanently");
    assert_eq!(
        call(&s, "GET", "/repos/acme/charts/branches/release", Some(ADMIN), None).status,
        404
    );
    assert!(ok(&bare, &["branch", "--list", "charts"]).contains("charts"), "not in git yet");

    let r = call(&s, "GET", "/repos/acme/charts/branches/release", Some(ADMIN), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.body["protected"], true);
    assert_eq!(ok(&bare, &["branch", "--list", "charts"]), "");
    assert_eq!(
        call(&s, "GET", "/repos/acme/charts/branches/charts", Some(ADMIN), None).status,
        301
    );
    assert_eq!(s.pull_json("acme", "charts", based)["base"]["ref"], "release");
    assert_eq!(s.pull_json("acme", "charts", from)["state"], "closed");
    assert!(s.protection_json("acme", "charts", "charts").is_none());
    assert!(s.protection_json("acme", "charts", "release").is_some());
    assert_eq!(s.pages_json("acme", "charts").unwrap()["source"]["branch"], "release");
    assert_eq!(
        s.site_file("acme", "charts", "index.yaml").unwrap(),
        b"apiVersion: v1\nentries: {}\n"
    );
    let rulesets = s.rulesets_json("acme", "charts");
    assert_eq!(
        rulesets[0]["conditions"]["ref_name"]["include"],
        json!(["refs/heads/charts"]),
        "rulesets are not updated"
    );
}

#[test]
fn the_hook_refuses_what_protection_forbids() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, work) = repo(dir.path());
    let s = standin(&bare);
    s.install_hooks("acme", "charts").unwrap();
    s.protect("acme", "charts", "charts", review_gate());
    s.add_ruleset("acme", "charts", json!({"name": "keep", "enforcement": "active", "target": "branch",
        "conditions": {"ref_name": {"include": ["refs/heads/feat*"], "exclude": []}}, "rules": [{"type": "deletion"}]}));
    let daemon = crate::git_daemon::GitDaemon::serve(dir.path()).expect("git daemon starts");
    let url = daemon.url("origin.git");

    let out = git(&work, &["push", &url, ":charts"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "{err} {}",
        std::fs::read_to_string(bare.join("standin-rules")).unwrap()
    );
    assert!(
        err.contains("remote: error: GH006: Protected branch update failed for refs/heads/charts."),
        "{err}"
    );
    assert!(err.contains("remote: error: Cannot delete this protected branch"), "{err}");

    std::fs::write(work.join("index.yaml"), "changed\n").unwrap();
    ok(&work, &["commit", "-q", "-am", "a fast-forward of charts"]);
    let out = git(&work, &["push", &url, "charts:charts"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("Changes must be made through a pull request."), "{err}");

    let out = git(&work, &["push", &url, ":feature"]);
    assert!(!out.status.success(), "a ruleset deletion rule");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot delete this protected branch"));

    let out = git(&work, &["push", &url, "main:refs/heads/tmp"]);
    assert!(out.status.success());
    let out = git(&work, &["push", &url, ":tmp"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Unprotected again: the rules file follows the API.
    let unprotect = "/repos/acme/charts/branches/charts/protection";
    assert_eq!(call(&s, "DELETE", unprotect, Some(ADMIN), None).status, 204);
    let out = git(&work, &["push", &url, ":charts"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = git(&work, &["push", &url, "main:refs/heads/tmp"]);
    assert!(out.status.success());

    // A ruleset's non_fast_forward rule refuses a forced push, not a fast-forward.
    s.add_ruleset(
        "acme",
        "charts",
        json!({"name": "linear", "enforcement": "active", "target": "branch",
        "conditions": {"ref_name": {"include": ["refs/heads/nf/**"], "exclude": []}},
        "rules": [{"type": "non_fast_forward"}]}),
    );
    assert!(git(&work, &["push", &url, "main:refs/heads/nf/x"]).status.success());
    assert!(git(&work, &["push", &url, "feature:nf/x"]).status.success());
    let out = git(&work, &["push", &url, "+main:nf/x"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot force-push to this branch"));

    // A locked branch takes nothing.
    let mut locked = review_gate();
    locked["required_pull_request_reviews"] = Value::Null;
    locked["lock_branch"] = json!(true);
    s.protect("acme", "charts", "main", locked);
    let out = git(&work, &["push", &url, "feature:main"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Cannot change this locked branch"));

    // A rename in progress refuses pushes to the old name.
    s.set_rename_delay(5);
    assert_eq!(
        call(
            &s,
            "POST",
            "/repos/acme/charts/branches/tmp/rename",
            Some(WRITER),
            Some(json!({"new_name": "tmp2"}))
        )
        .status,
        201
    );
    let out = git(&work, &["push", &url, "feature:tmp"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("being renamed"));
    let out = git(&work, &["push", &url, "feature:refs/heads/tmp2"]);
    assert!(!out.status.success(), "the new name is not free either");
}

#[test]
fn refs_and_the_branch_list_follow_git_and_protection() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repo(dir.path());
    let s = standin(&bare);
    let main = ok(&bare, &["rev-parse", "main"]);
    let feature = ok(&bare, &["rev-parse", "feature"]);

    let r = call(
        &s,
        "POST",
        "/repos/acme/charts/git/refs",
        Some(WRITER),
        Some(json!({"ref": "refs/heads/integration", "sha": main})),
    );
    assert_eq!(r.status, 201);
    assert!(r.header("location").unwrap().ends_with("/git/refs/heads/integration"));
    assert_eq!(ok(&bare, &["rev-parse", "integration"]), main);
    let again = call(
        &s,
        "POST",
        "/repos/acme/charts/git/refs",
        Some(WRITER),
        Some(json!({"ref": "refs/heads/integration", "sha": main})),
    );
    assert_eq!(
        (again.status, again.body["message"].as_str()),
        (422, Some("Reference already exists"))
    );
    let got = call(&s, "GET", "/repos/acme/charts/git/ref/heads/integration", None, None);
    assert_eq!(got.body["object"]["sha"], main.as_str());

    s.protect("acme", "charts", "integration", review_gate());
    let r = call(
        &s,
        "PATCH",
        "/repos/acme/charts/git/refs/heads/integration",
        Some(WRITER),
        Some(json!({"sha": feature, "force": false})),
    );
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (422, Some("Changes must be made through a pull request."))
    );
    let r = call(&s, "DELETE", "/repos/acme/charts/git/refs/heads/integration", Some(WRITER), None);
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (422, Some("Cannot delete this protected branch"))
    );
    let r = call(
        &s,
        "PATCH",
        "/repos/acme/charts/git/refs/heads/feature",
        Some(WRITER),
        Some(json!({"sha": main, "force": false})),
    );
    assert_eq!(r.status, 422, "not a fast-forward");
    assert_eq!(
        call(&s, "DELETE", "/repos/acme/charts/git/refs/heads/feature", Some(WRITER), None).status,
        204
    );
    assert_eq!(ok(&bare, &["branch", "--list", "feature"]), "");

    let list = call(&s, "GET", "/repos/acme/charts/branches?per_page=2", Some(READER), None);
    let names: Vec<&str> =
        list.body.as_array().unwrap().iter().map(|b| b["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["charts", "integration"]);
    assert_eq!(list.body[1]["protected"], true);
    assert!(list.header("link").unwrap().contains("rel=\"next\""));

    // Reading protection without admin: 404, as GitHub; a bad token still carries the budget.
    assert_eq!(
        call(&s, "GET", "/repos/acme/charts/branches/integration/protection", Some(WRITER), None)
            .status,
        404
    );
    let r = call(&s, "GET", "/repos/acme/charts", Some("wrong"), None);
    assert_eq!((r.status, r.header("x-ratelimit-limit")), (401, Some("60")));
}

#[test]
fn dropping_the_stand_in_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repo(dir.path());
    let s = standin(&bare);
    let addr = s.base_url().trim_start_matches("http://").to_owned();
    assert_eq!(call(&s, "GET", R, None, None).status, 200);
    drop(s);
    // Nothing listens there any more; or, when a test running beside this one was given the
    // freed port (a git daemon picks its port the same way), it is not the stand-in.
    if let Ok(mut stream) = TcpStream::connect(&addr) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
        let request = format!("GET {R} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: t\r\n\r\n");
        let _ = stream.write_all(request.as_bytes());
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        assert!(!answer.contains("\"full_name\""), "the stand-in still answers: {answer}");
    }
}
