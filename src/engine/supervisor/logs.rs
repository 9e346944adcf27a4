//! Log files (`-l`, `--file-prefix`, `--log-dir`, `-a`, `-z`): the complete output of each
//! stream, including what arrived after the stop decision while ee was still draining.
//!
//! Owns where logs go by default (a private directory, mode 0700, under the user's state
//! directory: never a shared one such as /tmp) and how ee opens a file it writes for the user
//! (logs and the `--pid-file`): never through a final symbolic link, created with mode 0600, and
//! an existing file only when it is a regular file of the user's own.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// The directory the log files go to, made sure of before they are opened.
#[derive(Debug, Clone)]
pub enum LogDir {
    /// `--file-prefix` with a directory of its own: it must exist.
    Prefix,
    /// `--log-dir`: created (mode 0700, with its parents) when missing.
    Given(PathBuf),
    /// ee's private default: created 0700, and it must be the user's, with no access for others.
    Private(PathBuf),
    /// No private directory could be found (no home directory).
    Unavailable,
}

/// ee's private log directory: `earlyexit/logs` under the user's state directory
/// (`$XDG_STATE_HOME`, `~/.local/state`), else the runtime or local data directory.
pub fn private_dir() -> Option<PathBuf> {
    dirs::state_dir()
        .or_else(dirs::runtime_dir)
        .or_else(dirs::data_local_dir)
        .map(|d| d.join("earlyexit").join("logs"))
}

/// Where and how to log.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// Path prefix: files are `PREFIX.log`, `PREFIX.err.log`, `PREFIX.fdN.log` (+ `.gz`).
    pub prefix: PathBuf,
    pub dir: LogDir,
    pub append: bool,
    pub gzip: bool,
}

impl LogSpec {
    /// Make sure the log directory exists (and, for the private one, that it is private).
    pub fn prepare_dir(&self) -> io::Result<()> {
        match &self.dir {
            LogDir::Prefix => Ok(()),
            LogDir::Unavailable => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no private directory for logs (no home directory); give --log-dir or --file-prefix",
            )),
            LogDir::Given(d) => make_dir(d).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot create the log directory {}: {e}", d.display()),
                )
            }),
            LogDir::Private(d) => make_private_dir(d).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot use the log directory {}: {e}", d.display()),
                )
            }),
        }
    }

    /// The file for a stream suffix (`""` stdout/stdin, `"err"`, `"fd3"`).
    pub fn path(&self, suffix: &str) -> PathBuf {
        let mut s = self.prefix.clone().into_os_string();
        if !suffix.is_empty() {
            s.push(".");
            s.push(suffix);
        }
        s.push(if self.gzip { ".log.gz" } else { ".log" });
        PathBuf::from(s)
    }
}

/// One open log file.
pub enum LogSink {
    Plain(File),
    Gzip(GzEncoder<File>),
}

impl LogSink {
    pub fn open(path: &Path, spec: &LogSpec) -> io::Result<LogSink> {
        let f = open_private(path, spec.append)?;
        Ok(if spec.gzip {
            LogSink::Gzip(GzEncoder::new(f, Compression::fast()))
        } else {
            LogSink::Plain(f)
        })
    }

    pub fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            LogSink::Plain(f) => f.write_all(buf),
            LogSink::Gzip(g) => g.write_all(buf),
        }
    }

    /// Flush and, for gzip, write the trailer. Appending later adds a new gzip member.
    pub fn finish(self) -> io::Result<()> {
        match self {
            LogSink::Plain(mut f) => f.flush(),
            LogSink::Gzip(g) => g.finish().map(drop),
        }
    }
}

/// Create `dir` and its missing parents with mode 0700; an existing directory is used as it is.
fn make_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Create ee's private directory, or check the existing one: a directory of the user's own,
/// closed to everyone else (a looser mode is tightened to 0700).
fn make_private_dir(dir: &Path) -> io::Result<()> {
    make_dir(dir)?;
    let m = std::fs::symlink_metadata(dir)?;
    if !m.is_dir() {
        return Err(io::Error::other("not a directory"));
    }
    if m.uid() != nix::unistd::geteuid().as_raw() {
        return Err(io::Error::other("it belongs to another user"));
    }
    if m.mode() & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Open a file ee writes on the user's behalf (a log, the PID file) for writing, safely in a
/// shared directory: a final symbolic link is never followed, a new file gets mode 0600, and an
/// existing one is used only when it is a regular file of the user's own with no other hard
/// link. It is truncated (after those checks, never before) unless `append`.
pub fn open_private(path: &Path, append: bool) -> io::Result<File> {
    let f = OpenOptions::new()
        .write(true)
        .create(true)
        .append(append)
        .mode(0o600)
        // O_NONBLOCK: a FIFO planted at the path must not hang the open; cleared below.
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_NONBLOCK | nix::libc::O_NOCTTY)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ELOOP) => io::Error::other("it is a symbolic link (not followed)"),
            Some(nix::libc::ENXIO) => io::Error::other("not a regular file"),
            _ => e,
        })?;
    let m = f.metadata()?;
    if !m.file_type().is_file() {
        return Err(io::Error::other("not a regular file"));
    }
    if m.uid() != nix::unistd::geteuid().as_raw() {
        return Err(io::Error::other("it belongs to another user"));
    }
    if m.nlink() > 1 {
        return Err(io::Error::other("it has other hard links"));
    }
    let flags = if append { nix::libc::O_APPEND } else { 0 };
    // SAFETY: F_SETFL on a descriptor we own.
    if unsafe {
        nix::libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            nix::libc::F_SETFL,
            flags,
        )
    } < 0
    {
        return Err(io::Error::last_os_error());
    }
    if !append {
        f.set_len(0)?;
    }
    Ok(f)
}
