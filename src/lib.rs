//! rebranch moves a git repository to a new branch architecture: planned, previewed,
//! applied exactly, verified, and reversible.
//!
//! The shape, one module per concept:
//!
//! - [`spec`]: plan files (`plans/*.toml`) and their variables → a concrete [`spec::Target`];
//! - [`observe`]: the read-only look at the repository and its remote (fetching the branches
//!   the plan reads, so a clone behind its remote is planned against the remote's truth);
//! - [`detect`]: the stable and publishing branches found on the remote when not named;
//! - [`plan`]: a pure function of target and observation → ordered [`plan::Action`]s;
//! - [`render`]: the plan as a human diff or a stable JSON document;
//! - [`exec`]: the journaled, locked, compare-and-swap apply, and rollback from the journal;
//! - [`git`]: git2 access (remote listing and pushes, local branches);
//! - [`batch`]: the same plan across many repositories: the batch file, its report, the pool;
//! - [`demo`]: a throwaway sample repository, migrated end to end;
//! - [`cli`]: the command line, the only place that decides exit codes and talks to the user.

pub mod atomic;
pub mod batch;
pub mod cli;
pub mod cloudflare;
pub mod demo;
pub mod detect;
pub mod exec;
pub mod git;
pub mod observe;
pub mod plan;
pub mod render;
pub mod rewrite;
pub mod spec;
pub mod time;
pub mod ui;
