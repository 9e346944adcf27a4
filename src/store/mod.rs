//! Telemetry: every run kept in a local SQLite database (issue 3), the ground truth the
//! learning module builds on. The store never calls learning: `app::record` runs both in one
//! write transaction.
//!
//! Owns: where the database lives ([`db_path`]), the store opened on a thread while the command
//! runs ([`prepare`], [`with_lookup`], taken over by the recording with [`take_pending`]), the
//! store itself ([`db`]: open, WAL, insert, retention, corruption handling), the ordered
//! migrations of every table ([`migrations`]), the stored form of a run ([`entry`]), the spool
//! ([`spool`]), redaction ([`redact`]) and the read side used by `ee stats` / `ee telemetry`
//! ([`report`]).

pub mod db;
pub mod entry;
pub mod migrations;
pub mod report;
pub mod schema;
pub mod spool;

use db::{Store, StoreError};

pub use crate::paths::db_path;

/// The store being opened for this process's run: on a thread started while the command runs
/// ([`prepare`]), or already open from `ee run`'s lookup ([`with_lookup`]).
enum Pending {
    Opening(std::thread::JoinHandle<Result<Store, StoreError>>),
    Open(Result<Store, StoreError>),
}

static PENDING: std::sync::Mutex<Option<Pending>> = std::sync::Mutex::new(None);

/// The store opened for this process's run, if one was started ([`prepare`]) or used for the
/// lookup ([`with_lookup`]): the recording takes it over.
pub fn take_pending() -> Option<Result<Store, StoreError>> {
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

/// True when telemetry is disabled for this process (`EARLYEXIT_NO_TELEMETRY=1`).
pub fn disabled_by_env() -> bool {
    crate::paths::telemetry_disabled()
}
