//! Keeping the write-ahead log short and the spool empty, off the user's path: the background
//! `ee telemetry checkpoint` process (started after a run when needed, one at a time under a
//! lock), the spool merge through the one record path, and the checkpoint itself.

use std::fs;
use std::io;
use std::path::Path;

use super::db::{busy_timeout, immediate, Recorder, Store, StoreError, CHECKPOINT_BYTES};
use super::files::{lock_file, with_suffix};
use super::spool;

impl Store {
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

    pub(super) fn checkpoint_locked(&self) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let tx = immediate(&self.conn, self.wait)?;
        let uv: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        tx.pragma_update(None, "user_version", uv)?;
        tx.commit()?;
        Ok(())
    }

    /// Merge the spool into the database, each run written by `rec` (as if it had been written
    /// when it ran); returns the number of runs added.
    pub(super) fn merge_spool(&mut self, rec: Recorder) -> Result<usize, StoreError> {
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
}

/// Take the maintenance lock of the database at `db` (`telemetry.db.ckpt`), without waiting:
/// None when another process holds it.
pub(super) fn maintenance_lock(
    db: &Path,
) -> Result<Option<nix::fcntl::Flock<fs::File>>, StoreError> {
    let lock = lock_file(db, ".ckpt")?;
    Ok(nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusiveNonblock).ok())
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

/// True when a checkpoint process holds the checkpoint lock of the database at `db`.
pub(super) fn checkpoint_running(db: &Path) -> bool {
    let Ok(f) = fs::OpenOptions::new()
        .write(true)
        .open(with_suffix(db, ".ckpt"))
    else {
        return false;
    };
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockSharedNonblock).is_err()
}
