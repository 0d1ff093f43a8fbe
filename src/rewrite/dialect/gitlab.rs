//! GitLab CI's vocabulary: `only`/`except`, `rules: if:`, `include: ref:`, `variables:`.

use crate::rewrite::Verdict;
use crate::rewrite::rules::{self, Call, Env, call};

use super::workflow::env_call;

pub(crate) fn gitlab_call(
    keys: &[&str],
    src: &str,
    at: usize,
    len: usize,
    env: &Env,
) -> Option<Call> {
    let last = keys.last().copied().unwrap_or("");
    if keys.contains(&"changes") || keys.contains(&"paths") {
        return Some(call(Verdict::Keep, "a path filter"));
    }
    if keys.iter().any(|k| matches!(*k, "only" | "except")) {
        let exact_regex = src
            .trim()
            .strip_prefix("/^")
            .and_then(|r| r.strip_suffix("$/"))
            .is_some_and(|r| r.len() == len);
        return Some(if src.trim().len() == len || exact_regex {
            call(Verdict::Rewrite, "a branch in `only`/`except`")
        } else {
            rules::expr_call(src, at, len, env)
        });
    }
    if keys.contains(&"include") && last == "ref" {
        return Some(call(Verdict::Keep, "another project's ref"));
    }
    if keys.len() >= 3 && keys[keys.len() - 3] == "variables" && last == "value" {
        return Some(env_call(keys[keys.len() - 2], src, at, len, env));
    }
    None
}
