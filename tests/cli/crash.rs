//! Crash points: the full ADR-002 apply of the sample, with its Pages project on the
//! stand-in, stopped at every journal boundary (before, during and after each step, by an
//! error or by aborting the process), and killed with SIGKILL at seeded random moments.
//! After each: `status` tells the truth, `apply` completes the migration, and `rollback`
//! restores the original exactly.

use std::time::{Duration, Instant};

use crate::support::Run;
use crate::world::{Lcg, Snapshot, TOKEN, World};

/// The steps of the sample's ADR-002 plan with its Pages project.
const STEPS: usize = 7;
/// Seeded random SIGKILLs.
const SIGKILL_ROUNDS: usize = 10;

/// How the process is stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// The fault hook returns an error: the executor journals the failure and exits 5.
    Fail,
    /// The fault hook aborts the process (SIGABRT): no cleanup at all, the lock is left.
    Crash,
}

/// The number of steps in the sample's plan with the Pages project.
fn step_count(w: &World) -> usize {
    let run = w.run(&["plan", "--format", "json"], &[]).expect(0);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    plan["actions"].as_array().expect("actions").len()
}

/// What the migrated world looks like, relative to the original.
#[track_caller]
fn assert_migrated(w: &World, before: &Snapshot, why: &str) {
    let now = w.snapshot();
    let r = &now.remote;
    assert_eq!(r.get("refs/heads/release"), before.remote.get("refs/heads/charts"), "{why}: {r:?}");
    assert!(!r.contains_key("refs/heads/charts"), "{why}: charts deleted: {r:?}");
    let main = &r["refs/heads/main"];
    assert_ne!(Some(main), before.remote.get("refs/heads/main"), "{why}: CI commit on main");
    assert_eq!(r.get("refs/heads/integration"), Some(main), "{why}: integration from main");
    let parent = crate::support::git(&w.s.origin, &["rev-parse", &format!("{main}^")]);
    assert_eq!(Some(parent.trim()), before.remote.get("refs/heads/main").map(String::as_str));
    assert_eq!((now.pages.0.as_str(), now.pages.1.as_deref()), ("release", Some("release")));
    let files = crate::world::tracked_files(&w.s.origin, "refs/heads/main");
    let ci: String =
        files.iter().filter(|(p, _)| p.starts_with(".github/")).map(|(_, c)| c.as_str()).collect();
    assert!(ci.contains("release"), "{why}: the CI files name release");
    assert!(w.s.local_state().contains_key("refs/heads/release"), "{why}: local release");
    assert_no_half_written(w, why);
    let status = w.status();
    assert_eq!(status["matches"], true, "{why}: status says migrated: {status}");
    assert!(status["unfinished_apply"].is_null(), "{why}: {status}");
    let again = w.run(&["plan"], &[]).expect(0);
    assert!(again.stdout.contains("No changes"), "{why}: {}", again.stdout);
}

/// The original world, exactly.
#[track_caller]
fn assert_original(w: &World, before: &Snapshot, why: &str) {
    let now = w.snapshot();
    assert_eq!(now.remote, before.remote, "{why}: every remote ref oid");
    assert_eq!(now.local, before.local, "{why}: every local ref and upstream");
    assert_eq!(now.pages, before.pages, "{why}: Pages fields and live deployment");
    assert_eq!(now.files, before.files, "{why}: main's files");
    assert_eq!(now.worktree, before.worktree, "{why}: the work tree");
    assert_no_half_written(w, why);
    let status = w.status();
    assert_eq!(status["matches"], false, "{why}: {status}");
    assert!(status["unfinished_apply"].is_null(), "{why}: {status}");
}

/// No temp files or lock files left in the clone's git dir or the origin.
#[track_caller]
fn assert_no_half_written(w: &World, why: &str) {
    for root in [w.s.clone.join(".git"), w.s.origin.clone()] {
        for f in crate::world::walk(&root) {
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            assert!(!name.ends_with(".lock"), "{why}: left behind: {}", f.display());
            assert!(!name.starts_with(".tmp"), "{why}: left behind: {}", f.display());
        }
    }
    assert_eq!(crate::support::git(&w.s.clone, &["diff", "--stat"]), "", "{why}: work tree");
}

/// `status` after a stop: it must say the apply is unfinished and whether the live state
/// matches, as the oracles see it.
#[track_caller]
fn assert_status_truthful(w: &World, before: &Snapshot, why: &str) {
    let status = w.status();
    assert!(
        status["unfinished_apply"].as_str().is_some_and(|s| s.contains("stopped part way")),
        "{why}: status names the unfinished apply: {status}"
    );
    let now = w.snapshot();
    assert_eq!(status["matches"], looks_migrated(&now), "{why}: {status}");
    if now.remote == before.remote && now.pages == before.pages {
        let pending = status["pending"].as_array().map_or(0, Vec::len);
        assert!(pending >= STEPS - 1, "{why}: all still pending: {status}");
    }
}

/// The migration's target as the oracles see it: every branch of the new architecture on
/// the remote and locally, the old one gone from both, Pages serving the new one.
fn looks_migrated(now: &Snapshot) -> bool {
    let has = |refs: &std::collections::BTreeMap<String, String>, b: &str| {
        refs.contains_key(&format!("refs/heads/{b}"))
    };
    has(&now.remote, "release")
        && has(&now.remote, "integration")
        && !has(&now.remote, "charts")
        && has(&now.local, "release")
        && has(&now.local, "integration")
        && !has(&now.local, "charts")
        && now.pages.0 == "release"
}

/// One crash point, recovered by `apply` resuming and completing (then a rollback restores
/// the original) or by `rollback` restoring it at once; the two alternate over the points.
fn crash_point(mode: Mode, point: &str, step: usize, resume: bool) {
    let fault = format!("{}-{point}:{step}", if mode == Mode::Fail { "fail" } else { "crash" });
    {
        let w = World::new();
        let before = w.snapshot();
        let run = w.run(&["apply", "--yes"], &[("REBRANCH_FAULT", &fault)]);
        check_stop(&run, mode, &fault);
        assert_status_truthful(&w, &before, &fault);
        if resume {
            let run = w.run(&["apply", "--yes"], &[]).expect(0);
            if mode == Mode::Crash {
                assert!(run.stderr.contains("took over the lock"), "{fault}: {}", run.stderr);
            }
            assert_migrated(&w, &before, &format!("{fault}, then apply"));
            w.run(&["rollback", "--yes"], &[]).expect(0);
            assert_original(&w, &before, &format!("{fault}, apply, then rollback"));
        } else {
            w.run(&["rollback", "--yes"], &[]).expect(0);
            assert_original(&w, &before, &format!("{fault}, then rollback"));
        }
        assert_no_token(&w);
    }
}

#[track_caller]
fn check_stop(run: &Run, mode: Mode, fault: &str) {
    match mode {
        Mode::Fail => {
            assert_eq!(run.code, 5, "{fault}: exit 5\n{}", run.stderr);
            assert!(run.stderr.contains("injected fault"), "{fault}: {}", run.stderr);
            assert!(run.stderr.contains("`rebranch rollback` undoes"), "{fault}: {}", run.stderr);
        }
        Mode::Crash => assert_eq!(run.code, -1, "{fault}: killed by SIGABRT\n{}", run.stderr),
    }
}

fn assert_no_token(w: &World) {
    for out in w.outputs.borrow().iter() {
        assert!(!out.contains(TOKEN), "token in output: {out}");
    }
    for f in w.state_files() {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains(TOKEN), "token in {}", f.display());
    }
    for r in w.standin.requests() {
        assert!(!format!("{:?}{}{}", r.headers, r.path, r.body).contains(TOKEN));
    }
}

/// Every boundary of one step, both modes.
fn every_point_of(step: usize) {
    for (m, mode) in [Mode::Fail, Mode::Crash].into_iter().enumerate() {
        for (p, point) in ["before", "during", "after"].into_iter().enumerate() {
            crash_point(mode, point, step, (step + m + p).is_multiple_of(2));
        }
    }
    eprintln!("step {step}: 6 crash points recovered (resume and rollback alternating)");
}

/// The crash points this module covers, for the closing note (`-- --nocapture`).
#[test]
fn crash_point_count() {
    let boundaries = STEPS * 3 * 2;
    let undo = STEPS * 2;
    let kills = SIGKILL_ROUNDS;
    eprintln!(
        "crash points: {boundaries} apply boundaries (before/during/after x fail/abort x {STEPS} steps, \
         recovered by resume or rollback in turn) + {undo} rollback boundaries + {kills} SIGKILLs \
         = {} in all",
        boundaries + undo + kills
    );
    assert_eq!(boundaries + undo + kills, 66);
}

#[test]
fn the_plan_has_seven_steps() {
    assert_eq!(step_count(&World::new()), STEPS);
}

#[test]
fn crash_points_of_step_1() {
    every_point_of(1);
}

#[test]
fn crash_points_of_step_2() {
    every_point_of(2);
}

#[test]
fn crash_points_of_step_3() {
    every_point_of(3);
}

#[test]
fn crash_points_of_step_4() {
    every_point_of(4);
}

#[test]
fn crash_points_of_step_5() {
    every_point_of(5);
}

#[test]
fn crash_points_of_step_6() {
    every_point_of(6);
}

#[test]
fn crash_points_of_step_7() {
    every_point_of(7);
}

/// A rollback of the full migration stopped before the undo of `step`; a second rollback
/// finishes it, and `apply` migrates again.
fn undo_point(mode: Mode, step: usize) {
    let fault = format!("{}-undo:{step}", if mode == Mode::Fail { "fail" } else { "crash" });
    let w = World::new();
    let before = w.snapshot();
    w.run(&["apply", "--yes"], &[]).expect(0);
    let run = w.run(&["rollback", "--yes"], &[("REBRANCH_FAULT", &fault)]);
    match mode {
        Mode::Fail => {
            assert_eq!(run.code, 5, "{fault}: {}", run.stderr);
            let at = format!("rollback stopped at step {step}");
            assert!(run.stderr.contains(&at), "{fault}: {}", run.stderr);
            assert!(run.stderr.contains("still applied:"), "{fault}: {}", run.stderr);
        }
        Mode::Crash => assert_eq!(run.code, -1, "{fault}: {}", run.stderr),
    }
    let status = w.status();
    assert_eq!(status["matches"], looks_migrated(&w.snapshot()), "{fault}: {status}");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_original(&w, &before, &format!("{fault}, then rollback"));
    w.run(&["apply", "--yes"], &[]).expect(0);
    assert_migrated(&w, &before, &format!("{fault}, rollback, then apply"));
    assert_no_token(&w);
}

#[test]
fn rollback_stopped_at_every_step_finishes_on_the_next_rollback() {
    for step in 1..=STEPS {
        for mode in [Mode::Fail, Mode::Crash] {
            undo_point(mode, step);
        }
    }
    eprintln!("rollback: {} crash points recovered", STEPS * 2);
}

/// SIGKILL at seeded random moments of an apply (or of the rollback after it); then the
/// next command recovers, whichever it is.
#[test]
fn sigkill_at_random_moments_is_recovered() {
    let mut rng = Lcg::new(0x5EED_0007);
    // How long an apply and a rollback take here, so the kills land inside them.
    let (apply_ms, rollback_ms) = {
        let w = World::new();
        let t = Instant::now();
        w.run(&["apply", "--yes"], &[]).expect(0);
        let apply = t.elapsed().as_millis() as u64;
        let t = Instant::now();
        w.run(&["rollback", "--yes"], &[]).expect(0);
        (apply, t.elapsed().as_millis() as u64)
    };
    let mut killed_mid_run = 0;
    for round in 0..SIGKILL_ROUNDS {
        let w = World::new();
        let before = w.snapshot();
        let rolling_back = rng.below(3) == 0;
        if rolling_back {
            w.run(&["apply", "--yes"], &[]).expect(0);
        }
        let span = if rolling_back { rollback_ms } else { apply_ms };
        let delay = Duration::from_millis(rng.below(span.max(1)));
        let args: &[&str] = if rolling_back { &["rollback", "--yes"] } else { &["apply", "--yes"] };
        let mut child = w.spawn(args, &[]);
        let deadline = Instant::now() + delay;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = child.kill();
        let killed = w.collect(child);
        killed_mid_run += usize::from(killed.code == -1);
        // git's own lock files the kill left (a ref or config being written through the
        // local transport); the ref or file itself is intact, as git's atomic writes keep it.
        let left: Vec<_> = [w.s.clone.join(".git"), w.s.origin.clone()]
            .iter()
            .flat_map(|root| crate::world::walk(root))
            .filter(|p| p.extension().is_some_and(|x| x == "lock"))
            .collect();
        let why =
            format!("round {round}: {} killed after {delay:?} (exit {})", args[0], killed.code);
        // The origin's own half-written files (a pack being received through libgit2's local
        // transport) are the server's to clean, as a real server does: not rebranch's.
        for lock in left.iter().filter(|p| p.starts_with(&w.s.origin)) {
            eprintln!("{why}: the origin's lock left by the kill: {}", lock.display());
            let _ = std::fs::remove_file(lock);
        }
        // Whatever state it was left in, status reads it without error.
        w.status();
        if rng.below(2) == 0 && !rolling_back {
            let out = recover(&w, &["apply", "--yes"], &why);
            assert_migrated(&w, &before, &format!("{why}, then apply, which printed:\n{out}\n"));
        }
        let out = recover(&w, &["rollback", "--yes"], &why);
        for lock in left.iter().filter(|p| p.exists()) {
            // Not needed by the recovery (it never wrote that ref again); a later write of
            // it would name it, as `recover` checks. Removed as git advises.
            eprintln!("{why}: git lock left by the kill, unused since: {}", lock.display());
            std::fs::remove_file(lock).unwrap();
        }
        assert_original(&w, &before, &format!("{why}, then rollback, which printed:\n{out}\n"));
        assert_no_token(&w);
        eprintln!("{why}: recovered");
    }
    eprintln!("SIGKILL: {killed_mid_run} of {SIGKILL_ROUNDS} runs killed part way, all recovered");
}

/// A run stopped inside a step, after its first change and before its second: the fault
/// hook stops it before the step, and the test makes the first change itself. The next
/// command must finish the step, not take it for done.
fn half_done(
    step: usize,
    first_half: impl FnOnce(&World, &serde_json::Value),
) -> (World, Snapshot) {
    let w = World::new();
    let before = w.snapshot();
    let fault = format!("fail-during:{step}");
    w.run(&["apply", "--yes"], &[("REBRANCH_FAULT", &fault)]).expect(5);
    // The plan the run applies, from its journal's first line (a separate `plan` could
    // differ: the CI commit carries the time it was planned).
    let journal = w.state_files().into_iter().find(|p| p.extension().is_some_and(|x| x == "jsonl"));
    let text = std::fs::read_to_string(journal.expect("a journal")).unwrap();
    let begin: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    first_half(&w, &begin["plan"]["actions"][step - 1]);
    (w, before)
}

#[test]
fn remote_pushed_but_tracking_ref_not_updated_is_finished() {
    let (w, before) = half_done(1, |w, a| {
        let to = a["to"].as_str().unwrap();
        crate::support::git(&w.s.origin, &["update-ref", "refs/heads/release", to]);
    });
    w.run(&["apply", "--yes"], &[]).expect(0);
    assert_eq!(
        w.s.local_state().get("refs/remotes/origin/release"),
        before.remote.get("refs/heads/charts")
    );
    assert_migrated(&w, &before, "tracking ref followed on resume");
}

#[test]
fn pages_switched_but_not_deployed_is_deployed_on_resume() {
    let (w, before) = half_done(2, |w, _| {
        w.standin.with_state(|st| {
            let p = st.projects.iter_mut().find(|p| p.name() == crate::world::PROJECT).unwrap();
            p.project["production_branch"] = "release".into();
            p.project["source"]["config"]["production_branch"] = "release".into();
        });
    });
    w.run(&["apply", "--yes"], &[]).expect(0);
    let state = w.standin.state();
    let rec = state.project(crate::world::ACCOUNT, crate::world::PROJECT).unwrap();
    let live =
        rec.deployments.iter().find(|d| Some(d.id()) == rec.canonical_deployment_id.as_deref());
    assert_eq!(live.unwrap().value["deployment_trigger"]["metadata"]["branch"], "release");
    assert_migrated(&w, &before, "deployed from release on resume");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_original(&w, &before, "then rollback");
}

#[test]
fn pages_switched_back_but_still_serving_the_new_deployment_is_restored() {
    let w = World::new();
    let before = w.snapshot();
    w.run(&["apply", "--yes"], &[]).expect(0);
    // A rollback stopped after its PATCH, before the deployment was put back.
    w.run(&["rollback", "--yes"], &[("REBRANCH_FAULT", "fail-undo:2")]).expect(5);
    w.standin.with_state(|st| {
        let p = st.projects.iter_mut().find(|p| p.name() == crate::world::PROJECT).unwrap();
        p.project["production_branch"] = "charts".into();
        p.project["source"]["config"]["production_branch"] = "charts".into();
    });
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_original(&w, &before, "the old deployment is live again");
}

#[test]
fn ci_commit_pushed_with_work_tree_half_checked_out_is_finished() {
    let (w, before) = half_done(3, |w, a| {
        let mut action = a.clone();
        action.as_object_mut().unwrap().remove("id");
        action.as_object_mut().unwrap().remove("summary");
        action.as_object_mut().unwrap().remove("kind");
        let commit: rebranch::plan::action::CiCommit = serde_json::from_value(action).unwrap();
        let repo = git2::Repository::open(&w.s.clone).unwrap();
        use rebranch::exec::effects::Effects;
        let made = rebranch::exec::effects::GitEffects::new(&repo).write_commit(&commit).unwrap();
        assert_eq!(made.to_string(), commit.commit);
        let git = |args: &[&str]| crate::support::git(&w.s.clone, args);
        git(&["push", "-q", "origin", &format!("{}:refs/heads/main", commit.commit)]);
        // The files and index are at the new commit; the branch has not moved yet.
        let paths: Vec<&str> = commit.files.iter().map(|f| f.path.as_str()).collect();
        let mut args = vec!["checkout", commit.commit.as_str(), "--"];
        args.extend(paths);
        git(&args);
    });
    w.run(&["apply", "--yes"], &[]).expect(0);
    assert_eq!(w.s.git(&["rev-parse", "main"]).trim(), w.s.remote_heads()["main"]);
    assert_migrated(&w, &before, "local main followed, work tree clean");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_original(&w, &before, "then rollback");
}

#[test]
fn local_rename_without_its_upstream_is_finished() {
    let (w, before) = half_done(6, |w, _| {
        w.s.git(&["branch", "-m", "charts", "release"]);
    });
    w.run(&["apply", "--yes"], &[]).expect(0);
    let state = w.s.local_state();
    assert_eq!(state.get("branch.release.merge").map(String::as_str), Some("refs/heads/release"));
    assert_migrated(&w, &before, "upstream set on resume");
}

/// The ref renamed but its config section not: the config left under the old name goes.
#[test]
fn local_rename_with_its_config_left_behind_is_finished() {
    let (w, before) = half_done(6, |w, _| {
        w.s.git(&["update-ref", "refs/heads/release", "refs/heads/charts"]);
        w.s.git(&["update-ref", "-d", "refs/heads/charts"]);
    });
    w.run(&["apply", "--yes"], &[]).expect(0);
    let state = w.s.local_state();
    assert!(!state.contains_key("branch.charts.merge"), "{state:?}");
    assert_migrated(&w, &before, "config moved on resume");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_original(&w, &before, "then rollback");
}

#[test]
fn local_branch_created_without_its_upstream_is_finished() {
    let (w, before) = half_done(7, |w, a| {
        let oid = a["to"]["oid"].as_str().unwrap();
        w.s.git(&["branch", "--no-track", "integration", oid]);
    });
    w.run(&["apply", "--yes"], &[]).expect(0);
    let state = w.s.local_state();
    assert_eq!(
        state.get("branch.integration.merge").map(String::as_str),
        Some("refs/heads/integration")
    );
    assert_migrated(&w, &before, "upstream set on resume");
    w.run(&["rollback", "--yes"], &[]).expect(0);
    assert_original(&w, &before, "then rollback");
}

/// Runs a recovering command. A SIGKILL in the middle of a ref update through libgit2's
/// local transport leaves git's own `<ref>.lock` file behind, as a killed `git` would; the
/// next run must then name that file, and once it is removed (as git's own message says to
/// do when no git process runs) the command must succeed.
/// Runs the recovering command (once more after removing a stale git lock it names);
/// returns what it printed, for the messages of the checks that follow.
fn recover(w: &World, args: &[&str], why: &str) -> String {
    let run = w.run(args, &[]);
    if run.code == 0 {
        return run.all();
    }
    let text = run.all();
    let lock = text
        .split('\'')
        .find(|p| p.ends_with(".lock"))
        .unwrap_or_else(|| panic!("{why}: {} failed without naming a lock file: {text}", args[0]));
    assert_eq!(run.code, 5, "{why}: {text}");
    eprintln!("{why}: a stale git lock was left, {lock}; removed, as git advises");
    std::fs::remove_file(lock).unwrap();
    w.run(args, &[]).expect(0).all()
}
