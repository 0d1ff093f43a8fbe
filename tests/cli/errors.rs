//! Bad input: each case gets one clear message, the right exit code, and nothing changes.

use crate::support::{Sandbox, git, rebranch_in};

/// Runs a refused command and checks that neither the remote nor the clone changed (but
/// for remote-tracking refs brought up to the remote, as the plan's fetch does).
#[track_caller]
fn refused(s: &Sandbox, args: &[&str], code: i32, needle: &str) -> String {
    let (remote, local) = (s.remote_heads(), s.local_state());
    let run = s.rebranch(args).expect(code);
    assert!(run.stderr.contains(needle), "wanted {needle:?} in:\n{}", run.stderr);
    assert_eq!(run.stderr.matches("error:").count(), 1, "one error: {}", run.stderr);
    assert_eq!(s.remote_heads(), remote, "remote unchanged");
    s.assert_unchanged_but_fetched(&local);
    run.stderr
}

#[test]
fn release_at_another_commit_is_refused_before_any_change() {
    let s = Sandbox::new();
    let main = s.remote_heads()["main"].clone();
    git(&s.origin, &["update-ref", "refs/heads/release", &main]);
    let err = refused(&s, &["apply", "--yes"], 1, "remote branch `release` already exists at");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn missing_charts_is_refused() {
    let s = Sandbox::new();
    git(&s.origin, &["update-ref", "-d", "refs/heads/charts"]);
    refused(&s, &["plan"], 1, "remote `origin` has neither `charts` nor `release`");
}

#[test]
fn missing_main_suggests_the_variable() {
    let s = Sandbox::new();
    let err =
        refused(&s, &["plan", "--set", "main=trunk"], 1, "remote `origin` has no branch `trunk`");
    assert!(err.contains("hint:"), "{err}");
}

#[test]
fn shallow_clone_is_refused() {
    let s = Sandbox::new();
    let shallow = s.dir.path().join("shallow");
    let url = format!("file://{}", s.origin.display());
    git(s.dir.path(), &["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
    let run = rebranch_in(&shallow, s.dir.path(), &["plan"]).expect(1);
    assert!(run.stderr.contains("is a shallow clone"), "{}", run.stderr);
    assert!(run.stderr.contains("git fetch --unshallow"), "{}", run.stderr);
}

#[test]
fn repository_without_remote_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "init"]);
    let run = rebranch_in(dir.path(), dir.path(), &["plan"]).expect(1);
    assert!(
        run.stderr
            .contains("there is no remote `origin` in this repository (it has no remotes at all)"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("hint: add it with `git remote add origin URL`"), "{}", run.stderr);
}

#[test]
fn not_a_repository_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let run = rebranch_in(dir.path(), dir.path(), &["plan"]).expect(1);
    assert!(run.stderr.contains("is not in a git repository"), "{}", run.stderr);
}

#[test]
fn bad_plan_file_names_file_line_and_column() {
    let s = Sandbox::new();
    let path = s.dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[plan]\nname = \"x\"\n\n[[branch]]\nname = \"main\"\ncreate_from = [\"a\"]\n",
    )
    .unwrap();
    let err = refused(
        &s,
        &["plan", "--plan", path.to_str().unwrap()],
        1,
        "bad.toml:6:15: `create_from` must be a string",
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn unknown_set_key_lists_the_known_ones() {
    let s = Sandbox::new();
    refused(
        &s,
        &["plan", "--set", "releese=x"],
        1,
        "unknown plan variable `releese`; the plan `adr-002` knows: remote, main, from, to, integration",
    );
}

#[test]
fn option_like_branch_name_is_refused() {
    let s = Sandbox::new();
    refused(
        &s,
        &["apply", "--yes", "--set", "to=--force"],
        1,
        "`--force` is not a valid git branch name: it starts with `-`",
    );
}

#[test]
fn usage_errors_exit_64() {
    let s = Sandbox::new();
    let run = s.rebranch(&["plan", "--no-such-flag"]).expect(64);
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
    s.rebranch(&["--help"]).expect(0);
}

#[test]
fn apply_without_yes_and_without_terminal_changes_nothing() {
    let s = Sandbox::new();
    let run = s.rebranch(&["apply"]).expect(1);
    assert!(run.stderr.contains("there is no terminal to confirm it"), "{}", run.stderr);
}

#[test]
fn corrupt_journal_is_reported_not_guessed() {
    let s = Sandbox::new();
    let dir = s.clone.join(".git/rebranch/journal");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("20990101T000000Z-1.jsonl"), "{\"event\":\"finished\"}\ngarbage\n{}\n")
        .unwrap();
    refused(&s, &["apply", "--yes"], 1, "is corrupt at line");
}

#[test]
fn live_lock_refuses_naming_its_holder() {
    let s = Sandbox::new();
    let dir = s.clone.join(".git/rebranch");
    std::fs::create_dir_all(&dir).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let holder = serde_json::json!({"pid": std::process::id(), "host": host.trim(), "started": 0, "command": "apply"});
    // Hold the lock as a running rebranch would: the file's system lock, its content naming us.
    let file = std::fs::File::create(dir.join("lock")).unwrap();
    file.lock().unwrap();
    std::fs::write(dir.join("lock"), holder.to_string()).unwrap();
    let err = refused(&s, &["apply", "--yes"], 1, "holds the lock");
    drop(file);
    assert!(err.contains(&format!("pid {}", std::process::id())), "{err}");
}

#[test]
fn publishing_branch_without_its_index_is_never_deleted() {
    let s = Sandbox::new();
    let mate = s.teammate();
    git(&mate, &["switch", "-q", "charts"]);
    git(&mate, &["rm", "-q", "index.yaml"]);
    git(&mate, &["commit", "-q", "-m", "oops: drop the index"]);
    git(&mate, &["push", "-q", "origin", "charts"]);
    s.git(&["fetch", "-q", "origin"]);
    let err = refused(&s, &["apply", "--yes"], 1, "`origin/release` would have no index.yaml");
    assert!(err.contains("chart-releaser starts an empty index"), "{err}");
}

#[test]
fn a_clone_behind_its_remote_is_planned_against_the_remote_or_asked_to_fetch_offline() {
    let s = Sandbox::new();
    let tip = s.teammate_pushes("charts", "NOTICE");
    let err = refused(&s, &["plan", "--no-fetch"], 1, "this clone does not have commit");
    assert!(err.contains("hint: run `git fetch origin` and plan again"), "{err}");
    let run = s.rebranch(&["plan"]).expect(0);
    let short = &tip[..7];
    assert!(run.stdout.contains(&format!("create at {short} (tip of charts)")), "{}", run.stdout);
    assert_eq!(s.git(&["rev-parse", "refs/remotes/origin/charts"]).trim(), tip);
}
