//! `--watch`: interactive learning. The command runs with its output shown and the error-like
//! lexicon watched; when the user stops it with Ctrl-C, ee shows the last error-like lines,
//! suggests an error pattern (generalized from them) and a timeout (how long the user waited),
//! and on confirmation at the terminal pins them for this command, so the next `ee run` applies
//! them.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;

use crate::context::RunContext;
use crate::engine::outcome::{MatchRecord, Outcome};
use crate::engine::printer::note;
use crate::learn;
use crate::store::db::Store;

/// Error-like lines shown after the interrupt.
const SHOWN: usize = 5;

/// What `--watch` proposes for a command.
#[derive(Debug, PartialEq)]
pub struct Proposal {
    pub key: String,
    pub lines: Vec<String>,
    pub pattern: Option<String>,
    pub timeout: f64,
}

/// Build the proposal from an interrupted run.
pub fn propose(o: &Outcome) -> Proposal {
    let ctx = RunContext::new(&o.argv, Path::new(&o.cwd));
    let mut seen: Vec<&MatchRecord> = o.observed.iter().chain(o.matches.iter()).collect();
    seen.sort_by(|a, b| a.offset.total_cmp(&b.offset));
    let last: Vec<&MatchRecord> = seen.iter().rev().take(SHOWN).rev().copied().collect();
    let pattern = last
        .iter()
        .rev()
        .find_map(|m| learn::lexicon::generalize(&m.line).into_iter().next());
    Proposal {
        key: ctx.key,
        lines: last.iter().map(|m| m.line.clone()).collect(),
        pattern,
        timeout: o.total.as_secs_f64().ceil().max(1.0),
    }
}

fn ask(tty: &mut File, reader: &mut BufReader<File>, question: &str, default: bool) -> bool {
    let hint = if default { "[Y/n]" } else { "[y/N]" };
    if write!(tty, "ee: {question} {hint} ")
        .and_then(|_| tty.flush())
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    if reader.read_line(&mut answer).unwrap_or(0) == 0 {
        return false;
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "" => default,
        a => a.starts_with('y'),
    }
}

/// Show the proposal and, on confirmation at the terminal, pin it.
pub fn offer(o: &Outcome, quiet: bool) {
    if o.argv.is_empty() {
        return;
    }
    let p = propose(o);
    // Ctrl-C at a question abandons it, as anywhere else.
    crate::engine::supervisor::signals::default_action(nix::sys::signal::Signal::SIGINT);
    note(
        false,
        &format!(
            "--watch: `{}` ran {:.1}s until interrupted",
            p.key,
            o.total.as_secs_f64()
        ),
    );
    if p.lines.is_empty() {
        note(false, "no error-like lines were seen");
    } else {
        note(false, "last error-like lines:");
        for l in &p.lines {
            let _ = crate::engine::printer::write_all(
                2,
                format!("    {}\n", crate::escape::escape(l)).as_bytes(),
            );
        }
    }
    let tty = OpenOptions::new().read(true).write(true).open("/dev/tty");
    let Some((mut tty, input)) = tty.ok().and_then(|t| Some((t.try_clone().ok()?, t))) else {
        note(quiet, "no terminal to confirm on: nothing stored");
        return;
    };
    let mut reader = BufReader::new(input);
    let pattern = match &p.pattern {
        Some(pat) => ask(
            &mut tty,
            &mut reader,
            &format!("stop `{}` on /{pat}/ from now on?", p.key),
            true,
        )
        .then(|| pat.clone()),
        None => None,
    };
    // With no error seen, the user most likely stopped a hang: then the timeout is the point.
    let timeout = ask(
        &mut tty,
        &mut reader,
        &format!("stop `{}` after {}s from now on?", p.key, p.timeout),
        p.pattern.is_none(),
    )
    .then_some(p.timeout);
    if pattern.is_none() && timeout.is_none() {
        note(false, "nothing stored");
        return;
    }
    let ctx = RunContext::new(&o.argv, Path::new(&o.cwd));
    let stored = Store::open_default(crate::app::record::entry)
        .map_err(|e| e.to_string())
        .and_then(|mut s| {
            let tx = s.write_tx().map_err(|e| e.to_string())?;
            learn::pin(&tx, &ctx, pattern.as_deref(), timeout).map_err(|e| e.to_string())?;
            tx.commit().map_err(|e| e.to_string())
        });
    match stored {
        Ok(()) => {
            let what: Vec<String> = pattern
                .iter()
                .map(|p| format!("pattern /{p}/"))
                .chain(timeout.iter().map(|t| format!("timeout {t}s")))
                .collect();
            note(
                false,
                &format!(
                    "stored for `{}`: {} (ee run applies it; ee suggest shows it)",
                    p.key,
                    what.join(", ")
                ),
            );
        }
        Err(e) => note(false, &format!("could not store: {e}")),
    }
}
