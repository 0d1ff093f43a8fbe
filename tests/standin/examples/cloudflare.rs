//! Serves the Cloudflare Pages stand-in with one git-connected project until stdin closes,
//! for trying rebranch by hand on a copy of a real repository:
//!
//! ```sh
//! cargo run -p rebranch-standin --example cloudflare -- ACCOUNT PROJECT BRANCH TOKEN
//! ```
//!
//! It prints `CLOUDFLARE_API_BASE_URL=…`, then the project's production branch and live
//! deployment each time a line is read from stdin.

use rebranch_standin::cloudflare::{StandIn, StandInProject, TokenRule};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [account, project, branch, token] = args.as_slice() else {
        eprintln!("usage: cloudflare ACCOUNT PROJECT BRANCH TOKEN");
        std::process::exit(64);
    };
    let standin = StandIn::start(
        vec![StandInProject::git(account, project, branch)],
        vec![TokenRule::edit(token)],
    )
    .expect("start the stand-in");
    println!("CLOUDFLARE_API_BASE_URL={}", standin.base_url());
    let mut line = String::new();
    while std::io::stdin().read_line(&mut line).is_ok_and(|n| n > 0) {
        let state = standin.state();
        let p = state.project(account, project).expect("the project");
        let live =
            p.deployments.iter().find(|d| Some(d.id()) == p.canonical_deployment_id.as_deref());
        println!(
            "production_branch={} source={} live={} from {}",
            p.project["production_branch"],
            p.project["source"]["config"]["production_branch"],
            p.canonical_deployment_id.as_deref().unwrap_or("none"),
            live.map_or("none".to_string(), |d| {
                d.value["deployment_trigger"]["metadata"]["branch"].to_string()
            })
        );
        line.clear();
    }
}
