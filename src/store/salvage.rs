//! A corrupt database: moved aside (never deleted), and what it still holds salvaged into the
//! new one, row range by row range, with the summaries rebuilt.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::db::{immediate, Store, StoreError};
use super::files::{lock_file, with_suffix};

impl Store {
    /// Move this (corrupt) database aside; returns where it went.
    pub fn quarantine(self) -> Result<Option<PathBuf>, StoreError> {
        let Store {
            conn, path, ino, ..
        } = self;
        drop(conn);
        quarantine(&path, ino)
    }

    /// Copy what can still be read from the corrupt database at `old` into this (new) one:
    /// every table the two share, row range by row range, skipping the ranges whose pages
    /// cannot be read; rows left pointing at lost executions are dropped and the summaries
    /// are rebuilt from the executions that were saved. Rows are read on a separate read-only
    /// connection (reopened after each failure) and inserted value by value, so nothing
    /// unchecked is copied.
    pub fn salvage(&mut self, old: &Path) -> Result<Salvaged, StoreError> {
        self.conn.execute_batch("PRAGMA foreign_keys=OFF")?;
        let r = self.salvage_inner(old);
        self.conn.execute_batch("PRAGMA foreign_keys=ON")?;
        r
    }

    fn salvage_inner(&mut self, old: &Path) -> Result<Salvaged, StoreError> {
        use rusqlite::OpenFlags;
        let open_old = || {
            Connection::open_with_flags(
                old,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
        };
        let mut src = open_old()?;
        let tables = salvage_tables(&self.conn)?;
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let cols = |c: &Connection, t: &str| -> Vec<String> {
            c.prepare(&format!("PRAGMA table_info({})", quote(t)))
                .and_then(|mut st| {
                    st.query_map([], |r| r.get::<_, String>(1))?
                        .collect::<rusqlite::Result<Vec<_>>>()
                })
                .unwrap_or_default()
        };
        let tx = immediate(&self.conn, self.wait)?;
        let mut out = Salvaged::default();
        let mut budget = 20_000u32;
        for (t, without_rowid) in &tables {
            let theirs = cols(&src, t);
            let common: Vec<String> = cols(&tx, t)
                .into_iter()
                .filter(|c| theirs.contains(c))
                .map(|c| quote(&c))
                .collect();
            if common.is_empty() {
                continue;
            }
            let list = common.join(", ");
            let marks = vec!["?"; common.len()].join(", ");
            let mut insert = tx.prepare(&format!(
                "INSERT OR IGNORE INTO main.{} ({list}) VALUES ({marks})",
                quote(t)
            ))?;
            let select = format!("SELECT {list} FROM {}", quote(t));
            let mut n = 0;
            let mut put = |rows: Vec<Vec<rusqlite::types::Value>>| -> rusqlite::Result<()> {
                for r in rows {
                    n += insert.execute(rusqlite::params_from_iter(r))?;
                }
                Ok(())
            };
            if *without_rowid {
                match read_rows(&src, &select, None) {
                    Ok(rows) => put(rows)?,
                    Err(_) => src = open_old()?,
                }
            } else {
                let ranged = format!("{select} WHERE rowid BETWEEN ?1 AND ?2");
                let bounds = src.query_row(
                    &format!("SELECT min(rowid), max(rowid) FROM {}", quote(t)),
                    [],
                    |r| Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?)),
                );
                let (lo, hi) = match bounds {
                    Ok((Some(lo), Some(hi))) => (lo, hi),
                    Ok(_) => continue,
                    Err(_) => {
                        src = open_old()?;
                        (i64::MIN / 4, i64::MAX / 4)
                    }
                };
                let mut pending = vec![(lo, hi)];
                while let Some((lo, hi)) = pending.pop() {
                    if budget == 0 {
                        break;
                    }
                    budget -= 1;
                    match read_rows(&src, &ranged, Some((lo, hi))) {
                        Ok(rows) => put(rows)?,
                        Err(_) => {
                            src = open_old()?;
                            if lo < hi {
                                let mid = lo + (hi - lo) / 2;
                                pending.push((mid + 1, hi));
                                pending.push((lo, mid));
                            }
                        }
                    }
                }
            }
            if t == "executions" {
                out.executions = n;
            } else if t.starts_with("learn_") {
                out.learned += n;
            }
        }
        drop_orphans(&tx)?;
        tx.execute_batch(REBUILD_SUMMARIES)?;
        tx.commit()?;
        Ok(out)
    }
}

/// The tables a salvage copies: every table of the new database, `executions` first (so the
/// rows that reference it find theirs), and whether each is `WITHOUT ROWID`.
fn salvage_tables(c: &Connection) -> rusqlite::Result<Vec<(String, bool)>> {
    let mut st = c.prepare(
        "SELECT name, sql LIKE '%WITHOUT ROWID%' FROM main.sqlite_master
         WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY name != 'executions', name",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect()
}

/// Delete the rows that point at executions (or other rows) that could not be saved.
fn drop_orphans(tx: &Connection) -> rusqlite::Result<()> {
    let orphans: Vec<(String, i64)> = {
        let mut st = tx.prepare("PRAGMA main.foreign_key_check")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get::<_, Option<i64>>(1)?)))?;
        rows.filter_map(|r| match r {
            Ok((t, Some(id))) => Some(Ok((t, id))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .collect::<rusqlite::Result<_>>()?
    };
    for (t, id) in orphans {
        tx.execute(
            &format!(
                "DELETE FROM main.\"{}\" WHERE rowid = ?1",
                t.replace('"', "\"\"")
            ),
            [id],
        )?;
    }
    Ok(())
}

/// All rows of `sql` (with the two rowid bounds, if given), or the first error.
fn read_rows(
    c: &Connection,
    sql: &str,
    range: Option<(i64, i64)>,
) -> rusqlite::Result<Vec<Vec<rusqlite::types::Value>>> {
    let mut st = c.prepare(sql)?;
    let n = st.column_count();
    let map = |r: &rusqlite::Row| {
        (0..n)
            .map(|i| r.get(i))
            .collect::<rusqlite::Result<Vec<_>>>()
    };
    let rows = match range {
        Some((lo, hi)) => st.query_map([lo, hi], map)?.collect(),
        None => st.query_map([], map)?.collect(),
    };
    rows
}

/// What [`Store::salvage`] saved.
#[derive(Debug, Default, Clone, Copy)]
pub struct Salvaged {
    pub executions: usize,
    pub learned: usize,
}

/// The summaries recomputed from the executions (after a salvage).
const REBUILD_SUMMARIES: &str = "
DELETE FROM main.exec_summary;
DELETE FROM main.command_summary;
INSERT INTO main.exec_summary (project_type, category, reason, pattern, runs, matched, total_s,
                               stopped_early, time_saved_s)
SELECT project_type, category, reason, coalesce(pattern, (SELECT group_concat(value, ' | ')
           FROM json_each(error_patterns)), '') AS label,
       count(*), sum(match_count > 0), sum(total_s), sum(stopped_early),
       sum(coalesce(time_saved_s, 0))
FROM main.executions GROUP BY project_type, category, reason, label;
INSERT INTO main.command_summary (command_key, runs, total_s, done_runs, done_s, last_at)
SELECT command_key, count(*), sum(total_s),
       sum(NOT stopped_early AND reason IN ('completed', 'no_match')),
       sum(CASE WHEN NOT stopped_early AND reason IN ('completed', 'no_match') THEN total_s
           ELSE 0 END), max(started_at)
FROM main.executions GROUP BY command_key;
";

/// Move a corrupt database (and its -wal/-shm files) aside, unless someone already replaced it
/// (its inode changed). Returns the new name of the database file.
pub(super) fn quarantine(path: &Path, ino: Option<u64>) -> Result<Option<PathBuf>, StoreError> {
    let lock = lock_file(path, ".lock")?;
    let _guard = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| StoreError::Io("cannot lock".into(), io::Error::from(e)))?;
    let current = fs::metadata(path).ok().map(|m| m.ino());
    if current.is_none() || (ino.is_some() && current != ino) {
        return Ok(None);
    }
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let dest = with_suffix(path, &format!(".corrupt-{stamp}-{}", std::process::id()));
    fs::rename(path, &dest)
        .map_err(|e| StoreError::Io(format!("cannot move {} aside", path.display()), e))?;
    for s in ["-wal", "-shm"] {
        let from = with_suffix(path, s);
        if from.exists() {
            let _ = fs::rename(&from, with_suffix(&dest, s));
        }
    }
    Ok(Some(dest))
}
