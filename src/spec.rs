//! Plan files: the declarative target architecture (`plans/*.toml`), its variables, and
//! their resolution into a concrete [`Target`].
//!
//! A plan file is read with `toml_edit` so that every error, syntactic or semantic, points
//! at `file:line:column`. Resolution substitutes `{variable}` templates from defaults, the
//! environment and `--set KEY=VALUE`, and validates every branch name before anything runs.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use toml_edit::{Document, Item, Table, Value};

/// The ADR-002 plan, compiled into the binary.
pub const BUILTIN_ADR_002: &str = include_str!("../plans/adr-002.toml");
/// Where the built-in plan comes from, as shown to users.
pub const BUILTIN_SOURCE: &str = "built-in plans/adr-002.toml";

/// A parsed plan file, still with `{variable}` templates.
#[derive(Debug, Clone)]
pub struct Spec {
    pub name: String,
    pub title: String,
    pub source: String,
    pub variables: Vec<VariableDef>,
    pub remote: String,
    pub branches: Vec<BranchDef>,
    pub rewrite: Option<RewriteDef>,
    pub pages: Option<PagesDef>,
    pub github: Option<GitHubDef>,
}

/// A plan variable: its key, default, environment fallback and help text.
#[derive(Debug, Clone, PartialEq)]
pub struct VariableDef {
    pub key: String,
    pub default: Option<String>,
    pub env: Option<String>,
    pub help: String,
}

/// One branch of the target architecture.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchDef {
    pub name: String,
    pub origin: BranchOrigin,
    /// Files the branch must have before the branch it replaces is deleted.
    pub must_contain: Vec<String>,
}

/// How a branch of the target comes to exist.
#[derive(Debug, Clone, PartialEq)]
pub enum BranchOrigin {
    /// It must exist already, and it stays.
    Existing,
    /// Created at the tip of another branch.
    CreateFrom(String),
    /// The old branch is copied to this name, then deleted.
    RenameFrom(String),
}

/// The CI/CD rewrite: which files, which branch names, where the commit goes.
#[derive(Debug, Clone, PartialEq)]
pub struct RewriteDef {
    pub commit_on: String,
    pub branches: Vec<(String, String)>,
    pub files: Vec<String>,
    pub message: String,
}

/// The Cloudflare Pages project that serves the published branch.
#[derive(Debug, Clone, PartialEq)]
pub struct PagesDef {
    pub project: String,
    pub account_id: String,
    pub helm_repo_url: String,
}

/// GitHub, when the remote is hosted there: which repository, the review gate, and what to
/// do when its Pages site cannot be switched.
#[derive(Debug, Clone, PartialEq)]
pub struct GitHubDef {
    /// `OWNER/NAME`; empty: from the remote's URL.
    pub repository: String,
    /// Approvals the review gate on each created branch requires (0: no gate).
    pub integration_approvals: String,
    /// `switch` (the site follows the rename, or the plan refuses when it cannot) or
    /// `leave` (go on; the site is switched by hand).
    pub pages: String,
}

/// A plan with every variable substituted and every name validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub plan_name: String,
    pub plan_source: String,
    pub variables: BTreeMap<String, String>,
    pub remote: String,
    pub branches: Vec<BranchDef>,
    pub rewrite: Option<RewriteDef>,
    pub pages: Option<PagesDef>,
    pub github: Option<GitHubTarget>,
    /// Review items resolved by the user (`--resolve PATH:LINE=rewrite|keep`).
    pub resolutions: crate::rewrite::Resolutions,
}

/// [`GitHubDef`] with its values checked.
#[derive(Debug, Clone, PartialEq)]
pub struct GitHubTarget {
    /// `OWNER/NAME`; empty: from the remote's URL.
    pub repository: String,
    pub integration_approvals: u32,
    /// Go on when a GitHub Pages site serving a renamed branch cannot be switched.
    pub leave_pages: bool,
}

impl GitHubTarget {
    fn new(repository: String, approvals: &str, pages: &str) -> Result<Self, SpecError> {
        let bad = |message: String| SpecError::Invalid { message };
        let integration_approvals = approvals.trim().parse::<u32>().ok().filter(|n| *n <= 10).ok_or_else(|| {
            bad(format!(
                "github.integration_approvals is \"{approvals}\": give a number of approvals from 0 (no review gate) to 10"
            ))
        })?;
        let leave_pages = match pages.trim() {
            "switch" => false,
            "leave" => true,
            other => {
                return Err(bad(format!(
                    "github.pages is \"{other}\": give `switch` (GitHub Pages follows the rename) or `leave` (go on even when the site cannot be switched)"
                )));
            }
        };
        if !repository.is_empty() {
            let ok = repository.split_once('/').is_some_and(|(o, n)| {
                let part = |s: &str| {
                    !s.is_empty()
                        && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                };
                part(o) && part(n) && !n.contains('/')
            });
            if !ok {
                return Err(bad(format!(
                    "github.repository is \"{repository}\": give it as OWNER/NAME, e.g. example/helm-charts"
                )));
            }
        }
        Ok(Self { repository, integration_approvals, leave_pages })
    }
}

impl Target {
    /// The branches that exist before and after and stay (e.g. `main`).
    pub fn existing(&self) -> impl Iterator<Item = &str> {
        self.branches.iter().filter_map(|b| match b.origin {
            BranchOrigin::Existing => Some(b.name.as_str()),
            _ => None,
        })
    }

    /// The files branch `name` must have before the branch it replaces is deleted.
    pub fn must_contain(&self, name: &str) -> &[String] {
        self.branches.iter().find(|b| b.name == name).map_or(&[], |b| b.must_contain.as_slice())
    }

    /// `(old, new)` for each renamed branch.
    pub fn renames(&self) -> impl Iterator<Item = (&str, &str)> {
        self.branches.iter().filter_map(|b| match &b.origin {
            BranchOrigin::RenameFrom(old) => Some((old.as_str(), b.name.as_str())),
            _ => None,
        })
    }

    /// `(new, source)` for each branch created from another.
    pub fn creations(&self) -> impl Iterator<Item = (&str, &str)> {
        self.branches.iter().filter_map(|b| match &b.origin {
            BranchOrigin::CreateFrom(src) => Some((b.name.as_str(), src.as_str())),
            _ => None,
        })
    }
}

/// An error in a plan file or in the variables given for it.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SpecError {
    #[error("{file}:{line}:{column}: {message}")]
    At { file: String, line: usize, column: usize, message: String },
    #[error("cannot read plan file {path}: {message}")]
    Read { path: String, message: String },
    #[error("unknown plan variable `{key}`; the plan `{plan}` knows: {known}")]
    UnknownVariable { key: String, plan: String, known: String },
    #[error("`--set {given}` is not of the form KEY=VALUE")]
    BadSet { given: String },
    #[error("{what} `{name}` is not a valid git branch name{why}")]
    BadBranch { what: String, name: String, why: String },
    #[error("{message}")]
    Invalid { message: String },
}

impl Spec {
    /// The plan compiled into the binary.
    pub fn builtin() -> Spec {
        // The built-in plan is checked by a unit test, so this cannot fail at run time.
        Spec::parse(BUILTIN_ADR_002, BUILTIN_SOURCE).expect("the built-in plan parses")
    }

    /// Reads and parses a plan file.
    pub fn load(path: &Path) -> Result<Spec, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Spec::parse(&text, &path.display().to_string())
    }

    /// Parses plan text; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Spec, SpecError> {
        let doc = Document::parse(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            at(source, text, span, e.message().trim().to_string())
        })?;
        Reader { text, source }.spec(doc.as_table())
    }

    /// Resolves the templates with `sets` (from `--set`, applied in order) over the
    /// defaults and the environment, and validates the result.
    pub fn resolve(
        &self,
        sets: &[(String, String)],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Target, SpecError> {
        let vars = self.variable_values(sets, env)?;
        let sub = |s: &str| substitute(s, &vars);
        let branches = self
            .branches
            .iter()
            .map(|b| {
                Ok(BranchDef {
                    must_contain: b.must_contain.clone(),
                    name: sub(&b.name)?,
                    origin: match &b.origin {
                        BranchOrigin::Existing => BranchOrigin::Existing,
                        BranchOrigin::CreateFrom(s) => BranchOrigin::CreateFrom(sub(s)?),
                        BranchOrigin::RenameFrom(s) => BranchOrigin::RenameFrom(sub(s)?),
                    },
                })
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        let rewrite = match &self.rewrite {
            None => None,
            Some(r) => Some(RewriteDef {
                commit_on: sub(&r.commit_on)?,
                branches: r.branches.iter().map(|(a, b)| Ok((sub(a)?, sub(b)?))).collect::<Result<
                    _,
                    SpecError,
                >>(
                )?,
                files: r.files.clone(),
                message: sub(&r.message)?,
            }),
        };
        let pages = match &self.pages {
            None => None,
            Some(p) => Some(PagesDef {
                project: sub(&p.project)?,
                account_id: sub(&p.account_id)?,
                helm_repo_url: sub(&p.helm_repo_url)?,
            }),
        };
        let github = match &self.github {
            None => None,
            Some(g) => Some(GitHubTarget::new(
                sub(&g.repository)?,
                &sub(&g.integration_approvals)?,
                &sub(&g.pages)?,
            )?),
        };
        let remote = sub(&self.remote)?;
        let target = Target {
            plan_name: self.name.clone(),
            plan_source: self.source.clone(),
            variables: vars.clone(),
            remote,
            branches,
            rewrite,
            pages,
            github,
            resolutions: Default::default(),
        };
        validate(&target)?;
        Ok(target)
    }

    fn variable_values(
        &self,
        sets: &[(String, String)],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>, SpecError> {
        let mut vars = BTreeMap::new();
        for v in &self.variables {
            let from_env = v.env.as_deref().and_then(env).filter(|s| !s.is_empty());
            let value = from_env.or_else(|| v.default.clone()).unwrap_or_default();
            vars.insert(v.key.clone(), value);
        }
        for (key, value) in sets {
            match vars.get_mut(key) {
                Some(slot) => *slot = value.clone(),
                None => {
                    return Err(SpecError::UnknownVariable {
                        key: key.clone(),
                        plan: self.name.clone(),
                        known: self.known_keys(),
                    });
                }
            }
        }
        Ok(vars)
    }

    fn known_keys(&self) -> String {
        let keys: Vec<&str> = self.variables.iter().map(|v| v.key.as_str()).collect();
        keys.join(", ")
    }
}

/// Splits `KEY=VALUE` as given to `--set`.
pub fn parse_set(given: &str) -> Result<(String, String), SpecError> {
    match given.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(SpecError::BadSet { given: given.to_string() }),
    }
}

/// Parses a review decision, `PATH:LINE[:COLUMN]=rewrite|keep` (as `--resolve` and batch
/// files give it; column 0 decides every item on the line); `None` when it is not one.
pub fn parse_resolve(given: &str) -> Option<((String, usize, usize), crate::rewrite::Verdict)> {
    let (place, verdict) = given.rsplit_once('=')?;
    let verdict = match verdict {
        "rewrite" => crate::rewrite::Verdict::Rewrite,
        "keep" => crate::rewrite::Verdict::Keep,
        _ => return None,
    };
    let mut parts = place.rsplitn(3, ':');
    let last: usize = parts.next()?.parse().ok()?;
    let key = match (parts.next(), parts.next()) {
        (Some(mid), Some(path)) if mid.parse::<usize>().is_ok() => {
            (path.to_string(), mid.parse().unwrap_or(0), last)
        }
        (Some(mid), rest) => {
            let path = rest.map_or(mid.to_string(), |p| format!("{p}:{mid}"));
            (path, last, 0)
        }
        (None, _) => return None,
    };
    (!key.0.is_empty() && key.1 != 0).then_some((key, verdict))
}

/// Checks a branch name as git would, and refuses names that read as options.
pub fn check_branch_name(what: &str, name: &str) -> Result<(), SpecError> {
    let bad = |why: &str| SpecError::BadBranch {
        what: what.to_string(),
        name: name.to_string(),
        why: why.to_string(),
    };
    if name.is_empty() {
        return Err(bad(": it is empty (set it with --set)"));
    }
    if name.starts_with('-') {
        return Err(bad(": it starts with `-` and would read as an option"));
    }
    if name.starts_with("refs/") || name.starts_with("heads/") || name.starts_with("remotes/") {
        // git would take it, as `refs/heads/refs/heads/x`: a branch nobody means.
        return Err(bad(
            ": give the short name of the branch (e.g. `release`, not `refs/heads/release`)",
        ));
    }
    if name == "HEAD" || !git2::Reference::is_valid_name(&format!("refs/heads/{name}")) {
        return Err(bad(" (see `git check-ref-format --branch`)"));
    }
    Ok(())
}

fn validate(t: &Target) -> Result<(), SpecError> {
    check_remote_name(&t.remote)?;
    for b in &t.branches {
        check_branch_name("branch", &b.name)?;
        for f in &b.must_contain {
            check_repo_glob(f)?;
        }
        match &b.origin {
            BranchOrigin::Existing => {}
            BranchOrigin::CreateFrom(s) => check_branch_name("source branch", s)?,
            BranchOrigin::RenameFrom(s) => check_branch_name("renamed branch", s)?,
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for b in &t.branches {
        if !seen.insert(b.name.as_str()) {
            return Err(SpecError::Invalid {
                message: format!("the plan names branch `{}` twice", b.name),
            });
        }
    }
    for (old, new) in t.renames() {
        if old == new {
            return Err(SpecError::Invalid {
                message: format!(
                    "branch `{old}` would be renamed to itself: check `from` and `to`"
                ),
            });
        }
        if seen.contains(old) {
            return Err(SpecError::Invalid {
                message: format!("branch `{old}` is both renamed and kept: check `from`"),
            });
        }
    }
    if let Some(r) = &t.rewrite {
        check_branch_name("rewrite.commit_on", &r.commit_on)?;
        for f in &r.files {
            check_repo_glob(f)?;
        }
    }
    Ok(())
}

fn check_remote_name(name: &str) -> Result<(), SpecError> {
    // git2's `Remote::is_valid_name` panics on a NUL byte (a TOML `\u0000`): check first.
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && !name.contains('\0')
        && git2::Remote::is_valid_name(name)
        && !name.contains('/');
    if ok {
        Ok(())
    } else {
        Err(SpecError::Invalid {
            message: format!("`{name}` is not a valid remote name (set it with --set remote=NAME)"),
        })
    }
}

/// A file pattern must stay inside the repository: relative, no `..`, no backslashes.
fn check_repo_glob(pattern: &str) -> Result<(), SpecError> {
    let escapes = pattern.starts_with('/')
        || pattern.contains('\\')
        || pattern.split('/').any(|part| part == ".." || part.is_empty());
    if escapes || pattern.is_empty() {
        return Err(SpecError::Invalid {
            message: format!(
                "rewrite file pattern `{pattern}` must be a relative path inside the repository"
            ),
        });
    }
    Ok(())
}

/// Replaces `{key}` by its value; `{{` and `}}` stand for literal braces.
fn substitute(template: &str, vars: &BTreeMap<String, String>) -> Result<String, SpecError> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
            continue;
        }
        let close = tail.find('}').filter(|_| tail.starts_with('{'));
        let Some(close) = close else {
            return Err(SpecError::Invalid {
                message: format!("unbalanced brace in `{template}`"),
            });
        };
        let key = &tail[1..close];
        let value = vars.get(key).ok_or_else(|| SpecError::Invalid {
            message: format!("`{template}` uses `{{{key}}}`, which is not a variable of the plan"),
        })?;
        out.push_str(value);
        rest = &tail[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Reads the typed fields of a parsed plan document, with positions for errors.
struct Reader<'a> {
    text: &'a str,
    source: &'a str,
}

impl Reader<'_> {
    fn spec(&self, root: &Table) -> Result<Spec, SpecError> {
        self.only_keys(
            root,
            &["plan", "variables", "remote", "branch", "rewrite", "pages", "github"],
        )?;
        let plan = self.table(root, "plan")?;
        self.only_keys(plan, &["name", "title"])?;
        let name = self.string(plan, "name")?;
        let title = self.opt_string(plan, "title")?.unwrap_or_default();
        let variables = self.variables(root)?;
        let remote = match root.get("remote") {
            None => "origin".to_string(),
            Some(_) => {
                let t = self.table(root, "remote")?;
                self.only_keys(t, &["name"])?;
                self.string(t, "name")?
            }
        };
        let spec = Spec {
            name,
            title,
            source: self.source.to_string(),
            variables,
            remote,
            branches: self.branches(root)?,
            rewrite: self.rewrite(root)?,
            pages: self.pages(root)?,
            github: self.github(root)?,
        };
        self.check_templates(&spec)?;
        Ok(spec)
    }

    fn variables(&self, root: &Table) -> Result<Vec<VariableDef>, SpecError> {
        let Some(item) = root.get("variables") else {
            return Ok(Vec::new());
        };
        let table = item
            .as_table_like()
            .ok_or_else(|| self.err(item.span(), "`variables` must be a table"))?;
        let mut out = Vec::new();
        for (key, item) in table.iter() {
            let def = match item {
                Item::Value(Value::String(s)) => VariableDef {
                    key: key.to_string(),
                    default: Some(s.value().clone()),
                    env: None,
                    help: String::new(),
                },
                _ => {
                    let t = item.as_table_like().ok_or_else(|| {
                        self.err(
                            item.span(),
                            &format!(
                                "variable `{key}` must be a string or {{ default, env, help }}"
                            ),
                        )
                    })?;
                    self.variable(key, t)?
                }
            };
            out.push(def);
        }
        Ok(out)
    }

    fn variable(&self, key: &str, t: &dyn toml_edit::TableLike) -> Result<VariableDef, SpecError> {
        let mut def =
            VariableDef { key: key.to_string(), default: None, env: None, help: String::new() };
        for (k, item) in t.iter() {
            let value = item.as_str().ok_or_else(|| {
                self.err(item.span(), &format!("`variables.{key}.{k}` must be a string"))
            })?;
            match k {
                "default" => def.default = Some(value.to_string()),
                "env" => def.env = Some(value.to_string()),
                "help" => def.help = value.to_string(),
                _ => {
                    return Err(self.err(
                        item.span(),
                        &format!(
                            "unknown field `{k}` in variable `{key}`; expected default, env or help"
                        ),
                    ));
                }
            }
        }
        Ok(def)
    }

    fn branches(&self, root: &Table) -> Result<Vec<BranchDef>, SpecError> {
        let Some(item) = root.get("branch") else {
            return Err(self.err(None, "the plan has no [[branch]] entries"));
        };
        let array = item.as_array_of_tables().ok_or_else(|| {
            self.err(item.span(), "`branch` must be an array of tables ([[branch]])")
        })?;
        array.iter().map(|t| self.branch(t)).collect()
    }

    fn branch(&self, t: &Table) -> Result<BranchDef, SpecError> {
        self.only_keys(t, &["name", "create_from", "rename_from", "must_contain"])?;
        let name = self.string(t, "name")?;
        let create = self.opt_string(t, "create_from")?;
        let rename = self.opt_string(t, "rename_from")?;
        let origin = match (create, rename) {
            (None, None) => BranchOrigin::Existing,
            (Some(c), None) => BranchOrigin::CreateFrom(c),
            (None, Some(r)) => BranchOrigin::RenameFrom(r),
            (Some(_), Some(_)) => {
                return Err(self.err(
                    t.get("rename_from").and_then(Item::span),
                    "a branch takes `create_from` or `rename_from`, not both",
                ));
            }
        };
        let must_contain = match t.get("must_contain") {
            Some(_) => self.string_array(t, "must_contain")?,
            None => Vec::new(),
        };
        Ok(BranchDef { name, origin, must_contain })
    }

    fn rewrite(&self, root: &Table) -> Result<Option<RewriteDef>, SpecError> {
        if root.get("rewrite").is_none() {
            return Ok(None);
        }
        let t = self.table(root, "rewrite")?;
        self.only_keys(t, &["commit_on", "branches", "files", "message"])?;
        let item = self.required(t, "branches")?;
        let map = item
            .as_table_like()
            .ok_or_else(|| self.err(item.span(), "`rewrite.branches` must be a table OLD = NEW"))?;
        let mut branches = Vec::new();
        for (k, v) in map.iter() {
            let new = v.as_str().ok_or_else(|| {
                self.err(v.span(), &format!("`rewrite.branches.{k}` must be a string"))
            })?;
            branches.push((k.to_string(), new.to_string()));
        }
        Ok(Some(RewriteDef {
            commit_on: self.string(t, "commit_on")?,
            branches,
            files: self.string_array(t, "files")?,
            message: self
                .opt_string(t, "message")?
                .unwrap_or_else(|| "ci: follow branch rename".into()),
        }))
    }

    fn pages(&self, root: &Table) -> Result<Option<PagesDef>, SpecError> {
        if root.get("pages").is_none() {
            return Ok(None);
        }
        let t = self.table(root, "pages")?;
        self.only_keys(t, &["project", "account_id", "helm_repo_url"])?;
        Ok(Some(PagesDef {
            project: self.string(t, "project")?,
            account_id: self.opt_string(t, "account_id")?.unwrap_or_default(),
            helm_repo_url: self.opt_string(t, "helm_repo_url")?.unwrap_or_default(),
        }))
    }

    fn github(&self, root: &Table) -> Result<Option<GitHubDef>, SpecError> {
        if root.get("github").is_none() {
            return Ok(None);
        }
        let t = self.table(root, "github")?;
        self.only_keys(t, &["repository", "integration_approvals", "pages"])?;
        Ok(Some(GitHubDef {
            repository: self.opt_string(t, "repository")?.unwrap_or_default(),
            integration_approvals: self
                .opt_string(t, "integration_approvals")?
                .unwrap_or_else(|| "1".into()),
            pages: self.opt_string(t, "pages")?.unwrap_or_else(|| "switch".into()),
        }))
    }

    /// Every template must name a declared variable; found here so the error has a position.
    fn check_templates(&self, spec: &Spec) -> Result<(), SpecError> {
        let vars: BTreeMap<String, String> =
            spec.variables.iter().map(|v| (v.key.clone(), String::new())).collect();
        let mut templates = vec![spec.remote.as_str()];
        for b in &spec.branches {
            templates.push(&b.name);
            if let BranchOrigin::CreateFrom(s) | BranchOrigin::RenameFrom(s) = &b.origin {
                templates.push(s);
            }
        }
        if let Some(r) = &spec.rewrite {
            templates.extend([r.commit_on.as_str(), r.message.as_str()]);
            templates.extend(r.branches.iter().flat_map(|(a, b)| [a.as_str(), b.as_str()]));
        }
        if let Some(g) = &spec.github {
            templates.extend([
                g.repository.as_str(),
                g.integration_approvals.as_str(),
                g.pages.as_str(),
            ]);
        }
        if let Some(p) = &spec.pages {
            templates.extend([p.project.as_str(), p.account_id.as_str(), p.helm_repo_url.as_str()]);
        }
        for t in templates {
            if let Err(SpecError::Invalid { message }) = substitute(t, &vars) {
                let span = self.text.find(t).map(|i| i..i + t.len());
                return Err(self.err(span, &message));
            }
        }
        Ok(())
    }

    fn only_keys(&self, t: &Table, allowed: &[&str]) -> Result<(), SpecError> {
        for (key, item) in t.iter() {
            if !allowed.contains(&key) {
                let span = t.key(key).and_then(|k| k.span()).or_else(|| item.span());
                return Err(self.err(
                    span,
                    &format!("unknown key `{key}`; expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn table<'t>(&self, parent: &'t Table, key: &str) -> Result<&'t Table, SpecError> {
        let item = self.required(parent, key)?;
        item.as_table()
            .ok_or_else(|| self.err(item.span(), &format!("`{key}` must be a table ([{key}])")))
    }

    fn required<'t>(&self, t: &'t Table, key: &str) -> Result<&'t Item, SpecError> {
        t.get(key).ok_or_else(|| self.err(t.span(), &format!("missing required key `{key}`")))
    }

    fn string(&self, t: &Table, key: &str) -> Result<String, SpecError> {
        self.opt_string(t, key)?
            .ok_or_else(|| self.err(t.span(), &format!("missing required key `{key}`")))
    }

    fn opt_string(&self, t: &Table, key: &str) -> Result<Option<String>, SpecError> {
        match t.get(key) {
            None => Ok(None),
            Some(item) => item
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| self.err(item.span(), &format!("`{key}` must be a string"))),
        }
    }

    fn string_array(&self, t: &Table, key: &str) -> Result<Vec<String>, SpecError> {
        let item = self.required(t, key)?;
        let array = item.as_array().ok_or_else(|| {
            self.err(item.span(), &format!("`{key}` must be an array of strings"))
        })?;
        array
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.err(v.span(), &format!("`{key}` must hold only strings")))
            })
            .collect()
    }

    fn err(&self, span: Option<Range<usize>>, message: &str) -> SpecError {
        at(self.source, self.text, span.unwrap_or(0..0), message.to_string())
    }
}

fn at(source: &str, text: &str, span: Range<usize>, message: String) -> SpecError {
    let (line, column) = line_column(text, span.start);
    SpecError::At { file: source.to_string(), line, column, message }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

impl fmt::Display for BranchOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BranchOrigin::Existing => write!(f, "kept"),
            BranchOrigin::CreateFrom(s) => write!(f, "created from {s}"),
            BranchOrigin::RenameFrom(s) => write!(f, "renamed from {s}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn builtin_plan_resolves_to_adr_002() {
        let t = Spec::builtin().resolve(&[], &no_env).unwrap();
        assert_eq!(t.remote, "origin");
        assert_eq!(t.existing().collect::<Vec<_>>(), ["main"]);
        assert_eq!(t.renames().collect::<Vec<_>>(), [("charts", "release")]);
        assert_eq!(t.creations().collect::<Vec<_>>(), [("integration", "main")]);
        let r = t.rewrite.unwrap();
        assert_eq!(r.branches, [("charts".to_string(), "release".to_string())]);
        assert_eq!(t.pages.unwrap().project, "");
    }

    #[test]
    fn gh_pages_is_the_builtin_plan_with_one_variable() {
        let sets = [("from".to_string(), "gh-pages".to_string())];
        let t = Spec::builtin().resolve(&sets, &no_env).unwrap();
        assert_eq!(t.renames().collect::<Vec<_>>(), [("gh-pages", "release")]);
        assert_eq!(t.rewrite.unwrap().branches, [("gh-pages".into(), "release".into())]);
    }

    #[test]
    fn set_overrides_default_and_env() {
        let env = |k: &str| (k == "CLOUDFLARE_ACCOUNT_ID").then(|| "acc".to_string());
        let sets = [("main".to_string(), "master".to_string())];
        let t = Spec::builtin().resolve(&sets, &env).unwrap();
        assert_eq!(t.variables["main"], "master");
        assert_eq!(t.variables["cloudflare.account_id"], "acc");
        assert_eq!(t.creations().collect::<Vec<_>>(), [("integration", "master")]);
    }

    #[test]
    fn unknown_set_key_lists_known_keys() {
        let sets = [("mian".to_string(), "x".to_string())];
        let err = Spec::builtin().resolve(&sets, &no_env).unwrap_err().to_string();
        assert!(err.contains("unknown plan variable `mian`"), "{err}");
        assert!(err.contains("remote, main, from, to, integration"), "{err}");
    }

    #[test]
    fn option_like_branch_is_refused() {
        let sets = [("to".to_string(), "--force".to_string())];
        let err = Spec::builtin().resolve(&sets, &no_env).unwrap_err().to_string();
        assert!(err.contains("`--force`") && err.contains("option"), "{err}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let err = Spec::parse("[plan]\nname = \"x\"\ntitle = \n", "p.toml").unwrap_err();
        let SpecError::At { file, line, .. } = &err else { panic!("{err:?}") };
        assert_eq!((file.as_str(), *line), ("p.toml", 3));
    }

    #[test]
    fn unknown_key_points_at_it() {
        let text = "[plan]\nname = \"x\"\n\n[[branch]]\nname = \"main\"\nrenam_from = \"a\"\n";
        let err = Spec::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:6:1: unknown key `renam_from`"), "{err}");
    }

    #[test]
    fn undeclared_variable_points_at_template() {
        let text = "[plan]\nname = \"x\"\n[[branch]]\nname = \"{mian}\"\n";
        let err = Spec::parse(text, "p.toml").unwrap_err().to_string();
        assert!(err.starts_with("p.toml:4:"), "{err}");
        assert!(err.contains("{mian}"), "{err}");
    }

    #[test]
    fn file_patterns_stay_inside_the_repository() {
        let text =
            BUILTIN_ADR_002.replace("files = [\"**\"]", "files = [\"**\", \"../outside.yml\"]");
        assert_ne!(text, BUILTIN_ADR_002, "the pattern went in");
        let spec = Spec::parse(&text, "p.toml").unwrap();
        let err = spec.resolve(&[], &no_env).unwrap_err().to_string();
        assert!(err.contains("../outside.yml"), "{err}");
    }

    #[test]
    fn line_column_counts_characters() {
        assert_eq!(line_column("ü\nab", 4), (2, 2));
        assert_eq!(line_column("", 0), (1, 1));
    }
}
