//! The dialect side of the rewriter: what a position means in GitHub Actions, GitLab CI and
//! the tools CI files call (git, cr, helm, actions' inputs), over the spans the syntax side
//! gives. Shared value rules (URLs, paths, branch-typed values, expressions, prose) are in
//! `rules`.

pub(crate) mod actions;
pub(crate) mod gitlab;
pub(crate) mod make;
pub(crate) mod tools;
pub(crate) mod workflow;
