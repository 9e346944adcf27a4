//! The spool: an append-only file next to the database (`telemetry.db.spool`, created with the
//! database's mode) holding runs that could not be written to the database yet.
//!
//! Framing: every entry is one record `RS crc32 SP json LF`, where RS is the byte 0x1E (which
//! JSON never contains unescaped) and `crc32` is 8 hex digits of the CRC-32 of the JSON. A torn
//! write (disk full, a killed writer) therefore loses at most its own record: the reader splits
//! on RS and keeps each record whose checksum matches, so a run appended after a torn record is
//! read back intact. Files written by older versions (plain JSON lines) are still read.
//!
//! Writers lock the file (`flock`) for each append and check that it was not renamed under
//! them. A merger renames it to `telemetry.db.spool.merging` inside its write transaction,
//! reads it under the file lock, commits (each entry once: their ids are remembered), and then
//! removes it only if the name still refers to the file it read, while still holding that
//! file's lock: a slower merger can never delete a newer merger's file.

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};

use super::entry::Entry;
use super::files::{side_file_mode, with_suffix};

/// Largest spool file appended to: a database that stays broken must not fill the disk.
pub const MAX_SPOOL_BYTES: u64 = 32 << 20;

/// Record separator that starts every framed entry.
const RS: u8 = 0x1e;

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

/// The framed record of one entry.
pub fn frame(entry: &Entry) -> io::Result<Vec<u8>> {
    let json = serde_json::to_vec(entry).map_err(io::Error::other)?;
    let mut out = Vec::with_capacity(json.len() + 11);
    out.push(RS);
    out.extend_from_slice(format!("{:08x} ", crc32(&json)).as_bytes());
    out.extend_from_slice(&json);
    out.push(b'\n');
    Ok(out)
}

fn crc32(b: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(b);
    c.sum()
}

/// Where an appended run went.
pub struct Appended {
    pub path: PathBuf,
    /// This run filled the spool: later runs will not be kept (say so, loudly, once).
    pub now_full: bool,
}

/// The error of an append refused because the spool is full.
pub fn is_full(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::StorageFull
}

/// Append one run to the spool.
pub fn append(db: &Path, entry: &Entry) -> io::Result<Appended> {
    let path = spool_path(db);
    let rec = frame(entry)?;
    let mode = side_file_mode(db);
    for _ in 0..10 {
        let f = fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(mode)
            .custom_flags(nix::libc::O_NOFOLLOW)
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
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        if len > MAX_SPOOL_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::StorageFull,
                format!("{} is full", path.display()),
            ));
        }
        (&*f).write_all(&rec)?;
        return Ok(Appended {
            path,
            now_full: len + rec.len() as u64 > MAX_SPOOL_BYTES,
        });
    }
    Err(io::Error::other("spool file keeps being replaced"))
}

/// The entries of a spool's bytes: framed records whose checksum matches, and (before the first
/// framed record) JSON lines of the old format. Torn records are skipped.
pub fn parse(bytes: &[u8]) -> Vec<Entry> {
    let mut parts = bytes.split(|b| *b == RS);
    let mut out = Vec::new();
    if let Some(legacy) = parts.next() {
        out.extend(
            legacy
                .split(|c| *c == b'\n')
                .filter_map(|l| serde_json::from_slice::<Entry>(l).ok()),
        );
    }
    out.extend(parts.filter_map(parse_record));
    out
}

fn parse_record(r: &[u8]) -> Option<Entry> {
    let r = r.strip_suffix(b"\n")?;
    let (crc, json) = (r.get(..8)?, r.get(9..)?);
    let crc = u32::from_str_radix(std::str::from_utf8(crc).ok()?, 16).ok()?;
    if r.get(8) != Some(&b' ') || crc32(json) != crc {
        return None;
    }
    serde_json::from_slice(json).ok()
}

/// A spool file being merged, locked: its entries, and the lock kept until [`Merging::finish`].
pub struct Merging {
    file: Flock<fs::File>,
    path: PathBuf,
    pub entries: Vec<Entry>,
}

/// Open and read a spool file under its lock (waiting for a writer that is mid-append).
pub fn read(path: &Path) -> io::Result<Merging> {
    let f = lock(
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(path)?,
    )?;
    let mut bytes = Vec::new();
    (&*f).read_to_end(&mut bytes)?;
    Ok(Merging {
        entries: parse(&bytes),
        file: f,
        path: path.to_path_buf(),
    })
}

impl Merging {
    /// After the entries are committed: remove the file, if its name still refers to the file
    /// that was read (another merger may have removed it and renamed a newer spool in its
    /// place). The lock is held until then, so no one else removes it meanwhile.
    pub fn finish(self) {
        let same = match (self.file.metadata(), fs::symlink_metadata(&self.path)) {
            (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
            _ => false,
        };
        if same {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Number of runs waiting in the spool files of `db`.
pub fn backlog(db: &Path) -> usize {
    [spool_path(db), merging_path(db)]
        .iter()
        .filter_map(|p| fs::read(p).ok())
        .map(|b| parse(&b).len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(uid: &str) -> Entry {
        Entry {
            uid: uid.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_torn_record_loses_only_itself() {
        let a = entry("a");
        let b = entry("b");
        let c = entry("c");
        let (fa, fb, fc) = (frame(&a).unwrap(), frame(&b).unwrap(), frame(&c).unwrap());
        for cut in 1..fb.len() {
            let mut bytes = fa.clone();
            bytes.extend_from_slice(&fb[..cut]);
            bytes.extend_from_slice(&fc);
            let uids: Vec<String> = parse(&bytes).into_iter().map(|e| e.uid).collect();
            assert_eq!(uids, ["a", "c"], "cut at {cut}");
        }
        // A flipped byte inside a record is caught by its checksum.
        let mut bytes = fb.clone();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x01;
        bytes.extend_from_slice(&fc);
        let uids: Vec<String> = parse(&bytes).into_iter().map(|e| e.uid).collect();
        assert_eq!(uids, ["c"]);
    }

    #[test]
    fn a_merger_never_removes_a_newer_mergers_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("t.db");
        let merging = merging_path(&db);
        fs::write(&merging, frame(&entry("first")).unwrap()).unwrap();
        let slow = read(&merging).unwrap();
        assert_eq!(slow.entries.len(), 1);
        // Meanwhile (the old race): the file is merged and removed by another merger, which
        // then renames the next live spool into place.
        fs::remove_file(&merging).unwrap();
        fs::write(&merging, frame(&entry("second")).unwrap()).unwrap();
        slow.finish();
        let left = read(&merging).unwrap();
        let uids: Vec<String> = left.entries.iter().map(|e| e.uid.clone()).collect();
        assert_eq!(uids, ["second"]);
        // The file it read is removed when it is still the one under that name.
        left.finish();
        assert!(!merging.exists());
    }

    #[test]
    fn old_json_lines_are_still_read() {
        let a = entry("old");
        let mut bytes = serde_json::to_vec(&a).unwrap();
        bytes.extend_from_slice(b"\n{\"half");
        let b = entry("new");
        bytes.extend_from_slice(&frame(&b).unwrap());
        let uids: Vec<String> = parse(&bytes).into_iter().map(|e| e.uid).collect();
        assert_eq!(uids, ["old", "new"]);
    }
}
