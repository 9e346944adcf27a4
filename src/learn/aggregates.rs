//! The learning aggregates: the rows learning keeps (scopes, candidate patterns, evidence,
//! runtimes, pins), the scopes of a context, the verdict and source names, and the summary for
//! `ee stats`. Their reads and writes are in `db`, corrections from `ee feedback` in `feedback`.
//!
//! Four scopes are kept per run, most specific first: `run:<project root>\t<command identity>`
//! (the narrow scope: the only one whose evidence can make ee stop a run), `cmd:<command key>`,
//! `prog:<program>` and `type:<category>/<project type>` (wider scopes only offer candidates).
//! A scope row holds counts and Welford accumulators (runtimes of normal runs, of failed runs,
//! and the largest gap inside post-match bursts); a pattern row holds one candidate pattern's
//! TP/FP/FN and uses in that scope. The narrow scope also keeps, per pattern, the evidence of
//! specificity and the shadow checks (`learn_evidence`: passing runs watched in which it did not
//! match, checks, stops since the last check) and the recent normal runtimes the hang detector
//! is derived from (`learn_runtimes`). A lookup reads the scope rows and their pattern rows by
//! primary key; nothing here ever scans the executions.

use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::Connection;

use super::stats::{Counts, Welford};
use crate::context::RunContext;

/// Post-match bursts end at a gap longer than this (seconds).
pub const BURST_BREAK: f64 = 2.0;
/// Most patterns kept per scope (mined ones are evicted first), and most user patterns.
pub const MAX_PATTERNS: usize = 40;
pub const MAX_USER_PATTERNS: usize = 8;
/// Per-run judgements kept for `ee feedback`.
pub const KEEP_RUNS: i64 = 10_000;
/// Error-like lines of a failed run generalized into candidates.
pub const MINE_LINES: usize = 6;
/// Recent normal runtimes kept per narrow scope for the hang detector.
pub const KEEP_SAMPLES: usize = 20;

/// One scope's aggregate row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeRow {
    pub scope: String,
    pub runs: u64,
    pub judged: u64,
    pub failed: u64,
    pub stopped: u64,
    pub ok: Welford,
    pub fail: Welford,
    /// Largest gap inside each post-match burst.
    pub gap: Welford,
    /// Length of each post-match burst.
    pub burst: Welford,
    /// Runs in a row stopped by the learned timeout (reset by a run that ends by itself).
    pub timeout_stops: u64,
}

/// One candidate pattern in one scope.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PatternRow {
    pub scope: String,
    pub pattern: String,
    /// `user`, `mined` or `profile:<name>`.
    pub source: String,
    pub counts: Counts,
    /// Runs it stopped.
    pub uses: u64,
    pub last_seen: f64,
}

/// Where a candidate pattern came from. Stored (and shown in `--json`) by its name:
/// [`Source::as_name`], read back by [`Source::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The user's own pattern (`-e`, a pin).
    User,
    /// Generalized from a failed run's error lines.
    Mined,
    /// A pattern profile's (built-in or the user's file), by the profile's name.
    Profile(String),
}

/// The names of the sources without a payload; a profile's is [`PROFILE_PREFIX`] + its name.
const SOURCE_NAMES: &[(Source, &str)] = &[(Source::User, "user"), (Source::Mined, "mined")];
const PROFILE_PREFIX: &str = "profile:";

impl Source {
    pub fn parse(s: &str) -> Option<Source> {
        match SOURCE_NAMES.iter().find(|(_, n)| *n == s) {
            Some((src, _)) => Some(src.clone()),
            None => s
                .strip_prefix(PROFILE_PREFIX)
                .map(|n| Source::Profile(n.to_string())),
        }
    }

    pub fn as_name(&self) -> String {
        match self {
            Source::Profile(n) => format!("{PROFILE_PREFIX}{n}"),
            unit => SOURCE_NAMES
                .iter()
                .find(|(s, _)| s == unit)
                .map_or(String::new(), |(_, n)| n.to_string()),
        }
    }

    /// The profile named by a stored source, if it is a profile's.
    pub fn profile_of(s: &str) -> Option<&str> {
        s.strip_prefix(PROFILE_PREFIX)
    }
}

/// A pattern's evidence of specificity and its shadow checks, in the narrow scope only.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Evidence {
    pub scope: String,
    pub pattern: String,
    /// Passing runs (ended by themselves) it was watched in and did not match.
    pub tn: u64,
    /// Shadow checks: runs it was confirmed for and matched, let finish and judged.
    pub checks: u64,
    /// Runs it stopped since its last shadow check.
    pub since_check: u64,
    /// Failed runs (ended by themselves) it matched in, and the sum of how long before their end
    /// it first matched (seconds): what stopping on it would have saved.
    pub lead_n: u64,
    pub lead_sum: f64,
    /// When it was last judged against the truth: a shadow check, or a passing run it was watched
    /// in without matching (Unix seconds; 0: never).
    pub checked_at: f64,
}

/// The narrow scope's recent normal runtimes and the user's corrections of its learned timeout.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Runtimes {
    /// Runtimes (seconds) of the last `KEEP_SAMPLES` normal runs, oldest first.
    pub samples: Vec<f64>,
    /// Learned-timeout stops the user called false (`ee feedback --false-positive`).
    pub timeout_fp: u64,
}

/// A pattern and/or timeout the user confirmed for a scope (`ee --watch`): applied ahead of
/// what was learned, until the evidence proves the pattern bad.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pin {
    pub scope: String,
    pub pattern: Option<String>,
    pub timeout: Option<f64>,
}

/// What is known about a context: its scope rows and their patterns.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// The scope names, most specific first.
    pub scopes: Vec<String>,
    pub rows: Vec<ScopeRow>,
    pub patterns: Vec<PatternRow>,
    pub pins: Vec<Pin>,
    /// Narrow scope only.
    pub evidence: Vec<Evidence>,
    /// Narrow scope only.
    pub runtimes: Runtimes,
}

impl Knowledge {
    /// The narrow scope: project root and command identity.
    pub fn narrow(&self) -> Option<&str> {
        self.scopes
            .first()
            .map(String::as_str)
            .filter(|s| s.starts_with("run:"))
    }
    pub fn evidence(&self, pattern: &str) -> Evidence {
        self.evidence
            .iter()
            .find(|e| e.pattern == pattern)
            .cloned()
            .unwrap_or_default()
    }
    /// A pattern's row in the narrow scope.
    pub fn narrow_row(&self, pattern: &str) -> Option<&PatternRow> {
        let n = self.narrow()?;
        self.patterns
            .iter()
            .find(|p| p.scope == n && p.pattern == pattern)
    }
    pub fn row(&self, scope: &str) -> Option<&ScopeRow> {
        self.rows.iter().find(|r| r.scope == scope)
    }
    pub fn patterns_in<'a>(&'a self, scope: &'a str) -> impl Iterator<Item = &'a PatternRow> {
        self.patterns.iter().filter(move |p| p.scope == scope)
    }
}

/// The narrow scope of a context: project root and command identity.
pub fn narrow_scope(ctx: &RunContext) -> String {
    format!("run:{}\t{}", ctx.root.display(), ctx.identity.text)
}

/// The scopes of a context, most specific first.
pub fn scopes(ctx: &RunContext) -> Vec<String> {
    let mut v = Vec::new();
    if !ctx.key.is_empty() {
        v.push(narrow_scope(ctx));
        v.push(format!("cmd:{}", ctx.key));
    }
    if !ctx.program.is_empty() && ctx.program != ctx.key {
        v.push(format!("prog:{}", ctx.program));
    }
    v.push(format!("type:{}/{}", ctx.category, ctx.project_type));
    v
}

pub(super) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// One pattern's judgement in one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Tp,
    Fp,
    Fneg,
    /// It stopped the run.
    Use,
    /// Another confirmed pattern that matched in a run stopped by the first: kept so that
    /// `ee feedback` judges it too (a false stop must not come back through a sibling).
    Seen,
}

/// Every verdict and its stored name, in one table.
const VERDICT_NAMES: &[(Verdict, &str)] = &[
    (Verdict::Tp, "tp"),
    (Verdict::Fp, "fp"),
    (Verdict::Fneg, "fn"),
    (Verdict::Use, "use"),
    (Verdict::Seen, "seen"),
];

impl Verdict {
    pub fn as_str(self) -> &'static str {
        name_of(VERDICT_NAMES, self)
    }
    pub fn parse(s: &str) -> Option<Verdict> {
        named(VERDICT_NAMES, s)
    }
    pub(crate) fn column(self) -> &'static str {
        match self {
            Verdict::Tp => "tp",
            Verdict::Fp => "fp",
            Verdict::Fneg => "fneg",
            Verdict::Use | Verdict::Seen => "uses",
        }
    }
}

/// What learning did, over every project and command: for `ee stats`.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Runs stopped by a confirmed pattern.
    pub stops: u64,
    /// Shadow checks: runs a confirmed pattern matched in, let finish and judged.
    pub shadow_checks: u64,
    /// Patterns watched in shadow in some project and command (caught a failure, not confirmed).
    pub shadow_patterns: u64,
    /// Patterns withdrawn in some project and command (matched in a passing run there).
    pub withdrawn_patterns: u64,
}

/// The learning summary (zeros when the tables do not exist).
pub fn summary(conn: &Connection) -> Summary {
    let one = |sql: &str| -> u64 {
        conn.query_row(sql, [], |r| r.get::<_, Option<i64>>(0))
            .ok()
            .flatten()
            .unwrap_or(0)
            .max(0) as u64
    };
    Summary {
        stops: one("SELECT sum(uses) FROM learn_patterns WHERE scope LIKE 'run:%'"),
        shadow_checks: one("SELECT sum(checks) FROM learn_evidence"),
        shadow_patterns: one(
            "SELECT count(*) FROM learn_patterns WHERE scope LIKE 'run:%' AND fp = 0 AND tp > 0",
        ),
        withdrawn_patterns: one(
            "SELECT count(*) FROM learn_patterns WHERE scope LIKE 'run:%' AND fp > 0",
        ),
    }
}

/// The name of `v` in a name table.
pub(super) fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], v: T) -> &'static str {
    table.iter().find(|(t, _)| *t == v).map_or("", |(_, n)| n)
}

/// The value named `s` in a name table.
pub(super) fn named<T: Copy>(table: &[(T, &'static str)], s: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_reads_back() {
        for (v, n) in VERDICT_NAMES {
            assert_eq!((v.as_str(), Verdict::parse(n)), (*n, Some(*v)));
        }
        for (s, n) in SOURCE_NAMES {
            assert_eq!(
                (s.as_name(), Source::parse(n)),
                (n.to_string(), Some(s.clone()))
            );
        }
        let p = Source::Profile("pytest".into());
        assert_eq!(p.as_name(), "profile:pytest");
        assert_eq!(Source::parse("profile:pytest"), Some(p));
        assert_eq!(Source::profile_of("profile:pytest"), Some("pytest"));
        assert_eq!(Source::parse("timeout"), None);
    }
}
