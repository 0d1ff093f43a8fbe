//! `rebranch apply` and `rebranch rollback`: the only commands that change anything. The
//! runs themselves are [`ops::apply`] and [`ops::rollback`]; here they are shown, confirmed
//! and reported.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Ctx, Kind, Sink};
use crate::ops::apply::{Applied, ApplyOptions};
use crate::ops::rollback::{RollbackOptions, RolledBack};
use crate::ops::{self, Question};
use crate::render;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `rebranch plan --out FILE`, applied exactly as reviewed
    #[arg(value_name = "PLAN_JSON")]
    saved: Option<PathBuf>,
    /// Apply without asking
    #[arg(short = 'y', long)]
    yes: bool,
    /// Switch a site without waiting for it to serve the new branch (no Pages deployment or build, no index check)
    #[arg(long)]
    no_verify: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Roll back without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
}

pub fn cmd_apply(ctx: &Ctx<'_>, args: &ApplyArgs) -> Result<u8, CliError> {
    let opts = ApplyOptions {
        plan: ctx.plan_options()?,
        saved_plan: args.saved.clone(),
        no_verify: args.no_verify,
    };
    apply(ctx, &opts, args.yes)
}

/// Applies `opts` as `rebranch apply` does (`--yes` when `yes`), and reports the run.
pub fn apply(ctx: &Ctx<'_>, opts: &ApplyOptions, yes: bool) -> Result<u8, CliError> {
    let env = ctx.lookup();
    let mut lines = ctx.ui.progress("applying");
    let mut sink = Sink { ui: ctx.ui, steps: &mut lines, outcome_json: ctx.json() };
    let services = ops::Services::new(&env);
    let applied = ops::apply::apply(opts, &services, &mut sink, &mut |q| ask(ctx, yes, q))?;
    report_applied(ctx, &applied);
    Ok(0)
}

/// Says what an apply did.
pub fn report_applied(ctx: &Ctx<'_>, applied: &Applied) {
    match applied {
        Applied::NoChanges { plan } => {
            ctx.ui.out(&format!("No changes: the repository already matches {plan}.\n"));
        }
        Applied::Complete { run, journal, applied, already, notes } => {
            if !ctx.json() {
                ctx.ui.out(&format!(
                    "Applied run {run}: {applied} step(s) applied, {already} already done.\nJournal: {}\nUndo it with `rebranch rollback`.\n",
                    journal.display()
                ));
            }
            for note in notes.iter().filter(|n| n.starts_with("local ")) {
                ctx.ui.warn(note);
            }
        }
    }
}

pub fn cmd_rollback(ctx: &Ctx<'_>, args: &RollbackArgs) -> Result<u8, CliError> {
    let opts =
        RollbackOptions { repo_path: ctx.global.repo.clone(), no_fetch: ctx.global.no_fetch };
    rollback(ctx, &opts, args.yes)
}

/// Rolls back as `rebranch rollback` does (`--yes` when `yes`), and reports it.
pub fn rollback(ctx: &Ctx<'_>, opts: &RollbackOptions, yes: bool) -> Result<u8, CliError> {
    let env = ctx.lookup();
    let mut lines = ctx.ui.progress("undoing");
    let mut sink = Sink { ui: ctx.ui, steps: &mut lines, outcome_json: ctx.json() };
    let services = ops::Services::new(&env);
    match ops::rollback::rollback(opts, &services, &mut sink, &mut |q| ask(ctx, yes, q))? {
        RolledBack::Nothing => {
            ctx.ui.out("Nothing to roll back: no apply has changed this repository.\n");
        }
        RolledBack::Complete { run, undone, already } => {
            if !ctx.json() {
                ctx.ui.out(&format!(
                    "Rolled back run {run}: {undone} step(s) undone, {already} already undone; nothing pushed since the migration was dropped.\n",
                ));
            }
        }
    }
    Ok(0)
}

/// Shows what an apply or rollback is about to do (in text, unless `--quiet`), then asks,
/// unless `yes`.
fn ask(ctx: &Ctx<'_>, yes: bool, question: Question<'_>) -> Result<(), CliError> {
    let show = !ctx.json() && !ctx.ui.quiet;
    match question {
        Question::Review(plan) => {
            if show {
                ctx.ui.out(&render::plan_text(plan, ctx.ui.out_style));
            }
            Ok(())
        }
        Question::Apply(plan) => {
            if show {
                ctx.ui.out(&render::plan_text(plan, ctx.ui.out_style));
            }
            confirm(ctx, yes, "Apply these changes?", "apply")
        }
        Question::Rollback { runs, steps, notes } => {
            if show {
                let mut text = format!(
                    "Rolling back run {} ({} step(s), last first; checked against the repository as it is now):\n",
                    runs.join(" and "),
                    steps.len()
                );
                render::steps(&mut text, steps, ctx.ui.out_style);
                for n in notes {
                    text.push_str(&format!("note: {}\n", render::escape(n)));
                }
                ctx.ui.out(&text);
            }
            confirm(ctx, yes, "Roll back these steps?", "rollback")
        }
    }
}

fn confirm(ctx: &Ctx<'_>, yes: bool, question: &str, command: &str) -> Result<(), CliError> {
    if yes {
        return Ok(());
    }
    if !ctx.prompt.can_prompt() {
        let how = if command == "apply" {
            "pass --yes, or apply a reviewed plan file"
        } else {
            "pass --yes"
        };
        return Err(CliError::new(Kind::Failure, format!("{command} changes the repository and its remote, and there is no terminal to confirm it"))
            .hint(format!("{how}; nothing was changed")));
    }
    if ctx.prompt.ask(question, false).unwrap_or(false) {
        Ok(())
    } else {
        Err(CliError::new(Kind::Failure, "declined: nothing was changed"))
    }
}
