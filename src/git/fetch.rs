//! Clones a repository named by URL, or brings an existing clone's remote-tracking refs up
//! to date: what a batch does before planning a repository given as a `url`.

use std::cell::RefCell;
use std::path::Path;

use git2::{FetchOptions, FetchPrune, Repository};

use super::GitError;
use super::remote::{Attempts, credential_callbacks};

/// What [`clone_or_fetch`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    Cloned,
    Fetched,
}

/// Clones `url` into `dest` when `dest` does not exist; otherwise fetches `remote` in the
/// clone already there (pruning branches the remote no longer has), after checking that it
/// is a clone of `url`.
pub fn clone_or_fetch(url: &str, dest: &Path, remote: &str) -> Result<Fetched, GitError> {
    super::https::register();
    let shown = super::redact_url(url);
    if dest.exists() {
        let doing = format!("open the clone {}", dest.display());
        let repo = Repository::open(dest).map_err(GitError::from_git(&doing))?;
        let mut found = repo
            .find_remote(remote)
            .map_err(|_| GitError::NoRemote { remote: remote.to_string() })?;
        if found.url().ok() != Some(url) {
            return Err(GitError::Op {
                doing: format!("reuse {}", dest.display()),
                message: format!(
                    "its remote `{remote}` is {}, not {shown}; move it away or name the repository differently",
                    found.url().map(super::redact_url).unwrap_or_default()
                ),
            });
        }
        let config = repo.config().map_err(GitError::from_git("read git config"))?;
        let attempts = RefCell::new(Attempts::default());
        let mut options = FetchOptions::new();
        options.remote_callbacks(credential_callbacks(&config, &attempts)).prune(FetchPrune::On);
        found
            .fetch(&[] as &[&str], Some(&mut options), None)
            .map_err(GitError::from_git(&format!("fetch {shown}")))?;
        return Ok(Fetched::Fetched);
    }
    let config = git2::Config::open_default().map_err(GitError::from_git("read git config"))?;
    let attempts = RefCell::new(Attempts::default());
    let mut options = FetchOptions::new();
    options.remote_callbacks(credential_callbacks(&config, &attempts));
    git2::build::RepoBuilder::new()
        .remote_create(|repo, _, url| repo.remote(remote, url))
        .fetch_options(options)
        .clone(url, dest)
        .map_err(GitError::from_git(&format!("clone {shown} into {}", dest.display())))?;
    Ok(Fetched::Cloned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_then_fetches_and_refuses_another_url() {
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let url = sample.origin.to_str().unwrap();
        let dest = dir.path().join("copy");
        assert_eq!(clone_or_fetch(url, &dest, "origin").unwrap(), Fetched::Cloned);
        let repo = Repository::open(&dest).unwrap();
        assert!(repo.find_reference("refs/remotes/origin/charts").is_ok());
        assert_eq!(clone_or_fetch(url, &dest, "origin").unwrap(), Fetched::Fetched);
        let other = dir.path().join("elsewhere.git");
        let err = clone_or_fetch(other.to_str().unwrap(), &dest, "origin").unwrap_err();
        assert!(err.to_string().contains("not "), "{err}");
    }
}
