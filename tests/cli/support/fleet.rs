//! A fleet of chart repositories of different shapes, each with its own bare origin, and
//! the batch file that lists them: what `rebranch batch` is tested on.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use rebranch_standin::cloudflare::{StandIn, StandInProject, TokenRule};

use super::{Run, git, hermetic, ls_remote, to_run};

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const PROJECT: &str = "acme-helm-charts";
pub const TOKEN: &str = "cfut_BATCH_SENTINEL_do_not_print";

/// One repository of the fleet.
pub struct Member {
    pub name: &'static str,
    pub clone: PathBuf,
    pub origin: PathBuf,
    /// The batch file's `[[repo]]` body for it.
    pub entry: String,
}

/// The fleet, its batch file, and the Pages stand-in one of them is served by.
pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub members: Vec<Member>,
    pub repos_file: PathBuf,
    pub workdir: PathBuf,
    pub pages: StandIn,
}

/// What a fixture repository looks like before the batch.
#[derive(Clone, Copy)]
struct Shape {
    main: &'static str,
    publish: &'static str,
    gitlab: bool,
    /// `release` exists on the remote, at the publishing branch's tip.
    release_copied: bool,
    /// The migration is complete: only main, release and integration, CI rewritten.
    migrated: bool,
}

const PLAIN: Shape = Shape {
    main: "main",
    publish: "charts",
    gitlab: false,
    release_copied: false,
    migrated: false,
};

impl Fleet {
    /// Eight repositories: the sample (with a Pages project), the sample without one,
    /// `gh-pages`, `master`, GitLab CI (given by URL, cloned by the batch), already migrated,
    /// half migrated by hand (`release` at `charts`' tip), and one whose remote cannot be
    /// reached.
    pub fn new() -> Fleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path();
        std::fs::write(
            root.join(".gitconfig"),
            "[user]\n\tname = Fleet Bot\n\temail = fleet-bot@acme.example\n",
        )
        .unwrap();
        let resolve = rebranch::demo::SAMPLE_RESOLUTIONS
            .iter()
            .map(|r| format!("{r:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut members = Vec::new();

        let standard = sample(root, "standard");
        members.push(Member {
            entry: format!(
                "path = {:?}\nset = {{ \"cloudflare.project\" = {PROJECT:?} }}\nresolve = [{resolve}]\n",
                standard.0.display().to_string()
            ),
            name: "standard",
            clone: standard.0,
            origin: standard.1,
        });
        let no_pages = sample(root, "no-pages");
        members.push(Member {
            entry: format!(
                "path = {:?}\nresolve = [{resolve}]\n",
                no_pages.0.display().to_string()
            ),
            name: "no-pages",
            clone: no_pages.0,
            origin: no_pages.1,
        });
        for (name, shape, set) in [
            ("gh-pages", Shape { publish: "gh-pages", ..PLAIN }, "from = \"gh-pages\""),
            ("master", Shape { main: "master", ..PLAIN }, "main = \"master\""),
            ("migrated", Shape { migrated: true, ..PLAIN }, ""),
            ("half", Shape { release_copied: true, ..PLAIN }, ""),
            ("broken", PLAIN, ""),
        ] {
            let (clone, origin) = build(root, name, shape);
            let set = if set.is_empty() { String::new() } else { format!("set = {{ {set} }}\n") };
            members.push(Member {
                entry: format!("path = {:?}\n{set}", clone.display().to_string()),
                name,
                clone,
                origin,
            });
        }
        let (clone, origin) = build(root, "gitlab-src", Shape { gitlab: true, ..PLAIN });
        let workdir = root.join("work");
        members.push(Member {
            entry: format!("url = {:?}\n", origin.display().to_string()),
            name: "gitlab",
            clone: workdir.join("gitlab"),
            origin,
        });
        drop(clone);

        let broken = members.iter().find(|m| m.name == "broken").unwrap();
        git(&broken.clone, &["remote", "set-url", "origin", &unreachable_url()]);

        let mut file =
            String::from("# The fleet of the batch tests.\n[defaults]\nworkdir = \"work\"\n\n");
        for m in &members {
            file.push_str(&format!("[[repo]]\nname = {:?}\n{}\n", m.name, m.entry));
        }
        let repos_file = root.join("repos.toml");
        std::fs::write(&repos_file, file).unwrap();
        let pages = StandIn::start(
            vec![StandInProject::git(ACCOUNT, PROJECT, "charts")],
            vec![TokenRule::edit(TOKEN)],
        )
        .unwrap();
        Fleet { dir, members, repos_file, workdir, pages }
    }

    pub fn member(&self, name: &str) -> &Member {
        self.members.iter().find(|m| m.name == name).expect("a fleet member")
    }

    /// Runs `rebranch batch ARGS --repos repos.toml` with the Pages stand-in's environment.
    pub fn batch(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("run rebranch");
        to_run(output)
    }

    /// The command `batch` runs, to start it as a child.
    pub fn command(&self, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rebranch"));
        cmd.arg("batch").args(args).arg("--repos").arg(&self.repos_file);
        cmd.current_dir(self.dir.path()).stdin(std::process::Stdio::null());
        hermetic(&mut cmd, self.dir.path());
        cmd.env("CLOUDFLARE_API_BASE_URL", self.pages.base_url())
            .env("CLOUDFLARE_API_TOKEN", TOKEN)
            .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
            .env("REBRANCH_PAGES_POLL_MS", "20");
        cmd
    }

    /// The last batch report.
    pub fn report(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.workdir.join("rebranch-batch-report.json"))
            .expect("a batch report");
        serde_json::from_str(&text).expect("the report is JSON")
    }

    /// Each repository's result in the last report.
    pub fn results(&self) -> BTreeMap<String, String> {
        let report = self.report();
        report["repos"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (r["name"].as_str().unwrap().to_string(), r["result"].as_str().unwrap().to_string())
            })
            .collect()
    }

    /// Each repository's origin branches, as `git ls-remote --heads` shows them.
    pub fn heads(&self) -> BTreeMap<&'static str, BTreeMap<String, String>> {
        self.members.iter().map(|m| (m.name, ls_remote(&m.origin))).collect()
    }

    /// Points the broken repository's remote back at its origin.
    pub fn fix_broken(&self) {
        let m = self.member("broken");
        git(&m.clone, &["remote", "set-url", "origin", m.origin.to_str().unwrap()]);
    }
}

/// The demo's sample under `root/name`: (clone, origin).
pub fn sample(root: &Path, name: &str) -> (PathBuf, PathBuf) {
    let s = rebranch::demo::create(&root.join(name)).expect("sample repository");
    (s.clone, s.origin)
}

/// A `git://` URL on a loopback port nothing listens on.
fn unreachable_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    format!("git://127.0.0.1:{port}/origin.git")
}

const GITHUB_RELEASE: &str = "\
name: Release
on:
  push:
    branches: [MAIN]
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: helm/chart-releaser-action@v1.6.0
        with:
          pages_branch: PUBLISH
";

const GITLAB_CI: &str = "\
lint:
  script:
    - helm lint charts/app
pages:
  script:
    - helm repo index .
  only:
    - PUBLISH
";

/// A small chart repository built with the git CLI under `root/name`: (clone, origin).
fn build(root: &Path, name: &str, shape: Shape) -> (PathBuf, PathBuf) {
    let base = root.join(name);
    let origin = base.join("origin.git");
    let clone = base.join("clone");
    std::fs::create_dir_all(&base).unwrap();
    let origin_s = origin.to_str().unwrap();
    git(&base, &["init", "-q", "--bare", "-b", shape.main, origin_s]);
    git(&base, &["init", "-q", "-b", shape.main, clone.to_str().unwrap()]);
    git(&clone, &["config", "user.name", "Fleet Bot"]);
    git(&clone, &["config", "user.email", "fleet-bot@acme.example"]);
    git(&clone, &["remote", "add", "origin", origin_s]);

    let publish = if shape.migrated { "release" } else { shape.publish };
    let write = |path: &str, text: &str| {
        let file = clone.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, text).unwrap();
    };
    write("README.md", &format!("# {name}\n"));
    write("charts/app/Chart.yaml", "apiVersion: v2\nname: app\nversion: 0.1.0\n");
    if shape.gitlab {
        write(".gitlab-ci.yml", &GITLAB_CI.replace("PUBLISH", publish));
    } else {
        write(
            ".github/workflows/release.yml",
            &GITHUB_RELEASE.replace("MAIN", shape.main).replace("PUBLISH", publish),
        );
    }
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "Add the app chart and its release workflow"]);

    git(&clone, &["switch", "-q", "--orphan", publish]);
    write("index.yaml", "apiVersion: v1\nentries:\n  app:\n  - version: 0.1.0\n");
    write("app-0.1.0.tgz", "not really a tarball\n");
    git(&clone, &["add", "-A"]);
    git(&clone, &["commit", "-q", "-m", "Publish app-0.1.0"]);
    git(&clone, &["switch", "-q", shape.main]);

    git(&clone, &["push", "-q", "-u", "origin", shape.main, publish]);
    if shape.release_copied {
        git(&clone, &["push", "-q", "origin", &format!("{publish}:refs/heads/release")]);
    }
    if shape.migrated {
        git(&clone, &["push", "-q", "origin", &format!("{}:refs/heads/integration", shape.main)]);
        git(&clone, &["branch", "-q", "--track", "integration", "origin/integration"]);
    }
    (clone, origin)
}

/// Runs rebranch (not batch) in `dir` with the fleet's home, for single-repository checks.
pub fn rebranch_in(fleet: &Fleet, dir: &Path, args: &[&str]) -> Run {
    super::rebranch_in(dir, fleet.dir.path(), args)
}
