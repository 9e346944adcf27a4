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
    let bad_counts = doc.scopes.iter().any(|s| {
        [s.runs, s.judged, s.failed, s.stopped, s.ok.n]
            .iter()
            .any(|v| *v < 0)
    }) || doc
        .patterns
        .iter()
        .any(|p| [p.tp, p.fp, p.fneg, p.uses].iter().any(|v| *v < 0));
    if bad_counts {
        return Err("the document has negative counts".into());
    }
    let pinned = doc.pins.iter().filter_map(|p| p.pattern.as_ref());
    if let Some(p) = doc
        .patterns
        .iter()
        .map(|p| &p.pattern)
        .chain(pinned)
        .find(|p| regex::bytes::Regex::new(p).is_err())
    {
        return Err(format!("the document has an invalid pattern: {p}"));
    }
    Ok(doc)
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
pub fn import(tx: &Transaction, doc: &Document, force: bool) -> Result<Summary, String> {
    let sql = |e: rusqlite::Error| format!("database: {e}");
    tx.execute_batch(crate::learn::SCHEMA).map_err(sql)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS learn_imports (digest TEXT PRIMARY KEY, at REAL NOT NULL)",
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
    for s in &doc.scopes {
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
        let base = cur.unwrap_or_default();
        let (ok, fail, gap, burst) = (
            base.ok.merge(s.ok),
            base.fail.merge(s.fail),
            base.gap.merge(s.gap),
            base.burst.merge(s.burst),
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
                base.runs + s.runs,
                base.judged + s.judged,
                base.failed + s.failed,
                base.stopped + s.stopped,
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
    }
    for p in &doc.patterns {
        tx.execute(
            "INSERT INTO learn_patterns (scope, pattern, source, tp, fp, fneg, uses, last_seen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(scope, pattern) DO UPDATE SET tp = tp + excluded.tp, fp = fp + excluded.fp,
                 fneg = fneg + excluded.fneg, uses = uses + excluded.uses, last_seen = excluded.last_seen",
            params![p.scope, p.pattern, p.source, p.tp, p.fp, p.fneg, p.uses, now],
        )
        .map_err(sql)?;
    }
    // A pin is a choice, not a count: the imported one stands where this machine has none.
    let mut pins = 0;
    for p in &doc.pins {
        pins += tx
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
    Ok(Summary {
        scopes: doc.scopes.len(),
        patterns: doc.patterns.len(),
        pins,
    })
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
