//! Moving what was learned between machines: `ee telemetry export-learned` writes the learning
//! aggregates (scopes and pattern counts — no command lines, no output) as one JSON document that
//! can be committed to a repository; `ee telemetry import-learned FILE` merges such a document into
//! the local aggregates, adding counts and combining runtime statistics (Chan et al.'s parallel
//! variance formula) rather than overwriting. A document already imported is refused, so counts
//! are never doubled by accident. The narrow `run:` scopes (a project root and command identity,
//! with their evidence, runtimes and pins) stay on the machine: imported patterns are candidates
//! there, confirmed in the importing machine's own projects before they stop anything.

use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::{Deserialize, Serialize};

/// The document's `format` field.
pub const FORMAT: &str = "earlyexit-learned";
/// The document version this code writes and reads.
pub const VERSION: u32 = 1;

/// Running statistics of one kind of sample (Welford: count, mean, sum of squared deviations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Moments {
    pub n: i64,
    pub mean: f64,
    pub m2: f64,
}

impl Moments {
    /// Combine two sets of moments as if all their samples had been seen by one.
    pub fn merge(self, o: Moments) -> Moments {
        if o.n <= 0 {
            return self;
        }
        if self.n <= 0 {
            return o;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        Moments {
            n,
            mean: self.mean + delta * o.n as f64 / n as f64,
            m2: self.m2 + o.m2 + delta * delta * (self.n as f64) * (o.n as f64) / n as f64,
        }
    }
}

/// One scope's aggregates (`cmd:KEY`, `prog:NAME`, `type:CATEGORY/PROJECT`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScopeDoc {
    pub scope: String,
    pub runs: i64,
    pub judged: i64,
    pub failed: i64,
    pub stopped: i64,
    /// Runtimes of normal (successful, not stopped) runs, seconds.
    pub ok: Moments,
    /// Runtimes of failed runs.
    pub fail: Moments,
    /// Quiet gaps after matches.
    pub gap: Moments,
    /// Lengths of post-match bursts.
    pub burst: Moments,
}

/// One pattern's counts in a scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternDoc {
    pub scope: String,
    pub pattern: String,
    pub source: String,
    pub tp: i64,
    pub fp: i64,
    #[serde(rename = "fn")]
    pub fneg: i64,
    pub uses: i64,
}

/// A pattern and/or timeout confirmed with `ee --watch`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PinDoc {
    pub scope: String,
    pub pattern: Option<String>,
    pub timeout: Option<f64>,
}

/// The exported document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub format: String,
    pub version: u32,
    pub scopes: Vec<ScopeDoc>,
    pub patterns: Vec<PatternDoc>,
    #[serde(default)]
    pub pins: Vec<PinDoc>,
}

/// What an import changed.
#[derive(Debug, Default, PartialEq)]
pub struct Summary {
    pub scopes: usize,
    pub patterns: usize,
    pub pins: usize,
    /// Rows left out: broad scopes, rows with local evidence, patterns beyond the cap.
    pub skipped: usize,
}

fn tables_exist(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'learn_scopes'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

/// Read the aggregates into a document.
pub fn export(conn: &Connection) -> rusqlite::Result<Document> {
    let mut doc = Document {
        format: FORMAT.into(),
        version: VERSION,
        scopes: Vec::new(),
        patterns: Vec::new(),
        pins: Vec::new(),
    };
    if !tables_exist(conn)? {
        return Ok(doc);
    }
    let mut st = conn.prepare(
        "SELECT scope, runs, judged, failed, stopped, ok_n, ok_mean, ok_m2, fail_n, fail_mean, fail_m2,
                gap_n, gap_mean, gap_m2, burst_n, burst_mean, burst_m2
         FROM learn_scopes WHERE scope NOT LIKE 'run:%' ORDER BY scope",
    )?;
    let m = |r: &rusqlite::Row, i: usize| -> rusqlite::Result<Moments> {
        Ok(Moments {
            n: r.get(i)?,
            mean: r.get(i + 1)?,
            m2: r.get(i + 2)?,
        })
    };
    doc.scopes = st
        .query_map([], |r| {
            Ok(ScopeDoc {
                scope: r.get(0)?,
                runs: r.get(1)?,
                judged: r.get(2)?,
                failed: r.get(3)?,
                stopped: r.get(4)?,
                ok: m(r, 5)?,
                fail: m(r, 8)?,
                gap: m(r, 11)?,
                burst: m(r, 14)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st =
        conn.prepare("SELECT scope, pattern, source, tp, fp, fneg, uses FROM learn_patterns WHERE scope NOT LIKE 'run:%' ORDER BY scope, pattern")?;
    doc.patterns = st
        .query_map([], |r| {
            Ok(PatternDoc {
                scope: r.get(0)?,
                pattern: r.get(1)?,
                source: r.get(2)?,
                tp: r.get(3)?,
                fp: r.get(4)?,
                fneg: r.get(5)?,
                uses: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    if let Ok(mut st) =
        conn.prepare("SELECT scope, pattern, timeout FROM learn_pins WHERE scope NOT LIKE 'run:%' ORDER BY scope")
    {
        doc.pins = st
            .query_map([], |r| {
                Ok(PinDoc {
                    scope: r.get(0)?,
                    pattern: r.get(1)?,
                    timeout: r.get(2)?,
                })
            })?
            .collect::<rusqlite::Result<_>>()?;
    }
    Ok(doc)
}

/// Parse and check a document.
pub fn parse(text: &str) -> Result<Document, String> {
    let doc: Document =
        serde_json::from_str(text).map_err(|e| format!("not a learned-knowledge document: {e}"))?;
    if doc.format != FORMAT {
        return Err(format!(
            "not a learned-knowledge document (format '{}')",
            doc.format
        ));
    }
    if doc.version != VERSION {
        return Err(format!(
            "unsupported document version {} (this ee reads {VERSION})",
            doc.version
        ));
    }
    check(&doc)?;
    Ok(doc)
}

/// Largest document accepted (bytes).
pub const MAX_DOCUMENT: u64 = 16 << 20;
/// Most scopes in one document.
pub const MAX_SCOPES: usize = 10_000;

/// Every value of a document, validated as `validate` says (the first problem is the error).
fn check(doc: &Document) -> Result<(), String> {
    use super::aggregates::MAX_PATTERNS;
    use super::validate as v;
    let bad = |what: &str, scope: &str, e: String| {
        format!("{what} of scope {}: {e}", crate::escape::escape(scope))
    };
    if doc.scopes.len() > MAX_SCOPES {
        return Err(format!("more than {MAX_SCOPES} scopes"));
    }
    for s in &doc.scopes {
        v::scope(&s.scope)?;
        for (name, c) in [
            ("runs", s.runs),
            ("judged", s.judged),
            ("failed", s.failed),
            ("stopped", s.stopped),
        ] {
            if v::count_checked(c).is_none() {
                return Err(bad(name, &s.scope, format!("{c} is not a count in range")));
            }
        }
        for (name, m) in [
            ("ok", s.ok),
            ("fail", s.fail),
            ("gap", s.gap),
            ("burst", s.burst),
        ] {
            if v::count_checked(m.n).is_none() || v::moments(m.n, m.mean, m.m2).is_none() {
                return Err(bad(
                    name,
                    &s.scope,
                    format!(
                        "statistics out of range (n {}, mean {}, m2 {})",
                        m.n, m.mean, m.m2
                    ),
                ));
            }
        }
    }
    let mut per_scope: std::collections::HashMap<&str, usize> = Default::default();
    for p in &doc.patterns {
        v::scope(&p.scope)?;
        v::source(&p.source).map_err(|e| bad("pattern", &p.scope, e))?;
        v::pattern(&p.pattern).map_err(|e| bad("pattern", &p.scope, e))?;
        for c in [p.tp, p.fp, p.fneg, p.uses] {
            if v::count_checked(c).is_none() {
                return Err(bad("pattern", &p.scope, format!("count {c} out of range")));
            }
        }
        let n = per_scope.entry(p.scope.as_str()).or_default();
        *n += 1;
        if *n > MAX_PATTERNS {
            return Err(bad(
                "patterns",
                &p.scope,
                format!("more than {MAX_PATTERNS} (the cap of local learning)"),
            ));
        }
    }
    for p in &doc.pins {
        v::scope(&p.scope)?;
        if let Some(pat) = &p.pattern {
            v::pattern(pat).map_err(|e| bad("pin", &p.scope, e))?;
        }
        if let Some(t) = p.timeout {
            if v::pin_timeout(t).is_none() {
                return Err(bad(
                    "pin",
                    &p.scope,
                    format!(
                        "timeout {t} out of range ({}s to {}s)",
                        v::MIN_PIN_TIMEOUT,
                        v::MAX_SECONDS
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Only a command's own scope is imported: `prog:` and `type:` scopes would apply to every
/// command of a program or a project type on this machine, outside the project they came from.
fn importable(scope: &str) -> bool {
    scope.starts_with("cmd:")
}

/// A stable digest of the document, to refuse importing the same one twice.
fn digest(doc: &Document) -> String {
    // FNV-1a over the canonical JSON: no cryptography needed, only identity.
    let text = serde_json::to_string(doc).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}-{}", text.len())
}

/// Merge a document into the aggregates inside `tx`. `force` imports a document again.
///
/// Imported evidence never overrides local evidence: a scope whose runs were (partly) observed
/// on this machine keeps its own statistics, and a pattern this machine has judged keeps its own
/// counts; only what came from earlier imports is added to. Only `cmd:` scopes are imported
/// (see [`importable`]), within the local cap of patterns per scope, and every count saturates
/// at `validate::MAX_COUNT`.
pub fn import(tx: &Transaction, doc: &Document, force: bool) -> Result<Summary, String> {
    use super::validate::{add_counts, moments, MAX_COUNT};
    let sql = |e: rusqlite::Error| format!("database: {e}");
    check(doc)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS learn_imports (digest TEXT PRIMARY KEY, at REAL NOT NULL);
         CREATE TABLE IF NOT EXISTS learn_imported_scopes (
             scope TEXT PRIMARY KEY, runs INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
         CREATE TABLE IF NOT EXISTS learn_imported_patterns (
             scope TEXT NOT NULL, pattern TEXT NOT NULL, n INTEGER NOT NULL DEFAULT 0,
             PRIMARY KEY (scope, pattern)) WITHOUT ROWID;",
    )
    .map_err(sql)?;
    let d = digest(doc);
    let seen: Option<i64> = tx
        .query_row("SELECT 1 FROM learn_imports WHERE digest = ?1", [&d], |r| {
            r.get(0)
        })
        .optional()
        .map_err(sql)?;
    if seen.is_some() && !force {
        return Err(
            "this document was already imported (use --force to add its counts again)".into(),
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |t| t.as_secs_f64());
    let valid = |m: Moments| match moments(m.n, m.mean, m.m2) {
        Some((n, mean, m2)) => Moments {
            n: n as i64,
            mean,
            m2,
        },
        None => Moments::default(),
    };
    let merge = |a: Moments, b: Moments| {
        let mut m = valid(a).merge(valid(b));
        m.n = m.n.min(MAX_COUNT);
        valid(m)
    };
    let mut sum = Summary::default();
    for s in &doc.scopes {
        if !importable(&s.scope) {
            sum.skipped += 1;
            continue;
        }
        let cur: Option<ScopeDoc> = tx
            .query_row(
                "SELECT runs, judged, failed, stopped, ok_n, ok_mean, ok_m2, fail_n, fail_mean, fail_m2,
                        gap_n, gap_mean, gap_m2, burst_n, burst_mean, burst_m2
                 FROM learn_scopes WHERE scope = ?1",
                [&s.scope],
                |r| {
                    let m = |i: usize| -> rusqlite::Result<Moments> {
                        Ok(Moments { n: r.get(i)?, mean: r.get(i + 1)?, m2: r.get(i + 2)? })
                    };
                    Ok(ScopeDoc {
                        scope: s.scope.clone(),
                        runs: r.get(0)?,
                        judged: r.get(1)?,
                        failed: r.get(2)?,
                        stopped: r.get(3)?,
                        ok: m(4)?,
                        fail: m(7)?,
                        gap: m(10)?,
                        burst: m(13)?,
                    })
                },
            )
            .optional()
            .map_err(sql)?;
        let imported: i64 = tx
            .query_row(
                "SELECT runs FROM learn_imported_scopes WHERE scope = ?1",
                [&s.scope],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?
            .unwrap_or(0);
        let base = cur.unwrap_or_default();
        if base.runs.saturating_sub(imported) > 0 {
            // This machine ran the command itself: its own statistics stand.
            sum.skipped += 1;
            continue;
        }
        let (ok, fail, gap, burst) = (
            merge(base.ok, s.ok),
            merge(base.fail, s.fail),
            merge(base.gap, s.gap),
            merge(base.burst, s.burst),
        );
        tx.execute(
            "INSERT INTO learn_scopes (scope, runs, judged, failed, stopped, ok_n, ok_mean, ok_m2,
                 fail_n, fail_mean, fail_m2, gap_n, gap_mean, gap_m2, burst_n, burst_mean, burst_m2, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)
             ON CONFLICT(scope) DO UPDATE SET runs = excluded.runs, judged = excluded.judged,
                 failed = excluded.failed, stopped = excluded.stopped, ok_n = excluded.ok_n,
                 ok_mean = excluded.ok_mean, ok_m2 = excluded.ok_m2, fail_n = excluded.fail_n,
                 fail_mean = excluded.fail_mean, fail_m2 = excluded.fail_m2, gap_n = excluded.gap_n,
                 gap_mean = excluded.gap_mean, gap_m2 = excluded.gap_m2, burst_n = excluded.burst_n,
                 burst_mean = excluded.burst_mean, burst_m2 = excluded.burst_m2, updated = excluded.updated",
            params![
                s.scope,
                add_counts(base.runs, s.runs),
                add_counts(base.judged, s.judged),
                add_counts(base.failed, s.failed),
                add_counts(base.stopped, s.stopped),
                ok.n,
                ok.mean,
                ok.m2,
                fail.n,
                fail.mean,
                fail.m2,
                gap.n,
                gap.mean,
                gap.m2,
                burst.n,
                burst.mean,
                burst.m2,
                now
            ],
        )
        .map_err(sql)?;
        tx.execute(
            "INSERT INTO learn_imported_scopes (scope, runs) VALUES (?1, ?2)
             ON CONFLICT(scope) DO UPDATE SET runs = min(runs + excluded.runs, ?3)",
            params![s.scope, s.runs, MAX_COUNT],
        )
        .map_err(sql)?;
        sum.scopes += 1;
    }
    for p in &doc.patterns {
        if !importable(&p.scope) {
            sum.skipped += 1;
            continue;
        }
        let cur: Option<i64> = tx
            .query_row(
                "SELECT min(tp, ?3) + min(fp, ?3) + min(fneg, ?3) FROM learn_patterns
                 WHERE scope = ?1 AND pattern = ?2",
                params![p.scope, p.pattern, MAX_COUNT],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        let imported: i64 = tx
            .query_row(
                "SELECT n FROM learn_imported_patterns WHERE scope = ?1 AND pattern = ?2",
                params![p.scope, p.pattern],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?
            .unwrap_or(0);
        let local = cur.map_or(0, |c| c.saturating_sub(imported));
        if local > 0 {
            // Judged on this machine: its own counts stand.
            sum.skipped += 1;
            continue;
        }
        if cur.is_none() {
            let n: i64 = tx
                .query_row(
                    "SELECT count(*) FROM learn_patterns WHERE scope = ?1",
                    [&p.scope],
                    |r| r.get(0),
                )
                .map_err(sql)?;
            if n as usize >= super::aggregates::MAX_PATTERNS {
                sum.skipped += 1;
                continue;
            }
        }
        tx.execute(
            "INSERT INTO learn_patterns (scope, pattern, source, tp, fp, fneg, uses, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(scope, pattern) DO UPDATE SET tp = min(tp + excluded.tp, ?9),
                 fp = min(fp + excluded.fp, ?9), fneg = min(fneg + excluded.fneg, ?9),
                 uses = min(uses + excluded.uses, ?9), last_seen = excluded.last_seen",
            params![p.scope, p.pattern, p.source, p.tp, p.fp, p.fneg, p.uses, now, MAX_COUNT],
        )
        .map_err(sql)?;
        tx.execute(
            "INSERT INTO learn_imported_patterns (scope, pattern, n) VALUES (?1, ?2, ?3)
             ON CONFLICT(scope, pattern) DO UPDATE SET n = min(n + excluded.n, ?4)",
            params![
                p.scope,
                p.pattern,
                add_counts(add_counts(p.tp, p.fp), p.fneg),
                3 * MAX_COUNT
            ],
        )
        .map_err(sql)?;
        sum.patterns += 1;
    }
    // A pin is a choice, not a count: the imported one stands where this machine has none.
    for p in &doc.pins {
        if !importable(&p.scope) {
            sum.skipped += 1;
            continue;
        }
        sum.pins += tx
            .execute(
                "INSERT INTO learn_pins (scope, pattern, timeout, at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(scope) DO NOTHING",
                params![p.scope, p.pattern, p.timeout, now],
            )
            .map_err(sql)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO learn_imports (digest, at) VALUES (?1, ?2)",
        params![d, now],
    )
    .map_err(sql)?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_moments_equal_moments_of_all_samples() {
        let welford = |xs: &[f64]| {
            let mut m = Moments::default();
            for &x in xs {
                m = m.merge(Moments {
                    n: 1,
                    mean: x,
                    m2: 0.0,
                });
            }
            m
        };
        let a = [1.0, 2.0, 4.0];
        let b = [10.0, 11.0];
        let all = welford(&[1.0, 2.0, 4.0, 10.0, 11.0]);
        let merged = welford(&a).merge(welford(&b));
        assert_eq!(merged.n, 5);
        assert!((merged.mean - all.mean).abs() < 1e-9);
        assert!((merged.m2 - all.m2).abs() < 1e-9);
        let mean = 28.0 / 5.0;
        let m2: f64 = [1.0, 2.0, 4.0, 10.0, 11.0]
            .iter()
            .map(|x| (x - mean) * (x - mean))
            .sum();
        assert!((merged.m2 - m2).abs() < 1e-9);
    }

    #[test]
    fn rejects_foreign_documents() {
        assert!(parse("{}").is_err());
        assert!(parse(r#"{"format":"x","version":1,"scopes":[],"patterns":[]}"#).is_err());
        assert!(
            parse(r#"{"format":"earlyexit-learned","version":9,"scopes":[],"patterns":[]}"#)
                .is_err()
        );
        let bad = r#"{"format":"earlyexit-learned","version":1,"scopes":[],
            "patterns":[{"scope":"cmd:x","pattern":"(","source":"user","tp":1,"fp":0,"fn":0,"uses":1}]}"#;
        assert!(parse(bad).unwrap_err().contains("invalid pattern"));
    }
}
