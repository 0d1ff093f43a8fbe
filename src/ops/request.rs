//! What a command asks for, before the remote is looked at: the repository, the plan file,
//! its variables and review decisions, or, when none are given, those of the last run; and
//! the review decisions `migrate` remembers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{Env, Error, Kind, state_dir};
use crate::exec::journal::Journal;
use crate::rewrite::{Resolutions, Verdict};
use crate::spec::{self, Spec, Target};

/// The options every planning operation takes.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The repository (a clone).
    pub repo_path: PathBuf,
    /// The plan file; `None` is the built-in ADR-002 plan.
    pub plan_file: Option<PathBuf>,
    /// Plan variables, in order (a later value of a key wins).
    pub sets: Vec<(String, String)>,
    /// Review decisions: `(path, line, column)` → rewrite or keep.
    pub resolves: Resolutions,
    /// Plan against the remote-tracking refs as they are: fetch nothing first.
    pub no_fetch: bool,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            repo_path: PathBuf::from("."),
            plan_file: None,
            sets: Vec::new(),
            resolves: Resolutions::default(),
            no_fetch: false,
        }
    }
}

/// The plan file and variables a command runs with, before the remote is looked at.
#[derive(Clone)]
pub struct Request {
    pub spec: Spec,
    pub sets: Vec<(String, String)>,
    pub resolutions: Resolutions,
    /// The run whose plan and variables were taken, when none were given.
    pub remembered: Option<String>,
}

impl Request {
    /// The target: the plan file's variables resolved from `sets` and the environment.
    pub fn target(&self, env: Env<'_>) -> Result<Target, Error> {
        let mut target = self.spec.resolve(&self.sets, env)?;
        target.resolutions = self.resolutions.clone();
        Ok(target)
    }

    /// The variables given a value by the user (or by the remembered run).
    pub fn explicit(&self) -> BTreeSet<String> {
        self.sets.iter().map(|(k, _)| k.clone()).collect()
    }
}

/// The plan file, parsed, and its variables resolved from the environment and `sets`.
pub fn target(opts: &PlanOptions, env: Env<'_>) -> Result<Target, Error> {
    request(opts, None)?.target(env)
}

/// What the user asked for: the plan file, the variables and review decisions. In a
/// repository whose last apply was not rolled back, a command given neither a plan file nor
/// variables takes that run's plan and variables (so `status` after
/// `apply --set main=master` checks the same migration); variables that differ from those
/// of a run that stopped part way are refused.
pub fn request(opts: &PlanOptions, repo: Option<&git2::Repository>) -> Result<Request, Error> {
    let resolutions = opts.resolves.clone();
    let last = match repo {
        Some(repo) => Journal::latest(&Journal::dir(&state_dir(repo)))?.filter(|j| !j.rolled_back),
        None => None,
    };
    if let Some(j) = &last
        && opts.plan_file.is_none()
        && opts.sets.is_empty()
    {
        let spec = match j.plan.plan.source.as_str() {
            spec::BUILTIN_SOURCE => Spec::builtin(),
            path => Spec::load(Path::new(path))?,
        };
        let sets = j.plan.variables.clone().into_iter().collect();
        return Ok(Request { spec, sets, resolutions, remembered: Some(j.run.clone()) });
    }
    let spec = match &opts.plan_file {
        Some(path) => Spec::load(path)?,
        None => Spec::builtin(),
    };
    if let Some(j) = last.filter(|j| j.is_unfinished()) {
        check_same_run(&j, &spec, &opts.sets)?;
    }
    Ok(Request { spec, sets: opts.sets.clone(), resolutions, remembered: None })
}

/// A run that stopped part way is finished or undone with its own plan and variables:
/// other values would plan a different migration on top of half of this one.
fn check_same_run(journal: &Journal, spec: &Spec, sets: &[(String, String)]) -> Result<(), Error> {
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
        Some(why) => Err(Error::new(
            Kind::Failure,
            format!("an apply stopped part way (run {}) with other values: {why}", journal.run),
        )
        .cause("nothing was changed")
        .hint("finish that run first with `rebranch apply` (no --set needed: it keeps its values), or undo it with `rebranch rollback`; then plan with the new values")),
    }
}

/// Where `migrate` keeps the answers to its review questions.
pub fn answers_path(repo: &git2::Repository) -> PathBuf {
    state_dir(repo).join("resolutions.json")
}

/// Reads the review decisions `migrate` saved: `{"path:line:column": "rewrite" | "keep"}`.
pub fn load_answers(path: &Path) -> Result<Resolutions, Error> {
    let Ok(text) = std::fs::read_to_string(path) else { return Ok(Resolutions::new()) };
    let map: BTreeMap<String, Verdict> = serde_json::from_str(&text).map_err(|e| {
        Error::new(Kind::Failure, format!("{}: {e}", path.display()))
            .hint("delete the file to be asked again")
    })?;
    let mut out = Resolutions::new();
    for (key, verdict) in map {
        let mut parts = key.rsplitn(3, ':');
        let (Some(col), Some(line), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if let (Ok(line), Ok(col)) = (line.parse(), col.parse()) {
            out.insert((file.to_string(), line, col), verdict);
        }
    }
    Ok(out)
}

/// Saves the review decisions `migrate` was given, for the next time it asks.
pub fn save_answers(path: &Path, res: &Resolutions) -> Result<(), Error> {
    let map: BTreeMap<String, Verdict> =
        res.iter().map(|((f, l, c), v)| (format!("{f}:{l}:{c}"), *v)).collect();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let text = serde_json::to_string_pretty(&map).unwrap_or_default() + "\n";
    crate::atomic::write_atomic(path, text.as_bytes())
        .map_err(|e| Error::new(Kind::Failure, format!("cannot write {}: {e}", path.display())))
}
