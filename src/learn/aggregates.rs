//! The learning aggregates: their schema, their update inside each run's write transaction, the
//! indexed read used at every `ee run` start, and corrections from `ee feedback`.
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

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::db::{bump, Counter};
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

fn now() -> f64 {
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

/// One correction: a pattern's counter, or for a stop by the learned timeout its false-positive
/// count (each doubles its margin), or nothing for a stop by the user's own option.
fn correct(tx: &Connection, c: Counter, delta: i64, at: f64) -> rusqlite::Result<()> {
    match c.source {
        "timeout" => {
            if let (Some(n), Verdict::Fp) = (c.scopes.first(), c.verdict) {
                tx.execute(
                    "INSERT INTO learn_runtimes (scope, timeout_fp) VALUES (?1, max(?2, 0)) \
                     ON CONFLICT (scope) DO UPDATE SET timeout_fp = max(timeout_fp + ?2, 0)",
                    params![n, delta],
                )?;
            }
            Ok(())
        }
        "option" => Ok(()),
        _ => bump(tx, c, delta, at),
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
fn name_of<T: PartialEq + Copy>(table: &[(T, &'static str)], v: T) -> &'static str {
    table.iter().find(|(t, _)| *t == v).map_or("", |(_, n)| n)
}

/// The value named `s` in a name table.
fn named<T: Copy>(table: &[(T, &'static str)], s: &str) -> Option<T> {
    table.iter().find(|(_, n)| *n == s).map(|(t, _)| *t)
}

/// A run's stored judgements.
#[derive(Debug, Clone)]
pub struct RunJudgement {
    pub run_id: i64,
    pub scopes: Vec<String>,
    pub verdicts: Vec<(String, Verdict, String)>,
    pub feedback: Option<Given>,
}

impl RunJudgement {
    /// One of this run's pattern counters, in its scopes.
    fn counter<'a>(&'a self, pattern: &'a str, source: &'a str, verdict: Verdict) -> Counter<'a> {
        Counter {
            scopes: &self.scopes,
            pattern,
            source,
            verdict,
        }
    }
}

/// A feedback given on a run, as stored: its kind (`learn_runs.feedback`) and, for `missed`,
/// the applied patterns it counted as misses (`learn_runs.feedback_missed`, JSON).
#[derive(Debug, Clone, PartialEq)]
pub struct Given {
    pub kind: Feedback,
    pub missed: Vec<(String, String)>,
}

impl Given {
    /// Read the two columns. Builds from before `feedback_missed` stored `"missed\n<JSON>"` in
    /// the one column (and may still, on a shared database): read that too.
    pub fn read(feedback: Option<&str>, missed: Option<&str>) -> Option<Given> {
        let f = feedback?;
        let (kind, json) = match f.split_once('\n') {
            Some((k, rest)) => (k, Some(rest)),
            None => (f, missed),
        };
        Some(Given {
            kind: Feedback::parse(kind)?,
            missed: json
                .and_then(|j| serde_json::from_str(j).ok())
                .unwrap_or_default(),
        })
    }

    /// The two columns' values.
    pub fn columns(&self) -> (&'static str, Option<String>) {
        let missed = (self.kind == Feedback::Missed)
            .then(|| serde_json::to_string(&self.missed).unwrap_or_default());
        (self.kind.as_str(), missed)
    }
}

/// The judgements of a run (`None` for the newest run).
pub fn run_judgement(
    conn: &Connection,
    run_id: Option<i64>,
) -> rusqlite::Result<Option<RunJudgement>> {
    let sql = match run_id {
        Some(_) => {
            "SELECT run_id, scopes, verdicts, feedback, feedback_missed FROM learn_runs \
                    WHERE run_id = ?1"
        }
        None => {
            "SELECT run_id, scopes, verdicts, feedback, feedback_missed FROM learn_runs \
                 WHERE ?1 IS NULL ORDER BY run_id DESC LIMIT 1"
        }
    };
    conn.query_row(sql, [run_id], |r| {
        let scopes: String = r.get(1)?;
        let verdicts: String = r.get(2)?;
        let parsed: Vec<(String, String, String)> =
            serde_json::from_str(&verdicts).unwrap_or_default();
        Ok(RunJudgement {
            run_id: r.get(0)?,
            scopes: scopes.lines().map(str::to_string).collect(),
            verdicts: parsed
                .into_iter()
                .filter_map(|(p, v, s)| Verdict::parse(&v).map(|v| (p, v, s)))
                .collect(),
            feedback: Given::read(
                r.get::<_, Option<String>>(3)?.as_deref(),
                r.get::<_, Option<String>>(4)?.as_deref(),
            ),
        })
    })
    .optional()
}

/// A user's correction of a run's judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feedback {
    /// The pattern matched but the run did not really fail.
    FalsePositive,
    /// The run failed but the pattern did not catch it.
    Missed,
    /// The judgement was right.
    Good,
}

/// Every feedback kind and its stored (and printed) name, in one table.
const FEEDBACK_NAMES: &[(Feedback, &str)] = &[
    (Feedback::FalsePositive, "false-positive"),
    (Feedback::Missed, "missed"),
    (Feedback::Good, "good"),
];

impl Feedback {
    pub fn as_str(self) -> &'static str {
        name_of(FEEDBACK_NAMES, self)
    }
    fn parse(s: &str) -> Option<Feedback> {
        named(FEEDBACK_NAMES, s)
    }
}

/// The counter changes a feedback makes to a run's judgements.
fn corrections(j: &RunJudgement, f: Feedback) -> Vec<(String, String, Verdict, i64)> {
    let mut out = Vec::new();
    for (p, v, s) in &j.verdicts {
        let mut add = |v: Verdict, d: i64| out.push((p.clone(), s.clone(), v, d));
        match (f, v) {
            (Feedback::FalsePositive, Verdict::Tp) => {
                add(Verdict::Tp, -1);
                add(Verdict::Fp, 1);
            }
            (Feedback::FalsePositive, Verdict::Use | Verdict::Seen) => add(Verdict::Fp, 1),
            (Feedback::Missed, Verdict::Fp) => {
                add(Verdict::Fp, -1);
                add(Verdict::Fneg, 1);
            }
            (Feedback::Good, Verdict::Use | Verdict::Seen) => add(Verdict::Tp, 1),
            _ => {}
        }
    }
    out
}

/// Apply a feedback to a run (replacing an earlier feedback on the same run). Returns the run's
/// id and a one-line description of what changed.
pub fn apply_feedback(
    tx: &Transaction,
    run_id: Option<i64>,
    f: Feedback,
    missed_patterns: &[(String, String)],
) -> Result<(i64, String), String> {
    let j = run_judgement(tx, run_id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| match run_id {
            Some(id) => format!("no learning record for run {id}"),
            None => "no run recorded yet".to_string(),
        })?;
    let at = now();
    let db = |e: rusqlite::Error| e.to_string();
    // Undo an earlier feedback first.
    if let Some(prev) = &j.feedback {
        for (p, s, v, d) in corrections(&j, prev.kind) {
            correct(tx, j.counter(&p, &s, v), -d, at).map_err(db)?;
        }
        if prev.kind == Feedback::Missed {
            for (p, s) in &prev.missed {
                bump(tx, j.counter(p, s, Verdict::Fneg), -1, at).map_err(db)?;
            }
        }
    }
    let mut changes = corrections(&j, f);
    let mut extra: Vec<(String, String)> = Vec::new();
    if f == Feedback::Missed {
        // The patterns that would have been applied but did not match count as misses.
        for (p, s) in missed_patterns {
            let judged = j.verdicts.iter().any(|(q, _, _)| q == p);
            if !judged {
                extra.push((p.clone(), s.clone()));
            }
        }
    }
    if changes.is_empty() && extra.is_empty() && f != Feedback::Good {
        return Err(format!(
            "run {}: nothing to correct (no pattern judged in it{})",
            j.run_id,
            if f == Feedback::Missed {
                " and none to apply"
            } else {
                " matched"
            }
        ));
    }
    for (p, s, v, d) in &changes {
        correct(tx, j.counter(p, s, *v), *d, at).map_err(db)?;
    }
    for (p, s) in &extra {
        bump(tx, j.counter(p, s, Verdict::Fneg), 1, at).map_err(db)?;
        changes.push((p.clone(), s.clone(), Verdict::Fneg, 1));
    }
    let given = Given {
        kind: f,
        missed: extra,
    };
    let (kind, missed) = given.columns();
    tx.execute(
        "UPDATE learn_runs SET feedback = ?1, feedback_missed = ?2 WHERE run_id = ?3",
        params![kind, missed, j.run_id],
    )
    .map_err(db)?;
    let what = if changes.is_empty() {
        "judgement confirmed, nothing changed".to_string()
    } else {
        changes
            .iter()
            .map(|(p, s, v, d)| match s.as_str() {
                "timeout" if *d > 0 => {
                    "the learned timeout's margin is doubled for this command".to_string()
                }
                "timeout" => "the learned timeout's margin is restored".to_string(),
                "option" => "the stop came from your own option; nothing learned changed".into(),
                _ => format!("/{p}/ {} {d:+}", v.as_str()),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    Ok((j.run_id, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_reads_both_stored_forms() {
        let p = vec![("^E".to_string(), "mined".to_string())];
        let old = Given::read(Some("missed\n[[\"^E\",\"mined\"]]"), None).unwrap();
        let new = Given::read(Some("missed"), Some("[[\"^E\",\"mined\"]]")).unwrap();
        assert_eq!(old, new);
        assert_eq!(new.missed, p);
        assert_eq!(
            new.columns(),
            ("missed", Some("[[\"^E\",\"mined\"]]".into()))
        );
        let good = Given::read(Some("good"), None).unwrap();
        assert_eq!(
            (good.kind, good.columns()),
            (Feedback::Good, ("good", None))
        );
        assert_eq!(Given::read(Some("bogus"), None), None);
        assert_eq!(Given::read(None, Some("[]")), None);
    }

    #[test]
    fn every_name_reads_back() {
        for (v, n) in VERDICT_NAMES {
            assert_eq!((v.as_str(), Verdict::parse(n)), (*n, Some(*v)));
        }
        for (f, n) in FEEDBACK_NAMES {
            assert_eq!((f.as_str(), Feedback::parse(n)), (*n, Some(*f)));
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
