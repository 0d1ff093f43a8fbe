//! The side effects an apply or rollback may have, behind one trait so the executor can run
//! against the real repository or a fault-injecting wrapper in tests.

use std::collections::BTreeMap;

use git2::{Oid, Repository};

use super::ExecError;
use crate::git::GitError;
use crate::git::local::{self, LocalBranch, Upstream};
use crate::git::remote::{self, RefUpdate, RemoteListing};
use crate::plan::action::{ChartCommit, CiCommit, SettingChange};
use crate::service::Service;

/// Reads of live state and the writes that change it.
pub trait Effects {
    /// The remote branch's current tip (`None`: absent).
    fn remote_head(&mut self, remote: &str, branch: &str) -> Result<Option<Oid>, ExecError>;
    /// Every branch of the remote with its tip.
    fn remote_heads(&mut self, remote: &str) -> Result<BTreeMap<String, Oid>, ExecError>;
    /// Whether `tip` is `commit` or descends from it; `false` when unknown locally.
    fn contains(&self, tip: Oid, commit: Oid) -> bool;
    /// A commit's parents, or `None` when this clone does not have it.
    fn parents(&self, commit: Oid) -> Option<Vec<Oid>>;
    /// One ref update on the remote with compare-and-swap; updates the tracking ref.
    fn push(&mut self, remote: &str, update: &RefUpdate) -> Result<(), ExecError>;
    fn local_branch(&self, name: &str) -> Result<Option<LocalBranch>, ExecError>;
    fn rename_local(
        &mut self,
        from: &str,
        to: &str,
        upstream: Option<&Upstream>,
    ) -> Result<(), ExecError>;
    fn create_local(
        &mut self,
        name: &str,
        oid: Oid,
        upstream: Option<&Upstream>,
    ) -> Result<(), ExecError>;
    fn delete_local(&mut self, name: &str, expect: Oid) -> Result<(), ExecError>;
    fn set_upstream(&mut self, name: &str, upstream: Option<&Upstream>) -> Result<(), ExecError>;
    fn tracking(&self, remote: &str, branch: &str) -> Option<Oid>;
    fn set_tracking(
        &mut self,
        remote: &str,
        branch: &str,
        oid: Option<Oid>,
    ) -> Result<(), ExecError>;
    /// Whether the commit's tree has a file at `path`.
    fn has_file(&self, commit: Oid, path: &str) -> bool;
    /// The bytes of the file at `path` in the commit's tree.
    fn file_at(&self, commit: Oid, path: &str) -> Option<Vec<u8>>;
    /// The blob id of the file at `path` in the commit's tree (read from the tree, not
    /// hashed from the content).
    fn blob_at(&self, commit: Oid, path: &str) -> Option<Oid>;
    /// The body of an unauthenticated GET of a public URL (https, or http to loopback).
    fn fetch(&mut self, url: &str) -> Result<Vec<u8>, ExecError>;
    /// Writes the rewrite commit's objects; returns the commit id git gave it.
    fn write_commit(&mut self, commit: &CiCommit) -> Result<Oid, ExecError>;
    /// Writes a chart branch's commit (`rebranch split`); returns the id git gave it.
    fn write_chart_commit(&mut self, commit: &ChartCommit) -> Result<Oid, ExecError>;
    /// Moves the local branch (and the work tree, when it is checked out and clean) from
    /// `from` to `to`; a local branch anywhere else is left as it is.
    fn follow_local(&mut self, branch: &str, from: Oid, to: Oid) -> Result<(), ExecError>;
    /// A hosted service's setting, read live.
    fn setting(&mut self, change: &SettingChange) -> Result<serde_json::Value, ExecError>;
    /// The setting as the step's check read it right before (the step runs next), or read
    /// now when it was not the last setting read.
    fn checked_setting(&mut self, change: &SettingChange) -> Result<serde_json::Value, ExecError>;
    /// Moves a hosted service's setting from `change.from` to `change.to`.
    fn set_setting(&mut self, change: &SettingChange) -> Result<(), ExecError>;
    /// Where people find what a setting is about (a pull request's page), if anywhere.
    fn describe_setting(&mut self, change: &SettingChange) -> Option<String>;
    /// With a setting at its `to`: whether what its write goes on to do is done.
    fn settled(&mut self, change: &SettingChange) -> Result<bool, ExecError>;
    /// With a setting at its `to` but not settled: what its write goes on to do.
    fn finish_setting(&mut self, change: &SettingChange) -> Result<(), ExecError>;
}

/// A service's error as the executor's: a setting changed under the step is a move.
fn service_error(e: crate::service::ServiceError) -> ExecError {
    if e.moved { ExecError::Moved(e.message) } else { ExecError::Service(e.message) }
}

/// The real effects on a repository. The remote is listed once per run (one connection)
/// and the listing kept current from the pushes this run makes; every push still checks
/// the live remote value in its negotiation, so a stale listing can never cause a clobber.
pub struct GitEffects<'r> {
    repo: &'r Repository,
    listings: BTreeMap<String, RemoteListing>,
    /// Hosted services by name (`github`), for plans that change their settings.
    services: BTreeMap<String, Box<dyn Service + 'r>>,
    /// The last setting read, with its value: the step that checked it starts from it.
    last_read: Option<(SettingChange, serde_json::Value)>,
}

impl<'r> GitEffects<'r> {
    pub fn new(repo: &'r Repository) -> GitEffects<'r> {
        GitEffects { repo, listings: BTreeMap::new(), services: BTreeMap::new(), last_read: None }
    }

    /// Starts from a listing of `remote` just read (by the plan), saving a connection.
    pub fn with_listing(mut self, remote: &str, listing: RemoteListing) -> GitEffects<'r> {
        self.listings.insert(remote.to_string(), listing);
        self
    }

    /// Adds a hosted service for plans that change its settings.
    pub fn with_service(mut self, name: &str, service: Box<dyn Service + 'r>) -> GitEffects<'r> {
        self.services.insert(name.to_string(), service);
        self
    }

    /// Requests made to hosted services so far, by service.
    pub fn service_round_trips(&self) -> BTreeMap<String, usize> {
        self.services.iter().map(|(k, s)| (k.clone(), s.round_trips())).collect()
    }

    fn service(&mut self, change: &SettingChange) -> Result<&mut (dyn Service + 'r), ExecError> {
        match self.services.get_mut(&change.service) {
            Some(s) => Ok(s.as_mut()),
            None => Err(ExecError::Config(format!(
                "the plan changes {} ({}), but no {} API access is set up",
                change.label, change.scope, change.service
            ))),
        }
    }

    fn listing(&mut self, remote: &str) -> Result<&mut RemoteListing, ExecError> {
        if !self.listings.contains_key(remote) {
            let listing = remote::list(self.repo, remote)?;
            self.listings.insert(remote.to_string(), listing);
        }
        Ok(self.listings.get_mut(remote).expect("inserted above"))
    }
}

impl Effects for GitEffects<'_> {
    fn remote_head(&mut self, remote: &str, branch: &str) -> Result<Option<Oid>, ExecError> {
        Ok(self.listing(remote)?.heads.get(branch).copied())
    }

    fn remote_heads(&mut self, remote: &str) -> Result<BTreeMap<String, Oid>, ExecError> {
        Ok(self.listing(remote)?.heads.clone())
    }

    fn contains(&self, tip: Oid, commit: Oid) -> bool {
        if tip == commit {
            return self.repo.find_commit(tip).is_ok();
        }
        self.repo.graph_descendant_of(tip, commit).unwrap_or(false)
    }

    fn parents(&self, commit: Oid) -> Option<Vec<Oid>> {
        let c = self.repo.find_commit(commit).ok()?;
        Some(c.parent_ids().collect())
    }

    fn push(&mut self, remote: &str, update: &RefUpdate) -> Result<(), ExecError> {
        let result = remote::push(self.repo, remote, update);
        // Whatever happened, the cached listing may be stale now: drop it on failure.
        match result {
            Ok(()) => {
                let heads = &mut self.listing(remote)?.heads;
                match update.new {
                    Some(oid) => heads.insert(update.branch.clone(), oid),
                    None => heads.remove(&update.branch),
                };
                Ok(())
            }
            Err(e) => {
                self.listings.remove(remote);
                Err(e.into())
            }
        }
    }

    fn local_branch(&self, name: &str) -> Result<Option<LocalBranch>, ExecError> {
        Ok(local::read(self.repo, name)?)
    }

    fn rename_local(
        &mut self,
        from: &str,
        to: &str,
        upstream: Option<&Upstream>,
    ) -> Result<(), ExecError> {
        Ok(local::rename(self.repo, from, to, upstream)?)
    }

    fn create_local(
        &mut self,
        name: &str,
        oid: Oid,
        upstream: Option<&Upstream>,
    ) -> Result<(), ExecError> {
        Ok(local::create(self.repo, name, oid, upstream)?)
    }

    fn delete_local(&mut self, name: &str, expect: Oid) -> Result<(), ExecError> {
        Ok(local::delete(self.repo, name, expect)?)
    }

    fn set_upstream(&mut self, name: &str, upstream: Option<&Upstream>) -> Result<(), ExecError> {
        Ok(local::set_upstream(self.repo, name, upstream)?)
    }

    fn tracking(&self, remote: &str, branch: &str) -> Option<Oid> {
        self.repo.refname_to_id(&format!("refs/remotes/{remote}/{branch}")).ok()
    }

    fn set_tracking(
        &mut self,
        remote: &str,
        branch: &str,
        oid: Option<Oid>,
    ) -> Result<(), ExecError> {
        Ok(remote::set_tracking(self.repo, remote, branch, oid)?)
    }

    fn has_file(&self, commit: Oid, path: &str) -> bool {
        crate::observe::has_file(self.repo, commit, path)
    }

    fn setting(&mut self, change: &SettingChange) -> Result<serde_json::Value, ExecError> {
        let service = self.service(change)?;
        let value = service.read(change).map_err(service_error)?;
        self.last_read = Some((change.clone(), value.clone()));
        Ok(value)
    }

    fn checked_setting(&mut self, change: &SettingChange) -> Result<serde_json::Value, ExecError> {
        match self.last_read.take() {
            Some((read, value)) if read == *change => Ok(value),
            _ => self.setting(change),
        }
    }

    fn set_setting(&mut self, change: &SettingChange) -> Result<(), ExecError> {
        self.last_read = None;
        let service = self.service(change)?;
        service.write(change).map_err(service_error)
    }

    fn describe_setting(&mut self, change: &SettingChange) -> Option<String> {
        self.service(change).ok()?.describe(change)
    }

    fn settled(&mut self, change: &SettingChange) -> Result<bool, ExecError> {
        let service = self.service(change)?;
        service.settled(change).map_err(service_error)
    }

    fn finish_setting(&mut self, change: &SettingChange) -> Result<(), ExecError> {
        self.last_read = None;
        let service = self.service(change)?;
        service.finish(change).map_err(service_error)
    }

    fn file_at(&self, commit: Oid, path: &str) -> Option<Vec<u8>> {
        let blob = self.blob_at(commit, path)?;
        Some(self.repo.find_blob(blob).ok()?.content().to_vec())
    }

    fn blob_at(&self, commit: Oid, path: &str) -> Option<Oid> {
        let tree = self.repo.find_commit(commit).ok()?.tree().ok()?;
        let entry = tree.get_path(std::path::Path::new(path)).ok()?;
        (entry.kind() == Some(git2::ObjectType::Blob)).then(|| entry.id())
    }

    fn fetch(&mut self, url: &str) -> Result<Vec<u8>, ExecError> {
        crate::http::get_public(url).map_err(|m| {
            ExecError::Config(format!("cannot fetch {}: {m}", crate::git::redact_url(url)))
        })
    }

    fn write_commit(&mut self, c: &CiCommit) -> Result<Oid, ExecError> {
        let repo = self.repo;
        let doing = format!("write the rewrite commit on {}", c.branch);
        let err = |e: git2::Error| ExecError::Git(GitError::from_git(&doing)(e));
        let parent = repo.find_commit(crate::git::parse_oid(&c.parent)?).map_err(err)?;
        let mut tree = parent.tree().map_err(err)?.id();
        for f in &c.files {
            let blob = repo.blob(f.content.as_bytes()).map_err(err)?;
            // The file keeps its mode (an executable script stays executable).
            let entry =
                repo.find_tree(tree).and_then(|t| t.get_path(std::path::Path::new(&f.path)));
            let mode = entry.map_err(err)?.filemode();
            tree =
                crate::git::tree::set_path(repo, tree, &f.path, Some((blob, mode))).map_err(err)?;
        }
        let tree = repo.find_tree(tree).map_err(err)?;
        let when = git2::Time::new(c.author.time, 0);
        let sig = git2::Signature::new(&c.author.name, &c.author.email, &when).map_err(err)?;
        repo.commit(None, &sig, &sig, &c.message, &tree, &[&parent]).map_err(err)
    }

    fn write_chart_commit(&mut self, c: &ChartCommit) -> Result<Oid, ExecError> {
        Ok(crate::flow::write::chart_commit(self.repo, c)?)
    }

    fn follow_local(&mut self, branch: &str, from: Oid, to: Oid) -> Result<(), ExecError> {
        let repo = self.repo;
        let Some(local) = local::read(repo, branch)? else { return Ok(()) };
        let doing = format!("move local branch `{branch}`");
        // libgit2 does not say which index is locked: name the file, as git does, so the
        // message says what to remove when a killed process left it.
        let index_lock = local::work_tree_of(repo, branch).map(|t| t.path().join("index.lock"));
        let err = |e: git2::Error| {
            let mut message = e.message().to_string();
            if let (git2::ErrorCode::Locked, Some(lock)) = (e.code(), &index_lock) {
                message = format!("{message}: '{}' exists", lock.display());
            }
            ExecError::Git(GitError::Op { doing: doing.clone(), message })
        };
        if local.oid == to && from != to {
            // The branch is where it goes, but a run killed while an earlier move updated
            // the files may have left them part way from `to` to `from` (a rollback after
            // such a kill finds exactly that): put those paths back, and nothing else.
            return finish_half_checkout(repo, branch, to, from).map_err(err);
        }
        if local.oid != from {
            return Ok(());
        }
        // The branch may be checked out here or in another work tree (`git worktree add`):
        // its files go along with it, or, when someone's changes are there, it stays.
        if let Some(tree) = local::work_tree_of(repo, branch) {
            let target = tree.find_commit(to).map_err(err)?;
            let mut opts = git2::build::CheckoutBuilder::new();
            if local::is_clean(&tree) {
                // Update the index and files first, from HEAD's tree to the new one, as a
                // fast-forward would; then move the branch.
                opts.safe();
            } else {
                // A run stopped between updating the files and moving the branch leaves
                // the files part way from `from` to `to`: finish that, but touch nothing
                // else.
                let Some(paths) = half_followed(&tree, from, to).map_err(err)? else {
                    return Ok(());
                };
                opts.force();
                for p in &paths {
                    opts.path(p);
                }
            }
            tree.checkout_tree(target.as_object(), Some(&mut opts)).map_err(err)?;
        }
        repo.reference(&format!("refs/heads/{branch}"), to, true, "rebranch: follow the remote")
            .map_err(err)?;
        Ok(())
    }
}

/// In the work tree holding `branch` (at `head`), the paths left part way towards `other`
/// by a killed checkout are checked out at `head` again; anyone's own changes stop it.
fn finish_half_checkout(
    repo: &Repository,
    branch: &str,
    head: Oid,
    other: Oid,
) -> Result<(), git2::Error> {
    let Some(tree) = local::work_tree_of(repo, branch) else { return Ok(()) };
    if local::is_clean(&tree) {
        return Ok(());
    }
    let Some(paths) = half_followed(&tree, head, other)? else { return Ok(()) };
    let target = tree.find_commit(head)?;
    let mut opts = git2::build::CheckoutBuilder::new();
    opts.force();
    for p in &paths {
        opts.path(p);
    }
    tree.checkout_tree(target.as_object(), Some(&mut opts))
}

/// When every tracked change in the index and the work tree is a file that differs between
/// `from` and `to`, holding exactly its `from` or its `to` version, or the start of one of
/// them (what a checkout killed from one to the other leaves: files written, files not yet
/// written, one file cut short while it was written), the paths that differ; otherwise
/// `None` (someone's own work is there, and it is left alone).
fn half_followed(
    repo: &Repository,
    from: Oid,
    to: Oid,
) -> Result<Option<Vec<String>>, git2::Error> {
    let (old, new) = (repo.find_commit(from)?.tree()?, repo.find_commit(to)?.tree()?);
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    let mut versions: BTreeMap<String, [Option<Oid>; 2]> = BTreeMap::new();
    for d in diff.deltas() {
        let (a, b) = (d.old_file(), d.new_file());
        let Some(path) = b.path().or(a.path()).and_then(|p| p.to_str()) else {
            return Ok(None);
        };
        let id = |f: git2::DiffFile<'_>| if f.exists() { Some(f.id()) } else { None };
        versions.insert(path.to_string(), [id(a), id(b)]);
    }
    let Some(workdir) = repo.workdir() else { return Ok(None) };
    let index = repo.index()?;
    let mut opts = git2::StatusOptions::new();
    opts.include_untracked(false).include_ignored(false);
    for entry in repo.statuses(Some(&mut opts))?.iter() {
        let Ok(path) = entry.path() else { return Ok(None) };
        let Some(ours) = versions.get(path) else { return Ok(None) };
        let staged = index.get_path(std::path::Path::new(path), 0).map(|e| e.id);
        let file = workdir.join(path);
        let on_disk = match std::fs::symlink_metadata(&file) {
            Ok(m) if m.is_file() => Some(Oid::hash_file(git2::ObjectType::Blob, &file)?),
            Ok(_) => return Ok(None),
            Err(_) => None,
        };
        if !ours.contains(&staged) {
            return Ok(None);
        }
        if !ours.contains(&on_disk) && !cut_short(repo, &file, ours) {
            return Ok(None);
        }
    }
    Ok(Some(versions.into_keys().collect()))
}

/// Whether the file holds a proper start of one of the versions: a write of it that a kill
/// stopped part way (nobody's edit ends a file exactly there).
fn cut_short(repo: &Repository, file: &std::path::Path, versions: &[Option<Oid>; 2]) -> bool {
    let Ok(bytes) = std::fs::read(file) else { return false };
    versions.iter().flatten().any(|id| {
        repo.find_blob(*id).is_ok_and(|b| {
            let whole = b.content();
            bytes.len() < whole.len() && whole.starts_with(&bytes)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A repository with two commits that differ in one file, `from` checked out.
    fn two_commits(dir: &std::path::Path) -> (Repository, Oid, Oid) {
        let repo = Repository::init(dir).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let commit = |text: &str, parents: &[&git2::Commit<'_>]| {
            let blob = repo.blob(text.as_bytes()).unwrap();
            let mut tree = repo.treebuilder(None).unwrap();
            tree.insert("ci.yaml", blob, 0o100644).unwrap();
            let tree = repo.find_tree(tree.write().unwrap()).unwrap();
            repo.commit(None, &sig, &sig, "c", &tree, parents).unwrap()
        };
        let from = commit("branch: charts\nname: release workflow\n", &[]);
        let parent = repo.find_commit(from).unwrap();
        let to = commit("branch: release\nname: release workflow\n", &[&parent]);
        drop(parent);
        repo.reference("refs/heads/main", from, true, "t").unwrap();
        repo.set_head("refs/heads/main").unwrap();
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force())).unwrap();
        (repo, from, to)
    }

    #[test]
    fn a_file_cut_short_by_a_killed_checkout_is_ours_and_an_edit_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, from, to) = two_commits(dir.path());
        let file = dir.path().join("ci.yaml");
        std::fs::write(&file, "branch: rel").unwrap();
        assert_eq!(half_followed(&repo, from, to).unwrap(), Some(vec!["ci.yaml".to_string()]));
        std::fs::write(&file, "").unwrap();
        assert!(half_followed(&repo, from, to).unwrap().is_some(), "truncated, nothing written");
        std::fs::write(&file, "branch: release\nname: release workflow\n").unwrap();
        assert!(half_followed(&repo, from, to).unwrap().is_some(), "written whole");
        std::fs::write(&file, "branch: mine\n").unwrap();
        assert_eq!(half_followed(&repo, from, to).unwrap(), None, "someone's edit");
    }
}
