//! YAML dialects: GitHub Actions workflows and composite actions, GitLab CI, and the YAML
//! configs of chart-releaser, chart-testing, dependabot and mkdocs. One judgement per
//! occurrence from its key path over the span tree of [`crate::rewrite::syntax::yaml`]; plus implicit
//! `gh-pages` defaults made explicit.

use crate::rewrite::edits::Insertion;
use crate::rewrite::rules::{self, AnalyseError, Analysis, Call, Env, Judgement, call};
use crate::rewrite::syntax::yaml::{Events, Kind, Node, Tree, marked_events};
use crate::rewrite::words::{self, Hit};
use crate::rewrite::{FileKind, Verdict};

use super::actions::{self, Input, Owner, action_is, action_name};
use super::{gitlab, tools};

/// Judges every hit of a YAML file; also returns the file's events, which [`verify`]
/// compares the rewritten text's events with (so the original is parsed once).
pub(crate) fn analyse(
    text: &str,
    hits: &[Hit],
    env: &Env,
) -> Result<(Analysis, Events), AnalyseError> {
    let (events, next) = marked_events(text)?;
    let analysis = {
        let tree = Tree::new(text, &events, next);
        let docs = tree.docs();
        // Without a renamed gh-pages nothing is added for implicit defaults, so only the
        // nodes holding a hit need a walk. A hit no scalar judged (a comment, an anchor)
        // needs every scalar's span; should one of them hold it after all, the walk is
        // made again in full.
        let partial = renamed_gh_pages(env).is_none();
        let mut walker = Walker::new(text, hits, env, partial);
        walker.walk_docs(&docs);
        if partial && walker.out.iter().any(Option::is_none) {
            walker.spans = tree.scalar_spans();
            let inside = |h: &Hit| walker.spans.iter().any(|&(s, e)| s <= h.start && h.end() <= e);
            if walker.out.iter().zip(hits).any(|(j, h)| j.is_none() && inside(h)) {
                walker = Walker::new(text, hits, env, false);
                walker.walk_docs(&docs);
            }
        }
        walker.finish()?
    };
    Ok((analysis, events))
}

struct Walker<'a> {
    text: &'a str,
    hits: &'a [Hit],
    env: &'a Env<'a>,
    out: Vec<Option<Judgement>>,
    spans: Vec<(usize, usize)>,
    analysis: Analysis,
    /// Inside a step whose `with:` names another repository (`repository:`).
    foreign: Option<bool>,
    /// Only nodes whose text holds a hit are walked, and no span is recorded.
    partial: bool,
}

impl<'a> Walker<'a> {
    fn new(text: &'a str, hits: &'a [Hit], env: &'a Env<'a>, partial: bool) -> Self {
        Walker {
            text,
            hits,
            env,
            out: vec![None; hits.len()],
            spans: Vec::with_capacity(if partial { 0 } else { text.len() / 24 }),
            analysis: Analysis::default(),
            foreign: None,
            partial,
        }
    }

    fn walk_docs(&mut self, docs: &[Node]) {
        for &doc in docs {
            self.walk(doc, &mut Vec::new(), None);
            self.implicit_cr_yaml(doc);
        }
    }

    /// Tells whether a hit starts inside the node's text.
    fn hits_under(&self, node: Node) -> bool {
        let start = node.start();
        let lo = self.hits.partition_point(|h| h.start < start);
        self.hits.get(lo).is_some_and(|h| h.start < node.end_bound())
    }

    /// Tells whether a hit starts inside the text of a key or its value (or between them).
    fn hits_under_pair(&self, key: Node, value: Node) -> bool {
        let start = key.start();
        let lo = self.hits.partition_point(|h| h.start < start);
        self.hits.get(lo).is_some_and(|h| h.start < value.end_bound())
    }

    /// Walks a node; `path` holds the mapping keys above it (sequence levels are not
    /// recorded: rules look at keys only).
    fn walk<'e>(&mut self, node: Node<'_, 'e>, path: &mut Vec<&'e str>, owner: Owner) {
        if self.partial && !self.hits_under(node) {
            return;
        }
        match node.kind() {
            Kind::Scalar { value, content, literal } => {
                self.scalar(value, (content, literal), path, owner, false)
            }
            Kind::Seq(items) => {
                for item in items {
                    self.walk(item, path, owner);
                }
            }
            Kind::Map(pairs) => {
                let own = node.get("uses").and_then(|(_, v)| v.as_str());
                self.implicit_step(node, own);
                let uses = own.or(owner);
                let saved = self.foreign;
                if own.is_some() {
                    self.foreign = foreign_repo(node, self.env);
                }
                for (k, v) in pairs {
                    if self.partial && !self.hits_under_pair(k, v) {
                        // Neither the key nor the value holds a hit.
                        continue;
                    }
                    if self.partial && !self.hits_under(k) {
                        // A key without a hit: nothing to judge in it.
                    } else if let Kind::Scalar { value, content, literal } = k.kind() {
                        self.scalar(value, (content, literal), path, uses, true);
                    } else {
                        self.walk(k, path, uses);
                    }
                    path.push(k.as_str().unwrap_or("?"));
                    self.walk(v, path, uses);
                    path.pop();
                }
                self.foreign = saved;
            }
            Kind::Alias => {}
        }
    }

    fn hits_in(&self, (s, e): (usize, usize)) -> std::ops::Range<usize> {
        let lo = self.hits.partition_point(|h| h.start < s);
        let hi = self.hits.partition_point(|h| h.end() <= e);
        lo..hi.max(lo)
    }

    fn scalar(
        &mut self,
        value: &str,
        (content, literal): ((usize, usize), bool),
        path: &[&str],
        owner: Owner,
        is_key: bool,
    ) {
        if !self.partial {
            self.spans.push(content);
        }
        let range = self.hits_in(content);
        if range.is_empty() && renamed_gh_pages(self.env).is_none() {
            return;
        }
        let keys: &[&str] = path;
        let shell = !is_key && self.is_shell(keys, owner);
        if range.is_empty() && !shell {
            return;
        }
        let src = &self.text[content.0..content.1];
        if shell {
            let label = shell_label(keys);
            let (js, ins) =
                tools::judge(src, content.0, &self.hits[range.clone()], &label, !literal, self.env);
            for (i, j) in range.zip(js) {
                self.out[i] = Some(j);
            }
            self.analysis.insertions.extend(ins);
            return;
        }
        for i in range {
            let h = self.hits[i];
            let (c, context) = if is_key {
                (
                    call(Verdict::Keep, "a mapping key (a job id, input or directory name)"),
                    key_context(keys, value),
                )
            } else {
                self.value_call(keys, owner, src, h.start - content.0, h.len)
            };
            self.out[i] = Some(Judgement::new(c, context));
        }
    }

    fn is_shell(&self, keys: &[&str], owner: Owner) -> bool {
        let last = keys.last().copied().unwrap_or("");
        match self.env.kind {
            FileKind::GitlabCi => matches!(last, "script" | "before_script" | "after_script"),
            _ => {
                last == "run"
                    || (last == "command" && action_is(owner, "cloudflare/wrangler-action"))
            }
        }
    }

    fn value_call(
        &self,
        keys: &[&str],
        owner: Owner,
        src: &str,
        at: usize,
        len: usize,
    ) -> (Call, String) {
        let env = self.env;
        let ctx = keys.join(".");
        let last = keys.last().copied().unwrap_or("");
        let parent = keys.len().checked_sub(2).map_or("", |i| keys[i]);
        if env.kind == FileKind::GithubWorkflow && keys.first() == Some(&"on") {
            return (trigger_call(keys, src, at, len, env), ctx);
        }
        if env.kind == FileKind::GitlabCi
            && let Some(c) = gitlab::gitlab_call(keys, src, at, len, env)
        {
            return (c, ctx);
        }
        let c = match last {
            "uses" if actions::uses_this_repo_at(src, at, len, env.ctx.slug.as_deref()) => {
                call(Verdict::Rewrite, "a workflow or action of this repository at the branch")
            }
            "uses" => {
                call(Verdict::Keep, "an action or workflow reference (another repository's ref)")
            }
            "if" => rules::expr_call(src, at, len, env),
            "needs" | "extends" | "dependencies" => call(Verdict::Keep, "a job id"),
            "name" | "description" | "display_name" | "title" | "summary" => {
                rules::prose_call(src, at, len)
            }
            _ if parent == "with" => {
                return with_call(owner, self.foreign, last, src, at, len, env);
            }
            "default" if rules::is_branch_key(parent) => {
                rules::branch_value_call(src, at, len, env)
            }
            _ if matches!(parent, "env" | "variables") => env_call(last, src, at, len, env),
            _ => key_call(last, src, at, len, env),
        };
        (c, ctx)
    }

    fn finish(mut self) -> Result<Analysis, AnalyseError> {
        self.spans.sort_unstable();
        let text = self.text;
        let spans = &self.spans;
        let judgements = std::mem::take(&mut self.out)
            .into_iter()
            .zip(self.hits)
            .map(|(j, h)| j.unwrap_or_else(|| outside_scalar(text, h, spans)))
            .collect();
        self.analysis.judgements = judgements;
        Ok(self.analysis)
    }
}

fn shell_label(keys: &[&str]) -> String {
    keys.last().map_or_else(|| "run".to_string(), |k| k.to_string())
}

fn key_context(keys: &[&str], value: &str) -> String {
    if keys.is_empty() { format!("key {value}") } else { format!("key {}.{value}", keys.join(".")) }
}

/// A hit outside every scalar: a comment, or an anchor, alias or tag name.
fn outside_scalar(text: &str, hit: &Hit, spans: &[(usize, usize)]) -> Judgement {
    let ls = words::line_start(text, hit.start);
    let line = &text[ls..hit.start];
    let hash = line.char_indices().find(|&(i, c)| {
        c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])) && !in_spans(spans, ls + i)
    });
    match hash {
        Some((i, _)) => {
            let comment = &text[ls + i..words::line_end(text, hit.start)];
            Judgement::new(rules::prose_call(comment, hit.start - ls - i, hit.len), "comment")
        }
        None => Judgement::new(call(Verdict::Keep, "an anchor, alias or tag name"), "yaml syntax"),
    }
}

fn in_spans(spans: &[(usize, usize)], at: usize) -> bool {
    let i = spans.partition_point(|&(s, _)| s <= at);
    spans[..i].iter().rev().take(64).any(|&(s, e)| s <= at && at < e)
}

fn trigger_call(keys: &[&str], src: &str, at: usize, len: usize, env: &Env) -> Call {
    let last = keys.last().copied().unwrap_or("");
    match last {
        "branches" | "branches-ignore" => {
            // `!NAME` excludes exactly the branch: a negated pattern is still its name.
            let pattern = src.trim();
            if pattern.len() == len || pattern.strip_prefix('!').is_some_and(|p| p.len() == len) {
                call(Verdict::Rewrite, "a branch filter of a workflow trigger")
            } else {
                call(Verdict::Review, "a branch pattern that includes the branch name")
            }
        }
        "paths" | "paths-ignore" => call(Verdict::Keep, "a path filter"),
        "tags" | "tags-ignore" => call(Verdict::Keep, "a tag filter"),
        "default" if is_input_default(keys) && rules::names_a_ref(keys[keys.len() - 2]) => {
            rules::branch_value_call(src, at, len, env)
        }
        "default" if is_input_default(keys) && rules::is_path_key(keys[keys.len() - 2]) => {
            call(Verdict::Keep, "the default of a path input")
        }
        _ if keys.iter().any(|k| rules::is_branch_key(k)) => {
            rules::branch_value_call(src, at, len, env)
        }
        _ => key_call(last, src, at, len, env),
    }
}

/// `on.<workflow_call|workflow_dispatch>.inputs.<name>.default`
fn is_input_default(keys: &[&str]) -> bool {
    let n = keys.len();
    n >= 5 && keys[n - 1] == "default" && keys[n - 3] == "inputs"
}

pub(crate) fn env_call(name: &str, src: &str, at: usize, len: usize, env: &Env) -> Call {
    if rules::is_branch_key(name) {
        rules::branch_value_call(src, at, len, env)
    } else if rules::is_path_key(name) {
        call(Verdict::Keep, "the value of a path variable")
    } else {
        rules::generic_call(src, at, len, env)
    }
}

fn key_call(key: &str, src: &str, at: usize, len: usize, env: &Env) -> Call {
    if rules::is_branch_key(key) {
        rules::branch_value_call(src, at, len, env)
    } else if rules::is_path_key(key) || key == "working-directory" {
        call(Verdict::Keep, "a path or name")
    } else {
        rules::generic_call(src, at, len, env)
    }
}

fn with_call(
    owner: Owner,
    foreign: Option<bool>,
    input: &str,
    src: &str,
    at: usize,
    len: usize,
    env: &Env,
) -> (Call, String) {
    let action = owner.map(action_name).unwrap_or_default();
    let context = if action.is_empty() {
        format!("with.{input}")
    } else {
        format!("with.{input} ({action})")
    };
    let known = actions::input_meaning(&action, input);
    let c = match (known, foreign) {
        (Some(Input::Branch), Some(true)) => {
            call(Verdict::Keep, "a branch of another repository (with.repository)")
        }
        (Some(Input::Branch), Some(false)) => call(
            Verdict::Review,
            "a branch of the repository named in with.repository (slug unknown)",
        ),
        (known, _) => with_input_call(known, input, src, at, len, env),
    };
    (c, context)
}

fn with_input_call(
    known: Option<Input>,
    input: &str,
    src: &str,
    at: usize,
    len: usize,
    env: &Env,
) -> Call {
    match known {
        Some(Input::Branch) => rules::branch_value_call(src, at, len, env),
        Some(Input::Path) => call(Verdict::Keep, "a path input"),
        Some(Input::Repo | Input::RepoName) => call(Verdict::Keep, "a repository input"),
        Some(Input::Other) => rules::generic_call(src, at, len, env),
        None => key_call(input, src, at, len, env),
    }
}

/// `Some(true)` when the step's `with:` names another repository, `Some(false)` when it
/// names one and the slug is unknown, `None` when it names none or this one.
fn foreign_repo(step: Node, env: &Env) -> Option<bool> {
    let action = step.get("uses").and_then(|(_, v)| v.as_str()).map(action_name)?;
    let (_, with) = step.get("with")?;
    let (repo, meaning) = actions::repo_inputs(&action)
        .into_iter()
        .find_map(|(k, m)| with.get(k).and_then(|(_, v)| v.as_str()).map(|v| (v, m)))?;
    if repo.contains("github.repository") || repo.contains("GITHUB_REPOSITORY") {
        return None;
    }
    let repo = repo.trim();
    match &env.ctx.slug {
        Some(slug) if meaning == Input::RepoName => {
            let name = slug.rsplit('/').next().unwrap_or(slug);
            (!name.eq_ignore_ascii_case(repo)).then_some(true)
        }
        Some(slug) if slug.eq_ignore_ascii_case(repo) => None,
        Some(_) => Some(true),
        None => Some(false),
    }
}

fn renamed_gh_pages<'m>(env: &'m Env) -> Option<&'m str> {
    env.map.new_name("gh-pages")
}

impl Walker<'_> {
    fn implicit_step(&mut self, step: Node, uses: Option<&str>) {
        let (Some(uses), Some(new)) = (uses, renamed_gh_pages(self.env)) else {
            return;
        };
        let action = action_name(uses);
        let Some(&(_, input)) = actions::PAGES_DEFAULTS.iter().find(|(a, _)| *a == action) else {
            return;
        };
        let with = step.get("with");
        let has_input = with.is_some_and(|(_, w)| w.get(input).is_some());
        // The input may not exist in the version in use; then its variable does the work.
        let fallback = actions::since(&action, input).and_then(|(since, var)| {
            let version = actions::Version::of(uses, &self.uses_comment(step));
            (version.has(since) != Some(true)).then_some((version, since, var))
        });
        let env = step.get("env");
        if let Some((version, since, var)) = fallback {
            if env.is_some_and(|(_, e)| e.get(var).is_some()) {
                return;
            }
            let (v, s) = (version, actions::Version::Exact(since.0, since.1, since.2));
            let why = match version {
                actions::Version::Unknown => format!("the version of {action} in use is not known"),
                _ => format!("{action} {v} has no `{input}` input (it came in {s})"),
            };
            let note = format!(
                "{why}; set `{var}: {new}` in the step's env, which every version reads, \
                 because gh-pages is renamed to {new}"
            );
            return self.insert_setting(step, env, "env", var, new, note);
        }
        let env_set = env.is_some_and(|(_, e)| e.get("CR_PAGES_BRANCH").is_some());
        if env_set || has_input {
            return;
        }
        let note = format!(
            "{action} publishes to `gh-pages` unless `{input}` is set; added `{input}: {new}` \
             because gh-pages is renamed to {new}"
        );
        self.insert_setting(step, with, "with", input, new, note);
    }

    /// The comment after a step's `uses:` value on its line (`# v1.4.1` after a SHA).
    fn uses_comment(&self, step: Node) -> String {
        let Some((_, v)) = step.get("uses") else { return String::new() };
        let Kind::Scalar { content, .. } = v.kind() else { return String::new() };
        let rest = &self.text[content.1..words::line_end(self.text, content.1)];
        rest.trim_start_matches(['"', '\'']).trim().strip_prefix('#').unwrap_or("").to_string()
    }

    /// Adds `name: new` to the step's `block` mapping (`with` or `env`), creating the block
    /// under `uses:` when the step has none.
    fn insert_setting(
        &mut self,
        step: Node,
        block: Option<(Node, Node)>,
        block_name: &str,
        name: &str,
        new: &str,
        note: String,
    ) {
        let text = self.text;
        let eol = words::eol_of(text);
        let insertion = match block {
            Some((_, w)) => insert_into_with(text, w, name, new, eol),
            None => step
                .get("uses")
                .and_then(|(k, _)| create_block(text, k.start(), block_name, name, new, eol)),
        };
        let action = step.get("uses").and_then(|(_, v)| v.as_str()).map(action_name);
        let action = action.unwrap_or_default();
        let place = if block_name == "with" { "" } else { " to the step's env" };
        match insertion {
            Some((at, add)) => self.analysis.insertions.push(Insertion { at, text: add, note }),
            None => self.analysis.notes.push(format!(
                "{action} relies on the gh-pages default; add `{name}: {new}`{place} by hand (the step's layout is not one the rewriter edits)"
            )),
        }
    }

    fn implicit_cr_yaml(&mut self, doc: Node) {
        let Some(new) = renamed_gh_pages(self.env) else {
            return;
        };
        let Kind::Map(mut pairs) = doc.kind() else { return };
        if self.env.kind != FileKind::ChartReleaser || doc.get("pages-branch").is_some() {
            return;
        }
        let top_level =
            pairs.next().is_some_and(|(k, _)| words::line_start(self.text, k.start()) == k.start());
        if !top_level {
            return;
        }
        let text = self.text;
        let eol = words::eol_of(text);
        let add = if text.ends_with('\n') || text.is_empty() {
            format!("pages-branch: {new}{eol}")
        } else {
            format!("{eol}pages-branch: {new}")
        };
        self.analysis.insertions.push(Insertion {
            at: text.len(),
            text: add,
            note: format!(
                "cr uses `pages-branch: gh-pages` by default; added `pages-branch: {new}`"
            ),
        });
    }
}

fn insert_into_with(
    text: &str,
    with: Node,
    input: &str,
    new: &str,
    eol: &str,
) -> Option<(usize, String)> {
    let Kind::Map(mut pairs) = with.kind() else {
        return None;
    };
    let (first, _) = pairs.next()?;
    let ls = words::line_start(text, first.start());
    let indent = &text[ls..first.start()];
    if !indent.bytes().all(|b| b == b' ') {
        return None;
    }
    Some((ls, format!("{indent}{input}: {new}{eol}")))
}

fn create_block(
    text: &str,
    uses_key: usize,
    block: &str,
    input: &str,
    new: &str,
    eol: &str,
) -> Option<(usize, String)> {
    let ls = words::line_start(text, uses_key);
    let lead = &text[ls..uses_key];
    if !lead.bytes().all(|b| b == b' ' || b == b'-') || lead.matches('-').count() > 1 {
        return None;
    }
    let ind = " ".repeat(lead.len());
    let le = words::line_end(text, uses_key);
    let body = format!("{ind}{block}:{eol}{ind}  {input}: {new}");
    Some(match text[le..].find('\n') {
        Some(nl) => (le + nl + 1, format!("{body}{eol}")),
        None => (text.len(), format!("{eol}{body}")),
    })
}

#[cfg(test)]
mod tests {
    use crate::rewrite::{BranchMap, RepoContext, Resolutions, rewrite_file};

    fn run(path: &str, text: &str, old: &str) -> crate::rewrite::FileRewrite {
        let map = BranchMap::new(vec![(old.into(), "release".into())]).expect("valid");
        let ctx = RepoContext { slug: Some("acme/helm".into()), main_branch: "main".into() };
        rewrite_file(path, text, &map, &ctx, &Resolutions::new()).expect("rewrites")
    }

    #[test]
    fn non_ascii_before_edit() {
        let text = "# Ünïcödé ✓\non:\n  push:\n    branches: [charts] # the charts branch\n";
        let out = run(".github/workflows/a.yml", text, "charts");
        assert_eq!(
            out.rewritten,
            "# Ünïcödé ✓\non:\n  push:\n    branches: [release] # the charts branch\n"
        );
        assert_eq!(out.reviews().count(), 1);
    }

    #[test]
    fn implicit_pages_branch_added() {
        let text = "jobs:\n  r:\n    steps:\n      - uses: helm/chart-releaser-action@v1.6.0\n        env:\n          X: y\n";
        let out = run(".github/workflows/a.yml", text, "gh-pages");
        assert!(out.rewritten.contains("      - uses: helm/chart-releaser-action@v1.6.0\n        with:\n          pages_branch: release\n        env:"));
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn parse_errors_have_positions() {
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let err = rewrite_file(
            "a.yml",
            "a: [charts\nc: d: e\n",
            &map,
            &RepoContext::default(),
            &Resolutions::new(),
        );
        assert!(matches!(err, Err(crate::rewrite::RewriteError::Parse { line: 2.., .. })));
    }

    #[test]
    fn files_without_an_occurrence_are_not_parsed() {
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let (ctx, none) = (RepoContext::default(), Resolutions::new());
        let out = rewrite_file("a.yml", "a: [b\nc: d: e\n", &map, &ctx, &none).expect("ok");
        assert!(!out.changed() && out.occurrences.is_empty());
        // Renaming gh-pages may add an implicit default, so such a file is still read.
        let map = BranchMap::new(vec![("gh-pages".into(), "release".into())]).expect("valid");
        assert!(rewrite_file("a.yml", "a: [b\nc: d: e\n", &map, &ctx, &none).is_err());
    }

    fn verdicts(path: &str, text: &str) -> Vec<Verdict> {
        run(path, text, "gh-pages").occurrences.iter().map(|o| o.verdict).collect()
    }

    use crate::rewrite::Verdict::{self, Keep, Review, Rewrite};

    #[test]
    fn negated_trigger_patterns() {
        let text = "on:\n  push:\n    branches: ['!gh-pages', '!gh-pages/**', 'gh-pages-*']\n";
        assert_eq!(verdicts(".github/workflows/a.yml", text), vec![Rewrite, Review]);
    }

    #[test]
    fn inputs_whose_name_says_ref() {
        let text = "on:\n  workflow_call:\n    inputs:\n      git_ref_to_deploy: {type: string, default: gh-pages}\n      deployRef:\n        default: gh-pages\n        description: the branch\n      environment: {default: gh-pages}\n      site_dir: {default: gh-pages}\n  workflow_dispatch:\n    inputs:\n      target_branch: {default: gh-pages}\n      prefix: {default: gh-pages}\n";
        assert_eq!(
            verdicts(".github/workflows/a.yml", text),
            vec![Rewrite, Rewrite, Review, Keep, Rewrite, Review]
        );
    }

    #[test]
    fn reusable_workflows_and_actions_of_this_repository() {
        let text = "jobs:\n  a:\n    uses: acme/helm/.github/workflows/publish.yml@gh-pages\n  b:\n    uses: other/helm/.github/workflows/publish.yml@gh-pages\n  c:\n    steps:\n      - uses: ACME/helm@gh-pages\n      - uses: acme/helm-tools@gh-pages\n";
        assert_eq!(verdicts(".github/workflows/a.yml", text), vec![Rewrite, Keep, Rewrite, Keep]);
    }

    #[test]
    fn repository_inputs_follow_the_action_table() {
        let text = "jobs:\n  a:\n    steps:\n      - uses: stefanzweifel/git-auto-commit-action@v5\n        with:\n          repository: ./site\n          branch: gh-pages\n      - uses: ad-m/github-push-action@v0.8.0\n        with:\n          repository: other/site\n          branch: gh-pages\n      - uses: stefanprodan/helm-gh-pages@v1.7.0\n        with:\n          repository: helm\n          branch: gh-pages\n";
        assert_eq!(verdicts(".github/workflows/a.yml", text), vec![Rewrite, Keep, Rewrite]);
    }

    #[test]
    fn mkdocs_remote_branch() {
        let text = "site_name: Charts\nremote_branch: gh-pages\ndocs_dir: gh-pages\nnav:\n  - gh-pages: index.md\n";
        assert_eq!(verdicts("mkdocs.yml", text), vec![Rewrite, Keep, Keep]);
    }
}
