//! Whole-word occurrences of branch names, line/column lookup, and the normalisation used
//! when comparing a document before and after the edit.

use memchr::memmem;

use super::BranchMap;

/// A whole-word occurrence of `map.pairs()[name].0` starting at byte `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    pub start: usize,
    pub name: usize,
    pub len: usize,
}

impl Hit {
    pub fn end(&self) -> usize {
        self.start + self.len
    }
}

/// Characters that make a neighbour part of the same word.
pub(crate) fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// Finds every whole-word occurrence of every old name, sorted, without overlaps (the
/// longer name wins where two start at the same place).
pub(crate) fn find_hits(text: &str, map: &BranchMap) -> Vec<Hit> {
    if let [(old, _)] = map.pairs() {
        // One name (the usual map): its matches come in order, so only overlaps are dropped.
        let mut out: Vec<Hit> = Vec::new();
        each_word(text, old, |start| {
            if out.last().is_none_or(|last| start >= last.end()) {
                out.push(Hit { start, name: 0, len: old.len() });
            }
        });
        return out;
    }
    let mut hits = Vec::new();
    for (name, (old, _)) in map.pairs().iter().enumerate() {
        for start in find_word(text, old) {
            hits.push(Hit { start, name, len: old.len() });
        }
    }
    hits.sort_by_key(|h| (h.start, std::cmp::Reverse(h.len)));
    let mut out: Vec<Hit> = Vec::with_capacity(hits.len());
    for hit in hits {
        if out.last().is_none_or(|last| hit.start >= last.end()) {
            out.push(hit);
        }
    }
    out
}

/// Byte offsets of whole-word occurrences of `word` in `text`.
pub(crate) fn find_word(text: &str, word: &str) -> Vec<usize> {
    let mut out = Vec::new();
    each_word(text, word, |start| out.push(start));
    out
}

/// Texts up to this length are searched byte by byte: a substring searcher costs more to
/// set up than such a text takes to scan.
const SHORT: usize = 128;

/// Calls `found` with the byte offset of each whole-word occurrence of `word` in `text`,
/// in order.
pub(crate) fn each_word(text: &str, word: &str, mut found: impl FnMut(usize)) {
    if word.is_empty() {
        return;
    }
    // One searcher per run of matches; a match that is not a whole word restarts the
    // search one character later, since a whole word may overlap it. Two occurrences can
    // overlap only when a proper prefix of the word is also its suffix: for any other word
    // (every usual branch name) the first searcher finds them all.
    let overlaps = (1..word.len()).any(|n| word.is_char_boundary(n) && word.ends_with(&word[..n]));
    let whole = |start: usize| {
        let end = start + word.len();
        // `${VAR:-charts}`: the `-` of a shell default is an operator, not part of a word.
        let before_ok = !text[..start].chars().next_back().is_some_and(is_word_char)
            || text[..start].ends_with(":-");
        before_ok && !text[end..].chars().next().is_some_and(is_word_char)
    };
    if text.len() <= SHORT {
        // The same matches as the searcher's: the word's first byte starts a character, so
        // a byte match is at a character boundary, and after a match the scan goes on
        // where the searcher would (its end, or one character later).
        let (t, w) = (text.as_bytes(), word.as_bytes());
        let mut i = 0;
        while i + w.len() <= t.len() {
            if t[i] != w[0] || t[i..i + w.len()] != *w {
                i += 1;
            } else if whole(i) {
                found(i);
                i += w.len();
            } else {
                i += if overlaps { 1 } else { w.len() };
            }
        }
        return;
    }
    // memchr's searcher (vector instructions, a prefilter on the word's rarest bytes) finds
    // the same non-overlapping matches as `match_indices`: the word is UTF-8, so a byte
    // match starts at a character boundary. It is made once per thread and word.
    let finder = match FINDER.take() {
        Some(f) if f.needle() == word.as_bytes() => f,
        _ => memmem::Finder::new(word.as_bytes()).into_owned(),
    };
    let mut from = 0;
    'search: loop {
        for pos in finder.find_iter(&text.as_bytes()[from..]) {
            let start = from + pos;
            if whole(start) {
                found(start);
            } else if overlaps {
                from = start + text[start..].chars().next().map_or(1, char::len_utf8);
                continue 'search;
            }
        }
        break;
    }
    FINDER.set(Some(finder));
}

thread_local! {
    /// The last word's searcher, kept for the next text (taken while in use, so a caller's
    /// `found` may search too).
    static FINDER: std::cell::Cell<Option<memmem::Finder<'static>>> = const { std::cell::Cell::new(None) };
}

/// Tells whether `normalize(a, map) == normalize(b, map)`, without building either.
pub(crate) fn same_normalized(a: &str, b: &str, map: &BranchMap) -> bool {
    let (Some(pa), Some(pb)) = (Placeholders::of(a, map), Placeholders::of(b, map)) else {
        return normalize(a, map) == normalize(b, map);
    };
    let mut a = Pieces::new(a, pa.spans());
    let mut b = Pieces::new(b, pb.spans());
    let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
    loop {
        while x.is_empty() {
            let Some(p) = a.next() else { break };
            x = p;
        }
        while y.is_empty() {
            let Some(p) = b.next() else { break };
            y = p;
        }
        if x.is_empty() || y.is_empty() {
            return x.is_empty() && y.is_empty();
        }
        let n = x.len().min(y.len());
        if x[..n] != y[..n] {
            return false;
        }
        (x, y) = (&x[n..], &y[n..]);
    }
}

/// The spans [`normalize`] replaces, found the same way, held without allocating; `None`
/// when the map or the spans are too many for that.
struct Placeholders {
    n: usize,
    spans: [(usize, usize); 32],
}

impl Placeholders {
    fn of(value: &str, map: &BranchMap) -> Option<Self> {
        let mut names = [""; 8];
        if map.pairs().len() * 2 > names.len() {
            return None;
        }
        for (i, (o, n)) in map.pairs().iter().enumerate() {
            (names[2 * i], names[2 * i + 1]) = (o.as_str(), n.as_str());
        }
        let names = &mut names[..map.pairs().len() * 2];
        names.sort_by_key(|n| std::cmp::Reverse(n.len()));
        let mut out = Self { n: 0, spans: [(0, 0); 32] };
        let mut full = false;
        for name in names.iter() {
            each_word(value, name, |start| {
                let end = start + name.len();
                if out.spans().iter().all(|&(s, e)| end <= s || start >= e) {
                    if out.n == out.spans.len() {
                        full = true;
                    } else {
                        out.spans[out.n] = (start, end);
                        out.n += 1;
                    }
                }
            });
        }
        out.spans[..out.n].sort_unstable();
        (!full).then_some(out)
    }

    fn spans(&self) -> &[(usize, usize)] {
        &self.spans[..self.n]
    }
}

/// The pieces of a normalised value: the text between the spans, each span a NUL byte.
struct Pieces<'v> {
    value: &'v [u8],
    spans: &'v [(usize, usize)],
    at: usize,
    nul: bool,
    done: bool,
}

impl<'v> Pieces<'v> {
    fn new(value: &'v str, spans: &'v [(usize, usize)]) -> Self {
        Self { value: value.as_bytes(), spans, at: 0, nul: false, done: false }
    }
}

impl<'v> Iterator for Pieces<'v> {
    type Item = &'v [u8];

    fn next(&mut self) -> Option<&'v [u8]> {
        if self.nul {
            self.nul = false;
            return Some(b"\0");
        }
        if let Some((&(s, e), rest)) = self.spans.split_first() {
            let piece = &self.value[self.at..s];
            (self.at, self.spans, self.nul) = (e, rest, true);
            return Some(piece);
        }
        if self.done {
            return None;
        }
        self.done = true;
        Some(&self.value[self.at..])
    }
}

/// Replaces every whole word of every old or new name by a placeholder, so two versions
/// of a value compare equal when they differ only by renamed branches.
pub(crate) fn normalize(value: &str, map: &BranchMap) -> String {
    let mut names: Vec<&str> =
        map.pairs().iter().flat_map(|(o, n)| [o.as_str(), n.as_str()]).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for name in names {
        each_word(value, name, |start| {
            let end = start + name.len();
            if spans.iter().all(|&(s, e)| end <= s || start >= e) {
                spans.push((start, end));
            }
        });
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(value.len());
    let mut at = 0;
    for (s, e) in spans {
        out.push_str(&value[at..s]);
        out.push('\u{0}');
        at = e;
    }
    out.push_str(&value[at..]);
    out
}

/// 1-based line and character-column lookups. Offsets given in increasing order cost one
/// pass over the text in all, counting line breaks between one offset and the next.
pub(crate) struct LineCursor<'t> {
    text: &'t str,
    /// Columns count characters; in ASCII text they are bytes.
    ascii: bool,
    at: usize,
    line: usize,
    line_start: usize,
}

impl<'t> LineCursor<'t> {
    pub fn new(text: &'t str) -> Self {
        Self { text, ascii: text.is_ascii(), at: 0, line: 1, line_start: 0 }
    }

    /// 1-based line and 1-based column in characters of byte offset `at`; an offset before
    /// the previous one starts again from the top.
    pub fn line_col(&mut self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        if at < self.at {
            *self = Self { at: 0, line: 1, line_start: 0, ..*self };
        }
        let bytes = &self.text.as_bytes()[self.at..at];
        // Counted 255 bytes at a time in bytes, which the compiler does 16 or 32 at once.
        let breaks: usize = bytes
            .chunks(255)
            .map(|c| usize::from(c.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
            .sum();
        if breaks > 0 {
            self.line += breaks;
            self.line_start = self.at + bytes.iter().rposition(|&b| b == b'\n').unwrap_or(0) + 1;
        }
        self.at = at;
        let column = match self.text.get(self.line_start..at) {
            Some(s) if self.ascii => s.len() + 1,
            Some(s) => s.chars().count() + 1,
            None => 1,
        };
        (self.line, column)
    }
}

/// Byte offset of the start of the line holding `at`.
pub(crate) fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Byte offset of the end of the line holding `at` (before `\r\n` or `\n`).
pub(crate) fn line_end(text: &str, at: usize) -> usize {
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    if end > at && text.as_bytes().get(end.wrapping_sub(1)) == Some(&b'\r') { end - 1 } else { end }
}

/// The line ending the text uses: `\r\n` when its first line ends so.
pub(crate) fn eol_of(text: &str) -> &'static str {
    match text.find('\n') {
        Some(i) if i > 0 && text.as_bytes()[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> BranchMap {
        BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid")
    }

    #[test]
    fn word_boundaries() {
        let text =
            "charts helm-charts charts/** ./charts charts_dir mycharts origin/charts charts.";
        let found: Vec<&str> = find_word(text, "charts").into_iter().map(|s| &text[s..]).collect();
        assert_eq!(found.len(), 5);
        assert!(found[1].starts_with("charts/**"));
        assert!(found[2].starts_with("charts charts_dir"));
    }

    #[test]
    fn non_ascii_neighbours() {
        assert_eq!(find_word("übercharts charts", "charts"), vec![12]);
        assert_eq!(find_word("é charts", "charts"), vec![3]);
        // A whole word overlapping a match that is not one is still found.
        assert_eq!(find_word("xa.a.a", "a.a"), vec![3]);
        let text = "ab\nü charts\n\ncharts";
        let mut cursor = LineCursor::new(text);
        let expected =
            [(0, (1, 1)), (1, (1, 2)), (3, (2, 1)), (6, (2, 3)), (12, (2, 9)), (14, (4, 1))];
        for (at, line_col) in expected.into_iter().chain([(20, (4, 7)), (2, (1, 3)), (13, (3, 1))])
        {
            assert_eq!(cursor.line_col(at), line_col, "at {at}");
        }
        assert_eq!(find_word("chartscharts charts", "charts"), vec![13]);
        assert_eq!(find_word("${B:-charts} x-charts", "charts"), vec![5]);
    }

    #[test]
    fn every_whole_word_is_found() {
        // Every whole-word occurrence, by trying each offset (the words have no overlaps).
        let naive = |text: &str, word: &str| -> Vec<usize> {
            (0..text.len())
                .filter(|&i| text.is_char_boundary(i) && text[i..].starts_with(word))
                .filter(|&i| {
                    let end = i + word.len();
                    (!text[..i].chars().next_back().is_some_and(is_word_char)
                        || text[..i].ends_with(":-"))
                        && !text[end..].chars().next().is_some_and(is_word_char)
                })
                .collect()
        };
        let texts = [
            "charts chartscharts charts-x x-charts ${A:-charts} é charts ü charts.\ncharts",
            "ccharts c charts charts/charts:charts charts_ (charts) ccc",
            "gh-pages gh-pagesgh-pages gh-gh-pages gh-pages/gh-pages",
        ];
        // Short texts are scanned byte by byte, long ones with the searcher.
        for text in texts.iter().flat_map(|t| [t.to_string(), t.repeat(3)]) {
            for word in ["charts", "gh-pages", "c", "ü", "a.a", "aa"] {
                assert_eq!(find_word(&text, word), naive(&text, word), "{word} in {text:?}");
            }
        }
        for text in ["xa.a.a", "aaa aa", "a.a.a.a a.a"] {
            for word in ["a.a", "aa"] {
                assert_eq!(
                    find_word(text, word),
                    find_word(&format!("{text}{}", " ".repeat(200)), word)
                );
            }
        }
    }

    #[test]
    fn same_normalized_is_normalize_compared() {
        let maps = [
            map(),
            BranchMap::new(vec![
                ("charts".into(), "release".into()),
                ("gh-pages".into(), "charts-pages".into()),
                ("charts/dev".into(), "dev".into()),
            ])
            .expect("valid"),
        ];
        let values = [
            "",
            "charts",
            "release",
            "a charts b",
            "a release b",
            "a main b",
            "x\0 charts",
            "x\0 release",
            "x charts\0",
            "charts/dev gh-pages charts-pages dev",
            "release/dev charts-pages release-pages dev",
            "dev dev charts/dev",
        ];
        // Long values: searched with the searcher; with more spans than are held without
        // allocating, and with fewer.
        let long: Vec<String> = values
            .iter()
            .flat_map(|v| {
                [format!("{v} {}", "charts ".repeat(40)), format!("{v} {}", "xy ".repeat(60))]
            })
            .collect();
        for m in &maps {
            for a in values.iter().copied().chain(long.iter().map(String::as_str)) {
                for b in values.iter().copied().chain(long.iter().map(String::as_str)) {
                    let expected = normalize(a, m) == normalize(b, m);
                    assert_eq!(same_normalized(a, b, m), expected, "{a:?} vs {b:?}");
                }
            }
        }
    }

    #[test]
    fn normalize_equates_renames() {
        let m = map();
        assert_eq!(normalize("a charts b", &m), normalize("a release b", &m));
        assert_ne!(normalize("a charts b", &m), normalize("a main b", &m));
    }

    #[test]
    fn line_columns_count_characters() {
        let text = "ü\nab charts";
        let mut cursor = LineCursor::new(text);
        assert_eq!(cursor.line_col(6), (2, 4));
        assert_eq!(cursor.line_col(0), (1, 1));
    }

    #[test]
    fn line_bounds_and_eol() {
        let text = "a: b\r\nc: d";
        assert_eq!(line_end(text, 0), 4);
        assert_eq!(line_start(text, 8), 6);
        assert_eq!(eol_of(text), "\r\n");
        assert_eq!(eol_of("a\nb"), "\n");
    }

    #[test]
    fn overlapping_names_prefer_longer() {
        let m = BranchMap::new(vec![
            ("charts".into(), "release".into()),
            ("charts/dev".into(), "release-dev".into()),
        ])
        .expect("valid");
        let hits = find_hits("x charts/dev y charts", &m);
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].name, 1);
        assert_eq!(hits[1].name, 0);
    }
}
