//! Serves the GitHub stand-in for one bare repository until stdin closes, for trying
//! rebranch by hand on a copy of a real repository:
//!
//! ```sh
//! cargo run -p rebranch-standin --example github -- OWNER/NAME GIT_DIR TOKEN \
//!     [pages=BRANCH] [protect=BRANCH] [require-pr=BRANCH] [pull=HEAD:BASE]…
//! ```
//!
//! It prints `GITHUB_API_URL=…` and the site's URL, installs GitHub's hooks in the bare
//! repository, and serves every API call against it.

use rebranch_standin::github::{GhAccess, GhRepo, GitHubStandIn};
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [repo, git_dir, token, rest @ ..] = args.as_slice() else {
        eprintln!(
            "usage: github OWNER/NAME GIT_DIR TOKEN [pages=B] [protect=B] [require-pr=B] [pull=HEAD:BASE]…"
        );
        std::process::exit(64);
    };
    let (owner, name) = repo.split_once('/').expect("OWNER/NAME");
    let mut gh_repo = GhRepo::new(owner, name, git_dir);
    if let Ok(out) = std::process::Command::new("git")
        .args(["--git-dir", git_dir, "symbolic-ref", "--short", "HEAD"])
        .output()
    {
        let head = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !head.is_empty() {
            gh_repo.default_branch = head;
        }
    }
    let gh = GitHubStandIn::start(vec![gh_repo], vec![(token.clone(), GhAccess::Admin)])
        .expect("start the stand-in");
    for arg in rest {
        let (what, value) = arg.split_once('=').expect("KEY=VALUE");
        match what {
            "pages" => gh.enable_pages(owner, name, value, "/", None),
            "protect" => gh.protect(
                owner,
                name,
                value,
                json!({"required_status_checks": null, "enforce_admins": true,
                       "required_pull_request_reviews": null, "restrictions": null}),
            ),
            "require-pr" => gh.protect(
                owner,
                name,
                value,
                json!({"required_status_checks": null, "enforce_admins": true,
                       "required_pull_request_reviews": {"required_approving_review_count": 1},
                       "restrictions": null}),
            ),
            "pull" => {
                let (head, base) = value.split_once(':').expect("HEAD:BASE");
                let n = gh.add_pull(owner, name, head, base, &format!("Pull from {head}"));
                println!("pull #{n}: {head} → {base}");
            }
            other => panic!("unknown option {other}"),
        }
    }
    gh.install_hooks(owner, name).expect("hooks");
    println!("GITHUB_API_URL={}", gh.base_url());
    println!("site {}", gh.site_url(owner, name));
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
}
