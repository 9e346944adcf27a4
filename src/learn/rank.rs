//! From what is known to what to do: rank the candidate patterns, pick those to apply, and
//! recommend a timeout and a quiet gap. Pure: reads `Knowledge` and the profiles, no I/O.

use std::time::Duration;

use serde::Serialize;

use super::aggregates::{Knowledge, PatternRow, ScopeRow};
use super::lexicon::LEXICON;
use super::profiles::Profile;
use super::stats::{
    quiet_from, sample_confidence, timeout_from, Counts, APPLY_SCORE, MAX_TIMEOUT_STOPS,
    MIN_BURST_SAMPLES, MIN_TIMEOUT_SAMPLES, MIN_TP,
};
use crate::plan::DEFAULT_QUIET_RUN;

/// Most learned patterns applied at once.
pub const MAX_APPLIED_LEARNED: usize = 2;

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
    pub precision: f64,
    pub recall: f64,
    /// Wilson lower bound of precision × recall.
    pub score: f64,
    pub applied: bool,
    /// Why it is or is not applied.
    pub why: String,
}

/// The recommended timeout.
#[derive(Debug, Clone, Serialize)]
pub struct TimeoutAdvice {
    pub seconds: f64,
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
    pub timeout: Option<TimeoutAdvice>,
    pub quiet: QuietAdvice,
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
        precision: c.precision(),
        recall: c.recall(),
        score: c.score(),
        applied: false,
        why: String::new(),
    }
}

/// Sort best first: score, then more true positives, fewer false ones, then the shorter pattern.
pub fn sort(v: &mut [Ranked]) {
    v.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.tp.cmp(&a.tp))
            .then(a.fp.cmp(&b.fp))
            .then(a.pattern.len().cmp(&b.pattern.len()))
            .then(a.pattern.cmp(&b.pattern))
    });
}

fn human_scope(scope: &str) -> String {
    if let Some(k) = scope.strip_prefix("cmd:") {
        format!("`{k}`")
    } else if let Some(p) = scope.strip_prefix("prog:") {
        format!("any `{p}` command")
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
pub fn advise(k: &Knowledge, profile: Option<&Profile>) -> Advice {
    // Patterns: the most specific scope with a pattern good enough to apply, else the most
    // specific scope with any evidence.
    let level = k
        .scopes
        .iter()
        .find(|s| {
            k.patterns_in(s).any(|p| {
                !p.source.starts_with("profile:")
                    && p.counts.score() >= APPLY_SCORE
                    && p.counts.tp >= MIN_TP
            })
        })
        .or_else(|| {
            k.scopes
                .iter()
                .find(|s| k.patterns_in(s).any(|p| p.counts.tp > 0))
        })
        .cloned();
    let mut list: Vec<Ranked> = match &level {
        Some(s) => k.patterns_in(s).map(ranked).collect(),
        None => Vec::new(),
    };
    sort(&mut list);
    let mut n_learned = 0;
    let mut applied_counts: Vec<(u64, u64, u64)> = Vec::new();
    for r in list.iter_mut() {
        if r.source.starts_with("profile:") {
            continue;
        }
        if r.tp < MIN_TP {
            r.why = format!("needs {MIN_TP} caught failures");
        } else if r.score < APPLY_SCORE {
            r.why = format!("score below {APPLY_SCORE:.2}");
        } else if n_learned >= MAX_APPLIED_LEARNED {
            r.why = "a better pattern is applied".into();
        } else if applied_counts.contains(&(r.tp, r.fp, r.fneg)) {
            // Same evidence as a better applied pattern: most likely the same lines.
            r.why = "same runs as a better applied pattern".into();
        } else {
            applied_counts.push((r.tp, r.fp, r.fneg));
            r.applied = true;
            n_learned += 1;
            r.why = format!("learned from {}", human_scope(&r.scope));
        }
    }
    // Profile patterns: applied unless proven bad in the most specific scope that judged them.
    if let Some(p) = profile {
        let src = format!("profile:{}", p.name);
        for pat in &p.patterns {
            let row = k.scopes.iter().find_map(|s| {
                k.patterns_in(s)
                    .find(|r| &r.pattern == pat && r.counts != Counts::default())
            });
            let bad = row.is_some_and(|r| r.counts.proven_bad());
            if let Some(existing) = list.iter_mut().find(|r| &r.pattern == pat) {
                existing.applied = !bad;
                existing.why = if bad {
                    "profile pattern proven bad here".into()
                } else {
                    format!("built-in profile {}", p.name)
                };
                continue;
            }
            let mut r = match row {
                Some(row) => ranked(row),
                None => unjudged(pat, &src, "profile"),
            };
            r.applied = !bad;
            r.why = if bad {
                "profile pattern proven bad here".into()
            } else if p.source == "builtin" {
                format!("built-in profile {}", p.name)
            } else {
                format!("user profile {}", p.name)
            };
            list.push(r);
        }
        sort(&mut list);
    }

    // A pin (`ee --watch`) on the command itself comes first, unless its evidence proved it bad.
    let pin = k
        .scopes
        .first()
        .and_then(|s| k.pins.iter().find(|p| &p.scope == s));
    if let Some(pp) = pin.and_then(|p| p.pattern.as_ref()) {
        let row = k
            .patterns
            .iter()
            .find(|r| &r.pattern == pp && Some(&r.scope) == k.scopes.first());
        let bad = row.is_some_and(|r| r.counts.proven_bad());
        list.retain(|r| &r.pattern != pp);
        let mut r = row
            .map(ranked)
            .unwrap_or_else(|| unjudged(pp, "user", &k.scopes[0]));
        r.applied = !bad;
        r.why = if bad {
            "pinned, but proven bad here".into()
        } else {
            "pinned with ee --watch".into()
        };
        list.insert(0, r);
    }

    // Timeout: from the command's own normal runs only.
    let own = k.scopes.first().and_then(|s| k.row(s));
    let timeout = k
        .scopes
        .iter()
        .filter_map(|s| k.row(s))
        .find(|r| r.ok.n > 0)
        .map(|r: &ScopeRow| {
            let own_scope = Some(&r.scope) == k.scopes.first();
            let enough = r.ok.n >= MIN_TIMEOUT_SAMPLES;
            let streak = r.timeout_stops >= MAX_TIMEOUT_STOPS;
            TimeoutAdvice {
                seconds: timeout_from(&r.ok),
                mean: r.ok.mean,
                stddev: r.ok.stddev(),
                samples: r.ok.n,
                confidence: sample_confidence(r.ok.n),
                scope: r.scope.clone(),
                applied: own_scope && enough && !streak,
                why: if own_scope && enough && streak {
                    format!(
                        "it stopped the last {} runs; not applied until a run ends by itself",
                        r.timeout_stops
                    )
                } else if !own_scope {
                    format!(
                        "from {}: only applied from the command's own runs",
                        human_scope(&r.scope)
                    )
                } else if !enough {
                    format!("needs {MIN_TIMEOUT_SAMPLES} normal runs, has {}", r.ok.n)
                } else {
                    format!("mean + 2σ of {} normal runs", r.ok.n)
                },
            }
        });

    let timeout = match pin.and_then(|p| p.timeout) {
        Some(seconds) => Some(TimeoutAdvice {
            seconds,
            mean: timeout.as_ref().map_or(0.0, |t| t.mean),
            stddev: timeout.as_ref().map_or(0.0, |t| t.stddev),
            samples: timeout.as_ref().map_or(0, |t| t.samples),
            confidence: 1.0,
            scope: k.scopes[0].clone(),
            applied: true,
            why: "pinned with ee --watch".into(),
        }),
        None => timeout,
    };

    // Quiet gap after a match.
    let quiet = match k
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
    };

    // Observation: the lexicon, plus every watched candidate not applied.
    let mut observe: Vec<String> = LEXICON.iter().map(|s| s.to_string()).collect();
    let applied: Vec<&str> = list
        .iter()
        .filter(|r| r.applied)
        .map(|r| r.pattern.as_str())
        .collect();
    let mut extra: Vec<&str> = Vec::new();
    if let Some(p) = profile {
        extra.extend(p.patterns.iter().map(String::as_str));
    }
    extra.extend(
        k.patterns
            .iter()
            .filter(|r| r.source == "user")
            .map(|r| r.pattern.as_str()),
    );
    for p in extra {
        if !applied.contains(&p) && !observe.iter().any(|o| o == p) {
            observe.push(p.to_string());
        }
    }

    let basis = level.as_ref().and_then(|s| k.row(s)).or(own);
    Advice {
        scope: level.clone(),
        executions: basis.map_or(0, |r| r.runs),
        judged: basis.map_or(0, |r| r.judged),
        failed: basis.map_or(0, |r| r.failed),
        ranked: list,
        profile: profile.map(|p| p.name.clone()),
        timeout,
        quiet,
        observe,
    }
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
