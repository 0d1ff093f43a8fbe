//! The read-only look the flow's plans are computed from: the remote's branches, the charts
//! (directories holding a `Chart.yaml` under chart-testing's `chart-dirs`) on `main` and on
//! `integration`, and what each chart branch holds. Everything is read from git objects at
//! the remote tips, never from the work tree; nothing is written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use git2::{ObjectType, Oid, Repository, Tree};

use super::FlowConfig;
use crate::git::{GitError, remote};
use crate::observe::ci::TreeEntry;
use crate::plan::PlanError;

/// chart-testing's config files, in the order they are looked for.
pub const CT_CONFIGS: [&str; 3] = ["ct.yaml", ".ct.yaml", ".github/ct.yaml"];
/// chart-testing's default `chart-dirs`.
pub const DEFAULT_CHART_DIRS: &str = "charts";
/// The trailer every commit `split` makes carries, naming its chart.
pub const TRAILER: &str = "Rebranch-Chart:";
/// At most this many commits of a chart branch are looked at for someone else's work.
const MAX_WALK: usize = 200;
/// At most this many file lines are listed per chart.
const MAX_FILES: usize = 20;

/// What the flow's plans depend on.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowObservation {
    pub workdir: PathBuf,
    pub remote: String,
    pub remote_url: String,
    /// Every branch of the remote.
    pub heads: BTreeMap<String, Oid>,
    pub main_tip: Oid,
    pub integration_tip: Option<Oid>,
    /// Where the charts are looked for, and which file said so.
    pub chart_dirs: Vec<String>,
    pub ct_config: Option<String>,
    /// The charts on `main` or on `integration`, by path.
    pub charts: Vec<Chart>,
    /// `main`'s trees along the charts' paths (`""`: the root).
    pub main_trees: BTreeMap<String, Vec<TreeEntry>>,
    /// The remote branches named by the pattern, by branch name.
    pub branches: BTreeMap<String, ChartBranch>,
    pub identity: Option<(String, String)>,
    /// The commits' time (Unix seconds): `SOURCE_DATE_EPOCH`, else now.
    pub now: i64,
    pub listing: remote::RemoteListing,
}

/// A chart: a directory with a `Chart.yaml` directly under one of the `chart-dirs`.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub name: String,
    pub path: String,
    /// The directory's tree on `main` and on `integration` (`None`: not there).
    pub on_main: Option<Oid>,
    pub on_integration: Option<Oid>,
    /// The files that differ from `main` to `integration`, as `+ path`, `~ path`, `- path`.
    pub files: Vec<String>,
}

/// What a chart branch on the remote holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartBranch {
    pub chart: String,
    pub tip: Oid,
    /// Its tip's tree.
    pub tree: Oid,
    /// Whether its tip is `main`'s tip or descends from it.
    pub descends_from_main: bool,
    /// Its commits missing from `main` that `split` did not make, as `abc1234 subject`.
    pub foreign: Vec<String>,
    /// The paths it changed (since it left `main`) whose content `main` does not have.
    pub unmerged: Vec<String>,
}

/// Reads what the flow needs, with one connection to the remote on which (unless
/// `offline`) `main`, `integration` and the chart branches are fetched, as `plan` does.
pub fn observe(
    repo: &Repository,
    cfg: &FlowConfig,
    offline: bool,
) -> Result<FlowObservation, PlanError> {
    let dir = repo.workdir().unwrap_or(repo.path());
    let workdir = dir.components().collect::<PathBuf>();
    let remote_url = match repo.find_remote(&cfg.remote) {
        Ok(r) => crate::git::redact_url(r.url().unwrap_or_default()),
        Err(_) => return Err(plan_err(GitError::NoRemote { remote: cfg.remote.clone() })),
    };
    let names = BTreeSet::from([cfg.main.clone(), cfg.integration.clone()]);
    let chart_heads = |l: &remote::RemoteListing| {
        let chart_branch =
            |b: &&String| cfg.pattern.chart_of(b).is_some() && !cfg.planned.contains(*b);
        l.heads.keys().filter(chart_branch).cloned().collect()
    };
    let listing = crate::observe::connect(repo, &cfg.remote, &names, offline, &chart_heads)
        .map_err(|e| PlanError { message: e.to_string(), hint: String::new() })?;
    let heads = listing.heads.clone();
    let main_tip = *heads.get(&cfg.main).ok_or_else(|| PlanError {
        message: format!(
            "remote `{}` has no branch `{}` (the stable branch)",
            cfg.remote, cfg.main
        ),
        hint: "set it with --set main=NAME".to_string(),
    })?;
    let integration_tip = heads.get(&cfg.integration).copied();
    for (what, tip) in [(&cfg.main, Some(main_tip)), (&cfg.integration, integration_tip)] {
        if let Some(tip) = tip {
            need(repo, tip, &format!("{}/{what}", cfg.remote), &cfg.remote)?;
        }
    }
    let main_tree = tree_of(repo, main_tip)?;
    let source_tree = match integration_tip {
        Some(t) => tree_of(repo, t)?,
        None => main_tree.clone(),
    };
    let (chart_dirs, ct_config) = chart_dirs(repo, &source_tree, &main_tree);
    let charts = charts(repo, &chart_dirs, &main_tree, &source_tree)?;
    let mut main_trees = BTreeMap::new();
    for chart in &charts {
        record_trees(repo, &main_tree, &chart.path, &mut main_trees);
    }
    let mut branches = BTreeMap::new();
    for (name, tip) in &heads {
        let Some(chart) = cfg.pattern.chart_of(name) else { continue };
        if cfg.planned.contains(name) || listing.default_branch.as_deref() == Some(name.as_str()) {
            continue;
        }
        need(repo, *tip, &format!("{}/{name}", cfg.remote), &cfg.remote)?;
        let facts = branch_facts(repo, chart, *tip, main_tip)
            .map_err(|e| plan_err(GitError::from_git(&format!("read chart branch `{name}`"))(e)))?;
        branches.insert(name.clone(), facts);
    }
    let identity = repo
        .signature()
        .ok()
        .and_then(|s| Some((s.name().ok()?.to_string(), s.email().ok()?.to_string())));
    Ok(FlowObservation {
        workdir,
        remote: cfg.remote.clone(),
        remote_url,
        heads,
        main_tip,
        integration_tip,
        chart_dirs,
        ct_config,
        charts,
        main_trees,
        branches,
        identity,
        now: crate::observe::ci::commit_time(),
        listing,
    })
}

/// `chart-dirs` from the first chart-testing config found on `integration`, else on
/// `main`, else chart-testing's default.
fn chart_dirs(
    repo: &Repository,
    source: &Tree<'_>,
    main: &Tree<'_>,
) -> (Vec<String>, Option<String>) {
    for tree in [source, main] {
        for path in CT_CONFIGS {
            let Some(text) = blob_text(repo, tree, path) else { continue };
            if let Some(dirs) = parse_chart_dirs(&text) {
                return (dirs, Some(path.to_string()));
            }
            return (vec![DEFAULT_CHART_DIRS.to_string()], Some(path.to_string()));
        }
    }
    (vec![DEFAULT_CHART_DIRS.to_string()], None)
}

/// `chart-dirs` of a chart-testing config: a list of directories (or one string).
pub fn parse_chart_dirs(text: &str) -> Option<Vec<String>> {
    let docs = yaml_rust2::YamlLoader::load_from_str(text).ok()?;
    let value = &docs.first()?["chart-dirs"];
    let dirs: Vec<String> = match value {
        yaml_rust2::Yaml::Array(items) => {
            items.iter().filter_map(|i| i.as_str()).map(str::to_string).collect()
        }
        yaml_rust2::Yaml::String(s) => s.split(',').map(|s| s.trim().to_string()).collect(),
        _ => return None,
    };
    let dirs: Vec<String> = dirs
        .into_iter()
        .map(|d| d.trim_start_matches("./").trim_matches('/').to_string())
        .filter(|d| !d.is_empty())
        .collect();
    (!dirs.is_empty()).then_some(dirs)
}

/// The charts under `dirs` on either side, by path.
fn charts(
    repo: &Repository,
    dirs: &[String],
    main: &Tree<'_>,
    source: &Tree<'_>,
) -> Result<Vec<Chart>, PlanError> {
    let mut found: BTreeMap<String, (String, Option<Oid>, Option<Oid>)> = BTreeMap::new();
    for dir in dirs {
        for (side, tree) in [(0, main), (1, source)] {
            for (name, oid) in chart_trees(repo, tree, dir) {
                let path = format!("{dir}/{name}");
                let slot = found.entry(path).or_insert((name, None, None));
                if side == 0 { slot.1 = Some(oid) } else { slot.2 = Some(oid) }
            }
        }
    }
    let mut out = Vec::new();
    for (path, (name, on_main, on_integration)) in found {
        let files = if on_main == on_integration {
            Vec::new()
        } else {
            changed_files(repo, &path, on_main, on_integration).map_err(|e| {
                plan_err(GitError::from_git(&format!("compare {path} on main and integration"))(e))
            })?
        };
        out.push(Chart { name, path, on_main, on_integration, files });
    }
    Ok(out)
}

/// `(name, tree)` of each directory directly under `dir` that holds a `Chart.yaml`.
fn chart_trees(repo: &Repository, root: &Tree<'_>, dir: &str) -> Vec<(String, Oid)> {
    let Some(tree) = subtree(repo, root, dir) else { return Vec::new() };
    tree.iter()
        .filter(|e| e.kind() == Some(ObjectType::Tree))
        .filter(|e| repo.find_tree(e.id()).is_ok_and(|t| t.get_name("Chart.yaml").is_some()))
        .filter_map(|e| Some((e.name().ok()?.to_string(), e.id())))
        .collect()
}

fn changed_files(
    repo: &Repository,
    path: &str,
    from: Option<Oid>,
    to: Option<Oid>,
) -> Result<Vec<String>, git2::Error> {
    let a = from.map(|o| repo.find_tree(o)).transpose()?;
    let b = to.map(|o| repo.find_tree(o)).transpose()?;
    let diff = repo.diff_tree_to_tree(a.as_ref(), b.as_ref(), None)?;
    let mut lines = Vec::new();
    for d in diff.deltas() {
        let sign = match d.status() {
            git2::Delta::Added => '+',
            git2::Delta::Deleted => '-',
            _ => '~',
        };
        let file = d.new_file().path().or(d.old_file().path());
        let file = file.map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
        lines.push(format!("{sign} {path}/{file}"));
    }
    if lines.len() > MAX_FILES {
        let more = lines.len() - MAX_FILES;
        lines.truncate(MAX_FILES);
        lines.push(format!("… and {more} more file(s)"));
    }
    Ok(lines)
}

/// Records the entries of the root and of each directory above `path` on `main`.
fn record_trees(
    repo: &Repository,
    root: &Tree<'_>,
    path: &str,
    out: &mut BTreeMap<String, Vec<TreeEntry>>,
) {
    let parts: Vec<&str> = path.split('/').collect();
    for depth in 0..parts.len() {
        let dir = parts[..depth].join("/");
        if out.contains_key(&dir) {
            continue;
        }
        let Some(tree) = subtree(repo, root, &dir) else { return };
        out.insert(dir, TreeEntry::list(&tree));
    }
}

fn branch_facts(
    repo: &Repository,
    chart: &str,
    tip: Oid,
    main: Oid,
) -> Result<ChartBranch, git2::Error> {
    let tip_commit = repo.find_commit(tip)?;
    let descends_from_main = tip == main || repo.graph_descendant_of(tip, main)?;
    let mut walk = repo.revwalk()?;
    walk.push(tip)?;
    walk.hide(main)?;
    let marker = format!("{TRAILER} {chart}");
    let mut foreign = Vec::new();
    for oid in walk.take(MAX_WALK) {
        let commit = repo.find_commit(oid?)?;
        let message = commit.message().unwrap_or_default();
        if !message.lines().any(|l| l.trim() == marker) {
            let subject = commit.summary().ok().flatten().unwrap_or_default().to_string();
            foreign.push(format!("{} {subject}", crate::git::short(commit.id())));
        }
    }
    let base = repo.merge_base(tip, main).ok();
    let unmerged = unmerged(repo, base, tip, main)?;
    Ok(ChartBranch {
        chart: chart.to_string(),
        tip,
        tree: tip_commit.tree_id(),
        descends_from_main,
        foreign,
        unmerged,
    })
}

/// The paths the branch changed since `base` whose content on `main` differs from the
/// branch's: nothing when its whole change is on `main` (a squash merge included).
fn unmerged(
    repo: &Repository,
    base: Option<Oid>,
    tip: Oid,
    main: Oid,
) -> Result<Vec<String>, git2::Error> {
    let tip_tree = repo.find_commit(tip)?.tree()?;
    let main_tree = repo.find_commit(main)?.tree()?;
    let base_tree = base.map(|b| repo.find_commit(b).and_then(|c| c.tree())).transpose()?;
    let diff = repo.diff_tree_to_tree(base_tree.as_ref(), Some(&tip_tree), None)?;
    let entry = |t: &Tree<'_>, p: &Path| t.get_path(p).ok().map(|e| (e.id(), e.filemode()));
    let mut out = Vec::new();
    for d in diff.deltas() {
        let Some(path) = d.new_file().path().or(d.old_file().path()) else { continue };
        if entry(&tip_tree, path) != entry(&main_tree, path) {
            out.push(path.to_string_lossy().into_owned());
        }
    }
    Ok(out)
}

fn need(repo: &Repository, tip: Oid, what: &str, remote: &str) -> Result<(), PlanError> {
    if repo.find_commit(tip).is_ok() {
        return Ok(());
    }
    Err(PlanError {
        message: format!("this clone does not have commit {} ({what})", crate::git::short(tip)),
        hint: format!("run `git fetch {remote}` and try again"),
    })
}

fn tree_of(repo: &Repository, commit: Oid) -> Result<Tree<'_>, PlanError> {
    repo.find_commit(commit).and_then(|c| c.tree()).map_err(|e| {
        plan_err(GitError::from_git(&format!("read the tree of {}", crate::git::short(commit)))(e))
    })
}

fn subtree<'r>(repo: &'r Repository, root: &Tree<'r>, dir: &str) -> Option<Tree<'r>> {
    if dir.is_empty() {
        return Some(root.clone());
    }
    let entry = root.get_path(Path::new(dir)).ok()?;
    (entry.kind() == Some(ObjectType::Tree)).then(|| repo.find_tree(entry.id()).ok())?
}

fn blob_text(repo: &Repository, root: &Tree<'_>, path: &str) -> Option<String> {
    let entry = root.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    String::from_utf8(blob.content().to_vec()).ok()
}

fn plan_err(e: GitError) -> PlanError {
    PlanError { message: e.to_string(), hint: String::new() }
}

/// The names of the branches a chart branch may not sit inside (or hold inside its name).
pub fn all_names(obs: &FlowObservation, planned: &BTreeSet<String>) -> BTreeSet<String> {
    obs.heads.keys().cloned().chain(planned.iter().cloned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_dirs_are_read_as_chart_testing_reads_them() {
        assert_eq!(
            parse_chart_dirs("chart-dirs:\n  - charts\n  - ./stable/\n"),
            Some(vec!["charts".to_string(), "stable".to_string()])
        );
        assert_eq!(
            parse_chart_dirs("chart-dirs: incubator\n"),
            Some(vec!["incubator".to_string()])
        );
        assert_eq!(parse_chart_dirs("remote: origin\n"), None);
    }
}
