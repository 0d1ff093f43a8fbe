//! GitHub: the REST API client the migration's GitHub steps act through (branches, classic
//! protection, rulesets, pull requests, Pages).
//!
//! | file | owns |
//! | --- | --- |
//! | `config.rs` | [`Config`] from the remote URL and the environment, [`Repository`], the [`Token`] that never prints |
//! | `types.rs` | what calls return: [`BranchLookup`], [`RepoInfo`], [`Pull`], [`PagesSite`], [`RulesetSummary`] |
//! | `error.rs` | [`ApiError`], one line naming the request and the fix |
//! | `client.rs` | [`GitHub`]: headers, retries, pagination, the protection GET → PUT transform |
//! | `forge.rs` | what a migration asks of GitHub: [`forge::read`] (GETs only) and [`forge::contribution`] (pure): the settings to move, warnings, refusals |
//! | `service.rs` | [`service::GitHubService`]: those settings read and written at apply and rollback time |
//! | `setup.rs` | wiring for commands: the client from the environment, what the plan wants, the service |
//!
//! Transport, sleeps and `Retry-After` parsing are shared with the Cloudflare client in
//! [`crate::http`].

mod client;
mod config;
mod error;
pub mod forge;
pub mod service;
pub mod setup;
mod types;

pub use crate::http::{Sleeper, ThreadSleeper};
pub use client::{
    ACCEPT, API_VERSION, GitHub, Pace, RetryPolicy, USER_AGENT, encode_branch, protection_put_body,
    ruleset_body,
};
pub use config::{
    Config, ConfigError, DEFAULT_API_BASE, GITHUB_COM, Repository, Token, repository_from_url,
};
pub use error::ApiError;
pub use types::{
    BranchLookup, PagesSite, PagesSource, Permissions, Pull, RepoInfo, RulesetSummary,
};

#[cfg(test)]
mod tests;
