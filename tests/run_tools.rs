//! Black-box tests of `ee run` on real tools with the built-in profiles alone (fresh database):
//! a `cargo test` suite whose first test fails at once while the others take a while, and a
//! pytest project whose first file fails while the later files are slow. From a cold start the
//! profile's patterns only watch (shadow): the failing run ends by itself with the tool's own
//! status and its match is recorded as evidence; the passing variant is untouched. (When a
//! confirmed pattern stops a run: `tests/trust.rs`.) The fixtures live in `tests/fixtures/`;
//! each test copies its fixture to a temporary directory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{fixture, require};

fn ee(dir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ee"));
    common::record_in(&mut c, dir)
        .current_dir(dir.join("proj"))
        .stdin(Stdio::null());
    c
}

/// Run `ee run --json -- argv`; returns (exit status, JSON report, stderr, wall time).
fn run_json(mut c: Command, argv: &[&str]) -> (i32, serde_json::Value, String, Duration) {
    c.args(["run", "--json", "--"]).args(argv);
    let t = Instant::now();
    let o = c.output().unwrap();
    let took = t.elapsed();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let v: serde_json::Value =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("no JSON report ({e}): {err}"));
    (o.status.code().unwrap_or(-1), v, err, took)
}

/// Not stopped from a cold start: the child's own status, the run to its end, the profile's
/// match recorded as an observation (shadow), and nothing said by ee.
fn assert_shadow_only(code: i32, want: i32, v: &serde_json::Value, err: &str) {
    assert_eq!(code, want, "{err}");
    assert_eq!(v["stopped_early"], false, "{v}");
    assert_eq!(v["child_exit_status"], want, "{v}");
    assert!(!err.contains("ee: stopped"), "{err}");
    assert!(!err.contains("ee:"), "{err}");
    assert_eq!(v["patterns"]["learned"], false, "{v}");
}

#[test]
fn cargo_test_cold_start_failing_run_ends_by_itself_passing_run_untouched() {
    let dir = fixture("cargo-suite");
    let d = dir.path();
    let target = common::build_cargo_fixture(d);
    let argv = ["cargo", "test", "--offline", "--", "--test-threads=1"];

    let mut c = ee(d);
    c.env("CARGO_TARGET_DIR", &target)
        .env("EE_FIXTURE_NAP", "0.3");
    let (code, v, err, _) = run_json(c, &argv);
    assert_shadow_only(code, 101, &v, &err);
    assert!(err.contains("panicked"), "{err}");

    let mut c = ee(d);
    c.env("CARGO_TARGET_DIR", &target)
        .env("EE_FIXTURE_NAP", "0.7")
        .env("EE_FIXTURE_PASS", "1");
    let (code, v, err, _) = run_json(c, &argv);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["stopped_early"], false, "{v}");
    assert!(!err.contains("ee: stopped"), "{err}");
    assert!(err.contains("test result: ok"), "{err}");
}

#[test]
fn pytest_cold_start_failing_run_ends_by_itself_passing_run_untouched() {
    // Like the shell tests: a loud skip locally, a failure in CI (which installs python3-pytest).
    if !require("pytest") {
        return;
    }
    let dir = fixture("pytest-suite");
    let d = dir.path();

    let mut c = ee(d);
    c.env("EE_FIXTURE_NAP", "0.3")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (code, v, err, _) = run_json(c, &["pytest"]);
    assert_shadow_only(code, 1, &v, &err);
    assert!(err.contains("broken on purpose"), "{err}");

    let mut c = ee(d);
    c.env("EE_FIXTURE_NAP", "0.7")
        .env("EE_FIXTURE_PASS", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (code, v, err, _) = run_json(c, &["pytest"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["stopped_early"], false, "{v}");
    assert!(!err.contains("ee: stopped"), "{err}");
    assert!(err.contains("4 passed"), "{err}");
}
