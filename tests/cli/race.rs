//! Races against a remote served by a loopback `git daemon` (the real protocol, where
//! receive-pack checks old values and runs hooks), since libgit2's local transport
//! skips both.

use std::path::Path;

use crate::support::{Daemon, Sandbox, git, ls_remote};
use rebranch::exec::effects::{Effects, GitEffects};
use rebranch::git::remote::RefUpdate;

/// A sample whose origin is served over git://.
fn served() -> (Sandbox, Daemon) {
    let s = Sandbox::new();
    git(&s.origin, &["config", "receive.denyDeletes", "false"]);
    let daemon = Daemon::serve(s.origin.parent().unwrap());
    git(&s.clone, &["remote", "set-url", "origin", &daemon.url("origin.git")]);
    (s, daemon)
}

#[test]
fn push_between_observe_and_apply_is_caught_by_the_lease() {
    let (s, _daemon) = served();
    let repo = git2::Repository::open(&s.clone).unwrap();
    let mut fx = GitEffects::new(&repo);
    let observed = fx.remote_head("origin", "charts").unwrap().unwrap();

    let theirs = s.teammate_pushes("charts", "NOTICE");
    let err = fx
        .push("origin", &RefUpdate { branch: "charts".into(), expect: Some(observed), new: None })
        .unwrap_err()
        .to_string();
    assert!(err.contains("remote branch `charts` is at"), "{err}");
    assert!(err.contains("not at"), "{err}");
    assert_eq!(ls_remote(&s.origin)["charts"], theirs, "their push survived");
}

#[test]
fn apply_over_the_daemon_migrates() {
    let (s, _daemon) = served();
    let before = ls_remote(&s.origin);
    s.rebranch(&["apply", "--yes"]).expect(0);
    let after = ls_remote(&s.origin);
    assert_eq!(after.get("release"), before.get("charts"));
    assert!(!after.contains_key("charts"));
    s.rebranch(&["rollback", "--yes"]).expect(0);
    assert_eq!(ls_remote(&s.origin), before);
}

#[test]
fn rejected_ref_stops_the_apply_with_exit_5() {
    let (s, _daemon) = served();
    install_hook(
        &s.origin,
        "refs/heads/charts",
        "GH006: Protected branch update failed for refs/heads/charts.",
    );
    let run = s.rebranch(&["apply", "--yes"]).expect(5);
    assert!(run.stderr.contains("apply stopped at step 4"), "{}", run.stderr);
    assert!(run.stderr.contains("rejected"), "{}", run.stderr);
    assert!(ls_remote(&s.origin).contains_key("charts"), "charts kept");
    std::fs::remove_file(s.origin.join("hooks/pre-receive")).unwrap();
    s.rebranch(&["apply"]).expect(0);
    assert!(!ls_remote(&s.origin).contains_key("charts"));
}

#[test]
fn rollback_never_clobbers_work_pushed_after_the_migration() {
    let (s, _daemon) = served();
    let before = ls_remote(&s.origin);
    s.rebranch(&["apply", "--yes"]).expect(0);
    let theirs = s.teammate_pushes("release", "NOTICE");

    let run = s.rebranch(&["rollback", "--yes"]).expect(0);
    assert!(run.stdout.contains("at the tip of release"), "{}", run.stdout);
    let after = ls_remote(&s.origin);
    assert_eq!(after["charts"], theirs, "charts comes back holding their publication");
    assert!(!after.contains_key("release"), "{after:?}");
    assert_eq!(after["main"], before["main"], "main restored exactly");
}

fn install_hook(bare: &Path, refname: &str, message: &str) {
    let hook = bare.join("hooks/pre-receive");
    let script = format!(
        "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = \"{refname}\" ]; then echo \"{message}\" >&2; exit 1; fi\ndone\nexit 0\n"
    );
    std::fs::write(&hook, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
}
