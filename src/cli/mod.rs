//! The command line: arguments, the shared context every command builds on, and dispatch.
//! Exit codes are decided in [`error`] and here, nowhere else.

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

use crate::cloudflare::{Config, ConfigError, PagesClient, PollOptions, ProjectState};
use crate::exec::effects::{GitEffects, PagesAccess};
use crate::http::{ReqwestTransport, TransportOptions};
use crate::observe::{self, Observation};
use crate::plan::Plan;
use crate::rewrite::Verdict;
use crate::spec::{self, Spec, Target};
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
    #[cfg(feature = "demo")]
    #[command(after_help = "Examples:\n  rebranch demo\n  rebranch demo --dir /tmp/sample")]
    Demo(demo::DemoArgs),
}

/// Runs the command line and returns the process exit code.
pub fn run(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { Kind::Usage.code() } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let ui = Ui::new(cli.global.quiet, cli.global.verbose);
    let ctx = Ctx { global: &cli.global, ui, env: BTreeMap::new() };
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
            e.print(&ui);
            ExitCode::from(e.kind.code())
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

/// What every command shares: the global arguments, the terminal, and the environment.
struct Ctx<'a> {
    global: &'a GlobalArgs,
    ui: Ui,
    /// Values that take precedence over the process environment (the demo's stand-in).
    env: BTreeMap<String, String>,
}

impl Ctx<'_> {
    fn json(&self) -> bool {
        self.global.format == Format::Json
    }

    /// The plan file, parsed, and its variables resolved from the environment and --set.
    fn target(&self) -> Result<Target, CliError> {
        self.request(None)?.target(&|k| self.env(k))
    }

    /// What the user asked for: the plan file, the `--set` values and `--resolve` decisions.
    /// In a repository whose last apply was not rolled back, a command given neither a plan
    /// file nor `--set` takes that run's plan and variables (so `status` after
    /// `apply --set main=master` checks the same migration); `--set` values that differ from
    /// those of a run that stopped part way are refused.
    fn request(&self, repo: Option<&git2::Repository>) -> Result<Request, CliError> {
        let sets =
            self.global.sets.iter().map(|s| spec::parse_set(s)).collect::<Result<Vec<_>, _>>()?;
        let mut resolutions = crate::rewrite::Resolutions::default();
        for r in &self.global.resolves {
            let (key, verdict) = parse_resolve(r)?;
            resolutions.insert(key, verdict);
        }
        let last = match repo {
            Some(repo) => crate::exec::journal::Journal::latest(
                &crate::exec::journal::Journal::dir(&state_dir(repo)),
            )?
            .filter(|j| !j.rolled_back),
            None => None,
        };
        if let Some(j) = &last
            && self.global.plan_file.is_none()
            && sets.is_empty()
        {
            let spec = match j.plan.plan.source.as_str() {
                spec::BUILTIN_SOURCE => Spec::builtin(),
                path => Spec::load(Path::new(path))?,
            };
            let sets = j.plan.variables.clone().into_iter().collect();
            return Ok(Request { spec, sets, resolutions, remembered: Some(j.run.clone()) });
        }
        let spec = match &self.global.plan_file {
            Some(path) => Spec::load(path)?,
            None => Spec::builtin(),
        };
        if let Some(j) = last.filter(|j| j.is_unfinished()) {
            check_same_run(&j, &spec, &sets)?;
        }
        Ok(Request { spec, sets, resolutions, remembered: None })
    }

    /// An environment variable, with the context's overrides first.
    fn env(&self, key: &str) -> Option<String> {
        self.env.get(key).cloned().or_else(|| std::env::var(key).ok())
    }

    /// The Pages API client, when the plan names a project.
    fn pages_client(
        &self,
        target: &Target,
    ) -> Result<Option<PagesClient<ReqwestTransport>>, CliError> {
        match target.pages.as_ref().filter(|p| !p.project.is_empty()) {
            Some(p) => self.pages_client_for(&p.project, &p.account_id).map(Some),
            None => Ok(None),
        }
    }

    /// A Pages API client for `project` in `account` (empty: from the environment).
    fn pages_client_for(
        &self,
        project: &str,
        account: &str,
    ) -> Result<PagesClient<ReqwestTransport>, CliError> {
        let pages_err = |e: ConfigError| {
            CliError::new(Kind::Failure, e.to_string())
                .cause(format!("the plan switches Pages project \"{project}\""))
        };
        let mut config = Config::from_env(|k| self.env(k)).map_err(pages_err)?;
        if !account.is_empty() {
            config.account_id = Some(account.to_string());
        }
        config.require_account().map_err(pages_err)?;
        for w in &config.warnings {
            self.ui.warn(w);
        }
        let millis = |key: &str| {
            self.env(key).and_then(|v| v.parse().ok()).map(std::time::Duration::from_millis)
        };
        let mut options = TransportOptions::default();
        if let Some(t) = millis("REBRANCH_HTTP_TIMEOUT_MS") {
            options.timeout = t;
            options.connect_timeout = options.connect_timeout.min(t);
        }
        let transport = ReqwestTransport::new(options).map_err(|e| {
            CliError::new(Kind::Failure, format!("cannot set up HTTPS: {}", e.message))
        })?;
        let client = PagesClient::new(transport, &config).map_err(pages_err)?;
        Ok(match millis("REBRANCH_API_DEADLINE_MS") {
            Some(deadline) => {
                let policy = crate::cloudflare::RetryPolicy { deadline, ..*client.policy() };
                client.with_retry_policy(policy)
            }
            None => client,
        })
    }

    /// Everything a plan's Pages step needs at apply or rollback time.
    fn pages_access(&self, plan: &Plan) -> Result<Option<PagesAccess>, CliError> {
        self.pages_access_with(plan, Box::new(self.ui.deploy_progress()))
    }

    /// Like [`Ctx::pages_access`], with deployment progress going to `progress`.
    fn pages_access_with(
        &self,
        plan: &Plan,
        progress: Box<dyn crate::cloudflare::Progress>,
    ) -> Result<Option<PagesAccess>, CliError> {
        let switch = plan.actions.iter().find_map(|s| match &s.action {
            crate::plan::Action::Pages(p) => Some(&p.switch),
            _ => None,
        });
        let Some(switch) = switch else { return Ok(None) };
        let client = self.pages_client_for(&switch.project, &switch.account_id)?;
        let mut poll = PollOptions::default();
        if let Some(ms) = self.env("REBRANCH_PAGES_POLL_MS").and_then(|v| v.parse().ok()) {
            poll.interval = std::time::Duration::from_millis(ms);
        }
        Ok(Some(PagesAccess { client, poll, progress }))
    }

    /// The hosted services (GitHub) whose settings `plan` changes, ready for an apply or
    /// rollback.
    fn with_services<'r>(
        &self,
        fx: GitEffects<'r>,
        plans: &[&Plan],
    ) -> Result<GitEffects<'r>, CliError> {
        for plan in plans {
            let service = crate::github::setup::service(plan, &|k| self.env(k))
                .map_err(|e| CliError::new(Kind::Failure, e.to_string()))?;
            if let Some(service) = service {
                return Ok(fx.with_service(crate::github::forge::SERVICE, Box::new(service)));
            }
        }
        Ok(fx)
    }

    /// Reads the Pages project the target names, if any.
    fn observe_pages(&self, target: &Target) -> Result<Option<ProjectState>, CliError> {
        let Some(client) = self.pages_client(target)? else { return Ok(None) };
        let project = target.pages.as_ref().map(|p| p.project.as_str()).unwrap_or_default();
        let state = crate::cloudflare::observe(&client, project)
            .map_err(|e| CliError::new(Kind::Failure, e.to_string()))?;
        Ok(Some(state))
    }

    fn open(&self) -> Result<git2::Repository, CliError> {
        Ok(observe::open(&self.global.repo)?)
    }

    /// Observes the repository and computes the plan.
    fn plan(&self, repo: &git2::Repository) -> Result<(Target, Observation, Plan), CliError> {
        let request = self.request(Some(repo))?;
        let (target, listing, detected) = self.detect(repo, &request)?;
        let (obs, mut plan) = self.plan_with(repo, &target, listing)?;
        plan.notes.splice(0..0, crate::detect::note(&detected));
        if let Some(run) = &request.remembered {
            plan.notes.insert(0, format!(
                "the plan and variables of the last apply (run {run}) are used; give --plan or --set to plan another migration"
            ));
        }
        Ok((target, obs, plan))
    }

    /// Connects to the remote once (fetching the branches the plan reads, unless
    /// `--no-fetch`) and gives the variables that were not set and whose defaults are absent
    /// the branches found there. Returns the final target, the listing and what was found.
    fn detect(
        &self,
        repo: &git2::Repository,
        request: &Request,
    ) -> Result<(Target, crate::git::remote::RemoteListing, Vec<crate::detect::Detected>), CliError>
    {
        let env = |k: &str| self.env(k);
        let target = request.target(&env)?;
        let explicit = request.explicit();
        let also = |l: &crate::git::remote::RemoteListing| {
            crate::detect::candidates(&request.spec, &target, &explicit, l)
        };
        let names = observe::target_names(&target);
        let listing = observe::connect(repo, &target.remote, &names, self.global.no_fetch, &also)?;
        let holds = |tip: git2::Oid, files: &[String]| {
            files.iter().all(|f| observe::has_file(repo, tip, f))
        };
        let detected = crate::detect::detect(&request.spec, &target, &explicit, &listing, &holds)
            .map_err(|e| {
            let key = e.key.clone();
            CliError::new(Kind::Failure, e.to_string())
                .hint(format!("name the one to use with --set {key}=NAME"))
        })?;
        if detected.is_empty() {
            return Ok((target, listing, detected));
        }
        let mut sets = request.sets.clone();
        sets.extend(detected.iter().map(|d| (d.key.clone(), d.value.clone())));
        let detected_request = Request { sets, ..request.clone() };
        Ok((detected_request.target(&env)?, listing, detected))
    }

    /// Observes the repository (its remote as `listing` shows it) and computes the plan for
    /// a given target.
    fn plan_with(
        &self,
        repo: &git2::Repository,
        target: &Target,
        listing: crate::git::remote::RemoteListing,
    ) -> Result<(Observation, Plan), CliError> {
        let target = target.clone();
        let pages = self.observe_pages(&target)?;
        let fetch_warnings = listing.warnings.clone();
        let mut obs = observe::observe(repo, &target, pages, listing)?;
        let github = crate::github::setup::observe(&target, &obs, &|k| self.env(k))
            .map_err(|e| CliError::new(Kind::Failure, e.to_string()))?;
        obs.services.extend(github);
        let mut plan = crate::plan::build(&target, &obs, repo)?;
        plan.warnings.extend(fetch_warnings);
        if let Some(hint) = self.suggest_pages_project(&target, &obs) {
            plan.warnings.push(hint);
        }
        Ok((obs, plan))
    }

    /// When no Pages project is named but the API is reachable, the projects of the account
    /// whose git source is this repository, as a hint.
    fn suggest_pages_project(&self, target: &Target, obs: &Observation) -> Option<String> {
        let pages = target.pages.as_ref().filter(|p| p.project.is_empty())?;
        self.env("CLOUDFLARE_API_TOKEN").filter(|t| !t.is_empty())?;
        let slug = crate::observe::ci::github_slug(&obs.remote_url)?;
        let (owner, name) = slug.split_once('/')?;
        let client = self.pages_client_for("(any)", &pages.account_id).ok()?;
        let found = crate::cloudflare::projects_for_repository(&client, owner, name).ok()?;
        match found.as_slice() {
            [] => None,
            [one] => Some(format!(
                "Pages project \"{one}\" in this account builds from {slug}: to switch it too, run with --set cloudflare.project={one}"
            )),
            many => Some(format!(
                "Pages projects building from {slug} in this account: {}; name the one that serves the Helm index with --set cloudflare.project=NAME",
                many.join(", ")
            )),
        }
    }
}

/// The plan file and variables a command runs with, before the remote is looked at.
#[derive(Clone)]
struct Request {
    spec: Spec,
    sets: Vec<(String, String)>,
    resolutions: crate::rewrite::Resolutions,
    /// The run whose plan and variables were taken, when none were given.
    remembered: Option<String>,
}

impl Request {
    fn target(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Target, CliError> {
        let mut target = self.spec.resolve(&self.sets, env)?;
        target.resolutions = self.resolutions.clone();
        Ok(target)
    }

    /// The variables given a value by the user (or by the remembered run).
    fn explicit(&self) -> std::collections::BTreeSet<String> {
        self.sets.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// A run that stopped part way is finished or undone with its own plan and variables:
/// other values would plan a different migration on top of half of this one.
fn check_same_run(
    journal: &crate::exec::journal::Journal,
    spec: &Spec,
    sets: &[(String, String)],
) -> Result<(), CliError> {
    let recorded = &journal.plan.variables;
    let mut err = None;
    for (key, value) in sets {
        match recorded.get(key) {
            Some(was) if was != value => {
                err = Some(format!("--set {key}={value}, but the run used {key}={was}"));
                break;
            }
            _ => {}
        }
    }
    if err.is_none() && spec.source != journal.plan.plan.source {
        err = Some(format!("plan {}, but the run used {}", spec.source, journal.plan.plan.source));
    }
    match err {
        None => Ok(()),
        Some(why) => Err(CliError::new(
            Kind::Failure,
            format!("an apply stopped part way (run {}) with other values: {why}", journal.run),
        )
        .cause("nothing was changed")
        .hint("finish that run first with `rebranch apply` (no --set needed: it keeps its values), or undo it with `rebranch rollback`; then plan with the new values")),
    }
}

/// From here on, Ctrl-C lets the step in progress finish, then stops the run with the
/// journal consistent (exit 130); a second Ctrl-C stops at once.
fn stop_on_interrupt() {
    let _ = ctrlc::set_handler(|| {
        if crate::exec::interrupted() {
            std::process::exit(130);
        }
        crate::exec::interrupt();
        eprintln!("\nStopping after the step in progress… (Ctrl-C again to stop at once)");
    });
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

/// `.git/rebranch/` of a repository (shared by all its worktrees).
fn state_dir(repo: &git2::Repository) -> PathBuf {
    repo.commondir().join("rebranch")
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
