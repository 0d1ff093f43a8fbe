//! Network round trips of a full ADR-002 migration, counted by the servers.
//!
//! The sample repository (`rebranch::demo`) gets a bare origin served by a loopback
//! `git daemon --enable=receive-pack`; rebranch reaches it through a counting TCP proxy
//! written here, which reads the first pkt-line of each connection to tell a fetch-side
//! connection (`git-upload-pack`: listing refs) from a push (`git-receive-pack`). The Pages
//! API is the library's stand-in, whose recorded requests are counted.
//!
//! Two ways through: the reviewed flow (`plan --out` then `apply FILE`) and `apply --yes`,
//! each on a fresh sample; then `plan` on the migrated repository. Each command's counts are
//! printed beside what its steps need. Not a timing benchmark: the numbers are exact.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rebranch_standin::cloudflare::{StandIn, StandInProject, TokenRule};
use rebranch_standin::git_daemon::GitDaemon;

const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const PROJECT: &str = "acme-helm-charts";
const TOKEN: &str = "cfut_bench_token";

/// Services requested on the proxied connections, in order.
#[derive(Clone, Default)]
struct Counts(Arc<Mutex<Vec<String>>>);

impl Counts {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Forwards `127.0.0.1:<port>` to `target`, recording each connection's git service.
struct Proxy {
    port: u16,
    counts: Counts,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let counts = Counts::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counts.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let c = c.clone();
                std::thread::spawn(move || forward(client, target, &c));
            }
        });
        Proxy { port, counts, stop }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn forward(mut client: TcpStream, target: u16, counts: &Counts) {
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", target)) else { return };
    // The first pkt-line: `<4 hex length>git-upload-pack /repo\0host=…\0`.
    let mut first = vec![0u8; 4];
    if client.read_exact(&mut first).is_err() {
        return;
    }
    let len = std::str::from_utf8(&first).ok().and_then(|h| usize::from_str_radix(h, 16).ok());
    let mut body = vec![0u8; len.unwrap_or(4).saturating_sub(4)];
    if client.read_exact(&mut body).is_err() {
        return;
    }
    let line = String::from_utf8_lossy(&body);
    let service = line.split(' ').next().unwrap_or("?").to_string();
    counts.0.lock().unwrap().push(service);
    first.extend_from_slice(&body);
    if server.write_all(&first).is_err() {
        return;
    }
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    let up = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    let _ = std::io::copy(&mut server, &mut client);
    let _ = client.shutdown(Shutdown::Write);
    let _ = up.join();
}

struct Setup {
    dir: tempfile::TempDir,
    clone: std::path::PathBuf,
    standin: StandIn,
    proxy: Proxy,
    _daemon: GitDaemon,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let sample = rebranch::demo::create(dir.path()).expect("sample");
    let d = GitDaemon::serve(dir.path()).expect("start git daemon");
    let proxy = Proxy::start(d.port);
    let url = format!("git://127.0.0.1:{}/origin.git", proxy.port);
    let repo = git2::Repository::open(&sample.clone).unwrap();
    repo.remote_set_url("origin", &url).unwrap();
    let standin = StandIn::start(
        vec![StandInProject::git(ACCOUNT, PROJECT, "charts")],
        vec![TokenRule::edit(TOKEN)],
    )
    .unwrap();
    Setup { clone: sample.clone, dir, standin, proxy, _daemon: d }
}

/// Runs rebranch in the sample with the stand-in's environment; returns the counts.
fn run(s: &Setup, args: &[&str]) -> (Vec<String>, Vec<String>) {
    s.proxy.counts.take();
    s.standin.clear_requests();
    let project = format!("cloudflare.project={PROJECT}");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--set", &project]);
    for r in rebranch::demo::SAMPLE_RESOLUTIONS {
        all.extend(["--resolve", r]);
    }
    let home = s.dir.path().join("home");
    let out = Command::new(env!("CARGO_BIN_EXE_rebranch"))
        .args(&all)
        .current_dir(&s.clone)
        .stdin(Stdio::null())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .env("CI", "true")
        .env("CLOUDFLARE_API_BASE_URL", s.standin.base_url())
        .env("CLOUDFLARE_API_TOKEN", TOKEN)
        .env("CLOUDFLARE_ACCOUNT_ID", ACCOUNT)
        .env("REBRANCH_PAGES_POLL_MS", "10")
        .output()
        .expect("run rebranch");
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0,
        "rebranch {args:?} exited {code}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let api =
        s.standin.requests().iter().map(|r| format!("{} {}", r.method, short(&r.path))).collect();
    (s.proxy.counts.take(), api)
}

/// The API path without the account and project prefix.
fn short(path: &str) -> String {
    let p = path.replace(&format!("/client/v4/accounts/{ACCOUNT}/pages/projects/{PROJECT}"), "");
    if p.is_empty() { "<project>".to_string() } else { p }
}

fn report(name: &str, need: (usize, usize, &str), got: &(Vec<String>, Vec<String>)) {
    let (conns, api) = got;
    let fetch = conns.iter().filter(|c| *c == "git-upload-pack").count();
    let push = conns.iter().filter(|c| *c == "git-receive-pack").count();
    let other = conns.len() - fetch - push;
    println!(
        "roundtrips | {name} | git connections {} (listings {fetch}, pushes {push}{}) | needed {} (listings {}, pushes {}) | API calls {} | needed {} | {}",
        conns.len(),
        if other > 0 { format!(", other {other}") } else { String::new() },
        need.0 + need.1,
        need.0,
        need.1,
        api.len(),
        need.2,
        api.join(", ")
    );
}

fn main() {
    // The reviewed flow: plan, then apply exactly that plan.
    let s = setup();
    let plan_file = s.dir.path().join("plan.json");
    let plan = run(&s, &["plan", "--out", plan_file.to_str().unwrap()]);
    report("plan --out", (1, 0, "1 (GET project)"), &plan);
    let apply = run(&s, &["apply", plan_file.to_str().unwrap()]);
    report(
        "apply PLAN (reviewed)",
        (1, 4, "GET re-check, PATCH, GET confirm, + the verify deployment and its polls"),
        &apply,
    );
    let after = run(&s, &["plan"]);
    report("plan after apply", (1, 0, "1 (GET project)"), &after);
    drop(s);

    // One go: plan and apply in one process.
    let s = setup();
    let yes = run(&s, &["apply", "--yes"]);
    report(
        "apply --yes",
        (1, 4, "GET observe, PATCH, GET confirm, + the verify deployment and its polls"),
        &yes,
    );
    let yes_nv = {
        let s = setup();
        run(&s, &["apply", "--yes", "--no-verify"])
    };
    report("apply --yes --no-verify", (1, 4, "GET observe, PATCH, GET confirm"), &yes_nv);

    // A clone behind its remote (a bot published to charts since its last fetch): the plan
    // fetches the new objects on its one listing connection.
    let s = setup();
    publish_behind_the_clones_back(&s);
    let behind = run(&s, &["plan"]);
    report(
        "plan, clone behind (fetch on the listing's connection)",
        (1, 0, "1 (GET project)"),
        &behind,
    );
}

/// A commit on the origin's `charts` that the clone has not fetched.
fn publish_behind_the_clones_back(s: &Setup) {
    let origin = s.dir.path().join("origin.git");
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(&origin).output().expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let tip = git(&["rev-parse", "refs/heads/charts"]);
    let tree = git(&["rev-parse", "refs/heads/charts^{tree}"]);
    let commit = Command::new("git")
        .args(["commit-tree", &tree, "-p", &tip, "-m", "bot: publish"])
        .current_dir(&origin)
        .env("GIT_AUTHOR_NAME", "bot")
        .env("GIT_AUTHOR_EMAIL", "bot@example.invalid")
        .env("GIT_COMMITTER_NAME", "bot")
        .env("GIT_COMMITTER_EMAIL", "bot@example.invalid")
        .output()
        .expect("git commit-tree");
    let commit = String::from_utf8_lossy(&commit.stdout).trim().to_string();
    git(&["update-ref", "refs/heads/charts", &commit, &tip]);
}
