//! `rebranch rewrite` on files and directories of a work tree.

use std::path::Path;

use crate::support::{Sandbox, git, rebranch_in};

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q"]);
    for (path, text) in files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const WORKFLOW: &str = "name: Release\r\non:\r\n  push:\r\n    branches: [\"main\"]\r\njobs:\r\n  release:\r\n    runs-on: ubuntu-latest\r\n    steps:\r\n      - uses: actions/checkout@v4\r\n      - uses: helm/chart-releaser-action@v1.6.0\r\n        with:\r\n          charts_dir: charts   # the charts directory\r\n          pages_branch: 'charts'\r\n      - run: |\r\n          ct lint --chart-dirs charts\r\n          git push origin HEAD:charts";

#[test]
fn shows_the_diff_and_writes_only_with_write() {
    let dir = tree(&[(".github/workflows/release.yml", WORKFLOW)]);
    let home = dir.path();
    let run =
        rebranch_in(home, home, &["rewrite", "--branch", "charts=release", ".github"]).expect(0);
    assert!(run.stdout.contains("-          pages_branch: 'charts'"), "{}", run.stdout);
    assert!(run.stdout.contains("would rewrite 2 reference(s) in 1 file(s)"), "{}", run.stdout);
    let path = home.join(".github/workflows/release.yml");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), WORKFLOW, "nothing written");

    rebranch_in(home, home, &["rewrite", "--branch", "charts=release", "--write", ".github"])
        .expect(0);
    let expected = WORKFLOW
        .replace("pages_branch: 'charts'", "pages_branch: 'release'")
        .replace("HEAD:charts", "HEAD:release");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        expected,
        "CRLF, quotes, comments, no final newline kept"
    );
    let again =
        rebranch_in(home, home, &["rewrite", "--branch", "charts=release", ".github"]).expect(0);
    assert!(again.stdout.contains("would rewrite 0 reference(s)"), "{}", again.stdout);
}

#[test]
fn json_lists_every_occurrence_with_its_verdict() {
    let dir = tree(&[(".github/workflows/release.yml", WORKFLOW)]);
    let home = dir.path();
    let run = rebranch_in(
        home,
        home,
        &[
            "rewrite",
            "--branch",
            "charts=release",
            "--format",
            "json",
            ".github/workflows/release.yml",
        ],
    )
    .expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["format_version"], 1);
    let occ = doc["files"][0]["occurrences"].as_array().unwrap();
    let verdicts: Vec<(u64, u64, &str)> = occ
        .iter()
        .map(|o| {
            (
                o["line"].as_u64().unwrap(),
                o["column"].as_u64().unwrap(),
                o["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(verdicts.contains(&(13, 26, "rewrite")), "{verdicts:?}");
    assert!(verdicts.contains(&(12, 23, "keep")), "{verdicts:?}");
    assert!(verdicts.contains(&(15, 32, "keep")), "{verdicts:?}");
    assert_eq!(doc["files"][0]["path"], ".github/workflows/release.yml");
}

#[test]
fn broken_yaml_is_reported_with_its_position_and_left_untouched() {
    let broken = "on:\n  push:\n    branches: [charts\njobs: {}\n";
    let dir = tree(&[(".github/workflows/a.yml", broken), (".github/workflows/b.yml", WORKFLOW)]);
    let home = dir.path();
    let run =
        rebranch_in(home, home, &["rewrite", "--branch", "charts=release", "--write", ".github"])
            .expect(1);
    assert!(run.stderr.contains(".github/workflows/a.yml:"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(home.join(".github/workflows/a.yml")).unwrap(), broken);
}

#[test]
fn symlinks_are_never_followed() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("victim.yml");
    std::fs::write(&target, "on:\n  push:\n    branches: [charts]\n").unwrap();
    let dir = tree(&[]);
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::os::unix::fs::symlink(&target, wf.join("link.yml")).unwrap();
    let run = rebranch_in(
        dir.path(),
        dir.path(),
        &["rewrite", "--branch", "charts=release", "--write", ".github"],
    )
    .expect(0);
    assert!(run.stdout.contains("a symbolic link: not followed"), "{}", run.stdout);
    assert!(std::fs::read_to_string(&target).unwrap().contains("[charts]"));
    assert!(Path::new(&wf.join("link.yml")).is_symlink());
}

#[test]
fn shell_scripts_and_makefiles_are_rewritten_as_such() {
    let script = "#!/usr/bin/env bash\nset -euo pipefail\ngit clone --depth=1 --branch=gh-pages \"$REPO\" gh-pages\ncd gh-pages\ngit push origin HEAD:gh-pages\n";
    let make = "publish:\n\tgit worktree add \"$$dir\" gh-pages\n";
    let dir = tree(&[("hack/publish", script), ("Makefile", make), ("NOTES.txt", "gh-pages\n")]);
    let home = dir.path();
    let run = rebranch_in(home, home, &["rewrite", "--branch", "gh-pages=release", "--write", "."])
        .expect(0);
    assert!(run.stdout.contains("2 file(s) read"), "{}", run.stdout);
    let got = std::fs::read_to_string(home.join("hack/publish")).unwrap();
    assert_eq!(
        got,
        script
            .replace("--branch=gh-pages", "--branch=release")
            .replace("HEAD:gh-pages", "HEAD:release"),
        "the clone directory and `cd gh-pages` are paths"
    );
    let got = std::fs::read_to_string(home.join("Makefile")).unwrap();
    assert_eq!(got, make.replace("\" gh-pages", "\" release"));
}

#[test]
fn yaml_with_a_control_character_is_refused_and_left_as_it_is() {
    let bad = "on:\n  push:\n    branches: [charts]\u{0}\n";
    let dir = tree(&[(".github/workflows/a.yml", bad)]);
    let home = dir.path();
    let run =
        rebranch_in(home, home, &["rewrite", "--branch", "charts=release", "--write", ".github"])
            .expect(1);
    assert!(
        run.stderr.contains(".github/workflows/a.yml:3:23: control character U+0000"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(home.join(".github/workflows/a.yml")).unwrap(), bad);
}

/// Pushes these files to main from a teammate's clone and pulls them into the sandbox.
fn push_on_main(s: &Sandbox, files: &[(&str, &str)]) {
    let mate = s.teammate();
    for (path, text) in files {
        let full = mate.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(&full, text).unwrap();
        git(&mate, &["add", path]);
    }
    git(&mate, &["commit", "-q", "-m", "teammate: scripts"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    git(&s.clone, &["pull", "-q", "--ff-only"]);
}

const SCRIPT: &str =
    "#!/bin/sh\nset -e\nhelm package charts/* -d out\ncd charts\ngit push origin HEAD:charts\n";
const MAKEFILE: &str = "publish:\n\tgit push $(REMOTE) HEAD:charts\n";
const NOTES: &str = "Releases go to the charts branch.\n";
/// A chart template: YAML only after Helm renders it, so it does not parse as it is.
const TEMPLATE: &str = "{{- if .Values.charts }}\nkind: ConfigMap\n{{- end }}\n";

#[test]
fn the_plan_covers_scripts_anywhere_and_lists_what_it_does_not_read() {
    let s = Sandbox::new();
    push_on_main(
        &s,
        &[
            ("hack/publish", SCRIPT),
            ("build/release.mk", MAKEFILE),
            ("docs/notes.txt", NOTES),
            ("charts/app/templates/cm.yaml", TEMPLATE),
        ],
    );
    let run = s.rebranch(&["plan", "--format", "json"]).expect(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let ci = doc["actions"].as_array().unwrap().iter().find(|a| a["kind"] == "ci_commit").unwrap();
    let content = |path: &str| {
        let files = ci["files"].as_array().unwrap();
        let file = files.iter().find(|f| f["path"] == path);
        file.map(|f| f["content"].as_str().unwrap().to_string())
    };
    assert_eq!(
        content("hack/publish").as_deref(),
        Some(SCRIPT.replace("HEAD:charts", "HEAD:release").as_str())
    );
    assert_eq!(
        content("build/release.mk").as_deref(),
        Some(MAKEFILE.replace("HEAD:charts", "HEAD:release").as_str())
    );
    let uncovered: Vec<(String, u64, String)> = doc["not_covered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["path"].as_str().unwrap().to_string(),
                u["line"].as_u64().unwrap(),
                u["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let find = |path: &str| uncovered.iter().find(|u| u.0 == path).cloned();
    let notes = find("docs/notes.txt").expect("the notes are listed");
    assert_eq!((notes.1, notes.2.as_str()), (1, "not a kind of file the rewriter understands"));
    let template = find("charts/app/templates/cm.yaml").expect("the template is listed");
    assert_eq!(template.1, 1);
    assert!(template.2.starts_with("does not parse as YAML"), "{template:?}");
    assert!(find("hack/publish").is_none() && find("build/release.mk").is_none());

    let text = s.rebranch(&["plan"]).expect(0);
    assert!(text.stdout.contains("not covered: docs/notes.txt:1"), "{}", text.stdout);
}

#[test]
fn a_plan_file_narrows_the_scope_and_says_what_it_leaves_out() {
    let s = Sandbox::new();
    push_on_main(&s, &[("hack/publish", SCRIPT)]);
    let narrow = rebranch::spec::BUILTIN_ADR_002.replacen(
        "files = [\"**\"]",
        "files = [\".github/workflows/*.yml\", \"cr.yaml\"]",
        1,
    );
    assert_ne!(narrow, rebranch::spec::BUILTIN_ADR_002);
    let plan = s.dir.path().join("narrow.toml");
    std::fs::write(&plan, narrow).unwrap();
    let run = s.rebranch(&["plan", "--plan", plan.to_str().unwrap()]).expect(0);
    assert!(
        run.stdout.contains("not covered: hack/publish:5  outside the plan's [rewrite] files"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("+++ b/hack/publish"), "{}", run.stdout);
}

#[test]
fn a_chart_template_found_in_a_directory_is_listed_not_refused() {
    let template = "{{- if .Values.pages }}\nbranch: gh-pages\n{{- end }}\n";
    let quiet = "{{- if .Values.x }}\nkind: ConfigMap\n{{- end }}\n";
    let dir =
        tree(&[("charts/app/templates/a.yaml", template), ("charts/app/templates/b.yaml", quiet)]);
    let home = dir.path();
    let run =
        rebranch_in(home, home, &["rewrite", "--branch", "gh-pages=release", "charts"]).expect(0);
    assert!(
        run.stdout.contains("not covered: charts/app/templates/a.yaml:2  does not parse as YAML"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("b.yaml"), "nothing to cover in b.yaml: {}", run.stdout);
    // Named on the command line, the same file is an error: the user asked for it.
    rebranch_in(
        home,
        home,
        &["rewrite", "--branch", "gh-pages=release", "charts/app/templates/a.yaml"],
    )
    .expect(1);
}

#[test]
fn files_the_rewriter_cannot_read_are_listed_unless_they_are_ci_files() {
    let s = Sandbox::new();
    let big = format!("# charts branch mirror\n{}", "x: y\n".repeat(1_300_000));
    push_on_main(&s, &[("charts/app/crds/big.yaml", &big)]);
    let mate = s.teammate();
    // Latin-1, not UTF-8: "# café charts".
    std::fs::write(mate.join("charts/app/values.yaml"), b"# caf\xe9 charts\n").unwrap();
    git(&mate, &["add", "charts/app/values.yaml"]);
    git(&mate, &["commit", "-q", "-m", "latin-1"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    git(&s.clone, &["pull", "-q", "--ff-only"]);
    let run = s.rebranch(&["plan"]).expect(0);
    assert!(
        run.stdout.contains(
            "not covered: charts/app/crds/big.yaml:1  over the size limit for files the rewriter reads"
        ),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("not covered: charts/app/values.yaml:1  not UTF-8 text"),
        "{}",
        run.stdout
    );
}
