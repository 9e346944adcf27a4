//! Pass-through output: the bytes read from the child (or stdin) written to ee's stdout/stderr.
//!
//! Owns: unbuffered writes straight to the file descriptor (one write per read, no line
//! buffering), colour-escape removal for destinations that are not terminals (stateful across
//! reads, so a sequence split between two reads is still removed whole; never on a stream that
//! turned out to be binary, which passes byte for byte from then on), and turning a closed
//! destination (EPIPE) into a quiet stop.

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

/// Where the colour filter is within an escape sequence.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum EscState {
    #[default]
    Text,
    /// Saw ESC.
    Escape,
    /// Saw ESC [ and only SGR parameter bytes since.
    Csi,
    /// Saw ESC ( : a charset designation, dropped with its next byte (tput sgr0 emits ESC ( B).
    Charset,
}

/// One output destination.
pub struct Out {
    fd: RawFd,
    strip: bool,
    state: EscState,
    /// Bytes of a possible colour sequence not yet known to be one.
    held: Vec<u8>,
    /// The stream turned out to be binary: no more filtering.
    binary: bool,
    /// The start of a UTF-8 sequence cut at the end of the last read (at most 3 bytes).
    utf8_tail: Vec<u8>,
    scratch: Vec<u8>,
    /// The destination was closed (EPIPE): nothing more is written.
    pub closed: bool,
    /// `--fd-prefix` label written at the start of every line.
    prefix: Option<Vec<u8>>,
    at_line_start: bool,
    /// The last byte written ended a line (or nothing was written yet).
    pub ends_line: bool,
}

impl Out {
    pub fn new(fd: RawFd, strip_colour: bool) -> Out {
        Out {
            fd,
            strip: strip_colour,
            state: EscState::Text,
            held: Vec::new(),
            binary: false,
            utf8_tail: Vec::new(),
            scratch: Vec::new(),
            closed: false,
            prefix: None,
            at_line_start: true,
            ends_line: true,
        }
    }

    /// Label every line with `label` (`[stdout] `).
    pub fn with_prefix(mut self, label: &str) -> Out {
        self.prefix = Some(label.as_bytes().to_vec());
        self
    }

    /// Write all of `buf` (colour removed when asked). Returns an error of kind BrokenPipe when
    /// the reader went away.
    pub fn write(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.closed || buf.is_empty() {
            return Ok(());
        }
        self.ends_line = buf.last() == Some(&b'\n');
        if self.strip && !self.binary && self.looks_binary(buf) {
            // Binary from here on: what was held back as a possible colour sequence goes out as
            // it came, and nothing more is filtered.
            self.binary = true;
            self.strip = false;
            self.state = EscState::Text;
            let held = std::mem::take(&mut self.held);
            let r = write_all(self.fd, &held);
            self.check(r)?;
        }
        if let Some(prefix) = &self.prefix {
            let mut labelled = Vec::with_capacity(buf.len() + 64);
            for piece in buf.split_inclusive(|&b| b == b'\n') {
                if self.at_line_start {
                    labelled.extend_from_slice(prefix);
                }
                labelled.extend_from_slice(piece);
                self.at_line_start = piece.last() == Some(&b'\n');
            }
            return self.write_filtered(&labelled);
        }
        self.write_filtered(buf)
    }

    fn write_filtered(&mut self, buf: &[u8]) -> io::Result<()> {
        if self.strip && (self.state != EscState::Text || memchr::memchr(0x1b, buf).is_some()) {
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

    /// Is this read binary rather than text: a NUL byte, or bytes that are not UTF-8 (a sequence
    /// cut at the end of the read is completed by the next one)?
    fn looks_binary(&mut self, buf: &[u8]) -> bool {
        if memchr::memchr(0, buf).is_some() {
            return true;
        }
        let mut rest = buf;
        if let Some(&lead) = self.utf8_tail.first() {
            let want = match lead {
                0xc0..=0xdf => 2,
                0xe0..=0xef => 3,
                _ => 4,
            };
            let take = (want - self.utf8_tail.len()).min(rest.len());
            self.utf8_tail.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.utf8_tail.len() < want {
                return false;
            }
            let whole = std::mem::take(&mut self.utf8_tail);
            if std::str::from_utf8(&whole).is_err() {
                return true;
            }
        }
        match std::str::from_utf8(rest) {
            Ok(_) => false,
            Err(e) if e.error_len().is_none() => {
                self.utf8_tail = rest[e.valid_up_to()..].to_vec();
                false
            }
            Err(_) => true,
        }
    }

    /// Remove SGR colour sequences (`ESC [ params m`) and the charset reset that comes with them
    /// (`ESC ( B`); anything else, including other escape sequences and binary data, passes
    /// unchanged.
    fn filter(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        for &b in buf {
            match (self.state, b) {
                (EscState::Text, 0x1b) => {
                    self.held.push(b);
                    self.state = EscState::Escape;
                }
                (EscState::Text, _) => out.push(b),
                (EscState::Escape, b'[') => {
                    self.held.push(b);
                    self.state = EscState::Csi;
                }
                (EscState::Escape, b'(') => {
                    self.held.push(b);
                    self.state = EscState::Charset;
                }
                (EscState::Charset, _) => {
                    self.held.clear();
                    self.state = EscState::Text;
                }
                (EscState::Csi, b'0'..=b'9' | b';' | b':') => self.held.push(b),
                (EscState::Csi, b'm') => {
                    self.held.clear();
                    self.state = EscState::Text;
                }
                (_, _) => {
                    out.append(&mut self.held);
                    self.state = EscState::Text;
                    if b == 0x1b {
                        self.held.push(b);
                        self.state = EscState::Escape;
                    } else {
                        out.push(b);
                    }
                }
            }
        }
    }

    /// End of stream: bytes held as a possible colour sequence are written as they were.
    pub fn flush(&mut self) {
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.state = EscState::Text;
            let r = write_all(self.fd, &held);
            let _ = self.check(r);
        }
    }
}

/// `--progress`: one self-updating status line on stderr, erased before any output is written
/// and redrawn only when the output stands at the start of a line, so it never mixes into it.
pub struct Progress {
    shown: bool,
}

impl Progress {
    /// A status line, when stderr is a terminal.
    pub fn new() -> Option<Progress> {
        is_tty(2).then_some(Progress { shown: false })
    }

    /// Erase the status line before output is written.
    pub fn erase(&mut self) {
        if self.shown {
            let _ = write_all(2, b"\r\x1b[K");
            self.shown = false;
        }
    }

    /// Draw the status line (when the cursor is at the start of a line).
    pub fn draw(&mut self, text: &str, at_line_start: bool) {
        if at_line_start {
            let _ = write_all(2, format!("\r\x1b[K\x1b[2m{text}\x1b[0m").as_bytes());
            self.shown = true;
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
        // The message may hold stored or user-supplied text: no control character gets through.
        let _ = write_all(
            2,
            format!("ee: {}\n", crate::escape::escape(msg)).as_bytes(),
        );
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
        o.filter(
            b"1mred\x1b[0m b\x1b[2Kc\x1b\x1c FAILED\x1b(B\x1b[m",
            &mut out,
        );
        assert_eq!(out, b"ared b\x1b[2Kc\x1b\x1c FAILED");
    }

    #[test]
    fn text_and_binary_told_apart_across_reads() {
        let mut o = Out::new(-1, true);
        // "é" (c3 a9) and "€" (e2 82 ac) cut between reads are still text.
        assert!(!o.looks_binary(b"caf\xc3"));
        assert!(!o.looks_binary(b"\xa9 \xe2"));
        assert!(!o.looks_binary(b"\x82"));
        assert!(!o.looks_binary(b"\xac ok\x1b[31m"));
        assert!(o.looks_binary(b"a\0b"));
        let mut o = Out::new(-1, true);
        assert!(o.looks_binary(b"\xff\xfe"));
        let mut o = Out::new(-1, true);
        assert!(!o.looks_binary(b"\xe2\x82"));
        assert!(o.looks_binary(b"A"));
    }
}
