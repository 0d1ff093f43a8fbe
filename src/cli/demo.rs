//! `rebranch demo`: builds the sample repository and local stand-ins of the Cloudflare
//! Pages API and of the GitHub API (an open pull request based on `charts`, a protected
//! `charts`), then runs plan → apply → status → rollback on them, printing each as a user
//! would see it. No network, no token.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, Ctx, Format, Kind};
use super::{apply, flow, plan};
use crate::ops::apply::ApplyOptions;
use crate::ops::plan::Flow;
use crate::ops::rollback::RollbackOptions;
use crate::ops::{self, PlanOptions};
use rebranch_standin::cloudflare::{StandIn, StandInProject, TokenRule};
use rebranch_standin::github::{GhAccess, GhRepo, GitHubStandIn};

/// The stand-in's account, project and token (not secrets: they exist only in the demo).
const DEMO_ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
const DEMO_PROJECT: &str = "acme-helm-charts";
const DEMO_TOKEN: &str = "demo-token-for-the-local-stand-in";
const DEMO_REPOSITORY: &str = "acme/helm-charts";
const DEMO_GITHUB_TOKEN: &str = "demo-github-token-for-the-local-stand-in";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the sample [default: a new directory under the system's temp dir]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn cmd_demo(ctx: &Ctx<'_>, args: &DemoArgs) -> Result<u8, CliError> {
    let root = demo_root(args)?;
    let sample = crate::demo::create(&root)?;
    let project = StandInProject::git(DEMO_ACCOUNT, DEMO_PROJECT, "charts");
    let standin = StandIn::start(vec![project], vec![TokenRule::edit(DEMO_TOKEN)])
        .map_err(|e| fail(&format!("cannot start the local Pages stand-in: {e}")))?;
    let github = github_standin(&sample)?;
    ctx.ui.status(&format!(
        "Built a sample Helm chart repository in {} (its remote: {}),\na local stand-in of the Cloudflare Pages API at {} serving project \"{DEMO_PROJECT}\" from `charts`,\nand a local stand-in of the GitHub API at {} where {DEMO_REPOSITORY} has `charts` protected\nand a chart-releaser pull request open against it.\nNo network and no real token are used.\n",
        sample.clone.display(),
        sample.origin.display(),
        standin.base_url(),
        github.base_url()
    ));
    let opts = PlanOptions {
        repo_path: sample.clone.clone(),
        sets: vec![
            ("cloudflare.project".to_string(), DEMO_PROJECT.to_string()),
            ("github.repository".to_string(), DEMO_REPOSITORY.to_string()),
        ],
        resolves: super::parse_resolves(&crate::demo::SAMPLE_RESOLUTIONS.map(str::to_string))?,
        ..PlanOptions::default()
    };
    let env = BTreeMap::from([
        ("CLOUDFLARE_API_BASE_URL".to_string(), standin.base_url()),
        ("CLOUDFLARE_API_TOKEN".to_string(), DEMO_TOKEN.to_string()),
        ("CLOUDFLARE_ACCOUNT_ID".to_string(), DEMO_ACCOUNT.to_string()),
        ("REBRANCH_PAGES_POLL_MS".to_string(), "200".to_string()),
        ("GITHUB_API_URL".to_string(), github.base_url()),
        ("GH_TOKEN".to_string(), DEMO_GITHUB_TOKEN.to_string()),
        ("REBRANCH_GITHUB_MUTATION_GAP_MS".to_string(), "100".to_string()),
    ]);
    let inner =
        Ctx { global: ctx.global, ui: ctx.ui, prompt: ctx.prompt, format: Format::Text, env };
    let show = |cmd: &str| {
        let mut line = format!(
            "rebranch {cmd} --set cloudflare.project={DEMO_PROJECT} --set github.repository={DEMO_REPOSITORY}"
        );
        if cmd == "plan" || cmd.starts_with("apply") {
            for r in crate::demo::SAMPLE_RESOLUTIONS {
                line.push_str(&format!(" \\\n    --resolve {r}"));
            }
        }
        inner.ui.out(&format!("\n{}\n\n", inner.ui.out_style.bold(&format!("$ {line}"))));
    };
    let apply_opts = ApplyOptions { plan: opts.clone(), ..ApplyOptions::default() };
    let rollback_opts = RollbackOptions { repo_path: opts.repo_path.clone(), no_fetch: false };
    show("plan");
    plan::plan(&inner, &ops::open(&opts.repo_path)?, &opts, &plan::PlanArgs::default())?;
    show("apply --yes");
    apply::apply(&inner, &apply_opts, true)?;
    show("status");
    plan::status(&inner, &ops::open(&opts.repo_path)?, &opts, &plan::StatusArgs::default())?;
    show("rollback --yes");
    apply::rollback(&inner, &rollback_opts, true)?;
    show("status");
    plan::status(&inner, &ops::open(&opts.repo_path)?, &opts, &plan::StatusArgs::default())?;
    run_flow(&inner, &sample, &apply_opts, &show)?;
    let served = standin.state();
    inner.ui.out(&format!(
        "\nThe Pages stand-in received {} API requests, the GitHub stand-in {}; they stop now.\nThe sample repository is left in {} for you to explore:\n  cd {}\n  git log --oneline --all --graph\n",
        standin.requests().len(),
        github.requests().len(),
        root.display(),
        sample.clone.display()
    ));
    drop(served);
    Ok(0)
}

/// After the migration, the ADR's flow: two charts change on integration, `split` gives
/// each its branch, a reviewer squash-merges one, and `prune` deletes only that one.
fn run_flow(
    ctx: &Ctx<'_>,
    sample: &crate::demo::Sample,
    opts: &ApplyOptions,
    show: &dyn Fn(&str),
) -> Result<(), CliError> {
    let open = || ops::open(&opts.plan.repo_path);
    let say = |text: &str| ctx.ui.out(&format!("\n{}\n", ctx.ui.out_style.dim(text)));
    say("The per-chart flow runs on a migrated repository: migrate again.");
    show("apply --yes");
    apply::apply(ctx, opts, true)?;
    let tip = crate::demo::change_two_charts(sample)?;
    let changes: Vec<String> =
        crate::demo::FLOW_CHANGES.iter().map(|(p, a, b)| format!("  {p}: {a} → {b}")).collect();
    say(&format!(
        "A teammate pushes {} to integration, changing two charts:\n{}",
        crate::git::short(tip),
        changes.join("\n")
    ));
    let yes = flow::FlowArgs { yes: true, ..flow::FlowArgs::default() };
    show("split --yes");
    flow::run(ctx, &open()?, &opts.plan, &yes, Flow::Split)?;
    let merged = crate::demo::squash_merge(sample, "chart/podinfo-lite", "charts/podinfo-lite")?;
    say(&format!(
        "A reviewer squash-merges chart/podinfo-lite into main ({}).",
        crate::git::short(merged)
    ));
    show("prune --yes");
    flow::run(ctx, &open()?, &opts.plan, &yes, Flow::Prune)?;
    show("status");
    plan::status(ctx, &open()?, &opts.plan, &plan::StatusArgs::default())?;
    Ok(())
}

/// The GitHub stand-in for the sample's origin: `charts` protected, and the pull request
/// chart-releaser's `--pr` mode would have opened against it.
fn github_standin(sample: &crate::demo::Sample) -> Result<GitHubStandIn, CliError> {
    let (owner, name) = DEMO_REPOSITORY.split_once('/').expect("OWNER/NAME");
    let origin = git2::Repository::open_bare(&sample.origin)
        .map_err(|e| fail(&format!("cannot open the sample's origin: {e}")))?;
    let charts = origin
        .find_branch("charts", git2::BranchType::Local)
        .and_then(|b| b.get().peel_to_commit())
        .map_err(|e| fail(&format!("the sample has no `charts`: {e}")))?;
    origin
        .branch("cr/podinfo-lite-1.1.0", &charts, false)
        .map_err(|e| fail(&format!("cannot create the pull request's branch: {e}")))?;
    let github = GitHubStandIn::start(
        vec![GhRepo::new(owner, name, &sample.origin)],
        vec![(DEMO_GITHUB_TOKEN.to_string(), GhAccess::Admin)],
    )
    .map_err(|e| fail(&format!("cannot start the local GitHub stand-in: {e}")))?;
    github.add_pull(owner, name, "cr/podinfo-lite-1.1.0", "charts", "Release podinfo-lite 1.1.0");
    github.protect(
        owner,
        name,
        "charts",
        serde_json::json!({"required_status_checks": null, "enforce_admins": true,
            "required_pull_request_reviews": null, "restrictions": null,
            "allow_force_pushes": false, "allow_deletions": false}),
    );
    Ok(github)
}

fn demo_root(args: &DemoArgs) -> Result<PathBuf, CliError> {
    match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(&format!("cannot create {}: {e}", dir.display())))?;
            Ok(dir.clone())
        }
        None => Ok(tempfile::Builder::new()
            .prefix("rebranch-demo-")
            .tempdir()
            .map_err(|e| fail(&format!("cannot create a temporary directory: {e}")))?
            .keep()),
    }
}

fn fail(message: &str) -> CliError {
    CliError::new(Kind::Failure, message)
}
