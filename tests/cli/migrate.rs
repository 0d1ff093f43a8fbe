//! The guided migration driven through a real pseudo-terminal, as a person would use it.

use std::process::Command;
use std::time::Duration;

use expectrl::{Eof, Expect, Session};
use rebranch_standin::cloudflare::{StandIn, StandInProject, TokenRule};

use crate::support::{Sandbox, hermetic};

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";
const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const TOKEN: &str = "cfut_migrate_test_token";

type Pty = Session<expectrl::process::unix::UnixProcess, expectrl::process::unix::PtyStream>;

fn migrate(s: &Sandbox, env: &[(&str, &str)]) -> Pty {
    migrate_with(s, &[], env)
}

fn migrate_with(s: &Sandbox, args: &[&str], env: &[(&str, &str)]) -> Pty {
    migrate_in(s, &s.clone, args, env)
}

fn migrate_in(s: &Sandbox, dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Pty {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rebranch"));
    cmd.arg("migrate").args(args).current_dir(dir);
    hermetic(&mut cmd, s.dir.path());
    cmd.env_remove("CI").env_remove("NO_COLOR").env("TERM", "xterm-256color");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut session = Session::spawn(cmd).expect("spawn migrate in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(60)));
    session
}

/// Waits for `prompt` on the screen, then types `keys`.
#[track_caller]
fn answer(pty: &mut Pty, prompt: &str, keys: &[&str]) {
    if let Err(e) = pty.expect(prompt) {
        panic!("never saw {prompt:?}: {e}");
    }
    std::thread::sleep(Duration::from_millis(150));
    for k in keys {
        pty.send(k).unwrap();
        std::thread::sleep(Duration::from_millis(80));
    }
}

#[track_caller]
fn finish(pty: &mut Pty, last: &str) -> i32 {
    if let Err(e) = pty.expect(last) {
        panic!("never saw {last:?}: {e}");
    }
    let _ = pty.expect(Eof);
    match pty.get_process().wait() {
        Ok(expectrl::process::unix::WaitStatus::Exited(_, code)) => code,
        other => panic!("unexpected end: {other:?}"),
    }
}

fn answer_reviews(pty: &mut Pty) {
    answer(pty, "[1/3] .github/workflows/publish-readme.yml:19:30", &[]);
    answer(pty, "`charts` here", &[ENTER]);
    answer(pty, "[2/3] .github/workflows/release.yml:12:26", &[]);
    answer(pty, "`charts` here", &[DOWN, ENTER]);
    answer(pty, "[3/3] .github/workflows/release.yml:12:41", &[]);
    answer(pty, "`charts` here", &[ENTER]);
}

/// The Pages stand-in serving the sample's project from `charts`, and its base URL.
fn pages_standin() -> (StandIn, String) {
    let project = StandInProject::git(ACCOUNT, "acme-helm-charts", "charts");
    let standin = StandIn::start(vec![project], vec![TokenRule::edit(TOKEN)]).unwrap();
    let base = standin.base_url();
    (standin, base)
}

#[test]
fn happy_path_with_pages_and_reviews() {
    let s = Sandbox::new();
    let (standin, base) = pages_standin();
    let before = s.remote_heads();
    let mut pty = migrate(
        &s,
        &[
            ("CLOUDFLARE_API_BASE_URL", &base),
            ("CLOUDFLARE_API_TOKEN", TOKEN),
            ("CLOUDFLARE_ACCOUNT_ID", ACCOUNT),
            ("REBRANCH_PAGES_POLL_MS", "20"),
        ],
    );
    answer(&mut pty, "served by a Cloudflare Pages project?", &[ENTER]);
    answer(&mut pty, "pages        project acme-helm-charts", &[]);
    answer_reviews(&mut pty);
    answer(&mut pty, "What it means for teammates", &[]);
    answer(&mut pty, "Apply these 7 changes?", &["y"]);
    let code = finish(&mut pty, "git remote set-head origin -a");
    assert_eq!(code, 0);

    let after = s.remote_heads();
    assert_eq!(after.get("release"), before.get("charts"));
    assert!(!after.contains_key("charts"));
    let main = &after["main"];
    let comment =
        crate::support::git(&s.origin, &["show", &format!("{main}:.github/workflows/release.yml")]);
    assert!(
        comment.contains("# Publishes packaged charts to the `release` branch"),
        "keep and rewrite on one line: {comment}"
    );
    let state = standin.state();
    let project = &state.project(ACCOUNT, "acme-helm-charts").unwrap().project;
    assert_eq!(project["production_branch"], "release");
}

#[test]
fn declining_changes_nothing_and_answers_are_remembered() {
    let s = Sandbox::new();
    let before = (s.remote_heads(), s.local_state());
    let mut pty = migrate(&s, &[]);
    answer(&mut pty, "served by a Cloudflare Pages project?", &[DOWN, ENTER]);
    answer_reviews(&mut pty);
    answer(&mut pty, "Apply these 6 changes?", &["n"]);
    assert_eq!(finish(&mut pty, "Nothing was changed."), 0);
    assert_eq!((s.remote_heads(), s.local_state()), before);

    let mut again = migrate(&s, &[]);
    answer(&mut again, "served by a Cloudflare Pages project?", &[DOWN, ENTER]);
    let screen = again.expect("Apply these 6 changes?").unwrap();
    let screen = String::from_utf8_lossy(screen.before()).into_owned();
    assert!(screen.contains("What I found"), "{screen}");
    assert!(!screen.contains("[1/3]"), "the saved answers were not asked again: {screen}");
    again.send("n").unwrap();
    assert_eq!(finish(&mut again, "Nothing was changed."), 0);
}

/// On a repository with `master` and `gh-pages`, migrate asks about the branches it found,
/// preselected, before any other question, and plans with them.
#[test]
fn detected_branches_are_asked_first_and_preselected() {
    let s = Sandbox::new();
    crate::support::git(&s.origin, &["branch", "-m", "main", "master"]);
    crate::support::git(&s.origin, &["branch", "-m", "charts", "gh-pages"]);
    crate::support::git(&s.origin, &["symbolic-ref", "HEAD", "refs/heads/master"]);
    let clone = s.dir.path().join("legacy");
    let url = s.origin.to_str().unwrap();
    crate::support::git(s.dir.path(), &["clone", "-q", url, clone.to_str().unwrap()]);
    let before = s.remote_heads();
    let mut pty = migrate_in(&s, &clone, &[], &[]);
    answer(&mut pty, "Which branch is `main` of the plan?", &[]);
    answer(&mut pty, "master (origin's HEAD)", &[ENTER]);
    answer(&mut pty, "Which branch is `from` of the plan?", &[]);
    answer(&mut pty, "gh-pages (the only branch holding index.yaml)", &[ENTER]);
    // Only then the Pages question, and a plan made with what was found.
    answer(&mut pty, "served by a Cloudflare Pages project?", &[DOWN, ENTER]);
    answer(&mut pty, "origin/gh-pages", &[]);
    answer(&mut pty, "detected main=master", &[]);
    answer(&mut pty, "changes?", &["n"]);
    assert_eq!(finish(&mut pty, "Nothing was changed."), 0);
    assert_eq!(s.remote_heads(), before);
}

#[test]
fn failure_mid_apply_answered_with_roll_back() {
    let s = Sandbox::new();
    let before = s.remote_heads();
    let mut pty = migrate(&s, &[("REBRANCH_FAULT", "fail-before:4")]);
    answer(&mut pty, "served by a Cloudflare Pages project?", &[DOWN, ENTER]);
    answer_reviews(&mut pty);
    answer(&mut pty, "Apply these 6 changes?", &["y"]);
    answer(&mut pty, "The migration stopped at step 4", &[]);
    answer(&mut pty, "What now?", &[ENTER]);
    assert_eq!(finish(&mut pty, "Rolled back"), 5);
    assert_eq!(s.remote_heads(), before, "every ref is back");
}

#[test]
fn without_a_terminal_migrate_points_at_plan_and_apply() {
    let s = Sandbox::new();
    let run = s.rebranch_raw(&["migrate"]).expect(1);
    assert!(run.stderr.contains("there is no terminal"), "{}", run.stderr);
    assert!(run.stderr.contains("rebranch apply --yes"), "{}", run.stderr);
}

#[test]
fn asks_for_a_missing_token_and_account_without_echoing_the_token() {
    let s = Sandbox::new();
    let (_standin, base) = pages_standin();
    let mut pty = migrate_with(
        &s,
        &["--set", "cloudflare.project=acme-helm-charts"],
        &[("CLOUDFLARE_API_BASE_URL", &base)],
    );
    answer(&mut pty, "Cloudflare API token", &[TOKEN, ENTER]);
    answer(&mut pty, "Cloudflare account id", &[ACCOUNT, ENTER]);
    let screen = pty.expect("[1/3]").unwrap();
    let screen = String::from_utf8_lossy(screen.before()).into_owned();
    assert!(
        screen.contains(
            "project acme-helm-charts deploys production from charts (account 0123456789abcdef0123456789abcdef"
        ),
        "{screen}"
    );
    assert!(!screen.contains(TOKEN), "the token was echoed: {screen}");
    answer(&mut pty, "`charts` here", &[ENTER]);
    answer(&mut pty, "`charts` here", &[ENTER]);
    answer(&mut pty, "`charts` here", &[ENTER]);
    answer(&mut pty, "Apply these 7 changes?", &["n"]);
    assert_eq!(finish(&mut pty, "Nothing was changed."), 0);
}
