//! From what is known to what to do: rank the candidate patterns, pick those to apply, and
//! recommend a timeout and a quiet gap. Pure: reads `Knowledge` and the profiles, no I/O.

use std::time::Duration;

use serde::Serialize;

use super::aggregates::{Knowledge, PatternRow, ScopeRow};
use super::profiles::Profile;
use super::stats::{
    floor2, hang_from, quiet_from, sample_confidence, CHECK_EVERY, CONFIRM_TN, CONFIRM_TP,
    MIN_BURST_SAMPLES, MIN_LEAD, MIN_LEAD_SHARE, MIN_TIMEOUT_SAMPLES,
};
use crate::engine::plan::DEFAULT_QUIET_RUN;

/// Most patterns applied at once.
pub const MAX_APPLIED_LEARNED: usize = 2;
/// Most candidate patterns watched in shadow in one run (besides the lexicon).
pub const MAX_WATCHED: usize = 24;

/// Where a pattern stands in the narrow scope (project root and command identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Confirmed here: may stop runs.
    Confirmed,
    /// Watched only: notes its matches, lets runs finish, the exit status judges it.
    Shadow,
    /// Matched in a run that passed here: never stops a run here.
    Withdrawn,
}

/// One ranked candidate.
#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub pattern: String,
    pub source: String,
    pub scope: String,
    pub tp: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fneg: u64,
    pub uses: u64,
    /// Passing runs watched here in which it did not match (evidence of specificity).
    pub tn: u64,
    /// Shadow checks judged here since it was confirmed.
    pub checks: u64,
    /// Mean time (s) before the end of failed runs here at which it first matched: what a stop
    /// on it saves.
    pub lead: f64,
    pub precision: f64,
    pub recall: f64,
    /// Wilson lower bound of precision × recall.
    pub score: f64,
    pub state: State,
    pub applied: bool,
    /// Why it is or is not applied.
    pub why: String,
}

/// The recommended timeout.
#[derive(Debug, Clone, Serialize)]
pub struct TimeoutAdvice {
    /// A run is stopped only after this long ...
    pub seconds: f64,
    /// ... and once its output has been quiet this long (0: a pinned timeout, no quiet needed).
    pub quiet: f64,
    /// The term that decided `seconds`, e.g. `3 × 1.02s`, `1.02s + 5s`, `pinned`.
    pub term: String,
    pub mean: f64,
    pub stddev: f64,
    pub samples: u64,
    pub confidence: f64,
    pub scope: String,
    pub applied: bool,
    pub why: String,
}

/// The quiet gap that ends the capture after a match.
#[derive(Debug, Clone, Serialize)]
pub struct QuietAdvice {
    pub seconds: f64,
    pub learned: bool,
    pub samples: u64,
    pub why: String,
}

/// Everything ee would apply for a command, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Advice {
    /// The scope whose history the patterns come from, if any.
    pub scope: Option<String>,
    /// Executions seen in that scope (or in the command's own scope).
    pub executions: u64,
    pub judged: u64,
    pub failed: u64,
    pub ranked: Vec<Ranked>,
    /// The profile that fits the command, if any.
    pub profile: Option<String>,
    /// That profile's tool prints its failure summary when interrupted: stop it with SIGINT.
    pub interrupt: bool,
    pub timeout: Option<TimeoutAdvice>,
    pub quiet: QuietAdvice,
    /// This run is a shadow check of the applied patterns: none stops it, the truth judges them.
    pub check: bool,
    /// Patterns watched without deciding (lexicon, profile and user patterns not applied).
    #[serde(skip)]
    pub observe: Vec<String>,
}

impl Advice {
    /// The patterns to apply, best first.
    pub fn applied_patterns(&self) -> Vec<String> {
        self.ranked
            .iter()
            .filter(|r| r.applied)
            .map(|r| r.pattern.clone())
            .collect()
    }

    pub fn applied_timeout(&self) -> Option<Duration> {
        self.timeout
            .as_ref()
            .filter(|t| t.applied)
            .map(|t| Duration::from_secs_f64(t.seconds))
    }

    /// The quiet time the applied learned timeout also needs (None: none, or not needed).
    pub fn applied_hang_quiet(&self) -> Option<Duration> {
        self.timeout
            .as_ref()
            .filter(|t| t.applied && t.quiet > 0.0)
            .map(|t| Duration::from_secs_f64(t.quiet))
    }

    pub fn quiet_duration(&self) -> Duration {
        Duration::from_secs_f64(self.quiet.seconds)
    }
}

/// A candidate with no evidence yet.
fn unjudged(pattern: &str, source: &str, scope: &str) -> Ranked {
    ranked(&PatternRow {
        pattern: pattern.into(),
        source: source.into(),
        scope: scope.into(),
        ..Default::default()
    })
}

fn ranked(r: &PatternRow) -> Ranked {
    let c = r.counts;
    Ranked {
        pattern: r.pattern.clone(),
        source: r.source.clone(),
        scope: r.scope.clone(),
        tp: c.tp,
        fp: c.fp,
        fneg: c.fneg,
        uses: r.uses,
        tn: 0,
        checks: 0,
        lead: 0.0,
        precision: floor2(c.precision()),
        recall: floor2(c.recall()),
        score: floor2(c.score()),
        state: State::Shadow,
        applied: false,
        why: String::new(),
    }
}

/// Sort best first: confirmed, shadow, withdrawn; then score, fewer false positives, more
/// evidence of specificity (passing runs watched without a match), the earlier match in failed
/// runs (more time saved, at 0.1 s resolution), more true positives, fewer
/// misses, and on a full tie the longer (more specific) pattern: a tie never favours less
/// evidence of specificity.
pub fn sort(v: &mut [Ranked]) {
    let rank = |s: State| match s {
        State::Confirmed => 0,
        State::Shadow => 1,
        State::Withdrawn => 2,
    };
    v.sort_by(|a, b| {
        rank(a.state)
            .cmp(&rank(b.state))
            .then(b.score.total_cmp(&a.score))
            .then(a.fp.cmp(&b.fp))
            .then(b.tn.cmp(&a.tn))
            .then(b.lead.total_cmp(&a.lead))
            .then(b.tp.cmp(&a.tp))
            .then(a.fneg.cmp(&b.fneg))
            .then(b.pattern.len().cmp(&a.pattern.len()))
            .then(a.pattern.cmp(&b.pattern))
    });
}

/// Is a pattern confirmed in the narrow scope: it caught `CONFIRM_TP` failed runs that ended by
/// themselves there, was watched in `CONFIRM_TN` passing runs there without matching, and never
/// matched in a passing run there (a pin from `ee --watch` needs only the last)?
pub fn confirmed(k: &Knowledge, pattern: &str) -> bool {
    state(k, pattern) == State::Confirmed
}

fn pinned(k: &Knowledge, pattern: &str) -> bool {
    k.narrow().is_some_and(|n| {
        k.pins
            .iter()
            .any(|p| p.scope == n && p.pattern.as_deref() == Some(pattern))
    })
}

/// Where a pattern stands in the narrow scope.
pub fn state(k: &Knowledge, pattern: &str) -> State {
    if k.narrow().is_none() {
        return State::Shadow;
    }
    let c = k.narrow_row(pattern).map(|r| r.counts).unwrap_or_default();
    super::judge::pattern_state(c, k.evidence(pattern).tn, pinned(k, pattern))
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn human_scope(scope: &str) -> String {
    if let Some(k) = scope.strip_prefix("cmd:") {
        format!("`{k}`")
    } else if let Some(p) = scope.strip_prefix("prog:") {
        format!("any `{p}` command")
    } else if let Some(r) = scope.strip_prefix("run:") {
        let (root, id) = r.split_once('\t').unwrap_or((r, ""));
        format!("`{id}` in {root}")
    } else if let Some(t) = scope.strip_prefix("type:") {
        let (cat, pt) = t.split_once('/').unwrap_or((t, ""));
        format!("{cat} commands in {pt} projects")
    } else {
        scope.to_string()
    }
}

/// Rank and decide. `profile` is the profile that fits the command, if any. Patterns are not
/// compiled here (that would cost the lookup its budget): a stored pattern that does not compile
/// makes `ee run` fall back to running without learned patterns.
///
/// Candidates come from every scope (mined, the user's, the profile's, a pin); only those
/// confirmed in the narrow scope are applied (see [`confirmed`]), at most
/// `MAX_APPLIED_LEARNED`, the second only when its evidence differs from the first's. When an
/// applied pattern is due for a shadow check, none is applied and the run is a check.
pub fn advise(k: &Knowledge, profile: Option<&Profile>) -> Advice {
    let narrow = k.narrow();
    let mut list = gather_candidates(k, profile);
    let check_due = judge_candidates(k, &mut list);
    sort(&mut list);
    choose_applied(k, &mut list, check_due);
    // The narrow scope's own runs: the basis of the timeout and of the counts shown.
    let own = narrow.and_then(|s| k.row(s));
    let timeout = timeout_advice(k, own);
    let quiet = quiet_advice(k, own);
    let observe = observed(&list);
    Advice {
        check: check_due,
        scope: narrow.map(str::to_string),
        executions: own.map_or(0, |r| r.runs),
        judged: own.map_or(0, |r| r.judged),
        failed: own.map_or(0, |r| r.failed),
        ranked: list,
        profile: profile.map(|p| p.name.clone()),
        interrupt: profile.is_some_and(|p| p.interrupt),
        timeout,
        quiet,
        observe,
    }
}

/// Every candidate once, in order of discovery: the narrow pin's, the profile's, then each
/// scope's judged ones (with evidence in it, the user's, or any in the narrow scope).
fn gather_candidates(k: &Knowledge, profile: Option<&Profile>) -> Vec<Ranked> {
    let narrow = k.narrow();
    // Each candidate once: its narrow row if any, else its row in the most specific wider scope
    // that judged it, else no evidence.
    let mut list: Vec<Ranked> = Vec::new();
    let mut add = |pattern: &str, source: &str| {
        if list.iter().any(|r| r.pattern == pattern) {
            return;
        }
        let row = k.scopes.iter().find_map(|s| {
            k.patterns_in(s)
                .find(|r| r.pattern == pattern && (Some(s.as_str()) == narrow || r.counts.tp > 0))
        });
        let mut r = match row {
            Some(row) => ranked(row),
            None => unjudged(pattern, source, narrow.unwrap_or("profile")),
        };
        if !source.is_empty() && row.is_none_or(|x| x.source != "user") {
            r.source = source.to_string();
        }
        list.push(r);
    };
    for pin in k.pins.iter().filter(|p| Some(p.scope.as_str()) == narrow) {
        if let Some(p) = &pin.pattern {
            add(p, "user");
        }
    }
    if let Some(p) = profile {
        for pat in &p.patterns {
            add(
                pat,
                &super::aggregates::Source::Profile(p.name.clone()).as_name(),
            );
        }
    }
    for s in &k.scopes {
        for r in k.patterns_in(s) {
            if r.counts.tp > 0 || r.source == "user" || Some(s.as_str()) == narrow {
                add(&r.pattern, "");
            }
        }
    }
    list
}

/// Give each candidate its state, narrow evidence and reason; true when a confirmed one is due
/// for a shadow check.
fn judge_candidates(k: &Knowledge, list: &mut [Ranked]) -> bool {
    let narrow = k.narrow();
    let t = now();
    let mut check_due = false;
    for r in list.iter_mut() {
        r.state = state(k, &r.pattern);
        let e = k.evidence(&r.pattern);
        r.tn = e.tn;
        r.checks = e.checks;
        r.lead = if e.lead_n > 0 {
            (e.lead_sum / e.lead_n as f64 * 10.0).floor() / 10.0
        } else {
            0.0
        };
        let here = k.narrow_row(&r.pattern);
        let c = here.map(|x| x.counts).unwrap_or_default();
        r.why = match r.state {
            State::Withdrawn => format!(
                "withdrawn: matched in {} passing run(s) of this project and command",
                c.fp
            ),
            State::Shadow if narrow.is_none() => "shadow: no project and command to confirm it in".into(),
            State::Shadow => format!(
                "shadow: caught {}/{CONFIRM_TP} failed runs, clean in {}/{CONFIRM_TN} passing runs here",
                c.tp.min(CONFIRM_TP),
                e.tn.min(CONFIRM_TN)
            ),
            State::Confirmed => {
                if super::judge::check_due(e.since_check, e.checked_at, t) {
                    check_due = true;
                }
                String::new()
            }
        };
        if r.state == State::Confirmed && here.is_some() && r.scope != narrow.unwrap_or("") {
            // Show the narrow evidence, which is what decided.
            if let Some(h) = here {
                let mut n = ranked(h);
                n.source = r.source.clone();
                n.state = r.state;
                n.tn = r.tn;
                n.checks = r.checks;
                n.lead = r.lead;
                *r = n;
            }
        }
    }
    check_due
}

/// Walk the sorted confirmed candidates and apply the best (at most `MAX_APPLIED_LEARNED`, early
/// enough, evidence distinct), saying why each is or is not applied; on a check, apply none.
fn choose_applied(k: &Knowledge, list: &mut [Ranked], check_due: bool) {
    let fail_mean = k
        .narrow()
        .and_then(|s| k.row(s))
        .filter(|r| r.fail.n > 0)
        .map_or(0.0, |r| r.fail.mean);
    let min_lead = MIN_LEAD.max(MIN_LEAD_SHARE * fail_mean);
    let mut n_applied = 0;
    let mut applied_counts: Vec<(u64, u64, u64)> = Vec::new();
    for r in list.iter_mut().filter(|r| r.state == State::Confirmed) {
        let origin = if pinned(k, &r.pattern) {
            "pinned with ee --watch".to_string()
        } else {
            format!(
                "confirmed here: caught {} failed runs, clean in {} passing runs, {} shadow check(s)",
                r.tp, r.tn, r.checks
            )
        };
        if !pinned(k, &r.pattern) && r.lead + 1e-9 < (min_lead * 10.0).floor() / 10.0 {
            r.why = format!(
                "{origin}; but it matches only {:.1}s before the end of failed runs: too late to \
                 be worth a stop (needs {min_lead:.1}s)",
                r.lead
            );
        } else if n_applied >= MAX_APPLIED_LEARNED {
            r.why = format!("{origin}; a better pattern is applied");
        } else if applied_counts.contains(&(r.tp, r.fneg, r.tn)) {
            // Same evidence as a better applied pattern: most likely the same lines.
            r.why = format!("{origin}; same runs as a better applied pattern");
        } else if check_due {
            applied_counts.push((r.tp, r.fneg, r.tn));
            n_applied += 1;
            r.why = format!(
                "{origin}; this run is a shadow check (due after {CHECK_EVERY} stops or 7 days)"
            );
        } else {
            applied_counts.push((r.tp, r.fneg, r.tn));
            n_applied += 1;
            r.applied = true;
            r.why = origin;
        }
    }
}

/// The timeout: a pin's, else a hang detector from the narrow scope's own normal runs only
/// (`own`), never for a bare interpreter; None without a narrow scope or samples.
fn timeout_advice(k: &Knowledge, own: Option<&ScopeRow>) -> Option<TimeoutAdvice> {
    let narrow = k.narrow();
    let pin_timeout = k
        .pins
        .iter()
        .find(|p| Some(p.scope.as_str()) == narrow)
        .and_then(|p| p.timeout);
    let samples = &k.runtimes.samples;
    let w = own.map(|r| r.ok).unwrap_or_default();
    if let Some(seconds) = pin_timeout {
        return Some(TimeoutAdvice {
            seconds,
            quiet: 0.0,
            term: "pinned".into(),
            mean: w.mean,
            stddev: w.stddev(),
            samples: samples.len() as u64,
            confidence: 1.0,
            scope: narrow.unwrap_or_default().to_string(),
            applied: true,
            why: "pinned with ee --watch".into(),
        });
    }
    if narrow.is_none() || samples.is_empty() {
        return None;
    }
    let n = samples.len() as u64;
    let hang = hang_from(samples, k.runtimes.timeout_fp);
    let streak = own.is_some_and(|r| super::judge::timeout_backed_off(r.timeout_stops));
    let (seconds, quiet, term) = match &hang {
        Some(h) => (h.seconds, h.quiet, h.term.clone()),
        None => (0.0, 0.0, String::new()),
    };
    Some(TimeoutAdvice {
        seconds,
        quiet,
        term: term.clone(),
        mean: w.mean,
        stddev: w.stddev(),
        samples: n,
        confidence: sample_confidence(n),
        scope: narrow.unwrap_or_default().to_string(),
        applied: hang.is_some() && !streak,
        why: if hang.is_none() {
            format!("needs {MIN_TIMEOUT_SAMPLES} normal runs of this project and command, has {n}")
        } else if streak {
            format!(
                "it stopped the last {} runs; not applied until a run ends by itself",
                own.map_or(0, |r| r.timeout_stops)
            )
        } else {
            format!(
                "hang detector: {term} (the second-longest of the last {n} normal runs), then \
                 {quiet:.1}s without output"
            )
        },
    })
}

/// The quiet gap after a match: learned from the most specific scope with enough bursts, else
/// the default.
fn quiet_advice(k: &Knowledge, own: Option<&ScopeRow>) -> QuietAdvice {
    match k
        .scopes
        .iter()
        .filter_map(|s| k.row(s))
        .find(|r| r.gap.n >= MIN_BURST_SAMPLES)
    {
        Some(r) => QuietAdvice {
            seconds: quiet_from(&r.gap),
            learned: true,
            samples: r.gap.n,
            why: format!(
                "largest gap inside {} post-match bursts of {}: mean {:.2}s, σ {:.2}s",
                r.gap.n,
                human_scope(&r.scope),
                r.gap.mean,
                r.gap.stddev()
            ),
        },
        None => QuietAdvice {
            seconds: DEFAULT_QUIET_RUN.as_secs_f64(),
            learned: false,
            samples: own.map_or(0, |r| r.gap.n),
            why: format!("default (needs {MIN_BURST_SAMPLES} observed bursts)"),
        },
    }
}

/// The patterns watched without deciding: the lexicon, plus the first `MAX_WATCHED`
/// non-withdrawn candidates not applied.
fn observed(list: &[Ranked]) -> Vec<String> {
    let mut observe = super::lexicon::owned();
    let applied: Vec<&str> = list
        .iter()
        .filter(|r| r.applied)
        .map(|r| r.pattern.as_str())
        .collect();
    let extra: Vec<&str> = list
        .iter()
        .filter(|r| r.state != State::Withdrawn)
        .take(MAX_WATCHED)
        .map(|r| r.pattern.as_str())
        .collect();
    for p in extra {
        if !applied.contains(&p) && !observe.iter().any(|o| o == p) {
            observe.push(p.to_string());
        }
    }
    observe
}

/// "Based on 38 similar executions of `pytest` in python projects".
pub fn rationale(a: &Advice, key: &str, project_type: &str) -> String {
    let where_ = if project_type.is_empty() || project_type == "unknown" {
        String::new()
    } else {
        format!(" in {project_type} projects")
    };
    match &a.scope {
        Some(s) => format!(
            "Based on {} similar executions of {}{} ({} ran to the end, {} of them failed)",
            a.executions,
            human_scope(s),
            if s.starts_with("type:") {
                String::new()
            } else {
                where_
            },
            a.judged,
            a.failed
        ),
        None if a.executions > 0 => format!(
            "Based on {} executions of `{key}`{where_}: no pattern has caught a failure yet",
            a.executions
        ),
        None => format!("No history for `{key}` yet"),
    }
}
