//! Property tests: for workflow-like documents, shell scripts and Makefiles built from
//! grammars of real fragments, and for arbitrary strings, `rewrite_file` never panics; when
//! it succeeds, the output parses, bytes outside the rewritten spans are unchanged, and a
//! second run changes nothing.

use proptest::prelude::*;

use super::{BranchMap, FileRewrite, RepoContext, Resolutions, Verdict, fuzz_one, rewrite_file};

const KEYS: &[&str] = &[
    "on",
    "push",
    "pull_request",
    "branches",
    "branches-ignore",
    "paths",
    "jobs",
    "charts",
    "steps",
    "run",
    "uses",
    "with",
    "ref",
    "pages_branch",
    "charts_dir",
    "env",
    "PAGES_BRANCH",
    "if",
    "name",
    "script",
    "only",
    "except",
    "variables",
    "target-branch",
    "rules",
    "command",
    "default",
    "inputs",
    "branch",
];

const SCALARS: &[&str] = &[
    "charts",
    "'charts'",
    "\"charts\"",
    "charts/**",
    "origin/charts",
    "refs/heads/charts",
    "\"git push origin HEAD:charts\"",
    "git fetch origin charts && cd charts",
    "./charts",
    "helm/chart-releaser-action@v1.6.0",
    "actions/checkout@v4",
    "acme/x@charts",
    "main",
    "github.ref == 'refs/heads/charts'",
    "'$CI_COMMIT_BRANCH == \"charts\"'",
    "[charts, main]",
    "['charts', \"gh-pages\"]",
    "{a: charts}",
    "&anc charts",
    "*anc",
    "https://charts.example.com",
    "https://raw.githubusercontent.com/acme/helm/charts/index.yaml",
    "gh-pages",
    "ü charts ✓",
    "cr index --push",
    "charts # the charts branch",
    "",
];

const BLOCKS: &[&str] = &[
    "|\n{i}  git push origin HEAD:charts\n{i}  helm lint charts/*",
    ">-\n{i}  cr index --pages-branch charts\n{i}  --push",
    "|\n{i}  if [ \"$GITHUB_REF_NAME\" = \"charts\" ]; then\n{i}  \techo \"on charts branch\"\n{i}  fi",
];

fn value(depth: u32) -> BoxedStrategy<String> {
    let leaf = prop_oneof![
        4 => prop::sample::select(SCALARS).prop_map(str::to_string),
        1 => prop::sample::select(BLOCKS).prop_map(|b| format!("@BLOCK@{b}")),
    ];
    if depth == 0 {
        return leaf.boxed();
    }
    prop_oneof![
        3 => leaf,
        1 => prop::collection::vec((prop::sample::select(KEYS), value(depth - 1)), 1..4)
            .prop_map(|pairs| format!("@MAP@{}", encode(&pairs))),
        1 => prop::collection::vec(value(depth - 1), 1..3)
            .prop_map(|items| format!("@SEQ@{}", items.join("\u{1}"))),
    ]
    .boxed()
}

fn encode(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}\u{2}{v}")).collect::<Vec<_>>().join("\u{3}")
}

/// Renders the encoded tree as block YAML at `indent`.
fn render(encoded: &str, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    if let Some(map) = encoded.strip_prefix("@MAP@") {
        for pair in map.split('\u{3}') {
            let (k, v) = pair.split_once('\u{2}').unwrap_or((pair, ""));
            out.push_str(&format!("{pad}{k}:"));
            render_value(v, indent, out);
        }
    } else if let Some(seq) = encoded.strip_prefix("@SEQ@") {
        for item in seq.split('\u{1}') {
            out.push_str(&format!("{pad}-"));
            render_value(item, indent, out);
        }
    }
}

fn render_value(v: &str, indent: usize, out: &mut String) {
    if v.starts_with("@MAP@") || v.starts_with("@SEQ@") {
        out.push('\n');
        render(v, indent + 2, out);
    } else if let Some(block) = v.strip_prefix("@BLOCK@") {
        out.push(' ');
        out.push_str(&block.replace("{i}", &" ".repeat(indent)));
        out.push('\n');
    } else {
        out.push(' ');
        out.push_str(v);
        out.push('\n');
    }
}

fn document() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((prop::sample::select(KEYS), value(3)), 1..6),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(prop::sample::select(&["# charts branch ✓\n", "---\n", "# ü\n"][..])),
    )
        .prop_map(|(pairs, crlf, trim_end, head)| {
            let mut out = head.unwrap_or("").to_string();
            render(&format!("@MAP@{}", encode(&pairs)), 0, &mut out);
            if trim_end {
                out.pop();
            }
            if crlf { out.replace('\n', "\r\n") } else { out }
        })
}

/// Shell lines of real publishing scripts, with the traps next to the references.
const SHELL_LINES: &[&str] = &[
    "git push origin HEAD:charts",
    "git push origin charts --force-with-lease=charts:\"${sha}\"",
    "git clone --depth=1 --branch=charts \"$url\" charts",
    "git worktree add \"$dir\" charts",
    "git fetch origin charts:charts && git checkout -B charts \"$REMOTE/charts\"",
    "cd charts && mkdir -p charts/app",
    "PAGES_BRANCH=\"${1:-charts}\"",
    "publish() {\n  git push \"$REMOTE\" gh-pages\n}",
    "cat <<EOF\npushed to the charts branch\nEOF",
    "cat <<-'X'\n\tgit push origin charts\n\tX",
    "case \"$BRANCH\" in\n  charts) echo yes ;;\nesac",
    "helm package charts/* \\\n  -d out",
    "cr index --push",
    "echo \"$(git rev-parse origin/charts)\"",
    "# the charts branch ✓",
    "BRANCHES=(main charts)",
    "if [ \"$(git rev-parse --abbrev-ref HEAD)\" = \"charts\" ]; then :; fi",
    "'unterminated charts",
    "\"half $(charts",
    "<<",
    "",
];

/// A script of real lines, optionally as the recipe of a Makefile rule.
fn script() -> impl Strategy<Value = (String, bool)> {
    (prop::collection::vec(prop::sample::select(SHELL_LINES), 1..8), any::<bool>(), any::<bool>())
        .prop_map(|(lines, make, crlf)| {
            let body = if make {
                let recipe: Vec<String> =
                    lines.iter().map(|l| format!("\t{}", l.replace('\n', "\n\t"))).collect();
                format!("PAGES_BRANCH ?= charts\ncharts: build\n{}\n", recipe.join("\n"))
            } else {
                format!("#!/bin/sh\n{}\n", lines.join("\n"))
            };
            (if crlf { body.replace('\n', "\r\n") } else { body }, make)
        })
}

fn maps() -> Vec<BranchMap> {
    ["charts=release", "gh-pages=release"]
        .iter()
        .filter_map(|p| BranchMap::parse_pairs(&[*p]).ok())
        .collect()
}

fn ctx() -> RepoContext {
    RepoContext { slug: Some("acme/helm".into()), main_branch: "main".into() }
}

/// Bytes outside the rewritten spans (and outside insertions) are unchanged.
fn check_outside_spans(out: &FileRewrite) -> Result<(), TestCaseError> {
    let mut rebuilt = String::new();
    let mut at = 0;
    for o in out.occurrences.iter().filter(|o| o.verdict == Verdict::Rewrite) {
        prop_assert_eq!(&out.original[o.span.clone()], o.old.as_str());
        rebuilt.push_str(&out.original[at..o.span.start]);
        rebuilt.push_str(&o.new);
        at = o.span.end;
    }
    rebuilt.push_str(&out.original[at..]);
    if out.notes.is_empty() {
        prop_assert_eq!(&rebuilt, &out.rewritten);
    } else {
        // A note may come with an insertion (an explicit setting for an implicit default)
        // or alone (a layout the rewriter does not edit): the rest is kept either way.
        prop_assert!(
            only_insertions(&rebuilt, &out.rewritten),
            "beyond insertions: {:?}",
            out.rewritten
        );
    }
    Ok(())
}

/// Whether `with` is `base` with text inserted: every character of `base`, in order.
fn only_insertions(base: &str, with: &str) -> bool {
    let mut rest = with.chars();
    base.chars().all(|c| rest.any(|d| d == c))
}

fn check(path: &str, text: &str) -> Result<(), TestCaseError> {
    for map in maps() {
        let Ok(out) = rewrite_file(path, text, &map, &ctx(), &Resolutions::new()) else {
            continue;
        };
        check_outside_spans(&out)?;
        let again = rewrite_file(path, &out.rewritten, &map, &ctx(), &Resolutions::new());
        let again =
            again.map_err(|e| TestCaseError::fail(format!("output does not re-parse: {e}")))?;
        prop_assert_eq!(&again.rewritten, &out.rewritten, "second run changed the output");
    }
    Ok(())
}

proptest! {
    // Failures are not persisted: the regressions file would land outside src/rewrite.
    #![proptest_config(ProptestConfig {
        cases: 400,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn workflow_fragments(doc in document()) {
        check(".github/workflows/gen.yml", &doc)?;
        check(".gitlab-ci.yml", &doc)?;
        check("cr.yaml", &doc)?;
    }

    #[test]
    fn scripts_and_makefiles((text, make) in script()) {
        check(if make { "build/release.mk" } else { "hack/publish.sh" }, &text)?;
    }

    #[test]
    fn arbitrary_strings(text in "\\PC{0,200}") {
        let paths = [
            ".github/workflows/a.yml",
            "netlify.toml",
            "renovate.json5",
            ".gitlab-ci.yml",
            "hack/a.sh",
            "Makefile",
        ];
        for path in paths {
            check(path, &text)?;
        }
        fuzz_one(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_near_yaml(text in "[ \\-:#'\"\\[\\]{}|>&*!\\n\\tacrhts/]{0,120}") {
        check(".github/workflows/a.yml", &text)?;
    }
}

#[test]
fn a_note_without_an_insertion_keeps_the_text() {
    let text = "with: charts\nuses: helm/chart-releaser-action@v1.6.0\n";
    let map = BranchMap::parse_pairs(&["gh-pages=release"]).expect("valid");
    let out = rewrite_file(".github/workflows/gen.yml", text, &map, &ctx(), &Resolutions::new())
        .expect("ok");
    assert_eq!(out.rewritten, text);
    assert_eq!(out.notes.len(), 1, "{:?}", out.notes);
    check(".github/workflows/gen.yml", text).expect("the properties hold");
}

#[test]
fn deep_and_huge_inputs_do_not_panic() {
    let map = BranchMap::parse_pairs(&["charts=release"]).expect("valid");
    let deep = format!("{}charts{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = rewrite_file("a.yml", &deep, &map, &ctx(), &Resolutions::new());
    assert!(err.is_err());
    let nested: String = "# charts\n".to_string()
        + &(0..2000).map(|i| format!("{}k:\n", " ".repeat(i))).collect::<String>();
    assert!(rewrite_file("a.yml", &nested, &map, &ctx(), &Resolutions::new()).is_err());
    let wide = "- charts\n".repeat(50_000);
    let out = rewrite_file("a.yml", &wide, &map, &ctx(), &Resolutions::new()).expect("ok");
    assert_eq!(out.occurrences.len(), 50_000);
}

/// The grammar must mostly produce valid YAML, or the properties above test little.
#[test]
fn grammar_mostly_parses() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = document();
    let map = BranchMap::parse_pairs(&["charts=release"]).expect("valid");
    let (mut ok, mut changed, total) = (0, 0, 300);
    for _ in 0..total {
        let doc = strategy.new_tree(&mut runner).expect("tree").current();
        if let Ok(out) =
            rewrite_file(".github/workflows/g.yml", &doc, &map, &ctx(), &Resolutions::new())
        {
            ok += 1;
            changed += usize::from(out.changed());
        }
    }
    assert!(ok * 2 > total, "only {ok} of {total} generated documents parse");
    assert!(changed * 5 > total, "only {changed} of {total} generated documents change");
}

/// The script grammar must produce scripts the rewriter reads and changes, or the property
/// above tests little.
#[test]
fn script_grammar_mostly_rewrites() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = script();
    let map = BranchMap::parse_pairs(&["charts=release"]).expect("valid");
    let (mut changed, total) = (0, 300);
    for _ in 0..total {
        let (text, make) = strategy.new_tree(&mut runner).expect("tree").current();
        let path = if make { "build/release.mk" } else { "hack/publish.sh" };
        let out = rewrite_file(path, &text, &map, &ctx(), &Resolutions::new()).expect("reads");
        changed += usize::from(out.changed());
    }
    assert!(changed * 2 > total, "only {changed} of {total} generated scripts change");
}
