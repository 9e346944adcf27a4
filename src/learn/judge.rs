//! What one run means for what was learned, decided without a database: how the run ended (its
//! [`Truth`]), which patterns were watched in it and how each is judged, the scope rows and
//! evidence it adds to, and the time its early stop saved. [`judge`] turns what was known before
//! the run ([`Knowledge`]) and the run into a [`Judgement`]; `learn::db::apply` writes it.
//!
//! Also the standing rules a pattern lives by ([`pattern_state`], [`check_due`]): shadow until
//! it caught [`CONFIRM_TP`] failed runs and was clean in [`CONFIRM_TN`] passing runs of the
//! project and command, withdrawn by one match in a passing run there, and let finish as a shadow
//! check every [`CHECK_EVERY`] stops or after [`CHECK_AGE`] seconds; the learned timeout backs
//! off after [`MAX_TIMEOUT_STOPS`] stops in a row ([`timeout_backed_off`]).

use std::collections::BTreeMap;

use regex::{Regex, RegexSet};

use super::aggregates::{
    Knowledge, ScopeRow, Source, Verdict, BURST_BREAK, KEEP_RUNS, KEEP_SAMPLES, MINE_LINES,
};
use super::lexicon;
use super::profiles::Profile;
use super::rank::State;
use super::stats::{Counts, CHECK_AGE, CHECK_EVERY, CONFIRM_TN, CONFIRM_TP, MAX_TIMEOUT_STOPS};
use crate::context::RunContext;
use crate::engine::matcher::{strip_ansi, Class};
use crate::engine::outcome::{ChildStatus, MatchRecord, Mode, Outcome};
use crate::engine::policy::Reason;

/// Where a pattern stands in the narrow scope, from its counts there (`counts`), the passing
/// runs it was watched in without matching (`tn`) and whether the user pinned it.
pub fn pattern_state(counts: Counts, tn: u64, pinned: bool) -> State {
    if counts.fp > 0 {
        State::Withdrawn
    } else if pinned || (counts.tp >= CONFIRM_TP && tn >= CONFIRM_TN) {
        State::Confirmed
    } else {
        State::Shadow
    }
}

/// Is a shadow check due for a confirmed pattern: it stopped `since_check` runs since its last
/// check, last judged against the truth at `checked_at` (Unix seconds, 0: never), now `now`.
pub fn check_due(since_check: u64, checked_at: f64, now: f64) -> bool {
    since_check >= CHECK_EVERY
        || (since_check > 0 && checked_at > 0.0 && now - checked_at > CHECK_AGE)
}

/// Has the learned timeout stopped too many runs in a row (`stops`) to be applied: it backs off
/// until a run ends by itself. (The timeout itself is [`super::stats::hang_from`], pure too.)
pub fn timeout_backed_off(stops: u64) -> bool {
    stops >= MAX_TIMEOUT_STOPS
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
        .find(|m| matches!(m.kind, Class::Match | Class::Error))
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

/// Which patterns match any of the lines (patterns that do not compile are left out), with
/// the offset of the first matching line. One `RegexSet` for all of them; nothing is compiled
/// when there is no line.
pub fn hits<'a>(
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

/// One pattern counter to add to, in the given scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Bump {
    pub scopes: Vec<String>,
    pub pattern: String,
    pub source: String,
    pub verdict: Verdict,
}

/// The narrow scope's evidence for one pattern from this run.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceDelta {
    pub pattern: String,
    /// A passing run it was watched in without matching (0 or 1).
    pub tn: i64,
    /// A shadow check of a confirmed pattern (0 or 1): resets its stops since the last check.
    pub check: i64,
    /// It stopped this run (0 or 1).
    pub used: i64,
    /// When it was judged against the truth (0: not in this run).
    pub checked_at: f64,
    /// How long before the end of a failed run it first matched.
    pub lead: Option<f64>,
}

/// What happens to the learned timeout's streak of stops in the command's own scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streak {
    Keep,
    /// Stopped by the learned timeout: one more in a row.
    Extend,
    /// Ended by itself: the streak is over.
    Reset,
}

/// Everything one run changes in the learning tables.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// When it was judged (Unix seconds).
    pub at: f64,
    /// The run's scopes, most specific first.
    pub scopes: Vec<String>,
    /// The scope rows with this run added.
    pub rows: Vec<ScopeRow>,
    /// The narrow scope's recent normal runtimes, when this run adds one.
    pub runtimes: Option<(String, Vec<f64>)>,
    pub streak: Streak,
    pub bumps: Vec<Bump>,
    /// The narrow scope and its evidence from this run.
    pub evidence: Option<(String, Vec<EvidenceDelta>)>,
    /// A pattern got a row in a scope it had none in: the scopes' lists may need trimming.
    pub created: bool,
    /// Per pattern judged: (pattern, verdict, source), kept for `ee feedback`.
    pub verdicts: Vec<(String, Verdict, String)>,
    /// Judgements older than this run id are dropped.
    pub keep_runs: i64,
    /// The time the run's early stop saved, when learning knows it better than the store's
    /// estimate: `Some(None)` means unknown (NULL, never 0).
    pub time_saved: Option<Option<f64>>,
}

/// Judge a run against what was known before it. `None` for runs learning ignores (a pipe,
/// no program).
pub fn judge(
    known: &Knowledge,
    o: &Outcome,
    ctx: &RunContext,
    profile: Option<&Profile>,
    at: f64,
) -> Option<Judgement> {
    if o.mode == Mode::Pipe || ctx.program.is_empty() {
        return None;
    }
    let truth = truth(o);
    let total = o.total.as_secs_f64();
    let cands = candidates(known, o, profile, truth);
    let stopper = stopper(o);
    let lines: Vec<(f64, String)> = o
        .matches
        .iter()
        .chain(&o.observed)
        .map(|m| (m.offset, line_text(m)))
        .collect();
    let hits = if truth != Truth::Unknown {
        hits(cands.keys(), &lines)
    } else if stopper.is_some() {
        hits(
            cands
                .keys()
                .filter(|p| super::rank::confirmed(known, p) && stopper.as_ref() != Some(*p)),
            &lines,
        )
    } else {
        BTreeMap::new()
    };
    let mut j = Judgement {
        at,
        scopes: known.scopes.clone(),
        rows: scope_rows(known, o, truth),
        runtimes: runtimes(known, truth, total, ctx.identity.bare),
        streak: if o.limits.timeout_learned && o.reason == Reason::Timeout {
            Streak::Extend
        } else if truth != Truth::Unknown {
            Streak::Reset
        } else {
            Streak::Keep
        },
        bumps: Vec::new(),
        evidence: None,
        created: false,
        verdicts: Vec::new(),
        keep_runs: KEEP_RUNS,
        time_saved: None,
    };
    verdicts(&mut j, known, &cands, &hits, truth, stopper.as_deref());
    j.evidence = known.narrow().map(|n| {
        let capped = o.observed.len() >= crate::engine::outcome::MAX_RECORDS;
        let d = evidence(
            known,
            &cands,
            &hits,
            truth,
            stopper.as_deref(),
            total,
            capped,
            at,
        );
        (n.to_string(), d)
    });
    // A stop that no pattern made: the learned timeout's, or one of the user's own options. Kept
    // so that `ee feedback last --false-positive` works on every stopped run.
    let interrupted = matches!(o.reason, Reason::Interrupted(_));
    if o.stopped_early && stopper.is_none() && truth == Truth::Unknown && !interrupted {
        let (what, src) = if o.reason == Reason::Timeout && o.limits.timeout_learned {
            ("<learned timeout>", "timeout")
        } else {
            ("<your option>", "option")
        };
        j.verdicts
            .push((what.to_string(), Verdict::Use, src.to_string()));
    }
    // Time saved by an early stop: for a stop on a pattern, the mean length of the failed runs of
    // the same project and identity that ended by themselves, minus this one; otherwise (no such
    // run, or a stop on a timeout: a hang might have run forever) unknown, NULL, never 0.
    if o.stopped_early && truth == Truth::Unknown && !interrupted {
        j.time_saved = Some(
            known
                .narrow()
                .and_then(|s| known.row(s))
                .filter(|r| stopper.is_some() && r.fail.n > 0)
                .map(|r| (r.fail.mean - total).max(0.0)),
        );
    }
    Some(j)
}

/// The scope rows with this run's counts and Welford samples added.
fn scope_rows(known: &Knowledge, o: &Outcome, truth: Truth) -> Vec<ScopeRow> {
    let total = o.total.as_secs_f64();
    // A burst of one line (length 0) says nothing about the gaps inside bursts.
    let sample_burst = if truth == Truth::Unknown {
        None
    } else {
        burst(o, truth == Truth::Failed).filter(|&(_, len)| len > 0.0)
    };
    known
        .scopes
        .iter()
        .map(|s| {
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
            row
        })
        .collect()
}

/// Recent normal runtimes of the narrow scope with this one (never for a bare interpreter).
fn runtimes(known: &Knowledge, truth: Truth, total: f64, bare: bool) -> Option<(String, Vec<f64>)> {
    let n = known.narrow()?;
    if truth != Truth::Succeeded || bare {
        return None;
    }
    let mut v = known.runtimes.samples.clone();
    v.push(total);
    if v.len() > KEEP_SAMPLES {
        v.drain(..v.len() - KEEP_SAMPLES);
    }
    Some((n.to_string(), v))
}

/// The pattern that stopped the run (as effective regex text), if one did.
fn stopper(o: &Outcome) -> Option<String> {
    if !(o.stopped_early && matches!(o.reason, Reason::Match | Reason::ErrorMatch)) {
        return None;
    }
    o.matches
        .iter()
        .find(|m| matches!(m.kind, Class::Match | Class::Error))
        .map(|m| {
            if o.patterns.learned {
                m.pattern.clone()
            } else {
                effective(&m.pattern, &o.patterns.flags)
            }
        })
}

/// Which patterns were watched in this run, and where each came from: the deciding ones, the
/// known and the fitting profile's (in `ee run`), and those mined from a failed run's lines.
fn candidates(
    known: &Knowledge,
    o: &Outcome,
    profile: Option<&Profile>,
    truth: Truth,
) -> BTreeMap<String, String> {
    let mut cands: BTreeMap<String, String> = BTreeMap::new();
    let learned_src = |p: &str| {
        known
            .patterns
            .iter()
            .find(|r| r.pattern == p)
            .map_or(Source::Mined.as_name(), |r| r.source.clone())
    };
    for p in deciding(o) {
        let src = if o.patterns.learned {
            learned_src(&p)
        } else {
            Source::User.as_name()
        };
        cands.insert(p, src);
    }
    if o.mode == Mode::Run {
        for r in &known.patterns {
            let watched = match Source::parse(&r.source) {
                Some(Source::Mined | Source::User) => true,
                Some(Source::Profile(n)) => {
                    profile.is_some_and(|p| n == p.name && p.patterns.contains(&r.pattern))
                }
                None => false,
            };
            if watched {
                cands.entry(r.pattern.clone()).or_insert(r.source.clone());
            }
        }
        if let Some(p) = profile {
            for pat in &p.patterns {
                cands
                    .entry(pat.clone())
                    .or_insert(Source::Profile(p.name.clone()).as_name());
            }
        }
    }
    if truth == Truth::Failed && o.mode == Mode::Run {
        for p in mine(o) {
            cands.entry(p).or_insert(Source::Mined.as_name());
        }
    }
    cands
}

/// Candidate patterns generalized from the first error-like lines of a failed run.
fn mine(o: &Outcome) -> Vec<String> {
    let mut mined: Vec<String> = Vec::new();
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
    mined
}

/// Judge each candidate: the counters to bump, in which scopes, and the verdicts kept.
fn verdicts(
    j: &mut Judgement,
    known: &Knowledge,
    cands: &BTreeMap<String, String>,
    hits: &BTreeMap<&String, Option<f64>>,
    truth: Truth,
    stopper: Option<&str>,
) {
    for (p, src) in cands {
        let v = if truth == Truth::Unknown {
            if stopper == Some(p.as_str()) {
                Some(Verdict::Use)
            } else if matches!(hits.get(p), Some(Some(_))) {
                j.verdicts.push((p.clone(), Verdict::Seen, src.clone()));
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
        let at_scopes = bump_scopes(known, p, src, v);
        if at_scopes.is_empty() {
            continue;
        }
        j.created |= at_scopes.iter().any(|s| {
            !known
                .patterns
                .iter()
                .any(|r| &r.scope == s && &r.pattern == p)
        });
        j.bumps.push(Bump {
            scopes: at_scopes,
            pattern: p.clone(),
            source: src.clone(),
            verdict: v,
        });
        j.verdicts.push((p.clone(), v, src.clone()));
    }
}

/// The scopes a verdict is counted in. A mined pattern gets a row in a scope only by catching a
/// failure (or stopping a run) there; elsewhere only its existing rows are updated. The user's
/// and the profile's patterns are tracked in every scope. A false positive always reaches the
/// narrow scope, where it withdraws the pattern.
fn bump_scopes(known: &Knowledge, p: &str, src: &str, v: Verdict) -> Vec<String> {
    if Source::parse(src) == Some(Source::Mined) && !matches!(v, Verdict::Tp | Verdict::Use) {
        known
            .scopes
            .iter()
            .filter(|s| {
                (v == Verdict::Fp && known.narrow() == Some(s.as_str()))
                    || known
                        .patterns
                        .iter()
                        .any(|r| &r.scope == *s && r.pattern == p)
            })
            .cloned()
            .collect()
    } else {
        known.scopes.clone()
    }
}

/// The narrow scope's evidence: passing runs in which a watched candidate did not match (not
/// when the recorded lines were `capped`: a match may have gone unrecorded), shadow checks of
/// confirmed patterns, stops since the last check, and how long before a failed run's end each
/// pattern matched.
#[allow(clippy::too_many_arguments)]
fn evidence(
    known: &Knowledge,
    cands: &BTreeMap<String, String>,
    hits: &BTreeMap<&String, Option<f64>>,
    truth: Truth,
    stopper: Option<&str>,
    total: f64,
    capped: bool,
    at: f64,
) -> Vec<EvidenceDelta> {
    let mut out = Vec::new();
    for p in cands.keys() {
        let first = hits.get(p).copied();
        let hit = first.map(|f| f.is_some());
        let tn = (truth == Truth::Succeeded && hit == Some(false) && !capped) as i64;
        let check = (truth != Truth::Unknown
            && hit == Some(true)
            && super::rank::confirmed(known, p)) as i64;
        // How long before the end of a failed run it matched: what a stop on it saves.
        let lead = match (truth, first) {
            (Truth::Failed, Some(Some(f))) => Some((total - f).max(0.0)),
            _ => None,
        };
        let used = (stopper == Some(p.as_str())) as i64;
        if tn + check + used > 0 || lead.is_some() {
            out.push(EvidenceDelta {
                pattern: p.clone(),
                tn,
                check,
                used,
                checked_at: if check + tn > 0 { at } else { 0.0 },
                lead,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(tp: u64, fp: u64) -> Counts {
        Counts { tp, fp, fneg: 0 }
    }

    #[test]
    fn shadow_until_two_caught_failures_and_two_clean_passes() {
        assert_eq!(pattern_state(c(0, 0), 0, false), State::Shadow);
        assert_eq!(pattern_state(c(2, 0), 1, false), State::Shadow);
        assert_eq!(pattern_state(c(1, 0), 2, false), State::Shadow);
        assert_eq!(pattern_state(c(2, 0), 2, false), State::Confirmed);
        assert_eq!(pattern_state(c(9, 0), 9, false), State::Confirmed);
    }

    #[test]
    fn one_match_in_a_passing_run_withdraws_even_a_pinned_pattern() {
        assert_eq!(pattern_state(c(5, 1), 5, false), State::Withdrawn);
        assert_eq!(pattern_state(c(0, 1), 0, true), State::Withdrawn);
        // A pin (ee --watch) needs no evidence, only no false positive.
        assert_eq!(pattern_state(c(0, 0), 0, true), State::Confirmed);
    }

    #[test]
    fn the_learned_timeout_backs_off_after_two_stops_in_a_row() {
        assert!(!timeout_backed_off(0));
        assert!(!timeout_backed_off(1));
        assert!(timeout_backed_off(2));
        // And it is a hang detector only from 5 normal runs on.
        assert!(super::super::stats::hang_from(&[1.0; 4], 0).is_none());
        assert!(super::super::stats::hang_from(&[1.0; 5], 0).is_some());
    }

    #[test]
    fn shadow_check_every_five_stops_or_seven_days() {
        let day = 86_400.0;
        let now = 100.0 * day;
        assert!(
            !check_due(0, now - 30.0 * day, now),
            "no stop since: nothing to check"
        );
        assert!(!check_due(4, now - day, now));
        assert!(check_due(5, now - day, now));
        assert!(!check_due(1, now - 6.0 * day, now));
        assert!(check_due(1, now - 8.0 * day, now));
        assert!(
            !check_due(1, 0.0, now),
            "never judged: the age does not count"
        );
    }

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
                    kind: Class::Observed,
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
