//! A whole world for the reliability tests: the sample repository, its bare origin and the
//! Pages stand-in, with a snapshot of everything a migration may touch, read through
//! independent oracles (the git CLI, the stand-in's own state).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use rebranch_standin::cloudflare::{StandIn, StandInProject, TokenRule};

use crate::support::{Run, Sandbox, git, git_status, hermetic};

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const PROJECT: &str = "acme-helm-charts";
/// A sentinel: it must never appear in any output, plan file, journal or recorded request.
pub const TOKEN: &str = "cfut_SENTINEL_9d41e0c7aa_never_print";
pub const READ_TOKEN: &str = "cfut_READONLY_SENTINEL_4b2f";
pub const EXPIRED_TOKEN: &str = "cfut_EXPIRED_SENTINEL_77c1";

/// The sample, its origin and a Pages project on the stand-in, served from `charts`.
pub struct World {
    pub s: Sandbox,
    pub standin: StandIn,
    pub base: String,
    /// Every output of every run, for the secrets check.
    pub outputs: std::cell::RefCell<Vec<String>>,
}

impl World {
    pub fn new() -> World {
        let standin = StandIn::start(
            vec![StandInProject::git(ACCOUNT, PROJECT, "charts")],
            vec![TokenRule::edit(TOKEN), TokenRule::read(READ_TOKEN)],
        )
        .expect("stand-in");
        let base = standin.base_url();
        World { s: Sandbox::new(), standin, base, outputs: Default::default() }
    }

    /// A world whose origin is served by a loopback `git daemon` (the real protocol, with
    /// the server's old-value check and hooks); the daemon lives as long as it is held.
    pub fn served() -> (World, crate::support::Daemon) {
        let w = World::new();
        git(&w.s.origin, &["config", "receive.denyDeletes", "false"]);
        let daemon = crate::support::Daemon::serve(w.s.origin.parent().unwrap());
        git(&w.s.clone, &["remote", "set-url", "origin", &daemon.url("origin.git")]);
        (w, daemon)
    }

    /// The first journal's path and its text with the rewrite commit's recorded parent
    /// replaced by another commit (`origin/release`), as someone editing it by hand would.
    pub fn journal_with_another_parent(&self) -> (PathBuf, String) {
        let dir = self.s.clone.join(".git/rebranch/journal");
        let path = std::fs::read_dir(&dir).unwrap().flatten().next().unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let parent = text.split("\"parent\":\"").nth(1).unwrap()[..40].to_string();
        let other = git(&self.s.clone, &["rev-parse", "refs/remotes/origin/release"]);
        let edited = text.replace(&parent, other.trim());
        (path, edited)
    }

    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("CLOUDFLARE_API_BASE_URL".into(), self.base.clone()),
            ("CLOUDFLARE_API_TOKEN".into(), TOKEN.into()),
            ("CLOUDFLARE_ACCOUNT_ID".into(), ACCOUNT.into()),
            ("REBRANCH_PAGES_POLL_MS".into(), "10".into()),
        ]
    }

    /// Runs rebranch with the Pages project set, the sample's reviews resolved, and `extra`
    /// environment on top.
    pub fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> Run {
        let mut all = args.to_vec();
        all.extend(["--set", "cloudflare.project=acme-helm-charts"]);
        let env = self.env();
        let mut pairs: Vec<(&str, &str)> =
            env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.extend_from_slice(extra);
        let run = self.s.rebranch_env(&all, &pairs);
        self.outputs.borrow_mut().push(run.all());
        run
    }

    /// Starts rebranch without waiting for it.
    pub fn spawn(&self, args: &[&str], extra: &[(&str, &str)]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rebranch"));
        cmd.args(args).args(["--set", "cloudflare.project=acme-helm-charts"]);
        for r in rebranch::demo::SAMPLE_RESOLUTIONS {
            cmd.args(["--resolve", r]);
        }
        cmd.current_dir(&self.s.clone)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        hermetic(&mut cmd, self.s.dir.path());
        for (k, v) in self.env() {
            cmd.env(k, v);
        }
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn rebranch")
    }

    /// Collects a spawned run's output (it has exited or been killed).
    pub fn collect(&self, child: Child) -> Run {
        let out = child.wait_with_output().expect("wait");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.outputs.borrow_mut().push(run.all());
        run
    }

    /// `(production_branch, source.config.production_branch, canonical deployment)`.
    pub fn pages(&self) -> (String, Option<String>, Option<String>) {
        let state = self.standin.state();
        let rec = state.project(ACCOUNT, PROJECT).expect("project");
        let p = &rec.project;
        (
            p["production_branch"].as_str().unwrap_or_default().to_string(),
            p["source"]["config"]["production_branch"].as_str().map(str::to_string),
            rec.canonical_deployment_id.clone(),
        )
    }

    /// Everything a migration may touch, as the independent oracles see it.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            remote: all_refs(&self.s.origin),
            local: self.s.local_state(),
            pages: self.pages(),
            files: tracked_files(&self.s.clone, "refs/heads/main"),
            worktree: git(&self.s.clone, &["status", "--porcelain"]),
        }
    }

    /// `status --format json`, parsed.
    pub fn status(&self) -> serde_json::Value {
        let run = self.run(&["status", "--format", "json"], &[]).expect(0);
        serde_json::from_str(&run.stdout).expect("status JSON")
    }

    /// Every file under the clone's `.git/rebranch/`.
    pub fn state_files(&self) -> Vec<PathBuf> {
        walk(&self.s.clone.join(".git/rebranch"))
    }
}

/// What the migration may touch.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Every ref of the origin (`git ls-remote`), name → oid.
    pub remote: BTreeMap<String, String>,
    /// Every ref of the clone and every branch's upstream config.
    pub local: BTreeMap<String, String>,
    /// The Pages project's two branch fields and its live deployment.
    pub pages: (String, Option<String>, Option<String>),
    /// Main's files (`git show main:PATH`), path → content.
    pub files: BTreeMap<String, String>,
    /// `git status --porcelain` of the clone.
    pub worktree: String,
}

/// `git ls-remote` of a repository: every ref, name → oid.
pub fn all_refs(repo: &Path) -> BTreeMap<String, String> {
    let out = git(repo, &["ls-remote", repo.to_str().unwrap()]);
    out.lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(oid, name)| (name.to_string(), oid.to_string()))
        .collect()
}

/// Each file of `rev` (path → content via `git show`).
pub fn tracked_files(repo: &Path, rev: &str) -> BTreeMap<String, String> {
    let list = git_status(repo, &["ls-tree", "-r", "--name-only", rev]);
    let mut files = BTreeMap::new();
    for path in list.stdout.lines() {
        let content = git(repo, &["show", &format!("{rev}:{path}")]);
        files.insert(path.to_string(), content);
    }
    files
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() { out.extend(walk(&p)) } else { out.push(p) }
    }
    out
}

/// A tiny seeded LCG (Knuth's MMIX constants): reproducible "random" numbers, no deps.
pub struct Lcg(u64);

impl Lcg {
    pub fn new(seed: u64) -> Lcg {
        Lcg(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next(&mut self) -> u64 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
