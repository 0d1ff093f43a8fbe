//! What the observation shows that would stop an apply part way, checked before the plan is
//! offered: refs git cannot create beside the ones that exist (`release` beside
//! `release/1.x`, a tag of the same short name), and what happens to a checked-out branch
//! that the CI commit moves. Pure, like the rest of the planner.

use std::collections::BTreeSet;

use git2::Oid;

use super::PlanError;
use super::action::{Action, CiCommit};
use crate::git::short;
use crate::observe::Observation;
use crate::spec::Target;

/// How many clashing refs an error names before it gives a count.
const SHOWN: usize = 3;

/// Refuses the plan when a ref it creates cannot exist beside the refs that do, on the
/// remote or in this clone.
pub fn check_names(
    target: &Target,
    obs: &Observation,
    actions: &[Action],
) -> Result<(), PlanError> {
    let remote_refs: BTreeSet<String> = obs
        .listing
        .heads
        .keys()
        .map(|b| format!("refs/heads/{b}"))
        .chain(obs.listing.tags.iter().map(|t| format!("refs/tags/{t}")))
        .collect();
    let mut remote_new = BTreeSet::new();
    let mut local_new = BTreeSet::new();
    for action in actions {
        match action {
            Action::RemoteBranch(a) if a.from.is_none() && a.to.is_some() => {
                remote_new.insert(a.branch.clone());
                local_new.insert(format!("refs/remotes/{}/{}", a.remote, a.branch));
            }
            Action::LocalRename(a) => {
                local_new.insert(format!("refs/heads/{}", a.to));
            }
            Action::LocalBranch(a) if a.from.is_none() && a.to.is_some() => {
                local_new.insert(format!("refs/heads/{}", a.branch));
            }
            _ => {}
        }
    }
    let mut found: Vec<PlanError> = Vec::new();
    for branch in &remote_new {
        let name = format!("refs/heads/{branch}");
        let clashes = clashes(&name, &remote_refs);
        if !clashes.is_empty() {
            found.push(clash_error(target, branch, &format!("remote `{}`", obs.remote), &clashes));
        }
    }
    for name in &local_new {
        let clashes = clashes(name, &obs.local_refs);
        let branch = name
            .strip_prefix(&format!("refs/remotes/{}/", obs.remote))
            .unwrap_or_else(|| name.trim_start_matches("refs/heads/"));
        // A branch already refused for the remote is not named twice.
        if !clashes.is_empty() && !found.iter().any(|e| e.message.contains(&format!("`{branch}`:")))
        {
            found.push(clash_error(target, branch, "this clone", &clashes));
        }
    }
    // Every clash at once, so one fix (or one set of --set) deals with them all.
    let mut errors = found.into_iter();
    let Some(mut first) = errors.next() else { return Ok(()) };
    for more in errors {
        first.message.push_str(&format!("; and {}", more.message));
        first.hint.push_str(&format!("; {}", more.hint));
    }
    first.hint.push_str("; nothing was changed");
    Err(first)
}

/// Lines for the plan about the branch the CI commit moves, when it cannot simply follow:
/// checked out with changes, behind, ahead or diverged. Each says what will happen to it
/// and the command that brings it in line afterwards.
pub fn checkout_notes(obs: &Observation, commit: &CiCommit) -> Vec<String> {
    let branch = &commit.branch;
    let Some(local) = obs.local.get(branch) else { return Vec::new() };
    let (Ok(parent), Ok(new)) = (Oid::from_str(&commit.parent), Oid::from_str(&commit.commit))
    else {
        return Vec::new();
    };
    let remote = &obs.remote;
    let at = short(local.oid);
    let checkout = obs.checkouts.get(branch);
    let place = match checkout {
        Some(c) if c.current => " (checked out here)".to_string(),
        Some(c) => format!(" (checked out in {})", c.path.display()),
        None => String::new(),
    };
    if local.oid == parent {
        return match checkout {
            Some(c) if !c.clean => vec![format!(
                "local `{branch}`{place} has uncommitted changes: it stays at {at} while `{remote}/{branch}` moves to {}; afterwards commit or stash them, then run `git pull --ff-only`",
                short(new)
            )],
            Some(c) if !c.current => vec![format!(
                "local `{branch}` is checked out in {}: its files follow the rewrite commit there, as `git pull --ff-only` would",
                c.path.display()
            )],
            _ => Vec::new(),
        };
    }
    let (behind, ahead) = (obs.holds(parent, local.oid), obs.holds(local.oid, parent));
    let what = if behind {
        format!(
            "is behind `{remote}/{branch}`: it stays at {at}; afterwards `git pull --ff-only` on `{branch}` brings it in line"
        )
    } else if ahead {
        format!(
            "has commits that `{remote}/{branch}` lacks: it stays at {at}; afterwards `git pull --rebase` on `{branch}` puts them on top of the rewrite commit, and `git push` publishes them"
        )
    } else {
        format!(
            "has diverged from `{remote}/{branch}`: it stays at {at}; afterwards `git pull --rebase` on `{branch}` puts its own commits on top of the rewrite commit"
        )
    };
    vec![format!("local `{branch}`{place} {what}")]
}

/// The refs that keep `name` from being created: a ref under `name/`, a ref that `name`
/// would sit under, or a tag of the same short name.
fn clashes(name: &str, existing: &BTreeSet<String>) -> Vec<String> {
    let short = name.rsplit('/').next().unwrap_or(name);
    let full_short = name
        .strip_prefix("refs/heads/")
        .or_else(|| name.strip_prefix("refs/remotes/").and_then(|r| r.split_once('/').map(|x| x.1)))
        .unwrap_or(short);
    let tag = format!("refs/tags/{full_short}");
    existing
        .iter()
        .filter(|e| {
            e.starts_with(&format!("{name}/"))
                || name.starts_with(&format!("{e}/"))
                || (name.starts_with("refs/heads/") && **e == tag)
        })
        .cloned()
        .collect()
}

fn clash_error(target: &Target, branch: &str, place: &str, clashes: &[String]) -> PlanError {
    let mut shown: Vec<&str> = clashes.iter().take(SHOWN).map(String::as_str).collect();
    let more = clashes.len().saturating_sub(SHOWN);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    let is_tag = clashes.iter().any(|c| c.starts_with("refs/tags/"));
    shown.sort();
    let why = if is_tag {
        "a tag of that name would make `git push origin NAME` and `git checkout NAME` ambiguous"
    } else {
        "git cannot hold a ref beside another ref under its name (refs/heads/x beside refs/heads/x/y)"
    };
    let key = target
        .variables
        .iter()
        .find(|(k, v)| *v == branch && !k.contains('.'))
        .map_or("to", |(k, _)| k.as_str());
    PlanError {
        message: format!(
            "cannot create branch `{branch}`: {place} has {}{more}; {why}",
            shown.join(", ")
        ),
        hint: format!(
            "choose another name with --set {key}=NAME (for example --set {key}=helm-{branch}), or rename the clashing refs"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn directory_file_clashes_in_both_directions_and_tags() {
        let existing = set(&[
            "refs/heads/release/1.x",
            "refs/heads/feature",
            "refs/tags/integration",
            "refs/heads/releases",
        ]);
        assert_eq!(clashes("refs/heads/release", &existing), ["refs/heads/release/1.x"]);
        assert_eq!(clashes("refs/heads/feature/x", &existing), ["refs/heads/feature"]);
        assert_eq!(clashes("refs/heads/integration", &existing), ["refs/tags/integration"]);
        assert!(clashes("refs/heads/release-2", &existing).is_empty());
        let tracking = set(&["refs/remotes/origin/release/x"]);
        assert_eq!(clashes("refs/remotes/origin/release", &tracking).len(), 1);
    }
}
