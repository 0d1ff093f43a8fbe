//! Observe: the read-only look at a repository that a plan is computed from.
//!
//! One connection to the remote lists its branches; the local branches, their upstreams and
//! the remote-tracking refs come from the repository. The facts the pure planner needs about
//! the commit graph (which tip contains which, which objects are missing) are computed here,
//! so that planning itself touches no git handle: the one read it makes, the CI files'
//! texts, goes through [`ci::Texts`]. Nothing is written.

pub mod ci;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use crate::git::local::{self, LocalBranch};
use crate::git::{self, GitError, remote};
use crate::spec::Target;

/// What the repository looked like when the plan was made.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub workdir: PathBuf,
    pub remote: String,
    /// The remote's URL, with any credentials removed.
    pub remote_url: String,
    pub remote_heads: BTreeMap<String, Oid>,
    pub remote_default: Option<String>,
    /// Local branches among the ones the plan names.
    pub local: BTreeMap<String, LocalBranch>,
    /// `refs/remotes/<remote>/<branch>` among the ones the plan names.
    pub tracking: BTreeMap<String, Oid>,
    pub head_branch: Option<String>,
    /// The branches the plan names that are checked out in a work tree (this one, the main
    /// one or a linked one), with where and whether it is clean.
    pub checkouts: BTreeMap<String, local::Checkout>,
    /// Every ref of this clone (`refs/heads/…`, `refs/tags/…`, `refs/remotes/…`): the names
    /// a new ref must not clash with.
    pub local_refs: BTreeSet<String>,
    /// Pairs `(a, b)` of observed tips where `a` is `b` or an ancestor of it, among the tips
    /// of related branches (see [`related_names`]): the only pairs the planner compares.
    pub contains: BTreeSet<(Oid, Oid)>,
    /// Observed tips whose commits are not in the local object database.
    pub missing: BTreeSet<Oid>,
    /// `(tip, path)` for each file the plan requires that the tip has.
    pub files: BTreeSet<(Oid, String)>,
    /// What hosted services (a forge, its Pages) bring to the plan, read by their modules.
    pub services: Vec<crate::service::Contribution>,
    /// The CI files the rewrite may change, read at the remote tip of its branch.
    pub ci: Option<ci::CiSnapshot>,
    /// The remote's whole listing, as read in the one connection: an apply right after
    /// the plan starts from it instead of connecting again.
    pub listing: remote::RemoteListing,
}

impl Observation {
    /// Whether the commit `b` contains `a` (is it or descends from it), when known.
    pub fn holds(&self, b: Oid, a: Oid) -> bool {
        a == b || self.contains.contains(&(a, b))
    }

    /// The refs the plan depends on, as `kind branch → oid or absent`: what a saved plan
    /// records and what `apply` compares to name what moved.
    pub fn refs(&self, names: &BTreeSet<String>) -> BTreeMap<String, Option<String>> {
        let mut out = BTreeMap::new();
        for name in names {
            let show = |o: Option<&Oid>| o.map(|o| o.to_string());
            out.insert(format!("remote {name}"), show(self.remote_heads.get(name)));
            out.insert(format!("local {name}"), show(self.local.get(name).map(|b| &b.oid)));
        }
        for (_, change) in self.services.iter().flat_map(|c| &c.changes) {
            out.insert(setting_key(change), Some(change.from.to_string()));
        }
        out
    }
}

/// The names of every branch a target mentions.
pub fn target_names(target: &Target) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for b in &target.branches {
        names.insert(b.name.clone());
        match &b.origin {
            crate::spec::BranchOrigin::Existing => {}
            crate::spec::BranchOrigin::CreateFrom(s) | crate::spec::BranchOrigin::RenameFrom(s) => {
                names.insert(s.clone());
            }
        }
    }
    if let Some(r) = &target.rewrite {
        names.insert(r.commit_on.clone());
    }
    names
}

/// The groups of branch names whose tips the planner compares: each branch of the target
/// with the branch it is created or renamed from (and, through the group, each local branch
/// with its remote one), plus the branch the rewrite commit goes on. Tips of unrelated
/// branches are never compared: `main` and a publishing branch like `charts` usually have
/// disjoint histories, and proving that walks all of `main`'s history.
pub fn related_names(target: &Target) -> Vec<BTreeSet<String>> {
    let mut groups: Vec<BTreeSet<String>> = target
        .branches
        .iter()
        .map(|b| {
            let mut g = BTreeSet::from([b.name.clone()]);
            match &b.origin {
                crate::spec::BranchOrigin::Existing => {}
                crate::spec::BranchOrigin::CreateFrom(s)
                | crate::spec::BranchOrigin::RenameFrom(s) => {
                    g.insert(s.clone());
                }
            }
            g
        })
        .collect();
    if let Some(r) = &target.rewrite {
        groups.push(BTreeSet::from([r.commit_on.clone()]));
    }
    groups
}

/// Opens the repository at `dir` (or the one containing it) for a plan.
pub fn open(dir: &Path) -> Result<Repository, ObserveError> {
    // libgit2 hashes every object again as it reads it; git does not. Reading a big tree
    // once per candidate directory made that the largest cost of a plan.
    git2::opts::strict_hash_verification(false);
    Repository::discover(dir).map_err(|e| ObserveError::NotARepository {
        path: dir.display().to_string(),
        message: e.message().to_string(),
    })
}

/// Lists the remote in one connection and, unless `offline`, fetches on it the branches
/// the target reads (and those `also` picks from the listing), so that a clone behind its
/// remote is planned against what the remote holds now.
pub fn connect(
    repo: &Repository,
    remote_name: &str,
    names: &BTreeSet<String>,
    offline: bool,
    also: &dyn Fn(&remote::RemoteListing) -> Vec<String>,
) -> Result<remote::RemoteListing, ObserveError> {
    check_clone(repo, remote_name)?;
    let wanted = |l: &remote::RemoteListing| {
        if offline {
            return Vec::new();
        }
        let mut w: Vec<String> = names.iter().cloned().collect();
        w.extend(also(l));
        w
    };
    Ok(remote::list_and_fetch(repo, remote_name, &wanted)?)
}

/// The clone must be whole (or fetched by the minimum by a batch) and have the remote.
fn check_clone(repo: &Repository, remote_name: &str) -> Result<(), ObserveError> {
    // A clone a batch fetched by the minimum is shallow on purpose: its history is there
    // wherever tips are compared, which `observe` checks (`reaches_shallow_edge`).
    let minimal = repo.config().ok().and_then(|c| c.get_bool(git::fetch::MINIMAL_KEY).ok());
    if repo.is_shallow() && minimal != Some(true) {
        let dir = repo.workdir().unwrap_or(repo.path());
        return Err(ObserveError::Shallow { path: dir.display().to_string() });
    }
    if repo.find_remote(remote_name).is_err() {
        return Err(no_remote(repo, remote_name));
    }
    Ok(())
}

/// Observes everything the target's plan depends on in git; `listing` is the remote as
/// [`connect`] read it. What hosted services bring is added by their modules
/// ([`Observation::services`]).
pub fn observe(
    repo: &Repository,
    target: &Target,
    listing: remote::RemoteListing,
) -> Result<Observation, ObserveError> {
    let dir = repo.workdir().unwrap_or(repo.path());
    let workdir = dir.components().collect::<PathBuf>();
    check_clone(repo, &target.remote)?;
    let shallow = repo.is_shallow();
    let remote_url = match repo.find_remote(&target.remote) {
        Ok(r) => git::redact_url(r.url().unwrap_or_default()),
        Err(_) => return Err(no_remote(repo, &target.remote)),
    };
    let names = target_names(target);
    let mut local = BTreeMap::new();
    let mut tracking = BTreeMap::new();
    for name in &names {
        if let Some(b) = local::read(repo, name)? {
            local.insert(name.clone(), b);
        }
        let tracking_ref = format!("refs/remotes/{}/{name}", target.remote);
        if let Ok(oid) = repo.refname_to_id(&tracking_ref) {
            tracking.insert(name.clone(), oid);
        }
    }
    let remote_heads: BTreeMap<String, Oid> = listing
        .heads
        .iter()
        .filter(|(name, _)| names.contains(*name))
        .map(|(name, oid)| (name.clone(), *oid))
        .collect();
    let tips_of = |name: &String| {
        remote_heads.get(name).into_iter().chain(local.get(name).map(|b| &b.oid)).copied()
    };
    let groups: Vec<BTreeSet<Oid>> =
        related_names(target).iter().map(|g| g.iter().flat_map(tips_of).collect()).collect();
    let (contains, missing) = graph_facts(repo, &groups)?;
    if shallow && reaches_shallow_edge(repo, &groups, &missing)? {
        return Err(ObserveError::Shallow { path: workdir.display().to_string() });
    }
    let files = required_files(repo, target, &remote_heads);
    let ci = match (
        &target.rewrite,
        &target.rewrite.as_ref().and_then(|r| remote_heads.get(&r.commit_on)),
    ) {
        (Some(r), Some(base)) if !missing.contains(base) => {
            Some(ci::snapshot(repo, **base, &r.files, &r.branches, &remote_url)?)
        }
        _ => None,
    };
    Ok(Observation {
        workdir,
        remote: target.remote.clone(),
        remote_url,
        remote_heads,
        remote_default: listing.default_branch.clone(),
        local,
        tracking,
        head_branch: local::checked_out(repo),
        checkouts: local::checkouts(repo, &names),
        local_refs: all_refs(repo),
        contains,
        missing,
        files,
        services: Vec::new(),
        ci,
        listing,
    })
}

/// Every ref name of the repository, but rebranch's own scratch refs.
fn all_refs(repo: &Repository) -> BTreeSet<String> {
    let Ok(refs) = repo.references() else { return BTreeSet::new() };
    refs.flatten()
        .filter_map(|r| r.name().ok().map(str::to_string))
        .filter(|n| !n.starts_with("refs/rebranch/"))
        .collect()
}

/// Which of the files the plan requires are present at the renamed branches' tips.
fn required_files(
    repo: &Repository,
    target: &Target,
    heads: &BTreeMap<String, Oid>,
) -> BTreeSet<(Oid, String)> {
    let mut found = BTreeSet::new();
    for (old, new) in target.renames() {
        let tips = [heads.get(old), heads.get(new)];
        for tip in tips.into_iter().flatten() {
            for path in target.must_contain(new) {
                if has_file(repo, *tip, path) {
                    found.insert((*tip, path.clone()));
                }
            }
        }
    }
    found
}

/// Whether the commit's tree has a file at `path`.
pub fn has_file(repo: &Repository, commit: Oid, path: &str) -> bool {
    let Ok(tree) = repo.find_commit(commit).and_then(|c| c.tree()) else {
        return false;
    };
    tree.get_path(Path::new(path)).is_ok_and(|e| e.kind() == Some(git2::ObjectType::Blob))
}

type GraphFacts = (BTreeSet<(Oid, Oid)>, BTreeSet<Oid>);

/// Which tips are missing locally, and which contain which within each group of tips.
fn graph_facts(repo: &Repository, groups: &[BTreeSet<Oid>]) -> Result<GraphFacts, ObserveError> {
    let all: BTreeSet<Oid> = groups.iter().flatten().copied().collect();
    let (present, missing): (BTreeSet<Oid>, BTreeSet<Oid>) =
        all.into_iter().partition(|oid| repo.find_commit(*oid).is_ok());
    let mut checked = BTreeSet::new();
    let mut contains = BTreeSet::new();
    for group in groups {
        for &a in group.intersection(&present) {
            for &b in group.intersection(&present) {
                if a == b || !checked.insert((a, b)) {
                    continue;
                }
                if repo.graph_descendant_of(b, a).map_err(GitError::from_git("walk history"))? {
                    contains.insert((a, b));
                }
            }
        }
    }
    Ok((contains, missing))
}

/// In a shallow repository: whether the history of a tip whose ancestry is compared (a
/// group with more than one tip) reaches a commit whose parents were not fetched, so that
/// "does X contain Y" could not be answered.
fn reaches_shallow_edge(
    repo: &Repository,
    groups: &[BTreeSet<Oid>],
    missing: &BTreeSet<Oid>,
) -> Result<bool, ObserveError> {
    let text = std::fs::read_to_string(repo.path().join("shallow")).unwrap_or_default();
    let edges: BTreeSet<Oid> = text.lines().filter_map(|l| Oid::from_str(l.trim()).ok()).collect();
    let walk_err = GitError::from_git("walk history");
    let mut walk = repo.revwalk().map_err(walk_err)?;
    let mut any = false;
    for group in groups.iter().filter(|g| g.len() > 1) {
        for tip in group.difference(missing) {
            walk.push(*tip).map_err(GitError::from_git("walk history"))?;
            any = true;
        }
    }
    if !any {
        return Ok(false);
    }
    for oid in walk {
        if edges.contains(&oid.map_err(GitError::from_git("walk history"))?) {
            return Ok(true);
        }
    }
    Ok(false)
}

fn no_remote(repo: &Repository, wanted: &str) -> ObserveError {
    let names: Vec<String> = repo
        .remotes()
        .map(|r| r.iter().filter_map(|n| n.ok().flatten()).map(str::to_string).collect())
        .unwrap_or_default();
    ObserveError::NoRemote { remote: wanted.to_string(), known: names }
}

/// Why the repository could not be observed.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("{path} is not in a git repository ({message})")]
    NotARepository { path: String, message: String },
    #[error(
        "{path} is a shallow clone: its history is incomplete, so rebranch cannot check that no commit is lost"
    )]
    Shallow { path: String },
    #[error("there is no remote `{remote}` in this repository{}", known_remotes(.known))]
    NoRemote { remote: String, known: Vec<String> },
    #[error(transparent)]
    Git(#[from] GitError),
}

fn known_remotes(known: &[String]) -> String {
    if known.is_empty() {
        " (it has no remotes at all)".to_string()
    } else {
        format!(" (it has: {})", known.join(", "))
    }
}

/// The key under which a plan records a hosted service's setting: `setting SERVICE SCOPE KEY`.
pub fn setting_key(change: &crate::service::SettingChange) -> String {
    format!("setting {} {} {}", change.service, change.scope, change.key)
}

/// Re-reads just the refs a saved plan recorded (`remote X` / `local X` keys), in one
/// connection, so `apply FILE` can name exactly what moved since the plan; `settings` holds
/// the services' settings as read now, by [`setting_key`].
pub fn current_refs(
    repo: &Repository,
    remote_name: &str,
    recorded: &BTreeMap<String, Option<String>>,
    settings: &BTreeMap<String, Option<String>>,
) -> Result<(BTreeMap<String, Option<String>>, remote::RemoteListing), ObserveError> {
    if repo.find_remote(remote_name).is_err() {
        return Err(no_remote(repo, remote_name));
    }
    let listing = remote::list(repo, remote_name)?;
    let mut out = BTreeMap::new();
    for (key, then) in recorded {
        let value = match key.split_once(' ') {
            Some(("remote", name)) => listing.heads.get(name).map(Oid::to_string),
            Some(("local", name)) => local::read(repo, name)?.map(|b| b.oid.to_string()),
            Some(("setting", _)) => settings.get(key).cloned().flatten(),
            // A Pages field as plans recorded it before the settings seam: its step checks
            // the live value itself before it changes anything.
            Some(("pages", _)) => then.clone(),
            _ => None,
        };
        out.insert(key.clone(), value);
    }
    Ok((out, listing))
}

/// The charts on a commit: directories under `charts/` that hold a `Chart.yaml`.
pub fn charts(repo: &Repository, commit: Oid) -> Vec<String> {
    let Ok(tree) = repo.find_commit(commit).and_then(|c| c.tree()) else { return Vec::new() };
    let Ok(entry) = tree.get_path(Path::new("charts")) else { return Vec::new() };
    let Ok(dir) = repo.find_tree(entry.id()) else { return Vec::new() };
    dir.iter()
        .filter(|e| e.kind() == Some(git2::ObjectType::Tree))
        .filter(|e| repo.find_tree(e.id()).is_ok_and(|t| t.get_name("Chart.yaml").is_some()))
        .filter_map(|e| e.name().ok().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_names_pair_each_branch_with_its_origin_only() {
        let target = crate::spec::Spec::builtin().resolve(&[], &|_| None).expect("resolves");
        let related = related_names(&target);
        let groups: Vec<Vec<&str>> =
            related.iter().map(|g| g.iter().map(String::as_str).collect()).collect();
        assert!(groups.contains(&vec!["charts", "release"]), "{groups:?}");
        assert!(groups.contains(&vec!["integration", "main"]), "{groups:?}");
        assert!(groups.iter().all(|g| !(g.contains(&"main") && g.contains(&"charts"))));
    }
}
