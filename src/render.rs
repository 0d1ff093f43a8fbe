//! Rendering, pure: a plan as the human diff a release engineer pastes into a review, or as
//! the stable JSON document (`format_version`) that scripts read and `apply` takes back.

use std::fmt::Write;

use crate::observe::ci::Uncovered;
use crate::plan::action::{Sign, short};
use crate::plan::rewrite::ReviewItem;
use crate::plan::{Plan, Step};

/// ANSI styling, on only when the caller says the output is a colour terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn paint(self, code: &str, text: &str) -> String {
        if self.color { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub fn sign(self, sign: Sign) -> String {
        let code = match sign {
            Sign::Create => "32",
            Sign::Change => "33",
            Sign::Delete => "31",
        };
        self.paint(code, &sign.symbol().to_string())
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    /// A line of a unified diff (or a field change), coloured by its kind.
    pub fn diff_line(self, line: &str) -> String {
        let code = if line.starts_with("+++") || line.starts_with("---") {
            "1"
        } else if line.starts_with('+') {
            "32"
        } else if line.starts_with('-') {
            "31"
        } else if line.starts_with("@@") {
            "36"
        } else if line.starts_with("note:") || line.contains(" → ") {
            "33"
        } else {
            return line.to_string();
        };
        self.paint(code, line)
    }
}

/// A name or value from the repository made safe to show on a terminal: control characters
/// (an escape sequence could erase or forge lines a reviewer reads, a newline could start a
/// fake plan line) and bidirectional overrides (which reorder what is shown) are written as
/// `\u{…}` escapes; everything else is kept.
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\t')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The plan as a human diff.
pub fn plan_text(plan: &Plan, style: Style) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} ({}) for {}",
        style.bold("Plan"),
        escape(&plan.plan.name),
        escape(&plan.plan.source),
        escape(&plan.repository.path)
    );
    let _ = writeln!(
        out,
        "remote {} {}",
        plan.repository.remote,
        style.dim(&escape(&plan.repository.remote_url))
    );
    out.push('\n');
    observed(&mut out, plan, style);
    if plan.is_empty() {
        let _ = writeln!(out, "No changes: the repository already matches {}.", plan.plan.name);
    } else {
        steps(&mut out, &plan.actions, style);
    }
    reviews(&mut out, &plan.reviews, style);
    notes(&mut out, &plan.notes, style);
    not_covered(&mut out, &plan.not_covered, style);
    warnings(&mut out, &plan.warnings, style);
    if !plan.is_empty() {
        let _ = writeln!(out, "\n{}", summary_line(&plan.actions));
    }
    out
}

/// The plan as its JSON document (what `--out` saves and `apply FILE` reads).
pub fn plan_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default() + "\n"
}

/// Numbered action lines with their expectations.
pub fn steps(out: &mut String, steps: &[Step], style: Style) {
    let width = steps.iter().map(|s| s.action.subject().chars().count()).max().unwrap_or(0);
    for step in steps {
        let subject = step.action.subject();
        let pad = " ".repeat(width - subject.chars().count());
        let _ = writeln!(
            out,
            "{} {}{pad}  {}",
            style.sign(step.action.sign()),
            style.bold(&escape(&subject)),
            escape(&step.summary)
        );
        for detail in step.action.details() {
            let _ = writeln!(out, "    {}", style.diff_line(&escape(&detail)));
        }
        let expects = format!("expects {}", step.action.expects());
        let _ = writeln!(out, "    {}", style.dim(&escape(&expects)));
    }
}

/// `Plan: 3 to create, 1 to change, 1 to delete (3 on the remote, 2 in this clone).`
pub fn summary_line(steps: &[Step]) -> String {
    let count = |sign: Sign| steps.iter().filter(|s| s.action.sign() == sign).count();
    let remote = steps.iter().filter(|s| s.action.is_remote()).count();
    format!(
        "Plan: {} to create, {} to change, {} to delete ({remote} on the remote, {} in this clone).",
        count(Sign::Create),
        count(Sign::Change),
        count(Sign::Delete),
        steps.len() - remote
    )
}

fn observed(out: &mut String, plan: &Plan, style: Style) {
    let remote: Vec<(&str, &Option<String>)> = plan
        .observed
        .refs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix("remote ").map(|name| (name, v)))
        .collect();
    let width =
        remote.iter().map(|(n, _)| n.len()).max().unwrap_or(0) + plan.repository.remote.len() + 1;
    for (name, oid) in remote {
        let label = format!("{}/{name}", plan.repository.remote);
        let value = oid.as_deref().map_or_else(|| style.dim("(absent)"), |o| short(o).to_string());
        let _ = writeln!(out, "  {label:<width$}  {value}");
    }
    out.push('\n');
}

fn notes(out: &mut String, notes: &[String], style: Style) {
    labelled(out, notes, &style.paint("36", "note:"));
}

fn warnings(out: &mut String, warnings: &[String], style: Style) {
    labelled(out, warnings, &style.paint("33", "warning:"));
}

/// A blank line, then one `label text` line per item (none at all without items).
fn labelled(out: &mut String, items: &[String], label: &str) {
    if items.is_empty() {
        return;
    }
    out.push('\n');
    for item in items {
        let _ = writeln!(out, "{label} {}", escape(item));
    }
}

/// The occurrences left for a person to decide, with how to decide them.
pub fn reviews(out: &mut String, reviews: &[ReviewItem], style: Style) {
    if reviews.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{} occurrence(s) need review; each is left unchanged unless resolved with --resolve PATH:LINE:COLUMN=rewrite|keep:",
        reviews.len()
    );
    for r in reviews {
        let _ = writeln!(
            out,
            "  {} {}",
            style.paint("33", "?"),
            style.bold(&escape(&format!("{}:{}:{}", r.path, r.line, r.column)))
        );
        let _ = writeln!(out, "      {}", escape(r.text.trim()));
        let why = format!("{} — {}", r.context, r.reason);
        let _ = writeln!(out, "      {}", style.dim(&escape(&why)));
    }
}

/// The occurrences of the old names that the CI rewrite does not read, one line each.
pub fn not_covered(out: &mut String, items: &[Uncovered], style: Style) {
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{} occurrence(s) of the old name are not covered by the CI rewrite; check them by hand:",
        items.len()
    );
    for u in items {
        let _ = writeln!(
            out,
            "  {} {}:{}  {}",
            style.paint("33", "not covered:"),
            escape(&u.path),
            u.line,
            style.dim(&u.reason)
        );
    }
}

#[cfg(test)]
mod escape_tests {
    use super::escape;

    #[test]
    fn control_characters_and_bidi_overrides_are_shown_escaped() {
        assert_eq!(escape("plain/ü.yml"), "plain/ü.yml");
        assert_eq!(escape("a\x1b[2Kb"), "a\\u{1b}[2Kb");
        assert_eq!(escape("x\n+ origin/fake"), "x\\u{a}+ origin/fake");
        assert_eq!(escape("evil\u{202e}lmy.sh"), "evil\\u{202e}lmy.sh");
        assert_eq!(escape("tab\tkept"), "tab\tkept");
    }
}
