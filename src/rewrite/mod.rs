//! The CI rewriter: finds every whole-word occurrence of an old branch name in a CI or
//! config file, classifies it by its context as `rewrite`, `keep` or `review`, and edits
//! the original text at the byte spans of the `rewrite` occurrences only.
//!
//! Pure: string in, string out. Each format has its own analyser (`yaml`, `toml`, `json`);
//! they share the value rules in `rules` and the shell word splitter in `shell`. After the
//! splice, the result is parsed again and compared with the original (`RewriteError::Verify`
//! when anything changed beyond the edited values). A file without any occurrence (and no
//! implicit `gh-pages` default to make explicit) is returned as it is, unparsed.
//!
//! Word rule: an occurrence of `charts` is a maximal run equal to the name whose neighbours
//! are not letters, digits, `_` or `-`. So `charts/**`, `./charts`, `origin/charts` and
//! `charts.example.com` are occurrences (most classified `keep`), while `helm-charts`,
//! `charts_dir` and `mycharts` are not.

mod dialect;
mod edits;
mod json;
mod rules;
mod syntax;
mod toml;
mod words;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod prop_tests;

use std::collections::BTreeMap;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Maps old branch names to new ones, e.g. `charts -> release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BranchMap(Vec<(String, String)>);

impl BranchMap {
    /// Validates and builds a map: names non-empty, valid as branch names, old names
    /// distinct, and no pair renaming a branch to itself.
    pub fn new(pairs: Vec<(String, String)>) -> Result<Self, RewriteError> {
        if pairs.is_empty() {
            return Err(RewriteError::Map("the branch map is empty".into()));
        }
        for (i, (old, new)) in pairs.iter().enumerate() {
            for name in [old, new] {
                check_branch_name(name)?;
            }
            if old == new {
                return Err(RewriteError::Map(format!("`{old}` is mapped to itself")));
            }
            if pairs[..i].iter().any(|(o, _)| o == old) {
                return Err(RewriteError::Map(format!("`{old}` is mapped twice")));
            }
        }
        Ok(Self(pairs))
    }

    /// Parses `OLD=NEW` arguments.
    pub fn parse_pairs<S: AsRef<str>>(args: &[S]) -> Result<Self, RewriteError> {
        let mut pairs = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            let Some((old, new)) = arg.split_once('=') else {
                return Err(RewriteError::Map(format!("`{arg}` is not OLD=NEW")));
            };
            pairs.push((old.to_string(), new.to_string()));
        }
        Self::new(pairs)
    }

    /// The pairs, in the order given.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// The new name of branch `old`, if the map renames it.
    pub fn new_name(&self, old: &str) -> Option<&str> {
        self.0.iter().find(|(o, _)| o == old).map(|(_, n)| n.as_str())
    }
}

fn check_branch_name(name: &str) -> Result<(), RewriteError> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-');
    let valid = !name.is_empty()
        && name.chars().all(ok_char)
        && !name.starts_with(['-', '/', '.'])
        && !name.ends_with(['/', '.'])
        && !name.contains("..")
        && !name.contains("//");
    if valid {
        Ok(())
    } else {
        Err(RewriteError::Map(format!(
            "`{name}` is not a branch name this rewriter handles (letters, digits, `.`, `_`, `/`, `-`)"
        )))
    }
}

/// What the rewriter knows about the repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoContext {
    /// `owner/name`, to recognise `raw.githubusercontent.com/<slug>/<branch>/…` URLs.
    pub slug: Option<String>,
    /// The stable branch, e.g. `main`.
    pub main_branch: String,
}

/// How an occurrence is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// A branch reference: rewritten.
    Rewrite,
    /// Not a branch reference (a path, a chart name, another repository's ref, a URL…).
    Keep,
    /// Ambiguous or cosmetic: shown to the user, changed only when resolved as `Rewrite`.
    Review,
}

/// One whole-word occurrence of an old branch name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte span in the original text.
    pub span: Range<usize>,
    pub verdict: Verdict,
    /// Where it was found, e.g. `on.push.branches` or `run: git push origin HEAD:charts`.
    pub context: String,
    pub old: String,
    /// The replacement; equal to `old` unless the occurrence is rewritten.
    pub new: String,
    pub reason: String,
}

/// The result of rewriting one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRewrite {
    pub path: String,
    pub original: String,
    pub rewritten: String,
    pub occurrences: Vec<Occurrence>,
    /// Explanations of additions made for implicit defaults, and of defaults left alone.
    pub notes: Vec<String>,
}

impl FileRewrite {
    /// Tells whether the rewritten text differs from the original.
    pub fn changed(&self) -> bool {
        self.original != self.rewritten
    }

    /// The occurrences still classified `review` (after resolutions).
    pub fn reviews(&self) -> impl Iterator<Item = &Occurrence> {
        self.occurrences.iter().filter(|o| o.verdict == Verdict::Review)
    }

    /// A unified diff with `a/` and `b/` headers; empty when nothing changed.
    pub fn unified_diff(&self) -> String {
        if !self.changed() {
            return String::new();
        }
        let diff = similar::TextDiff::from_lines(&self.original, &self.rewritten);
        diff.unified_diff()
            .context_radius(3)
            .header(
                &format!("a/{}", crate::render::escape(&self.path)),
                &format!("b/{}", crate::render::escape(&self.path)),
            )
            .to_string()
    }
}

/// Review items resolved by the user, keyed by path, 1-based line and 1-based column;
/// column 0 resolves every review item on the line.
pub type Resolutions = BTreeMap<(String, usize, usize), Verdict>;

/// The kinds of files the rewriter understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// `.github/workflows/*.yml`
    GithubWorkflow,
    /// `.github/*.yml`, e.g. dependabot.
    GithubActionConfig,
    /// `.gitlab-ci.yml`
    GitlabCi,
    /// chart-releaser's `cr.yaml`
    ChartReleaser,
    /// chart-testing's `ct.yaml`
    ChartTesting,
    /// Renovate JSON or JSON5.
    Renovate,
    /// `netlify.toml`, `wrangler.toml`, …
    Toml,
    /// Any other YAML (composite actions, mkdocs.yml, …).
    OtherYaml,
    /// A shell script: `.sh`/`.bash` or a `sh`/`bash` shebang.
    ShellScript,
    /// A Makefile or `*.mk`: recipes are shell, assignments values.
    Makefile,
}

/// How a file is read; each syntax has one reader, and every kind has exactly one syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    Yaml,
    Shell,
    Make,
    Toml,
    Json,
}

impl FileKind {
    /// The syntax files of this kind are written in.
    pub fn syntax(self) -> Syntax {
        match self {
            Self::GithubWorkflow
            | Self::GithubActionConfig
            | Self::GitlabCi
            | Self::ChartReleaser
            | Self::ChartTesting
            | Self::OtherYaml => Syntax::Yaml,
            Self::Renovate => Syntax::Json,
            Self::Toml => Syntax::Toml,
            Self::ShellScript => Syntax::Shell,
            Self::Makefile => Syntax::Make,
        }
    }
}

/// Errors of the rewriter; a file with an error is left untouched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RewriteError {
    #[error("{path}:{line}:{column}: {message}")]
    Parse { path: String, line: usize, column: usize, message: String },
    #[error("{path}: the rewritten text failed verification, file left untouched: {message}")]
    Verify { path: String, message: String },
    #[error("{path}: not a file kind the rewriter understands")]
    Unsupported { path: String },
    #[error("invalid branch map: {0}")]
    Map(String),
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

/// Tells the kind of a file from its path and, for scripts without an extension, its first
/// line: the one policy by which the plan, `rebranch rewrite` and the fuzz target pick the
/// files the rewriter reads.
pub fn classify(path: &str, text: &str) -> Option<FileKind> {
    detect_kind(path).or_else(|| shell_shebang(text).then_some(FileKind::ShellScript))
}

/// Tells whether a text starts with a shebang naming a POSIX-family shell
/// (`#!/bin/sh`, `#!/usr/bin/env bash`, `#!/bin/bash -e`, …).
pub fn shell_shebang(text: &str) -> bool {
    let Some(line) = text.strip_prefix("#!") else {
        return false;
    };
    let line = line.lines().next().unwrap_or("");
    let mut words = line.split_whitespace();
    let mut prog = words.next().map(|w| w.rsplit('/').next().unwrap_or(w));
    if prog == Some("env") {
        prog = words.find(|w| !w.starts_with('-'));
    }
    matches!(prog, Some("sh" | "bash" | "dash" | "ksh" | "zsh" | "ash"))
}

/// Tells the kind of a file from its repository path.
pub fn detect_kind(path: &str) -> Option<FileKind> {
    let path = if path.contains('\\') {
        std::borrow::Cow::Owned(path.replace('\\', "/"))
    } else {
        std::borrow::Cow::Borrowed(path)
    };
    // `trim_start_matches` and `trim_end_matches` by hand: with a string pattern each call
    // builds a substring searcher, and every blob of a tree comes through here.
    let mut path: &str = &path;
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    let base = path.rsplit('/').next().unwrap_or(path);
    let lower = base.to_ascii_lowercase();
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    let mut stem = lower.as_str();
    while let Some(rest) = stem.strip_suffix(".yaml") {
        stem = rest;
    }
    while let Some(rest) = stem.strip_suffix(".yml") {
        stem = rest;
    }
    if yaml && (path.starts_with(".github/workflows/") || path.contains("/.github/workflows/")) {
        return Some(FileKind::GithubWorkflow);
    }
    if lower == ".gitlab-ci.yml" || lower.ends_with(".gitlab-ci.yml") {
        return Some(FileKind::GitlabCi);
    }
    if yaml && matches!(stem, "cr" | ".cr") {
        return Some(FileKind::ChartReleaser);
    }
    if yaml && matches!(stem, "ct" | ".ct") {
        return Some(FileKind::ChartTesting);
    }
    if is_renovate(&lower) {
        return Some(FileKind::Renovate);
    }
    if lower.ends_with(".toml") {
        return Some(FileKind::Toml);
    }
    if [".sh", ".bash", ".ksh", ".zsh"].iter().any(|e| lower.ends_with(e)) {
        return Some(FileKind::ShellScript);
    }
    if matches!(lower.as_str(), "makefile" | "gnumakefile") || lower.ends_with(".mk") {
        return Some(FileKind::Makefile);
    }
    if yaml && (path.starts_with(".github/") || path.contains("/.github/")) {
        return Some(FileKind::GithubActionConfig);
    }
    yaml.then_some(FileKind::OtherYaml)
}

fn is_renovate(base: &str) -> bool {
    matches!(
        base,
        "renovate.json"
            | "renovate.json5"
            | ".renovaterc"
            | ".renovaterc.json"
            | ".renovaterc.json5"
    )
}

/// 1-based lines holding a whole-word occurrence of an old name, each once, in order.
pub fn occurrence_lines(text: &str, map: &BranchMap) -> Vec<usize> {
    let mut cursor = words::LineCursor::new(text);
    let mut lines: Vec<usize> =
        words::find_hits(text, map).iter().map(|h| cursor.line_col(h.start).0).collect();
    lines.dedup();
    lines
}

/// Tells whether a file of this kind must go through the rewriter: it names an old branch,
/// or it may rely on a tool's `gh-pages` default ([`may_rely_on_default`]).
pub fn needs_reading(kind: FileKind, text: &str, map: &BranchMap) -> bool {
    !words::find_hits(text, map).is_empty() || may_rely_on_default(kind, text, map)
}

/// Tells whether `gh-pages` is renamed and the file may rely on a tool's `gh-pages` default:
/// a chart-releaser config, a step using a publishing action, `cr index`.
pub fn may_rely_on_default(kind: FileKind, text: &str, map: &BranchMap) -> bool {
    if map.new_name("gh-pages").is_none() {
        return false;
    }
    if kind == FileKind::ChartReleaser || text.contains("cr index") {
        return true;
    }
    // Only a step's `uses:` names an action: most files have none, and are not lowercased.
    if !text.contains("uses") {
        return false;
    }
    let lower = text.to_ascii_lowercase();
    dialect::actions::PAGES_DEFAULTS.iter().any(|(a, _)| lower.contains(a))
}

/// Rewrites one file's text. Deterministic; never panics; on error nothing is changed.
pub fn rewrite_file(
    path: &str,
    text: &str,
    map: &BranchMap,
    ctx: &RepoContext,
    resolutions: &Resolutions,
) -> Result<FileRewrite, RewriteError> {
    let kind =
        classify(path, text).ok_or_else(|| RewriteError::Unsupported { path: path.to_string() })?;
    rewrite_as(kind, path, text, map, ctx, resolutions)
}

/// Like [`rewrite_file`], with the file kind given.
pub fn rewrite_as(
    kind: FileKind,
    path: &str,
    text: &str,
    map: &BranchMap,
    ctx: &RepoContext,
    resolutions: &Resolutions,
) -> Result<FileRewrite, RewriteError> {
    let hits = words::find_hits(text, map);
    // No occurrence and no implicit default to make explicit: nothing to judge or edit,
    // so the file is not even parsed.
    if hits.is_empty() && map.new_name("gh-pages").is_none() {
        return Ok(FileRewrite {
            path: path.to_string(),
            original: text.to_string(),
            rewritten: text.to_string(),
            occurrences: Vec::new(),
            notes: Vec::new(),
        });
    }
    let env = rules::Env { kind, map, ctx };
    // YAML's events are kept from the analysis for the verification of the result.
    let mut yaml_events = Vec::new();
    let analysis = match kind.syntax() {
        Syntax::Toml => toml::analyse(text, &hits, &env),
        Syntax::Json => json::analyse(text, &hits, &env),
        Syntax::Shell => Ok(dialect::tools::analyse_script(text, &hits, &env)),
        Syntax::Make => Ok(dialect::make::analyse(text, &hits, &env)),
        Syntax::Yaml => syntax::yaml::check_chars(text)
            .and_then(|()| dialect::workflow::analyse(text, &hits, &env))
            .map(|(analysis, events)| {
                yaml_events = events;
                analysis
            }),
    }
    .map_err(|e| e.into_error(path, text))?;
    let occurrences = build_occurrences(path, text, &hits, analysis.judgements, map, resolutions);
    let rewritten = edits::splice(text, &occurrences, &analysis.insertions);
    let inserted: Vec<String> = analysis.insertions.iter().map(|i| i.text.clone()).collect();
    let verified = match kind.syntax() {
        Syntax::Toml => toml::verify(text, &rewritten, map),
        Syntax::Json => json::verify(text, &rewritten, map),
        Syntax::Shell | Syntax::Make => syntax::shell::verify(text, &rewritten, map, &inserted),
        Syntax::Yaml => syntax::yaml::verify(text, &yaml_events, &rewritten, map, &inserted),
    };
    syntax::yaml::recycle(yaml_events);
    verified.map_err(|message| RewriteError::Verify { path: path.to_string(), message })?;
    let notes = analysis.insertions.iter().map(|i| i.note.clone()).collect();
    let mut notes: Vec<String> = notes;
    notes.extend(analysis.notes);
    Ok(FileRewrite {
        path: path.to_string(),
        original: text.to_string(),
        rewritten,
        occurrences,
        notes,
    })
}

/// Entry point for a fuzz target (`fuzz_target!(|data: &[u8]| rebranch::rewrite::fuzz_one(data))`):
/// runs every analyser on the input; must never panic.
#[doc(hidden)]
pub fn fuzz_one(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(map) = BranchMap::parse_pairs(&["charts=release", "gh-pages=pages"]) else {
        return;
    };
    let ctx = RepoContext { slug: Some("acme/helm".into()), main_branch: "main".into() };
    for path in [
        ".github/workflows/f.yml",
        ".gitlab-ci.yml",
        "cr.yaml",
        "netlify.toml",
        "renovate.json5",
        "hack/publish.sh",
        "Makefile",
    ] {
        let _ = rewrite_file(path, &text, &map, &ctx, &Resolutions::new());
    }
}

fn build_occurrences(
    path: &str,
    text: &str,
    hits: &[words::Hit],
    judgements: Vec<rules::Judgement>,
    map: &BranchMap,
    resolutions: &Resolutions,
) -> Vec<Occurrence> {
    let mut lines = words::LineCursor::new(text);
    hits.iter()
        .zip(judgements)
        .map(|(hit, j)| {
            let (old, new_name) = &map.0[hit.name];
            let (line, column) = lines.line_col(hit.start);
            let mut verdict = j.verdict;
            let mut reason = j.reason;
            if verdict == Verdict::Review
                && !resolutions.is_empty()
                && let Some(&resolved) = resolutions
                    .get(&(path.to_string(), line, column))
                    .or_else(|| resolutions.get(&(path.to_string(), line, 0)))
            {
                verdict = resolved;
                reason = format!("{reason}; resolved as {resolved:?}");
            }
            let new = if verdict == Verdict::Rewrite { new_name.clone() } else { old.clone() };
            Occurrence {
                line,
                column,
                span: hit.start..hit.start + old.len(),
                verdict,
                context: j.context,
                old: old.clone(),
                new,
                reason,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> BranchMap {
        BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid map")
    }

    #[test]
    fn branch_map_rejects_bad_input() {
        assert!(BranchMap::new(vec![]).is_err());
        assert!(BranchMap::new(vec![("a".into(), "a".into())]).is_err());
        assert!(BranchMap::new(vec![("a".into(), "b".into()), ("a".into(), "c".into())]).is_err());
        assert!(BranchMap::new(vec![("a b".into(), "c".into())]).is_err());
        assert!(BranchMap::parse_pairs(&["charts=release"]).is_ok());
        assert!(BranchMap::parse_pairs(&["charts"]).is_err());
    }

    #[test]
    fn detects_kinds() {
        assert_eq!(detect_kind(".github/workflows/release.yml"), Some(FileKind::GithubWorkflow));
        assert_eq!(detect_kind(".github/dependabot.yml"), Some(FileKind::GithubActionConfig));
        assert_eq!(detect_kind(".gitlab-ci.yml"), Some(FileKind::GitlabCi));
        assert_eq!(detect_kind("cr.yaml"), Some(FileKind::ChartReleaser));
        assert_eq!(detect_kind(".github/ct.yaml"), Some(FileKind::ChartTesting));
        assert_eq!(detect_kind("renovate.json5"), Some(FileKind::Renovate));
        assert_eq!(detect_kind("netlify.toml"), Some(FileKind::Toml));
        assert_eq!(detect_kind("charts/app/values.yaml"), Some(FileKind::OtherYaml));
        assert_eq!(detect_kind("README.md"), None);
        assert_eq!(detect_kind("hack/update-index.sh"), Some(FileKind::ShellScript));
        assert_eq!(detect_kind("Makefile"), Some(FileKind::Makefile));
        assert_eq!(detect_kind("build/release.mk"), Some(FileKind::Makefile));
        assert_eq!(
            classify("scripts/publish", "#!/usr/bin/env bash\nset -e\n"),
            Some(FileKind::ShellScript)
        );
        assert_eq!(classify("scripts/publish", "#!/bin/sh -eu\n"), Some(FileKind::ShellScript));
        assert_eq!(classify("scripts/publish.py", "#!/usr/bin/env python3\n"), None);
        assert_eq!(classify("NOTES", "# bash notes\n"), None);
    }

    #[test]
    fn diff_has_headers() {
        let text = "on:\n  push:\n    branches: [charts]\n";
        let ctx = RepoContext::default();
        let out = rewrite_file(".github/workflows/a.yml", text, &map(), &ctx, &Resolutions::new())
            .expect("rewrites");
        assert!(out.changed());
        let diff = out.unified_diff();
        assert!(diff.starts_with("--- a/.github/workflows/a.yml\n+++ b/.github/workflows/a.yml\n"));
        assert!(diff.contains("+    branches: [release]"));
    }

    #[test]
    fn resolutions_turn_reviews_into_rewrites() {
        let text = "x:\n  y: charts\n";
        let ctx = RepoContext::default();
        let none = rewrite_file("a.yml", text, &map(), &ctx, &Resolutions::new()).expect("ok");
        assert_eq!(none.reviews().count(), 1);
        let mut res = Resolutions::new();
        res.insert(("a.yml".into(), 2, 0), Verdict::Rewrite);
        let done = rewrite_file("a.yml", text, &map(), &ctx, &res).expect("ok");
        assert_eq!(done.rewritten, "x:\n  y: release\n");
    }

    #[test]
    fn unsupported_file_is_an_error() {
        let ctx = RepoContext::default();
        let err = rewrite_file("README.md", "charts", &map(), &ctx, &Resolutions::new());
        assert!(matches!(err, Err(RewriteError::Unsupported { .. })));
    }
}
