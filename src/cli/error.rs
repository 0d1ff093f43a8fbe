//! Errors at the edge: the exit code of each kind of [`CliError`] (the operations' error,
//! [`crate::ops::Error`]), and how an error is printed. No other file names an exit code.

use crate::ui::Ui;

pub use crate::ops::{Error as CliError, Kind};

/// The exit code of an error of `kind`.
pub fn code(kind: Kind) -> u8 {
    match kind {
        Kind::Failure => 1,
        Kind::Moved => 3,
        Kind::Review => 4,
        Kind::Partial => 5,
        Kind::Waiting => 6,
        Kind::Usage => 64,
        Kind::Interrupted => 130,
    }
}

/// The exit code of `plan`, `status`, `split --dry-run` and `prune --dry-run` (and of a
/// batch's plan and status): 2 when `--detailed-exitcode` is given and changes are pending,
/// else 0.
pub fn detailed(detailed_exitcode: bool, pending: bool) -> u8 {
    if detailed_exitcode && pending { 2 } else { 0 }
}

/// Prints an error on stderr: `error:`, then `cause:` and `hint:` lines.
pub fn print(err: &CliError, ui: &Ui) {
    let style = ui.err_style;
    // Messages carry names from the repository (paths, review texts): escaped, so they
    // cannot move the cursor or forge lines.
    let clean = |t: &str| {
        t.split('\n').map(|l| crate::render::escape(l).into_owned()).collect::<Vec<_>>().join("\n")
    };
    let mut text = format!("{} {}\n", style.paint("1;31", "error:"), clean(&err.message));
    for c in &err.causes {
        text.push_str(&format!("{} {}\n", style.paint("1", "cause:"), clean(c)));
    }
    for h in &err.hints {
        text.push_str(&format!("{} {}\n", style.paint("1;36", "hint:"), clean(h)));
    }
    eprint!("{text}");
}
