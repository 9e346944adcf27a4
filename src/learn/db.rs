//! The learning module's own tables: reading what is known for a run's scopes ([`load`]) and
//! writing a run's [`Judgement`] ([`apply`]), pins, and the counter updates feedback makes.
//! Only the `learn_*` tables: the store owns the rest (and every table's migrations).

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::aggregates::{
    Evidence, Knowledge, PatternRow, Pin, Runtimes, ScopeRow, Verdict, MAX_PATTERNS,
    MAX_USER_PATTERNS,
};
use super::judge::{Judgement, Streak};
use super::stats::{Counts, Welford};
use super::validate;

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Statistics read back from the database, validated (`validate::moments`): unusable values
/// read as no statistics.
fn w(n: i64, mean: f64, m2: f64) -> Welford {
    match validate::moments(n, mean, m2) {
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
    k.rows = load_rows(conn, scopes)?;
    k.patterns = load_patterns(conn, scopes)?;
    if let Some(n) = k.narrow().map(str::to_string) {
        load_narrow(conn, &n, &mut k)?;
    }
    k.pins = load_pins(conn, scopes)?;
    Ok(k)
}

/// The scope rows, with the learned timeout's streak.
fn load_rows(conn: &Connection, scopes: &[String]) -> rusqlite::Result<Vec<ScopeRow>> {
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
            runs: validate::count(r.get(1)?),
            judged: validate::count(r.get(2)?),
            failed: validate::count(r.get(3)?),
            stopped: validate::count(r.get(4)?),
            ok: w(r.get(5)?, r.get(6)?, r.get(7)?),
            fail: w(r.get(8)?, r.get(9)?, r.get(10)?),
            gap: w(r.get(11)?, r.get(12)?, r.get(13)?),
            burst: w(r.get(14)?, r.get(15)?, r.get(16)?),
            timeout_stops: validate::count(r.get(17)?),
        })
    })?;
    rows.collect()
}

/// The scopes' candidate patterns, bounded per scope; rows ee could not have written are left
/// out.
fn load_patterns(conn: &Connection, scopes: &[String]) -> rusqlite::Result<Vec<PatternRow>> {
    let mut out = Vec::new();
    // Bounded: at most MAX_ROWS_PER_SCOPE rows per scope, whatever the database holds. One
    // small statement run per scope: SQLite parses it in a fraction of the time a UNION of one
    // subquery per scope takes, and the parse is on every `ee run`'s path.
    let mut st = conn.prepare_cached(&format!(
        "SELECT * FROM (SELECT scope, pattern, source, tp, fp, fneg, uses, last_seen \
         FROM learn_patterns WHERE scope = ?1 LIMIT {}) \
         WHERE length(pattern) <= {} AND length(scope) <= {}",
        validate::MAX_ROWS_PER_SCOPE,
        validate::MAX_PATTERN_LEN,
        validate::MAX_SCOPE_LEN
    ))?;
    for scope in scopes {
        let rows = st.query_map([scope], |r| {
            Ok(PatternRow {
                scope: r.get(0)?,
                pattern: r.get(1)?,
                source: r.get(2)?,
                counts: Counts {
                    tp: validate::count(r.get(3)?),
                    fp: validate::count(r.get(4)?),
                    fneg: validate::count(r.get(5)?),
                },
                uses: validate::count(r.get(6)?),
                last_seen: r.get(7)?,
            })
        })?;
        keep_valid(rows, &mut out)?;
    }
    Ok(out)
}

/// Add the rows ee could have written (others are ignored).
fn keep_valid(
    rows: impl Iterator<Item = rusqlite::Result<PatternRow>>,
    out: &mut Vec<PatternRow>,
) -> rusqlite::Result<()> {
    for r in rows {
        let r = r?;
        // Rows that could not have been written by ee are ignored.
        if validate::pattern_text(&r.pattern).is_ok() && validate::source(&r.source).is_ok() {
            out.push(r);
        }
    }
    Ok(())
}

/// The narrow scope's evidence and recent runtimes (tables from before these existed read as
/// empty).
fn load_narrow(conn: &Connection, n: &str, k: &mut Knowledge) -> rusqlite::Result<()> {
    if let Ok(mut st) = conn.prepare_cached(
        "SELECT pattern, tn, checks, since_check, checked_at, lead_n, lead_sum \
             FROM learn_evidence WHERE scope = ?1",
    ) {
        let rows = st.query_map([n], |r| {
            Ok(Evidence {
                scope: n.to_string(),
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
            .query_row([n], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .optional()?
        {
            k.runtimes = Runtimes {
                samples: serde_json::from_str(&s).unwrap_or_default(),
                timeout_fp: fp.max(0) as u64,
            };
        }
    }
    Ok(())
}

/// The pins of the scopes (a database from before they existed simply has none).
fn load_pins(conn: &Connection, scopes: &[String]) -> rusqlite::Result<Vec<Pin>> {
    let mut out = Vec::new();
    let ph = placeholders(scopes.len());
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
            p.pattern = p.pattern.filter(|x| validate::pattern_text(x).is_ok());
            p.timeout = p
                .timeout
                .and_then(|t| validate::seconds(t, validate::MIN_READ_TIMEOUT));
            out.push(p);
        }
    }
    Ok(out)
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

/// One counter of one pattern in a run's scopes: what [`bump`] adds to.
#[derive(Debug, Clone, Copy)]
pub struct Counter<'a> {
    pub scopes: &'a [String],
    pub pattern: &'a str,
    pub source: &'a str,
    pub verdict: Verdict,
}

/// Add `delta` to one counter of a pattern in the given scopes (creating rows as needed).
pub fn bump(tx: &Connection, c: Counter, delta: i64, at: f64) -> rusqlite::Result<()> {
    let col = c.verdict.column();
    let max = validate::MAX_COUNT;
    let mut st = tx.prepare_cached(&format!(
        "INSERT INTO learn_patterns (scope, pattern, source, {col}, last_seen) \
         VALUES (?1, ?2, ?3, max(?4, 0), ?5) \
         ON CONFLICT (scope, pattern) DO UPDATE SET {col} = min(max({col} + ?4, 0), {max}), \
         last_seen = max(last_seen, ?5)"
    ))?;
    for s in c.scopes {
        st.execute(params![s, c.pattern, c.source, delta, at])?;
    }
    Ok(())
}

/// A scope row's values in `learn_scopes` column order (as [`write_row`] inserts them): the
/// counts, the four Welford accumulators as `n, mean, m2`, then `at`.
fn scope_values(r: &ScopeRow, at: f64) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    let count = |n: u64| Value::Integer(n as i64);
    let mut v = vec![
        Value::Text(r.scope.clone()),
        count(r.runs),
        count(r.judged),
        count(r.failed),
        count(r.stopped),
    ];
    for w in [&r.ok, &r.fail, &r.gap, &r.burst] {
        v.extend([count(w.n), Value::Real(w.mean), Value::Real(w.m2)]);
    }
    v.push(Value::Real(at));
    v
}

fn write_row(tx: &Connection, r: &ScopeRow, at: f64) -> rusqlite::Result<()> {
    tx.prepare_cached(WRITE_SCOPE)?
        .execute(rusqlite::params_from_iter(scope_values(r, at)))?;
    Ok(())
}

/// Keep a scope's pattern list bounded: evict the weakest mined patterns, then the oldest user
/// patterns beyond their own cap.
fn evict(tx: &Connection, scope: &str) -> rusqlite::Result<()> {
    let weakest_mined = "source = 'mined' ORDER BY tp - fp, last_seen";
    trim(tx, scope, "1", MAX_PATTERNS, weakest_mined)?;
    let oldest_user = "source = 'user' ORDER BY last_seen";
    trim(tx, scope, "source = 'user'", MAX_USER_PATTERNS, oldest_user)
}

/// Delete as many of a scope's patterns as those matching `counted` exceed `cap`, the first ones
/// by `victims` (an SQL condition and order).
fn trim(
    tx: &Connection,
    scope: &str,
    counted: &str,
    cap: usize,
    victims: &str,
) -> rusqlite::Result<()> {
    let count: i64 = tx
        .prepare_cached(&format!(
            "SELECT count(*) FROM learn_patterns WHERE scope = ?1 AND {counted}"
        ))?
        .query_row([scope], |r| r.get(0))?;
    if count as usize > cap {
        tx.prepare_cached(&format!(
            "DELETE FROM learn_patterns WHERE scope = ?1 AND pattern IN (SELECT pattern FROM \
             learn_patterns WHERE scope = ?1 AND {victims} LIMIT ?2)"
        ))?
        .execute(params![scope, count - cap as i64])?;
    }
    Ok(())
}

// The statements a run's judgement writes (prepared early by [`warm`]).
const WRITE_SCOPE: &str =
    "INSERT OR REPLACE INTO learn_scopes (scope, runs, judged, failed, stopped, ok_n, ok_mean, \
         ok_m2, fail_n, fail_mean, fail_m2, gap_n, gap_mean, gap_m2, burst_n, burst_mean, \
         burst_m2, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
         ?15, ?16, ?17, ?18)";
const SET_RUNTIMES: &str = "INSERT INTO learn_runtimes (scope, samples) VALUES (?1, ?2) \
             ON CONFLICT (scope) DO UPDATE SET samples = excluded.samples";
const STREAK_EXTEND: &str = "INSERT INTO learn_streaks (scope, timeout_stops) VALUES (?1, 1) \
                     ON CONFLICT (scope) DO UPDATE SET timeout_stops = timeout_stops + 1";
const STREAK_RESET: &str = "DELETE FROM learn_streaks WHERE scope = ?1";
const WRITE_EVIDENCE: &str =
    "INSERT INTO learn_evidence (scope, pattern, tn, checks, since_check, checked_at, \
         lead_n, lead_sum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
         ON CONFLICT (scope, pattern) DO UPDATE SET \
         tn = tn + excluded.tn, checks = checks + excluded.checks, \
         lead_n = lead_n + excluded.lead_n, lead_sum = lead_sum + excluded.lead_sum, \
         since_check = CASE WHEN excluded.checks > 0 THEN 0 \
                            ELSE since_check + excluded.since_check END, \
         checked_at = max(checked_at, excluded.checked_at)";
const WRITE_RUN: &str = "INSERT OR REPLACE INTO learn_runs (run_id, scopes, verdicts, feedback) VALUES (?1, ?2, ?3, NULL)";
const TRIM_RUNS: &str = "DELETE FROM learn_runs WHERE run_id <= ?1";

/// Prepare the statements [`apply`] writes with, into the connection's cache: called on the
/// store's opening thread while the command runs, so that only binding and stepping remain
/// after it ends.
pub fn warm(conn: &Connection) {
    for sql in [
        WRITE_SCOPE,
        SET_RUNTIMES,
        STREAK_EXTEND,
        STREAK_RESET,
        WRITE_EVIDENCE,
        WRITE_RUN,
        TRIM_RUNS,
    ] {
        let _ = conn.prepare_cached(sql);
    }
}

/// Write a run's judgement (inside the run's write transaction, after the run got its id).
pub fn apply(tx: &Transaction, run_id: i64, j: &Judgement) -> rusqlite::Result<()> {
    for row in &j.rows {
        write_row(tx, row, j.at)?;
    }
    if let Some((n, v)) = &j.runtimes {
        tx.prepare_cached(SET_RUNTIMES)?
            .execute(params![n, serde_json::to_string(v).unwrap_or_default()])?;
    }
    if let Some(own) = j.scopes.first() {
        match j.streak {
            Streak::Extend => {
                tx.prepare_cached(STREAK_EXTEND)?.execute([own])?;
            }
            Streak::Reset => {
                tx.prepare_cached(STREAK_RESET)?.execute([own])?;
            }
            Streak::Keep => {}
        }
    }
    for b in &j.bumps {
        let c = Counter {
            scopes: &b.scopes,
            pattern: &b.pattern,
            source: &b.source,
            verdict: b.verdict,
        };
        bump(tx, c, 1, j.at)?;
    }
    if let Some((n, deltas)) = &j.evidence {
        write_evidence(tx, n, deltas)?;
    }
    if j.created {
        for s in &j.scopes {
            evict(tx, s)?;
        }
    }
    // Per-run judgements, for `ee feedback`.
    let vj: Vec<serde_json::Value> = j
        .verdicts
        .iter()
        .map(|(p, v, s)| serde_json::json!([p, v.as_str(), s]))
        .collect();
    tx.prepare_cached(WRITE_RUN)?.execute(params![
        run_id,
        j.scopes.join("\n"),
        serde_json::Value::Array(vj).to_string()
    ])?;
    tx.prepare_cached(TRIM_RUNS)?
        .execute(params![run_id - j.keep_runs])?;
    Ok(())
}

fn write_evidence(
    tx: &Connection,
    n: &str,
    deltas: &[super::judge::EvidenceDelta],
) -> rusqlite::Result<()> {
    let mut st = tx.prepare_cached(WRITE_EVIDENCE)?;
    for d in deltas {
        st.execute(params![
            n,
            d.pattern,
            d.tn,
            d.check,
            d.used,
            d.checked_at,
            d.lead.is_some() as i64,
            d.lead.unwrap_or(0.0)
        ])?;
    }
    Ok(())
}
