//! `rebranch split` and `rebranch prune`: the ADR's per-chart flow after the migration.
//! Each observes and plans ([`crate::ops::plan::plan_flow`]), shows the plan as `plan` does, asks (or takes
//! `--yes`), and applies it through `apply`'s journaled run, so `rollback` undoes it.

use clap::Args;

use super::error::detailed;
use super::{CliError, Ctx, Kind, Sink};
use crate::ops::apply::{Applied, ApplyOptions};
use crate::ops::plan::Flow;
use crate::ops::status::FlowHealth;
use crate::ops::{self, PlanOptions};
use crate::plan::Plan;
use crate::render;

/// Exit codes of `split` and `prune`, shown in their `--help`.
pub const AFTER_HELP_SPLIT: &str = "\
Examples:
  rebranch split --dry-run            # the chart branches it would push, as a diff
  rebranch split --yes                # push them (what the example workflow runs)
  rebranch split --set chart_branch='integration-{chart}'

Each chart (a directory with a Chart.yaml under ct.yaml's chart-dirs, default `charts`) whose
directory differs between the remote's integration and main gets a branch holding exactly
main plus that directory as on integration. Pull requests are not opened yet.

Exit codes:
  0    success, or nothing to do
  1    error or refusal (bad pattern or chart name, no terminal and no --yes); nothing changed
  2    --dry-run --detailed-exitcode: changes are pending
  3    refused: a branch moved since the plan (names it)
  5    stopped part way: `rebranch apply` resumes, `rebranch rollback` undoes
  64   usage error";

/// Exit codes of `prune`, shown in its `--help`.
pub const AFTER_HELP_PRUNE: &str = "\
Examples:
  rebranch prune --dry-run            # which chart branches go, and why the others stay
  rebranch prune --yes

A chart branch goes when its change is on main (every file it changed is on main as on the
branch, squash merges included); every other one stays, and the plan says why.

Exit codes:
  0    success, or nothing to do
  1    error or refusal (no terminal and no --yes); nothing changed
  2    --dry-run --detailed-exitcode: changes are pending
  3    refused: a branch moved since the plan (names it)
  5    stopped part way: `rebranch apply` resumes, `rebranch rollback` undoes
  64   usage error";

#[derive(Debug, Default, Args)]
pub struct FlowArgs {
    /// Show the plan and stop; change nothing
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: exit 2 when changes are pending, 0 when there are none
    #[arg(long, requires = "dry_run")]
    pub detailed_exitcode: bool,
    /// Push without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
}

fn name(which: Flow) -> &'static str {
    match which {
        Flow::Split => "split",
        Flow::Prune => "prune",
    }
}

pub fn cmd_split(ctx: &Ctx<'_>, args: &FlowArgs) -> Result<u8, CliError> {
    let repo = ctx.open()?;
    run(ctx, &repo, &ctx.plan_options()?, args, Flow::Split)
}

pub fn cmd_prune(ctx: &Ctx<'_>, args: &FlowArgs) -> Result<u8, CliError> {
    let repo = ctx.open()?;
    run(ctx, &repo, &ctx.plan_options()?, args, Flow::Prune)
}

/// Plans, shows, confirms and applies one of the flow's plans for the migration `opts`
/// name (the last run's, unless given).
pub fn run(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    opts: &PlanOptions,
    args: &FlowArgs,
    which: Flow,
) -> Result<u8, CliError> {
    let env = ctx.lookup();
    let services = ops::Services::new(&env);
    let (plan, listing) = ops::plan::plan_flow(repo, opts, &services, which)?;
    if args.dry_run || !ctx.json() || plan.is_empty() {
        show(ctx, &plan);
    }
    if let Some(note) = ops::status::unfinished_note(repo)? {
        ctx.ui.warn(&note);
    }
    if args.dry_run {
        return Ok(detailed(args.detailed_exitcode, !plan.is_empty()));
    }
    if plan.is_empty() {
        return Ok(0);
    }
    confirm(ctx, args.yes, which)?;
    let apply = ApplyOptions { plan: opts.clone(), ..ApplyOptions::default() };
    let mut lines = ctx.ui.progress("applying");
    let mut sink = Sink { ui: ctx.ui, steps: &mut lines, outcome_json: ctx.json() };
    match ops::apply::apply_given(&apply, plan, listing, &services, &mut sink)? {
        Applied::Complete { run, journal, applied, already, .. } if !ctx.json() => {
            ctx.ui.out(&format!(
                "Applied run {run}: {applied} step(s) applied, {already} already done.\nJournal: {}\nUndo it with `rebranch rollback`.\n",
                journal.display()
            ));
        }
        _ => {}
    }
    Ok(0)
}

fn show(ctx: &Ctx<'_>, plan: &Plan) {
    if ctx.json() {
        ctx.ui.out(&render::plan_json(plan));
    } else {
        ctx.ui.out(&render::plan_text(plan, ctx.ui.out_style));
    }
}

fn confirm(ctx: &Ctx<'_>, yes: bool, which: Flow) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    let name = name(which);
    if !ctx.prompt.can_prompt() {
        return Err(CliError::new(
            Kind::Failure,
            format!("{name} changes the remote's branches, and there is no terminal to confirm it"),
        )
        .hint(format!(
            "pass --yes (look first with `rebranch {name} --dry-run`); nothing was changed"
        )));
    }
    if ctx.prompt.ask("Push these changes?", false).unwrap_or(false) {
        Ok(())
    } else {
        Err(CliError::new(Kind::Failure, "declined: nothing was changed"))
    }
}

/// What `status` says about the per-chart flow: text, and its JSON.
pub fn status(ctx: &Ctx<'_>, health: &FlowHealth) -> (String, serde_json::Value) {
    let style = ctx.ui.out_style;
    let (pattern, remote, branches, findings) = match health {
        FlowHealth::Unchecked(e) => {
            let text = format!(
                "{} the per-chart flow cannot be checked: {e}\n",
                style.paint("33", "warning:")
            );
            return (text, serde_json::json!({ "error": e }));
        }
        FlowHealth::Checked { pattern, remote, branches, findings } => {
            (pattern, remote, branches, findings)
        }
    };
    let mut text = format!(
        "\n{} ({pattern}, {} chart branch(es))\n",
        style.bold("Per-chart flow"),
        branches.len()
    );
    if findings.is_empty() {
        text.push_str(&format!(
            "  {} no chart branch is stale, merged but not pruned, or named against the pattern\n",
            style.paint("32", "✓")
        ));
    }
    for f in findings {
        text.push_str(&format!(
            "  {} {remote}/{}: {}\n",
            style.paint("33", "!"),
            f.branch,
            f.problem
        ));
    }
    let json = serde_json::json!({
        "chart_branch": pattern,
        "branches": branches,
        "findings": findings,
    });
    (text, json)
}
