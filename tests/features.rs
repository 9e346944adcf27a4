//! Black-box tests of the features users of the Python earlyexit rely on: extra descriptors,
//! allow/blocklists, stderr idle, state transitions, detaching, logs, compressed input,
//! --test-pattern.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;
use common::pty::{self, Pty};

use common::ee;

fn out(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn extra_descriptor_is_watched_and_labelled() {
    let script = "echo out; echo err >&2; sleep 0.1; echo 'BOOM on three' >&3; sleep 30";
    let t = Instant::now();
    let (code, stdout, stderr) = out(ee().args([
        "--fd",
        "3",
        "--fd-prefix",
        "-A",
        "0",
        "BOOM",
        "--",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 0);
    assert!(t.elapsed() < Duration::from_secs(10));
    assert_eq!(stdout, "[stdout] out\n");
    assert!(stderr.contains("[stderr] err\n"), "{stderr}");
    assert!(stderr.contains("[fd3] BOOM on three\n"), "{stderr}");
    // Without --fd the child cannot write to 3 at all.
    let (code, _, _) = out(ee().args(["-A", "0", "BOOM", "--", "sh", "-c", "echo BOOM >&3"]));
    assert_eq!(code, 1);
}

#[test]
fn fd_pattern_applies_to_its_descriptor_only() {
    let script = "echo BAD on stdout; sleep 0.1; echo 'BAD on four' >&4; sleep 30";
    let (code, stdout, stderr) = out(ee().args([
        "--json",
        "--fd",
        "4",
        "--fd-pattern",
        "4",
        "BAD",
        "-A",
        "0",
        "NEVER",
        "--",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["stream"], "fd4");
    assert_eq!(v["matched_line"], "BAD on four");
    let (code, _, err) = out(ee().args(["--fd-pattern", "5", "x", "y", "--", "true"]));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn allowlist_and_blocklist() {
    let (code, stdout, _) = out(ee()
        .args(["--expect", "^ok", "--expect-only", "NEVER"])
        .write_stdin("ok 1\n\nok 2\nweird\nok 3\n"));
    assert_eq!(code, 5);
    assert_eq!(stdout, "ok 1\n\nok 2\nweird\n");
    let (code, _, _) = out(ee()
        .args(["--expect", "^ok", "--expect-only", "NEVER"])
        .write_stdin("ok 1\nok 2\n"));
    assert_eq!(code, 1);
    let (code, _, _) = out(ee()
        .args(["--expect", "a", "--expect", "c", "--expect-all", "NEVER"])
        .write_stdin("a\nb\n"));
    assert_eq!(code, 6);
    let (code, _, _) = out(ee()
        .args(["--expect", "a", "--expect", "b", "--expect-all", "NEVER"])
        .write_stdin("a\nb\n"));
    assert_eq!(code, 1);
    let input = "a\nDEPRECATED x\nb\n";
    let (code, stdout, stderr) = out(ee()
        .args(["--unexpected", "DEPRECATED", "NEVER"])
        .write_stdin(input));
    assert_eq!((code, stdout.as_str()), (5, "a\nDEPRECATED x\n"));
    assert!(stderr.is_empty());
    let (code, stdout, stderr) = out(ee()
        .args([
            "--unexpected",
            "DEPRECATED",
            "--on-unexpected",
            "warn",
            "NEVER",
        ])
        .write_stdin(input));
    assert_eq!((code, stdout.as_str()), (1, input));
    assert_eq!(stderr, "ee: unexpected line 2 on stdin: DEPRECATED x\n");
    let (code, stdout, _) = out(ee()
        .args([
            "--unexpected",
            "DEPRECATED",
            "--on-unexpected",
            "error",
            "NEVER",
        ])
        .write_stdin(input));
    assert_eq!((code, stdout.as_str()), (5, input));
}

#[test]
fn stderr_idle_exit() {
    let t = Instant::now();
    let (code, stdout, _) = out(ee().args([
        "--json",
        "--stderr-idle-exit",
        "0.3",
        "--",
        "sh",
        "-c",
        "echo out; sleep 0.6; echo 'error: x' >&2; echo more >&2; sleep 30",
    ]));
    let el = t.elapsed();
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["exit_reason"], "stderr_idle");
    // Not before stderr spoke (0.6 s) plus the idle time (0.3 s).
    assert!(
        el >= Duration::from_millis(850) && el < Duration::from_secs(10),
        "{el:?}"
    );
}

#[test]
fn transition_states_going_backwards_is_stuck() {
    let (code, stdout, _) = out(ee()
        .args(["--transition-states", "init>build>deploy", "NEVER"])
        .write_stdin("init\nbuild\ndeploy\nbuild\nafter\n"));
    assert_eq!(code, 2);
    assert_eq!(stdout, "init\nbuild\ndeploy\nbuild\n");
    let (code, _, _) = out(ee()
        .args(["--transition-states", "init>build>deploy", "NEVER"])
        .write_stdin("init\nbuild\nbuild\ndeploy\n"));
    assert_eq!(code, 1);
    let (code, _, err) = out(ee()
        .args(["--transition-states", "init", "x"])
        .write_stdin(""));
    assert_eq!(code, 3, "{err}");
}

fn wait_for(path: &std::path::Path, secs: u64) -> bool {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if path.exists() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[test]
fn detach_leaves_child_running_with_output_drained() {
    let dir = tempfile::tempdir().unwrap();
    let done = dir.path().join("done");
    let pidfile = dir.path().join("pid");
    let prefix = dir.path().join("run");
    let script = format!(
        "echo READY; for i in $(seq 40); do echo tick $i; sleep 0.02; done; echo finished > '{}'",
        done.display()
    );
    let t = Instant::now();
    let (code, stdout, stderr) = out(ee().args([
        "-D",
        "--pid-file",
        pidfile.to_str().unwrap(),
        "--file-prefix",
        prefix.to_str().unwrap(),
        "READY",
        "--",
        "sh",
        "-c",
        &script,
    ]));
    assert_eq!(code, 4, "{stderr}");
    assert!(
        t.elapsed() < Duration::from_millis(700),
        "detach returns at once: {:?}",
        t.elapsed()
    );
    assert!(stdout.starts_with("READY\n"));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        stderr.contains(&format!("detached: pid {pid}, process group {pid}")),
        "{stderr}"
    );
    assert_ne!(
        pid,
        nix::unistd::getpgrp().as_raw(),
        "never the caller's group"
    );
    // The child goes on writing (no SIGPIPE) and finishes its work; the log gets everything.
    assert!(wait_for(&done, 10), "detached child did not finish");
    std::thread::sleep(Duration::from_millis(200));
    let log = std::fs::read_to_string(dir.path().join("run.log")).unwrap();
    assert!(
        log.starts_with("READY\ntick 1\n") && log.ends_with("tick 40\n"),
        "{log}"
    );
}

#[test]
fn detach_on_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let done = dir.path().join("done");
    let script = format!("sleep 0.8; echo finished > '{}'", done.display());
    let (code, _, _) = out(ee().args([
        "-q",
        "-t",
        "0.2",
        "--detach-on-timeout",
        "--",
        "sh",
        "-c",
        &script,
    ]));
    assert_eq!(code, 4);
    assert!(wait_for(&done, 10));
    // The wrapper face says 4 too, in its exit status and its report.
    let (code, stdout, _) = out(ee().args([
        "run",
        "-q",
        "--json",
        "-D",
        "--pattern",
        "READY",
        "--",
        "sh",
        "-c",
        "echo READY; sleep 1",
    ]));
    assert_eq!(code, 4);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        (v["exit_code"].as_i64(), v["detached"].as_bool()),
        (Some(4), Some(true))
    );
}

#[test]
fn logs_hold_complete_output_and_append_and_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    // Output after the stop decision (the trace during -A, and what the child prints on TERM) is
    // still logged.
    let script = "trap 'echo cleanup-on-term; exit 1' TERM; echo one; echo 'FAIL x'; echo trace; echo err >&2; sleep 30 & wait";
    let (code, stdout, stderr) = out(ee().args([
        "--log-dir",
        d,
        "--file-prefix",
        "t",
        "-A",
        "0.3",
        "FAIL",
        "--",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "one\nFAIL x\ntrace\n");
    assert!(
        stderr.contains(&format!("logging to {d}/t.log, {d}/t.err.log")),
        "{stderr}"
    );
    let log = std::fs::read_to_string(dir.path().join("t.log")).unwrap();
    assert_eq!(log, "one\nFAIL x\ntrace\ncleanup-on-term\n");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("t.err.log")).unwrap(),
        "err\n"
    );
    // Append.
    let (code, _, _) = out(ee().args([
        "-q",
        "--log-dir",
        d,
        "--file-prefix",
        "t",
        "-a",
        "--",
        "echo",
        "again",
    ]));
    assert_eq!(code, 0);
    assert!(std::fs::read_to_string(dir.path().join("t.log"))
        .unwrap()
        .ends_with("cleanup-on-term\nagain\n"));
    // Default name in --log-dir, gzip.
    let (code, _, stderr) = out(ee().args(["--log-dir", d, "-z", "--", "seq", "1", "5000"]));
    assert_eq!(code, 0);
    let gz: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.to_string_lossy().ends_with(".log.gz")
                && !p.to_string_lossy().ends_with(".err.log.gz")
        })
        .collect();
    assert_eq!(gz.len(), 1, "{stderr}");
    assert!(gz[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("ee-seq-"));
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(&gz[0]).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(text.lines().count(), 5000);
    // A log that cannot be opened is a usage error before anything runs.
    let (code, _, err) = out(ee().args(["--file-prefix", "/nonexistent-dir/x", "--", "true"]));
    assert_eq!(code, 3);
    assert!(err.contains("cannot open log file"), "{err}");
}

fn numbered(n: usize) -> Vec<u8> {
    (1..=n)
        .map(|i| format!("line {i}\n"))
        .collect::<String>()
        .into_bytes()
}

#[test]
fn decompress_gzip_bzip2_xz_input() {
    let plain = numbered(20000);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    let gz = gz.finish().unwrap();
    let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    bz.write_all(&plain).unwrap();
    let bz = bz.finish().unwrap();
    let mut xz = Vec::new();
    lzma_rs::xz_compress(&mut std::io::Cursor::new(&plain), &mut xz).unwrap();
    for (name, data) in [
        ("gzip", gz),
        ("bzip2", bz),
        ("xz", xz),
        ("plain", plain.clone()),
    ] {
        let (code, stdout, err) = out(ee().args(["-Z", "^line 12345$"]).write_stdin(data.clone()));
        assert_eq!(code, 0, "{name}: {err}");
        assert!(stdout.ends_with("line 12344\nline 12345\n"), "{name}");
        let (code, stdout, _) = out(ee().args(["-Z", "NEVER"]).write_stdin(data));
        assert_eq!(code, 1, "{name}");
        assert_eq!(stdout.as_bytes(), &plain[..], "{name}");
    }
    let (code, _, err) = out(ee()
        .args(["-Z", "x"])
        .write_stdin(&b"\x1f\x8bnot really gzip"[..]));
    assert_eq!(code, 1);
    assert!(err.contains("cannot decompress"), "{err}");
}

#[test]
fn test_pattern_reports_statistics() {
    let log = "a\nERROR x\nERROR expected\nb\n\x1b[31mFAILED\x1b[0m\n";
    let (code, stdout, _) = out(ee()
        .args(["--test-pattern", "-X", "expected", "ERROR|FAILED"])
        .write_stdin(log));
    assert_eq!(code, 0);
    assert!(stdout.contains("lines:     5\n"), "{stdout}");
    assert!(stdout.contains("matched:   2 "), "{stdout}");
    assert!(stdout.contains("excluded:  1\n"), "{stdout}");
    let (code, stdout, _) = out(ee()
        .args(["--test-pattern", "--json", "-X", "expected", "ERROR|FAILED"])
        .write_stdin(log));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["lines"], 5);
    assert_eq!(v["matched"], 2);
    assert_eq!(v["excluded"], 1);
    assert_eq!(v["first_matches"][0]["line_number"], 2);
    assert_eq!(v["first_matches"][1]["line_number"], 5);
    let (code, _, _) = out(ee().args(["--test-pattern", "NOPE"]).write_stdin(log));
    assert_eq!(code, 1);
    let (code, _, _) = out(ee().args(["--test-pattern", "x", "--", "true"]));
    assert_eq!(code, 3);
}

#[test]
fn progress_line_only_on_a_terminal_and_never_mixed_into_lines() {
    // stderr is a pipe here: no status line at all.
    let (code, stdout, stderr) = out(ee().args([
        "--progress",
        "-t",
        "5",
        "--",
        "sh",
        "-c",
        "echo a; sleep 0.3; echo b",
    ]));
    assert_eq!(code, 0);
    assert_eq!(stdout, "a\nb\n");
    assert!(stderr.is_empty(), "{stderr:?}");
    // Through a terminal (the common pty), each status draw is erased before output.
    let mut c = std::process::Command::new(common::bin());
    c.args(["--progress", "-t", "9", "--", "sh", "-c"])
        .arg("echo first; sleep 0.6; echo second")
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .env_remove("EARLYEXIT_OPTIONS");
    let mut t = Pty::start(c, 24, 80);
    assert_eq!(t.wait_exit(pty::WAIT), Some(0), "{}", t.text());
    let o = t.raw();
    let text = String::from_utf8_lossy(&o);
    assert!(text.contains("timeout in"), "{text:?}");
    for line in text.split('\n') {
        let visible = line.rsplit("\x1b[K").next().unwrap_or("");
        assert!(
            !(visible.contains("first") && visible.contains("ee: ")),
            "mixed: {line:?}"
        );
    }
    assert!(
        text.contains("first\r\n") && text.contains("second\r\n"),
        "{text:?}"
    );
}
