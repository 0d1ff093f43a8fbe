//! Test support: sample repositories on disk, the `git` CLI as the independent oracle,
//! the `rebranch` binary run in a hermetic environment, and a loopback `git daemon`.

#![allow(dead_code)]

pub mod fleet;
pub mod https;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A sample Helm chart repository (the demo's) with a bare origin, in a temp dir.
pub struct Sandbox {
    pub dir: TempDir,
    pub clone: PathBuf,
    pub origin: PathBuf,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        let dir = tempfile::tempdir().expect("temp dir");
        let sample = rebranch::demo::create(dir.path()).expect("sample repository");
        Sandbox { clone: sample.clone, origin: sample.origin, dir }
    }

    /// Runs rebranch in the clone, with the sample's review items resolved.
    pub fn rebranch(&self, args: &[&str]) -> Run {
        self.rebranch_env(args, &[])
    }

    /// Runs rebranch in the clone with extra environment, review items resolved.
    pub fn rebranch_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all: Vec<&str> = args.to_vec();
        for r in rebranch::demo::SAMPLE_RESOLUTIONS {
            all.extend(["--resolve", r]);
        }
        rebranch_env(&self.clone, self.dir.path(), &all, env)
    }

    /// Runs rebranch in the clone exactly with `args`.
    pub fn rebranch_raw(&self, args: &[&str]) -> Run {
        rebranch_in(&self.clone, self.dir.path(), args)
    }

    /// Runs git in the clone.
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.clone, args)
    }

    /// The origin's branches, as `git ls-remote --heads` reports them.
    pub fn remote_heads(&self) -> BTreeMap<String, String> {
        ls_remote(&self.origin)
    }

    /// Every ref of the clone with its oid, and every branch's upstream config.
    pub fn local_state(&self) -> BTreeMap<String, String> {
        let mut state = BTreeMap::new();
        let refs = self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
        for line in refs.lines() {
            let (name, oid) = line.split_once(' ').expect("ref line");
            if !name.starts_with("refs/rebranch/") {
                state.insert(name.to_string(), oid.to_string());
            }
        }
        let config = git_status(&self.clone, &["config", "--get-regexp", "^branch\\."]);
        for line in config.stdout.lines() {
            let (k, v) = line.split_once(' ').expect("config line");
            state.insert(k.to_string(), v.to_string());
        }
        state
    }

    /// Asserts that the clone's state is `before`, but for remote-tracking refs brought up
    /// to the remote's branches (what a fetch does).
    #[track_caller]
    pub fn assert_unchanged_but_fetched(&self, before: &BTreeMap<String, String>) {
        let (after, remote) = (self.local_state(), self.remote_heads());
        let fetched = |k: &str| {
            k.strip_prefix("refs/remotes/origin/")
                .is_some_and(|b| remote.contains_key(b) && remote.get(b) == after.get(k))
        };
        let keep = |m: &BTreeMap<String, String>| -> BTreeMap<String, String> {
            m.iter().filter(|(k, _)| !fetched(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        assert_eq!(keep(&after), keep(before), "clone unchanged (but for fetched tracking refs)");
    }

    /// A teammate commits `file` on `branch` and pushes it; returns the new tip.
    pub fn teammate_pushes(&self, branch: &str, file: &str) -> String {
        let mate = self.teammate();
        git(&mate, &["switch", "-q", branch]);
        std::fs::write(mate.join(file), format!("pushed to {branch} by a teammate\n")).unwrap();
        git(&mate, &["add", file]);
        git(&mate, &["commit", "-q", "-m", &format!("teammate: update {file}")]);
        git(&mate, &["push", "-q", "origin", branch]);
        git(&mate, &["rev-parse", "HEAD"]).trim().to_string()
    }

    /// A second clone of origin, as a teammate would have, for pushing behind our back.
    pub fn teammate(&self) -> PathBuf {
        let n = std::fs::read_dir(self.dir.path()).map(|d| d.count()).unwrap_or(0);
        let path = self.dir.path().join(format!("teammate-{n}"));
        git(
            self.dir.path(),
            &["clone", "-q", self.origin.to_str().unwrap(), path.to_str().unwrap()],
        );
        path
    }
}

/// The result of one rebranch run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code {} (wanted {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs the rebranch binary in `dir` with a hermetic environment rooted at `home`.
pub fn rebranch_in(dir: &Path, home: &Path, args: &[&str]) -> Run {
    rebranch_env(dir, home, args, &[])
}

pub fn rebranch_env(dir: &Path, home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rebranch"));
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    hermetic(&mut cmd, home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run rebranch");
    to_run(out)
}

pub fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// No user or system git config, a fixed identity, no colour, not interactive.
pub fn hermetic(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_SYSTEM", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.invalid")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.invalid")
        .env("NO_COLOR", "1")
        .env("CI", "true");
}

/// Runs git and returns stdout; panics with stderr on failure.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_status(dir, args);
    assert_eq!(out.code, 0, "git {args:?} failed: {}", out.stderr);
    out.stdout
}

pub fn git_status(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new("git");
    cmd.args(args).current_dir(dir);
    hermetic(&mut cmd, dir);
    to_run(cmd.output().expect("run git"))
}

/// `git ls-remote --heads` of a repository, as branch → oid.
pub fn ls_remote(repo: &Path) -> BTreeMap<String, String> {
    let out = git(repo, &["ls-remote", "--heads", repo.to_str().unwrap()]);
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(oid, name)| (name.trim_start_matches("refs/heads/").to_string(), oid.to_string()))
        .collect()
}

/// A loopback `git daemon` serving a directory with receive-pack enabled, in the tests'
/// hermetic environment.
pub struct Daemon(rebranch_standin::git_daemon::GitDaemon);

impl Daemon {
    pub fn serve(base: &Path) -> Daemon {
        let daemon = rebranch_standin::git_daemon::GitDaemon::serve_with(base, |cmd| {
            hermetic(cmd, base);
        });
        Daemon(daemon.expect("start git daemon"))
    }
}

impl std::ops::Deref for Daemon {
    type Target = rebranch_standin::git_daemon::GitDaemon;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
