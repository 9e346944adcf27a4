//! Unit tests of the learning loop against an in-memory database holding only the learning
//! tables ([`TABLES`]): runs go in through `update`, advice comes out of `advise`.

use std::path::Path;
use std::time::{Duration, SystemTime};

use rusqlite::Connection;

use super::aggregates;
use super::feedback::{self, Feedback};
use super::update;
use super::Advice;
use crate::context::RunContext;
use crate::engine::matcher::Class;
use crate::engine::outcome::{
    ChildStatus, LimitsUsed, MatchRecord, Mode, Observed, Outcome, PatternsUsed,
};
use crate::engine::policy::Reason;

/// The learning tables as the store's migrations leave them (the store owns the migrations;
/// `app::record`'s tests check that this is what a migrated database holds).
pub(crate) const TABLES: &str = "
CREATE TABLE IF NOT EXISTS learn_scopes (
    scope      TEXT PRIMARY KEY,
    runs       INTEGER NOT NULL DEFAULT 0,
    judged     INTEGER NOT NULL DEFAULT 0,
    failed     INTEGER NOT NULL DEFAULT 0,
    stopped    INTEGER NOT NULL DEFAULT 0,
    ok_n       INTEGER NOT NULL DEFAULT 0,
    ok_mean    REAL    NOT NULL DEFAULT 0,
    ok_m2      REAL    NOT NULL DEFAULT 0,
    fail_n     INTEGER NOT NULL DEFAULT 0,
    fail_mean  REAL    NOT NULL DEFAULT 0,
    fail_m2    REAL    NOT NULL DEFAULT 0,
    gap_n      INTEGER NOT NULL DEFAULT 0,
    gap_mean   REAL    NOT NULL DEFAULT 0,
    gap_m2     REAL    NOT NULL DEFAULT 0,
    burst_n    INTEGER NOT NULL DEFAULT 0,
    burst_mean REAL    NOT NULL DEFAULT 0,
    burst_m2   REAL    NOT NULL DEFAULT 0,
    updated    REAL    NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_patterns (
    scope     TEXT NOT NULL,
    pattern   TEXT NOT NULL,
    source    TEXT NOT NULL,
    tp        INTEGER NOT NULL DEFAULT 0,
    fp        INTEGER NOT NULL DEFAULT 0,
    fneg      INTEGER NOT NULL DEFAULT 0,
    uses      INTEGER NOT NULL DEFAULT 0,
    last_seen REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, pattern)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_runs (
    run_id   INTEGER PRIMARY KEY,
    scopes   TEXT NOT NULL,
    verdicts TEXT NOT NULL,
    feedback TEXT,
    feedback_missed TEXT
);
CREATE TABLE IF NOT EXISTS learn_streaks (
    scope         TEXT PRIMARY KEY,
    timeout_stops INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_evidence (
    scope       TEXT NOT NULL,
    pattern     TEXT NOT NULL,
    tn          INTEGER NOT NULL DEFAULT 0,
    checks      INTEGER NOT NULL DEFAULT 0,
    since_check INTEGER NOT NULL DEFAULT 0,
    checked_at  REAL    NOT NULL DEFAULT 0,
    lead_n      INTEGER NOT NULL DEFAULT 0,
    lead_sum    REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, pattern)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_runtimes (
    scope      TEXT PRIMARY KEY,
    samples    TEXT NOT NULL DEFAULT '[]',
    timeout_fp INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS learn_pins (
    scope   TEXT PRIMARY KEY,
    pattern TEXT,
    timeout REAL,
    at      REAL NOT NULL
) WITHOUT ROWID;
";

fn advise(c: Option<&Connection>, ctx: &RunContext) -> Advice {
    super::advise(super::knowledge(c, ctx), ctx)
}

fn complete_patterns(c: Option<&Connection>, ctx: &RunContext) -> Vec<(String, String)> {
    super::complete_patterns(super::knowledge(c, ctx), ctx)
}

fn db() -> Connection {
    let c = Connection::open_in_memory().unwrap();
    c.execute_batch(TABLES).unwrap();
    c
}

fn rec(offset: f64, kind: &'static str, pattern: &str, line: &str) -> MatchRecord {
    MatchRecord {
        offset,
        stream: "stdout".into(),
        line_no: 1,
        kind: Class::from_name(kind).expect("a class name"),
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
        run: Observed {
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
            ends_line: true,
        },
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

fn failed(argv: &[&str], line: &str) -> Outcome {
    outcome(argv, 1, 3.0, vec![rec(0.01, "observed", "x", line)])
}

#[test]
fn confirmed_after_two_caught_failures_and_two_clean_passes() {
    let mut c = db();
    let argv = ["fail.sh"];
    // Failures alone never confirm a pattern: there is no passing run to prove it on.
    for i in 1..=5 {
        record(&mut c, i, &failed(&argv, "FAILED test_x"));
        let a = advise(Some(&c), &ctx(&argv));
        assert!(a.applied_patterns().is_empty(), "after {i}: {a:?}");
    }
    record(&mut c, 6, &outcome(&argv, 0, 0.5, vec![]));
    assert!(advise(Some(&c), &ctx(&argv)).applied_patterns().is_empty());
    record(&mut c, 7, &outcome(&argv, 0, 0.5, vec![]));
    let a = advise(Some(&c), &ctx(&argv));
    // Tie between ^FAILED and ^FAILED\s+test_x: the longer (more specific) one leads.
    assert_eq!(
        a.applied_patterns().first().map(String::as_str),
        Some(r"^FAILED\s+test_x"),
        "{a:#?}"
    );
    assert_eq!((a.ranked[0].tp, a.ranked[0].tn), (5, 2));
    let comp = complete_patterns(Some(&c), &ctx(&argv));
    assert!(
        comp[0].1.starts_with("applied: 5 caught, 0 false, 2 clean"),
        "{comp:?}"
    );
    // Another project or another identity knows nothing to apply.
    let other = RunContext::new(
        &["fail.sh".to_string()],
        Path::new("/another-nonexistent-project"),
    );
    assert!(advise(Some(&c), &other).applied_patterns().is_empty());
    assert!(advise(Some(&c), &ctx(&["fail.sh", "other"]))
        .applied_patterns()
        .is_empty());
}

#[test]
fn harmless_line_of_a_red_phase_is_withdrawn_at_the_first_pass() {
    let mut c = db();
    let argv = ["python3", "-m", "unittest"];
    let run = |code: i32| {
        let mut v = vec![rec(0.01, "observed", "x", "ERROR: payment declined")];
        if code != 0 {
            v.push(rec(0.5, "observed", "x", "FAILED (failures=1)"));
        }
        outcome(&argv, code, 1.0, v)
    };
    for i in 1..=5 {
        record(&mut c, i, &run(1));
    }
    for i in 6..=16 {
        record(&mut c, i, &run(0));
        let a = advise(Some(&c), &ctx(&argv));
        for r in a.ranked.iter().filter(|r| r.pattern.contains("ERROR")) {
            assert!(
                !r.applied && r.state == super::rank::State::Withdrawn,
                "{r:?}"
            );
        }
    }
    let a = advise(Some(&c), &ctx(&argv));
    assert!(
        a.applied_patterns().iter().all(|p| p.contains("FAILED")),
        "{a:#?}"
    );
    assert!(!a.applied_patterns().is_empty());
}

#[test]
fn applied_pattern_is_checked_in_shadow_and_withdrawn_by_a_false_match() {
    let mut c = db();
    let argv = ["suite.sh"];
    for i in 1..=2 {
        record(&mut c, i, &failed(&argv, "FATAL boom"));
        record(&mut c, 10 + i, &outcome(&argv, 0, 0.5, vec![]));
    }
    let a = advise(Some(&c), &ctx(&argv));
    assert_eq!(a.applied_patterns().len(), 1, "{a:#?}");
    let p = a.applied_patterns()[0].clone();
    let stop = |id: i64, c: &mut Connection| {
        let mut o = outcome(&argv, 1, 0.3, vec![]);
        o.patterns.learned = true;
        o.patterns.error = vec![p.clone()];
        o.matches = vec![rec(0.01, "error", &p, "FATAL boom")];
        o.stopped_early = true;
        o.reason = Reason::ErrorMatch;
        o.child = Some(ChildStatus::Signaled(15));
        record(c, id, &o);
    };
    for i in 0..super::stats::CHECK_EVERY {
        assert!(!advise(Some(&c), &ctx(&argv)).check);
        stop(20 + i as i64, &mut c);
    }
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.check && a.applied_patterns().is_empty(), "{a:#?}");
    // The check run ends by itself and passes although the pattern matched: withdrawn.
    record(
        &mut c,
        40,
        &outcome(&argv, 0, 0.5, vec![rec(0.1, "observed", "x", "FATAL boom")]),
    );
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.applied_patterns().is_empty());
    assert_eq!(a.ranked[0].state, super::rank::State::Withdrawn, "{a:#?}");
}

#[test]
fn interrupted_runs_teach_nothing() {
    let mut c = db();
    let argv = ["pytest"];
    let mut o = outcome(
        &argv,
        2,
        1.0,
        vec![rec(0.5, "observed", "x", "!!! KeyboardInterrupt !!!")],
    );
    o.observed
        .push(rec(0.6, "observed", "x", "a full traceback error"));
    record(&mut c, 1, &o);
    record(&mut c, 2, &outcome(&argv, 130, 1.0, vec![]));
    let a = advise(Some(&c), &ctx(&argv));
    assert_eq!(a.failed, 0);
    assert!(a.ranked.iter().all(|r| r.tp == 0), "{a:#?}");
}

#[test]
fn hang_detector_from_the_own_identity_only() {
    let mut c = db();
    let argv = ["python3", "quick.py"];
    let times = [1.0, 1.1, 0.9, 1.05, 1.0, 1.0];
    for (i, t) in times.iter().enumerate() {
        record(&mut c, i as i64 + 1, &outcome(&argv, 0, *t, vec![]));
        let a = advise(Some(&c), &ctx(&argv));
        assert_eq!(a.applied_timeout().is_some(), i + 1 >= 5, "run {i}");
    }
    let t = advise(Some(&c), &ctx(&argv)).timeout.unwrap();
    assert_eq!((t.seconds, t.quiet), (6.1, 5.0), "{t:?}");
    assert!(
        t.term.contains("+ 5s") && t.why.contains("hang detector"),
        "{t:?}"
    );
    // One slow normal run neither resets nor decides.
    record(&mut c, 10, &outcome(&argv, 0, 40.0, vec![]));
    let t = advise(Some(&c), &ctx(&argv)).timeout.unwrap();
    assert_eq!((t.seconds, t.samples), (6.1, 7));
    // A run stopped by a timeout is not a sample.
    let mut o = outcome(&argv, 124, 50.0, vec![]);
    o.stopped_early = true;
    o.reason = Reason::Timeout;
    o.child = Some(ChildStatus::Signaled(15));
    record(&mut c, 20, &o);
    assert_eq!(advise(Some(&c), &ctx(&argv)).timeout.unwrap().samples, 7);
    // Another script, the bare interpreter: nothing.
    assert!(advise(Some(&c), &ctx(&["python3", "slow.py"]))
        .timeout
        .is_none());
    for i in 0..6 {
        record(&mut c, 30 + i, &outcome(&["python3"], 0, 0.5, vec![]));
    }
    assert!(advise(Some(&c), &ctx(&["python3"])).timeout.is_none());
}

#[test]
fn profile_is_shadow_until_confirmed_and_withdrawn_by_a_pass() {
    let mut c = db();
    let argv = ["cargo", "test"];
    let a = advise(Some(&c), &ctx(&argv));
    assert_eq!(a.profile.as_deref(), Some("cargo-test"));
    let p = r"^test \S+ \.\.\. FAILED";
    assert!(a.applied_patterns().is_empty(), "cold start: shadow only");
    assert!(a.observe.contains(&p.to_string()));
    let f = |id| {
        outcome(
            &argv,
            101,
            2.0,
            vec![rec(0.1, "observed", p, &format!("test t{id} ... FAILED"))],
        )
    };
    record(&mut c, 1, &f(1));
    record(&mut c, 2, &outcome(&argv, 0, 1.0, vec![]));
    record(&mut c, 3, &f(3));
    assert!(advise(Some(&c), &ctx(&argv)).applied_patterns().is_empty());
    record(&mut c, 4, &outcome(&argv, 0, 1.0, vec![]));
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.applied_patterns().contains(&p.to_string()), "{a:#?}");
    // A passing run in which it matched: withdrawn here at once.
    record(
        &mut c,
        5,
        &outcome(
            &argv,
            0,
            1.0,
            vec![rec(0.1, "observed", p, "test weird ... FAILED")],
        ),
    );
    let a = advise(Some(&c), &ctx(&argv));
    assert!(!a.applied_patterns().contains(&p.to_string()), "{a:?}");
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
    record(&mut c, 6, &outcome(&argv, 0, 0.5, vec![]));
    record(&mut c, 7, &outcome(&argv, 0, 0.5, vec![]));
    let a = advise(Some(&c), &ctx(&argv));
    assert!(!a.applied_patterns().is_empty(), "{a:#?}");
    // The next run is stopped on the learned pattern: a use, not a judgement.
    let mut o = outcome(&argv, 1, 0.3, vec![]);
    o.patterns.learned = true;
    o.patterns.error = a.applied_patterns();
    o.matches = vec![rec(0.01, "error", "^FAILED", "FAILED test_x")];
    o.stopped_early = true;
    o.reason = Reason::ErrorMatch;
    o.child = Some(ChildStatus::Signaled(15));
    record(&mut c, 8, &o);
    let row = |c: &Connection| {
        let k = super::db::load(c, &["cmd:fail.sh".to_string()]).unwrap();
        k.patterns
            .into_iter()
            .find(|p| p.pattern == "^FAILED")
            .unwrap()
    };
    let r = row(&c);
    assert_eq!((r.counts.tp, r.counts.fp, r.uses), (5, 0, 1));
    // Feedback: false positive, then changed to good (the earlier feedback is undone).
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, None, Feedback::FalsePositive, &[]).unwrap();
    tx.commit().unwrap();
    assert_eq!(row(&c).counts.fp, 1);
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, Some(8), Feedback::Good, &[]).unwrap();
    tx.commit().unwrap();
    let r = row(&c);
    assert_eq!((r.counts.tp, r.counts.fp), (6, 0));
    let tx = c.transaction().unwrap();
    assert!(feedback::apply_feedback(&tx, Some(99), Feedback::Good, &[]).is_err());
}

#[test]
fn missing_tables_mean_no_knowledge() {
    let c = Connection::open_in_memory().unwrap();
    let a = advise(Some(&c), &ctx(&["pytest"]));
    assert_eq!(a.profile.as_deref(), Some("pytest"));
    assert!(a.timeout.is_none());
    assert!(a.applied_patterns().is_empty(), "profiles start in shadow");
    assert!(a.observe.iter().any(|p| p.starts_with(r"^E")));
    let a = advise(None, &ctx(&["mytool"]));
    assert!(a.applied_patterns().is_empty());
}

#[test]
fn false_positive_feedback_withdraws_the_sibling_that_matched_too() {
    let mut c = db();
    let argv = ["suite.sh"];
    for i in 1..=2 {
        record(&mut c, i, &failed(&argv, "FATAL boom"));
        record(&mut c, 10 + i, &outcome(&argv, 0, 0.5, vec![]));
    }
    let a = advise(Some(&c), &ctx(&argv));
    let applied = a.applied_patterns();
    assert_eq!(applied.len(), 1, "{a:#?}");
    let p = applied[0].clone();
    let sibling = a
        .ranked
        .iter()
        .find(|r| r.state == super::rank::State::Confirmed && r.pattern != p)
        .expect("a confirmed sibling")
        .pattern
        .clone();
    let mut o = outcome(
        &argv,
        1,
        0.3,
        vec![rec(0.01, "observed", &sibling, "FATAL boom")],
    );
    o.patterns.learned = true;
    o.patterns.error = vec![p.clone()];
    o.matches = vec![rec(0.01, "error", &p, "FATAL boom")];
    o.stopped_early = true;
    o.reason = Reason::ErrorMatch;
    o.child = Some(ChildStatus::Signaled(15));
    record(&mut c, 20, &o);
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, None, Feedback::FalsePositive, &[]).unwrap();
    tx.commit().unwrap();
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.applied_patterns().is_empty(), "{a:#?}");
    for q in [&p, &sibling] {
        let r = a.ranked.iter().find(|r| &r.pattern == q).unwrap();
        assert_eq!(r.state, super::rank::State::Withdrawn, "{r:?}");
    }
}

#[test]
fn a_pattern_that_matches_only_at_the_end_is_not_worth_a_stop() {
    let mut c = db();
    let argv = ["late.sh"];
    for i in 1..=2 {
        let o = outcome(
            &argv,
            1,
            3.0,
            vec![rec(2.9, "observed", "x", "FATAL summary")],
        );
        record(&mut c, i, &o);
        record(&mut c, 10 + i, &outcome(&argv, 0, 0.5, vec![]));
    }
    let a = advise(Some(&c), &ctx(&argv));
    assert!(a.applied_patterns().is_empty(), "{a:#?}");
    let r = &a.ranked[0];
    assert_eq!(r.state, super::rank::State::Confirmed);
    assert!(r.why.contains("too late to be worth a stop"), "{}", r.why);
}

/// A `missed` feedback counts the applied patterns that did not match as misses, stores them in
/// their own column, and a later feedback on the same run undoes exactly them; a row written in
/// the old one-column form ("missed\n<JSON>", by a build from before) is undone the same way.
#[test]
fn missed_feedback_is_stored_apart_and_undone_in_both_forms() {
    let mut c = db();
    let argv = ["./suite.sh"];
    // A failed run in which no pattern was judged; `^BOOM` would have been applied.
    record(&mut c, 1, &outcome(&argv, 1, 1.0, Vec::new()));
    let fneg = |c: &Connection| -> i64 {
        c.query_row(
            "SELECT coalesce(sum(fneg), 0) FROM learn_patterns WHERE pattern = '^BOOM'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    let applied = [("^BOOM".to_string(), "mined".to_string())];
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, Some(1), Feedback::Missed, &applied).unwrap();
    tx.commit().unwrap();
    let scopes = fneg(&c);
    assert!(scopes > 0, "the miss is counted");
    let stored: (String, String) = c
        .query_row(
            "SELECT feedback, feedback_missed FROM learn_runs WHERE run_id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(stored, ("missed".into(), r#"[["^BOOM","mined"]]"#.into()));
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, Some(1), Feedback::Good, &[]).unwrap();
    tx.commit().unwrap();
    assert_eq!(fneg(&c), 0, "undone from the new column");

    // The old form, as a build from before the column wrote it.
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, Some(1), Feedback::Missed, &applied).unwrap();
    tx.commit().unwrap();
    c.execute(
        "UPDATE learn_runs SET feedback = 'missed' || char(10) || feedback_missed, \
         feedback_missed = NULL WHERE run_id = 1",
        [],
    )
    .unwrap();
    assert_eq!(fneg(&c), scopes);
    let tx = c.transaction().unwrap();
    feedback::apply_feedback(&tx, Some(1), Feedback::Good, &[]).unwrap();
    tx.commit().unwrap();
    assert_eq!(fneg(&c), 0, "undone from the old form");
}

#[test]
fn eviction_keeps_the_strongest_mined_and_the_newest_user_patterns() {
    let mut c = db();
    let argv = ["fail.sh"];
    record(&mut c, 1, &failed(&argv, "FAILED test_x"));
    let narrow: String = c
        .query_row(
            "SELECT scope FROM learn_patterns WHERE scope LIKE 'run:%' LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let count = |c: &Connection, scope: &str| -> usize {
        c.query_row(
            "SELECT count(*) FROM learn_patterns WHERE scope = ?1",
            [scope],
            |r| r.get::<_, i64>(0),
        )
        .unwrap() as usize
    };
    let wider: Vec<(String, usize)> = {
        let mut st = c
            .prepare("SELECT DISTINCT scope FROM learn_patterns WHERE scope != ?1")
            .unwrap();
        let scopes: Vec<String> = st
            .query_map([&narrow], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        scopes
            .into_iter()
            .map(|s| (s.clone(), count(&c, &s)))
            .collect()
    };
    // Over both caps in the narrow scope: 45 mined patterns of rising strength, 10 user ones of
    // rising age.
    for i in 0..45 {
        c.execute(
            "INSERT INTO learn_patterns (scope, pattern, source, tp, fp, last_seen) \
             VALUES (?1, ?2, 'mined', ?3, 0, 0)",
            rusqlite::params![narrow, format!("^weak_{i:02}"), 5 + i],
        )
        .unwrap();
    }
    for i in 0..10 {
        c.execute(
            "INSERT INTO learn_patterns (scope, pattern, source, last_seen) \
             VALUES (?1, ?2, 'user', ?3)",
            rusqlite::params![narrow, format!("^user_{i}"), i],
        )
        .unwrap();
    }
    // A run that creates new candidates evicts.
    record(&mut c, 2, &failed(&argv, "ERROR: something new"));
    let cap = aggregates::MAX_PATTERNS;
    let user_cap = aggregates::MAX_USER_PATTERNS;
    assert_eq!(count(&c, &narrow), cap - (10 - user_cap));
    let names = |source: &str| -> Vec<String> {
        let mut st = c
            .prepare(
                "SELECT pattern FROM learn_patterns WHERE scope = ?1 AND source = ?2 \
                 ORDER BY pattern",
            )
            .unwrap();
        let v = st
            .query_map([narrow.as_str(), source], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        v
    };
    // The oldest user patterns beyond their cap are gone, the others kept.
    let want: Vec<String> = (10 - user_cap..10).map(|i| format!("^user_{i}")).collect();
    assert_eq!(names("user"), want);
    // The weakest mined patterns are gone: what is left of them is the strongest.
    let weak: Vec<String> = names("mined")
        .into_iter()
        .filter(|p| p.starts_with("^weak_"))
        .collect();
    assert!(weak.len() < 45 && !weak.is_empty(), "{weak:?}");
    let first = 45 - weak.len();
    let strongest: Vec<String> = (first..45).map(|i| format!("^weak_{i:02}")).collect();
    assert_eq!(weak, strongest);
    // Scopes under their caps keep every pattern (and gain the new ones).
    for (s, n) in wider {
        assert!(count(&c, &s) >= n, "{s}");
    }
}

/// What the database says is applied or watched passes the full validation first: a confirmed
/// pattern that matches ordinary lines is refused, invalid watched ones are dropped, and at most
/// 16 watched patterns beyond the lexicon are kept (counted before validation).
#[test]
fn stored_patterns_are_validated_before_use() {
    let c = db();
    let argv = ["edited.sh"];
    let cx = ctx(&argv);
    let narrow = aggregates::scopes(&cx)[0].clone();
    let row = |pattern: &str, source: &str, tp: i64, tn: i64| {
        c.execute(
            "INSERT INTO learn_patterns (scope, pattern, source, tp) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![narrow, pattern, source, tp],
        )
        .unwrap();
        c.execute(
            "INSERT INTO learn_evidence (scope, pattern, tn, lead_n, lead_sum) \
             VALUES (?1, ?2, ?3, 1, 2.0)",
            rusqlite::params![narrow, pattern, tn],
        )
        .unwrap();
    };
    // Confirmed (caught failures, clean in passing runs): one valid, one matching every line.
    row("^FAILED hard", "mined", 3, 3);
    row(".", "user", 4, 4);
    // Watched in shadow (no clean passing run yet): two invalid ones ranked first, then 20 valid.
    row("x*", "mined", 9, 0);
    row("(", "mined", 9, 0);
    for i in 0..20 {
        row(&format!("^warn_{i:02} x"), "mined", 1, 0);
    }
    let a = advise(Some(&c), &cx);
    assert_eq!(a.applied_patterns(), ["^FAILED hard"], "{a:#?}");
    let dot = a.ranked.iter().find(|r| r.pattern == ".").unwrap();
    assert!(!dot.applied);
    assert!(
        dot.why
            .starts_with("refused: pattern . matches ordinary lines (like \" \")"),
        "{}",
        dot.why
    );
    let watched: Vec<&str> = a
        .observe
        .iter()
        .map(String::as_str)
        .filter(|p| !super::lexicon::LEXICON.contains(p))
        .collect();
    let want: Vec<String> = (0..14).map(|i| format!("^warn_{i:02} x")).collect();
    assert_eq!(watched, want);
}
