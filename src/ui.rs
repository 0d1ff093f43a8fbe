//! The terminal: results on stdout, progress and notices on stderr, colour only on a
//! terminal and never with `NO_COLOR`, prompts only where someone can answer them.

use std::io::{IsTerminal, Write};

use crate::exec::{Progress, StepEvent};
use crate::plan::Step;
use crate::render::Style;

/// Output settings for one command.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub quiet: bool,
    pub verbose: u8,
    /// Styling for stdout.
    pub out_style: Style,
    /// Styling for stderr.
    pub err_style: Style,
}

impl Ui {
    pub fn new(quiet: bool, verbose: u8) -> Ui {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
            || std::env::var("TERM").is_ok_and(|t| t == "dumb");
        let forced = std::env::var("CLICOLOR_FORCE").is_ok_and(|v| !v.is_empty() && v != "0");
        Ui {
            quiet,
            verbose,
            out_style: Style { color: !no_color && (forced || std::io::stdout().is_terminal()) },
            err_style: Style { color: !no_color && (forced || std::io::stderr().is_terminal()) },
        }
    }

    /// A result, on stdout.
    pub fn out(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// A notice, on stderr; silenced by `--quiet`.
    pub fn status(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    /// A warning, on stderr, even with `--quiet`.
    pub fn warn(&self, text: &str) {
        eprintln!("{} {text}", self.err_style.paint("33", "warning:"));
    }

    /// Whether a person can answer a prompt: stdin and stderr are terminals, not in CI.
    pub fn can_prompt(&self) -> bool {
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
        !ci && std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// Prints deployment polls (`deploy: active`) on stderr while waiting for Pages.
    pub fn deploy_progress(&self) -> DeployLines {
        DeployLines { ui: *self, last: std::sync::Mutex::new(String::new()) }
    }

    /// A progress sink that prints one line per step on stderr.
    pub fn progress(&self, verb: &'static str) -> StepLines {
        StepLines { ui: *self, verb }
    }
}

impl crate::ops::Notices for Ui {
    fn status(&self, text: &str) {
        Ui::status(self, text);
    }

    fn warn(&self, text: &str) {
        Ui::warn(self, text);
    }
}

/// Prints `✓ 1/5 + origin/release  create at …` lines on stderr as steps finish.
pub struct StepLines {
    ui: Ui,
    verb: &'static str,
}

impl Progress for StepLines {
    fn event(&mut self, step: &Step, event: StepEvent<'_>) {
        let style = self.ui.err_style;
        let line = match event {
            StepEvent::Starting if self.ui.verbose > 0 => {
                format!("  … {} step {}: {}", self.verb, step.id, step.action.subject())
            }
            StepEvent::Starting => return,
            StepEvent::Applied => format!(
                "  {} step {} {} {}  {}",
                style.paint("32", "✓"),
                step.id,
                style.sign(step.action.sign()),
                step.action.subject(),
                step.summary
            ),
            StepEvent::AlreadyDone => format!(
                "  {} step {} {}  already done",
                style.paint("32", "✓"),
                step.id,
                step.action.subject()
            ),
            StepEvent::Failed(why) => format!(
                "  {} step {} {}  {why}",
                style.paint("31", "✗"),
                step.id,
                step.action.subject()
            ),
        };
        self.ui.status(&line);
    }
}

/// One stderr line each time a Pages deployment changes stage or status.
pub struct DeployLines {
    ui: Ui,
    last: std::sync::Mutex<String>,
}

impl crate::service::Polls for DeployLines {
    fn on_poll(&self, stage: &str, status: &str) {
        let now = format!("{stage}: {status}");
        let Ok(mut last) = self.last.lock() else { return };
        if *last != now {
            self.ui.status(&format!("      pages deployment {now}"));
            *last = now;
        }
    }
}

/// A prompt the user cancelled (Ctrl-C or Esc): nothing was changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

/// Questions to a person: the terminal's ([`Ui`]), or scripted answers in tests, so the
/// guided commands (`migrate`) run in process without a terminal.
pub trait Prompt: Sync {
    /// Whether a person can answer: a terminal, not in CI.
    fn can_prompt(&self) -> bool;
    /// Picks one of `items`.
    fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize, Cancelled>;
    /// A yes/no question.
    fn ask(&self, question: &str, default: bool) -> Result<bool, Cancelled>;
    /// A line of text.
    fn input(&self, prompt: &str) -> Result<String, Cancelled>;
    /// A secret, typed without echo.
    fn secret(&self, prompt: &str) -> Result<String, Cancelled>;
}

impl Prompt for Ui {
    fn can_prompt(&self) -> bool {
        Ui::can_prompt(self)
    }
    fn select(&self, prompt: &str, items: &[String], default: usize) -> Result<usize, Cancelled> {
        Ui::select(self, prompt, items, default)
    }
    fn ask(&self, question: &str, default: bool) -> Result<bool, Cancelled> {
        Ui::ask(self, question, default)
    }
    fn input(&self, prompt: &str) -> Result<String, Cancelled> {
        Ui::input(self, prompt)
    }
    fn secret(&self, prompt: &str) -> Result<String, Cancelled> {
        Ui::secret(self, prompt)
    }
}

impl Ui {
    fn theme() -> dialoguer::theme::ColorfulTheme {
        dialoguer::theme::ColorfulTheme::default()
    }

    /// Picks one of `items` with the arrow keys.
    pub fn select(
        &self,
        prompt: &str,
        items: &[String],
        default: usize,
    ) -> Result<usize, Cancelled> {
        let answer = dialoguer::Select::with_theme(&Self::theme())
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact_opt();
        settle(answer)
    }

    /// A yes/no question.
    pub fn ask(&self, question: &str, default: bool) -> Result<bool, Cancelled> {
        let answer = dialoguer::Confirm::with_theme(&Self::theme())
            .with_prompt(question)
            .default(default)
            .interact_opt();
        settle(answer)
    }

    /// A line of text; empty answers are asked again.
    pub fn input(&self, prompt: &str) -> Result<String, Cancelled> {
        let answer: Result<String, _> =
            dialoguer::Input::with_theme(&Self::theme()).with_prompt(prompt).interact_text();
        answer.map(|s| s.trim().to_string()).map_err(|_| restore())
    }

    /// A secret, typed without echo.
    pub fn secret(&self, prompt: &str) -> Result<String, Cancelled> {
        let answer = dialoguer::Password::with_theme(&Self::theme()).with_prompt(prompt).interact();
        answer.map(|s| s.trim().to_string()).map_err(|_| restore())
    }

    /// Spinners, one line per step, for a person watching an apply.
    pub fn spinners(&self) -> Spinners {
        Spinners { ui: *self, current: Default::default() }
    }
}

fn settle<T>(answer: dialoguer::Result<Option<T>>) -> Result<T, Cancelled> {
    match answer {
        Ok(Some(v)) => Ok(v),
        _ => Err(restore()),
    }
}

/// Puts the cursor back after a cancelled prompt.
fn restore() -> Cancelled {
    let _ = dialoguer::console::Term::stderr().show_cursor();
    Cancelled
}

type SharedBar = std::sync::Arc<std::sync::Mutex<Option<indicatif::ProgressBar>>>;

/// Progress for a person: a spinner for the step in progress, a line per finished step,
/// and the Pages deployment's stage on the spinner while it is polled.
pub struct Spinners {
    ui: Ui,
    current: SharedBar,
}

impl Spinners {
    /// The half that hears about deployment polls (handed to the Pages client).
    pub fn deployments(&self) -> DeploySpinner {
        DeploySpinner { current: self.current.clone() }
    }

    fn line(&self, step: &Step, mark: &str, code: &str, text: &str) -> String {
        let style = self.ui.err_style;
        format!(
            "{} step {} {} {}  {text}",
            style.paint(code, mark),
            step.id,
            style.sign(step.action.sign()),
            step.action.subject()
        )
    }
}

impl Progress for Spinners {
    fn event(&mut self, step: &Step, event: StepEvent<'_>) {
        let Ok(mut current) = self.current.lock() else { return };
        match event {
            StepEvent::Starting => {
                let bar = indicatif::ProgressBar::new_spinner();
                bar.set_style(
                    indicatif::ProgressStyle::with_template("{spinner} {msg}")
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_message(format!(
                    "step {} {}  {}",
                    step.id,
                    step.action.subject(),
                    step.summary
                ));
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                *current = Some(bar);
            }
            StepEvent::Applied | StepEvent::AlreadyDone | StepEvent::Failed(_) => {
                let text = match event {
                    StepEvent::Failed(why) => self.line(step, "✗", "31", why),
                    StepEvent::AlreadyDone => self.line(step, "✓", "32", "already done"),
                    _ => self.line(step, "✓", "32", &step.summary),
                };
                match current.take() {
                    Some(bar) => {
                        if let Ok(plain) = indicatif::ProgressStyle::with_template("{msg}") {
                            bar.set_style(plain);
                        }
                        bar.finish_with_message(text);
                    }
                    None => self.ui.status(&text),
                }
            }
        }
    }
}

/// Shows a Pages deployment's stage on the spinner of the step in progress.
pub struct DeploySpinner {
    current: SharedBar,
}

impl crate::service::Polls for DeploySpinner {
    fn on_poll(&self, stage: &str, status: &str) {
        if let Ok(current) = self.current.lock()
            && let Some(bar) = current.as_ref()
        {
            bar.set_message(format!("Pages deployment: {stage} {status}"));
        }
    }
}

impl Ui {
    /// The batch display: one line per repository on stderr, redrawn as they progress, when
    /// stderr is a terminal; otherwise nothing is drawn and one plain line is printed as each
    /// repository finishes (silenced by `--quiet`).
    pub fn batch_progress(&self, names: &[&str]) -> BatchProgress {
        let draw = std::io::stderr().is_terminal() && !self.quiet;
        let target = if draw {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        };
        let multi = indicatif::MultiProgress::with_draw_target(target);
        let style = indicatif::ProgressStyle::with_template("{spinner} {prefix} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let bars = names
            .iter()
            .map(|name| {
                let bar = multi.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(style.clone());
                bar.set_prefix(format!("{name:width$}"));
                bar.set_message("waiting");
                RepoProgress { bar, ui: *self, draw, name: name.to_string() }
            })
            .collect();
        BatchProgress { _multi: multi, bars, ui: *self }
    }
}

/// The batch display; [`BatchProgress::repo`] hands out each repository's line.
pub struct BatchProgress {
    _multi: indicatif::MultiProgress,
    bars: Vec<RepoProgress>,
    ui: Ui,
}

impl BatchProgress {
    /// The line of the `i`th repository given to [`Ui::batch_progress`].
    pub fn repo(&self, i: usize) -> RepoProgress {
        self.bars.get(i).cloned().unwrap_or_else(|| RepoProgress {
            bar: indicatif::ProgressBar::hidden(),
            ui: Ui { quiet: true, ..self.ui },
            draw: false,
            name: String::new(),
        })
    }
}

/// One repository's line of the batch display; a step-progress sink for its apply.
#[derive(Clone)]
pub struct RepoProgress {
    bar: indicatif::ProgressBar,
    ui: Ui,
    draw: bool,
    name: String,
}

impl RepoProgress {
    /// What the repository is doing now (`cloning`, `planning`, …).
    pub fn phase(&self, what: &str) {
        if self.draw {
            self.bar.enable_steady_tick(std::time::Duration::from_millis(120));
        }
        self.bar.set_message(what.to_string());
    }

    /// The repository's outcome; its line stops there.
    pub fn finish(&self, ok: bool, text: &str) {
        let style = self.ui.err_style;
        let mark = if ok { style.paint("32", "✓") } else { style.paint("31", "✗") };
        if self.draw {
            self.bar.set_style(
                indicatif::ProgressStyle::with_template("{prefix} {wide_msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            self.bar.finish_with_message(format!("{mark} {text}"));
        } else {
            self.ui.status(&format!("{mark} {}: {text}", self.name));
        }
    }
}

impl Progress for RepoProgress {
    fn event(&mut self, step: &Step, event: StepEvent<'_>) {
        let what = match event {
            StepEvent::Starting => "step",
            StepEvent::Applied => "done",
            StepEvent::AlreadyDone => "already done",
            StepEvent::Failed(_) => "failed",
        };
        self.phase(&format!("{what} {}: {}", step.id, step.action.subject()));
    }
}
