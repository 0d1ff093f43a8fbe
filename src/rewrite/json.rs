//! Renovate configs (JSON and JSON5): a small tokenizer that keeps every string's byte
//! span and key path, so edits touch only the string that names the branch, and comments
//! (`//`, `/* */`) survive byte for byte.

use super::BranchMap;
use super::Verdict;
use super::rules::{self, AnalyseError, Analysis, Call, Env, Judgement, call};
use super::words::{self, Hit};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// A string's content span (inside the quotes).
    Str(usize, usize),
    /// A bare word: unquoted key, number, `true`, …
    Bare(usize, usize),
    Punct(u8),
    Comment(usize, usize),
}

fn tokenize(text: &str) -> Result<Vec<Tok>, AnalyseError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c == b'"' || c == b'\'' {
            let end = string_end(b, i).ok_or_else(|| err(text, i, "unterminated string"))?;
            out.push(Tok::Str(i + 1, end));
            i = end + 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            let end = text[i..].find('\n').map_or(b.len(), |p| i + p);
            out.push(Tok::Comment(i, end));
            i = end;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let end =
                text[i + 2..].find("*/").ok_or_else(|| err(text, i, "unterminated comment"))?;
            out.push(Tok::Comment(i, i + 2 + end + 2));
            i += 2 + end + 2;
        } else if matches!(c, b'{' | b'}' | b'[' | b']' | b':' | b',') {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() && !b"{}[]:,\"'/".contains(&b[i]) {
                i += 1;
            }
            if i == start {
                return Err(err(text, i, "unexpected character"));
            }
            out.push(Tok::Bare(start, i));
        }
    }
    Ok(out)
}

fn string_end(b: &[u8], open: usize) -> Option<usize> {
    let q = b[open];
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            c if c == q => return Some(i),
            b'\n' => return None,
            _ => i += 1,
        }
    }
    None
}

fn err(text: &str, at: usize, message: &str) -> AnalyseError {
    let (line, column) = words::LineCursor::new(text).line_col(at);
    AnalyseError { line, column, message: message.to_string() }
}

/// A string or bare token with its key path; `is_key` for object keys.
struct Site {
    span: (usize, usize),
    path: Vec<String>,
    is_key: bool,
}

/// Strings and bare words with their key paths, and comment spans.
type Sites = (Vec<Site>, Vec<(usize, usize)>);

fn sites(text: &str, toks: &[Tok]) -> Result<Sites, AnalyseError> {
    // Each frame: (is_object, current key, expecting a key).
    let mut stack: Vec<(bool, String, bool)> = Vec::new();
    let mut out = Vec::new();
    let mut comments = Vec::new();
    for tok in toks {
        match *tok {
            Tok::Comment(s, e) => comments.push((s, e)),
            Tok::Punct(b'{') => stack.push((true, String::new(), true)),
            Tok::Punct(b'[') => stack.push((false, String::new(), false)),
            Tok::Punct(b'}' | b']') => {
                if stack.pop().is_none() {
                    return Err(err(text, 0, "unbalanced brackets"));
                }
            }
            Tok::Punct(b',') => {
                if let Some(top) = stack.last_mut() {
                    top.2 = top.0;
                }
            }
            Tok::Punct(_) => {}
            Tok::Str(s, e) | Tok::Bare(s, e) => {
                let path: Vec<String> = stack.iter().filter(|f| f.0).map(|f| f.1.clone()).collect();
                let is_key = stack.last().is_some_and(|f| f.0 && f.2);
                if let Some(top) = stack.last_mut().filter(|_| is_key) {
                    top.1 = text[s..e].to_string();
                    top.2 = false;
                }
                out.push(Site { span: (s, e), path, is_key });
            }
        }
    }
    if stack.is_empty() {
        Ok((out, comments))
    } else {
        Err(err(text, text.len(), "unclosed object or array"))
    }
}

/// Judges every hit of a Renovate config.
pub(crate) fn analyse(text: &str, hits: &[Hit], env: &Env) -> Result<Analysis, AnalyseError> {
    let toks = tokenize(text)?;
    let (sites, comments) = sites(text, &toks)?;
    let judgements = hits.iter().map(|h| judge(text, h, &sites, &comments, env)).collect();
    Ok(Analysis { judgements, ..Analysis::default() })
}

fn judge(text: &str, h: &Hit, sites: &[Site], comments: &[(usize, usize)], env: &Env) -> Judgement {
    let inside = |&(s, e): &(usize, usize)| s <= h.start && h.end() <= e;
    let ci = comments.partition_point(|c| c.0 <= h.start);
    if let Some(&(s, e)) = ci.checked_sub(1).map(|i| &comments[i]).filter(|c| inside(c)) {
        return Judgement::new(rules::prose_call(&text[s..e], h.start - s, h.len), "comment");
    }
    let i = sites.partition_point(|s| s.span.0 <= h.start);
    let Some(site) = i.checked_sub(1).map(|i| &sites[i]).filter(|s| inside(&s.span)) else {
        return Judgement::new(call(Verdict::Keep, "JSON syntax"), "json");
    };
    let key = site.path.last().map_or("", String::as_str);
    let context = site.path.join(".");
    let (s, e) = site.span;
    let c: Call = if site.is_key {
        call(Verdict::Keep, "an object key")
    } else if rules::is_branch_key(key) {
        rules::branch_value_call(&text[s..e], h.start - s, h.len, env)
    } else if rules::is_path_key(key) {
        call(Verdict::Keep, "a path or name")
    } else {
        rules::generic_call(&text[s..e], h.start - s, h.len, env)
    };
    Judgement::new(c, context)
}

/// The rewritten text must tokenize to the same tokens, strings equal up to renames.
pub(crate) fn verify(original: &str, rewritten: &str, map: &BranchMap) -> Result<(), String> {
    let a = tokenize(original).map_err(|e| e.message)?;
    let b = tokenize(rewritten).map_err(|e| format!("the result does not parse: {}", e.message))?;
    sites(rewritten, &b).map_err(|e| format!("the result does not parse: {}", e.message))?;
    if a.len() != b.len() {
        return Err("the token count changed".into());
    }
    let text = |t: &Tok, src: &str| match *t {
        Tok::Str(s, e) | Tok::Bare(s, e) | Tok::Comment(s, e) => words::normalize(&src[s..e], map),
        Tok::Punct(p) => (p as char).to_string(),
    };
    for (x, y) in a.iter().zip(&b) {
        let same_kind = std::mem::discriminant(x) == std::mem::discriminant(y);
        if !same_kind || text(x, original) != text(y, rewritten) {
            return Err(format!("a token changed beyond the branch names: {x:?} -> {y:?}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::rewrite::{BranchMap, RepoContext, Resolutions, Verdict, rewrite_file};

    #[test]
    fn json5_with_comments() {
        let text = "{\n  // release from the charts branch\n  baseBranches: ['main', 'charts'],\n  ignorePaths: [\"charts/**\"],\n}\n";
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let out = rewrite_file(
            "renovate.json5",
            text,
            &map,
            &RepoContext::default(),
            &Resolutions::new(),
        )
        .expect("ok");
        let v: Vec<Verdict> = out.occurrences.iter().map(|o| o.verdict).collect();
        assert_eq!(v, vec![Verdict::Review, Verdict::Rewrite, Verdict::Keep]);
        assert!(out.rewritten.contains("['main', 'release']"));
    }

    #[test]
    fn bad_json_is_a_parse_error() {
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let out = rewrite_file(
            "renovate.json",
            "{\"a\": \"charts",
            &map,
            &RepoContext::default(),
            &Resolutions::new(),
        );
        assert!(out.is_err());
    }
}
