//! One run as it is stored: built from an [`Outcome`] with secrets redacted and text capped,
//! serializable so that it can wait in the spool (the same data whether written directly or
//! merged from the spool).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::context;
use crate::engine::outcome::{ChildStatus, MatchRecord, Outcome};
use crate::engine::policy::Reason;
use crate::redact::{cap, redact_argv, redact_text};

/// Longest stored matched line, matched text and context line (bytes).
pub const MAX_LINE: usize = 1000;
pub const MAX_MATCHED: usize = 200;
pub const MAX_CONTEXT_LINE: usize = 300;
/// Most context lines kept per event.
pub const MAX_CONTEXT: usize = 5;

/// One match event as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    pub kind: String,
    pub offset_s: f64,
    pub stream: String,
    pub line_no: u64,
    pub pattern: String,
    pub line: String,
    pub matched: String,
    pub context: Vec<String>,
}

/// One execution as stored (already redacted).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Entry {
    /// Unique id of the record, so that a spool entry is never merged twice.
    pub uid: String,
    /// Unix time in milliseconds.
    pub started_ms: i64,
    pub mode: String,
    pub argv: Vec<String>,
    pub command: String,
    pub key: String,
    pub program: String,
    pub cwd: String,
    pub project_type: String,
    /// The project root (learning's scope); empty in records from before it was kept.
    #[serde(default)]
    pub root: String,
    pub category: String,
    pub pattern: Option<String>,
    pub success_patterns: Vec<String>,
    pub error_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub flags: String,
    pub pattern_learned: bool,
    pub timeout_s: Option<f64>,
    pub idle_timeout_s: Option<f64>,
    pub first_output_timeout_s: Option<f64>,
    pub delay_exit_s: f64,
    pub timeout_learned: bool,
    pub exit_code: i32,
    pub child_exit: Option<i32>,
    pub child_signal: Option<i32>,
    pub reason: String,
    /// The signal of an `interrupted` run.
    pub signal: Option<i32>,
    pub total_s: f64,
    pub first_output_s: Option<f64>,
    pub first_match_s: Option<f64>,
    pub match_count: u64,
    pub stdout_lines: u64,
    pub stdout_bytes: u64,
    pub stderr_lines: u64,
    pub stderr_bytes: u64,
    pub stopped_early: bool,
    /// ee left the child running (`--detach`).
    #[serde(default)]
    pub detached: bool,
    pub events: Vec<Event>,
}

fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!(
        "{:x}-{:x}-{}",
        std::process::id(),
        t,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn event(m: &MatchRecord) -> Event {
    Event {
        kind: m.kind.to_string(),
        offset_s: m.offset,
        stream: m.stream.clone(),
        line_no: m.line_no,
        pattern: m.pattern.clone(),
        line: cap(&redact_text(&m.line), MAX_LINE),
        matched: cap(&redact_text(&m.matched), MAX_MATCHED),
        context: m
            .context
            .iter()
            .take(MAX_CONTEXT)
            .map(|l| cap(&redact_text(l), MAX_CONTEXT_LINE))
            .collect(),
    }
}

impl Entry {
    /// The stored form of a run: redacted, capped, with its grouping context.
    pub fn from_outcome(o: &Outcome) -> Entry {
        let argv = redact_argv(&o.argv);
        let cwd = std::path::Path::new(&o.cwd);
        // The same words as at lookup (`RunContext::new`), so the keys agree.
        let key = context::command_key(&crate::redact::redact_argv_for_key(&o.argv));
        let project = (!o.cwd.is_empty()).then(|| context::project(cwd));
        let (child_exit, child_signal) = match o.child {
            Some(ChildStatus::Exited(c)) => (Some(c), None),
            Some(ChildStatus::Signaled(s)) => (None, Some(s)),
            None => (None, None),
        };
        Entry {
            uid: unique_id(),
            started_ms: o
                .started
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            mode: o.mode.as_str().to_string(),
            command: shell_words::join(&argv),
            program: context::program(&argv),
            category: context::category(&key).to_string(),
            project_type: project
                .as_ref()
                .map_or("unknown", |p| p.project_type)
                .to_string(),
            root: project.map_or(String::new(), |p| p.root.display().to_string()),
            key,
            argv,
            cwd: o.cwd.clone(),
            pattern: o.patterns.main.clone(),
            success_patterns: o.patterns.success.clone(),
            error_patterns: o.patterns.error.clone(),
            exclude_patterns: o.patterns.exclude.clone(),
            flags: o.patterns.flags.clone(),
            pattern_learned: o.patterns.learned,
            timeout_s: o.limits.timeout,
            idle_timeout_s: o.limits.idle_timeout,
            first_output_timeout_s: o.limits.first_output_timeout,
            delay_exit_s: o.limits.delay_exit,
            timeout_learned: o.limits.timeout_learned,
            exit_code: o.exit_code,
            child_exit,
            child_signal,
            reason: o.reason.as_str().to_string(),
            signal: match o.reason {
                Reason::Interrupted(s) => Some(s),
                _ => None,
            },
            total_s: o.total.as_secs_f64(),
            first_output_s: o.to_first_output.map(|d| d.as_secs_f64()),
            first_match_s: o.to_first_match.map(|d| d.as_secs_f64()),
            match_count: o.match_count,
            stdout_lines: o.stdout.lines,
            stdout_bytes: o.stdout.bytes,
            stderr_lines: o.stderr.lines,
            stderr_bytes: o.stderr.bytes,
            stopped_early: o.stopped_early,
            detached: o.detached,
            events: o.matches.iter().chain(&o.observed).map(event).collect(),
        }
    }

    /// The pattern label used for grouping in `ee stats`: the main pattern, else the error
    /// patterns joined with ` | `, else empty.
    pub fn pattern_label(&self) -> String {
        match &self.pattern {
            Some(p) => p.clone(),
            None => self.error_patterns.join(" | "),
        }
    }
}
