//! Faults on the wire, concurrency and secrets: the remote refusing one ref or moving under
//! the apply, the Pages API dropping connections, timing out, rate limiting, failing and
//! crawling; two applies at once; credentials in remote URLs. Retries are bounded, there is
//! a total deadline, and each run ends in a clear state that apply or rollback can finish.

use std::path::Path;
use std::time::{Duration, Instant};

use rebranch_standin::cloudflare::{Fault, FaultKind};

use crate::support::{Daemon, git};
use crate::world::{TOKEN, World, walk};

/// The world with its origin served by a loopback git daemon (hooks and old-value checks).
fn served() -> (World, Daemon) {
    World::served()
}

fn refuse_ref(bare: &Path, refname: &str) {
    let hook = bare.join("hooks/pre-receive");
    let script = format!(
        "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = \"{refname}\" ]; then echo \"refusing {refname} by policy\" >&2; exit 1; fi\ndone\nexit 0\n"
    );
    std::fs::write(&hook, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn patches(w: &World) -> usize {
    w.standin.requests().iter().filter(|r| r.method == "PATCH").count()
}

#[test]
fn remote_refusing_one_ref_stops_cleanly_and_both_ways_on_work() {
    let (w, _daemon) = served();
    let before = w.snapshot();
    refuse_ref(&w.s.origin, "refs/heads/integration");
    let run = w.run(&["apply", "--yes"], &[]).expect(5);
    assert!(run.stderr.contains("apply stopped at step 4"), "{}", run.stderr);
    assert!(
        run.stderr.contains("the remote rejected the update of `integration`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("done: step 1, step 2, step 3"), "{}", run.stderr);
    let heads = w.s.remote_heads();
    assert!(heads.contains_key("charts") && !heads.contains_key("integration"), "{heads:?}");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_eq!(w.snapshot().remote, before.remote, "rollback restored every ref");
    assert_eq!(w.snapshot().pages, before.pages);
    std::fs::remove_file(w.s.origin.join("hooks/pre-receive")).unwrap();
    w.run(&["apply", "--yes"], &[]).expect(0);
    assert_eq!(w.pages().0, "release");
}

#[test]
fn remote_moving_between_plan_and_apply_is_refused_naming_the_ref() {
    let (w, _daemon) = served();
    let plan = w.s.dir.path().join("plan.json");
    w.run(&["plan", "--out", plan.to_str().unwrap()], &[]).expect(0);
    let theirs = w.s.teammate_pushes("main", "NOTICE");
    let before = w.snapshot();
    let run = w.run(&["apply", plan.to_str().unwrap()], &[]).expect(3);
    assert!(run.stderr.contains("refused: the repository changed since"), "{}", run.stderr);
    assert!(run.stderr.contains("main"), "{}", run.stderr);
    assert_eq!(w.snapshot(), before, "nothing changed");
    assert_eq!(w.s.remote_heads()["main"], theirs);
}

#[test]
fn remote_moving_during_the_apply_is_planned_again_on_resume_and_rollback_keeps_their_work() {
    let (w, _daemon) = served();
    let before = w.snapshot();
    w.run(&["apply", "--yes"], &[("REBRANCH_FAULT", "fail-after:2")]).expect(5);
    let theirs = w.s.teammate_pushes("main", "NOTICE");
    let run = w.run(&["apply", "--yes"], &[]).expect(0);
    assert!(run.stderr.contains("planning the rest again"), "{}", run.stderr);
    let main = w.s.remote_heads()["main"].clone();
    let parent = git(&w.s.origin, &["rev-parse", &format!("{main}^")]);
    assert_eq!(parent.trim(), theirs, "the rewrite commit sits on the teammate's commit");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    let after = w.snapshot();
    let main = after.remote.get("refs/heads/main").unwrap().clone();
    let kept =
        crate::support::git_status(&w.s.origin, &["merge-base", "--is-ancestor", &theirs, &main]);
    assert_eq!(kept.code, 0, "their commit kept under the revert");
    let before_main = before.remote.get("refs/heads/main").unwrap();
    let diff = git(&w.s.origin, &["diff", "--name-only", before_main, &main]);
    assert_eq!(diff.trim(), "NOTICE", "only their file differs from before the migration");
    assert_eq!(after.remote.get("refs/heads/charts"), before.remote.get("refs/heads/charts"));
    assert!(!after.remote.contains_key("refs/heads/release"));
    assert_eq!(after.pages, before.pages);
}

/// One Pages fault during `apply --yes`: the exit code, and where it leaves things.
struct PagesCase {
    name: &'static str,
    fault: Fault,
    env: &'static [(&'static str, &'static str)],
    /// 0: completes; 5: stops at the Pages step with nothing after it done.
    code: i32,
    needle: &'static str,
}

fn pages_cases() -> Vec<PagesCase> {
    let f = |m: Option<&str>, p: &str, k: FaultKind, t: Option<u32>| Fault::new(m, p, k, t);
    vec![
        PagesCase {
            name: "connection reset on the PATCH, once",
            fault: f(Some("PATCH"), "", FaultKind::Drop, Some(1)),
            env: &[],
            code: 0,
            needle: "Applied run",
        },
        PagesCase {
            name: "connection reset on every PATCH",
            fault: f(Some("PATCH"), "", FaultKind::Drop, None),
            env: &[],
            code: 5,
            needle: "apply stopped at step 2",
        },
        PagesCase {
            name: "the PATCH is served but its answer times out, once",
            fault: f(
                Some("PATCH"),
                "",
                FaultKind::DelayAfter(Duration::from_millis(1500)),
                Some(1),
            ),
            env: &[("REBRANCH_HTTP_TIMEOUT_MS", "400")],
            code: 0,
            needle: "Applied run",
        },
        PagesCase {
            name: "every answer times out",
            fault: f(Some("GET"), "", FaultKind::DelayBefore(Duration::from_millis(1500)), None),
            env: &[("REBRANCH_HTTP_TIMEOUT_MS", "300")],
            code: 1,
            needle: "Pages project \"acme-helm-charts\"",
        },
        PagesCase {
            name: "a 429 storm on the PATCH",
            fault: f(Some("PATCH"), "", FaultKind::RateLimit { retry_after_secs: Some(1) }, None),
            env: &[],
            code: 5,
            needle: "apply stopped at step 2",
        },
        PagesCase {
            name: "a 429 asking to wait an hour",
            fault: f(
                Some("PATCH"),
                "",
                FaultKind::RateLimit { retry_after_secs: Some(3600) },
                None,
            ),
            env: &[],
            code: 5,
            needle: "apply stopped at step 2",
        },
        PagesCase {
            name: "502 from the edge (HTML), twice",
            fault: f(None, "/projects/", FaultKind::ServerError { status: 502 }, Some(2)),
            env: &[],
            code: 0,
            needle: "Applied run",
        },
        PagesCase {
            name: "503 on the deployment POST, forever",
            fault: f(Some("POST"), "", FaultKind::ServerError { status: 503 }, None),
            env: &[],
            code: 5,
            needle: "apply stopped at step 2",
        },
        PagesCase {
            name: "connection reset on the deployment POST, once",
            fault: f(Some("POST"), "", FaultKind::Drop, Some(1)),
            env: &[],
            code: 0,
            needle: "Applied run",
        },
        PagesCase {
            name: "a slow server",
            fault: f(None, "", FaultKind::DelayBefore(Duration::from_millis(60)), None),
            env: &[],
            code: 0,
            needle: "Applied run",
        },
        PagesCase {
            name: "500 forever, with a short total deadline",
            fault: f(Some("PATCH"), "", FaultKind::ServerError { status: 500 }, None),
            env: &[("REBRANCH_API_DEADLINE_MS", "1200")],
            code: 5,
            needle: "apply stopped at step 2",
        },
    ]
}

#[test]
fn pages_api_faults_are_retried_within_bounds_and_end_in_a_clear_state() {
    let cases = pages_cases();
    for case in &cases {
        let w = World::new();
        let before = w.snapshot();
        w.standin.inject(case.fault.clone());
        let started = Instant::now();
        let run = w.run(&["apply", "--yes"], case.env);
        let took = started.elapsed();
        eprintln!("[{}] exit {} in {took:?}\n{}", case.name, run.code, run.stderr.trim_end());
        assert_eq!(run.code, case.code, "{}: {}", case.name, run.all());
        assert!(run.all().contains(case.needle), "{}: {}", case.name, run.all());
        assert!(patches(&w) <= 8, "{}: bounded retries, {} PATCHes", case.name, patches(&w));
        assert!(w.standin.requests().len() < 200, "{}: bounded requests", case.name);
        let now = w.snapshot();
        match case.code {
            0 => assert_eq!(now.pages.0, "release", "{}", case.name),
            1 => assert_eq!(now, before, "{}: nothing changed", case.name),
            _ => {
                // Stopped at the Pages step: nothing after it ran; both ways on work.
                assert_eq!(now.remote.get("refs/heads/main"), before.remote.get("refs/heads/main"));
                assert!(now.remote.contains_key("refs/heads/charts"), "{}", case.name);
                assert!(run.stderr.contains("`rebranch rollback` undoes"), "{}", case.name);
                w.standin.clear_faults();
                w.run(&["rollback", "--yes"], &[]).expect(0);
                assert_eq!(w.snapshot(), before, "{}: rollback restored everything", case.name);
            }
        }
        for out in w.outputs.borrow().iter() {
            assert!(!out.contains(TOKEN), "{}: token printed", case.name);
        }
    }
    eprintln!("Pages fault cases: {}", cases.len());
}

#[test]
fn two_applies_at_once_the_lock_wins_and_a_killed_holder_is_taken_over() {
    let w = World::new();
    let before = w.snapshot();
    // The first apply holds the lock while its first API call hangs.
    w.standin.inject(Fault::new(
        Some("GET"),
        "",
        FaultKind::DelayBefore(Duration::from_secs(30)),
        Some(1),
    ));
    let mut first = w.spawn(&["apply", "--yes"], &[]);
    let lock = w.s.clone.join(".git/rebranch/lock");
    let deadline = Instant::now() + Duration::from_secs(20);
    // The lock file names its holder while held, and is emptied on release.
    let held = |p: &std::path::Path| std::fs::metadata(p).is_ok_and(|m| m.len() > 0);
    while !held(&lock) {
        assert!(Instant::now() < deadline, "the first apply never took the lock");
        assert!(first.try_wait().unwrap().is_none(), "the first apply ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = w.run(&["apply", "--yes"], &[]).expect(1);
    let pid = first.id();
    assert!(second.stderr.contains("holds the lock"), "{}", second.stderr);
    assert!(second.stderr.contains(&format!("pid {pid}")), "names the holder: {}", second.stderr);
    assert_eq!(second.stderr.matches("error:").count(), 1, "{}", second.stderr);
    assert_eq!(w.snapshot(), before, "the second apply changed nothing");

    first.kill().unwrap();
    w.collect(first);
    assert!(held(&lock), "a killed holder leaves its name in the lock file");
    let third = w.run(&["apply", "--yes"], &[]).expect(0);
    assert!(
        third.stderr.contains(&format!("took over the lock left by `apply` (pid {pid}")),
        "the stale lock is explained: {}",
        third.stderr
    );
    assert!(third.stderr.contains("which no longer runs"), "{}", third.stderr);
    assert_eq!(w.pages().0, "release");
    assert!(!held(&lock), "released at the end");
}

/// A remote URL with credentials in it (the git daemon ignores them): the tool must never
/// print or store the secret, in plan text, JSON, saved plans, journals or errors.
#[test]
fn credentials_in_the_remote_url_are_redacted_everywhere() {
    const SECRET: &str = "ghp_URLSENTINEL_3e8d1";
    let (w, daemon) = served();
    let port = daemon.port;
    let url = format!("git://x-access-token:{SECRET}@127.0.0.1:{port}/origin.git");
    git(&w.s.clone, &["remote", "set-url", "origin", &url]);
    let plan = w.s.dir.path().join("plan.json");
    let mut outputs = vec![
        w.run(&["plan"], &[]).expect(0).all(),
        w.run(&["plan", "--format", "json"], &[]).expect(0).all(),
        w.run(&["plan", "--out", plan.to_str().unwrap()], &[]).expect(0).all(),
        w.run(&["status"], &[]).expect(0).all(),
        w.run(&["apply", "--yes"], &[("REBRANCH_FAULT", "fail-after:1")]).expect(5).all(),
        w.run(&["status", "--format", "json"], &[]).expect(0).all(),
        w.run(&["rollback", "--yes"], &[]).expect(0).all(),
        w.run(&["apply", plan.to_str().unwrap(), "-v"], &[]).expect(0).all(),
    ];
    // Errors that carry the URL: a saved plan for another remote, an unreachable remote.
    let other = World::new();
    let other_plan = w.s.dir.path().join("other.json");
    other.run(&["plan", "--out", other_plan.to_str().unwrap()], &[]).expect(0);
    outputs.push(w.run(&["apply", other_plan.to_str().unwrap()], &[]).expect(1).all());
    let nowhere = format!("git://x-access-token:{SECRET}@127.0.0.1:9/origin.git");
    git(&w.s.clone, &["remote", "set-url", "origin", &nowhere]);
    let unreachable = w.run(&["plan"], &[]).expect(1).all();
    assert!(unreachable.contains("git://***@127.0.0.1:9/origin.git"), "{unreachable}");
    outputs.push(unreachable);
    let shown = format!("git://***@127.0.0.1:{port}/origin.git");
    assert!(outputs.iter().any(|o| o.contains(&shown)), "{outputs:#?}");
    for out in &outputs {
        assert!(!out.contains(SECRET), "secret in output: {out}");
        assert!(!out.contains(TOKEN), "token in output: {out}");
    }
    let mut files = walk(&w.s.clone.join(".git/rebranch"));
    files.push(plan.clone());
    assert!(files.iter().any(|f| f.extension().is_some_and(|x| x == "jsonl")));
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(SECRET), "secret in {}", f.display());
        assert!(!text.contains(TOKEN), "token in {}", f.display());
    }
    let saved = std::fs::read_to_string(&plan).unwrap();
    assert!(saved.contains(&shown), "{saved}");
    for r in w.standin.requests() {
        assert!(!format!("{r:?}").contains(TOKEN), "token recorded by the stand-in");
    }
}
