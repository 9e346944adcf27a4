//! What one run produced: the data handed to the exit-status policy, the `--json` report and the
//! telemetry store. Plain data plus the two exit-status tables (grep face and `ee run` face).
//! The run itself is described once, by the supervisor's [`Observed`]; an [`Outcome`] holds it
//! with what the app knows around it.

use std::ops::{Deref, DerefMut};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::engine::matcher::Class;
use crate::engine::policy::Reason;

/// Which face ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `cmd | ee PATTERN`
    Pipe,
    /// `ee PATTERN -- cmd`
    Command,
    /// `ee run -- cmd`
    Run,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Pipe => "pipe",
            Mode::Command => "command",
            Mode::Run => "run",
        }
    }
}

/// How the child ended, when there was one and it was reaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChildStatus {
    Exited(i32),
    Signaled(i32),
}

impl ChildStatus {
    /// Shell convention: the code, or 128+N for a signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ChildStatus::Exited(c) => c,
            ChildStatus::Signaled(s) => 128 + s,
        }
    }

    pub fn success(self) -> bool {
        self == ChildStatus::Exited(0)
    }
}

/// Counters of one stream.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct StreamStats {
    pub lines: u64,
    pub bytes: u64,
}

/// One matched (or observed) line.
#[derive(Debug, Clone, Serialize)]
pub struct MatchRecord {
    /// Seconds since the start of the run.
    pub offset: f64,
    pub stream: String,
    pub line_no: u64,
    /// Which pattern set matched (reported and stored by its name: `match`, `success`, `error`
    /// or `observed`).
    pub kind: Class,
    pub pattern: String,
    pub line: String,
    pub matched: String,
    pub context: Vec<String>,
}

/// The patterns and flags in force, as recorded.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PatternsUsed {
    pub main: Option<String>,
    pub success: Vec<String>,
    pub error: Vec<String>,
    pub exclude: Vec<String>,
    pub flags: String,
    /// True when the main/error pattern came from learning or a profile, not the command line.
    pub learned: bool,
}

/// The limits in force, as recorded.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct LimitsUsed {
    pub timeout: Option<f64>,
    pub idle_timeout: Option<f64>,
    pub first_output_timeout: Option<f64>,
    pub delay_exit: f64,
    /// True when the timeout came from learning.
    pub timeout_learned: bool,
    /// A learned timeout's quiet requirement (a hang detector), seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hang_quiet: Option<f64>,
}

/// What the supervisor observed of one run.
#[derive(Debug, Clone)]
pub struct Observed {
    pub reason: Reason,
    pub child: Option<ChildStatus>,
    /// ee stopped the child (or stopped reading) before it ended by itself.
    pub stopped_early: bool,
    /// ee left the child running (`--detach`).
    pub detached: bool,
    pub total: Duration,
    pub to_first_output: Option<Duration>,
    pub to_first_match: Option<Duration>,
    pub match_count: u64,
    pub stdout: StreamStats,
    pub stderr: StreamStats,
    /// Matches of deciding patterns, in order (capped).
    pub matches: Vec<MatchRecord>,
    /// Error-like lines seen by the observation lexicon (capped).
    pub observed: Vec<MatchRecord>,
    /// The last byte passed through ended a line (or none was written): ee's own notice needs
    /// no line break first.
    pub ends_line: bool,
}

/// Everything known about a finished run: the observed run and what the app adds around it.
/// It dereferences to its [`Observed`], so `outcome.reason` reads the run's own field.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub mode: Mode,
    /// Command words (lossy UTF-8); empty in pipe mode.
    pub argv: Vec<String>,
    pub started: SystemTime,
    pub cwd: String,
    pub patterns: PatternsUsed,
    pub limits: LimitsUsed,
    pub exit_code: i32,
    pub run: Observed,
}

impl Deref for Outcome {
    type Target = Observed;
    fn deref(&self) -> &Observed {
        &self.run
    }
}

impl DerefMut for Outcome {
    fn deref_mut(&mut self) -> &mut Observed {
        &mut self.run
    }
}

/// Most match records kept per run.
pub const MAX_RECORDS: usize = 100;

/// Exit status when ee left the child running (`--detach`), in both faces.
pub const EXIT_DETACHED: i32 = 4;

/// Exit status of the grep face.
pub fn grep_exit_code(o: &Outcome, unix: bool) -> i32 {
    let (hit, miss) = if unix { (1, 0) } else { (0, 1) };
    let child = o.child;
    if o.detached {
        return EXIT_DETACHED;
    }
    match o.reason {
        Reason::Match | Reason::SuccessMatch => hit,
        Reason::NoMatch | Reason::ErrorMatch => miss,
        Reason::Completed => child.map_or(0, |c| c.shell_code()),
        Reason::Timeout | Reason::IdleTimeout | Reason::FirstOutputTimeout | Reason::Stuck => 2,
        Reason::Interrupted(sig) => 128 + sig,
        Reason::OutputClosed => 141,
        Reason::Unexpected => 5,
        Reason::ExpectMissing => 6,
        Reason::StderrIdle => 2,
        Reason::Error => 3,
    }
}

/// Exit status of `ee run`: the child's own unless ee stopped it. A run ee did not stop (a match
/// whose child ended during the delay after it, an interrupt the child handled itself) exits
/// with the child's own status, always.
pub fn run_exit_code(o: &Outcome) -> i32 {
    let child = o.child;
    if o.detached {
        return EXIT_DETACHED;
    }
    // Output the child wrote that could not be delivered: the bare command would have had
    // SIGPIPE on that write, whether or not it had exited by the time ee found the pipe closed.
    if o.reason == Reason::OutputClosed {
        return 141;
    }
    if let (false, Some(c)) = (o.stopped_early, child) {
        return c.shell_code();
    }
    match o.reason {
        Reason::ErrorMatch | Reason::Match => 1,
        Reason::SuccessMatch => 0,
        Reason::Timeout
        | Reason::IdleTimeout
        | Reason::FirstOutputTimeout
        | Reason::Stuck
        | Reason::StderrIdle => 124,
        Reason::Interrupted(sig) => 128 + sig,
        Reason::OutputClosed => 141,
        Reason::Unexpected => 5,
        Reason::ExpectMissing => 6,
        Reason::Error => 125,
        Reason::NoMatch | Reason::Completed => child.map_or(0, |c| c.shell_code()),
    }
}

fn secs(d: Option<Duration>) -> serde_json::Value {
    d.map_or(serde_json::Value::Null, |d| {
        serde_json::json!(round3(d.as_secs_f64()))
    })
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

impl Outcome {
    /// The run ended by Ctrl-C's SIGINT (passed on to the child, or in pipe mode to ee): ee then
    /// ends by SIGINT too, so the shell abandons a command list as for the bare command.
    pub fn ended_by_sigint(&self) -> bool {
        self.reason == Reason::Interrupted(nix::sys::signal::Signal::SIGINT as i32)
    }

    /// The `--json` report.
    pub fn to_json(&self) -> serde_json::Value {
        let first = self.matches.first();
        serde_json::json!({
            "exit_code": self.exit_code,
            "exit_reason": self.reason.as_str(),
            "mode": self.mode.as_str(),
            "command": self.argv,
            "pattern": self.patterns.main.clone().or_else(|| first.map(|m| m.pattern.clone())),
            "patterns": self.patterns,
            "matched_line": first.map(|m| m.line.clone()),
            "matched_text": first.map(|m| m.matched.clone()),
            "line_number": first.map(|m| m.line_no),
            "stream": first.map(|m| m.stream.clone()),
            "detached": self.detached,
            "match_count": self.match_count,
            "matches": self.matches,
            "child_exit_status": self.child.map(|c| c.shell_code()),
            "stopped_early": self.stopped_early,
            "durations": {
                "total": round3(self.total.as_secs_f64()),
                "to_first_output": secs(self.to_first_output),
                "to_first_match": secs(self.to_first_match),
            },
            "stdout": self.stdout,
            "stderr": self.stderr,
            "limits": self.limits,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(reason: Reason, stopped: bool, child: ChildStatus) -> Outcome {
        Outcome {
            mode: Mode::Run,
            argv: vec!["pytest".into()],
            started: SystemTime::now(),
            cwd: String::new(),
            patterns: PatternsUsed::default(),
            limits: LimitsUsed::default(),
            exit_code: 0,
            run: Observed {
                child: Some(child),
                reason,
                total: Duration::ZERO,
                to_first_output: None,
                to_first_match: None,
                match_count: 1,
                stdout: StreamStats::default(),
                stderr: StreamStats::default(),
                stopped_early: stopped,
                detached: false,
                matches: Vec::new(),
                observed: Vec::new(),
                ends_line: true,
            },
        }
    }

    #[test]
    fn run_not_stopped_exits_with_the_childs_status() {
        // A match whose child ended during the delay after it (`pytest -rA` printing `ERROR x`
        // at its very end): ee did not stop it, the child's 0 stands.
        let o = outcome(Reason::ErrorMatch, false, ChildStatus::Exited(0));
        assert_eq!(run_exit_code(&o), 0);
        let o = outcome(Reason::ErrorMatch, true, ChildStatus::Signaled(15));
        assert_eq!(run_exit_code(&o), 1);
        let o = outcome(Reason::Timeout, false, ChildStatus::Exited(3));
        assert_eq!(run_exit_code(&o), 3);
        let o = outcome(Reason::Timeout, true, ChildStatus::Signaled(15));
        assert_eq!(run_exit_code(&o), 124);
    }
}
