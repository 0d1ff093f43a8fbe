//! GitHub Actions' own vocabulary: what an action's inputs mean (a branch of this
//! repository, a path, another repository), and which actions publish to `gh-pages`
//! unless told otherwise.

/// The `uses:` of the mapping a value sits in (a step or a job calling a workflow).
pub(crate) type Owner<'n> = Option<&'n str>;

pub(crate) fn action_is(owner: Owner, name: &str) -> bool {
    owner.is_some_and(|u| action_name(u) == name)
}

pub(crate) fn action_name(uses: &str) -> String {
    let mut base = uses.split('@').next().unwrap_or(uses).to_ascii_lowercase();
    // `owner/repo`: everything before a second `/` (a path inside the repository).
    if let Some(second) = base.match_indices('/').nth(1).map(|(i, _)| i) {
        base.truncate(second);
    }
    base
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// A branch of the repository the step works on (this one unless a `Repo` input
    /// names another).
    Branch,
    /// A path or directory, in the work tree.
    Path,
    /// `owner/name` of the repository the step works on.
    Repo,
    /// The name of that repository, its owner given apart.
    RepoName,
    Other,
}

/// What the `with:` inputs of actions that real chart repositories use mean. An input
/// named `repository` is a local path for some actions (git-auto-commit-action) and another
/// repository for others: the table says which.
pub(crate) const INPUTS: &[(&str, &str, Input)] = &[
    ("actions/checkout", "ref", Input::Branch),
    ("actions/checkout", "repository", Input::Repo),
    ("actions/checkout", "path", Input::Path),
    ("helm/chart-releaser-action", "pages_branch", Input::Branch),
    ("helm/chart-releaser-action", "charts_dir", Input::Path),
    ("helm/chart-releaser-action", "config", Input::Path),
    ("peaceiris/actions-gh-pages", "publish_branch", Input::Branch),
    ("peaceiris/actions-gh-pages", "external_repository", Input::Repo),
    ("peaceiris/actions-gh-pages", "publish_dir", Input::Path),
    ("peaceiris/actions-gh-pages", "destination_dir", Input::Path),
    ("jamesives/github-pages-deploy-action", "branch", Input::Branch),
    ("jamesives/github-pages-deploy-action", "repository-name", Input::Repo),
    ("jamesives/github-pages-deploy-action", "folder", Input::Path),
    ("jamesives/github-pages-deploy-action", "target-folder", Input::Path),
    ("stefanprodan/helm-gh-pages", "branch", Input::Branch),
    ("stefanprodan/helm-gh-pages", "repository", Input::RepoName),
    ("stefanprodan/helm-gh-pages", "target_dir", Input::Path),
    ("stefanprodan/helm-gh-pages", "charts_dir", Input::Path),
    ("cloudflare/pages-action", "branch", Input::Branch),
    ("peter-evans/create-pull-request", "base", Input::Branch),
    ("peter-evans/create-pull-request", "branch", Input::Branch),
    ("peter-evans/create-pull-request", "push-to-fork", Input::Repo),
    ("stefanzweifel/git-auto-commit-action", "branch", Input::Branch),
    ("stefanzweifel/git-auto-commit-action", "repository", Input::Path),
    ("stefanzweifel/git-auto-commit-action", "file_pattern", Input::Path),
    ("ad-m/github-push-action", "branch", Input::Branch),
    ("ad-m/github-push-action", "repository", Input::Repo),
    ("ad-m/github-push-action", "directory", Input::Path),
    ("dawidd6/action-download-artifact", "branch", Input::Branch),
    ("dawidd6/action-download-artifact", "repo", Input::Repo),
    ("softprops/action-gh-release", "target_commitish", Input::Branch),
    ("endbug/add-and-commit", "new_branch", Input::Branch),
    ("endbug/add-and-commit", "cwd", Input::Path),
    ("actions/github-script", "script", Input::Other),
];

/// What input `input` of `action` means, when the table knows.
pub(crate) fn input_meaning(action: &str, input: &str) -> Option<Input> {
    INPUTS.iter().find(|(a, i, _)| *a == action && *i == input).map(|t| t.2)
}

/// The inputs that may name the repository a step works on: those the table marks, or,
/// for an action it does not know, the usual `repository` and `external_repository`.
pub(crate) fn repo_inputs(action: &str) -> Vec<(&'static str, Input)> {
    let known: Vec<_> = INPUTS.iter().filter(|(a, _, _)| *a == action).collect();
    if known.is_empty() {
        return vec![("repository", Input::Repo), ("external_repository", Input::Repo)];
    }
    known
        .into_iter()
        .filter(|(_, _, m)| matches!(m, Input::Repo | Input::RepoName))
        .map(|(_, i, m)| (*i, *m))
        .collect()
}

/// `uses: OWNER/REPO[/path]@REF` where OWNER/REPO is this repository (`slug`): whether the
/// occurrence at `at..at+len` is exactly the ref.
pub(crate) fn uses_this_repo_at(uses: &str, at: usize, len: usize, slug: Option<&str>) -> bool {
    let (Some(slug), Some(sep)) = (slug, uses.rfind('@')) else {
        return false;
    };
    let target = uses[..sep].trim().to_ascii_lowercase();
    let slug = slug.to_ascii_lowercase();
    let ours = target == slug || target.strip_prefix(&slug).is_some_and(|r| r.starts_with('/'));
    ours && at == sep + 1 && uses[at + len..].trim().is_empty()
}

/// Actions that publish to `gh-pages` unless told otherwise, and the input that says so.
pub(crate) const PAGES_DEFAULTS: &[(&str, &str)] = &[
    ("helm/chart-releaser-action", "pages_branch"),
    ("stefanprodan/helm-gh-pages", "branch"),
    ("peaceiris/actions-gh-pages", "publish_branch"),
    ("jamesives/github-pages-deploy-action", "branch"),
];

/// The version of an action in use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Version {
    /// `@v1.4.1`, `@v1.6`, or a pinned SHA commented `# v1.4.1`.
    Exact(u32, u32, u32),
    /// `@v1`: a tag that follows the newest release of that major version.
    Major(u32),
    /// A branch (`@main`): the newest code.
    Newest,
    /// A pinned SHA without a version comment, or a ref that names no version.
    Unknown,
}

impl Version {
    /// Reads the version from a `uses:` value and the comment after it on its line.
    pub(crate) fn of(uses: &str, comment: &str) -> Self {
        let Some((_, r)) = uses.rsplit_once('@') else {
            return Self::Unknown;
        };
        let r = r.trim();
        let sha = r.len() >= 7 && r.bytes().all(|b| b.is_ascii_hexdigit());
        if sha {
            return comment
                .split(|c: char| c.is_whitespace() || c == ',')
                .find_map(parse_version)
                .unwrap_or(Self::Unknown);
        }
        parse_version(r).unwrap_or(if matches!(r, "main" | "master") {
            Self::Newest
        } else {
            Self::Unknown
        })
    }

    /// `Some(true)` when this version has what appeared in `since`, `None` when unknown.
    pub(crate) fn has(self, since: (u32, u32, u32)) -> Option<bool> {
        match self {
            Self::Exact(a, b, c) => Some((a, b, c) >= since),
            Self::Major(m) => Some(m >= since.0),
            Self::Newest => Some(true),
            Self::Unknown => None,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exact(a, b, c) => write!(f, "v{a}.{b}.{c}"),
            Self::Major(m) => write!(f, "v{m}"),
            Self::Newest => f.write_str("a branch"),
            Self::Unknown => f.write_str("an unknown version"),
        }
    }
}

fn parse_version(s: &str) -> Option<Version> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let mut parts = s.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next();
    let patch = parts.next();
    if parts.next().is_some() {
        return None;
    }
    match (minor, patch) {
        (None, None) => Some(Version::Major(major)),
        (Some(Some(b)), None) => Some(Version::Exact(major, b, 0)),
        (Some(Some(b)), Some(Some(c))) => Some(Version::Exact(major, b, c)),
        _ => None,
    }
}

/// Inputs that appeared in a given release of an action, and the environment variable that
/// does the same in every release.
pub(crate) const SINCE: &[(&str, &str, Release, &str)] =
    &[("helm/chart-releaser-action", "pages_branch", (1, 6, 0), "CR_PAGES_BRANCH")];

/// A release number, `(major, minor, patch)`.
pub(crate) type Release = (u32, u32, u32);

/// Where `action`'s `input` appeared, and the variable that works before it.
pub(crate) fn since(action: &str, input: &str) -> Option<(Release, &'static str)> {
    SINCE.iter().find(|(a, i, ..)| *a == action && *i == input).map(|t| (t.2, t.3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_refs_and_comments() {
        assert_eq!(Version::of("a/b@v1.6.0", ""), Version::Exact(1, 6, 0));
        assert_eq!(Version::of("a/b@v1.5", ""), Version::Exact(1, 5, 0));
        assert_eq!(Version::of("a/b@v1", ""), Version::Major(1));
        assert_eq!(Version::of("a/b@main", ""), Version::Newest);
        let sha = "a/b@cae68fefc6b5f367a0275617c9f83181ba54714f";
        assert_eq!(Version::of(sha, "v1.4.1"), Version::Exact(1, 4, 1));
        assert_eq!(Version::of(sha, "pin v1.7.0, renovate"), Version::Exact(1, 7, 0));
        assert_eq!(Version::of(sha, ""), Version::Unknown);
        assert_eq!(Version::of("a/b@release-x", ""), Version::Unknown);
        assert_eq!(Version::Exact(1, 4, 1).has((1, 6, 0)), Some(false));
        assert_eq!(Version::Exact(1, 6, 0).has((1, 6, 0)), Some(true));
        assert_eq!(Version::Major(1).has((1, 6, 0)), Some(true));
        assert_eq!(Version::Unknown.has((1, 6, 0)), None);
    }
}
