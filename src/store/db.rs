//! The SQLite store: opening (directory 0700, file 0600, WAL switched on only when not already
//! on, BUSY retried), schema migrations inside `BEGIN IMMEDIATE` with `user_version` re-checked,
//! foreign keys on, the insert of a run (execution, match events, summaries) and the retention
//! step that `app::record` runs in its write transaction, spool merging (on open for commands, in the background maintainer for
//! runs), moving a corrupt database aside and salvaging what it still holds, and the modes of
//! the files next to the database (repair and diagnosis for `ee telemetry check`).

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode, Transaction, TransactionBehavior};

use super::entry::Entry;
use super::migrations;
use super::schema::{ADD_COMMAND_SUMMARY, ADD_SUMMARY, SUBTRACT_SUMMARIES};
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
    conn: Connection,
    path: PathBuf,
    ino: Option<u64>,
    /// How long to wait for the lock.
    wait: Duration,
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

/// Create the database's directory (0700) and file (0600) when missing. A database path that
/// is a dangling symlink creates the symlink's target, 0600 too.
fn prepare_files(path: &Path) -> Result<(), StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| StoreError::Io(format!("cannot create {}", dir.display()), e))?;
        }
    }
    if !path.exists() {
        // Not `create_new`: that refuses a dangling symlink, and SQLite would then create its
        // target with the umask's mode (0644).
        match fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) => {
                return Err(StoreError::Io(
                    format!("cannot create {}", path.display()),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// The mode for the files ee creates next to the database (spool, locks): the database's own
/// permission bits, plus read-write for the owner so that ee can use them. SQLite gives its
/// `-wal`/`-shm` files the database's mode itself.
pub fn side_file_mode(db: &Path) -> u32 {
    fs::metadata(db)
        .map(|m| (m.mode() & 0o666) | 0o600)
        .unwrap_or(0o600)
}

/// Give the database's `-wal` and `-shm` files (owned by this user) the database's mode when
/// it differs: SQLite creates them with the database's mode, so a database that was read-only
/// once leaves read-only side files behind that keep it unwritable after it is fixed. Returns
/// what was changed.
pub fn repair_side_files(db: &Path) -> Vec<String> {
    let Ok(m) = fs::metadata(db) else {
        return Vec::new();
    };
    let want = m.mode() & 0o7777;
    let uid = nix::unistd::geteuid().as_raw();
    let mut fixed = Vec::new();
    for s in ["-wal", "-shm"] {
        let p = with_suffix(db, s);
        let Ok(sm) = fs::symlink_metadata(&p) else {
            continue;
        };
        let have = sm.mode() & 0o7777;
        if sm.file_type().is_file() && sm.uid() == uid && have != want {
            use std::os::unix::fs::PermissionsExt;
            if fs::set_permissions(&p, fs::Permissions::from_mode(want)).is_ok() {
                fixed.push(format!(
                    "{} had mode {have:04o}, the database {want:04o}: changed to {want:04o}",
                    p.display()
                ));
            }
        }
    }
    fixed
}

/// Why the database at `db` may not be writable, in words a user can act on (for
/// `ee telemetry check`); empty when nothing is found.
pub fn diagnose(db: &Path) -> Vec<String> {
    use nix::unistd::{access, AccessFlags};
    let mut out = Vec::new();
    let describe = |p: &Path| {
        fs::metadata(p)
            .map(|m| format!("mode {:04o}, owner uid {}", m.mode() & 0o7777, m.uid()))
            .unwrap_or_default()
    };
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        if dir.is_dir() && access(dir, AccessFlags::W_OK | AccessFlags::X_OK).is_err() {
            out.push(format!(
                "the directory {} is not writable ({}): SQLite must create the -wal and -shm files there",
                dir.display(),
                describe(dir)
            ));
        }
    }
    if db.exists() && access(db, AccessFlags::R_OK | AccessFlags::W_OK).is_err() {
        out.push(format!(
            "the database {} is read-only ({}): make it writable, e.g. chmod 600 {}",
            db.display(),
            describe(db),
            db.display()
        ));
    }
    for s in ["-wal", "-shm"] {
        let p = with_suffix(db, s);
        if p.exists() && access(&p, AccessFlags::R_OK | AccessFlags::W_OK).is_err() {
            out.push(format!(
                "{} is not writable ({}): give it the database's mode, or remove it while no ee runs",
                p.display(),
                describe(&p)
            ));
        }
    }
    let sp = spool::spool_path(db);
    if fs::metadata(&sp).is_ok_and(|m| m.len() > spool::MAX_SPOOL_BYTES) {
        out.push(format!(
            "the spool {} is full ({} MiB): runs are no longer recorded until the database can be written",
            sp.display(),
            spool::MAX_SPOOL_BYTES >> 20
        ));
    }
    out
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
    tx.execute(
        "INSERT OR REPLACE INTO schema_version (id, applied) VALUES (1, ?1)",
        [version],
    )?;
    tx.pragma_update(None, "user_version", version)?;
    Ok(true)
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
fn immediate(conn: &Connection, wait: Duration) -> Result<Transaction<'_>, StoreError> {
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
        let s = Store::open_with(path, busy_timeout().min(RUN_WAIT), None)?;
        s.warm();
        Ok(s)
    }

    /// Prepare (into the statement cache) the statements every insert uses, so that when this
    /// runs on a thread beside the command, only binding and stepping remain after it ends.
    fn warm(&self) {
        self.conn.set_prepared_statement_cache_capacity(64);
        for sql in [
            INSERT_EXEC,
            INSERT_EVENT,
            ADD_SUMMARY,
            ADD_COMMAND_SUMMARY,
            SELECT_DONE,
        ] {
            let _ = self.conn.prepare_cached(sql);
        }
    }

    fn open_with(
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

    /// Checkpoint the WAL into the database and truncate it, then write one small transaction
    /// so that the fsync of the new log's header happens here, not in a user's run. Returns
    /// false when another checkpoint is already running.
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let Some(_guard) = maintenance_lock(&self.path)? else {
            return Ok(false);
        };
        self.checkpoint_locked()?;
        Ok(true)
    }

    fn checkpoint_locked(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let tx = immediate(&self.conn, self.wait)?;
        let uv: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        tx.pragma_update(None, "user_version", uv)?;
        tx.commit()?;
        Ok(())
    }

    /// Begin a write transaction (for bulk work such as `ee telemetry generate`).
    pub fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        immediate(&self.conn, self.wait)
    }

    /// Move this (corrupt) database aside; returns where it went.
    pub fn quarantine(self) -> Result<Option<PathBuf>, StoreError> {
        let Store {
            conn, path, ino, ..
        } = self;
        drop(conn);
        quarantine(&path, ino)
    }

    /// Merge the spool into the database, each run written by `rec` (as if it had been written
    /// when it ran); returns the number of runs added.
    fn merge_spool(&mut self, rec: Recorder) -> Result<usize, StoreError> {
        let db = self.path.clone();
        let merging = spool::merging_path(&db);
        let live = spool::spool_path(&db);
        let mut added = 0;
        for _ in 0..2 {
            let tx = immediate(&self.conn, self.wait)?;
            // Inside the write transaction: no other merger is between its rename and its
            // commit, and none removes a file other than the one it read (spool::Merging).
            if !merging.exists() {
                if !live.exists() {
                    break;
                }
                fs::rename(&live, &merging)
                    .map_err(|e| StoreError::Io(format!("cannot rename {}", live.display()), e))?;
            }
            let m = match spool::read(&merging) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    return Err(StoreError::Io(
                        format!("cannot read {}", merging.display()),
                        e,
                    ))
                }
            };
            for entry in &m.entries {
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO spool_merged (uid) VALUES (?1)",
                    [&entry.uid],
                )?;
                if fresh == 1 {
                    rec(&tx, entry)?;
                    added += 1;
                }
            }
            tx.commit()?;
            m.finish();
        }
        Ok(added)
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

/// Take the maintenance lock of the database at `db` (`telemetry.db.ckpt`), without waiting:
/// None when another process holds it.
fn maintenance_lock(db: &Path) -> Result<Option<nix::fcntl::Flock<fs::File>>, StoreError> {
    let lock = lock_file(db, ".ckpt")?;
    Ok(nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).ok())
}

/// Open (creating it with the database's mode, never through a symlink) the lock file next to
/// the database at `db` named by `suffix`.
fn lock_file(db: &Path, suffix: &str) -> Result<fs::File, StoreError> {
    let lock_path = with_suffix(db, suffix);
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(side_file_mode(db))
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(&lock_path)
        .map_err(|e| StoreError::Io(format!("cannot create {}", lock_path.display()), e))
}

/// The background job (`ee telemetry checkpoint`, started by [`spawn_maintenance`]): merge the
/// spool and checkpoint the WAL, one process at a time. After releasing its lock it looks
/// again, so a run that spooled while it worked (and saw it busy) is not left waiting.
/// Returns false when another process was already at it.
pub fn maintain(path: &Path, rec: Recorder) -> Result<bool, StoreError> {
    for round in 0..20 {
        let Some(guard) = maintenance_lock(path)? else {
            return Ok(round > 0);
        };
        let mut store = Store::open_with(path, busy_timeout(), None)?;
        let merged = if spool::pending(path) {
            store.merge_spool(rec)?
        } else {
            0
        };
        store.checkpoint_locked()?;
        drop(store);
        drop(guard);
        if merged == 0 && round > 0 || !spool::pending(path) {
            return Ok(true);
        }
    }
    Ok(true)
}

/// After a run was written or spooled: start [`maintain`] in the background, without waiting
/// for it, when the spool holds runs or the write-ahead log has grown past
/// [`CHECKPOINT_BYTES`], unless it is already running.
///
/// Why a checkpoint: each process that opens the database first rebuilds the WAL index by
/// reading the whole log, so a long log slows every run down; but a checkpoint costs fsyncs
/// (milliseconds), which must not land on the user's command.
pub fn spawn_maintenance(path: &Path, spooled: bool) {
    let wal = with_suffix(path, "-wal");
    let needed = spooled
        || spool::pending(path)
        || fs::metadata(&wal).is_ok_and(|m| m.len() > CHECKPOINT_BYTES);
    if !needed || checkpoint_running(path) {
        return;
    }
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    use std::os::unix::process::CommandExt;
    let _ = std::process::Command::new(exe)
        .args(["telemetry", "checkpoint"])
        .env(
            "EARLYEXIT_DB",
            std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
        )
        .current_dir("/")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
}

fn json_list(v: &[String]) -> Option<String> {
    if v.is_empty() {
        None
    } else {
        serde_json::to_string(v).ok()
    }
}

const INSERT_EXEC: &str = "INSERT INTO executions (started_at, mode, command, command_key, cwd,
    project_type, category, pattern, success_patterns, error_patterns, exclude_patterns, flags,
    pattern_learned, timeout_s, idle_timeout_s, first_output_timeout_s, delay_exit_s,
    timeout_learned, exit_code, child_exit, child_signal, reason, total_s, first_output_s,
    first_match_s, match_count, stdout_lines, stdout_bytes, stderr_lines, stderr_bytes,
    stopped_early, time_saved_s, detached)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
            ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33)";

const SELECT_DONE: &str = "SELECT done_runs, done_s FROM command_summary WHERE command_key = ?1";

const INSERT_EVENT: &str = "INSERT INTO match_events (execution_id, kind, offset_s, stream,
    line_no, pattern, line, matched, context) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// How a run is written inside a write transaction (`app::record::entry`: the store inserts it,
/// learning judges it in the same transaction). The spool merge writes each run through it.
pub type Recorder = fn(&Transaction, &Entry) -> Result<i64, StoreError>;

/// Insert one execution with its events and add it to the summaries. `time_saved`: the time its
/// early stop saved when the caller knows it (`Some(None)`: unknown), else (`None`) the store's
/// own estimate from the command's runs that ended by themselves.
pub fn insert_entry(
    tx: &Transaction,
    e: &Entry,
    time_saved: Option<Option<f64>>,
) -> Result<i64, StoreError> {
    let time_saved = match time_saved {
        Some(t) => t,
        None if e.stopped_early => estimate_saved(tx, &e.key, e.total_s)?,
        None => None,
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    tx.prepare_cached(INSERT_EXEC)?.execute(params![
        e.started_ms,
        e.mode,
        e.command,
        e.key,
        e.cwd,
        e.project_type,
        e.category,
        e.pattern,
        json_list(&e.success_patterns),
        json_list(&e.error_patterns),
        json_list(&e.exclude_patterns),
        opt(&e.flags),
        e.pattern_learned,
        e.timeout_s,
        e.idle_timeout_s,
        e.first_output_timeout_s,
        e.delay_exit_s,
        e.timeout_learned,
        e.exit_code,
        e.child_exit,
        e.child_signal,
        e.reason,
        e.total_s,
        e.first_output_s,
        e.first_match_s,
        e.match_count as i64,
        e.stdout_lines as i64,
        e.stdout_bytes as i64,
        e.stderr_lines as i64,
        e.stderr_bytes as i64,
        e.stopped_early,
        time_saved,
        e.detached,
    ])?;
    let id = tx.last_insert_rowid();
    if !e.events.is_empty() {
        let mut st = tx.prepare_cached(INSERT_EVENT)?;
        for ev in &e.events {
            st.execute(params![
                id,
                ev.kind,
                ev.offset_s,
                ev.stream,
                ev.line_no as i64,
                opt(&ev.pattern),
                ev.line,
                ev.matched,
                json_list(&ev.context),
            ])?;
        }
    }
    let done = !e.stopped_early && matches!(e.reason.as_str(), "completed" | "no_match");
    let p = params![
        e.project_type,
        e.category,
        e.reason,
        e.pattern_label(),
        e.match_count > 0,
        e.total_s,
        e.stopped_early,
        time_saved.unwrap_or(0.0),
        e.key,
        done,
        e.started_ms,
    ];
    tx.prepare_cached(ADD_SUMMARY)?.execute(&p[..8])?;
    tx.prepare_cached(ADD_COMMAND_SUMMARY)?.execute(p)?;
    Ok(id)
}

/// Delete the executions chosen by `select_ids` (a query returning ids, with `p` as its
/// parameters), keeping the summaries right; returns how many were deleted.
pub fn delete_executions(
    tx: &Transaction,
    select_ids: &str,
    p: impl rusqlite::Params,
) -> rusqlite::Result<usize> {
    tx.execute_batch(
        "PRAGMA temp_store = MEMORY;
         CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY);
         DELETE FROM temp.doomed;",
    )?;
    let n = tx.execute(&format!("INSERT INTO temp.doomed (id) {select_ids}"), p)?;
    if n > 0 {
        tx.execute_batch(SUBTRACT_SUMMARIES)?;
    }
    Ok(n)
}

/// Time an early-stopped run saved: the mean runtime of this command's runs that ended by
/// themselves (at least two of them) minus this run's runtime.
fn estimate_saved(tx: &Transaction, key: &str, total_s: f64) -> rusqlite::Result<Option<f64>> {
    let row: Option<(i64, f64)> = tx
        .prepare_cached(SELECT_DONE)?
        .query_row([key], |r| Ok((r.get(0)?, r.get(1)?)))
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?;
    Ok(row.and_then(|(n, s)| {
        let saved = s / n.max(1) as f64 - total_s;
        (n >= 2 && saved > 0.0).then_some(saved)
    }))
}

/// Default retention, applied every `period` executions (by id) in the run's own transaction,
/// deleting a bounded number of the oldest rows, so no run pays for a scan.
pub fn retention_step(tx: &Transaction, id: i64) -> rusqlite::Result<()> {
    let (keep, days) = retention_limits();
    let period = if keep > 0 {
        (keep / 100).clamp(1, 1000) as i64
    } else {
        1000
    };
    if id % period != 0 {
        return Ok(());
    }
    let batch = period * 2 + 100;
    if keep > 0 {
        delete_executions(
            tx,
            "SELECT id FROM executions WHERE id <= ?1 ORDER BY id LIMIT ?2",
            params![id - keep as i64, batch],
        )?;
    }
    if days > 0 {
        let cutoff = now_ms() - (days as i64) * 86_400_000;
        delete_executions(
            tx,
            "SELECT id FROM executions WHERE started_at < ?1 ORDER BY started_at LIMIT ?2",
            params![cutoff, batch],
        )?;
    }
    Ok(())
}

/// The database for learning's reads (`ee run`, `ee suggest`, completion), if it exists: never
/// created or migrated here, and any problem just means "nothing learned". Read-write without
/// CREATE, since a WAL database may need its -shm file even to be read; closing never checkpoints
/// (that is the writers' business, not a lookup's).
pub fn open_lookup(wait: Duration) -> Option<Connection> {
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

/// Move a corrupt database (and its -wal/-shm files) aside, unless someone already replaced it
/// (its inode changed). Returns the new name of the database file.
fn quarantine(path: &Path, ino: Option<u64>) -> Result<Option<PathBuf>, StoreError> {
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

/// True when a checkpoint process holds the checkpoint lock of the database at `db`.
fn checkpoint_running(db: &Path) -> bool {
    let Ok(f) = fs::OpenOptions::new()
        .write(true)
        .open(with_suffix(db, ".ckpt"))
    else {
        return false;
    };
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockSharedNonblock).is_err()
}

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
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
