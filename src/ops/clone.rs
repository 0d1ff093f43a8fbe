//! Clones for a batch: a repository named by URL is cloned into its directory (or fetched
//! when already there) with only what the plan reads.

use super::{Env, Error, PlanOptions};
use crate::git::fetch::Needs;

/// Clones `url` into `opts.repo_path`, or fetches it there: the branches the plan names,
/// and history where it compares.
pub fn clone_or_fetch(url: &str, opts: &PlanOptions, env: Env<'_>) -> Result<(), Error> {
    let target = super::request::target(opts, env)?;
    let needs = Needs {
        branches: crate::observe::target_names(&target),
        related: crate::observe::related_names(&target),
        checkout: target.rewrite.as_ref().map(|r| r.commit_on.clone()),
    };
    crate::git::fetch::clone_or_fetch(url, &opts.repo_path, &target.remote, &needs)?;
    Ok(())
}
