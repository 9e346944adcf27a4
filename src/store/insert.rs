//! Writing a run: the insert of an execution with its match events and summaries, the
//! time-saved estimate, and the retention step `app::record` runs in the same write
//! transaction; and the deletion `ee telemetry prune|clear` uses.

use rusqlite::{params, Connection, Transaction};

use super::db::{now_ms, retention_limits, StoreError};
use super::entry::Entry;
use super::schema::{ADD_COMMAND_SUMMARY, ADD_SUMMARY, SUBTRACT_SUMMARIES};

fn json_list(v: &[String]) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        serde_json::to_string(v).ok()
    }
}

const INSERT_EXEC: &str = "INSERT INTO executions (started_at, mode, command, command_key, cwd,
    project_type, category, pattern, success_patterns, error_patterns, exclude_patterns, flags,
    pattern_learned, timeout_s, idle_timeout_s, first_output_timeout_s, delay_exit_s,
    timeout_learned, exit_code, child_exit, child_signal, reason, total_s, first_output_s,
    first_match_s, match_count, stdout_lines, stdout_bytes, stderr_lines, stderr_bytes,
    stopped_early, time_saved_s, detached)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
            ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)";

const SELECT_DONE: &str = "SELECT done_runs, done_s FROM command_summary WHERE command_key = ?1";

const INSERT_EVENT: &str = "INSERT INTO match_events (execution_id, kind, offset_s, stream,
    line_no, pattern, line, matched, context) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Insert one execution with its events and add it to the summaries. `time_saved`: the time its
/// early stop saved when the caller knows it (`Some(None)`: unknown), else (`None`) the store's
/// own estimate from the command's runs that ended by themselves.
pub fn insert_entry(
    tx: &Transaction,
    e: &Entry,
    time_saved: Option<Option<f64>>,
) -> Result<i64, StoreError> {
    let time_saved = match time_saved {
        Some(t) => t,
        None if e.stopped_early => estimate_saved(tx, &e.key, e.total_s)?,
        None => None,
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    tx.prepare_cached(INSERT_EXEC)?.execute(params![
        e.started_ms,
        e.mode,
        e.command,
        e.key,
        e.cwd,
        e.project_type,
        e.category,
        e.pattern,
        json_list(&e.success_patterns),
        json_list(&e.error_patterns),
        json_list(&e.exclude_patterns),
        opt(&e.flags),
        e.pattern_learned,
        e.timeout_s,
        e.idle_timeout_s,
        e.first_output_timeout_s,
        e.delay_exit_s,
        e.timeout_learned,
        e.exit_code,
        e.child_exit,
        e.child_signal,
        e.reason,
        e.total_s,
        e.first_output_s,
        e.first_match_s,
        e.match_count as i64,
        e.stdout_lines as i64,
        e.stdout_bytes as i64,
        e.stderr_lines as i64,
        e.stderr_bytes as i64,
        e.stopped_early,
        time_saved,
        e.detached,
    ])?;
    let id = tx.last_insert_rowid();
    if !e.events.is_empty() {
        let mut st = tx.prepare_cached(INSERT_EVENT)?;
        for ev in &e.events {
            st.execute(params![
                id,
                ev.kind,
                ev.offset_s,
                ev.stream,
                ev.line_no as i64,
                opt(&ev.pattern),
                ev.line,
                ev.matched,
                json_list(&ev.context),
            ])?;
        }
    }
    let done = !e.stopped_early && matches!(e.reason.as_str(), "completed" | "no_match");
    let p = params![
        e.project_type,
        e.category,
        e.reason,
        e.pattern_label(),
        e.match_count > 0,
        e.total_s,
        e.stopped_early,
        time_saved.unwrap_or(0.0),
        e.key,
        done,
        e.started_ms,
    ];
    tx.prepare_cached(ADD_SUMMARY)?.execute(&p[..8])?;
    tx.prepare_cached(ADD_COMMAND_SUMMARY)?.execute(p)?;
    Ok(id)
}

/// Delete the executions chosen by `select_ids` (a query returning ids, with `p` as its
/// parameters), keeping the summaries right; returns how many were deleted.
pub fn delete_executions(
    tx: &Transaction,
    select_ids: &str,
    p: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.execute_batch(
        "PRAGMA temp_store = MEMORY;
         CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY);
         DELETE FROM temp.doomed;",
    )?;
    let n = tx.execute(&format!("INSERT INTO temp.doomed (id) {select_ids}"), p)?;
    if n > 0 {
        tx.execute_batch(SUBTRACT_SUMMARIES)?;
    }
    Ok(n)
}

/// Time an early-stopped run saved: the mean runtime of this command's runs that ended by
/// themselves (at least two of them) minus this run's runtime.
fn estimate_saved(tx: &Transaction, key: &str, total_s: f64) -> rusqlite::Result<Option<f64>> {
    let row: Option<(i64, f64)> = tx
        .prepare_cached(SELECT_DONE)?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(row.and_then(|(n, s)| {
        let saved = s / n.max(1) as f64 - total_s;
        (n >= 2 && saved > 0.0).then_some(saved)
    }))
}

/// Default retention, applied every `period` executions (by id) in the run's own transaction,
/// deleting a bounded number of the oldest rows, so no run pays for a scan.
pub fn retention_step(tx: &Transaction, id: i64) -> rusqlite::Result<()> {
    let (keep, days) = retention_limits();
    let period = if keep > 0 {
        (keep / 100).clamp(1, 1000) as i64
    } else {
        1000
    };
    if id % period != 0 {
        return Ok(());
    }
    let batch = period * 2 + 100;
    if keep > 0 {
        delete_executions(
            tx,
            "SELECT id FROM executions WHERE id <= ?1 ORDER BY id LIMIT ?2",
            params![id - keep as i64, batch],
        )?;
    }
    if days > 0 {
        let cutoff = now_ms() - (days as i64) * 86_400_000;
        delete_executions(
            tx,
            "SELECT id FROM executions WHERE started_at < ?1 ORDER BY started_at LIMIT ?2",
            params![cutoff, batch],
        )?;
    }
    Ok(())
}

/// Prepare (into the statement cache) the statements every insert uses, so that when the store
/// is opened on a thread beside the command, only binding and stepping remain after it ends.
pub(super) fn warm(conn: &Connection) {
    conn.set_prepared_statement_cache_capacity(64);
    for sql in [
        INSERT_EXEC,
        INSERT_EVENT,
        ADD_SUMMARY,
        ADD_COMMAND_SUMMARY,
        SELECT_DONE,
    ] {
        let _ = conn.prepare_cached(sql);
    }
}
