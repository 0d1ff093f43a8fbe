//! Shell dialect: what a word means to the command it is an argument of — git's refs,
//! refspecs and ref-carrying options, `cr --pages-branch`, paths of `cd`, `helm`, `ct` —
//! over the words of [`crate::rewrite::syntax::shell`]; plus `cr index`'s implicit `gh-pages` made explicit.

use crate::rewrite::Verdict;
use crate::rewrite::edits::Insertion;
use crate::rewrite::rules::{self, Analysis, Call, Env, Judgement, call};
use crate::rewrite::syntax::shell::{Script, Word, split_keeping};
use crate::rewrite::words::Hit;

/// Judges every hit of a shell script file.
pub(crate) fn analyse_script(text: &str, hits: &[Hit], env: &Env) -> Analysis {
    let (judgements, insertions) = judge(text, 0, hits, "script", false, env);
    Analysis { judgements, insertions, notes: Vec::new() }
}

/// Judges the hits inside the shell text `src` (a value starting at file offset `base`),
/// and proposes `--pages-branch` for a `cr index` that relies on the `gh-pages` default.
pub(crate) fn judge(
    src: &str,
    base: usize,
    hits: &[Hit],
    key: &str,
    folded: bool,
    env: &Env,
) -> (Vec<Judgement>, Vec<Insertion>) {
    // Only `cr index` without `--pages-branch` needs every command, and only when gh-pages
    // is renamed; otherwise the commands without a hit are not collected.
    let keep = env.map.new_name("gh-pages").is_none().then_some((hits, base));
    let script = split_keeping(src, folded, keep);
    // The context of a command holding several hits is made once.
    let mut context = None;
    let judgements = hits
        .iter()
        .map(|h| judge_hit(src, &script, h.start - base, h.len, key, env, &mut context))
        .collect();
    let insertions = implicit_pages_branch(&script, base, env);
    (judgements, insertions)
}

/// `context` keeps the last command's index and context, for the next hit in it.
fn judge_hit(
    src: &str,
    script: &Script,
    at: usize,
    len: usize,
    key: &str,
    env: &Env,
    context: &mut Option<(usize, String)>,
) -> Judgement {
    if let Some(&(s, e)) = script.comments.iter().find(|(s, e)| *s <= at && at < *e) {
        let context = format!("{key}: comment");
        return Judgement::new(rules::prose_call(&src[s..e], at - s, len), context);
    }
    if let Some(&(s, e)) = script.heredocs.iter().find(|(s, e)| *s <= at && at < *e) {
        let ls = s + src[s..at].rfind('\n').map_or(0, |p| p + 1);
        let le = at + src[at..e].find('\n').unwrap_or(e - at);
        let context = format!("{key}: here-document");
        return Judgement::new(rules::prose_call(&src[ls..le], at - ls, len), context);
    }
    for (ci, cmd) in script.commands.iter().enumerate() {
        for (wi, w) in cmd.iter().enumerate() {
            if let Some(ti) = w.text_index(at) {
                let context = match context {
                    Some((c, text)) if *c == ci => text.clone(),
                    _ => {
                        let text = command_context(key, src, cmd);
                        *context = Some((ci, text.clone()));
                        text
                    }
                };
                let contiguous = w.source_of(ti + len - 1) == Some(at + len - 1);
                let c = if contiguous {
                    word_call(src, cmd, wi, ti, len, env)
                } else {
                    call(Verdict::Review, "a word split by quoting")
                };
                return Judgement::new(c, context);
            }
        }
    }
    Judgement::new(call(Verdict::Review, "shell text the splitter could not place"), key)
}

/// `KEY: COMMAND`, the command's source with its blanks and line continuations made single
/// spaces, cut to 77 characters and `...` when longer than 80.
fn command_context(key: &str, src: &str, cmd: &[Word]) -> String {
    let mut out = String::with_capacity(key.len() + 2 + 84);
    out.push_str(key);
    out.push_str(": ");
    let (Some(first), Some(last)) = (cmd.first(), cmd.last()) else {
        return out;
    };
    let from = out.len();
    let raw = &src[first.start..last.end];
    let mut push = |w: &str| {
        if w != "\\" {
            if out.len() > from {
                out.push(' ');
            }
            out.push_str(w);
        }
    };
    if raw.is_ascii() {
        // `split_whitespace` without decoding characters: in ASCII text its blanks are
        // these bytes.
        let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r');
        let bytes = raw.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && blank(bytes[i]) {
                i += 1;
            }
            let start = i;
            while i < bytes.len() && !blank(bytes[i]) {
                i += 1;
            }
            if start < i {
                push(&raw[start..i]);
            }
        }
    } else {
        raw.split_whitespace().for_each(push);
    }
    let command = &out[from..];
    let long = if command.is_ascii() {
        (command.len() > 80).then_some(77)
    } else {
        (command.chars().count() > 80).then(|| command.char_indices().nth(77).map_or(0, |(i, _)| i))
    };
    if let Some(cut) = long {
        out.truncate(from + cut);
        out.push_str("...");
    }
    out
}

const KEYWORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "time", "sudo", "env",
    "command", "exec", "{", "}", "export", "local", "declare", "readonly", "for", "in",
];

fn assignment_eq(text: &str) -> Option<usize> {
    let eq = text.find('=')?;
    let name = &text[..eq];
    let valid = !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit();
    valid.then_some(eq)
}

/// Index of the command name: the first word that is neither a keyword nor an assignment.
fn head(cmd: &[Word]) -> Option<usize> {
    cmd.iter().position(|w| {
        !w.in_array && !KEYWORDS.contains(&w.text.as_ref()) && assignment_eq(&w.text).is_none()
    })
}

/// An element of `NAME=(a b)`: a branch when NAME names one and the element is the whole
/// name, a path or prose by the usual rules otherwise.
fn array_element_call(cmd: &[Word], wi: usize, ti: usize, len: usize, env: &Env) -> Call {
    let t = cmd[wi].text.as_ref();
    let name = cmd[..wi]
        .iter()
        .rev()
        .find(|w| !w.in_array)
        .and_then(|w| assignment_eq(&w.text).map(|eq| &w.text[..eq]))
        .unwrap_or("");
    if rules::is_branch_key(name) {
        return rules::branch_value_call(t, ti, len, env);
    }
    if rules::is_path_key(name) {
        return call(Verdict::Keep, "an element of a path array");
    }
    rules::generic_call(t, ti, len, env)
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

fn word_call(src: &str, cmd: &[Word], wi: usize, ti: usize, len: usize, env: &Env) -> Call {
    let t = cmd[wi].text.as_ref();
    if let Some(c) = rules::url_call(t, ti, len, env) {
        return c;
    }
    if cmd[wi].in_array {
        return array_element_call(cmd, wi, ti, len, env);
    }
    let h = head(cmd);
    if h.is_none_or(|h| wi < h)
        && let Some(c) = assignment_call(t, ti, len, env)
    {
        return c;
    }
    if let Some(c) = rules::ref_prefix_call(t, ti, len) {
        return c;
    }
    if let Some(name) = rules::param_default_of(t, ti, len)
        && rules::is_branch_key(name)
    {
        return call(Verdict::Rewrite, "the default of a branch variable");
    }
    if let Some(c) = case_pattern_call(src, cmd, wi, ti, len) {
        return c;
    }
    let Some(h) = h else {
        return call(Verdict::Review, "a bare word in a shell command");
    };
    if wi < h {
        return call(Verdict::Keep, "a shell keyword");
    }
    if wi == h {
        return call(Verdict::Keep, "a command name");
    }
    if let Some(c) = option_call(cmd, wi, ti, len, env) {
        return c;
    }
    let name = basename(&cmd[h].text);
    if name == "git" {
        return git_call(cmd, h, wi, ti, len);
    }
    args_call(src, cmd, name, wi, ti, len)
}

/// A `case` pattern (`gh-pages)`, `main|gh-pages)`): the splitter ends a command at `)` and
/// `|`, so a pattern is a one-word command followed by one of them. Rewritten when the
/// `case` tests a branch variable, offered for review otherwise.
fn case_pattern_call(src: &str, cmd: &[Word], wi: usize, ti: usize, len: usize) -> Option<Call> {
    let w = &cmd[wi];
    let after = src[w.end..].trim_start_matches([' ', '\t']);
    if cmd.len() != 1 || !(after.starts_with(')') || after.starts_with('|')) {
        return None;
    }
    let before = &src[..w.start];
    let case_at = before.rfind("case ")?;
    let header = &before[case_at..];
    let in_at = header.find(" in")?;
    if header[..in_at].contains(['\n', ';']) || !cmd[wi].text[ti + len..].is_empty() {
        return None;
    }
    let subject = header[5..in_at].to_ascii_uppercase();
    let branchy =
        subject.contains("BRANCH") || subject.contains("_REF") || subject.contains("GITHUB.REF");
    Some(if branchy && ti == 0 {
        call(Verdict::Rewrite, "a case pattern tested against a branch variable")
    } else {
        call(Verdict::Review, "a case pattern")
    })
}

fn args_call(src: &str, cmd: &[Word], name: &str, wi: usize, ti: usize, len: usize) -> Call {
    let t = cmd[wi].text.as_ref();
    if matches!(name, "echo" | "printf" | "::notice" | "logger") || t.contains(' ') {
        let (s, e) = (cmd[wi].start, cmd[wi].end);
        return rules::prose_call(&src[s..e], cmd[wi].source_of(ti).unwrap_or(s) - s, len);
    }
    let whole = t.len() == len;
    if whole && mentions_branch_variable(cmd) {
        return call(Verdict::Rewrite, "compared with a branch variable");
    }
    let prev = wi.checked_sub(1).map_or("", |p| cmd[p].text.as_ref());
    let file_test = ["-d", "-e", "-f", "-r", "-s", "-w", "-x", "-L"].contains(&prev);
    if matches!(name, "[" | "[[" | "test") && file_test {
        return call(Verdict::Keep, "a file test's path");
    }
    if let Some(c) = rules::path_call(t, ti, len) {
        return c;
    }
    if PATH_COMMANDS.contains(&name) {
        return call(Verdict::Keep, "an argument of a command that takes paths or chart names");
    }
    call(Verdict::Review, "a bare word in a shell command")
}

const PATH_COMMANDS: &[&str] = &[
    "cd",
    "ls",
    "mkdir",
    "cp",
    "mv",
    "rm",
    "find",
    "tar",
    "helm",
    "ct",
    "cat",
    "touch",
    "pushd",
    "rsync",
    "chmod",
    "chown",
    "du",
    "tree",
    "zip",
    "unzip",
    "ln",
    "yq",
    "cr",
    "wrangler",
    "rmdir",
    "stat",
    "readlink",
    "realpath",
    "basename",
    "dirname",
    "kubeval",
    "kubeconform",
    "for",
    "docker",
    // wrangler-action's `command:` starts at the wrangler subcommand: `pages deploy <dir>`.
    "pages",
];

fn mentions_branch_variable(cmd: &[Word]) -> bool {
    cmd.iter().any(|w| {
        let u = w.text.to_ascii_uppercase();
        (u.contains('$') && (u.contains("BRANCH") || u.contains("_REF")))
            // the current branch: `$(git rev-parse --abbrev-ref HEAD)`, `$(git branch --show-current)`
            || (u.contains("$(GIT ") && (u.contains("--ABBREV-REF") || u.contains("--SHOW-CURRENT")))
            || u.contains("GITHUB.REF")
            || u.contains("GITHUB.HEAD_REF")
            || u.contains("GITHUB.BASE_REF")
    })
}

fn assignment_call(t: &str, ti: usize, len: usize, env: &Env) -> Option<Call> {
    let eq = assignment_eq(t)?;
    if ti <= eq {
        return Some(call(Verdict::Keep, "a variable name"));
    }
    let (name, value, rel) = (&t[..eq], &t[eq + 1..], ti - eq - 1);
    Some(if rules::is_branch_key(name) {
        rules::branch_value_call(value, rel, len, env)
    } else if rules::is_path_key(name) {
        call(Verdict::Keep, "the value of a path variable")
    } else {
        rules::generic_call(value, rel, len, env)
    })
}

fn option_call(cmd: &[Word], wi: usize, ti: usize, len: usize, env: &Env) -> Option<Call> {
    let t = cmd[wi].text.as_ref();
    if t.starts_with("--")
        && let Some(eq) = t.find('=').filter(|&eq| ti > eq)
    {
        return Some(option_value_call(&t[..eq], &t[eq + 1..], ti - eq - 1, len, env));
    }
    if t.starts_with('-') || wi == 0 {
        return None;
    }
    let prev = cmd[wi - 1].text.as_ref();
    let name = prev.trim_start_matches('-');
    let known = rules::is_branch_key(name)
        || rules::is_path_key(name)
        || matches!(
            name,
            "base" | "head" | "orphan" | "onto" | "target" | "message" | "title" | "body"
        );
    let takes_value =
        prev.starts_with("--") && !prev.contains('=') && known || matches!(prev, "-b" | "-B");
    takes_value.then(|| option_value_call(prev, t, ti, len, env))
}

fn option_value_call(opt: &str, value: &str, rel: usize, len: usize, env: &Env) -> Call {
    let name = opt.trim_start_matches('-');
    if name == "force-with-lease" {
        // `--force-with-lease=REF` or `=REF:EXPECT`: the ref, then the expected value.
        let whole_ref = rel == 0 && value[len..].is_empty() || value[len..].starts_with(':');
        return if whole_ref {
            call(Verdict::Rewrite, "the ref of --force-with-lease")
        } else {
            call(Verdict::Keep, "the expected value of --force-with-lease")
        };
    }
    if rules::is_branch_key(name)
        || matches!(name, "b" | "B" | "base" | "head" | "orphan" | "onto" | "target")
    {
        rules::branch_value_call(value, rel, len, env)
    } else if rules::is_path_key(name) {
        call(Verdict::Keep, "the value of a path or name option")
    } else if matches!(name, "message" | "title" | "body") {
        rules::prose_call(value, rel, len)
    } else {
        rules::generic_call(value, rel, len, env)
    }
}

const REF_SUBS: &[&str] = &[
    "checkout",
    "switch",
    "branch",
    "merge",
    "rebase",
    "log",
    "diff",
    "show",
    "reset",
    "rev-parse",
    "rev-list",
    "cherry-pick",
    "revert",
    "ls-remote",
    "ls-tree",
    "archive",
    "show-ref",
    "update-ref",
    "symbolic-ref",
    "merge-base",
    "describe",
    "cat-file",
    "read-tree",
    "restore",
    "shortlog",
    "whatchanged",
    "cherry",
    "format-patch",
    "range-diff",
    "tag",
];
const REMOTE_SUBS: &[&str] = &["push", "fetch", "pull"];
const PATH_SUBS: &[&str] =
    &["add", "rm", "mv", "commit", "ls-files", "status", "clean", "grep", "stash"];

fn git_call(cmd: &[Word], head: usize, wi: usize, ti: usize, len: usize) -> Call {
    let mut k = head + 1;
    while k < cmd.len() && cmd[k].text.starts_with('-') {
        k += if matches!(cmd[k].text.as_ref(), "-C" | "-c") { 2 } else { 1 };
    }
    if wi <= k || k >= cmd.len() {
        return call(Verdict::Keep, "a git option value (a path)");
    }
    let sub = cmd[k].text.as_ref();
    let mut positional = 0;
    let mut dashdash = false;
    for (i, w) in cmd.iter().enumerate().skip(k + 1) {
        let prev = cmd[i - 1].text.as_ref();
        if i == wi {
            return git_arg_call(sub, &w.text, ti, len, positional, dashdash, prev);
        }
        if w.text == "--" {
            dashdash = true;
        } else if !w.text.starts_with('-') && !value_option(prev) {
            positional += 1;
        }
    }
    call(Verdict::Review, "a git argument the rewriter could not place")
}

fn value_option(opt: &str) -> bool {
    matches!(
        opt,
        "-m" | "-F"
            | "--message"
            | "-b"
            | "-B"
            | "--orphan"
            | "--branch"
            | "--onto"
            | "--depth"
            | "-o"
            | "--format"
            | "--pretty"
            | "--author"
            | "--grep"
            | "-C"
            | "-c"
            | "--origin"
            | "--prefix"
            | "--reference"
            | "-X"
            | "--strategy"
            | "-s"
    )
}

fn git_arg_call(
    sub: &str,
    t: &str,
    ti: usize,
    len: usize,
    pos: usize,
    dashdash: bool,
    prev: &str,
) -> Call {
    if dashdash {
        return call(Verdict::Keep, "a path after `--`");
    }
    if matches!(prev, "-m" | "--message" | "-F") {
        return rules::prose_call(t, ti, len);
    }
    if matches!(prev, "-b" | "-B" | "--orphan" | "--branch" | "--onto") {
        return ref_word_call(sub, t, ti, len);
    }
    if REMOTE_SUBS.contains(&sub) {
        return if pos == 0 {
            call(Verdict::Keep, "a remote name")
        } else {
            ref_word_call(sub, t, ti, len)
        };
    }
    if sub == "worktree" {
        return match pos {
            0 => call(Verdict::Keep, "a worktree subcommand"),
            1 => call(Verdict::Keep, "a worktree path"),
            _ => ref_word_call(sub, t, ti, len),
        };
    }
    if sub == "subtree" {
        // `git subtree push|pull --prefix DIR REMOTE REF`
        return match pos {
            0 => call(Verdict::Keep, "a subtree subcommand"),
            1 => call(Verdict::Keep, "a remote name"),
            _ => ref_word_call(sub, t, ti, len),
        };
    }
    if sub == "clone" {
        return call(Verdict::Keep, "a clone source or directory");
    }
    if REF_SUBS.contains(&sub) {
        return ref_word_call(sub, t, ti, len);
    }
    if PATH_SUBS.contains(&sub) {
        return call(Verdict::Keep, "a path argument of git");
    }
    call(Verdict::Review, "an argument of a git command the rewriter does not know")
}

/// A ref expression: `charts`, `+charts`, `HEAD:charts`, `charts:charts`, `main..charts`,
/// `charts~1`, `charts@{u}`. After `:` in `show`/`cat-file` comes a path.
fn ref_word_call(sub: &str, t: &str, ti: usize, len: usize) -> Call {
    let colon = t[..ti].rfind(':');
    if colon.is_some() && matches!(sub, "show" | "cat-file" | "archive" | "ls-tree") {
        return call(Verdict::Keep, "a path inside a commit");
    }
    let seg_start = t[..ti].rfind([':', '.']).map_or(0, |p| p + 1);
    let lead = &t[seg_start..ti];
    let tail = &t[ti + len..];
    let tail_ok = tail.is_empty()
        || tail.starts_with(':')
        || tail.starts_with("..")
        || tail.starts_with('~')
        || tail.starts_with('^')
        || tail.starts_with("@{");
    if matches!(lead, "" | "+" | "^") && tail_ok {
        return call(Verdict::Rewrite, "a branch argument of a git command");
    }
    if remote_variable(&t[..ti]) && tail_ok {
        return call(Verdict::Rewrite, "a remote-tracking branch (`$REMOTE/NAME`)");
    }
    rules::path_call(t, ti, len)
        .unwrap_or_else(|| call(Verdict::Review, "part of a git argument that may name the branch"))
}

/// `$REMOTE/` or `${REMOTE}/` (a whole ref argument starting with a variable and a slash):
/// in a git ref position this is a remote-tracking branch.
fn remote_variable(lead: &str) -> bool {
    let Some(var) = lead.strip_prefix('$').and_then(|l| l.strip_suffix('/')) else {
        return false;
    };
    let var = var.strip_prefix('{').and_then(|v| v.strip_suffix('}')).unwrap_or(var);
    !var.is_empty() && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn implicit_pages_branch(script: &Script, base: usize, env: &Env) -> Vec<Insertion> {
    let Some(new) = env.map.new_name("gh-pages") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for cmd in &script.commands {
        let Some(h) = head(cmd) else { continue };
        let is_cr_index =
            basename(&cmd[h].text) == "cr" && cmd.get(h + 1).is_some_and(|w| w.text == "index");
        let has_flag = cmd.iter().any(|w| w.text.starts_with("--pages-branch"));
        if is_cr_index
            && !has_flag
            && let Some(last) = cmd.last()
        {
            out.push(Insertion {
                at: base + last.end,
                text: format!(" --pages-branch {new}"),
                note: format!(
                    "`cr index` publishes to its default `--pages-branch gh-pages`; \
                     added `--pages-branch {new}` because gh-pages is renamed"
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::syntax::shell::split;

    #[test]
    fn command_context_cuts_long_commands() {
        let reference = |src: &str| {
            let raw: String =
                src.split_whitespace().filter(|w| *w != "\\").collect::<Vec<_>>().join(" ");
            if raw.chars().count() > 80 {
                format!("run: {}...", raw.chars().take(77).collect::<String>())
            } else {
                format!("run: {raw}")
            }
        };
        let long = "é".repeat(30) + " x \\\n  " + &"a".repeat(45);
        for n in [0, 1, 70, 76, 77, 78, 79, 80, 81, 82, 90, 200] {
            let blanks = format!("git \\\n\tpush\x0b\x0corigin \\ {}\r\n", "b".repeat(n));
            for src in [
                format!("git  push {}", "b".repeat(n)),
                long.chars().take(n + 40).collect(),
                blanks,
            ] {
                let Some(src) = src.get(..).filter(|s| !s.trim().is_empty()) else { continue };
                let script = split(src, false);
                let cmd = &script.commands[0];
                let words = &src[cmd[0].start..cmd[cmd.len() - 1].end];
                assert_eq!(command_context("run", src, cmd), reference(words), "{src:?}");
            }
        }
    }
    use crate::rewrite::words::find_hits;
    use crate::rewrite::{BranchMap, FileKind, RepoContext};

    fn verdicts(src: &str) -> Vec<Verdict> {
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let ctx = RepoContext::default();
        let env = Env { kind: FileKind::GithubWorkflow, map: &map, ctx: &ctx };
        let hits = find_hits(src, &map);
        judge(src, 0, &hits, "run", false, &env).0.into_iter().map(|j| j.verdict).collect()
    }

    use Verdict::{Keep, Review, Rewrite};

    #[test]
    fn git_refspecs() {
        assert_eq!(verdicts("git push origin HEAD:charts"), vec![Rewrite]);
        assert_eq!(verdicts("git push origin +charts :charts charts:charts"), vec![Rewrite; 4]);
        assert_eq!(verdicts("git fetch origin charts --depth=1"), vec![Rewrite]);
        assert_eq!(verdicts("git checkout -b charts origin/charts"), vec![Rewrite, Rewrite]);
        assert_eq!(verdicts("git worktree add charts charts"), vec![Keep, Rewrite]);
        assert_eq!(verdicts("git diff main..charts -- charts"), vec![Rewrite, Keep]);
        assert_eq!(verdicts("git show charts:charts/index.yaml"), vec![Rewrite, Keep]);
    }

    #[test]
    fn tools_and_paths() {
        assert_eq!(verdicts("cr index --pages-branch charts"), vec![Rewrite]);
        assert_eq!(verdicts("cr index --pages-branch=charts"), vec![Rewrite]);
        assert_eq!(verdicts("ct lint --chart-dirs charts"), vec![Keep]);
        assert_eq!(verdicts("helm package charts/app && cd ./charts"), vec![Keep, Keep]);
        assert_eq!(verdicts("PAGES_BRANCH=charts ./publish.sh"), vec![Rewrite]);
        assert_eq!(verdicts("echo \"deploying to the charts branch\""), vec![Review]);
        assert_eq!(verdicts("frobnicate charts"), vec![Review]);
        assert_eq!(verdicts("[ \"$GITHUB_REF_NAME\" = \"charts\" ]"), vec![Rewrite]);
        assert_eq!(verdicts("git\tpush\torigin\tcharts"), vec![Rewrite]);
    }

    #[test]
    fn branch_named_like_a_keyword() {
        let map = BranchMap::new(vec![("do".into(), "release".into())]).expect("valid");
        let ctx = RepoContext::default();
        let env = Env { kind: FileKind::GithubWorkflow, map: &map, ctx: &ctx };
        let src = "do echo x; git push origin do";
        let hits = find_hits(src, &map);
        let v: Vec<Verdict> =
            judge(src, 0, &hits, "run", false, &env).0.into_iter().map(|j| j.verdict).collect();
        assert_eq!(v, vec![Keep, Rewrite]);
    }

    #[test]
    fn cr_index_default_is_made_explicit() {
        let map = BranchMap::new(vec![("gh-pages".into(), "release".into())]).expect("valid");
        let ctx = RepoContext::default();
        let env = Env { kind: FileKind::GithubWorkflow, map: &map, ctx: &ctx };
        let src = "cr index -o acme -r helm --push";
        let (_, ins) = judge(src, 10, &[], "run", false, &env);
        assert_eq!(ins.len(), 1);
        assert_eq!(ins[0].at, 10 + src.len());
        assert_eq!(ins[0].text, " --pages-branch release");
    }
}

#[cfg(test)]
mod script_tests {
    use crate::rewrite::Verdict::{self, Keep, Review, Rewrite};
    use crate::rewrite::{BranchMap, RepoContext, Resolutions, rewrite_file};

    fn verdicts(path: &str, src: &str) -> Vec<Verdict> {
        let map = BranchMap::new(vec![("gh-pages".into(), "release".into())]).expect("valid");
        let ctx = RepoContext { slug: Some("acme/helm".into()), main_branch: "main".into() };
        let out = rewrite_file(path, src, &map, &ctx, &Resolutions::new()).expect("rewrites");
        out.occurrences.iter().map(|o| o.verdict).collect()
    }

    #[test]
    fn scripts_by_extension_or_shebang() {
        let src = "#!/usr/bin/env bash\nset -euxo pipefail\ngit push origin gh-pages\n";
        assert_eq!(verdicts("hack/publish.sh", src), vec![Rewrite]);
        assert_eq!(verdicts("hack/publish", src), vec![Rewrite]);
    }

    #[test]
    fn functions_substitutions_and_defaults() {
        let src = "publish() {\n  local sha=$(git rev-parse origin/gh-pages)\n  git fetch origin gh-pages\n}\nBRANCH=\"${PAGES_BRANCH:-gh-pages}\"\nDIR=${1:-gh-pages}\nmkdir -p gh-pages && cd gh-pages\n";
        assert_eq!(verdicts("publish.sh", src), vec![Rewrite, Rewrite, Rewrite, Keep, Keep, Keep]);
    }

    #[test]
    fn here_documents_are_not_commands() {
        let src = "cat > notes.txt <<-EOF\n\tgit push origin gh-pages\n\tEOF\ngit push origin gh-pages\ncat <<'X'\npublished to the gh-pages branch\nX\n";
        assert_eq!(verdicts("a.sh", src), vec![Keep, Rewrite, Review]);
    }

    #[test]
    fn git_options_that_carry_a_ref() {
        let src = "git push origin gh-pages --force-with-lease=gh-pages:${sha}\ngit push --force-with-lease=gh-pages origin HEAD:gh-pages\ngit push --force-with-lease=main:gh-pages origin main\ngit clone --depth=1 --branch=gh-pages \"$u\" out\ngit clone -b gh-pages \"$u\" gh-pages\ngit worktree add \"$dir\" gh-pages\ngit subtree push --prefix gh-pages origin gh-pages\n";
        assert_eq!(
            verdicts("a.sh", src),
            vec![
                Rewrite, Rewrite, Rewrite, Rewrite, Keep, Rewrite, Rewrite, Keep, Rewrite, Keep,
                Rewrite
            ]
        );
    }

    #[test]
    fn array_elements() {
        let src = "BRANCHES=(main gh-pages)\nDIRS=(\n  gh-pages\n  docs\n)\nTHINGS=(gh-pages)\ngit push origin gh-pages\n";
        assert_eq!(verdicts("a.sh", src), vec![Rewrite, Keep, Review, Rewrite]);
    }

    #[test]
    fn case_patterns() {
        let src = "case \"$BRANCH\" in\n  gh-pages) deploy ;;\n  main|gh-pages) x ;;\nesac\ncase \"$1\" in\n  gh-pages) build ;;\nesac\n";
        assert_eq!(verdicts("a.sh", src), vec![Rewrite, Rewrite, Review]);
    }

    #[test]
    fn makefile_recipes_assignments_and_targets() {
        let src = "PAGES_BRANCH ?= gh-pages\nDOCS_DIR := gh-pages\n.PHONY: gh-pages\n# push the gh-pages branch\ngh-pages: build\n\t@git clone --branch gh-pages \"$$(git remote get-url origin)\" $(TMP)\n\tcd $(TMP) && git push $(REMOTE) HEAD:gh-pages\n\trm -rf gh-pages\n";
        assert_eq!(
            verdicts("Makefile", src),
            vec![Rewrite, Keep, Keep, Review, Keep, Rewrite, Rewrite, Keep]
        );
    }
}
