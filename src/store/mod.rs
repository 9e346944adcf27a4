//! Telemetry: every run kept in a local SQLite database (issue 3), the ground truth the
//! learning module builds on. The store never calls learning: `app::record` runs both in one
//! write transaction.
//!
//! Owns: where the database lives ([`db_path`]), the store opened on a thread while the command
//! runs ([`prepare`], [`with_lookup`], taken over by the recording with [`take_pending`]), the
//! store itself ([`db`]: open, WAL, migrations run, lookups; [`insert`]: a run's rows and
//! retention; [`files`]: the database's directory, modes and lock files; [`checkpoint`]: the
//! background checkpoint and spool merge; `salvage`: a corrupt database), the ordered
//! migrations of every table ([`migrations`]), the stored form of a run ([`entry`]), the spool
//! ([`spool`]), redaction ([`redact`]) and the read side used by `ee stats` / `ee telemetry`
//! ([`report`]).

pub mod checkpoint;
pub mod db;
pub mod entry;
pub mod files;
pub mod insert;
pub mod migrations;
pub mod report;
mod salvage;
pub mod schema;
pub mod spool;

use std::path::PathBuf;

use db::{Store, StoreError};

pub use crate::paths::db_path;

/// The store being opened for this process's run: on a thread started while the command runs
/// ([`prepare`]), or already open from `ee run`'s lookup ([`with_lookup`]) or an earlier record.
enum Pending {
    /// The thread, and where to send it the command words once they are known: with them it
    /// also prepares the learning lookup's statements (see [`prepare`]).
    Opening(
        std::thread::JoinHandle<Result<Store, StoreError>>,
        Option<std::sync::mpsc::Sender<Vec<String>>>,
    ),
    Open(Result<Store, StoreError>),
}

static PENDING: std::sync::Mutex<Option<Pending>> = std::sync::Mutex::new(None);

/// The store opened for this process's run, if one was started ([`prepare`]) or used for the
/// lookup ([`with_lookup`]): the recording takes it over.
pub fn take_pending() -> Option<Result<Store, StoreError>> {
    let p = PENDING.lock().ok()?.take()?;
    match p {
        Pending::Open(r) => Some(r),
        // Dropping the sender first: the thread no longer waits for command words.
        Pending::Opening(h, tx) => {
            drop(tx);
            h.join().ok()
        }
    }
}

/// Leave the store open until the process ends, which comes next: closing only finalizes the
/// prepared statements and frees the connection (checkpoints are off on close, the WAL already
/// holds the commit), a fifth of the recording's work after the command ended (issue 16).
pub fn keep(store: Store) {
    std::mem::forget(store);
}

/// Start opening the store on a thread, so that opening, reading the schema and preparing
/// overlap with the command; only the insert and the commit remain after it ends. With the
/// command words (`argv`), the thread also prepares the statements the learning update (and
/// `ee run`'s lookup) reads with, for the command's scopes. The thread blocks all signals (they
/// are the supervisor's business).
pub fn prepare(argv: &[std::ffi::OsString]) {
    let words = || {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    };
    let Ok(mut slot) = PENDING.lock() else {
        return;
    };
    match slot.as_mut() {
        // Started early (see `prepare_early`): hand it the command words.
        Some(Pending::Opening(_, tx)) => {
            if let Some(tx) = tx.take() {
                if !argv.is_empty() {
                    let _ = tx.send(words());
                }
            }
            return;
        }
        Some(Pending::Open(_)) => return,
        None => {}
    }
    let Some(path) = db_path() else {
        return;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    if !argv.is_empty() {
        let _ = tx.send(words());
    }
    if let Some(h) = spawn_open(path, rx) {
        *slot = Some(Pending::Opening(h, None));
    }
}

/// Start opening the store before the arguments are parsed, for a command line that plainly
/// runs a command with telemetry on (`ee run -- CMD`, `ee -- CMD`, `ee [OPTIONS] PATTERN`): the
/// open then overlaps clap's parsing too. Only an existing database is opened this way (a failed
/// parse must not create one), and nothing is written; [`settle`] joins it before exit.
pub fn prepare_early(args: &[std::ffi::OsString]) {
    if disabled_by_env() || !plainly_records(args) {
        return;
    }
    let Some(path) = db_path() else {
        return;
    };
    if !path.is_file() {
        return;
    }
    let Ok(mut slot) = PENDING.lock() else {
        return;
    };
    if slot.is_some() {
        return;
    }
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(h) = spawn_open(path, rx) {
        *slot = Some(Pending::Opening(h, Some(tx)));
    }
}

/// True for argument lists that surely record a run if they parse: the grep face or `ee run`,
/// with none of the options that turn telemetry off or run nothing, here or in
/// `EARLYEXIT_OPTIONS` (any doubt: false, and the store is opened after parsing as before).
fn plainly_records(args: &[std::ffi::OsString]) -> bool {
    let Some(first) = args.get(1).and_then(|a| a.to_str()) else {
        return false;
    };
    let start = if first == "run" {
        2
    } else if crate::cli::SUBCOMMANDS.contains(&first) {
        return false;
    } else {
        1
    };
    let spoils = |w: &str| {
        w.starts_with("--no-telemetry")
            || w.starts_with("--dry-run")
            || w.starts_with("--help")
            || w.starts_with("--version")
            || w.starts_with("--test-pattern")
            || w.starts_with("--list-profiles")
            || w.starts_with("--complete")
            || (w.starts_with('-') && !w.starts_with("--") && (w.contains('h') || w.contains('V')))
    };
    if let Some(env) = std::env::var_os("EARLYEXIT_OPTIONS") {
        let env = env.to_string_lossy();
        if env.split_whitespace().any(spoils) {
            return false;
        }
    }
    for a in &args[start..] {
        let Some(w) = a.to_str() else {
            return false;
        };
        if w == "--" {
            return true;
        }
        if spoils(w) {
            return false;
        }
    }
    true
}

fn spawn_open(
    path: PathBuf,
    rx: std::sync::mpsc::Receiver<Vec<String>>,
) -> Option<std::thread::JoinHandle<Result<Store, StoreError>>> {
    std::thread::Builder::new()
        .name("ee-store".into())
        .spawn(move || {
            let all = nix::sys::signal::SigSet::all();
            let _ = nix::sys::signal::pthread_sigmask(
                nix::sys::signal::SigmaskHow::SIG_BLOCK,
                Some(&all),
                None,
            );
            let store = Store::open_for_run(&path)?;
            if let Ok(argv) = rx.recv() {
                in_one_read(store.conn(), || warm_learning(&store, &argv));
            }
            Ok(store)
        })
        .ok()
}

/// Prepare (into the connection's statement cache) what the learning update and lookup read
/// with for this command's scopes, by reading them once: parsing those statements is most of
/// the work left after the command ends otherwise.
fn warm_learning(store: &Store, argv: &[String]) {
    if let Some(warm) = WARM.get() {
        warm(store, argv);
    }
}

/// What [`warm_learning`] runs: set by the application (the store does not know the learning
/// module's statements), before [`prepare_early`].
pub static WARM: std::sync::OnceLock<fn(&Store, &[String])> = std::sync::OnceLock::new();

/// Wait for a store still being opened on a thread (started by [`prepare_early`] for a command
/// line that then did not record): the process must not end in the middle of an open.
pub fn settle() {
    let pending = PENDING.lock().ok().and_then(|mut s| {
        if matches!(s.as_ref(), Some(Pending::Opening(..))) {
            s.take()
        } else {
            None
        }
    });
    if let Some(Pending::Opening(h, tx)) = pending {
        drop(tx);
        let _ = h.join();
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
        Ok(s) => in_one_read(s.conn(), || f(Some(s.conn()))),
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

/// Run the lookup's reads in one read transaction: one shared lock and one look at the
/// write-ahead log's index for all of them, instead of one per statement.
fn in_one_read<R>(conn: &rusqlite::Connection, f: impl FnOnce() -> R) -> R {
    let began = conn.is_autocommit() && conn.execute_batch("BEGIN DEFERRED").is_ok();
    let r = f();
    if began {
        let _ = conn.execute_batch("COMMIT");
    }
    r
}

/// True when telemetry is disabled for this process (`EARLYEXIT_NO_TELEMETRY=1`).
pub fn disabled_by_env() -> bool {
    crate::paths::telemetry_disabled()
}
