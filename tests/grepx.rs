//! Black-box tests of what grep users and Python earlyexit users expect (issue 15): `-P`, `-n`,
//! `-C`, match highlighting, `--profile`, the JSON export, and the clap_complete shells.

use std::time::{Duration, Instant};

use assert_cmd::Command;

fn ee() -> Command {
    let mut c = Command::cargo_bin("ee").unwrap();
    c.env("EARLYEXIT_NO_TELEMETRY", "1")
        .env_remove("EARLYEXIT_OPTIONS")
        .env_remove("EARLYEXIT_COLORS")
        .env_remove("NO_COLOR");
    c
}

fn out(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn pipe(args: &[&str], input: &str) -> (i32, String, String) {
    out(ee().args(args).write_stdin(input.to_string()))
}

const LOG: &str = "INFO start\nERROR retry later\nINFO the the cat\nERROR disk full\nINFO end\n";

#[test]
fn pcre_look_around_and_backreferences_in_the_pipe_face() {
    // Negative look-ahead: the retried error is not the one that counts.
    let (code, stdout, stderr) = pipe(&["-P", "--json", "ERROR(?! retry)"], LOG);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["matches"][0]["line_no"], 4, "{v}");
    assert_eq!(v["matches"][0]["matched"], "ERROR", "{v}");
    // The passed-through bytes are the input's up to the deciding line, unchanged.
    assert_eq!(stderr, LOG.strip_suffix("INFO end\n").unwrap());
    // A backreference, and look-behind.
    assert_eq!(pipe(&["-P", r"\b(\w+) \1\b"], LOG).0, 0);
    assert_eq!(pipe(&["-P", r"(?<=INFO )end"], LOG).0, 0);
    assert_eq!(pipe(&["-P", r"(?<=ERROR )end"], LOG).0, 1);
    // -i, -w, -x, -e, -s and -X apply to -P patterns too.
    assert_eq!(pipe(&["-P", "-i", "error(?= disk)"], LOG).0, 0);
    assert_eq!(pipe(&["-P", "-w", "ERR(?=OR)"], LOG).0, 1);
    assert_eq!(pipe(&["-P", "-x", "INFO (?=end).*"], LOG).0, 0);
    assert_eq!(pipe(&["-P", "-X", "disk", "ERROR(?! retry)"], LOG).0, 1);
    assert_eq!(pipe(&["-P", "-e", r"(\w+) \1", "-s", "end$"], LOG).0, 1);
    // Without -P, the regex crate refuses and says where to go.
    let (code, _, stderr) = pipe(&[r"\b(\w+) \1\b"], LOG);
    assert_eq!(code, 3);
    assert!(stderr.contains("-P/--pcre"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // A broken -P pattern: one line, exit 3.
    let (code, _, stderr) = pipe(&["-P", "a(?<"], LOG);
    assert_eq!(code, 3);
    assert!(
        stderr.starts_with("ee: invalid pattern 'a(?<' (-P): "),
        "{stderr}"
    );
    assert!(!stderr.contains("LIMIT_MATCH"), "{stderr}");
}

#[test]
fn pcre_in_command_mode_and_ee_run() {
    let script = "echo 'ERROR retry later'; echo 'ERROR disk full'; sleep 30";
    let t = Instant::now();
    let (code, stdout, _) =
        out(ee().args(["-P", "-A", "0", "ERROR(?! retry)", "--", "sh", "-c", script]));
    assert_eq!(code, 0);
    assert_eq!(stdout, "ERROR retry later\nERROR disk full\n");
    assert!(t.elapsed() < Duration::from_secs(20));
    let (code, _, stderr) = out(ee().args([
        "run",
        "--no-learn",
        "-P",
        "-A",
        "0",
        "-e",
        "ERROR(?! retry)",
        "sh",
        "-c",
        script,
    ]));
    assert_eq!(code, 1, "{stderr}");
}

#[test]
fn pcre_backtracking_limit_is_a_clear_error() {
    let evil = format!("{}!\n", "a".repeat(60));
    let (code, _, stderr) = pipe(&["-P", "(a+)+$"], &evil);
    assert_eq!(code, 3);
    assert!(stderr.contains("backtracking limit"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    // In command mode the child is stopped at once, not left running to its end.
    let t = Instant::now();
    let script = format!("printf '{}'; sleep 30", evil.replace('\n', "\\n"));
    let (code, _, stderr) = out(ee().args(["-P", "(a+)+$", "--", "sh", "-c", &script]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("backtracking limit"), "{stderr}");
    assert!(t.elapsed() < Duration::from_secs(20));
    let (code, _, _) = out(ee().args([
        "run",
        "--no-learn",
        "-P",
        "-e",
        "(a+)+$",
        "sh",
        "-c",
        &script,
    ]));
    assert_eq!(code, 125);
    // --test-pattern says so too.
    let (code, _, stderr) = pipe(&["-P", "--test-pattern", "(a+)+$"], &evil);
    assert_eq!(code, 3);
    assert!(stderr.contains("backtracking limit"), "{stderr}");
    // The default engine has no such limit: linear time, the same pattern is fine.
    assert_eq!(pipe(&["(a+)+$"], &evil).0, 1);
}
