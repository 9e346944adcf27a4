//! Telemetry: every run recorded in a local SQLite database (issue 3), the ground truth the
//! learning module builds on.
//!
//! Owns: where the database lives ([`db_path`]), recording a run ([`record`]: redaction, one
//! write transaction on a store opened on a thread while the command runs ([`prepare`],
//! [`with_lookup`]), spool at once when locked, spool and one warning on failure), the store
//! ([`store`]: schema, migrations, WAL, retention, corruption handling), the spool ([`spool`]), redaction ([`redact`]), the run
//! context ([`context`]: command key, project type, category) and the read side used by
//! `ee stats` / `ee telemetry` ([`report`]).

pub mod db;
pub mod entry;
pub mod migrations;
pub mod redact;
pub mod report;
pub mod schema;
pub mod spool;

use std::path::PathBuf;

use crate::engine::outcome::Outcome;
use db::{Store, StoreError};
use entry::Entry;

/// The database path: `EARLYEXIT_DB`, else `<data dir>/earlyexit/telemetry.db`.
pub fn db_path() -> Option<PathBuf> {
    match std::env::var_os("EARLYEXIT_DB") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => dirs::data_dir().map(|d| d.join("earlyexit").join("telemetry.db")),
    }
}

/// The store being opened for this process's run: on a thread started while the command runs
/// ([`prepare`]), or already open from `ee run`'s lookup ([`with_lookup`]).
enum Pending {
    Opening(std::thread::JoinHandle<Result<Store, StoreError>>),
    Open(Result<Store, StoreError>),
}

static PENDING: std::sync::Mutex<Option<Pending>> = std::sync::Mutex::new(None);

fn take_pending() -> Option<Result<Store, StoreError>> {
    let p = PENDING.lock().ok()?.take()?;
    match p {
        Pending::Open(r) => Some(r),
        Pending::Opening(h) => h.join().ok(),
    }
}

/// Start opening the store on a thread, so that opening, reading the schema and preparing
/// overlap with the command; only the insert and the commit remain after it ends. The thread
/// blocks all signals (they are the supervisor's business).
pub fn prepare() {
    let Ok(mut slot) = PENDING.lock() else {
        return;
    };
    if slot.is_some() {
        return;
    }
    let Some(path) = db_path() else {
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("ee-store".into())
        .spawn(move || {
            let all = nix::sys::signal::SigSet::all();
            let _ = nix::sys::signal::pthread_sigmask(
                nix::sys::signal::SigmaskHow::SIG_BLOCK,
                Some(&all),
                None,
            );
            Store::open_for_run(&path)
        });
    if let Ok(h) = spawned {
        *slot = Some(Pending::Opening(h));
    }
}

/// `ee run`'s lookup of what was learned: with telemetry on, on the store that will record the
/// run (one connection for both); with it off, on a lookup connection that creates nothing.
pub fn with_lookup<R>(record: bool, f: impl FnOnce(Option<&rusqlite::Connection>) -> R) -> R {
    if !record || disabled_by_env() {
        let conn = db::open_lookup(std::time::Duration::from_millis(200));
        return f(conn.as_ref());
    }
    // Opened on a thread since `ee run` started (see `prepare`), else now.
    let opened = match take_pending() {
        Some(r) => r,
        None => match db_path() {
            Some(p) => Store::open_for_run(&p),
            None => Err(StoreError::NoPath),
        },
    };
    let r = match &opened {
        Ok(s) => f(Some(s.conn())),
        // Cannot be opened for writing: what was learned can still be read.
        Err(_) => {
            let conn = db::open_lookup(std::time::Duration::from_millis(200));
            f(conn.as_ref())
        }
    };
    if let Ok(mut slot) = PENDING.lock() {
        *slot = Some(Pending::Open(opened));
    }
    r
}

/// Record a finished run. Never fails visibly: problems are reported once on stderr (unless
/// `quiet`) and the run is kept in the spool to be merged later.
pub fn record(outcome: &Outcome, quiet: bool) {
    let r = std::panic::catch_unwind(|| record_inner(outcome, quiet));
    if r.is_err() {
        crate::engine::printer::note(quiet, "telemetry: internal error; run not recorded");
    }
}

fn record_inner(outcome: &Outcome, quiet: bool) {
    let entry = Entry::from_outcome(outcome);
    let opened = take_pending();
    let Some(path) = db_path() else {
        crate::engine::printer::note(
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
        if !db::repair_side_files(&path).is_empty() {
            result = write(&path, &entry, None, &mut notices);
        }
    }
    for n in notices {
        crate::engine::printer::note(quiet, &format!("telemetry: {n}"));
    }
    match result {
        Ok(()) => db::spawn_maintenance(&path, false),
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
                crate::engine::printer::note(quiet && !m.contains("WARNING"), &m);
            }
            if busy {
                db::spawn_maintenance(&path, true);
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
    match store.insert(entry) {
        Ok(_) => Ok(()),
        Err(e) if e.is_corrupt() => {
            let moved = store.quarantine()?;
            let mut store = Store::open_for_run(path)?;
            notices.append(&mut store.notices);
            if let Some(m) = moved {
                notices.push(store.salvage_note(&m));
            }
            store.insert(entry).map(|_| ())
        }
        Err(e) => Err(e),
    }
}

/// True when telemetry is disabled for this process (`EARLYEXIT_NO_TELEMETRY=1`).
pub fn disabled_by_env() -> bool {
    std::env::var_os("EARLYEXIT_NO_TELEMETRY").is_some_and(|v| !v.is_empty() && v != "0")
}
