//! The remote side of git: listing a remote's branches in one connection, and pushing one
//! ref at a time with compare-and-swap.
//!
//! libgit2 cannot push atomically and `Remote::push` returns `Ok` even when the server
//! rejected a ref, so every push here carries one ref update, pins the expected old value in
//! the push-negotiation callback (which sees the remote's live oid right before the pack is
//! sent), and reads the per-ref verdict from the push-update callback.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use git2::{Cred, CredentialType, Direction, Oid, PushOptions, RemoteCallbacks, Repository};

use super::GitError;

/// A remote's branches as advertised in one connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RemoteListing {
    /// Branch name (without `refs/heads/`) to oid.
    pub heads: BTreeMap<String, Oid>,
    /// Tag names (without `refs/tags/`): a branch may not share its short name with one.
    pub tags: BTreeSet<String>,
    /// The branch the remote's HEAD names, if it advertises one.
    pub default_branch: Option<String>,
    /// The branches whose objects were fetched on that connection.
    pub fetched: Vec<String>,
    /// What went wrong moving the remote-tracking refs after the fetch (a lock file left by
    /// a killed process): the objects are here and the listing holds, so it is said, not
    /// fatal.
    pub warnings: Vec<String>,
}

/// One ref update with its lease: the remote branch must be at `expect` (`None`: absent).
#[derive(Debug, Clone, PartialEq)]
pub struct RefUpdate {
    pub branch: String,
    pub expect: Option<Oid>,
    pub new: Option<Oid>,
}

/// Why a push did not happen.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("remote branch `{branch}` is at {found}, not at {expected} as planned")]
    Moved { branch: String, expected: String, found: String },
    #[error("the remote rejected the update of `{branch}`: {reason}")]
    Rejected { branch: String, reason: String },
    #[error(transparent)]
    Git(#[from] GitError),
}

/// Lists the remote's branches in one connection (what `git ls-remote --heads` shows).
pub fn list(repo: &Repository, remote_name: &str) -> Result<RemoteListing, GitError> {
    list_and_fetch(repo, remote_name, &|_| Vec::new())
}

/// Lists the remote's branches and tags in one connection and, on that same connection,
/// fetches the branches `wanted` picks from the listing whose tips this clone lacks or whose
/// remote-tracking refs lag behind, moving those refs as `git fetch` would (never pruning).
/// So a clone that is behind its remote is planned against the remote's truth.
pub fn list_and_fetch(
    repo: &Repository,
    remote_name: &str,
    wanted: &dyn Fn(&RemoteListing) -> Vec<String>,
) -> Result<RemoteListing, GitError> {
    super::https::register();
    let mut remote = find_remote(repo, remote_name)?;
    let config = repo.config().map_err(GitError::from_git("read git config"))?;
    let attempts = RefCell::new(Attempts::default());
    let callbacks = credential_callbacks(&config, &attempts);
    let url = super::redact_url(remote.url().unwrap_or_default());
    let mut connection = remote
        .connect_auth(Direction::Fetch, Some(callbacks), None)
        .map_err(GitError::from_git(&format!("connect to remote `{remote_name}` ({url})")))?;
    let mut listing = RemoteListing::default();
    let heads = connection
        .list()
        .map_err(GitError::from_git(&format!("list the branches of `{remote_name}`")))?;
    for head in heads {
        if let Some(branch) = head.name().strip_prefix("refs/heads/") {
            listing.heads.insert(branch.to_string(), head.oid());
        } else if let Some(tag) = head.name().strip_prefix("refs/tags/") {
            listing.tags.insert(tag.trim_end_matches("^{}").to_string());
        }
    }
    listing.default_branch = connection
        .default_branch()
        .ok()
        .and_then(|b| b.as_str().ok().map(str::to_string))
        .and_then(|b| b.strip_prefix("refs/heads/").map(str::to_string));
    let stale: Vec<String> = wanted(&listing)
        .into_iter()
        .filter(|b| {
            let Some(tip) = listing.heads.get(b) else { return false };
            let tracking = repo.refname_to_id(&format!("refs/remotes/{remote_name}/{b}")).ok();
            tracking != Some(*tip) || repo.find_commit(*tip).is_err()
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if stale.is_empty() {
        return Ok(listing);
    }
    let specs: Vec<String> =
        stale.iter().map(|b| format!("+refs/heads/{b}:refs/remotes/{remote_name}/{b}")).collect();
    let doing = format!("fetch {} from `{remote_name}` ({url})", stale.join(", "));
    let fetch_attempts = RefCell::new(Attempts::default());
    let mut options = git2::FetchOptions::new();
    options
        .remote_callbacks(credential_callbacks(&config, &fetch_attempts))
        .download_tags(git2::AutotagOption::None);
    let remote = connection.remote();
    remote.download(&specs, Some(&mut options)).map_err(GitError::from_git(&doing))?;
    let tips_attempts = RefCell::new(Attempts::default());
    let mut tips_callbacks = credential_callbacks(&config, &tips_attempts);
    let moved = remote.update_tips(
        Some(&mut tips_callbacks),
        git2::RemoteUpdateFlags::empty(),
        git2::AutotagOption::None,
        Some("rebranch: fetch"),
    );
    if let Err(e) = moved {
        listing.warnings.push(format!(
            "fetched {}, but could not move the remote-tracking refs: {} (the plan uses what `{remote_name}` listed)",
            stale.join(", "),
            e.message().trim()
        ));
    }
    listing.fetched = stale;
    Ok(listing)
}

/// Pushes one ref update with compare-and-swap, then updates the remote-tracking ref.
pub fn push(repo: &Repository, remote_name: &str, update: &RefUpdate) -> Result<(), PushError> {
    super::https::register();
    let mut remote = find_remote(repo, remote_name)?;
    let config = repo.config().map_err(GitError::from_git("read git config"))?;
    let dst = format!("refs/heads/{}", update.branch);
    let temp = format!("refs/rebranch/push/{}", update.branch);
    let refspec = match update.new {
        Some(new) => {
            repo.reference(&temp, new, true, "rebranch: push source")
                .map_err(GitError::from_git(&format!("create {temp}")))?;
            let force = if update.expect.is_some() { "+" } else { "" };
            format!("{force}{temp}:{dst}")
        }
        None => format!(":{dst}"),
    };
    let result = push_refspec(&mut remote, &config, &refspec, update);
    if update.new.is_some()
        && let Ok(mut r) = repo.find_reference(&temp)
    {
        let _ = r.delete();
    }
    result?;
    set_tracking(repo, remote_name, &update.branch, update.new)?;
    Ok(())
}

/// Points `refs/remotes/<remote>/<branch>` at `oid`, or deletes it for `None`.
pub fn set_tracking(
    repo: &Repository,
    remote: &str,
    branch: &str,
    oid: Option<Oid>,
) -> Result<(), GitError> {
    let name = format!("refs/remotes/{remote}/{branch}");
    match oid {
        Some(oid) => repo
            .reference(&name, oid, true, "rebranch: update by push")
            .map(|_| ())
            .map_err(GitError::from_git(&format!("update {name}"))),
        None => match repo.find_reference(&name) {
            Ok(mut r) => r.delete().map_err(GitError::from_git(&format!("delete {name}"))),
            Err(e) if e.code() == git2::ErrorCode::NotFound => Ok(()),
            Err(e) => Err(GitError::from_git(&format!("read {name}"))(e)),
        },
    }
}

fn push_refspec(
    remote: &mut git2::Remote<'_>,
    config: &git2::Config,
    refspec: &str,
    update: &RefUpdate,
) -> Result<(), PushError> {
    let attempts = RefCell::new(Attempts::default());
    let moved: RefCell<Option<Oid>> = RefCell::new(None);
    let statuses: RefCell<Vec<(String, Option<String>)>> = RefCell::new(Vec::new());
    let mut callbacks = credential_callbacks(config, &attempts);
    let expect = update.expect.unwrap_or(Oid::ZERO_SHA1);
    callbacks.push_negotiation(|updates| {
        for u in updates {
            if u.src() != expect {
                *moved.borrow_mut() = Some(u.src());
                return Err(git2::Error::from_str("the remote ref moved since the plan"));
            }
        }
        Ok(())
    });
    callbacks.push_update_reference(|refname, status| {
        statuses.borrow_mut().push((refname.to_string(), status.map(str::to_string)));
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let pushed = remote.push(&[refspec], Some(&mut options));
    if let Some(found) = *moved.borrow() {
        return Err(PushError::Moved {
            branch: update.branch.clone(),
            expected: show_oid(update.expect),
            found: show_oid(Some(found).filter(|o| !o.is_zero())),
        });
    }
    pushed.map_err(|e| push_failure(&update.branch, e))?;
    for (refname, status) in statuses.borrow().iter() {
        if let Some(reason) = status {
            return Err(PushError::Rejected {
                branch: refname.trim_start_matches("refs/heads/").to_string(),
                reason: reason.clone(),
            });
        }
    }
    Ok(())
}

fn push_failure(branch: &str, e: git2::Error) -> PushError {
    // A stale old value is refused by receive-pack with "failed to update ref" or as a
    // non-fast-forward; both mean someone else pushed: say so plainly.
    let msg = e.message().to_string();
    if msg.contains("failed to update ref") || e.code() == git2::ErrorCode::NotFastForward {
        return PushError::Rejected {
            branch: branch.to_string(),
            reason: format!("{msg} (the remote branch changed while pushing)"),
        };
    }
    PushError::Git(GitError::from_git(&format!("push `{branch}`"))(e))
}

fn show_oid(oid: Option<Oid>) -> String {
    match oid {
        Some(o) => super::short(o),
        None => "(absent)".to_string(),
    }
}

fn find_remote<'r>(repo: &'r Repository, name: &str) -> Result<git2::Remote<'r>, GitError> {
    repo.find_remote(name).map_err(|_| GitError::NoRemote { remote: name.to_string() })
}

/// Which credential methods this operation has tried: libgit2 calls the callback again
/// after each failure, so each method is offered once, then the operation fails.
#[derive(Default)]
pub(super) struct Attempts {
    username: bool,
    agent: bool,
    helper: bool,
}

pub(super) fn credential_callbacks<'a>(
    config: &'a git2::Config,
    attempts: &'a RefCell<Attempts>,
) -> RemoteCallbacks<'a> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        let mut tried = attempts.borrow_mut();
        let user = username.unwrap_or("git");
        if allowed.contains(CredentialType::USERNAME) && !tried.username {
            tried.username = true;
            return Cred::username(user);
        }
        if allowed.contains(CredentialType::SSH_KEY) && !tried.agent {
            tried.agent = true;
            return Cred::ssh_key_from_agent(user);
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) && !tried.helper {
            tried.helper = true;
            return Cred::credential_helper(config, url, username);
        }
        Err(git2::Error::from_str(
            "no credentials were accepted: set up a git credential helper or ssh-agent for this remote",
        ))
    });
    callbacks
}
