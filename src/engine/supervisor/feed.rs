//! The feed: the part of the poll loop that does not touch processes — each stream's scanner, matcher,
//! output and log file, the policy, the match records and the progress line. Bytes in, decisions
//! and pass-through out.

use std::time::{Duration, Instant};

use crate::engine::matcher::{Class, Matcher};
use crate::engine::outcome::{ChildStatus, MatchRecord, Observed, StreamStats, MAX_RECORDS};
use crate::engine::policy::{Policy, Reason};
use crate::engine::printer::{note, Out, Progress};
use crate::engine::scan::{Flow, LineEvent, Scanner, Stream};

use super::logs::LogSink;

/// One watched stream.
pub struct Channel<'a> {
    pub scanner: Scanner,
    pub matcher: &'a Matcher,
    pub out: Out,
    pub log: Option<LogSink>,
}

pub struct Feed<'a> {
    pub policy: Policy,
    pub chans: Vec<Channel<'a>>,
    pub matches: Vec<MatchRecord>,
    pub observed: Vec<MatchRecord>,
    pub quiet: bool,
    pub progress: Option<Progress>,
    last_draw: Option<Instant>,
    log_failed: bool,
}

fn record(
    ev: &LineEvent,
    offset: Duration,
    matches: &mut Vec<MatchRecord>,
    observed: &mut Vec<MatchRecord>,
) {
    let Some(h) = &ev.hit else { return };
    let list = if h.class == Class::Observed {
        observed
    } else {
        matches
    };
    if list.len() >= MAX_RECORDS {
        return;
    }
    let lossy = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(2000)]).into_owned();
    list.push(MatchRecord {
        offset: offset.as_secs_f64(),
        stream: ev.stream.name(),
        line_no: ev.line_no,
        kind: h.class,
        pattern: h.pattern.to_string(),
        line: lossy(ev.line),
        matched: lossy(&ev.line[h.start..h.end]),
        context: ev.context.iter().map(|c| lossy(c)).collect(),
    });
}

/// The scanner's callback: record the hit, let the policy decide, and say how to go on.
fn judge<'b>(
    policy: &'b mut Policy,
    matches: &'b mut Vec<MatchRecord>,
    observed: &'b mut Vec<MatchRecord>,
    now: Instant,
) -> impl FnMut(LineEvent) -> Flow + 'b {
    let start = policy.start;
    move |ev| {
        record(&ev, now.saturating_duration_since(start), matches, observed);
        if policy.on_line(&ev, now) {
            Flow::Stop
        } else if policy.wants_every_line() {
            Flow::EveryLine
        } else {
            Flow::Go
        }
    }
}

impl<'a> Feed<'a> {
    pub fn new(policy: Policy, chans: Vec<Channel<'a>>, quiet: bool, progress: bool) -> Feed<'a> {
        Feed {
            policy,
            chans,
            matches: Vec::new(),
            observed: Vec::new(),
            quiet,
            progress: if progress { Progress::new() } else { None },
            last_draw: None,
            log_failed: false,
        }
    }

    fn log(&mut self, i: usize, buf: &[u8]) {
        if let Some(l) = &mut self.chans[i].log {
            if let Err(e) = l.write(buf) {
                self.chans[i].log = None;
                if !self.log_failed {
                    note(self.quiet, &format!("cannot write the log: {e}"));
                    self.log_failed = true;
                }
            }
        }
    }

    /// Bytes read from stream `i`.
    pub fn chunk(&mut self, i: usize, buf: &[u8], now: Instant) {
        self.log(i, buf);
        if self.policy.stop {
            // Drained so the child never blocks, logged, but the decision is taken; an
            // interrupted tool's own failure summary is still shown (not scanned).
            if self.policy.limits.interrupt_stop {
                let _ = self.chans[i].out.write(buf);
            }
            return;
        }
        let stderr = self.chans[i].scanner.stream == Stream::Stderr;
        self.policy.on_output(now, stderr);
        let end = self
            .scan(i, now, |sc, m, every, judge| sc.feed(buf, m, every, judge))
            .unwrap_or(buf.len());
        self.pcre_failed();
        if let Some(p) = &mut self.progress {
            p.erase();
        }
        if self.chans[i].out.write(&buf[..end]).is_err() {
            self.policy.force(Reason::OutputClosed);
        }
        self.warn();
        self.draw_progress(now, false);
    }

    /// Hand stream `i`'s scanner its matcher and a judge of each line it yields (`step` is
    /// the scanner call: feed a chunk, or finish the last line).
    fn scan<R>(
        &mut self,
        i: usize,
        now: Instant,
        step: impl FnOnce(&mut Scanner, &Matcher, bool, &mut dyn FnMut(LineEvent) -> Flow) -> R,
    ) -> R {
        let every = self.policy.wants_every_line();
        let Feed {
            policy,
            chans,
            matches,
            observed,
            ..
        } = self;
        let ch = &mut chans[i];
        step(
            &mut ch.scanner,
            ch.matcher,
            every,
            &mut judge(policy, matches, observed, now),
        )
    }

    fn warn(&mut self) {
        for w in std::mem::take(&mut self.policy.warnings) {
            if let Some(p) = &mut self.progress {
                p.erase();
            }
            note(self.quiet, &w);
        }
    }

    /// End of stream `i`.
    pub fn eof(&mut self, i: usize, now: Instant) {
        self.chans[i].out.flush();
        if self.policy.stop {
            return;
        }
        self.scan(i, now, |sc, m, every, judge| sc.finish(m, every, judge));
        self.pcre_failed();
        self.warn();
    }

    /// A `-P` search hit its backtracking limit: the run ends as an error (exit 3).
    fn pcre_failed(&mut self) {
        if let Some(msg) = crate::engine::matcher::take_pcre_failure() {
            note(false, msg);
            self.policy.force(Reason::Error);
        }
    }

    /// Redraw the progress line at most every 100 ms (or now when `force`).
    pub fn draw_progress(&mut self, now: Instant, force: bool) {
        let Some(p) = &mut self.progress else { return };
        if !force
            && self
                .last_draw
                .is_some_and(|t| now < t + Duration::from_millis(100))
        {
            return;
        }
        self.last_draw = Some(now);
        let pol = &self.policy;
        let lines: u64 = self.chans.iter().map(|c| c.scanner.lines).sum();
        let mut text = format!(
            "ee: {:.1}s · {lines} lines · {} matches",
            now.saturating_duration_since(pol.start).as_secs_f64(),
            pol.matches
        );
        if let Some(t) = pol.limits.timeout {
            let left = (pol.start + t).saturating_duration_since(now);
            text.push_str(&format!(" · timeout in {:.0}s", left.as_secs_f64().ceil()));
        }
        let at_start = self.chans.iter().all(|c| c.out.ends_line);
        p.draw(&text, at_start);
    }

    /// The next time the progress line wants a redraw.
    pub fn progress_deadline(&self, now: Instant) -> Option<Instant> {
        self.progress
            .as_ref()
            .map(|_| now + Duration::from_millis(250))
    }

    fn stats(&self, stream: Stream) -> StreamStats {
        self.chans
            .iter()
            .find(|c| c.scanner.stream == stream)
            .map(|c| StreamStats {
                lines: c.scanner.lines,
                bytes: c.scanner.bytes,
            })
            .unwrap_or_default()
    }

    /// Close logs and build the observation.
    pub fn finish(
        mut self,
        natural: Reason,
        child: Option<ChildStatus>,
        stopped_early: bool,
        end: Instant,
    ) -> Observed {
        if let Some(p) = &mut self.progress {
            p.erase();
        }
        for c in &mut self.chans {
            c.out.flush();
            if let Some(l) = c.log.take() {
                let _ = l.finish();
            }
        }
        let reason = self.policy.final_reason(natural);
        let p = &self.policy;
        let since = |t: Option<Instant>| t.map(|t| t.saturating_duration_since(p.start));
        let (stdout, stderr) = if self.chans[0].scanner.stream == Stream::Stdin {
            (self.stats(Stream::Stdin), StreamStats::default())
        } else {
            (self.stats(Stream::Stdout), self.stats(Stream::Stderr))
        };
        let ends_line = self.chans.iter().all(|c| c.out.ends_line);
        Observed {
            ends_line,
            reason,
            child,
            stopped_early,
            detached: false,
            total: end.saturating_duration_since(p.start),
            to_first_output: since(p.first_output),
            to_first_match: since(p.first_match),
            match_count: p.matches,
            stdout,
            stderr,
            matches: self.matches,
            observed: self.observed,
        }
    }
}
