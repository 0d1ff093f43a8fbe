//! Serde types for the Pages API: the envelope, projects, deployments and the PATCH body.
//!
//! `build_config` and `deployment_configs` are deliberately not modelled: the client can
//! then never echo them (and the secrets GET hides) back in a PATCH.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One entry of the envelope's `errors` or `messages`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiMessage {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_chain: Vec<ApiMessage>,
}

/// The envelope every v4 answer comes in.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub success: bool,
    #[serde(default)]
    pub errors: Vec<ApiMessage>,
    #[serde(default, deserialize_with = "messages_lenient")]
    pub messages: Vec<ApiMessage>,
    #[serde(default)]
    pub result: Value,
    #[serde(default)]
    pub result_info: Option<ResultInfo>,
}

/// Paging information of a list answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResultInfo {
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub per_page: u32,
    #[serde(default)]
    pub count: u32,
    #[serde(default)]
    pub total_count: u32,
    #[serde(default)]
    pub total_pages: u32,
}

/// A Pages project, as far as the branch switch needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Project {
    #[serde(default)]
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub subdomain: String,
    #[serde(default)]
    pub domains: Vec<String>,
    #[serde(default)]
    pub production_branch: String,
    /// `None` for a Direct Upload project.
    #[serde(default)]
    pub source: Option<Source>,
    #[serde(default)]
    pub canonical_deployment: Option<Deployment>,
    #[serde(default)]
    pub latest_deployment: Option<Deployment>,
}

/// A git-connected project's source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// `github` or `gitlab`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub config: SourceConfig,
}

/// The writable keys of `source.config`; absent or null keys stay `None` and are not sent.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SourceConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "is_null")]
    pub owner_id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo_name: Option<String>,
    #[serde(default, skip_serializing_if = "is_null")]
    pub repo_id: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_deployments_enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_deployment_setting: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_branch_includes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_branch_excludes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_includes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_excludes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr_comments_enabled: Option<bool>,
    /// Deprecated upstream; sent back only when the GET had it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployments_enabled: Option<bool>,
}

/// A deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deployment {
    pub id: String,
    #[serde(default)]
    pub short_id: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub created_on: String,
    #[serde(default)]
    pub latest_stage: Option<Stage>,
    #[serde(default)]
    pub deployment_trigger: Option<Trigger>,
    #[serde(default)]
    pub is_skipped: bool,
}

impl Deployment {
    /// Returns the branch that triggered the deployment, if the API said.
    pub fn branch(&self) -> Option<&str> {
        self.deployment_trigger.as_ref()?.metadata.branch.as_deref()
    }

    /// Tells whether the deployment finished: deploy/success, or any stage failed or canceled.
    pub fn is_finished(&self) -> bool {
        self.latest_stage.as_ref().is_some_and(|s| s.is_success() || s.is_failed())
    }

    /// Tells whether the deployment reached deploy/success.
    pub fn succeeded(&self) -> bool {
        self.latest_stage.as_ref().is_some_and(Stage::is_success)
    }
}

/// A build stage and its status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub status: String,
}

impl Stage {
    /// `deploy` / `success`: the deployment is live.
    pub fn is_success(&self) -> bool {
        self.name == "deploy" && self.status == "success"
    }

    /// `failure` or `canceled` at any stage.
    pub fn is_failed(&self) -> bool {
        self.status == "failure" || self.status == "canceled"
    }
}

/// What caused a deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub metadata: TriggerMetadata,
}

/// Where a deployment's trigger happened.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TriggerMetadata {
    #[serde(default)]
    pub branch: Option<String>,
    #[serde(default)]
    pub commit_hash: Option<String>,
}

/// The PATCH body: only the fields that change. It has no `deployment_configs` or
/// `build_config` field, so a PATCH can never wipe secrets.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ProjectPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_branch: Option<String>,
    /// Only for git-connected projects: `type` plus the full writable config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

impl ProjectPatch {
    /// Tells whether the patch would change nothing.
    pub fn is_empty(&self) -> bool {
        self.production_branch.is_none() && self.source.is_none()
    }
}

/// `env` filter of the deployments list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Production,
    Preview,
}

impl Environment {
    /// Returns the value as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Preview => "preview",
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub info: Option<ResultInfo>,
}

fn is_null(value: &Value) -> bool {
    value.is_null()
}

/// `messages` is documented as `{code, message}` objects but is sometimes plain strings.
fn messages_lenient<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ApiMessage>, D::Error> {
    let raw: Option<Vec<Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|v| match v {
            Value::String(message) => {
                ApiMessage { code: 0, message, documentation_url: None, error_chain: Vec::new() }
            }
            other => serde_json::from_value(other).unwrap_or(ApiMessage {
                code: 0,
                message: String::new(),
                documentation_url: None,
                error_chain: Vec::new(),
            }),
        })
        .collect())
}
