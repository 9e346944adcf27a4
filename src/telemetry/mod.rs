//! Telemetry: every run recorded in a local SQLite database (issue 3), the ground truth the
//! learning module builds on.
//!
//! Owns: where the database lives ([`db_path`]), recording a run ([`record`]: redaction, one
//! write transaction, spool on failure, one warning), the store ([`store`]: schema, migrations,
//! WAL, retention, corruption handling), the spool ([`spool`]), redaction ([`redact`]), the run
//! context ([`context`]: command key, project type, category) and the read side used by
//! `ee stats` / `ee telemetry` ([`report`]).

pub mod context;
pub mod entry;
pub mod redact;
pub mod report;
pub mod schema;
pub mod spool;
pub mod store;

use std::path::PathBuf;

use crate::outcome::Outcome;
use entry::Entry;
use store::{Store, StoreError};

/// The database path: `EARLYEXIT_DB`, else `<data dir>/earlyexit/telemetry.db`.
pub fn db_path() -> Option<PathBuf> {
    match std::env::var_os("EARLYEXIT_DB") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::data_dir().map(|d| d.join("earlyexit").join("telemetry.db")),
    }
}

/// Record a finished run. Never fails visibly: problems are reported once on stderr (unless
/// `quiet`) and the run is kept in the spool to be merged later.
pub fn record(outcome: &Outcome, quiet: bool) {
    let r = std::panic::catch_unwind(|| record_inner(outcome, quiet));
    if r.is_err() {
        crate::printer::note(quiet, "telemetry: internal error; run not recorded");
    }
}

fn record_inner(outcome: &Outcome, quiet: bool) {
    let entry = Entry::from_outcome(outcome);
    let Some(path) = db_path() else {
        crate::printer::note(
            quiet,
            &format!("telemetry: run not recorded: {}", StoreError::NoPath),
        );
        return;
    };
    let mut notices = Vec::new();
    let result = write(&path, &entry, &mut notices);
    match result {
        Ok(()) => {
            for n in notices {
                crate::printer::note(quiet, &format!("telemetry: {n}"));
            }
        }
        Err(e) => {
            let msg = match spool::append(&path, &entry) {
                Ok(sp) => format!(
                    "telemetry: cannot write {}: {e}; run kept in {} until the next successful write",
                    path.display(),
                    sp.display()
                ),
                Err(se) => format!(
                    "telemetry: cannot write {}: {e}; run not recorded (spool: {se})",
                    path.display()
                ),
            };
            crate::printer::note(quiet, &msg);
        }
    }
}

/// Open and insert; a database found corrupt while writing is moved aside and the write retried
/// once on a fresh one.
fn write(
    path: &std::path::Path,
    entry: &Entry,
    notices: &mut Vec<String>,
) -> Result<(), StoreError> {
    let mut store = Store::open(path)?;
    notices.append(&mut store.notices);
    match store.insert(entry) {
        Ok(_) => Ok(()),
        Err(e) if e.is_corrupt() => {
            if let Some(moved) = store.quarantine()? {
                notices.push(format!(
                    "the telemetry database was corrupt; moved it to {} and started a new one",
                    moved.display()
                ));
            }
            let mut store = Store::open(path)?;
            notices.append(&mut store.notices);
            store.insert(entry).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// True when telemetry is disabled for this process (`EARLYEXIT_NO_TELEMETRY=1`).
pub fn disabled_by_env() -> bool {
    std::env::var_os("EARLYEXIT_NO_TELEMETRY").is_some_and(|v| !v.is_empty() && v != "0")
}
