//! The batch file: which repositories, where to work, and per-repository plan variables.
//!
//! ```toml
//! [defaults]
//! workdir = "work"                    # clones and the report; default: this file's directory
//! plan = "plans/adr-002.toml"         # default: the built-in ADR-002 plan
//! set = { "cloudflare.account_id" = "0123…" }
//! resolve = []                        # review decisions, PATH:LINE[:COLUMN]=rewrite|keep
//!
//! [[repo]]
//! path = "../helm-charts"             # a local clone
//! set = { "cloudflare.project" = "acme-helm-charts" }
//!
//! [[repo]]
//! name = "legacy-charts"              # default: the last part of the path or URL
//! url = "https://github.com/acme/legacy-charts.git"   # cloned into workdir/name, or fetched
//! set = { from = "gh-pages", main = "master" }
//! ```
//!
//! Read with `toml_edit`, so that every error points at `file:line:column`. Relative paths
//! are relative to the batch file's directory.

use std::collections::BTreeSet;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{Document, Item, Table, Value};

use crate::spec::line_column;

/// A parsed batch file.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchFile {
    /// The file, as named to the user.
    pub source: String,
    /// Where clones and the report go.
    pub workdir: PathBuf,
    /// The plan file for repositories that name none (`None`: the built-in plan).
    pub plan: Option<PathBuf>,
    /// Plan variables for every repository, before each repository's own.
    pub sets: Vec<(String, String)>,
    /// Review decisions for every repository, before each repository's own.
    pub resolve: Vec<String>,
    pub repos: Vec<RepoEntry>,
}

/// One repository of the batch.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoEntry {
    pub name: String,
    pub location: Location,
    pub plan: Option<PathBuf>,
    pub sets: Vec<(String, String)>,
    pub resolve: Vec<String>,
    /// Line of its `[[repo]]` in the file.
    pub line: usize,
}

/// Where a repository is.
#[derive(Debug, Clone, PartialEq)]
pub enum Location {
    /// A local clone.
    Path(PathBuf),
    /// A clone URL: cloned into the work directory, or fetched there if already cloned.
    Url(String),
}

/// A batch file that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum BatchError {
    #[error("{file}:{line}:{column}: {message}")]
    At { file: String, line: usize, column: usize, message: String },
    #[error("cannot read batch file {path}: {message}")]
    Read { path: String, message: String },
}

impl BatchFile {
    /// Reads and parses a batch file.
    pub fn load(path: &Path) -> Result<BatchFile, BatchError> {
        let text = std::fs::read_to_string(path).map_err(|e| BatchError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let base = absolute.parent().map(Path::to_path_buf).unwrap_or_default();
        BatchFile::parse(&text, &path.display().to_string(), &base)
    }

    /// Parses batch file text; `source` names it in errors, `base` anchors relative paths.
    pub fn parse(text: &str, source: &str, base: &Path) -> Result<BatchFile, BatchError> {
        let r = Reader { text, source, base };
        let doc =
            Document::parse(text).map_err(|e| r.err(e.span(), e.message().trim().to_string()))?;
        r.file(doc.as_table())
    }

    /// The repository named `name`.
    pub fn repo(&self, name: &str) -> Option<&RepoEntry> {
        self.repos.iter().find(|r| r.name == name)
    }
}

impl RepoEntry {
    /// The directory of its clone: its path, or `workdir/name` for a URL.
    pub fn dir(&self, workdir: &Path) -> PathBuf {
        match &self.location {
            Location::Path(p) => p.clone(),
            Location::Url(_) => workdir.join(&self.name),
        }
    }
}

struct Reader<'a> {
    text: &'a str,
    source: &'a str,
    base: &'a Path,
}

impl Reader<'_> {
    fn file(&self, root: &Table) -> Result<BatchFile, BatchError> {
        self.only_keys(root, &["defaults", "repo"])?;
        let defaults = match root.get("defaults") {
            None => None,
            Some(item) => Some(item.as_table().ok_or_else(|| {
                self.err(item.span(), "`defaults` must be a table ([defaults])".into())
            })?),
        };
        let empty = Table::new();
        let d = defaults.unwrap_or(&empty);
        self.only_keys(d, &["workdir", "plan", "set", "resolve"])?;
        let workdir = self.opt_path(d, "workdir")?.unwrap_or_else(|| self.base.to_path_buf());
        let plan = self.opt_path(d, "plan")?;
        let sets = self.sets(d)?;
        let resolve = self.strings(d, "resolve")?;
        let Some(item) = root.get("repo") else {
            return Err(
                self.err(Some(0..0), "no repositories: add a [[repo]] with `path` or `url`".into())
            );
        };
        let tables = item.as_array_of_tables().ok_or_else(|| {
            self.err(item.span(), "`repo` must be an array of tables ([[repo]])".into())
        })?;
        let mut repos: Vec<RepoEntry> = Vec::new();
        let mut names = BTreeSet::new();
        for t in tables.iter() {
            let repo = self.repo(t)?;
            if !names.insert(repo.name.clone()) {
                return Err(self.err(
                    t.span(),
                    format!(
                        "two repositories are named `{}`: give one a distinct `name`",
                        repo.name
                    ),
                ));
            }
            // The same clone or remote twice would be migrated twice, at the same time.
            if let Some(first) = repos.iter().find(|r| same_place(&r.location, &repo.location)) {
                let what = match &repo.location {
                    Location::Path(p) => format!("path `{}`", p.display()),
                    Location::Url(u) => format!("url `{u}`"),
                };
                return Err(self.err(
                    t.span(),
                    format!(
                        "this [[repo]] has the same {what} as `{}` (line {}): list each repository once",
                        first.name, first.line
                    ),
                ));
            }
            repos.push(repo);
        }
        if repos.is_empty() {
            return Err(self.err(item.span(), "no repositories: add a [[repo]]".into()));
        }
        Ok(BatchFile { source: self.source.to_string(), workdir, plan, sets, resolve, repos })
    }

    fn repo(&self, t: &Table) -> Result<RepoEntry, BatchError> {
        self.only_keys(t, &["name", "path", "url", "plan", "set", "resolve"])?;
        let path = self.opt_path(t, "path")?;
        let url = self.opt_string(t, "url")?;
        let location =
            match (path, url) {
                (Some(p), None) => Location::Path(p),
                (None, Some(u)) if !u.trim().is_empty() => Location::Url(u),
                (Some(_), Some(_)) => {
                    return Err(self
                        .err(t.span(), "a [[repo]] has either `path` or `url`, not both".into()));
                }
                _ => {
                    return Err(self
                        .err(t.span(), "a [[repo]] needs `path` (a local clone) or `url`".into()));
                }
            };
        let name = match self.opt_string(t, "name")? {
            Some(n) => n,
            None => default_name(&location),
        };
        let bad_name = name.is_empty()
            || name.starts_with('.')
            || name.contains(['/', '\\'])
            || name.chars().any(char::is_control);
        if bad_name {
            let span = t.get("name").and_then(Item::span).or_else(|| t.span());
            return Err(self.err(
                span,
                format!("`{name}` cannot name a repository here (it is also its clone's directory): set `name` to a plain word"),
            ));
        }
        Ok(RepoEntry {
            name,
            location,
            plan: self.opt_path(t, "plan")?,
            sets: self.sets(t)?,
            resolve: self.strings(t, "resolve")?,
            line: line_column(self.text, t.span().map_or(0, |s| s.start)).0,
        })
    }

    /// `set = { key = "value", "dotted.key" = "value" }`; nested tables become dotted keys.
    fn sets(&self, t: &Table) -> Result<Vec<(String, String)>, BatchError> {
        let Some(item) = t.get("set") else { return Ok(Vec::new()) };
        let table = item.as_table_like().ok_or_else(|| {
            self.err(
                item.span(),
                "`set` must be a table of plan variables, e.g. set = { from = \"gh-pages\" }"
                    .into(),
            )
        })?;
        let mut out = Vec::new();
        self.flatten("", table, &mut out)?;
        Ok(out)
    }

    fn flatten(
        &self,
        prefix: &str,
        table: &dyn toml_edit::TableLike,
        out: &mut Vec<(String, String)>,
    ) -> Result<(), BatchError> {
        for (key, item) in table.iter() {
            let full = if prefix.is_empty() { key.to_string() } else { format!("{prefix}.{key}") };
            if let Some(inner) = item.as_table_like() {
                self.flatten(&full, inner, out)?;
                continue;
            }
            let value = match item.as_value() {
                Some(Value::String(s)) => s.value().clone(),
                _ => {
                    return Err(
                        self.err(item.span(), format!("plan variable `{full}` must be a string"))
                    );
                }
            };
            out.push((full, value));
        }
        Ok(())
    }

    fn strings(&self, t: &Table, key: &str) -> Result<Vec<String>, BatchError> {
        let Some(item) = t.get(key) else { return Ok(Vec::new()) };
        let array = item
            .as_array()
            .ok_or_else(|| self.err(item.span(), format!("`{key}` must be an array of strings")))?;
        array
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| self.err(v.span(), format!("`{key}` must hold only strings")))
            })
            .collect()
    }

    fn opt_string(&self, t: &Table, key: &str) -> Result<Option<String>, BatchError> {
        match t.get(key) {
            None => Ok(None),
            Some(item) => item
                .as_str()
                .map(|s| Some(s.to_string()))
                .ok_or_else(|| self.err(item.span(), format!("`{key}` must be a string"))),
        }
    }

    fn opt_path(&self, t: &Table, key: &str) -> Result<Option<PathBuf>, BatchError> {
        let Some(s) = self.opt_string(t, key)? else { return Ok(None) };
        if s.is_empty() {
            let span = t.get(key).and_then(Item::span);
            return Err(self.err(span, format!("`{key}` is empty")));
        }
        let path = PathBuf::from(s);
        Ok(Some(if path.is_absolute() { path } else { self.base.join(path) }))
    }

    fn only_keys(&self, t: &Table, allowed: &[&str]) -> Result<(), BatchError> {
        for (key, item) in t.iter() {
            if !allowed.contains(&key) {
                let span = t.key(key).and_then(|k| k.span()).or_else(|| item.span());
                return Err(self.err(
                    span,
                    format!("unknown key `{key}`; expected one of: {}", allowed.join(", ")),
                ));
            }
        }
        Ok(())
    }

    fn err(&self, span: Option<Range<usize>>, message: String) -> BatchError {
        let (line, column) = line_column(self.text, span.unwrap_or(0..0).start);
        BatchError::At { file: self.source.to_string(), line, column, message }
    }
}

/// Tells whether two locations are the same clone or remote: paths compared after
/// dropping `.` parts and trailing slashes, URLs without a trailing `/` or `.git` and with
/// the scheme and host in lower case.
fn same_place(a: &Location, b: &Location) -> bool {
    fn url_key(u: &str) -> String {
        let u = u.trim().trim_end_matches('/');
        let u = u.strip_suffix(".git").unwrap_or(u);
        match u.split_once("://") {
            Some((scheme, rest)) => {
                let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
                format!("{}://{}/{path}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase())
            }
            None => u.to_string(),
        }
    }
    match (a, b) {
        (Location::Path(a), Location::Path(b)) => {
            let parts = |p: &Path| -> Vec<std::ffi::OsString> {
                p.components()
                    .filter(|c| !matches!(c, std::path::Component::CurDir))
                    .map(|c| c.as_os_str().to_os_string())
                    .collect()
            };
            parts(a) == parts(b)
        }
        (Location::Url(a), Location::Url(b)) => url_key(a) == url_key(b),
        _ => false,
    }
}

/// The last part of the path or URL, without `.git`.
fn default_name(location: &Location) -> String {
    let text = match location {
        Location::Path(p) => p
            .components()
            .next_back()
            .map_or_else(String::new, |c| c.as_os_str().to_string_lossy().into_owned()),
        Location::Url(u) => {
            let trimmed = u.trim_end_matches('/');
            trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed).to_string()
        }
    };
    text.strip_suffix(".git").unwrap_or(&text).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BatchFile, BatchError> {
        BatchFile::parse(text, "repos.toml", Path::new("/b"))
    }

    #[test]
    fn reads_defaults_and_repositories() {
        let f = parse(
            r#"
[defaults]
workdir = "work"
plan = "/plans/x.toml"
set = { "cloudflare.account_id" = "acc" }
resolve = ["a.yml:3=keep"]

[[repo]]
path = "../helm-charts"
set = { cloudflare.project = "helm", from = "gh-pages" }

[[repo]]
name = "legacy"
url = "https://github.com/acme/legacy-charts.git"
plan = "p.toml"
resolve = ["b.yml:1:2=rewrite"]

[[repo]]
url = "git@github.com:acme/other.git"
"#,
        )
        .unwrap();
        assert_eq!(f.workdir, Path::new("/b/work"));
        assert_eq!(f.plan.as_deref(), Some(Path::new("/plans/x.toml")));
        assert_eq!(f.sets, [("cloudflare.account_id".to_string(), "acc".to_string())]);
        assert_eq!(f.resolve, ["a.yml:3=keep"]);
        let names: Vec<&str> = f.repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["helm-charts", "legacy", "other"]);
        assert_eq!(f.repos[0].location, Location::Path("/b/../helm-charts".into()));
        assert_eq!(
            f.repos[0].sets,
            [
                ("cloudflare.project".to_string(), "helm".to_string()),
                ("from".to_string(), "gh-pages".to_string())
            ]
        );
        assert_eq!(f.repos[0].line, 8);
        assert_eq!(f.repos[1].plan.as_deref(), Some(Path::new("/b/p.toml")));
        assert_eq!(f.repos[1].dir(&f.workdir), Path::new("/b/work/legacy"));
        assert_eq!(f.repos[1].resolve, ["b.yml:1:2=rewrite"]);
    }

    #[test]
    fn workdir_defaults_to_the_file_directory() {
        let f = parse("[[repo]]\npath = \"a\"\n").unwrap();
        assert_eq!(f.workdir, Path::new("/b"));
        assert_eq!(f.repos[0].location, Location::Path("/b/a".into()));
    }

    #[test]
    fn errors_point_at_line_and_column() {
        let e = |t: &str| parse(t).unwrap_err().to_string();
        assert_eq!(
            e("[[repo]]\npath = \"a\"\npaht = \"b\"\n"),
            "repos.toml:3:1: unknown key `paht`; expected one of: name, path, url, plan, set, resolve"
        );
        assert_eq!(
            e("[[repo]]\npath = \"a\"\nset = { from = 3 }\n"),
            "repos.toml:3:16: plan variable `from` must be a string"
        );
        assert!(
            e("[[repo]]\nname = \"x\"\n").starts_with("repos.toml:1:1: a [[repo]] needs `path`")
        );
        assert!(e("[[repo]]\npath = \"a\"\nurl = \"b\"\n").contains("either `path` or `url`"));
        assert!(
            e("[[repo]]\npath = \"x/a\"\n[[repo]]\npath = \"y/a\"\n")
                .starts_with("repos.toml:3:1: two repositories are named `a`")
        );
        assert!(
            e("[[repo]]\npath = \"a\"\n[[repo]]\nname = \"b\"\npath = \"./a/\"\n").starts_with(
                "repos.toml:3:1: this [[repo]] has the same path `/b/./a/` as `a` (line 1)"
            )
        );
        assert!(
            e("[[repo]]\nurl = \"https://GitHub.com/acme/x.git\"\n[[repo]]\nname = \"y\"\nurl = \"https://github.com/acme/x/\"\n")
                .contains("has the same url `https://github.com/acme/x/` as `x` (line 1)")
        );
        assert!(e("[defaults]\nset = 1\n").starts_with("repos.toml:2:7: `set` must be a table"));
        assert!(e("[defaults]\n").contains("no repositories"));
        assert!(e("[[repo]\n").starts_with("repos.toml:1:"));
        assert!(
            e("[[repo]]\nurl = \"https://h/x.git\"\nname = \"../x\"\n")
                .contains("cannot name a repository")
        );
    }
}
