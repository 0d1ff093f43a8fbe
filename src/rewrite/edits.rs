//! Byte-span edits on the original text, and an atomic file writer kept apart from the
//! pure rewriter.

use std::io::Write;
use std::path::Path;

use super::{Occurrence, RewriteError, Verdict};

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

/// Writes `contents` to `path` through a temporary file in the same directory and a
/// rename, so readers see the old or the new file, never a half-written one.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), RewriteError> {
    let io_err = |e: std::io::Error| RewriteError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name =
        path.file_name().map_or_else(|| "file".to_string(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.rebranch-{}", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        if let Ok(meta) = std::fs::metadata(path) {
            std::fs::set_permissions(&tmp, meta.permissions())?;
        }
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
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

    #[test]
    fn writes_atomically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ci.yml");
        std::fs::write(&path, "old").expect("write");
        write_atomic(&path, "new").expect("atomic write");
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "new");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 1);
    }
}
