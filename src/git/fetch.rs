//! Clones a repository named by URL, or brings an existing clone's remote-tracking refs up
//! to date: what a batch does before planning a repository given as a `url`.
//!
//! It fetches by the minimum: only the branches the plan names, one commit deep, with no
//! tags. History is fetched only where the planner compares tips: a group of related
//! branches (see [`crate::observe::related_names`]) whose tips differ gets its branches'
//! whole history, since "does X contain Y" needs it. Such a clone is marked
//! (`rebranch.minimalFetch`) so that observing accepts it as shallow, and still refuses when
//! a comparison would reach a missing part of the history.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use git2::{AutotagOption, FetchOptions, FetchPrune, Oid, Repository};

use super::GitError;
use super::remote::{Attempts, credential_callbacks};

/// The config key that marks a clone fetched by the minimum.
pub const MINIMAL_KEY: &str = "rebranch.minimalFetch";

/// The depth that fetches a branch's whole history. Not git's "unshallow" depth
/// (`i32::MAX`), with which the server unshallows every branch of the clone, wanted or not.
const DEEP: i32 = 1 << 30;

/// What [`clone_or_fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Whether it made the clone (else it fetched into one already there).
    pub cloned: bool,
    /// Bytes received from the remote, over every fetch it made.
    pub bytes: usize,
    /// The branches whose whole history was fetched, because their tips are compared.
    pub deepened: BTreeSet<String>,
}

/// What a plan needs of a remote: the branches it names, and the groups of them whose tips
/// it compares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    pub branches: BTreeSet<String>,
    pub related: Vec<BTreeSet<String>>,
    /// The branch to check out in a new clone, if the remote has it.
    pub checkout: Option<String>,
}

/// Clones `url` into `dest` when `dest` does not exist; otherwise fetches `remote` in the
/// clone already there (pruning the named branches the remote no longer has), after checking
/// that it is a clone of `url`. Only what `needs` names is fetched (see the module).
pub fn clone_or_fetch(
    url: &str,
    dest: &Path,
    remote: &str,
    needs: &Needs,
) -> Result<Fetched, GitError> {
    super::https::register();
    let shown = super::redact_url(url);
    let cloned = !dest.exists();
    let repo = if cloned {
        let doing = format!("clone {shown} into {}", dest.display());
        let repo = Repository::init(dest).map_err(GitError::from_git(&doing))?;
        repo.remote(remote, url).map_err(GitError::from_git(&doing))?;
        let mut config = repo.config().map_err(GitError::from_git(&doing))?;
        config.set_bool(MINIMAL_KEY, true).map_err(GitError::from_git(&doing))?;
        repo
    } else {
        let doing = format!("open the clone {}", dest.display());
        let repo = Repository::open(dest).map_err(GitError::from_git(&doing))?;
        let found = repo
            .find_remote(remote)
            .map_err(|_| GitError::NoRemote { remote: remote.to_string() })?;
        let found_url = found.url().map(str::to_string);
        drop(found);
        if found_url.as_deref().ok() != Some(url) {
            return Err(GitError::Op {
                doing: format!("reuse {}", dest.display()),
                message: format!(
                    "its remote `{remote}` is {}, not {shown}; move it away or name the repository differently",
                    found_url.as_deref().map(super::redact_url).unwrap_or_default()
                ),
            });
        }
        repo
    };
    // A complete clone (made before fetching by the minimum, or by hand) stays complete, and
    // libgit2's local transport (a path or file://) cannot fetch shallow.
    let minimal = repo.config().ok().and_then(|c| c.get_bool(MINIMAL_KEY).ok()).unwrap_or(false);
    let local = url.starts_with("file://") || Path::new(url).is_dir();
    let depth = if minimal && !local { 1 } else { 0 };
    let all: Vec<&String> = needs.branches.iter().collect();
    let mut bytes = fetch(&repo, remote, &shown, &all, depth)?;

    // History only where the planner compares tips that differ.
    let mut deepened = BTreeSet::new();
    if repo.is_shallow() {
        let tips = tips(&repo, remote, &needs.branches);
        for group in &needs.related {
            let distinct: BTreeSet<Oid> =
                group.iter().filter_map(|b| tips.get(b)).flatten().copied().collect();
            if distinct.len() > 1 {
                deepened.extend(group.iter().filter(|b| tips.contains_key(*b)).cloned());
            }
        }
        if !deepened.is_empty() {
            let these: Vec<&String> = deepened.iter().collect();
            bytes += fetch(&repo, remote, &shown, &these, DEEP)?;
        }
    }
    if cloned {
        check_out(&repo, remote, needs.checkout.as_deref())?;
    }
    Ok(Fetched { cloned, bytes, deepened })
}

/// Fetches `branches` from `remote` into its tracking refs, `depth` commits deep (0: as deep
/// as the clone already is; [`DEEP`]: their whole history), pruning the tracking refs of those the
/// remote does not have. Returns the bytes received.
fn fetch(
    repo: &Repository,
    remote: &str,
    shown: &str,
    branches: &[&String],
    depth: i32,
) -> Result<usize, GitError> {
    let refspecs: Vec<String> =
        branches.iter().map(|b| format!("+refs/heads/{b}:refs/remotes/{remote}/{b}")).collect();
    let config = repo.config().map_err(GitError::from_git("read git config"))?;
    let attempts = RefCell::new(Attempts::default());
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(credential_callbacks(&config, &attempts))
        .prune(FetchPrune::On)
        .download_tags(AutotagOption::None)
        .update_fetchhead(false)
        .depth(depth);
    let mut found =
        repo.find_remote(remote).map_err(|_| GitError::NoRemote { remote: remote.to_string() })?;
    found
        .fetch(&refspecs, Some(&mut options), None)
        .map_err(GitError::from_git(&format!("fetch {shown}")))?;
    Ok(found.stats().received_bytes())
}

/// Each named branch's tips: the remote-tracking ref and the local branch, when present.
fn tips(repo: &Repository, remote: &str, names: &BTreeSet<String>) -> BTreeMap<String, Vec<Oid>> {
    let mut out = BTreeMap::new();
    for name in names {
        let found: Vec<Oid> =
            [format!("refs/remotes/{remote}/{name}"), format!("refs/heads/{name}")]
                .iter()
                .filter_map(|r| repo.refname_to_id(r).ok())
                .collect();
        if !found.is_empty() {
            out.insert(name.clone(), found);
        }
    }
    out
}

/// In a new clone: the local branch `branch` at its remote one, with it as upstream,
/// checked out, as `git clone` leaves it.
fn check_out(repo: &Repository, remote: &str, branch: Option<&str>) -> Result<(), GitError> {
    let Some(branch) = branch else { return Ok(()) };
    let Ok(oid) = repo.refname_to_id(&format!("refs/remotes/{remote}/{branch}")) else {
        return Ok(());
    };
    // The indexer hashed every object as it arrived: reading them back to write the work
    // tree need not hash them again (half of a checkout's instructions), as git does not.
    git2::opts::strict_hash_verification(false);
    let upstream = super::local::Upstream { remote: remote.to_string(), branch: branch.into() };
    super::local::create(repo, branch, oid, Some(&upstream))?;
    let doing = format!("check out `{branch}`");
    repo.set_head(&format!("refs/heads/{branch}")).map_err(GitError::from_git(&doing))?;
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .map_err(GitError::from_git(&doing))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs(branches: &[&str], related: &[&[&str]]) -> Needs {
        Needs {
            branches: branches.iter().map(|b| b.to_string()).collect(),
            related: related.iter().map(|g| g.iter().map(|b| b.to_string()).collect()).collect(),
            checkout: Some("main".into()),
        }
    }

    #[test]
    fn clones_the_named_branches_then_fetches_and_refuses_another_url() {
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let url = sample.origin.to_str().unwrap();
        let dest = dir.path().join("copy");
        let want = needs(&["main", "charts", "release"], &[&["charts", "release"], &["main"]]);
        let first = clone_or_fetch(url, &dest, "origin", &want).unwrap();
        assert!(first.cloned && first.deepened.is_empty(), "{first:?}");
        let repo = Repository::open(&dest).unwrap();
        assert!(repo.find_reference("refs/remotes/origin/charts").is_ok());
        assert!(repo.find_reference("refs/remotes/origin/main").is_ok());
        assert_eq!(super::super::local::checked_out(&repo).as_deref(), Some("main"));
        let again = clone_or_fetch(url, &dest, "origin", &want).unwrap();
        assert!(!again.cloned);
        let other = dir.path().join("elsewhere.git");
        let err = clone_or_fetch(other.to_str().unwrap(), &dest, "origin", &want).unwrap_err();
        assert!(err.to_string().contains("not "), "{err}");
    }
}
