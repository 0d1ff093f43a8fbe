//! The Cloudflare Pages step end to end: the binary talks over a real socket to the
//! library's stateful stand-in of the Pages API, which follows the official contract.

use rebranch_standin::cloudflare::{Fault, FaultKind, StandIn, StandInProject, TokenRule};

use crate::support::{Run, Sandbox};

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const PROJECT: &str = "acme-helm-charts";
/// A sentinel: it must never appear in any output, plan file or journal.
const TOKEN: &str = "cfut_SENTINEL_7f3a9c2e5b_do_not_print";
const READ_TOKEN: &str = "cfut_READONLY_SENTINEL_11aa";

struct Pages {
    standin: StandIn,
    base: String,
}

impl Pages {
    fn git() -> Pages {
        Pages::with(StandInProject::git(ACCOUNT, PROJECT, "charts"))
    }

    fn with(project: StandInProject) -> Pages {
        let standin = StandIn::start(
            vec![project],
            vec![TokenRule::edit(TOKEN), TokenRule::read(READ_TOKEN)],
        )
        .unwrap();
        let base = standin.base_url();
        Pages { standin, base }
    }

    fn run(&self, s: &Sandbox, args: &[&str]) -> Run {
        self.run_as(s, args, TOKEN)
    }

    fn run_as(&self, s: &Sandbox, args: &[&str], token: &str) -> Run {
        let mut all = args.to_vec();
        all.extend(["--set", "cloudflare.project=acme-helm-charts"]);
        s.rebranch_env(
            &all,
            &[
                ("CLOUDFLARE_API_BASE_URL", &self.base),
                ("CLOUDFLARE_API_TOKEN", token),
                ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT),
                ("REBRANCH_PAGES_POLL_MS", "20"),
            ],
        )
    }

    /// `(production_branch, source.config.production_branch)` as the stand-in holds them.
    fn branches(&self) -> (String, Option<String>) {
        let state = self.standin.state();
        let p = &state.project(ACCOUNT, PROJECT).unwrap().project;
        let top = p["production_branch"].as_str().unwrap().to_string();
        let source = p["source"]["config"]["production_branch"].as_str().map(str::to_string);
        (top, source)
    }

    fn canonical(&self) -> Option<String> {
        self.standin.state().project(ACCOUNT, PROJECT).unwrap().canonical_deployment_id.clone()
    }
}

#[test]
fn plan_shows_the_pages_change_beside_the_git_changes() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let run = p.run(&s, &["plan"]).expect(0);
    let out = &run.stdout;
    let release = out.find("+ origin/release").unwrap();
    let pages = out.find("~ cloudflare acme-helm-charts").unwrap();
    let delete = out.find("- origin/charts").unwrap();
    assert!(release < pages && pages < delete, "ADR-002 order: {out}");
    assert!(out.contains("    production_branch: \"charts\" → \"release\""), "{out}");
    assert!(out.contains("source.config.production_branch: \"charts\" → \"release\""), "{out}");
    assert!(
        out.contains("then deploy from `release` and wait until it serves production"),
        "{out}"
    );
    assert!(!out.contains("no cloudflare.project set"), "{out}");
}

#[test]
fn apply_switches_verifies_and_rollback_restores_exactly() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let before = (p.branches(), p.canonical());
    let remote = s.remote_heads();
    p.run(&s, &["apply", "--yes"]).expect(0);
    assert_eq!(p.branches(), ("release".to_string(), Some("release".to_string())));
    let state = p.standin.state();
    let project = state.project(ACCOUNT, PROJECT).unwrap();
    let live = project
        .deployments
        .iter()
        .find(|d| Some(d.id()) == project.canonical_deployment_id.as_deref());
    let live = live.expect("a live production deployment");
    assert_eq!(live.value["environment"], "production");
    assert_eq!(live.value["deployment_trigger"]["metadata"]["branch"], "release");

    let again = p.run(&s, &["apply", "--yes"]).expect(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    let patches = |p: &Pages| p.standin.requests().iter().filter(|r| r.method == "PATCH").count();
    assert_eq!(patches(&p), 1, "one PATCH in all");

    p.run(&s, &["rollback", "--yes"]).expect(0);
    assert_eq!((p.branches(), p.canonical()), before, "both fields and the deployment are back");
    assert_eq!(s.remote_heads(), remote);
}

#[test]
fn direct_upload_project_switches_without_source() {
    let s = Sandbox::new();
    let p = Pages::with(StandInProject::direct_upload(ACCOUNT, PROJECT, "charts"));
    p.run(&s, &["apply", "--yes", "--no-verify"]).expect(0);
    assert_eq!(p.branches(), ("release".to_string(), None));
    let patch = p.standin.requests().into_iter().find(|r| r.method == "PATCH").unwrap();
    let body: serde_json::Value = serde_json::from_str(&patch.body).unwrap();
    assert_eq!(body, serde_json::json!({"production_branch": "release"}));
}

#[test]
fn the_journal_records_the_unverified_switch_that_ran() {
    let s = Sandbox::new();
    let p = Pages::with(StandInProject::direct_upload(ACCOUNT, PROJECT, "charts"));
    p.run(&s, &["apply", "--yes", "--no-verify"]).expect(0);
    let journals = walk(&s.clone.join(".git/rebranch/journal"));
    assert_eq!(journals.len(), 1, "{journals:?}");
    let text = std::fs::read_to_string(&journals[0]).unwrap();
    let begin: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let pages: Vec<&serde_json::Value> = begin["plan"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "setting" && s["service"] == "cloudflare")
        .collect();
    assert_eq!(pages.len(), 1, "{}", begin["plan"]["actions"]);
    let then = &pages[0]["then"];
    assert!(then.is_null(), "the plan that ran, not the one before --no-verify: {then}");
}

#[test]
fn unknown_project_is_one_clear_error_before_any_change() {
    let s = Sandbox::new();
    let p = Pages::with(StandInProject::git(ACCOUNT, "other-project", "charts"));
    let before = s.remote_heads();
    let run = p.run(&s, &["apply", "--yes"]).expect(1);
    assert!(run.stderr.contains("acme-helm-charts"), "{}", run.stderr);
    assert!(run.stderr.contains(ACCOUNT), "{}", run.stderr);
    assert!(run.stderr.contains("other-project"), "lists what exists: {}", run.stderr);
    assert_eq!(run.stderr.matches("error:").count(), 1, "{}", run.stderr);
    assert_eq!(s.remote_heads(), before);
}

#[test]
fn bad_token_is_one_clear_error_before_any_change() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let before = s.remote_heads();
    let run = p.run_as(&s, &["plan"], "cfut_wrong_token").expect(1);
    assert!(run.stderr.to_lowercase().contains("token"), "{}", run.stderr);
    assert_eq!(s.remote_heads(), before);
}

#[test]
fn read_only_token_stops_at_the_pages_step_and_rollback_undoes() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let before = s.remote_heads();
    let run = p.run_as(&s, &["apply", "--yes"], READ_TOKEN).expect(5);
    assert!(run.stderr.contains("apply stopped at step 2"), "{}", run.stderr);
    assert!(run.stderr.contains("Edit"), "names the missing permission: {}", run.stderr);
    assert!(run.stderr.contains("done: step 1"), "{}", run.stderr);
    assert_eq!(p.branches().0, "charts");
    assert!(s.remote_heads().contains_key("charts"), "charts is still there");
    p.run(&s, &["rollback", "--yes"]).expect(0);
    assert_eq!(s.remote_heads(), before);
}

#[test]
fn rate_limit_then_success_completes() {
    let (s, p) = (Sandbox::new(), Pages::git());
    p.standin.inject(Fault::new(
        Some("PATCH"),
        "",
        FaultKind::RateLimit { retry_after_secs: Some(1) },
        Some(1),
    ));
    p.run(&s, &["apply", "--yes"]).expect(0);
    assert_eq!(p.branches().0, "release");
}

#[test]
fn server_errors_then_success_completes() {
    let (s, p) = (Sandbox::new(), Pages::git());
    p.standin.inject(Fault::new(
        Some("GET"),
        "/projects/",
        FaultKind::ServerError { status: 503 },
        Some(2),
    ));
    p.run(&s, &["apply", "--yes"]).expect(0);
    assert_eq!(p.branches().0, "release");
}

#[test]
fn server_errors_forever_stop_with_exit_5_and_nothing_else_half_done() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let before = s.remote_heads();
    p.standin.inject(Fault::new(Some("PATCH"), "", FaultKind::ServerError { status: 500 }, None));
    let run = p.run(&s, &["apply", "--yes"]).expect(5);
    assert!(run.stderr.contains("apply stopped at step 2"), "{}", run.stderr);
    assert!(run.stderr.contains("journal:"), "{}", run.stderr);
    let after = s.remote_heads();
    assert_eq!(after.get("main"), before.get("main"), "the CI commit did not happen");
    assert!(after.contains_key("charts") && !after.contains_key("integration"));
    assert_eq!(p.branches().0, "charts");
    p.standin.clear_faults();
    p.run(&s, &["apply"]).expect(0);
    assert_eq!(p.branches().0, "release");
}

#[test]
fn token_never_appears_in_output_plan_file_or_journal() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let plan_path = s.dir.path().join("plan.json");
    let mut outputs = vec![
        p.run(&s, &["plan", "--out", plan_path.to_str().unwrap(), "-v"]).expect(0).all(),
        p.run(&s, &["plan", "--format", "json"]).expect(0).all(),
        p.run(&s, &["apply", plan_path.to_str().unwrap(), "-v"]).expect(0).all(),
        p.run(&s, &["status", "--format", "json"]).expect(0).all(),
        p.run(&s, &["rollback", "--yes"]).expect(0).all(),
    ];
    p.standin.inject(Fault::new(Some("GET"), "", FaultKind::ServerError { status: 500 }, None));
    outputs.push(p.run(&s, &["plan"]).all());
    for out in &outputs {
        assert!(!out.contains(TOKEN), "token in output: {out}");
    }
    let mut files = vec![plan_path.clone()];
    for entry in walk(&s.clone.join(".git/rebranch")) {
        files.push(entry);
    }
    assert!(files.len() > 1, "a journal was written");
    for f in files {
        let text = std::fs::read(&f).unwrap();
        assert!(!String::from_utf8_lossy(&text).contains(TOKEN), "token in {}", f.display());
    }
    let seen = p.standin.requests();
    assert!(!seen.is_empty());
    for r in seen {
        assert!(!format!("{:?}{}", r.headers, r.body).contains(TOKEN));
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// Serves one body for every GET on loopback, as the Helm repository's host would.
fn serve(body: Vec<u8>) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&body);
        }
    });
    url
}

#[test]
fn served_index_is_checked_against_the_release_branch() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let index = rebranch::demo::files("charts")
        .into_iter()
        .find(|(path, _)| *path == "index.yaml")
        .unwrap()
        .1;
    let good = serve(index.to_vec());
    let run = p.run(&s, &["apply", "--yes", "--set", &format!("helm_repo_url={good}")]).expect(0);
    let check = format!("then {good}/index.yaml must serve index.yaml of release");
    assert!(run.stdout.contains(&check), "{}", run.stdout);
}

#[test]
fn stale_served_index_stops_the_apply() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let stale = serve(b"apiVersion: v1\nentries: {}\n".to_vec());
    let run = p.run(&s, &["apply", "--yes", "--set", &format!("helm_repo_url={stale}")]).expect(5);
    assert!(
        run.stderr.contains("does not serve the index.yaml of `origin/release`"),
        "{}",
        run.stderr
    );
    assert!(s.remote_heads().contains_key("charts"), "charts kept while the index is wrong");
}

/// A journal written before the Pages switch was a setting of the services seam holds it
/// as a step of kind `pages`: such a run still rolls back exactly.
#[test]
fn a_journal_with_the_older_pages_step_still_rolls_back() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let before = (p.branches(), p.canonical());
    let remote = s.remote_heads();
    p.run(&s, &["apply", "--yes"]).expect(0);
    let journals = walk(&s.clone.join(".git/rebranch/journal"));
    let path = journals.iter().find(|p| p.extension().is_some_and(|e| e == "jsonl")).unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let actions = lines[0]["plan"]["actions"].as_array_mut().unwrap();
    let step = actions.iter_mut().find(|s| s["service"] == "cloudflare").expect("the switch");
    let fields = |v: &serde_json::Value| {
        serde_json::json!({
            "production_branch": v["production_branch"],
            "source_production_branch": v["source.config.production_branch"],
            "preview_branch_includes": v["source.config.preview_branch_includes"],
            "preview_branch_excludes": v["source.config.preview_branch_excludes"],
        })
    };
    *step = serde_json::json!({
        "id": step["id"],
        "summary": step["summary"],
        "kind": "pages",
        "remote": "origin",
        "switch": {
            "account_id": ACCOUNT,
            "project": PROJECT,
            "from": "charts",
            "to": "release",
            "source_type": "github",
            "before": fields(&step["from"]),
            "after": fields(&step["to"]),
            "canonical_deployment": step["record"]["deployment"],
            "notes": [],
        },
        "verify": true,
    });
    std::fs::write(path, rechain(lines)).unwrap();

    p.run(&s, &["rollback", "--yes"]).expect(0);
    assert_eq!((p.branches(), p.canonical()), before, "both fields and the deployment are back");
    assert_eq!(s.remote_heads(), remote);
}

/// Journal lines again, each naming the one before it by its git blob id, as written.
fn rechain(lines: Vec<serde_json::Value>) -> String {
    let mut out = String::new();
    let mut prev: Option<String> = None;
    for mut v in lines {
        let o = v.as_object_mut().unwrap();
        o.remove("prev");
        if let Some(p) = &prev {
            o.insert("prev".into(), p.clone().into());
        }
        let line = serde_json::to_string(&v).unwrap();
        let hash = std::process::Command::new("git")
            .args(["hash-object", "--stdin"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(line.as_bytes())?;
                c.wait_with_output()
            })
            .unwrap();
        prev = Some(String::from_utf8(hash.stdout).unwrap().trim().to_string());
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A saved plan records the Pages settings it read; a project changed since is named and
/// nothing runs.
#[test]
fn a_saved_plan_is_refused_when_the_project_changed_since() {
    let (s, p) = (Sandbox::new(), Pages::git());
    let path = s.dir.path().join("plan.json");
    p.run(&s, &["plan", "--out", path.to_str().unwrap()]).expect(0);
    p.standin.with_state(|st| {
        let project = st.projects.iter_mut().find(|p| p.name() == PROJECT).unwrap();
        project.project["production_branch"] = "gh-pages".into();
    });
    let heads = s.remote_heads();
    let run = p.run(&s, &["apply", path.to_str().unwrap()]).expect(3);
    assert!(run.stderr.contains("refused: the repository changed since"), "{}", run.stderr);
    assert!(
        run.stderr.contains("setting cloudflare acme-helm-charts pages/branches"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"production_branch\":\"gh-pages\""), "{}", run.stderr);
    assert_eq!(s.remote_heads(), heads, "nothing ran");
    assert!(p.standin.requests().iter().all(|r| r.method == "GET"), "no change to the project");
}
