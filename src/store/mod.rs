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

fn take_pending() -> Option<Result<Store, StoreError>> {
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
fn keep(store: Store) {
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
                warm_learning(&store, &argv);
            }
            Ok(store)
        })
        .ok()
}

/// Prepare (into the connection's statement cache) what the learning update and lookup read
/// with for this command's scopes, by reading them once: parsing those statements is most of
/// the work left after the command ends otherwise.
fn warm_learning(store: &Store, argv: &[String]) {
    let cwd = std::env::current_dir().unwrap_or_default();
    let ctx = crate::context::RunContext::new(argv, &cwd);
    if ctx.program.is_empty() {
        return;
    }
    let scopes = crate::learn::aggregates::scopes(&ctx);
    let _ = crate::learn::aggregates::load(store.conn(), &scopes);
}

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
        Ok(_) => {
            keep(store);
            Ok(())
        }
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
