//! `rebranch plan` and `rebranch status`: observe, plan, show; never change anything.

use std::path::PathBuf;

use clap::Args;

use super::error::detailed;
use super::{CliError, Ctx, write_atomic};
use crate::ops::{self, PlanOptions};
use crate::render;

#[derive(Debug, Default, Args)]
pub struct PlanArgs {
    /// Save the plan as JSON, for `rebranch apply FILE`
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Exit 2 when changes are pending, 0 when there are none
    #[arg(long)]
    detailed_exitcode: bool,
}

#[derive(Debug, Default, Args)]
pub struct StatusArgs {
    /// Exit 2 when the repository does not match the target yet
    #[arg(long)]
    detailed_exitcode: bool,
}

pub fn cmd_plan(ctx: &Ctx<'_>, args: &PlanArgs) -> Result<u8, CliError> {
    let repo = ctx.open()?;
    plan(ctx, &repo, &ctx.plan_options()?, args)
}

/// Plans `opts` and shows the plan (and saves it with `--out`).
pub fn plan(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    opts: &PlanOptions,
    args: &PlanArgs,
) -> Result<u8, CliError> {
    let plan = ctx.plan(repo, opts)?.plan;
    if let Some(path) = &args.out {
        write_atomic(path, ops::saved::seal(&plan).as_bytes())?;
        ctx.ui.status(&format!(
            "Saved the plan to {}; apply it with `rebranch apply {}`.",
            path.display(),
            path.display()
        ));
    }
    if ctx.json() {
        ctx.ui.out(&render::plan_json(&plan));
    } else {
        ctx.ui.out(&render::plan_text(&plan, ctx.ui.out_style));
    }
    if let Some(note) = ops::status::unfinished_note(repo)? {
        ctx.ui.warn(&note);
    }
    Ok(detailed(args.detailed_exitcode, !plan.is_empty()))
}

pub fn cmd_status(ctx: &Ctx<'_>, args: &StatusArgs) -> Result<u8, CliError> {
    let repo = ctx.open()?;
    status(ctx, &repo, &ctx.plan_options()?, args)
}

/// Says whether the repository matches the target of `opts`, and what is left.
pub fn status(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    opts: &PlanOptions,
    args: &StatusArgs,
) -> Result<u8, CliError> {
    let env = ctx.lookup();
    let status = ops::status::status(repo, opts, &ops::Services::new(&env), &ctx.ui)?;
    let ops::plan::Planned { target, observation: obs, plan } = &status.planned;
    let unfinished = status.unfinished;
    let flow = status.flow.as_ref().map(|health| super::flow::status(ctx, health));
    if ctx.json() {
        let doc = serde_json::json!({
            "format_version": crate::plan::FORMAT_VERSION,
            "plan": plan.plan,
            "matches": plan.is_empty(),
            "pending": plan.actions,
            "unfinished_apply": unfinished,
            "warnings": plan.warnings,
            "flow": flow.as_ref().map(|(_, json)| json),
        });
        ctx.ui.out(&format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default()));
    } else {
        ctx.ui.out(&status_text(ctx, target, obs, plan));
        if let Some((text, _)) = &flow {
            ctx.ui.out(text);
        }
        if let Some(note) = &unfinished {
            ctx.ui.warn(note);
        }
    }
    Ok(detailed(args.detailed_exitcode, !plan.is_empty()))
}
fn status_text(
    ctx: &Ctx<'_>,
    target: &crate::spec::Target,
    obs: &crate::observe::Observation,
    plan: &crate::plan::Plan,
) -> String {
    let style = ctx.ui.out_style;
    let mut out = String::new();
    out.push_str(&format!(
        "{} {} for {}\n\n",
        style.bold("Status of"),
        target.plan_name,
        obs.workdir.display()
    ));
    for b in &target.branches {
        let remote = obs.remote_heads.get(&b.name);
        let mark =
            if remote.is_some() { style.paint("32", "✓") } else { style.paint("31", "✗") };
        let at = remote
            .map_or_else(|| "absent".to_string(), |o| format!("at {}", crate::git::short(*o)));
        out.push_str(&format!("  {mark} {}/{} {at} ({})\n", obs.remote, b.name, b.origin));
    }
    for (old, _) in target.renames() {
        let (mark, state) = match obs.remote_heads.get(old) {
            Some(o) => {
                (style.paint("31", "✗"), format!("still exists at {}", crate::git::short(*o)))
            }
            None => (style.paint("32", "✓"), "gone".to_string()),
        };
        out.push_str(&format!("  {mark} {}/{old} {state}\n", obs.remote));
    }
    for (done, line) in obs.services.iter().flat_map(|c| &c.status) {
        let mark = if *done { style.paint("32", "✓") } else { style.paint("31", "✗") };
        out.push_str(&format!("  {mark} {line}\n"));
    }
    out.push('\n');
    if plan.is_empty() {
        out.push_str(&format!(
            "The repository matches {}: nothing is left to do.\n",
            target.plan_name
        ));
    } else {
        out.push_str(&format!("{} change(s) left:\n", plan.actions.len()));
        render::steps(&mut out, &plan.actions, style);
        out.push_str("\nRun `rebranch plan` to review them and `rebranch apply` to make them.\n");
    }
    for w in &plan.warnings {
        out.push_str(&format!("{} {w}\n", style.paint("33", "warning:")));
    }
    out
}
