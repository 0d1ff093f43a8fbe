//! The saved-plan format (`plan --out FILE`, `apply FILE`): the plan's JSON document sealed
//! with a digest of its content, loaded only when the digest and format version match, and
//! applied only while what it observed still holds.

use std::path::Path;

use super::{Error, Kind, Notices, Services};
use crate::git::remote::RemoteListing;
use crate::observe;
use crate::plan::{FORMAT_VERSION, Plan, RefFingerprint};

/// A plan as `plan --out` saves it: the JSON document with a `digest` of its content, so
/// that a plan changed after review (by hand, or by a broken copy) is refused before it runs.
pub fn seal(plan: &Plan) -> String {
    let mut value = serde_json::to_value(plan).unwrap_or_default();
    let sum = digest(&value);
    if let Some(o) = value.as_object_mut() {
        o.insert("digest".to_string(), serde_json::Value::String(sum));
    }
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

/// Reads a saved plan, refusing one of another format version or changed since it was saved.
pub fn load(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(Kind::Failure, format!("cannot read plan {}: {e}", path.display()))
    })?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        Error::new(
            Kind::Failure,
            format!("{}:{}:{}: not a plan document: {e}", path.display(), e.line(), e.column()),
        )
        .hint("save a plan with `rebranch plan --out FILE`")
    })?;
    let version = value.get("format_version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(Error::new(
            Kind::Failure,
            format!("{}: plan format_version {version:?} is not {FORMAT_VERSION}, the one this rebranch reads", path.display()),
        )
        .hint("make the plan again with this version of rebranch"));
    }
    let mut value = value;
    let sealed = value.as_object_mut().and_then(|o| o.remove("digest"));
    if sealed.as_ref().and_then(serde_json::Value::as_str) != Some(digest(&value).as_str()) {
        return Err(Error::new(
            Kind::Failure,
            format!(
                "{}: the plan was changed after `rebranch plan --out` saved it (its digest does not match); nothing was changed",
                path.display()
            ),
        )
        .hint("a saved plan is applied exactly as reviewed: make and review it again with `rebranch plan --out FILE`"));
    }
    serde_json::from_value(value).map_err(|e| {
        Error::new(Kind::Failure, format!("{}: not a valid plan: {e}", path.display()))
            .hint("save a plan with `rebranch plan --out FILE`; do not edit it by hand")
    })
}

/// The saved plan must be for this repository, and what it observed must still hold.
/// Returns the remote's listing it was checked against.
pub fn check(
    repo: &git2::Repository,
    plan: &Plan,
    path: &Path,
    services: &Services<'_>,
    notices: &dyn Notices,
) -> Result<RemoteListing, Error> {
    let remote = &plan.repository.remote;
    let url = repo
        .find_remote(remote)
        .ok()
        .and_then(|r| r.url().ok().map(crate::git::redact_url))
        .unwrap_or_default();
    if url != plan.repository.remote_url {
        return Err(Error::new(
            Kind::Failure,
            format!(
                "{} was made for another repository (remote `{remote}` at {}), not this one ({})",
                path.display(),
                plan.repository.remote_url,
                if url.is_empty() { "no such remote" } else { &url }
            ),
        )
        .hint("make the plan in this repository with `rebranch plan --out FILE`"));
    }
    let settings = services.read_settings(plan, notices)?;
    let (refs, listing) = observe::current_refs(repo, remote, &plan.observed.refs, &settings)?;
    let moved = plan.observed.moved(&RefFingerprint::new(refs));
    if moved.is_empty() {
        return Ok(listing);
    }
    let mut err = Error::new(
        Kind::Moved,
        format!(
            "refused: the repository changed since {} was made; nothing was changed",
            path.display()
        ),
    );
    for m in moved {
        err = err.cause(m);
    }
    Err(err.hint("run `rebranch plan` again and review the new plan"))
}

/// The digest of a plan document: the git blob id of its compact JSON (keys sorted).
fn digest(value: &serde_json::Value) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
        .map(|o| o.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::{load, seal};
    use crate::plan::{FORMAT_VERSION, Plan};

    fn plan() -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": FORMAT_VERSION,
            "plan": {"name": "ADR-002", "source": "(built-in)"},
            "repository": {"path": "/r", "remote": "origin", "remote_url": "/r/origin.git"},
            "variables": {"main": "main"},
            "observed": {"fingerprint": "f", "refs": {"refs/heads/charts": "9c0ffee"}},
            "actions": [],
            "warnings": [],
        }))
        .unwrap()
    }

    fn saved(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn a_sealed_plan_loads_as_it_was() {
        let (_dir, path) = saved(&seal(&plan()));
        assert_eq!(load(&path).unwrap(), plan());
    }

    #[test]
    fn a_plan_changed_after_it_was_sealed_is_refused() {
        let text = seal(&plan()).replace("9c0ffee", "badc0de");
        let (_dir, path) = saved(&text);
        let err = load(&path).unwrap_err();
        assert!(err.message.contains("its digest does not match"), "{}", err.message);
    }

    #[test]
    fn a_plan_of_another_format_version_is_refused() {
        let text = seal(&plan()).replacen(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 999",
            1,
        );
        let (_dir, path) = saved(&text);
        let err = load(&path).unwrap_err();
        assert!(err.message.contains("is not"), "{}", err.message);
    }
}
