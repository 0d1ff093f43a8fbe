//! Value rules shared by the format analysers: what a word means inside a URL, a path, a
//! branch-typed value, an `if:` expression, or prose. Each rule looks at the text of one
//! value (`text`) and the occurrence at byte `at` inside it.

use super::edits::Insertion;
use super::{BranchMap, FileKind, RepoContext, RewriteError, Verdict};

/// What every rule may consult.
pub(crate) struct Env<'a> {
    pub kind: FileKind,
    pub map: &'a BranchMap,
    pub ctx: &'a RepoContext,
}

/// The verdict on one occurrence, with where it was found and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judgement {
    pub verdict: Verdict,
    pub context: String,
    pub reason: String,
}

impl Judgement {
    pub fn new(call: Call, context: impl Into<String>) -> Self {
        Self { verdict: call.0, context: context.into(), reason: call.1 }
    }
}

/// A verdict and its reason.
pub(crate) type Call = (Verdict, String);

pub(crate) fn call(verdict: Verdict, reason: &str) -> Call {
    (verdict, reason.to_string())
}

/// What an analyser found: one judgement per hit, in hit order, plus insertions.
#[derive(Debug, Default)]
pub(crate) struct Analysis {
    pub judgements: Vec<super::rules::Judgement>,
    pub insertions: Vec<Insertion>,
    pub notes: Vec<String>,
}

/// A parse failure, before the path is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnalyseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl AnalyseError {
    pub fn into_error(self, path: &str, _text: &str) -> RewriteError {
        RewriteError::Parse {
            path: path.to_string(),
            line: self.line,
            column: self.column,
            message: self.message,
        }
    }
}

/// Tells whether a key (input, variable, option) names a branch.
pub(crate) fn is_branch_key(key: &str) -> bool {
    // As `key.to_ascii_lowercase()` compared with lowercase words, without the copy.
    let k = key.as_bytes();
    let contains = |w: &str| k.windows(w.len()).any(|part| part.eq_ignore_ascii_case(w.as_bytes()));
    let ends_with =
        |w: &str| k.len() >= w.len() && k[k.len() - w.len()..].eq_ignore_ascii_case(w.as_bytes());
    (contains("branch") && !contains("branches_dir"))
        || ends_with("_ref")
        || ends_with("-ref")
        || key.eq_ignore_ascii_case("target_commitish")
}

/// Tells whether a name says ref or branch as one of its words (`git_ref_to_deploy`,
/// `deployRef`, `target-branch`), not inside another word (`prefix`, `refresh`).
pub(crate) fn names_a_ref(name: &str) -> bool {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() || (c.is_ascii_uppercase() && prev_lower) {
            words.push(std::mem::take(&mut word));
        }
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        }
        prev_lower = c.is_ascii_lowercase();
    }
    words.push(word);
    words.iter().any(|w| matches!(w.as_str(), "ref" | "branch" | "commitish"))
}

/// Tells whether a key names a path, a directory, a repository or a chart.
pub(crate) fn is_path_key(key: &str) -> bool {
    const WORDS: [&str; 9] =
        ["dir", "path", "folder", "file", "chart", "repo", "owner", "publish", "pattern"];
    // One pass over the key: a word is tried only where a word's first letter stands.
    let k = key.as_bytes();
    (0..k.len()).any(|i| {
        matches!(k[i].to_ascii_lowercase(), b'd' | b'p' | b'f' | b'c' | b'r' | b'o')
            && WORDS.iter().any(|w| {
                k.get(i..i + w.len()).is_some_and(|part| part.eq_ignore_ascii_case(w.as_bytes()))
            })
    })
}

fn byte_before(text: &str, at: usize) -> Option<u8> {
    at.checked_sub(1).and_then(|i| text.as_bytes().get(i).copied())
}

fn is_delim(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b'`' | b'(' | b')' | b',' | b'[' | b']')
}

/// The token around `at..at+len`, delimited by whitespace, quotes, brackets and commas.
pub(crate) fn token_around(text: &str, at: usize, len: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let mut s = at;
    while s > 0 && !is_delim(bytes[s - 1]) {
        s -= 1;
    }
    let mut e = (at + len).min(bytes.len());
    while e < bytes.len() && !is_delim(bytes[e]) {
        e += 1;
    }
    (s, e)
}

/// `refs/heads/<name>` or `<remote>/<name>` (origin, upstream) ending at a word end.
pub(crate) fn ref_prefix_call(text: &str, at: usize, len: usize) -> Option<Call> {
    let after = text.as_bytes().get(at + len).copied();
    if after == Some(b'/') || after == Some(b'*') {
        return None;
    }
    let before = &text[..at];
    let prefixed = |p: &str| {
        before.ends_with(p) && {
            let s = at - p.len();
            s == 0 || !byte_before(text, s).is_some_and(|b| b.is_ascii_alphanumeric() || b == b'/')
        }
    };
    if prefixed("refs/heads/") || prefixed("refs/remotes/origin/") {
        return Some(call(Verdict::Rewrite, "a full branch ref"));
    }
    if prefixed("origin/") || prefixed("upstream/") || prefixed("remotes/origin/") {
        return Some(call(Verdict::Rewrite, "a remote-tracking branch"));
    }
    None
}

/// Paths, globs, file and host names: the word sits next to `/`, `*` or a `.ext`.
pub(crate) fn path_call(text: &str, at: usize, len: usize) -> Option<Call> {
    let bytes = text.as_bytes();
    let after = bytes.get(at + len).copied();
    let after2 = bytes.get(at + len + 1).copied();
    let before = byte_before(text, at);
    if matches!(after, Some(b'/' | b'*')) || matches!(before, Some(b'/' | b'*')) {
        return Some(call(Verdict::Keep, "a path or glob"));
    }
    if after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_alphanumeric()) {
        return Some(call(Verdict::Keep, "part of a file or host name"));
    }
    if before == Some(b'.') && byte_before(text, at - 1).is_some_and(|b| b.is_ascii_alphanumeric())
    {
        return Some(call(Verdict::Keep, "part of a file or host name"));
    }
    None
}

/// A URL: rewritten only when it addresses this repository's branch.
pub(crate) fn url_call(text: &str, at: usize, len: usize, env: &Env) -> Option<Call> {
    let (s, e) = token_around(text, at, len);
    let token = &text[s..e];
    // Tokens are short: searched byte by byte (a substring searcher costs more to set up).
    let find = |w: &[u8]| token.as_bytes().windows(w.len()).position(|part| part == w);
    let scheme = find(b"://").or_else(|| find(b"git@"))?;
    if s + scheme > at {
        return None;
    }
    let url = &token[scheme..];
    let rel = at - s - scheme;
    Some(match branch_in_url(url, rel, env) {
        Some(true) => call(Verdict::Rewrite, "a URL addressing this repository's branch"),
        Some(false) => call(
            Verdict::Review,
            "a URL that may address this repository's branch (repository slug unknown)",
        ),
        None => call(Verdict::Keep, "part of a URL that does not address this branch"),
    })
}

/// `Some(true)`: the word at `rel` is the branch segment of a raw/tree/blob URL of this
/// repository; `Some(false)`: of some repository, slug unknown; `None`: not a branch.
fn branch_in_url(url: &str, rel: usize, env: &Env) -> Option<bool> {
    let lower = url.to_ascii_lowercase();
    let aliases = [
        "${{ github.repository }}",
        "${{github.repository}}",
        "${github_repository}",
        "$github_repository",
    ];
    let slugs: Vec<String> = env
        .ctx
        .slug
        .iter()
        .map(|s| s.to_ascii_lowercase())
        .chain(aliases.iter().map(|s| s.to_string()))
        .collect();
    let hosts = [
        ("raw.githubusercontent.com/", ""),
        ("github.com/", "/tree"),
        ("github.com/", "/blob"),
        ("github.com/", "/raw"),
        ("github.com/", "/commits"),
    ];
    for (host, mid) in hosts {
        let Some(h) = lower.find(host) else { continue };
        let rest_at = h + host.len();
        for slug in &slugs {
            for refs in ["", "/refs/heads"] {
                let prefix = format!("{slug}{mid}{refs}/");
                if lower[rest_at..].starts_with(&prefix) && rest_at + prefix.len() == rel {
                    return Some(true);
                }
            }
        }
        if env.ctx.slug.is_none()
            && mid.is_empty()
            && slug_segments_before(&lower[rest_at..], rel - rest_at.min(rel))
        {
            return Some(false);
        }
    }
    None
}

fn slug_segments_before(rest: &str, rel: usize) -> bool {
    rest.get(..rel).is_some_and(|p| p.matches('/').count() == 2 && p.ends_with('/'))
}

/// The occurrence is the whole default of a shell parameter expansion, `${NAME:-word}` (or
/// `-`, `:=`, `=`): returns `NAME`.
pub(crate) fn param_default_of(text: &str, at: usize, len: usize) -> Option<&str> {
    let open = text[..at].rfind("${")?;
    let inner = &text[open + 2..at];
    let name_len = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let op = &inner[name_len..];
    let closes = text[at + len..].starts_with('}');
    (name_len > 0 && matches!(op, ":-" | "-" | ":=" | "=") && closes).then(|| &inner[..name_len])
}

/// A value in a place that takes a branch (e.g. `pages_branch`, `PAGES_BRANCH`).
pub(crate) fn branch_value_call(text: &str, at: usize, len: usize, env: &Env) -> Call {
    if let Some(c) = url_call(text, at, len, env) {
        return c;
    }
    if param_default_of(text, at, len).is_some() {
        return call(Verdict::Rewrite, "the default of a branch-typed value");
    }
    if let Some(c) = ref_prefix_call(text, at, len) {
        return c;
    }
    if let Some(lit) = literal_at(text, at, len)
        && is_whole(&text[lit.0..lit.1], at - lit.0, len)
    {
        return call(Verdict::Rewrite, "a branch name in a branch-typed value");
    }
    let (s, e) = token_around(text, at, len);
    if e - s == len && text.trim().len() == len {
        return call(Verdict::Rewrite, "a branch name in a branch-typed value");
    }
    if let Some(c) = path_call(text, at, len) {
        return c;
    }
    call(Verdict::Review, "part of a branch-typed value that is not just the branch")
}

fn is_whole(lit: &str, rel: usize, len: usize) -> bool {
    rel == 0 && lit.len() == len || lit.strip_prefix("refs/heads/").is_some_and(|r| r.len() == len)
}

/// The quoted literal (`'…'` or `"…"`, content bounds) holding `at..at+len`.
pub(crate) fn literal_at(text: &str, at: usize, len: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let q = bytes[i];
        if q == b'\'' || q == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j] != q {
                j += if bytes[j] == b'\\' && q == b'"' { 2 } else { 1 };
            }
            let end = j.min(bytes.len());
            if start <= at && at + len <= end {
                return Some((start, end));
            }
            i = end + 1;
        } else {
            i += 1;
        }
    }
    None
}

/// An `if:` / `rules: if:` expression.
pub(crate) fn expr_call(text: &str, at: usize, len: usize, env: &Env) -> Call {
    let lower = text.to_ascii_lowercase();
    let about_refs = ["ref", "branch", "commitish"].iter().any(|w| lower.contains(w));
    if let Some((s, e)) = literal_at(text, at, len).or_else(|| regex_at(text, at, len)) {
        let lit = &text[s..e];
        let lit = lit.trim_start_matches('^').trim_end_matches('$');
        let whole =
            lit.len() == len || lit.strip_prefix("refs/heads/").is_some_and(|r| r.len() == len);
        if whole && about_refs && !in_substring_test(text, s) {
            return call(Verdict::Rewrite, "compared with a branch ref in an expression");
        }
        if whole && about_refs {
            return call(Verdict::Review, "a prefix or substring test on a ref");
        }
        if let Some(c) = url_call(text, at, len, env).or_else(|| path_call(text, at, len)) {
            return c;
        }
        return call(Verdict::Review, "a literal in an expression that may name the branch");
    }
    if text[..at].ends_with('.') || text[at + len..].starts_with('.') {
        return call(Verdict::Keep, "an identifier (job or step id) in an expression");
    }
    call(Verdict::Review, "a bare word in an expression")
}

/// Whether the literal starting at `lit` is an argument of startsWith/endsWith/contains.
fn in_substring_test(text: &str, lit: usize) -> bool {
    let Some(open) = text[..lit].rfind('(') else {
        return false;
    };
    let name = text[..open].trim_end();
    let name = name.rsplit(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
    matches!(name.to_ascii_lowercase().as_str(), "startswith" | "endswith" | "contains")
}

fn regex_at(text: &str, at: usize, len: usize) -> Option<(usize, usize)> {
    let s = text[..at].rfind('/')?;
    let e = at + len + text[at + len..].find('/')?;
    let inner = &text[s + 1..e];
    (!inner.contains(' ') && inner.starts_with('^')).then_some((s + 1, e))
}

/// Prose (comments, names, messages): offered for review when it talks about a branch.
pub(crate) fn prose_call(text: &str, at: usize, len: usize) -> Call {
    let lo = floor_char(text, at.saturating_sub(24));
    let hi = floor_char(text, (at + len + 24).min(text.len()));
    let window = text[lo..hi].to_ascii_lowercase();
    let prev_word = text[..at]
        .trim_end_matches([' ', '"', '\'', '`'])
        .rsplit([' ', '\t', '\n'])
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    let after_preposition = matches!(prev_word.as_str(), "to" | "on" | "from" | "into" | "onto");
    if window.contains("branch") || after_preposition || ref_prefix_call(text, at, len).is_some() {
        call(Verdict::Review, "prose that names the branch (cosmetic)")
    } else {
        call(Verdict::Keep, "prose that does not name the branch")
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// A value in a place the rewriter does not know.
pub(crate) fn generic_call(text: &str, at: usize, len: usize, env: &Env) -> Call {
    if let Some(c) = url_call(text, at, len, env) {
        return c;
    }
    if let Some(c) = ref_prefix_call(text, at, len) {
        return c;
    }
    if let Some(c) = path_call(text, at, len) {
        return c;
    }
    if text.trim().len() == len {
        return call(Verdict::Review, "a bare word in a place the rewriter does not know");
    }
    prose_call(text, at, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_with<'a>(map: &'a BranchMap, ctx: &'a RepoContext) -> Env<'a> {
        Env { kind: FileKind::GithubWorkflow, map, ctx }
    }

    fn map() -> BranchMap {
        BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid")
    }

    fn ctx() -> RepoContext {
        RepoContext { slug: Some("acme/helm".into()), main_branch: "main".into() }
    }

    fn at(text: &str) -> usize {
        text.find("charts").expect("has charts")
    }

    #[test]
    fn path_keys() {
        let words =
            ["dir", "path", "folder", "file", "chart", "repo", "owner", "publish", "pattern"];
        let naive = |key: &str| words.iter().any(|w| key.to_ascii_lowercase().contains(w));
        for key in [
            "",
            "d",
            "dir",
            "charts_dir",
            "CHART",
            "target-branch",
            "publish_branch",
            "owner",
            "REPOSITORY",
            "Pattern",
            "pa",
            "files",
            "fi",
            "ropo",
            "workdir",
            "Ünï-path",
            "cwd",
        ] {
            assert_eq!(is_path_key(key), naive(key), "{key}");
        }
    }

    #[test]
    fn urls() {
        let (m, c) = (map(), ctx());
        let env = env_with(&m, &c);
        let raw = "https://raw.githubusercontent.com/acme/helm/charts/index.yaml";
        assert_eq!(url_call(raw, raw.len() - 17, 6, &env).map(|c| c.0), Some(Verdict::Rewrite));
        let other = "https://raw.githubusercontent.com/other/helm/charts/index.yaml";
        assert_eq!(url_call(other, other.len() - 17, 6, &env).map(|c| c.0), Some(Verdict::Keep));
        let host = "https://charts.example.com";
        assert_eq!(url_call(host, at(host), 6, &env).map(|c| c.0), Some(Verdict::Keep));
    }

    #[test]
    fn expressions() {
        let (m, c) = (map(), ctx());
        let env = env_with(&m, &c);
        let e = "github.ref == 'refs/heads/charts'";
        assert_eq!(expr_call(e, at(e), 6, &env).0, Verdict::Rewrite);
        let e = "$CI_COMMIT_BRANCH =~ /^charts$/";
        assert_eq!(expr_call(e, at(e), 6, &env).0, Verdict::Rewrite);
        let e = "needs.charts.result == 'success'";
        assert_eq!(expr_call(e, at(e), 6, &env).0, Verdict::Keep);
        let e = "contains(github.event.head_commit.modified, 'charts/')";
        assert_eq!(expr_call(e, at(e), 6, &env).0, Verdict::Keep);
    }

    #[test]
    fn prose_and_paths() {
        assert_eq!(prose_call("Lint charts", 5, 6).0, Verdict::Keep);
        assert_eq!(prose_call("push to the charts branch", 12, 6).0, Verdict::Review);
        assert!(path_call("./charts", 2, 6).is_some());
        assert!(path_call("charts/**", 0, 6).is_some());
        assert!(path_call("charts", 0, 6).is_none());
    }

    #[test]
    fn branch_values() {
        let (m, c) = (map(), ctx());
        let env = env_with(&m, &c);
        assert_eq!(branch_value_call("charts", 0, 6, &env).0, Verdict::Rewrite);
        let e = "${{ inputs.x && 'charts' || 'main' }}";
        assert_eq!(branch_value_call(e, at(e), 6, &env).0, Verdict::Rewrite);
        assert_eq!(branch_value_call("charts/x", 0, 6, &env).0, Verdict::Keep);
        assert_eq!(branch_value_call("refs/heads/charts", 11, 6, &env).0, Verdict::Rewrite);
    }
}
