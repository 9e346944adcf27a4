//! Log files (`-l`, `--file-prefix`, `--log-dir`, `-a`, `-z`): the complete output of each
//! stream, including what arrived after the stop decision while ee was still draining.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;

/// Where and how to log.
#[derive(Debug, Clone)]
pub struct LogSpec {
    /// Path prefix: files are `PREFIX.log`, `PREFIX.err.log`, `PREFIX.fdN.log` (+ `.gz`).
    pub prefix: PathBuf,
    pub append: bool,
    pub gzip: bool,
}

impl LogSpec {
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
        let f = OpenOptions::new()
            .create(true)
            .write(true)
            .append(spec.append)
            .truncate(!spec.append)
            .open(path)?;
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
