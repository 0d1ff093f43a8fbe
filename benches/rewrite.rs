//! The CI rewriter over a whole corpus beside its floor: yaml-rust2 parsing the same bytes
//! alone (its event parser, every event pulled, nothing built). A second floor adds what
//! the rewriter's verification cannot avoid: parsing each changed file's new text once more
//! (the rewritten texts are made before the measurement).
//!
//! The corpus is the YAML files listed in `$REBRANCH_BENCH_CORPUS/ci-files.txt`, read from
//! `$REBRANCH_BENCH_CORPUS/clone/` (what `benches/gen.py` writes); without the variable,
//! the demo sample's YAML files. `REBRANCH_BENCH_ONCE=rewrite|parse|reparse|load` runs one pass of
//! one side (or only loads the corpus and makes the new texts) and exits, for instruction counts under
//! `valgrind --tool=callgrind`.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput};
use rebranch::rewrite::{self, BranchMap, RepoContext, Resolutions};
use yaml_rust2::parser::{Event, Parser};

fn corpus() -> Vec<(String, String)> {
    let yaml = |p: &str| p.ends_with(".yml") || p.ends_with(".yaml");
    match std::env::var_os("REBRANCH_BENCH_CORPUS") {
        Some(dir) => {
            let dir = Path::new(&dir);
            let list = std::fs::read_to_string(dir.join("ci-files.txt")).expect("ci-files.txt");
            list.lines()
                .filter(|p| yaml(p))
                .map(|p| {
                    let text = std::fs::read_to_string(dir.join("clone").join(p)).expect("file");
                    (p.to_string(), text)
                })
                .collect()
        }
        None => rebranch::demo::files("main")
            .into_iter()
            .filter(|(p, _)| yaml(p))
            .map(|(p, b)| (p.to_string(), String::from_utf8_lossy(b).into_owned()))
            .collect(),
    }
}

fn rewrite_all(files: &[(String, String)], map: &BranchMap, ctx: &RepoContext) -> usize {
    let none = Resolutions::new();
    let mut changed = 0;
    for (path, text) in files {
        let out = rewrite::rewrite_file(path, text, map, ctx, &none).expect("rewrites");
        changed += usize::from(out.changed());
        black_box(out);
    }
    changed
}

fn parse_all(files: &[(String, String)]) -> usize {
    let mut events = 0;
    for (_, text) in files {
        let mut parser = Parser::new_from_str(text);
        loop {
            let (ev, mark) = parser.next_token().expect("parses");
            events += 1;
            let end = ev == Event::StreamEnd;
            black_box((ev, mark));
            if end {
                break;
            }
        }
    }
    events
}

/// The changed files' rewritten texts, as the rewriter makes them.
fn rewritten(
    files: &[(String, String)],
    map: &BranchMap,
    ctx: &RepoContext,
) -> Vec<(String, String)> {
    let none = Resolutions::new();
    files
        .iter()
        .filter_map(|(path, text)| {
            let out = rewrite::rewrite_file(path, text, map, ctx, &none).expect("rewrites");
            out.changed().then(|| (path.clone(), out.rewritten))
        })
        .collect()
}

fn main() {
    let files = corpus();
    let map = BranchMap::parse_pairs(&["charts=release"]).expect("map");
    let ctx = RepoContext { slug: Some("acme/helm-charts".into()), main_branch: "main".into() };
    let bytes: usize = files.iter().map(|(_, t)| t.len()).sum();
    let changed = rewritten(&files, &map, &ctx);
    match std::env::var("REBRANCH_BENCH_ONCE").as_deref() {
        Ok("rewrite") => {
            let changed = rewrite_all(&files, &map, &ctx);
            println!("rewrite: {} files, {bytes} bytes, {changed} changed", files.len());
            return;
        }
        Ok("load") => {
            println!("load: {} files, {bytes} bytes", files.len());
            return;
        }
        Ok("reparse") => {
            let events = parse_all(&files) + parse_all(&changed);
            println!("reparse: {} + {} files, {events} events", files.len(), changed.len());
            return;
        }
        Ok("parse") => {
            let events = parse_all(&files);
            println!("parse: {} files, {bytes} bytes, {events} events", files.len());
            return;
        }
        _ => {}
    }
    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("corpus");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("yaml_parse_only", |b| b.iter(|| parse_all(black_box(&files))));
    group.bench_function("yaml_parse_and_reparse_changed", |b| {
        b.iter(|| parse_all(black_box(&files)) + parse_all(black_box(&changed)))
    });
    group.bench_function("rewrite", |b| b.iter(|| rewrite_all(black_box(&files), &map, &ctx)));
    group.finish();
    c.final_summary();
}
