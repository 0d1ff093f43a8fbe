//! Byte-span edits on the original text.

use super::{Occurrence, Verdict};

/// Text inserted for an implicit default (e.g. `pages_branch: release`), with the note
/// that explains it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Insertion {
    pub at: usize,
    pub text: String,
    pub note: String,
}

/// Applies the `rewrite` occurrences and the insertions to `text`. Spans never overlap:
/// occurrences come from non-overlapping hits and insertions sit between tokens.
pub(crate) fn splice(text: &str, occurrences: &[Occurrence], insertions: &[Insertion]) -> String {
    let mut edits: Vec<(usize, usize, &str)> = occurrences
        .iter()
        .filter(|o| o.verdict == Verdict::Rewrite)
        .map(|o| (o.span.start, o.span.end, o.new.as_str()))
        .chain(insertions.iter().map(|i| (i.at, i.at, i.text.as_str())))
        .collect();
    edits.sort_by_key(|&(s, e, _)| (s, e));
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for (start, end, new) in edits {
        if start < at || end > text.len() {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(new);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occ(start: usize, end: usize, verdict: Verdict) -> Occurrence {
        Occurrence {
            line: 1,
            column: start + 1,
            span: start..end,
            verdict,
            context: String::new(),
            old: "charts".into(),
            new: if verdict == Verdict::Rewrite { "release".into() } else { "charts".into() },
            reason: String::new(),
        }
    }

    #[test]
    fn splices_only_rewrites() {
        let text = "a charts b charts";
        let occs = [occ(2, 8, Verdict::Rewrite), occ(11, 17, Verdict::Review)];
        assert_eq!(splice(text, &occs, &[]), "a release b charts");
    }

    #[test]
    fn splices_insertions() {
        let ins = Insertion { at: 1, text: "X".into(), note: String::new() };
        assert_eq!(splice("ab", &[], &[ins]), "aXb");
    }
}
