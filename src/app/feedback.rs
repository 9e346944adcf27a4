//! `ee feedback [RUN_ID|last] --false-positive|--missed|--good`: correct learning's judgement of a
//! run. It changes the aggregates (a new feedback on the same run replaces the earlier one).

use crate::app::{CmdResult, Fail};
use crate::cli::FeedbackArgs;
use crate::learn::feedback::{apply_feedback, Feedback};
use crate::store::db::Store;

pub fn run(a: FeedbackArgs) -> CmdResult {
    let run_id = if a.run == "last" {
        None
    } else {
        Some(a.run.parse::<i64>().map_err(|_| {
            Fail::usage(format!("invalid run id '{}' (a number, or 'last')", a.run))
        })?)
    };
    let f = if a.false_positive {
        Feedback::FalsePositive
    } else if a.missed {
        Feedback::Missed
    } else {
        Feedback::Good
    };
    let mut store = Store::open_default(crate::app::record::entry)
        .map_err(|e| Fail::new(1, format!("telemetry database: {e}")))?;
    let tx = store
        .write_tx()
        .map_err(|e| Fail::new(1, format!("telemetry database: {e}")))?;
    // For --missed: the learned patterns that were applied in that run (they did not match).
    let applied: Vec<(String, String)> = match run_id {
        Some(id) => applied_patterns(&tx, id),
        None => tx
            .query_row("SELECT max(run_id) FROM learn_runs", [], |r| {
                r.get::<_, Option<i64>>(0)
            })
            .ok()
            .flatten()
            .map(|id| applied_patterns(&tx, id))
            .unwrap_or_default(),
    };
    let (id, what) = apply_feedback(&tx, run_id, f, &applied).map_err(|e| Fail::new(1, e))?;
    tx.commit()
        .map_err(|e| Fail::new(1, format!("telemetry database: {e}")))?;
    let line = format!("run {id}: {} recorded: {what}\n", f.as_str());
    crate::output::write_bytes(crate::escape::escape_lines(&line).as_bytes());
    Ok(0)
}

/// The learned error patterns applied in a run, from its telemetry row.
fn applied_patterns(conn: &rusqlite::Connection, id: i64) -> Vec<(String, String)> {
    let row: Option<(Option<String>, i64)> = conn
        .query_row(
            "SELECT error_patterns, pattern_learned FROM executions WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    match row {
        Some((Some(json), 1)) => serde_json::from_str::<Vec<String>>(&json)
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p, "mined".to_string()))
            .collect(),
        _ => Vec::new(),
    }
}
