//! The write-ahead journal: one JSON Lines file per run under `.git/rebranch/journal/`.
//!
//! The first line holds the whole plan being applied. Before an action runs, `start` is
//! written and synced; after it, `done`. Rollback writes `undo` and `undone` the same way.
//! Replaying the lines gives each action's state, so an interrupted apply can resume and a
//! rollback knows exactly what to undo. A torn last line (a crash mid-write) is ignored;
//! any other unreadable line is reported as corruption, never guessed at.
//!
//! Each line after the first carries `prev`, the git blob id of the line before it, so a
//! journal changed after it was written (an object id edited by hand) is refused with its
//! path and line instead of being acted on. A run that stopped and was planned again
//! against live state is closed with `continued` and the new run's `begin` names it in
//! `continues`: together they are one migration, which rollback undoes as a whole.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// One line of the journal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Begin {
        run: String,
        started: u64,
        plan: Box<Plan>,
        /// The stopped run this one carries on, when it was planned again after a stop.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        continues: Option<String>,
    },
    Start {
        step: usize,
    },
    Done {
        step: usize,
        already: bool,
    },
    Failed {
        step: usize,
        error: String,
        /// Nothing took effect (the lease or the precondition did not hold): the step is
        /// not undone, and a later plan decides it again.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        untouched: bool,
    },
    /// The run stopped, and run `by` carries it on with a plan made against live state.
    Continued {
        by: String,
    },
    Finished,
    Undo {
        step: usize,
    },
    Undone {
        step: usize,
        already: bool,
    },
    RolledBack,
    /// The run stopped before changing anything; it is closed, not resumed.
    Abandoned {
        reason: String,
    },
}

/// Where an action stands in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepState {
    Pending,
    /// Its `start` is written but not its `done`: it may or may not have taken effect.
    Started,
    Done,
    /// Its `undo` is written but not its `undone`.
    Undoing,
    Undone,
}

/// A run's journal, open for appending.
#[derive(Debug)]
pub struct Journal {
    pub path: PathBuf,
    pub run: String,
    pub plan: Plan,
    pub states: Vec<StepState>,
    /// Which steps this run acted on (a `start` was written): the others' effect already
    /// held, so undoing them would undo someone else's work.
    pub acted: Vec<bool>,
    pub finished: bool,
    pub rolled_back: bool,
    /// The stopped run this one carries on.
    pub continues: Option<String>,
    /// The run that carries this one on, once it stopped and was planned again.
    pub continued_by: Option<String>,
    /// The git blob id of the last line written, which the next line names as `prev`.
    last: String,
    file: File,
}

/// A journal that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot write the journal {path}: {message}")]
    Io { path: String, message: String },
    #[error("the journal {path} is corrupt at line {line}: {message}")]
    Corrupt { path: String, line: usize, message: String },
}

impl Journal {
    /// The journal directory inside rebranch's state directory (`.git/rebranch/`).
    pub fn dir(state_dir: &Path) -> PathBuf {
        state_dir.join("journal")
    }

    /// Starts a new run for `plan`, writing its `begin` line.
    pub fn create(dir: &Path, plan: &Plan) -> Result<Journal, JournalError> {
        Journal::create_continuing(dir, plan, None)
    }

    /// Starts a run for `plan` that carries on the stopped run `continues`, if any.
    pub fn create_continuing(
        dir: &Path,
        plan: &Plan,
        continues: Option<String>,
    ) -> Result<Journal, JournalError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        // Names sort in the order runs began (`latest` takes the last): the milliseconds
        // order two runs of one second, whatever their process ids; a run that would share
        // its name with one begun the same millisecond by this process takes the next one.
        let (run, started) = loop {
            let millis = crate::time::epoch_millis(std::time::SystemTime::now());
            let started = u64::try_from(millis / 1000).unwrap_or(0);
            let run = format!("{}-{:03}-{}", timestamp(started), millis % 1000, std::process::id());
            if !dir.join(format!("{run}.jsonl")).exists() {
                break (run, started);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        };
        let path = dir.join(format!("{run}.jsonl"));
        // The first line goes in whole or not at all: written to a temporary file, synced,
        // then linked into place (which fails if the name exists), so a crash here leaves
        // either no journal or one that starts with its plan.
        let begin = Event::Begin {
            run: run.clone(),
            started,
            plan: Box::new(plan.clone()),
            continues: continues.clone(),
        };
        let mut line = serde_json::to_string(&begin).map_err(|e| JournalError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let last = line_digest(&line);
        line.push('\n');
        let mut tmp =
            tempfile::Builder::new().prefix(".begin-").tempfile_in(dir).map_err(io_err(dir))?;
        tmp.write_all(line.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(io_err(&path))?;
        fs::hard_link(tmp.path(), &path).map_err(io_err(&path))?;
        drop(tmp);
        sync_dir(dir);
        let file = OpenOptions::new().append(true).open(&path).map_err(io_err(&path))?;
        Ok(Journal {
            path,
            run,
            plan: plan.clone(),
            states: vec![StepState::Pending; plan.actions.len()],
            acted: vec![false; plan.actions.len()],
            finished: false,
            rolled_back: false,
            continues,
            continued_by: None,
            last,
            file,
        })
    }

    /// The most recent run, if any.
    pub fn latest(dir: &Path) -> Result<Option<Journal>, JournalError> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Ok(None);
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        paths.sort();
        let Some(p) = paths.pop() else { return Ok(None) };
        let mut journal = Journal::open(&p)?;
        // A stopped run carried on by another is followed to the run that carries it on.
        while let Some(by) = journal.continued_by.clone() {
            match journal.open_run(&by) {
                Ok(next) => journal = next,
                Err(_) => break,
            }
        }
        Ok(Some(journal))
    }

    /// Opens a journal and replays it.
    pub fn open(path: &Path) -> Result<Journal, JournalError> {
        let text = fs::read_to_string(path).map_err(io_err(path))?;
        let events = parse_events(path, &text)?;
        let corrupt = |message: &str| JournalError::Corrupt {
            path: path.display().to_string(),
            line: 1,
            message: message.to_string(),
        };
        let Some((Event::Begin { run, plan, continues, .. }, _)) = events.first().cloned() else {
            return Err(corrupt("it does not start with the plan it applies"));
        };
        let file = OpenOptions::new().append(true).open(path).map_err(io_err(path))?;
        let mut journal = Journal {
            path: path.to_path_buf(),
            run,
            states: vec![StepState::Pending; plan.actions.len()],
            acted: vec![false; plan.actions.len()],
            plan: *plan,
            finished: false,
            rolled_back: false,
            continues,
            continued_by: None,
            last: events.last().map(|(_, d)| d.clone()).unwrap_or_default(),
            file,
        };
        for (i, (event, _)) in events.iter().enumerate().skip(1) {
            journal.replay(event).map_err(|message| JournalError::Corrupt {
                path: path.display().to_string(),
                line: i + 1,
                message,
            })?;
        }
        Ok(journal)
    }

    /// Appends an event, chained to the line before, syncs it to disk, and updates the
    /// states.
    pub fn record(&mut self, event: Event) -> Result<(), JournalError> {
        let io = |e: serde_json::Error| JournalError::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        };
        let mut value = serde_json::to_value(&event).map_err(io)?;
        if let Some(o) = value.as_object_mut() {
            o.insert("prev".to_string(), serde_json::Value::String(self.last.clone()));
        }
        let mut line = serde_json::to_string(&value).map_err(io)?;
        self.last = line_digest(&line);
        line.push('\n');
        let path = self.path.clone();
        self.file.write_all(line.as_bytes()).map_err(io_err(&path))?;
        self.file.sync_data().map_err(io_err(&path))?;
        if !matches!(event, Event::Begin { .. }) {
            self.replay(&event).map_err(|message| JournalError::Io {
                path: path.display().to_string(),
                message,
            })?;
        }
        Ok(())
    }

    /// The ids of the steps that are done (`true`) or not done (`false`) in this run.
    pub fn step_ids(&self, done: bool) -> Vec<usize> {
        self.plan
            .actions
            .iter()
            .zip(&self.states)
            .filter(|(_, s)| (**s == StepState::Done) == done)
            .map(|(a, _)| a.id)
            .collect()
    }

    /// Whether an apply of this run stopped before its end (and was neither rolled back nor
    /// carried on by another run).
    pub fn is_unfinished(&self) -> bool {
        !self.finished && !self.rolled_back && self.continued_by.is_none()
    }

    /// Opens the run named `run` in the same directory.
    pub fn open_run(&self, run: &str) -> Result<Journal, JournalError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        Journal::open(&dir.join(format!("{run}.jsonl")))
    }

    /// Whether rollback has anything left to undo: a step this run acted on that is not
    /// undone yet.
    pub fn has_undoable(&self) -> bool {
        !self.rolled_back
            && self.states.iter().zip(&self.acted).any(|(s, acted)| {
                *acted && matches!(s, StepState::Started | StepState::Done | StepState::Undoing)
            })
    }

    /// Whether this run changed anything at all.
    pub fn changed_anything(&self) -> bool {
        self.acted.iter().any(|a| *a)
    }

    fn replay(&mut self, event: &Event) -> Result<(), String> {
        let n = self.states.len();
        let slot = |step: usize| {
            if step < n { Ok(step) } else { Err(format!("step {step} is not in the plan")) }
        };
        match event {
            Event::Begin { .. } => return Err("a second `begin`".to_string()),
            Event::Start { step } => {
                let i = slot(*step)?;
                self.states[i] = StepState::Started;
                self.acted[i] = true;
            }
            Event::Done { step, .. } => self.states[slot(*step)?] = StepState::Done,
            Event::Failed { step, untouched, .. } => {
                let i = slot(*step)?;
                if *untouched && self.states[i] == StepState::Started {
                    self.states[i] = StepState::Pending;
                    self.acted[i] = false;
                }
            }
            Event::Continued { by } => self.continued_by = Some(by.clone()),
            Event::Finished => self.finished = true,
            Event::Undo { step } => self.states[slot(*step)?] = StepState::Undoing,
            Event::Undone { step, .. } => self.states[slot(*step)?] = StepState::Undone,
            Event::RolledBack | Event::Abandoned { .. } => self.rolled_back = true,
        }
        Ok(())
    }
}

/// The events of a journal with each line's digest, each line checked to name the line
/// before it.
fn parse_events(path: &Path, text: &str) -> Result<Vec<(Event, String)>, JournalError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut events: Vec<(Event, String)> = Vec::with_capacity(lines.len());
    let corrupt = |line: usize, message: String| JournalError::Corrupt {
        path: path.display().to_string(),
        line,
        message,
    };
    // A journal written before lines were chained has no `prev` from its second line on:
    // it is read as it was written (an apply made by an earlier version can still be rolled
    // back), but a chained journal must be chained throughout.
    let legacy = lines.get(1).is_some_and(|l| !l.contains("\"prev\":"));
    for (i, line) in lines.iter().enumerate() {
        let parsed = serde_json::from_str::<serde_json::Value>(line).and_then(|mut v| {
            let prev = v.as_object_mut().and_then(|o| o.remove("prev"));
            serde_json::from_value::<Event>(v).map(|e| (e, prev))
        });
        match parsed {
            Ok((event, prev)) => {
                let expected = if legacy { None } else { events.last().map(|(_, d)| d.as_str()) };
                let named = prev.as_ref().and_then(serde_json::Value::as_str);
                if named != expected {
                    return Err(corrupt(
                        i + 1,
                        "it does not follow the line before it (the journal was changed after it was written); nothing is done from it".to_string(),
                    ));
                }
                events.push((event, line_digest(line)));
            }
            // A torn final line: the write it belongs to never completed.
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => break,
            Err(e) => return Err(corrupt(i + 1, e.to_string())),
        }
    }
    Ok(events)
}

/// The git blob id of a journal line (without its newline).
fn line_digest(line: &str) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, line.as_bytes())
        .map(|o| o.to_string())
        .unwrap_or_default()
}

/// Makes a new directory entry durable; best effort where directories cannot be synced.
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> JournalError + '_ {
    move |e| JournalError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// `20261124T210203Z` for a Unix time, in UTC.
pub fn timestamp(secs: u64) -> String {
    crate::time::compact_utc(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_journal_starts_with_its_plan_and_leaves_no_scratch_file() {
        let dir = tempfile::tempdir().unwrap();
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "format_version": 1,
            "plan": {"name": "t", "source": "t"},
            "repository": {"path": "/r", "remote": "origin", "remote_url": "/o"},
            "variables": {},
            "observed": {"fingerprint": "f", "refs": {}},
            "actions": [],
            "warnings": []
        }))
        .unwrap();
        let journal = Journal::create(dir.path(), &plan).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(names, std::slice::from_ref(&journal.path));
        let reopened = Journal::open(&journal.path).unwrap();
        assert_eq!(reopened.plan, plan);
    }

    #[test]
    fn timestamp_is_utc_civil_time() {
        assert_eq!(timestamp(0), "19700101T000000Z");
        assert_eq!(timestamp(1_795_986_123), "20261129T210203Z");
    }

    #[test]
    fn torn_last_line_is_ignored_but_a_bad_middle_line_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.jsonl");
        fs::write(&p, "{\"event\":\"finished\"}\n{\"event\":\"sta").unwrap();
        assert_eq!(parse_events(&p, &fs::read_to_string(&p).unwrap()).unwrap().len(), 1);
        fs::write(&p, "{\"event\":\"finished\"}\nnot json\n{\"event\":\"finished\"}\n").unwrap();
        let err = parse_events(&p, &fs::read_to_string(&p).unwrap()).unwrap_err();
        assert!(err.to_string().contains("corrupt at line 2"), "{err}");
    }

    #[test]
    fn a_line_changed_after_it_was_written_breaks_the_chain_at_the_next_line() {
        let dir = tempfile::tempdir().unwrap();
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "format_version": 1,
            "plan": {"name": "t", "source": "t"},
            "repository": {"path": "/r", "remote": "origin", "remote_url": "/o"},
            "variables": {"main": "main"},
            "observed": {"fingerprint": "f", "refs": {}},
            "actions": [],
            "warnings": []
        }))
        .unwrap();
        let mut journal = Journal::create(dir.path(), &plan).unwrap();
        journal.record(Event::Finished).unwrap();
        Journal::open(&journal.path).unwrap();
        let text = fs::read_to_string(&journal.path).unwrap();
        fs::write(&journal.path, text.replacen("\"main\":\"main\"", "\"main\":\"master\"", 1))
            .unwrap();
        let err = Journal::open(&journal.path).unwrap_err();
        assert!(err.to_string().contains("corrupt at line 2"), "{err}");
        assert!(err.to_string().contains("changed after it was written"), "{err}");
        // A journal written before lines were chained (no `prev` at all) is still read.
        let chained = fs::read_to_string(&journal.path).unwrap();
        let (first, rest) = chained.split_once('\n').unwrap();
        let unchained: String = rest
            .lines()
            .map(|l| {
                let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
                v.as_object_mut().unwrap().remove("prev");
                format!("{v}\n")
            })
            .collect();
        fs::write(&journal.path, format!("{first}\n{unchained}")).unwrap();
        Journal::open(&journal.path).expect("a journal from before the chain is still read");
    }
}
