//! The decision: folds line events and clocks into Continue / Drain / Stop.
//!
//! Owns: overall, idle and first-output timeouts; the delay after a match (capped by time, by a
//! line count, and ended early when output goes quiet); `-m N`; success/error patterns; stuck
//! detection (`--max-repeat`, `--stuck-ignore-timestamps`, `--stuck-pattern`, `--progress-pattern`);
//! and the exit reason. Pure: every method takes `now`, nothing here touches a process or a file.

use std::time::{Duration, Instant};

use regex::bytes::Regex;

use crate::engine::matcher::Class;
use crate::engine::scan::LineEvent;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Match,
    SuccessMatch,
    ErrorMatch,
    NoMatch,
    /// The command ran to the end and no pattern was given.
    Completed,
    Timeout,
    IdleTimeout,
    FirstOutputTimeout,
    Stuck,
    /// A signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) stopped the run.
    Interrupted(i32),
    /// ee's stdout was closed (`| head -1`).
    OutputClosed,
    /// A line outside the allowlist or on the blocklist.
    Unexpected,
    /// An `--expect` pattern was never seen (`--expect-all`).
    ExpectMissing,
    /// stderr went quiet after it spoke (`--stderr-idle-exit`).
    StderrIdle,
    Error,
}

/// Every exit reason and its stored name, in one table (`Interrupted` stands for every signal).
const REASON_NAMES: &[(Reason, &str)] = &[
    (Reason::Match, "match"),
    (Reason::SuccessMatch, "success_match"),
    (Reason::ErrorMatch, "error_match"),
    (Reason::NoMatch, "no_match"),
    (Reason::Completed, "completed"),
    (Reason::Timeout, "timeout"),
    (Reason::IdleTimeout, "idle_timeout"),
    (Reason::FirstOutputTimeout, "first_output_timeout"),
    (Reason::Stuck, "stuck"),
    (Reason::Interrupted(2), "interrupted"),
    (Reason::OutputClosed, "output_closed"),
    (Reason::Unexpected, "unexpected"),
    (Reason::ExpectMissing, "expect_missing"),
    (Reason::StderrIdle, "stderr_idle"),
    (Reason::Error, "error"),
];

impl Reason {
    pub fn as_str(self) -> &'static str {
        let d = std::mem::discriminant(&self);
        REASON_NAMES
            .iter()
            .find(|(r, _)| std::mem::discriminant(r) == d)
            .map_or("error", |(_, n)| n)
    }

    /// The reason named `name` (as [`Reason::as_str`] spells it; unknown names are `Error`), with
    /// `signal` for an interrupted run (SIGINT when unknown).
    pub fn from_name(name: &str, signal: Option<i32>) -> Reason {
        match REASON_NAMES.iter().find(|(_, n)| *n == name) {
            Some((Reason::Interrupted(_), _)) => Reason::Interrupted(signal.unwrap_or(2)),
            Some((r, _)) => *r,
            None => Reason::Error,
        }
    }

    pub fn is_timeout(self) -> bool {
        matches!(
            self,
            Reason::Timeout | Reason::IdleTimeout | Reason::FirstOutputTimeout
        )
    }
}

/// How stuck output is recognised.
#[derive(Debug, Clone, Default)]
pub struct StuckSpec {
    /// Same (normalised) line this many times in a row.
    pub max_repeat: Option<u64>,
    pub ignore_timestamps: bool,
    pub extract: Option<Regex>,
    /// Counter extracted by this regex unchanged for `progress_lines` lines.
    pub progress: Option<Regex>,
    pub progress_lines: u64,
}

impl StuckSpec {
    pub fn enabled(&self) -> bool {
        self.max_repeat.is_some() || self.progress.is_some()
    }
}

/// What an unexpected line does (`--on-unexpected`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnUnexpected {
    /// Print a warning and go on.
    Warn,
    /// Go on, fail at the end (exit 5).
    Error,
    /// Stop at once (exit 5).
    #[default]
    Exit,
}

/// Allowlist / blocklist of lines.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub expect: Vec<Regex>,
    pub expect_only: bool,
    pub expect_all: bool,
    pub unexpected: Vec<Regex>,
    pub on_unexpected: OnUnexpected,
}

impl Guard {
    pub fn active(&self) -> bool {
        !self.expect.is_empty() || !self.unexpected.is_empty()
    }
}

/// Limits and knobs of one run.
#[derive(Debug, Clone)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub idle: Option<Duration>,
    pub first_output: Option<Duration>,
    pub delay_exit: Duration,
    pub delay_lines: u64,
    pub delay_quiet: Option<Duration>,
    pub max_count: u64,
    pub stuck: StuckSpec,
    pub guard: Guard,
    /// `--transition-states`: state regexes in order.
    pub transitions: Vec<Regex>,
    pub stderr_idle: Option<Duration>,
    /// With `timeout`: a hang detector (a learned timeout). The run is stopped only once it has
    /// outlasted `timeout` and its output has also been quiet this long.
    pub hang_quiet: Option<Duration>,
    /// Stop the child with SIGINT instead of SIGTERM and keep passing its output through until
    /// it exits: for tools that print their failure summary when interrupted (pytest).
    pub interrupt_stop: bool,
}

#[derive(Debug)]
struct Drain {
    until: Instant,
    lines_left: u64,
}

/// The running decision.
#[derive(Debug)]
pub struct Policy {
    pub limits: Limits,
    pub start: Instant,
    pub first_output: Option<Instant>,
    pub last_output: Option<Instant>,
    pub first_match: Option<Instant>,
    /// Lines of the deciding kind counted so far (main-pattern matches, plus -s/-e hits).
    pub matches: u64,
    pub reason: Option<Reason>,
    drain: Option<Drain>,
    pub stop: bool,
    stuck_last: Option<Vec<u8>>,
    stuck_count: u64,
    progress_last: Option<Vec<u8>>,
    progress_count: u64,
    ts: Option<Regex>,
    expect_seen: Vec<bool>,
    /// Unexpected lines seen so far.
    pub unexpected_seen: u64,
    /// Messages for the user (`--on-unexpected warn|error`), taken by the supervisor.
    pub warnings: Vec<String>,
    state_max: Option<usize>,
    stderr_last: Option<Instant>,
}

fn timestamp_regex() -> Regex {
    // Clock times, dates, ISO-8601 stamps and 10/13-digit epochs.
    Regex::new(
        r"(?x)
        \d{4}-\d{2}-\d{2}([T\ ]\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?
        | \d{1,2}/\d{1,2}/\d{2,4}
        | \b\d{1,2}:\d{2}(:\d{2}([.,]\d+)?)?\b
        | \b\d{13}\b | \b\d{10}\b
        | \b(Mon|Tue|Wed|Thu|Fri|Sat|Sun|Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b",
    )
    .expect("static regex")
}

impl Policy {
    pub fn new(limits: Limits, start: Instant) -> Policy {
        let ts = limits.stuck.ignore_timestamps.then(timestamp_regex);
        let expect_seen = vec![false; limits.guard.expect.len()];
        Policy {
            limits,
            start,
            first_output: None,
            last_output: None,
            first_match: None,
            matches: 0,
            reason: None,
            drain: None,
            stop: false,
            stuck_last: None,
            stuck_count: 0,
            progress_last: None,
            progress_count: 0,
            ts,
            expect_seen,
            unexpected_seen: 0,
            warnings: Vec::new(),
            state_max: None,
            stderr_last: None,
        }
    }

    /// Does the scanner need to report every line (not only hits)?
    pub fn wants_every_line(&self) -> bool {
        (self.reason.is_none()
            && (self.limits.stuck.enabled()
                || self.limits.guard.active()
                || !self.limits.transitions.is_empty()))
            || self
                .drain
                .as_ref()
                .is_some_and(|d| d.lines_left != u64::MAX)
    }

    pub fn draining(&self) -> bool {
        self.drain.is_some()
    }

    /// Bytes arrived from the watched source (`stderr`: from the child's stderr).
    pub fn on_output(&mut self, now: Instant, stderr: bool) {
        self.first_output.get_or_insert(now);
        self.last_output = Some(now);
        if stderr {
            self.stderr_last = Some(now);
        }
    }

    /// Allowlist, blocklist and state transitions. Returns false when the run stops here.
    fn guard_line(&mut self, ev: &LineEvent) -> bool {
        let line = ev.line;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return true;
        }
        let g = &self.limits.guard;
        if g.active() {
            let mut allowed = false;
            for (i, re) in g.expect.iter().enumerate() {
                if re.is_match(line) {
                    self.expect_seen[i] = true;
                    allowed = true;
                }
            }
            let blocked = g.unexpected.iter().any(|re| re.is_match(line));
            if blocked || (g.expect_only && !allowed) {
                self.unexpected_seen += 1;
                let text = String::from_utf8_lossy(&line[..line.len().min(200)]).into_owned();
                match g.on_unexpected {
                    OnUnexpected::Warn | OnUnexpected::Error => {
                        self.warnings.push(format!(
                            "unexpected line {} on {}: {text}",
                            ev.line_no,
                            ev.stream.name()
                        ));
                    }
                    OnUnexpected::Exit => {
                        self.reason = Some(Reason::Unexpected);
                        self.stop = true;
                        return false;
                    }
                }
            }
        }
        if !self.limits.transitions.is_empty() {
            if let Some(k) = self
                .limits
                .transitions
                .iter()
                .position(|re| re.is_match(line))
            {
                if self.state_max.is_some_and(|m| k < m) {
                    self.reason = Some(Reason::Stuck);
                    self.stop = true;
                    return false;
                }
                self.state_max = Some(self.state_max.map_or(k, |m| m.max(k)));
            }
        }
        true
    }

    /// The reason for a run that ended by itself, given the default (no match / completed).
    pub fn final_reason(&self, natural: Reason) -> Reason {
        if let Some(r) = self.reason {
            return r;
        }
        if self.unexpected_seen > 0 && self.limits.guard.on_unexpected == OnUnexpected::Error {
            return Reason::Unexpected;
        }
        if self.limits.guard.expect_all && self.expect_seen.iter().any(|s| !s) {
            return Reason::ExpectMissing;
        }
        natural
    }

    /// A line event. Returns true when the run stops after this line.
    pub fn on_line(&mut self, ev: &LineEvent, now: Instant) -> bool {
        if self.stop {
            return true;
        }
        if let Some(d) = &mut self.drain {
            if let Some(h) = &ev.hit {
                if h.class == Class::Match {
                    self.matches += 1;
                }
            }
            if d.lines_left != u64::MAX {
                d.lines_left = d.lines_left.saturating_sub(1);
                if d.lines_left == 0 {
                    self.stop = true;
                }
            }
            return self.stop;
        }
        if !self.guard_line(ev) {
            return true;
        }
        if let Some(h) = &ev.hit {
            match h.class {
                Class::Observed => {}
                Class::Success => {
                    self.first_match.get_or_insert(now);
                    self.matches += 1;
                    self.reason = Some(Reason::SuccessMatch);
                    self.stop = true;
                    return true;
                }
                Class::Error => {
                    self.first_match.get_or_insert(now);
                    self.matches += 1;
                    self.decide_and_drain(Reason::ErrorMatch, now);
                    return self.stop;
                }
                Class::Match => {
                    self.first_match.get_or_insert(now);
                    self.matches += 1;
                    if self.matches >= self.limits.max_count {
                        self.decide_and_drain(Reason::Match, now);
                        return self.stop;
                    }
                }
            }
        }
        if self.limits.stuck.enabled() && self.check_stuck(ev.line) {
            self.reason = Some(Reason::Stuck);
            self.stop = true;
        }
        self.stop
    }

    fn decide_and_drain(&mut self, reason: Reason, now: Instant) {
        self.reason = Some(reason);
        if self.limits.delay_exit.is_zero() || self.limits.delay_lines == 0 {
            self.stop = true;
            return;
        }
        self.drain = Some(Drain {
            until: now + self.limits.delay_exit,
            lines_left: self.limits.delay_lines,
        });
        // The quiet gap is measured from the match line itself.
        self.last_output = Some(now);
    }

    fn check_stuck(&mut self, line: &[u8]) -> bool {
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            return false;
        }
        let spec = &self.limits.stuck;
        // The part of a line a regex extracts: its first group, else the whole match.
        fn extract<'l>(re: &Regex, line: &'l [u8]) -> Option<&'l [u8]> {
            re.captures(line)
                .and_then(|c| c.get(1).or_else(|| c.get(0)))
                .map(|m| m.as_bytes())
        }
        // Compare with the previous value in place; copy only when it changed.
        fn same_as(last: &mut Option<Vec<u8>>, v: &[u8]) -> bool {
            match last {
                Some(l) if l.as_slice() == v => true,
                Some(l) => {
                    l.clear();
                    l.extend_from_slice(v);
                    false
                }
                None => {
                    *last = Some(v.to_vec());
                    false
                }
            }
        }
        if let Some(p) = &spec.progress {
            if let Some(v) = extract(p, line) {
                if !same_as(&mut self.progress_last, v) {
                    self.progress_count = 0;
                }
            }
            if self.progress_last.is_some() {
                self.progress_count += 1;
                if self.progress_count >= spec.progress_lines.max(1) {
                    return true;
                }
            }
        }
        if let Some(n) = spec.max_repeat {
            let key = spec
                .extract
                .as_ref()
                .and_then(|re| extract(re, line))
                .unwrap_or(line);
            let key = match &self.ts {
                Some(ts) => ts.replace_all(key, &b""[..]),
                None => std::borrow::Cow::Borrowed(key),
            };
            if same_as(&mut self.stuck_last, key.trim_ascii()) {
                self.stuck_count += 1;
            } else {
                self.stuck_count = 1;
            }
            if self.stuck_count >= n.max(1) {
                return true;
            }
        }
        false
    }

    /// The next instant at which `on_tick` may change something.
    pub fn next_deadline(&self) -> Option<Instant> {
        let mut d: Option<Instant> = None;
        let mut min = |t: Instant| d = Some(d.map_or(t, |x: Instant| x.min(t)));
        if self.stop {
            return None;
        }
        if let Some(dr) = &self.drain {
            min(dr.until);
            if let (Some(q), Some(last)) = (self.limits.delay_quiet, self.last_output) {
                min(last + q);
            }
        }
        if let Some(t) = self.limits.timeout {
            min(self.timeout_at(t));
        }
        if self.drain.is_none() {
            if let Some(i) = self.limits.idle {
                min(self.last_output.unwrap_or(self.start) + i);
            }
            if let (Some(f), None) = (self.limits.first_output, self.first_output) {
                min(self.start + f);
            }
            if let (Some(i), Some(l)) = (self.limits.stderr_idle, self.stderr_last) {
                min(l + i);
            }
        }
        d
    }

    /// Clocks advanced. Returns true when the run must stop now.
    pub fn on_tick(&mut self, now: Instant) -> bool {
        if self.stop {
            return true;
        }
        if let Some(dr) = &self.drain {
            let quiet = matches!((self.limits.delay_quiet, self.last_output), (Some(q), Some(l)) if now >= l + q);
            let timed_out = self
                .limits
                .timeout
                .is_some_and(|t| now >= self.timeout_at(t));
            if now >= dr.until || quiet || timed_out {
                self.stop = true;
            }
            return self.stop;
        }
        let expired = |d: Option<Duration>, from: Instant| d.is_some_and(|d| now >= from + d);
        let reason = if self
            .limits
            .timeout
            .is_some_and(|t| now >= self.timeout_at(t))
        {
            Some(Reason::Timeout)
        } else if self.first_output.is_none() && expired(self.limits.first_output, self.start) {
            Some(Reason::FirstOutputTimeout)
        } else if expired(self.limits.idle, self.last_output.unwrap_or(self.start)) {
            Some(Reason::IdleTimeout)
        } else if self
            .stderr_last
            .is_some_and(|l| expired(self.limits.stderr_idle, l))
        {
            Some(Reason::StderrIdle)
        } else {
            None
        };
        if let Some(r) = reason {
            self.reason = Some(r);
            self.stop = true;
        }
        self.stop
    }

    /// When the overall timeout fires: at `start + t`, or for a hang detector once the run has
    /// outlasted `t` and been quiet for `hang_quiet`, whichever is later.
    fn timeout_at(&self, t: Duration) -> Instant {
        let at = self.start + t;
        match self.limits.hang_quiet {
            Some(q) => at.max(self.last_output.unwrap_or(self.start) + q),
            None => at,
        }
    }

    /// The run was suspended (Ctrl-Z) for `d`: clocks do not count that time.
    pub fn pause(&mut self, d: Duration) {
        self.start += d;
        for t in [&mut self.last_output, &mut self.stderr_last]
            .into_iter()
            .flatten()
        {
            *t += d;
        }
        if let Some(dr) = &mut self.drain {
            dr.until += d;
        }
    }

    /// Stop for an outside reason (signal, closed output) unless a decision was already taken.
    pub fn force(&mut self, reason: Reason) {
        if self.reason.is_none() || matches!(reason, Reason::Interrupted(_)) {
            self.reason = Some(reason);
        }
        self.stop = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_name_reads_back_as_its_reason() {
        for (r, n) in REASON_NAMES {
            assert_eq!(r.as_str(), *n);
            assert_eq!(Reason::from_name(n, Some(2)), *r);
        }
        assert_eq!(
            Reason::from_name("interrupted", Some(15)),
            Reason::Interrupted(15)
        );
        assert_eq!(
            Reason::from_name("interrupted", None),
            Reason::Interrupted(2)
        );
        assert_eq!(Reason::from_name("what", None), Reason::Error);
    }
    use crate::engine::matcher::Class;
    use crate::engine::scan::{Hit, Stream};

    fn limits() -> Limits {
        Limits {
            timeout: None,
            idle: None,
            first_output: None,
            delay_exit: Duration::ZERO,
            delay_lines: 100,
            delay_quiet: None,
            max_count: 1,
            stuck: StuckSpec::default(),
            guard: Guard::default(),
            transitions: Vec::new(),
            stderr_idle: None,
            hang_quiet: None,
            interrupt_stop: false,
        }
    }

    fn ev(line: &[u8], class: Option<Class>) -> LineEvent<'_> {
        LineEvent {
            stream: Stream::Stdout,
            line_no: 1,
            line,
            hit: class.map(|class| Hit {
                class,
                start: 0,
                end: 0,
                pattern: "p",
            }),
            context: vec![],
        }
    }

    #[test]
    fn match_with_delay_drains_until_lines_or_quiet() {
        let t0 = Instant::now();
        let mut l = limits();
        l.delay_exit = Duration::from_secs(10);
        l.delay_lines = 2;
        l.delay_quiet = Some(Duration::from_millis(300));
        let mut p = Policy::new(l, t0);
        assert!(!p.on_line(&ev(b"FAIL", Some(Class::Match)), t0));
        assert!(p.wants_every_line());
        assert_eq!(p.next_deadline(), Some(t0 + Duration::from_millis(300)));
        assert!(!p.on_line(&ev(b"trace", None), t0));
        assert!(p.on_line(&ev(b"trace", None), t0));
        assert_eq!(p.reason, Some(Reason::Match));
    }

    #[test]
    fn timeouts() {
        let t0 = Instant::now();
        let mut l = limits();
        l.idle = Some(Duration::from_secs(1));
        l.timeout = Some(Duration::from_secs(5));
        let mut p = Policy::new(l, t0);
        p.on_output(t0 + Duration::from_millis(900), false);
        assert!(!p.on_tick(t0 + Duration::from_millis(1500)));
        assert!(p.on_tick(t0 + Duration::from_millis(1900)));
        assert_eq!(p.reason, Some(Reason::IdleTimeout));
    }

    #[test]
    fn hang_detector_needs_quiet_after_the_limit() {
        let t0 = Instant::now();
        let s = Duration::from_secs;
        let mut l = limits();
        l.timeout = Some(s(6));
        l.hang_quiet = Some(s(5));
        let mut p = Policy::new(l, t0);
        // Output keeps coming past the limit: progress, never stopped.
        for i in 1..=9 {
            p.on_output(t0 + s(i), false);
            assert!(!p.on_tick(t0 + s(i)), "at {i}s");
        }
        assert_eq!(p.next_deadline(), Some(t0 + s(14)));
        assert!(!p.on_tick(t0 + s(13)));
        assert!(p.on_tick(t0 + s(14)));
        assert_eq!(p.reason, Some(Reason::Timeout));
        // Silent from the start: stopped at the limit itself.
        let mut l = limits();
        l.timeout = Some(s(6));
        l.hang_quiet = Some(s(5));
        let mut p = Policy::new(l, t0);
        p.on_output(t0, false);
        assert!(!p.on_tick(t0 + s(5)));
        assert!(p.on_tick(t0 + s(6)));
    }

    #[test]
    fn stuck_with_timestamps() {
        let t0 = Instant::now();
        let mut l = limits();
        l.stuck = StuckSpec {
            max_repeat: Some(3),
            ignore_timestamps: true,
            ..Default::default()
        };
        let mut p = Policy::new(l, t0);
        assert!(!p.on_line(&ev(b"12:00:01 waiting", None), t0));
        assert!(!p.on_line(&ev(b"", None), t0));
        assert!(!p.on_line(&ev(b"12:00:02 waiting", None), t0));
        assert!(p.on_line(&ev(b"2024-01-01T12:00:03Z waiting", None), t0));
        assert_eq!(p.reason, Some(Reason::Stuck));
    }

    #[test]
    fn max_count() {
        let t0 = Instant::now();
        let mut l = limits();
        l.max_count = 2;
        let mut p = Policy::new(l, t0);
        assert!(!p.on_line(&ev(b"x", Some(Class::Match)), t0));
        assert!(p.on_line(&ev(b"x", Some(Class::Match)), t0));
    }
}
