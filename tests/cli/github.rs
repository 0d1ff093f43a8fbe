//! GitHub follows the migration: the sample repository's origin served by a loopback
//! `git daemon` (with the stand-in's hooks refusing what GitHub refuses) and the GitHub
//! stand-in over real sockets holding its pull requests, protection, rulesets and Pages
//! site; the API state is checked through the stand-in, the refs through the git CLI.

use rebranch_standin::github::{GhAccess, GhFault, GhRepo, GitHubStandIn};
use serde_json::{Value, json};

use crate::support::{Daemon, Run, Sandbox, git, ls_remote};
use crate::world::walk;

const OWNER: &str = "acme";
const NAME: &str = "helm-charts";
/// Sentinels: they must never appear in any output, file or journal.
const ADMIN: &str = "ghp_ADMIN_SENTINEL_5e0b9c1d_never_print";
const READ: &str = "ghp_READ_SENTINEL_7a2c";
const WRITE: &str = "ghp_WRITE_SENTINEL_3f81";

struct Hub {
    s: Sandbox,
    gh: GitHubStandIn,
    _daemon: Daemon,
    outputs: std::cell::RefCell<Vec<String>>,
}

/// The sample's origin behind a git daemon, and the GitHub stand-in serving it with a pull
/// request open against `charts` (from a branch chart-releaser's `--pr` mode would push).
fn served() -> Hub {
    let s = Sandbox::new();
    git(&s.origin, &["config", "receive.denyDeletes", "false"]);
    let daemon = Daemon::serve(s.origin.parent().unwrap());
    git(&s.clone, &["remote", "set-url", "origin", &daemon.url("origin.git")]);
    let gh = GitHubStandIn::start(
        vec![GhRepo::new(OWNER, NAME, &s.origin)],
        vec![
            (ADMIN.to_string(), GhAccess::Admin),
            (WRITE.to_string(), GhAccess::Write),
            (READ.to_string(), GhAccess::Read),
        ],
    )
    .expect("GitHub stand-in");
    git(&s.clone, &["push", "-q", "origin", "refs/heads/charts:refs/heads/cr-podinfo-1.2.0"]);
    gh.add_pull(OWNER, NAME, "cr-podinfo-1.2.0", "charts", "Release podinfo 1.2.0");
    gh.install_hooks(OWNER, NAME).expect("hooks");
    Hub { s, gh, _daemon: daemon, outputs: Default::default() }
}

/// The repository: as [`served`], and GitHub Pages builds from `charts`, which is
/// protected.
fn hub() -> Hub {
    let h = served();
    h.gh.protect(
        OWNER,
        NAME,
        "charts",
        json!({"required_status_checks": null, "enforce_admins": true,
               "required_pull_request_reviews": null, "restrictions": null,
               "allow_force_pushes": false, "allow_deletions": false}),
    );
    h.gh.enable_pages(OWNER, NAME, "charts", "/", Some("charts.example.org"));
    h
}

impl Hub {
    fn run(&self, args: &[&str], token: Option<&str>, extra: &[(&str, &str)]) -> Run {
        let base = self.gh.base_url();
        let mut env: Vec<(&str, &str)> = vec![
            ("GITHUB_API_URL", base.as_str()),
            ("REBRANCH_PAGES_POLL_MS", "20"),
            ("REBRANCH_GITHUB_MUTATION_GAP_MS", "0"),
        ];
        if let Some(t) = token {
            env.push(("GH_TOKEN", t));
        }
        env.extend_from_slice(extra);
        let mut all = args.to_vec();
        all.extend(["--set", "github.repository=acme/helm-charts"]);
        let run = self.s.rebranch_env(&all, &env);
        self.outputs.borrow_mut().push(run.all());
        run
    }

    fn base_of(&self, number: u64) -> String {
        self.gh.pull_json(OWNER, NAME, number)["base"]["ref"].as_str().unwrap_or_default().into()
    }

    fn pages_branch(&self) -> String {
        let pages = self.gh.pages_json(OWNER, NAME).expect("pages");
        pages["source"]["branch"].as_str().unwrap_or_default().into()
    }

    fn gate(&self) -> Option<Value> {
        self.gh
            .rulesets_json(OWNER, NAME)
            .into_iter()
            .find(|r| r["name"].as_str().is_some_and(|n| n.contains("review gate on integration")))
    }

    fn index(&self) -> Option<Vec<u8>> {
        self.gh.site_file(OWNER, NAME, "index.yaml")
    }

    /// No sentinel in any output so far, in any file under `.git/rebranch/`, or in any
    /// request but in its `Authorization` header.
    fn assert_no_secret(&self) {
        for out in self.outputs.borrow().iter() {
            for t in [ADMIN, READ, WRITE] {
                assert!(!out.contains(t), "a token in the output:\n{out}");
            }
        }
        for path in walk(&self.s.clone.join(".git/rebranch")) {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            for t in [ADMIN, READ, WRITE] {
                assert!(!text.contains(t), "a token in {}", path.display());
            }
        }
        for r in self.gh.requests() {
            let leaked = r.path.contains("SENTINEL") || r.body.contains("SENTINEL");
            assert!(!leaked, "a token outside the header: {} {}", r.method, r.path);
            let ua = r.header("user-agent").unwrap_or_default();
            assert!(ua.starts_with("rebranch/") || ua == "maintainer", "{ua}");
        }
    }
}

#[test]
fn a_github_repository_migrates_with_nothing_served_going_down_and_rolls_back() {
    let h = hub();
    let index = h.index().expect("the site serves the index");
    let refs_before = ls_remote(&h.s.origin);
    let protection_before = h.gh.protection_json(OWNER, NAME, "charts");

    h.gh.clear_requests();
    let plan = h.run(&["plan"], Some(ADMIN), &[]).expect(0);
    let plan_trips = h.gh.requests().len();
    for expected in [
        "pull request #1 \"Release podinfo 1.2.0\": base: \"charts\" → \"release\"",
        "protection of `release` (copied from `charts`)",
        "GitHub Pages source",
        "review gate on `integration`",
        "protection of `charts` (released so it can be deleted)",
    ] {
        assert!(plan.stdout.contains(expected), "{expected} in:\n{}", plan.stdout);
    }

    h.gh.clear_requests();
    // Someone reads the Helm index all through the apply: it is never missing.
    let (stop, reads) = (std::sync::atomic::AtomicBool::new(false), std::sync::Mutex::new(0));
    let gh = &h.gh;
    let missing = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| {
            let mut missing = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                if gh.site_file(OWNER, NAME, "index.yaml").as_deref() != Some(index.as_slice()) {
                    missing += 1;
                }
                *reads.lock().unwrap() += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            missing
        });
        h.run(&["apply", "--yes"], Some(ADMIN), &[]).expect(0);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        watcher.join().unwrap()
    });
    let reads = *reads.lock().unwrap();
    assert!(reads > 10, "the site was read {reads} times during the apply");
    assert_eq!(missing, 0, "the index was missing or different {missing} of {reads} times");
    let recorded: Vec<_> =
        h.gh.requests().into_iter().filter(|r| !r.path.starts_with("/__pages/")).collect();
    let changes = recorded.iter().filter(|r| r.method != "GET").count();
    eprintln!(
        "GitHub round trips: plan {plan_trips}, apply {} ({changes} changes)",
        recorded.len()
    );
    // A few reads to plan; the apply plans again, then per step a read and a change.
    assert!(plan_trips <= 12, "plan: {plan_trips}");
    assert_eq!(
        changes,
        6,
        "{:?}",
        recorded.iter().map(|r| format!("{} {}", r.method, r.path)).collect::<Vec<_>>()
    );
    assert!(recorded.len() <= 2 * plan_trips + 16, "apply: {}", recorded.len());
    let heads = ls_remote(&h.s.origin);
    assert!(heads.contains_key("release") && !heads.contains_key("charts"), "{heads:?}");
    assert_eq!(h.base_of(1), "release", "the PR follows");
    assert_eq!(h.pages_branch(), "release", "the site follows");
    assert_eq!(h.index().as_deref(), Some(index.as_slice()), "the site still serves the index");
    let carried = h.gh.protection_json(OWNER, NAME, "release").expect("release is protected");
    assert_eq!(carried["enforce_admins"]["enabled"], true);
    let gate = h.gate().expect("the review gate");
    assert_eq!(gate["rules"][0]["parameters"]["required_approving_review_count"], 1);
    assert_eq!(gate["conditions"]["ref_name"]["include"], json!(["refs/heads/integration"]));

    // Again: nothing to do, on git or on GitHub; apply again changes nothing anywhere.
    let again = h.run(&["plan", "--detailed-exitcode"], Some(ADMIN), &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    h.run(&["status"], Some(ADMIN), &[]).expect(0);
    let refs = ls_remote(&h.s.origin);
    h.gh.clear_requests();
    h.run(&["apply", "--yes"], Some(ADMIN), &[]).expect(0);
    assert_eq!(ls_remote(&h.s.origin), refs);
    let writes: Vec<String> =
        h.gh.requests()
            .iter()
            .filter(|r| r.method != "GET")
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
    assert!(writes.is_empty(), "a second apply wrote {writes:?}");

    h.run(&["rollback", "--yes"], Some(ADMIN), &[]).expect(0);
    assert_eq!(ls_remote(&h.s.origin), refs_before, "every branch as before");
    assert_eq!(h.base_of(1), "charts");
    assert_eq!(h.pages_branch(), "charts");
    assert_eq!(h.gh.protection_json(OWNER, NAME, "charts"), protection_before);
    assert_eq!(h.gh.protection_json(OWNER, NAME, "release"), None);
    assert!(h.gate().is_none(), "the gate is gone");
    assert_eq!(h.index().as_deref(), Some(index.as_slice()));
    h.assert_no_secret();
}

#[test]
fn without_a_token_the_plan_names_what_it_cannot_do_and_refuses_to_take_the_site_down() {
    let h = hub();
    let before = ls_remote(&h.s.origin);
    let run = h.run(&["plan"], None, &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("GitHub Pages"), "{}", run.stderr);
    assert!(run.stderr.contains("github.pages=leave"), "{}", run.stderr);
    assert!(run.stderr.contains("go down"), "{}", run.stderr);
    // Told to go on, the site is no longer the reason to refuse.
    let leave = h.run(&["plan", "--set", "github.pages=leave"], None, &[]);
    assert!(!leave.stderr.contains("github.pages=leave"), "{}", leave.all());
    assert!(leave.all().contains("no token"), "{}", leave.all());
    assert_eq!(ls_remote(&h.s.origin), before);
    h.assert_no_secret();
}

#[test]
fn a_read_only_token_is_refused_before_any_change_and_says_which_permission() {
    let h = hub();
    let before = ls_remote(&h.s.origin);
    let run = h.run(&["apply", "--yes"], Some(READ), &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("admin"), "{}", run.stderr);
    assert_eq!(ls_remote(&h.s.origin), before, "nothing changed");
    assert_eq!(h.base_of(1), "charts");
    h.assert_no_secret();
}

#[test]
fn without_pages_and_protection_the_pull_request_still_follows_and_a_rate_limit_is_waited_out() {
    let h = served();
    h.gh.inject(GhFault::SecondaryRateLimit { times: 1, retry_after: Some(1) });
    let plan = h.run(&["plan"], Some(ADMIN), &[]).expect(0);
    assert!(!plan.stdout.contains("GitHub Pages source"), "404 Pages: no step");
    h.run(&["apply", "--yes"], Some(ADMIN), &[]).expect(0);
    assert_eq!(h.base_of(1), "release");
    h.assert_no_secret();
}

#[test]
fn a_rename_started_on_github_is_seen_and_the_plan_waits_for_it() {
    let h = hub();
    h.gh.set_rename_delay(1000);
    // Someone renames `charts` through GitHub meanwhile.
    let transport =
        rebranch::http::ReqwestTransport::new(rebranch::http::TransportOptions::default()).unwrap();
    use rebranch::http::Transport;
    let answer = transport
        .send(rebranch::http::HttpRequest {
            method: rebranch::http::Method::Post,
            url: format!("{}/repos/{OWNER}/{NAME}/branches/charts/rename", h.gh.base_url()),
            headers: vec![
                ("Authorization".into(), format!("Bearer {ADMIN}")),
                ("User-Agent".into(), "maintainer".into()),
            ],
            body: rebranch::http::Body::Json(json!({"new_name": "published"})),
        })
        .unwrap();
    assert_eq!(answer.status, 201);
    let before = ls_remote(&h.s.origin);
    let run = h.run(&["apply", "--yes"], Some(ADMIN), &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stderr.contains("rename is in progress"), "{}", run.stderr);
    assert_eq!(ls_remote(&h.s.origin), before);
}

/// Sends one API request as a person would, through the same transport.
fn api(gh: &GitHubStandIn, method: rebranch::http::Method, path: &str, body: Value) -> u16 {
    use rebranch::http::Transport;
    let transport =
        rebranch::http::ReqwestTransport::new(rebranch::http::TransportOptions::default()).unwrap();
    let answer = transport
        .send(rebranch::http::HttpRequest {
            method,
            url: format!("{}{path}", gh.base_url()),
            headers: vec![
                ("Authorization".into(), format!("Bearer {ADMIN}")),
                ("User-Agent".into(), "maintainer".into()),
            ],
            body: rebranch::http::Body::Json(body),
        })
        .unwrap();
    answer.status
}

#[test]
fn a_main_that_requires_pull_requests_gets_the_rewrite_through_one_and_apply_goes_on_after_the_merge()
 {
    let h = hub();
    h.gh.protect(
        OWNER,
        NAME,
        "main",
        json!({"required_status_checks": null, "enforce_admins": true,
               "required_pull_request_reviews": {"required_approving_review_count": 1},
               "restrictions": null}),
    );
    let main_before = ls_remote(&h.s.origin)["main"].clone();
    let plan = h.run(&["plan"], Some(ADMIN), &[]).expect(0);
    assert!(plan.stdout.contains("rebranch/ci-main"), "{}", plan.stdout);
    assert!(plan.stdout.contains("wait until `main` has the CI rewrite"), "{}", plan.stdout);

    let waiting = h.run(&["apply", "--yes"], Some(ADMIN), &[]);
    assert_eq!(waiting.code, 6, "{}", waiting.all());
    // The pull request itself is named, with its page.
    let page = format!("merge pull request #2 ({}/{OWNER}/{NAME}/pull/2)", h.gh.base_url());
    assert!(waiting.stderr.contains(&page), "{}", waiting.stderr);
    let heads = ls_remote(&h.s.origin);
    assert_eq!(heads["main"], main_before, "main only through the pull request");
    assert!(heads.contains_key("rebranch/ci-main") && heads.contains_key("charts"));
    let pull = h.gh.pull_json(OWNER, NAME, 2);
    assert_eq!(
        (pull["head"]["ref"].as_str(), pull["base"]["ref"].as_str()),
        (Some("rebranch/ci-main"), Some("main"))
    );

    // Not merged yet: apply waits again, and changes nothing.
    let again = h.run(&["apply", "--yes"], Some(ADMIN), &[]);
    assert_eq!(again.code, 6, "{}", again.all());

    // A maintainer squash-merges it; apply goes on from main as merged.
    let merged = api(
        &h.gh,
        rebranch::http::Method::Put,
        &format!("/repos/{OWNER}/{NAME}/pulls/2/merge"),
        json!({"merge_method": "squash"}),
    );
    assert_eq!(merged, 200);
    let main_merged = ls_remote(&h.s.origin)["main"].clone();
    assert_ne!(main_merged, main_before);
    h.run(&["apply", "--yes"], Some(ADMIN), &[]).expect(0);
    let heads = ls_remote(&h.s.origin);
    assert_eq!(heads["main"], main_merged, "nothing more pushed to main");
    assert_eq!(heads["integration"], main_merged, "integration from main as merged");
    assert!(!heads.contains_key("charts") && heads.contains_key("release"));
    let again = h.run(&["plan", "--detailed-exitcode"], Some(ADMIN), &[]);
    assert_eq!(again.code, 0, "{}", again.all());

    // Rollback: everything but the merged rewrite, which is named.
    let rolled = h.run(&["rollback", "--yes"], Some(ADMIN), &[]).expect(0);
    assert!(rolled.all().contains("merged through its review: it stays"), "{}", rolled.all());
    let heads = ls_remote(&h.s.origin);
    assert_eq!(heads["main"], main_merged);
    assert!(heads.contains_key("charts"), "{heads:?}");
    for gone in ["release", "integration", "rebranch/ci-main"] {
        assert!(!heads.contains_key(gone), "{gone}: {heads:?}");
    }
    assert_eq!(h.base_of(1), "charts");
    assert_eq!(h.pages_branch(), "charts");
    h.assert_no_secret();
}

#[test]
fn a_batch_carries_github_per_repository() {
    let h = hub();
    let resolve: Vec<String> =
        rebranch::demo::SAMPLE_RESOLUTIONS.iter().map(|r| format!("{r:?}")).collect();
    let file = h.s.dir.path().join("repos.toml");
    std::fs::write(
        &file,
        format!(
            "[[repo]]\nname = \"charts-repo\"\npath = {:?}\nresolve = [{}]\nset = {{ \"github.repository\" = \"{OWNER}/{NAME}\" }}\n",
            h.s.clone.display().to_string(),
            resolve.join(", ")
        ),
    )
    .unwrap();
    let base = h.gh.base_url();
    let env = [
        ("GITHUB_API_URL", base.as_str()),
        ("GH_TOKEN", ADMIN),
        ("REBRANCH_PAGES_POLL_MS", "20"),
        ("REBRANCH_GITHUB_MUTATION_GAP_MS", "0"),
    ];
    let dir = h.s.dir.path();
    let args = ["batch", "apply", "--yes", "--repos", file.to_str().unwrap()];
    let run = crate::support::rebranch_env(dir, dir, &args, &env);
    h.outputs.borrow_mut().push(run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(h.base_of(1), "release");
    assert_eq!(h.pages_branch(), "release");
    assert!(h.gate().is_some());
    let args = ["batch", "rollback", "--yes", "--repos", file.to_str().unwrap()];
    let run = crate::support::rebranch_env(dir, dir, &args, &env);
    h.outputs.borrow_mut().push(run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!((h.base_of(1), h.pages_branch()), ("charts".to_string(), "charts".to_string()));
    assert!(h.gate().is_none());
    h.assert_no_secret();
}

#[test]
fn split_opens_a_pull_request_per_chart_branch_and_its_rollback_closes_them() {
    let h = hub();
    // Without the review gate, so the teammate below can push to integration directly.
    let apply = ["apply", "--yes", "--set", "github.integration_approvals=0"];
    h.run(&apply, Some(ADMIN), &[]).expect(0);
    let sample = rebranch::demo::Sample { clone: h.s.clone.clone(), origin: h.s.origin.clone() };
    rebranch::demo::change_two_charts(&sample).unwrap();
    let split = h.run(&["split", "--yes"], Some(ADMIN), &[]).expect(0);
    assert!(
        split.all().contains("pull request from `chart/podinfo-lite` into `main`"),
        "{}",
        split.all()
    );
    let opened = |head: &str| {
        (2..=3)
            .map(|n| h.gh.pull_json(OWNER, NAME, n))
            .find(|p| p["head"]["ref"] == head)
            .unwrap_or_else(|| panic!("a pull request from {head}"))
    };
    for head in ["chart/podinfo-lite", "chart/redis-cache"] {
        let p = opened(head);
        assert_eq!((p["base"]["ref"].as_str(), p["state"].as_str()), (Some("main"), Some("open")));
    }
    // Split again: the branches are up to date and their pull requests open: nothing to do.
    let again = h.run(&["split", "--dry-run", "--detailed-exitcode"], Some(ADMIN), &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    // The split's rollback deletes the chart branches and closes their pull requests.
    h.run(&["rollback", "--yes"], Some(ADMIN), &[]).expect(0);
    for head in ["chart/podinfo-lite", "chart/redis-cache"] {
        assert_eq!(opened(head)["state"], "closed", "{head}");
        assert!(!ls_remote(&h.s.origin).contains_key(head));
    }
    h.assert_no_secret();
}

/// A saved plan records the GitHub settings it read: without a token it stops before any
/// change, on the first setting it cannot read, naming the token to set; with a setting changed since, it is refused naming the
/// setting; as it was, it applies.
#[test]
fn a_saved_plan_checks_its_github_settings_before_any_change() {
    let h = hub();
    let path = h.s.dir.path().join("plan.json");
    let file = path.to_str().unwrap();
    h.run(&["plan", "--out", file], Some(ADMIN), &[]).expect(0);
    let heads = ls_remote(&h.s.origin);

    let run = h.run(&["apply", file], None, &[]);
    assert_ne!(run.code, 0, "{}", run.all());
    assert!(run.stderr.contains("set GH_TOKEN"), "{}", run.stderr);
    assert_eq!(ls_remote(&h.s.origin), heads, "nothing ran");

    h.gh.enable_pages(OWNER, NAME, "main", "/", Some("charts.example.org"));
    let run = h.run(&["apply", file], Some(ADMIN), &[]).expect(3);
    assert!(run.stderr.contains("refused: the repository changed since"), "{}", run.stderr);
    assert!(run.stderr.contains("setting github acme/helm-charts pages/source"), "{}", run.stderr);
    assert_eq!(ls_remote(&h.s.origin), heads, "nothing ran");
    assert!(h.gh.requests().iter().all(|r| r.method == "GET"), "no change on GitHub");

    h.gh.enable_pages(OWNER, NAME, "charts", "/", Some("charts.example.org"));
    h.run(&["apply", file], Some(ADMIN), &[]).expect(0);
    assert_eq!(h.pages_branch(), "release");
    h.assert_no_secret();
}
