//! Everything the observation shows is checked before the first change: ref-name clashes
//! (remote and local, branches and tags), work trees holding a branch that moves, a stable
//! branch that cannot follow, a clone behind its remote; and the branches are found on the
//! remote when the plan's defaults are absent. The git CLI is the oracle; every refusal is
//! checked to have changed nothing.

use std::path::{Path, PathBuf};

use crate::support::{Run, Sandbox, git, rebranch_in};

/// Runs a refused command: exit 1, one error holding every needle, nothing changed on the
/// remote or in the clone (but remote-tracking refs fetched up to the remote).
#[track_caller]
fn refused(s: &Sandbox, args: &[&str], needles: &[&str]) -> String {
    let (remote, local) = (s.remote_heads(), s.local_state());
    let run = s.rebranch(args).expect(1);
    for n in needles {
        assert!(run.stderr.contains(n), "wanted {n:?} in:\n{}", run.stderr);
    }
    assert_eq!(run.stderr.matches("error:").count(), 1, "one error: {}", run.stderr);
    assert_eq!(s.remote_heads(), remote, "remote unchanged");
    s.assert_unchanged_but_fetched(&local);
    run.stderr
}

fn on_origin(s: &Sandbox, refname: &str, branch: &str) {
    let oid = s.remote_heads()[branch].clone();
    git(&s.origin, &["update-ref", refname, &oid]);
}

#[test]
fn remote_branches_under_the_new_name_are_refused_with_the_fix() {
    let s = Sandbox::new();
    for v in ["1.x", "2.x", "3.x", "4.x", "5.x"] {
        on_origin(&s, &format!("refs/heads/release/{v}"), "main");
    }
    let err = refused(
        &s,
        &["apply", "--yes"],
        &[
            "cannot create branch `release`",
            "refs/heads/release/1.x",
            "and 2 more",
            "--set to=NAME",
        ],
    );
    assert!(!err.contains("release/5.x"), "a few, then a count: {err}");
    // With another name, the same repository plans.
    s.rebranch(&["plan", "--set", "to=helm-release"]).expect(0);
}

#[test]
fn integration_beside_integration_slash_anything_is_refused_remote_and_local() {
    let s = Sandbox::new();
    on_origin(&s, "refs/heads/integration/foo", "main");
    refused(
        &s,
        &["apply", "--yes"],
        &["`integration`", "integration/foo", "--set integration=NAME"],
    );

    let s = Sandbox::new();
    s.git(&["branch", "integration/mine", "main"]);
    refused(&s, &["plan"], &["this clone has refs/heads/integration/mine"]);
}

#[test]
fn a_local_branch_that_the_new_name_would_sit_under_is_refused() {
    let s = Sandbox::new();
    s.git(&["branch", "release", "main"]);
    s.git(&["branch", "-m", "release", "release-keep"]);
    s.git(&["update-ref", "refs/remotes/origin/integration/x", "HEAD"]);
    refused(&s, &["plan"], &["refs/remotes/origin/integration/x"]);
}

#[test]
fn a_tag_named_like_the_new_branch_is_refused() {
    let s = Sandbox::new();
    let main = s.remote_heads()["main"].clone();
    git(&s.origin, &["tag", "release", &main]);
    refused(&s, &["apply", "--yes"], &["refs/tags/release", "ambiguous", "--set to=NAME"]);
    let s = Sandbox::new();
    s.git(&["tag", "integration"]);
    refused(&s, &["plan"], &["refs/tags/integration"]);
}

#[test]
fn a_full_ref_name_is_refused_as_a_branch_name() {
    let s = Sandbox::new();
    refused(&s, &["plan", "--set", "to=refs/heads/x"], &["give the short name"]);
}

#[test]
fn main_in_a_clean_linked_worktree_follows_the_rewrite_there() {
    let s = Sandbox::new();
    s.git(&["switch", "-q", "--detach"]);
    let wt = s.dir.path().join("wt-main");
    s.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "main"]);
    let run = s.rebranch(&["apply", "--yes"]).expect(0);
    assert!(run.stdout.contains(&format!("checked out in {}", wt.display())), "{}", run.stdout);
    let remote_main = s.remote_heads()["main"].clone();
    assert_eq!(git(&wt, &["rev-parse", "HEAD"]).trim(), remote_main, "main moved with its files");
    assert_eq!(git(&wt, &["status", "--porcelain"]), "", "nothing staged or changed there");
}

#[test]
fn main_dirty_in_a_linked_worktree_stays_and_the_plan_says_so() {
    let s = Sandbox::new();
    s.git(&["switch", "-q", "--detach"]);
    let wt = s.dir.path().join("wt-main");
    s.git(&["worktree", "add", "-q", wt.to_str().unwrap(), "main"]);
    let before = git(&wt, &["rev-parse", "HEAD"]);
    append(&wt.join("cr.yaml"), "# local edit\n");
    let run = s.rebranch(&["apply", "--yes"]).expect(0);
    assert!(run.stdout.contains("has uncommitted changes: it stays at"), "{}", run.stdout);
    assert!(run.all().contains("git pull --ff-only"), "{}", run.all());
    assert_eq!(git(&wt, &["rev-parse", "HEAD"]), before, "left where it was");
    assert_eq!(git(&wt, &["status", "--porcelain"]).trim(), "M cr.yaml", "only the own edit");
}

#[test]
fn a_dirty_checked_out_main_is_named_in_the_plan_and_left_alone() {
    let s = Sandbox::new();
    let before = s.git(&["rev-parse", "main"]);
    append(&s.clone.join("README.md"), "local edit\n");
    let run = s.rebranch(&["plan"]).expect(0);
    assert!(
        run.stdout.contains("local `main` (checked out here) has uncommitted changes"),
        "{}",
        run.stdout
    );
    s.rebranch(&["apply", "--yes"]).expect(0);
    assert_eq!(s.git(&["rev-parse", "main"]), before);
}

#[test]
fn an_ahead_main_is_named_in_the_plan_with_the_way_to_bring_it_in_line() {
    let s = Sandbox::new();
    append(&s.clone.join("NOTES.md"), "mine\n");
    s.git(&["add", "NOTES.md"]);
    s.git(&["commit", "-q", "-m", "local work"]);
    let mine = s.git(&["rev-parse", "main"]);
    let run = s.rebranch(&["apply", "--yes"]).expect(0);
    assert!(run.stdout.contains("has commits that `origin/main` lacks"), "{}", run.stdout);
    assert!(run.all().contains("git pull --rebase"), "{}", run.all());
    assert_eq!(s.git(&["rev-parse", "main"]), mine, "the local commit is kept where it is");
}

#[test]
fn a_saved_plan_made_in_a_clone_behind_its_remote_applies() {
    let s = Sandbox::new();
    let tip = s.teammate_pushes("charts", "NOTICE");
    let path = s.dir.path().join("plan.json");
    s.rebranch(&["plan", "--out", path.to_str().unwrap()]).expect(0);
    s.rebranch(&["apply", path.to_str().unwrap()]).expect(0);
    assert_eq!(s.remote_heads()["release"], tip, "release holds the teammate's publication");
}

/// The sample's origin with `main` renamed to `master` (its HEAD too) and `charts` to
/// `gh-pages`, and a fresh clone of it.
fn master_and_gh_pages() -> (Sandbox, PathBuf) {
    let s = Sandbox::new();
    git(&s.origin, &["branch", "-m", "main", "master"]);
    git(&s.origin, &["branch", "-m", "charts", "gh-pages"]);
    git(&s.origin, &["symbolic-ref", "HEAD", "refs/heads/master"]);
    let clone = s.dir.path().join("legacy");
    git(s.dir.path(), &["clone", "-q", s.origin.to_str().unwrap(), clone.to_str().unwrap()]);
    (s, clone)
}

fn run_in(s: &Sandbox, dir: &Path, args: &[&str]) -> Run {
    rebranch_in(dir, s.dir.path(), args)
}

#[test]
fn master_and_gh_pages_are_detected_and_remembered_after_apply() {
    let (s, clone) = master_and_gh_pages();
    let run = run_in(&s, &clone, &["plan"]).expect(0);
    assert!(
        run.stdout.contains("detected main=master (origin's HEAD), from=gh-pages (the only branch holding index.yaml)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("origin/gh-pages"), "{}", run.stdout);
    assert!(run.stdout.contains("origin/master"), "{}", run.stdout);
    let run = run_in(&s, &clone, &["apply", "--yes"]).expect(0);
    assert!(run.all().contains("Applied run"), "{}", run.all());
    let heads = crate::support::ls_remote(&s.origin);
    assert!(heads.contains_key("release") && !heads.contains_key("gh-pages"), "{heads:?}");
    // A plain status (no --set) checks the same migration, from the journal's variables.
    let run = run_in(&s, &clone, &["status", "--detailed-exitcode"]).expect(0);
    assert!(run.stdout.contains("origin/master"), "{}", run.stdout);
    run_in(&s, &clone, &["plan", "--detailed-exitcode"]).expect(0);
}

#[test]
fn two_branches_holding_an_index_are_refused_by_name() {
    let (s, clone) = master_and_gh_pages();
    let pages = crate::support::ls_remote(&s.origin)["gh-pages"].clone();
    git(&s.origin, &["update-ref", "refs/heads/site", &pages]);
    let before = crate::support::ls_remote(&s.origin);
    let run = run_in(&s, &clone, &["apply", "--yes"]).expect(1);
    assert!(run.stderr.contains("could be it: gh-pages, site"), "{}", run.stderr);
    assert!(run.stderr.contains("--set from=NAME"), "{}", run.stderr);
    assert_eq!(crate::support::ls_remote(&s.origin), before);
}

#[test]
fn a_stopped_run_is_not_resumed_with_other_values() {
    let s = Sandbox::new();
    s.rebranch_env(&["apply", "--yes"], &[("REBRANCH_FAULT", "fail-before:3")]).expect(5);
    let (remote, local) = (s.remote_heads(), s.local_state());
    let run = s.rebranch(&["apply", "--yes", "--set", "to=helm-release"]).expect(1);
    assert!(
        run.stderr.contains("--set to=helm-release, but the run used to=release"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("rebranch rollback"), "{}", run.stderr);
    assert_eq!((s.remote_heads(), s.local_state()), (remote, local));
    // Without --set it finishes with its own values.
    s.rebranch(&["apply", "--yes"]).expect(0);
    assert!(s.remote_heads().contains_key("release"));
}

fn append(path: &Path, text: &str) {
    let mut old = std::fs::read_to_string(path).unwrap_or_default();
    old.push_str(text);
    std::fs::write(path, old).unwrap();
}
