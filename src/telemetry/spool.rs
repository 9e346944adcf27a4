//! The spool: an append-only file of JSON lines next to the database (`telemetry.db.spool`,
//! mode 0600) holding runs that could not be written to the database. Writers lock the file
//! (`flock`) for each append and check that it was not renamed under them; the next successful
//! open renames it to `telemetry.db.spool.merging`, merges its entries (each once: their ids are
//! remembered) and removes it.

use std::fs;
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::entry::Entry;
use super::store::with_suffix;

/// Largest spool file appended to: a database that stays broken must not fill the disk.
pub const MAX_SPOOL_BYTES: u64 = 32 << 20;

/// The live spool of the database at `db`.
pub fn spool_path(db: &Path) -> PathBuf {
    with_suffix(db, ".spool")
}

/// The spool being merged.
pub fn merging_path(db: &Path) -> PathBuf {
    with_suffix(db, ".spool.merging")
}

/// True when there is something to merge (two `stat` calls).
pub fn pending(db: &Path) -> bool {
    spool_path(db).exists() || merging_path(db).exists()
}

fn lock(f: fs::File) -> io::Result<Flock<fs::File>> {
    Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, e)| io::Error::from(e))
}

/// Append one run to the spool; returns the spool's path.
pub fn append(db: &Path, entry: &Entry) -> io::Result<PathBuf> {
    let path = spool_path(db);
    let mut line = serde_json::to_string(entry).map_err(io::Error::other)?;
    line.push('\n');
    for _ in 0..10 {
        let f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&path)?;
        let f = lock(f)?;
        let same = match (f.metadata(), fs::metadata(&path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if !same {
            // A merger renamed the file between our open and our lock: use the new one.
            continue;
        }
        if f.metadata().map(|m| m.len()).unwrap_or(0) > MAX_SPOOL_BYTES {
            return Err(io::Error::other(format!(
                "{} is full ({} MiB); fix the database (ee telemetry check)",
                path.display(),
                MAX_SPOOL_BYTES >> 20
            )));
        }
        (&*f).write_all(line.as_bytes())?;
        return Ok(path);
    }
    Err(io::Error::other("spool file keeps being replaced"))
}

/// Every entry of a spool file (waiting for a writer that is mid-append); lines that cannot be
/// read (a writer killed mid-line) are skipped.
pub fn read(path: &Path) -> io::Result<Vec<Entry>> {
    let f = lock(fs::File::open(path)?)?;
    let mut out = Vec::new();
    for line in io::BufReader::new(&*f).split(b'\n') {
        let line = line?;
        if let Ok(e) = serde_json::from_slice::<Entry>(&line) {
            out.push(e);
        }
    }
    Ok(out)
}

/// Number of runs waiting in the spool files of `db`.
pub fn backlog(db: &Path) -> usize {
    [spool_path(db), merging_path(db)]
        .iter()
        .filter_map(|p| fs::read(p).ok())
        .map(|b| b.split(|c| *c == b'\n').filter(|l| !l.is_empty()).count())
        .sum()
}
