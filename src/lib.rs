//! rebranch moves a git repository to a new branch architecture: planned, previewed,
//! applied exactly, verified, and reversible.
//!
//! Three layers: [`cli`] (arguments, rendering, prompts, exit codes) over [`ops`] (one
//! function per operation, over typed options) over the core (the modules below, each
//! owning one concept).
//!
//! - [`cli`]: the command line: parses arguments into options, calls [`ops`], renders the
//!   result, and maps errors to exit codes in one place (`cli/error.rs`);
//! - [`ui`]: the terminal (results, notices, prompts, progress), the only user of
//!   dialoguer and indicatif;
//! - [`ops`]: the operations every front end calls (the commands, `batch`, `migrate`,
//!   `demo`): [`ops::plan`], [`ops::apply`] (with resume and re-plan), [`ops::rollback`],
//!   [`ops::status`], the saved-plan format [`ops::saved`], the lock's clean-up
//!   [`ops::lockfiles`], the request [`ops::request`] (plan file, variables, the last run's),
//!   the hosting provider's set-up [`ops::services`], [`ops::rewrite`], and [`ops::batch`]
//!   (which repositories of a batch run, their report, one repository's run; with
//!   [`ops::clone`]); they report through [`ops::Progress`], ask through [`ops::Confirm`],
//!   fail with [`ops::Error`];
//! - [`spec`]: plan files (`plans/*.toml`) and their variables → a concrete [`spec::Target`];
//! - [`observe`]: the read-only look at the repository and its remote (fetching the branches
//!   the plan reads, so a clone behind its remote is planned against the remote's truth);
//! - [`detect`]: the stable and publishing branches found on the remote when not named;
//! - [`plan`]: a pure function of target and observation → ordered [`plan::Action`]s, with
//!   the preflight that refuses what would stop an apply part way ([`plan::preflight`]);
//! - [`rewrite`]: the CI rewriter, string in, string out (used by [`plan`] at plan time);
//! - [`render`]: the plan as a human diff or a stable JSON document, names escaped;
//! - [`exec`]: the journaled ([`exec::journal`]), locked ([`exec::lock`]), compare-and-swap
//!   apply through [`exec::effects`], and the rollback planned from the journal and live
//!   state ([`exec::undo`]);
//! - [`flow`]: the ADR's flow after the migration: per-chart branches split from
//!   `integration` and pruned once merged, planned as the same actions;
//! - [`git`]: git2 access (remote listing, fetching and pushes, local branches, clones);
//! - [`http`]: the transport every API client sends through (reqwest in one file);
//! - [`cloudflare`]: the Pages API client and the production-branch switch, a setting of
//!   the [`service`] seam (the local stand-ins of both APIs are a crate of their own,
//!   `tests/standin`);
//! - [`github`]: the GitHub REST client and what a migration asks of GitHub: the settings
//!   that follow the rename, the review gate, the CI rewrite through a pull request;
//! - [`service`]: the seam for hosted services: a setting moved from one exact value to
//!   another, placed by the planner, checked and undone by the executor;
//! - [`batch`]: the batch file, its report and shards, the worker pool (the runs themselves
//!   are [`ops::batch`]);
//! - [`demo`]: the throwaway sample repository `rebranch demo` migrates;
//! - [`atomic`], [`time`]: atomic file writes; UTC time without a date crate.
//!
//! A command's path, e.g. `rebranch apply --yes`: `main` → [`cli::run`] parses the
//! arguments; `cli::apply` turns them into [`ops::apply::ApplyOptions`] and calls
//! [`ops::apply::apply`] with a progress sink and a confirmation callback. The operation
//! takes the lock ([`ops::lockfiles`] over [`exec::lock`]), reads the plan file and
//! variables ([`ops::request`] and [`spec`], or the last run's from its journal), connects to
//! the remote once ([`observe::connect`]: list, fetch), looks ([`observe::observe`], and the
//! hosted services through [`ops::Services::contributions`]), plans ([`plan::build`]), hands the plan
//! to the callback (which shows it with [`render`] and, with `--yes`, does not ask), writes
//! the journal's first line ([`exec::journal`]) and runs each step through [`exec::apply`],
//! which checks it against live state and acts through [`exec::effects::GitEffects`] (pushes
//! with compare-and-swap in [`git::remote`], each service's settings through the
//! [`service::Service`] that [`ops::Services::with_services`] opened). `cli::apply` reports
//! the run, or maps the error to its exit code.

pub mod atomic;
pub mod batch;
pub mod cli;
pub mod cloudflare;
// The sample repository: for `rebranch demo`, and for the unit tests that migrate it.
#[cfg(any(test, feature = "demo"))]
pub mod demo;
pub mod detect;
pub mod exec;
pub mod flow;
pub mod git;
pub mod github;
pub mod http;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod render;
pub mod rewrite;
pub mod service;
pub mod spec;
pub mod time;
pub mod ui;
