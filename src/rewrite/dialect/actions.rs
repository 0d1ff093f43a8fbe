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
    Branch,
    Path,
    Other,
}

/// `with:` inputs of actions known to take a branch or a path.
pub(crate) const INPUTS: &[(&str, &str, Input)] = &[
    ("actions/checkout", "ref", Input::Branch),
    ("actions/checkout", "repository", Input::Other),
    ("helm/chart-releaser-action", "pages_branch", Input::Branch),
    ("peaceiris/actions-gh-pages", "publish_branch", Input::Branch),
    ("jamesives/github-pages-deploy-action", "branch", Input::Branch),
    ("stefanprodan/helm-gh-pages", "branch", Input::Branch),
    ("stefanprodan/helm-gh-pages", "target_dir", Input::Path),
    ("cloudflare/pages-action", "branch", Input::Branch),
    ("peter-evans/create-pull-request", "base", Input::Branch),
    ("peter-evans/create-pull-request", "branch", Input::Branch),
    ("stefanzweifel/git-auto-commit-action", "branch", Input::Branch),
    ("ad-m/github-push-action", "branch", Input::Branch),
    ("dawidd6/action-download-artifact", "branch", Input::Branch),
    ("softprops/action-gh-release", "target_commitish", Input::Branch),
    ("endbug/add-and-commit", "new_branch", Input::Branch),
    ("actions/github-script", "script", Input::Other),
];

/// Actions that publish to `gh-pages` unless told otherwise, and the input that says so.
pub(crate) const PAGES_DEFAULTS: &[(&str, &str)] = &[
    ("helm/chart-releaser-action", "pages_branch"),
    ("stefanprodan/helm-gh-pages", "branch"),
    ("peaceiris/actions-gh-pages", "publish_branch"),
    ("jamesives/github-pages-deploy-action", "branch"),
];
