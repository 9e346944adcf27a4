//! The files around the database: creating its directory (0700) and file (0600) safely, the
//! lock files next to it, the modes of its `-wal`/`-shm` files (repair and diagnosis for
//! `ee telemetry check`), and the names of those side files.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::db::StoreError;
use super::spool;

/// Create the database's directory (0700) and file (0600) when missing. A database path that
/// is a dangling symlink creates the symlink's target, 0600 too.
pub(super) fn prepare_files(path: &Path) -> Result<(), StoreError> {
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

/// Open (creating it with the database's mode, never through a symlink) the lock file next to
/// the database at `db` named by `suffix`.
pub(super) fn lock_file(db: &Path, suffix: &str) -> Result<fs::File, StoreError> {
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

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}
