//! Byte-level line scanning of one output stream.
//!
//! Owns: splitting a stream's chunks into complete lines, carrying a partial line across reads in
//! bounded memory (the first [`MAX_LINE`] bytes of a line are matched, the rest only counted),
//! searching whole buffers of complete lines with the matcher's combined regex (one search per
//! buffer, no allocation per line), the `-B` context kept for reports, and line/byte counters.
//! It reports interesting lines to a callback, which says whether to stop after that line.

use std::collections::VecDeque;

use crate::engine::matcher::{strip_ansi, Class, Matcher, MAX_LINE};

/// Which stream a scanner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdin,
    Stdout,
    Stderr,
    /// An extra descriptor given to the child with `--fd N`.
    Fd(i32),
}

impl Stream {
    /// `stdin`, `stdout`, `stderr` or `fdN`.
    pub fn name(self) -> String {
        match self {
            Stream::Stdin => "stdin".into(),
            Stream::Stdout => "stdout".into(),
            Stream::Stderr => "stderr".into(),
            Stream::Fd(n) => format!("fd{n}"),
        }
    }
}

/// A classified hit on a line.
#[derive(Debug, Clone, Copy)]
pub struct Hit<'a> {
    pub class: Class,
    /// Span of the matched text within `LineEvent::line`.
    pub start: usize,
    pub end: usize,
    pub pattern: &'a str,
}

/// One line reported to the callback: every line when asked for, otherwise only lines with a hit.
#[derive(Debug)]
pub struct LineEvent<'a> {
    pub stream: Stream,
    /// 1-based line number within the stream.
    pub line_no: u64,
    /// The line without its terminator, ANSI escapes removed.
    pub line: &'a [u8],
    pub hit: Option<Hit<'a>>,
    /// Up to `-B` lines before this one (filled for hits only).
    pub context: Vec<Vec<u8>>,
}

/// What the callback wants after a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Go on, reporting only lines with a hit.
    Go,
    /// Go on, reporting every line from now on (a decision is draining, or stuck detection).
    EveryLine,
    /// Stop after this line.
    Stop,
}

/// Longest context line kept for reports.
const CONTEXT_LINE_CAP: usize = 1000;

/// Per-stream scanning state.
pub struct Scanner {
    pub stream: Stream,
    pending: Vec<u8>,
    overflow: bool,
    /// Complete lines seen so far (a line cut at MAX_LINE counts when it is cut).
    pub lines: u64,
    pub bytes: u64,
    /// Whether matching applies to this stream (`--stdout` / `--stderr`).
    pub matching: bool,
    before: usize,
    prev: VecDeque<Vec<u8>>,
}

impl Scanner {
    pub fn new(stream: Stream, matching: bool, before: usize) -> Scanner {
        Scanner {
            stream,
            pending: Vec::new(),
            overflow: false,
            lines: 0,
            bytes: 0,
            matching,
            before,
            prev: VecDeque::new(),
        }
    }

    /// Feed a chunk. `every_line` asks for an event for every line (stuck detection, counting
    /// lines after a match). Returns `Some(end)` when the callback asked to stop after a line that
    /// ends at byte `end` of `chunk` (newline included).
    pub fn feed(
        &mut self,
        chunk: &[u8],
        m: &Matcher,
        mut every_line: bool,
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> Option<usize> {
        self.bytes += chunk.len() as u64;
        let mut pos = 0;
        if !self.pending.is_empty() || self.overflow {
            match memchr::memchr(b'\n', chunk) {
                None => {
                    if self.push_partial(chunk, m, every_line, f) == Flow::Stop {
                        return Some(chunk.len());
                    }
                    return None;
                }
                Some(nl) => {
                    pos = nl + 1;
                    if self.overflow {
                        self.overflow = false;
                    } else {
                        let room = MAX_LINE - self.pending.len();
                        self.pending.extend_from_slice(&chunk[..nl.min(room)]);
                        let line = std::mem::take(&mut self.pending);
                        let flow = self.one_line(&line, m, every_line, &[], f);
                        self.remember_line(&line);
                        self.pending = line;
                        self.pending.clear();
                        match flow {
                            Flow::Stop => return Some(pos),
                            Flow::EveryLine => every_line = true,
                            Flow::Go => {}
                        }
                    }
                }
            }
        }
        let rest = &chunk[pos..];
        let complete = match memchr::memrchr(b'\n', rest) {
            Some(i) => i + 1,
            None => 0,
        };
        if complete > 0 {
            if let Some(end) = self.region(&rest[..complete], m, every_line, f) {
                return Some(pos + end);
            }
        }
        let tail = &rest[complete..];
        if !tail.is_empty() && self.push_partial(tail, m, every_line, f) == Flow::Stop {
            return Some(chunk.len());
        }
        None
    }

    /// End of stream: a last line without a newline is still a line.
    pub fn finish(
        &mut self,
        m: &Matcher,
        every_line: bool,
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> bool {
        if self.overflow || self.pending.is_empty() {
            self.overflow = false;
            return false;
        }
        let line = std::mem::take(&mut self.pending);
        self.one_line(&line, m, every_line, &[], f) == Flow::Stop
    }

    /// Append to the partial line; a line reaching MAX_LINE is matched now and the rest skipped.
    fn push_partial(
        &mut self,
        part: &[u8],
        m: &Matcher,
        every_line: bool,
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> Flow {
        if self.overflow {
            return Flow::Go;
        }
        let room = MAX_LINE - self.pending.len();
        self.pending
            .extend_from_slice(&part[..part.len().min(room)]);
        if self.pending.len() >= MAX_LINE {
            let line = std::mem::take(&mut self.pending);
            self.overflow = true;
            let flow = self.one_line(&line, m, every_line, &[], f);
            self.pending = Vec::new();
            return flow;
        }
        Flow::Go
    }

    fn one_line(
        &mut self,
        raw: &[u8],
        m: &Matcher,
        every_line: bool,
        region_before: &[u8],
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> Flow {
        self.lines += 1;
        let line = strip_ansi(raw);
        let hit = if self.matching {
            m.classify(&line).map(|(class, start, end, pattern)| Hit {
                class,
                start,
                end,
                pattern,
            })
        } else {
            None
        };
        if hit.is_none() && !every_line {
            return Flow::Go;
        }
        let context = if hit.is_some() {
            self.context(region_before)
        } else {
            Vec::new()
        };
        f(LineEvent {
            stream: self.stream,
            line_no: self.lines,
            line: &line,
            hit,
            context,
        })
    }

    /// Scan a buffer of complete lines (ends with '\n').
    fn region(
        &mut self,
        region: &[u8],
        m: &Matcher,
        every_line: bool,
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> Option<usize> {
        let per_line = every_line
            || (self.matching
                && (m.needs_every_line()
                    || (!m.is_empty() && memchr::memchr(0x1b, region).is_some())));
        let result = if per_line {
            self.per_line(region, 0, every_line, m, f)
        } else {
            self.bulk(region, m, f)
        };
        let end = result.unwrap_or(region.len());
        self.remember(&region[..end]);
        result
    }

    /// Classify the lines of `region` from byte `from` one by one.
    fn per_line(
        &mut self,
        region: &[u8],
        from: usize,
        mut every_line: bool,
        m: &Matcher,
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> Option<usize> {
        let mut start = from;
        for nl in memchr::memchr_iter(b'\n', &region[from..]).map(|i| i + from) {
            match self.one_line(&region[start..nl], m, every_line, &region[..start], f) {
                Flow::Stop => return Some(nl + 1),
                Flow::EveryLine => every_line = true,
                Flow::Go => {}
            }
            start = nl + 1;
        }
        None
    }

    fn bulk(
        &mut self,
        region: &[u8],
        m: &Matcher,
        f: &mut dyn FnMut(LineEvent) -> Flow,
    ) -> Option<usize> {
        let any = match (self.matching, m.any()) {
            (true, Some(re)) => re,
            _ => {
                self.lines += memchr::memchr_iter(b'\n', region).count() as u64;
                return None;
            }
        };
        let mut at = 0;
        let mut counted = 0;
        while at < region.len() {
            let Some((hit, _)) = any.find_at(region, at) else {
                break;
            };
            let ls = memchr::memrchr(b'\n', &region[..hit]).map_or(0, |i| i + 1);
            let le = hit + memchr::memchr(b'\n', &region[hit..]).unwrap_or(region.len() - hit);
            self.lines += memchr::memchr_iter(b'\n', &region[counted..ls]).count() as u64;
            counted = le + 1;
            match self.one_line(&region[ls..le], m, false, &region[..ls], f) {
                Flow::Stop => return Some(le + 1),
                Flow::EveryLine => return self.per_line(region, le + 1, true, m, f),
                Flow::Go => {}
            }
            at = le + 1;
        }
        if counted < region.len() {
            self.lines += memchr::memchr_iter(b'\n', &region[counted..]).count() as u64;
        }
        None
    }

    /// Up to `before` lines preceding the current one: from the region, then from earlier reads.
    fn context(&self, region_before: &[u8]) -> Vec<Vec<u8>> {
        if self.before == 0 {
            return Vec::new();
        }
        let mut out: Vec<Vec<u8>> = Vec::new();
        let mut end = region_before.len();
        while out.len() < self.before && end > 0 {
            let body = &region_before[..end - 1];
            let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
            out.push(cap(&region_before[start..end - 1]));
            end = start;
        }
        let mut prev = self.prev.iter().rev();
        while out.len() < self.before {
            match prev.next() {
                Some(l) => out.push(l.clone()),
                None => break,
            }
        }
        out.reverse();
        out
    }

    /// Keep the last `before` lines of a processed region for the next read's context.
    fn remember(&mut self, done: &[u8]) {
        if self.before == 0 || done.is_empty() {
            return;
        }
        let mut tail = Vec::new();
        let mut end = done.len();
        while tail.len() < self.before && end > 0 {
            let body = &done[..end - 1];
            let start = memchr::memrchr(b'\n', body).map_or(0, |i| i + 1);
            tail.push(cap(&done[start..end - 1]));
            end = start;
        }
        for l in tail.into_iter().rev() {
            self.push_prev(l);
        }
    }

    fn remember_line(&mut self, line: &[u8]) {
        if self.before > 0 {
            self.push_prev(cap(line));
        }
    }

    fn push_prev(&mut self, l: Vec<u8>) {
        self.prev.push_back(l);
        while self.prev.len() > self.before {
            self.prev.pop_front();
        }
    }
}

fn cap(l: &[u8]) -> Vec<u8> {
    strip_ansi(&l[..l.len().min(CONTEXT_LINE_CAP)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::matcher::PatternSpec;

    fn matcher(p: &str) -> Matcher {
        Matcher::new(&PatternSpec {
            main: Some(p.into()),
            ..Default::default()
        })
        .unwrap()
    }

    fn run(chunks: &[&[u8]], m: &Matcher, before: usize) -> (Vec<(u64, String, Vec<String>)>, u64) {
        let mut s = Scanner::new(Stream::Stdout, true, before);
        let mut hits = Vec::new();
        let mut f = |e: LineEvent| {
            hits.push((
                e.line_no,
                String::from_utf8_lossy(e.line).into_owned(),
                e.context
                    .iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect(),
            ));
            Flow::Go
        };
        for c in chunks {
            s.feed(c, m, false, &mut f);
        }
        s.finish(m, false, &mut f);
        (hits, s.lines)
    }

    #[test]
    fn hits_across_chunks_with_line_numbers() {
        let m = matcher("ERR");
        let (hits, lines) = run(&[b"a\nb\nERR one\nc", b"d ERR\ne\n", b"ERR last"], &m, 2);
        assert_eq!(lines, 6);
        assert_eq!(hits.len(), 3);
        assert_eq!(hits[0].0, 3);
        assert_eq!(hits[0].2, vec!["a", "b"]);
        assert_eq!(
            hits[1],
            (4, "cd ERR".into(), vec!["b".into(), "ERR one".into()])
        );
        assert_eq!(hits[2].0, 6);
    }

    #[test]
    fn cross_line_regex_hits_are_per_line() {
        // `\s` can match a newline in a whole-buffer search; lines must still be judged alone.
        let m = matcher(r"x\sy");
        let (hits, _) = run(&[b"x\ny\nx y\n"], &m, 0);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].0, 3);
    }

    #[test]
    fn stop_offset_and_ansi() {
        let m = matcher("FAILED");
        let mut s = Scanner::new(Stream::Stdout, true, 0);
        let data = b"ok\n\x1b[31mFAILED\x1b[0m\nafter\n";
        let end = s.feed(data, &m, false, &mut |_| Flow::Stop);
        assert_eq!(end, Some(b"ok\n\x1b[31mFAILED\x1b[0m\n".len()));
    }

    #[test]
    fn long_line_bounded() {
        let m = matcher("^x");
        let mut s = Scanner::new(Stream::Stdout, true, 0);
        let big = vec![b'x'; 300_000];
        let mut n = 0;
        for _ in 0..10 {
            s.feed(&big, &m, false, &mut |_| {
                n += 1;
                Flow::Go
            });
        }
        s.feed(b"\nx\n", &m, false, &mut |_| {
            n += 1;
            Flow::Go
        });
        assert_eq!(n, 2);
        assert_eq!(s.lines, 2);
        assert!(s.pending.capacity() <= 2 * MAX_LINE);
    }
}
