//! Black-box tests of learning through `ee run`, `ee suggest`, `ee feedback` and `ee profile`:
//! the built binary against a temporary database (`EARLYEXIT_DB`) and config dir, with scripts
//! whose failures and runtimes are known. Timing bounds are generous (2 shared cores in CI).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;

/// An isolated environment (tests/common): HOME, config dir and database in one directory.
struct Env(common::Isolated);

impl Env {
    fn new() -> Env {
        let env = common::Isolated::new();
        std::fs::create_dir(env.config()).unwrap();
        Env(env)
    }

    fn path(&self) -> &Path {
        self.0.path()
    }

    fn db(&self) -> PathBuf {
        self.0.db()
    }

    fn script(&self, name: &str, body: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    fn ee(&self) -> Command {
        let mut c = self.0.ee();
        c.stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> (Output, Duration) {
        let t = Instant::now();
        let o = self.ee().args(args).output().unwrap();
        (o, t.elapsed())
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let (o, _) = self.run(args);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    }

    fn sql_f64s(&self, sql: &str) -> Vec<f64> {
        let c = rusqlite::Connection::open(self.db()).unwrap();
        let mut st = c.prepare(sql).unwrap();
        let v = st
            .query_map([], |r| r.get::<_, f64>(0))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        v
    }
}

/// The status a shell would show: the exit code, or 128+N for death by signal N (ee re-raises
/// SIGINT after an interrupted run so the shell abandons the rest of a command list).
fn code(o: &Output) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    o.status
        .code()
        .or(o.status.signal().map(|s| 128 + s))
        .unwrap_or(-1)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A suite that prints its failure at once, then keeps going for $NAP seconds, then fails
/// (passes with $PASS; writes the time it started, in ns, to $STAMP if set), run four times:
/// failed, passed, failed, passed: `^FAILED` caught 2 failures, clean in 2 passes — confirmed.
fn train_failing_suite(env: &Env) {
    env.script(
        "suite.sh",
        "if [ -n \"$STAMP\" ]; then date +%s%N > \"$STAMP\"; fi\necho collecting\n\
         if [ -n \"$PASS\" ]; then echo done; exit 0; fi\necho 'FAILED'\n\
         sleep \"${NAP:-1}\"\necho done\nexit 1\n",
    );
    for i in 0..4 {
        let mut c = env.ee();
        if i % 2 == 1 {
            c.env("PASS", "1");
        }
        let o = c.args(["run", "--", "./suite.sh"]).output().unwrap();
        assert_eq!(code(&o), if i % 2 == 1 { 0 } else { 1 }, "training run {i}");
        assert!(
            !stderr(&o).contains("stopped"),
            "run {i} stopped: {}",
            stderr(&o)
        );
    }
}

#[test]
fn fifth_run_is_stopped_once_the_learned_pattern_is_confirmed() {
    let env = Env::new();
    train_failing_suite(&env);
    let mut c = env.ee();
    c.env("NAP", "20").args(["run", "--", "./suite.sh"]);
    let t = Instant::now();
    let o = c.output().unwrap();
    let took = t.elapsed();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(took < Duration::from_secs(5), "not stopped early: {took:?}");
    let err = stderr(&o);
    assert!(err.contains("stopped suite.sh after"), "{err}");
    assert!(err.contains("pattern /^FAILED/ (pattern learned from failed runs; confirmed here: caught 2 failed runs, clean in 2 passing runs"), "{err}");
    assert!(
        err.contains("undo: ee feedback last --false-positive"),
        "{err}"
    );
    assert!(err.contains("--no-learn"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("ee:")).count(),
        1,
        "{err}"
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "collecting\nFAILED\n");

    // ee suggest names the pattern and a confidence.
    let (o, _) = env.run(&["suggest", "--", "./suite.sh"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("/^FAILED/  applied: confirmed here"), "{out}");
    assert!(out.contains("Based on 5 similar executions of"), "{out}");
    assert!(out.contains("Wilson"), "{out}");
    let v = env.json(&["suggest", "--json", "--", "./suite.sh"]);
    let top = &v["ranked"][0];
    assert_eq!(top["pattern"], "^FAILED");
    assert_eq!(top["tp"], 2);
    assert_eq!(top["tn"], 2);
    assert_eq!(top["uses"], 1);
    assert_eq!(top["applied"], true);

    // --no-learn runs it to the end; the run is recorded as not learned.
    let mut c = env.ee();
    c.env("NAP", "0.5")
        .args(["run", "--no-learn", "--", "./suite.sh"]);
    let o = c.output().unwrap();
    assert_eq!(code(&o), 1);
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("done\n"));
    let learned = env.sql_f64s("SELECT pattern_learned FROM executions ORDER BY id");
    assert_eq!(learned, [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    let saved = env.sql_f64s("SELECT time_saved_s FROM executions WHERE time_saved_s IS NOT NULL");
    assert_eq!(saved.len(), 1, "time saved recorded for the stopped run");
}

/// `ee run` starts the command while it looks up what was learned (issue 16): a lookup held up
/// by a locked database does not hold up the command's start, and the failure the command
/// prints at once, before the lookup is done, is still caught by the learned pattern.
#[test]
fn a_slow_lookup_neither_delays_the_command_nor_misses_its_first_lines() {
    let env = Env::new();
    train_failing_suite(&env);
    let now_ns = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    };
    // Nobody can read the database until this connection closes, 150 ms after ee starts (the
    // lookup waits up to 200 ms for it).
    let lock = rusqlite::Connection::open(env.db()).unwrap();
    lock.execute_batch("PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE")
        .unwrap();
    let stamp = env.path().join("started");
    let mut c = env.ee();
    c.env("NAP", "20")
        .env("STAMP", &stamp)
        .args(["run", "--", "./suite.sh"]);
    let t = Instant::now();
    let ee = std::thread::spawn(move || c.output().unwrap());
    std::thread::sleep(Duration::from_millis(150));
    drop(lock);
    let released = now_ns();
    let o = ee.join().unwrap();
    let took = t.elapsed();
    let err = stderr(&o);
    let started: u128 = std::fs::read_to_string(&stamp)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        started < released,
        "the command started only {} ms after the database was released",
        (started - released) / 1_000_000
    );
    assert_eq!(code(&o), 1, "{err}");
    assert!(took < Duration::from_secs(5), "not stopped early: {took:?}");
    assert!(err.contains("pattern /^FAILED/ (pattern learned"), "{err}");
    assert_eq!(String::from_utf8_lossy(&o.stdout), "collecting\nFAILED\n");
}

#[test]
fn timeout_learned_from_normal_runs_stops_a_hang_with_124() {
    let env = Env::new();
    env.script(
        "quick.sh",
        "if [ -e hang ]; then sleep 30; fi\nsleep 0.2\necho ok\n",
    );
    for _ in 0..10 {
        let (o, _) = env.run(&["run", "--", "./quick.sh"]);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    let times = env.sql_f64s("SELECT total_s FROM executions WHERE command_key = 'quick.sh'");
    assert_eq!(times.len(), 10);
    let n = times.len() as f64;
    let mean = times.iter().sum::<f64>() / n;
    let sd = (times.iter().map(|t| (t - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let v = env.json(&["suggest", "--json", "--", "./quick.sh"]);
    let t = v["timeout"]["seconds"].as_f64().unwrap();
    assert!(t >= mean + 2.0 * sd, "timeout {t} < mean {mean} + 2σ {sd}");
    assert!(t <= 6.0, "timeout {t} too long for a {mean}s command");
    assert_eq!(v["timeout"]["quiet"], 5.0);
    assert_eq!(v["timeout"]["applied"], true);
    assert_eq!(v["timeout"]["samples"], 10);
    let c = v["timeout"]["confidence"].as_f64().unwrap();
    assert!(c > 0.5 && c < 1.0, "{c}");

    std::fs::write(env.path().join("hang"), "").unwrap();
    let (o, took) = env.run(&["run", "--", "./quick.sh"]);
    assert_eq!(code(&o), 124, "{}", stderr(&o));
    assert!(took >= Duration::from_secs_f64(t * 0.9), "{took:?} vs {t}");
    assert!(took < Duration::from_secs(15), "{took:?} vs {t}");
    assert!(stderr(&o).contains("learned timeout"), "{}", stderr(&o));
    // A user timeout wins over the learned one.
    let (o, took) = env.run(&["run", "-t", "0.3", "--", "./quick.sh"]);
    assert_eq!(code(&o), 124);
    assert!(took < Duration::from_secs_f64(t), "{took:?}");
    // The timed-out runs are not normal-runtime samples.
    let v = env.json(&["suggest", "--json", "--", "./quick.sh"]);
    assert_eq!(v["timeout"]["samples"], 10);
}

#[test]
fn false_positive_pattern_ranked_below_true_one_and_not_applied() {
    let env = Env::new();
    // Every run warns with an error-like line; only failing runs print FATAL.
    env.script(
        "flaky.sh",
        "echo 'warning: deprecated error handler'\nif [ -e fail ]; then echo 'FATAL: disk gone'; sleep 1; exit 2; fi\necho fine\n",
    );
    let fail = env.path().join("fail");
    for i in 0..12 {
        if i % 2 == 0 {
            std::fs::write(&fail, "").unwrap();
        } else {
            let _ = std::fs::remove_file(&fail);
        }
        let (o, _) = env.run(&["run", "--", "./flaky.sh"]);
        let want = if i % 2 == 0 { 2 } else { 0 };
        // Once FATAL is learned, a failing run is stopped by ee (exit 1) instead.
        assert!(
            code(&o) == want || (want == 2 && code(&o) == 1),
            "run {i}: {}",
            code(&o)
        );
    }
    let v = env.json(&["suggest", "--json", "--", "./flaky.sh"]);
    let ranked = v["ranked"].as_array().unwrap();
    let pos = |p: &str| ranked.iter().position(|r| r["pattern"] == p);
    let good = ranked
        .iter()
        .position(|r| r["pattern"].as_str().unwrap().starts_with("^FATAL:"))
        .expect("FATAL learned");
    let bad = pos(r"^warning:\s+deprecated\s+error").expect("warning tracked");
    assert!(good < bad, "{ranked:#?}");
    assert_eq!(ranked[good]["applied"], true);
    assert_eq!(ranked[bad]["applied"], false);
    assert!(ranked[bad]["fp"].as_u64().unwrap() >= 5);
    let dry = env.run(&["run", "--dry-run", "--", "./flaky.sh"]).0;
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(out.contains("pattern: /^FATAL:"), "{out}");
    assert!(!out.contains("pattern: /^warning"), "{out}");
    // The passing variant is not stopped by anything learned.
    let _ = std::fs::remove_file(&fail);
    let (o, _) = env.run(&["run", "--", "./flaky.sh"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).ends_with("fine\n"));
}

#[test]
fn observation_records_error_like_lines_with_the_exit_status() {
    let env = Env::new();
    env.script(
        "noisy.sh",
        "echo 'all good'\necho 'Traceback (most recent call last):'\necho 'npm ERR! code 1'\nexit 3\n",
    );
    let (o, _) = env.run(&["run", "--", "./noisy.sh"]);
    assert_eq!(code(&o), 3);
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let lines: Vec<String> = c
        .prepare("SELECT line FROM match_events WHERE kind = 'observed' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        lines,
        ["Traceback (most recent call last):", "npm ERR! code 1"]
    );
    let exit: i64 = c
        .query_row("SELECT child_exit FROM executions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(exit, 3);
}

#[test]
fn dry_run_prints_and_does_not_run() {
    let env = Env::new();
    env.script("touch.sh", "touch ran\n");
    let (o, _) = env.run(&["run", "--dry-run", "--", "./touch.sh", "a b"]);
    assert_eq!(code(&o), 0);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.starts_with("would run: ./touch.sh 'a b'\n"), "{out}");
    assert!(out.contains("patterns: none applied"), "{out}");
    assert!(out.contains("quiet gap after a match: 0.3s"), "{out}");
    assert!(!env.path().join("ran").exists());
    // A profile is only watched (shadow) from a cold start.
    let (o, _) = env.run(&["run", "--dry-run", "--", "cargo", "test"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("patterns: none applied (none confirmed for this project and command)"),
        "{out}"
    );
    let (o, _) = env.run(&["run", "--dry-run", "--no-learn", "--", "cargo", "test"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("patterns: none (--no-learn)"));
}

#[test]
fn interrupt_exits_130_and_is_recorded() {
    let env = Env::new();
    env.script("slow.sh", "echo started\nsleep 30\n");
    let child = env
        .ee()
        .args(["run", "--", "./slow.sh"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let t = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(t.elapsed() < Duration::from_secs(8));
    assert_eq!(code(&o), 130, "{}", stderr(&o));
    let c = rusqlite::Connection::open(env.db()).unwrap();
    let (reason, exit): (String, i64) = c
        .query_row("SELECT reason, exit_code FROM executions", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!((reason.as_str(), exit), ("interrupted", 130));
    // An interrupted run is neither a runtime sample nor a failure.
    let v = env.json(&["suggest", "--json", "--", "./slow.sh"]);
    assert_eq!(v["judged"], 0);
}

#[test]
fn feedback_changes_the_aggregates() {
    let env = Env::new();
    env.script(
        "suite.sh",
        "if [ -n \"$PASS\" ]; then exit 0; fi\necho 'FAILED'\nsleep 5\nexit 1\n",
    );
    // F P F P: confirmed; the 5th run is stopped by it.
    for i in 0..5 {
        let mut c = env.ee();
        if i % 2 == 1 {
            c.env("PASS", "1");
        }
        c.args(["run", "--", "./suite.sh"]).output().unwrap();
    }
    let score = |env: &Env| {
        let v = env.json(&["suggest", "--json", "--", "./suite.sh"]);
        let r = v["ranked"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["pattern"] == "^FAILED")
            .cloned()
            .unwrap();
        (
            r["tp"].as_u64().unwrap(),
            r["fp"].as_u64().unwrap(),
            r["applied"] == true,
        )
    };
    assert_eq!(score(&env), (2, 0, true));
    let (o, _) = env.run(&["feedback", "last", "--false-positive"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("run 5: false-positive recorded"));
    assert_eq!(score(&env), (2, 1, false));
    // A new verdict on the same run replaces the earlier one.
    let (o, _) = env.run(&["feedback", "5", "--good"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(score(&env), (3, 0, true));
    let (o, _) = env.run(&["feedback", "999", "--good"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).starts_with("ee: no learning record for run 999"),
        "{}",
        stderr(&o)
    );
    let (o, _) = env.run(&["feedback", "abc", "--good"]);
    assert_eq!(code(&o), 3);
    let (o, _) = env.run(&["feedback", "last"]);
    assert_eq!(code(&o), 3);
}

#[test]
fn profiles_builtin_and_user() {
    let env = Env::new();
    let (o, _) = env.run(&["profile", "list"]);
    let out = String::from_utf8_lossy(&o.stdout);
    for name in [
        "pytest",
        "cargo-test",
        "go-test",
        "jest",
        "make",
        "cmake",
        "maven",
        "gradle",
        "terraform",
        "docker-build",
        "kubectl-rollout",
        "helm",
    ] {
        assert!(out.lines().any(|l| l.starts_with(name)), "{name}: {out}");
    }
    let dir = env.path().join("config/profiles");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("deploy.json"),
        r#"{"name": "deploy", "commands": ["deploy.sh"], "patterns": ["^ROLLBACK"]}"#,
    )
    .unwrap();
    std::fs::write(
        dir.join("broken.json"),
        r#"{"name": "x", "patterns": ["("]}"#,
    )
    .unwrap();
    let (o, _) = env.run(&["profile", "show", "deploy"]);
    assert_eq!(code(&o), 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["patterns"][0], "^ROLLBACK");
    assert!(stderr(&o).contains("broken.json"), "{}", stderr(&o));
    let (o, _) = env.run(&["profile", "show", "nope"]);
    assert_eq!(code(&o), 3);
    // The user profile is watched in shadow from a cold start: the run is not stopped.
    env.script(
        "deploy.sh",
        "echo step1\necho 'ROLLBACK started'\nsleep 0.3\n",
    );
    let (o, _) = env.run(&["run", "--", "./deploy.sh"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("stopped"), "{}", stderr(&o));
    let v = env.json(&["suggest", "--json", "--", "./deploy.sh"]);
    assert_eq!(v["profile"], "deploy");
}

#[test]
fn broken_database_never_changes_the_run() {
    let env = Env::new();
    std::fs::write(env.db(), b"this is not a database at all, just text").unwrap();
    env.script("ok.sh", "echo hello\nexit 7\n");
    let (o, _) = env.run(&["run", "--", "./ok.sh"]);
    assert_eq!(code(&o), 7);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hello\n");
    let (o, _) = env.run(&["suggest", "--", "./ok.sh"]);
    assert_eq!(code(&o), 0);
}

#[test]
fn learned_quiet_gap_keeps_a_slow_context_burst() {
    let env = Env::new();
    // The failure's context arrives in pieces 0.4 s apart (longer than the default 0.3 s gap).
    env.script(
        "trace.sh",
        "echo start\nif [ -n \"$PASS\" ]; then exit 0; fi\necho 'FAILED test_x'\nsleep 0.4\n\
         echo 'Error: detail one'\nsleep 0.4\necho 'Error: detail two'\nsleep \"${NAP:-0.1}\"\n\
         exit 1\n",
    );
    // Three failures (three bursts), then two passes confirm the pattern.
    for i in 0..5 {
        let mut c = env.ee();
        if i >= 3 {
            c.env("PASS", "1");
        }
        let o = c.args(["run", "--", "./trace.sh"]).output().unwrap();
        assert_eq!(
            code(&o),
            if i >= 3 { 0 } else { 1 },
            "training run {i}: {}",
            stderr(&o)
        );
    }
    let v = env.json(&["suggest", "--json", "--", "./trace.sh"]);
    let q = v["quiet"]["seconds"].as_f64().unwrap();
    assert_eq!(v["quiet"]["learned"], true, "{v}");
    assert!((0.45..1.5).contains(&q), "learned quiet gap {q}");

    // Default gap (no learning): the burst is cut after the failing line.
    let mut c = env.ee();
    c.env("NAP", "20")
        .args(["run", "--no-learn", "-e", "FAILED", "--", "./trace.sh"]);
    let o = c.output().unwrap();
    assert_eq!(code(&o), 1);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "start\nFAILED test_x\n");

    // Learned gap: the whole burst is kept, and the run is still stopped long before its end.
    let mut c = env.ee();
    c.env("NAP", "20").args(["run", "--", "./trace.sh"]);
    let t = Instant::now();
    let o = c.output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(t.elapsed() < Duration::from_secs(8), "{:?}", t.elapsed());
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "start\nFAILED test_x\nError: detail one\nError: detail two\n"
    );
}
