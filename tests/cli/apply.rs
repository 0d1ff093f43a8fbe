//! apply, idempotence, resume after a failure, rollback, saved plans, the CI commit.

use crate::support::{Sandbox, git};

#[test]
fn apply_migrates_and_a_second_apply_does_nothing() {
    let s = Sandbox::new();
    let before = s.remote_heads();
    s.rebranch(&["plan", "--detailed-exitcode"]).expect(2);
    let run = s.rebranch(&["apply", "--yes"]).expect(0);
    assert!(run.stdout.contains("6 step(s) applied"), "{}", run.stdout);

    let after = s.remote_heads();
    assert_eq!(after.get("release"), before.get("charts"), "release holds charts' tip");
    let main = &after["main"];
    assert_ne!(Some(main), before.get("main"), "main has the CI rewrite commit");
    let parent = git(&s.origin, &["rev-parse", &format!("{main}^")]);
    assert_eq!(Some(parent.trim()), before.get("main").map(String::as_str), "one commit on top");
    assert_eq!(after.get("integration"), Some(main), "integration created from the new main");
    assert!(!after.contains_key("charts"), "charts deleted: {after:?}");
    git(&s.origin, &["fsck", "--no-progress"]);

    let local = s.local_state();
    assert_eq!(local.get("refs/heads/release"), before.get("charts"));
    assert_eq!(local.get("refs/heads/main"), Some(main), "checked-out main followed");
    assert_eq!(s.git(&["status", "--porcelain"]), "", "the work tree followed main");
    assert_eq!(local.get("branch.release.merge").map(String::as_str), Some("refs/heads/release"));
    assert_eq!(
        local.get("branch.integration.merge").map(String::as_str),
        Some("refs/heads/integration")
    );
    assert!(!local.contains_key("refs/heads/charts"));
    assert!(!local.contains_key("refs/remotes/origin/charts"));
    assert_eq!(local.get("refs/remotes/origin/release"), before.get("charts"));

    let again = s.rebranch(&["apply", "--yes"]).expect(0);
    assert!(again.stdout.contains("No changes"), "{}", again.stdout);
    assert_eq!(s.remote_heads(), after);
    assert_eq!(s.local_state(), local);

    let plan = s.rebranch(&["plan", "--detailed-exitcode"]).expect(0);
    assert!(plan.stdout.contains("No changes: the repository already matches adr-002."));
    s.rebranch(&["status", "--detailed-exitcode"]).expect(0);
}

#[test]
fn ci_commit_changes_only_the_branch_references() {
    let s = Sandbox::new();
    let before = s.remote_heads()["main"].clone();
    s.rebranch(&["apply", "--yes"]).expect(0);
    let main = s.remote_heads()["main"].clone();
    let files = git(&s.origin, &["diff", "--name-only", &before, &main]);
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        [".github/workflows/publish-readme.yml", ".github/workflows/release.yml", "cr.yaml"]
    );
    let diff = git(&s.origin, &["diff", "-U0", &before, &main]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        [
            "-          ref: charts",
            "+          ref: release",
            "-      - name: Copy README to charts",
            "+      - name: Copy README to release",
            "-          git push origin HEAD:charts",
            "+          git push origin HEAD:release",
            "-    # Publishes packaged charts to the `charts` branch (the Helm index).",
            "+    # Publishes packaged charts to the `release` branch (the Helm index).",
            "-          pages_branch: charts",
            "+          pages_branch: release",
            "-pages-branch: charts",
            "+pages-branch: release",
        ]
    );
    let lint = git(&s.origin, &["show", &format!("{main}:.github/workflows/lint-test.yml")]);
    assert!(lint.contains("--chart-dirs charts"), "paths are kept");
    let message = git(&s.origin, &["log", "-1", "--format=%s%n%an <%ae>", &main]);
    assert_eq!(
        message,
        "ci: follow the rename of charts to release (ADR-002)\nAcme Release Bot <release-bot@acme.example>\n"
    );
}

#[test]
fn unresolved_review_items_refuse_a_non_interactive_apply() {
    let s = Sandbox::new();
    let before = s.remote_heads();
    let run = s.rebranch_raw(&["apply", "--yes"]).expect(4);
    assert!(run.stderr.contains("3 occurrence(s) in CI files need review"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("cause: .github/workflows/release.yml:12:41: # Publishes packaged charts"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--resolve PATH:LINE:COLUMN=rewrite|keep"), "{}", run.stderr);
    assert_eq!(s.remote_heads(), before);
    let plan = s.rebranch_raw(&["plan"]).expect(0);
    assert!(
        plan.stdout.contains("? .github/workflows/publish-readme.yml:19:30"),
        "{}",
        plan.stdout
    );
}

#[test]
fn rollback_restores_every_ref_exactly() {
    let s = Sandbox::new();
    let (remote, local) = (s.remote_heads(), s.local_state());
    s.rebranch(&["apply", "--yes"]).expect(0);
    let run = s.rebranch(&["rollback", "--yes"]).expect(0);
    assert!(run.stdout.contains("6 step(s) undone"), "{}", run.stdout);
    assert_eq!(s.remote_heads(), remote);
    assert_eq!(s.local_state(), local);
    assert_eq!(s.git(&["status", "--porcelain"]), "", "the work tree followed main back");
    s.rebranch(&["rollback", "--yes"]).expect(0);
    assert_eq!(s.remote_heads(), remote, "a second rollback changes nothing");
}

#[test]
fn failure_part_way_is_resumed_by_apply() {
    let s = Sandbox::new();
    let run = s.rebranch_env(&["apply", "--yes"], &[("REBRANCH_FAULT", "fail-before:4")]).expect(5);
    assert!(run.stderr.contains("apply stopped at step 4"), "{}", run.stderr);
    assert!(run.stderr.contains("done: step 1, step 2, step 3"), "{}", run.stderr);
    assert!(run.stderr.contains("`rebranch apply` resumes"), "{}", run.stderr);
    assert!(s.remote_heads().contains_key("charts"), "charts not yet deleted");
    let status = s.rebranch(&["status", "--detailed-exitcode"]).expect(2);
    assert!(status.stderr.contains("an apply stopped part way"), "{}", status.stderr);

    let resume = s.rebranch(&["apply"]).expect(0);
    assert!(resume.stderr.contains("Resuming run"), "{}", resume.stderr);
    assert!(resume.stdout.contains("3 step(s) applied"), "{}", resume.stdout);
    let heads = s.remote_heads();
    assert!(heads.contains_key("release") && heads.contains_key("integration"));
    assert!(!heads.contains_key("charts"));
    s.rebranch(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn failure_part_way_is_undone_by_rollback() {
    let s = Sandbox::new();
    let (remote, local) = (s.remote_heads(), s.local_state());
    s.rebranch_env(&["apply", "--yes"], &[("REBRANCH_FAULT", "fail-during:5")]).expect(5);
    assert_ne!(s.remote_heads(), remote);
    s.rebranch(&["rollback", "--yes"]).expect(0);
    assert_eq!(s.remote_heads(), remote);
    assert_eq!(s.local_state(), local);
}

#[test]
fn crash_leaves_a_journal_that_apply_completes() {
    let s = Sandbox::new();
    let run = s.rebranch_env(&["apply", "--yes"], &[("REBRANCH_FAULT", "crash-after:2")]);
    assert_ne!(run.code, 0, "the process aborted");
    let resume = s.rebranch(&["apply"]).expect(0);
    assert!(resume.stderr.contains("took over the lock"), "{}", resume.stderr);
    assert!(resume.stdout.contains("4 step(s) applied"), "{}", resume.stdout);
    s.rebranch(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn saved_plan_is_applied_exactly() {
    let s = Sandbox::new();
    let plan_path = s.dir.path().join("plan.json");
    s.rebranch(&["plan", "--out", plan_path.to_str().unwrap(), "--format", "json"]).expect(0);
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan_path).unwrap()).unwrap();
    assert_eq!(doc["format_version"], 1);
    assert_eq!(doc["actions"].as_array().unwrap().len(), 6);
    assert_eq!(doc["actions"][0]["kind"], "remote_branch");
    assert_eq!(doc["actions"][1]["kind"], "ci_commit");
    let planned_commit = doc["actions"][1]["commit"].as_str().unwrap().to_string();
    s.rebranch_raw(&["apply", plan_path.to_str().unwrap()]).expect(0);
    assert_eq!(s.remote_heads()["main"], planned_commit, "the commit id shown is the one made");
    s.rebranch(&["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn saved_plan_is_refused_after_a_push_to_charts() {
    let s = Sandbox::new();
    let plan_path = s.dir.path().join("plan.json");
    s.rebranch(&["plan", "--out", plan_path.to_str().unwrap()]).expect(0);
    s.teammate_pushes("charts", "NOTICE");
    let before = s.remote_heads();

    let run = s.rebranch_raw(&["apply", plan_path.to_str().unwrap()]).expect(3);
    assert!(run.stderr.contains("refused: the repository changed since"), "{}", run.stderr);
    assert!(run.stderr.contains("cause: remote charts:"), "{}", run.stderr);
    assert_eq!(s.remote_heads(), before, "nothing changed");
}

#[test]
fn saved_plan_from_another_repository_is_refused() {
    let a = Sandbox::new();
    let b = Sandbox::new();
    let plan_path = a.dir.path().join("plan.json");
    a.rebranch(&["plan", "--out", plan_path.to_str().unwrap()]).expect(0);
    let run = b.rebranch_raw(&["apply", plan_path.to_str().unwrap()]).expect(1);
    assert!(run.stderr.contains("was made for another repository"), "{}", run.stderr);
}

#[test]
fn demo_runs_without_network_or_token() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("demo");
    let run = crate::support::rebranch_in(
        dir.path(),
        dir.path(),
        &["demo", "--dir", target.to_str().unwrap()],
    )
    .expect(0);
    assert!(run.stdout.contains("$ rebranch apply --yes"), "{}", run.stdout);
    assert!(run.stdout.contains("pages project acme-helm-charts deploys production from release"));
    assert!(run.stdout.contains("Rolled back run"), "{}", run.stdout);
    assert!(run.stdout.contains(&target.display().to_string()));
    // After the rollback it migrates again and runs the per-chart flow: split gives the two
    // changed charts their branches, and prune deletes the one squash-merged into main.
    assert!(run.stdout.contains("$ rebranch split --yes"), "{}", run.stdout);
    assert!(run.stdout.contains("+ origin/chart/redis-cache"), "{}", run.stdout);
    assert!(run.stdout.contains("- origin/chart/podinfo-lite"), "{}", run.stdout);
    let heads = crate::support::ls_remote(&target.join("origin.git"));
    let names: Vec<&str> = heads.keys().map(String::as_str).collect();
    // The chart-releaser pull request's branch stays; the pull request follows `release`.
    assert_eq!(
        names,
        ["chart/redis-cache", "cr/podinfo-lite-1.1.0", "integration", "main", "release"]
    );
    assert!(run.stdout.contains(
        "pull request #1 \"Release podinfo-lite 1.1.0\": base: \"charts\" → \"release\""
    ));
    assert!(run.stdout.contains("review gate on `integration`"), "{}", run.stdout);
}

#[test]
fn a_rename_killed_between_its_two_refs_is_finished_from_the_journal() {
    // git renames a loose ref by deleting the old name, then writing the new one: a kill in
    // between leaves neither. The journal holds the tip, so rollback (and apply) finish it.
    let s = Sandbox::new();
    let (remote, local) = (s.remote_heads(), s.local_state());
    s.rebranch(&["apply", "--yes"]).expect(0);
    s.git(&["update-ref", "-d", "refs/heads/release"]);
    s.rebranch(&["rollback", "--yes"]).expect(0);
    assert_eq!(s.remote_heads(), remote);
    assert_eq!(s.local_state(), local, "charts is back with its upstream");
}
