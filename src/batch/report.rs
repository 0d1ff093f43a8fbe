//! The batch report: one entry per repository with its result, kept in the work directory
//! (`rebranch-batch-report.json`) and rewritten as each repository finishes, so that an
//! interrupted batch leaves a true account and `--only failed|pending` knows what to rerun.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::shard::Shard;

/// The version of the report document; bumped on incompatible changes.
pub const FORMAT_VERSION: u32 = 1;
/// The report's file name inside the work directory.
pub const FILE_NAME: &str = "rebranch-batch-report.json";

/// How one repository stands after a batch command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RepoResult {
    /// Apply completed a migration in this run.
    Migrated,
    /// It already matched the plan: nothing to do.
    AlreadyMigrated,
    /// Changes are pending (plan, status), or it has not run yet.
    Pending,
    /// Review items of the CI rewrite are unresolved: not applied.
    NeedsReview,
    /// An error, or an apply or rollback that stopped part way.
    Failed,
    /// Not selected by `--only` in this run (`previous` holds its last result).
    Skipped,
    /// Rollback undid the last apply.
    RolledBack,
    /// Rollback found no apply to undo.
    NothingToRollBack,
}

impl RepoResult {
    /// The words shown in the summary table.
    pub fn label(self) -> &'static str {
        match self {
            RepoResult::Migrated => "migrated",
            RepoResult::AlreadyMigrated => "already migrated",
            RepoResult::Pending => "pending",
            RepoResult::NeedsReview => "needs review",
            RepoResult::Failed => "failed",
            RepoResult::Skipped => "skipped",
            RepoResult::RolledBack => "rolled back",
            RepoResult::NothingToRollBack => "nothing to roll back",
        }
    }

    /// Whether the repository is known to match the plan's target.
    pub fn is_complete(self) -> bool {
        matches!(self, RepoResult::Migrated | RepoResult::AlreadyMigrated)
    }
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub format_version: u32,
    /// `plan`, `apply`, `status` or `rollback`.
    pub command: String,
    /// The batch file it ran.
    pub repos_file: String,
    /// The shard it covers, for a run with `--shard I/N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    pub repos: Vec<RepoReport>,
}

/// One repository's line of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepoReport {
    pub name: String,
    /// Its clone on disk.
    pub path: String,
    pub result: RepoResult,
    /// Changes made (apply), pending (plan, status) or undone (rollback).
    pub changes: usize,
    /// The first line of the error, when it failed.
    pub error: Option<String>,
    /// Anything else worth knowing (why it needs review, an apply that stopped part way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// For a skipped repository: its result in the report before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<RepoResult>,
    /// In a shard's report: its place in the batch file, so that merged reports keep the
    /// file's order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<usize>,
}

impl RepoReport {
    /// The last known result: for a skipped repository, the one before.
    pub fn standing(&self) -> RepoResult {
        match (self.result, self.previous) {
            (RepoResult::Skipped, Some(p)) => p,
            (r, _) => r,
        }
    }
}

/// Which repositories `--only` reruns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Only {
    /// Those that failed in the last report.
    Failed,
    /// Those the last report does not show as migrated (or has not seen at all).
    Pending,
}

/// Why the last report cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("there is no report of an earlier batch at {path}: run the batch without --only first")]
    Missing { path: String },
    #[error("cannot read the batch report {path}: {message}")]
    Unreadable { path: String, message: String },
}

impl Report {
    /// Where the report of a batch with work directory `workdir` lives.
    pub fn path(workdir: &Path) -> PathBuf {
        workdir.join(FILE_NAME)
    }

    /// Reads the report at `path`.
    pub fn load(path: &Path) -> Result<Report, ReportError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ReportError::Missing { path: path.display().to_string() });
            }
            Err(e) => {
                return Err(ReportError::Unreadable {
                    path: path.display().to_string(),
                    message: e.to_string(),
                });
            }
        };
        let unreadable =
            |message: String| ReportError::Unreadable { path: path.display().to_string(), message };
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
        let version = value.get("format_version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(unreadable(format!(
                "format_version {version:?} is not {FORMAT_VERSION}, the one this rebranch reads"
            )));
        }
        serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))
    }

    /// The entry of repository `name`.
    pub fn repo(&self, name: &str) -> Option<&RepoReport> {
        self.repos.iter().find(|r| r.name == name)
    }

    /// Whether `--only` selects repository `name` from this report.
    pub fn selects(&self, name: &str, only: Only) -> bool {
        let standing = self.repo(name).map(RepoReport::standing);
        match only {
            Only::Failed => standing == Some(RepoResult::Failed),
            Only::Pending => !standing.is_some_and(RepoResult::is_complete),
        }
    }

    /// The report as pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        format!("{}\n", serde_json::to_string_pretty(self).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, result: RepoResult, previous: Option<RepoResult>) -> RepoReport {
        RepoReport {
            name: name.into(),
            path: format!("/r/{name}"),
            result,
            changes: 0,
            error: None,
            note: None,
            previous,
            position: None,
        }
    }

    #[test]
    fn only_selects_from_the_standing_results() {
        use RepoResult::*;
        let report = Report {
            format_version: FORMAT_VERSION,
            command: "apply".into(),
            repos_file: "repos.toml".into(),
            shard: None,
            repos: vec![
                entry("a", Migrated, None),
                entry("b", Failed, None),
                entry("c", Skipped, Some(Failed)),
                entry("d", Skipped, Some(AlreadyMigrated)),
                entry("e", NeedsReview, None),
                entry("f", Pending, None),
            ],
        };
        let pick = |only| -> Vec<&str> {
            ["a", "b", "c", "d", "e", "f", "new"]
                .into_iter()
                .filter(|n| report.selects(n, only))
                .collect()
        };
        assert_eq!(pick(Only::Failed), ["b", "c"]);
        assert_eq!(pick(Only::Pending), ["b", "c", "e", "f", "new"]);
    }

    #[test]
    fn report_round_trips_and_checks_its_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = Report::path(dir.path());
        assert!(matches!(Report::load(&path), Err(ReportError::Missing { .. })));
        let report = Report {
            format_version: FORMAT_VERSION,
            command: "plan".into(),
            repos_file: "repos.toml".into(),
            shard: None,
            repos: vec![entry("a", RepoResult::AlreadyMigrated, None)],
        };
        std::fs::write(&path, report.to_json()).unwrap();
        assert_eq!(Report::load(&path).unwrap(), report);
        let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["repos"][0]["result"], "already_migrated");
        assert!(json["repos"][0]["error"].is_null());
        std::fs::write(
            &path,
            report.to_json().replace("\"format_version\": 1", "\"format_version\": 9"),
        )
        .unwrap();
        let err = Report::load(&path).unwrap_err().to_string();
        assert!(err.contains("format_version Some(9)"), "{err}");
    }
}
