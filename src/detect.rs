//! Finding the branches a plan is about when the user did not name them and the plan's
//! defaults are absent: the stable branch is the one the remote's HEAD names, and the
//! publishing branch the one whose tip holds the files the plan requires of it (the Helm
//! index, `index.yaml`). Pure: it reads the remote's listing and asks `holds` about tips.
//!
//! Only a branch written in the plan file as one whole variable (`name = "{main}"`) is
//! detected, and only when that variable was not set (`--set`, a batch file, or the
//! variables of the last apply).

use std::collections::BTreeSet;

use git2::Oid;

use crate::git::remote::RemoteListing;
use crate::spec::{BranchOrigin, Spec, Target};

/// A variable given the value found on the remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub key: String,
    pub value: String,
    /// Why, in a few words: "the remote's HEAD", "the only branch holding index.yaml".
    pub why: String,
}

/// Two or more branches could be the one the plan means.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "remote `{remote}` has no branch `{default}` ({role}), and {} branches could be it: {}",
    candidates.len(),
    candidates.join(", ")
)]
pub struct Ambiguous {
    pub remote: String,
    pub key: String,
    pub default: String,
    pub role: String,
    pub candidates: Vec<String>,
}

/// The branches detection may need to look into, from the listing: the remote's HEAD when
/// a stable branch is missing, and every other branch when a publishing branch is (their
/// tips are read to find the Helm index, so their objects must be here).
pub fn candidates(
    spec: &Spec,
    target: &Target,
    explicit: &BTreeSet<String>,
    listing: &RemoteListing,
) -> Vec<String> {
    let mut out = Vec::new();
    if stable_to_detect(spec, target, explicit, listing).next().is_some() {
        out.extend(listing.default_branch.clone());
    }
    if published_to_detect(spec, target, explicit, listing).next().is_some() {
        let named = crate::observe::target_names(target);
        out.extend(listing.heads.keys().filter(|b| !named.contains(*b)).cloned());
    }
    out
}

/// The variables to give detected values, with why; `holds(tip, files)` says whether a
/// commit has every one of `files`.
pub fn detect(
    spec: &Spec,
    target: &Target,
    explicit: &BTreeSet<String>,
    listing: &RemoteListing,
    holds: &dyn Fn(Oid, &[String]) -> bool,
) -> Result<Vec<Detected>, Ambiguous> {
    let mut found = Vec::new();
    let named = crate::observe::target_names(target);
    for (key, _) in stable_to_detect(spec, target, explicit, listing) {
        let Some(head) = &listing.default_branch else { continue };
        if !named.contains(head) {
            found.push(Detected {
                key: key.to_string(),
                value: head.clone(),
                why: format!("{}'s HEAD", target.remote),
            });
        }
    }
    let taken: BTreeSet<String> = found.iter().map(|d| d.value.clone()).collect();
    for (key, default, files) in published_to_detect(spec, target, explicit, listing) {
        let mut holding: Vec<String> = listing
            .heads
            .iter()
            .filter(|(b, _)| !named.contains(*b) && !taken.contains(*b))
            .filter(|(_, tip)| holds(**tip, files))
            .map(|(b, _)| b.clone())
            .collect();
        match holding.len() {
            0 => {}
            1 => found.push(Detected {
                key: key.to_string(),
                value: holding.remove(0),
                why: format!("the only branch holding {}", files.join(", ")),
            }),
            _ => {
                return Err(Ambiguous {
                    remote: target.remote.clone(),
                    key: key.to_string(),
                    default: default.to_string(),
                    role: format!("the branch holding {}", files.join(", ")),
                    candidates: holding,
                });
            }
        }
    }
    Ok(found)
}

/// One line for the plan: what was detected and how to choose otherwise.
pub fn note(detected: &[Detected]) -> Option<String> {
    if detected.is_empty() {
        return None;
    }
    let found: Vec<String> =
        detected.iter().map(|d| format!("{}={} ({})", d.key, d.value, d.why)).collect();
    let sets: Vec<String> = detected.iter().map(|d| format!("--set {}=NAME", d.key)).collect();
    Some(format!("detected {}; choose otherwise with {}", found.join(", "), sets.join(" ")))
}

/// `(key, default)` of each kept branch written as one variable, not set, and absent.
fn stable_to_detect<'a>(
    spec: &'a Spec,
    target: &'a Target,
    explicit: &'a BTreeSet<String>,
    listing: &'a RemoteListing,
) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    spec.branches.iter().zip(&target.branches).filter_map(move |(def, branch)| {
        let key = whole_variable(&def.name)?;
        let absent = !listing.heads.contains_key(&branch.name);
        (def.origin == BranchOrigin::Existing && !explicit.contains(key) && absent)
            .then_some((key, branch.name.as_str()))
    })
}

/// `(key, default, files)` of each renamed branch's old name written as one variable, not
/// set, whose old and new names are both absent (so it is not a migrated repository), when
/// the new one must hold some files to find it by.
fn published_to_detect<'a>(
    spec: &'a Spec,
    target: &'a Target,
    explicit: &'a BTreeSet<String>,
    listing: &'a RemoteListing,
) -> impl Iterator<Item = (&'a str, &'a str, &'a [String])> + 'a {
    spec.branches.iter().zip(&target.branches).filter_map(move |(def, branch)| {
        let (BranchOrigin::RenameFrom(template), BranchOrigin::RenameFrom(old)) =
            (&def.origin, &branch.origin)
        else {
            return None;
        };
        let key = whole_variable(template)?;
        let absent = !listing.heads.contains_key(old) && !listing.heads.contains_key(&branch.name);
        (!explicit.contains(key) && absent && !branch.must_contain.is_empty()).then_some((
            key,
            old.as_str(),
            branch.must_contain.as_slice(),
        ))
    })
}

/// `main` for the template `{main}`; `None` for anything else.
fn whole_variable(template: &str) -> Option<&str> {
    let key = template.strip_prefix('{')?.strip_suffix('}')?;
    (!key.is_empty() && !key.contains(['{', '}'])).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(heads: &[(&str, u8)], default: Option<&str>) -> RemoteListing {
        RemoteListing {
            heads: heads
                .iter()
                .map(|(b, n)| (b.to_string(), Oid::from_bytes(&[*n; 20]).unwrap()))
                .collect(),
            default_branch: default.map(str::to_string),
            ..Default::default()
        }
    }

    fn run(
        l: &RemoteListing,
        explicit: &[&str],
        indexed: &[u8],
    ) -> Result<Vec<Detected>, Ambiguous> {
        let spec = Spec::builtin();
        let target = spec.resolve(&[], &|_| None).unwrap();
        let explicit = explicit.iter().map(|s| s.to_string()).collect();
        let holds = |tip: Oid, _: &[String]| indexed.iter().any(|n| tip.as_bytes()[0] == *n);
        detect(&spec, &target, &explicit, l, &holds)
    }

    #[test]
    fn master_and_gh_pages_are_found() {
        let l = listing(&[("master", 1), ("gh-pages", 2), ("feature/x", 3)], Some("master"));
        let found = run(&l, &[], &[2]).unwrap();
        let pairs: Vec<(&str, &str)> =
            found.iter().map(|d| (d.key.as_str(), d.value.as_str())).collect();
        assert_eq!(pairs, [("main", "master"), ("from", "gh-pages")]);
        let note = note(&found).unwrap();
        assert!(note.contains("--set main=NAME --set from=NAME"), "{note}");
    }

    #[test]
    fn two_branches_with_an_index_are_refused_by_name() {
        let l = listing(&[("main", 1), ("gh-pages", 2), ("site", 3)], Some("main"));
        let err = run(&l, &[], &[2, 3]).unwrap_err();
        assert_eq!(err.candidates, ["gh-pages", "site"]);
        assert!(err.to_string().contains("gh-pages, site"), "{err}");
    }

    #[test]
    fn nothing_is_detected_when_the_defaults_exist_or_were_set() {
        let l = listing(&[("main", 1), ("charts", 2), ("gh-pages", 3)], Some("main"));
        assert_eq!(run(&l, &[], &[2, 3]).unwrap(), []);
        let l = listing(&[("master", 1), ("gh-pages", 3)], Some("master"));
        assert_eq!(run(&l, &["main", "from"], &[3]).unwrap(), []);
    }

    #[test]
    fn a_migrated_repository_is_not_searched() {
        let l = listing(&[("main", 1), ("release", 2), ("gh-pages", 3)], Some("main"));
        assert_eq!(run(&l, &[], &[2, 3]).unwrap(), []);
    }

    #[test]
    fn branches_without_the_index_are_not_candidates() {
        let l = listing(&[("main", 1), ("docs", 2)], Some("main"));
        assert_eq!(run(&l, &[], &[]).unwrap(), []);
    }
}
