//! Black-box tests of the grep face: the built `ee` binary, its output bytes, exit statuses and
//! timing (with generous bounds).

use std::io::{Read, Write};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;

mod common;
use common::{ee, ee_std};

fn out(c: &mut Command) -> (i32, Vec<u8>, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        o.stdout,
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn pid_alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; check its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')),
        Err(_) => false,
    }
}

#[test]
fn pipe_mode_match_stops_after_matching_line() {
    let (code, stdout, _) = out(ee().arg("ERROR").write_stdin("a\nb ERROR x\nc\nd\n"));
    assert_eq!(code, 0);
    assert_eq!(stdout, b"a\nb ERROR x\n");
}

#[test]
fn pipe_mode_no_match_passes_everything() {
    let (code, stdout, _) = out(ee().arg("ERROR").write_stdin("a\nb\nno newline"));
    assert_eq!(code, 1);
    assert_eq!(stdout, b"a\nb\nno newline");
    let (code, _, _) = out(ee().args(["--unix-exit-codes", "ERROR"]).write_stdin("a\n"));
    assert_eq!(code, 0);
    let (code, _, _) = out(ee().args(["--unix-exit-codes", "a"]).write_stdin("a\n"));
    assert_eq!(code, 1);
}

#[test]
fn matching_flags() {
    let cases: &[(&[&str], &str, i32)] = &[
        (&["-i", "error"], "x ERROR\n", 0),
        (&["error"], "x ERROR\n", 1),
        (&["-v", "ok"], "ok\nok\nbad\n", 0),
        (&["-v", "ok"], "ok\nok\n", 1),
        (&["-w", "fail"], "failure\n", 1),
        (&["-w", "fail"], "a fail b\n", 0),
        (&["-x", "fail"], "a fail\n", 1),
        (&["-x", "fail"], "fail\r\n", 0),
        (&["-X", "expected", "ERROR"], "ERROR expected\n", 1),
        (
            &["-X", "expected", "ERROR"],
            "ERROR expected\nERROR real\n",
            0,
        ),
        (&["-e", "boom", "-s", "done"], "done\nboom\n", 0),
        (&["-e", "boom", "-s", "done"], "boom\ndone\n", 1),
    ];
    for (args, input, want) in cases {
        let (code, _, err) = out(ee().args(*args).write_stdin(*input));
        assert_eq!(code, *want, "ee {args:?} on {input:?}: {err}");
    }
}

#[test]
fn max_count_counts_matches() {
    let (code, stdout, _) = out(ee().args(["-m", "2", "E"]).write_stdin("E1\nx\nE2\ny\n"));
    assert_eq!(code, 0);
    assert_eq!(stdout, b"E1\nx\nE2\n");
    let (code, _, _) = out(ee().args(["-m", "3", "E"]).write_stdin("E1\nE2\n"));
    assert_eq!(code, 1);
}

#[test]
fn ansi_colours_ignored_for_matching_but_passed_through() {
    let input = "ok\n\x1b[31mFAILED\x1b[0m test_x\n";
    let (code, stdout, _) = out(ee().arg("^FAILED test_x$").write_stdin(input));
    assert_eq!(code, 0);
    assert_eq!(stdout, input.as_bytes());
}

#[test]
fn invalid_utf8_never_fails() {
    let mut input = b"\xff\xfe bad \xc3\x28\n".to_vec();
    input.extend_from_slice(b"FAIL \xff\n");
    let (code, stdout, _) = out(ee().arg("FAIL").write_stdin(input.clone()));
    assert_eq!(code, 0);
    assert_eq!(stdout, input);
}

#[test]
fn usage_errors_are_one_line_exit_3() {
    for args in [
        vec!["x(", "--", "true"],
        vec!["-t", "1x", "--", "true"],
        vec!["-t", "", "--", "true"],
        vec!["--no-such-flag", "x"],
        vec!["x", "--", "no-such-command-ee-test"],
        vec!["--stuck-pattern", "(", "--", "true"],
    ] {
        let (code, stdout, err) = out(ee().args(&args).write_stdin(""));
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(stdout.is_empty());
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("ee: "), "{err}");
    }
    let (code, _, err) = out(ee().args(["-t", "2z", "--", "true"]));
    assert_eq!(code, 3);
    assert!(err.contains("2z"), "{err}");
    // A missing required argument is named on the same line.
    let (code, _, err) = out(ee().args(["run"]));
    assert_eq!(code, 125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("<COMMAND>"), "{err}");
}

#[test]
fn first_positional_is_always_the_pattern() {
    // `x` is the pattern, `true` the command; no guessing from how the word looks.
    let (code, stdout, err) = out(ee().args(["x", "--", "echo", "hello"]));
    assert_eq!(code, 1, "{err}");
    assert_eq!(stdout, b"hello\n");
    let (code, stdout, _) = out(ee().args(["hel", "echo", "hello"]));
    assert_eq!(code, 0);
    assert_eq!(stdout, b"hello\n");
    // A subcommand name as a pattern.
    let (code, _, _) = out(ee().args(["--pattern", "run"]).write_stdin("go run\n"));
    assert_eq!(code, 0);
    let (code, _, _) = out(ee().args(["--pattern", "init", "echo", "init"]));
    assert_eq!(code, 0);
}

#[test]
fn earlyexit_options_are_prepended() {
    let (code, _, _) = out(ee()
        .env("EARLYEXIT_OPTIONS", "-i --max-count '2'")
        .arg("error")
        .write_stdin("ERROR\nError\n"));
    assert_eq!(code, 0);
    let (code, _, err) = out(ee()
        .env("EARLYEXIT_OPTIONS", "-i 'unbalanced")
        .arg("x")
        .write_stdin(""));
    assert_eq!(code, 3, "{err}");
}

#[test]
fn long_name_binary_is_the_same_program() {
    let o = StdCommand::new(assert_cmd::cargo::cargo_bin("earlyexit"))
        .args(["x", "--", "echo", "x"])
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
}

fn all_bytes() -> Vec<u8> {
    let mut v: Vec<u8> = Vec::new();
    for _ in 0..64 {
        v.extend(0u8..=255);
    }
    v.extend_from_slice(b"\r\nCR/LF line\r\nlast line without newline");
    v
}

#[test]
fn command_mode_bytes_exact_and_streams_separate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, all_bytes()).unwrap();
    let script = format!("cat '{}'; printf 'err1\\nerr2' >&2", data.display());
    for pty in ["auto", "never", "always"] {
        let (code, stdout, stderr) =
            out(ee().args(["--pty", pty, "NOMATCH", "--", "sh", "-c", &script]));
        assert_eq!(code, 1, "pty {pty}");
        assert!(
            stdout == all_bytes(),
            "pty {pty}: stdout differs ({} bytes)",
            stdout.len()
        );
        assert_eq!(stderr, "err1\nerr2", "pty {pty}");
    }
}

#[test]
fn command_mode_matches_both_streams_unless_restricted() {
    let script = "echo out; echo 'ERR on stderr' >&2; sleep 0.2; echo 'ERR on stdout'";
    let (code, _, _) = out(ee().args(["-A", "0", "ERR", "--", "sh", "-c", script]));
    assert_eq!(code, 0);
    let (code, stdout, stderr) = out(ee().args([
        "-A", "0", "--json", "--stdout", "ERR", "--", "sh", "-c", script,
    ]));
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(v["stream"], "stdout");
    assert_eq!(v["matched_line"], "ERR on stdout");
    assert!(stderr.contains("ERR on stderr"));
    let (code, _, _) =
        out(ee().args(["-A", "0", "--stderr", "on stdout", "--", "sh", "-c", script]));
    assert_eq!(code, 1);
}

#[test]
fn no_pattern_returns_child_status() {
    let (code, stdout, _) = out(ee().args(["--", "sh", "-c", "echo hi; exit 7"]));
    assert_eq!(code, 7);
    assert_eq!(stdout, b"hi\n");
}

#[test]
fn overall_timeout_stops_command() {
    let t = Instant::now();
    let (code, stdout, _) =
        out(ee().args(["-t", "500ms", "--", "sh", "-c", "echo started; sleep 30"]));
    let el = t.elapsed();
    assert_eq!(code, 2);
    assert_eq!(stdout, b"started\n");
    assert!(
        el >= Duration::from_millis(450) && el < Duration::from_secs(5),
        "{el:?}"
    );
}

#[test]
fn idle_and_first_output_timeouts() {
    let t = Instant::now();
    let (code, _, _) = out(ee().args([
        "--json",
        "-I",
        "0.4",
        "--",
        "sh",
        "-c",
        "echo a; sleep 0.2; echo b; sleep 30",
    ]));
    assert_eq!(code, 2);
    assert!(t.elapsed() < Duration::from_secs(5));
    let t = Instant::now();
    let (code, stdout, _) = out(ee().args([
        "--json",
        "-F",
        "0.3",
        "--",
        "sh",
        "-c",
        "sleep 30; echo late",
    ]));
    assert_eq!(code, 2);
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(v["exit_reason"], "first_output_timeout");
    assert!(t.elapsed() < Duration::from_secs(5));
}

/// Pipe mode with a producer that keeps the pipe open: ee must still stop on time.
fn pipe_with_open_producer(args: &[&str], first: &[u8]) -> (i32, Vec<u8>, Duration) {
    let mut child = ee_std()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let t = Instant::now();
    stdin.write_all(first).unwrap();
    let status = child.wait().unwrap();
    let el = t.elapsed();
    let mut o = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut o).unwrap();
    drop(stdin);
    (status.code().unwrap_or(-1), o, el)
}

#[test]
fn pipe_mode_subsecond_timeouts() {
    let (code, o, el) = pipe_with_open_producer(&["-t", "0.3", "nomatch"], b"line\n");
    assert_eq!(code, 2);
    assert_eq!(o, b"line\n");
    assert!(
        el >= Duration::from_millis(250) && el < Duration::from_secs(3),
        "{el:?}"
    );
    let (code, _, el) = pipe_with_open_producer(&["--json", "-I", "200ms", "nomatch"], b"x\n");
    assert_eq!(code, 2);
    assert!(el < Duration::from_secs(3), "{el:?}");
}

#[test]
fn stuck_detection() {
    let (code, stdout, _) = out(ee()
        .args(["--max-repeat", "3", "nomatch"])
        .write_stdin("a\nb\nb\n\nb\nc\n"));
    assert_eq!(code, 2);
    assert_eq!(stdout, b"a\nb\nb\n\nb\n");
    let (code, _, _) = out(ee()
        .args(["--max-repeat", "3", "nomatch"])
        .write_stdin("b\nb\nc\nb\n"));
    assert_eq!(code, 1);
    let stamped = "12:00:01 waiting\n12:00:02 waiting\n2024-05-01T12:00:03Z waiting\n";
    let (code, _, _) = out(ee()
        .args(["--max-repeat", "3", "nomatch"])
        .write_stdin(stamped));
    assert_eq!(code, 1);
    let (code, _, _) = out(ee()
        .args(["--max-repeat", "3", "--stuck-ignore-timestamps", "nomatch"])
        .write_stdin(stamped));
    assert_eq!(code, 2);
    let (code, _, _) = out(ee()
        .args([
            "--max-repeat",
            "3",
            "--stuck-pattern",
            r"state=(\w+)",
            "nomatch",
        ])
        .write_stdin("t1 state=wait\nt2 state=wait\nt3 state=wait\n"));
    assert_eq!(code, 2);
    let progress = "progress 1/9\nnoise\nprogress 2/9\nnoise a\nnoise b\nnoise c\n";
    let (code, _, _) = out(ee()
        .args([
            "--progress-pattern",
            r"progress (\d+)",
            "--max-repeat",
            "3",
            "nomatch",
        ])
        .write_stdin(progress));
    assert_eq!(code, 2);
    let (code, _, _) = out(ee()
        .args([
            "--progress-pattern",
            r"progress (\d+)",
            "--max-repeat",
            "5",
            "nomatch",
        ])
        .write_stdin(progress));
    assert_eq!(code, 1);
}

#[test]
fn delay_exit_captures_trace_then_stops() {
    let script =
        "echo 'FAIL here'; echo trace1; echo trace2; sleep 0.3; echo trace3; sleep 30; echo never";
    let t = Instant::now();
    let (code, stdout, _) = out(ee().args(["-A", "1", "FAIL", "--", "sh", "-c", script]));
    let el = t.elapsed();
    assert_eq!(code, 0);
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        "FAIL here\ntrace1\ntrace2\ntrace3\n"
    );
    assert!(
        el >= Duration::from_millis(900) && el < Duration::from_secs(6),
        "{el:?}"
    );
    // Ended early by a line count, or by a quiet gap.
    for (opt, val) in [
        ("--delay-exit-after-lines", "2"),
        ("--delay-exit-quiet", "150ms"),
    ] {
        let t = Instant::now();
        let (code, stdout, _) =
            out(ee().args(["-A", "20", opt, val, "FAIL", "--", "sh", "-c", script]));
        assert_eq!(code, 0, "{opt}");
        assert_eq!(
            String::from_utf8_lossy(&stdout),
            "FAIL here\ntrace1\ntrace2\n",
            "{opt}"
        );
        assert!(t.elapsed() < Duration::from_secs(6), "{opt}");
    }
}

#[test]
fn delay_ends_when_child_exits() {
    let t = Instant::now();
    let (code, stdout, _) = out(ee().args(["FAIL", "--", "sh", "-c", "echo FAIL; echo after"]));
    assert_eq!(code, 0);
    assert_eq!(stdout, b"FAIL\nafter\n");
    assert!(t.elapsed() < Duration::from_secs(3));
}

#[test]
fn grandchildren_die_with_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!(
        "sleep 300 & echo $! > '{}'; echo FAIL; wait",
        pidfile.display()
    );
    let t = Instant::now();
    let (code, _, _) = out(ee().args(["-A", "0", "FAIL", "--", "sh", "-c", &script]));
    assert_eq!(code, 0);
    assert!(t.elapsed() < Duration::from_secs(5));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while pid_alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid_alive(pid), "grandchild {pid} survived");
}

#[test]
fn grandchild_holding_the_pipe_does_not_hang_ee() {
    let t = Instant::now();
    let (code, stdout, _) = out(ee().args(["--", "sh", "-c", "sleep 30 & echo bye"]));
    assert_eq!(code, 0);
    assert_eq!(stdout, b"bye\n");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn sigterm_ignoring_child_is_killed_after_kill_after() {
    let t = Instant::now();
    let (code, _, _) = out(ee().args([
        "-t",
        "0.3",
        "--kill-after",
        "0.7",
        "--",
        "sh",
        "-c",
        "trap '' TERM; echo x; while :; do sleep 0.05; done",
    ]));
    let el = t.elapsed();
    assert_eq!(code, 2);
    assert!(
        el >= Duration::from_millis(900) && el < Duration::from_secs(6),
        "{el:?}"
    );
}

#[test]
fn closed_stdout_ends_ee_quietly_and_stops_child() {
    let ee_path = assert_cmd::cargo::cargo_bin("ee");
    let t = Instant::now();
    let o = StdCommand::new("bash")
        .args([
            "-c",
            &format!(
                "'{}' -- sh -c 'while :; do echo y; done' | head -1; echo \"${{PIPESTATUS[0]}}\"",
                ee_path.display()
            ),
        ])
        .env("EARLYEXIT_NO_TELEMETRY", "1")
        .output()
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "y\n141\n");
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn output_arrives_in_real_time_through_a_pipe() {
    // Python block-buffers stdout when it is a pipe; ee gives it a pty so lines arrive as printed.
    let mut child = ee_std()
        .args([
            "--",
            "python3",
            "-c",
            "import time; print('one'); time.sleep(2); print('two')",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut stdout = child.stdout.take().unwrap();
    let mut buf = [0u8; 4];
    stdout.read_exact(&mut buf).unwrap();
    let first = t.elapsed();
    assert_eq!(&buf, b"one\n");
    assert!(
        first < Duration::from_millis(1500),
        "first line after {first:?}"
    );
    let mut rest = Vec::new();
    stdout.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"two\n");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn colour_stripped_for_pipes_unless_always() {
    let script = r"printf '\033[31mred\033[0m \033[2Kx\n'";
    let (_, stdout, _) = out(ee().args(["--", "sh", "-c", script]));
    assert_eq!(stdout, b"red \x1b[2Kx\n");
    let (_, stdout, _) = out(ee().args(["--color", "always", "--", "sh", "-c", script]));
    assert_eq!(stdout, b"\x1b[31mred\x1b[0m \x1b[2Kx\n");
}

#[test]
fn signals_are_forwarded_and_interrupt_gives_130() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("got");
    let script = format!(
        "trap 'echo int > \"{}\"; exit 3' INT; echo ready; while :; do sleep 0.05; done",
        mark.display()
    );
    let mut child = ee_std()
        .args(["--", "sh", "-c", &script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 6];
    child.stdout.as_mut().unwrap().read_exact(&mut buf).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let status = child.wait().unwrap();
    // ee ends by SIGINT itself (the shell then shows 130 and abandons the rest of its command list).
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(2), "{status:?}");
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "int\n");
}

#[test]
fn json_report_fields() {
    let (code, stdout, stderr) = out(ee().args([
        "--json",
        "-A",
        "0",
        "-B",
        "2",
        "FAIL",
        "--",
        "sh",
        "-c",
        "echo one; echo two; echo three; echo 'x FAIL y'; sleep 30",
    ]));
    assert_eq!(code, 0);
    assert_eq!(
        stderr, "one\ntwo\nthree\nx FAIL y\n",
        "child output goes to stderr with --json"
    );
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["exit_reason"], "match");
    assert_eq!(v["pattern"], "FAIL");
    assert_eq!(v["matched_line"], "x FAIL y");
    assert_eq!(v["line_number"], 4);
    assert_eq!(v["stream"], "stdout");
    assert_eq!(
        v["matches"][0]["context"],
        serde_json::json!(["two", "three"])
    );
    assert_eq!(v["stdout"]["lines"], 4);
    assert!(v["durations"]["total"].as_f64().unwrap() < 5.0);
    assert!(v["durations"]["to_first_match"].is_number());
    assert!(v["durations"]["to_first_output"].is_number());
    let (_, stdout, _) = out(ee().args(["--json", "-t", "0.2", "--", "sleep", "5"]));
    let v: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(v["exit_reason"], "timeout");
    assert_eq!(v["exit_code"], 2);
}

#[test]
fn huge_line_is_passed_through_and_only_its_first_mib_matched() {
    let mut input = vec![b'x'; 3 << 20];
    input.extend_from_slice(b"LATE\nnext MATCH\n");
    let (code, stdout, _) = out(ee().arg("LATE").write_stdin(input.clone()));
    assert_eq!(code, 1, "a match after the first MiB of a line is not seen");
    assert!(stdout == input);
    let (code, stdout, _) = out(ee().arg("MATCH").write_stdin(input.clone()));
    assert_eq!(code, 0);
    assert!(stdout == input);
}
