//! YAML, the syntax: yaml-rust2 events → a tree laid over them whose scalars carry byte
//! spans, and the verification that a rewritten text parses to the same events up to renamed
//! branches. What a key path means (GitHub Actions, GitLab CI, …) is the dialects' business.
//!
//! yaml-rust2's markers count characters, so they go through a char→byte table built once
//! per file. A quoted scalar's marker is its opening quote; a plain or block scalar's is its
//! first character, and its end is found by counting the value's non-blank characters in
//! the source (folding and indentation only change blanks).

use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::rewrite::BranchMap;
use crate::rewrite::rules::AnalyseError;
use crate::rewrite::words;

/// Deeper nesting than this is refused as a parse error.
pub(crate) const MAX_DEPTH: usize = 128;

/// The events of a parsed text, each with its marker.
pub(crate) type Events = Vec<(Event, Marker)>;

/// Refuses a text holding a character YAML forbids: a C0 control other than tab, line feed
/// and carriage return, or DEL. yaml-rust2 reads some of them as content, so a NUL in a
/// workflow (which GitHub refuses) would otherwise be rewritten like text.
pub(crate) fn check_chars(text: &str) -> Result<(), AnalyseError> {
    let forbidden = |b: u8| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f;
    // Nearly every file has none: whole blocks are checked without an early exit (which the
    // compiler turns into vector instructions), and only a file with one is searched again.
    let clean = text
        .as_bytes()
        .chunks(256)
        .all(|block| block.iter().fold(0u8, |any, &b| any | u8::from(forbidden(b))) == 0);
    if clean {
        return Ok(());
    }
    let bad = text.bytes().position(forbidden);
    let Some(at) = bad else { return Ok(()) };
    let (line, column) = words::LineCursor::new(text).line_col(at);
    Err(AnalyseError {
        line,
        column,
        message: format!(
            "control character U+{:04X} is not allowed in YAML; file left as it is",
            text.as_bytes()[at]
        ),
    })
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
        if i < before.len() && same_event(&before[i].0, ev, map, insertions) {
            i += 1;
        } else if insertions.is_empty() || !insertable(ev, map, insertions) {
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

/// An event an insertion may add: a mapping, a new branch name, or a key the inserted text
/// itself writes (`with`, `pages_branch`, `env`, `CR_PAGES_BRANCH`, …).
fn insertable(ev: &Event, map: &BranchMap, insertions: &[String]) -> bool {
    match ev {
        Event::MappingStart(..) | Event::MappingEnd => true,
        Event::Scalar(v, ..) => {
            map.pairs().iter().any(|(_, n)| n == v)
                || (!v.is_empty() && insertions.iter().any(|i| i.contains(&format!("{v}:"))))
        }
        _ => false,
    }
}

fn same_event(a: &Event, b: &Event, map: &BranchMap, insertions: &[String]) -> bool {
    match (a, b) {
        (Event::Scalar(va, sa, aa, ta), Event::Scalar(vb, sb, ab, tb)) => {
            sa == sb && aa == ab && ta == tb && same_value(va, vb, map, insertions)
        }
        (Event::MappingEnd, Event::MappingEnd) | (Event::SequenceEnd, Event::SequenceEnd) => true,
        _ => a == b,
    }
}

/// Equal up to renamed branches and, inside shell values, appended options.
fn same_value(a: &str, b: &str, map: &BranchMap, insertions: &[String]) -> bool {
    if a == b || words::same_normalized(a, b, map) {
        return true;
    }
    let mut stripped = b.to_string();
    for ins in insertions.iter().filter(|i| i.starts_with(' ')) {
        stripped = stripped.replacen(ins.as_str(), "", 1);
    }
    words::same_normalized(a, &stripped, map)
}

fn parse_error(message: String, m: Marker) -> AnalyseError {
    AnalyseError { line: m.line().max(1), column: m.col() + 1, message }
}

/// Feeds every event of a text to `each` until it returns `false` or the stream ends,
/// refusing nesting deeper than [`MAX_DEPTH`].
pub(crate) fn each_event(
    text: &str,
    mut each: impl FnMut(&Event, Marker) -> bool,
) -> Result<(), AnalyseError> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (ev, mark) =
            parser.next_token().map_err(|e| parse_error(e.info().to_string(), *e.marker()))?;
        nest(&ev, mark, &mut depth)?;
        if !each(&ev, mark) || matches!(ev, Event::StreamEnd) {
            return Ok(());
        }
    }
}

/// Counts the nesting an event opens or closes, refusing more than [`MAX_DEPTH`] levels.
fn nest(ev: &Event, mark: Marker, depth: &mut usize) -> Result<(), AnalyseError> {
    match ev {
        Event::SequenceStart(..) | Event::MappingStart(..) => *depth += 1,
        Event::SequenceEnd | Event::MappingEnd => *depth = depth.saturating_sub(1),
        _ => {}
    }
    if *depth > MAX_DEPTH {
        return Err(parse_error(format!("nesting deeper than {MAX_DEPTH} levels"), mark));
    }
    Ok(())
}

/// All events of a text, with markers, and for each event the index of the event after
/// the node it starts (what [`Tree`] walks by). Each event is moved once, from the parser
/// into the vector, and looked at there.
pub(crate) fn marked_events(text: &str) -> Result<(Events, Vec<usize>), AnalyseError> {
    let mut out = SPARE_EVENTS.with_borrow_mut(std::mem::take);
    let mut next = Vec::with_capacity(out.capacity());
    let mut open = Vec::new();
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok(pair) => out.push(pair),
            Err(e) => return Err(parse_error(e.info().to_string(), *e.marker())),
        }
        let i = out.len() - 1;
        next.push(i + 1);
        let (ev, mark) = &out[i];
        match ev {
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                open.push(i);
                if open.len() > MAX_DEPTH {
                    let message = format!("nesting deeper than {MAX_DEPTH} levels");
                    return Err(parse_error(message, *mark));
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(start) = open.pop() {
                    next[start] = i + 1;
                }
            }
            Event::StreamEnd => return Ok((out, next)),
            _ => {}
        }
    }
}

thread_local! {
    /// An empty vector kept from the last file, so that each file's events do not grow a
    /// new one from nothing.
    static SPARE_EVENTS: std::cell::RefCell<Events> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives a file's events back once they are no longer needed: they are dropped, and the
/// vector is kept for the next file (unless a huge file made it large).
pub(crate) fn recycle(mut events: Events) {
    events.clear();
    if events.capacity() <= 1 << 14 {
        SPARE_EVENTS.with_borrow_mut(|spare| {
            if spare.capacity() < events.capacity() {
                *spare = events;
            }
        });
    }
}

/// The document trees of a text, laid over its events without copying them: each event
/// that starts a node knows where the node's events end.
pub(crate) struct Tree<'e> {
    text: &'e str,
    events: &'e [(Event, Marker)],
    bytes: ByteOffsets,
    ascii: bool,
    /// For each event, the index of the event after the node it starts.
    next: Vec<usize>,
}

impl<'e> Tree<'e> {
    /// The tree over `events`, with `next` as [`marked_events`] returned it.
    pub(crate) fn new(text: &'e str, events: &'e [(Event, Marker)], next: Vec<usize>) -> Self {
        let bytes = ByteOffsets::new(text);
        let ascii = matches!(bytes, ByteOffsets::Ascii(_));
        Self { text, events, bytes, ascii, next }
    }

    /// The content span of every scalar, in the order of the text.
    pub(crate) fn scalar_spans(&self) -> Vec<(usize, usize)> {
        (0..self.events.len())
            .filter(|&i| matches!(self.events[i].0, Event::Scalar(..)))
            .filter_map(|i| match (Node { tree: self, i }).kind() {
                Kind::Scalar { content, .. } => Some(content),
                _ => None,
            })
            .collect()
    }

    /// The top-level nodes: each document's root.
    pub(crate) fn docs(&self) -> Vec<Node<'_, 'e>> {
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
pub(crate) struct Node<'t, 'e> {
    pub(crate) tree: &'t Tree<'e>,
    pub(crate) i: usize,
}

/// What a node is; a scalar with its content span in bytes.
pub(crate) enum Kind<'t, 'e> {
    Scalar { value: &'e str, content: (usize, usize), literal: bool },
    Seq(Children<'t, 'e>),
    Map(Pairs<'t, 'e>),
    Alias,
}

impl<'t, 'e> Node<'t, 'e> {
    /// Byte offset of the node's start (a quoted scalar's opening quote).
    pub(crate) fn start(self) -> usize {
        self.tree.bytes.of(self.tree.events[self.i].1.index())
    }

    /// Byte offset of the event after the node's last one (the end of the text when none
    /// follows): no text of the node lies at or after it.
    pub(crate) fn end_bound(self) -> usize {
        let tree = self.tree;
        match tree.events.get(tree.next[self.i]) {
            Some((_, mark)) => tree.bytes.of(mark.index()),
            None => tree.text.len(),
        }
    }

    pub(crate) fn kind(self) -> Kind<'t, 'e> {
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

    pub(crate) fn as_str(self) -> Option<&'e str> {
        match &self.tree.events[self.i].0 {
            Event::Scalar(value, ..) => Some(value),
            _ => None,
        }
    }

    pub(crate) fn get(self, key: &str) -> Option<(Node<'t, 'e>, Node<'t, 'e>)> {
        if !matches!(self.tree.events[self.i].0, Event::MappingStart(..)) {
            return None;
        }
        let mut pairs = Pairs(Children { tree: self.tree, i: self.i + 1 });
        pairs.find(|(k, _)| k.as_str() == Some(key))
    }
}

/// The items of a sequence (or, two by two, a mapping's keys and values).
#[derive(Clone, Copy)]
pub(crate) struct Children<'t, 'e> {
    pub(crate) tree: &'t Tree<'e>,
    pub(crate) i: usize,
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
pub(crate) struct Pairs<'t, 'e>(pub(crate) Children<'t, 'e>);

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_spans() {
        let text =
            "a: 'x''charts'\nb: \"q\\\"charts\"\nc: |\n  one\n  charts\nd: plain\n  charts # c\n";
        let (events, next) = marked_events(text).expect("parses");
        let tree = Tree::new(text, &events, next);
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
}
