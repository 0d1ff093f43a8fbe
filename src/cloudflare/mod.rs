//! Cloudflare Pages: the API client and the production-branch switch, a hosted service
//! on the [`crate::service`] seam.
//!
//! The Helm index is served by a Pages project that deploys from the publishing branch;
//! this module moves that project from the old branch to the new one and back.
//!
//! | file | owns |
//! | --- | --- |
//! | `config.rs` | [`Config`] from the environment, the [`Token`] that never prints |
//! | `types.rs` | serde types of the API: envelope, project, deployment, PATCH body |
//! | `error.rs` | [`ApiError`] and [`human_message`] |
//! | `client.rs` | [`PagesClient`]: calls, retries, the never-blind deployment POST |
//! | `switch.rs` | the switch: observe, [`plan_switch`], [`apply_switch`], [`verify_deployment`], [`rollback_switch`] |
//! | `setting.rs` | the switch on the settings seam: [`contribution`] (pure) and [`PagesService`] |
//!
//! The transport, the sleeper and `Retry-After` parsing live in [`crate::http`], shared with
//! the GitHub client; the local stand-in of the API lives in `tests/standin`.

mod client;
mod config;
mod error;
mod setting;
mod switch;
mod types;

pub use client::{
    MAX_DEPLOYMENTS_PER_PAGE, PagesClient, RetryPolicy, Sleeper, ThreadSleeper, check_project_name,
};
pub use config::{
    Config, ConfigError, DEFAULT_BASE_URL, Token, validate_account, validate_base_url,
};
pub use error::{ApiError, ErrorContext, human_message};
pub use setting::{KEY, LegacyStep, PagesService, Record, SERVICE, contribution};
pub use switch::{
    BranchFields, DeploymentOutcome, DeploymentRef, PollOptions, ProjectState, RestoredDeployment,
    RollbackOptions, RollbackOutcome, StepError, SwitchPlan, SwitchRecord, apply_switch,
    apply_switch_from, build_patch, observe, plan_switch, projects_for_repository, rollback_switch,
    verify_deployment,
};
pub use types::{
    ApiMessage, Deployment, Envelope, Environment, Page, Project, ProjectPatch, ResultInfo, Source,
    SourceConfig, Stage, Trigger, TriggerMetadata,
};

#[cfg(test)]
mod tests;
