//! Runs the fixture corpus under `fixtures/rewrite/`: each case's output must equal its
//! `expected.*` byte for byte, its verdicts must equal the listed ones, and a second run
//! must change nothing. Also scores the classifier's `rewrite` verdicts, and a naive
//! `sed 's/\bcharts\b/release/g'`, against the expected verdicts.
//!
//! `REBRANCH_BLESS=1 cargo test corpus` rewrites `expected.*` and the verdict lists from
//! the current output, for review in the diff.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, value};

use super::{BranchMap, RepoContext, Resolutions, Verdict, rewrite_file, words};

struct Case {
    dir: PathBuf,
    path: String,
    map: BranchMap,
    ctx: RepoContext,
    input: String,
    input_name: String,
    expected: Option<String>,
    verdicts: Vec<(usize, usize, Verdict)>,
    resolutions: Resolutions,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rewrite")
}

fn load_cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("fixtures/rewrite exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("case.toml").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().map(|d| load_case(&d)).collect()
}

fn file_with_prefix(dir: &Path, prefix: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix)))
        .collect();
    found.sort();
    found.into_iter().next()
}

fn load_case(dir: &Path) -> Case {
    let spec = std::fs::read_to_string(dir.join("case.toml")).expect("case.toml readable");
    let doc: DocumentMut = spec.parse().expect("case.toml parses");
    let get = |k: &str| doc.get(k).and_then(Item::as_str).map(str::to_string);
    let pairs: Vec<String> = doc
        .get("branches")
        .and_then(Item::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_else(|| vec!["charts=release".to_string()]);
    let input_path = file_with_prefix(dir, "input.").expect("input file");
    let input = std::fs::read_to_string(&input_path).expect("input readable");
    let expected = file_with_prefix(dir, "expected.")
        .map(|p| std::fs::read_to_string(p).expect("expected readable"));
    let mut resolutions = Resolutions::new();
    let path = get("path").expect("case.toml has path");
    for r in doc.get("resolve").and_then(Item::as_array).into_iter().flat_map(|a| a.iter()) {
        let t = r.as_inline_table().expect("resolve entries are tables");
        let line = t.get("line").and_then(|v| v.as_integer()).expect("line") as usize;
        let verdict = parse_verdict(t.get("verdict").and_then(|v| v.as_str()).expect("verdict"));
        let column = t.get("column").and_then(|v| v.as_integer()).unwrap_or(0) as usize;
        resolutions.insert((path.clone(), line, column), verdict);
    }
    Case {
        dir: dir.to_path_buf(),
        map: BranchMap::parse_pairs(&pairs).expect("valid branch map"),
        ctx: RepoContext {
            slug: get("slug"),
            main_branch: get("main").unwrap_or_else(|| "main".into()),
        },
        input,
        input_name: input_path.file_name().and_then(|n| n.to_str()).unwrap_or("input").to_string(),
        expected,
        verdicts: parse_verdicts(&doc),
        resolutions,
        path,
    }
}

fn parse_verdict(s: &str) -> Verdict {
    match s {
        "rewrite" => Verdict::Rewrite,
        "keep" => Verdict::Keep,
        "review" => Verdict::Review,
        other => panic!("unknown verdict {other}"),
    }
}

fn parse_verdicts(doc: &DocumentMut) -> Vec<(usize, usize, Verdict)> {
    let Some(arr) = doc.get("occurrences").and_then(Item::as_array) else {
        return Vec::new();
    };
    arr.iter()
        .map(|v| {
            let t = v.as_inline_table().expect("occurrence is an inline table");
            let n = |k: &str| t.get(k).and_then(|x| x.as_integer()).expect("integer") as usize;
            (
                n("line"),
                n("column"),
                parse_verdict(t.get("verdict").and_then(|x| x.as_str()).expect("verdict")),
            )
        })
        .collect()
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Rewrite => "rewrite",
        Verdict::Keep => "keep",
        Verdict::Review => "review",
    }
}

fn bless(case: &Case, out: &super::FileRewrite) {
    let spec_path = case.dir.join("case.toml");
    let spec = std::fs::read_to_string(&spec_path).expect("readable");
    let mut doc: DocumentMut = spec.parse().expect("parses");
    let mut arr = toml_edit::Array::new();
    for o in &out.occurrences {
        let mut t = toml_edit::InlineTable::new();
        t.insert("line", (o.line as i64).into());
        t.insert("column", (o.column as i64).into());
        t.insert("verdict", verdict_name(o.verdict).into());
        t.decor_mut().set_prefix("\n  ");
        arr.push(t);
    }
    arr.set_trailing("\n");
    arr.set_trailing_comma(true);
    doc["occurrences"] = value(arr);
    std::fs::write(&spec_path, doc.to_string()).expect("write case.toml");
    let ext = case.input_name.trim_start_matches("input.");
    std::fs::write(case.dir.join(format!("expected.{ext}")), &out.rewritten)
        .expect("write expected");
}

#[test]
fn corpus_cases() {
    let cases = load_cases();
    assert!(cases.len() >= 40, "the corpus has {} cases, wants at least 40", cases.len());
    let blessing = std::env::var_os("REBRANCH_BLESS").is_some();
    let mut failures = Vec::new();
    for case in &cases {
        let name = case.dir.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let out =
            match rewrite_file(&case.path, &case.input, &case.map, &case.ctx, &case.resolutions) {
                Ok(out) => out,
                Err(e) => {
                    failures.push(format!("{name}: error {e}"));
                    continue;
                }
            };
        if blessing {
            bless(case, &out);
            continue;
        }
        if case.expected.as_deref() != Some(out.rewritten.as_str()) {
            failures.push(format!("{name}: output differs:\n{}", out.unified_diff()));
        }
        let got: Vec<(usize, usize, Verdict)> =
            out.occurrences.iter().map(|o| (o.line, o.column, o.verdict)).collect();
        if got != case.verdicts {
            failures
                .push(format!("{name}: verdicts differ:\n got {got:?}\nwant {:?}", case.verdicts));
        }
        let again =
            rewrite_file(&case.path, &out.rewritten, &case.map, &case.ctx, &Resolutions::new());
        match again {
            Ok(again) if again.rewritten == out.rewritten => {}
            Ok(again) => {
                failures.push(format!("{name}: not idempotent:\n{}", again.unified_diff()))
            }
            Err(e) => failures.push(format!("{name}: second run failed: {e}")),
        }
    }
    assert!(failures.is_empty(), "{} corpus failures:\n{}", failures.len(), failures.join("\n"));
}

/// Occurrence keys `(case, line, column)`.
type Keys = BTreeSet<(String, usize, usize)>;

fn naive_sed(name: &str, text: &str, old: &str) -> Keys {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut lines = words::LineCursor::new(text);
    text.match_indices(old)
        .filter(|&(i, _)| {
            !text[..i].chars().next_back().is_some_and(is_word)
                && !text[i + old.len()..].chars().next().is_some_and(is_word)
        })
        .map(|(i, _)| {
            let (l, c) = lines.line_col(i);
            (name.to_string(), l, c)
        })
        .collect()
}

fn score(predicted: &Keys, expected: &Keys) -> (f64, f64, usize, usize) {
    let tp = predicted.intersection(expected).count();
    let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
    (
        ratio(tp, predicted.len()),
        ratio(tp, expected.len()),
        predicted.len() - tp,
        expected.len() - tp,
    )
}

#[test]
fn corpus_scores() {
    let cases = load_cases();
    let (mut expected, mut classifier, mut sed) = (Keys::new(), Keys::new(), Keys::new());
    let (mut occurrences, mut reviews, mut insertions) = (0, 0, 0);
    for case in &cases {
        let name = case.dir.display().to_string();
        for &(l, c, v) in &case.verdicts {
            if v == Verdict::Rewrite {
                expected.insert((name.clone(), l, c));
            }
        }
        let out = rewrite_file(&case.path, &case.input, &case.map, &case.ctx, &case.resolutions);
        if let Ok(out) = out {
            occurrences += out.occurrences.len();
            reviews += out.reviews().count();
            insertions += out.notes.len();
            for o in out.occurrences.iter().filter(|o| o.verdict == Verdict::Rewrite) {
                classifier.insert((name.clone(), o.line, o.column));
            }
        }
        for (old, _) in case.map.pairs() {
            sed.extend(naive_sed(&name, &case.input, old));
        }
    }
    let (cp, cr, cfp, cfn) = score(&classifier, &expected);
    let (sp, sr, sfp, sfn) = score(&sed, &expected);
    println!(
        "corpus: {} cases, {occurrences} occurrences, {} expected rewrites, {reviews} reviews, {insertions} implicit-default notes",
        cases.len(),
        expected.len()
    );
    println!("classifier: precision {cp:.3} recall {cr:.3} (false rewrites {cfp}, missed {cfn})");
    println!("naive sed:  precision {sp:.3} recall {sr:.3} (false rewrites {sfp}, missed {sfn})");
    assert!(cp >= 0.99 && cr >= 0.99, "classifier precision {cp} recall {cr}");
}

/// Prints every occurrence with its verdict, context and reason, and every diff, for
/// reviewing the corpus: `cargo test corpus_dump -- --ignored --nocapture`.
#[test]
#[ignore]
fn corpus_dump() {
    for case in load_cases() {
        println!("=== {} ({})", case.dir.display(), case.path);
        match rewrite_file(&case.path, &case.input, &case.map, &case.ctx, &case.resolutions) {
            Ok(out) => {
                let lines: Vec<&str> = case.input.lines().collect();
                for o in &out.occurrences {
                    let text = lines.get(o.line - 1).copied().unwrap_or("").trim();
                    println!(
                        "{:>3}:{:<3} {:<7} {:<45} | {} | {}",
                        o.line,
                        o.column,
                        verdict_name(o.verdict),
                        o.context,
                        o.reason,
                        text
                    );
                }
                for n in &out.notes {
                    println!("note: {n}");
                }
                print!("{}", out.unified_diff());
            }
            Err(e) => println!("ERROR {e}"),
        }
    }
}
