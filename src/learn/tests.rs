//! Unit tests of the learning loop against an in-memory database holding only `SCHEMA`: runs go
//! in through `update`, advice comes out of `advise`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use rusqlite::Connection;

use super::aggregates::{self, Feedback};
use super::{advise, complete_patterns, update, SCHEMA};
use crate::outcome::{ChildStatus, LimitsUsed, MatchRecord, Mode, Outcome, PatternsUsed};
use crate::policy::Reason;
use crate::telemetry::context::RunContext;

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(SCHEMA).unwrap();
    c.execute_batch(SCHEMA).unwrap(); // idempotent
    c
}

fn rec(offset: f64, kind: &'static str, pattern: &str, line: &str) -> MatchRecord {
    MatchRecord {
        offset,
        stream: "stdout".into(),
        line_no: 1,
        kind,
        pattern: pattern.into(),
        line: line.into(),
        matched: line.into(),
        context: Vec::new(),
    }
}

pub(crate) fn outcome(argv: &[&str], code: i32, total: f64, observed: Vec<MatchRecord>) -> Outcome {
    Outcome {
        mode: Mode::Run,
        argv: argv.iter().map(|s| s.to_string()).collect(),
        started: SystemTime::now(),
        cwd: "/".into(),
        patterns: PatternsUsed::default(),
        limits: LimitsUsed::default(),
        exit_code: code,
        child: Some(ChildStatus::Exited(code)),
        reason: Reason::Completed,
        total: Duration::from_secs_f64(total),
        to_first_output: None,
        to_first_match: None,
        match_count: 0,
        stdout: Default::default(),
        stderr: Default::default(),
        stopped_early: false,
        detached: false,
        matches: Vec::new(),
        observed,
    }
}

fn ctx(argv: &[&str]) -> RunContext {
    let v: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
    RunContext::new(&v, Path::new("/nonexistent-dir-for-tests"))
}

fn record(c: &mut Connection, id: i64, o: &Outcome) {
    let tx = c.transaction().unwrap();
    let cx = ctx(&o.argv.iter().map(String::as_str).collect::<Vec<_>>());
    update(&tx, id, o, &cx).unwrap();
    tx.commit().unwrap();
}

#[test]
fn five_failures_teach_a_pattern() {
    let mut c = db();
    let argv = ["fail.sh"];
    for i in 1..=4 {
        let o = outcome(
            &argv,
            1,
            3.0,
            vec![rec(0.01, "observed", r"\bfail", "FAILED test_x")],
        );
        record(&mut c, i, &o);
        let a = advise(Some(&c), &ctx(&argv));
        assert!(a.applied_patterns().is_empty(), "after {i}: {a:?}");
    }
    record(
        &mut c,
        5,
        &outcome(
            &argv,
            1,
            3.0,
            vec![rec(0.01, "observed", "x", "FAILED test_x")],
        ),
    );
    let a = advise(Some(&c), &ctx(&argv));
    let applied = a.applied_patterns();
    assert_eq!(
        applied.first().map(String::as_str),
        Some("^FAILED"),
        "{a:?}"
    );
    assert_eq!(a.ranked[0].tp, 5);
    assert!(a.ranked[0].score >= super::stats::APPLY_SCORE);
    // Successful runs without the line do not hurt it.
    record(&mut c, 6, &outcome(&argv, 0, 0.5, vec![]));
    let a = advise(Some(&c), &ctx(&argv));
    assert_eq!(a.applied_patterns()[0], "^FAILED");
    let comp = complete_patterns(Some(&c), &ctx(&argv));
    assert_eq!(comp[0].0, "^FAILED");
    assert!(comp[0].1.contains("precision 1.00"), "{comp:?}");
}

#[test]
fn false_positive_ranked_below_and_not_applied() {
    let mut c = db();
    let argv = ["suite.sh"];
    for i in 0..12 {
        let fail = i % 2 == 0;
        let mut obs = vec![rec(
            0.01,
            "observed",
            "x",
            "warning: deprecated error handler",
        )];
        if fail {
            obs.push(rec(0.02, "observed", "x", "FATAL crash"));
        }
        record(&mut c, i + 1, &outcome(&argv, fail as i32, 1.0, obs));
    }
    let a = advise(Some(&c), &ctx(&argv));
    let pos = |p: &str| a.ranked.iter().position(|r| r.pattern == p).unwrap();
    let good = pos("^FATAL");
    let bad = pos(r"^warning:\s+deprecated\s+error");
    assert!(good < bad, "{:#?}", a.ranked);
    assert!(a.ranked[good].applied);
    assert!(!a.ranked[bad].applied);
    assert_eq!(a.ranked[bad].fp, 6);
}

#[test]
fn timeout_from_normal_runs_only() {
    let mut c = db();
    let argv = ["quick.sh"];
    let times = [0.2, 0.21, 0.19, 0.22, 0.2, 0.18, 0.2, 0.21, 0.2, 0.19];
    for (i, t) in times.iter().enumerate() {
        record(&mut c, i as i64 + 1, &outcome(&argv, 0, *t, vec![]));
        let a = advise(Some(&c), &ctx(&argv));
        assert_eq!(a.applied_timeout().is_some(), i + 1 >= 8, "run {i}");
    }
    // A run stopped by a timeout is not a sample.
    let mut o = outcome(&argv, 124, 50.0, vec![]);
    o.stopped_early = true;
    o.reason = Reason::Timeout;
    o.child = Some(ChildStatus::Signaled(15));
    record(&mut c, 20, &o);
    let a = advise(Some(&c), &ctx(&argv));
    let t = a.timeout.unwrap();
    assert_eq!(t.samples, 10);
    assert!(
        t.seconds >= t.mean + 2.0 * t.stddev && t.seconds <= 3.0,
        "{t:?}"
    );
}

#[test]
fn profile_applies_until_proven_bad() {
    let mut c = db();
    let argv = ["cargo", "test"];
    let a = advise(Some(&c), &ctx(&argv));
    assert_eq!(a.profile.as_deref(), Some("cargo-test"));
    let p = r"^test \S+ \.\.\. FAILED";
    assert!(a.applied_patterns().contains(&p.to_string()));
    // A successful run in which the profile pattern matched: proven bad here.
    record(
        &mut c,
        1,
        &outcome(
            &argv,
            0,
            1.0,
            vec![rec(0.1, "observed", p, "test weird ... FAILED")],
        ),
    );
    let a = advise(Some(&c), &ctx(&argv));
    assert!(!a.applied_patterns().contains(&p.to_string()), "{a:?}");
    assert!(a.observe.contains(&p.to_string()));
}

#[test]
fn uses_feedback_and_burst() {
    let mut c = db();
    let argv = ["fail.sh"];
    for i in 1..=5 {
        let o = outcome(
            &argv,
            1,
            3.0,
            vec![
                rec(0.01, "observed", "x", "FAILED test_x"),
                rec(0.05, "observed", "x", "Traceback (most recent call last):"),
                rec(2.9, "observed", "x", "1 failed"),
            ],
        );
        record(&mut c, i, &o);
    }
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.quiet.learned, "{:?}", a.quiet);
    assert!(
        a.quiet.seconds >= 0.2 && a.quiet.seconds < 0.5,
        "{:?}",
        a.quiet
    );
    // The 6th run is stopped on the learned pattern: a use, not a judgement.
    let mut o = outcome(&argv, 1, 0.3, vec![]);
    o.patterns.learned = true;
    o.patterns.error = a.applied_patterns();
    o.matches = vec![rec(0.01, "error", "^FAILED", "FAILED test_x")];
    o.stopped_early = true;
    o.reason = Reason::ErrorMatch;
    o.child = Some(ChildStatus::Signaled(15));
    record(&mut c, 6, &o);
    let row = |c: &Connection| {
        let k = aggregates::load(c, &["cmd:fail.sh".to_string()]).unwrap();
        k.patterns
            .into_iter()
            .find(|p| p.pattern == "^FAILED")
            .unwrap()
    };
    let r = row(&c);
    assert_eq!((r.counts.tp, r.counts.fp, r.uses), (5, 0, 1));
    // Feedback: false positive, then changed to good (the earlier feedback is undone).
    let tx = c.transaction().unwrap();
    aggregates::apply_feedback(&tx, None, Feedback::FalsePositive, &[]).unwrap();
    tx.commit().unwrap();
    assert_eq!(row(&c).counts.fp, 1);
    let tx = c.transaction().unwrap();
    aggregates::apply_feedback(&tx, Some(6), Feedback::Good, &[]).unwrap();
    tx.commit().unwrap();
    let r = row(&c);
    assert_eq!((r.counts.tp, r.counts.fp), (6, 0));
    let tx = c.transaction().unwrap();
    assert!(aggregates::apply_feedback(&tx, Some(99), Feedback::Good, &[]).is_err());
}

#[test]
fn missing_tables_mean_no_knowledge() {
    let c = Connection::open_in_memory().unwrap();
    let a = advise(Some(&c), &ctx(&["pytest"]));
    assert_eq!(a.profile.as_deref(), Some("pytest"));
    assert!(a.timeout.is_none());
    assert!(!a.applied_patterns().is_empty());
    let a = advise(None, &ctx(&["mytool"]));
    assert!(a.applied_patterns().is_empty());
}

#[test]
fn learned_timeout_backs_off_and_relearns_after_drift() {
    let mut c = db();
    let argv = ["suite.sh"];
    for i in 0..10 {
        record(&mut c, i + 1, &outcome(&argv, 0, 0.2, vec![]));
    }
    assert!(advise(Some(&c), &ctx(&argv)).applied_timeout().is_some());
    let stopped = || {
        let mut o = outcome(&argv, 124, 1.2, vec![]);
        o.stopped_early = true;
        o.reason = Reason::Timeout;
        o.limits.timeout_learned = true;
        o.child = Some(ChildStatus::Signaled(15));
        o
    };
    record(&mut c, 11, &stopped());
    assert!(advise(Some(&c), &ctx(&argv)).applied_timeout().is_some());
    record(&mut c, 12, &stopped());
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.applied_timeout().is_none());
    assert!(a.timeout.unwrap().why.contains("stopped the last 2 runs"));
    // The free run takes 5 s, longer than the learned timeout: the runtimes moved, start over.
    record(&mut c, 13, &outcome(&argv, 0, 5.0, vec![]));
    let a = advise(Some(&c), &ctx(&argv));
    let t = a.timeout.unwrap();
    assert_eq!((t.samples, t.applied), (1, false));
    for i in 0..8 {
        record(&mut c, 14 + i, &outcome(&argv, 0, 5.0, vec![]));
    }
    let t = advise(Some(&c), &ctx(&argv)).timeout.unwrap();
    assert!(t.applied && t.seconds >= 6.0, "{t:?}");
}
