//! The sample: a realistic Helm chart repository built from the files embedded from
//! `fixtures/helm-repo/` — `main` with two charts, chart-releaser and chart-testing workflows
//! and configs; `charts` with `index.yaml` and the packaged charts — pushed to a bare
//! `origin` beside it. Deterministic: the same commits every time.

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};

use crate::git::GitError;
use crate::git::local::{self, Upstream};
use crate::git::remote::{self, RefUpdate};

include!(concat!(env!("OUT_DIR"), "/sample_files.rs"));

/// How the sample's review items are answered (`--resolve` values): the step name and the
/// comment's branch mention follow the rename; "packaged charts" is the charts directory.
pub const SAMPLE_RESOLUTIONS: [&str; 3] = [
    ".github/workflows/publish-readme.yml:19:30=rewrite",
    ".github/workflows/release.yml:12:26=keep",
    ".github/workflows/release.yml:12:41=rewrite",
];

/// Where the sample lives.
#[derive(Debug, Clone)]
pub struct Sample {
    /// The working clone, `main` checked out.
    pub clone: PathBuf,
    /// Its bare `origin`.
    pub origin: PathBuf,
}

/// The files of one branch of the sample.
pub fn files(branch: &str) -> Vec<(&'static str, &'static [u8])> {
    SAMPLE_FILES.iter().filter(|(b, _, _)| *b == branch).map(|(_, p, bytes)| (*p, *bytes)).collect()
}

/// Builds the sample under `root` (`root/origin.git` and `root/helm-charts`).
pub fn create(root: &Path) -> Result<Sample, GitError> {
    let origin = root.join("origin.git");
    let clone = root.join("helm-charts");
    let bare =
        Repository::init_bare(&origin).map_err(GitError::from_git("create the sample origin"))?;
    bare.set_head("refs/heads/main").map_err(GitError::from_git("set the origin's HEAD"))?;
    let repo = Repository::init(&clone).map_err(GitError::from_git("create the sample clone"))?;
    configure(&repo, &origin)?;

    let main = files("main");
    let (first, _): (Vec<_>, Vec<_>) =
        main.iter().partition(|(p, _)| !p.starts_with("charts/redis-cache"));
    let c1 = commit(&repo, &first, &[], "Add podinfo-lite chart and release workflows", 0)?;
    let c2 = commit(&repo, &main, &[c1], "Add redis-cache chart", 1)?;
    let published = files("charts");
    let (docs, _): (Vec<_>, Vec<_>) =
        published.iter().partition(|(p, _)| !p.ends_with(".tgz") && *p != "index.yaml");
    let p1 = commit(&repo, &docs, &[], "Initialize the Helm repository branch", 2)?;
    let p2 =
        commit(&repo, &published, &[p1], "Release podinfo-lite-0.3.0 and redis-cache-1.2.1", 3)?;

    for (branch, tip) in [("main", c2), ("charts", p2)] {
        local::create(&repo, branch, tip, None)?;
        remote::push(
            &repo,
            "origin",
            &RefUpdate { branch: branch.into(), expect: None, new: Some(tip) },
        )
        .map_err(|e| GitError::Op { doing: "push the sample".into(), message: e.to_string() })?;
        let upstream = Upstream { remote: "origin".into(), branch: branch.into() };
        local::set_upstream(&repo, branch, Some(&upstream))?;
    }
    repo.set_head("refs/heads/main").map_err(GitError::from_git("check out main"))?;
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .map_err(GitError::from_git("check out main"))?;
    Ok(Sample { clone, origin })
}

fn configure(repo: &Repository, origin: &Path) -> Result<(), GitError> {
    let doing = "configure the sample clone";
    let url = origin.to_str().ok_or_else(|| GitError::Op {
        doing: doing.into(),
        message: "the sample path is not valid UTF-8".into(),
    })?;
    repo.remote("origin", url).map_err(GitError::from_git(doing))?;
    let mut config = repo.config().map_err(GitError::from_git(doing))?;
    config.set_str("user.name", "Acme Release Bot").map_err(GitError::from_git(doing))?;
    config.set_str("user.email", "release-bot@acme.example").map_err(GitError::from_git(doing))?;
    Ok(())
}

/// Commits `files` as the whole tree, with a fixed author and time.
fn commit(
    repo: &Repository,
    files: &[(&str, &[u8])],
    parents: &[Oid],
    message: &str,
    n: i64,
) -> Result<Oid, GitError> {
    let doing = format!("commit `{message}` in the sample");
    let err = GitError::from_git(&doing);
    let tree_id = tree(repo, files).map_err(err)?;
    let tree = repo.find_tree(tree_id).map_err(GitError::from_git(&doing))?;
    let when = Time::new(1_759_400_000 + n * 86_400, 0);
    let sig = Signature::new("Acme Release Bot", "release-bot@acme.example", &when)
        .map_err(GitError::from_git(&doing))?;
    let parents: Vec<git2::Commit<'_>> = parents
        .iter()
        .map(|p| repo.find_commit(*p))
        .collect::<Result<_, _>>()
        .map_err(GitError::from_git(&doing))?;
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(None, &sig, &sig, message, &tree, &refs).map_err(GitError::from_git(&doing))
}

fn tree(repo: &Repository, files: &[(&str, &[u8])]) -> Result<Oid, git2::Error> {
    let mut builder = repo.treebuilder(None)?;
    let mut dirs: std::collections::BTreeMap<&str, Vec<(&str, &[u8])>> = Default::default();
    for (path, bytes) in files {
        match path.split_once('/') {
            Some((dir, rest)) => dirs.entry(dir).or_default().push((rest, bytes)),
            None => {
                let blob = repo.blob(bytes)?;
                builder.insert(path, blob, 0o100644)?;
            }
        }
    }
    for (dir, inner) in dirs {
        let sub = tree(repo, &inner)?;
        builder.insert(dir, sub, 0o040000)?;
    }
    builder.write()
}
