//! The seam between team learning and `ee run`'s lookup: [`merge`] adds the cached team evidence
//! of the run's project to what this machine learned. One indexed read of the local database,
//! no network; with no cache table (team learning never used) it costs a failed prepare.
//!
//! Merging rules:
//! - a run belongs to a project when its working directory (or a parent) was mapped by a sync;
//!   team evidence of other projects is never used;
//! - the narrow scope travels without its root, as `id:<command identity>` of the project; it is
//!   mapped back onto this run's narrow scope (`run:<this machine's root>\t<identity>`);
//! - team pattern evidence (tp, fp, fn, uses, and in the narrow scope the clean passing runs
//!   watched and the shadow checks) adds to this machine's, so the confirmation threshold may be
//!   met by teammates' runs of the same project and command; a teammate's false positive
//!   withdraws the pattern here too;
//! - a pattern with a false positive here takes nothing from the team: local evidence of a
//!   false positive always wins;
//! - scope run counts and the post-match burst statistics add; runtimes of normal and failed
//!   runs do not (a timeout is learned from this machine's own runs: machines differ in speed);
//! - a teammate's pin is not a pin here: its pattern is only a candidate, judged by evidence.

use std::path::Path;

use rusqlite::Connection;

use super::local::{
    ev_from_row, Ev, BURST_N, BURST_S1, CHECKS, FNEG, FP, GAP_N, GAP_S1, LEAD_N, LEAD_S1, RUNS, TN,
    TP, USES,
};
use crate::learn::aggregates::{Evidence, Knowledge, PatternRow, ScopeRow};
use crate::learn::stats::Welford;

/// What is known about a context: this machine's learning ([`crate::learn::knowledge`]) with the
/// team's evidence for its project merged in. Used by `ee run`, `ee suggest` and completion.
pub fn knowledge(conn: Option<&Connection>, ctx: &crate::context::RunContext) -> Knowledge {
    let mut k = crate::learn::knowledge(conn, ctx);
    if let Some(c) = conn {
        merge(c, &ctx.cwd, &mut k);
    }
    k
}

fn welford(n: i64, s1: f64, s2: f64) -> Welford {
    if n <= 0 {
        return Welford::default();
    }
    let mean = s1 / n as f64;
    Welford {
        n: n as u64,
        mean,
        m2: (s2 - s1 * mean).max(0.0),
    }
}

fn merge_w(a: Welford, b: Welford) -> Welford {
    if b.n == 0 {
        return a;
    }
    if a.n == 0 {
        return b;
    }
    let n = a.n + b.n;
    let d = b.mean - a.mean;
    Welford {
        n,
        mean: a.mean + d * b.n as f64 / n as f64,
        m2: a.m2 + b.m2 + d * d * a.n as f64 * b.n as f64 / n as f64,
    }
}

/// The cached team rows for the scopes, of the project `cwd` belongs to.
pub fn team_rows(conn: &Connection, cwd: &Path, scopes: &[String]) -> rusqlite::Result<Vec<Ev>> {
    let dirs: Vec<String> = cwd
        .ancestors()
        .take(32)
        .map(|d| d.to_string_lossy().into_owned())
        .collect();
    let ph_dirs: Vec<String> = (1..=dirs.len()).map(|i| format!("?{i}")).collect();
    let ph_scopes: Vec<String> = (dirs.len() + 1..=dirs.len() + scopes.len())
        .map(|i| format!("?{i}"))
        .collect();
    let sql = format!(
        "SELECT {} FROM team_cache WHERE project = (SELECT project FROM team_paths \
         WHERE dir IN ({}) AND project <> '' ORDER BY length(dir) DESC LIMIT 1) AND scope IN ({})",
        super::local::columns(),
        ph_dirs.join(","),
        ph_scopes.join(",")
    );
    let mut st = conn.prepare(&sql)?;
    let params: Vec<&str> = dirs
        .iter()
        .map(String::as_str)
        .chain(scopes.iter().map(String::as_str))
        .collect();
    let r = st.query_map(rusqlite::params_from_iter(params), |r| ev_from_row(r, 0))?;
    r.collect()
}

/// Add the team's evidence for `cwd`'s project to `k` (see the module doc for the rules).
pub fn merge(conn: &Connection, cwd: &Path, k: &mut Knowledge) {
    // The narrow scope is asked for in its portable form, then named as here.
    let narrow = k.narrow().map(str::to_string);
    let portable = narrow
        .as_deref()
        .and_then(super::local::portable)
        .map(|(_, p)| p);
    let asked: Vec<String> = k
        .scopes
        .iter()
        .filter(|s| Some(s.as_str()) != narrow.as_deref())
        .cloned()
        .chain(portable.clone())
        .collect();
    let Ok(rows) = team_rows(conn, cwd, &asked) else {
        return;
    };
    for mut e in rows {
        if super::validate::check(&e).is_err() {
            continue;
        }
        let is_narrow = portable.is_some() && Some(&e.scope) == portable.as_ref();
        if is_narrow {
            e.scope = narrow.clone().unwrap_or_default();
        }
        if e.pattern.is_empty() {
            add_scope(k, &e);
        } else {
            add_pattern(k, &e, is_narrow);
        }
    }
}

fn add_scope(k: &mut Knowledge, e: &Ev) {
    let i = match k.rows.iter().position(|r| r.scope == e.scope) {
        Some(i) => i,
        None => {
            k.rows.push(ScopeRow {
                scope: e.scope.clone(),
                ..Default::default()
            });
            k.rows.len() - 1
        }
    };
    let r = &mut k.rows[i];
    r.runs += e.ints[RUNS] as u64;
    r.judged += e.ints[RUNS + 1] as u64;
    r.failed += e.ints[RUNS + 2] as u64;
    r.stopped += e.ints[RUNS + 3] as u64;
    r.gap = merge_w(
        r.gap,
        welford(e.ints[GAP_N], e.floats[GAP_S1], e.floats[GAP_S1 + 1]),
    );
    r.burst = merge_w(
        r.burst,
        welford(e.ints[BURST_N], e.floats[BURST_S1], e.floats[BURST_S1 + 1]),
    );
}

fn add_pattern(k: &mut Knowledge, e: &Ev, narrow: bool) {
    if narrow {
        // The narrow evidence, unless withdrawn here (checked below, before anything is added).
        let withdrawn = k
            .patterns
            .iter()
            .any(|p| p.scope == e.scope && p.pattern == e.pattern && p.counts.fp > 0);
        if !withdrawn && (e.ints[TN] > 0 || e.ints[CHECKS] > 0 || e.ints[LEAD_N] > 0) {
            let i = match k.evidence.iter().position(|x| x.pattern == e.pattern) {
                Some(i) => i,
                None => {
                    k.evidence.push(Evidence {
                        scope: e.scope.clone(),
                        pattern: e.pattern.clone(),
                        ..Default::default()
                    });
                    k.evidence.len() - 1
                }
            };
            let x = &mut k.evidence[i];
            x.tn += e.ints[TN] as u64;
            x.checks += e.ints[CHECKS] as u64;
            x.lead_n += e.ints[LEAD_N] as u64;
            x.lead_sum += e.floats[LEAD_S1];
        }
    }
    match k
        .patterns
        .iter_mut()
        .find(|p| p.scope == e.scope && p.pattern == e.pattern)
    {
        Some(p) if p.counts.fp > 0 => {}
        Some(p) => {
            p.counts.tp += e.ints[TP] as u64;
            p.counts.fp += e.ints[FP] as u64;
            p.counts.fneg += e.ints[FNEG] as u64;
            p.uses += e.ints[USES] as u64;
        }
        None => {
            let mut p = PatternRow {
                scope: e.scope.clone(),
                pattern: e.pattern.clone(),
                source: e.source.clone(),
                uses: e.ints[USES] as u64,
                ..Default::default()
            };
            p.counts.tp = e.ints[TP] as u64;
            p.counts.fp = e.ints[FP] as u64;
            p.counts.fneg = e.ints[FNEG] as u64;
            k.patterns.push(p);
        }
    }
}
