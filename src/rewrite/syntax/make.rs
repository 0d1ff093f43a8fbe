//! Makefiles, the syntax: logical lines (joined at `\` line ends) sorted into recipe lines
//! (shell, after the tab and the `@`, `-`, `+` prefixes), variable assignments, rule lines
//! and comments, each with its byte span. Make's own references `$(VAR)` are shown to the
//! shell splitter as `${VAR}`, byte for byte the same length, so they stay one word.

/// One logical line of a Makefile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Line {
    /// A recipe line: the shell text's span, and that text with make references rewritten.
    Recipe { span: (usize, usize), shell: String },
    /// `NAME = value` (also `:=`, `::=`, `?=`, `+=`, `!=`, `export`/`override` before it):
    /// the name and the value's span.
    Assignment { name: String, value: (usize, usize) },
    /// A rule (`targets: prerequisites`) or a directive: its span.
    Other((usize, usize)),
    /// A comment line's span.
    Comment((usize, usize)),
}

/// Splits a Makefile into logical lines. Never fails.
pub(crate) fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut at = 0;
    let mut in_rule = false;
    while at < text.len() {
        let end = logical_end(text, at);
        let line = &text[at..end];
        let next = (end + 1).min(text.len()).max(end);
        if line.starts_with('\t') && in_rule {
            let skip =
                1 + line[1..].len() - line[1..].trim_start_matches(['@', '-', '+', ' ']).len();
            let span = (at + skip, end);
            out.push(Line::Recipe { span, shell: make_refs_as_shell(&text[span.0..span.1]) });
        } else if line.trim_start().starts_with('#') {
            let lead = line.len() - line.trim_start().len();
            out.push(Line::Comment((at + lead, end)));
        } else if let Some((name, value)) = assignment(line) {
            out.push(Line::Assignment { name, value: (at + value.0, at + value.1) });
        } else if !line.trim().is_empty() {
            in_rule = rule_colon(line);
            out.push(Line::Other((at, end)));
        }
        at = if next > at { next } else { text.len() };
    }
    out
}

/// The end of the logical line starting at `at` (before its final `\n`).
fn logical_end(text: &str, at: usize) -> usize {
    let bytes = text.as_bytes();
    let mut i = at;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            let before = text[at..i].trim_end_matches('\r');
            let slashes = before.len() - before.trim_end_matches('\\').len();
            if slashes.is_multiple_of(2) {
                return i;
            }
        }
        i += 1;
    }
    bytes.len()
}

/// Whether a line is a rule: a `:` outside `$(…)` that is not an assignment's `:=`.
fn rule_colon(line: &str) -> bool {
    let mut depth = 0i32;
    for (i, c) in line.char_indices() {
        match c {
            '(' | '{' => depth += 1,
            ')' | '}' => depth -= 1,
            ':' if depth <= 0 => return !line[i + 1..].starts_with('='),
            _ => {}
        }
    }
    false
}

/// `NAME op value`, with the value's span relative to the line.
fn assignment(line: &str) -> Option<(String, (usize, usize))> {
    let mut rest = line.trim_start();
    for word in ["export ", "override ", "private "] {
        rest = rest.strip_prefix(word).map_or(rest, str::trim_start);
    }
    let name_len = rest
        .find(|c: char| c.is_whitespace() || matches!(c, '=' | ':' | '?' | '+' | '!'))
        .unwrap_or(rest.len());
    let name = &rest[..name_len];
    let after = rest[name_len..].trim_start();
    let op = ["::=", ":=", "?=", "+=", "!=", "="].into_iter().find(|op| after.starts_with(op))?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) {
        return None;
    }
    let value_at = line.len() - after.len() + op.len();
    let value = &line[value_at..];
    let lead = value.len() - value.trim_start().len();
    let trail = value.len() - value.trim_end().len();
    Some((name.to_string(), (value_at + lead, line.len() - trail)))
}

/// `$(NAME)` → `${NAME}` (same length); `$$` (a `$` for the shell) stays as it is.
fn make_refs_as_shell(src: &str) -> String {
    let mut out: Vec<u8> = src.as_bytes().to_vec();
    let mut i = 0;
    while i + 1 < out.len() {
        if out[i] == b'$' && out[i + 1] == b'$' {
            i += 2;
            continue;
        }
        if out[i] == b'$' && out[i + 1] == b'(' {
            let mut depth = 0;
            let mut j = i + 1;
            while j < out.len() {
                match out[j] {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if j < out.len() {
                out[i + 1] = b'{';
                out[j] = b'}';
            }
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| src.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_lines() {
        let text = "BRANCH ?= gh-pages\n# publish\npublish: build\n\t@git push $(REMOTE) \\\n\t  gh-pages\nx:\n\techo $$HOME\n";
        let got = lines(text);
        assert_eq!(got.len(), 6);
        let Line::Assignment { name, value } = &got[0] else { panic!("{got:?}") };
        assert_eq!((name.as_str(), &text[value.0..value.1]), ("BRANCH", "gh-pages"));
        assert!(matches!(got[1], Line::Comment(_)));
        let Line::Recipe { span, shell } = &got[3] else { panic!("{got:?}") };
        assert_eq!(&text[span.0..span.1], "git push $(REMOTE) \\\n\t  gh-pages");
        assert_eq!(shell, "git push ${REMOTE} \\\n\t  gh-pages");
        let Line::Recipe { shell, .. } = &got[5] else { panic!("{got:?}") };
        assert_eq!(shell, "echo $$HOME");
    }

    #[test]
    fn tabs_outside_rules_are_not_recipes() {
        let got = lines("\tfoo = bar\n");
        assert!(matches!(got[0], Line::Assignment { .. }), "{got:?}");
    }
}
