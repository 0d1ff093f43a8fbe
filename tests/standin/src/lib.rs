//! Local stand-ins of the APIs rebranch talks to, served over real sockets on 127.0.0.1:
//!
//! - [`cloudflare`]: a stateful server of the Cloudflare Pages API with scriptable faults;
//! - [`github`]: a stateful server of the GitHub REST API (branches from a bare repository,
//!   rename, protection, rulesets, pull requests, Pages) with a pre-receive hook;
//! - [`http`]: the tiny HTTP/1.1 server side they share;
//! - [`git_daemon`]: a loopback `git daemon` with receive-pack, the git server beside them.
//!
//! They are a separate crate so the shipped library does not carry them: rebranch's tests
//! use them as a dev-dependency, and `rebranch demo` (the default `demo` feature) as an
//! optional dependency.

pub mod cloudflare;
pub mod git_daemon;
pub mod github;
pub mod http;
mod time;
