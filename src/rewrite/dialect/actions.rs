//! GitHub Actions' own vocabulary: what an action's inputs mean (a branch of this
//! repository, a path, another repository), and which actions publish to `gh-pages`
//! unless told otherwise.

/// The `uses:` of the mapping a value sits in (a step or a job calling a workflow).
pub(crate) type Owner<'n> = Option<&'n str>;

pub(crate) fn action_is(owner: Owner, name: &str) -> bool {
    owner.is_some_and(|u| action_name(u) == name)
}

pub(crate) fn action_name(uses: &str) -> String {
    let base = uses.split('@').next().unwrap_or(uses).to_ascii_lowercase();
    let mut parts = base.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(o), Some(r)) => format!("{o}/{r}"),
        _ => base,
    }
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
