//! Makefile dialect: recipe lines are judged as shell, an assignment's value by its
//! variable's name (`PAGES_BRANCH ?= gh-pages` is a branch), target names are kept, and
//! comments are prose.

use crate::rewrite::Verdict;
use crate::rewrite::rules::{self, Analysis, Env, Judgement, call};
use crate::rewrite::syntax::make::{self, Line};
use crate::rewrite::words::Hit;

use super::tools;

/// Judges every hit of a Makefile.
pub(crate) fn analyse(text: &str, hits: &[Hit], env: &Env) -> Analysis {
    let mut analysis = Analysis::default();
    let mut out: Vec<Option<Judgement>> = vec![None; hits.len()];
    for line in make::lines(text) {
        let (s, e) = match &line {
            Line::Recipe { span, .. } => *span,
            Line::Assignment { value, .. } => *value,
            Line::Other(span) | Line::Comment(span) => *span,
        };
        let lo = hits.partition_point(|h| h.start < s);
        let hi = hits.partition_point(|h| h.end() <= e).max(lo);
        if lo == hi && !matches!(line, Line::Recipe { .. }) {
            continue;
        }
        match &line {
            Line::Recipe { shell, .. } => {
                let (js, ins) = tools::judge(shell, s, &hits[lo..hi], "recipe", false, env);
                for (i, j) in (lo..hi).zip(js) {
                    out[i] = Some(j);
                }
                analysis.insertions.extend(ins);
            }
            Line::Assignment { name, .. } => {
                for i in lo..hi {
                    let c = value_call(name, &text[s..e], hits[i].start - s, hits[i].len, env);
                    out[i] = Some(Judgement::new(c, format!("variable {name}")));
                }
            }
            Line::Comment(_) => {
                for i in lo..hi {
                    let c = rules::prose_call(&text[s..e], hits[i].start - s, hits[i].len);
                    out[i] = Some(Judgement::new(c, "comment"));
                }
            }
            Line::Other(_) => {
                for i in lo..hi {
                    out[i] = Some(other_line(&text[s..e], hits[i].start - s, hits[i].len, env));
                }
            }
        }
    }
    analysis.judgements = out
        .into_iter()
        .map(|j| {
            j.unwrap_or_else(|| {
                Judgement::new(
                    call(Verdict::Review, "Makefile text the reader could not place"),
                    "makefile",
                )
            })
        })
        .collect();
    analysis
}

fn value_call(name: &str, value: &str, at: usize, len: usize, env: &Env) -> rules::Call {
    if rules::is_branch_key(name) {
        rules::branch_value_call(value, at, len, env)
    } else if rules::is_path_key(name) {
        call(Verdict::Keep, "the value of a path variable")
    } else {
        rules::generic_call(value, at, len, env)
    }
}

/// A rule line: a word before the rule's `:` is a target (a name, not a branch); after it,
/// a prerequisite.
fn other_line(line: &str, at: usize, len: usize, env: &Env) -> Judgement {
    if let Some(hash) = line.find('#').filter(|&h| h < at) {
        return Judgement::new(rules::prose_call(&line[hash..], at - hash, len), "comment");
    }
    if line.contains(':') {
        return Judgement::new(call(Verdict::Keep, "a make target or prerequisite"), "rule");
    }
    Judgement::new(rules::generic_call(line, at, len, env), "makefile directive")
}
