//! Pass-through output: the bytes read from the child (or stdin) written to ee's stdout/stderr.
//!
//! Owns: unbuffered writes straight to the file descriptor (one write per read, no line
//! buffering), colour-escape removal for destinations that are not terminals (stateful across
//! reads, so a sequence split between two reads is still removed whole), and turning a closed
//! destination (EPIPE) into a quiet stop.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

/// Removes CSI and OSC escape sequences from a byte stream.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Esc {
    #[default]
    Text,
    Esc,
    Csi,
    Osc,
    OscEsc,
}

/// One output destination.
pub struct Out {
    fd: RawFd,
    strip: bool,
    state: Esc,
    scratch: Vec<u8>,
    /// The destination was closed (EPIPE): nothing more is written.
    pub closed: bool,
}

impl Out {
    pub fn new(fd: RawFd, strip_colour: bool) -> Out {
        Out {
            fd,
            strip: strip_colour,
            state: Esc::Text,
            scratch: Vec::new(),
            closed: false,
        }
    }

    /// Write all of `buf` (colour removed when asked). Returns an error of kind BrokenPipe when
    /// the reader went away.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.closed || buf.is_empty() {
            return Ok(());
        }
        if self.strip && (self.state != Esc::Text || memchr::memchr(0x1b, buf).is_some()) {
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            self.filter(buf, &mut scratch);
            let r = write_all(self.fd, &scratch);
            self.scratch = scratch;
            return self.check(r);
        }
        let r = write_all(self.fd, buf);
        self.check(r)
    }

    fn check(&mut self, r: io::Result<()>) -> io::Result<()> {
        if let Err(e) = &r {
            if e.kind() == io::ErrorKind::BrokenPipe {
                self.closed = true;
            }
        }
        r
    }

    fn filter(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        for &b in buf {
            self.state = match (self.state, b) {
                (Esc::Text, 0x1b) => Esc::Esc,
                (Esc::Text, _) => {
                    out.push(b);
                    Esc::Text
                }
                (Esc::Esc, b'[') => Esc::Csi,
                (Esc::Esc, b']') => Esc::Osc,
                (Esc::Esc, _) => Esc::Text,
                (Esc::Csi, 0x40..=0x7e) => Esc::Text,
                (Esc::Csi, _) => Esc::Csi,
                (Esc::Osc, 0x07) => Esc::Text,
                (Esc::Osc, 0x1b) => Esc::OscEsc,
                (Esc::Osc, _) => Esc::Osc,
                (Esc::OscEsc, _) => Esc::Text,
            };
        }
    }
}

/// Write everything, retrying on EINTR and waiting on EAGAIN (a non-blocking inherited fd).
pub fn write_all(fd: RawFd, mut buf: &[u8]) -> io::Result<()> {
    // SAFETY: the fd is one of ee's standard descriptors, open for the whole run.
    let bfd = unsafe { BorrowedFd::borrow_raw(fd) };
    while !buf.is_empty() {
        match nix::unistd::write(bfd, buf) {
            Ok(0) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) => {
                let mut fds = [nix::poll::PollFd::new(bfd, nix::poll::PollFlags::POLLOUT)];
                let _ = nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(100u16));
            }
            Err(e) => return Err(io::Error::from(e)),
        }
    }
    Ok(())
}

/// Is this descriptor a terminal?
pub fn is_tty(fd: RawFd) -> bool {
    // SAFETY: isatty only inspects the descriptor.
    nix::unistd::isatty(fd).unwrap_or(false)
}

/// ee's own one-line message on stderr, prefixed `ee:`.
pub fn note(quiet: bool, msg: &str) {
    if !quiet {
        let _ = write_all(2, format!("ee: {msg}\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_across_reads() {
        let mut o = Out::new(-1, true);
        let mut out = Vec::new();
        o.filter(b"a\x1b[3", &mut out);
        o.filter(b"1mred\x1b[0m b\x1b]0;t\x07c", &mut out);
        assert_eq!(out, b"ared bc");
    }
}
