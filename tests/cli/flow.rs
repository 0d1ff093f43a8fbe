//! The per-chart flow after the migration: `split` and `prune` on the sample repository,
//! with teammates pushing through a second clone and the git CLI as the oracle.

use std::collections::BTreeMap;

use crate::support::{Sandbox, git, git_status};

const PODINFO: &str = "charts/podinfo-lite";
const REDIS: &str = "charts/redis-cache";

/// The sample, migrated: `main`, `integration` and `release` on its origin.
fn migrated() -> Sandbox {
    let s = Sandbox::new();
    s.rebranch(&["apply", "--yes"]).expect(0);
    s
}

/// A teammate writes `files` on `branch` and pushes; this clone fetches. Returns the tip.
fn push_files(s: &Sandbox, branch: &str, files: &[(&str, &str)], message: &str) -> String {
    let mate = s.teammate();
    git(&mate, &["switch", "-q", branch]);
    for (path, text) in files {
        let file = mate.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    }
    git(&mate, &["add", "-A"]);
    git(&mate, &["commit", "-q", "-m", message]);
    git(&mate, &["push", "-q", "origin", branch]);
    s.git(&["fetch", "-q", "origin"]);
    git(&mate, &["rev-parse", "HEAD"]).trim().to_string()
}

/// Two charts changed on integration.
fn two_charts_changed(s: &Sandbox) {
    push_files(
        s,
        "integration",
        &[
            (&format!("{PODINFO}/values.yaml"), "replicaCount: 3\n"),
            (&format!("{REDIS}/values.yaml"), "maxmemory: 512mb\n"),
            (&format!("{REDIS}/templates/pdb.yaml"), "kind: PodDisruptionBudget\n"),
        ],
        "Tune podinfo-lite and redis-cache",
    );
}

/// A teammate squash-merges `branch` into main and pushes; this clone fetches.
fn squash_merge(s: &Sandbox, branch: &str) {
    let mate = s.teammate();
    git(&mate, &["switch", "-q", "main"]);
    git(&mate, &["merge", "-q", "--squash", &format!("origin/{branch}")]);
    git(&mate, &["commit", "-q", "-m", &format!("Merge {branch} (squashed)")]);
    git(&mate, &["push", "-q", "origin", "main"]);
    s.git(&["fetch", "-q", "origin"]);
}

fn on_origin(s: &Sandbox, args: &[&str]) -> String {
    git(&s.origin, args)
}

/// The paths that differ between two revisions on the origin.
fn diff_names(s: &Sandbox, a: &str, b: &str) -> Vec<String> {
    on_origin(s, &["diff", "--name-only", a, b]).lines().map(str::to_string).collect()
}

/// The branch is one commit on main whose tree is main's with `chart` as on integration.
#[track_caller]
fn assert_main_plus(s: &Sandbox, branch: &str, chart: &str) {
    let heads = s.remote_heads();
    let tip = &heads[branch];
    let parent = on_origin(s, &["rev-parse", &format!("{tip}^")]);
    assert_eq!(parent.trim(), heads["main"], "{branch} is one commit on top of main");
    let changed = diff_names(s, "main", tip);
    assert!(!changed.is_empty(), "{branch} differs from main");
    assert!(changed.iter().all(|p| p.starts_with(&format!("{chart}/"))), "{branch}: {changed:?}");
    let rest = diff_names(s, tip, "integration");
    assert!(rest.iter().all(|p| !p.starts_with(&format!("{chart}/"))), "{chart} as on integration");
}

#[test]
fn split_gives_each_changed_chart_its_branch_and_a_second_split_plans_nothing() {
    let s = migrated();
    two_charts_changed(&s);
    let dry = s.rebranch(&["split", "--dry-run", "--detailed-exitcode"]).expect(2);
    assert!(dry.stdout.contains("+ origin/chart/podinfo-lite"), "{}", dry.stdout);
    assert!(dry.stdout.contains(&format!("~ {REDIS}/values.yaml")), "{}", dry.stdout);
    assert!(dry.stdout.contains(&format!("+ {REDIS}/templates/pdb.yaml")), "{}", dry.stdout);
    let before = s.remote_heads();
    let refused = s.rebranch(&["split"]).expect(1);
    assert!(refused.stderr.contains("no terminal"), "{}", refused.stderr);
    assert_eq!(s.remote_heads(), before, "nothing pushed without --yes");

    s.rebranch(&["split", "--yes"]).expect(0);
    let heads = s.remote_heads();
    let charts: Vec<&String> = heads.keys().filter(|b| b.starts_with("chart/")).collect();
    assert_eq!(charts, ["chart/podinfo-lite", "chart/redis-cache"]);
    assert_main_plus(&s, "chart/podinfo-lite", PODINFO);
    assert_main_plus(&s, "chart/redis-cache", REDIS);
    on_origin(&s, &["fsck", "--no-progress"]);

    let again = s.rebranch(&["split", "--dry-run", "--detailed-exitcode"]).expect(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    s.rebranch(&["split", "--yes"]).expect(0);
    assert_eq!(s.remote_heads(), heads);

    let json = s.rebranch(&["split", "--dry-run", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("json plan");
    assert_eq!(doc["actions"], serde_json::json!([]));
}

#[test]
fn a_third_chart_changed_later_adds_only_its_branch() {
    let s = migrated();
    two_charts_changed(&s);
    s.rebranch(&["split", "--yes"]).expect(0);
    push_files(
        &s,
        "integration",
        &[("charts/third/Chart.yaml", "apiVersion: v2\nname: third\nversion: 0.1.0\n")],
        "Add the third chart",
    );
    let before = s.remote_heads();
    let dry = s.rebranch(&["split", "--dry-run", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let branches: Vec<&str> =
        doc["actions"].as_array().unwrap().iter().map(|a| a["branch"].as_str().unwrap()).collect();
    assert_eq!(branches, ["chart/third"]);
    s.rebranch(&["split", "--yes"]).expect(0);
    let after = s.remote_heads();
    let mut expected = before.clone();
    expected.insert("chart/third".into(), after["chart/third"].clone());
    assert_eq!(after, expected, "only chart/third was added");
    assert_main_plus(&s, "chart/third", "charts/third");
}

#[test]
fn prune_deletes_only_the_squash_merged_chart_branch() {
    let s = migrated();
    two_charts_changed(&s);
    s.rebranch(&["split", "--yes"]).expect(0);
    squash_merge(&s, "chart/podinfo-lite");
    let status = s.rebranch(&["status"]);
    assert!(
        status.stdout.contains("origin/chart/podinfo-lite: merged but not pruned"),
        "{}",
        status.stdout
    );
    assert!(
        status.stdout.contains("origin/chart/redis-cache: stale: behind main"),
        "{}",
        status.stdout
    );
    let json = s.rebranch(&["status", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("status json");
    let findings: Vec<&str> = doc["flow"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["branch"].as_str().unwrap())
        .collect();
    assert_eq!(findings, ["chart/podinfo-lite", "chart/redis-cache"]);

    let dry = s.rebranch(&["prune", "--dry-run", "--detailed-exitcode"]).expect(2);
    assert!(dry.all().contains("kept `chart/redis-cache`: unmerged work"), "{}", dry.all());
    let before = s.remote_heads();
    s.rebranch(&["prune", "--yes"]).expect(0);
    let mut expected = before.clone();
    expected.remove("chart/podinfo-lite");
    assert_eq!(s.remote_heads(), expected, "only the merged branch went");
    s.rebranch(&["prune", "--dry-run", "--detailed-exitcode"]).expect(0);

    // main moved on: split rebuilds the stale branch on top of it.
    s.rebranch(&["split", "--yes"]).expect(0);
    assert_main_plus(&s, "chart/redis-cache", REDIS);
    assert!(!s.remote_heads().contains_key("chart/podinfo-lite"), "no change left for podinfo");
}

#[test]
fn a_chart_branch_with_extra_work_is_kept_with_the_reason() {
    let s = migrated();
    two_charts_changed(&s);
    s.rebranch(&["split", "--yes"]).expect(0);
    let extra = push_files(
        &s,
        "chart/redis-cache",
        &[(&format!("{REDIS}/values.yaml"), "maxmemory: 1gb\n")],
        "Review fix: more memory",
    );
    // main gets redis-cache as on integration, without the review fix.
    let mate = s.teammate();
    git(&mate, &["switch", "-q", "main"]);
    git(&mate, &["checkout", "origin/integration", "--", REDIS]);
    git(&mate, &["commit", "-q", "-m", "Take redis-cache from integration"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    s.git(&["fetch", "-q", "origin"]);

    let run = s.rebranch(&["prune", "--yes"]).expect(0);
    let why = format!("kept `chart/redis-cache`: unmerged work: {REDIS}/values.yaml");
    assert!(run.all().contains(&why), "{}", run.all());
    assert!(run.all().contains("Review fix: more memory"), "{}", run.all());
    let heads = s.remote_heads();
    assert_eq!(heads.get("chart/redis-cache"), Some(&extra), "kept at its tip");
    assert!(heads.contains_key("chart/podinfo-lite"), "unmerged, so kept");

    // split does not build over someone's commits either, and says why.
    let fix = push_files(
        &s,
        "chart/podinfo-lite",
        &[(&format!("{PODINFO}/values.yaml"), "replicaCount: 4\n")],
        "Review fix: one more replica",
    );
    let split = s.rebranch(&["split", "--yes"]).expect(0);
    assert!(split.all().contains("kept `chart/podinfo-lite` as it is"), "{}", split.all());
    assert!(split.all().contains("Review fix: one more replica"), "{}", split.all());
    assert_eq!(s.remote_heads().get("chart/podinfo-lite"), Some(&fix));
}

#[test]
fn the_adr_literal_pattern_is_refused_with_nothing_created() {
    let s = migrated();
    two_charts_changed(&s);
    let before = s.remote_heads();
    let run =
        s.rebranch(&["split", "--yes", "--set", "chart_branch=integration/{chart}"]).expect(1);
    assert!(run.stderr.contains("'refs/heads/integration' exists"), "{}", run.stderr);
    assert!(run.stderr.contains("chart_branch=chart/{chart}"), "{}", run.stderr);
    assert_eq!(s.remote_heads(), before);
    // git itself agrees that the two cannot coexist.
    let main = &before["main"];
    let refused =
        git_status(&s.origin, &["update-ref", "refs/heads/integration/podinfo-lite", main]);
    assert_ne!(refused.code, 0, "git refuses it as well");

    s.rebranch(&["split", "--yes", "--set", "chart_branch=integration-{chart}"]).expect(0);
    assert_main_plus(&s, "integration-podinfo-lite", PODINFO);
}

#[test]
fn a_chart_named_with_a_character_git_refuses_is_named() {
    let s = migrated();
    push_files(
        &s,
        "integration",
        &[
            ("charts/bad~chart/Chart.yaml", "apiVersion: v2\nname: bad\nversion: 0.1.0\n"),
            (&format!("{PODINFO}/values.yaml"), "replicaCount: 3\n"),
        ],
        "Add a chart with a tilde",
    );
    let before = s.remote_heads();
    let run = s.rebranch(&["split", "--yes"]).expect(1);
    assert!(run.stderr.contains("chart `bad~chart`"), "{}", run.stderr);
    assert!(run.stderr.contains("charts/bad~chart"), "{}", run.stderr);
    assert_eq!(s.remote_heads(), before, "nothing created");
}

#[test]
fn rollback_of_a_split_restores_the_refs() {
    let s = migrated();
    let migrated_heads = s.remote_heads();
    two_charts_changed(&s);
    let before = s.remote_heads();
    s.rebranch(&["split", "--yes"]).expect(0);
    s.rebranch(&["rollback", "--yes"]).expect(0);
    assert_eq!(s.remote_heads(), before, "the created chart branches are gone");
    assert_ne!(before, migrated_heads);

    s.rebranch(&["split", "--yes"]).expect(0);
    let first = s.remote_heads();
    push_files(
        &s,
        "integration",
        &[(&format!("{PODINFO}/values.yaml"), "replicaCount: 5\n")],
        "More",
    );
    s.rebranch(&["split", "--yes"]).expect(0);
    let second = s.remote_heads();
    let tip = &second["chart/podinfo-lite"];
    let parent = on_origin(&s, &["rev-parse", &format!("{tip}^")]);
    assert_eq!(parent.trim(), first["chart/podinfo-lite"], "built on its own tip");
    assert_main_plus_tree(&s, "chart/podinfo-lite", PODINFO);
    s.rebranch(&["rollback", "--yes"]).expect(0);
    let restored = s.remote_heads();
    let only_charts = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
        m.iter()
            .filter(|(k, _)| k.starts_with("chart/"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    assert_eq!(only_charts(&restored), only_charts(&first), "moved back to the first split");
}

/// Like [`assert_main_plus`] for a branch built on its own tip: the tree is still exactly
/// main plus the chart as on integration.
#[track_caller]
fn assert_main_plus_tree(s: &Sandbox, branch: &str, chart: &str) {
    let changed = diff_names(s, "main", branch);
    assert!(changed.iter().all(|p| p.starts_with(&format!("{chart}/"))), "{branch}: {changed:?}");
    let rest = diff_names(s, branch, "integration");
    assert!(rest.iter().all(|p| !p.starts_with(&format!("{chart}/"))), "{chart} as on integration");
}

#[test]
fn split_before_the_migration_says_to_migrate_first() {
    let s = Sandbox::new();
    let run = s.rebranch(&["split", "--dry-run"]).expect(1);
    assert!(run.stderr.contains("has no branch `integration`"), "{}", run.stderr);
    assert!(run.stderr.contains("rebranch apply"), "{}", run.stderr);
}

#[test]
fn charts_are_found_under_the_chart_dirs_of_ct_yaml() {
    let s = migrated();
    push_files(
        &s,
        "integration",
        &[
            ("ct.yaml", "chart-dirs:\n  - stable\n"),
            ("stable/api/Chart.yaml", "apiVersion: v2\nname: api\nversion: 0.1.0\n"),
            ("stable/notes/README.md", "not a chart: no Chart.yaml\n"),
        ],
        "Move chart-testing to stable/",
    );
    let dry = s.rebranch(&["split", "--dry-run", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    let branches: Vec<&str> =
        doc["actions"].as_array().unwrap().iter().map(|a| a["branch"].as_str().unwrap()).collect();
    assert_eq!(
        branches,
        ["chart/api"],
        "charts/ is no longer a chart dir; notes has no Chart.yaml"
    );
    assert_eq!(doc["actions"][0]["kind"], "chart_commit");
}

/// The example workflow the README points to runs split on integration and prune on main,
/// with the permission to push and a concurrency group.
#[test]
fn the_example_workflow_runs_split_and_prune() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/rebranch-flow.yml")).unwrap();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    assert!(readme.contains("(examples/rebranch-flow.yml)"), "README points to it");
    let doc = &yaml_rust2::YamlLoader::load_from_str(&text).unwrap()[0];
    let branches: Vec<&str> =
        doc["on"]["push"]["branches"].as_vec().unwrap().iter().filter_map(|b| b.as_str()).collect();
    assert_eq!(branches, ["integration", "main"]);
    assert_eq!(doc["permissions"]["contents"].as_str(), Some("write"));
    assert!(doc["concurrency"]["group"].as_str().is_some_and(|g| !g.is_empty()));
    let steps = doc["jobs"]["flow"]["steps"].as_vec().unwrap();
    let step = |name: &str| {
        steps.iter().find(|s| s["run"].as_str().is_some_and(|r| r.contains(name))).unwrap()
    };
    let split = step("rebranch split --yes");
    assert_eq!(split["if"].as_str(), Some("github.ref == 'refs/heads/integration'"));
    let prune = step("rebranch prune --yes");
    assert_eq!(prune["if"].as_str(), Some("github.ref == 'refs/heads/main'"));
    let checkout = steps
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/checkout")))
        .unwrap();
    assert_eq!(checkout["with"]["fetch-depth"].as_i64(), Some(0), "full history");
}

#[test]
fn split_reads_the_remote_even_when_this_clone_has_not_fetched() {
    let s = migrated();
    let mate = s.teammate();
    git(&mate, &["switch", "-q", "integration"]);
    std::fs::write(mate.join(PODINFO).join("values.yaml"), "replicaCount: 7\n").unwrap();
    git(&mate, &["commit", "-q", "-am", "Seven replicas"]);
    git(&mate, &["push", "-q", "origin", "integration"]);
    let offline = s.rebranch(&["split", "--dry-run", "--no-fetch"]).expect(1);
    assert!(offline.stderr.contains("git fetch origin"), "{}", offline.stderr);
    s.rebranch(&["split", "--yes"]).expect(0);
    assert_main_plus(&s, "chart/podinfo-lite", PODINFO);
}

/// On a terminal, split asks before it pushes: "n" changes nothing, "y" pushes.
#[test]
fn split_asks_on_a_terminal() {
    use expectrl::{Eof, Expect, Session};
    let s = migrated();
    two_charts_changed(&s);
    let before = s.remote_heads();
    let ask = |answer: &str| -> i32 {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rebranch"));
        cmd.arg("split").current_dir(&s.clone);
        crate::support::hermetic(&mut cmd, s.dir.path());
        cmd.env_remove("CI").env("TERM", "xterm-256color");
        let mut pty = Session::spawn(cmd).expect("spawn split in a pty");
        pty.set_expect_timeout(Some(std::time::Duration::from_secs(60)));
        pty.expect("Push these changes?").expect("the question");
        pty.send(answer).unwrap();
        let _ = pty.expect(Eof);
        match pty.get_process().wait() {
            Ok(expectrl::process::unix::WaitStatus::Exited(_, code)) => code,
            other => panic!("unexpected end: {other:?}"),
        }
    };
    assert_eq!(ask("n"), 1, "declined");
    assert_eq!(s.remote_heads(), before, "nothing pushed when declined");
    assert_eq!(ask("y"), 0);
    assert_main_plus(&s, "chart/podinfo-lite", PODINFO);
}

/// A split that stops part way is resumed by `apply`, like any run.
#[test]
fn a_split_stopped_part_way_is_resumed_by_apply() {
    let s = migrated();
    two_charts_changed(&s);
    let stopped = s.rebranch_env(&["split", "--yes"], &[("REBRANCH_FAULT", "fail-before:2")]);
    let stopped = stopped.expect(5);
    assert!(stopped.stderr.contains("rebranch apply"), "{}", stopped.stderr);
    let heads = s.remote_heads();
    assert!(heads.contains_key("chart/podinfo-lite") && !heads.contains_key("chart/redis-cache"));
    // Nothing to prune yet; it says a run is unfinished, and a split refuses to start another.
    let prune = s.rebranch(&["prune", "--yes"]).expect(0);
    assert!(prune.stderr.contains("an apply stopped part way"), "{}", prune.stderr);
    push_files(&s, "integration", &[("charts/third/Chart.yaml", "name: third\n")], "Third");
    let refused = s.rebranch(&["split", "--yes"]).expect(1);
    assert!(refused.stderr.contains("stopped part way"), "{}", refused.stderr);
    s.rebranch(&["apply"]).expect(0);
    assert_main_plus(&s, "chart/podinfo-lite", PODINFO);
    assert_main_plus(&s, "chart/redis-cache", REDIS);
}

/// Rollback never drops work pushed to a chart branch after the split: it refuses, and
/// changes nothing.
#[test]
fn rollback_of_a_split_keeps_work_pushed_on_top() {
    let s = migrated();
    two_charts_changed(&s);
    s.rebranch(&["split", "--yes"]).expect(0);
    let fix = push_files(
        &s,
        "chart/redis-cache",
        &[(&format!("{REDIS}/values.yaml"), "maxmemory: 1gb\n")],
        "Review fix",
    );
    let before = s.remote_heads();
    let run = s.rebranch(&["rollback", "--yes"]).expect(3);
    assert!(run.stderr.contains("chart/redis-cache"), "{}", run.stderr);
    assert_eq!(s.remote_heads(), before, "nothing changed: {}", run.all());
    assert_eq!(s.remote_heads()["chart/redis-cache"], fix);
}
