//! Hostile and broken input, as a table: each case sets up its bad input, runs one command,
//! and must get one clear `error:` line naming the thing (or, for input that is skipped
//! rather than refused, a warning naming it), the documented exit code, and no change at
//! all: every ref of the origin and the clone (git CLI), the clone's files, the Pages
//! project on the stand-in.

use crate::support::git;
use crate::world::{ACCOUNT, EXPIRED_TOKEN, TOKEN, World};

/// What a case expects.
struct Case {
    name: &'static str,
    /// Prepares the bad input; returns the command's arguments.
    setup: fn(&World) -> Vec<String>,
    /// Environment on top of the world's (`CLOUDFLARE_*`).
    env: &'static [(&'static str, &'static str)],
    code: i32,
    /// Every one of these must be in stderr (or stdout for exit 0).
    needles: &'static [&'static str],
}

/// Commits `files` (path → bytes, or a symlink target with `link:`) on main and pushes it,
/// as a teammate would have before the migration.
fn push_on_main(w: &World, files: &[(&str, Vec<u8>)]) {
    let mate = w.s.teammate();
    for (path, bytes) in files {
        let full = mate.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        match bytes.strip_prefix(b"link:") {
            Some(target) => {
                std::os::unix::fs::symlink(std::str::from_utf8(target).unwrap(), &full).unwrap()
            }
            None => std::fs::write(&full, bytes).unwrap(),
        }
        git(&mate, &["add", path]);
    }
    git(&mate, &["commit", "-q", "-m", "teammate: CI files"]);
    git(&mate, &["push", "-q", "origin", "main"]);
    git(&w.s.clone, &["pull", "-q", "--ff-only"]);
}

fn plan_file(w: &World, name: &str, text: &str) -> String {
    let path = w.s.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn builtin_with(from: &str, to: &str) -> String {
    assert!(rebranch::spec::BUILTIN_ADR_002.contains(from), "the built-in plan has {from}");
    rebranch::spec::BUILTIN_ADR_002.replacen(from, to, 1)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// A saved plan, written by `rebranch plan --out`, then changed by `edit`.
fn saved_plan(w: &World, edit: impl FnOnce(&mut serde_json::Value)) -> Vec<String> {
    let path = w.s.dir.path().join("plan.json");
    w.run(&["plan", "--out", path.to_str().unwrap()], &[]).expect(0);
    let mut doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut doc);
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    args(&["apply", path.to_str().unwrap()])
}

fn journal(w: &World, text: &str) -> Vec<String> {
    let dir = w.s.clone.join(".git/rebranch/journal");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("20990101T000000Z-1.jsonl"), text).unwrap();
    args(&["apply", "--yes"])
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "YAML alias bomb (billion laughs)",
            setup: |w| {
                let mut y = String::from("name: lol\non:\n  push:\n    branches: [charts]\n");
                y.push_str("x0: &a0 [charts, charts, charts, charts, charts, charts, charts, charts, charts]\n");
                for i in 1..10 {
                    let p = i - 1;
                    y.push_str(&format!(
                        "x{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
                    ));
                }
                push_on_main(w, &[(".github/workflows/bomb.yml", y.into_bytes())]);
                args(&["plan"])
            },
            env: &[],
            // Aliases are never expanded: the plan is made at once, the anchored words
            // (unknown places) are left for review.
            code: 0,
            needles: &[".github/workflows/bomb.yml"],
        },
        Case {
            name: "deeply nested YAML",
            setup: |w| {
                let y = format!("on: {}charts{}\n", "[".repeat(5000), "]".repeat(5000));
                push_on_main(w, &[(".github/workflows/deep.yml", y.into_bytes())]);
                args(&["plan"])
            },
            env: &[],
            code: 1,
            needles: &[
                ".github/workflows/deep.yml",
                "recursion limit exceeded",
                "nothing was changed",
            ],
        },
        Case {
            name: "a 50 MB workflow file",
            setup: |w| {
                let line = "# padding padding padding padding padding padding padding padding\n";
                let mut y = String::with_capacity(50 * 1024 * 1024 + 100);
                y.push_str("on:\n  push:\n    branches: [charts]\n");
                while y.len() < 50 * 1024 * 1024 {
                    y.push_str(line);
                }
                push_on_main(w, &[(".github/workflows/huge.yml", y.into_bytes())]);
                args(&["plan"])
            },
            env: &[],
            code: 1,
            needles: &[".github/workflows/huge.yml", "byte limit"],
        },
        Case {
            name: "invalid UTF-8 in a workflow",
            setup: |w| {
                let mut y = b"on:\n  push:\n    branches: [charts]\n# caf".to_vec();
                y.extend([0xC3, 0x28, 0xFF, b'\n']);
                push_on_main(w, &[(".github/workflows/latin1.yml", y)]);
                args(&["plan"])
            },
            env: &[],
            code: 1,
            needles: &[".github/workflows/latin1.yml", "UTF-8"],
        },
        Case {
            name: "a workflow that is a symlink pointing outside the repository",
            setup: |w| {
                let target = b"link:../../../../../../etc/passwd".to_vec();
                push_on_main(w, &[(".github/workflows/evil.yml", target)]);
                args(&["plan"])
            },
            env: &[],
            // Only regular files are read and rewritten: the link is skipped, and said so.
            code: 0,
            needles: &["origin/main", ".github/workflows/evil.yml on `main` is a symbolic link"],
        },
        Case {
            name: "branch name `-f`",
            setup: |_| args(&["apply", "--yes", "--set", "to=-f"]),
            env: &[],
            code: 1,
            needles: &["`-f` is not a valid git branch name"],
        },
        Case {
            name: "branch name `--force`",
            setup: |_| args(&["apply", "--yes", "--set", "integration=--force"]),
            env: &[],
            code: 1,
            needles: &["`--force` is not a valid git branch name"],
        },
        Case {
            name: "branch name `a..b`",
            setup: |_| args(&["apply", "--yes", "--set", "to=a..b"]),
            env: &[],
            code: 1,
            needles: &["`a..b` is not a valid git branch name"],
        },
        Case {
            name: "branch name `HEAD`",
            setup: |_| args(&["apply", "--yes", "--set", "to=HEAD"]),
            env: &[],
            code: 1,
            needles: &["`HEAD` is not a valid git branch name"],
        },
        Case {
            name: "branch name with a space and a control character",
            setup: |_| args(&["apply", "--yes", "--set", "to=rel ease\u{7}"]),
            env: &[],
            code: 1,
            needles: &["is not a valid git branch name"],
        },
        Case {
            name: "branch name ending in .lock",
            setup: |_| args(&["apply", "--yes", "--set", "integration=x.lock"]),
            env: &[],
            code: 1,
            needles: &["`x.lock` is not a valid git branch name"],
        },
        Case {
            name: "remote name that looks like an option",
            setup: |_| args(&["apply", "--yes", "--set", "remote=--upload-pack=touch /tmp/x"]),
            env: &[],
            code: 1,
            needles: &["--upload-pack"],
        },
        Case {
            name: "remote name with a NUL byte, from a plan file",
            setup: |w| {
                let text = builtin_with("default = \"origin\"", "default = \"or\\u0000igin\"");
                args(&["plan", "--plan", &plan_file(w, "nul.toml", &text)])
            },
            env: &[],
            code: 1,
            needles: &["is not a valid remote name"],
        },
        Case {
            name: "plan file writing outside the repository",
            setup: |w| {
                let text = builtin_with("files = [\"**\"]", "files = [\"**\", \"../x\"]");
                args(&["apply", "--yes", "--plan", &plan_file(w, "outside.toml", &text)])
            },
            env: &[],
            code: 1,
            needles: &["rewrite file pattern `../x` must be a relative path inside the repository"],
        },
        Case {
            name: "plan file with an absolute path",
            setup: |w| {
                let text = builtin_with("files = [\"**\"]", "files = [\"**\", \"/etc/passwd\"]");
                args(&["apply", "--yes", "--plan", &plan_file(w, "absolute.toml", &text)])
            },
            env: &[],
            code: 1,
            needles: &[
                "rewrite file pattern `/etc/passwd` must be a relative path inside the repository",
            ],
        },
        Case {
            name: "malformed TOML",
            setup: |w| {
                let text = "[plan]\nname = \"x\"\n[[branch]\nname = 1\n";
                args(&["plan", "--plan", &plan_file(w, "broken.toml", text)])
            },
            env: &[],
            code: 1,
            needles: &["broken.toml:3:"],
        },
        Case {
            name: "plan file that is not there",
            setup: |_| args(&["plan", "--plan", "/nonexistent/plan.toml"]),
            env: &[],
            code: 1,
            needles: &["/nonexistent/plan.toml"],
        },
        Case {
            name: "unknown --set key",
            setup: |_| args(&["apply", "--yes", "--set", "releese=x"]),
            env: &[],
            code: 1,
            needles: &["unknown plan variable `releese`"],
        },
        Case {
            name: "--set without a value",
            setup: |_| args(&["apply", "--yes", "--set", "to"]),
            env: &[],
            code: 1,
            needles: &["`--set to` is not of the form KEY=VALUE"],
        },
        Case {
            name: "bad --resolve syntax",
            setup: |_| args(&["apply", "--yes", "--resolve", "release.yml=maybe"]),
            env: &[],
            code: 64,
            needles: &["`--resolve release.yml=maybe` is not PATH:LINE[:COLUMN]=rewrite|keep"],
        },
        Case {
            name: "corrupt journal",
            setup: |w| journal(w, "{\"event\":\"finished\"}\ngarbage\n{}\n"),
            env: &[],
            code: 1,
            needles: &["20990101T000000Z-1.jsonl is corrupt at line"],
        },
        Case {
            name: "truncated journal (only a torn first line)",
            setup: |w| journal(w, "{\"event\":\"begin\",\"run\":\"x\",\"sta"),
            env: &[],
            code: 1,
            needles: &["20990101T000000Z-1.jsonl is corrupt at line 1"],
        },
        Case {
            name: "journal naming a step the plan does not have",
            setup: |w| {
                let path = w.s.dir.path().join("plan.json");
                w.run(&["plan", "--out", path.to_str().unwrap()], &[]).expect(0);
                let plan = std::fs::read_to_string(&path).unwrap();
                let plan: serde_json::Value = serde_json::from_str(&plan).unwrap();
                let begin =
                    serde_json::json!({"event": "begin", "run": "x", "started": 0, "plan": plan})
                        .to_string();
                let prev =
                    git2::Oid::hash_object(git2::ObjectType::Blob, begin.as_bytes()).unwrap();
                journal(
                    w,
                    &format!(
                        "{begin}\n{{\"event\":\"done\",\"step\":99,\"already\":false,\"prev\":\"{prev}\"}}\n"
                    ),
                )
            },
            env: &[],
            code: 1,
            needles: &["is corrupt at line 2", "step 99 is not in the plan"],
        },
        Case {
            name: "journal changed after it was written (an oid edited by hand)",
            setup: |w| {
                w.run(&["apply", "--yes"], &[]).expect(0);
                let (path, edited) = w.journal_with_another_parent();
                std::fs::write(&path, edited).unwrap();
                args(&["rollback", "--yes"])
            },
            env: &[],
            code: 1,
            needles: &["is corrupt at line 2", "changed after it was written"],
        },
        Case {
            name: "saved plan from a different repository",
            setup: |w| {
                let other = World::new();
                let path = w.s.dir.path().join("other-plan.json");
                other.run(&["plan", "--out", path.to_str().unwrap()], &[]).expect(0);
                args(&["apply", path.to_str().unwrap()])
            },
            env: &[],
            code: 1,
            needles: &["was made for another repository", "other-plan.json"],
        },
        Case {
            name: "saved plan with a wrong format_version",
            setup: |w| saved_plan(w, |doc| doc["format_version"] = 99.into()),
            env: &[],
            code: 1,
            needles: &["plan format_version Some(99) is not 1"],
        },
        Case {
            name: "saved plan edited by hand: a ref it observed",
            setup: |w| {
                saved_plan(w, |doc| {
                    let refs = doc["observed"]["refs"].as_object_mut().unwrap();
                    let key = refs.keys().next().unwrap().clone();
                    refs[&key] = "1111111111111111111111111111111111111111".into();
                })
            },
            env: &[],
            code: 1,
            needles: &["the plan was changed after `rebranch plan --out` saved it"],
        },
        Case {
            name: "saved plan edited by hand: a step's target",
            setup: |w| {
                saved_plan(w, |doc| {
                    doc["actions"][0]["branch"] = "evil".into();
                })
            },
            env: &[],
            code: 1,
            needles: &["the plan was changed after `rebranch plan --out` saved it"],
        },
        Case {
            name: "saved plan edited by hand: the CI commit's content",
            setup: |w| {
                saved_plan(w, |doc| {
                    let step = doc["actions"].as_array_mut().unwrap().iter_mut();
                    let ci = step.into_iter().find(|a| a["kind"] == "ci_commit").unwrap();
                    ci["files"][0]["content"] = "on: push\njobs: {evil: {runs-on: x}}\n".into();
                })
            },
            env: &[],
            code: 1,
            needles: &["the plan was changed after `rebranch plan --out` saved it"],
        },
        Case {
            name: "saved plan that is not JSON",
            setup: |w| {
                let path = plan_file(w, "plan.json", "{\"format_version\": 1, \"actions\": [");
                args(&["apply", &path])
            },
            env: &[],
            code: 1,
            needles: &["plan.json:1:", "not a plan document"],
        },
        Case {
            name: "expired token",
            setup: |_| args(&["apply", "--yes"]),
            env: &[("CLOUDFLARE_API_TOKEN", EXPIRED_TOKEN)],
            code: 1,
            needles: &["token"],
        },
        Case {
            name: "no token at all",
            setup: |_| args(&["apply", "--yes"]),
            env: &[("CLOUDFLARE_API_TOKEN", "")],
            code: 1,
            needles: &["CLOUDFLARE_API_TOKEN"],
        },
        Case {
            name: "Pages base URL plain http to a non-loopback host",
            setup: |_| args(&["apply", "--yes"]),
            env: &[("CLOUDFLARE_API_BASE_URL", "http://api.example.com/client/v4")],
            code: 1,
            needles: &["http://api.example.com/client/v4"],
        },
        Case {
            name: "Pages base URL with credentials in it",
            setup: |_| args(&["apply", "--yes"]),
            env: &[("CLOUDFLARE_API_BASE_URL", "https://user:pw@api.example.com/client/v4")],
            code: 1,
            needles: &["CLOUDFLARE_API_BASE_URL"],
        },
        Case {
            name: "malformed account id",
            setup: |_| args(&["apply", "--yes"]),
            env: &[("CLOUDFLARE_ACCOUNT_ID", "../../accounts")],
            code: 1,
            needles: &["account"],
        },
        Case {
            name: "--repo that is not a repository",
            setup: |_| args(&["apply", "--yes", "--repo", "/nonexistent/repo"]),
            env: &[],
            code: 1,
            needles: &["/nonexistent/repo"],
        },
    ]
}

/// Everything that must not change, read through the git CLI and the stand-in.
fn everything(w: &World) -> String {
    let s = w.snapshot();
    let files = git(&w.s.clone, &["ls-files", "-s"]);
    let journal = crate::world::walk(&w.s.clone.join(".git/rebranch"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect::<String>();
    let state = w.standin.state();
    let project = state.project(ACCOUNT, crate::world::PROJECT).unwrap();
    format!("{s:?}\n{files}\n{journal}\n{}\n{}", project.project, project.deployments.len())
}

#[test]
fn hostile_inputs_get_one_clear_error_and_change_nothing() {
    let cases = cases();
    assert!(cases.len() >= 25, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let w = World::new();
        let args = (case.setup)(&w);
        let before = everything(&w);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = w.run(&argv, case.env);
        let text = if run.code == 0 { run.all() } else { run.stderr.clone() };
        let mut problems = Vec::new();
        if run.code != case.code {
            problems.push(format!("exit {} (wanted {})", run.code, case.code));
        }
        for n in case.needles {
            if !text.contains(n) {
                problems.push(format!("no {n:?}"));
            }
        }
        if case.code != 0 && run.stderr.matches("error:").count() != 1 {
            problems.push("not exactly one `error:` line".to_string());
        }
        if text.contains("panicked") || text.contains("RUST_BACKTRACE") {
            problems.push("a panic".to_string());
        }
        if everything(&w) != before {
            problems.push("something changed".to_string());
        }
        for out in w.outputs.borrow().iter() {
            if out.contains(TOKEN) {
                problems.push("the token was printed".to_string());
            }
        }
        eprintln!(
            "[{}] {}: exit {}\n{}",
            if problems.is_empty() { "ok" } else { "FAIL" },
            case.name,
            run.code,
            text.trim_end()
        );
        if !problems.is_empty() {
            failures.push(format!("{}: {}", case.name, problems.join("; ")));
        }
    }
    eprintln!("hostile inputs tried: {}", cases.len());
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));
}
