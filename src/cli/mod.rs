//! The command line: arguments, the shared context every command builds on, and dispatch.
//! Exit codes are decided in [`error`] and here, nowhere else.

mod apply;
mod demo;
mod error;
mod plan;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use error::{CliError, Kind};

use crate::observe::{self, Observation};
use crate::plan::Plan;
use crate::spec::{self, Spec, Target};
use crate::ui::Ui;

const EXIT_CODES: &str = "\
Exit codes:
  0    success; with --detailed-exitcode, nothing to do
  1    error: bad input, configuration, git or API failure
  2    plan/status --detailed-exitcode: changes are pending
  3    refused: the repository changed since the plan (names what moved)
  4    refused: occurrences that need review are unresolved in a non-interactive apply
  5    apply or rollback stopped part way: the journal is kept; apply resumes, rollback undoes
  64   usage error
  130  interrupted

Environment:
  NO_COLOR                 no colour, even on a terminal
  CLOUDFLARE_ACCOUNT_ID    default for --set cloudflare.account_id
  Git credentials come from your git setup (credential helpers, ssh-agent).";

/// Migrate a git repository to a new branch architecture: planned, previewed, applied
/// exactly, verified, and reversible.
#[derive(Debug, Parser)]
#[command(name = "rebranch", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Repository to migrate
    #[arg(long, global = true, value_name = "DIR", default_value = ".")]
    repo: PathBuf,
    /// Plan file describing the target architecture [default: the built-in ADR-002 plan]
    #[arg(long = "plan", global = true, value_name = "FILE")]
    plan_file: Option<PathBuf>,
    /// Set a plan variable (repeatable), e.g. --set main=master
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print only results and errors
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print more detail (repeatable)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
}

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show the whole migration as a diff; changes nothing
    #[command(
        after_help = "Examples:\n  rebranch plan\n  rebranch plan --set main=master --out plan.json\n  rebranch plan --detailed-exitcode   # exit 2 when changes are pending"
    )]
    Plan(plan::PlanArgs),
    /// Apply the migration: a reviewed plan file exactly, or a fresh plan with --yes
    #[command(
        after_help = "Examples:\n  rebranch apply plan.json   # exactly the reviewed plan; refused if the repository moved\n  rebranch apply --yes       # plan and apply in one go\n  rebranch apply             # after a failure: resume the stopped run"
    )]
    Apply(apply::ApplyArgs),
    /// Say whether the repository matches the plan's target, and what is left
    #[command(
        after_help = "Examples:\n  rebranch status\n  rebranch status --detailed-exitcode   # exit 2 when the migration is not complete"
    )]
    Status(plan::StatusArgs),
    /// Undo the last apply, step by step, from its journal
    #[command(
        after_help = "Examples:\n  rebranch rollback        # shows what it will undo and asks\n  rebranch rollback --yes"
    )]
    Rollback(apply::RollbackArgs),
    /// Build a throwaway sample repository and migrate it end to end (no network, no token)
    #[command(after_help = "Examples:\n  rebranch demo\n  rebranch demo --dir /tmp/sample")]
    Demo(demo::DemoArgs),
}

/// Runs the command line and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 64 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let ui = Ui::new(cli.global.quiet, cli.global.verbose);
    let ctx = Ctx {
        global: &cli.global,
        ui,
    };
    let result = match &cli.command {
        Command::Plan(a) => plan::cmd_plan(&ctx, a),
        Command::Apply(a) => apply::cmd_apply(&ctx, a),
        Command::Status(a) => plan::cmd_status(&ctx, a),
        Command::Rollback(a) => apply::cmd_rollback(&ctx, a),
        Command::Demo(a) => demo::cmd_demo(&ctx, a),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            e.print(&ui);
            ExitCode::from(e.kind.code())
        }
    }
}

/// What every command shares: the global arguments and the terminal.
struct Ctx<'a> {
    global: &'a GlobalArgs,
    ui: Ui,
}

impl Ctx<'_> {
    fn json(&self) -> bool {
        self.global.format == Format::Json
    }

    /// The plan file, parsed, and its variables resolved from the environment and --set.
    fn target(&self) -> Result<Target, CliError> {
        let spec = match &self.global.plan_file {
            Some(path) => Spec::load(path)?,
            None => Spec::builtin(),
        };
        let sets = self
            .global
            .sets
            .iter()
            .map(|s| spec::parse_set(s))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(spec.resolve(&sets, &|key| std::env::var(key).ok())?)
    }

    fn open(&self) -> Result<git2::Repository, CliError> {
        Ok(observe::open(&self.global.repo)?)
    }

    /// Observes the repository and computes the plan.
    fn plan(&self, repo: &git2::Repository) -> Result<(Target, Observation, Plan), CliError> {
        let target = self.target()?;
        let obs = observe::observe(repo, &target)?;
        let plan = crate::plan::build(&target, &obs)?;
        Ok((target, obs, plan))
    }
}

/// `.git/rebranch/` of a repository (shared by all its worktrees).
fn state_dir(repo: &git2::Repository) -> PathBuf {
    repo.commondir().join("rebranch")
}

/// Writes a file atomically: a temporary file beside it, synced, then renamed over it.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| {
        CliError::new(
            Kind::Failure,
            format!("cannot write {}: {e}", path.display()),
        )
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
