//! Pass-through output: the bytes read from the child (or stdin) written to ee's stdout/stderr.
//!
//! Owns: unbuffered writes straight to the file descriptor (one write per read, no line
//! buffering), colour-escape removal for destinations that are not terminals (stateful across
//! reads, so a sequence split between two reads is still removed whole; never on a stream that
//! turned out to be binary, which passes byte for byte from then on), and turning a closed
//! destination (EPIPE) into a quiet stop. Also the grep-style decorations of passed-through
//! lines: `-n` line numbers and match highlighting (`--color`, `EARLYEXIT_COLORS`, `NO_COLOR`).

use std::io;
use std::os::fd::{BorrowedFd, RawFd};

use crate::engine::matcher::Re;
use crate::engine::When;

/// grep's default match colour (bold red), as SGR parameters.
pub const DEFAULT_MATCH_SGR: &str = "01;31";

/// The SGR parameters of the match highlight: `EARLYEXIT_COLORS` as `01;32` or `mt=01;32`
/// (GREP_COLORS' key), else bold red. An invalid value is reported and ignored.
pub fn match_sgr() -> String {
    let Ok(v) = std::env::var("EARLYEXIT_COLORS") else {
        return DEFAULT_MATCH_SGR.into();
    };
    let v = v.trim();
    let sgr = v
        .split(':')
        .find_map(|kv| kv.strip_prefix("mt="))
        .unwrap_or(v);
    if sgr.is_empty() || sgr.len() > 32 || !sgr.bytes().all(|b| b.is_ascii_digit() || b == b';') {
        // `note` makes any control character in the value visible.
        note(
            false,
            &format!("EARLYEXIT_COLORS='{v}' ignored: give SGR parameters like 01;31 or mt=01;31"),
        );
        return DEFAULT_MATCH_SGR.into();
    }
    sgr.into()
}

/// Is `NO_COLOR` set (to anything non-empty, as no-color.org says)?
pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Highlighting of the matched text in passed-through lines.
#[derive(Debug, Clone)]
pub struct Highlight {
    /// Any deciding pattern (main, `-e`, `-s`).
    pub re: Re,
    /// `-X`: lines that never count are not highlighted either.
    pub exclude: Vec<Re>,
    /// `ESC [ params m ESC [ K`, as grep writes it.
    pub start: Vec<u8>,
}

/// End of a highlighted span, as grep writes it.
const HL_END: &[u8] = b"\x1b[m\x1b[K";

impl Highlight {
    pub fn new(re: Re, exclude: Vec<Re>, sgr: &str) -> Highlight {
        Highlight {
            re,
            exclude,
            start: format!("\x1b[{sgr}m\x1b[K").into_bytes(),
        }
    }

    /// Copy `piece` (part of one line, maybe with its terminator) with the matches highlighted.
    fn paint(&self, piece: &[u8], out: &mut Vec<u8>) {
        let mut body_end = piece.len();
        while body_end > 0 && matches!(piece[body_end - 1], b'\n' | b'\r') {
            body_end -= 1;
        }
        let body = &piece[..body_end];
        if body.is_empty() || self.exclude.iter().any(|x| x.is_match(body)) {
            out.extend_from_slice(piece);
            return;
        }
        let escapes = escape_spans(body);
        let mut at = 0;
        let mut copied = 0;
        while at <= body.len() {
            let Some((s, e)) = self.re.find_at(body, at) else {
                break;
            };
            // An empty match, or one touching the child's own escape sequence (`\d` in
            // `ESC[31m`), is left alone: highlighting must never break a sequence.
            if e == s || escapes.iter().any(|&(a, b)| s < b && a < e) {
                at = s + 1;
                continue;
            }
            out.extend_from_slice(&body[copied..s]);
            out.extend_from_slice(&self.start);
            out.extend_from_slice(&body[s..e]);
            out.extend_from_slice(HL_END);
            copied = e;
            at = e;
        }
        out.extend_from_slice(&piece[copied..]);
    }
}

/// What to highlight, before compilation: most runs never highlight (their output is not a
/// terminal), so the regex is compiled only for a destination that gets highlights.
#[derive(Debug, Clone)]
pub struct HighlightSource {
    /// Regex source of the deciding patterns, and whether it is `-P`.
    pub source: String,
    pub pcre: bool,
    pub exclude: Vec<Re>,
}

/// Byte spans of the escape sequences in a line (CSI, OSC, two-byte escapes).
fn escape_spans(line: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(k) = memchr::memchr(0x1b, &line[i..]) {
        let start = i + k;
        let mut j = start + 1;
        match line.get(j) {
            Some(b'[') => {
                j += 1;
                while j < line.len() && !(0x40..=0x7e).contains(&line[j]) {
                    j += 1;
                }
                j += 1;
            }
            Some(b']') => {
                while j < line.len()
                    && line[j] != 0x07
                    && !(line[j] == b'\\' && line[j - 1] == 0x1b)
                {
                    j += 1;
                }
                j += 1;
            }
            Some(_) => j += 1,
            None => {}
        }
        let end = j.min(line.len());
        out.push((start, end));
        i = end;
    }
    out
}

/// The decorations asked for on the command line, applied to each destination.
#[derive(Debug, Clone, Default)]
pub struct Decor {
    /// `-n`: number the passed-through lines of each stream.
    pub line_numbers: bool,
    /// What to highlight, if highlighting may apply at all.
    pub highlight: Option<HighlightSource>,
    /// `--color`: auto highlights only on a terminal (and not with `NO_COLOR`).
    pub color: When,
    compiled: std::cell::OnceCell<Option<Highlight>>,
}

impl Decor {
    pub fn new(line_numbers: bool, highlight: Option<HighlightSource>, color: When) -> Decor {
        Decor {
            line_numbers,
            highlight,
            color,
            compiled: Default::default(),
        }
    }

    /// Decorate the output to `dest` as asked.
    pub fn apply(&self, mut out: Out, dest: RawFd) -> Out {
        out.numbered = self.line_numbers;
        let Some(src) = &self.highlight else {
            return out;
        };
        let on = match self.color {
            When::Always => true,
            When::Never => false,
            When::Auto => is_tty(dest) && !no_color(),
        };
        if on {
            out.highlight = self
                .compiled
                .get_or_init(|| {
                    crate::engine::matcher::compile_highlight(&src.source, src.pcre)
                        .map(|re| Highlight::new(re, src.exclude.clone(), &match_sgr()))
                })
                .clone();
        }
        out
    }
}

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
    /// The decorated copy of a read, kept between reads so decorating allocates nothing.
    decorated: Vec<u8>,
    /// The destination was closed (EPIPE): nothing more is written.
    pub closed: bool,
    /// `--fd-prefix` label written at the start of every line.
    prefix: Option<Vec<u8>>,
    at_line_start: bool,
    /// The last byte written ended a line (or nothing was written yet).
    pub ends_line: bool,
    /// `-n`: number each line.
    numbered: bool,
    /// Lines started so far (the number of the current one).
    line_no: u64,
    highlight: Option<Highlight>,
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
            decorated: Vec::new(),
            closed: false,
            prefix: None,
            at_line_start: true,
            ends_line: true,
            numbered: false,
            line_no: 0,
            highlight: None,
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
        if self.prefix.is_some() || self.numbered || self.highlight.is_some() {
            let mut decorated = std::mem::take(&mut self.decorated);
            decorated.clear();
            self.decorate(buf, &mut decorated);
            let r = self.write_filtered(&decorated);
            self.decorated = decorated;
            return r;
        }
        self.write_filtered(buf)
    }

    /// Labels, line numbers and highlights, line by line (a line split between two reads is
    /// labelled once; a match split between two reads is not highlighted).
    fn decorate(&mut self, buf: &[u8], out: &mut Vec<u8>) {
        use std::io::Write as _;
        for piece in buf.split_inclusive(|&b| b == b'\n') {
            if self.at_line_start {
                if let Some(prefix) = &self.prefix {
                    out.extend_from_slice(prefix);
                }
                if self.numbered {
                    self.line_no += 1;
                    // Writing to a Vec cannot fail.
                    let _ = write!(out, "{}:", self.line_no);
                }
            }
            match &self.highlight {
                Some(h) => h.paint(piece, out),
                None => out.extend_from_slice(piece),
            }
            self.at_line_start = piece.last() == Some(&b'\n');
        }
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

    #[test]
    fn highlights_never_break_the_childs_escapes() {
        let re = Re::Rust(regex::bytes::Regex::new(r"\d+|m").unwrap());
        let h = Highlight::new(re, Vec::new(), "1");
        let mut out = Vec::new();
        h.paint(b"\x1b[31mred 42\x1b[0m\n", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\x1b[31mred \x1b[1m\x1b[K42\x1b[m\x1b[K\x1b[0m\n"
        );
    }

    #[test]
    fn numbers_and_highlights_across_reads() {
        let re = Re::Rust(regex::bytes::Regex::new("ERR|x*").unwrap());
        let mut o = Out::new(-1, false);
        o.numbered = true;
        o.highlight = Some(Highlight::new(re, Vec::new(), "1"));
        let mut got = Vec::new();
        o.decorate(b"a ERR b ERR\r\nsplit li", &mut got);
        o.decorate(b"ne\n\nERR\n", &mut got);
        assert_eq!(
            String::from_utf8(got).unwrap(),
            "1:a \x1b[1m\x1b[KERR\x1b[m\x1b[K b \x1b[1m\x1b[KERR\x1b[m\x1b[K\r\n2:split line\n3:\n\
             4:\x1b[1m\x1b[KERR\x1b[m\x1b[K\n"
        );
    }
}
