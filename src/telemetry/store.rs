//! The SQLite store: opening (directory 0700, file 0600, WAL switched on only when not already
//! on, BUSY retried), schema migrations inside `BEGIN IMMEDIATE` with `user_version` re-checked,
//! foreign keys on, one write transaction per run (execution, match events, learning update,
//! retention step), spool merging on open, and moving a corrupt database aside.

use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rusqlite::config::DbConfig;
use rusqlite::{params, Connection, ErrorCode, Transaction, TransactionBehavior};

use super::entry::Entry;
use super::schema::{
    ADD_COMMAND_SUMMARY, ADD_SUMMARY, SCHEMA_VERSION, SUBTRACT_SUMMARIES, USER_VERSION, V1, V2, V3,
};
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
    /// Things the user should hear about (a corrupt database moved aside, a spool that could
    /// not be merged).
    pub notices: Vec<String>,
    /// Spool entries merged while opening.
    pub merged: usize,
}

/// The lock wait: `EARLYEXIT_DB_TIMEOUT` seconds, else [`DEFAULT_TIMEOUT`].
pub fn busy_timeout() -> Duration {
    std::env::var("EARLYEXIT_DB_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
        .unwrap_or(DEFAULT_TIMEOUT)
}

/// Retention limits: (newest executions kept, age in days); 0 means no limit.
pub fn retention_limits() -> (u64, u64) {
    let get = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(default)
    };
    (
        get("EARLYEXIT_TELEMETRY_KEEP", DEFAULT_KEEP),
        get("EARLYEXIT_TELEMETRY_KEEP_DAYS", DEFAULT_KEEP_DAYS),
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

/// Create the database's directory (0700) and file (0600) when missing.
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
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
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

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let tx = immediate(conn)?;
    let uv: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if uv == USER_VERSION {
        return Ok(());
    }
    if uv / 1_000_000 > SCHEMA_VERSION {
        // Written by a newer ee: leave it alone (writes that do not fit fail and are spooled).
        return Ok(());
    }
    if uv / 1_000_000 < 1 {
        tx.execute_batch(&strip_comments(V1))?;
    }
    if uv / 1_000_000 < 2 {
        tx.execute_batch(V2)?;
    }
    if uv / 1_000_000 < 3 {
        tx.execute_batch(V3)?;
    }
    if !crate::learn::SCHEMA.trim().is_empty() {
        tx.execute_batch(crate::learn::SCHEMA)?;
    }
    tx.pragma_update(None, "user_version", USER_VERSION)?;
    tx.commit()?;
    Ok(())
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
fn immediate(conn: &Connection) -> Result<Transaction<'_>, StoreError> {
    let deadline = Instant::now() + busy_timeout();
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
    pub fn open_default() -> Result<Store, StoreError> {
        let path = super::db_path().ok_or(StoreError::NoPath)?;
        Store::open(&path)
    }

    /// Open (creating when missing) the database at `path`, bring its schema up to date and
    /// merge any spooled runs. A corrupt database is moved aside and a new one started.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        match Store::open_inner(path) {
            Err(StoreError::Corrupt(ino, e)) => {
                let moved = quarantine(path, ino)?;
                let mut s = Store::open_inner(path).map_err(|e2| match e2 {
                    StoreError::Corrupt(..) => StoreError::Corrupt(ino, e),
                    other => other,
                })?;
                if let Some(m) = moved {
                    s.notices.insert(
                        0,
                        format!(
                            "the telemetry database was corrupt; moved it to {} and started a new one",
                            m.display()
                        ),
                    );
                }
                Ok(s)
            }
            r => r,
        }
    }

    fn open_inner(path: &Path) -> Result<Store, StoreError> {
        prepare_files(path)?;
        let ino = fs::metadata(path).ok().map(|m| m.ino());
        let corrupt = |e: StoreError| match e {
            StoreError::Corrupt(_, e) => StoreError::Corrupt(ino, e),
            e => e,
        };
        let timeout = busy_timeout();
        let conn = Connection::open(path)?;
        conn.busy_timeout(timeout)?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
        ensure_wal(&conn, Instant::now() + timeout).map_err(corrupt)?;
        // Checkpoints run in the background (see `checkpoint_in_background`); the automatic one
        // is only a safety net should those never run.
        conn.execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=4000;",
        )
        .map_err(|e| corrupt(e.into()))?;
        let uv: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| corrupt(e.into()))?;
        if uv != USER_VERSION {
            migrate(&conn).map_err(corrupt)?;
        }
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            ino,
            notices: Vec::new(),
            merged: 0,
        };
        if spool::pending(path) {
            match store.merge_spool() {
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

    /// Record one run in one write transaction: the execution, its match events, the learning
    /// update and a retention step. Returns the execution id.
    pub fn insert(&mut self, e: &Entry) -> Result<i64, StoreError> {
        let tx = immediate(&self.conn)?;
        let id = insert_entry(&tx, e)?;
        retention_step(&tx, id)?;
        tx.commit()?;
        self.checkpoint_in_background();
        Ok(id)
    }

    /// When the write-ahead log has grown past [`CHECKPOINT_BYTES`], start
    /// `ee telemetry checkpoint` in the background and do not wait for it.
    ///
    /// Why: each process that opens the database first rebuilds the WAL index by reading the
    /// whole log, so a long log slows every run down; but a checkpoint costs fsyncs
    /// (milliseconds), which must not land on the user's command. The log is truncated by the
    /// checkpoint, so its size is a cheap measure of what a new process has to read.
    fn checkpoint_in_background(&self) {
        let wal = with_suffix(&self.path, "-wal");
        let big = fs::metadata(&wal).is_ok_and(|m| m.len() > CHECKPOINT_BYTES);
        if !big || checkpoint_running(&self.path) {
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
                std::path::absolute(&self.path).unwrap_or_else(|_| self.path.clone()),
            )
            .current_dir("/")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn();
    }

    /// Checkpoint the WAL into the database and truncate it, then write one small transaction
    /// so that the fsync of the new log's header happens here, not in a user's run. Returns
    /// false when another checkpoint is already running.
    pub fn checkpoint(&self) -> Result<bool, StoreError> {
        let lock_path = with_suffix(&self.path, ".ckpt");
        let lock = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&lock_path)
            .map_err(|e| StoreError::Io(format!("cannot create {}", lock_path.display()), e))?;
        let Ok(_guard) = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock)
        else {
            return Ok(false);
        };
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let tx = immediate(&self.conn)?;
        let uv: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        tx.pragma_update(None, "user_version", uv)?;
        tx.commit()?;
        Ok(true)
    }

    /// Begin a write transaction (for bulk work such as `ee telemetry generate`).
    pub fn write_tx(&mut self) -> Result<Transaction<'_>, StoreError> {
        immediate(&self.conn)
    }

    /// Move this (corrupt) database aside; returns where it went.
    pub fn quarantine(self) -> Result<Option<PathBuf>, StoreError> {
        let Store {
            conn, path, ino, ..
        } = self;
        drop(conn);
        quarantine(&path, ino)
    }

    /// Merge the spool into the database; returns the number of runs added.
    fn merge_spool(&mut self) -> Result<usize, StoreError> {
        let db = self.path.clone();
        let merging = spool::merging_path(&db);
        let live = spool::spool_path(&db);
        let mut added = 0;
        for _ in 0..2 {
            let tx = immediate(&self.conn)?;
            let entries = if merging.exists() {
                spool::read(&merging)
            } else if live.exists() {
                fs::rename(&live, &merging)
                    .map_err(|e| StoreError::Io(format!("cannot rename {}", live.display()), e))?;
                spool::read(&merging)
            } else {
                break;
            }
            .map_err(|e| StoreError::Io(format!("cannot read {}", merging.display()), e))?;
            for entry in &entries {
                let fresh = tx.execute(
                    "INSERT OR IGNORE INTO spool_merged (uid) VALUES (?1)",
                    [&entry.uid],
                )?;
                if fresh == 1 {
                    insert_entry(&tx, entry)?;
                    added += 1;
                }
            }
            tx.commit()?;
            let _ = fs::remove_file(&merging);
        }
        Ok(added)
    }
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

const INSERT_EVENT: &str = "INSERT INTO match_events (execution_id, kind, offset_s, stream,
    line_no, pattern, line, matched, context) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// Insert one execution with its events and let the learning module update its aggregates.
pub fn insert_entry(tx: &Transaction, e: &Entry) -> Result<i64, StoreError> {
    let time_saved = if e.stopped_early {
        estimate_saved(tx, &e.key, e.total_s)?
    } else {
        None
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
    crate::learn::update(tx, id, &e.outcome(), &e.context())?;
    // The learning module may have filled in a better estimate of the time saved.
    let saved: Option<f64> = tx
        .prepare_cached("SELECT time_saved_s FROM executions WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    let done = !e.stopped_early && matches!(e.reason.as_str(), "completed" | "no_match");
    let p = params![
        e.project_type,
        e.category,
        e.reason,
        e.pattern_label(),
        e.match_count > 0,
        e.total_s,
        e.stopped_early,
        saved.unwrap_or(0.0),
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
        .prepare_cached("SELECT done_runs, done_s FROM command_summary WHERE command_key = ?1")?
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
fn retention_step(tx: &Transaction, id: i64) -> rusqlite::Result<()> {
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
    let lock_path = with_suffix(path, ".lock");
    let lock = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| StoreError::Io(format!("cannot create {}", lock_path.display()), e))?;
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
