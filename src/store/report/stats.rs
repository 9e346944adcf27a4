//! `ee stats`: statistics of the whole database from the summary tables.

use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

use super::round;
use crate::store::db::Store;
use crate::store::spool;

/// A count and its share of the total.
#[derive(Debug, Serialize)]
pub struct Share {
    pub name: String,
    pub count: u64,
    pub percent: f64,
}

/// How a pattern did.
#[derive(Debug, Serialize)]
pub struct PatternStat {
    pub pattern: String,
    /// Runs that used it.
    pub uses: u64,
    /// Runs in which it matched.
    pub matches: u64,
    /// matches / uses.
    pub rate: f64,
}

/// Runs of one command key.
#[derive(Debug, Serialize)]
pub struct CommandStat {
    pub command: String,
    pub runs: u64,
    pub average_runtime_s: f64,
}

/// Everything `ee stats` shows.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub database: String,
    pub executions: u64,
    /// First and last run (UTC, ISO 8601).
    pub first_run: Option<String>,
    pub last_run: Option<String>,
    pub average_runtime_s: Option<f64>,
    pub total_runtime_s: f64,
    pub unique_patterns: u64,
    pub stopped_early: u64,
    /// Estimated time saved by early exits.
    pub time_saved_s: f64,
    pub spool_backlog: usize,
    pub exit_reasons: Vec<Share>,
    pub project_types: Vec<Share>,
    pub categories: Vec<Share>,
    /// Patterns by number of uses.
    pub patterns: Vec<PatternStat>,
    /// Most run commands.
    pub commands: Vec<CommandStat>,
}

fn shares(conn: &Connection, column: &str, total: u64) -> rusqlite::Result<Vec<Share>> {
    let sql = format!(
        "SELECT {column}, sum(runs) FROM exec_summary WHERE runs > 0 GROUP BY {column} \
         ORDER BY 2 DESC, 1"
    );
    let mut st = conn.prepare(&sql)?;
    let rows = st.query_map([], |r| {
        let count: i64 = r.get(1)?;
        Ok(Share {
            name: r.get(0)?,
            count: count as u64,
            percent: if total > 0 {
                round(count as f64 * 100.0 / total as f64, 1)
            } else {
                0.0
            },
        })
    })?;
    rows.collect()
}

/// An empty report (no database yet).
pub fn empty_stats(db: &Path) -> Stats {
    Stats {
        database: db.display().to_string(),
        executions: 0,
        first_run: None,
        last_run: None,
        average_runtime_s: None,
        total_runtime_s: 0.0,
        unique_patterns: 0,
        stopped_early: 0,
        time_saved_s: 0.0,
        spool_backlog: spool::backlog(db),
        exit_reasons: Vec::new(),
        project_types: Vec::new(),
        categories: Vec::new(),
        patterns: Vec::new(),
        commands: Vec::new(),
    }
}

/// Statistics of the whole database.
pub fn stats(store: &Store) -> rusqlite::Result<Stats> {
    let conn = store.conn();
    let (runs, total_s, early, saved): (i64, f64, i64, f64) = conn.query_row(
        "SELECT coalesce(sum(runs), 0), coalesce(sum(total_s), 0), coalesce(sum(stopped_early), 0),
                coalesce(sum(time_saved_s), 0) FROM exec_summary WHERE runs > 0",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
    )?;
    let total = runs.max(0) as u64;
    // Two queries: SQLite answers a lone min() or max() from the index in O(log n), but scans
    // the whole index for both in one query.
    let first: Option<i64> =
        conn.query_row("SELECT min(started_at) FROM executions", [], |r| r.get(0))?;
    let last: Option<i64> =
        conn.query_row("SELECT max(started_at) FROM executions", [], |r| r.get(0))?;
    let mut patterns: Vec<PatternStat> = {
        let mut st = conn.prepare(
            "SELECT pattern, sum(runs), sum(matched) FROM exec_summary
             WHERE runs > 0 AND pattern <> '' GROUP BY pattern",
        )?;
        let rows = st.query_map([], |r| {
            let uses: i64 = r.get(1)?;
            let matches: i64 = r.get(2)?;
            Ok(PatternStat {
                pattern: r.get(0)?,
                uses: uses as u64,
                matches: matches as u64,
                rate: if uses > 0 {
                    round(matches as f64 / uses as f64, 3)
                } else {
                    0.0
                },
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    patterns.sort_by(|a, b| b.uses.cmp(&a.uses).then_with(|| a.pattern.cmp(&b.pattern)));
    let commands = {
        let mut st = conn.prepare(
            "SELECT command_key, runs, total_s FROM command_summary WHERE runs > 0
             ORDER BY runs DESC, command_key LIMIT 20",
        )?;
        let rows = st.query_map([], |r| {
            let runs: i64 = r.get(1)?;
            let t: f64 = r.get(2)?;
            Ok(CommandStat {
                command: r.get(0)?,
                runs: runs as u64,
                average_runtime_s: round(t / runs.max(1) as f64, 3),
            })
        })?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    Ok(Stats {
        database: store.path().display().to_string(),
        executions: total,
        first_run: first.map(iso_time),
        last_run: last.map(iso_time),
        average_runtime_s: (total > 0).then(|| round(total_s / total as f64, 3)),
        total_runtime_s: round(total_s, 3),
        unique_patterns: patterns.len() as u64,
        stopped_early: early.max(0) as u64,
        time_saved_s: round(saved.max(0.0), 3),
        spool_backlog: spool::backlog(store.path()),
        exit_reasons: shares(conn, "reason", total)?,
        project_types: shares(conn, "project_type", total)?,
        categories: shares(conn, "category", total)?,
        patterns,
        commands,
    })
}

/// Unix milliseconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// A duration for people: `850ms`, `4.2s`, `3m 05s`, `2h 07m`, `3d 4h`.
pub fn human_duration(s: f64) -> String {
    if !s.is_finite() || s <= 0.0 {
        return "0s".to_string();
    }
    if s < 1.0 {
        return format!("{}ms", (s * 1000.0).round() as u64);
    }
    if s < 60.0 {
        return format!("{s:.1}s");
    }
    let t = s.round() as u64;
    if t < 3600 {
        format!("{}m {:02}s", t / 60, t % 60)
    } else if t < 86_400 {
        format!("{}h {:02}m", t / 3600, t % 3600 / 60)
    } else {
        format!("{}d {}h", t / 86_400, t % 86_400 / 3600)
    }
}
