//! `ee feedback`: a user's correction of a run's judgement (a false stop, a missed failure, a
//! good stop), stored with the run's judgements and applied to the learned counters; an earlier
//! feedback on the same run is undone first, so feedback can be changed.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::aggregates::{name_of, named, now, Verdict};
use super::db::{bump, Counter};

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
    fn every_feedback_name_reads_back() {
        for (f, n) in FEEDBACK_NAMES {
            assert_eq!((f.as_str(), Feedback::parse(n)), (*n, Some(*f)));
        }
    }
}
