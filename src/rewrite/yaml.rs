//! YAML files (GitHub workflows, GitLab CI, cr.yaml, ct.yaml, dependabot, others):
//! yaml-rust2 events → a small tree whose scalars carry byte spans → one judgement per
//! occurrence from its key path; plus implicit `gh-pages` defaults made explicit.
//!
//! yaml-rust2's markers count characters, so they go through a char→byte table built once
//! per file. A quoted scalar's marker is its opening quote; a plain or block scalar's is its
//! first character, and its end is found by counting the value's non-blank characters in
//! the source (folding and indentation only change blanks).

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::edits::Insertion;
use super::rules::{self, AnalyseError, Analysis, Call, Env, Judgement, call};
use super::words::{self, Hit};
use super::{BranchMap, FileKind, Verdict, shell};

/// Deeper nesting than this is refused as a parse error.
pub(crate) const MAX_DEPTH: usize = 128;

/// The events of a parsed text, each with its marker.
pub(crate) type Events = Vec<(Event, Marker)>;

/// Judges every hit of a YAML file; also returns the file's events, which [`verify`]
/// compares the rewritten text's events with (so the original is parsed once).
pub(crate) fn analyse(
    text: &str,
    hits: &[Hit],
    env: &Env,
) -> Result<(Analysis, Events), AnalyseError> {
    let events = marked_events(text)?;
    let analysis = {
        let tree = Tree::new(text, &events);
        let mut walker = Walker {
            text,
            hits,
            env,
            out: vec![None; hits.len()],
            spans: Vec::new(),
            analysis: Analysis::default(),
            foreign: None,
        };
        for doc in tree.docs() {
            walker.walk(doc, &mut Vec::new(), None);
            walker.implicit_cr_yaml(doc);
        }
        walker.finish()?
    };
    Ok((analysis, events))
}

/// Parses the rewritten text and checks it equals the original (whose events `before`
/// are, as [`analyse`] returned them) except for values that differ only by renamed
/// branches, and for events added by insertions.
pub(crate) fn verify(
    original: &str,
    before: &[(Event, Marker)],
    rewritten: &str,
    map: &BranchMap,
    insertions: &[String],
) -> Result<(), String> {
    if original == rewritten {
        return Ok(());
    }
    let mut i = 0;
    let mut unexpected = None;
    each_event(rewritten, |ev, _| {
        if i < before.len() && same_event(&before[i].0, &ev, map, insertions) {
            i += 1;
        } else if insertions.is_empty() || !insertable(&ev, map) {
            unexpected = Some(format!("unexpected change near {ev:?}"));
            return false;
        }
        true
    })
    .map_err(|e| format!("the result does not parse: {}", e.message))?;
    if let Some(message) = unexpected {
        return Err(message);
    }
    if i == before.len() {
        Ok(())
    } else {
        Err(format!("an event went missing: {:?}", before[i].0))
    }
}

fn insertable(ev: &Event, map: &BranchMap) -> bool {
    match ev {
        Event::MappingStart(..) | Event::MappingEnd => true,
        Event::Scalar(v, ..) => {
            matches!(
                v.as_str(),
                "with" | "pages_branch" | "branch" | "publish_branch" | "pages-branch"
            ) || map.pairs().iter().any(|(_, n)| n == v)
        }
        _ => false,
    }
}

fn same_event(a: &Event, b: &Event, map: &BranchMap, insertions: &[String]) -> bool {
    match (a, b) {
        (Event::Scalar(va, sa, aa, ta), Event::Scalar(vb, sb, ab, tb)) => {
            sa == sb && aa == ab && ta == tb && same_value(va, vb, map, insertions)
        }
        _ => a == b,
    }
}

/// Equal up to renamed branches and, inside shell values, appended options.
fn same_value(a: &str, b: &str, map: &BranchMap, insertions: &[String]) -> bool {
    if a == b || words::normalize(a, map) == words::normalize(b, map) {
        return true;
    }
    let mut stripped = b.to_string();
    for ins in insertions.iter().filter(|i| i.starts_with(' ')) {
        stripped = stripped.replacen(ins.as_str(), "", 1);
    }
    words::normalize(a, map) == words::normalize(&stripped, map)
}

fn parse_error(message: String, m: Marker) -> AnalyseError {
    AnalyseError { line: m.line().max(1), column: m.col() + 1, message }
}

/// Feeds every event of a text to `each` until it returns `false` or the stream ends,
/// refusing nesting deeper than [`MAX_DEPTH`].
fn each_event(text: &str, mut each: impl FnMut(Event, Marker) -> bool) -> Result<(), AnalyseError> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (ev, mark) =
            parser.next_token().map_err(|e| parse_error(e.info().to_string(), *e.marker()))?;
        match ev {
            Event::SequenceStart(..) | Event::MappingStart(..) => depth += 1,
            Event::SequenceEnd | Event::MappingEnd => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth > MAX_DEPTH {
            return Err(parse_error(format!("nesting deeper than {MAX_DEPTH} levels"), mark));
        }
        let end = ev == Event::StreamEnd;
        if !each(ev, mark) || end {
            return Ok(());
        }
    }
}

/// All events of a text, with markers.
fn marked_events(text: &str) -> Result<Events, AnalyseError> {
    let mut out = Vec::new();
    each_event(text, |ev, mark| {
        out.push((ev, mark));
        true
    })?;
    Ok(out)
}

/// The document trees of a text, laid over its events without copying them: each event
/// that starts a node knows where the node's events end.
struct Tree<'e> {
    text: &'e str,
    events: &'e [(Event, Marker)],
    bytes: ByteOffsets,
    ascii: bool,
    /// For each event, the index of the event after the node it starts.
    next: Vec<usize>,
}

impl<'e> Tree<'e> {
    fn new(text: &'e str, events: &'e [(Event, Marker)]) -> Self {
        let bytes = ByteOffsets::new(text);
        let ascii = matches!(bytes, ByteOffsets::Ascii(_));
        let mut next: Vec<usize> = (1..=events.len()).collect();
        let mut open = Vec::new();
        for (i, (ev, _)) in events.iter().enumerate() {
            match ev {
                Event::SequenceStart(..) | Event::MappingStart(..) => open.push(i),
                Event::SequenceEnd | Event::MappingEnd => {
                    if let Some(start) = open.pop() {
                        next[start] = i + 1;
                    }
                }
                _ => {}
            }
        }
        Self { text, events, bytes, ascii, next }
    }

    /// The top-level nodes: each document's root.
    fn docs(&self) -> Vec<Node<'_, 'e>> {
        let mut docs = Vec::new();
        let mut i = 0;
        while i < self.events.len() {
            if is_node(&self.events[i].0) {
                docs.push(Node { tree: self, i });
                i = self.next[i];
            } else {
                i += 1;
            }
        }
        docs
    }
}

fn is_node(ev: &Event) -> bool {
    matches!(
        ev,
        Event::Scalar(..) | Event::Alias(_) | Event::SequenceStart(..) | Event::MappingStart(..)
    )
}

/// A node of a [`Tree`]: the index of the event that starts it.
#[derive(Clone, Copy)]
struct Node<'t, 'e> {
    tree: &'t Tree<'e>,
    i: usize,
}

/// What a node is; a scalar with its content span in bytes.
enum Kind<'t, 'e> {
    Scalar { value: &'e str, content: (usize, usize), literal: bool },
    Seq(Children<'t, 'e>),
    Map(Pairs<'t, 'e>),
    Alias,
}

impl<'t, 'e> Node<'t, 'e> {
    /// Byte offset of the node's start (a quoted scalar's opening quote).
    fn start(self) -> usize {
        self.tree.bytes.of(self.tree.events[self.i].1.index())
    }

    fn kind(self) -> Kind<'t, 'e> {
        let tree = self.tree;
        let children = Children { tree, i: self.i + 1 };
        match &tree.events[self.i].0 {
            Event::Scalar(value, style, ..) => {
                let at = self.start();
                let content = scalar_content(tree.text, tree.ascii, at, value, *style);
                Kind::Scalar { value, content, literal: *style == TScalarStyle::Literal }
            }
            Event::SequenceStart(..) => Kind::Seq(children),
            Event::MappingStart(..) => Kind::Map(Pairs(children)),
            _ => Kind::Alias,
        }
    }

    fn as_str(self) -> Option<&'e str> {
        match &self.tree.events[self.i].0 {
            Event::Scalar(value, ..) => Some(value),
            _ => None,
        }
    }

    fn get(self, key: &str) -> Option<(Node<'t, 'e>, Node<'t, 'e>)> {
        if !matches!(self.tree.events[self.i].0, Event::MappingStart(..)) {
            return None;
        }
        let mut pairs = Pairs(Children { tree: self.tree, i: self.i + 1 });
        pairs.find(|(k, _)| k.as_str() == Some(key))
    }
}

/// The items of a sequence (or, two by two, a mapping's keys and values).
#[derive(Clone, Copy)]
struct Children<'t, 'e> {
    tree: &'t Tree<'e>,
    i: usize,
}

impl<'t, 'e> Iterator for Children<'t, 'e> {
    type Item = Node<'t, 'e>;

    fn next(&mut self) -> Option<Self::Item> {
        let (ev, _) = self.tree.events.get(self.i)?;
        if !is_node(ev) {
            return None;
        }
        let node = Node { tree: self.tree, i: self.i };
        self.i = self.tree.next[self.i];
        Some(node)
    }
}

/// The key and value pairs of a mapping.
#[derive(Clone, Copy)]
struct Pairs<'t, 'e>(Children<'t, 'e>);

impl<'t, 'e> Iterator for Pairs<'t, 'e> {
    type Item = (Node<'t, 'e>, Node<'t, 'e>);

    fn next(&mut self) -> Option<Self::Item> {
        Some((self.0.next()?, self.0.next()?))
    }
}

/// Maps yaml-rust2's character offsets to byte offsets: the identity for ASCII text
/// (nearly every CI file), a table otherwise.
enum ByteOffsets {
    Ascii(usize),
    Table(Vec<usize>),
}

impl ByteOffsets {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            Self::Ascii(text.len())
        } else {
            Self::Table(text.char_indices().map(|(i, _)| i).chain([text.len()]).collect())
        }
    }

    fn of(&self, chars: usize) -> usize {
        match self {
            Self::Ascii(len) => chars.min(*len),
            Self::Table(t) => t.get(chars).copied().unwrap_or(*t.last().unwrap_or(&0)),
        }
    }
}

/// ASCII whitespace as `char::is_whitespace` sees it (which includes vertical tab).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// The byte span of a scalar's text in the source (inside the quotes when quoted);
/// `ascii` tells that the whole text is ASCII.
fn scalar_content(
    text: &str,
    ascii: bool,
    at: usize,
    value: &str,
    style: TScalarStyle,
) -> (usize, usize) {
    let bytes = text.as_bytes();
    match style {
        TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => {
            let q = if style == TScalarStyle::SingleQuoted { b'\'' } else { b'"' };
            if bytes.get(at) != Some(&q) {
                return (at, at);
            }
            let mut i = at + 1;
            while i < bytes.len() {
                if bytes[i] == q {
                    if q == b'\'' && bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += if q == b'"' && bytes[i] == b'\\' { 2 } else { 1 };
            }
            (at + 1, i.min(bytes.len()))
        }
        _ => {
            // Most scalars are one line, their value the source text itself.
            if text.as_bytes().get(at..).is_some_and(|rest| rest.starts_with(value.as_bytes())) {
                return (at, at + value.trim_end().len());
            }
            if ascii {
                let wanted = value.bytes().filter(|&b| !is_space(b)).count();
                let mut seen = 0;
                let mut end = at;
                for (i, b) in bytes.iter().enumerate().skip(at) {
                    if seen == wanted {
                        break;
                    }
                    if !is_space(*b) {
                        seen += 1;
                    }
                    end = i + 1;
                }
                return (at, if wanted == 0 { at } else { end });
            }
            let wanted = value.chars().filter(|c| !c.is_whitespace()).count();
            let mut seen = 0;
            let mut end = at;
            for (i, c) in text[at.min(text.len())..].char_indices() {
                if seen == wanted {
                    break;
                }
                if !c.is_whitespace() {
                    seen += 1;
                }
                end = at + i + c.len_utf8();
            }
            (at, if wanted == 0 { at } else { end })
        }
    }
}

struct Walker<'a> {
    text: &'a str,
    hits: &'a [Hit],
    env: &'a Env<'a>,
    out: Vec<Option<Judgement>>,
    spans: Vec<(usize, usize)>,
    analysis: Analysis,
    /// Inside a step whose `with:` names another repository (`repository:`).
    foreign: Option<bool>,
}

/// The `uses:` of the mapping a value sits in (a step or a job calling a workflow).
type Owner<'n> = Option<&'n str>;

impl<'a> Walker<'a> {
    /// Walks a node; `path` holds the mapping keys above it (sequence levels are not
    /// recorded: rules look at keys only).
    fn walk<'e>(&mut self, node: Node<'_, 'e>, path: &mut Vec<&'e str>, owner: Owner) {
        match node.kind() {
            Kind::Scalar { value, content, literal } => {
                self.scalar(value, (content, literal), path, owner, false)
            }
            Kind::Seq(items) => {
                for item in items {
                    self.walk(item, path, owner);
                }
            }
            Kind::Map(pairs) => {
                let own = node.get("uses").and_then(|(_, v)| v.as_str());
                self.implicit_step(node, own);
                let uses = own.or(owner);
                let saved = self.foreign;
                if own.is_some() {
                    self.foreign = foreign_repo(node, self.env);
                }
                for (k, v) in pairs {
                    if let Kind::Scalar { value, content, literal } = k.kind() {
                        self.scalar(value, (content, literal), path, uses, true);
                    } else {
                        self.walk(k, path, uses);
                    }
                    path.push(k.as_str().unwrap_or("?"));
                    self.walk(v, path, uses);
                    path.pop();
                }
                self.foreign = saved;
            }
            Kind::Alias => {}
        }
    }

    fn hits_in(&self, (s, e): (usize, usize)) -> std::ops::Range<usize> {
        let lo = self.hits.partition_point(|h| h.start < s);
        let hi = self.hits.partition_point(|h| h.end() <= e);
        lo..hi.max(lo)
    }

    fn scalar(
        &mut self,
        value: &str,
        (content, literal): ((usize, usize), bool),
        path: &[&str],
        owner: Owner,
        is_key: bool,
    ) {
        self.spans.push(content);
        let range = self.hits_in(content);
        if range.is_empty() && renamed_gh_pages(self.env).is_none() {
            return;
        }
        let keys: &[&str] = path;
        let shell = !is_key && self.is_shell(keys, owner);
        if range.is_empty() && !shell {
            return;
        }
        let src = &self.text[content.0..content.1];
        if shell {
            let label = shell_label(keys);
            let (js, ins) =
                shell::judge(src, content.0, &self.hits[range.clone()], &label, !literal, self.env);
            for (i, j) in range.zip(js) {
                self.out[i] = Some(j);
            }
            self.analysis.insertions.extend(ins);
            return;
        }
        for i in range {
            let h = self.hits[i];
            let (c, context) = if is_key {
                (
                    call(Verdict::Keep, "a mapping key (a job id, input or directory name)"),
                    key_context(keys, value),
                )
            } else {
                self.value_call(keys, owner, src, h.start - content.0, h.len)
            };
            self.out[i] = Some(Judgement::new(c, context));
        }
    }

    fn is_shell(&self, keys: &[&str], owner: Owner) -> bool {
        let last = keys.last().copied().unwrap_or("");
        match self.env.kind {
            FileKind::GitlabCi => matches!(last, "script" | "before_script" | "after_script"),
            _ => {
                last == "run"
                    || (last == "command" && action_is(owner, "cloudflare/wrangler-action"))
            }
        }
    }

    fn value_call(
        &self,
        keys: &[&str],
        owner: Owner,
        src: &str,
        at: usize,
        len: usize,
    ) -> (Call, String) {
        let env = self.env;
        let ctx = keys.join(".");
        let last = keys.last().copied().unwrap_or("");
        let parent = keys.len().checked_sub(2).map_or("", |i| keys[i]);
        if env.kind == FileKind::GithubWorkflow && keys.first() == Some(&"on") {
            return (trigger_call(keys, src, at, len, env), ctx);
        }
        if env.kind == FileKind::GitlabCi
            && let Some(c) = gitlab_call(keys, src, at, len, env)
        {
            return (c, ctx);
        }
        let c = match last {
            "uses" => {
                call(Verdict::Keep, "an action or workflow reference (another repository's ref)")
            }
            "if" => rules::expr_call(src, at, len, env),
            "needs" | "extends" | "dependencies" => call(Verdict::Keep, "a job id"),
            "name" | "description" | "display_name" | "title" | "summary" => {
                rules::prose_call(src, at, len)
            }
            _ if parent == "with" => {
                return with_call(owner, self.foreign, last, src, at, len, env);
            }
            "default" if rules::is_branch_key(parent) => {
                rules::branch_value_call(src, at, len, env)
            }
            _ if matches!(parent, "env" | "variables") => env_call(last, src, at, len, env),
            _ => key_call(last, src, at, len, env),
        };
        (c, ctx)
    }

    fn finish(mut self) -> Result<Analysis, AnalyseError> {
        self.spans.sort_unstable();
        let text = self.text;
        let judgements = self
            .out
            .iter()
            .zip(self.hits)
            .map(|(j, h)| j.clone().unwrap_or_else(|| outside_scalar(text, h, &self.spans)))
            .collect();
        self.analysis.judgements = judgements;
        Ok(self.analysis)
    }
}

fn shell_label(keys: &[&str]) -> String {
    keys.last().map_or_else(|| "run".to_string(), |k| k.to_string())
}

fn key_context(keys: &[&str], value: &str) -> String {
    if keys.is_empty() { format!("key {value}") } else { format!("key {}.{value}", keys.join(".")) }
}

/// A hit outside every scalar: a comment, or an anchor, alias or tag name.
fn outside_scalar(text: &str, hit: &Hit, spans: &[(usize, usize)]) -> Judgement {
    let ls = words::line_start(text, hit.start);
    let line = &text[ls..hit.start];
    let hash = line.char_indices().find(|&(i, c)| {
        c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])) && !in_spans(spans, ls + i)
    });
    match hash {
        Some((i, _)) => {
            let comment = &text[ls + i..words::line_end(text, hit.start)];
            Judgement::new(rules::prose_call(comment, hit.start - ls - i, hit.len), "comment")
        }
        None => Judgement::new(call(Verdict::Keep, "an anchor, alias or tag name"), "yaml syntax"),
    }
}

fn in_spans(spans: &[(usize, usize)], at: usize) -> bool {
    let i = spans.partition_point(|&(s, _)| s <= at);
    spans[..i].iter().rev().take(64).any(|&(s, e)| s <= at && at < e)
}

fn action_is(owner: Owner, name: &str) -> bool {
    owner.is_some_and(|u| action_name(u) == name)
}

fn action_name(uses: &str) -> String {
    let base = uses.split('@').next().unwrap_or(uses).to_ascii_lowercase();
    let mut parts = base.splitn(3, '/');
    match (parts.next(), parts.next()) {
        (Some(o), Some(r)) => format!("{o}/{r}"),
        _ => base,
    }
}

fn trigger_call(keys: &[&str], src: &str, at: usize, len: usize, env: &Env) -> Call {
    let last = keys.last().copied().unwrap_or("");
    match last {
        "branches" | "branches-ignore" => {
            if src.trim().len() == len {
                call(Verdict::Rewrite, "a branch filter of a workflow trigger")
            } else {
                call(Verdict::Review, "a branch pattern that includes the branch name")
            }
        }
        "paths" | "paths-ignore" => call(Verdict::Keep, "a path filter"),
        "tags" | "tags-ignore" => call(Verdict::Keep, "a tag filter"),
        _ if keys.iter().any(|k| rules::is_branch_key(k)) => {
            rules::branch_value_call(src, at, len, env)
        }
        _ => key_call(last, src, at, len, env),
    }
}

fn gitlab_call(keys: &[&str], src: &str, at: usize, len: usize, env: &Env) -> Option<Call> {
    let last = keys.last().copied().unwrap_or("");
    if keys.contains(&"changes") || keys.contains(&"paths") {
        return Some(call(Verdict::Keep, "a path filter"));
    }
    if keys.iter().any(|k| matches!(*k, "only" | "except")) {
        let exact_regex = src
            .trim()
            .strip_prefix("/^")
            .and_then(|r| r.strip_suffix("$/"))
            .is_some_and(|r| r.len() == len);
        return Some(if src.trim().len() == len || exact_regex {
            call(Verdict::Rewrite, "a branch in `only`/`except`")
        } else {
            rules::expr_call(src, at, len, env)
        });
    }
    if keys.contains(&"include") && last == "ref" {
        return Some(call(Verdict::Keep, "another project's ref"));
    }
    if keys.len() >= 3 && keys[keys.len() - 3] == "variables" && last == "value" {
        return Some(env_call(keys[keys.len() - 2], src, at, len, env));
    }
    None
}

fn env_call(name: &str, src: &str, at: usize, len: usize, env: &Env) -> Call {
    if rules::is_branch_key(name) {
        rules::branch_value_call(src, at, len, env)
    } else if rules::is_path_key(name) {
        call(Verdict::Keep, "the value of a path variable")
    } else {
        rules::generic_call(src, at, len, env)
    }
}

fn key_call(key: &str, src: &str, at: usize, len: usize, env: &Env) -> Call {
    if rules::is_branch_key(key) {
        rules::branch_value_call(src, at, len, env)
    } else if rules::is_path_key(key) || key == "working-directory" {
        call(Verdict::Keep, "a path or name")
    } else {
        rules::generic_call(src, at, len, env)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Input {
    Branch,
    Path,
    Other,
}

/// `with:` inputs of actions known to take a branch or a path.
const INPUTS: &[(&str, &str, Input)] = &[
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

fn with_call(
    owner: Owner,
    foreign: Option<bool>,
    input: &str,
    src: &str,
    at: usize,
    len: usize,
    env: &Env,
) -> (Call, String) {
    let action = owner.map(action_name).unwrap_or_default();
    let context = if action.is_empty() {
        format!("with.{input}")
    } else {
        format!("with.{input} ({action})")
    };
    let known = INPUTS.iter().find(|(a, i, _)| *a == action && *i == input).map(|t| t.2);
    let c = match (known, foreign) {
        (Some(Input::Branch), Some(true)) => {
            call(Verdict::Keep, "a branch of another repository (with.repository)")
        }
        (Some(Input::Branch), Some(false)) => call(
            Verdict::Review,
            "a branch of the repository named in with.repository (slug unknown)",
        ),
        (known, _) => with_input_call(known, input, src, at, len, env),
    };
    (c, context)
}

fn with_input_call(
    known: Option<Input>,
    input: &str,
    src: &str,
    at: usize,
    len: usize,
    env: &Env,
) -> Call {
    match known {
        Some(Input::Branch) => rules::branch_value_call(src, at, len, env),
        Some(Input::Path) => call(Verdict::Keep, "a path input"),
        Some(Input::Other) => rules::generic_call(src, at, len, env),
        None => key_call(input, src, at, len, env),
    }
}

/// `Some(true)` when the step's `with:` names another repository, `Some(false)` when it
/// names one and the slug is unknown, `None` when it names none or this one.
fn foreign_repo(step: Node, env: &Env) -> Option<bool> {
    let (_, with) = step.get("with")?;
    let repo = ["repository", "external_repository"]
        .iter()
        .find_map(|k| with.get(k).and_then(|(_, v)| v.as_str()))?;
    if repo.contains("github.repository") || repo.contains("GITHUB_REPOSITORY") {
        return None;
    }
    match &env.ctx.slug {
        Some(slug) if slug.eq_ignore_ascii_case(repo.trim()) => None,
        Some(_) => Some(true),
        None => Some(false),
    }
}

/// Actions that publish to `gh-pages` unless told otherwise, and the input that says so.
const PAGES_DEFAULTS: &[(&str, &str)] = &[
    ("helm/chart-releaser-action", "pages_branch"),
    ("stefanprodan/helm-gh-pages", "branch"),
    ("peaceiris/actions-gh-pages", "publish_branch"),
    ("jamesives/github-pages-deploy-action", "branch"),
];

fn renamed_gh_pages<'m>(env: &'m Env) -> Option<&'m str> {
    env.map.new_name("gh-pages")
}

impl Walker<'_> {
    fn implicit_step(&mut self, step: Node, uses: Option<&str>) {
        let (Some(uses), Some(new)) = (uses, renamed_gh_pages(self.env)) else {
            return;
        };
        let action = action_name(uses);
        let Some(&(_, input)) = PAGES_DEFAULTS.iter().find(|(a, _)| *a == action) else {
            return;
        };
        let with = step.get("with");
        let env_set = step.get("env").is_some_and(|(_, e)| e.get("CR_PAGES_BRANCH").is_some());
        if env_set || with.is_some_and(|(_, w)| w.get(input).is_some()) {
            return;
        }
        let note = format!(
            "{action} publishes to `gh-pages` unless `{input}` is set; added `{input}: {new}` \
             because gh-pages is renamed to {new}"
        );
        let text = self.text;
        let eol = words::eol_of(text);
        let insertion = match with {
            Some((_, w)) => insert_into_with(text, w, input, new, eol),
            None => {
                step.get("uses").and_then(|(k, _)| create_with(text, k.start(), input, new, eol))
            }
        };
        match insertion {
            Some((at, add)) => self.analysis.insertions.push(Insertion { at, text: add, note }),
            None => self.analysis.notes.push(format!(
                "{action} relies on the gh-pages default; add `{input}: {new}` by hand (the step's layout is not one the rewriter edits)"
            )),
        }
    }

    fn implicit_cr_yaml(&mut self, doc: Node) {
        let Some(new) = renamed_gh_pages(self.env) else {
            return;
        };
        let Kind::Map(mut pairs) = doc.kind() else { return };
        if self.env.kind != FileKind::ChartReleaser || doc.get("pages-branch").is_some() {
            return;
        }
        let top_level =
            pairs.next().is_some_and(|(k, _)| words::line_start(self.text, k.start()) == k.start());
        if !top_level {
            return;
        }
        let text = self.text;
        let eol = words::eol_of(text);
        let add = if text.ends_with('\n') || text.is_empty() {
            format!("pages-branch: {new}{eol}")
        } else {
            format!("{eol}pages-branch: {new}")
        };
        self.analysis.insertions.push(Insertion {
            at: text.len(),
            text: add,
            note: format!(
                "cr uses `pages-branch: gh-pages` by default; added `pages-branch: {new}`"
            ),
        });
    }
}

fn insert_into_with(
    text: &str,
    with: Node,
    input: &str,
    new: &str,
    eol: &str,
) -> Option<(usize, String)> {
    let Kind::Map(mut pairs) = with.kind() else {
        return None;
    };
    let (first, _) = pairs.next()?;
    let ls = words::line_start(text, first.start());
    let indent = &text[ls..first.start()];
    if !indent.bytes().all(|b| b == b' ') {
        return None;
    }
    Some((ls, format!("{indent}{input}: {new}{eol}")))
}

fn create_with(
    text: &str,
    uses_key: usize,
    input: &str,
    new: &str,
    eol: &str,
) -> Option<(usize, String)> {
    let ls = words::line_start(text, uses_key);
    let lead = &text[ls..uses_key];
    if !lead.bytes().all(|b| b == b' ' || b == b'-') || lead.matches('-').count() > 1 {
        return None;
    }
    let ind = " ".repeat(lead.len());
    let le = words::line_end(text, uses_key);
    let body = format!("{ind}with:{eol}{ind}  {input}: {new}");
    Some(match text[le..].find('\n') {
        Some(nl) => (le + nl + 1, format!("{body}{eol}")),
        None => (text.len(), format!("{eol}{body}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rewrite::{RepoContext, Resolutions, rewrite_file};

    fn run(path: &str, text: &str, old: &str) -> crate::rewrite::FileRewrite {
        let map = BranchMap::new(vec![(old.into(), "release".into())]).expect("valid");
        let ctx = RepoContext { slug: Some("acme/helm".into()), main_branch: "main".into() };
        rewrite_file(path, text, &map, &ctx, &Resolutions::new()).expect("rewrites")
    }

    #[test]
    fn scalar_spans() {
        let text =
            "a: 'x''charts'\nb: \"q\\\"charts\"\nc: |\n  one\n  charts\nd: plain\n  charts # c\n";
        let events = marked_events(text).expect("parses");
        let tree = Tree::new(text, &events);
        let Kind::Map(pairs) = tree.docs()[0].kind() else { panic!("map") };
        let spans: Vec<&str> = pairs
            .filter_map(|(_, v)| match v.kind() {
                Kind::Scalar { content, .. } => Some(&text[content.0..content.1]),
                _ => None,
            })
            .collect();
        assert_eq!(spans, vec!["x''charts", "q\\\"charts", "one\n  charts", "plain\n  charts"]);
    }

    #[test]
    fn nesting_is_capped() {
        let deep = "[".repeat(MAX_DEPTH + 5);
        let err = marked_events(&deep).expect_err("too deep");
        assert!(err.message.contains("nesting"));
    }

    #[test]
    fn non_ascii_before_edit() {
        let text = "# Ünïcödé ✓\non:\n  push:\n    branches: [charts] # the charts branch\n";
        let out = run(".github/workflows/a.yml", text, "charts");
        assert_eq!(
            out.rewritten,
            "# Ünïcödé ✓\non:\n  push:\n    branches: [release] # the charts branch\n"
        );
        assert_eq!(out.reviews().count(), 1);
    }

    #[test]
    fn implicit_pages_branch_added() {
        let text = "jobs:\n  r:\n    steps:\n      - uses: helm/chart-releaser-action@v1.6.0\n        env:\n          X: y\n";
        let out = run(".github/workflows/a.yml", text, "gh-pages");
        assert!(out.rewritten.contains("      - uses: helm/chart-releaser-action@v1.6.0\n        with:\n          pages_branch: release\n        env:"));
        assert_eq!(out.notes.len(), 1);
    }

    #[test]
    fn parse_errors_have_positions() {
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let err = rewrite_file(
            "a.yml",
            "a: [charts\nc: d: e\n",
            &map,
            &RepoContext::default(),
            &Resolutions::new(),
        );
        assert!(matches!(err, Err(crate::rewrite::RewriteError::Parse { line: 2.., .. })));
    }

    #[test]
    fn files_without_an_occurrence_are_not_parsed() {
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let (ctx, none) = (RepoContext::default(), Resolutions::new());
        let out = rewrite_file("a.yml", "a: [b\nc: d: e\n", &map, &ctx, &none).expect("ok");
        assert!(!out.changed() && out.occurrences.is_empty());
        // Renaming gh-pages may add an implicit default, so such a file is still read.
        let map = BranchMap::new(vec![("gh-pages".into(), "release".into())]).expect("valid");
        assert!(rewrite_file("a.yml", "a: [b\nc: d: e\n", &map, &ctx, &none).is_err());
    }
}
