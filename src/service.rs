//! Hosted services (a forge such as GitHub, a hosting such as GitHub Pages): the seam
//! between them and the planner and executor.
//!
//! A service takes part in a migration through **settings**: a value it holds (a pull
//! request's base, a branch's protection, a ruleset, the branch a site is built from) that
//! the migration moves from one exact state to another. The provider's module reads what
//! it needs, computes its [`SettingChange`]s and where each goes in the ADR-002 order
//! ([`Stage`]), and implements [`Service`] to read and write them. The planner places the
//! changes; the executor checks each against the live value (`to` → done, `from` → ready,
//! anything else → blocked) and undoes one by swapping `from` and `to`. Neither knows which
//! provider it is talking to.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One setting of a service going from `from` to `to`, both exactly as the service reads
/// it (`null`: absent, e.g. no protection).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SettingChange {
    /// The provider that owns the setting, e.g. `github`.
    pub service: String,
    /// Where it lives at that provider, e.g. `owner/name`.
    pub scope: String,
    /// What it is, in the provider's own terms, e.g. `pulls/12/base`.
    pub key: String,
    /// For people: e.g. "pull request #12 (Release podinfo 1.2.0): base".
    pub label: String,
    pub from: Value,
    pub to: Value,
    /// The git remote whose branches the setting names.
    pub remote: String,
    /// Branches that must exist on the remote before the change can be made (a pull
    /// request's new base, the branch a site moves to).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// After the change: the URL that must serve the given file of the given branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serves: Option<Served>,
    /// For the inverse: where the value goes back to `from` and what it names.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub back: bool,
    /// What the write goes on to do once the value is set, in words for the plan (e.g.
    /// "deploy from `release` and wait until it serves production"); the service then
    /// reports the change [`Service::settled`] only once that is done. `None`: the write
    /// sets the value and returns (`apply --no-verify` clears it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then: Option<String>,
    /// The same for the inverse (e.g. "put back the deployment served before").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_back: Option<String>,
    /// What the provider noted at plan time to carry the change out beyond its value (the
    /// deployment a site served before): its own, opaque to the planner and executor.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub record: Value,
    /// For an inverse: the branch the forward change moved the setting to has commits made
    /// after the migration, so what the service held before (a deployment of the old
    /// branch) is out of date, and a service that can rebuilds from the branch instead.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moved: bool,
}

/// A file a site must serve after a change: `url` answers with the bytes of `file` at the
/// remote tip of `branch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Served {
    pub url: String,
    pub branch: String,
    pub file: String,
}

impl SettingChange {
    /// The change that undoes this one.
    pub fn inverse(&self) -> SettingChange {
        let mut inverse = self.clone();
        inverse.from = self.to.clone();
        inverse.to = self.from.clone();
        inverse.back = !self.back;
        inverse.then = self.then_back.clone();
        inverse.then_back = self.then.clone();
        inverse.moved = false;
        // Undoing needs what the value names again; the served check is the forward step's.
        inverse.needs = names_in(&self.from);
        // Switched back, the site must serve the old branch's file again.
        inverse.serves = self.serves.as_ref().and_then(|served| {
            let branch = names_in(&self.from).into_iter().next()?;
            Some(Served { branch, ..served.clone() })
        });
        inverse
    }

    /// The value in a few words, for plans and messages: a long one is `{…}`, its fields
    /// are in [`SettingChange::field_changes`].
    pub fn show(value: &Value) -> String {
        match value {
            Value::Null => "(none)".to_string(),
            Value::String(s) => format!("\"{s}\""),
            other => {
                let text = other.to_string();
                if text.chars().count() <= 60 {
                    text
                } else if let Some(branch) = names_in(other).first() {
                    format!("\"{branch}\", …")
                } else if other.is_object() {
                    "{…}".to_string()
                } else {
                    "[…]".to_string()
                }
            }
        }
    }

    /// Two values in a few words each, for a message that sets them side by side: as
    /// [`SettingChange::show`] gives them, or, where that reads the same for both, only
    /// the fields in which they differ.
    pub fn show_pair(a: &Value, b: &Value) -> (String, String) {
        let (short_a, short_b) = (SettingChange::show(a), SettingChange::show(b));
        if short_a != short_b {
            return (short_a, short_b);
        }
        let empty = serde_json::Map::new();
        let (oa, ob) = (a.as_object().unwrap_or(&empty), b.as_object().unwrap_or(&empty));
        let keys: std::collections::BTreeSet<&String> = oa.keys().chain(ob.keys()).collect();
        let pick = |o: &serde_json::Map<String, Value>| {
            let fields: Vec<String> = keys
                .iter()
                .filter(|k| oa.get(**k) != ob.get(**k))
                .map(|k| {
                    format!("{k}: {}", o.get(*k).map_or("(none)".to_string(), Value::to_string))
                })
                .collect();
            format!("{{{}, …}}", fields.join(", "))
        };
        (pick(oa), pick(ob))
    }

    /// One line per top-level field that differs between `from` and `to`, when either is
    /// too long to show whole: `field: before → after`.
    pub fn field_changes(&self) -> Vec<String> {
        let long = |v: &Value| v.to_string().chars().count() > 60;
        if !long(&self.from) && !long(&self.to) {
            return Vec::new();
        }
        let empty = serde_json::Map::new();
        let (from, to) =
            (self.from.as_object().unwrap_or(&empty), self.to.as_object().unwrap_or(&empty));
        let keys: std::collections::BTreeSet<&String> = from.keys().chain(to.keys()).collect();
        let value = |v: Option<&Value>| {
            let text = v.map_or_else(|| "(none)".to_string(), Value::to_string);
            if text.chars().count() > 100 {
                format!("{}…", text.chars().take(99).collect::<String>())
            } else {
                text
            }
        };
        keys.into_iter()
            .filter(|k| from.get(*k) != to.get(*k))
            // A default on both sides (unset, false, empty) says nothing.
            .filter(|k| !(is_unset(from.get(*k)) && is_unset(to.get(*k))))
            .map(|k| format!("{k}: {} → {}", value(from.get(k)), value(to.get(k))))
            .collect()
    }
}

/// Whether a value is absent or a default: `null`, `false`, empty.
pub fn is_unset(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) | Some(Value::Bool(false)) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    }
}

/// The branch a value names, when it is a branch name or an object that holds one as
/// `branch` (or, in a hosting's own terms, `production_branch`).
pub fn names_in(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Object(o) => o
            .get("branch")
            .or_else(|| o.get("production_branch"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .into_iter()
            .collect(),
        _ => Vec::new(),
    }
}

/// Where a change goes among the ADR-002 phases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Once the renamed branches exist under their new names, before anything else moves:
    /// what points at the old name (pull requests, protection, a site) follows.
    Follow,
    /// Once the new branches exist: what guards them (a review gate).
    Guard,
    /// Right before the old names are deleted: what would refuse or lose the delete.
    Release,
}

/// What a service brings to a plan, computed by its module from what it read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Contribution {
    pub service: String,
    pub changes: Vec<(Stage, SettingChange)>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
    /// A reason the migration must not go ahead, with the fix.
    pub refusal: Option<(String, String)>,
    /// Requests made while reading.
    pub round_trips: usize,
    /// For `status`: what the service holds now, each with whether it is where the
    /// target wants it (e.g. `(false, "pages project x deploys production from charts")`).
    pub status: Vec<(bool, String)>,
    /// When the CI rewrite's branch takes changes only through a review the service can
    /// open: the route the commit takes instead.
    pub review: Option<ReviewRoute>,
}

/// The CI rewrite through a review: the commit goes to a new branch `head`, `open` opens
/// the review of `head` into `branch`, and the apply waits until people merge it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewRoute {
    pub branch: String,
    pub head: String,
    pub open: SettingChange,
    /// What people do, e.g. "merge the pull request from `rebranch/ci-main` into `main`".
    pub hint: String,
}

/// Why a service could not read or write a setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub message: String,
    /// The setting was found changed by someone else since it was checked.
    pub moved: bool,
}

impl ServiceError {
    pub fn new(message: impl Into<String>) -> ServiceError {
        ServiceError { message: message.into(), moved: false }
    }

    /// The setting changed under the step: nothing was written.
    pub fn moved(message: impl Into<String>) -> ServiceError {
        ServiceError { message: message.into(), moved: true }
    }
}

/// Hears about each poll of what a write waits for (a deployment's stages), so that a
/// person sees it move; the CLI draws it on the step's line.
pub trait Polls {
    /// Called after each poll with the latest stage and its status.
    fn on_poll(&self, stage: &str, status: &str);
}

/// [`Polls`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoPolls;

impl Polls for NoPolls {
    fn on_poll(&self, _stage: &str, _status: &str) {}
}

/// Reads and writes a provider's settings at apply and rollback time.
pub trait Service {
    /// The setting's live value, in the same shape as the change's `from` and `to`.
    fn read(&mut self, change: &SettingChange) -> Result<Value, ServiceError>;
    /// Moves the setting from `change.from` (just checked) to `change.to`, then does what
    /// `change.then` says (when set) and waits until it is done.
    fn write(&mut self, change: &SettingChange) -> Result<(), ServiceError>;
    /// With the value at `to`: whether what the write goes on to do (`change.then`) is
    /// done, e.g. a deployment from the new branch serving production.
    fn settled(&mut self, _change: &SettingChange) -> Result<bool, ServiceError> {
        Ok(true)
    }
    /// With the value at `to` but the change not [`Service::settled`] (a write stopped
    /// part way): does only what follows the write.
    fn finish(&mut self, _change: &SettingChange) -> Result<(), ServiceError> {
        Ok(())
    }
    /// Where people find the live object a setting is about (a pull request's page), for
    /// messages; `None` when there is none or it cannot be read.
    fn describe(&mut self, _change: &SettingChange) -> Option<String> {
        None
    }
    /// Requests made so far.
    fn round_trips(&self) -> usize {
        0
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn change() -> SettingChange {
        SettingChange {
            service: "github".into(),
            scope: "o/r".into(),
            key: "pages/source".into(),
            label: "GitHub Pages source".into(),
            from: json!({"branch": "charts", "path": "/"}),
            to: json!({"branch": "release", "path": "/"}),
            remote: "origin".into(),
            needs: vec!["release".into()],
            serves: Some(Served {
                url: "u".into(),
                branch: "release".into(),
                file: "index.yaml".into(),
            }),
            back: false,
            ..Default::default()
        }
    }

    #[test]
    fn the_inverse_swaps_the_values_and_needs_the_old_branch() {
        let inv = change().inverse();
        assert_eq!(inv.from, change().to);
        assert_eq!(inv.to, change().from);
        assert_eq!(inv.needs, vec!["charts".to_string()]);
        assert!(inv.back);
        assert_eq!(inv.serves.as_ref().unwrap().branch, "charts", "the old branch is served again");
        assert_eq!(inv.inverse().from, change().from);
    }

    #[test]
    fn values_show_in_one_line() {
        assert_eq!(SettingChange::show(&Value::Null), "(none)");
        assert_eq!(SettingChange::show(&json!("release")), "\"release\"");
        let long = json!({"k": "x".repeat(300), "a": 1});
        assert_eq!(SettingChange::show(&long), "{…}");
        let c = SettingChange { from: Value::Null, to: long, ..change() };
        let lines = c.field_changes();
        assert_eq!(lines[0], "a: (none) → 1");
        assert!(lines[1].starts_with("k: (none) → \"xxx") && lines[1].ends_with('…'));
    }
}
