//! `rebranch demo`: builds the sample repository and runs plan → apply → status → rollback
//! on it, printing each as a user would see it.

use std::path::PathBuf;

use clap::Args;

use super::{CliError, Ctx, Format, GlobalArgs, Kind};
use super::{apply, plan};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the sample [default: a new directory under the system's temp dir]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn cmd_demo(ctx: &Ctx<'_>, args: &DemoArgs) -> Result<u8, CliError> {
    let root = match &args.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(&format!("cannot create {}: {e}", dir.display())))?;
            dir.clone()
        }
        None => tempfile::Builder::new()
            .prefix("rebranch-demo-")
            .tempdir()
            .map_err(|e| fail(&format!("cannot create a temporary directory: {e}")))?
            .keep(),
    };
    let sample = crate::demo::create(&root)?;
    ctx.ui.status(&format!(
        "Built a sample Helm chart repository in {} (its remote: {}).\nNo network and no token are used.\n",
        sample.clone.display(),
        sample.origin.display()
    ));
    let global = GlobalArgs {
        repo: sample.clone.clone(),
        plan_file: None,
        sets: Vec::new(),
        format: Format::Text,
        quiet: ctx.global.quiet,
        verbose: ctx.global.verbose,
    };
    let inner = Ctx {
        global: &global,
        ui: ctx.ui,
    };
    let show = |cmd: &str| {
        inner.ui.out(&format!(
            "\n{} {cmd}\n\n",
            inner.ui.out_style.bold("$ rebranch")
        ))
    };
    show("plan");
    plan::cmd_plan(&inner, &plan::PlanArgs::default())?;
    show("apply --yes");
    apply::cmd_apply(&inner, &apply::ApplyArgs::yes())?;
    show("status");
    plan::cmd_status(&inner, &plan::StatusArgs::default())?;
    show("plan");
    plan::cmd_plan(&inner, &plan::PlanArgs::default())?;
    show("rollback --yes");
    apply::cmd_rollback(&inner, &apply::RollbackArgs { yes: true })?;
    show("status");
    plan::cmd_status(&inner, &plan::StatusArgs::default())?;
    inner.ui.out(&format!(
        "\nThe sample is left in {} for you to explore:\n  cd {}\n  git log --oneline --all --graph\n  rebranch plan\n",
        root.display(),
        sample.clone.display()
    ));
    Ok(0)
}

fn fail(message: &str) -> CliError {
    CliError::new(Kind::Failure, message)
}
