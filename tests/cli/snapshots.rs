//! Snapshots of what people read: every command's `--help`, and the sample's plan with and
//! without colour. Refresh with `INSTA_UPDATE=always cargo test --test cli snapshots`, then
//! review the diff.

use crate::support::{Sandbox, rebranch_env};

const COMMANDS: [&str; 15] = [
    "plan",
    "apply",
    "status",
    "rollback",
    "migrate",
    "rewrite",
    "batch",
    "batch apply",
    "batch report",
    "completions",
    "man",
    "split",
    "prune",
    "demo",
    "",
];

#[test]
fn help_of_every_command() {
    let dir = tempfile::tempdir().unwrap();
    for command in COMMANDS {
        let mut args: Vec<&str> = command.split_whitespace().collect();
        args.push("--help");
        let run = rebranch_env(dir.path(), dir.path(), &args, &[]).expect(0);
        let name = if command.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", command.replace(' ', "_"))
        };
        insta::assert_snapshot!(name, run.stdout);
    }
}

/// The sample's plan, with paths and the time-dependent parts fixed.
fn plan_output(color: bool) -> String {
    let s = Sandbox::new();
    let mut env = vec![("SOURCE_DATE_EPOCH", "1764000000")];
    if color {
        env.push(("CLICOLOR_FORCE", "1"));
    }
    let mut cmd = vec!["plan"];
    if color {
        // NO_COLOR is set by the hermetic environment; an empty value means unset.
        env.push(("NO_COLOR", ""));
    }
    cmd.push("--detailed-exitcode");
    let run = s.rebranch_env(&cmd, &env).expect(2);
    run.stdout.replace(&s.dir.path().display().to_string(), "[SANDBOX]")
}

#[test]
fn plan_without_colour() {
    let out = plan_output(false);
    assert!(!out.contains('\x1b'));
    insta::assert_snapshot!("plan_plain", out);
}

#[test]
fn plan_with_colour() {
    let out = plan_output(true);
    assert!(out.contains("\x1b[32m+\x1b[0m"), "green + for a create");
    insta::assert_snapshot!("plan_colour", out.replace('\x1b', "\\e"));
}
