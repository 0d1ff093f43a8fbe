//! The per-chart branch names: the `chart_branch` pattern, what it may not clash with, and
//! which chart names can stand in a git ref.

use std::collections::BTreeSet;

use crate::plan::PlanError;

/// The pattern's default: a name that can live beside `integration` (see the built-in
/// plan's comments for why not the ADR's `integration/{chart}`).
pub const DEFAULT_PATTERN: &str = "chart/{chart}";

/// The placeholder the chart's name replaces.
const CHART: &str = "{chart}";

/// A checked `chart_branch` pattern: `prefix{chart}suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    pub text: String,
    prefix: String,
    suffix: String,
}

impl Pattern {
    /// Parses the pattern: exactly one `{chart}`, and a valid branch name around it.
    pub fn parse(text: &str) -> Result<Pattern, PlanError> {
        let bad = |why: &str| PlanError {
            message: format!("chart_branch `{text}` {why}"),
            hint: format!(
                "set a pattern with one {CHART}, e.g. --set chart_branch={DEFAULT_PATTERN}"
            ),
        };
        let (prefix, suffix) = text.split_once(CHART).ok_or_else(|| bad("has no {chart}"))?;
        if suffix.contains(CHART) {
            return Err(bad("has {chart} more than once"));
        }
        if prefix.contains(['{', '}']) || suffix.contains(['{', '}']) {
            return Err(bad("has braces other than {chart}"));
        }
        if prefix.is_empty() && suffix.is_empty() {
            // `main` or `release` would then read as the branch of a chart of that name.
            return Err(bad("is nothing but {chart}: every branch would read as a chart branch"));
        }
        let pattern = Pattern {
            text: text.to_string(),
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
        };
        if !valid_branch(&pattern.branch("chart")) {
            return Err(bad(
                "does not make valid branch names (see `git check-ref-format --branch`)",
            ));
        }
        Ok(pattern)
    }

    /// The branch of `chart`.
    pub fn branch(&self, chart: &str) -> String {
        format!("{}{chart}{}", self.prefix, self.suffix)
    }

    /// The chart a branch is named for, when it follows the pattern.
    pub fn chart_of<'b>(&self, branch: &'b str) -> Option<&'b str> {
        let chart = branch.strip_prefix(&self.prefix)?.strip_suffix(&self.suffix)?;
        (!chart.is_empty() && !chart.contains('/')).then_some(chart)
    }

    /// Refuses a pattern whose branches cannot exist beside `branches` (the remote's, and
    /// the ones the plan creates): git keeps `refs/heads/a` and `refs/heads/a/b` as a file
    /// and a directory, so one of them always refuses to exist.
    pub fn check_clash(&self, branches: &BTreeSet<String>) -> Result<(), PlanError> {
        let mut dir = String::new();
        for part in
            self.prefix.split('/').collect::<Vec<_>>().split_last().map_or(&[][..], |(_, d)| d)
        {
            dir = if dir.is_empty() { part.to_string() } else { format!("{dir}/{part}") };
            if branches.contains(&dir) {
                return Err(clash(&self.text, &dir, &self.branch("<chart>")));
            }
        }
        Ok(())
    }

    /// The branch of `chart`, or why the chart's name cannot stand in it.
    pub fn branch_for(&self, chart: &str) -> Result<String, String> {
        let branch = self.branch(chart);
        if chart.starts_with('-') || chart.contains('/') || !valid_branch(&branch) {
            return Err(format!(
                "chart `{chart}` cannot be named in a branch: `{branch}` is not a valid git branch name (see `git check-ref-format --branch`)"
            ));
        }
        Ok(branch)
    }
}

/// A planned chart branch that would sit inside an existing branch's name, or the reverse.
pub fn ref_conflict(branch: &str, branches: &BTreeSet<String>) -> Option<String> {
    branches
        .iter()
        .find(|b| b.as_str() != branch && (is_under(branch, b) || is_under(b, branch)))
        .cloned()
}

fn is_under(name: &str, dir: &str) -> bool {
    name.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
}

fn clash(pattern: &str, branch: &str, example: &str) -> PlanError {
    PlanError {
        message: format!(
            "chart_branch `{pattern}` clashes with branch `{branch}`: git cannot hold `refs/heads/{example}` while `refs/heads/{branch}` exists (\"cannot lock ref 'refs/heads/{example}': 'refs/heads/{branch}' exists\"), so ADR-002's `integration/<chart>` cannot live beside its `integration` branch"
        ),
        hint: format!(
            "use a pattern that lives beside it, e.g. --set chart_branch={DEFAULT_PATTERN} (the default) or --set chart_branch=integration-{CHART}; nothing was changed"
        ),
    }
}

/// A branch name as plan variables take it (git's rules, no option-like or `refs/` names).
fn valid_branch(name: &str) -> bool {
    crate::spec::check_branch_name("branch", name).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_adr_pattern_clashes_with_integration_and_the_default_does_not() {
        let branches = set(&["main", "integration", "release"]);
        let adr = Pattern::parse("integration/{chart}").unwrap();
        let err = adr.check_clash(&branches).unwrap_err();
        assert!(err.message.contains("'refs/heads/integration' exists"), "{}", err.message);
        Pattern::parse(DEFAULT_PATTERN).unwrap().check_clash(&branches).unwrap();
        Pattern::parse("integration-{chart}").unwrap().check_clash(&branches).unwrap();
        let deep = Pattern::parse("flow/integration/{chart}").unwrap();
        deep.check_clash(&branches).unwrap();
        assert!(deep.check_clash(&set(&["flow"])).is_err());
    }

    #[test]
    fn patterns_need_one_chart_and_a_valid_name() {
        assert!(Pattern::parse("chart").is_err());
        assert!(Pattern::parse("{chart}/{chart}").is_err());
        assert!(Pattern::parse("a..{chart}").is_err());
        assert!(Pattern::parse("{x}/{chart}").is_err());
        assert!(Pattern::parse("{chart}").is_err());
    }

    #[test]
    fn charts_round_trip_through_their_branch_names() {
        let p = Pattern::parse("integration-{chart}").unwrap();
        assert_eq!(p.chart_of(&p.branch("redis")), Some("redis"));
        assert_eq!(p.chart_of("integration"), None);
        assert_eq!(p.chart_of("main"), None);
        let d = Pattern::parse(DEFAULT_PATTERN).unwrap();
        assert_eq!(d.chart_of("chart/a/b"), None);
    }

    #[test]
    fn chart_names_git_refuses_are_named() {
        let p = Pattern::parse(DEFAULT_PATTERN).unwrap();
        assert_eq!(p.branch_for("podinfo").unwrap(), "chart/podinfo");
        for bad in ["a~b", "a b", "a..b", "x.lock", "a:b", "-x"] {
            let why = p.branch_for(bad).unwrap_err();
            assert!(why.contains(&format!("`{bad}`")), "{why}");
        }
    }

    #[test]
    fn nested_names_conflict() {
        let all = set(&["chart", "main"]);
        assert_eq!(ref_conflict("chart/x", &all).as_deref(), Some("chart"));
        assert_eq!(ref_conflict("main", &all), None);
    }
}
