//! Black-box tests of `ee run` on real tools with the built-in profiles alone (fresh database):
//! a `cargo test` suite whose first test fails at once while the others take seconds, and a
//! pytest project whose first file fails while the later files are slow. The failing run must be
//! stopped within about a second of the failure showing; the passing variant is never stopped.
//! The fixtures live in `tests/fixtures/`; each test copies its fixture to a temporary directory.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    copy_dir(&src, &dir.path().join("proj"));
    dir
}

fn ee(dir: &Path) -> Command {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("ee"));
    c.env("EARLYEXIT_DB", dir.join("telemetry.db"))
        .env("EARLYEXIT_CONFIG_DIR", dir.join("config"))
        .env_remove("EARLYEXIT_NO_TELEMETRY")
        .env_remove("EARLYEXIT_OPTIONS")
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

fn secs(v: &serde_json::Value, k: &str) -> f64 {
    v["durations"][k]
        .as_f64()
        .unwrap_or_else(|| panic!("no {k} in {v}"))
}

/// Stopped on the failure: exit 1, within ~1 s of the failing line, well before the suite's end.
fn assert_stopped_on_failure(
    code: i32,
    v: &serde_json::Value,
    err: &str,
    suite_rest: f64,
    profile: &str,
) {
    assert_eq!(code, 1, "{err}");
    assert_eq!(v["exit_reason"], "error_match", "{v}");
    assert_eq!(v["stopped_early"], true);
    let after = secs(v, "total") - secs(v, "to_first_match");
    assert!(
        after < 1.5,
        "stopped {after:.2}s after the failure showed: {v}"
    );
    assert!(
        secs(v, "total") < secs(v, "to_first_match") + suite_rest - 1.0,
        "not before the rest of the suite: {v}"
    );
    assert_eq!(v["patterns"]["learned"], true);
    assert!(err.contains(&format!("profile {profile} pattern")), "{err}");
    assert_eq!(err.matches("ee: stopped").count(), 1, "{err}");
}

#[test]
fn cargo_test_stopped_at_first_failure_passing_run_untouched() {
    let dir = fixture("cargo-suite");
    let d = dir.path();
    let target = d.join("target");
    // Build once (no dependencies: a second or two), outside the timed runs.
    let st = Command::new("cargo")
        .args(["test", "--no-run", "--offline", "-q"])
        .env("CARGO_TARGET_DIR", &target)
        .current_dir(d.join("proj"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success(), "fixture crate does not build");
    let argv = ["cargo", "test", "--offline", "--", "--test-threads=1"];

    let mut c = ee(d);
    c.env("CARGO_TARGET_DIR", &target)
        .env("EE_FIXTURE_NAP", "3");
    let (code, v, err, _) = run_json(c, &argv);
    assert_stopped_on_failure(code, &v, &err, 6.0, "cargo-test");
    assert!(
        v["matched_line"]
            .as_str()
            .unwrap()
            .starts_with("test tests::a_first_fails_at_once ... FAILED"),
        "{v}"
    );

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

fn have_pytest() -> bool {
    Command::new("pytest")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn pytest_stopped_at_first_failing_file_passing_run_untouched() {
    if !have_pytest() {
        // Like the shell tests: a loud skip locally, a failure in CI (which installs it).
        assert!(
            std::env::var_os("CI").is_none(),
            "pytest is needed (CI installs python3-pytest)"
        );
        eprintln!(
            "SKIP: pytest is not installed (apt-get install python3-pytest, or pip install pytest)"
        );
        return;
    }
    let dir = fixture("pytest-suite");
    let d = dir.path();

    let mut c = ee(d);
    c.env("EE_FIXTURE_NAP", "3")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (code, v, err, _) = run_json(c, &["pytest"]);
    assert_stopped_on_failure(code, &v, &err, 6.0, "pytest");
    assert!(
        v["matched_line"]
            .as_str()
            .unwrap()
            .starts_with("test_a.py F"),
        "{v}"
    );

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
