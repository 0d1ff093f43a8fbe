//! TOML configs (netlify.toml, wrangler.toml) read with toml_edit for spans.
//! Every key and string value is located by its toml_edit span and judged by its key path;
//! the edit itself is a byte splice, so formatting and comments stay as they are.
//! netlify's `[context.<branch>]` tables name a branch and are rewritten.

use toml_edit::{Document, DocumentMut, Item, Key, Table, Value};

use super::rules::{self, AnalyseError, Analysis, Call, Env, Judgement, call};
use super::words::{self, Hit};
use super::{BranchMap, Verdict, dialect};

/// A key or string value: its content span (inside quotes) and its key path.
struct Site {
    span: (usize, usize),
    path: Vec<String>,
    is_key: bool,
}

/// Judges every hit of a TOML file.
pub(crate) fn analyse(text: &str, hits: &[Hit], env: &Env) -> Result<Analysis, AnalyseError> {
    let doc = Document::parse(text).map_err(|e| {
        let at = e.span().map_or(0, |s| s.start).min(text.len());
        let (line, column) = words::LineCursor::new(text).line_col(at);
        AnalyseError { line, column, message: e.message().to_string() }
    })?;
    let mut sites = Vec::new();
    if let Some(root) = doc.as_item().as_table() {
        table_sites(text, root, &mut Vec::new(), &mut sites);
    }
    sites.sort_by_key(|s| s.span);
    let mut analysis = Analysis::default();
    for h in hits {
        let (j, ins) = judge(text, h, &sites, env);
        analysis.judgements.push(j);
        analysis.insertions.extend(ins);
    }
    Ok(analysis)
}

fn push_key(text: &str, key: &Key, path: &[String], out: &mut Vec<Site>) {
    if let Some(span) = key.span() {
        out.push(Site {
            span: unquote(text, span.start, span.end),
            path: path.to_vec(),
            is_key: true,
        });
    }
}

fn table_sites(text: &str, table: &Table, path: &mut Vec<String>, out: &mut Vec<Site>) {
    for (name, _) in table.iter() {
        let Some((key, item)) = table.get_key_value(name) else {
            continue;
        };
        push_key(text, key, path, out);
        path.push(name.to_string());
        item_sites(text, item, path, out);
        path.pop();
    }
}

fn item_sites(text: &str, item: &Item, path: &mut Vec<String>, out: &mut Vec<Site>) {
    match item {
        Item::Value(v) => value_sites(text, v, path, out),
        Item::Table(t) => table_sites(text, t, path, out),
        Item::ArrayOfTables(a) => {
            for t in a.iter() {
                table_sites(text, t, path, out);
            }
        }
        Item::None => {}
    }
}

fn value_sites(text: &str, value: &Value, path: &mut Vec<String>, out: &mut Vec<Site>) {
    match value {
        Value::String(_) => {
            if let Some(span) = value.span() {
                out.push(Site {
                    span: unquote(text, span.start, span.end),
                    path: path.clone(),
                    is_key: false,
                });
            }
        }
        Value::Array(a) => {
            for v in a.iter() {
                value_sites(text, v, path, out);
            }
        }
        Value::InlineTable(t) => {
            for (name, _) in t.iter() {
                let Some((key, item)) = t.get_key_value(name) else {
                    continue;
                };
                push_key(text, key, path, out);
                path.push(name.to_string());
                item_sites(text, item, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

fn unquote(text: &str, s: usize, e: usize) -> (usize, usize) {
    let raw = text.get(s..e).unwrap_or("");
    for q in ["\"\"\"", "'''", "\"", "'"] {
        if raw.len() >= 2 * q.len() && raw.starts_with(q) && raw.ends_with(q) {
            return (s + q.len(), e - q.len());
        }
    }
    (s, e)
}

fn judge(
    text: &str,
    h: &Hit,
    sites: &[Site],
    env: &Env,
) -> (Judgement, Vec<super::edits::Insertion>) {
    let i = sites.partition_point(|s| s.span.0 <= h.start);
    let site = i.checked_sub(1).map(|i| &sites[i]).filter(|s| h.end() <= s.span.1);
    let Some(site) = site else {
        return (outside(text, h, sites), Vec::new());
    };
    let context = site.path.join(".");
    let (s, e) = site.span;
    let (src, at) = (&text[s..e], h.start - s);
    let key = site.path.last().map_or("", String::as_str);
    let c: Call = if site.is_key {
        key_call(&site.path)
    } else if key == "command" {
        let (mut js, ins) = dialect::tools::judge(src, s, std::slice::from_ref(h), key, false, env);
        return (
            js.pop().unwrap_or_else(|| Judgement::new(call(Verdict::Review, "shell"), key)),
            ins,
        );
    } else if rules::is_branch_key(key) {
        rules::branch_value_call(src, at, h.len, env)
    } else if rules::is_path_key(key) || key == "base" {
        call(Verdict::Keep, "a path or name")
    } else {
        rules::generic_call(src, at, h.len, env)
    };
    (Judgement::new(c, context), Vec::new())
}

fn key_call(path: &[String]) -> Call {
    if path.len() == 1 && path[0] == "context" {
        call(Verdict::Rewrite, "a netlify deploy context named after the branch")
    } else {
        call(Verdict::Keep, "a key")
    }
}

/// A hit in a table header (`[context.charts]`), a comment, or a bare key.
fn outside(text: &str, h: &Hit, sites: &[Site]) -> Judgement {
    let ls = words::line_start(text, h.start);
    let le = words::line_end(text, h.start);
    let line = &text[ls..le];
    let in_site = |at: usize| sites.iter().any(|s| s.span.0 <= at && at < s.span.1);
    if let Some(i) = line[..h.start - ls].find('#').filter(|&i| !in_site(ls + i)) {
        return Judgement::new(rules::prose_call(&line[i..], h.start - ls - i, h.len), "comment");
    }
    if line.trim_start().starts_with('[') {
        let header = line.trim().trim_matches(['[', ']']);
        let segs: Vec<&str> =
            header.split('.').map(|s| s.trim().trim_matches(['"', '\''])).collect();
        let name = &text[h.start..h.end()];
        let c = if segs.first() == Some(&"context") && segs.get(1) == Some(&name) {
            call(Verdict::Rewrite, "a netlify deploy context named after the branch")
        } else {
            call(Verdict::Keep, "a table name")
        };
        return Judgement::new(c, format!("[{header}]"));
    }
    Judgement::new(call(Verdict::Keep, "a key"), "toml key")
}

/// Both texts must parse and hold the same keys and values, up to renamed branches.
pub(crate) fn verify(original: &str, rewritten: &str, map: &BranchMap) -> Result<(), String> {
    if original == rewritten {
        return Ok(());
    }
    let a = flatten(original, map)?;
    let b = flatten(rewritten, map).map_err(|e| format!("the result does not parse: {e}"))?;
    if a == b { Ok(()) } else { Err("keys or values changed beyond the branch names".into()) }
}

fn flatten(text: &str, map: &BranchMap) -> Result<Vec<String>, String> {
    let doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    let mut out = Vec::new();
    flatten_item(doc.as_item(), "", &mut out);
    Ok(out.iter().map(|s| words::normalize(s, map)).collect())
}

fn flatten_item(item: &Item, path: &str, out: &mut Vec<String>) {
    match item {
        Item::Value(v) => flatten_value(v, path, out),
        Item::Table(t) => {
            for (k, v) in t.iter() {
                flatten_item(v, &format!("{path}.{k}"), out);
            }
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                for (k, v) in t.iter() {
                    flatten_item(v, &format!("{path}[{i}].{k}"), out);
                }
            }
        }
        Item::None => {}
    }
}

fn flatten_value(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(format!("{path}={:?}", s.value())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                flatten_value(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::InlineTable(t) => {
            for (k, x) in t.iter() {
                flatten_value(x, &format!("{path}.{k}"), out);
            }
        }
        other => out.push(format!("{path}={}", other.to_string().trim())),
    }
}

#[cfg(test)]
mod tests {
    use crate::rewrite::{BranchMap, RepoContext, Resolutions, Verdict, rewrite_file};

    #[test]
    fn netlify_context_and_command() {
        let text = "[build]\n  publish = \"charts\" # the charts dir\n\n[context.charts]\n  command = \"git fetch origin charts && make\"\n";
        let map = BranchMap::new(vec![("charts".into(), "release".into())]).expect("valid");
        let out =
            rewrite_file("netlify.toml", text, &map, &RepoContext::default(), &Resolutions::new())
                .expect("ok");
        let v: Vec<Verdict> = out.occurrences.iter().map(|o| o.verdict).collect();
        assert_eq!(v, vec![Verdict::Keep, Verdict::Keep, Verdict::Rewrite, Verdict::Rewrite]);
        assert!(
            out.rewritten
                .contains("[context.release]\n  command = \"git fetch origin release && make\"")
        );
    }
}
