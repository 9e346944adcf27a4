//! The read and maintenance side of the store: statistics for `ee stats` (from the summary
//! tables, so it stays fast with a million executions), the health check, export, pruning,
//! clearing, and generating synthetic executions for benchmarks.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection};
use serde::Serialize;

use super::db::{delete_executions, now_ms, Store, StoreError};
use super::entry::Entry;
use super::spool;
use crate::cli::ExportFormat;

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

fn round(x: f64, places: i32) -> f64 {
    let m = 10f64.powi(places);
    (x * m).round() / m
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

/// Result of `ee telemetry check`.
#[derive(Debug, Serialize)]
pub struct Check {
    pub path: String,
    pub size_bytes: u64,
    pub wal_bytes: u64,
    pub journal_mode: String,
    pub foreign_keys: bool,
    pub user_version: i64,
    pub integrity: String,
    pub foreign_key_violations: u64,
    pub tables: Vec<(String, u64)>,
    pub spool_backlog: usize,
    pub merged_on_open: usize,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.integrity == "ok"
            && self.foreign_key_violations == 0
            && self.journal_mode == "wal"
            && self.foreign_keys
            && self.spool_backlog == 0
    }
}

/// Integrity, journal mode, foreign keys, size, row counts, spool backlog.
pub fn check(store: &Store) -> rusqlite::Result<Check> {
    let conn = store.conn();
    let path = store.path();
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let integrity: Vec<String> = {
        let mut st = conn.prepare("PRAGMA integrity_check")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let fk_violations = {
        let mut st = conn.prepare("PRAGMA foreign_key_check")?;
        let mut rows = st.query([])?;
        let mut n = 0u64;
        while rows.next()?.is_some() {
            n += 1;
        }
        n
    };
    let names: Vec<String> = {
        let mut st = conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name = 'executions' DESC, name = 'match_events' DESC, name",
        )?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut tables = Vec::new();
    for n in names {
        let c: i64 = conn.query_row(
            &format!("SELECT count(*) FROM \"{}\"", n.replace('"', "\"\"")),
            [],
            |r| r.get(0),
        )?;
        tables.push((n, c as u64));
    }
    Ok(Check {
        path: path.display().to_string(),
        size_bytes: size(path),
        wal_bytes: size(&super::db::with_suffix(path, "-wal")),
        journal_mode: conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
        foreign_keys: conn.query_row("PRAGMA foreign_keys", [], |r| r.get::<_, i64>(0))? == 1,
        user_version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        integrity: integrity.join("; "),
        foreign_key_violations: fk_violations,
        tables,
        spool_backlog: spool::backlog(path),
        merged_on_open: store.merged,
    })
}

fn json_value(v: ValueRef, json_col: bool) -> serde_json::Value {
    match v {
        ValueRef::Null => serde_json::Value::Null,
        ValueRef::Integer(i) => i.into(),
        ValueRef::Real(f) => {
            serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, |n| n.into())
        }
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if json_col {
                if let Ok(v) = serde_json::from_str(&s) {
                    return v;
                }
            }
            s.into_owned().into()
        }
        ValueRef::Blob(b) => String::from_utf8_lossy(b).into_owned().into(),
    }
}

fn csv_field(v: ValueRef) -> String {
    let s = match v {
        ValueRef::Null => return String::new(),
        ValueRef::Integer(i) => return i.to_string(),
        ValueRef::Real(f) => return f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

const JSON_COLUMNS: &[&str] = &[
    "success_patterns",
    "error_patterns",
    "exclude_patterns",
    "context",
];

/// Write every execution (oldest first): JSON lines with their match events, or CSV.
pub fn export(
    conn: &Connection,
    format: ExportFormat,
    out: &mut dyn Write,
) -> Result<u64, ExportError> {
    let csv = format == ExportFormat::Csv;
    // json: one document, an array of the jsonl objects (streamed, one per line).
    let array = format == ExportFormat::Json;
    let mut st = conn.prepare("SELECT * FROM executions ORDER BY id")?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut ev = conn.prepare(
        "SELECT kind, offset_s, stream, line_no, pattern, line, matched, context
         FROM match_events WHERE execution_id = ?1 ORDER BY id",
    )?;
    let ev_names: Vec<String> = ev.column_names().iter().map(|s| s.to_string()).collect();
    if csv {
        writeln!(out, "{}", names.join(","))?;
    }
    if array {
        out.write_all(b"[")?;
    }
    let mut rows = st.query([])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        if csv {
            let fields: Vec<String> = (0..names.len())
                .map(|i| r.get_ref(i).map(csv_field))
                .collect::<rusqlite::Result<_>>()?;
            writeln!(out, "{}", fields.join(","))?;
        } else {
            let mut obj = serde_json::Map::new();
            let mut id = 0;
            for (i, name) in names.iter().enumerate() {
                let v = r.get_ref(i)?;
                if name == "id" {
                    id = v.as_i64().unwrap_or(0);
                }
                obj.insert(
                    name.clone(),
                    json_value(v, JSON_COLUMNS.contains(&name.as_str())),
                );
            }
            let mut events = Vec::new();
            let mut er = ev.query(params![id])?;
            while let Some(e) = er.next()? {
                let mut o = serde_json::Map::new();
                for (i, name) in ev_names.iter().enumerate() {
                    o.insert(
                        name.clone(),
                        json_value(e.get_ref(i)?, JSON_COLUMNS.contains(&name.as_str())),
                    );
                }
                events.push(serde_json::Value::Object(o));
            }
            obj.insert("match_events".into(), events.into());
            if array {
                out.write_all(if n == 0 { b"\n" } else { b",\n" })?;
            }
            serde_json::to_writer(&mut *out, &obj).map_err(io::Error::from)?;
            if !array {
                out.write_all(b"\n")?;
            }
        }
        n += 1;
    }
    if array {
        out.write_all(if n == 0 { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush()?;
    Ok(n)
}

/// Export failure: the database or the output.
#[derive(Debug)]
pub enum ExportError {
    Db(rusqlite::Error),
    Io(io::Error),
}

impl From<rusqlite::Error> for ExportError {
    fn from(e: rusqlite::Error) -> Self {
        ExportError::Db(e)
    }
}

impl From<io::Error> for ExportError {
    fn from(e: io::Error) -> Self {
        ExportError::Io(e)
    }
}

/// Delete executions older than `older_than` and/or beyond the newest `keep`, in batches (other
/// ee processes keep writing meanwhile). Returns the number deleted.
pub fn prune(
    store: &mut Store,
    older_than: Option<Duration>,
    keep: Option<u64>,
) -> Result<u64, StoreError> {
    const BATCH: i64 = 5000;
    let mut deleted = 0u64;
    if let Some(d) = older_than {
        let cutoff = now_ms() - d.as_millis().min(i64::MAX as u128) as i64;
        loop {
            let tx = store.write_tx()?;
            let n = delete_executions(
                &tx,
                "SELECT id FROM executions WHERE started_at < ?1 ORDER BY started_at LIMIT ?2",
                params![cutoff, BATCH],
            )?;
            tx.commit()?;
            deleted += n as u64;
            if (n as i64) < BATCH {
                break;
            }
        }
    }
    if let Some(k) = keep {
        // The id of the oldest execution to keep.
        let boundary: Option<i64> = store
            .conn()
            .query_row(
                "SELECT id FROM executions ORDER BY id DESC LIMIT 1 OFFSET ?1",
                params![k.saturating_sub(1).min(i64::MAX as u64) as i64],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let boundary = match (k, boundary) {
            (0, _) => Some(i64::MAX),
            (_, b) => b,
        };
        if let Some(b) = boundary {
            loop {
                let tx = store.write_tx()?;
                let n = delete_executions(
                    &tx,
                    "SELECT id FROM executions WHERE id < ?1 ORDER BY id LIMIT ?2",
                    params![b, BATCH],
                )?;
                tx.commit()?;
                deleted += n as u64;
                if (n as i64) < BATCH {
                    break;
                }
            }
        }
    }
    Ok(deleted)
}

/// Delete all recorded data (every table, learned aggregates included) and the spool; returns
/// the number of executions there were.
pub fn clear(store: &mut Store) -> Result<u64, StoreError> {
    let conn = store.conn_mut();
    conn.execute_batch("PRAGMA foreign_keys = OFF")?;
    let r = (|| -> Result<u64, StoreError> {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let n: i64 = tx.query_row("SELECT count(*) FROM executions", [], |r| r.get(0))?;
        let names: Vec<String> = {
            let mut st = tx.prepare(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )?;
            let rows = st.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for name in names {
            tx.execute(
                &format!("DELETE FROM \"{}\"", name.replace('"', "\"\"")),
                [],
            )?;
        }
        tx.commit()?;
        Ok(n as u64)
    })();
    conn.execute_batch("PRAGMA foreign_keys = ON")?;
    let n = r?;
    // Give the space back; another process holding a read lock only delays this.
    let _ = conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);");
    let db = store.path().to_path_buf();
    let _ = std::fs::remove_file(spool::spool_path(&db));
    let _ = std::fs::remove_file(spool::merging_path(&db));
    Ok(n)
}

/// Small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Insert `count` synthetic executions that look like a developer's history (no match events),
/// spread over the last 300 days, in batches of 10,000 per transaction. For benchmarks.
pub fn generate(
    store: &mut Store,
    rec: super::db::Recorder,
    count: u64,
    mut progress: impl FnMut(u64),
) -> Result<u64, StoreError> {
    const COMMANDS: &[(&str, &str, &str, f64)] = &[
        ("cargo test --release", "/home/dev/src/engine", "rust", 40.0),
        ("cargo build", "/home/dev/src/engine", "rust", 25.0),
        (
            "cargo clippy --all-targets",
            "/home/dev/src/engine",
            "rust",
            12.0,
        ),
        ("npm run build", "/home/dev/src/webapp", "nodejs", 30.0),
        ("npm test", "/home/dev/src/webapp", "nodejs", 20.0),
        (
            "npx jest --ci",
            "/home/dev/src/webapp/packages/ui",
            "nodejs",
            18.0,
        ),
        (
            "pytest -x tests/",
            "/home/dev/src/analytics",
            "python",
            35.0,
        ),
        (
            "python3 -m pytest -q",
            "/home/dev/src/analytics",
            "python",
            35.0,
        ),
        (
            "pip install -r requirements.txt",
            "/home/dev/src/analytics",
            "python",
            50.0,
        ),
        ("go test ./...", "/home/dev/src/gateway", "go", 22.0),
        ("go build ./cmd/gateway", "/home/dev/src/gateway", "go", 9.0),
        ("make -j8", "/home/dev/src/firmware", "c/c++", 60.0),
        ("make test", "/home/dev/src/firmware", "c/c++", 45.0),
        ("terraform plan", "/home/dev/infra/prod", "terraform", 25.0),
        (
            "terraform apply -auto-approve",
            "/home/dev/infra/prod",
            "terraform",
            120.0,
        ),
        (
            "docker build -t app .",
            "/home/dev/src/webapp",
            "nodejs",
            90.0,
        ),
        (
            "kubectl rollout status deploy/app",
            "/home/dev/infra/k8s",
            "unknown",
            45.0,
        ),
        ("mvn -q test", "/home/dev/src/billing", "java", 80.0),
        (
            "./scripts/deploy.sh staging",
            "/home/dev/src/webapp",
            "nodejs",
            150.0,
        ),
        ("ruff check .", "/home/dev/src/analytics", "python", 1.5),
    ];
    const PATTERNS: &[Option<&str>] = &[
        None,
        None,
        Some("error|FAILED"),
        Some("(?i)error"),
        Some("panicked at|error\\["),
        Some("FAIL|Error:"),
        Some("Traceback|ERROR"),
        Some("npm ERR!"),
        Some("Error:"),
        Some("BUILD FAILURE"),
        Some("listening on"),
    ];
    const REASONS: &[(&str, u64)] = &[
        ("completed", 45),
        ("no_match", 20),
        ("match", 8),
        ("error_match", 12),
        ("success_match", 4),
        ("timeout", 4),
        ("idle_timeout", 2),
        ("stuck", 1),
        ("interrupted", 3),
        ("output_closed", 1),
    ];
    let weight: u64 = REASONS.iter().map(|r| r.1).sum();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ count);
    let now = now_ms();
    let span = 300 * 86_400_000i64;
    let mut done = 0u64;
    while done < count {
        let batch = (count - done).min(10_000);
        let tx = store.write_tx()?;
        for i in 0..batch {
            let n = done + i;
            let (cmd, cwd, ptype, mean) = COMMANDS[rng.below(COMMANDS.len() as u64) as usize];
            let pattern = PATTERNS[rng.below(PATTERNS.len() as u64) as usize];
            let mut pick = rng.below(weight);
            let mut reason = "completed";
            for (r, w) in REASONS {
                if pick < *w {
                    reason = r;
                    break;
                }
                pick -= w;
            }
            if pattern.is_none() && matches!(reason, "match" | "no_match" | "error_match") {
                reason = "completed";
            }
            let early = !matches!(reason, "completed" | "no_match");
            let factor = if early {
                0.1 + 0.4 * rng.unit()
            } else {
                0.7 + 0.6 * rng.unit()
            };
            let total = mean * factor;
            let matched = matches!(reason, "match" | "error_match" | "success_match");
            let argv = shell_words::split(cmd).unwrap_or_default();
            let key = crate::context::command_key(&argv);
            let e = Entry {
                uid: String::new(),
                started_ms: now - span
                    + (span as f64 * (n as f64 + 1.0) / (count as f64 + 1.0)) as i64,
                mode: if pattern.is_some() { "command" } else { "run" }.to_string(),
                command: cmd.to_string(),
                program: crate::context::program(&argv),
                category: crate::context::category(&key).to_string(),
                key,
                argv,
                cwd: cwd.to_string(),
                project_type: ptype.to_string(),
                root: cwd.to_string(),
                pattern: pattern.map(str::to_string),
                success_patterns: Vec::new(),
                error_patterns: Vec::new(),
                exclude_patterns: Vec::new(),
                flags: String::new(),
                pattern_learned: false,
                timeout_s: (rng.below(4) == 0).then_some(300.0),
                idle_timeout_s: None,
                first_output_timeout_s: None,
                delay_exit_s: 10.0,
                timeout_learned: false,
                exit_code: match reason {
                    "completed" | "no_match" | "success_match" => 0,
                    "match" | "error_match" => 1,
                    "interrupted" => 130,
                    "output_closed" => 141,
                    _ => 124,
                },
                child_exit: (!early).then_some(0),
                child_signal: early.then_some(15),
                reason: reason.to_string(),
                signal: (reason == "interrupted").then_some(2),
                total_s: round(total, 3),
                first_output_s: Some(round(0.05 + rng.unit(), 3)),
                first_match_s: matched.then(|| round(total * 0.9, 3)),
                match_count: if matched { 1 + rng.below(3) } else { 0 },
                stdout_lines: rng.below(2000),
                stdout_bytes: rng.below(200_000),
                stderr_lines: rng.below(100),
                stderr_bytes: rng.below(8_000),
                stopped_early: early,
                detached: false,
                events: Vec::new(),
            };
            rec(&tx, &e)?;
        }
        tx.commit()?;
        done += batch;
        progress(done);
    }
    Ok(done)
}
