//! rebranch moves a git repository to a new branch architecture: planned, previewed,
//! applied exactly, verified, and reversible.
//!
//! The shape, one module per concept:
//!
//! - [`spec`]: plan files (`plans/*.toml`) and their variables → a concrete [`spec::Target`];
//! - [`observe`]: the read-only look at the repository and its remote (fetching the branches
//!   the plan reads, so a clone behind its remote is planned against the remote's truth);
//! - [`detect`]: the stable and publishing branches found on the remote when not named;
//! - [`plan`]: a pure function of target and observation → ordered [`plan::Action`]s, with
//!   the preflight that refuses what would stop an apply part way ([`plan::preflight`]);
//! - [`rewrite`]: the CI rewriter, string in, string out (used by [`plan`] at plan time);
//! - [`render`]: the plan as a human diff or a stable JSON document, names escaped;
//! - [`exec`]: the journaled, locked, compare-and-swap apply, and the rollback planned from
//!   the journal and live state ([`exec::undo`]);
//! - [`flow`]: the ADR's flow after the migration: per-chart branches split from
//!   `integration` and pruned once merged, planned as the same actions;
//! - [`git`]: git2 access (remote listing, fetching and pushes, local branches, work trees);
//! - [`http`]: the transport every API client sends through (reqwest in one file);
//! - [`cloudflare`]: the Pages API client, the production-branch switch, a local stand-in;
//! - [`batch`]: the same plan across many repositories: the batch file, its report, the pool;
//! - [`demo`]: a throwaway sample repository, migrated end to end;
//! - [`ui`]: the terminal (results, notices, prompts, progress);
//! - [`atomic`], [`time`]: atomic file writes; UTC time without a date crate;
//! - [`cli`]: the command line, the only place that decides exit codes and talks to the user.
//!
//! A command's path, e.g. `rebranch apply --yes`: `main` → [`cli::run`] parses the
//! arguments; `cli::apply` takes the lock ([`exec::lock`]), reads the plan file and
//! variables ([`spec`], or the last run's from its journal), connects to the remote once
//! ([`observe::connect`]: list, fetch), looks ([`observe::observe`]), plans ([`plan::build`]),
//! shows it ([`render`]), writes the journal's first line ([`exec::journal`]) and runs each
//! step through [`exec::apply`], which checks it against live state and acts through
//! [`exec::effects::GitEffects`] (pushes with compare-and-swap in [`git::remote`]).

pub mod atomic;
pub mod batch;
pub mod cli;
pub mod cloudflare;
pub mod demo;
pub mod detect;
pub mod exec;
pub mod flow;
pub mod git;
pub mod http;
pub mod observe;
pub mod ops;
pub mod plan;
pub mod render;
pub mod rewrite;
pub mod spec;
pub mod time;
pub mod ui;
