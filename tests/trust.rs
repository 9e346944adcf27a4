//! Black-box tests of issue 10, "learning you can trust", on real tools (the built `ee`, real
//! `cargo test`, `pytest` and `make` runs, fixtures in `tests/fixtures/`, a temporary database):
//! a passing run stays passing (same exit status, never stopped) through 15 interleaved runs
//! whose output is full of error-looking lines; a new failing suite is stopped within six runs,
//! in under half its bare time, with the failing test's message on screen; a silent hang of a
//! ~1 s command is stopped within 15 s while a slow run that keeps printing is not; a learned
//! timeout never crosses projects or command identities.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::require;

/// A temporary directory holding the fixture as `proj/` (its own project root: a `.git`).
fn fixture(name: &str) -> tempfile::TempDir {
    let dir = common::fixture(name);
    std::fs::create_dir_all(dir.path().join("proj/.git")).unwrap();
    std::fs::create_dir_all(dir.path().join("config")).unwrap();
    dir
}

fn ee(dir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ee"));
    common::record_in(&mut c, dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("EARLYEXIT_DISABLE")
        .current_dir(dir.join("proj"))
        .stdin(Stdio::null());
    c
}

struct Run {
    code: i32,
    out: String,
    err: String,
    took: Duration,
}

impl Run {
    fn stopped(&self) -> bool {
        self.err.contains("ee: stopped")
    }
}

fn run(mut c: Command, argv: &[&str]) -> Run {
    c.args(["run", "--"]).args(argv);
    let t = Instant::now();
    let o: Output = c.output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&o.stdout).into_owned(),
        err: String::from_utf8_lossy(&o.stderr).into_owned(),
        took: t.elapsed(),
    }
}

/// `ee run ARGS…` with stdout and stderr into one file, as on a terminal.
fn run_merged(mut c: Command, args: &[&str], file: &Path) -> Run {
    let f = std::fs::File::create(file).unwrap();
    c.arg("run")
        .args(args)
        .stdout(f.try_clone().unwrap())
        .stderr(f);
    let t = Instant::now();
    let st = c.status().unwrap();
    let took = t.elapsed();
    let all = std::fs::read_to_string(file).unwrap();
    Run {
        code: st.code().unwrap_or(-1),
        out: all.clone(),
        err: all,
        took,
    }
}

/// Passing (P) and failing (F) runs, interleaved the way a developer goes red and green.
const SEQUENCE: &str = "FPFPFFPFFPFPFFP";

/// What every stop must show: the notice on its own line naming source and undo, and the
/// failing test's own message.
fn assert_good_stop(r: &Run, message: &str, bare_fail: Duration) {
    assert_eq!(r.code, 1, "{}", r.err);
    let notice = r
        .err
        .lines()
        .find(|l| l.contains("ee: stopped"))
        .unwrap_or_else(|| panic!("no notice: {}", r.err));
    assert!(
        notice.starts_with("ee: stopped"),
        "not on its own line: {notice}"
    );
    assert!(
        notice.contains("built-in profile") || notice.contains("learned from failed runs"),
        "{notice}"
    );
    assert!(notice.contains("confirmed here"), "{notice}");
    assert!(
        notice.contains("undo: ee feedback last --false-positive"),
        "{notice}"
    );
    assert!(
        notice.contains("re-running just the failing test")
            || notice.contains("interrupted like Ctrl-C"),
        "{notice}"
    );
    assert!(
        r.out.contains(message) || r.err.contains(message),
        "the failure's message is not shown: {}\n{}",
        r.out,
        r.err
    );
    assert!(
        r.took * 2 < bare_fail,
        "not under half the bare time: {:?} vs {bare_fail:?}",
        r.took
    );
}

#[test]
fn cargo_test_15_interleaved_runs_passing_stays_passing_failing_stopped_with_its_panic() {
    let dir = fixture("cargo-suite");
    let d = dir.path();
    let target = common::build_cargo_fixture(d);
    let argv = ["cargo", "test", "--offline", "--", "--test-threads=1"];
    let mut first_stop = None;
    let mut bare_fail = None;
    for (i, kind) in SEQUENCE.chars().enumerate() {
        let mut c = ee(d);
        // Every run has a passing test whose child prints `error: file not found` to stderr.
        c.env("CARGO_TARGET_DIR", &target)
            .env("EE_FIXTURE_NOISE", "1");
        if kind == 'P' {
            c.env("EE_FIXTURE_PASS", "1").env("EE_FIXTURE_NAP", "0.1");
        } else {
            c.env("EE_FIXTURE_NAP", "4");
        }
        let r = run(c, &argv);
        if kind == 'P' {
            assert_eq!(r.code, 0, "passing run {}: {}", i + 1, r.err);
            assert!(!r.stopped(), "passing run {} stopped: {}", i + 1, r.err);
            assert!(!r.err.contains("ee:"), "run {}: {}", i + 1, r.err);
            continue;
        }
        if r.stopped() {
            first_stop.get_or_insert(i + 1);
            assert_good_stop(&r, "broken on purpose", bare_fail.unwrap());
        } else {
            assert_eq!(r.code, 101, "failing run {}: {}", i + 1, r.err);
            bare_fail.get_or_insert(r.took);
        }
    }
    let first = first_stop.expect("never stopped");
    assert!(first <= 6, "first stop at run {first}");
}

#[test]
fn pytest_noisy_passing_runs_keep_their_status_through_15_interleaved_runs() {
    if !require("pytest") {
        return;
    }
    let dir = fixture("pytest-noisy");
    let d = dir.path();
    // -s: a test prints onto the progress line, another logs `ERROR cache unreachable` raw.
    // -v -rA: a parametrised id holds ` ERROR`, the captured stderr is shown.
    for (argv, seq) in [
        (&["pytest", "-s", "-rA"][..], SEQUENCE),
        (&["pytest", "-v", "-rA"][..], "FPFPFP"),
    ] {
        for (i, kind) in seq.chars().enumerate() {
            let mut c = ee(d);
            if kind == 'F' {
                c.env("EE_FIXTURE_FAIL", "1");
            }
            let r = run(c, argv);
            if kind == 'P' {
                assert_eq!(r.code, 0, "{argv:?} passing run {}: {}", i + 1, r.err);
                assert!(!r.stopped(), "{argv:?} passing run {}: {}", i + 1, r.err);
                assert!(r.out.contains("passed"), "{}", r.out);
            } else {
                assert_eq!(r.code, 1, "{argv:?} failing run {}: {}", i + 1, r.err);
                assert!(
                    r.out.contains("login rejected") || r.err.contains("login rejected"),
                    "{argv:?} run {}: the failure is not shown: {}",
                    i + 1,
                    r.out
                );
            }
        }
    }
    // The traps are withdrawn, with their evidence, and suggest says so.
    let o = ee(d)
        .args(["suggest", "--json", "--", "pytest", "-s", "-rA"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ranked = v["ranked"].as_array().unwrap();
    for p in [r"^\S+\.py [.sxX]*[FE]", r"^(FAILED|ERROR) \S+"] {
        let r = ranked.iter().find(|r| r["pattern"] == p).unwrap();
        assert_eq!(r["state"], "withdrawn", "{r}");
        assert_eq!(r["applied"], false);
    }
}

#[test]
fn pytest_new_failing_suite_stopped_within_six_runs_with_the_assertion_shown() {
    if !require("pytest") {
        return;
    }
    let dir = fixture("pytest-suite");
    let d = dir.path();
    let mut bare_fail = None;
    let mut first_stop = None;
    for (i, kind) in "FPFPFF".chars().enumerate() {
        let mut c = ee(d);
        if kind == 'P' {
            c.env("EE_FIXTURE_PASS", "1").env("EE_FIXTURE_NAP", "0.1");
        } else {
            c.env("EE_FIXTURE_NAP", "4.5");
        }
        // The last run with both streams in one file, as on a terminal: interrupted like
        // Ctrl-C, pytest prints its failure summary, then comes ee's notice.
        let r = if i == 5 {
            run_merged(c, &["--", "pytest"], &d.join("merged.txt"))
        } else {
            run(c, &["pytest"])
        };
        if i == 5 {
            let failures = r
                .out
                .find("= FAILURES =")
                .expect("pytest's failure summary");
            let notice = r.out.find("\nee: stopped pytest").expect("the notice");
            assert!(failures < notice, "{}", r.out);
        }
        if kind == 'P' {
            assert_eq!(r.code, 0, "{}", r.err);
            assert!(!r.stopped(), "{}", r.err);
        } else if r.stopped() {
            first_stop.get_or_insert(i + 1);
            assert_good_stop(&r, "broken on purpose", bare_fail.unwrap());
        } else {
            assert_eq!(r.code, 1);
            bare_fail.get_or_insert(r.took);
        }
    }
    assert_eq!(first_stop, Some(5), "stopped from the fifth run on");
    // The applied stop can be undone in one command: the pattern is withdrawn at once.
    let progress = r"^\S+\.py [.sxX]*[FE]";
    let state = || {
        let o = ee(d)
            .args(["suggest", "--json", "--", "pytest"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let r = v["ranked"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["pattern"] == progress)
            .cloned()
            .unwrap();
        (
            r["state"].as_str().unwrap().to_string(),
            r["applied"] == true,
        )
    };
    assert_eq!(state(), ("confirmed".to_string(), true));
    let o = ee(d)
        .args(["feedback", "last", "--false-positive"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(state(), ("withdrawn".to_string(), false));
}

fn script(dir: &Path, name: &str, body: &str) {
    let p = dir.join("proj").join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn suggest_timeout(dir: &Path, argv: &[&str]) -> serde_json::Value {
    let o = ee(dir)
        .args(["suggest", "--json", "--"])
        .args(argv)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    v["timeout"].clone()
}

#[test]
fn silent_hang_stopped_within_15s_progress_never_killed_timeouts_stay_in_their_scope() {
    let dir = fixture("pytest-suite");
    let d = dir.path();
    // About 1 s normally; HANG: silent forever; SLOW: 8 s, printing all along.
    script(
        d,
        "job.sh",
        "echo start\nif [ -n \"$HANG\" ]; then sleep 60; fi\n\
         if [ -n \"$SLOW\" ]; then for i in $(seq 16); do echo tick $i; sleep 0.5; done; fi\n\
         sleep 1\necho done\n",
    );
    for _ in 0..5 {
        let r = run(ee(d), &["./job.sh"]);
        assert_eq!(r.code, 0, "{}", r.err);
    }
    let t = suggest_timeout(d, &["./job.sh"]);
    assert_eq!(t["applied"], true, "{t}");
    assert!(t["why"].as_str().unwrap().contains("+ 5s"), "{t}");

    // Slower than any normal run, but making progress: never stopped.
    let mut c = ee(d);
    c.env("SLOW", "1");
    let r = run(c, &["./job.sh"]);
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(!r.stopped(), "{}", r.err);

    // A silent hang: stopped with 124 within 15 s, saying which term decided.
    let mut c = ee(d);
    c.env("HANG", "1");
    let r = run(c, &["./job.sh"]);
    assert_eq!(r.code, 124, "{}", r.err);
    assert!(r.took < Duration::from_secs(15), "{:?}", r.took);
    assert!(r.err.contains("learned timeout"), "{}", r.err);
    assert!(
        r.err.contains("+ 5s) passed and no output for"),
        "{}",
        r.err
    );
    let before = t["seconds"].as_f64().unwrap();
    // The user says it was wrong: the margin doubles, in one command.
    let o = ee(d)
        .args(["feedback", "last", "--false-positive"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("doubled"));
    let after = suggest_timeout(d, &["./job.sh"])["seconds"]
        .as_f64()
        .unwrap();
    assert!(after >= 2.0 * before - 0.1, "{before} -> {after}");

    // Never across identities, projects, or for a bare interpreter.
    assert!(suggest_timeout(d, &["./job.sh", "other"]).is_null());
    let other = fixture("pytest-suite");
    script(other.path(), "job.sh", "sleep 1\n");
    std::fs::copy(common::db_in(d), common::db_in(other.path())).unwrap();
    assert!(suggest_timeout(other.path(), &["./job.sh"]).is_null());
    for _ in 0..5 {
        let r = run(ee(d), &["python3"]);
        assert_eq!(r.code, 0, "{}", r.err);
    }
    assert!(suggest_timeout(d, &["python3"]).is_null());
}

#[test]
fn make_with_an_ignored_sub_make_failure_is_never_stopped() {
    let dir = fixture("pytest-suite");
    let d = dir.path().join("proj");
    std::fs::create_dir_all(d.join("optional")).unwrap();
    std::fs::write(
        d.join("Makefile"),
        "all:\n\t-$(MAKE) -C optional\n\t@sleep 0.2\n\t@echo built\n",
    )
    .unwrap();
    std::fs::write(d.join("optional/Makefile"), "all:\n\tfalse\n").unwrap();
    for _ in 0..4 {
        let r = run(ee(dir.path()), &["make"]);
        assert_eq!(r.code, 0, "{}", r.err);
        assert!(!r.stopped(), "{}", r.err);
        assert!(r.out.contains("built"), "{}", r.out);
    }
}

#[test]
fn profiles_see_through_env_wrappers() {
    let dir = fixture("pytest-suite");
    let o = ee(dir.path())
        .args([
            "suggest",
            "--json",
            "--",
            "env",
            "RUST_LOG=1",
            "cargo",
            "test",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["key"], "cargo test");
    assert_eq!(v["profile"], "cargo-test");
}

#[test]
fn stop_notice_starts_on_its_own_line_after_a_partial_line() {
    let dir = fixture("pytest-suite");
    let d = dir.path();
    script(
        d,
        "partial.sh",
        "echo FAILED\nprintf 'test_b_slow.py '\nsleep 10\n",
    );
    let r = run_merged(
        ee(d),
        &["-e", "FAILED", "--", "./partial.sh"],
        &d.join("m.txt"),
    );
    assert_eq!(r.code, 1, "{}", r.out);
    assert!(r.out.contains("test_b_slow.py \nee: stopped"), "{}", r.out);
    assert!(r.took < Duration::from_secs(8));
}
