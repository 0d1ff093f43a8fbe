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

/// The two chart changes a teammate lands on `integration` in the demo's flow.
pub const FLOW_CHANGES: [(&str, &str, &str); 2] = [
    ("charts/podinfo-lite/values.yaml", "replicaCount: 1", "replicaCount: 2"),
    ("charts/redis-cache/values.yaml", "maxmemory: 128mb", "maxmemory: 256mb"),
];

/// A teammate's commit on `integration` changing two charts, pushed to the sample's origin
/// with compare-and-swap (the flow's first move). Returns the new tip.
pub fn change_two_charts(sample: &Sample) -> Result<Oid, GitError> {
    let repo = Repository::open(&sample.clone).map_err(GitError::from_git("open the sample"))?;
    let doing = "change two charts on integration";
    let err = GitError::from_git(doing);
    let tip = repo.refname_to_id("refs/remotes/origin/integration").map_err(err)?;
    let mut tree =
        repo.find_commit(tip).and_then(|c| c.tree()).map_err(GitError::from_git(doing))?;
    for (path, old, new) in FLOW_CHANGES {
        let entry = tree.get_path(Path::new(path)).map_err(GitError::from_git(doing))?;
        let blob = repo.find_blob(entry.id()).map_err(GitError::from_git(doing))?;
        let text = String::from_utf8_lossy(blob.content()).replacen(old, new, 1);
        let blob = repo.blob(text.as_bytes()).map_err(GitError::from_git(doing))?;
        let id = replace_blob(&repo, tree.id(), path, blob).map_err(GitError::from_git(doing))?;
        tree = repo.find_tree(id).map_err(GitError::from_git(doing))?;
    }
    let message = "Scale podinfo-lite to two replicas; give redis-cache more memory";
    let new = commit_tree(&repo, &tree, tip, message, 10)?;
    push_to(&repo, "integration", tip, new)?;
    Ok(new)
}

/// A reviewer's squash merge of `branch` into `main`: one commit on `main` taking the
/// chart's directory from it, pushed; the checked-out `main` follows.
pub fn squash_merge(sample: &Sample, branch: &str, chart: &str) -> Result<Oid, GitError> {
    let repo = Repository::open(&sample.clone).map_err(GitError::from_git("open the sample"))?;
    let doing = format!("squash-merge {branch} into main");
    let listing = remote::list(&repo, "origin")?;
    let (Some(main), Some(tip)) = (listing.heads.get("main"), listing.heads.get(branch)) else {
        return Err(GitError::Op { doing, message: "the branches are not on origin".into() });
    };
    let dir = repo
        .find_commit(*tip)
        .and_then(|c| c.tree())
        .and_then(|t| t.get_path(Path::new(chart)).map(|e| e.id()))
        .map_err(GitError::from_git(&doing))?;
    let base =
        repo.find_commit(*main).and_then(|c| c.tree()).map_err(GitError::from_git(&doing))?;
    let tree = crate::flow::write::tree_with_dir(&repo, base.id(), chart, Some(dir))
        .and_then(|t| repo.find_tree(t))
        .map_err(GitError::from_git(&doing))?;
    let new = commit_tree(&repo, &tree, *main, &format!("Merge {branch} (squashed)"), 11)?;
    push_to(&repo, "main", *main, new)?;
    if local::checked_out(&repo).as_deref() == Some("main") {
        repo.reference("refs/heads/main", new, true, "demo: follow the squash merge")
            .and_then(|_| repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())))
            .map_err(GitError::from_git(&doing))?;
    }
    Ok(new)
}

fn commit_tree(
    repo: &Repository,
    tree: &git2::Tree<'_>,
    parent: Oid,
    message: &str,
    n: i64,
) -> Result<Oid, GitError> {
    let doing = format!("commit `{message}` in the sample");
    let when = Time::new(1_759_400_000 + n * 86_400, 0);
    let sig = Signature::new("Acme Teammate", "teammate@acme.example", &when)
        .map_err(GitError::from_git(&doing))?;
    let parent = repo.find_commit(parent).map_err(GitError::from_git(&doing))?;
    repo.commit(None, &sig, &sig, message, tree, &[&parent]).map_err(GitError::from_git(&doing))
}

fn push_to(repo: &Repository, branch: &str, expect: Oid, new: Oid) -> Result<(), GitError> {
    let update = RefUpdate { branch: branch.into(), expect: Some(expect), new: Some(new) };
    remote::push(repo, "origin", &update)
        .map_err(|e| GitError::Op { doing: format!("push {branch}"), message: e.to_string() })
}

/// The id of `tree` with the blob at `path` replaced (its mode kept).
fn replace_blob(repo: &Repository, tree: Oid, path: &str, blob: Oid) -> Result<Oid, git2::Error> {
    let tree = repo.find_tree(tree)?;
    let (name, rest) = path.split_once('/').map_or((path, None), |(n, r)| (n, Some(r)));
    let entry = tree.get_name(name).ok_or_else(|| git2::Error::from_str("path not in the tree"))?;
    let id = match rest {
        Some(rest) => replace_blob(repo, entry.id(), rest, blob)?,
        None => blob,
    };
    let mut builder = repo.treebuilder(Some(&tree))?;
    builder.insert(name, id, entry.filemode())?;
    builder.write()
}
