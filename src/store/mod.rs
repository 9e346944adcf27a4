//! Telemetry: every run kept in a local SQLite database (issue 3), the ground truth the
//! learning module builds on. The store never calls learning: `app::record` runs both in one
//! write transaction.
//!
//! Owns: where the database lives ([`db_path`]), the store opened on a thread (on another CPU)
//! while the command starts and runs ([`prepare`]; `ee run`'s lookup made there through the
//! application's [`Hooks`] and answered with [`take_looked`], or made with [`with_lookup`];
//! taken over by the recording with [`take_pending`]), SQLite's process-wide settings
//! ([`db::configure`]), the
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

/// What the store thread is told once the command is known.
struct Job {
    argv: Vec<String>,
    /// `ee run`: also look up what was learned, and send it back first.
    lookup: bool,
}

/// `ee run`'s lookup of what was learned, made on the store thread: the application's type (the
/// store does not know learning), see [`Hooks`].
pub type Looked = Box<dyn std::any::Any + Send>;

/// The store being opened for this process's run: on a thread started while the command runs
/// ([`prepare`]), or already open from `ee run`'s lookup ([`with_lookup`]) or an earlier record.
enum Pending {
    Opening {
        thread: std::thread::JoinHandle<Result<Store, StoreError>>,
        /// Where to send the command once it is known (taken when sent).
        job: Option<std::sync::mpsc::Sender<Job>>,
        /// Where the thread answers `ee run`'s lookup (taken by [`take_looked`]).
        looked: Option<std::sync::mpsc::Receiver<Option<Looked>>>,
    },
    Open(Result<Store, StoreError>),
}

static PENDING: std::sync::Mutex<Option<Pending>> = std::sync::Mutex::new(None);

/// The store opened for this process's run, if one was started ([`prepare`]) or used for the
/// lookup ([`with_lookup`]): the recording takes it over.
pub fn take_pending() -> Option<Result<Store, StoreError>> {
    let p = PENDING.lock().ok()?.take()?;
    match p {
        Pending::Open(r) => Some(r),
        // Dropping the sender first: the thread no longer waits for the command.
        Pending::Opening { thread, job, .. } => {
            drop(job);
            thread.join().ok()
        }
    }
}

/// `ee run`'s lookup made on the store thread ([`prepare`] with `lookup`), once it is done; None
/// when no thread was asked, or it could not look (the caller then looks up itself).
pub fn take_looked() -> Option<Looked> {
    let rx = match PENDING.lock().ok()?.as_mut()? {
        Pending::Opening { looked, .. } => looked.take()?,
        Pending::Open(_) => return None,
    };
    rx.recv().ok().flatten()
}

/// Leave the store open until the process ends, which comes next: closing only finalizes the
/// prepared statements and frees the connection (checkpoints are off on close, the WAL already
/// holds the commit), a fifth of the recording's work after the command ended (issue 16).
pub fn keep(store: Store) {
    std::mem::forget(store);
}

/// Start opening the store on a thread, so that opening, reading the schema and preparing
/// overlap with the command; only the insert and the commit remain after it ends. With the
/// command words (`argv`), the thread also prepares the statements the learning update reads and
/// writes with, for the command's scopes; with `lookup` (`ee run`), it first looks up what was
/// learned and answers at once ([`take_looked`]), then prepares the rest while the command runs.
/// The thread blocks all signals (they are the supervisor's business).
pub fn prepare(argv: &[std::ffi::OsString], lookup: bool) {
    let job = || Job {
        argv: argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        lookup,
    };
    let Ok(mut slot) = PENDING.lock() else {
        return;
    };
    match slot.as_mut() {
        // Started early (see `prepare_early`): tell it the command.
        Some(Pending::Opening { job: tx, .. }) => {
            if let Some(tx) = tx.take() {
                if !argv.is_empty() {
                    let _ = tx.send(job());
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
        let _ = tx.send(job());
    }
    if let Some(p) = spawn_open(path, rx, None) {
        *slot = Some(p);
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
    if let Some(p) = spawn_open(path, rx, Some(tx)) {
        *slot = Some(p);
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

/// The store thread: open, then (once told the command on `rx`) look up and prepare; see
/// [`prepare`]. `job`: where the command is to be sent later (None: already sent).
fn spawn_open(
    path: PathBuf,
    rx: std::sync::mpsc::Receiver<Job>,
    job: Option<std::sync::mpsc::Sender<Job>>,
) -> Option<Pending> {
    let (looked_tx, looked_rx) = std::sync::mpsc::channel();
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
            if let Ok(job) = rx.recv() {
                run_hooks(&store, &job, looked_tx);
            }
            store.warm();
            Ok(store)
        })
        .ok()
        .inspect(elsewhere)
        .map(|thread| Pending::Opening {
            thread,
            job,
            looked: Some(looked_rx),
        })
}

/// On the store thread, in one read transaction: `ee run`'s lookup, answered at once (a lookup
/// that panics answers "none", and `ee run` then looks up itself), then the statements the
/// learning update reads and writes with, prepared into the connection's cache.
fn run_hooks(store: &Store, job: &Job, looked: std::sync::mpsc::Sender<Option<Looked>>) {
    let Some(hooks) = HOOKS.get() else {
        return;
    };
    in_one_read(store.conn(), || {
        if job.lookup {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                (hooks.lookup)(store.conn(), &job.argv)
            }));
            let _ = looked.send(r.ok());
        }
        drop(looked);
        (hooks.warm)(store, &job.argv, job.lookup);
    });
}

/// Let the store thread run on another CPU than the one ee's main thread is on. Linux places a
/// new thread on its creator's CPU, and while the creator keeps running (parsing the command
/// line, starting the command) the thread waits there, however idle the other CPUs are: the
/// open then overlaps nothing (measured on the 2-core machine: the thread's first instruction
/// ran only when the main thread blocked, 300 µs later). Only this thread's own affinity
/// changes (it starts no process); the command inherits ee's, untouched.
fn elsewhere<T>(h: &std::thread::JoinHandle<T>) {
    use nix::libc;
    use std::os::unix::thread::JoinHandleExt;
    let size = std::mem::size_of::<libc::cpu_set_t>();
    // SAFETY: plain calls on a zeroed cpu_set_t of the right size and a live thread's handle.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, size, &mut set) != 0 {
            return;
        }
        let here = libc::sched_getcpu();
        if here < 0 || libc::CPU_COUNT(&set) < 2 || !libc::CPU_ISSET(here as usize, &set) {
            return;
        }
        libc::CPU_CLR(here as usize, &mut set);
        libc::pthread_setaffinity_np(h.as_pthread_t(), size, &set);
    }
}

/// What the store thread runs for the application once the command is known (set before
/// [`prepare_early`]; the store does not know the learning module).
pub struct Hooks {
    /// `ee run`'s lookup of what was learned for the command, on the thread's connection.
    pub lookup: fn(&rusqlite::Connection, &[String]) -> Looked,
    /// Prepare what the learning update reads and writes with for the command's scopes; `read`:
    /// the lookup already prepared (and ran) the reads.
    pub warm: fn(&Store, &[String], bool),
}

pub static HOOKS: std::sync::OnceLock<Hooks> = std::sync::OnceLock::new();

/// Wait for a store still being opened on a thread (started by [`prepare_early`] for a command
/// line that then did not record): the process must not end in the middle of an open.
pub fn settle() {
    let pending = PENDING.lock().ok().and_then(|mut s| {
        if matches!(s.as_ref(), Some(Pending::Opening { .. })) {
            s.take()
        } else {
            None
        }
    });
    if let Some(Pending::Opening { thread, job, .. }) = pending {
        drop(job);
        let _ = thread.join();
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
