//! `rebranch migrate`: the guided one-shot migration for a person at a terminal. It says
//! what it found, shows the plan exactly as `plan` does, asks about each review item (and
//! remembers the answers), asks once for the whole plan, applies it with live progress,
//! and on failure offers to roll back at once.

use std::collections::BTreeMap;
use std::path::Path;

use clap::Args;

use super::{CliError, Ctx, Kind};
use crate::exec::journal::Journal;
use crate::exec::{self, Outcome};
use crate::observe::Observation;
use crate::ops::plan::Detection;
use crate::ops::request::Request;
use crate::ops::{self, PlanOptions};
use crate::plan::rewrite::ReviewItem;
use crate::plan::{Action, Plan};
use crate::render;
use crate::rewrite::Verdict;
use crate::spec::Target;
use crate::ui::Cancelled;

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Switch a site without waiting for it to serve the new branch (no Pages deployment or build, no index check)
    #[arg(long)]
    no_verify: bool,
}

pub fn cmd_migrate(ctx: &Ctx<'_>, args: &MigrateArgs) -> Result<u8, CliError> {
    if !ctx.prompt.can_prompt() {
        return Err(CliError::new(
            Kind::Failure,
            "migrate asks questions, and there is no terminal to ask them on (or CI is set)",
        )
        .hint("review with `rebranch plan`, then apply with `rebranch apply --yes` or `rebranch apply plan.json`"));
    }
    let repo = ctx.open()?;
    if let Some(u) = ops::status::unfinished(&repo)? {
        return Err(CliError::new(
            Kind::Failure,
            format!("an apply stopped part way ({}); not starting another", u.describe()),
        )
        .hint("`rebranch apply` resumes it; `rebranch rollback` undoes it"));
    }
    let answers = ops::request::answers_path(&repo);
    let opts = ctx.plan_options()?;
    let request = ops::request::request(&opts, Some(&repo))?;
    let env = ctx.lookup();
    let services = ops::Services::new(&env);
    let found = ops::plan::detect(&repo, &opts, &request, &services)?;
    let (mut target, listing, detected) =
        confirm_detected(ctx, &repo, &opts, &request, &services, found)?;
    for (k, v) in ops::request::load_answers(&answers)? {
        target.resolutions.entry(k).or_insert(v);
    }
    let style = ctx.ui.out_style;
    ctx.ui.out(&format!(
        "{}\n\nrebranch moves this repository to {} ({}).\nNothing changes until you confirm, and every step can be rolled back.\n\n",
        style.bold("rebranch migrate"),
        target.plan_name,
        target.plan_source
    ));
    let env = setup_pages(ctx, &mut target).map_err(cancelled)?;
    let lookup = |k: &str| env.get(k).cloned().or_else(|| ctx.env(k));
    let services = ops::Services::new(&lookup);
    let (mut obs, mut plan) =
        ops::plan::plan_with(&repo, &target, listing.clone(), &services, &ctx.ui)?;
    plan.notes.splice(0..0, crate::detect::note(&detected));
    ctx.ui.out(&findings(&repo, &target, &obs, &plan));
    if plan.is_empty() {
        ctx.ui.out(&format!(
            "\nNothing to do: the repository already matches {}.\n",
            target.plan_name
        ));
        return Ok(0);
    }
    ctx.ui.out(&format!("\n{}\n\n{}", style.bold("The plan"), render::plan_text(&plan, style)));
    if !plan.reviews.is_empty() {
        review(ctx, &plan.reviews, &mut target, &answers)?;
        (obs, plan) = ops::plan::plan_with(&repo, &target, listing, &services, &ctx.ui)?;
        plan.notes.splice(0..0, crate::detect::note(&detected));
        ctx.ui.out(&format!(
            "\n{}\n\n{}",
            style.bold("The plan, with your answers"),
            render::plan_text(&plan, style)
        ));
    }
    ctx.ui.out(&teammates_note(&target, &plan));
    let question = format!("Apply these {} changes?", plan.actions.len());
    if !ctx.prompt.ask(&question, false).map_err(cancelled)? {
        ctx.ui.out("Nothing was changed.\n");
        return Ok(0);
    }
    apply(ctx, &services, &repo, plan, obs.listing, args.no_verify, &target)
}

/// Asks about each branch found on the remote (the plan did not name it and its default is
/// absent), with the one found preselected, before any other question.
fn confirm_detected(
    ctx: &Ctx<'_>,
    repo: &git2::Repository,
    opts: &PlanOptions,
    request: &Request,
    services: &ops::Services<'_>,
    found: Detection,
) -> Result<Detection, CliError> {
    let mut sets = request.sets.clone();
    let mut changed = false;
    for d in &found.2 {
        let items = vec![format!("{} ({})", d.value, d.why), "another branch".to_string()];
        let question = format!("Which branch is `{}` of the plan?", d.key);
        if ctx.prompt.select(&question, &items, 0).map_err(cancelled)? == 1 {
            let name = ctx.prompt.input(&format!("Branch for `{}`", d.key)).map_err(cancelled)?;
            sets.push((d.key.clone(), name.trim().to_string()));
            changed = true;
        }
    }
    if !changed {
        return Ok(found);
    }
    let chosen = Request { sets, ..request.clone() };
    ops::plan::detect(repo, opts, &chosen, services)
}

/// Names the Pages project (and asks for what is missing to reach it), or leaves the
/// Pages step out when the hosting is elsewhere. Returns the environment to use.
fn setup_pages(ctx: &Ctx<'_>, target: &mut Target) -> Result<BTreeMap<String, String>, Cancelled> {
    let mut env = ctx.env.clone();
    let Some(pages) = target.pages.as_mut() else { return Ok(env) };
    if pages.project.is_empty() {
        let items = vec![
            "Yes: switch its production branch as part of the migration".to_string(),
            "No, or not now: leave the hosting as it is".to_string(),
        ];
        let question = "Is the Helm index served by a Cloudflare Pages project?";
        if ctx.prompt.select(question, &items, 0)? == 1 {
            return Ok(env);
        }
    }
    let lookup = |env: &BTreeMap<String, String>, k: &str| {
        env.get(k).cloned().or_else(|| ctx.env(k)).filter(|v| !v.is_empty())
    };
    if lookup(&env, "CLOUDFLARE_API_TOKEN").is_none() && lookup(&env, "CF_API_TOKEN").is_none() {
        ctx.ui.status("A token with \"Account › Cloudflare Pages › Edit\" is needed (set CLOUDFLARE_API_TOKEN to skip this question next time).");
        let token = ctx.prompt.secret("Cloudflare API token")?;
        env.insert("CLOUDFLARE_API_TOKEN".into(), token);
    }
    if pages.account_id.is_empty() {
        match lookup(&env, "CLOUDFLARE_ACCOUNT_ID") {
            Some(id) => pages.account_id = id,
            None => {
                ctx.ui.status("The account id is the 32-character id in the dashboard's URL (CLOUDFLARE_ACCOUNT_ID skips this question).");
                pages.account_id = ctx.prompt.input("Cloudflare account id")?;
            }
        }
    }
    if !pages.project.is_empty() {
        return Ok(env);
    }
    let lookup = |k: &str| env.get(k).cloned().or_else(|| ctx.env(k));
    let names = ops::Services::new(&lookup).projects(&pages.account_id, &ctx.ui);
    pages.project = match names.len() {
        0 => ctx.prompt.input("Pages project name")?,
        1 => names[0].clone(),
        _ => names[ctx.prompt.select("Which Pages project serves the Helm index?", &names, 0)?]
            .clone(),
    };
    target.variables.insert("cloudflare.project".into(), pages.project.clone());
    Ok(env)
}

/// Step 1: what was found.
fn findings(repo: &git2::Repository, target: &Target, obs: &Observation, plan: &Plan) -> String {
    let mut out = String::from("What I found\n\n");
    out.push_str(&format!("  remote       {} {}\n", obs.remote, obs.remote_url));
    if let Some(d) = &obs.remote_default {
        out.push_str(&format!("  default      {d}\n"));
    }
    for b in &target.branches {
        let state = obs
            .remote_heads
            .get(&b.name)
            .map_or("absent".to_string(), |o| format!("at {}", crate::git::short(*o)));
        out.push_str(&format!("  branch       {} {state} (target: {})\n", b.name, b.origin));
    }
    for (old, _) in target.renames() {
        let state = obs
            .remote_heads
            .get(old)
            .map_or("absent".to_string(), |o| format!("at {}", crate::git::short(*o)));
        out.push_str(&format!("  branch       {old} {state} (to be renamed)\n"));
    }
    let main = target.existing().next().and_then(|m| obs.remote_heads.get(m));
    let charts = main.map(|m| crate::observe::charts(repo, *m)).unwrap_or_default();
    if !charts.is_empty() {
        out.push_str(&format!("  charts       {}\n", charts.join(", ")));
    }
    let mut files: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|s| match &s.action {
            Action::CiCommit(c) => {
                Some(c.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>())
            }
            _ => None,
        })
        .flatten()
        .chain(plan.reviews.iter().map(|r| r.path.as_str()))
        .collect();
    files.sort();
    files.dedup();
    if !files.is_empty() {
        out.push_str(&format!(
            "  CI files     {} name the old branch: {}\n",
            files.len(),
            files.join(", ")
        ));
    }
    let hosting: Vec<&String> = obs
        .services
        .iter()
        .filter(|c| c.service == crate::cloudflare::SERVICE)
        .flat_map(|c| c.status.iter().map(|(_, line)| line))
        .collect();
    match hosting.as_slice() {
        [] => out.push_str("  pages        none named: the hosting is left as it is\n"),
        lines => {
            for line in lines {
                let line = line.strip_prefix("pages ").unwrap_or(line);
                out.push_str(&format!("  pages        {line}\n"));
            }
        }
    }
    out
}

/// Step 3: each review item, one at a time; the answers are saved as they come.
fn review(
    ctx: &Ctx<'_>,
    items: &[ReviewItem],
    target: &mut Target,
    answers: &Path,
) -> Result<(), CliError> {
    let style = ctx.ui.out_style;
    ctx.ui.out(&format!(
        "\n{}\n\n{} occurrence(s) may or may not name the branch. Your answers are kept in {}.\n",
        style.bold("Review"),
        items.len(),
        answers.display()
    ));
    let choices = vec![
        "rewrite: it names the branch".to_string(),
        "keep: it means something else (a directory, a chart, prose)".to_string(),
    ];
    for (i, item) in items.iter().enumerate() {
        ctx.ui.out(&format!(
            "\n[{}/{}] {}:{}:{}  ({})\n",
            i + 1,
            items.len(),
            item.path,
            item.line,
            item.column,
            item.context
        ));
        ctx.ui.out(&context_lines(ctx, item));
        let pick =
            ctx.prompt.select(&format!("`{}` here", item.word), &choices, 0).map_err(cancelled)?;
        let verdict = if pick == 0 { Verdict::Rewrite } else { Verdict::Keep };
        target.resolutions.insert((item.path.clone(), item.line, item.column), verdict);
        ops::request::save_answers(answers, &target.resolutions)?;
    }
    Ok(())
}

/// The line with the word highlighted, and up to two lines around it, from the plan's
/// rewrite base (the file as it is on the branch the commit goes to).
fn context_lines(ctx: &Ctx<'_>, item: &ReviewItem) -> String {
    let style = ctx.ui.out_style;
    let chars: Vec<char> = item.text.chars().collect();
    let start = item.column.saturating_sub(1).min(chars.len());
    let end = (start + item.word.chars().count()).min(chars.len());
    let before: String = chars[..start].iter().collect();
    let word: String = chars[start..end].iter().collect();
    let after: String = chars[end..].iter().collect();
    let mut out = String::new();
    for (n, l) in &item.before {
        out.push_str(&format!("  {}  {l}\n", style.dim(&format!("{n:>4}"))));
    }
    out.push_str(&format!(
        "  {}  {before}{}{after}\n",
        style.bold(&format!("{:>4}", item.line)),
        style.paint("1;33", &word)
    ));
    for (n, l) in &item.after {
        out.push_str(&format!("  {}  {l}\n", style.dim(&format!("{n:>4}"))));
    }
    out
}

/// Step 4's context: what the migration means for everyone else.
fn teammates_note(target: &Target, plan: &Plan) -> String {
    let remote = &target.remote;
    let mut out = String::from("\nWhat it means for teammates: ");
    let renames: Vec<String> =
        target.renames().map(|(a, b)| format!("`{a}` becomes `{b}`")).collect();
    out.push_str(&format!(
        "{} on {remote}; their clones keep working, but a local branch tracking a deleted one must be renamed (the commands are shown at the end).",
        renames.join(", ")
    ));
    if plan.actions.iter().any(|s| matches!(s.action, Action::CiCommit(_))) {
        out.push_str(" The CI rewrite lands on the stable branch as one commit: open pull requests may need a rebase.");
    }
    out.push('\n');
    out
}

/// Steps 5 and 6: apply with progress; on failure offer to roll back now.
fn apply(
    ctx: &Ctx<'_>,
    services: &ops::Services<'_>,
    repo: &git2::Repository,
    plan: Plan,
    listing: crate::git::remote::RemoteListing,
    no_verify: bool,
    target: &Target,
) -> Result<u8, CliError> {
    let mut spinners = ctx.ui.spinners();
    let mut watch = super::Sink { ui: ctx.ui, steps: &mut spinners, outcome_json: false };
    let mut run =
        ops::apply::run_plan(repo, plan, listing, no_verify, "migrate", services, &mut watch)?;
    match run.outcome.stopped.clone() {
        None => {
            ctx.ui.out(&success(&run.journal, &run.outcome, target));
            Ok(0)
        }
        Some(stop) => failure(ctx, &mut run, &stop, target),
    }
}

fn success(journal: &Journal, outcome: &Outcome, target: &Target) -> String {
    let mut out = format!(
        "\nDone: {} step(s) applied. The repository matches {}.\n\nJournal: {}\nTo undo it all: rebranch rollback\n",
        outcome.applied.len(),
        target.plan_name,
        journal.path.display()
    );
    out.push_str(&teammate_commands(target));
    out
}

/// The commands a teammate runs in an existing clone.
fn teammate_commands(target: &Target) -> String {
    let r = &target.remote;
    let mut out = String::from("\nTeammates run, in their clones:\n\n");
    out.push_str("  git fetch --prune\n");
    for (old, new) in target.renames() {
        out.push_str(&format!("  git branch -m {old} {new}\n  git branch -u {r}/{new} {new}\n"));
    }
    out.push_str(&format!("  git remote set-head {r} -a\n"));
    out
}

fn failure(
    ctx: &Ctx<'_>,
    run: &mut ops::apply::Run<'_>,
    stop: &exec::Stopped,
    target: &Target,
) -> Result<u8, CliError> {
    let journal = &run.journal;
    if stop.waiting {
        // Not a failure: people merge the CI rewrite's pull request, then apply goes on.
        ctx.ui.out(&format!(
            "\nThe migration waits at step {}: {}\n\nOnce it is merged, run `rebranch apply` to go on.\nJournal: {}\n",
            stop.step,
            stop.reason,
            journal.path.display()
        ));
        return Ok(super::error::code(Kind::Waiting));
    }
    let ids = |done: bool| -> Vec<String> {
        journal.step_ids(done).iter().map(usize::to_string).collect()
    };
    ctx.ui.out(&format!(
        "\nThe migration stopped at step {}: {}\n  done:     {}\n  not done: {}\n",
        stop.step,
        stop.reason,
        none_if_empty(ids(true)),
        none_if_empty(ids(false))
    ));
    let items = vec![
        "Roll back now: undo the steps that were done".to_string(),
        "Stop here: keep them; `rebranch apply` resumes later".to_string(),
    ];
    let choice = ctx.prompt.select("What now?", &items, 0).unwrap_or(1);
    if choice == 1 {
        return Err(CliError::new(Kind::Partial, format!("stopped at step {}", stop.step))
            .hint("`rebranch apply` resumes; `rebranch rollback` undoes")
            .hint(format!("journal: {}", journal.path.display())));
    }
    let journal_path = journal.path.clone();
    let mut spinners = ctx.ui.spinners();
    let mut watch = super::Sink { ui: ctx.ui, steps: &mut spinners, outcome_json: false };
    let undone = run.undo(&mut watch)?;
    match undone.stopped {
        None => {
            ctx.ui.out(&format!(
                "\nRolled back: the repository is as it was before {}.\n",
                target.plan_name
            ));
            Ok(super::error::code(Kind::Partial))
        }
        Some(s) => Err(CliError::new(
            Kind::Partial,
            format!("rollback stopped at step {}: {}", s.step, s.reason),
        )
        .hint("resolve the cause, then run `rebranch rollback` again")
        .hint(format!("journal: {}", journal_path.display()))),
    }
}

fn none_if_empty(ids: Vec<String>) -> String {
    if ids.is_empty() { "none".to_string() } else { ids.join(", ") }
}

fn cancelled(_: Cancelled) -> CliError {
    CliError::new(Kind::Interrupted, "cancelled: nothing was changed")
}

/// `migrate` in process, on the sample repository, with scripted answers instead of a
/// terminal (the pty tests in `tests/cli/migrate.rs` keep one real terminal in the loop).
#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};
    use crate::ui::{Prompt, Ui};

    #[derive(Debug)]
    enum Answer {
        Pick(usize),
        Yes(bool),
    }

    /// Answers in order; a question with no answer left (or of another kind) cancels.
    struct Script {
        answers: Mutex<Vec<Answer>>,
        asked: Mutex<Vec<String>>,
    }

    impl Script {
        fn new(mut answers: Vec<Answer>) -> Script {
            answers.reverse();
            Script { answers: Mutex::new(answers), asked: Mutex::default() }
        }

        fn next(&self, question: &str) -> Option<Answer> {
            self.asked.lock().unwrap().push(question.to_string());
            self.answers.lock().unwrap().pop()
        }
    }

    impl Prompt for Script {
        fn can_prompt(&self) -> bool {
            true
        }
        fn select(&self, q: &str, _: &[String], _: usize) -> Result<usize, Cancelled> {
            match self.next(q) {
                Some(Answer::Pick(i)) => Ok(i),
                _ => Err(Cancelled),
            }
        }
        fn ask(&self, q: &str, _: bool) -> Result<bool, Cancelled> {
            match self.next(q) {
                Some(Answer::Yes(y)) => Ok(y),
                _ => Err(Cancelled),
            }
        }
        fn input(&self, q: &str) -> Result<String, Cancelled> {
            self.next(q);
            Err(Cancelled)
        }
        fn secret(&self, q: &str) -> Result<String, Cancelled> {
            self.next(q);
            Err(Cancelled)
        }
    }

    fn migrate(sample: &crate::demo::Sample, script: &Script) -> Result<u8, CliError> {
        migrate_with(sample, script, &[], BTreeMap::new())
    }

    fn migrate_with(
        sample: &crate::demo::Sample,
        script: &Script,
        sets: &[&str],
        env: BTreeMap<String, String>,
    ) -> Result<u8, CliError> {
        let mut args = vec!["rebranch".to_string(), "--repo".to_string()];
        args.push(sample.clone.display().to_string());
        for s in sets {
            args.extend(["--set".to_string(), s.to_string()]);
        }
        for r in crate::demo::SAMPLE_RESOLUTIONS {
            args.extend(["--resolve".to_string(), r.to_string()]);
        }
        args.push("migrate".to_string());
        let cli = Cli::try_parse_from(args).expect("arguments");
        let Command::Migrate(m) = &cli.command else { unreachable!("migrate") };
        let ctx = Ctx {
            global: &cli.global,
            ui: Ui::new(true, 0),
            prompt: script,
            format: cli.global.format,
            env,
        };
        cmd_migrate(&ctx, m)
    }

    fn heads(sample: &crate::demo::Sample) -> Vec<String> {
        let repo = git2::Repository::open_bare(&sample.origin).unwrap();
        let names = repo.branches(Some(git2::BranchType::Local)).unwrap();
        let mut out: Vec<String> = names
            .flatten()
            .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn answered_it_migrates_after_one_question_about_pages_and_one_about_the_plan() {
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let script = Script::new(vec![Answer::Pick(1), Answer::Yes(true)]);
        assert_eq!(migrate(&sample, &script).unwrap(), 0);
        let asked = script.asked.lock().unwrap().clone();
        assert_eq!(asked.len(), 2, "{asked:?}");
        assert!(asked[0].contains("Cloudflare Pages"), "{asked:?}");
        assert!(asked[1].starts_with("Apply these"), "{asked:?}");
        assert_eq!(heads(&sample), ["integration", "main", "release"]);
    }

    #[test]
    fn on_github_the_pull_request_and_the_review_gate_follow() {
        use rebranch_standin::github::{GhAccess, GhRepo, GitHubStandIn};
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let gh = GitHubStandIn::start(
            vec![GhRepo::new("acme", "charts", &sample.origin)],
            vec![("ghp_MIGRATE_SENTINEL".to_string(), GhAccess::Admin)],
        )
        .unwrap();
        let origin = git2::Repository::open_bare(&sample.origin).unwrap();
        let tip = origin.revparse_single("charts").unwrap().peel_to_commit().unwrap();
        origin.branch("cr/x", &tip, false).unwrap();
        gh.add_pull("acme", "charts", "cr/x", "charts", "Release x");
        let env = BTreeMap::from([
            ("GITHUB_API_URL".to_string(), gh.base_url()),
            ("GH_TOKEN".to_string(), "ghp_MIGRATE_SENTINEL".to_string()),
            ("REBRANCH_GITHUB_MUTATION_GAP_MS".to_string(), "0".to_string()),
        ]);
        let script = Script::new(vec![Answer::Pick(1), Answer::Yes(true)]);
        let sets = ["github.repository=acme/charts"];
        assert_eq!(migrate_with(&sample, &script, &sets, env).unwrap(), 0);
        assert_eq!(gh.pull_json("acme", "charts", 1)["base"]["ref"], "release");
        let gates = gh.rulesets_json("acme", "charts");
        assert!(gates.iter().any(|r| r["name"] == "rebranch: review gate on integration"));
    }

    #[test]
    fn declined_or_cancelled_it_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let sample = crate::demo::create(dir.path()).unwrap();
        let before = heads(&sample);
        let declined = Script::new(vec![Answer::Pick(1), Answer::Yes(false)]);
        assert_eq!(migrate(&sample, &declined).unwrap(), 0);
        assert_eq!(heads(&sample), before);
        let cancelled = Script::new(Vec::new());
        let e = migrate(&sample, &cancelled).unwrap_err();
        assert_eq!(e.kind, Kind::Interrupted, "{e}");
        assert_eq!(heads(&sample), before);
    }
}
