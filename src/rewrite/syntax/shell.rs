//! Shell, the syntax: a word splitter (quotes, escapes, `&&`, `;`, `|`, line continuations,
//! comments, here-documents) that keeps, for every word, where each byte of its unquoted
//! text came from. What a word means to git, cr or helm is the dialects' business.

use std::borrow::Cow;

use crate::rewrite::BranchMap;
use crate::rewrite::words::{self, Hit};

/// A shell word: its raw span in the source, its unquoted text, and where each byte of the
/// text came from in the source, as runs that map linearly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub start: usize,
    pub end: usize,
    /// The source text itself while the word is one run of it (most words are).
    pub text: Cow<'a, str>,
    /// An element of an array assignment, `NAME=(a b)`: the assignment is the command's
    /// last word before it that is not an element.
    pub in_array: bool,
    /// The first run, kept inline (most words are one run of source text), then the rest.
    first: Option<Run>,
    more: Vec<Run>,
}

/// `len` bytes of a word's text starting at `text` came from the source at `src`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    text: usize,
    src: usize,
    len: usize,
}

impl<'a> Word<'a> {
    fn new(at: usize) -> Self {
        Self {
            start: at,
            end: at,
            text: Cow::Borrowed(""),
            in_array: false,
            first: None,
            more: Vec::new(),
        }
    }

    /// Appends `src[at..end]` (unquoted text taken as it is).
    fn push(&mut self, src: &'a str, at: usize, end: usize) {
        let len = end - at;
        let text = self.text.len();
        let run = Run { text, src: at, len };
        match self.more.last_mut().or(self.first.as_mut()) {
            Some(r) if r.text + r.len == text && r.src + r.len == at => {
                r.len += len;
                match &mut self.text {
                    // One run: still the source from its start.
                    Cow::Borrowed(_) => self.text = Cow::Borrowed(&src[r.src..end]),
                    Cow::Owned(t) => t.push_str(&src[at..end]),
                }
            }
            Some(_) => {
                self.more.push(run);
                self.text.to_mut().push_str(&src[at..end]);
            }
            None => {
                self.first = Some(run);
                self.text = Cow::Borrowed(&src[at..end]);
            }
        }
        self.end = end;
    }

    /// The index in `text` of the byte that came from source offset `at`.
    pub fn text_index(&self, at: usize) -> Option<usize> {
        self.runs().find(|r| r.src <= at && at < r.src + r.len).map(|r| r.text + at - r.src)
    }

    /// The source offset the byte at `ti` of `text` came from.
    pub fn source_of(&self, ti: usize) -> Option<usize> {
        self.runs().find(|r| r.text <= ti && ti < r.text + r.len).map(|r| r.src + ti - r.text)
    }

    fn runs(&self) -> impl Iterator<Item = &Run> {
        self.first.iter().chain(&self.more)
    }
}

/// A script split into commands (lists of words), comments and here-document bodies (byte
/// ranges).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Script<'a> {
    pub commands: Vec<Vec<Word<'a>>>,
    pub comments: Vec<(usize, usize)>,
    pub heredocs: Vec<(usize, usize)>,
}

/// Checks that a rewritten script equals the original up to renamed branches and the
/// inserted texts (words are compared, so only the renamed words may differ).
pub(crate) fn verify(
    original: &str,
    rewritten: &str,
    map: &BranchMap,
    insertions: &[String],
) -> Result<(), String> {
    let mut stripped = rewritten.to_string();
    for ins in insertions {
        stripped = stripped.replacen(ins.as_str(), "", 1);
    }
    if words::same_normalized(original, &stripped, map) {
        Ok(())
    } else {
        Err("the script changed beyond the renamed branches".to_string())
    }
}

/// Splits `src` into commands and words. Never fails: unterminated quotes end at the end.
/// With `folded`, a single line break is a space (YAML folds it so), and only a blank
/// line ends a command.
#[cfg(test)]
pub(crate) fn split(src: &str, folded: bool) -> Script<'_> {
    split_keeping(src, folded, None)
}

/// Like [`split`]; with `hits` (sorted, at file offsets, `src` starting at file offset
/// `base`), only the commands whose source (from their first word's start to their last
/// word's end) holds the start of a hit are kept. Every word a hit's first byte came from
/// is in a kept command, so looking a hit up gives the same word as in the whole split;
/// the other commands are not collected.
pub(crate) fn split_keeping<'a>(
    src: &'a str,
    folded: bool,
    hits: Option<(&[Hit], usize)>,
) -> Script<'a> {
    let mut sp = Splitter {
        src,
        i: 0,
        script: Script::default(),
        cmd: Vec::new(),
        word: None,
        folded,
        pending: Vec::new(),
        array: false,
        keep: hits,
    };
    sp.run();
    sp.script
}

/// Bytes the splitter acts on; everything else is part of a word as it is.
const SPECIAL: [bool; 256] = {
    let mut table = [false; 256];
    let special = b"\\ \t\r\n;&|()`<>#'\"$";
    let mut i = 0;
    while i < special.len() {
        table[special[i] as usize] = true;
        i += 1;
    }
    table
};

struct Splitter<'a, 'k> {
    src: &'a str,
    i: usize,
    script: Script<'a>,
    cmd: Vec<Word<'a>>,
    word: Option<Word<'a>>,
    folded: bool,
    /// Here-documents opened on the current line: delimiter, and whether `<<-` strips tabs.
    pending: Vec<(String, bool)>,
    /// Inside the parentheses of an array assignment.
    array: bool,
    /// When given, only the commands holding the start of one of these hits are kept.
    keep: Option<(&'k [Hit], usize)>,
}

impl Splitter<'_, '_> {
    fn run(&mut self) {
        let bytes = self.src.as_bytes();
        while self.i < bytes.len() {
            let c = bytes[self.i];
            match c {
                b'\\' => self.escape(),
                b' ' | b'\t' | b'\r' => self.next_word(1),
                b'\n' if self.folded && !self.blank_line_follows() => self.next_word(1),
                // `NAME=(a b)`: the elements are words of the assignment's command.
                b'(' if self.word.as_ref().is_some_and(|w| w.text.ends_with('=')) => {
                    self.next_word(1);
                    self.array = true;
                }
                b')' if self.array => {
                    self.next_word(1);
                    self.array = false;
                }
                b'\n' if self.array => self.next_word(1),
                b'\n' if !self.pending.is_empty() => {
                    self.next_word(1);
                    self.next_command();
                    self.heredoc_bodies();
                }
                b'<' if bytes.get(self.i + 1) == Some(&b'<')
                    && bytes.get(self.i + 2) != Some(&b'<') =>
                {
                    self.heredoc_start()
                }
                b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'`' => {
                    self.next_word(1);
                    self.next_command();
                }
                b'<' | b'>' => self.next_word(1),
                b'#' if self.word.is_none() => self.comment(),
                b'\'' => self.single_quoted(),
                b'"' => self.double_quoted(),
                b'$' if bytes.get(self.i + 1) == Some(&b'(') => {
                    self.next_word(2);
                    self.next_command();
                }
                _ => {
                    // A run of ordinary bytes (a special one at its start is ordinary here:
                    // `#` inside a word, `$` not before `(`).
                    let end = bytes[self.i + 1..]
                        .iter()
                        .position(|&b| SPECIAL[usize::from(b)])
                        .map_or(bytes.len(), |p| self.i + 1 + p);
                    let end = (end..=bytes.len()).find(|&e| self.src.is_char_boundary(e));
                    self.push_str(self.i, end.unwrap_or(bytes.len()));
                }
            }
        }
        self.next_word(0);
        self.next_command();
        if !self.pending.is_empty() {
            self.heredoc_bodies();
        }
    }

    /// `<<WORD`, `<<-WORD`, `<<'WORD'`, `<<"WORD"`: the body starts on the next line.
    fn heredoc_start(&mut self) {
        self.next_word(2);
        let bytes = self.src.as_bytes();
        let strip = bytes.get(self.i) == Some(&b'-');
        if strip {
            self.i += 1;
        }
        while matches!(bytes.get(self.i), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        let start = self.i;
        let end = bytes[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || b";&|()<>".contains(b))
            .map_or(bytes.len(), |p| start + p);
        let delim: String =
            self.src[start..end].chars().filter(|c| !matches!(c, '\'' | '"' | '\\')).collect();
        self.i = end;
        if !delim.is_empty() {
            self.pending.push((delim, strip));
        }
    }

    /// Skips the bodies of the pending here-documents, from `self.i` (a line start), and
    /// records them.
    fn heredoc_bodies(&mut self) {
        for (delim, strip) in std::mem::take(&mut self.pending) {
            let start = self.i;
            let mut at = start;
            let end = loop {
                if at >= self.src.len() {
                    break self.src.len();
                }
                let le = self.src[at..].find('\n').map_or(self.src.len(), |p| at + p);
                let line = self.src[at..le].trim_end_matches('\r');
                let line = if strip { line.trim_start_matches('\t') } else { line };
                if line == delim {
                    self.script.heredocs.push((start, at));
                    break (le + 1).min(self.src.len());
                }
                at = le + 1;
            };
            if end == self.src.len() && self.script.heredocs.last().is_none_or(|h| h.0 != start) {
                self.script.heredocs.push((start, end));
            }
            self.i = end;
        }
    }

    fn blank_line_follows(&self) -> bool {
        let rest = &self.src[self.i + 1..];
        let line = rest.split('\n').next().unwrap_or("");
        rest.contains('\n') && line.trim().is_empty()
    }

    fn push_char(&mut self, at: usize) {
        let len = self.src[at..].chars().next().map_or(1, char::len_utf8);
        self.push_str(at, at + len);
    }

    fn push_str(&mut self, at: usize, end: usize) {
        self.word.get_or_insert_with(|| Word::new(at)).push(self.src, at, end);
        self.i = end;
    }

    fn escape(&mut self) {
        let rest = &self.src[self.i + 1..];
        if rest.starts_with('\n') || rest.starts_with("\r\n") {
            let skip = if rest.starts_with('\n') { 2 } else { 3 };
            self.next_word(skip);
        } else if rest.is_empty() {
            self.i += 1;
        } else {
            self.open_word(self.i);
            self.push_char(self.i + 1);
        }
    }

    fn open_word(&mut self, at: usize) {
        self.word.get_or_insert_with(|| Word::new(at));
    }

    fn single_quoted(&mut self) {
        self.open_word(self.i);
        let start = self.i + 1;
        let end = self.src[start..].find('\'').map_or(self.src.len(), |p| start + p);
        if start < end {
            self.push_str(start, end);
        }
        self.i = (end + 1).min(self.src.len());
        self.close_word_at(self.i);
    }

    fn double_quoted(&mut self) {
        self.open_word(self.i);
        let bytes = self.src.as_bytes();
        let mut at = self.i + 1;
        while at < bytes.len() && bytes[at] != b'"' {
            if bytes[at] == b'\\' && matches!(bytes.get(at + 1), Some(b'"' | b'\\' | b'$' | b'`')) {
                at += 1;
            }
            self.push_char(at);
            at = self.i;
        }
        self.i = (at + 1).min(bytes.len());
        self.close_word_at(self.i);
    }

    fn close_word_at(&mut self, end: usize) {
        if let Some(w) = self.word.as_mut() {
            w.end = end;
        }
    }

    fn comment(&mut self) {
        let start = self.i;
        let end = self.src[start..].find('\n').map_or(self.src.len(), |p| start + p);
        self.script.comments.push((start, end));
        self.i = end;
    }

    fn next_word(&mut self, skip: usize) {
        if let Some(mut w) = self.word.take() {
            w.in_array = self.array;
            self.cmd.push(w);
        }
        self.i += skip;
    }

    fn next_command(&mut self) {
        let (Some(first), Some(last)) = (self.cmd.first(), self.cmd.last()) else {
            return;
        };
        let wanted = self.keep.is_none_or(|(hits, base)| {
            let i = hits.partition_point(|h| h.start < base + first.start);
            hits.get(i).is_some_and(|h| h.start < base + last.end)
        });
        if wanted {
            self.script.commands.push(std::mem::take(&mut self.cmd));
        } else {
            // Cleared, not taken: the next command reuses the vector.
            self.cmd.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words_and_commands() {
        let s = split("git push \"origin\" 'HEAD:charts' && cd x\\\n  y # note charts\n", false);
        assert_eq!(s.commands.len(), 2);
        assert_eq!(s.commands[0][3].text, "HEAD:charts");
        assert_eq!(s.commands[1].len(), 3);
        assert_eq!(s.comments.len(), 1);
    }

    #[test]
    fn keeps_only_the_commands_holding_a_hit() {
        let src =
            "cd x && git push origin 'HEAD:'charts\n; echo \"a b\" | tr charts y # charts\nls";
        let all = split(src, false);
        let at = |needle: &str, n: usize| src.match_indices(needle).nth(n).map(|(i, _)| i);
        let hits: Vec<Hit> = [at("charts", 0), at("charts", 1), at("charts", 2)]
            .into_iter()
            .map(|s| Hit { start: 10 + s.expect("in src"), name: 0, len: 6 })
            .collect();
        let kept = split_keeping(src, false, Some((&hits, 10)));
        assert_eq!(kept.commands, vec![all.commands[1].clone(), all.commands[3].clone()]);
        assert_eq!((kept.comments, kept.heredocs), (all.comments, all.heredocs));
    }
}
