//! End-to-end tests of the rebranch binary on real repositories and bare remotes, with
//! the git CLI as the oracle. One integration binary: every module is listed here.

mod support;

mod apply;
mod batch;
mod crash;
mod errors;
mod faults;
mod flow;
mod github;
mod hostile;
mod https;
mod migrate;
mod pages;
mod preflight;
mod race;
mod recovery;
mod rewrite;
mod snapshots;
mod spec_props;
mod world;
