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

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use regex::{Regex, RegexSet};
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::lexicon;
use super::profiles;
use super::stats::{Counts, Welford};
use crate::context::RunContext;
use crate::engine::matcher::strip_ansi;
use crate::engine::outcome::{MatchRecord, Mode, Outcome};
use crate::engine::policy::Reason;

/// Post-match bursts end at a gap longer than this (seconds).
pub const BURST_BREAK: f64 = 2.0;
/// Most patterns kept per scope (mined ones are evicted first), and most user patterns.
pub const MAX_PATTERNS: usize = 40;
pub const MAX_USER_PATTERNS: usize = 8;
/// Per-run judgements kept for `ee feedback`.
pub const KEEP_RUNS: i64 = 10_000;
/// Error-like lines of a failed run generalized into candidates.
const MINE_LINES: usize = 6;
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

/// Statistics read back from the database, validated (`validate::moments`): unusable values
/// read as no statistics.
fn w(n: i64, mean: f64, m2: f64) -> Welford {
    match super::validate::moments(n, mean, m2) {
        Some((n, mean, m2)) => Welford { n, mean, m2 },
        None => Welford::default(),
    }
}

fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Read what is known for the scopes: two primary-key reads. Missing tables read as empty.
pub fn load(conn: &Connection, scopes: &[String]) -> rusqlite::Result<Knowledge> {
    let mut k = Knowledge {
        scopes: scopes.to_vec(),
        ..Default::default()
    };
    if scopes.is_empty() {
        return Ok(k);
    }
    let ph = placeholders(scopes.len());
    let mut st = conn.prepare_cached(&format!(
        "SELECT scope, runs, judged, failed, stopped, ok_n, ok_mean, ok_m2, fail_n, fail_mean, \
         fail_m2, gap_n, gap_mean, gap_m2, burst_n, burst_mean, burst_m2, \
         coalesce((SELECT timeout_stops FROM learn_streaks t WHERE t.scope = s.scope), 0) \
         FROM learn_scopes s WHERE scope IN ({ph})"
    ))?;
    let rows = st.query_map(rusqlite::params_from_iter(scopes), |r| {
        Ok(ScopeRow {
            scope: r.get(0)?,
            runs: super::validate::count(r.get(1)?),
            judged: super::validate::count(r.get(2)?),
            failed: super::validate::count(r.get(3)?),
            stopped: super::validate::count(r.get(4)?),
            ok: w(r.get(5)?, r.get(6)?, r.get(7)?),
            fail: w(r.get(8)?, r.get(9)?, r.get(10)?),
            gap: w(r.get(11)?, r.get(12)?, r.get(13)?),
            burst: w(r.get(14)?, r.get(15)?, r.get(16)?),
            timeout_stops: super::validate::count(r.get(17)?),
        })
    })?;
    for r in rows {
        k.rows.push(r?);
    }
    // Bounded: at most MAX_ROWS_PER_SCOPE rows per scope, whatever the database holds.
    let mut st = conn.prepare_cached(&format!(
        "SELECT * FROM ({}) WHERE length(pattern) <= {} AND length(scope) <= {}",
        (1..=scopes.len())
            .map(|i| format!(
                "SELECT * FROM (SELECT scope, pattern, source, tp, fp, fneg, uses, last_seen \
                 FROM learn_patterns WHERE scope = ?{i} LIMIT {})",
                super::validate::MAX_ROWS_PER_SCOPE
            ))
            .collect::<Vec<_>>()
            .join(" UNION ALL "),
        super::validate::MAX_PATTERN_LEN,
        super::validate::MAX_SCOPE_LEN
    ))?;
    let rows = st.query_map(rusqlite::params_from_iter(scopes), |r| {
        Ok(PatternRow {
            scope: r.get(0)?,
            pattern: r.get(1)?,
            source: r.get(2)?,
            counts: Counts {
                tp: super::validate::count(r.get(3)?),
                fp: super::validate::count(r.get(4)?),
                fneg: super::validate::count(r.get(5)?),
            },
            uses: super::validate::count(r.get(6)?),
            last_seen: r.get(7)?,
        })
    })?;
    for r in rows {
        let r = r?;
        // Rows that could not have been written by ee are ignored.
        if super::validate::pattern_text(&r.pattern).is_ok()
            && super::validate::source(&r.source).is_ok()
        {
            k.patterns.push(r);
        }
    }
    if let Some(n) = k.narrow().map(str::to_string) {
        // Tables from before these existed read as empty.
        if let Ok(mut st) = conn.prepare_cached(
            "SELECT pattern, tn, checks, since_check, checked_at, lead_n, lead_sum \
             FROM learn_evidence WHERE scope = ?1",
        ) {
            let rows = st.query_map([&n], |r| {
                Ok(Evidence {
                    scope: n.clone(),
                    pattern: r.get(0)?,
                    tn: r.get::<_, i64>(1)?.max(0) as u64,
                    checks: r.get::<_, i64>(2)?.max(0) as u64,
                    since_check: r.get::<_, i64>(3)?.max(0) as u64,
                    checked_at: r.get(4)?,
                    lead_n: r.get::<_, i64>(5)?.max(0) as u64,
                    lead_sum: r.get(6)?,
                })
            })?;
            for r in rows {
                k.evidence.push(r?);
            }
        }
        if let Ok(mut st) =
            conn.prepare_cached("SELECT samples, timeout_fp FROM learn_runtimes WHERE scope = ?1")
        {
            if let Some((s, fp)) = st
                .query_row([&n], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                .optional()?
            {
                k.runtimes = Runtimes {
                    samples: serde_json::from_str(&s).unwrap_or_default(),
                    timeout_fp: fp.max(0) as u64,
                };
            }
        }
    }
    // Pins: a database from before they existed simply has none.
    if let Ok(mut st) = conn.prepare_cached(&format!(
        "SELECT scope, pattern, timeout FROM learn_pins WHERE scope IN ({ph})"
    )) {
        let rows = st.query_map(rusqlite::params_from_iter(scopes), |r| {
            Ok(Pin {
                scope: r.get(0)?,
                pattern: r.get(1)?,
                timeout: r.get(2)?,
            })
        })?;
        for r in rows {
            let mut p: Pin = r?;
            p.pattern = p
                .pattern
                .filter(|x| super::validate::pattern_text(x).is_ok());
            p.timeout = p
                .timeout
                .and_then(|t| super::validate::seconds(t, super::validate::MIN_READ_TIMEOUT));
            k.pins.push(p);
        }
    }
    Ok(k)
}

/// Pin a pattern and/or a timeout for a scope, replacing an earlier pin. The pattern also gets a
/// row among the scope's candidates (source `user`), so the evidence keeps judging it.
pub fn pin(
    tx: &Transaction,
    scope: &str,
    pattern: Option<&str>,
    timeout: Option<f64>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT OR REPLACE INTO learn_pins (scope, pattern, timeout, at) VALUES (?1, ?2, ?3, ?4)",
        rusqlite::params![scope, pattern, timeout, now()],
    )?;
    if let Some(p) = pattern {
        tx.execute(
            "INSERT INTO learn_patterns (scope, pattern, source, last_seen) VALUES (?1, ?2, 'user', ?3) \
             ON CONFLICT(scope, pattern) DO NOTHING",
            rusqlite::params![scope, p, now()],
        )?;
    }
    Ok(())
}

/// How a run ended, for judging patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    /// Ran to the end by itself and succeeded.
    Succeeded,
    /// Ran to the end by itself and failed (nonzero status or died of a signal).
    Failed,
    /// ee stopped it (match, timeout, stuck), left it running (`--detach`) or it was
    /// interrupted: the truth is unknown.
    Unknown,
}

pub fn truth(o: &Outcome) -> Truth {
    let Some(child) = o.child else {
        return Truth::Unknown;
    };
    if o.stopped_early
        || o.detached
        || matches!(
            o.reason,
            Reason::Interrupted(_) | Reason::OutputClosed | Reason::Error
        )
    {
        return Truth::Unknown;
    }
    if child.success() {
        Truth::Succeeded
    } else if interrupted(o) {
        // The user interrupted it and the child handled the signal itself (pytest exits 2
        // after Ctrl-C): whatever status it returned, that run teaches nothing.
        Truth::Unknown
    } else {
        Truth::Failed
    }
}

/// A failed run that shows it was interrupted: status 130 or 143 (128 + SIGINT/SIGTERM, as a
/// shell or runtime reports it), or a `KeyboardInterrupt` line.
fn interrupted(o: &Outcome) -> bool {
    use crate::engine::outcome::ChildStatus;
    matches!(
        o.child,
        Some(ChildStatus::Exited(130 | 143)) | Some(ChildStatus::Signaled(2 | 15))
    ) || o
        .observed
        .iter()
        .chain(&o.matches)
        .any(|m| m.line.contains("KeyboardInterrupt"))
}

/// A pattern as the effective regex text, with the `-i -w -x` flags folded in.
pub fn effective(pattern: &str, flags: &str) -> String {
    let mut p = pattern.to_string();
    if flags.contains('w') {
        p = format!(r"\b(?:{p})\b");
    }
    if flags.contains('x') {
        p = format!("^(?:{p})$");
    }
    if flags.contains('i') {
        p = format!("(?i){p}");
    }
    p
}

/// The deciding patterns of a run (those that could stop it), as effective regex text.
fn deciding(o: &Outcome) -> Vec<String> {
    let pu = &o.patterns;
    if pu.flags.contains('v') {
        return Vec::new();
    }
    pu.main
        .iter()
        .chain(&pu.error)
        .map(|p| {
            if pu.learned {
                p.clone()
            } else {
                effective(p, &pu.flags)
            }
        })
        .collect()
}

/// Post-match burst of a run that ran to the end: (largest gap inside it, its length), seconds.
pub fn burst(o: &Outcome, failed: bool) -> Option<(f64, f64)> {
    let start = match o
        .matches
        .iter()
        .find(|m| m.kind == "match" || m.kind == "error")
    {
        Some(m) => m.offset,
        None if failed => o.observed.first()?.offset,
        None => return None,
    };
    let mut offs: Vec<f64> = o
        .matches
        .iter()
        .chain(&o.observed)
        .map(|m| m.offset)
        .filter(|&t| t >= start)
        .collect();
    offs.sort_by(|a, b| a.total_cmp(b));
    let (mut prev, mut gap) = (start, 0.0f64);
    for t in offs {
        if t - prev > BURST_BREAK {
            break;
        }
        gap = gap.max(t - prev);
        prev = t;
    }
    Some((gap, prev - start))
}

fn line_text(m: &MatchRecord) -> String {
    String::from_utf8_lossy(&strip_ansi(m.line.as_bytes())).into_owned()
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

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Tp => "tp",
            Verdict::Fp => "fp",
            Verdict::Fneg => "fn",
            Verdict::Use => "use",
            Verdict::Seen => "seen",
        }
    }
    pub fn parse(s: &str) -> Option<Verdict> {
        Some(match s {
            "tp" => Verdict::Tp,
            "fp" => Verdict::Fp,
            "fn" => Verdict::Fneg,
            "use" => Verdict::Use,
            "seen" => Verdict::Seen,
            _ => return None,
        })
    }
    fn column(self) -> &'static str {
        match self {
            Verdict::Tp => "tp",
            Verdict::Fp => "fp",
            Verdict::Fneg => "fneg",
            Verdict::Use | Verdict::Seen => "uses",
        }
    }
}

/// Add `delta` to one counter of a pattern in the given scopes (creating rows as needed).
pub fn bump(
    tx: &Connection,
    scopes: &[String],
    pattern: &str,
    source: &str,
    v: Verdict,
    delta: i64,
    at: f64,
) -> rusqlite::Result<()> {
    let col = v.column();
    let max = super::validate::MAX_COUNT;
    let mut st = tx.prepare_cached(&format!(
        "INSERT INTO learn_patterns (scope, pattern, source, {col}, last_seen) \
         VALUES (?1, ?2, ?3, max(?4, 0), ?5) \
         ON CONFLICT (scope, pattern) DO UPDATE SET {col} = min(max({col} + ?4, 0), {max}), \
         last_seen = max(last_seen, ?5)"
    ))?;
    for s in scopes {
        st.execute(params![s, pattern, source, delta, at])?;
    }
    Ok(())
}

/// Update the aggregates for one recorded run (called inside the run's write transaction).
pub fn update(
    tx: &Transaction,
    run_id: i64,
    o: &Outcome,
    ctx: &RunContext,
) -> rusqlite::Result<()> {
    if o.mode == Mode::Pipe || ctx.program.is_empty() {
        return Ok(());
    }
    let scopes = scopes(ctx);
    let at = now();
    let truth = truth(o);
    let total = o.total.as_secs_f64();
    let known = load(tx, &scopes)?;

    // Scope rows: counts and Welford accumulators.
    // A burst of one line (length 0) says nothing about the gaps inside bursts.
    let sample_burst = if truth == Truth::Unknown {
        None
    } else {
        burst(o, truth == Truth::Failed).filter(|&(_, len)| len > 0.0)
    };
    for s in &scopes {
        let mut row = known.row(s).cloned().unwrap_or_else(|| ScopeRow {
            scope: s.clone(),
            ..Default::default()
        });
        row.runs += 1;
        match truth {
            Truth::Succeeded => {
                row.judged += 1;
                row.ok.push(total);
            }
            Truth::Failed => {
                row.judged += 1;
                row.failed += 1;
                row.fail.push(total);
            }
            Truth::Unknown => {}
        }
        if o.stopped_early {
            row.stopped += 1;
        }
        if let Some((gap, len)) = sample_burst {
            row.gap.push(gap);
            row.burst.push(len);
        }
        write_row(tx, &row, at)?;
    }
    // Recent normal runtimes of the narrow scope (never for a bare interpreter).
    if let (Some(n), Truth::Succeeded, false) = (known.narrow(), truth, ctx.identity.bare) {
        let mut v = known.runtimes.samples.clone();
        v.push(total);
        if v.len() > KEEP_SAMPLES {
            v.drain(..v.len() - KEEP_SAMPLES);
        }
        tx.prepare_cached(
            "INSERT INTO learn_runtimes (scope, samples) VALUES (?1, ?2) \
             ON CONFLICT (scope) DO UPDATE SET samples = excluded.samples",
        )?
        .execute(params![n, serde_json::to_string(&v).unwrap_or_default()])?;
    }
    // The learned timeout's streak of stops, for the command's own scope.
    if let Some(own) = scopes.first() {
        if o.limits.timeout_learned && o.reason == Reason::Timeout {
            tx.prepare_cached(
                "INSERT INTO learn_streaks (scope, timeout_stops) VALUES (?1, 1) \
                 ON CONFLICT (scope) DO UPDATE SET timeout_stops = timeout_stops + 1",
            )?
            .execute([own])?;
        } else if truth != Truth::Unknown {
            tx.prepare_cached("DELETE FROM learn_streaks WHERE scope = ?1")?
                .execute([own])?;
        }
    }

    // Which patterns were watched in this run, and where each came from.
    let mut cands: BTreeMap<String, String> = BTreeMap::new();
    let learned_src = |p: &str| {
        known
            .patterns
            .iter()
            .find(|r| r.pattern == p)
            .map_or("mined".to_string(), |r| r.source.clone())
    };
    let dec = deciding(o);
    for p in &dec {
        let src = if o.patterns.learned {
            learned_src(p)
        } else {
            "user".to_string()
        };
        cands.insert(p.clone(), src);
    }
    let profile = profiles::for_command(profiles::list(), &ctx.argv);
    if o.mode == Mode::Run {
        for r in &known.patterns {
            let watched = match r.source.as_str() {
                "mined" | "user" => true,
                s => profile.as_ref().is_some_and(|p| {
                    s == format!("profile:{}", p.name) && p.patterns.contains(&r.pattern)
                }),
            };
            if watched {
                cands.entry(r.pattern.clone()).or_insert(r.source.clone());
            }
        }
        if let Some(p) = &profile {
            for pat in &p.patterns {
                cands
                    .entry(pat.clone())
                    .or_insert(format!("profile:{}", p.name));
            }
        }
    }
    let lines: Vec<(f64, String)> = o
        .matches
        .iter()
        .chain(&o.observed)
        .map(|m| (m.offset, line_text(m)))
        .collect();
    let mut mined: Vec<String> = Vec::new();
    if truth == Truth::Failed && o.mode == Mode::Run {
        let mut seen = 0;
        let mut last = String::new();
        for m in &o.observed {
            let l = line_text(m);
            if l == last {
                continue;
            }
            last = l.clone();
            let g = lexicon::generalize(&l);
            if g.is_empty() {
                continue;
            }
            for p in g {
                if !mined.contains(&p) {
                    mined.push(p);
                }
            }
            seen += 1;
            if seen >= MINE_LINES {
                break;
            }
        }
        for p in &mined {
            cands.entry(p.clone()).or_insert("mined".to_string());
        }
    }

    // Judge each candidate.
    let stopper = if o.stopped_early && matches!(o.reason, Reason::Match | Reason::ErrorMatch) {
        o.matches
            .iter()
            .find(|m| m.kind == "match" || m.kind == "error")
            .map(|m| {
                if o.patterns.learned {
                    m.pattern.clone()
                } else {
                    effective(&m.pattern, &o.patterns.flags)
                }
            })
    } else {
        None
    };
    let hits = if truth != Truth::Unknown {
        hits(cands.keys(), &lines)
    } else if stopper.is_some() {
        hits(
            cands
                .keys()
                .filter(|p| super::rank::confirmed(&known, p) && stopper.as_ref() != Some(*p)),
            &lines,
        )
    } else {
        BTreeMap::new()
    };
    let mut verdicts: Vec<(String, Verdict, String)> = Vec::new();
    let mut created = false;
    for (p, src) in &cands {
        let v = if truth == Truth::Unknown {
            if stopper.as_deref() == Some(p.as_str()) {
                Some(Verdict::Use)
            } else if matches!(hits.get(p), Some(Some(_))) {
                verdicts.push((p.clone(), Verdict::Seen, src.clone()));
                None
            } else {
                None
            }
        } else {
            let Some(&first) = hits.get(p) else { continue };
            match (first.is_some(), truth) {
                (true, Truth::Failed) => Some(Verdict::Tp),
                (true, _) => Some(Verdict::Fp),
                (false, Truth::Failed) => Some(Verdict::Fneg),
                _ => None,
            }
        };
        let Some(v) = v else { continue };
        // A mined pattern gets a row in a scope only by catching a failure (or stopping a run)
        // there; elsewhere only its existing rows are updated. The user's and the profile's
        // patterns are tracked in every scope.
        // A false positive always reaches the narrow scope, where it withdraws the pattern.
        let at_scopes: Vec<String> = if src == "mined" && !matches!(v, Verdict::Tp | Verdict::Use) {
            scopes
                .iter()
                .filter(|s| {
                    (v == Verdict::Fp && known.narrow() == Some(s.as_str()))
                        || known
                            .patterns
                            .iter()
                            .any(|r| &r.scope == *s && &r.pattern == p)
                })
                .cloned()
                .collect()
        } else {
            scopes.clone()
        };
        if at_scopes.is_empty() {
            continue;
        }
        created |= at_scopes.iter().any(|s| {
            !known
                .patterns
                .iter()
                .any(|r| &r.scope == s && &r.pattern == p)
        });
        bump(tx, &at_scopes, p, src, v, 1, at)?;
        verdicts.push((p.clone(), v, src.clone()));
    }
    // The narrow scope's evidence: passing runs in which a watched candidate did not match
    // (not when the recorded lines were capped: a match may have gone unrecorded), shadow checks
    // of confirmed patterns, and stops since the last check.
    if let Some(n) = known.narrow() {
        let capped = o.observed.len() >= crate::engine::outcome::MAX_RECORDS;
        let mut st = tx.prepare_cached(
            "INSERT INTO learn_evidence (scope, pattern, tn, checks, since_check, checked_at, \
             lead_n, lead_sum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (scope, pattern) DO UPDATE SET \
             tn = tn + excluded.tn, checks = checks + excluded.checks, \
             lead_n = lead_n + excluded.lead_n, lead_sum = lead_sum + excluded.lead_sum, \
             since_check = CASE WHEN excluded.checks > 0 THEN 0 \
                                ELSE since_check + excluded.since_check END, \
             checked_at = max(checked_at, excluded.checked_at)",
        )?;
        for p in cands.keys() {
            let first = hits.get(p).copied();
            let hit = first.map(|f| f.is_some());
            let tn = (truth == Truth::Succeeded && hit == Some(false) && !capped) as i64;
            let check = (truth != Truth::Unknown
                && hit == Some(true)
                && super::rank::confirmed(&known, p)) as i64;
            // How long before the end of a failed run it matched: what a stop on it saves.
            let lead = match (truth, first) {
                (Truth::Failed, Some(Some(f))) => Some((total - f).max(0.0)),
                _ => None,
            };
            let used = (stopper.as_deref() == Some(p.as_str())) as i64;
            if tn + check + used > 0 || lead.is_some() {
                st.execute(params![
                    n,
                    p,
                    tn,
                    check,
                    used,
                    if check + tn > 0 { at } else { 0.0 },
                    lead.is_some() as i64,
                    lead.unwrap_or(0.0)
                ])?;
            }
        }
    }
    // A stop that no pattern made: the learned timeout's, or one of the user's own options. Kept
    // so that `ee feedback last --false-positive` works on every stopped run.
    if o.stopped_early && stopper.is_none() && truth == Truth::Unknown {
        let interrupted = matches!(o.reason, Reason::Interrupted(_));
        if !interrupted {
            let (what, src) = if o.reason == Reason::Timeout && o.limits.timeout_learned {
                ("<learned timeout>", "timeout")
            } else {
                ("<your option>", "option")
            };
            verdicts.push((what.to_string(), Verdict::Use, src.to_string()));
        }
    }
    if created {
        for s in &scopes {
            evict(tx, s)?;
        }
    }

    // Per-run judgements, for `ee feedback`.
    let vj: Vec<serde_json::Value> = verdicts
        .iter()
        .map(|(p, v, s)| serde_json::json!([p, v.as_str(), s]))
        .collect();
    tx.prepare_cached(
        "INSERT OR REPLACE INTO learn_runs (run_id, scopes, verdicts, feedback) VALUES (?1, ?2, ?3, NULL)",
    )?
    .execute(params![
        run_id,
        scopes.join("\n"),
        serde_json::Value::Array(vj).to_string()
    ])?;
    tx.prepare_cached("DELETE FROM learn_runs WHERE run_id <= ?1")?
        .execute(params![run_id - KEEP_RUNS])?;

    // Time saved by an early stop: for a stop on a pattern, the mean length of the failed runs of
    // the same project and identity that ended by themselves, minus this one; otherwise (no such
    // run, or a stop on a timeout: a hang might have run forever) unknown, NULL, never 0.
    if o.stopped_early && truth == Truth::Unknown && !matches!(o.reason, Reason::Interrupted(_)) {
        let saved = known
            .narrow()
            .and_then(|s| known.row(s))
            .filter(|r| stopper.is_some() && r.fail.n > 0)
            .map(|r| (r.fail.mean - total).max(0.0));
        // The executions table belongs to the telemetry store; never fail the run on it.
        let _ = tx.execute(
            "UPDATE executions SET time_saved_s = ?1 WHERE id = ?2",
            params![saved, run_id],
        );
    }
    Ok(())
}

/// Which patterns match any of the lines (patterns that do not compile are left out). One
/// `RegexSet` for all of them; nothing is compiled when there is no line.
fn hits<'a>(
    pats: impl Iterator<Item = &'a String>,
    lines: &[(f64, String)],
) -> BTreeMap<&'a String, Option<f64>> {
    let pats: Vec<&String> = pats.collect();
    if lines.is_empty() {
        return pats.into_iter().map(|p| (p, None)).collect();
    }
    let earlier = |a: Option<f64>, t: f64| Some(a.map_or(t, |a: f64| a.min(t)));
    if let Ok(set) = RegexSet::new(&pats) {
        let mut hit: Vec<Option<f64>> = vec![None; pats.len()];
        for (t, l) in lines {
            for i in set.matches(l).into_iter() {
                hit[i] = earlier(hit[i], *t);
            }
        }
        return pats.into_iter().zip(hit).collect();
    }
    pats.into_iter()
        .filter_map(|p| {
            let re = Regex::new(p).ok()?;
            let first = lines
                .iter()
                .filter(|(_, l)| re.is_match(l))
                .fold(None, |a, (t, _)| earlier(a, *t));
            Some((p, first))
        })
        .collect()
}

fn write_row(tx: &Connection, r: &ScopeRow, at: f64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO learn_scopes (scope, runs, judged, failed, stopped, ok_n, ok_mean, \
         ok_m2, fail_n, fail_mean, fail_m2, gap_n, gap_mean, gap_m2, burst_n, burst_mean, \
         burst_m2, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
         ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        r.scope,
        r.runs as i64,
        r.judged as i64,
        r.failed as i64,
        r.stopped as i64,
        r.ok.n as i64,
        r.ok.mean,
        r.ok.m2,
        r.fail.n as i64,
        r.fail.mean,
        r.fail.m2,
        r.gap.n as i64,
        r.gap.mean,
        r.gap.m2,
        r.burst.n as i64,
        r.burst.mean,
        r.burst.m2,
        at
    ])?;
    Ok(())
}

/// Keep a scope's pattern list bounded: evict the weakest mined patterns, then the oldest user
/// patterns beyond their own cap.
fn evict(tx: &Connection, scope: &str) -> rusqlite::Result<()> {
    let count: i64 = tx
        .prepare_cached("SELECT count(*) FROM learn_patterns WHERE scope = ?1")?
        .query_row([scope], |r| r.get(0))?;
    if count as usize > MAX_PATTERNS {
        tx.prepare_cached(
            "DELETE FROM learn_patterns WHERE scope = ?1 AND pattern IN (SELECT pattern FROM \
             learn_patterns WHERE scope = ?1 AND source = 'mined' ORDER BY tp - fp, last_seen \
             LIMIT ?2)",
        )?
        .execute(params![scope, count - MAX_PATTERNS as i64])?;
    }
    let users: i64 = tx
        .prepare_cached("SELECT count(*) FROM learn_patterns WHERE scope = ?1 AND source = 'user'")?
        .query_row([scope], |r| r.get(0))?;
    if users as usize > MAX_USER_PATTERNS {
        tx.prepare_cached(
            "DELETE FROM learn_patterns WHERE scope = ?1 AND pattern IN (SELECT pattern FROM \
             learn_patterns WHERE scope = ?1 AND source = 'user' ORDER BY last_seen LIMIT ?2)",
        )?
        .execute(params![scope, users - MAX_USER_PATTERNS as i64])?;
    }
    Ok(())
}

/// One correction: a pattern's counter, or for a stop by the learned timeout its false-positive
/// count (each doubles its margin), or nothing for a stop by the user's own option.
fn correct(
    tx: &Connection,
    scopes: &[String],
    pattern: &str,
    source: &str,
    v: Verdict,
    delta: i64,
    at: f64,
) -> rusqlite::Result<()> {
    match source {
        "timeout" => {
            if let (Some(n), Verdict::Fp) = (scopes.first(), v) {
                tx.execute(
                    "INSERT INTO learn_runtimes (scope, timeout_fp) VALUES (?1, max(?2, 0)) \
                     ON CONFLICT (scope) DO UPDATE SET timeout_fp = max(timeout_fp + ?2, 0)",
                    params![n, delta],
                )?;
            }
            Ok(())
        }
        "option" => Ok(()),
        _ => bump(tx, scopes, pattern, source, v, delta, at),
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

/// A run's stored judgements.
#[derive(Debug, Clone)]
pub struct RunJudgement {
    pub run_id: i64,
    pub scopes: Vec<String>,
    pub verdicts: Vec<(String, Verdict, String)>,
    pub feedback: Option<String>,
}

/// The judgements of a run (`None` for the newest run).
pub fn run_judgement(
    conn: &Connection,
    run_id: Option<i64>,
) -> rusqlite::Result<Option<RunJudgement>> {
    let sql = match run_id {
        Some(_) => "SELECT run_id, scopes, verdicts, feedback FROM learn_runs WHERE run_id = ?1",
        None => "SELECT run_id, scopes, verdicts, feedback FROM learn_runs WHERE ?1 IS NULL ORDER BY run_id DESC LIMIT 1",
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
            feedback: r.get(3)?,
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

impl Feedback {
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::FalsePositive => "false-positive",
            Feedback::Missed => "missed",
            Feedback::Good => "good",
        }
    }
    fn parse(s: &str) -> Option<Feedback> {
        Some(match s {
            "false-positive" => Feedback::FalsePositive,
            "missed" => Feedback::Missed,
            "good" => Feedback::Good,
            _ => return None,
        })
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
    if let Some(prev) = j.feedback.as_deref().and_then(|s| {
        let (kind, _) = s.split_once('\n').unwrap_or((s, ""));
        Feedback::parse(kind)
    }) {
        for (p, s, v, d) in corrections(&j, prev) {
            correct(tx, &j.scopes, &p, &s, v, -d, at).map_err(db)?;
        }
        if prev == Feedback::Missed {
            let extra: Vec<(String, String)> = j
                .feedback
                .as_deref()
                .and_then(|s| s.split_once('\n'))
                .and_then(|(_, rest)| serde_json::from_str(rest).ok())
                .unwrap_or_default();
            for (p, s) in extra {
                bump(tx, &j.scopes, &p, &s, Verdict::Fneg, -1, at).map_err(db)?;
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
        correct(tx, &j.scopes, p, s, *v, *d, at).map_err(db)?;
    }
    for (p, s) in &extra {
        bump(tx, &j.scopes, p, s, Verdict::Fneg, 1, at).map_err(db)?;
        changes.push((p.clone(), s.clone(), Verdict::Fneg, 1));
    }
    let stored = if f == Feedback::Missed {
        format!(
            "{}\n{}",
            f.as_str(),
            serde_json::to_string(&extra).unwrap_or_default()
        )
    } else {
        f.as_str().to_string()
    };
    tx.execute(
        "UPDATE learn_runs SET feedback = ?1 WHERE run_id = ?2",
        params![stored, j.run_id],
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
    fn hits_with_a_set_and_without() {
        let pats = ["^FAILED".to_string(), "boom".to_string(), "(".to_string()];
        let lines = vec![
            (2.0, "FAILED y".to_string()),
            (1.0, "FAILED x".to_string()),
            (0.5, "ok".to_string()),
        ];
        let h = hits(pats.iter(), &lines);
        assert_eq!(h.get(&pats[0]), Some(&Some(1.0)));
        assert_eq!(h.get(&pats[1]), Some(&None));
        assert_eq!(h.get(&pats[2]), None, "invalid pattern left out");
        let h = hits(pats[..2].iter(), &lines);
        assert_eq!((h[&pats[0]], h[&pats[1]]), (Some(1.0), None));
        let h = hits(pats.iter(), &[]);
        assert!(h.values().all(|v| v.is_none()));
    }

    #[test]
    fn burst_measure() {
        let o = |offs: &[f64]| {
            let mut v = Vec::new();
            for &t in offs {
                v.push(MatchRecord {
                    offset: t,
                    stream: "stdout".into(),
                    line_no: 1,
                    kind: "observed",
                    pattern: String::new(),
                    line: String::new(),
                    matched: String::new(),
                    context: Vec::new(),
                });
            }
            v
        };
        let mut out = crate::learn::tests::outcome(&["x"], 1, 5.0, o(&[1.0, 1.1, 1.5, 4.0]));
        let (gap, len) = burst(&out, true).unwrap();
        assert!((gap - 0.4).abs() < 1e-9 && (len - 0.5).abs() < 1e-9);
        assert!(burst(&out, false).is_none());
        out.observed.clear();
        assert!(burst(&out, true).is_none());
    }
}
