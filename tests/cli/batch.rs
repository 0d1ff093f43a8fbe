//! `rebranch batch`: a fleet of repositories of different shapes planned and applied in
//! one run, checked against each origin with `git ls-remote`; idempotence; an interrupted
//! batch completed by a rerun; `--only failed` after a fix; refusals and exit codes.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::support::fleet::{self, ACCOUNT, Fleet, PROJECT};
use crate::support::{git, ls_remote};

/// Repository → (its stable branch, its publishing branch before the migration).
const SHAPES: [(&str, &str, &str); 7] = [
    ("standard", "main", "charts"),
    ("no-pages", "main", "charts"),
    ("gh-pages", "main", "gh-pages"),
    ("master", "master", "charts"),
    ("gitlab", "main", "charts"),
    ("half", "main", "charts"),
    ("broken", "main", "charts"),
];

/// Asserts that `after` is the ADR-002 end state of `before`: `release` holds the old
/// publishing tip, `main` gained exactly the CI commit, `integration` is at it, and the
/// publishing branch is gone.
#[track_caller]
fn assert_migrated(
    name: &str,
    main: &str,
    publish: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    origin: &std::path::Path,
) {
    assert_eq!(after.get("release"), before.get(publish), "{name}: release holds {publish}'s tip");
    assert!(!after.contains_key(publish), "{name}: {publish} is deleted: {after:?}");
    let new_main = after.get(main).unwrap_or_else(|| panic!("{name}: {main} exists"));
    assert_ne!(Some(new_main), before.get(main), "{name}: the CI rewrite is on {main}");
    let parent = git(origin, &["rev-parse", &format!("{new_main}^")]);
    assert_eq!(Some(parent.trim()), before.get(main).map(String::as_str), "{name}: one commit");
    assert_eq!(after.get("integration"), Some(new_main), "{name}: integration from {main}");
    let keys: Vec<&String> = after.keys().collect();
    assert_eq!(keys, ["integration", main, "release"], "{name}: exactly the ADR-002 branches");
    git(origin, &["fsck", "--no-progress"]);
}

#[test]
fn a_fleet_is_planned_applied_reported_and_rerun() {
    let f = Fleet::new();
    let before = f.heads();

    let plan = f.batch(&["plan", "--detailed-exitcode"]).expect(1);
    let results = f.results();
    assert_eq!(results["migrated"], "already_migrated", "{}", plan.stdout);
    assert_eq!(results["broken"], "failed", "{}", plan.stdout);
    for name in ["standard", "no-pages", "gh-pages", "master", "gitlab", "half"] {
        assert_eq!(results[name], "pending", "{name}: {}", plan.stdout);
    }
    let changes = |name: &str| {
        let report = f.report();
        let repo = report["repos"].as_array().unwrap().iter().find(|r| r["name"] == name).cloned();
        repo.unwrap()["changes"].as_u64().unwrap()
    };
    assert!(changes("half") < changes("no-pages"), "release already exists in `half`");
    assert_eq!(f.heads(), before, "plan changes nothing");

    let apply = f.batch(&["apply", "--yes", "--jobs", "3"]).expect(5);
    let results = f.results();
    for (name, _, _) in SHAPES.iter().filter(|s| s.0 != "broken") {
        assert_eq!(results[*name], "migrated", "{name}: {}{}", apply.stdout, apply.stderr);
    }
    assert_eq!(results["migrated"], "already_migrated");
    assert_eq!(results["broken"], "failed");

    // The report against each origin, with the git CLI.
    let after = f.heads();
    for (name, main, publish) in SHAPES.iter().filter(|s| s.0 != "broken") {
        let m = f.member(name);
        assert_migrated(name, main, publish, &before[name], &after[name], &m.origin);
    }
    assert_eq!(after["migrated"], before["migrated"], "an already migrated repo is untouched");
    assert_eq!(after["broken"], before["broken"], "the broken repo is untouched");
    let state = f.pages.state();
    let project = &state.project(ACCOUNT, PROJECT).unwrap().project;
    assert_eq!(project["production_branch"], "release", "the one Pages project followed");

    let report = f.report();
    assert_eq!(report["format_version"], 1);
    assert_eq!(report["command"], "apply");
    for repo in report["repos"].as_array().unwrap() {
        let name = repo["name"].as_str().unwrap();
        let path = repo["path"].as_str().unwrap();
        assert_eq!(path, f.member(name).clone.display().to_string(), "{name}");
        match repo["result"].as_str().unwrap() {
            "migrated" => {
                assert!(repo["changes"].as_u64().unwrap() >= 4, "{repo}");
                assert!(repo["error"].is_null(), "{repo}");
            }
            "already_migrated" => assert_eq!(repo["changes"], 0, "{repo}"),
            "failed" => {
                let error = repo["error"].as_str().unwrap();
                assert!(error.contains("127.0.0.1"), "names the unreachable remote: {error}");
                assert!(!error.contains('\n'), "{error}");
            }
            other => panic!("{name}: unexpected result {other}"),
        }
    }
    let table = &apply.stdout;
    assert!(table.starts_with("REPOSITORY"), "{table}");
    assert!(table.contains("8 repositories: "), "{table}");
    assert!(table.lines().any(|l| l.starts_with("broken") && l.contains("failed")), "{table}");
    assert!(!apply.all().contains(fleet::TOKEN), "the token stays secret");

    // The gitlab repository was cloned into the work directory, and its clone followed.
    let gitlab = &f.member("gitlab").clone;
    assert!(gitlab.join(".git").exists());
    let ci = git(gitlab, &["show", "origin/main:.gitlab-ci.yml"]);
    assert!(ci.contains("    - release\n") && ci.contains("helm lint charts/app"), "{ci}");

    // --only failed, after the broken repository's remote is fixed, runs just that one.
    f.fix_broken();
    let broken_before = ls_remote(&f.member("broken").origin);
    let only = f.batch(&["apply", "--yes", "--only", "failed", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&only.stdout).expect("JSON on stdout");
    assert_eq!(doc, f.report(), "--format json prints the report");
    let results = f.results();
    assert_eq!(results["broken"], "migrated", "{}", only.stdout);
    for (name, result) in &results {
        if name != "broken" {
            assert_eq!(result, "skipped", "{name} did not run again");
        }
    }
    let m = f.member("broken");
    assert_migrated("broken", "main", "charts", &broken_before, &ls_remote(&m.origin), &m.origin);

    // A second apply does nothing.
    let settled = f.heads();
    let patches = f.pages.requests().iter().filter(|r| r.method == "PATCH").count();
    let again = f.batch(&["apply", "--yes"]).expect(0);
    assert!(f.results().values().all(|r| r == "already_migrated"), "{}", again.stdout);
    assert!(again.stdout.contains("8 repositories: 8 already migrated."), "{}", again.stdout);
    assert_eq!(f.heads(), settled);
    assert_eq!(f.pages.requests().iter().filter(|r| r.method == "PATCH").count(), patches);
    f.batch(&["plan", "--detailed-exitcode"]).expect(0);
    f.batch(&["status", "--detailed-exitcode"]).expect(0);
}

#[test]
fn an_interrupted_batch_is_completed_by_a_rerun() {
    let f = Fleet::new();
    f.fix_broken();
    let before = f.heads();
    let mut child = f
        .command(&["apply", "--yes", "--jobs", "1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start rebranch batch apply");
    let report = f.workdir.join("rebranch-batch-report.json");
    let deadline = Instant::now() + Duration::from_secs(120);
    let finished = |text: &str| text.matches("\"result\": \"migrated\"").count();
    loop {
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        if finished(&text) >= 1 {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the batch ended before it was killed");
        assert!(Instant::now() < deadline, "no repository finished in time");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(child.try_wait().unwrap().is_none(), "still running when killed");
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let killed = f.results();
    assert!(killed.values().any(|r| r == "pending"), "killed part way: {killed:?}");
    // A kill in the middle of a ref or config write leaves git's lock file (in the clone,
    // or in a local-path remote, which a served remote would clean up itself); the next run
    // names it, and it is removed here as git's own message advises.
    for (name, _, _) in SHAPES {
        let m = f.member(name);
        remove_git_locks(&m.origin.join("refs"));
        remove_git_locks(&m.clone.join(".git"));
    }

    let rerun = f.batch(&["apply", "--yes"]).expect(0);
    let results = f.results();
    for (name, result) in &results {
        let want = if name == "migrated" || killed[name] == "migrated" {
            "already_migrated"
        } else {
            "migrated"
        };
        assert_eq!(result, want, "{name}: {}{}", rerun.stdout, rerun.stderr);
    }
    let after = f.heads();
    for (name, main, publish) in SHAPES {
        let m = f.member(name);
        assert_migrated(name, main, publish, &before[name], &after[name], &m.origin);
    }
    let status = f.batch(&["status", "--detailed-exitcode", "--format", "json"]).expect(0);
    assert!(!status.stdout.contains("stopped part way"), "{}", status.stdout);
}

#[test]
fn a_crash_part_way_is_completed_by_a_rerun() {
    let f = Fleet::new();
    f.fix_broken();
    let before = f.heads();
    let crashed = f
        .command(&["apply", "--yes", "--jobs", "2"])
        .env("REBRANCH_FAULT", "crash-after:2")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "the process aborted");
    assert!(f.results().values().any(|r| r == "pending"), "{:?}", f.results());
    let stopped = f.batch(&["status", "--format", "json"]).expect(0);
    assert!(stopped.stdout.contains("an apply stopped part way"), "{}", stopped.stdout);

    let rerun = f.batch(&["apply", "--yes"]).expect(0);
    assert!(rerun.stderr.contains("took over the lock"), "{}", rerun.stderr);
    let after = f.heads();
    for (name, main, publish) in SHAPES {
        let m = f.member(name);
        assert_migrated(name, main, publish, &before[name], &after[name], &m.origin);
    }
    f.batch(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn unresolved_review_items_mark_the_repository_not_the_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (open, open_origin) = fleet::sample(dir.path(), "open");
    let (decided, decided_origin) = fleet::sample(dir.path(), "decided");
    let resolve: Vec<String> =
        rebranch::demo::SAMPLE_RESOLUTIONS.iter().map(|r| format!("{r:?}")).collect();
    let file = dir.path().join("repos.toml");
    std::fs::write(
        &file,
        format!(
            "[[repo]]\nname = \"open\"\npath = {:?}\n\n[[repo]]\nname = \"decided\"\npath = {:?}\nresolve = [{}]\n",
            open.display().to_string(),
            decided.display().to_string(),
            resolve.join(", ")
        ),
    )
    .unwrap();
    let before = ls_remote(&open_origin);
    let run = crate::support::rebranch_in(
        dir.path(),
        dir.path(),
        &["batch", "apply", "--yes", "--repos", file.to_str().unwrap()],
    )
    .expect(4);
    assert!(
        run.stdout.lines().any(|l| l.starts_with("open ") && l.contains("needs review")),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("3 occurrence(s) in CI files need review"), "{}", run.stdout);
    assert_eq!(ls_remote(&open_origin), before, "not applied");
    assert!(ls_remote(&decided_origin).contains_key("release"), "the other one was applied");
}

#[test]
fn refusals_and_bad_batch_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (clone, origin) = fleet::sample(dir.path(), "one");
    let file = dir.path().join("repos.toml");
    std::fs::write(&file, format!("[[repo]]\npath = {:?}\n", clone.display().to_string())).unwrap();
    let run = |args: &[&str]| crate::support::rebranch_in(dir.path(), dir.path(), args);
    let before = ls_remote(&origin);

    let no = run(&["batch", "apply", "--repos", file.to_str().unwrap()]).expect(1);
    assert!(no.stderr.contains("pass --yes"), "{}", no.stderr);
    assert_eq!(ls_remote(&origin), before);

    let only =
        run(&["batch", "plan", "--repos", file.to_str().unwrap(), "--only", "failed"]).expect(1);
    assert!(only.stderr.contains("no report of an earlier batch"), "{}", only.stderr);

    std::fs::write(&file, "[[repo]]\npath = \"a\"\nbranch = \"x\"\n").unwrap();
    let bad = run(&["batch", "plan", "--repos", file.to_str().unwrap()]).expect(1);
    assert!(
        bad.stderr.contains("repos.toml:3:1: unknown key `branch`"),
        "file:line:column: {}",
        bad.stderr
    );
    run(&["batch", "plan", "--repos", file.to_str().unwrap(), "--jobs", "0"]).expect(64);
    let repo = run(&["batch", "plan", "--repo", "elsewhere", "--repos", file.to_str().unwrap()]);
    let repo = repo.expect(64);
    assert!(repo.stderr.contains("--repo elsewhere names one repository"), "{}", repo.stderr);
    let help = run(&["batch", "--help"]).expect(0);
    assert!(help.stdout.contains("[[repo]]") && help.stdout.contains("Exit codes:"));
}

fn remove_git_locks(dir: &std::path::Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_git_locks(&path);
        } else if path.extension().is_some_and(|x| x == "lock") && !path.ends_with("rebranch/lock")
        {
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// The report a shard wrote, as JSON.
fn shard_report(f: &Fleet, i: u32, n: u32) -> serde_json::Value {
    let path = f.workdir.join(format!("rebranch-batch-report.shard-{i}-of-{n}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("a shard's report is JSON")
}

#[test]
fn three_shards_merge_into_the_unsharded_report() {
    // With this fleet's names the split is 0/5/3: an empty shard is merged too.
    let f = Fleet::new();
    let whole = f.batch(&["plan"]).expect(1);
    let unsharded = f.report();

    let mut reports = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for i in 1..=3u32 {
        let shard = format!("{i}/3");
        let mut args = vec!["plan", "--shard", &shard];
        // One shard names its report itself; the others take the default name.
        let named = f.dir.path().join("shard-two.json");
        if i == 2 {
            args.extend(["--report", named.to_str().unwrap()]);
        }
        let run = f.batch(&args);
        let report = if i == 2 {
            serde_json::from_str(&std::fs::read_to_string(&named).unwrap()).unwrap()
        } else {
            shard_report(&f, i, 3)
        };
        let names: Vec<String> = report["repos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        let has_broken = names.iter().any(|n| n == "broken");
        assert_eq!(run.code, if has_broken { 1 } else { 0 }, "shard {shard}: {}", run.stdout);
        assert_eq!(report["shard"], serde_json::json!({"index": i, "count": 3}));
        assert_eq!(report["command"], "plan");
        seen.extend(names);
        reports.push(if i == 2 {
            named
        } else {
            f.workdir.join(format!("rebranch-batch-report.shard-{i}-of-3.json"))
        });
    }
    seen.sort();
    let mut all: Vec<String> = f.members.iter().map(|m| m.name.to_string()).collect();
    all.sort();
    assert_eq!(seen, all, "every repository in exactly one shard");

    let paths: Vec<&str> = reports.iter().map(|p| p.to_str().unwrap()).collect();
    let mut merge = vec!["report", "--merge"];
    merge.extend(&paths);
    let mut json_args = merge.clone();
    json_args.extend(["--format", "json"]);
    let merged = crate::support::fleet::rebranch_in(
        &f,
        f.dir.path(),
        &["batch"].iter().chain(&json_args).copied().collect::<Vec<_>>(),
    );
    assert_eq!(merged.code, whole.code, "the exit code of the unsharded plan: {}", merged.stderr);
    let doc: serde_json::Value = serde_json::from_str(&merged.stdout).expect("JSON");
    assert_eq!(doc, unsharded, "the merged report is the unsharded one");

    let text = crate::support::fleet::rebranch_in(
        &f,
        f.dir.path(),
        &["batch"].iter().chain(&merge).copied().collect::<Vec<_>>(),
    );
    let counts =
        |out: &str| out.lines().find(|l| l.contains(" repositories: ")).map(str::to_string);
    assert_eq!(counts(&text.stdout), counts(&whole.stdout), "{}", text.stdout);
    let table = |out: &str| -> Vec<String> {
        out.lines().take_while(|l| !l.is_empty()).map(str::to_string).collect()
    };
    assert_eq!(table(&text.stdout), table(&whole.stdout));

    // A shard left out, or given twice, is named.
    let missing = crate::support::fleet::rebranch_in(
        &f,
        f.dir.path(),
        &["batch", "report", "--merge", paths[0], paths[2]],
    )
    .expect(1);
    assert!(missing.stderr.contains("shard 2 of 3 is missing"), "{}", missing.stderr);
    let twice = crate::support::fleet::rebranch_in(
        &f,
        f.dir.path(),
        &["batch", "report", "--merge", paths[0], paths[1], paths[2], paths[0]],
    )
    .expect(1);
    assert!(twice.stderr.contains("given twice"), "{}", twice.stderr);
}

#[test]
fn a_sharded_apply_resumes_its_failures_with_only_failed() {
    let f = Fleet::new();
    let broken_shard = rebranch::batch::shard::shard_of("broken", 2);
    for i in 1..=2u32 {
        let run = f.batch(&["apply", "--yes", "--shard", &format!("{i}/2")]);
        assert_eq!(run.code, if i == broken_shard { 5 } else { 0 }, "{}{}", run.stdout, run.stderr);
    }
    let report = |i: u32| f.workdir.join(format!("rebranch-batch-report.shard-{i}-of-2.json"));
    let merge = |expect: i32| {
        crate::support::fleet::rebranch_in(
            &f,
            f.dir.path(),
            &[
                "batch",
                "report",
                "--merge",
                report(1).to_str().unwrap(),
                report(2).to_str().unwrap(),
            ],
        )
        .expect(expect)
    };
    let merged = merge(5);
    assert!(merged.stdout.contains("1 failed"), "{}", merged.stdout);

    f.fix_broken();
    let shard = format!("{broken_shard}/2");
    let rerun = f.batch(&["apply", "--yes", "--shard", &shard, "--only", "failed"]).expect(0);
    let after = shard_report(&f, broken_shard, 2);
    for repo in after["repos"].as_array().unwrap() {
        let want = if repo["name"] == "broken" { "migrated" } else { "skipped" };
        assert_eq!(repo["result"], want, "{repo}: {}", rerun.stdout);
    }
    let merged = merge(0);
    assert!(merged.stdout.contains("8 repositories: "), "{}", merged.stdout);
    assert!(!merged.stdout.contains("failed"), "{}", merged.stdout);
    let m = f.member("broken");
    assert!(ls_remote(&m.origin).contains_key("release"), "the broken one was migrated");
}

#[test]
fn bad_shard_values_are_usage_errors_that_name_the_fix() {
    let f = Fleet::new();
    for (bad, says) in [
        ("0/3", "use 1/3 to 3/3"),
        ("4/3", "use 1/3 to 3/3"),
        ("2", "write it as I/N"),
        ("1/0", "N must be 1 or more"),
    ] {
        let run = f.batch(&["plan", "--shard", bad]).expect(64);
        assert!(run.stderr.contains(says), "{bad}: {}", run.stderr);
    }
    assert!(!f.workdir.exists(), "nothing ran");
    let none =
        crate::support::fleet::rebranch_in(&f, f.dir.path(), &["batch", "report"]).expect(64);
    assert!(none.stderr.contains("--merge"), "{}", none.stderr);
}

/// A repository given by a `git://` URL, with history on every branch, a branch the plan
/// does not name and a tag: (its bare origin's parent, the daemon).
fn served_with_history(root: &std::path::Path) -> (std::path::PathBuf, crate::support::Daemon) {
    let s = rebranch::demo::create(&root.join("src")).expect("sample");
    let clone = &s.clone;
    for i in 0..30 {
        std::fs::write(clone.join("HISTORY.md"), format!("change {i}\n")).unwrap();
        git(clone, &["add", "HISTORY.md"]);
        git(clone, &["commit", "-q", "-m", &format!("change {i}")]);
    }
    git(clone, &["tag", "v1.0.0"]);
    git(clone, &["switch", "-q", "-c", "feature/unrelated"]);
    git(clone, &["commit", "-q", "--allow-empty", "-m", "not named by the plan"]);
    git(clone, &["switch", "-q", "main"]);
    git(clone, &["push", "-q", "origin", "main", "feature/unrelated", "v1.0.0"]);
    let daemon = crate::support::Daemon::serve(s.origin.parent().unwrap());
    (s.origin, daemon)
}

#[test]
fn a_url_is_fetched_by_the_minimum_and_deepened_where_tips_are_compared() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join(".gitconfig"), "[user]\n\tname = Bot\n\temail = bot@acme.example\n")
        .unwrap();
    let (origin, daemon) = served_with_history(root);
    let file = root.join("repos.toml");
    let resolve: Vec<String> =
        rebranch::demo::SAMPLE_RESOLUTIONS.iter().map(|r| format!("{r:?}")).collect();
    let entry = format!(
        "[[repo]]\nname = \"web\"\nurl = {:?}\nresolve = [{}]\n",
        daemon.url("origin.git"),
        resolve.join(", ")
    );
    std::fs::write(&file, &entry).unwrap();
    let plan = |code| {
        crate::support::rebranch_in(
            root,
            root,
            &["batch", "plan", "--repos", file.to_str().unwrap()],
        )
        .expect(code)
    };
    plan(0);
    let clone = root.join("web");
    assert_eq!(git(&clone, &["rev-parse", "--is-shallow-repository"]).trim(), "true");
    let refs = git(&clone, &["for-each-ref", "--format=%(refname)"]);
    let refs: Vec<&str> = refs.lines().collect();
    assert_eq!(
        refs,
        ["refs/heads/main", "refs/remotes/origin/charts", "refs/remotes/origin/main"],
        "only the branches the plan names, no tags"
    );
    let count = |dir: &std::path::Path, rev: &str| git(dir, &["rev-list", "--count", rev]);
    assert_eq!(count(&clone, "refs/remotes/origin/main").trim(), "1", "one commit deep");
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]), git(&origin, &["rev-parse", "main"]));
    // --no-fetch fetches nothing into the clone: a remote tip it lacks is named.
    let tracked = git(&clone, &["rev-parse", "refs/remotes/origin/charts"]);
    let moved = git(&origin, &["commit-tree", "charts^{tree}", "-p", "charts", "-m", "moved"]);
    let charts_before = git(&origin, &["rev-parse", "charts"]);
    git(&origin, &["update-ref", "refs/heads/charts", moved.trim()]);
    let args = ["batch", "plan", "--no-fetch", "--repos", file.to_str().unwrap()];
    let offline = crate::support::rebranch_in(root, root, &args).expect(1);
    assert!(offline.stdout.contains("does not have commit"), "{}", offline.stdout);
    assert_eq!(git(&clone, &["rev-parse", "refs/remotes/origin/charts"]), tracked);
    git(&origin, &["update-ref", "refs/heads/charts", charts_before.trim()]);

    // `release` now exists one commit ahead of `charts`: the plan compares the two tips, so
    // their history is fetched, and the plan is the one a full clone gives.
    let ahead = git(&origin, &["commit-tree", "charts^{tree}", "-p", "charts", "-m", "ahead"]);
    git(&origin, &["update-ref", "refs/heads/release", ahead.trim()]);
    plan(0);
    let report = std::fs::read_to_string(root.join("rebranch-batch-report.json")).unwrap();
    assert!(!report.contains("\"failed\""), "{report}");
    assert_eq!(count(&clone, "refs/remotes/origin/charts"), count(&origin, "charts"));
    assert_eq!(count(&clone, "refs/remotes/origin/main").trim(), "1", "main stays shallow");
    let full = root.join("full");
    git(root, &["clone", "-q", &daemon.url("origin.git"), full.to_str().unwrap()]);
    // One clock for both, so that the CI commit's id does not depend on the second.
    let at = [("SOURCE_DATE_EPOCH", "1764000000")];
    let json = ["plan", "--format", "json"];
    let mut minimal = crate::support::rebranch_env(&clone, root, &json, &at);
    let mut complete = crate::support::rebranch_env(&full, root, &json, &at);
    assert_eq!(minimal.code, complete.code, "{}\n{}", minimal.stderr, complete.stderr);
    let strip = |text: &mut String, dir: &std::path::Path| {
        *text = text.replace(&dir.display().to_string(), "DIR");
    };
    strip(&mut minimal.stdout, &clone);
    strip(&mut complete.stdout, &full);
    let fields = |text: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(text).expect("plan JSON");
        v.as_object_mut().unwrap().retain(|k, _| k == "actions" || k == "reviews");
        v
    };
    assert_eq!(fields(&minimal.stdout), fields(&complete.stdout), "the same plan");

    // The apply pushes from the shallow clone (the CI commit on main's tip among them).
    git(&origin, &["config", "receive.denyDeletes", "false"]);
    let before = ls_remote(&origin);
    crate::support::rebranch_in(
        root,
        root,
        &["batch", "apply", "--yes", "--repos", file.to_str().unwrap()],
    )
    .expect(0);
    let after = ls_remote(&origin);
    assert_eq!(after.get("release"), before.get("release"), "release kept its own tip");
    assert!(!after.contains_key("charts"), "charts deleted, its tip in release: {after:?}");
    let new_main = &after["main"];
    assert_eq!(git(&origin, &["rev-parse", &format!("{new_main}^")]).trim(), before["main"]);
    assert_eq!(after.get("integration"), Some(new_main));
    git(&origin, &["fsck", "--no-progress"]);

    // A shallow clone made by hand is still refused: its history is not known to be there.
    let by_hand = root.join("by-hand");
    let url = daemon.url("origin.git");
    git(root, &["clone", "-q", "--depth", "1", &url, by_hand.to_str().unwrap()]);
    let refused = crate::support::rebranch_in(&by_hand, root, &["plan"]).expect(1);
    assert!(refused.stderr.contains("shallow"), "{}", refused.stderr);
}
