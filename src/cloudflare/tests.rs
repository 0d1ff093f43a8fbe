//! End-to-end tests of the client and the switch step against the stand-in, over real
//! sockets with the real reqwest transport; only the sleeper is replaced, so retries and
//! polls do not wait.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use super::*;
use crate::http::*;
use rebranch_standin::cloudflare::{
    Access, BearerSeen, Fault, FaultKind, StandIn, StandInProject, TokenRule,
};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "sentinel-tok-9f3a7c1e";
const READ_TOKEN: &str = "read-only-tok-4b2d";
const PROJECT: &str = "helm-charts";

#[derive(Default)]
struct RecordingSleeper(Mutex<Vec<Duration>>);

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) {
        self.0.lock().expect("sleeps").push(duration);
    }
}

impl RecordingSleeper {
    fn waits(&self) -> Vec<Duration> {
        self.0.lock().expect("sleeps").clone()
    }
}

type Client = PagesClient<ReqwestTransport>;

fn standin(projects: Vec<StandInProject>) -> StandIn {
    let tokens = vec![TokenRule::edit(TOKEN), TokenRule::read(READ_TOKEN)];
    StandIn::start(projects, tokens).expect("stand-in starts")
}

fn client_with(s: &StandIn, token: &str, timeout: Duration) -> (Client, Arc<RecordingSleeper>) {
    let config =
        Config::new(&s.base_url(), Token::new(token).expect("token"), Some(ACCOUNT.to_owned()))
            .expect("config");
    let transport = ReqwestTransport::new(TransportOptions {
        connect_timeout: Duration::from_secs(2),
        timeout,
    })
    .expect("transport");
    let sleeper = Arc::new(RecordingSleeper::default());
    let client =
        PagesClient::new(transport, &config).expect("client").with_sleeper(sleeper.clone());
    (client, sleeper)
}

fn client(s: &StandIn) -> (Client, Arc<RecordingSleeper>) {
    client_with(s, TOKEN, Duration::from_secs(5))
}

fn poll() -> PollOptions {
    PollOptions { interval: Duration::from_secs(2), timeout: Duration::from_secs(60) }
}

fn stored(s: &StandIn) -> Value {
    let state = s.state();
    state.project(ACCOUNT, PROJECT).expect("project").project.clone()
}

fn canonical(s: &StandIn) -> Option<String> {
    let state = s.state();
    state.project(ACCOUNT, PROJECT).and_then(|p| p.canonical_deployment_id.clone())
}

fn count(s: &StandIn, method: &str, path_contains: &str) -> usize {
    s.requests().iter().filter(|r| r.method == method && r.path.contains(path_contains)).count()
}

fn switch(c: &Client) -> (SwitchPlan, SwitchRecord) {
    let state = observe(c, PROJECT).expect("observe");
    let plan = plan_switch(&state, "charts", "release").expect("a change");
    let record = apply_switch(c, &plan).expect("apply");
    (plan, record)
}

#[derive(Default)]
struct Stages(Mutex<Vec<String>>);

impl crate::service::Polls for Stages {
    fn on_poll(&self, stage: &str, status: &str) {
        self.0.lock().expect("stages").push(format!("{stage}/{status}"));
    }
}

#[test]
fn git_project_switch_verify_and_reapply() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let state = observe(&c, PROJECT).expect("observe");
    let plan = plan_switch(&state, "charts", "release").expect("a change");
    assert_eq!(
        plan.diff_lines(),
        [
            "~ pages project \"helm-charts\": production_branch \"charts\" → \"release\"",
            "~ pages project \"helm-charts\": source.config.production_branch \"charts\" → \"release\"",
        ]
    );
    let record = apply_switch(&c, &plan).expect("apply");
    assert!(record.patched);

    let patches: Vec<_> = s.requests().into_iter().filter(|r| r.method == "PATCH").collect();
    assert_eq!(patches.len(), 1);
    let body: Value = serde_json::from_str(&patches[0].body).expect("json body");
    assert_eq!(body["production_branch"], "release");
    assert_eq!(body["source"]["type"], "github");
    assert_eq!(body["source"]["config"]["production_branch"], "release");
    assert_eq!(body["source"]["config"]["owner"], "example-org");
    assert!(body.get("deployment_configs").is_none() && body.get("build_config").is_none());

    let project = stored(&s);
    assert_eq!(project["production_branch"], "release");
    assert_eq!(project["source"]["config"]["production_branch"], "release");
    let secret = &project["deployment_configs"]["production"]["env_vars"]["CHART_SIGNING_KEY"];
    assert_eq!(secret["value"], "standin-secret-value", "the secret survived the PATCH");

    let stages = Stages::default();
    let outcome = verify_deployment(&c, PROJECT, "release", &stages, &poll()).expect("verify");
    assert_eq!(outcome.environment, "production");
    assert_eq!(outcome.branch, "release");
    assert!(outcome.polls >= 3, "it progressed over polls: {outcome:?}");
    assert_eq!(canonical(&s).as_deref(), Some(outcome.deployment_id.as_str()));
    let seen = stages.0.lock().expect("stages").clone();
    assert_eq!(seen.first().map(String::as_str), Some("queued/active"));
    assert_eq!(seen.last().map(String::as_str), Some("deploy/success"));

    let again = observe(&c, PROJECT).expect("observe");
    assert_eq!(plan_switch(&again, "charts", "release"), None);
    let resumed = apply_switch(&c, &plan).expect("apply again");
    assert!(!resumed.patched);
    assert_eq!(count(&s, "PATCH", PROJECT), 1, "no second PATCH");
}

#[test]
fn direct_upload_switch_sends_only_production_branch() {
    let s = standin(vec![StandInProject::direct_upload(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let (plan, _) = switch(&c);
    assert_eq!(plan.diff_lines().len(), 1);
    let patch = s.requests().into_iter().find(|r| r.method == "PATCH").expect("a PATCH");
    assert_eq!(
        serde_json::from_str::<Value>(&patch.body).expect("json"),
        json!({"production_branch": "release"})
    );
    let outcome = verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll())
        .expect("verify");
    assert_eq!(outcome.environment, "production");
    let posts: Vec<_> = s.requests().into_iter().filter(|r| r.method == "POST").collect();
    let content_type = posts[0]
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    assert!(content_type.starts_with("multipart/form-data"), "{content_type}");
    assert!(posts[0].body.contains("name=\"branch\"") && posts[0].body.contains("release"));
}

#[test]
fn a_preview_deployment_is_a_failure() {
    let s = standin(vec![StandInProject::direct_upload(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let err = verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll())
        .expect_err("preview");
    let message = err.to_string();
    assert!(message.contains("preview") && message.contains(PROJECT), "{message}");
}

#[test]
fn a_failed_build_is_reported() {
    let mut project = StandInProject::git(ACCOUNT, PROJECT, "charts");
    project.failing_branches = vec!["release".to_owned()];
    let s = standin(vec![project]);
    let (c, _) = client(&s);
    switch(&c);
    let err = verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll())
        .expect_err("fails");
    assert!(err.to_string().contains("build (failure)"), "{err}");
}

#[test]
fn rollback_restores_both_fields_lists_and_the_old_deployment() {
    let mut project = StandInProject::git(ACCOUNT, PROJECT, "charts");
    project.project["source"]["config"]["preview_deployment_setting"] = json!("custom");
    project.project["source"]["config"]["preview_branch_excludes"] = json!(["charts", "wip/*"]);
    let s = standin(vec![project]);
    let original = stored(&s);
    let old_canonical = canonical(&s).expect("seeded deployment");
    let (c, _) = client(&s);
    let state = observe(&c, PROJECT).expect("observe");
    let plan = plan_switch(&state, "charts", "release").expect("plan");
    assert!(plan.diff_lines().iter().any(|l| l.ends_with(
        "source.config.preview_branch_excludes [\"charts\",\"wip/*\"] → [\"release\",\"wip/*\"]"
    )));
    let record = apply_switch(&c, &plan).expect("apply");
    assert_eq!(
        record.canonical_deployment_before.as_ref().map(|d| d.id.clone()),
        Some(old_canonical.clone())
    );
    verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll()).expect("verify");
    assert_ne!(canonical(&s).as_deref(), Some(old_canonical.as_str()));

    let journal = serde_json::to_string(&record).expect("serialize");
    let record: SwitchRecord = serde_json::from_str(&journal).expect("deserialize");
    let outcome =
        rollback_switch(&c, &record, &crate::service::NoPolls, &RollbackOptions::default())
            .expect("rollback");
    assert!(outcome.fields_restored);
    assert_eq!(outcome.deployment, RestoredDeployment::RolledBackTo(old_canonical.clone()));
    assert_eq!(stored(&s)["source"], original["source"], "source restored exactly");
    assert_eq!(stored(&s)["production_branch"], "charts");
    assert_eq!(canonical(&s), Some(old_canonical));

    let again = rollback_switch(&c, &record, &crate::service::NoPolls, &RollbackOptions::default())
        .expect("again");
    assert!(!again.fields_restored);
    assert!(matches!(again.deployment, RestoredDeployment::AlreadyLive(_)));
}

#[test]
fn rollback_rebuilds_from_the_old_branch_when_the_rollback_endpoint_fails() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let (_, record) = switch(&c);
    verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll()).expect("verify");
    s.inject(Fault::new(Some("POST"), "/rollback", FaultKind::ServerError { status: 500 }, None));
    let options = RollbackOptions { poll: poll(), ..RollbackOptions::default() };
    let outcome =
        rollback_switch(&c, &record, &crate::service::NoPolls, &options).expect("rollback");
    match outcome.deployment {
        RestoredDeployment::Rebuilt(d) => {
            assert_eq!((d.branch.as_str(), d.environment.as_str()), ("charts", "production"));
        }
        other => panic!("expected a rebuild, got {other:?}"),
    }
}

#[test]
fn rollback_refuses_when_the_project_changed_since() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let (_, record) = switch(&c);
    s.with_state(|state| {
        let p = state.projects.iter_mut().find(|p| p.name() == PROJECT).expect("project");
        p.project["production_branch"] = json!("main");
    });
    s.clear_requests();
    let err = rollback_switch(&c, &record, &crate::service::NoPolls, &RollbackOptions::default())
        .expect_err("refused");
    assert!(matches!(err, StepError::RollbackRefused { .. }), "{err:?}");
    assert!(err.to_string().contains("\"main\""), "{err}");
    assert_eq!(count(&s, "PATCH", ""), 0);
    assert_eq!(count(&s, "POST", ""), 0);
}

#[test]
fn apply_refuses_when_the_project_moved_since_the_plan() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let plan =
        plan_switch(&observe(&c, PROJECT).expect("observe"), "charts", "release").expect("plan");
    s.with_state(|state| {
        state.projects[0].project["source"]["config"]["production_branch"] = json!("main")
    });
    let err = apply_switch(&c, &plan).expect_err("drift");
    assert!(matches!(err, StepError::Drift { .. }), "{err:?}");
    assert_eq!(count(&s, "PATCH", ""), 0);
}

#[test]
fn project_not_found_names_project_account_and_what_exists() {
    let s = standin(vec![
        StandInProject::git(ACCOUNT, PROJECT, "charts"),
        StandInProject::direct_upload(ACCOUNT, "docs-site", "main"),
    ]);
    let (c, _) = client(&s);
    let err = observe(&c, "helm-chart").expect_err("not found");
    let message = err.to_string();
    for part in
        ["\"helm-chart\"", ACCOUNT, "8000007", "helm-charts, docs-site", "CLOUDFLARE_ACCOUNT_ID"]
    {
        assert!(message.contains(part), "{part} missing in: {message}");
    }
}

#[test]
fn bad_token_is_explained() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client_with(&s, "not-a-real-token", Duration::from_secs(5));
    let err = observe(&c, PROJECT).expect_err("refused");
    let message = err.to_string();
    assert!(message.contains("invalid or expired") && message.contains(ACCOUNT), "{message}");
    assert!(!message.contains("not-a-real-token"));
    assert_eq!(count(&s, "GET", ""), 1, "an auth error is not retried");
}

#[test]
fn read_only_token_names_the_missing_permission() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client_with(&s, READ_TOKEN, Duration::from_secs(5));
    let state = observe(&c, PROJECT).expect("reading works");
    let plan = plan_switch(&state, "charts", "release").expect("plan");
    let err = apply_switch(&c, &plan).expect_err("no edit permission");
    let message = err.to_string();
    assert!(
        message.contains("Cloudflare Pages › Edit") && message.contains("Pages Read"),
        "{message}"
    );
    assert!(message.contains(PROJECT) && message.contains(ACCOUNT), "{message}");
    assert_eq!(stored(&s)["production_branch"], "charts");
}

#[test]
fn rate_limit_then_success_honours_retry_after() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, sleeper) = client(&s);
    s.inject(Fault::new(
        Some("GET"),
        PROJECT,
        FaultKind::RateLimit { retry_after_secs: Some(7) },
        Some(2),
    ));
    observe(&c, PROJECT).expect("succeeds after waiting");
    assert_eq!(sleeper.waits(), [Duration::from_secs(7), Duration::from_secs(7)]);
    assert_eq!(count(&s, "GET", PROJECT), 3);
}

#[test]
fn rate_limit_beyond_the_cap_fails_at_once() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, sleeper) = client(&s);
    s.inject(Fault::new(None, "", FaultKind::RateLimit { retry_after_secs: Some(300) }, None));
    let err = observe(&c, PROJECT).expect_err("rate limited");
    assert!(err.to_string().contains("rate limiting") && err.to_string().contains("300s"), "{err}");
    assert!(sleeper.waits().is_empty());
}

#[test]
fn server_errors_then_success() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, sleeper) = client(&s);
    s.inject(Fault::new(Some("PATCH"), PROJECT, FaultKind::ServerError { status: 503 }, Some(2)));
    switch(&c);
    assert_eq!(count(&s, "PATCH", PROJECT), 3);
    assert_eq!(sleeper.waits(), [Duration::from_millis(500), Duration::from_secs(1)]);
    assert_eq!(stored(&s)["production_branch"], "release");
}

#[test]
fn server_errors_forever_give_a_clear_bounded_failure() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, sleeper) = client(&s);
    s.inject(Fault::new(None, "", FaultKind::ServerError { status: 500 }, None));
    let err = observe(&c, PROJECT).expect_err("gives up");
    let message = err.to_string();
    assert!(
        message.contains("gave up after 4 attempts") && message.contains("HTTP 500"),
        "{message}"
    );
    assert!(message.contains(PROJECT) && message.contains(ACCOUNT), "{message}");
    assert_eq!(count(&s, "GET", ""), 4);
    assert!(sleeper.waits().iter().sum::<Duration>() < Duration::from_secs(10));
}

#[test]
fn the_total_deadline_bounds_retries() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let policy = RetryPolicy { deadline: Duration::from_secs(20), ..RetryPolicy::default() };
    let c = c.with_retry_policy(policy);
    s.inject(Fault::new(None, "", FaultKind::RateLimit { retry_after_secs: Some(15) }, None));
    let err = c.get_project(PROJECT).expect_err("deadline");
    assert!(matches!(err, ApiError::GaveUp { deadline_hit: true, attempts: 2, .. }), "{err:?}");
}

#[test]
fn a_timed_out_deployment_post_is_adopted_not_repeated() {
    let s = standin(vec![StandInProject::direct_upload(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client_with(&s, TOKEN, Duration::from_millis(700));
    switch(&c);
    let before = s.state().projects[0].deployments.len();
    s.inject(Fault::new(
        Some("POST"),
        "/deployments",
        FaultKind::DelayAfter(Duration::from_secs(2)),
        Some(1),
    ));
    let outcome = verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll())
        .expect("adopted");
    assert_eq!(count(&s, "POST", "/deployments"), 1, "the POST was not repeated");
    assert_eq!(s.state().projects[0].deployments.len(), before + 1);
    assert!(count(&s, "GET", "/deployments?") >= 1, "recent deployments were listed first");
    assert_eq!(outcome.environment, "production");
}

#[test]
fn a_deployment_post_that_never_arrived_is_sent_again_after_looking() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    switch(&c);
    let before = s.state().projects[0].deployments.len();
    s.inject(Fault::new(
        Some("POST"),
        "/deployments",
        FaultKind::ServerError { status: 502 },
        Some(1),
    ));
    s.inject(Fault::new(Some("POST"), "/deployments", FaultKind::Drop, Some(1)));
    verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll()).expect("verify");
    assert_eq!(count(&s, "POST", "/deployments"), 3);
    assert_eq!(count(&s, "GET", "/deployments?"), 2, "looked before each repeat");
    assert_eq!(s.state().projects[0].deployments.len(), before + 1, "exactly one deployment");
}

#[test]
fn lists_page_and_respect_the_deployments_limit() {
    let projects =
        (0..23).map(|i| StandInProject::direct_upload(ACCOUNT, &format!("p{i}"), "main")).collect();
    let s = standin(projects);
    let (c, _) = client(&s);
    assert_eq!(c.list_projects().expect("list").len(), 23);
    assert_eq!(count(&s, "GET", "projects?page="), 3);
    let page = c.list_deployments("p0", Some(Environment::Production), 1, 100).expect("clamped");
    assert_eq!(page.items.len(), 1);
    assert!(s.requests().last().expect("request").path.contains("per_page=25"));

    let raw = ReqwestTransport::new(TransportOptions::default()).expect("transport");
    let response = raw
        .send(HttpRequest {
            method: Method::Get,
            url: format!(
                "{}/accounts/{ACCOUNT}/pages/projects/p0/deployments?per_page=26",
                s.base_url()
            ),
            headers: vec![("Authorization".to_owned(), format!("Bearer {TOKEN}"))],
            body: Body::Empty,
        })
        .expect("answer");
    assert_eq!(response.status, 400);
    let body: Value = serde_json::from_slice(&response.body).expect("envelope");
    assert_eq!(body["errors"][0]["code"], 8000024);
}

#[test]
fn source_on_a_direct_upload_project_is_refused_with_8000069() {
    let s = standin(vec![StandInProject::direct_upload(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let patch = ProjectPatch {
        production_branch: None,
        source: Some(Source { kind: "github".to_owned(), config: SourceConfig::default() }),
    };
    let err = c.patch_project(PROJECT, &patch).expect_err("refused");
    assert_eq!(err.code(), Some(8000069));
    let ctx = ErrorContext::new(ACCOUNT, PROJECT, "switch the production branch", true);
    assert!(human_message(&err, &ctx).contains("Direct Upload"));
}

#[test]
fn standin_merges_patches_and_hides_secrets() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let raw = ReqwestTransport::new(TransportOptions::default()).expect("transport");
    let url = format!("{}/accounts/{ACCOUNT}/pages/projects/{PROJECT}", s.base_url());
    let send = |method, body| {
        let headers = vec![("Authorization".to_owned(), format!("Bearer {TOKEN}"))];
        let r = raw.send(HttpRequest { method, url: url.clone(), headers, body }).expect("answer");
        serde_json::from_slice::<Value>(&r.body).expect("json")
    };
    let got = send(Method::Get, Body::Empty);
    let vars = &got["result"]["deployment_configs"]["production"]["env_vars"];
    assert!(vars["CHART_SIGNING_KEY"].get("value").is_none(), "GET hides the secret");
    assert_eq!(vars["MODE"]["value"], "production");
    let patch = json!({
        "deployment_configs": {"production": {"env_vars": {"MODE": null}}},
        "source": {"type": "github", "config": {"path_includes": ["charts/**"], "owner": "someone-else"}}
    });
    let patched = send(Method::Patch, Body::Json(patch));
    let result = &patched["result"];
    assert!(result["deployment_configs"]["production"]["env_vars"].get("MODE").is_none());
    assert_eq!(result["source"]["config"]["path_includes"], json!(["charts/**"]));
    assert_eq!(result["source"]["config"]["owner"], "example-org", "the repository cannot change");
    assert_eq!(result["source"]["config"]["production_branch"], "charts", "merged, not replaced");
    let kept = &stored(&s)["deployment_configs"]["production"]["env_vars"]["CHART_SIGNING_KEY"];
    assert_eq!(kept["value"], "standin-secret-value");
}

#[test]
fn the_token_never_leaks() {
    let s = standin(vec![StandInProject::git(ACCOUNT, PROJECT, "charts")]);
    let (c, _) = client(&s);
    let mut seen = Vec::new();
    let (plan, record) = switch(&c);
    let outcome = verify_deployment(&c, PROJECT, "release", &crate::service::NoPolls, &poll())
        .expect("verify");
    seen.push(serde_json::to_string(&plan).expect("plan"));
    seen.push(serde_json::to_string(&record).expect("record"));
    seen.push(serde_json::to_string(&outcome).expect("outcome"));
    seen.push(format!("{c:?} {plan:?} {record:?}"));
    seen.push(format!("{:?}", observe(&c, PROJECT)));
    let errors = [observe(&c, "missing-project").expect_err("not found"), {
        s.inject(Fault::new(None, "", FaultKind::ServerError { status: 500 }, None));
        observe(&c, PROJECT).expect_err("5xx")
    }];
    s.clear_faults();
    for err in &errors {
        seen.push(err.to_string());
        seen.push(format!("{err:?}"));
        seen.push(serde_json::to_string(err).expect("error"));
    }
    let requests = s.requests();
    seen.push(serde_json::to_string(&requests).expect("requests"));
    for text in &seen {
        assert!(!text.contains(TOKEN), "token leaked into: {text}");
    }
    assert!(requests.iter().all(|r| r.bearer == BearerSeen::Known(Access::Edit)));
    let request = HttpRequest {
        method: Method::Get,
        url: s.base_url(),
        headers: vec![("Authorization".to_owned(), format!("Bearer {TOKEN}"))],
        body: Body::Empty,
    };
    assert!(!format!("{request:?}").contains(TOKEN));
}

#[test]
fn a_secret_echoed_in_an_error_body_is_redacted() {
    let err = ApiError::Status { code: 400, url: "u".to_owned(), body: format!("bad {TOKEN}") };
    let wrapped =
        ApiError::GaveUp { attempts: 2, elapsed_ms: 1, deadline_hit: false, last: Box::new(err) };
    let redacted = wrapped.redacted(TOKEN);
    assert!(!format!("{redacted} {redacted:?}").contains(TOKEN));
}
