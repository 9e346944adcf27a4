//! Recording a run: the ONLY place a run is written, in one write transaction in which the store
//! and the learning module both write (neither knows the other). One run = judge (learning reads what it knew before the run) →
//! insert (the store adds the execution, its events and the summaries) → apply (learning writes
//! its judgement) → retention, in one transaction; runs merged from the spool go through the
//! same [`entry`], so they teach exactly what they would have taught at once.
//!
//! Hot path (`ee run`): the store was opened, the lookup made and the statements prepared on a
//! thread while the command ran (`store::prepare`, [`warm`]), or by the lookup on the same
//! connection (`store::with_lookup`); a lock held longer than `store::db::RUN_WAIT` (10 ms) sends the run to
//! the spool at once and a background `ee telemetry checkpoint` merges it; the next `ee run`
//! reads what this run taught, since it is committed before ee exits.

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use rusqlite::Transaction;

use crate::context::{self, RunContext};
use crate::engine::matcher::Class;
use crate::engine::outcome::{
    ChildStatus, LimitsUsed, MatchRecord, Mode, Observed, Outcome, PatternsUsed, StreamStats,
};
use crate::engine::policy::Reason;
use crate::engine::printer::note;
use crate::store::db::{Store, StoreError};
use crate::store::entry::{Entry, Event};
use crate::store::{self, spool};
use crate::store::{checkpoint, files, insert};

/// Write one run inside `tx`: judge → insert → apply. Returns the execution id. Also the
/// [`db::Recorder`] the spool merge (and `ee telemetry generate`) writes each run with.
pub fn entry(tx: &Transaction, e: &Entry) -> Result<i64, StoreError> {
    let outcome = learning_view(e);
    let judged = crate::learn::judge(tx, &outcome, &context(e))?;
    let id = insert::insert_entry(tx, e, judged.as_ref().and_then(|j| j.time_saved))?;
    if let Some(j) = &judged {
        crate::learn::apply(tx, id, j)?;
    }
    Ok(id)
}

/// Record one run in one write transaction on `store`: [`entry`] and a retention step.
fn insert(store: &mut Store, e: &Entry) -> Result<i64, StoreError> {
    let tx = store.write_tx()?;
    let id = entry(&tx, e)?;
    insert::retention_step(&tx, id)?;
    tx.commit()?;
    Ok(id)
}

/// Record a finished run. Never fails visibly: problems are reported once on stderr (unless
/// `quiet`) and the run is kept in the spool to be merged later.
pub fn record(outcome: &Outcome, quiet: bool) {
    let r = std::panic::catch_unwind(|| record_inner(outcome, quiet));
    if r.is_err() {
        note(quiet, "telemetry: internal error; run not recorded");
    }
}

fn record_inner(outcome: &Outcome, quiet: bool) {
    let entry = Entry::from_outcome(outcome);
    let opened = store::take_pending();
    let Some(path) = store::db_path() else {
        note(
            quiet,
            &format!("telemetry: run not recorded: {}", StoreError::NoPath),
        );
        return;
    };
    let mut notices = Vec::new();
    let mut result = write(&path, &entry, opened, &mut notices);
    if matches!(&result, Err(e) if !e.is_busy() && !e.is_corrupt()) {
        // Side files left read-only by an earlier read-only database keep it unwritable after
        // the user fixed it: repair them and try once more.
        if !files::repair_side_files(&path).is_empty() {
            result = write(&path, &entry, None, &mut notices);
        }
    }
    for n in notices {
        note(quiet, &format!("telemetry: {n}"));
    }
    match result {
        Ok(()) => checkpoint::spawn_maintenance(&path, false),
        Err(e) => {
            let busy = e.is_busy();
            let msg = match spool::append(&path, &entry) {
                Ok(a) if a.now_full => Some(full_warning(&a.path)),
                // Locked: not a fault; the background merger adds it within moments.
                Ok(_) if busy => None,
                Ok(a) => Some(format!(
                    "telemetry: cannot write {}: {e}; run kept in {} until the next successful write",
                    path.display(),
                    a.path.display()
                )),
                Err(se) if spool::is_full(&se) => Some(format!(
                    "telemetry: cannot write {}: {e}; run NOT recorded: the spool is full (ee telemetry check)",
                    path.display()
                )),
                Err(se) => Some(format!(
                    "telemetry: cannot write {}: {e}; run not recorded (spool: {se})",
                    path.display()
                )),
            };
            if let Some(m) = msg {
                note(quiet && !m.contains("WARNING"), &m);
            }
            if busy {
                checkpoint::spawn_maintenance(&path, true);
            }
        }
    }
}

/// The one loud warning, given by the run that fills the spool (even with `-q`).
fn full_warning(spool: &std::path::Path) -> String {
    format!(
        "telemetry: WARNING: the spool {} is now full ({} MiB): from now on runs are NOT recorded \
         until the database can be written again; see `ee telemetry check`",
        spool.display(),
        spool::MAX_SPOOL_BYTES >> 20
    )
}

/// Insert into the store opened beforehand (or open it now); a database found corrupt while
/// writing is moved aside, salvaged, and the write retried once on the new one.
fn write(
    path: &std::path::Path,
    entry: &Entry,
    opened: Option<Result<Store, StoreError>>,
    notices: &mut Vec<String>,
) -> Result<(), StoreError> {
    let mut store = match opened {
        Some(r) => r?,
        None => Store::open_for_run(path)?,
    };
    notices.append(&mut store.notices);
    match insert(&mut store, entry) {
        Ok(_) => {
            store::keep(store);
            Ok(())
        }
        Err(e) if e.is_corrupt() => {
            let moved = store.quarantine()?;
            let mut store = Store::open_for_run(path)?;
            notices.append(&mut store.notices);
            if let Some(m) = moved {
                notices.push(store.salvage_note(&m));
            }
            insert(&mut store, entry).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// The grouping context of a stored (redacted) run.
fn context(e: &Entry) -> RunContext {
    RunContext {
        argv: e.argv.clone(),
        key: e.key.clone(),
        program: e.program.clone(),
        project_type: context::project_type_static(&e.project_type),
        category: context::category_static(&e.category),
        cwd: PathBuf::from(&e.cwd),
        root: PathBuf::from(if e.root.is_empty() { &e.cwd } else { &e.root }),
        identity: context::identity(&e.argv),
    }
}

/// The stored (redacted) run as the learning module reads it: the same for a run written at once
/// and one merged from the spool.
fn learning_view(e: &Entry) -> Outcome {
    let secs = |s: f64| Duration::from_secs_f64(s.max(0.0));
    let rec = |e: &Event| MatchRecord {
        offset: e.offset_s,
        stream: e.stream.clone(),
        line_no: e.line_no,
        kind: Class::from_name(&e.kind).unwrap_or(Class::Match),
        pattern: e.pattern.clone(),
        line: e.line.clone(),
        matched: e.matched.clone(),
        context: e.context.clone(),
    };
    Outcome {
        mode: match e.mode.as_str() {
            "pipe" => Mode::Pipe,
            "run" => Mode::Run,
            _ => Mode::Command,
        },
        argv: e.argv.clone(),
        started: UNIX_EPOCH + Duration::from_millis(e.started_ms.max(0) as u64),
        cwd: e.cwd.clone(),
        patterns: PatternsUsed {
            main: e.pattern.clone(),
            success: e.success_patterns.clone(),
            error: e.error_patterns.clone(),
            exclude: e.exclude_patterns.clone(),
            flags: e.flags.clone(),
            learned: e.pattern_learned,
        },
        limits: LimitsUsed {
            timeout: e.timeout_s,
            idle_timeout: e.idle_timeout_s,
            first_output_timeout: e.first_output_timeout_s,
            delay_exit: e.delay_exit_s,
            timeout_learned: e.timeout_learned,
            hang_quiet: None,
        },
        exit_code: e.exit_code,
        run: Observed {
            child: match (e.child_exit, e.child_signal) {
                (Some(c), _) => Some(ChildStatus::Exited(c)),
                (None, Some(s)) => Some(ChildStatus::Signaled(s)),
                _ => None,
            },
            reason: Reason::from_name(&e.reason, e.signal),
            total: secs(e.total_s),
            to_first_output: e.first_output_s.map(secs),
            to_first_match: e.first_match_s.map(secs),
            match_count: e.match_count,
            stdout: StreamStats {
                lines: e.stdout_lines,
                bytes: e.stdout_bytes,
            },
            stderr: StreamStats {
                lines: e.stderr_lines,
                bytes: e.stderr_bytes,
            },
            stopped_early: e.stopped_early,
            detached: e.detached,
            matches: e
                .events
                .iter()
                .filter(|e| e.kind != Class::Observed.as_str())
                .map(rec)
                .collect(),
            observed: e
                .events
                .iter()
                .filter(|e| e.kind == Class::Observed.as_str())
                .map(rec)
                .collect(),
            ends_line: true,
        },
    }
}

/// Prepare what the learning update reads and writes with for this command's scopes, on the
/// store's opening thread, so their statements are ready before the command ends (issue 16):
/// the reads by reading once, unless `ee run`'s lookup just did (`read`).
pub fn warm(store: &Store, argv: &[String], read: bool) {
    if !read {
        let ctx = RunContext::new(argv, &std::env::current_dir().unwrap_or_default());
        if !ctx.program.is_empty() {
            let scopes = crate::learn::aggregates::scopes(&ctx);
            let _ = crate::learn::db::load(store.conn(), &scopes);
        }
    }
    crate::learn::db::warm(store.conn());
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    /// The column lists of the `learn_*` tables of a database.
    fn learn_tables(c: &Connection) -> Vec<(String, Vec<String>)> {
        let names: Vec<String> = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'learn%' ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        names
            .into_iter()
            .map(|t| {
                let cols = c
                    .prepare(&format!(
                        "SELECT name || ' ' || type || ' ' || pk FROM pragma_table_info('{t}')"
                    ))
                    .unwrap()
                    .query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                (t, cols)
            })
            .collect()
    }

    /// The learning unit tests run against `learn::tests::TABLES`; it must be what the store's
    /// migrations leave.
    #[test]
    fn the_learning_tests_use_the_tables_the_migrations_make() {
        let migrated = Connection::open_in_memory().unwrap();
        for m in crate::store::migrations::MIGRATIONS {
            migrated.execute_batch(m.sql).unwrap();
        }
        let tests = Connection::open_in_memory().unwrap();
        tests.execute_batch(crate::learn::tests::TABLES).unwrap();
        assert_eq!(learn_tables(&migrated), learn_tables(&tests));
        assert!(learn_tables(&tests).len() >= 7);
    }
}
