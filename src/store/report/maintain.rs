//! `ee telemetry prune` and `ee telemetry clear`.

use std::time::Duration;

use rusqlite::params;

use crate::store::db::{now_ms, Store, StoreError};
use crate::store::insert::delete_executions;
use crate::store::spool;

/// Delete executions older than `older_than` and/or beyond the newest `keep`, in batches (other
/// ee processes keep writing meanwhile). Returns the number deleted.
pub fn prune(
    store: &mut Store,
    older_than: Option<Duration>,
    keep: Option<u64>,
) -> Result<u64, StoreError> {
    let mut deleted = 0u64;
    if let Some(d) = older_than {
        let cutoff = now_ms() - d.as_millis().min(i64::MAX as u128) as i64;
        deleted += delete_in_batches(
            store,
            "SELECT id FROM executions WHERE started_at < ?1 ORDER BY started_at LIMIT ?2",
            cutoff,
        )?;
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
            deleted += delete_in_batches(
                store,
                "SELECT id FROM executions WHERE id < ?1 ORDER BY id LIMIT ?2",
                b,
            )?;
        }
    }
    Ok(deleted)
}

/// Delete the executions `select` picks (`?1` = `bound`, `?2` = the batch size), one batch per
/// transaction so other ee processes keep writing meanwhile; returns the number deleted.
fn delete_in_batches(store: &mut Store, select: &str, bound: i64) -> Result<u64, StoreError> {
    const BATCH: i64 = 5000;
    let mut deleted = 0u64;
    loop {
        let tx = store.write_tx()?;
        let n = delete_executions(&tx, select, params![bound, BATCH])?;
        tx.commit()?;
        deleted += n as u64;
        if (n as i64) < BATCH {
            return Ok(deleted);
        }
    }
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
