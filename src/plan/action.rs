//! The actions a plan is made of: plain data, each with the exact state it expects before
//! (`from`), the state it leaves (`to`), and its inverse. How an action checks and applies
//! itself against live state lives in [`crate::exec::steps`]; the executor sees neither.

use serde::{Deserialize, Serialize};

use crate::git::local::Upstream;
pub use crate::service::SettingChange;

/// One step of a migration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", from = "Stored")]
pub enum Action {
    /// Creates, moves or deletes a branch on the remote, with compare-and-swap.
    RemoteBranch(RemoteBranch),
    /// Renames a local branch and moves its upstream.
    LocalRename(LocalRename),
    /// Creates, moves or deletes a local branch.
    LocalBranch(LocalBranchChange),
    /// Brings a stale remote-tracking ref in line with the remote.
    Tracking(Tracking),
    /// Commits the CI/CD rewrite on a branch and pushes it (or takes it back).
    CiCommit(Box<CiCommit>),
    /// Waits until a branch has a change that people merge (the CI rewrite's review).
    Await(Box<Await>),
    /// Moves a setting of a hosted service (a pull request's base, a branch's protection, a
    /// ruleset, a site's source branch) from one exact value to another.
    Setting(Box<SettingChange>),
    /// Commits a chart's directory from `integration` on top of `main` to the chart's own
    /// branch and pushes it (`rebranch split`); its inverse moves the branch back.
    ChartCommit(Box<ChartCommit>),
}

/// How actions are read back: as they are written, and a Pages step as journals and saved
/// plans recorded it before the settings seam (read as the setting it is).
#[derive(Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    RemoteBranch(RemoteBranch),
    LocalRename(LocalRename),
    LocalBranch(LocalBranchChange),
    Tracking(Tracking),
    Pages(Box<crate::cloudflare::LegacyStep>),
    CiCommit(Box<CiCommit>),
    Await(Box<Await>),
    Setting(Box<SettingChange>),
    ChartCommit(Box<ChartCommit>),
}

impl From<Stored> for Action {
    fn from(stored: Stored) -> Action {
        match stored {
            Stored::RemoteBranch(a) => Action::RemoteBranch(a),
            Stored::LocalRename(a) => Action::LocalRename(a),
            Stored::LocalBranch(a) => Action::LocalBranch(a),
            Stored::Tracking(a) => Action::Tracking(a),
            Stored::Pages(a) => Action::Setting(Box::new(SettingChange::from(*a))),
            Stored::CiCommit(a) => Action::CiCommit(a),
            Stored::Await(a) => Action::Await(a),
            Stored::Setting(a) => Action::Setting(a),
            Stored::ChartCommit(a) => Action::ChartCommit(a),
        }
    }
}

/// A per-chart branch set to one new commit: `main`'s tree with the chart's directory as
/// on `integration`, on top of `parent` (`main`, or the chart branch's own tip when it
/// still descends from `main`). The ids are computed at plan time: applying it creates
/// exactly this commit, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChartCommit {
    pub remote: String,
    /// The chart branch.
    pub branch: String,
    pub chart: String,
    /// The chart's directory, e.g. `charts/podinfo-lite`.
    pub path: String,
    /// The chart branch's remote tip before (`None`: absent).
    pub from: Option<String>,
    pub parent: String,
    /// The `main` commit whose tree the commit starts from.
    pub base: String,
    /// The `integration` commit the chart's directory comes from.
    pub source: String,
    /// The chart directory's tree on `integration` (`None`: removed there).
    pub chart_tree: Option<String>,
    /// The commit's tree, as planned.
    pub tree: String,
    pub commit: String,
    pub author: Identity,
    pub message: String,
    /// The chart's files that differ from `main`, as `+ path`, `~ path` or `- path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// A commit that rewrites CI/CD files, computed at plan time: applying it creates exactly
/// this commit id, or nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CiCommit {
    pub remote: String,
    pub branch: String,
    pub parent: String,
    pub commit: String,
    pub author: Identity,
    pub message: String,
    pub files: Vec<CiFileChange>,
    /// True for the inverse: the branch goes back from `commit` to `parent`.
    #[serde(default)]
    pub back: bool,
    /// When `branch` takes changes only through a review: the new branch the commit is
    /// pushed to instead (created at `commit`; its inverse deletes it), for a pull request
    /// into `branch`, which stays at `parent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head: Option<String>,
}

/// Waits until `branch` has the CI rewrite, merged through a review by people: done when
/// the branch is at `commit`, or has every rewritten file's new content on top of other
/// work (a squash or merge commit), in which case the rest of the plan is planned again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Await {
    pub remote: String,
    pub branch: String,
    pub commit: String,
    /// `(path, new blob)` of each rewritten file.
    pub files: Vec<(String, String)>,
    /// What to do, e.g. "merge the pull request from `rebranch/ci-main` (URL)".
    pub hint: String,
    /// The setting that opened the review, so the wait can name it as it is now (its page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<Box<SettingChange>>,
}

/// Author and committer of the rewrite commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub name: String,
    pub email: String,
    /// Unix seconds, UTC.
    pub time: i64,
}

/// One rewritten file of the commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiFileChange {
    pub path: String,
    pub old_blob: String,
    pub new_blob: String,
    /// The whole new text, committed as is.
    pub content: String,
    /// The unified diff shown for review.
    pub diff: String,
    /// How many occurrences were rewritten.
    pub rewrites: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// A remote branch going from `from` to `to` (object ids; `None`: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteBranch {
    pub remote: String,
    pub branch: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// For a delete: the branch that must hold `from` on the remote, so nothing is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_by: Option<String>,
    /// For a delete: files the keeper's tip must have (e.g. `index.yaml`, which
    /// chart-releaser would otherwise start afresh, losing every published version).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kept_files: Vec<String>,
    /// Why this step exists, in a few words.
    pub why: String,
}

/// A local branch renamed; its tip is carried along, its upstream replaced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalRename {
    pub from: String,
    pub to: String,
    pub oid: String,
    pub upstream_before: Option<Upstream>,
    pub upstream_after: Option<Upstream>,
}

/// A local branch's state: tip and upstream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalState {
    pub oid: String,
    pub upstream: Option<Upstream>,
}

/// A local branch going from `from` to `to` (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalBranchChange {
    pub branch: String,
    pub from: Option<LocalState>,
    pub to: Option<LocalState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kept_by: Option<String>,
}

/// `refs/remotes/<remote>/<branch>` going from `from` to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracking {
    pub remote: String,
    pub branch: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The sign a change shows in the plan: `+` create, `~` change, `-` delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sign {
    Create,
    Change,
    Delete,
}

impl Sign {
    fn of<T>(from: &Option<T>, to: &Option<T>) -> Sign {
        match (from, to) {
            (None, _) => Sign::Create,
            (_, None) => Sign::Delete,
            _ => Sign::Change,
        }
    }

    pub fn symbol(self) -> char {
        match self {
            Sign::Create => '+',
            Sign::Change => '~',
            Sign::Delete => '-',
        }
    }
}

impl Action {
    /// The action that undoes this one.
    pub fn inverse(&self) -> Action {
        match self {
            Action::RemoteBranch(a) => Action::RemoteBranch(RemoteBranch {
                remote: a.remote.clone(),
                branch: a.branch.clone(),
                from: a.to.clone(),
                to: a.from.clone(),
                kept_by: None,
                kept_files: Vec::new(),
                why: format!("undo: {}", a.why),
            }),
            Action::LocalRename(a) => Action::LocalRename(LocalRename {
                from: a.to.clone(),
                to: a.from.clone(),
                oid: a.oid.clone(),
                upstream_before: a.upstream_after.clone(),
                upstream_after: a.upstream_before.clone(),
            }),
            Action::LocalBranch(a) => Action::LocalBranch(LocalBranchChange {
                branch: a.branch.clone(),
                from: a.to.clone(),
                to: a.from.clone(),
                kept_by: None,
            }),
            Action::Tracking(a) => Action::Tracking(Tracking {
                remote: a.remote.clone(),
                branch: a.branch.clone(),
                from: a.to.clone(),
                to: a.from.clone(),
            }),
            Action::CiCommit(a) => {
                Action::CiCommit(Box::new(CiCommit { back: !a.back, ..(**a).clone() }))
            }
            Action::Setting(a) => Action::Setting(Box::new(a.inverse())),
            // Nothing to undo: a merged review is undone by the rewrite commit's inverse.
            Action::Await(a) => Action::Await(a.clone()),
            Action::ChartCommit(a) => Action::RemoteBranch(RemoteBranch {
                remote: a.remote.clone(),
                branch: a.branch.clone(),
                from: Some(a.commit.clone()),
                to: a.from.clone(),
                kept_by: None,
                kept_files: Vec::new(),
                why: format!("undo: chart {} from integration", a.chart),
            }),
        }
    }

    /// `+`, `~` or `-`.
    pub fn sign(&self) -> Sign {
        match self {
            Action::RemoteBranch(a) => Sign::of(&a.from, &a.to),
            Action::LocalRename(_) => Sign::Change,
            Action::LocalBranch(a) => Sign::of(&a.from, &a.to),
            Action::Tracking(a) => Sign::of(&a.from, &a.to),
            Action::Await(_) => Sign::Change,
            Action::CiCommit(a) => match (&a.head, a.back) {
                (None, _) => Sign::Change,
                (Some(_), false) => Sign::Create,
                (Some(_), true) => Sign::Delete,
            },
            Action::ChartCommit(a) => Sign::of(&a.from, &Some(a.commit.clone())),
            Action::Setting(a) => match (&a.from, &a.to) {
                (serde_json::Value::Null, _) => Sign::Create,
                (_, serde_json::Value::Null) => Sign::Delete,
                _ => Sign::Change,
            },
        }
    }

    /// What the action changes, e.g. `origin/release` or `branch charts → release`.
    pub fn subject(&self) -> String {
        match self {
            Action::RemoteBranch(a) => format!("{}/{}", a.remote, a.branch),
            Action::LocalRename(a) => format!("branch {} → {}", a.from, a.to),
            Action::LocalBranch(a) => format!("branch {}", a.branch),
            Action::Tracking(a) => format!("refs/remotes/{}/{}", a.remote, a.branch),
            Action::CiCommit(a) => {
                format!("{}/{}", a.remote, a.head.as_deref().unwrap_or(&a.branch))
            }
            Action::Await(a) => format!("{}/{}", a.remote, a.branch),
            Action::ChartCommit(a) => format!("{}/{}", a.remote, a.branch),
            Action::Setting(a) => format!("{} {}", a.service, a.scope),
        }
    }

    /// One line saying what happens, with short object ids.
    pub fn summary(&self) -> String {
        match self {
            Action::RemoteBranch(a) => remote_summary(a),
            Action::LocalRename(a) => format!(
                "rename local branch {} to {} at {}, upstream {} → {}",
                a.from,
                a.to,
                short(&a.oid),
                show_upstream(&a.upstream_before),
                show_upstream(&a.upstream_after)
            ),
            Action::LocalBranch(a) => local_summary(a),
            Action::Tracking(a) => match (&a.from, &a.to) {
                (_, Some(to)) => format!("point the remote-tracking ref at {}", short(to)),
                (_, None) => {
                    "drop the stale remote-tracking ref (the remote has no such branch)".into()
                }
            },
            Action::CiCommit(a) => ci_summary(a),
            Action::ChartCommit(a) => chart_summary(a),
            Action::Await(a) => format!(
                "wait until `{}` has the CI rewrite ({} file(s)): {}",
                a.branch,
                a.files.len(),
                a.hint
            ),
            Action::Setting(a) => format!(
                "{}: {} → {}",
                a.label,
                SettingChange::show(&a.from),
                SettingChange::show(&a.to)
            ),
        }
    }

    /// The state this action expects before it runs, in words.
    pub fn expects(&self) -> String {
        match self {
            Action::RemoteBranch(a) => {
                let mut s = format!("{}/{} {}", a.remote, a.branch, state(&a.from));
                if let (Some(k), Some(from)) = (&a.kept_by, &a.from) {
                    s.push_str(&format!(", {}/{k} holds {}", a.remote, short(from)));
                }
                s
            }
            Action::LocalRename(a) => {
                format!("local {} at {}, local {} absent", a.from, short(&a.oid), a.to)
            }
            Action::LocalBranch(a) => {
                format!("local {} {}", a.branch, state(&a.from.as_ref().map(|s| s.oid.clone())))
            }
            Action::Tracking(a) => format!("{}/{} {}", a.remote, a.branch, state(&a.from)),
            Action::CiCommit(a) => match &a.head {
                Some(head) if a.back => format!("{}/{head} at {}", a.remote, short(&a.commit)),
                Some(head) => format!(
                    "{}/{head} absent, {}/{} at {}",
                    a.remote,
                    a.remote,
                    a.branch,
                    short(&a.parent)
                ),
                None => {
                    let at = if a.back { &a.commit } else { &a.parent };
                    format!("{}/{} at {}", a.remote, a.branch, short(at))
                }
            },
            Action::Await(a) => format!("{}/{} without the CI rewrite", a.remote, a.branch),
            Action::ChartCommit(a) => format!("{}/{} {}", a.remote, a.branch, state(&a.from)),
            Action::Setting(a) => format!("{} is {}", a.label, SettingChange::show(&a.from)),
        }
    }

    /// Whether the action changes the remote (teammates see it) or only this clone.
    pub fn is_remote(&self) -> bool {
        matches!(
            self,
            Action::RemoteBranch(_)
                | Action::CiCommit(_)
                | Action::ChartCommit(_)
                | Action::Setting(_)
                | Action::Await(_)
        )
    }

    /// Lines of detail under the summary (the rewrite's diff, the fields a setting changes).
    pub fn details(&self) -> Vec<String> {
        match self {
            Action::CiCommit(a) if !a.back => {
                let mut lines = Vec::new();
                for f in &a.files {
                    lines.extend(f.diff.lines().map(str::to_string));
                    lines.extend(f.notes.iter().map(|n| format!("note: {n}")));
                }
                lines
            }
            Action::ChartCommit(a) => a.files.clone(),
            Action::Setting(a) => {
                let mut lines = a.field_changes();
                lines.extend(a.then.iter().map(|t| format!("then {t}")));
                lines.extend(
                    a.serves
                        .iter()
                        .map(|s| format!("then {} must serve {} of {}", s.url, s.file, s.branch)),
                );
                lines
            }
            _ => Vec::new(),
        }
    }
}

fn ci_summary(a: &CiCommit) -> String {
    let subject = a.message.lines().next().unwrap_or_default();
    if a.head.is_some() && a.back {
        return format!("delete the review branch at the rewrite commit {}", short(&a.commit));
    }
    if a.back {
        return format!(
            "take back the rewrite commit: {} → {}",
            short(&a.commit),
            short(&a.parent)
        );
    }
    let paths: Vec<&str> = a.files.iter().map(|f| f.path.as_str()).collect();
    let rewrites: usize = a.files.iter().map(|f| f.rewrites).sum();
    let what = format!("commit \"{subject}\" ({rewrites} reference(s) in {})", paths.join(", "));
    match &a.head {
        Some(_) => format!(
            "create at {}: {what} on top of {} {}, for review",
            short(&a.commit),
            a.branch,
            short(&a.parent)
        ),
        None => format!("{what}, {} → {}", short(&a.parent), short(&a.commit)),
    }
}

fn chart_summary(a: &ChartCommit) -> String {
    let on = if a.parent == a.base {
        format!("on top of main {}", short(&a.base))
    } else {
        format!("on top of its own tip {}", short(&a.parent))
    };
    let what = if a.chart_tree.is_some() { "as on" } else { "removed as on" };
    let change = match &a.from {
        None => format!("create at {}", short(&a.commit)),
        Some(from) => format!("move {} → {}", short(from), short(&a.commit)),
    };
    format!("{change}: commit {on} with {} {what} integration {}", a.path, short(&a.source))
}

fn remote_summary(a: &RemoteBranch) -> String {
    match (&a.from, &a.to) {
        (None, Some(to)) => format!("create at {} ({})", short(to), a.why),
        (Some(from), None) => match &a.kept_by {
            Some(k) => format!("delete {} ({}; its tip is kept by {k})", short(from), a.why),
            None => format!("delete {} ({})", short(from), a.why),
        },
        (Some(from), Some(to)) => format!("move {} → {} ({})", short(from), short(to), a.why),
        (None, None) => a.why.clone(),
    }
}

fn local_summary(a: &LocalBranchChange) -> String {
    match (&a.from, &a.to) {
        (None, Some(to)) => format!(
            "create local branch at {}, upstream {}",
            short(&to.oid),
            show_upstream(&to.upstream)
        ),
        (Some(from), None) => match &a.kept_by {
            Some(k) => format!("delete local branch at {} (kept by {k})", short(&from.oid)),
            None => format!("delete local branch at {}", short(&from.oid)),
        },
        (Some(from), Some(to)) => {
            format!("move local branch {} → {}", short(&from.oid), short(&to.oid))
        }
        (None, None) => String::new(),
    }
}

fn state(oid: &Option<String>) -> String {
    match oid {
        Some(o) => format!("at {}", short(o)),
        None => "absent".to_string(),
    }
}

fn show_upstream(u: &Option<Upstream>) -> String {
    u.as_ref().map_or("(none)".to_string(), Upstream::to_string)
}

/// The seven-character form of a hex object id.
pub fn short(hex: &str) -> &str {
    hex.get(..7).unwrap_or(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(c: char) -> Option<String> {
        Some(c.to_string().repeat(40))
    }

    #[test]
    fn inverse_of_inverse_is_identity_up_to_notes() {
        let a = Action::LocalRename(LocalRename {
            from: "charts".into(),
            to: "release".into(),
            oid: "a".repeat(40),
            upstream_before: None,
            upstream_after: Some(Upstream { remote: "origin".into(), branch: "release".into() }),
        });
        assert_eq!(a.inverse().inverse(), a);
        let t = Action::Tracking(Tracking {
            remote: "o".into(),
            branch: "b".into(),
            from: oid('a'),
            to: None,
        });
        assert_eq!(t.inverse().inverse(), t);
    }

    #[test]
    fn remote_branch_inverse_swaps_states() {
        let a = RemoteBranch {
            remote: "origin".into(),
            branch: "charts".into(),
            from: oid('c'),
            to: None,
            kept_by: Some("release".into()),
            kept_files: vec!["index.yaml".into()],
            why: "renamed to release".into(),
        };
        let Action::RemoteBranch(inv) = Action::RemoteBranch(a.clone()).inverse() else { panic!() };
        assert_eq!((inv.from, inv.to), (None, oid('c')));
        assert_eq!(Action::RemoteBranch(a).sign(), Sign::Delete);
    }

    #[test]
    fn json_shape_is_tagged_by_kind() {
        let a = Action::Tracking(Tracking {
            remote: "o".into(),
            branch: "b".into(),
            from: None,
            to: oid('1'),
        });
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(json["kind"], "tracking");
        assert_eq!(serde_json::from_value::<Action>(json).unwrap(), a);
    }
}
