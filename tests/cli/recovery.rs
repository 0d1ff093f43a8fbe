//! Recovery with teammates pushing: a resume plans again against live state, a rollback is
//! planned against live state and checked before its first change, and neither drops
//! anyone's work. The origin is served by a loopback `git daemon` whose pre-receive hook can
//! pause a push, so a teammate's push lands in the middle of an apply.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Daemon, git, git_status};
use crate::world::{ACCOUNT, PROJECT, TOKEN, World};

/// The world with its origin behind a git daemon.
fn served() -> (World, Daemon) {
    World::served()
}

/// A pre-receive hook that holds any push of `refname` until `go` exists, saying so by
/// creating `paused`.
fn pause_pushes_of(bare: &Path, refname: &str) {
    let dir = bare.display();
    let script = format!(
        "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = \"{refname}\" ]; then\n    touch {dir}/paused\n    i=0\n    while [ ! -e {dir}/go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n  fi\ndone\nexit 0\n"
    );
    let hook = bare.join("hooks/pre-receive");
    std::fs::write(&hook, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn wait_for(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !path.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Unreachable objects of a bare repository, as `git fsck` lists them.
fn unreachable(bare: &Path) -> Vec<String> {
    let out = git(bare, &["fsck", "--unreachable", "--no-reflogs", "--no-progress"]);
    let mut lines: Vec<String> = out.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

fn is_ancestor(bare: &Path, a: &str, b: &str) -> bool {
    git_status(bare, &["merge-base", "--is-ancestor", a, b]).code == 0
}

/// A teammate pushes to `main` while the apply's first push is held by the hook: the apply
/// stops at the CI commit (its lease no longer holds), `apply --yes` plans the rest again
/// and completes with the teammate's commit under the rewrite; rollback then restores every
/// ref but `main`, which keeps their commit under a revert.
#[test]
fn a_push_to_main_during_apply_is_kept_by_resume_and_by_rollback() {
    let (w, _daemon) = served();
    let before = w.snapshot();
    let unreachable_before = unreachable(&w.s.origin);
    pause_pushes_of(&w.s.origin, "refs/heads/release");
    let child = w.spawn(&["apply", "--yes"], &[]);
    wait_for(&w.s.origin.join("paused"));
    let theirs = w.s.teammate_pushes("main", "NOTICE");
    std::fs::write(w.s.origin.join("go"), "").unwrap();
    let first = w.collect(child);
    assert_eq!(first.code, 5, "{}", first.stderr);
    assert!(first.stderr.contains("origin/main"), "{}", first.stderr);
    assert!(first.stderr.contains("plans the rest again"), "{}", first.stderr);

    let run = w.run(&["apply", "--yes"], &[]).expect(0);
    assert!(run.stderr.contains("planning the rest again"), "{}", run.stderr);
    let heads = w.s.remote_heads();
    let main = heads["main"].clone();
    assert_eq!(git(&w.s.origin, &["rev-parse", &format!("{main}^")]).trim(), theirs);
    assert!(heads.contains_key("release") && !heads.contains_key("charts"), "{heads:?}");
    assert_eq!(heads["integration"], main, "integration carries the rewrite");
    w.run(&["plan", "--detailed-exitcode"], &[]).expect(0);

    // main is where the second run left it: the rewrite is taken back exactly, onto theirs.
    w.run(&["rollback", "--yes"], &[]).expect(0);
    let after = w.snapshot();
    let mut expected = before.remote.clone();
    let main_now = after.remote["refs/heads/main"].clone();
    expected.insert("refs/heads/main".to_string(), main_now.clone());
    expected.insert("HEAD".to_string(), main_now.clone());
    assert_eq!(after.remote, expected, "every ref back but main");
    assert_eq!(main_now, theirs, "their commit kept, the rewrite taken back");
    let changed =
        git(&w.s.origin, &["diff", "--name-only", &before.remote["refs/heads/main"], &main_now]);
    assert_eq!(changed.trim(), "NOTICE", "main's files are as before, plus theirs");
    assert_eq!(after.pages, before.pages, "Pages as before");
    let gone: Vec<String> = unreachable(&w.s.origin)
        .into_iter()
        .filter(|l| !unreachable_before.contains(l) && l.starts_with("unreachable commit"))
        .collect();
    // Only the rewrite commit (ours, taken back) may dangle; nothing anyone else pushed.
    assert!(gone.len() <= 1, "{gone:?}");
    assert!(gone.iter().all(|l| !l.contains(&theirs)), "{gone:?}");
}

/// When someone pushed on top of the rewrite, rollback reverts it with a new commit on top
/// of their work instead of moving `main` back over it.
#[test]
fn work_on_top_of_the_rewrite_is_kept_by_a_revert() {
    let (w, _daemon) = served();
    let before = w.snapshot();
    w.run(&["apply", "--yes"], &[]).expect(0);
    let theirs = w.s.teammate_pushes("main", "NOTICE");
    let run = w.run(&["rollback", "--yes"], &[]).expect(0);
    assert!(run.stdout.contains("reverted by a new commit on top"), "{}", run.stdout);
    let main = w.s.remote_heads()["main"].clone();
    assert_eq!(git(&w.s.origin, &["rev-parse", &format!("{main}^")]).trim(), theirs);
    let changed =
        git(&w.s.origin, &["diff", "--name-only", &before.remote["refs/heads/main"], &main]);
    assert_eq!(changed.trim(), "NOTICE", "the CI files are back as they were");
    assert!(is_ancestor(&w.s.origin, &theirs, &main));
    let subject = git(&w.s.origin, &["log", "-1", "--format=%s", &main]);
    assert!(subject.starts_with("Revert \"ci: follow the rename"), "{subject}");
}

/// After the migration a teammate publishes a chart to `release` and CI deploys it. The
/// rollback keeps that publication (on `charts`, which comes back at `release`'s tip) and
/// serves it (a deployment of `charts`, never the older pre-migration one).
#[test]
fn a_publication_after_the_migration_is_kept_and_served_by_rollback() {
    let (w, _daemon) = served();
    let before = w.snapshot();
    let unreachable_before = unreachable(&w.s.origin);
    w.run(&["apply", "--yes"], &[]).expect(0);
    let theirs = w.s.teammate_pushes("release", "charts-index-bump.txt");
    deploy(&w, "release");
    let serving_before_rollback = w.pages().2.unwrap();

    let run = w.run(&["rollback", "--yes"], &[]).expect(0);
    assert!(run.stdout.contains("at the tip of release"), "{}", run.stdout);
    assert!(run.stdout.contains("then build and serve `charts` again"), "{}", run.stdout);
    let heads = w.s.remote_heads();
    assert_eq!(heads["charts"], theirs, "their publication is on charts");
    assert!(!heads.contains_key("release") && !heads.contains_key("integration"), "{heads:?}");
    assert_eq!(heads["main"], before.remote["refs/heads/main"], "main exactly as before");
    let (branch, source, serving) = w.pages();
    assert_eq!((branch.as_str(), source.as_deref()), ("charts", Some("charts")));
    let state = w.standin.state();
    let rec = state.project(ACCOUNT, PROJECT).unwrap();
    let order = |id: &str| rec.deployments.iter().position(|d| d.id() == id).unwrap();
    let serving = serving.unwrap();
    assert!(order(&serving) > order(&serving_before_rollback), "never an older deployment");
    let live = &rec.deployments[order(&serving)];
    assert_eq!(live.value["deployment_trigger"]["metadata"]["branch"], "charts");
    let new: Vec<String> = unreachable(&w.s.origin)
        .into_iter()
        .filter(|l| !unreachable_before.contains(l) && l.starts_with("unreachable commit"))
        .collect();
    // The rewrite commit is taken back whole (main was where the migration left it).
    assert!(new.len() <= 1, "nothing but the rewrite commit dangles: {new:?}");
    assert!(new.iter().all(|l| !l.contains(&theirs)), "{new:?}");
}

/// A journal whose rewrite commit is named with another parent, its chain recomputed by
/// whoever edited it, is still refused: the parent is checked against the object.
#[test]
fn a_forged_journal_is_refused_by_the_objects_themselves() {
    let (w, _daemon) = served();
    w.run(&["apply", "--yes"], &[]).expect(0);
    let (path, forged) = w.journal_with_another_parent();
    // Recompute the chain, as a careful forger would.
    let mut prev: Option<String> = None;
    let mut out = String::new();
    for line in forged.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        if let (Some(o), Some(p)) = (v.as_object_mut(), &prev) {
            o.insert("prev".into(), serde_json::Value::String(p.clone()));
        }
        let line = serde_json::to_string(&v).unwrap();
        prev = Some(
            git2::Oid::hash_object(git2::ObjectType::Blob, line.as_bytes()).unwrap().to_string(),
        );
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(&path, out).unwrap();
    let remote = w.s.remote_heads();
    let run = w.run(&["rollback", "--yes"], &[]).expect(3);
    assert!(run.stderr.contains("the journal does not match the repository"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert_eq!(w.s.remote_heads(), remote);
}

/// A file name with a terminal escape, a newline or a bidi override is shown escaped.
#[test]
fn names_with_escapes_are_shown_escaped() {
    let w = World::new();
    let mate = w.s.teammate();
    let evil = ".github/workflows/x\u{1b}[2K\u{202e}lmy.yml";
    std::fs::write(mate.join(evil), "on:\n  push:\n    branches: [charts]\n").unwrap();
    git(&mate, &["add", "."]);
    git(&mate, &["commit", "-q", "-m", "teammate: a workflow"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    let run = w.run(&["plan"], &[]).expect(0);
    assert!(!run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{202e}'), "{:?}", run.stdout);
    assert!(run.stdout.contains("x\\u{1b}[2K\\u{202e}lmy.yml"), "{}", run.stdout);
}

/// A production deployment of `branch`, as the project's CI would make it.
fn deploy(w: &World, branch: &str) {
    use rebranch::cloudflare::{Config, PagesClient, PollOptions};
    use rebranch::http::ReqwestTransport;
    let env = |k: &str| match k {
        "CLOUDFLARE_API_BASE_URL" => Some(w.base.clone()),
        "CLOUDFLARE_API_TOKEN" => Some(TOKEN.to_string()),
        "CLOUDFLARE_ACCOUNT_ID" => Some(ACCOUNT.to_string()),
        _ => None,
    };
    let config = Config::from_env(env).unwrap();
    let transport = ReqwestTransport::new(Default::default()).unwrap();
    let client = PagesClient::new(transport, &config).unwrap();
    let poll = PollOptions { interval: Duration::from_millis(10), ..PollOptions::default() };
    rebranch::cloudflare::verify_deployment(
        &client,
        PROJECT,
        branch,
        &rebranch::service::NoPolls,
        &poll,
    )
    .unwrap();
}
