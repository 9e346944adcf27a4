//! ee's own standard output, for every subcommand: the `out!`/`outln!` macros (the syntax of
//! `print!`/`println!`) and [`writer`] for bulk output. A closed stdout (EPIPE: `ee … | head -1`)
//! never panics: the write is dropped, every later one too, and ee ends quietly with exit status
//! 141, as a program killed by SIGPIPE would ([`finish`]). Any other write error (a full disk) is
//! one line on stderr and exit status 1.
//!
//! The pass-through of a watched command's bytes is `crate::engine::printer`'s job, not this module's.

use std::fmt;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU8, Ordering};

/// Exit status when ee's stdout was closed (128 + SIGPIPE).
pub const EXIT_CLOSED: i32 = 141;

const OPEN: u8 = 0;
const CLOSED: u8 = 1;
const FAILED: u8 = 2;

/// What became of stdout: OPEN, CLOSED (EPIPE) or FAILED (another error, kept in `ERROR`).
static STATE: AtomicU8 = AtomicU8::new(OPEN);
static ERROR: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// `print!` for ee's stdout: never panics; see the module doc.
#[macro_export]
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::print(::std::format_args!($($arg)*))
    };
}

/// `println!` for ee's stdout: never panics; see the module doc.
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::print(::std::format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::print_line(::std::format_args!($($arg)*))
    };
}

/// True once a write found stdout closed (or failing): later writes are dropped.
pub fn closed() -> bool {
    STATE.load(Ordering::Relaxed) != OPEN
}

/// Note what a failed write means for the rest of the run; returns the error unchanged.
fn record(e: io::Error) -> io::Error {
    if e.kind() == io::ErrorKind::BrokenPipe {
        let _ = STATE.compare_exchange(OPEN, CLOSED, Ordering::Relaxed, Ordering::Relaxed);
    } else if STATE
        .compare_exchange(OPEN, FAILED, Ordering::Relaxed, Ordering::Relaxed)
        .is_ok()
    {
        if let Ok(mut g) = ERROR.lock() {
            *g = Some(e.to_string());
        }
    }
    e
}

/// Used by `out!`.
pub fn print(args: fmt::Arguments) {
    if closed() {
        return;
    }
    let mut o = io::stdout().lock();
    if let Err(e) = o.write_fmt(args) {
        record(e);
    }
}

/// Used by `outln!`: the text and its newline in one locked write.
pub fn print_line(args: fmt::Arguments) {
    if closed() {
        return;
    }
    let mut o = io::stdout().lock();
    if let Err(e) = o.write_fmt(args).and_then(|_| o.write_all(b"\n")) {
        record(e);
    }
}

/// Write bytes as they are (text built elsewhere, a roff page).
pub fn write_bytes(b: &[u8]) {
    if closed() {
        return;
    }
    let mut o = io::stdout().lock();
    if let Err(e) = o.write_all(b) {
        record(e);
    }
}

/// The writer for bulk output (an export of many rows): buffered, and an error ends the loop
/// that writes (`writeln!(w, …)?`) while the state is recorded for [`finish`].
pub struct Writer {
    inner: io::BufWriter<io::StdoutLock<'static>>,
}

/// A buffered writer on ee's stdout; flush it (or drop it) before ee exits.
pub fn writer() -> Writer {
    Writer {
        inner: io::BufWriter::with_capacity(1 << 16, io::stdout().lock()),
    }
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if closed() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.inner.write(buf).map_err(record)
    }
    fn flush(&mut self) -> io::Result<()> {
        if closed() {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        self.inner.flush().map_err(record)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Flush stdout and decide ee's exit status. `code` is the command's own status (`failed`: it
/// ended with an error, whose status wins). Once stdout was found closed a command that did not
/// fail ends with 141; when writing failed otherwise, one line says so and the status is 1.
pub fn finish(code: i32, failed: bool) -> i32 {
    if !closed() {
        if let Err(e) = io::stdout().lock().flush() {
            record(e);
        }
    }
    match STATE.load(Ordering::Relaxed) {
        CLOSED if !failed => EXIT_CLOSED,
        FAILED => {
            let msg = ERROR
                .lock()
                .ok()
                .and_then(|g| g.clone())
                .unwrap_or_default();
            crate::engine::printer::note(false, &format!("cannot write to standard output: {msg}"));
            if code == 0 {
                1
            } else {
                code
            }
        }
        _ => code,
    }
}

#[cfg(test)]
mod tests {
    /// The macros take exactly what print!/println! take (this test compiles, or it fails).
    #[test]
    fn println_compatible_syntax() {
        let x = 1;
        outln!();
        outln!("plain");
        outln!("{} {}", 1, "two",);
        outln!("{x} {x:>3} {0}", x);
        out!("no newline {}", x);
        out!("\n");
        assert!(!super::closed());
    }
}
