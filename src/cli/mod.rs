//! The command line: arguments, the shared context every command builds on, and dispatch.
//! Each command parses its arguments into the options of an operation ([`crate::ops`]),
//! calls it, and renders what it returns. Exit codes are decided in `cli/error.rs`, nowhere
//! else.

mod apply;
mod batch;
#[cfg(feature = "demo")]
mod demo;
mod error;
mod flow;
mod migrate;
mod plan;
mod rewrite;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use error::{CliError, Kind};

use std::collections::BTreeMap;

use crate::exec::Outcome;
use crate::exec::journal::Journal;
use crate::ops::{self, PlanOptions};
use crate::rewrite::{Resolutions, Verdict};
use crate::spec;
use crate::ui::Ui;

const EXIT_CODES: &str = "\
Exit codes:
  0    success; with --detailed-exitcode, nothing to do
  1    error: bad input, configuration, git or API failure
  2    plan/status --detailed-exitcode (split/prune with --dry-run): changes are pending
  3    refused: the repository changed since the plan, or a rollback would drop
       work pushed since (names what moved)
  4    refused: occurrences that need review are unresolved in a non-interactive apply
  5    apply or rollback stopped part way: the journal is kept; apply resumes, rollback undoes
  6    apply waits for a pull request to be merged (the CI rewrite, when the branch takes
       changes only through pull requests); apply goes on after the merge
  64   usage error
  130  interrupted

Environment:
  CLOUDFLARE_API_TOKEN     Pages API token (\"Account > Cloudflare Pages > Edit\"); CF_API_TOKEN too
  CLOUDFLARE_ACCOUNT_ID    default for --set cloudflare.account_id
  CLOUDFLARE_API_BASE_URL  the Pages API (plain http only to loopback)
  REBRANCH_PAGES_POLL_MS   deployment polling interval
  REBRANCH_HTTP_TIMEOUT_MS, REBRANCH_API_DEADLINE_MS   Pages request timeout, total deadline
  GH_TOKEN, GITHUB_TOKEN   GitHub token, in that order (no flag takes a token)
  GITHUB_API_URL           the GitHub API (plain http only to loopback)
  GITHUB_SERVER_URL        a GitHub Enterprise Server whose remotes are GitHub repositories
  NO_COLOR                 no colour, even on a terminal (CLICOLOR_FORCE=1: colour anyway)
  SOURCE_DATE_EPOCH        time of the CI rewrite commit (reproducible plans)
  CI                       never prompt
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
    /// Resolve a review item of the CI rewrite (repeatable); COLUMN is optional
    #[arg(long = "resolve", global = true, value_name = "PATH:LINE[:COLUMN]=rewrite|keep")]
    resolves: Vec<String>,
    /// Output format
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Plan against the remote-tracking refs as they are: fetch nothing first
    #[arg(long, global = true)]
    no_fetch: bool,
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
    /// Walk through the migration interactively: findings, plan, review items, one confirmation
    #[command(
        after_help = "Examples:\n  rebranch migrate\n  rebranch migrate --set cloudflare.project=helm-charts\n\nNeeds a terminal; in scripts use `rebranch plan` and `rebranch apply --yes`."
    )]
    Migrate(migrate::MigrateArgs),
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
    /// Rewrite CI/CD references to renamed branches in files, on their own
    #[command(
        after_help = "Examples:\n  rebranch rewrite --branch charts=release .github/ cr.yaml          # show the diff\n  rebranch rewrite --branch charts=release --write .github/\n  rebranch rewrite --branch gh-pages=release hack/publish.sh Makefile\n  rebranch rewrite --branch charts=release --format json .github/workflows/release.yml"
    )]
    Rewrite(rewrite::RewriteArgs),
    /// Run plan, apply, status or rollback across the repositories of a batch file
    #[command(after_help = batch::AFTER_HELP)]
    Batch(batch::BatchArgs),
    /// Print shell completions for bash, zsh, fish, elvish or powershell
    #[command(
        after_help = "Examples:\n  rebranch completions bash > ~/.local/share/bash-completion/completions/rebranch\n  rebranch completions zsh > \"${fpath[1]}/_rebranch\""
    )]
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    #[command(after_help = "Examples:\n  rebranch man > rebranch.1 && man ./rebranch.1")]
    Man,
    /// Push a branch per chart changed on integration: main plus that chart, nothing else
    #[command(after_help = flow::AFTER_HELP_SPLIT)]
    Split(flow::FlowArgs),
    /// Delete the chart branches whose change is on main; keep the others and say why
    #[command(after_help = flow::AFTER_HELP_PRUNE)]
    Prune(flow::FlowArgs),
    /// Build a throwaway sample repository and migrate it end to end (no network, no token)
    #[command(after_help = "Examples:\n  rebranch demo\n  rebranch demo --dir /tmp/sample")]
    #[cfg(feature = "demo")]
    Demo(demo::DemoArgs),
}

/// Runs the command line and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { error::code(Kind::Usage) } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let ui = Ui::new(cli.global.quiet, cli.global.verbose);
    let ctx = Ctx {
        global: &cli.global,
        ui,
        prompt: &ui,
        format: cli.global.format,
        env: BTreeMap::new(),
    };
    let result = match &cli.command {
        Command::Plan(a) => plan::cmd_plan(&ctx, a),
        Command::Apply(a) => apply::cmd_apply(&ctx, a),
        Command::Status(a) => plan::cmd_status(&ctx, a),
        Command::Migrate(a) => migrate::cmd_migrate(&ctx, a),
        Command::Rollback(a) => apply::cmd_rollback(&ctx, a),
        Command::Rewrite(a) => rewrite::cmd_rewrite(&ctx, a),
        Command::Batch(a) => batch::cmd_batch(&ctx, a),
        Command::Split(a) => flow::cmd_split(&ctx, a),
        Command::Prune(a) => flow::cmd_prune(&ctx, a),
        #[cfg(feature = "demo")]
        Command::Demo(a) => demo::cmd_demo(&ctx, a),
        Command::Completions { shell } => cmd_completions(&ctx, *shell),
        Command::Man => cmd_man(&ctx),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            error::print(&e, &ui);
            ExitCode::from(error::code(e.kind))
        }
    }
}

fn cmd_completions(ctx: &Ctx<'_>, shell: clap_complete::Shell) -> Result<u8, CliError> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "rebranch", &mut out);
    ctx.ui.out(&String::from_utf8_lossy(&out));
    Ok(0)
}

fn cmd_man(ctx: &Ctx<'_>) -> Result<u8, CliError> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| CliError::new(Kind::Failure, format!("cannot render the man page: {e}")))?;
    ctx.ui.out(&String::from_utf8_lossy(&out));
    Ok(0)
}

/// What every command shares: the global arguments, the terminal, the output format and
/// the environment.
struct Ctx<'a> {
    global: &'a GlobalArgs,
    ui: Ui,
    /// Where questions go: the terminal, or scripted answers in tests.
    prompt: &'a dyn crate::ui::Prompt,
    format: Format,
    /// Values that take precedence over the process environment (the demo's stand-in).
    env: BTreeMap<String, String>,
}

impl Ctx<'_> {
    fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// The options of the planning operations, from the global arguments: the repository,
    /// the plan file, `--set` values and `--resolve` decisions, `--no-fetch`.
    fn plan_options(&self) -> Result<PlanOptions, CliError> {
        let g = self.global;
        Ok(PlanOptions {
            repo_path: g.repo.clone(),
            plan_file: g.plan_file.clone(),
            sets: parse_sets(&g.sets)?,
            resolves: parse_resolves(&g.resolves)?,
            no_fetch: g.no_fetch,
        })
    }

    /// An environment variable, with the context's overrides first.
    fn env(&self, key: &str) -> Option<String> {
        self.env.get(key).cloned().or_else(|| std::env::var(key).ok())
    }

    /// The environment lookup the operations take ([`ops::Services::new`]).
    fn lookup(&self) -> impl Fn(&str) -> Option<String> + '_ {
        move |k| self.env(k)
    }

    fn open(&self) -> Result<git2::Repository, CliError> {
        ops::open(&self.global.repo)
    }

    /// Observes the repository and computes the plan `opts` ask for.
    fn plan(
        &self,
        repo: &git2::Repository,
        opts: &PlanOptions,
    ) -> Result<ops::plan::Planned, CliError> {
        let env = self.lookup();
        ops::plan::plan(repo, opts, &ops::Services::new(&env), &self.ui)
    }
}

/// How a command shows the steps of a run: a line per step, spinners, or a batch
/// repository's line.
trait StepView: crate::exec::Progress {
    /// Where a service's polls are drawn (a deployment's stage).
    fn polls(&self, ui: &Ui) -> Box<dyn crate::service::Polls> {
        Box::new(ui.deploy_progress())
    }
    /// What a batch's repository is doing.
    fn phase(&mut self, _what: &str) {}
    /// Steps are about to run.
    fn started(&mut self, _ui: &Ui) {}
}

impl StepView for crate::ui::StepLines {}

impl StepView for crate::ui::RepoProgress {
    fn phase(&mut self, what: &str) {
        crate::ui::RepoProgress::phase(self, what);
    }
}

impl StepView for crate::ui::Spinners {
    fn polls(&self, _ui: &Ui) -> Box<dyn crate::service::Polls> {
        Box::new(self.deployments())
    }

    fn started(&mut self, ui: &Ui) {
        ui.status("");
    }
}

/// Progress of an operation for a person: notices through the terminal, steps to `steps`,
/// the run's JSON outcome on stdout when asked for, Ctrl-C handled once steps run. Every
/// command's runs (apply, rollback, migrate, each repository of a batch) report through it.
struct Sink<'s> {
    ui: Ui,
    steps: &'s mut dyn StepView,
    /// Print the outcome document when the run ends (`--format json`).
    outcome_json: bool,
}

impl ops::Notices for Sink<'_> {
    fn status(&self, text: &str) {
        self.ui.status(text);
    }

    fn warn(&self, text: &str) {
        self.ui.warn(text);
    }
}

impl crate::exec::Progress for Sink<'_> {
    fn event(&mut self, step: &crate::plan::Step, event: crate::exec::StepEvent<'_>) {
        self.steps.event(step, event);
    }
}

impl ops::Progress for Sink<'_> {
    fn polls(&self) -> Box<dyn crate::service::Polls> {
        self.steps.polls(&self.ui)
    }

    fn started(&mut self) {
        stop_on_interrupt();
        self.steps.started(&self.ui);
    }

    fn phase(&mut self, what: &str) {
        self.steps.phase(what);
    }

    fn finished(&mut self, command: &str, journal: &Journal, outcome: &Outcome) {
        if self.outcome_json {
            self.ui.out(&outcome_json(journal, outcome, command));
        }
    }
}

/// An apply's or rollback's outcome as a JSON document (`--format json`).
fn outcome_json(journal: &Journal, outcome: &Outcome, command: &str) -> String {
    let doc = serde_json::json!({
        "format_version": crate::plan::FORMAT_VERSION,
        "command": command,
        "run": journal.run,
        "journal": journal.path.display().to_string(),
        "applied": outcome.applied,
        "already": outcome.already,
        "complete": outcome.is_complete(),
        "stopped": outcome.stopped.as_ref().map(|s| serde_json::json!({"step": s.step, "reason": s.reason, "moved": s.moved, "waiting": s.waiting})),
    });
    format!("{}\n", serde_json::to_string_pretty(&doc).unwrap_or_default())
}

/// From here on, Ctrl-C lets the step in progress finish, then stops the run with the
/// journal consistent (exit 130); a second Ctrl-C stops at once.
fn stop_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        if crate::exec::interrupted() {
            std::process::exit(i32::from(error::code(Kind::Interrupted)));
        }
        crate::exec::interrupt();
        eprintln!("\nStopping after the step in progress… (Ctrl-C again to stop at once)");
    });
}

/// Parses `--set KEY=VALUE` values.
fn parse_sets(given: &[String]) -> Result<Vec<(String, String)>, CliError> {
    Ok(given.iter().map(|s| spec::parse_set(s)).collect::<Result<Vec<_>, _>>()?)
}

/// Parses `--resolve` values into review decisions.
fn parse_resolves(given: &[String]) -> Result<Resolutions, CliError> {
    let mut resolutions = Resolutions::default();
    for r in given {
        let (key, verdict) = parse_resolve(r)?;
        resolutions.insert(key, verdict);
    }
    Ok(resolutions)
}

/// Parses `PATH:LINE[:COLUMN]=rewrite|keep`, as a usage error when it is not.
fn parse_resolve(given: &str) -> Result<((String, usize, usize), Verdict), CliError> {
    spec::parse_resolve(given).ok_or_else(|| {
        CliError::new(
            Kind::Usage,
            format!("`--resolve {given}` is not PATH:LINE[:COLUMN]=rewrite|keep"),
        )
        .hint("e.g. --resolve .github/workflows/release.yml:12:41=rewrite")
    })
}

/// Writes a file atomically, or says which file could not be written.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    crate::atomic::write_atomic(path, bytes)
        .map_err(|e| CliError::new(Kind::Failure, format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn resolve_arguments_parse() {
        let v = |s: &str| super::parse_resolve(s).map(|(k, v)| (k.0, k.1, k.2, v));
        use crate::rewrite::Verdict::*;
        assert_eq!(v("a/b.yml:12:41=rewrite").unwrap(), ("a/b.yml".into(), 12, 41, Rewrite));
        assert_eq!(v("a/b.yml:12=keep").unwrap(), ("a/b.yml".into(), 12, 0, Keep));
        assert!(v("a/b.yml=keep").is_err());
        assert!(v("a/b.yml:x=keep").is_err());
        assert!(v("a/b.yml:3=maybe").is_err());
    }

    #[test]
    fn cli_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
