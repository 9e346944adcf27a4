//! The SQLite store: opening (WAL switched on only when not already on, BUSY retried, a corrupt
//! file moved aside and salvaged), schema migrations inside `BEGIN IMMEDIATE` with
//! `user_version` re-checked, foreign keys on, the lock wait and retention settings, and the
//! read-only lookup connection. Its neighbours: `files` (directory, modes, lock files),
//! `insert` (a run's rows, retention), `checkpoint` (background log checkpoint and spool
//! merge), `salvage` (a corrupt database).

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, ErrorCode, Transaction, TransactionBehavior};

use super::entry::Entry;
use super::files::prepare_files;
use super::migrations;
use super::salvage::quarantine;
use super::spool;

/// Default number of executions kept (the newest), when `EARLYEXIT_TELEMETRY_KEEP` is unset.
pub const DEFAULT_KEEP: u64 = 250_000;
/// Default age limit in days, when `EARLYEXIT_TELEMETRY_KEEP_DAYS` is unset.
pub const DEFAULT_KEEP_DAYS: u64 = 365;
/// WAL size beyond which a background checkpoint is started (about 64 pages).
pub const CHECKPOINT_BYTES: u64 = 64 * 4120;
/// Default lock wait, when `EARLYEXIT_DB_TIMEOUT` (seconds) is unset.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the store could not be used.
#[derive(Debug)]
pub enum StoreError {
    /// No database path (no data directory and no `EARLYEXIT_DB`).
    NoPath,
    Io(String, io::Error),
    Sqlite(rusqlite::Error),
    /// The database file is not a database or is corrupt (its inode, when known).
    Corrupt(Option<u64>, rusqlite::Error),
    /// The journal mode could not be set to WAL.
    JournalMode(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::NoPath => write!(
                f,
                "no data directory (HOME unset?) and EARLYEXIT_DB not set"
            ),
            StoreError::Io(what, e) => write!(f, "{what}: {e}"),
            StoreError::Sqlite(e) => write!(f, "{}", sqlite_msg(e)),
            StoreError::Corrupt(_, e) => write!(f, "corrupt database: {}", sqlite_msg(e)),
            StoreError::JournalMode(m) => write!(f, "cannot switch to WAL (journal mode {m})"),
        }
    }
}

fn sqlite_msg(e: &rusqlite::Error) -> String {
    match e {
        rusqlite::Error::SqliteFailure(err, Some(m)) => {
            let base = err.to_string();
            if base == *m || m.is_empty() {
                base
            } else {
                format!("{m} ({base})")
            }
        }
        e => e.to_string(),
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        if is_corrupt_err(&e) {
            StoreError::Corrupt(None, e)
        } else {
            StoreError::Sqlite(e)
        }
    }
}

impl StoreError {
    pub fn is_corrupt(&self) -> bool {
        matches!(self, StoreError::Corrupt(..))
    }
}

fn is_corrupt_err(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

impl StoreError {
    /// The database is locked by someone else (past the wait).
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sqlite(e) if is_busy(e))
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// An open telemetry database.
pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    pub(super) ino: Option<u64>,
    /// How long to wait for the lock.
    pub(super) wait: Duration,
    /// Things the user should hear about (a corrupt database moved aside, a spool that could
    /// not be merged).
    pub notices: Vec<String>,
    /// Spool entries merged while opening.
    pub merged: usize,
}

/// Longest lock wait accepted from `EARLYEXIT_DB_TIMEOUT`; larger values are clamped to it.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(600);

/// Longest a run waits for the database lock after its command ended: past that, the run goes to
/// the spool at once and a background process merges it (the prompt never waits on a lock).
pub const RUN_WAIT: Duration = Duration::from_millis(10);

/// The lock wait: `EARLYEXIT_DB_TIMEOUT` seconds (clamped to [`MAX_TIMEOUT`]), else
/// [`DEFAULT_TIMEOUT`].
pub fn busy_timeout() -> Duration {
    crate::paths::db_timeout()
        .and_then(|v| parse_timeout(&v))
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// A lock wait in seconds: finite and not negative, clamped to [`MAX_TIMEOUT`].
pub fn parse_timeout(v: &str) -> Option<Duration> {
    let v = v.trim().parse::<f64>().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some(Duration::from_secs_f64(v.min(MAX_TIMEOUT.as_secs_f64())))
}

/// Retention limits: (newest executions kept, age in days); 0 means no limit.
pub fn retention_limits() -> (u64, u64) {
    (
        crate::paths::telemetry_keep().unwrap_or(DEFAULT_KEEP),
        crate::paths::telemetry_keep_days().unwrap_or(DEFAULT_KEEP_DAYS),
    )
}

fn jitter_sleep(attempt: u32) {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos()
        ^ std::process::id().wrapping_mul(2_654_435_761);
    let ms = 1 + (n % (2 + attempt.min(20) * 2)) as u64;
    std::thread::sleep(Duration::from_millis(ms));
}

/// Switch to WAL unless already on. Reading first matters: many processes issuing the switch
/// at once get SQLITE_BUSY without the busy handler being called; so it is retried here.
fn ensure_wal(conn: &Connection, deadline: Instant) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        let read: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode", [], |r| r.get(0));
        let r = match read {
            Ok(m) if m.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) => conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get::<_, String>(0)),
            Err(e) => Err(e),
        };
        match r {
            Ok(m) if m.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(m) => return Err(StoreError::JournalMode(m)),
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                attempt += 1;
                jitter_sleep(attempt);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Bring the schema up to date: the steps of [`migrations::MIGRATIONS`] not yet applied, in one
/// `BEGIN IMMEDIATE` transaction with the version re-read inside it.
fn migrate(conn: &Connection, wait: Duration) -> Result<(), StoreError> {
    let tx = immediate(conn, wait)?;
    if apply_migrations(&tx, migrations::MIGRATIONS)? {
        tx.commit()?;
    }
    Ok(())
}

/// Apply the steps of `list` that the database has not had; false when there was nothing to do
/// (up to date, or written by a newer ee: left alone, writes that do not fit fail and are
/// spooled).
fn apply_migrations(tx: &Connection, list: &[migrations::Migration]) -> Result<bool, StoreError> {
    let version = list.len() as i64;
    let uv: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if uv == version {
        return Ok(false);
    }
    let Some(mut done) = migrations::applied(uv, version) else {
        return Ok(false);
    };
    if migrations::is_legacy(uv) {
        // A build from before the list rewrote the version: the bookkeeping table knows better.
        let mirrored: Option<i64> = tx
            .query_row("SELECT applied FROM schema_version WHERE id = 1", [], |r| {
                r.get(0)
            })
            .ok();
        match mirrored {
            Some(n) if n > version => return Ok(false),
            Some(n) => done = done.max(n as usize),
            None => {}
        }
    }
    for m in &list[done.min(list.len())..] {
        tx.execute_batch(&strip_comments(m.sql))?;
    }
    if migrations::is_legacy(uv) {
        add_missing_columns(tx, list)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO schema_version (id, applied) VALUES (1, ?1)",
        [version],
    )?;
    tx.pragma_update(None, "user_version", version)?;
    Ok(true)
}

/// After a legacy database was mapped onto the list: the steps that create tables (`IF NOT
/// EXISTS`) leave a table an unreleased build made with fewer columns as it was, and every later
/// write into it would fail. Add each column the list's schema has and the table lacks (with its
/// type and default; never a key column, nor a NOT NULL one without a default, which SQLite
/// cannot add).
fn add_missing_columns(tx: &Connection, list: &[migrations::Migration]) -> Result<(), StoreError> {
    let fresh = Connection::open_in_memory()?;
    for m in list {
        fresh.execute_batch(&strip_comments(m.sql))?;
    }
    let columns = |c: &Connection, table: &str| -> rusqlite::Result<Vec<Column>> {
        c.prepare("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)")?
            .query_map([table], |r| {
                Ok(Column {
                    name: r.get(0)?,
                    ty: r.get(1)?,
                    not_null: r.get(2)?,
                    default: r.get(3)?,
                    key: r.get::<_, i64>(4)? > 0,
                })
            })?
            .collect()
    };
    let tables: Vec<String> = fresh
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for t in tables {
        let have = columns(tx, &t)?;
        if have.is_empty() {
            continue;
        }
        for c in columns(&fresh, &t)? {
            if c.key || have.iter().any(|h| h.name == c.name) || c.not_null && c.default.is_none() {
                continue;
            }
            let mut def = format!("ALTER TABLE \"{t}\" ADD COLUMN \"{}\" {}", c.name, c.ty);
            if c.not_null {
                def.push_str(" NOT NULL");
            }
            if let Some(d) = &c.default {
                def.push_str(&format!(" DEFAULT {d}"));
            }
            tx.execute_batch(&def)?;
        }
    }
    Ok(())
}

/// A column as `pragma_table_info` describes it.
struct Column {
    name: String,
    ty: String,
    not_null: bool,
    default: Option<String>,
    key: bool,
}

/// The schema without its `--` comments: SQLite keeps the text of each `CREATE` statement and
/// every process parses all of it when it opens the database.
fn strip_comments(sql: &str) -> String {
    sql.lines()
        .map(|l| match l.find("--") {
            Some(i) => l[..i].trim_end(),
            None => l.trim_end(),
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `BEGIN IMMEDIATE`, retrying BUSY until the lock timeout (the busy handler covers most
/// waits; this covers the cases where SQLite returns BUSY without calling it).
pub(super) fn immediate(conn: &Connection, wait: Duration) -> Result<Transaction<'_>, StoreError> {
    let deadline = Instant::now() + wait;
    let mut attempt = 0;
    loop {
        match Transaction::new_unchecked(conn, TransactionBehavior::Immediate) {
            Ok(tx) => return Ok(tx),
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                attempt += 1;
                jitter_sleep(attempt);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

impl Store {
    /// Open the default database ([`super::db_path`]).
    pub fn open_default(rec: Recorder) -> Result<Store, StoreError> {
        let path = super::db_path().ok_or(StoreError::NoPath)?;
        Store::open(&path, rec)
    }

    /// Open (creating when missing) the database at `path`, bring its schema up to date and
    /// merge any spooled runs (each written by `rec`), waiting up to [`busy_timeout`] for locks.
    /// A corrupt database is moved aside, what can be read of it salvaged, and a new one started.
    pub fn open(path: &Path, rec: Recorder) -> Result<Store, StoreError> {
        Store::open_with(path, busy_timeout(), Some(rec))
    }

    /// Open for recording a run (and for `ee run`'s lookup): waits at most [`RUN_WAIT`] for
    /// locks and leaves the spool to the background merger, so a locked database costs the
    /// prompt milliseconds, not the lock timeout.
    pub fn open_for_run(path: &Path) -> Result<Store, StoreError> {
        Store::open_with(path, busy_timeout().min(RUN_WAIT), None)
    }

    /// Prepare the statements every insert uses (see `insert::warm`).
    pub fn warm(&self) {
        super::insert::warm(&self.conn);
    }

    pub(super) fn open_with(
        path: &Path,
        wait: Duration,
        merge: Option<Recorder>,
    ) -> Result<Store, StoreError> {
        match Store::open_inner(path, wait, merge) {
            Err(StoreError::Corrupt(ino, e)) => {
                let moved = quarantine(path, ino)?;
                let mut s = Store::open_inner(path, wait, merge).map_err(|e2| match e2 {
                    StoreError::Corrupt(..) => StoreError::Corrupt(ino, e),
                    other => other,
                })?;
                if let Some(m) = moved {
                    let note = s.salvage_note(&m);
                    s.notices.insert(0, note);
                }
                Ok(s)
            }
            r => r,
        }
    }

    /// Salvage what can be read from the corrupt database moved to `moved`, and describe it.
    pub fn salvage_note(&mut self, moved: &Path) -> String {
        let what = match self.salvage(moved) {
            Ok(s) if s.executions > 0 || s.learned > 0 => format!(
                "salvaged {} run(s) and {} learned row(s) from it into a new one",
                s.executions, s.learned
            ),
            Ok(_) => "nothing could be read from it; started a new one".to_string(),
            Err(e) => format!("nothing could be salvaged ({e}); started a new one"),
        };
        format!(
            "the telemetry database was corrupt; moved it to {}; {what}",
            moved.display()
        )
    }

    fn open_inner(
        path: &Path,
        wait: Duration,
        merge: Option<Recorder>,
    ) -> Result<Store, StoreError> {
        configure();
        prepare_files(path)?;
        let ino = fs::metadata(path).ok().map(|m| m.ino());
        let corrupt = |e: StoreError| match e {
            StoreError::Corrupt(_, e) => StoreError::Corrupt(ino, e),
            e => e,
        };
        let conn = Connection::open(path)?;
        conn.busy_timeout(wait)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        ensure_wal(&conn, Instant::now() + wait).map_err(corrupt)?;
        // Checkpoints run in the background (see `checkpoint_in_background`); the automatic one
        // is only a safety net should those never run.
        conn.execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=4000;",
        )
        .map_err(|e| corrupt(e.into()))?;
        let uv: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| corrupt(e.into()))?;
        if uv != migrations::VERSION {
            migrate(&conn, wait).map_err(corrupt)?;
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            ino,
            wait,
            notices: Vec::new(),
            merged: 0,
        };
        if let Some(rec) = merge.filter(|_| spool::pending(path)) {
            match store.merge_spool(rec) {
                Ok(n) => store.merged = n,
                Err(e) if e.is_corrupt() => return Err(corrupt(e)),
                Err(e) => store
                    .notices
                    .push(format!("could not merge the telemetry spool: {e}")),
            }
        }
        Ok(store)
    }

    /// The connection, for read-only lookups (learning, stats).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for maintenance commands.
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Begin a write transaction (for bulk work such as `ee telemetry generate`).
    pub fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        immediate(&self.conn, self.wait)
    }
}

/// How a run is written inside a write transaction (`app::record::entry`: the store inserts it,
/// learning judges it in the same transaction). The spool merge writes each run through it.
pub type Recorder = fn(&Transaction, &Entry) -> Result<i64, StoreError>;

/// SQLite's process-wide settings, made once before the process's first connection (SQLite
/// refuses them after that, changing nothing): no memory statistics, which cost a global mutex
/// on every one of the thousands of allocations parsing the schema and the statements makes on
/// every run's path (0.3 M instructions of `ee run -- /bin/true`'s 4.1 M), and ee reads none.
pub fn configure() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use rusqlite::ffi;
        use std::ffi::c_int;
        // SAFETY: called before any connection is opened by this code; SQLite returns
        // SQLITE_MISUSE (and changes nothing) if one was opened elsewhere first.
        unsafe {
            ffi::sqlite3_config(ffi::SQLITE_CONFIG_MEMSTATUS, 0 as c_int);
        }
    });
}

/// The database for learning's reads (`ee run`, `ee suggest`, completion), if it exists: never
/// created or migrated here, and any problem just means "nothing learned". Read-write without
/// CREATE, since a WAL database may need its -shm file even to be read; closing never checkpoints
/// (that is the writers' business, not a lookup's).
pub fn open_lookup(wait: Duration) -> Option<Connection> {
    configure();
    use rusqlite::OpenFlags;
    let path = super::db_path()?;
    if !path.is_file() {
        return None;
    }
    let c = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .ok()?;
    c.busy_timeout(wait).ok()?;
    let _ = c.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true);
    Some(c)
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use migrations::Migration;

    /// A later step that is not idempotent (an `ALTER TABLE`) never runs twice, even when a
    /// build from before the list rewrote `user_version` to its legacy number in between.
    #[test]
    fn a_legacy_version_written_over_a_migrated_database_reapplies_nothing() {
        let mut list: Vec<Migration> = migrations::MIGRATIONS
            .iter()
            .map(|m| Migration {
                name: m.name,
                sql: m.sql,
            })
            .collect();
        list.push(Migration {
            name: "test: a column",
            sql: "ALTER TABLE executions ADD COLUMN extra INTEGER",
        });
        let c = Connection::open_in_memory().unwrap();
        assert!(apply_migrations(&c, &list).unwrap());
        assert!(!apply_migrations(&c, &list).unwrap());
        c.pragma_update(None, "user_version", 3_956_295).unwrap();
        assert!(apply_migrations(&c, &list).unwrap());
        let uv: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(uv, list.len() as i64);
        // The shorter list of an older build leaves the newer database alone.
        let older = &list[..list.len() - 1];
        assert!(!apply_migrations(&c, older).unwrap());
        let uv: i64 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(uv, list.len() as i64);
    }
}
