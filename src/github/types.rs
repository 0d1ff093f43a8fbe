//! What the client returns: small serde types with the fields the migration reads, and the
//! wire shapes they are decoded from where those differ.

use serde::{Deserialize, Serialize};

/// The answer to "does this branch exist?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BranchLookup {
    /// 200 for exactly this name.
    Found { sha: String, protected: bool },
    /// 301 (renamed), or 200 for another name; `location` is where it lives now, if said.
    Moved { location: Option<String> },
    /// 404.
    Missing,
}

/// `GET /repos/{o}/{r}`, reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoInfo {
    pub default_branch: String,
    #[serde(default)]
    pub private: bool,
    #[serde(default)]
    pub permissions: Option<Permissions>,
    pub html_url: String,
    pub full_name: String,
}

/// The token's permissions on the repository (absent fields are false).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Permissions {
    pub admin: bool,
    pub maintain: bool,
    pub push: bool,
    pub triage: bool,
    pub pull: bool,
}

/// A pull request, reduced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    pub number: u64,
    pub title: String,
    pub html_url: String,
    pub state: String,
    /// `base.ref`.
    pub base: String,
    /// `head.ref`.
    pub head: String,
    /// `head.repo.full_name`; `None` when the head's fork was deleted.
    pub head_repo: Option<String>,
    pub draft: bool,
}

/// The Pages site (`GET /repos/{o}/{r}/pages`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagesSite {
    /// `legacy` (built from a branch) or `workflow` (built by Actions).
    #[serde(default)]
    pub build_type: Option<String>,
    #[serde(default)]
    pub source: Option<PagesSource>,
    #[serde(default)]
    pub cname: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
    /// `built`, `building`, `errored`, or none.
    #[serde(default)]
    pub status: Option<String>,
}

/// The branch and folder a legacy Pages site is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PagesSource {
    pub branch: String,
    pub path: String,
}

/// One entry of `GET /repos/{o}/{r}/rulesets` (no rules: those need `GET /rulesets/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RulesetSummary {
    pub id: u64,
    pub name: String,
    #[serde(default)]
    pub source_type: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    pub enforcement: String,
}

/// A pull request as the API sends it.
#[derive(Debug, Deserialize)]
pub(crate) struct WirePull {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    draft: bool,
    base: WireRef,
    head: WireRef,
}

#[derive(Debug, Deserialize)]
struct WireRef {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    repo: Option<WireRepo>,
}

#[derive(Debug, Deserialize)]
struct WireRepo {
    full_name: String,
}

impl From<WirePull> for Pull {
    fn from(w: WirePull) -> Self {
        Pull {
            number: w.number,
            title: w.title,
            html_url: w.html_url,
            state: w.state,
            base: w.base.name,
            head: w.head.name,
            head_repo: w.head.repo.map(|r| r.full_name),
            draft: w.draft,
        }
    }
}

/// A branch as the API sends it (`branch-with-protection`), reduced.
#[derive(Debug, Deserialize)]
pub(crate) struct WireBranch {
    pub name: String,
    pub commit: WireCommit,
    #[serde(default)]
    pub protected: bool,
    #[serde(default, rename = "_links")]
    pub links: Option<WireLinks>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireCommit {
    pub sha: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct WireLinks {
    #[serde(rename = "self", default)]
    pub this: Option<String>,
}
