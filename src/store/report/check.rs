//! `ee telemetry check`: integrity, journal mode, foreign keys, size, row counts, spool backlog.

use std::path::Path;

use serde::Serialize;

use crate::store::db::Store;
use crate::store::spool;

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
        wal_bytes: size(&crate::store::files::with_suffix(path, "-wal")),
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
